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
/* Directory times, then (unless keep_nesting was set) tree_move_up_nested(). */
int tar_extract_finish(TarExtract *x);
/* --keep-nesting: tar_extract_finish() leaves a single top directory as it is. */
void tar_extract_set_keep_nesting(TarExtract *x, bool keep);
/* The name (as in the archive: untrusted) of the top directory tar_extract_finish() moved the OS
 * tree up out of, or NULL. */
const char *tar_extract_moved_up(TarExtract *x);

/* The move-up of a nested OS tree, by systemd's rule (import_mangle_os_tree()): when the tree at
 * root_fd is not an OS tree (no etc/os-release or usr/lib/os-release), holds exactly one entry,
 * and that entry is a directory (not a symlink, on the same file system) that is one, its
 * contents move up into root_fd, which takes its owner, mode and times. Returns 1 with the top
 * directory's name in *ret_top (may be NULL) when it moved the tree, 0 when it left it alone. The
 * top directory is first renamed to a random hidden name, so that a child of the same name ("usr"
 * holding "usr/") cannot collide; nothing is ever replaced. Meant for an unpublished tree: on
 * failure the tree is half-moved and is to be removed. */
int tree_move_up_nested(int root_fd, char **ret_top);
uint64_t tar_extract_n_entries(TarExtract *x);
/* Bytes of file data written so far. */
uint64_t tar_extract_written(TarExtract *x);
/* How many extracted entries carried warning w (a TarWarning bit), and the path of the first
 * (NULL when none). */
uint64_t tar_extract_warning(TarExtract *x, TarWarning w, const char **ret_first);
TarExtract *tar_extract_free(TarExtract *x);
DEFINE_TRIVIAL_CLEANUP_FUNC(TarExtract *, tar_extract_free);
