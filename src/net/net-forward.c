/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ::1 forwarder (see net-forward.h). Input: connections from the host's own processes (anyone
 * on the host may connect); their bytes are relayed, never parsed. A named limit on connections
 * (NET_FORWARD_CONNECTIONS_MAX): beyond it, new ones wait in the listen backlog. */

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "net-forward.h"
#include "proc-util.h"
#include "util.h"

#define RELAY_BUFFER_SIZE 16384

typedef struct Half {
        char buf[RELAY_BUFFER_SIZE];
        size_t len, off;
        bool eof; /* the reading side ended */
} Half;

typedef struct Relay {
        int fd[2];    /* client, container */
        Half half[2]; /* half[i]: bytes read from fd[i], to be written to fd[1 - i] */
        bool shut[2]; /* shutdown(SHUT_WR) done on fd[i] */
} Relay;

typedef struct Listener {
        int fd;
        struct sockaddr_storage target;
        socklen_t target_len;
} Listener;

static void relay_close(Relay *r) {
        for (unsigned i = 0; i < 2; i++)
                r->fd[i] = safe_close(r->fd[i]);
}

/* Moves bytes both ways as far as they go without blocking; false when the relay is done. */
static bool relay_step(Relay *r, const short revents[2]) {
        for (unsigned i = 0; i < 2; i++) {
                Half *h = &r->half[i];
                if (!h->eof && h->len == 0 && (revents[i] & (POLLIN | POLLHUP | POLLERR))) {
                        ssize_t n = read(r->fd[i], h->buf, sizeof(h->buf));
                        if (n > 0) {
                                h->len = (size_t) n;
                                h->off = 0;
                        } else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                                h->eof = true;
                }
                if (h->len > 0) {
                        ssize_t n = write(r->fd[1 - i], h->buf + h->off, h->len);
                        if (n > 0) {
                                h->off += (size_t) n;
                                h->len -= (size_t) n;
                        } else if (n < 0 && errno != EAGAIN && errno != EINTR)
                                return false;
                }
                if (h->eof && h->len == 0 && !r->shut[1 - i]) {
                        (void) shutdown(r->fd[1 - i], SHUT_WR);
                        r->shut[1 - i] = true;
                }
        }
        return !(r->shut[0] && r->shut[1]);
}

static short relay_events(const Relay *r, unsigned i) {
        short e = 0;
        if (!r->half[i].eof && r->half[i].len == 0)
                e |= POLLIN;
        if (r->half[1 - i].len > 0)
                e |= POLLOUT;
        return e;
}

static int connect_target(const Listener *l) {
        int fd = socket(l->target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct timeval tv = {.tv_sec = 5};
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (const struct sockaddr *) &l->target, l->target_len) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        (void) fcntl(fd, F_SETFL, O_NONBLOCK);
        return fd;
}

_noreturn_ static void forwarder_main(Listener *l, size_t n_l) {
        static Relay relays[NET_FORWARD_CONNECTIONS_MAX];
        size_t n_r = 0;
        struct pollfd pfd[NET_PORTS_MAX + 2 * NET_FORWARD_CONNECTIONS_MAX];

        for (;;) {
                size_t k = 0;
                for (size_t i = 0; i < n_l; i++)
                        pfd[k++] = (struct pollfd){
                                .fd = n_r < NET_FORWARD_CONNECTIONS_MAX ? l[i].fd : -1, .events = POLLIN};
                for (size_t i = 0; i < n_r; i++)
                        for (unsigned j = 0; j < 2; j++)
                                pfd[k++] =
                                        (struct pollfd){.fd = relays[i].fd[j], .events = relay_events(&relays[i], j)};
                if (poll(pfd, k, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(EXIT_FAILURE);
                }
                /* The relays first (the accepts below append to the array). */
                for (size_t i = 0; i < n_r;) {
                        short rev[2] = {pfd[n_l + 2 * i].revents, pfd[n_l + 2 * i + 1].revents};
                        if (relay_step(&relays[i], rev)) {
                                i++;
                                continue;
                        }
                        relay_close(&relays[i]);
                        /* Keep the pollfd slots in step with the relays. */
                        memmove(&relays[i], &relays[i + 1], (n_r - i - 1) * sizeof(Relay));
                        memmove(&pfd[n_l + 2 * i], &pfd[n_l + 2 * i + 2], (n_r - i - 1) * 2 * sizeof(struct pollfd));
                        n_r--;
                }
                for (size_t i = 0; i < n_l; i++) {
                        if (!(pfd[i].revents & POLLIN) || n_r >= NET_FORWARD_CONNECTIONS_MAX)
                                continue;
                        int c = accept4(l[i].fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                        if (c < 0)
                                continue;
                        int t = connect_target(&l[i]);
                        if (t < 0) {
                                close(c); /* the client sees the connection closed */
                                continue;
                        }
                        relays[n_r] = (Relay){.fd = {c, t}};
                        n_r++;
                }
        }
}

int net_forward_start(const NetPortForward *ports, size_t n_ports, const NetPrefix *target6, const NetPrefix *target4,
        NetProc *ret, Diag *diag) {
        Listener l[NET_PORTS_MAX];
        size_t n_l = 0;
        int r = 0;

        *ret = (NetProc){};
        const NetPrefix *t = target6 && target6->family == AF_INET6  ? target6
                             : target4 && target4->family == AF_INET ? target4
                                                                     : NULL;
        if (!t)
                return 0;
        for (size_t i = 0; i < n_ports && n_l < NET_PORTS_MAX; i++) {
                if (ports[i].protocol != IPPROTO_TCP)
                        continue;
                int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0) {
                        if (errno == EAFNOSUPPORT) {
                                (void) diag_warn(diag, "no IPv6 on this host: port forwards are not reachable at ::1");
                                break;
                        }
                        r = negative_errno();
                        goto fail;
                }
                int one = 1;
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
                        .sin6_port = htons(ports[i].host_port),
                        .sin6_addr = in6addr_loopback};
                if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
                        int e = errno;
                        close(fd);
                        if (e == EADDRNOTAVAIL) {
                                (void) diag_warn(diag, "no ::1 on this host: port forwards are not reachable at ::1");
                                break;
                        }
                        (void) diag_warn(diag, "[::1]:%u: cannot listen (%s): not forwarded at ::1",
                                ports[i].host_port, strerror(e));
                        continue;
                }
                Listener *x = &l[n_l++];
                *x = (Listener){.fd = fd};
                if (t->family == AF_INET6) {
                        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &x->target;
                        *s6 = (struct sockaddr_in6){.sin6_family = AF_INET6,
                                .sin6_port = htons(ports[i].container_port),
                                .sin6_addr = t->addr.in6};
                        x->target_len = sizeof(*s6);
                } else {
                        struct sockaddr_in *s4 = (struct sockaddr_in *) &x->target;
                        *s4 = (struct sockaddr_in){.sin_family = AF_INET,
                                .sin_port = htons(ports[i].container_port),
                                .sin_addr = t->addr.in};
                        x->target_len = sizeof(*s4);
                }
        }
        if (n_l == 0)
                return 0;

        pid_t parent = getpid();
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                r = diag_fail(diag, negative_errno(), NULL, "cannot fork the ::1 forwarder");
                goto fail;
        }
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(EXIT_SUCCESS);
                (void) prctl(PR_SET_NAME, "cowpen-fwd6");
                /* Nothing of the parent's but our listeners: move them to 3…, close the rest. */
                for (size_t i = 0; i < n_l; i++) {
                        int fd = fcntl(l[i].fd, F_DUPFD_CLOEXEC, 3 + (int) n_l);
                        if (fd < 0)
                                _exit(EXIT_FAILURE);
                        l[i].fd = fd;
                }
                for (size_t i = 0; i < n_l; i++) {
                        if (dup3(l[i].fd, 3 + (int) i, O_CLOEXEC) < 0)
                                _exit(EXIT_FAILURE);
                        l[i].fd = 3 + (int) i;
                }
                (void) close_range(3 + (unsigned) n_l, ~0U, 0);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        (void) dup2(null, 0);
                        (void) dup2(null, 1);
                        (void) dup2(null, 2);
                }
                signal(SIGPIPE, SIG_IGN);
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                signal(SIGHUP, SIG_DFL);
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                forwarder_main(l, n_l);
        }
        for (size_t i = 0; i < n_l; i++)
                close(l[i].fd);
        uint64_t st = 0;
        (void) pid_starttime(pid, &st);
        *ret = (NetProc){.pid = pid, .starttime = st};
        return 0;

fail:
        for (size_t i = 0; i < n_l; i++)
                close(l[i].fd);
        return r;
}
