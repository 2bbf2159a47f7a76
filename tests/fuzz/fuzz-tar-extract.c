/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target for the tar writer (tar-archive.c's reader + tar-extract.c): any input is read as a
 * tar stream and extracted into a fresh directory next to a canary directory. Whatever happens,
 * afterwards the canary must be untouched and nothing may exist next to the two directories;
 * else abort(). Small limits keep each run fast. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "rm-rf.h"
#include "tar-archive.h"
#include "tar-extract.h"
#include "util.h"

/* abort() with the line, so a failing corpus file says which check it broke. */
#define FAIL_CHECK()                                                          \
        do {                                                                  \
                fprintf(stderr, "fuzz-tar-extract: check at line %d failed\n", __LINE__); \
                abort();                                                      \
        } while (0)

typedef struct Mem {
        const uint8_t *data;
        size_t size, pos;
} Mem;

static ssize_t mem_read(void *userdata, const void **ret_buf) {
        Mem *m = userdata;
        /* Odd-sized blocks exercise libarchive's buffering across reads. */
        size_t n = MIN(m->size - m->pos, (size_t) 1021);
        *ret_buf = m->data + m->pos;
        m->pos += n;
        return (ssize_t) n;
}

static void check_base(int base_fd) {
        /* Only "target" and "canary" may exist next to each other, and canary holds "file". */
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
        if (fstatat(base_fd, "canary", &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_nlink != 2)
                FAIL_CHECK(); /* nothing was created in it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char base[] = "/var/tmp/fuzz-tar.XXXXXX";
        if (!mkdtemp(base))
                FAIL_CHECK();
        int base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (base_fd < 0 || mkdirat(base_fd, "target", 0755) < 0 || mkdirat(base_fd, "canary", 0755) < 0)
                FAIL_CHECK();
        int cfd = openat(base_fd, "canary/file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (cfd < 0 || write(cfd, "canary", 6) != 6)
                FAIL_CHECK();
        close(cfd);
        int target = openat(base_fd, "target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (target < 0)
                FAIL_CHECK();

        ImportLimits limits = { .max_entries = 1000, .max_total_size = 64 * 1024 * 1024, .max_depth = 64, .max_path = 1024 };
        Mem m = { .data = data, .size = size };
        TarExtract *x = NULL;
        TarReader *r = NULL;
        if (tar_extract_new(target, &limits, &x) < 0)
                FAIL_CHECK();
        if (tar_reader_new(mem_read, &m, &r) >= 0 && tar_extract_run(x, r, NULL) >= 0) {
                /* What the reader saw after the end of the archive lies in what it was given. */
                if (tar_reader_trailing(r, NULL) > m.pos)
                        FAIL_CHECK();
                (void) tar_extract_finish(x);
        }
        tar_reader_free(r);
        tar_extract_free(x);
        close(target);

        check_base(base_fd);
        if (rm_rf_children(base_fd) < 0)
                FAIL_CHECK();
        close(base_fd);
        if (rmdir(base) < 0)
                FAIL_CHECK();
        return 0;
}
