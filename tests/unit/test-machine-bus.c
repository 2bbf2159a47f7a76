/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "fd-util.h"
#include "machine.h"

/* machine-bus.c without a bus: what --property= accepts, machine names machined takes, how a
 * missing system bus is told. (test-machined talks to a real dbus-daemon and machined.) */

static void check_ok(const char *a) {
        _cleanup_diag_ Diag d = DIAG_INIT;
        if (machine_bus_property_check(a, &d) < 0)
                fail_msg("%s refused: %s", a, diag_message(&d));
}

static void check_bad(const char *a, int want, const char *message) {
        _cleanup_diag_ Diag d = DIAG_INIT;
        assert_int_equal(machine_bus_property_check(a, &d), want);
        if (message && !strstr(diag_message(&d), message))
                fail_msg("%s: \"%s\" lacks \"%s\"", a, diag_message(&d), message);
}

static void test_properties(void **state) {
        check_ok("CPUQuota=20%");
        check_ok("CPUQuota=250%");
        check_ok("MemoryMax=64M");
        check_ok("MemoryMax=infinity");
        check_ok("MemoryHigh=1073741824");
        check_ok("TasksMax=16384");
        check_ok("TasksMax=infinity");
        check_ok("CPUWeight=100");
        check_ok("IOAccounting=yes");
        check_ok("KillMode=mixed");
        check_ok("KillSignal=SIGRTMIN");
        check_ok("KillSignal=TERM");
        check_ok("KillSignal=SIGRTMIN+3");
        check_ok("KillSignal=RTMAX-1");
        check_ok("KillSignal=15");
        check_ok("TimeoutStopSec=90");
        check_ok("TimeoutStopSec=500ms");
        check_ok("RuntimeMaxSec=2min");
        check_ok("DevicePolicy=strict");
        check_ok("DeviceAllow=/dev/fuse rw");
        check_ok("DeviceAllow=char-pts");
        check_ok("DeviceAllow=block-loop rwm");

        check_bad("Frobnicate=1", -EOPNOTSUPP, "unsupported unit property Frobnicate (cowpen sends: ");
        check_bad("Slice=foo.slice", -EOPNOTSUPP, "unsupported unit property Slice");
        check_bad("CPUQuota", -EINVAL, "not NAME=VALUE");
        check_bad("=1", -EINVAL, "not NAME=VALUE");
        check_bad("CPUQuota=20", -EINVAL, "bad value for unit property CPUQuota: 20");
        check_bad("CPUQuota=0%", -EINVAL, NULL);
        check_bad("CPUQuota=%", -EINVAL, NULL);
        check_bad("MemoryMax=lots", -EINVAL, "bad value for unit property MemoryMax: lots");
        check_bad("CPUWeight=0", -EINVAL, NULL);
        check_bad("CPUWeight=10001", -EINVAL, NULL);
        check_bad("IOAccounting=maybe", -EINVAL, NULL);
        check_bad("KillMode=gentle", -EINVAL, NULL);
        check_bad("KillSignal=SIGNOPE", -EINVAL, NULL);
        check_bad("KillSignal=0", -EINVAL, NULL);
        check_bad("KillSignal=SIGRTMIN+99", -EINVAL, NULL);
        check_bad("KillSignal=SIGRTMIN-1", -EINVAL, NULL);
        check_bad("TimeoutStopSec=soon", -EINVAL, NULL);
        check_bad("DeviceAllow=/etc/passwd rw", -EINVAL, NULL);
        check_bad("DeviceAllow=/dev/fuse rwx", -EINVAL, NULL);
        check_bad("DeviceAllow=/dev/fuse rwmr", -EINVAL, NULL);
        /* A hostile name is printed escaped, not as it came. */
        check_bad("Foo\033[2J=1", -EOPNOTSUPP, "Foo\\x1b[2J");
        assert_non_null(strstr(machine_bus_property_names(), "CPUQuota, "));
}

static void test_names(void **state) {
        assert_true(machine_bus_name_is_valid("deb"));
        assert_true(machine_bus_name_is_valid("gentoo-kde"));
        assert_true(machine_bus_name_is_valid("a.b.c"));
        assert_true(machine_bus_name_is_valid("machined-1c9c1174a8591758.tree2"));
        assert_false(machine_bus_name_is_valid(""));
        assert_false(machine_bus_name_is_valid("my_tree"));
        assert_false(machine_bus_name_is_valid("-a"));
        assert_false(machine_bus_name_is_valid("a-"));
        assert_false(machine_bus_name_is_valid(".a"));
        assert_false(machine_bus_name_is_valid("a."));
        assert_false(machine_bus_name_is_valid("a..b"));
        assert_false(machine_bus_name_is_valid("a b"));
        char l[66];
        memset(l, 'a', 65);
        l[65] = 0;
        assert_false(machine_bus_name_is_valid(l));
        l[64] = 0;
        assert_true(machine_bus_name_is_valid(l));
}

static void test_no_bus(void **state) {
        char dir[] = "/tmp/test-machine-bus.XXXXXX";
        assert_non_null(mkdtemp(dir));
        char path[128], addr[160];
        snprintf(path, sizeof(path), "%s/bus", dir);
        snprintf(addr, sizeof(addr), "unix:path=%s", path);
        setenv("DBUS_SYSTEM_BUS_ADDRESS", addr, 1);
        assert_false(machine_bus_socket_exists());
        _cleanup_diag_ Diag d = DIAG_INIT;
        MachineBus *b = NULL;
        assert_int_equal(machine_bus_open(true, &b, &d), -ENOENT);
        assert_null(b);
        char want[200];
        snprintf(want, sizeof(want), "no system bus (%s is missing)", path);
        assert_string_equal(diag_message(&d), want);
        /* A socket nobody listens on is there, but refuses the connection. */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, path);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_true(machine_bus_socket_exists());
        safe_close(fd);
        diag_done(&d);
        int r = machine_bus_open(true, &b, &d);
        assert_true(r < 0);
        assert_null(b);
        assert_non_null(strstr(diag_message(&d), "cannot connect to the system bus"));
        unlink(path);
        rmdir(dir);
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_properties),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_no_bus),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
