/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Out of space during an import or pull: the one line that names the file system, what was
 * needed (where it is known) or written, and what was free, so the user knows where to make room
 * and how much. */

#include <stdint.h>

#include "diag.h"
#include "macro.h"

/* -ENOSPC or -EDQUOT. */
bool import_error_is_space(int r);

/* Bytes free for this process on the file system of fd (statvfs: f_bfree for root, which may use
 * the reserved blocks, f_bavail for others); UINT64_MAX when unknown. */
uint64_t import_space_free(int fd);

/* "MOUNTPOINT (FSTYPE on SOURCE)" of the file system fd is on, from /proc/self/mountinfo (the
 * mount of fd's device; when it is mounted more than once, the longest mount point that holds
 * fallback_path, fd's path, else the last), or "PATH (FSTYPE)" with fallback_path when no mount
 * matches (a btrfs subvolume's device is its own). NULL on OOM. */
char *import_space_describe(int fd, const char *fallback_path);

/* Sizes for the message: "12.5 MiB", "120 MiB", "3.2 GiB". */
#define SPACE_SIZE_MAX 32
const char *space_size(char *buf, size_t l, uint64_t bytes);

/* Records, in place of the failure diag holds, "no space left on FS: DETAIL" (or "disk quota
 * exceeded on FS: DETAIL" for -EDQUOT), FS as import_space_describe() gives it. Returns r. */
int import_space_fail(Diag *diag, int r, int fd, const char *fallback_path, const char *detail_format, ...)
        _printf_(5, 6);
