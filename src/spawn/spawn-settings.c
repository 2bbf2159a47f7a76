/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <stdarg.h>
#include <strings.h>

#include "dlopen-util.h"
#include "fd-util.h"
#include "spawn.h"
#include "string-table.h"
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

/* "trusted", or a boolean (no to_string: nothing prints it). */
static const char *const settings_trust_table[_SETTINGS_TRUST_MAX] = {
        [SETTINGS_TRUSTED] = "trusted",
};
DEFINE_STRING_TABLE_LOOKUP_FROM_STRING_WITH_BOOLEAN(settings_trust, SettingsTrust, SETTINGS_YES, SETTINGS_NO);

/* Adds "line N: " and the message (cut at 512 bytes) to the warnings; returns it, or NULL. */
_printf_(3, 0) static const char *vwarn(Diag *diag, unsigned line, const char *fmt, va_list ap) {
        char m[512];
        vsnprintf(m, sizeof(m), fmt, ap);
        if (!diag || diag_warn(diag, "line %u: %s", line, m) < 0)
                return NULL;
        return diag->warnings[diag->n_warnings - 1];
}

_printf_(3, 4) static void warn(Diag *diag, unsigned line, const char *fmt, ...) {
        if (!diag || diag->n_warnings > SETTINGS_WARNINGS_MAX)
                return;
        if (diag->n_warnings == SETTINGS_WARNINGS_MAX) {
                (void) diag_warn(diag, "further warnings suppressed");
                return;
        }
        va_list ap;
        va_start(ap, fmt);
        (void) vwarn(diag, line, fmt, ap);
        va_end(ap);
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

/* The next word of a list split as config_parse_capability() splits it: 1 with the word in *ret;
 * 0 at the end, or at a trailing backslash, which ignores the rest of the line with a warning, as
 * systemd does; -ENOMEM. */
static int next_plain_word(const char **p, unsigned line, const char *key, Diag *diag, char **ret) {
        int r = next_word(p, false, ret);
        if (r == -EINVAL) {
                warn(diag, line, "invalid syntax in %s= (trailing backslash), ignoring the rest of the line", key);
                return 0;
        }
        return r;
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
                int r = next_plain_word(&p, line, key, diag, &w);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                uint64_t one;
                for (const char *q = w; *q;) {
                        /* Word by word even within a comma list: one bad name spoils no other. */
                        size_t l = strcspn(q, ",");
                        _cleanup_free_ char *name = strndup(q, l);
                        if (!name)
                                return -ENOMEM;
                        int k = *name ? capability_list_parse(name, &one, NULL) : 0;
                        const char *detail = NULL;
                        /* Not the file's fault, but none of its names can be honoured. */
                        if (dlopen_error_is_library(k) && dlopen_libcap(&detail) < 0 && detail)
                                return refuse(diag, line, "%s (needed for the capability names of %s=)", detail, key);
                        if (*name && k < 0 && refuse_unknown)
                                return refuse(diag, line, "unknown capability \"%.64s\" in %s=: cannot drop it, refusing the file",
                                              name, key);
                        if (*name && k < 0)
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

/* --private-users= and PrivateUsers=. */
int private_users_parse(const char *s, PrivateUsersMode *ret_mode, uid_t *ret_shift, uid_t *ret_range) {
        if (streq(s, "pick")) {
                *ret_mode = PRIVATE_USERS_PICK;
                *ret_shift = 0;
                *ret_range = USERNS_RANGE_DEFAULT;
                return 0;
        }
        if (streq(s, "identity")) {
                *ret_mode = PRIVATE_USERS_FIXED;
                *ret_shift = 0;
                *ret_range = USERNS_RANGE_DEFAULT;
                return 0;
        }
        int b = parse_boolean(s);
        if (b >= 0) {
                *ret_mode = b ? PRIVATE_USERS_YES : PRIVATE_USERS_NO;
                *ret_shift = 0;
                *ret_range = USERNS_RANGE_DEFAULT;
                return 0;
        }
        const char *colon = strchr(s, ':');
        _cleanup_free_ char *base = strndup(s, colon ? (size_t) (colon - s) : strlen(s));
        if (!base)
                return -ENOMEM;
        uint64_t shift, range = USERNS_RANGE_DEFAULT;
        if (safe_atou64(base, &shift) < 0 || (colon && safe_atou64(colon + 1, &range) < 0))
                return -EINVAL;
        /* uid_t is 32 bits and (uid_t) -1 is invalid. */
        if (range == 0 || shift + range > UINT32_C(0xFFFFFFFF))
                return -ERANGE;
        *ret_mode = PRIVATE_USERS_FIXED;
        *ret_shift = (uid_t) shift;
        *ret_range = (uid_t) range;
        return 0;
}

/* --private-users-ownership= and PrivateUsersOwnership=. */
static const char *const private_users_ownership_table[_PRIVATE_USERS_OWNERSHIP_MAX] = {
        [PRIVATE_USERS_OWNERSHIP_AUTO] = "auto",
        [PRIVATE_USERS_OWNERSHIP_MAP] = "map",
        [PRIVATE_USERS_OWNERSHIP_CHOWN] = "chown",
        [PRIVATE_USERS_OWNERSHIP_OFF] = "off",
};
DEFINE_STRING_TABLE_LOOKUP(private_users_ownership, PrivateUsersOwnership);

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
        va_list ap;
        va_start(ap, fmt);
        const char *w = vwarn(diag, line, fmt, ap);
        va_end(ap);
        return w ? diag_fail(diag, -EINVAL, NULL, "%s", w) : diag_fail(diag, -EINVAL, NULL, NULL);
}

/* What a key's parser returns besides 0 and -errno: the value is bad (parse_assignment() ignores
 * it with a warning, or refuses the file when the key protects), or the key is not one of its. */
#define KEY_BAD_VALUE 1
#define KEY_UNKNOWN 2

/* The keys that set one field of the config, a bool, an int or an enum, from a value that parses
 * to a number (< 0: bad). */
typedef int (*ValueParser)(const char *value);

static int parse_bool_value(const char *value) {
        return parse_boolean(value);
}
/* (nspawn's *-uplink and *-stub need systemd-resolved: bad values here.) */
static int parse_resolv_conf_value(const char *value) {
        return (int) resolv_conf_mode_from_string(value);
}
static int parse_timezone_value(const char *value) {
        return (int) timezone_mode_from_string(value);
}
static int parse_volatile_value(const char *value) {
        return (int) volatile_mode_from_string(value);
}

_Static_assert(sizeof(ResolvConfMode) == sizeof(int) && sizeof(TimezoneMode) == sizeof(int) &&
                       sizeof(VolatileMode) == sizeof(int),
               "the enum fields of simple_keys are stored as int");
_Static_assert(sizeof(((SpawnConfig *) NULL)->kill_signal) == sizeof(int), "KillSignal= is stored as int");

#define FIELD(f) offsetof(SpawnConfig, f), sizeof(((SpawnConfig *) NULL)->f)
static const struct {
        Section section;
        const char *key;
        ValueParser parse;
        size_t offset, size; /* of the field in SpawnConfig */
        SettingMask bit;
} simple_keys[] = {
        { SECTION_EXEC, "NoNewPrivileges", parse_bool_value, FIELD(no_new_privileges), SETTING_NO_NEW_PRIVILEGES },
        { SECTION_EXEC, "SuppressSync", parse_bool_value, FIELD(suppress_sync), SETTING_SUPPRESS_SYNC },
        /* Honoured from any file (it narrows): changes are thrown away. */
        { SECTION_EXEC, "Ephemeral", parse_bool_value, FIELD(ephemeral), SETTING_EPHEMERAL },
        { SECTION_EXEC, "NotifyReady", parse_bool_value, FIELD(notify_ready), SETTING_NOTIFY_READY },
        { SECTION_EXEC, "KillSignal", signal_from_string, FIELD(kill_signal), SETTING_KILL_SIGNAL },
        { SECTION_EXEC, "ResolvConf", parse_resolv_conf_value, FIELD(resolv_conf), SETTING_RESOLV_CONF },
        { SECTION_EXEC, "Timezone", parse_timezone_value, FIELD(timezone), SETTING_TIMEZONE },
        { SECTION_FILES, "ReadOnly", parse_bool_value, FIELD(read_only), SETTING_READ_ONLY },
        { SECTION_FILES, "Volatile", parse_volatile_value, FIELD(volatile_mode), SETTING_VOLATILE },
        { SECTION_NETWORK, "Private", parse_bool_value, FIELD(private_network), SETTING_NETWORK },
};
#undef FIELD

static int parse_simple_key(SpawnConfig *c, Section sec, const char *key, const char *value) {
        for (size_t i = 0; i < ELEMENTSOF(simple_keys); i++) {
                if (simple_keys[i].section != sec || !streq(simple_keys[i].key, key))
                        continue;
                int v = simple_keys[i].parse(value);
                if (v < 0)
                        return KEY_BAD_VALUE;
                uint8_t *field = (uint8_t *) c + simple_keys[i].offset;
                if (simple_keys[i].size == sizeof(bool))
                        *(bool *) field = v;
                else
                        memcpy(field, &v, sizeof(v));
                c->mask |= simple_keys[i].bit;
                return 0;
        }
        return KEY_UNKNOWN;
}

/* One start mode, as nspawn's config_parse_boot()/config_parse_pid2(): Boot=yes and
 * ProcessTwo=yes exclude each other, and a "no" may not take back a "yes" of the same key; such a
 * line is ignored. */
static int parse_start_mode(SpawnConfig *c, unsigned line, const char *key, const char *value, Diag *diag) {
        bool boot = streq(key, "Boot");
        int b = parse_boolean(value);
        if (b < 0)
                return KEY_BAD_VALUE;
        if (b ? (boot ? c->as_pid2 : c->boot) : (boot ? c->boot : c->as_pid2)) {
                warn(diag, line, "conflicting Boot= or ProcessTwo= setting, ignoring");
                return 0;
        }
        if (boot)
                c->boot = b;
        else
                c->as_pid2 = b;
        c->mask |= boot ? SETTING_BOOT : SETTING_PROCESS_TWO;
        return 0;
}

/* config_parse_strv() as Parameters=; then only NAME=VALUE entries (nspawn would pass anything
 * on, even a word without "="). */
static int parse_environment(SpawnConfig *c, unsigned line, const char *key, const char *value, Diag *diag) {
        if (!*value) {
                strv_free(c->setenv);
                c->setenv = NULL;
        }
        _cleanup_strv_free_ char **l = NULL;
        int r = strv_assign_words(&l, value, SPAWN_ENVIRONMENT_MAX, line, key, diag);
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
        return 0;
}

/* As nspawn: [~] then words (split as Capability=); an unknown name is ignored with a warning,
 * the others (a refusal above all) apply. */
static int parse_syscall_filter(SpawnConfig *c, unsigned line, const char *key, const char *value, Diag *diag) {
        bool deny = value[0] == '~';
        for (const char *p = value + deny;;) {
                _cleanup_free_ char *w = NULL, *item = NULL;
                _cleanup_diag_ Diag bad = DIAG_INIT;
                int r = next_plain_word(&p, line, key, diag, &w);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
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
        return 0;
}

/* [Exec]: what runs, as whom, with which identity (and simple_keys). */
static int parse_exec_start_key(SpawnConfig *c, unsigned line, const char *key, const char *value, Diag *diag) {
        int r;
        if (streq(key, "Boot") || streq(key, "ProcessTwo"))
                return parse_start_mode(c, line, key, value, diag);
        if (streq(key, "Parameters")) {
                /* Only used with Boot= or ProcessTwo= in the same file (settings_merge). */
                r = strv_assign_words(&c->command, value, SPAWN_PARAMETERS_MAX, line, key, diag);
                if (r < 0)
                        return r;
                c->mask |= SETTING_COMMAND;
                return 0;
        }
        if (streq(key, "Environment"))
                return parse_environment(c, line, key, value, diag);
        if (streq(key, "User")) {
                free(c->user);
                c->user = *value ? strdup(value) : NULL;
                if (*value && !c->user)
                        return -ENOMEM;
                c->mask |= SETTING_USER;
                return 0;
        }
        if (streq(key, "WorkingDirectory") || streq(key, "Hostname")) {
                bool dir = streq(key, "WorkingDirectory");
                if (dir ? value[0] != '/' : !hostname_is_valid_simple(value))
                        return KEY_BAD_VALUE;
                char **field = dir ? &c->working_directory : &c->hostname;
                free(*field);
                if (!(*field = strdup(value)))
                        return -ENOMEM;
                c->mask |= dir ? SETTING_WORKING_DIRECTORY : SETTING_HOSTNAME;
                return 0;
        }
        if (streq(key, "PrivateUsers")) {
                PrivateUsersMode mode;
                if (private_users_parse(value, &mode, &c->uid_shift, &c->uid_range) < 0)
                        return KEY_BAD_VALUE;
                c->private_users = mode;
                c->mask |= SETTING_USERNS;
                return 0;
        }
        if (streq(key, "SetCredential") || streq(key, "LoadCredential")) {
                /* A bad one is ignored with a warning that names its ID, never its value;
                 * LoadCredential= is read at the merge, from a trusted file only. */
                _cleanup_diag_ Diag bad = DIAG_INIT;
                r = streq(key, "SetCredential") ? spawn_credential_set(c, value, &bad)
                                                : spawn_credential_add_pending(c, value, &bad);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        warn(diag, line, "invalid %s=: %s, ignoring", key, diag_message(&bad) ?: strerror(-r));
                return 0;
        }
        if (streq(key, "LinkJournal")) {
                if (link_journal_parse(value, &c->link_journal, &c->link_journal_try) < 0)
                        return KEY_BAD_VALUE;
                c->mask |= SETTING_LINK_JOURNAL;
                return 0;
        }
        if (streq(key, "MachineID")) {
                /* An all-zero ID is no ID (config_parse_id128 takes it, the merge skips it). */
                if (strspn(value, "0-") == strlen(value) && strlen(value) >= 32)
                        return 0;
                if (uuid_parse(value, c->uuid) < 0)
                        return KEY_BAD_VALUE;
                c->uuid_set = true;
                c->mask |= SETTING_MACHINE_ID;
                return 0;
        }
        return KEY_UNKNOWN;
}

/* [Exec]: capabilities, the system-call filter and the resources. */
static int parse_exec_limit_key(SpawnConfig *c, unsigned line, const char *key, const char *value, Diag *diag) {
        uint64_t m = 0;
        int r;
        if (streq(key, "Capability") || streq(key, "DropCapability") || streq(key, "AmbientCapability")) {
                bool drop = streq(key, "DropCapability");
                if ((r = parse_capabilities(value, line, key, drop, diag, &m)) < 0)
                        return r;
                if (streq(key, "AmbientCapability")) {
                        c->ambient_caps |= m;
                        c->mask |= SETTING_AMBIENT_CAPABILITY;
                        return 0;
                }
                if (drop)
                        c->caps_minus |= m;
                else
                        c->caps_plus |= m;
                c->mask |= SETTING_CAPABILITY;
                return 0;
        }
        if (streq(key, "SystemCallFilter"))
                return parse_syscall_filter(c, line, key, value, diag);
        if (streq(key, "OOMScoreAdjust")) {
                if (oom_score_adjust_parse(value, &c->oom_score_adjust) < 0)
                        return KEY_BAD_VALUE;
                c->oom_score_adjust_set = true;
                c->mask |= SETTING_OOM_SCORE_ADJUST;
                return 0;
        }
        if (streq(key, "CPUAffinity")) {
                CpuSet set;
                r = cpu_set_parse(value, &set);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return KEY_BAD_VALUE;
                cpu_set_done(&c->cpu_affinity);
                c->cpu_affinity = set;
                c->mask |= SETTING_CPU_AFFINITY;
                return 0;
        }
        if (streq(key, "Personality")) {
                unsigned long p = personality_from_string(value);
                if (p == PERSONALITY_INVALID)
                        return KEY_BAD_VALUE;
                c->personality = p;
                c->mask |= SETTING_PERSONALITY;
                return 0;
        }
        if (startswith(key, "Limit") && rlimit_from_string(key + 5) >= 0) {
                /* LimitNOFILE= and friends: SOFT[:HARD], as --rlimit=NOFILE=… */
                int res;
                struct rlimit rl;
                _cleanup_free_ char *spec = strjoin(key + 5, "=", value);
                if (!spec)
                        return -ENOMEM;
                if (rlimit_parse(spec, &res, &rl) < 0)
                        return KEY_BAD_VALUE;
                if (!c->rlimits[res] && !(c->rlimits[res] = malloc(sizeof(rl))))
                        return -ENOMEM;
                *c->rlimits[res] = rl;
                return 0;
        }
        return KEY_UNKNOWN;
}

/* [Files]: the user namespace's ownership, masks and mounts (and simple_keys). */
static int parse_files_key(SpawnConfig *c, const char *key, const char *value) {
        CustomMount m;
        int r;
        if (streq(key, "PrivateUsersOwnership") || streq(key, "PrivateUsersChown")) {
                PrivateUsersOwnership o;
                if (streq(key, "PrivateUsersChown")) {
                        /* The older boolean form: yes is chown, no is off. */
                        int b = parse_boolean(value);
                        if (b < 0)
                                return KEY_BAD_VALUE;
                        o = b ? PRIVATE_USERS_OWNERSHIP_CHOWN : PRIVATE_USERS_OWNERSHIP_OFF;
                } else if ((o = private_users_ownership_from_string(value)) < 0)
                        return KEY_BAD_VALUE;
                c->private_users_ownership = o;
                c->mask |= SETTING_USERNS_OWNERSHIP;
                return 0;
        }
        if (streq(key, "BindUser")) {
                /* nspawn: a list of names; an empty assignment empties it. */
                if (!*value) {
                        strv_free(c->bind_user);
                        c->bind_user = NULL;
                        c->mask |= SETTING_BIND_USER;
                        return 0;
                }
                _cleanup_strv_free_ char **l = NULL;
                for (const char *p = value; *p;) {
                        size_t n = strcspn(p, " \t");
                        if (n > 0) {
                                _cleanup_free_ char *w = strndup(p, n);
                                if (!w)
                                        return -ENOMEM;
                                r = bind_user_add(&l, w);
                                if (r == -ENOMEM)
                                        return r;
                                if (r < 0)
                                        return KEY_BAD_VALUE;
                        }
                        p += n;
                        p += strspn(p, " \t");
                }
                for (char **w = l; w && *w; w++)
                        if ((r = bind_user_add(&c->bind_user, *w)) < 0)
                                return r == -ENOMEM ? r : KEY_BAD_VALUE;
                c->mask |= SETTING_BIND_USER;
                return 0;
        }
        if (streq(key, "Inaccessible")) {
                r = inaccessible_path_add(&c->inaccessible, value);
                if (r == -ENOMEM || r == -E2BIG)
                        return r;
                if (r < 0)
                        return KEY_BAD_VALUE;
                c->mask |= SETTING_INACCESSIBLE;
                return 0;
        }
        if (streq(key, "Bind") || streq(key, "BindReadOnly"))
                r = custom_mount_parse_bind(value, streq(key, "BindReadOnly"), &m);
        else if (streq(key, "TemporaryFileSystem"))
                r = custom_mount_parse_tmpfs(value, &m);
        else if (streq(key, "Overlay") || streq(key, "OverlayReadOnly"))
                r = custom_mount_parse_overlay(value, streq(key, "OverlayReadOnly"), &m);
        else
                return KEY_UNKNOWN;
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return KEY_BAD_VALUE;
        r = spawn_config_add_mount(c, &m);
        if (r < 0) {
                custom_mount_done(&m);
                return r;
        }
        c->mask |= SETTING_CUSTOM_MOUNTS;
        return 0;
}

/* [Network]: Private= (simple_keys), the others spawn-network.c's. A bad value is ignored with a
 * warning, as systemd does, but never leaves the container in the host's network: it still gets a
 * network namespace of its own (only loopback). */
static int parse_network_key(SpawnConfig *c, unsigned line, const char *key, const char *value, Diag *diag) {
        _cleanup_diag_ Diag bad = DIAG_INIT;
        int r = spawn_network_parse_key(c, key, value, &bad);
        if (r == 0)
                return KEY_UNKNOWN;
        if (r > 0)
                return 0;
        if (r != -EINVAL)
                return r;
        c->private_network = true;
        c->mask |= SETTING_NETWORK;
        warn(diag, line, "invalid value for %s=: \"%.64s\"%s%s, ignoring it; the container gets a network namespace of its own",
             key, value, diag_message(&bad) ? ": " : "", diag_message(&bad) ?: "");
        return 0;
}

static int parse_assignment(SpawnConfig *c, Section sec, unsigned line, const char *key, const char *value,
                            Diag *diag) {
        static const char *const section_names[] = {
                [SECTION_EXEC] = "Exec", [SECTION_FILES] = "Files", [SECTION_NETWORK] = "Network"
        };
        if (sec == SECTION_NONE) {
                warn(diag, line, "assignment %s= outside of a section, ignoring", key);
                return 0;
        }
        int r = parse_simple_key(c, sec, key, value);
        if (r == KEY_UNKNOWN && sec == SECTION_EXEC)
                r = parse_exec_start_key(c, line, key, value, diag);
        if (r == KEY_UNKNOWN && sec == SECTION_EXEC)
                r = parse_exec_limit_key(c, line, key, value, diag);
        if (r == KEY_UNKNOWN && sec == SECTION_FILES)
                r = parse_files_key(c, key, value);
        if (r == KEY_UNKNOWN && sec == SECTION_NETWORK)
                r = parse_network_key(c, line, key, value, diag);
        if (r == KEY_UNKNOWN) {
                warn(diag, line, "unknown or unsupported key %s= in [%s], ignoring", key, section_names[sec]);
                return 0;
        }
        if (r != KEY_BAD_VALUE)
                return r;
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

static void take_string(char **to, char **from) {
        free(*to);
        *to = TAKE_PTR(*from);
}

/* The start mode as nspawn's merge_settings(): -b, -a or a command on the command line each keep
 * all of Boot=, ProcessTwo= and Parameters= out; otherwise Parameters= comes along with a Boot= or
 * ProcessTwo= of the file (either value), and without one of them it is ignored (nspawn 252 runs
 * the shell then). Returns what of m is left to merge. */
static SettingMask merge_start_mode(SpawnConfig *c, SpawnConfig *s, SettingMask m) {
        const SettingMask start = SETTING_BOOT | SETTING_PROCESS_TWO | SETTING_COMMAND;
        if (!(c->mask & start) && (s->mask & (SETTING_BOOT | SETTING_PROCESS_TWO))) {
                c->boot = s->boot;
                c->as_pid2 = s->as_pid2;
                strv_free(c->command);
                c->command = TAKE_PTR(s->command);
                return m;
        }
        return m & ~start;
}

/* What any file may set: what only narrows the container, or concerns only its own data. */
static int merge_from_any_file(SpawnConfig *c, SpawnConfig *s, SettingMask m) {
        /* The fields of simple_keys: ReadOnly=, Volatile=, NoNewPrivileges=, SuppressSync=,
         * Ephemeral=, KillSignal=; Private=, which only takes the host's network away (where
         * nspawn would need a trusted file); ResolvConf= and Timezone=, the container's own files
         * (copies or read-only binds of what the host shares by default anyway, as nspawn);
         * NotifyReady=, which concerns only cowpen's caller. */
        for (size_t i = 0; i < ELEMENTSOF(simple_keys); i++)
                if (m & simple_keys[i].bit)
                        memcpy((uint8_t *) c + simple_keys[i].offset, (uint8_t *) s + simple_keys[i].offset,
                               simple_keys[i].size);
        if (m & SETTING_ENVIRONMENT) {
                strv_free(c->setenv);
                c->setenv = TAKE_PTR(s->setenv);
        }
        if (m & SETTING_USER)
                take_string(&c->user, &s->user);
        if (m & SETTING_WORKING_DIRECTORY)
                take_string(&c->working_directory, &s->working_directory);
        if (m & SETTING_HOSTNAME)
                take_string(&c->hostname, &s->hostname);
        /* A user namespace only narrows what the container may do. */
        if (m & SETTING_USERNS) {
                c->private_users = s->private_users;
                c->uid_shift = s->uid_shift;
                c->uid_range = s->uid_range;
        }
        if (m & SETTING_USERNS_OWNERSHIP)
                c->private_users_ownership = s->private_users_ownership;
        if (m & SETTING_CPU_AFFINITY) {
                cpu_set_done(&c->cpu_affinity);
                c->cpu_affinity = s->cpu_affinity;
                s->cpu_affinity = (CpuSet) {};
        }
        if (m & SETTING_PERSONALITY)
                c->personality = s->personality;
        if (m & SETTING_INACCESSIBLE)
                for (char **p = s->inaccessible; p && *p; p++) {
                        int r = inaccessible_path_add(&c->inaccessible, *p);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* A refused call list narrows; an allowed one widens and needs a trusted file. An OOM score that
 * makes the container likelier to be killed narrows; a lower one needs a trusted file. The machine
 * ID is the identity machined and journal links go by: an image may not claim one (trusted files
 * only, as nspawn). What is not taken leaves *m. */
static int merge_filter_oom_id(SpawnConfig *c, SpawnConfig *s, bool trusted, SettingMask *m, Diag *diag) {
        int r;
        if (*m & SETTING_SYSCALL_FILTER) {
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
        if (*m & SETTING_OOM_SCORE_ADJUST) {
                if (s->oom_score_adjust < 0 && !trusted) {
                        note_untrusted(diag, "OOMScoreAdjust= (below 0)");
                        *m &= ~SETTING_OOM_SCORE_ADJUST;
                } else {
                        c->oom_score_adjust = s->oom_score_adjust;
                        c->oom_score_adjust_set = true;
                }
        }
        if (*m & SETTING_MACHINE_ID) {
                if (trusted) {
                        memcpy(c->uuid, s->uuid, sizeof(c->uuid));
                        c->uuid_set = true;
                } else {
                        note_untrusted(diag, "MachineID=");
                        *m &= ~SETTING_MACHINE_ID;
                }
        }
        return 0;
}

/* Limits: the command line's win; a trusted file sets them; an untrusted one may only lower them
 * (both values at most what the container would get otherwise, which is cowpen's own), as nspawn
 * (which takes none from it) never widens either. */
static void merge_rlimits(SpawnConfig *c, SpawnConfig *s, bool trusted, Diag *diag) {
        for (int i = 0; i < RLIMIT_NLIMITS; i++) {
                if (!s->rlimits[i] || c->rlimits[i])
                        continue;
                struct rlimit cur;
                if (!trusted && (getrlimit(i, &cur) < 0 || s->rlimits[i]->rlim_cur > cur.rlim_cur ||
                                 s->rlimits[i]->rlim_max > cur.rlim_max)) {
                        char what[64];
                        snprintf(what, sizeof(what), "Limit%s= (above the current limit)", rlimit_to_string(i) ?: "?");
                        note_untrusted(diag, what);
                        continue;
                }
                c->rlimits[i] = TAKE_PTR(s->rlimits[i]);
        }
}

/* Dropping capabilities narrows: from any file; adding them, ambient capabilities and mounts
 * widen the container's reach on the host: only from a trusted file, as nspawn. */
static int merge_privileged(SpawnConfig *c, SpawnConfig *s, bool trusted, SettingMask *m, Diag *diag) {
        if ((*m & SETTING_CAPABILITY) && !trusted) {
                c->caps_minus |= s->caps_minus;
                if (s->caps_plus)
                        note_untrusted(diag, "Capability=");
                *m &= ~SETTING_CAPABILITY;
        }
        static const struct {
                SettingMask bit;
                const char *what;
        } privileged[] = {
                { SETTING_AMBIENT_CAPABILITY, "AmbientCapability=" },
                { SETTING_CUSTOM_MOUNTS, "Bind=, BindReadOnly=, TemporaryFileSystem= and Overlay=" },
                /* A credential's data, read by cowpen (LoadCredential= of any host file), and the
                 * host's journal directory: what nspawn takes from trusted files only. */
                { SETTING_CREDENTIALS, "SetCredential= and LoadCredential=" },
                { SETTING_LINK_JOURNAL, "LinkJournal=" },
                { SETTING_BIND_USER, "BindUser=" },
        };
        for (size_t i = 0; i < ELEMENTSOF(privileged); i++) {
                if (!(*m & privileged[i].bit) || trusted)
                        continue;
                note_untrusted(diag, privileged[i].what);
                *m &= ~privileged[i].bit;
        }
        if (*m & SETTING_CAPABILITY) {
                c->caps_plus |= s->caps_plus;
                c->caps_minus |= s->caps_minus;
        }
        if (*m & SETTING_AMBIENT_CAPABILITY)
                c->ambient_caps |= s->ambient_caps;
        if (*m & SETTING_LINK_JOURNAL) {
                c->link_journal = s->link_journal;
                c->link_journal_try = s->link_journal_try;
        }
        if (*m & SETTING_BIND_USER) {
                strv_free(c->bind_user);
                c->bind_user = TAKE_PTR(s->bind_user);
        }
        if (*m & SETTING_CREDENTIALS) {
                /* The command line had none (its credentials replace the file's, as nspawn). */
                spawn_credentials_free(c->credentials, c->n_credentials);
                c->credentials = TAKE_PTR(s->credentials);
                c->n_credentials = s->n_credentials;
                s->n_credentials = 0;
                int r = spawn_credentials_load_pending(c, diag);
                if (r < 0)
                        return r;
        }
        if (*m & SETTING_CUSTOM_MOUNTS)
                for (size_t i = 0; i < s->n_mounts; i++) {
                        int r = spawn_config_add_mount(c, &s->mounts[i]);
                        if (r < 0)
                                return r;
                        s->mounts[i] = (CustomMount) {};
                }
        return 0;
}

int settings_merge(SpawnConfig *c, SpawnConfig *s, bool trusted, const char *path, Diag *diag) {
        SettingMask m = merge_start_mode(c, s, s->mask & ~c->mask);
        int r;
        if ((r = merge_from_any_file(c, s, m)) < 0 || (r = merge_filter_oom_id(c, s, trusted, &m, diag)) < 0)
                return r;
        merge_rlimits(c, s, trusted, diag);
        if ((r = merge_privileged(c, s, trusted, &m, diag)) < 0)
                return r;
        if ((r = spawn_network_merge(c, s, trusted, m, diag)) < 0)
                return r;
        c->mask |= m;
        return 0;
}
