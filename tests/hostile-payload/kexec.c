/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kexec: loading a kernel to boot into replaces the host.
 *
 * Keys: kexec_load=, kexec_file_load=. Harmless: the arguments are invalid in a way the kernel
 * checks only after the permission check (kexec_load: an undefined flag and 17 segments, one
 * more than KEXEC_SEGMENT_MAX; kexec_file_load: an undefined flag, fds -1, and never
 * KEXEC_FILE_UNLOAD). EPERM: refused; EINVAL/EBADF: the call passed the permission check
 * (ALLOWED); ENOSYS: the kernel has no kexec (or a filter treats the call as unknown). */
#include "hostile.h"

#include <sys/syscall.h>

static bool passed(long r, int e) {
        return r >= 0 || (e != EPERM && e != ENOSYS && e != EACCES);
}

int main(void) {
        h_init("kexec");
        long r = syscall(SYS_kexec_load, 0UL, 17UL, NULL, 0x4000UL);
        int e = errno;
        h_res("kexec_load", r, e);
        if (passed(r, e))
                h_allow("kexec_load");
#ifdef SYS_kexec_file_load
        r = syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, 0x80000000UL);
        e = errno;
        h_res("kexec_file_load", r, e);
        if (passed(r, e))
                h_allow("kexec_file_load");
#else
        h_kv("kexec_file_load", "ENOSYS");
#endif
        h_done();
}
