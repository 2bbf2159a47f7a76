/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* src/net as the spawn engine uses it: net_setup(), net_teardown(), net_sweep(), with the pool,
 * nftables, dnsmasq and the ::1 forwarder, in network namespaces of the test's own: the test's
 * namespace is "the host", netns_new() ones are containers and "outside" hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <nftables/libnftables.h>

#include "net-helpers.h"
#include "net-state.h"
#include "rm-rf.h"
#include "util.h"

static char runtime_dir[64];

static void runtime_dir_make(void) {
        strcpy(runtime_dir, "/tmp/test-net-setup.XXXXXX");
        CHECK(mkdtemp(runtime_dir));
        CHECK(chmod(runtime_dir, 0755) == 0); /* dnsmasq reads its files as nobody */
}

/* Tidy only: the directory is on the test's own /tmp (net-helpers.h), which goes with it anyway. */
static void runtime_dir_remove(void) {
        (void) rm_rf_at(AT_FDCWD, runtime_dir);
}

static NetOptions options(void) {
        NetOptions o = NET_OPTIONS_INIT;
        o.runtime_dir = runtime_dir;
        return o;
}

/* nft's text output for a command ("" on failure). */
static char *nft_list(const char *cmd) {
        struct nft_ctx *c = nft_ctx_new(NFT_CTX_DEFAULT);
        CHECK(c);
        nft_ctx_buffer_output(c);
        nft_ctx_buffer_error(c);
        char *s = strdup(nft_run_cmd_from_buffer(c, cmd) == 0 ? nft_ctx_get_output_buffer(c) : "");
        nft_ctx_free(c);
        return s;
}

static void nft_cmd(const char *cmd) {
        struct nft_ctx *c = nft_ctx_new(NFT_CTX_DEFAULT);
        CHECK(c);
        nft_ctx_buffer_error(c);
        if (nft_run_cmd_from_buffer(c, cmd) != 0) {
                fprintf(stderr, "nft: %s", nft_ctx_get_error_buffer(c));
                _exit(1);
        }
        nft_ctx_free(c);
}

static bool cowpen_table_exists(void) {
        _cleanup_free_ char *s = nft_list("list tables");
        return strstr(s, "table inet cowpen") != NULL;
}

static bool link_exists(int netns_fd, const char *name) {
        _cleanup_rtnl_ Rtnl *nl = NULL;
        CHECK_R(rtnl_open(netns_fd, &nl));
        return rtnl_link_index(nl, name) > 0;
}

/* A released veth goes with its namespace, in the background: up to 5 s. */
static bool link_gone(int netns_fd, const char *name) {
        for (unsigned i = 0; i < 500; i++) {
                if (!link_exists(netns_fd, name))
                        return true;
                usleep(10 * 1000);
        }
        return false;
}

static int records(const char *sub) {
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", runtime_dir, sub);
        DIR *d = opendir(p);
        if (!d)
                return 0;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

/* One DNS A query over UDP from netns_fd to server; the first answer's address ("" when none). */
static void dns_query(int netns_fd, const char *server, const char *name, char ret[static 64]) {
        uint8_t q[512] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
        size_t n = 12;
        for (const char *p = name; *p;) {
                size_t l = strcspn(p, ".");
                q[n++] = (uint8_t) l;
                memcpy(q + n, p, l);
                n += l;
                p += l + (p[l] == '.');
        }
        q[n++] = 0;
        q[n++] = 0, q[n++] = 1, q[n++] = 0, q[n++] = 1; /* A, IN */
        int orig = netns_enter(netns_fd);
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        netns_leave(orig);
        CHECK(s >= 0);
        struct timeval tv = {.tv_sec = 3};
        CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
        NetPrefix a = P(server);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53), .sin_addr = a.addr.in};
        CHECK(sendto(s, q, n, 0, (struct sockaddr *) &sa, sizeof(sa)) == (ssize_t) n);
        uint8_t r[512];
        ssize_t k = recv(s, r, sizeof(r), 0);
        if (getenv("NET_TEST_DEBUG"))
                fprintf(stderr, "dns %s@%s: %zd bytes, rcode %d, answers %d (%s)\n", name, server, k,
                        k > 3 ? r[3] & 15 : -1, k > 7 ? r[6] << 8 | r[7] : -1, k < 0 ? strerror(errno) : "");
        close(s);
        ret[0] = 0;
        /* An answer of ours is the question echoed and one A record at the end. */
        if (k < 16 || (r[3] & 0x0f) != 0 || (r[6] << 8 | r[7]) < 1)
                return;
        inet_ntop(AF_INET, r + k - 4, ret, 64);
}

/* dns_query() until it answers expected ("" for no answer): dnsmasq re-reads its hosts file on
 * SIGHUP, which it handles a moment after setup returned. */
static bool dns_query_wait(int netns_fd, const char *server, const char *name, const char *expected) {
        char r[64];
        for (unsigned t = 0; t < 40; t++) {
                dns_query(netns_fd, server, name, r);
                if (streq(r, expected))
                        return true;
                usleep(50 * 1000);
        }
        fprintf(stderr, "dns %s@%s: '%s', expected '%s'\n", name, server, r, expected);
        return false;
}

/* busybox udhcpc in netns_fd on ifname; the leased address ("" when none), or NULL when there is
 * no busybox here. */
static const char *dhcp_lease(int netns_fd, const char *ifname, char ret[static 64]) {
        if (access("/bin/busybox", X_OK) < 0)
                return NULL;
        int p[2];
        CHECK(pipe2(p, O_CLOEXEC) == 0);
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                CHECK(setns(netns_fd, CLONE_NEWNET) == 0);
                dup2(p[1], 1);
                dup2(p[1], 2);
                execl("/bin/busybox", "udhcpc", "-i", ifname, "-n", "-q", "-f", "-s", "/bin/true", "-t", "4", "-T",
                        "1", (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        char out[4096];
        size_t got = 0;
        ssize_t k;
        while (got < sizeof(out) - 1 && (k = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
                got += (size_t) k;
        out[got] = 0;
        close(p[0]);
        CHECK(waitpid(pid, NULL, 0) == pid);
        ret[0] = 0;
        const char *l = strstr(out, "lease of ");
        if (l)
                sscanf(l, "lease of %63s", ret);
        return ret;
}

/* A process that is gone: its pid and start time, as a killed owner leaves them. */
static pid_t owner_child(void) {
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                pause();
                _exit(0);
        }
        return pid;
}

/* -n: host0 gets an address and a default route, reaches the host side both ways; DNS answers
 * the machine's name, DHCP leases it the same address; teardown leaves nothing. */
static void body_veth(void) {
        runtime_dir_make();
        _cleanup_close_ int c = netns_new();
        _cleanup_diag_ Diag d = DIAG_INIT;
        NetOptions o = options();
        o.veth = true;
        NetSetup *s = NULL;
        CHECK_D(net_setup("web", c, &o, &s, &d), &d);
        const NetSetupInfo *i = net_setup_info(s);
        char a[NET_PREFIX_STRING_MAX], h[NET_PREFIX_STRING_MAX];
        CHECK(streq(i->host_ifname, "ve-web"));
        CHECK(streq(net_prefix_to_string(&i->host4, h), "10.0.0.0/31"));
        CHECK(streq(net_prefix_to_string(&i->container4, a), "10.0.0.1/31"));
        CHECK(streq(net_prefix_to_string(&i->container6, a), "fd63:6f77:7065::a00:1/127"));
        CHECK(link_exists(-1, "ve-web"));
        CHECK(link_exists(c, "host0"));
        CHECK(records("machines") == 1);
        CHECK(cowpen_table_exists());

        pid_t srv = tcp_server(c, 80);
        char buf[128];
        CHECK_R(tcp_fetch(-1, "10.0.0.1", 80, buf, sizeof(buf), 5000));
        CHECK(streq(buf, "hello from 10.0.0.0\n"));
        CHECK_R(tcp_fetch(-1, "fd63:6f77:7065::a00:1", 80, buf, sizeof(buf), 5000));
        pid_t hsrv = tcp_server(-1, 81);
        CHECK_R(tcp_fetch(c, "10.0.0.0", 81, buf, sizeof(buf), 5000)); /* via host0's address */
        CHECK(streq(buf, "hello from 10.0.0.1\n"));
        kill_wait(hsrv);
        kill_wait(srv);

        CHECK(streq(net_setup_resolv_conf(s), "# cowpen: the dnsmasq on the host side of this container's network\n"
                                              "nameserver 10.0.0.0\n"));
        char r[64];
        CHECK(dns_query_wait(c, "10.0.0.0", "web", "10.0.0.1"));
        if (dhcp_lease(c, "host0", r)) {
                CHECK(streq(r, "10.0.0.1"));
        } else
                fprintf(stderr, "no /bin/busybox: DHCP not tested\n");

        /* The same machine cannot have two networks. */
        _cleanup_close_ int c2 = netns_new();
        NetSetup *s2 = NULL;
        CHECK(net_setup("web", c2, &o, &s2, &d) == -EBUSY);
        diag_clear_failure(&d);

        NetMachineState m;
        NetState st;
        CHECK_R(net_state_open(runtime_dir, &st, NULL));
        CHECK_R(net_machine_load(&st, "web", &m));
        net_state_close(&st);
        CHECK(m.dnsmasq.pid > 0 && net_process_alive(m.dnsmasq.pid, m.dnsmasq.starttime) == 1);

        CHECK_D(net_teardown(s, &d), &d);
        /* ve-web goes with the namespace, once nobody holds it. */
        c = safe_close(c);
        CHECK(link_gone(-1, "ve-web"));
        CHECK(records("machines") == 0);
        CHECK(records("dnsmasq") == 0);
        CHECK(!cowpen_table_exists());
        CHECK(net_process_alive(m.dnsmasq.pid, m.dnsmasq.starttime) == 0);
        runtime_dir_remove();
}

static void test_veth(void **state) {
        net_test_run(body_veth);
}

/* The pool avoids the host's addresses and routes; a small pool runs out with a clear error; a
 * lease whose owner is gone is reclaimed (and what it named removed). */
static void body_pool(void) {
        runtime_dir_make();
        _cleanup_rtnl_ Rtnl *nl = NULL;
        _cleanup_diag_ Diag d = DIAG_INIT;
        CHECK_R(rtnl_open(-1, &nl));
        plain_link_add(nl, "eth0");
        CHECK_R(rtnl_link_set_up(nl, "eth0", true, NULL));
        NetPrefix a = P("10.0.0.7/24"), dst = P("10.0.1.0/25"), gw = P("10.0.0.1");
        CHECK_D(rtnl_addr_add(nl, "eth0", &a, &d), &d);
        CHECK_D(rtnl_route_add(nl, "eth0", &dst, &gw, &d), &d);
        CHECK_D(rtnl_route_add(nl, "eth0", NULL, &gw, &d), &d); /* a default route blocks nothing */

        _cleanup_close_ int c1 = netns_new(), c2 = netns_new(), c3 = netns_new();
        NetOptions o = options();
        o.veth = true;
        o.dns = false;
        NetSetup *s1 = NULL, *s2 = NULL, *s3 = NULL;
        CHECK_D(net_setup("one", c1, &o, &s1, &d), &d);
        char b[NET_PREFIX_STRING_MAX];
        CHECK(streq(net_prefix_to_string(&net_setup_info(s1)->host4, b), "10.0.1.128/31"));
        CHECK_D(net_setup("two", c2, &o, &s2, &d), &d);
        CHECK(streq(net_prefix_to_string(&net_setup_info(s2)->host4, b), "10.0.1.130/31"));
        CHECK_D(net_teardown(s2, &d), &d);
        CHECK_D(net_teardown(s1, &d), &d);

        /* A pool of one /31. */
        NetPool pool = {.n_ranges = 1};
        pool.ranges[0] = P("10.99.0.0/31");
        o.pool = &pool;
        pid_t owner = owner_child();
        o.owner = owner;
        CHECK_D(net_setup("one", c1, &o, &s1, &d), &d);
        CHECK(streq(net_prefix_to_string(&net_setup_info(s1)->container4, b), "10.99.0.1/31"));
        o.owner = 0;
        CHECK(net_setup("two", c2, &o, &s2, &d) == -EADDRNOTAVAIL);
        CHECK(strstr(d.cause, "address pool exhausted"));
        diag_clear_failure(&d);
        CHECK(!link_exists(-1, "ve-two")); /* nothing left of the failed one */
        CHECK(records("machines") == 1);

        /* The owner of "one" dies (kill -9): its lease is taken over by the next run. */
        kill_wait(owner);
        CHECK_D(net_setup("three", c3, &o, &s3, &d), &d);
        CHECK(streq(net_prefix_to_string(&net_setup_info(s3)->container4, b), "10.99.0.1/31"));
        CHECK(!link_exists(-1, "ve-one"));
        CHECK(records("machines") == 1);
        net_setup_free(s1); /* its owner's: gone */
        CHECK_D(net_teardown(s3, &d), &d);
        CHECK(records("machines") == 0);
        runtime_dir_remove();
}

static void test_pool(void **state) {
        net_test_run(body_pool);
}

/* -p 8080:80 with a server in the container: reachable from another host at the host's IPv4 and
 * IPv6 addresses, and from the host itself at its addresses, 127.0.0.1 and ::1; the container's
 * outgoing traffic is masqueraded; another table is left alone; a second container cannot forward
 * the same port; nothing is left afterwards. */
static void body_ports(void) {
        runtime_dir_make();
        _cleanup_close_ int c = netns_new(), out = netns_new();
        _cleanup_rtnl_ Rtnl *nl = NULL, *ol = NULL;
        _cleanup_diag_ Diag d = DIAG_INIT;
        CHECK_R(rtnl_open(-1, &nl));
        CHECK_R(rtnl_open(out, &ol));
        /* The "outside" host on a link of its own. */
        CHECK_D(rtnl_veth_add(nl, "eth0", NULL, "eth0", NULL, out, &d), &d);
        NetPrefix h4 = P("192.168.50.1/24"), o4 = P("192.168.50.2/24"), h6 = P("fd50::1/64"), o6 = P("fd50::2/64");
        CHECK_D(rtnl_addr_add(nl, "eth0", &h4, &d), &d);
        CHECK_D(rtnl_addr_add(nl, "eth0", &h6, &d), &d);
        CHECK_D(rtnl_link_set_up(nl, "eth0", true, &d), &d);
        CHECK_D(rtnl_addr_add(ol, "eth0", &o4, &d), &d);
        CHECK_D(rtnl_addr_add(ol, "eth0", &o6, &d), &d);
        CHECK_D(rtnl_link_set_up(ol, "eth0", true, &d), &d);

        /* Someone else's table, which must stay as it is. */
        nft_cmd("add table inet other\n"
                "add chain inet other input { type filter hook input priority 0; policy accept; }\n"
                "add rule inet other input tcp dport 9999 counter accept comment \"theirs\"\n");
        _cleanup_free_ char *other_before = nft_list("list table inet other");

        NetPortForward ports[2];
        CHECK_R(net_port_forward_parse("8080:80", &ports[0], NULL));
        CHECK_R(net_port_forward_parse("udp:5353", &ports[1], NULL));
        NetOptions o = options();
        o.veth = true;
        o.dns = false;
        o.ports = ports;
        o.n_ports = 2;
        o.ipv6_forwarding = true;
        NetSetup *s = NULL;
        CHECK_D(net_setup("srv", c, &o, &s, &d), &d);
        pid_t srv = tcp_server(c, 80);
        char buf[128];

        /* From another host (DNAT only: the container sees the real client). */
        CHECK_R(tcp_fetch(out, "192.168.50.1", 8080, buf, sizeof(buf), 5000));
        CHECK(streq(buf, "hello from 192.168.50.2\n"));
        CHECK_R(tcp_fetch(out, "fd50::1", 8080, buf, sizeof(buf), 5000));
        CHECK(streq(buf, "hello from fd50::2\n"));
        /* From the host itself. */
        CHECK_R(tcp_fetch(-1, "192.168.50.1", 8080, buf, sizeof(buf), 5000));
        CHECK_R(tcp_fetch(-1, "fd50::1", 8080, buf, sizeof(buf), 5000));
        CHECK_R(tcp_fetch(-1, "127.0.0.1", 8080, buf, sizeof(buf), 5000));
        CHECK(streq(buf, "hello from 10.0.0.0\n")); /* masqueraded: 127/8 cannot be answered */
        CHECK_R(tcp_fetch(-1, "::1", 8080, buf, sizeof(buf), 5000));
        CHECK(startswith(buf, "hello from "));

        /* Going out: masqueraded behind the host's address. */
        pid_t osrv = tcp_server(out, 9000);
        CHECK_R(tcp_fetch(c, "192.168.50.2", 9000, buf, sizeof(buf), 5000));
        CHECK(streq(buf, "hello from 192.168.50.1\n"));
        /* And the guard: the container does not reach the host's loopback through route_localnet. */
        pid_t lsrv = tcp_server(-1, 7070);
        CHECK(tcp_fetch(c, "127.0.0.1", 7070, buf, sizeof(buf), 1000) < 0 || !strstr(buf, "hello"));
        kill_wait(lsrv);

        /* The port is taken. */
        _cleanup_close_ int c2 = netns_new();
        NetSetup *s2 = NULL;
        o.n_ports = 1;
        CHECK(net_setup("srv2", c2, &o, &s2, &d) == -EADDRINUSE);
        CHECK(streq(d.object, "srv"));
        CHECK(strstr(d.cause, "tcp port 8080"));
        diag_clear_failure(&d);
        CHECK(!link_exists(-1, "ve-srv2"));

        _cleanup_free_ char *rules = nft_list("list table inet cowpen");
        CHECK(strstr(rules, "comment \"cowpen machine srv\""));
        CHECK(!strstr(rules, "srv2"));

        CHECK_D(net_teardown(s, &d), &d);
        CHECK(!cowpen_table_exists());
        _cleanup_free_ char *other_after = nft_list("list table inet other");
        CHECK(streq(other_before, other_after));
        CHECK(tcp_fetch(out, "192.168.50.1", 8080, buf, sizeof(buf), 1000) < 0);
        CHECK(tcp_fetch(-1, "::1", 8080, buf, sizeof(buf), 1000) < 0); /* the forwarder is gone */
        kill_wait(osrv);
        kill_wait(srv);
        runtime_dir_remove();
}

static void test_ports(void **state) {
        net_test_run(body_ports);
}

/* Two containers on one zone reach each other by address and by name; the bridge lives while
 * either does and goes with the last. */
static void body_zone(void) {
        runtime_dir_make();
        _cleanup_close_ int c1 = netns_new(), c2 = netns_new();
        _cleanup_diag_ Diag d = DIAG_INIT;
        NetOptions o = options();
        o.zone = "ci";
        NetSetup *s1 = NULL, *s2 = NULL;
        CHECK_D(net_setup("a", c1, &o, &s1, &d), &d);
        CHECK_D(net_setup("b", c2, &o, &s2, &d), &d);
        char b[NET_PREFIX_STRING_MAX];
        CHECK(link_exists(-1, "vz-ci"));
        CHECK(streq(net_setup_info(s1)->host_ifname, "vb-a"));
        CHECK(streq(net_prefix_to_string(&net_setup_info(s1)->host4, b), "10.0.0.1/24"));
        CHECK(streq(net_prefix_to_string(&net_setup_info(s1)->container4, b), "10.0.0.2/24"));
        CHECK(streq(net_prefix_to_string(&net_setup_info(s2)->container4, b), "10.0.0.3/24"));
        CHECK(streq(net_setup_resolv_conf(s2), "# cowpen: the dnsmasq on the host side of this container's network\n"
                                               "nameserver 10.0.0.1\n"));

        pid_t srv = tcp_server(c2, 80);
        char buf[128];
        CHECK_R(tcp_fetch(c1, "10.0.0.3", 80, buf, sizeof(buf), 5000));
        CHECK(streq(buf, "hello from 10.0.0.2\n"));
        kill_wait(srv);
        char r[64];
        CHECK(dns_query_wait(c1, "10.0.0.1", "b", "10.0.0.3"));
        CHECK(dns_query_wait(c2, "10.0.0.1", "a", "10.0.0.2"));
        if (dhcp_lease(c2, "host0", r))
                CHECK(streq(r, "10.0.0.3"));

        CHECK_D(net_teardown(s1, &d), &d);
        CHECK(link_exists(-1, "vz-ci"));
        CHECK(dns_query_wait(c2, "10.0.0.1", "a", "")); /* gone from the zone's names */
        CHECK_D(net_teardown(s2, &d), &d);
        CHECK(!link_exists(-1, "vz-ci"));
        CHECK(records("zones") == 0 && records("machines") == 0 && records("dnsmasq") == 0);
        CHECK(!cowpen_table_exists());
        runtime_dir_remove();
}

static void test_zone(void **state) {
        net_test_run(body_zone);
}

/* kill -9 of the owners: net_sweep() removes links, rules, dnsmasq, leases and the zone. */
static void body_sweep(void) {
        runtime_dir_make();
        _cleanup_close_ int c1 = netns_new(), c2 = netns_new(), c3 = netns_new();
        _cleanup_diag_ Diag d = DIAG_INIT;
        pid_t owner = owner_child();
        NetPortForward port;
        CHECK_R(net_port_forward_parse("8080:80", &port, NULL));
        NetOptions o = options();
        o.owner = owner;
        o.veth = true;
        o.ports = &port;
        o.n_ports = 1;
        NetSetup *s1 = NULL, *s2 = NULL, *s3 = NULL;
        CHECK_D(net_setup("v", c1, &o, &s1, &d), &d);
        o.veth = false;
        o.n_ports = 0;
        o.zone = "z";
        CHECK_D(net_setup("z1", c2, &o, &s2, &d), &d);
        CHECK_D(net_setup("z2", c3, &o, &s3, &d), &d);
        NetState st;
        NetMachineState m;
        NetZoneState z;
        CHECK_R(net_state_open(runtime_dir, &st, NULL));
        CHECK_R(net_machine_load(&st, "v", &m));
        CHECK_R(net_zone_load(&st, "z", &z));
        net_state_close(&st);
        CHECK(m.forwarder.pid > 0);

        /* Nothing to sweep while the owner lives. */
        CHECK(net_sweep(runtime_dir, &d) == 0);
        CHECK(link_exists(-1, "ve-v") && link_exists(-1, "vz-z"));

        kill_wait(owner);
        net_setup_free(s1);
        net_setup_free(s2);
        net_setup_free(s3);
        int n = net_sweep(runtime_dir, &d);
        CHECK_D(n, &d);
        CHECK(n == 4); /* three machines and the zone */
        CHECK(!link_exists(-1, "ve-v") && !link_exists(-1, "vb-z1") && !link_exists(-1, "vz-z"));
        CHECK(!cowpen_table_exists());
        CHECK(records("machines") == 0 && records("zones") == 0 && records("dnsmasq") == 0);
        CHECK(net_process_alive(m.dnsmasq.pid, m.dnsmasq.starttime) == 0);
        CHECK(net_process_alive(z.dnsmasq.pid, z.dnsmasq.starttime) == 0);
        (void) waitpid(m.forwarder.pid, NULL, WNOHANG);
        CHECK(net_process_alive(m.forwarder.pid, m.forwarder.starttime) == 0);
        CHECK(net_sweep(runtime_dir, &d) == 0);
        runtime_dir_remove();
}

static void test_sweep(void **state) {
        net_test_run(body_sweep);
}

/* The other link kinds through net_setup(), and their errors, with nothing left behind. */
static void body_others(void) {
        runtime_dir_make();
        _cleanup_close_ int c = netns_new();
        _cleanup_rtnl_ Rtnl *nl = NULL, *cl = NULL;
        _cleanup_diag_ Diag d = DIAG_INIT;
        CHECK_R(rtnl_open(-1, &nl));
        CHECK_R(rtnl_open(c, &cl));
        plain_link_add(nl, "eth1");
        plain_link_add(nl, "eth2");
        CHECK_R(rtnl_bridge_ensure(nl, "br0", NULL));
        NetSetup *s = NULL;

        /* --network-bridge on a missing bridge, and on something that is not one. */
        NetOptions o = options();
        o.bridge = "nosuchbr";
        CHECK(net_setup("m", c, &o, &s, &d) == -ENODEV);
        CHECK(streq(d.object, "nosuchbr"));
        diag_clear_failure(&d);
        o.bridge = "eth1";
        CHECK(net_setup("m", c, &o, &s, &d) == -ENOTTY);
        CHECK(strstr(d.cause, "not a bridge"));
        diag_clear_failure(&d);
        CHECK(!link_exists(-1, "vb-m") && records("machines") == 0);

        /* ipvlan: where the kernel lacks it, a clear error and nothing left. */
        o = options();
        char *ipv[] = {(char *) "eth1", NULL};
        o.ipvlan = ipv;
        int r = net_setup("m", c, &o, &s, &d);
        if (r == -EOPNOTSUPP) {
                CHECK(strstr(d.cause, "kernel lacks ipvlan support"));
                diag_clear_failure(&d);
                CHECK(records("machines") == 0);
        } else {
                CHECK_D(r, &d);
                CHECK(rtnl_link_index(cl, "iv-eth1") > 0);
                CHECK_D(net_teardown(s, &d), &d);
        }

        /* Bridge, macvlan, a moved interface and an extra veth at once. */
        o = options();
        o.bridge = "br0";
        char *mv[] = {(char *) "eth1", NULL};
        char *moved[] = {(char *) "eth2", (char *) "inner0", NULL};
        char *extra[] = {(char *) "vx-host", (char *) "vx-inner", NULL};
        o.macvlan = mv;
        o.interfaces = moved;
        o.veth_extra = extra;
        CHECK_D(net_setup("m", c, &o, &s, &d), &d);
        CHECK(net_setup_resolv_conf(s) == NULL);
        RtnlLink l;
        CHECK_D(rtnl_link_get(nl, "vb-m", &l, &d), &d);
        CHECK(l.master == rtnl_link_index(nl, "br0"));
        CHECK(rtnl_link_index(cl, "host0") > 0);
        CHECK(rtnl_link_index(cl, "mv-eth1") > 0);
        CHECK(rtnl_link_index(cl, "inner0") > 0);
        CHECK(rtnl_link_index(nl, "eth2") == -ENODEV);
        CHECK(rtnl_link_index(cl, "vx-inner") > 0 && rtnl_link_index(nl, "vx-host") > 0);
        CHECK_D(net_teardown(s, &d), &d);
        CHECK(rtnl_link_index(nl, "eth2") > 0); /* moved back, under its own name */
        /* The veths go with the namespace, once nobody holds it. */
        rtnl_close(cl);
        cl = NULL;
        c = safe_close(c);
        CHECK(link_gone(-1, "vb-m") && link_gone(-1, "vx-host"));
        c = netns_new();
        CHECK(rtnl_link_index(nl, "br0") > 0); /* the user's bridge stays */
        CHECK(records("machines") == 0);

        /* Invalid options. */
        o = options();
        o.veth = true;
        o.address = NET_ADDRESS_NONE;
        NetPortForward p = {IPPROTO_TCP, 80, 80};
        o.ports = &p;
        o.n_ports = 1;
        CHECK(net_setup("m", c, &o, &s, &d) == -EINVAL);
        diag_clear_failure(&d);
        o.n_ports = 0;
        CHECK(net_setup("bad/name", c, &o, &s, &d) == -EINVAL);
        diag_clear_failure(&d);
        /* --network-address=none: a link and no address. */
        CHECK_D(net_setup("m", c, &o, &s, &d), &d);
        CHECK(net_setup_info(s)->container4.family == 0);
        CHECK(net_setup_resolv_conf(s) == NULL);
        CHECK_D(net_teardown(s, &d), &d);

        /* A released veth whose namespace someone still holds (c, here): the next setup of that
         * name waits for it, then deletes it itself; a namespace that persists gets its veth
         * deleted at teardown. */
        CHECK(link_exists(-1, "ve-m"));
        CHECK(records("released") == 1);
        _cleanup_close_ int c4 = netns_new();
        CHECK_D(net_setup("m", c4, &o, &s, &d), &d);
        CHECK(link_exists(c4, "host0") && !link_exists(c, "host0"));
        CHECK(records("released") == 0);
        CHECK_D(net_teardown(s, &d), &d);
        _cleanup_close_ int c5 = netns_new();
        o.netns_persists = true;
        CHECK_D(net_setup("p", c5, &o, &s, &d), &d);
        CHECK_D(net_teardown(s, &d), &d);
        CHECK(!link_exists(-1, "ve-p") && !link_exists(c5, "host0"));
        runtime_dir_remove();
}

static void test_others(void **state) {
        net_test_run(body_others);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_veth),
                cmocka_unit_test(test_pool),
                cmocka_unit_test(test_ports),
                cmocka_unit_test(test_zone),
                cmocka_unit_test(test_sweep),
                cmocka_unit_test(test_others),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
