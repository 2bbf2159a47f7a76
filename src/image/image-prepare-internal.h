/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What image-prepare.c and image-prepare-raw.c share; not for use outside src/image. */

#include "image-prepare.h"

/* An empty PreparedRoot (PREPARED_IN_PLACE, no fds, no locks), for prepared_root_free(). */
int prepared_root_alloc(PreparedRoot **ret);
/* Opens the tree to run, path relative to dir_fd (or AT_FDCWD) with open_flags added to
 * O_RDONLY|O_DIRECTORY|O_CLOEXEC, as p->fd. */
int prepared_root_open_tree(PreparedRoot *p, int dir_fd, const char *path, int open_flags);
