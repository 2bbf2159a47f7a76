/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Importing tar and raw images from a byte stream: the code import-tar/import-raw use directly and
 * pull-tar/pull-raw feed from a download (a pull is an import fed by a download). The stream is
 * untrusted until the caller has verified it; nothing becomes visible before *_publish(). */

#include "diag.h"
#include "image.h"
#include "macro.h"

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
 * kind: "entry \"PATH\": WHAT" with the first entry it happened to (made printable) and ", and N
 * more entries like it". */
int tar_import_run(TarImport *t, int fd, Diag *diag);
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
/* The limit on a sidecar other than ".verity" (which is limited by RAW_VERITY_SIDECAR_MAX). */
#define RAW_SIDECAR_MAX (1024 * 1024)
#define RAW_VERITY_SIDECAR_MAX (16ULL * 1024 * 1024 * 1024)
int raw_import_publish(RawImport *t);
RawImport *raw_import_free(RawImport *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(RawImport *, raw_import_free);
