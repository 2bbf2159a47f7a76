/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "util.h"

void atomic_file_done(AtomicFile *f) {
        if (!f)
                return;
        if (f->tmp && f->dir_fd >= 0)
                (void) unlinkat(f->dir_fd, f->tmp, 0);
        safe_close(f->fd);
        safe_close(f->dir_fd);
        free(f->name);
        free(f->tmp);
        *f = ATOMIC_FILE_NULL;
}

int atomic_file_open_at(int dir_fd, const char *name, mode_t mode, AtomicFileFlags flags, AtomicFile *ret) {
        if (!name || !*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        AtomicFile f = ATOMIC_FILE_NULL;
        f.flags = flags;
        f.mode = mode;
        f.dir_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (f.dir_fd < 0)
                return negative_errno();
        _cleanup_free_ char *rnd = NULL;
        int r = random_hex(8, &rnd);
        if (r < 0) {
                atomic_file_done(&f);
                return r;
        }
        f.name = strdup(name);
        f.tmp = strjoin(".#", name, ".", rnd);
        if (!f.name || !f.tmp) {
                atomic_file_done(&f);
                return -ENOMEM;
        }
        f.fd = openat(f.dir_fd, f.tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (f.fd < 0) {
                r = negative_errno();
                free(f.tmp);
                f.tmp = NULL; /* not ours: nothing to remove */
                atomic_file_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}

int atomic_file_open(const char *path, mode_t mode, AtomicFileFlags flags, AtomicFile *ret) {
        const char *slash = strrchr(path, '/');
        const char *name = slash ? slash + 1 : path;
        if (!*name)
                return -EISDIR;
        _cleanup_free_ char *dir = slash ? strndup(path, slash == path ? 1 : (size_t) (slash - path)) : strdup(".");
        if (!dir)
                return -ENOMEM;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        return atomic_file_open_at(dfd, name, mode, flags, ret);
}

int atomic_file_commit(AtomicFile *f) {
        if (!f || f->fd < 0 || !f->tmp)
                return -EBADF;
        if ((f->flags & ATOMIC_FILE_EXACT_MODE) && fchmod(f->fd, f->mode) < 0)
                return negative_errno();
        if ((f->flags & ATOMIC_FILE_SYNC) && fsync(f->fd) < 0)
                return negative_errno();
        if (renameat(f->dir_fd, f->tmp, f->dir_fd, f->name) < 0)
                return negative_errno();
        free(f->tmp);
        f->tmp = NULL;
        return 0;
}

static int write_whole(AtomicFile *f, const void *buf, size_t size) {
        int r = loop_write(f->fd, buf, size);
        if (r >= 0)
                r = atomic_file_commit(f);
        atomic_file_done(f);
        return r;
}

int write_file_atomic(const char *path, const void *buf, size_t size, mode_t mode, AtomicFileFlags flags) {
        AtomicFile f;
        int r = atomic_file_open(path, mode, flags, &f);
        return r < 0 ? r : write_whole(&f, buf, size);
}

int write_file_atomic_at(int dir_fd, const char *name, const void *buf, size_t size, mode_t mode,
                         AtomicFileFlags flags) {
        AtomicFile f;
        int r = atomic_file_open_at(dir_fd, name, mode, flags, &f);
        return r < 0 ? r : write_whole(&f, buf, size);
}
