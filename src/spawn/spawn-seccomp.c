/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <link.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fd-util.h"
#include "mount-util.h"
#include "spawn-seccomp.h"
#include "util.h"

/* See spawn-seccomp.h. libseccomp is used here and nowhere else. */

/* The architectures whose system calls a process of this host can make, native last (as
 * systemd orders them: a filter that refuses seccomp() itself is installed last). */
static const uint32_t local_archs[] = {
#if defined(__x86_64__) && defined(__ILP32__)
        SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32,
#elif defined(__x86_64__)
        SCMP_ARCH_X86, SCMP_ARCH_X32, SCMP_ARCH_X86_64,
#elif defined(__i386__)
        SCMP_ARCH_X86,
#elif defined(__aarch64__)
        SCMP_ARCH_ARM, SCMP_ARCH_AARCH64,
#elif defined(__arm__)
        SCMP_ARCH_ARM,
#elif defined(__powerpc64__) && __BYTE_ORDER == __LITTLE_ENDIAN
        SCMP_ARCH_PPC64LE,
#elif defined(__s390x__)
        SCMP_ARCH_S390, SCMP_ARCH_S390X,
#elif defined(__riscv) && __riscv_xlen == 64
        SCMP_ARCH_RISCV64,
#else
        SCMP_ARCH_NATIVE,
#endif
};

/* systemd-nspawn 252's allow-list (src/nspawn/nspawn-seccomp.c): groups and calls every
 * container gets, and those it gets only while it keeps the capability that guards them. Left
 * out on purpose, as there: @cpu-emulation, @keyring (the keyring is not namespaced), @obsolete,
 * @pkey, @swap, bpf, fanotify_init, fanotify_mark, kexec_file_load, kexec_load, lookup_dcookie,
 * nfsservctl, open_by_handle_at, perf_event_open, quotactl. */
static const struct {
        int capability; /* -1: always */
        const char *name;
} default_allow[] = {
        { -1, "@aio" },
        { -1, "@basic-io" },
        { -1, "@chown" },
        { -1, "@default" },
        { -1, "@file-system" },
        { -1, "@io-event" },
        { -1, "@ipc" },
        { -1, "@mount" },
        { -1, "@network-io" },
        { -1, "@process" },
        { -1, "@resources" },
        { -1, "@setuid" },
        { -1, "@signal" },
        { -1, "@sync" },
        { -1, "@timer" },
        { CAP_SYS_TIME, "@clock" },
        { CAP_SYS_MODULE, "@module" },
        { CAP_SYS_RAWIO, "@raw-io" },
        { CAP_IPC_LOCK, "@memlock" },
        { -1, "arm_fadvise64_64" },
        { -1, "brk" },
        { -1, "capget" },
        { -1, "capset" },
        { -1, "copy_file_range" },
        { -1, "fadvise64" },
        { -1, "fadvise64_64" },
        { -1, "flock" },
        { -1, "get_mempolicy" },
        { -1, "getcpu" },
        { -1, "getpriority" },
        { -1, "getrandom" },
        { -1, "ioctl" },
        { -1, "ioprio_get" },
        { -1, "kcmp" },
        { -1, "madvise" },
        { -1, "mincore" },
        { -1, "mprotect" },
        { -1, "mremap" },
        { -1, "name_to_handle_at" },
        { -1, "oldolduname" },
        { -1, "olduname" },
        { -1, "personality" },
        { -1, "readahead" },
        { -1, "readdir" },
        { -1, "remap_file_pages" },
        { -1, "sched_get_priority_max" },
        { -1, "sched_get_priority_min" },
        { -1, "sched_getaffinity" },
        { -1, "sched_getattr" },
        { -1, "sched_getparam" },
        { -1, "sched_getscheduler" },
        { -1, "sched_rr_get_interval" },
        { -1, "sched_rr_get_interval_time64" },
        { -1, "sched_yield" },
        { -1, "seccomp" },
        { -1, "sendfile" },
        { -1, "sendfile64" },
        { -1, "setdomainname" },
        { -1, "setfsgid" },
        { -1, "setfsgid32" },
        { -1, "setfsuid" },
        { -1, "setfsuid32" },
        { -1, "sethostname" },
        { -1, "setpgid" },
        { -1, "setsid" },
        { -1, "splice" },
        { -1, "sysinfo" },
        { -1, "tee" },
        { -1, "umask" },
        { -1, "uname" },
        { -1, "userfaultfd" },
        { -1, "vmsplice" },
        { CAP_SYS_PACCT, "acct" },
        { CAP_SYS_PTRACE, "process_vm_readv" },
        { CAP_SYS_PTRACE, "process_vm_writev" },
        { CAP_SYS_PTRACE, "ptrace" },
        { CAP_SYS_BOOT, "reboot" },
        { CAP_SYSLOG, "syslog" },
        { CAP_SYS_TTY_CONFIG, "vhangup" },
};

/* The sync calls that take a file descriptor first: a negative one still fails with EBADF
 * under --suppress-sync, as systemd does it. */
static const char *const sync_fd_calls[] = { "fdatasync", "fsync", "sync_file_range", "sync_file_range2", "syncfs" };

/* Bumped whenever what this file builds changes in a way the inputs of the key do not show. */
#define FILTER_FORMAT 1
#define CACHE_DIR "/run/cowpen/seccomp"
#define CACHE_MAGIC "CWPSECC1"
#define CACHE_FILE_MAX (1024U * 1024U)
/* Entries kept: each build and each distinct config makes one; the oldest go first. */
#define CACHE_ENTRIES_MAX 64U

static SyscallGroup groups[SYSCALL_GROUPS_MAX];
const SyscallGroup *const syscall_groups = groups;
size_t syscall_groups_count;

/* Points each group's name, help and members into the generated text: no copy, a few
 * microseconds, once per process. */
__attribute__((constructor)) static void syscall_groups_index(void) {
        const char *p = syscall_groups_nulstr;
        while (*p && syscall_groups_count < ELEMENTSOF(groups)) {
                SyscallGroup *g = &groups[syscall_groups_count++];
                g->name = p;
                p += strlen(p) + 1;
                g->help = p;
                p += strlen(p) + 1;
                g->members = p;
                while (*p)
                        p += strlen(p) + 1;
                p++; /* the empty string that ends the members */
        }
}

const SyscallGroup *syscall_group_find(const char *name) {
        if (!name || name[0] != '@')
                return NULL;
        for (size_t i = 0; i < syscall_groups_count; i++)
                if (streq(syscall_groups[i].name, name))
                        return &syscall_groups[i];
        return NULL;
}

bool syscall_name_is_known(const char *name) {
        return name && name[0] != '@' && seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

/* A set of call names (borrowed strings), sorted and unique once sealed. */
typedef struct NameSet {
        const char **v;
        size_t n, allocated;
} NameSet;

static void name_set_done(NameSet *s) {
        free(s->v);
        *s = (NameSet) {};
}

static int name_set_add(NameSet *s, const char *name) {
        if (s->n >= s->allocated) {
                size_t a = MAX(s->allocated * 2, (size_t) 256);
                const char **v = reallocarray(s->v, a, sizeof(char *));
                if (!v)
                        return -ENOMEM;
                s->v = v;
                s->allocated = a;
        }
        s->v[s->n++] = name;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void name_set_seal(NameSet *s) {
        if (s->n == 0)
                return;
        qsort(s->v, s->n, sizeof(char *), cmp_str);
        size_t k = 1;
        for (size_t i = 1; i < s->n; i++)
                if (!streq(s->v[i], s->v[k - 1]))
                        s->v[k++] = s->v[i];
        s->n = k;
}

static bool name_set_contains(const NameSet *s, const char *name) {
        return s->n > 0 && bsearch(&name, s->v, s->n, sizeof(char *), cmp_str);
}

/* Adds name, or every member of the group it names, recursively. Groups nest a few levels
 * (@known → @obsolete); the depth bound only guards against a table that would loop. */
static int expand(NameSet *s, const char *name, unsigned depth) {
        if (depth > 8)
                return -ELOOP;
        if (name[0] != '@')
                return name_set_add(s, name);
        const SyscallGroup *g = syscall_group_find(name);
        if (!g)
                return -EINVAL;
        for (const char *m = g->members; *m; m += strlen(m) + 1) {
                int r = expand(s, m, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static uint64_t guarded_caps(void) {
        uint64_t m = 0;
        for (size_t i = 0; i < ELEMENTSOF(default_allow); i++)
                if (default_allow[i].capability >= 0)
                        m |= UINT64_C(1) << default_allow[i].capability;
        return m;
}

/* What is allowed and what is refused with EPERM, arch-independently: the default allow-list
 * for these capabilities and the user's allow-list, minus the user's deny-list (which wins,
 * also over a group another entry allows); refused: every other call of @known, and every
 * denied one. */
static int make_plan(const SpawnConfig *c, uint64_t caps, NameSet *allow, NameSet *refuse) {
        NameSet deny = {};
        int r = 0;
        for (char **d = c->syscall_deny; r >= 0 && d && *d; d++)
                r = expand(&deny, *d, 0);
        name_set_seal(&deny);
        NameSet a = {};
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(default_allow); i++)
                if (default_allow[i].capability < 0 || (caps & (UINT64_C(1) << default_allow[i].capability)))
                        r = expand(&a, default_allow[i].name, 0);
        for (char **p = c->syscall_allow; r >= 0 && p && *p; p++)
                r = expand(&a, *p, 0);
        name_set_seal(&a);
        NameSet known = {};
        if (r >= 0)
                r = expand(&known, "@known", 0);
        for (size_t i = 0; r >= 0 && i < deny.n; i++)
                r = name_set_add(&known, deny.v[i]);
        name_set_seal(&known);
        for (size_t i = 0; r >= 0 && i < a.n; i++)
                if (!name_set_contains(&deny, a.v[i]))
                        r = name_set_add(allow, a.v[i]);
        for (size_t i = 0; r >= 0 && i < known.n; i++)
                if (!name_set_contains(allow, known.v[i]))
                        r = name_set_add(refuse, known.v[i]);
        name_set_done(&a);
        name_set_done(&known);
        name_set_done(&deny);
        return r;
}

/* Like seccomp_init(), for one architecture only, with no no_new_privs of its own (we hold
 * CAP_SYS_ADMIN when it is installed) and other architectures left to their own filter. */
static int init_for_arch(scmp_filter_ctx *ret, uint32_t arch, uint32_t default_action) {
        scmp_filter_ctx ctx = seccomp_init(default_action);
        if (!ctx)
                return -ENOMEM;
        int r = 0;
        if (arch != SCMP_ARCH_NATIVE && arch != seccomp_arch_native()) {
                if ((r = seccomp_arch_remove(ctx, seccomp_arch_native())) >= 0)
                        r = seccomp_arch_add(ctx, arch);
        }
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0) {
                seccomp_release(ctx);
                return r;
        }
        *ret = ctx;
        return 0;
}

/* Adds one rule for a call by name; a call this architecture does not have is fine. */
static int add_rule(scmp_filter_ctx ctx, _unused_ uint32_t arch, uint32_t action, const char *name, unsigned n,
                    const struct scmp_arg_cmp *args) {
        /* The native number (or libseccomp's pseudo number for a call the native architecture
         * lacks): libseccomp translates it for the filter's architecture. */
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR)
                return 0;
        int r = seccomp_rule_add_exact_array(ctx, action, nr, n, args);
        if (r == -EDOM || r == -EEXIST)
                return 0; /* not a call of this architecture */
        return r;
}

/* Exports a built filter into s (its next program). */
static int export_program(scmp_filter_ctx ctx, SpawnSeccomp *s) {
        if (s->n_programs >= SPAWN_SECCOMP_PROGRAMS_MAX)
                return -E2BIG;
        _cleanup_close_ int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        int r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        off_t size = lseek(fd, 0, SEEK_END);
        if (size <= 0 || size % sizeof(struct sock_filter) != 0 ||
            (size_t) size / sizeof(struct sock_filter) > SPAWN_SECCOMP_INSNS_MAX)
                return -E2BIG;
        struct sock_filter *insns = malloc((size_t) size);
        if (!insns)
                return -ENOMEM;
        if (pread(fd, insns, (size_t) size, 0) != size) {
                free(insns);
                return -EIO;
        }
        s->programs[s->n_programs++] = (struct sock_fprog) {
                .len = (unsigned short) ((size_t) size / sizeof(struct sock_filter)),
                .filter = insns,
        };
        return 0;
}

static int build_main(uint32_t arch, const NameSet *allow, const NameSet *refuse, SpawnSeccomp *s) {
        scmp_filter_ctx ctx;
        /* ENOSYS for what the table does not know: a call newer than it. */
        int r = init_for_arch(&ctx, arch, SCMP_ACT_ERRNO(ENOSYS));
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < allow->n; i++)
                r = add_rule(ctx, arch, SCMP_ACT_ALLOW, allow->v[i], 0, NULL);
        for (size_t i = 0; r >= 0 && i < refuse->n; i++)
                r = add_rule(ctx, arch, SCMP_ACT_ERRNO(EPERM), refuse->v[i], 0, NULL);
        /* A large filter: a binary tree over the call numbers rather than a linear scan. */
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r >= 0)
                r = export_program(ctx, s);
        seccomp_release(ctx);
        return r;
}

/* The calls refused by their arguments, in a second filter whose default is to allow (the
 * first one allows socket() and ioctl() as a whole). */
static int build_args(uint32_t arch, const SpawnConfig *c, SpawnSeccomp *s) {
        scmp_filter_ctx ctx;
        int r = init_for_arch(&ctx, arch, SCMP_ACT_ALLOW);
        if (r < 0)
                return r;
        const struct scmp_arg_cmp audit[] = { SCMP_A0(SCMP_CMP_EQ, AF_NETLINK), SCMP_A2(SCMP_CMP_EQ, NETLINK_AUDIT) };
        r = add_rule(ctx, arch, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 2, audit);
        /* Where socket() is multiplexed through socketcall() (x86), its arguments are in memory
         * the filter cannot read: there, as with nspawn, audit sockets are not refused. */
        if (r == -EINVAL && arch != SCMP_ARCH_NATIVE && arch != seccomp_arch_native())
                r = 0;
        /* The kernel reads an ioctl request as 32 bits: compare only those, so that high bits set
         * by the caller do not slip past. */
        static const unsigned long refused_ioctls[] = { TIOCSTI, TIOCLINUX };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(refused_ioctls); i++) {
                const struct scmp_arg_cmp a = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffU, refused_ioctls[i]);
                r = add_rule(ctx, arch, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &a);
        }
        if (r >= 0 && c->suppress_sync) {
                const SyscallGroup *g = syscall_group_find("@sync");
                for (const char *m = g ? g->members : ""; r >= 0 && *m; m += strlen(m) + 1) {
                        bool takes_fd = false;
                        for (size_t i = 0; i < ELEMENTSOF(sync_fd_calls); i++)
                                takes_fd = takes_fd || streq(m, sync_fd_calls[i]);
                        /* Unsigned comparison: a negative fd is above INT_MAX and still fails. */
                        const struct scmp_arg_cmp fd = SCMP_A0(SCMP_CMP_LE, INT32_MAX);
                        r = add_rule(ctx, arch, SCMP_ACT_ERRNO(0), m, takes_fd ? 1 : 0, takes_fd ? &fd : NULL);
                }
                static const int flags[] = { O_SYNC, O_DSYNC };
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(flags); i++) {
                        const struct scmp_arg_cmp o1 = SCMP_A1(SCMP_CMP_MASKED_EQ, (unsigned) flags[i], (unsigned) flags[i]);
                        const struct scmp_arg_cmp o2 = SCMP_A2(SCMP_CMP_MASKED_EQ, (unsigned) flags[i], (unsigned) flags[i]);
                        r = add_rule(ctx, arch, SCMP_ACT_ERRNO(EINVAL), "open", 1, &o1);
                        if (r >= 0)
                                r = add_rule(ctx, arch, SCMP_ACT_ERRNO(EINVAL), "openat", 1, &o2);
                }
                /* openat2() takes its flags in memory the filter cannot read. */
                if (r >= 0)
                        r = add_rule(ctx, arch, SCMP_ACT_ERRNO(ENOSYS), "openat2", 0, NULL);
        }
        if (r >= 0)
                r = export_program(ctx, s);
        seccomp_release(ctx);
        return r;
}

/* The GNU build ID of our executable: a filter cached by one build is never used by another. */
static int build_id_cb(struct dl_phdr_info *info, size_t size, void *userdata) {
        char *hex = userdata;
        for (unsigned i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type != PT_NOTE)
                        continue;
                const uint8_t *p = (const uint8_t *) (info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
                while (p + sizeof(ElfW(Nhdr)) <= end) {
                        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *) p;
                        const uint8_t *name = p + sizeof(*n), *desc = name + ((n->n_namesz + 3) & ~3U);
                        if (desc + n->n_descsz > end)
                                break;
                        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                            n->n_descsz > 0 && n->n_descsz <= 64) {
                                for (unsigned k = 0; k < n->n_descsz; k++)
                                        snprintf(hex + 2 * k, 3, "%02x", desc[k]);
                                return 1;
                        }
                        p = desc + ((n->n_descsz + 3) & ~3U);
                }
        }
        return 1; /* the first object is the executable: stop there */
}

/* Everything the compiled programs depend on, as text: the cache file must carry it whole. */
static int cache_key(const SpawnConfig *c, uint64_t caps, char **ret) {
        char id[129] = "";
        dl_iterate_phdr(build_id_cb, id);
        if (!id[0])
                return -ENOKEY; /* no build ID: never cache */
        const struct scmp_version *v = seccomp_version();
        _cleanup_strv_free_ char **allow = NULL, **deny = NULL;
        for (char **p = c->syscall_allow; p && *p; p++)
                if (strv_extend(&allow, *p) < 0)
                        return -ENOMEM;
        for (char **p = c->syscall_deny; p && *p; p++)
                if (strv_extend(&deny, *p) < 0)
                        return -ENOMEM;
        if (allow)
                qsort(allow, strv_length(allow), sizeof(char *), cmp_str);
        if (deny)
                qsort(deny, strv_length(deny), sizeof(char *), cmp_str);
        size_t len = 512;
        for (char **p = allow; p && *p; p++)
                len += strlen(*p) + 1;
        for (char **p = deny; p && *p; p++)
                len += strlen(*p) + 1;
        char *k = malloc(len);
        if (!k)
                return -ENOMEM;
        size_t n = (size_t) snprintf(k, len, "format %d\nbuild %s\nlibseccomp %u.%u.%u\narchs", FILTER_FORMAT, id,
                                     v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0);
        for (size_t i = 0; i < ELEMENTSOF(local_archs); i++)
                n += (size_t) snprintf(k + n, len - n, " %08x", local_archs[i]);
        n += (size_t) snprintf(k + n, len - n, "\ncaps %016llx\nsync %d\nallow", (unsigned long long) (caps & guarded_caps()),
                               c->suppress_sync);
        for (char **p = allow; p && *p; p++)
                n += (size_t) snprintf(k + n, len - n, " %s", *p);
        n += (size_t) snprintf(k + n, len - n, "\ndeny");
        for (char **p = deny; p && *p; p++)
                n += (size_t) snprintf(k + n, len - n, " %s", *p);
        snprintf(k + n, len - n, "\n");
        *ret = k;
        return 0;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
        const uint8_t *p = data;
        for (size_t i = 0; i < n; i++) {
                h ^= p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}
#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)

typedef struct CacheHeader {
        char magic[8];
        uint32_t key_len;
        uint32_t n_programs;
        uint32_t lengths[SPAWN_SECCOMP_PROGRAMS_MAX];
        uint64_t checksum; /* FNV-1a over the key and the instructions */
} CacheHeader;

static void cache_name(const char *key, char buf[static 17]) {
        snprintf(buf, 17, "%016llx", (unsigned long long) fnv1a(FNV_OFFSET, key, strlen(key)));
}

/* The cache directory, when it is root's and nobody else may write it. */
static int cache_dir_open(bool create) {
        if (create) {
                (void) mkdir("/run/cowpen", 0755);
                (void) mkdir(CACHE_DIR, 0700);
        }
        int fd = open(CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        struct stat st;
        if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 0022) || geteuid() != 0) {
                safe_close(fd);
                return -EPERM;
        }
        return fd;
}

static bool cache_enabled(void) {
        const char *e = getenv("COWPEN_SECCOMP_CACHE");
        return !e || parse_boolean(e) != 0;
}

static int cache_load(const char *key, SpawnSeccomp *s) {
        _cleanup_close_ int dfd = cache_dir_open(false);
        if (dfd < 0)
                return dfd;
        char name[17];
        cache_name(key, name);
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0022) || st.st_size < (off_t) sizeof(CacheHeader) ||
            st.st_size > CACHE_FILE_MAX)
                return -EBADMSG;
        size_t size = (size_t) st.st_size;
        _cleanup_free_ uint8_t *buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        if (pread(fd, buf, size, 0) != (ssize_t) size)
                return -EIO;
        CacheHeader h;
        memcpy(&h, buf, sizeof(h));
        size_t key_len = strlen(key), total = sizeof(h) + key_len;
        if (memcmp(h.magic, CACHE_MAGIC, sizeof(h.magic)) != 0 || h.key_len != key_len || h.n_programs == 0 ||
            h.n_programs > SPAWN_SECCOMP_PROGRAMS_MAX || memcmp(buf + sizeof(h), key, key_len) != 0)
                return -EBADMSG;
        for (uint32_t i = 0; i < h.n_programs; i++) {
                if (h.lengths[i] == 0 || h.lengths[i] > SPAWN_SECCOMP_INSNS_MAX)
                        return -EBADMSG;
                total += h.lengths[i] * sizeof(struct sock_filter);
        }
        if (total != size || fnv1a(FNV_OFFSET, buf + sizeof(h), size - sizeof(h)) != h.checksum)
                return -EBADMSG;
        const uint8_t *p = buf + sizeof(h) + key_len;
        SpawnSeccomp t = { .from_cache = true };
        for (uint32_t i = 0; i < h.n_programs; i++) {
                size_t bytes = h.lengths[i] * sizeof(struct sock_filter);
                struct sock_filter *insns = malloc(bytes);
                if (!insns) {
                        spawn_seccomp_done(&t);
                        return -ENOMEM;
                }
                memcpy(insns, p, bytes);
                p += bytes;
                t.programs[t.n_programs++] = (struct sock_fprog) { .len = (unsigned short) h.lengths[i], .filter = insns };
        }
        *s = t;
        return 0;
}

/* Keeps the directory below CACHE_ENTRIES_MAX entries, removing the oldest. */
static void cache_prune(int dfd) {
        for (unsigned round = 0; round < CACHE_ENTRIES_MAX; round++) {
                _cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
                if (!d)
                        return;
                TAKE_FD(fd);
                size_t n = 0;
                char oldest[256] = "";
                struct timespec t = {};
                struct dirent *de;
                while ((de = readdir(d))) {
                        struct stat st;
                        if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(oldest) ||
                            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                continue;
                        n++;
                        if (!oldest[0] || st.st_mtim.tv_sec < t.tv_sec ||
                            (st.st_mtim.tv_sec == t.tv_sec && st.st_mtim.tv_nsec < t.tv_nsec)) {
                                strcpy(oldest, de->d_name);
                                t = st.st_mtim;
                        }
                }
                closedir(d);
                if (n < CACHE_ENTRIES_MAX || !oldest[0])
                        return;
                (void) unlinkat(dfd, oldest, 0);
        }
}

/* Written whole under a name nobody sees, then linked into place: a reader finds a complete
 * file or none. Failures only cost the next run the time to build again. */
static void cache_store(const char *key, const SpawnSeccomp *s) {
        _cleanup_close_ int dfd = cache_dir_open(true);
        if (dfd < 0)
                return;
        CacheHeader h = { .key_len = (uint32_t) strlen(key), .n_programs = (uint32_t) s->n_programs };
        memcpy(h.magic, CACHE_MAGIC, sizeof(h.magic));
        uint64_t sum = fnv1a(FNV_OFFSET, key, h.key_len);
        for (size_t i = 0; i < s->n_programs; i++) {
                h.lengths[i] = s->programs[i].len;
                sum = fnv1a(sum, s->programs[i].filter, s->programs[i].len * sizeof(struct sock_filter));
        }
        h.checksum = sum;
        _cleanup_close_ int fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        if (loop_write(fd, &h, sizeof(h)) < 0 || loop_write(fd, key, h.key_len) < 0)
                return;
        for (size_t i = 0; i < s->n_programs; i++)
                if (loop_write(fd, s->programs[i].filter, s->programs[i].len * sizeof(struct sock_filter)) < 0)
                        return;
        char name[17], tmp[40], fdp[FD_PATH_MAX];
        cache_name(key, name);
        _cleanup_free_ char *rnd = NULL;
        if (random_hex(8, &rnd) < 0)
                return;
        snprintf(tmp, sizeof(tmp), ".#%s", rnd);
        if (linkat(AT_FDCWD, fd_path(fdp, fd), dfd, tmp, AT_SYMLINK_FOLLOW) < 0)
                return;
        if (renameat(dfd, tmp, dfd, name) < 0)
                (void) unlinkat(dfd, tmp, 0);
        cache_prune(dfd);
}

int spawn_seccomp_prepare(const SpawnConfig *c, SpawnSeccomp *ret, Diag *diag) {
        uint64_t caps = spawn_config_capabilities(c);
        _cleanup_free_ char *key = NULL;
        bool use_cache = cache_enabled() && cache_key(c, caps, &key) >= 0;
        if (use_cache && cache_load(key, ret) >= 0)
                return 0;

        NameSet allow = {}, refuse = {};
        SpawnSeccomp s = {};
        int r = make_plan(c, caps, &allow, &refuse);
        if (r < 0) {
                (void) diag_fail(diag, r, NULL, r == -EINVAL ? "unknown system call group" : "system call filter");
                goto finish;
        }
        for (size_t i = 0; i < 2 * ELEMENTSOF(local_archs) && r >= 0; i++) {
                uint32_t arch = local_archs[i % ELEMENTSOF(local_archs)];
                r = i < ELEMENTSOF(local_archs) ? build_main(arch, &allow, &refuse, &s) : build_args(arch, c, &s);
                if (r < 0)
                        (void) diag_fail(diag, r, NULL, "build the system call filter for architecture %08x: %m", arch);
        }
        if (r < 0)
                goto finish;
        if (use_cache)
                cache_store(key, &s);
        *ret = s;
        s = (SpawnSeccomp) {};
finish:
        spawn_seccomp_done(&s);
        name_set_done(&allow);
        name_set_done(&refuse);
        return r;
}

int spawn_seccomp_install(const SpawnSeccomp *s) {
        for (size_t i = 0; i < s->n_programs; i++)
                if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &s->programs[i]) < 0)
                        return negative_errno();
        return 0;
}

void spawn_seccomp_done(SpawnSeccomp *s) {
        for (size_t i = 0; i < s->n_programs; i++)
                free(s->programs[i].filter);
        *s = (SpawnSeccomp) {};
}

int syscall_filter_parse(const char *s, char ***allow, char ***deny, Diag *diag) {
        bool negative = s[0] == '~';
        const char *p = negative ? s + 1 : s;
        size_t n = strv_length(*allow) + strv_length(*deny);
        /* All or nothing: the words go to a list of their own first. */
        _cleanup_strv_free_ char **words = NULL;
        for (;;) {
                p += strspn(p, " \t\n");
                if (!*p)
                        break;
                size_t k = strcspn(p, " \t\n");
                _cleanup_free_ char *w = strndup(p, k);
                if (!w)
                        return -ENOMEM;
                p += k;
                if (w[0] == '@' ? !syscall_group_find(w) : !syscall_name_is_known(w)) {
                        w[MIN(k, (size_t) 256)] = 0;
                        return diag_fail(diag, -EINVAL, w, NULL);
                }
                if (++n > SPAWN_SYSCALL_FILTER_MAX)
                        return -E2BIG;
                char *v = TAKE_PTR(w);
                if (strv_push(&words, v) < 0) {
                        free(v);
                        return -ENOMEM;
                }
        }
        char ***l = negative ? deny : allow;
        for (char **w = words; w && *w; w++)
                if (!strv_contains(*l, *w)) {
                        int r = strv_extend(l, *w);
                        if (r < 0)
                                return r;
                }
        return 0;
}
