/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the fuzz targets that extract a tar stream (fuzz-tar-extract.c, fuzz-oci-layer.c;
 * not a target itself: meson builds only fuzz-*.c): the input as a reader's stream, a fresh
 * directory holding "target" (extracted into) and "canary" (which must stay untouched), and the
 * extraction. */

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "rm-rf.h"
#include "tar-archive.h"
#include "tar-extract.h"
#include "util.h"

/* abort() with the file and line, so a failing corpus file says which check it broke. */
#define FAIL_CHECK()                                                                                                  \
        do {                                                                                                          \
                fprintf(stderr, "%s: check at line %d failed\n", __FILE__, __LINE__);                                 \
                abort();                                                                                              \
        } while (0)

typedef struct Mem {
        const uint8_t *data;
        size_t size, pos;
} Mem;

static inline ssize_t mem_read(void *userdata, const void **ret_buf) {
        Mem *m = userdata;
        /* Odd-sized blocks exercise libarchive's buffering across reads. */
        size_t n = MIN(m->size - m->pos, (size_t) 1021);
        *ret_buf = m->data + m->pos;
        m->pos += n;
        return (ssize_t) n;
}

static inline void fuzz_write_file(int dir_fd, const char *name, const char *text) {
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                FAIL_CHECK();
        close(fd);
}

/* Makes the directory base (a mkdtemp() template) with "target" and "canary/file"; returns its fd. */
static inline int fuzz_base_make(char *base) {
        if (!mkdtemp(base))
                FAIL_CHECK();
        int base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (base_fd < 0 || mkdirat(base_fd, "target", 0755) < 0 || mkdirat(base_fd, "canary", 0755) < 0)
                FAIL_CHECK();
        fuzz_write_file(base_fd, "canary/file", "canary");
        return base_fd;
}

/* Only "target" and "canary" exist next to each other, canary/file is as made, and canary holds
 * canary_subdirs directories (nothing was created in it). */
static inline void fuzz_base_check(int base_fd, unsigned canary_subdirs) {
        int k = openat(base_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
        DIR *d = fdopendir(k);
        if (!d)
                FAIL_CHECK();
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && !streq(de->d_name, "target") &&
                        !streq(de->d_name, "canary"))
                        FAIL_CHECK();
        closedir(d);
        char *c = NULL;
        if (read_file_at(base_fd, "canary/file", RESOLVE_BENEATH, 64, &c, NULL) < 0 || !streq(c, "canary"))
                FAIL_CHECK();
        free(c);
        struct stat st;
        if (fstatat(base_fd, "canary", &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_nlink != 2 + canary_subdirs)
                FAIL_CHECK();
}

static inline void fuzz_base_remove(const char *base, int base_fd) {
        if (rm_rf_children(base_fd) < 0)
                FAIL_CHECK();
        close(base_fd);
        if (rmdir(base) < 0)
                FAIL_CHECK();
}

/* Reads data as a tar stream and extracts it into base's "target" (as an OCI layer when asked),
 * with small limits that keep each run fast. Whatever the outcome, what the reader saw after the
 * end of an archive it read lies in what it was given. */
static inline void fuzz_extract(int base_fd, const uint8_t *data, size_t size, bool oci_layer) {
        int target = openat(base_fd, "target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (target < 0)
                FAIL_CHECK();
        ImportLimits limits = {
                .max_entries = 1000, .max_total_size = 64 * 1024 * 1024, .max_depth = 64, .max_path = 1024};
        Mem m = {.data = data, .size = size};
        TarExtract *x = NULL;
        TarReader *r = NULL;
        if (tar_extract_new(target, &limits, &x) < 0)
                FAIL_CHECK();
        if (oci_layer)
                tar_extract_set_oci_layer(x);
        if (tar_reader_new(mem_read, &m, &r) >= 0 && tar_extract_run(x, r, NULL) >= 0) {
                if (tar_reader_trailing(r, NULL) > m.pos)
                        FAIL_CHECK();
                (void) tar_extract_finish(x);
        }
        tar_reader_free(r);
        tar_extract_free(x);
        close(target);
}
