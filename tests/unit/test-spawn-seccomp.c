/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <seccomp.h>

#include "fd-util.h"
#include "spawn.h"
#include "spawn-seccomp.h"
#include "util.h"

/* The system-call group table, --system-call-filter= parsing, and the compiled filter as a
 * process sees it: each filter is installed in a child of the test (as root, without
 * no_new_privs), which reports the errno of each probe. */

static void test_group_table_known(void **state) {
        /* Every member is a call libseccomp knows, or a group of the table. */
        size_t members = 0;
        for (size_t i = 0; i < syscall_groups_count; i++) {
                const SyscallGroup *g = &syscall_groups[i];
                assert_true(g->name[0] == '@');
                assert_ptr_equal(syscall_group_find(g->name), g);
                for (const char *m = g->members; *m; m += strlen(m) + 1, members++) {
                        if (m[0] == '@') {
                                if (!syscall_group_find(m))
                                        fail_msg("%s: unknown group %s", g->name, m);
                        } else if (seccomp_syscall_resolve_name(m) == __NR_SCMP_ERROR)
                                fail_msg("%s: %s is not known to libseccomp", g->name, m);
                }
        }
        assert_true(members > 900);
        /* systemd 252's groups, as users name them in SystemCallFilter=. */
        static const char *const names[] = { "@default", "@mount", "@keyring", "@clock", "@module", "@raw-io", "@swap",
                                             "@obsolete", "@privileged", "@system-service", "@known", "@sync" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                assert_non_null(syscall_group_find(names[i]));
        assert_null(syscall_group_find("@nonsense"));
        assert_null(syscall_group_find("mount"));
}

static bool group_has(const char *group, const char *name) {
        const SyscallGroup *g = syscall_group_find(group);
        for (const char *m = g ? g->members : ""; *m; m += strlen(m) + 1)
                if (streq(m, name))
                        return true;
        return false;
}

static void test_group_members(void **state) {
        assert_true(group_has("@mount", "mount"));
        assert_true(group_has("@mount", "pivot_root"));
        assert_true(group_has("@keyring", "add_key"));
        assert_true(group_has("@keyring", "keyctl"));
        assert_true(group_has("@clock", "settimeofday"));
        assert_true(group_has("@swap", "swapon"));
        assert_true(group_has("@known", "@obsolete"));
        assert_false(group_has("@mount", "read"));
}

static void test_filter_parse(void **state) {
        char **allow = NULL, **deny = NULL;
        _cleanup_diag_ Diag bad = DIAG_INIT;
        assert_int_equal(syscall_filter_parse("@default @file-system  mount", &allow, &deny, &bad), 0);
        assert_int_equal(strv_length(allow), 3);
        assert_int_equal(syscall_filter_parse("~@mount keyctl", &allow, &deny, &bad), 0);
        assert_int_equal(strv_length(deny), 2);
        assert_true(strv_contains(deny, "@mount"));
        /* Repeated names are kept once. */
        assert_int_equal(syscall_filter_parse("mount", &allow, &deny, &bad), 0);
        assert_int_equal(strv_length(allow), 3);
        /* All or nothing, naming what is unknown. */
        assert_int_equal(syscall_filter_parse("~read @bogus", &allow, &deny, &bad), -EINVAL);
        assert_string_equal(bad.object, "@bogus");
        diag_done(&bad);
        assert_int_equal(syscall_filter_parse("no_such_call", &allow, &deny, &bad), -EINVAL);
        assert_string_equal(bad.object, "no_such_call");
        diag_done(&bad);
        assert_int_equal(strv_length(deny), 2);
        assert_int_equal(syscall_filter_parse("", &allow, &deny, NULL), 0);
        assert_int_equal(syscall_filter_parse("~", &allow, &deny, NULL), 0);
        strv_free(allow);
        strv_free(deny);

        /* The limit on entries, at limit + 1. */
        allow = deny = NULL;
        size_t n = SPAWN_SYSCALL_FILTER_MAX + 1, len = 0;
        char *big = malloc(n * 8);
        assert_non_null(big);
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(big + len, "read ");
        assert_int_equal(syscall_filter_parse(big, &allow, &deny, NULL), -E2BIG);
        assert_null(allow);
        free(big);
}

/* The probes, run in a child with the filter installed. */
enum { P_GETPID, P_KEYCTL, P_ADD_KEY, P_UNKNOWN, P_MOUNT, P_SETTIME, P_TIOCSTI, P_TIOCSTI_HIGH, P_AUDIT,
       P_NETLINK_ROUTE, P_OPEN_BY_HANDLE, P_FSYNC, P_FSYNC_BAD, P_OSYNC, P_I386_GETPID, P_I386_KEYCTL,
       P_X32_KEYCTL, _P_MAX };

static int probe(int which) {
        long r;
        errno = 0;
        switch (which) {
        case P_GETPID:
                r = syscall(SYS_getpid);
                break;
        case P_KEYCTL:
                r = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
                break;
        case P_ADD_KEY:
                r = syscall(SYS_add_key, "user", "cowpen-test", "x", 1, KEY_SPEC_PROCESS_KEYRING);
                break;
        case P_UNKNOWN:
                r = syscall(1000); /* beyond every table */
                break;
        case P_MOUNT:
                r = syscall(SYS_mount, "none", "/nonexistent-cowpen", "tmpfs", 0, NULL);
                break;
        case P_SETTIME: {
                /* Invalid: EINVAL means it reached the kernel; the clock is never set. */
                struct timeval tv = { 0, 2000000 };
                r = syscall(SYS_settimeofday, &tv, NULL);
                break;
        }
        case P_TIOCSTI:
                r = syscall(SYS_ioctl, -1, TIOCSTI, "x");
                break;
        case P_TIOCSTI_HIGH:
                r = syscall(SYS_ioctl, -1, 0xdead00000000UL | TIOCSTI, "x");
                break;
        case P_AUDIT:
                r = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
                break;
        case P_NETLINK_ROUTE:
                r = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
                break;
        case P_OPEN_BY_HANDLE:
                r = syscall(SYS_open_by_handle_at, -1, NULL, 0);
                break;
        case P_FSYNC: {
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                r = syscall(SYS_fsync, fd);
                break;
        }
        case P_FSYNC_BAD:
                r = syscall(SYS_fsync, -1);
                break;
        case P_OSYNC:
                r = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY | O_SYNC | O_CLOEXEC);
                break;
#if defined(__x86_64__)
        case P_I386_GETPID:
        case P_I386_KEYCTL: {
                /* The x86 (32-bit) system call entry: getpid is 20, keyctl 288 there. */
                long nr = which == P_I386_GETPID ? 20 : 288, a = KEYCTL_GET_KEYRING_ID, b = KEY_SPEC_USER_KEYRING;
                __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(0) : "memory");
                if (r < 0 && r > -4096) {
                        errno = (int) -r;
                        r = -1;
                }
                break;
        }
        case P_X32_KEYCTL:
                /* x32 calls are x86-64 ones with bit 30 set: keyctl is 250 there too. */
                r = syscall(0x40000000 | 250, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
                break;
#endif
        default:
                r = -1;
                errno = ENOTSUP;
        }
        return r >= 0 ? 0 : errno;
}

/* Installs the filter of c in a child and returns each probe's errno (0: it succeeded). */
static void run_probes(const SpawnConfig *c, int result[_P_MAX]) {
        SpawnSeccomp s = SPAWN_SECCOMP_NULL;
        _cleanup_diag_ Diag err = DIAG_INIT;
        assert_int_equal(spawn_seccomp_prepare(c, &s, &err), 0);
        assert_true(s.n_programs == 6); /* x86-64, x86, x32; each with its argument filter */
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                int res[_P_MAX];
                if (spawn_seccomp_install(&s) < 0)
                        _exit(2);
                for (int i = 0; i < _P_MAX; i++)
                        res[i] = probe(i);
                _exit(write(p[1], res, sizeof(res)) == sizeof(res) ? 0 : 3);
        }
        close(p[1]);
        assert_int_equal(read(p[0], result, sizeof(int) * _P_MAX), (ssize_t) (sizeof(int) * _P_MAX));
        close(p[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        spawn_seccomp_done(&s);
}

/* Whether this kernel runs x86 32-bit code (IA32 emulation); probed without a filter. */
static bool have_i386(void) {
#if defined(__x86_64__)
        pid_t pid = fork();
        if (pid == 0)
                _exit(probe(P_I386_GETPID) == 0 ? 0 : 1); /* SIGSEGV where there is no int 0x80 */
        int status;
        return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
#else
        return false;
#endif
}

static void test_filter_default(void **state) {
        setenv("COWPEN_SECCOMP_CACHE", "no", 1);
        SpawnConfig c;
        spawn_config_init(&c);
        int res[_P_MAX];
        run_probes(&c, res);
        assert_int_equal(res[P_GETPID], 0);
        assert_int_equal(res[P_KEYCTL], EPERM);          /* @keyring: not namespaced */
        assert_int_equal(res[P_ADD_KEY], EPERM);
        assert_int_equal(res[P_UNKNOWN], ENOSYS);        /* unknown to the filter: ENOSYS */
        assert_int_equal(res[P_MOUNT], ENOENT);          /* @mount is allowed: the kernel answers */
        assert_int_equal(res[P_SETTIME], EPERM);         /* @clock needs CAP_SYS_TIME */
        assert_int_equal(res[P_TIOCSTI], EPERM);
        assert_int_equal(res[P_TIOCSTI_HIGH], EPERM);    /* high bits do not slip past */
        assert_int_equal(res[P_AUDIT], EAFNOSUPPORT);
        assert_int_equal(res[P_NETLINK_ROUTE], 0);
        assert_int_equal(res[P_OPEN_BY_HANDLE], EPERM);
        assert_int_equal(res[P_FSYNC_BAD], EBADF);
        assert_int_equal(res[P_OSYNC], 0);
#if defined(__x86_64__)
        if (have_i386()) {
                assert_int_equal(res[P_I386_GETPID], 0);
                assert_int_equal(res[P_I386_KEYCTL], EPERM); /* the x86 filter */
        } else
                print_message("x86 32-bit code does not run on this kernel: its filter is not probed\n");
        assert_int_equal(res[P_X32_KEYCTL], EPERM);          /* the x32 filter, before the kernel's own check */
#endif
        spawn_config_done(&c);
}

static void test_filter_options(void **state) {
        setenv("COWPEN_SECCOMP_CACHE", "no", 1);
        SpawnConfig c;
        spawn_config_init(&c);
        int res[_P_MAX];
        /* A kept capability allows what it guards; a refused group wins over the default. */
        c.caps_plus = UINT64_C(1) << CAP_SYS_TIME;
        assert_int_equal(syscall_filter_parse("~@mount", &c.syscall_allow, &c.syscall_deny, NULL), 0);
        run_probes(&c, res);
        assert_int_equal(res[P_SETTIME], EINVAL);
        assert_int_equal(res[P_MOUNT], EPERM);
        assert_int_equal(res[P_GETPID], 0);
        spawn_config_done(&c);

        /* An allow-list on top, and one call of it refused again. */
        spawn_config_init(&c);
        assert_int_equal(syscall_filter_parse("@default @file-system @keyring", &c.syscall_allow, &c.syscall_deny, NULL), 0);
        assert_int_equal(syscall_filter_parse("~add_key", &c.syscall_allow, &c.syscall_deny, NULL), 0);
        run_probes(&c, res);
        assert_int_not_equal(res[P_KEYCTL], EPERM);
        assert_int_not_equal(res[P_KEYCTL], ENOSYS);
        assert_int_equal(res[P_ADD_KEY], EPERM);
        spawn_config_done(&c);

        /* --suppress-sync: fsync succeeds without syncing, a bad fd still fails, O_SYNC is refused. */
        spawn_config_init(&c);
        c.suppress_sync = true;
        run_probes(&c, res);
        assert_int_equal(res[P_FSYNC], 0);
        assert_int_equal(res[P_FSYNC_BAD], EBADF);
        assert_int_equal(res[P_OSYNC], EINVAL);
        spawn_config_done(&c);
}

/* The cache entries built for the test's own config (its key names the deny list); with remove,
 * they are deleted. Other entries are other runs' and stay. */
static size_t our_cache_files(bool remove) {
        DIR *d = opendir("/run/cowpen/seccomp");
        size_t n = 0;
        if (!d)
                return 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                char path[300];
                snprintf(path, sizeof(path), "/run/cowpen/seccomp/%s", de->d_name);
                char *text = NULL;
                size_t size;
                if (read_file_at(AT_FDCWD, path, 0, 1 << 20, &text, &size) >= 0 &&
                    memmem(text, size, "deny nfsservctl uselib\n", 23)) {
                        n++;
                        if (remove)
                                unlink(path);
                }
                free(text);
        }
        closedir(d);
        return n;
}

static bool same_programs(const SpawnSeccomp *a, const SpawnSeccomp *b) {
        if (a->n_programs != b->n_programs)
                return false;
        for (size_t i = 0; i < a->n_programs; i++)
                if (a->programs[i].len != b->programs[i].len ||
                    memcmp(a->programs[i].filter, b->programs[i].filter, a->programs[i].len * sizeof(struct sock_filter)))
                        return false;
        return true;
}

static void test_filter_cache(void **state) {
        SpawnConfig c;
        spawn_config_init(&c);
        /* A config no run uses, so that the entry is the test's own and removed afterwards. */
        assert_int_equal(syscall_filter_parse("~nfsservctl uselib", &c.syscall_allow, &c.syscall_deny, NULL), 0);
        _cleanup_diag_ Diag err = DIAG_INIT;
        SpawnSeccomp fresh = SPAWN_SECCOMP_NULL, first = SPAWN_SECCOMP_NULL, second = SPAWN_SECCOMP_NULL;
        setenv("COWPEN_SECCOMP_CACHE", "no", 1);
        assert_int_equal(spawn_seccomp_prepare(&c, &fresh, &err), 0);
        assert_false(fresh.from_cache);
        (void) our_cache_files(true); /* from an earlier run of this test that was killed */
        unsetenv("COWPEN_SECCOMP_CACHE");
        assert_int_equal(spawn_seccomp_prepare(&c, &first, &err), 0);
        assert_int_equal(spawn_seccomp_prepare(&c, &second, &err), 0);
        assert_false(first.from_cache);
        assert_true(second.from_cache);
        assert_int_equal(our_cache_files(false), 1);
        assert_true(same_programs(&fresh, &first));
        assert_true(same_programs(&fresh, &second));
        /* Another config is another entry. */
        c.suppress_sync = true;
        SpawnSeccomp other = SPAWN_SECCOMP_NULL;
        setenv("COWPEN_SECCOMP_CACHE", "no", 1);
        assert_int_equal(spawn_seccomp_prepare(&c, &other, &err), 0);
        assert_false(same_programs(&fresh, &other));
        (void) our_cache_files(true);
        assert_int_equal(our_cache_files(false), 0);
        spawn_seccomp_done(&fresh);
        spawn_seccomp_done(&first);
        spawn_seccomp_done(&second);
        spawn_seccomp_done(&other);
        spawn_config_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_group_table_known), cmocka_unit_test(test_group_members),
                cmocka_unit_test(test_filter_parse),      cmocka_unit_test(test_filter_default),
                cmocka_unit_test(test_filter_options),    cmocka_unit_test(test_filter_cache),
        };
        if (geteuid() != 0) {
                print_message("SKIP: installing a filter without no_new_privs needs root\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
