/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The safe tree writer: applies the entries of an untrusted tar stream below a directory fd,
 * never following anything the archive created, never writing outside, within named limits. */

#include "pull.h"
#include "tar-archive.h"

/* Defaults of ImportLimits (0 there means these): fit a large stage3 (~100k entries, ~1 GB). */
#define IMPORT_DEFAULT_MAX_ENTRIES (4ULL * 1024 * 1024)
#define IMPORT_DEFAULT_MAX_PATH 4096ULL
#define IMPORT_DEFAULT_MAX_DEPTH 256ULL
#define IMPORT_DEFAULT_MAX_TOTAL_SIZE (64ULL * 1024 * 1024 * 1024)

/* Fills in the defaults for zero fields. */
ImportLimits import_limits_resolve(const ImportLimits *l);

/* Normalizes an archive path: strips "./", empty and "." components and trailing slashes; refuses
 * absolute paths, "..", control characters, components over NAME_MAX and paths over the limits.
 * "" is the root itself. On refusal returns -EPERM/-ENAMETOOLONG/-ELOOP with the cause in diag
 * ("absolute path", "path contains \"..\"", …). */
int tar_path_normalize(const char *path, const ImportLimits *limits, char **ret, Diag *diag);

typedef struct TarExtract TarExtract;

/* root_fd is borrowed (an O_DIRECTORY fd of the empty target). */
int tar_extract_new(int root_fd, const ImportLimits *limits, TarExtract **ret);
/* OCI layer mode, for applying a layer onto its parent's tree: entries named ".wh.NAME" remove NAME
 * of the lower layers, ".wh..wh..opq" every lower entry of its directory (OCI image spec), each
 * reached without following a symlink; tar_extract_finish() does no move-up. */
void tar_extract_set_oci_layer(TarExtract *x);
/* Extracts every entry of r. On failure diag says which entry (the object: its path as the archive
 * has it) and why (the cause, when the errno does not say it all). */
int tar_extract_run(TarExtract *x, TarReader *r, Diag *diag);
/* Directory times, then the move-up of a single top directory holding etc/ or usr/. */
int tar_extract_finish(TarExtract *x);
uint64_t tar_extract_n_entries(TarExtract *x);
/* How many extracted entries carried warning w (a TarWarning bit), and the path of the first
 * (NULL when none). */
uint64_t tar_extract_warning(TarExtract *x, TarWarning w, const char **ret_first);
TarExtract *tar_extract_free(TarExtract *x);
DEFINE_TRIVIAL_CLEANUP_FUNC(TarExtract *, tar_extract_free);
