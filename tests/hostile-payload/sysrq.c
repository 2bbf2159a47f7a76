/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysrq: /proc/sysrq-trigger reboots, crashes or freezes the host with one byte.
 *
 * Keys: open= open("/proc/sysrq-trigger", O_WRONLY): EROFS (read-only mount), EACCES/EPERM
 * (not ours to write, with a user namespace) are refused; ENOENT: the kernel has none
 * (CONFIG_MAGIC_SYSRQ off); ok is ALLOWED, or ok(masked) when what opened is /dev/null bound
 * over it. Harmless: it is only opened, NEVER written, and closed at once. */
#include "hostile.h"

#include <sys/sysmacros.h>

int main(void) {
        h_init("sysrq");
        int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                h_kv("open", "%s", h_errname(errno));
        else {
                struct stat st;
                if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                        h_kv("open", "ok(masked)");
                else {
                        h_kv("open", "ok");
                        h_allow("open");
                }
                close(fd);
        }
        h_done();
}
