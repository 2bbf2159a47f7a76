/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "json-util.h"
#include "spawn.h"
#include "spawn-user.h"
#include "util.h"

/* run --oci-bundle=DIR: an OCI runtime bundle's config.json mapped onto run's options, as far as
 * they express it (the fields systemd-nspawn's --oci-bundle= maps, of the OCI runtime spec 1.x).
 * Untrusted input: the whole file (size, nesting and every list bounded below and in spawn.h),
 * every value type-checked and validated as the command line's are. A field that asks for what
 * run cannot do fails the parse with one line naming it ("linux.resources.memory is not
 * supported"); unknown fields are ignored, as the spec requires. */

typedef struct Ctx {
        SpawnConfig *c;
        OciBundleExtra *x;
        Diag *diag;
} Ctx;

static int bad(Ctx *k, int r, const char *field, const char *what) {
        return diag_fail(k->diag, r, "config.json", "%s %s", field, what);
}

static int unsupported(Ctx *k, const char *field) {
        return diag_fail(k->diag, -EOPNOTSUPP, "config.json", "%s is not supported", field);
}

static int invalid(Ctx *k, const char *field) {
        return diag_fail(k->diag, -EINVAL, "config.json", "%s is invalid", field);
}

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;
        if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return NULL;
        return v;
}

/* Whether a value asks for nothing: absent, null, false, "", [], {}. */
static bool empty(json_object *v) {
        if (!v)
                return true;
        switch (json_object_get_type(v)) {
        case json_type_null:
                return true;
        case json_type_boolean:
                return !json_object_get_boolean(v);
        case json_type_string:
                return json_object_get_string_len(v) == 0;
        case json_type_array:
                return json_object_array_length(v) == 0;
        case json_type_object:
                return json_object_object_length(v) == 0;
        case json_type_int:
        case json_type_double:
        default:
                return false;
        }
}

static int get_typed(Ctx *k, json_object *o, const char *key, const char *field, json_type t, json_object **ret) {
        json_object *v = get(o, key);
        *ret = v;
        if (v && !json_object_is_type(v, t))
                return diag_fail(k->diag, -EINVAL, "config.json", "%s is not %s", field,
                        t == json_type_object    ? "an object"
                        : t == json_type_array   ? "an array"
                        : t == json_type_string  ? "a string"
                        : t == json_type_boolean ? "a boolean"
                                                 : "a number");
        if (v && t == json_type_string && strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
                return diag_fail(k->diag, -EINVAL, "config.json", "%s contains a NUL byte", field);
        if (v && t == json_type_array && json_object_array_length(v) > OCI_BUNDLE_LIST_MAX)
                return diag_fail(k->diag, -E2BIG, "config.json", "%s has too many entries", field);
        return v ? 1 : 0;
}

static int get_u32(Ctx *k, json_object *v, const char *field, uint32_t max, uint32_t *ret) {
        if (!json_object_is_type(v, json_type_int))
                return diag_fail(k->diag, -EINVAL, "config.json", "%s is not an integer", field);
        int64_t n = json_object_get_int64(v);
        if (n < 0 || (uint64_t) n > max)
                return diag_fail(k->diag, -ERANGE, "config.json", "%s is out of range", field);
        *ret = (uint32_t) n;
        return 0;
}

/* Each field of a list that only names what must be empty: the first that is not fails. */
static int refuse_fields(Ctx *k, json_object *o, const char *prefix, const char *const *keys, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!empty(get(o, keys[i]))) {
                        char f[128];
                        snprintf(f, sizeof(f), "%s%s%s", prefix ?: "", prefix ? "." : "", keys[i]);
                        return unsupported(k, f);
                }
        return 0;
}

static int strv_from_array(Ctx *k, json_object *a, const char *field, size_t max, char ***ret) {
        size_t n = json_object_array_length(a);
        if (n > max)
                return diag_fail(k->diag, -E2BIG, "config.json", "%s has too many entries", field);
        _cleanup_strv_free_ char **l = NULL;
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(a, i);
                if (!json_object_is_type(v, json_type_string))
                        return diag_fail(k->diag, -EINVAL, "config.json", "%s[%zu] is not a string", field, i);
                const char *s = json_object_get_string(v);
                if (strlen(s) != (size_t) json_object_get_string_len(v))
                        return diag_fail(k->diag, -EINVAL, "config.json", "%s[%zu] contains a NUL byte", field, i);
                if (strv_extend(&l, s) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static bool path_ok(const char *p) {
        return p && p[0] == '/' && strlen(p) < 4096 && !strstr(p, "//") && !strstr(p, "/../") &&
               !(strlen(p) >= 3 && streq(p + strlen(p) - 3, "/..")) && !strchr(p, ':');
}

static int parse_caps(Ctx *k, json_object *caps) {
        static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted", "ambient"};
        uint64_t m[ELEMENTSOF(sets)] = {};
        bool given[ELEMENTSOF(sets)] = {};
        for (size_t i = 0; i < ELEMENTSOF(sets); i++) {
                char f[64];
                snprintf(f, sizeof(f), "process.capabilities.%s", sets[i]);
                json_object *a;
                int r = get_typed(k, caps, sets[i], f, json_type_array, &a);
                if (r <= 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                given[i] = true;
                for (size_t j = 0; j < json_object_array_length(a); j++) {
                        json_object *v = json_object_array_get_idx(a, j);
                        if (!json_object_is_type(v, json_type_string))
                                return diag_fail(k->diag, -EINVAL, "config.json", "%s[%zu] is not a string", f, j);
                        const char *name = json_object_get_string(v);
                        /* Names as the spec spells them: CAP_ and letters, digits, '_' only. */
                        if (!startswith(name, "CAP_") || strlen(name) > 64 ||
                                strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(name))
                                return bad(k, -EINVAL, f, "has an invalid capability name");
                        uint64_t one;
                        _cleanup_diag_ Diag d = DIAG_INIT;
                        r = capability_list_parse(name, &one, &d);
                        if (r < 0)
                                return diag_fail(k->diag, r, "config.json", "%s: %s", f,
                                                 r == -EINVAL ? "unknown capability" : diag_message(&d) ?: "cannot look it up");
                        m[i] |= one;
                }
        }
        if (given[0]) {
                k->x->bounding = m[0];
                k->x->bounding_set = true;
                k->c->mask |= SETTING_CAPABILITY;
        }
        uint64_t bound = given[0] ? m[0] : CAP_MASK_ALL;
        /* run gives root the bounding set and anyone else the ambient set: the other three sets
         * are what that yields, and are accepted when they ask for no more than the bounding set. */
        for (size_t i = 1; i < 4; i++)
                if (given[i] && (m[i] & ~bound)) {
                        char f[80];
                        snprintf(f, sizeof(f), "process.capabilities.%s beyond the bounding set", sets[i]);
                        return unsupported(k, f);
                }
        if (given[4]) {
                k->c->ambient_caps = m[4];
                k->c->mask |= SETTING_AMBIENT_CAPABILITY;
        }
        return 0;
}

static int parse_rlimits(Ctx *k, json_object *a) {
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i), *t, *s, *h;
                if (!json_object_is_type(e, json_type_object))
                        return invalid(k, "process.rlimits[]");
                int r;
                if ((r = get_typed(k, e, "type", "process.rlimits[].type", json_type_string, &t)) <= 0)
                        return r < 0 ? r : invalid(k, "process.rlimits[].type");
                const char *name = json_object_get_string(t);
                int res = startswith(name, "RLIMIT_") ? rlimit_from_string(name + 7) : -EINVAL;
                if (res < 0)
                        return bad(k, -EINVAL, "process.rlimits[].type", "names an unknown limit");
                s = get(e, "soft");
                h = get(e, "hard");
                if (!s || !h || !json_object_is_type(s, json_type_int) || !json_object_is_type(h, json_type_int))
                        return invalid(k, "process.rlimits[].soft/hard");
                /* Unsigned 64-bit values (json-c keeps those above INT64_MAX as uint64); a negative
                 * one is "infinity", as systemd-nspawn reads them. */
                uint64_t sv = json_object_get_int64(s) < 0 ? UINT64_MAX : json_object_get_uint64(s);
                uint64_t hv = json_object_get_int64(h) < 0 ? UINT64_MAX : json_object_get_uint64(h);
                if (sv > hv)
                        return invalid(k, "process.rlimits[].soft/hard");
                if (k->c->rlimits[res])
                        return bad(k, -EINVAL, "process.rlimits", "names a limit twice");
                struct rlimit *rl = k->c->rlimits[res] = malloc(sizeof(struct rlimit));
                if (!rl)
                        return -ENOMEM;
                rl->rlim_cur = sv == UINT64_MAX ? RLIM_INFINITY : sv;
                rl->rlim_max = hv == UINT64_MAX ? RLIM_INFINITY : hv;
        }
        return 0;
}

static int parse_user(Ctx *k, json_object *u) {
        json_object *v;
        int r;
        uint32_t id;
        /* uid and gid are required (the spec's, and nspawn's). */
        if (!(v = get(u, "uid")))
                return diag_fail(k->diag, -EINVAL, "config.json", "process.user.uid is missing");
        if ((r = get_u32(k, v, "process.user.uid", UINT32_MAX - 1, &id)) < 0)
                return r;
        k->c->user_uid = id;
        if (!(v = get(u, "gid")))
                return diag_fail(k->diag, -EINVAL, "config.json", "process.user.gid is missing");
        if ((r = get_u32(k, v, "process.user.gid", UINT32_MAX - 1, &id)) < 0)
                return r;
        k->c->user_gid = id;
        if ((r = get_typed(k, u, "additionalGids", "process.user.additionalGids", json_type_array, &v)) < 0)
                return r;
        size_t n = v ? json_object_array_length(v) : 0;
        if (n > SUPPLEMENTARY_GROUPS_MAX)
                return diag_fail(k->diag, -E2BIG, "config.json", "process.user.additionalGids has too many entries");
        if (n > 0) {
                if (!(k->c->user_groups = calloc(n, sizeof(gid_t))))
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        if ((r = get_u32(k, json_object_array_get_idx(v, i), "process.user.additionalGids[]",
                                     UINT32_MAX - 1, &id)) < 0)
                                return r;
                        k->c->user_groups[k->c->n_user_groups++] = id;
                }
        }
        /* The umask run gives every payload is 0022. */
        if ((v = get(u, "umask"))) {
                if ((r = get_u32(k, v, "process.user.umask", 0777, &id)) < 0)
                        return r;
                if (id != 022)
                        return unsupported(k, "process.user.umask other than 0022");
        }
        k->c->user_ids = true;
        k->c->mask |= SETTING_USER;
        return 0;
}

static int parse_process(Ctx *k, json_object *p) {
        SpawnConfig *c = k->c;
        json_object *v;
        int r;
        static const char *const refused[] = {"apparmorProfile", "ioPriority", "scheduler", "execCPUAffinity"};
        if ((r = refuse_fields(k, p, "process", refused, ELEMENTSOF(refused))) < 0)
                return r;
        if ((r = get_typed(k, p, "terminal", "process.terminal", json_type_boolean, &v)) < 0)
                return r;
        /* terminal: a pty where there is a terminal to give it (nspawn's interactive), else pipes. */
        if (v)
                c->console = json_object_get_boolean(v) ? _CONSOLE_MODE_AUTO : CONSOLE_PIPE;
        if ((r = get_typed(k, p, "user", "process.user", json_type_object, &v)) < 0 ||
                (v && (r = parse_user(k, v)) < 0))
                return r;
        if ((r = get_typed(k, p, "args", "process.args", json_type_array, &v)) < 0)
                return r;
        if (v) {
                if ((r = strv_from_array(k, v, "process.args", SPAWN_PARAMETERS_MAX, &c->command)) < 0)
                        return r;
                if (!c->command)
                        return diag_fail(k->diag, -EINVAL, "config.json", "process.args is empty");
                if (!*c->command[0])
                        return invalid(k, "process.args[0]");
                c->mask |= SETTING_COMMAND;
        }
        if ((r = get_typed(k, p, "env", "process.env", json_type_array, &v)) < 0)
                return r;
        if (v) {
                if ((r = strv_from_array(k, v, "process.env", SPAWN_ENVIRONMENT_MAX, &c->setenv)) < 0)
                        return r;
                for (char **e = c->setenv; e && *e; e++)
                        if (!env_assignment_is_valid(*e, false))
                                return bad(k, -EINVAL, "process.env", "has an invalid entry");
                c->mask |= SETTING_ENVIRONMENT;
        }
        if ((r = get_typed(k, p, "cwd", "process.cwd", json_type_string, &v)) < 0)
                return r;
        if (v) {
                const char *s = json_object_get_string(v);
                if (!path_ok(s))
                        return bad(k, -EINVAL, "process.cwd", "is not an absolute path");
                if (!(c->working_directory = strdup(s)))
                        return -ENOMEM;
                c->mask |= SETTING_WORKING_DIRECTORY;
        }
        if ((r = get_typed(k, p, "capabilities", "process.capabilities", json_type_object, &v)) < 0 ||
                (v && (r = parse_caps(k, v)) < 0))
                return r;
        if ((r = get_typed(k, p, "rlimits", "process.rlimits", json_type_array, &v)) < 0 ||
                (v && (r = parse_rlimits(k, v)) < 0))
                return r;
        if ((r = get_typed(k, p, "noNewPrivileges", "process.noNewPrivileges", json_type_boolean, &v)) < 0)
                return r;
        if (v) {
                c->no_new_privileges = json_object_get_boolean(v);
                c->mask |= SETTING_NO_NEW_PRIVILEGES;
        }
        if ((v = get(p, "oomScoreAdj"))) {
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < -1000 ||
                        json_object_get_int64(v) > 1000)
                        return invalid(k, "process.oomScoreAdj");
                c->oom_score_adjust = (int) json_object_get_int64(v);
                c->oom_score_adjust_set = true;
                c->mask |= SETTING_OOM_SCORE_ADJUST;
        }
        if ((r = get_typed(k, p, "selinuxLabel", "process.selinuxLabel", json_type_string, &v)) < 0)
                return r;
        if (!empty(v) && !(c->selinux_context = strdup(json_object_get_string(v))))
                return -ENOMEM;
        return 0;
}

static bool option_in(json_object *opts, const char *o) {
        for (size_t i = 0; opts && i < json_object_array_length(opts); i++) {
                json_object *v = json_object_array_get_idx(opts, i);
                if (json_object_is_type(v, json_type_string) && streq(json_object_get_string(v), o))
                        return true;
        }
        return false;
}

/* The file systems run mounts itself, at their usual places: accepted as they are. */
static bool provided_by_run(const char *type, const char *dst) {
        static const char *const std[][2] = {
                {"proc", "/proc"},
                {"sysfs", "/sys"},
                {"devpts", "/dev/pts"},
                {"mqueue", "/dev/mqueue"},
                {"cgroup", "/sys/fs/cgroup"},
                {"cgroup2", "/sys/fs/cgroup"},
                {"tmpfs", "/dev"},
                {"tmpfs", "/dev/shm"},
                {"tmpfs", "/run"},
                {"tmpfs", "/tmp"},
        };
        for (size_t i = 0; i < ELEMENTSOF(std); i++)
                if (streq(type, std[i][0]) && streq(dst, std[i][1]))
                        return true;
        return false;
}

static int parse_mount(Ctx *k, json_object *m, size_t idx) {
        char f[64];
        snprintf(f, sizeof(f), "mounts[%zu]", idx);
        if (!json_object_is_type(m, json_type_object))
                return invalid(k, f);
        json_object *d, *t, *s, *opts;
        char fd[80], ft[80], fs[80], fo[80];
        snprintf(fd, sizeof(fd), "%s.destination", f);
        snprintf(ft, sizeof(ft), "%s.type", f);
        snprintf(fs, sizeof(fs), "%s.source", f);
        snprintf(fo, sizeof(fo), "%s.options", f);
        int r;
        if ((r = get_typed(k, m, "destination", fd, json_type_string, &d)) < 0 ||
                (r = get_typed(k, m, "type", ft, json_type_string, &t)) < 0 ||
                (r = get_typed(k, m, "source", fs, json_type_string, &s)) < 0 ||
                (r = get_typed(k, m, "options", fo, json_type_array, &opts)) < 0)
                return r;
        const char *dst = d ? json_object_get_string(d) : NULL;
        if (!path_ok(dst))
                return diag_fail(k->diag, -EINVAL, "config.json", "%s.destination is not an absolute path", f);
        const char *type = t ? json_object_get_string(t) : "";
        for (size_t i = 0; opts && i < json_object_array_length(opts); i++)
                if (!json_object_is_type(json_object_array_get_idx(opts, i), json_type_string))
                        return diag_fail(k->diag, -EINVAL, "config.json", "%s.options[%zu] is not a string", f, i);
        /* No type is a bind mount, as systemd-nspawn takes it. */
        bool is_bind = !*type || streq(type, "bind") || option_in(opts, "bind") || option_in(opts, "rbind");
        if (!is_bind && provided_by_run(type, dst))
                return 0;
        CustomMount cm = {.recursive = true};
        if (is_bind) {
                const char *src = s ? json_object_get_string(s) : NULL;
                if (!src || !*src || strlen(src) >= 4096 || strchr(src, ':'))
                        return diag_fail(k->diag, -EINVAL, "config.json", "%s.source is invalid", f);
                cm.type = CUSTOM_MOUNT_BIND;
                cm.recursive = !option_in(opts, "bind") || option_in(opts, "rbind");
                for (size_t i = 0; opts && i < json_object_array_length(opts); i++) {
                        const char *o = json_object_get_string(json_object_array_get_idx(opts, i));
                        static const char *const ok[] = {
                                "bind", "rbind", "rw", "private", "rprivate", "slave", "rslave"};
                        bool known = streq(o, "ro");
                        for (size_t j = 0; j < ELEMENTSOF(ok); j++)
                                known = known || streq(o, ok[j]);
                        if (!known) {
                                _cleanup_free_ char *p = printable(o, 40);
                                return diag_fail(k->diag, -EOPNOTSUPP, "config.json",
                                        "%s.options \"%s\" is not supported", f, p ?: "?");
                        }
                        if (streq(o, "ro"))
                                cm.read_only = true;
                }
                /* A relative source is the bundle's (the spec). */
                if (src[0] == '/') {
                        if (!path_ok(src))
                                return diag_fail(k->diag, -EINVAL, "config.json", "%s.source is invalid", f);
                        cm.source = strdup(src);
                } else {
                        /* Inside the bundle: no ".." out of it. */
                        _cleanup_free_ char *rel = strjoin("/", src);
                        if (!rel)
                                return -ENOMEM;
                        if (!path_ok(rel) || startswith(src, "../") || streq(src, ".."))
                                return diag_fail(k->diag, -EINVAL, "config.json", "%s.source is invalid", f);
                        cm.source = strjoin(k->x->bundle_path ?: "", "/", src);
                }
                if (!cm.source || !(cm.destination = strdup(dst))) {
                        custom_mount_done(&cm);
                        return -ENOMEM;
                }
        } else if (streq(type, "tmpfs")) {
                /* Size, mode and owner as mount data; the flags tmpfs mounts of run get anyway. */
                _cleanup_free_ char *data = NULL;
                for (size_t i = 0; opts && i < json_object_array_length(opts); i++) {
                        const char *o = json_object_get_string(json_object_array_get_idx(opts, i));
                        static const char *const flags[] = {
                                "nosuid", "nodev", "rw", "strictatime", "relatime", "noatime"};
                        bool flag = false;
                        for (size_t j = 0; j < ELEMENTSOF(flags); j++)
                                flag = flag || streq(o, flags[j]);
                        if (flag)
                                continue;
                        if ((!startswith(o, "mode=") && !startswith(o, "size=") && !startswith(o, "nr_inodes=") &&
                                    !startswith(o, "uid=") && !startswith(o, "gid=")) ||
                                strlen(o) > 64 || strpbrk(o, ",:")) {
                                _cleanup_free_ char *p = printable(o, 40);
                                return diag_fail(k->diag, -EOPNOTSUPP, "config.json",
                                        "%s.options \"%s\" is not supported", f, p ?: "?");
                        }
                        char *n = data ? strjoin(data, ",", o) : strdup(o);
                        if (!n)
                                return -ENOMEM;
                        free(data);
                        data = n;
                }
                cm.type = CUSTOM_MOUNT_TMPFS;
                if (!(cm.destination = strdup(dst)) || !(cm.options = strdup(data ?: "mode=0755"))) {
                        custom_mount_done(&cm);
                        return -ENOMEM;
                }
        } else {
                _cleanup_free_ char *p = printable(type, 40), *q = printable(dst, 80);
                return diag_fail(k->diag, -EOPNOTSUPP, "config.json", "%s: type \"%s\" at %s is not supported", f,
                        p ?: "?", q ?: "?");
        }
        r = spawn_config_add_mount(k->c, &cm);
        if (r < 0) {
                custom_mount_done(&cm);
                return r == -E2BIG ? diag_fail(k->diag, r, "config.json", "too many mounts") : r;
        }
        k->c->mask |= SETTING_CUSTOM_MOUNTS;
        return 0;
}

static int parse_id_mapping(Ctx *k, json_object *l, const char *field, uint32_t *ret_host, uint32_t *ret_size) {
        char f[64];
        if (json_object_array_length(l) != 1) {
                snprintf(f, sizeof(f), "linux.%s other than one range", field);
                return unsupported(k, f);
        }
        json_object *e = json_object_array_get_idx(l, 0);
        uint32_t cid, hid, size;
        int r;
        snprintf(f, sizeof(f), "linux.%s[0]", field);
        if (!json_object_is_type(e, json_type_object) || !get(e, "containerID") || !get(e, "hostID") ||
                !get(e, "size"))
                return invalid(k, f);
        if ((r = get_u32(k, get(e, "containerID"), f, UINT32_MAX - 1, &cid)) < 0 ||
                (r = get_u32(k, get(e, "hostID"), f, UINT32_MAX - 1, &hid)) < 0 ||
                (r = get_u32(k, get(e, "size"), f, UINT32_MAX - 1, &size)) < 0)
                return r;
        if (cid != 0) {
                snprintf(f, sizeof(f), "linux.%s with a containerID other than 0", field);
                return unsupported(k, f);
        }
        if (size == 0 || (uint64_t) hid + size > UINT32_MAX)
                return invalid(k, f);
        *ret_host = hid;
        *ret_size = size;
        return 0;
}

/* What run makes read-only (or masks, which is more) in /proc itself, as nspawn does; all of /sys
 * is read-only. */
static const char *const proc_read_only_ok[] = {
        "/proc/acpi",
        "/proc/apm",
        "/proc/asound",
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/scsi",
        "/proc/sys",
        "/proc/sysrq-trigger",
        "/proc/kallsyms",
        "/proc/kcore",
        "/proc/keys",
        "/proc/kmsg",
        "/proc/timer_list",
};

static int parse_paths(Ctx *k, json_object *l, bool masked) {
        const char *field = masked ? "linux.maskedPaths" : "linux.readonlyPaths";
        _cleanup_strv_free_ char **paths = NULL;
        int r = strv_from_array(k, l, field, SPAWN_INACCESSIBLE_MAX, &paths);
        if (r < 0)
                return r;
        for (char **p = paths; *p; p++) {
                if (!path_ok(*p))
                        return bad(k, -EINVAL, field, "has an invalid path");
                bool api =
                        startswith(*p, "/proc/") || startswith(*p, "/sys/") || streq(*p, "/proc") || streq(*p, "/sys");
                if (masked) {
                        /* In /proc and /sys, a file this kernel does not have is not there to
                         * mask in the container either (runc skips them too). */
                        if (api && access(*p, F_OK) < 0)
                                continue;
                        if (strv_contains(k->c->inaccessible, *p))
                                continue;
                        if ((r = inaccessible_path_add(&k->c->inaccessible, *p)) < 0)
                                return r == -ENOMEM ? r : bad(k, r, field, "has an invalid path");
                        k->c->mask |= SETTING_INACCESSIBLE;
                        continue;
                }
                if (api) {
                        /* run makes these read-only (or inaccessible) itself, as nspawn does. */
                        bool ok = startswith(*p, "/sys/") || streq(*p, "/sys");
                        for (size_t i = 0; i < ELEMENTSOF(proc_read_only_ok); i++)
                                ok = ok || streq(*p, proc_read_only_ok[i]);
                        if (!ok) {
                                _cleanup_free_ char *q = printable(*p, 80);
                                return diag_fail(k->diag, -EOPNOTSUPP, "config.json", "%s %s is not supported", field,
                                        q ?: "?");
                        }
                        continue;
                }
                CustomMount cm = {
                        .type = CUSTOM_MOUNT_BIND, .read_only = true, .recursive = true, .source_in_root = true};
                if (!(cm.source = strdup(*p)) || !(cm.destination = strdup(*p)) ||
                        (r = spawn_config_add_mount(k->c, &cm)) < 0) {
                        custom_mount_done(&cm);
                        return r == -E2BIG ? diag_fail(k->diag, r, "config.json", "too many mounts") : -ENOMEM;
                }
                k->c->mask |= SETTING_CUSTOM_MOUNTS;
        }
        return 0;
}

static int parse_linux(Ctx *k, json_object *l) {
        SpawnConfig *c = k->c;
        json_object *v;
        int r;
        /* What run has no option for. seccomp: run has its own filter (nspawn's), which a
         * bundle's cannot replace; a bundle that brings one is refused rather than run with
         * another filter than it asked for. */
        static const char *const refused[] = {"devices", "sysctl", "seccomp", "cgroupsPath", "rootfsPropagation",
                "intelRdt", "personality", "timeOffsets", "rdma", "memoryPolicy", "netDevices"};
        if ((r = refuse_fields(k, l, "linux", refused, ELEMENTSOF(refused))) < 0)
                return r;
        /* resources: the one value accepted is the default deny-all device rule (umoci's and
         * runc's spec default), which is what run's device policy starts from. */
        if ((r = get_typed(k, l, "resources", "linux.resources", json_type_object, &v)) < 0)
                return r;
        if (v) {
                json_object_object_foreach(v, key, val) {
                        if (empty(val))
                                continue;
                        if (streq(key, "devices") && json_object_is_type(val, json_type_array) &&
                                json_object_array_length(val) == 1) {
                                json_object *e = json_object_array_get_idx(val, 0), *a, *acc;
                                if (json_object_is_type(e, json_type_object) && (a = get(e, "allow")) &&
                                        json_object_is_type(a, json_type_boolean) && !json_object_get_boolean(a) &&
                                        json_object_object_length(e) <= 2 + !!get(e, "type") &&
                                        (!(acc = get(e, "access")) ||
                                                (json_object_is_type(acc, json_type_string) &&
                                                        streq(json_object_get_string(acc), "rwm"))) &&
                                        (!get(e, "type") ||
                                                (json_object_is_type(get(e, "type"), json_type_string) &&
                                                        streq(json_object_get_string(get(e, "type")), "a"))))
                                        continue;
                        }
                        char f[128];
                        _cleanup_free_ char *p = printable(key, 40);
                        snprintf(f, sizeof(f), "linux.resources.%s", p ?: "?");
                        return unsupported(k, f);
                }
        }
        if ((r = get_typed(k, l, "namespaces", "linux.namespaces", json_type_array, &v)) < 0)
                return r;
        bool userns = false;
        unsigned seen = 0;
        static const char *const ns_types[] = {"pid", "mount", "ipc", "uts", "cgroup", "network", "user"};
        for (size_t i = 0; v && i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i), *t, *p;
                if (!json_object_is_type(e, json_type_object) ||
                        get_typed(k, e, "type", "linux.namespaces[].type", json_type_string, &t) <= 0)
                        return invalid(k, "linux.namespaces[]");
                if ((r = get_typed(k, e, "path", "linux.namespaces[].path", json_type_string, &p)) < 0)
                        return r;
                const char *type = json_object_get_string(t), *path = p ? json_object_get_string(p) : NULL;
                if (path && !*path)
                        path = NULL;
                for (size_t j = 0; j < ELEMENTSOF(ns_types); j++)
                        if (streq(type, ns_types[j])) {
                                if (seen & (1U << j))
                                        return bad(k, -EINVAL, "linux.namespaces", "names a namespace twice");
                                seen |= 1U << j;
                        }
                if (streq(type, "network")) {
                        /* With a path, --network-namespace-path= (the namespace is joined); without,
                         * --private-network. */
                        if (path) {
                                if (!path_ok(path))
                                        return invalid(k, "linux.namespaces[network].path");
                                if (!(c->network.namespace_path = strdup(path)))
                                        return -ENOMEM;
                        } else
                                c->private_network = true;
                        c->mask |= SETTING_NETWORK;
                } else if (streq(type, "user")) {
                        if (path)
                                return unsupported(k, "linux.namespaces[user].path");
                        userns = true;
                } else if (streq(type, "pid") || streq(type, "mount") || streq(type, "ipc") || streq(type, "uts") ||
                           streq(type, "cgroup")) {
                        if (path) {
                                char f[64];
                                snprintf(f, sizeof(f), "linux.namespaces[%s].path", type);
                                return unsupported(k, f);
                        }
                } else {
                        char f[80];
                        _cleanup_free_ char *q = printable(type, 20);
                        snprintf(f, sizeof(f), "linux.namespaces[%s]", q ?: "?");
                        return unsupported(k, f);
                }
        }
        /* Without a mount or PID namespace the bundle asks for the host's, which run never gives
         * (nspawn refuses the first too); the IPC, UTS and cgroup namespaces run makes anyway. */
        if (v && !(seen & 2U))
                return unsupported(k, "linux.namespaces without mount");
        if (v && !(seen & 1U))
                return unsupported(k, "linux.namespaces without pid");
        json_object *um, *gm;
        if ((r = get_typed(k, l, "uidMappings", "linux.uidMappings", json_type_array, &um)) < 0 ||
                (r = get_typed(k, l, "gidMappings", "linux.gidMappings", json_type_array, &gm)) < 0)
                return r;
        if (userns) {
                c->mask |= SETTING_USERNS;
                if (empty(um) && empty(gm))
                        c->private_users = PRIVATE_USERS_PICK;
                else {
                        uint32_t uh, us, gh, gs;
                        if (empty(um) || empty(gm))
                                return unsupported(k, "linux.uidMappings without linux.gidMappings");
                        if ((r = parse_id_mapping(k, um, "uidMappings", &uh, &us)) < 0 ||
                                (r = parse_id_mapping(k, gm, "gidMappings", &gh, &gs)) < 0)
                                return r;
                        if (uh != gh || us != gs)
                                return unsupported(k, "linux.gidMappings other than linux.uidMappings");
                        c->private_users = PRIVATE_USERS_FIXED;
                        c->uid_shift = uh;
                        c->uid_range = us;
                }
        } else if (!empty(um) || !empty(gm))
                return unsupported(k, "linux.uidMappings without a user namespace");
        if ((r = get_typed(k, l, "maskedPaths", "linux.maskedPaths", json_type_array, &v)) < 0 ||
                (v && (r = parse_paths(k, v, true)) < 0))
                return r;
        if ((r = get_typed(k, l, "readonlyPaths", "linux.readonlyPaths", json_type_array, &v)) < 0 ||
                (v && (r = parse_paths(k, v, false)) < 0))
                return r;
        if ((r = get_typed(k, l, "mountLabel", "linux.mountLabel", json_type_string, &v)) < 0)
                return r;
        if (!empty(v) && !(c->selinux_apifs_context = strdup(json_object_get_string(v))))
                return -ENOMEM;
        return 0;
}

void oci_bundle_extra_done(OciBundleExtra *x) {
        if (!x)
                return;
        free(x->root);
        free(x->bundle_path);
        *x = (OciBundleExtra){};
}

int oci_bundle_parse(const char *text, size_t size, const char *bundle_path, SpawnConfig *ret,
        OciBundleExtra *ret_extra, Diag *diag) {
        if (size > OCI_BUNDLE_CONFIG_MAX)
                return diag_fail(diag, -EFBIG, "config.json", "larger than %u bytes", OCI_BUNDLE_CONFIG_MAX);
        if (strnlen(text, size) != size)
                return diag_fail(diag, -EBADMSG, "config.json", "contains a NUL byte");
        json_tokener *tok = json_tokener_new_ex(OCI_BUNDLE_DEPTH_MAX);
        if (!tok)
                return -ENOMEM;
        _cleanup_json_ json_object *o = json_tokener_parse_ex(tok, text, (int) size);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!o && jerr == json_tokener_error_depth)
                return diag_fail(diag, -EBADMSG, "config.json", "nested deeper than %u levels", OCI_BUNDLE_DEPTH_MAX);
        if (!o || jerr != json_tokener_success)
                return diag_fail(diag, -EBADMSG, "config.json", "not valid JSON");
        for (; end < size; end++)
                if (!strchr(" \t\r\n", text[end]))
                        return diag_fail(diag, -EBADMSG, "config.json", "not valid JSON (trailing data)");
        if (!json_object_is_type(o, json_type_object))
                return diag_fail(diag, -EBADMSG, "config.json", "not a JSON object");

        SpawnConfig c;
        spawn_config_init(&c);
        OciBundleExtra x = {};
        Ctx k = {.c = &c, .x = &x, .diag = diag};
        json_object *v, *p = NULL;
        int r;
        if (bundle_path && !(x.bundle_path = strdup(bundle_path))) {
                r = -ENOMEM;
                goto fail;
        }
        if ((r = get_typed(&k, o, "ociVersion", "ociVersion", json_type_string, &v)) <= 0) {
                if (r == 0)
                        r = diag_fail(diag, -EINVAL, "config.json", "ociVersion is missing");
                goto fail;
        }
        if (!startswith(json_object_get_string(v), "1.")) {
                r = unsupported(&k, "ociVersion other than 1.x");
                goto fail;
        }
        static const char *const refused[] = {"hooks", "domainname", "solaris", "windows", "vm", "zos"};
        if ((r = refuse_fields(&k, o, NULL, refused, ELEMENTSOF(refused))) < 0)
                goto fail;
        if ((r = get_typed(&k, o, "root", "root", json_type_object, &v)) < 0)
                goto fail;
        if (v && (r = get_typed(&k, v, "path", "root.path", json_type_string, &p)) < 0)
                goto fail;
        if (!v || !p || !*json_object_get_string(p)) {
                r = diag_fail(diag, -EINVAL, "config.json", "root.path is missing");
                goto fail;
        }
        if (strlen(json_object_get_string(p)) >= 4096) {
                r = invalid(&k, "root.path");
                goto fail;
        }
        if (!(x.root = strdup(json_object_get_string(p)))) {
                r = -ENOMEM;
                goto fail;
        }
        if ((p = get(v, "readonly"))) {
                if (!json_object_is_type(p, json_type_boolean)) {
                        r = invalid(&k, "root.readonly");
                        goto fail;
                }
                c.read_only = json_object_get_boolean(p);
                c.mask |= SETTING_READ_ONLY;
        }
        if ((r = get_typed(&k, o, "process", "process", json_type_object, &v)) < 0 ||
                (v && (r = parse_process(&k, v)) < 0))
                goto fail;
        if ((r = get_typed(&k, o, "hostname", "hostname", json_type_string, &v)) < 0)
                goto fail;
        if (!empty(v)) {
                if (!hostname_is_valid_simple(json_object_get_string(v))) {
                        r = invalid(&k, "hostname");
                        goto fail;
                }
                if (!(c.hostname = strdup(json_object_get_string(v)))) {
                        r = -ENOMEM;
                        goto fail;
                }
                c.mask |= SETTING_HOSTNAME;
        }
        if ((r = get_typed(&k, o, "mounts", "mounts", json_type_array, &v)) < 0)
                goto fail;
        for (size_t i = 0; v && i < json_object_array_length(v); i++)
                if ((r = parse_mount(&k, json_object_array_get_idx(v, i), i)) < 0)
                        goto fail;
        if ((r = get_typed(&k, o, "linux", "linux", json_type_object, &v)) < 0 || (v && (r = parse_linux(&k, v)) < 0))
                goto fail;
        /* annotations and every unknown field: ignored, as the spec says. */
        *ret = c;
        *ret_extra = x;
        return 0;
fail:
        spawn_config_done(&c);
        oci_bundle_extra_done(&x);
        return r;
}

int oci_bundle_load(const char *dir, SpawnConfig *ret, OciBundleExtra *ret_extra, int *ret_root_fd, Diag *diag) {
        _cleanup_close_ int bfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bfd < 0)
                return diag_fail(diag, negative_errno(), NULL, "%m");
        /* The bundle's own path, for relative bind sources: where the fd is, not what DIR says. */
        char proc[64], abs[4096];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", bfd);
        ssize_t n = readlink(proc, abs, sizeof(abs) - 1);
        if (n <= 0)
                return diag_fail(diag, n < 0 ? negative_errno() : -EIO, NULL, "%m");
        abs[n] = 0;
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r = read_file_at(
                bfd, "config.json", RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, OCI_BUNDLE_CONFIG_MAX, &text, &size);
        if (r == -EFBIG || r == -E2BIG)
                return diag_fail(diag, -EFBIG, "config.json", "larger than %u bytes", OCI_BUNDLE_CONFIG_MAX);
        if (r < 0)
                return diag_fail(diag, r, "config.json", "%m");
        SpawnConfig c;
        OciBundleExtra x;
        if ((r = oci_bundle_parse(text, size, abs, &c, &x, diag)) < 0)
                return r;
        /* The root inside the bundle: never beside it, through ".." or a symlink. */
        _cleanup_close_ int rfd = -EBADF;
        if (x.root[0] == '/')
                r = diag_fail(diag, -EXDEV, "config.json", "root.path is not inside the bundle");
        else if ((rfd = openat2_resolve(
                          bfd, x.root, O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)) < 0)
                r = diag_fail(diag, rfd, "config.json",
                        rfd == -EXDEV || rfd == -ELOOP ? "root.path is not inside the bundle" : "root.path: %m");
        if (r >= 0) {
                snprintf(proc, sizeof(proc), "/proc/self/fd/%d", rfd);
                char rp[4096];
                n = readlink(proc, rp, sizeof(rp) - 1);
                if (n <= 0)
                        r = diag_fail(diag, n < 0 ? negative_errno() : -EIO, "config.json", "root.path: %m");
                else {
                        rp[n] = 0;
                        size_t l = strlen(abs);
                        if (strncmp(rp, abs, l) != 0 || (rp[l] != '/' && !streq(abs, "/")))
                                r = diag_fail(diag, -EXDEV, "config.json", "root.path is not inside the bundle");
                        else {
                                free(x.root);
                                if (!(x.root = strdup(rp)))
                                        r = -ENOMEM;
                        }
                }
        }
        if (r < 0) {
                spawn_config_done(&c);
                oci_bundle_extra_done(&x);
                return r;
        }
        *ret = c;
        *ret_extra = x;
        if (ret_root_fd)
                *ret_root_fd = TAKE_FD(rfd);
        return 0;
}

static int steal_str(char **dst, char **src) {
        free(*dst);
        *dst = TAKE_PTR(*src);
        return 0;
}

int oci_bundle_merge(SpawnConfig *c, SpawnConfig *b, const OciBundleExtra *x) {
        SettingMask m = b->mask & ~c->mask;
        if (m & SETTING_COMMAND) {
                strv_free(c->command);
                c->command = TAKE_PTR(b->command);
        }
        if (m & SETTING_ENVIRONMENT) {
                strv_free(c->setenv);
                c->setenv = TAKE_PTR(b->setenv);
        } else if (b->mask & SETTING_ENVIRONMENT) {
                /* -E wins per variable: the bundle's others stay. */
                _cleanup_strv_free_ char **env = TAKE_PTR(b->setenv);
                for (char **e = env; e && *e; e++) {
                        size_t kl = strcspn(*e, "=");
                        bool have = false;
                        for (char **s = c->setenv; s && *s && !have; s++)
                                have = strncmp(*s, *e, kl) == 0 && ((*s)[kl] == '=' || (*s)[kl] == 0);
                        if (!have && strv_length(c->setenv) < SPAWN_ENVIRONMENT_MAX && strv_extend(&c->setenv, *e) < 0)
                                return -ENOMEM;
                }
        }
        if (m & SETTING_USER) {
                c->user_ids = b->user_ids;
                c->user_uid = b->user_uid;
                c->user_gid = b->user_gid;
                free(c->user_groups);
                c->user_groups = TAKE_PTR(b->user_groups);
                c->n_user_groups = b->n_user_groups;
        }
        if (m & SETTING_WORKING_DIRECTORY)
                steal_str(&c->working_directory, &b->working_directory);
        if (m & SETTING_HOSTNAME)
                steal_str(&c->hostname, &b->hostname);
        if (m & SETTING_READ_ONLY)
                c->read_only = b->read_only;
        if (m & SETTING_NO_NEW_PRIVILEGES)
                c->no_new_privileges = b->no_new_privileges;
        if (m & SETTING_OOM_SCORE_ADJUST) {
                c->oom_score_adjust = b->oom_score_adjust;
                c->oom_score_adjust_set = b->oom_score_adjust_set;
        }
        if (m & SETTING_NETWORK) {
                c->private_network = b->private_network;
                if (b->network.namespace_path)
                        steal_str(&c->network.namespace_path, &b->network.namespace_path);
        }
        if (m & SETTING_USERNS) {
                c->private_users = b->private_users;
                c->uid_shift = b->uid_shift;
                c->uid_range = b->uid_range;
        }
        if ((m & SETTING_CAPABILITY) && x->bounding_set) {
                /* The bounding set as run's additions to and removals from its default. */
                uint64_t def = spawn_default_capabilities(c->private_network);
                c->caps_plus = x->bounding & ~def;
                c->caps_minus = def & ~x->bounding;
        }
        if (m & SETTING_AMBIENT_CAPABILITY)
                c->ambient_caps = b->ambient_caps;
        for (size_t i = 0; i < ELEMENTSOF(c->rlimits); i++)
                if (b->rlimits[i] && !c->rlimits[i])
                        c->rlimits[i] = TAKE_PTR(b->rlimits[i]);
        /* Mounts and masks add to the command line's (its own come later, so they win where
         * both name a path). */
        if (b->n_mounts > 0) {
                CustomMount *n = reallocarray(NULL, b->n_mounts + c->n_mounts, sizeof(CustomMount));
                if (!n)
                        return -ENOMEM;
                if (b->n_mounts + c->n_mounts > SPAWN_CUSTOM_MOUNTS_MAX) {
                        free(n);
                        return -E2BIG;
                }
                memcpy(n, b->mounts, b->n_mounts * sizeof(CustomMount));
                if (c->n_mounts)
                        memcpy(n + b->n_mounts, c->mounts, c->n_mounts * sizeof(CustomMount));
                free(c->mounts);
                free(b->mounts);
                c->mounts = n;
                c->n_mounts += b->n_mounts;
                b->mounts = NULL;
                b->n_mounts = 0;
        }
        for (char **p = b->inaccessible; p && *p; p++)
                if (!strv_contains(c->inaccessible, *p)) {
                        if (strv_length(c->inaccessible) >= SPAWN_INACCESSIBLE_MAX)
                                return -E2BIG;
                        if (strv_extend(&c->inaccessible, *p) < 0)
                                return -ENOMEM;
                }
        if (b->console != _CONSOLE_MODE_AUTO && c->console == _CONSOLE_MODE_AUTO)
                c->console = b->console;
        if (b->selinux_context && !c->selinux_context)
                c->selinux_context = TAKE_PTR(b->selinux_context);
        if (b->selinux_apifs_context && !c->selinux_apifs_context)
                c->selinux_apifs_context = TAKE_PTR(b->selinux_apifs_context);
        c->mask |= m;
        return 0;
}
