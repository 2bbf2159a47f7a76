/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The machine verbs that look at and signal running machines, as machinectl's: list, status,
 * poweroff, reboot, terminate, kill. They read the registry (machine.h); nothing here trusts a
 * record the registry did not check (lock held, leader's start time), and every signal goes
 * through a pidfd. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "fd-util.h"
#include "machine.h"
#include "spawn.h"
#include "proc-util.h"
#include "util.h"
#include "uuid-util.h"
#include "verbs.h"

#define CMDLINE_READ_MAX (16U * 1024U)
#define CMDLINE_PRINT_MAX 120U
#define TREE_DEPTH_MAX 16U
#define TREE_PROCS_MAX 4096U
#define TREE_ENTRIES_MAX 1024U

enum {
        ARG_SIGNAL = ARG_VERB_BASE,
        ARG_KILL_WHOM,
};

/* Global options only, and between min and max arguments; for kill also --signal=/-s and
 * --kill-whom=. */
static int parse_machine_args(int argc, char *argv[], const char *verb, const char *help, int min, int max,
        int *signal, MachineKillWhom *whom) {
        static const struct option options[] = {GLOBAL_LONG_OPTIONS, {}};
        static const struct option options_kill[] = {
                GLOBAL_LONG_OPTIONS,
                {"signal", required_argument, NULL, ARG_SIGNAL},
                {"kill-whom", required_argument, NULL, ARG_KILL_WHOM},
                {},
        };
        int c, r;
        while ((c = getopt_long(argc, argv, signal ? GLOBAL_SHORT_OPTIONS "s:" : GLOBAL_SHORT_OPTIONS,
                        signal ? options_kill : options, NULL)) >= 0) {
                if (signal && (c == ARG_SIGNAL || c == 's')) {
                        if ((*signal = signal_from_string(optarg)) < 0)
                                return log_usage("%s: unknown signal \"%s\"", verb, optarg);
                        continue;
                }
                if (whom && c == ARG_KILL_WHOM) {
                        if ((*whom = machine_kill_whom_from_string(optarg)) < 0)
                                return log_usage("%s: --kill-whom= takes leader or all, not \"%s\"", verb, optarg);
                        continue;
                }
                if ((r = parse_global_option(c, optarg, help)) != 0)
                        return r < 0 ? r : log_usage("%s: unexpected option", verb);
        }
        if ((r = check_args(verb, argc - optind, min, max)) < 0)
                return r;
        for (int i = optind; i < argc; i++)
                if (!machine_name_is_valid(argv[i])) {
                        _cleanup_free_ char *p = printable(argv[i], 80);
                        return log_usage("%s: invalid machine name \"%s\"", verb, p ?: "?");
                }
        return 0;
}

static json_object *record_to_json(const MachineRecord *m) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        char uuid[UUID_STRING_MAX];
        uuid_format(m->uuid, uuid);
        if (!o || !a || json_add_string(o, "name", m->name) < 0 || json_add_string(o, "class", m->class) < 0 ||
                json_add_string(o, "service", m->service) < 0 ||
                json_add_u64(o, "leader", (uint64_t) m->leader, false) < 0 ||
                json_add_string(o, "image", m->image) < 0 || json_add_string(o, "root", m->root) < 0 ||
                json_add_string(o, "os", m->os) < 0 || json_add_string(o, "version", m->version) < 0 ||
                json_add_u64(o, "since", m->since_usec, false) < 0 ||
                json_add_string(o, "uuid", uuid_is_null(m->uuid) ? NULL : uuid) < 0 ||
                json_add_string(o, "root_hash", m->root_hash) < 0 || json_add_string(o, "cgroup", m->cgroup) < 0 ||
                json_add_bool(o, "boot", m->boot) < 0)
                goto fail;
        for (char **s = m->addresses; s && *s; s++) {
                json_object *e = json_object_new_string(*s);
                if (!e || json_object_array_add(a, e) < 0) {
                        json_object_put(e);
                        goto fail;
                }
        }
        if (json_object_object_add(o, "addresses", a) < 0)
                goto fail;
        return o;
fail:
        json_object_put(a);
        json_object_put(o);
        return NULL;
}

static const char help_list[] = "cowpen list [OPTIONS…]\n\n"
                                "List running machines (containers started by cowpen run), as machinectl list.\n\n"
                                "     --json=MODE    pretty|short|off\n"
                                "  -q --quiet        No header and footer\n";

int verb_list(int argc, char *argv[]) {
        int r = parse_machine_args(argc, argv, "list", help_list, 0, 0, NULL, NULL);
        if (r < 0)
                return r;
        _cleanup_diag_ Diag diag = DIAG_INIT;
        MachineRecord **l = NULL;
        size_t n = 0;
        if ((r = machine_list(&l, &n, &diag)) < 0)
                return log_diag_error(r, &diag, "list");

        if (arg_global.json != JSON_OFF) {
                _cleanup_json_ json_object *a = json_object_new_array();
                for (size_t i = 0; a && i < n && r >= 0; i++) {
                        json_object *o = record_to_json(l[i]);
                        if (!o || json_object_array_add(a, o) < 0) {
                                json_object_put(o);
                                r = -ENOMEM;
                        }
                }
                if (!a)
                        r = -ENOMEM;
                if (r >= 0)
                        r = json_print(a, arg_global.json);
                machine_record_free_many(l, n);
                return r < 0 ? log_error_errno(r, "list: %m") : 0;
        }
        if (n == 0) {
                if (!arg_global.quiet)
                        printf("No machines.\n");
                return 0;
        }
        int wn = 4, wc = 5, ws = 7, wo = 2, wv = 7;
        for (size_t i = 0; i < n; i++) {
                wn = MAX(wn, (int) strlen(l[i]->name));
                wc = MAX(wc, (int) strlen(l[i]->class));
                ws = MAX(ws, (int) strlen(l[i]->service ?: "-"));
                wo = MAX(wo, (int) strlen(l[i]->os ?: "-"));
                wv = MAX(wv, (int) strlen(l[i]->version ?: "-"));
        }
        if (!arg_global.quiet)
                printf("%-*s %-*s %-*s %-*s %-*s %s\n", wn, "NAME", wc, "CLASS", ws, "SERVICE", wo, "OS", wv,
                        "VERSION", "ADDRESSES");
        for (size_t i = 0; i < n; i++) {
                const MachineRecord *m = l[i];
                /* As machinectl: the first address, "…" when there are more. */
                printf("%-*s %-*s %-*s %-*s %-*s %s%s\n", wn, m->name, wc, m->class, ws, m->service ?: "-", wo,
                        m->os ?: "-", wv, m->version ?: "-", m->addresses && m->addresses[0] ? m->addresses[0] : "-",
                        m->addresses && m->addresses[0] && m->addresses[1] ? "…" : "");
        }
        if (!arg_global.quiet)
                printf("\n%zu machine%s listed.\n", n, n == 1 ? "" : "s");
        machine_record_free_many(l, n);
        return 0;
}

/* "3min 4s ago" */
static void format_ago(char *buf, size_t l, uint64_t since_usec) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t now = (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
        uint64_t s = now > since_usec ? (now - since_usec) / 1000000U : 0;
        if (s >= 86400)
                snprintf(buf, l, "%" PRIu64 " day%s %" PRIu64 "h ago", s / 86400, s / 86400 == 1 ? "" : "s",
                        s % 86400 / 3600);
        else if (s >= 3600)
                snprintf(buf, l, "%" PRIu64 "h %" PRIu64 "min ago", s / 3600, s % 3600 / 60);
        else if (s >= 60)
                snprintf(buf, l, "%" PRIu64 "min %" PRIu64 "s ago", s / 60, s % 60);
        else
                snprintf(buf, l, "%" PRIu64 "s ago", s);
}

/* PID's command line, printable, or "[comm]" for a kernel-style process without one. */
static char *process_cmdline(pid_t pid) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
                text = malloc(CMDLINE_READ_MAX + 1);
                ssize_t k = text ? loop_read(fd, text, CMDLINE_READ_MAX) : -1;
                size = k > 0 ? (size_t) k : 0;
                if (text)
                        text[size] = 0;
        }
        while (size > 0 && text[size - 1] == 0)
                size--;
        for (size_t i = 0; i < size; i++)
                if (text[i] == 0)
                        text[i] = ' ';
        if (size > 0)
                return printable(text, CMDLINE_PRINT_MAX);
        snprintf(path, sizeof path, "/proc/%d/comm", (int) pid);
        _cleanup_free_ char *comm = NULL;
        if (read_file_at(AT_FDCWD, path, 0, 256, &comm, NULL) < 0)
                return strdup("?");
        comm[strcspn(comm, "\n")] = 0;
        _cleanup_free_ char *p = printable(comm, 64);
        return p ? strjoin("[", p, "]") : NULL;
}

static int pid_cmp(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return x < y ? -1 : x > y;
}

static int str_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The cgroup at dir_fd as a tree: its processes, then its subgroups, each line after prefix. */
static void print_tree(int dir_fd, const char *prefix, unsigned depth, unsigned *budget) {
        if (depth > TREE_DEPTH_MAX)
                return;
        _cleanup_free_ char *procs = NULL;
        if (read_file_at(dir_fd, "cgroup.procs", RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, 4U * 1024U * 1024U, &procs,
                    NULL) < 0)
                return;
        _cleanup_free_ pid_t *pids = NULL;
        size_t np = 0;
        for (char *line = procs, *next; line && *line && np < TREE_PROCS_MAX; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                int pid;
                if (safe_atoi(line, &pid) < 0 || pid <= 0)
                        continue;
                pid_t *n = realloc(pids, (np + 1) * sizeof *pids);
                if (!n)
                        return;
                pids = n;
                pids[np++] = pid;
        }
        qsort(pids, np, sizeof *pids, pid_cmp);
        _cleanup_strv_free_ char **subs = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        size_t ns = 0;
        if (opendir_fd(dir_fd, &d) >= 0) {
                struct dirent *de;
                while ((de = readdir(d)) && ns < TREE_ENTRIES_MAX)
                        if (de->d_type == DT_DIR && de->d_name[0] != '.' && strv_extend(&subs, de->d_name) >= 0)
                                ns++;
        }
        if (ns > 0)
                qsort(subs, ns, sizeof *subs, str_cmp);
        for (size_t i = 0; i<np + ns && * budget> 0; i++, (*budget)--) {
                bool last = i + 1 == np + ns;
                if (i < np) {
                        _cleanup_free_ char *cmd = process_cmdline(pids[i]);
                        printf("%s%s%d %s\n", prefix, last ? "└─" : "├─", (int) pids[i], cmd ?: "?");
                        continue;
                }
                const char *name = subs[i - np];
                _cleanup_close_ int sub = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (sub < 0)
                        continue;
                _cleanup_free_ char *p = printable(name, 80), *nprefix = strjoin(prefix, last ? "  " : "│ ");
                if (!nprefix)
                        return;
                printf("%s%s%s\n", prefix, last ? "└─" : "├─", p ?: "?");
                print_tree(sub, nprefix, depth + 1, budget);
        }
}

static void print_status(const MachineRecord *m) {
        char id[ID128_STRING_MAX], ts[FORMAT_TIMESTAMP_MAX], ago[64];
        id128_format(m->uuid, id);
        if (uuid_is_null(m->uuid))
                printf("%s\n", m->name);
        else
                printf("%s(%s)\n", m->name, id);
        format_ago(ago, sizeof ago, m->since_usec);
        printf("%16s %s; %s\n", "Since:", format_timestamp(ts, sizeof ts, m->since_usec / 1000000U), ago);
        _cleanup_free_ char *comm = NULL;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/comm", (int) m->leader);
        if (read_file_at(AT_FDCWD, path, 0, 256, &comm, NULL) >= 0)
                comm[strcspn(comm, "\n")] = 0;
        _cleanup_free_ char *pcomm = comm ? printable(comm, 64) : NULL;
        printf("%16s %d (%s)\n", "Leader:", (int) m->leader, pcomm ?: "?");
        printf("%16s %s; class %s\n", "Service:", m->service ?: "-", m->class);
        printf("%16s %s\n", "Root:", m->root);
        if (m->image)
                printf("%16s %s\n", "Image:", m->image);
        if (m->root_hash)
                printf("%16s %s\n", "Root hash:", m->root_hash);
        for (char **a = m->addresses; a && *a; a++)
                printf("%16s %s\n", a == m->addresses ? "Address:" : "", *a);
        if (m->os)
                printf("%16s %s%s%s\n", "OS:", m->os, m->version ? " " : "", m->version ?: "");
        if (m->private_users)
                printf("%16s %u\n", "UID Shift:", (unsigned) m->uid_shift);
        if (m->cgroup) {
                printf("%16s %s\n", "CGroup:", m->cgroup);
                _cleanup_close_ int cg = machine_cgroup_open(m, NULL);
                unsigned budget = TREE_PROCS_MAX;
                if (cg >= 0)
                        print_tree(cg, "                 ", 0, &budget);
        }
}

static const char help_status[] = "cowpen status [OPTIONS…] NAME…\n\n"
                                  "Show a running machine: since when, its leader, service, root, image, addresses,\n"
                                  "OS and the process tree of its cgroup, as machinectl status.\n\n"
                                  "     --json=MODE    pretty|short|off\n";

int verb_status(int argc, char *argv[]) {
        int r = parse_machine_args(argc, argv, "status", help_status, 1, -1, NULL, NULL);
        if (r < 0)
                return r;
        int ret = 0;
        for (int i = optind; i < argc; i++) {
                _cleanup_diag_ Diag diag = DIAG_INIT;
                _cleanup_(machine_record_freep) MachineRecord *m = NULL;
                if ((r = machine_lookup(argv[i], &m, &diag)) < 0) {
                        ret = log_diag_error(r, &diag, "status");
                        continue;
                }
                if (arg_global.json != JSON_OFF) {
                        _cleanup_json_ json_object *o = record_to_json(m);
                        if (!o || (r = json_print(o, arg_global.json)) < 0)
                                ret = log_error_errno(o ? r : -ENOMEM, "status %s: %m", m->name);
                        continue;
                }
                if (i > optind)
                        printf("\n");
                print_status(m);
        }
        return ret;
}

/* Whether process pid runs busybox (its executable's name, as its mount namespace has it). */
static bool leader_is_busybox(pid_t pid) {
        char path[64], target[PATH_MAX];
        snprintf(path, sizeof path, "/proc/%d/exe", (int) pid);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n <= 0)
                return false;
        target[n] = 0;
        const char *base = strrchr(target, '/');
        return streq(base ? base + 1 : target, "busybox");
}

typedef enum MachineAction {
        ACTION_POWEROFF,
        ACTION_REBOOT,
        ACTION_TERMINATE,
        ACTION_KILL,
} MachineAction;

static int act(MachineAction action, const MachineRecord *m, int sig, MachineKillWhom whom, Diag *diag) {
        switch (action) {
        case ACTION_POWEROFF:
                /* A booted init that takes SIGRTMIN+4 (systemd) powers off on it, as machinectl
                 * asks. Any other (sysvinit with OpenRC, a plain payload) is shut down the way run
                 * shuts it down on SIGTERM (sysvinit: runlevel 0 through its initctl FIFO): by
                 * asking the cowpen that runs it. */
                if (m->boot && pid_signal_disposition(m->leader, SIGRTMIN + 4) > 0)
                        return machine_kill(m, MACHINE_KILL_LEADER, SIGRTMIN + 4, diag);
                /* busybox's init powers off on SIGUSR2 (and takes none of the others'). */
                if (m->boot && leader_is_busybox(m->leader))
                        return machine_kill(m, MACHINE_KILL_LEADER, SIGUSR2, diag);
                {
                        _cleanup_close_ int fd = machine_monitor_pidfd(m, diag);
                        if (fd < 0)
                                return fd;
                        if (syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0) < 0)
                                return diag_fail(
                                        diag, negative_errno(), NULL, "cannot signal the cowpen of %s: %m", m->name);
                }
                return 0;
        case ACTION_REBOOT:
                return machine_kill(m, MACHINE_KILL_LEADER, SIGINT, diag);
        case ACTION_TERMINATE:
                return machine_kill(m, MACHINE_KILL_LEADER, SIGKILL, diag);
        case ACTION_KILL:
                return machine_kill(m, whom, sig, diag);
        }
        return -EINVAL;
}

static int verb_act(int argc, char *argv[], const char *verb, const char *help, MachineAction action) {
        int sig = SIGTERM;
        MachineKillWhom whom = MACHINE_KILL_ALL;
        bool kill = action == ACTION_KILL;
        int r = parse_machine_args(argc, argv, verb, help, 1, -1, kill ? &sig : NULL, kill ? &whom : NULL);
        if (r < 0)
                return r;
        int ret = 0;
        for (int i = optind; i < argc; i++) {
                _cleanup_diag_ Diag diag = DIAG_INIT;
                _cleanup_(machine_record_freep) MachineRecord *m = NULL;
                if ((r = machine_lookup(argv[i], &m, &diag)) < 0 || (r = act(action, m, sig, whom, &diag)) < 0)
                        ret = log_diag_error(r, &diag, "%s", verb);
        }
        return ret;
}

static const char help_poweroff[] =
        "cowpen poweroff [OPTIONS…] NAME…\n\n"
        "Shut running machines down cleanly: SIGRTMIN+4 to a booted systemd, as machinectl does,\n"
        "SIGUSR2 to busybox's init; any other init (sysvinit with OpenRC) or payload is shut down\n"
        "as cowpen run does on SIGTERM.\n";
static const char help_reboot[] = "cowpen reboot [OPTIONS…] NAME…\n\n"
                                  "Reboot running machines: SIGINT to the leader, as machinectl does.\n";
static const char help_terminate[] = "cowpen terminate [OPTIONS…] NAME…\n\n"
                                     "End running machines at once: SIGKILL to the leader (its PID namespace goes\n"
                                     "with it), and the run that started each returns.\n";
static const char help_kill[] = "cowpen kill [OPTIONS…] NAME…\n\n"
                                "Send a signal to the processes of running machines, as machinectl kill.\n\n"
                                "  -s --signal=SIG       The signal (name or number; default SIGTERM)\n"
                                "     --kill-whom=WHOM   leader (the container's PID 1) or all (every process of\n"
                                "                        its cgroup; the default)\n";

int verb_poweroff(int argc, char *argv[]) {
        return verb_act(argc, argv, "poweroff", help_poweroff, ACTION_POWEROFF);
}
int verb_reboot(int argc, char *argv[]) {
        return verb_act(argc, argv, "reboot", help_reboot, ACTION_REBOOT);
}
int verb_terminate(int argc, char *argv[]) {
        return verb_act(argc, argv, "terminate", help_terminate, ACTION_TERMINATE);
}
int verb_kill(int argc, char *argv[]) {
        return verb_act(argc, argv, "kill", help_kill, ACTION_KILL);
}
