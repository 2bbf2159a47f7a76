/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The runtime records of cowpen's networking, the address pool and process identity.
 *
 * Input: the records under the runtime directory (0755, root's; written only by us, but parsed
 * strictly: unknown keys are ignored, a value that does not parse makes the record unreadable,
 * which the sweep treats as stale), /proc/PID/stat (the kernel's). */

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "net-state.h"
#include "proc-util.h"
#include "util.h"

#define RECORD_SIZE_MAX (64 * 1024)

int net_process_alive(pid_t pid, uint64_t starttime) {
        uint64_t t;
        int r = pid_starttime(pid, &t);
        if (r == -ESRCH)
                return 0;
        if (r < 0)
                return r;
        /* A zombie has a start time too, but is gone for our purposes. */
        char path[64];
        _cleanup_free_ char *s = NULL;
        size_t n;
        snprintf(path, sizeof(path), "/proc/%i/stat", (int) pid);
        if (read_file_at(AT_FDCWD, path, 0, 4096, &s, &n) >= 0) {
                char *p = strrchr(s, ')');
                if (p && (p[2] == 'Z' || p[2] == 'X'))
                        return 0;
        }
        return t == starttime;
}

bool net_machine_is_live(const NetMachineState *m) {
        return net_process_alive(m->owner.pid, m->owner.starttime) > 0;
}

int net_proc_kill(const NetProc *p) {
        if (!p || p->pid <= 0)
                return 0;
        /* A pidfd taken after the start time matched names that process and no later one with its
         * PID; its end is then waited for by poll(), not by sleeping in steps. */
        _cleanup_close_ int pfd = (int) syscall(SYS_pidfd_open, p->pid, 0);
        if (net_process_alive(p->pid, p->starttime) <= 0)
                return 0;
        if (pfd < 0 && errno != ENOSYS)
                return errno == ESRCH ? 0 : negative_errno();
        if (pfd >= 0 ? syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0) < 0 : kill(p->pid, SIGTERM) < 0)
                return errno == ESRCH ? 0 : negative_errno();
        /* dnsmasq and the forwarder end at once on SIGTERM; give them 2 s, then insist. */
        for (unsigned i = 0; i < 200; i++) {
                if (pfd >= 0) {
                        struct pollfd x = {.fd = pfd, .events = POLLIN};
                        if (poll(&x, 1, 2000) > 0) {
                                (void) waitpid(p->pid, NULL, WNOHANG); /* our own child (the forwarder) */
                                return 1;
                        }
                        break;
                }
                if (net_process_alive(p->pid, p->starttime) <= 0)
                        return 1;
                /* Our own child (the forwarder): reap it, or it stays a zombie. */
                (void) waitpid(p->pid, NULL, WNOHANG);
                nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        }
        if (pfd >= 0)
                (void) syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
        else
                (void) kill(p->pid, SIGKILL);
        (void) waitpid(p->pid, NULL, WNOHANG);
        return 1;
}

/* ---- the directory and its lock ---- */

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != 0)
                        continue;
                char c = *s;
                *s = 0;
                if (mkdir(p, mode) >= 0)
                        (void) chmod(p, mode); /* whatever the umask */
                else if (errno != EEXIST)
                        return negative_errno();
                if (!c)
                        break;
                *s = c;
        }
        return 0;
}

int net_state_open(const char *dir, NetState *ret, Diag *diag) {
        dir = net_runtime_dir(dir);
        int r = mkdir_p(dir, 0755);
        if (r < 0)
                return diag_fail(diag, r, dir, "cannot create the runtime directory: %s", strerror(-r));
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = negative_errno();
                return diag_fail(diag, r, dir, "cannot open the runtime directory: %s", strerror(-r));
        }
        static const char *const subdirs[] = {"machines", "zones", "dnsmasq", "released"};
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++)
                if (mkdirat(dfd, subdirs[i], 0755) >= 0) {
                        /* Whatever the umask: dnsmasq reads dnsmasq/ as nobody. */
                        if (fchmodat(dfd, subdirs[i], 0755, 0) < 0)
                                continue;
                } else if (errno != EEXIST) {
                        r = negative_errno();
                        return diag_fail(diag, r, dir, "cannot create %s/: %s", subdirs[i], strerror(-r));
                }
        _cleanup_close_ int lfd = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lfd < 0) {
                r = negative_errno();
                return diag_fail(diag, r, dir, "cannot open the lock file: %s", strerror(-r));
        }
        while (flock(lfd, LOCK_EX) < 0) {
                if (errno == EINTR)
                        continue;
                r = negative_errno();
                return diag_fail(diag, r, dir, "cannot lock: %s", strerror(-r));
        }
        char *d = strdup(dir);
        if (!d)
                return -ENOMEM;
        *ret = (NetState){.dir = d, .dir_fd = TAKE_FD(dfd), .lock_fd = TAKE_FD(lfd)};
        return 0;
}

void net_state_close(NetState *st) {
        if (!st)
                return;
        st->lock_fd = safe_close(st->lock_fd); /* releases the lock */
        st->dir_fd = safe_close(st->dir_fd);
        free(st->dir);
        st->dir = NULL;
}

/* ---- records ---- */

static int proc_parse(const char *v, NetProc *ret) {
        int pid;
        unsigned long long t;
        char tail;
        if (sscanf(v, "%d %llu%c", &pid, &t, &tail) != 2 || pid <= 0)
                return -EINVAL;
        *ret = (NetProc){.pid = pid, .starttime = t};
        return 0;
}

static int mac_parse(const char *v, uint8_t mac[static 6]) {
        unsigned b[6];
        char tail;
        if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
                return -EINVAL;
        for (unsigned i = 0; i < 6; i++)
                mac[i] = (uint8_t) b[i];
        return 0;
}

static int copy_name(char *dst, size_t size, const char *v) {
        if (strlen(v) >= size)
                return -EINVAL;
        strcpy(dst, v);
        return 0;
}

/* Calls cb(key, value) for each "key=value" line. */
static int record_read(int dir_fd, const char *path, int (*cb)(const char *k, const char *v, void *u), void *u) {
        _cleanup_free_ char *s = NULL;
        size_t n;
        int r = read_file_at(dir_fd, path, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, RECORD_SIZE_MAX, &s, &n);
        if (r < 0)
                return r;
        if (strlen(s) != n)
                return -EBADMSG;
        char *save = NULL;
        for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (!eq)
                        return -EBADMSG;
                *eq = 0;
                r = cb(line, eq + 1, u);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int machine_cb(const char *k, const char *v, void *u) {
        NetMachineState *m = u;
        if (streq(k, "machine"))
                return copy_name(m->machine, sizeof(m->machine), v);
        if (streq(k, "owner"))
                return proc_parse(v, &m->owner);
        if (streq(k, "host_ifname"))
                return copy_name(m->host_ifname, sizeof(m->host_ifname), v);
        if (streq(k, "zone"))
                return copy_name(m->zone, sizeof(m->zone), v);
        if (streq(k, "container4"))
                return net_prefix_parse(v, &m->container4);
        if (streq(k, "host4"))
                return net_prefix_parse(v, &m->host4);
        if (streq(k, "container6"))
                return net_prefix_parse(v, &m->container6);
        if (streq(k, "host6"))
                return net_prefix_parse(v, &m->host6);
        if (streq(k, "mac"))
                return mac_parse(v, m->mac);
        if (streq(k, "dnsmasq"))
                return proc_parse(v, &m->dnsmasq);
        if (streq(k, "forwarder"))
                return proc_parse(v, &m->forwarder);
        if (streq(k, "rules"))
                return (m->rules = streq(v, "yes")), 0;
        if (streq(k, "port")) {
                if (m->n_ports >= NET_PORTS_MAX)
                        return -E2BIG;
                return net_port_forward_parse(v, &m->ports[m->n_ports++], NULL);
        }
        if (streq(k, "extra")) {
                if (m->n_extra >= NET_PAIRS_MAX)
                        return -E2BIG;
                return copy_name(m->extra_host[m->n_extra++], NET_IFNAME_MAX + 1, v);
        }
        return 0;
}

static int zone_cb(const char *k, const char *v, void *u) {
        NetZoneState *z = u;
        if (streq(k, "zone"))
                return copy_name(z->zone, sizeof(z->zone), v);
        if (streq(k, "bridge"))
                return copy_name(z->bridge, sizeof(z->bridge), v);
        if (streq(k, "subnet4"))
                return net_prefix_parse(v, &z->subnet4);
        if (streq(k, "host4"))
                return net_prefix_parse(v, &z->host4);
        if (streq(k, "subnet6"))
                return net_prefix_parse(v, &z->subnet6);
        if (streq(k, "host6"))
                return net_prefix_parse(v, &z->host6);
        if (streq(k, "dnsmasq"))
                return proc_parse(v, &z->dnsmasq);
        if (streq(k, "rules"))
                return (z->rules = streq(v, "yes")), 0;
        return 0;
}

static int record_path(const char *sub, const char *name, char buf[static 256]) {
        if (!net_machine_name_is_valid(name))
                return -EINVAL;
        snprintf(buf, 256, "%s/%s", sub, name);
        return 0;
}

int net_machine_load(NetState *st, const char *machine, NetMachineState *ret) {
        char p[256];
        int r = record_path("machines", machine, p);
        if (r < 0)
                return r;
        NetMachineState m = {};
        r = record_read(st->dir_fd, p, machine_cb, &m);
        if (r < 0)
                return r;
        if (!streq(m.machine, machine))
                return -EBADMSG;
        *ret = m;
        return 0;
}

int net_zone_load(NetState *st, const char *zone, NetZoneState *ret) {
        char p[256];
        int r = record_path("zones", zone, p);
        if (r < 0)
                return r;
        NetZoneState z = {};
        r = record_read(st->dir_fd, p, zone_cb, &z);
        if (r < 0)
                return r;
        if (!streq(z.zone, zone))
                return -EBADMSG;
        *ret = z;
        return 0;
}

static void put_prefix(FILE *f, const char *k, const NetPrefix *p) {
        char b[NET_PREFIX_STRING_MAX];
        if (p->family)
                fprintf(f, "%s=%s\n", k, net_prefix_to_string(p, b));
}

static void put_proc(FILE *f, const char *k, const NetProc *p) {
        if (p->pid > 0)
                fprintf(f, "%s=%i %llu\n", k, (int) p->pid, (unsigned long long) p->starttime);
}

static int record_write(NetState *st, const char *sub, const char *name, char *buf, size_t size, Diag *diag) {
        _cleanup_close_ int dfd = openat(st->dir_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0) {
                int r = negative_errno();
                return diag_fail(diag, r, sub, "cannot open: %s", strerror(-r));
        }
        int r = write_file_atomic_at(dfd, name, buf, size, 0644, 0);
        if (r < 0)
                return diag_fail(diag, r, name, "cannot write the %s record: %s", sub, strerror(-r));
        return 0;
}

int net_machine_save(NetState *st, const NetMachineState *m, Diag *diag) {
        if (!net_machine_name_is_valid(m->machine))
                return diag_fail(diag, -EINVAL, m->machine, "invalid machine name");
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "machine=%s\n", m->machine);
        put_proc(f, "owner", &m->owner);
        if (m->host_ifname[0])
                fprintf(f, "host_ifname=%s\n", m->host_ifname);
        if (m->zone[0])
                fprintf(f, "zone=%s\n", m->zone);
        put_prefix(f, "container4", &m->container4);
        put_prefix(f, "host4", &m->host4);
        put_prefix(f, "container6", &m->container6);
        put_prefix(f, "host6", &m->host6);
        const uint8_t *a = m->mac;
        if (a[0] | a[1] | a[2] | a[3] | a[4] | a[5])
                fprintf(f, "mac=%02x:%02x:%02x:%02x:%02x:%02x\n", a[0], a[1], a[2], a[3], a[4], a[5]);
        put_proc(f, "dnsmasq", &m->dnsmasq);
        put_proc(f, "forwarder", &m->forwarder);
        if (m->rules)
                fprintf(f, "rules=yes\n");
        for (size_t i = 0; i < m->n_ports; i++) {
                char b[NET_PORT_FORWARD_STRING_MAX];
                fprintf(f, "port=%s\n", net_port_forward_to_string(&m->ports[i], b));
        }
        for (size_t i = 0; i < m->n_extra; i++)
                fprintf(f, "extra=%s\n", m->extra_host[i]);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        int r = record_write(st, "machines", m->machine, buf, size, diag);
        free(buf);
        return r;
}

int net_zone_save(NetState *st, const NetZoneState *z, Diag *diag) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "zone=%s\nbridge=%s\n", z->zone, z->bridge);
        put_prefix(f, "subnet4", &z->subnet4);
        put_prefix(f, "host4", &z->host4);
        put_prefix(f, "subnet6", &z->subnet6);
        put_prefix(f, "host6", &z->host6);
        put_proc(f, "dnsmasq", &z->dnsmasq);
        if (z->rules)
                fprintf(f, "rules=yes\n");
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        int r = record_write(st, "zones", z->zone, buf, size, diag);
        free(buf);
        return r;
}

static int record_remove(NetState *st, const char *sub, const char *name) {
        char p[256];
        int r = record_path(sub, name, p);
        if (r < 0)
                return r;
        if (unlinkat(st->dir_fd, p, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int net_machine_remove(NetState *st, const char *machine) {
        return record_remove(st, "machines", machine);
}

int net_zone_remove(NetState *st, const char *zone) {
        return record_remove(st, "zones", zone);
}

static int record_list(NetState *st, const char *sub, char ***ret) {
        _cleanup_close_ int dfd = openat(st->dir_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return negative_errno();
        DIR *d = NULL;
        int r = opendir_fd(dfd, &d);
        if (r < 0)
                return r;
        char **l = NULL;
        struct dirent *de;
        while ((de = readdir(d))) {
                /* Hidden names are atomic-file's temporaries. */
                if (de->d_name[0] == '.' || !net_machine_name_is_valid(de->d_name))
                        continue;
                r = strv_extend(&l, de->d_name);
                if (r < 0) {
                        strv_free(l);
                        closedir(d);
                        return r;
                }
        }
        closedir(d);
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = l;
        return 0;
}

int net_machine_list(NetState *st, char ***ret) {
        return record_list(st, "machines", ret);
}

int net_zone_list(NetState *st, char ***ret) {
        return record_list(st, "zones", ret);
}

/* ---- the pool ---- */

static NetPool default_pool;

const NetPool *net_pool_default(void) {
        /* $COWPEN_NETWORK_POOL: IPv4 prefixes of at most /24, separated by spaces or commas (a small
         * pool for tests, or ranges a site keeps for containers). Unusable entries are skipped; none
         * left is the built-in default. */
        const char *e = getenv("COWPEN_NETWORK_POOL");
        if (default_pool.n_ranges == 0 && e && strlen(e) < 1024) {
                char buf[1024];
                snprintf(buf, sizeof(buf), "%s", e);
                char *save = NULL;
                for (char *w = strtok_r(buf, " ,\t", &save); w && default_pool.n_ranges < NET_POOL_RANGES_MAX;
                        w = strtok_r(NULL, " ,\t", &save)) {
                        NetPrefix p;
                        if (net_prefix_parse(w, &p) >= 0 && p.family == AF_INET && p.prefixlen <= 24)
                                default_pool.ranges[default_pool.n_ranges++] = p;
                }
        }
        /* 10.0.0.0/8, then 172.16.0.0/12: what systemd-networkd's own pool takes from too. */
        if (default_pool.n_ranges == 0) {
                (void) net_prefix_parse("10.0.0.0/8", &default_pool.ranges[0]);
                (void) net_prefix_parse("172.16.0.0/12", &default_pool.ranges[1]);
                default_pool.n_ranges = 2;
        }
        return &default_pool;
}

void net_prefix_nth(const NetPrefix *subnet, uint32_t n, NetPrefix *ret) {
        uint32_t mask = subnet->prefixlen == 0 ? 0 : ~0U << (32 - subnet->prefixlen);
        uint32_t a = (ntohl(subnet->addr.in.s_addr) & mask) + n;
        *ret = (NetPrefix){.family = AF_INET, .addr.in.s_addr = htonl(a), .prefixlen = subnet->prefixlen};
}

void net_ipv6_from_ipv4(const NetPrefix *v4, NetPrefix *ret) {
        NetPrefix p = {.family = AF_INET6, .prefixlen = (unsigned char) (96 + v4->prefixlen)};
        (void) inet_pton(AF_INET6, NET_IPV6_ULA_PREFIX, &p.addr.in6);
        memcpy(&p.addr.in6.s6_addr[12], &v4->addr.in, 4);
        *ret = p;
}

/* The subnets the records hold: machines' (veth /31, and zone members' single addresses) and
 * zones' /24s. */
static int leases_in_use(NetState *st, NetPrefix **ret, size_t *ret_n) {
        _cleanup_strv_free_ char **machines = NULL, **zones = NULL;
        int r = net_machine_list(st, &machines);
        if (r < 0)
                return r;
        r = net_zone_list(st, &zones);
        if (r < 0)
                return r;
        size_t n = 0, max = strv_length(machines) + strv_length(zones);
        NetPrefix *p = calloc(max + 1, sizeof(NetPrefix));
        if (!p)
                return -ENOMEM;
        for (char **m = machines; *m; m++) {
                NetMachineState ms;
                if (net_machine_load(st, *m, &ms) < 0 || ms.host4.family != AF_INET)
                        continue;
                p[n++] = ms.zone[0] ? ms.container4 : ms.host4;
                if (ms.zone[0])
                        p[n - 1].prefixlen = 32;
        }
        for (char **z = zones; *z; z++) {
                NetZoneState zs;
                if (net_zone_load(st, *z, &zs) < 0 || zs.subnet4.family != AF_INET)
                        continue;
                p[n++] = zs.subnet4;
        }
        *ret = p;
        *ret_n = n;
        return 0;
}

static bool overlaps_any(const NetPrefix *c, const NetPrefix *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (net_prefix_overlaps(c, &l[i]))
                        return true;
        return false;
}

int net_pool_allocate(NetState *st, const NetPool *pool, unsigned prefixlen, const NetPrefix *in_use, size_t n_in_use,
        NetPrefix *ret, Diag *diag) {
        if (!pool)
                pool = net_pool_default();
        if (prefixlen != 31 && prefixlen != 24)
                return -EINVAL;
        _cleanup_free_ NetPrefix *leases = NULL;
        size_t n_leases = 0;
        int r = leases_in_use(st, &leases, &n_leases);
        if (r < 0)
                return diag_fail(diag, r, st->dir, "cannot read the leases: %s", strerror(-r));

        for (size_t i = 0; i < pool->n_ranges; i++) {
                const NetPrefix *range = &pool->ranges[i];
                if (range->family != AF_INET || range->prefixlen > prefixlen)
                        continue;
                /* /24 blocks (or the range itself when it is smaller), then candidates inside. */
                unsigned block_len = MAX(24U, range->prefixlen);
                uint64_t n_blocks = 1ULL << (block_len - range->prefixlen);
                for (uint64_t b = 0; b < n_blocks; b++) {
                        NetPrefix block;
                        NetPrefix base = *range;
                        base.prefixlen = range->prefixlen;
                        net_prefix_nth(&base, (uint32_t) (b << (32 - block_len)), &block);
                        block.prefixlen = (unsigned char) block_len;
                        /* Skip a whole block that something as big or bigger covers. */
                        bool blocked = false;
                        for (size_t j = 0; j < n_in_use && !blocked; j++)
                                blocked = in_use[j].prefixlen <= block_len && net_prefix_overlaps(&block, &in_use[j]);
                        for (size_t j = 0; j < n_leases && !blocked; j++)
                                blocked = leases[j].prefixlen <= block_len && net_prefix_overlaps(&block, &leases[j]);
                        if (blocked)
                                continue;
                        uint64_t n_cand = 1ULL << (prefixlen - block_len);
                        for (uint64_t c = 0; c < n_cand; c++) {
                                NetPrefix cand;
                                net_prefix_nth(&block, (uint32_t) (c << (32 - prefixlen)), &cand);
                                cand.prefixlen = (unsigned char) prefixlen;
                                if (overlaps_any(&cand, in_use, n_in_use) || overlaps_any(&cand, leases, n_leases))
                                        continue;
                                *ret = cand;
                                return 0;
                        }
                }
        }
        char b[NET_PREFIX_STRING_MAX];
        return diag_fail(diag, -EADDRNOTAVAIL, NULL, "address pool exhausted: no free /%u in %s%s", prefixlen,
                pool->n_ranges > 0 ? net_prefix_to_string(&pool->ranges[0], b) : "(empty pool)",
                pool->n_ranges > 1 ? " and the other ranges" : "");
}
