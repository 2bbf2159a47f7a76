/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* --private-users: the payload runs in a user namespace whose uid/gid 0…N-1 are the host's
 * uid_shift…uid_shift+N-1. The container's root is presented through an idmapped mount
 * (mount_setattr(MOUNT_ATTR_IDMAP) with that namespace), so files on disk keep their owners: no
 * chown ever happens.
 *
 * The parent makes the namespace (a helper process unshares it, the parent writes its maps and
 * keeps an fd of it). The child does every mount as the host's root, makes the root idmapped,
 * hands the API file systems' top directories to the container's root, and after pivot_root
 * joins the namespace (setns) and becomes its uid 0.
 *
 * Untrusted input: none (the owner of the image's root directory, for "yes"). */

#include <stdbool.h>
#include <sys/types.h>

#include "spawn.h"

typedef enum PrivateUsersMode {
        PRIVATE_USERS_NO,
        PRIVATE_USERS_FIXED, /* UIDBASE[:N], or identity (0:65536) */
        PRIVATE_USERS_YES,   /* the base is the owner of the root directory */
        PRIVATE_USERS_PICK,  /* a free range derived from the machine name */
        _PRIVATE_USERS_MODE_MAX,
} PrivateUsersMode;

typedef enum PrivateUsersOwnership {
        PRIVATE_USERS_OWNERSHIP_AUTO, /* map (idmapped mounts are always used) */
        PRIVATE_USERS_OWNERSHIP_MAP,
        PRIVATE_USERS_OWNERSHIP_CHOWN, /* refused: cowpen never chowns an image */
        _PRIVATE_USERS_OWNERSHIP_MAX,
} PrivateUsersOwnership;

#define USERNS_RANGE_DEFAULT 65536U
#define USERNS_PICK_MIN UINT32_C(0x00080000)
#define USERNS_PICK_MAX UINT32_C(0x6FFF0000)
#define USERNS_PICK_ATTEMPTS 100U

/* no|yes|pick|identity|UIDBASE[:N] (also booleans). -EINVAL, -ERANGE for a range that
 * overflows or one that is 0 or does not cover uid 0…65535 when it must. */
int private_users_parse(const char *s, PrivateUsersMode *ret_mode, uid_t *ret_shift, uid_t *ret_range);
int private_users_ownership_parse(const char *s, PrivateUsersOwnership *ret);

/* Parent, before clone: resolves yes/pick into c->uid_shift (pick holds a lock on the range
 * in *ret_lock_fd while the container runs) and makes the namespace. */
int spawn_userns_prepare(
        SpawnConfig *c, int root_fd, const char *machine, int *ret_userns_fd, int *ret_lock_fd, char **ret_error);

/* Child, before the root is opened: the root mount, idmapped. */
int spawn_userns_idmap_root(int userns_fd, const char *root_path);
/* Child, after the API file systems: their top directories and the console pty belong to the
 * container's root. */
int spawn_userns_chown_api(int root_fd, const SpawnConfig *c, int console_fd);
/* Child, after pivot_root: into the namespace as its root. */
int spawn_userns_enter(int userns_fd);
