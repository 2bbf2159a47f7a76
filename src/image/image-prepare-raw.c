/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fd-util.h"
#include "image-prepare-raw.h"
#include "util.h"

/* See image-prepare-raw.h. Untrusted input: the mounted tree, only probed for os-release with
 * RESOLVE_IN_ROOT (dir_is_os_tree). The image path comes from the command line. */

int raw_image_machine_name(const char *image_path, char **ret) {
        const char *slash = strrchr(image_path, '/');
        const char *base = slash ? slash + 1 : image_path;
        size_t l = strlen(base);
        const char *suffix = endswith(base, ".raw");
        if (suffix)
                l = (size_t) (suffix - base);
        _cleanup_free_ char *name = strndup(base, l);
        if (!name)
                return -ENOMEM;
        if (!image_name_is_valid(name))
                return -EINVAL;
        *ret = TAKE_PTR(name);
        return 0;
}

int prepared_root_new_mounted(
        const char *mountpoint, const char *machine, const char *image_path, PreparedRoot **ret) {
        _cleanup_(prepared_root_freep) PreparedRoot *p = calloc(1, sizeof(PreparedRoot));
        if (!p)
                return -ENOMEM;
        p->fd = -EBADF;
        p->parent_fd = -EBADF;
        p->image_lock = IMAGE_LOCK_NULL;
        p->hidden_lock = IMAGE_LOCK_NULL;
        p->kind = PREPARED_IN_PLACE;

        int r = raw_image_machine_name(image_path, &p->image_name);
        if (r < 0)
                return r;
        p->machine = strdup(machine ?: p->image_name);
        p->path = strdup(mountpoint);
        if (!p->machine || !p->path)
                return -ENOMEM;
        p->fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (p->fd < 0)
                return negative_errno();
        r = dir_is_os_tree(p->fd);
        if (r < 0)
                return r;
        if (r == 0)
                return -EMEDIUMTYPE;

        _cleanup_free_ char *abs = realpath(image_path, NULL);
        if (!abs)
                return negative_errno();
        char *slash = strrchr(abs, '/');
        p->parent_path = slash == abs ? strdup("/") : strndup(abs, (size_t) (slash - abs));
        if (!p->parent_path)
                return -ENOMEM;
        /* parent_fd is borrowed from the ImageRoot, which free drops. */
        r = image_root_open(p->parent_path, false, &p->root);
        if (r < 0)
                return r;
        p->parent_fd = p->root->fd;
        *ret = TAKE_PTR(p);
        return 0;
}
