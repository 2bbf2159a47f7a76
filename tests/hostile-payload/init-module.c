/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* init-module: a kernel module is code in the host's kernel.
 *
 * Keys: init_module= init_module(NULL, 0, ""); finit_module= finit_module(-1, "", 0). EPERM:
 * refused; ENOSYS: the kernel has no module support (or a filter treats the call as unknown);
 * anything else (EFAULT, ENOEXEC, EBADF, …) means the capability check passed (ALLOWED).
 * Harmless: there is no module to load (no image, no fd). */
#include "hostile.h"

#include <sys/syscall.h>

static void probe(const char *key, long r, int e) {
        h_res(key, r, e);
        if (r >= 0 || (e != EPERM && e != ENOSYS))
                h_allow(key);
}

int main(void) {
        h_init("init-module");
        long r = syscall(SYS_init_module, NULL, 0UL, "");
        probe("init_module", r, errno);
        r = syscall(SYS_finit_module, -1, "", 0);
        probe("finit_module", r, errno);
        h_done();
}
