/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "rm-rf.h"

/* open_checked(): a FIFO where a file is required is refused without blocking in open() (run -i
 * on a FIFO hung there); the types asked for are opened, the inode checked is the one opened. */

static char base[64];
static int dir_fd = -EBADF;

static int setup(void **state) {
        snprintf(base, sizeof(base), "/var/tmp/test-fd-util.XXXXXX");
        assert_non_null(mkdtemp(base));
        dir_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dir_fd >= 0);
        assert_int_equal(mkfifoat(dir_fd, "fifo", 0600), 0);
        int fd = openat(dir_fd, "file", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "data", 4), 4);
        close(fd);
        assert_int_equal(mkdirat(dir_fd, "dir", 0755), 0);
        assert_int_equal(symlinkat("file", dir_fd, "link"), 0);
        return 0;
}

static int teardown(void **state) {
        close(dir_fd);
        (void) rm_rf_at(AT_FDCWD, base);
        return 0;
}

static void on_alarm(int sig) {
        (void) sig;
        _exit(99); /* blocked in open(): the fault */
}

static void test_fifo_refused_without_blocking(void **state) {
        signal(SIGALRM, on_alarm);
        alarm(10);
        assert_int_equal(open_checked(dir_fd, "fifo", O_RDONLY, OPEN_REGULAR | OPEN_BLOCK, NULL), -EBADFD);
        assert_int_equal(open_checked(dir_fd, "fifo", O_RDWR, OPEN_REGULAR, NULL), -EBADFD);
        alarm(0);
}

static void test_types(void **state) {
        struct stat st;
        int fd = open_checked(dir_fd, "file", O_RDONLY, OPEN_REGULAR, &st);
        assert_true(fd >= 0);
        assert_true(S_ISREG(st.st_mode));
        char buf[8] = {};
        assert_int_equal(read(fd, buf, sizeof(buf)), 4);
        assert_string_equal(buf, "data");
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
        close(fd);

        fd = open_checked(dir_fd, "file", O_RDWR, OPEN_REGULAR, NULL);
        assert_true(fd >= 0);
        assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
        close(fd);

        assert_int_equal(open_checked(dir_fd, "dir", O_RDONLY, OPEN_REGULAR | OPEN_BLOCK, NULL), -EISDIR);
        assert_int_equal(open_checked(dir_fd, "missing", O_RDONLY, OPEN_REGULAR, NULL), -ENOENT);
        assert_int_equal(open_checked(AT_FDCWD, "/dev/null", O_RDONLY, OPEN_REGULAR | OPEN_BLOCK | OPEN_FIFO, NULL),
                         -EBADFD);
        assert_int_equal(open_checked(dir_fd, "file", O_RDONLY, OPEN_BLOCK, NULL), -EBADFD);
        /* Symlinks are followed unless O_NOFOLLOW. */
        fd = open_checked(dir_fd, "link", O_RDONLY, OPEN_REGULAR, NULL);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(open_checked(dir_fd, "link", O_RDONLY | O_NOFOLLOW, OPEN_REGULAR, NULL), -ELOOP);
        assert_int_equal(open_checked(dir_fd, "file", O_RDWR | O_CREAT, OPEN_REGULAR, NULL), -EINVAL);
}

/* A FIFO is opened when asked for (a stream, as import-tar takes one); a pipe's /proc/self/fd link too. */
static void test_fifo_when_asked(void **state) {
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%i", p[0]);
        int fd = open_checked(AT_FDCWD, path, O_RDONLY, OPEN_REGULAR | OPEN_FIFO, NULL);
        assert_true(fd >= 0);
        assert_int_equal(write(p[1], "x", 1), 1);
        char c = 0;
        assert_int_equal(read(fd, &c, 1), 1);
        assert_int_equal(c, 'x');
        close(fd);
        close(p[0]);
        close(p[1]);
        assert_int_equal(open_checked(AT_FDCWD, path, O_RDONLY, OPEN_REGULAR, NULL), -ENOENT);
}

/* fd_reopen(): the same inode, even after the path names another one. */
static void test_reopen_same_inode(void **state) {
        struct stat a, b;
        int fd = open_checked(dir_fd, "file", O_RDONLY, OPEN_REGULAR, &a);
        assert_true(fd >= 0);
        assert_int_equal(renameat(dir_fd, "fifo", dir_fd, "file2"), 0);
        assert_int_equal(renameat(dir_fd, "file", dir_fd, "fifo"), 0); /* "fifo" is now the file */
        assert_int_equal(renameat(dir_fd, "file2", dir_fd, "file"), 0); /* and "file" the FIFO */
        int w = fd_reopen(fd, O_RDWR);
        assert_true(w >= 0);
        assert_int_equal(fstat(w, &b), 0);
        assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev && S_ISREG(b.st_mode));
        close(w);
        close(fd);
        /* Swap back for the other tests. */
        assert_int_equal(renameat(dir_fd, "fifo", dir_fd, "file2"), 0);
        assert_int_equal(renameat(dir_fd, "file", dir_fd, "fifo"), 0);
        assert_int_equal(renameat(dir_fd, "file2", dir_fd, "file"), 0);
}

static void test_fd_size(void **state) {
        uint64_t size = 0;
        int fd = openat(dir_fd, "file", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(fd_size(fd, &size), 0);
        assert_int_equal(size, 4);
        close(fd);
        /* A block device says 0 in st_size: its size comes from BLKGETSIZE64. */
        fd = open("/dev/loop0", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                uint64_t want = 0;
                assert_int_equal(ioctl(fd, BLKGETSIZE64, &want), 0);
                size = UINT64_MAX;
                assert_int_equal(fd_size(fd, &size), 1);
                assert_int_equal(size, want);
                close(fd);
        }
        /* Anything else: -EBADFD, *ret untouched. */
        fd = openat(dir_fd, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        size = 7;
        assert_int_equal(fd_size(fd, &size), -EBADFD);
        assert_int_equal(size, 7);
        close(fd);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(fd_size(fd, &size), -EBADFD);
        close(fd);
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(fd_size(p[0], &size), -EBADFD);
        close(p[0]);
        close(p[1]);
        assert_int_equal(fd_size(-1, &size), -EBADF);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fifo_refused_without_blocking),
                cmocka_unit_test(test_types),
                cmocka_unit_test(test_fifo_when_asked),
                cmocka_unit_test(test_reopen_same_inode),
                cmocka_unit_test(test_fd_size),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
