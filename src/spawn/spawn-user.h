/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* Users and groups as the container's own /etc/passwd and /etc/group define them. NSS is never
 * used: that would load the container's libraries into the engine. */

#define PASSWD_FILE_SIZE_MAX (16U * 1024U * 1024U)
#define SUPPLEMENTARY_GROUPS_MAX 1024U

typedef struct SpawnUser {
        uid_t uid;
        gid_t gid;
        char *name;
        char *home;
        char *shell;
        gid_t *groups;
        size_t n_groups;
} SpawnUser;

void spawn_user_done(SpawnUser *u);
/* Looks user (a name, or a numeric UID) up in passwd_text; then its supplementary groups in
 * group_text (may be NULL). -ESRCH when there is no such user, -E2BIG over the groups limit. */
int spawn_user_lookup(const char *user, const char *passwd_text, const char *group_text, SpawnUser *ret);
/* A user by numeric IDs alone (an OCI bundle's process.user): named by its UID, home "/". */
int spawn_user_from_ids(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, SpawnUser *ret);
