/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* libbtrfsutil is used only in btrfs-util.c. */

int btrfs_is_subvolume_fd(int fd);           /* 1, 0, -errno */
int btrfs_subvolume_create_at(int dir_fd, const char *name);
/* Recursive snapshot of the subvolume at src_fd as dir_fd/name. */
int btrfs_snapshot_at(int src_fd, int dir_fd, const char *name, bool read_only);
int btrfs_subvolume_set_read_only_fd(int fd, bool ro);
int btrfs_subvolume_get_read_only_fd(int fd); /* 1, 0, -errno */
/* Whether the subvolume at fd has subvolumes below it: 1, 0, -errno. */
int btrfs_subvolume_has_nested(int fd);
/* Deletes dir_fd/name and its nested subvolumes, making read-only ones writable first. */
int btrfs_subvolume_remove_at(int dir_fd, const char *name);
/* Creation time (otime) of the subvolume. */
int btrfs_subvolume_get_otime(int fd, uint64_t *ret_sec);
