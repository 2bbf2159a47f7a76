/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <btrfsutil.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "btrfs-util.h"
#include "fd-util.h"

static int btrfs_error_to_errno(enum btrfs_util_error e) {
        if (e == BTRFS_UTIL_OK)
                return 0;
        if (e == BTRFS_UTIL_ERROR_NOT_BTRFS || e == BTRFS_UTIL_ERROR_NOT_SUBVOLUME)
                return -ENOTTY;
        if (e == BTRFS_UTIL_ERROR_NO_MEMORY)
                return -ENOMEM;
        return errno > 0 ? -errno : -EIO;
}

int btrfs_is_subvolume_fd(int fd) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        /* A subvolume's root directory is always inode 256 on btrfs. */
        if (!S_ISDIR(st.st_mode) || st.st_ino != 256)
                return 0;
        return fd_is_btrfs(fd);
}

int btrfs_subvolume_create_at(int dir_fd, const char *name) {
        errno = 0;
        return btrfs_error_to_errno(btrfs_util_create_subvolume_fd(dir_fd, name, 0, NULL, NULL));
}

/* Calls cb for each subvolume nested below fd, with its path relative to fd (parents before their
 * children), until cb returns nonzero. Returns what cb returned last, or -errno when the walk
 * itself fails. */
static int foreach_nested(int fd, int (*cb)(int fd, char *path, void *userdata), void *userdata) {
        struct btrfs_util_subvolume_iterator *it = NULL;
        errno = 0;
        int r = btrfs_error_to_errno(btrfs_util_create_subvolume_iterator_fd(fd, 0, 0, &it));
        if (r < 0)
                return r;
        char *path = NULL;
        enum btrfs_util_error e;
        while ((e = btrfs_util_subvolume_iterator_next(it, &path, NULL)) == BTRFS_UTIL_OK) {
                r = cb(fd, path, userdata);
                free(path);
                path = NULL;
                if (r != 0)
                        break;
        }
        btrfs_util_destroy_subvolume_iterator(it);
        if (r == 0 && e != BTRFS_UTIL_OK && e != BTRFS_UTIL_ERROR_STOP_ITERATION)
                r = -EIO;
        return r;
}

/* Replaces the empty directory that nested subvolume path of src_fd left in the fresh snapshot
 * (*userdata: its fd) with a snapshot of it. */
static int snapshot_one_nested(int src_fd, char *path, void *userdata) {
        int snap_fd = *(int *) userdata;
        char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        int parent = snap_fd, nested = -EBADF, r;
        if (slash) {
                *slash = 0;
                parent = openat(snap_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                *slash = '/';
        }
        struct stat st;
        if (parent < 0 || fstat(parent, &st) < 0) {
                r = negative_errno();
                goto finish;
        }
        nested = openat(src_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (nested < 0 || unlinkat(parent, base, AT_REMOVEDIR) < 0) {
                r = negative_errno();
                goto finish;
        }
        errno = 0;
        r = btrfs_error_to_errno(btrfs_util_create_snapshot_fd2(nested, parent, base, 0, NULL, NULL));
        if (r >= 0) {
                struct timespec ts[2] = { st.st_atim, st.st_mtim };
                r = RET_NERRNO(futimens(parent, ts));
        }
finish:
        safe_close(nested);
        if (parent != snap_fd)
                safe_close(parent);
        return r < 0 ? r : 0;
}

/* Snapshots the nested subvolumes of src_fd into the fresh snapshot snap_fd, where they appear as
 * empty directories. Done by hand rather than with libbtrfsutil's RECURSIVE flag, so the parent
 * directories' timestamps, which linking the nested snapshots in changes, are put back. */
static int snapshot_nested(int src_fd, int snap_fd) {
        return foreach_nested(src_fd, snapshot_one_nested, &snap_fd);
}

int btrfs_snapshot_at(int src_fd, int dir_fd, const char *name, bool read_only) {
        errno = 0;
        int r = btrfs_error_to_errno(btrfs_util_create_snapshot_fd2(src_fd, dir_fd, name, 0, NULL, NULL));
        if (r < 0)
                return r;
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        r = snapshot_nested(src_fd, fd);
        if (r < 0)
                return r; /* the caller removes the half-made snapshot */
        /* Read-only last: nested snapshots could not be linked into a read-only one. */
        return read_only ? btrfs_subvolume_set_read_only_fd(fd, true) : 0;
}

int btrfs_subvolume_set_read_only_fd(int fd, bool ro) {
        errno = 0;
        return btrfs_error_to_errno(btrfs_util_set_subvolume_read_only_fd(fd, ro));
}

int btrfs_subvolume_get_read_only_fd(int fd) {
        bool ro;
        errno = 0;
        int r = btrfs_error_to_errno(btrfs_util_get_subvolume_read_only_fd(fd, &ro));
        return r < 0 ? r : ro;
}

static int stop_at_first(_unused_ int fd, _unused_ char *path, _unused_ void *userdata) {
        return 1;
}

int btrfs_subvolume_has_nested(int fd) {
        return foreach_nested(fd, stop_at_first, NULL);
}

static int clear_read_only(int fd, char *path, _unused_ void *userdata) {
        int sfd = openat(fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (sfd >= 0) {
                (void) btrfs_subvolume_set_read_only_fd(sfd, false);
                safe_close(sfd);
        }
        return 0;
}

int btrfs_subvolume_remove_at(int dir_fd, const char *name) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();

        /* Nested subvolumes can only be unlinked from writable parents: clear read-only on the
         * top and on every nested one before the recursive delete. */
        int r = btrfs_subvolume_set_read_only_fd(fd, false);
        if (r < 0)
                return r;
        (void) foreach_nested(fd, clear_read_only, NULL); /* what stays read-only makes the delete fail */
        errno = 0;
        return btrfs_error_to_errno(
                btrfs_util_delete_subvolume_fd(dir_fd, name, BTRFS_UTIL_DELETE_SUBVOLUME_RECURSIVE));
}

int btrfs_subvolume_get_otime(int fd, uint64_t *ret_sec) {
        struct btrfs_util_subvolume_info info;
        errno = 0;
        int r = btrfs_error_to_errno(btrfs_util_subvolume_info_fd(fd, 0, &info));
        if (r < 0)
                return r;
        *ret_sec = (uint64_t) info.otime.tv_sec;
        return 0;
}
