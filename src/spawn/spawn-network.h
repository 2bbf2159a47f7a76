/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-network.c, the engine's side: the container's network namespace and what src/net makes in
 * it, around one run (spawn.c calls these in this order):
 *
 *   spawn_net_prepare()  before the container's namespaces: what dead runs left is swept; without a
 *                        user namespace the network namespace is made here (or the one of
 *                        --network-namespace-path opened), for the child to join;
 *   spawn_net_setup()    once the namespaces exist and before the container's setup starts (so
 *                        before its payload or init): net_setup() in that namespace, and the
 *                        generated resolv.conf handed to the setup through c->network.resolv_conf;
 *   spawn_net_done()     after the container's last process: net_teardown(). */

#include "net.h"
#include "spawn.h"

typedef struct SpawnNet {
        int netns_fd;   /* made or opened by spawn_net_prepare(); -EBADF: none (or the user namespace's) */
        NetSetup *setup; /* what net_setup() made */
} SpawnNet;

#define SPAWN_NET_NULL ((SpawnNet){.netns_fd = -EBADF})

/* userns: a user namespace will own the network namespace (it makes a new one, or joins the
 * netns_fd made here for --network-namespace-path). */
int spawn_net_prepare(SpawnNet *n, const SpawnConfig *c, bool userns, Diag *diag);
/* netns_fd: the container's network namespace. */
int spawn_net_setup(SpawnNet *n, SpawnConfig *c, const char *machine, int netns_fd, Diag *diag);
void spawn_net_done(SpawnNet *n, SpawnConfig *c);
