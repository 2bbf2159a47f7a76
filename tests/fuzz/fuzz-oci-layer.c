/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target for applying an OCI layer (tar-extract.c in OCI layer mode: whiteouts, opaque
 * directories) onto a lower tree that holds symlinks pointing out of it (to the canary next to
 * it, absolutely and relatively). Whatever the input, the canary must stay untouched and nothing
 * may appear next to the two directories; else abort(). */
#include "fuzz-tar-helpers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char base[] = "/var/tmp/fuzz-oci-layer.XXXXXX";
        int base_fd = fuzz_base_make(base);
        if (mkdirat(base_fd, "canary/sub", 0755) < 0)
                FAIL_CHECK();
        fuzz_write_file(base_fd, "canary/sub/deep", "deep");
        /* The lower layers: files, a directory, and symlinks out of the tree. */
        _cleanup_free_ char *abs = strjoin(base, "/canary");
        if (!abs || mkdirat(base_fd, "target/etc", 0755) < 0 || mkdirat(base_fd, "target/d", 0755) < 0 ||
                symlinkat("../canary", base_fd, "target/up") < 0 || symlinkat(abs, base_fd, "target/abs") < 0 ||
                symlinkat("../../canary/sub", base_fd, "target/d/up2") < 0)
                FAIL_CHECK();
        fuzz_write_file(base_fd, "target/etc/hostname", "lower");
        fuzz_write_file(base_fd, "target/d/f", "lower");
        fuzz_extract(base_fd, data, size, true);
        fuzz_base_check(base_fd, 1);
        char *c = NULL;
        if (read_file_at(base_fd, "canary/sub/deep", RESOLVE_BENEATH, 64, &c, NULL) < 0 || !streq(c, "deep"))
                FAIL_CHECK();
        free(c);
        fuzz_base_remove(base, base_fd);
        return 0;
}
