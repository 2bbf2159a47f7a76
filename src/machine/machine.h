/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The machine layer: the registry of running containers, and what other verbs do to a running
 * one from outside it (signals, copies, binds), and the registration with systemd-machined
 * where one runs (machine-bus.c, the one file that uses sd-bus). Above src/shared only; below
 * src/spawn (which registers each run) and src/cowpen (the machine verbs). It needs no daemon.
 *
 * The registry is a directory, machine_registry_dir():
 *   $COWPEN_MACHINES_DIR, else $COWPEN_RUNTIME_DIR/machines, else $RUNTIME_DIRECTORY/machines,
 *   else /run/cowpen/machines (the tests give each test a registry of its own: COWPEN_MACHINES_DIR)
 * holding for each running machine NAME:
 *   NAME.lock   flock()ed exclusively by the `cowpen run` that owns NAME for as long as it runs:
 *               the kernel drops the lock when that process dies (also by SIGKILL), so a name
 *               is taken exactly while its owner lives, and a second run of NAME is refused
 *   NAME        the record, JSON, replaced atomically (atomic-file.h) once the leader is known
 * A record is trusted only while its lock is held and its leader's PID still has the start time
 * recorded (/proc/PID/stat field 22); anything else is stale and is removed by whoever finds it.
 * Records are written by root into a root-owned directory, but are still parsed as untrusted
 * (named limits on every field). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"

#define MACHINE_NAME_MAX 64U        /* as machined's hostname-like names */
#define MACHINE_RECORD_SIZE_MAX (64U * 1024U)
#define MACHINE_ADDRESSES_MAX 64U
#define MACHINE_LIST_MAX 4096U

typedef struct MachineRecord {
        char *name;
        char *class;              /* "container" */
        char *service;            /* "cowpen" */
        pid_t leader;             /* the container's PID 1, as the host sees it */
        uint64_t leader_starttime; /* its start time in clock ticks since boot (stat field 22) */
        pid_t monitor;            /* the `cowpen run` that owns the machine */
        uint64_t monitor_starttime;
        char *image;              /* the image's name (-M) or path (-D, -i); NULL if none */
        char *root;               /* the container's root directory as the host saw it at start */
        char *root_hash;          /* the verity root hash the run trusted (hex), NULL if none */
        char **addresses;         /* the container's addresses (strv, "10.0.0.2", "fd00::2"), may be NULL */
        char *cgroup;             /* the container's cgroup, relative to the cgroup2 root ("/…") */
        char *os;                 /* the image's os-release ID= (NULL if none) */
        char *version;            /* its VERSION_ID= (NULL if none) */
        uint64_t since_usec;      /* CLOCK_REALTIME when the container started */
        uint8_t uuid[16];         /* the machine's UUID ($container_uuid) */
        bool boot;                /* -b: PID 1 is an init */
        bool private_users;       /* -U: the leader is in a user namespace of its own */
        uid_t uid_shift, uid_range;
        int kill_signal;          /* the run's --kill-signal= (0: none given); `terminate` sends SIGKILL */
} MachineRecord;

MachineRecord *machine_record_free(MachineRecord *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(MachineRecord *, machine_record_free);
void machine_record_free_many(MachineRecord **l, size_t n);

/* Where the registry lives (see above); the caller frees. */
int machine_registry_dir(char **ret);

/* Whether NAME is a valid machine name (what run's -M accepts). */
bool machine_name_is_valid(const char *name);

/* A run's hold on its name, from machine_reserve() until machine_release(). */
typedef struct MachineRegistration {
        int dir_fd;
        int lock_fd; /* O_CLOEXEC: the container's processes never inherit it */
        char *name;
        bool written; /* the record exists */
} MachineRegistration;

#define MACHINE_REGISTRATION_NULL ((MachineRegistration){ .dir_fd = -EBADF, .lock_fd = -EBADF })

/* Takes NAME for this process; -EBUSY with "machine NAME is already running (PID N)" when a live
 * owner has it. A stale record of NAME is removed. */
int machine_reserve(const char *name, MachineRegistration *ret, Diag *diag);
/* Writes (or replaces) the record of the reserved name; m->name must match. */
int machine_record_write(MachineRegistration *reg, const MachineRecord *m, Diag *diag);
/* Removes the record and the lock file, and drops the lock. Accepts a NULL registration. */
void machine_release(MachineRegistration *reg);

/* The live record of NAME; -ESRCH with "no machine NAME is running" otherwise (a stale record
 * is removed on the way). */
int machine_lookup(const char *name, MachineRecord **ret, Diag *diag);
/* Every live machine, sorted by name. */
int machine_list(MachineRecord ***ret, size_t *ret_n, Diag *diag);

/* A pidfd of the record's leader, checked after opening to still be the recorded process
 * (start time); -ESRCH when it is gone. */
int machine_leader_pidfd(const MachineRecord *m, Diag *diag);

/* The start time of PID (clock ticks since boot, /proc/PID/stat field 22); -ESRCH when it is
 * gone. machine_record_write() fills in the record's start times with it when they are 0, and
 * the monitor with getpid() when it is 0. */
int machine_pid_starttime(pid_t pid, uint64_t *ret);

/* The record's cgroup (m->cgroup below the host's cgroup2 mount, /sys/fs/cgroup or, on a hybrid
 * host, /sys/fs/cgroup/unified), O_DIRECTORY, checked to hold the leader; -ENOMEDIUM without one. */
int machine_cgroup_open(const MachineRecord *m, Diag *diag);

/* A pidfd of the record's monitor (the `cowpen run` that owns it), checked by its start time. */
int machine_monitor_pidfd(const MachineRecord *m, Diag *diag);

typedef enum MachineKillWhom {
        MACHINE_KILL_LEADER,
        MACHINE_KILL_ALL, /* every process of the machine's cgroup */
        _MACHINE_KILL_WHOM_MAX,
        _MACHINE_KILL_WHOM_INVALID = -EINVAL,
} MachineKillWhom;
const char *machine_kill_whom_to_string(MachineKillWhom w);
MachineKillWhom machine_kill_whom_from_string(const char *s);

/* Sends sig to the leader (through its pidfd: a reused PID is never signalled), or to every
 * process of the machine's cgroup (each through a pidfd opened and then checked to be in the
 * cgroup still; SIGKILL by cgroup.kill where the kernel has it). */
int machine_kill(const MachineRecord *m, MachineKillWhom whom, int sig, Diag *diag);

/* Removes the registry's stale entries (records and locks of runs that are gone); returns how
 * many machines' entries it removed. */
int machine_clean(Diag *diag);
