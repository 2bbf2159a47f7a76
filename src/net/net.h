/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Container networking, configured from the host side so that any init (or none) inside gets a
 * working network: the links systemd-nspawn makes (veth, bridge, zone, macvlan, ipvlan, moved
 * interfaces, extra veths) under nspawn's names, plus what nspawn leaves to systemd-networkd:
 * addresses from a private pool, a default route, masquerading, port forwards (IPv4 and IPv6, also
 * from the host's own 127.0.0.1 and ::1), and a dnsmasq per veth and per zone for DHCP and DNS.
 *
 * Layering: uses src/shared only. The foreign pieces are each wrapped in one file: rtnetlink (libmnl)
 * in net-netlink.c, nftables (libnftables) in net-nft.c, dnsmasq in net-dnsmasq.c.
 *
 * How the spawn engine uses it (its parent process, after clone() made the child's namespaces):
 *
 *         NetOptions o = NET_OPTIONS_INIT;          // filled from the command line / .nspawn file
 *         o.veth = true; ...
 *         NetSetup *ns = NULL;
 *         r = net_sweep(o.runtime_dir, NULL);       // optional: reclaim what killed runs left
 *         r = net_setup(machine, child_netns_fd, &o, &ns, &diag);   // or net_setup_pid(…, pid, …)
 *         … write net_setup_resolv_conf(ns) into the container (per --resolv-conf) …
 *         … let the child go on; wait for it …
 *         net_teardown(ns, &diag);                  // removes everything; frees ns
 *
 * net_setup() keeps a duplicate of the namespace fd until teardown (so moved interfaces can be
 * moved back out after the container's last process is gone). Everything it makes is recorded under
 * the runtime directory with the owner's PID and start time, so that after SIGKILL of the owner the
 * next net_sweep() (the next run, `cowpen clean`) removes it: links, nft rules, dnsmasq processes,
 * address leases, and zone bridges whose containers are all gone.
 *
 * Errors: -errno, with the cause and the object (an interface, a port, a file) in the Diag. Nothing
 * here prints. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"
#include "macro.h"

/* ---- Names (net-names.c) ---- */

#define NET_IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define NET_MACHINE_NAME_MAX 64

/* Whether a machine name can be used for networking: 1…64 bytes, no '/', no whitespace or control
 * characters, no quotes or backslash (it appears in file names, nft comments and dnsmasq's hosts
 * file), not "." or "..". Multibyte UTF-8 is fine. */
bool net_machine_name_is_valid(const char *machine);

/* nspawn's shortening: a name of more than 15 bytes becomes its first 11 bytes and 4 characters of
 * URL-safe base64 from the low 24 bits of siphash24(name) under nspawn's key, so it stays stable
 * and (nearly always) unique; a name that fits is kept. Where the 11th byte would split a UTF-8
 * character, the cut moves back to the character's start (nspawn cuts in the middle; for ASCII names
 * the result is byte for byte nspawn's). ret must hold NET_IFNAME_MAX + 1 bytes. Returns 1 when
 * shortened, 0 when kept. */
int net_shorten_ifname(const char *name, char ret[static NET_IFNAME_MAX + 1]);

typedef enum NetIfnameKind {
        NET_IFNAME_VETH,    /* ve-MACHINE */
        NET_IFNAME_BRIDGED, /* vb-MACHINE: the host side of a veth on a bridge or zone */
        NET_IFNAME_ZONE,    /* vz-ZONE */
        NET_IFNAME_MACVLAN, /* mv-IF (inside) */
        NET_IFNAME_IPVLAN,  /* iv-IF (inside) */
} NetIfnameKind;
/* The prefixed name, shortened as above. */
int net_ifname(NetIfnameKind kind, const char *name, char ret[static NET_IFNAME_MAX + 1]);

/* The name of a network interface that the kernel accepts and our files can hold: 1…15 bytes, no
 * '/', ':' or whitespace, not "." or "..". */
bool net_ifname_is_valid(const char *name);

/* nspawn's MAC addresses: siphash24(machine-id || name [|| idx]) under a per-use key, locally
 * administered and unicast. */
typedef enum NetMacKind {
        NET_MAC_VETH_HOST,
        NET_MAC_VETH_CONTAINER,
        NET_MAC_MACVLAN,
} NetMacKind;
int net_generate_mac(const char *machine, NetMacKind kind, uint64_t idx, uint8_t ret[static 6]);

/* ---- Port forwards (net-port.c) ---- */

typedef struct NetPortForward {
        int protocol; /* IPPROTO_TCP or IPPROTO_UDP */
        uint16_t host_port;
        uint16_t container_port;
} NetPortForward;

/* "[tcp|udp:]HOSTPORT[:CONTAINERPORT]" (nspawn's -p): ports 1…65535, CONTAINERPORT defaults to
 * HOSTPORT, protocol to tcp. -EINVAL with the cause in diag otherwise. */
int net_port_forward_parse(const char *s, NetPortForward *ret, Diag *diag);
/* "tcp:8080:80" */
#define NET_PORT_FORWARD_STRING_MAX 20
const char *net_port_forward_to_string(const NetPortForward *p, char buf[static NET_PORT_FORWARD_STRING_MAX]);

/* ---- Addresses ---- */

typedef struct NetPrefix {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr in;
                struct in6_addr in6;
        } addr;
        unsigned char prefixlen;
} NetPrefix;

/* Whether two prefixes share an address (same family only). */
bool net_prefix_overlaps(const NetPrefix *a, const NetPrefix *b);
/* "10.0.0.0/24", "fd00::1/64"; -EINVAL when not one. */
int net_prefix_parse(const char *s, NetPrefix *ret);
#define NET_PREFIX_STRING_MAX 64
const char *net_prefix_to_string(const NetPrefix *p, char buf[static NET_PREFIX_STRING_MAX]);
/* The address alone (no "/len"). */
const char *net_addr_to_string(const NetPrefix *p, char buf[static NET_PREFIX_STRING_MAX]);

/* The IPv4 pool: /24 slots taken in order from these ranges (a zone takes a whole /24, a veth a /31
 * of a /24 kept for veths), skipping every slot that overlaps an address or a route (other than a
 * default route) of the caller's network namespace, or a lease of another live machine. The default
 * is $COWPEN_NETWORK_POOL when set (IPv4 prefixes of at most /24, separated by spaces or commas),
 * else 10.0.0.0/8 then 172.16.0.0/12 (the ranges systemd-networkd's own pool uses). IPv6: each IPv4
 * address A gets the ULA NET_IPV6_ULA_PREFIX::A (its /96 followed by the 32 bits of A), with
 * prefix length 96 + the IPv4 one (/127 for a veth, /120 for a zone), so IPv6 forwards have a
 * routable target; link-local addresses come from the kernel. */
#define NET_POOL_RANGES_MAX 8
typedef struct NetPool {
        NetPrefix ranges[NET_POOL_RANGES_MAX]; /* IPv4, prefixlen <= 24 */
        size_t n_ranges;
} NetPool;
#define NET_IPV6_ULA_PREFIX "fd63:6f77:7065::" /* "cowpe", a /48 of our own; /96 used */

/* The runtime directory: dir if given, else $COWPEN_RUNTIME_DIR/network ($COWPEN_RUNTIME_DIR
 * standing for cowpen's /run/cowpen), else /run/cowpen/network. The result stays valid until the
 * thread's next call. */
#define NET_RUNTIME_DIR_DEFAULT "/run/cowpen/network"
const char *net_runtime_dir(const char *dir);

/* ---- The whole setup (net-setup.c) ---- */

typedef enum NetAddressMode {
        NET_ADDRESS_DEFAULT, /* auto for veth and zone, none for bridge */
        NET_ADDRESS_AUTO,
        NET_ADDRESS_NONE,
} NetAddressMode;

typedef struct NetOptions {
        bool veth;          /* -n: ve-MACHINE on the host, host0 inside */
        const char *bridge; /* --network-bridge=BR: vb-MACHINE enslaved to BR, which must exist */
        const char *zone;   /* --network-zone=NAME: vb-MACHINE on vz-NAME, made on first use */
        char **veth_extra;  /* pairs HOSTIF, CONTAINERIF (NULL-terminated, even length) */
        char **interfaces;  /* pairs HOSTIF, CONTAINERIF: moved in, moved back out at teardown */
        char **macvlan;     /* host parents: mv-IF inside */
        char **ipvlan;      /* host parents: iv-IF inside (L2 mode) */
        const NetPortForward *ports;
        size_t n_ports;
        NetAddressMode address;
        bool dns;                /* run dnsmasq (DHCP + DNS) for veth and zone with addresses; default on */
        bool ipv6_forwarding;    /* set net.ipv6.conf.all.forwarding=1 (needed for IPv6 from other hosts
                                  * and for the container's IPv6 going out; it stops the host's own
                                  * acceptance of router advertisements where accept_ra=1) */
        const char *runtime_dir; /* NULL: net_runtime_dir(NULL) */
        const NetPool *pool;     /* NULL: the default pool */
        pid_t owner;             /* the process whose life the setup follows; 0: getpid() */
        const char *dnsmasq;     /* the binary; NULL: "dnsmasq" from $PATH */
        bool netns_persists;     /* the namespace outlives the container (--network-namespace-path):
                                  * teardown deletes the veths rather than leave them to its end */
} NetOptions;

#define NET_OPTIONS_INIT ((NetOptions){.dns = true})

/* Whether the options ask for a private network at all (every network option implies one). */
bool net_options_want_network(const NetOptions *o);

typedef struct NetSetup NetSetup;

/* Makes the container's network: lo up inside, the links, addresses and routes on both sides,
 * nft rules, dnsmasq. netns_fd: the container's network namespace (duplicated). On failure
 * everything made so far is undone and nothing is recorded. */
int net_setup(const char *machine, int netns_fd, const NetOptions *o, NetSetup **ret, Diag *diag);
int net_setup_pid(const char *machine, pid_t pid, const NetOptions *o, NetSetup **ret, Diag *diag);

/* What the container got: its and the host side's addresses (family AF_UNSPEC when none), the
 * host-side interface name ("" when none). */
typedef struct NetSetupInfo {
        char host_ifname[NET_IFNAME_MAX + 1];
        char container_ifname[NET_IFNAME_MAX + 1]; /* "host0" */
        NetPrefix container4, host4;               /* with the subnet's prefix length */
        NetPrefix container6, host6;
        uint8_t container_mac[6];
} NetSetupInfo;
const NetSetupInfo *net_setup_info(const NetSetup *s);

/* The container's /etc/resolv.conf: NET_RESOLV_CONF_HEADER "nameserver HOST-SIDE-ADDRESS\n" when a
 * dnsmasq serves it, NULL otherwise (then the caller does as without networking). The header tells
 * such a file from the container's own: a copy an earlier run left in a writable root names a
 * dnsmasq that is gone. */
#define NET_RESOLV_CONF_HEADER "# cowpen: the dnsmasq on the host side of this container's network\n"
const char *net_setup_resolv_conf(const NetSetup *s);
/* The same as a file of the runtime directory (a host path, for a bind mount or a copy into the
 * container), removed with the setup; NULL when there is none. */
const char *net_setup_resolv_conf_path(const NetSetup *s);

/* Undoes net_setup(): moves interfaces back out, deletes links, rules, lease and state, stops the
 * veth's dnsmasq, and the zone (bridge, dnsmasq, rules) when this was its last container. Goes on
 * after a failure and returns the first. Frees s. NULL is fine. Call it once the container's
 * processes are gone: the veths (host sides ve-/vb-, --network-veth-extra's) are not deleted but
 * go with the container's network namespace, which the kernel destroys in the background once the
 * caller's own references to it are closed too (unless o->netns_persists); they are recorded, and
 * the next setup of the same name waits for them to go (deletes them after a few seconds). */
int net_teardown(NetSetup *s, Diag *diag);
/* Frees without undoing (for a forked child that must not tear down its parent's network). */
void net_setup_free(NetSetup *s);

/* Removes what owners that are gone left behind under the runtime directory (dir: NULL for the
 * default): their links, rules, dnsmasq instances, forwarders and leases, then zones without a
 * live container, and cowpen's nft table when nothing is left. Returns how many machines and zones
 * it removed. */
int net_sweep(const char *runtime_dir, Diag *diag);
/* net_sweep() only when a record names an owner that is gone (or a zone without a live member):
 * cheap when nothing is stale (the records are read; neither rtnetlink nor nftables is touched,
 * nor their libraries loaded), and nothing at all when the runtime directory does not exist. For a
 * run without a network of its own. */
int net_sweep_if_stale(const char *runtime_dir, Diag *diag);

/* ---- Process identity (net-state.c) ---- */

/* pid_starttime() (proc-util.h) tells a process from a later one that reuses its PID. */
/* 1 when pid runs and started at starttime, 0 otherwise. */
int net_process_alive(pid_t pid, uint64_t starttime);
