/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-mount.c: the container's mounts, made by its first process in its new mount namespace
 * before pivot_root: the root (and --volatile), the API file systems, the custom mounts and the
 * masks. Each records what failed in diag. */

#include <sys/types.h>

#include "diag.h"
#include "spawn.h"

/* Makes the prepared root a mount point of its own (bound on itself, or the -x overlay mounted);
 * *ret_path is where (borrowed from p). */
int mount_root(const PreparedRoot *p, const char **ret_path, Diag *diag);
/* Then (once the root is presented to a user namespace) --volatile on top of root, its tmpfs
 * owned by root_uid (the container's root), and no device node below it; *ret_path is root's
 * path copied into buf. */
int mount_root_finish(const SpawnConfig *c, const char *root, uid_t root_uid, char *buf, size_t buflen,
                      const char **ret_path, Diag *diag);
/* /dev, /proc, /sys, /run, /tmp (and /var with --volatile=state); console_path: the pty to bind
 * at /dev/console, or NULL. */
int mount_api_vfs(int root_fd, const SpawnConfig *c, const char *console_path, Diag *diag);

/* --bind=…:rootidmap: per mount (c->mounts' index), a user namespace mapping the source's owner
 * to the container's root, made by the parent (spawn_run: it needs the host's /proc), and the
 * owner it mapped; -EBADF where there is none. */
typedef struct BindOwnerMaps {
        int *fds;
        uid_t *owners;
        size_t n;
} BindOwnerMaps;
/* userns_fd: the container's user namespace (--private-users), for idmapped bind mounts; -EBADF
 * without one. */
int mount_custom(int root_fd, const SpawnConfig *c, int userns_fd, const BindOwnerMaps *o, Diag *diag);
/* --inaccessible: after the custom mounts, so that a mask lies on top of them. */
int mount_inaccessible(int root_fd, const SpawnConfig *c, Diag *diag);
int mount_make_root_read_only(const char *root_path, Diag *diag);
