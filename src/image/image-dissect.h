/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Raw disk images (-i): the partition table (GPT or MBR) read from the image file itself, the
 * partitions found as systemd-nspawn finds them (Discoverable Partitions Specification types for
 * x86-64 and arm64, a single Linux partition, or a bare file system), the file system named by
 * its superblock, loop devices and private copies. libblkid reads the tables and superblocks, as
 * it does for systemd's dissect.
 *
 * Everything read from an image is untrusted: the GPT header's sizes and entry count are checked
 * against the named limits below and against the image's size before libblkid reads the entry
 * array, libblkid checks both CRCs, and every partition it returns is checked against the limits,
 * the header's usable LBAs and the image's size before it is used. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Limits on what a partition table may ask for. */
#define GPT_SECTOR_SIZE_MIN 512U
#define GPT_SECTOR_SIZE_MAX 4096U
#define GPT_HEADER_SIZE_MIN 92U /* the UEFI header; larger ones up to a sector */
#define GPT_ENTRY_SIZE_MIN 128U
#define GPT_ENTRY_SIZE_MAX 4096U /* a power of two multiple of 128 (UEFI) */
#define GPT_ENTRY_SIZE 128U      /* the one size libblkid (and the kernel) read */
#define GPT_ENTRIES_MAX 1024U    /* UEFI reserves 128; no tool writes more than this */
#define GPT_ENTRY_ARRAY_SIZE_MAX (1024U * 1024U)

typedef struct GptPartition {
        unsigned index;   /* 1-based slot in the entry array */
        uint8_t type[16]; /* in UUID string order (not GPT's mixed-endian disk order) */
        uint8_t uuid[16];
        uint64_t first_lba, last_lba; /* inclusive */
        uint64_t flags;
} GptPartition;

typedef struct GptTable {
        uint32_t sector_size;
        uint8_t disk_uuid[16];
        GptPartition *partitions; /* used entries only */
        size_t n_partitions;
} GptTable;

/* Loads libblkid (once; dlopen-util.h), which every function below that reads a partition table
 * or a superblock needs and loads itself: 0, or -ELIBACC/-ELIBBAD with *ret_detail saying what is
 * missing; those functions then fail with that error (fs_detect() returns NULL). */
int dlopen_libblkid(const char **ret_detail);

void gpt_table_done(GptTable *t);
/* Reads the primary GPT of the image (512 then 4096-byte sectors). -ENOMSG: no GPT header;
 * -EBADMSG: a header or entry array that is malformed, fails its CRC, has entries other than
 * GPT_ENTRY_SIZE bytes or points outside the image; -E2BIG over the limits (the backup
 * header's entry count too, which libblkid reads when the primary header is corrupt). */
int gpt_read(int fd, uint64_t size, GptTable *ret);
/* Whether two used entries share a sector (the kernel refuses the second); their slots. */
bool gpt_table_overlap(const GptTable *t, unsigned *ret_a, unsigned *ret_b);

#define GPT_FLAG_READ_ONLY (UINT64_C(1) << 60)
#define GPT_FLAG_NO_AUTO (UINT64_C(1) << 63)

/* The MBR: one Linux (0x83) partition (protective MBRs are not this), and its slot 1…4 (the
 * kernel's partition number; ret_partno may be NULL). -ENOMSG: no MBR or not exactly one Linux
 * partition; -ERANGE: primary partitions overlap. */
int mbr_read_linux(int fd, uint64_t size, uint64_t *ret_offset, uint64_t *ret_size, unsigned *ret_partno);

/* File system by its superblock at offset (ext4 for any ext2/3/4, btrfs, xfs, erofs, squashfs),
 * or NULL (also when libblkid cannot be loaded: call it after image_dissect(), which says so). */
const char *fs_detect(int fd, uint64_t offset, uint64_t size);

typedef enum PartitionDesignator {
        PARTITION_ROOT,
        PARTITION_USR,
        PARTITION_ROOT_VERITY,
        PARTITION_ROOT_VERITY_SIG,
        PARTITION_USR_VERITY,
        PARTITION_USR_VERITY_SIG,
        _PARTITION_DESIGNATOR_MAX,
} PartitionDesignator;

const char *partition_designator_to_string(PartitionDesignator d);

typedef struct DissectedPartition {
        bool found;
        unsigned partno;       /* the kernel's partition number: GPT entry slot, MBR slot (1-based); bare 0 */
        uint64_t offset, size; /* bytes in the image */
        uint8_t uuid[16];
        bool read_only;     /* GPT flag 60 */
        const char *fstype; /* detected, or NULL (verity, signature, unknown) */
} DissectedPartition;

typedef enum DissectKind {
        DISSECT_GPT,
        DISSECT_MBR,
        DISSECT_BARE, /* the whole file is one file system */
} DissectKind;

typedef struct DissectedImage {
        DissectKind kind;
        uint64_t size;
        DissectedPartition partitions[_PARTITION_DESIGNATOR_MAX];
} DissectedImage;

/* The first two partitions of the image's GPT or MBR that overlap, by the kernel's numbers: 1
 * and *ret_a < *ret_b, 0 when none do, or -errno. For the message after image_dissect()'s -ERANGE. */
int image_dissect_overlap(int fd, uint64_t size, unsigned *ret_a, unsigned *ret_b);

/* Finds the partitions of the image fd of size bytes. With a root hash (at least 32 bytes),
 * the root (or usr) and its verity partition are the ones whose UUIDs are the first and the
 * last 128 bits of the hash, as systemd-repart makes them; otherwise the one partition of each
 * type for this architecture (several: -ENOTUNIQ). A GPT without a root or usr partition for
 * this architecture falls back to a single generic Linux partition. -ENXIO: no root found;
 * -ERANGE: two partitions of the table overlap (image_dissect_overlap() names them);
 * -ELIBACC/-ELIBBAD: libblkid cannot be loaded (dlopen_libblkid() says why), whatever the image. */
int image_dissect(int fd, uint64_t size, const uint8_t *root_hash, size_t root_hash_size, DissectedImage *ret);
/* The same with a hash for each: root_hash picks root and root-verity, usr_hash usr and
 * usr-verity (image_dissect gives its one hash to both, as systemd does without a designator).
 * A NULL hash: that pair by type alone. */
int image_dissect_hashes(int fd, uint64_t size, const uint8_t *root_hash, size_t root_hash_size,
        const uint8_t *usr_hash, size_t usr_hash_size, DissectedImage *ret);

/* A private copy of the file open as fd, as an unlinked O_TMPFILE in the directory dir_fd:
 * a reflink where the file system can, else a full copy. Returns a read-write fd. */
int image_private_copy(int fd, int dir_fd, int *ret_fd, const char **ret_how);
