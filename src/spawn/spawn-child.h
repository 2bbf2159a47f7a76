/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-child.c: the container's first process (namespaces joined, mounts, /etc files, host name,
 * pivot_root, identity, exec; the -a stub init), and with --private-users the container's init,
 * which takes the prepared mount namespace over. Both report a failure to the parent on the error
 * pipe and never print. */

#include <signal.h>

#include "diag.h"
#include "spawn.h"

struct SpawnBoot;
struct SpawnCgroup;
struct SpawnUserns;
struct SpawnSeccomp;
struct BindOwnerMaps;

/* What the parent hands to the container's first process (and to its init). */
typedef struct ChildArgs {
        SpawnConfig *config;
        const PreparedRoot *root;
        int error_fd;        /* write end of the error pipe */
        int alive_fd;        /* read end of a pipe whose write end only the parent holds */
        int alive_w;         /* the parent's write end, closed by the child */
        int console_fd;      /* pty slave, or -EBADF in pipe mode */
        const char *console_path; /* its name (/dev/pts/N), to bind it in the child's namespace */
        const sigset_t *saved_mask;
        const char *term;    /* $TERM for the payload (cowpen's own), or NULL */
        const struct SpawnBoot *boot; /* -b: notify socket (spawn-boot.h) */
        const struct SpawnCgroup *cgroup; /* the container's cgroup (spawn-cgroup.h) */
        const struct SpawnUserns *userns; /* --private-users: the namespaces (spawn-userns.h) */
        int handoff_fd;      /* --private-users: the setup's end of the socket to init */
        int init_fd;         /* --private-users: init's end */
        int close_fds[6];    /* the parent's own fds, closed first by the child (the machine's lock too) */
        const struct SpawnSeccomp *seccomp; /* the compiled system-call filter (spawn-seccomp.h) */
        int stub_fd;         /* -a: the stub init in a sealed memfd (spawn-stub.h) */
        bool in_cgroup;      /* made in the container's cgroup (spawn_clone) */
        const struct BindOwnerMaps *owner_maps; /* --bind=…:rootidmap (spawn-mount.h) */
        int netns_fd;        /* the network namespace to join (spawn-network.h), -EBADF: none */
} ChildArgs;

/* The container's first process: sets everything up and execs the payload (or becomes the -a
 * stub init). Never returns. It may share the parent's memory (CLONE_VM|CLONE_VFORK): it then
 * must not change anything the parent reads afterwards (globals such as environ, args). */
_noreturn_ void spawn_child(ChildArgs *a);
/* --private-users: the container's init, made in the user namespace's PID namespace; it takes
 * over the mount namespace spawn_child() prepared and execs the payload. */
_noreturn_ void spawn_init(ChildArgs *a);
/* Parent: what the container's setup reported on the error pipe (read end fd): its failure,
 * recorded in diag and returned; 0 when the pipe closed without one (at the payload's exec). */
int spawn_child_read_error(int fd, Diag *diag);
