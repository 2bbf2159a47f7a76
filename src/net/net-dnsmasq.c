/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running dnsmasq (see net-dnsmasq.h). Input: dnsmasq's exit status and stderr (one line of it
 * becomes the cause), its pid file (a number, checked to name a live process). Names written to
 * its files are machine names checked by net_machine_name_is_valid() (no whitespace, no quotes). */

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "net-dnsmasq.h"
#include "proc-util.h"
#include "util.h"

static int write_at(NetState *st, const char *name, const char *buf, size_t size, Diag *diag) {
        _cleanup_close_ int dfd = openat(st->dir_fd, "dnsmasq", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0) {
                int r = negative_errno();
                return diag_fail(diag, r, "dnsmasq", "cannot open: %s", strerror(-r));
        }
        /* 0644: dnsmasq re-reads them after dropping its privileges (to nobody). */
        int r = write_file_atomic_at(dfd, name, buf, size, 0644, ATOMIC_FILE_EXACT_MODE);
        if (r < 0)
                return diag_fail(diag, r, name, "cannot write: %s", strerror(-r));
        return 0;
}

int net_dnsmasq_write_hosts(NetState *st, const char *id, const NetDnsHost *hosts, size_t n, Diag *diag) {
        _cleanup_free_ char *h = NULL, *d = NULL;
        size_t hs = 0, ds = 0;
        FILE *fh = open_memstream(&h, &hs), *fd = open_memstream(&d, &ds);
        if (!fh || !fd) {
                if (fh)
                        fclose(fh);
                if (fd)
                        fclose(fd);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                char a[NET_PREFIX_STRING_MAX];
                if (!net_machine_name_is_valid(hosts[i].name) || hosts[i].addr4.family != AF_INET)
                        continue;
                net_addr_to_string(&hosts[i].addr4, a);
                fprintf(fh, "%s %s\n", a, hosts[i].name);
                const uint8_t *m = hosts[i].mac;
                /* dnsmasq's hostname field must be a DNS label; a name that is not one is left out
                 * there (the address is still given by MAC). */
                bool label = true;
                for (const char *p = hosts[i].name; *p; p++)
                        label = label &&
                                (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
                fprintf(fd, "%02x:%02x:%02x:%02x:%02x:%02x,%s%s%s\n", m[0], m[1], m[2], m[3], m[4], m[5], a,
                        label ? "," : "", label ? hosts[i].name : "");
        }
        int r1 = fclose(fh), r2 = fclose(fd);
        if (r1 != 0 || r2 != 0)
                return -ENOMEM;
        char name[256];
        snprintf(name, sizeof(name), "%s.hosts", id);
        int r = write_at(st, name, h, hs, diag);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), "%s.dhcp", id);
        return write_at(st, name, d, ds, diag);
}

static int read_pid_file(NetState *st, const char *id, pid_t *ret) {
        char p[256];
        snprintf(p, sizeof(p), "dnsmasq/%s.pid", id);
        _cleanup_free_ char *s = NULL;
        size_t n;
        int r = read_file_at(st->dir_fd, p, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, 64, &s, &n);
        if (r < 0)
                return r;
        int pid;
        if (safe_atoi(strtok(s, "\n") ?: "", &pid) < 0 || pid <= 1)
                return -EBADMSG;
        *ret = pid;
        return 0;
}

int net_dnsmasq_spawn(NetState *st, const char *id, const char *ifname, const NetPrefix *host4,
        const NetPrefix *range4, const char *binary, NetDnsmasqPending *ret, Diag *diag) {
        if (!binary)
                binary = "dnsmasq";
        char a[NET_PREFIX_STRING_MAX], first[NET_PREFIX_STRING_MAX], mask[INET_ADDRSTRLEN];
        net_addr_to_string(host4, a);
        /* A static range is named by its first address and the netmask. */
        NetPrefix f;
        net_prefix_nth(range4, range4->prefixlen == 31 ? 1 : 0, &f);
        net_addr_to_string(&f, first);
        struct in_addr m = {.s_addr = htonl(range4->prefixlen == 0 ? 0 : ~0U << (32 - range4->prefixlen))};
        inet_ntop(AF_INET, &m, mask, sizeof(mask));

        char *args[32];
        size_t k = 0;
        char conf[512], pid[512], leases[512], hosts[512], dhcp[512], iface[64], range[128], listen[96];
        snprintf(pid, sizeof(pid), "--pid-file=%s/dnsmasq/%s.pid", st->dir, id);
        snprintf(leases, sizeof(leases), "--dhcp-leasefile=%s/dnsmasq/%s.leases", st->dir, id);
        snprintf(hosts, sizeof(hosts), "--addn-hosts=%s/dnsmasq/%s.hosts", st->dir, id);
        snprintf(dhcp, sizeof(dhcp), "--dhcp-hostsfile=%s/dnsmasq/%s.dhcp", st->dir, id);
        snprintf(iface, sizeof(iface), "--interface=%s", ifname);
        snprintf(listen, sizeof(listen), "--listen-address=%s", a);
        snprintf(range, sizeof(range), "--dhcp-range=%s,static,%s,1h", first, mask);
        snprintf(conf, sizeof(conf), "--conf-file=/dev/null");
        args[k++] = (char *) binary;
        args[k++] = conf; /* none of the host's dnsmasq configuration */
        args[k++] = pid;
        args[k++] = leases;
        args[k++] = hosts;
        args[k++] = dhcp;
        args[k++] = (char *) "--bind-interfaces"; /* its own sockets on its interface only: no clash with
                                                   * other instances or a resolver on the host */
        args[k++] = iface;
        args[k++] = (char *) "--except-interface=lo";
        args[k++] = listen;
        args[k++] = range;
        args[k++] = (char *) "--dhcp-authoritative";
        args[k++] = (char *) "--no-hosts";      /* not the host's /etc/hosts */
        args[k++] = (char *) "--domain-needed"; /* plain names are answered here or not at all */
        args[k++] = (char *) "--strict-order";
        args[k] = NULL;

        int errpipe[2];
        if (pipe2(errpipe, O_CLOEXEC) < 0)
                return -errno;
        fflush(NULL);
        pid_t child = fork();
        if (child < 0) {
                int r = negative_errno();
                close(errpipe[0]);
                close(errpipe[1]);
                return diag_fail(diag, r, binary, "cannot fork: %s", strerror(-r));
        }
        if (child == 0) {
                /* Its own session: it outlives us (zones are shared by several runs). */
                (void) setsid();
                (void) dup2(errpipe[1], STDERR_FILENO);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        (void) dup2(null, STDIN_FILENO);
                        (void) dup2(null, STDOUT_FILENO);
                }
                (void) close_range(3, ~0U, 0);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                execvp(binary, args);
                dprintf(STDERR_FILENO, "cannot run %s: %s\n", binary, strerror(errno));
                _exit(127);
        }
        close(errpipe[1]);
        *ret = (NetDnsmasqPending){.child = child, .errfd = errpipe[0]};
        snprintf(ret->ifname, sizeof(ret->ifname), "%s", ifname);
        return 0;
}

void net_dnsmasq_abandon(NetState *st, const char *id, NetDnsmasqPending *p) {
        NetProc d;
        if (p->child > 0 && net_dnsmasq_wait(st, id, p, &d, NULL) >= 0)
                (void) net_dnsmasq_stop(st, id, &d);
        p->errfd = safe_close(p->errfd);
        p->child = 0;
}

int net_dnsmasq_wait(NetState *st, const char *id, NetDnsmasqPending *p, NetProc *ret, Diag *diag) {
        if (p->child <= 0)
                return -ESRCH;
        const char *ifname = p->ifname;
        pid_t child = p->child;
        int errfd = TAKE_FD(p->errfd);
        p->child = 0;
        /* dnsmasq forks its daemon and exits once that is up, or with 1…5 and a message when it
         * cannot start (address in use, bad option, …). */
        int status;
        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR) {
                        close(errfd);
                        return -errno;
                }
        char msg[512] = "";
        size_t got = 0;
        (void) fcntl(errfd, F_SETFL, O_NONBLOCK);
        for (;;) {
                ssize_t n = read(errfd, msg + got, sizeof(msg) - 1 - got);
                if (n <= 0 || (got += (size_t) n) >= sizeof(msg) - 1)
                        break;
        }
        msg[got] = 0;
        close(errfd);
        msg[strcspn(msg, "\n")] = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                        return diag_fail(diag, -ENOENT, ifname, "%s", msg[0] ? msg : "cannot run dnsmasq");
                return diag_fail(diag, -EIO, ifname, "dnsmasq failed (status %d): %s",
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1, msg[0] ? msg : "no message");
        }
        pid_t daemon_pid;
        int r = read_pid_file(st, id, &daemon_pid);
        if (r < 0)
                return diag_fail(diag, r, ifname, "dnsmasq started but left no pid file: %s", strerror(-r));
        uint64_t t;
        r = pid_starttime(daemon_pid, &t);
        if (r < 0)
                return diag_fail(diag, r, ifname, "dnsmasq started but is gone");
        *ret = (NetProc){.pid = daemon_pid, .starttime = t};
        return 0;
}

int net_dnsmasq_start(NetState *st, const char *id, const char *ifname, const NetPrefix *host4,
        const NetPrefix *range4, const char *binary, NetProc *ret, Diag *diag) {
        NetDnsmasqPending p = NET_DNSMASQ_PENDING_NULL;
        int r = net_dnsmasq_spawn(st, id, ifname, host4, range4, binary, &p, diag);
        return r < 0 ? r : net_dnsmasq_wait(st, id, &p, ret, diag);
}

int net_dnsmasq_reload(const NetProc *p) {
        if (!p || p->pid <= 0 || net_process_alive(p->pid, p->starttime) <= 0)
                return -ESRCH;
        return RET_NERRNO(kill(p->pid, SIGHUP));
}

int net_dnsmasq_stop(NetState *st, const char *id, const NetProc *p) {
        int r = net_proc_kill(p);
        static const char *const ext[] = {"hosts", "dhcp", "leases", "pid"};
        for (size_t i = 0; i < ELEMENTSOF(ext); i++) {
                char n[256];
                snprintf(n, sizeof(n), "dnsmasq/%s.%s", id, ext[i]);
                (void) unlinkat(st->dir_fd, n, 0);
        }
        return r;
}
