/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the parser of gpgv's status output (which echoes data from the signature). */
#include <string.h>

#include "pull-gpg.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        char *fpr = NULL;
        Diag g = DIAG_INIT;
        int r = gpg_parse_status((const char *) data, size, &fpr, &g);
        if (r == 0 && (!fpr || (strlen(fpr) != 40 && strlen(fpr) != 64)))
                __builtin_trap();
        if (r == -EBADMSG && (!g.cause || strpbrk(g.cause, "\n\r\033")))
                __builtin_trap(); /* reasons end up in a one-line error */
        free(fpr);
        diag_done(&g);
        return 0;
}
