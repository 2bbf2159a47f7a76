/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-loop.h"
#include "util.h"

/* See image-loop.h. Inputs: sysfs files of our own loop device (written by the kernel; still
 * size-limited and parsed strictly) and the partition geometry our parser took from the image
 * (already checked against the image's size). */

typedef struct KernelPartition {
        char name[NAME_MAX + 1];
        uint64_t start, size; /* 512-byte sectors */
        dev_t devnum;
} KernelPartition;

/* A sysfs attribute (whose st_size says 4096 whatever it holds), NUL-terminated. */
static int sysfs_read(int dir_fd, const char *file, char buf[static LOOP_SYSFS_VALUE_MAX + 1]) {
        _cleanup_close_ int fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        ssize_t n = read(fd, buf, LOOP_SYSFS_VALUE_MAX + 1);
        if (n < 0)
                return negative_errno();
        if (n > (ssize_t) LOOP_SYSFS_VALUE_MAX)
                return -E2BIG;
        buf[n] = 0;
        return 0;
}

static int sysfs_u64(int dir_fd, const char *file, uint64_t *ret) {
        char text[LOOP_SYSFS_VALUE_MAX + 1];
        int r = sysfs_read(dir_fd, file, text);
        if (r < 0)
                return r;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno != 0 || end == text || (*end != '\n' && *end != 0))
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int sysfs_devnum(int dir_fd, dev_t *ret) {
        char text[LOOP_SYSFS_VALUE_MAX + 1];
        int r = sysfs_read(dir_fd, "dev", text);
        if (r < 0)
                return r;
        unsigned ma, mi;
        int n = 0;
        if (sscanf(text, "%u:%u%n", &ma, &mi, &n) != 2 || (text[n] != '\n' && text[n] != 0))
                return -EBADMSG;
        *ret = makedev(ma, mi);
        return 0;
}

/* The kernel's partition partno of the disk whose sysfs directory is disk_fd: 1 and *ret, or 0. */
static int kernel_partition(int disk_fd, unsigned partno, KernelPartition *ret) {
        DIR *d;
        int r = opendir_fd(disk_fd, &d);
        if (r < 0)
                return r;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
                        continue;
                _cleanup_close_ int pfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (pfd < 0)
                        continue;
                uint64_t n;
                if (sysfs_u64(pfd, "partition", &n) < 0 || n != partno)
                        continue; /* not a partition (queue, holders, …), or another one */
                KernelPartition k = {};
                if ((r = sysfs_u64(pfd, "start", &k.start)) < 0 || (r = sysfs_u64(pfd, "size", &k.size)) < 0 ||
                    (r = sysfs_devnum(pfd, &k.devnum)) < 0)
                        break;
                if (strlen(de->d_name) >= sizeof(k.name)) {
                        r = -ENAMETOOLONG;
                        break;
                }
                strcpy(k.name, de->d_name);
                *ret = k;
                r = 1;
                break;
        }
        closedir(d);
        return r;
}

/* The block device devnum: /dev/NAME when that is it, else a private node. */
static int open_devnum(const char *name, dev_t devnum, bool read_only, int *ret_fd) {
        int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY;
        _cleanup_close_ int dev_fd = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dev_fd >= 0) {
                _cleanup_close_ int fd = openat2_resolve(dev_fd, name, flags, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
                struct stat st;
                if (fd >= 0 && fstat(fd, &st) >= 0 && S_ISBLK(st.st_mode) && st.st_rdev == devnum) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
        }
        /* No devtmpfs node (or not ours): a node of our own, in a directory only root may enter,
         * gone again before we return. */
        char dir[64];
        snprintf(dir, sizeof(dir), "/run/cowpen-image.%i.XXXXXX", (int) getpid());
        if (!mkdtemp(dir))
                return negative_errno();
        int r = 0;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                r = negative_errno();
        else if (mknodat(dfd, "dev", S_IFBLK | 0600, devnum) < 0)
                r = negative_errno();
        else {
                fd = openat(dfd, "dev", flags);
                if (fd < 0)
                        r = negative_errno();
                (void) unlinkat(dfd, "dev", 0);
        }
        (void) rmdir(dir);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int loop_partition_open(int loop_fd, unsigned partno, uint64_t offset, uint64_t size, bool read_only, int *ret_fd) {
        if (partno == 0 || partno > LOOP_PARTITIONS_MAX || offset % 512 || size % 512 || size == 0)
                return -ERANGE;
        struct stat st;
        if (fstat(loop_fd, &st) < 0)
                return negative_errno();
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        char path[64];
        snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev));
        _cleanup_close_ int disk_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (disk_fd < 0)
                return negative_errno();

        KernelPartition k;
        int r = kernel_partition(disk_fd, partno, &k);
        if (r < 0)
                return r;
        if (r == 0) {
                /* The kernel did not find it: add it where our parser found it. */
                struct blkpg_partition part = {
                        .start = (long long) offset,
                        .length = (long long) size,
                        .pno = (int) partno,
                };
                struct blkpg_ioctl_arg arg = {
                        .op = BLKPG_ADD_PARTITION,
                        .datalen = sizeof(part),
                        .data = &part,
                };
                if (ioctl(loop_fd, BLKPG, &arg) < 0 && errno != EBUSY)
                        return negative_errno();
                /* EBUSY: it exists now, or overlaps one of the kernel's: what is there decides. */
                r = kernel_partition(disk_fd, partno, &k);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -ESTALE;
        }
        if (k.start != offset / 512 || k.size != size / 512)
                return -ESTALE;

        _cleanup_close_ int fd = -EBADF;
        if ((r = open_devnum(k.name, k.devnum, read_only, &fd)) < 0)
                return r;
        /* A read-only partition of a writable loop device (another partition is written) is
         * read-only as a device too: a file system mounted read-only may still write (ext4
         * replays its journal) unless the device refuses. */
        if (read_only) {
                int one = 1, ro = 0;
                if (ioctl(fd, BLKROSET, &one) < 0 || ioctl(fd, BLKROGET, &ro) < 0)
                        return negative_errno();
                if (!ro)
                        return -EIO;
        }
        /* The device opened is still that partition. */
        uint64_t dsize = 0;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISBLK(st.st_mode) || st.st_rdev != k.devnum || ioctl(fd, BLKGETSIZE64, &dsize) < 0 || dsize != size)
                return -ESTALE;
        KernelPartition again;
        if ((r = kernel_partition(disk_fd, partno, &again)) < 0)
                return r;
        if (r == 0 || again.devnum != k.devnum || again.start != k.start || again.size != k.size)
                return -ESTALE;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
