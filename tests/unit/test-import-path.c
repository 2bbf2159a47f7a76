/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tar_path_normalize(): what an archive path may be, and each limit at the limit and limit + 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "tar-extract.h"
#include "util.h"

static void check_ok(const char *in, const char *want) {
        char *out = NULL;
        assert_int_equal(tar_path_normalize(in, NULL, &out, NULL), 0);
        assert_string_equal(out, want);
        free(out);
}

static void check_refused(const char *in, const ImportLimits *l, int err, const char *reason_part) {
        char *out = NULL;
        _cleanup_diag_ Diag d = DIAG_INIT;
        assert_int_equal(tar_path_normalize(in, l, &out, &d), err);
        assert_null(out);
        const char *reason = d.cause;
        assert_non_null(reason);
        assert_non_null(strstr(reason, reason_part));
}

static void test_normalize(void **state) {
        check_ok("etc/passwd", "etc/passwd");
        check_ok("./etc/passwd", "etc/passwd");
        check_ok("etc//passwd/", "etc/passwd");
        check_ok("./././a/./b", "a/b");
        check_ok(".", "");
        check_ok("./", "");
        check_ok("...", "...");
        check_ok("a/..b/c..", "a/..b/c..");
}

static void test_refused(void **state) {
        check_refused("", NULL, -EPERM, "empty");
        check_refused("/etc/passwd", NULL, -EPERM, "absolute");
        check_refused("..", NULL, -EPERM, "..");
        check_refused("../x", NULL, -EPERM, "..");
        check_refused("a/../../x", NULL, -EPERM, "..");
        check_refused("a/b/..", NULL, -EPERM, "..");
        check_refused("a\nb", NULL, -EPERM, "control");
        check_refused("a\x7f", NULL, -EPERM, "control");
        check_refused("a\tb", NULL, -EPERM, "control");
}

static void test_limits(void **state) {
        ImportLimits l = { .max_path = 20, .max_depth = 3 };
        char *out = NULL;
        assert_int_equal(tar_path_normalize("aaaaaaaaaaaaaaaaaaaa", &l, &out, NULL), 0); /* 20: at the limit */
        free(out);
        check_refused("aaaaaaaaaaaaaaaaaaaaa", &l, -ENAMETOOLONG, "longer"); /* 21 */
        out = NULL;
        assert_int_equal(tar_path_normalize("a/b/c", &l, &out, NULL), 0);
        assert_string_equal(out, "a/b/c");
        free(out);
        out = NULL;
        assert_int_equal(tar_path_normalize("./a/./b/c/", &l, &out, NULL), 0); /* "." does not count */
        free(out);
        check_refused("a/b/c/d", &l, -ELOOP, "deeper");

        char name[300];
        memset(name, 'n', 255);
        name[255] = 0;
        out = NULL;
        assert_int_equal(tar_path_normalize(name, NULL, &out, NULL), 0); /* NAME_MAX */
        free(out);
        name[255] = 'n';
        name[256] = 0;
        check_refused(name, NULL, -ENAMETOOLONG, "NAME_MAX");
}

static void test_defaults(void **state) {
        ImportLimits l = import_limits_resolve(NULL);
        assert_int_equal(l.max_entries, IMPORT_DEFAULT_MAX_ENTRIES);
        assert_int_equal(l.max_path, 4096);
        assert_int_equal(l.max_depth, 256);
        assert_int_equal(l.max_total_size, 64ULL << 30);
        ImportLimits mine = { .max_entries = 7 };
        l = import_limits_resolve(&mine);
        assert_int_equal(l.max_entries, 7);
        assert_int_equal(l.max_depth, 256);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_normalize),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_defaults),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
