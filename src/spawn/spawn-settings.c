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

_printf_(3, 4) static void warn(Diag *diag, unsigned line, const char *fmt, ...) {
        if (!diag || diag->n_warnings > SETTINGS_WARNINGS_MAX)
                return;
        if (diag->n_warnings == SETTINGS_WARNINGS_MAX) {
                (void) diag_warn(diag, "further warnings suppressed");
                return;
        }
        char m[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m, sizeof(m), fmt, ap);
        va_end(ap);
        (void) diag_warn(diag, "line %u: %s", line, m);
}

#define WHITESPACE " \t\n\r"

/* The next word of *p, as systemd's extract_first_word() splits the values of the keys that
 * take lists (nspawn-gperf.gperf says which parser each key has):
 *   unquote (config_parse_strv: Parameters=, Environment=; flags EXTRACT_UNQUOTE|
 *            EXTRACT_RETAIN_ESCAPE): "…" and '…' quote anywhere in a word and are removed, a
 *            backslash is an ordinary character (so Q=\x41 stays \x41, and "a\"b" is a\ then
 *            b…), an unterminated quote is an error;
 *   plain   (config_parse_capability: no flags): quotes are ordinary characters, a backslash
 *            takes the next character as it is, a trailing backslash is an error.
 * Whitespace separates. Returns 1 with the word in *ret, 0 at the end, -EINVAL. */
static int next_word(const char **p, bool unquote, char **ret) {
        const char *s = *p + strspn(*p, WHITESPACE);
        if (!*s) {
                *p = s;
                *ret = NULL;
                return 0;
        }
        _cleanup_free_ char *w = malloc(strlen(s) + 1);
        if (!w)
                return -ENOMEM;
        size_t k = 0;
        char quote = 0;
        for (; *s; s++) {
                if (quote) {
                        if (*s == quote)
                                quote = 0;
                        else
                                w[k++] = *s;
                        continue;
                }
                if (strchr(WHITESPACE, *s))
                        break;
                if (unquote && (*s == '"' || *s == '\''))
                        quote = *s;
                else if (!unquote && *s == '\\') {
                        if (!s[1])
                                return -EINVAL;
                        w[k++] = *++s;
                } else
                        w[k++] = *s;
        }
        if (quote)
                return -EINVAL;
        w[k] = 0;
        *p = s;
        *ret = TAKE_PTR(w);
        return 1;
}

/* config_parse_strv(): an empty value empties the list, anything else appends its words (at most
 * max in all: -E2BIG). A syntax error ignores the rest of the line and keeps the words before it,
 * as systemd does. */
static int strv_assign_words(char ***l, const char *value, size_t max, unsigned line, const char *key,
                             Diag *diag) {
        if (!*value) {
                strv_free(*l);
                *l = NULL;
                return 0;
        }
        size_t n = strv_length(*l);
        for (const char *p = value;;) {
                char *w;
                int r = next_word(&p, true, &w);
                if (r == 0)
                        return 0;
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        warn(diag, line, "invalid syntax in %s= (unterminated quote), ignoring the rest of the line", key);
                        return 0;
                }
                if (n >= max) {
                        free(w);
                        return -E2BIG;
                }
                if ((r = strv_push(l, w)) < 0)
                        return r;
                n++;
        }
}

/* config_parse_capability(): names separated by whitespace (cowpen also takes commas, as on its
 * command line), "all"; an unknown name is ignored with a warning, the others apply. */
_printf_(3, 4) static int refuse(Diag *diag, unsigned line, const char *fmt, ...);

/* Capability names, word by word: an unknown one is ignored with a warning, or, where the key
 * narrows the container (DropCapability=: refuse_unknown), refuses the file (it cannot be
 * honoured). */
static int parse_capabilities(const char *value, unsigned line, const char *key, bool refuse_unknown, Diag *diag,
                              uint64_t *ret) {
        uint64_t m = 0;
        for (const char *p = value;;) {
                _cleanup_free_ char *w = NULL;
                int r = next_word(&p, false, &w);
                if (r == 0)
                        break;
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        warn(diag, line, "invalid syntax in %s= (trailing backslash), ignoring the rest of the line", key);
                        break;
                }
                uint64_t one;
                for (const char *q = w; *q;) {
                        /* Word by word even within a comma list: one bad name spoils no other. */
                        size_t l = strcspn(q, ",");
                        _cleanup_free_ char *name = strndup(q, l);
                        if (!name)
                                return -ENOMEM;
                        if (*name && capability_list_parse(name, &one, NULL) < 0 && refuse_unknown)
                                return refuse(diag, line, "unknown capability \"%.64s\" in %s=: cannot drop it, refusing the file",
                                              name, key);
                        if (*name && capability_list_parse(name, &one, NULL) < 0)
                                warn(diag, line, "unknown capability \"%.64s\" in %s=, ignoring", name, key);
                        else if (*name)
                                m |= one;
                        q += l + strspn(q + l, ",");
                }
        }
        *ret = m;
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

/* Refuses the file: the parse fails with -EINVAL and the reason as the diag's cause; it is also
 * the last warning (past SETTINGS_WARNINGS_MAX too), so that the warnings tell the whole story. */
_printf_(3, 4) static int refuse(Diag *diag, unsigned line, const char *fmt, ...) {
        char m[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m, sizeof(m), fmt, ap);
        va_end(ap);
        (void) diag_warn(diag, "line %u: %s", line, m);
        return diag_fail(diag, -EINVAL, NULL, "line %u: %s", line, m);
}

static int parse_assignment(SpawnConfig *c, Section sec, unsigned line, const char *key, const char *value,
                            Diag *diag) {
        int r, b;
        if (sec == SECTION_EXEC) {
                if (streq(key, "Boot") || streq(key, "ProcessTwo")) {
                        /* One start mode, as nspawn's config_parse_boot()/config_parse_pid2():
                         * Boot=yes and ProcessTwo=yes exclude each other, and a "no" may not
                         * take back a "yes" of the same key; such a line is ignored. */
                        bool boot = streq(key, "Boot");
                        if ((b = parse_boolean(value)) < 0)
                                goto bad;
                        if (b ? (boot ? c->as_pid2 : c->boot) : (boot ? c->boot : c->as_pid2)) {
                                warn(diag, line, "conflicting Boot= or ProcessTwo= setting, ignoring");
                                return 0;
                        }
                        if (boot)
                                c->boot = b;
                        else
                                c->as_pid2 = b;
                        c->mask |= boot ? SETTING_BOOT : SETTING_PROCESS_TWO;
                } else if (streq(key, "Parameters")) {
                        /* Only used with Boot= or ProcessTwo= in the same file (settings_merge). */
                        r = strv_assign_words(&c->command, value, SPAWN_PARAMETERS_MAX, line, key, diag);
                        if (r < 0)
                                return r;
                        c->mask |= SETTING_COMMAND;
                } else if (streq(key, "Environment")) {
                        /* config_parse_strv() as Parameters=; then only NAME=VALUE entries (nspawn
                         * would pass anything on, even a word without "="). */
                        if (!*value) {
                                strv_free(c->setenv);
                                c->setenv = NULL;
                        }
                        _cleanup_strv_free_ char **l = NULL;
                        r = strv_assign_words(&l, value, SPAWN_ENVIRONMENT_MAX, line, key, diag);
                        if (r < 0)
                                return r;
                        for (char **e = l; e && *e; e++) {
                                if (!env_assignment_is_valid(*e, false)) {
                                        warn(diag, line, "invalid environment assignment \"%.64s\", ignoring", *e);
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
                        if ((r = parse_capabilities(value, line, key, streq(key, "DropCapability"), diag, &m)) < 0)
                                return r;
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
                } else if (streq(key, "AmbientCapability")) {
                        uint64_t m;
                        if ((r = parse_capabilities(value, line, key, false, diag, &m)) < 0)
                                return r;
                        c->ambient_caps |= m;
                        c->mask |= SETTING_AMBIENT_CAPABILITY;
                } else if (streq(key, "SystemCallFilter")) {
                        /* As nspawn: [~] then words (split as Capability=); an unknown name is
                         * ignored with a warning, the others (a refusal above all) apply. */
                        bool deny = value[0] == '~';
                        for (const char *p = value + deny;;) {
                                _cleanup_free_ char *w = NULL, *item = NULL;
                                _cleanup_diag_ Diag bad = DIAG_INIT;
                                r = next_word(&p, false, &w);
                                if (r == 0)
                                        break;
                                if (r == -ENOMEM)
                                        return r;
                                if (r < 0) {
                                        warn(diag, line, "invalid syntax in %s= (trailing backslash), ignoring the rest of the line",
                                             key);
                                        break;
                                }
                                if (!(item = strjoin(deny ? "~" : "", w)))
                                        return -ENOMEM;
                                r = syscall_filter_parse(item, &c->syscall_allow, &c->syscall_deny, &bad);
                                if (r == -ENOMEM || r == -E2BIG)
                                        return r;
                                if (r < 0 && deny)
                                        return refuse(diag, line,
                                                      "unknown system call or group \"%.64s\" in SystemCallFilter=~…: cannot refuse it, "
                                                      "refusing the file",
                                                      bad.object ?: w);
                                if (r < 0)
                                        warn(diag, line, "unknown system call or group \"%.64s\" in %s=, ignoring", bad.object ?: w, key);
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
                } else if (streq(key, "ResolvConf")) {
                        ResolvConfMode mode = resolv_conf_mode_from_string(value);
                        if ((int) mode < 0)
                                goto bad; /* also nspawn's *-uplink and *-stub, which need resolved */
                        c->resolv_conf = mode;
                        c->mask |= SETTING_RESOLV_CONF;
                } else if (streq(key, "Timezone")) {
                        TimezoneMode mode = timezone_mode_from_string(value);
                        if ((int) mode < 0)
                                goto bad;
                        c->timezone = mode;
                        c->mask |= SETTING_TIMEZONE;
                } else if (streq(key, "NotifyReady")) {
                        if ((b = parse_boolean(value)) < 0)
                                goto bad;
                        c->notify_ready = b;
                        c->mask |= SETTING_NOTIFY_READY;
                } else if (streq(key, "MachineID")) {
                        /* An all-zero ID is no ID (config_parse_id128 takes it, the merge skips it). */
                        if (strspn(value, "0-") == strlen(value) && strlen(value) >= 32)
                                return 0;
                        if (uuid_parse(value, c->uuid) < 0)
                                goto bad;
                        c->uuid_set = true;
                        c->mask |= SETTING_MACHINE_ID;
                } else if (startswith(key, "Limit") && rlimit_from_name(key + 5) >= 0) {
                        /* LimitNOFILE= and friends: SOFT[:HARD], as --rlimit=NOFILE=… */
                        int res;
                        struct rlimit rl;
                        _cleanup_free_ char *spec = strjoin(key + 5, "=", value);
                        if (!spec)
                                return -ENOMEM;
                        if (rlimit_parse(spec, &res, &rl) < 0)
                                goto bad;
                        if (!c->rlimits[res] && !(c->rlimits[res] = malloc(sizeof(rl))))
                                return -ENOMEM;
                        *c->rlimits[res] = rl;
                } else if (streq(key, "PrivateUsers")) {
                        PrivateUsersMode mode;
                        if (private_users_parse(value, &mode, &c->uid_shift, &c->uid_range) < 0)
                                goto bad;
                        c->private_users = mode;
                        c->mask |= SETTING_USERNS;
                } else
                        warn(diag, line, "unknown or unsupported key %s= in [Exec], ignoring", key);
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
                        warn(diag, line, "unknown or unsupported key %s= in [Files], ignoring", key);
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
                        return refuse(diag, line,
                                      "%s= asks for a network of the container's own with links cowpen does not set up; "
                                      "refusing the file rather than running in the host's network (Private=yes: only "
                                      "loopback; --settings=no: ignore the file)",
                                      key);
                } else
                        warn(diag, line, "unknown or unsupported key %s= in [Network], ignoring", key);
                return 0;
        }
        if (sec == SECTION_NONE)
                warn(diag, line, "assignment %s= outside of a section, ignoring", key);
        return 0;
bad:
        if (key_protects(sec, key))
                return refuse(diag, line, "invalid value for %s=: \"%.64s\"; the key narrows what the container may do, "
                                              "refusing the file rather than ignoring it",
                              key, value);
        warn(diag, line, "invalid value for %s=: \"%.64s\", ignoring", key, value);
        return 0;
}

static char *strip(char *s) {
        s += strspn(s, WHITESPACE);
        size_t n = strlen(s);
        while (n > 0 && strchr(WHITESPACE, s[n - 1]))
                s[--n] = 0;
        return s;
}

/* One logical line (continuations joined), as conf-parser's parse_line(). */
static int parse_line(SpawnConfig *c, Section *sec, unsigned at, char *s, Diag *diag) {
        s = strip(s);
        if (!*s)
                return 0;
        if (*s == '[') {
                char *e = strchr(s, ']');
                if (!e || e[1]) {
                        warn(diag, at, "invalid section header, ignoring");
                        *sec = SECTION_OTHER;
                        return 0;
                }
                *e = 0;
                s++;
                if (streq(s, "Exec"))
                        *sec = SECTION_EXEC;
                else if (streq(s, "Files"))
                        *sec = SECTION_FILES;
                else if (streq(s, "Network"))
                        *sec = SECTION_NETWORK;
                else {
                        *sec = SECTION_OTHER;
                        if (!startswith(s, "X-"))
                                warn(diag, at, "unknown section [%.64s], ignoring", s);
                }
                return 0;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
                warn(diag, at, "line without '=', ignoring");
                return 0;
        }
        *eq = 0;
        char *key = strip(s), *value = strip(eq + 1);
        if (*sec == SECTION_OTHER)
                return 0;
        return parse_assignment(c, *sec, at, key, value, diag);
}

/* Lines as systemd's config_parse() reads them: "\n", "\r", "\r\n" and "\n\r" end a line; a
 * line whose first non-blank character is '#' or ';' is a comment and is skipped, even in the
 * middle of a continued line; a line that ends in a backslash (not itself escaped by one) goes on
 * in the next, the backslash becoming a space; a UTF-8 byte order mark at the start is skipped. */
int settings_parse(const char *text, size_t size, SpawnConfig *ret, Diag *diag) {
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
        size_t len = 0, i = 0;
        int r = 0;
        if (size >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                i = 3;
        while (i < size) {
                size_t e = i;
                while (e < size && text[e] != '\n' && text[e] != '\r')
                        e++;
                size_t next = e;
                if (e < size) {
                        next = e + 1;
                        if (next < size && (text[next] == '\n' || text[next] == '\r') && text[next] != text[e])
                                next++;
                }
                const char *raw = text + i;
                size_t n = e - i;
                i = next;
                lineno++;
                /* A line of its own over the limit too, comment or not, as systemd's read_line(). */
                if (n > SETTINGS_LINE_MAX) {
                        r = -E2BIG;
                        goto fail;
                }
                size_t lead = 0;
                while (lead < n && strchr(" \t", raw[lead]))
                        lead++;
                if (lead < n && (raw[lead] == '#' || raw[lead] == ';'))
                        continue;
                if (len + n > SETTINGS_LINE_MAX) {
                        r = -E2BIG;
                        goto fail;
                }
                memcpy(line + len, raw, n);
                /* Whether the new part ends in an unescaped backslash: what came before ended in
                 * one (now a space), so its escape state does not carry over. */
                bool escaped = false;
                for (size_t k = len; k < len + n; k++)
                        escaped = escaped ? false : line[k] == '\\';
                len += n;
                if (start == 0)
                        start = lineno;
                if (escaped) {
                        line[len - 1] = ' ';
                        continue;
                }
                line[len] = 0;
                r = parse_line(&c, &sec, start, line, diag);
                if (r < 0)
                        goto fail;
                len = 0;
                start = 0;
        }
        if (start != 0) { /* the file ended in a continued line */
                line[len] = 0;
                r = parse_line(&c, &sec, start, line, diag);
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

static void note_untrusted(Diag *diag, const char *what) {
        (void) diag_warn(diag, "ignoring %s settings: the file is not trusted (--settings=trusted trusts it)", what);
}

int settings_merge(SpawnConfig *c, SpawnConfig *s, bool trusted, const char *path, Diag *diag) {
        SettingMask m = s->mask & ~c->mask;
        int r;

        /* The start mode as nspawn's merge_settings(): -b, -a or a command on the command line
         * each keep all of Boot=, ProcessTwo= and Parameters= out; otherwise Parameters= comes
         * along with a Boot= or ProcessTwo= of the file (either value), and without one of them
         * it is ignored (nspawn 252 runs the shell then). */
        const SettingMask start = SETTING_BOOT | SETTING_PROCESS_TWO | SETTING_COMMAND;
        if (!(c->mask & start) && (s->mask & (SETTING_BOOT | SETTING_PROCESS_TWO))) {
                c->boot = s->boot;
                c->as_pid2 = s->as_pid2;
                strv_free(c->command);
                c->command = TAKE_PTR(s->command);
        } else
                m &= ~start;
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
                        note_untrusted(diag, "SystemCallFilter= (allowed calls)");
                else
                        for (char **p = s->syscall_allow; p && *p; p++)
                                if (!strv_contains(c->syscall_allow, *p) && (r = strv_extend(&c->syscall_allow, *p)) < 0)
                                        return r;
        }
        /* An OOM score that makes the container likelier to be killed narrows; a lower one needs
         * a trusted file. */
        if (m & SETTING_OOM_SCORE_ADJUST) {
                if (s->oom_score_adjust < 0 && !trusted) {
                        note_untrusted(diag, "OOMScoreAdjust= (below 0)");
                        m &= ~SETTING_OOM_SCORE_ADJUST;
                } else {
                        c->oom_score_adjust = s->oom_score_adjust;
                        c->oom_score_adjust_set = true;
                }
        }
        /* resolv.conf and the time zone are the container's own files (copies or read-only
         * binds of what the host shares by default anyway): from any file, as nspawn. When to
         * report readiness concerns only cowpen's caller: likewise. */
        if (m & SETTING_RESOLV_CONF)
                c->resolv_conf = s->resolv_conf;
        if (m & SETTING_TIMEZONE)
                c->timezone = s->timezone;
        if (m & SETTING_NOTIFY_READY)
                c->notify_ready = s->notify_ready;
        /* The machine ID is the identity machined and journal links go by: an image may not
         * claim one (trusted files only, as nspawn). */
        if (m & SETTING_MACHINE_ID) {
                if (trusted) {
                        memcpy(c->uuid, s->uuid, sizeof(c->uuid));
                        c->uuid_set = true;
                } else {
                        note_untrusted(diag, "MachineID=");
                        m &= ~SETTING_MACHINE_ID;
                }
        }
        /* Limits: the command line's win; a trusted file sets them; an untrusted one may only
         * lower them (both values at most what the container would get otherwise, which is
         * cowpen's own), as nspawn (which takes none from it) never widens either. */
        for (int i = 0; i < RLIMIT_NLIMITS; i++) {
                if (!s->rlimits[i] || c->rlimits[i])
                        continue;
                struct rlimit cur;
                if (!trusted && (getrlimit(i, &cur) < 0 || s->rlimits[i]->rlim_cur > cur.rlim_cur ||
                                 s->rlimits[i]->rlim_max > cur.rlim_max)) {
                        char what[64];
                        snprintf(what, sizeof(what), "Limit%s= (above the current limit)", rlimit_to_name(i) ?: "?");
                        note_untrusted(diag, what);
                        continue;
                }
                c->rlimits[i] = TAKE_PTR(s->rlimits[i]);
        }
        /* Dropping capabilities narrows: from any file; adding them only from a trusted one. */
        if ((m & SETTING_CAPABILITY) && !trusted) {
                c->caps_minus |= s->caps_minus;
                if (s->caps_plus)
                        note_untrusted(diag, "Capability=");
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
                note_untrusted(diag, privileged[i].what);
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
