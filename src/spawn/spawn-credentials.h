/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-credentials.c, the container's side: the credentials as files of /run/host/credentials,
 * nspawn's place for them. */

#include "diag.h"
#include "spawn.h"

#define SPAWN_CREDENTIALS_DIR "/run/host/credentials"

/* Child, in the container's mount namespace before pivot_root and before the root is made
 * read-only: a ramfs (never swapped out) at run/host/credentials below root_fd, a file of mode 0400
 * per credential, the directory mode 0500, all of it owned by the container's root (root_uid), then
 * the mount and its superblock read-only. Nothing when there are no credentials. Errors name the
 * credential's ID, never its data. */
int setup_credentials(int root_fd, const SpawnConfig *c, uid_t root_uid, Diag *diag);
