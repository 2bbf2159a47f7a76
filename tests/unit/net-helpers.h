/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the tests/unit/test-net-*.c (not a test itself). Each test body runs in a forked child
 * that first calls unshare(CLONE_NEWNET), so the host's network namespace is never touched and
 * whatever a test makes (links, addresses, routes, nft rules, sysctls) goes away when the child
 * exits, also when it fails. Further namespaces ("container", "outside") are kept as fds only
 * (nothing is bound under /run/netns). cmocka's assertions must not run in the child (their
 * longjmp would go on with the next test there), so the child checks with CHECK() and exits 1 on
 * failure, 77 for a skip; the parent turns that into pass, fail or skip(). */

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net-netlink.h"

#define NET_TEST_SKIP 77

#define CHECK(expr)                                                                                                   \
        do {                                                                                                          \
                if (!(expr)) {                                                                                        \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);                      \
                        _exit(1);                                                                                     \
                }                                                                                                     \
        } while (0)

#define CHECK_R(expr)                                                                                                 \
        do {                                                                                                          \
                int _r = (expr);                                                                                      \
                if (_r < 0) {                                                                                         \
                        fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr, strerror(-_r));                 \
                        _exit(1);                                                                                     \
                }                                                                                                     \
        } while (0)

/* A check on a call that takes a Diag: prints its message on failure. */
#define CHECK_D(expr, d)                                                                                              \
        do {                                                                                                          \
                int _r = (expr);                                                                                      \
                if (_r < 0) {                                                                                         \
                        const char *_m = diag_message(d);                                                             \
                        fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #expr, strerror(-_r),              \
                                _m ? _m : "");                                                                        \
                        _exit(1);                                                                                     \
                }                                                                                                     \
        } while (0)

#define SKIP_CHILD(...)                                                                                               \
        do {                                                                                                          \
                fprintf(stderr, "skipped: " __VA_ARGS__);                                                             \
                fprintf(stderr, "\n");                                                                                \
                _exit(NET_TEST_SKIP);                                                                                 \
        } while (0)

/* Runs body() in a child of its own network namespace (lo up), and of its own PID and mount
 * namespaces with a /proc and a /tmp of its own: whatever the body starts (dnsmasq daemons, forwarders,
 * servers) is killed with it, whatever happens. */
static inline void net_test_run(void (*body)(void)) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID) < 0)
                        SKIP_CHILD("cannot make network, mount and PID namespaces: %s", strerror(errno));
                CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
                /* A /tmp of its own: the runtime directories go with the test, failed or not. */
                CHECK(mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") == 0);
                pid_t init = fork();
                CHECK(init >= 0);
                if (init == 0) {
                        CHECK(mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) == 0);
                        Rtnl *nl = NULL;
                        CHECK_R(rtnl_open(-1, &nl));
                        CHECK_R(rtnl_link_set_up(nl, "lo", true, NULL));
                        rtnl_close(nl);
                        body();
                        fflush(NULL);
                        _exit(0);
                }
                int st;
                CHECK(waitpid(init, &st, 0) == init);
                _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == NET_TEST_SKIP)
                skip();
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* A new network namespace with lo up, as an fd; the caller stays where it is. */
static inline int netns_new(void) {
        int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        CHECK(orig >= 0);
        CHECK(unshare(CLONE_NEWNET) == 0);
        int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(setns(orig, CLONE_NEWNET) == 0);
        close(orig);
        Rtnl *nl = NULL;
        CHECK_R(rtnl_open(fd, &nl));
        CHECK_R(rtnl_link_set_up(nl, "lo", true, NULL));
        rtnl_close(nl);
        return fd;
}

static inline int netns_enter(int fd) {
        int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        CHECK(orig >= 0);
        CHECK(setns(fd, CLONE_NEWNET) == 0);
        return orig;
}

static inline void netns_leave(int orig) {
        CHECK(setns(orig, CLONE_NEWNET) == 0);
        close(orig);
}

static inline NetPrefix P(const char *s) {
        NetPrefix p;
        CHECK(net_prefix_parse(s, &p) == 0);
        return p;
}

/* A TCP server in netns_fd (< 0: here) on [::]:port (both families), or on addr, that answers each
 * connection with "hello from <peer address>\n". Returns its pid (kill it at the end; it also dies
 * with the test child). */
static inline pid_t tcp_server(int netns_fd, uint16_t port) {
        int orig = netns_fd >= 0 ? netns_enter(netns_fd) : -1;
        int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(s >= 0);
        int zero = 0, one = 1;
        CHECK(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) == 0);
        CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any};
        CHECK(bind(s, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        CHECK(listen(s, 16) == 0);
        if (orig >= 0)
                netns_leave(orig);
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;) {
                        struct sockaddr_in6 peer;
                        socklen_t l = sizeof(peer);
                        int c = accept4(s, (struct sockaddr *) &peer, &l, SOCK_CLOEXEC);
                        if (c < 0)
                                continue;
                        char a[INET6_ADDRSTRLEN], msg[128];
                        inet_ntop(AF_INET6, &peer.sin6_addr, a, sizeof(a));
                        const char *shown = strncmp(a, "::ffff:", 7) == 0 ? a + 7 : a;
                        int n = snprintf(msg, sizeof(msg), "hello from %s\n", shown);
                        (void) !write(c, msg, (size_t) n);
                        close(c);
                }
        }
        close(s);
        return pid;
}

/* One try of tcp_fetch(). */
static inline int tcp_fetch_once(int netns_fd, const char *addr, uint16_t port, char *buf, size_t size, int timeout_ms) {
        int orig = netns_fd >= 0 ? netns_enter(netns_fd) : -1;
        NetPrefix p = P(addr);
        int s = socket(p.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (orig >= 0)
                netns_leave(orig);
        CHECK(s >= 0);
        struct sockaddr_storage ss = {};
        socklen_t sl;
        if (p.family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
                *sin = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = p.addr.in};
                sl = sizeof(*sin);
        } else {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
                *sin6 = (struct sockaddr_in6){
                        .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = p.addr.in6};
                sl = sizeof(*sin6);
        }
        int r = 0;
        if (connect(s, (struct sockaddr *) &ss, sl) < 0 && errno != EINPROGRESS)
                r = -errno;
        size_t got = 0;
        while (r == 0) {
                struct pollfd pfd = {.fd = s, .events = POLLIN};
                int n = poll(&pfd, 1, timeout_ms);
                if (n == 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                ssize_t k = read(s, buf + got, size - 1 - got);
                if (k < 0) {
                        r = errno == EAGAIN ? 0 : -errno;
                        continue;
                }
                if (k == 0)
                        break;
                got += (size_t) k;
                if (got >= size - 1)
                        break;
        }
        buf[got] = 0;
        close(s);
        return r;
}

/* Connects from netns_fd (< 0: here) to addr:port and reads the greeting into buf. Returns 0 or
 * -errno (-ETIMEDOUT after timeout_ms). IPv6 addresses just added are tentative until duplicate
 * address detection ends (about a second, longer on a loaded machine): until then a connection
 * finds no route, so that is tried again within timeout_ms. */
static inline int tcp_fetch(int netns_fd, const char *addr, uint16_t port, char *buf, size_t size, int timeout_ms) {
        int r;
        for (int waited = 0;; waited += 100) {
                r = tcp_fetch_once(netns_fd, addr, port, buf, size, timeout_ms);
                if ((r != -EHOSTUNREACH && r != -ENETUNREACH && r != -EADDRNOTAVAIL) || waited >= timeout_ms)
                        return r;
                usleep(100 * 1000);
        }
}

/* A plain interface to stand for a physical one: a dummy where the kernel has it, else an ifb,
 * else a veth whose peer ("NAME-p", shortened) stays here. */
static inline void plain_link_add(Rtnl *nl, const char *name) {
        static const char *const kinds[] = {"dummy", "ifb"};
        for (size_t i = 0; i < 2; i++) {
                Diag d = DIAG_INIT;
                int r = rtnl_link_add(nl, name, kinds[i], NULL, &d);
                diag_done(&d);
                if (r >= 0)
                        return;
                CHECK(r == -EOPNOTSUPP);
        }
        char peer[NET_IFNAME_MAX + 1];
        snprintf(peer, sizeof(peer), "%.10s-p", name);
        CHECK_R(rtnl_veth_add(nl, name, NULL, peer, NULL, -1, NULL));
}

static inline void kill_wait(pid_t pid) {
        if (pid > 0) {
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
        }
}
