/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-clone.c: making the container's processes directly in their cgroup. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* clone3()'s arguments (struct clone_args of Linux 5.7), for spawn-clone.c and the -a fork. */
typedef struct CloneArgs {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
                cgroup;
} CloneArgs;

/* A process made directly in the cgroup cgroup_fd (clone3 CLONE_INTO_CGROUP), where the kernel
 * can; else as clone() makes it (it then moves itself: *ret_in_cgroup, which the child sees as
 * it was at its clone, is false). With share_memory, the child borrows our memory until it execs
 * (CLONE_VM|CLONE_VFORK) and runs fn(arg) on a stack of its own; else it gets a copy, as with
 * fork(). */
pid_t spawn_clone(int flags, int cgroup_fd, bool share_memory, int (*fn)(void *), void *arg, bool *ret_in_cgroup);
