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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "spawn-userns.h"
#include "util.h"

/* See spawn-userns.h. */

int private_users_parse(const char *s, PrivateUsersMode *ret_mode, uid_t *ret_shift, uid_t *ret_range) {
        if (streq(s, "pick")) {
                *ret_mode = PRIVATE_USERS_PICK;
                *ret_shift = 0;
                *ret_range = USERNS_RANGE_DEFAULT;
                return 0;
        }
        if (streq(s, "identity")) {
                *ret_mode = PRIVATE_USERS_FIXED;
                *ret_shift = 0;
                *ret_range = USERNS_RANGE_DEFAULT;
                return 0;
        }
        int b = parse_boolean(s);
        if (b >= 0) {
                *ret_mode = b ? PRIVATE_USERS_YES : PRIVATE_USERS_NO;
                *ret_shift = 0;
                *ret_range = USERNS_RANGE_DEFAULT;
                return 0;
        }
        const char *colon = strchr(s, ':');
        _cleanup_free_ char *base = strndup(s, colon ? (size_t) (colon - s) : strlen(s));
        if (!base)
                return -ENOMEM;
        uint64_t shift, range = USERNS_RANGE_DEFAULT;
        if (safe_atou64(base, &shift) < 0 || (colon && safe_atou64(colon + 1, &range) < 0))
                return -EINVAL;
        /* uid_t is 32 bits and (uid_t) -1 is invalid. */
        if (range == 0 || shift + range > UINT32_C(0xFFFFFFFF))
                return -ERANGE;
        *ret_mode = PRIVATE_USERS_FIXED;
        *ret_shift = (uid_t) shift;
        *ret_range = (uid_t) range;
        return 0;
}

int private_users_ownership_parse(const char *s, PrivateUsersOwnership *ret) {
        if (streq(s, "auto"))
                *ret = PRIVATE_USERS_OWNERSHIP_AUTO;
        else if (streq(s, "map"))
                *ret = PRIVATE_USERS_OWNERSHIP_MAP;
        else if (streq(s, "chown"))
                *ret = PRIVATE_USERS_OWNERSHIP_CHOWN;
        else
                return -EINVAL;
        return 0;
}

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

static int write_map(pid_t pid, const char *file, uid_t shift, uid_t range) {
        char path[64], line[64];
        snprintf(path, sizeof(path), "/proc/%i/%s", (int) pid, file);
        int n = snprintf(line, sizeof(line), "0 %u %u\n", (unsigned) shift, (unsigned) range);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (write(fd, line, (size_t) n) != n)
                return negative_errno();
        return 0;
}

static int make_userns(uid_t shift, uid_t range, int *ret) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        if (pid == 0) {
                /* The helper: a namespace, then wait for the parent to be done with it. */
                safe_close(p[1]);
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(EXIT_FAILURE);
                char c;
                (void) !read(p[0], &c, 1);
                _exit(EXIT_SUCCESS);
        }
        safe_close(p[0]);
        int r = 0;
        /* Wait until the helper is in its namespace (its ns/user differs from ours). */
        struct stat ours, theirs;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%i/ns/user", (int) pid);
        if (stat("/proc/self/ns/user", &ours) < 0)
                r = negative_errno();
        for (unsigned i = 0; r >= 0 && i < 2000; i++) {
                if (stat(path, &theirs) < 0) {
                        r = negative_errno();
                        break;
                }
                if (theirs.st_ino != ours.st_ino)
                        break;
                usleep(500);
        }
        int fd = -EBADF;
        if (r >= 0 && theirs.st_ino == ours.st_ino)
                r = -ETIMEDOUT;
        if (r >= 0)
                r = write_map(pid, "uid_map", shift, range);
        if (r >= 0)
                r = write_map(pid, "gid_map", shift, range);
        if (r >= 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                r = negative_errno();
        safe_close(p[1]);
        (void) waitpid(pid, NULL, 0);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        *ret = fd;
        return 0;
}

int spawn_userns_prepare(
        SpawnConfig *c, int root_fd, const char *machine, int *ret_userns_fd, int *ret_lock_fd, char **ret_error) {
        int lock = -EBADF, r;
        switch ((PrivateUsersMode) c->private_users) {
        case PRIVATE_USERS_YES: {
                struct stat st;
                if (fstat(root_fd, &st) < 0) {
                        *ret_error = strdup("stat the root directory");
                        return negative_errno();
                }
                /* As systemd-nspawn: the root directory's owner is the base, its low 16 bits 0. */
                if ((st.st_uid & 0xFFFF) != 0 || st.st_uid != st.st_gid) {
                        *ret_error = strdup("--private-users=yes: the root directory's owner is not a range base "
                                            "(uid = gid, a multiple of 65536)");
                        return -EINVAL;
                }
                c->uid_shift = st.st_uid;
                c->uid_range = USERNS_RANGE_DEFAULT;
                break;
        }
        case PRIVATE_USERS_PICK:
                if ((r = pick_range(machine, c->uid_range ?: USERNS_RANGE_DEFAULT, &c->uid_shift, &lock)) < 0) {
                        *ret_error = strdup("--private-users=pick: no free uid range");
                        return r;
                }
                c->uid_range = c->uid_range ?: USERNS_RANGE_DEFAULT;
                break;
        case PRIVATE_USERS_FIXED:
                break;
        case PRIVATE_USERS_NO:
        case _PRIVATE_USERS_MODE_MAX:
        default:
                *ret_userns_fd = -EBADF;
                *ret_lock_fd = -EBADF;
                return 0;
        }
        r = make_userns(c->uid_shift, c->uid_range, ret_userns_fd);
        if (r < 0) {
                safe_close(lock);
                *ret_error = strdup("create the user namespace");
                return r;
        }
        *ret_lock_fd = lock;
        return 0;
}

int spawn_userns_idmap_root(int userns_fd, const char *root_path) {
        if (userns_fd < 0)
                return 0;
        _cleanup_close_ int tree = open_tree(AT_FDCWD, root_path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return negative_errno();
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd};
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                return negative_errno();
        return RET_NERRNO(move_mount(tree, "", AT_FDCWD, root_path, MOVE_MOUNT_F_EMPTY_PATH));
}

int spawn_userns_chown_api(int root_fd, const SpawnConfig *c, int console_fd) {
        if (!c->private_users)
                return 0;
        /* The console pty: init opens /dev/console, which is it. */
        if (console_fd >= 0 && fchown(console_fd, c->uid_shift, c->uid_shift) < 0)
                return negative_errno();
        /* The tmpfs instances the engine mounted belong to the host's root; inside they must be
         * the container root's (who would otherwise see nobody and get EACCES in /run). */
        static const char *const dirs[] = {"dev", "dev/shm", "run", "tmp"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_close_ int fd = openat2_resolve(
                        root_fd, dirs[i], O_PATH | O_DIRECTORY, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                if (fd < 0)
                        continue;
                if (fchownat(fd, "", c->uid_shift, c->uid_shift, AT_EMPTY_PATH) < 0)
                        return negative_errno();
        }
        return 0;
}

int spawn_userns_enter(int userns_fd) {
        if (userns_fd < 0)
                return 0;
        if (setns(userns_fd, CLONE_NEWUSER) < 0)
                return negative_errno();
        /* The host's root has no uid in the namespace: become its root. */
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return negative_errno();
        /* A mount namespace the container's root owns (a copy of the one set up for it, whose
         * mounts stay locked together): init and its services may mount on top. */
        return RET_NERRNO(unshare(CLONE_NEWNS));
}
