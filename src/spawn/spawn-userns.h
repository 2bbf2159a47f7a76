/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* --private-users: the payload runs in a user namespace whose uid/gid 0…N-1 are the host's
 * uid_shift…uid_shift+N-1. How the container's root gets to show the right owners
 * (--private-users-ownership):
 *   map   an idmapped mount (mount_setattr(MOUNT_ATTR_IDMAP) with that namespace) of a tree owned
 *         by 0…N-1: files on disk keep their owners;
 *   chown the tree's owners are shifted on disk (spawn-chown.c), its root directory last;
 *   off   nothing: the tree is already owned by the range (or the user wants it as it is);
 *   auto  (the default) off when the root directory already belongs to the range's base, map
 *         when it belongs to 0 (chown where the file system refuses idmapped mounts), chown when
 *         it belongs to another range.
 *
 * The parent makes the namespaces: a helper process unshares the user namespace and, as its
 * root, the UTS, IPC, PID (and with --private-network, network) namespaces it owns, and forks
 * the container's init into that PID namespace (PID 1, cowpen's child through CLONE_PARENT); the
 * parent writes the maps and keeps fds. Init waits (spawn_init). The setup process is cloned
 * into the same PID namespace with the host's privileges, joins the UTS, IPC and network
 * namespaces, does every mount (/proc is the PID namespace's), presents the root, hands the API
 * file systems' top directories to the container's root and pivots; then it joins the user
 * namespace, unshares a mount namespace owned by it (its mounts locked together) and sends that
 * to init, which joins it, becomes uid 0, unshares a cgroup namespace and execs. So init may
 * reboot (reboot(2) in its PID namespace ends it with SIGHUP), set the host name and run logind.
 *
 * Untrusted input: the owner of the image's root directory (for "yes" and the ownership
 * decision); the tree itself for chown (spawn-chown.h). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"
#include "spawn.h"

/* What the parent decided and made, for the child. */
typedef struct SpawnUserns {
        int userns_fd;              /* the user namespace (maps written), or -EBADF */
        int uts_fd, ipc_fd, net_fd; /* namespaces it owns, joined by the child */
        int pid_fd;                 /* its PID namespace, into which the child is cloned */
        int lock_fd;                /* pick: the range's lock */
        bool idmap;                 /* present the root through an idmapped mount */
        bool chown_fallback;        /* ...or, where that is refused, chown */
        bool chown;                 /* shift the tree's owners from chown_from to the range */
        uid_t chown_from;
        pid_t init_pid;             /* the container's init, waiting for the setup (spawn_init) */
} SpawnUserns;

#define SPAWN_USERNS_NULL                                                                          \
        ((SpawnUserns) { .userns_fd = -EBADF, .uts_fd = -EBADF, .ipc_fd = -EBADF, .net_fd = -EBADF, \
                         .pid_fd = -EBADF, .lock_fd = -EBADF, .init_pid = -1 })

void spawn_userns_done(SpawnUserns *u);

#define USERNS_PICK_MIN UINT32_C(0x00080000)
#define USERNS_PICK_MAX UINT32_C(0x6FFF0000)
#define USERNS_PICK_ATTEMPTS 100U

/* Parent, first: resolves yes/pick into c->uid_shift (pick holds a lock on the range while the
 * container runs) and decides the ownership mode from the root directory's owner. */
int spawn_userns_prepare(SpawnConfig *c, int root_fd, const char *machine, SpawnUserns *ret, Diag *diag);
/* The container's init: fn(arg), in a copy of our memory as it is at spawn_userns_make(), made
 * in the cgroup cgroup_fd where the kernel can (spawn_clone(): *ret_in_cgroup, in init's copy,
 * says whether it was). */
typedef struct SpawnUsernsInit {
        int (*fn)(void *arg);
        void *arg;
        int cgroup_fd;
        bool *ret_in_cgroup;
        int join_netns_fd; /* >= 0: the network namespace it owns is this one (joined), not a new one */
} SpawnUsernsInit;

/* Parent, once everything init needs is in place: makes the namespaces and the container's init,
 * which waits for the setup's hand-over (spawn_userns_take_over()). */
int spawn_userns_make(const SpawnConfig *c, const SpawnUsernsInit *init, SpawnUserns *u, Diag *diag);

/* Parent, around clone: the child is created in the PID namespace, the parent's own is
 * restored right after. */
int spawn_userns_clone_begin(const SpawnUserns *u, int *ret_saved_pid_ns);
int spawn_userns_clone_end(int saved_pid_ns);
/* The clone flags of the namespaces that the parent did not make. */
int spawn_userns_clone_flags(const SpawnUserns *u, int flags);

/* A user namespace of its own mapping uid and gid from…from+n-1 to to…, for an idmapped mount
 * (--bind=…:rootidmap): made by a helper process that lives only until we hold its fd. */
int spawn_userns_mapping(uid_t from, uid_t to, uid_t n, int *ret_fd);

/* Child, first: joins the UTS, IPC and network namespaces. */
int spawn_userns_join(const SpawnUserns *u);
/* Child, before the root is opened: the root mount idmapped, or its tree chowned (diag says which
 * step failed). overlay: the root is the -x overlay (then neither can be done: -EOPNOTSUPP). */
int spawn_userns_present_root(const SpawnUserns *u, const SpawnConfig *c, const char *root_path, bool overlay,
                              Diag *diag);
/* Child, after the API file systems: their top directories and the console pty belong to the
 * container's root. */
int spawn_userns_chown_api(int root_fd, const SpawnConfig *c, int console_fd);
/* Child, after pivot_root: into the user namespace and a mount namespace it owns, whose fd goes
 * to init over sock (with the machine ID). in_namespace (may be NULL) runs there first, for what
 * only the user namespace may mount (binfmt_misc: spawn-arch.c); its failure is returned. */
int spawn_userns_handoff(
        const SpawnUserns *u, int sock, const uint8_t id[16], int (*in_namespace)(void *userdata), void *userdata);
/* Init: waits for that, joins the mount namespace, becomes uid 0 and unshares its cgroup
 * namespace. -ECONNRESET when the setup ended without a hand-over (it reported why). */
int spawn_userns_take_over(int sock, uint8_t ret_id[16]);
