/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* treecmp [--no-top] [--no-mtime] [--mtime-seconds] [--ignore=PATH]… A B
 *
 * Compares two directory trees in everything an OS tree carries: the set of paths, file types,
 * modes (setuid/setgid/sticky included), owners, sizes, contents, sparseness, symlink targets,
 * hardlink groups, xattrs (file capabilities and POSIX ACLs included, and those of symlinks),
 * device numbers and mtimes to the nanosecond (--mtime-seconds: to the second, for trees that went
 * through a format without sub-second times).
 * Prints one line per difference and exits 1 when there is any, 0 when the trees are identical. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

typedef struct Entry {
        char *path;
        struct stat st;
        char *link;      /* symlink target */
        char *xattrs;    /* "name=hexvalue\n" sorted */
        char *first;     /* first path of the hardlink group, for files with nlink > 1 */
} Entry;

typedef struct Tree {
        const char *root;
        Entry *e;
        size_t n, cap;
} Tree;

static bool opt_top = true, opt_mtime = true, opt_mtime_nsec = true;
static char **ignores;
static size_t n_ignores;
static unsigned differences;

static void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p) {
                fprintf(stderr, "treecmp: out of memory\n");
                exit(2);
        }
        return p;
}

static char *xstrdup(const char *s) {
        char *p = xmalloc(strlen(s) + 1);
        return strcpy(p, s);
}

static int cmpstr(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static char *read_xattrs(const char *path) {
        ssize_t n = llistxattr(path, NULL, 0);
        if (n <= 0)
                return xstrdup("");
        char *names = xmalloc((size_t) n);
        n = llistxattr(path, names, (size_t) n);
        if (n < 0)
                return xstrdup("");
        char **list = NULL;
        size_t k = 0;
        for (ssize_t i = 0; i < n; i += (ssize_t) strlen(names + i) + 1) {
                list = realloc(list, sizeof(char *) * (k + 1));
                ssize_t vl = lgetxattr(path, names + i, NULL, 0);
                unsigned char *v = xmalloc(vl > 0 ? (size_t) vl : 1);
                vl = vl > 0 ? lgetxattr(path, names + i, v, (size_t) vl) : 0;
                size_t l = strlen(names + i) + 2 + (size_t) (vl > 0 ? vl : 0) * 2 + 1;
                char *s = xmalloc(l), *o = s + sprintf(s, "%s=", names + i);
                for (ssize_t j = 0; j < vl; j++)
                        o += sprintf(o, "%02x", v[j]);
                free(v);
                list[k++] = s;
        }
        free(names);
        qsort(list, k, sizeof(char *), cmpstr);
        size_t total = 1;
        for (size_t i = 0; i < k; i++)
                total += strlen(list[i]) + 1;
        char *r = xmalloc(total), *o = r;
        *o = 0;
        for (size_t i = 0; i < k; i++) {
                o += sprintf(o, "%s\n", list[i]);
                free(list[i]);
        }
        free(list);
        return r;
}

static bool ignored(const char *rel) {
        for (size_t i = 0; i < n_ignores; i++)
                if (strcmp(rel, ignores[i]) == 0)
                        return true;
        return false;
}

static void walk(Tree *t, const char *rel) {
        char path[PATH_MAX * 2];
        snprintf(path, sizeof(path), "%s%s%s", t->root, *rel ? "/" : "", rel);
        struct stat st;
        if (lstat(path, &st) < 0) {
                fprintf(stderr, "treecmp: %s: %m\n", path);
                exit(2);
        }
        if (t->n == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 1024;
                t->e = realloc(t->e, sizeof(Entry) * t->cap);
                if (!t->e)
                        exit(2);
        }
        Entry *e = &t->e[t->n++];
        *e = (Entry) { .path = xstrdup(rel), .st = st };
        e->xattrs = read_xattrs(path);
        if (S_ISLNK(st.st_mode)) {
                char buf[PATH_MAX + 1];
                ssize_t l = readlink(path, buf, sizeof(buf) - 1);
                buf[l < 0 ? 0 : l] = 0;
                e->link = xstrdup(buf);
        }
        if (!S_ISDIR(st.st_mode))
                return;
        DIR *d = opendir(path);
        if (!d) {
                fprintf(stderr, "treecmp: %s: %m\n", path);
                exit(2);
        }
        char **names = NULL;
        size_t k = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                names = realloc(names, sizeof(char *) * (k + 1));
                names[k++] = xstrdup(de->d_name);
        }
        closedir(d);
        qsort(names, k, sizeof(char *), cmpstr);
        for (size_t i = 0; i < k; i++) {
                char sub[PATH_MAX];
                snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", names[i]);
                if (!ignored(sub))
                        walk(t, sub);
                free(names[i]);
        }
        free(names);
}

/* Hardlink groups: the first path (in walk order) of each inode with more than one link. */
static void link_groups(Tree *t) {
        for (size_t i = 0; i < t->n; i++) {
                Entry *e = &t->e[i];
                if (S_ISDIR(e->st.st_mode) || e->st.st_nlink < 2)
                        continue;
                for (size_t j = 0; j < i; j++)
                        if (t->e[j].st.st_ino == e->st.st_ino && t->e[j].st.st_dev == e->st.st_dev &&
                            !S_ISDIR(t->e[j].st.st_mode)) {
                                e->first = t->e[j].path;
                                break;
                        }
        }
}

#define DIFF(...)                                  \
        do {                                       \
                differences++;                     \
                if (differences <= 200)            \
                        printf(__VA_ARGS__);       \
        } while (0)

static void compare_contents(const char *pa, const char *pb, const char *rel) {
        int a = open(pa, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), b = open(pb, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (a < 0 || b < 0) {
                DIFF("%s: cannot open for comparison\n", rel);
                goto out;
        }
        static char ba[1 << 16], bb[1 << 16];
        for (;;) {
                ssize_t x = read(a, ba, sizeof(ba)), y = 0;
                for (ssize_t got = 0; got < x;) {
                        ssize_t k = read(b, bb + got, (size_t) (x - got));
                        if (k <= 0)
                                break;
                        got += k;
                        y = got;
                }
                if (x == 0) {
                        if (read(b, bb, 1) != 0)
                                DIFF("%s: contents differ (B longer)\n", rel);
                        break;
                }
                if (x < 0 || y != x || memcmp(ba, bb, (size_t) x) != 0) {
                        DIFF("%s: contents differ\n", rel);
                        break;
                }
        }
out:
        if (a >= 0)
                close(a);
        if (b >= 0)
                close(b);
}

static void compare_entry(Tree *ta, Entry *a, Tree *tb, Entry *b) {
        const char *rel = *a->path ? a->path : "/";
        bool top = !*a->path;
        if ((a->st.st_mode & S_IFMT) != (b->st.st_mode & S_IFMT)) {
                DIFF("%s: type %o vs %o\n", rel, a->st.st_mode & S_IFMT, b->st.st_mode & S_IFMT);
                return;
        }
        if (top && !opt_top)
                return;
        if ((a->st.st_mode & 07777) != (b->st.st_mode & 07777))
                DIFF("%s: mode %04o vs %04o\n", rel, a->st.st_mode & 07777, b->st.st_mode & 07777);
        if (a->st.st_uid != b->st.st_uid || a->st.st_gid != b->st.st_gid)
                DIFF("%s: owner %u:%u vs %u:%u\n", rel, a->st.st_uid, a->st.st_gid, b->st.st_uid, b->st.st_gid);
        if (strcmp(a->xattrs, b->xattrs) != 0)
                DIFF("%s: xattrs differ:\n  A: %s  B: %s\n", rel, *a->xattrs ? a->xattrs : "(none)\n",
                     *b->xattrs ? b->xattrs : "(none)\n");
        if (opt_mtime && (a->st.st_mtim.tv_sec != b->st.st_mtim.tv_sec ||
                          (opt_mtime_nsec && a->st.st_mtim.tv_nsec != b->st.st_mtim.tv_nsec)))
                DIFF("%s: mtime %lld.%09ld vs %lld.%09ld\n", rel, (long long) a->st.st_mtim.tv_sec, a->st.st_mtim.tv_nsec,
                     (long long) b->st.st_mtim.tv_sec, b->st.st_mtim.tv_nsec);
        if ((a->first == NULL) != (b->first == NULL) || (a->first && strcmp(a->first, b->first) != 0))
                DIFF("%s: hardlink group differs (%s vs %s)\n", rel, a->first ?: "-", b->first ?: "-");
        if (S_ISLNK(a->st.st_mode) && strcmp(a->link, b->link) != 0)
                DIFF("%s: symlink target \"%s\" vs \"%s\"\n", rel, a->link, b->link);
        if ((S_ISCHR(a->st.st_mode) || S_ISBLK(a->st.st_mode)) && a->st.st_rdev != b->st.st_rdev)
                DIFF("%s: device %u:%u vs %u:%u\n", rel, major(a->st.st_rdev), minor(a->st.st_rdev),
                     major(b->st.st_rdev), minor(b->st.st_rdev));
        if (S_ISREG(a->st.st_mode)) {
                if (a->st.st_size != b->st.st_size)
                        DIFF("%s: size %lld vs %lld\n", rel, (long long) a->st.st_size, (long long) b->st.st_size);
                else {
                        bool sa = a->st.st_blocks * 512 + 65536 < a->st.st_size;
                        bool sb = b->st.st_blocks * 512 + 65536 < b->st.st_size;
                        if (sa && !sb)
                                DIFF("%s: sparse in A, not in B (%lld vs %lld blocks)\n", rel,
                                     (long long) a->st.st_blocks, (long long) b->st.st_blocks);
                        char pa[PATH_MAX * 2], pb[PATH_MAX * 2];
                        snprintf(pa, sizeof(pa), "%s/%s", ta->root, a->path);
                        snprintf(pb, sizeof(pb), "%s/%s", tb->root, b->path);
                        compare_contents(pa, pb, rel);
                }
        }
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "no-top", no_argument, NULL, 't' },
                { "no-mtime", no_argument, NULL, 'm' },
                { "mtime-seconds", no_argument, NULL, 's' },
                { "ignore", required_argument, NULL, 'i' },
                {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        opt_top = false;
                        break;
                case 'm':
                        opt_mtime = false;
                        break;
                case 's':
                        opt_mtime_nsec = false;
                        break;
                case 'i':
                        ignores = realloc(ignores, sizeof(char *) * (n_ignores + 1));
                        ignores[n_ignores++] = optarg;
                        break;
                default:
                        return 2;
                }
        if (argc - optind != 2) {
                fprintf(stderr, "usage: treecmp [--no-top] [--no-mtime] [--mtime-seconds] [--ignore=REL]… A B\n");
                return 2;
        }
        Tree a = { .root = argv[optind] }, b = { .root = argv[optind + 1] };
        walk(&a, "");
        walk(&b, "");
        link_groups(&a);
        link_groups(&b);
        size_t i = 0, j = 0;
        while (i < a.n || j < b.n) {
                int o = i >= a.n ? 1 : j >= b.n ? -1 : strcmp(a.e[i].path, b.e[j].path);
                if (o < 0)
                        DIFF("%s: only in A\n", a.e[i++].path);
                else if (o > 0)
                        DIFF("%s: only in B\n", b.e[j++].path);
                else
                        compare_entry(&a, &a.e[i++], &b, &b.e[j++]);
        }
        if (differences > 200)
                printf("… %u differences in all\n", differences);
        if (differences)
                return 1;
        printf("identical: %zu entries\n", a.n);
        return 0;
}
