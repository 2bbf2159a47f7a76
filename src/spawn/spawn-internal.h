/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the files of src/spawn; not part of its public interface (spawn.h). */

#include <poll.h>
#include <termios.h>

#include "diag.h"
#include "spawn.h"
#include "spawn-boot.h"

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
        const SpawnBoot *boot; /* -b: notify socket (spawn-boot.h) */
        const struct SpawnCgroup *cgroup; /* the container's cgroup (spawn-cgroup.h) */
        const struct SpawnUserns *userns; /* --private-users: the namespaces (spawn-userns.h) */
        int handoff_fd;      /* --private-users: the setup's end of the socket to init */
        int init_fd;         /* --private-users: init's end */
        int close_fds[4];    /* the parent's own fds, closed first by the child */
        const struct SpawnSeccomp *seccomp; /* the compiled system-call filter (spawn-seccomp.h) */
        int stub_fd;         /* -a: the stub init in a sealed memfd (spawn-stub.c) */
        bool in_cgroup;      /* made in the container's cgroup (spawn_clone) */
        const struct BindOwnerMaps *owner_maps; /* --bind=…:rootidmap */
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

/* clone3()'s arguments (struct clone_args of Linux 5.7), for spawn-clone.c and the -a fork. */
typedef struct CloneArgs {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
                cgroup;
} CloneArgs;

/* spawn-clone.c: a process made directly in the cgroup cgroup_fd (clone3 CLONE_INTO_CGROUP),
 * where the kernel can; else as clone() makes it (it then moves itself: *ret_in_cgroup, which
 * the child sees as it was at its clone, is false). With share_memory, the child borrows our memory until it execs (CLONE_VM|CLONE_VFORK)
 * and runs fn(arg) on a stack of its own; else it gets a copy, as with fork(). */
pid_t spawn_clone(int flags, int cgroup_fd, bool share_memory, int (*fn)(void *), void *arg, bool *ret_in_cgroup);

/* spawn-stub.c: the -a stub init. The parent makes the memfd; the container's first process,
 * once it is what PID 1 should be, execs it with the payload's PID. Returns only on failure. */
int spawn_stub_memfd(int *ret);
int spawn_stub_exec(int stub_fd, pid_t payload, const uint8_t id[16]);

/* spawn-mount.c: run in the child, in its new mount namespace, before pivot_root. */
/* Makes the prepared root a mount point of its own (bound on itself, or the -x overlay mounted);
 * *ret_path is where (borrowed from p). */
int mount_root(const PreparedRoot *p, const char **ret_path, Diag *diag);
/* Then (once the root is presented to a user namespace) --volatile on top of root, its tmpfs
 * owned by root_uid (the container's root), and no device node below it; *ret_path is root's
 * path copied into buf. */
int mount_root_finish(const SpawnConfig *c, const char *root, uid_t root_uid, char *buf, size_t buflen,
                      const char **ret_path, Diag *diag);
int mount_api_vfs(int root_fd, const SpawnConfig *c, const char *console_path, Diag *diag);
/* --bind=…:rootidmap: per mount (c->mounts' index), a user namespace mapping the source's owner
 * to the container's root, made by the parent (spawn_run: it needs the host's /proc), and the
 * owner it mapped; -EBADF where there is none. */
typedef struct BindOwnerMaps {
        int *fds;
        uid_t *owners;
        size_t n;
} BindOwnerMaps;
/* userns_fd: the container's user namespace (--private-users), for idmapped bind mounts; -EBADF
 * without one. */
int mount_custom(int root_fd, const SpawnConfig *c, int userns_fd, const BindOwnerMaps *o, Diag *diag);
/* --inaccessible: after the custom mounts, so that a mask lies on top of them. */
int mount_inaccessible(int root_fd, const SpawnConfig *c, Diag *diag);
int mount_make_root_read_only(const char *root_path, Diag *diag);

/* spawn-files.c: /etc files inside the root (before pivot_root). */
int setup_machine_id(int root_fd, const SpawnConfig *c, uint8_t ret_id[16], Diag *diag);
int setup_resolv_conf(int root_fd, const SpawnConfig *c, Diag *diag);
int setup_timezone(int root_fd, const SpawnConfig *c, Diag *diag);
int loopback_up(void);

/* spawn-console.c: the parent's side of the pty. */
typedef struct Console {
        ConsoleMode mode;
        int master, slave;
        char slave_path[64];
        bool raw;
        struct termios saved;
        char in_buf[4096], out_buf[16384];
        size_t in_len, out_len;
        bool in_eof, master_hup;
        unsigned escape_count;
        uint64_t escape_first_usec;
} Console;

int console_open(Console *c, ConsoleMode mode);
int console_start(Console *c);   /* raw mode on stdin when it is a terminal */
void console_winch(Console *c);
void console_close(Console *c);  /* restores the terminal, closes the pty */
size_t console_poll_fill(Console *c, struct pollfd *p);
/* Returns 1 when Ctrl-] was pressed three times within a second. */
int console_poll_handle(Console *c, const struct pollfd *p, size_t n);
void console_drain(Console *c);
