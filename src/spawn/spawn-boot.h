/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Booting an init (-b/--boot): what systemd-nspawn gives a booting systemd, busybox or OpenRC
 * init, and what the engine needs to tell poweroff from reboot.
 *
 * The parent (spawn.c) calls spawn_boot_prepare() before clone(): it makes the notify socket;
 * the container's cgroup (spawn-cgroup.h, made for every run) is delegated to a booted init. The
 * child (spawn-child.c) mounts that cgroup writable at /sys/fs/cgroup and the notify socket
 * (spawn_boot_child_mounts) and execs the init found in the image (spawn_boot_find_init). When PID 1 ends, the kernel's verdict
 * on reboot() in a PID namespace tells the outcome: killed by SIGINT = poweroff/halt (status 0),
 * by SIGHUP = reboot (SPAWN_STATUS_REBOOT: the caller starts the container again).
 *
 * Untrusted input: the container's tree (the init is looked up with RESOLVE_IN_ROOT after
 * pivot_root, so only the container's own files count) and the datagrams the container sends to
 * the notify socket (size-limited, parsed as NUL-free text lines). */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "spawn.h"

/* A datagram on the notify socket is at most this long; longer ones are dropped. */
#define BOOT_NOTIFY_MESSAGE_MAX 4096U

typedef struct SpawnBoot {
        char *notify_dir;   /* host directory holding the notify socket */
        char *notify_path;  /* the socket's host path */
        int notify_fd;      /* the parent's receiving end */
        bool ready;         /* READY=1 received (or not waited for) */
        bool notify_ready;  /* --notify-ready=yes: report readiness only when the container does */
} SpawnBoot;

#define SPAWN_BOOT_NULL                                                                                               \
        { .notify_fd = -EBADF }

/* Parent, before clone. */
int spawn_boot_prepare(SpawnBoot *b, const SpawnConfig *c, const char *machine, Diag *diag);
/* Parent, after the container ended: removes the socket. */
void spawn_boot_done(SpawnBoot *b);
/* Parent: reads what waits on the notify socket; on READY=1 tells our own $NOTIFY_SOCKET. */
void spawn_boot_notify_handle(SpawnBoot *b);
/* Parent: the container is up (its init was executed); without --notify-ready, READY=1 now. */
void spawn_boot_started(SpawnBoot *b);
/* Parent: maps how PID 1 ended (waitid's si_code and si_status) to the run's status. */
int spawn_boot_status(int code, int status);

/* Child, before pivot_root: the writable cgroup2 at sys/fs/cgroup, the notify socket at
 * /run/host/notify. */
struct SpawnCgroup;
int spawn_boot_child_mounts(int root_fd, const SpawnBoot *b, const struct SpawnCgroup *cgroup);
/* Child, after pivot_root: the init to execute, with the command's words as its arguments.
 * *ret_argv is a new vector (argv[0] = the init's path). */
int spawn_boot_find_init(char **args, char ***ret_argv);
/* Child: extra environment for init (NOTIFY_SOCKET). */
const char *spawn_boot_notify_env(const SpawnBoot *b);


/* Parent: asks a sysvinit-style init (which ignores SIGRTMIN+3 and has no signal that halts it)
 * for runlevel 0, as telinit 0 does: a request on its /run/initctl (or /dev/initctl) FIFO,
 * found inside the container with RESOLVE_IN_ROOT and written without blocking. 0 when the
 * request was written; -ENOENT, -ENXIO (no reader), -EAGAIN (full) or another -errno when not. */
int spawn_boot_request_halt(pid_t init);

/* The signal that shuts a booted container down cleanly (systemd: SIGRTMIN+3, halt). */
static inline int spawn_boot_kill_signal(void) {
        return SIGRTMIN + 3;
}
