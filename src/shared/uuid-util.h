/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* UUIDs and 128-bit ids (machine-id), 16 bytes in string order. */

#include "macro.h"

#define UUID_STRING_MAX 37  /* "01234567-89ab-cdef-0123-456789abcdef" and the NUL */
#define ID128_STRING_MAX 33 /* "0123456789abcdef0123456789abcdef" and the NUL */

/* 32 hex digits of either case; dashes anywhere among them are ignored, so both the
 * 8-4-4-4-12 form and the plain digits are taken (as every parser of the tree always did). The
 * null UUID is valid here: callers for which it means "none" check uuid_is_null(). -EINVAL else. */
int uuid_from_string(const char *s, uint8_t ret[static 16]);
/* Lower-case 8-4-4-4-12. */
void uuid_format(const uint8_t u[static 16], char buf[static UUID_STRING_MAX]);
/* Lower-case 32 hex digits, no dashes (as /etc/machine-id holds it, without the newline). */
void id128_format(const uint8_t u[static 16], char buf[static ID128_STRING_MAX]);
bool uuid_is_null(const uint8_t u[static 16]);
