/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Open-file-description locks (F_OFD_SETLK) on a lock file below dir_fd, created if missing.
 * Without waiting: -EBUSY when held by someone else. The lock file is checked after locking to
 * still be the one at that name (a concurrent unlink of a free lock file is retried). */
int lock_file_at(int dir_fd, const char *name, bool exclusive, int *ret_fd);
/* Releases by closing; with unlink_if_free, removes the file first when an exclusive lock can be
 * taken (nobody else holds it). */
void unlock_file_at(int dir_fd, const char *name, int fd, bool unlink_if_free);
/* 1 when someone holds a lock on the file dir_fd/name, 0 when free or missing. */
int lock_file_is_held(int dir_fd, const char *name);
