/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target for the tar writer (tar-archive.c's reader + tar-extract.c): any input is read as a
 * tar stream and extracted into a fresh directory next to a canary directory. Whatever happens,
 * afterwards the canary must be untouched and nothing may exist next to the two directories;
 * else abort(). Small limits keep each run fast. */
#include "fuzz-tar-helpers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char base[] = "/var/tmp/fuzz-tar.XXXXXX";
        int base_fd = fuzz_base_make(base);
        fuzz_extract(base_fd, data, size, false);
        fuzz_base_check(base_fd, 0);
        fuzz_base_remove(base, base_fd);
        return 0;
}
