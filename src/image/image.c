/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "btrfs-util.h"
#include "fd-util.h"
#include "image.h"
#include "image-raw-info.h"
#include "lock.h"
#include "rm-rf.h"
#include "string-table.h"
#include "util.h"

/* Discovery and metadata. Untrusted input here: the contents of images (os-release and the
 * symlinks leading to it), which are read with RESOLVE_IN_ROOT so nothing outside the image is
 * ever opened, and with a size limit. */

#define OS_RELEASE_SIZE_MAX IMAGE_OS_RELEASE_SIZE_MAX
#define OS_RELEASE_FIELDS_MAX 256

const char *const image_sidecar_suffixes[] = { ".nspawn", ".roothash", ".roothash.p7s", ".verity", ".oci.json", NULL };
const char *const image_store_sidecar_suffixes[] = { ".nspawn", ".roothash", ".roothash.p7s", ".verity",
                                                    ".oci.json", IMAGE_PROVENANCE_SUFFIX, NULL };

static const char *const image_type_table[_IMAGE_TYPE_MAX] = {
        [IMAGE_DIRECTORY] = "directory",
        [IMAGE_SUBVOLUME] = "subvolume",
        [IMAGE_RAW] = "raw",
};
DEFINE_STRING_TABLE_LOOKUP_TO_STRING(image_type, ImageType);

int image_root_open(const char *path, bool create, ImageRoot **ret) {
        if (!path || path[0] != '/')
                return -EINVAL;
        if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        ImageRoot *root = calloc(1, sizeof(ImageRoot));
        if (!root)
                return -ENOMEM;
        root->path = strdup(path);
        if (!root->path) {
                free(root);
                return -ENOMEM;
        }
        /* Trailing slashes would show up in every path we print. */
        for (size_t l = strlen(root->path); l > 1 && root->path[l - 1] == '/'; l--)
                root->path[l - 1] = 0;
        root->btrfs = fd_is_btrfs(fd);
        root->fd = TAKE_FD(fd);
        *ret = root;
        return 0;
}

ImageRoot *image_root_free(ImageRoot *root) {
        if (!root)
                return NULL;
        safe_close(root->fd);
        free(root->path);
        free(root);
        return NULL;
}

Image *image_free(Image *i) {
        if (!i)
                return NULL;
        free(i->name);
        free(i->filename);
        free(i->path);
        strv_free(i->os_release);
        free(i);
        return NULL;
}

void image_list_free(Image **list, size_t n) {
        for (size_t i = 0; i < n; i++)
                image_free(list[i]);
        free(list);
}

static int dir_is_immutable(int fd) {
        int flags;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return 0; /* filesystems without flags: never immutable */
        return !!(flags & FS_IMMUTABLE_FL);
}

int image_dir_is_read_only(int fd) {
        if (btrfs_is_subvolume_fd(fd) > 0 && btrfs_subvolume_get_read_only_fd(fd) > 0)
                return 1;
        return dir_is_immutable(fd);
}

static int set_dir_immutable(int fd, bool on) {
        int flags;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return negative_errno();
        flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
        return RET_NERRNO(ioctl(fd, FS_IOC_SETFLAGS, &flags));
}

/* Read-only the way each type can express it. */
int image_entry_set_read_only(int dir_fd, const char *filename, bool ro) {
        struct stat st;
        if (fstatat(dir_fd, filename, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (S_ISREG(st.st_mode)) {
                mode_t m = ro ? (st.st_mode & ~0222) : (st.st_mode | 0200);
                return RET_NERRNO(fchmodat(dir_fd, filename, m & 07777, 0));
        }
        _cleanup_close_ int fd = openat(dir_fd, filename, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        if (btrfs_is_subvolume_fd(fd) > 0) {
                int r = btrfs_subvolume_set_read_only_fd(fd, ro);
                if (r < 0)
                        return r;
                if (!ro)
                        (void) set_dir_immutable(fd, false);
                return 0;
        }
        return set_dir_immutable(fd, ro);
}

/* Builds an Image for entry filename of the root; -ENOENT (or -EMEDIUMTYPE) when it is not one. */
static int image_make(ImageRoot *root, const char *filename, Image **ret) {
        struct statx sx;
        if (statx(root->fd, filename, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS | STATX_BTIME, &sx) < 0)
                return negative_errno();

        _cleanup_(image_freep) Image *i = calloc(1, sizeof(Image));
        if (!i)
                return -ENOMEM;
        i->usage = UINT64_MAX;
        i->modified = (uint64_t) sx.stx_mtime.tv_sec;
        if (sx.stx_mask & STATX_BTIME)
                i->created = (uint64_t) sx.stx_btime.tv_sec;

        if (S_ISDIR(sx.stx_mode)) {
                _cleanup_close_ int fd = openat(root->fd, filename, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return negative_errno();
                if (btrfs_is_subvolume_fd(fd) > 0) {
                        i->type = IMAGE_SUBVOLUME;
                        i->read_only = btrfs_subvolume_get_read_only_fd(fd) > 0;
                        uint64_t otime;
                        if (btrfs_subvolume_get_otime(fd, &otime) >= 0)
                                i->created = otime;
                } else
                        i->type = IMAGE_DIRECTORY;
                if (!i->read_only)
                        i->read_only = dir_is_immutable(fd) > 0;
                i->name = strdup(filename);
        } else if (S_ISREG(sx.stx_mode) && endswith(filename, ".raw") && strlen(filename) > 4) {
                i->type = IMAGE_RAW;
                i->read_only = (sx.stx_mode & 0222) == 0;
                i->usage = sx.stx_blocks * 512;
                i->name = strndup(filename, strlen(filename) - 4);
        } else
                return -EMEDIUMTYPE;

        i->filename = strdup(filename);
        i->path = strjoin(root->path, streq(root->path, "/") ? "" : "/", filename);
        if (!i->name || !i->filename || !i->path)
                return -ENOMEM;
        *ret = TAKE_PTR(i);
        return 0;
}

/* Whether a regular file NAME.raw is there too (what image_make() would take as a raw image). */
static bool raw_exists(ImageRoot *root, const char *name) {
        char raw[NAME_MAX + 1];
        struct stat st;
        if ((size_t) snprintf(raw, sizeof(raw), "%s.raw", name) >= sizeof(raw))
                return false;
        return fstatat(root->fd, raw, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(st.st_mode);
}

int image_find(ImageRoot *root, const char *name, Image **ret) {
        if (!image_name_is_valid(name))
                return -EINVAL;
        int r = image_make(root, name, ret);
        if (r >= 0 && (*ret)->type != IMAGE_RAW) {
                (*ret)->shadows_raw = raw_exists(root, name);
                return r;
        }
        if (r >= 0)
                image_free(*ret); /* "NAME" itself is a file: only NAME.raw counts */
        if (strlen(name) + STRLEN(".raw") > NAME_MAX)
                return -ENOENT;
        _cleanup_free_ char *raw = strjoin(name, ".raw");
        if (!raw)
                return -ENOMEM;
        r = image_make(root, raw, ret);
        return r == -EMEDIUMTYPE ? -ENOENT : r;
}

static int image_compare(const void *a, const void *b) {
        const Image *x = *(Image * const *) a, *y = *(Image * const *) b;
        int c = strcmp(x->name, y->name);
        if (c != 0)
                return c;
        /* One name twice (NAME/ and NAME.raw): the one image_find() picks first. */
        return (x->type == IMAGE_RAW) - (y->type == IMAGE_RAW);
}

int image_discover(ImageRoot *root, bool all, Image ***ret, size_t *ret_n) {
        _cleanup_closedir_ DIR *d = NULL;
        int q = opendir_fd(root->fd, &d);
        if (q < 0)
                return q;

        Image **list = NULL;
        size_t n = 0;
        struct dirent *de;
        int r = 0;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (de->d_name[0] == '.' && !all)
                        continue;
                if (de->d_type != DT_DIR && de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;
                Image *i;
                r = image_make(root, de->d_name, &i);
                if (r == -ENOENT || r == -EMEDIUMTYPE) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                Image **l = realloc(list, sizeof(Image *) * (n + 1));
                if (!l) {
                        image_free(i);
                        r = -ENOMEM;
                        break;
                }
                list = l;
                list[n++] = i;
        }
        if (r >= 0 && errno > 0)
                r = -errno;
        if (r < 0) {
                image_list_free(list, n);
                return r;
        }
        if (n > 0)
                qsort(list, n, sizeof(Image *), image_compare);
        /* One entry per name, the one every verb means (image_find): machinectl would list
         * whichever readdir() met first, and then mean the directory anyway. */
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
                if (k > 0 && streq(list[k - 1]->name, list[j]->name)) {
                        list[k - 1]->shadows_raw = list[k - 1]->shadows_raw || list[j]->type == IMAGE_RAW;
                        image_free(list[j]);
                        continue;
                }
                list[k++] = list[j];
        }
        *ret = list;
        *ret_n = k;
        return 0;
}

void image_raw_ref_done(ImageRawRef *r) {
        if (!r)
                return;
        image_lock_release(&r->lock);
        image_root_free(r->root);
        free(r->path);
        *r = IMAGE_RAW_REF_NULL;
}

int image_raw_ref_open(const char *root_path, const char *name, ImageRawRef *ret, Diag *diag) {
        _cleanup_(image_raw_ref_done) ImageRawRef ref = IMAGE_RAW_REF_NULL;
        int r = image_root_open(root_path, false, &ref.root);
        if (r < 0)
                return diag_fail(diag, r, root_path, NULL);
        _cleanup_(image_freep) Image *i = NULL;
        if ((r = image_find(ref.root, name, &i)) < 0)
                return r;
        if (i->type != IMAGE_RAW)
                return diag_fail(
                        diag, -EMEDIUMTYPE, NULL, "image is a %s, not a raw image", image_type_to_string(i->type));
        if ((r = image_lock(ref.root, i->name, false, &ref.lock)) < 0)
                return r;
        ref.path = TAKE_PTR(i->path);
        *ret = ref;
        ref = IMAGE_RAW_REF_NULL;
        return 0;
}

int image_open(ImageRoot *root, const Image *i, bool writable) {
        if (i->type == IMAGE_RAW)
                return RET_NERRNO(openat(root->fd, i->filename, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
        return RET_NERRNO(openat(root->fd, i->filename, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
}

/* os-release: KEY=VALUE lines, values optionally quoted with shell rules (the subset
 * os-release(5) allows: "…" with \" \\ \$ \` escapes, '…' verbatim). */
int os_release_parse(const char *text, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t fields = 0;
        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n');
                const char *s = p;
                p = *eol ? eol + 1 : eol;
                while (s < eol && (*s == ' ' || *s == '\t'))
                        s++;
                if (s >= eol || *s == '#')
                        continue;
                const char *eq = memchr(s, '=', (size_t) (eol - s));
                if (!eq || eq == s)
                        continue;
                bool key_ok = true;
                for (const char *k = s; k < eq; k++)
                        if (!((*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_'))
                                key_ok = false;
                if (!key_ok)
                        continue;
                if (++fields > OS_RELEASE_FIELDS_MAX)
                        return -E2BIG;

                char *value = malloc((size_t) (eol - eq) + 1), *o = value;
                if (!value)
                        return -ENOMEM;
                char quote = 0;
                for (const char *v = eq + 1; v < eol; v++) {
                        if (!quote && (*v == '"' || *v == '\'')) {
                                quote = *v;
                                continue;
                        }
                        if (quote && *v == quote) {
                                quote = 0;
                                continue;
                        }
                        if (quote == '"' && *v == '\\' && v + 1 < eol && strchr("\"\\$`", v[1])) {
                                *o++ = *++v;
                                continue;
                        }
                        if (!quote && (*v == ' ' || *v == '\t'))
                                break;
                        *o++ = *v;
                }
                *o = 0;
                char *key = strndup(s, (size_t) (eq - s));
                if (!key || strv_push(&l, key) < 0) {
                        free(key);
                        free(value);
                        return -ENOMEM;
                }
                if (strv_push(&l, value) < 0) {
                        free(value);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int dir_usage(int fd, uint64_t *usage, unsigned depth) {
        if (depth > 4096)
                return -ELOOP;
        _cleanup_closedir_ DIR *d = NULL;
        int q = opendir_fd(fd, &d);
        if (q < 0)
                return q;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                *usage += (uint64_t) st.st_blocks * 512;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int cfd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        if (cfd >= 0)
                                (void) dir_usage(cfd, usage, depth + 1);
                }
        }
        return 0;
}

/* A raw image's os-release, from its root (or usr) partition mounted read-only and detached
 * (image-raw-info.c), under a shared lock: never next to a writable container, whose file system
 * is being written. Nothing found (no partition, no loop devices, in use, unreadable) is no
 * os-release, as for a directory. */
static int raw_read_details(ImageRoot *root, Image *i) {
        ImageLock lock = IMAGE_LOCK_NULL;
        if (image_lock(root, i->name, false, &lock) < 0)
                return 0;
        _cleanup_close_ int fd = image_open(root, i, false);
        _cleanup_free_ char *text = NULL;
        int r = fd < 0 ? fd : image_raw_read_os_release(fd, &text);
        image_lock_release(&lock);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        strv_free(i->os_release);
        i->os_release = NULL;
        return os_release_parse(text, &i->os_release);
}

int image_read_details(ImageRoot *root, Image *i, bool want_usage) {
        if (i->type == IMAGE_RAW)
                return raw_read_details(root, i);
        _cleanup_close_ int fd = image_open(root, i, false);
        if (fd < 0)
                return fd;
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(fd, "etc/os-release", RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
                             OS_RELEASE_SIZE_MAX, &text, NULL);
        if (r == -ENOENT)
                r = read_file_at(fd, "usr/lib/os-release", RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
                                 OS_RELEASE_SIZE_MAX, &text, NULL);
        /* An image without a readable os-release (missing, a symlink leading nowhere inside it,
         * too large, not a file) is still an image: it just has no os-release fields. */
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                strv_free(i->os_release);
                i->os_release = NULL;
                r = os_release_parse(text, &i->os_release);
                if (r < 0)
                        return r;
        }
        if (want_usage && i->usage == UINT64_MAX) {
                struct stat st;
                uint64_t u = 0;
                if (fstat(fd, &st) >= 0)
                        u = (uint64_t) st.st_blocks * 512;
                if (dir_usage(fd, &u, 0) >= 0)
                        i->usage = u;
        }
        return 0;
}
