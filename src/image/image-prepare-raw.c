/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fd-util.h"
#include "image-prepare-internal.h"
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
        _cleanup_(prepared_root_freep) PreparedRoot *p = NULL;
        int r = prepared_root_alloc(&p);
        if (r < 0)
                return r;
        r = raw_image_machine_name(image_path, &p->image_name);
        if (r < 0)
                return r;
        p->machine = strdup(machine ?: p->image_name);
        p->path = strdup(mountpoint);
        if (!p->machine || !p->path)
                return -ENOMEM;
        r = prepared_root_open_tree(p, AT_FDCWD, mountpoint, 0);
        if (r < 0)
                return r;

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
