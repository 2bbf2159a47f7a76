/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include "macro.h"

/* openat2() with resolve flags (RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_SYMLINKS, …).
 * O_CLOEXEC is always added. Returns fd or -errno. */
int openat2_resolve(int dir_fd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* Reads a whole file below dir_fd resolved with resolve flags, refusing files over max_size
 * (-EFBIG) and non-regular files (-EBADFD). Result is NUL-terminated. */
int read_file_at(int dir_fd, const char *path, uint64_t resolve, size_t max_size, char **ret, size_t *ret_size);

/* Writes all of buf, retrying short writes and EINTR (unless interrupted()). */
int loop_write(int fd, const void *buf, size_t n);
/* Reads up to n bytes, retrying short reads; returns bytes read (less than n only at EOF). */
ssize_t loop_read(int fd, void *buf, size_t n);

/* A DIR stream over a duplicate of dir_fd, positioned at the start (dir_fd itself stays usable). */
int opendir_fd(int dir_fd, DIR **ret);

int fd_get_path(int fd, char **ret);   /* via /proc/self/fd */
int fd_is_fs_type(int fd, long magic); /* 1, 0, -errno */
bool fd_is_btrfs(int fd);
