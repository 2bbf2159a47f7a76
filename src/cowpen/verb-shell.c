/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "machine.h"
#include "spawn.h"
#include "proc-util.h"
#include "util.h"
#include "verbs.h"

/* The verbs that reach into a running machine: shell, login (spawn-enter.c), copy-to, copy-from
 * (machine-copy.c) and bind (machine-bind.c), with machinectl's names and arguments. */

static int lookup(const char *verb, const char *name, MachineRecord **ret) {
        if (!machine_name_is_valid(name))
                return log_usage("%s: \"%s\" is not a valid machine name", verb, name);
        _cleanup_diag_ Diag diag = DIAG_INIT;
        int r = machine_lookup(name, ret, &diag);
        if (r < 0)
                return log_diag_error(r, &diag, "%s %s", verb, name);
        return 0;
}

/* A path made absolute against the working directory (the host's side of copy and bind). */
static char *absolute(const char *p) {
        if (p[0] == '/')
                return strdup(p);
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        return cwd ? strjoin(cwd, "/", p) : NULL;
}

/* machinectl's ".host": a session in our own namespaces and root (we are the host's root; its
 * PID 1 may be a process whose namespaces we may not open, as in a container of a CI runner). */
static int host_record(MachineRecord **ret) {
        _cleanup_(machine_record_freep) MachineRecord *m = calloc(1, sizeof(MachineRecord));
        if (!m || !(m->name = strdup(".host")) || !(m->root = strdup("/")))
                return -ENOMEM;
        m->leader = getpid();
        int r = pid_starttime(m->leader, &m->leader_starttime);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static const char help_shell[] =
        "cowpen shell [OPTIONS…] [[USER@]NAME [COMMAND [ARGS…]]]\n\n"
        "Without NAME, or with NAME \".host\": a session on the host itself, as machinectl's.\n"
        "Open a session in the running machine NAME: all of its namespaces entered, its cgroup\n"
        "joined, as USER (default root) of the container's own /etc/passwd, with the capability\n"
        "bounding set of the container's PID 1 and its system-call filter. Without COMMAND the\n"
        "user's login shell runs as a login shell. The exit status is the command's (128+N when\n"
        "it was killed by signal N).\n\n"
        "Options:\n"
        "     --uid=USER         Run as USER (a name or UID of the container)\n"
        "  -E --setenv=NAME[=VALUE]  Set an environment variable (NAME alone: pass ours on)\n"
        "     --console=interactive|pipe  A pty (default when stdin and stdout are terminals)\n"
        "                        or the caller's stdin, stdout and stderr\n"
        "  -P --pipe             Same as --console=pipe\n"
        "  -h --help             Show this help\n";

enum {
        ARG_UID = ARG_VERB_BASE,
        ARG_CONSOLE,
        ARG_READ_ONLY,
        ARG_MKDIR,
};

int verb_shell(int argc, char *argv[]) {
        static const struct option options[] = {
                GLOBAL_LONG_OPTIONS,
                {"uid", required_argument, NULL, ARG_UID},
                {"setenv", required_argument, NULL, 'E'},
                {"console", required_argument, NULL, ARG_CONSOLE},
                {"pipe", no_argument, NULL, 'P'},
                {},
        };
        SpawnEnterOptions o = {.console = _CONSOLE_MODE_AUTO};
        _cleanup_strv_free_ char **setenv = NULL;
        _cleanup_free_ char *user = NULL;
        int c, r;
        /* "+": the command's own options are its own. */
        while ((c = getopt_long(argc, argv, "+" GLOBAL_SHORT_OPTIONS "E:P", options, NULL)) >= 0) {
                switch (c) {
                case ARG_UID:
                        free(user);
                        if (!(user = strdup(optarg)))
                                return log_oom();
                        break;
                case 'E':
                        if (!env_assignment_is_valid(optarg, true))
                                return log_usage("shell: --setenv=%s: expected NAME=VALUE or NAME", optarg);
                        if (strv_extend(&setenv, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_CONSOLE:
                        if (streq(optarg, "interactive"))
                                o.console = CONSOLE_INTERACTIVE;
                        else if (streq(optarg, "pipe"))
                                o.console = CONSOLE_PIPE;
                        else
                                return log_usage("shell: --console=%s: expected interactive or pipe", optarg);
                        break;
                case 'P':
                        o.console = CONSOLE_PIPE;
                        break;
                default:
                        if ((r = parse_global_option(c, optarg, help_shell)) != 0)
                                return r < 0 ? r : log_usage("shell: unexpected option");
                }
        }
        /* No NAME, or ".host": as machinectl, a session on the host itself. */
        const char *spec = optind < argc ? argv[optind] : ".host", *at = strrchr(spec, '@');
        _cleanup_free_ char *name = NULL;
        if (at) {
                free(user);
                if (!(user = strndup(spec, (size_t) (at - spec))) || !(name = strdup(at + 1)))
                        return log_oom();
                if (!*user)
                        return log_usage("shell: \"%s\": no user before '@'", spec);
        } else if (!(name = strdup(spec)))
                return log_oom();
        _cleanup_(machine_record_freep) MachineRecord *m = NULL;
        if (streq(name, ".host") || !*name) {
                if ((r = host_record(&m)) < 0)
                        return log_error_errno(r, "shell .host: %m");
                o.host = true;
        } else if ((r = lookup("shell", name, &m)) < 0)
                return r;
        o.user = user;
        o.command = optind + 1 < argc ? argv + optind + 1 : NULL;
        o.setenv = setenv;
        const char *e = getenv("COWPEN_SECCOMP");
        if (e && streq(e, "0")) {
                o.no_seccomp = true;
                log_warning("shell: $COWPEN_SECCOMP=0: the session runs without a system-call filter");
        }
        _cleanup_diag_ Diag diag = DIAG_INIT;
        r = spawn_enter(m, &o, &diag);
        if (r < 0)
                return log_diag_error(r, &diag, "shell %s", name);
        return r;
}

static const char help_login[] =
        "cowpen login [OPTIONS…] NAME\n\n"
        "Log in to the running machine NAME: a getty (agetty, else getty, else login, as\n"
        "container-getty@.service starts it) on a new pty allocated inside the container, with\n"
        "this terminal connected to it. Press Ctrl-] three times within a second to leave.\n";

int verb_login(int argc, char *argv[]) {
        static const struct option options[] = {GLOBAL_LONG_OPTIONS, {}};
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0)
                if ((r = parse_global_option(c, optarg, help_login)) != 0)
                        return r < 0 ? r : log_usage("login: unexpected option");
        if ((r = check_args("login", argc - optind, 1, 1)) < 0)
                return r;
        const char *name = argv[optind];
        _cleanup_(machine_record_freep) MachineRecord *m = NULL;
        if ((r = lookup("login", name, &m)) < 0)
                return r;
        SpawnEnterOptions o = {.console = CONSOLE_INTERACTIVE, .login = true};
        if (!arg_global.quiet)
                fprintf(stderr, "Connected to machine %s. Press ^] three times within 1s to exit session.\n", name);
        _cleanup_diag_ Diag diag = DIAG_INIT;
        r = spawn_enter(m, &o, &diag);
        if (r < 0)
                return log_diag_error(r, &diag, "login %s", name);
        if (!arg_global.quiet)
                fprintf(stderr, "\nConnection to machine %s terminated.\n", name);
        return 0;
}

static const char help_copy_to[] =
        "cowpen copy-to [OPTIONS…] NAME HOSTPATH [PATH]\n\n"
        "Copy a file or directory tree from the host into the running machine NAME (contents,\n"
        "modes, owners, times, xattrs). PATH, inside the container, defaults to HOSTPATH; it is\n"
        "resolved in the container's root (symlinks and \"..\" never lead out of it). An existing\n"
        "directory receives the copy under the source's name; an existing file is not replaced.\n"
        "With a user namespace (-U) the owners are shifted into the container's range.\n";

static const char help_copy_from[] =
        "cowpen copy-from [OPTIONS…] NAME PATH [HOSTPATH]\n\n"
        "Copy a file or directory tree out of the running machine NAME to the host. PATH is\n"
        "resolved in the container's root (symlinks and \"..\" never lead out of it); HOSTPATH\n"
        "defaults to PATH. An existing directory receives the copy under the source's name; an\n"
        "existing file is not replaced. Files come out without set-UID and set-GID bits, and a\n"
        "tree with a device node is refused. With a user namespace (-U) the owners are shifted out\n"
        "of the container's range.\n";

static int verb_copy(int argc, char *argv[], bool to) {
        const char *verb = to ? "copy-to" : "copy-from";
        static const struct option options[] = {GLOBAL_LONG_OPTIONS, {}};
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0)
                if ((r = parse_global_option(c, optarg, to ? help_copy_to : help_copy_from)) != 0)
                        return r < 0 ? r : log_usage("%s: unexpected option", verb);
        if ((r = check_args(verb, argc - optind, 2, 3)) < 0)
                return r;
        const char *name = argv[optind], *a = argv[optind + 1], *b = optind + 2 < argc ? argv[optind + 2] : NULL;
        const char *inside = to ? b : a, *host = to ? a : b;
        if (inside && inside[0] != '/')
                return log_usage("%s: the path in the container must be absolute: %s", verb, inside);
        _cleanup_free_ char *host_abs = host ? absolute(host) : NULL, *inside_abs = NULL;
        if (host && !host_abs)
                return log_oom();
        if (!inside && !(inside_abs = strdup(host_abs)))
                return log_oom();
        _cleanup_(machine_record_freep) MachineRecord *m = NULL;
        if ((r = lookup(verb, name, &m)) < 0)
                return r;
        _cleanup_diag_ Diag diag = DIAG_INIT;
        r = to ? machine_copy_to(m, host_abs, inside ?: inside_abs, &diag)
               : machine_copy_from(m, inside, host_abs ?: inside, &diag);
        if (r < 0)
                return log_diag_error(r, &diag, "%s %s", verb, name);
        return 0;
}

int verb_copy_to(int argc, char *argv[]) {
        return verb_copy(argc, argv, true);
}

int verb_copy_from(int argc, char *argv[]) {
        return verb_copy(argc, argv, false);
}

static const char help_bind[] =
        "cowpen bind [OPTIONS…] NAME HOSTPATH [PATH]\n\n"
        "Bind mount the host's HOSTPATH (a directory or file, with the mounts below it) into the\n"
        "running machine NAME at PATH (default: HOSTPATH), resolved in the container's root. With\n"
        "a user namespace (-U) the mount is idmapped through it.\n\n"
        "Options:\n"
        "     --read-only        Make the mount read-only\n"
        "     --mkdir            Create what is missing of PATH (a file for a file)\n"
        "  -h --help             Show this help\n";

int verb_bind(int argc, char *argv[]) {
        static const struct option options[] = {
                GLOBAL_LONG_OPTIONS,
                {"read-only", no_argument, NULL, ARG_READ_ONLY},
                {"mkdir", no_argument, NULL, ARG_MKDIR},
                {},
        };
        MachineBindFlags flags = 0;
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == ARG_READ_ONLY)
                        flags |= MACHINE_BIND_READ_ONLY;
                else if (c == ARG_MKDIR)
                        flags |= MACHINE_BIND_MKDIR;
                else if ((r = parse_global_option(c, optarg, help_bind)) != 0)
                        return r < 0 ? r : log_usage("bind: unexpected option");
        }
        if ((r = check_args("bind", argc - optind, 2, 3)) < 0)
                return r;
        const char *name = argv[optind], *host = argv[optind + 1],
                   *inside = optind + 2 < argc ? argv[optind + 2] : NULL;
        if (inside && inside[0] != '/')
                return log_usage("bind: the path in the container must be absolute: %s", inside);
        _cleanup_free_ char *host_abs = absolute(host);
        if (!host_abs)
                return log_oom();
        _cleanup_(machine_record_freep) MachineRecord *m = NULL;
        if ((r = lookup("bind", name, &m)) < 0)
                return r;
        _cleanup_diag_ Diag diag = DIAG_INIT;
        r = machine_bind(m, host_abs, inside ?: host_abs, flags, &diag);
        if (r < 0)
                return log_diag_error(r, &diag, "bind %s", name);
        return 0;
}
