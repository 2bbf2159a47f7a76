/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* export_tar() → tar reader → tree writer, without the image store: everything an OS tree carries
 * survives (contents, sparse holes, hardlinks, symlinks, fifo, device, setuid, owners, mtimes to
 * the nanosecond also where nothing else needs a pax header, user xattrs, a symlink's xattrs,
 * POSIX ACLs with the mode's group bits being the mask, file capability), and the move-up of a
 * single top directory holding an OS tree.
 * Needs root (mknod, chown, security.capability). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <cmocka.h>

#include "pull.h"
#include "fd-util.h"
#include "rm-rf.h"
#include "tar-archive.h"
#include "tar-extract.h"
#include "util.h"
#include "unit-helpers.h"

static char base[TEST_DIRS_BASE_MAX];
static int src = -EBADF, dst = -EBADF;

static int setup(void **state) {
        test_dirs_make("test-tar-archive", 0755, base, &src, &dst);
        return 0;
}

static int teardown(void **state) {
        test_dirs_remove(base, &src, &dst);
        return 0;
}

typedef struct Mem {
        int fd;
        uint8_t buf[65536];
} Mem;

static ssize_t fd_read_block(void *userdata, const void **ret) {
        Mem *m = userdata;
        ssize_t n = read(m->fd, m->buf, sizeof(m->buf));
        *ret = m->buf;
        return n < 0 ? -errno : n;
}

/* Exports tree_fd into a memfd and extracts it below target_fd; returns the extraction's result. */
static int roundtrip(int tree_fd, int target_fd) {
        int mfd = memfd_create("tar", MFD_CLOEXEC);
        assert_true(mfd >= 0);
        uint64_t skipped = 1;
        ExportOptions o = { .compress = COMPRESS_NONE };
        assert_int_equal(export_tar(tree_fd, mfd, &o, &skipped, NULL), 0);
        assert_int_equal(skipped, 0);
        assert_int_equal(lseek(mfd, 0, SEEK_SET), 0);
        Mem *m = malloc(sizeof(Mem));
        m->fd = mfd;
        TarExtract *x = NULL;
        TarReader *r = NULL;
        assert_int_equal(tar_extract_new(target_fd, NULL, &x), 0);
        assert_int_equal(tar_reader_new(fd_read_block, m, &r), 0);
        int k = tar_extract_run(x, r, NULL);
        if (k >= 0)
                k = tar_extract_finish(x);
        tar_reader_free(r);
        tar_extract_free(x);
        free(m);
        close(mfd);
        return k;
}

static void write_at(int dir, const char *name, const char *data, off_t off) {
        int fd = openat(dir, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, data, strlen(data), off), (ssize_t) strlen(data));
        close(fd);
}

static void test_roundtrip(void **state) {
        assert_int_equal(mkdirat(src, "etc", 0755), 0);
        assert_int_equal(mkdirat(src, "acl", 0750), 0);
        write_at(src, "etc/hosts", "127.0.0.1 localhost\n", 0);
        assert_int_equal(fchownat(src, "etc/hosts", 1234, 5678, 0), 0);
        write_at(src, "sparse", "end", 100 << 20);
        write_at(src, "suid", "#!/bin/sh\n", 0);
        assert_int_equal(fchmodat(src, "suid", 04755, 0), 0);
        assert_int_equal(linkat(src, "etc/hosts", src, "hosts-link", 0), 0);
        assert_int_equal(symlinkat("../etc/hosts", src, "rel-link"), 0);
        assert_int_equal(mknodat(src, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
        assert_int_equal(mknodat(src, "fifo", S_IFIFO | 0640, 0), 0);
        int fd = openat(src, "etc/hosts", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fsetxattr(fd, "user.test", "value", 5, 0), 0);
        /* cap_net_raw+ep, VFS_CAP_REVISION_2 */
        static const uint8_t cap[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00 };
        assert_int_equal(fsetxattr(fd, "security.capability", cap, sizeof(cap), 0), 0);
        close(fd);
        /* A default ACL with a named group, and an access ACL with a named user. */
        static const uint32_t acl_access[] = { 2, 0x00070001, 0xffffffff, 0x00070002, 1000, 0x00050004, 0xffffffff,
                                               0x00070010, 0xffffffff, 0x00000020, 0xffffffff };
        static const uint32_t acl_default[] = { 2, 0x00070001, 0xffffffff, 0x00050004, 0xffffffff, 0x00050008, 4321,
                                                0x00050010, 0xffffffff, 0x00000020, 0xffffffff };
        fd = openat(src, "acl", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(fsetxattr(fd, "system.posix_acl_access", acl_access, sizeof(acl_access), 0), 0);
        assert_int_equal(fsetxattr(fd, "system.posix_acl_default", acl_default, sizeof(acl_default), 0), 0);
        close(fd);
        write_at(src, "acl/inherits", "x", 0); /* inherits the default ACL */
        struct timespec ts[2] = { { 1000000000, 0 }, { 1111111111, 0 } };
        assert_int_equal(utimensat(src, "etc/hosts", ts, 0), 0);
        assert_int_equal(utimensat(src, "etc", ts, 0), 0);
        /* A plain file (nothing else needs a pax header) with a sub-second mtime. */
        write_at(src, "nsec", "n", 0);
        struct timespec tn[2] = { { 1222222222, 5 }, { 1333333333, 123456789 } };
        assert_int_equal(utimensat(src, "nsec", tn, 0), 0);
        /* A symlink's xattr (trusted.*: user.* are not allowed on symlinks). */
        char sl[TEST_DIRS_BASE_MAX + 32];
        snprintf(sl, sizeof(sl), "%s/src/rel-link", base);
        assert_int_equal(lsetxattr(sl, "trusted.cowpen-test", "on-the-link", 11, 0), 0);
        struct stat acl_st;
        assert_int_equal(fstatat(src, "acl", &acl_st, 0), 0);
        assert_int_equal(acl_st.st_mode & 07777, 0770); /* group bits: the mask (rwx), not group:: (r-x) */

        assert_int_equal(roundtrip(src, dst), 0);

        struct stat a, b;
        assert_int_equal(fstatat(dst, "etc/hosts", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(a.st_uid, 1234);
        assert_int_equal(a.st_gid, 5678);
        assert_int_equal(a.st_mtim.tv_sec, 1111111111);
        assert_int_equal(fstatat(dst, "hosts-link", &b, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        assert_int_equal(fstatat(dst, "etc", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(a.st_mtim.tv_sec, 1111111111);
        assert_int_equal(fstatat(dst, "suid", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(a.st_mode & 07777, 04755);
        assert_int_equal(fstatat(dst, "null", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISCHR(a.st_mode));
        assert_int_equal(a.st_rdev, makedev(1, 3));
        assert_int_equal(fstatat(dst, "fifo", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISFIFO(a.st_mode));
        assert_int_equal(a.st_mode & 07777, 0640);
        assert_int_equal(fstatat(dst, "sparse", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(a.st_size, (100 << 20) + 3);
        assert_true(a.st_blocks < 1024); /* the hole stayed a hole */
        char l[64] = {};
        assert_int_equal(readlinkat(dst, "rel-link", l, sizeof(l)), 12);
        assert_string_equal(l, "../etc/hosts");
        assert_int_equal(fstatat(dst, "nsec", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(a.st_mtim.tv_sec, 1333333333);
        assert_int_equal(a.st_mtim.tv_nsec, 123456789);
        char dl[TEST_DIRS_BASE_MAX + 32];
        snprintf(dl, sizeof(dl), "%s/dst/rel-link", base);
        char lv[32] = {};
        assert_int_equal(lgetxattr(dl, "trusted.cowpen-test", lv, sizeof(lv)), 11);
        assert_memory_equal(lv, "on-the-link", 11);
        assert_int_equal(fstatat(dst, "acl", &a, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(a.st_mode & 07777, 0770);

        char v[128];
        fd = openat(dst, "etc/hosts", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fgetxattr(fd, "user.test", v, sizeof(v)), 5);
        assert_memory_equal(v, "value", 5);
        assert_int_equal(fgetxattr(fd, "security.capability", v, sizeof(v)), sizeof(cap));
        assert_memory_equal(v, cap, sizeof(cap));
        close(fd);
        fd = openat(dst, "acl", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(fgetxattr(fd, "system.posix_acl_access", v, sizeof(v)), sizeof(acl_access));
        assert_memory_equal(v, acl_access, sizeof(acl_access));
        assert_int_equal(fgetxattr(fd, "system.posix_acl_default", v, sizeof(v)), sizeof(acl_default));
        assert_memory_equal(v, acl_default, sizeof(acl_default));
        close(fd);
        /* The inherited access ACL of acl/inherits travels as its own and comes back equal. */
        int f1 = openat(src, "acl/inherits", O_RDONLY | O_CLOEXEC), f2 = openat(dst, "acl/inherits", O_RDONLY | O_CLOEXEC);
        char v1[128], v2[128];
        ssize_t s1 = fgetxattr(f1, "system.posix_acl_access", v1, sizeof(v1));
        ssize_t s2 = fgetxattr(f2, "system.posix_acl_access", v2, sizeof(v2));
        assert_int_equal(s1, s2);
        if (s1 > 0)
                assert_memory_equal(v1, v2, (size_t) s1);
        close(f1);
        close(f2);
}

/* A tree wrapped in one top directory that is an OS tree (etc/os-release) is moved up. */
static void test_move_up(void **state) {
        int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(mkdirat(b, "wrap", 0755), 0);
        assert_int_equal(mkdirat(b, "wrap/rootfs", 0711), 0);
        assert_int_equal(mkdirat(b, "wrap/rootfs/etc", 0755), 0);
        write_at(b, "wrap/rootfs/etc/os-release", "ID=test\n", 0);
        assert_int_equal(mkdirat(b, "wrap/rootfs/rootfs", 0755), 0); /* same name as the top */
        assert_int_equal(mkdirat(b, "moved", 0755), 0);
        int w = openat(b, "wrap", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int m = openat(b, "moved", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(roundtrip(w, m), 0);
        struct stat st;
        assert_int_equal(fstatat(m, "etc", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fstatat(m, "rootfs", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fstat(m, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0711); /* the root took the top directory's mode */
        close(w);
        close(m);
        close(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_move_up),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
