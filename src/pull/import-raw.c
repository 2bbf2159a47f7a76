/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* import-raw: a decoded stream written sparsely (holes for runs of zero blocks) into a hidden
 * NAME.raw (NOCOW on btrfs, set by image_temp_new() before the first write), with sidecars.
 *
 * Untrusted input: the stream and the sidecar contents; only copied, never interpreted, with
 * size limits on sidecars. */

#include <fcntl.h>
#include <string.h>

#include "fd-util.h"
#include "import-source.h"
#include "import-space.h"
#include "pull.h"
#include "util.h"

#define SPARSE_BLOCK 4096

struct RawImport {
        ImageTemp *temp;
        ImportOptions opts;
        uint64_t free_at_start; /* bytes free on the image root's file system when it began */
        uint64_t written;       /* data written (holes not counted) */
        bool ran;
};

int raw_import_new(ImageRoot *root, const char *name, const ImportOptions *opts, RawImport **ret) {
        _cleanup_(raw_import_freep) RawImport *t = calloc(1, sizeof(RawImport));
        if (!t)
                return -ENOMEM;
        if (opts)
                t->opts = *opts;
        int r = image_temp_new(root, "import-raw", name, IMAGE_RAW, t->opts.force ? IMAGE_TEMP_FORCE : 0, &t->temp);
        if (r < 0)
                return r;
        t->free_at_start = import_space_free(root->fd);
        *ret = TAKE_PTR(t);
        return 0;
}

static bool block_is_zero(const uint8_t *p, size_t n) {
        /* Word-wise compare: the zero test runs over every byte of the image. */
        const uint64_t *w = (const uint64_t *) p;
        size_t k = n / 8;
        for (size_t i = 0; i < k; i++)
                if (w[i])
                        return false;
        for (size_t i = k * 8; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

/* Writes buf at the current position, seeking over zero blocks. */
static int write_sparse(int fd, const uint8_t *buf, size_t size, uint64_t *pos, uint64_t *written) {
        size_t i = 0;
        while (i < size) {
                size_t n = MIN((size_t) SPARSE_BLOCK, size - i);
                if (block_is_zero(buf + i, n)) {
                        i += n;
                        *pos += n;
                        continue;
                }
                /* Gather a run of non-zero blocks into one write. */
                size_t j = i + n;
                while (j < size) {
                        size_t m = MIN((size_t) SPARSE_BLOCK, size - j);
                        if (block_is_zero(buf + j, m))
                                break;
                        j += m;
                }
                if (lseek(fd, (off_t) *pos, SEEK_SET) < 0)
                        return negative_errno();
                int r = loop_write(fd, buf + i, j - i);
                if (r < 0)
                        return r;
                *written += j - i;
                *pos += j - i;
                i = j;
        }
        return 0;
}

/* The file system filled: which, how large the image is when that is known (an uncompressed
 * regular file: its size, of which the zero blocks need no room), what was written and free. */
static int space_failure(RawImport *t, int r, int fd, ImportSource *s, Diag *diag) {
        char w[SPACE_SIZE_MAX], f[SPACE_SIZE_MAX], z[SPACE_SIZE_MAX];
        struct stat st;
        const ImageRoot *root = t->temp->root;
        bool sized = import_source_compression(s) == COMPRESS_NONE && fstat(fd, &st) >= 0 && S_ISREG(st.st_mode);
        space_size(w, sizeof(w), t->written);
        space_size(f, sizeof(f), t->free_at_start);
        if (sized && t->free_at_start != UINT64_MAX)
                return import_space_fail(diag, r, root->fd, root->path,
                                         "the image is %s (its zero blocks need no room), %s was free; wrote %s before the file system filled",
                                         space_size(z, sizeof(z), (uint64_t) st.st_size), f, w);
        if (t->free_at_start != UINT64_MAX)
                return import_space_fail(diag, r, root->fd, root->path,
                                         "wrote %s of the image before the file system filled, %s was free", w, f);
        return import_space_fail(diag, r, root->fd, root->path, "wrote %s of the image before the file system filled", w);
}

uint64_t raw_import_written(RawImport *t) {
        return t->written;
}

int raw_import_run(RawImport *t, int fd, Diag *diag) {
        if (t->ran)
                return -EALREADY;
        t->ran = true;
        _cleanup_(import_source_freep) ImportSource *s = NULL;
        int r = import_source_start(fd, 0, &s);
        if (r < 0)
                return r;
        uint64_t pos = 0;
        for (;;) {
                const void *buf;
                ssize_t n = import_source_read(s, &buf);
                if (n < 0)
                        return import_source_fail(s, (int) n, diag);
                if (n == 0)
                        break;
                if (interrupted())
                        return -EINTR;
                r = write_sparse(t->temp->fd, buf, (size_t) n, &pos, &t->written);
                if (r < 0)
                        return import_error_is_space(r) ? space_failure(t, r, fd, s, diag) : r;
                if (t->opts.progress)
                        t->opts.progress(import_source_bytes_in(s), t->opts.userdata);
        }
        if (ftruncate(t->temp->fd, (off_t) pos) < 0)
                return negative_errno();
        bool junk;
        uint64_t ignored = import_source_ignored(s, &junk);
        if (junk && import_source_warn_ignored(ignored, import_source_compression(s), diag) < 0)
                return -ENOMEM;
        return 0;
}

int raw_import_add_sidecar(RawImport *t, const char *suffix, int fd) {
        bool ok = false;
        for (size_t i = 0; image_sidecar_suffixes[i]; i++)
                if (streq(image_sidecar_suffixes[i], suffix))
                        ok = true;
        if (!ok)
                return -EINVAL;
        uint64_t limit = streq(suffix, ".verity") ? RAW_VERITY_SIDECAR_MAX : RAW_SIDECAR_MAX;

        _cleanup_close_ int out = -EBADF;
        int r = image_temp_sidecar(t->temp, suffix, &out);
        if (r < 0)
                return r;
        _cleanup_free_ uint8_t *buf = malloc(128 * 1024);
        if (!buf)
                return -ENOMEM;
        uint64_t total = 0;
        for (;;) {
                ssize_t n = read(fd, buf, 128 * 1024);
                if (n < 0) {
                        if (errno == EINTR && !interrupted())
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                total += (uint64_t) n;
                if (total > limit)
                        return -EFBIG;
                r = loop_write(out, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
        return 0;
}

int raw_import_publish(RawImport *t) {
        if (!t->ran)
                return -EINVAL;
        return image_temp_publish(t->temp, t->opts.read_only);
}

RawImport *raw_import_free(RawImport *t) {
        if (!t)
                return NULL;
        image_temp_free(t->temp);
        free(t);
        return NULL;
}
