/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's network: systemd-nspawn's Networking options and [Network] keys into a
 * SpawnNetwork, and src/net (net.h) around a run: the network namespace, net_setup() in it before
 * the container's setup starts, the resolv.conf that points at the host side's dnsmasq, and
 * net_teardown() after the container's last process.
 *
 * Untrusted input: the values of the [Network] keys of a settings file (as the command line's, they
 * are checked here: interface names by net_ifname_is_valid(), zone names by
 * net_machine_name_is_valid() and the vz- name they make, ports by net_port_forward_parse(), the
 * namespace path must be absolute; the lists are bounded by SPAWN_NETWORK_LINKS_MAX and
 * SPAWN_PORTS_MAX). Whether a file may set them at all is settings_merge()'s business. */

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fd-util.h"
#include "spawn-network.h"
#include "util.h"

void spawn_network_done(SpawnNetwork *n) {
        if (!n)
                return;
        strv_free(n->veth_extra);
        strv_free(n->interfaces);
        strv_free(n->macvlan);
        strv_free(n->ipvlan);
        free(n->bridge);
        free(n->zone);
        free(n->namespace_path);
        free(n->ports);
        free(n->resolv_conf);
        *n = (SpawnNetwork){};
}

static int check_ifname(const char *s, Diag *diag) {
        if (!net_ifname_is_valid(s))
                return diag_fail(diag, -EINVAL, s, "invalid interface name (1…15 bytes, no '/', ':' or blanks)");
        return 0;
}

int spawn_network_add_pair(char ***l, const char *s, Diag *diag) {
        const char *colon = strchr(s, ':');
        _cleanup_free_ char *host = colon ? strndup(s, (size_t) (colon - s)) : strdup(s);
        if (!host)
                return -ENOMEM;
        const char *cont = colon ? colon + 1 : host;
        int r = check_ifname(host, diag);
        if (r < 0 || (r = check_ifname(cont, diag)) < 0)
                return r;
        if (strv_length(*l) / 2 >= SPAWN_NETWORK_LINKS_MAX)
                return diag_fail(diag, -E2BIG, s, "more than %u interfaces", SPAWN_NETWORK_LINKS_MAX);
        for (char **i = *l; i && i[0] && i[1]; i += 2)
                if (streq(i[0], host))
                        return diag_fail(diag, -EINVAL, host, "interface given twice");
        if ((r = strv_extend(l, host)) < 0)
                return r;
        if ((r = strv_extend(l, cont)) < 0) {
                /* Pairs stay pairs: the host name goes again. */
                size_t n = strv_length(*l);
                free((*l)[n - 1]);
                (*l)[n - 1] = NULL;
                return r;
        }
        return 0;
}

int spawn_network_add_ifname(char ***l, const char *s, Diag *diag) {
        int r = check_ifname(s, diag);
        if (r < 0)
                return r;
        if (strv_length(*l) >= SPAWN_NETWORK_LINKS_MAX)
                return diag_fail(diag, -E2BIG, s, "more than %u interfaces", SPAWN_NETWORK_LINKS_MAX);
        if (strv_contains(*l, s))
                return diag_fail(diag, -EINVAL, s, "interface given twice");
        return strv_extend(l, s);
}

static int set_string(char **field, const char *s) {
        char *d = strdup(s);
        if (!d)
                return -ENOMEM;
        free(*field);
        *field = d;
        return 0;
}

int spawn_network_set_bridge(SpawnNetwork *n, const char *s, Diag *diag) {
        int r = check_ifname(s, diag);
        return r < 0 ? r : set_string(&n->bridge, s);
}

int spawn_network_set_zone(SpawnNetwork *n, const char *s, Diag *diag) {
        char name[NET_IFNAME_MAX + 1];
        if (!net_machine_name_is_valid(s) || net_ifname(NET_IFNAME_ZONE, s, name) < 0 || !net_ifname_is_valid(name))
                return diag_fail(diag, -EINVAL, s, "invalid zone name");
        return set_string(&n->zone, s);
}

int spawn_network_add_port(SpawnNetwork *n, const char *s, Diag *diag) {
        NetPortForward p;
        int r = net_port_forward_parse(s, &p, diag);
        if (r < 0)
                return r;
        if (n->n_ports >= SPAWN_PORTS_MAX)
                return diag_fail(diag, -E2BIG, s, "more than %u port forwards", SPAWN_PORTS_MAX);
        for (size_t i = 0; i < n->n_ports; i++)
                if (n->ports[i].protocol == p.protocol && n->ports[i].host_port == p.host_port)
                        return diag_fail(diag, -EINVAL, s, "host port given twice");
        NetPortForward *a = reallocarray(n->ports, n->n_ports + 1, sizeof(NetPortForward));
        if (!a)
                return -ENOMEM;
        n->ports = a;
        n->ports[n->n_ports++] = p;
        return 0;
}

int spawn_network_address_from_string(const char *s, NetAddressMode *ret) {
        if (streq(s, "auto"))
                *ret = NET_ADDRESS_AUTO;
        else if (streq(s, "none"))
                *ret = NET_ADDRESS_NONE;
        else
                return -EINVAL;
        return 0;
}

bool spawn_network_has_links(const SpawnNetwork *n) {
        return n->veth || n->veth_extra || n->interfaces || n->macvlan || n->ipvlan || n->bridge || n->zone ||
               n->n_ports > 0;
}

bool spawn_network_wanted(const SpawnNetwork *n) {
        return spawn_network_has_links(n) || n->namespace_path || n->address != NET_ADDRESS_DEFAULT;
}

int spawn_network_check(const SpawnConfig *c, Diag *diag) {
        const SpawnNetwork *n = &c->network;
        bool routed = (n->veth && !n->bridge) || n->zone;
        if (n->bridge && n->zone)
                return diag_fail(diag, -EINVAL, NULL, "--network-bridge= and --network-zone= may not be combined");
        if (n->address == NET_ADDRESS_AUTO && !routed)
                return diag_fail(diag, -EINVAL, NULL,
                                 "--network-address=auto needs --network-veth or --network-zone= (a bridge belongs "
                                 "to your own network)");
        if (n->address != NET_ADDRESS_DEFAULT && !n->veth && !n->bridge && !n->zone)
                return diag_fail(diag, -EINVAL, NULL,
                                 "--network-address= needs --network-veth, --network-bridge= or --network-zone=");
        if (n->n_ports > 0 && (!routed || n->address == NET_ADDRESS_NONE))
                return diag_fail(diag, -EINVAL, NULL,
                                 "--port= needs the container's address: --network-veth or --network-zone= "
                                 "(with --network-address=auto)");
        if (n->namespace_path && n->namespace_path[0] != '/')
                return diag_fail(diag, -EINVAL, n->namespace_path, "--network-namespace-path= needs an absolute path");
        return 0;
}

/* ---- [Network] keys ---- */

/* A key's list of words (MACVLAN=, IPVLAN=, Interface=): an empty value empties it. */
static int parse_words(char ***l, const char *value, bool pairs, Diag *diag) {
        if (!*value) {
                strv_free(*l);
                *l = NULL;
                return 0;
        }
        _cleanup_free_ char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        char *save = NULL;
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                int r = pairs ? spawn_network_add_pair(l, w, diag) : spawn_network_add_ifname(l, w, diag);
                if (r < 0)
                        return r;
        }
        return 0;
}

int spawn_network_parse_key(SpawnConfig *c, const char *key, const char *value, Diag *diag) {
        SpawnNetwork *n = &c->network;
        SettingMask bit = SETTING_NETWORK;
        int r;
        if (streq(key, "VirtualEthernet")) {
                int b = parse_boolean(value);
                if (b < 0)
                        return diag_fail(diag, -EINVAL, value, "not a boolean");
                n->veth = b;
                r = 0;
        } else if (streq(key, "VirtualEthernetExtra"))
                r = spawn_network_add_pair(&n->veth_extra, value, diag);
        else if (streq(key, "Interface"))
                r = parse_words(&n->interfaces, value, true, diag);
        else if (streq(key, "MACVLAN"))
                r = parse_words(&n->macvlan, value, false, diag);
        else if (streq(key, "IPVLAN"))
                r = parse_words(&n->ipvlan, value, false, diag);
        else if (streq(key, "Bridge"))
                r = spawn_network_set_bridge(n, value, diag);
        else if (streq(key, "Zone"))
                r = spawn_network_set_zone(n, value, diag);
        else if (streq(key, "NetworkNamespacePath")) {
                if (value[0] != '/' || strlen(value) >= 4096)
                        return diag_fail(diag, -EINVAL, value, "not an absolute path");
                r = set_string(&n->namespace_path, value);
        } else if (streq(key, "Port")) {
                r = spawn_network_add_port(n, value, diag);
                bit = SETTING_EXPOSE_PORTS;
        } else
                return 0;
        if (r < 0)
                return r;
        c->mask |= bit;
        /* What asks for a network asks for one of the container's own: Private= with it, so that a
         * file whose links are not taken (untrusted) still never leaves the container in the
         * host's network. */
        if (spawn_network_wanted(n))
                c->private_network = true;
        return 1;
}

static void take_strv(char ***to, char ***from) {
        strv_free(*to);
        *to = *from;
        *from = NULL;
}

static void take_str(char **to, char **from) {
        free(*to);
        *to = *from;
        *from = NULL;
}

int spawn_network_merge(SpawnConfig *c, SpawnConfig *s, bool trusted, SettingMask m, Diag *diag) {
        SpawnNetwork *cn = &c->network, *sn = &s->network;
        bool links = (m & SETTING_NETWORK) && (sn->veth || sn->veth_extra || sn->interfaces || sn->macvlan ||
                                               sn->ipvlan || sn->bridge || sn->zone || sn->namespace_path);
        bool ports = (m & SETTING_EXPOSE_PORTS) && sn->n_ports > 0;
        if (links || ports)
                /* Whatever is taken: a network of the container's own, never the host's. */
                c->private_network = true;
        if (links && !trusted)
                (void) diag_warn(diag,
                                 "ignoring VirtualEthernet=, VirtualEthernetExtra=, Interface=, MACVLAN=, IPVLAN=, "
                                 "Bridge=, Zone= and NetworkNamespacePath= settings: the file is not trusted "
                                 "(--settings=trusted trusts it); the container gets a network namespace with "
                                 "only loopback");
        else if (links) {
                cn->veth = sn->veth;
                take_strv(&cn->veth_extra, &sn->veth_extra);
                take_strv(&cn->interfaces, &sn->interfaces);
                take_strv(&cn->macvlan, &sn->macvlan);
                take_strv(&cn->ipvlan, &sn->ipvlan);
                take_str(&cn->bridge, &sn->bridge);
                take_str(&cn->zone, &sn->zone);
                take_str(&cn->namespace_path, &sn->namespace_path);
        }
        if (ports && !trusted)
                (void) diag_warn(diag, "ignoring Port= settings: the file is not trusted (--settings=trusted trusts it)");
        else if (ports) {
                free(cn->ports);
                cn->ports = sn->ports;
                cn->n_ports = sn->n_ports;
                sn->ports = NULL;
                sn->n_ports = 0;
        }
        return 0;
}

int spawn_network_clean(Diag *diag) {
        /* No runtime directory: no run had a network since boot (our rules and links do not
         * survive a reboot either), and nothing is loaded or touched. */
        if (access(net_runtime_dir(NULL), F_OK) < 0)
                return errno == ENOENT ? 0 : diag_fail(diag, negative_errno(), net_runtime_dir(NULL), "%m");
        return net_sweep(NULL, diag);
}

/* ---- the engine's side ---- */

/* A new network namespace, as an fd, without moving the caller into it for longer than the call:
 * the calling thread unshares and returns to its own namespace at once. */
static int make_netns(int *ret) {
        _cleanup_close_ int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (orig < 0)
                return negative_errno();
        if (unshare(CLONE_NEWNET) < 0)
                return negative_errno();
        int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        int r = fd < 0 ? negative_errno() : 0;
        if (setns(orig, CLONE_NEWNET) < 0)
                abort(); /* we would go on in the container's namespace: nothing sane is left to do */
        if (r < 0)
                return r;
        *ret = fd;
        return 0;
}

static int open_netns(const char *path, int *ret, Diag *diag) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return diag_fail(diag, negative_errno(), path, "--network-namespace-path: %m");
        int t = ioctl(fd, NS_GET_NSTYPE);
        if (t != CLONE_NEWNET) {
                safe_close(fd);
                return diag_fail(diag, -EINVAL, path, "--network-namespace-path: not a network namespace");
        }
        *ret = fd;
        return 0;
}

int spawn_net_prepare(SpawnNet *n, const SpawnConfig *c, bool userns, Diag *diag) {
        const SpawnNetwork *sn = &c->network;
        int r;
        if (!spawn_network_has_links(sn))
                /* A run without links of its own reclaims what killed runs left where anything is
                 * stale (nothing is loaded or touched otherwise; net_setup() sweeps for the others);
                 * a failure is no reason to fail this run. */
                (void) net_sweep_if_stale(NULL, NULL);
        if (!c->private_network)
                return 0;
        if (sn->namespace_path)
                return open_netns(sn->namespace_path, &n->netns_fd, diag);
        if (userns || !spawn_network_has_links(sn))
                return 0; /* the user namespace makes it / the child's own CLONE_NEWNET */
        if ((r = make_netns(&n->netns_fd)) < 0)
                return diag_fail(diag, r, NULL, "create the network namespace: %m");
        return 0;
}

int spawn_net_setup(SpawnNet *n, SpawnConfig *c, const char *machine, int netns_fd, Diag *diag) {
        const SpawnNetwork *sn = &c->network;
        if (!spawn_network_has_links(sn))
                return 0;
        NetOptions o = NET_OPTIONS_INIT;
        o.veth = sn->veth;
        o.bridge = sn->bridge;
        o.zone = sn->zone;
        o.veth_extra = sn->veth_extra;
        o.interfaces = sn->interfaces;
        o.macvlan = sn->macvlan;
        o.ipvlan = sn->ipvlan;
        o.ports = sn->ports;
        o.n_ports = sn->n_ports;
        o.address = sn->address;
        /* IPv6 from other hosts and out of the container needs forwarding on; only where a port
         * forward asks for it (it stops the host's own acceptance of router advertisements). */
        o.ipv6_forwarding = sn->n_ports > 0;
        /* The user's namespace stays: its veths are deleted rather than left to its end. */
        o.netns_persists = sn->namespace_path != NULL;
        int r = net_setup(machine, netns_fd, &o, &n->setup, diag);
        if (r < 0)
                return r;
        const char *rc = net_setup_resolv_conf_path(n->setup);
        if (rc && !(c->network.resolv_conf = strdup(rc)))
                return -ENOMEM;
        return 0;
}

void spawn_net_done(SpawnNet *n, SpawnConfig *c) {
        /* First: with the container's processes gone, the namespace is destroyed once nobody holds
         * it, and its veths with it (net_teardown() leaves them to that). */
        n->netns_fd = safe_close(n->netns_fd);
        if (n->setup) {
                /* Best effort: what is left is found by the next run's or clean's sweep. */
                (void) net_teardown(n->setup, NULL);
                n->setup = NULL;
        }
        free(c->network.resolv_conf);
        c->network.resolv_conf = NULL;
}
