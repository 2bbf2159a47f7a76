/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What cowpen's networking has made, recorded under the runtime directory so that another run can
 * tell what is in use and remove what a dead owner left:
 *
 *   lock                 flock()ed (exclusively, waiting) around every change
 *   machines/MACHINE     one per container with a network: its owner, links, lease, ports, helpers
 *   zones/ZONE           one per zone: its bridge, subnet and dnsmasq
 *   dnsmasq/ID.*         a dnsmasq instance's hosts, DHCP hosts, lease and pid files
 *
 * Records are "key=value" lines, replaced atomically (atomic-file.h). A machine record's owner is a
 * PID with its start time (/proc/PID/stat), so a record whose owner is gone (or whose PID was
 * reused) is stale. */

#include "net.h"

typedef struct NetProc {
        pid_t pid; /* 0: none */
        uint64_t starttime;
} NetProc;

#define NET_PORTS_MAX 64
#define NET_PAIRS_MAX 32

typedef struct NetMachineState {
        char machine[NET_MACHINE_NAME_MAX + 1];
        NetProc owner;
        char host_ifname[NET_IFNAME_MAX + 1];           /* ve-/vb-, "" when none */
        char zone[NET_IFNAME_MAX + 1];                  /* the zone's name, "" when none */
        NetPrefix container4, host4, container6, host6; /* family 0 when none */
        uint8_t mac[6];                                 /* the container side's */
        NetProc dnsmasq;                                /* the veth's own */
        NetProc forwarder;                              /* the ::1 forwarder */
        NetPortForward ports[NET_PORTS_MAX];
        size_t n_ports;
        char extra_host[NET_PAIRS_MAX][NET_IFNAME_MAX + 1]; /* host sides of --network-veth-extra */
        size_t n_extra;
        bool rules; /* nft rules were (or may have been) added */
} NetMachineState;

typedef struct NetZoneState {
        char zone[NET_IFNAME_MAX + 1];
        char bridge[NET_IFNAME_MAX + 1];
        NetPrefix subnet4, host4, subnet6, host6;
        NetProc dnsmasq;
        bool rules;
} NetZoneState;

typedef struct NetState {
        char *dir;
        int dir_fd;
        int lock_fd;
} NetState;

/* Creates the directory (0755) and its subdirectories if missing and takes the lock, waiting. */
int net_state_open(const char *dir, NetState *ret, Diag *diag);
void net_state_close(NetState *st);

int net_machine_load(NetState *st, const char *machine, NetMachineState *ret); /* -ENOENT */
int net_machine_save(NetState *st, const NetMachineState *m, Diag *diag);
int net_machine_remove(NetState *st, const char *machine);
/* All machine records (names), NULL-terminated. */
int net_machine_list(NetState *st, char ***ret);

int net_zone_load(NetState *st, const char *zone, NetZoneState *ret);
int net_zone_save(NetState *st, const NetZoneState *z, Diag *diag);
int net_zone_remove(NetState *st, const char *zone);
int net_zone_list(NetState *st, char ***ret);

/* Whether the record's owner still runs. */
bool net_machine_is_live(const NetMachineState *m);

/* A free subnet of prefix length 31 (veth) or 24 (zone) from the pool: overlapping nothing in
 * in_use (the namespace's addresses and routes) and no record's subnet. -EADDRNOTAVAIL "address
 * pool exhausted" when there is none. */
int net_pool_allocate(NetState *st, const NetPool *pool, unsigned prefixlen, const NetPrefix *in_use, size_t n_in_use,
        NetPrefix *ret, Diag *diag);
/* The default pool. */
const NetPool *net_pool_default(void);
/* The IPv6 ULA that goes with an IPv4 address (NET_IPV6_ULA_PREFIX + its 32 bits; prefix 96 + len). */
void net_ipv6_from_ipv4(const NetPrefix *v4, NetPrefix *ret);
/* The address at offset from the subnet's first, with the subnet's prefix length. */
void net_prefix_nth(const NetPrefix *subnet, uint32_t n, NetPrefix *ret);

/* Kills (SIGTERM, then SIGKILL after a while) p when it is still the process recorded. */
int net_proc_kill(const NetProc *p);
