/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* os-release of a raw image for image-status, read as machinectl reads it: the image dissected,
 * its root partition (else its usr partition) mounted read-only, the file read, everything gone
 * again.
 *
 * Untrusted input: every byte of the image. The partition table is parsed by image-dissect.c
 * (limits, CRCs, bounds); the file system is mounted by the kernel read-only from a read-only loop
 * device, of the type its magic says (never probed by the kernel), without journal replay, with
 * nosuid, nodev and noexec, and detached: fsmount() makes a mount that is in no mount namespace,
 * so nothing on the host ever sees it and closing its fd unmounts it. os-release is opened with
 * RESOLVE_IN_ROOT below that mount (a symlink in the image cannot leave it) and read up to
 * IMAGE_OS_RELEASE_SIZE_MAX. Verity is not checked: only words to show are read, as machinectl
 * does; run -i checks what it runs. */

#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "image-dissect.h"
#include "image-raw-info.h"
#include "loop-util.h"
#include "util.h"

/* Options that keep a read-only mount from writing or replaying anything. */
static const char *no_replay_option(const char *fstype) {
        if (streq(fstype, "ext4"))
                return "noload";
        if (streq(fstype, "xfs"))
                return "norecovery";
        if (streq(fstype, "btrfs"))
                return "rescue=nologreplay";
        return NULL; /* erofs, squashfs: read-only file systems */
}

static int mount_detached(const char *device, const char *fstype, int *ret_fd) {
        _cleanup_close_ int fs = fsopen(fstype, FSOPEN_CLOEXEC);
        if (fs < 0)
                return negative_errno();
        const char *opt = no_replay_option(fstype);
        _cleanup_free_ char *key = NULL;
        const char *value = NULL;
        if (opt) {
                const char *eq = strchr(opt, '=');
                key = eq ? strndup(opt, (size_t) (eq - opt)) : strdup(opt);
                if (!key)
                        return -ENOMEM;
                value = eq ? eq + 1 : NULL;
        }
        if (fsconfig(fs, FSCONFIG_SET_STRING, "source", device, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 ||
            (key && fsconfig(fs, value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, key, value, 0) < 0) ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return negative_errno();
        int m = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (m < 0)
                return negative_errno();
        *ret_fd = m;
        return 0;
}

int image_raw_read_os_release(int fd, char **ret_text) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        DissectedImage m;
        int r = image_dissect(fd, (uint64_t) st.st_size, NULL, 0, &m);
        if (r < 0)
                return r;
        /* The root's etc/os-release (else usr/lib/os-release), or the usr partition's
         * lib/os-release for an image that has only that. */
        const DissectedPartition *p = &m.partitions[PARTITION_ROOT];
        static const char *const root_files[] = { "etc/os-release", "usr/lib/os-release", NULL };
        static const char *const usr_files[] = { "lib/os-release", NULL };
        const char *const *files = root_files;
        if (!p->found) {
                p = &m.partitions[PARTITION_USR];
                files = usr_files;
        }
        if (!p->found || !p->fstype)
                return -ENXIO;

        _cleanup_close_ int loop_fd = -EBADF, mnt_fd = -EBADF;
        _cleanup_free_ char *device = NULL;
        /* A loop device of its own over just that partition, read-only, gone when closed. */
        r = loop_attach(fd, p->offset, p->size, LOOP_ATTACH_READ_ONLY, &loop_fd, &device);
        if (r < 0)
                return r;
        r = mount_detached(device, p->fstype, &mnt_fd);
        if (r < 0)
                return r;
        for (size_t i = 0; files[i]; i++) {
                r = read_file_at(mnt_fd, files[i], RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
                                 IMAGE_OS_RELEASE_SIZE_MAX, ret_text, NULL);
                if (r != -ENOENT)
                        break;
        }
        /* The mount goes first (closing its fd unmounts it), then the loop device, which its
         * autoclear flag detaches once nothing holds it. */
        mnt_fd = safe_close(mnt_fd);
        loop_fd = safe_close(loop_fd);
        return r;
}
