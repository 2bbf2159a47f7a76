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

/* copy-to, copy-from (machine-copy.c): a regular file or a directory tree (contents, modes,
 * owners, times, xattrs) between the host and the running machine; the path inside is resolved
 * in the container's root as its mount namespace shows it, never leaving it (symlinks, ".."). An
 * existing directory as target receives the source under its own name; an existing entry is
 * never replaced (-EEXIST). The copy appears at once, renamed into place from a hidden name.
 * With a user namespace the owners are shifted into (copy-to) or out of (copy-from) the
 * machine's range. copy-from refuses a tree with a device node (-EPERM) and clears the set-ID
 * bits of files. path/host_path NULL: the same path as the other side's. */
int machine_copy_to(const MachineRecord *m, const char *host_path, const char *path, Diag *diag);
int machine_copy_from(const MachineRecord *m, const char *path, const char *host_path, Diag *diag);

/* bind (machine-bind.c): host_path mounted at path (NULL: the same path) in the running
 * machine, with the new mount API; idmapped through its user namespace where it has one. */
typedef enum MachineBindFlags {
        MACHINE_BIND_READ_ONLY = 1 << 0,
        MACHINE_BIND_MKDIR = 1 << 1, /* make what is missing of the target (a file for a file) */
        MACHINE_BIND_NO_IDMAP = 1 << 2,
} MachineBindFlags;
int machine_bind(const MachineRecord *m, const char *host_path, const char *path, MachineBindFlags flags, Diag *diag);

/* machine_record_write() fills in the record's start times with pid_starttime() (proc-util.h) when
 * they are 0, and the monitor with getpid() when it is 0. */

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
/* ---- Registration with systemd-machined (machine-bus.c, the one file that uses sd-bus) ----
 *
 * libsystemd.so.0 is loaded with dlopen() on first use, and only when a system bus socket exists
 * ($DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket): a run that registers nothing maps
 * nothing new. What is sent is what systemd-nspawn sends (nspawn-register.c), with the service
 * name "cowpen":
 *   - a scope of the run's own (not --keep-unit): org.freedesktop.systemd1.Manager's
 *     StartTransientUnit("machine-NAME.scope", PIDs=[the caller], Slice=, Description=,
 *     Delegate=yes, CollectMode=inactive-or-failed, DevicePolicy=closed, DeviceAllow= as
 *     systemd-nspawn@.service's, --property= assignments), waited for until the caller is in it;
 *     the container's cgroup is then made below it (spawn-cgroup.c, delegated to a booted init as
 *     before). The caller moves itself, before the container's first process exists, rather than
 *     having machined move the leader (CreateMachine): the container enters its cgroup namespace
 *     as it is made, and a leader moved afterwards would sit outside that namespace's root.
 *   - then, once the leader is known, org.freedesktop.machine1.Manager's
 *     RegisterMachineWithNetwork(NAME, UUID, "cowpen", "container", LEADER, ROOT, IFINDICES):
 *     machined takes the leader's unit (machine-NAME.scope, or the caller's unit with --keep-unit)
 *     as the machine's;
 *   - at the end UnregisterMachine(NAME), as nspawn; the scope goes when cowpen, its last
 *     process, exits. */

typedef struct MachineBus MachineBus;

/* Whether systemd-machined takes NAME as a machine name: a host name of letters, digits and '-'
 * in labels separated by '.', at most 64 bytes (its hostname_is_valid()). */
bool machine_bus_name_is_valid(const char *name);
/* Whether a system bus socket exists (no library is loaded to tell). */
bool machine_bus_socket_exists(void);
/* Whether a systemd manager runs this system (/run/systemd/system, as sd_booted()). */
bool machine_bus_manager_running(void);

/* Connects to the system bus. machined: also checks that org.freedesktop.machine1 answers (it is
 * bus-activated). Failures, each with one phrase in diag: -ENOENT "no system bus (PATH is
 * missing)", -ELIBACC/-ELIBBAD (libsystemd), "cannot connect to the system bus: …",
 * -EHOSTUNREACH "systemd-machined is not reachable on the system bus: BUS ERROR". */
int machine_bus_open(bool machined, MachineBus **ret, Diag *diag);
MachineBus *machine_bus_free(MachineBus *b); /* unregisters first if machine_bus_register() did */
DEFINE_TRIVIAL_CLEANUP_FUNC(MachineBus *, machine_bus_free);

/* --property=NAME=VALUE: the unit properties cowpen can send, a documented subset of systemd's
 * (machine_bus_property_names()); -EINVAL with "unsupported unit property NAME" or "bad value
 * for NAME: VALUE" in diag. Checked when parsed, sent by machine_bus_start_scope(). */
#define MACHINE_BUS_PROPERTIES_MAX 256U
int machine_bus_property_check(const char *assignment, Diag *diag);
const char *machine_bus_property_names(void); /* "CPUQuota, MemoryMax, …" */

typedef struct MachineBusScope {
        const char *name;    /* the machine: the unit is machine-NAME.scope (escaped) */
        const char *slice;   /* NULL: machine.slice */
        char **device_allow; /* extra DeviceAllow= pairs (PATH, ACCESS): device nodes bound in */
        char **properties;   /* --property= assignments (machine_bus_property_check()ed) */
} MachineBusScope;

/* Moves the calling process into a new scope unit, as above; returns once it is there (at once
 * when it is there already: a rebooted container's second run). Failures: "systemd refused the
 * scope machine-NAME.scope: BUS ERROR (NAME)", -ETIMEDOUT when the job never moved us. */
int machine_bus_start_scope(MachineBus *b, const MachineBusScope *s, Diag *diag);

typedef struct MachineBusRegistration {
        const char *name;
        const uint8_t *uuid;        /* 16 bytes, NULL: none */
        const char *root_directory; /* absolute, or NULL */
        pid_t leader;               /* the container's PID 1, as the host sees it */
        const int *ifindices;       /* host-side interfaces of the container (veth), may be NULL */
        size_t n_ifindices;
} MachineBusRegistration;

/* RegisterMachineWithNetwork, as above: "systemd-machined refused machine NAME: BUS ERROR". */
int machine_bus_register(MachineBus *b, const MachineBusRegistration *r, Diag *diag);
/* UnregisterMachine of what machine_bus_register() registered; errors are ignored (machined
 * forgets a machine whose unit ended by itself). */
void machine_bus_unregister(MachineBus *b);
