/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* quotactl: quotas belong to the host's file system (its superblock), not to the container.
 *
 * Keys: quotactl= quotactl(Q_GETQUOTA) for user 12345 on the block device the root mount names
 * (the kernel looks the device path up before the permission check, so only EPERM from a filter
 * says anything here; ENOENT is usual: the container has no such node); quotactl_fd=
 * quotactl_fd(Q_GETQUOTA) on "/". Reading another user's quota needs CAP_SYS_ADMIN in the file
 * system's user namespace: EPERM is refused; ESRCH (quotas off), ENOENT (no such quota) or
 * success mean the permission check passed (ALLOWED); ENOSYS: a file system without quota
 * support (overlayfs), or a filter that treats quotactl_fd as unknown. Harmless: Q_GETQUOTA
 * only reads. */
#include "hostile.h"

#include <sys/quota.h>
#include <sys/syscall.h>

#define ID 12345

int main(void) {
        h_init("quotactl");
        struct h_mount m;
        const char *dev = "/dev/nonexistent-cowpen-quota";
        if (h_root_mount(&m) == 0 && strncmp(m.source, "/dev/", 5) == 0)
                dev = m.source;
        struct dqblk dq;
        long r = quotactl(QCMD(Q_GETQUOTA, USRQUOTA), dev, ID, (caddr_t) &dq);
        int e = errno;
        h_res("quotactl", r, e);
        if (r == 0 || e == ESRCH)
                h_allow("quotactl");

#ifdef SYS_quotactl_fd
        int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                h_bug("open /: %m");
        r = syscall(SYS_quotactl_fd, fd, QCMD(Q_GETQUOTA, USRQUOTA), ID, &dq);
        e = errno;
        h_res("quotactl_fd", r, e);
        if (r == 0 || e == ESRCH || e == ENOENT)
                h_allow("quotactl_fd");
        close(fd);
#else
        h_kv("quotactl_fd", "ENOSYS");
#endif
        h_done();
}
