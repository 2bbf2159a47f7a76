/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* src/net/net-netlink.c: links, bridges, macvlan/ipvlan, moves, addresses and routes, each test in
 * network namespaces of its own (see net-helpers.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "net-helpers.h"

/* (The "dummy" parents below are dummies where the kernel has them, else ifb or veth devices:
 * plain_link_add().) */

/* A veth pair between this namespace and another, with addresses on both ends: a TCP connection
 * goes across, in both families. */
static void body_veth_pair(void) {
        _cleanup_close_ int other = netns_new();
        _cleanup_rtnl_ Rtnl *nl = NULL, *ol = NULL;
        _cleanup_diag_ Diag d = DIAG_INIT;
        CHECK_R(rtnl_open(-1, &nl));
        CHECK_R(rtnl_open(other, &ol));

        uint8_t mac[6] = {0x02, 1, 2, 3, 4, 5};
        CHECK_D(rtnl_veth_add(nl, "ve-test", NULL, "host0", mac, other, &d), &d);
        /* The peer is over there, not here. */
        CHECK(rtnl_link_index(nl, "host0") == -ENODEV);
        RtnlLink l;
        CHECK_D(rtnl_link_get(ol, "host0", &l, &d), &d);
        CHECK(streq(l.kind, "veth"));
        CHECK(memcmp(l.mac, mac, 6) == 0);

        NetPrefix a = P("10.1.0.0/31"), b = P("10.1.0.1/31"), a6 = P("fd00::1/64"), b6 = P("fd00::2/64");
        CHECK_D(rtnl_addr_add(nl, "ve-test", &a, &d), &d);
        CHECK_D(rtnl_addr_add(nl, "ve-test", &a6, &d), &d);
        CHECK_D(rtnl_link_set_up(nl, "ve-test", true, &d), &d);
        CHECK_D(rtnl_addr_add(ol, "host0", &b, &d), &d);
        CHECK_D(rtnl_addr_add(ol, "host0", &b6, &d), &d);
        CHECK_D(rtnl_link_set_up(ol, "host0", true, &d), &d);
        NetPrefix gw = P("10.1.0.0");
        CHECK_D(rtnl_route_add(ol, "host0", NULL, &gw, &d), &d);

        pid_t srv = tcp_server(other, 7777);
        char buf[128];
        CHECK_R(tcp_fetch(-1, "10.1.0.1", 7777, buf, sizeof(buf), 5000));
        CHECK(streq(buf, "hello from 10.1.0.0\n"));
        CHECK_R(tcp_fetch(-1, "fd00::2", 7777, buf, sizeof(buf), 5000));
        CHECK(streq(buf, "hello from fd00::1\n"));
        kill_wait(srv);

        /* Twice is a clear error naming the interface. */
        CHECK(rtnl_veth_add(nl, "ve-test", NULL, "host1", NULL, other, &d) == -EEXIST);
        CHECK(streq(d.object, "ve-test"));
        diag_clear_failure(&d);

        /* Deleting one end deletes the pair; deleting what is gone is fine. */
        CHECK(rtnl_link_delete(nl, "ve-test", &d) == 1);
        CHECK(rtnl_link_index(ol, "host0") == -ENODEV);
        CHECK(rtnl_link_delete(nl, "ve-test", &d) == 0);
}

static void test_veth_pair(void **state) {
        net_test_run(body_veth_pair);
}

static void body_bridge(void) {
        _cleanup_close_ int other = netns_new();
        _cleanup_rtnl_ Rtnl *nl = NULL;
        _cleanup_diag_ Diag d = DIAG_INIT;
        CHECK_R(rtnl_open(-1, &nl));

        CHECK(rtnl_bridge_check(nl, "vz-test", &d) == -ENODEV);
        diag_clear_failure(&d);
        CHECK(rtnl_bridge_ensure(nl, "vz-test", &d) == 1);
        CHECK(rtnl_bridge_ensure(nl, "vz-test", &d) == 0);
        CHECK(rtnl_bridge_members(nl, "vz-test", &d) == 0);

        CHECK_D(rtnl_veth_add(nl, "vb-a", NULL, "host0", NULL, other, &d), &d);
        CHECK_D(rtnl_link_set_master(nl, "vb-a", "vz-test", &d), &d);
        CHECK(rtnl_bridge_members(nl, "vz-test", &d) == 1);
        RtnlLink l;
        CHECK_D(rtnl_link_get(nl, "vb-a", &l, &d), &d);
        CHECK(l.master == rtnl_link_index(nl, "vz-test"));

        /* Not removed while a member is in it. */
        CHECK(rtnl_bridge_remove_if_empty(nl, "vz-test", &d) == 0);
        CHECK(rtnl_link_index(nl, "vz-test") > 0);
        CHECK(rtnl_link_delete(nl, "vb-a", &d) == 1);
        CHECK(rtnl_bridge_remove_if_empty(nl, "vz-test", &d) == 1);
        CHECK(rtnl_link_index(nl, "vz-test") == -ENODEV);
        CHECK(rtnl_bridge_remove_if_empty(nl, "vz-test", &d) == 0);

        /* An interface that is not a bridge is refused, with a clear cause. */
        plain_link_add(nl, "notbr");
        CHECK(rtnl_bridge_ensure(nl, "notbr", &d) == -ENOTTY);
        CHECK(streq(d.object, "notbr"));
        CHECK(strstr(d.cause, "not a bridge"));
        diag_clear_failure(&d);
        CHECK(rtnl_link_set_master(nl, "notbr", "notbr", &d) == -ENOTTY);
        diag_clear_failure(&d);
        CHECK(rtnl_link_set_master(nl, "notbr", "nosuchbr", &d) == -ENODEV);
        CHECK(streq(d.object, "nosuchbr"));
        CHECK(rtnl_link_index(nl, "notbr") > 0); /* untouched */
}

static void test_bridge(void **state) {
        net_test_run(body_bridge);
}

static void body_macvlan_ipvlan(void) {
        _cleanup_close_ int other = netns_new();
        _cleanup_rtnl_ Rtnl *nl = NULL, *ol = NULL;
        _cleanup_diag_ Diag d = DIAG_INIT;
        CHECK_R(rtnl_open(-1, &nl));
        CHECK_R(rtnl_open(other, &ol));
        plain_link_add(nl, "dummy0");

        uint8_t mac[6];
        CHECK_R(net_generate_mac("m", NET_MAC_MACVLAN, 0, mac));
        int r = rtnl_macvlan_add(nl, "dummy0", "mv-dummy0", mac, other, &d);
        if (r == -EOPNOTSUPP)
                SKIP_CHILD("%s", diag_message(&d));
        CHECK_D(r, &d);
        RtnlLink l;
        CHECK_D(rtnl_link_get(ol, "mv-dummy0", &l, &d), &d);
        CHECK(streq(l.kind, "macvlan"));
        CHECK(memcmp(l.mac, mac, 6) == 0);
        CHECK(rtnl_link_index(nl, "mv-dummy0") == -ENODEV);

        /* ipvlan where the kernel has it; where not, the error says so. */
        r = rtnl_ipvlan_add(nl, "dummy0", "iv-dummy0", other, &d);
        if (r == -EOPNOTSUPP) {
                CHECK(strstr(d.cause, "kernel lacks ipvlan support"));
                fprintf(stderr, "ipvlan not tested: %s\n", diag_message(&d));
                diag_clear_failure(&d);
        } else {
                CHECK_D(r, &d);
                CHECK_D(rtnl_link_get(ol, "iv-dummy0", &l, &d), &d);
                CHECK(streq(l.kind, "ipvlan"));
        }

        /* A parent that does not exist. */
        CHECK(rtnl_macvlan_add(nl, "nosuch0", "mv-nosuch0", NULL, other, &d) == -ENODEV);
        CHECK(streq(d.object, "nosuch0"));
        diag_clear_failure(&d);

        /* A kind the kernel does not know gives the "kernel lacks" error (as a missing ipvlan does). */
        r = rtnl_link_add(nl, "x0", "cowpenbogus", NULL, &d);
        CHECK(r == -EOPNOTSUPP);
        CHECK(streq(d.object, "x0"));
        CHECK(streq(d.cause, "kernel lacks cowpenbogus support"));
}

static void test_macvlan_ipvlan(void **state) {
        net_test_run(body_macvlan_ipvlan);
}

/* An interface moved into another namespace under a new name, and back out under its own, both by
 * fd and by pid. */
static void body_move(void) {
        _cleanup_close_ int other = netns_new();
        _cleanup_close_ int here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        _cleanup_rtnl_ Rtnl *nl = NULL, *ol = NULL;
        _cleanup_diag_ Diag d = DIAG_INIT;
        CHECK_R(rtnl_open(-1, &nl));
        CHECK_R(rtnl_open(other, &ol));
        plain_link_add(nl, "eth9");

        CHECK_D(rtnl_link_move(nl, "eth9", other, "moved0", &d), &d);
        CHECK(rtnl_link_index(nl, "eth9") == -ENODEV);
        CHECK(rtnl_link_index(ol, "moved0") > 0);
        CHECK_D(rtnl_link_move(ol, "moved0", here, "eth9", &d), &d);
        CHECK(rtnl_link_index(nl, "eth9") > 0);
        CHECK(rtnl_link_index(ol, "moved0") == -ENODEV);

        /* By pid: a process in the other namespace. */
        fflush(NULL);
        int p[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) == 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                CHECK(setns(other, CLONE_NEWNET) == 0);
                close(p[0]);
                char c = 'x';
                (void) !write(p[1], &c, 1); /* in place */
                (void) !read(p[1], &c, 1);  /* until the parent is done */
                _exit(0);
        }
        close(p[1]);
        char c;
        CHECK(read(p[0], &c, 1) == 1);
        CHECK_D(rtnl_link_move_pid(nl, "eth9", pid, NULL, &d), &d);
        CHECK(rtnl_link_index(ol, "eth9") > 0);
        close(p[0]);
        CHECK(waitpid(pid, NULL, 0) == pid);

        CHECK(rtnl_link_move(nl, "nosuch0", other, NULL, &d) == -ENODEV);
        CHECK(streq(d.object, "nosuch0"));
}

static void test_move(void **state) {
        net_test_run(body_move);
}

static void body_prefixes(void) {
        _cleanup_rtnl_ Rtnl *nl = NULL;
        _cleanup_diag_ Diag d = DIAG_INIT;
        CHECK_R(rtnl_open(-1, &nl));
        plain_link_add(nl, "dummy0");
        CHECK_D(rtnl_link_set_up(nl, "dummy0", true, &d), &d);
        NetPrefix a = P("192.168.77.5/24"), dst = P("10.20.0.0/16"), gw = P("192.168.77.1");
        CHECK_D(rtnl_addr_add(nl, "dummy0", &a, &d), &d);
        CHECK_D(rtnl_route_add(nl, "dummy0", &dst, &gw, &d), &d);
        CHECK_D(rtnl_route_add(nl, "dummy0", NULL, &gw, &d), &d); /* default: not reported */

        NetPrefix *p = NULL;
        size_t n = 0;
        CHECK_D(rtnl_prefixes_in_use(nl, AF_INET, &p, &n, &d), &d);
        bool addr = false, route = false;
        for (size_t i = 0; i < n; i++) {
                char b[NET_PREFIX_STRING_MAX];
                net_prefix_to_string(&p[i], b);
                addr = addr || streq(b, "192.168.77.5/24");
                route = route || streq(b, "10.20.0.0/16");
                CHECK(p[i].prefixlen > 0);
        }
        CHECK(addr && route);
        free(p);

        /* An address on a missing interface names it. */
        CHECK(rtnl_addr_add(nl, "nosuch0", &a, &d) == -ENODEV);
        CHECK(streq(d.object, "nosuch0"));
        diag_clear_failure(&d);
        /* An invalid name never reaches the kernel. */
        CHECK(rtnl_link_add(nl, "a/b", "bridge", NULL, &d) == -EINVAL);
        CHECK(rtnl_link_add(nl, "sixteen-bytes-xx", "bridge", NULL, &d) == -EINVAL);
}

static void test_prefixes(void **state) {
        net_test_run(body_prefixes);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_veth_pair),
                cmocka_unit_test(test_bridge),
                cmocka_unit_test(test_macvlan_ipvlan),
                cmocka_unit_test(test_move),
                cmocka_unit_test(test_prefixes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
