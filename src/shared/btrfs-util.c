/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <btrfsutil.h>
#include <fcntl.h>
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

int btrfs_snapshot_at(int src_fd, int dir_fd, const char *name, bool read_only) {
        /* Recursive snapshots cannot be made read-only in one step (nested subvolumes are linked
         * into the new one after it is created), so snapshot writable, then flip the flag. */
        errno = 0;
        int r = btrfs_error_to_errno(btrfs_util_create_snapshot_fd2(
                src_fd, dir_fd, name, BTRFS_UTIL_CREATE_SNAPSHOT_RECURSIVE, NULL, NULL));
        if (r < 0 || !read_only)
                return r;
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        return btrfs_subvolume_set_read_only_fd(fd, true);
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

int btrfs_subvolume_remove_at(int dir_fd, const char *name) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();

        /* Nested subvolumes can only be unlinked from writable parents: clear read-only on the
         * top and on every nested one before the recursive delete. */
        int r = btrfs_subvolume_set_read_only_fd(fd, false);
        if (r < 0)
                return r;
        struct btrfs_util_subvolume_iterator *it = NULL;
        if (btrfs_util_create_subvolume_iterator_fd(fd, 0, 0, &it) == BTRFS_UTIL_OK) {
                char *path = NULL;
                while (btrfs_util_subvolume_iterator_next(it, &path, NULL) == BTRFS_UTIL_OK) {
                        int sfd = openat(fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        free(path);
                        path = NULL;
                        if (sfd >= 0) {
                                (void) btrfs_subvolume_set_read_only_fd(sfd, false);
                                safe_close(sfd);
                        }
                }
                btrfs_util_destroy_subvolume_iterator(it);
        }
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
