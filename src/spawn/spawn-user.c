/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawn-user.h"
#include "util.h"

/* passwd(5) and group(5) parsing. Untrusted input: both files come from the container image.
 * Their size is bounded by the reader (PASSWD_FILE_SIZE_MAX), each field is used only after
 * validation, and the supplementary group list is bounded (SUPPLEMENTARY_GROUPS_MAX). */

void spawn_user_done(SpawnUser *u) {
        free(u->name);
        free(u->home);
        free(u->shell);
        free(u->groups);
        *u = (SpawnUser) {};
}

static int parse_id(const char *s, size_t n, uint32_t *ret) {
        char buf[16];
        if (n == 0 || n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        uint64_t v;
        if (safe_atou64(buf, &v) < 0 || v >= UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

/* Splits one line (without newline) into up to max ':'-separated fields. */
static size_t split_fields(const char *line, size_t len, const char **f, size_t *fl, size_t max) {
        size_t n = 0;
        const char *p = line, *end = line + len;
        while (n < max) {
                const char *c = memchr(p, ':', (size_t) (end - p));
                f[n] = p;
                fl[n] = (size_t) ((c ? c : end) - p);
                n++;
                if (!c)
                        break;
                p = c + 1;
        }
        return n;
}

int spawn_user_lookup(const char *user, const char *passwd_text, const char *group_text, SpawnUser *ret) {
        uint32_t want_uid = 0;
        bool numeric = parse_id(user, strlen(user), &want_uid) >= 0;
        SpawnUser u = {};
        bool found = false;

        for (const char *p = passwd_text; p && *p && !found;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                const char *f[7];
                size_t fl[7];
                if (split_fields(p, len, f, fl, 7) == 7) {
                        uint32_t uid, gid;
                        bool match = numeric ? (parse_id(f[2], fl[2], &uid) >= 0 && uid == want_uid)
                                             : (fl[0] == strlen(user) && strneq(f[0], user, fl[0]));
                        if (match && parse_id(f[2], fl[2], &uid) >= 0 && parse_id(f[3], fl[3], &gid) >= 0) {
                                u.uid = uid;
                                u.gid = gid;
                                u.name = strndup(f[0], fl[0]);
                                u.home = fl[5] > 0 && f[5][0] == '/' ? strndup(f[5], fl[5]) : strdup("/");
                                u.shell = fl[6] > 0 && f[6][0] == '/' ? strndup(f[6], fl[6]) : strdup("/bin/sh");
                                if (!u.name || !u.home || !u.shell) {
                                        spawn_user_done(&u);
                                        return -ENOMEM;
                                }
                                found = true;
                        }
                }
                p = nl ? nl + 1 : NULL;
        }
        if (!found) {
                if (!numeric)
                        return -ESRCH;
                /* A numeric UID without an entry: its own group, "/" as home, as nspawn. */
                u.uid = u.gid = want_uid;
                u.name = strdup(user);
                u.home = strdup("/");
                u.shell = strdup("/bin/sh");
                if (!u.name || !u.home || !u.shell) {
                        spawn_user_done(&u);
                        return -ENOMEM;
                }
        }

        /* Supplementary groups: every group listing the user by name. */
        size_t ulen = strlen(u.name);
        for (const char *p = group_text; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                const char *f[4];
                size_t fl[4];
                uint32_t gid;
                if (split_fields(p, len, f, fl, 4) == 4 && parse_id(f[2], fl[2], &gid) >= 0 && gid != u.gid) {
                        const char *m = f[3], *end = f[3] + fl[3];
                        while (m < end) {
                                const char *c = memchr(m, ',', (size_t) (end - m));
                                size_t ml = (size_t) ((c ? c : end) - m);
                                if (ml == ulen && strneq(m, u.name, ulen)) {
                                        if (u.n_groups >= SUPPLEMENTARY_GROUPS_MAX) {
                                                spawn_user_done(&u);
                                                return -E2BIG;
                                        }
                                        gid_t *g = reallocarray(u.groups, u.n_groups + 1, sizeof(gid_t));
                                        if (!g) {
                                                spawn_user_done(&u);
                                                return -ENOMEM;
                                        }
                                        u.groups = g;
                                        u.groups[u.n_groups++] = gid;
                                        break;
                                }
                                m = c ? c + 1 : end;
                        }
                }
                p = nl ? nl + 1 : NULL;
        }
        *ret = u;
        return 0;
}

int spawn_user_from_ids(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, SpawnUser *ret) {
        SpawnUser u = { .uid = uid, .gid = gid };
        if (n_groups > SUPPLEMENTARY_GROUPS_MAX)
                return -E2BIG;
        if (asprintf(&u.name, "%u", (unsigned) uid) < 0)
                u.name = NULL;
        u.home = strdup("/");
        u.shell = strdup("/bin/sh");
        u.groups = n_groups > 0 ? calloc(n_groups, sizeof(gid_t)) : NULL;
        if (!u.name || !u.home || !u.shell || (n_groups > 0 && !u.groups)) {
                spawn_user_done(&u);
                return -ENOMEM;
        }
        if (n_groups > 0)
                memcpy(u.groups, groups, n_groups * sizeof(gid_t));
        u.n_groups = n_groups;
        *ret = u;
        return 0;
}
