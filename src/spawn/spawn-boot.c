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
#include "mount-util.h"
#include "spawn-boot.h"
#include "spawn-cgroup.h"
#include "util.h"

/* See spawn-boot.h. Untrusted input here: the notify datagrams (bounded by
 * BOOT_NOTIFY_MESSAGE_MAX, read into a buffer one larger and NUL-terminated). */


/* Notify socket directories of cowpens that were killed. */
static void sweep_stale_notify_dirs(void) {
        DIR *d = opendir("/run");
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (name_owner_is_gone(de->d_name, "cowpen-notify.")) {
                        _cleanup_close_ int fd =
                                openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        (void) unlinkat(fd, "notify", 0);
                        (void) unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
                }
        closedir(d);
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

int spawn_boot_prepare(SpawnBoot *b, const SpawnConfig *c, const char *machine, Diag *diag) {
        int r = make_notify_socket(b);
        if (r < 0)
                return diag_fail(diag, r, NULL, "create the notify socket");
        return 0;
}

void spawn_boot_done(SpawnBoot *b) {
        b->notify_fd = safe_close(b->notify_fd);
        if (b->notify_path)
                (void) unlink(b->notify_path);
        if (b->notify_dir)
                (void) rmdir(b->notify_dir);
        free(b->notify_dir);
        free(b->notify_path);
        b->notify_dir = b->notify_path = NULL;
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

int spawn_boot_child_mounts(int root_fd, const SpawnBoot *b, const SpawnCgroup *cgroup) {
        int r;
        if (b->notify_path && cgroup->fd >= 0) {
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
