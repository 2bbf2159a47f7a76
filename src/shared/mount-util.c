/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "mount-util.h"
#include "util.h"

/* See mount-util.h. */

const char *fd_path(char buf[static FD_PATH_MAX], int fd) {
        snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%i", fd);
        return buf;
}

int bind_fd_idmapped(int source_fd, int target_fd, bool recursive, bool read_only, int userns_fd) {
        _cleanup_close_ int tree = open_tree(
                source_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0));
        if (tree < 0)
                return negative_errno();
        if (read_only || userns_fd >= 0) {
                struct mount_attr attr = {
                        .attr_set = (read_only ? MOUNT_ATTR_RDONLY : 0) | (userns_fd >= 0 ? MOUNT_ATTR_IDMAP : 0),
                        .userns_fd = userns_fd >= 0 ? (uint64_t) userns_fd : 0,
                };
                if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
                        return negative_errno();
        }
        return RET_NERRNO(move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
}

int bind_fd(int source_fd, int target_fd, bool recursive, bool read_only) {
        return bind_fd_idmapped(source_fd, target_fd, recursive, read_only, -EBADF);
}

static uid_t mount_creator = (uid_t) -1;

void mount_set_creator(uid_t uid) {
        mount_creator = uid;
}

/* Below an idmapped root the host's root has no uid (EOVERFLOW): then as the creator, the
 * container's root, which maps to the image's. */
static int create_mount_point(int parent, const char *name, bool dir) {
        if (dir)
                return mkdirat(parent, name, 0755) < 0 && errno != EEXIST ? negative_errno() : 0;
        int f = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 && errno != EEXIST)
                return negative_errno();
        safe_close(f);
        return 0;
}

int make_mount_point(int parent, const char *name, bool dir) {
        int r = create_mount_point(parent, name, dir);
        if (r != -EOVERFLOW || mount_creator == (uid_t) -1)
                return r;
        (void) setfsgid(mount_creator);
        (void) setfsuid(mount_creator);
        r = create_mount_point(parent, name, dir);
        (void) setfsuid(0);
        (void) setfsgid(0);
        return r;
}

int open_mount_target(int root_fd, const char *path, bool dir, int *ret) {
        int fd = openat2_resolve(root_fd, path, O_PATH, 0, RESOLVE_ROOT);
        if (fd >= 0) {
                *ret = fd;
                return 0;
        }
        if (fd != -ENOENT)
                return fd;

        /* Walk down, resolving each prefix inside the root and creating what is missing. */
        size_t len = strlen(path);
        _cleanup_free_ char *prefix = malloc(len + 1);
        if (!prefix)
                return -ENOMEM;
        _cleanup_close_ int parent = openat2_resolve(root_fd, "/", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (parent < 0)
                return parent;
        const char *p = path;
        for (;;) {
                p += strspn(p, "/");
                if (!*p)
                        break;
                size_t n = strcspn(p, "/");
                const char *next = p + n;
                bool last = next[strspn(next, "/")] == 0;
                memcpy(prefix, path, (size_t) (next - path));
                prefix[next - path] = 0;
                _cleanup_free_ char *comp = strndup(p, n);
                if (!comp)
                        return -ENOMEM;
                if (streq(comp, "..") || streq(comp, "."))
                        return -EINVAL;
                int cfd =
                        openat2_resolve(root_fd, prefix, O_PATH | ((last && !dir) ? 0 : O_DIRECTORY), 0, RESOLVE_ROOT);
                if (cfd == -ENOENT) {
                        int r = make_mount_point(parent, comp, !(last && !dir));
                        if (r < 0)
                                return r;
                        cfd = openat2_resolve(
                                root_fd, prefix, O_PATH | ((last && !dir) ? 0 : O_DIRECTORY), 0, RESOLVE_ROOT);
                }
                if (cfd < 0)
                        return cfd;
                safe_close(parent);
                parent = cfd;
                p = next;
        }
        *ret = TAKE_FD(parent);
        return 0;
}
