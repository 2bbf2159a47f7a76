/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What image-prepare.c and image-prepare-raw.c share; not for use outside src/image. */

#include "diag.h"
#include "image.h"

/* Makes p (allocated by image-prepare.c, empty) the prepared root of the raw image at path
 * (image-prepare-raw.c): opened, checked, locked and mounted. On failure the diag holds the cause
 * (not the path: prepared_root_new() adds it), and the caller's prepared_root_free(p) unmounts,
 * detaches and unlocks whatever was done, so nothing is left mounted or attached. */
int prepared_root_make_raw(PreparedRoot *p, const PrepareOptions *opts, const char *path, Diag *diag);
/* Unmounts, detaches and unlocks (PreparedRoot.raw). */
typedef struct RawImage RawImage;
RawImage *raw_image_free(RawImage *i);
/* The hidden entry .#machine.MACHINE.RANDOM in p->parent_fd, locked, with upper/, work/ and root/
 * for an overlay whose lower layer is p->fd (p->overlay_* set). prepared_root_free() removes it. */
int prepared_root_make_overlay(PreparedRoot *p);
