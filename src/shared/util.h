/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include "macro.h"

/* String vectors (NULL-terminated). */
size_t strv_length(char *const *l);
int strv_push(char ***l, char *value);         /* takes value */
int strv_extend(char ***l, const char *value); /* copies value */
bool strv_contains(char *const *l, const char *s);

char *strjoin_real(const char *first, ...);
#define strjoin(...) strjoin_real(__VA_ARGS__, NULL)
bool startswith(const char *s, const char *prefix);
const char *endswith(const char *s, const char *suffix); /* returns start of suffix in s or NULL */

int parse_boolean(const char *v);             /* 1, 0 or -EINVAL */
int parse_size(const char *s, uint64_t *ret); /* "64M", "1G", bytes; base 1024 */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atoi(const char *s, int *ret);
int unhexchar(char c); /* 0…15, or -EINVAL */
int unhexmem(const char *s, size_t len, void **ret, size_t *ret_len);
char *hexmem(const void *p, size_t n);

/* Buffers for human-readable output. */
#define FORMAT_BYTES_MAX 16
const char *format_bytes(char *buf, size_t l, uint64_t bytes);
#define FORMAT_TIMESTAMP_MAX 64
const char *format_timestamp(char *buf, size_t l, uint64_t sec); /* local time, "Mon 2026-11-30 10:11:12 UTC" */

/* Image names: what may appear as a file name in the image root. */
#define IMAGE_NAME_MAX 255
bool image_name_is_valid(const char *s);
/* Why a name is not valid, for the one-line error; NULL when it is valid. */
const char *image_name_invalid_reason(const char *s);

/* A copy of s safe to print on one line: control characters, backslash and non-UTF-8-looking bytes
 * are written as \xNN, and the result is cut at max bytes with "…". */
char *printable(const char *s, size_t max);

/* Random bytes as a hex string of 2*n characters, for temporary names. */
int random_hex(size_t n, char **ret);

/* Signals: SIGINT/SIGTERM/SIGHUP set a flag (no SA_RESTART, so blocking calls return EINTR);
 * long operations poll interrupted() and unwind through their normal error paths. */
int install_interrupt_handlers(void);
bool interrupted(void);
int interrupted_signal(void);

/* Whether name is PREFIX followed by the PID of a process that no longer exists (and '-' or '.'):
 * an entry (a cgroup, a socket, a mount point) left by a cowpen that was killed. */
bool name_owner_is_gone(const char *name, const char *prefix);

