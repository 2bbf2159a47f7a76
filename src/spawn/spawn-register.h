/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-register.c: a run's registration with systemd-machined and its scope unit, through
 * src/machine's machine-bus (machine.h says what is sent). spawn.c calls it three times:
 * spawn_register_prepare() before anything of the container exists (connects, and moves cowpen
 * into machine-NAME.scope, below which the container's cgroup is then made), spawn_register_leader()
 * once the container's PID 1 is known, spawn_register_done() at the end (UnregisterMachine). */

#include "diag.h"
#include "spawn.h"

struct MachineBus;

typedef struct SpawnRegister {
        struct MachineBus *bus; /* NULL: nothing registered (no, or auto without machined) */
        bool machine;           /* register the machine (not only a scope for --slice/--property) */
} SpawnRegister;

#define SPAWN_REGISTER_NULL ((SpawnRegister){})

/* --register=, --keep-unit, --slice=, --property=: decides, connects, makes the scope. auto
 * without a system bus or machined runs unregistered; yes fails with one phrase saying why;
 * --slice/--property without a systemd manager fail likewise. */
/* name: the machine's name in cowpen's registry (spawn-machine.h), the one machined gets too. */
int spawn_register_prepare(SpawnRegister *reg, const SpawnConfig *c, const PreparedRoot *root, const char *name,
        Diag *diag);
/* RegisterMachineWithNetwork of the container's PID 1. */
int spawn_register_leader(SpawnRegister *reg, const SpawnConfig *c, const PreparedRoot *root, const char *name, pid_t leader,
        const char *host_ifname, Diag *diag);
void spawn_register_done(SpawnRegister *reg);
