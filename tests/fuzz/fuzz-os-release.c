/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: os-release parsing (the file comes from inside an untrusted image). */
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        if (size > 128 * 1024)
                return 0;
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        char **l = NULL;
        if (os_release_parse(text, &l) >= 0) {
                /* Pairs only, every key a valid shell variable name. */
                size_t n = strv_length(l);
                if (n % 2 != 0)
                        abort();
                for (size_t i = 0; i < n; i += 2)
                        if (!l[i][0] || strspn(l[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(l[i]))
                                abort();
        }
        strv_free(l);
        free(text);
        return 0;
}
