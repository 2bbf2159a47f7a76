/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "btrfs-util.h"
#include "fd-util.h"
#include "rm-rf.h"

/* Clears immutable and append-only flags, which make unlink fail with EPERM. */
static int clear_protection_flags_at(int dir_fd, const char *name) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        int flags;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return negative_errno();
        if (!(flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)))
                return 0;
        flags &= ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
        return RET_NERRNO(ioctl(fd, FS_IOC_SETFLAGS, &flags));
}

static int dir_clear_protection(int fd) {
        int flags;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 || !(flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)))
                return 0;
        flags &= ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
        return RET_NERRNO(ioctl(fd, FS_IOC_SETFLAGS, &flags));
}

static int mount_id_of(int dir_fd, const char *name, uint64_t *ret) {
        struct statx sx;
        if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (name[0] ? 0 : AT_EMPTY_PATH),
                  STATX_MNT_ID, &sx) < 0)
                return negative_errno();
        *ret = sx.stx_mnt_id;
        return 0;
}

static int unlink_retry(int dir_fd, const char *name, int flags) {
        if (unlinkat(dir_fd, name, flags) >= 0)
                return 0;
        if (errno != EPERM)
                return negative_errno();
        (void) dir_clear_protection(dir_fd);
        (void) clear_protection_flags_at(dir_fd, name);
        return RET_NERRNO(unlinkat(dir_fd, name, flags));
}

static int rm_rf_children_internal(int dir_fd, uint64_t mnt_id);

static int rm_rf_entry(int dir_fd, const char *name, uint64_t mnt_id) {
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return unlink_retry(dir_fd, name, 0);

        uint64_t child_mnt;
        int r = mount_id_of(dir_fd, name, &child_mnt);
        if (r < 0)
                return r;
        if (child_mnt != mnt_id)
                return -EBUSY; /* a mount point: never remove what is mounted there */

        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        if (btrfs_is_subvolume_fd(fd) > 0) {
                fd = safe_close(fd);
                r = btrfs_subvolume_remove_at(dir_fd, name);
                if (r >= 0 || r != -ENOTTY)
                        return r;
                fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return negative_errno();
        }
        (void) dir_clear_protection(fd);
        r = rm_rf_children_internal(fd, mnt_id);
        if (r < 0)
                return r;
        return unlink_retry(dir_fd, name, AT_REMOVEDIR);
}

static int rm_rf_children_internal(int dir_fd, uint64_t mnt_id) {
        _cleanup_closedir_ DIR *d = NULL;
        int q = opendir_fd(dir_fd, &d);
        if (q < 0)
                return q;
        int ret = 0;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                int r = rm_rf_entry(dir_fd, de->d_name, mnt_id);
                if (r < 0 && r != -ENOENT && ret == 0)
                        ret = r;
        }
        if (errno > 0 && ret == 0)
                ret = -errno;
        return ret;
}

int rm_rf_children(int dir_fd) {
        uint64_t mnt_id;
        int r = mount_id_of(dir_fd, "", &mnt_id);
        if (r < 0)
                return r;
        (void) dir_clear_protection(dir_fd);
        return rm_rf_children_internal(dir_fd, mnt_id);
}

int rm_rf_at(int dir_fd, const char *name) {
        uint64_t mnt_id;
        int r = mount_id_of(dir_fd, "", &mnt_id);
        if (r < 0)
                return r;
        return rm_rf_entry(dir_fd, name, mnt_id);
}
