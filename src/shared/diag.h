/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>

#include "macro.h"

/* The one way a library layer hands the detail of a failure up to the verb layer, which prints it
 * once (library layers never print). It follows crun's libcrun_error_t and systemd's "-errno plus
 * one detail": a function that has more to say than an errno takes "Diag *diag" as its last
 * parameter (NULL when the caller does not care). On failure it returns -errno and records, where
 * it knows them, the cause (a short phrase without the object, "symlink leaves the tree") and the
 * object it concerns (a path, an archive entry, a field or key), so that the verb can write
 * "Failed to import 'x': etc/passwd: symlink leaves the tree". Warnings (what succeeded with a
 * repair, or with something left out) are collected in the same struct, in order.
 *
 * The innermost failure is the one that explains: diag_fail() keeps the first failure recorded
 * and later calls only fill in an object the first one lacked. */

typedef struct Diag {
        int error;       /* the -errno recorded with the failure, 0 when none */
        char *object;    /* NULL when the failure concerns the call's object as a whole */
        char *cause;     /* NULL when the errno says it all */
        char **warnings; /* NULL-terminated; NULL when there are none */
        size_t n_warnings;
        char *message;   /* diag_message()'s buffer */
} Diag;

#define DIAG_INIT {}

/* Records a failure: r (negative; -EIO when r >= 0), the object (may be NULL) and the cause
 * (format may be NULL; "%m" in it is strerror(-r), as in log_*_errno()). Keeps an earlier
 * failure's cause; gives an earlier failure without object this object. d may be NULL. Returns the
 * recorded error, so that "return diag_fail(d, r, …);" works. Out of memory while recording loses
 * the detail, never the error. */
int diag_fail(Diag *d, int r, const char *object, const char *format, ...) _printf_(4, 5);
int diag_failv(Diag *d, int r, const char *object, const char *format, va_list ap) _printf_(4, 0);

/* Appends a warning. d may be NULL. Returns 0 or -ENOMEM. */
int diag_warn(Diag *d, const char *format, ...) _printf_(2, 3);

/* Whether a failure was recorded. */
static inline bool diag_failed(const Diag *d) {
        return d && d->error < 0;
}

/* The detail as one phrase, "object: cause", "cause" or "object"; NULL when nothing was recorded
 * beyond the errno. Valid until the failure changes (diag_fail(), diag_clear_failure()) or
 * diag_done(); calling it again returns the same string. */
const char *diag_message(Diag *d);

/* Forgets the failure (keeps the warnings), for a caller that handles it and goes on. */
void diag_clear_failure(Diag *d);

/* Frees everything and resets d to DIAG_INIT. d may be NULL. */
void diag_done(Diag *d);
static inline void diag_donep(Diag *d) {
        diag_done(d);
}
#define _cleanup_diag_ _cleanup_(diag_donep)

/* Runs fn(userdata, child_diag) in a forked child (killed if the caller dies) and waits for it.
 * What fn returns below 0 comes back with its Diag's message (or strerror()) as the caller's
 * failure; a child that dies without saying why fails with "the <what> process died". For work
 * that must change what only a process of its own may change (namespace, fsuid). */
int diag_fork_wait(const char *what, int (*fn)(void *userdata, Diag *diag), void *userdata, Diag *diag);
