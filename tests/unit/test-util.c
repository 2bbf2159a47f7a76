/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc-util.h"
#include "util.h"

static void test_image_name(void **state) {
        char longname[300];
        memset(longname, 'a', sizeof(longname));
        longname[255] = 0;
        assert_true(image_name_is_valid(longname)); /* 255 bytes: the limit */
        longname[255] = 'a';
        longname[256] = 0;
        assert_false(image_name_is_valid(longname)); /* limit + 1 */
        assert_string_equal(image_name_invalid_reason(longname), "name is longer than 255 bytes");

        assert_true(image_name_is_valid("gentoo"));
        assert_true(image_name_is_valid("a.raw-ish_name+1"));
        assert_false(image_name_is_valid(""));
        assert_false(image_name_is_valid(NULL));
        assert_false(image_name_is_valid("."));
        assert_false(image_name_is_valid(".."));
        assert_false(image_name_is_valid(".hidden"));
        assert_false(image_name_is_valid(".#temp"));
        assert_false(image_name_is_valid("a/b"));
        assert_false(image_name_is_valid("../x"));
        assert_false(image_name_is_valid("tab\there"));
        assert_false(image_name_is_valid("nl\n"));
        assert_false(image_name_is_valid("del\x7f"));
        assert_false(image_name_is_valid("backup~"));
        assert_string_equal(image_name_invalid_reason("a/b"), "name contains '/'");
        assert_null(image_name_invalid_reason("ok"));
}

static void test_parse_size(void **state) {
        uint64_t v;
        assert_int_equal(parse_size("0", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(parse_size("4096", &v), 0);
        assert_int_equal(v, 4096);
        assert_int_equal(parse_size("64M", &v), 0);
        assert_int_equal(v, 64 << 20);
        assert_int_equal(parse_size("2G", &v), 0);
        assert_int_equal(v, UINT64_C(2) << 30);
        assert_int_equal(parse_size("1KiB", &v), 0);
        assert_int_equal(v, 1024);
        assert_int_equal(parse_size("16E", &v), -ERANGE);
        assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
        assert_int_equal(parse_size("1X", &v), -EINVAL);
        assert_int_equal(parse_size("-1", &v), -EINVAL);
        assert_int_equal(parse_size("", &v), -EINVAL);
}

static void test_parse_boolean(void **state) {
        assert_int_equal(parse_boolean("yes"), 1);
        assert_int_equal(parse_boolean("on"), 1);
        assert_int_equal(parse_boolean("1"), 1);
        assert_int_equal(parse_boolean("no"), 0);
        assert_int_equal(parse_boolean("false"), 0);
        assert_int_equal(parse_boolean("maybe"), -EINVAL);
        assert_int_equal(parse_boolean(NULL), -EINVAL);
}

static void test_hex(void **state) {
        void *buf;
        size_t n;
        assert_int_equal(unhexmem("00ff10Ab", 8, &buf, &n), 0);
        assert_int_equal(n, 4);
        assert_memory_equal(buf, "\x00\xff\x10\xab", 4);
        char *h = hexmem(buf, n);
        assert_string_equal(h, "00ff10ab");
        free(h);
        free(buf);
        assert_int_equal(unhexmem("abc", 3, &buf, &n), -EINVAL);
        assert_int_equal(unhexmem("zz", 2, &buf, &n), -EINVAL);
}

static void test_printable(void **state) {
        char *p = printable("bad\001name\n", 255);
        assert_string_equal(p, "bad\\x01name\\x0a");
        free(p);
        p = printable("back\\slash", 255);
        assert_string_equal(p, "back\\x5cslash");
        free(p);
        p = printable("abcdefghij", 4);
        assert_string_equal(p, "abcd…");
        free(p);
}

static void test_strv(void **state) {
        _cleanup_strv_free_ char **l = NULL;
        assert_int_equal(strv_length(l), 0);
        assert_int_equal(strv_extend(&l, "a"), 0);
        assert_int_equal(strv_extend(&l, "b"), 0);
        assert_int_equal(strv_length(l), 2);
        assert_true(strv_contains(l, "b"));
        assert_false(strv_contains(l, "c"));
        assert_non_null(endswith("foo.raw", ".raw"));
        assert_null(endswith("raw", ".raw"));
        assert_true(startswith(".#x", ".#"));
        char *j = strjoin("a", "/", "b");
        assert_string_equal(j, "a/b");
        free(j);
}

static void test_name_owner_is_gone(void **state) {
        char name[64];
        /* A process of ours is alive: not gone. */
        snprintf(name, sizeof(name), "cowpen-%i.sock", (int) getpid());
        assert_false(name_owner_is_gone(name, "cowpen-"));
        /* A child that has been waited for is gone. */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(0);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        snprintf(name, sizeof(name), "cowpen-image.%i.Ab12Cd", (int) pid);
        assert_true(name_owner_is_gone(name, "cowpen-image."));
        snprintf(name, sizeof(name), "cowpen-%i-12", (int) pid);
        assert_true(name_owner_is_gone(name, "cowpen-"));
        /* Only PREFIX, a PID without leading zero, and '-' or '.' after it. */
        snprintf(name, sizeof(name), "other-%i.x", (int) pid);
        assert_false(name_owner_is_gone(name, "cowpen-"));
        snprintf(name, sizeof(name), "cowpen-%i", (int) pid);
        assert_false(name_owner_is_gone(name, "cowpen-"));
        snprintf(name, sizeof(name), "cowpen-0%i.x", (int) pid);
        assert_false(name_owner_is_gone(name, "cowpen-"));
        assert_false(name_owner_is_gone("cowpen-2147483648.x", "cowpen-"));
        assert_false(name_owner_is_gone("cowpen-.x", "cowpen-"));
}

/* A child that has run prepare() and waits to be killed. */
static pid_t paused_child(void (*prepare)(void)) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                prepare();
                if (write(p[1], "", 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        char c;
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        close(p[1]);
        return pid;
}

static void name_child(void) {
        (void) prctl(PR_SET_NAME, "x) 1 2 3 4) y");
}

static void test_pid_starttime(void **state) {
        uint64_t a, b;
        assert_int_equal(pid_starttime(getpid(), &a), 0);
        assert_int_equal(pid_starttime(getpid(), &b), 0);
        assert_true(a == b);
        /* A child whose name holds ") " as a stat line's COMM may: the fields count from the last ')'. */
        pid_t pid = paused_child(name_child);
        assert_int_equal(pid_starttime(pid, &b), 0);
        assert_true(b >= a);
        uint64_t again;
        assert_int_equal(pid_starttime(pid, &again), 0);
        assert_true(again == b);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(pid_starttime(pid, &b), -ESRCH);
        assert_int_equal(pid_starttime(0, &b), -ESRCH);
        assert_int_equal(pid_starttime(-1, &b), -ESRCH);
}

static void test_pid_cgroup2_path(void **state) {
        _cleanup_free_ char *self = NULL, *mine = NULL;
        int r = pid_cgroup2_path(0, &self);
        if (r == -ENOMEDIUM)
                skip(); /* no unified hierarchy on this kernel */
        assert_int_equal(r, 0);
        assert_true(self[0] == '/');
        assert_int_equal(pid_cgroup2_path(getpid(), &mine), 0);
        assert_string_equal(self, mine);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(0);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        char *gone = NULL;
        assert_int_equal(pid_cgroup2_path(pid, &gone), -ESRCH);
        assert_null(gone);
}

static void on_signal(int sig) {
}

static void signals_child(void) {
        signal(SIGUSR1, SIG_IGN);
        signal(SIGUSR2, on_signal);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGRTMIN + 4);
        sigprocmask(SIG_BLOCK, &set, NULL);
}

static void test_pid_status(void **state) {
        uint64_t bnd;
        assert_int_equal(pid_status_mask(getpid(), "CapBnd", &bnd), 0);
        assert_int_equal(pid_status_mask(getpid(), "CapBn", &bnd), -EBADMSG); /* a whole field name */
        assert_int_equal(pid_status_mask(getpid(), "NoSuchField", &bnd), -EBADMSG);
        pid_t pid = paused_child(signals_child);
        assert_int_equal(pid_signal_disposition(pid, SIGUSR1), -1);
        assert_int_equal(pid_signal_disposition(pid, SIGUSR2), 1);
        assert_int_equal(pid_signal_disposition(pid, SIGRTMIN + 4), 1); /* blocked: taken by signalfd */
        assert_int_equal(pid_signal_disposition(pid, SIGHUP), 0);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(pid_signal_disposition(pid, SIGUSR2), 0);
        assert_true(pid_status_mask(pid, "CapBnd", &bnd) < 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_image_name),
                cmocka_unit_test(test_parse_size),
                cmocka_unit_test(test_parse_boolean),
                cmocka_unit_test(test_hex),
                cmocka_unit_test(test_printable),
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_name_owner_is_gone),
                cmocka_unit_test(test_pid_starttime),
                cmocka_unit_test(test_pid_cgroup2_path),
                cmocka_unit_test(test_pid_status),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
