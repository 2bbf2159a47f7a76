/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "btrfs-util.h"
#include "copy.h"
#include "fd-util.h"
#include "util.h"

/* Copies trees by fd. Inputs are trusted trees on the host (an image being cloned or imported from
 * a local directory); still, names are never joined into absolute paths and symlinks are never
 * followed: every access is (dir_fd, name) with O_NOFOLLOW. */

#define COPY_DEPTH_MAX 2048

typedef struct HardlinkEntry {
        dev_t dev;
        ino_t ino;
        char *path; /* relative to the destination top */
} HardlinkEntry;

typedef struct CopyContext {
        int dst_top_fd;
        CopyFlags flags;
        uint64_t mnt_id;
        bool dst_btrfs;
        bool reflink_failed;
        uid_t euid;
        gid_t egid;
        mode_t umask;
        uint64_t reflinked;
        HardlinkEntry *links;
        size_t n_links, links_allocated;
        char path[4096 * 4]; /* relative path of the directory being copied, for the hardlink map */
        size_t path_len;
        char *xbuf, *vbuf;
        size_t xbuf_size, vbuf_size;
} CopyContext;

static size_t link_hash(dev_t dev, ino_t ino, size_t n) {
        uint64_t h = (uint64_t) ino * UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t) dev;
        return (size_t) (h % n);
}

static HardlinkEntry *link_find(CopyContext *c, dev_t dev, ino_t ino) {
        if (c->links_allocated == 0)
                return NULL;
        for (size_t i = link_hash(dev, ino, c->links_allocated);; i = (i + 1) % c->links_allocated) {
                HardlinkEntry *e = &c->links[i];
                if (!e->path)
                        return NULL;
                if (e->dev == dev && e->ino == ino)
                        return e;
        }
}

static int link_add(CopyContext *c, dev_t dev, ino_t ino, const char *name) {
        if ((c->n_links + 1) * 2 > c->links_allocated) {
                size_t n = c->links_allocated ? c->links_allocated * 2 : 1024;
                HardlinkEntry *t = calloc(n, sizeof(HardlinkEntry));
                if (!t)
                        return -ENOMEM;
                for (size_t i = 0; i < c->links_allocated; i++) {
                        HardlinkEntry *e = &c->links[i];
                        if (!e->path)
                                continue;
                        size_t j = link_hash(e->dev, e->ino, n);
                        while (t[j].path)
                                j = (j + 1) % n;
                        t[j] = *e;
                }
                free(c->links);
                c->links = t;
                c->links_allocated = n;
        }
        char *p = c->path_len > 0 ? strjoin(c->path, "/", name) : strdup(name);
        if (!p)
                return -ENOMEM;
        size_t j = link_hash(dev, ino, c->links_allocated);
        while (c->links[j].path)
                j = (j + 1) % c->links_allocated;
        c->links[j] = (HardlinkEntry) { .dev = dev, .ino = ino, .path = p };
        c->n_links++;
        return 0;
}

/* The bytes [data, end) of src into dst at the same offsets: copy_file_range() while the kernel
 * takes it (*use_cfr), else pread()/pwrite(). Returns where it stopped: end, or earlier when src
 * ended first (-EIO with strict). */
static int64_t copy_range(int src_fd, int dst_fd, off_t data, off_t end, bool *use_cfr, bool strict) {
        while (data < end) {
                if (interrupted())
                        return -EINTR;
                size_t chunk = (size_t) MIN(end - data, (off_t) 1 << 30);
                ssize_t n = -1;
                if (*use_cfr) {
                        loff_t in = data, out = data;
                        n = copy_file_range(src_fd, &in, dst_fd, &out, chunk, 0);
                        if (n < 0 && errno == EINTR)
                                continue; /* interrupted() decides */
                        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS ||
                                      errno == EBADF))
                                *use_cfr = false;
                        else if (n < 0)
                                return negative_errno();
                }
                if (!*use_cfr) {
                        static _Thread_local char buf[256 * 1024];
                        n = pread(src_fd, buf, MIN(chunk, sizeof(buf)), data);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return negative_errno();
                        if (n > 0) {
                                ssize_t w = pwrite(dst_fd, buf, (size_t) n, data);
                                if (w < 0)
                                        return negative_errno();
                                n = w;
                        }
                }
                if (n == 0) {
                        if (strict)
                                return -EIO; /* shorter than it was */
                        break;               /* file shrank under us */
                }
                data += n;
        }
        return data;
}

static int copy_data_internal(int src_fd, int dst_fd, const struct stat *st, CopyFileFlags flags) {
        if ((flags & COPY_FILE_REFLINK) && ioctl(dst_fd, FICLONE, src_fd) >= 0)
                return 1;

        uint64_t s;
        int r = fd_stat_size(src_fd, st, &s);
        if (r < 0)
                return r;
        if (s > (uint64_t) INT64_MAX)
                return -EFBIG;
        off_t size = (off_t) s;
        /* Holes are kept (of a regular file: a block device has none to ask about). */
        bool sparse = S_ISREG(st->st_mode) && (off_t) st->st_blocks * 512 < size;
        bool use_cfr = true;
        off_t pos = 0;

        while (pos < size) {
                off_t data = pos, end = size;
                if (sparse) {
                        data = lseek(src_fd, pos, SEEK_DATA);
                        if (data < 0) {
                                if (errno == ENXIO)
                                        break; /* only a hole up to the end */
                                return negative_errno();
                        }
                        end = lseek(src_fd, data, SEEK_HOLE);
                        if (end < 0)
                                return negative_errno();
                        if (end > size)
                                end = size;
                }
                int64_t reached = copy_range(src_fd, dst_fd, data, end, &use_cfr, flags & COPY_FILE_STRICT);
                if (reached < 0)
                        return (int) reached;
                pos = (off_t) reached;
                if (pos < end && !sparse)
                        break;
        }
        /* A sparse copy learns of a shrunk source only from SEEK_DATA: ask its size again. */
        struct stat now;
        if ((flags & COPY_FILE_STRICT) && sparse && (fstat(src_fd, &now) < 0 || now.st_size < size))
                return -EIO;
        /* Trailing holes and files that shrank: the size is the source's. */
        if ((sparse || pos != size) && ftruncate(dst_fd, size) < 0)
                return negative_errno();
        return 0;
}

int copy_file_data(int src_fd, int dst_fd, CopyFileFlags flags) {
        struct stat st;
        if (fstat(src_fd, &st) < 0)
                return negative_errno();
        return copy_data_internal(src_fd, dst_fd, &st, flags);
}

static int grow(char **buf, size_t *size, size_t want) {
        if (*size >= want)
                return 0;
        char *n = realloc(*buf, want);
        if (!n)
                return -ENOMEM;
        *buf = n;
        *size = want;
        return 0;
}

/* path: when fd < 0, a /proc/self/fd/… path used with the l*xattr() calls (symlinks, devices). */
static int copy_xattrs(CopyContext *c, int src_fd, const char *src_path, int dst_fd, const char *dst_path) {
        ssize_t n;
        /* With a zero size the list calls return the size instead of the list. */
        int r = grow(&c->xbuf, &c->xbuf_size, 4096);
        if (r < 0)
                return r;
        r = grow(&c->vbuf, &c->vbuf_size, 4096);
        if (r < 0)
                return r;
        for (;;) {
                n = src_fd >= 0 ? flistxattr(src_fd, c->xbuf, c->xbuf_size) : llistxattr(src_path, c->xbuf, c->xbuf_size);
                if (n >= 0)
                        break;
                if (errno == EOPNOTSUPP || errno == ENOTSUP)
                        return 0;
                if (errno != ERANGE)
                        return negative_errno();
                ssize_t want = src_fd >= 0 ? flistxattr(src_fd, NULL, 0) : llistxattr(src_path, NULL, 0);
                if (want < 0)
                        return negative_errno();
                r = grow(&c->xbuf, &c->xbuf_size, (size_t) want + 1);
                if (r < 0)
                        return r;
        }
        /* security.capability last: setting the owner clears it, and so would any write. */
        for (int pass = 0; pass < 2; pass++)
                for (ssize_t i = 0; i < n; i += (ssize_t) strlen(c->xbuf + i) + 1) {
                        const char *name = c->xbuf + i;
                        bool is_cap = streq(name, "security.capability");
                        if ((pass == 0) == is_cap)
                                continue;
                        ssize_t v;
                        for (;;) {
                                v = src_fd >= 0 ? fgetxattr(src_fd, name, c->vbuf, c->vbuf_size)
                                                : lgetxattr(src_path, name, c->vbuf, c->vbuf_size);
                                if (v >= 0)
                                        break;
                                if (errno == ENODATA)
                                        goto next;
                                if (errno != ERANGE)
                                        return negative_errno();
                                r = grow(&c->vbuf, &c->vbuf_size, c->vbuf_size ? c->vbuf_size * 4 : 4096);
                                if (r < 0)
                                        return r;
                                if (c->vbuf_size > 64 * 1024 * 1024)
                                        return -E2BIG;
                        }
                        int q = dst_fd >= 0 ? fsetxattr(dst_fd, name, c->vbuf, (size_t) v, 0)
                                            : lsetxattr(dst_path, name, c->vbuf, (size_t) v, 0);
                        if (q < 0)
                                return negative_errno();
                next:;
                }
        return 0;
}

/* created_mode: the mode dst was created with (after umask), or (mode_t) -1 when unknown. New
 * files are ours (euid/egid; their parents are 0700 non-setgid while being filled), so chown and
 * chmod are skipped when they would change nothing. */
static int copy_attrs_full(CopyContext *c, int src_fd, const struct stat *st, int dst_fd, mode_t created_mode) {
        bool chowned = false;
        if (created_mode == (mode_t) -1 || st->st_uid != c->euid || st->st_gid != c->egid) {
                if (fchown(dst_fd, st->st_uid, st->st_gid) < 0)
                        return negative_errno();
                chowned = true;
        }
        /* After chown, which clears setuid/setgid. */
        if ((chowned || created_mode != (st->st_mode & 07777)) && fchmod(dst_fd, st->st_mode & 07777) < 0)
                return negative_errno();
        int r = copy_xattrs(c, src_fd, NULL, dst_fd, NULL);
        if (r < 0)
                return r;
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        return RET_NERRNO(futimens(dst_fd, ts));
}

static int copy_attrs(CopyContext *c, int src_fd, const struct stat *st, int dst_fd) {
        return copy_attrs_full(c, src_fd, st, dst_fd, (mode_t) -1);
}

int copy_attributes_fd(int src_fd, const struct stat *st, int dst_fd) {
        CopyContext c = {};
        int r = copy_attrs(&c, src_fd, st, dst_fd);
        free(c.xbuf);
        free(c.vbuf);
        return r;
}

/* Symlinks, devices, fifos, sockets: never opened (opening a device or fifo has side effects). */
static int copy_attrs_by_name(CopyContext *c, int src_dir, int dst_dir, const char *name, const struct stat *st) {
        if (fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISLNK(st->st_mode) && fchmodat(dst_dir, name, st->st_mode & 07777, 0) < 0)
                return negative_errno();
        char sp[64 + NAME_MAX], dp[64 + NAME_MAX];
        snprintf(sp, sizeof(sp), "/proc/self/fd/%i/%s", src_dir, name);
        snprintf(dp, sizeof(dp), "/proc/self/fd/%i/%s", dst_dir, name);
        int r = copy_xattrs(c, -EBADF, sp, -EBADF, dp);
        if (r < 0 && !(S_ISLNK(st->st_mode) && r == -EPERM))
                return r;
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        return RET_NERRNO(utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW));
}

static int copy_dir_contents(CopyContext *c, int src_fd, int dst_fd, unsigned depth);

static int copy_regular(CopyContext *c, int src_dir, int dst_dir, const char *name, const struct stat *st) {
        if (st->st_nlink > 1) {
                HardlinkEntry *e = link_find(c, st->st_dev, st->st_ino);
                if (e)
                        return RET_NERRNO(linkat(c->dst_top_fd, e->path, dst_dir, name, 0));
        }
        _cleanup_close_ int s = openat(src_dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (s < 0)
                return negative_errno();
        /* Created with its final permission bits when umask leaves them alone (no later fchmod);
         * setuid/setgid/sticky only after chown. */
        mode_t created = st->st_mode & 0777 & ~c->umask;
        _cleanup_close_ int d = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                                       st->st_mode & 0777);
        if (d < 0)
                return negative_errno();
        bool want_reflink = (c->flags & COPY_REFLINK) && !c->reflink_failed;
        int r = copy_data_internal(s, d, st, want_reflink ? COPY_FILE_REFLINK : 0);
        if (r < 0)
                return r;
        if (r > 0)
                c->reflinked++;
        else if (want_reflink)
                c->reflink_failed = true;
        r = copy_attrs_full(c, s, st, d, created);
        if (r < 0)
                return r;
        if (st->st_nlink > 1)
                return link_add(c, st->st_dev, st->st_ino, name);
        return 0;
}

static int copy_directory(CopyContext *c, int src_dir, int dst_dir, const char *name, const struct stat *st,
                          unsigned depth) {
        if (depth >= COPY_DEPTH_MAX)
                return -ELOOP;
        _cleanup_close_ int s = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (s < 0)
                return negative_errno();

        struct statx sx;
        if (statx(s, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0)
                return negative_errno();
        bool crosses = sx.stx_mnt_id != c->mnt_id; /* a mount point: copy the directory, not what is mounted */

        int r = -ENOTTY;
        if ((c->flags & COPY_SUBVOLUMES) && c->dst_btrfs && !crosses && btrfs_is_subvolume_fd(s) > 0)
                r = btrfs_subvolume_create_at(dst_dir, name);
        if (r < 0 && mkdirat(dst_dir, name, 0700) < 0)
                return negative_errno();
        _cleanup_close_ int d = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (d < 0)
                return negative_errno();

        if (!crosses) {
                size_t saved = c->path_len;
                size_t l = strlen(name);
                if (c->path_len + l + 2 > sizeof(c->path))
                        return -ENAMETOOLONG;
                if (c->path_len > 0)
                        c->path[c->path_len++] = '/';
                memcpy(c->path + c->path_len, name, l + 1);
                c->path_len += l;
                r = copy_dir_contents(c, s, d, depth + 1);
                c->path_len = saved;
                c->path[saved] = 0;
                if (r < 0)
                        return r;
        }
        return copy_attrs(c, s, st, d);
}

static int copy_entry(CopyContext *c, int src_dir, int dst_dir, const char *name, unsigned depth) {
        struct stat st;
        if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();

        switch (st.st_mode & S_IFMT) {
        case S_IFREG:
                return copy_regular(c, src_dir, dst_dir, name, &st);
        case S_IFDIR:
                return copy_directory(c, src_dir, dst_dir, name, &st, depth);
        case S_IFLNK: {
                char target[PATH_MAX + 1];
                ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
                if (n < 0)
                        return negative_errno();
                target[n] = 0;
                if (symlinkat(target, dst_dir, name) < 0)
                        return negative_errno();
                break;
        }
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
        case S_IFSOCK:
                if (st.st_nlink > 1) {
                        HardlinkEntry *e = link_find(c, st.st_dev, st.st_ino);
                        if (e)
                                return RET_NERRNO(linkat(c->dst_top_fd, e->path, dst_dir, name, 0));
                }
                if (mknodat(dst_dir, name, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
                        return negative_errno();
                break;
        default:
                return -EBADFD;
        }
        int r = copy_attrs_by_name(c, src_dir, dst_dir, name, &st);
        if (r < 0)
                return r;
        if (st.st_nlink > 1 && !S_ISLNK(st.st_mode))
                return link_add(c, st.st_dev, st.st_ino, name);
        return 0;
}

static int copy_dir_contents(CopyContext *c, int src_fd, int dst_fd, unsigned depth) {
        _cleanup_closedir_ DIR *d = NULL;
        int q = opendir_fd(src_fd, &d);
        if (q < 0)
                return q;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (interrupted())
                        return -EINTR;
                int r = copy_entry(c, src_fd, dst_fd, de->d_name, depth);
                if (r < 0)
                        return r;
        }
        return errno > 0 ? -errno : 0;
}

int copy_tree_fd(int src_fd, int dst_fd, CopyFlags flags) {
        struct statx sx;
        if (statx(src_fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0)
                return negative_errno();
        CopyContext *c = calloc(1, sizeof(CopyContext));
        if (!c)
                return -ENOMEM;
        c->dst_top_fd = dst_fd;
        c->flags = flags;
        c->mnt_id = sx.stx_mnt_id;
        c->dst_btrfs = fd_is_btrfs(dst_fd);
        c->euid = geteuid();
        c->egid = getegid();
        c->umask = umask(0022);
        umask(c->umask);

        int r = copy_dir_contents(c, src_fd, dst_fd, 0);
        if (r >= 0) {
                struct stat st;
                r = fstat(src_fd, &st) < 0 ? negative_errno() : copy_attrs(c, src_fd, &st, dst_fd);
        }
        if (r >= 0)
                r = (flags & COPY_REFLINK) && !c->reflink_failed && c->reflinked > 0;

        for (size_t i = 0; i < c->links_allocated; i++)
                free(c->links[i].path);
        free(c->links);
        free(c->xbuf);
        free(c->vbuf);
        free(c);
        return r;
}
