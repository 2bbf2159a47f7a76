/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "image.h"
#include "lock.h"
#include "rm-rf.h"
#include "util.h"

/* Template generations: update and rollback (image.h). The only untrusted input is the names
 * found in the image root (parsed by image_generation_entry_parse(), bounded by NAME_MAX) and the
 * provenance records (image-provenance.c). */

#define GEN_INFIX ".gen-"
#define GENERATIONS_MAX 4096U /* previous generations of one image looked at */

int image_generation_entry_parse(const char *entry, char **ret_name, uint64_t *ret_generation) {
        if (!startswith(entry, ".#"))
                return -EINVAL;
        const char *infix = NULL;
        for (const char *p = strstr(entry + 2, GEN_INFIX); p; p = strstr(p + 1, GEN_INFIX))
                infix = p; /* the last one: a name may contain ".gen-" itself */
        if (!infix)
                return -EINVAL;
        const char *digits = infix + STRLEN(GEN_INFIX);
        if (!*digits || strlen(digits) > 19 || (digits[0] == '0' && digits[1]))
                return -EINVAL;
        uint64_t g = 0;
        for (const char *c = digits; *c; c++) {
                if (*c < '0' || *c > '9')
                        return -EINVAL;
                g = g * 10 + (uint64_t) (*c - '0');
        }
        if (g >= IMAGE_GENERATION_MAX)
                return -EINVAL;
        _cleanup_free_ char *name = strndup(entry + 2, (size_t) (infix - entry - 2));
        if (!name)
                return -ENOMEM;
        if (!image_name_is_valid(name))
                return -EINVAL;
        if (ret_name)
                *ret_name = TAKE_PTR(name);
        if (ret_generation)
                *ret_generation = g;
        return 0;
}

static int generation_entry_name(const char *name, uint64_t g, char **ret) {
        char *s;
        if (asprintf(&s, ".#%s" GEN_INFIX "%" PRIu64, name, g) < 0)
                return -ENOMEM;
        /* Room for the sidecar too. */
        if (strlen(s) + STRLEN(IMAGE_PROVENANCE_SUFFIX) > NAME_MAX) {
                free(s);
                return -ENAMETOOLONG;
        }
        *ret = s;
        return 0;
}

static int cmp_desc(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? 1 : x > y ? -1 : 0;
}

/* The generation numbers of NAME's previous generations (.#NAME.gen-N directories), newest first. */
static int list_generations(ImageRoot *root, const char *name, uint64_t **ret, size_t *ret_n) {
        _cleanup_closedir_ DIR *d = NULL;
        int r = opendir_fd(root->fd, &d);
        if (r < 0)
                return r;
        _cleanup_free_ uint64_t *l = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *nm = NULL;
                uint64_t g;
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                if (image_generation_entry_parse(de->d_name, &nm, &g) < 0 || !streq(nm, name))
                        continue;
                if (n >= GENERATIONS_MAX)
                        return -E2BIG;
                uint64_t *nl = realloc(l, sizeof(uint64_t) * (n + 1));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n++] = g;
        }
        if (errno > 0)
                return -errno;
        if (n > 0)
                qsort(l, n, sizeof(uint64_t), cmp_desc);
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

static uint64_t current_generation(ImageRoot *root, const char *name) {
        _cleanup_(image_provenance_done) ImageProvenance p = IMAGE_PROVENANCE_NULL;
        if (image_provenance_read(root, name, &p) < 0 || p.generation == IMAGE_GENERATION_NONE)
                return 0;
        return p.generation;
}

static int sidecar_name(const char *base, char **ret) {
        char *s = strjoin(base, IMAGE_PROVENANCE_SUFFIX);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Swaps the provenance records of entries a and b (either may have none). */
static int swap_records(ImageRoot *root, const char *a, const char *b) {
        _cleanup_free_ char *ra = NULL, *rb = NULL;
        if (sidecar_name(a, &ra) < 0 || sidecar_name(b, &rb) < 0)
                return -ENOMEM;
        struct stat st;
        bool has_a = fstatat(root->fd, ra, &st, AT_SYMLINK_NOFOLLOW) >= 0;
        bool has_b = fstatat(root->fd, rb, &st, AT_SYMLINK_NOFOLLOW) >= 0;
        if (has_a && has_b)
                return RET_NERRNO(renameat2(root->fd, ra, root->fd, rb, RENAME_EXCHANGE));
        if (has_a)
                return RET_NERRNO(renameat2(root->fd, ra, root->fd, rb, RENAME_NOREPLACE));
        if (has_b)
                return RET_NERRNO(renameat2(root->fd, rb, root->fd, ra, RENAME_NOREPLACE));
        return 0;
}

/* Swaps the trees a and b in one step. Where the file system refuses RENAME_EXCHANGE (EINVAL:
 * some network and FUSE file systems), b is moved aside and a put in its place with two
 * renames: for that moment neither exists under b's name, but b is never lost or half-changed. */
static int swap_trees(ImageRoot *root, const char *a, const char *b, const char *aside) {
        if (renameat2(root->fd, a, root->fd, b, RENAME_EXCHANGE) >= 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return negative_errno();
        if (renameat2(root->fd, b, root->fd, aside, RENAME_NOREPLACE) < 0)
                return negative_errno();
        if (renameat2(root->fd, a, root->fd, b, RENAME_NOREPLACE) < 0) {
                int r = negative_errno();
                (void) renameat2(root->fd, aside, root->fd, b, RENAME_NOREPLACE);
                return r;
        }
        return RET_NERRNO(renameat2(root->fd, aside, root->fd, a, RENAME_NOREPLACE));
}

/* Entry (and its record) out of the way for good: removed when nobody runs NAME (its lock taken
 * exclusively, without waiting; the caller holds no lock on NAME), else renamed to the hidden
 * .#retired.NAME.RANDOM with a free lock file, which clean removes once NAME is free. */
static int retire_entries(ImageRoot *root, const char *name, char **entries) {
        ImageLock l = IMAGE_LOCK_NULL;
        bool free_now = image_lock(root, name, true, &l) >= 0;
        int ret = 0;
        for (char **e = entries; e && *e; e++) {
                _cleanup_free_ char *rec = NULL;
                if (sidecar_name(*e, &rec) < 0)
                        return -ENOMEM;
                if (free_now) {
                        int r = rm_rf_at(root->fd, *e);
                        if (r < 0 && r != -ENOENT)
                                ret = ret ?: r;
                        (void) unlinkat(root->fd, rec, 0);
                        continue;
                }
                _cleanup_free_ char *hidden = NULL, *hrec = NULL;
                int r = image_hidden_name("retired", name, &hidden);
                if (r < 0 || (r = sidecar_name(hidden, &hrec)) < 0)
                        return r;
                /* The lock file first: clean takes an entry for cowpen's by it. */
                int fd;
                _cleanup_free_ char *lck = strjoin(hidden, ".lck");
                if (!lck)
                        return -ENOMEM;
                r = lock_file_at(root->fd, lck, true, &fd);
                if (r < 0) {
                        ret = ret ?: r;
                        continue;
                }
                if (renameat2(root->fd, *e, root->fd, hidden, RENAME_NOREPLACE) < 0)
                        ret = ret ?: negative_errno();
                else
                        (void) renameat2(root->fd, rec, root->fd, hrec, RENAME_NOREPLACE);
                safe_close(fd); /* released, the file kept */
        }
        image_lock_release(&l);
        return ret;
}

static const char *after_prefix(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* Leftovers of killed updates and retired generations of NAME (.#update.NAME.*, .#retired.NAME.*)
 * that nobody holds, removed while NAME itself is free (a run may use the old tree an update was
 * killed right after swapping). The caller holds no lock on NAME. */
static void sweep_dead(ImageRoot *root, const char *name) {
        ImageLock l = IMAGE_LOCK_NULL;
        if (image_lock(root, name, true, &l) < 0)
                return;
        _cleanup_closedir_ DIR *d = NULL;
        if (opendir_fd(root->fd, &d) < 0) {
                image_lock_release(&l);
                return;
        }
        _cleanup_free_ char *p1 = strjoin(".#update.", name, "."), *p2 = strjoin(".#retired.", name, ".");
        _cleanup_strv_free_ char **dead = NULL;
        struct dirent *de;
        while (p1 && p2 && (de = readdir(d))) {
                const char *rest = after_prefix(de->d_name, p1) ?: after_prefix(de->d_name, p2);
                /* The entry itself: the random part, no dot (not its .lck or .provenance). */
                if (!rest || strlen(rest) != 16 || strchr(rest, '.'))
                        continue;
                if (strv_extend(&dead, de->d_name) < 0)
                        break;
        }
        for (char **e = dead; e && *e; e++) {
                _cleanup_free_ char *lck = strjoin(*e, ".lck"), *rec = strjoin(*e, IMAGE_PROVENANCE_SUFFIX);
                int fd;
                if (!lck || !rec || lock_file_at(root->fd, lck, true, &fd) < 0)
                        continue;
                (void) rm_rf_at(root->fd, *e);
                (void) unlinkat(root->fd, rec, 0);
                unlock_file_at(root->fd, lck, fd, true);
        }
        image_lock_release(&l);
}

/* The records of NAME's update entries whose tree is gone (a kill between removing or moving a
 * tree and its record). Only update and rollback make or move those entries, so with the
 * caller's update lock held nothing is half-way. */
static void sweep_orphan_records(ImageRoot *root, const char *name) {
        _cleanup_closedir_ DIR *d = NULL;
        if (opendir_fd(root->fd, &d) < 0)
                return;
        _cleanup_free_ char *p1 = strjoin(".#update.", name, "."), *p2 = strjoin(".#retired.", name, ".");
        _cleanup_strv_free_ char **orphans = NULL;
        struct dirent *de;
        while (p1 && p2 && (de = readdir(d))) {
                const char *e = endswith(de->d_name, IMAGE_PROVENANCE_SUFFIX);
                if (!e)
                        continue;
                _cleanup_free_ char *base = strndup(de->d_name, (size_t) (e - de->d_name)), *n = NULL;
                if (!base)
                        return;
                bool ours = startswith(base, p1) || startswith(base, p2) ||
                            (image_generation_entry_parse(base, &n, NULL) >= 0 && streq(n, name));
                struct stat st;
                if (ours && fstatat(root->fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
                        strv_extend(&orphans, de->d_name) < 0)
                        return;
        }
        for (char **o = orphans; o && *o; o++)
                (void) unlinkat(root->fd, *o, 0);
}

static int update_lock(ImageRoot *root, const char *name, ImageLock *ret) {
        /* ".update.NAME" is no valid image name (it starts with a dot), so its lock file
         * .#.update.NAME.lck is no image's. */
        _cleanup_free_ char *n = strjoin(".update.", name);
        if (!n)
                return -ENOMEM;
        int r = image_lock_at(root->fd, n, true, ret);
        return r == -EBUSY ? -EALREADY : r;
}

/* NAME found, of a type generations work for. */
static int find_updatable(ImageRoot *root, const char *name, Image **ret) {
        _cleanup_(image_freep) Image *i = NULL;
        int r = image_find(root, name, &i);
        if (r < 0)
                return r;
        if (i->type == IMAGE_RAW)
                return -EMEDIUMTYPE;
        if (i->read_only)
                return -EROFS;
        *ret = TAKE_PTR(i);
        return 0;
}

int image_update_begin(ImageRoot *root, const char *name, ImageUpdate **ret) {
        if (!image_name_is_valid(name))
                return -EINVAL;
        _cleanup_(image_update_freep) ImageUpdate *u = calloc(1, sizeof(ImageUpdate));
        if (!u)
                return -ENOMEM;
        u->root = root;
        u->update_lock = u->name_lock = u->temp_lock = IMAGE_LOCK_NULL;
        if (!(u->name = strdup(name)))
                return -ENOMEM;

        _cleanup_(image_freep) Image *i = NULL;
        int r = find_updatable(root, name, &i);
        if (r < 0)
                return r;
        /* Whether the old generation's name will fit, before anything runs. */
        _cleanup_free_ char *probe = NULL;
        r = generation_entry_name(name, IMAGE_GENERATION_MAX - 1, &probe);
        if (r < 0)
                return r;
        r = update_lock(root, name, &u->update_lock);
        if (r < 0)
                return r;
        sweep_dead(root, name);
        sweep_orphan_records(root, name);
        /* Shared for the whole update: no writable run may change NAME meanwhile (its changes
         * would be lost in the swap), while -x runs may go on starting. */
        r = image_lock(root, name, false, &u->name_lock);
        if (r < 0)
                return r;

        uint64_t g = current_generation(root, name);
        _cleanup_free_ uint64_t *gens = NULL;
        size_t n = 0;
        r = list_generations(root, name, &gens, &n);
        if (r < 0)
                return r;
        if (n > 0 && gens[0] > g)
                g = gens[0];
        if (g + 1 >= IMAGE_GENERATION_MAX)
                return -EOVERFLOW;
        u->generation = g + 1;

        r = image_hidden_name("update", name, &u->temp_name);
        if (r < 0)
                return r;
        r = image_hidden_lock(root->fd, u->temp_name, &u->temp_lock);
        if (r < 0)
                return r;
        _cleanup_close_ int src_fd = image_open(root, i, false);
        if (src_fd < 0)
                return src_fd;
        r = clone_tree(src_fd, root->fd, u->temp_name, CLONE_LADDER, &u->method);
        if (r < 0)
                return r;
        u->temp_path = strjoin(root->path, streq(root->path, "/") ? "" : "/", u->temp_name);
        if (!u->temp_path)
                return -ENOMEM;
        *ret = TAKE_PTR(u);
        return 0;
}

/* Keeps the newest keep previous generations of NAME and retires the others. */
static int prune_generations(ImageRoot *root, const char *name, unsigned keep) {
        _cleanup_free_ uint64_t *gens = NULL;
        size_t n = 0;
        int r = list_generations(root, name, &gens, &n);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **old = NULL;
        for (size_t k = keep; k < n; k++) {
                _cleanup_free_ char *e = NULL;
                if (generation_entry_name(name, gens[k], &e) < 0 || strv_extend(&old, e) < 0)
                        return -ENOMEM;
        }
        return retire_entries(root, name, old);
}

int image_update_commit(ImageUpdate *u, unsigned keep) {
        ImageRoot *root = u->root;
        if (interrupted())
                return -EINTR;

        /* The new generation's record: where NAME came from, and its new number. Written after the
         * command ran, by us: nothing the command did can have set it. */
        _cleanup_(image_provenance_done) ImageProvenance p = IMAGE_PROVENANCE_NULL;
        int r = image_provenance_read(root, u->name, &p);
        if (r < 0 && r != -ENOENT && r != -EBADMSG && r != -E2BIG)
                return r;
        uint64_t old_gen = p.generation == IMAGE_GENERATION_NONE ? 0 : p.generation;
        p.generation = u->generation;
        r = image_provenance_write_at(root->fd, u->temp_name, &p);
        if (r < 0)
                return r;

        _cleanup_free_ char *old_entry = NULL;
        r = generation_entry_name(u->name, old_gen, &old_entry);
        if (r < 0)
                return r;
        /* A previous generation of that number (a record lost or edited): out of the way first. */
        struct stat st;
        if (fstatat(root->fd, old_entry, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                char *one[] = {old_entry, NULL};
                image_lock_release(&u->name_lock);
                r = retire_entries(root, u->name, one);
                if (r >= 0)
                        r = image_lock(root, u->name, false, &u->name_lock);
                if (r < 0)
                        return r;
        }

        r = swap_trees(root, u->temp_name, u->name, old_entry);
        if (r < 0)
                return r;
        u->swapped = true;
        /* From here on NAME is the new generation; what follows only files the old one away. A
         * kill right here leaves the old tree as .#update.NAME.RANDOM (removed by clean or the
         * next update once nobody runs NAME) and NAME with the old record. */
        r = swap_records(root, u->temp_name, u->name);
        int q = 0;
        if (renameat2(root->fd, u->temp_name, root->fd, old_entry, RENAME_NOREPLACE) < 0 && errno != ENOENT)
                q = negative_errno();
        else {
                _cleanup_free_ char *from = NULL, *to = NULL;
                if (sidecar_name(u->temp_name, &from) < 0 || sidecar_name(old_entry, &to) < 0)
                        return -ENOMEM;
                (void) renameat2(root->fd, from, root->fd, to, RENAME_NOREPLACE);
        }
        /* Our shared lock goes first: pruning needs NAME exclusively to delete right away. */
        image_lock_release(&u->name_lock);
        int k = prune_generations(root, u->name, keep);
        return r < 0 ? r : q < 0 ? q : k;
}

ImageUpdate *image_update_free(ImageUpdate *u) {
        if (!u)
                return NULL;
        if (!u->swapped && u->temp_name && u->temp_lock.fd >= 0) {
                _cleanup_free_ char *rec = NULL;
                (void) rm_rf_at(u->root->fd, u->temp_name);
                if (sidecar_name(u->temp_name, &rec) >= 0)
                        (void) unlinkat(u->root->fd, rec, 0);
        }
        image_lock_release(&u->temp_lock);
        image_lock_release(&u->name_lock);
        image_lock_release(&u->update_lock);
        free(u->temp_name);
        free(u->temp_path);
        free(u->name);
        free(u);
        return NULL;
}

int image_rollback(ImageRoot *root, const char *name, uint64_t *ret_generation) {
        if (!image_name_is_valid(name))
                return -EINVAL;
        _cleanup_(image_freep) Image *i = NULL;
        int r = find_updatable(root, name, &i);
        if (r < 0)
                return r;
        ImageLock ul = IMAGE_LOCK_NULL, nl = IMAGE_LOCK_NULL;
        r = update_lock(root, name, &ul);
        if (r < 0)
                return r;
        sweep_dead(root, name);
        sweep_orphan_records(root, name);
        _cleanup_free_ uint64_t *gens = NULL;
        _cleanup_free_ char *entry = NULL, *aside = NULL;
        size_t n = 0;
        r = image_lock(root, name, false, &nl);
        if (r < 0)
                goto finish;
        uint64_t cur = current_generation(root, name);
        r = list_generations(root, name, &gens, &n);
        if (r < 0)
                goto finish;
        size_t k = 0;
        while (k < n && gens[k] >= cur)
                k++;
        if (k >= n) {
                r = -ENOENT;
                goto finish;
        }
        if ((r = generation_entry_name(name, gens[k], &entry)) < 0 ||
                (r = image_hidden_name("retired", name, &aside)) < 0)
                goto finish;
        r = swap_trees(root, entry, name, aside);
        if (r < 0)
                goto finish;
        /* entry now holds the generation rolled back from: it is not kept. */
        r = swap_records(root, entry, name);
        image_lock_release(&nl);
        char *one[] = {entry, NULL};
        int q = retire_entries(root, name, one);
        if (r >= 0)
                r = q;
        if (r >= 0 && ret_generation)
                *ret_generation = gens[k];
finish:
        image_lock_release(&nl);
        image_lock_release(&ul);
        return r;
}
