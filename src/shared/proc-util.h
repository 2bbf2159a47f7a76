/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What /proc/PID tells of a process (proc-util.c). */

#include <stdint.h>
#include <sys/types.h>

/* The start time of process pid (field 22 of /proc/PID/stat, in clock ticks since boot): with the
 * PID it names one process, never a later one that reuses the PID. -ESRCH when there is none. */
#define PROC_STAT_SIZE_MAX 4096U
int pid_starttime(pid_t pid, uint64_t *ret);

/* The cgroup of process pid (0: ourselves) in the unified hierarchy, "0::PATH" of
 * /proc/PID/cgroup, as its cgroup namespace shows it to us. -ESRCH when there is no such process,
 * -ENOMEDIUM when it has no cgroup2 line. */
#define PROC_CGROUP_SIZE_MAX (64U * 1024U)
int pid_cgroup2_path(pid_t pid, char **ret);

/* The hex mask of a field of /proc/PID/status ("CapBnd", "SigCgt", …); -EBADMSG when it has none. */
#define PROC_STATUS_SIZE_MAX (64U * 1024U)
int pid_status_mask(pid_t pid, const char *field, uint64_t *ret);
/* What process pid does with sig, from /proc/PID/status: 1 caught (a handler, or blocked, as
 * systemd takes signals with signalfd()), -1 ignored, 0 the default (or no such process). */
int pid_signal_disposition(pid_t pid, int sig);
