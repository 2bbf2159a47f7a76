/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* rtnetlink through libmnl (the only file that includes libmnl.h is net-netlink.c). A Rtnl is a
 * socket in one network namespace: the caller's, or another one given by fd (the socket is made
 * there by a short setns() of the calling thread, so it keeps working in that namespace for its
 * whole life). Requests ask for the kernel's extended acknowledgement, so a failure's Diag carries
 * the kernel's own explanation where it gives one; the object is always the interface concerned. */

#include "net.h"

typedef struct Rtnl Rtnl;

/* libmnl is loaded with dlopen() on first use (rtnl_open() does it): -ELIBACC/-ELIBBAD with the
 * detail (dlopen-util.h) when it cannot be. */
int dlopen_libmnl(const char **ret_detail);

/* netns_fd < 0: the caller's namespace. */
int rtnl_open(int netns_fd, Rtnl **ret);
void rtnl_close(Rtnl *nl);
DEFINE_TRIVIAL_CLEANUP_FUNC(Rtnl *, rtnl_close);
#define _cleanup_rtnl_ _cleanup_(rtnl_closep)

/* The interface's index, -ENODEV when there is none. */
int rtnl_link_index(Rtnl *nl, const char *name);

typedef struct RtnlLink {
        int ifindex;
        char name[NET_IFNAME_MAX + 1];
        char kind[32];  /* IFLA_INFO_KIND: "veth", "bridge", "dummy", …; "" for physical ones */
        int master;     /* IFLA_MASTER, 0 when none */
        unsigned flags; /* IFF_* */
        uint8_t mac[6];
} RtnlLink;
/* By name; -ENODEV when there is none. */
int rtnl_link_get(Rtnl *nl, const char *name, RtnlLink *ret, Diag *diag);
/* All links, an array of *ret_n. */
int rtnl_link_dump(Rtnl *nl, RtnlLink **ret, size_t *ret_n, Diag *diag);

/* A link of a kind that needs nothing more ("dummy", "bridge"); mac may be NULL. -EOPNOTSUPP "kernel
 * lacks KIND support" when the kernel does not know the kind. */
int rtnl_link_add(Rtnl *nl, const char *name, const char *kind, const uint8_t *mac, Diag *diag);
/* A veth pair: name here, peer in peer_netns_fd (< 0: here too). Macs may be NULL. */
int rtnl_veth_add(Rtnl *nl, const char *name, const uint8_t *mac, const char *peer, const uint8_t *peer_mac,
        int peer_netns_fd, Diag *diag);
/* A macvlan (bridge mode) or ipvlan (L2 mode) on parent (in nl's namespace) named name in netns_fd. */
int rtnl_macvlan_add(Rtnl *nl, const char *parent, const char *name, const uint8_t *mac, int netns_fd, Diag *diag);
int rtnl_ipvlan_add(Rtnl *nl, const char *parent, const char *name, int netns_fd, Diag *diag);

/* Creates the bridge unless it exists; an existing interface of that name that is not a bridge is
 * -ENOTTY "not a bridge". Returns 1 when created, 0 when it existed. */
int rtnl_bridge_ensure(Rtnl *nl, const char *name, Diag *diag);
/* -ENODEV when missing, -ENOTTY "not a bridge". Returns its index. */
int rtnl_bridge_check(Rtnl *nl, const char *name, Diag *diag);
/* How many links are enslaved to the bridge. */
int rtnl_bridge_members(Rtnl *nl, const char *name, Diag *diag);
/* Deletes the bridge when no link is enslaved to it (1), keeps it otherwise (0); 0 when missing. */
int rtnl_bridge_remove_if_empty(Rtnl *nl, const char *name, Diag *diag);

int rtnl_link_set_master(Rtnl *nl, const char *name, const char *master, Diag *diag);
int rtnl_link_set_up(Rtnl *nl, const char *name, bool up, Diag *diag);
/* Moves the link into netns_fd, renamed to new_name when not NULL. */
int rtnl_link_move(Rtnl *nl, const char *name, int netns_fd, const char *new_name, Diag *diag);
int rtnl_link_move_pid(Rtnl *nl, const char *name, pid_t pid, const char *new_name, Diag *diag);
/* Deletes the link; 0 when it was not there, 1 when deleted. */
int rtnl_link_delete(Rtnl *nl, const char *name, Diag *diag);

/* IPv6 addresses are added with IFA_F_NODAD (our own addresses on our own links are unique, and
 * the container must be reachable at once). */
int rtnl_addr_add(Rtnl *nl, const char *ifname, const NetPrefix *addr, Diag *diag);
/* A route to dst via gateway (either may be NULL: NULL dst is the default route, NULL gateway a
 * link route) on the interface. */
int rtnl_route_add(Rtnl *nl, const char *ifname, const NetPrefix *dst, const NetPrefix *gateway, Diag *diag);

/* Every address (with its prefix length) and every route destination (all tables, without default
 * routes) of the namespace, for family (AF_INET, AF_INET6 or AF_UNSPEC for both). */
int rtnl_prefixes_in_use(Rtnl *nl, int family, NetPrefix **ret, size_t *ret_n, Diag *diag);
