/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The libarchive wrapper (the one file that includes archive.h, and loads libarchive with dlopen()
 * when first needed): reading tar streams (pax, GNU, ustar, with sparse members, xattrs and POSIX
 * ACLs) from a block callback, and writing pax. Entries are handed out as plain TarEntry
 * structs so that the tree writer and the exporter never see libarchive types. */

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "compress.h"
#include "diag.h"
#include "macro.h"

typedef struct TarXattr {
        char *name;
        void *value;
        size_t size;
} TarXattr;

typedef struct TarEntry {
        char *path;          /* as stored in the archive (untrusted) */
        char *hardlink;      /* hardlink target path, or NULL */
        char *symlink;       /* symlink target, or NULL */
        mode_t mode;         /* type and permission bits */
        uid_t uid;
        gid_t gid;
        dev_t rdev;
        uint64_t size;       /* logical size of a regular file */
        struct timespec mtime, atime;
        bool has_atime;
        bool sparse;         /* data comes in blocks at offsets; holes in between */
        TarXattr *xattrs;    /* including system.posix_acl_access/_default built from ACL entries */
        size_t n_xattrs;
        unsigned warnings;   /* TarWarning bits: what of the entry was repaired or left out */
} TarEntry;

/* What the reader repaired or left out of an entry rather than refusing the archive: an ACL the
 * kernel would refuse is reduced to what is valid (as GNU tar and bsdtar skip such ACLs with a
 * warning, and setfacl computes a missing mask). */
typedef enum TarWarning {
        TAR_WARNING_ACL_NO_MASK = 1U << 0,     /* named entries but no mask: the mask was computed */
        TAR_WARNING_ACL_NO_ID = 1U << 1,       /* a named user/group without a numeric id: skipped */
        TAR_WARNING_ACL_DUPLICATE = 1U << 2,   /* an entry repeated: the first kept */
        TAR_WARNING_ACL_INVALID = 1U << 3,     /* no owner, group or other entry, or malformed: not applied */
        TAR_WARNING_ACL_DEFAULT_NONDIR = 1U << 4, /* a default ACL on a non-directory: not applied */
        _TAR_WARNING_MAX = 1U << 5,
} TarWarning;
#define TAR_WARNING_KINDS 5 /* bits below _TAR_WARNING_MAX */
/* The words for one TarWarning bit, e.g. "ACL without a mask entry: applied with the mask its
 * entries need". */
const char *tar_warning_to_string(TarWarning w);

/* Loads libarchive (once; dlopen-util.h): 0, or -ELIBACC/-ELIBBAD with *ret_detail saying what is
 * missing. tar_reader_new(), tar_writer_new() and raw_writer_new() call it and fail with its error;
 * callers that want to say why, or to fail before starting work, call it themselves. */
int dlopen_libarchive(const char **ret_detail);

void tar_entry_clear(TarEntry *e);
/* Whether e carries an xattr of that name. */
bool tar_entry_has_xattr(const TarEntry *e, const char *name);

/* ---- reading ---- */

typedef struct TarReader TarReader;

/* read_block returns the next block of the (decoded) tar stream: > 0 bytes with *ret_buf valid
 * until the next call, 0 at EOF, -errno on failure. */
typedef ssize_t (*TarReadBlock)(void *userdata, const void **ret_buf);

int tar_reader_new(TarReadBlock read_block, void *userdata, TarReader **ret);
/* The next entry: 1 with *e filled (cleared on the next call), 0 at the end, -errno. The
 * error -EBADMSG means the archive is corrupt; a read error of the callback is passed on. An
 * entry refused for what the errno does not say ("sparse map with more regions than the limit
 * (262144)", …) has that cause in diag. */
int tar_reader_next(TarReader *r, TarEntry *e, Diag *diag);
/* The next data block of the current entry: 1 with buf/size/offset set, 0 at its end, -errno. */
int tar_reader_data(TarReader *r, const void **ret_buf, size_t *ret_size, uint64_t *ret_offset);
/* After tar_reader_next() returned 0: the bytes the reader had read past the end-of-archive marker
 * (what follows it in the stream the caller reads on), and whether any of them is not zero
 * (zero padding to a record size is normal; anything else is trailing garbage). */
uint64_t tar_reader_trailing(TarReader *r, bool *ret_data);
/* Whether what follows starts with another tar header (archives joined with cat), as far as the
 * reader has it. */
bool tar_reader_trailing_archive(TarReader *r);
/* Bytes of the stream the reader consumed so far: after a failure, about where it failed. */
uint64_t tar_reader_offset(TarReader *r);
TarReader *tar_reader_free(TarReader *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(TarReader *, tar_reader_free);

/* ---- writing ---- */

typedef struct TarWriter TarWriter;

/* Writes pax (numeric owners, nanosecond mtimes, SCHILY.xattr, POSIX ACLs both as SCHILY.acl and as
 * SCHILY.xattr.system.posix_acl_*, GNU sparse 1.0), compressed with compress (via libarchive's
 * filters; xz uses threads), to fd. */
int tar_writer_new(int fd, CompressType compress, TarWriter **ret);
/* Writes the header of e. For regular files with a data map (sparse), data holds pairs
 * (offset, length) of the data regions, and the caller then writes the full logical size with
 * zeros in the holes (they are dropped). */
int tar_writer_header(TarWriter *w, const TarEntry *e, const uint64_t *data_map, size_t n_data_map);
int tar_writer_data(TarWriter *w, const void *buf, size_t size);
/* Finishes the archive and the compressor. */
int tar_writer_close(TarWriter *w);
TarWriter *tar_writer_free(TarWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(TarWriter *, tar_writer_free);

/* A raw (non-tar) compressed stream writer for export-raw, through the same filters. */
int raw_writer_new(int fd, CompressType compress, TarWriter **ret);
