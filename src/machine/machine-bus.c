/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "dlopen-util.h"
#include "fd-util.h"
#include "machine.h"
#include "util.h"

/* Registration with systemd-machined and the scope of a run (machine.h says what is sent). The
 * only file that uses sd-bus.
 *
 * Untrusted input: --property= assignments (from the command line or a unit's ExecStart=), parsed
 * against a fixed table, each value checked for its D-Bus type; at most
 * MACHINE_BUS_PROPERTIES_MAX of them. Replies and errors of the bus are printed only through
 * printable() (cut at MACHINE_BUS_ERROR_MAX bytes). */

#define MACHINE_BUS_ERROR_MAX 256U
/* How long the scope's job may take to move us (systemd runs it right after queueing it). */
#define MACHINE_BUS_SCOPE_WAIT_USEC (10ULL * 1000 * 1000)

static typeof(sd_bus_open_system) *sym_sd_bus_open_system;
static typeof(sd_bus_flush_close_unref) *sym_sd_bus_flush_close_unref;
static typeof(sd_bus_call_method) *sym_sd_bus_call_method;
static typeof(sd_bus_call) *sym_sd_bus_call;
static typeof(sd_bus_error_free) *sym_sd_bus_error_free;
static typeof(sd_bus_message_new_method_call) *sym_sd_bus_message_new_method_call;
static typeof(sd_bus_message_append) *sym_sd_bus_message_append;
static typeof(sd_bus_message_append_array) *sym_sd_bus_message_append_array;
static typeof(sd_bus_message_open_container) *sym_sd_bus_message_open_container;
static typeof(sd_bus_message_close_container) *sym_sd_bus_message_close_container;
static typeof(sd_bus_message_unref) *sym_sd_bus_message_unref;
static typeof(sd_bus_process) *sym_sd_bus_process;
static typeof(sd_bus_wait) *sym_sd_bus_wait;

static const DlopenSymbol libsystemd_symbols[] = {
        DLSYM(sd_bus_open_system),
        DLSYM(sd_bus_flush_close_unref),
        DLSYM(sd_bus_call_method),
        DLSYM(sd_bus_call),
        DLSYM(sd_bus_error_free),
        DLSYM(sd_bus_message_new_method_call),
        DLSYM(sd_bus_message_append),
        DLSYM(sd_bus_message_append_array),
        DLSYM(sd_bus_message_open_container),
        DLSYM(sd_bus_message_close_container),
        DLSYM(sd_bus_message_unref),
        DLSYM(sd_bus_process),
        DLSYM(sd_bus_wait),
        {},
};
static DlopenLibrary libsystemd_library = DLOPEN_LIBRARY_INIT(LIBSYSTEMD_SONAME, libsystemd_symbols);

struct MachineBus {
        sd_bus *bus;
        char *registered; /* the name machine_bus_register() registered */
};

static void bus_error_freep(sd_bus_error *e) {
        sym_sd_bus_error_free(e);
}
static void bus_message_unrefp(sd_bus_message **m) {
        if (*m)
                sym_sd_bus_message_unref(*m);
}

/* One phrase for a failed call: the bus error's name and message, printable and cut. */
static int bus_fail(Diag *diag, int r, const sd_bus_error *e, const char *what) {
        _cleanup_free_ char *msg = printable(e && e->message ? e->message : strerror(-r), MACHINE_BUS_ERROR_MAX);
        _cleanup_free_ char *name = e && e->name ? printable(e->name, MACHINE_BUS_ERROR_MAX) : NULL;
        if (name)
                return diag_fail(diag, r, NULL, "%s: %s (%s)", what, msg ? msg : "?", name);
        return diag_fail(diag, r, NULL, "%s: %s", what, msg ? msg : "?");
}

bool machine_bus_name_is_valid(const char *name) {
        size_t n = strlen(name);
        if (n == 0 || n > 64 || name[0] == '.' || name[n - 1] == '.' || name[0] == '-')
                return false;
        for (const char *p = name; *p; p++) {
                if (*p == '.' && (p[1] == '.' || p[1] == '-' || p[-1] == '-'))
                        return false;
                if (!(isascii((unsigned char) *p) && (isalnum((unsigned char) *p) || *p == '-' || *p == '.')))
                        return false;
        }
        return name[n - 1] != '-';
}

static const char *system_bus_socket(void) {
        const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        /* "unix:path=/x" is the only form whose presence can be told without connecting. */
        if (a && startswith(a, "unix:path=") && !strchr(a, ','))
                return a + strlen("unix:path=");
        return a ? NULL : "/run/dbus/system_bus_socket";
}

bool machine_bus_socket_exists(void) {
        const char *s = system_bus_socket();
        if (!s)
                return getenv("DBUS_SYSTEM_BUS_ADDRESS") != NULL; /* another address form: try it */
        struct stat st;
        return stat(s, &st) >= 0 && S_ISSOCK(st.st_mode);
}

bool machine_bus_manager_running(void) {
        struct stat st;
        return lstat("/run/systemd/system", &st) >= 0 && S_ISDIR(st.st_mode);
}

MachineBus *machine_bus_free(MachineBus *b) {
        if (!b)
                return NULL;
        machine_bus_unregister(b);
        if (b->bus)
                sym_sd_bus_flush_close_unref(b->bus);
        free(b);
        return NULL;
}

int machine_bus_open(bool machined, MachineBus **ret, Diag *diag) {
        if (!machine_bus_socket_exists()) {
                const char *s = system_bus_socket();
                return diag_fail(
                        diag, -ENOENT, NULL, "no system bus (%s is missing)", s ? s : "$DBUS_SYSTEM_BUS_ADDRESS");
        }
        const char *detail = NULL;
        int r = dlopen_library(&libsystemd_library, &detail);
        if (r < 0)
                return diag_fail(diag, r, NULL, "%s (the D-Bus client library)", detail ? detail : "libsystemd");
        _cleanup_(machine_bus_freep) MachineBus *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        if ((r = sym_sd_bus_open_system(&b->bus)) < 0)
                return diag_fail(diag, r, NULL, "cannot connect to the system bus: %m");
        if (machined) {
                /* machined is started by the bus on the first call to it: Ping starts it, or says
                 * there is none (ServiceUnknown, or NameHasNoOwner without activation). */
                _cleanup_(bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
                r = sym_sd_bus_call_method(b->bus, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                        "org.freedesktop.DBus.Peer", "Ping", &e, NULL, "");
                if (r < 0)
                        return bus_fail(
                                diag, -EHOSTUNREACH, &e, "systemd-machined is not reachable on the system bus");
        }
        *ret = TAKE_PTR(b);
        return 0;
}

/* ---- --property= ---- */

typedef enum PropertyType {
        PROPERTY_BOOL,         /* b */
        PROPERTY_STRING,       /* s, one of a list of words */
        PROPERTY_BYTES,        /* t: bytes with K, M, G, T suffixes (base 1024), or "infinity" */
        PROPERTY_UINT,         /* t: a number, or "infinity" */
        PROPERTY_WEIGHT,       /* t: 1…10000 */
        PROPERTY_PERCENT_USEC, /* CPUQuota=N%: t CPUQuotaPerSecUSec, N% of one CPU second */
        PROPERTY_SECONDS_USEC, /* t …USec: a time span, "5s", "100ms", "2min" (plain: seconds) */
        PROPERTY_SIGNAL,       /* i: a signal by name or number */
        PROPERTY_DEVICE,       /* a(ss): "PATH [rwm]" */
} PropertyType;

typedef struct PropertyInfo {
        const char *name;     /* as --property= names it */
        const char *bus_name; /* as the bus does, when it differs */
        PropertyType type;
        const char *words; /* PROPERTY_STRING: the values allowed, NUL-separated */
} PropertyInfo;

/* The subset sent (systemd.resource-control(5), systemd.kill(5)); anything else is refused by
 * name rather than sent in a guessed type. */
static const PropertyInfo property_table[] = {
        {"CPUAccounting", NULL, PROPERTY_BOOL, NULL},
        {"MemoryAccounting", NULL, PROPERTY_BOOL, NULL},
        {"IOAccounting", NULL, PROPERTY_BOOL, NULL},
        {"TasksAccounting", NULL, PROPERTY_BOOL, NULL},
        {"IPAccounting", NULL, PROPERTY_BOOL, NULL},
        {"SendSIGKILL", NULL, PROPERTY_BOOL, NULL},
        {"SendSIGHUP", NULL, PROPERTY_BOOL, NULL},
        {"CPUWeight", NULL, PROPERTY_WEIGHT, NULL},
        {"StartupCPUWeight", NULL, PROPERTY_WEIGHT, NULL},
        {"IOWeight", NULL, PROPERTY_WEIGHT, NULL},
        {"StartupIOWeight", NULL, PROPERTY_WEIGHT, NULL},
        {"CPUQuota", "CPUQuotaPerSecUSec", PROPERTY_PERCENT_USEC, NULL},
        {"MemoryMin", NULL, PROPERTY_BYTES, NULL},
        {"MemoryLow", NULL, PROPERTY_BYTES, NULL},
        {"MemoryHigh", NULL, PROPERTY_BYTES, NULL},
        {"MemoryMax", NULL, PROPERTY_BYTES, NULL},
        {"MemorySwapMax", NULL, PROPERTY_BYTES, NULL},
        {"TasksMax", NULL, PROPERTY_UINT, NULL},
        {"TimeoutStopSec", "TimeoutStopUSec", PROPERTY_SECONDS_USEC, NULL},
        {"RuntimeMaxSec", "RuntimeMaxUSec", PROPERTY_SECONDS_USEC, NULL},
        {"KillSignal", NULL, PROPERTY_SIGNAL, NULL},
        {"KillMode", NULL, PROPERTY_STRING, "control-group\0process\0mixed\0none\0"},
        {"CollectMode", NULL, PROPERTY_STRING, "inactive\0inactive-or-failed\0"},
        {"DevicePolicy", NULL, PROPERTY_STRING, "auto\0closed\0strict\0"},
        {"DeviceAllow", NULL, PROPERTY_DEVICE, NULL},
};

const char *machine_bus_property_names(void) {
        static char names[1024];
        if (!names[0]) {
                size_t n = 0;
                for (size_t i = 0; i < ELEMENTSOF(property_table); i++)
                        n += (size_t) snprintf(
                                names + n, sizeof(names) - n, "%s%s", i ? ", " : "", property_table[i].name);
        }
        return names;
}

typedef struct PropertyValue {
        const PropertyInfo *info;
        int b;
        uint64_t u;
        int sig;
        const char *s;  /* PROPERTY_STRING, the word; PROPERTY_DEVICE, the path */
        char access[8]; /* PROPERTY_DEVICE: "rwm" at most */
} PropertyValue;

static int parse_uint_or_infinity(const char *v, bool bytes, uint64_t *ret) {
        if (streq(v, "infinity")) {
                *ret = UINT64_MAX;
                return 0;
        }
        return bytes ? parse_size(v, ret) : safe_atou64(v, ret);
}

static int parse_timespan_usec(const char *v, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {{"us", 1}, {"ms", 1000}, {"min", 60ULL * 1000000}, {"s", 1000000}, {"h", 3600ULL * 1000000},
                {"", 1000000}};
        if (streq(v, "infinity")) {
                *ret = UINT64_MAX;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                const char *e = endswith(v, units[i].suffix);
                if (!e || e == v)
                        continue;
                _cleanup_free_ char *num = strndup(v, (size_t) (e - v));
                uint64_t n;
                if (!num)
                        return -ENOMEM;
                if (safe_atou64(num, &n) < 0)
                        continue;
                if (n > UINT64_MAX / units[i].usec)
                        return -ERANGE;
                *ret = n * units[i].usec;
                return 0;
        }
        return -EINVAL;
}

static int parse_signal(const char *v, int *ret) {
        int n;
        if (safe_atoi(v, &n) >= 0) {
                if (n < 1 || n > SIGRTMAX)
                        return -EINVAL;
                *ret = n;
                return 0;
        }
        const char *name = startswith(v, "SIG") ? v + 3 : v;
        /* RTMIN, RTMIN+N, RTMAX, RTMAX-N, as systemd spells the real-time signals. */
        if (startswith(name, "RTMIN") || startswith(name, "RTMAX")) {
                bool min = name[4] == 'N';
                const char *off = name + 5;
                int k = 0;
                if (*off && ((min && *off != '+') || (!min && *off != '-') || safe_atoi(off + 1, &k) < 0 || k < 0))
                        return -EINVAL;
                int sig = min ? SIGRTMIN + k : SIGRTMAX - k;
                if (sig < SIGRTMIN || sig > SIGRTMAX)
                        return -EINVAL;
                *ret = sig;
                return 0;
        }
        for (int s = 1; s < SIGRTMIN; s++) {
                const char *abbrev = sigabbrev_np(s);
                if (abbrev && streq(abbrev, name)) {
                        *ret = s;
                        return 0;
                }
        }
        return -EINVAL;
}

static int property_parse(const char *assignment, PropertyValue *ret, Diag *diag) {
        const char *eq = strchr(assignment, '=');
        _cleanup_free_ char *p = printable(assignment, 128);
        if (!eq || eq == assignment)
                return diag_fail(diag, -EINVAL, p, "not NAME=VALUE");
        size_t l = (size_t) (eq - assignment);
        const char *v = eq + 1;
        const PropertyInfo *info = NULL;
        for (size_t i = 0; i < ELEMENTSOF(property_table); i++)
                if (strlen(property_table[i].name) == l && strneq(property_table[i].name, assignment, l))
                        info = &property_table[i];
        if (!info) {
                _cleanup_free_ char *name = strndup(assignment, l), *pn = name ? printable(name, 64) : NULL;
                return diag_fail(diag, -EOPNOTSUPP, NULL, "unsupported unit property %s (cowpen sends: %s)",
                        pn ? pn : "?", machine_bus_property_names());
        }
        PropertyValue pv = {.info = info};
        int r = 0;
        switch (info->type) {
        case PROPERTY_BOOL:
                r = pv.b = parse_boolean(v);
                break;
        case PROPERTY_STRING:
                r = -EINVAL;
                for (const char *w = info->words; *w; w += strlen(w) + 1)
                        if (streq(w, v)) {
                                pv.s = w;
                                r = 0;
                        }
                break;
        case PROPERTY_BYTES:
        case PROPERTY_UINT:
                r = parse_uint_or_infinity(v, info->type == PROPERTY_BYTES, &pv.u);
                break;
        case PROPERTY_WEIGHT:
                r = safe_atou64(v, &pv.u);
                if (r >= 0 && (pv.u < 1 || pv.u > 10000))
                        r = -ERANGE;
                break;
        case PROPERTY_PERCENT_USEC: {
                /* N% of one CPU's second, as systemd: 20% is 200000 us per second. */
                const char *pct = endswith(v, "%");
                _cleanup_free_ char *num = pct && pct > v ? strndup(v, (size_t) (pct - v)) : NULL;
                r = num ? safe_atou64(num, &pv.u) : -EINVAL;
                if (r >= 0 && (pv.u < 1 || pv.u > UINT64_MAX / 10000))
                        r = -ERANGE;
                pv.u *= 10000;
                break;
        }
        case PROPERTY_SECONDS_USEC:
                r = parse_timespan_usec(v, &pv.u);
                break;
        case PROPERTY_SIGNAL:
                r = parse_signal(v, &pv.sig);
                break;
        case PROPERTY_DEVICE: {
                /* "PATH [ACCESS]": a /dev path, or char-NAME / block-NAME (systemd's classes). */
                const char *sp = strchr(v, ' ');
                const char *acc = sp ? sp + 1 : "rwm";
                pv.s = v;
                r = (startswith(v, "/dev/") || startswith(v, "char-") || startswith(v, "block-")) &&
                                    strlen(acc) <= 3 && strspn(acc, "rwm") == strlen(acc)
                            ? 0
                            : -EINVAL;
                if (r >= 0)
                        memcpy(pv.access, acc, strlen(acc) + 1);
                break;
        }
        }
        if (r < 0) {
                _cleanup_free_ char *pv_ = printable(v, 128);
                return diag_fail(
                        diag, -EINVAL, NULL, "bad value for unit property %s: %s", info->name, pv_ ? pv_ : "?");
        }
        if (ret)
                *ret = pv;
        return 0;
}

int machine_bus_property_check(const char *assignment, Diag *diag) {
        return property_parse(assignment, NULL, diag);
}

static int append_property(sd_bus_message *m, const char *assignment, Diag *diag) {
        PropertyValue pv;
        int r = property_parse(assignment, &pv, diag);
        if (r < 0)
                return r;
        const char *name = pv.info->bus_name ? pv.info->bus_name : pv.info->name;
        switch (pv.info->type) {
        case PROPERTY_BOOL:
                return sym_sd_bus_message_append(m, "(sv)", name, "b", pv.b);
        case PROPERTY_STRING:
                return sym_sd_bus_message_append(m, "(sv)", name, "s", pv.s);
        case PROPERTY_BYTES:
        case PROPERTY_UINT:
        case PROPERTY_WEIGHT:
        case PROPERTY_PERCENT_USEC:
        case PROPERTY_SECONDS_USEC:
                return sym_sd_bus_message_append(m, "(sv)", name, "t", pv.u);
        case PROPERTY_SIGNAL:
                return sym_sd_bus_message_append(m, "(sv)", name, "i", (int32_t) pv.sig);
        case PROPERTY_DEVICE: {
                const char *sp = strchr(pv.s, ' ');
                _cleanup_free_ char *path = sp ? strndup(pv.s, (size_t) (sp - pv.s)) : strdup(pv.s);
                if (!path)
                        return -ENOMEM;
                return sym_sd_bus_message_append(m, "(sv)", name, "a(ss)", 1, path, pv.access);
        }
        }
        return -EINVAL;
}

/* ---- the scope ---- */

/* systemd's unit name escaping (systemd-escape): [A-Za-z0-9:_.] stay, a leading '.' and anything
 * else become \xNN. Machine names are host-name-like, so only '-' is escaped in practice. */
static char *unit_name_escape(const char *s) {
        char *e = malloc(strlen(s) * 4 + 1), *t = e;
        if (!e)
                return NULL;
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if ((isascii(c) && isalnum(c)) || c == ':' || c == '_' || (c == '.' && p != s))
                        *t++ = (char) c;
                else
                        t += sprintf(t, "\\x%02x", c);
        }
        *t = 0;
        return e;
}

/* Whether /proc/self/cgroup shows us in the unit (a path component of that name). */
static bool in_unit(const char *unit) {
        _cleanup_free_ char *text = NULL;
        if (read_file_at(AT_FDCWD, "/proc/self/cgroup", 0, 1024 * 1024, &text, NULL) < 0)
                return false;
        size_t l = strlen(unit);
        for (const char *p = text; (p = strstr(p, unit)); p += l)
                if (p > text && p[-1] == '/' && (p[l] == '/' || p[l] == '\n' || p[l] == 0))
                        return true;
        return false;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* What systemd-nspawn@.service allows (and nspawn's own scopes, for the container): /dev/net/tun,
 * ptys to open; and, since the scope holds cowpen too, what cowpen itself opens while the run
 * lasts and at its end (loop devices and device-mapper of -i images). The container's own cgroup
 * below has cowpen's stricter policy besides (spawn-cgroup.c). */
static const char *const scope_device_allow[] = {
        "/dev/net/tun",
        "rwm",
        "char-pts",
        "rw",
        "/dev/loop-control",
        "rw",
        "block-loop",
        "rw",
        "block-blkext",
        "rw",
        "/dev/mapper/control",
        "rw",
        "block-device-mapper",
        "rw",
};

static int append_scope_properties(sd_bus_message *m, const MachineBusScope *s, const char *unit, Diag *diag) {
        _cleanup_free_ char *description = strjoin("Container ", s->name);
        if (!description)
                return -ENOMEM;
        int r = sym_sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)", "PIDs", "au", 1, (uint32_t) getpid(),
                "Description", "s", description, "Delegate", "b", 1, "CollectMode", "s", "inactive-or-failed", "Slice",
                "s", s->slice && *s->slice ? s->slice : "machine.slice", "DevicePolicy", "s", "closed");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(scope_device_allow); i += 2)
                r = sym_sd_bus_message_append(
                        m, "(sv)", "DeviceAllow", "a(ss)", 1, scope_device_allow[i], scope_device_allow[i + 1]);
        for (char **d = s->device_allow; r >= 0 && d && d[0] && d[1]; d += 2)
                r = sym_sd_bus_message_append(m, "(sv)", "DeviceAllow", "a(ss)", 1, d[0], d[1]);
        if (r < 0)
                return diag_fail(diag, r, NULL, "build the request for %s: %m", unit);
        size_t n = 0;
        for (char **p = s->properties; p && *p; p++) {
                if (++n > MACHINE_BUS_PROPERTIES_MAX)
                        return diag_fail(diag, -E2BIG, NULL, "more than %u --property= assignments",
                                MACHINE_BUS_PROPERTIES_MAX);
                if ((r = append_property(m, *p, diag)) < 0)
                        return diag_failed(diag) ? r : diag_fail(diag, r, NULL, "build the request for %s: %m", unit);
        }
        return 0;
}

int machine_bus_start_scope(MachineBus *b, const MachineBusScope *s, Diag *diag) {
        _cleanup_free_ char *esc = unit_name_escape(s->name);
        _cleanup_free_ char *unit = esc ? strjoin("machine-", esc, ".scope") : NULL;
        if (!unit)
                return -ENOMEM;
        /* A container that rebooted is started again by the same cowpen, which is in the scope
         * still: the scope stays, the machine is registered anew. */
        if (in_unit(unit))
                return 0;
        _cleanup_(bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r = sym_sd_bus_message_new_method_call(b->bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = sym_sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return diag_fail(diag, r, NULL, "build the request for %s: %m", unit);
        if ((r = append_scope_properties(m, s, unit, diag)) < 0)
                return r;
        r = sym_sd_bus_message_close_container(m);
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "a(sa(sv))", 0); /* no auxiliary units */
        if (r < 0)
                return diag_fail(diag, r, NULL, "build the request for %s: %m", unit);
        _cleanup_(bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
        if ((r = sym_sd_bus_call(b->bus, m, 0, &e, &reply)) < 0) {
                _cleanup_free_ char *what = strjoin("systemd refused the scope ", unit);
                return bus_fail(diag, r, &e, what ? what : "systemd refused the scope");
        }
        /* The job that moves us runs right after it was queued: until we are there, the container's
         * cgroup would be made below our old one. */
        for (uint64_t end = now_usec() + MACHINE_BUS_SCOPE_WAIT_USEC; !in_unit(unit);) {
                uint64_t now = now_usec();
                if (now >= end)
                        return diag_fail(diag, -ETIMEDOUT, NULL, "systemd did not move cowpen into %s", unit);
                while (sym_sd_bus_process(b->bus, NULL) > 0)
                        ;
                (void) sym_sd_bus_wait(b->bus, MIN(end - now, 20ULL * 1000));
        }
        return 0;
}

/* ---- machined ---- */

int machine_bus_register(MachineBus *b, const MachineBusRegistration *reg, Diag *diag) {
        _cleanup_(bus_message_unrefp) sd_bus_message *m = NULL;
        int r = sym_sd_bus_message_new_method_call(b->bus, &m, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                "org.freedesktop.machine1.Manager", "RegisterMachineWithNetwork");
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "s", reg->name);
        if (r >= 0)
                r = sym_sd_bus_message_append_array(m, 'y', reg->uuid, reg->uuid ? 16 : 0);
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "ssus", "cowpen", "container", (uint32_t) reg->leader,
                        reg->root_directory ? reg->root_directory : "");
        if (r >= 0)
                r = sym_sd_bus_message_append_array(m, 'i', reg->ifindices, reg->n_ifindices * sizeof(int));
        if (r < 0)
                return diag_fail(diag, r, NULL, "build the registration of machine %s: %m", reg->name);
        _cleanup_(bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
        if ((r = sym_sd_bus_call(b->bus, m, 0, &e, NULL)) < 0) {
                _cleanup_free_ char *what = strjoin("systemd-machined refused machine ", reg->name);
                return bus_fail(diag, r, &e, what ? what : "systemd-machined refused the machine");
        }
        free(b->registered);
        b->registered = strdup(reg->name); /* without it, machined forgets the machine with its unit */
        return 0;
}

void machine_bus_unregister(MachineBus *b) {
        if (!b || !b->registered)
                return;
        _cleanup_(bus_error_freep) sd_bus_error e = SD_BUS_ERROR_NULL;
        (void) sym_sd_bus_call_method(b->bus, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                "org.freedesktop.machine1.Manager", "UnregisterMachine", &e, NULL, "s", b->registered);
        free(b->registered);
        b->registered = NULL;
}
