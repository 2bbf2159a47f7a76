/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "rm-rf.h"
#include "util.h"

static int dir_entries(int dfd) {
        DIR *d = NULL;
        assert_int_equal(opendir_fd(dfd, &d), 0);
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static int make_dir(char path[static 64]) {
        strcpy(path, "/tmp/test-atomic-file.XXXXXX");
        assert_non_null(mkdtemp(path));
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        return dfd;
}

/* The final name shows the old content or the whole new one, never a part, and a file not
 * committed leaves nothing behind. */
static void test_commit_and_abandon(void **state) {
        char path[64];
        _cleanup_close_ int dfd = make_dir(path);
        assert_int_equal(write_file_atomic_at(dfd, "f", "old", 3, 0644, ATOMIC_FILE_SYNC), 0);

        AtomicFile f;
        assert_int_equal(atomic_file_open_at(dfd, "f", 0644, 0, &f), 0);
        assert_int_equal(loop_write(f.fd, "new!", 4), 0);
        assert_int_equal(dir_entries(dfd), 2); /* f and the hidden temporary */
        char *c = NULL;
        size_t n;
        assert_int_equal(read_file_at(dfd, "f", 0, 100, &c, &n), 0);
        assert_string_equal(c, "old");
        free(c);
        atomic_file_done(&f); /* abandoned */
        assert_int_equal(dir_entries(dfd), 1);

        assert_int_equal(atomic_file_open_at(dfd, "f", 0644, 0, &f), 0);
        assert_int_equal(loop_write(f.fd, "new!", 4), 0);
        assert_int_equal(atomic_file_commit(&f), 0);
        atomic_file_done(&f);
        assert_int_equal(dir_entries(dfd), 1);
        assert_int_equal(read_file_at(dfd, "f", 0, 100, &c, &n), 0);
        assert_string_equal(c, "new!");
        free(c);
        atomic_file_done(&f); /* twice is harmless */
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

/* A symlink at the final name is replaced, not written through. */
static void test_replaces_symlink(void **state) {
        char path[64];
        _cleanup_close_ int dfd = make_dir(path);
        assert_int_equal(write_file_atomic_at(dfd, "target", "t", 1, 0600, 0), 0);
        assert_int_equal(symlinkat("target", dfd, "link"), 0);
        assert_int_equal(write_file_atomic_at(dfd, "link", "x", 1, 0644, 0), 0);
        struct stat st;
        assert_int_equal(fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        char *c = NULL;
        size_t n;
        assert_int_equal(read_file_at(dfd, "target", 0, 100, &c, &n), 0);
        assert_string_equal(c, "t");
        free(c);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

static void test_mode_and_names(void **state) {
        char path[64];
        _cleanup_close_ int dfd = make_dir(path);
        mode_t old = umask(077);
        assert_int_equal(write_file_atomic_at(dfd, "exact", "", 0, 0444, ATOMIC_FILE_EXACT_MODE), 0);
        assert_int_equal(write_file_atomic_at(dfd, "masked", "", 0, 0644, 0), 0);
        umask(old);
        struct stat st;
        assert_int_equal(fstatat(dfd, "exact", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0444);
        assert_int_equal(fstatat(dfd, "masked", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        AtomicFile f;
        assert_int_equal(atomic_file_open_at(dfd, "a/b", 0644, 0, &f), -EINVAL);
        assert_int_equal(atomic_file_open_at(dfd, "..", 0644, 0, &f), -EINVAL);
        assert_int_equal(atomic_file_open_at(dfd, "", 0644, 0, &f), -EINVAL);
        assert_int_equal(atomic_file_open("/", 0644, 0, &f), -EISDIR);
        char full[128];
        snprintf(full, sizeof(full), "%s/viapath", path);
        assert_int_equal(write_file_atomic(full, "p", 1, 0644, ATOMIC_FILE_SYNC), 0);
        assert_int_equal(fstatat(dfd, "viapath", &st, 0), 0);
        assert_int_equal(st.st_size, 1);
        snprintf(full, sizeof(full), "%s/missing/x", path);
        assert_int_equal(write_file_atomic(full, "p", 1, 0644, 0), -ENOENT);
        assert_int_equal(dir_entries(dfd), 3);
        assert_int_equal(rm_rf_at(AT_FDCWD, path), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_commit_and_abandon),
                cmocka_unit_test(test_replaces_symlink),
                cmocka_unit_test(test_mode_and_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
