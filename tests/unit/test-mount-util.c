/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "mount-util.h"
#include "rm-rf.h"
#include "util.h"

/* The mount helpers of a container's setup: mount points resolved and made inside a tree (a
 * symlink of the tree never leads out of it), and bind mounts by fd, read-only from the start. */

static char base[64];
static int root_fd = -EBADF;

static int setup(void **state) {
        snprintf(base, sizeof(base), "/var/tmp/test-mount-util.XXXXXX");
        assert_non_null(mkdtemp(base));
        root_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root_fd >= 0);
        assert_int_equal(mkdirat(root_fd, "etc", 0755), 0);
        /* Symlinks that would leave the tree if they were followed on the host. */
        assert_int_equal(symlinkat("/etc", root_fd, "abs"), 0);
        assert_int_equal(symlinkat("../../..", root_fd, "up"), 0);
        return 0;
}

static int teardown(void **state) {
        safe_close(root_fd);
        (void) rm_rf_at(AT_FDCWD, base);
        return 0;
}

static bool exists_at(const char *rel, mode_t type) {
        struct stat st;
        return fstatat(root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) >= 0 && (st.st_mode & S_IFMT) == type;
}

static void test_fd_path(void **state) {
        char b[FD_PATH_MAX];
        assert_string_equal(fd_path(b, 7), "/proc/self/fd/7");
        assert_string_equal(fd_path(b, 2147483647), "/proc/self/fd/2147483647");
}

static void test_open_mount_target(void **state) {
        int fd = -EBADF;
        /* There already. */
        assert_int_equal(open_mount_target(root_fd, "etc", true, &fd), 0);
        struct stat a, b;
        assert_int_equal(fstat(fd, &a), 0);
        assert_int_equal(fstatat(root_fd, "etc", &b, 0), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        fd = safe_close(fd);

        /* Missing: every directory on the way made, the last one a directory or a file. */
        assert_int_equal(open_mount_target(root_fd, "/run/host/notify", false, &fd), 0);
        fd = safe_close(fd);
        assert_true(exists_at("run/host", S_IFDIR));
        assert_true(exists_at("run/host/notify", S_IFREG));
        assert_int_equal(open_mount_target(root_fd, "sys//fs/cgroup/", true, &fd), 0);
        fd = safe_close(fd);
        assert_true(exists_at("sys/fs/cgroup", S_IFDIR));

        /* Symlinks resolve inside the tree: what is made is made there. */
        assert_int_equal(open_mount_target(root_fd, "abs/x", true, &fd), 0);
        fd = safe_close(fd);
        assert_true(exists_at("etc/x", S_IFDIR));
        assert_int_equal(open_mount_target(root_fd, "up/y", false, &fd), 0);
        fd = safe_close(fd);
        assert_true(exists_at("y", S_IFREG));

        /* A "." or ".." on the way to something missing is refused. */
        assert_int_equal(open_mount_target(root_fd, "etc/../z/w", true, &fd), -EINVAL);
        assert_false(exists_at("z", S_IFDIR));
        /* A file where a directory is needed. */
        assert_int_equal(open_mount_target(root_fd, "y/sub", true, &fd), -ENOTDIR);
}

static void test_make_mount_point(void **state) {
        assert_int_equal(make_mount_point(root_fd, "mp-dir", true), 0);
        assert_int_equal(make_mount_point(root_fd, "mp-dir", true), 0); /* there already */
        assert_true(exists_at("mp-dir", S_IFDIR));
        assert_int_equal(make_mount_point(root_fd, "mp-file", false), 0);
        assert_int_equal(make_mount_point(root_fd, "mp-file", false), 0);
        assert_true(exists_at("mp-file", S_IFREG));
        /* A symlink is not followed to make the file. */
        assert_int_equal(make_mount_point(root_fd, "abs", false), 0);
        assert_true(exists_at("etc", S_IFDIR));
}

static void test_bind_fd(void **state) {
        if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0) {
                print_message("no mount namespace of our own (needs root): not tested\n");
                skip();
        }
        /* Nothing of ours reaches the host. */
        assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL), 0);
        /* An fd opened before refers to the mounts of the namespace we left. */
        safe_close(root_fd);
        root_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root_fd >= 0);
        assert_int_equal(mkdirat(root_fd, "src", 0755), 0);
        assert_int_equal(mkdirat(root_fd, "src/sub", 0755), 0);
        int sub = openat(root_fd, "src/sub", O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(sub >= 0);
        char p[FD_PATH_MAX];
        assert_int_equal(mount("tmpfs", fd_path(p, sub), "tmpfs", 0, "mode=0755"), 0);
        safe_close(sub);
        int f = openat(root_fd, "src/sub/on-tmpfs", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(f >= 0);
        safe_close(f);
        int s = openat(root_fd, "src", O_PATH | O_DIRECTORY | O_CLOEXEC), t = -EBADF;
        assert_true(s >= 0);

        /* Read-only from the start, and not recursive: the tmpfs below the source stays out. */
        assert_int_equal(open_mount_target(root_fd, "ro", true, &t), 0);
        assert_int_equal(bind_fd(s, t, false, true), 0);
        t = safe_close(t);
        assert_true(exists_at("ro/sub", S_IFDIR));
        assert_false(exists_at("ro/sub/on-tmpfs", S_IFREG));
        assert_int_equal(openat(root_fd, "ro/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644), -1);
        assert_int_equal(errno, EROFS);

        /* Writable and recursive (not idmapped: -EBADF). */
        assert_int_equal(open_mount_target(root_fd, "rw", true, &t), 0);
        assert_int_equal(bind_fd_idmapped(s, t, true, false, -EBADF), 0);
        t = safe_close(t);
        assert_true(exists_at("rw/sub/on-tmpfs", S_IFREG));
        f = openat(root_fd, "rw/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(f >= 0);
        safe_close(f);
        assert_true(exists_at("src/new", S_IFREG));
        safe_close(s);

        /* Our mount namespace goes with this process; the tree is removed by the teardown. */
        static const char *const mounts[] = {"rw", "ro", "src/sub"};
        for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
                _cleanup_free_ char *m = strjoin(base, "/", mounts[i]);
                assert_int_equal(umount2(m, MNT_DETACH), 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fd_path),
                cmocka_unit_test(test_open_mount_target),
                cmocka_unit_test(test_make_mount_point),
                cmocka_unit_test(test_bind_fd),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
