/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the --image-policy parser (untrusted: the option's value, also from settings and
 * scripts): whatever it accepts yields flags within IMAGE_POLICY_ANY for root and usr, and it
 * refuses anything longer than IMAGE_POLICY_STRING_MAX. */
#include <stdlib.h>
#include <string.h>

#include "image-policy.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        if (size > 2 * IMAGE_POLICY_STRING_MAX)
                return 0;
        char *s = malloc(size + 1);
        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;
        static const PartitionDesignator which[] = {PARTITION_ROOT, PARTITION_USR};
        for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
                unsigned f = ~0U;
                int r = image_policy_parse_for(s, which[i], &f);
                if (r >= 0 && (f & ~(unsigned) IMAGE_POLICY_ANY))
                        abort();
                if (r >= 0 && strlen(s) > IMAGE_POLICY_STRING_MAX)
                        abort();
                if (r < 0 && f != ~0U)
                        abort(); /* written only on success */
        }
        free(s);
        return 0;
}
