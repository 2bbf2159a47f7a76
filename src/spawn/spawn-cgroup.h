/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The container's cgroup: every run gets one, below cowpen's own in the host's cgroup2
 * hierarchy (the unified one of a hybrid host), with a device policy attached to it before any
 * process of the container enters it. It is the root of the container's cgroup namespace; when
 * booting (-b) it is also delegated (spawn-boot.c mounts it writable at /sys/fs/cgroup).
 *
 * The device policy is systemd-nspawn's (DevicePolicy=closed plus its DeviceAllow= list): the
 * container may open and create /dev/null, zero, full, random, urandom, tty, ptmx and
 * net/tun, may open (never create) pseudo-terminals, and may open the device nodes the command
 * line binds in (read-only ones for reading); any other device node, whether made with mknod()
 * or found in the image, can be neither opened nor created, nor mounted as a file system. It is
 * a cgroup BPF program (BPF_PROG_TYPE_CGROUP_DEVICE), attached by the host; the container
 * cannot remove it (bpf() is refused by its system-call filter, and it cannot leave its
 * cgroup namespace).
 *
 * Untrusted input: the names of cgroups the container made (removed at the end, descended at
 * most SPAWN_CGROUP_DEPTH_MAX deep, only directories, with fds and *at() calls). */

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "diag.h"
#include "spawn.h"

/* Depth of the cgroup tree the container may leave behind that cleanup descends. */
#define SPAWN_CGROUP_DEPTH_MAX 64U
/* Device nodes the command line may bind in and so allow. */
#define SPAWN_DEVICE_ALLOW_MAX 256U

typedef struct SpawnCgroup {
        char *path;   /* absolute path on the host, or NULL */
        int fd;       /* O_DIRECTORY of it */
        uid_t owner;  /* -b with --private-users: the container's root, who is delegated it */
} SpawnCgroup;

#define SPAWN_CGROUP_NULL { .fd = -EBADF, .owner = (uid_t) -1 }

/* Where the cgroup2 hierarchy is mounted according to the mountinfo file at path, and the mount's
 * root inside the hierarchy: the first cgroup2 mount whose names need no escaping.
 * spawn_cgroup_make() asks /proc/self/mountinfo only when /sys/fs/cgroup is not that hierarchy
 * (and our cgroup in it); tests give it other files of mountinfo's format. Loads libmount:
 * -ELIBACC/-ELIBBAD when it cannot (dlopen_libmount() says why); -ENOMEDIUM when there is none. */
int spawn_cgroup2_mount_from_mountinfo(const char *path, char **ret_mount, char **ret_root);
/* Loads libmount (once; dlopen-util.h): 0, or -ELIBACC/-ELIBBAD with *ret_detail saying what is
 * missing. */
int dlopen_libmount(const char **ret_detail);

/* Whether mount m binds a device node from the host (a character or block device), which the
 * device rules and the scope's DeviceAllow= let in; its stat in *ret_st. */
bool spawn_mount_is_host_device(const CustomMount *m, struct stat *ret_st);

/* Parent, before clone: makes the cgroup (removing what killed cowpens left) and attaches the
 * device policy. */
int spawn_cgroup_make(SpawnCgroup *cg, const SpawnConfig *c, const char *machine, Diag *diag);
/* Parent: hands the cgroup to its owner (-b with --private-users), once the container's
 * processes are in it. */
int spawn_cgroup_delegate(const SpawnCgroup *cg);
/* Parent: moves a process (--private-users: the container's init) into it. */
int spawn_cgroup_attach(const SpawnCgroup *cg, pid_t pid);
/* The same, unless it is there already (made there by spawn_clone()); pid > 0, of our cgroup
 * namespace. */
int spawn_cgroup_place(const SpawnCgroup *cg, pid_t pid);
/* Child: into the cgroup (unless it was made there: placed), and a cgroup namespace rooted
 * there (before mounting /sys). */
int spawn_cgroup_child_enter(const SpawnCgroup *cg, bool placed);
/* Parent, after the container ended: whatever is left in it is killed, the tree removed. */
void spawn_cgroup_done(SpawnCgroup *cg);
