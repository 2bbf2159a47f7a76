/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Taking a download URL apart. Untrusted input: the URL (from the command line, but its file
 * name is compared with names in checksum files and becomes the default image name). */

#include "macro.h"

#define PULL_FILENAME_MAX 255U

/* Splits url into the base (everything before the last '/' of the path, no query or fragment),
 * the last path component as written (still percent-encoded) and as a file name (decoded;
 * -EINVAL when empty, containing '/', NUL or control characters, or longer than
 * PULL_FILENAME_MAX). */
int pull_url_split(const char *url, char **ret_base, char **ret_component, char **ret_filename);

/* base + "/" + component, with trailing slashes of base dropped. */
char *pull_url_join(const char *base, const char *component);

/* The file name without compression suffixes (.xz, .gz, .bz2, .zst, .zstd) and then .raw: the
 * name sidecars are known by (app.raw.xz → app). */
char *pull_sidecar_stem(const char *filename);
