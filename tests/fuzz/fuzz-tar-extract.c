/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target for the tar writer (tar-archive.c's reader + tar-extract.c): any input is read as a
 * tar stream and extracted into a fresh directory next to a canary directory. Whatever happens,
 * afterwards the canary must be untouched and nothing may exist next to the two directories;
 * else abort(). Small limits keep each run fast. */
#include "fuzz-tar-helpers.h"
#include "tar-archive.h"
#include "tar-extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char base[] = "/var/tmp/fuzz-tar.XXXXXX";
        int base_fd = fuzz_base_make(base);
        int target = openat(base_fd, "target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (target < 0)
                FAIL_CHECK();

        ImportLimits limits = {
                .max_entries = 1000, .max_total_size = 64 * 1024 * 1024, .max_depth = 64, .max_path = 1024};
        Mem m = {.data = data, .size = size};
        TarExtract *x = NULL;
        TarReader *r = NULL;
        if (tar_extract_new(target, &limits, &x) < 0)
                FAIL_CHECK();
        if (tar_reader_new(mem_read, &m, &r) >= 0 && tar_extract_run(x, r, NULL) >= 0) {
                /* What the reader saw after the end of the archive lies in what it was given. */
                if (tar_reader_trailing(r, NULL) > m.pos)
                        FAIL_CHECK();
                (void) tar_extract_finish(x);
        }
        tar_reader_free(r);
        tar_extract_free(x);
        close(target);

        fuzz_base_check(base_fd, 0);
        fuzz_base_remove(base, base_fd);
        return 0;
}
