/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "fd-util.h"
#include "rm-rf.h"
#include "spawn-bind-user.h"
#include "spawn-boot.h"
#include "spawn-cgroup.h"
#include "spawn-child.h"
#include "spawn-clone.h"
#include "spawn-console.h"
#include "spawn-machine.h"
#include "spawn-mount.h"
#include "spawn-network.h"
#include "spawn-register.h"
#include "spawn-seccomp.h"
#include "spawn-stub.h"
#include "spawn-userns.h"
#include "proc-util.h"
#include "util.h"

/* The parent's side of a run: checks what can be checked on the host, clones the container's
 * first process into new namespaces, forwards signals and the console, and turns the payload's
 * end into an exit status.
 *
 * Untrusted input: none beyond the config (already parsed) and the error records the child
 * sends, whose message is NUL-terminated here before use. */

static int validate(const SpawnConfig *c, Diag *diag) {
        for (size_t i = 0; i < c->n_mounts; i++) {
                const CustomMount *m = &c->mounts[i];
                struct stat st;
                /* nspawn fails these when mounting ("Failed to map ids for bind mount"): before
                 * anything starts here. */
                if (m->type == CUSTOM_MOUNT_BIND && m->idmap != BIND_IDMAP_NONE && c->private_users == PRIVATE_USERS_NO)
                        return diag_fail(diag, -EINVAL, NULL, "bind %s%s: %s needs --private-users",
                                         m->source_in_root ? "+" : "", m->source, bind_idmap_to_string(m->idmap));
                if (m->type == CUSTOM_MOUNT_BIND && !m->source_in_root && stat(m->source, &st) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "bind source %s: %m", m->source);
                if (m->type != CUSTOM_MOUNT_OVERLAY)
                        continue;
                /* Layers "+PATH" are the container's: resolved inside it when mounted. */
                for (char **l = m->lower; l && *l; l++)
                        if (**l != '+' && (stat(*l, &st) < 0 || !S_ISDIR(st.st_mode)))
                                return diag_fail(diag, errno > 0 ? -errno : -ENOTDIR, NULL, "overlay layer %s: %m", *l);
                if (m->upper && m->upper[0] != '+' && (stat(m->upper, &st) < 0 || !S_ISDIR(st.st_mode)))
                        return diag_fail(diag, errno > 0 ? -errno : -ENOTDIR, NULL, "overlay upper layer %s: %m",
                                         m->upper);
        }
        return 0;
}

/* Work directories of --overlay mounts: next to their upper directory (same file system, as
 * overlayfs requires), hidden, removed after the run. An upper "+PATH" is in the container's
 * root: its work directory is only named here ("+DIR/.#work.BASE.RANDOM") and made by the
 * container's setup (spawn-mount.c), inside the root. An empty top layer is a throw-away
 * directory in /var/tmp (as nspawn's /var/tmp/nspawn-temp-*), holding the upper layer (or, read
 * only, an empty top lower one) and the work directory; with a user namespace its top belongs to
 * the container's root. */
static int make_overlay_work_dirs(SpawnConfig *c) {
        for (size_t i = 0; i < c->n_mounts; i++) {
                CustomMount *m = &c->mounts[i];
                if (m->type != CUSTOM_MOUNT_OVERLAY || m->work_dir)
                        continue;
                int r;
                if (m->temporary_top && !m->temp_dir) {
                        char t[] = "/var/tmp/cowpen-overlay.XXXXXX";
                        if (!mkdtemp(t))
                                return negative_errno();
                        if (!(m->temp_dir = strdup(t))) {
                                (void) rmdir(t);
                                return -ENOMEM;
                        }
                        _cleanup_free_ char *top = strjoin(t, "/upper"), *work = strjoin(t, "/work");
                        if (!top || !work)
                                return -ENOMEM;
                        /* Its owner, with a user namespace: chown_overlay_temp_tops(). */
                        if (mkdir(top, 0755) < 0 || (!m->read_only && mkdir(work, 0700) < 0))
                                return negative_errno();
                        if (m->read_only) {
                                if ((r = strv_extend(&m->lower, top)) < 0)
                                        return r;
                        } else {
                                m->upper = TAKE_PTR(top);
                                m->work_dir = TAKE_PTR(work);
                        }
                        continue;
                }
                if (!m->upper)
                        continue;
                _cleanup_free_ char *rnd = NULL, *dir = strdup(m->upper);
                r = random_hex(8, &rnd);
                if (r < 0)
                        return r;
                if (!dir)
                        return -ENOMEM;
                char *slash = strrchr(dir, '/');
                const char *base = slash[1] ? slash + 1 : "root";
                *slash = 0;
                char *w;
                if (asprintf(&w, "%s/.#work.%s.%s", dir, base, rnd) < 0)
                        return -ENOMEM;
                if (m->upper[0] != '+' && mkdir(w, 0700) < 0) {
                        r = negative_errno();
                        free(w);
                        return r;
                }
                m->work_dir = w;
        }
        return 0;
}

/* With a user namespace, the throw-away top layers belong to the container's root (once its
 * range is known: spawn_userns_prepare()), who could not write to them otherwise. */
static int chown_overlay_temp_tops(const SpawnConfig *c) {
        for (size_t i = 0; c->private_users && i < c->n_mounts; i++) {
                const CustomMount *m = &c->mounts[i];
                if (!m->temp_dir)
                        continue;
                const char *top = m->read_only ? m->lower[strv_length(m->lower) - 1] : m->upper;
                if (chown(top, c->uid_shift, c->uid_shift) < 0)
                        return negative_errno();
        }
        return 0;
}

static void remove_overlay_work_dirs(SpawnConfig *c, const PreparedRoot *root) {
        for (size_t i = 0; i < c->n_mounts; i++) {
                CustomMount *m = &c->mounts[i];
                if (m->temp_dir) {
                        /* What make_overlay_work_dirs() added for it goes too: made anew by a
                         * next run (after a reboot inside). */
                        size_t n = strv_length(m->lower);
                        if (m->read_only && n > 0 && startswith(m->lower[n - 1], m->temp_dir)) {
                                free(m->lower[n - 1]);
                                m->lower[n - 1] = NULL;
                        }
                        if (m->upper && startswith(m->upper, m->temp_dir)) {
                                free(m->upper);
                                m->upper = NULL;
                        }
                        (void) rm_rf_at(AT_FDCWD, m->temp_dir);
                        free(m->temp_dir);
                        m->temp_dir = NULL;
                } else if (m->work_dir && m->work_dir[0] == '+') {
                        /* In the container's root, which the container may have changed: its
                         * parent resolved inside the root, the entry removed without following
                         * anything. */
                        const char *slash = strrchr(m->work_dir, '/');
                        _cleanup_free_ char *parent = strndup(m->work_dir + 1, (size_t) (slash - m->work_dir - 1));
                        if (parent) {
                                _cleanup_close_ int pfd = openat2_resolve(root->fd, *parent ? parent : "/", O_PATH | O_DIRECTORY, 0,
                                                                          RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                                if (pfd >= 0)
                                        (void) rm_rf_at(pfd, slash + 1);
                        }
                } else if (m->work_dir)
                        (void) rm_rf_at(AT_FDCWD, m->work_dir);
                free(m->work_dir);
                m->work_dir = NULL;
        }
}

/* --bind=…:rootidmap: a user namespace per such mount mapping the source's owner (uid and gid of
 * that number, as nspawn) to the container's root, made here in the host's PID namespace (the
 * helper's /proc entry must be ours). A source "+PATH" is the container's, resolved in it. */
static int make_owner_maps(const SpawnConfig *c, const PreparedRoot *root, BindOwnerMaps *o, Diag *diag) {
        for (size_t i = 0; i < c->n_mounts; i++) {
                const CustomMount *m = &c->mounts[i];
                if (m->type != CUSTOM_MOUNT_BIND || m->idmap != BIND_IDMAP_OWNER)
                        continue;
                if (!o->fds) {
                        o->fds = malloc(sizeof(int) * c->n_mounts);
                        o->owners = malloc(sizeof(uid_t) * c->n_mounts);
                        if (!o->fds || !o->owners)
                                return -ENOMEM;
                        for (size_t k = 0; k < c->n_mounts; k++)
                                o->fds[k] = -EBADF;
                        o->n = c->n_mounts;
                }
                _cleanup_close_ int s = m->source_in_root
                                                ? openat2_resolve(root->fd, m->source, O_PATH, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
                                                : open(m->source, O_PATH | O_CLOEXEC);
                struct stat st;
                int r = s < 0 ? (m->source_in_root ? s : negative_errno()) : fstat(s, &st) < 0 ? negative_errno() : 0;
                if (r >= 0)
                        r = spawn_userns_mapping(st.st_uid, c->uid_shift, 1, &o->fds[i]);
                if (r < 0)
                        return diag_fail(diag, r, NULL, "bind %s%s: user namespace for rootidmap: %m",
                                         m->source_in_root ? "+" : "", m->source);
                o->owners[i] = st.st_uid;
        }
        return 0;
}

static void owner_maps_done(BindOwnerMaps *o) {
        for (size_t i = 0; o->fds && i < o->n; i++)
                safe_close(o->fds[i]);
        free(o->fds);
        free(o->owners);
        *o = (BindOwnerMaps) {};
}

static uint64_t now_realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000U + (uint64_t) ts.tv_nsec / 1000U;
}

/* One run of the container, from the parent's side: what spawn_run()'s steps make, hand to the
 * container and take down again (run_done()). */
typedef struct Run {
        SpawnConfig *config;
        const PreparedRoot *root;
        Console con;
        sigset_t mask, saved; /* the signals taken by signalfd while the container runs; the mask before */
        int sfd;              /* that signalfd */
        int error_pipe[2];    /* the container's setup reports a failure on it (spawn_child_read_error()) */
        int alive_pipe[2];    /* its write end only ours: the child sees a hangup when we die */
        int handoff[2];       /* --private-users: the setup process's socket to init */
        int stub_fd;          /* -a: the stub init's memfd */
        int saved_pid_ns;     /* --private-users: our PID namespace while cloning into the container's */
        SpawnBoot boot;
        SpawnUserns userns;
        SpawnSeccomp seccomp;
        SpawnCgroup cgroup;
        SpawnNet net;
        SpawnRegister *reg;   /* systemd-machined's registration and scope (spawn-register.h) */
        BindOwnerMaps owner_maps;
        MachineRegistration machine; /* the name, held from the start; the record once set up */
        SpawnBindUsers bind_users; /* --bind-user= (spawn-bind-user.h) */
        ChildArgs args;       /* for the container's first process */
        ChildArgs init_args;  /* --private-users: for its init */
        pid_t pid;          /* the container's PID 1 (its init with --private-users), -1 once reaped */
        int terminated_by;  /* the signal a PID 1 payload without handler was killed for */
        bool shutdown_sent; /* -b: the container's init got the signal that shuts it down */
        uint64_t since_usec; /* CLOCK_REALTIME at the start */
} Run;

/* SIGINT/SIGTERM/SIGHUP to cowpen go to the container (--kill-signal= chooses which signal).
 * A PID 1 payload only receives signals it has a handler for: when it has none and the signal
 * would end an ordinary process, it is ended as one would be, with status 128+N.
 * A booted init gets the shutdown signal once; a second SIGINT/SIGTERM/SIGHUP ends the container
 * at once, as with systemd-nspawn. An init that ignores SIGRTMIN+3 (sysvinit, which has no
 * signal that halts it) is asked for runlevel 0 through its initctl FIFO, as telinit 0 does;
 * where that cannot be done either, the first signal ends it at once (it would never end
 * otherwise). Ended that way, the status is 128+N of the signal cowpen received. */
static void forward_signal(Run *run, int received) {
        const SpawnConfig *c = run->config;
        int sig = c->kill_signal > 0 ? c->kill_signal : c->boot ? spawn_boot_kill_signal() : received;
        if (sig == SIGKILL || c->as_pid2) {
                (void) kill(run->pid, sig);
                return;
        }
        int d = pid_signal_disposition(run->pid, sig);
        if (c->boot && !run->shutdown_sent && d < 0 && c->kill_signal <= 0 && spawn_boot_request_halt(run->pid) >= 0) {
                run->shutdown_sent = true;
                return;
        }
        if (c->boot && (run->shutdown_sent || d < 0)) {
                run->terminated_by = received;
                (void) kill(run->pid, SIGKILL);
                return;
        }
        run->shutdown_sent = c->boot;
        if (d == 0 && sig != SIGCHLD && sig != SIGWINCH && sig != SIGURG && sig != SIGCONT) {
                run->terminated_by = sig;
                (void) kill(run->pid, SIGKILL);
                return;
        }
        (void) kill(run->pid, sig);
}

static ConsoleMode console_mode(const SpawnConfig *c) {
        bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        if (c->console == _CONSOLE_MODE_AUTO) /* a booted init wants a /dev/console */
                return tty ? CONSOLE_INTERACTIVE : c->boot ? CONSOLE_READ_ONLY : CONSOLE_PIPE;
        if (c->console == CONSOLE_AUTOPIPE) /* as nspawn: pipe even for a booted init */
                return tty ? CONSOLE_INTERACTIVE : CONSOLE_PIPE;
        return c->console;
}

/* The signals the container gets (or that tell of its end) come to us by signalfd from now on. */
static void run_block_signals(Run *run) {
        sigemptyset(&run->mask);
        sigaddset(&run->mask, SIGCHLD);
        sigaddset(&run->mask, SIGINT);
        sigaddset(&run->mask, SIGTERM);
        sigaddset(&run->mask, SIGHUP);
        sigaddset(&run->mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &run->mask, &run->saved);
}

static int run_open_channels(Run *run, Diag *diag) {
        if (pipe2(run->error_pipe, O_CLOEXEC) < 0 || pipe2(run->alive_pipe, O_CLOEXEC) < 0)
                return diag_fail(diag, negative_errno(), NULL, "pipe");
        if (run->config->private_users && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, run->handoff) < 0)
                return diag_fail(diag, negative_errno(), NULL, "socketpair");
        run->sfd = signalfd(-1, &run->mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (run->sfd < 0)
                return diag_fail(diag, negative_errno(), NULL, "signalfd");
        return 0;
}

/* What is made on the host before the container: the system-call filter (compiled here, or found
 * compiled; installed by the container), the stub init, the user namespace's range, the
 * rootidmap namespaces, the cgroup with the device policy (delegated to a booted init), the notify
 * socket. */
static int run_prepare(Run *run, Diag *diag) {
        SpawnConfig *c = run->config;
        int r;
        if (!c->no_seccomp && (r = spawn_seccomp_prepare(c, &run->seccomp, diag)) < 0)
                return r;
        if (c->as_pid2 && (r = spawn_stub_memfd(&run->stub_fd)) < 0)
                return diag_fail(diag, r, NULL, "make the stub init");
        if (c->private_users &&
            (r = spawn_userns_prepare(c, run->root->fd, run->root->machine, &run->userns, diag)) < 0)
                return r;
        if (c->private_users && (r = make_owner_maps(c, run->root, &run->owner_maps, diag)) < 0)
                return r;
        if ((r = spawn_bind_users_prepare(c, run->root->fd, &run->bind_users, diag)) < 0)
                return r;
        if ((r = chown_overlay_temp_tops(c)) < 0)
                return diag_fail(diag, r, NULL, "hand the throw-away overlay layer to the container's root");
        if (c->boot && c->private_users)
                run->cgroup.owner = c->uid_shift;
        if ((r = spawn_net_prepare(&run->net, c, c->private_users != PRIVATE_USERS_NO, diag)) < 0)
                return r;
        if (c->boot) {
                run->boot.notify_ready = c->notify_ready;
                if ((r = spawn_boot_prepare(&run->boot, c, run->root->machine, diag)) < 0)
                        return r;
        }
        return 0;
}

static void run_child_args(Run *run) {
        SpawnConfig *c = run->config;
        run->args = (ChildArgs) {
                .config = c,
                .root = run->root,
                .error_fd = run->error_pipe[1],
                .alive_fd = run->alive_pipe[0],
                .alive_w = run->alive_pipe[1],
                .console_fd = run->con.slave,
                .console_path = run->con.slave >= 0 ? run->con.slave_path : NULL,
                .saved_mask = &run->saved,
                /* As nspawn 252: our own $TERM in every console mode, none when we have none. */
                .term = getenv("TERM"),
                .boot = &run->boot,
                .cgroup = &run->cgroup,
                .userns = &run->userns,
                .handoff_fd = run->handoff[0],
                .init_fd = run->handoff[1],
                .close_fds = { run->sfd, run->error_pipe[0], run->con.master, run->handoff[1], run->machine.lock_fd,
                               run->machine.dir_fd },
                .seccomp = c->no_seccomp ? NULL : &run->seccomp,
                .stub_fd = run->stub_fd,
                .owner_maps = &run->owner_maps,
                .bind_users = &run->bind_users,
                .netns_fd = run->net.netns_fd,
        };
}

static int child_main(void *userdata) {
        spawn_child(userdata);
}

static int init_main(void *userdata) {
        spawn_init(userdata);
}

/* The container's cgroup, as late as can be: just before its first process (init of a user
 * namespace, else the setup process) is made in it. An empty cgroup named after a PID that a
 * cowpen in another PID namespace does not see is one it takes for stale (older cowpens sweep it
 * without looking at the lock spawn-cgroup.c now takes), so the time it spends empty is kept
 * short: the network is set up before it exists. */
static int run_cgroup(Run *run, Diag *diag) {
        return spawn_cgroup_make(&run->cgroup, run->config, run->root->machine, diag);
}

/* --private-users: init is made with the namespaces (a copy of our memory as it is now: config
 * and boot set up) and waits; it keeps the other end of the socket. Then the cgroup is handed to
 * a booted init. */
static int run_make_init(Run *run, Diag *diag) {
        int r;
        run->init_args = run->args;
        run->init_args.close_fds[3] = run->handoff[0];
        SpawnUsernsInit init = {
                .join_netns_fd = run->net.netns_fd,
                .fn = init_main,
                .arg = &run->init_args,
                .cgroup_fd = run->cgroup.fd,
                .ret_in_cgroup = &run->init_args.in_cgroup,
        };
        if ((r = spawn_userns_make(run->config, &init, &run->userns, diag)) < 0)
                return r;
        if (run->userns.init_pid > 0 && (r = spawn_cgroup_place(&run->cgroup, run->userns.init_pid)) < 0)
                return diag_fail(diag, r, NULL, "move init into the container's cgroup");
        if ((r = spawn_cgroup_delegate(&run->cgroup)) < 0)
                return diag_fail(diag, r, NULL, "delegate the container's cgroup");
        return 0;
}

/* The container's network, in its namespace (made by spawn_net_prepare() or by the user
 * namespace), before anything of the container runs: its setup process is not cloned yet, and
 * with a user namespace its init waits for that setup. */
static int run_network(Run *run, Diag *diag) {
        int fd = run->userns.net_fd >= 0 ? run->userns.net_fd : run->net.netns_fd;
        if (fd < 0)
                return 0;
        return spawn_net_setup(&run->net, run->config, run->root->machine, fd, diag);
}

/* The container's first process, in new namespaces. With --private-users the PID, UTS, IPC and
 * network namespaces are the user namespace's (made with it): the setup process is cloned into
 * its PID namespace and joins the others. */
static int run_clone(Run *run, Diag *diag) {
        const SpawnConfig *c = run->config;
        int flags = spawn_userns_clone_flags(&run->userns, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                                                                   CLONE_NEWCGROUP |
                                                                   (c->private_network && run->net.netns_fd < 0 ? CLONE_NEWNET : 0));
        int r = spawn_userns_clone_begin(&run->userns, &run->saved_pid_ns);
        if (r < 0)
                return diag_fail(diag, r, NULL, "enter the container's PID namespace");
        fflush(NULL);
        /* A child that does not exec at once makes a copy of our memory, as fork() does: the
         * -a child forks the payload, a booting child allocates (init's argv, the cgroup) before
         * exec, the setup process of a user namespace does not exec. Else the child borrows our
         * memory until it execs. Either is made in the container's cgroup where the kernel can. */
        bool share_memory = !(c->as_pid2 || c->boot || run->userns.init_pid > 0);
        run->pid = spawn_clone(flags, run->cgroup.fd, share_memory, child_main, &run->args, &run->args.in_cgroup);
        if (run->pid < 0)
                r = negative_errno();
        /* Our own PID namespace for our later children again. */
        int rr = spawn_userns_clone_end(run->saved_pid_ns);
        run->saved_pid_ns = -EBADF;
        if (run->pid < 0)
                return diag_fail(diag, r, NULL, "create namespaces");
        if (rr < 0)
                return diag_fail(diag, rr, NULL, "return to our PID namespace");
        run->handoff[0] = safe_close(run->handoff[0]);
        run->handoff[1] = safe_close(run->handoff[1]);
        run->error_pipe[1] = safe_close(run->error_pipe[1]);
        run->alive_pipe[0] = safe_close(run->alive_pipe[0]);
        return 0;
}

/* systemd-machined takes the machine once its PID 1 exists (spawn-register.h): the init of a user
 * namespace, else the setup process that execs the payload. */
static int run_register(Run *run, Diag *diag) {
        pid_t leader = run->userns.init_pid > 0 ? run->userns.init_pid : run->pid;
        const NetSetupInfo *ni = run->net.setup ? net_setup_info(run->net.setup) : NULL;
        return spawn_register_leader(run->reg, run->config, run->root, run->machine.name, leader, ni ? ni->host_ifname : NULL, diag);
}

/* Until the container's setup is done: it reports a failure, or the error pipe closes on the
 * payload's exec. With a user namespace what runs the payload is init; the setup process ends
 * once it handed over (or failed, and said why on the error pipe), and is reaped right away, so
 * that its PID (2) is free again. Then the console is ours. */
static int run_wait_setup(Run *run, Diag *diag) {
        int r, setup_status = 0;
        if (run->userns.init_pid > 0) {
                (void) waitpid(run->pid, &setup_status, 0);
                run->pid = run->userns.init_pid;
                run->userns.init_pid = -1;
        }
        if ((r = spawn_child_read_error(run->error_pipe[0], diag)) < 0)
                return r;
        if (!WIFEXITED(setup_status) || WEXITSTATUS(setup_status) != 0)
                return diag_fail(diag, -EIO, NULL, "the container's setup process died");
        if (run->config->boot)
                spawn_boot_started(&run->boot);
        if ((r = spawn_machine_register(&run->machine, run->config, run->root, run->pid, &run->cgroup, &run->net,
                                        run->since_usec, diag)) < 0) {
                (void) kill(run->pid, SIGKILL);
                return r;
        }
        if ((r = console_start(&run->con)) < 0) {
                (void) kill(run->pid, SIGKILL);
                (void) waitpid(run->pid, NULL, 0);
                run->pid = -1;
                return diag_fail(diag, r, NULL, "set up the terminal");
        }
        return 0;
}

/* The run's status from how the container's PID 1 ended. */
static int run_exit_status(const Run *run, const siginfo_t *info) {
        if (run->config->boot && !run->terminated_by)
                return spawn_boot_status(info->si_code, info->si_status);
        if (info->si_code == CLD_EXITED)
                return info->si_status;
        if (run->terminated_by && info->si_status == SIGKILL)
                return 128 + run->terminated_by;
        return 128 + info->si_status;
}

/* The signals that came: forwarded, or (SIGCHLD) the container's end. Returns 1 with its status
 * when PID 1 ended. */
static int run_handle_signals(Run *run, int *ret_status) {
        int exited = 0;
        struct signalfd_siginfo si;
        while (read(run->sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGCHLD: {
                        siginfo_t info = {};
                        if (waitid(P_PID, (id_t) run->pid, &info, WEXITED | WNOHANG) >= 0 && info.si_pid == run->pid) {
                                exited = 1;
                                *ret_status = run_exit_status(run, &info);
                        }
                        break;
                }
                case SIGWINCH:
                        console_winch(&run->con);
                        break;
                default:
                        forward_signal(run, (int) si.ssi_signo);
                }
        }
        return exited;
}

/* While the container runs: the console, the notify socket and signals, until PID 1 ends. */
static int run_forward(Run *run, Diag *diag) {
        for (;;) {
                struct pollfd p[5];
                size_t np = console_poll_fill(&run->con, p);
                p[np] = (struct pollfd) { .fd = run->sfd, .events = POLLIN };
                p[np + 1] = (struct pollfd) { .fd = run->boot.notify_fd, .events = POLLIN };
                /* A booting init hangs up its console (vhangup) and opens it again: the pty
                 * reads EIO meanwhile, so look again shortly rather than giving up on it. */
                int timeout = -1;
                if (run->config->boot && run->con.master_hup) {
                        run->con.master_hup = false;
                        timeout = 100;
                }
                if (poll(p, np + 2, timeout) < 0 && errno != EINTR) {
                        int r = diag_fail(diag, negative_errno(), NULL, "poll");
                        (void) kill(run->pid, SIGKILL);
                        return r;
                }
                if (p[np + 1].revents & POLLIN)
                        spawn_boot_notify_handle(&run->boot);
                if (console_poll_handle(&run->con, p, np) > 0)
                        (void) kill(run->pid, SIGKILL); /* Ctrl-] ×3: the container is killed */
                int status;
                if (run_handle_signals(run, &status)) {
                        run->pid = -1;
                        console_drain(&run->con);
                        return status;
                }
        }
}

static void run_done(Run *run) {
        if (run->pid > 0) {
                (void) kill(run->pid, SIGKILL);
                (void) waitpid(run->pid, NULL, 0);
        }
        /* The container's last process is gone (its init took the others along): its network goes. */
        spawn_net_done(&run->net, run->config);
        safe_close(run->handoff[0]);
        safe_close(run->handoff[1]);
        console_close(&run->con);
        safe_close(run->error_pipe[0]);
        safe_close(run->error_pipe[1]);
        safe_close(run->alive_pipe[0]);
        safe_close(run->alive_pipe[1]);
        run->sfd = safe_close(run->sfd);
        safe_close(run->stub_fd);
        spawn_seccomp_done(&run->seccomp);
        owner_maps_done(&run->owner_maps);
        spawn_bind_users_done(&run->bind_users);
        /* Signals that arrived for the container are not replayed to cowpen itself. */
        struct timespec zero = {};
        while (sigtimedwait(&run->mask, NULL, &zero) > 0)
                ;
        sigprocmask(SIG_SETMASK, &run->saved, NULL);
        remove_overlay_work_dirs(run->config, run->root);
        spawn_boot_done(&run->boot);
        spawn_cgroup_done(&run->cgroup);
        (void) spawn_userns_clone_end(run->saved_pid_ns);
        spawn_userns_done(&run->userns);
        machine_release(&run->machine);
}

int spawn_run(SpawnConfig *c, const PreparedRoot *root, Diag *diag) {
        /* Every network option implies a network namespace of the container's own. */
        if (spawn_network_wanted(&c->network))
                c->private_network = true;
        int r = spawn_network_check(c, diag);
        if (r < 0)
                return r;
        if ((r = validate(c, diag)) < 0)
                return r;
        ConsoleMode mode = console_mode(c);
        /* The machine's name first: a second run of a running machine is refused before anything
         * is made. */
        MachineRegistration machine = MACHINE_REGISTRATION_NULL;
        if ((r = spawn_machine_reserve(&machine, c, root, diag)) < 0)
                return r;
        /* Before the container's cgroup: with a scope of its own, cowpen is moved into it first. */
        _cleanup_(spawn_register_done) SpawnRegister reg = SPAWN_REGISTER_NULL;
        if ((r = spawn_register_prepare(&reg, c, root, machine.name, diag)) < 0) {
                machine_release(&machine);
                return r;
        }
        if ((r = make_overlay_work_dirs(c)) < 0) {
                machine_release(&machine);
                remove_overlay_work_dirs(c, root);
                return diag_fail(diag, r, NULL, "overlay work directory");
        }
        Run run = {
                .config = c, .root = root, .sfd = -EBADF, .error_pipe = { -EBADF, -EBADF }, .alive_pipe = { -EBADF, -EBADF },
                .handoff = { -EBADF, -EBADF }, .stub_fd = -EBADF, .saved_pid_ns = -EBADF, .boot = SPAWN_BOOT_NULL,
                .userns = SPAWN_USERNS_NULL, .seccomp = SPAWN_SECCOMP_NULL, .cgroup = SPAWN_CGROUP_NULL, .net = SPAWN_NET_NULL, .pid = -1,
                .reg = &reg, .machine = machine, .since_usec = now_realtime_usec(),
        };
        if ((r = console_open(&run.con, mode)) < 0) {
                machine_release(&run.machine);
                remove_overlay_work_dirs(c, root);
                return diag_fail(diag, r, NULL, "allocate a pty");
        }
        run_block_signals(&run);
        /* A SIGINT/SIGTERM/SIGHUP that came before the signals were blocked here found no
         * container to forward to (main's handler only noted it): it ends the run before anything
         * starts, with the status it would have given a moment later. */
        if (interrupted())
                r = 128 + interrupted_signal();
        else if ((r = run_open_channels(&run, diag)) >= 0 && (r = run_prepare(&run, diag)) >= 0) {
                run_child_args(&run);
                bool userns = c->private_users != PRIVATE_USERS_NO;
                if ((!userns || (r = run_cgroup(&run, diag)) >= 0) && (r = run_make_init(&run, diag)) >= 0 &&
                    (r = run_network(&run, diag)) >= 0 && (userns || (r = run_cgroup(&run, diag)) >= 0) &&
                    (r = run_clone(&run, diag)) >= 0 && (r = run_register(&run, diag)) >= 0 &&
                    (r = run_wait_setup(&run, diag)) >= 0)
                        r = run_forward(&run, diag);
        }
        run_done(&run);
        if (r < 0)
                (void) diag_fail(diag, r, NULL, "start the container"); /* unless a cause was recorded */
        return r;
}
