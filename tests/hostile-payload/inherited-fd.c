/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* inherited-fd: the driver starts the runner with a host directory open on fd 9 without
 * close-on-exec (bash "9<DIR"). An fd that reaches the payload is a way out: openat(fd, "..")
 * climbs the host's tree from outside the container's root.
 *
 * Keys: fstat= EBADF when none of fds 3…1023 is open, else the open ones (N:type:target, with
 * outside-root for a directory outside ours); openat9= the result of openat(9, "..") (ok with
 * outside-root: the escape). Harmless: fstat and an O_PATH open only. */
#include "hostile.h"

#include <sys/syscall.h>

static const char *type_of(mode_t m) {
        return S_ISDIR(m)    ? "dir"
               : S_ISREG(m)  ? "file"
               : S_ISCHR(m)  ? "chr"
               : S_ISBLK(m)  ? "blk"
               : S_ISFIFO(m) ? "pipe"
               : S_ISSOCK(m) ? "sock"
               : S_ISLNK(m)  ? "lnk"
                             : "other";
}

int main(void) {
        h_init("inherited-fd");
        /* First, before this program opens anything itself. */
        int open_fds[1024], n = 0;
        struct stat sts[1024];
        for (int fd = 3; fd < 1024; fd++)
                if (fstat(fd, &sts[n]) == 0)
                        open_fds[n++] = fd;

        char list[2048] = "";
        for (int i = 0; i < n; i++) {
                char p[64], target[256] = "?";
                snprintf(p, sizeof(p), "/proc/self/fd/%d", open_fds[i]);
                ssize_t k = readlink(p, target, sizeof(target) - 1);
                if (k >= 0)
                        target[k] = 0;
                bool out = S_ISDIR(sts[i].st_mode) && h_outside_root(p) == 1;
                size_t l = strlen(list);
                snprintf(list + l, sizeof(list) - l, "%s%d:%s:%s%s", l ? "," : "", open_fds[i],
                        type_of(sts[i].st_mode), target, out ? ":outside-root" : "");
        }
        if (n > 0) {
                h_kv("fstat", "open(%s)", list);
                h_allow("fstat");
        } else
                h_kv("fstat", "EBADF");

        int up = openat(9, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (up < 0)
                h_kv("openat9", "%s", h_errname(errno));
        else {
                char p[64];
                snprintf(p, sizeof(p), "/proc/self/fd/%d", up);
                h_kv("openat9", "ok%s", h_outside_root(p) == 1 ? "(outside-root)" : "");
                h_allow("openat9");
                close(up);
        }
        h_done();
}
