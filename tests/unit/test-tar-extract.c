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

static void write_bytes(int fd, const char *c, size_t n) {
        for (size_t i = 0; i < n; i++)
                assert_int_equal(write(fd, c, 1), 1);
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

/* What extract() sets and reports besides the result. */
static bool keep_nesting;
static char moved_up[256];
static uint64_t trailing;     /* bytes after the end of the archive: the reader's and the rest of fd */
static bool trailing_data;    /* some of them not zero */
static bool trailing_tar;     /* they start with another archive */

/* Extracts the archive in fd below target_fd; the error reason (if any) in *ret_reason. */
static int extract(int fd, int target_fd, const char **ret_reason, char **ret_entry) {
        static Mem m;
        m.fd = fd;
        TarExtract *x = NULL;
        TarReader *r = NULL;
        assert_int_equal(tar_extract_new(target_fd, NULL, &x), 0);
        tar_extract_set_keep_nesting(x, keep_nesting);
        assert_int_equal(tar_reader_new(fd_read_block, &m, &r), 0);
        _cleanup_diag_ Diag d = DIAG_INIT;
        int k = tar_extract_run(x, r, &d);
        if (k >= 0)
                k = tar_extract_finish(x);
        snprintf(moved_up, sizeof(moved_up), "%s", k >= 0 && tar_extract_moved_up(x) ? tar_extract_moved_up(x) : "");
        trailing = 0;
        trailing_data = false;
        if (k >= 0) {
                /* As import-tar reads on: the reader's part, then the rest of the stream. */
                trailing = tar_reader_trailing(r, &trailing_data);
                trailing_tar = tar_reader_trailing_archive(r);
                uint8_t b[1000];
                ssize_t n;
                while ((n = read(fd, b, sizeof(b))) > 0) {
                        trailing += (uint64_t) n;
                        for (ssize_t i = 0; i < n; i++)
                                trailing_data = trailing_data || b[i] != 0;
                }
        }
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

/* Archives as real tarballs come: padded to a record size with zeros (not trailing data), with
 * junk appended after the end-of-archive marker (ignored, and said), with only one zero block
 * before the junk, with junk straddling the reader's block boundary (4096 bytes here), and junk
 * where a header is expected (no end marker): that one stays an error. */
static void test_trailing_data(void **state) {
        static const struct {
                const char *name;
                size_t zero_blocks;  /* end-of-archive blocks written */
                size_t pad;          /* zero bytes after them */
                size_t junk;         /* 'J' bytes after those */
                bool fails;
                bool data;
        } cases[] = {
                { "clean", 2, 0, 0, false, false },
                { "padded", 2, 8192, 0, false, false },
                { "junk", 2, 0, 5000, false, true },
                { "pad-then-junk", 2, 300, 1, false, true },
                { "one-zero-block", 1, 0, 700, false, true },
                { "straddling", 2, 4096 - 2048 - 1024 - 10, 100, false, true },
                { "junk-from-next-block", 2, 4096 - 2048 - 1024, 100, false, true },
                { "no-end-marker", 0, 0, 3000, true, false },
        };
        /* Two archives joined with cat: the second is trailing data, and said to be an archive. */
        int cfd = memfd_create("tar", MFD_CLOEXEC);
        assert_true(cfd >= 0);
        for (int k = 0; k < 2; k++) {
                ustar_add(cfd, k == 0 ? "first" : "second", '0', NULL, 0644, "x");
                static const char zero[1024];
                assert_int_equal(write(cfd, zero, sizeof(zero)), (ssize_t) sizeof(zero));
        }
        assert_int_equal(lseek(cfd, 0, SEEK_SET), 0);
        int ct = subdir("concatenated");
        const char *creason;
        _cleanup_free_ char *centry = NULL;
        assert_int_equal(extract(cfd, ct, &creason, &centry), 0);
        assert_true(trailing_data);
        assert_true(trailing_tar);
        assert_int_equal(trailing, 2048);
        struct stat cst;
        assert_int_equal(fstatat(ct, "second", &cst, AT_SYMLINK_NOFOLLOW), -1);
        close(cfd);
        close(ct);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int fd = memfd_create("tar", MFD_CLOEXEC);
                assert_true(fd >= 0);
                /* Two entries: 2048 bytes of archive before the end marker. */
                ustar_add(fd, "etc/", '5', NULL, 0755, NULL);
                ustar_add(fd, "etc/os-release", '0', NULL, 0644, "ID=test\n");
                ustar_add(fd, "f", '0', NULL, 0644, "x");
                static const char zero[512];
                for (size_t z = 0; z < cases[i].zero_blocks; z++)
                        assert_int_equal(write(fd, zero, sizeof(zero)), 512);
                write_bytes(fd, "", cases[i].pad);
                write_bytes(fd, "J", cases[i].junk);
                assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
                int t = subdir(cases[i].name);
                const char *reason;
                _cleanup_free_ char *entry = NULL;
                int k = extract(fd, t, &reason, &entry);
                if (cases[i].fails) {
                        assert_int_equal(k, -EBADMSG);
                        assert_string_equal(reason, "corrupt archive");
                } else {
                        if (k < 0)
                                fail_msg("%s: %s", cases[i].name, strerror(-k));
                        if (trailing_data != cases[i].data)
                                fail_msg("%s: trailing data %s", cases[i].name, trailing_data ? "seen" : "missed");
                        assert_false(trailing_tar);
                        assert_int_equal(trailing, cases[i].pad + cases[i].junk);
                        struct stat st;
                        assert_int_equal(fstatat(t, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
                }
                close(fd);
                close(t);
        }
}

/* The move-up of a nested OS tree, by systemd's rule, and what must not trigger it or use it. */
static void test_nesting(void **state) {
        char canary[TEST_DIRS_BASE_MAX + 8];
        snprintf(canary, sizeof(canary), "%s/src", base);
        static const struct {
                const char *name;
                const char *moved;   /* the top directory moved out of, "" when none */
                const char *exists;  /* what the tree then has */
        } cases[] = {
                { "rootfs", "rootfs", "etc/os-release" },
                { "dot-slash", "debian-12", "usr/lib/os-release" },
                { "usr-in-usr", "usr", "usr/lib/os-release" },
                { "etc-symlink", "top", "etc/os-release" },
                { "keep", "", "rootfs/etc/os-release" },
                { "no-os-release", "", "top/etc/passwd" },
                { "stray-file", "", "stray" },
                { "symlink-top", "", "top" },
                { "root-is-os-tree", "", "etc/os-release" },
                { "escaping-marker", "", "top/etc/os-release" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *n = cases[i].name;
                int fd = memfd_create("tar", MFD_CLOEXEC);
                assert_true(fd >= 0);
                keep_nesting = streq(n, "keep");
                if (streq(n, "rootfs") || streq(n, "keep")) {
                        ustar_add(fd, "rootfs/", '5', NULL, 0711, NULL);
                        ustar_add(fd, "rootfs/etc/os-release", '0', NULL, 0644, "ID=test\n");
                        ustar_add(fd, "rootfs/usr/bin/true", '0', NULL, 0755, "");
                } else if (streq(n, "dot-slash"))
                        ustar_add(fd, "./debian-12/usr/lib/os-release", '0', NULL, 0644, "ID=debian\n");
                else if (streq(n, "usr-in-usr")) {
                        /* The top directory's name is one of its children's. */
                        ustar_add(fd, "usr/usr/lib/os-release", '0', NULL, 0644, "ID=test\n");
                        ustar_add(fd, "usr/etc/hostname", '0', NULL, 0644, "h\n");
                } else if (streq(n, "etc-symlink")) {
                        /* Debian's layout: etc/os-release → ../usr/lib/os-release. */
                        ustar_add(fd, "top/usr/lib/os-release", '0', NULL, 0644, "ID=test\n");
                        ustar_add(fd, "top/etc/os-release", '2', "../usr/lib/os-release", 0777, NULL);
                } else if (streq(n, "no-os-release"))
                        ustar_add(fd, "top/etc/passwd", '0', NULL, 0644, "root:x:0:0::/root:/bin/sh\n");
                else if (streq(n, "stray-file")) {
                        ustar_add(fd, "top/etc/os-release", '0', NULL, 0644, "ID=test\n");
                        ustar_add(fd, "stray", '0', NULL, 0644, "x");
                } else if (streq(n, "symlink-top"))
                        /* A single symlink to a directory that is an OS tree (the host's root). */
                        ustar_add(fd, "top", '2', "/", 0777, NULL);
                else if (streq(n, "root-is-os-tree"))
                        /* A single directory "etc": the tree is an OS tree already. */
                        ustar_add(fd, "etc/os-release", '0', NULL, 0644, "ID=test\n");
                else if (streq(n, "escaping-marker"))
                        /* os-release as an absolute symlink: resolved inside the tree, never the host's. */
                        ustar_add(fd, "top/etc/os-release", '2', "/etc/os-release", 0777, NULL);
                ustar_end(fd);
                int t = subdir(n);
                const char *reason;
                _cleanup_free_ char *entry = NULL;
                int k = extract(fd, t, &reason, &entry);
                if (k < 0)
                        fail_msg("%s: %s (%s)", n, reason, strerror(-k));
                if (!streq(moved_up, cases[i].moved))
                        fail_msg("%s: moved up out of \"%s\", expected \"%s\"", n, moved_up, cases[i].moved);
                struct stat st;
                if (fstatat(t, cases[i].exists, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        fail_msg("%s: %s missing", n, cases[i].exists);
                if (*cases[i].moved) {
                        /* Nothing left of the top directory or its temporary name. */
                        DIR *d = fdopendir(openat(t, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                        assert_non_null(d);
                        struct dirent *de;
                        while ((de = readdir(d)))
                                if (startswith(de->d_name, ".#"))
                                        fail_msg("%s: %s left behind", n, de->d_name);
                        closedir(d);
                }
                if (streq(n, "rootfs")) {
                        assert_int_equal(fstat(t, &st), 0);
                        assert_int_equal(st.st_mode & 07777, 0711); /* the top directory's mode */
                }
                if (streq(n, "usr-in-usr"))
                        assert_int_equal(fstatat(t, "etc/hostname", &st, AT_SYMLINK_NOFOLLOW), 0);
                close(fd);
                close(t);
        }
        keep_nesting = false;

        /* A top directory named "..": refused, nothing written outside. */
        int fd = memfd_create("tar", MFD_CLOEXEC);
        assert_true(fd >= 0);
        ustar_add(fd, "../etc/os-release", '0', NULL, 0644, "ID=test\n");
        ustar_end(fd);
        int t = subdir("dotdot");
        const char *reason;
        _cleanup_free_ char *entry = NULL;
        assert_int_equal(extract(fd, t, &reason, &entry), -EPERM);
        assert_string_equal(reason, "path contains \"..\"");
        close(fd);
        close(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nested_dir_replaced_by_file),
                cmocka_unit_test(test_nested_dir_replaced_by_symlink),
                cmocka_unit_test(test_nonempty_dir_not_replaced),
                cmocka_unit_test(test_trailing_data),
                cmocka_unit_test(test_nesting),
        };
        if (geteuid() != 0) {
                fprintf(stderr, "test-tar-extract needs root (chown)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}
