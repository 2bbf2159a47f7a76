/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "mount-util.h"
#include "spawn-bind-user.h"
#include "spawn-user.h"
#include "spawn-userns.h"
#include "util.h"

/* --bind-user=NAME, as systemd-nspawn 252's nspawn-bind-user.c (which needs --private-users):
 *   - the host user (and its group, which must have the user's name: a user-private group) is
 *     given the first free container UID of 60514…60577 (free: not a UID of the container's
 *     /etc/passwd nor a GID of its /etc/group, and inside the container's range), as its GID too;
 *   - the user's home is bound at /run/host/home/NAME, idmapped so that the user's files are that
 *     UID's (cowpen does it as newer nspawn versions do, with an idmapped mount; nspawn 252 put a
 *     hole for the host UID into the container's UID map instead);
 *   - /run/host/userdb/ gets NAME.user, NAME.group (and NAME.user-privileged, mode 0600, with
 *     the password hash from the host's shadow), UID.user and GID.group symlinks to them: the
 *     records systemd's nss-systemd and userdbd read, so that `id NAME`, `su NAME` and logins
 *     work in containers with nss-systemd ("systemd" in nsswitch.conf: systemd 249 or newer).
 *     Other containers (busybox, OpenRC, a Debian without libnss-systemd) see the home and the
 *     UID, not the name: nothing of the container's own /etc is changed, as nspawn.
 * root and nobody are refused, as are a user whose UID or GID is in the container's host range
 * and a name the container's /etc/passwd or /etc/group has already.
 *
 * Untrusted input: the container's /etc/passwd and /etc/group (read with RESOLVE_IN_ROOT, up to
 * PASSWD_FILE_SIZE_MAX). The host's user records are the host's own (trusted). */

#define BIND_USERS_MAX (BIND_USER_UID_MAX - BIND_USER_UID_MIN + 1U)

static void bind_user_done(SpawnBindUser *u) {
        free(u->name);
        free(u->host_home);
        free(u->user_json);
        if (u->privileged_json) {
                explicit_bzero(u->privileged_json, strlen(u->privileged_json));
                free(u->privileged_json);
        }
        free(u->group_json);
        safe_close(u->userns_fd);
        *u = (SpawnBindUser){.userns_fd = -EBADF};
}

void spawn_bind_users_done(SpawnBindUsers *b) {
        for (size_t i = 0; i < b->n; i++)
                bind_user_done(&b->users[i]);
        free(b->users);
        *b = (SpawnBindUsers){};
}

/* Whether a passwd or group text (name:x:ID:…) has the name, or the ID (when id_valid). */
static bool db_has(const char *text, const char *name, uid_t id, bool id_valid) {
        size_t nl = name ? strlen(name) : 0;
        for (const char *l = text; l && *l;) {
                const char *end = strchrnul(l, '\n');
                const char *c1 = memchr(l, ':', (size_t) (end - l));
                if (c1) {
                        if (name && (size_t) (c1 - l) == nl && strneq(l, name, nl))
                                return true;
                        const char *c2 = memchr(c1 + 1, ':', (size_t) (end - c1 - 1));
                        if (id_valid && c2) {
                                char buf[16];
                                size_t n = (size_t) (end - c2 - 1);
                                const char *c3 = memchr(c2 + 1, ':', n);
                                n = c3 ? (size_t) (c3 - c2 - 1) : n;
                                uint64_t v;
                                if (n > 0 && n < sizeof(buf)) {
                                        memcpy(buf, c2 + 1, n);
                                        buf[n] = 0;
                                        if (safe_atou64(buf, &v) >= 0 && v == id)
                                                return true;
                                }
                        }
                }
                l = *end ? end + 1 : end;
        }
        return false;
}

/* s as a JSON string (with quotes) appended to *buf; s is printable ASCII or UTF-8 here. */
static int json_str(char **buf, const char *key, const char *s, bool comma) {
        size_t n = strlen(s);
        _cleanup_free_ char *e = malloc(n * 6 + 1);
        if (!e)
                return -ENOMEM;
        size_t k = 0;
        for (const char *p = s; *p; p++) {
                unsigned char ch = (unsigned char) *p;
                if (ch == '"' || ch == '\\') {
                        e[k++] = '\\';
                        e[k++] = (char) ch;
                } else if (ch < 0x20)
                        k += (size_t) snprintf(e + k, 7, "\\u%04x", ch);
                else
                        e[k++] = (char) ch;
        }
        e[k] = 0;
        char *o = NULL;
        if (asprintf(&o, "%s%s\"%s\":\"%s\"", *buf ?: "", comma ? "," : "", key, e) < 0)
                return -ENOMEM;
        free(*buf);
        *buf = o;
        return 0;
}

static int json_uint(char **buf, const char *key, unsigned v) {
        char *o = NULL;
        if (asprintf(&o, "%s,\"%s\":%u", *buf ?: "", key, v) < 0)
                return -ENOMEM;
        free(*buf);
        *buf = o;
        return 0;
}

static int close_object(char **buf) {
        char *o = strjoin("{", *buf, "}\n");
        if (!o)
                return -ENOMEM;
        free(*buf);
        *buf = o;
        return 0;
}

/* nspawn 252's records of the mapped user (convert_user()): name, the container's UID as UID and
 * GID, the home below /run/host/home, service io.systemd.NSpawn; the password hash apart. */
static int build_records(SpawnBindUser *u, const char *group_name, const char *hash) {
        _cleanup_free_ char *home = strjoin("/run/host/home/", u->name);
        if (!home)
                return -ENOMEM;
        int r;
        if ((r = json_str(&u->user_json, "userName", u->name, false)) < 0 ||
                (r = json_uint(&u->user_json, "uid", u->uid)) < 0 ||
                (r = json_uint(&u->user_json, "gid", u->uid)) < 0 ||
                (r = json_str(&u->user_json, "homeDirectory", home, true)) < 0 ||
                (r = json_str(&u->user_json, "service", "io.systemd.NSpawn", true)) < 0 ||
                (r = close_object(&u->user_json)) < 0)
                return r;
        if ((r = json_str(&u->group_json, "groupName", group_name, false)) < 0 ||
                (r = json_uint(&u->group_json, "gid", u->uid)) < 0 ||
                (r = json_str(&u->group_json, "service", "io.systemd.NSpawn", true)) < 0 ||
                (r = close_object(&u->group_json)) < 0)
                return r;
        if (hash && *hash && !streq(hash, "*") && !streq(hash, "x") && hash[0] != '!') {
                _cleanup_free_ char *h = NULL;
                if ((r = json_str(&h, "x", hash, false)) < 0)
                        return r;
                /* h is "x":"HASH": the array of one. */
                char *o = NULL;
                if (asprintf(&o, "{\"privileged\":{\"hashedPassword\":[%s]}}\n", h + 4) < 0) {
                        explicit_bzero(h, strlen(h));
                        return -ENOMEM;
                }
                explicit_bzero(h, strlen(h));
                u->privileged_json = o;
        }
        return 0;
}

static int prepare_one(const SpawnConfig *c, const char *name, const char *passwd, const char *group, uid_t *next_uid,
        SpawnBindUser *u, Diag *diag) {
        char buf[16384];
        struct passwd pw, *pwp = NULL;
        int r = getpwnam_r(name, &pw, buf, sizeof(buf), &pwp);
        if (!pwp)
                return diag_fail(diag, r > 0 ? -r : -ESRCH, name,
                        r > 0 ? "--bind-user: look the user up: %m" : "--bind-user: no such user on the host");
        if (pw.pw_uid == 0)
                return diag_fail(diag, -EINVAL, name, "--bind-user: mapping the root user is not supported");
        if (pw.pw_uid == 65534)
                return diag_fail(diag, -EINVAL, name, "--bind-user: mapping the nobody user is not supported");
        if (pw.pw_uid >= c->uid_shift && pw.pw_uid - c->uid_shift < c->uid_range)
                return diag_fail(diag, -EINVAL, name,
                        "--bind-user: its UID %u is in the container's UID range (%u…%u)", (unsigned) pw.pw_uid,
                        (unsigned) c->uid_shift, (unsigned) (c->uid_shift + c->uid_range - 1));
        if (pw.pw_gid >= c->uid_shift && pw.pw_gid - c->uid_shift < c->uid_range)
                return diag_fail(diag, -EINVAL, name, "--bind-user: its GID %u is in the container's GID range",
                        (unsigned) pw.pw_gid);
        if (!pw.pw_dir || pw.pw_dir[0] != '/')
                return diag_fail(diag, -EINVAL, name, "--bind-user: the user has no absolute home directory");
        *u = (SpawnBindUser){.userns_fd = -EBADF, .host_uid = pw.pw_uid, .host_gid = pw.pw_gid};
        if (!(u->name = strdup(name)) || !(u->host_home = strdup(pw.pw_dir)))
                return -ENOMEM;

        char gbuf[16384];
        struct group gr, *grp = NULL;
        r = getgrgid_r(pw.pw_gid, &gr, gbuf, sizeof(gbuf), &grp);
        if (!grp)
                return diag_fail(diag, r > 0 ? -r : -ESRCH, name, "--bind-user: the user's group %u does not exist",
                        (unsigned) pw.pw_gid);
        if (!streq(gr.gr_name, name))
                return diag_fail(diag, -EOPNOTSUPP, name,
                        "--bind-user: users without a private group (named as the user) "
                        "are not supported (the group is %s)",
                        gr.gr_name);

        if (passwd && db_has(passwd, name, 0, false))
                return diag_fail(diag, -EBUSY, name, "--bind-user: the user exists in the container already");
        if (group && db_has(group, name, 0, false))
                return diag_fail(diag, -EBUSY, name, "--bind-user: the group exists in the container already");
        for (;; (*next_uid)++) {
                if (*next_uid > BIND_USER_UID_MAX || *next_uid >= c->uid_range)
                        return diag_fail(diag, -EBUSY, name, "--bind-user: no free UID in %u…%u in the container",
                                BIND_USER_UID_MIN, BIND_USER_UID_MAX);
                if ((!passwd || !db_has(passwd, NULL, *next_uid, true)) &&
                        (!group || !db_has(group, NULL, *next_uid, true)))
                        break;
        }
        u->uid = (*next_uid)++;

        /* The home, idmapped: the user's files (and its group's) as the container's UID. */
        struct stat st;
        if (stat(u->host_home, &st) < 0)
                return diag_fail(diag, negative_errno(), name, "--bind-user: home directory %s: %m", u->host_home);
        if (!S_ISDIR(st.st_mode))
                return diag_fail(diag, -ENOTDIR, name, "--bind-user: home directory %s: %m", u->host_home);
        if ((r = spawn_userns_mapping_ids(pw.pw_uid, pw.pw_gid, c->uid_shift + u->uid, 1, &u->userns_fd)) < 0)
                return diag_fail(diag, r, name, "--bind-user: user namespace for the home's idmapping: %m");

        /* The hash, if the host's shadow has one (never logged). */
        char sbuf[16384];
        struct spwd sp, *spp = NULL;
        const char *hash = pw.pw_passwd;
        if (getspnam_r(name, &sp, sbuf, sizeof(sbuf), &spp) == 0 && spp)
                hash = sp.sp_pwdp;
        r = build_records(u, gr.gr_name, hash);
        explicit_bzero(sbuf, sizeof(sbuf));
        explicit_bzero(buf, sizeof(buf));
        return r;
}

int spawn_bind_users_prepare(const SpawnConfig *c, int root_fd, SpawnBindUsers *ret, Diag *diag) {
        size_t n = strv_length(c->bind_user);
        if (n == 0)
                return 0;
        if (c->private_users == PRIVATE_USERS_NO)
                return diag_fail(diag, -EINVAL, NULL, "--bind-user= requires --private-users");
        if (n > BIND_USERS_MAX)
                return diag_fail(diag, -E2BIG, NULL, "--bind-user: more than %u users", BIND_USERS_MAX);
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        int r = read_file_at(root_fd, "etc/passwd", RESOLVE_ROOT, PASSWD_FILE_SIZE_MAX, &passwd, NULL);
        if (r < 0 && r != -ENOENT)
                return diag_fail(diag, r, NULL, "--bind-user: read the container's /etc/passwd: %m");
        r = read_file_at(root_fd, "etc/group", RESOLVE_ROOT, PASSWD_FILE_SIZE_MAX, &group, NULL);
        if (r < 0 && r != -ENOENT)
                return diag_fail(diag, r, NULL, "--bind-user: read the container's /etc/group: %m");
        SpawnBindUsers b = {.users = calloc(n, sizeof(SpawnBindUser))};
        if (!b.users)
                return -ENOMEM;
        uid_t next = BIND_USER_UID_MIN;
        for (size_t i = 0; i < n; i++) {
                b.n = i + 1;
                if ((r = prepare_one(c, c->bind_user[i], passwd, group, &next, &b.users[i], diag)) < 0) {
                        spawn_bind_users_done(&b);
                        return r;
                }
        }
        *ret = b;
        return 0;
}

/* name in dir: the text, mode, owned by root_uid, and the symlink ID+suffix to it. */
static int write_record(
        int dir, const char *name, unsigned id, const char *suffix, const char *text, mode_t mode, uid_t root_uid) {
        char file[300], link[64];
        snprintf(file, sizeof(file), "%s%s", name, suffix);
        snprintf(link, sizeof(link), "%u%s", id, suffix);
        _cleanup_close_ int fd = openat(dir, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        int r = loop_write(fd, text, strlen(text));
        if (r < 0)
                return r;
        if (fchmod(fd, mode) < 0 || fchown(fd, root_uid, root_uid) < 0)
                return negative_errno();
        if (symlinkat(file, dir, link) < 0 || fchownat(dir, link, root_uid, root_uid, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        return 0;
}

/* /run/host/DIR (0755, the container root's), in the container's own /run. */
static int run_host_dir(int root_fd, const char *name, uid_t root_uid, int *ret) {
        _cleanup_close_ int host =
                openat2_resolve(root_fd, "run/host", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT | RESOLVE_NO_SYMLINKS);
        if (host < 0)
                return host;
        if (mkdirat(host, name, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        int fd = openat(host, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fchown(fd, root_uid, root_uid) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        *ret = fd;
        return 0;
}

int setup_bind_users(int root_fd, const SpawnBindUsers *b, uid_t root_uid, Diag *diag) {
        if (!b || b->n == 0)
                return 0;
        _cleanup_close_ int home = -EBADF, userdb = -EBADF;
        int r;
        if ((r = run_host_dir(root_fd, "home", root_uid, &home)) < 0)
                return diag_fail(diag, r, NULL, "--bind-user: mkdir /run/host/home: %m");
        if ((r = run_host_dir(root_fd, "userdb", root_uid, &userdb)) < 0)
                return diag_fail(diag, r, NULL, "--bind-user: mkdir /run/host/userdb: %m");
        for (size_t i = 0; i < b->n; i++) {
                const SpawnBindUser *u = &b->users[i];
                if (u->privileged_json && (r = write_record(userdb, u->name, u->uid, ".user-privileged",
                                                   u->privileged_json, 0600, root_uid)) < 0)
                        return diag_fail(diag, r, u->name,
                                "--bind-user: write /run/host/userdb/%s.user-privileged: %m", u->name);
                if ((r = write_record(userdb, u->name, u->uid, ".group", u->group_json, 0644, root_uid)) < 0 ||
                        (r = write_record(userdb, u->name, u->uid, ".user", u->user_json, 0644, root_uid)) < 0)
                        return diag_fail(diag, r, u->name, "--bind-user: write the records in /run/host/userdb: %m");
                if (mkdirat(home, u->name, 0755) < 0 ||
                        fchownat(home, u->name, root_uid, root_uid, AT_SYMLINK_NOFOLLOW) < 0)
                        return diag_fail(
                                diag, negative_errno(), u->name, "--bind-user: mkdir /run/host/home/%s: %m", u->name);
                _cleanup_close_ int t = openat(home, u->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int s = open(u->host_home, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (t < 0 || s < 0)
                        return diag_fail(
                                diag, negative_errno(), u->name, "--bind-user: open home %s: %m", u->host_home);
                if ((r = bind_fd_idmapped(s, t, true, false, u->userns_fd)) < 0)
                        return diag_fail(diag, r, u->name, "--bind-user: idmapped bind of %s on /run/host/home/%s: %m",
                                u->host_home, u->name);
        }
        return 0;
}
