/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "util.h"

struct Progress {
        ProgressMode mode;
        char *label;
        uint64_t total;
        uint64_t start_ns, last_ns;
        uint64_t bytes;
        bool drawn;
        pthread_mutex_t lock;
};

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

int progress_new(ProgressMode mode, const char *label, uint64_t total, Progress **ret) {
        if (mode == PROGRESS_BAR && !isatty(STDERR_FILENO))
                mode = PROGRESS_OFF;
        Progress *p = calloc(1, sizeof(Progress));
        if (!p)
                return -ENOMEM;
        p->label = strdup(label ?: "");
        if (!p->label) {
                free(p);
                return -ENOMEM;
        }
        p->mode = mode;
        p->total = total;
        p->start_ns = now_ns();
        pthread_mutex_init(&p->lock, NULL);
        *ret = p;
        return 0;
}

const char *progress_format_eta(char *buf, size_t l, uint64_t s) {
        if (s >= 3600)
                snprintf(buf, l, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, (s % 3600) / 60);
        else if (s >= 60)
                snprintf(buf, l, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
        else
                snprintf(buf, l, "%" PRIu64 "s", s);
        return buf;
}

static unsigned terminal_width(void) {
        struct winsize w;
        if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) < 0 || w.ws_col < 20)
                return 80;
        return w.ws_col;
}

static void draw(Progress *p, uint64_t t, bool final, bool ok) {
        double elapsed = (double) (t - p->start_ns) / 1e9;
        uint64_t rate = elapsed > 0.05 ? (uint64_t) ((double) p->bytes / elapsed) : 0;
        bool known = p->total != UINT64_MAX && p->total > 0;
        uint64_t eta = UINT64_MAX;
        if (known && rate > 0 && p->bytes <= p->total)
                eta = (p->total - p->bytes) / rate;

        if (p->mode == PROGRESS_JSON) {
                char line[512];
                int n = snprintf(line, sizeof(line), "{\"label\":\"");
                /* The label is ours (a verb and a file name): escape quotes, backslashes and controls. */
                for (const char *c = p->label; *c && n < (int) sizeof(line) - 200; c++) {
                        if (*c == '"' || *c == '\\')
                                n += snprintf(line + n, sizeof(line) - n, "\\%c", *c);
                        else if ((unsigned char) *c < 0x20)
                                n += snprintf(line + n, sizeof(line) - n, "\\u%04x", (unsigned char) *c);
                        else
                                line[n++] = *c;
                }
                n += snprintf(line + n, sizeof(line) - n, "\",\"bytes\":%" PRIu64 ",\"total\":", p->bytes);
                if (known)
                        n += snprintf(line + n, sizeof(line) - n, "%" PRIu64, p->total);
                else
                        n += snprintf(line + n, sizeof(line) - n, "null");
                n += snprintf(line + n, sizeof(line) - n, ",\"rate\":%" PRIu64 ",\"eta\":", rate);
                if (eta != UINT64_MAX && !final)
                        n += snprintf(line + n, sizeof(line) - n, "%" PRIu64, eta);
                else
                        n += snprintf(line + n, sizeof(line) - n, "null");
                n += snprintf(line + n, sizeof(line) - n, ",\"done\":%s", final ? "true" : "false");
                if (final)
                        n += snprintf(line + n, sizeof(line) - n, ",\"ok\":%s", ok ? "true" : "false");
                snprintf(line + n, sizeof(line) - n, "}\n");
                (void) !write(STDERR_FILENO, line, strlen(line));
                return;
        }

        if (final) {
                if (p->drawn)
                        (void) !write(STDERR_FILENO, "\r\033[K", 4);
                p->drawn = false;
                return;
        }
        char b[FORMAT_BYTES_MAX], tb[FORMAT_BYTES_MAX], r[FORMAT_BYTES_MAX], e[32];
        char right[128];
        format_bytes(b, sizeof(b), p->bytes);
        format_bytes(r, sizeof(r), rate);
        if (known)
                snprintf(right, sizeof(right), " %s/%s %s/s ETA %s", b, format_bytes(tb, sizeof(tb), p->total), r,
                         eta == UINT64_MAX ? "-" : progress_format_eta(e, sizeof(e), eta));
        else
                snprintf(right, sizeof(right), " %s %s/s", b, r);
        unsigned width = terminal_width() - 1;
        size_t label_len = MIN(strlen(p->label), (size_t) 30);
        char line[1024];
        int n = snprintf(line, sizeof(line), "\r%.*s ", (int) label_len, p->label);
        int bar = (int) width - (int) label_len - 1 - (int) strlen(right) - 2;
        if (bar > 60)
                bar = 60;
        if (bar >= 10) {
                int fill = known ? (int) ((double) bar * (double) MIN(p->bytes, p->total) / (double) p->total) : 0;
                line[n++] = '[';
                for (int i = 0; i < bar && n < (int) sizeof(line) - 200; i++)
                        line[n++] = known ? (i < fill ? '#' : '.') : (i == (int) ((t / 100000000ULL) % (uint64_t) bar) ? '#' : '.');
                line[n++] = ']';
        }
        snprintf(line + n, sizeof(line) - n, "%s\033[K", right);
        (void) !write(STDERR_FILENO, line, strlen(line));
        p->drawn = true;
}

void progress_update(Progress *p, uint64_t bytes) {
        if (!p || p->mode == PROGRESS_OFF)
                return;
        uint64_t t = now_ns();
        uint64_t interval = p->mode == PROGRESS_JSON ? 1000000000ULL : 100000000ULL;
        pthread_mutex_lock(&p->lock);
        p->bytes = bytes;
        if (t - p->last_ns >= interval) {
                p->last_ns = t;
                draw(p, t, false, false);
        }
        pthread_mutex_unlock(&p->lock);
}

void progress_finish(Progress *p, bool ok) {
        if (!p || p->mode == PROGRESS_OFF)
                return;
        pthread_mutex_lock(&p->lock);
        draw(p, now_ns(), true, ok);
        pthread_mutex_unlock(&p->lock);
}

Progress *progress_free(Progress *p) {
        if (!p)
                return NULL;
        pthread_mutex_destroy(&p->lock);
        free(p->label);
        free(p);
        return NULL;
}
