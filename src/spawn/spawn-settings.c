/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <stdarg.h>
#include <strings.h>

#include "fd-util.h"
#include "spawn.h"
#include "spawn-userns.h"
#include "util.h"

/* NAME.nspawn settings files, read as systemd-nspawn reads them.
 *
 * Untrusted input: the whole file (one next to an image comes with the image). It is read with a
 * size limit (SETTINGS_FILE_SIZE_MAX), lines are bounded (SETTINGS_LINE_MAX), every list it builds
 * is bounded (SPAWN_*_MAX in spawn.h), and the number of warnings it can cause is bounded
 * (SETTINGS_WARNINGS_MAX). Bad values are ignored with a warning, as systemd does, except for
 * keys that narrow or protect the container (key_protects()): what they ask cannot silently be
 * dropped, so a value of theirs that cannot be honoured refuses the file. A file that breaks a
 * limit or contains NUL bytes is refused as a whole too. */

#define SETTINGS_WARNINGS_MAX 32U

SettingsTrust settings_trust_from_string(const char *s) {
        if (streq(s, "trusted"))
                return SETTINGS_TRUSTED;
        int b = parse_boolean(s);
        if (b < 0)
                return (SettingsTrust) -1;
        return b ? SETTINGS_YES : SETTINGS_NO;
}

_printf_(3, 4) static void warn(char ***warnings, unsigned line, const char *fmt, ...) {
        if (!warnings)
                return;
        size_t n = strv_length(*warnings);
        if (n > SETTINGS_WARNINGS_MAX)
                return;
        char *s = NULL;
        if (n == SETTINGS_WARNINGS_MAX)
                s = strdup("further warnings suppressed");
        else {
                char m[512];
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(m, sizeof(m), fmt, ap);
                va_end(ap);
                if (asprintf(&s, "line %u: %s", line, m) < 0)
                        s = NULL;
        }
        if (s)
                (void) strv_push(warnings, s);
}

/* Splits a value into words the way systemd's extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE)
 * does for the cases settings files use: whitespace separates, "…" and '…' quote, backslash
 * escapes the next character. -EINVAL for an unterminated quote. */
static int split_words(const char *s, size_t max, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        _cleanup_free_ char *w = malloc(strlen(s) + 1);
        if (!w)
                return -ENOMEM;
        const char *p = s;
        for (;;) {
                p += strspn(p, " \t");
                if (!*p)
                        break;
                size_t k = 0;
                char quote = 0;
                for (; *p; p++) {
                        if (quote) {
                                if (*p == quote)
                                        quote = 0;
                                else if (*p == '\\' && quote == '"' && p[1])
                                        w[k++] = *++p;
                                else
                                        w[k++] = *p;
                                continue;
                        }
                        if (*p == ' ' || *p == '\t')
                                break;
                        if (*p == '"' || *p == '\'')
                                quote = *p;
                        else if (*p == '\\' && p[1])
                                w[k++] = *++p;
                        else
                                w[k++] = *p;
                }
                if (quote)
                        return -EINVAL;
                w[k] = 0;
                if (++n > max)
                        return -E2BIG;
                int r = strv_extend(&l, w);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

bool env_assignment_is_valid(const char *s, bool allow_name_only) {
        const char *eq = strchr(s, '=');
        if (!eq && allow_name_only)
                eq = s + strlen(s);
        if (!eq || eq == s)
                return false;
        for (const char *p = s; p < eq; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' || (p > s && *p >= '0' && *p <= '9')))
                        return false;
        return true;
}

bool hostname_is_valid_simple(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > SPAWN_HOSTNAME_MAX || s[0] == '.' || s[0] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                      *p == '.' || *p == '_'))
                        return false;
        return true;
}

typedef enum Section { SECTION_NONE, SECTION_EXEC, SECTION_FILES, SECTION_NETWORK, SECTION_OTHER } Section;

/* The keys (of those parsed here) that narrow what the container may do or protect its image: a
 * container must not start with less than its settings file asks for and only a warning. */
static bool key_protects(Section sec, const char *key) {
        static const char *const exec[] = { "Ephemeral", "NoNewPrivileges", "DropCapability", "SystemCallFilter",
                                            "PrivateUsers", "CPUAffinity", "OOMScoreAdjust", NULL };
        static const char *const files[] = { "ReadOnly", "Volatile", "Inaccessible", NULL };
        static const char *const network[] = { "Private", NULL };
        const char *const *l = sec == SECTION_EXEC ? exec : sec == SECTION_FILES ? files : sec == SECTION_NETWORK ? network : NULL;
        return l && strv_contains((char **) l, key);
}

/* Refuses the file: the reason becomes the last warning (past SETTINGS_WARNINGS_MAX too), the
 * parse fails with -EINVAL. */
_printf_(3, 4) static int refuse(char ***warnings, unsigned line, const char *fmt, ...) {
        if (warnings) {
                char m[512], *s = NULL;
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(m, sizeof(m), fmt, ap);
                va_end(ap);
                if (asprintf(&s, "line %u: %s", line, m) >= 0 && strv_push(warnings, s) < 0)
                        free(s);
        }
        return -EINVAL;
}

static int parse_assignment(SpawnConfig *c, Section sec, unsigned line, const char *key, const char *value,
                            char ***warnings) {
        int r, b;
        if (sec == SECTION_EXEC) {
                if (streq(key, "Boot")) {
                        if ((b = parse_boolean(value)) < 0)
                                goto bad;
                        c->boot = b;
                        c->mask |= SETTING_BOOT;
                } else if (streq(key, "Parameters")) {
                        _cleanup_strv_free_ char **l = NULL;
                        r = split_words(value, SPAWN_PARAMETERS_MAX, &l);
                        if (r == -E2BIG || r == -ENOMEM)
                                return r;
                        if (r < 0)
                                goto bad;
                        strv_free(c->command);
                        c->command = TAKE_PTR(l);
                        c->mask |= SETTING_COMMAND;
                } else if (streq(key, "Environment")) {
                        _cleanup_strv_free_ char **l = NULL;
                        r = split_words(value, SPAWN_ENVIRONMENT_MAX, &l);
                        if (r == -E2BIG || r == -ENOMEM)
                                return r;
                        if (r < 0)
                                goto bad;
                        if (!l || !l[0]) { /* an empty assignment resets the list */
                                strv_free(c->setenv);
                                c->setenv = NULL;
                        }
                        for (char **e = l; e && *e; e++) {
                                if (!env_assignment_is_valid(*e, false)) {
                                        warn(warnings, line, "invalid environment assignment \"%.64s\", ignoring", *e);
                                        continue;
                                }
                                if (strv_length(c->setenv) >= SPAWN_ENVIRONMENT_MAX)
                                        return -E2BIG;
                                if ((r = strv_extend(&c->setenv, *e)) < 0)
                                        return r;
                        }
                        c->mask |= SETTING_ENVIRONMENT;
                } else if (streq(key, "User")) {
                        free(c->user);
                        c->user = *value ? strdup(value) : NULL;
                        if (*value && !c->user)
                                return -ENOMEM;
                        c->mask |= SETTING_USER;
                } else if (streq(key, "WorkingDirectory")) {
                        if (value[0] != '/')
                                goto bad;
                        free(c->working_directory);
                        if (!(c->working_directory = strdup(value)))
                                return -ENOMEM;
                        c->mask |= SETTING_WORKING_DIRECTORY;
                } else if (streq(key, "Capability") || streq(key, "DropCapability")) {
                        uint64_t m;
                        _cleanup_free_ char *bad = NULL;
                        if (capability_list_parse(value, &m, &bad) < 0) {
                                if (streq(key, "DropCapability"))
                                        return refuse(warnings, line,
                                                      "unknown capability \"%.64s\" in DropCapability=: cannot drop it, refusing the file",
                                                      bad ?: "");
                                warn(warnings, line, "unknown capability \"%.64s\" in %s=, ignoring", bad ?: "", key);
                                return 0;
                        }
                        if (streq(key, "Capability"))
                                c->caps_plus |= m;
                        else
                                c->caps_minus |= m;
                        c->mask |= SETTING_CAPABILITY;
                } else if (streq(key, "NoNewPrivileges")) {
                        if ((b = parse_boolean(value)) < 0)
                                goto bad;
                        c->no_new_privileges = b;
                        c->mask |= SETTING_NO_NEW_PRIVILEGES;
                } else if (streq(key, "Hostname")) {
                        if (!hostname_is_valid_simple(value))
                                goto bad;
                        free(c->hostname);
                        if (!(c->hostname = strdup(value)))
                                return -ENOMEM;
                        c->mask |= SETTING_HOSTNAME;
                } else if (streq(key, "KillSignal")) {
                        int s = signal_from_string(value);
                        if (s < 0)
                                goto bad;
                        c->kill_signal = s;
                        c->mask |= SETTING_KILL_SIGNAL;
                } else if (streq(key, "ProcessTwo")) {
                        if ((b = parse_boolean(value)) < 0)
                                goto bad;
                        c->as_pid2 = b;
                        c->mask |= SETTING_PROCESS_TWO;
                } else if (streq(key, "AmbientCapability")) {
                        uint64_t m;
                        _cleanup_free_ char *bad = NULL;
                        if (capability_list_parse(value, &m, &bad) < 0) {
                                warn(warnings, line, "unknown capability \"%.64s\" in %s=, ignoring", bad ?: "", key);
                                return 0;
                        }
                        c->ambient_caps |= m;
                        c->mask |= SETTING_AMBIENT_CAPABILITY;
                } else if (streq(key, "SystemCallFilter")) {
                        _cleanup_free_ char *bad = NULL;
                        r = syscall_filter_parse(value, &c->syscall_allow, &c->syscall_deny, &bad);
                        if (r == -ENOMEM || r == -E2BIG)
                                return r;
                        if (r < 0 && value[0] == '~')
                                return refuse(warnings, line,
                                              "unknown system call or group \"%.64s\" in SystemCallFilter=~…: cannot refuse it, "
                                              "refusing the file",
                                              bad ?: "");
                        if (r < 0) {
                                warn(warnings, line, "unknown system call or group \"%.64s\" in %s=, ignoring the line", bad ?: "",
                                     key);
                                return 0;
                        }
                        c->mask |= SETTING_SYSCALL_FILTER;
                } else if (streq(key, "OOMScoreAdjust")) {
                        if (oom_score_adjust_parse(value, &c->oom_score_adjust) < 0)
                                goto bad;
                        c->oom_score_adjust_set = true;
                        c->mask |= SETTING_OOM_SCORE_ADJUST;
                } else if (streq(key, "CPUAffinity")) {
                        CpuSet set;
                        r = cpu_set_parse(value, &set);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                goto bad;
                        cpu_set_done(&c->cpu_affinity);
                        c->cpu_affinity = set;
                        c->mask |= SETTING_CPU_AFFINITY;
                } else if (streq(key, "Personality")) {
                        unsigned long p = personality_from_string(value);
                        if (p == PERSONALITY_INVALID)
                                goto bad;
                        c->personality = p;
                        c->mask |= SETTING_PERSONALITY;
                } else if (streq(key, "SuppressSync")) {
                        if ((b = parse_boolean(value)) < 0)
                                goto bad;
                        c->suppress_sync = b;
                        c->mask |= SETTING_SUPPRESS_SYNC;
                } else if (streq(key, "Ephemeral")) {
                        /* Honoured from any file (it narrows): changes are thrown away. */
                        if ((b = parse_boolean(value)) < 0)
                                goto bad;
                        c->ephemeral = b;
                        c->mask |= SETTING_EPHEMERAL;
                } else if (streq(key, "PrivateUsers")) {
                        PrivateUsersMode mode;
                        if (private_users_parse(value, &mode, &c->uid_shift, &c->uid_range) < 0)
                                goto bad;
                        c->private_users = mode;
                        c->mask |= SETTING_USERNS;
                } else
                        warn(warnings, line, "unknown or unsupported key %s= in [Exec], ignoring", key);
                return 0;
        }
        if (sec == SECTION_FILES) {
                CustomMount m;
                if (streq(key, "ReadOnly")) {
                        if ((b = parse_boolean(value)) < 0)
                                goto bad;
                        c->read_only = b;
                        c->mask |= SETTING_READ_ONLY;
                        return 0;
                }
                if (streq(key, "PrivateUsersOwnership") || streq(key, "PrivateUsersChown")) {
                        PrivateUsersOwnership o;
                        if (streq(key, "PrivateUsersChown")) {
                                /* The older boolean form: yes is chown, no is off. */
                                if ((b = parse_boolean(value)) < 0)
                                        goto bad;
                                o = b ? PRIVATE_USERS_OWNERSHIP_CHOWN : PRIVATE_USERS_OWNERSHIP_OFF;
                        } else if (private_users_ownership_parse(value, &o) < 0)
                                goto bad;
                        c->private_users_ownership = o;
                        c->mask |= SETTING_USERNS_OWNERSHIP;
                        return 0;
                }
                if (streq(key, "Inaccessible")) {
                        r = inaccessible_path_add(&c->inaccessible, value);
                        if (r == -ENOMEM || r == -E2BIG)
                                return r;
                        if (r < 0)
                                goto bad;
                        c->mask |= SETTING_INACCESSIBLE;
                        return 0;
                }
                if (streq(key, "Volatile")) {
                        VolatileMode v = volatile_mode_from_string(value);
                        if ((int) v < 0)
                                goto bad;
                        c->volatile_mode = v;
                        c->mask |= SETTING_VOLATILE;
                        return 0;
                }
                if (streq(key, "Bind") || streq(key, "BindReadOnly"))
                        r = custom_mount_parse_bind(value, streq(key, "BindReadOnly"), &m);
                else if (streq(key, "TemporaryFileSystem"))
                        r = custom_mount_parse_tmpfs(value, &m);
                else if (streq(key, "Overlay") || streq(key, "OverlayReadOnly"))
                        r = custom_mount_parse_overlay(value, streq(key, "OverlayReadOnly"), &m);
                else {
                        warn(warnings, line, "unknown or unsupported key %s= in [Files], ignoring", key);
                        return 0;
                }
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        goto bad;
                r = spawn_config_add_mount(c, &m);
                if (r < 0) {
                        custom_mount_done(&m);
                        return r;
                }
                c->mask |= SETTING_CUSTOM_MOUNTS;
                return 0;
        }
        if (sec == SECTION_NETWORK) {
                /* Keys that ask for a network namespace of the container's own with links cowpen
                 * does not make: ignoring them would run the container in the host's network. */
                static const char *const private_netns[] = { "VirtualEthernet", "VirtualEthernetExtra", "Bridge", "Zone",
                                                             "Port", "Interface", "MACVLAN", "IPVLAN", NULL };
                if (streq(key, "Private")) {
                        if ((b = parse_boolean(value)) < 0)
                                goto bad;
                        c->private_network = b;
                        c->mask |= SETTING_NETWORK;
                } else if (strv_contains((char **) private_netns, key)) {
                        if (!*value || (streq(key, "VirtualEthernet") && parse_boolean(value) == 0))
                                return 0; /* nothing asked for */
                        return refuse(warnings, line,
                                      "%s= asks for a network of the container's own with links cowpen does not set up; "
                                      "refusing the file rather than running in the host's network (Private=yes: only "
                                      "loopback; --settings=no: ignore the file)",
                                      key);
                } else
                        warn(warnings, line, "unknown or unsupported key %s= in [Network], ignoring", key);
                return 0;
        }
        if (sec == SECTION_NONE)
                warn(warnings, line, "assignment %s= outside of a section, ignoring", key);
        return 0;
bad:
        if (key_protects(sec, key))
                return refuse(warnings, line, "invalid value for %s=: \"%.64s\"; the key narrows what the container may do, "
                                              "refusing the file rather than ignoring it",
                              key, value);
        warn(warnings, line, "invalid value for %s=: \"%.64s\", ignoring", key, value);
        return 0;
}

static char *strip(char *s) {
        s += strspn(s, " \t\r");
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                s[--n] = 0;
        return s;
}

int settings_parse(const char *text, size_t size, SpawnConfig *ret, char ***warnings) {
        if (size > SETTINGS_FILE_SIZE_MAX)
                return -EFBIG;
        if (memchr(text, 0, size))
                return -EBADMSG;

        SpawnConfig c;
        spawn_config_init(&c);
        _cleanup_free_ char *line = malloc(SETTINGS_LINE_MAX + 1);
        if (!line)
                return -ENOMEM;

        Section sec = SECTION_NONE;
        unsigned lineno = 0, start = 0;
        size_t len = 0;
        int r = 0;
        for (size_t i = 0; i <= size; i++) {
                char ch = i < size ? text[i] : '\n';
                if (ch != '\n') {
                        if (len >= SETTINGS_LINE_MAX) {
                                r = -E2BIG;
                                goto fail;
                        }
                        line[len++] = ch;
                        continue;
                }
                lineno++;
                if (start == 0)
                        start = lineno;
                /* A backslash at the end continues the line (comments do not continue). */
                line[len] = 0;
                char *s = strip(line);
                if (*s != '#' && *s != ';' && len > 0 && line[len - 1] == '\\' && i < size) {
                        line[len - 1] = ' ';
                        continue;
                }
                len = 0;
                unsigned at = start;
                start = 0;
                if (!*s || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') {
                        char *e = strchr(s, ']');
                        if (!e || e[1]) {
                                warn(warnings, at, "invalid section header, ignoring");
                                sec = SECTION_OTHER;
                                continue;
                        }
                        *e = 0;
                        s++;
                        if (streq(s, "Exec"))
                                sec = SECTION_EXEC;
                        else if (streq(s, "Files"))
                                sec = SECTION_FILES;
                        else if (streq(s, "Network"))
                                sec = SECTION_NETWORK;
                        else {
                                sec = SECTION_OTHER;
                                warn(warnings, at, "unknown section [%.64s], ignoring", s);
                        }
                        continue;
                }
                char *eq = strchr(s, '=');
                if (!eq) {
                        warn(warnings, at, "line without '=', ignoring");
                        continue;
                }
                *eq = 0;
                char *key = strip(s), *value = strip(eq + 1);
                if (sec == SECTION_OTHER)
                        continue;
                r = parse_assignment(&c, sec, at, key, value, warnings);
                if (r < 0)
                        goto fail;
        }
        *ret = c;
        return 0;
fail:
        spawn_config_done(&c);
        return r;
}

static int read_settings(int dir_fd, const char *path, uint64_t resolve, char **ret_text, size_t *ret_size) {
        int r = read_file_at(dir_fd, path, resolve, SETTINGS_FILE_SIZE_MAX, ret_text, ret_size);
        return r;
}

int settings_find(const char *name, int parent_fd, const char *parent_path, char **ret_path, char **ret_text,
                  size_t *ret_size, bool *ret_trusted) {
        if (!name || !*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        _cleanup_free_ char *fn = strjoin(name, ".nspawn");
        if (!fn)
                return -ENOMEM;
        static const char *const trusted_dirs[] = { "/etc/systemd/nspawn", "/run/systemd/nspawn" };
        char *text = NULL;
        size_t size = 0;
        int r;
        for (size_t i = 0; i < ELEMENTSOF(trusted_dirs); i++) {
                _cleanup_free_ char *p = strjoin(trusted_dirs[i], "/", fn);
                if (!p)
                        return -ENOMEM;
                r = read_settings(AT_FDCWD, p, 0, &text, &size);
                if (r == -ENOENT || r == -ENOTDIR)
                        continue;
                if (r < 0)
                        return r;
                *ret_path = TAKE_PTR(p);
                *ret_text = text;
                *ret_size = size;
                *ret_trusted = true;
                return 1;
        }
        if (parent_fd >= 0) {
                /* Next to the image: no symlinks, nothing outside that directory. */
                r = read_settings(parent_fd, fn, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, &text, &size);
                if (r >= 0) {
                        char *p = streq(parent_path, "/") ? strjoin("/", fn) : strjoin(parent_path, "/", fn);
                        if (!p) {
                                free(text);
                                return -ENOMEM;
                        }
                        *ret_path = p;
                        *ret_text = text;
                        *ret_size = size;
                        *ret_trusted = false;
                        return 1;
                }
                if (r != -ENOENT)
                        return r;
        }
        *ret_path = NULL;
        *ret_text = NULL;
        *ret_size = 0;
        *ret_trusted = false;
        return 0;
}

static void note_untrusted(char ***warnings, const char *what) {
        char *w;
        if (warnings && asprintf(&w, "ignoring %s settings: the file is not trusted (--settings=trusted trusts it)", what) >= 0)
                (void) strv_push(warnings, w);
}

int settings_merge(SpawnConfig *c, SpawnConfig *s, bool trusted, const char *path, char ***warnings) {
        SettingMask m = s->mask & ~c->mask;
        int r;

        if (m & SETTING_BOOT)
                c->boot = s->boot;
        if ((m & SETTING_COMMAND) && !(c->mask & SETTING_COMMAND)) {
                strv_free(c->command);
                c->command = TAKE_PTR(s->command);
        }
        if (m & SETTING_ENVIRONMENT) {
                strv_free(c->setenv);
                c->setenv = TAKE_PTR(s->setenv);
        }
        if (m & SETTING_USER) {
                free(c->user);
                c->user = TAKE_PTR(s->user);
        }
        if (m & SETTING_WORKING_DIRECTORY) {
                free(c->working_directory);
                c->working_directory = TAKE_PTR(s->working_directory);
        }
        if (m & SETTING_NO_NEW_PRIVILEGES)
                c->no_new_privileges = s->no_new_privileges;
        if (m & SETTING_HOSTNAME) {
                free(c->hostname);
                c->hostname = TAKE_PTR(s->hostname);
        }
        if (m & SETTING_KILL_SIGNAL)
                c->kill_signal = s->kill_signal;
        if (m & SETTING_PROCESS_TWO)
                c->as_pid2 = s->as_pid2;
        if (m & SETTING_READ_ONLY)
                c->read_only = s->read_only;
        if (m & SETTING_VOLATILE)
                c->volatile_mode = s->volatile_mode;
        /* A user namespace only narrows what the container may do: from any file. */
        if (m & SETTING_USERNS) {
                c->private_users = s->private_users;
                c->uid_shift = s->uid_shift;
                c->uid_range = s->uid_range;
        }
        if (m & SETTING_USERNS_OWNERSHIP)
                c->private_users_ownership = s->private_users_ownership;
        /* These too only narrow the container (or concern only its own data): from any file. */
        if (m & SETTING_CPU_AFFINITY) {
                cpu_set_done(&c->cpu_affinity);
                c->cpu_affinity = s->cpu_affinity;
                s->cpu_affinity = (CpuSet) {};
        }
        if (m & SETTING_PERSONALITY)
                c->personality = s->personality;
        if (m & SETTING_SUPPRESS_SYNC)
                c->suppress_sync = s->suppress_sync;
        if (m & SETTING_EPHEMERAL)
                c->ephemeral = s->ephemeral;
        /* A private network (Private=; the only network key honoured) only takes the host's
         * network away: from any file too, where nspawn would need a trusted one. */
        if (m & SETTING_NETWORK)
                c->private_network = s->private_network;
        if (m & SETTING_INACCESSIBLE)
                for (char **p = s->inaccessible; p && *p; p++)
                        if ((r = inaccessible_path_add(&c->inaccessible, *p)) < 0)
                                return r;
        /* A refused call list narrows; an allowed one widens and needs a trusted file. */
        if (m & SETTING_SYSCALL_FILTER) {
                for (char **p = s->syscall_deny; p && *p; p++)
                        if (!strv_contains(c->syscall_deny, *p) && (r = strv_extend(&c->syscall_deny, *p)) < 0)
                                return r;
                if (s->syscall_allow && !trusted)
                        note_untrusted(warnings, "SystemCallFilter= (allowed calls)");
                else
                        for (char **p = s->syscall_allow; p && *p; p++)
                                if (!strv_contains(c->syscall_allow, *p) && (r = strv_extend(&c->syscall_allow, *p)) < 0)
                                        return r;
        }
        /* An OOM score that makes the container likelier to be killed narrows; a lower one needs
         * a trusted file. */
        if (m & SETTING_OOM_SCORE_ADJUST) {
                if (s->oom_score_adjust < 0 && !trusted) {
                        note_untrusted(warnings, "OOMScoreAdjust= (below 0)");
                        m &= ~SETTING_OOM_SCORE_ADJUST;
                } else {
                        c->oom_score_adjust = s->oom_score_adjust;
                        c->oom_score_adjust_set = true;
                }
        }
        /* Dropping capabilities narrows: from any file; adding them only from a trusted one. */
        if ((m & SETTING_CAPABILITY) && !trusted) {
                c->caps_minus |= s->caps_minus;
                if (s->caps_plus)
                        note_untrusted(warnings, "Capability=");
                m &= ~SETTING_CAPABILITY;
        }

        /* What widens the container's reach on the host only from a trusted file, as nspawn. */
        static const struct {
                SettingMask bit;
                const char *what;
        } privileged[] = {
                { SETTING_AMBIENT_CAPABILITY, "AmbientCapability=" },
                { SETTING_CUSTOM_MOUNTS, "Bind=, BindReadOnly=, TemporaryFileSystem= and Overlay=" },
        };
        for (size_t i = 0; i < ELEMENTSOF(privileged); i++) {
                if (!(m & privileged[i].bit) || trusted)
                        continue;
                note_untrusted(warnings, privileged[i].what);
                m &= ~privileged[i].bit;
        }
        if (m & SETTING_CAPABILITY) {
                c->caps_plus |= s->caps_plus;
                c->caps_minus |= s->caps_minus;
        }
        if (m & SETTING_AMBIENT_CAPABILITY)
                c->ambient_caps |= s->ambient_caps;
        if (m & SETTING_CUSTOM_MOUNTS) {
                for (size_t i = 0; i < s->n_mounts; i++) {
                        r = spawn_config_add_mount(c, &s->mounts[i]);
                        if (r < 0)
                                return r;
                        s->mounts[i] = (CustomMount) {};
                }
        }
        c->mask |= m;
        return 0;
}
