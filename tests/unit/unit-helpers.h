/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Setup shared by unit tests (not a test itself: meson builds only test-*.c). Include after
 * <cmocka.h>: a fresh directory /var/tmp/NAME.XXXXXX holding "src" (0755) and "dst", both opened
 * as O_DIRECTORY fds, and its removal. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "rm-rf.h"

#define TEST_DIRS_BASE_MAX 64

static inline void test_dirs_make(const char *name, mode_t dst_mode, char base[static TEST_DIRS_BASE_MAX],
                                  int *ret_src, int *ret_dst) {
        int n = snprintf(base, TEST_DIRS_BASE_MAX, "/var/tmp/%s.XXXXXX", name);
        assert_true(n > 0 && n < TEST_DIRS_BASE_MAX);
        assert_non_null(mkdtemp(base));
        int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(b >= 0);
        assert_int_equal(mkdirat(b, "src", 0755), 0);
        assert_int_equal(mkdirat(b, "dst", dst_mode), 0);
        *ret_src = openat(b, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *ret_dst = openat(b, "dst", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(b);
}

/* Removes the directory base with everything below it. */
static inline void test_dir_remove(const char *base) {
        int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(b >= 0);
        assert_int_equal(rm_rf_children(b), 0);
        close(b);
        assert_int_equal(rmdir(base), 0);
}

/* Closes src and dst and removes base with everything below it. */
static inline void test_dirs_remove(const char *base, int *src, int *dst) {
        *src = safe_close(*src);
        *dst = safe_close(*dst);
        test_dir_remove(base);
}
