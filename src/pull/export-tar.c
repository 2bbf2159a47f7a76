/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* export-tar: walks a tree from directory fds (never following symlinks, staying on one file
 * system) and writes each entry through the pax writer of tar-archive.c.
 *
 * Untrusted input: the image's file names, link targets and xattrs (an image may have been made
 * by anyone). They are copied into the archive as they are; names are only joined into archive
 * paths, never opened by path. */

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "fd-util.h"
#include "pull.h"
#include "tar-archive.h"
#include "util.h"

#define EXPORT_BUF_SIZE (1024 * 1024)
#define EXPORT_DEPTH_MAX 4096 /* directory levels below the top */

typedef struct Inode {
        dev_t dev;
        ino_t ino;
        char *path;
} Inode;

typedef struct Exporter {
        TarWriter *w;
        const ExportOptions *o;
        dev_t dev;
        uint8_t *buf;
        uint64_t bytes;
        uint64_t skipped;
        Inode *links;  /* open addressing on (dev, ino) of files with st_nlink > 1 */
        size_t n_links, allocated_links;
        Diag *diag;
        uint64_t whiteouts; /* in a diff: entries of the base that are gone */
} Exporter;

static size_t inode_hash(dev_t dev, ino_t ino, size_t n) {
        uint64_t h = (uint64_t) ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t) dev;
        return (size_t) (h % n);
}

static int links_grow(Exporter *e) {
        size_t n = MAX(e->allocated_links * 2, (size_t) 1024);
        Inode *t = calloc(n, sizeof(Inode));
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < e->allocated_links; i++) {
                Inode *o = &e->links[i];
                if (!o->path)
                        continue;
                size_t k = inode_hash(o->dev, o->ino, n);
                while (t[k].path)
                        k = (k + 1) % n;
                t[k] = *o;
        }
        free(e->links);
        e->links = t;
        e->allocated_links = n;
        return 0;
}

/* Returns the first path of (dev, ino), or records path and returns NULL. */
static int links_lookup(Exporter *e, const struct stat *st, const char *path, const char **ret) {
        if ((e->n_links + 1) * 2 > e->allocated_links) {
                int r = links_grow(e);
                if (r < 0)
                        return r;
        }
        size_t k = inode_hash(st->st_dev, st->st_ino, e->allocated_links);
        while (e->links[k].path) {
                if (e->links[k].dev == st->st_dev && e->links[k].ino == st->st_ino) {
                        *ret = e->links[k].path;
                        return 1;
                }
                k = (k + 1) % e->allocated_links;
        }
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        e->links[k] = (Inode) { .dev = st->st_dev, .ino = st->st_ino, .path = p };
        e->n_links++;
        *ret = NULL;
        return 0;
}

/* How an entry's xattrs are reached: by its fd (files, directories), through the /proc/self/fd
 * path of its O_PATH fd (devices and fifos, which are not opened), or, for a symlink (whose O_PATH
 * fd the l* calls cannot use), as NAME in its directory's /proc/self/fd path with the l* calls,
 * which never follow NAME. */
typedef enum XattrVia {
        XATTR_VIA_FD,
        XATTR_VIA_PROC_FD,
        XATTR_VIA_DIR_NAME,
} XattrVia;

static ssize_t via_list(XattrVia via, int fd, const char *path, char *buf, size_t size) {
        return via == XATTR_VIA_FD ? flistxattr(fd, buf, size)
               : via == XATTR_VIA_PROC_FD ? listxattr(path, buf, size)
                                          : llistxattr(path, buf, size);
}

static ssize_t via_get(XattrVia via, int fd, const char *path, const char *name, void *buf, size_t size) {
        return via == XATTR_VIA_FD ? fgetxattr(fd, name, buf, size)
               : via == XATTR_VIA_PROC_FD ? getxattr(path, name, buf, size)
                                          : lgetxattr(path, name, buf, size);
}

/* fd: the entry's fd (XATTR_VIA_FD, XATTR_VIA_PROC_FD) or its directory's (XATTR_VIA_DIR_NAME,
 * with name a single component from readdir). */
static int read_xattrs(int fd, XattrVia via, const char *name, TarEntry *te) {
        char proc[64 + NAME_MAX];
        if (via == XATTR_VIA_DIR_NAME)
                snprintf(proc, sizeof(proc), "/proc/self/fd/%i/%s", fd, name);
        else
                snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        ssize_t n = via_list(via, fd, proc, NULL, 0);
        if (n < 0)
                return errno == ENOTSUP ? 0 : negative_errno();
        if (n == 0)
                return 0;
        _cleanup_free_ char *names = malloc((size_t) n);
        if (!names)
                return -ENOMEM;
        n = via_list(via, fd, proc, names, (size_t) n);
        if (n < 0)
                return negative_errno();
        for (char *p = names; p < names + n; p += strlen(p) + 1) {
                ssize_t vl = via_get(via, fd, proc, p, NULL, 0);
                if (vl < 0)
                        return negative_errno();
                _cleanup_free_ void *v = malloc(MAX((size_t) vl, (size_t) 1));
                if (!v)
                        return -ENOMEM;
                vl = via_get(via, fd, proc, p, v, (size_t) vl);
                if (vl < 0)
                        return negative_errno();
                TarXattr *t = realloc(te->xattrs, (te->n_xattrs + 1) * sizeof(TarXattr));
                if (!t)
                        return -ENOMEM;
                te->xattrs = t;
                te->xattrs[te->n_xattrs] = (TarXattr) { .name = strdup(p), .value = TAKE_PTR(v), .size = (size_t) vl };
                if (!te->xattrs[te->n_xattrs].name) {
                        free(te->xattrs[te->n_xattrs].value);
                        return -ENOMEM;
                }
                te->n_xattrs++;
        }
        return 0;
}

static void fill_entry(TarEntry *te, const struct stat *st) {
        te->mode = st->st_mode;
        te->uid = st->st_uid;
        te->gid = st->st_gid;
        te->rdev = st->st_rdev;
        te->size = S_ISREG(st->st_mode) ? (uint64_t) st->st_size : 0;
        te->mtime = st->st_mtim;
        te->atime = st->st_atim;
        te->has_atime = true;
}

/* Data regions of fd as (offset, length) pairs; none when the file has no holes. */
static int data_map(int fd, uint64_t size, uint64_t **ret, size_t *ret_n, bool *ret_sparse) {
        _cleanup_free_ uint64_t *m = NULL;
        size_t n = 0, allocated = 0;
        uint64_t total = 0;
        off_t pos = 0;
        while ((uint64_t) pos < size) {
                off_t d = lseek(fd, pos, SEEK_DATA);
                if (d < 0) {
                        if (errno == ENXIO)
                                break;
                        if (errno == EINVAL || errno == EOPNOTSUPP) {
                                *ret_sparse = false;
                                return 0;
                        }
                        return negative_errno();
                }
                off_t h = lseek(fd, d, SEEK_HOLE);
                if (h < 0)
                        return negative_errno();
                if ((uint64_t) h > size)
                        h = (off_t) size;
                if (n + 1 > allocated) {
                        allocated = MAX(allocated * 2, (size_t) 8);
                        uint64_t *k = realloc(m, allocated * 2 * sizeof(uint64_t));
                        if (!k)
                                return -ENOMEM;
                        m = k;
                }
                m[2 * n] = (uint64_t) d;
                m[2 * n + 1] = (uint64_t) (h - d);
                total += (uint64_t) (h - d);
                n++;
                pos = h;
        }
        if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();
        *ret_sparse = total < size;
        if (*ret_sparse && n == 0) {
                /* All hole: one empty region at the end, as GNU tar writes it. */
                m = malloc(2 * sizeof(uint64_t));
                if (!m)
                        return -ENOMEM;
                m[0] = size;
                m[1] = 0;
                n = 1;
        }
        *ret = TAKE_PTR(m);
        *ret_n = n;
        return 0;
}

static int write_file_data(Exporter *e, int fd, uint64_t size, const uint64_t *map, size_t n_map, bool sparse) {
        /* For a sparse file: the data regions, with zeros written for the holes before each (the
         * writer drops them); nothing after the last region. */
        uint64_t end = size;
        if (sparse)
                end = n_map > 0 ? map[2 * (n_map - 1)] + map[2 * (n_map - 1) + 1] : 0;
        uint64_t pos = 0;
        size_t region = 0;
        while (pos < end) {
                if (interrupted())
                        return -EINTR;
                if (sparse) {
                        while (region < n_map && pos >= map[2 * region] + map[2 * region + 1])
                                region++;
                        if (region < n_map && pos < map[2 * region]) {
                                /* In a hole: zeros up to the next region. */
                                uint64_t k = MIN(map[2 * region] - pos, (uint64_t) EXPORT_BUF_SIZE);
                                memset(e->buf, 0, (size_t) k);
                                int r = tar_writer_data(e->w, e->buf, (size_t) k);
                                if (r < 0)
                                        return r;
                                pos += k;
                                continue;
                        }
                }
                size_t want = (size_t) MIN(end - pos, (uint64_t) EXPORT_BUF_SIZE);
                if (sparse && region < n_map)
                        want = (size_t) MIN((uint64_t) want, map[2 * region] + map[2 * region + 1] - pos);
                ssize_t n = pread(fd, e->buf, want, (off_t) pos);
                if (n < 0) {
                        if (errno == EINTR && !interrupted())
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -ENODATA; /* the file shrank under us */
                int r = tar_writer_data(e->w, e->buf, (size_t) n);
                if (r < 0)
                        return r;
                pos += (uint64_t) n;
                e->bytes += (uint64_t) n;
                if (e->o && e->o->progress)
                        e->o->progress(e->bytes, e->o->userdata);
        }
        return 0;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int export_dir(Exporter *e, int dir_fd, int base_fd, const char *rel, unsigned depth);

static bool xattrs_equal(const TarEntry *a, const TarEntry *b) {
        if (a->n_xattrs != b->n_xattrs)
                return false;
        for (size_t i = 0; i < a->n_xattrs; i++) {
                bool found = false;
                for (size_t k = 0; k < b->n_xattrs && !found; k++)
                        found = streq(a->xattrs[i].name, b->xattrs[k].name) &&
                                a->xattrs[i].size == b->xattrs[k].size &&
                                memcmp(a->xattrs[i].value, b->xattrs[k].value, a->xattrs[i].size) == 0;
                if (!found)
                        return false;
        }
        return true;
}

static int contents_equal(Exporter *e, int a, int b, uint64_t size) {
        _cleanup_free_ uint8_t *other = malloc(EXPORT_BUF_SIZE);
        if (!other)
                return -ENOMEM;
        for (uint64_t pos = 0; pos < size;) {
                if (interrupted())
                        return -EINTR;
                size_t want = (size_t) MIN(size - pos, (uint64_t) EXPORT_BUF_SIZE);
                ssize_t n = pread(a, e->buf, want, (off_t) pos), m = pread(b, other, want, (off_t) pos);
                if (n < 0 || m < 0)
                        return negative_errno();
                if (n != m || n == 0)
                        return 0;
                if (memcmp(e->buf, other, (size_t) n) != 0)
                        return 0;
                pos += (uint64_t) n;
        }
        return 1;
}

/* In a diff against the base tree: 1 when the base has name as it is in the tree (type, mode,
 * owner, device, size, mtime, symlink target, xattrs, contents), else 0. *ret_base_dir is the
 * base's directory of that name when both are directories (for the walk below it). */
static int same_as_base(
        Exporter *e, int dir_fd, int base_fd, const char *name, const struct stat *st, int *ret_base_dir) {
        struct stat bst;
        *ret_base_dir = -EBADF;
        if (base_fd < 0 || fstatat(base_fd, name, &bst, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        if (S_ISDIR(st->st_mode) && S_ISDIR(bst.st_mode)) {
                int k = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (k < 0)
                        return negative_errno();
                *ret_base_dir = k;
        }
        if ((st->st_mode & S_IFMT) != (bst.st_mode & S_IFMT) || st->st_mode != bst.st_mode ||
                st->st_uid != bst.st_uid || st->st_gid != bst.st_gid || st->st_mtim.tv_sec != bst.st_mtim.tv_sec ||
                st->st_mtim.tv_nsec != bst.st_mtim.tv_nsec ||
                ((S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) && st->st_rdev != bst.st_rdev) ||
                (S_ISREG(st->st_mode) && st->st_size != bst.st_size))
                return 0;
        int r;
        TarEntry a = {}, b = {};
        _cleanup_close_ int afd = -EBADF, bfd = -EBADF;
        if (S_ISLNK(st->st_mode)) {
                char ta[PATH_MAX], tb[PATH_MAX];
                ssize_t na = readlinkat(dir_fd, name, ta, sizeof(ta)), nb = readlinkat(base_fd, name, tb, sizeof(tb));
                if (na < 0 || nb < 0 || na != nb || memcmp(ta, tb, (size_t) na) != 0)
                        return 0;
                r = read_xattrs(dir_fd, XATTR_VIA_DIR_NAME, name, &a);
                if (r >= 0)
                        r = read_xattrs(base_fd, XATTR_VIA_DIR_NAME, name, &b);
        } else {
                int flags = S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) ? O_RDONLY | O_NOCTTY : O_PATH;
                afd = openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC);
                bfd = openat(base_fd, name, flags | O_NOFOLLOW | O_CLOEXEC);
                if (afd < 0 || bfd < 0)
                        return afd < 0 ? negative_errno() : 0;
                XattrVia via = flags == O_PATH ? XATTR_VIA_PROC_FD : XATTR_VIA_FD;
                r = read_xattrs(afd, via, NULL, &a);
                if (r >= 0)
                        r = read_xattrs(bfd, via, NULL, &b);
        }
        if (r >= 0)
                r = xattrs_equal(&a, &b);
        tar_entry_clear(&a);
        tar_entry_clear(&b);
        if (r > 0 && S_ISREG(st->st_mode))
                r = contents_equal(e, afd, bfd, (uint64_t) st->st_size);
        return r;
}

static int export_one(Exporter *e, int dir_fd, int base_fd, const char *name, const char *rel, unsigned depth) {
        struct stat st;
        int r;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        /* A diff against a base tree: what is as in the base is left out (a directory's entry,
         * not what is below it). */
        _cleanup_close_ int base_dir = -EBADF;
        bool same = false;
        if (base_fd >= 0 && !S_ISSOCK(st.st_mode)) {
                r = same_as_base(e, dir_fd, base_fd, name, &st, &base_dir);
                if (r < 0)
                        return r;
                same = r > 0;
                if (same && S_ISREG(st.st_mode) && st.st_nlink > 1) {
                        /* Known, so that a new link to it in this layer names it. */
                        const char *first;
                        if ((r = links_lookup(e, &st, rel, &first)) < 0)
                                return r;
                }
                if (same && !S_ISDIR(st.st_mode))
                        return 0;
                if (same) {
                        if (st.st_dev != e->dev)
                                return 0;
                        _cleanup_close_ int sub =
                                openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                return negative_errno();
                        return export_dir(e, sub, base_dir, rel, depth + 1);
                }
        }
        if (S_ISSOCK(st.st_mode)) {
                e->skipped++;
                return 0;
        }
        /* import-tar refuses control characters in paths (tar_path_normalize()), as a name made
         * to forge lines of output: refused here too, so that a round trip never fails late. */
        for (const char *c = name; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return diag_fail(e->diag, -EILSEQ, NULL, "control character in path (import-tar refuses it)");
        TarEntry te = {};
        te.path = (char *) rel;
        fill_entry(&te, &st);
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *target = NULL;
        _cleanup_free_ uint64_t *map = NULL;
        size_t n_map = 0;
        bool sparse = false;

        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
                const char *first;
                r = links_lookup(e, &st, rel, &first);
                if (r < 0)
                        return r;
                if (r > 0) {
                        te.hardlink = (char *) first;
                        r = tar_writer_header(e->w, &te, NULL, 0);
                        te.hardlink = NULL;
                        te.path = NULL;
                        return r;
                }
        }

        if (S_ISLNK(st.st_mode)) {
                size_t l = (size_t) st.st_size + 1;
                if (l < 2 || l > PATH_MAX)
                        l = PATH_MAX;
                target = malloc(l);
                if (!target)
                        return -ENOMEM;
                ssize_t n = readlinkat(dir_fd, name, target, l);
                if (n < 0)
                        return negative_errno();
                if ((size_t) n >= l)
                        return -ENAMETOOLONG;
                target[n] = 0;
                te.symlink = target;
                /* A symlink's xattrs (trusted.*, security.*), as GNU tar and bsdtar keep them. */
                r = read_xattrs(dir_fd, XATTR_VIA_DIR_NAME, name, &te);
                if (r < 0)
                        goto finish;
        } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
                fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
                if (fd < 0)
                        return negative_errno();
                r = read_xattrs(fd, XATTR_VIA_FD, NULL, &te);
                if (r < 0)
                        goto finish;
                if (S_ISREG(st.st_mode)) {
                        r = data_map(fd, (uint64_t) st.st_size, &map, &n_map, &sparse);
                        if (r < 0)
                                goto finish;
                }
        } else {
                fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                r = read_xattrs(fd, XATTR_VIA_PROC_FD, NULL, &te);
                if (r < 0)
                        goto finish;
        }

        r = tar_writer_header(e->w, &te, sparse ? map : NULL, sparse ? n_map : 0);
        if (r < 0)
                goto finish;
        if (S_ISREG(st.st_mode))
                r = write_file_data(e, fd, (uint64_t) st.st_size, map, n_map, sparse);
        else if (S_ISDIR(st.st_mode) && st.st_dev == e->dev)
                r = export_dir(e, fd, base_dir, rel, depth + 1);
finish:
        te.path = NULL;
        te.symlink = NULL;
        tar_entry_clear(&te);
        return r;
}

/* A directory stream of its own (fresh position) over dir_fd's directory, depth levels below the
 * tree's top; -ELOOP past EXPORT_DEPTH_MAX. */
static int open_dir_stream(int dir_fd, unsigned depth, DIR **ret) {
        if (depth > EXPORT_DEPTH_MAX)
                return -ELOOP;
        int kfd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (kfd < 0)
                return negative_errno();
        DIR *d = fdopendir(kfd);
        if (!d) {
                safe_close(kfd);
                return negative_errno();
        }
        *ret = d;
        return 0;
}

/* The sorted names of a directory (NULL when empty). */
static int read_names(int dir_fd, unsigned depth, char ***ret, size_t *ret_n) {
        DIR *d;
        int r = open_dir_stream(dir_fd, depth, &d);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (n + 2 > allocated) {
                        allocated = MAX(allocated * 2, (size_t) 32);
                        char **k = realloc(names, allocated * sizeof(char *));
                        if (!k) {
                                r = -ENOMEM;
                                break;
                        }
                        names = k;
                }
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        r = -ENOMEM;
                        break;
                }
                names[++n] = NULL;
        }
        closedir(d);
        if (r < 0)
                return r;
        if (n > 0)
                qsort(names, n, sizeof(char *), name_cmp);
        *ret = TAKE_PTR(names);
        *ret_n = n;
        return 0;
}

static int export_dir(Exporter *e, int dir_fd, int base_fd, const char *rel, unsigned depth) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int r = read_names(dir_fd, depth, &names, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = *rel ? strjoin(rel, "/", names[i]) : strdup(names[i]);
                if (!p)
                        return -ENOMEM;
                r = export_one(e, dir_fd, base_fd, names[i], p, depth);
                if (r < 0) {
                        /* The innermost entry is named: the directories above it failed with it. */
                        (void) diag_fail(e->diag, r, p, NULL);
                        return r;
                }
        }
        if (base_fd < 0)
                return 0;
        /* What the base has here and the tree does not: a whiteout (.wh.NAME) each. */
        _cleanup_strv_free_ char **gone = NULL;
        size_t n_gone = 0;
        if ((r = read_names(base_fd, depth, &gone, &n_gone)) < 0)
                return r;
        for (size_t i = 0; i < n_gone; i++) {
                if (n > 0 && bsearch(&gone[i], names, n, sizeof(char *), name_cmp))
                        continue;
                _cleanup_free_ char *p = strjoin(rel, *rel ? "/" : "", ".wh.", gone[i]);
                if (!p)
                        return -ENOMEM;
                TarEntry te = {.path = p, .mode = S_IFREG | 0644};
                if ((r = tar_writer_header(e->w, &te, NULL, 0)) < 0)
                        return diag_fail(e->diag, r, p, NULL);
                e->whiteouts++;
        }
        return 0;
}

int export_dlopen(bool tar, Diag *diag) {
        const char *detail;
        int r = dlopen_libarchive(&detail);
        if (r < 0)
                return diag_fail(diag, r, NULL, "%s (needed to %s)", detail,
                                 tar ? "write tar archives" : "compress raw images");
        return 0;
}

int export_tar(int tree_fd, int out_fd, const ExportOptions *o, uint64_t *ret_n_skipped, Diag *diag) {
        return export_tar_diff(tree_fd, -EBADF, out_fd, o, ret_n_skipped, NULL, diag);
}

int export_tar_diff(int tree_fd, int base_fd, int out_fd, const ExportOptions *o, uint64_t *ret_n_skipped,
        uint64_t *ret_n_whiteouts, Diag *diag) {
        Exporter e = { .o = o, .diag = diag };
        int r;
        struct stat st;
        if (fstat(tree_fd, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        e.dev = st.st_dev;
        e.buf = malloc(EXPORT_BUF_SIZE);
        if (!e.buf)
                return -ENOMEM;
        r = tar_writer_new(out_fd, o ? o->compress : COMPRESS_NONE, &e.w);
        if (r < 0)
                goto finish;

        /* The root as ".", then everything below it. */
        TarEntry root = { .path = (char *) "." };
        fill_entry(&root, &st);
        r = read_xattrs(tree_fd, XATTR_VIA_FD, NULL, &root);
        if (r >= 0)
                r = tar_writer_header(e.w, &root, NULL, 0);
        root.path = NULL;
        tar_entry_clear(&root);
        if (r >= 0)
                r = export_dir(&e, tree_fd, base_fd, "", 0);
        if (r >= 0)
                r = tar_writer_close(e.w);
finish:
        if (r >= 0 && ret_n_skipped)
                *ret_n_skipped = e.skipped;
        if (r >= 0 && ret_n_whiteouts)
                *ret_n_whiteouts = e.whiteouts;
        tar_writer_free(e.w);
        free(e.buf);
        for (size_t i = 0; i < e.allocated_links; i++)
                free(e.links[i].path);
        free(e.links);
        return r;
}

static int tree_size(int dir_fd, dev_t dev, unsigned depth, uint64_t *sum) {
        DIR *d;
        int r = open_dir_stream(dir_fd, depth, &d);
        if (r < 0)
                return r;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISREG(st.st_mode))
                        *sum += (uint64_t) st.st_size;
                else if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
                        _cleanup_close_ int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd >= 0 && (r = tree_size(fd, dev, depth + 1, sum)) < 0)
                                break;
                }
        }
        closedir(d);
        return r;
}

int export_tree_size(int tree_fd, uint64_t *ret) {
        struct stat st;
        if (fstat(tree_fd, &st) < 0)
                return negative_errno();
        uint64_t sum = 0;
        int r = tree_size(tree_fd, st.st_dev, 0, &sum);
        if (r < 0)
                return r;
        *ret = sum;
        return 0;
}
