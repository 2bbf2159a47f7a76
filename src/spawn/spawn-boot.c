/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <linux/openat2.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "spawn-boot.h"
#include "spawn-internal.h"
#include "util.h"

/* See spawn-boot.h. Untrusted input here: the notify datagrams (bounded by
 * BOOT_NOTIFY_MESSAGE_MAX, read into a buffer one larger and NUL-terminated) and the names of the
 * cgroups the container made (descended at most BOOT_CGROUP_DEPTH_MAX deep, only directories,
 * with fds and *at() calls so a name is never joined into a path). */

#define RESOLVE_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
#define CGROUP2_SUPER_MAGIC_ 0x63677270

/* Where the host's cgroup2 hierarchy is mounted (the unified one of a hybrid host, or
 * /sys/fs/cgroup itself), from /proc/self/mountinfo; with its root inside the hierarchy. */
static int find_cgroup2_mount(char **ret_mount, char **ret_root) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 0, 4 * 1024 * 1024, &text, NULL);
        if (r < 0)
                return r;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTS */
                const char *sep = strstr(line, " - ");
                if (!sep || !startswith(sep + 3, "cgroup2 "))
                        continue;
                char root[4096], mnt[4096];
                if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
                        continue;
                if (strchr(mnt, '\\') || strchr(root, '\\'))
                        continue; /* escaped names: not a mount we would use */
                char *m = strdup(mnt), *rt = strdup(root);
                if (!m || !rt) {
                        free(m);
                        free(rt);
                        return -ENOMEM;
                }
                *ret_mount = m;
                *ret_root = rt;
                return 0;
        }
        return -ENOMEDIUM;
}

/* Our own cgroup in the unified hierarchy ("0::/PATH" in /proc/self/cgroup). */
static int own_cgroup2_path(char **ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 0, 1024 * 1024, &text, NULL);
        if (r < 0)
                return r;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (startswith(line, "0::")) {
                        char *p = strdup(line + 3);
                        if (!p)
                                return -ENOMEM;
                        *ret = p;
                        return 0;
                }
        }
        return -ENOMEDIUM;
}

bool spawn_stale_owner(const char *name, const char *prefix) {
        const char *p = startswith(name, prefix) ? name + strlen(prefix) : NULL;
        if (!p || *p < '1' || *p > '9')
                return false;
        char *end;
        errno = 0;
        unsigned long pid = strtoul(p, &end, 10);
        if (errno || (*end != '-' && *end != '.') || pid > INT_MAX)
                return false;
        return kill((pid_t) pid, 0) < 0 && errno == ESRCH;
}

static int remove_cgroup_tree(int dir_fd, const char *name, unsigned depth);

/* What a cowpen killed with SIGKILL left: its (empty) cgroups. rmdir fails on a populated one. */
static void sweep_stale_cgroups(const char *parent) {
        _cleanup_close_ int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        DIR *d = fdopendir(fd);
        if (!d)
                return;
        TAKE_FD(fd);
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && spawn_stale_owner(de->d_name, "cowpen-"))
                        (void) remove_cgroup_tree(dirfd(d), de->d_name, 0);
        closedir(d);
}

/* And its notify socket directories. */
static void sweep_stale_notify_dirs(void) {
        DIR *d = opendir("/run");
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (spawn_stale_owner(de->d_name, "cowpen-notify.")) {
                        _cleanup_close_ int fd =
                                openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        (void) unlinkat(fd, "notify", 0);
                        (void) unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
                }
        closedir(d);
}

static int make_cgroup(SpawnBoot *b, const char *machine) {
        _cleanup_free_ char *mnt = NULL, *mroot = NULL, *own = NULL, *rnd = NULL;
        int r = find_cgroup2_mount(&mnt, &mroot);
        if (r < 0)
                return r;
        if ((r = own_cgroup2_path(&own)) < 0)
                return r;
        /* Our path relative to what the mount shows. */
        const char *rel = own;
        if (!streq(mroot, "/")) {
                size_t l = strlen(mroot);
                if (!strneq(own, mroot, l) || (own[l] != '/' && own[l] != 0))
                        return -ENOMEDIUM;
                rel = own + l;
        }
        if ((r = random_hex(4, &rnd)) < 0)
                return r;
        char *path = NULL;
        _cleanup_free_ char *parent = NULL;
        if (asprintf(&parent, "%s%s", mnt, rel) < 0)
                return -ENOMEM;
        sweep_stale_cgroups(parent);
        /* Named with our PID, so that what a killed cowpen left is known as such. */
        if (asprintf(&path, "%s%scowpen-%i-%s-%s", parent, endswith(parent, "/") ? "" : "/", (int) getpid(), rnd,
                    machine) < 0)
                return -ENOMEM;
        if (mkdir(path, 0755) < 0) {
                r = negative_errno();
                free(path);
                return r;
        }
        b->cgroup_path = path;
        b->cgroup_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (b->cgroup_fd < 0)
                return negative_errno();
        if (fd_is_fs_type(b->cgroup_fd, CGROUP2_SUPER_MAGIC_) <= 0)
                return -ENOMEDIUM;
        if (b->cgroup_owner != (uid_t) -1) {
                /* Delegation as systemd does it: the directory and the files that move
                 * processes and enable controllers belong to the container's root. */
                static const char *const files[] = {"", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control"};
                for (size_t i = 0; i < ELEMENTSOF(files); i++)
                        if (fchownat(b->cgroup_fd, files[i], b->cgroup_owner, b->cgroup_owner,
                                    files[i][0] ? 0 : AT_EMPTY_PATH) < 0 &&
                                errno != ENOENT)
                                return negative_errno();
        }
        return 0;
}

static int make_notify_socket(SpawnBoot *b) {
        sweep_stale_notify_dirs();
        _cleanup_free_ char *dir = NULL;
        if (asprintf(&dir, "/run/cowpen-notify.%i.XXXXXX", (int) getpid()) < 0)
                return -ENOMEM;
        if (!mkdtemp(dir))
                return negative_errno();
        b->notify_dir = TAKE_PTR(dir);
        b->notify_path = strjoin(b->notify_dir, "/notify");
        if (!b->notify_path)
                return -ENOMEM;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(b->notify_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, b->notify_path);
        b->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (b->notify_fd < 0)
                return negative_errno();
        if (bind(b->notify_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        /* The container's root may be someone else (--private-users). */
        if (chmod(b->notify_path, 0666) < 0 || chmod(b->notify_dir, 0755) < 0)
                return negative_errno();
        return 0;
}

int spawn_boot_prepare(SpawnBoot *b, const SpawnConfig *c, const char *machine, char **ret_error) {
        int r = make_cgroup(b, machine);
        if (r < 0) {
                *ret_error = strdup(r == -ENOMEDIUM ? "booting needs a cgroup2 hierarchy on the host (none is mounted)"
                                                    : "create the container's cgroup");
                return r;
        }
        if ((r = make_notify_socket(b)) < 0) {
                *ret_error = strdup("create the notify socket");
                return r;
        }
        return 0;
}

/* Removes the cgroup tree below dir_fd/name, children first. */
static int remove_cgroup_tree(int dir_fd, const char *name, unsigned depth) {
        if (depth > BOOT_CGROUP_DEPTH_MAX)
                return -ELOOP;
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        DIR *d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -ENOMEM;
        }
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                int k = remove_cgroup_tree(dirfd(d), de->d_name, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        /* The last processes of the namespace may still be on their way out. */
        for (unsigned i = 0; i < 200; i++) {
                if (unlinkat(dir_fd, name, AT_REMOVEDIR) >= 0 || errno == ENOENT)
                        return r;
                if (errno != EBUSY)
                        return negative_errno();
                (void) nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        }
        return -EBUSY;
}

void spawn_boot_done(SpawnBoot *b) {
        if (b->cgroup_path) {
                /* Whatever is left in it dies (cgroup.kill, Linux 5.14). */
                if (b->cgroup_fd >= 0) {
                        int k = openat(b->cgroup_fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
                        if (k >= 0) {
                                if (write(k, "1", 1) < 0) { /* an older kernel: the namespace already ended them */
                                }
                                safe_close(k);
                        }
                }
                _cleanup_free_ char *parent = strdup(b->cgroup_path);
                char *slash = parent ? strrchr(parent, '/') : NULL;
                if (slash) {
                        *slash = 0;
                        int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (pfd >= 0) {
                                (void) remove_cgroup_tree(pfd, slash + 1, 0);
                                safe_close(pfd);
                        }
                }
        }
        b->cgroup_fd = safe_close(b->cgroup_fd);
        b->notify_fd = safe_close(b->notify_fd);
        if (b->notify_path)
                (void) unlink(b->notify_path);
        if (b->notify_dir)
                (void) rmdir(b->notify_dir);
        free(b->cgroup_path);
        free(b->notify_dir);
        free(b->notify_path);
        b->cgroup_path = b->notify_dir = b->notify_path = NULL;
}

/* READY=1 to the socket in our own $NOTIFY_SOCKET, when cowpen runs as a service. */
static void notify_ourselves(const char *msg) {
        const char *e = getenv("NOTIFY_SOCKET");
        if (!e || (e[0] != '/' && e[0] != '@'))
                return;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t l = strlen(e);
        if (l >= sizeof(sa.sun_path))
                return;
        memcpy(sa.sun_path, e, l);
        if (e[0] == '@')
                sa.sun_path[0] = 0;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return;
        (void) sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *) &sa,
                (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l));
}

void spawn_boot_started(SpawnBoot *b) {
        if (b->notify_ready)
                return;
        b->ready = true;
        notify_ourselves("READY=1");
}

void spawn_boot_notify_handle(SpawnBoot *b) {
        char buf[BOOT_NOTIFY_MESSAGE_MAX + 1];
        for (;;) {
                ssize_t n = recv(b->notify_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
                if (n < 0)
                        return;
                if ((size_t) n > BOOT_NOTIFY_MESSAGE_MAX)
                        continue; /* truncated: dropped whole */
                buf[n] = 0;
                if (memchr(buf, 0, (size_t) n))
                        continue;
                for (char *line = buf, *next; line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = 0;
                        if (streq(line, "READY=1") && !b->ready) {
                                b->ready = true;
                                if (b->notify_ready)
                                        notify_ourselves("READY=1");
                        }
                }
        }
}

int spawn_boot_status(int code, int status) {
        if (code == CLD_EXITED)
                return status;
        /* reboot() by PID 1 of a PID namespace ends it with SIGHUP (restart) or SIGINT (power
         * off, halt): see reboot(2). */
        if (status == SIGINT)
                return 0;
        if (status == SIGHUP)
                return SPAWN_STATUS_REBOOT;
        return 128 + status;
}

/* sysvinit's initctl request (initreq.h): 384 bytes, a magic, a command, the runlevel. */
#define INITCTL_MAGIC 0x03091969
#define INITCTL_CMD_RUNLEVEL 1
#define INITCTL_REQUEST_SIZE 384

int spawn_boot_request_halt(pid_t init) {
        char root[64];
        snprintf(root, sizeof(root), "/proc/%i/root", (int) init);
        _cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return negative_errno();
        static const char *const paths[] = {"run/initctl", "dev/initctl"};
        int r = -ENOENT;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                /* The container's own path: its symlinks resolve inside it, never on the host. */
                _cleanup_close_ int fd = openat2_resolve(rfd, paths[i], O_WRONLY | O_NONBLOCK | O_NOCTTY, 0,
                                                         RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                if (fd < 0) {
                        r = fd;
                        continue;
                }
                struct stat st;
                if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
                        r = -ENOTTY;
                        continue;
                }
                int32_t req[INITCTL_REQUEST_SIZE / 4] = {};
                req[0] = INITCTL_MAGIC;
                req[1] = INITCTL_CMD_RUNLEVEL;
                req[2] = '0';
                /* Less than PIPE_BUF: written whole or not at all. */
                ssize_t n = write(fd, req, sizeof(req));
                if (n == (ssize_t) sizeof(req))
                        return 0;
                r = n < 0 ? negative_errno() : -EIO;
        }
        return r;
}

int spawn_boot_attach(const SpawnBoot *b, pid_t pid) {
        if (b->cgroup_fd < 0)
                return 0;
        _cleanup_close_ int fd = openat(b->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        char s[32];
        int n = snprintf(s, sizeof(s), "%i", (int) pid); /* 0: the writer itself */
        if (write(fd, s, (size_t) n) != n)
                return negative_errno();
        return 0;
}

int spawn_boot_child_enter(const SpawnBoot *b) {
        if (b->cgroup_fd < 0)
                return 0;
        int r = spawn_boot_attach(b, 0);
        if (r < 0)
                return r;
        return RET_NERRNO(unshare(CLONE_NEWCGROUP));
}

int spawn_boot_child_mounts(int root_fd, const SpawnBoot *b) {
        int r;
        if (b->cgroup_fd >= 0) {
                _cleanup_close_ int cg = -EBADF;
                if ((r = open_mount_target(root_fd, "sys/fs/cgroup", true, &cg)) < 0)
                        return r;
                char t[FD_PATH_MAX];
                /* Over the read-only view: the container's own hierarchy, writable. */
                if (mount("cgroup2", fd_path(t, cg), "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        return negative_errno();
        }
        if (b->notify_path) {
                _cleanup_close_ int s = open(b->notify_path, O_PATH | O_CLOEXEC), t = -EBADF;
                if (s < 0)
                        return negative_errno();
                if ((r = open_mount_target(root_fd, "run/host/notify", false, &t)) < 0 ||
                        (r = bind_fd(s, t, false, false)) < 0)
                        return r;
        }
        return 0;
}

const char *spawn_boot_notify_env(const SpawnBoot *b) {
        return b->notify_path ? "NOTIFY_SOCKET=/run/host/notify" : NULL;
}

int spawn_boot_find_init(char **args, char ***ret_argv) {
        static const char *const inits[] = {"/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/sbin/init"};
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return negative_errno();
        for (size_t i = 0; i < ELEMENTSOF(inits); i++) {
                /* After pivot_root: "/" is the container's, so this is its file (or the target of
                 * its symlink inside it). */
                _cleanup_close_ int fd = openat2_resolve(root, inits[i], O_PATH, 0, RESOLVE_ROOT);
                if (fd < 0)
                        continue;
                struct stat st;
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                        continue;
                _cleanup_strv_free_ char **argv = NULL;
                int r = strv_extend(&argv, inits[i]);
                for (char **a = args; r >= 0 && a && *a; a++)
                        r = strv_extend(&argv, *a);
                if (r < 0)
                        return r;
                *ret_argv = TAKE_PTR(argv);
                return 0;
        }
        return -ENOENT;
}
