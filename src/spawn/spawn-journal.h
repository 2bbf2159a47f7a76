/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-journal.c, the container's side of --link-journal= (the parsers are in spawn.h). */

#include <stdint.h>
#include <sys/types.h>

#include "diag.h"
#include "spawn.h"

/* Child, in the container's mount namespace before pivot_root (the host's / still its /), once
 * the machine ID id is known: the journal directories and link or bind mount of c->link_journal
 * between the host's /var/log/journal/ID and the container's (root_fd; root_path its path on the
 * host, the symlink's target), what the container makes owned by root_uid. Nothing with -x. */
int setup_journal(
        int root_fd, const SpawnConfig *c, const char *root_path, const uint8_t id[16], uid_t root_uid, Diag *diag);
