/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "btrfs-util.h"
#include "fd-util.h"
#include "image.h"
#include "lock.h"
#include "rm-rf.h"
#include "util.h"

/* rename, read-only, remove, clean: each under the image's exclusive lock. */

int image_rename(ImageRoot *root, const char *old_name, const char *new_name) {
        if (!image_name_is_valid(new_name))
                return -EINVAL;
        _cleanup_(image_freep) Image *i = NULL;
        int r = image_find(root, old_name, &i);
        if (r < 0)
                return r;
        if (streq(old_name, new_name))
                return -EEXIST;

        ImageLock a = IMAGE_LOCK_NULL, b = IMAGE_LOCK_NULL;
        _cleanup_(image_freep) Image *existing = NULL;
        _cleanup_free_ char *target = NULL;
        r = image_lock(root, old_name, true, &a);
        if (r < 0)
                return r;
        r = image_lock(root, new_name, true, &b);
        if (r < 0)
                goto finish;

        r = image_find(root, new_name, &existing);
        if (r >= 0) {
                r = -EEXIST;
                goto finish;
        }
        if (r != -ENOENT)
                goto finish;

        target = i->type == IMAGE_RAW ? strjoin(new_name, ".raw") : strdup(new_name);
        if (!target) {
                r = -ENOMEM;
                goto finish;
        }
        /* An immutable directory cannot be renamed: lift the flag around the rename. */
        bool immutable_dir = i->type == IMAGE_DIRECTORY && i->read_only;
        if (immutable_dir) {
                r = image_entry_set_read_only(root->fd, i->filename, false);
                if (r < 0)
                        goto finish;
        }
        r = RET_NERRNO(renameat2(root->fd, i->filename, root->fd, target, RENAME_NOREPLACE));
        if (immutable_dir)
                (void) image_entry_set_read_only(root->fd, r < 0 ? i->filename : target, true);
        if (r < 0)
                goto finish;

        for (const char *const *s = image_store_sidecar_suffixes; *s; s++) {
                _cleanup_free_ char *from = strjoin(old_name, *s), *to = strjoin(new_name, *s);
                if (!from || !to) {
                        r = -ENOMEM;
                        goto finish;
                }
                /* A sidecar name that would be too long cannot exist. */
                if (renameat2(root->fd, from, root->fd, to, RENAME_NOREPLACE) < 0 && errno != ENOENT &&
                    errno != ENAMETOOLONG) {
                        r = negative_errno();
                        goto finish;
                }
        }
        r = 0;
finish:
        image_lock_release(&b);
        image_lock_release(&a);
        return r;
}

/* The image NAME under its exclusive lock, which the caller releases. */
static int image_find_locked(ImageRoot *root, const char *name, Image **ret_image, ImageLock *ret_lock) {
        _cleanup_(image_freep) Image *i = NULL;
        int r = image_find(root, name, &i);
        if (r < 0)
                return r;
        r = image_lock(root, name, true, ret_lock);
        if (r < 0)
                return r;
        *ret_image = TAKE_PTR(i);
        return 0;
}

int image_set_read_only(ImageRoot *root, const char *name, bool read_only, ImageReadOnlyScope *ret_scope) {
        _cleanup_(image_freep) Image *i = NULL;
        ImageLock l = IMAGE_LOCK_NULL;
        int r = image_find_locked(root, name, &i, &l);
        if (r < 0)
                return r;
        ImageReadOnlyScope scope = IMAGE_READ_ONLY_WHOLE;
        if (i->type == IMAGE_DIRECTORY)
                scope = IMAGE_READ_ONLY_TOP_DIRECTORY;
        else if (i->type == IMAGE_SUBVOLUME) {
                _cleanup_close_ int fd = image_open(root, i, false);
                if (fd >= 0 && btrfs_subvolume_has_nested(fd) > 0)
                        scope = IMAGE_READ_ONLY_NOT_NESTED;
        }
        r = image_entry_set_read_only(root->fd, i->filename, read_only);
        image_lock_release(&l);
        if (r >= 0 && ret_scope)
                *ret_scope = scope;
        return r;
}

static int remove_generations(ImageRoot *root, const char *name) {
        _cleanup_closedir_ DIR *d = NULL;
        int r = opendir_fd(root->fd, &d);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **gens = NULL;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *n = NULL;
                if (image_generation_entry_parse(de->d_name, &n, NULL) >= 0 && streq(n, name) &&
                    strv_extend(&gens, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (errno > 0)
                return -errno;
        int ret = 0;
        for (char **g = gens; g && *g; g++) {
                _cleanup_free_ char *rec = strjoin(*g, IMAGE_PROVENANCE_SUFFIX);
                r = rm_rf_at(root->fd, *g);
                if (r < 0 && r != -ENOENT)
                        ret = ret ?: r;
                if (rec)
                        (void) unlinkat(root->fd, rec, 0);
        }
        return ret;
}

int image_remove(ImageRoot *root, const char *name) {
        _cleanup_(image_freep) Image *i = NULL;
        ImageLock l = IMAGE_LOCK_NULL;
        int r = image_find_locked(root, name, &i, &l);
        if (r < 0)
                return r;

        /* First out of sight under a hidden name, then deleted: an interrupted remove leaves a
         * hidden leftover for clean, never a half-deleted image. */
        _cleanup_free_ char *trash = NULL;
        ImageLock tl = IMAGE_LOCK_NULL;
        r = image_hidden_name("remove", name, &trash);
        if (r < 0)
                goto finish;
        r = image_hidden_lock(root->fd, trash, &tl);
        if (r < 0)
                goto finish;
        if (i->type == IMAGE_DIRECTORY && i->read_only)
                (void) image_entry_set_read_only(root->fd, i->filename, false);
        r = RET_NERRNO(renameat2(root->fd, i->filename, root->fd, trash, RENAME_NOREPLACE));
        if (r < 0)
                goto finish;
        for (const char *const *s = image_store_sidecar_suffixes; *s; s++) {
                _cleanup_free_ char *n = strjoin(name, *s);
                if (n && unlinkat(root->fd, n, 0) < 0 && errno != ENOENT && errno != ENAMETOOLONG && r == 0)
                        r = negative_errno();
        }
        int q = rm_rf_at(root->fd, trash);
        if (q < 0 && r == 0)
                r = q;
        /* Its previous generations (update, rollback) go too: nobody runs NAME (we hold its lock). */
        q = remove_generations(root, name);
        if (q < 0 && r == 0)
                r = q;
finish:
        image_lock_release(&tl);
        image_lock_release(&l);
        return r;
}

/* The base of a hidden entry: ".#KIND.NAME.RANDOM" for ".#KIND.NAME.RANDOM.roothash" and so on. */
static char *hidden_base(const char *entry) {
        for (const char *const *s = image_store_sidecar_suffixes; *s; s++) {
                const char *e = endswith(entry, *s);
                if (e)
                        return strndup(entry, (size_t) (e - entry));
        }
        return strdup(entry);
}

static const char *after_prefix(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* NAME of ".#update.NAME.RANDOM" or ".#retired.NAME.RANDOM" (update's entries), else NULL (also
 * when NAME may have been shortened to fit: its lock would not be NAME's). */
static char *template_of_hidden(const char *base) {
        const char *rest = after_prefix(base, ".#update.") ?: after_prefix(base, ".#retired.");
        if (!rest)
                return NULL;
        const char *dot = strrchr(rest, '.');
        if (!dot || dot == rest || strlen(base) + STRLEN(".lck") + 16 >= NAME_MAX)
                return NULL;
        char *n = strndup(rest, (size_t) (dot - rest));
        if (n && !image_name_is_valid(n)) {
                free(n);
                return NULL;
        }
        return n;
}

/* A hidden entry some other tool made (systemd-import's ".#NAME…" directories, say) holds no
 * cowpen lock, so nothing proves it abandoned but its age: it is removed only when nothing in it
 * was modified for this long. systemd-import writes into its directory all along while it runs. */
#define CLEAN_FOREIGN_GRACE_SEC (60 * 60)
#define CLEAN_WALK_DEPTH_MAX 256 /* directory levels looked into for a fresh mtime (as import's --max-depth) */

static bool all_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", s[i]))
                        return false;
        return n > 0 && s[n] == 0;
}

/* Whether base is a name cowpen gives its hidden entries: 1 for ".#KIND.NAME.RANDOM"
 * (image_hidden_name(), RANDOM 16 hex digits), 2 for ".#pull-partial.HASH" / ".#pull-cache.HASH"
 * (32 hex digits), 0 for anything else. */
static int hidden_name_is_cowpens(const char *base) {
        static const char *const hashed[] = { ".#pull-partial.", ".#pull-cache.", NULL };
        for (const char *const *k = hashed; *k; k++)
                if (startswith(base, *k)) {
                        const char *h = base + strlen(*k);
                        return strlen(h) == 32 && all_hex(h, 32) ? 2 : 0;
                }
        if (!startswith(base, ".#"))
                return false;
        const char *rest = base + 2;
        bool known = false;
        for (const char *const *k = image_hidden_kinds; *k && !known; k++)
                if (startswith(rest, *k) && rest[strlen(*k)] == '.') {
                        rest += strlen(*k) + 1;
                        known = true;
                }
        if (!known)
                return false;
        const char *dot = strrchr(rest, '.');
        return dot && dot > rest && strlen(dot + 1) == 16 && all_hex(dot + 1, 16) ? 1 : 0;
}

/* 1 when nothing at dir_fd/name (and below it, on the same mount) was modified within the grace
 * period, 0 when something was (or is dated in the future, or is a mount point: in use), -errno
 * when it cannot be told (it then stays too). */
static int entry_is_stale(int dir_fd, const char *name, time_t now, unsigned depth) {
        if (depth > CLEAN_WALK_DEPTH_MAX)
                return -ELOOP;
        struct statx sx;
        if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_MTIME | STATX_MNT_ID, &sx) < 0)
                return negative_errno();
        if ((time_t) sx.stx_mtime.tv_sec > now - CLEAN_FOREIGN_GRACE_SEC)
                return 0;
        if (!S_ISDIR(sx.stx_mode))
                return 1;
        struct statx parent;
        if (statx(dir_fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &parent) < 0)
                return negative_errno();
        if (!(sx.stx_mask & STATX_MNT_ID) || sx.stx_mnt_id != parent.stx_mnt_id)
                return 0;
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        _cleanup_closedir_ DIR *d = fdopendir(fd); /* one fd per level */
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                int r = entry_is_stale(dirfd(d), de->d_name, now, depth + 1);
                if (r <= 0)
                        return r;
        }
        return errno > 0 ? -errno : 1;
}

int image_clean(ImageRoot *root, bool all, void (*on_removed)(const char *name, void *userdata), void *userdata) {
        _cleanup_closedir_ DIR *d = NULL;
        int q = opendir_fd(root->fd, &d);
        if (q < 0)
                return q;

        _cleanup_strv_free_ char **entries = NULL;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (de->d_name[0] != '.' || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (!all && !startswith(de->d_name, ".#"))
                        continue;
                /* The OCI layer store has its own clean (oci_store_clean()). */
                if (streq(de->d_name, ".#oci"))
                        continue;
                /* Kept pull downloads (--keep-download=yes) are a cache, not leftovers. */
                if (!all && startswith(de->d_name, ".#pull-cache."))
                        continue;
                /* Previous generations of a template (.#NAME.gen-N, and its record) are kept on
                 * purpose: update prunes them, rollback brings them back. */
                _cleanup_free_ char *gbase = hidden_base(de->d_name);
                if (!gbase)
                        return -ENOMEM;
                _cleanup_free_ char *gname = NULL;
                if (image_generation_entry_parse(gbase, &gname, NULL) >= 0) {
                        /* …but a record whose generation is gone (a kill between the two) goes,
                         * under the update lock of its template (update and rollback move them). */
                        struct stat gst;
                        ImageLock ul = IMAGE_LOCK_NULL;
                        _cleanup_free_ char *un = strjoin(".update.", gname);
                        if (un && !streq(gbase, de->d_name) && fstatat(root->fd, gbase, &gst, AT_SYMLINK_NOFOLLOW) < 0 &&
                            errno == ENOENT && image_lock_at(root->fd, un, true, &ul) >= 0) {
                                if (fstatat(root->fd, gbase, &gst, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
                                    unlinkat(root->fd, de->d_name, 0) >= 0 && on_removed)
                                        on_removed(de->d_name, userdata);
                                image_lock_release(&ul);
                        }
                        continue;
                }
                if (strv_extend(&entries, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (errno > 0)
                return -errno;

        /* Which are ours is decided before anything is removed (removing an entry unlinks its lock
         * file, which its sidecars still need to be told apart by): a pull download by its name
         * (it lives on unlocked between pulls); a temporary or ephemeral entry by its name and its
         * lock file (cowpen makes the lock before the entry and holds it while the entry is in
         * use; a name alone could be another tool's: systemd-import's ".#NAMErandom" for an image
         * named "clone.x." looks the same). Anything else hidden goes only when it is old. */
        size_t n_entries = strv_length(entries);
        _cleanup_free_ bool *ours = calloc(MAX(n_entries, (size_t) 1), sizeof(bool));
        if (!ours)
                return -ENOMEM;
        for (size_t k = 0; k < n_entries; k++) {
                _cleanup_free_ char *base = hidden_base(entries[k]), *lck = NULL;
                if (!base || !(lck = strjoin(base, ".lck")))
                        return -ENOMEM;
                struct stat lst;
                int kind = hidden_name_is_cowpens(base);
                ours[k] = !startswith(entries[k], ".#") || kind == 2 ||
                          (kind == 1 && fstatat(root->fd, lck, &lst, AT_SYMLINK_NOFOLLOW) >= 0);
        }

        int ret = 0;
        time_t now = time(NULL);
        /* Entries first, lock files after: a lock file is the proof that its entry is in use. */
        for (int pass = 0; pass < 2; pass++)
                for (char **e = entries; e && *e; e++) {
                        bool is_lock = endswith(*e, ".lck");
                        if (is_lock != (pass == 1))
                                continue;
                        int r;
                        if (is_lock) {
                                /* The lock file of an update's entry that had to stay (its template
                                 * is in use) stays too: it is what marks the entry as cowpen's. */
                                _cleanup_free_ char *owner = strndup(*e, strlen(*e) - STRLEN(".lck"));
                                _cleanup_free_ char *tmpl = owner ? template_of_hidden(owner) : NULL;
                                struct stat ost;
                                if (tmpl && fstatat(root->fd, owner, &ost, AT_SYMLINK_NOFOLLOW) >= 0)
                                        continue;
                                /* Take it exclusively: if that works nobody holds it. */
                                int fd;
                                r = lock_file_at(root->fd, *e, true, &fd);
                                if (r == -EBUSY)
                                        continue;
                                if (r < 0) {
                                        ret = ret ?: r;
                                        continue;
                                }
                                unlock_file_at(root->fd, *e, fd, true);
                                continue; /* lock files are bookkeeping, not reported */
                        }
                        _cleanup_free_ char *base = hidden_base(*e), *lck = NULL;
                        if (!base)
                                return -ENOMEM;
                        lck = strjoin(base, ".lck");
                        if (!lck)
                                return -ENOMEM;
                        if (!ours[e - entries]) {
                                r = entry_is_stale(root->fd, *e, now, 0);
                                if (r == 0 || r == -ENOENT)
                                        continue;
                                if (r < 0) {
                                        ret = ret ?: r;
                                        continue;
                                }
                                r = rm_rf_at(root->fd, *e);
                                if (r < 0 && r != -ENOENT) {
                                        ret = ret ?: r;
                                        continue;
                                }
                                if (on_removed)
                                        on_removed(*e, userdata);
                                continue;
                        }
                        /* Hold the entry's lock while removing, so nobody adopts it meanwhile. */
                        int fd;
                        r = lock_file_at(root->fd, lck, true, &fd);
                        if (r == -EBUSY)
                                continue;
                        if (r < 0) {
                                ret = ret ?: r;
                                continue;
                        }
                        /* A killed update's tree or a retired generation may be the old tree
                         * that runs of the template started from still use: it goes only while
                         * nobody runs the template. */
                        _cleanup_free_ char *tmpl = template_of_hidden(base);
                        if (tmpl) {
                                ImageLock il = IMAGE_LOCK_NULL;
                                if (image_lock(root, tmpl, true, &il) < 0) {
                                        unlock_file_at(root->fd, lck, fd, false);
                                        continue;
                                }
                                r = rm_rf_at(root->fd, *e);
                                image_lock_release(&il);
                                unlock_file_at(root->fd, lck, fd, true);
                                if (r < 0 && r != -ENOENT) {
                                        ret = ret ?: r;
                                        continue;
                                }
                                if (on_removed)
                                        on_removed(*e, userdata);
                                continue;
                        }
                        if (!startswith(*e, ".#")) {
                                /* A hidden image (--all): also respect its image lock. */
                                ImageLock il = IMAGE_LOCK_NULL;
                                _cleanup_free_ char *nm = strdup(*e);
                                char *dot = nm ? (char *) endswith(nm, ".raw") : NULL;
                                if (dot)
                                        *dot = 0;
                                if (nm && image_lock(root, nm, true, &il) < 0) {
                                        unlock_file_at(root->fd, lck, fd, true);
                                        continue;
                                }
                                image_lock_release(&il);
                        }
                        r = rm_rf_at(root->fd, *e);
                        unlock_file_at(root->fd, lck, fd, true);
                        if (r < 0 && r != -ENOENT) {
                                ret = ret ?: r;
                                continue;
                        }
                        if (on_removed)
                                on_removed(*e, userdata);
                }
        return ret;
}
