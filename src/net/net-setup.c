/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A container's network as a whole: setup, teardown and the sweep of what dead owners left.
 *
 * Input: the options (from the command line or a settings file: untrusted; every name is checked
 * before it names a link, a file or a rule), the runtime records (ours, see net-state.c).
 *
 * Every change happens under the runtime directory's lock, and the machine's record is written
 * before each thing it names is made, so that whatever a SIGKILL interrupts is found by the next
 * sweep: a record lists at most more than exists, never less. */

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "net-dnsmasq.h"
#include "net-forward.h"
#include "net-internal.h"
#include "net-netlink.h"
#include "net-nft.h"
#include "net-state.h"
#include "proc-util.h"
#include "util.h"

struct NetSetup {
        char *runtime_dir;
        int netns_fd;      /* the container's */
        int host_netns_fd; /* the caller's, for moving interfaces back */
        NetMachineState m;
        NetSetupInfo info;
        char *resolv_conf;
        char *resolv_conf_path;
        char **moved; /* pairs: host name, container name */
        bool netns_persists;
};

bool net_options_want_network(const NetOptions *o) {
        return o && (o->veth || o->bridge || o->zone || o->veth_extra || o->interfaces || o->macvlan || o->ipvlan ||
                            o->n_ports > 0);
}

const NetSetupInfo *net_setup_info(const NetSetup *s) {
        return s ? &s->info : NULL;
}

const char *net_setup_resolv_conf(const NetSetup *s) {
        return s ? s->resolv_conf : NULL;
}

const char *net_setup_resolv_conf_path(const NetSetup *s) {
        return s ? s->resolv_conf_path : NULL;
}

/* The machine's resolv.conf in the runtime directory: dnsmasq/machine-NAME.resolv. */
static void resolv_conf_name(const char *machine, char buf[static 160]) {
        snprintf(buf, 160, "machine-%s.resolv", machine);
}

static int resolv_conf_write(NetState *st, const char *name, const char *text, Diag *diag) {
        _cleanup_close_ int dfd = openat(st->dir_fd, "dnsmasq", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        int r = dfd < 0 ? negative_errno() : 0;
        /* 0644 in a 0755 directory: the container's setup copies or binds it. */
        if (r >= 0)
                r = write_file_atomic_at(dfd, name, text, strlen(text), 0644, ATOMIC_FILE_EXACT_MODE);
        if (r < 0)
                return diag_fail(diag, r, name, "cannot write: %s", strerror(-r));
        return 0;
}

static void resolv_conf_remove(NetState *st, const char *machine) {
        char rc[160];
        resolv_conf_name(machine, rc);
        _cleanup_close_ int dfd = openat(st->dir_fd, "dnsmasq", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd >= 0)
                (void) unlinkat(dfd, rc, 0);
}

void net_setup_free(NetSetup *s) {
        if (!s)
                return;
        safe_close(s->netns_fd);
        safe_close(s->host_netns_fd);
        free(s->runtime_dir);
        free(s->resolv_conf);
        free(s->resolv_conf_path);
        strv_free(s->moved);
        free(s);
}

static void machine_id_str(const char *machine, char buf[static 128]) {
        snprintf(buf, 128, "machine-%s", machine);
}

static void zone_id_str(const char *zone, char buf[static 128]) {
        snprintf(buf, 128, "zone-%s", zone);
}

/* ---- host sides left to the kernel ----
 *
 * The host side of a veth (ve-/vb-MACHINE, --network-veth-extra's) is not deleted at teardown:
 * deleting a link waits for RCU grace periods (10…15 ms here), and the kernel removes the pair
 * anyway, in the background, when the container's network namespace is destroyed after its last
 * process and our last reference to it are gone (as under systemd-nspawn). Until then the name is
 * taken: released/IFNAME records its ifindex, so that the next run wanting the name knows the link
 * as ours (not someone else's of that name), waits for it to go, and deletes it itself when it
 * does not (something else holds the namespace). Records of links that are gone are removed by
 * every setup and sweep (cheaply: if_nametoindex(), no rtnetlink). */

#define RELEASED_WAIT_MS 3000U /* the kernel's cleanup_net usually takes a few ms */

static void released_path(const char *ifname, char buf[static 64]) {
        snprintf(buf, 64, "released/%s", ifname);
}

static void released_add(NetState *st, const char *ifname) {
        unsigned idx = if_nametoindex(ifname);
        char p[64], text[32];
        if (idx == 0 || !net_ifname_is_valid(ifname))
                return;
        released_path(ifname, p);
        int n = snprintf(text, sizeof(text), "%u\n", idx);
        _cleanup_close_ int dfd = openat(st->dir_fd, "released", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd >= 0)
                (void) write_file_atomic_at(dfd, ifname, text, (size_t) n, 0644, 0);
}

/* The recorded ifindex, 0 when there is no (readable) record. */
static unsigned released_index(NetState *st, const char *ifname) {
        char p[64];
        released_path(ifname, p);
        _cleanup_free_ char *text = NULL;
        size_t n;
        unsigned idx;
        if (read_file_at(st->dir_fd, p, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, 32, &text, &n) < 0 ||
                sscanf(text, "%u", &idx) != 1)
                return 0;
        return idx;
}

static void released_remove(NetState *st, const char *ifname) {
        char p[64];
        released_path(ifname, p);
        (void) unlinkat(st->dir_fd, p, 0);
}

/* Before a run makes ifname: a link of that name an earlier run released is waited for, and deleted
 * when it outlives RELEASED_WAIT_MS; its record goes. One that is not ours is left (the add fails). */
static void released_reclaim(NetState *st, Rtnl *host, const char *ifname) {
        unsigned idx = released_index(st, ifname);
        if (idx == 0) {
                released_remove(st, ifname);
                return;
        }
        for (unsigned ms = 0; if_nametoindex(ifname) == idx; ms += 2) {
                if (ms >= RELEASED_WAIT_MS) {
                        (void) rtnl_link_delete(host, ifname, NULL);
                        break;
                }
                nanosleep(&(struct timespec){.tv_nsec = 2 * 1000 * 1000}, NULL);
        }
        released_remove(st, ifname);
}

/* Records of links that are gone are removed; with host (a full sweep), links still there too. */
static void released_tidy(NetState *st, Rtnl *host) {
        _cleanup_close_ int dfd = openat(st->dir_fd, "released", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d)
                return;
        dfd = -EBADF; /* the DIR's now */
        _cleanup_strv_free_ char **names = NULL;
        for (struct dirent *e; (e = readdir(d));)
                if (e->d_name[0] != '.' && net_ifname_is_valid(e->d_name))
                        (void) strv_extend(&names, e->d_name);
        closedir(d);
        for (char **i = names; i && *i; i++) {
                unsigned idx = released_index(st, *i);
                if (idx != 0 && if_nametoindex(*i) == idx) {
                        if (!host)
                                continue; /* the kernel is still at it */
                        (void) rtnl_link_delete(host, *i, NULL);
                }
                released_remove(st, *i);
        }
}

/* ---- zones ---- */

static int zone_undo(NetState *st, Rtnl *host, const NetZoneState *z, Diag *diag) {
        char id[128];
        int r = 0, k;
        zone_id_str(z->zone, id);
        (void) net_dnsmasq_stop(st, id, &z->dnsmasq);
        k = net_nft_remove(NET_NFT_ZONE, z->zone, diag);
        if (k < 0 && r == 0)
                r = k;
        if (z->bridge[0]) {
                k = rtnl_link_delete(host, z->bridge, diag);
                if (k < 0 && r == 0)
                        r = k;
        }
        (void) net_zone_remove(st, z->zone);
        return r;
}

/* The live members of a zone (records naming it, other than except), into hosts (may be NULL). */
static int zone_members(NetState *st, const char *zone, const char *except, NetMachineState **ret, size_t *ret_n) {
        _cleanup_strv_free_ char **l = NULL;
        int r = net_machine_list(st, &l);
        if (r < 0)
                return r;
        NetMachineState *m = calloc(strv_length(l) + 1, sizeof(NetMachineState));
        if (!m)
                return -ENOMEM;
        size_t n = 0;
        for (char **i = l; *i; i++) {
                if (except && streq(*i, except))
                        continue;
                if (net_machine_load(st, *i, &m[n]) < 0 || !streq(m[n].zone, zone) || !net_machine_is_live(&m[n]))
                        continue;
                n++;
        }
        *ret = m;
        *ret_n = n;
        return 0;
}

/* Rewrites the zone's hosts files from its live members and tells its dnsmasq. */
static int zone_refresh_hosts(NetState *st, const NetZoneState *z, const char *except, Diag *diag) {
        _cleanup_free_ NetMachineState *m = NULL;
        size_t n = 0;
        int r = zone_members(st, z->zone, except, &m, &n);
        if (r < 0)
                return r;
        if (z->dnsmasq.pid <= 0)
                return (int) n;
        _cleanup_free_ NetDnsHost *h = calloc(n + 1, sizeof(NetDnsHost));
        if (!h)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                h[i] = (NetDnsHost){.name = m[i].machine, .addr4 = m[i].container4};
                memcpy(h[i].mac, m[i].mac, 6);
        }
        char id[128];
        zone_id_str(z->zone, id);
        r = net_dnsmasq_write_hosts(st, id, h, n, diag);
        if (r < 0)
                return r;
        (void) net_dnsmasq_reload(&z->dnsmasq);
        return (int) n;
}

/* After a member left: the zone goes when none is left. */
static int zone_release(NetState *st, Rtnl *host, const char *zone, const char *leaving, Diag *diag) {
        NetZoneState z;
        if (net_zone_load(st, zone, &z) < 0)
                return 0;
        int n = zone_refresh_hosts(st, &z, leaving, diag);
        if (n != 0)
                return n < 0 ? n : 0;
        return zone_undo(st, host, &z, diag);
}

static int forwarding_enable(const NetOptions *o, Diag *diag) {
        int r = net_sysctl_write("net/ipv4/ip_forward", "1", diag);
        if (r < 0)
                return r;
        if (o->ipv6_forwarding)
                return net_sysctl_write("net/ipv6/conf/all/forwarding", "1", diag);
        return 0;
}

static int route_localnet(const char *ifname, Diag *diag) {
        char p[128];
        snprintf(p, sizeof(p), "net/ipv4/conf/%s/route_localnet", ifname);
        return net_sysctl_write(p, "1", diag);
}

static int zone_ensure(NetState *st, Rtnl *host, const char *zone, const NetOptions *o, bool addresses,
        NetZoneState *ret, Diag *diag) {
        NetZoneState z;
        int r = net_zone_load(st, zone, &z);
        if (r >= 0 && rtnl_bridge_check(host, z.bridge, NULL) > 0 && (!addresses || z.subnet4.family == AF_INET)) {
                *ret = z;
                return 0;
        }
        if (r >= 0)
                (void) zone_undo(st, host, &z, NULL); /* a broken leftover: start over */

        z = (NetZoneState){};
        snprintf(z.zone, sizeof(z.zone), "%s", zone);
        r = net_ifname(NET_IFNAME_ZONE, zone, z.bridge);
        if (r < 0)
                return diag_fail(diag, r, zone, "invalid zone name");
        r = net_zone_save(st, &z, diag);
        if (r < 0)
                return r;
        r = rtnl_bridge_ensure(host, z.bridge, diag);
        if (r < 0)
                goto fail;
        if (addresses) {
                _cleanup_free_ NetPrefix *in_use = NULL;
                size_t n_in_use = 0;
                r = rtnl_prefixes_in_use(host, AF_INET, &in_use, &n_in_use, diag);
                if (r < 0)
                        goto fail;
                r = net_pool_allocate(st, o->pool, 24, in_use, n_in_use, &z.subnet4, diag);
                if (r < 0)
                        goto fail;
                net_prefix_nth(&z.subnet4, 1, &z.host4);
                net_ipv6_from_ipv4(&z.subnet4, &z.subnet6);
                net_ipv6_from_ipv4(&z.host4, &z.host6);
                z.rules = true;
                r = net_zone_save(st, &z, diag);
                if (r < 0)
                        goto fail;
                r = rtnl_addr_add(host, z.bridge, &z.host4, diag);
                if (r >= 0)
                        r = rtnl_addr_add(host, z.bridge, &z.host6, diag);
                if (r >= 0)
                        r = route_localnet(z.bridge, diag);
                if (r >= 0)
                        r = forwarding_enable(o, diag);
                if (r >= 0)
                        r = net_nft_add_zone(z.zone, z.bridge, &z.subnet4, &z.subnet6, diag);
                if (r < 0)
                        goto fail;
        }
        r = rtnl_link_set_up(host, z.bridge, true, diag);
        if (r < 0)
                goto fail;
        if (addresses && o->dns) {
                char id[128];
                zone_id_str(zone, id);
                r = net_dnsmasq_write_hosts(st, id, NULL, 0, diag);
                if (r >= 0)
                        r = net_dnsmasq_start(st, id, z.bridge, &z.host4, &z.subnet4, o->dnsmasq, &z.dnsmasq, diag);
                if (r >= 0)
                        r = net_zone_save(st, &z, diag);
                if (r < 0)
                        goto fail;
        }
        *ret = z;
        return 0;
fail:
        (void) zone_undo(st, host, &z, NULL);
        return r;
}

/* ---- machines ---- */

/* Removes everything the record names (what is gone already is fine), and the record. release: the
 * container's network namespace is about to be destroyed (its processes are gone, and so are our
 * references to it when we return): its veths go with it, and are only recorded as released. */
static int machine_undo(NetState *st, Rtnl *host, const NetMachineState *m, bool release, Diag *diag) {
        int r = 0, k;
        char id[128];
        machine_id_str(m->machine, id);
        (void) net_proc_kill(&m->forwarder);
        resolv_conf_remove(st, m->machine);
        if (m->dnsmasq.pid > 0)
                (void) net_dnsmasq_stop(st, id, &m->dnsmasq);
        if (m->rules) {
                k = net_nft_remove(NET_NFT_MACHINE, m->machine, diag);
                if (k < 0 && r == 0)
                        r = k;
        }
        for (size_t i = 0; i < m->n_extra; i++) {
                if (release) {
                        released_add(st, m->extra_host[i]);
                        continue;
                }
                k = rtnl_link_delete(host, m->extra_host[i], diag);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (m->host_ifname[0] && release)
                released_add(st, m->host_ifname);
        else if (m->host_ifname[0]) {
                k = rtnl_link_delete(host, m->host_ifname, diag);
                if (k < 0 && r == 0)
                        r = k;
        }
        (void) net_machine_remove(st, m->machine);
        if (m->zone[0]) {
                k = zone_release(st, host, m->zone, m->machine, diag);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

/* Removes what is left of owners that are gone; returns how many machines and zones. */
static int sweep_locked(NetState *st, Rtnl *host, Diag *diag) {
        _cleanup_strv_free_ char **machines = NULL, **zones = NULL, **owners = NULL, **zones_before = NULL;
        int n = 0, r;

        released_tidy(st, host);
        /* Zones go with their last member's undo: counted by the records that disappear. */
        if (net_zone_list(st, &zones_before) < 0)
                zones_before = NULL;

        r = net_machine_list(st, &machines);
        if (r < 0)
                return diag_fail(diag, r, st->dir, "cannot list the machine records: %s", strerror(-r));
        for (char **i = machines; *i; i++) {
                NetMachineState m;
                r = net_machine_load(st, *i, &m);
                if (r < 0) {
                        /* Unreadable: nothing it names can be found; it must not block the name. */
                        (void) net_machine_remove(st, *i);
                        continue;
                }
                if (net_machine_is_live(&m))
                        continue;
                (void) machine_undo(st, host, &m, false, NULL);
                n++;
        }

        /* Zones whose containers are all gone (also those a crash left between zone and member). */
        r = net_zone_list(st, &zones);
        if (r < 0)
                return diag_fail(diag, r, st->dir, "cannot list the zone records: %s", strerror(-r));
        for (char **i = zones; *i; i++) {
                NetZoneState z;
                if (net_zone_load(st, *i, &z) < 0) {
                        (void) net_zone_remove(st, *i);
                        continue;
                }
                _cleanup_free_ NetMachineState *m = NULL;
                size_t k = 0;
                if (zone_members(st, z.zone, NULL, &m, &k) >= 0 && k == 0)
                        (void) zone_undo(st, host, &z, NULL);
        }
        _cleanup_strv_free_ char **zones_after = NULL;
        if (zones_before && net_zone_list(st, &zones_after) >= 0)
                n += (int) (strv_length(zones_before) - strv_length(zones_after));

        /* Rules whose owner has no record at all (a record lost with a crash between the two). */
        if (net_nft_owners(&owners, NULL) >= 0)
                for (char **o = owners; *o; o++) {
                        NetMachineState m;
                        NetZoneState z;
                        if (startswith(*o, "machine ") && net_machine_load(st, *o + 8, &m) < 0)
                                (void) net_nft_remove(NET_NFT_MACHINE, *o + 8, NULL);
                        else if (startswith(*o, "zone ") && net_zone_load(st, *o + 5, &z) < 0)
                                (void) net_nft_remove(NET_NFT_ZONE, *o + 5, NULL);
                }
        (void) net_nft_remove_table_if_unused(NULL);
        return n;
}

/* Sweeps under the lock st holds, then closes st (releasing the lock). */
static int sweep_and_close(NetState *st, Diag *diag) {
        _cleanup_rtnl_ Rtnl *host = NULL;
        int r = rtnl_open(-1, &host);
        if (r < 0)
                r = diag_fail(diag, r, NULL, "cannot open rtnetlink: %s", strerror(-r));
        else
                r = sweep_locked(st, host, diag);
        net_state_close(st);
        return r;
}

int net_sweep(const char *runtime_dir, Diag *diag) {
        NetState st;
        int r = net_state_open(runtime_dir, &st, diag);
        if (r < 0)
                return r;
        return sweep_and_close(&st, diag);
}

/* Whether a record names an owner that is gone, or a zone has no live member. */
static bool state_has_stale(NetState *st) {
        _cleanup_strv_free_ char **machines = NULL, **zones = NULL;
        if (net_machine_list(st, &machines) < 0 || net_zone_list(st, &zones) < 0)
                return true;
        for (char **i = machines; *i; i++) {
                NetMachineState m;
                if (net_machine_load(st, *i, &m) < 0 || !net_machine_is_live(&m))
                        return true;
        }
        for (char **i = zones; *i; i++) {
                _cleanup_free_ NetMachineState *m = NULL;
                size_t k = 0;
                if (zone_members(st, *i, NULL, &m, &k) < 0 || k == 0)
                        return true;
        }
        return false;
}

int net_sweep_if_stale(const char *runtime_dir, Diag *diag) {
        const char *dir = net_runtime_dir(runtime_dir);
        if (access(dir, F_OK) < 0)
                return errno == ENOENT ? 0 : -errno;
        NetState st;
        int r = net_state_open(dir, &st, diag);
        if (r < 0)
                return r;
        released_tidy(&st, NULL);
        if (!state_has_stale(&st)) {
                net_state_close(&st);
                return 0;
        }
        return sweep_and_close(&st, diag);
}

static int check_pairs(char **l, const char *what, Diag *diag) {
        size_t n = strv_length(l);
        if (n % 2 != 0)
                return diag_fail(diag, -EINVAL, what, "pairs expected (HOSTIF, CONTAINERIF)");
        if (n / 2 > NET_PAIRS_MAX)
                return diag_fail(diag, -E2BIG, what, "more than %d", NET_PAIRS_MAX);
        for (char **i = l; i && *i; i++)
                if (!net_ifname_is_valid(*i))
                        return diag_fail(diag, -EINVAL, *i, "invalid interface name");
        return 0;
}

static int check_options(const char *machine, const NetOptions *o, bool *ret_addresses, Diag *diag) {
        if (!net_machine_name_is_valid(machine))
                return diag_fail(diag, -EINVAL, machine, "invalid machine name for networking");
        if (o->bridge && o->zone)
                return diag_fail(diag, -EINVAL, NULL, "--network-bridge and --network-zone exclude each other");
        if (o->bridge && !net_ifname_is_valid(o->bridge))
                return diag_fail(diag, -EINVAL, o->bridge, "invalid bridge name");
        if (o->zone) {
                char z[NET_IFNAME_MAX + 1];
                if (!net_machine_name_is_valid(o->zone) || net_ifname(NET_IFNAME_ZONE, o->zone, z) < 0)
                        return diag_fail(diag, -EINVAL, o->zone, "invalid zone name");
        }
        int r = check_pairs(o->veth_extra, "--network-veth-extra", diag);
        if (r >= 0)
                r = check_pairs(o->interfaces, "--network-interface", diag);
        if (r < 0)
                return r;
        for (char **i = o->macvlan; i && *i; i++)
                if (!net_ifname_is_valid(*i))
                        return diag_fail(diag, -EINVAL, *i, "invalid interface name");
        for (char **i = o->ipvlan; i && *i; i++)
                if (!net_ifname_is_valid(*i))
                        return diag_fail(diag, -EINVAL, *i, "invalid interface name");
        if (o->n_ports > NET_PORTS_MAX)
                return diag_fail(diag, -E2BIG, NULL, "more than %d port forwards", NET_PORTS_MAX);

        bool routed = (o->veth && !o->bridge) || o->zone; /* links whose other end is ours */
        bool addresses = o->address == NET_ADDRESS_AUTO || (o->address == NET_ADDRESS_DEFAULT && routed);
        if (addresses && !routed)
                return diag_fail(diag, -EINVAL, NULL, "--network-address=auto needs --network-veth or --network-zone");
        if (o->n_ports > 0 && !addresses)
                return diag_fail(diag, -EINVAL, NULL,
                        "port forwards need the container's address (--network-veth or --network-zone, with "
                        "--network-address=auto)");
        for (size_t i = 0; i < o->n_ports; i++)
                for (size_t j = 0; j < i; j++)
                        if (o->ports[i].protocol == o->ports[j].protocol &&
                                o->ports[i].host_port == o->ports[j].host_port) {
                                char b[NET_PORT_FORWARD_STRING_MAX];
                                return diag_fail(diag, -EINVAL, net_port_forward_to_string(&o->ports[i], b),
                                        "host port given twice");
                        }
        *ret_addresses = addresses;
        return 0;
}

/* Whether another live container forwards one of the ports already. */
static int check_ports(NetState *st, const char *machine, const NetOptions *o, Diag *diag) {
        if (o->n_ports == 0)
                return 0;
        _cleanup_strv_free_ char **l = NULL;
        int r = net_machine_list(st, &l);
        if (r < 0)
                return r;
        for (char **i = l; *i; i++) {
                NetMachineState m;
                if (streq(*i, machine) || net_machine_load(st, *i, &m) < 0 || !net_machine_is_live(&m))
                        continue;
                for (size_t a = 0; a < o->n_ports; a++)
                        for (size_t b = 0; b < m.n_ports; b++)
                                if (o->ports[a].protocol == m.ports[b].protocol &&
                                        o->ports[a].host_port == m.ports[b].host_port)
                                        return diag_fail(diag, -EADDRINUSE, *i,
                                                "%s port %u is forwarded to this container already",
                                                o->ports[a].protocol == IPPROTO_UDP ? "udp" : "tcp",
                                                o->ports[a].host_port);
        }
        return 0;
}

/* A free address in the zone's /24 (.2 … .254). */
static int zone_pick_address(NetState *st, const NetZoneState *z, NetPrefix *ret, Diag *diag) {
        _cleanup_free_ NetMachineState *m = NULL;
        size_t n = 0;
        int r = zone_members(st, z->zone, NULL, &m, &n);
        if (r < 0)
                return r;
        for (uint32_t k = 2; k < 255; k++) {
                NetPrefix c;
                net_prefix_nth(&z->subnet4, k, &c);
                bool used = false;
                for (size_t i = 0; i < n && !used; i++)
                        used = m[i].container4.family == AF_INET && m[i].container4.addr.in.s_addr == c.addr.in.s_addr;
                if (!used) {
                        *ret = c;
                        return 0;
                }
        }
        return diag_fail(diag, -EADDRNOTAVAIL, z->zone, "address pool exhausted: the zone's /24 is full");
}

static int move_back(NetSetup *s, Diag *diag) {
        if (!s->moved || s->netns_fd < 0 || s->host_netns_fd < 0)
                return 0;
        _cleanup_rtnl_ Rtnl *c = NULL;
        int r = rtnl_open(s->netns_fd, &c);
        if (r < 0)
                return diag_fail(diag, r, NULL, "cannot open rtnetlink in the container: %s", strerror(-r));
        size_t n = strv_length(s->moved);
        for (size_t i = n; i >= 2; i -= 2) {
                /* Under its container name, back under its own; one that is gone (the container
                 * deleted it) is no error. */
                int k = rtnl_link_move(c, s->moved[i - 1], s->host_netns_fd, s->moved[i - 2], NULL);
                if (k < 0 && k != -ENODEV && r == 0)
                        r = diag_fail(
                                diag, k, s->moved[i - 1], "cannot move the interface back out: %s", strerror(-k));
        }
        strv_free(s->moved);
        s->moved = NULL;
        return r;
}

static int setup_links(NetSetup *s, NetState *st, Rtnl *host, Rtnl *cont, const NetOptions *o, bool addresses,
        NetDnsmasqPending *dnsmasq, Diag *diag) {
        NetMachineState *m = &s->m;
        const char *machine = m->machine;
        int r;

        r = rtnl_link_set_up(cont, "lo", true, diag);
        if (r < 0)
                return r;

        NetZoneState z = {};
        if (o->veth || o->bridge || o->zone) {
                char name[NET_IFNAME_MAX + 1];
                uint8_t mac_host[6];
                r = net_ifname(o->bridge || o->zone ? NET_IFNAME_BRIDGED : NET_IFNAME_VETH, machine, name);
                if (r < 0)
                        return diag_fail(diag, r, machine, "invalid machine name for an interface");
                (void) net_generate_mac(machine, NET_MAC_VETH_HOST, 0, mac_host);
                (void) net_generate_mac(machine, NET_MAC_VETH_CONTAINER, 0, m->mac);
                if (o->bridge) {
                        r = rtnl_bridge_check(host, o->bridge, diag);
                        if (r < 0)
                                return r;
                }
                strcpy(m->host_ifname, name);
                if (o->zone)
                        snprintf(m->zone, sizeof(m->zone), "%s", o->zone);
                r = net_machine_save(st, m, diag);
                if (r < 0)
                        return r;
                if (o->zone) {
                        r = zone_ensure(st, host, o->zone, o, addresses, &z, diag);
                        if (r < 0)
                                return r;
                }
                released_reclaim(st, host, name);
                r = rtnl_veth_add(host, name, mac_host, "host0", m->mac, s->netns_fd, diag);
                if (r < 0) {
                        m->host_ifname[0] = 0; /* not ours: someone else's of that name */
                        (void) net_machine_save(st, m, NULL);
                        return r;
                }
                if (o->bridge || o->zone) {
                        r = rtnl_link_set_master(host, name, o->bridge ?: z.bridge, diag);
                        if (r < 0)
                                return r;
                }
                r = rtnl_link_set_up(host, name, true, diag);
                if (r < 0)
                        return r;
                snprintf(s->info.host_ifname, sizeof(s->info.host_ifname), "%s", name);
                strcpy(s->info.container_ifname, "host0");
                memcpy(s->info.container_mac, m->mac, 6);
        }

        if (addresses) {
                if (o->zone) {
                        r = zone_pick_address(st, &z, &m->container4, diag);
                        if (r < 0)
                                return r;
                        m->host4 = z.host4;
                        net_ipv6_from_ipv4(&m->container4, &m->container6);
                        m->host6 = z.host6;
                } else {
                        _cleanup_free_ NetPrefix *in_use = NULL;
                        size_t n_in_use = 0;
                        NetPrefix subnet;
                        r = rtnl_prefixes_in_use(host, AF_INET, &in_use, &n_in_use, diag);
                        if (r < 0)
                                return r;
                        r = net_pool_allocate(st, o->pool, 31, in_use, n_in_use, &subnet, diag);
                        if (r < 0)
                                return r;
                        net_prefix_nth(&subnet, 0, &m->host4);
                        net_prefix_nth(&subnet, 1, &m->container4);
                        net_ipv6_from_ipv4(&m->host4, &m->host6);
                        net_ipv6_from_ipv4(&m->container4, &m->container6);
                }
                r = net_machine_save(st, m, diag); /* the lease */
                if (r < 0)
                        return r;
                if (!o->zone) {
                        r = rtnl_addr_add(host, m->host_ifname, &m->host4, diag);
                        if (r >= 0)
                                r = rtnl_addr_add(host, m->host_ifname, &m->host6, diag);
                        if (r >= 0)
                                r = route_localnet(m->host_ifname, diag);
                        if (r >= 0)
                                r = forwarding_enable(o, diag);
                        if (r < 0)
                                return r;
                        /* The veth's dnsmasq starts now, its addresses being there, and is waited
                         * for below, after the rest is made meanwhile. */
                        if (o->dns) {
                                char id[128];
                                NetDnsHost h = {.name = machine, .addr4 = m->container4};
                                memcpy(h.mac, m->mac, 6);
                                machine_id_str(machine, id);
                                r = net_dnsmasq_write_hosts(st, id, &h, 1, diag);
                                if (r >= 0)
                                        r = net_dnsmasq_spawn(st, id, m->host_ifname, &m->host4, &m->host4, o->dnsmasq,
                                                dnsmasq, diag);
                                if (r < 0)
                                        return r;
                        }
                }
                r = rtnl_addr_add(cont, "host0", &m->container4, diag);
                if (r >= 0)
                        r = rtnl_addr_add(cont, "host0", &m->container6, diag);
                if (r >= 0)
                        r = rtnl_link_set_up(cont, "host0", true, diag);
                if (r >= 0)
                        r = rtnl_route_add(cont, "host0", NULL, &m->host4, diag);
                if (r >= 0)
                        r = rtnl_route_add(cont, "host0", NULL, &m->host6, diag);
                if (r < 0)
                        return r;
                s->info.container4 = m->container4;
                s->info.host4 = m->host4;
                s->info.container6 = m->container6;
                s->info.host6 = m->host6;
        }

        for (char **p = o->veth_extra; p && p[0] && p[1]; p += 2) {
                snprintf(m->extra_host[m->n_extra++], NET_IFNAME_MAX + 1, "%s", p[0]);
                r = net_machine_save(st, m, diag);
                if (r < 0)
                        return r;
                released_reclaim(st, host, p[0]);
                r = rtnl_veth_add(host, p[0], NULL, p[1], NULL, s->netns_fd, diag);
                if (r < 0) {
                        m->n_extra--;
                        (void) net_machine_save(st, m, NULL);
                        return r;
                }
        }
        for (char **p = o->interfaces; p && p[0] && p[1]; p += 2) {
                r = rtnl_link_move(host, p[0], s->netns_fd, p[1], diag);
                if (r < 0)
                        return r;
                if (strv_extend(&s->moved, p[0]) < 0 || strv_extend(&s->moved, p[1]) < 0)
                        return -ENOMEM;
        }
        uint64_t idx = 0;
        for (char **p = o->macvlan; p && *p; p++) {
                char name[NET_IFNAME_MAX + 1];
                uint8_t mac[6];
                (void) net_ifname(NET_IFNAME_MACVLAN, *p, name);
                (void) net_generate_mac(machine, NET_MAC_MACVLAN, idx++, mac);
                r = rtnl_macvlan_add(host, *p, name, mac, s->netns_fd, diag);
                if (r < 0)
                        return r;
        }
        for (char **p = o->ipvlan; p && *p; p++) {
                char name[NET_IFNAME_MAX + 1];
                (void) net_ifname(NET_IFNAME_IPVLAN, *p, name);
                r = rtnl_ipvlan_add(host, *p, name, s->netns_fd, diag);
                if (r < 0)
                        return r;
        }

        /* DNS and DHCP. */
        if (addresses && o->dns) {
                char a[NET_PREFIX_STRING_MAX];
                if (o->zone) {
                        r = net_machine_save(st, m, diag); /* a member now: in the zone's hosts */
                        if (r >= 0 && zone_refresh_hosts(st, &z, NULL, diag) < 0)
                                r = -EIO;
                        if (r < 0)
                                return r;
                } else {
                        char id[128];
                        machine_id_str(machine, id);
                        r = net_dnsmasq_wait(st, id, dnsmasq, &m->dnsmasq, diag);
                        if (r >= 0)
                                r = net_machine_save(st, m, diag);
                        if (r < 0)
                                return r;
                }
                if (asprintf(&s->resolv_conf, NET_RESOLV_CONF_HEADER "nameserver %s\n",
                            net_addr_to_string(&m->host4, a)) < 0)
                        return -ENOMEM;
                char rc[160];
                resolv_conf_name(machine, rc);
                r = resolv_conf_write(st, rc, s->resolv_conf, diag);
                if (r < 0)
                        return r;
                if (asprintf(&s->resolv_conf_path, "%s/dnsmasq/%s", st->dir, rc) < 0)
                        return -ENOMEM;
        }

        /* Firewall: masquerading (a zone has its own), the guard, port forwards. */
        if (addresses) {
                NetPrefix sub4, sub6;
                net_prefix_nth(&m->host4, 0, &sub4);
                sub6 = m->host6;
                m->rules = true;
                r = net_machine_save(st, m, diag);
                if (r < 0)
                        return r;
                NetNftMachine nm = {
                        .machine = machine,
                        .guard_ifname = o->zone ? NULL : m->host_ifname,
                        .masq4 = o->zone ? NULL : &sub4,
                        .masq6 = o->zone ? NULL : &sub6,
                        .container4 = &m->container4,
                        .container6 = &m->container6,
                        .ports = o->ports,
                        .n_ports = o->n_ports,
                };
                if (!o->zone || o->n_ports > 0) {
                        r = net_nft_add_machine(&nm, diag);
                        if (r < 0)
                                return r;
                }
                r = net_forward_start(o->ports, o->n_ports, &m->container6, &m->container4, &m->forwarder, diag);
                if (r < 0)
                        return r;
        }
        return net_machine_save(st, m, diag);
}

int net_setup(const char *machine, int netns_fd, const NetOptions *o, NetSetup **ret, Diag *diag) {
        bool addresses = false;
        int r;

        if (netns_fd < 0)
                return diag_fail(diag, -EBADF, machine, "no network namespace");
        r = check_options(machine, o, &addresses, diag);
        if (r < 0)
                return r;

        NetSetup *s = calloc(1, sizeof(NetSetup));
        if (!s)
                return -ENOMEM;
        s->netns_fd = fcntl(netns_fd, F_DUPFD_CLOEXEC, 3);
        s->host_netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        s->runtime_dir = strdup(net_runtime_dir(o->runtime_dir));
        if (s->netns_fd < 0 || s->host_netns_fd < 0 || !s->runtime_dir) {
                r = s->runtime_dir ? negative_errno() : -ENOMEM;
                net_setup_free(s);
                return diag_fail(diag, r, machine, "cannot keep the network namespaces: %s", strerror(-r));
        }
        snprintf(s->m.machine, sizeof(s->m.machine), "%s", machine);
        s->netns_persists = o->netns_persists;
        r = pid_starttime(o->owner > 0 ? o->owner : getpid(), &s->m.owner.starttime);
        if (r < 0) {
                net_setup_free(s);
                return diag_fail(diag, r, machine, "cannot read the owner's start time: %s", strerror(-r));
        }
        s->m.owner.pid = o->owner > 0 ? o->owner : getpid();
        for (size_t i = 0; i < o->n_ports; i++)
                s->m.ports[s->m.n_ports++] = o->ports[i];

        NetState st;
        r = net_state_open(s->runtime_dir, &st, diag);
        if (r < 0) {
                net_setup_free(s);
                return r;
        }
        _cleanup_rtnl_ Rtnl *host = NULL, *cont = NULL;
        r = rtnl_open(-1, &host);
        if (r >= 0)
                r = rtnl_open(s->netns_fd, &cont);
        if (r < 0) {
                r = diag_fail(diag, r, machine, "cannot open rtnetlink: %s", strerror(-r));
                goto fail_unlocked;
        }

        /* What dead owners left, when a record says so (the full sweep, which lists the nft table
         * for rules without records, is clean's and net_sweep()'s). */
        if (state_has_stale(&st))
                (void) sweep_locked(&st, host, NULL);
        else
                released_tidy(&st, NULL);

        NetMachineState old;
        if (net_machine_load(&st, machine, &old) >= 0 && net_machine_is_live(&old)) {
                r = diag_fail(diag, -EBUSY, machine, "this machine has a network already (owner PID %i)",
                        (int) old.owner.pid);
                goto fail_unlocked;
        }
        r = check_ports(&st, machine, o, diag);
        if (r < 0)
                goto fail_unlocked;
        r = net_machine_save(&st, &s->m, diag);
        if (r < 0)
                goto fail_unlocked;

        NetDnsmasqPending dnsmasq = NET_DNSMASQ_PENDING_NULL;
        r = setup_links(s, &st, host, cont, o, addresses, &dnsmasq, diag);
        if (r < 0) {
                char id[128];
                machine_id_str(machine, id);
                net_dnsmasq_abandon(&st, id, &dnsmasq); /* one not waited for yet */
                (void) move_back(s, NULL);
                (void) machine_undo(&st, host, &s->m, false, NULL);
                (void) net_nft_remove_table_if_unused(NULL);
                goto fail_unlocked;
        }
        net_state_close(&st);
        *ret = s;
        return 0;

fail_unlocked:
        net_state_close(&st);
        net_setup_free(s);
        return r;
}

int net_setup_pid(const char *machine, pid_t pid, const NetOptions *o, NetSetup **ret, Diag *diag) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/%i/ns/net", (int) pid);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                int r = negative_errno();
                return diag_fail(diag, r, p, "cannot open the container's network namespace: %s", strerror(-r));
        }
        return net_setup(machine, fd, o, ret, diag);
}

int net_teardown(NetSetup *s, Diag *diag) {
        if (!s)
                return 0;
        int r = move_back(s, diag);
        NetState st;
        int k = net_state_open(s->runtime_dir, &st, diag);
        if (k < 0) {
                net_setup_free(s);
                return r < 0 ? r : k;
        }
        _cleanup_rtnl_ Rtnl *host = NULL;
        k = rtnl_open(-1, &host);
        if (k >= 0) {
                /* The record as it is now (a zone member's view may have changed). */
                NetMachineState m;
                if (net_machine_load(&st, s->m.machine, &m) < 0 || m.owner.pid != s->m.owner.pid ||
                        m.owner.starttime != s->m.owner.starttime)
                        m = s->m;
                /* The last owner of anything (no other machine, no zone but its own): the table goes
                 * as a whole, in one command, rather than listed and emptied rule by rule. Safe
                 * under the lock: every owner's record is written before its first rule. */
                _cleanup_strv_free_ char **ml = NULL, **zl = NULL;
                bool last = net_machine_list(&st, &ml) >= 0 && net_zone_list(&st, &zl) >= 0 && strv_length(ml) == 1 &&
                            streq(ml[0], m.machine) &&
                            (strv_length(zl) == 0 || (strv_length(zl) == 1 && streq(zl[0], m.zone)));
                if (last && m.rules && net_nft_delete_table(diag) >= 0)
                        m.rules = false;
                /* Our last references to the namespace go first (moved interfaces are out). */
                s->netns_fd = safe_close(s->netns_fd);
                k = machine_undo(&st, host, &m, !s->netns_persists, diag);
                _cleanup_strv_free_ char **l = NULL;
                if (!last && net_machine_list(&st, &l) >= 0 && !l[0])
                        (void) net_nft_remove_table_if_unused(NULL);
        }
        if (k < 0 && r == 0)
                r = k;
        net_state_close(&st);
        net_setup_free(s);
        return r;
}
