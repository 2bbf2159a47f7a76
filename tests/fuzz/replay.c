/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs a fuzz target once over every file of the corpus directories given as arguments, so the
 * corpus (crashers fixed, interesting inputs) is replayed in every normal test run. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int run_file(int dir_fd, const char *name) {
        int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return 0;
        }
        unsigned char *buf = malloc((size_t) st.st_size + 1);
        size_t n = 0;
        while (buf && n < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        close(fd);
        if (!buf)
                return -1;
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        return 1;
}

int main(int argc, char *argv[]) {
        unsigned total = 0;
        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                if (!d) {
                        fprintf(stderr, "replay: %s: cannot open corpus directory\n", argv[i]);
                        return 1;
                }
                struct dirent *de;
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.' && run_file(dirfd(d), de->d_name) > 0)
                                total++;
                closedir(d);
        }
        if (total == 0) {
                fprintf(stderr, "replay: empty corpus\n");
                return 1;
        }
        printf("replayed %u inputs\n", total);
        return 0;
}
