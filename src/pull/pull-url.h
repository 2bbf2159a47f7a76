/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Taking a download URL apart (pull_url_split() is in pull.h). Untrusted input: the URL (from the
 * command line, but its file name is compared with names in checksum files and becomes the
 * default image name). */

#include "macro.h"
#include "pull.h"

#define PULL_FILENAME_MAX 255U


/* base + "/" + component, with trailing slashes of base dropped. */
char *pull_url_join(const char *base, const char *component);

/* The file name without compression suffixes (.xz, .gz, .bz2, .zst, .zstd) and then .raw: the
 * name sidecars are known by (app.raw.xz → app). */
char *pull_sidecar_stem(const char *filename);
