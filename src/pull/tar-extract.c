/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safe tree writer.
 *
 * Untrusted input: every field of every TarEntry (paths, link targets, types, sizes, data offsets,
 * xattrs) comes from the archive. The rules:
 *  - paths are normalized and refused when absolute, containing "..", control characters, or over
 *    the limits (tar_path_normalize());
 *  - every parent directory is reached one component at a time from the root fd with openat2()
 *    RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV, so a symlink the
 *    archive created is never followed (an fd stack caches the current directory chain);
 *  - the entry itself is created with O_EXCL|O_NOFOLLOW / mkdirat / symlinkat / mknodat / linkat
 *    (flags 0: a hardlink to a symlink links the symlink), and an existing entry of that name is
 *    unlinked first (a directory replacing a directory keeps it; a non-empty directory is never
 *    replaced by something else);
 *  - hardlink targets are resolved the same way and must not be directories;
 *  - owner, mode, xattrs (security.capability last) and times are applied by fd after the content
 *    (a symlink's xattrs as its name in its directory's /proc/self/fd path, with lsetxattr);
 *    directory times at the end;
 *  - entry count, path length, depth and total size have named limits. */

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <search.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "acl-xattr.h"
#include "fd-util.h"
#include "rm-rf.h"
#include "tar-extract.h"
#include "util.h"

#define RESOLVE_SAFE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

typedef struct DirTimes {
        char *path;
        struct timespec ts[2];
} DirTimes;

typedef struct FdLevel {
        char *name;
        int fd;
} FdLevel;

struct TarExtract {
        int root_fd;
        ImportLimits limits;
        uint64_t n_entries;
        uint64_t total_size;
        uint64_t written; /* file data written (for the out-of-space message) */

        /* The fd stack: stack[i] is the directory reached by the first i+1 components. */
        FdLevel *stack;
        size_t n_stack, allocated_stack;

        DirTimes *dirs;
        size_t n_dirs, allocated_dirs;
        bool have_root_times;
        bool default_acl_seen; /* a directory got a default ACL: new entries may inherit it */
        struct timespec root_ts[2];

        Diag *diag; /* tar_extract_run()'s, while it runs */

        bool keep_nesting;
        char *moved_up; /* the top directory tar_extract_finish() moved the tree out of */

        /* Per TarWarning bit: entries that carried it, and the first one's path (reported once). */
        uint64_t warning_count[TAR_WARNING_KINDS];
        char *warning_first[TAR_WARNING_KINDS];

        /* OCI layer mode (tar_extract_set_oci_layer()): whiteouts, no move-up, and the paths this
         * layer created (a tsearch() tree of strings), which its whiteouts leave alone. */
        bool oci_layer;
        void *created;
        void *kept; /* directories of lower layers whose times are restored at the end */
};

_Static_assert(1U << TAR_WARNING_KINDS == _TAR_WARNING_MAX, "TAR_WARNING_KINDS");

static int note_warnings(TarExtract *x, const TarEntry *e) {
        for (unsigned i = 0; i < TAR_WARNING_KINDS; i++) {
                if (!(e->warnings & (1U << i)))
                        continue;
                if (x->warning_count[i]++ == 0 && !(x->warning_first[i] = strdup(e->path)))
                        return -ENOMEM;
        }
        return 0;
}

uint64_t tar_extract_warning(TarExtract *x, TarWarning w, const char **ret_first) {
        for (unsigned i = 0; i < TAR_WARNING_KINDS; i++)
                if (w == 1U << i) {
                        if (ret_first)
                                *ret_first = x->warning_first[i];
                        return x->warning_count[i];
                }
        if (ret_first)
                *ret_first = NULL;
        return 0;
}

ImportLimits import_limits_resolve(const ImportLimits *l) {
        ImportLimits r = l ? *l : (ImportLimits) {};
        if (r.max_entries == 0)
                r.max_entries = IMPORT_DEFAULT_MAX_ENTRIES;
        if (r.max_path == 0)
                r.max_path = IMPORT_DEFAULT_MAX_PATH;
        if (r.max_depth == 0)
                r.max_depth = IMPORT_DEFAULT_MAX_DEPTH;
        if (r.max_total_size == 0)
                r.max_total_size = IMPORT_DEFAULT_MAX_TOTAL_SIZE;
        return r;
}

int tar_path_normalize(const char *path, const ImportLimits *limits, char **ret, Diag *diag) {
        ImportLimits l = import_limits_resolve(limits);
        const char *reason = NULL;
        _cleanup_free_ char *out = NULL;
        int r = -EPERM;
        size_t len = strlen(path);

        if (len == 0) {
                reason = "empty path";
                goto refuse;
        }
        if (len > l.max_path) {
                reason = "path longer than the limit (--max-path)";
                r = -ENAMETOOLONG;
                goto refuse;
        }
        if (path[0] == '/') {
                reason = "absolute path";
                goto refuse;
        }
        for (const char *p = path; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                        reason = "control character in path";
                        goto refuse;
                }

        out = malloc(len + 1);
        if (!out)
                return -ENOMEM;
        size_t o = 0;
        uint64_t depth = 0;
        const char *p = path;
        while (*p) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);
                if (n == 0 || (n == 1 && p[0] == '.')) {
                        /* empty or "." component: skip */
                } else if (n == 2 && p[0] == '.' && p[1] == '.') {
                        reason = "path contains \"..\"";
                        goto refuse;
                } else {
                        if (n > NAME_MAX) {
                                reason = "path component longer than NAME_MAX";
                                r = -ENAMETOOLONG;
                                goto refuse;
                        }
                        if (++depth > l.max_depth) {
                                reason = "path deeper than the limit (--max-depth)";
                                r = -ELOOP;
                                goto refuse;
                        }
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
                if (*p == '/')
                        p++;
        }
        out[o] = 0;
        *ret = TAKE_PTR(out);
        return 0;

refuse:
        return diag_fail(diag, r, NULL, "%s", reason);
}

int tar_extract_new(int root_fd, const ImportLimits *limits, TarExtract **ret) {
        TarExtract *x = calloc(1, sizeof(TarExtract));
        if (!x)
                return -ENOMEM;
        x->root_fd = root_fd;
        x->limits = import_limits_resolve(limits);
        *ret = x;
        return 0;
}

static void stack_truncate(TarExtract *x, size_t n) {
        while (x->n_stack > n) {
                x->n_stack--;
                free(x->stack[x->n_stack].name);
                safe_close(x->stack[x->n_stack].fd);
        }
}

/* Drops the levels of the fd stack below parent, keeping parent (a borrowed fd the caller goes on
 * using) and its ancestors open; with parent the root (never on the stack), all of them. */
static void stack_truncate_below(TarExtract *x, int parent) {
        size_t keep = 0;
        for (size_t i = x->n_stack; i > 0; i--)
                if (x->stack[i - 1].fd == parent) {
                        keep = i;
                        break;
                }
        stack_truncate(x, keep);
}

TarExtract *tar_extract_free(TarExtract *x) {
        if (!x)
                return NULL;
        stack_truncate(x, 0);
        free(x->stack);
        for (size_t i = 0; i < x->n_dirs; i++)
                free(x->dirs[i].path);
        free(x->dirs);
        for (unsigned i = 0; i < TAR_WARNING_KINDS; i++)
                free(x->warning_first[i]);
        tdestroy(x->created, free);
        tdestroy(x->kept, free);
        free(x->moved_up);
        free(x);
        return NULL;
}

uint64_t tar_extract_n_entries(TarExtract *x) {
        return x->n_entries;
}

uint64_t tar_extract_written(TarExtract *x) {
        return x->written;
}

/* Records why (the first failure explains) and returns r. */
static int fail(TarExtract *x, int r, const char *reason) {
        if (!diag_failed(x->diag))
                (void) diag_fail(x->diag, r, NULL, "%s", reason);
        return r;
}

/* Why an openat2 of a single component failed, in words. */
static int resolve_fail(TarExtract *x, int r) {
        switch (r) {
        case -ELOOP:
                return fail(x, -EPERM, "path leads through a symlink");
        case -ENOTDIR:
                return fail(x, r, "a parent is not a directory");
        case -EXDEV:
                return fail(x, -EPERM, "path leaves the tree");
        default:
                return r;
        }
}

void tar_extract_set_oci_layer(TarExtract *x) {
        x->oci_layer = true;
}

static int created_cmp(const void *a, const void *b) {
        return strcmp(a, b);
}

static int created_add(TarExtract *x, const char *path) {
        if (!x->oci_layer || tfind(path, &x->created, created_cmp))
                return 0;
        char *c = strdup(path);
        if (!c)
                return -ENOMEM;
        if (!tsearch(c, &x->created, created_cmp)) {
                free(c);
                return -ENOMEM;
        }
        return 0;
}

static bool created_has(TarExtract *x, const char *dir, const char *name) {
        _cleanup_free_ char *p = *dir ? strjoin(dir, "/", name) : strdup(name);
        return p && tfind(p, &x->created, created_cmp);
}

static int keep_dir_times(TarExtract *x, const char *dir);

/* An OCI whiteout (image-spec layer.md): ".wh.NAME" removes NAME of the lower layers from dir,
 * ".wh..wh..opq" every lower entry of dir. dir is normalized ("" = root) and reached without
 * following any symlink; a whiteout below a missing directory hides nothing. */
static int apply_whiteout(TarExtract *x, const char *dir, const char *name) {
        static const char opaque[] = ".wh..wh..opq";
        const char *target = name + strlen(".wh.");
        if (!streq(name, opaque) && (!*target || startswith(target, ".wh.")))
                return fail(x, -EPERM, "invalid whiteout name");
        /* What is removed may be on the fd stack. */
        stack_truncate(x, 0);
        _cleanup_close_ int dfd = openat2_resolve(x->root_fd, *dir ? dir : ".", O_RDONLY | O_DIRECTORY, 0, RESOLVE_SAFE);
        if (dfd == -ENOENT)
                return 0;
        if (dfd < 0)
                return resolve_fail(x, dfd);
        int k = keep_dir_times(x, dir);
        if (k < 0)
                return k;
        if (!streq(name, opaque)) {
                if (created_has(x, dir, target))
                        return 0;
                int r = rm_rf_at(dfd, target);
                return r == -ENOENT ? 0 : r;
        }
        _cleanup_closedir_ DIR *d = NULL;
        int r = opendir_fd(dfd, &d);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **doomed = NULL;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (!created_has(x, dir, de->d_name) && strv_extend(&doomed, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (errno > 0)
                return -errno;
        for (char **c = doomed; c && *c; c++) {
                r = rm_rf_at(dfd, *c);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return 0;
}

/* Returns a borrowed fd of the directory dir (normalized, "" = root), creating missing
 * components (0755, root-owned) the way tar does for archives without directory entries. */
static int get_dir(TarExtract *x, const char *dir) {
        size_t level = 0;
        const char *p = dir;
        /* Keep the common prefix of the stack. */
        while (*p && level < x->n_stack) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);
                if (strlen(x->stack[level].name) != n || memcmp(x->stack[level].name, p, n) != 0)
                        break;
                level++;
                p += n;
                if (*p == '/')
                        p++;
        }
        stack_truncate(x, level);
        while (*p) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);
                _cleanup_free_ char *name = strndup(p, n);
                if (!name)
                        return -ENOMEM;
                int parent = x->n_stack > 0 ? x->stack[x->n_stack - 1].fd : x->root_fd;
                int fd = openat2_resolve(parent, name, O_PATH | O_DIRECTORY, 0, RESOLVE_SAFE);
                if (fd == -ENOENT) {
                        if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
                                return negative_errno();
                        fd = openat2_resolve(parent, name, O_PATH | O_DIRECTORY, 0, RESOLVE_SAFE);
                }
                if (fd < 0)
                        return resolve_fail(x, fd);
                if (x->n_stack >= x->allocated_stack) {
                        size_t k = MAX(x->allocated_stack * 2, (size_t) 16);
                        FdLevel *s = realloc(x->stack, k * sizeof(FdLevel));
                        if (!s) {
                                safe_close(fd);
                                return -ENOMEM;
                        }
                        x->stack = s;
                        x->allocated_stack = k;
                }
                x->stack[x->n_stack++] = (FdLevel) { .name = TAKE_PTR(name), .fd = fd };
                p += n;
                if (*p == '/')
                        p++;
        }
        return x->n_stack > 0 ? x->stack[x->n_stack - 1].fd : x->root_fd;
}

/* Makes room for a new entry "name" in parent: removes an existing non-directory; an existing
 * directory is kept when keep_dir (returns 1), removed when empty, refused when not. Never follows. */
static int make_room(TarExtract *x, int parent, const char *name, bool keep_dir) {
        struct stat st;
        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISDIR(st.st_mode)) {
                if (keep_dir)
                        return 1;
                /* The directory may be on the fd stack (below parent): drop those levels before
                 * removing it, but not parent itself, which is used right below and by the caller
                 * (dropping the whole stack closed it: "a/", "a/b/", then a file "a/b" failed
                 * with EBADF). */
                stack_truncate_below(x, parent);
                if (unlinkat(parent, name, AT_REMOVEDIR) < 0) {
                        if (errno == ENOTEMPTY || errno == EEXIST)
                                return fail(x, -ENOTEMPTY, "would replace a non-empty directory");
                        return negative_errno();
                }
                return 0;
        }
        if (unlinkat(parent, name, 0) < 0)
                return negative_errno();
        return 0;
}

static bool xattr_is_capability(const TarXattr *a) {
        return streq(a->name, "security.capability");
}

/* Applies xattrs through fd, or through path (via /proc/self/fd of an O_PATH fd) when fd is a
 * path-only fd; security.capability last because chown clears it. */
static int apply_xattrs(TarExtract *x, int fd, bool path_only, const TarEntry *e) {
        char proc[64];
        if (path_only)
                snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < e->n_xattrs; i++) {
                        const TarXattr *a = &e->xattrs[i];
                        if (xattr_is_capability(a) != (pass == 1))
                                continue;
                        int k = path_only ? setxattr(proc, a->name, a->value, a->size, 0)
                                          : fsetxattr(fd, a->name, a->value, a->size, 0);
                        if (k < 0)
                                return fail(x, negative_errno(), "cannot set an extended attribute");
                }
        return 0;
}

/* The same for a symlink: name (one component) in the directory parent, never followed. */
static int apply_xattrs_at(TarExtract *x, int parent, const char *name, const TarEntry *e) {
        if (e->n_xattrs == 0)
                return 0;
        char path[64 + NAME_MAX];
        snprintf(path, sizeof(path), "/proc/self/fd/%i/%s", parent, name);
        for (size_t i = 0; i < e->n_xattrs; i++) {
                const TarXattr *a = &e->xattrs[i];
                if (lsetxattr(path, a->name, a->value, a->size, 0) < 0)
                        return fail(x, negative_errno(), "cannot set an extended attribute");
        }
        return 0;
}

/* An entry created below a directory with a default ACL inherits it; the archive's word is
 * what counts, so inherited ACLs the entry does not carry are removed. */
static int drop_inherited_acls(TarExtract *x, int fd, bool path_only, const TarEntry *e) {
        if (!x->default_acl_seen)
                return 0;
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        static const char *const names[] = { ACL_XATTR_ACCESS, ACL_XATTR_DEFAULT };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                if (i == 1 && !S_ISDIR(e->mode))
                        break;
                if (tar_entry_has_xattr(e, names[i]))
                        continue;
                int k = path_only ? removexattr(proc, names[i]) : fremovexattr(fd, names[i]);
                if (k < 0 && errno != ENODATA && errno != ENOTSUP)
                        return negative_errno();
        }
        return 0;
}

static void note_default_acl(TarExtract *x, const TarEntry *e) {
        if (S_ISDIR(e->mode) && tar_entry_has_xattr(e, ACL_XATTR_DEFAULT))
                x->default_acl_seen = true;
}

static int apply_meta_fd(TarExtract *x, int fd, const TarEntry *e, bool times) {
        if (fchown(fd, e->uid, e->gid) < 0)
                return negative_errno();
        int r = drop_inherited_acls(x, fd, false, e);
        if (r < 0)
                return r;
        note_default_acl(x, e);
        if (fchmod(fd, e->mode & 07777) < 0)
                return negative_errno();
        r = apply_xattrs(x, fd, false, e);
        if (r < 0)
                return r;
        if (times) {
                struct timespec ts[2] = { e->has_atime ? e->atime : e->mtime, e->mtime };
                if (futimens(fd, ts) < 0)
                        return negative_errno();
        }
        return 0;
}

static int record_dir_times(TarExtract *x, const char *path, const TarEntry *e) {
        struct timespec ts[2] = { e->has_atime ? e->atime : e->mtime, e->mtime };
        if (!*path) {
                x->have_root_times = true;
                memcpy(x->root_ts, ts, sizeof(ts));
                return 0;
        }
        if (x->n_dirs >= x->allocated_dirs) {
                size_t k = MAX(x->allocated_dirs * 2, (size_t) 64);
                DirTimes *d = realloc(x->dirs, k * sizeof(DirTimes));
                if (!d)
                        return -ENOMEM;
                x->dirs = d;
                x->allocated_dirs = k;
        }
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        x->dirs[x->n_dirs].path = p;
        memcpy(x->dirs[x->n_dirs].ts, ts, sizeof(ts));
        x->n_dirs++;
        return 0;
}

/* OCI layer mode: a directory of a lower layer that this layer changes without an entry of its own
 * keeps its times (as umoci and containers' storage apply layers): they are recorded before the
 * first change and set again by tar_extract_finish() (a later entry for it wins). */
static int keep_dir_times(TarExtract *x, const char *dir) {
        if (!x->oci_layer || tfind(dir, &x->created, created_cmp) || tfind(dir, &x->kept, created_cmp))
                return 0;
        _cleanup_close_ int fd = openat2_resolve(x->root_fd, *dir ? dir : ".", O_PATH | O_DIRECTORY, 0, RESOLVE_SAFE);
        if (fd < 0)
                return 0; /* created by this layer, or refused where it is used */
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        char *c = strdup(dir);
        if (!c)
                return -ENOMEM;
        if (!tsearch(c, &x->kept, created_cmp)) {
                free(c);
                return -ENOMEM;
        }
        TarEntry e = { .mtime = st.st_mtim, .atime = st.st_atim, .has_atime = true };
        return record_dir_times(x, dir, &e);
}

static int extract_dir(TarExtract *x, int parent, const char *name, const char *path, const TarEntry *e) {
        int r;
        _cleanup_close_ int fd = -EBADF;
        if (!*path)
                fd = openat2_resolve(x->root_fd, ".", O_RDONLY | O_DIRECTORY, 0, RESOLVE_SAFE);
        else {
                r = make_room(x, parent, name, true);
                if (r < 0)
                        return r;
                if (r == 0 && mkdirat(parent, name, 0700) < 0)
                        return negative_errno();
                fd = openat2_resolve(parent, name, O_RDONLY | O_DIRECTORY, 0, RESOLVE_SAFE);
        }
        if (fd < 0)
                return resolve_fail(x, fd);
        r = apply_meta_fd(x, fd, e, false);
        if (r < 0)
                return r;
        return record_dir_times(x, path, e);
}

static int extract_file(TarExtract *x, TarReader *rd, int parent, const char *name, const TarEntry *e) {
        if (e->size > x->limits.max_total_size - x->total_size)
                return fail(x, -EFBIG, "total unpacked size over the limit (--max-size)");
        x->total_size += e->size;

        int r = make_room(x, parent, name, false);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return negative_errno();

        uint64_t pos = 0;
        for (;;) {
                const void *buf;
                size_t size;
                uint64_t offset;
                r = tar_reader_data(rd, &buf, &size, &offset);
                if (r < 0)
                        return fail(x, r, "corrupt archive data");
                if (r == 0)
                        break;
                if (interrupted())
                        return -EINTR;
                if (offset > e->size || size > e->size - offset)
                        return fail(x, -EBADMSG, "data beyond the file size (bad sparse map)");
                if (size == 0)
                        continue;
                if (offset == pos) {
                        r = loop_write(fd, buf, size);
                        if (r < 0)
                                return r;
                        x->written += size;
                } else {
                        const uint8_t *b = buf;
                        size_t left = size;
                        uint64_t off = offset;
                        while (left > 0) {
                                ssize_t n = pwrite(fd, b, left, (off_t) off);
                                if (n < 0) {
                                        if (errno == EINTR && !interrupted())
                                                continue;
                                        return negative_errno();
                                }
                                b += n;
                                left -= (size_t) n;
                                off += (uint64_t) n;
                        }
                        x->written += size;
                        if (lseek(fd, (off_t) (offset + size), SEEK_SET) < 0)
                                return negative_errno();
                }
                pos = offset + size;
        }
        if (pos < e->size && ftruncate(fd, (off_t) e->size) < 0)
                return negative_errno();
        return apply_meta_fd(x, fd, e, true);
}

static int extract_symlink(TarExtract *x, int parent, const char *name, const TarEntry *e) {
        if (!e->symlink || !*e->symlink)
                return fail(x, -EBADMSG, "symlink without a target");
        if (strlen(e->symlink) >= PATH_MAX)
                return fail(x, -ENAMETOOLONG, "symlink target too long");
        int r = make_room(x, parent, name, false);
        if (r < 0)
                return r;
        if (symlinkat(e->symlink, parent, name) < 0)
                return negative_errno();
        if (fchownat(parent, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        /* Symlinks carry no mode, but xattrs (trusted.*, security.*), as GNU tar and bsdtar keep
         * them. An O_PATH fd of a symlink cannot take them (fsetxattr: EBADF; lsetxattr of its
         * /proc/self/fd path acts on that magic link), so they are set as name in parent's
         * /proc/self/fd path with lsetxattr, which never follows name: the symlink just made, in
         * the private tree only this import writes to. */
        r = apply_xattrs_at(x, parent, name, e);
        if (r < 0)
                return r;
        struct timespec ts[2] = { e->has_atime ? e->atime : e->mtime, e->mtime };
        if (utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        return 0;
}

static int extract_node(TarExtract *x, int parent, const char *name, const TarEntry *e) {
        int r = make_room(x, parent, name, false);
        if (r < 0)
                return r;
        if (mknodat(parent, name, (e->mode & S_IFMT) | 0600, S_ISCHR(e->mode) || S_ISBLK(e->mode) ? e->rdev : 0) < 0)
                return negative_errno();
        /* A fifo or device cannot be opened for its metadata: use an O_PATH fd of the node we
         * just made (NO_SYMLINKS: it is ours, not a symlink) and its /proc/self/fd path. */
        _cleanup_close_ int fd = openat2_resolve(parent, name, O_PATH, 0, RESOLVE_SAFE);
        if (fd < 0)
                return resolve_fail(x, fd);
        if (fchownat(fd, "", e->uid, e->gid, AT_EMPTY_PATH) < 0)
                return negative_errno();
        r = drop_inherited_acls(x, fd, true, e);
        if (r < 0)
                return r;
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        if (chmod(proc, e->mode & 07777) < 0)
                return negative_errno();
        r = apply_xattrs(x, fd, true, e);
        if (r < 0)
                return r;
        struct timespec ts[2] = { e->has_atime ? e->atime : e->mtime, e->mtime };
        if (utimensat(AT_FDCWD, proc, ts, 0) < 0)
                return negative_errno();
        return 0;
}

static int extract_hardlink(TarExtract *x, int parent, const char *name, const char *path, const TarEntry *e) {
        _cleanup_free_ char *target = NULL;
        /* A Diag of its own: the target's refusal is worded anew. */
        _cleanup_diag_ Diag nd = DIAG_INIT;
        int r = tar_path_normalize(e->hardlink, &x->limits, &target, &nd);
        const char *reason = nd.cause;
        if (r < 0)
                return fail(x, r, reason && streq(reason, "absolute path") ? "hardlink target is an absolute path"
                                  : reason && strstr(reason, "..")      ? "hardlink target contains \"..\""
                                                                         : "bad hardlink target");
        if (!*target)
                return fail(x, -EPERM, "hardlink to a directory");
        if (streq(target, path))
                return 0; /* a link to itself: nothing to do */

        char *slash = strrchr(target, '/');
        const char *tname = slash ? slash + 1 : target;
        _cleanup_close_ int tdir = -EBADF;
        if (slash) {
                *slash = 0;
                tdir = openat2_resolve(x->root_fd, target, O_PATH | O_DIRECTORY, 0, RESOLVE_SAFE);
                if (tdir == -ENOENT)
                        return fail(x, -ENOENT, "hardlink target does not exist");
                if (tdir < 0)
                        return resolve_fail(x, tdir);
        }
        int tfd = slash ? tdir : x->root_fd;
        struct stat st;
        if (fstatat(tfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return fail(x, -ENOENT, "hardlink target does not exist");
                return negative_errno();
        }
        if (S_ISDIR(st.st_mode))
                return fail(x, -EPERM, "hardlink to a directory");
        r = make_room(x, parent, name, false);
        if (r < 0)
                return r;
        /* flags 0: never follow a symlink target, link the symlink itself. */
        if (linkat(tfd, tname, parent, name, 0) < 0)
                return negative_errno();
        return 0;
}

static int extract_entry(TarExtract *x, TarReader *rd, const TarEntry *e) {
        _cleanup_free_ char *path = NULL;
        int r = tar_path_normalize(e->path, &x->limits, &path, x->diag);
        if (r < 0)
                return r;

        if (!*path) {
                if (e->hardlink || !S_ISDIR(e->mode))
                        return fail(x, -EPERM, "the tree root would not be a directory");
                return extract_dir(x, -EBADF, NULL, path, e);
        }

        char *slash = strrchr(path, '/');
        const char *name = slash ? slash + 1 : path;
        if (x->oci_layer && startswith(name, ".wh.")) {
                if (slash)
                        *slash = 0;
                r = apply_whiteout(x, slash ? path : "", name);
                if (slash)
                        *slash = '/';
                return r;
        }
        if (slash)
                *slash = 0;
        r = keep_dir_times(x, slash ? path : "");
        if (slash)
                *slash = '/';
        if (r < 0 || (r = created_add(x, path)) < 0)
                return r;
        int parent;
        if (slash) {
                *slash = 0;
                parent = get_dir(x, path);
                *slash = '/';
        } else
                parent = get_dir(x, "");
        if (parent < 0)
                return parent;

        if (e->hardlink)
                return extract_hardlink(x, parent, name, path, e);
        switch (e->mode & S_IFMT) {
        case S_IFDIR:
                return extract_dir(x, parent, name, path, e);
        case S_IFREG:
                return extract_file(x, rd, parent, name, e);
        case S_IFLNK:
                return extract_symlink(x, parent, name, e);
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
        case S_IFSOCK:
                return extract_node(x, parent, name, e);
        default:
                return fail(x, -EBADMSG, "unsupported entry type");
        }
}

int tar_extract_run(TarExtract *x, TarReader *rd, Diag *diag) {
        TarEntry e = {};
        int r;
        x->diag = diag;
        for (;;) {
                if (interrupted()) {
                        r = -EINTR;
                        break;
                }
                r = tar_reader_next(rd, &e, diag);
                if (r <= 0) {
                        if (r == -EBADMSG || r == -ERANGE)
                                (void) fail(x, r, "corrupt archive");
                        if (r < 0 && e.path)
                                (void) diag_fail(diag, r, e.path, NULL);
                        break;
                }
                if (++x->n_entries > x->limits.max_entries) {
                        r = fail(x, -E2BIG, "more entries than the limit (--max-entries)");
                        (void) diag_fail(diag, r, e.path, NULL);
                        break;
                }
                r = extract_entry(x, rd, &e);
                if (r >= 0)
                        r = note_warnings(x, &e);
                if (r < 0) {
                        /* The entry it failed at (an interruption concerns none). */
                        if (r != -EINTR)
                                (void) diag_fail(diag, r, e.path, NULL);
                        break;
                }
        }
        tar_entry_clear(&e);
        stack_truncate(x, 0);
        x->diag = NULL;
        return r;
}

/* Whether the tree below dir_fd is an OS tree by systemd's rule (path_is_os_tree()): it has
 * etc/os-release or usr/lib/os-release, symlinks resolved inside the tree. */
static int is_os_tree(int dir_fd) {
        static const char *const markers[] = { "etc/os-release", "usr/lib/os-release" };
        for (size_t i = 0; i < ELEMENTSOF(markers); i++) {
                _cleanup_close_ int fd = openat2_resolve(dir_fd, markers[i], O_PATH, 0,
                                                         RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
                if (fd >= 0) {
                        struct stat st;
                        if (fstat(fd, &st) < 0)
                                return negative_errno();
                        if (S_ISREG(st.st_mode))
                                return 1;
                        continue;
                }
                if (fd != -ENOENT && fd != -ENOTDIR && fd != -ELOOP && fd != -EXDEV && fd != -EACCES)
                        return fd;
        }
        return 0;
}

int tree_move_up_nested(int root_fd, char **ret_top) {
        /* systemd's import_mangle_os_tree(): the tree is not an OS tree itself, holds exactly one
         * entry, that entry is a directory (not a symlink to one) and an OS tree. */
        int r = is_os_tree(root_fd);
        if (r != 0)
                return r < 0 ? r : 0;
        _cleanup_close_ int dfd = openat2_resolve(root_fd, ".", O_RDONLY | O_DIRECTORY, 0, RESOLVE_SAFE);
        if (dfd < 0)
                return dfd;
        DIR *d = fdopendir(dfd);
        if (!d)
                return negative_errno();
        TAKE_FD(dfd);
        _cleanup_free_ char *top = NULL;
        unsigned n = 0;
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (++n > 1)
                        break;
                top = strdup(de->d_name);
                if (!top) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        r = errno > 0 && !de ? -errno : 0;
        closedir(d);
        if (r < 0)
                return r;
        if (n != 1)
                return 0;
        /* NO_SYMLINKS: a symlink as the single entry is left alone. */
        _cleanup_close_ int tfd = openat2_resolve(root_fd, top, O_RDONLY | O_DIRECTORY, 0, RESOLVE_SAFE);
        if (tfd < 0)
                return tfd == -ENOTDIR || tfd == -ELOOP || tfd == -EXDEV ? 0 : tfd;
        struct stat st, rst;
        if (fstat(tfd, &st) < 0 || fstat(root_fd, &rst) < 0)
                return negative_errno();
        /* Another file system or btrfs subvolume (import-fs of a tree holding one): renames out of
         * it would fail half-way; it stays as it is. */
        if (st.st_dev != rst.st_dev)
                return 0;
        r = is_os_tree(tfd);
        if (r <= 0)
                return r;

        /* The top directory first gets a random hidden name, so that none of its children (a top
         * "usr" holding "usr/") collides with it; then every child moves up. Nothing replaces
         * anything (RENAME_NOREPLACE). This runs in the hidden temporary tree: a failure or a
         * kill half-way leaves nothing visible. */
        _cleanup_free_ char *rnd = NULL;
        r = random_hex(16, &rnd);
        if (r < 0)
                return r;
        _cleanup_free_ char *tmp = strjoin(".#moveup.", rnd);
        if (!tmp)
                return -ENOMEM;
        if (renameat2(root_fd, top, root_fd, tmp, RENAME_NOREPLACE) < 0)
                return negative_errno();
        int kfd = fcntl(tfd, F_DUPFD_CLOEXEC, 3);
        if (kfd < 0)
                return negative_errno();
        DIR *k = fdopendir(kfd);
        if (!k) {
                safe_close(kfd);
                return negative_errno();
        }
        r = 0;
        for (;;) {
                errno = 0;
                de = readdir(k);
                if (!de) {
                        r = errno > 0 ? -errno : 0;
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (renameat2(tfd, de->d_name, root_fd, de->d_name, RENAME_NOREPLACE) < 0) {
                        r = negative_errno();
                        break;
                }
        }
        closedir(k);
        if (r < 0)
                return r;
        if (unlinkat(root_fd, tmp, AT_REMOVEDIR) < 0)
                return negative_errno();
        /* The root takes the top directory's owner, mode and times. */
        _cleanup_close_ int rfd = openat2_resolve(root_fd, ".", O_RDONLY | O_DIRECTORY, 0, RESOLVE_SAFE);
        if (rfd < 0)
                return rfd;
        if (fchown(rfd, st.st_uid, st.st_gid) < 0 || fchmod(rfd, st.st_mode & 07777) < 0)
                return negative_errno();
        struct timespec ts[2] = { st.st_atim, st.st_mtim };
        if (futimens(rfd, ts) < 0)
                return negative_errno();
        if (ret_top)
                *ret_top = TAKE_PTR(top);
        return 1;
}

void tar_extract_set_keep_nesting(TarExtract *x, bool keep) {
        x->keep_nesting = keep;
}

const char *tar_extract_moved_up(TarExtract *x) {
        return x->moved_up;
}

int tar_extract_finish(TarExtract *x) {
        /* In archive order, so a later duplicate wins; setting a directory's times never changes
         * its parent's. */
        for (size_t i = 0; i < x->n_dirs; i++) {
                DirTimes *d = &x->dirs[i];
                _cleanup_close_ int fd = openat2_resolve(x->root_fd, d->path, O_RDONLY | O_DIRECTORY, 0, RESOLVE_SAFE);
                if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
                        continue; /* replaced by a later entry */
                if (fd < 0)
                        return fd;
                if (futimens(fd, d->ts) < 0)
                        return negative_errno();
        }
        if (x->have_root_times) {
                _cleanup_close_ int fd = openat2_resolve(x->root_fd, ".", O_RDONLY | O_DIRECTORY, 0, RESOLVE_SAFE);
                if (fd < 0)
                        return fd;
                if (futimens(fd, x->root_ts) < 0)
                        return negative_errno();
        }
        if (x->keep_nesting || x->oci_layer)
                return 0;
        free(x->moved_up);
        x->moved_up = NULL;
        int r = tree_move_up_nested(x->root_fd, &x->moved_up);
        return r < 0 ? r : 0;
}
