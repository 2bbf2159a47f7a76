/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>
#include <string.h>
#include <sys/stat.h>

#include "machine.h"
#include "spawn-cgroup.h"
#include "spawn-register.h"
#include "util.h"

/* See spawn-register.h. Untrusted input: none (the config is parsed and checked). */

/* The device nodes bound in from the host, as DeviceAllow= pairs for the scope (nspawn's
 * append_machine_properties()): read-only binds may be read, others read and written. */
static int bound_devices(const SpawnConfig *c, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        for (size_t i = 0; i < c->n_mounts; i++) {
                const CustomMount *m = &c->mounts[i];
                struct stat st;
                if (!spawn_mount_is_host_device(m, &st))
                        continue;
                int r = strv_extend(&l, m->source);
                if (r >= 0)
                        r = strv_extend(&l, m->read_only ? "r" : "rw");
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int spawn_register_prepare(SpawnRegister *reg, const SpawnConfig *c, const PreparedRoot *root, const char *name,
        Diag *diag) {
        bool scope_asked = c->slice || c->properties;
        if (c->keep_unit && scope_asked)
                return diag_fail(diag, -EINVAL, NULL,
                        "--slice= and --property= apply to the scope cowpen makes for the container, which "
                        "--keep-unit turns off");
        bool machine = c->register_mode != REGISTER_NO;
        /* A scope of our own: for a registered machine, as nspawn's; else only when --slice or
         * --property asks for one (nspawn makes it for every run, cowpen only where it is asked for
         * or machined takes the machine). */
        bool scope = !c->keep_unit && (machine || scope_asked);
        if (!machine && !scope)
                return 0;
        if (scope_asked && !machine_bus_manager_running())
                return diag_fail(diag, -EOPNOTSUPP, NULL,
                        "%s needs a systemd manager, and none runs here (/run/systemd/system is missing)",
                        c->slice ? "--slice=" : "--property=");
        /* A name machined refuses: auto runs unregistered (nspawn would clean the name up, cowpen
         * keeps the machine's name one everywhere), yes says so before anything is made. */
        if (machine && !machine_bus_name_is_valid(name)) {
                if (c->register_mode == REGISTER_AUTO && !scope_asked)
                        return 0;
                return diag_fail(diag, -EINVAL, NULL,
                        "cannot register the machine: systemd-machined takes no machine name \"%s\" (letters, "
                        "digits, '-' and '.' only; -M gives another)",
                        name);
        }
        /* auto: without a bus (no socket) nothing is loaded and nothing is said. */
        if (c->register_mode == REGISTER_AUTO && !scope_asked && !machine_bus_socket_exists())
                return 0;
        _cleanup_diag_ Diag d = DIAG_INIT;
        _cleanup_(machine_bus_freep) MachineBus *bus = NULL;
        int r = machine_bus_open(machine, &bus, &d);
        if (r < 0 && machine && c->register_mode == REGISTER_AUTO && !scope_asked)
                return 0; /* auto: no machined to be reached, the run goes on unregistered */
        if (r < 0)
                return diag_fail(diag, r, NULL, "cannot %s: %s", machine ? "register the machine" : "make the scope",
                        diag_message(&d) ? diag_message(&d) : strerror(-r));
        if (scope) {
                _cleanup_strv_free_ char **devices = NULL;
                if ((r = bound_devices(c, &devices)) < 0)
                        return diag_fail(diag, r, NULL, "bound device nodes: %m");
                MachineBusScope s = {
                        .name = name,
                        .slice = c->slice,
                        .device_allow = devices,
                        .properties = c->properties,
                };
                if ((r = machine_bus_start_scope(bus, &s, &d)) < 0)
                        return diag_fail(diag, r, NULL, "cannot %s: %s",
                                machine ? "register the machine" : "make the scope",
                                diag_message(&d) ? diag_message(&d) : strerror(-r));
        }
        reg->bus = TAKE_PTR(bus);
        reg->machine = machine;
        return 0;
}

int spawn_register_leader(SpawnRegister *reg, const SpawnConfig *c, const PreparedRoot *root, const char *name,
        pid_t leader, const char *host_ifname, Diag *diag) {
        if (!reg->bus || !reg->machine)
                return 0;
        int ifindex = host_ifname && *host_ifname ? (int) if_nametoindex(host_ifname) : 0;
        MachineBusRegistration m = {
                .name = name,
                .uuid = c->uuid_set ? c->uuid : NULL,
                .root_directory = root->path,
                .leader = leader,
                .ifindices = ifindex > 0 ? &ifindex : NULL,
                .n_ifindices = ifindex > 0 ? 1 : 0,
        };
        _cleanup_diag_ Diag d = DIAG_INIT;
        int r = machine_bus_register(reg->bus, &m, &d);
        if (r < 0)
                return diag_fail(diag, r, NULL, "cannot register the machine: %s",
                        diag_message(&d) ? diag_message(&d) : strerror(-r));
        return 0;
}

void spawn_register_done(SpawnRegister *reg) {
        reg->bus = machine_bus_free(reg->bus);
}
