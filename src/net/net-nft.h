/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cowpen's firewall rules, through libnftables (net-nft.c is the only file that includes it), all
 * in one table of our own, "table inet cowpen"; no other table is ever read, changed or flushed.
 * Each rule carries its owner in its comment ("cowpen machine NAME", "cowpen zone NAME"), so that
 * teardown and the sweep remove exactly an owner's rules by handle. */

#include "net.h"

#define NET_NFT_TABLE "cowpen"

typedef struct NetNftMachine {
        const char *machine;
        const char *guard_ifname; /* the routed host-side interface (ve-…), NULL for zone members */
        const NetPrefix *masq4;   /* the subnet to masquerade going out, NULL: none (zones do it) */
        const NetPrefix *masq6;
        const NetPrefix *container4; /* port forward targets */
        const NetPrefix *container6;
        const NetPortForward *ports;
        size_t n_ports;
} NetNftMachine;

int net_nft_add_machine(const NetNftMachine *m, Diag *diag);
/* A zone's rules: masquerading for its subnets and the 127.0.0.0/8 guard on its bridge. */
int net_nft_add_zone(
        const char *zone, const char *bridge, const NetPrefix *subnet4, const NetPrefix *subnet6, Diag *diag);

typedef enum NetNftOwnerKind {
        NET_NFT_MACHINE,
        NET_NFT_ZONE,
} NetNftOwnerKind;

/* Removes the owner's rules; returns how many. */
int net_nft_remove(NetNftOwnerKind kind, const char *name, Diag *diag);
/* The owners that have rules, as "machine NAME" / "zone NAME" strings (NULL-terminated). An absent
 * table is an empty list. */
int net_nft_owners(char ***ret, Diag *diag);
/* Deletes the table with whatever is in it (for the last owner, whose records say nobody else
 * has rules: one command instead of listing and deleting rule by rule). */
int net_nft_delete_table(Diag *diag);
/* Deletes the table when no rule is left in it (1), keeps it otherwise (0). */
int net_nft_remove_table_if_unused(Diag *diag);
