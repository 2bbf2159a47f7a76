/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Copying a tree, by fd, without policy (the clone ladder in src/image decides which mode). */
typedef enum CopyFlags {
        COPY_REFLINK = 1 << 0,         /* FICLONE each regular file; fail with -EOPNOTSUPP/-EXDEV if impossible */
        COPY_SUBVOLUMES = 1 << 1,      /* nested btrfs subvolumes become subvolumes (when the target is btrfs) */
        COPY_MERGE = 1 << 2,           /* target directory exists already (populate it) */
} CopyFlags;

/* Copies the directory tree open at src_fd into the existing empty directory dst_fd: regular
 * files (holes kept), directories, symlinks, devices, fifos, sockets, hardlinks (within the tree),
 * owners, modes (setuid/setgid/sticky), xattrs (ACLs and file capabilities included) and
 * timestamps. Does not cross into other mounts. Checks interrupted() between entries and returns
 * -EINTR. Also copies the attributes of the top directory itself. */
/* Returns 1 when every regular file was reflinked (COPY_REFLINK and the filesystem supports it),
 * else 0. */
int copy_tree_fd(int src_fd, int dst_fd, CopyFlags flags);

typedef enum CopyFileFlags {
        COPY_FILE_REFLINK = 1 << 0, /* FICLONE first, where the file system can */
        COPY_FILE_STRICT = 1 << 1,  /* a source that ends before its size is -EIO, not a copy cut short */
} CopyFileFlags;

/* The one reflink-or-copy of a file: the data of src (a regular file, or a block device: its whole
 * size) into dst, an empty regular file. With COPY_FILE_REFLINK a reflink (FICLONE) where the file
 * system can, else (and without) a copy with copy_file_range(), and with pread()/pwrite() where
 * the kernel refuses that (across file systems, …); holes of a regular file stay holes. A source
 * that shrinks meanwhile is copied as far as it goes and dst gets its former size, unless
 * COPY_FILE_STRICT. Returns 1 when it reflinked, 0 when it copied; -EBADFD for other file types,
 * -EINTR when interrupted(). */
int copy_file_data(int src_fd, int dst_fd, CopyFileFlags flags);

/* Owner, mode, xattrs and times of src onto dst (both open fds, not symlinks). */
int copy_attributes_fd(int src_fd, const struct stat *st, int dst_fd);
