/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* A file written under a hidden temporary name (".#NAME.RANDOM") next to its final name and
 * renamed over it at the end, so nothing half-written is ever visible under the final name, and
 * whatever stood there (a symlink included) is replaced, never written through. A file that is
 * not committed is removed by atomic_file_done(). */

typedef enum AtomicFileFlags {
        ATOMIC_FILE_SYNC = 1U << 0,       /* fsync() before the rename (durable files the user keeps) */
        ATOMIC_FILE_EXACT_MODE = 1U << 1, /* fchmod() to mode, whatever the umask */
} AtomicFileFlags;

typedef struct AtomicFile {
        int dir_fd;
        char *name;
        char *tmp;
        int fd;              /* the temporary file, open for writing */
        AtomicFileFlags flags;
        mode_t mode;
} AtomicFile;

#define ATOMIC_FILE_NULL ((AtomicFile){ .dir_fd = -EBADF, .fd = -EBADF })

/* name: a file name in dir_fd (no slash). dir_fd is duplicated. */
int atomic_file_open_at(int dir_fd, const char *name, mode_t mode, AtomicFileFlags flags, AtomicFile *ret);
/* path: its directory is opened (the current one for a bare name); "/" or a path ending in "/"
 * is -EISDIR. */
int atomic_file_open(const char *path, mode_t mode, AtomicFileFlags flags, AtomicFile *ret);
/* (fsync and) rename over the final name. After success, done() keeps the file. */
int atomic_file_commit(AtomicFile *f);
/* Closes; removes the temporary file unless committed. Accepts ATOMIC_FILE_NULL. */
void atomic_file_done(AtomicFile *f);

/* The whole of buf as dir_fd/name in one go. */
int write_file_atomic_at(int dir_fd, const char *name, const void *buf, size_t size, mode_t mode,
                         AtomicFileFlags flags);
int write_file_atomic(const char *path, const void *buf, size_t size, mode_t mode, AtomicFileFlags flags);
