/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "diag.h"
#include "macro.h"

/* Library layers never print; the verb layer calls these once per failure. Messages go to stderr
 * prefixed with "cowpen: ". "%m" in a format of log_*_errno() expands to strerror(-error). */

typedef enum LogLevel {
        LOG_LEVEL_ERR = 3,
        LOG_LEVEL_WARNING = 4,
        LOG_LEVEL_NOTICE = 5,
        LOG_LEVEL_INFO = 6,
        LOG_LEVEL_DEBUG = 7,
} LogLevel;

void log_set_max_level(LogLevel level);
LogLevel log_get_max_level(void);

/* Returns error (always negative, -EIO when error is 0) so that "return log_error_errno(r, …)" works. */
int log_full_errno(LogLevel level, int error, const char *format, ...) _printf_(3, 4);

#define log_error_errno(error, ...) log_full_errno(LOG_LEVEL_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_LEVEL_WARNING, (error), __VA_ARGS__)
#define log_error(...) ((void) log_full_errno(LOG_LEVEL_ERR, 0, __VA_ARGS__))
#define log_warning(...) ((void) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__))
#define log_notice(...) ((void) log_full_errno(LOG_LEVEL_NOTICE, 0, __VA_ARGS__))
#define log_info(...) ((void) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__))
#define log_debug(...) ((void) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__))

/* A bad command line: log_usage() prints and returns -EUSAGE, which main maps to exit status 2;
 * every other negative value is a failure (exit status 1). The kernel's error numbers end at
 * 4095 (MAX_ERRNO) and the C library's strerror() knows none above, so EUSAGE lies outside them:
 * no failure the kernel or a library reports (EUCLEAN, "Structure needs cleaning", from a damaged
 * file system, say) can ever be taken for bad usage. Only the verb layer (src/cowpen) returns it;
 * "%m" prints it as "Invalid argument". */
#define EUSAGE 0x10000
#define log_usage(...) log_full_errno(LOG_LEVEL_ERR, -EUSAGE, __VA_ARGS__)

/* The verb's one message for a failure that came with a Diag: "<format>: <object>: <cause>", or
 * "<format>: <strerror>" when the diag holds no detail. Returns error as log_full_errno(). */
int log_diag_full(LogLevel level, int error, Diag *d, const char *format, ...) _printf_(4, 5);
#define log_diag_error(error, d, ...) log_diag_full(LOG_LEVEL_ERR, (error), (d), __VA_ARGS__)
#define log_diag_warning(error, d, ...) log_diag_full(LOG_LEVEL_WARNING, (error), (d), __VA_ARGS__)
