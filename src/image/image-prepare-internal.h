/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What image-prepare.c and image-prepare-raw.c share; not for use outside src/image. */

#include "diag.h"
#include "image.h"

/* An empty PreparedRoot (PREPARED_IN_PLACE, no fds, no locks), for prepared_root_free(). */
int prepared_root_alloc(PreparedRoot **ret);
/* Opens the tree to run, path relative to dir_fd (or AT_FDCWD) with open_flags added to
 * O_RDONLY|O_DIRECTORY|O_CLOEXEC, as p->fd. */
int prepared_root_open_tree(PreparedRoot *p, int dir_fd, const char *path, int open_flags);

/* The prepared root of the raw image at path (image-prepare-raw.c): opened, checked, locked and
 * mounted. On failure the diag holds the cause (not the path: prepared_root_new() adds it) and
 * nothing is left mounted or attached. */
int prepared_root_new_raw(const PrepareOptions *opts, const char *path, PreparedRoot **ret, Diag *diag);
/* Unmounts, detaches and unlocks (PreparedRoot.raw). */
typedef struct RawImage RawImage;
RawImage *raw_image_free(RawImage *i);
