/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Removes dir_fd/name whatever it is: a file, a directory tree (immutable/append-only flags
 * cleared on the way), a btrfs subvolume with nested subvolumes (read-only ones made writable).
 * Never follows symlinks, never crosses into other mounts (-EBUSY). -ENOENT when missing. */
int rm_rf_at(int dir_fd, const char *name);
/* Removes the contents of the directory dir_fd, not the directory itself. */
int rm_rf_children(int dir_fd);
