/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "copy.h"
#include "fd-util.h"
#include "machine.h"
#include "rm-rf.h"
#include "util.h"

/* copy-to and copy-from: files and directory trees between the host and a running container,
 * as machinectl copies them (content, mode, owner, times, xattrs: copy.h). The container's side
 * is the leader's root as its mount namespace shows it (/proc/PID/root: its tmpfs and bind
 * mounts included), opened once and checked to be the recorded leader's; every path inside is
 * resolved below it with RESOLVE_IN_ROOT, so neither an absolute symlink nor ".." planted in the
 * container leads out of it. What is written (inside or on the host) is made under a hidden
 * temporary name in the target's directory and renamed into place without replacing anything:
 * nothing half-written is ever visible, and a failure leaves nothing behind.
 *
 * What comes out of a container has no device node (the copy is refused: the container chose its
 * numbers and owner, a node for the host's disk owned by some user) and no set-UID or set-GID
 * bit on a file (a set-UID-root program planted by the container).
 *
 * With a user namespace (-U) the owners are shifted: what goes in gets the container's range
 * (host UID N becomes uid_shift + N; one outside the range the container's root), what comes out
 * loses it. Where the root is an idmapped mount, the host's root has no UID below it: the copy
 * then creates as the container's root (fsuid), in a process of its own.
 *
 * Untrusted input: the container's tree (names, symlinks, file types, sizes, depth), read with
 * copy.h's limits, and its paths resolved as said above. */

#define MACHINE_COPY_DEPTH_MAX 2048U

typedef struct CopyEnd {
        int dir_fd; /* the directory the entry is (to be) in */
        char *name; /* its name there */
} CopyEnd;

static void copy_end_done(CopyEnd *e) {
        e->dir_fd = safe_close(e->dir_fd);
        free(e->name);
        e->name = NULL;
}

/* The leader's root, checked to be the recorded process's. */
static int open_machine_root(const MachineRecord *m, Diag *diag) {
        _cleanup_close_ int pidfd = machine_leader_pidfd(m, diag);
        if (pidfd < 0)
                return pidfd;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%i/root", (int) m->leader);
        _cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return diag_fail(diag, negative_errno(), NULL, "open the container's root: %m");
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return diag_fail(diag, -ESRCH, NULL, "the machine's leader (PID %i) is gone", (int) m->leader);
        return TAKE_FD(fd);
}

/* Splits an absolute or relative path into its directory and last name; "/", "." and ".." as
 * last names are refused. */
static int split_path(const char *path, char **ret_dir, char **ret_name) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                p[--n] = 0;
        char *slash = strrchr(p, '/');
        const char *name = slash ? slash + 1 : p;
        if (!*name || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        char *dir = slash ? (slash == p ? strdup("/") : strndup(p, (size_t) (slash - p))) : strdup(".");
        char *nm = strdup(name);
        if (!dir || !nm) {
                free(dir);
                free(nm);
                return -ENOMEM;
        }
        *ret_dir = dir;
        *ret_name = nm;
        return 0;
}

/* The target: an existing directory takes the source's name inside it (as cp does); otherwise
 * the path names the new entry, whose directory must exist. inside: resolved in root_fd. */
static int open_target(int root_fd, const char *path, const char *source_name, bool inside, CopyEnd *ret) {
        uint64_t resolve = inside ? RESOLVE_ROOT : 0;
        int base = inside ? root_fd : AT_FDCWD;
        int fd = openat2_resolve(base, path, O_PATH | O_DIRECTORY, 0, resolve);
        if (fd >= 0) {
                char *name = strdup(source_name);
                if (!name) {
                        safe_close(fd);
                        return -ENOMEM;
                }
                *ret = (CopyEnd){.dir_fd = fd, .name = name};
                return 0;
        }
        if (fd != -ENOENT && fd != -ENOTDIR)
                return fd;
        _cleanup_free_ char *dir = NULL, *name = NULL;
        int r = split_path(path, &dir, &name);
        if (r < 0)
                return r;
        fd = openat2_resolve(base, dir, O_PATH | O_DIRECTORY, 0, resolve);
        if (fd < 0)
                return fd;
        *ret = (CopyEnd){.dir_fd = fd, .name = TAKE_PTR(name)};
        return 0;
}

/* Owners of the tree at dir_fd/name shifted: to the range (shift > 0) or out of it. */
static uid_t shift_id(uid_t id, const MachineRecord *m, bool in) {
        if (in)
                return id < m->uid_range ? m->uid_shift + id : m->uid_shift;
        return id >= m->uid_shift && id - m->uid_shift < m->uid_range ? id - m->uid_shift : id;
}

/* What is done to a copy before it appears: owners shifted into the range (shift > 0) or out of
 * it (< 0); and for what comes out of a container (out), no device node (its owner and numbers
 * are the container's choice: a node for the host's disk, owned by a user) and no set-ID bit of a
 * file (a set-UID-root program the container planted). */
typedef struct Settle {
        const MachineRecord *m;
        int shift;
        bool out;
        char bad[256]; /* the device node found */
} Settle;

static int settle(int dir_fd, const char *name, Settle *s, unsigned depth) {
        struct stat st;
        if (depth > MACHINE_COPY_DEPTH_MAX)
                return -ELOOP;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (s->out && (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))) {
                snprintf(s->bad, sizeof(s->bad), "%s", name);
                return -EPERM;
        }
        mode_t mode = st.st_mode & 07777;
        if (s->out && !S_ISDIR(st.st_mode))
                mode &= ~(mode_t) (S_ISUID | S_ISGID);
        if (s->shift != 0 && fchownat(dir_fd, name, shift_id(st.st_uid, s->m, s->shift > 0),
                                     shift_id(st.st_gid, s->m, s->shift > 0), AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        /* chown() cleared set-ID bits: as they were (or, coming out, without them). */
        if (!S_ISLNK(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)) && fchmodat(dir_fd, name, mode, 0) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return 0;
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        DIR *d = NULL;
        int r = opendir_fd(fd, &d);
        if (r < 0)
                return r;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if ((r = settle(fd, de->d_name, s, depth + 1)) < 0)
                        break;
        }
        closedir(d);
        return r;
}

/* Copies the source (a regular file or a directory tree) to a new hidden entry next to the
 * target, and renames it into place. */
static int copy_entry(int src_fd, const struct stat *st, const CopyEnd *t, const char *object, const MachineRecord *m,
        int shift, bool out, Diag *diag) {
        _cleanup_free_ char *rnd = NULL, *tmp = NULL;
        int r = random_hex(8, &rnd);
        if (r < 0)
                return r;
        if (asprintf(&tmp, ".#cowpen-copy.%s", rnd) < 0)
                return -ENOMEM;
        if (S_ISREG(st->st_mode)) {
                _cleanup_close_ int dst =
                        openat(t->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (dst < 0)
                        return diag_fail(diag, negative_errno(), object, "create: %m");
                r = copy_file_data(src_fd, dst, COPY_FILE_REFLINK);
                if (r >= 0)
                        r = copy_attributes_fd(src_fd, st, dst);
        } else if (S_ISDIR(st->st_mode)) {
                if (mkdirat(t->dir_fd, tmp, 0700) < 0)
                        return diag_fail(diag, negative_errno(), object, "create: %m");
                _cleanup_close_ int dst = openat(t->dir_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                r = dst < 0 ? negative_errno() : copy_tree_fd(src_fd, dst, 0);
        } else
                return diag_fail(diag, -EBADFD, object, "not a regular file or directory");
        Settle se = {.m = m, .shift = shift, .out = out};
        if (r >= 0 && (shift != 0 || out))
                r = settle(t->dir_fd, tmp, &se, 0);
        if (r == -EPERM && se.bad[0]) {
                (void) rm_rf_at(t->dir_fd, tmp);
                return diag_fail(
                        diag, r, object, "holds a device node (%s), which is not copied out of a container", se.bad);
        }
        if (r >= 0 && renameat2(t->dir_fd, tmp, t->dir_fd, t->name, RENAME_NOREPLACE) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) rm_rf_at(t->dir_fd, tmp);
                return diag_fail(diag, r, object, r == -EEXIST ? "exists already" : "%m");
        }
        return 0;
}

/* Runs the copy as the container's root where the host's root has no UID below an idmapped
 * root (EOVERFLOW): in a child, whose fsuid may change; its failure comes back on a pipe. */
typedef struct CopyJob {
        int src_fd;
        struct stat st;
        const CopyEnd *target;
        const char *object;
        const MachineRecord *m;
        int shift;
        uid_t creator;
} CopyJob;

static int copy_child(void *userdata, Diag *diag) {
        const CopyJob *j = userdata;
        (void) setfsgid(j->creator);
        (void) setfsuid(j->creator);
        /* setfsuid() cleared the file capabilities from the effective set: back. */
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2] = {};
        if (syscall(SYS_capget, &h, d) >= 0) {
                d[0].effective = d[0].permitted;
                d[1].effective = d[1].permitted;
                (void) syscall(SYS_capset, &h, d);
        }
        return copy_entry(j->src_fd, &j->st, j->target, j->object, j->m, j->shift, false, diag);
}

static int copy_between(int src_base, const char *src_path, const char *src_open, uint64_t src_resolve, int dst_root,
        const char *dst_path, bool dst_inside, const MachineRecord *m, int shift, Diag *diag) {
        /* Opened as a path first: neither a FIFO nor a device of the container is ever opened. */
        _cleanup_close_ int opath = src_open ? open(src_open, O_PATH | O_CLOEXEC)
                                             : openat2_resolve(src_base, src_path, O_PATH, 0, src_resolve);
        if (src_open && opath < 0)
                opath = negative_errno();
        if (opath < 0)
                return diag_fail(diag, opath, src_path, "%m");
        CopyJob j = {.m = m, .shift = shift};
        if (fstat(opath, &j.st) < 0)
                return diag_fail(diag, negative_errno(), src_path, "%m");
        if (!S_ISREG(j.st.st_mode) && !S_ISDIR(j.st.st_mode))
                return diag_fail(diag, -EBADFD, src_path, "not a regular file or directory");
        _cleanup_close_ int src = fd_reopen(opath, O_RDONLY | O_NOCTTY | (S_ISDIR(j.st.st_mode) ? O_DIRECTORY : 0));
        if (src < 0)
                return diag_fail(diag, src, src_path, "%m");
        j.src_fd = src;
        _cleanup_free_ char *sdir = NULL, *sname = NULL;
        int r = split_path(src_path, &sdir, &sname);
        if (r < 0)
                return diag_fail(diag, r, src_path, r == -EINVAL ? "names no file" : "%m");
        CopyEnd t = {.dir_fd = -EBADF};
        r = open_target(dst_root, dst_path, sname, dst_inside, &t);
        if (r < 0)
                return diag_fail(diag, r, dst_path, r == -EINVAL ? "names no file" : "%m");
        j.target = &t;
        j.object = dst_path;
        r = copy_entry(src, &j.st, &t, dst_path, m, shift, !dst_inside, diag);
        if (r == -EOVERFLOW && dst_inside && m->private_users) {
                diag_clear_failure(diag);
                j.creator = m->uid_shift;
                r = diag_fork_wait("copying", copy_child, &j, diag);
        }
        copy_end_done(&t);
        return r;
}

/* The host's source as the container's user namespace shifts it (an idmapped detached mount of
 * it): its owners N are then uid_shift + N, and are copied so. -EOPNOTSUPP and the like where the
 * file system has no idmapped mounts. */
static int open_shifted_view(const MachineRecord *m, const char *host_path, int *ret_tree) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/%i/ns/user", (int) m->leader);
        _cleanup_close_ int userns = open(p, O_RDONLY | O_CLOEXEC);
        if (userns < 0)
                return negative_errno();
        _cleanup_close_ int tree = open_tree(AT_FDCWD, host_path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return negative_errno();
        struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY, .userns_fd = (uint64_t) userns};
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
                return negative_errno();
        *ret_tree = TAKE_FD(tree);
        return 0;
}

int machine_copy_to(const MachineRecord *m, const char *host_path, const char *path, Diag *diag) {
        _cleanup_close_ int root = open_machine_root(m, diag);
        if (root < 0)
                return root;
        _cleanup_close_ int shifted = -EBADF;
        if (m->private_users && open_shifted_view(m, host_path, &shifted) >= 0) {
                /* Its name is the host path's: the copy's name inside comes from it. */
                char fdp[64];
                snprintf(fdp, sizeof(fdp), "/proc/self/fd/%i", shifted);
                return copy_between(AT_FDCWD, host_path, fdp, 0, root, path ?: host_path, true, m, 0, diag);
        }
        return copy_between(
                AT_FDCWD, host_path, NULL, 0, root, path ?: host_path, true, m, m->private_users ? 1 : 0, diag);
}

int machine_copy_from(const MachineRecord *m, const char *path, const char *host_path, Diag *diag) {
        _cleanup_close_ int root = open_machine_root(m, diag);
        if (root < 0)
                return root;
        return copy_between(root, path, NULL, RESOLVE_ROOT, AT_FDCWD, host_path ?: path, false, m,
                m->private_users ? -1 : 0, diag);
}
