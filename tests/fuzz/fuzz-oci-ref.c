/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes OCI reference parsing: an accepted reference has a valid registry, repository, tag or
 * digest, prints back to a string that parses to the same, and implies a valid image name. */
#include <string.h>

#include "oci-registry.h"
#include "pull.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        if (size > 4096)
                return 0;
        char *s = strndup((const char *) data, size);
        if (!s)
                return 0;
        OciRef r = {};
        if (oci_ref_parse(s, &r, NULL) == 0) {
                if (!r.registry || !r.repository || (!r.tag && !r.digest) ||
                        (r.digest && !oci_digest_is_valid(r.digest)) || strchr(r.repository, '\n') ||
                        strstr(r.repository, "..") || r.repository[0] == '/')
                        __builtin_trap();
                char *t = oci_ref_to_string(&r);
                OciRef again = {};
                if (!t || oci_ref_parse(t, &again, NULL) < 0 || !streq(again.registry, r.registry) ||
                        !streq(again.repository, r.repository) || !streq(again.tag ?: "", r.tag ?: "") ||
                        !streq(again.digest ?: "", r.digest ?: ""))
                        __builtin_trap();
                char *n = NULL;
                if (oci_name_from_ref(s, &n) == 0 && !image_name_is_valid(n))
                        __builtin_trap();
                free(n);
                free(t);
                oci_ref_done(&again);
        }
        oci_ref_done(&r);
        free(s);
        return 0;
}
