/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysprobe CALL…: makes each named system call with arguments the kernel rejects after its
 * permission check (or harmless ones), and prints "CALL ERRNO" per call (ERRNO "0" on success).
 * Built statically so that it runs in any container tree; nothing it does changes the host: an
 * EINVAL from settimeofday means the call reached the kernel, never that the clock was set. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

static long call(const char *name) {
        if (strcmp(name, "settimeofday") == 0) {
                struct timeval tv = { 0, 2000000 }; /* invalid: EINVAL once permitted */
                return syscall(SYS_settimeofday, &tv, NULL);
        }
        if (strcmp(name, "mount") == 0)
                return syscall(SYS_mount, "none", "/nonexistent-sysprobe", "tmpfs", 0, NULL);
        if (strcmp(name, "keyctl") == 0)
                return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -4 /* @u */, 0);
        if (strcmp(name, "mknod-block") == 0) {
                /* The device of the file system holding the root: a host disk. */
                struct stat st;
                if (stat("/", &st) < 0)
                        return -1;
                char p[] = "/tmp/sysprobe-blockXXXXXX";
                int fd = mkstemp(p);
                if (fd >= 0) {
                        close(fd);
                        unlink(p);
                }
                long r = mknod(p, S_IFBLK | 0600, st.st_dev);
                if (r >= 0)
                        unlink(p);
                return r;
        }
        if (strncmp(name, "open-read:", 10) == 0) {
                int fd = open(name + 10, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                if (fd >= 0)
                        close(fd);
                return fd;
        }
        if (strncmp(name, "open-write:", 11) == 0) {
                int fd = open(name + 11, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
                if (fd >= 0)
                        close(fd);
                return fd;
        }
        if (strncmp(name, "open-sync:", 10) == 0) {
                int fd = open(name + 10, O_WRONLY | O_CREAT | O_SYNC | O_CLOEXEC, 0600);
                if (fd >= 0)
                        close(fd);
                return fd;
        }
        if (strcmp(name, "fsync-bad-fd") == 0)
                return syscall(SYS_fsync, -1);
        errno = ENOTSUP;
        return -1;
}

int main(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                errno = 0;
                long r = call(argv[i]);
                printf("%s %s\n", argv[i], r >= 0 ? "0" : strerrorname_np(errno) ?: "?");
        }
        return 0;
}
