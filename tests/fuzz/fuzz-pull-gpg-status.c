/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the parser of gpgv's status output (which echoes data from the signature). */
#include <string.h>

#include "pull-gpg.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        GpgResult g = {};
        int r = gpg_parse_status((const char *) data, size, &g);
        if (r == 0 && (!g.fingerprint || (strlen(g.fingerprint) != 40 && strlen(g.fingerprint) != 64)))
                __builtin_trap();
        if (r == -EBADMSG && (!g.reason || strpbrk(g.reason, "\n\r\033")))
                __builtin_trap(); /* reasons end up in a one-line error */
        gpg_result_done(&g);
        return 0;
}
