/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rm-rf.h"
#include "verity-cache.h"
#include "verity.h"

/* verity-cache.c: only immutable files get a key; the key changes when a file's immutable flag is
 * cleared and set again (its ctime) and with the root hash; a record is found only for its own
 * key, and not in a cache directory others may write. */

static char base[64];
static int data_fd = -EBADF, hash_fd = -EBADF;

static int set_immutable(int fd, bool on) {
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return -errno;
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        return ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0 ? -errno : 0;
}

static int setup(void **state) {
        snprintf(base, sizeof(base), "/var/tmp/test-verity-cache.XXXXXX");
        assert_non_null(mkdtemp(base));
        char p[128];
        snprintf(p, sizeof(p), "%s/data", base);
        data_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        snprintf(p, sizeof(p), "%s/hash", base);
        hash_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        assert_true(data_fd >= 0 && hash_fd >= 0);
        assert_int_equal(write(data_fd, "0123456789", 10), 10);
        assert_int_equal(write(hash_fd, "abcdef", 6), 6);
        snprintf(p, sizeof(p), "%s/cache", base);
        setenv("COWPEN_VERITY_CACHE", p, 1);
        return 0;
}

static int teardown(void **state) {
        (void) set_immutable(data_fd, false);
        (void) set_immutable(hash_fd, false);
        close(data_fd);
        close(hash_fd);
        (void) rm_rf_at(AT_FDCWD, base);
        return 0;
}

static char *key_of(const uint8_t *root) {
        VerityParams p;
        verity_params_init(&p);
        p.data_blocks = 1;
        char *k = NULL;
        int r = verity_cache_key(data_fd, 0, hash_fd, 0, true, &p, root, 32, &k);
        return r < 0 ? NULL : k;
}

static void test_cache(void **state) {
        uint8_t root[32] = {1, 2, 3}, other[32] = {9};
        VerityParams p;
        verity_params_init(&p);
        char *k = NULL;
        /* Not immutable: no key. */
        assert_int_equal(verity_cache_key(data_fd, 0, hash_fd, 0, true, &p, root, 32, &k), -EPERM);
        if (set_immutable(data_fd, true) < 0 || set_immutable(hash_fd, true) < 0)
                skip(); /* a file system without the flag */
        char *k1 = key_of(root), *k2 = key_of(root), *ko = key_of(other);
        assert_non_null(k1);
        assert_non_null(ko);
        assert_string_equal(k1, k2);
        assert_string_not_equal(k1, ko);

        assert_int_equal(verity_cache_lookup(k1), 0);
        assert_int_equal(verity_cache_store(k1), 0);
        assert_int_equal(verity_cache_lookup(k1), 1);
        assert_int_equal(verity_cache_lookup(ko), 0);

        /* Cleared and set again: another ctime, another key, no record. */
        assert_int_equal(set_immutable(data_fd, false), 0);
        usleep(10000);
        assert_int_equal(set_immutable(data_fd, true), 0);
        char *k3 = key_of(root);
        assert_non_null(k3);
        assert_string_not_equal(k1, k3);
        assert_int_equal(verity_cache_lookup(k3), 0);

        /* A cache directory others may write is not trusted. */
        char p2[128];
        snprintf(p2, sizeof(p2), "%s/cache", base);
        assert_int_equal(chmod(p2, 0777), 0);
        assert_int_equal(verity_cache_lookup(k1), 0);
        assert_int_equal(chmod(p2, 0700), 0);
        assert_int_equal(verity_cache_lookup(k1), 1);
        free(k1);
        free(k2);
        free(k3);
        free(ko);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
