/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* dm-verity hash trees, root hash signatures and verified opening of images.
 *
 * The on-disk format is the one veritysetup (cryptsetup) writes and the kernel's dm-verity reads:
 *
 *   hash file:  [hash_offset] 512-byte superblock (unless no-superblock mode), zero-filled up to the
 *               next hash block boundary, then the tree levels, TOP LEVEL FIRST, each level a whole
 *               number of hash blocks. Level 0 is the level right above the data (one digest per data
 *               block); level L+1 holds the digests of level L's blocks; the top level is one block.
 *   digest:     format 1: H(salt || block); format 0 (Chrome OS): H(block || salt).
 *   entries:    1 << floor(log2(hash_block_size / digest_size)) per hash block; in format 1 each
 *               digest is padded with zeros to the next power of two; the rest of a block is zero.
 *   root hash:  the digest of the top hash block (or, with a single data block, of that block).
 *
 * Numbering follows the kernel: data block N and hash block N count from 0; "level L" counts from
 * the bottom (level 0 = digests of data blocks).
 *
 * Everything read from disk (superblock, tree, signatures, JSON) is untrusted: parsers check each
 * field against the limits below and against what the caller pins, and verification is complete
 * (every data block, every hash block, every padding byte) before anything is reported good.
 *
 * Functions return -errno on failure and >= 0 on success; ret_* outputs are written only on success
 * unless said otherwise (verification failures fill a VerityFailure so the caller can name what
 * failed). Where a failure has more to say than its errno, a Diag (diag.h; may be NULL) gets it:
 * for a parameter or superblock field, the field's name as the object. Nothing here prints. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "macro.h"

/* Limits on everything a superblock, a signature or a command line controls. */
#define VERITY_SUPERBLOCK_SIZE 512
#define VERITY_BLOCK_SIZE_MIN 512U
#define VERITY_BLOCK_SIZE_MAX 65536U
#define VERITY_SALT_SIZE_MAX 256U
#define VERITY_DIGEST_SIZE_MAX 64U                 /* sha512 */
#define VERITY_LEVELS_MAX 63U                      /* as cryptsetup */
#define VERITY_DATA_BLOCKS_MAX (UINT64_C(1) << 40) /* 4 EiB of 4 KiB blocks; keeps every offset in off_t */
#define VERITY_SIG_SIZE_MAX (64U * 1024U)          /* a PKCS#7 signature file */
#define VERITY_SIG_JSON_SIZE_MAX (1024U * 1024U)
#define VERITY_CERT_SIZE_MAX (1024U * 1024U) /* one *.crt file */
#define VERITY_CERTS_MAX 1024U               /* certificates loaded from all trusted directories */
#define VERITY_ROOT_HASH_HEX_MAX (2 * VERITY_DIGEST_SIZE_MAX)

typedef enum VerityHash {
        VERITY_HASH_SHA1,
        VERITY_HASH_SHA256,
        VERITY_HASH_SHA512,
        _VERITY_HASH_MAX,
        _VERITY_HASH_INVALID = -EINVAL,
} VerityHash;

const char *verity_hash_to_string(VerityHash h);   /* "sha256" */
VerityHash verity_hash_from_string(const char *s); /* or -EINVAL */
size_t verity_hash_digest_size(VerityHash h);

/* The parameters of a tree: what the superblock holds, or what the caller gives in no-superblock
 * mode. */
typedef struct VerityParams {
        uint32_t format; /* 1 (normal) or 0 (Chrome OS) */
        VerityHash hash;
        uint32_t data_block_size;
        uint32_t hash_block_size;
        uint64_t data_blocks;
        uint8_t salt[VERITY_SALT_SIZE_MAX];
        uint16_t salt_size;
        uint8_t uuid[16];
} VerityParams;

/* Defaults of veritysetup format: format 1, sha256, 4096-byte blocks, no salt and zero uuid (the
 * caller fills in data_blocks, a salt and a uuid, e.g. with verity_params_randomize()). */
void verity_params_init(VerityParams *p);
/* Random 32-byte salt (when salt_size is 0 and want_salt) and random v4 uuid, like veritysetup. */
int verity_params_randomize(VerityParams *p, bool want_salt, bool want_uuid);
/* Checks every field against the limits: -EINVAL (or -EFBIG for sizes), the diag's object naming
 * the first bad field ("data_block_size", …). */
int verity_params_validate(const VerityParams *p, Diag *diag);

/* The superblock (untrusted): parses 512 bytes, validating every field; on -EBADMSG the diag's
 * object names the offending field ("size", "signature", "version", "hash_type", "algorithm",
 * "data_block_size", "hash_block_size", "data_blocks", "salt_size", "padding"). */
int verity_superblock_parse(const void *buf, size_t size, VerityParams *ret, Diag *diag);
/* Writes the 512-byte superblock of p into buf (exactly as veritysetup does). */
int verity_superblock_format(const VerityParams *p, uint8_t buf[static VERITY_SUPERBLOCK_SIZE]);
/* Reads and parses the superblock at offset of fd (a short read: -EBADMSG, object "size"). */
int verity_superblock_read(int fd, uint64_t offset, VerityParams *ret, Diag *diag);

/* Which fields of a superblock the caller pins; a mismatch is -EBADMSG, the diag's object naming
 * the field ("hash_type", "algorithm", "data_block_size", "hash_block_size", "data_blocks",
 * "salt", "uuid") and its cause "differs from the one given". */
typedef enum VerityPin {
        VERITY_PIN_FORMAT = 1 << 0,
        VERITY_PIN_HASH = 1 << 1,
        VERITY_PIN_DATA_BLOCK_SIZE = 1 << 2,
        VERITY_PIN_HASH_BLOCK_SIZE = 1 << 3,
        VERITY_PIN_DATA_BLOCKS = 1 << 4,
        VERITY_PIN_SALT = 1 << 5,
        VERITY_PIN_UUID = 1 << 6,
} VerityPin;
int verity_params_check_pinned(const VerityParams *found, const VerityParams *pinned, unsigned pins, Diag *diag);

/* Tree geometry, derived from params (pure arithmetic, checked for overflow). */
typedef struct VerityGeometry {
        size_t digest_size;
        size_t entry_size;                        /* digest_size padded (format 1) or not (format 0) */
        uint64_t entries_per_block;               /* per hash block */
        unsigned levels;                          /* 0 when there is one data block */
        uint64_t level_blocks[VERITY_LEVELS_MAX]; /* blocks in level L (0 = bottom) */
        uint64_t level_offset[VERITY_LEVELS_MAX]; /* absolute byte offset of level L in the hash file */
        uint64_t tree_blocks;                     /* hash blocks of all levels */
        uint64_t tree_offset;                     /* absolute byte offset where the tree starts in the hash file */
        uint64_t hash_end;                        /* absolute byte offset of the end of the tree */
        uint64_t data_size;                       /* data_blocks * data_block_size */
} VerityGeometry;
/* hash_offset must be a multiple of 512 (and, without superblock, of hash_block_size). As
 * cryptsetup: with a superblock the tree starts at the first hash block boundary after it. */
int verity_geometry(const VerityParams *p, bool superblock, uint64_t hash_offset, VerityGeometry *ret);

/* What a verification found wrong. */
typedef enum VerityFailureKind {
        VERITY_FAILURE_NONE,
        VERITY_FAILURE_DATA_BLOCK, /* data block .block does not match its digest in level 0 */
        VERITY_FAILURE_HASH_BLOCK, /* hash block .block of level .level does not match level .level+1 */
        VERITY_FAILURE_PADDING,    /* hash block .block of level .level has non-zero padding */
        VERITY_FAILURE_ROOT_HASH,  /* the top block (or single data block) does not match the root hash */
        VERITY_FAILURE_SIGNATURE,  /* the root hash signature (set by verity_open) */
} VerityFailureKind;

typedef struct VerityFailure {
        VerityFailureKind kind;
        unsigned level;
        uint64_t block;
        uint64_t offset; /* byte offset of the failing block in its file */
} VerityFailure;

/* One line, e.g. "data block 17 (byte 69632) does not match its digest", into a buffer of
 * VERITY_FAILURE_STRING_MAX bytes. */
#define VERITY_FAILURE_STRING_MAX 160
const char *verity_failure_to_string(const VerityFailure *f, char *buf, size_t size);

/* Where the data and the tree are. data_fd and hash_fd may be the same fd (data and tree in one
 * file: hash_offset at or after data_offset + data_blocks * data_block_size). */
typedef struct VerityLocation {
        int data_fd;
        uint64_t data_offset;
        int hash_fd;
        uint64_t hash_offset; /* where the superblock (or, without one, the tree) starts */
        bool superblock;
} VerityLocation;

/* Builds the tree of p->data_blocks blocks of data and writes it (with the superblock when
 * loc->superblock) at loc->hash_offset of loc->hash_fd, which must be writable; every byte of the
 * hash area is written (zero padding included). Uses threads (0 = number of online CPUs). Returns
 * the root hash (digest_size bytes) in ret_root_hash. -EINTR when interrupted(). */
int verity_tree_build(const VerityLocation *loc, const VerityParams *p, unsigned threads,
        uint8_t ret_root_hash[static VERITY_DIGEST_SIZE_MAX]);

/* Verifies everything, top down: padding of every hash block, the top block against root_hash,
 * each level against the one above, every data block against level 0. 0 when all is good;
 * -EBADMSG with *ret_failure filled when something does not match (written only then); other
 * -errno for I/O errors (-EIO for a short file). */
int verity_tree_verify(const VerityLocation *loc, const VerityParams *p, const uint8_t *root_hash,
        size_t root_hash_size, unsigned threads, VerityFailure *ret_failure);

/* Root hash as text: parses hex of the digest size of hash (upper or lower case, surrounding
 * whitespace refused); formats lower-case hex without newline. */
int verity_root_hash_from_hex(
        const char *s, VerityHash hash, uint8_t ret[static VERITY_DIGEST_SIZE_MAX], size_t *ret_size);

/* ---- Signatures (PKCS#7 as systemd/the kernel expect) ---- */

/* PKCS#7 detached, no certificates, no signed attributes, binary, DER, over the lower-case hex root
 * hash without newline (== openssl smime -sign -nocerts -noattr -binary -outform der). key_pem and
 * cert_pem are PEM texts. */
int verity_sig_sign(const char *root_hash_hex, const void *key_pem, size_t key_size, const void *cert_pem,
        size_t cert_size, void **ret_p7s, size_t *ret_p7s_size);

/* The trusted directories, in order: dir when not NULL, else /etc/verity.d, /run/verity.d,
 * /usr/local/lib/verity.d, /usr/lib/verity.d. */
int verity_cert_dirs(const char *dir, char ***ret);

/* Verifies the (untrusted) p7s over root_hash_hex (lower-case hex, no newline) against the
 * certificates *.crt (PEM or DER) of the trusted directories; a directory that does not exist is
 * skipped. 0 with ret_signer (the certificate file's path, may be NULL) on success; -EBADMSG when
 * the signature is malformed (not DER PKCS#7 signed data with detached content), -EKEYREJECTED
 * when it does not verify over root_hash_hex, -ENOKEY when no trusted certificate signed it
 * (also when there are none), -EFBIG over the limits. expected_fingerprint (sha256 of the DER
 * certificate, hex; may be NULL) additionally pins the signer. */
int verity_sig_verify(const char *root_hash_hex, const void *p7s, size_t p7s_size, char *const *cert_dirs,
        const char *expected_fingerprint, char **ret_signer);

/* Discoverable Partitions signature JSON: {"rootHash": HEX, "certificateFingerprint": HEX,
 * "signature": BASE64(p7s)}, possibly followed by NULs (the partition's tail). Untrusted: size,
 * types, hex and base64 syntax are checked. ret_fingerprint is NULL when the field is absent. */
typedef struct VeritySigJson {
        char *root_hash_hex;
        char *fingerprint_hex;
        void *p7s;
        size_t p7s_size;
} VeritySigJson;
void verity_sig_json_done(VeritySigJson *j);
int verity_sig_json_parse(const void *buf, size_t size, VeritySigJson *ret);
/* Writes the JSON (one line, no NUL padding); fingerprint computed from cert_pem. */
int verity_sig_json_format(const char *root_hash_hex, const void *cert_pem, size_t cert_size, const void *p7s,
        size_t p7s_size, char **ret_json);

/* ---- Verified open ---- */

typedef enum VerityOpenMode {
        VERITY_OPEN_AUTO,      /* device-mapper when it answers (verity_dm_available()), else userspace */
        VERITY_OPEN_USERSPACE, /* always verify in full in userspace and attach a read-only loop */
        VERITY_OPEN_DM,        /* device-mapper only (-EOPNOTSUPP without it) */
} VerityOpenMode;

typedef struct VerityOpenRequest {
        int data_fd; /* a regular file or block device */
        uint64_t data_offset;
        int hash_fd; /* may equal data_fd */
        uint64_t hash_offset;
        bool superblock;     /* read params from the superblock at hash_offset */
        VerityParams params; /* without superblock: the parameters; with one: the pinned values */
        unsigned pins;       /* VerityPin flags for the superblock */
        const uint8_t *root_hash;
        size_t root_hash_size;
        const void *sig; /* PKCS#7 over the hex root hash; NULL when unsigned */
        size_t sig_size;
        char *const *cert_dirs; /* NULL: the default trusted directories */
        bool require_signature; /* refuse when sig is NULL */
        const char *dm_name;    /* device-mapper name (dm mode) */
        VerityOpenMode mode;
        unsigned threads;
} VerityOpenRequest;

typedef struct VerityOpened {
        int fd;            /* read-only fd of the verified block device */
        char *device_path; /* /dev/mapper/NAME or /dev/loopN */
        bool dm;           /* true: dm-verity device (kernel checks each read) */
        char *signer;      /* trusted certificate that signed, or NULL when unsigned */
        char *dm_name;
} VerityOpened;

/* Opens the data as a verified, read-only block device.
 *
 * With device-mapper: the signature is checked in userspace first (naming the signer), then
 * handed to the kernel via libcryptsetup when it supports signed root hashes; the dm-verity target
 * checks every block on read, so later changes of the backing file are caught on use.
 *
 * Without device-mapper the check-to-use window is closed like this: the data is first pinned
 * into a file nobody else can write — a private reflink copy (FICLONE into an unlinked O_TMPFILE
 * next to it), the file itself when it is immutable (FS_IMMUTABLE_FL), else a private full copy
 * (O_TMPFILE, copy_file_range) — and the tree is copied into a sealed memfd. The whole tree and all
 * data are then verified through those fds, and THE SAME pinned data fd is attached to a loop
 * device with LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR (offset and size limit set to the data area),
 * so what is mounted is byte for byte what was verified. The loop device goes away when the last
 * fd of it is closed (verity_opened_done() closes ours). Data and tree that are both immutable
 * files are verified in full once: a record of that verification (verity-cache.c, under
 * /run/cowpen/verity), keyed by both files' identity and change times, the parameters and the
 * root hash, spares the next runs the O(size) check while neither file changed, so their
 * start-up is constant in the image's size; any change of either file changes the key.
 *
 * Fails closed: a root hash or signature that cannot be checked stops the operation (-EBADMSG with
 * *ret_failure naming the part; for the signature also -EKEYREJECTED and -ENOKEY as
 * verity_sig_verify() returns them, with ret_failure->kind VERITY_FAILURE_SIGNATURE). -ESTALE when
 * the superblock changed between our check and libcryptsetup's read. The device-mapper path fails
 * with -ELIBACC/-ELIBBAD when libcryptsetup cannot be loaded (dlopen_cryptsetup()); it does not
 * fall back to the userspace path, which would mount something else than asked for. */
int verity_open(const VerityOpenRequest *req, VerityOpened *ret, VerityFailure *ret_failure);
void verity_opened_done(VerityOpened *o); /* closes, removes the dm device, frees */

/* Loads libcryptsetup (once; dlopen-util.h), which only the device-mapper path of verity_open()
 * needs: 0, or -ELIBACC/-ELIBBAD with *ret_detail saying what is missing. verity_open() fails with
 * the same error when it cannot be loaded; a caller that wants to say why calls this for the
 * detail (the result is final, so it is the same). */
int dlopen_cryptsetup(const char **ret_detail);

/* Pins fd's contents (see verity_open); returns a read-only fd of the pinned file and which way
 * it was done ("reflink", "immutable", "copy"). */
int verity_pin_file(int fd, int *ret_fd, const char **ret_how);
/* Whether device-mapper is usable here: its control node answers the DM_VERSION ioctl (a node
 * that exists without a kernel driver behind it, as libdevmapper leaves one, does not count).
 * Asked once per process. */
bool verity_dm_available(void);

/* ---- Sidecar discovery (SPEC.md; verity-sidecar.c) ---- */

/* IMAGE with a ".raw" suffix dropped, plus suffix: ("app.raw", ".verity") → "app.verity". */
int verity_sidecar_path(const char *image, const char *suffix, char **ret);

/* The most of a root hash's text read from IMAGE.roothash or the xattr: the hex of the longest
 * digest, with room for whitespace around it. */
#define VERITY_ROOT_HASH_TEXT_MAX 1024U

typedef enum VeritySidecarFlags {
        VERITY_SIDECAR_ROOT_HASH = 1 << 0, /* the query's root_hash, else the user.verity.roothash xattr
                                            * of image_fd, else IMAGE.roothash */
        VERITY_SIDECAR_SIGNATURE = 1 << 1, /* root_hash_sig (a file or "base64:…"), else IMAGE.roothash.p7s */
        VERITY_SIDECAR_HASH_TREE = 1 << 2, /* verity_data, else IMAGE.verity */
        VERITY_SIDECAR_SIGNATURE_JSON = 1 << 3, /* a signature file may also be the Discoverable
                                                 * Partitions JSON (sig_json); else it is DER */
} VeritySidecarFlags;

typedef enum VeritySource {
        VERITY_SOURCE_NONE,    /* not found */
        VERITY_SOURCE_GIVEN,   /* the query's (the command line's) */
        VERITY_SOURCE_XATTR,   /* the image's user.verity.roothash */
        VERITY_SOURCE_SIDECAR, /* the file next to the image */
} VeritySource;

typedef struct VeritySidecarQuery {
        const char *image;         /* the image's path, sidecars are next to it; NULL: none are looked for */
        int image_fd;              /* the image, for its xattr; negative: the xattr is not read */
        const char *root_hash;     /* given: hex, taken as it is (its syntax is the caller's to check) */
        const char *root_hash_sig; /* given: a path, or "base64:…" */
        const char *verity_data;   /* given: a path */
} VeritySidecarQuery;

typedef struct VeritySidecars {
        char *root_hash;      /* the text, without whitespace around it; not yet checked as hex */
        VeritySource root_hash_source;
        char *root_hash_path; /* SIDECAR: the file */
        void *sig;            /* DER PKCS#7 (also that of a JSON file) */
        size_t sig_size;
        VeritySource sig_source;
        char *sig_path;         /* the file read (given or sidecar); NULL for base64: */
        VeritySigJson sig_json; /* a JSON signature file's rootHash and certificateFingerprint */
        int hash_fd;            /* the hash tree, opened read-only (a regular file or block device) */
        VeritySource hash_source;
        char *hash_path; /* the given or sidecar path; also when the sidecar is missing (hash_fd < 0) */
} VeritySidecars;
#define VERITY_SIDECARS_INIT { .hash_fd = -EBADF }
void verity_sidecars_done(VeritySidecars *s);

/* Finds what flags ask for and s does not hold yet, in the order hash tree, signature, root hash,
 * and adds it to s; what is found nowhere stays NONE. A caller that needs them at different times
 * calls again with other flags. Missing sidecars are not errors; a given file that is missing is.
 * Errors: -EFBIG over the limits (a root hash's text, VERITY_SIG_SIZE_MAX for DER, base64 of more,
 * VERITY_SIG_JSON_SIZE_MAX for JSON), -EBADFD/-EISDIR for a hash tree that is no regular file or
 * block device, verity_sig_json_parse()'s for base64 or JSON, read errors; the diag names the file
 * (or the xattr, or the base64: argument). */
int verity_sidecars_find(const VeritySidecarQuery *q, VeritySidecarFlags flags, VeritySidecars *s, Diag *diag);

/* The DER signature of a --root-hash-sig=base64:… argument: -EFBIG when it would be larger than
 * VERITY_SIG_SIZE_MAX, verity_sig_json_parse()'s error for bad base64, -EINVAL without the prefix. */
int verity_signature_from_base64(const char *arg, void **ret, size_t *ret_size);

/* ---- Whole operations on files (verity-ops.c), as the verity verbs run them ---- */

/* In the diags of these, the object is the file or part concerned and the cause what is wrong
 * with it, in the words the verbs print ("OBJECT: CAUSE", "CAUSE", or "OBJECT: strerror"); a
 * failure recorded with neither is its errno alone; -ENOMEM with nothing recorded is running out
 * of memory. */

typedef struct VerityFormatRequest {
        const char *data_path;      /* a regular file or block device */
        const char *hash_path;      /* the tree's file or device; NULL: inside the data file, at hash_offset */
        const char *root_hash_path; /* gets the lower-case hex root hash, no newline */
        VerityParams params;        /* data_blocks 0: all of the data, which must be whole blocks */
        bool random_salt;           /* verity_params_randomize()'s salt and uuid */
        bool random_uuid;
        bool superblock;
        uint64_t hash_offset; /* in the hash file; without one, also where the data ends */
        unsigned threads;
} VerityFormatRequest;

/* Builds the tree of the data (as veritysetup format) and writes it: a new (or regular, at offset
 * 0) hash file under a temporary name renamed over the old one once complete; a block device, a
 * tree at an offset or inside the data file in place (then fsync()ed). Then root_hash_path. Returns
 * the root hash as lower-case hex. -EINTR when interrupted (nothing of the tree is kept), -ERANGE
 * when the tree would overwrite the data. */
int verity_format(const VerityFormatRequest *req, char **ret_root_hash_hex, Diag *diag);

/* An image and its tree for verification: the data opened (verity_verify_open()), then the tree
 * (verity_verify_load_tree()), their parameters read (superblock) or taken, and checked against
 * each other: the tree covers every byte of the data and fits its file. */
typedef struct VerityVerify {
        int data_fd;
        uint64_t data_size;
        bool data_is_blockdev;
        int hash_fd;
        VerityParams params;
        VerityLocation location;
        unsigned threads;
} VerityVerify;
#define VERITY_VERIFY_NULL ((VerityVerify){.data_fd = -EBADF, .hash_fd = -EBADF})

typedef struct VerityVerifyRequest {
        VerityParams params; /* with a superblock: the values pinned (pins); without: the parameters
                              * (data_blocks 0: all of the data) */
        unsigned pins;
        bool superblock;
        bool tree_in_data; /* the tree is in the data file, at hash_offset (where the data ends) */
        uint64_t hash_offset;
        unsigned threads;
} VerityVerifyRequest;

typedef struct VerityVerifySignature {
        const void *p7s; /* DER PKCS#7 over the lower-case hex root hash */
        size_t p7s_size;
        const char *root_hash_hex;   /* a JSON signature's rootHash: must be the root hash; or NULL */
        const char *fingerprint_hex; /* a JSON signature's certificateFingerprint: pins the signer; or NULL */
        const char *name;            /* where it came from (a file, base64:…), for messages */
} VerityVerifySignature;

int verity_verify_open(const char *data_path, VerityVerify *ret, Diag *diag);
/* Takes hash_fd (the tree's file or device, or a duplicate of data_fd with tree_in_data), named
 * hash_name in messages. */
int verity_verify_load_tree(
        VerityVerify *v, int hash_fd, const char *hash_name, const VerityVerifyRequest *req, Diag *diag);
/* Checks root_hash_text (found in root_hash_source) against the tree's algorithm; with sig (may
 * be NULL), its root hash against it and the signature against the certificates of cert_dir (NULL:
 * verity_cert_dirs()'s defaults); then every block (verity_tree_verify()). Returns the root hash
 * as lower-case hex and the signer's certificate (NULL when unsigned; ret_signer may be NULL). */
int verity_verify_check(VerityVerify *v, const char *root_hash_text, const char *root_hash_source,
        const VerityVerifySignature *sig, const char *cert_dir, char **ret_root_hash_hex, char **ret_signer,
        Diag *diag);
void verity_verify_done(VerityVerify *v);

typedef struct VeritySignRequest {
        const char *root_hash_text;   /* hex of a sha1, sha256 or sha512 digest, either case */
        const char *root_hash_source; /* where it was found, for the message */
        const char *key_path;         /* PEM private key */
        const char *cert_path;        /* PEM certificate */
        const char *output_path;      /* gets the PKCS#7 (verity_sig_sign()) */
        const char *json_path;        /* also the Discoverable Partitions JSON; NULL: none */
} VeritySignRequest;
/* Signs the (lower-cased) root hash, writing each file under a temporary name renamed into
 * place. -EINVAL for a root hash that is no such digest; verity_sig_sign()'s errors naming the key
 * or certificate. */
int verity_sign(const VeritySignRequest *req, Diag *diag);
