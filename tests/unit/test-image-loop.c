/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "image-dissect.h"
#include "image-loop.h"
#include "loop-util.h"

/* loop_partition_open on a real loop device with partition scan (needs root and loop
 * devices): a partition is added where asked and its device covers exactly those bytes; one
 * the kernel (here: an earlier BLKPG) already has elsewhere or of another size is refused
 * with -ESTALE, one that matches is used; numbers and sizes out of range are refused. */

#define FILE_SIZE (8U * 1024U * 1024U)

static int make_loop(int *ret_file) {
        char path[] = "/var/tmp/test-image-loop.XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(ftruncate(fd, FILE_SIZE), 0);
        /* Marks: the first byte of each MiB is its number. */
        for (uint8_t i = 0; i < FILE_SIZE / (1024 * 1024); i++)
                assert_int_equal(pwrite(fd, &i, 1, (off_t) i * 1024 * 1024), 1);
        int loop = -1;
        char *p = NULL;
        assert_int_equal(loop_attach(fd, 0, 0, LOOP_ATTACH_PARTSCAN, &loop, &p), 0);
        free(p);
        *ret_file = fd;
        return loop;
}

static void blkpg_add(int loop, int pno, long long start, long long length) {
        struct blkpg_partition part = {.start = start, .length = length, .pno = pno};
        struct blkpg_ioctl_arg arg = {.op = BLKPG_ADD_PARTITION, .datalen = sizeof(part), .data = &part};
        assert_int_equal(ioctl(loop, BLKPG, &arg), 0);
}

static void test_partition_open(void **state) {
        if (geteuid() != 0 || access("/dev/loop-control", F_OK) < 0) {
                print_message("no loop devices here (needs root and /dev/loop-control): not tested\n");
                skip();
        }
        int file, loop = make_loop(&file);
        const uint64_t mib = 1024 * 1024;

        /* Added where asked: its first byte is the mark of MiB 2, its size 3 MiB. */
        int p1 = -1;
        assert_int_equal(loop_partition_open(loop, 1, 2 * mib, 3 * mib, true, &p1), 0);
        uint64_t size = 0;
        assert_int_equal(ioctl(p1, BLKGETSIZE64, &size), 0);
        assert_int_equal(size, 3 * mib);
        uint8_t b = 0xff;
        assert_int_equal(pread(p1, &b, 1, 0), 1);
        assert_int_equal(b, 2);
        /* Read-only as a device, though the loop device is writable. */
        int ro = 0;
        assert_int_equal(ioctl(p1, BLKROGET, &ro), 0);
        assert_int_equal(ro, 1);
        /* Asked again, the same: the existing one is used. */
        int again = -1;
        assert_int_equal(loop_partition_open(loop, 1, 2 * mib, 3 * mib, true, &again), 0);
        struct stat a, c;
        assert_int_equal(fstat(p1, &a), 0);
        assert_int_equal(fstat(again, &c), 0);
        assert_int_equal(a.st_rdev, c.st_rdev);
        close(again);
        /* Partition 1 with another start or size than the table says: refused. */
        assert_int_equal(loop_partition_open(loop, 1, 1 * mib, 3 * mib, true, &again), -ESTALE);
        assert_int_equal(loop_partition_open(loop, 1, 2 * mib, 2 * mib, true, &again), -ESTALE);
        /* The kernel already has partition 2 somewhere else. */
        blkpg_add(loop, 2, 6 * mib, mib);
        assert_int_equal(loop_partition_open(loop, 2, 5 * mib, mib, true, &again), -ESTALE);
        int p2 = -1;
        assert_int_equal(loop_partition_open(loop, 2, 6 * mib, mib, false, &p2), 0);
        assert_int_equal(pread(p2, &b, 1, 0), 1);
        assert_int_equal(b, 6);
        /* Overlapping partition 1: the kernel refuses to add it, so it is not there. */
        assert_int_equal(loop_partition_open(loop, 3, 4 * mib, mib, true, &again), -ESTALE);
        /* Out of range. */
        assert_int_equal(loop_partition_open(loop, 0, 0, mib, true, &again), -ERANGE);
        assert_int_equal(loop_partition_open(loop, LOOP_PARTITIONS_MAX + 1, 0, mib, true, &again), -ERANGE);
        assert_int_equal(loop_partition_open(loop, 4, 7 * mib + 1, 511, true, &again), -ERANGE);
        assert_int_equal(loop_partition_open(loop, 4, 7 * mib, 0, true, &again), -ERANGE);
        /* Not a block device. */
        assert_int_equal(loop_partition_open(file, 4, 7 * mib, mib, true, &again), -ENOTBLK);
        close(p1);
        close(p2);
        close(loop); /* autoclear: the loop device and its partitions go */
        close(file);
}

static bool private_dir_left(void) {
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "cowpen-image.%i.", (int) getpid());
        DIR *d = opendir("/run");
        assert_non_null(d);
        bool found = false;
        struct dirent *de;
        while ((de = readdir(d)))
                found = found || strncmp(de->d_name, prefix, strlen(prefix)) == 0;
        closedir(d);
        return found;
}

/* Without a /dev node (no devtmpfs, or not ours): a private node, gone once it is open. Runs
 * last: it hides /dev behind an empty tmpfs in a mount namespace of this process. */
static void test_partition_open_without_dev_node(void **state) {
        if (geteuid() != 0 || access("/dev/loop-control", F_OK) < 0) {
                print_message("no loop devices here (needs root and /dev/loop-control): not tested\n");
                skip();
        }
        int file, loop = make_loop(&file);
        const uint64_t mib = 1024 * 1024;
        assert_int_equal(unshare(CLONE_NEWNS), 0);
        assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL), 0);
        assert_int_equal(mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755"), 0);
        /* A /dev/NAME that is something else is not taken either. */
        char sys[64], node[PATH_MAX];
        struct stat st;
        assert_int_equal(fstat(loop, &st), 0);
        snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev));
        char *real = realpath(sys, NULL);
        assert_non_null(real);
        snprintf(node, sizeof(node), "/dev/%sp1", strrchr(real, '/') + 1);
        free(real);
        int decoy = open(node, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(decoy >= 0);
        assert_int_equal(write(decoy, "x", 1), 1);
        close(decoy);
        int p = -1;
        assert_int_equal(loop_partition_open(loop, 1, 3 * mib, mib, true, &p), 0);
        uint8_t b = 0xff;
        assert_int_equal(pread(p, &b, 1, 0), 1);
        assert_int_equal(b, 3);
        assert_false(private_dir_left());
        assert_int_equal(fstat(p, &st), 0);
        assert_true(S_ISBLK(st.st_mode));
        assert_int_equal(umount2("/dev", MNT_DETACH), 0);
        close(p);
        close(loop);
        close(file);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_partition_open),
                cmocka_unit_test(test_partition_open_without_dev_node),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
