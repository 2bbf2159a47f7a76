/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* proc-util.h: what /proc/PID tells of a process.
 *
 * Untrusted input: the /proc files of other processes (a process names itself in stat; a
 * container's processes are the host's to read), each read with a size limit. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "proc-util.h"
#include "util.h"

int pid_starttime(pid_t pid, uint64_t *ret) {
        if (pid <= 0)
                return -ESRCH;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        char buf[PROC_STAT_SIZE_MAX];
        ssize_t n = loop_read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return (int) n;
        buf[n] = 0;
        /* "PID (COMM) STATE …": COMM may hold anything, spaces and ')' included; the fields after
         * the last ')' start with field 3 (state); starttime is field 22, the 20th after COMM. */
        char *p = strrchr(buf, ')');
        if (!p)
                return -EBADMSG;
        p++;
        for (unsigned field = 3; field < 22; field++) {
                p += strspn(p, " ");
                p += strcspn(p, " ");
                if (!*p)
                        return -EBADMSG;
        }
        p += strspn(p, " ");
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno != 0 || end == p || (*end != ' ' && *end != '\n' && *end != 0))
                return -EBADMSG;
        *ret = v;
        return 0;
}

int pid_cgroup2_path(pid_t pid, char **ret) {
        char path[64];
        if (pid > 0)
                snprintf(path, sizeof path, "/proc/%d/cgroup", (int) pid);
        else
                snprintf(path, sizeof path, "/proc/self/cgroup");
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, path, 0, PROC_CGROUP_SIZE_MAX, &text, NULL);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (startswith(line, "0::")) {
                        char *c = strdup(line + 3);
                        if (!c)
                                return -ENOMEM;
                        *ret = c;
                        return 0;
                }
        }
        return -ENOMEDIUM;
}

/* The hex mask after "\nFIELD:" in the text of /proc/PID/status. */
static int status_mask(const char *text, const char *field, uint64_t *ret) {
        size_t l = strlen(field);
        for (const char *p = strstr(text, "\n"); p; p = strstr(p + 1, "\n")) {
                if (!strneq(p + 1, field, l) || p[1 + l] != ':')
                        continue;
                const char *v = p + 1 + l + 1;
                char *end;
                errno = 0;
                unsigned long long m = strtoull(v, &end, 16);
                if (errno != 0 || end == v)
                        return -EBADMSG;
                *ret = (uint64_t) m;
                return 0;
        }
        return -EBADMSG;
}

static int read_pid_status(pid_t pid, char **ret) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        return read_file_at(AT_FDCWD, path, 0, PROC_STATUS_SIZE_MAX, ret, NULL);
}

int pid_status_mask(pid_t pid, const char *field, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        int r = read_pid_status(pid, &s);
        if (r < 0)
                return r;
        return status_mask(s, field, ret);
}

int pid_signal_disposition(pid_t pid, int sig) {
        _cleanup_free_ char *s = NULL;
        if (sig < 1 || sig > 64 || read_pid_status(pid, &s) < 0)
                return 0;
        uint64_t cgt = 0, blk = 0, ign = 0, bit = UINT64_C(1) << (sig - 1);
        (void) status_mask(s, "SigCgt", &cgt);
        /* A blocked signal is taken with signalfd()/sigwaitinfo(), as systemd does: caught. */
        (void) status_mask(s, "SigBlk", &blk);
        (void) status_mask(s, "SigIgn", &ign);
        return ((cgt | blk) & bit) ? 1 : (ign & bit) ? -1 : 0;
}
