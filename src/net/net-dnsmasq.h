/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* dnsmasq (package dnsmasq-base), one instance per veth and per zone, started by us on the host
 * side of the link and bound to it only (--bind-interfaces): DHCP for exactly the addresses we
 * assigned (a "static" range: only the MACs in its DHCP hosts file get a lease, always the address
 * the pool gave them, so a guest that runs a DHCP client, systemd-networkd say, ends up with the
 * address we configured), and DNS: the container names of its hosts file, everything else
 * forwarded to the host's resolvers (/etc/resolv.conf as dnsmasq reads it). Its files live in the
 * runtime directory's dnsmasq/ID.{hosts,dhcp,leases,pid}; the hosts files are rewritten (atomically)
 * and dnsmasq re-reads them on SIGHUP. dnsmasq drops its privileges (to nobody) and reads them
 * after that: the runtime directory must be searchable by everyone (it is made 0755). */

#include "net-state.h"

typedef struct NetDnsHost {
        const char *name;
        NetPrefix addr4;
        uint8_t mac[6];
} NetDnsHost;

/* Writes ID.hosts and ID.dhcp. */
int net_dnsmasq_write_hosts(NetState *st, const char *id, const NetDnsHost *hosts, size_t n, Diag *diag);
/* Starts dnsmasq on ifname, whose address host4 must be configured already; returns once it
 * serves (or failed: its own message is the cause). */
int net_dnsmasq_start(NetState *st, const char *id, const char *ifname, const NetPrefix *host4,
        const NetPrefix *range4, const char *binary, NetProc *ret, Diag *diag);
/* The same in two steps, so that the caller goes on while dnsmasq starts (it takes 10…15 ms, most
 * of it exec and dynamic linking): net_dnsmasq_spawn() forks it, net_dnsmasq_wait() waits until it
 * serves (its first process exits once the daemon has bound its sockets). A pending start that is
 * not waited for is ended with net_dnsmasq_abandon(). */
typedef struct NetDnsmasqPending {
        pid_t child; /* 0: none */
        int errfd;
        char ifname[NET_IFNAME_MAX + 1];
} NetDnsmasqPending;
#define NET_DNSMASQ_PENDING_NULL ((NetDnsmasqPending){.errfd = -EBADF})
int net_dnsmasq_spawn(NetState *st, const char *id, const char *ifname, const NetPrefix *host4,
        const NetPrefix *range4, const char *binary, NetDnsmasqPending *ret, Diag *diag);
int net_dnsmasq_wait(NetState *st, const char *id, NetDnsmasqPending *p, NetProc *ret, Diag *diag);
void net_dnsmasq_abandon(NetState *st, const char *id, NetDnsmasqPending *p);
/* SIGHUP: re-read the hosts files. */
int net_dnsmasq_reload(const NetProc *p);
/* Stops it and removes its files. */
int net_dnsmasq_stop(NetState *st, const char *id, const NetProc *p);
