/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Progress reporting for transfers: a one-line bar on stderr (bytes, rate, ETA) drawn only when
 * stderr is a terminal, or JSON lines on stderr ({"label":…,"bytes":…,"total":…,"rate":…,
 * "eta":…,"done":…}) for --json=short/pretty. Updates are rate-limited (bar: 10/s, JSON: 1/s). */

#include "macro.h"

typedef enum ProgressMode {
        PROGRESS_OFF,
        PROGRESS_BAR,   /* only takes effect when stderr is a terminal */
        PROGRESS_JSON,
} ProgressMode;

typedef struct Progress Progress;

/* total is UINT64_MAX when unknown (no percentage, no ETA). label is copied. */
int progress_new(ProgressMode mode, const char *label, uint64_t total, Progress **ret);
/* Thread-safe; cheap when nothing is due. */
void progress_update(Progress *p, uint64_t bytes);
/* Final line (bar: clears it; JSON: a last record with "done":true and "ok"). */
void progress_finish(Progress *p, bool ok);
Progress *progress_free(Progress *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Progress *, progress_free);

/* Formats "12.3 MiB/s"-style rates and "1m05s" ETAs (for tests and the bar). */
const char *progress_format_eta(char *buf, size_t l, uint64_t seconds);
