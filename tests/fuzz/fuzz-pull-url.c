/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes URL splitting and image-name derivation. */
#include <string.h>

#include "pull-url.h"
#include "pull.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        if (size > 16384)
                return 0;
        char *url = strndup((const char *) data, size);
        if (!url)
                return 0;
        char *b = NULL, *c = NULL, *f = NULL, *n = NULL;
        if (pull_url_split(url, &b, &c, &f) == 0) {
                if (strchr(f, '/') || strlen(f) > PULL_FILENAME_MAX || !*f)
                        __builtin_trap();
                char *s = pull_sidecar_stem(f);
                free(s);
        }
        if (pull_name_from_url(url, &n) == 0 && !image_name_is_valid(n))
                __builtin_trap();
        free(b);
        free(c);
        free(f);
        free(n);
        free(url);
        return 0;
}
