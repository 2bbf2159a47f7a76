/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <signal.h>
#include <unistd.h>

#include "diag.h"
#include "log.h"

static void test_fail_records_first(void **state) {
        _cleanup_diag_ Diag d = DIAG_INIT;
        assert_false(diag_failed(&d));
        assert_null(diag_message(&d));
        assert_int_equal(diag_fail(&d, -ELOOP, NULL, "symlink leaves the tree"), -ELOOP);
        assert_true(diag_failed(&d));
        assert_string_equal(diag_message(&d), "symlink leaves the tree");
        /* an outer caller names the object, but neither replaces the cause nor the error */
        assert_int_equal(diag_fail(&d, -EIO, "etc/passwd", "read failed"), -ELOOP);
        assert_string_equal(diag_message(&d), "etc/passwd: symlink leaves the tree");
        /* a second call gives the same string: a caller may use both (it was freed, once) */
        const char *m1 = diag_message(&d), *m2 = diag_message(&d);
        assert_ptr_equal(m1, m2);
        assert_string_equal(m1, "etc/passwd: symlink leaves the tree");
        assert_int_equal(diag_fail(&d, -EIO, "other", NULL), -ELOOP);
        assert_string_equal(d.object, "etc/passwd");
}

static void test_fail_null_and_nonnegative(void **state) {
        assert_int_equal(diag_fail(NULL, -EPERM, "x", "y %d", 1), -EPERM);
        _cleanup_diag_ Diag d = DIAG_INIT;
        assert_int_equal(diag_fail(&d, 0, NULL, NULL), -EIO);
        assert_null(diag_message(&d)); /* errno only */
        diag_clear_failure(&d);
        assert_false(diag_failed(&d));
        assert_int_equal(diag_fail(&d, -E2BIG, "entry", NULL), -E2BIG);
        assert_string_equal(diag_message(&d), "entry");
}

/* "%m" in a cause is the error being recorded, whatever errno was; errno is left as it was. */
static void test_fail_percent_m(void **state) {
        _cleanup_diag_ Diag d = DIAG_INIT;
        errno = EPERM;
        assert_int_equal(diag_fail(&d, -ENOENT, NULL, "mount point %s: %m", "dev"), -ENOENT);
        assert_string_equal(diag_message(&d), "mount point dev: No such file or directory");
        assert_int_equal(errno, EPERM);
        diag_clear_failure(&d);
        assert_int_equal(diag_fail(&d, 0, NULL, "%m"), -EIO);
        assert_string_equal(diag_message(&d), "Input/output error");
}

static void test_warnings(void **state) {
        _cleanup_diag_ Diag d = DIAG_INIT;
        assert_int_equal(diag_warn(NULL, "x"), 0);
        assert_int_equal(diag_warn(&d, "a %s", "one"), 0);
        assert_int_equal(diag_warn(&d, "b"), 0);
        assert_int_equal(d.n_warnings, 2);
        assert_string_equal(d.warnings[0], "a one");
        assert_string_equal(d.warnings[1], "b");
        assert_null(d.warnings[2]);
        (void) diag_fail(&d, -EINVAL, NULL, "bad");
        diag_clear_failure(&d);
        assert_int_equal(d.n_warnings, 2); /* clearing the failure keeps the warnings */
        diag_done(&d);
        assert_null(d.warnings);
        assert_int_equal(d.n_warnings, 0);
}

static char *capture_stderr(void (*f)(Diag *), Diag *d) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        int saved = dup(STDERR_FILENO);
        assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
        f(d);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        close(p[1]);
        static char buf[512];
        memset(buf, 0, sizeof(buf));
        assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
        close(p[0]);
        return buf;
}

static void log_it(Diag *d) {
        assert_int_equal(log_diag_error(-ENOENT, d, "Failed to open '%s'", "img"), -ENOENT);
}

static void test_log_diag(void **state) {
        _cleanup_diag_ Diag d = DIAG_INIT;
        assert_string_equal(capture_stderr(log_it, &d), "cowpen: Failed to open 'img': No such file or directory\n");
        (void) diag_fail(&d, -ENOENT, "root.hash", "missing");
        assert_string_equal(capture_stderr(log_it, &d), "cowpen: Failed to open 'img': root.hash: missing\n");
        assert_string_equal(capture_stderr(log_it, NULL), "cowpen: Failed to open 'img': No such file or directory\n");
}

static int child_fails(void *userdata, Diag *diag) {
        /* Changes made here stay in the child. */
        *(int *) userdata = 1;
        return diag_fail(diag, -ENOTDIR, "etc/x", "a directory goes onto a directory");
}

static int child_fails_bare(void *userdata, Diag *diag) {
        return -EROFS;
}

static int child_succeeds(void *userdata, Diag *diag) {
        return *(int *) userdata == 0 ? 0 : -EINVAL;
}

static int child_dies(void *userdata, Diag *diag) {
        raise(SIGKILL);
        return 0;
}

static void test_fork_wait(void **state) {
        int touched = 0;
        _cleanup_diag_ Diag d = DIAG_INIT;
        assert_int_equal(diag_fork_wait("test", child_succeeds, &touched, &d), 0);
        assert_false(diag_failed(&d));
        assert_int_equal(diag_fork_wait("test", child_fails, &touched, &d), -ENOTDIR);
        assert_int_equal(touched, 0);
        assert_string_equal(diag_message(&d), "etc/x: a directory goes onto a directory");
        diag_clear_failure(&d);
        assert_int_equal(diag_fork_wait("test", child_fails_bare, NULL, &d), -EROFS);
        assert_string_equal(diag_message(&d), strerror(EROFS));
        diag_clear_failure(&d);
        assert_int_equal(diag_fork_wait("test", child_dies, NULL, &d), -EIO);
        assert_string_equal(diag_message(&d), "the test process died");
        assert_int_equal(diag_fork_wait("test", child_fails, &touched, NULL), -ENOTDIR);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fail_records_first),
                cmocka_unit_test(test_fail_null_and_nonnegative),
                cmocka_unit_test(test_fail_percent_m),
                cmocka_unit_test(test_warnings),
                cmocka_unit_test(test_log_diag),
                cmocka_unit_test(test_fork_wait),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
