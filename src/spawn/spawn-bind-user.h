/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-bind-user.c: --bind-user=NAME, as systemd-nspawn 252: the host user's home bound at
 * /run/host/home/NAME, idmapped so that the user's files are a container UID of 60514…60577, and
 * JSON user and group records for nss-systemd in /run/host/userdb/. */

#include <sys/types.h>

#include "diag.h"
#include "spawn.h"

#define BIND_USER_UID_MIN 60514U /* nspawn's MAP_UID_MIN */
#define BIND_USER_UID_MAX 60577U /* MAP_UID_MAX */

typedef struct SpawnBindUser {
        char *name;
        uid_t host_uid;
        gid_t host_gid;
        uid_t uid; /* in the container (also its GID) */
        char *host_home;
        char *user_json;       /* NAME.user: the record without its privileged part */
        char *privileged_json; /* NAME.user-privileged (mode 0600), or NULL */
        char *group_json;      /* NAME.group */
        int userns_fd;         /* host uid and gid → the container's uid (uid_shift + uid) */
} SpawnBindUser;

typedef struct SpawnBindUsers {
        SpawnBindUser *users;
        size_t n;
} SpawnBindUsers;

/* Parent, once c->uid_shift is known: resolves each of c->bind_user on the host (passwd, group,
 * shadow), checks it against the container's /etc/passwd and /etc/group (root_fd) and the
 * container's range, allocates its container UID and makes its idmapping namespace. The diag's
 * cause says which user and why. */
int spawn_bind_users_prepare(const SpawnConfig *c, int root_fd, SpawnBindUsers *ret, Diag *diag);
void spawn_bind_users_done(SpawnBindUsers *b);

/* Child, after the API file systems (the container's own /run): the homes bound and the records
 * written, owned by the container's root (root_uid). */
int setup_bind_users(int root_fd, const SpawnBindUsers *b, uid_t root_uid, Diag *diag);
