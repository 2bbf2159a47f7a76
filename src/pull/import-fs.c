/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* import-fs: a directory tree copied into the image store by the clone ladder (a btrfs snapshot
 * when the tree is a subvolume on the image root's btrfs, else a reflink copy, else a copy), under
 * a hidden name published with one rename, all with the image store's primitives.
 *
 * Untrusted input: the tree's contents, which are only copied (clone_tree() never follows a
 * symlink and stays on one file system); nothing of them is interpreted. */

#include <fcntl.h>
#include <linux/openat2.h>

#include "fd-util.h"
#include "image.h"
#include "import-space.h"
#include "pull.h"
#include "tar-extract.h"
#include "util.h"

/* The copy filled the image root's file system: which, and how much the tree holds. */
static int space_failure(ImageRoot *root, int src_fd, int r, uint64_t free_at_start, Diag *diag) {
        uint64_t size = 0;
        char a[SPACE_SIZE_MAX], b[SPACE_SIZE_MAX];
        if (export_tree_size(src_fd, &size) < 0)
                return import_space_fail(diag, r, root->fd, root->path, "%s was free", space_size(b, sizeof(b), free_at_start));
        return import_space_fail(diag, r, root->fd, root->path, "the tree holds %s of file data, %s was free",
                                 space_size(a, sizeof(a), size), space_size(b, sizeof(b), free_at_start));
}

int import_fs(ImageRoot *root, int src_fd, const char *name, const ImportOptions *opts, CloneMethod *ret_method,
              char **ret_moved_up, Diag *diag) {
        bool force = opts && opts->force, read_only = opts && opts->read_only, keep_nesting = opts && opts->keep_nesting;
        _cleanup_(image_temp_freep) ImageTemp *t = NULL;
        int r = image_temp_new(root, "import-fs", name, IMAGE_DIRECTORY,
                               IMAGE_TEMP_NO_CREATE | (force ? IMAGE_TEMP_FORCE : 0), &t);
        if (r < 0)
                return r;
        uint64_t free_at_start = import_space_free(root->fd);
        CloneMethod m;
        r = clone_tree(src_fd, root->fd, t->temp_name, CLONE_LADDER, &m);
        if (import_error_is_space(r))
                return space_failure(root, src_fd, r, free_at_start, diag);
        if (r < 0)
                return r;
        /* A read-only source copied by file leaves the top directory immutable: cleared, the image
         * gets its own read-only state on publish. */
        (void) image_entry_set_read_only(root->fd, t->temp_name, false);
        if (interrupted())
                return -EINTR;
        /* A nested OS tree moves up in the hidden copy, as import-tar's does (and importctl's
         * import-fs). */
        _cleanup_free_ char *moved_up = NULL;
        if (!keep_nesting) {
                _cleanup_close_ int fd = openat2_resolve(root->fd, t->temp_name, O_RDONLY | O_DIRECTORY, 0,
                                                         RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
                if (fd < 0)
                        return fd;
                r = tree_move_up_nested(fd, &moved_up);
                if (r < 0)
                        return r;
        }
        r = image_temp_publish(t, read_only);
        if (r < 0)
                return r;
        if (ret_method)
                *ret_method = m;
        if (ret_moved_up)
                *ret_moved_up = TAKE_PTR(moved_up);
        return 0;
}
