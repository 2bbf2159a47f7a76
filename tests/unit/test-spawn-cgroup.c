/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn-cgroup.c's mountinfo path, spawn_cgroup2_mount_from_mountinfo(): what spawn_cgroup_make()
 * asks, through libmount loaded on use, when neither /sys/fs/cgroup nor /sys/fs/cgroup/unified
 * is the cgroup2 hierarchy. On mountinfo files of the layouts it meets (unified, hybrid, a
 * subtree bind-mounted by a container manager, names the kernel escapes, cgroup v1 only) and on
 * this host's own, where it must agree with the statfs() fast path that every ordinary run takes.
 * tests/integration/test-run-libraries.sh runs a container where only the mountinfo path works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "dlopen-util.h"
#include "spawn-cgroup.h"

#define CGROUP2_MAGIC 0x63677270

static char dir[64];

static int setup(void **state) {
        snprintf(dir, sizeof(dir), "/var/tmp/test-spawn-cgroup.XXXXXX");
        assert_non_null(mkdtemp(dir));
        return 0;
}

static int teardown(void **state) {
        char p[128];
        static const char *const names[] = {"unified", "hybrid", "subtree", "escaped", "v1"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
                (void) unlink(p);
        }
        assert_int_equal(rmdir(dir), 0);
        return 0;
}

static bool libmount_mapped(void) {
        /* RTLD_NOLOAD: a handle only when it is mapped already. */
        void *h = dlopen(LIBMOUNT_SONAME, RTLD_NOW | RTLD_NOLOAD);
        if (h)
                dlclose(h);
        return h;
}

/* Writes text to DIR/name and looks the cgroup2 mount up in it: its result, mount and root. */
static int lookup(const char *name, const char *text, char **ret_mount, char **ret_root) {
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        *ret_mount = *ret_root = NULL;
        return spawn_cgroup2_mount_from_mountinfo(p, ret_mount, ret_root);
}

static void expect(const char *name, const char *text, const char *mount, const char *root) {
        char *m, *r;
        assert_int_equal(lookup(name, text, &m, &r), 0);
        assert_string_equal(m, mount);
        assert_string_equal(r, root);
        free(m);
        free(r);
}

static const char head[] = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                           "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
                           "24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n";

static void test_layouts(void **state) {
        /* Loaded by the first lookup, not before: nothing of this test links libmount. */
        assert_false(libmount_mapped());

        char text[2048];
        /* Unified: /sys/fs/cgroup itself. */
        snprintf(text, sizeof(text), "%s%s", head,
                 "25 24 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
                 "rw,nsdelegate,memory_recursiveprot\n");
        expect("unified", text, "/sys/fs/cgroup", "/");
        assert_true(libmount_mapped());
        assert_int_equal(dlopen_libmount(NULL), 0);

        /* Hybrid: a tmpfs with the v1 controllers, and the unified hierarchy below it. */
        snprintf(text, sizeof(text), "%s%s", head,
                 "31 24 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                 "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
                 "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
                 "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
        expect("hybrid", text, "/sys/fs/cgroup/unified", "/");

        /* A container manager's bind mount of a subtree: the root inside the hierarchy. */
        snprintf(text, sizeof(text), "%s%s", head,
                 "50 24 0:38 /machine.slice/ctr.scope /sys/fs/cgroup ro,nosuid,nodev,noexec - cgroup2 cgroup2 rw\n");
        expect("subtree", text, "/sys/fs/cgroup", "/machine.slice/ctr.scope");

        /* Names mountinfo escapes ("\040" is a space) are passed over for the next mount. */
        snprintf(text, sizeof(text), "%s%s", head,
                 "60 22 0:38 / /run/a\\040b rw,relatime - cgroup2 cgroup2 rw\n"
                 "61 22 0:38 /a\\134b /run/c rw,relatime - cgroup2 cgroup2 rw\n"
                 "62 22 0:38 / /run/cg2 rw,relatime - cgroup2 cgroup2 rw\n");
        expect("escaped", text, "/run/cg2", "/");

        /* cgroup v1 only: no hierarchy for a container. */
        char *m, *r;
        snprintf(text, sizeof(text), "%s%s", head,
                 "31 24 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                 "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n");
        assert_int_equal(lookup("v1", text, &m, &r), -ENOMEDIUM);
        assert_null(m);
        assert_null(r);
}

static void test_missing_file(void **state) {
        char p[128], *m = NULL, *r = NULL;
        snprintf(p, sizeof(p), "%s/none", dir);
        int k = spawn_cgroup2_mount_from_mountinfo(p, &m, &r);
        assert_true(k < 0 && k != -ENOMEDIUM);
        assert_null(m);
        assert_null(r);
}

/* This host's mountinfo names a cgroup2 mount, and where the fast path finds one it is the same. */
static void test_this_host(void **state) {
        char *m, *r;
        int k = spawn_cgroup2_mount_from_mountinfo("/proc/self/mountinfo", &m, &r);
        if (k == -ENOMEDIUM)
                skip(); /* no cgroup2 on this host: no container can run here either */
        assert_int_equal(k, 0);
        struct statfs sfs;
        assert_int_equal(statfs(m, &sfs), 0);
        assert_true(sfs.f_type == CGROUP2_MAGIC);
        const char *fast = NULL;
        if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_MAGIC)
                fast = "/sys/fs/cgroup";
        else if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == CGROUP2_MAGIC)
                fast = "/sys/fs/cgroup/unified";
        if (fast && strcmp(r, "/") == 0)
                assert_string_equal(m, fast);
        free(m);
        free(r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layouts),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_this_host),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
