/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

#include "macro.h"

typedef enum JsonMode {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
        _JSON_MODE_MAX,
        _JSON_MODE_INVALID = -EINVAL,
} JsonMode;

const char *json_mode_to_string(JsonMode m);
JsonMode json_mode_from_string(const char *s); /* or -EINVAL */
DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Prints v to stdout followed by a newline, in the given mode. */
int json_print(json_object *v, JsonMode mode);

/* Adders that return -ENOMEM instead of leaking on failure. */
int json_add_string(json_object *o, const char *key, const char *value); /* NULL → null */
int json_add_bool(json_object *o, const char *key, bool value);
int json_add_u64(json_object *o, const char *key, uint64_t value, bool null_if_max);
