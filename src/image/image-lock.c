/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <string.h>

#include "image-lock.h"
#include "lock.h"
#include "util.h"

/* Locks and the hidden names of temporary entries. Nothing here knows what an image is (that is
 * image.c, which builds on this file): a lock is a file name in a directory. */

#define LOCK_SUFFIX ".lck"
#define HIDDEN_SUFFIX_MAX 16 /* room for the longest sidecar suffix (".roothash.p7s") */
#define RANDOM_BYTES 8

static uint64_t fnv1a(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * UINT64_C(0x100000001b3);
        return h;
}

/* ".#NAME.lck", or for names too long to fit, ".#<hash>.lck". */
static int image_lock_name(const char *name, char **ret) {
        char *s;
        if (strlen(name) + 2 + STRLEN(LOCK_SUFFIX) <= NAME_MAX)
                s = strjoin(".#", name, LOCK_SUFFIX);
        else if (asprintf(&s, ".#%016llx%s", (unsigned long long) fnv1a(name), LOCK_SUFFIX) < 0)
                s = NULL;
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int image_lock_at(int dir_fd, const char *name, bool exclusive, ImageLock *ret) {
        _cleanup_free_ char *lname = NULL;
        int r = image_lock_name(name, &lname);
        if (r < 0)
                return r;
        int fd;
        r = lock_file_at(dir_fd, lname, exclusive, &fd);
        if (r < 0)
                return r;
        *ret = (ImageLock) { .fd = fd, .dir_fd = dir_fd, .name = TAKE_PTR(lname), .exclusive = exclusive };
        return 0;
}

void image_lock_release(ImageLock *l) {
        if (!l || l->fd < 0)
                return;
        unlock_file_at(l->dir_fd, l->name, l->fd, true);
        free(l->name);
        *l = IMAGE_LOCK_NULL;
}

const char *const image_hidden_kinds[] = {
        "import-tar", "import-raw", "import-fs", "pull-oci", "clone", "remove", "trash", "machine", "update", "retired", NULL,
};

int image_hidden_name(const char *kind, const char *name, char **ret) {
        if (!strv_contains((char **) image_hidden_kinds, kind))
                return -EINVAL;
        _cleanup_free_ char *rnd = NULL;
        int r = random_hex(RANDOM_BYTES, &rnd);
        if (r < 0)
                return r;
        size_t fixed = 2 + strlen(kind) + 1 + 1 + strlen(rnd) + STRLEN(LOCK_SUFFIX) + HIDDEN_SUFFIX_MAX;
        if (fixed >= NAME_MAX)
                return -ENAMETOOLONG;
        size_t keep = MIN(strlen(name), NAME_MAX - fixed);
        char *s;
        if (asprintf(&s, ".#%s.%.*s.%s", kind, (int) keep, name, rnd) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int image_hidden_lock(int dir_fd, const char *hidden_name, ImageLock *ret) {
        _cleanup_free_ char *lname = strjoin(hidden_name, LOCK_SUFFIX);
        if (!lname)
                return -ENOMEM;
        int fd;
        int r = lock_file_at(dir_fd, lname, true, &fd);
        if (r < 0)
                return r;
        *ret = (ImageLock) { .fd = fd, .dir_fd = dir_fd, .name = TAKE_PTR(lname), .exclusive = true };
        return 0;
}
