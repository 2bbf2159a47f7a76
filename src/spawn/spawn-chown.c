/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "acl-xattr.h"
#include "fd-util.h"
#include "mount-util.h"
#include "spawn-chown.h"
#include "util.h"

/* See spawn-chown.h. */

#define VFS_CAP_REVISION_MASK 0xFF000000U
#define VFS_CAP_REVISION_3 0x03000000U
#define VFS_CAP_V3_SIZE 24U

typedef struct Shift {
        uid_t from, to, range;
} Shift;

static bool shift_id(const Shift *s, uint32_t id, uint32_t *ret) {
        if (id < s->from || id - s->from >= s->range)
                return false;
        *ret = id - s->from + s->to;
        return true;
}

/* The xattrs of an O_PATH fd's inode (not a symlink's) through its /proc/self/fd link. */
static ssize_t get_xattr(int fd, const char *name, void *buf, size_t size) {
        char p[FD_PATH_MAX];
        ssize_t n = getxattr(fd_path(p, fd), name, buf, size);
        return n < 0 ? (errno == ENODATA || errno == EOPNOTSUPP ? 0 : negative_errno()) : n;
}

static int set_xattr(int fd, const char *name, const void *buf, size_t size) {
        char p[FD_PATH_MAX];
        return RET_NERRNO(setxattr(fd_path(p, fd), name, buf, size, 0));
}

/* Shifts the ids of an ACL xattr in place: 1 when changed, 0 when not, -EBADMSG when malformed. */
static int shift_acl(const Shift *s, uint8_t *buf, size_t n) {
        uint32_t version;
        if (n < 4 || (n - 4) % sizeof(struct acl_xattr_entry) != 0)
                return -EBADMSG;
        memcpy(&version, buf, 4);
        if (le32toh(version) != ACL_XATTR_VERSION)
                return -EBADMSG;
        int changed = 0;
        for (size_t off = 4; off < n; off += sizeof(struct acl_xattr_entry)) {
                struct acl_xattr_entry e;
                uint32_t nid;
                memcpy(&e, buf + off, sizeof(e));
                uint16_t tag = le16toh(e.tag);
                if ((tag == ACL_USER || tag == ACL_GROUP) && shift_id(s, le32toh(e.id), &nid)) {
                        e.id = htole32(nid);
                        memcpy(buf + off, &e, sizeof(e));
                        changed = 1;
                }
        }
        return changed;
}

static int shift_inode(const Shift *s, int fd, const struct stat *st) {
        uint32_t uid = st->st_uid, gid = st->st_gid;
        bool cu = shift_id(s, st->st_uid, &uid), cg = shift_id(s, st->st_gid, &gid);
        int r;

        if (S_ISLNK(st->st_mode))
                return cu || cg ? RET_NERRNO(fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) : 0;

        /* What chown clears or what holds ids, read first. */
        uint8_t cap[VFS_CAP_V3_SIZE + 8];
        ssize_t ncap = 0;
        if (S_ISREG(st->st_mode) && (cu || cg)) {
                ncap = get_xattr(fd, "security.capability", cap, sizeof(cap));
                if (ncap < 0)
                        return (int) ncap;
        }
        static const char *const acl_names[] = {ACL_XATTR_ACCESS, ACL_XATTR_DEFAULT};
        for (size_t i = 0; i < ELEMENTSOF(acl_names); i++) {
                if (i == 1 && !S_ISDIR(st->st_mode))
                        break;
                ssize_t n = get_xattr(fd, acl_names[i], NULL, 0);
                if (n <= 0) {
                        if (n < 0)
                                return (int) n;
                        continue;
                }
                if ((size_t) n > TREE_SHIFT_XATTR_SIZE_MAX)
                        return -E2BIG;
                _cleanup_free_ uint8_t *acl = malloc((size_t) n);
                if (!acl)
                        return -ENOMEM;
                n = get_xattr(fd, acl_names[i], acl, (size_t) n);
                if (n < 0)
                        return (int) n;
                r = shift_acl(s, acl, (size_t) n);
                if (r < 0)
                        return r;
                if (r > 0 && (r = set_xattr(fd, acl_names[i], acl, (size_t) n)) < 0)
                        return r;
        }
        if (!cu && !cg)
                return 0;

        if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
                return negative_errno();
        /* chown cleared the set-ID bits of an executable: as they were. */
        if (!S_ISDIR(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID))) {
                char p[FD_PATH_MAX];
                if (chmod(fd_path(p, fd), st->st_mode & 07777) < 0)
                        return negative_errno();
        }
        if (ncap > 0) {
                uint32_t magic;
                memcpy(&magic, cap, 4);
                if ((le32toh(magic) & VFS_CAP_REVISION_MASK) == VFS_CAP_REVISION_3 && ncap >= (ssize_t) VFS_CAP_V3_SIZE) {
                        uint32_t root, nroot;
                        memcpy(&root, cap + 20, 4);
                        if (shift_id(s, le32toh(root), &nroot)) {
                                nroot = htole32(nroot);
                                memcpy(cap + 20, &nroot, 4);
                        }
                }
                if ((r = set_xattr(fd, "security.capability", cap, (size_t) ncap)) < 0)
                        return r;
        }
        return 0;
}

typedef struct Level {
        DIR *dir;
} Level;

int tree_shift_owners(int root_fd, uid_t from, uid_t to, uid_t range) {
        if (range == 0 || (from < to ? to - from < range : from - to < range))
                return -EINVAL;
        Shift s = {.from = from, .to = to, .range = range};
        struct stat root_st;
        if (fstat(root_fd, &root_st) < 0)
                return negative_errno();
        if (!S_ISDIR(root_st.st_mode))
                return -ENOTDIR;

        Level stack[TREE_SHIFT_DEPTH_MAX];
        size_t depth = 0;
        int r = opendir_fd(root_fd, &stack[0].dir);
        if (r < 0)
                return r;
        depth = 1;
        while (depth > 0 && r >= 0) {
                if (interrupted()) {
                        r = -EINTR;
                        break;
                }
                DIR *d = stack[depth - 1].dir;
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = negative_errno();
                        closedir(d);
                        depth--;
                        continue;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_close_ int fd = openat(dirfd(d), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        r = negative_errno();
                        break;
                }
                struct stat st;
                if (fstat(fd, &st) < 0) {
                        r = negative_errno();
                        break;
                }
                /* Another file system mounted here: not ours to change. */
                if (st.st_dev != root_st.st_dev)
                        continue;
                if ((r = shift_inode(&s, fd, &st)) < 0)
                        break;
                if (!S_ISDIR(st.st_mode))
                        continue;
                if (depth >= TREE_SHIFT_DEPTH_MAX) {
                        r = -E2BIG;
                        break;
                }
                int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0) {
                        r = negative_errno();
                        break;
                }
                stack[depth].dir = fdopendir(dfd);
                if (!stack[depth].dir) {
                        r = negative_errno();
                        safe_close(dfd);
                        break;
                }
                depth++;
        }
        while (depth > 0)
                closedir(stack[--depth].dir);
        if (r < 0)
                return r;
        /* The root last: it tells the next run which range the tree is in. */
        _cleanup_close_ int self = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (self < 0)
                return negative_errno();
        return shift_inode(&s, self, &root_st);
}
