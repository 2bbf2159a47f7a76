/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "btrfs-util.h"
#include "copy.h"
#include "fd-util.h"
#include "image.h"
#include "rm-rf.h"
#include "string-table.h"
#include "util.h"

/* The clone ladder: btrfs snapshot → reflink copy → plain copy. */

static const char *const clone_method_table[_CLONE_METHOD_MAX] = {
        [CLONE_SNAPSHOT] = "btrfs snapshot",
        [CLONE_REFLINK] = "reflink copy",
        [CLONE_COPY] = "copy",
};
DEFINE_STRING_TABLE_LOOKUP_TO_STRING(clone_method, CloneMethod);

int clone_tree(int src_fd, int dst_dir_fd, const char *dst_name, CloneFlags flags, CloneMethod *ret_method) {
        int r;

        /* btrfs' statfs f_fsid differs per subvolume, so "same filesystem" is left to the kernel:
         * a snapshot across filesystems fails with EXDEV and we copy instead. */
        if ((flags & CLONE_ALLOW_SNAPSHOT) && btrfs_is_subvolume_fd(src_fd) > 0 && fd_is_btrfs(dst_dir_fd)) {
                r = btrfs_snapshot_at(src_fd, dst_dir_fd, dst_name, flags & CLONE_READ_ONLY);
                if (r >= 0) {
                        if (ret_method)
                                *ret_method = CLONE_SNAPSHOT;
                        return 0;
                }
                /* A half-made snapshot (recursion failed on a nested one) is removed; then copy. */
                (void) rm_rf_at(dst_dir_fd, dst_name);
        }

        r = -ENOTTY;
        if ((flags & CLONE_SUBVOLUME) && fd_is_btrfs(dst_dir_fd))
                r = btrfs_subvolume_create_at(dst_dir_fd, dst_name);
        if (r < 0 && mkdirat(dst_dir_fd, dst_name, 0700) < 0)
                return negative_errno();

        _cleanup_close_ int dst_fd = openat(dst_dir_fd, dst_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dst_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        r = copy_tree_fd(src_fd, dst_fd, COPY_SUBVOLUMES | ((flags & CLONE_ALLOW_REFLINK) ? COPY_REFLINK : 0));
        if (r < 0)
                goto fail;
        CloneMethod m = r > 0 ? CLONE_REFLINK : CLONE_COPY;
        if (flags & CLONE_READ_ONLY) {
                r = image_entry_set_read_only(dst_dir_fd, dst_name, true);
                if (r < 0)
                        goto fail;
        }
        if (ret_method)
                *ret_method = m;
        return 0;

fail:
        (void) rm_rf_at(dst_dir_fd, dst_name);
        return r;
}

static int clone_raw(int src_fd, int dst_fd, CloneMethod *ret_method) {
        int reflinked = copy_file_data(src_fd, dst_fd, COPY_FILE_REFLINK);
        if (reflinked < 0)
                return reflinked;
        struct stat st;
        if (fstat(src_fd, &st) < 0)
                return negative_errno();
        int r = copy_attributes_fd(src_fd, &st, dst_fd);
        if (r < 0)
                return r;
        *ret_method = reflinked > 0 ? CLONE_REFLINK : CLONE_COPY;
        return 0;
}

static int copy_sidecars(ImageRoot *root, const char *src_name, ImageTemp *t) {
        for (const char *const *s = image_sidecar_suffixes; *s; s++) {
                _cleanup_free_ char *n = strjoin(src_name, *s);
                if (!n)
                        return -ENOMEM;
                /* Regular files only, checked before open(): a FIFO of a sidecar's name would block it. */
                _cleanup_close_ int sfd = open_checked(root->fd, n, O_RDONLY | O_NOFOLLOW, OPEN_REGULAR, NULL);
                if (sfd == -ENOENT || sfd == -ENAMETOOLONG)
                        continue;
                if (sfd < 0)
                        return sfd;
                _cleanup_close_ int dfd = -EBADF;
                int r = image_temp_sidecar(t, *s, &dfd);
                if (r < 0)
                        return r;
                r = copy_file_data(sfd, dfd, COPY_FILE_REFLINK);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The clone's record: the source's (where it came from, verified how, its root hash), with the
 * parent and the method added; it starts its own line of generations. A source without a readable
 * record gives a clone with only parent and method. */
static int clone_provenance(ImageRoot *root, const char *src_name, CloneMethod m, ImageTemp *t) {
        _cleanup_(image_provenance_done) ImageProvenance p = IMAGE_PROVENANCE_NULL;
        if (image_provenance_read(root, src_name, &p) < 0)
                p = IMAGE_PROVENANCE_NULL;
        free(p.parent);
        free(p.clone_method);
        p.parent = strdup(src_name);
        p.clone_method = strdup(clone_method_to_string(m));
        if (!p.parent || !p.clone_method)
                return -ENOMEM;
        p.generation = IMAGE_GENERATION_NONE;
        return image_temp_set_provenance(t, &p);
}

int image_clone(ImageRoot *root, const char *src, const char *dst, bool read_only, CloneMethod *ret_method) {
        _cleanup_(image_freep) Image *i = NULL;
        int r = image_find(root, src, &i);
        if (r < 0)
                return r;
        if (!image_name_is_valid(dst))
                return -EINVAL;
        if (streq(i->name, dst))
                return -EEXIST;

        /* A shared lock: other readers may go on, a writer (a writable container) may not. */
        ImageLock src_lock = IMAGE_LOCK_NULL;
        r = image_lock(root, i->name, false, &src_lock);
        if (r < 0)
                return r;

        _cleanup_(image_temp_freep) ImageTemp *t = NULL;
        _cleanup_close_ int src_fd = -EBADF;
        r = image_temp_new(root, "clone", dst, i->type, i->type == IMAGE_RAW ? 0 : IMAGE_TEMP_NO_CREATE, &t);
        if (r < 0)
                goto finish;

        src_fd = image_open(root, i, false);
        if (src_fd < 0) {
                r = src_fd;
                goto finish;
        }
        CloneMethod m;
        if (i->type == IMAGE_RAW)
                r = clone_raw(src_fd, t->fd, &m);
        else {
                r = clone_tree(src_fd, root->fd, t->temp_name, CLONE_LADDER, &m);
                if (r >= 0)
                        t->type = m == CLONE_SNAPSHOT ? IMAGE_SUBVOLUME : IMAGE_DIRECTORY;
        }
        if (r < 0)
                goto finish;
        /* A read-only source copied by file leaves the top directory immutable: clear it, the
         * clone gets its own read-only state below. */
        if (i->read_only && i->type != IMAGE_RAW)
                (void) image_entry_set_read_only(root->fd, t->temp_name, false);

        r = copy_sidecars(root, i->name, t);
        if (r < 0)
                goto finish;
        r = clone_provenance(root, i->name, m, t);
        if (r < 0)
                goto finish;
        if (interrupted()) {
                r = -EINTR;
                goto finish;
        }
        r = image_temp_publish(t, read_only);
        if (r >= 0 && ret_method)
                *ret_method = m;
finish:
        image_lock_release(&src_lock);
        return r;
}
