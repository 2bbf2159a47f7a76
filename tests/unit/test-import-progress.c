/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* src/shared/progress.c as import/export use it: ETA formatting, JSON lines (rate-limited, a final
 * record with done/ok), and nothing at all when the bar is asked for but stderr is no terminal. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "progress.h"
#include "util.h"

static void test_eta(void **state) {
        char b[32];
        assert_string_equal(progress_format_eta(b, sizeof(b), 0), "0s");
        assert_string_equal(progress_format_eta(b, sizeof(b), 59), "59s");
        assert_string_equal(progress_format_eta(b, sizeof(b), 65), "1m05s");
        assert_string_equal(progress_format_eta(b, sizeof(b), 3600 + 120), "1h02m");
}

/* Runs f with stderr redirected to a memfd; returns what was written. */
static char *capture_stderr(void (*f)(void)) {
        int m = memfd_create("stderr", MFD_CLOEXEC);
        assert_true(m >= 0);
        int saved = dup(STDERR_FILENO);
        assert_int_equal(dup2(m, STDERR_FILENO), STDERR_FILENO);
        f();
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        off_t n = lseek(m, 0, SEEK_END);
        char *buf = calloc(1, (size_t) n + 1);
        assert_int_equal(pread(m, buf, (size_t) n, 0), n);
        close(m);
        return buf;
}

static void json_run(void) {
        Progress *p = NULL;
        assert_int_equal(progress_new(PROGRESS_JSON, "na\"me", 1000, &p), 0);
        for (int i = 1; i <= 100; i++)
                progress_update(p, (uint64_t) i * 10); /* rate-limited: at most one line a second */
        progress_finish(p, true);
        progress_free(p);
}

static void test_json(void **state) {
        char *out = capture_stderr(json_run);
        unsigned lines = 0;
        for (char *c = out; *c; c++)
                lines += *c == '\n';
        assert_true(lines >= 1 && lines <= 3);
        char *last = strrchr(out, '{');
        assert_non_null(strstr(last, "\"label\":\"na\\\"me\""));
        assert_non_null(strstr(last, "\"bytes\":1000"));
        assert_non_null(strstr(last, "\"total\":1000"));
        assert_non_null(strstr(last, "\"done\":true"));
        assert_non_null(strstr(last, "\"ok\":true"));
        free(out);
}

static void bar_run(void) {
        Progress *p = NULL;
        assert_int_equal(progress_new(PROGRESS_BAR, "x", UINT64_MAX, &p), 0);
        progress_update(p, 5);
        progress_finish(p, false);
        progress_free(p);
}

static void test_bar_needs_terminal(void **state) {
        char *out = capture_stderr(bar_run); /* a memfd is no terminal */
        assert_string_equal(out, "");
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_eta),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_bar_needs_terminal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
