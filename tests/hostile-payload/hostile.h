/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reporting for the hostile payloads of tests/integration/test-hostile-payload.sh.
 *
 * Each payload attempts one escape or host-affecting action from inside a container and prints
 * exactly one line on stdout:
 *
 *     NAME RESULT KEY=VALUE KEY=VALUE …
 *
 * RESULT is REFUSED (nothing host-affecting worked) or ALLOWED (something did; the exit status
 * is then 1; the last key, why=, lists the keys that say what worked), or ERROR on a bug of the
 * test itself (exit status 2). A VALUE is "ok" for a call
 * that succeeded, the errno name of one that failed (EPERM, EBADF, …), or a word the payload
 * documents. Values never contain spaces. The driver compares the KEY=VALUE pairs with its table
 * of expectations, so every payload prints the same keys in every mode.
 *
 * Host safety: payloads never change host state when the attack works. They prefer read-only
 * probes and arguments the kernel rejects after its permission check, and undo at once whatever
 * could stick. Each payload says in its opening comment how it stays harmless. */
#pragma once

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *h_name = "?";
static char h_detail[8192], h_why[512];
static bool h_allowed;

static inline void h_init(const char *name) {
        h_name = name;
        h_detail[0] = h_why[0] = 0;
        h_allowed = false;
}

/* The errno's name (EPERM), or E<number> for one glibc does not know. */
static inline const char *h_errname(int e) {
        static char buf[16];
        const char *n = strerrorname_np(e);
        if (n)
                return n;
        snprintf(buf, sizeof(buf), "E%d", e);
        return buf;
}

/* Appends " KEY=VALUE", VALUE formatted; spaces in it become '_'. */
__attribute__((format(printf, 2, 3))) static inline void h_kv(const char *key, const char *fmt, ...) {
        char v[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v, sizeof(v), fmt, ap);
        va_end(ap);
        for (char *p = v; *p; p++)
                if (*p == ' ' || *p == '\t' || *p == '\n')
                        *p = '_';
        size_t l = strlen(h_detail);
        snprintf(h_detail + l, sizeof(h_detail) - l, " %s=%s", key, v);
}

/* KEY=ok when r >= 0, else KEY=<errno name of e>. Returns r. */
static inline long h_res(const char *key, long r, int e) {
        if (r >= 0)
                h_kv(key, "ok");
        else
                h_kv(key, "%s", h_errname(e));
        return r;
}

/* h_ret(KEY, CALL): CALL is evaluated first and errno read after it (an argument list would
 * leave that order unspecified); reports as h_res() and yields CALL's result. */
#define h_ret(key, call)                                                                                              \
        ({                                                                                                            \
                long _r = (long) (call);                                                                              \
                int _e = errno;                                                                                       \
                h_res(key, _r, _e);                                                                                   \
        })

/* Something host-affecting worked: what KEY reports. The keys are listed last, as why=K1,K2. */
static inline void h_allow(const char *key) {
        h_allowed = true;
        char list[sizeof(h_why) + 2], item[128];
        snprintf(list, sizeof(list), ",%s,", h_why);
        snprintf(item, sizeof(item), ",%s,", key);
        size_t l = strlen(h_why);
        if (!strstr(list, item))
                snprintf(h_why + l, sizeof(h_why) - l, "%s%s", l ? "," : "", key);
}

__attribute__((noreturn)) static inline void h_done(void) {
        if (h_allowed)
                h_kv("why", "%s", h_why);
        printf("%s %s%s\n", h_name, h_allowed ? "ALLOWED" : "REFUSED", h_detail);
        fflush(stdout);
        _exit(h_allowed ? 1 : 0);
}

/* A bug of the test itself (not a finding): exit status 2. */
__attribute__((noreturn, format(printf, 1, 2))) static inline void h_bug(const char *fmt, ...) {
        char v[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v, sizeof(v), fmt, ap);
        va_end(ap);
        for (char *p = v; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        printf("%s ERROR%s bug=%s\n", h_name, h_detail, v);
        fflush(stdout);
        _exit(2);
}

/* Reads a whole small file (NUL bytes kept); returns its length or -errno. */
static inline ssize_t h_read_file(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        size_t n = 0;
        while (n + 1 < size) {
                ssize_t k = read(fd, buf + n, size - 1 - n);
                if (k < 0) {
                        int e = errno;
                        close(fd);
                        return -e;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        close(fd);
        return (ssize_t) n;
}

/* 1 when the directory PATH lies outside our root directory, 0 when inside, -errno when it
 * cannot be told. Walks ".." up from it: inside our root the walk ends at our root (the kernel
 * stops ".." there); from a directory outside it, it ends at some other top (the host's root),
 * which is how a leaked directory fd escapes a container. A directory that is not below the
 * root of the mount it was opened through (what open_by_handle_at returns for a guessed handle)
 * has no ".." (ENOENT): outside too, although its children are open to openat(). */
static inline int h_outside_root(const char *path) {
        struct stat root, st, up;
        if (stat("/", &root) < 0)
                return -errno;
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = -ELOOP;
        for (int i = 0; i < 4096; i++) {
                if (fstat(fd, &st) < 0) {
                        r = -errno;
                        break;
                }
                if (st.st_dev == root.st_dev && st.st_ino == root.st_ino) {
                        r = 0;
                        break;
                }
                int p = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (p < 0) {
                        r = errno == ENOENT ? 1 : -errno;
                        break;
                }
                if (fstat(p, &up) < 0) {
                        r = -errno;
                        close(p);
                        break;
                }
                close(fd);
                fd = p;
                if (up.st_dev == st.st_dev && up.st_ino == st.st_ino) {
                        r = 1;
                        break;
                }
        }
        close(fd);
        return r;
}

/* Parses "MAJ:MIN" (decimal) into a dev_t; false when malformed. */
static inline bool h_parse_dev(const char *s, unsigned *maj, unsigned *min) {
        char *end;
        unsigned long a = strtoul(s, &end, 10);
        if (end == s || *end != ':')
                return false;
        const char *t = end + 1;
        unsigned long b = strtoul(t, &end, 10);
        if (end == t || (*end && *end != ':'))
                return false;
        *maj = (unsigned) a;
        *min = (unsigned) b;
        return true;
}

/* The mount of "/" from /proc/self/mountinfo: device, file system type, source. */
struct h_mount {
        unsigned maj, min;
        char fstype[64], source[512];
};
static inline int h_root_mount(struct h_mount *m) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        char line[4096];
        int r = -ENOENT;
        while (fgets(line, sizeof(line), f)) {
                unsigned maj, min;
                char root[1024], mp[1024];
                if (sscanf(line, "%*d %*d %u:%u %1023s %1023s", &maj, &min, root, mp) != 4)
                        continue;
                if (strcmp(mp, "/") != 0)
                        continue;
                char *sep = strstr(line, " - ");
                if (!sep)
                        continue;
                m->maj = maj;
                m->min = min;
                m->fstype[0] = m->source[0] = 0;
                (void) sscanf(sep + 3, "%63s %511s", m->fstype, m->source);
                r = 0; /* the last one stacked on "/" wins, as the kernel shows it */
        }
        fclose(f);
        return r;
}

/* A scratch directory for device nodes: a tmpfs of our own (mounted without nodev, so that a
 * node in it could be used) in a private mount namespace of our own (so that nothing we mount
 * stays behind, even if we die). Reports ns= and tmpfs=; falls back to a plain directory under
 * /tmp when either is refused. h_scratch_end() removes it. */
static char h_scratch[64];
static bool h_scratch_mounted;
static inline void h_scratch_begin(void) {
        int r = unshare(CLONE_NEWNS);
        h_res("ns", r, errno);
        if (r == 0)
                (void) mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        snprintf(h_scratch, sizeof(h_scratch), "/tmp/hostile.XXXXXX");
        if (!mkdtemp(h_scratch))
                h_bug("mkdtemp %s: %m", h_scratch);
        r = mount("tmpfs", h_scratch, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0700");
        h_res("tmpfs", r, errno);
        h_scratch_mounted = r == 0;
}
static inline void h_scratch_end(void) {
        if (h_scratch_mounted)
                (void) umount2(h_scratch, MNT_DETACH);
        (void) rmdir(h_scratch);
}

/* Block devices to aim at: those the driver names in ARG, "MAJ:MIN:FSTYPE[,MAJ:MIN:FSTYPE…]"
 * (the disk that holds the image, the host's root device), and the device of the container's
 * root mount when it has a real one and is not among them. */
#define H_BLOCKDEVS_MAX 4
struct h_blockdev {
        unsigned maj, min;
        char fstype[64];
        const char *what;
};
static inline int h_blockdevs(const char *arg, struct h_blockdev out[H_BLOCKDEVS_MAX]) {
        int n = 0;
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", arg ?: "");
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t && n < H_BLOCKDEVS_MAX - 1; t = strtok_r(NULL, ",", &save)) {
                unsigned maj, min;
                if (!h_parse_dev(t, &maj, &min))
                        continue;
                const char *type = strchr(strchr(t, ':') + 1, ':');
                out[n] = (struct h_blockdev){maj, min, "", "arg"};
                snprintf(out[n].fstype, sizeof(out[n].fstype), "%s", type ? type + 1 : "ext4");
                n++;
        }
        struct h_mount m;
        if (h_root_mount(&m) == 0 && m.maj != 0) {
                for (int i = 0; i < n; i++)
                        if (out[i].maj == m.maj && out[i].min == m.min) {
                                out[i].what = "arg+root";
                                return n;
                        }
                out[n] = (struct h_blockdev){m.maj, m.min, "", "root"};
                snprintf(out[n].fstype, sizeof(out[n].fstype), "%s", m.fstype);
                n++;
        }
        return n;
}
