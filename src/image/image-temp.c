/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "btrfs-util.h"
#include "fd-util.h"
#include "image.h"
#include "rm-rf.h"
#include "util.h"

/* The hidden temporary entries images are built in, published with one rename (image.h). Built
 * on the image store's lookup (image.c) and its locks (image-lock.c). */

static int image_exists(ImageRoot *root, const char *name) {
        _cleanup_(image_freep) Image *i = NULL;
        int r = image_find(root, name, &i);
        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : 1;
}

static int set_nocow(int fd) {
        int flags;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return negative_errno();
        flags |= FS_NOCOW_FL;
        return RET_NERRNO(ioctl(fd, FS_IOC_SETFLAGS, &flags));
}

int image_temp_new(ImageRoot *root, const char *kind, const char *name, ImageType type, ImageTempFlags flags,
                   ImageTemp **ret) {
        if (!image_name_is_valid(name))
                return -EINVAL;
        if (type == IMAGE_RAW && strlen(name) + STRLEN(".raw") > NAME_MAX)
                return -ENAMETOOLONG;

        _cleanup_(image_temp_freep) ImageTemp *t = calloc(1, sizeof(ImageTemp));
        if (!t)
                return -ENOMEM;
        t->root = root;
        t->fd = -EBADF;
        t->type = type;
        t->name_lock = IMAGE_LOCK_NULL;
        t->temp_lock = IMAGE_LOCK_NULL;
        t->name = strdup(name);
        if (!t->name)
                return -ENOMEM;

        /* The exclusive name lock makes concurrent creators of one name end with one winner;
         * the loser gets -EBUSY here, or -EEXIST once the winner has published. */
        int r = image_lock(root, name, true, &t->name_lock);
        if (r < 0)
                return r;
        if (!(flags & IMAGE_TEMP_FORCE)) {
                r = image_exists(root, name);
                if (r < 0)
                        return r;
                if (r > 0)
                        return -EEXIST;
        }

        r = image_hidden_name(kind, name, &t->temp_name);
        if (r < 0)
                return r;
        r = image_hidden_lock(root->fd, t->temp_name, &t->temp_lock);
        if (r < 0)
                return r;

        if (flags & IMAGE_TEMP_NO_CREATE) {
                *ret = TAKE_PTR(t);
                return 0;
        }

        if (type == IMAGE_RAW) {
                t->fd = openat(root->fd, t->temp_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (t->fd < 0)
                        return negative_errno();
                /* NOCOW only takes effect on empty files: before the first write. */
                if (root->btrfs)
                        (void) set_nocow(t->fd);
        } else {
                r = -ENOTTY;
                if (root->btrfs)
                        r = btrfs_subvolume_create_at(root->fd, t->temp_name);
                if (r < 0 && mkdirat(root->fd, t->temp_name, 0700) < 0)
                        return negative_errno();
                t->fd = openat(root->fd, t->temp_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (t->fd < 0)
                        return negative_errno();
                t->type = r >= 0 ? IMAGE_SUBVOLUME : IMAGE_DIRECTORY;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

int image_temp_sidecar(ImageTemp *t, const char *suffix, int *ret_fd) {
        _cleanup_free_ char *n = strjoin(t->temp_name, suffix);
        if (!n)
                return -ENOMEM;
        _cleanup_close_ int fd = openat(t->root->fd, n, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        if (!strv_contains(t->sidecars, suffix)) {
                int r = strv_extend(&t->sidecars, suffix);
                if (r < 0) {
                        (void) unlinkat(t->root->fd, n, 0);
                        return r;
                }
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int sidecar_names(const char *base, const char *suffix, char **ret) {
        char *s = strjoin(base, suffix);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int image_temp_publish(ImageTemp *t, bool read_only) {
        ImageRoot *root = t->root;
        int r;

        _cleanup_free_ char *final = t->type == IMAGE_RAW ? strjoin(t->name, ".raw") : strdup(t->name);
        if (!final)
                return -ENOMEM;
        t->fd = safe_close(t->fd);

        /* A raw file or subvolume can be made read-only before it appears; an immutable directory
         * can no longer be renamed, so that flag is set right after. */
        struct stat st;
        if (fstatat(root->fd, t->temp_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        bool late_ro = false;
        if (read_only) {
                _cleanup_close_ int fd = S_ISDIR(st.st_mode) ? openat(root->fd, t->temp_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -EBADF;
                if (S_ISDIR(st.st_mode) && (fd < 0 || btrfs_is_subvolume_fd(fd) <= 0))
                        late_ro = true;
                else {
                        r = image_entry_set_read_only(root->fd, t->temp_name, true);
                        if (r < 0)
                                return r;
                }
        }

        /* An existing image of that name (only with force; we hold its lock) goes away first,
         * with its sidecars: atomically swapped out where the types allow it. */
        _cleanup_(image_freep) Image *old = NULL;
        r = image_find(root, t->name, &old);
        if (r < 0 && r != -ENOENT)
                return r;
        _cleanup_free_ char *trash = NULL;
        if (old) {
                r = image_hidden_name("trash", t->name, &trash);
                if (r < 0)
                        return r;
                if (old->type != IMAGE_RAW)
                        (void) image_entry_set_read_only(root->fd, old->filename, false);
                if (renameat2(root->fd, old->filename, root->fd, trash, RENAME_NOREPLACE) < 0)
                        return negative_errno();
        }

        for (const char *const *s = image_store_sidecar_suffixes; *s; s++) {
                _cleanup_free_ char *from = NULL, *to = NULL;
                if (sidecar_names(t->temp_name, *s, &from) < 0 || sidecar_names(t->name, *s, &to) < 0)
                        return -ENOMEM;
                if (strv_contains(t->sidecars, *s)) {
                        if (renameat(root->fd, from, root->fd, to) < 0)
                                return negative_errno();
                } else if (old)
                        (void) unlinkat(root->fd, to, 0);
        }

        if (renameat2(root->fd, t->temp_name, root->fd, final, RENAME_NOREPLACE) < 0) {
                r = negative_errno();
                if (trash)
                        (void) renameat2(root->fd, trash, root->fd, old->filename, RENAME_NOREPLACE);
                return r;
        }
        t->published = true;

        if (trash)
                (void) rm_rf_at(root->fd, trash);
        if (late_ro) {
                r = image_entry_set_read_only(root->fd, final, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

ImageTemp *image_temp_free(ImageTemp *t) {
        if (!t)
                return NULL;
        t->fd = safe_close(t->fd);
        if (!t->published && t->temp_name) {
                (void) rm_rf_at(t->root->fd, t->temp_name);
                for (char **s = t->sidecars; s && *s; s++) {
                        _cleanup_free_ char *n = strjoin(t->temp_name, *s);
                        if (n)
                                (void) unlinkat(t->root->fd, n, 0);
                }
        }
        image_lock_release(&t->temp_lock);
        image_lock_release(&t->name_lock);
        strv_free(t->sidecars);
        free(t->temp_name);
        free(t->name);
        free(t);
        return NULL;
}
