/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exporting images: a tree as a pax tar (numeric owners, xattrs, POSIX ACLs as SCHILY.acl,
 * hardlinks, sparse files), a raw image as a sparse copy or a compressed stream. */

#include "compress.h"
#include "diag.h"
#include "macro.h"

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
/* Copies the raw image raw_fd to out_fd: sparse (holes kept when out_fd is a regular file) when
 * uncompressed, else through the compressor. */
int export_raw(int raw_fd, int out_fd, const ExportOptions *o);
/* The apparent size of the data export_* will read (for the progress total): sum of regular
 * file sizes below tree_fd. */
int export_tree_size(int tree_fd, uint64_t *ret);
