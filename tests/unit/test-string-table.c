/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* string-table.h: the lookup, the generated to_string/from_string pair and its boolean variant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "string-table.h"

typedef enum Fruit {
        FRUIT_APPLE,
        FRUIT_PEAR,
        FRUIT_HOLE, /* no string: a hole in the table */
        FRUIT_PLUM,
        _FRUIT_MAX,
        _FRUIT_INVALID = -EINVAL,
} Fruit;

/* Generated functions are not static: declared here as a header would. */
const char *fruit_to_string(Fruit f);
Fruit fruit_from_string(const char *s);
const char *mode_to_string(Fruit f);
Fruit mode_from_string(const char *s);
Fruit only_from_string(const char *s);

static const char *const fruit_table[_FRUIT_MAX] = {
        [FRUIT_APPLE] = "apple",
        [FRUIT_PEAR] = "pear",
        [FRUIT_PLUM] = "plum",
};
DEFINE_STRING_TABLE_LOOKUP(fruit, Fruit);

/* yes and no need not be the first entries. */
static const char *const mode_table[_FRUIT_MAX] = {
        [FRUIT_APPLE] = "auto",
        [FRUIT_PEAR] = "off",
        [FRUIT_PLUM] = "on-demand",
};
DEFINE_STRING_TABLE_LOOKUP_WITH_BOOLEAN(mode, Fruit, FRUIT_PLUM, FRUIT_PEAR);

static const char *const only_table[_FRUIT_MAX] = {
        [FRUIT_HOLE] = "hole",
};
DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(only, Fruit);

static void test_lookup(void **state) {
        static const char *const t[] = {"a", NULL, "c"};
        assert_int_equal(string_table_lookup(t, ELEMENTSOF(t), "a"), 0);
        assert_int_equal(string_table_lookup(t, ELEMENTSOF(t), "c"), 2);
        assert_int_equal(string_table_lookup(t, ELEMENTSOF(t), "b"), -EINVAL);
        assert_int_equal(string_table_lookup(t, ELEMENTSOF(t), ""), -EINVAL);
        assert_int_equal(string_table_lookup(t, ELEMENTSOF(t), NULL), -EINVAL);
        assert_int_equal(string_table_lookup(t, 0, "a"), -EINVAL);
        assert_int_equal(string_table_lookup_with_boolean(t, ELEMENTSOF(t), "yes", 7, 8), 7);
        assert_int_equal(string_table_lookup_with_boolean(t, ELEMENTSOF(t), "0", 7, 8), 8);
        assert_int_equal(string_table_lookup_with_boolean(t, ELEMENTSOF(t), "c", 7, 8), 2);
        assert_int_equal(string_table_lookup_with_boolean(t, ELEMENTSOF(t), "maybe", 7, 8), -EINVAL);
        assert_int_equal(string_table_lookup_with_boolean(t, ELEMENTSOF(t), NULL, 7, 8), -EINVAL);
}

static void test_to_string(void **state) {
        assert_string_equal(fruit_to_string(FRUIT_APPLE), "apple");
        assert_string_equal(fruit_to_string(FRUIT_PLUM), "plum");
        assert_null(fruit_to_string(FRUIT_HOLE));
        assert_null(fruit_to_string(_FRUIT_MAX));
        assert_null(fruit_to_string(_FRUIT_INVALID));
        assert_null(fruit_to_string((Fruit) -1));
}

static void test_from_string(void **state) {
        assert_int_equal(fruit_from_string("apple"), FRUIT_APPLE);
        assert_int_equal(fruit_from_string("pear"), FRUIT_PEAR);
        assert_int_equal(fruit_from_string("plum"), FRUIT_PLUM);
        assert_int_equal(fruit_from_string("Plum"), -EINVAL); /* exact spellings only */
        assert_int_equal(fruit_from_string("plum "), -EINVAL);
        assert_int_equal(fruit_from_string(""), -EINVAL);
        assert_int_equal(fruit_from_string(NULL), -EINVAL);
        assert_int_equal(fruit_from_string("yes"), -EINVAL); /* no booleans without the variant */
        assert_int_equal(only_from_string("hole"), FRUIT_HOLE);
        assert_int_equal(only_from_string("apple"), -EINVAL);
}

static void test_with_boolean(void **state) {
        assert_string_equal(mode_to_string(FRUIT_PLUM), "on-demand");
        assert_int_equal(mode_from_string("auto"), FRUIT_APPLE);
        assert_int_equal(mode_from_string("off"), FRUIT_PEAR); /* the table's own "off" first */
        assert_int_equal(mode_from_string("on-demand"), FRUIT_PLUM);
        static const char *const truths[] = {"1", "yes", "y", "true", "t", "on"};
        static const char *const untruths[] = {"0", "no", "n", "false", "f"};
        for (size_t i = 0; i < ELEMENTSOF(truths); i++)
                assert_int_equal(mode_from_string(truths[i]), FRUIT_PLUM);
        for (size_t i = 0; i < ELEMENTSOF(untruths); i++)
                assert_int_equal(mode_from_string(untruths[i]), FRUIT_PEAR);
        assert_int_equal(mode_from_string("YES"), -EINVAL);
        assert_int_equal(mode_from_string("sometimes"), -EINVAL);
        assert_int_equal(mode_from_string(NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lookup),
                cmocka_unit_test(test_to_string),
                cmocka_unit_test(test_from_string),
                cmocka_unit_test(test_with_boolean),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
