/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* String tables of enums, with one return convention for all of them (systemd's
 * DEFINE_STRING_TABLE_LOOKUP): NAME_to_string(value) returns the table's string, or NULL out of
 * range (and for a hole in the table); NAME_from_string(s) returns the value, or -EINVAL for NULL
 * and for a string that is not in the table. The enum has a member _NAME_INVALID = -EINVAL, so
 * that the error fits its type.
 *
 * The table comes first, indexed by the enum, named NAME_table:
 *
 *   static const char *const volatile_mode_table[_VOLATILE_MODE_MAX] = { [VOLATILE_NO] = "no", … };
 *   DEFINE_STRING_TABLE_LOOKUP_WITH_BOOLEAN(volatile_mode, VolatileMode, VOLATILE_YES, VOLATILE_NO);
 *
 * The _WITH_BOOLEAN variants also take what parse_boolean() takes ("yes", "on", "1", "no", …) for
 * the values yes and no, after the table's own strings. */

#include <sys/types.h>

#include "macro.h"

/* The index of s among the n entries of table (NULL entries are holes), or -EINVAL. */
ssize_t string_table_lookup(const char *const *table, size_t n, const char *s);
/* The same, then a boolean spelling as yes or no; -EINVAL when s is neither. */
ssize_t string_table_lookup_with_boolean(const char *const *table, size_t n, const char *s, ssize_t yes, ssize_t no);

#define DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                                                              \
        const char *name##_to_string(type i) {                                                                        \
                if (i < 0 || (size_t) i >= ELEMENTSOF(name##_table))                                                  \
                        return NULL;                                                                                  \
                return name##_table[i];                                                                               \
        }

#define DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)                                                            \
        type name##_from_string(const char *s) {                                                                      \
                return (type) string_table_lookup(name##_table, ELEMENTSOF(name##_table), s);                         \
        }

#define DEFINE_STRING_TABLE_LOOKUP_FROM_STRING_WITH_BOOLEAN(name, type, yes, no)                                      \
        type name##_from_string(const char *s) {                                                                      \
                return (type) string_table_lookup_with_boolean(                                                       \
                        name##_table, ELEMENTSOF(name##_table), s, (yes), (no));                                      \
        }

#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                                                        \
        DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                                                              \
        DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)

#define DEFINE_STRING_TABLE_LOOKUP_WITH_BOOLEAN(name, type, yes, no)                                                  \
        DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                                                              \
        DEFINE_STRING_TABLE_LOOKUP_FROM_STRING_WITH_BOOLEAN(name, type, yes, no)
