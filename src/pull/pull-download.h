/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The hidden download files of pulls, in the image root, keyed by a hash of the URL:
 *
 *   .#pull-partial.HASH   the download in progress, or the resumable rest of an interrupted one
 *   .#pull-cache.HASH     a complete pristine download kept with --keep-download=yes
 *
 * Each carries its URL, ETag and Last-Modified in user.cowpen.* xattrs (where the filesystem has
 * no user xattrs, nothing is resumed or cached). While a pull uses them it holds the locks
 * .#pull-partial.HASH.lck and .#pull-cache.HASH.lck, so `clean` leaves them alone; `clean` removes
 * unheld partials (stale) and removes caches only with --all. */

#include "image.h"
#include "macro.h"

#define PULL_PARTIAL_PREFIX ".#pull-partial."
#define PULL_CACHE_PREFIX ".#pull-cache."
#define PULL_URL_MAX 8192U /* bytes of a URL we store and compare */

typedef struct PullMeta {
        char *url;
        char *etag;
        char *last_modified;
} PullMeta;

typedef struct PullDownload {
        int dir_fd;           /* borrowed: the image root */
        char *url;
        char *partial_name;
        char *cache_name;
        ImageLock partial_lock;
        ImageLock cache_lock;
        int fd;               /* the partial file, O_RDWR, once begun */
        uint64_t size;        /* bytes in the partial file */
        PullMeta partial;     /* metadata of an existing partial of this URL (resumable when etag/last_modified) */
        int cache_fd;         /* an existing cache entry of this URL, or -EBADF */
        uint64_t cache_size;
        PullMeta cache;
} PullDownload;

/* Locks the download entries of url (-EBUSY when another pull of it runs) and looks at what is
 * there: a partial (fd, size, partial meta) and a cache entry (cache_fd, cache meta). */
int pull_download_open(int dir_fd, const char *url, PullDownload **ret);
PullDownload *pull_download_free(PullDownload *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(PullDownload *, pull_download_free);

/* Starts (truncate) or continues (keep the size bytes there) the partial file for a response
 * with these validators, which are stored for a later resume. */
int pull_download_begin(PullDownload *d, bool truncate, const char *etag, const char *last_modified);
int pull_download_append(PullDownload *d, const void *p, size_t n);
/* Drops the partial (its data is known bad or unusable). */
int pull_download_discard(PullDownload *d);
/* After a verified pull: keep turns the partial into the cache entry (replacing an older one);
 * without keep the partial and any cache entry are removed. */
int pull_download_complete(PullDownload *d, bool keep);
/* After a verified pull served from the cache (304): without keep the cache entry is removed. */
int pull_download_cache_used(PullDownload *d, bool keep);

/* The name suffix for url (32 hex digits of its SHA-256). */
int pull_url_hash(const char *url, char **ret);
