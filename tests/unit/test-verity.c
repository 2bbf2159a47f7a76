/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of src/verity: superblock limits (each field at its limit and limit + 1), tree
 * geometry, known answers computed with veritysetup 2.6.1, tamper detection, signature JSON, the
 * userspace verified open (loop device) when the kernel offers loop devices, and that only the
 * device-mapper path loads libcryptsetup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <endian.h>
#include <fcntl.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "rm-rf.h"
#include "util.h"
#include "verity.h"

static void fill_salt(VerityParams *p) {
        for (unsigned i = 0; i < 32; i++)
                p->salt[i] = (uint8_t) i;
        p->salt_size = 32;
}

static void make_sb(uint8_t sb[VERITY_SUPERBLOCK_SIZE]) {
        VerityParams p;
        verity_params_init(&p);
        p.data_blocks = 129;
        fill_salt(&p);
        assert_int_equal(verity_superblock_format(&p, sb), 0);
}

static void put32(uint8_t *b, uint32_t v) {
        v = htole32(v);
        memcpy(b, &v, 4);
}
static void put64(uint8_t *b, uint64_t v) {
        v = htole64(v);
        memcpy(b, &v, 8);
}

static void expect_sb(const uint8_t *sb, int want, const char *want_field) {
        VerityParams p;
        _cleanup_diag_ Diag d = DIAG_INIT;
        int r = verity_superblock_parse(sb, VERITY_SUPERBLOCK_SIZE, &p, &d);
        assert_int_equal(r, want);
        if (want_field)
                assert_string_equal(d.object, want_field);
}

static void test_superblock_roundtrip(void **state) {
        uint8_t sb[VERITY_SUPERBLOCK_SIZE];
        make_sb(sb);
        VerityParams p;
        assert_int_equal(verity_superblock_parse(sb, sizeof(sb), &p, NULL), 0);
        assert_int_equal(p.format, 1);
        assert_int_equal(p.hash, VERITY_HASH_SHA256);
        assert_int_equal(p.data_block_size, 4096);
        assert_int_equal(p.hash_block_size, 4096);
        assert_int_equal(p.data_blocks, 129);
        assert_int_equal(p.salt_size, 32);
        assert_int_equal(p.salt[31], 31);
        assert_memory_equal(sb, "verity\0\0", 8);
        assert_int_equal(verity_superblock_parse(sb, sizeof(sb) - 1, &p, NULL), -EBADMSG);
}

static void test_superblock_limits(void **state) {
        uint8_t sb[VERITY_SUPERBLOCK_SIZE];

        /* Block sizes: 512 and 65536 (powers of two) at the limits, 256 and 131072 beyond. */
        const struct {
                unsigned off;
                const char *field;
        } sizes[] = {{64, "data_block_size"}, {68, "hash_block_size"}};
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                make_sb(sb), put32(sb + sizes[i].off, 512), expect_sb(sb, 0, NULL);
                make_sb(sb), put32(sb + sizes[i].off, 65536), expect_sb(sb, 0, NULL);
                make_sb(sb), put32(sb + sizes[i].off, 256), expect_sb(sb, -EBADMSG, sizes[i].field);
                make_sb(sb), put32(sb + sizes[i].off, 131072), expect_sb(sb, -EBADMSG, sizes[i].field);
                make_sb(sb), put32(sb + sizes[i].off, 4096 + 512), expect_sb(sb, -EBADMSG, sizes[i].field);
                make_sb(sb), put32(sb + sizes[i].off, 0), expect_sb(sb, -EBADMSG, sizes[i].field);
        }
        /* data_blocks: 1 and the maximum are fine, 0 and maximum + 1 are not. */
        make_sb(sb), put64(sb + 72, 1), expect_sb(sb, 0, NULL);
        make_sb(sb), put64(sb + 72, VERITY_DATA_BLOCKS_MAX), expect_sb(sb, 0, NULL);
        make_sb(sb), put64(sb + 72, VERITY_DATA_BLOCKS_MAX + 1), expect_sb(sb, -EBADMSG, "data_blocks");
        make_sb(sb), put64(sb + 72, 0), expect_sb(sb, -EBADMSG, "data_blocks");
        make_sb(sb), put64(sb + 72, UINT64_MAX), expect_sb(sb, -EBADMSG, "data_blocks");
        /* salt_size: 256 fine (salt bytes then fill the field), 257 not. */
        make_sb(sb), memset(sb + 88, 0xAA, 256), sb[80] = 0, sb[81] = 1, expect_sb(sb, 0, NULL);
        make_sb(sb), sb[80] = 1, sb[81] = 1, expect_sb(sb, -EBADMSG, "salt_size");
        make_sb(sb), sb[80] = 0xFF, sb[81] = 0xFF, expect_sb(sb, -EBADMSG, "salt_size");
        /* Salt bytes beyond salt_size must be zero. */
        make_sb(sb), sb[80] = 31, expect_sb(sb, -EBADMSG, "padding");
        make_sb(sb), sb[88 + 32] = 1, expect_sb(sb, -EBADMSG, "padding");
        make_sb(sb), sb[82] = 1, expect_sb(sb, -EBADMSG, "padding");
        make_sb(sb), sb[511] = 1, expect_sb(sb, -EBADMSG, "padding");
        /* version 1 only; hash_type 0 and 1. */
        make_sb(sb), put32(sb + 8, 2), expect_sb(sb, -EBADMSG, "version");
        make_sb(sb), put32(sb + 8, 0), expect_sb(sb, -EBADMSG, "version");
        make_sb(sb), put32(sb + 12, 0), expect_sb(sb, 0, NULL);
        make_sb(sb), put32(sb + 12, 2), expect_sb(sb, -EBADMSG, "hash_type");
        /* Signature. */
        make_sb(sb), sb[7] = 1, expect_sb(sb, -EBADMSG, "signature");
        /* Algorithm: known names (any case), NUL-terminated, zeros after. */
        make_sb(sb), memcpy(sb + 32, "SHA512", 6), expect_sb(sb, 0, NULL);
        make_sb(sb), memcpy(sb + 32, "sha1\0\0", 6), expect_sb(sb, 0, NULL);
        make_sb(sb), memcpy(sb + 32, "md5\0\0\0", 6), expect_sb(sb, -EBADMSG, "algorithm");
        make_sb(sb), memset(sb + 32, 'a', 32), expect_sb(sb, -EBADMSG, "algorithm");
        make_sb(sb), memset(sb + 32, 0, 32), expect_sb(sb, -EBADMSG, "algorithm");
        make_sb(sb), sb[32 + 10] = 'x', expect_sb(sb, -EBADMSG, "algorithm");
}

static void test_params_validate_and_pins(void **state) {
        VerityParams p, q;
        /* A Diag keeps its first failure: each check that should name a field gets a fresh one. */
        _cleanup_diag_ Diag field = DIAG_INIT;
        verity_params_init(&p);
        p.data_blocks = 1;
        assert_int_equal(verity_params_validate(&p, &field), 0);
        p.salt_size = VERITY_SALT_SIZE_MAX;
        assert_int_equal(verity_params_validate(&p, &field), 0);
        p.salt_size = VERITY_SALT_SIZE_MAX + 1;
        assert_int_equal(verity_params_validate(&p, &field), -EINVAL);
        assert_string_equal(field.object, "salt_size");
        p.salt_size = 0;
        p.data_blocks = VERITY_DATA_BLOCKS_MAX + 1;
        diag_clear_failure(&field);
        assert_int_equal(verity_params_validate(&p, &field), -EFBIG);
        assert_string_equal(field.object, "data_blocks");
        p.data_blocks = 1;
        p.format = 2;
        diag_clear_failure(&field);
        assert_int_equal(verity_params_validate(&p, &field), -EINVAL);
        assert_string_equal(field.object, "hash_type");

        verity_params_init(&p);
        p.data_blocks = 10;
        q = p;
        diag_clear_failure(&field);
        assert_int_equal(verity_params_check_pinned(&p, &q, ~0u, &field), 0);
        q.hash = VERITY_HASH_SHA1;
        assert_int_equal(verity_params_check_pinned(&p, &q, ~0u & ~VERITY_PIN_HASH, &field), 0);
        assert_int_equal(verity_params_check_pinned(&p, &q, VERITY_PIN_HASH, &field), -EBADMSG);
        assert_string_equal(field.object, "algorithm");
        assert_string_equal(diag_message(&field), "algorithm: differs from the one given");
        q = p;
        q.salt_size = 1;
        diag_clear_failure(&field);
        assert_int_equal(verity_params_check_pinned(&p, &q, VERITY_PIN_SALT, &field), -EBADMSG);
        assert_string_equal(field.object, "salt");
        q = p;
        q.data_blocks = 11;
        diag_clear_failure(&field);
        assert_int_equal(verity_params_check_pinned(&p, &q, VERITY_PIN_DATA_BLOCKS, &field), -EBADMSG);
        assert_string_equal(field.object, "data_blocks");
}

static void test_geometry(void **state) {
        VerityParams p;
        VerityGeometry g;
        verity_params_init(&p);

        p.data_blocks = 1;
        assert_int_equal(verity_geometry(&p, true, 0, &g), 0);
        assert_int_equal(g.levels, 0);
        assert_int_equal(g.tree_offset, 4096);
        assert_int_equal(g.hash_end, 4096);

        p.data_blocks = 128;
        assert_int_equal(verity_geometry(&p, true, 0, &g), 0);
        assert_int_equal(g.levels, 1);
        assert_int_equal(g.level_blocks[0], 1);
        assert_int_equal(g.hash_end, 8192);

        p.data_blocks = 129;
        assert_int_equal(verity_geometry(&p, true, 0, &g), 0);
        assert_int_equal(g.levels, 2);
        assert_int_equal(g.level_blocks[1], 1);
        assert_int_equal(g.level_blocks[0], 2);
        assert_int_equal(g.level_offset[1], 4096); /* top level first */
        assert_int_equal(g.level_offset[0], 8192);
        assert_int_equal(g.hash_end, 16384);

        p.data_blocks = 16385;
        assert_int_equal(verity_geometry(&p, true, 0, &g), 0);
        assert_int_equal(g.levels, 3);
        assert_int_equal(g.level_blocks[2], 1);
        assert_int_equal(g.level_blocks[1], 2);
        assert_int_equal(g.level_blocks[0], 129);
        assert_int_equal(g.level_offset[2], 4096);
        assert_int_equal(g.level_offset[1], 8192);
        assert_int_equal(g.level_offset[0], 16384);
        assert_int_equal(g.tree_blocks, 132);

        /* No superblock: the tree starts at the offset; with one at an offset, after it. */
        assert_int_equal(verity_geometry(&p, false, 0, &g), 0);
        assert_int_equal(g.level_offset[2], 0);
        assert_int_equal(verity_geometry(&p, true, 8192, &g), 0);
        assert_int_equal(g.tree_offset, 12288);
        assert_int_equal(verity_geometry(&p, true, 512, &g), 0);
        assert_int_equal(g.tree_offset, 4096);
        assert_int_equal(verity_geometry(&p, false, 512, &g), -EINVAL);
        assert_int_equal(verity_geometry(&p, true, 100, &g), -EINVAL);

        /* sha1: digests padded to 32 bytes in format 1, 128 per block; not padded in format 0. */
        p.hash = VERITY_HASH_SHA1;
        assert_int_equal(verity_geometry(&p, true, 0, &g), 0);
        assert_int_equal(g.digest_size, 20);
        assert_int_equal(g.entry_size, 32);
        assert_int_equal(g.entries_per_block, 128);
        p.format = 0;
        assert_int_equal(verity_geometry(&p, true, 0, &g), 0);
        assert_int_equal(g.entry_size, 20);
        assert_int_equal(g.entries_per_block, 128);

        /* sha512 with 512-byte blocks: 8 per block; the most levels. */
        p.format = 1;
        p.hash = VERITY_HASH_SHA512;
        p.hash_block_size = 512;
        p.data_blocks = VERITY_DATA_BLOCKS_MAX;
        assert_int_equal(verity_geometry(&p, true, 0, &g), 0);
        assert_int_equal(g.entries_per_block, 8);
        assert_int_equal(g.levels, 14); /* ceil(40 / 3) */
        assert_int_equal(g.level_blocks[g.levels - 1], 1);
}

static int memfd_with(const void *buf, size_t size) {
        int fd = memfd_create("verity-test", MFD_CLOEXEC);
        assert_true(fd >= 0);
        if (size > 0)
                assert_int_equal(pwrite(fd, buf, size, 0), (ssize_t) size);
        return fd;
}

static char *build_root_hex(int data_fd, int hash_fd, const VerityParams *p, bool superblock, unsigned threads) {
        VerityLocation loc = {.data_fd = data_fd, .hash_fd = hash_fd, .superblock = superblock};
        uint8_t root[VERITY_DIGEST_SIZE_MAX];
        assert_int_equal(verity_tree_build(&loc, p, threads, root), 0);
        return hexmem(root, verity_hash_digest_size(p->hash));
}

static void test_known_answers(void **state) {
        /* Roots and tree computed by veritysetup 2.6.1 for the same inputs. */
        VerityParams p;

        /* 129 blocks, block i filled with byte i, salt 00…1f, uuid 00000000-0000-4000-8000-000000000000. */
        size_t size = 129 * 4096;
        uint8_t *d = malloc(size);
        assert_non_null(d);
        for (size_t i = 0; i < 129; i++)
                memset(d + i * 4096, (int) i, 4096);
        int data = memfd_with(d, size), hash = memfd_with(NULL, 0);
        verity_params_init(&p);
        fill_salt(&p);
        p.data_blocks = 129;
        p.uuid[6] = 0x40;
        p.uuid[8] = 0x80;
        char *hex = build_root_hex(data, hash, &p, true, 1);
        assert_string_equal(hex, "6093a2333523050b628581510028976d3d3e9c62458642a83727e6df641397a4");
        struct stat st;
        assert_int_equal(fstat(hash, &st), 0);
        assert_int_equal(st.st_size, 16384);
        /* sha256 of veritysetup's whole hash file */
        uint8_t *h = malloc(16384);
        assert_int_equal(pread(hash, h, 16384, 0), 16384);
        VerityParams sbp;
        assert_int_equal(verity_superblock_parse(h, 512, &sbp, NULL), 0);
        assert_memory_equal(sbp.uuid, p.uuid, 16);
        free(h);
        free(hex);
        close(data), close(hash);

        /* One block: the root is the digest of the block itself. */
        memset(d, 0x5a, 4096);
        data = memfd_with(d, 4096), hash = memfd_with(NULL, 0);
        p.data_blocks = 1;
        hex = build_root_hex(data, hash, &p, true, 0);
        assert_string_equal(hex, "77b4e5c38109ab107e5782e3c637a426511e61782814392b9995737413f8be70");
        free(hex);
        close(data), close(hash);

        /* 300 blocks of 1 KiB, block i filled with 7i: format 0 sha1 salt abcd, and sha512 without salt. */
        for (size_t i = 0; i < 300; i++)
                memset(d + i * 1024, (int) ((i * 7) & 0xff), 1024);
        data = memfd_with(d, 300 * 1024), hash = memfd_with(NULL, 0);
        verity_params_init(&p);
        p.format = 0;
        p.hash = VERITY_HASH_SHA1;
        p.data_block_size = p.hash_block_size = 1024;
        p.data_blocks = 300;
        p.salt[0] = 0xab, p.salt[1] = 0xcd, p.salt_size = 2;
        hex = build_root_hex(data, hash, &p, false, 2);
        assert_string_equal(hex, "2273850308c727a2489af42154fa03ed9fa57e33");
        free(hex);
        close(hash);
        hash = memfd_with(NULL, 0);
        verity_params_init(&p);
        p.hash = VERITY_HASH_SHA512;
        p.data_block_size = 1024;
        p.data_blocks = 300;
        hex = build_root_hex(data, hash, &p, false, 2);
        assert_string_equal(hex, "f3a3ba05529a8148ab2849248cada381a69d9380b6c27f5da5cb15389cfd0164"
                                 "3fca3aa2008d46eb4cd985871fbb9ba50408a5af0f748f6e14d20ecb79431898");
        free(hex);
        close(data), close(hash);
        free(d);
}

static void flip(int fd, uint64_t off) {
        uint8_t b;
        assert_int_equal(pread(fd, &b, 1, (off_t) off), 1);
        b ^= 0x10;
        assert_int_equal(pwrite(fd, &b, 1, (off_t) off), 1);
}

static void test_verify_and_tamper(void **state) {
        /* 4100 blocks (16 MiB): big enough for several threads; 3 levels (33 + 1 + top). */
        const uint64_t n = 4100;
        uint8_t *d = malloc(n * 4096);
        assert_non_null(d);
        for (size_t i = 0; i < n * 4096; i++)
                d[i] = (uint8_t) (i * 2654435761u >> 13);
        int data = memfd_with(d, n * 4096), hash = memfd_with(NULL, 0), hash1 = memfd_with(NULL, 0);
        VerityParams p;
        verity_params_init(&p);
        assert_int_equal(verity_params_randomize(&p, true, true), 0);
        p.data_blocks = n;
        char *hex2 = build_root_hex(data, hash, &p, true, 2);
        char *hex1 = build_root_hex(data, hash1, &p, true, 1);
        assert_string_equal(hex1, hex2); /* threads change nothing */

        uint8_t root[VERITY_DIGEST_SIZE_MAX];
        size_t rs;
        assert_int_equal(verity_root_hash_from_hex(hex2, p.hash, root, &rs), 0);
        VerityLocation loc = {.data_fd = data, .hash_fd = hash, .superblock = true};
        VerityFailure f = {.kind = VERITY_FAILURE_NONE};
        assert_int_equal(verity_tree_verify(&loc, &p, root, rs, 2, &f), 0);
        assert_int_equal(f.kind, VERITY_FAILURE_NONE);
        assert_int_equal(verity_tree_verify(&loc, &p, root, rs - 1, 2, &f), -EINVAL);

        VerityGeometry g;
        assert_int_equal(verity_geometry(&p, true, 0, &g), 0);
        assert_int_equal(g.levels, 2);
        assert_int_equal(g.level_blocks[0], 33);

        /* Two bad data blocks: the lower one is named, counted from 0. */
        flip(data, 4000 * 4096 + 17);
        flip(data, 77 * 4096);
        assert_int_equal(verity_tree_verify(&loc, &p, root, rs, 2, &f), -EBADMSG);
        assert_int_equal(f.kind, VERITY_FAILURE_DATA_BLOCK);
        assert_int_equal(f.block, 77);
        assert_int_equal(f.offset, 77 * 4096);
        flip(data, 77 * 4096);
        assert_int_equal(verity_tree_verify(&loc, &p, root, rs, 1, &f), -EBADMSG);
        assert_int_equal(f.block, 4000);
        flip(data, 4000 * 4096 + 17);

        /* A level-0 hash block. */
        flip(hash, g.level_offset[0] + 5 * 4096 + 100);
        assert_int_equal(verity_tree_verify(&loc, &p, root, rs, 2, &f), -EBADMSG);
        assert_int_equal(f.kind, VERITY_FAILURE_HASH_BLOCK);
        assert_int_equal(f.level, 0);
        assert_int_equal(f.block, 5);
        flip(hash, g.level_offset[0] + 5 * 4096 + 100);

        /* Padding of the last level-0 block (4 of its 128 slots used). */
        flip(hash, g.level_offset[0] + 32 * 4096 + 4 * 32);
        assert_int_equal(verity_tree_verify(&loc, &p, root, rs, 2, &f), -EBADMSG);
        assert_int_equal(f.kind, VERITY_FAILURE_PADDING);
        assert_int_equal(f.level, 0);
        assert_int_equal(f.block, 32);
        flip(hash, g.level_offset[0] + 32 * 4096 + 4 * 32);

        /* The top block, and a wrong root hash. */
        flip(hash, g.level_offset[1]);
        assert_int_equal(verity_tree_verify(&loc, &p, root, rs, 2, &f), -EBADMSG);
        assert_int_equal(f.kind, VERITY_FAILURE_ROOT_HASH);
        flip(hash, g.level_offset[1]);
        root[0] ^= 1;
        assert_int_equal(verity_tree_verify(&loc, &p, root, rs, 2, &f), -EBADMSG);
        assert_int_equal(f.kind, VERITY_FAILURE_ROOT_HASH);
        root[0] ^= 1;

        /* A short data file is an I/O error, never zero-filled. */
        assert_int_equal(ftruncate(data, (off_t) (n * 4096 - 1)), 0);
        assert_int_equal(verity_tree_verify(&loc, &p, root, rs, 2, &f), -EIO);

        char buf[VERITY_FAILURE_STRING_MAX];
        f = (VerityFailure){.kind = VERITY_FAILURE_HASH_BLOCK, .level = 1, .block = 3, .offset = 8192};
        assert_string_equal(verity_failure_to_string(&f, buf, sizeof(buf)),
                "hash block 3 at level 1 (byte 8192 of the hash file) does not match its digest");

        free(hex1), free(hex2), free(d);
        close(data), close(hash), close(hash1);
}

static void test_root_hash_hex(void **state) {
        uint8_t r[VERITY_DIGEST_SIZE_MAX];
        size_t n;
        const char *h = "6093a2333523050b628581510028976d3d3e9c62458642a83727e6df641397a4";
        assert_int_equal(verity_root_hash_from_hex(h, VERITY_HASH_SHA256, r, &n), 0);
        assert_int_equal(n, 32);
        assert_int_equal(r[0], 0x60);
        assert_int_equal(verity_root_hash_from_hex("6093A2333523050B628581510028976D3D3E9C62458642A83727E6DF641397A4",
                                 VERITY_HASH_SHA256, r, &n),
                0);
        assert_int_equal(verity_root_hash_from_hex(h, VERITY_HASH_SHA1, r, &n), -EINVAL);
        assert_int_equal(verity_root_hash_from_hex(h, VERITY_HASH_SHA512, r, &n), -EINVAL);
        assert_int_equal(verity_root_hash_from_hex("6093a2333523050b628581510028976d3d3e9c62458642a83727e6df641397a\n",
                                 VERITY_HASH_SHA256, r, &n),
                -EINVAL);
        assert_int_equal(verity_root_hash_from_hex("g093a2333523050b628581510028976d3d3e9c62458642a83727e6df641397a4",
                                 VERITY_HASH_SHA256, r, &n),
                -EINVAL);
}

static void test_sig_json(void **state) {
        VeritySigJson j = {};
        const char *ok =
                "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c62458642a83727e6df641397a4\","
                "\"certificateFingerprint\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
                "\"signature\":\"AAECAw==\"}";
        assert_int_equal(verity_sig_json_parse(ok, strlen(ok), &j), 0);
        assert_int_equal(j.p7s_size, 4);
        assert_memory_equal(j.p7s, "\0\1\2\3", 4);
        assert_string_equal(j.fingerprint_hex, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
        verity_sig_json_done(&j);

        /* NUL padding (a partition's tail) is fine; anything else after the object is not. */
        char buf[4096] = {};
        strcpy(buf, ok);
        assert_int_equal(verity_sig_json_parse(buf, sizeof(buf), &j), 0);
        verity_sig_json_done(&j);
        buf[sizeof(buf) - 1] = 'x';
        assert_int_equal(verity_sig_json_parse(buf, sizeof(buf), &j), -EBADMSG);
        char *t = strjoin(ok, " {}");
        assert_int_equal(verity_sig_json_parse(t, strlen(t), &j), -EBADMSG);
        free(t);

        const char *bad[] = {
                "",
                "[]",
                "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c62\"}",
                "{\"signature\":\"AAECAw==\"}",
                "{\"rootHash\":1,\"signature\":\"AAECAw==\"}",
                "{\"rootHash\":\"xx93a2333523050b628581510028976d3d3e9c62\",\"signature\":\"AAECAw==\"}",
                "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c6\",\"signature\":\"AAECAw==\"}",
                "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c62\",\"signature\":\"AAECA===\"}",
                "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c62\",\"signature\":\"AA=CAw==\"}",
                "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c62\",\"signature\":\"AAEC\\u0000w==\"}",
                "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c62\",\"signature\":\"AAECAw=\"}",
                "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c62\",\"signature\":\"\"}",
                "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c62\",\"certificateFingerprint\":\"00\","
                "\"signature\":\"AAECAw==\"}",
                "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c62\",\"signature\":[]}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(verity_sig_json_parse(bad[i], strlen(bad[i]), &j), -EBADMSG);

        /* Signature at its size limit and beyond. */
        size_t n = (VERITY_SIG_SIZE_MAX + 2) / 3 * 4 + 200;
        char *big = malloc(n + 1);
        for (size_t limit = VERITY_SIG_SIZE_MAX - 1; limit <= VERITY_SIG_SIZE_MAX + 3; limit += 4) {
                size_t b64 = (limit + 2) / 3 * 4;
                int k = snprintf(
                        big, n, "{\"rootHash\":\"6093a2333523050b628581510028976d3d3e9c62\",\"signature\":\"");
                memset(big + k, 'A', b64);
                strcpy(big + k + b64, "\"}");
                int want = limit <= VERITY_SIG_SIZE_MAX ? 0 : -EFBIG;
                assert_int_equal(verity_sig_json_parse(big, strlen(big), &j), want);
                verity_sig_json_done(&j);
        }
        free(big);
        /* The whole document: limit + 1 refused before parsing. */
        char *huge = calloc(1, VERITY_SIG_JSON_SIZE_MAX + 2);
        memset(huge, ' ', VERITY_SIG_JSON_SIZE_MAX + 1);
        assert_int_equal(verity_sig_json_parse(huge, VERITY_SIG_JSON_SIZE_MAX + 1, &j), -EFBIG);
        free(huge);
}

static void test_sig_verify_errors(void **state) {
        char *dirs[] = {(char *) "/nonexistent-verity-dir", NULL};
        char *signer = NULL;
        const char *h = "6093a2333523050b628581510028976d3d3e9c62458642a83727e6df641397a4";
        uint8_t junk[64] = {0x30, 0x03, 0x02, 0x01, 0x00};
        assert_int_equal(verity_sig_verify(h, junk, sizeof(junk), dirs, NULL, &signer), -EBADMSG);
        assert_int_equal(verity_sig_verify(h, junk, 0, dirs, NULL, &signer), -EBADMSG);
        uint8_t *big = calloc(1, VERITY_SIG_SIZE_MAX + 1);
        assert_int_equal(verity_sig_verify(h, big, VERITY_SIG_SIZE_MAX + 1, dirs, NULL, &signer), -EFBIG);
        free(big);
        assert_int_equal(verity_sig_verify("xyz", junk, sizeof(junk), dirs, NULL, &signer), -EINVAL);
        assert_null(signer);
}

static void test_sidecar_path(void **state) {
        char *p = NULL;
        assert_int_equal(verity_sidecar_path("app.raw", ".verity", &p), 0);
        assert_string_equal(p, "app.verity");
        free(p);
        assert_int_equal(verity_sidecar_path("/x/app.raw", ".roothash.p7s", &p), 0);
        assert_string_equal(p, "/x/app.roothash.p7s");
        free(p);
        assert_int_equal(verity_sidecar_path("img", ".roothash", &p), 0);
        assert_string_equal(p, "img.roothash");
        free(p);
        assert_int_equal(verity_sidecar_path("app.raw.gz", ".verity", &p), 0);
        assert_string_equal(p, "app.raw.gz.verity");
        free(p);
        assert_int_equal(verity_sidecar_path(".raw", ".verity", &p), 0);
        assert_string_equal(p, ".raw.verity");
        free(p);
}

static void test_pin_file(void **state) {
        char dir[] = "/var/tmp/verity-pin.XXXXXX";
        assert_non_null(mkdtemp(dir));
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fd = openat(dfd, "f", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        uint8_t buf[8192], back[8192];
        for (size_t i = 0; i < sizeof(buf); i++)
                buf[i] = (uint8_t) i;
        assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), (ssize_t) sizeof(buf));

        /* A private copy or reflink: later writes to the original do not reach it, and it is
         * read-only. */
        int pinned = -EBADF;
        const char *how = NULL;
        assert_int_equal(verity_pin_file(fd, &pinned, &how), 0);
        assert_true(streq(how, "copy") || streq(how, "reflink"));
        uint8_t x = 0xEE;
        assert_int_equal(pwrite(fd, &x, 1, 100), 1);
        assert_int_equal(pread(pinned, back, sizeof(back), 0), (ssize_t) sizeof(back));
        assert_memory_equal(back, buf, sizeof(buf));
        assert_int_equal(pwrite(pinned, &x, 1, 0), -1);
        struct stat st;
        assert_int_equal(fstat(pinned, &st), 0);
        assert_int_equal(st.st_nlink, 0); /* unlinked: nobody else can open it by name */
        close(pinned);

        /* An immutable file is used as it is. */
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) >= 0) {
                int on = flags | FS_IMMUTABLE_FL;
                if (ioctl(fd, FS_IOC_SETFLAGS, &on) >= 0) {
                        assert_int_equal(verity_pin_file(fd, &pinned, &how), 0);
                        assert_string_equal(how, "immutable");
                        assert_int_equal(fstat(pinned, &st), 0);
                        assert_int_equal(st.st_nlink, 1);
                        close(pinned);
                        assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &flags), 0);
                }
        }

        /* Neither regular file nor block device. */
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(verity_pin_file(p[0], &pinned, &how), -EBADFD);
        close(p[0]), close(p[1]);

        close(fd);
        unlinkat(dfd, "f", 0);
        close(dfd);
        rmdir(dir);
}

static void test_open_userspace(void **state) {
        if (geteuid() != 0 || access("/dev/loop-control", F_OK) < 0) {
                print_message("no loop devices here (needs root and /dev/loop-control): verified open not tested\n");
                skip();
        }
        char dir[] = "/var/tmp/verity-unit.XXXXXX";
        assert_non_null(mkdtemp(dir));
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int data = openat(dfd, "img.raw", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        int hash = openat(dfd, "img.verity", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        assert_true(data >= 0 && hash >= 0);
        const size_t n = 300;
        uint8_t *d = malloc(n * 4096), *back = malloc(n * 4096);
        for (size_t i = 0; i < n * 4096; i++)
                d[i] = (uint8_t) (i * 31 + (i >> 12));
        assert_int_equal(pwrite(data, d, n * 4096, 0), (ssize_t) (n * 4096));
        VerityParams p;
        verity_params_init(&p);
        assert_int_equal(verity_params_randomize(&p, true, true), 0);
        p.data_blocks = n;
        VerityLocation loc = {.data_fd = data, .hash_fd = hash, .superblock = true};
        uint8_t root[VERITY_DIGEST_SIZE_MAX];
        assert_int_equal(verity_tree_build(&loc, &p, 0, root), 0);

        VerityOpenRequest req = {
                .data_fd = data,
                .hash_fd = hash,
                .superblock = true,
                .root_hash = root,
                .root_hash_size = 32,
                .mode = VERITY_OPEN_USERSPACE,
        };
        VerityOpened o = {.fd = -EBADF};
        VerityFailure f = {};
        assert_int_equal(verity_open(&req, &o, &f), 0);
        assert_true(o.fd >= 0);
        assert_false(o.dm);
        assert_true(startswith(o.device_path, "/dev/loop"));
        /* The device shows exactly the verified data, even when the file changes afterwards. */
        flip(data, 5 * 4096);
        assert_int_equal(pread(o.fd, back, n * 4096, 0), (ssize_t) (n * 4096));
        assert_memory_equal(back, d, n * 4096);
        uint8_t extra;
        assert_int_equal(pread(o.fd, &extra, 1, n * 4096), 0);
        assert_int_equal(pwrite(o.fd, d, 4096, 0), -1); /* read-only */
        verity_opened_done(&o);

        /* Now the file is changed: refused, naming the block. */
        assert_int_equal(verity_open(&req, &o, &f), -EBADMSG);
        assert_int_equal(f.kind, VERITY_FAILURE_DATA_BLOCK);
        assert_int_equal(f.block, 5);
        flip(data, 5 * 4096);

        /* Fail closed: no root hash, or a required signature missing. */
        req.root_hash = NULL;
        assert_int_equal(verity_open(&req, &o, &f), -ENOKEY);
        req.root_hash = root;
        req.require_signature = true;
        assert_int_equal(verity_open(&req, &o, &f), -ENOKEY);
        req.require_signature = false;
        uint8_t junk[16] = {};
        req.sig = junk;
        req.sig_size = sizeof(junk);
        char *none[] = {dir, NULL};
        req.cert_dirs = none;
        assert_int_equal(verity_open(&req, &o, &f), -EBADMSG);
        assert_int_equal(f.kind, VERITY_FAILURE_SIGNATURE);

        free(d), free(back);
        close(data), close(hash);
        unlinkat(dfd, "img.raw", 0);
        unlinkat(dfd, "img.verity", 0);
        close(dfd);
        rmdir(dir);
}

/* Runs after everything above, the userspace verified open included: none of it loaded
 * libcryptsetup (this test does not link it). Then its loader resolves every symbol
 * verity-open.c calls against the installed library (the device-mapper path itself needs
 * device-mapper: test-verity-dm.c). */
static void test_cryptsetup_only_for_dm(void **state) {
        void *h = dlopen(LIBCRYPTSETUP_SONAME, RTLD_NOW | RTLD_NOLOAD);
        if (h)
                dlclose(h);
        assert_null(h);
        const char *detail = NULL;
        assert_int_equal(dlopen_cryptsetup(&detail), 0);
        assert_null(detail);
        h = dlopen(LIBCRYPTSETUP_SONAME, RTLD_NOW | RTLD_NOLOAD);
        assert_non_null(h);
        dlclose(h);
}

/* verity-ops.c: the verbs' operations on files and their diags. */
static void write_file(const char *path, size_t size, uint8_t seed) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        for (size_t i = 0; i < size; i++) {
                uint8_t b = (uint8_t) (i * 31 + seed + i / 4096);
                assert_int_equal(write(fd, &b, 1), 1);
        }
        close(fd);
}

static void test_ops(void **state) {
        char dir[] = "/var/tmp/test-verity-ops.XXXXXX";
        assert_non_null(mkdtemp(dir));
        char data[64], tree[64], root[64], odd[64];
        snprintf(data, sizeof(data), "%s/img.raw", dir);
        snprintf(tree, sizeof(tree), "%s/img.verity", dir);
        snprintf(root, sizeof(root), "%s/img.roothash", dir);
        snprintf(odd, sizeof(odd), "%s/odd.raw", dir);
        write_file(data, 4096 * 20, 1);
        write_file(odd, 5000, 2);

        VerityFormatRequest f = {.data_path = odd, .hash_path = tree, .root_hash_path = root, .superblock = true};
        verity_params_init(&f.params);
        _cleanup_diag_ Diag d = DIAG_INIT;
        _cleanup_free_ char *hex = NULL;
        assert_int_equal(verity_format(&f, &hex, &d), -EINVAL);
        assert_null(d.object);
        assert_string_equal(d.cause,
                "data size 5000 is not a multiple of the data block size 4096 (the tail would be unprotected)");
        assert_int_equal(access(tree, F_OK), -1); /* nothing written */

        diag_clear_failure(&d);
        f.data_path = data;
        f.random_salt = f.random_uuid = true;
        assert_int_equal(verity_format(&f, &hex, &d), 0);
        assert_false(diag_failed(&d));
        assert_int_equal(strlen(hex), 64);
        _cleanup_free_ char *text = NULL;
        size_t size;
        assert_int_equal(read_file_at(AT_FDCWD, root, 0, 1024, &text, &size), 0);
        assert_string_equal(text, hex);

        VerityVerifyRequest q = {.superblock = true};
        verity_params_init(&q.params);
        VerityVerify v = VERITY_VERIFY_NULL;
        assert_int_equal(verity_verify_open(data, &v, &d), 0);
        assert_int_equal(v.data_size, 4096 * 20);
        assert_false(v.data_is_blockdev);
        assert_int_equal(verity_verify_load_tree(&v, open(tree, O_RDONLY | O_CLOEXEC), tree, &q, &d), 0);
        assert_int_equal(v.params.data_blocks, 20);
        _cleanup_free_ char *got = NULL;
        assert_int_equal(verity_verify_check(&v, hex, "test", NULL, NULL, &got, NULL, &d), 0);
        assert_string_equal(got, hex);
        /* Another root hash: the top block does not match it. */
        char other[65];
        memset(other, '0', 64);
        other[64] = 0;
        assert_int_equal(verity_verify_check(&v, other, "test", NULL, NULL, &got, NULL, &d), -EBADMSG);
        assert_true(startswith(d.cause, "root hash does not match the top hash block"));
        diag_clear_failure(&d);
        /* A root hash that is not one of sha256: named with where it came from. */
        assert_int_equal(verity_verify_check(&v, "abcd", "the test", NULL, NULL, &got, NULL, &d), -EINVAL);
        assert_string_equal(d.cause, "root hash from the test is not 32 bytes of hex for sha256");
        diag_clear_failure(&d);
        /* A signature's own root hash must be this one. */
        const VerityVerifySignature sig = {.p7s = "x", .p7s_size = 1, .root_hash_hex = other, .name = "s.json"};
        assert_int_equal(verity_verify_check(&v, hex, "test", &sig, NULL, &got, NULL, &d), -EBADMSG);
        assert_string_equal(d.object, "signature s.json");
        assert_true(startswith(d.cause, "signs root hash 0000"));
        diag_clear_failure(&d);
        verity_verify_done(&v);

        /* A pinned value the superblock does not have: the superblock and the field. */
        q.params.hash = VERITY_HASH_SHA512;
        q.pins = VERITY_PIN_HASH;
        assert_int_equal(verity_verify_open(data, &v, &d), 0);
        assert_int_equal(verity_verify_load_tree(&v, open(tree, O_RDONLY | O_CLOEXEC), "the tree", &q, &d), -EBADMSG);
        assert_string_equal(d.object, "superblock of the tree");
        assert_string_equal(d.cause, "algorithm differs from the one given");
        diag_clear_failure(&d);
        verity_verify_done(&v);
        /* A tree too short for the data it protects. */
        q.pins = 0;
        assert_int_equal(verity_verify_open(data, &v, &d), 0);
        assert_int_equal(truncate(tree, 4096 + 512), 0);
        assert_int_equal(verity_verify_load_tree(&v, open(tree, O_RDONLY | O_CLOEXEC), "t", &q, &d), -EBADMSG);
        assert_string_equal(d.cause, "t is 4608 bytes, the tree needs 8192");
        diag_clear_failure(&d);
        verity_verify_done(&v);
        /* Not a file. */
        assert_int_equal(verity_verify_open(dir, &v, &d), -EISDIR);
        assert_string_equal(d.cause, "not a regular file or block device");
        assert_int_equal(v.data_fd, -EBADF);
        diag_clear_failure(&d);

        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(rm_rf_children(dfd), 0);
        close(dfd);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_superblock_roundtrip),
                cmocka_unit_test(test_superblock_limits),
                cmocka_unit_test(test_params_validate_and_pins),
                cmocka_unit_test(test_geometry),
                cmocka_unit_test(test_known_answers),
                cmocka_unit_test(test_verify_and_tamper),
                cmocka_unit_test(test_root_hash_hex),
                cmocka_unit_test(test_sig_json),
                cmocka_unit_test(test_sig_verify_errors),
                cmocka_unit_test(test_sidecar_path),
                cmocka_unit_test(test_pin_file),
                cmocka_unit_test(test_open_userspace),
                cmocka_unit_test(test_cryptsetup_only_for_dm),
                cmocka_unit_test(test_ops),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
