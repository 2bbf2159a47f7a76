/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tree writer (tar-extract.c) on archives written entry by entry here (ustar), for what an
 * export cannot produce: later entries replacing earlier ones. As GNU tar does, a directory the
 * archive made earlier and left empty is replaced by a file or a symlink of the same name, also
 * when it is nested ("a/", "a/b/", then "a/b"): this once failed with EBADF because the fd of
 * the parent directory was closed before it was used. A symlink so made is never followed. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "fd-util.h"
#include "tar-archive.h"
#include "tar-extract.h"
#include "util.h"
#include "unit-helpers.h"

static char base[TEST_DIRS_BASE_MAX];
static int src = -EBADF, dst = -EBADF;

static int setup(void **state) {
        test_dirs_make("test-tar-extract", 0755, base, &src, &dst);
        return 0;
}

static int teardown(void **state) {
        test_dirs_remove(base, &src, &dst);
        return 0;
}

/* An octal field of width bytes: width - 1 digits and a NUL. */
static void octal(uint8_t *field, size_t width, uint64_t v) {
        char b[32];
        int n = snprintf(b, sizeof(b), "%0*llo", (int) width - 1, (unsigned long long) v);
        assert_true(n == (int) width - 1);
        memcpy(field, b, width);
}

/* Appends one ustar header (and data, padded) to the archive in fd. */
static void ustar_add(int fd, const char *name, char type, const char *linkname, mode_t mode, const char *data) {
        uint8_t h[512] = {};
        size_t size = data ? strlen(data) : 0;
        assert_true(strlen(name) < 100 && (!linkname || strlen(linkname) < 100));
        memcpy(h, name, strlen(name));
        octal(h + 100, 8, mode);
        octal(h + 108, 8, 0);
        octal(h + 116, 8, 0);
        octal(h + 124, 12, size);
        octal(h + 136, 12, 1700000000);
        h[156] = (uint8_t) type;
        if (linkname)
                memcpy(h + 157, linkname, strlen(linkname));
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (size_t i = 0; i < sizeof(h); i++)
                sum += h[i];
        octal(h + 148, 7, sum);
        h[155] = ' ';
        assert_int_equal(write(fd, h, sizeof(h)), (ssize_t) sizeof(h));
        if (size > 0) {
                uint8_t block[512] = {};
                for (size_t off = 0; off < size; off += 512) {
                        size_t n = MIN(size - off, sizeof(block));
                        memset(block, 0, sizeof(block));
                        memcpy(block, data + off, n);
                        assert_int_equal(write(fd, block, sizeof(block)), (ssize_t) sizeof(block));
                }
        }
}

static void ustar_end(int fd) {
        static const uint8_t zero[1024];
        assert_int_equal(write(fd, zero, sizeof(zero)), (ssize_t) sizeof(zero));
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
}

typedef struct Mem {
        int fd;
        uint8_t buf[4096];
} Mem;

static ssize_t fd_read_block(void *userdata, const void **ret) {
        Mem *m = userdata;
        ssize_t n = read(m->fd, m->buf, sizeof(m->buf));
        *ret = m->buf;
        return n < 0 ? -errno : n;
}

/* A fresh directory below dst for one test. */
static int subdir(const char *name) {
        assert_int_equal(mkdirat(dst, name, 0755), 0);
        int fd = openat(dst, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

/* Extracts the archive in fd below target_fd; the error reason (if any) in *ret_reason. */
static int extract(int fd, int target_fd, const char **ret_reason, char **ret_entry) {
        static Mem m;
        m.fd = fd;
        TarExtract *x = NULL;
        TarReader *r = NULL;
        assert_int_equal(tar_extract_new(target_fd, NULL, &x), 0);
        assert_int_equal(tar_reader_new(fd_read_block, &m, &r), 0);
        _cleanup_diag_ Diag d = DIAG_INIT;
        int k = tar_extract_run(x, r, &d);
        if (k >= 0)
                k = tar_extract_finish(x);
        static char reason[160];
        snprintf(reason, sizeof(reason), "%s", d.cause ?: "");
        *ret_reason = reason;
        *ret_entry = TAKE_PTR(d.object);
        tar_reader_free(r);
        tar_extract_free(x);
        return k;
}

/* extract(), which must succeed; the test fails naming the entry and why otherwise. */
static void extract_ok(int fd, int target_fd) {
        const char *reason;
        _cleanup_free_ char *entry = NULL;
        int k = extract(fd, target_fd, &reason, &entry);
        if (k < 0)
                fail_msg("extraction failed at \"%s\": %s (%s)", entry ?: "?", reason, strerror(-k));
}

/* "a/", "a/b/", then a regular file "a/b" (and more below "a" after it, through the cached fd
 * stack): GNU tar replaces the empty directory, and so must we. */
static void test_nested_dir_replaced_by_file(void **state) {
        int fd = memfd_create("tar", MFD_CLOEXEC);
        assert_true(fd >= 0);
        ustar_add(fd, "a/", '5', NULL, 0755, NULL);
        ustar_add(fd, "a/b/", '5', NULL, 0755, NULL);
        ustar_add(fd, "a/b", '0', NULL, 0644, "now a file\n");
        ustar_add(fd, "a/c", '0', NULL, 0644, "next to it\n");
        ustar_end(fd);
        int t = subdir("file");
        extract_ok(fd, t);
        struct stat st;
        assert_int_equal(fstatat(t, "a/b", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_size, 11);
        assert_int_equal(fstatat(t, "a/c", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        close(fd);
        close(t);
}

/* "a/", "a/b/", then a symlink "a/b" leading out of the tree: it replaces the directory, and an
 * entry below it afterwards is refused instead of being written through it. */
static void test_nested_dir_replaced_by_symlink(void **state) {
        int fd = memfd_create("tar", MFD_CLOEXEC);
        assert_true(fd >= 0);
        char canary[TEST_DIRS_BASE_MAX + 8];
        snprintf(canary, sizeof(canary), "%s/src", base);
        ustar_add(fd, "a/", '5', NULL, 0755, NULL);
        ustar_add(fd, "a/b/", '5', NULL, 0755, NULL);
        ustar_add(fd, "a/b", '2', canary, 0777, NULL);
        ustar_end(fd);
        int t = subdir("symlink");
        extract_ok(fd, t);
        struct stat st;
        assert_int_equal(fstatat(t, "a/b", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISLNK(st.st_mode));
        close(fd);
        close(t);

        /* The same again with an entry below the symlink: refused, nothing written through it. */
        int dst2 = subdir("symlink-then-below");
        fd = memfd_create("tar", MFD_CLOEXEC);
        assert_true(fd >= 0);
        ustar_add(fd, "a/", '5', NULL, 0755, NULL);
        ustar_add(fd, "a/b/", '5', NULL, 0755, NULL);
        ustar_add(fd, "a/b", '2', canary, 0777, NULL);
        ustar_add(fd, "a/b/victim", '0', NULL, 0644, "through the symlink\n");
        ustar_end(fd);
        const char *reason;
        _cleanup_free_ char *entry = NULL;
        int k = extract(fd, dst2, &reason, &entry);
        assert_true(k < 0);
        assert_string_equal(entry, "a/b/victim");
        assert_string_equal(reason, "path leads through a symlink");
        assert_int_equal(fstatat(src, "victim", &st, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(errno, ENOENT);
        close(fd);
        close(dst2);
}

/* A directory that is not empty is still never replaced. */
static void test_nonempty_dir_not_replaced(void **state) {
        int fd = memfd_create("tar", MFD_CLOEXEC);
        assert_true(fd >= 0);
        int d3 = subdir("nonempty");
        ustar_add(fd, "a/", '5', NULL, 0755, NULL);
        ustar_add(fd, "a/b/", '5', NULL, 0755, NULL);
        ustar_add(fd, "a/b/keep", '0', NULL, 0644, "x");
        ustar_add(fd, "a/b", '0', NULL, 0644, "file");
        ustar_end(fd);
        const char *reason;
        _cleanup_free_ char *entry = NULL;
        assert_int_equal(extract(fd, d3, &reason, &entry), -ENOTEMPTY);
        assert_string_equal(entry, "a/b");
        assert_string_equal(reason, "would replace a non-empty directory");
        close(fd);
        close(d3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nested_dir_replaced_by_file),
                cmocka_unit_test(test_nested_dir_replaced_by_symlink),
                cmocka_unit_test(test_nonempty_dir_not_replaced),
        };
        if (geteuid() != 0) {
                fprintf(stderr, "test-tar-extract needs root (chown)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}
