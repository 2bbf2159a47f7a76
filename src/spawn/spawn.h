/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The spawn layer: runs a command, or boots an init, in a prepared root (src/image's
 * PreparedRoot: a directory, a snapshot, an ephemeral copy or overlay, a mounted raw image) with
 * systemd-nspawn's options, and never decides how that root is stored.
 *
 * What it offers, all of it here:
 *   SpawnConfig           what a run asks for, filled by the verb from the command line with the
 *                         option parsers below, and from a NAME.nspawn settings file
 *                         (settings_find(), settings_parse(), settings_merge());
 *   spawn_run()           the run itself: namespaces (user namespaces with --private-users), a
 *                         cgroup with nspawn's device policy, the system-call filter, the mounts
 *                         and /etc files of the container, the console, signals forwarded, and
 *                         the payload's end as an exit status (SPAWN_STATUS_REBOOT for a reboot);
 *   spawn_enter()         a session inside a running container (shell, login: spawn-enter.c).
 * A failure's detail comes back in a Diag for the verb's one message; nothing here prints.
 *
 * The other spawn-*.h headers are the engine's own: each declares what one file offers, and the
 * calls run one way, from spawn.c (the parent) and spawn-child.c (the container's first process)
 * down to the files that mount, write the container's files, make user namespaces and cgroups,
 * and to src/shared. */

#include <sched.h>
#include <sys/resource.h>

#include "diag.h"
#include "image.h"
#include "macro.h"
#include "net.h"

typedef enum ConsoleMode {
        CONSOLE_INTERACTIVE,
        CONSOLE_READ_ONLY,
        CONSOLE_PASSIVE,
        CONSOLE_PIPE,
        CONSOLE_AUTOPIPE, /* nspawn's autopipe: interactive when stdin and stdout are terminals, else pipe */
        _CONSOLE_MODE_MAX,
        _CONSOLE_MODE_AUTO = -1, /* interactive when stdin and stdout are terminals, else pipe */
        _CONSOLE_MODE_INVALID = -EINVAL,
} ConsoleMode;

/* --register=: registration with systemd-machined (spawn-register.h): auto (the default)
 * registers where the system bus and machined can be reached and else runs unregistered, yes
 * fails with the reason where they cannot, no never registers. */
typedef enum RegisterMode {
        REGISTER_AUTO,
        REGISTER_NO,
        REGISTER_YES,
        _REGISTER_MODE_MAX,
        _REGISTER_MODE_INVALID = -EINVAL,
} RegisterMode;

typedef enum VolatileMode {
        VOLATILE_NO,
        VOLATILE_YES,     /* tmpfs root, the image's /usr read-only */
        VOLATILE_STATE,   /* the image read-only, tmpfs /var */
        VOLATILE_OVERLAY, /* overlayfs: the image below a tmpfs upper layer */
        _VOLATILE_MODE_MAX,
        _VOLATILE_MODE_INVALID = -EINVAL,
} VolatileMode;

typedef enum ResolvConfMode {
        RESOLV_CONF_OFF,
        RESOLV_CONF_COPY_HOST,
        RESOLV_CONF_COPY_STATIC,
        RESOLV_CONF_BIND_HOST,
        RESOLV_CONF_BIND_STATIC,
        RESOLV_CONF_REPLACE_HOST,
        RESOLV_CONF_REPLACE_STATIC,
        RESOLV_CONF_DELETE,
        RESOLV_CONF_AUTO,
        _RESOLV_CONF_MODE_MAX,
        _RESOLV_CONF_MODE_INVALID = -EINVAL,
} ResolvConfMode;

typedef enum TimezoneMode {
        TIMEZONE_OFF,
        TIMEZONE_COPY,
        TIMEZONE_BIND,
        TIMEZONE_SYMLINK,
        TIMEZONE_DELETE,
        TIMEZONE_AUTO,
        _TIMEZONE_MODE_MAX,
        _TIMEZONE_MODE_INVALID = -EINVAL,
} TimezoneMode;

typedef enum CustomMountType {
        CUSTOM_MOUNT_BIND,
        CUSTOM_MOUNT_TMPFS,
        CUSTOM_MOUNT_OVERLAY,
        _CUSTOM_MOUNT_TYPE_MAX,
} CustomMountType;

/* --bind=…:idmap|rootidmap|noidmap (nspawn 252's RemountIdmapping): with --private-users, the
 * bind mount idmapped so that the source's owners 0… are the container's 0… (idmap), or so that
 * the source directory's owner is the container's root and nobody else is mapped (rootidmap). */
typedef enum BindIdmap {
        BIND_IDMAP_NONE,
        BIND_IDMAP_CONTAINER, /* idmap: the container's own mapping */
        BIND_IDMAP_OWNER,     /* rootidmap: the source's owner as the container's root, alone */
        _BIND_IDMAP_MAX,
} BindIdmap;

typedef struct CustomMount {
        CustomMountType type;
        bool read_only;
        bool recursive;       /* bind: rbind (the default) or norbind */
        BindIdmap idmap;      /* bind: idmap, rootidmap, noidmap (the default) */
        bool source_in_root;  /* bind: the source was "+PATH", relative to the container's root */
        char *source;         /* bind: host path (or root-relative path) */
        char *destination;    /* absolute path inside the container */
        char *options;        /* tmpfs: mount options */
        char **lower;         /* overlay: lower directories, lowest first: host paths, or "+PATH"
                               * relative to the container's root (resolved inside it) */
        char *upper;          /* overlay: upper directory (host path or "+PATH"), NULL for read-only */
        bool temporary_top;   /* overlay: the upper (or, read-only, the top lower) layer was given
                               * empty: a throw-away directory spawn_run makes (temp_dir) */
        char *work_dir;       /* overlay: work directory, made by spawn_run next to the upper one
                               * ("+PATH": named by spawn_run, made in the root by the container) */
        char *temp_dir;       /* overlay: the throw-away directory of temporary_top */
} CustomMount;

/* --private-users: a user namespace whose uid/gid 0…N-1 are the host's uid_shift…
 * (spawn-userns.h says how). */
typedef enum PrivateUsersMode {
        PRIVATE_USERS_NO,
        PRIVATE_USERS_FIXED, /* UIDBASE[:N], or identity (0:65536) */
        PRIVATE_USERS_YES,   /* the base is the owner of the root directory */
        PRIVATE_USERS_PICK,  /* a free range derived from the machine name */
        _PRIVATE_USERS_MODE_MAX,
} PrivateUsersMode;

/* --private-users-ownership: how the root shows the namespace's owners. */
typedef enum PrivateUsersOwnership {
        PRIVATE_USERS_OWNERSHIP_AUTO,
        PRIVATE_USERS_OWNERSHIP_MAP,
        PRIVATE_USERS_OWNERSHIP_CHOWN,
        PRIVATE_USERS_OWNERSHIP_OFF,
        _PRIVATE_USERS_OWNERSHIP_MAX,
        _PRIVATE_USERS_OWNERSHIP_INVALID = -EINVAL,
} PrivateUsersOwnership;

#define USERNS_RANGE_DEFAULT 65536U

/* Limits on what a settings file or command line may ask for. */
#define SPAWN_CUSTOM_MOUNTS_MAX 1024U
#define SPAWN_ENVIRONMENT_MAX 4096U
#define SPAWN_PARAMETERS_MAX 4096U
#define SPAWN_OVERLAY_LAYERS_MAX 64U
#define SPAWN_HOSTNAME_MAX 64U

/* Which settings were given (on the command line: they win over a settings file); a mask. */
typedef enum SettingMask {
        SETTING_BOOT = 1U << 0,
        SETTING_COMMAND = 1U << 1,
        SETTING_ENVIRONMENT = 1U << 2,
        SETTING_USER = 1U << 3,
        SETTING_WORKING_DIRECTORY = 1U << 4,
        SETTING_CAPABILITY = 1U << 5,
        SETTING_NO_NEW_PRIVILEGES = 1U << 6,
        SETTING_HOSTNAME = 1U << 7,
        SETTING_READ_ONLY = 1U << 8,
        SETTING_VOLATILE = 1U << 9,
        SETTING_CUSTOM_MOUNTS = 1U << 10,
        SETTING_NETWORK = 1U << 11,
        SETTING_KILL_SIGNAL = 1U << 12,
        SETTING_PROCESS_TWO = 1U << 13,
        SETTING_USERNS = 1U << 14,
        SETTING_USERNS_OWNERSHIP = 1U << 15,
        SETTING_SYSCALL_FILTER = 1U << 16,
        SETTING_SUPPRESS_SYNC = 1U << 17,
        SETTING_AMBIENT_CAPABILITY = 1U << 18,
        SETTING_OOM_SCORE_ADJUST = 1U << 19,
        SETTING_CPU_AFFINITY = 1U << 20,
        SETTING_PERSONALITY = 1U << 21,
        SETTING_INACCESSIBLE = 1U << 22,
        SETTING_EPHEMERAL = 1U << 30, /* apart from the bits further keys take */
        SETTING_RESOLV_CONF = 1U << 23,
        SETTING_TIMEZONE = 1U << 24,
        SETTING_NOTIFY_READY = 1U << 25,
        SETTING_MACHINE_ID = 1U << 26,
        SETTING_EXPOSE_PORTS = 1U << 27, /* -p, Port= (nspawn keeps them apart from the rest of [Network]) */
        SETTING_CREDENTIALS = 1U << 28,  /* --set-credential=, --load-credential= */
        SETTING_LINK_JOURNAL = 1U << 29, /* --link-journal=, -j */
        SETTING_BIND_USER = 1U << 31,    /* --bind-user=, BindUser= */
} SettingMask;

/* A set of CPUs, as sched_setaffinity() takes it. */
typedef struct CpuSet {
        cpu_set_t *set; /* NULL: not set */
        size_t size;    /* bytes */
} CpuSet;

#define SPAWN_SYSCALL_FILTER_MAX 4096U
#define SPAWN_INACCESSIBLE_MAX 1024U
/* The highest CPU number --cpu-affinity= accepts (systemd's limit). */
#define SPAWN_CPU_MAX 8191U
#define PERSONALITY_INVALID 0xffffffffUL

/* The network of a container beyond --private-network (spawn-network.c): nspawn's Networking
 * options and [Network] keys, made on the host side by src/net (net.h) around the run. Every one
 * of them implies a private network namespace (private_network) with lo up. */
#define SPAWN_NETWORK_LINKS_MAX 32U /* of each list: extra veths, interfaces, macvlans, ipvlans */
#define SPAWN_PORTS_MAX 64U         /* -p, Port= (src/net takes as many) */
typedef struct SpawnNetwork {
        bool veth;             /* -n, VirtualEthernet=yes: ve-MACHINE / host0 */
        char **veth_extra;     /* --network-veth-extra=, VirtualEthernetExtra=: pairs HOSTIF, CONTAINERIF */
        char **interfaces;     /* --network-interface=, Interface=: pairs HOSTIF, CONTAINERIF (moved in) */
        char **macvlan;        /* --network-macvlan=, MACVLAN=: host parents */
        char **ipvlan;         /* --network-ipvlan=, IPVLAN=: host parents */
        char *bridge;          /* --network-bridge=, Bridge= */
        char *zone;            /* --network-zone=, Zone= */
        char *namespace_path;  /* --network-namespace-path=, NetworkNamespacePath= */
        NetPortForward *ports; /* -p, Port= */
        size_t n_ports;
        NetAddressMode address; /* --network-address= */
        char *resolv_conf;     /* set by spawn_run for the container's setup: the generated
                                * resolv.conf (a host path) when a dnsmasq serves the container */
} SpawnNetwork;

/* --set-credential=, --load-credential= (spawn-credentials.c): a credential as nspawn passes it,
 * a file of /run/host/credentials in the container. Secret: the data is erased when freed and
 * never printed. */
#define CREDENTIAL_NAME_MAX 255U               /* systemd's credential_name_valid(): a file name */
#define CREDENTIAL_SIZE_MAX (1024U * 1024U)    /* systemd's CREDENTIAL_SIZE_MAX, per credential */
#define SPAWN_CREDENTIALS_MAX 1024U            /* credentials of one container */
#define SPAWN_CREDENTIALS_TOTAL_MAX (16U * 1024U * 1024U) /* their data together (ramfs is unbounded) */
typedef struct SpawnCredential {
        char *id;
        char *data; /* NULL until loaded: a settings file's LoadCredential=, loaded at the merge */
        size_t size;
        char *path; /* LoadCredential= of a settings file, not yet loaded */
} SpawnCredential;

/* --link-journal= (spawn-journal.c), nspawn's modes. */
typedef enum LinkJournal {
        LINK_JOURNAL_NO,
        LINK_JOURNAL_AUTO,  /* the default: bind the host's /var/log/journal/ID if it exists */
        LINK_JOURNAL_GUEST, /* the journal in the guest, the host's /var/log/journal/ID a symlink to it */
        LINK_JOURNAL_HOST,  /* the journal on the host, bound into the guest */
        _LINK_JOURNAL_MAX,
        _LINK_JOURNAL_INVALID = -EINVAL,
} LinkJournal;

typedef struct SpawnConfig {
        char **command;          /* NULL: the user's shell */
        char **setenv;           /* KEY=VALUE */
        char *user;
        bool user_ids;           /* --oci-bundle's process.user: numeric IDs, no passwd lookup (c->user wins) */
        uid_t user_uid;
        gid_t user_gid;
        gid_t *user_groups;      /* additionalGids */
        size_t n_user_groups;
        char *working_directory;
        char *hostname;          /* NULL: the machine name */
        uint8_t uuid[16];
        bool uuid_set;
        bool boot;               /* -b: execute the image's init (spawn-boot.h) */
        bool notify_ready;       /* -b: READY=1 only once the container's init sends it */
        PrivateUsersMode private_users; /* container uid 0… = host uid_shift… (spawn-userns.h) */
        uid_t uid_shift, uid_range;
        PrivateUsersOwnership private_users_ownership;
        bool as_pid2;
        uint64_t caps_plus, caps_minus; /* on top of the default bounding set */
        uint64_t ambient_caps;   /* --ambient-capability: inheritable and ambient for the payload */
        bool no_new_privileges;
        char **syscall_allow;    /* --system-call-filter=LIST: calls and @groups allowed on top */
        char **syscall_deny;     /* ~LIST: refused, whatever else allows them */
        bool suppress_sync;      /* sync calls succeed without doing anything */
        bool no_seccomp;         /* $COWPEN_SECCOMP=0: no system-call filter (debugging, benchmarks) */
        int oom_score_adjust;
        bool oom_score_adjust_set;
        CpuSet cpu_affinity;
        unsigned long personality; /* PERSONALITY_INVALID: the host's */
        char **inaccessible;     /* paths inside masked with an empty node of their type */
        char *selinux_context;   /* -Z: the payload's SELinux label */
        char *selinux_apifs_context; /* -L: the API file systems' label */
        struct rlimit *rlimits[RLIMIT_NLIMITS];
        bool read_only;
        bool ephemeral;          /* -x, Ephemeral=: the verb prepares the root so; spawn_run() ignores it */
        bool machine_derived;    /* no -M: the machine's name came from -D/-i (-x registers NAME-RANDOM) */
        bool machine_shared;     /* update: its writable run of a new generation may meet -x runs of NAME:
                                  * registered as NAME-RANDOM then, as -x and --read-only runs are */
        VolatileMode volatile_mode;
        CustomMount *mounts;
        size_t n_mounts;
        bool private_network;
        SpawnNetwork network;
        int kill_signal;         /* 0: forward the signal cowpen received */
        ConsoleMode console;
        ResolvConfMode resolv_conf;
        TimezoneMode timezone;
        RegisterMode register_mode; /* --register= */
        bool keep_unit;          /* --keep-unit: no scope of our own; the machine is the caller's unit */
        char *slice;             /* --slice=: the scope's slice (NULL: machine.slice) */
        char **properties;       /* --property=NAME=VALUE: the scope's unit properties */
        SpawnCredential *credentials; /* --set-credential=, --load-credential= */
        size_t n_credentials;
        LinkJournal link_journal; /* --link-journal= */
        bool link_journal_try;    /* try-guest, try-host: no failure where it cannot be done */
        char **bind_user;         /* --bind-user=: host user names (spawn-bind-user.h) */
        SettingMask mask;        /* what was set explicitly */
} SpawnConfig;

void spawn_config_init(SpawnConfig *c);
void spawn_config_done(SpawnConfig *c);
/* Adds a mount; takes nothing on failure. */
int spawn_config_add_mount(SpawnConfig *c, const CustomMount *m);

/* Parsers for the option values, shared by the command line and settings files. Each returns
 * -EINVAL for a malformed value (with -ERANGE/-E2BIG for limits). */
int custom_mount_parse_bind(const char *s, bool read_only, CustomMount *ret);    /* SRC[:DST[:OPTS]] */
const char *bind_idmap_to_string(BindIdmap m);
int custom_mount_parse_tmpfs(const char *s, CustomMount *ret);                  /* PATH[:OPTS] */
int custom_mount_parse_overlay(const char *s, bool read_only, CustomMount *ret); /* LOWER…:[UPPER]:DST */
void custom_mount_done(CustomMount *m);

const char *console_mode_to_string(ConsoleMode m);
ConsoleMode console_mode_from_string(const char *s);
const char *volatile_mode_to_string(VolatileMode m);
VolatileMode volatile_mode_from_string(const char *s); /* also yes/no booleans */
const char *resolv_conf_mode_to_string(ResolvConfMode m);
ResolvConfMode resolv_conf_mode_from_string(const char *s); /* also booleans: yes is auto, no off */
const char *timezone_mode_to_string(TimezoneMode m);
TimezoneMode timezone_mode_from_string(const char *s);       /* likewise */
RegisterMode register_mode_from_string(const char *s);       /* yes|no|auto, booleans */

/* --rlimit=NAME=SOFT[:HARD], NAME as RLIMIT_NOFILE or NOFILE, values a number or "infinity". */
int rlimit_parse(const char *s, int *ret_resource, struct rlimit *ret);
/* The resource of a Limit*= key's suffix, exactly as systemd spells it ("NOFILE"); -EINVAL. */
int rlimit_from_string(const char *name);
const char *rlimit_to_string(int resource);
/* A UUID, with or without dashes (uuid_from_string()), that is not null. */
int uuid_parse(const char *s, uint8_t ret[16]);
/* Signal by name ("SIGTERM", "TERM", "RTMIN+3") or number. */
int signal_from_string(const char *s);
/* --private-users=: no|yes|pick|identity|UIDBASE[:N] (also booleans). -EINVAL, -ERANGE for a
 * range that overflows or one that is 0. */
int private_users_parse(const char *s, PrivateUsersMode *ret_mode, uid_t *ret_shift, uid_t *ret_range);
/* --private-users-ownership=: auto|map|chown|off, or -EINVAL. */
const char *private_users_ownership_to_string(PrivateUsersOwnership o);
PrivateUsersOwnership private_users_ownership_from_string(const char *s);

/* --system-call-filter=[~]LIST (spawn-seccomp.c): names and @groups separated by spaces, added
 * to *allow (or to *deny with a leading ~). All or nothing: -EINVAL with the unknown name or
 * group (its first 256 bytes) as the diag's object, -E2BIG beyond SPAWN_SYSCALL_FILTER_MAX
 * entries. */
int syscall_filter_parse(const char *s, char ***allow, char ***deny, Diag *diag);
/* --cpu-affinity=: CPU numbers and ranges ("0-3 5,7"), or empty for none; -ERANGE above
 * SPAWN_CPU_MAX. */
int cpu_set_parse(const char *s, CpuSet *ret);
void cpu_set_done(CpuSet *s);
/* --personality=: "x86" or "x86-64" (on x86-64 hosts both; elsewhere the native one). */
unsigned long personality_from_string(const char *s);
/* Whether the OS tree at root_fd can run here without --private-users (spawn-arch.c): its
 * architecture (image_read_architecture) is the host's, or a host binfmt_misc handler takes its
 * programs. -ENOEXEC with the one-line reason in diag when not (import and pull warn with it). */
int spawn_arch_check(int root_fd, Diag *diag);
/* --oom-score-adjust=: -1000…1000. */
int oom_score_adjust_parse(const char *s, int *ret);
/* --inaccessible=PATH: an absolute, clean path. */
int inaccessible_path_add(char ***l, const char *path);
/* Whether SELinux is enabled on this host (selinuxfs mounted). */
bool spawn_selinux_enabled(void);

/* Capabilities (spawn-caps.c). */
#define CAP_MASK_ALL UINT64_MAX
uint64_t spawn_default_capabilities(bool private_network);
/* Loads libcap (once; dlopen-util.h), which the two functions below load themselves when they
 * look a name up: 0, or -ELIBACC/-ELIBBAD with *ret_detail saying what is missing. */
int dlopen_libcap(const char **ret_detail);
/* A whitespace- or comma-separated list of names (CAP_SYS_ADMIN, sys_admin, or "all"). -EINVAL
 * with the bad entry (its first 256 bytes) as the diag's object; -ELIBACC/-ELIBBAD when a name
 * is to be looked up and libcap cannot be loaded (the diag's cause says so). */
int capability_list_parse(const char *s, uint64_t *ret, Diag *diag);
/* libcap's name ("cap_chown"), or NULL (unknown, or libcap cannot be loaded). */
const char *capability_to_name(unsigned cap);
/* The bounding set a config yields. */
uint64_t spawn_config_capabilities(const SpawnConfig *c);

/* Settings files (spawn-settings.c). Untrusted input: the whole file. Limits below. */
#define SETTINGS_FILE_SIZE_MAX (1024U * 1024U)
#define SETTINGS_LINE_MAX (64U * 1024U)

typedef enum SettingsTrust {
        SETTINGS_NO,
        SETTINGS_YES,      /* trusted files in /etc and /run; untrusted ones next to the image */
        SETTINGS_TRUSTED,  /* every file trusted */
        _SETTINGS_TRUST_MAX,
        _SETTINGS_TRUST_INVALID = -EINVAL,
} SettingsTrust;
SettingsTrust settings_trust_from_string(const char *s);

/* Parses settings text into a config (whose mask says what the file set). The diag's warnings
 * get one line per ignored key or section. A key that narrows or protects the container
 * (ReadOnly=, Ephemeral=, Inaccessible=, NoNewPrivileges=, DropCapability=, SystemCallFilter=~…,
 * Private=, …) is never ignored: a value that cannot be honoured fails the parse with -EINVAL,
 * the diag's cause (and its last warning) saying why. */
int settings_parse(const char *text, size_t size, SpawnConfig *ret, Diag *diag);
/* Finds NAME.nspawn: /etc/systemd/nspawn, /run/systemd/nspawn (trusted), else in the directory
 * parent_fd (untrusted). Returns 0 and *ret_path = NULL when there is none. */
int settings_find(const char *name, int parent_fd, const char *parent_path, char **ret_path, char **ret_text,
                  size_t *ret_size, bool *ret_trusted);
/* Merges s into c where c's mask has no explicit setting; privileged settings (capabilities,
 * mounts, network interfaces) only when trusted, else a warning in diag; what only narrows the
 * container (dropped capabilities, Private=, Ephemeral=, …) from any file. */
int settings_merge(SpawnConfig *c, SpawnConfig *s, bool trusted, const char *path, Diag *diag);

/* OCI runtime bundles (spawn-oci-bundle.c): run --oci-bundle=DIR. Untrusted input: config.json,
 * parsed into a config whose mask says what it set, as a settings file's is. Fields that run
 * cannot honour fail the parse with -EOPNOTSUPP and "FIELD is not supported" as the diag's cause
 * ("config.json" its object); unknown fields and annotations are ignored, as the spec says. */
#define OCI_BUNDLE_CONFIG_MAX (1024U * 1024U)
#define OCI_BUNDLE_DEPTH_MAX 16U
#define OCI_BUNDLE_LIST_MAX 4096U /* entries of any one array */
typedef struct OciBundleExtra {
        char *root;             /* root.path; after oci_bundle_load() the resolved absolute path */
        char *bundle_path;      /* the bundle directory (relative bind sources are its) */
        uint64_t bounding;      /* process.capabilities.bounding */
        bool bounding_set;
} OciBundleExtra;
void oci_bundle_extra_done(OciBundleExtra *x);
/* Parses config.json text. bundle_path (absolute) makes relative bind sources absolute. */
int oci_bundle_parse(const char *text, size_t size, const char *bundle_path, SpawnConfig *ret, OciBundleExtra *ret_extra,
                     Diag *diag);
/* Reads DIR/config.json and resolves root.path inside DIR (-EXDEV when it leaves it, through ".."
 * or a symlink); *ret_root_fd (may be NULL) the root directory, opened. */
int oci_bundle_load(const char *dir, SpawnConfig *ret, OciBundleExtra *ret_extra, int *ret_root_fd, Diag *diag);
/* Merges what b set into c where c's mask has no explicit setting (the command line wins). */
int oci_bundle_merge(SpawnConfig *c, SpawnConfig *b, const OciBundleExtra *x);

/* Networking (spawn-network.c). The option parsers take an option's value as the command line and
 * the [Network] keys have it; -EINVAL with the cause (and the bad part as object) in diag, -E2BIG
 * beyond SPAWN_NETWORK_LINKS_MAX or SPAWN_PORTS_MAX. */
void spawn_network_done(SpawnNetwork *n);
/* HOSTIF[:CONTAINERIF] onto a pair list (veth_extra, interfaces); CONTAINERIF defaults to HOSTIF. */
int spawn_network_add_pair(char ***l, const char *s, Diag *diag);
/* An interface name onto a list (macvlan, ipvlan). */
int spawn_network_add_ifname(char ***l, const char *s, Diag *diag);
/* --network-bridge=: an interface name; --network-zone=: a zone name (vz-NAME must fit). */
int spawn_network_set_bridge(SpawnNetwork *n, const char *s, Diag *diag);
int spawn_network_set_zone(SpawnNetwork *n, const char *s, Diag *diag);
/* -p [tcp|udp:]HOSTPORT[:CONTAINERPORT]. */
int spawn_network_add_port(SpawnNetwork *n, const char *s, Diag *diag);
/* --network-address=auto|none. */
int spawn_network_address_from_string(const char *s, NetAddressMode *ret);
/* Whether links or ports are asked for (not just a namespace: --private-network, a path). */
bool spawn_network_has_links(const SpawnNetwork *n);
/* Whether any of the options is given: each implies a private network namespace. */
bool spawn_network_wanted(const SpawnNetwork *n);
/* The combinations that cannot work whatever the host: -EINVAL with the cause in diag. */
int spawn_network_check(const SpawnConfig *c, Diag *diag);
/* A [Network] key other than Private=: 1 when it is one (parsed into c, its bit in c->mask), 0 when
 * it is not one, -EINVAL when its value is bad (the cause in diag), -E2BIG, -ENOMEM. */
int spawn_network_parse_key(SpawnConfig *c, const char *key, const char *value, Diag *diag);
/* The network keys of a settings file s into c, for what of m (s's keys the command line left)
 * the file may set: links, ports and a namespace path only from a trusted file; from an untrusted
 * one they are ignored with a warning, and the container still gets a private network namespace
 * (only loopback) rather than the host's. */
int spawn_network_merge(SpawnConfig *c, SpawnConfig *s, bool trusted, SettingMask m, Diag *diag);
/* `cowpen clean`: removes what networks of runs that are gone left behind (links, zone bridges,
 * nft rules, dnsmasq instances, leases); returns how many machines and zones. */
int spawn_network_clean(Diag *diag);

/* spawn_run() returns this when the booted container asked for a reboot: the caller starts it
 * again. */
#define SPAWN_STATUS_REBOOT 256

/* Runs the container. Returns the payload's exit status (0…255; 128+N when it died by signal N;
 * SPAWN_STATUS_REBOOT) or -errno with a short cause in diag (without the machine's name) when the
 * container could not be started. */
int spawn_run(SpawnConfig *c, const PreparedRoot *root, Diag *diag);

/* Credentials (spawn-credentials.c). Errors never name the value: -EINVAL (a bad or missing ID,
 * no ":"), -EEXIST (the ID is there already), -E2BIG (over SPAWN_CREDENTIALS_MAX, or the data over
 * CREDENTIAL_SIZE_MAX or, with the others, over SPAWN_CREDENTIALS_TOTAL_MAX), with the cause (and
 * the ID as object) in diag. */
bool credential_name_valid(const char *s);
/* --set-credential=ID:VALUE, VALUE with C escapes ("\n", "\x00", "\u00e9") as nspawn. */
int spawn_credential_set(SpawnConfig *c, const char *arg, Diag *diag);
/* --load-credential=ID:PATH: an absolute PATH is a regular file or an AF_UNIX stream socket
 * (connected to; what it sends until EOF is the credential); a relative one is a credential of
 * cowpen's own $CREDENTIALS_DIRECTORY (as nspawn: -ENXIO without one). Read failures as -errno
 * with the cause in diag. */
int spawn_credential_load(SpawnConfig *c, const char *arg, Diag *diag);
/* A settings file's LoadCredential=ID:PATH: recorded, read only by spawn_credentials_load_pending()
 * (a trusted file's, at the merge). */
int spawn_credential_add_pending(SpawnConfig *c, const char *arg, Diag *diag);
int spawn_credentials_load_pending(SpawnConfig *c, Diag *diag);
void spawn_credentials_free(SpawnCredential *l, size_t n);

/* --bind-user=NAME: a user name as systemd takes it (1…31 of [A-Za-z0-9_.-], not starting with
 * a digit, '-' or '.'), once; -EINVAL, -E2BIG beyond 64 (nspawn's 60514…60577). */
int bind_user_add(char ***l, const char *name);

/* --link-journal=: no, auto, guest, host, try-guest, try-host, and booleans (yes is auto, as
 * nspawn 252 takes them). */
int link_journal_parse(const char *s, LinkJournal *ret, bool *ret_try);
const char *link_journal_to_string(LinkJournal j, bool try);

/* A host name systemd would accept for a container: 1…64 characters of [A-Za-z0-9._-], not
 * starting with '.' or '-'. */
bool hostname_is_valid_simple(const char *s);
/* NAME=VALUE with NAME of [A-Za-z_][A-Za-z0-9_]*; with allow_name_only, NAME alone too. */
bool env_assignment_is_valid(const char *s, bool allow_name_only);

/* A session inside a running container (spawn-enter.c): `shell` and `login`. */
struct MachineRecord;
typedef struct SpawnEnterOptions {
        const char *user;   /* a name or UID of the container's /etc/passwd; NULL: root */
        char **command;     /* NULL: the user's login shell */
        char **setenv;      /* KEY=VALUE, or KEY to pass ours on */
        ConsoleMode console; /* _CONSOLE_MODE_AUTO: a pty when stdin and stdout are terminals, else pipes */
        bool login;         /* a getty on a pty allocated inside the container, as container-getty@.service
                             * starts it (agetty, else getty, else login), when command is NULL */
        bool no_seccomp;    /* $COWPEN_SECCOMP=0 */
        bool host;          /* machinectl's ".host": a session on the host itself (m names us):
                             * no cgroup joined, no system-call filter */
} SpawnEnterOptions;

/* Enters every namespace of the machine's leader (the user namespace where it has one of its
 * own), its cgroup and its root; runs the command (or the user's login shell, or with login a
 * getty) as the user of the container's /etc/passwd, with the leader's capability bounding set
 * and cowpen's system-call filter for it, on a pty (or pipes) as `run` does. Returns the
 * session's exit status (0…255, 128+N when killed by signal N) or -errno with the cause in diag
 * (-ESRCH when the leader is gone or is another process than recorded). */
int spawn_enter(const struct MachineRecord *m, const SpawnEnterOptions *o, Diag *diag);
