/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "json-util.h"
#include "string-table.h"
#include "util.h"

static const char *const json_mode_table[_JSON_MODE_MAX] = {
        [JSON_OFF] = "off",
        [JSON_SHORT] = "short",
        [JSON_PRETTY] = "pretty",
};
DEFINE_STRING_TABLE_LOOKUP(json_mode, JsonMode);

int json_print(json_object *v, JsonMode mode) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
                    (mode == JSON_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
        const char *s = json_object_to_json_string_ext(v, flags);
        if (!s)
                return -ENOMEM;
        if (fputs(s, stdout) < 0 || fputc('\n', stdout) < 0 || fflush(stdout) != 0)
                return -EIO;
        return 0;
}

static int json_add(json_object *o, const char *key, json_object *v, bool want_value) {
        if (want_value && !v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int json_add_string(json_object *o, const char *key, const char *value) {
        return json_add(o, key, value ? json_object_new_string(value) : NULL, value != NULL);
}

int json_add_bool(json_object *o, const char *key, bool value) {
        return json_add(o, key, json_object_new_boolean(value), true);
}

int json_add_u64(json_object *o, const char *key, uint64_t value, bool null_if_max) {
        if (null_if_max && value == UINT64_MAX)
                return json_add(o, key, NULL, false);
        return json_add(o, key, json_object_new_uint64(value), true);
}
