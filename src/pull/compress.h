/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Stream compression formats: detection by magic bytes, streaming decoders (zlib, liblzma with its
 * multithreaded decoder, libbz2, libzstd, each loaded with dlopen() when first needed), and
 * names/suffixes for the export side. */

#include "macro.h"

typedef enum CompressType {
        COMPRESS_NONE,
        COMPRESS_GZIP,
        COMPRESS_XZ,
        COMPRESS_BZIP2,
        COMPRESS_ZSTD,
        _COMPRESS_TYPE_MAX,
        _COMPRESS_TYPE_INVALID = -EINVAL,
} CompressType;

const char *compress_type_to_string(CompressType t);
/* Accepts "xz", "gzip", "gz", "zstd", "zst", "bzip2", "bz2", "uncompressed", "none", "tar", "raw";
 * or -EINVAL. */
CompressType compress_type_from_string(const char *s);
/* From a file name suffix: .xz .txz .gz .tgz .zst .tzst .bz2 .tbz2; -ENOENT when there is none. */
int compress_type_from_filename(const char *filename, CompressType *ret);

/* Bytes needed to recognise every magic. */
#define COMPRESS_MAGIC_MAX 6
/* Detects by magic bytes; anything unrecognised is COMPRESS_NONE. */
CompressType compress_detect(const void *buf, size_t n);

/* Memory a multithreaded xz decoder may use per thread before liblzma falls back to fewer
 * threads (the budget stated in the README). */
#define DECOMPRESS_XZ_MT_BUDGET_PER_THREAD (96ULL * 1024 * 1024)
/* Memory any decoder may use at all: a hostile stream asking for more fails. */
#define DECOMPRESS_MEMLIMIT (1024ULL * 1024 * 1024)

typedef struct Decompressor Decompressor;

/* Loads the library that decodes t (zlib, liblzma, libbz2, libzstd; once, see dlopen-util.h): 0 (also
 * for COMPRESS_NONE, which needs none), or -ELIBACC/-ELIBBAD with *ret_detail saying what is
 * missing. decompressor_new() calls it and fails with its error. */
int decompressor_dlopen(CompressType t, const char **ret_detail);

/* threads > 1 enables liblzma's multithreaded decoder (only xz uses it). */
int decompressor_new(CompressType t, unsigned threads, Decompressor **ret);
/* Decodes from *in (advancing *in and *in_size) into out, returning bytes produced (possibly 0 when it
 * needs more input). With finish (no more input exists) a stream that is not complete is -EPIPE.
 * Returns -EBADMSG on corrupt data. *ret_end is set once the last stream ended and all output
 * was given out. */
ssize_t decompressor_step(Decompressor *d, const uint8_t **in, size_t *in_size, bool finish, void *out,
                          size_t out_size, bool *ret_end);
/* gzip, bzip2: bytes after the last complete stream that do not start another one, skipped as
 * gzip -d and bzip2 -d skip them; *ret_data says whether any of them is not zero. */
uint64_t decompressor_ignored(Decompressor *d, bool *ret_data);
Decompressor *decompressor_free(Decompressor *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Decompressor *, decompressor_free);
