/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* copy_tree_fd() and rm_rf_at(): special files, hardlinked device nodes, holes, mount points
 * (never descended into), immutable files; copy_file_data() of one file (holes, reflinks, across
 * file systems, block devices). Needs root for mknod, chown and mounts. */
#include <fcntl.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <cmocka.h>

#include "copy.h"
#include "fd-util.h"
#include "loop-util.h"
#include "rm-rf.h"
#include "util.h"
#include "unit-helpers.h"

static char base[TEST_DIRS_BASE_MAX];
static int src = -EBADF, dst = -EBADF;

static int setup(void **state) {
        test_dirs_make("test-copy", 0700, base, &src, &dst);
        return 0;
}

static int teardown(void **state) {
        char p[128];
        snprintf(p, sizeof(p), "%s/src/mnt", base);
        (void) umount2(p, MNT_DETACH);
        test_dirs_remove(base, &src, &dst);
        return 0;
}

static void test_special_files(void **state) {
        assert_int_equal(mknodat(src, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
        assert_int_equal(fchmodat(src, "null", 0666, 0), 0); /* past the umask */
        assert_int_equal(linkat(src, "null", src, "null-link", 0), 0);
        assert_int_equal(mknodat(src, "fifo", S_IFIFO | 0640, 0), 0);
        assert_int_equal(fchownat(src, "fifo", 12, 34, 0), 0);
        assert_int_equal(symlinkat("../../../etc/shadow", src, "escape"), 0);
        int fd = openat(src, "sparse", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "end", 3, 100 << 20), 3);
        assert_int_equal(fsetxattr(fd, "user.k", "v", 1, 0), 0);
        close(fd);
        fd = openat(src, "suid", O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
        assert_int_equal(fchown(fd, 1000, 1000), 0);
        assert_int_equal(fchmod(fd, 06755), 0);
        close(fd);

        assert_int_equal(copy_tree_fd(src, dst, 0), 0);

        struct stat a, b;
        assert_int_equal(fstatat(dst, "null", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISCHR(a.st_mode));
        assert_int_equal(a.st_rdev, makedev(1, 3));
        assert_int_equal(a.st_mode & 07777, 0666);
        assert_int_equal(fstatat(dst, "null-link", &b, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(a.st_ino, b.st_ino); /* hardlinked device node stays one inode */
        assert_int_equal(fstatat(dst, "fifo", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISFIFO(a.st_mode));
        assert_int_equal(a.st_uid, 12);
        assert_int_equal(a.st_gid, 34);
        char target[64] = {};
        assert_int_equal(readlinkat(dst, "escape", target, sizeof(target) - 1), 19);
        assert_string_equal(target, "../../../etc/shadow");
        assert_int_equal(fstatat(dst, "sparse", &a, 0), 0);
        assert_int_equal(a.st_size, (100 << 20) + 3);
        assert_true(a.st_blocks < 1024); /* the hole stayed a hole */
        char v[4] = {};
        fd = openat(dst, "sparse", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fgetxattr(fd, "user.k", v, sizeof(v)), 1);
        close(fd);
        assert_int_equal(fstatat(dst, "suid", &a, 0), 0);
        assert_int_equal(a.st_mode & 07777, 06755); /* kept despite the chown */
        assert_int_equal(a.st_uid, 1000);
}

static void test_mount_point_not_descended(void **state) {
        assert_int_equal(mkdirat(src, "mnt", 0755), 0);
        char p[128];
        snprintf(p, sizeof(p), "%s/src/mnt", base);
        assert_int_equal(mount("tmpfs", p, "tmpfs", 0, "mode=0711"), 0);
        int m = openat(src, "mnt", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(mkdirat(m, "inside", 0755), 0);
        close(m);
        assert_int_equal(copy_tree_fd(src, dst, 0), 0);
        struct stat st;
        assert_int_equal(fstatat(dst, "mnt", &st, 0), 0); /* the mount point itself is copied… */
        assert_int_equal(fstatat(dst, "mnt/inside", &st, 0), -1); /* …but not what is mounted */
        /* rm_rf never removes across a mount either. */
        assert_int_equal(rm_rf_at(src, "mnt"), -EBUSY);
        assert_int_equal(umount2(p, MNT_DETACH), 0);
}

static void test_rm_rf_immutable(void **state) {
        assert_int_equal(mkdirat(src, "d", 0755), 0);
        int fd = openat(src, "d/file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        int flags = FS_IMMUTABLE_FL;
        int r = ioctl(fd, FS_IOC_SETFLAGS, &flags);
        close(fd);
        if (r < 0)
                skip(); /* the filesystem of /var/tmp has no attribute flags */
        assert_int_equal(unlinkat(src, "d/file", 0), -1);
        assert_int_equal(rm_rf_at(src, "d"), 0);
        assert_int_equal(faccessat(src, "d", F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

static void test_reflink_fallback(void **state) {
        /* On a filesystem without reflinks (ext4 /var/tmp here) COPY_REFLINK falls back to a
         * copy and says so by returning 0; with reflinks it returns 1. Either way, same data. */
        int fd = openat(src, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_int_equal(loop_write(fd, "contents", 8), 0);
        close(fd);
        int r = copy_tree_fd(src, dst, COPY_REFLINK);
        assert_true(r == 0 || r == 1);
        assert_int_equal(r, fd_is_btrfs(dst) ? 1 : r);
        char buf[16] = {};
        fd = openat(dst, "f", O_RDONLY | O_CLOEXEC);
        assert_int_equal(read(fd, buf, sizeof(buf)), 8);
        assert_string_equal(buf, "contents");
        close(fd);
}

/* copy_file_data(): the one reflink-or-copy of a file (clone_raw, verity_pin_file,
 * image_private_copy). */
static void check_same(int a, int b, off_t size) {
        struct stat st;
        assert_int_equal(fstat(b, &st), 0);
        assert_int_equal(st.st_size, size);
        static char x[65536], y[65536];
        for (off_t off = 0; off < size; off += (off_t) sizeof(x)) {
                size_t n = (size_t) MIN((off_t) sizeof(x), size - off);
                assert_int_equal(pread(a, x, n, off), (ssize_t) n);
                assert_int_equal(pread(b, y, n, off), (ssize_t) n);
                assert_memory_equal(x, y, n);
        }
}

static int tmpfile_in(int dir) {
        int fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        return fd;
}

static void test_copy_file_data(void **state) {
        /* Holes stay holes; data at both ends and in the middle arrives. */
        int s = tmpfile_in(src);
        assert_int_equal(pwrite(s, "head", 4, 0), 4);
        assert_int_equal(pwrite(s, "middle", 6, 8 << 20), 6);
        assert_int_equal(pwrite(s, "tail", 4, (32 << 20) - 4), 4);
        for (int flags = 0; flags <= (COPY_FILE_REFLINK | COPY_FILE_STRICT); flags++) {
                int d = tmpfile_in(dst);
                int r = copy_file_data(s, d, (CopyFileFlags) flags);
                if (flags & COPY_FILE_REFLINK)
                        assert_int_equal(r, fd_is_btrfs(dst) ? 1 : 0);
                else
                        assert_int_equal(r, 0);
                check_same(s, d, 32 << 20);
                struct stat st;
                assert_int_equal(fstat(d, &st), 0);
                assert_true(st.st_blocks * 512 < (8 << 20)); /* not 32 MiB of zeros */
                close(d);
        }
        close(s);

        /* Across file systems (tmpfs to here): copy_file_range() is refused, read/write does it. */
        int shm = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(shm >= 0);
        s = tmpfile_in(shm);
        close(shm);
        static char buf[300000];
        for (size_t i = 0; i < sizeof(buf); i++)
                buf[i] = (char) (i % 251);
        assert_int_equal(loop_write(s, buf, sizeof(buf)), 0);
        int d = tmpfile_in(dst);
        assert_int_equal(copy_file_data(s, d, COPY_FILE_REFLINK | COPY_FILE_STRICT), 0);
        check_same(s, d, sizeof(buf));
        close(d);

        /* A block device: all of its size (st_size says 0). */
        int loop = -EBADF;
        char *path = NULL;
        if (access("/dev/loop-control", F_OK) >= 0 &&
                loop_attach(s, 4096, 65536, LOOP_ATTACH_READ_ONLY, &loop, &path) >= 0) {
                d = tmpfile_in(dst);
                assert_int_equal(copy_file_data(loop, d, COPY_FILE_REFLINK | COPY_FILE_STRICT), 0);
                struct stat st;
                assert_int_equal(fstat(d, &st), 0);
                assert_int_equal(st.st_size, 65536);
                static char x[65536];
                assert_int_equal(pread(d, x, sizeof(x), 0), (ssize_t) sizeof(x));
                assert_memory_equal(x, buf + 4096, sizeof(x));
                close(d);
                close(loop);
                free(path);
        } else
                print_message("no loop devices: block device source not tested\n");
        close(s);

        /* Anything else is refused before a byte is written. */
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        d = tmpfile_in(dst);
        assert_int_equal(copy_file_data(p[0], d, COPY_FILE_REFLINK), -EBADFD);
        close(p[0]);
        close(p[1]);
        close(d);
}

int main(void) {
        if (geteuid() != 0) {
                fprintf(stderr, "test-copy needs root (mknod, chown, mount)\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_special_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mount_point_not_descended, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rm_rf_immutable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reflink_fallback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_file_data, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
