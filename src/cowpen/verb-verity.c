/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "fd-util.h"
#include "image.h"
#include "util.h"
#include "uuid-util.h"
#include "verbs.h"
#include "verity.h"

/* The verity verbs: verity-format, verity-sign, verity-verify. IMAGE is a file path (a raw image,
 * a block device, or any file), or the name of a raw image in the image root (NAME.raw) when no
 * such file exists here; sidecars are found next to it (SPEC.md). This file parses, names the
 * files (verity-sidecar.c finds them), calls src/verity (verity-ops.c does the work) and prints. */

enum {
        ARG_VERITY_DATA = ARG_VERB_BASE,
        ARG_SALT,
        ARG_HASH,
        ARG_DATA_BLOCK_SIZE,
        ARG_HASH_BLOCK_SIZE,
        ARG_FORMAT,
        ARG_NO_SUPERBLOCK,
        ARG_HASH_OFFSET,
        ARG_UUID,
        ARG_DATA_BLOCKS,
        ARG_ROOT_HASH,
        ARG_ROOT_HASH_SIG,
        ARG_VERITY_CERTS,
        ARG_PRIVATE_KEY,
        ARG_CERTIFICATE,
        ARG_OUTPUT,
        ARG_PARTITION_JSON,
        ARG_THREADS,
};

#define TREE_LONG_OPTIONS                                                                                             \
        {"verity-data", required_argument, NULL, ARG_VERITY_DATA}, {"salt", required_argument, NULL, ARG_SALT},       \
                {"hash", required_argument, NULL, ARG_HASH},                                                          \
                {"data-block-size", required_argument, NULL, ARG_DATA_BLOCK_SIZE},                                    \
                {"hash-block-size", required_argument, NULL, ARG_HASH_BLOCK_SIZE},                                    \
                {"format", required_argument, NULL, ARG_FORMAT},                                                      \
                {"no-superblock", no_argument, NULL, ARG_NO_SUPERBLOCK},                                              \
                {"hash-offset", required_argument, NULL, ARG_HASH_OFFSET},                                            \
                {"uuid", required_argument, NULL, ARG_UUID},                                                          \
                {"data-blocks", required_argument, NULL, ARG_DATA_BLOCKS}, {                                          \
                "threads", required_argument, NULL, ARG_THREADS                                                       \
        }

typedef struct TreeArgs {
        const char *verity_data;
        VerityParams params;
        unsigned pins;
        bool salt_given;
        bool uuid_given;
        bool no_superblock;
        bool hash_offset_given;
        uint64_t hash_offset;
        unsigned threads;
} TreeArgs;

static int parse_u32_block_size(const char *verb, const char *opt, const char *arg, uint32_t *ret) {
        uint64_t v;
        if (safe_atou64(arg, &v) < 0 || v < VERITY_BLOCK_SIZE_MIN || v > VERITY_BLOCK_SIZE_MAX || (v & (v - 1)) != 0)
                return log_usage("%s: --%s=%s: expected a power of two from %u to %u", verb, opt, arg,
                        VERITY_BLOCK_SIZE_MIN, VERITY_BLOCK_SIZE_MAX);
        *ret = (uint32_t) v;
        return 0;
}

/* Returns 0 when c was a tree option, 1 when not, -EUSAGE on a bad value. */
static int parse_tree_option(const char *verb, int c, const char *arg, TreeArgs *a) {
        uint64_t v;
        switch (c) {
        case ARG_VERITY_DATA:
                if (!*arg)
                        return log_usage("%s: --verity-data= needs a file", verb);
                a->verity_data = arg;
                return 0;
        case ARG_SALT: {
                a->salt_given = true;
                a->pins |= VERITY_PIN_SALT;
                if (streq(arg, "-") || !*arg) {
                        a->params.salt_size = 0;
                        return 0;
                }
                size_t len = strlen(arg);
                _cleanup_free_ void *b = NULL;
                size_t n;
                if (len > 2 * VERITY_SALT_SIZE_MAX || unhexmem(arg, len, &b, &n) < 0)
                        return log_usage("%s: --salt=%s: expected up to %u bytes as hex, or -", verb, arg,
                                VERITY_SALT_SIZE_MAX);
                memcpy(a->params.salt, b, n);
                a->params.salt_size = (uint16_t) n;
                return 0;
        }
        case ARG_HASH: {
                VerityHash h = verity_hash_from_string(arg);
                if (h < 0)
                        return log_usage("%s: --hash=%s: expected sha1, sha256 or sha512", verb, arg);
                a->params.hash = h;
                a->pins |= VERITY_PIN_HASH;
                return 0;
        }
        case ARG_DATA_BLOCK_SIZE:
                a->pins |= VERITY_PIN_DATA_BLOCK_SIZE;
                return parse_u32_block_size(verb, "data-block-size", arg, &a->params.data_block_size);
        case ARG_HASH_BLOCK_SIZE:
                a->pins |= VERITY_PIN_HASH_BLOCK_SIZE;
                return parse_u32_block_size(verb, "hash-block-size", arg, &a->params.hash_block_size);
        case ARG_FORMAT:
                if (!streq(arg, "0") && !streq(arg, "1"))
                        return log_usage("%s: --format=%s: expected 0 (Chrome OS) or 1", verb, arg);
                a->params.format = arg[0] == '1';
                a->pins |= VERITY_PIN_FORMAT;
                return 0;
        case ARG_NO_SUPERBLOCK:
                a->no_superblock = true;
                return 0;
        case ARG_HASH_OFFSET:
                if (safe_atou64(arg, &v) < 0 || v % 512 != 0 || v > (uint64_t) INT64_MAX / 2)
                        return log_usage("%s: --hash-offset=%s: expected bytes, a multiple of 512", verb, arg);
                a->hash_offset = v;
                a->hash_offset_given = true;
                return 0;
        case ARG_UUID:
                if (uuid_from_string(arg, a->params.uuid) < 0)
                        return log_usage("%s: --uuid=%s: expected a UUID", verb, arg);
                a->uuid_given = true;
                a->pins |= VERITY_PIN_UUID;
                return 0;
        case ARG_DATA_BLOCKS:
                if (safe_atou64(arg, &v) < 0 || v == 0 || v > VERITY_DATA_BLOCKS_MAX)
                        return log_usage("%s: --data-blocks=%s: expected 1 to %" PRIu64, verb, arg,
                                (uint64_t) VERITY_DATA_BLOCKS_MAX);
                a->params.data_blocks = v;
                a->pins |= VERITY_PIN_DATA_BLOCKS;
                return 0;
        case ARG_THREADS:
                if (safe_atou64(arg, &v) < 0 || v > 64)
                        return log_usage("%s: --threads=%s: expected 0 (one per CPU) to 64", verb, arg);
                a->threads = (unsigned) v;
                return 0;
        default:
                return 1;
        }
}

/* IMAGE as given: a path when it names something here (or contains a slash), else a raw image of
 * the image root, as machinectl would take the name (image_raw_ref_open() holds it locked while
 * *ref lives). */
static int resolve_image(const char *verb, const char *arg, ImageRawRef *ref, const char **ret_path) {
        if (strchr(arg, '/') || access(arg, F_OK) >= 0 || !image_name_is_valid(arg)) {
                *ret_path = arg;
                return 0;
        }
        _cleanup_diag_ Diag d = DIAG_INIT;
        int r = image_raw_ref_open(arg_global.image_root, arg, ref, &d);
        if (r < 0 && d.object)
                return log_error_errno(
                        -ENOENT, "%s %s: no such file, and no image root %s", verb, arg, arg_global.image_root);
        if (r == -ENOENT)
                return log_error_errno(r, "%s %s: no such file or image", verb, arg);
        if (r < 0 && d.cause)
                return log_error_errno(r, "%s %s: %s", verb, arg, d.cause);
        if (r < 0)
                return log_image_error(r, verb, arg);
        *ret_path = ref->path;
        return 0;
}

/* The one line for a failed verity operation on image (verity-ops.c's diag: OBJECT: CAUSE). */
static int log_verity_error(int r, Diag *d, const char *verb, const char *image) {
        if (d->cause)
                return log_error_errno(r, "%s %s: %s", verb, image, diag_message(d));
        if (d->object)
                return log_error_errno(r, "%s %s: %s: %m", verb, image, d->object);
        if (r == -ENOMEM && !diag_failed(d))
                return log_oom();
        return log_error_errno(r, "%s %s: %m", verb, image);
}

static const char help_format[] =
        "cowpen verity-format [OPTIONS…] IMAGE\n\n"
        "Build the dm-verity hash tree of IMAGE, byte-compatible with veritysetup format, and write\n"
        "IMAGE.verity (\".raw\" dropped) and IMAGE.roothash (lower-case hex, no newline). Prints the\n"
        "root hash. IMAGE's size must be a whole number of data blocks. IMAGE is a file, or else the\n"
        "name of a raw image (NAME.raw) in the image root.\n\n"
        "     --verity-data=FILE     Write the tree to FILE instead of IMAGE.verity\n"
        "     --hash-offset=BYTES    Tree (and superblock) at this offset; without --verity-data\n"
        "                            inside IMAGE itself, after the data (data = first BYTES)\n"
        "     --salt=HEX|-           Salt (default: 32 random bytes; - for none)\n"
        "     --hash=ALG             sha256 (default), sha1 or sha512\n"
        "     --data-block-size=N    512…65536, power of two (default 4096)\n"
        "     --hash-block-size=N    512…65536, power of two (default 4096)\n"
        "     --data-blocks=N        Protect only the first N data blocks\n"
        "     --format=0|1           1 (default) or 0 (Chrome OS: salt appended)\n"
        "     --no-superblock        Write no superblock (verify then needs the same options)\n"
        "     --uuid=UUID            Superblock UUID (default: random)\n"
        "     --threads=N            Hashing threads (default: one per CPU)\n";

int verb_verity_format(int argc, char *argv[]) {
        static const struct option options[] = {GLOBAL_LONG_OPTIONS, TREE_LONG_OPTIONS, {}};
        TreeArgs a = {};
        verity_params_init(&a.params);
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                if ((r = parse_tree_option("verity-format", c, optarg, &a)) <= 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                if ((r = parse_global_option(c, optarg, help_format)) != 0)
                        return r < 0 ? r : log_usage("verity-format: unexpected option");
        }
        if ((r = check_args("verity-format", argc - optind, 1, 1)) < 0)
                return r;
        _cleanup_(image_raw_ref_done) ImageRawRef target = IMAGE_RAW_REF_NULL;
        const char *image;
        if ((r = resolve_image("verity-format", argv[optind], &target, &image)) < 0)
                return r;
        bool one_file = a.hash_offset_given && !a.verity_data;

        _cleanup_free_ char *sidecar = NULL, *roothash_path = NULL;
        if ((r = verity_sidecar_path(image, ".roothash", &roothash_path)) < 0)
                return log_oom();
        const char *hash_path = a.verity_data;
        if (!hash_path && !one_file) {
                if ((r = verity_sidecar_path(image, ".verity", &sidecar)) < 0)
                        return log_oom();
                hash_path = sidecar;
        }

        VerityFormatRequest req = {
                .data_path = image,
                .hash_path = hash_path,
                .root_hash_path = roothash_path,
                .params = a.params,
                .random_salt = !a.salt_given,
                .random_uuid = !a.uuid_given,
                .superblock = !a.no_superblock,
                .hash_offset = a.hash_offset,
                .threads = a.threads,
        };
        _cleanup_diag_ Diag d = DIAG_INIT;
        _cleanup_free_ char *hex = NULL;
        if ((r = verity_format(&req, &hex, &d)) < 0)
                return log_verity_error(r, &d, "verity-format", image);
        printf("%s\n", hex);
        return 0;
}

/* Where the root hash came from, for messages: --root-hash, the xattr, or the IMAGE.roothash read. */
static const char *root_hash_source(const VeritySidecars *s) {
        return s->root_hash_source == VERITY_SOURCE_GIVEN   ? "--root-hash"
               : s->root_hash_source == VERITY_SOURCE_XATTR ? "xattr user.verity.roothash"
                                                            : s->root_hash_path;
}

/* --root-hash= and --root-hash-sig=base64:… are checked when the command line is parsed: text
 * that is no digest of a hash cowpen knows, or no base64, is bad usage (exit status 2) on any
 * host. Whether the digest fits the tree's algorithm is a property of the image, checked later
 * (a failure). */
int check_root_hash_arg(const char *verb, const char *arg, bool sha1) {
        size_t len = strlen(arg);
        bool ok = len == 64 || len == 128 || (sha1 && len == 40);
        for (size_t i = 0; ok && i < len; i++)
                ok = unhexchar(arg[i]) >= 0;
        if (!ok)
                return log_usage("%s: --root-hash=%s: not a %s hex digest", verb, arg,
                                 sha1 ? "sha1, sha256 or sha512" : "sha256 or sha512");
        return 0;
}

int check_root_hash_sig_arg(const char *verb, const char *arg) {
        if (!startswith(arg, "base64:"))
                return 0; /* a file, read when it is needed */
        _cleanup_free_ void *sig = NULL;
        size_t size;
        int r = verity_signature_from_base64(arg, &sig, &size);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_usage("%s: --root-hash-sig=%s: %s", verb, arg,
                                 r == -EFBIG ? "too large" : "malformed base64");
        return 0;
}

static const char help_verify[] =
        "cowpen verity-verify [OPTIONS…] IMAGE\n\n"
        "Check every data block, hash block and padding byte of IMAGE's dm-verity tree against the\n"
        "root hash, and the root hash signature against trusted certificates. Exit 1 naming what\n"
        "failed (data block N, hash block N at level L, padding, root hash, signature).\n\n"
        "     --root-hash=HEX        Else xattr user.verity.roothash, else IMAGE.roothash\n"
        "     --root-hash-sig=FILE   PKCS#7 (DER), signature JSON, or base64:…; else IMAGE.roothash.p7s\n"
        "     --verity-certs=DIR     Trusted *.crt (else /etc/verity.d, /run/verity.d,\n"
        "                            /usr/local/lib/verity.d, /usr/lib/verity.d)\n"
        "     --verity-data=FILE     The tree (else IMAGE.verity)\n"
        "     --hash-offset=BYTES    Superblock/tree at this offset (without --verity-data: in IMAGE)\n"
        "     --no-superblock        The tree has none: give --hash, --salt, --data-block-size, …\n"
        "     --hash= --salt= --data-block-size= --hash-block-size= --data-blocks= --format= --uuid=\n"
        "                            With a superblock: values it must have\n"
        "     --threads=N            Hashing threads (default: one per CPU)\n";

int verb_verity_verify(int argc, char *argv[]) {
        static const struct option options[] = {
                GLOBAL_LONG_OPTIONS,
                TREE_LONG_OPTIONS,
                {"root-hash", required_argument, NULL, ARG_ROOT_HASH},
                {"root-hash-sig", required_argument, NULL, ARG_ROOT_HASH_SIG},
                {"verity-certs", required_argument, NULL, ARG_VERITY_CERTS},
                {},
        };
        TreeArgs a = {};
        verity_params_init(&a.params);
        const char *arg_root_hash = NULL, *arg_sig = NULL, *arg_certs = NULL;
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                switch (c) {
                case ARG_ROOT_HASH:
                        if ((r = check_root_hash_arg("verity-verify", optarg, true)) < 0)
                                return r;
                        arg_root_hash = optarg;
                        continue;
                case ARG_ROOT_HASH_SIG:
                        if ((r = check_root_hash_sig_arg("verity-verify", optarg)) < 0)
                                return r;
                        arg_sig = optarg;
                        continue;
                case ARG_VERITY_CERTS:
                        arg_certs = optarg;
                        continue;
                default:
                        break;
                }
                if ((r = parse_tree_option("verity-verify", c, optarg, &a)) <= 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                if ((r = parse_global_option(c, optarg, help_verify)) != 0)
                        return r < 0 ? r : log_usage("verity-verify: unexpected option");
        }
        if ((r = check_args("verity-verify", argc - optind, 1, 1)) < 0)
                return r;
        _cleanup_(image_raw_ref_done) ImageRawRef target = IMAGE_RAW_REF_NULL;
        const char *image;
        if ((r = resolve_image("verity-verify", argv[optind], &target, &image)) < 0)
                return r;
        bool one_file = a.hash_offset_given && !a.verity_data;

        _cleanup_diag_ Diag d = DIAG_INIT;
        _cleanup_(verity_verify_done) VerityVerify v = VERITY_VERIFY_NULL;
        if ((r = verity_verify_open(image, &v, &d)) < 0)
                return log_verity_error(r, &d, "verity-verify", image);

        /* What is not given is found next to the image (verity-sidecar.c). */
        _cleanup_(verity_sidecars_done) VeritySidecars found = VERITY_SIDECARS_INIT;
        _cleanup_diag_ Diag diag = DIAG_INIT;
        const VeritySidecarQuery query = {
                .image = image,
                .image_fd = v.data_fd,
                .root_hash = arg_root_hash,
                .root_hash_sig = arg_sig,
                .verity_data = a.verity_data,
        };
        const char *hash_path = NULL;
        _cleanup_close_ int hash_fd = -EBADF;
        if (one_file)
                hash_fd = RET_NERRNO(fcntl(v.data_fd, F_DUPFD_CLOEXEC, 3));
        else {
                r = verity_sidecars_find(&query, VERITY_SIDECAR_HASH_TREE, &found, &diag);
                if (r == -ENOMEM && !diag.object)
                        return log_oom();
                hash_path = found.hash_path ?: diag.object;
                hash_fd = r < 0 ? r : found.hash_fd >= 0 ? TAKE_FD(found.hash_fd) : -ENOENT;
        }
        if (hash_fd < 0) {
                if (hash_fd == -ENOENT && !a.verity_data)
                        return log_error_errno(-ENOENT,
                                "verity-verify %s: no hash tree: %s missing (give --verity-data=)", image, hash_path);
                if (hash_fd == -EBADFD || hash_fd == -EISDIR)
                        return log_error_errno(hash_fd, "verity-verify %s: %s: not a regular file or block device",
                                               image, hash_path);
                return log_error_errno(hash_fd, "verity-verify %s: %s: %m", image, hash_path ?: image);
        }
        const VerityVerifyRequest req = {
                .params = a.params,
                .pins = a.pins,
                .superblock = !a.no_superblock,
                .tree_in_data = one_file,
                .hash_offset = a.hash_offset,
                .threads = a.threads,
        };
        if ((r = verity_verify_load_tree(&v, TAKE_FD(hash_fd), hash_path ?: image, &req, &d)) < 0)
                return log_verity_error(r, &d, "verity-verify", image);

        /* The signature, if given or found; a JSON signature may also carry the root hash. */
        r = verity_sidecars_find(&query, VERITY_SIDECAR_SIGNATURE | VERITY_SIDECAR_SIGNATURE_JSON, &found, &diag);
        if (r == -ENOMEM && !diag.object)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "verity-verify %s: signature %s: %s", image, diag.object ?: arg_sig,
                        r == -EBADMSG ? "malformed"
                        : r == -EFBIG ? "too large"
                                      : strerror(-r));
        const VerityVerifySignature sig = {
                .p7s = found.sig,
                .p7s_size = found.sig_size,
                .root_hash_hex = found.sig_json.root_hash_hex,
                .fingerprint_hex = found.sig_json.fingerprint_hex,
                .name = arg_sig ?: found.sig_path,
        };

        r = verity_sidecars_find(&query, VERITY_SIDECAR_ROOT_HASH, &found, &diag);
        if (r < 0)
                return log_error_errno(r, "verity-verify %s: root hash: %m", image);
        const char *root_text = found.root_hash, *root_source = root_hash_source(&found);
        if (!root_text && sig.root_hash_hex) {
                root_text = sig.root_hash_hex;
                root_source = sig.name;
        }
        if (!root_text)
                return log_error_errno(-ENOKEY,
                        "verity-verify %s: no root hash (give --root-hash= or provide %s.roothash)", image, image);

        _cleanup_free_ char *root_hex = NULL, *signer = NULL;
        r = verity_verify_check(&v, root_text, root_source, &sig, arg_certs, &root_hex, &signer, &d);
        if (r < 0)
                return log_verity_error(r, &d, "verity-verify", image);

        if (!arg_global.quiet) {
                if (signer)
                        printf("%s: verified, root hash %s, signed by %s\n", image, root_hex, signer);
                else
                        printf("%s: verified, root hash %s%s\n", image, root_hex,
                                sig.p7s ? ", signed" : " (unsigned)");
        }
        return 0;
}

static const char help_sign[] =
        "cowpen verity-sign [OPTIONS…] IMAGE\n\n"
        "Sign IMAGE's root hash as systemd expects: write IMAGE.roothash.p7s, a detached DER PKCS#7\n"
        "signature over the lower-case hex root hash (no newline), without certificates or\n"
        "attributes (the same as openssl smime -sign -nocerts -noattr -binary -outform der).\n\n"
        "     --private-key=PEM      Signing key (required)\n"
        "     --certificate=PEM      Its certificate (required)\n"
        "     --root-hash=HEX        Else xattr user.verity.roothash, else IMAGE.roothash\n"
        "     --output=FILE          Instead of IMAGE.roothash.p7s\n"
        "     --partition-json=FILE  Also write the Discoverable Partitions signature JSON\n";

int verb_verity_sign(int argc, char *argv[]) {
        static const struct option options[] = {
                GLOBAL_LONG_OPTIONS,
                {"private-key", required_argument, NULL, ARG_PRIVATE_KEY},
                {"certificate", required_argument, NULL, ARG_CERTIFICATE},
                {"root-hash", required_argument, NULL, ARG_ROOT_HASH},
                {"output", required_argument, NULL, ARG_OUTPUT},
                {"partition-json", required_argument, NULL, ARG_PARTITION_JSON},
                {},
        };
        const char *arg_key = NULL, *arg_cert = NULL, *arg_root_hash = NULL, *arg_output = NULL, *arg_json = NULL;
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                switch (c) {
                case ARG_PRIVATE_KEY:
                        arg_key = optarg;
                        continue;
                case ARG_CERTIFICATE:
                        arg_cert = optarg;
                        continue;
                case ARG_ROOT_HASH:
                        if ((r = check_root_hash_arg("verity-sign", optarg, true)) < 0)
                                return r;
                        arg_root_hash = optarg;
                        continue;
                case ARG_OUTPUT:
                        arg_output = optarg;
                        continue;
                case ARG_PARTITION_JSON:
                        arg_json = optarg;
                        continue;
                default:
                        break;
                }
                if ((r = parse_global_option(c, optarg, help_sign)) != 0)
                        return r < 0 ? r : log_usage("verity-sign: unexpected option");
        }
        if ((r = check_args("verity-sign", argc - optind, 1, 1)) < 0)
                return r;
        if (!arg_key || !arg_cert)
                return log_usage("verity-sign: --private-key= and --certificate= are required");
        _cleanup_(image_raw_ref_done) ImageRawRef target = IMAGE_RAW_REF_NULL;
        const char *image;
        if ((r = resolve_image("verity-sign", argv[optind], &target, &image)) < 0)
                return r;

        _cleanup_close_ int data_fd = open_checked(AT_FDCWD, image, O_RDONLY, OPEN_REGULAR | OPEN_BLOCK, NULL);
        if ((data_fd == -EBADFD || data_fd == -EISDIR) && !arg_root_hash)
                return log_error_errno(data_fd, "verity-sign %s: not a regular file or block device", image);
        if (data_fd < 0 && !arg_root_hash)
                return log_error_errno(data_fd, "verity-sign %s: %m", image);
        _cleanup_(verity_sidecars_done) VeritySidecars found = VERITY_SIDECARS_INIT;
        const VeritySidecarQuery query = { .image = image, .image_fd = data_fd, .root_hash = arg_root_hash };
        r = verity_sidecars_find(&query, VERITY_SIDECAR_ROOT_HASH, &found, NULL);
        if (r < 0)
                return log_error_errno(r, "verity-sign %s: root hash: %m", image);
        const char *root_text = found.root_hash;
        const char *root_source = root_hash_source(&found);
        if (!root_text)
                return log_error_errno(
                        -ENOKEY, "verity-sign %s: no root hash (give --root-hash= or run verity-format first)", image);
        _cleanup_free_ char *out = NULL;
        if (!arg_output && verity_sidecar_path(image, ".roothash.p7s", &out) < 0)
                return log_oom();
        const char *out_path = arg_output ?: out;
        const VeritySignRequest req = {
                .root_hash_text = root_text,
                .root_hash_source = root_source,
                .key_path = arg_key,
                .cert_path = arg_cert,
                .output_path = out_path,
                .json_path = arg_json,
        };
        _cleanup_diag_ Diag d = DIAG_INIT;
        if ((r = verity_sign(&req, &d)) < 0)
                return log_verity_error(r, &d, "verity-sign", image);
        if (!arg_global.quiet)
                printf("%s\n", out_path);
        return 0;
}
