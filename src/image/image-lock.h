/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Locks and hidden names, below the image store (image.h includes this; image.c and the files
 * above it build on it, never the other way round). A lock is the file .#NAME.lck in a
 * directory, locked with an OFD lock: readers shared, writers exclusive. */

#include "macro.h"

/* ImageLock is valid with fd >= 0; image_lock_release() accepts an unlocked one. */
typedef struct ImageLock {
        int fd;
        int dir_fd;    /* borrowed: the image root */
        char *name;    /* lock file name in the image root */
        bool exclusive;
} ImageLock;
#define IMAGE_LOCK_NULL ((ImageLock) { .fd = -EBADF, .dir_fd = -EBADF })

/* Locks NAME in dir_fd shared or exclusive, without waiting: -EBUSY when someone else holds a
 * conflicting lock. dir_fd is borrowed until the lock is released. */
int image_lock_at(int dir_fd, const char *name, bool exclusive, ImageLock *ret);
void image_lock_release(ImageLock *l);

/* Hidden temporary names: ".#KIND.NAME.RANDOM"; NAME is shortened so the name (plus ".lck")
 * always fits NAME_MAX. KIND must be one of image_hidden_kinds: clean tells cowpen's entries (which
 * it removes once their lock is free) from other tools' (which it leaves until they are old) by
 * it. */
extern const char *const image_hidden_kinds[];
int image_hidden_name(const char *kind, const char *name, char **ret);
/* Creates the lock file for a hidden entry and takes it exclusively. */
int image_hidden_lock(int dir_fd, const char *hidden_name, ImageLock *ret);
