/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uuid-util.h: the one UUID parser (every spelling its three former copies took) and formatters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "uuid-util.h"

static const uint8_t ROOT_X86[16] = {
        0x4f, 0x68, 0xbc, 0xe3, 0xe8, 0xcd, 0x4d, 0xb1, 0x96, 0xe7, 0xfb, 0xca, 0xf9, 0x84, 0xb7, 0x09};

static void test_parse(void **state) {
        static const char *const good[] = {
                "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", /* canonical */
                "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", /* upper case */
                "4f68bce3e8cd4db196e7fbcaf984b709",     /* plain, as machine-id */
                "4f68-bce3e8cd4db196e7fbcaf984b709",    /* dashes between byte pairs (verity's --uuid) */
                "4-f68bce3e8cd4db196e7fbcaf984b709-",   /* and between digits (run's --uuid, MachineID=) */
                "--4f68bce3e8cd4db196e7fbcaf984b709",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                uint8_t u[16] = {};
                assert_int_equal(uuid_from_string(good[i], u), 0);
                assert_memory_equal(u, ROOT_X86, 16);
        }
        static const char *const bad[] = {
                "",
                "-",
                "4f68bce3-e8cd-4db1-96e7-fbcaf984b70",   /* 31 digits */
                "4f68bce3-e8cd-4db1-96e7-fbcaf984b7090", /* 33 digits */
                "4f68bce3-e8cd-4db1-96e7-fbcaf984b7g9",  /* not hex */
                "4f68bce3 e8cd-4db1-96e7-fbcaf984b709",  /* a space */
                "{4f68bce3-e8cd-4db1-96e7-fbcaf984b709}",
                "0x4f68bce3e8cd4db196e7fbcaf984b7",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                uint8_t u[16] = {1};
                assert_int_equal(uuid_from_string(bad[i], u), -EINVAL);
                assert_int_equal(u[0], 1); /* untouched on failure */
        }
        uint8_t u[16];
        assert_int_equal(uuid_from_string(NULL, u), -EINVAL);
        /* The null UUID parses; whether it means "none" is the caller's business. */
        assert_int_equal(uuid_from_string("00000000-0000-0000-0000-000000000000", u), 0);
        assert_true(uuid_is_null(u));
        assert_false(uuid_is_null(ROOT_X86));
}

static void test_format(void **state) {
        char s[UUID_STRING_MAX], t[ID128_STRING_MAX];
        uuid_format(ROOT_X86, s);
        assert_string_equal(s, "4f68bce3-e8cd-4db1-96e7-fbcaf984b709");
        id128_format(ROOT_X86, t);
        assert_string_equal(t, "4f68bce3e8cd4db196e7fbcaf984b709");
        uint8_t u[16];
        assert_int_equal(uuid_from_string(s, u), 0);
        assert_memory_equal(u, ROOT_X86, 16);
        assert_int_equal(uuid_from_string(t, u), 0);
        assert_memory_equal(u, ROOT_X86, 16);
        static const uint8_t ff[16] = {
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        uuid_format(ff, s);
        assert_string_equal(s, "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
