/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>

#include "dlopen-util.h"
#include "fd-util.h"
#include "image.h"
#include "machine.h"
#include "spawn.h"
#include "util.h"
#include "verbs.h"

/* The run verb: systemd-nspawn's options into a SpawnConfig, the prepared root from the image
 * store, the settings file, then the spawn engine. */

static const char help_run[] =
        "cowpen run [OPTIONS…] [COMMAND [ARGS…]]\n\n"
        "Run a command (default: the user's shell) in a container, with systemd-nspawn's options.\n\n"
        "Image:\n"
        "  -D --directory=DIR       Root directory of the container\n"
        "  -M --machine=NAME        Machine name; alone, the image NAME in the image root\n"
        "     --template=DIR        Populate a missing -D from DIR (snapshot, reflink or copy)\n"
        "  -x --ephemeral           Run in a throw-away copy (btrfs snapshot or overlayfs; of a\n"
        "                           verity image: an overlay over its verified file system)\n"
        "     --read-only           Mount the root read-only\n"
        "     --oci-bundle=DIR      Run an OCI runtime bundle: DIR/config.json's root, process,\n"
        "                           mounts, hostname, namespaces (options given here win)\n"
        "     --volatile[=MODE]     no, yes (tmpfs root + /usr), state (tmpfs /var), overlay\n"
        "  -i --image=FILE          Run a raw disk image (GPT, MBR or one file system)\n"
        "     --root-hash=HEX       dm-verity root hash (else xattr, .roothash, signature partition)\n"
        "     --root-hash-sig=PATH|base64:DATA  Its PKCS#7 signature (else .roothash.p7s)\n"
        "     --verity-data=PATH    The hash tree (else the root-verity partition, .verity)\n"
        "     --verity-certs=DIR    Trusted certificates (default: /etc/verity.d …)\n"
        "     --image-policy=POLICY What root and usr may be: * (default), signed, verity, root=…:usr=…\n"
        "Execution:\n"
        "  -a --as-pid2             A stub init is PID 1, the command PID 2\n"
        "  -b --boot                Run the image's init (systemd, /sbin/init); arguments go to it\n"
        "     --notify-ready=BOOL   With -b, ready when the container's init says READY=1\n"
        "     --chdir=DIR           Working directory in the container\n"
        "  -E --setenv=NAME[=VALUE] Set an environment variable\n"
        "  -u --user=USER           Run as USER of the container's /etc/passwd\n"
        "     --kill-signal=SIGNAL  Signal sent to the container on SIGINT/SIGTERM\n"
        "Identity:\n"
        "     --hostname=NAME       Host name (default: the machine name)\n"
        "     --uuid=UUID           Machine ID\n"
        "Security:\n"
        "     --capability=CAPS     Keep these capabilities too (\"all\" for all)\n"
        "     --drop-capability=CAPS Drop these capabilities\n"
        "     --ambient-capability=CAPS Pass these capabilities to the payload as ambient ones\n"
        "     --no-new-privileges[=BOOL] Set the no_new_privs flag\n"
        "     --system-call-filter=[~]LIST  Allow (or with ~ refuse) system calls and @groups\n"
        "                           on top of the default filter\n"
        "  -Z --selinux-context=LABEL  SELinux label of the payload\n"
        "  -L --selinux-apifs-context=LABEL  SELinux label of the API file systems\n"
        "Resources:\n"
        "     --rlimit=NAME=SOFT[:HARD] Resource limit\n"
        "     --oom-score-adjust=N  OOM score adjustment (-1000…1000)\n"
        "     --cpu-affinity=CPUS   CPUs the container may run on (0-3,5)\n"
        "     --personality=ARCH    x86 or x86-64: what uname reports\n"
        "     --private-users=MODE  no, yes, pick, identity, UIDBASE[:N]: a user namespace\n"
        "  -U                       --private-users=pick\n"
        "     --private-users-ownership=MODE  map (idmapped mounts), chown, off, auto\n"
        "Networking:\n"
        "     --private-network     Own network namespace with only lo\n"
        "  -n --network-veth        A veth pair: ve-MACHINE on the host, host0 inside, with\n"
        "                           addresses, default route, masquerading and DNS (dnsmasq)\n"
        "     --network-veth-extra=HOSTIF[:CONTAINERIF]  Another veth pair, without addresses\n"
        "     --network-interface=IF[:CONTAINERIF]  Move a host interface in (and back out)\n"
        "     --network-macvlan=IF  A macvlan on IF, mv-IF inside\n"
        "     --network-ipvlan=IF   An ipvlan (L2) on IF, iv-IF inside\n"
        "     --network-bridge=BR   The veth's host side vb-MACHINE on the existing bridge BR\n"
        "     --network-zone=NAME   The veth on bridge vz-NAME, made while containers use it,\n"
        "                           with addresses, DNS by container name and masquerading\n"
        "     --network-namespace-path=PATH  Join this network namespace\n"
        "  -p --port=[tcp|udp:]HOSTPORT[:CONTAINERPORT]  Forward a host port to the container\n"
        "                           (IPv4 and IPv6, also from the host's 127.0.0.1 and ::1)\n"
        "     --network-address=auto|none  Configure addresses from the host side (default:\n"
        "                           auto for -n and zones, none for bridges)\n"
        "Mounts:\n"
        "     --bind=SRC[:DST[:OPTS]]     Bind mount a host path (OPTS: rbind, norbind,\n"
        "                           idmap, rootidmap, noidmap)\n"
        "     --bind-ro=SRC[:DST[:OPTS]]  Likewise, read-only\n"
        "     --tmpfs=PATH[:OPTS]   Mount a tmpfs\n"
        "     --overlay=LOWER…:[UPPER]:DST  Mount an overlayfs (+PATH: of the container;\n"
        "                           empty UPPER: a throw-away one)\n"
        "     --overlay-ro=LOWER…:DST     Likewise, read-only\n"
        "     --inaccessible=PATH   Mask PATH with an empty node of its type\n"
        "     --link-journal=MODE   no, auto, guest, host, try-guest, try-host: the journal\n"
        "                           /var/log/journal/MACHINE-ID shared with the host\n"
        "  -j                       --link-journal=try-guest\n"
        "     --bind-user=NAME      Bind a host user's home at /run/host/home/NAME, with its\n"
        "                           records in /run/host/userdb (needs --private-users)\n"
        "     --resolv-conf=MODE    off, copy-host, replace-host, bind-host, *-static, delete, auto\n"
        "     --timezone=MODE       off, copy, bind, symlink, delete, auto\n"
        "Credentials:\n"
        "     --set-credential=ID:VALUE  Pass a credential (C escapes) in $CREDENTIALS_DIRECTORY\n"
        "     --load-credential=ID:PATH  Likewise, read from a file or an AF_UNIX socket\n"
        "I/O:\n"
        "     --suppress-sync=BOOL  Make sync() and friends succeed without syncing\n"
        "     --console=MODE        interactive, read-only, passive, pipe, autopipe\n"
        "  -P --pipe                --console=pipe\n"
        "Registration with systemd-machined:\n"
        "     --register=yes|no|auto  Register with systemd-machined (auto, the default: where\n"
        "                           the system bus and machined are reached)\n"
        "     --keep-unit           No scope of its own: the machine is the caller's unit\n"
        "     --slice=SLICE         The scope's slice (default machine.slice)\n"
        "     --property=NAME=VALUE  A unit property of the scope (CPUQuota=, MemoryMax=, …)\n"
        "     --no-pager            Accepted; nothing is paged\n"
        "Settings:\n"
        "     --settings=BOOL|trusted  Read NAME.nspawn (default yes)\n"
        "     --image-root=DIR\n"
        "\nSee cowpen-run(1).\n";

/* The short options, named as the long-only ones below. */
enum {
        ARG_DIRECTORY = 'D',
        ARG_MACHINE = 'M',
        ARG_EPHEMERAL = 'x',
        ARG_IMAGE = 'i',
        ARG_BOOT = 'b',
        ARG_AS_PID2 = 'a',
        ARG_SETENV = 'E',
        ARG_USER = 'u',
        ARG_PIPE = 'P',
        ARG_PICK_USERS = 'U',
        ARG_SELINUX_CONTEXT = 'Z',
        ARG_SELINUX_APIFS_CONTEXT = 'L',
        ARG_NETWORK_VETH = 'n',
        ARG_PORT = 'p',
        ARG_LINK_JOURNAL_TRY_GUEST = 'j',
};

enum {
        ARG_TEMPLATE = ARG_VERB_BASE,
        ARG_READ_ONLY,
        ARG_VOLATILE,
        ARG_ROOT_HASH,
        ARG_ROOT_HASH_SIG,
        ARG_VERITY_DATA,
        ARG_IMAGE_POLICY,
        ARG_CHDIR,
        ARG_KILL_SIGNAL,
        ARG_NOTIFY_READY,
        ARG_HOSTNAME,
        ARG_UUID,
        ARG_CAPABILITY,
        ARG_DROP_CAPABILITY,
        ARG_NO_NEW_PRIVILEGES,
        ARG_PRIVATE_USERS,
        ARG_RLIMIT,
        ARG_PRIVATE_NETWORK,
        ARG_BIND,
        ARG_BIND_RO,
        ARG_TMPFS,
        ARG_OVERLAY,
        ARG_OVERLAY_RO,
        ARG_RESOLV_CONF,
        ARG_TIMEZONE,
        ARG_CONSOLE,
        ARG_SETTINGS,
        ARG_PRIVATE_USERS_OWNERSHIP,
        ARG_VERITY_CERTS,
        ARG_AMBIENT_CAPABILITY,
        ARG_SYSTEM_CALL_FILTER,
        ARG_OOM_SCORE_ADJUST,
        ARG_CPU_AFFINITY,
        ARG_PERSONALITY,
        ARG_SUPPRESS_SYNC,
        ARG_INACCESSIBLE,
        ARG_REGISTER,
        ARG_KEEP_UNIT,
        ARG_SLICE,
        ARG_PROPERTY,
        ARG_NO_PAGER,
        ARG_NETWORK_VETH_EXTRA,
        ARG_NETWORK_INTERFACE,
        ARG_NETWORK_MACVLAN,
        ARG_NETWORK_IPVLAN,
        ARG_NETWORK_BRIDGE,
        ARG_NETWORK_ZONE,
        ARG_NETWORK_NAMESPACE_PATH,
        ARG_NETWORK_ADDRESS,
        ARG_SET_CREDENTIAL,
        ARG_LOAD_CREDENTIAL,
        ARG_LINK_JOURNAL,
        ARG_BIND_USER,
        ARG_OCI_BUNDLE,
};

typedef struct RunArgs {
        PrepareOptions prep;
        bool verity_options;
        SettingsTrust settings;
        const char *writes_for; /* update: the verb whose run must write its root (no Ephemeral=, Volatile=) */
        const char *oci_bundle; /* --oci-bundle=DIR */
        char *oci_root;         /* its root, resolved inside it */
} RunArgs;

/* A value that does not parse, or one too many, is bad usage (exit status 2) whatever errno the
 * parser returned: it would be as wrong on any host. */
static int bad_value(const char *option, const char *value, int r) {
        return log_usage("run: invalid %s value \"%s\"%s", option, value, r == -E2BIG ? ": too many entries" : "");
}

/* The option parsers below, one per group of the help text, each return 1 for an option of
 * theirs, 0 for any other, or the failure they logged. */

/* A string option: the last one wins. */
static int set_string(char **field, const char *arg) {
        free(*field);
        if (!(*field = strdup(arg)))
                return log_oom();
        return 1;
}

/* A boolean option (without a value: yes). */
static int set_boolean(SpawnConfig *c, const char *option, const char *arg, bool *field, SettingMask bit) {
        int r = arg ? parse_boolean(arg) : 1;
        if (r < 0)
                return bad_value(option, arg, r);
        *field = r;
        c->mask |= bit;
        return 1;
}

static int parse_capabilities(const char *arg, uint64_t *ret) {
        _cleanup_diag_ Diag bad = DIAG_INIT;
        int r = capability_list_parse(arg, ret, &bad);
        const char *detail = NULL;
        if (dlopen_error_is_library(r) && dlopen_libcap(&detail) < 0 && detail)
                return log_error_errno(r, "run: %s (needed for capability names)", detail);
        if (r < 0)
                return log_usage("run: unknown capability \"%s\"", bad.object ?: arg);
        return 0;
}

/* Image: the root, how it is prepared and protected. */
static int parse_image_option(int ch, const char *arg, SpawnConfig *c, RunArgs *a) {
        switch (ch) {
        case ARG_DIRECTORY:
                a->prep.directory = arg;
                return 1;
        case ARG_MACHINE:
                if (!image_name_is_valid(arg) || !hostname_is_valid_simple(arg))
                        return log_usage("run: invalid machine name \"%s\"", arg);
                a->prep.machine = arg;
                return 1;
        case ARG_TEMPLATE:
                a->prep.template_dir = arg;
                return 1;
        case ARG_EPHEMERAL:
                a->prep.ephemeral = true;
                return 1;
        case ARG_IMAGE:
                a->prep.image = arg;
                return 1;
        case ARG_READ_ONLY:
                c->read_only = true;
                c->mask |= SETTING_READ_ONLY;
                return 1;
        case ARG_VOLATILE: {
                VolatileMode v = arg ? volatile_mode_from_string(arg) : VOLATILE_YES;
                if ((int) v < 0)
                        return bad_value("--volatile", arg, -EINVAL);
                c->volatile_mode = v;
                c->mask |= SETTING_VOLATILE;
                return 1;
        }
        }
        return 0;
}

/* Image, raw images only: how they are verified. */
static int parse_verity_option(int ch, const char *arg, RunArgs *a) {
        int r;
        switch (ch) {
        case ARG_ROOT_HASH:
                if ((r = check_root_hash_arg("run", arg, false)) < 0)
                        return r;
                a->prep.root_hash = arg;
                a->verity_options = true;
                return 1;
        case ARG_ROOT_HASH_SIG:
                if ((r = check_root_hash_sig_arg("run", arg)) < 0)
                        return r;
                a->prep.root_hash_sig = arg;
                a->verity_options = true;
                return 1;
        case ARG_VERITY_DATA:
                a->prep.verity_data = arg;
                a->verity_options = true;
                return 1;
        case ARG_IMAGE_POLICY: {
                /* Its syntax here (the root's and usr's are one syntax); the image store reads the
                 * flags when it prepares the image. */
                unsigned policy;
                if ((r = image_policy_parse(arg, &policy)) < 0)
                        return bad_value("--image-policy", arg, r);
                a->prep.image_policy = arg;
                a->verity_options = true;
                return 1;
        }
        case ARG_VERITY_CERTS:
                a->prep.verity_certs = arg;
                return 1;
        }
        return 0;
}

/* Execution and identity: what runs, as whom, where, under which name. */
static int parse_exec_option(int ch, const char *arg, SpawnConfig *c) {
        int r;
        switch (ch) {
        case ARG_BOOT:
                c->boot = true;
                c->mask |= SETTING_BOOT;
                return 1;
        case ARG_AS_PID2:
                c->as_pid2 = true;
                c->mask |= SETTING_PROCESS_TWO;
                return 1;
        case ARG_NOTIFY_READY:
                return set_boolean(c, "--notify-ready", arg, &c->notify_ready, SETTING_NOTIFY_READY);
        case ARG_CHDIR:
                if (arg[0] != '/')
                        return bad_value("--chdir", arg, -EINVAL);
                c->mask |= SETTING_WORKING_DIRECTORY;
                return set_string(&c->working_directory, arg);
        case ARG_SETENV:
                if (!env_assignment_is_valid(arg, true) || strv_length(c->setenv) >= SPAWN_ENVIRONMENT_MAX)
                        return bad_value("--setenv", arg, -EINVAL);
                if (strv_extend(&c->setenv, arg) < 0)
                        return log_oom();
                c->mask |= SETTING_ENVIRONMENT;
                return 1;
        case ARG_USER:
                c->mask |= SETTING_USER;
                return set_string(&c->user, arg);
        case ARG_KILL_SIGNAL:
                if ((r = signal_from_string(arg)) < 0)
                        return bad_value("--kill-signal", arg, r);
                c->kill_signal = r;
                c->mask |= SETTING_KILL_SIGNAL;
                return 1;
        case ARG_HOSTNAME:
                if (!hostname_is_valid_simple(arg))
                        return bad_value("--hostname", arg, -EINVAL);
                c->mask |= SETTING_HOSTNAME;
                return set_string(&c->hostname, arg);
        case ARG_UUID:
                if ((r = uuid_parse(arg, c->uuid)) < 0)
                        return bad_value("--uuid", arg, r);
                c->uuid_set = true;
                c->mask |= SETTING_MACHINE_ID;
                return 1;
        }
        return 0;
}

/* Security: capabilities, privileges, the system-call filter, labels. */
static int parse_security_option(int ch, const char *arg, SpawnConfig *c) {
        uint64_t caps;
        int r;
        switch (ch) {
        case ARG_CAPABILITY:
        case ARG_DROP_CAPABILITY:
                if ((r = parse_capabilities(arg, &caps)) < 0)
                        return r;
                if (ch == ARG_CAPABILITY)
                        c->caps_plus |= caps;
                else
                        c->caps_minus |= caps;
                c->mask |= SETTING_CAPABILITY;
                return 1;
        case ARG_AMBIENT_CAPABILITY:
                if ((r = parse_capabilities(arg, &caps)) < 0)
                        return r;
                c->ambient_caps |= caps;
                c->mask |= SETTING_AMBIENT_CAPABILITY;
                return 1;
        case ARG_NO_NEW_PRIVILEGES:
                return set_boolean(c, "--no-new-privileges", arg, &c->no_new_privileges, SETTING_NO_NEW_PRIVILEGES);
        case ARG_SYSTEM_CALL_FILTER: {
                _cleanup_diag_ Diag bad = DIAG_INIT;
                r = syscall_filter_parse(arg, &c->syscall_allow, &c->syscall_deny, &bad);
                if (r == -ENOMEM)
                        return log_oom();
                if (r == -EINVAL)
                        return log_usage("run: --system-call-filter: unknown system call or group \"%s\"", bad.object ?: arg);
                if (r < 0)
                        return bad_value("--system-call-filter", arg, r);
                c->mask |= SETTING_SYSCALL_FILTER;
                return 1;
        }
        case ARG_SELINUX_CONTEXT:
                return set_string(&c->selinux_context, arg);
        case ARG_SELINUX_APIFS_CONTEXT:
                return set_string(&c->selinux_apifs_context, arg);
        }
        return 0;
}

/* Resources and user namespaces. */
static int parse_resource_option(int ch, const char *arg, SpawnConfig *c) {
        int r;
        switch (ch) {
        case ARG_RLIMIT: {
                int res;
                struct rlimit rl;
                if ((r = rlimit_parse(arg, &res, &rl)) < 0)
                        return bad_value("--rlimit", arg, r);
                free(c->rlimits[res]);
                if (!(c->rlimits[res] = malloc(sizeof(rl))))
                        return log_oom();
                *c->rlimits[res] = rl;
                return 1;
        }
        case ARG_OOM_SCORE_ADJUST:
                if ((r = oom_score_adjust_parse(arg, &c->oom_score_adjust)) < 0)
                        return bad_value("--oom-score-adjust", arg, r);
                c->oom_score_adjust_set = true;
                c->mask |= SETTING_OOM_SCORE_ADJUST;
                return 1;
        case ARG_CPU_AFFINITY:
                cpu_set_done(&c->cpu_affinity);
                if ((r = cpu_set_parse(arg, &c->cpu_affinity)) < 0)
                        return r == -ENOMEM ? log_oom() : bad_value("--cpu-affinity", arg, r);
                c->mask |= SETTING_CPU_AFFINITY;
                return 1;
        case ARG_PERSONALITY:
                if ((c->personality = personality_from_string(arg)) == PERSONALITY_INVALID)
                        return log_usage("run: --personality: \"%s\" is not a personality of this host (x86, x86-64)", arg);
                c->mask |= SETTING_PERSONALITY;
                return 1;
        case ARG_PRIVATE_USERS:
                if ((r = private_users_parse(arg ?: "yes", &c->private_users, &c->uid_shift, &c->uid_range)) < 0)
                        return bad_value("--private-users", arg ?: "yes", r);
                c->mask |= SETTING_USERNS;
                return 1;
        case ARG_PICK_USERS:
                c->private_users = PRIVATE_USERS_PICK;
                c->uid_range = USERNS_RANGE_DEFAULT;
                c->mask |= SETTING_USERNS;
                return 1;
        case ARG_PRIVATE_USERS_OWNERSHIP: {
                PrivateUsersOwnership own = private_users_ownership_from_string(arg);
                if (own < 0)
                        return bad_value("--private-users-ownership", arg, -EINVAL);
                c->private_users_ownership = own;
                c->mask |= SETTING_USERNS_OWNERSHIP;
                return 1;
        }
        }
        return 0;
}

/* Mounts and the container's /etc files. */
static int parse_mount_option(int ch, const char *arg, SpawnConfig *c) {
        CustomMount m;
        int r;
        switch (ch) {
        case ARG_BIND:
        case ARG_BIND_RO:
        case ARG_TMPFS:
        case ARG_OVERLAY:
        case ARG_OVERLAY_RO: {
                const char *name = ch == ARG_BIND      ? "--bind"
                                   : ch == ARG_BIND_RO ? "--bind-ro"
                                   : ch == ARG_TMPFS   ? "--tmpfs"
                                   : ch == ARG_OVERLAY ? "--overlay"
                                                       : "--overlay-ro";
                r = ch == ARG_BIND || ch == ARG_BIND_RO ? custom_mount_parse_bind(arg, ch == ARG_BIND_RO, &m)
                    : ch == ARG_TMPFS                   ? custom_mount_parse_tmpfs(arg, &m)
                                                        : custom_mount_parse_overlay(arg, ch == ARG_OVERLAY_RO, &m);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return bad_value(name, arg, r);
                if ((r = spawn_config_add_mount(c, &m)) < 0) {
                        custom_mount_done(&m);
                        return bad_value(name, arg, r);
                }
                c->mask |= SETTING_CUSTOM_MOUNTS;
                return 1;
        }
        case ARG_INACCESSIBLE:
                if ((r = inaccessible_path_add(&c->inaccessible, arg)) < 0)
                        return r == -ENOMEM ? log_oom() : bad_value("--inaccessible", arg, r);
                c->mask |= SETTING_INACCESSIBLE;
                return 1;
        case ARG_RESOLV_CONF:
                if ((int) (c->resolv_conf = resolv_conf_mode_from_string(arg)) < 0)
                        return bad_value("--resolv-conf", arg, -EINVAL);
                c->mask |= SETTING_RESOLV_CONF;
                return 1;
        case ARG_TIMEZONE:
                if ((int) (c->timezone = timezone_mode_from_string(arg)) < 0)
                        return bad_value("--timezone", arg, -EINVAL);
                c->mask |= SETTING_TIMEZONE;
                return 1;
        }
        return 0;
}

/* Networking (spawn-network.c): every option implies a network namespace of the container's own;
 * -p belongs with the others but has a bit of its own, as in nspawn (a settings file's Port= merges
 * with the command line's links). */
static int parse_network_option(int ch, const char *arg, SpawnConfig *c) {
        static const struct {
                int ch;
                const char *name;
        } names[] = {
                { ARG_NETWORK_VETH_EXTRA, "--network-veth-extra" },
                { ARG_NETWORK_INTERFACE, "--network-interface" },
                { ARG_NETWORK_MACVLAN, "--network-macvlan" },
                { ARG_NETWORK_IPVLAN, "--network-ipvlan" },
                { ARG_NETWORK_BRIDGE, "--network-bridge" },
                { ARG_NETWORK_ZONE, "--network-zone" },
                { ARG_NETWORK_NAMESPACE_PATH, "--network-namespace-path" },
                { ARG_NETWORK_ADDRESS, "--network-address" },
                { ARG_PORT, "--port" },
        };
        SpawnNetwork *n = &c->network;
        _cleanup_diag_ Diag bad = DIAG_INIT;
        const char *name = NULL;
        int r = 0;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i].ch == ch)
                        name = names[i].name;
        switch (ch) {
        case ARG_NETWORK_VETH:
                n->veth = true;
                break;
        case ARG_NETWORK_VETH_EXTRA:
                r = spawn_network_add_pair(&n->veth_extra, arg, &bad);
                break;
        case ARG_NETWORK_INTERFACE:
                r = spawn_network_add_pair(&n->interfaces, arg, &bad);
                break;
        case ARG_NETWORK_MACVLAN:
                r = spawn_network_add_ifname(&n->macvlan, arg, &bad);
                break;
        case ARG_NETWORK_IPVLAN:
                r = spawn_network_add_ifname(&n->ipvlan, arg, &bad);
                break;
        case ARG_NETWORK_BRIDGE:
                r = spawn_network_set_bridge(n, arg, &bad);
                break;
        case ARG_NETWORK_ZONE:
                r = spawn_network_set_zone(n, arg, &bad);
                break;
        case ARG_NETWORK_NAMESPACE_PATH:
                if (arg[0] != '/')
                        return log_usage("run: --network-namespace-path=%s: not an absolute path", arg);
                free(n->namespace_path);
                if (!(n->namespace_path = strdup(arg)))
                        return log_oom();
                break;
        case ARG_NETWORK_ADDRESS:
                if (spawn_network_address_from_string(arg, &n->address) < 0)
                        return log_usage("run: invalid --network-address value \"%s\" (auto or none)", arg);
                break;
        case ARG_PORT:
                r = spawn_network_add_port(n, arg, &bad);
                break;
        default:
                return 0;
        }
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_usage("run: invalid %s value \"%s\": %s", name, arg, bad.cause ?: strerror(-r));
        c->private_network = true;
        c->mask |= ch == ARG_PORT ? SETTING_EXPOSE_PORTS : SETTING_NETWORK;
        return 1;
}

/* I/O, networking, registration and the settings file. */
static int parse_host_option(int ch, const char *arg, SpawnConfig *c, RunArgs *a) {
        switch (ch) {
        case ARG_SUPPRESS_SYNC:
                return set_boolean(c, "--suppress-sync", arg, &c->suppress_sync, SETTING_SUPPRESS_SYNC);
        case ARG_CONSOLE:
                if ((int) (c->console = console_mode_from_string(arg)) < 0)
                        return bad_value("--console", arg, -EINVAL);
                return 1;
        case ARG_PIPE:
                c->console = CONSOLE_PIPE;
                return 1;
        case ARG_PRIVATE_NETWORK:
                c->private_network = true;
                c->mask |= SETTING_NETWORK;
                return 1;
        case ARG_REGISTER:
                if ((int) (c->register_mode = register_mode_from_string(arg)) < 0)
                        return bad_value("--register", arg, -EINVAL);
                return 1;
        case ARG_KEEP_UNIT:
                c->keep_unit = true;
                return 1;
        case ARG_SLICE:
                /* A unit name of the slice type: systemd checks the rest. */
                if (!endswith(arg, ".slice") || streq(arg, ".slice") || strchr(arg, '/'))
                        return bad_value("--slice", arg, -EINVAL);
                free(c->slice);
                if (!(c->slice = strdup(arg)))
                        return log_oom();
                return 1;
        case ARG_PROPERTY: {
                _cleanup_diag_ Diag d = DIAG_INIT;
                int r = machine_bus_property_check(arg, &d);
                if (r < 0)
                        return log_usage(
                                "run: --property=%s: %s", arg, diag_message(&d) ? diag_message(&d) : strerror(-r));
                if (strv_length(c->properties) >= MACHINE_BUS_PROPERTIES_MAX)
                        return log_usage("run: more than %u --property= assignments", MACHINE_BUS_PROPERTIES_MAX);
                if (strv_extend(&c->properties, arg) < 0)
                        return log_oom();
                return 1;
        }
        case ARG_NO_PAGER:
                return 1; /* cowpen pages nothing */
        case ARG_OCI_BUNDLE:
                a->oci_bundle = arg;
                return 1;
        case ARG_SETTINGS:
                if ((int) (a->settings = settings_trust_from_string(arg)) < 0)
                        return bad_value("--settings", arg, -EINVAL);
                return 1;
        }
        return 0;
}

/* Credentials and the journal (spawn-credentials.c, spawn-journal.c). No message names a
 * credential's value: only its ID. */
static int parse_creds_option(int ch, const char *arg, SpawnConfig *c) {
        switch (ch) {
        case ARG_SET_CREDENTIAL:
        case ARG_LOAD_CREDENTIAL: {
                const char *name = ch == ARG_SET_CREDENTIAL ? "--set-credential" : "--load-credential";
                _cleanup_diag_ Diag bad = DIAG_INIT;
                int r = ch == ARG_SET_CREDENTIAL ? spawn_credential_set(c, arg, &bad) : spawn_credential_load(c, arg, &bad);
                if (r == -ENOMEM)
                        return log_oom();
                if (r == -EINVAL || r == -EEXIST || r == -E2BIG)
                        return log_usage("run: %s: %s", name, diag_message(&bad) ?: strerror(-r));
                if (r < 0)
                        return log_error_errno(r, "run: %s: %s", name, diag_message(&bad) ?: strerror(-r));
                return 1;
        }
        case ARG_LINK_JOURNAL:
                if (link_journal_parse(arg, &c->link_journal, &c->link_journal_try) < 0)
                        return log_usage("run: invalid --link-journal value \"%s\": not one of no, auto, guest, host, "
                                         "try-guest, try-host",
                                         arg);
                c->mask |= SETTING_LINK_JOURNAL;
                return 1;
        case ARG_BIND_USER: {
                int r = bind_user_add(&c->bind_user, arg);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_usage("run: invalid --bind-user value \"%s\": %s", arg,
                                         r == -E2BIG ? "more than 64 users" : "not a valid user name");
                c->mask |= SETTING_BIND_USER;
                return 1;
        }
        case ARG_LINK_JOURNAL_TRY_GUEST:
                c->link_journal = LINK_JOURNAL_GUEST;
                c->link_journal_try = true;
                c->mask |= SETTING_LINK_JOURNAL;
                return 1;
        }
        return 0;
}

static int parse_run_option(int ch, const char *arg, SpawnConfig *c, RunArgs *a) {
        int r;
        if ((r = parse_image_option(ch, arg, c, a)) != 0 || (r = parse_verity_option(ch, arg, a)) != 0 ||
            (r = parse_exec_option(ch, arg, c)) != 0 || (r = parse_security_option(ch, arg, c)) != 0 ||
            (r = parse_resource_option(ch, arg, c)) != 0 || (r = parse_mount_option(ch, arg, c)) != 0 ||
            (r = parse_network_option(ch, arg, c)) != 0 || (r = parse_host_option(ch, arg, c, a)) != 0 ||
            (r = parse_creds_option(ch, arg, c)) != 0)
                return r < 0 ? r : 0;
        if ((r = parse_global_option(ch, arg, help_run)) != 0)
                return r < 0 ? r : log_usage("run: unexpected option");
        return 0;
}

/* The options that may not be combined, or need another one. */
static int check_run_args(const SpawnConfig *c, const RunArgs *a) {
        if (a->oci_bundle && (a->prep.image || a->prep.directory || a->prep.template_dir))
                return log_usage("run: --oci-bundle= may not be combined with --directory=, --image= or --template=");
        if (a->prep.image && a->prep.directory)
                return log_usage("run: --image= and --directory= may not be combined");
        if (a->prep.image && (a->prep.template_dir || c->volatile_mode != VOLATILE_NO))
                return log_usage("run: --image= may not be combined with --template= or --volatile=");
        if (a->verity_options && !a->prep.image)
                return log_usage("run: --root-hash, --root-hash-sig, --verity-data and --image-policy need --image=");
        if (c->notify_ready && !c->boot)
                return log_usage("run: --notify-ready=yes needs --boot");
        if (c->boot && c->as_pid2)
                return log_usage("run: --boot and --as-pid2 may not be combined");
        if (c->boot && c->user)
                return log_usage("run: --boot and --user may not be combined (init runs as root)");
        if (a->prep.ephemeral && a->prep.template_dir)
                return log_usage("run: --ephemeral and --template= may not be combined");
        if (a->prep.template_dir && !a->prep.directory)
                return log_usage("run: --template= needs --directory=");
        if (a->prep.ephemeral && c->volatile_mode != VOLATILE_NO)
                return log_usage("run: --ephemeral and --volatile= may not be combined");
        if (c->ambient_caps && c->boot)
                return log_usage("run: --ambient-capability= may not be combined with --boot");
        if (a->prep.ephemeral && !c->link_journal_try &&
            (c->link_journal == LINK_JOURNAL_GUEST || c->link_journal == LINK_JOURNAL_HOST))
                return log_usage("run: --ephemeral and --link-journal=guest|host may not be combined (try-guest, try-host skip it)");
        /* The network options that cannot work together. With links on the command line no
         * settings file can add any (the command line's win): -p without them is checked once the
         * file is merged (verb_run()), since its VirtualEthernet= or Zone= may give the address. */
        _cleanup_diag_ Diag bad = DIAG_INIT;
        if ((c->mask & SETTING_NETWORK) && spawn_network_check(c, &bad) < 0)
                return log_usage("run: %s", diag_message(&bad));
        return 0;
}

/* In this order: getopt_long() lists an ambiguous abbreviation's candidates so. */
static const struct option run_options[] = {
        GLOBAL_LONG_OPTIONS,
        { "directory", required_argument, NULL, ARG_DIRECTORY },
        { "machine", required_argument, NULL, ARG_MACHINE },
        { "template", required_argument, NULL, ARG_TEMPLATE },
        { "ephemeral", no_argument, NULL, ARG_EPHEMERAL },
        { "image", required_argument, NULL, ARG_IMAGE },
        { "read-only", no_argument, NULL, ARG_READ_ONLY },
        { "volatile", optional_argument, NULL, ARG_VOLATILE },
        { "root-hash", required_argument, NULL, ARG_ROOT_HASH },
        { "root-hash-sig", required_argument, NULL, ARG_ROOT_HASH_SIG },
        { "verity-data", required_argument, NULL, ARG_VERITY_DATA },
        { "image-policy", required_argument, NULL, ARG_IMAGE_POLICY },
        { "boot", no_argument, NULL, ARG_BOOT },
        { "as-pid2", no_argument, NULL, ARG_AS_PID2 },
        { "chdir", required_argument, NULL, ARG_CHDIR },
        { "setenv", required_argument, NULL, ARG_SETENV },
        { "user", required_argument, NULL, ARG_USER },
        { "kill-signal", required_argument, NULL, ARG_KILL_SIGNAL },
        { "notify-ready", required_argument, NULL, ARG_NOTIFY_READY },
        { "hostname", required_argument, NULL, ARG_HOSTNAME },
        { "uuid", required_argument, NULL, ARG_UUID },
        { "capability", required_argument, NULL, ARG_CAPABILITY },
        { "drop-capability", required_argument, NULL, ARG_DROP_CAPABILITY },
        { "no-new-privileges", optional_argument, NULL, ARG_NO_NEW_PRIVILEGES },
        { "private-users", optional_argument, NULL, ARG_PRIVATE_USERS },
        { "rlimit", required_argument, NULL, ARG_RLIMIT },
        { "private-network", no_argument, NULL, ARG_PRIVATE_NETWORK },
        { "bind", required_argument, NULL, ARG_BIND },
        { "bind-ro", required_argument, NULL, ARG_BIND_RO },
        { "tmpfs", required_argument, NULL, ARG_TMPFS },
        { "overlay", required_argument, NULL, ARG_OVERLAY },
        { "overlay-ro", required_argument, NULL, ARG_OVERLAY_RO },
        { "resolv-conf", required_argument, NULL, ARG_RESOLV_CONF },
        { "timezone", required_argument, NULL, ARG_TIMEZONE },
        { "console", required_argument, NULL, ARG_CONSOLE },
        { "pipe", no_argument, NULL, ARG_PIPE },
        { "settings", required_argument, NULL, ARG_SETTINGS },
        { "private-users-ownership", required_argument, NULL, ARG_PRIVATE_USERS_OWNERSHIP },
        { "verity-certs", required_argument, NULL, ARG_VERITY_CERTS },
        { "ambient-capability", required_argument, NULL, ARG_AMBIENT_CAPABILITY },
        { "system-call-filter", required_argument, NULL, ARG_SYSTEM_CALL_FILTER },
        { "oom-score-adjust", required_argument, NULL, ARG_OOM_SCORE_ADJUST },
        { "cpu-affinity", required_argument, NULL, ARG_CPU_AFFINITY },
        { "personality", required_argument, NULL, ARG_PERSONALITY },
        { "suppress-sync", required_argument, NULL, ARG_SUPPRESS_SYNC },
        { "inaccessible", required_argument, NULL, ARG_INACCESSIBLE },
        { "selinux-context", required_argument, NULL, ARG_SELINUX_CONTEXT },
        { "selinux-apifs-context", required_argument, NULL, ARG_SELINUX_APIFS_CONTEXT },
        { "register", required_argument, NULL, ARG_REGISTER },
        { "keep-unit", no_argument, NULL, ARG_KEEP_UNIT },
        { "slice", required_argument, NULL, ARG_SLICE },
        { "property", required_argument, NULL, ARG_PROPERTY },
        { "no-pager", no_argument, NULL, ARG_NO_PAGER },
        { "network-veth", no_argument, NULL, ARG_NETWORK_VETH },
        { "network-veth-extra", required_argument, NULL, ARG_NETWORK_VETH_EXTRA },
        { "network-interface", required_argument, NULL, ARG_NETWORK_INTERFACE },
        { "network-macvlan", required_argument, NULL, ARG_NETWORK_MACVLAN },
        { "network-ipvlan", required_argument, NULL, ARG_NETWORK_IPVLAN },
        { "network-bridge", required_argument, NULL, ARG_NETWORK_BRIDGE },
        { "network-zone", required_argument, NULL, ARG_NETWORK_ZONE },
        { "network-namespace-path", required_argument, NULL, ARG_NETWORK_NAMESPACE_PATH },
        { "network-address", required_argument, NULL, ARG_NETWORK_ADDRESS },
        { "port", required_argument, NULL, ARG_PORT },
        { "set-credential", required_argument, NULL, ARG_SET_CREDENTIAL },
        { "load-credential", required_argument, NULL, ARG_LOAD_CREDENTIAL },
        { "link-journal", required_argument, NULL, ARG_LINK_JOURNAL },
        { "bind-user", required_argument, NULL, ARG_BIND_USER },
        { "oci-bundle", required_argument, NULL, ARG_OCI_BUNDLE },
        {}
};

static int parse_run_argv(int argc, char *argv[], SpawnConfig *c, RunArgs *a) {
        int ch, r;

        /* "+": options end at the command, whose own options are its business. */
        while ((ch = getopt_long(argc, argv, "+" GLOBAL_SHORT_OPTIONS "D:M:xi:baE:u:PUZ:L:np:j", run_options, NULL)) >= 0)
                if ((r = parse_run_option(ch, optarg, c, a)) < 0)
                        return r;

        if (optind < argc) {
                if (argc - optind > (int) SPAWN_PARAMETERS_MAX)
                        return log_usage("run: too many arguments");
                for (int i = optind; i < argc; i++)
                        if (strv_extend(&c->command, argv[i]) < 0)
                                return log_oom();
                c->mask |= SETTING_COMMAND;
        }
        return check_run_args(c, a);
}

static int log_prepare_error(int r, const RunArgs *a) {
        const char *obj = a->prep.directory ?: a->prep.machine ?: ".";
        if (!a->prep.directory && a->prep.machine)
                return log_image_error(r, "run", a->prep.machine);
        switch (r) {
        case -ENOENT:
                return log_error_errno(r, "run %s: directory does not exist", obj);
        case -EBUSY:
                return log_error_errno(r, "run %s: directory is in use", obj);
        case -EINVAL:
                return log_error_errno(r, "run %s: refusing to run the host's root directory", obj);
        default:
                return log_error_errno(r, "run %s: %m", obj);
        }
}

/* The root to run, prepared by the image store: a directory or subvolume, or a raw image (-i, or
 * -M NAME whose image is NAME.raw) checked and mounted. */
static int open_root(RunArgs *a, SpawnConfig *c, PreparedRoot **ret) {
        /* --read-only, or after a reboot also a settings file's ReadOnly=: a raw image is then
         * mounted read-only from the start. */
        a->prep.read_only = c->read_only;
        _cleanup_diag_ Diag diag = DIAG_INIT;
        int r = prepared_root_new(&a->prep, arg_global.image_root, ret, &diag);
        if (r < 0 && diag_failed(&diag))
                /* A raw image's failure: the image file and what failed. */
                return log_error_errno(r, "run -i %s: %s", diag.object ?: a->prep.image ?: a->prep.machine,
                                       diag.cause ?: strerror(-r));
        if (r < 0)
                return log_prepare_error(r, a);
        if ((*ret)->shadows_raw)
                log_image_shadowed("run", a->prep.machine);
        /* A raw image that is read-only (its mode, a GPT flag, verity) runs read-only, whatever
         * the settings file and --volatile= say. */
        if ((*ret)->kind == PREPARED_MOUNTED && (*ret)->read_only)
                c->read_only = true;
        return 0;
}

/* What of the settings file decides how the root is prepared, read before it is: Ephemeral= (a
 * first, writable preparation would already change the image: a raw image's file system is
 * mounted read-write) and whether a user namespace comes (-x then needs a copy, not an overlay).
 * The file is looked up as it is below, once the root is known: NAME.nspawn for the machine name
 * in /etc/systemd/nspawn, /run/systemd/nspawn, else next to the image (-M: the image root; -D:
 * the directory's parent; -i: the image file's directory). Anything that fails here is left to
 * the real reading below, which reports it. */
static void settings_peek(const RunArgs *a, const SpawnConfig *c, bool *ret_ephemeral, bool *ret_private_users) {
        *ret_ephemeral = *ret_private_users = false;
        _cleanup_free_ char *abs = NULL, *machine = NULL, *parent = NULL;
        const char *dir = a->prep.image ?: a->prep.directory ?: (a->prep.machine ? NULL : ".");
        if (dir) {
                abs = realpath(dir, NULL);
                if (!abs && errno == ENOENT && a->prep.template_dir) {
                        /* -D DIR that --template= will make: its parent exists. */
                        _cleanup_free_ char *copy = strdup(dir), *p = NULL;
                        if (!copy)
                                return;
                        for (size_t l = strlen(copy); l > 1 && copy[l - 1] == '/'; l--)
                                copy[l - 1] = 0;
                        char *sl = strrchr(copy, '/');
                        if (sl)
                                *sl = 0;
                        p = realpath(sl ? (*copy ? copy : "/") : ".", NULL);
                        if (!p || asprintf(&abs, "%s/%s", streq(p, "/") ? "" : p, sl ? sl + 1 : copy) < 0)
                                abs = NULL;
                }
                if (!abs || streq(abs, "/"))
                        return;
                char *slash = strrchr(abs, '/');
                parent = slash == abs ? strdup("/") : strndup(abs, (size_t) (slash - abs));
                if (a->prep.machine)
                        machine = strdup(a->prep.machine);
                else if (a->prep.image)
                        (void) raw_image_machine_name(abs, &machine);
                else
                        machine = strdup(slash + 1);
        } else {
                parent = strdup(arg_global.image_root);
                machine = strdup(a->prep.machine);
        }
        if (!parent || !machine)
                return;
        _cleanup_close_ int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size = 0;
        bool trusted = false;
        if (settings_find(machine, fd, parent, &path, &text, &size, &trusted) <= 0)
                return;
        SpawnConfig s;
        if (settings_parse(text, size, &s, NULL) < 0)
                return;
        *ret_ephemeral = (s.mask & SETTING_EPHEMERAL) && s.ephemeral;
        *ret_private_users = (s.mask & SETTING_USERNS) && !(c->mask & SETTING_USERNS) && s.private_users != PRIVATE_USERS_NO;
        spawn_config_done(&s);
}

/* What systemd-nspawn 252 requires of the tree (after the settings file, whose Boot= counts):
 * to boot, an OS tree (os-release), be it a directory or an image; otherwise a directory needs
 * a /usr, and an image nothing. */
static int check_os_tree(const RunArgs *a, const SpawnConfig *c, const PreparedRoot *root) {
        const char *image = root->kind == PREPARED_MOUNTED ? root->image_path : NULL;
        const char *obj = image ? NULL : a->prep.directory ?: a->prep.machine ?: ".";
        bool named = !image && !a->prep.directory && a->prep.machine;
        int r;
        if (c->boot) {
                if ((r = dir_is_os_tree(root->fd)) < 0)
                        return log_error_errno(r, "run %s: look for os-release: %m", obj ?: image);
                if (r > 0)
                        return 0;
                if (image)
                        return log_error_errno(-EMEDIUMTYPE,
                                               "run -i %s: not an OS tree (no etc/os-release or usr/lib/os-release in "
                                               "the root), refusing to boot it",
                                               image);
                return log_error_errno(-EMEDIUMTYPE,
                                       "run %s: %snot an OS tree (no etc/os-release or usr/lib/os-release), refusing to "
                                       "boot it",
                                       obj, named ? "image is " : "");
        }
        if (image)
                return 0;
        if ((r = dir_has_usr(root->fd)) < 0)
                return log_error_errno(r, "run %s: look for usr/: %m", obj);
        if (r == 0)
                return log_error_errno(-EMEDIUMTYPE, "run %s: %snot an OS tree (no usr/ directory)", obj,
                                       named ? "image is " : "");
        return 0;
}

/* Before the root is prepared: what the host cannot do, and what of the settings file decides
 * how the root is prepared (settings_peek()). */
static int prepare_run(RunArgs *a, SpawnConfig *c) {
        if ((c->selinux_context || c->selinux_apifs_context) && !spawn_selinux_enabled())
                return log_error_errno(-EOPNOTSUPP, "run: %s: SELinux is not enabled on this host",
                                       c->selinux_context ? "--selinux-context" : "--selinux-apifs-context");
        /* As $SYSTEMD_SECCOMP=0 for nspawn: to tell whether the filter is what breaks a payload. */
        const char *e = getenv("COWPEN_SECCOMP");
        if (e && parse_boolean(e) == 0) {
                c->no_seccomp = true;
                log_warning("run: $COWPEN_SECCOMP=0: the container runs without a system-call filter");
        }
        /* An overlayfs root can be neither idmapped nor chowned: -x with a user namespace gets a
         * copy where there is no btrfs snapshot. */
        a->prep.ephemeral_copy = c->private_users != PRIVATE_USERS_NO;
        /* Ephemeral=yes in the settings file is -x (it narrows: from any file), so the changes are
         * thrown away; the root is prepared accordingly from the start. */
        if (a->prep.ephemeral) {
                c->ephemeral = true;
                c->mask |= SETTING_EPHEMERAL;
        } else if (a->settings != SETTINGS_NO) {
                bool ephemeral, userns;
                settings_peek(a, c, &ephemeral, &userns);
                if (ephemeral && a->prep.template_dir)
                        return log_error_errno(-EINVAL, "run: the settings file says Ephemeral=yes, which may not be combined with --template=");
                if (ephemeral && c->volatile_mode != VOLATILE_NO)
                        return log_error_errno(-EINVAL, "run: the settings file says Ephemeral=yes, which may not be combined with --volatile=");
                a->prep.ephemeral = ephemeral;
                if (userns)
                        a->prep.ephemeral_copy = true;
        }
        return 0;
}

/* NAME.nspawn for the prepared root, merged into c: its warnings are logged, a refusal fails. */
static int read_settings(const RunArgs *a, SpawnConfig *c, const PreparedRoot *root) {
        if (a->settings == SETTINGS_NO)
                return 0;
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size = 0;
        bool trusted = false;
        int r = settings_find(root->machine, root->parent_fd, root->parent_path, &path, &text, &size, &trusted);
        if (r < 0 && r != -EINVAL)
                return log_error_errno(r, "run %s: settings file %s.nspawn: %m", root->machine, root->machine);
        if (r <= 0)
                return 0;
        SpawnConfig s;
        _cleanup_diag_ Diag diag = DIAG_INIT;
        r = settings_parse(text, size, &s, &diag);
        if (r == -E2BIG || r == -EBADMSG)
                return log_error_errno(r, "run %s: settings file %s: %s", root->machine, path,
                                       r == -E2BIG ? "too many entries or too long a line" : "contains NUL bytes");
        if (r < 0) /* -EINVAL: refused, the cause says why */
                return log_diag_error(r, &diag, "run %s: settings file %s", root->machine, path);
        r = settings_merge(c, &s, trusted || a->settings == SETTINGS_TRUSTED, path, &diag);
        spawn_config_done(&s);
        if (r < 0 && diag_failed(&diag)) /* LoadCredential=: which one, and why */
                return log_diag_error(r, &diag, "run %s: settings file %s", root->machine, path);
        if (r < 0)
                return log_error_errno(r, "run %s: settings file %s: %m", root->machine, path);
        for (size_t i = 0; i < diag.n_warnings; i++)
                log_warning("run %s: %s: %s", root->machine, path, diag.warnings[i]);
        return 0;
}

/* --oci-bundle=DIR: its config.json under what the command line set, its root (inside DIR) as
 * the directory to run. One line names the first field that cannot be honoured. */
static int load_oci_bundle(RunArgs *a, SpawnConfig *c) {
        if (!a->oci_bundle)
                return 0;
        SpawnConfig b;
        OciBundleExtra x;
        _cleanup_diag_ Diag diag = DIAG_INIT;
        int r = oci_bundle_load(a->oci_bundle, &b, &x, NULL, &diag);
        if (r < 0)
                return log_diag_error(r, &diag, "run --oci-bundle=%s", a->oci_bundle);
        r = oci_bundle_merge(c, &b, &x);
        a->oci_root = TAKE_PTR(x.root);
        a->prep.directory = a->oci_root;
        spawn_config_done(&b);
        oci_bundle_extra_done(&x);
        if (r < 0)
                return log_error_errno(r, "run --oci-bundle=%s: %s", a->oci_bundle,
                                       r == -E2BIG ? "too many mounts or paths with the command line's" : "out of memory");
        return 0;
}

/* Once the settings file is merged: what it may not change any more, what the root imposes,
 * and what nspawn refuses. */
static int check_run_config(const RunArgs *a, SpawnConfig *c, const PreparedRoot *root) {
        /* Ephemeral= was honoured before the root was prepared (settings_peek()); a file that
         * says so only now (it changed meanwhile) is refused rather than ignored. */
        if (c->ephemeral && !a->prep.ephemeral)
                return log_error_errno(-ESTALE, "run %s: the settings file says Ephemeral=yes, but the root was prepared without it "
                                       "(the file changed, or --template= made the directory)",
                                       root->machine);
        if (a->prep.ephemeral && c->volatile_mode != VOLATILE_NO)
                return log_error_errno(-EINVAL, "run %s: --ephemeral (or Ephemeral=yes) may not be combined with Volatile= of the settings file",
                                       root->machine);

        /* A read-only image (its flag or mode, verity) runs read-only whatever a settings file
         * says, as with systemd-nspawn (-M of a read-only image is --read-only unless -x). The
         * volatile modes never write the image anyway. */
        if (root->read_only && c->volatile_mode == VOLATILE_NO)
                c->read_only = true;

        /* As nspawn 252 (after the settings file: its Ephemeral= or LinkJournal= count too). */
        if (c->ephemeral && !c->link_journal_try &&
            (c->link_journal == LINK_JOURNAL_GUEST || c->link_journal == LINK_JOURNAL_HOST))
                return log_usage("run: --ephemeral and --link-journal=guest|host may not be combined (try-guest, try-host skip it)");
        /* As nspawn 252: the user's records and idmapping need a user namespace. */
        if (c->bind_user && c->private_users == PRIVATE_USERS_NO)
                return log_usage("run: --bind-user= requires --private-users");

        int r = check_os_tree(a, c, root);
        if (r < 0)
                return r;

        /* As nspawn: ambient capabilities come out of the bounding set, never on top of it. */
        uint64_t outside = c->ambient_caps & ~spawn_config_capabilities(c);
        if (outside) {
                unsigned cap = (unsigned) __builtin_ctzll(outside);
                return log_error_errno(-EINVAL, "run %s: ambient capability %s is not in the container's bounding set (add it with --capability=)",
                                       root->machine, capability_to_name(cap) ?: "?");
        }
        return 0;
}

/* --json=short|pretty: what the run starts from, as one JSON object on stderr before the payload
 * starts (stdout and stdin are the payload's, as with systemd-run's "Running as unit" line): the
 * machine, the image, the tree, how it was prepared, its protection and the verity root hash the
 * run trusted (null when unprotected). */
static int print_run_json(const PreparedRoot *root) {
        _cleanup_json_ json_object *o = json_object_new_object();
        bool raw = root->kind == PREPARED_MOUNTED;
        if (!o || json_add_string(o, "machine", root->machine) < 0 ||
                json_add_string(o, "image", raw ? root->image_path : root->path) < 0 ||
                json_add_string(o, "root", root->path) < 0 ||
                json_add_string(o, "prepared", prepared_root_kind_to_string(root->kind)) < 0 ||
                json_add_string(o, "ephemeral",
                        raw                               ? root->copy_how
                        : prepared_root_has_overlay(root) ? "overlayfs"
                                                          : NULL) < 0 ||
                json_add_string(o, "protection", raw ? root->protection : NULL) < 0 ||
                json_add_string(o, "root_hash", root->trusted_root_hash) < 0)
                return log_oom();
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
                    (arg_global.json == JSON_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                    : JSON_C_TO_STRING_PLAIN);
        const char *text = json_object_to_json_string_ext(o, flags);
        if (!text)
                return log_oom();
        fprintf(stderr, "%s\n", text);
        fflush(stderr);
        return 0;
}

/* Everything after the options: the root, the settings file, the checks, the engine. */
static int run_parsed(RunArgs *a_, SpawnConfig *c_) {
        RunArgs a = *a_;
        SpawnConfig c = *c_;
        _cleanup_(prepared_root_freep) PreparedRoot *root = NULL;
        int r;
        if ((r = prepare_run(&a, &c)) < 0)
                goto finish;
        if (a.writes_for && a.prep.ephemeral) {
                r = log_error_errno(-EINVAL, "%s: the settings file says Ephemeral=yes, which would throw the changes away",
                                    a.writes_for);
                goto finish;
        }
        r = open_root(&a, &c, &root);
        if (r < 0)
                goto finish;
        /* -p without a link on the command line: checked once the file is merged (its
         * VirtualEthernet= or Zone= may give the address); what is still missing then is the
         * command line's misuse, with its one-line message and exit status 2. */
        bool ports_unchecked = c.network.n_ports > 0 && !(c.mask & SETTING_NETWORK);
        if ((r = read_settings(&a, &c, root)) < 0 || (r = run_apply_oci_config(&c, root->parent_fd, root->machine)) < 0 ||
            (r = check_run_config(&a, &c, root)) < 0)
                goto finish;
        if (a.writes_for && c.volatile_mode != VOLATILE_NO) {
                r = log_error_errno(-EINVAL, "%s: the settings file says Volatile=, which would throw the changes away",
                                    a.writes_for);
                goto finish;
        }
        if (ports_unchecked) {
                _cleanup_diag_ Diag bad = DIAG_INIT;
                if (spawn_network_check(&c, &bad) < 0) {
                        r = log_usage("run: %s", diag_message(&bad));
                        goto finish;
                }
        }
        if (arg_global.json != JSON_OFF && (r = print_run_json(root)) < 0)
                goto finish;

        c.machine_derived = !a.prep.machine; /* the registry's name: NAME-RANDOM for -x (spawn-machine.h) */
        c.machine_shared = a.writes_for != NULL;
        for (;;) {
                _cleanup_diag_ Diag diag = DIAG_INIT;
                r = spawn_run(&c, root, &diag);
                if (r < 0) {
                        r = log_diag_error(r, &diag, "run %s", root->machine);
                        break;
                }
                if (r != SPAWN_STATUS_REBOOT)
                        break;
                /* A reboot inside: the container starts again; with -x on a fresh copy. */
                if (a.prep.ephemeral) {
                        root = prepared_root_free(root);
                        if ((r = open_root(&a, &c, &root)) < 0)
                                break;
                }
        }
finish:
        *c_ = c; /* the caller frees it: what the file merged in too */
        return r;
}

int verb_run(int argc, char *argv[]) {
        SpawnConfig c;
        spawn_config_init(&c);
        /* cowpen run is the one process of its own: raw images may move it into a mount namespace. */
        RunArgs a = { .settings = SETTINGS_YES, .prep.raw_images = true };
        int r = parse_run_argv(argc, argv, &c, &a);
        if (r >= 0)
                r = load_oci_bundle(&a, &c);
        if (r >= 0)
                r = run_parsed(&a, &c);
        spawn_config_done(&c);
        free(a.oci_root);
        return r;
}

/* update (verb-update.c): run's parser and run's path, with the root update prepared. */
struct RunInvocation {
        SpawnConfig c;
        RunArgs a;
};

int run_invocation_parse(int argc, char *argv[], const char *verb, RunInvocation **ret) {
        RunInvocation *inv = calloc(1, sizeof(RunInvocation));
        if (!inv)
                return log_oom();
        spawn_config_init(&inv->c);
        inv->a = (RunArgs) { .settings = SETTINGS_YES, .writes_for = verb };
        int r = parse_run_argv(argc, argv, &inv->c, &inv->a);
        if (r >= 0 && (inv->a.prep.directory || inv->a.prep.machine || inv->a.prep.image || inv->a.prep.ephemeral ||
                       inv->a.prep.template_dir || inv->a.oci_bundle || inv->c.volatile_mode != VOLATILE_NO))
                r = log_usage("%s: -D, -M, -i, -x, --template=, --oci-bundle= and --volatile= may not be given: %s "
                              "runs in the new generation it made",
                              verb, verb);
        if (r >= 0 && !(inv->c.mask & SETTING_COMMAND))
                r = log_usage("%s: no command (\"-- COMMAND…\")", verb);
        if (r < 0) {
                run_invocation_free(inv);
                return r;
        }
        *ret = inv;
        return 0;
}

int run_invocation_run(RunInvocation *inv, const char *directory, const char *machine) {
        inv->a.prep.directory = directory;
        inv->a.prep.machine = machine;
        return run_parsed(&inv->a, &inv->c);
}

void run_invocation_free(RunInvocation *inv) {
        if (!inv)
                return;
        spawn_config_done(&inv->c);
        free(inv);
}
