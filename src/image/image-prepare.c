/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>

#include "btrfs-util.h"
#include "fd-util.h"
#include "image-prepare-internal.h"
#include "image.h"
#include "rm-rf.h"
#include "string-table.h"
#include "util.h"

/* The prepared root the spawn engine runs: -D DIR, -M NAME, --template population and -x
 * throw-away copies; a raw image (-i FILE, -M NAME of NAME.raw) is image-prepare-raw.c's. The only
 * untrusted input here is the tree itself, which is looked at only through
 * openat2(RESOLVE_IN_ROOT) (os-release) and never written to. */

static const char *const prepared_root_kind_table[_PREPARED_ROOT_KIND_MAX] = {
        [PREPARED_IN_PLACE] = "in place",
        [PREPARED_SNAPSHOT] = "btrfs snapshot",
        [PREPARED_OVERLAY] = "overlayfs",
        [PREPARED_COPY] = "copy",
        [PREPARED_MOUNTED] = "mounted raw image",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(prepared_root_kind, PreparedRootKind);

int dir_is_os_tree(int dir_fd) {
        static const char *const files[] = {"etc/os-release", "usr/lib/os-release"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                int fd = openat2_resolve(dir_fd, files[i], O_PATH, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                if (fd >= 0) {
                        safe_close(fd);
                        return 1;
                }
                if (fd != -ENOENT && fd != -ENOTDIR && fd != -ELOOP)
                        return fd;
        }
        return 0;
}

int dir_has_usr(int dir_fd) {
        /* As nspawn's laccess(): the entry itself, a symlink (merged /usr elsewhere) counts too. */
        struct stat st;
        if (fstatat(dir_fd, "usr", &st, AT_SYMLINK_NOFOLLOW) >= 0)
                return 1;
        return errno == ENOENT ? 0 : negative_errno();
}

static int prepared_root_alloc(PreparedRoot **ret) {
        PreparedRoot *p = calloc(1, sizeof(PreparedRoot));
        if (!p)
                return -ENOMEM;
        p->fd = -EBADF;
        p->parent_fd = -EBADF;
        p->image_lock = IMAGE_LOCK_NULL;
        p->hidden_lock = IMAGE_LOCK_NULL;
        p->kind = PREPARED_IN_PLACE;
        *ret = p;
        return 0;
}

/* Opens the tree to run, path relative to dir_fd (or AT_FDCWD) with open_flags added to
 * O_RDONLY|O_DIRECTORY|O_CLOEXEC, as p->fd. Whether it is an OS tree is the caller's to check
 * (dir_is_os_tree, dir_has_usr): what is required depends on how it is run (systemd-nspawn wants
 * os-release only to boot). */
static int prepared_root_open_tree(PreparedRoot *p, int dir_fd, const char *path, int open_flags) {
        p->fd = openat(dir_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | open_flags);
        return p->fd < 0 ? negative_errno() : 0;
}

/* Splits an absolute, normalized path into its parent and last component. */
static int split_path(const char *path, char **ret_parent, char **ret_base) {
        const char *slash = strrchr(path, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        char *parent = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        char *base = strdup(slash + 1);
        if (!parent || !base) {
                free(parent);
                free(base);
                return -ENOMEM;
        }
        *ret_parent = parent;
        *ret_base = base;
        return 0;
}

/* Makes the -D path absolute and symlink-free (it comes from the trusted command line); the last
 * component may be missing (--template creates it). */
static int directory_canonicalize(const char *dir, char **ret) {
        char *p = realpath(dir, NULL);
        if (p) {
                *ret = p;
                return 0;
        }
        if (errno != ENOENT)
                return negative_errno();

        _cleanup_free_ char *copy = strdup(dir);
        if (!copy)
                return -ENOMEM;
        for (size_t l = strlen(copy); l > 1 && copy[l - 1] == '/'; l--)
                copy[l - 1] = 0;
        char *slash = strrchr(copy, '/');
        const char *base = slash ? slash + 1 : copy;
        if (!*base || streq(base, ".") || streq(base, ".."))
                return -ENOENT;
        _cleanup_free_ char *parent = NULL;
        if (!slash)
                parent = realpath(".", NULL);
        else if (slash == copy)
                parent = strdup("/");
        else {
                *slash = 0;
                parent = realpath(copy, NULL);
        }
        if (!parent)
                return negative_errno();
        char *s = streq(parent, "/") ? strjoin("/", base) : strjoin(parent, "/", base);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int populate_from_template(const char *template_dir, int parent_fd, const char *base, CloneMethod *ret) {
        _cleanup_close_ int tfd = open(template_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tfd < 0)
                return negative_errno();
        /* clone_tree leaves nothing at base on failure; a concurrent run that populated it first
         * makes us use its result. */
        int r = clone_tree(tfd, parent_fd, base, CLONE_LADDER, ret);
        if (r == -EEXIST)
                return 0;
        return r;
}

static int make_overlay_entry(PreparedRoot *p) {
        if (mkdirat(p->parent_fd, p->hidden_name, 0700) < 0)
                return negative_errno();
        _cleanup_close_ int efd =
                openat(p->parent_fd, p->hidden_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (efd < 0)
                return negative_errno();
        static const char *const subdirs[] = {"upper", "work", "root"};
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++)
                if (mkdirat(efd, subdirs[i], 0755) < 0)
                        return negative_errno();
        /* The upper layer's root becomes the container's "/": it takes the image root's mode and
         * owner, as a copy would. */
        struct stat st;
        if (fstat(p->fd, &st) < 0)
                return negative_errno();
        _cleanup_close_ int ufd = openat(efd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (ufd < 0 || fchown(ufd, st.st_uid, st.st_gid) < 0 || fchmod(ufd, st.st_mode & 07777) < 0)
                return negative_errno();

        const char *sep = streq(p->parent_path, "/") ? "" : "/";
        p->overlay_upper = strjoin(p->parent_path, sep, p->hidden_name, "/upper");
        p->overlay_work = strjoin(p->parent_path, sep, p->hidden_name, "/work");
        p->overlay_mountpoint = strjoin(p->parent_path, sep, p->hidden_name, "/root");
        if (!p->overlay_upper || !p->overlay_work || !p->overlay_mountpoint)
                return -ENOMEM;
        return 0;
}

/* The tree to run becomes the hidden entry (a snapshot or a copy of the image). */
static int use_hidden_entry(PreparedRoot *p, PreparedRootKind kind) {
        _cleanup_close_ int sfd =
                openat(p->parent_fd, p->hidden_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (sfd < 0)
                return negative_errno();
        const char *sep = streq(p->parent_path, "/") ? "" : "/";
        char *path = strjoin(p->parent_path, sep, p->hidden_name);
        if (!path)
                return -ENOMEM;
        free(p->path);
        p->path = path;
        safe_close(p->fd);
        p->fd = TAKE_FD(sfd);
        p->kind = kind;
        return 0;
}

/* The hidden name the machine's throw-away entry takes beside the image, and its lock. */
static int reserve_hidden_name(PreparedRoot *p) {
        int r = image_hidden_name("machine", p->machine, &p->hidden_name);
        if (r < 0)
                return r;
        return image_hidden_lock(p->parent_fd, p->hidden_name, &p->hidden_lock);
}

int prepared_root_make_overlay(PreparedRoot *p) {
        int r = reserve_hidden_name(p);
        if (r < 0)
                return r;
        return make_overlay_entry(p);
}

static int make_ephemeral(PreparedRoot *p, bool copy) {
        int r = reserve_hidden_name(p);
        if (r < 0)
                return r;

        /* A subvolume: a writable snapshot, constant time. */
        if (btrfs_is_subvolume_fd(p->fd) > 0) {
                r = btrfs_snapshot_at(p->fd, p->parent_fd, p->hidden_name, false);
                if (r >= 0)
                        return use_hidden_entry(p, PREPARED_SNAPSHOT);
                /* A half-made snapshot goes; the overlay below works on btrfs too. */
                (void) rm_rf_at(p->parent_fd, p->hidden_name);
        }

        /* A tree of its own where it must be one: reflinked where the file system can, else
         * copied (as systemd-nspawn does for -x without btrfs). clone_tree leaves nothing
         * behind on failure. */
        if (copy) {
                CloneMethod how;
                r = clone_tree(p->fd, p->parent_fd, p->hidden_name, CLONE_LADDER, &how);
                if (r < 0)
                        return r;
                return use_hidden_entry(p, PREPARED_COPY);
        }

        /* Anything else: overlayfs with a private upper layer next to the image (same filesystem,
         * so nothing of size is copied). The engine mounts it inside the container's mount
         * namespace only, so a killed run leaves just the hidden entry behind. */
        r = make_overlay_entry(p);
        if (r < 0)
                return r;
        p->kind = PREPARED_OVERLAY;
        return 0;
}

/* A raw image at path; its failure names it. */
static int prepare_raw(const PrepareOptions *opts, const char *path, PreparedRoot **ret, Diag *diag) {
        if (!opts->raw_images)
                return -EOPNOTSUPP;
        _cleanup_(prepared_root_freep) PreparedRoot *p = NULL;
        int r = prepared_root_alloc(&p);
        if (r >= 0)
                r = prepared_root_make_raw(p, opts, path, diag);
        if (r > 0) { /* -x of a verified image: an overlay on the verified file system, no copy */
                if ((r = prepared_root_make_overlay(p)) < 0)
                        (void) diag_fail(
                                diag, r, NULL, "the overlay's upper layer next to the image: %s", strerror(-r));
                p->copy_how = "overlayfs";
                p->read_only = opts->read_only; /* the overlay is writable; the image below is not */
        }
        if (r < 0)
                return diag_fail(diag, r, path, NULL);
        *ret = TAKE_PTR(p);
        return 0;
}

int prepared_root_new(const PrepareOptions *opts, const char *image_root, PreparedRoot **ret, Diag *diag) {
        int r;

        if (opts->image)
                return prepare_raw(opts, opts->image, ret, diag);

        _cleanup_(prepared_root_freep) PreparedRoot *p = NULL;
        r = prepared_root_alloc(&p);
        if (r < 0)
                return r;

        _cleanup_free_ char *base = NULL;
        if (opts->directory || !opts->machine) {
                /* -D DIR (or, as systemd-nspawn, the current directory when neither is given). */
                r = directory_canonicalize(opts->directory ?: ".", &p->path);
                if (r < 0)
                        return r;
                if (streq(p->path, "/"))
                        return -EINVAL;
                r = split_path(p->path, &p->parent_path, &base);
                if (r < 0)
                        return r;
                r = image_root_open(p->parent_path, false, &p->root);
                if (r < 0)
                        return r;
                struct stat st;
                if (fstatat(p->root->fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT || !opts->template_dir)
                                return negative_errno();
                        r = populate_from_template(opts->template_dir, p->root->fd, base, &p->template_method);
                        if (r < 0)
                                return r;
                        p->populated_from_template = true;
                } else if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
        } else {
                /* -M NAME alone: the image of that name in the image root. */
                r = image_root_open(image_root, false, &p->root);
                if (r < 0)
                        return r;
                _cleanup_(image_freep) Image *i = NULL;
                r = image_find(p->root, opts->machine, &i);
                if (r < 0)
                        return r;
                if (i->type == IMAGE_RAW) {
                        /* Named as the caller's image root names it (relative, or with a
                         * trailing slash), as -i IMAGE_ROOT/NAME.raw would. */
                        _cleanup_free_ char *path = NULL;
                        if (asprintf(&path, "%s/%s.raw", image_root, opts->machine) < 0)
                                return diag_fail(diag, -ENOMEM, NULL, NULL);
                        return prepare_raw(opts, path, ret, diag);
                }
                p->shadows_raw = i->shadows_raw;
                p->path = TAKE_PTR(i->path);
                p->parent_path = strdup(p->root->path);
                base = TAKE_PTR(i->filename);
                if (!p->parent_path)
                        return -ENOMEM;
        }
        p->parent_fd = p->root->fd;
        p->image_name = strdup(base);
        p->machine = strdup(opts->machine ?: base);
        if (!p->image_name || !p->machine)
                return -ENOMEM;

        /* A read-only image (a read-only subvolume, an immutable top directory) is run read-only,
         * as systemd-nspawn runs one: its immutable top directory alone would not keep the files
         * below from being written. -x runs on a writable copy of it. */
        bool image_ro = false;
        {
                _cleanup_close_ int fd = openat(p->root->fd, base, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0)
                        image_ro = image_dir_is_read_only(fd) > 0;
        }
        p->read_only = image_ro && !opts->ephemeral;

        /* Writers exclusively; read-only runs and the source of -x share. A directory whose parent
         * cannot hold a lock file (read-only media) is run without one. */
        r = image_lock(p->root, base, !(opts->ephemeral || opts->read_only || image_ro), &p->image_lock);
        if (r < 0 && r != -EROFS)
                return r;

        r = prepared_root_open_tree(p, p->parent_fd, base, O_NOFOLLOW);
        if (r < 0)
                return r;

        if (opts->ephemeral) {
                r = make_ephemeral(p, opts->ephemeral_copy);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

PreparedRoot *prepared_root_free(PreparedRoot *p) {
        if (!p)
                return NULL;
        p->fd = safe_close(p->fd);
        p->raw = raw_image_free(p->raw);
        if (p->hidden_name && p->root)
                (void) rm_rf_at(p->root->fd, p->hidden_name);
        image_lock_release(&p->hidden_lock);
        image_lock_release(&p->image_lock);
        free(p->hidden_name);
        free(p->overlay_upper);
        free(p->overlay_work);
        free(p->overlay_mountpoint);
        free(p->path);
        free(p->parent_path);
        free(p->machine);
        free(p->image_name);
        free(p->image_path);
        free(p->trusted_root_hash);
        image_root_free(p->root);
        free(p);
        return NULL;
}
