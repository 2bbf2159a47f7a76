/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The record of full userspace verifications of immutable files (verity-cache.c); src/verity's
 * own, used by verity-open.c. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verity.h"

/* Where the records live: $COWPEN_VERITY_CACHE when set (tests), else this. The directory must
 * be root's and writable by nobody else, or it is not used. */
#define VERITY_CACHE_DIR "/run/cowpen/verity"
/* Records kept at most; past that the directory is emptied before the next one is written (a
 * record only spares a check, so losing one costs one full verification). */
#define VERITY_CACHE_ENTRIES_MAX 4096U
#define VERITY_CACHE_KEY_MAX 2048U

/* The key of a verification of data_fd (and hash_fd, which may be the same file) against
 * root_hash with params: the identity and change times of both files, the offsets and the
 * parameters. -EPERM when a file is not a regular file with FS_IMMUTABLE_FL set: only those are
 * recorded (see verity-cache.c for why). */
int verity_cache_key(int data_fd, uint64_t data_offset, int hash_fd, uint64_t hash_offset, bool superblock,
        const VerityParams *p, const uint8_t *root_hash, size_t root_hash_size, char **ret);
/* 1 when key was recorded, 0 when not (or the cache cannot be read). */
int verity_cache_lookup(const char *key);
/* Records key; failures are ignored by the caller (the next run verifies again). */
int verity_cache_store(const char *key);
