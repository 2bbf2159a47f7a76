/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "string-table.h"
#include "util.h"

ssize_t string_table_lookup(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (ssize_t) i;
        return -EINVAL;
}

ssize_t string_table_lookup_with_boolean(const char *const *table, size_t n, const char *s, ssize_t yes, ssize_t no) {
        ssize_t i = string_table_lookup(table, n, s);
        if (i >= 0)
                return i;
        int b = parse_boolean(s);
        if (b < 0)
                return -EINVAL;
        return b ? yes : no;
}
