/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Foreign architectures (spawn-arch.c): whether the image's programs can run here, and with
 * --private-users a qemu-user handler registered in the container's own user namespace. */

#include <stdbool.h>

#include "diag.h"

/* What a handler's registration line holds at most (the kernel's own limit is a page). */
#define SPAWN_ARCH_REGISTER_MAX 512U
/* binfmt_misc entries read from the host at most, and the most of one entry's text. */
#define SPAWN_ARCH_BINFMT_ENTRIES_MAX 256U
#define SPAWN_ARCH_BINFMT_ENTRY_SIZE_MAX 4096U

typedef struct SpawnArch {
        const char *image_arch; /* static; NULL when unknown (then nothing is checked) */
        int interpreter_fd;     /* -U, no host handler: qemu-user, opened on the host */
        char register_line[SPAWN_ARCH_REGISTER_MAX];
} SpawnArch;

#define SPAWN_ARCH_NULL ((SpawnArch){.interpreter_fd = -EBADF})

/* Before the root is mounted (host paths visible): the architecture of the tree at root_fd, and
 * for a foreign one a host binfmt_misc handler that matches its programs, enabled, with the F
 * flag (or whose interpreter is inside the tree); else, with userns and a qemu-user for it on the
 * host, the registration spawn_arch_register() makes. A foreign tree that cannot run here fails
 * with one line naming the architecture, the host's and the package to install. */
int spawn_arch_prepare(int root_fd, bool userns, SpawnArch *ret, Diag *diag);
/* In the container's user namespace and a mount namespace it owns, after pivot_root: binfmt_misc
 * mounted at /proc/sys/fs/binfmt_misc (an instance of the user namespace's own, kernel 6.7+) and
 * the handler registered there with the F flag. Nothing without a registration to make. */
int spawn_arch_register(const SpawnArch *a, Diag *diag);
void spawn_arch_done(SpawnArch *a);
