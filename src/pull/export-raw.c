/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* export-raw: a raw image copied sparsely (SEEK_DATA/SEEK_HOLE; holes kept when the output is a
 * regular file, zeros written otherwise), or compressed through tar-archive.c's raw writer.
 * Untrusted input: none interpreted (the image bytes are only copied). */

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "pull.h"
#include "tar-archive.h"
#include "util.h"

#define RAW_BUF_SIZE (1024 * 1024)

int export_raw(int raw_fd, int out_fd, const ExportOptions *o) {
        struct stat st, ost;
        if (fstat(raw_fd, &st) < 0 || fstat(out_fd, &ost) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return -EBADFD;
        uint64_t size = (uint64_t) st.st_size;
        CompressType c = o ? o->compress : COMPRESS_NONE;
        bool seekable = c == COMPRESS_NONE && S_ISREG(ost.st_mode) && lseek(out_fd, 0, SEEK_CUR) >= 0;

        _cleanup_(tar_writer_freep) TarWriter *w = NULL;
        int r;
        if (c != COMPRESS_NONE) {
                r = raw_writer_new(out_fd, c, &w);
                if (r < 0)
                        return r;
                TarEntry te = { .path = (char *) "image.raw", .mode = S_IFREG | 0644, .size = size,
                                .mtime = st.st_mtim };
                r = tar_writer_header(w, &te, NULL, 0);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ uint8_t *buf = malloc(RAW_BUF_SIZE);
        _cleanup_free_ uint8_t *zeros = calloc(1, RAW_BUF_SIZE);
        if (!buf || !zeros)
                return -ENOMEM;

        uint64_t pos = 0;
        while (pos < size) {
                if (interrupted())
                        return -EINTR;
                off_t d = lseek(raw_fd, (off_t) pos, SEEK_DATA);
                uint64_t data = d < 0 ? (errno == ENXIO ? size : pos) : (uint64_t) d;
                if (data > pos) {
                        /* A hole: skip it (seekable) or write zeros. */
                        uint64_t k = data - pos;
                        if (seekable) {
                                if (lseek(out_fd, (off_t) k, SEEK_CUR) < 0)
                                        return negative_errno();
                        } else
                                while (k > 0) {
                                        size_t m = (size_t) MIN(k, (uint64_t) RAW_BUF_SIZE);
                                        r = w ? tar_writer_data(w, zeros, m) : loop_write(out_fd, zeros, m);
                                        if (r < 0)
                                                return r;
                                        k -= m;
                                }
                        pos = data;
                        continue;
                }
                off_t h = lseek(raw_fd, (off_t) pos, SEEK_HOLE);
                uint64_t hole = h < 0 ? size : MIN((uint64_t) h, size);
                while (pos < hole) {
                        ssize_t n = pread(raw_fd, buf, (size_t) MIN(hole - pos, (uint64_t) RAW_BUF_SIZE), (off_t) pos);
                        if (n < 0) {
                                if (errno == EINTR && !interrupted())
                                        continue;
                                return negative_errno();
                        }
                        if (n == 0)
                                return -ENODATA;
                        r = w ? tar_writer_data(w, buf, (size_t) n) : loop_write(out_fd, buf, (size_t) n);
                        if (r < 0)
                                return r;
                        pos += (uint64_t) n;
                        if (o && o->progress)
                                o->progress(pos, o->userdata);
                }
        }
        if (w)
                return tar_writer_close(w);
        if (seekable && ftruncate(out_fd, lseek(out_fd, 0, SEEK_CUR)) < 0)
                return negative_errno();
        return 0;
}
