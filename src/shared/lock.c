/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "lock.h"

static int ofd_lock(int fd, short type) {
        struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
        if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
                return errno == EAGAIN || errno == EACCES ? -EBUSY : negative_errno();
        return 0;
}

int lock_file_at(int dir_fd, const char *name, bool exclusive, int *ret_fd) {
        for (unsigned attempt = 0;; attempt++) {
                _cleanup_close_ int fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
                if (fd < 0)
                        return negative_errno();
                int r = ofd_lock(fd, exclusive ? F_WRLCK : F_RDLCK);
                if (r < 0)
                        return r;

                /* Someone who released the lock may have unlinked the file between our open and
                 * our lock: then we hold a lock nobody else will see. Check and retry. */
                struct stat a, b;
                if (fstat(fd, &a) < 0)
                        return negative_errno();
                if (fstatat(dir_fd, name, &b, AT_SYMLINK_NOFOLLOW) >= 0 && a.st_dev == b.st_dev &&
                    a.st_ino == b.st_ino) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
                if (attempt > 64)
                        return -EBUSY;
        }
}

void unlock_file_at(int dir_fd, const char *name, int fd, bool unlink_if_free) {
        if (fd < 0)
                return;
        /* Only unlink while holding an exclusive lock: nobody else can then be using the file,
         * and lock_file_at() of a racing opener notices the unlink and retries. */
        if (unlink_if_free && ofd_lock(fd, F_WRLCK) >= 0)
                (void) unlinkat(dir_fd, name, 0);
        safe_close(fd);
}

int lock_file_is_held(int dir_fd, const char *name) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
                return negative_errno();
        return fl.l_type != F_UNLCK;
}
