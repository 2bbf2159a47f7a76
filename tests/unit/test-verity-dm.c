/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verity_open() through device-mapper (libcryptsetup). Needs root and device-mapper; exits 77
 * (skipped) saying why when they are missing. The userspace path is tested in test-verity.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"
#include "verity.h"

#define BLOCKS 300

typedef struct Fixture {
        char dir[64];
        int dir_fd, data, hash;
        uint8_t *d;
        uint8_t root[VERITY_DIGEST_SIZE_MAX];
        char name[64];
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        assert_non_null(f);
        strcpy(f->dir, "/var/tmp/verity-dm.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        f->data = openat(f->dir_fd, "img.raw", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        f->hash = openat(f->dir_fd, "img.verity", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        assert_true(f->data >= 0 && f->hash >= 0);
        f->d = malloc(BLOCKS * 4096);
        for (size_t i = 0; i < BLOCKS * 4096; i++)
                f->d[i] = (uint8_t) (i * 131 + (i >> 12));
        assert_int_equal(pwrite(f->data, f->d, BLOCKS * 4096, 0), BLOCKS * 4096);
        VerityParams p;
        verity_params_init(&p);
        assert_int_equal(verity_params_randomize(&p, true, true), 0);
        p.data_blocks = BLOCKS;
        VerityLocation loc = {.data_fd = f->data, .hash_fd = f->hash, .superblock = true};
        assert_int_equal(verity_tree_build(&loc, &p, 0, f->root), 0);
        snprintf(f->name, sizeof(f->name), "cowpen-unit-%d", (int) getpid());
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        close(f->data);
        close(f->hash);
        unlinkat(f->dir_fd, "img.raw", 0);
        unlinkat(f->dir_fd, "img.verity", 0);
        close(f->dir_fd);
        rmdir(f->dir);
        free(f->d);
        free(f);
        return 0;
}

static VerityOpenRequest request(Fixture *f) {
        return (VerityOpenRequest){
                .data_fd = f->data,
                .hash_fd = f->hash,
                .superblock = true,
                .root_hash = f->root,
                .root_hash_size = 32,
                .dm_name = f->name,
                .mode = VERITY_OPEN_DM,
        };
}

static void test_dm_open_reads_verified_data(void **state) {
        Fixture *f = *state;
        VerityOpenRequest req = request(f);
        VerityOpened o = {.fd = -EBADF};
        VerityFailure fail = {};
        assert_int_equal(verity_open(&req, &o, &fail), 0);
        assert_true(o.dm);
        assert_string_equal(o.device_path + strlen("/dev/mapper/"), f->name);
        uint8_t *back = malloc(BLOCKS * 4096);
        assert_int_equal(pread(o.fd, back, BLOCKS * 4096, 0), BLOCKS * 4096);
        assert_memory_equal(back, f->d, BLOCKS * 4096);
        free(back);
        verity_opened_done(&o);
}

static void test_dm_tampered_block_fails_on_read(void **state) {
        Fixture *f = *state;
        uint8_t b = f->d[5 * 4096] ^ 1;
        assert_int_equal(pwrite(f->data, &b, 1, 5 * 4096), 1);
        VerityOpenRequest req = request(f);
        VerityOpened o = {.fd = -EBADF};
        VerityFailure fail = {};
        assert_int_equal(verity_open(&req, &o, &fail), 0);
        uint8_t buf[4096];
        assert_int_equal(pread(o.fd, buf, sizeof(buf), 0), (ssize_t) sizeof(buf));
        assert_int_equal(pread(o.fd, buf, sizeof(buf), 5 * 4096), -1);
        assert_int_equal(errno, EIO);
        verity_opened_done(&o);
        assert_int_equal(pwrite(f->data, &f->d[5 * 4096], 1, 5 * 4096), 1);
}

static void test_dm_bad_signature_refused_before_activation(void **state) {
        Fixture *f = *state;
        VerityOpenRequest req = request(f);
        uint8_t junk[32] = {};
        char *dirs[] = {f->dir, NULL};
        req.sig = junk;
        req.sig_size = sizeof(junk);
        req.cert_dirs = dirs;
        VerityOpened o = {.fd = -EBADF};
        VerityFailure fail = {};
        assert_int_equal(verity_open(&req, &o, &fail), -EBADMSG);
        assert_int_equal(fail.kind, VERITY_FAILURE_SIGNATURE);
        char path[128];
        snprintf(path, sizeof(path), "/dev/mapper/%s", f->name);
        assert_int_equal(access(path, F_OK), -1);
}

int main(void) {
        if (geteuid() != 0 || !verity_dm_available()) {
                fprintf(stderr, "SKIP: no device-mapper here (/dev/mapper/control missing or not answering, or not root): "
                                "dm-verity open through libcryptsetup not tested\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_dm_open_reads_verified_data, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dm_tampered_block_fails_on_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dm_bad_signature_refused_before_activation, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
