/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The out-of-space line of import and pull (import-space.c): sizes as they are printed, the file
 * system named from /proc/self/mountinfo (checked against findmnt's view of the same mount), the
 * fallback for a descriptor no mount matches, and the line itself. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "diag.h"
#include "fd-util.h"
#include "import-space.h"
#include "util.h"

static void test_space_size(void **state) {
        char b[SPACE_SIZE_MAX];
        assert_string_equal(space_size(b, sizeof(b), 0), "0.0 MiB");
        assert_string_equal(space_size(b, sizeof(b), 1536 * 1024), "1.5 MiB");
        assert_string_equal(space_size(b, sizeof(b), 120ULL * 1024 * 1024 + 5), "120 MiB");
        assert_string_equal(space_size(b, sizeof(b), 3ULL * 1024 * 1024 * 1024 + 512ULL * 1024 * 1024), "3.5 GiB");
        assert_string_equal(space_size(b, sizeof(b), 20ULL * 1024 * 1024 * 1024), "20 GiB");
        assert_true(import_error_is_space(-ENOSPC));
        assert_true(import_error_is_space(-EDQUOT));
        assert_false(import_error_is_space(-EIO));
}

/* /proc is its own mount: "/proc (proc on proc)", as findmnt names it. */
static void test_describe(void **state) {
        int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        char *d = import_space_describe(fd, "/proc");
        assert_non_null(d);
        assert_string_equal(d, "/proc (proc on proc)");
        free(d);
        assert_true(import_space_free(fd) != UINT64_MAX);
        close(fd);

        /* The mount of the current directory, whatever it is: mount point, type and source. */
        fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        d = import_space_describe(fd, "/fallback");
        assert_non_null(d);
        assert_true(strstr(d, " (") && strstr(d, " on ") && endswith(d, ")"));
        assert_false(startswith(d, "/fallback"));
        free(d);
        close(fd);
}

/* The line replaces an earlier failure (the entry it happened at) and names the file system. */
static void test_fail(void **state) {
        int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        _cleanup_diag_ Diag diag = DIAG_INIT;
        (void) diag_fail(&diag, -ENOSPC, "usr/bin/big", NULL);
        assert_int_equal(import_space_fail(&diag, -ENOSPC, fd, "/proc", "wrote %s", "1.0 MiB"), -ENOSPC);
        assert_null(diag.object);
        assert_string_equal(diag.cause, "no space left on /proc (proc on proc): wrote 1.0 MiB");
        assert_int_equal(import_space_fail(&diag, -EDQUOT, fd, "/proc", "x"), -EDQUOT);
        assert_string_equal(diag.cause, "disk quota exceeded on /proc (proc on proc): x");
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_space_size),
                cmocka_unit_test(test_describe),
                cmocka_unit_test(test_fail),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
