/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: provenance record parsing (NAME.provenance sits in the image root; parsed as hostile). */
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        ImageProvenance p = IMAGE_PROVENANCE_NULL;
        if (image_provenance_parse((const char *) data, size, &p) < 0)
                return 0;
        /* What parses formats, and the format parses back to the same text. */
        char *a = NULL, *b = NULL;
        if (image_provenance_format(&p, &a) < 0)
                abort();
        ImageProvenance q = IMAGE_PROVENANCE_NULL;
        if (image_provenance_parse(a, strlen(a), &q) < 0 || image_provenance_format(&q, &b) < 0 || !streq(a, b))
                abort();
        free(a);
        free(b);
        image_provenance_done(&p);
        image_provenance_done(&q);
        return 0;
}
