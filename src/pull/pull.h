/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* src/pull, the transfer layer: getting images into the image store and out of it. It holds
 *   - transfer jobs: pull-tar/pull-raw downloads over HTTP(S) or file: URLs with mirrors,
 *     retries and resume (pull-job.c, the libcurl wrapper pull-curl.c, pull-url.c), and the
 *     download cache of hidden partial and cached files in the image root (pull-download.c);
 *   - decompression: gzip, xz, bzip2 and zstd detected by magic bytes and decoded on a thread of
 *     its own (compress-decode.c, import-source.c);
 *   - the safe tar writer, which builds a tree from an untrusted archive below a directory fd
 *     (tar-extract.c, over the libarchive wrapper tar-archive.c), and the raw writer, which
 *     writes a disk image sparsely (import-raw.c);
 *   - verification of what a publisher ships next to an image: checksum files and OpenPGP
 *     signatures (pull-checksum.c, pull-verify.c, gpgv via pull-gpg.c);
 *   - import and export of trees and raw images: import-tar, import-raw, import-fs, export-tar,
 *     export-raw (import-*.c, export-*.c);
 *   - pull-oci: the OCI Distribution client (oci-registry.c, on pull-curl.c), the layer store and
 *     the pull (oci-pull.c, applying layers with tar-extract.c's OCI layer mode), and signatures
 *     with a policy (oci-verify.c, gpgv via pull-gpg.c).
 * Every byte from an archive, image, server or checksum file is untrusted until verified; what is
 * built is built under a hidden name of the image store and published with one rename only after
 * every check passed.
 *
 * This is the layer's one public header: the verbs (src/cowpen) include it and no other header of
 * src/pull. compress.h and pull-checksum.h come along for the types and names used here
 * (CompressType, Checksum); the layer's other headers are its own. Errors: -errno, with what the
 * errno does not say in a trailing Diag *diag (diag.h). */

#include "compress.h"
#include "diag.h"
#include "image.h"
#include "macro.h"
#include "pull-checksum.h"

/* ---- import: tar and raw images from a byte stream ----
 *
 * The code import-tar/import-raw use directly and pull-tar/pull-raw feed from a download (a pull
 * is an import fed by a download). The stream is untrusted until the caller has verified it;
 * nothing becomes visible before *_publish(). */

/* Limits on what an archive may make us do; 0 means "the default" (fits a large stage3). */
typedef struct ImportLimits {
        uint64_t max_entries;      /* number of archive entries */
        uint64_t max_path;         /* bytes in one entry path */
        uint64_t max_depth;        /* path components */
        uint64_t max_total_size;   /* bytes unpacked in all */
} ImportLimits;

typedef struct ImportOptions {
        bool force;                /* replace an existing image on publish */
        bool read_only;            /* publish read-only */
        bool keep_nesting;         /* tar, fs: no move-up of a nested OS tree (tree_move_up_nested()) */
        ImportLimits limits;
        /* Called from the importing thread with bytes of input consumed so far (compressed),
         * or NULL. */
        void (*progress)(uint64_t bytes_in, void *userdata);
        void *userdata;
} ImportOptions;

typedef struct TarImport TarImport;

/* Takes the name lock, refuses an existing image (unless force), and creates the hidden target
 * (a btrfs subvolume on btrfs, else a directory). */
int tar_import_new(ImageRoot *root, const char *name, const ImportOptions *opts, TarImport **ret);
/* Reads a tar stream (plain, gzip, xz, bzip2 or zstd, detected by magic bytes) from fd until EOF
 * and extracts it into the hidden target. Does not publish. On failure diag names the entry (the
 * object: the archive path, unescaped) when there is one, and says why when the errno does not say
 * it all (the cause: "path contains \"..\"", "hardlink to a directory", "corrupt compressed
 * stream", "libarchive.so.13 is not installed (needed to read tar archives)", …). A library that
 * cannot be loaded (libarchive, checked before anything is read, or the decoder's, once the magic
 * bytes are known) is -ELIBACC/-ELIBBAD (see dlopen-util.h). On success diag's warnings say what
 * the import repaired or left out instead of failing (an ACL the kernel would refuse, …), one per
 * kind: "entry \"PATH\": WHAT" with the first entry it happened to (made printable) and " (and N
 * more entries like it)". */
int tar_import_run(TarImport *t, int fd, Diag *diag);
/* After a successful tar_import_run(): the top directory the OS tree was moved up out of (as
 * importctl does with an archive holding one directory that holds the tree: "rootfs/etc/os-release"),
 * as named in the archive (untrusted, not yet printable), or NULL when the tree was not nested or
 * opts->keep_nesting was set. */
const char *tar_import_moved_up(TarImport *t);
/* File data tar_import_run() wrote (for an out-of-space message). On -ENOSPC/-EDQUOT,
 * tar_import_run()'s diag says "no space left on MOUNT (FSTYPE on SOURCE): wrote N MiB of the tree
 * before the file system filled, M MiB was free". */
uint64_t tar_import_written(TarImport *t);
/* Renames the finished tree into place (with read_only as requested). */
int tar_import_publish(TarImport *t);
/* Removes an unpublished target and releases the locks. */
TarImport *tar_import_free(TarImport *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(TarImport *, tar_import_free);

typedef struct RawImport RawImport;

int raw_import_new(ImageRoot *root, const char *name, const ImportOptions *opts, RawImport **ret);
/* Reads a raw disk image (optionally compressed: gzip, xz, bzip2, zstd) from fd until EOF and
 * writes it sparsely to the hidden NAME.raw target. On failure diag says why when the errno does not
 * say it all (the decoder's library could not be loaded: "liblzma.so.5 is not installed (needed to
 * decode xz)"). */
int raw_import_run(RawImport *t, int fd, Diag *diag);
/* Adds sidecar SUFFIX (".nspawn", ".roothash", ".roothash.p7s", ".verity") with the contents
 * read from fd; published with the image. */
int raw_import_add_sidecar(RawImport *t, const char *suffix, int fd);
/* Data raw_import_run() wrote (holes not counted); on -ENOSPC/-EDQUOT its diag names the file
 * system, the image's size when fd is an uncompressed regular file, and what was written and free. */
uint64_t raw_import_written(RawImport *t);
/* The limit on a sidecar other than ".verity" (which is limited by RAW_VERITY_SIDECAR_MAX). */
#define RAW_SIDECAR_MAX (1024 * 1024)
#define RAW_VERITY_SIDECAR_MAX (16ULL * 1024 * 1024 * 1024)
int raw_import_publish(RawImport *t);
RawImport *raw_import_free(RawImport *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(RawImport *, raw_import_free);

/* import-fs: copies the directory tree at src_fd (O_DIRECTORY) into the new image name by the
 * clone ladder (clone_tree(): a btrfs snapshot, else a reflink copy, else a copy), under a hidden
 * name published when complete, read-only when opts asks (of opts only force, read_only and
 * keep_nesting apply; NULL is none). A nested OS tree is moved up as import-tar does, unless
 * keep_nesting; *ret_moved_up (may be NULL) is then the top directory's name, else NULL. -EEXIST
 * (unless force), -EBUSY or -EINVAL for a bad name as image_temp_new() returns them. *ret_method
 * (may be NULL) says how it was copied. Out of space (-ENOSPC, -EDQUOT), diag says "no space left
 * on MOUNT (FSTYPE on SOURCE): the tree holds N MiB of file data, M MiB was free"; otherwise it
 * is left alone (the errno says it). */
int import_fs(ImageRoot *root, int src_fd, const char *name, const ImportOptions *opts, CloneMethod *ret_method,
              char **ret_moved_up, Diag *diag);

/* ---- export: trees and raw images to a byte stream ----
 *
 * A tree as a pax tar (numeric owners, xattrs, POSIX ACLs as SCHILY.acl, hardlinks, sparse
 * files), a raw image as a sparse copy or a compressed stream. */

typedef struct ExportOptions {
        CompressType compress;
        /* Called with bytes of input read so far (file contents), or NULL. */
        void (*progress)(uint64_t bytes, void *userdata);
        void *userdata;
} ExportOptions;

/* Loads libarchive, through which export_tar() (tar) and a compressing export_raw() (!tar) write
 * (once; dlopen-util.h): 0, or -ELIBACC/-ELIBBAD with the cause "DETAIL (needed to write tar
 * archives)" or "… (needed to compress raw images)" in diag. Both fail with that error without it;
 * a verb calls this first, to fail before it creates anything. */
int export_dlopen(bool tar, Diag *diag);

/* Writes the tree below tree_fd (an O_DIRECTORY fd) as tar to out_fd. Sockets cannot be
 * represented in tar and are skipped (*ret_n_skipped counts them). A name with a control
 * character, which import-tar refuses, is refused: -EILSEQ, with the cause "control character in
 * path (import-tar refuses it)". On a failure at a file, diag's object is its path in the
 * archive. */
int export_tar(int tree_fd, int out_fd, const ExportOptions *o, uint64_t *ret_n_skipped, Diag *diag);
/* The same, of only what differs from the tree below base_fd (push-oci's layer over a pulled
 * base): entries new or changed in type, mode, owner, device, size, mtime, symlink target, xattrs
 * or contents (a directory's own entry only when it changed; what is below it is compared one by
 * one), and an OCI whiteout ".wh.NAME" for each entry of the base that the tree lacks. */
int export_tar_diff(int tree_fd, int base_fd, int out_fd, const ExportOptions *o, uint64_t *ret_n_skipped,
                    uint64_t *ret_n_whiteouts, Diag *diag);
/* Copies the raw image raw_fd to out_fd: sparse (holes kept when out_fd is a regular file) when
 * uncompressed, else through the compressor. */
int export_raw(int raw_fd, int out_fd, const ExportOptions *o);
/* The apparent size of the data export_* will read (for the progress total): sum of regular
 * file sizes below tree_fd. */
int export_tree_size(int tree_fd, uint64_t *ret);

/* ---- pull: download, verify, import ----
 *
 * pull-tar / pull-raw: download an image over HTTP(S) (or from a file: URL), verify it against
 * what the publisher ships (checksum files, OpenPGP signatures), and import it while it arrives
 * (download, hashing, decoding and writing overlap). Nothing unverified becomes visible: the tree
 * is built under a hidden name and published only after every check passed. */

typedef enum PullVerify {
        PULL_VERIFY_NO,
        PULL_VERIFY_CHECKSUM,
        PULL_VERIFY_SIGNATURE,
        _PULL_VERIFY_MAX,
        _PULL_VERIFY_INVALID = -EINVAL,
} PullVerify;
PullVerify pull_verify_from_string(const char *s); /* or -EINVAL */
const char *pull_verify_to_string(PullVerify v);

typedef enum PullKind {
        PULL_TAR,
        PULL_RAW,
} PullKind;

typedef enum PullPhase {
        PULL_PHASE_VERIFY_SOURCES, /* fetching checksum and signature files */
        PULL_PHASE_DOWNLOAD,       /* downloading (and importing as it arrives) */
        PULL_PHASE_CACHED,         /* importing the cached download */
        PULL_PHASE_VERIFY,         /* checking the finished download */
        PULL_PHASE_DONE,
        _PULL_PHASE_MAX,
} PullPhase;
const char *pull_phase_to_string(PullPhase p);

typedef struct PullProgress {
        PullPhase phase;
        uint64_t done;   /* bytes of the image file available (resumed prefix included) */
        uint64_t total;  /* UINT64_MAX when unknown */
} PullProgress;

typedef struct PullOptions {
        PullVerify verify;
        bool have_checksum;      /* --checksum= */
        Checksum checksum;
        const char *keyring;     /* NULL: the first of gpg_default_keyrings that exists */
        char **mirrors;          /* other base URLs, tried in order after the URL's own */
        bool force;
        bool read_only;
        bool keep_nesting;       /* pull-tar: as ImportOptions.keep_nesting */
        bool keep_download;
        unsigned retries;        /* attempts per base URL on transient errors; 0 = default */
        unsigned backoff_ms;     /* first retry delay, doubled each time; 0 = default */
        /* Called from the downloading thread, at most a few times per second, and at phase changes. */
        void (*progress)(const PullProgress *p, void *userdata);
        /* Notes for the user ("Verifying with …", "Resuming at …", "trying mirror …"). */
        void (*note)(const char *msg, void *userdata);
        void *userdata;
} PullOptions;

#define PULL_RETRIES_DEFAULT 3U
#define PULL_BACKOFF_MS_DEFAULT 250U

typedef struct PullResult {
        char *url;              /* the URL the image came from */
        char *verified_by;      /* what verified it, e.g. "SHA256SUMS (signed, SHA256SUMS.gpg)"; NULL with --verify=no */
        char *fingerprint;      /* the signing key, when a signature was checked */
        char *digest;           /* hex SHA-256 (or SHA-512 when that was checked) of the download */
        bool resumed;           /* continued a partial download */
        bool cached;            /* served from the download cache (304) */
        uint64_t bytes;         /* size of the download */
        uint64_t transferred;   /* body bytes received over the network in this run */
        char **sidecars;        /* pull-raw: suffixes published with the image */
        char **skipped;         /* pull-raw: sidecars found but not kept (unverifiable) */
        char *moved_up;         /* pull-tar: as tar_import_moved_up() */
} PullResult;
void pull_result_done(PullResult *r);

/* Splits url into the base (everything before the last '/' of the path, no query or fragment),
 * the last path component as written (still percent-encoded) and as a file name (decoded;
 * -EINVAL when empty, containing '/', NUL or control characters, or longer than
 * PULL_FILENAME_MAX, pull-url.h). */
int pull_url_split(const char *url, char **ret_base, char **ret_component, char **ret_filename);

/* The image name a URL implies: its last path component without directory, query and the
 * suffixes .tar, .tgz, .tar.*, .raw, .img, .xz, .gz, .bz2, .zst. -EINVAL when none is left. */
int pull_name_from_url(const char *url, char **ret);

/* Pulls url into image name of root. On failure returns -errno and, when it can say more than
 * strerror, the detail in diag (diag_message(): "SHA256SUMS.gpg: signed by key …, which is not in
 * the keyring", "URL: HTTP status 404", "checksum mismatch: …" or "libcurl.so.4 is not installed
 * (needed to download)"; a library that cannot be loaded is -ELIBACC/-ELIBBAD, see dlopen-util.h).
 * On success diag's warnings say what the import of a tar archive repaired or left out (as
 * tar_import_run()'s). */
int pull_image(ImageRoot *root, PullKind kind, const char *url, const char *name, const PullOptions *opts,
               PullResult *ret, Diag *diag);

/* ---- pull-oci: images from an OCI registry ----
 *
 * oci-registry.c speaks the OCI Distribution Spec; oci-pull.c keeps layers in a content-addressed
 * store in the image root, hidden from image listings:
 *
 *   .#oci/chains/HEX/   the tree of a layer chain (OCI ChainID: the layer applied onto its
 *                       parent chain's tree, a btrfs snapshot or reflink/copy of it)
 *   .#oci/blobs/HEX.partial  a layer download in progress or interrupted (resumed with Range)
 *   .#oci/refs/NAME     the chains image NAME was made from (what `clean` keeps)
 *   .#oci/layers/HEX    the blob chain HEX's top layer was pulled as ("DIGEST SIZE MEDIATYPE
 *                       REGISTRY/REPO"), for push-oci; removed with the chain
 *   .#oci/lock          held by a pull (a second one waits) and by `clean` (which does not)
 *
 * so a second image on the same base downloads and unpacks only its new layers. The image is
 * a clone of its top chain, with the verified image config as sidecar NAME.oci.json. */

#define OCI_LAYERS_MAX 256U      /* layers of one image */
#define OCI_PARALLEL_DEFAULT 3U  /* layer downloads at once */
#define OCI_STORE_DIR ".#oci"
#define OCI_CONFIG_SIDECAR ".oci.json"

typedef enum OciPhase {
        OCI_PHASE_MANIFEST,  /* resolving the reference, index, manifest and config */
        OCI_PHASE_DOWNLOAD,  /* a layer's bytes arrive (layer, done, total) */
        OCI_PHASE_UNPACK,    /* a layer is applied (layer) */
        OCI_PHASE_DONE,
        OCI_PHASE_UPLOAD,    /* push-oci: a blob's bytes go out (layer, done, total) */
        _OCI_PHASE_MAX,
} OciPhase;
const char *oci_phase_to_string(OciPhase p);

typedef struct OciProgress {
        OciPhase phase;
        size_t layer, n_layers;  /* this layer (index in the manifest), of how many */
        const char *digest;      /* its blob digest */
        uint64_t done, total;    /* bytes of this layer */
        uint64_t all_done, all_total; /* bytes of all layers to download */
} OciProgress;

typedef struct OciPullOptions {
        PullVerify verify;       /* NO: layer diff_ids unchecked (blob digests always are); CHECKSUM:
                                  * every digest ("digest"); SIGNATURE: digests and a simple-signing
                                  * signature the policy's signedBy accepts */
        bool verify_from_policy; /* verify not given: the policy file decides (digest without one) */
        const char *policy;      /* policy.json; NULL: /etc/containers/policy.json when it exists */
        const char *arch;        /* OCI architecture ("amd64", "arm64", "arm/v7"); NULL: the host's */
        const char *credentials; /* auth.json-style file; NULL: the usual places */
        char **mirrors;          /* registries (host[:port]) tried first, in order, for the same repository */
        bool tls_verify;
        bool force;
        bool read_only;
        unsigned retries;        /* 0 = PULL_RETRIES_DEFAULT */
        unsigned backoff_ms;
        unsigned parallel;       /* 0 = OCI_PARALLEL_DEFAULT */
        ImportLimits limits;     /* per layer */
        /* Called with a lock held (from download threads too), at most a few times per second per layer. */
        void (*progress)(const OciProgress *p, void *userdata);
        void (*note)(const char *msg, void *userdata);
        void *userdata;
} OciPullOptions;

/* What a pull-oci published (for provenance records). */
typedef struct OciPullResult {
        char *reference;         /* normalised: registry/repository:tag[@digest] */
        char *registry_url;      /* base URL used */
        char *manifest_digest;   /* of the image manifest (not the index) */
        char *index_digest;      /* of the image index, when the reference named one; else NULL */
        char *config_digest;
        char *platform;          /* "linux/amd64" */
        char **layer_digests;    /* blob digests, in order */
        size_t n_layers;
        size_t n_layers_fetched; /* layers downloaded and unpacked in this run */
        uint64_t bytes_fetched;  /* bytes received over the network for layers */
        bool resumed;            /* a layer download continued an interrupted one */
        char *verified_by;       /* "digests", "digests and signature (policy scope S)", "blob digests" */
        char *fingerprint;       /* the signing key, when a signature was checked */
} OciPullResult;
void oci_pull_result_done(OciPullResult *r);

/* The image name a reference implies: the last repository component ("debian" for
 * docker.io/library/debian:12). */
int oci_name_from_ref(const char *ref, char **ret);

/* Pulls ref into image name of root. On failure returns -errno with the object and cause in diag
 * ("sha256:…: digest mismatch", "no manifest for linux/amd64 in the index (it has: linux/arm64)",
 * a layer entry the safe tree writer refused); nothing is visible and the store holds nothing
 * new but an interrupted download's partial file. */
int oci_pull(ImageRoot *root, const char *ref, const char *name, const OciPullOptions *o, OciPullResult *ret,
             Diag *diag);

/* `clean`: drops refs of images that are gone, and the chains and partial downloads no ref needs.
 * Calls on_removed with each store entry removed (".#oci/chains/HEX"). -EBUSY while a pull runs. */
int oci_store_clean(ImageRoot *root, void (*on_removed)(const char *name, void *userdata), void *userdata);

/* ---- push-oci: an image to an OCI registry ----
 *
 * oci-push.c: the image's tree as one layer (export_tar()'s archive: diff_id the sha256 of the
 * tar, compressed with zstd or gzip), an image config (the process config, platform of the
 * image's NAME.oci.json when it has one), blobs the registry lacks uploaded in chunks (resumed
 * from the registry's Range after an interruption), the manifest last. */

typedef struct OciPushOptions {
        CompressType format;     /* COMPRESS_GZIP (the default for anything else) or COMPRESS_ZSTD */
        const char *credentials; /* auth.json-style file; NULL: the usual places */
        bool tls_verify;
        unsigned retries;        /* 0 = PULL_RETRIES_DEFAULT */
        unsigned backoff_ms;
        uint64_t chunk;          /* bytes per PATCH; 0 = OCI_UPLOAD_CHUNK_DEFAULT */
        /* --sign-by: a gpg key of the user's keyring; the simple-signing signature of the pushed
         * manifest goes to the lookaside store (registries.d's lookaside-staging, a file: URL). */
        const char *sign_by;
        const char *sign_passphrase_file;
        void (*progress)(const OciProgress *p, void *userdata);
        void (*note)(const char *msg, void *userdata);
        void *userdata;
} OciPushOptions;

typedef struct OciPushResult {
        char *reference;         /* normalised registry/repository:tag */
        char *registry_url;
        char *manifest_digest;
        char *layer_digest;
        uint64_t blob_size;      /* of the (compressed) layer */
        size_t n_layers, n_layers_sent; /* layers of the image; uploaded (not already there) */
        size_t n_base_layers;    /* of them, the pulled base's (named by their blobs, not sent) */
        size_t n_mounted;        /* base blobs the registry mounted from the repository pulled from */
        uint64_t n_whiteouts;    /* deletions in the new layer */
        uint64_t bytes_sent;     /* layer bytes uploaded, resends included */
        bool resumed;            /* an interrupted upload went on where the registry had it */
        bool restarted;          /* … or started again, the registry having lost it */
        char *signature_path;    /* --sign-by: the signature file written */
} OciPushResult;
void oci_push_result_done(OciPushResult *r);

/* Pushes image name of root to ref (registry/repository:tag). Errors with the object and cause
 * in diag: "no such image", a raw image, the registry refusing the credentials, an HTTP status,
 * gpg's reason for not signing (the key is checked by signing before anything is uploaded). */
int oci_push(ImageRoot *root, const char *name, const char *ref, const OciPushOptions *o, OciPushResult *ret,
             Diag *diag);
