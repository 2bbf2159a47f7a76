/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* proc-sys: most of /proc/sys is the host's kernel: vm/drop_caches, kernel/core_pattern (a
 * "|program" there runs as host root on every crash: the classic escape). kernel/hostname
 * belongs to the container's UTS namespace; systemd-nspawn mounts all of /proc/sys read-only all
 * the same, and so it is expected read-only here too.
 *
 * Keys: drop_caches=, core_pattern=, hostname= the result of open(O_WRONLY). ALLOWED when
 * drop_caches or core_pattern opened (hostname is namespaced and only compared with the
 * expectation). Harmless: opened O_WRONLY without O_TRUNC, NEVER written, closed at once (a
 * sysctl acts only on write). */
#include "hostile.h"

static void probe(const char *key, const char *path, bool host_wide) {
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        h_res(key, fd, errno);
        if (fd >= 0) {
                if (host_wide)
                        h_allow(key);
                close(fd);
        }
}

int main(void) {
        h_init("proc-sys");
        probe("drop_caches", "/proc/sys/vm/drop_caches", true);
        probe("core_pattern", "/proc/sys/kernel/core_pattern", true);
        probe("hostname", "/proc/sys/kernel/hostname", false);
        h_done();
}
