/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree_shift_owners (--private-users-ownership=chown) on a tree made here: owners shifted into
 * the range and back, set-ID bits and file capabilities kept, POSIX ACL ids shifted, symlinks
 * changed themselves (not their targets), owners outside the range left alone, the depth limit
 * and overlapping ranges refused. Runs as root (needs chown); skipped otherwise. */
#include <endian.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "fd-util.h"
#include "rm-rf.h"
#include "spawn-chown.h"

#define BASE 0x120000U

static char dir[64];
static int dfd = -1;

static void make(const char *path, mode_t mode, uid_t uid, gid_t gid) {
        if (S_ISDIR(mode))
                assert_int_equal(mkdirat(dfd, path, mode & 07777), 0);
        else {
                int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                assert_true(fd >= 0);
                close(fd);
        }
        assert_int_equal(fchownat(dfd, path, uid, gid, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fchmodat(dfd, path, mode & 07777, 0), 0);
}

static struct stat st_of(const char *path) {
        struct stat st;
        assert_int_equal(fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
        return st;
}

static void xpath(const char *rel, char buf[static 512]) {
        snprintf(buf, 512, "%s/%s", dir, rel);
}

/* An access ACL: owner, user:ID, group, group:ID, mask, other. */
static void set_acl(const char *rel, uint32_t user, uint32_t group) {
        struct {
                uint16_t tag, perm;
                uint32_t id;
        } __attribute__((packed)) e[6] = {
                { htole16(0x01), htole16(6), htole32(UINT32_MAX) }, { htole16(0x02), htole16(4), htole32(user) },
                { htole16(0x04), htole16(4), htole32(UINT32_MAX) }, { htole16(0x08), htole16(4), htole32(group) },
                { htole16(0x10), htole16(6), htole32(UINT32_MAX) }, { htole16(0x20), htole16(0), htole32(UINT32_MAX) },
        };
        uint8_t buf[4 + sizeof(e)];
        uint32_t v = htole32(2);
        memcpy(buf, &v, 4);
        memcpy(buf + 4, e, sizeof(e));
        char p[512];
        xpath(rel, p);
        assert_int_equal(setxattr(p, "system.posix_acl_access", buf, sizeof(buf), 0), 0);
}

static void get_acl_ids(const char *rel, uint32_t *user, uint32_t *group) {
        uint8_t buf[256];
        char p[512];
        xpath(rel, p);
        ssize_t n = getxattr(p, "system.posix_acl_access", buf, sizeof(buf));
        assert_true(n > 4);
        for (ssize_t off = 4; off + 8 <= n; off += 8) {
                uint16_t tag;
                uint32_t id;
                memcpy(&tag, buf + off, 2);
                memcpy(&id, buf + off + 4, 4);
                if (le16toh(tag) == 0x02)
                        *user = le32toh(id);
                if (le16toh(tag) == 0x08)
                        *group = le32toh(id);
        }
}

static int setup(void **state) {
        if (geteuid() != 0)
                return 0;
        strcpy(dir, "/var/tmp/test-spawn-chown.XXXXXX");
        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        return 0;
}

static int teardown(void **state) {
        if (dfd >= 0) {
                close(dfd);
                dfd = -1;
                (void) rm_rf_at(AT_FDCWD, dir);
        }
        return 0;
}

static void test_shift(void **state) {
        if (geteuid() != 0)
                skip();
        /* The tree: root 0:0, a user's home, a set-uid binary with a capability, an ACL, a
         * symlink owned by 1000 pointing at a file owned by 0, a file outside the range. */
        make("home", S_IFDIR | 0755, 0, 0);
        make("home/user", S_IFDIR | 0700, 1000, 1000);
        make("home/user/file", S_IFREG | 0644, 1000, 100);
        make("su", S_IFREG | 04755, 0, 0);
        make("sg", S_IFREG | 02755, 0, 5);
        make("ping", S_IFREG | 0755, 0, 0);
        /* security.capability v2: cap_net_raw (13) permitted+effective. */
        uint32_t cap[5] = { htole32(0x02000001), htole32(1U << 13), 0, 0, 0 };
        char p[512];
        xpath("ping", p);
        assert_int_equal(setxattr(p, "security.capability", cap, sizeof(cap), 0), 0);
        make("acl", S_IFREG | 0640, 0, 0);
        set_acl("acl", 1000, 2000);
        make("target", S_IFREG | 0644, 0, 0);
        assert_int_equal(symlinkat("target", dfd, "link"), 0);
        assert_int_equal(fchownat(dfd, "link", 1000, 1000, AT_SYMLINK_NOFOLLOW), 0);
        make("foreign", S_IFREG | 0644, 70000, 70000);
        assert_int_equal(fchown(dfd, 0, 0), 0);

        assert_int_equal(tree_shift_owners(dfd, 0, BASE, 65536), 0);
        struct stat st = st_of(".");
        assert_int_equal(st.st_uid, BASE);
        assert_int_equal(st_of("home/user").st_uid, BASE + 1000);
        assert_int_equal(st_of("home/user/file").st_uid, BASE + 1000);
        assert_int_equal(st_of("home/user/file").st_gid, BASE + 100);
        st = st_of("su");
        assert_int_equal(st.st_uid, BASE);
        assert_int_equal(st.st_mode & 07777, 04755); /* chown cleared it, it is back */
        assert_int_equal(st_of("sg").st_mode & 07777, 02755);
        assert_int_equal(st_of("sg").st_gid, BASE + 5);
        uint32_t got[5] = {};
        assert_int_equal(getxattr(p, "security.capability", got, sizeof(got)), sizeof(cap));
        assert_memory_equal(got, cap, sizeof(cap));
        uint32_t u = 0, g = 0;
        get_acl_ids("acl", &u, &g);
        assert_int_equal(u, BASE + 1000);
        assert_int_equal(g, BASE + 2000);
        assert_int_equal(st_of("link").st_uid, BASE + 1000);
        assert_int_equal(st_of("target").st_uid, BASE); /* not through the link */
        assert_int_equal(st_of("foreign").st_uid, 70000);

        /* Back from that range to 0: as it was. */
        assert_int_equal(tree_shift_owners(dfd, BASE, 0, 65536), 0);
        assert_int_equal(st_of(".").st_uid, 0);
        assert_int_equal(st_of("home/user/file").st_uid, 1000);
        assert_int_equal(st_of("su").st_mode & 07777, 04755);
        get_acl_ids("acl", &u, &g);
        assert_int_equal(u, 1000);
        assert_int_equal(g, 2000);
        assert_int_equal(st_of("link").st_uid, 1000);

        /* Overlapping or empty ranges are refused. */
        assert_int_equal(tree_shift_owners(dfd, 0, 1000, 65536), -EINVAL);
        assert_int_equal(tree_shift_owners(dfd, 0, BASE, 0), -EINVAL);
}

static void test_depth(void **state) {
        if (geteuid() != 0)
                skip();
        /* TREE_SHIFT_DEPTH_MAX levels below the root: fine; one more: -E2BIG. */
        assert_int_equal(mkdirat(dfd, "deep", 0755), 0);
        int fd = openat(dfd, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        int cur = dup(fd);
        for (unsigned i = 1; i < TREE_SHIFT_DEPTH_MAX; i++) {
                assert_int_equal(mkdirat(cur, "d", 0755), 0);
                int n = openat(cur, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(n >= 0);
                close(cur);
                cur = n;
        }
        assert_int_equal(tree_shift_owners(fd, 0, BASE, 65536), 0);
        assert_int_equal(tree_shift_owners(fd, BASE, 0, 65536), 0);
        assert_int_equal(mkdirat(cur, "d", 0755), 0);
        assert_int_equal(tree_shift_owners(fd, 0, BASE, 65536), -E2BIG);
        close(cur);
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_shift, setup, teardown),
                cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
