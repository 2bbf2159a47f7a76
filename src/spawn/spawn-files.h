/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-files.c: the files of the container that the engine provides, made inside the root before
 * pivot_root, and the loopback interface of a private network. */

#include <stdint.h>

#include "diag.h"
#include "spawn.h"

/* The machine ID (--uuid, the image's, or a new one) into ret_id; bound over an empty
 * /etc/machine-id. */
int setup_machine_id(int root_fd, const SpawnConfig *c, uint8_t ret_id[16], Diag *diag);
int setup_resolv_conf(int root_fd, const SpawnConfig *c, Diag *diag);
int setup_timezone(int root_fd, const SpawnConfig *c, Diag *diag);
int loopback_up(void);
