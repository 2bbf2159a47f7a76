/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "image-dissect.h"
#include "spawn-boot.h"
#include "image-policy.h"
#include "spawn-userns.h"
#include "uuid-util.h"

/* Reading GPT and MBR (libblkid and the checks around it) and partition discovery on images
 * built in memory (every limit at and beyond its edge, CRCs, bounds), the image policy,
 * --private-users values and how the end of a booted PID 1 maps to the run's status. */

#define IMG_SIZE (4U * 1024U * 1024U)
#define ROOT_X86 "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
#define VERITY_X86 "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5"
#define LINUX_GENERIC "0fc63daf-8483-4772-8e79-3d69d8477de4"

typedef struct Part {
        const char *type, *uuid;
        uint64_t first, last, flags;
} Part;

/* CRC-32 as GPT uses it (IEEE 802.3, reflected, inverted): zlib's, for the images built here
 * (libblkid checks them). */
static uint32_t gpt_crc32(const void *buf, size_t size) {
        return (uint32_t) crc32(0, buf, (uInt) size);
}

static void put_le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}
static void put_le64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}
static void guid_to_disk(const char *s, uint8_t d[16]) {
        uint8_t u[16];
        assert_int_equal(uuid_from_string(s, u), 0);
        d[0] = u[3], d[1] = u[2], d[2] = u[1], d[3] = u[0], d[4] = u[5], d[5] = u[4], d[6] = u[7], d[7] = u[6];
        memcpy(d + 8, u + 8, 8);
}

/* A GPT image of IMG_SIZE bytes (512-byte sectors) in a memfd; hsize/esize/n as given. */
static int make_gpt(const Part *parts, size_t n_parts, uint32_t n_entries, uint32_t esize, uint32_t hsize,
        bool break_hcrc, bool break_ecrc) {
        int fd = memfd_create("gpt", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
        size_t asize = (size_t) n_entries * esize;
        uint8_t *entries = calloc(1, asize ?: 1);
        assert_non_null(entries);
        for (size_t i = 0; i < n_parts && i < n_entries; i++) {
                uint8_t *e = entries + i * esize;
                guid_to_disk(parts[i].type, e);
                guid_to_disk(parts[i].uuid, e + 16);
                put_le64(e + 32, parts[i].first);
                put_le64(e + 40, parts[i].last);
                put_le64(e + 48, parts[i].flags);
        }
        uint8_t h[512] = {};
        memcpy(h, "EFI PART", 8);
        put_le32(h + 8, 0x00010000);
        put_le32(h + 12, hsize);
        put_le64(h + 24, 1);
        put_le64(h + 32, IMG_SIZE / 512 - 1);
        put_le64(h + 40, 34);
        put_le64(h + 48, IMG_SIZE / 512 - 34);
        put_le64(h + 72, 2);
        put_le32(h + 80, n_entries);
        put_le32(h + 84, esize);
        put_le32(h + 88, gpt_crc32(entries, asize) ^ (break_ecrc ? 1 : 0));
        put_le32(h + 16, gpt_crc32(h, hsize <= 512 ? hsize : 92) ^ (break_hcrc ? 1 : 0));
        assert_int_equal(pwrite(fd, h, 512, 512), 512);
        if (asize)
                assert_int_equal(pwrite(fd, entries, asize, 1024), (ssize_t) asize);
        free(entries);
        return fd;
}

/* One copy of a GPT (a header at LBA lba, n_entries 128-byte entries at entries_lba, the first
 * n_parts from parts) on an image of sectors sectors of ss bytes; usable LBAs past room for 128
 * entries at either end. */
static void write_gpt_copy(int fd, uint32_t ss, uint64_t sectors, uint64_t lba, uint64_t alt, uint64_t entries_lba,
        const Part *parts, size_t n_parts, uint32_t n_entries) {
        size_t asize = (size_t) n_entries * 128;
        uint8_t *entries = calloc(1, asize ?: 1);
        assert_non_null(entries);
        for (size_t i = 0; i < n_parts && i < n_entries; i++) {
                uint8_t *e = entries + i * 128;
                guid_to_disk(parts[i].type, e);
                guid_to_disk(parts[i].uuid, e + 16);
                put_le64(e + 32, parts[i].first);
                put_le64(e + 40, parts[i].last);
                put_le64(e + 48, parts[i].flags);
        }
        uint64_t reserved = 1 + (128 * 128 + ss - 1) / ss;
        uint8_t h[92] = {};
        memcpy(h, "EFI PART", 8);
        put_le32(h + 8, 0x00010000);
        put_le32(h + 12, sizeof(h));
        put_le64(h + 24, lba);
        put_le64(h + 32, alt);
        put_le64(h + 40, 1 + reserved);
        put_le64(h + 48, sectors - 1 - reserved);
        put_le64(h + 72, entries_lba);
        put_le32(h + 80, n_entries);
        put_le32(h + 84, 128);
        put_le32(h + 88, gpt_crc32(entries, asize));
        put_le32(h + 16, gpt_crc32(h, sizeof(h)));
        assert_int_equal(pwrite(fd, h, sizeof(h), (off_t) (lba * ss)), (ssize_t) sizeof(h));
        if (asize)
                assert_int_equal(pwrite(fd, entries, asize, (off_t) (entries_lba * ss)), (ssize_t) asize);
        free(entries);
}

static const Part verity_parts[] = {
        {ROOT_X86, "00112233-4455-6677-8899-aabbccddeeff", 2048, 4095, 0},
        {VERITY_X86, "0123456789abcdef0123456789abcdef", 4096, 5119, 0},
        {ROOT_X86, "ffeeddcc-bbaa-9988-7766-554433221100", 6144, 7167, 0},
};

static void test_gpt_read(void **state) {
        int fd = make_gpt(verity_parts, 3, 128, 128, 92, false, false);
        GptTable t;
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), 0);
        assert_int_equal(t.sector_size, 512);
        assert_int_equal(t.n_partitions, 3);
        char s[37];
        uuid_format(t.partitions[0].type, s);
        assert_string_equal(s, ROOT_X86);
        uuid_format(t.partitions[1].uuid, s);
        assert_string_equal(s, "01234567-89ab-cdef-0123-456789abcdef");
        assert_int_equal(t.partitions[2].first_lba, 6144);
        assert_int_equal(t.partitions[2].index, 3);
        gpt_table_done(&t);
        close(fd);
}

static void test_gpt_limits(void **state) {
        GptTable t;
        int fd;
        /* Entry count: at the limit fine, one more refused. */
        fd = make_gpt(verity_parts, 1, GPT_ENTRIES_MAX, 128, 92, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), 0);
        gpt_table_done(&t);
        close(fd);
        fd = make_gpt(verity_parts, 1, GPT_ENTRIES_MAX + 1, 128, 92, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -E2BIG);
        close(fd);
        /* Entry size: 256 and the maximum are UEFI's but neither libblkid's nor the kernel's
         * (128 bytes only); not a power of two, too small or too large refused. */
        fd = make_gpt(verity_parts, 1, 4, 256, 92, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);
        fd = make_gpt(verity_parts, 1, 4, GPT_ENTRY_SIZE_MAX, 92, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);
        fd = make_gpt(verity_parts, 1, 4, GPT_ENTRY_SIZE_MAX * 2, 92, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -E2BIG);
        close(fd);
        fd = make_gpt(verity_parts, 1, 4, 384, 92, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);
        fd = make_gpt(verity_parts, 1, 4, 64, 92, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);
        /* Header size: below the minimum, above the sector. */
        fd = make_gpt(verity_parts, 1, 4, 128, GPT_HEADER_SIZE_MIN - 1, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);
        fd = make_gpt(verity_parts, 1, 4, 128, 513, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);
        fd = make_gpt(verity_parts, 1, 4, 128, 512, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), 0);
        gpt_table_done(&t);
        close(fd);
        /* The entry array must fit the image. */
        fd = make_gpt(verity_parts, 1, 4, 128, 92, false, false);
        assert_int_equal(gpt_read(fd, 1024 + 511, &t), -EBADMSG); /* the array would start past the end */
        assert_int_equal(gpt_read(fd, 2048 + 100, &t), -EBADMSG); /* usable LBAs past the end */
        assert_int_equal(gpt_read(fd, 1023, &t), -ENOMSG);        /* not even a header */
        close(fd);
}

static void test_gpt_crc_and_bounds(void **state) {
        GptTable t;
        int fd = make_gpt(verity_parts, 3, 128, 128, 92, true, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);
        fd = make_gpt(verity_parts, 3, 128, 128, 92, false, true);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);
        /* A partition past the last usable LBA, or ending before it starts. */
        Part p[] = {{ROOT_X86, "00112233-4455-6677-8899-aabbccddeeff", 2048, IMG_SIZE / 512, 0}};
        fd = make_gpt(p, 1, 128, 128, 92, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);
        p[0].first = 4000, p[0].last = 3000;
        fd = make_gpt(p, 1, 128, 128, 92, false, false);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);
        /* No GPT at all. */
        fd = memfd_create("empty", MFD_CLOEXEC);
        assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -ENOMSG);
        DissectedImage m;
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), -ENXIO);
        close(fd);
}

/* 4096-byte sectors; an image of less than 1.44 MB (which libblkid before 2.37 took for a floppy,
 * looking for no GPT on it). */
static void test_gpt_sector_size_and_small(void **state) {
        const Part p[] = {{ROOT_X86, "00112233-4455-6677-8899-aabbccddeeff", 16, 127, 0}};
        GptTable t;
        DissectedImage m;
        int fd = memfd_create("gpt4k", MFD_CLOEXEC);
        assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
        write_gpt_copy(fd, 4096, IMG_SIZE / 4096, 1, IMG_SIZE / 4096 - 1, 2, p, 1, 128);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), 0);
        assert_int_equal(t.sector_size, 4096);
        assert_int_equal(t.n_partitions, 1);
        assert_int_equal(t.partitions[0].first_lba, 16);
        assert_int_equal(t.partitions[0].last_lba, 127);
        gpt_table_done(&t);
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), 0);
        assert_int_equal(m.partitions[PARTITION_ROOT].offset, 16 * 4096);
        assert_int_equal(m.partitions[PARTITION_ROOT].size, 112 * 4096);
        close(fd);

        const Part q[] = {{ROOT_X86, "00112233-4455-6677-8899-aabbccddeeff", 40, 1000, 0}};
        fd = memfd_create("gpt-small", MFD_CLOEXEC);
        assert_int_equal(ftruncate(fd, 1024 * 1024), 0);
        write_gpt_copy(fd, 512, 2048, 1, 2047, 2, q, 1, 128);
        assert_int_equal(gpt_read(fd, 1024 * 1024, &t), 0);
        assert_int_equal(t.n_partitions, 1);
        gpt_table_done(&t);
        assert_int_equal(image_dissect(fd, 1024 * 1024, NULL, 0, &m), 0);
        assert_int_equal(m.partitions[PARTITION_ROOT].offset, 40 * 512);
        close(fd);
}

/* The backup header: never used (a table whose primary is corrupt is refused although libblkid
 * would read the backup), and its entry count held to the limit (libblkid would read its array). */
static void test_gpt_backup(void **state) {
        const uint64_t sectors = IMG_SIZE / 512;
        GptTable t;
        int fd = memfd_create("gpt-backup", MFD_CLOEXEC);
        assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
        write_gpt_copy(fd, 512, sectors, 1, sectors - 1, 2, verity_parts, 3, 128);
        write_gpt_copy(fd, 512, sectors, sectors - 1, 1, sectors - 33, verity_parts, 3, 128);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), 0);
        assert_int_equal(t.n_partitions, 3);
        gpt_table_done(&t);
        /* The primary header's CRC broken: libblkid takes the backup; refused. */
        uint8_t b;
        assert_int_equal(pread(fd, &b, 1, 512 + 40), 1);
        b ^= 1;
        assert_int_equal(pwrite(fd, &b, 1, 512 + 40), 1);
        assert_int_equal(gpt_read(fd, IMG_SIZE, &t), -EBADMSG);
        close(fd);

        /* A backup header with GPT_ENTRIES_MAX entries, and one more. */
        for (uint32_t n = GPT_ENTRIES_MAX; n <= GPT_ENTRIES_MAX + 1; n++) {
                fd = memfd_create("gpt-backup", MFD_CLOEXEC);
                assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
                write_gpt_copy(fd, 512, sectors, 1, sectors - 1, 2, verity_parts, 3, 128);
                write_gpt_copy(
                        fd, 512, sectors, sectors - 1, 1, sectors - 1 - (n * 128 + 511) / 512, verity_parts, 3, n);
                assert_int_equal(gpt_read(fd, IMG_SIZE, &t), n > GPT_ENTRIES_MAX ? -E2BIG : 0);
                if (n <= GPT_ENTRIES_MAX)
                        gpt_table_done(&t);
                close(fd);
        }
}

static void test_dissect_by_root_hash(void **state) {
        int fd = make_gpt(verity_parts, 3, 128, 128, 92, false, false);
        DissectedImage m;
        /* Two root partitions and no hash: ambiguous. */
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), -ENOTUNIQ);
        /* The hash picks the root by its first and the verity partition by its last 128 bits. */
        uint8_t hash[32];
        assert_int_equal(uuid_from_string("ffeeddcc-bbaa-9988-7766-554433221100", hash), 0);
        assert_int_equal(uuid_from_string("0123456789abcdef0123456789abcdef", hash + 16), 0);
        assert_int_equal(image_dissect(fd, IMG_SIZE, hash, sizeof(hash), &m), 0);
        assert_int_equal(m.kind, DISSECT_GPT);
        assert_true(m.partitions[PARTITION_ROOT].found);
        assert_int_equal(m.partitions[PARTITION_ROOT].offset, 6144 * 512);
        assert_int_equal(m.partitions[PARTITION_ROOT].size, 1024 * 512);
        assert_true(m.partitions[PARTITION_ROOT_VERITY].found);
        assert_int_equal(m.partitions[PARTITION_ROOT_VERITY].offset, 4096 * 512);
        /* A hash that matches no partition. */
        hash[0] ^= 1;
        assert_int_equal(image_dissect(fd, IMG_SIZE, hash, sizeof(hash), &m), -ENXIO);
        close(fd);
}

#define USR_X86 "8484680c-9521-48c6-9c11-b0720656f69e"
#define USR_VERITY_X86 "77ff5f63-e7b6-4633-acf4-1565b864c0e6"

static void test_dissect_usr_by_hash(void **state) {
        /* root + usr, each with a verity partition, UUIDs from two different hashes. */
        const Part p[] = {
                {ROOT_X86, "00112233-4455-6677-8899-aabbccddeeff", 2048, 3071, 0},
                {VERITY_X86, "0123456789abcdef0123456789abcdef", 3072, 3583, 0},
                {USR_X86, "a0112233-4455-6677-8899-aabbccddeeff", 4096, 6143, GPT_FLAG_READ_ONLY},
                {USR_VERITY_X86, "a123456789abcdef0123456789abcdef", 6144, 6655, 0},
        };
        int fd = make_gpt(p, 4, 128, 128, 92, false, false);
        uint8_t root_hash[32], usr_hash[32];
        assert_int_equal(uuid_from_string(p[0].uuid, root_hash), 0);
        assert_int_equal(uuid_from_string(p[1].uuid, root_hash + 16), 0);
        assert_int_equal(uuid_from_string(p[2].uuid, usr_hash), 0);
        assert_int_equal(uuid_from_string(p[3].uuid, usr_hash + 16), 0);
        DissectedImage m;
        /* By type alone. */
        assert_int_equal(image_dissect_hashes(fd, IMG_SIZE, NULL, 0, NULL, 0, &m), 0);
        assert_true(m.partitions[PARTITION_USR].found);
        assert_int_equal(m.partitions[PARTITION_USR].partno, 3);
        assert_true(m.partitions[PARTITION_USR].read_only);
        /* Each by its own hash. */
        assert_int_equal(image_dissect_hashes(fd, IMG_SIZE, root_hash, 32, usr_hash, 32, &m), 0);
        assert_int_equal(m.partitions[PARTITION_ROOT].offset, 2048 * 512);
        assert_int_equal(m.partitions[PARTITION_ROOT_VERITY].offset, 3072 * 512);
        assert_int_equal(m.partitions[PARTITION_USR].offset, 4096 * 512);
        assert_int_equal(m.partitions[PARTITION_USR].size, 2048 * 512);
        assert_int_equal(m.partitions[PARTITION_USR_VERITY].offset, 6144 * 512);
        /* The root hash does not pick usr partitions, nor the other way round. */
        assert_int_equal(image_dissect_hashes(fd, IMG_SIZE, NULL, 0, root_hash, 32, &m), 0);
        assert_false(m.partitions[PARTITION_USR].found);
        assert_false(m.partitions[PARTITION_USR_VERITY].found);
        assert_true(m.partitions[PARTITION_ROOT].found);
        /* A usr-verity partition whose UUID is not the hash's last 128 bits. */
        usr_hash[31] ^= 1;
        assert_int_equal(image_dissect_hashes(fd, IMG_SIZE, root_hash, 32, usr_hash, 32, &m), 0);
        assert_true(m.partitions[PARTITION_USR].found);
        assert_false(m.partitions[PARTITION_USR_VERITY].found);
        close(fd);

        /* usr only: no root, no fallback to a generic partition. */
        const Part q[] = {
                {USR_X86, "a0112233-4455-6677-8899-aabbccddeeff", 2048, 4095, 0},
                {LINUX_GENERIC, "b0112233-4455-6677-8899-aabbccddeeff", 4096, 6143, 0},
        };
        fd = make_gpt(q, 2, 128, 128, 92, false, false);
        assert_int_equal(image_dissect_hashes(fd, IMG_SIZE, NULL, 0, NULL, 0, &m), 0);
        assert_false(m.partitions[PARTITION_ROOT].found);
        assert_true(m.partitions[PARTITION_USR].found);
        assert_int_equal(m.partitions[PARTITION_USR].partno, 1);
        close(fd);
}

static void test_dissect_generic_and_flags(void **state) {
        Part p[] = {
                {LINUX_GENERIC, "00112233-4455-6677-8899-aabbccddeeff", 2048, 4095, UINT64_C(1) << 60},
                {ROOT_X86, "00112233-4455-6677-8899-aabbccddee00", 4096, 5000, UINT64_C(1) << 63}, /* no-auto */
        };
        int fd = make_gpt(p, 2, 128, 128, 92, false, false);
        DissectedImage m;
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), 0);
        assert_int_equal(m.partitions[PARTITION_ROOT].offset, 2048 * 512);
        assert_true(m.partitions[PARTITION_ROOT].read_only);
        close(fd);
}

static void put_be(uint8_t *p, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * (n - 1 - i)));
}

/* libblkid takes "XFSB" for xfs only with a sane geometry after it: one allocation group of 1024
 * blocks of 4 KiB, 512-byte sectors and inodes (a v4 superblock, which has no CRC). */
static void write_xfs_geometry(int fd) {
        uint8_t sb[128] = {};
        put_be(sb + 4, 4096, 4);                             /* sb_blocksize */
        put_be(sb + 8, 1024, 8);                             /* sb_dblocks */
        put_be(sb + 80, 1, 4);                               /* sb_rextsize */
        put_be(sb + 84, 1024, 4);                            /* sb_agblocks */
        put_be(sb + 88, 1, 4);                               /* sb_agcount */
        put_be(sb + 100, 4, 2);                              /* sb_versionnum */
        put_be(sb + 102, 512, 2);                            /* sb_sectsize */
        put_be(sb + 104, 512, 2);                            /* sb_inodesize */
        put_be(sb + 106, 8, 2);                              /* sb_inopblock */
        sb[120] = 12, sb[121] = 9, sb[122] = 9, sb[123] = 3; /* their logarithms */
        assert_int_equal(pwrite(fd, sb, sizeof(sb), 0), (ssize_t) sizeof(sb));
}

static void test_mbr_and_bare(void **state) {
        int fd = memfd_create("mbr", MFD_CLOEXEC);
        assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
        uint8_t mbr[512] = {};
        mbr[510] = 0x55, mbr[511] = 0xAA;
        mbr[446 + 4] = 0x83;
        put_le32(mbr + 446 + 8, 2048);
        put_le32(mbr + 446 + 12, 4096);
        assert_int_equal(pwrite(fd, mbr, 512, 0), 512);
        DissectedImage m;
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), 0);
        assert_int_equal(m.kind, DISSECT_MBR);
        assert_int_equal(m.partitions[PARTITION_ROOT].offset, 2048 * 512);
        /* Past the end of the image. */
        put_le32(mbr + 446 + 12, IMG_SIZE / 512);
        assert_int_equal(pwrite(fd, mbr, 512, 0), 512);
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), -EBADMSG);
        /* Two Linux partitions: not discoverable. */
        put_le32(mbr + 446 + 12, 100);
        mbr[462 + 4] = 0x83;
        put_le32(mbr + 462 + 8, 4096);
        put_le32(mbr + 462 + 12, 100);
        assert_int_equal(pwrite(fd, mbr, 512, 0), 512);
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), -ENXIO);
        close(fd);

        /* Bare file systems by their superblocks. */
        static const struct {
                const char *fs;
                size_t at;
                const char *magic;
                size_t len;
        } magics[] = {
                {"squashfs", 0, "hsqs", 4},
                {"erofs", 1024, "\xe2\xe1\xf5\xe0", 4},
                {"ext4", 1080, "\x53\xef", 2},
                {"btrfs", 65600, "_BHRfS_M", 8},
                {"xfs", 0, "XFSB", 4},
        };
        for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
                fd = memfd_create("fs", MFD_CLOEXEC);
                assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
                if (strcmp(magics[i].fs, "xfs") == 0)
                        write_xfs_geometry(fd);
                assert_int_equal(
                        pwrite(fd, magics[i].magic, magics[i].len, (off_t) magics[i].at), (ssize_t) magics[i].len);
                assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), 0);
                assert_int_equal(m.kind, DISSECT_BARE);
                assert_string_equal(m.partitions[PARTITION_ROOT].fstype, magics[i].fs);
                close(fd);
        }
}

/* Overlapping partitions: the kernel refuses the second one, and the error said "the kernel's
 * partition table differs"; now the table is refused naming both. */
static void test_overlap(void **state) {
        static const Part overlapping[] = {
                {LINUX_GENERIC, "00112233-4455-6677-8899-aabbccddeeff", 2048, 4095, 0},
                {ROOT_X86, "ffeeddcc-bbaa-9988-7766-554433221100", 6144, 7167, 0},
                {ROOT_X86 /* type irrelevant */, "0123456789abcdef0123456789abcdef", 4095, 5000, GPT_FLAG_NO_AUTO},
        };
        DissectedImage m;
        unsigned a = 0, b = 0;
        int fd = make_gpt(overlapping, 3, 128, 128, 92, false, false);
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), -ERANGE);
        assert_int_equal(image_dissect_overlap(fd, IMG_SIZE, &a, &b), 1);
        assert_int_equal(a, 1);
        assert_int_equal(b, 3);
        close(fd);
        /* Adjacent is not overlapping. */
        fd = make_gpt(overlapping, 2, 128, 128, 92, false, false);
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), 0);
        assert_int_equal(image_dissect_overlap(fd, IMG_SIZE, &a, &b), 0);
        close(fd);

        /* MBR: a Linux partition and a swap partition sharing sectors; extended ones do not count. */
        fd = memfd_create("mbr", MFD_CLOEXEC);
        assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
        uint8_t mbr[512] = {};
        mbr[510] = 0x55, mbr[511] = 0xAA;
        mbr[446 + 4] = 0x83;
        put_le32(mbr + 446 + 8, 2048);
        put_le32(mbr + 446 + 12, 2048);
        mbr[478 + 4] = 0x05; /* extended, over everything */
        put_le32(mbr + 478 + 8, 1);
        put_le32(mbr + 478 + 12, IMG_SIZE / 512 - 1);
        assert_int_equal(pwrite(fd, mbr, 512, 0), 512);
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), 0);
        mbr[494 + 4] = 0x82;
        put_le32(mbr + 494 + 8, 4095);
        put_le32(mbr + 494 + 12, 10);
        assert_int_equal(pwrite(fd, mbr, 512, 0), 512);
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), -ERANGE);
        assert_int_equal(image_dissect_overlap(fd, IMG_SIZE, &a, &b), 1);
        assert_int_equal(a, 1);
        assert_int_equal(b, 4);
        put_le32(mbr + 494 + 8, 4096);
        assert_int_equal(pwrite(fd, mbr, 512, 0), 512);
        assert_int_equal(image_dissect(fd, IMG_SIZE, NULL, 0, &m), 0);
        close(fd);
}

static void test_uuid(void **state) {
        uint8_t u[16];
        char s[37];
        assert_int_equal(uuid_from_string("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", u), 0);
        uuid_format(u, s);
        assert_string_equal(s, ROOT_X86);
        assert_int_equal(uuid_from_string("4f68bce3-e8cd-4db1-96e7-fbcaf984b70", u), -EINVAL);
        assert_int_equal(uuid_from_string("4f68bce3-e8cd-4db1-96e7-fbcaf984b7090", u), -EINVAL);
        assert_int_equal(uuid_from_string("4f68bce3-e8cd-4db1-96e7-fbcaf984b7g9", u), -EINVAL);
        assert_int_equal(gpt_crc32("123456789", 9), 0xCBF43926U); /* the CRC-32 check value */
}

static void test_image_policy(void **state) {
        unsigned f;
        assert_int_equal(image_policy_parse("*", &f), 0);
        assert_int_equal(f, IMAGE_POLICY_ANY);
        assert_int_equal(image_policy_parse("signed", &f), 0);
        assert_int_equal(f, IMAGE_POLICY_SIGNED | IMAGE_POLICY_ABSENT);
        assert_int_equal(image_policy_parse_for("signed", PARTITION_USR, &f), 0);
        assert_int_equal(f, IMAGE_POLICY_SIGNED | IMAGE_POLICY_ABSENT);
        assert_int_equal(image_policy_parse_for("-", PARTITION_USR, &f), 0);
        assert_int_equal(f, IMAGE_POLICY_UNUSED | IMAGE_POLICY_ABSENT);
        /* Per partition: usr its own entry, else the default, else anything. */
        assert_int_equal(image_policy_parse_for("root=verity:usr=signed+absent", PARTITION_USR, &f), 0);
        assert_int_equal(f, IMAGE_POLICY_SIGNED | IMAGE_POLICY_ABSENT);
        assert_int_equal(image_policy_parse_for("root=verity:usr=signed+absent", PARTITION_ROOT, &f), 0);
        assert_int_equal(f, IMAGE_POLICY_VERITY);
        assert_int_equal(image_policy_parse_for("root=verity:=unprotected", PARTITION_USR, &f), 0);
        assert_int_equal(f, IMAGE_POLICY_UNPROTECTED);
        assert_int_equal(image_policy_parse_for("root=verity", PARTITION_USR, &f), 0);
        assert_int_equal(f, IMAGE_POLICY_ANY);
        assert_int_equal(image_policy_parse_for("usr=unused", PARTITION_USR, &f), 0);
        assert_int_equal(f, IMAGE_POLICY_UNUSED);
        assert_int_equal(image_policy_parse_for("usr=ignore", PARTITION_USR, &f), 0);
        assert_int_equal(f, IMAGE_POLICY_UNUSED | IMAGE_POLICY_ABSENT);
        assert_int_equal(image_policy_parse_for("usr-verity=verity", PARTITION_USR, &f), 0); /* not usr's */
        assert_int_equal(f, IMAGE_POLICY_ANY);
        assert_int_equal(image_policy_parse_for("*", PARTITION_ROOT_VERITY, &f), -EINVAL);
        assert_int_equal(image_policy_parse("root=verity+signed:usr=unused", &f), 0);
        assert_int_equal(f, IMAGE_POLICY_VERITY | IMAGE_POLICY_SIGNED);
        assert_int_equal(image_policy_parse("=unprotected", &f), 0);
        assert_int_equal(f, IMAGE_POLICY_UNPROTECTED);
        assert_int_equal(image_policy_parse("root=encrypted", &f), 0);
        assert_int_equal(f, 0);
        assert_int_equal(image_policy_parse("root=bogus", &f), -EINVAL);
        assert_int_equal(image_policy_parse("nope=verity", &f), -EINVAL);
        assert_int_equal(image_policy_parse("root", &f), -EINVAL);
        assert_int_equal(image_policy_parse("root=verity+", &f), -EINVAL);
        char *big = malloc(IMAGE_POLICY_STRING_MAX + 2);
        assert_non_null(big);
        memset(big, 'x', IMAGE_POLICY_STRING_MAX + 1);
        big[IMAGE_POLICY_STRING_MAX + 1] = 0;
        assert_int_equal(image_policy_parse(big, &f), -E2BIG);
        free(big);
}

static void test_private_users(void **state) {
        PrivateUsersMode m;
        uid_t s, r;
        assert_int_equal(private_users_parse("pick", &m, &s, &r), 0);
        assert_int_equal(m, PRIVATE_USERS_PICK);
        assert_int_equal(private_users_parse("no", &m, &s, &r), 0);
        assert_int_equal(m, PRIVATE_USERS_NO);
        assert_int_equal(private_users_parse("identity", &m, &s, &r), 0);
        assert_int_equal(m, PRIVATE_USERS_FIXED);
        assert_int_equal(s, 0);
        assert_int_equal(r, 65536);
        assert_int_equal(private_users_parse("1048576:1000", &m, &s, &r), 0);
        assert_int_equal(s, 1048576);
        assert_int_equal(r, 1000);
        assert_int_equal(private_users_parse("4294901759", &m, &s, &r), 0); /* + 65536 = 2^32 - 1 */
        assert_int_equal(private_users_parse("4294901760", &m, &s, &r), -ERANGE);
        assert_int_equal(private_users_parse("5:0", &m, &s, &r), -ERANGE);
        assert_int_equal(private_users_parse("x", &m, &s, &r), -EINVAL);
        assert_int_equal(private_users_parse("5:", &m, &s, &r), -EINVAL);
        assert_int_equal(private_users_ownership_from_string("map"), PRIVATE_USERS_OWNERSHIP_MAP);
        assert_int_equal(private_users_ownership_from_string("copy"), -EINVAL);
}

static void test_boot_status(void **state) {
        assert_int_equal(spawn_boot_status(CLD_EXITED, 0), 0);
        assert_int_equal(spawn_boot_status(CLD_EXITED, 3), 3);
        assert_int_equal(spawn_boot_status(CLD_KILLED, SIGINT), 0);
        assert_int_equal(spawn_boot_status(CLD_KILLED, SIGHUP), SPAWN_STATUS_REBOOT);
        assert_int_equal(spawn_boot_status(CLD_KILLED, SIGKILL), 128 + SIGKILL);
        assert_int_equal(spawn_boot_status(CLD_DUMPED, SIGSEGV), 128 + SIGSEGV);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_gpt_read),
                cmocka_unit_test(test_gpt_limits),
                cmocka_unit_test(test_gpt_crc_and_bounds),
                cmocka_unit_test(test_gpt_sector_size_and_small),
                cmocka_unit_test(test_gpt_backup),
                cmocka_unit_test(test_dissect_by_root_hash),
                cmocka_unit_test(test_dissect_usr_by_hash),
                cmocka_unit_test(test_dissect_generic_and_flags),
                cmocka_unit_test(test_mbr_and_bare),
                cmocka_unit_test(test_overlap),
                cmocka_unit_test(test_uuid),
                cmocka_unit_test(test_image_policy),
                cmocka_unit_test(test_private_users),
                cmocka_unit_test(test_boot_status),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
