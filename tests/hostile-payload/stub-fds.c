/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stub-fds: what does PID 1 hold that the payload could take? Meaningful with -a (a stub init is
 * PID 1, the payload PID 2); when the payload is PID 1 itself it says pid1=self and nothing else.
 *
 * Keys: pid1=self|other; fds= none, or the fds ≥ 3 PID 1 holds (escape: one of them is a
 * directory outside our root, reachable as /proc/1/fd/N/..); caps= subset when PID 1's CapEff
 * and CapBnd are within our own CapBnd, else excess; environ=, cmdline= clean, or leaked when
 * they hold the canary the driver put in the runner's environment (its value is in
 * /etc/hostile-canary of the image); maps= container when every file PID 1 maps is a file of the
 * container (same device and inode as the path inside) or a memfd, else host:<path>; exe= the
 * same for /proc/1/exe (memfd for a sealed memfd); root=, cwd= container or host (PID 1's root
 * or working directory outside ours); ptrace= whether PTRACE_SEIZE of PID 1 worked (reported
 * only: the verdict is about what PID 1 holds). Harmless: reads /proc only; PTRACE_SEIZE (not
 * PTRACE_ATTACH: the same permission check) never stops the tracee, and our exit, right after,
 * detaches it (PTRACE_DETACH itself needs a stopped tracee). */
#include "hostile.h"

#include <dirent.h>
#include <sys/ptrace.h>
#include <sys/sysmacros.h>

static unsigned long long cap_field(const char *status, const char *name) {
        const char *p = strstr(status, name);
        if (!p)
                return ~0ULL;
        return strtoull(p + strlen(name), NULL, 16);
}

static bool is_memfd(const char *path) {
        return strncmp(path, "/memfd:", 7) == 0;
}

/* The path of a maps line or readlink without " (deleted)". */
static void strip_deleted(char *path) {
        size_t l = strlen(path);
        const char *suffix = " (deleted)";
        size_t s = strlen(suffix);
        if (l > s && strcmp(path + l - s, suffix) == 0)
                path[l - s] = 0;
}

/* A file PID 1 has, by device and inode, is the file at PATH inside the container. */
static bool same_file_inside(const char *path, dev_t dev, ino_t ino) {
        struct stat st;
        if (stat(path, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

int main(void) {
        h_init("stub-fds");
        if (getpid() == 1) {
                h_kv("pid1", "self");
                h_done();
        }
        h_kv("pid1", "other");

        /* Descriptors ≥ 3 of PID 1. */
        DIR *d = opendir("/proc/1/fd");
        if (!d)
                h_kv("fds", "%s", h_errname(errno));
        else {
                char list[1024] = "";
                bool escape = false;
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        int n = atoi(de->d_name);
                        if (n < 3)
                                continue;
                        char p[64], target[256] = "?";
                        snprintf(p, sizeof(p), "/proc/1/fd/%d", n);
                        ssize_t k = readlink(p, target, sizeof(target) - 1);
                        if (k >= 0)
                                target[k] = 0;
                        struct stat st;
                        const char *what = "";
                        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && h_outside_root(p) == 1) {
                                escape = true;
                                what = "(outside-root)";
                        }
                        size_t l = strlen(list);
                        snprintf(list + l, sizeof(list) - l, "%s%d:%s%s", l ? "," : "", n, target, what);
                }
                closedir(d);
                if (list[0]) {
                        h_kv("fds", "%s", list);
                        h_allow("fds");
                } else
                        h_kv("fds", "none");
                if (escape)
                        h_kv("escape", "/proc/1/fd/N/..");
        }

        /* Capabilities: PID 1's effective and bounding sets within our bounding set. */
        char s1[8192], s2[8192];
        if (h_read_file("/proc/1/status", s1, sizeof(s1)) < 0 || h_read_file("/proc/self/status", s2, sizeof(s2)) < 0)
                h_bug("cannot read /proc/1/status or /proc/self/status");
        unsigned long long eff = cap_field(s1, "CapEff:"), bnd = cap_field(s1, "CapBnd:"),
                           own = cap_field(s2, "CapBnd:");
        if ((eff & ~own) || (bnd & ~own)) {
                h_kv("caps", "excess(eff=%llx,bnd=%llx,own=%llx)", eff, bnd, own);
                h_allow("caps");
        } else
                h_kv("caps", "subset");

        /* The canary of the runner's environment. */
        char canary[256];
        ssize_t cl = h_read_file("/etc/hostile-canary", canary, sizeof(canary));
        if (cl <= 0)
                h_bug("no /etc/hostile-canary in the image");
        canary[strcspn(canary, "\n")] = 0;
        static const char *const files[] = {"environ", "cmdline"};
        for (size_t i = 0; i < 2; i++) {
                static char buf[1 << 20];
                char p[64];
                snprintf(p, sizeof(p), "/proc/1/%s", files[i]);
                ssize_t n = h_read_file(p, buf, sizeof(buf));
                if (n < 0)
                        h_kv(files[i], "%s", h_errname((int) -n));
                else if (memmem(buf, (size_t) n, canary, strlen(canary))) {
                        h_kv(files[i], "leaked");
                        h_allow(files[i]);
                } else
                        h_kv(files[i], "clean");
        }

        /* Mapped files: each must be the container's own file (or a memfd). */
        FILE *f = fopen("/proc/1/maps", "re");
        if (!f)
                h_kv("maps", "%s", h_errname(errno));
        else {
                char line[4096], host[512] = "";
                int memfds = 0, files_seen = 0;
                while (fgets(line, sizeof(line), f)) {
                        unsigned maj, min;
                        unsigned long long ino;
                        int off = 0;
                        if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &maj, &min, &ino, &off) != 3 || off == 0)
                                continue;
                        char *path = line + off;
                        path[strcspn(path, "\n")] = 0;
                        if (path[0] != '/' || ino == 0)
                                continue;
                        files_seen++;
                        if (is_memfd(path)) {
                                memfds++;
                                continue;
                        }
                        strip_deleted(path);
                        if (!same_file_inside(path, makedev(maj, min), (ino_t) ino) && !host[0])
                                snprintf(host, sizeof(host), "%s", path);
                }
                fclose(f);
                if (files_seen == 0)
                        h_kv("maps", "EACCES"); /* unreadable maps are empty, as the kernel shows them */
                else if (host[0]) {
                        h_kv("maps", "host:%s", host);
                        h_allow("maps");
                } else
                        h_kv("maps", "container");
                h_kv("memfd_maps", "%d", memfds);
        }

        /* /proc/1/exe. */
        char exe[512];
        ssize_t k = readlink("/proc/1/exe", exe, sizeof(exe) - 1);
        struct stat est;
        if (k < 0)
                h_kv("exe", "%s", h_errname(errno));
        else if (exe[k] = 0, is_memfd(exe))
                h_kv("exe", "memfd");
        else if (stat("/proc/1/exe", &est) < 0)
                h_kv("exe", "%s", h_errname(errno));
        else {
                strip_deleted(exe);
                if (same_file_inside(exe, est.st_dev, est.st_ino))
                        h_kv("exe", "container");
                else {
                        h_kv("exe", "host:%s", exe);
                        h_allow("exe");
                }
        }

        /* Root and working directory of PID 1. */
        static const char *const dirs[] = {"root", "cwd"};
        for (size_t i = 0; i < 2; i++) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/1/%s", dirs[i]);
                int r = h_outside_root(p);
                if (r < 0)
                        h_kv(dirs[i], "%s", h_errname(-r));
                else if (r > 0) {
                        h_kv(dirs[i], "host");
                        h_allow(dirs[i]);
                } else
                        h_kv(dirs[i], "container");
        }

        /* Attaching to PID 1 (reported only). */
        h_ret("ptrace", ptrace(PTRACE_SEIZE, 1, NULL, NULL));
        h_done();
}
