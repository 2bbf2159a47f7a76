/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The spawn engine: runs a command in a prepared root (src/image/image-prepare.h) with
 * systemd-nspawn's options. SpawnConfig is filled from the command line (src/cowpen/verb-run.c)
 * and from NAME.nspawn settings files (spawn-settings.c); spawn_run() does the rest.
 *
 * Files: spawn.c (parent side: clone, wait, signals, exit status), spawn-child.c (the container's
 * first process: namespaces, mounts, identity, exec; the -a stub init), spawn-mount.c (root,
 * API file systems, custom mounts, volatile modes), spawn-console.c (pty forwarding),
 * spawn-caps.c (capability names and sets), spawn-settings.c (the .nspawn parser),
 * spawn-user.c (passwd/group lookups in the container), spawn-misc.c (enum tables, rlimits, uuid,
 * resolv.conf and timezone modes). Boot (-b), raw images (-i) and user namespaces
 * (--private-users) are parsed into the config so that they can be added here later. */

#include <sched.h>
#include <sys/resource.h>

#include "diag.h"
#include "image.h"
#include "macro.h"

typedef enum ConsoleMode {
        CONSOLE_INTERACTIVE,
        CONSOLE_READ_ONLY,
        CONSOLE_PASSIVE,
        CONSOLE_PIPE,
        CONSOLE_AUTOPIPE, /* nspawn's autopipe: interactive when stdin and stdout are terminals, else pipe */
        _CONSOLE_MODE_MAX,
        _CONSOLE_MODE_AUTO = -1, /* interactive when stdin and stdout are terminals, else pipe */
} ConsoleMode;

/* --register=: registration with systemd-machined. cowpen has no D-Bus client yet: auto
 * (the default) runs unregistered, yes fails with the reason (spawn_run), no never registers. */
typedef enum RegisterMode {
        REGISTER_AUTO,
        REGISTER_NO,
        REGISTER_YES,
        _REGISTER_MODE_MAX,
} RegisterMode;

typedef enum VolatileMode {
        VOLATILE_NO,
        VOLATILE_YES,     /* tmpfs root, the image's /usr read-only */
        VOLATILE_STATE,   /* the image read-only, tmpfs /var */
        VOLATILE_OVERLAY, /* overlayfs: the image below a tmpfs upper layer */
        _VOLATILE_MODE_MAX,
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
} ResolvConfMode;

typedef enum TimezoneMode {
        TIMEZONE_OFF,
        TIMEZONE_COPY,
        TIMEZONE_BIND,
        TIMEZONE_SYMLINK,
        TIMEZONE_DELETE,
        TIMEZONE_AUTO,
        _TIMEZONE_MODE_MAX,
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

/* Limits on what a settings file or command line may ask for. */
#define SPAWN_CUSTOM_MOUNTS_MAX 1024U
#define SPAWN_ENVIRONMENT_MAX 4096U
#define SPAWN_PARAMETERS_MAX 4096U
#define SPAWN_OVERLAY_LAYERS_MAX 64U
#define SPAWN_HOSTNAME_MAX 64U

/* Which settings were given (on the command line: they win over a settings file). */
typedef enum SettingMask {
        SETTING_BOOT = 1 << 0,
        SETTING_COMMAND = 1 << 1,
        SETTING_ENVIRONMENT = 1 << 2,
        SETTING_USER = 1 << 3,
        SETTING_WORKING_DIRECTORY = 1 << 4,
        SETTING_CAPABILITY = 1 << 5,
        SETTING_NO_NEW_PRIVILEGES = 1 << 6,
        SETTING_HOSTNAME = 1 << 7,
        SETTING_READ_ONLY = 1 << 8,
        SETTING_VOLATILE = 1 << 9,
        SETTING_CUSTOM_MOUNTS = 1 << 10,
        SETTING_NETWORK = 1 << 11,
        SETTING_KILL_SIGNAL = 1 << 12,
        SETTING_PROCESS_TWO = 1 << 13,
        SETTING_USERNS = 1 << 14,
        SETTING_USERNS_OWNERSHIP = 1 << 15,
        SETTING_SYSCALL_FILTER = 1 << 16,
        SETTING_SUPPRESS_SYNC = 1 << 17,
        SETTING_AMBIENT_CAPABILITY = 1 << 18,
        SETTING_OOM_SCORE_ADJUST = 1 << 19,
        SETTING_CPU_AFFINITY = 1 << 20,
        SETTING_PERSONALITY = 1 << 21,
        SETTING_INACCESSIBLE = 1 << 22,
        SETTING_EPHEMERAL = 1 << 30, /* apart from the bits further keys take */
        SETTING_RESOLV_CONF = 1 << 23,
        SETTING_TIMEZONE = 1 << 24,
        SETTING_NOTIFY_READY = 1 << 25,
        SETTING_MACHINE_ID = 1 << 26,
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

typedef struct SpawnConfig {
        char **command;          /* NULL: the user's shell */
        char **setenv;           /* KEY=VALUE */
        char *user;
        char *working_directory;
        char *hostname;          /* NULL: the machine name */
        uint8_t uuid[16];
        bool uuid_set;
        bool boot;               /* -b: execute the image's init (spawn-boot.h) */
        bool notify_ready;       /* -b: READY=1 only once the container's init sends it */
        int private_users;       /* PrivateUsersMode: container uid 0… = host uid_shift… (spawn-userns.h) */
        uid_t uid_shift, uid_range;
        int private_users_ownership; /* PrivateUsersOwnership (spawn-userns.h) */
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
        VolatileMode volatile_mode;
        CustomMount *mounts;
        size_t n_mounts;
        bool private_network;
        int kill_signal;         /* 0: forward the signal cowpen received */
        ConsoleMode console;
        ResolvConfMode resolv_conf;
        TimezoneMode timezone;
        RegisterMode register_mode; /* --register= */
        bool keep_unit;          /* --keep-unit: no scope of our own (there is none without a manager) */
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
int rlimit_from_name(const char *name);
const char *rlimit_to_name(int resource);
/* A UUID, with or without dashes. */
int uuid_parse(const char *s, uint8_t ret[16]);
/* Signal by name ("SIGTERM", "TERM", "RTMIN+3") or number. */
int signal_from_string(const char *s);

/* --system-call-filter=[~]LIST (spawn-seccomp.c): names and @groups separated by spaces, added
 * to *allow (or to *deny with a leading ~). All or nothing: -EINVAL naming an unknown name or
 * group in *ret_bad (a copy), -E2BIG beyond SPAWN_SYSCALL_FILTER_MAX entries. */
int syscall_filter_parse(const char *s, char ***allow, char ***deny, char **ret_bad);
/* --cpu-affinity=: CPU numbers and ranges ("0-3 5,7"), or empty for none; -ERANGE above
 * SPAWN_CPU_MAX. */
int cpu_set_parse(const char *s, CpuSet *ret);
void cpu_set_done(CpuSet *s);
/* --personality=: "x86" or "x86-64" (on x86-64 hosts both; elsewhere the native one). */
unsigned long personality_from_string(const char *s);
/* --oom-score-adjust=: -1000…1000. */
int oom_score_adjust_parse(const char *s, int *ret);
/* --inaccessible=PATH: an absolute, clean path. */
int inaccessible_path_add(char ***l, const char *path);
/* Whether SELinux is enabled on this host (selinuxfs mounted). */
bool spawn_selinux_enabled(void);

/* Capabilities (spawn-caps.c). */
#define CAP_MASK_ALL UINT64_MAX
uint64_t spawn_default_capabilities(bool private_network);
/* A whitespace- or comma-separated list of names (CAP_SYS_ADMIN, sys_admin, or "all"). -EINVAL
 * with the bad entry as the diag's object. */
int capability_list_parse(const char *s, uint64_t *ret, Diag *diag);
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
} SettingsTrust;
SettingsTrust settings_trust_from_string(const char *s);

/* Parses settings text into a config (whose mask says what the file set). warnings collects
 * one line per ignored key or section. A key that narrows or protects the container (ReadOnly=,
 * Ephemeral=, Inaccessible=, NoNewPrivileges=, DropCapability=, SystemCallFilter=~…, Private=, …)
 * is never ignored: a value that cannot be honoured fails the parse with -EINVAL, and the last
 * entry of *warnings says why. */
int settings_parse(const char *text, size_t size, SpawnConfig *ret, char ***warnings);
/* Finds NAME.nspawn: /etc/systemd/nspawn, /run/systemd/nspawn (trusted), else in the directory
 * parent_fd (untrusted). Returns 0 and *ret_path = NULL when there is none. */
int settings_find(const char *name, int parent_fd, const char *parent_path, char **ret_path, char **ret_text,
                  size_t *ret_size, bool *ret_trusted);
/* Merges s into c where c's mask has no explicit setting; privileged settings (capabilities,
 * mounts, network interfaces) only when trusted, else a warning; what only narrows the container
 * (dropped capabilities, Private=, Ephemeral=, …) from any file. */
int settings_merge(SpawnConfig *c, SpawnConfig *s, bool trusted, const char *path, char ***warnings);

/* Runs the container. Returns the payload's exit status (0…255; 128+N when it died by signal N)
 * or -errno with *ret_error set to a short cause (without the object name) when the container
 * could not be started. */
int spawn_run(SpawnConfig *c, const PreparedRoot *root, char **ret_error);

/* A host name systemd would accept for a container: 1…64 characters of [A-Za-z0-9._-], not
 * starting with '.' or '-'. */
bool hostname_is_valid_simple(const char *s);
/* NAME=VALUE with NAME of [A-Za-z_][A-Za-z0-9_]*; with allow_name_only, NAME alone too. */
bool env_assignment_is_valid(const char *s, bool allow_name_only);
