/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn-machine.h: the run's record in the machine registry.
 *
 * Untrusted input: the container's os-release (read inside its root, RESOLVE_IN_ROOT, with a size
 * limit, and parsed by os_release_parse()) and its PID 1's environment (container_uuid=, which the
 * container's setup gave it; read with a size limit). */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

#include "fd-util.h"
#include "image.h"
#include "spawn-machine.h"
#include "util.h"
#include "uuid-util.h"

#define OS_RELEASE_READ_MAX (64U * 1024U)
#define ENVIRON_READ_MAX (256U * 1024U)
#define PROC_CGROUP_READ_MAX (64U * 1024U)

/* A name derived from a directory or file name, made valid as nspawn's hostname_cleanup() does:
 * only the characters a machine name may have, no leading dot or dash, at most max bytes. */
static char *name_cleanup(const char *s, size_t max) {
        char *c = malloc(strlen(s) + 1), *o = c;
        if (!c)
                return NULL;
        for (; *s && (size_t) (o - c) < max; s++) {
                bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                          *s == '-' || *s == '_' || *s == '.';
                if (ok && !(o == c && (*s == '.' || *s == '-')))
                        *o++ = *s;
        }
        *o = 0;
        return c;
}

int spawn_machine_reserve(MachineRegistration *reg, const SpawnConfig *c, const PreparedRoot *root, Diag *diag) {
        _cleanup_free_ char *name = NULL;
        if (c->machine_derived) {
                /* -x: room for the suffix, "-" and 16 digits. */
                _cleanup_free_ char *base = name_cleanup(root->machine, MACHINE_NAME_MAX - (c->ephemeral ? 17 : 0));
                if (!base)
                        return diag_fail(diag, -ENOMEM, NULL, NULL);
                _cleanup_free_ char *rnd = NULL;
                int r = c->ephemeral ? random_hex(8, &rnd) : 0;
                if (r < 0)
                        return diag_fail(diag, r, NULL, NULL);
                name = rnd ? strjoin(base, "-", rnd) : TAKE_PTR(base);
        } else
                name = strdup(root->machine);
        if (!name)
                return diag_fail(diag, -ENOMEM, NULL, NULL);
        if (!machine_name_is_valid(name))
                return diag_fail(
                        diag, -EINVAL, NULL, "cannot determine the machine name from \"%s\" (use -M)", root->machine);
        int r = machine_reserve(name, reg, diag);
        if (r != -EBUSY || c->machine_derived || !(c->ephemeral || c->read_only || root->read_only || c->machine_shared))
                return r;
        /* -x (or --read-only) -M NAME while NAME runs: runs that share their image (each -x on a
         * copy of its own, read-only runs side by side) all start, as they did before there was
         * a registry: a CI farm's concurrent jobs from one template (and the update of that
         * template, in a tree of its own, while they run). The later ones are the
         * machines NAME-RANDOM, as nspawn names ephemeral runs of a derived name. Two machines
         * still never share a name, and a writable run of a running name is refused. */
        diag_clear_failure(diag);
        _cleanup_free_ char *base = name_cleanup(root->machine, MACHINE_NAME_MAX - 17), *rnd = NULL, *alt = NULL;
        if (!base || (r = random_hex(8, &rnd)) < 0 || !(alt = strjoin(base, "-", rnd)))
                return diag_fail(diag, r < 0 ? r : -ENOMEM, NULL, NULL);
        return machine_reserve(alt, reg, diag);
}

static int read_os_release(int root_fd, char **ret_id, char **ret_version) {
        static const char *const paths[] = {"etc/os-release", "usr/lib/os-release"};
        _cleanup_free_ char *text = NULL;
        int r = -ENOENT;
        for (size_t i = 0; i < ELEMENTSOF(paths) && r == -ENOENT; i++)
                r = read_file_at(root_fd, paths[i], RESOLVE_ROOT | RESOLVE_NO_XDEV, OS_RELEASE_READ_MAX, &text, NULL);
        *ret_id = *ret_version = NULL;
        if (r == -ENOMEM)
                return r;
        if (r < 0) /* none, or not one to read: the machine has no OS fields */
                return 0;
        _cleanup_strv_free_ char **l = NULL;
        if ((r = os_release_parse(text, &l)) < 0)
                return r == -ENOMEM ? r : 0;
        for (char **p = l; p && p[0] && p[1]; p += 2) {
                char **field = streq(p[0], "ID") ? ret_id : streq(p[0], "VERSION_ID") ? ret_version : NULL;
                if (!field || *field || !*p[1] || strlen(p[1]) > 64)
                        continue;
                if (!(*field = printable(p[1], 64)))
                        return -ENOMEM;
        }
        return 0;
}

/* The UUID the container's setup gave its PID 1 ($container_uuid). */
static void leader_uuid(pid_t leader, uint8_t ret[static 16]) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/environ", (int) leader);
        _cleanup_free_ char *env = NULL;
        size_t size = 0;
        if (read_file_at(AT_FDCWD, path, 0, ENVIRON_READ_MAX, &env, &size) < 0)
                return;
        for (size_t i = 0; i < size; i += strlen(env + i) + 1)
                if (startswith(env + i, "container_uuid=")) {
                        (void) uuid_from_string(env + i + STRLEN("container_uuid="), ret);
                        return;
                }
}

/* The container's cgroup as the record names it: relative to the root of the cgroup2 hierarchy
 * that our cgroup namespace shows (our own cgroup's path, "0::" of /proc/self/cgroup, and the
 * container's below it). */
static int cgroup_relative(const SpawnCgroup *cg, char **ret) {
        *ret = NULL;
        if (!cg->path)
                return 0;
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 0, PROC_CGROUP_READ_MAX, &text, NULL);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        const char *own = NULL;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (startswith(line, "0::/"))
                        own = line + 3;
        }
        const char *base = strrchr(cg->path, '/');
        if (!own || !base)
                return 0;
        *ret = strjoin(streq(own, "/") ? "" : own, base);
        return *ret ? 0 : -ENOMEM;
}

int spawn_machine_register(MachineRegistration *reg, const SpawnConfig *c, const PreparedRoot *root, pid_t leader,
        const SpawnCgroup *cg, const SpawnNet *net, uint64_t since_usec, Diag *diag) {
        _cleanup_free_ char *os = NULL, *version = NULL, *cgroup = NULL;
        _cleanup_strv_free_ char **addresses = NULL;
        int r;
        if ((r = read_os_release(root->fd, &os, &version)) < 0 || (r = cgroup_relative(cg, &cgroup)) < 0)
                return diag_fail(diag, r, NULL, NULL);
        if (net->setup) {
                const NetSetupInfo *info = net_setup_info(net->setup);
                const NetPrefix *p[] = {&info->container4, &info->container6};
                for (size_t i = 0; i < ELEMENTSOF(p); i++) {
                        char buf[NET_PREFIX_STRING_MAX];
                        if (p[i]->family != AF_INET && p[i]->family != AF_INET6)
                                continue;
                        if ((r = strv_extend(&addresses, net_addr_to_string(p[i], buf))) < 0)
                                return diag_fail(diag, r, NULL, NULL);
                }
        }
        MachineRecord m = {
                .name = reg->name,
                .class = (char *) "container",
                .service = (char *) "cowpen",
                .leader = leader,
                .monitor = getpid(),
                .image = root->image_path ?: root->image_name,
                .root = root->path,
                .root_hash = root->trusted_root_hash, /* the verity root hash the run trusted, NULL if none */
                .addresses = addresses,
                .cgroup = cgroup,
                .os = os,
                .version = version,
                .since_usec = since_usec,
                .boot = c->boot,
                .private_users = c->private_users != PRIVATE_USERS_NO,
                .uid_shift = c->private_users != PRIVATE_USERS_NO ? c->uid_shift : 0,
                .uid_range = c->private_users != PRIVATE_USERS_NO ? c->uid_range : 0,
                .kill_signal = c->kill_signal,
        };
        if (c->uuid_set)
                memcpy(m.uuid, c->uuid, sizeof m.uuid);
        else
                leader_uuid(leader, m.uuid);
        return machine_record_write(reg, &m, diag);
}
