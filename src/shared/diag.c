/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diag.h"
#include "fd-util.h"

int diag_failv(Diag *d, int r, const char *object, const char *format, va_list ap) {
        if (r >= 0)
                r = -EIO;
        if (!d)
                return r;
        if (d->error < 0) {
                /* The first failure explains; an outer caller may only name what it concerns. */
                if (!d->object && object) {
                        d->object = strdup(object);
                        free(d->message); /* says something else now */
                        d->message = NULL;
                }
                return d->error;
        }
        d->error = r;
        free(d->object);
        free(d->cause);
        free(d->message);
        d->object = object ? strdup(object) : NULL;
        d->cause = d->message = NULL;
        /* "%m" in the format is the error recorded, as in log_*_errno(). */
        int saved = errno;
        errno = -r;
        if (format && vasprintf(&d->cause, format, ap) < 0)
                d->cause = NULL;
        errno = saved;
        return r;
}

int diag_fail(Diag *d, int r, const char *object, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        r = diag_failv(d, r, object, format, ap);
        va_end(ap);
        return r;
}

int diag_warn(Diag *d, const char *format, ...) {
        if (!d)
                return 0;
        char *w;
        va_list ap;
        va_start(ap, format);
        int n = vasprintf(&w, format, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        char **l = realloc(d->warnings, (d->n_warnings + 2) * sizeof(char *));
        if (!l) {
                free(w);
                return -ENOMEM;
        }
        l[d->n_warnings++] = w;
        l[d->n_warnings] = NULL;
        d->warnings = l;
        return 0;
}

const char *diag_message(Diag *d) {
        if (!d || (!d->object && !d->cause))
                return NULL;
        if (d->message) /* made by an earlier call: callers may hold it */
                return d->message;
        if (d->object && d->cause) {
                if (asprintf(&d->message, "%s: %s", d->object, d->cause) < 0) {
                        d->message = NULL;
                        return d->cause;
                }
                return d->message;
        }
        return d->cause ?: d->object;
}

void diag_clear_failure(Diag *d) {
        if (!d)
                return;
        free(d->object);
        free(d->cause);
        free(d->message);
        d->object = d->cause = d->message = NULL;
        d->error = 0;
}

void diag_done(Diag *d) {
        if (!d)
                return;
        diag_clear_failure(d);
        strv_free(d->warnings);
        *d = (Diag) DIAG_INIT;
}

typedef struct ChildFailure {
        int error;
        char message[512];
} ChildFailure;

int diag_fork_wait(const char *what, int (*fn)(void *userdata, Diag *diag), void *userdata, Diag *diag) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return diag_fail(diag, negative_errno(), NULL, "pipe: %m");
        pid_t pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                safe_close(p[0]);
                safe_close(p[1]);
                return diag_fail(diag, r, NULL, "fork: %m");
        }
        if (pid == 0) {
                safe_close(p[0]);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                Diag cd = DIAG_INIT;
                int r = fn(userdata, &cd);
                if (r < 0) {
                        ChildFailure f = {.error = r};
                        snprintf(f.message, sizeof(f.message), "%s", diag_message(&cd) ?: "");
                        (void) loop_write(p[1], &f, sizeof(f));
                }
                _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }
        safe_close(p[1]);
        ChildFailure f = {};
        ssize_t n = loop_read(p[0], &f, sizeof(f));
        safe_close(p[0]);
        int status = 0;
        (void) waitpid(pid, &status, 0);
        if (n == (ssize_t) sizeof(f) && f.error < 0) {
                f.message[sizeof(f.message) - 1] = 0;
                return diag_fail(diag, f.error, NULL, "%s", f.message[0] ? f.message : strerror(-f.error));
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return diag_fail(diag, -EIO, NULL, "the %s process died", what);
        return 0;
}
