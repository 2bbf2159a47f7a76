/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <linux/capability.h>
#include <string.h>
#include <strings.h>

#include "spawn.h"
#include "util.h"

/* Capability names and the bounding sets of a container. Untrusted input: capability lists from
 * settings files (parsed by name only, bounded by the length of the string). */

static const char *const cap_names[] = {
        [CAP_CHOWN] = "cap_chown",
        [CAP_DAC_OVERRIDE] = "cap_dac_override",
        [CAP_DAC_READ_SEARCH] = "cap_dac_read_search",
        [CAP_FOWNER] = "cap_fowner",
        [CAP_FSETID] = "cap_fsetid",
        [CAP_KILL] = "cap_kill",
        [CAP_SETGID] = "cap_setgid",
        [CAP_SETUID] = "cap_setuid",
        [CAP_SETPCAP] = "cap_setpcap",
        [CAP_LINUX_IMMUTABLE] = "cap_linux_immutable",
        [CAP_NET_BIND_SERVICE] = "cap_net_bind_service",
        [CAP_NET_BROADCAST] = "cap_net_broadcast",
        [CAP_NET_ADMIN] = "cap_net_admin",
        [CAP_NET_RAW] = "cap_net_raw",
        [CAP_IPC_LOCK] = "cap_ipc_lock",
        [CAP_IPC_OWNER] = "cap_ipc_owner",
        [CAP_SYS_MODULE] = "cap_sys_module",
        [CAP_SYS_RAWIO] = "cap_sys_rawio",
        [CAP_SYS_CHROOT] = "cap_sys_chroot",
        [CAP_SYS_PTRACE] = "cap_sys_ptrace",
        [CAP_SYS_PACCT] = "cap_sys_pacct",
        [CAP_SYS_ADMIN] = "cap_sys_admin",
        [CAP_SYS_BOOT] = "cap_sys_boot",
        [CAP_SYS_NICE] = "cap_sys_nice",
        [CAP_SYS_RESOURCE] = "cap_sys_resource",
        [CAP_SYS_TIME] = "cap_sys_time",
        [CAP_SYS_TTY_CONFIG] = "cap_sys_tty_config",
        [CAP_MKNOD] = "cap_mknod",
        [CAP_LEASE] = "cap_lease",
        [CAP_AUDIT_WRITE] = "cap_audit_write",
        [CAP_AUDIT_CONTROL] = "cap_audit_control",
        [CAP_SETFCAP] = "cap_setfcap",
        [CAP_MAC_OVERRIDE] = "cap_mac_override",
        [CAP_MAC_ADMIN] = "cap_mac_admin",
        [CAP_SYSLOG] = "cap_syslog",
        [CAP_WAKE_ALARM] = "cap_wake_alarm",
        [CAP_BLOCK_SUSPEND] = "cap_block_suspend",
        [CAP_AUDIT_READ] = "cap_audit_read",
        [38] = "cap_perfmon",
        [39] = "cap_bpf",
        [40] = "cap_checkpoint_restore",
};

const char *capability_to_name(unsigned cap) {
        return cap < ELEMENTSOF(cap_names) ? cap_names[cap] : NULL;
}

/* systemd-nspawn's default bounding set (arg_caps_retain), plus CAP_NET_ADMIN with a private
 * network namespace, as nspawn adds it. */
uint64_t spawn_default_capabilities(bool private_network) {
        uint64_t m = (UINT64_C(1) << CAP_AUDIT_CONTROL) | (UINT64_C(1) << CAP_AUDIT_WRITE) | (UINT64_C(1) << CAP_CHOWN) |
                     (UINT64_C(1) << CAP_DAC_OVERRIDE) | (UINT64_C(1) << CAP_DAC_READ_SEARCH) |
                     (UINT64_C(1) << CAP_FOWNER) | (UINT64_C(1) << CAP_FSETID) | (UINT64_C(1) << CAP_IPC_OWNER) |
                     (UINT64_C(1) << CAP_KILL) | (UINT64_C(1) << CAP_LEASE) | (UINT64_C(1) << CAP_LINUX_IMMUTABLE) |
                     (UINT64_C(1) << CAP_MKNOD) | (UINT64_C(1) << CAP_NET_BIND_SERVICE) |
                     (UINT64_C(1) << CAP_NET_BROADCAST) | (UINT64_C(1) << CAP_NET_RAW) | (UINT64_C(1) << CAP_SETFCAP) |
                     (UINT64_C(1) << CAP_SETGID) | (UINT64_C(1) << CAP_SETPCAP) | (UINT64_C(1) << CAP_SETUID) |
                     (UINT64_C(1) << CAP_SYS_ADMIN) | (UINT64_C(1) << CAP_SYS_BOOT) | (UINT64_C(1) << CAP_SYS_CHROOT) |
                     (UINT64_C(1) << CAP_SYS_NICE) | (UINT64_C(1) << CAP_SYS_PTRACE) |
                     (UINT64_C(1) << CAP_SYS_RESOURCE) | (UINT64_C(1) << CAP_SYS_TTY_CONFIG);
        if (private_network)
                m |= UINT64_C(1) << CAP_NET_ADMIN;
        return m;
}

static int capability_from_name(const char *s, size_t n) {
        char buf[64];
        if (n == 0 || n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        const char *name = buf;
        if (strncasecmp(name, "cap_", 4) == 0)
                name += 4;
        for (size_t i = 0; i < ELEMENTSOF(cap_names); i++)
                if (cap_names[i] && strcasecmp(cap_names[i] + 4, name) == 0)
                        return (int) i;
        return -EINVAL;
}

int capability_list_parse(const char *s, uint64_t *ret, Diag *diag) {
        uint64_t m = 0;
        const char *p = s;
        for (;;) {
                p += strspn(p, " \t\n,");
                if (!*p)
                        break;
                size_t n = strcspn(p, " \t\n,");
                if (n == 3 && strncasecmp(p, "all", 3) == 0)
                        m = CAP_MASK_ALL;
                else {
                        int c = capability_from_name(p, n);
                        if (c < 0) {
                                char bad[257];
                                snprintf(bad, sizeof(bad), "%.*s", (int) MIN(n, (size_t) 256), p);
                                return diag_fail(diag, -EINVAL, bad, NULL);
                        }
                        m |= UINT64_C(1) << c;
                }
                p += n;
        }
        *ret = m;
        return 0;
}

uint64_t spawn_config_capabilities(const SpawnConfig *c) {
        return (spawn_default_capabilities(c->private_network) | c->caps_plus) & ~c->caps_minus;
}
