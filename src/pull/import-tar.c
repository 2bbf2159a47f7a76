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
#include "import.h"
#include "tar-archive.h"
#include "tar-extract.h"
#include "util.h"

struct TarImport {
        ImageTemp *temp;
        ImportOptions opts;
        ImportSource *source;
        Diag extract_diag;
        const char *error_reason;
        char *error_message; /* an error_reason made for this failure (libraries), owned */
        char *error_entry;
        int source_error; /* the decoder's error, which libarchive only sees as a failed read */
        bool ran;
        ImportWarning warnings[TAR_WARNING_KINDS];
        size_t n_warnings;
};

/* Keeps the extractor's warnings past its end. */
static int take_warnings(TarImport *t, TarExtract *x) {
        for (unsigned i = 0; i < TAR_WARNING_KINDS; i++) {
                const char *first;
                uint64_t n = tar_extract_warning(x, 1U << i, &first);
                if (n == 0)
                        continue;
                ImportWarning *w = &t->warnings[t->n_warnings];
                *w = (ImportWarning) { .what = tar_warning_to_string(1U << i), .entry = strdup(first), .count = n };
                if (!w->entry)
                        return -ENOMEM;
                t->n_warnings++;
        }
        return 0;
}

size_t tar_import_warnings(TarImport *t, const ImportWarning **ret) {
        *ret = t->warnings;
        return t->n_warnings;
}

char *import_warning_format(const ImportWarning *w) {
        _cleanup_free_ char *p = printable(w->entry, 160);
        if (!p)
                return NULL;
        char more[64] = "";
        if (w->count > 1)
                snprintf(more, sizeof(more), " (and %" PRIu64 " more entr%s like it)", w->count - 1,
                         w->count == 2 ? "y" : "ies");
        return strjoin("entry \"", p, "\": ", w->what, more);
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
        *ret = TAKE_PTR(t);
        return 0;
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

/* Sets the reason of a library error: message, or detail when making it failed. */
static int set_library_error(TarImport *t, int r, char *message, const char *detail) {
        free(t->error_message);
        t->error_message = message;
        t->error_reason = message ?: detail;
        return r;
}

int tar_import_run(TarImport *t, int fd, char **ret_error_entry) {
        int r;
        if (t->ran)
                return -EALREADY;
        t->ran = true;

        /* libarchive before anything is read: without it no byte can be used. */
        const char *detail;
        r = dlopen_libarchive(&detail);
        if (r < 0)
                return set_library_error(t, r, strjoin(detail, " (needed to read tar archives)"), detail);

        r = import_source_start(fd, 0, &t->source);
        if (r < 0)
                return r;
        _cleanup_(tar_extract_freep) TarExtract *x = NULL;
        r = tar_extract_new(t->temp->fd, &t->opts.limits, &x);
        if (r < 0)
                return r;
        _cleanup_(tar_reader_freep) TarReader *rd = NULL;
        r = tar_reader_new(read_block, t, &rd);
        if (r >= 0) {
                r = tar_extract_run(x, rd, &t->extract_diag);
                /* Blocks of zeros end a tar archive: an ISO 9660 image or a zeroed disk reads as
                 * one that is empty. Nobody imports nothing on purpose. */
                if (r >= 0 && tar_extract_n_entries(x) == 0) {
                        r = -EBADMSG;
                        t->error_reason = "not a tar archive (no entries)";
                }
                if (r >= 0)
                        r = tar_extract_finish(x);
                if (r >= 0)
                        r = take_warnings(t, x);
        } else
                t->error_reason = r == -EBADMSG ? "not a tar archive" : NULL;
        if (r < 0) {
                if (!t->error_reason)
                        t->error_reason = t->extract_diag.cause;
                /* A decoding error shows up as a failed read in libarchive: report the decoder's. */
                if (t->source_error < 0 && r != -EINTR) {
                        r = t->source_error;
                        t->error_reason = r == -EBADMSG ? "corrupt compressed stream"
                                        : r == -EPIPE   ? "unexpected end of the compressed stream"
                                        : r == -ENOMEM  ? "decoder memory limit exceeded"
                                                        : NULL;
                        if (dlopen_error_is_library(r))
                                (void) set_library_error(t, r, import_source_library_error(t->source), NULL);
                }
                free(t->error_entry);
                t->error_entry = TAKE_PTR(t->extract_diag.object);
                if (ret_error_entry && t->error_entry) {
                        *ret_error_entry = strdup(t->error_entry);
                        if (!*ret_error_entry)
                                return -ENOMEM;
                }
                t->source = import_source_free(t->source);
                return r;
        }
        /* The archive ended; read the stream to its end, so the decoder checks its integrity to
         * the last byte and a writer feeding us through a pipe can finish. */
        for (;;) {
                const void *buf;
                ssize_t n = import_source_read(t->source, &buf);
                if (n < 0) {
                        t->error_reason = n == -EBADMSG ? "corrupt compressed stream after the archive"
                                        : n == -EPIPE   ? "unexpected end of the compressed stream"
                                                        : NULL;
                        t->source = import_source_free(t->source);
                        return (int) n;
                }
                if (n == 0)
                        break;
        }
        t->source = import_source_free(t->source);
        return 0;
}

const char *tar_import_error_reason(TarImport *t) {
        return t ? t->error_reason : NULL;
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
        free(t->error_message);
        free(t->error_entry);
        diag_done(&t->extract_diag);
        for (size_t i = 0; i < t->n_warnings; i++)
                free(t->warnings[i].entry);
        free(t);
        return NULL;
}
