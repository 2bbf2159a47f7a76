/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "fd-util.h"
#include "util.h"

int openat2_resolve(int dir_fd, const char *path, int flags, mode_t mode, uint64_t resolve) {
        struct open_how how = {
                .flags = (uint64_t) flags | O_CLOEXEC,
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = resolve,
        };
        int fd;
        /* EAGAIN: a rename raced with RESOLVE_BENEATH/IN_ROOT's checks; retry a few times. */
        for (int i = 0; i < 8; i++) {
                fd = (int) syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));
                if (fd >= 0 || errno != EAGAIN)
                        break;
        }
        return fd < 0 ? negative_errno() : fd;
}

int fd_stat_size(int fd, const struct stat *st, uint64_t *ret) {
        if (S_ISREG(st->st_mode)) {
                *ret = (uint64_t) st->st_size;
                return 0;
        }
        if (!S_ISBLK(st->st_mode))
                return -EBADFD;
        uint64_t size;
        if (ioctl(fd, BLKGETSIZE64, &size) < 0)
                return negative_errno();
        *ret = size;
        return 1;
}

int fd_size(int fd, uint64_t *ret) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        return fd_stat_size(fd, &st, ret);
}

int read_file_at(int dir_fd, const char *path, uint64_t resolve, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = openat2_resolve(dir_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, resolve);
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max_size)
                return -EFBIG;
        _cleanup_free_ char *buf = malloc(max_size + 1);
        if (!buf)
                return -ENOMEM;
        ssize_t n = loop_read(fd, buf, max_size + 1);
        if (n < 0)
                return (int) n;
        if ((size_t) n > max_size)
                return -EFBIG;
        buf[n] = 0;
        if (ret_size)
                *ret_size = (size_t) n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int loop_write(int fd, const void *buf, size_t n) {
        const uint8_t *p = buf;
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR && !interrupted())
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

ssize_t loop_read(int fd, void *buf, size_t n) {
        uint8_t *p = buf;
        size_t done = 0;
        while (done < n) {
                ssize_t k = read(fd, p + done, n - done);
                if (k < 0) {
                        if (errno == EINTR && !interrupted())
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                done += (size_t) k;
        }
        return (ssize_t) done;
}

int opendir_fd(int dir_fd, DIR **ret) {
        int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        DIR *d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }
        /* The duplicate shares the file position with dir_fd, which may have been read before. */
        rewinddir(d);
        *ret = d;
        return 0;
}

int fd_get_path(int fd, char **ret) {
        char proc[64], buf[PATH_MAX + 1];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        char *p = strdup(buf);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int fd_reopen(int fd, int flags) {
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        /* The magic link is a symlink to the inode: O_NOFOLLOW would refuse it, O_CREAT has nothing
         * to create. */
        return RET_NERRNO(open(proc, (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL | O_DIRECTORY)) | O_CLOEXEC | O_NOCTTY));
}

int open_checked(int dir_fd, const char *path, int flags, unsigned types, struct stat *ret_st) {
        if (flags & (O_CREAT | O_TMPFILE | O_PATH))
                return -EINVAL;
        _cleanup_close_ int pfd = openat(dir_fd, path, O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW));
        if (pfd < 0)
                return negative_errno();
        struct stat st;
        if (fstat(pfd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (S_ISLNK(st.st_mode))
                return -ELOOP;
        if (!((S_ISREG(st.st_mode) && (types & OPEN_REGULAR)) || (S_ISBLK(st.st_mode) && (types & OPEN_BLOCK)) ||
              (S_ISFIFO(st.st_mode) && (types & OPEN_FIFO))))
                return -EBADFD;
        int fd = fd_reopen(pfd, flags);
        if (fd < 0)
                return fd;
        if (ret_st)
                *ret_st = st;
        return fd;
}

int fd_is_fs_type(int fd, long magic) {
        struct statfs sfs;
        if (fstatfs(fd, &sfs) < 0)
                return negative_errno();
        return sfs.f_type == magic;
}

bool fd_is_btrfs(int fd) {
        return fd_is_fs_type(fd, BTRFS_SUPER_MAGIC) > 0;
}
