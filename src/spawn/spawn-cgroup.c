/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <libmount.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "dlopen-util.h"
#include "fd-util.h"
#include "spawn-cgroup.h"
#include "proc-util.h"
#include "util.h"

/* See spawn-cgroup.h. */

#define CGROUP2_SUPER_MAGIC_ 0x63677270

/* libmount, loaded with dlopen() (dlopen-util.h) only where /sys/fs/cgroup is not the cgroup2
 * hierarchy and mountinfo must say where it is: the functions this file calls. */
static typeof(mnt_free_iter) *sym_mnt_free_iter;
static typeof(mnt_free_table) *sym_mnt_free_table;
static typeof(mnt_fs_get_fstype) *sym_mnt_fs_get_fstype;
static typeof(mnt_fs_get_root) *sym_mnt_fs_get_root;
static typeof(mnt_fs_get_target) *sym_mnt_fs_get_target;
static typeof(mnt_new_iter) *sym_mnt_new_iter;
static typeof(mnt_new_table) *sym_mnt_new_table;
static typeof(mnt_table_next_fs) *sym_mnt_table_next_fs;
static typeof(mnt_table_parse_file) *sym_mnt_table_parse_file;

static const DlopenSymbol libmount_symbols[] = {
        DLSYM(mnt_free_iter),
        DLSYM(mnt_free_table),
        DLSYM(mnt_fs_get_fstype),
        DLSYM(mnt_fs_get_root),
        DLSYM(mnt_fs_get_target),
        DLSYM(mnt_new_iter),
        DLSYM(mnt_new_table),
        DLSYM(mnt_table_next_fs),
        DLSYM(mnt_table_parse_file),
        {},
};
static DlopenLibrary libmount_library = DLOPEN_LIBRARY_INIT(LIBMOUNT_SONAME, libmount_symbols);

int dlopen_libmount(const char **ret_detail) {
        return dlopen_library(&libmount_library, ret_detail);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_table *, sym_mnt_free_table);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_iter *, sym_mnt_free_iter);

int spawn_cgroup2_mount_from_mountinfo(const char *path, char **ret_mount, char **ret_root) {
        int r = dlopen_libmount(NULL);
        if (r < 0)
                return r;
        _cleanup_(sym_mnt_free_tablep) struct libmnt_table *t = sym_mnt_new_table();
        _cleanup_(sym_mnt_free_iterp) struct libmnt_iter *it = sym_mnt_new_iter(MNT_ITER_FORWARD);
        if (!t || !it)
                return -ENOMEM;
        r = sym_mnt_table_parse_file(t, path);
        if (r < 0)
                return r;
        struct libmnt_fs *fs;
        while (sym_mnt_table_next_fs(t, it, &fs) == 0) {
                const char *type = sym_mnt_fs_get_fstype(fs), *root = sym_mnt_fs_get_root(fs),
                           *mnt = sym_mnt_fs_get_target(fs);
                if (!type || !streq(type, "cgroup2") || !root || !mnt)
                        continue;
                /* Names the kernel escapes in mountinfo (space, tab, newline, backslash): not a
                 * mount we would use. */
                if (strpbrk(mnt, " \t\n\\") || strpbrk(root, " \t\n\\"))
                        continue;
                char *m = strdup(mnt), *rt = strdup(root);
                if (!m || !rt) {
                        free(m);
                        free(rt);
                        return -ENOMEM;
                }
                *ret_mount = m;
                *ret_root = rt;
                return 0;
        }
        return -ENOMEDIUM;
}

/* Where the host's cgroup2 hierarchy is mounted, with the mount's root inside the hierarchy; own
 * is our cgroup (pid_cgroup2_path()). First where systemd looks (cg_unified_cached()), with
 * statfs() and without reading mountinfo or loading libmount: /sys/fs/cgroup itself on a unified
 * host (every modern one), /sys/fs/cgroup/unified when /sys/fs/cgroup is the tmpfs of a hybrid
 * host. That the mount shows the hierarchy from our cgroup namespace's root (mountinfo's root
 * "/") is taken as proven when our own cgroup is there; a mount of a subtree (a container
 * manager's bind mount) or cgroup2 mounted elsewhere is left to mountinfo. */
static int find_cgroup2_mount(const char *own, char **ret_mount, char **ret_root) {
        const char *mnt = NULL;
        struct statfs sfs;
        if (statfs("/sys/fs/cgroup", &sfs) >= 0) {
                if (sfs.f_type == CGROUP2_SUPER_MAGIC_)
                        mnt = "/sys/fs/cgroup";
                else if (sfs.f_type == TMPFS_MAGIC && statfs("/sys/fs/cgroup/unified", &sfs) >= 0 &&
                         sfs.f_type == CGROUP2_SUPER_MAGIC_)
                        mnt = "/sys/fs/cgroup/unified";
        }
        _cleanup_free_ char *mine = NULL;
        if (mnt && asprintf(&mine, "%s%s", mnt, own) < 0)
                return -ENOMEM;
        if (mine && statfs(mine, &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC_) {
                char *m = strdup(mnt), *rt = strdup("/");
                if (!m || !rt) {
                        free(m);
                        free(rt);
                        return -ENOMEM;
                }
                *ret_mount = m;
                *ret_root = rt;
                return 0;
        }
        return spawn_cgroup2_mount_from_mountinfo("/proc/self/mountinfo", ret_mount, ret_root);
}

static int remove_cgroup_tree(int dir_fd, const char *name, unsigned depth);

/* Whether a cgroup that looks stale by its name is one: its owner holds a lock on it while it runs
 * (make_cgroup()). The PID in the name says nothing across PID namespaces: a cowpen in another
 * one (the network tests run in their own) sees no process of that PID, while the cgroup is still
 * empty because its owner sets the network up before the container's first process enters it.
 * A cgroup taken in the moment between its owner's mkdir() and flock() is made anew by its owner
 * (make_cgroup() checks that what it locked is still there). */
static bool cgroup_is_abandoned(int dir_fd, const char *name) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        return flock(fd, LOCK_EX | LOCK_NB) >= 0; /* released with fd: rmdir needs no lock */
}

/* What a cowpen killed with SIGKILL left: its (empty) cgroups. rmdir fails on a populated one. */
static void sweep_stale_cgroups(const char *parent) {
        _cleanup_close_ int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        DIR *d = fdopendir(fd);
        if (!d)
                return;
        TAKE_FD(fd);
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && name_owner_is_gone(de->d_name, "cowpen-") &&
                    cgroup_is_abandoned(dirfd(d), de->d_name))
                        (void) remove_cgroup_tree(dirfd(d), de->d_name, 0);
        closedir(d);
}

static int make_cgroup(SpawnCgroup *b, const char *machine) {
        _cleanup_free_ char *mnt = NULL, *mroot = NULL, *own = NULL, *rnd = NULL;
        int r = pid_cgroup2_path(0, &own);
        if (r < 0)
                return r;
        if ((r = find_cgroup2_mount(own, &mnt, &mroot)) < 0)
                return r;
        /* Our path relative to what the mount shows. */
        const char *rel = own;
        if (!streq(mroot, "/")) {
                size_t l = strlen(mroot);
                if (!strneq(own, mroot, l) || (own[l] != '/' && own[l] != 0))
                        return -ENOMEDIUM;
                rel = own + l;
        }
        _cleanup_free_ char *parent = NULL;
        if (asprintf(&parent, "%s%s", mnt, rel) < 0)
                return -ENOMEM;
        sweep_stale_cgroups(parent);
        /* Named with our PID, so that what a killed cowpen left is known as such, and locked while
         * the run lasts (sweep_stale_cgroups() of other cowpens leaves it alone). Another cowpen's
         * sweep may take it before our lock: then it is gone once we hold the lock, and we make
         * another. */
        for (unsigned attempt = 0;; attempt++) {
                char *path = NULL;
                free(rnd);
                rnd = NULL;
                if ((r = random_hex(4, &rnd)) < 0)
                        return r;
                if (asprintf(&path, "%s%scowpen-%i-%s-%s", parent, endswith(parent, "/") ? "" : "/", (int) getpid(),
                            rnd, machine) < 0)
                        return -ENOMEM;
                if (mkdir(path, 0755) < 0) {
                        r = negative_errno();
                        free(path);
                        return r;
                }
                b->path = path;
                b->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (b->fd < 0 && errno != ENOENT)
                        return negative_errno();
                if (b->fd >= 0 && flock(b->fd, LOCK_SH) < 0)
                        return negative_errno();
                struct stat ours, now;
                if (b->fd >= 0 && fstat(b->fd, &ours) >= 0 && stat(path, &now) >= 0 && ours.st_ino == now.st_ino)
                        break;
                b->fd = safe_close(b->fd);
                (void) rmdir(path);
                b->path = NULL;
                free(path);
                if (attempt >= 8)
                        return -EBUSY;
        }
        if (fd_is_fs_type(b->fd, CGROUP2_SUPER_MAGIC_) <= 0)
                return -ENOMEDIUM;
        return 0;
}

/* Removes the cgroup tree below dir_fd/name, children first. */
static int remove_cgroup_tree(int dir_fd, const char *name, unsigned depth) {
        if (depth > SPAWN_CGROUP_DEPTH_MAX)
                return -ELOOP;
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        DIR *d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -ENOMEM;
        }
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                int k = remove_cgroup_tree(dirfd(d), de->d_name, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        /* The last processes of the namespace may still be on their way out. */
        for (unsigned i = 0; i < 200; i++) {
                if (unlinkat(dir_fd, name, AT_REMOVEDIR) >= 0 || errno == ENOENT)
                        return r;
                if (errno != EBUSY)
                        return negative_errno();
                (void) nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        }
        return -EBUSY;
}


/* One entry of the device policy: a type, a major, a minor (-1: any) and what may be done. */
typedef struct DeviceRule {
        short type;     /* BPF_DEVCG_DEV_CHAR or _BLOCK */
        int major, minor;
        short access;   /* BPF_DEVCG_ACC_* */
} DeviceRule;

#define ACC_RW (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)
#define ACC_RWM (ACC_RW | BPF_DEVCG_ACC_MKNOD)

/* systemd's "closed" policy (null, zero, full, random, urandom, tty, ptmx) and nspawn's
 * additions: /dev/net/tun, and pseudo-terminals to open but not to create (the kernel's UNIX98
 * pty majors, 136…143). Device 0:0 is no device (opening it fails with ENXIO): the mode-0 nodes
 * of /run/host/inaccessible are made with it (the kernel lets overlayfs whiteouts, char 0:0,
 * through anyway). */
static const DeviceRule default_rules[] = {
        { BPF_DEVCG_DEV_CHAR, 0, 0, ACC_RWM },  { BPF_DEVCG_DEV_BLOCK, 0, 0, ACC_RWM },
        { BPF_DEVCG_DEV_CHAR, 1, 3, ACC_RWM },  { BPF_DEVCG_DEV_CHAR, 1, 5, ACC_RWM },
        { BPF_DEVCG_DEV_CHAR, 1, 7, ACC_RWM },  { BPF_DEVCG_DEV_CHAR, 1, 8, ACC_RWM },
        { BPF_DEVCG_DEV_CHAR, 1, 9, ACC_RWM },  { BPF_DEVCG_DEV_CHAR, 5, 0, ACC_RWM },
        { BPF_DEVCG_DEV_CHAR, 5, 2, ACC_RWM },  { BPF_DEVCG_DEV_CHAR, 10, 200, ACC_RWM },
        { BPF_DEVCG_DEV_CHAR, 136, -1, ACC_RW }, { BPF_DEVCG_DEV_CHAR, 137, -1, ACC_RW },
        { BPF_DEVCG_DEV_CHAR, 138, -1, ACC_RW }, { BPF_DEVCG_DEV_CHAR, 139, -1, ACC_RW },
        { BPF_DEVCG_DEV_CHAR, 140, -1, ACC_RW }, { BPF_DEVCG_DEV_CHAR, 141, -1, ACC_RW },
        { BPF_DEVCG_DEV_CHAR, 142, -1, ACC_RW }, { BPF_DEVCG_DEV_CHAR, 143, -1, ACC_RW },
};

#define INSN(c, d, s, o, i) ((struct bpf_insn) { .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* The program: 1 (allow) when the access matches a rule, else 0. r2 = type, r3 = access,
 * r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx). */
static size_t device_program(const DeviceRule *rules, size_t n, struct bpf_insn *p) {
        size_t k = 0;
        p[k++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0);
        p[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff);
        p[k++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 3, 1, 0, 0);
        p[k++] = INSN(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16);
        p[k++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0);
        p[k++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0);
        for (size_t i = 0; i < n; i++) {
                const DeviceRule *d = &rules[i];
                /* A failed check jumps past the rest of this rule: its instructions after the
                 * check (8 with a minor, 7 without, in all). */
                short rest = d->minor >= 0 ? 7 : 6;
                p[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, rest--, d->type);
                p[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, rest--, d->major);
                if (d->minor >= 0)
                        p[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, rest--, d->minor);
                /* Allowed only when the access asks for nothing beyond the rule's. */
                p[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 3, 0, 0);
                p[k++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, ~(int) d->access & 0xffff);
                p[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 6, 0, 2, 0);
                p[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
                p[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        }
        p[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
        p[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        return k;
}

bool spawn_mount_is_host_device(const CustomMount *m, struct stat *ret_st) {
        return m->type == CUSTOM_MOUNT_BIND && !m->source_in_root && stat(m->source, ret_st) >= 0 &&
               (S_ISCHR(ret_st->st_mode) || S_ISBLK(ret_st->st_mode));
}

/* The rules for this run: the default ones, and every device node bound in from the host. */
static int device_rules(const SpawnConfig *c, DeviceRule *rules, size_t max, size_t *ret_n) {
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(default_rules); i++)
                rules[n++] = default_rules[i];
        for (size_t i = 0; i < c->n_mounts; i++) {
                const CustomMount *m = &c->mounts[i];
                struct stat st;
                if (!spawn_mount_is_host_device(m, &st))
                        continue;
                if (n >= max)
                        return -E2BIG;
                rules[n++] = (DeviceRule) {
                        .type = S_ISCHR(st.st_mode) ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK,
                        .major = (int) major(st.st_rdev),
                        .minor = (int) minor(st.st_rdev),
                        .access = m->read_only ? BPF_DEVCG_ACC_READ : ACC_RW,
                };
        }
        *ret_n = n;
        return 0;
}

static int attach_device_policy(SpawnCgroup *cg, const SpawnConfig *c) {
        DeviceRule rules[ELEMENTSOF(default_rules) + SPAWN_DEVICE_ALLOW_MAX];
        size_t n;
        int r = device_rules(c, rules, ELEMENTSOF(rules), &n);
        if (r < 0)
                return r;
        struct bpf_insn prog[8 + 8 * ELEMENTSOF(rules)];
        size_t len = device_program(rules, n, prog);
        union bpf_attr a = {
                .prog_type = BPF_PROG_TYPE_CGROUP_DEVICE,
                .insns = (uint64_t) (uintptr_t) prog,
                .insn_cnt = (uint32_t) len,
                .license = (uint64_t) (uintptr_t) "GPL",
        };
        _cleanup_close_ int pfd = (int) syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
        if (pfd < 0)
                return negative_errno();
        /* With programs of the host's manager above us (systemd attaches its own with
         * BPF_F_ALLOW_MULTI), ours must allow others too; all of them must allow an access. */
        a = (union bpf_attr) { .target_fd = (uint32_t) cg->fd, .attach_bpf_fd = (uint32_t) pfd,
                               .attach_type = BPF_CGROUP_DEVICE, .attach_flags = BPF_F_ALLOW_MULTI };
        if (syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a)) >= 0)
                return 0;
        a.attach_flags = 0;
        return RET_NERRNO(syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a)));
}

int spawn_cgroup_make(SpawnCgroup *cg, const SpawnConfig *c, const char *machine, Diag *diag) {
        int r = make_cgroup(cg, machine);
        const char *detail = NULL;
        if (dlopen_error_is_library(r) && dlopen_libmount(&detail) < 0 && detail)
                return diag_fail(diag, r, NULL,
                                 "%s (needed to find the cgroup2 hierarchy in mountinfo: it is not mounted at /sys/fs/cgroup)",
                                 detail);
        if (r == -ENOMEDIUM)
                return diag_fail(diag, r, NULL, "a container needs a cgroup2 hierarchy on the host (none is mounted)");
        if (r < 0)
                return diag_fail(diag, r, NULL,
                                 "create the container's cgroup (for its device policy) below cowpen's: %m");
        r = attach_device_policy(cg, c);
        if (r == -E2BIG)
                return diag_fail(diag, r, NULL, "too many device nodes bound in");
        if (r < 0)
                return diag_fail(diag, r, NULL, "restrict the container's device access (cgroup BPF): %m");
        return 0;
}

int spawn_cgroup_delegate(const SpawnCgroup *b) {
        if (b->fd < 0 || b->owner == (uid_t) -1)
                return 0;
        /* Delegation as systemd does it: the directory and the files that move processes and
         * enable controllers belong to the container's root. Done once the container's first
         * processes are in it: a helper in the new user namespace can make init there only while
         * host root still owns cgroup.procs. */
        static const char *const files[] = {"", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (fchownat(b->fd, files[i], b->owner, b->owner, files[i][0] ? 0 : AT_EMPTY_PATH) < 0 &&
                    errno != ENOENT)
                        return negative_errno();
        return 0;
}

int spawn_cgroup_attach(const SpawnCgroup *cg, pid_t pid) {
        if (cg->fd < 0)
                return 0;
        _cleanup_close_ int fd = openat(cg->fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        char s[32];
        int n = snprintf(s, sizeof(s), "%i", (int) pid); /* 0: the writer itself */
        if (write(fd, s, (size_t) n) != n)
                return negative_errno();
        return 0;
}

/* Whether process pid, of our cgroup namespace, is in the cgroup already (made there by
 * spawn_clone()): its cgroup2 path ends in the cgroup's unique name. Cheaper than moving it
 * again, which costs as much as a first move. */
static bool contains(const SpawnCgroup *cg, pid_t pid) {
        _cleanup_free_ char *path = NULL;
        const char *name = strrchr(cg->path, '/'), *last;
        return name && pid_cgroup2_path(pid, &path) >= 0 && (last = strrchr(path, '/')) && streq(last, name);
}

int spawn_cgroup_place(const SpawnCgroup *cg, pid_t pid) {
        if (cg->fd < 0 || (pid > 0 && contains(cg, pid)))
                return 0;
        return spawn_cgroup_attach(cg, pid);
}

int spawn_cgroup_child_enter(const SpawnCgroup *cg, bool placed) {
        if (cg->fd < 0)
                return 0;
        int r = placed ? 0 : spawn_cgroup_attach(cg, 0);
        if (r < 0)
                return r;
        return RET_NERRNO(unshare(CLONE_NEWCGROUP));
}

void spawn_cgroup_done(SpawnCgroup *cg) {
        if (cg->path) {
                /* Whatever is left in it dies (cgroup.kill, Linux 5.14). */
                if (cg->fd >= 0) {
                        int k = openat(cg->fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
                        if (k >= 0) {
                                if (write(k, "1", 1) < 0) { /* an older kernel: the namespace already ended them */
                                }
                                safe_close(k);
                        }
                }
                _cleanup_free_ char *parent = strdup(cg->path);
                char *slash = parent ? strrchr(parent, '/') : NULL;
                if (slash) {
                        *slash = 0;
                        int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (pfd >= 0) {
                                (void) remove_cgroup_tree(pfd, slash + 1, 0);
                                safe_close(pfd);
                        }
                }
        }
        cg->fd = safe_close(cg->fd);
        free(cg->path);
        cg->path = NULL;
}
