/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* loop_attach() on real loop devices (needs root and /dev/loop-control): read-only and writable
 * devices, the offset and size limit, partition scan, autoclear (the device is gone when its
 * last fd closes), and many attaches at once (the LOOP_CTL_GET_FREE race). */
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "loop-util.h"

#define FILE_SIZE (4U * 1024U * 1024U)
#define PARALLEL 8

static bool have_loop(void) {
        if (geteuid() == 0 && access("/dev/loop-control", F_OK) >= 0)
                return true;
        print_message("no loop devices here (needs root and /dev/loop-control): not tested\n");
        return false;
}

/* An unlinked file whose bytes are their offset / 4096 (mod 256), i.e. each 4 KiB its number. */
static int make_file(void) {
        char path[] = "/var/tmp/test-loop-util.XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(unlink(path), 0);
        static uint8_t block[4096];
        for (unsigned i = 0; i < FILE_SIZE / sizeof(block); i++) {
                memset(block, (int) (i & 0xff), sizeof(block));
                assert_int_equal(pwrite(fd, block, sizeof(block), (off_t) i * sizeof(block)), sizeof(block));
        }
        return fd;
}

static int loop_status(int loop, struct loop_info64 *ret) {
        return ioctl(loop, LOOP_GET_STATUS64, ret) < 0 ? -errno : 0;
}

static void test_read_only_range(void **state) {
        if (!have_loop())
                skip();
        int file = make_file(), loop = -EBADF;
        char *path = NULL;
        assert_int_equal(loop_attach(file, 8192, 3 * 4096, LOOP_ATTACH_READ_ONLY, &loop, &path), 0);
        assert_true(strncmp(path, "/dev/loop", 9) == 0);
        assert_int_equal(fcntl(loop, F_GETFL) & O_ACCMODE, O_RDONLY);
        assert_true(fcntl(loop, F_GETFD) & FD_CLOEXEC);
        uint64_t size = 0;
        assert_int_equal(ioctl(loop, BLKGETSIZE64, &size), 0);
        assert_int_equal(size, 3 * 4096);
        int ro = 0;
        assert_int_equal(ioctl(loop, BLKROGET, &ro), 0);
        assert_int_equal(ro, 1);
        uint8_t b = 0xff;
        assert_int_equal(pread(loop, &b, 1, 0), 1);
        assert_int_equal(b, 2); /* the device starts at byte 8192 of the file */
        assert_int_equal(pread(loop, &b, 1, 3 * 4096 - 1), 1);
        assert_int_equal(b, 4);
        assert_int_equal(pread(loop, &b, 1, 3 * 4096), 0); /* the size limit */
        struct loop_info64 info;
        assert_int_equal(loop_status(loop, &info), 0);
        assert_true(info.lo_flags & LO_FLAGS_AUTOCLEAR);
        assert_true(info.lo_flags & LO_FLAGS_READ_ONLY);
        assert_false(info.lo_flags & LO_FLAGS_PARTSCAN);
        assert_int_equal(info.lo_offset, 8192);
        assert_int_equal(info.lo_sizelimit, 3 * 4096);

        /* Autoclear: once the last fd is closed, the device has no backing file any more (the
         * kernel may detach it a moment later; bound again with another offset means someone else
         * took the free device since). */
        close(loop);
        bool cleared = false;
        for (int i = 0; i < 100 && !cleared; i++) {
                int again = open(path, O_RDONLY | O_CLOEXEC);
                struct loop_info64 i2;
                int r = again >= 0 ? loop_status(again, &i2) : -ENXIO;
                cleared = r == -ENXIO || (r == 0 && i2.lo_offset != 8192);
                if (again >= 0)
                        close(again);
                if (!cleared)
                        usleep(20 * 1000);
        }
        assert_true(cleared);
        free(path);
        close(file);
}

static void test_writable_partscan(void **state) {
        if (!have_loop())
                skip();
        int file = make_file(), loop = -EBADF;
        char *path = NULL;
        assert_int_equal(loop_attach(file, 0, 0, LOOP_ATTACH_PARTSCAN, &loop, &path), 0);
        assert_int_equal(fcntl(loop, F_GETFL) & O_ACCMODE, O_RDWR);
        uint64_t size = 0;
        assert_int_equal(ioctl(loop, BLKGETSIZE64, &size), 0);
        assert_int_equal(size, FILE_SIZE); /* size 0: to the end */
        struct loop_info64 info;
        assert_int_equal(loop_status(loop, &info), 0);
        assert_true(info.lo_flags & LO_FLAGS_AUTOCLEAR);
        assert_true(info.lo_flags & LO_FLAGS_PARTSCAN);
        assert_false(info.lo_flags & LO_FLAGS_READ_ONLY);
        /* Written through the device, seen in the file. */
        uint8_t b = 0x5a;
        assert_int_equal(pwrite(loop, &b, 1, 4096), 1);
        assert_int_equal(fsync(loop), 0);
        b = 0;
        assert_int_equal(pread(file, &b, 1, 4096), 1);
        assert_int_equal(b, 0x5a);
        close(loop);
        free(path);
        close(file);
}

typedef struct Attach {
        int file, loop, r;
        char *path;
} Attach;

static void *attach_thread(void *userdata) {
        Attach *a = userdata;
        a->r = loop_attach(a->file, 0, 0, LOOP_ATTACH_READ_ONLY, &a->loop, &a->path);
        return NULL;
}

static void test_parallel(void **state) {
        if (!have_loop())
                skip();
        /* Several attaches at once ask LOOP_CTL_GET_FREE for the same device: all must end up on
         * devices of their own. */
        int file = make_file();
        Attach a[PARALLEL];
        pthread_t t[PARALLEL];
        for (int i = 0; i < PARALLEL; i++) {
                a[i] = (Attach){.file = file, .loop = -EBADF};
                assert_int_equal(pthread_create(&t[i], NULL, attach_thread, &a[i]), 0);
        }
        for (int i = 0; i < PARALLEL; i++)
                assert_int_equal(pthread_join(t[i], NULL), 0);
        for (int i = 0; i < PARALLEL; i++) {
                assert_int_equal(a[i].r, 0);
                for (int j = 0; j < i; j++)
                        assert_string_not_equal(a[i].path, a[j].path);
        }
        for (int i = 0; i < PARALLEL; i++) {
                close(a[i].loop);
                free(a[i].path);
        }
        close(file);
}

static void test_bad_fd(void **state) {
        if (!have_loop())
                skip();
        int loop = -EBADF;
        char *path = NULL;
        int r = loop_attach(-1, 0, 0, LOOP_ATTACH_READ_ONLY, &loop, &path);
        assert_true(r == -EBADF || r == -EINVAL);
        assert_int_equal(loop, -EBADF); /* nothing returned on failure */
        assert_null(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read_only_range),
                cmocka_unit_test(test_writable_partscan),
                cmocka_unit_test(test_parallel),
                cmocka_unit_test(test_bad_fd),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
