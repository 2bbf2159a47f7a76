/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Mounting by fd with the new mount API (open_tree, mount_setattr, move_mount), and mount points
 * resolved inside a tree: what every part of a container's setup needs to put something at a path
 * of the container without a symlink of the container leading the mount out of it.
 *
 * Untrusted input: the tree below root_fd (symlinks and names in it). Paths are resolved with
 * RESOLVE_IN_ROOT and without magic links to O_PATH fds, and mounted on through /proc/self/fd/N
 * or by fd. */

#include <stdbool.h>
#include <sys/types.h>

/* "/proc/self/fd/N" of fd, in buf. */
#define FD_PATH_MAX 32
const char *fd_path(char buf[static FD_PATH_MAX], int fd);

/* Bind mounts source_fd on target_fd (open_tree, move_mount), recursively or not; read-only is set
 * before the mount appears. */
int bind_fd(int source_fd, int target_fd, bool recursive, bool read_only);
/* The same, idmapped through the user namespace userns_fd (or not, with -EBADF) before it
 * appears. */
int bind_fd_idmapped(int source_fd, int target_fd, bool recursive, bool read_only, int userns_fd);

/* Resolves path below root_fd (RESOLVE_IN_ROOT), creating what is missing: directories, and the
 * last component as a directory or (dir false) an empty file. A path that needs creating may not
 * contain "." or ".." (-EINVAL). *ret is an O_PATH fd. */
int open_mount_target(int root_fd, const char *path, bool dir, int *ret);
/* Makes the mount point name in the directory parent: a directory (0755) or an empty file (0644);
 * one that exists already is fine. */
int make_mount_point(int parent_fd, const char *name, bool dir);
/* Below an idmapped mount the host's root has no uid (EOVERFLOW when creating there): a process
 * that makes mount points below one sets the uid that has one (the container's root) here, and
 * make_mount_point() and open_mount_target() then make what the host's root cannot as that uid.
 * (uid_t) -1, the default: not needed. Per process. */
void mount_set_creator(uid_t uid);
