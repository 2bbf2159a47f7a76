/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The userspace TCP forwarder for port forwards on the host's ::1, which the kernel cannot DNAT
 * (see net-nft.c). A forked child of the caller (it dies with it: PR_SET_PDEATHSIG) that listens on
 * [::1]:HOSTPORT for each TCP forward and relays each connection to the container (its IPv6 address,
 * else its IPv4 one) at CONTAINERPORT. */

#include "net-state.h"

#define NET_FORWARD_CONNECTIONS_MAX 256

/* ret->pid is 0 when there is nothing to forward (no TCP forward, or no ::1 on this host: a
 * warning in diag). A port another program holds on ::1 is skipped with a warning. */
int net_forward_start(const NetPortForward *ports, size_t n_ports, const NetPrefix *target6, const NetPrefix *target4,
        NetProc *ret, Diag *diag);
