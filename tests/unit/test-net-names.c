/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* src/net/net-names.c and net-addr.c: nspawn's interface names and MACs, port forward specs,
 * prefixes. Pure functions: no namespaces needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "net-internal.h"

/* The reference vector of the SipHash paper (appendix A): key 00…0f, message 00…0e. */
static void test_siphash24(void **state) {
        uint8_t key[16], msg[64];
        for (unsigned i = 0; i < 16; i++)
                key[i] = (uint8_t) i;
        for (unsigned i = 0; i < 64; i++)
                msg[i] = (uint8_t) i;
        assert_true(net_siphash24(msg, 15, key) == 0xa129ca6149be45e5ULL);
        /* And the first and an 8-byte-aligned entry of the paper's table of 64 outputs. */
        assert_true(net_siphash24(msg, 0, key) == 0x726fdb47dd0e0e31ULL);
        assert_true(net_siphash24(msg, 8, key) == 0x93f5f5799a932462ULL);
}

static void test_shorten(void **state) {
        char n[NET_IFNAME_MAX + 1];

        /* Up to 15 bytes: kept. */
        assert_int_equal(net_ifname(NET_IFNAME_VETH, "abcdefghijkl", n), 0);
        assert_string_equal(n, "ve-abcdefghijkl");
        assert_int_equal(net_ifname(NET_IFNAME_VETH, "m", n), 0);
        assert_string_equal(n, "ve-m");

        /* 16 bytes and more: 11 bytes and 4 hash characters, as systemd-nspawn (the values were
         * computed with an independent SipHash-2-4 under nspawn's SHORTEN_IFNAME_HASH_KEY). */
        assert_int_equal(net_ifname(NET_IFNAME_VETH, "abcdefghijklm", n), 1);
        assert_string_equal(n, "ve-abcdefghyhe5");
        assert_int_equal(net_ifname(NET_IFNAME_VETH, "averyveryverylongmachinename", n), 1);
        assert_string_equal(n, "ve-averyvermBQ8");
        assert_int_equal(strlen(n), NET_IFNAME_MAX);
        /* The hash covers the prefix too: vb- and ve- of one machine differ beyond the prefix. */
        assert_int_equal(net_ifname(NET_IFNAME_BRIDGED, "averyveryverylongmachinename", n), 1);
        assert_string_equal(n, "vb-averyverZZ6y");
        assert_int_equal(net_ifname(NET_IFNAME_ZONE, "zonezonezonezone", n), 1);
        assert_string_equal(n, "vz-zonezonesda6");

        /* Stable, and names sharing the first 11 bytes stay apart. */
        char a[NET_IFNAME_MAX + 1], b[NET_IFNAME_MAX + 1];
        assert_int_equal(net_ifname(NET_IFNAME_VETH, "build-runner-0001", a), 1);
        assert_int_equal(net_ifname(NET_IFNAME_VETH, "build-runner-0002", b), 1);
        assert_string_not_equal(a, b);
        assert_memory_equal(a, b, 11);
        assert_int_equal(net_ifname(NET_IFNAME_VETH, "build-runner-0001", b), 1);
        assert_string_equal(a, b);

        /* Multibyte names: "ve-" + 4 × "ä" is exactly 11 bytes, so nspawn's cut applies as is… */
        assert_int_equal(net_ifname(NET_IFNAME_VETH, "ääääääääää", n), 1);
        assert_string_equal(n, "ve-ääää0u9C");
        /* …while "ve-a" + "éééé…" would be cut inside the fourth "é": the cut moves before it. */
        assert_int_equal(net_ifname(NET_IFNAME_VETH, "aéééééééééé", n), 1);
        assert_string_equal(n, "ve-aéééHA7T");
        assert_int_equal(strlen(n), 14);
        assert_true(net_ifname_is_valid(n));

        /* Every result is a valid interface name. */
        const char *names[] = {"x", "averyveryverylongmachinename", "ääääääääää", "日本語のマシン名前です"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                for (NetIfnameKind k = NET_IFNAME_VETH; k <= NET_IFNAME_IPVLAN; k++) {
                        assert_true(net_ifname(k, names[i], n) >= 0);
                        assert_true(net_ifname_is_valid(n));
                        assert_true(strlen(n) <= NET_IFNAME_MAX);
                }
        assert_int_equal(net_ifname(NET_IFNAME_MACVLAN, "eth0", n), 0);
        assert_string_equal(n, "mv-eth0");
        assert_int_equal(net_ifname(NET_IFNAME_IPVLAN, "enp0s31f6", n), 0);
        assert_string_equal(n, "iv-enp0s31f6");
        assert_int_equal(net_ifname(NET_IFNAME_VETH, "", n), -EINVAL);
}

static void test_names_valid(void **state) {
        assert_true(net_ifname_is_valid("ve-x"));
        assert_false(net_ifname_is_valid(""));
        assert_false(net_ifname_is_valid("a/b"));
        assert_false(net_ifname_is_valid("a:b"));
        assert_false(net_ifname_is_valid("a b"));
        assert_false(net_ifname_is_valid(".."));
        assert_false(net_ifname_is_valid("0123456789abcdef"));
        assert_true(net_ifname_is_valid("0123456789abcde"));

        assert_true(net_machine_name_is_valid("web-1"));
        assert_true(net_machine_name_is_valid("日本"));
        assert_false(net_machine_name_is_valid(""));
        assert_false(net_machine_name_is_valid(".hidden"));
        assert_false(net_machine_name_is_valid("a/b"));
        assert_false(net_machine_name_is_valid("a\"b"));
        assert_false(net_machine_name_is_valid("a\\b"));
        assert_false(net_machine_name_is_valid("a\nb"));
        char l[NET_MACHINE_NAME_MAX + 2];
        memset(l, 'a', sizeof(l) - 1);
        l[NET_MACHINE_NAME_MAX] = 0;
        assert_true(net_machine_name_is_valid(l));
        l[NET_MACHINE_NAME_MAX] = 'a';
        l[NET_MACHINE_NAME_MAX + 1] = 0;
        assert_false(net_machine_name_is_valid(l)); /* limit + 1 */
}

static void test_mac(void **state) {
        uint8_t a[6], b[6], c[6];
        assert_int_equal(net_generate_mac("m1", NET_MAC_VETH_HOST, 0, a), 0);
        assert_int_equal(net_generate_mac("m1", NET_MAC_VETH_CONTAINER, 0, b), 0);
        assert_int_equal(net_generate_mac("m1", NET_MAC_VETH_HOST, 0, c), 0);
        assert_memory_equal(a, c, 6);               /* stable */
        assert_memory_not_equal(a, b, 6);           /* per key */
        assert_true((a[0] & 1) == 0 && (a[0] & 2)); /* unicast, locally administered */
        assert_int_equal(net_generate_mac("m2", NET_MAC_VETH_HOST, 0, c), 0);
        assert_memory_not_equal(a, c, 6); /* per machine */
        assert_int_equal(net_generate_mac("m1", NET_MAC_MACVLAN, 1, c), 0);
        assert_int_equal(net_generate_mac("m1", NET_MAC_MACVLAN, 2, b), 0);
        assert_memory_not_equal(b, c, 6); /* per index */
}

static void test_port_parse(void **state) {
        NetPortForward p;
        char b[NET_PORT_FORWARD_STRING_MAX];
        assert_int_equal(net_port_forward_parse("8080", &p, NULL), 0);
        assert_string_equal(net_port_forward_to_string(&p, b), "tcp:8080:8080");
        assert_int_equal(net_port_forward_parse("8080:80", &p, NULL), 0);
        assert_string_equal(net_port_forward_to_string(&p, b), "tcp:8080:80");
        assert_int_equal(net_port_forward_parse("udp:53", &p, NULL), 0);
        assert_string_equal(net_port_forward_to_string(&p, b), "udp:53:53");
        assert_int_equal(net_port_forward_parse("tcp:1:65535", &p, NULL), 0);
        assert_int_equal(p.protocol, IPPROTO_TCP);
        assert_int_equal(p.host_port, 1);
        assert_int_equal(p.container_port, 65535);

        const char *bad[] = {"", "0", "65536", "80:0", "sctp:80", "tcp:", "tcp:80:", ":80", "80:81:82", "8o", "-1",
                "+80", " 80", "80 ", "udp:99999999999999999999", "tcp:0x50"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Diag d = DIAG_INIT;
                assert_int_equal(net_port_forward_parse(bad[i], &p, &d), -EINVAL);
                assert_non_null(d.cause); /* every refusal says why */
                diag_done(&d);
        }
}

static void test_prefix(void **state) {
        NetPrefix a, b;
        char s[NET_PREFIX_STRING_MAX];
        assert_int_equal(net_prefix_parse("10.0.0.0/8", &a), 0);
        assert_int_equal(net_prefix_parse("10.200.3.4/31", &b), 0);
        assert_true(net_prefix_overlaps(&a, &b));
        assert_int_equal(net_prefix_parse("11.0.0.0/31", &b), 0);
        assert_false(net_prefix_overlaps(&a, &b));
        assert_int_equal(net_prefix_parse("fd00::1/64", &b), 0);
        assert_false(net_prefix_overlaps(&a, &b)); /* families differ */
        assert_string_equal(net_prefix_to_string(&b, s), "fd00::1/64");
        assert_int_equal(net_prefix_parse("1.2.3.4", &a), 0);
        assert_int_equal(a.prefixlen, 32);
        assert_int_equal(net_prefix_parse("1.2.3.4/33", &a), -EINVAL);
        assert_int_equal(net_prefix_parse("1.2.3/8", &a), -EINVAL);
        assert_int_equal(net_prefix_parse("::/129", &a), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_siphash24),
                cmocka_unit_test(test_shorten),
                cmocka_unit_test(test_names_valid),
                cmocka_unit_test(test_mac),
                cmocka_unit_test(test_port_parse),
                cmocka_unit_test(test_prefix),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
