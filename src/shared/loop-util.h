/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Loop devices: a file (or a byte range of it) attached to a free loop device, the one way the
 * image store and verity make them. */

#include "macro.h"

/* LOOP_CTL_GET_FREE races with every other user of loop devices (another process may configure
 * the device it named before we do): that many tries before -EBUSY. */
#define LOOP_ATTACH_ATTEMPTS 64U

typedef enum LoopAttachFlags {
        LOOP_ATTACH_READ_ONLY = 1 << 0, /* LO_FLAGS_READ_ONLY, and the device opened O_RDONLY (else O_RDWR) */
        LOOP_ATTACH_PARTSCAN = 1 << 1,  /* LO_FLAGS_PARTSCAN: the kernel reads the partition table */
} LoopAttachFlags;

/* Attaches bytes [offset, offset + size) of fd (size 0: to the end) to a free loop device with
 * LOOP_CTL_GET_FREE and LOOP_CONFIGURE, always with LO_FLAGS_AUTOCLEAR: the device is detached
 * when the last fd of it is closed, so the returned fd is its lifetime. A device taken by someone
 * else first (EBUSY) or whose node does not exist yet (ENOENT) is skipped for the next free one.
 * Returns the device's fd (opened to match the flags) and its path (/dev/loopN). -EOPNOTSUPP
 * without /dev/loop-control, -EBUSY after LOOP_ATTACH_ATTEMPTS devices were taken by others. */
int loop_attach(int fd, uint64_t offset, uint64_t size, LoopAttachFlags flags, int *ret_fd, char **ret_path);
