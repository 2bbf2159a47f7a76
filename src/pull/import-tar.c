/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* import-tar: a decoding source thread feeding the tar reader and the safe tree writer, into a
 * hidden ImageTemp published only on request.
 *
 * Untrusted input: the byte stream read from the fd (see import-source.c, tar-archive.c and
 * tar-extract.c for what is checked where). */

#include <inttypes.h>
#include <string.h>

#include "dlopen-util.h"
#include "import-source.h"
#include "import-space.h"
#include "pull.h"
#include "tar-archive.h"
#include "tar-extract.h"
#include "util.h"

struct TarImport {
        ImageTemp *temp;
        ImportOptions opts;
        ImportSource *source;
        int source_error; /* the decoder's error, which libarchive only sees as a failed read */
        char *moved_up;
        uint64_t free_at_start; /* bytes free on the image root's file system when it began */
        uint64_t written;       /* file data written, once it ran */
        bool ran;
};

/* What the extractor repaired or left out, one warning per kind: "entry "PATH": WHAT" (and ", N
 * more entries like it"), the path made printable. */
static int add_warnings(TarExtract *x, Diag *diag) {
        for (unsigned i = 0; i < TAR_WARNING_KINDS; i++) {
                const char *first;
                uint64_t n = tar_extract_warning(x, 1U << i, &first);
                if (n == 0)
                        continue;
                _cleanup_free_ char *p = printable(first, 160);
                if (!p)
                        return -ENOMEM;
                char more[64] = "";
                if (n > 1)
                        snprintf(more, sizeof(more), " (and %" PRIu64 " more entr%s like it)", n - 1,
                                 n == 2 ? "y" : "ies");
                if (diag_warn(diag, "entry \"%s\": %s%s", p, tar_warning_to_string(1U << i), more) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int tar_import_new(ImageRoot *root, const char *name, const ImportOptions *opts, TarImport **ret) {
        _cleanup_(tar_import_freep) TarImport *t = calloc(1, sizeof(TarImport));
        if (!t)
                return -ENOMEM;
        if (opts)
                t->opts = *opts;
        int r = image_temp_new(root, "import-tar", name, IMAGE_DIRECTORY, t->opts.force ? IMAGE_TEMP_FORCE : 0, &t->temp);
        if (r < 0)
                return r;
        t->free_at_start = import_space_free(root->fd);
        *ret = TAKE_PTR(t);
        return 0;
}

static bool memchr_nonzero(const void *p, size_t n) {
        const uint8_t *b = p;
        for (size_t i = 0; i < n; i++)
                if (b[i] != 0)
                        return true;
        return false;
}

static ssize_t read_block(void *userdata, const void **ret_buf) {
        TarImport *t = userdata;
        ssize_t n = import_source_read(t->source, ret_buf);
        if (n < 0)
                t->source_error = (int) n;
        if (n > 0 && t->opts.progress)
                t->opts.progress(import_source_bytes_in(t->source), t->opts.userdata);
        return n;
}

/* A decoding error shows up as a failed read in libarchive: the decoder's error r and its words
 * replace the extractor's, the entry it broke off in stays. */
static int source_failure(TarImport *t, int r, Diag *diag) {
        _cleanup_free_ char *entry = diag ? TAKE_PTR(diag->object) : NULL;
        diag_clear_failure(diag);
        const char *cause = r == -EBADMSG ? "corrupt compressed stream"
                          : r == -EPIPE   ? "unexpected end of the compressed stream"
                          : r == -ENOMEM  ? "decoder memory limit exceeded"
                                          : NULL;
        if (dlopen_error_is_library(r))
                (void) import_source_fail(t->source, r, diag);
        else
                (void) diag_fail(diag, r, NULL, cause ? "%s" : NULL, cause);
        (void) diag_fail(diag, r, entry, NULL);
        return r;
}

/* The file system filled: which, and what had been written (a stream's unpacked size is not
 * known before it is unpacked). */
static int space_failure(TarImport *t, int r, Diag *diag) {
        char w[SPACE_SIZE_MAX], f[SPACE_SIZE_MAX];
        if (t->free_at_start == UINT64_MAX)
                return import_space_fail(diag, r, t->temp->root->fd, t->temp->root->path,
                                         "wrote %s of the tree before the file system filled", space_size(w, sizeof(w), t->written));
        return import_space_fail(diag, r, t->temp->root->fd, t->temp->root->path,
                                 "wrote %s of the tree before the file system filled, %s was free", space_size(w, sizeof(w), t->written),
                                 space_size(f, sizeof(f), t->free_at_start));
}

uint64_t tar_import_written(TarImport *t) {
        return t->written;
}

int tar_import_run(TarImport *t, int fd, Diag *diag) {
        int r;
        if (t->ran)
                return -EALREADY;
        t->ran = true;

        /* libarchive before anything is read: without it no byte can be used. */
        const char *detail;
        r = dlopen_libarchive(&detail);
        if (r < 0)
                return diag_fail(diag, r, NULL, "%s (needed to read tar archives)", detail);

        r = import_source_start(fd, 0, &t->source);
        if (r < 0)
                return r;
        _cleanup_(tar_extract_freep) TarExtract *x = NULL;
        r = tar_extract_new(t->temp->fd, &t->opts.limits, &x);
        if (r < 0)
                return r;
        tar_extract_set_keep_nesting(x, t->opts.keep_nesting);
        _cleanup_(tar_reader_freep) TarReader *rd = NULL;
        r = tar_reader_new(read_block, t, &rd);
        if (r >= 0) {
                r = tar_extract_run(x, rd, diag);
                /* Blocks of zeros end a tar archive: an ISO 9660 image or a zeroed disk reads as
                 * one that is empty. Nobody imports nothing on purpose. */
                if (r >= 0 && tar_extract_n_entries(x) == 0)
                        r = diag_fail(diag, -EBADMSG, NULL, "not a tar archive (no entries)");
                if (r >= 0)
                        r = tar_extract_finish(x);
        } else if (r == -EBADMSG)
                (void) diag_fail(diag, r, NULL, "not a tar archive");
        t->written = tar_extract_written(x);
        if (r < 0) {
                if (t->source_error < 0 && r != -EINTR)
                        r = source_failure(t, t->source_error, diag);
                else if (import_error_is_space(r))
                        r = space_failure(t, r, diag);
                t->source = import_source_free(t->source);
                return r;
        }
        /* The archive ended; read the stream to its end, so the decoder checks its integrity to
         * the last byte and a writer feeding us through a pipe can finish. What follows the
         * end-of-archive marker is not part of the archive: zeros (padding to a record size) are
         * normal, anything else is ignored with one warning, as GNU tar and bsdtar ignore it
         * (an image builder's appended signature or a download with junk at the end, systemd
         * #16605). */
        bool data;
        uint64_t trailing = tar_reader_trailing(rd, &data);
        for (;;) {
                const void *buf;
                ssize_t n = import_source_read(t->source, &buf);
                if (n > 0) {
                        trailing += (uint64_t) n;
                        if (!data && memchr_nonzero(buf, (size_t) n))
                                data = true;
                }
                if (n < 0) {
                        const char *cause = n == -EBADMSG ? "corrupt compressed stream after the archive"
                                          : n == -EPIPE   ? "unexpected end of the compressed stream"
                                                          : NULL;
                        (void) diag_fail(diag, (int) n, NULL, cause ? "%s" : NULL, cause);
                        t->source = import_source_free(t->source);
                        return (int) n;
                }
                if (n == 0)
                        break;
        }
        bool junk;
        uint64_t ignored = import_source_ignored(t->source, &junk);
        CompressType ct = import_source_compression(t->source);
        t->source = import_source_free(t->source);
        if (tar_extract_moved_up(x) && !(t->moved_up = strdup(tar_extract_moved_up(x))))
                return -ENOMEM;
        if (data) {
                char b[FORMAT_BYTES_MAX];
                if (diag_warn(diag, "%s of trailing data after the end of the archive ignored%s",
                              format_bytes(b, sizeof(b), trailing),
                              tar_reader_trailing_archive(rd)
                                      ? " (it starts with another tar archive, as cat a.tar b.tar makes: only the first is read, as tar reads it without --ignore-zeros)"
                                      : "") < 0)
                        return -ENOMEM;
        }
        if (junk && import_source_warn_ignored(ignored, ct, diag) < 0)
                return -ENOMEM;
        return add_warnings(x, diag);
}

const char *tar_import_moved_up(TarImport *t) {
        return t->moved_up;
}

int tar_import_publish(TarImport *t) {
        if (!t->ran)
                return -EINVAL;
        return image_temp_publish(t->temp, t->opts.read_only);
}

TarImport *tar_import_free(TarImport *t) {
        if (!t)
                return NULL;
        import_source_free(t->source);
        image_temp_free(t->temp);
        free(t->moved_up);
        free(t);
        return NULL;
}
