/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machine-copy.c: copy-to and copy-from against a "machine" whose leader is a child of the test
 * chroot()ed into a temporary root (its /proc/PID/root is that root): files and trees both ways,
 * existing targets kept, no temporary entry left, absolute symlinks and ".." planted in the root
 * resolved inside it (never reaching the test's host-side directory), set-ID bits and device
 * nodes kept from coming out, and a leader that is gone
 * or is another process than recorded refused (-ESRCH). Needs root (chroot). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "fd-util.h"
#include "machine.h"
#include "rm-rf.h"
#include "unit-helpers.h"
#include "proc-util.h"
#include "util.h"

static char base[64], root[128], host[128];
static pid_t leader = -1;
static MachineRecord rec;

static void write_file(const char *path, const char *text, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(loop_write(fd, text, strlen(text)), 0);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static char *slurp(const char *path) {
        char *s = NULL;
        return read_file_at(AT_FDCWD, path, 0, 1 << 20, &s, NULL) < 0 ? NULL : s;
}

static char *at(const char *dir, const char *rel) {
        static char buf[4][512];
        static int n;
        char *b = buf[n++ % 4];
        snprintf(b, sizeof(buf[0]), "%s/%s", dir, rel);
        return b;
}

static int setup(void **state) {
        if (geteuid() != 0) {
                print_message("skipped: chroot() needs root\n");
                return 0;
        }
        snprintf(base, sizeof base, "/tmp/test-machine-copy.XXXXXX");
        assert_non_null(mkdtemp(base));
        snprintf(root, sizeof root, "%s/root", base);
        snprintf(host, sizeof host, "%s/host", base);
        assert_int_equal(mkdir(root, 0755), 0);
        assert_int_equal(mkdir(host, 0755), 0);
        assert_int_equal(mkdir(at(root, "tmp"), 01777), 0);
        assert_int_equal(mkdir(at(root, "etc"), 0755), 0);
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        leader = fork();
        assert_true(leader >= 0);
        if (leader == 0) {
                if (chroot(root) < 0 || chdir("/") < 0)
                        _exit(1);
                close(p[1]);
                char c;
                if (read(p[0], &c, 1) < 0) /* until the test ends */
                        _exit(0);
                _exit(0);
        }
        close(p[0]); /* p[1] stays open: the child ends when we do */
        rec = (MachineRecord){.name = (char *) "copytest", .leader = leader};
        /* Until the child has chroot()ed, its root is ours. */
        for (int i = 0; i < 1000; i++) {
                char l[64], t[PATH_MAX] = {};
                snprintf(l, sizeof l, "/proc/%i/root", (int) leader);
                if (readlink(l, t, sizeof t - 1) > 0 && streq(t, root))
                        break;
                usleep(1000);
        }
        assert_int_equal(pid_starttime(leader, &rec.leader_starttime), 0);
        return 0;
}

static int teardown(void **state) {
        if (leader < 0)
                return 0;
        (void) kill(leader, SIGKILL);
        (void) waitpid(leader, NULL, 0);
        test_dir_remove(base);
        return 0;
}

static bool temp_left(const char *dir) {
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *de;
        bool found = false;
        while ((de = readdir(d)))
                if (startswith(de->d_name, ".#cowpen-copy."))
                        found = true;
        closedir(d);
        return found;
}

static void test_file_both_ways(void **state) {
        if (leader < 0)
                skip();
        write_file(at(host, "f"), "file data\n", 0640);
        assert_int_equal(machine_copy_to(&rec, at(host, "f"), "/tmp/f", NULL), 0);
        char *s = slurp(at(root, "tmp/f"));
        assert_non_null(s);
        assert_string_equal(s, "file data\n");
        free(s);
        struct stat st;
        assert_int_equal(stat(at(root, "tmp/f"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);

        /* Into an existing directory: under the source's name. */
        assert_int_equal(machine_copy_to(&rec, at(host, "f"), "/etc", NULL), 0);
        assert_int_equal(access(at(root, "etc/f"), F_OK), 0);

        /* An existing file is kept, nothing is left under a temporary name. */
        write_file(at(host, "g"), "other\n", 0644);
        Diag d = DIAG_INIT;
        assert_int_equal(machine_copy_to(&rec, at(host, "g"), "/tmp/f", &d), -EEXIST);
        assert_non_null(strstr(diag_message(&d), "exists already"));
        diag_done(&d);
        s = slurp(at(root, "tmp/f"));
        assert_string_equal(s, "file data\n");
        free(s);
        assert_false(temp_left(at(root, "tmp")));

        assert_int_equal(machine_copy_from(&rec, "/tmp/f", at(host, "back"), NULL), 0);
        s = slurp(at(host, "back"));
        assert_string_equal(s, "file data\n");
        free(s);
        assert_int_equal(machine_copy_from(&rec, "/tmp/f", at(host, "back"), NULL), -EEXIST);
        assert_false(temp_left(host));
}

static void test_tree_both_ways(void **state) {
        if (leader < 0)
                skip();
        assert_int_equal(mkdir(at(host, "tree"), 0750), 0);
        assert_int_equal(mkdir(at(host, "tree/sub"), 0700), 0);
        write_file(at(host, "tree/sub/x"), "x\n", 0600);
        assert_int_equal(symlink("/etc/passwd", at(host, "tree/abs")), 0);
        assert_int_equal(machine_copy_to(&rec, at(host, "tree"), "/tmp/tree", NULL), 0);
        char *s = slurp(at(root, "tmp/tree/sub/x"));
        assert_string_equal(s, "x\n");
        free(s);
        char t[64] = {};
        assert_true(readlink(at(root, "tmp/tree/abs"), t, sizeof t - 1) > 0);
        assert_string_equal(t, "/etc/passwd"); /* copied as a symlink, not followed */
        assert_int_equal(machine_copy_from(&rec, "/tmp/tree", at(host, "tree2"), NULL), 0);
        s = slurp(at(host, "tree2/sub/x"));
        assert_string_equal(s, "x\n");
        free(s);
        struct stat st;
        assert_int_equal(lstat(at(host, "tree2/sub"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
}

static void test_escapes(void **state) {
        if (leader < 0)
                skip();
        write_file(at(host, "secret"), "host secret\n", 0600);
        write_file(at(host, "payload"), "payload\n", 0644);
        /* An absolute symlink to a host directory, one to /etc, a relative one up and out. */
        assert_int_equal(symlink(host, at(root, "tmp/to-host")), 0);
        assert_int_equal(symlink("/etc", at(root, "tmp/to-etc")), 0);
        assert_int_equal(symlink("../../../../../../..", at(root, "tmp/up")), 0);
        char hs[512];
        snprintf(hs, sizeof hs, "%s/secret", host);

        assert_int_equal(machine_copy_to(&rec, at(host, "payload"), "/tmp/to-host/planted", NULL), -ENOENT);
        assert_int_equal(access(at(host, "planted"), F_OK), -1);
        assert_int_equal(machine_copy_to(&rec, at(host, "payload"), "/tmp/to-etc/planted", NULL), 0);
        assert_int_equal(access(at(root, "etc/planted"), F_OK), 0); /* the container's /etc */
        char up[1024];
        snprintf(up, sizeof up, "/tmp/up%s/planted2", host);
        assert_int_equal(machine_copy_to(&rec, at(host, "payload"), up, NULL), -ENOENT);
        assert_int_equal(access(at(host, "planted2"), F_OK), -1);

        snprintf(up, sizeof up, "/tmp/up%s", hs);
        assert_int_equal(machine_copy_from(&rec, up, at(host, "stolen"), NULL), -ENOENT);
        snprintf(up, sizeof up, "/../../..%s", hs);
        assert_int_equal(machine_copy_from(&rec, up, at(host, "stolen"), NULL), -ENOENT);
        assert_int_equal(symlink(hs, at(root, "tmp/secret-link")), 0);
        assert_int_equal(machine_copy_from(&rec, "/tmp/secret-link", at(host, "stolen"), NULL), -ENOENT);
        assert_int_equal(access(at(host, "stolen"), F_OK), -1);
}

static void test_out_of_container(void **state) {
        if (leader < 0)
                skip();
        /* A set-UID-root program planted inside comes out without the bit; a device node does not
         * come out at all. */
        write_file(at(root, "tmp/suid"), "#!/bin/sh\n", 04755);
        assert_int_equal(machine_copy_from(&rec, "/tmp/suid", at(host, "suid"), NULL), 0);
        struct stat st;
        assert_int_equal(stat(at(host, "suid"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(mkdir(at(root, "tmp/devs"), 0755), 0);
        write_file(at(root, "tmp/devs/plain"), "p\n", 02755);
        assert_int_equal(mknod(at(root, "tmp/devs/disk"), S_IFBLK | 0666, makedev(8, 0)), 0);
        Diag d = DIAG_INIT;
        assert_int_equal(machine_copy_from(&rec, "/tmp/devs", at(host, "devs"), &d), -EPERM);
        assert_non_null(strstr(diag_message(&d), "device node (disk)"));
        diag_done(&d);
        assert_int_equal(access(at(host, "devs"), F_OK), -1);
        assert_false(temp_left(host));
        assert_int_equal(unlink(at(root, "tmp/devs/disk")), 0);
        assert_int_equal(machine_copy_from(&rec, "/tmp/devs", at(host, "devs"), NULL), 0);
        assert_int_equal(stat(at(host, "devs/plain"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        /* Going in, set-ID bits are kept. */
        write_file(at(host, "suid-in"), "x\n", 04711);
        assert_int_equal(machine_copy_to(&rec, at(host, "suid-in"), "/tmp/suid-in", NULL), 0);
        assert_int_equal(stat(at(root, "tmp/suid-in"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 04711);
}

static void test_gone(void **state) {
        if (leader < 0)
                skip();
        write_file(at(host, "h"), "h\n", 0644);
        MachineRecord other = rec;
        other.leader_starttime++;
        Diag d = DIAG_INIT;
        assert_int_equal(machine_copy_to(&other, at(host, "h"), "/tmp/h", &d), -ESRCH);
        diag_done(&d);
        assert_int_equal(access(at(root, "tmp/h"), F_OK), -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_file_both_ways),
                cmocka_unit_test(test_tree_both_ways),
                cmocka_unit_test(test_escapes),
                cmocka_unit_test(test_out_of_container),
                cmocka_unit_test(test_gone),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
