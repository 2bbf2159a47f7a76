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

#include "fd-util.h"
#include "rm-rf.h"
#include "spawn-boot.h"
#include "spawn-cgroup.h"
#include "spawn-child.h"
#include "spawn-clone.h"
#include "spawn-console.h"
#include "spawn-mount.h"
#include "spawn-seccomp.h"
#include "spawn-stub.h"
#include "spawn-userns.h"
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
                        return diag_fail(diag, -EINVAL, NULL, "bind %s%s: %s needs --private-users", m->source_in_root ? "+" : "",
                                         m->source, bind_idmap_to_string(m->idmap));
                if (m->type == CUSTOM_MOUNT_BIND && !m->source_in_root && stat(m->source, &st) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "bind source %s: %m", m->source);
                if (m->type != CUSTOM_MOUNT_OVERLAY)
                        continue;
                /* Layers "+PATH" are the container's: resolved inside it when mounted. */
                for (char **l = m->lower; l && *l; l++)
                        if (**l != '+' && (stat(*l, &st) < 0 || !S_ISDIR(st.st_mode)))
                                return diag_fail(diag, errno > 0 ? -errno : -ENOTDIR, NULL, "overlay layer %s: %m", *l);
                if (m->upper && m->upper[0] != '+' && (stat(m->upper, &st) < 0 || !S_ISDIR(st.st_mode)))
                        return diag_fail(diag, errno > 0 ? -errno : -ENOTDIR, NULL, "overlay upper layer %s: %m", m->upper);
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
                        return diag_fail(diag, r, NULL, "bind %s%s: user namespace for rootidmap: %m", m->source_in_root ? "+" : "",
                                         m->source);
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

/* Whether process pid has a handler for sig, ignores it, or leaves the default (from
 * /proc/PID/status): 1 caught, 0 default, -1 ignored. */
static int signal_disposition(pid_t pid, int sig) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%i/status", (int) pid);
        _cleanup_free_ char *s = NULL;
        if (read_file_at(AT_FDCWD, path, 0, 64 * 1024, &s, NULL) < 0)
                return 0;
        const char *cgt = strstr(s, "\nSigCgt:"), *ign = strstr(s, "\nSigIgn:"), *blk = strstr(s, "\nSigBlk:");
        unsigned long long vc = 0, vi = 0;
        if (cgt)
                vc = strtoull(cgt + 8, NULL, 16);
        /* A blocked signal is taken with signalfd()/sigwaitinfo(), as systemd does: caught. */
        if (blk)
                vc |= strtoull(blk + 8, NULL, 16);
        if (ign)
                vi = strtoull(ign + 8, NULL, 16);
        unsigned long long bit = 1ULL << (sig - 1);
        return (vc & bit) ? 1 : (vi & bit) ? -1 : 0;
}

static int child_main(void *userdata) {
        spawn_child(userdata);
}

static int init_main(void *userdata) {
        spawn_init(userdata);
}

typedef struct Run {
        pid_t pid;
        int terminated_by; /* the signal a PID 1 payload without handler was killed for */
        bool shutdown_sent; /* -b: the container's init got the signal that shuts it down */
} Run;

/* SIGINT/SIGTERM/SIGHUP to cowpen go to the container (--kill-signal= chooses which signal).
 * A PID 1 payload only receives signals it has a handler for: when it has none and the signal
 * would end an ordinary process, it is ended as one would be, with status 128+N.
 * A booted init gets the shutdown signal once; a second SIGINT/SIGTERM/SIGHUP ends the container
 * at once, as with systemd-nspawn. An init that ignores SIGRTMIN+3 (sysvinit, which has no
 * signal that halts it) is asked for runlevel 0 through its initctl FIFO, as telinit 0 does;
 * where that cannot be done either, the first signal ends it at once (it would never end
 * otherwise). Ended that way, the status is 128+N of the signal cowpen received. */
static void forward_signal(Run *run, const SpawnConfig *c, int received) {
        int sig = c->kill_signal > 0 ? c->kill_signal : c->boot ? spawn_boot_kill_signal() : received;
        if (sig == SIGKILL || c->as_pid2) {
                (void) kill(run->pid, sig);
                return;
        }
        int d = signal_disposition(run->pid, sig);
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

/* --register=yes: systemd-machined must take the machine, or the run fails (as nspawn's
 * "Failed to register machine"). cowpen has no D-Bus client yet, so it says why it cannot;
 * auto runs unregistered. */
static int check_register(const SpawnConfig *c, Diag *diag) {
        static const char bus[] = "/run/dbus/system_bus_socket", machined[] = "/run/systemd/machines";
        if (c->register_mode != REGISTER_YES)
                return 0;
        if (access(bus, F_OK) < 0)
                return diag_fail(diag, negative_errno(), NULL, "cannot register the machine: no system bus (%s: %m)", bus);
        if (access(machined, F_OK) < 0)
                return diag_fail(diag, negative_errno(), NULL,
                                 "cannot register the machine: systemd-machined is not running (%s: %m)", machined);
        return diag_fail(diag, -EOPNOTSUPP, NULL,
                         "cannot register the machine: registration with systemd-machined is not implemented yet "
                         "(--register=auto or no runs unregistered)");
}

int spawn_run(SpawnConfig *c, const PreparedRoot *root, Diag *diag) {
        int r;

        r = check_register(c, diag);
        if (r < 0)
                return r;
        r = validate(c, diag);
        if (r < 0)
                return r;

        ConsoleMode mode = c->console;
        bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        if (mode == _CONSOLE_MODE_AUTO)
                mode = tty ? CONSOLE_INTERACTIVE : c->boot ? CONSOLE_READ_ONLY /* init wants a /dev/console */ : CONSOLE_PIPE;
        else if (mode == CONSOLE_AUTOPIPE) /* as nspawn: pipe even for a booted init */
                mode = tty ? CONSOLE_INTERACTIVE : CONSOLE_PIPE;

        r = make_overlay_work_dirs(c);
        if (r < 0) {
                (void) diag_fail(diag, r, NULL, "overlay work directory");
                remove_overlay_work_dirs(c, root);
                return r;
        }

        Console con;
        r = console_open(&con, mode);
        if (r < 0) {
                (void) diag_fail(diag, r, NULL, "allocate a pty");
                remove_overlay_work_dirs(c, root);
                return r;
        }

        int error_pipe[2] = { -EBADF, -EBADF }, alive_pipe[2] = { -EBADF, -EBADF };
        _cleanup_close_ int sfd = -EBADF;
        sigset_t mask, saved;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, &saved);
        Run run = { .pid = -1 };
        int status = 0;
        SpawnBoot boot = SPAWN_BOOT_NULL;
        SpawnUserns userns = SPAWN_USERNS_NULL;
        SpawnSeccomp seccomp = SPAWN_SECCOMP_NULL;
        SpawnCgroup cgroup = SPAWN_CGROUP_NULL;
        BindOwnerMaps owner_maps = {};
        int saved_pid_ns = -EBADF, handoff[2] = { -EBADF, -EBADF }, stub_fd = -EBADF;
        /* A SIGINT/SIGTERM/SIGHUP that came before the signals were blocked here found no
         * container to forward to (main's handler only noted it): it ends the run before anything
         * starts, with the status it would have given a moment later. */
        if (interrupted()) {
                r = 128 + interrupted_signal();
                goto finish;
        }
        if (pipe2(error_pipe, O_CLOEXEC) < 0 || pipe2(alive_pipe, O_CLOEXEC) < 0) {
                r = negative_errno();
                (void) diag_fail(diag, r, NULL, "pipe");
                goto finish;
        }
        if (c->private_users && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, handoff) < 0) {
                r = negative_errno();
                (void) diag_fail(diag, r, NULL, "socketpair");
                goto finish;
        }
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                r = negative_errno();
                (void) diag_fail(diag, r, NULL, "signalfd");
                goto finish;
        }

        /* The system-call filter, compiled here (or found compiled), installed by the container. */
        if (!c->no_seccomp && (r = spawn_seccomp_prepare(c, &seccomp, diag)) < 0)
                goto finish;
        if (c->as_pid2 && (r = spawn_stub_memfd(&stub_fd)) < 0) {
                (void) diag_fail(diag, r, NULL, "make the stub init");
                goto finish;
        }

        /* As nspawn 252: our own $TERM in every console mode, none when we have none. */
        const char *term = getenv("TERM");
        ChildArgs args = {
                .config = c,
                .root = root,
                .error_fd = error_pipe[1],
                .alive_fd = alive_pipe[0],
                .alive_w = alive_pipe[1],
                .console_fd = con.slave,
                .console_path = con.slave >= 0 ? con.slave_path : NULL,
                .saved_mask = &saved,
                .term = term,
                .boot = &boot,
                .cgroup = &cgroup,
                .userns = &userns,
                .handoff_fd = handoff[0],
                .init_fd = handoff[1],
                .seccomp = c->no_seccomp ? NULL : &seccomp,
                .stub_fd = stub_fd,
                .owner_maps = &owner_maps,
        };
        args.close_fds[0] = sfd;
        args.close_fds[1] = error_pipe[0];
        args.close_fds[2] = con.master;
        args.close_fds[3] = handoff[1];
        if (c->private_users && (r = spawn_userns_prepare(c, root->fd, root->machine, &userns, diag)) < 0)
                goto finish;
        if (c->private_users && (r = make_owner_maps(c, root, &owner_maps, diag)) < 0)
                goto finish;
        if ((r = chown_overlay_temp_tops(c)) < 0) {
                (void) diag_fail(diag, r, NULL, "hand the throw-away overlay layer to the container's root");
                goto finish;
        }
        /* Every container gets a cgroup with the device policy; a booted init is delegated it. */
        if (c->boot && c->private_users)
                cgroup.owner = c->uid_shift;
        if ((r = spawn_cgroup_make(&cgroup, c, root->machine, diag)) < 0)
                goto finish;
        if (c->boot) {
                boot.notify_ready = c->notify_ready;
                r = spawn_boot_prepare(&boot, c, root->machine, diag);
                if (r < 0)
                        goto finish;
        }
        /* --private-users: init is made with the namespaces (a copy of our memory as it is now:
         * config and boot set up) and waits; it keeps the other end of the socket. */
        ChildArgs init_args = args;
        init_args.close_fds[3] = handoff[0];
        SpawnUsernsInit init = { .fn = init_main, .arg = &init_args, .cgroup_fd = cgroup.fd, .ret_in_cgroup = &init_args.in_cgroup };
        if ((r = spawn_userns_make(c, &init, &userns, diag)) < 0)
                goto finish;
        if (userns.init_pid > 0 && (r = spawn_cgroup_place(&cgroup, userns.init_pid)) < 0) {
                (void) diag_fail(diag, r, NULL, "move init into the container's cgroup");
                goto finish;
        }
        if ((r = spawn_cgroup_delegate(&cgroup)) < 0) {
                (void) diag_fail(diag, r, NULL, "delegate the container's cgroup");
                goto finish;
        }

        /* With --private-users the PID, UTS, IPC and network namespaces are the user namespace's
         * (made with it): the setup process is cloned into its PID namespace and joins the others. */
        int flags = spawn_userns_clone_flags(&userns, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                                                              CLONE_NEWCGROUP | (c->private_network ? CLONE_NEWNET : 0));
        if ((r = spawn_userns_clone_begin(&userns, &saved_pid_ns)) < 0) {
                (void) diag_fail(diag, r, NULL, "enter the container's PID namespace");
                goto finish;
        }
        fflush(NULL);
        /* A child that does not exec at once makes a copy of our memory, as fork() does: the
         * -a child forks the payload, a booting child allocates (init's argv, the cgroup) before
         * exec, the setup process of a user namespace does not exec. Else the child borrows our
         * memory until it execs. Either is made in the container's cgroup where the kernel can. */
        bool share_memory = !(c->as_pid2 || c->boot || userns.init_pid > 0);
        run.pid = spawn_clone(flags, cgroup.fd, share_memory, child_main, &args, &args.in_cgroup);
        if (run.pid < 0)
                r = r < 0 ? r : negative_errno();
        /* Our own PID namespace for our later children again. */
        int rr = spawn_userns_clone_end(saved_pid_ns);
        saved_pid_ns = -EBADF;
        if (run.pid < 0) {
                (void) diag_fail(diag, r, NULL, "create namespaces");
                goto finish;
        }
        if (rr < 0) {
                r = rr;
                (void) diag_fail(diag, r, NULL, "return to our PID namespace");
                goto finish;
        }
        handoff[0] = safe_close(handoff[0]);
        handoff[1] = safe_close(handoff[1]);
        error_pipe[1] = safe_close(error_pipe[1]);
        alive_pipe[0] = safe_close(alive_pipe[0]);

        /* With a user namespace what runs the payload is init; the setup process ends once it
         * handed over (or failed, and said why on the error pipe). Reaped right away, so that
         * its PID (2) is free again. */
        int setup_status = 0;
        if (userns.init_pid > 0) {
                (void) waitpid(run.pid, &setup_status, 0);
                run.pid = userns.init_pid;
                userns.init_pid = -1;
        }

        /* The child reports a failed setup, or the pipe closes on its exec. */
        if ((r = spawn_child_read_error(error_pipe[0], diag)) < 0)
                goto finish;
        if (!WIFEXITED(setup_status) || WEXITSTATUS(setup_status) != 0) {
                r = -EIO;
                (void) diag_fail(diag, r, NULL, "the container's setup process died");
                goto finish;
        }

        if (c->boot)
                spawn_boot_started(&boot);
        r = console_start(&con);
        if (r < 0) {
                (void) diag_fail(diag, r, NULL, "set up the terminal");
                (void) kill(run.pid, SIGKILL);
                (void) waitpid(run.pid, NULL, 0);
                run.pid = -1;
                goto finish;
        }

        for (;;) {
                struct pollfd p[5];
                size_t np = console_poll_fill(&con, p);
                p[np] = (struct pollfd) { .fd = sfd, .events = POLLIN };
                p[np + 1] = (struct pollfd) { .fd = boot.notify_fd, .events = POLLIN };
                /* A booting init hangs up its console (vhangup) and opens it again: the pty
                 * reads EIO meanwhile, so look again shortly rather than giving up on it. */
                int timeout = -1;
                if (c->boot && con.master_hup) {
                        con.master_hup = false;
                        timeout = 100;
                }
                if (poll(p, np + 2, timeout) < 0 && errno != EINTR) {
                        r = negative_errno();
                        (void) diag_fail(diag, r, NULL, "poll");
                        (void) kill(run.pid, SIGKILL);
                        break;
                }
                if (p[np + 1].revents & POLLIN)
                        spawn_boot_notify_handle(&boot);
                if (console_poll_handle(&con, p, np) > 0)
                        (void) kill(run.pid, SIGKILL); /* Ctrl-] ×3: the container is killed */

                bool exited = false;
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                        switch (si.ssi_signo) {
                        case SIGCHLD: {
                                siginfo_t info = {};
                                if (waitid(P_PID, (id_t) run.pid, &info, WEXITED | WNOHANG) >= 0 && info.si_pid == run.pid) {
                                        exited = true;
                                        status = c->boot && !run.terminated_by ? spawn_boot_status(info.si_code, info.si_status)
                                                 : info.si_code == CLD_EXITED ? info.si_status
                                                 : run.terminated_by && info.si_status == SIGKILL ? 128 + run.terminated_by
                                                                                                   : 128 + info.si_status;
                                }
                                break;
                        }
                        case SIGWINCH:
                                console_winch(&con);
                                break;
                        default:
                                forward_signal(&run, c, (int) si.ssi_signo);
                        }
                }
                if (exited) {
                        run.pid = -1;
                        console_drain(&con);
                        r = status;
                        break;
                }
        }

finish:
        if (run.pid > 0) {
                (void) kill(run.pid, SIGKILL);
                (void) waitpid(run.pid, NULL, 0);
        }
        safe_close(handoff[0]);
        safe_close(handoff[1]);
        console_close(&con);
        safe_close(error_pipe[0]);
        safe_close(error_pipe[1]);
        safe_close(alive_pipe[0]);
        safe_close(alive_pipe[1]);
        sfd = safe_close(sfd);
        safe_close(stub_fd);
        spawn_seccomp_done(&seccomp);
        owner_maps_done(&owner_maps);
        /* Signals that arrived for the container are not replayed to cowpen itself. */
        struct timespec zero = {};
        while (sigtimedwait(&mask, NULL, &zero) > 0)
                ;
        sigprocmask(SIG_SETMASK, &saved, NULL);
        remove_overlay_work_dirs(c, root);
        spawn_boot_done(&boot);
        spawn_cgroup_done(&cgroup);
        (void) spawn_userns_clone_end(saved_pid_ns);
        spawn_userns_done(&userns);
        if (r < 0)
                (void) diag_fail(diag, r, NULL, "start the container"); /* unless a cause was recorded */
        return r;
}
