/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>

#include "macro.h"

/* Resolution inside a container's or image's tree: absolute symlinks and ".." stay inside it, and
 * /proc's magic links (which could lead anywhere) are refused. */
#define RESOLVE_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

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

/* The size of what fd is: st_size of a regular file, BLKGETSIZE64 of a block device. Returns 0
 * for a regular file, 1 for a block device, -EBADFD for any other type. fd_stat_size() takes the
 * stat the caller has already. */
int fd_size(int fd, uint64_t *ret);
int fd_stat_size(int fd, const struct stat *st, uint64_t *ret);

/* The file types open_checked() may open. */
enum {
        OPEN_REGULAR = 1U << 0,
        OPEN_BLOCK = 1U << 1,
        OPEN_FIFO = 1U << 2, /* named FIFOs and pipes (/dev/fd/N): open() waits for a writer */
};
/* Opens path (below dir_fd, or AT_FDCWD) with flags (O_RDONLY, O_RDWR, O_WRONLY, O_TRUNC,
 * O_NOFOLLOW, O_NONBLOCK; never O_CREAT) only when it is of one of the types: an O_PATH fd is
 * checked with fstat() first and that very inode is then opened through /proc/self/fd. So open()
 * never blocks on a FIFO, or has a device's side effects, where a file is required, and a rename
 * between the check and the open cannot swap the inode. -EISDIR for a directory, -ELOOP for a
 * symlink with O_NOFOLLOW, -EBADFD for any other type. ret_st (may be NULL) gets its stat. */
int open_checked(int dir_fd, const char *path, int flags, unsigned types, struct stat *ret_st);
/* Opens the inode fd refers to (also an O_PATH fd) anew with flags, through /proc/self/fd. */
int fd_reopen(int fd, int flags);
int fd_is_fs_type(int fd, long magic); /* 1, 0, -errno */
bool fd_is_btrfs(int fd);
