/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the signature parsers (untrusted: a p7s file, a signature partition's JSON). The first
 * byte picks the parser; the rest is its input. No certificates are trusted, so nothing may ever
 * verify: a successful verification would be a bug. */
#include <stdlib.h>
#include <string.h>

#include "verity.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        if (size < 1)
                return 0;
        const unsigned char *in = data + 1;
        size_t n = size - 1;
        if (data[0] & 1) {
                VeritySigJson j = {};
                if (verity_sig_json_parse(in, n, &j) == 0) {
                        if (!j.root_hash_hex || !j.p7s || j.p7s_size == 0 || j.p7s_size > VERITY_SIG_SIZE_MAX)
                                abort();
                        char *dirs[] = {NULL};
                        if (verity_sig_verify(j.root_hash_hex, j.p7s, j.p7s_size, dirs, j.fingerprint_hex, NULL) == 0)
                                abort();
                }
                verity_sig_json_done(&j);
        } else {
                char *dirs[] = {NULL};
                if (verity_sig_verify("6093a2333523050b628581510028976d3d3e9c62458642a83727e6df641397a4", in, n, dirs,
                            NULL, NULL) == 0)
                        abort();
        }
        return 0;
}
