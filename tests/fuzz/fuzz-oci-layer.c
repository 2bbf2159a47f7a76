/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target for applying an OCI layer (tar-extract.c in OCI layer mode: whiteouts, opaque
 * directories) onto a lower tree that holds symlinks pointing out of it (to the canary next to
 * it, absolutely and relatively). Whatever the input, the canary must stay untouched and nothing
 * may appear next to the two directories; else abort(). */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "rm-rf.h"
#include "tar-archive.h"
#include "tar-extract.h"
#include "util.h"

#define FAIL_CHECK()                                                                                                  \
        do {                                                                                                          \
                fprintf(stderr, "fuzz-oci-layer: check at line %d failed\n", __LINE__);                               \
                abort();                                                                                              \
        } while (0)

typedef struct Mem {
        const uint8_t *data;
        size_t size, pos;
} Mem;

static ssize_t mem_read(void *userdata, const void **ret_buf) {
        Mem *m = userdata;
        size_t n = MIN(m->size - m->pos, (size_t) 1021);
        *ret_buf = m->data + m->pos;
        m->pos += n;
        return (ssize_t) n;
}

static void check_base(int base_fd) {
        int k = openat(base_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
        if (read_file_at(base_fd, "canary/sub/deep", RESOLVE_BENEATH, 64, &c, NULL) < 0 || !streq(c, "deep"))
                FAIL_CHECK();
        free(c);
        struct stat st;
        if (fstatat(base_fd, "canary", &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_nlink != 3)
                FAIL_CHECK();
}

static void write_file(int dir_fd, const char *name, const char *text) {
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                FAIL_CHECK();
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char base[] = "/var/tmp/fuzz-oci-layer.XXXXXX";
        if (!mkdtemp(base))
                FAIL_CHECK();
        int base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (base_fd < 0 || mkdirat(base_fd, "target", 0755) < 0 || mkdirat(base_fd, "canary", 0755) < 0 ||
                mkdirat(base_fd, "canary/sub", 0755) < 0)
                FAIL_CHECK();
        write_file(base_fd, "canary/file", "canary");
        write_file(base_fd, "canary/sub/deep", "deep");
        /* The lower layers: files, a directory, and symlinks out of the tree. */
        _cleanup_free_ char *abs = strjoin(base, "/canary");
        if (!abs || mkdirat(base_fd, "target/etc", 0755) < 0 || mkdirat(base_fd, "target/d", 0755) < 0 ||
                symlinkat("../canary", base_fd, "target/up") < 0 || symlinkat(abs, base_fd, "target/abs") < 0 ||
                symlinkat("../../canary/sub", base_fd, "target/d/up2") < 0)
                FAIL_CHECK();
        write_file(base_fd, "target/etc/hostname", "lower");
        write_file(base_fd, "target/d/f", "lower");
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
        tar_extract_set_oci_layer(x);
        if (tar_reader_new(mem_read, &m, &r) >= 0 && tar_extract_run(x, r, NULL) >= 0)
                (void) tar_extract_finish(x);
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
