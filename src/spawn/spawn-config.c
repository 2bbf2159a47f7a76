/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <sys/personality.h>
#include <sys/statfs.h>
#include <string.h>
#include <strings.h>

#include "spawn.h"
#include "string-table.h"
#include "util.h"
#include "uuid-util.h"

/* SpawnConfig lifetime, enum tables and the parsers of option values. Untrusted input: the
 * values, which also come from settings files; every list they build is bounded by the limits
 * in spawn.h. */

void spawn_config_init(SpawnConfig *c) {
        *c = (SpawnConfig) {
                .console = _CONSOLE_MODE_AUTO,
                .resolv_conf = RESOLV_CONF_AUTO,
                .timezone = TIMEZONE_AUTO,
                .personality = PERSONALITY_INVALID,
                .link_journal = LINK_JOURNAL_AUTO,
        };
}

void custom_mount_done(CustomMount *m) {
        if (!m)
                return;
        free(m->source);
        free(m->destination);
        free(m->options);
        strv_free(m->lower);
        free(m->upper);
        free(m->work_dir);
        free(m->temp_dir);
        *m = (CustomMount) {};
}

void spawn_config_done(SpawnConfig *c) {
        strv_free(c->command);
        strv_free(c->setenv);
        free(c->user);
        free(c->user_groups);
        free(c->working_directory);
        free(c->hostname);
        for (size_t i = 0; i < ELEMENTSOF(c->rlimits); i++)
                free(c->rlimits[i]);
        for (size_t i = 0; i < c->n_mounts; i++)
                custom_mount_done(&c->mounts[i]);
        free(c->mounts);
        strv_free(c->syscall_allow);
        strv_free(c->syscall_deny);
        cpu_set_done(&c->cpu_affinity);
        strv_free(c->inaccessible);
        free(c->selinux_context);
        free(c->selinux_apifs_context);
        spawn_network_done(&c->network);
        free(c->slice);
        strv_free(c->properties);
        spawn_credentials_free(c->credentials, c->n_credentials);
        strv_free(c->bind_user);
        spawn_config_init(c);
}

int spawn_config_add_mount(SpawnConfig *c, const CustomMount *m) {
        if (c->n_mounts >= SPAWN_CUSTOM_MOUNTS_MAX)
                return -E2BIG;
        CustomMount *n = reallocarray(c->mounts, c->n_mounts + 1, sizeof(CustomMount));
        if (!n)
                return -ENOMEM;
        c->mounts = n;
        c->mounts[c->n_mounts++] = *m;
        return 0;
}

/* Splits s at unescaped ':' ("\:" is a colon, "\\" a backslash) into at most max parts. */
static int split_colons(const char *s, size_t max, char ***ret) {
        _cleanup_strv_free_ char **parts = NULL;
        size_t n = 0, len = strlen(s);
        _cleanup_free_ char *cur = malloc(len + 1);
        if (!cur)
                return -ENOMEM;
        size_t k = 0;
        for (const char *p = s;; p++) {
                if (*p == '\\' && (p[1] == ':' || p[1] == '\\')) {
                        cur[k++] = *++p;
                        continue;
                }
                if (*p == ':' || *p == 0) {
                        if (++n > max)
                                return -E2BIG;
                        cur[k] = 0;
                        int r = strv_extend(&parts, cur);
                        if (r < 0)
                                return r;
                        k = 0;
                        if (*p == 0)
                                break;
                        continue;
                }
                cur[k++] = *p;
        }
        *ret = TAKE_PTR(parts);
        return 0;
}

static bool path_is_absolute_clean(const char *p) {
        return p && p[0] == '/' && strlen(p) < 4096 && !strstr(p, "//");
}

int custom_mount_parse_bind(const char *s, bool read_only, CustomMount *ret) {
        _cleanup_strv_free_ char **parts = NULL;
        int r = split_colons(s, 3, &parts);
        if (r < 0)
                return r == -E2BIG ? -EINVAL : r;
        size_t n = strv_length(parts);
        CustomMount m = { .type = CUSTOM_MOUNT_BIND, .read_only = read_only, .recursive = true };
        const char *src = parts[0];
        if (src[0] == '+') {
                m.source_in_root = true;
                src++;
        }
        if (!path_is_absolute_clean(src))
                return -EINVAL;
        const char *dst = n >= 2 && parts[1][0] ? parts[1] : src;
        if (!path_is_absolute_clean(dst))
                return -EINVAL;
        if (n == 3) {
                const char *p = parts[2];
                while (*p) {
                        size_t l = strcspn(p, ",");
                        /* nspawn 252's parse_mount_bind_options(): the last of each kind wins. */
                        if (l == 5 && strneq(p, "rbind", 5))
                                m.recursive = true;
                        else if (l == 7 && strneq(p, "norbind", 7))
                                m.recursive = false;
                        else if (l == 5 && strneq(p, "idmap", 5))
                                m.idmap = BIND_IDMAP_CONTAINER;
                        else if (l == 9 && strneq(p, "rootidmap", 9))
                                m.idmap = BIND_IDMAP_OWNER;
                        else if (l == 7 && strneq(p, "noidmap", 7))
                                m.idmap = BIND_IDMAP_NONE;
                        else if (l == 0)
                                ;
                        else
                                return -EINVAL;
                        p += l;
                        if (*p == ',')
                                p++;
                }
        }
        m.source = strdup(src);
        m.destination = strdup(dst);
        if (!m.source || !m.destination) {
                custom_mount_done(&m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

static const char *const bind_idmap_table[_BIND_IDMAP_MAX] = {
        [BIND_IDMAP_NONE] = "noidmap", [BIND_IDMAP_CONTAINER] = "idmap", [BIND_IDMAP_OWNER] = "rootidmap",
};
DEFINE_STRING_TABLE_LOOKUP_TO_STRING(bind_idmap, BindIdmap);

int custom_mount_parse_tmpfs(const char *s, CustomMount *ret) {
        _cleanup_strv_free_ char **parts = NULL;
        /* Options may contain colons themselves: only the first unescaped one separates. */
        const char *colon = NULL;
        for (const char *p = s; *p; p++) {
                if (*p == '\\' && p[1]) {
                        p++;
                        continue;
                }
                if (*p == ':') {
                        colon = p;
                        break;
                }
        }
        _cleanup_free_ char *path = colon ? strndup(s, (size_t) (colon - s)) : strdup(s);
        if (!path)
                return -ENOMEM;
        int r = split_colons(path, 1, &parts);
        if (r < 0)
                return r == -E2BIG ? -EINVAL : r;
        if (!path_is_absolute_clean(parts[0]))
                return -EINVAL;
        const char *opts = colon ? colon + 1 : "mode=0755";
        if (strlen(opts) > 4096)
                return -EINVAL;
        CustomMount m = { .type = CUSTOM_MOUNT_TMPFS };
        m.destination = strdup(parts[0]);
        m.options = strdup(opts);
        if (!m.destination || !m.options) {
                custom_mount_done(&m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

/* A layer of --overlay: an absolute host path, or "+PATH" of the container's root. */
static bool overlay_layer_is_valid(const char *p) {
        return path_is_absolute_clean(p[0] == '+' ? p + 1 : p);
}

int custom_mount_parse_overlay(const char *s, bool read_only, CustomMount *ret) {
        _cleanup_strv_free_ char **parts = NULL;
        int r = split_colons(s, SPAWN_OVERLAY_LAYERS_MAX + 2, &parts);
        if (r < 0)
                return r == -E2BIG ? -E2BIG : r;
        size_t n = strv_length(parts);
        if (n < 2)
                return -EINVAL;
        /* As nspawn's overlay_mount_parse(): the last path is the mount point (a path of the
         * container, so no "+"); with only two, the second is both the top layer and, without
         * its "+", the mount point. The top layer is the upper (writable) one unless read-only;
         * with three or more it may be empty: a throw-away directory then. Layers may be "+PATH",
         * relative to the container's root. */
        size_t top = n == 2 ? 1 : n - 2;
        const char *dst = n == 2 ? parts[1] + (parts[1][0] == '+') : parts[n - 1];
        if (!path_is_absolute_clean(dst))
                return -EINVAL;
        for (size_t i = 0; i < n - (n > 2); i++)
                if (!(i == top && n > 2 && !parts[i][0]) && !overlay_layer_is_valid(parts[i]))
                        return -EINVAL;
        CustomMount m = { .type = CUSTOM_MOUNT_OVERLAY, .read_only = read_only, .temporary_top = !parts[top][0] };
        m.destination = strdup(dst);
        if (!m.destination)
                goto oom;
        for (size_t i = 0; i < top; i++)
                if (strv_extend(&m.lower, parts[i]) < 0)
                        goto oom;
        if (m.temporary_top)
                ;
        else if (read_only) {
                if (strv_extend(&m.lower, parts[top]) < 0)
                        goto oom;
        } else if (!(m.upper = strdup(parts[top])))
                goto oom;
        *ret = m;
        return 0;
oom:
        custom_mount_done(&m);
        return -ENOMEM;
}

static const char *const console_mode_table[_CONSOLE_MODE_MAX] = {
        [CONSOLE_INTERACTIVE] = "interactive", [CONSOLE_READ_ONLY] = "read-only",
        [CONSOLE_PASSIVE] = "passive", [CONSOLE_PIPE] = "pipe", [CONSOLE_AUTOPIPE] = "autopipe",
};
DEFINE_STRING_TABLE_LOOKUP(console_mode, ConsoleMode);

/* As systemd's DEFINE_STRING_TABLE_LOOKUP_WITH_BOOLEAN: "yes" (and the other truths) is auto,
 * "no" (and the other untruths) the first entry, off. */
static const char *const resolv_conf_mode_table[_RESOLV_CONF_MODE_MAX] = {
        [RESOLV_CONF_OFF] = "off", [RESOLV_CONF_COPY_HOST] = "copy-host",
        [RESOLV_CONF_COPY_STATIC] = "copy-static", [RESOLV_CONF_BIND_HOST] = "bind-host",
        [RESOLV_CONF_BIND_STATIC] = "bind-static", [RESOLV_CONF_REPLACE_HOST] = "replace-host",
        [RESOLV_CONF_REPLACE_STATIC] = "replace-static", [RESOLV_CONF_DELETE] = "delete",
        [RESOLV_CONF_AUTO] = "auto",
};
DEFINE_STRING_TABLE_LOOKUP_WITH_BOOLEAN(resolv_conf_mode, ResolvConfMode, RESOLV_CONF_AUTO, RESOLV_CONF_OFF);

static const char *const timezone_mode_table[_TIMEZONE_MODE_MAX] = {
        [TIMEZONE_OFF] = "off", [TIMEZONE_COPY] = "copy", [TIMEZONE_BIND] = "bind",
        [TIMEZONE_SYMLINK] = "symlink", [TIMEZONE_DELETE] = "delete", [TIMEZONE_AUTO] = "auto",
};
DEFINE_STRING_TABLE_LOOKUP_WITH_BOOLEAN(timezone_mode, TimezoneMode, TIMEZONE_AUTO, TIMEZONE_OFF);

/* "auto", or a boolean (no to_string: nothing prints it). */
static const char *const register_mode_table[_REGISTER_MODE_MAX] = {
        [REGISTER_AUTO] = "auto",
};
DEFINE_STRING_TABLE_LOOKUP_FROM_STRING_WITH_BOOLEAN(register_mode, RegisterMode, REGISTER_YES, REGISTER_NO);

static const char *const volatile_mode_table[_VOLATILE_MODE_MAX] = {
        [VOLATILE_NO] = "no", [VOLATILE_YES] = "yes", [VOLATILE_STATE] = "state", [VOLATILE_OVERLAY] = "overlay",
};
DEFINE_STRING_TABLE_LOOKUP_WITH_BOOLEAN(volatile_mode, VolatileMode, VOLATILE_YES, VOLATILE_NO);

static const char *const rlimit_table[RLIMIT_NLIMITS] = {
        [RLIMIT_CPU] = "CPU", [RLIMIT_FSIZE] = "FSIZE", [RLIMIT_DATA] = "DATA", [RLIMIT_STACK] = "STACK",
        [RLIMIT_CORE] = "CORE", [RLIMIT_RSS] = "RSS", [RLIMIT_NPROC] = "NPROC", [RLIMIT_NOFILE] = "NOFILE",
        [RLIMIT_MEMLOCK] = "MEMLOCK", [RLIMIT_AS] = "AS", [RLIMIT_LOCKS] = "LOCKS",
        [RLIMIT_SIGPENDING] = "SIGPENDING", [RLIMIT_MSGQUEUE] = "MSGQUEUE", [RLIMIT_NICE] = "NICE",
        [RLIMIT_RTPRIO] = "RTPRIO", [RLIMIT_RTTIME] = "RTTIME",
};

DEFINE_STRING_TABLE_LOOKUP(rlimit, int);

static int rlimit_value(const char *s, size_t n, rlim_t *ret) {
        char buf[32];
        if (n == 0 || n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        if (streq(buf, "infinity")) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        uint64_t v;
        int r = safe_atou64(buf, &v);
        if (r < 0)
                return r;
        *ret = (rlim_t) v;
        return 0;
}

int rlimit_parse(const char *s, int *ret_resource, struct rlimit *ret) {
        const char *eq = strchr(s, '=');
        if (!eq)
                return -EINVAL;
        size_t nl = (size_t) (eq - s);
        const char *name = s;
        if (nl > 7 && strncasecmp(name, "RLIMIT_", 7) == 0) {
                name += 7;
                nl -= 7;
        }
        int res = -1;
        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                if (rlimit_table[i] && strlen(rlimit_table[i]) == nl && strncasecmp(rlimit_table[i], name, nl) == 0)
                        res = i;
        if (res < 0)
                return -EINVAL;
        const char *v = eq + 1, *colon = strchr(v, ':');
        struct rlimit rl;
        int r = rlimit_value(v, colon ? (size_t) (colon - v) : strlen(v), &rl.rlim_cur);
        if (r < 0)
                return r;
        if (colon) {
                r = rlimit_value(colon + 1, strlen(colon + 1), &rl.rlim_max);
                if (r < 0)
                        return r;
        } else
                rl.rlim_max = rl.rlim_cur;
        if (rl.rlim_cur > rl.rlim_max)
                return -ERANGE;
        *ret_resource = res;
        *ret = rl;
        return 0;
}

int uuid_parse(const char *s, uint8_t ret[16]) {
        /* A machine ID is never null: all zeros is no ID. */
        uint8_t u[16];
        if (uuid_from_string(s, u) < 0 || uuid_is_null(u))
                return -EINVAL;
        memcpy(ret, u, 16);
        return 0;
}

int signal_from_string(const char *s) {
        if (!s || !*s)
                return -EINVAL;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        int n;
        if (safe_atoi(s, &n) >= 0)
                return n >= 1 && n < _NSIG ? n : -EINVAL;
        if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
                bool min = strncasecmp(s, "RTMIN", 5) == 0;
                int off = 0;
                if (s[5] && (s[5] != (min ? '+' : '-') || safe_atoi(s + 6, &off) < 0 || off < 0))
                        return -EINVAL;
                int sig = min ? SIGRTMIN + off : SIGRTMAX - off;
                return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -EINVAL;
        }
        for (int i = 1; i < SIGRTMIN; i++) {
                const char *a = sigabbrev_np(i);
                if (a && strcasecmp(a, s) == 0)
                        return i;
        }
        return -EINVAL;
}

void cpu_set_done(CpuSet *s) {
        CPU_FREE(s->set);
        *s = (CpuSet) {};
}

int cpu_set_parse(const char *s, CpuSet *ret) {
        /* Numbers and ranges separated by spaces or commas, as systemd's parse_cpu_set(). */
        unsigned max = 0;
        bool any = false;
        for (int pass = 0; pass < 2; pass++) {
                cpu_set_t *set = NULL;
                size_t size = 0;
                if (pass == 1) {
                        if (!any) {
                                *ret = (CpuSet) {};
                                return 0;
                        }
                        set = CPU_ALLOC(max + 1);
                        if (!set)
                                return -ENOMEM;
                        size = CPU_ALLOC_SIZE(max + 1);
                        CPU_ZERO_S(size, set);
                }
                for (const char *p = s;;) {
                        p += strspn(p, " \t,");
                        if (!*p)
                                break;
                        size_t n = strcspn(p, " \t,");
                        char w[32];
                        if (n >= sizeof(w)) {
                                CPU_FREE(set);
                                return -EINVAL;
                        }
                        memcpy(w, p, n);
                        w[n] = 0;
                        p += n;
                        char *dash = strchr(w, '-');
                        uint64_t a, b;
                        if (dash)
                                *dash = 0;
                        if (safe_atou64(w, &a) < 0 || (dash && safe_atou64(dash + 1, &b) < 0)) {
                                CPU_FREE(set);
                                return -EINVAL;
                        }
                        if (!dash)
                                b = a;
                        if (a > b || b > SPAWN_CPU_MAX) {
                                CPU_FREE(set);
                                return a > b ? -EINVAL : -ERANGE;
                        }
                        any = true;
                        max = MAX(max, (unsigned) b);
                        for (uint64_t i = a; set && i <= b; i++)
                                CPU_SET_S((size_t) i, size, set);
                }
                if (pass == 1) {
                        *ret = (CpuSet) { .set = set, .size = size };
                        return 0;
                }
        }
        return -EINVAL;
}

unsigned long personality_from_string(const char *s) {
#if defined(__x86_64__)
        if (streq(s, "x86"))
                return PER_LINUX32;
        if (streq(s, "x86-64"))
                return PER_LINUX;
#elif defined(__i386__)
        if (streq(s, "x86"))
                return PER_LINUX;
#endif
        return PERSONALITY_INVALID;
}

int oom_score_adjust_parse(const char *s, int *ret) {
        int v;
        if (safe_atoi(s, &v) < 0)
                return -EINVAL;
        if (v < -1000 || v > 1000)
                return -ERANGE;
        *ret = v;
        return 0;
}

int inaccessible_path_add(char ***l, const char *path) {
        if (!path_is_absolute_clean(path) || streq(path, "/"))
                return -EINVAL;
        for (const char *p = path; (p = strstr(p, "/..")); p += 3)
                if (p[3] == 0 || p[3] == '/')
                        return -EINVAL;
        if (strv_length(*l) >= SPAWN_INACCESSIBLE_MAX)
                return -E2BIG;
        if (strv_contains(*l, path))
                return 0;
        return strv_extend(l, path);
}

int bind_user_add(char ***l, const char *name) {
        size_t n = strlen(name);
        if (n == 0 || n > 31 || (name[0] >= '0' && name[0] <= '9') || name[0] == '-' || name[0] == '.')
                return -EINVAL;
        if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
                return -EINVAL;
        if (strv_contains(*l, name))
                return 0;
        if (strv_length(*l) >= 64)
                return -E2BIG;
        return strv_extend(l, name);
}

bool spawn_selinux_enabled(void) {
        /* As libselinux's is_selinux_enabled(): selinuxfs is mounted. */
        struct statfs sf;
        return statfs("/sys/fs/selinux", &sf) >= 0 && sf.f_type == 0xf97cff8c /* SELINUX_MAGIC */;
}
