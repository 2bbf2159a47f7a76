/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "spawn-cgroup.h"
#include "spawn-chown.h"
#include "spawn-clone.h"
#include "spawn-userns.h"
#include "util.h"

/* See spawn-userns.h. */

/* A range nobody on the host uses: no passwd/group entry in it, and no other cowpen holding its
 * lock (/run/cowpen-uid/BASE, an OFD lock held while the container runs). */
static int pick_range(const char *machine, uid_t range, uid_t *ret_shift, int *ret_lock_fd) {
        uint32_t h = 2166136261U;
        for (const char *p = machine; *p; p++)
                h = (h ^ (uint8_t) *p) * 16777619U;
        uint32_t slots = (USERNS_PICK_MAX - USERNS_PICK_MIN) / 65536U;
        if (mkdir("/run/cowpen-uid", 0755) < 0 && errno != EEXIST)
                return negative_errno();
        for (unsigned i = 0; i < USERNS_PICK_ATTEMPTS; i++) {
                uid_t cand = USERNS_PICK_MIN + ((h + i * 7919U) % slots) * 65536U;
                bool used = false;
                /* Cheap probes at the ends and the middle of the range. */
                uid_t probes[] = {cand, cand + 1, cand + range / 2, cand + range - 1};
                for (size_t k = 0; k < ELEMENTSOF(probes) && !used; k++)
                        used = getpwuid(probes[k]) || getgrgid((gid_t) probes[k]);
                if (used)
                        continue;
                char path[64];
                snprintf(path, sizeof(path), "/run/cowpen-uid/%u", (unsigned) cand);
                int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return negative_errno();
                struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
                if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
                        safe_close(fd);
                        continue;
                }
                *ret_shift = cand;
                *ret_lock_fd = fd;
                return 0;
        }
        return -EBUSY;
}

static int write_map_from(pid_t pid, const char *file, uid_t from, uid_t shift, uid_t range) {
        char path[64], line[64];
        snprintf(path, sizeof(path), "/proc/%i/%s", (int) pid, file);
        int n = snprintf(line, sizeof(line), "%u %u %u\n", (unsigned) from, (unsigned) shift, (unsigned) range);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (write(fd, line, (size_t) n) != n)
                return negative_errno();
        return 0;
}

static int write_map(pid_t pid, const char *file, uid_t shift, uid_t range) {
        return write_map_from(pid, file, 0, shift, range);
}

void spawn_userns_done(SpawnUserns *u) {
        if (u->init_pid > 0) {
                (void) kill(u->init_pid, SIGKILL);
                (void) waitpid(u->init_pid, NULL, 0);
                u->init_pid = -1;
        }
        u->userns_fd = safe_close(u->userns_fd);
        u->uts_fd = safe_close(u->uts_fd);
        u->ipc_fd = safe_close(u->ipc_fd);
        u->net_fd = safe_close(u->net_fd);
        u->pid_fd = safe_close(u->pid_fd);
        u->lock_fd = safe_close(u->lock_fd);
}

static int open_ns(pid_t pid, const char *name, int *ret) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%i/ns/%s", (int) pid, name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        *ret = fd;
        return 0;
}

/* A helper process for making namespaces, with two pipes: the helper says on ready[1] that it
 * made them, and waits on done[0] until the parent, which has taken their fds meanwhile, closes
 * done[1] (helper_end()). Each process keeps only its own ends. Returns the helper's PID (0 in
 * the helper) or -errno. */
static pid_t helper_start(int ready[2], int done[2]) {
        if (pipe2(ready, O_CLOEXEC) < 0)
                return negative_errno();
        if (pipe2(done, O_CLOEXEC) < 0) {
                int r = negative_errno();
                safe_close(ready[0]);
                safe_close(ready[1]);
                return r;
        }
        pid_t pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                safe_close(ready[0]);
                safe_close(ready[1]);
                safe_close(done[0]);
                safe_close(done[1]);
                return r;
        }
        safe_close(pid == 0 ? ready[0] : ready[1]);
        safe_close(pid == 0 ? done[1] : done[0]);
        return pid;
}

/* The parent's end of the helper: lets it go and reaps it. */
static void helper_end(pid_t pid, int ready_fd, int done_fd) {
        safe_close(ready_fd);
        safe_close(done_fd);
        (void) waitpid(pid, NULL, 0);
}

int spawn_userns_mapping(uid_t from, uid_t to, uid_t n, int *ret_fd) {
        int ready[2], done[2];
        pid_t pid = helper_start(ready, done);
        if (pid < 0)
                return pid;
        if (pid == 0) {
                char c = 0;
                if (unshare(CLONE_NEWUSER) < 0 || write(ready[1], &c, 1) != 1)
                        _exit(EXIT_FAILURE);
                (void) !read(done[0], &c, 1); /* until the parent took the namespace */
                _exit(EXIT_SUCCESS);
        }
        char c;
        int r = read(ready[0], &c, 1) == 1 ? 0 : -ECHILD;
        if (r >= 0)
                r = write_map_from(pid, "uid_map", from, to, n);
        if (r >= 0)
                r = write_map_from(pid, "gid_map", from, to, n);
        int fd = -EBADF;
        if (r >= 0)
                r = open_ns(pid, "user", &fd);
        helper_end(pid, ready[0], done[1]);
        if (r < 0)
                return r;
        *ret_fd = fd;
        return 0;
}

/* What the helper hands to the container's init: the function to run, and the helper's own fds,
 * which init closes first (else the parent would not see the helper's end of them). */
typedef struct InitStart {
        const SpawnUsernsInit *init;
        int close_fds[2];
} InitStart;

static int init_start(void *userdata) {
        InitStart *s = userdata;
        safe_close(s->close_fds[0]);
        safe_close(s->close_fds[1]);
        return s->init->fn(s->init->arg);
}

/* A helper process unshares the user namespace and, as its root, the namespaces it is to own,
 * and makes the container's init in its PID namespace (PID 1; cowpen's child by CLONE_PARENT).
 * The parent writes the maps and takes fds of all of them. */
static int make_namespaces(uid_t shift, uid_t range, bool net, const SpawnUsernsInit *init, SpawnUserns *u) {
        int ready[2], done[2];
        pid_t pid = helper_start(ready, done);
        if (pid < 0)
                return pid;
        if (pid == 0) {
                /* --network-namespace-path: joined while we are the host's root still. */
                bool join = net && init->join_netns_fd >= 0;
                if ((join && setns(init->join_netns_fd, CLONE_NEWNET) < 0) || unshare(CLONE_NEWUSER) < 0 ||
                    unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | (net && !join ? CLONE_NEWNET : 0)) < 0)
                        _exit(EXIT_FAILURE);
                /* In the container's cgroup from the start, where the kernel can (spawn-clone.c). */
                InitStart start = { .init = init, .close_fds = { ready[1], done[0] } };
                pid_t pid1 = spawn_clone(CLONE_PARENT, init->cgroup_fd, false, init_start, &start, init->ret_in_cgroup);
                if (pid1 < 0)
                        _exit(EXIT_FAILURE);
                if (write(ready[1], &pid1, sizeof(pid1)) != (ssize_t) sizeof(pid1))
                        _exit(EXIT_FAILURE);
                /* Until the parent took its fds. */
                char c;
                (void) !read(done[0], &c, 1);
                _exit(EXIT_SUCCESS);
        }
        int r = 0;
        pid_t pid1 = -1;
        if (read(ready[0], &pid1, sizeof(pid1)) != (ssize_t) sizeof(pid1) || pid1 <= 0) {
                pid1 = -1;
                r = -ECHILD; /* the helper could not unshare or fork */
        }
        if (r >= 0)
                r = write_map(pid, "uid_map", shift, range);
        if (r >= 0)
                r = write_map(pid, "gid_map", shift, range);
        if (r >= 0)
                r = open_ns(pid, "user", &u->userns_fd);
        if (r >= 0)
                r = open_ns(pid, "uts", &u->uts_fd);
        if (r >= 0)
                r = open_ns(pid, "ipc", &u->ipc_fd);
        if (r >= 0)
                r = open_ns(pid1, "pid", &u->pid_fd);
        if (r >= 0 && net)
                r = open_ns(pid, "net", &u->net_fd);
        helper_end(pid, ready[0], done[1]);
        u->init_pid = pid1;
        return r;
}

/* The ownership mode for this tree: see spawn-userns.h. */
static int decide_ownership(const SpawnConfig *c, const struct stat *root, SpawnUserns *u, Diag *diag) {
        bool owned = root->st_uid == c->uid_shift && root->st_gid == c->uid_shift;
        bool unshifted = root->st_uid < USERNS_RANGE_DEFAULT && root->st_gid < USERNS_RANGE_DEFAULT;
        uid_t base = root->st_uid & ~(USERNS_RANGE_DEFAULT - 1);
        switch ((PrivateUsersOwnership) c->private_users_ownership) {
        case PRIVATE_USERS_OWNERSHIP_OFF:
                return 0;
        case PRIVATE_USERS_OWNERSHIP_MAP:
                if (owned)
                        return 0;
                if (!unshifted)
                        return diag_fail(diag, -EINVAL, NULL,
                                         "--private-users-ownership=map: the root directory belongs to uid %u, not to 0…65535 "
                                         "(--private-users-ownership=chown shifts it)",
                                         (unsigned) root->st_uid);
                u->idmap = true;
                return 0;
        case PRIVATE_USERS_OWNERSHIP_CHOWN:
                if (owned)
                        return 0;
                u->chown = true;
                u->chown_from = unshifted ? 0 : base;
                return 0;
        case PRIVATE_USERS_OWNERSHIP_AUTO:
        case _PRIVATE_USERS_OWNERSHIP_MAX:
        case _PRIVATE_USERS_OWNERSHIP_INVALID:
        default:
                if (owned)
                        return 0;
                if (unshifted) {
                        u->idmap = true;
                        u->chown_fallback = true;
                        u->chown_from = 0;
                } else {
                        u->chown = true;
                        u->chown_from = base;
                }
                return 0;
        }
}

int spawn_userns_prepare(SpawnConfig *c, int root_fd, const char *machine, SpawnUserns *ret, Diag *diag) {
        SpawnUserns u = SPAWN_USERNS_NULL;
        int r;
        struct stat st;
        if (fstat(root_fd, &st) < 0)
                return diag_fail(diag, negative_errno(), NULL, "stat the root directory");
        switch ((PrivateUsersMode) c->private_users) {
        case PRIVATE_USERS_YES:
                /* As systemd-nspawn: the root directory's owner is the base, its low 16 bits 0. */
                if ((st.st_uid & 0xFFFF) != 0 || st.st_uid != st.st_gid)
                        return diag_fail(diag, -EINVAL, NULL,
                                         "--private-users=yes: the root directory's owner is not a range base "
                                         "(uid = gid, a multiple of 65536)");
                c->uid_shift = st.st_uid;
                c->uid_range = USERNS_RANGE_DEFAULT;
                break;
        case PRIVATE_USERS_PICK:
                if ((r = pick_range(machine, c->uid_range ?: USERNS_RANGE_DEFAULT, &c->uid_shift, &u.lock_fd)) < 0)
                        return diag_fail(diag, r, NULL, "--private-users=pick: no free uid range");
                c->uid_range = c->uid_range ?: USERNS_RANGE_DEFAULT;
                break;
        case PRIVATE_USERS_FIXED:
                break;
        case PRIVATE_USERS_NO:
        case _PRIVATE_USERS_MODE_MAX:
        default:
                *ret = u;
                return 0;
        }
        if ((r = decide_ownership(c, &st, &u, diag)) < 0) {
                spawn_userns_done(&u);
                return r;
        }
        if ((u.chown || u.chown_fallback) && c->uid_range > USERNS_RANGE_DEFAULT) {
                spawn_userns_done(&u);
                return diag_fail(diag, -EINVAL, NULL,
                                 "--private-users-ownership=chown: a range over 65536 ids cannot be chowned into");
        }
        *ret = u;
        return 0;
}

int spawn_userns_make(const SpawnConfig *c, const SpawnUsernsInit *init, SpawnUserns *u, Diag *diag) {
        if (c->private_users == PRIVATE_USERS_NO)
                return 0;
        int r = make_namespaces(c->uid_shift, c->uid_range, c->private_network, init, u);
        if (r < 0)
                return diag_fail(diag, r, NULL, "create the user namespace");
        return 0;
}

int spawn_userns_clone_flags(const SpawnUserns *u, int flags) {
        if (u->userns_fd < 0)
                return flags;
        return flags & ~(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | (u->net_fd >= 0 ? CLONE_NEWNET : 0));
}

int spawn_userns_clone_begin(const SpawnUserns *u, int *ret_saved_pid_ns) {
        *ret_saved_pid_ns = -EBADF;
        if (u->pid_fd < 0)
                return 0;
        int saved = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (saved < 0)
                return negative_errno();
        if (setns(u->pid_fd, CLONE_NEWPID) < 0) {
                int r = negative_errno();
                safe_close(saved);
                return r;
        }
        *ret_saved_pid_ns = saved;
        return 0;
}

int spawn_userns_clone_end(int saved_pid_ns) {
        if (saved_pid_ns < 0)
                return 0;
        int r = RET_NERRNO(setns(saved_pid_ns, CLONE_NEWPID));
        safe_close(saved_pid_ns);
        return r;
}

int spawn_userns_join(const SpawnUserns *u) {
        if (u->userns_fd < 0)
                return 0;
        if (setns(u->uts_fd, CLONE_NEWUTS) < 0 || setns(u->ipc_fd, CLONE_NEWIPC) < 0 ||
            (u->net_fd >= 0 && setns(u->net_fd, CLONE_NEWNET) < 0))
                return negative_errno();
        return 0;
}

static int idmap_root(int userns_fd, const char *root_path) {
        _cleanup_close_ int tree = open_tree(AT_FDCWD, root_path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return negative_errno();
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd};
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                return negative_errno();
        return RET_NERRNO(move_mount(tree, "", AT_FDCWD, root_path, MOVE_MOUNT_F_EMPTY_PATH));
}

/* -EOPNOTSUPP says what was not possible by itself; other errors add their reason. */
static int present_root_fail(Diag *diag, int r, const char *what) {
        return diag_fail(diag, r, NULL, r == -EOPNOTSUPP ? "%s" : "%s: %m", what);
}

int spawn_userns_present_root(const SpawnUserns *u, const SpawnConfig *c, const char *root_path, bool overlay,
                              Diag *diag) {
        int r;
        bool chown_tree = u->chown;
        if (u->userns_fd < 0)
                return 0;
        /* An ephemeral overlay can be neither idmapped (overlayfs refuses) nor chowned (every
         * file would be copied up). */
        if (overlay && (chown_tree || u->idmap))
                return present_root_fail(diag, -EOPNOTSUPP,
                                         "a user namespace from the settings file with -x on an overlayfs root, which "
                                         "can be neither idmapped nor chowned (give --private-users on the command "
                                         "line: -x then copies)");
        if (u->idmap) {
                r = idmap_root(u->userns_fd, root_path);
                /* auto: a file system that cannot be idmapped is chowned instead. */
                if (r < 0 && !(u->chown_fallback && (r == -EINVAL || r == -EOPNOTSUPP || r == -ENOSYS || r == -EPERM)))
                        return present_root_fail(diag, r, "idmapped mount of the root");
                chown_tree = r < 0;
        }
        if (!chown_tree)
                return 0;
        _cleanup_close_ int fd = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return present_root_fail(diag, negative_errno(), "open the root");
        r = tree_shift_owners(fd, u->chown_from, c->uid_shift, USERNS_RANGE_DEFAULT);
        if (r < 0)
                return present_root_fail(diag, r,
                                         r == -E2BIG ? "chown the tree (deeper than 256 levels)" : "chown the tree");
        return 0;
}

int spawn_userns_chown_api(int root_fd, const SpawnConfig *c, int console_fd) {
        if (!c->private_users)
                return 0;
        /* The console pty: init opens /dev/console, which is it. */
        if (console_fd >= 0 && fchown(console_fd, c->uid_shift, c->uid_shift) < 0)
                return negative_errno();
        /* The tmpfs instances the engine mounted belong to the host's root; inside they must be
         * the container root's (who would otherwise see nobody and get EACCES in /run). */
        static const char *const dirs[] = {"dev", "dev/shm", "run", "tmp", "var"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                /* /var only where it is the engine's tmpfs (--volatile=state). */
                if (streq(dirs[i], "var") && c->volatile_mode != VOLATILE_STATE)
                        continue;
                _cleanup_close_ int fd = openat2_resolve(
                        root_fd, dirs[i], O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                if (fd < 0)
                        continue;
                if (fchownat(fd, "", c->uid_shift, c->uid_shift, AT_EMPTY_PATH) < 0)
                        return negative_errno();
        }
        return 0;
}

int spawn_userns_handoff(
        const SpawnUserns *u, int sock, const uint8_t id[16], int (*in_namespace)(void *userdata), void *userdata) {
        /* Into the user namespace, and a mount namespace it owns: a copy of the one set up here,
         * whose mounts are locked together (its root cannot unmount what covers the host). */
        if (setns(u->userns_fd, CLONE_NEWUSER) < 0 || unshare(CLONE_NEWNS) < 0)
                return negative_errno();
        int r;
        if (in_namespace && (r = in_namespace(userdata)) < 0)
                return r;
        _cleanup_close_ int mnt = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (mnt < 0)
                return negative_errno();
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = {.iov_base = (void *) id, .iov_len = 16};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &mnt, sizeof(int));
        if (sendmsg(sock, &mh, MSG_NOSIGNAL) != 16)
                return errno > 0 ? negative_errno() : -EIO;
        return 0;
}

int spawn_userns_take_over(int sock, uint8_t ret_id[16]) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        uint8_t id[16];
        struct iovec iov = {.iov_base = id, .iov_len = sizeof(id)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control)};
        ssize_t n;
        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        if (n == 0 || !cm)
                return -ECONNRESET; /* the setup ended without handing over */
        int mnt;
        if (n != (ssize_t) sizeof(id) || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
            cm->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EBADMSG;
        memcpy(&mnt, CMSG_DATA(cm), sizeof(int));
        int r = RET_NERRNO(setns(mnt, CLONE_NEWNS));
        safe_close(mnt);
        if (r < 0)
                return r;
        /* Until the setup process is gone (its end of the socket closes as it exits): it lives in
         * our PID namespace, and were we (PID 1) to end first, as a short payload does, the kernel
         * would kill it with SIGKILL before its own exit, and the run would fail ("the setup
         * process died"). */
        char c;
        do
                n = recv(sock, &c, 1, 0);
        while (n < 0 && errno == EINTR);
        /* The host's root has no uid in the namespace: become its root. Then a cgroup namespace
         * the user namespace owns, rooted where the container is. */
        if (chdir("/") < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 || unshare(CLONE_NEWCGROUP) < 0)
                return negative_errno();
        memcpy(ret_id, id, sizeof(id));
        return 0;
}
