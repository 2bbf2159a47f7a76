/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <string.h>

#include "log.h"

_Static_assert(EUSAGE > 4095, "EUSAGE must lie outside the kernel's error numbers");

static LogLevel max_level = LOG_LEVEL_INFO;

void log_set_max_level(LogLevel level) {
        max_level = level;
}

LogLevel log_get_max_level(void) {
        return max_level;
}

int log_full_errno(LogLevel level, int error, const char *format, ...) {
        int r = error < 0 ? error : -(error ?: EIO);

        if (level > max_level)
                return r;

        /* One write per message so that concurrent processes don't interleave halves of lines;
         * %m is handled by vsnprintf through errno. */
        char buf[4096];
        va_list ap;
        int saved = errno;
        if (error != 0)
                errno = error < 0 ? -error : error;
        if (errno == EUSAGE)
                errno = EINVAL;
        va_start(ap, format);
        int n = vsnprintf(buf, sizeof(buf) - 1, format, ap);
        va_end(ap);
        errno = saved;
        if (n < 0)
                return r;
        if ((size_t) n > sizeof(buf) - 2)
                n = sizeof(buf) - 2;
        buf[n++] = '\n';
        fflush(stdout);
        /* Errors and warnings name the program; progress and info lines do not. */
        if (level <= LOG_LEVEL_WARNING)
                dprintf(STDERR_FILENO, "cowpen: %.*s", n, buf);
        else
                dprintf(STDERR_FILENO, "%.*s", n, buf);
        return r;
}

int log_diag_full(LogLevel level, int error, Diag *d, const char *format, ...) {
        char prefix[2048];
        va_list ap;
        int saved = errno;
        va_start(ap, format);
        int n = vsnprintf(prefix, sizeof(prefix), format, ap);
        va_end(ap);
        errno = saved;
        if (n < 0)
                prefix[0] = 0;
        const char *detail = diag_message(d);
        if (detail)
                return log_full_errno(level, error, "%s: %s", prefix, detail);
        return log_full_errno(level, error, "%s: %m", prefix);
}
