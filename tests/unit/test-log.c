/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"

/* EUSAGE must never be an errno the kernel or the C library returns (it was EUCLEAN, so a damaged
 * ext4's "Structure needs cleaning" exited 2, as bad usage). */
static void test_eusage_is_no_errno(void **state) {
        assert_true(EUSAGE > 4095); /* MAX_ERRNO */
        for (int e = 1; e <= 4095; e++)
                assert_int_not_equal(e, EUSAGE);
        char buf[64];
        snprintf(buf, sizeof(buf), "Unknown error %d", EUSAGE);
        assert_string_equal(strerror(EUSAGE), buf); /* the C library knows no such errno */
}

static void test_log_usage_returns_eusage(void **state) {
        log_set_max_level(LOG_LEVEL_ERR - 1); /* silent */
        assert_int_equal(log_usage("x"), -EUSAGE);
        assert_int_equal(log_error_errno(-EUCLEAN, "x"), -EUCLEAN);
        assert_int_not_equal(log_error_errno(-EUCLEAN, "x"), -EUSAGE);
        log_set_max_level(LOG_LEVEL_INFO);
}

/* "%m" of a usage error says "Invalid argument", never "Unknown error 65536". */
static void test_log_usage_percent_m(void **state) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        int saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
        (void) log_full_errno(LOG_LEVEL_ERR, -EUSAGE, "v: %m");
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        close(p[1]);
        char buf[128] = {};
        ssize_t n = read(p[0], buf, sizeof(buf) - 1);
        close(p[0]);
        assert_true(n > 0);
        assert_string_equal(buf, "cowpen: v: Invalid argument\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_eusage_is_no_errno),
                cmocka_unit_test(test_log_usage_returns_eusage),
                cmocka_unit_test(test_log_usage_percent_m),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
