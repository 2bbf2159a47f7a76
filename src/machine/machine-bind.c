/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fd-util.h"
#include "machine.h"
#include "mount-util.h"
#include "util.h"

/* bind: a host directory or file mounted into a running container, with the new mount API. The
 * host path becomes a detached tree in our mount namespace (open_tree OPEN_TREE_CLONE, recursive),
 * made read-only (--read-only, recursively) and, for a container with a user namespace of its
 * own, idmapped through it (as run's --bind=…:idmap: the container sees the files' owners as the
 * host does, shifted by its range), all before it is visible anywhere. A child then joins the
 * leader's mount namespace, resolves the target below the root there (RESOLVE_IN_ROOT: no symlink
 * of the container leads the mount out of it; --mkdir makes what is missing, a file for a file),
 * and attaches the tree with move_mount() (a detached tree may be attached in any mount
 * namespace its mover is in, Linux 5.2). The container's mount propagation does not matter: the
 * mount is made in its namespace, not propagated into it.
 *
 * Untrusted input: the container's tree below its root (names, symlinks) while resolving the
 * target. */

/* The part that runs in the container's mount namespace, in a child (diag_fork_wait()). */
typedef struct BindJob {
        int pidfd;
        int tree;
        bool dir;
        const char *path;
        bool make;
        const MachineRecord *m;
} BindJob;

static int bind_child(void *userdata, Diag *diag) {
        const BindJob *j = userdata;
        const char *path = j->path;
        if (setns(j->pidfd, CLONE_NEWNS) < 0)
                return diag_fail(diag, negative_errno(), NULL, "enter the container's mount namespace: %m");
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return diag_fail(diag, negative_errno(), NULL, "open the container's root: %m");
        int target = -EBADF, r;
        if (j->make) {
                if (j->m->private_users)
                        mount_set_creator(j->m->uid_shift);
                r = open_mount_target(root, path, j->dir, &target);
        } else
                r = target = openat2_resolve(root, path, O_PATH, 0, RESOLVE_ROOT);
        if (r == -ENOENT)
                return diag_fail(
                        diag, r, NULL, "%s: no such file or directory in the container (--mkdir makes it)", path);
        if (r == -EROFS)
                return diag_fail(diag, r, NULL, "%s: the container's file system is read-only", path);
        if (r < 0)
                return diag_fail(diag, r, NULL, "%s: %m", path);
        struct stat st;
        if (fstat(target, &st) < 0)
                return diag_fail(diag, negative_errno(), NULL, "%s: %m", path);
        if (j->dir && !S_ISDIR(st.st_mode))
                return diag_fail(diag, -ENOTDIR, NULL, "%s: a directory goes onto a directory", path);
        if (!j->dir && S_ISDIR(st.st_mode))
                return diag_fail(diag, -EISDIR, NULL, "%s: a file goes onto a file", path);
        if (move_mount(j->tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return diag_fail(diag, negative_errno(), NULL, "%s: mount: %m", path);
        return 0;
}

int machine_bind(const MachineRecord *m, const char *host_path, const char *path, MachineBindFlags flags, Diag *diag) {
        const char *target = path ?: host_path;
        if (!target || target[0] != '/')
                return diag_fail(diag, -EINVAL, target, "the path inside must be absolute");
        struct stat st;
        if (stat(host_path, &st) < 0)
                return diag_fail(diag, negative_errno(), host_path, "%m");
        bool dir = S_ISDIR(st.st_mode);
        _cleanup_close_ int pidfd = machine_leader_pidfd(m, diag);
        if (pidfd < 0)
                return pidfd;

        _cleanup_close_ int tree = open_tree(AT_FDCWD, host_path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return diag_fail(diag, negative_errno(), host_path, "%m");
        if (flags & MACHINE_BIND_READ_ONLY) {
                struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
                if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
                        return diag_fail(diag, negative_errno(), host_path, "make the mount read-only: %m");
        }
        if (m->private_users && !(flags & MACHINE_BIND_NO_IDMAP)) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/%i/ns/user", (int) m->leader);
                _cleanup_close_ int userns = open(p, O_RDONLY | O_CLOEXEC);
                if (userns < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                        return diag_fail(diag, -ESRCH, NULL, "the machine's leader (PID %i) is gone", (int) m->leader);
                struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns};
                if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
                        return diag_fail(diag, negative_errno(), host_path,
                                "idmap the mount for the container's user namespace: %m");
        }

        BindJob j = {
                .pidfd = pidfd,
                .tree = tree,
                .dir = dir,
                .path = target,
                .make = flags & MACHINE_BIND_MKDIR,
                .m = m,
        };
        return diag_fork_wait("mounting", bind_child, &j, diag);
}
