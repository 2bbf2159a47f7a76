/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hidden download files (see pull-download.h). Untrusted input: the xattr values, which came from
 * a server's headers (bounded by PULL_HEADER_VALUE_MAX / PULL_URL_MAX when read back). */
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fd-util.h"
#include "hash-util.h"
#include "pull-curl.h"
#include "pull-download.h"
#include "util.h"

#define XATTR_URL "user.cowpen.url"
#define XATTR_ETAG "user.cowpen.etag"
#define XATTR_LAST_MODIFIED "user.cowpen.last_modified"

static void pull_meta_done(PullMeta *m) {
        free(m->url);
        free(m->etag);
        free(m->last_modified);
        *m = (PullMeta) {};
}

int pull_url_hash(const char *url, char **ret) {
        uint8_t md[HASH_DIGEST_SIZE_MAX];
        if (hash_digest(HASH_SHA256, url, strlen(url), md) < 0)
                return -EIO;
        char *s = hexmem(md, 16);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int read_xattr(int fd, const char *name, size_t max, char **ret) {
        _cleanup_free_ char *buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        ssize_t n = fgetxattr(fd, name, buf, max);
        if (n < 0) {
                if (errno == ENODATA || errno == ERANGE) {
                        *ret = NULL; /* missing, or too long to be ours */
                        return 0;
                }
                return negative_errno();
        }
        if (memchr(buf, 0, (size_t) n)) {
                *ret = NULL;
                return 0;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int read_meta(int fd, PullMeta *ret) {
        PullMeta m = {};
        int r = read_xattr(fd, XATTR_URL, PULL_URL_MAX, &m.url);
        if (r >= 0)
                r = read_xattr(fd, XATTR_ETAG, PULL_HEADER_VALUE_MAX, &m.etag);
        if (r >= 0)
                r = read_xattr(fd, XATTR_LAST_MODIFIED, PULL_HEADER_VALUE_MAX, &m.last_modified);
        if (r < 0) {
                pull_meta_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

static int write_meta(int fd, const char *url, const char *etag, const char *lm) {
        const char *v[][2] = { { XATTR_URL, url }, { XATTR_ETAG, etag }, { XATTR_LAST_MODIFIED, lm } };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                if (v[i][1]) {
                        if (fsetxattr(fd, v[i][0], v[i][1], strlen(v[i][1]), 0) < 0)
                                return negative_errno();
                } else if (fremovexattr(fd, v[i][0]) < 0 && errno != ENODATA)
                        return negative_errno();
        }
        return 0;
}

/* Opens an existing entry whose metadata names url; -ENOENT when missing or someone else's. */
static int open_entry(int dir_fd, const char *name, int flags, PullMeta *meta, const char *url, uint64_t *ret_size) {
        _cleanup_close_ int fd = openat(dir_fd, name, flags | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : negative_errno();
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -ENOENT;
        PullMeta m = {};
        int r = read_meta(fd, &m);
        if (r < 0 && r != -EOPNOTSUPP)
                return r;
        if (!m.url || !streq(m.url, url)) {
                pull_meta_done(&m);
                return -ENOENT;
        }
        *meta = m;
        *ret_size = (uint64_t) st.st_size;
        return TAKE_FD(fd);
}

int pull_download_open(int dir_fd, const char *url, PullDownload **ret) {
        if (strlen(url) > PULL_URL_MAX)
                return -ENAMETOOLONG;
        _cleanup_(pull_download_freep) PullDownload *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->dir_fd = dir_fd;
        d->fd = d->cache_fd = -EBADF;
        d->partial_lock = d->cache_lock = IMAGE_LOCK_NULL;
        _cleanup_free_ char *h = NULL;
        int r = pull_url_hash(url, &h);
        if (r < 0)
                return r;
        d->url = strdup(url);
        d->partial_name = strjoin(PULL_PARTIAL_PREFIX, h);
        d->cache_name = strjoin(PULL_CACHE_PREFIX, h);
        if (!d->url || !d->partial_name || !d->cache_name)
                return -ENOMEM;
        if ((r = image_hidden_lock(dir_fd, d->partial_name, &d->partial_lock)) < 0)
                return r;
        if ((r = image_hidden_lock(dir_fd, d->cache_name, &d->cache_lock)) < 0)
                return r;

        r = open_entry(dir_fd, d->partial_name, O_RDWR, &d->partial, url, &d->size);
        if (r >= 0)
                d->fd = r;
        else if (r != -ENOENT)
                return r;
        r = open_entry(dir_fd, d->cache_name, O_RDONLY, &d->cache, url, &d->cache_size);
        if (r >= 0)
                d->cache_fd = r;
        else if (r != -ENOENT)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

PullDownload *pull_download_free(PullDownload *d) {
        if (!d)
                return NULL;
        safe_close(d->fd);
        safe_close(d->cache_fd);
        /* Lock files go when free; the entries themselves stay (resume, cache) or were removed. */
        image_lock_release(&d->partial_lock);
        image_lock_release(&d->cache_lock);
        pull_meta_done(&d->partial);
        pull_meta_done(&d->cache);
        free(d->url);
        free(d->partial_name);
        free(d->cache_name);
        free(d);
        return NULL;
}

int pull_download_begin(PullDownload *d, bool truncate, const char *etag, const char *last_modified) {
        if (d->fd < 0) {
                d->fd = openat(d->dir_fd, d->partial_name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (d->fd < 0)
                        return negative_errno();
                /* On btrfs: no COW and no data checksums for a file that is hashed as a whole
                 * anyway (saves CPU next to the decoder). Only takes effect while it is empty. */
                int flags;
                if (ioctl(d->fd, FS_IOC_GETFLAGS, &flags) >= 0) {
                        flags |= FS_NOCOW_FL;
                        (void) ioctl(d->fd, FS_IOC_SETFLAGS, &flags);
                }
                truncate = true;
        }
        if (truncate) {
                if (ftruncate(d->fd, 0) < 0)
                        return negative_errno();
                d->size = 0;
        }
        if (lseek(d->fd, (off_t) d->size, SEEK_SET) < 0)
                return negative_errno();
        /* Without validators a partial cannot be resumed safely: store none, and a later pull
         * starts over. A filesystem without user xattrs just means no resume. */
        int r = write_meta(d->fd, d->url, etag, last_modified);
        if (r < 0 && r != -EOPNOTSUPP)
                return r;
        /* A retry within this pull resumes with these validators. */
        PullMeta m = { .url = strdup(d->url), .etag = etag ? strdup(etag) : NULL,
                       .last_modified = last_modified ? strdup(last_modified) : NULL };
        if (!m.url || (etag && !m.etag) || (last_modified && !m.last_modified)) {
                pull_meta_done(&m);
                return -ENOMEM;
        }
        pull_meta_done(&d->partial);
        d->partial = m;
        return 0;
}

int pull_download_append(PullDownload *d, const void *p, size_t n) {
        int r = loop_write(d->fd, p, n);
        if (r < 0)
                return r;
        d->size += n;
        return 0;
}

int pull_download_discard(PullDownload *d) {
        d->fd = safe_close(d->fd);
        d->size = 0;
        if (unlinkat(d->dir_fd, d->partial_name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

static int drop_cache(PullDownload *d) {
        d->cache_fd = safe_close(d->cache_fd);
        if (unlinkat(d->dir_fd, d->cache_name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int pull_download_complete(PullDownload *d, bool keep) {
        if (!keep) {
                int r = pull_download_discard(d);
                int k = drop_cache(d);
                return r < 0 ? r : k;
        }
        d->cache_fd = safe_close(d->cache_fd);
        (void) fchmod(d->fd, 0400);
        if (renameat(d->dir_fd, d->partial_name, d->dir_fd, d->cache_name) < 0)
                return negative_errno();
        d->cache_fd = TAKE_FD(d->fd);
        d->size = 0;
        return 0;
}

int pull_download_cache_used(PullDownload *d, bool keep) {
        return keep ? 0 : drop_cache(d);
}
