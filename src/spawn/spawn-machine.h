/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The run's entry in the machine registry (machine.h): its name reserved before anything of the
 * container is made (a second run of a running name is refused at once), its record written once
 * the container's setup is done, and both gone when the run ends. */

#include "machine.h"
#include "spawn-cgroup.h"
#include "spawn-network.h"
#include "spawn.h"

/* The name is the machine's (root->machine), with a random suffix for -x runs whose name was
 * derived from the directory or image file (c->machine_derived), as nspawn does, so that many
 * throw-away runs of one tree can run at once. */
int spawn_machine_reserve(MachineRegistration *reg, const SpawnConfig *c, const PreparedRoot *root, Diag *diag);
/* leader: the container's PID 1 as we see it. since_usec: CLOCK_REALTIME at its start. */
int spawn_machine_register(MachineRegistration *reg, const SpawnConfig *c, const PreparedRoot *root, pid_t leader,
        const SpawnCgroup *cg, const SpawnNet *net, uint64_t since_usec, Diag *diag);
