/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A decoding source: a thread reads an fd, detects the compression by magic bytes, decodes, and
 * hands the decoded bytes to the consuming thread through a bounded ring of buffers, so that
 * decompression and extraction run on different cores and memory stays bounded whatever the size
 * of the stream. */

#include "compress.h"
#include "diag.h"

/* The ring: IMPORT_SOURCE_SLOTS buffers of IMPORT_SOURCE_SLOT_SIZE bytes. */
#define IMPORT_SOURCE_SLOTS 8
#define IMPORT_SOURCE_SLOT_SIZE (1024 * 1024)

typedef struct ImportSource ImportSource;

/* Starts the decoder thread on fd (borrowed; must stay open until import_source_free()).
 * threads is the number of xz decoder threads (0: one per online CPU). */
int import_source_start(int fd, unsigned threads, ImportSource **ret);
/* The next decoded block: > 0 bytes, 0 at the end of the stream, or -errno (-EBADMSG corrupt,
 * -EPIPE truncated, -EINTR interrupted, read errors). The block stays valid until the next call. */
ssize_t import_source_read(ImportSource *s, const void **ret_buf);
/* Compressed bytes read from fd so far (any thread). */
uint64_t import_source_bytes_in(ImportSource *s);
/* Once import_source_read() returned 0: the compressed input after the end of the compressed
 * stream (junk after the last gzip member or bzip2 stream, anything after an xz stream or zstd
 * frame that ended the decoding), which was ignored, and whether any of it is not zero. */
uint64_t import_source_ignored(ImportSource *s, bool *ret_data);
/* The warning for that: "N of trailing data after the end of the gzip stream ignored". */
int import_source_warn_ignored(uint64_t ignored, CompressType t, Diag *diag);
/* The compression detected, once the first block was read. */
CompressType import_source_compression(ImportSource *s);
/* After import_source_read() failed with r: returns r, and when it is a dlopen_error_is_library()
 * error (the decoder's library could not be loaded) records the cause "DETAIL (needed to decode
 * FORMAT)" in diag. Other errors say what they are by themselves. */
int import_source_fail(ImportSource *s, int r, Diag *diag);
/* Stops the thread (also when it is blocked reading a pipe) and frees everything. */
ImportSource *import_source_free(ImportSource *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImportSource *, import_source_free);
