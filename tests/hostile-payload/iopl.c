/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iopl: raw I/O port access (x86) reaches the host's hardware.
 *
 * Keys: iopl= iopl(3); ioperm= ioperm(0x80, 1, 1). EPERM: refused (also what a kernel under
 * lockdown answers); ENOSYS: the kernel was built without CONFIG_X86_IOPL_IOPERM (or a filter
 * treats the call as unknown); ok is ALLOWED. On other architectures: arch=unsupported.
 * Harmless: no port is read or written; a level or permission that was granted is dropped again
 * at once (iopl(0), ioperm(0x80, 1, 0)). */
#include "hostile.h"

#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>

int main(void) {
        h_init("iopl");
        if (h_ret("iopl", iopl(3)) >= 0) {
                h_allow("iopl");
                (void) iopl(0);
        }
        if (h_ret("ioperm", ioperm(0x80, 1, 1)) >= 0) {
                h_allow("ioperm");
                (void) ioperm(0x80, 1, 0);
        }
        h_done();
}
#else
int main(void) {
        h_init("iopl");
        h_kv("arch", "unsupported");
        h_done();
}
#endif
