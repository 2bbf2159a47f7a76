/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Partition devices of a loop device attached with partition scan (LOOP_ATTACH_PARTSCAN): the
 * kernel's own partition N when its parsers found one, which must then lie exactly where our
 * parser (image-dissect.c) put it, else one added with BLKPG_ADD_PARTITION at that place (the
 * kernel may have no partition table parsers at all, or not find a table ours accepts). No
 * udev is needed: the node is /dev/NAME when devtmpfs made it and it is the device, else a
 * private one made with mknod and unlinked as soon as it is open. */

#include <stdbool.h>
#include <stdint.h>

/* The kernel numbers at most this many partitions of a disk (DISK_MAX_PARTS). */
#define LOOP_PARTITIONS_MAX 256U
/* Bound on the sysfs files read (a decimal number, "MAJ:MIN"). */
#define LOOP_SYSFS_VALUE_MAX 64U

/* Opens partition partno (1…LOOP_PARTITIONS_MAX) of the loop device loop_fd covering bytes
 * [offset, offset + size) of its backing file, read-only (the partition device then set
 * read-only with BLKROSET, whatever the loop device is) or read-write. -ESTALE: the kernel has
 * a partition partno elsewhere or of another size; -ERANGE: partno out of range, or offset and
 * size not in whole 512-byte sectors. */
int loop_partition_open(int loop_fd, unsigned partno, uint64_t offset, uint64_t size, bool read_only, int *ret_fd);
