/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verity parameters, the v1 superblock and the tree geometry.
 *
 * Untrusted input: the 512-byte superblock (verity_superblock_parse/read) and root hash text
 * (verity_root_hash_from_hex). Every field is range-checked before any arithmetic uses it, and all
 * geometry arithmetic is overflow-checked. */
#include <ctype.h>
#include <endian.h>
#include <inttypes.h>
#include <string.h>
#include <sys/random.h>

#include "string-table.h"
#include "util.h"
#include "verity.h"

static const char *const verity_hash_table[_VERITY_HASH_MAX] = {
        [VERITY_HASH_SHA1] = "sha1",
        [VERITY_HASH_SHA256] = "sha256",
        [VERITY_HASH_SHA512] = "sha512",
};
DEFINE_STRING_TABLE_LOOKUP(verity_hash, VerityHash);

static const size_t hash_sizes[_VERITY_HASH_MAX] = {
        [VERITY_HASH_SHA1] = 20,
        [VERITY_HASH_SHA256] = 32,
        [VERITY_HASH_SHA512] = 64,
};

size_t verity_hash_digest_size(VerityHash h) {
        if (h < 0 || h >= _VERITY_HASH_MAX)
                return 0;
        return hash_sizes[h];
}

void verity_params_init(VerityParams *p) {
        *p = (VerityParams){
                .format = 1,
                .hash = VERITY_HASH_SHA256,
                .data_block_size = 4096,
                .hash_block_size = 4096,
        };
}

int verity_params_randomize(VerityParams *p, bool want_salt, bool want_uuid) {
        if (want_salt && p->salt_size == 0) {
                /* veritysetup's default: 32 random bytes. */
                if (getrandom(p->salt, 32, 0) != 32)
                        return -EIO;
                p->salt_size = 32;
        }
        if (want_uuid) {
                if (getrandom(p->uuid, sizeof(p->uuid), 0) != (ssize_t) sizeof(p->uuid))
                        return -EIO;
                p->uuid[6] = (p->uuid[6] & 0x0F) | 0x40; /* version 4 */
                p->uuid[8] = (p->uuid[8] & 0x3F) | 0x80; /* RFC 4122 variant */
        }
        return 0;
}

static bool block_size_ok(uint32_t s) {
        return s >= VERITY_BLOCK_SIZE_MIN && s <= VERITY_BLOCK_SIZE_MAX && (s & (s - 1)) == 0;
}

int verity_params_validate(const VerityParams *p, Diag *diag) {
        const char *field = NULL;
        int r = -EINVAL;

        if (p->format > 1)
                field = "hash_type";
        else if (verity_hash_digest_size(p->hash) == 0)
                field = "algorithm";
        else if (!block_size_ok(p->data_block_size))
                field = "data_block_size";
        else if (!block_size_ok(p->hash_block_size))
                field = "hash_block_size";
        else if (p->data_blocks == 0 || p->data_blocks > VERITY_DATA_BLOCKS_MAX) {
                field = "data_blocks";
                r = p->data_blocks == 0 ? -EINVAL : -EFBIG;
        } else if (p->salt_size > VERITY_SALT_SIZE_MAX)
                field = "salt_size";
        if (!field)
                return 0;
        return diag_fail(diag, r, field, NULL);
}

/* The v1 superblock on disk (little-endian): cryptsetup's struct verity_sb. */
struct verity_sb {
        uint8_t signature[8]; /* "verity\0\0" */
        uint32_t version;     /* 1 */
        uint32_t hash_type;   /* 0: Chrome OS, 1: normal */
        uint8_t uuid[16];
        uint8_t algorithm[32]; /* NUL-terminated, zero-filled */
        uint32_t data_block_size;
        uint32_t hash_block_size;
        uint64_t data_blocks;
        uint16_t salt_size;
        uint8_t _pad1[6];
        uint8_t salt[VERITY_SALT_SIZE_MAX];
        uint8_t _pad2[168];
} __attribute__((packed));
_Static_assert(sizeof(struct verity_sb) == VERITY_SUPERBLOCK_SIZE, "the superblock is 512 bytes");

static const uint8_t sb_signature[8] = {'v', 'e', 'r', 'i', 't', 'y', 0, 0};

static bool all_zero(const uint8_t *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}

int verity_superblock_parse(const void *buf, size_t size, VerityParams *ret, Diag *diag) {
        struct verity_sb sb;
        VerityParams p = {};
        const char *field = NULL;

#define BAD(f)                                                                                                        \
        do {                                                                                                          \
                field = (f);                                                                                          \
                goto bad;                                                                                             \
        } while (0)

        if (size < VERITY_SUPERBLOCK_SIZE)
                BAD("size");
        memcpy(&sb, buf, sizeof(sb));
        if (memcmp(sb.signature, sb_signature, sizeof(sb_signature)) != 0)
                BAD("signature");
        if (le32toh(sb.version) != 1)
                BAD("version");
        uint32_t type = le32toh(sb.hash_type);
        if (type > 1)
                BAD("hash_type");
        p.format = type;

        /* The name must be NUL-terminated inside its field, known, and followed by zeros only. */
        char alg[sizeof(sb.algorithm) + 1] = {};
        memcpy(alg, sb.algorithm, sizeof(sb.algorithm));
        size_t alen = strnlen(alg, sizeof(sb.algorithm));
        if (alen == 0 || alen == sizeof(sb.algorithm) || !all_zero(sb.algorithm + alen, sizeof(sb.algorithm) - alen))
                BAD("algorithm");
        for (size_t i = 0; i < alen; i++)
                alg[i] = (char) tolower((unsigned char) alg[i]);
        VerityHash h = verity_hash_from_string(alg);
        if (h < 0)
                BAD("algorithm");
        p.hash = h;

        p.data_block_size = le32toh(sb.data_block_size);
        if (!block_size_ok(p.data_block_size))
                BAD("data_block_size");
        p.hash_block_size = le32toh(sb.hash_block_size);
        if (!block_size_ok(p.hash_block_size))
                BAD("hash_block_size");
        p.data_blocks = le64toh(sb.data_blocks);
        if (p.data_blocks == 0 || p.data_blocks > VERITY_DATA_BLOCKS_MAX)
                BAD("data_blocks");
        uint16_t salt_size = le16toh(sb.salt_size);
        if (salt_size > VERITY_SALT_SIZE_MAX)
                BAD("salt_size");
        p.salt_size = salt_size;
        memcpy(p.salt, sb.salt, salt_size);
        /* Unused bytes are zero in what veritysetup writes; anything else is not a superblock we made
         * or veritysetup made, and could smuggle data past a comparison of parameters. */
        if (!all_zero(sb._pad1, sizeof(sb._pad1)) || !all_zero(sb.salt + salt_size, sizeof(sb.salt) - salt_size) ||
                !all_zero(sb._pad2, sizeof(sb._pad2)))
                BAD("padding");
        memcpy(p.uuid, sb.uuid, sizeof(p.uuid));
#undef BAD
        *ret = p;
        return 0;
bad:
        return diag_fail(diag, -EBADMSG, field, NULL);
}

int verity_superblock_format(const VerityParams *p, uint8_t buf[static VERITY_SUPERBLOCK_SIZE]) {
        int r = verity_params_validate(p, NULL);
        if (r < 0)
                return r;
        struct verity_sb sb = {
                .version = htole32(1),
                .hash_type = htole32(p->format),
                .data_block_size = htole32(p->data_block_size),
                .hash_block_size = htole32(p->hash_block_size),
                .data_blocks = htole64(p->data_blocks),
                .salt_size = htole16(p->salt_size),
        };
        memcpy(sb.signature, sb_signature, sizeof(sb_signature));
        memcpy(sb.uuid, p->uuid, sizeof(p->uuid));
        const char *name = verity_hash_to_string(p->hash);
        memcpy(sb.algorithm, name, strlen(name));
        memcpy(sb.salt, p->salt, p->salt_size);
        memcpy(buf, &sb, sizeof(sb));
        return 0;
}

int verity_superblock_read(int fd, uint64_t offset, VerityParams *ret, Diag *diag) {
        uint8_t buf[VERITY_SUPERBLOCK_SIZE];
        if (offset > INT64_MAX)
                return -EINVAL;
        ssize_t n = pread(fd, buf, sizeof(buf), (off_t) offset);
        if (n < 0)
                return -errno;
        if ((size_t) n < sizeof(buf))
                return diag_fail(diag, -EBADMSG, "size", NULL);
        return verity_superblock_parse(buf, sizeof(buf), ret, diag);
}

int verity_params_check_pinned(const VerityParams *found, const VerityParams *pinned, unsigned pins, Diag *diag) {
        const char *field = NULL;
        if ((pins & VERITY_PIN_FORMAT) && found->format != pinned->format)
                field = "hash_type";
        else if ((pins & VERITY_PIN_HASH) && found->hash != pinned->hash)
                field = "algorithm";
        else if ((pins & VERITY_PIN_DATA_BLOCK_SIZE) && found->data_block_size != pinned->data_block_size)
                field = "data_block_size";
        else if ((pins & VERITY_PIN_HASH_BLOCK_SIZE) && found->hash_block_size != pinned->hash_block_size)
                field = "hash_block_size";
        else if ((pins & VERITY_PIN_DATA_BLOCKS) && found->data_blocks != pinned->data_blocks)
                field = "data_blocks";
        else if ((pins & VERITY_PIN_SALT) &&
                 (found->salt_size != pinned->salt_size || memcmp(found->salt, pinned->salt, found->salt_size) != 0))
                field = "salt";
        else if ((pins & VERITY_PIN_UUID) && memcmp(found->uuid, pinned->uuid, sizeof(found->uuid)) != 0)
                field = "uuid";
        if (!field)
                return 0;
        return diag_fail(diag, -EBADMSG, field, "differs from the one given");
}

static unsigned bits_down(uint64_t u) {
        unsigned i = 0;
        while ((u >> i) > 1)
                i++;
        return i;
}

static unsigned bits_up(uint64_t u) {
        unsigned i = 0;
        while ((UINT64_C(1) << i) < u)
                i++;
        return i;
}

int verity_geometry(const VerityParams *p, bool superblock, uint64_t hash_offset, VerityGeometry *ret) {
        int r = verity_params_validate(p, NULL);
        if (r < 0)
                return r;
        if (hash_offset % 512 != 0 || hash_offset > (uint64_t) INT64_MAX / 2)
                return -EINVAL;
        if (!superblock && hash_offset % p->hash_block_size != 0)
                return -EINVAL;

        VerityGeometry g = {};
        g.digest_size = verity_hash_digest_size(p->hash);
        g.entry_size = p->format == 0 ? g.digest_size : (size_t) 1 << bits_up(g.digest_size);
        unsigned bits = bits_down(p->hash_block_size / g.digest_size);
        if (bits == 0)
                return -EINVAL;
        g.entries_per_block = UINT64_C(1) << bits;

        unsigned levels = 0;
        while (bits * levels < 64 && ((p->data_blocks - 1) >> (bits * levels)) != 0)
                levels++;
        if (levels > VERITY_LEVELS_MAX)
                return -EINVAL;
        g.levels = levels;

        g.tree_offset = superblock ? (hash_offset + VERITY_SUPERBLOCK_SIZE + p->hash_block_size - 1) /
                                             p->hash_block_size * p->hash_block_size
                                   : hash_offset;
        uint64_t pos = g.tree_offset;
        for (int i = (int) levels - 1; i >= 0; i--) {
                unsigned shift = (unsigned) (i + 1) * bits;
                uint64_t n = shift >= 64 ? 1 : ((p->data_blocks - 1) >> shift) + 1;
                g.level_blocks[i] = n;
                g.level_offset[i] = pos;
                if (n > (UINT64_MAX - pos) / p->hash_block_size)
                        return -EFBIG;
                pos += n * p->hash_block_size;
                g.tree_blocks += n;
        }
        if (pos > (uint64_t) INT64_MAX)
                return -EFBIG;
        g.hash_end = pos;
        /* data_blocks <= 2^40 and block size <= 2^16 keep this below 2^56. */
        g.data_size = p->data_blocks * p->data_block_size;
        *ret = g;
        return 0;
}

const char *verity_failure_to_string(const VerityFailure *f, char *buf, size_t size) {
        const char *text = "no failure";
        switch (f->kind) {
        case VERITY_FAILURE_DATA_BLOCK:
                snprintf(buf, size, "data block %" PRIu64 " (byte %" PRIu64 ") does not match its digest", f->block,
                        f->offset);
                return buf;
        case VERITY_FAILURE_HASH_BLOCK:
        case VERITY_FAILURE_PADDING: {
                /* The same block named the same way; what is wrong with it differs. */
                bool padding = f->kind == VERITY_FAILURE_PADDING;
                snprintf(buf, size, "%shash block %" PRIu64 " at level %u (byte %" PRIu64 " of the hash file) %s",
                        padding ? "padding of " : "", f->block, f->level, f->offset,
                        padding ? "is not zero" : "does not match its digest");
                return buf;
        }
        case VERITY_FAILURE_ROOT_HASH:
                if (f->level != UINT32_MAX) {
                        snprintf(buf, size, "root hash does not match the top hash block (level %u, byte %" PRIu64 ")",
                                f->level, f->offset);
                        return buf;
                }
                text = "root hash does not match the single data block 0";
                break;
        case VERITY_FAILURE_SIGNATURE:
                text = "root hash signature does not verify";
                break;
        case VERITY_FAILURE_NONE:
        default:
                break;
        }
        snprintf(buf, size, "%s", text);
        return buf;
}

int verity_root_hash_from_hex(
        const char *s, VerityHash hash, uint8_t ret[static VERITY_DIGEST_SIZE_MAX], size_t *ret_size) {
        size_t want = verity_hash_digest_size(hash);
        if (!s || want == 0)
                return -EINVAL;
        size_t len = strnlen(s, VERITY_ROOT_HASH_HEX_MAX + 1);
        if (len != want * 2)
                return -EINVAL;
        _cleanup_free_ void *b = NULL;
        size_t n;
        int r = unhexmem(s, len, &b, &n);
        if (r < 0)
                return r;
        memcpy(ret, b, n);
        if (ret_size)
                *ret_size = n;
        return 0;
}
