/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-stub.c: the -a stub init. The parent makes the memfd; the container's first process,
 * once it is what PID 1 should be, execs it with the payload's PID. */

#include <stdint.h>
#include <sys/types.h>

int spawn_stub_memfd(int *ret);
/* Returns only on failure. */
int spawn_stub_exec(int stub_fd, pid_t payload, const uint8_t id[16]);
