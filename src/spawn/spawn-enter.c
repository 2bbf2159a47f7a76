/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fd-util.h"
#include "machine.h"
#include "spawn-console.h"
#include "spawn-seccomp.h"
#include "spawn-user.h"
#include "proc-util.h"
#include "util.h"

/* A new session inside a running container (`shell`, `login`), the way nsenter would make one
 * and with no more privileges than the container's PID 1: its namespaces entered through a pidfd
 * of the recorded leader (checked against its start time), its cgroup joined, its root made ours,
 * the user looked up in its own /etc/passwd and /etc/group, its capability bounding set (read from
 * the leader) and cowpen's system-call filter applied, then the command, the user's login shell,
 * or (login) a getty on a pty allocated inside the container.
 *
 * Three processes: we (the host side: console, signals, status), the entering process (joins
 * the cgroup and namespaces, forks so that the session is in the PID namespace, reaps it and
 * exits with its status) and the session itself, which execs.
 *
 * Untrusted input: the leader's /proc files (its status: CapBnd only, bounded), and the
 * container's /etc/passwd and /etc/group, read inside its root with a size limit and parsed by
 * spawn-user.c. The container's processes cannot reach the entering process: it is outside their
 * PID namespace. */

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

typedef struct EnterError {
        int error;
        char message[500];
} EnterError;

typedef struct Enter {
        const struct MachineRecord *m;
        const SpawnEnterOptions *o;
        int pidfd;
        int root_fd;            /* the leader's root, opened through /proc before entering */
        int cgroup_fd;          /* the cgroup to join (-EBADF: none found) */
        int cgroup_fallback_fd; /* the leader's own, where the container's refuses processes */
        int ns_flags;
        uint64_t bounding;
        SpawnSeccomp seccomp;
        bool use_seccomp;
        Console con;
        int error_pipe[2];
        int pty_socket[2]; /* login: the master of the pty made inside comes back on it */
        sigset_t mask, saved;
        pid_t pid; /* the entering process */
} Enter;

_noreturn_ static void enter_fail(Enter *e, int r, const char *format, ...) _printf_(3, 4);
_noreturn_ static void enter_fail(Enter *e, int r, const char *format, ...) {
        EnterError ee = {.error = r < 0 ? r : -EIO};
        va_list ap;
        va_start(ap, format);
        errno = r < 0 ? -r : EIO;
        vsnprintf(ee.message, sizeof(ee.message), format, ap);
        va_end(ap);
        (void) loop_write(e->error_pipe[1], &ee, sizeof(ee));
        _exit(EXIT_FAILURE);
}

/* Whether our namespace of this type is the leader's. */
static int ns_differs(pid_t leader, const char *name) {
        char path[64];
        struct stat a, b;
        snprintf(path, sizeof(path), "/proc/%i/ns/%s", (int) leader, name);
        if (stat(path, &b) < 0)
                return negative_errno();
        snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
        if (stat(path, &a) < 0)
                return negative_errno();
        return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

static int cgroup2_mount(const char **ret) {
        struct statfs sfs;
        if (statfs("/sys/fs/cgroup", &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
                *ret = "/sys/fs/cgroup";
                return 0;
        }
        if (statfs("/sys/fs/cgroup/unified", &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
                *ret = "/sys/fs/cgroup/unified";
                return 0;
        }
        return -ENOMEDIUM;
}

static int open_cgroup(const char *mnt, const char *path) {
        if (!path || path[0] != '/' || strstr(path, "/../") || endswith(path, "/.."))
                return -EINVAL;
        _cleanup_close_ int root = open(mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return negative_errno();
        return openat2_resolve(
                root, path[1] ? path + 1 : ".", O_PATH | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
}

/* What is checked and opened on the host, before the entering process is made. */
static int enter_prepare(Enter *e, Diag *diag) {
        const MachineRecord *m = e->m;
        int r;
        e->pidfd = machine_leader_pidfd(m, diag);
        if (e->pidfd < 0)
                return e->pidfd;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%i/root", (int) m->leader);
        e->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (e->root_fd < 0)
                return diag_fail(diag, negative_errno(), NULL, "open the container's root: %m");

        static const struct {
                const char *name;
                int flag;
        } ns[] = {
                {"user", CLONE_NEWUSER},
                {"mnt", CLONE_NEWNS},
                {"pid", CLONE_NEWPID},
                {"uts", CLONE_NEWUTS},
                {"ipc", CLONE_NEWIPC},
                {"net", CLONE_NEWNET},
                {"cgroup", CLONE_NEWCGROUP},
        };
        for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
                r = ns_differs(m->leader, ns[i].name);
                if (r == -ENOENT && ns[i].flag == CLONE_NEWCGROUP)
                        continue; /* a kernel without cgroup namespaces */
                if (r < 0)
                        return diag_fail(diag, r, NULL, "namespace %s of the container's leader: %m", ns[i].name);
                if (r > 0)
                        e->ns_flags |= ns[i].flag;
        }
        if ((r = pid_status_mask(m->leader, "CapBnd", &e->bounding)) < 0)
                return diag_fail(diag, r, NULL, "capabilities of the container's leader: %m");

        const char *mnt;
        if (!e->o->host && cgroup2_mount(&mnt) >= 0) {
                _cleanup_free_ char *own = NULL;
                if (m->cgroup)
                        e->cgroup_fd = open_cgroup(mnt, m->cgroup);
                if (pid_cgroup2_path(m->leader, &own) >= 0)
                        e->cgroup_fallback_fd = open_cgroup(mnt, own);
        }

        /* Everything above was read through /proc/PID: it was the leader's only if the PID still
         * is the process the pidfd names. */
        if (syscall(SYS_pidfd_send_signal, e->pidfd, 0, NULL, 0) < 0)
                return diag_fail(diag, -ESRCH, NULL, "the machine's leader (PID %i) is gone", (int) m->leader);

        if (e->o->no_seccomp || e->o->host)
                return 0;
        /* The container's filter: nspawn's policy for the capabilities its PID 1 has. */
        SpawnConfig c;
        spawn_config_init(&c);
        uint64_t def = spawn_default_capabilities(false);
        c.caps_plus = e->bounding & ~def;
        c.caps_minus = def & ~e->bounding;
        r = spawn_seccomp_prepare(&c, &e->seccomp, diag);
        spawn_config_done(&c);
        if (r < 0)
                return r;
        e->use_seccomp = true;
        return 0;
}

static int set_caps(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2] = {
                {(uint32_t) effective, (uint32_t) permitted, (uint32_t) inheritable},
                {(uint32_t) (effective >> 32), (uint32_t) (permitted >> 32), (uint32_t) (inheritable >> 32)},
        };
        return RET_NERRNO(syscall(SYS_capset, &h, d));
}

static int drop_bounding_set(uint64_t keep) {
        for (int cap = 0; cap < 64; cap++) {
                if (keep & (UINT64_C(1) << cap))
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long) cap, 0, 0, 0) < 0) {
                        if (errno == EINVAL)
                                break; /* past the kernel's last capability */
                        return negative_errno();
                }
        }
        return RET_NERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
}

static char **build_env(const Enter *e, const SpawnUser *u) {
        _cleanup_strv_free_ char **env = NULL;
        const char *term = getenv("TERM");
        char *base[] = {
                strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
                strjoin("HOME=", u->home),
                strjoin("USER=", u->name),
                strjoin("LOGNAME=", u->name),
                strjoin("SHELL=", u->shell),
                term ? strjoin("TERM=", term) : strdup("TERM=vt220"),
        };
        bool oom = false;
        for (size_t i = 0; i < ELEMENTSOF(base); i++)
                if (!base[i] || oom || strv_push(&env, base[i]) < 0) {
                        free(base[i]);
                        oom = true;
                }
        if (oom)
                return NULL;
        /* --setenv: KEY=VALUE replaces, KEY alone imports ours. */
        for (char **s = e->o->setenv; s && *s; s++) {
                const char *eq = strchr(*s, '=');
                size_t kl = eq ? (size_t) (eq - *s) : strlen(*s);
                const char *v = eq ? NULL : getenv(*s);
                if (!eq && !v)
                        continue;
                char *entry = eq ? strdup(*s) : strjoin(*s, "=", v);
                if (!entry)
                        return NULL;
                bool replaced = false;
                for (char **x = env; *x; x++)
                        if (strneq(*x, entry, kl + 1)) {
                                free(*x);
                                *x = entry;
                                replaced = true;
                                break;
                        }
                if (!replaced && strv_push(&env, entry) < 0) {
                        free(entry);
                        return NULL;
                }
        }
        return TAKE_PTR(env);
}

/* login's terminal program, as container-getty@.service runs it on the pty (our stdin). */
static char **find_getty(void) {
        static char agetty_sbin[] = "/sbin/agetty", agetty_usr[] = "/usr/sbin/agetty", getty_sbin[] = "/sbin/getty",
                    login_bin[] = "/bin/login", login_usr[] = "/usr/bin/login", opt_o[] = "-o",
                    opt_login[] = "-p -- \\u", noclear[] = "--noclear", keep_baud[] = "--keep-baud", dash[] = "-",
                    bauds[] = "115200,38400,9600";
        static char *agetty_argv[] = {NULL, opt_o, opt_login, noclear, keep_baud, dash, bauds, NULL, NULL};
        static char *login_argv[] = {NULL, NULL};
        char *gettys[] = {agetty_sbin, agetty_usr, getty_sbin};
        for (size_t i = 0; i < ELEMENTSOF(gettys); i++)
                if (access(gettys[i], X_OK) >= 0) {
                        agetty_argv[0] = gettys[i];
                        agetty_argv[7] = getenv("TERM") ?: (char *) "vt220";
                        return agetty_argv;
                }
        login_argv[0] = access(login_bin, X_OK) >= 0 ? login_bin : login_usr;
        return login_argv;
}

/* The session, inside everything: identity, privileges, exec. */
_noreturn_ static void enter_session(Enter *e, int tty_fd, const char *tty_path) {
        const SpawnEnterOptions *o = e->o;
        int r;
        if (setsid() < 0)
                enter_fail(e, negative_errno(), "setsid: %m");
        if (tty_path) {
                /* login: the pty made inside, opened as our controlling terminal. */
                tty_fd = open(tty_path, O_RDWR | O_CLOEXEC);
                if (tty_fd < 0)
                        enter_fail(e, negative_errno(), "open %s in the container: %m", tty_path);
        }
        if (tty_fd >= 0) {
                if (ioctl(tty_fd, TIOCSCTTY, 0) < 0)
                        enter_fail(e, negative_errno(), "set controlling terminal: %m");
                for (int fd = 0; fd < 3; fd++)
                        if (dup2(tty_fd, fd) < 0)
                                enter_fail(e, negative_errno(), "dup terminal: %m");
        }

        _cleanup_free_ char *passwd = NULL, *group = NULL;
        r = read_file_at(AT_FDCWD, "/etc/passwd", RESOLVE_ROOT, PASSWD_FILE_SIZE_MAX, &passwd, NULL);
        if (r < 0 && r != -ENOENT)
                enter_fail(e, r, "read /etc/passwd of the container: %m");
        r = read_file_at(AT_FDCWD, "/etc/group", RESOLVE_ROOT, PASSWD_FILE_SIZE_MAX, &group, NULL);
        if (r < 0 && r != -ENOENT)
                enter_fail(e, r, "read /etc/group of the container: %m");
        SpawnUser u = {};
        const char *user = o->user ?: "root";
        r = spawn_user_lookup(user, passwd, group, &u);
        if (r == -ESRCH && !o->user)
                r = spawn_user_lookup("0", passwd, group, &u);
        if (r < 0)
                enter_fail(e, r, r == -ESRCH ? "user %s: no such user in the container" : "user %s: %m", user);

        /* No more than the container's PID 1 may: its bounding set, then the user (keeping the
         * capabilities to install the filter), the filter, and for anyone but root no
         * capability at all. */
        if ((r = drop_bounding_set(e->bounding)) < 0)
                enter_fail(e, r, "drop capabilities: %m");
        bool root = u.uid == 0;
        if (!root && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                enter_fail(e, negative_errno(), "keep capabilities: %m");
        if (setgroups(u.n_groups, u.groups) < 0 || setresgid(u.gid, u.gid, u.gid) < 0 ||
                setresuid(u.uid, u.uid, u.uid) < 0)
                enter_fail(e, negative_errno(), "change to user %s: %m", u.name);
        if (!root && (r = set_caps(UINT64_C(1) << CAP_SYS_ADMIN, UINT64_C(1) << CAP_SYS_ADMIN, 0)) < 0 &&
                prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                enter_fail(e, r, "capabilities: %m");
        if (e->use_seccomp && (r = spawn_seccomp_install(&e->seccomp)) < 0)
                enter_fail(e, r, "install the system call filter: %m");
        if (!root && (r = set_caps(0, 0, 0)) < 0)
                enter_fail(e, r, "drop capabilities: %m");
        /* Changing credentials cleared it: the session ends with the entering process. */
        (void) prctl(PR_SET_PDEATHSIG, SIGHUP, 0, 0, 0);

        if (chdir(u.home) < 0 && chdir("/") < 0)
                enter_fail(e, negative_errno(), "change directory to /: %m");
        char **env = build_env(e, &u);
        if (!env)
                enter_fail(e, -ENOMEM, "environment: %m");

        _cleanup_free_ char *login = NULL;
        char *shell_argv[2] = {};
        char **argv = o->command;
        if (o->login && (!argv || !argv[0]))
                argv = find_getty();
        if (!argv || !argv[0]) {
                const char *b = strrchr(u.shell, '/');
                login = strjoin("-", b ? b + 1 : u.shell);
                if (!login)
                        enter_fail(e, -ENOMEM, "shell: %m");
                shell_argv[0] = login;
                argv = shell_argv;
        }
        const char *file = argv == shell_argv ? u.shell : argv[0];
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0 && errno != ENOSYS && errno != EINVAL)
                enter_fail(e, negative_errno(), "close inherited file descriptors: %m");
        for (int sig = 1; sig < _NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        sigprocmask(SIG_SETMASK, &e->saved, NULL);
        environ = env;
        if (strchr(file, '/'))
                execv(file, argv);
        else
                execvp(file, argv);
        enter_fail(e, negative_errno(), "execute %s: %m", file);
}

/* login: a pty of the container's own devpts, its master sent back to us. */
static int make_inside_pty(Enter *e, char *ret_path, size_t size) {
        _cleanup_close_ int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (master < 0 && errno == ENOENT)
                master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (master < 0)
                return negative_errno();
        if (unlockpt(master) < 0 || ptsname_r(master, ret_path, size) != 0)
                return negative_errno();
        char cbuf[CMSG_SPACE(sizeof(int))] = {};
        char dummy = 'p';
        struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &master, sizeof(int));
        if (sendmsg(e->pty_socket[1], &mh, MSG_NOSIGNAL) < 0)
                return negative_errno();
        return 0;
}

static int join_cgroup(int fd) {
        _cleanup_close_ int procs = fd >= 0 ? openat(fd, "cgroup.procs", O_WRONLY | O_CLOEXEC) : -EBADF;
        if (fd < 0)
                return -EBADF;
        if (procs < 0)
                return negative_errno();
        return write(procs, "0", 1) == 1 ? 0 : negative_errno();
}

/* The entering process: cgroup, namespaces, root; the session forked (in the PID namespace);
 * signals passed on to it; its end as our exit status. */
_noreturn_ static void enter_child(Enter *e) {
        int r;
        e->error_pipe[0] = safe_close(e->error_pipe[0]);
        e->pty_socket[0] = safe_close(e->pty_socket[0]);
        e->con.master = safe_close(e->con.master);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                enter_fail(e, negative_errno(), "set death signal: %m");

        /* The container's cgroup (its device policy with it); one that has children with
         * controllers (a booted systemd's) takes no process: then the leader's own. */
        r = join_cgroup(e->cgroup_fd);
        if (r < 0)
                r = join_cgroup(e->cgroup_fallback_fd);
        if (r < 0 && r != -EBADF)
                enter_fail(e, r, "join the container's cgroup: %m");

        if (e->ns_flags && setns(e->pidfd, e->ns_flags) < 0)
                enter_fail(e, negative_errno(), "enter the container's namespaces: %m");
        if (fchdir(e->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
                enter_fail(e, negative_errno(), "change to the container's root: %m");

        char tty_path[64] = {};
        if (e->o->login && (r = make_inside_pty(e, tty_path, sizeof(tty_path))) < 0)
                enter_fail(e, r, "allocate a pty in the container: %m");

        pid_t pid = fork();
        if (pid < 0)
                enter_fail(e, negative_errno(), "fork into the container's PID namespace: %m");
        if (pid == 0)
                enter_session(e, e->con.slave, e->o->login ? tty_path : NULL);

        e->con.slave = safe_close(e->con.slave);
        e->error_pipe[1] = safe_close(e->error_pipe[1]);
        e->pty_socket[1] = safe_close(e->pty_socket[1]);
        safe_close(e->pidfd);
        safe_close(e->root_fd);
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&e->mask, &si);
                if (sig < 0)
                        continue;
                if (sig != SIGCHLD) {
                        if (sig != SIGWINCH)
                                (void) kill(pid, sig);
                        continue;
                }
                siginfo_t info = {};
                if (waitid(P_PID, (id_t) pid, &info, WEXITED | WNOHANG) < 0 || info.si_pid != pid)
                        continue;
                _exit(info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status);
        }
}

static int receive_fd(int sock) {
        char cbuf[CMSG_SPACE(sizeof(int))] = {};
        char dummy;
        struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0)
                return negative_errno();
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        if (n != 1 || !cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
                cm->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EBADMSG;
        int fd;
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        return fd;
}

/* Until the session ends: the console and signals. */
static int enter_forward(Enter *e, int sfd, Diag *diag) {
        for (;;) {
                struct pollfd p[4];
                size_t np = console_poll_fill(&e->con, p);
                p[np] = (struct pollfd){.fd = sfd, .events = POLLIN};
                if (poll(p, np + 1, -1) < 0 && errno != EINTR)
                        return diag_fail(diag, negative_errno(), NULL, "poll: %m");
                if (console_poll_handle(&e->con, p, np) > 0)
                        (void) kill(e->pid, SIGKILL); /* Ctrl-] ×3 */
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                        if (si.ssi_signo == SIGWINCH) {
                                console_winch(&e->con);
                                continue;
                        }
                        if (si.ssi_signo != SIGCHLD) {
                                (void) kill(e->pid, (int) si.ssi_signo);
                                continue;
                        }
                        siginfo_t info = {};
                        if (waitid(P_PID, (id_t) e->pid, &info, WEXITED | WNOHANG) < 0 || info.si_pid != e->pid)
                                continue;
                        e->pid = -1;
                        console_drain(&e->con);
                        return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
                }
        }
}

static ConsoleMode enter_console_mode(const SpawnEnterOptions *o) {
        bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        if (o->login)
                return CONSOLE_INTERACTIVE; /* the pty comes from inside */
        if (o->console == _CONSOLE_MODE_AUTO || o->console == CONSOLE_AUTOPIPE)
                return tty ? CONSOLE_INTERACTIVE : CONSOLE_PIPE;
        return o->console;
}

int spawn_enter(const struct MachineRecord *m, const SpawnEnterOptions *o, Diag *diag) {
        Enter e = {
                .m = m,
                .o = o,
                .pidfd = -EBADF,
                .root_fd = -EBADF,
                .cgroup_fd = -EBADF,
                .cgroup_fallback_fd = -EBADF,
                .seccomp = SPAWN_SECCOMP_NULL,
                .error_pipe = {-EBADF, -EBADF},
                .pty_socket = {-EBADF, -EBADF},
                .pid = -1,
                .con = {.master = -EBADF, .slave = -EBADF},
        };
        int r, sfd = -EBADF;
        ConsoleMode mode = enter_console_mode(o);

        if ((r = enter_prepare(&e, diag)) < 0)
                goto finish;
        if (pipe2(e.error_pipe, O_CLOEXEC) < 0 ||
                (o->login && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, e.pty_socket) < 0)) {
                r = diag_fail(diag, negative_errno(), NULL, "pipe: %m");
                goto finish;
        }
        if ((r = console_open(&e.con, o->login ? CONSOLE_PIPE : mode)) < 0) {
                r = diag_fail(diag, r, NULL, "allocate a pty: %m");
                goto finish;
        }
        e.con.mode = mode;
        sigemptyset(&e.mask);
        sigaddset(&e.mask, SIGCHLD);
        sigaddset(&e.mask, SIGINT);
        sigaddset(&e.mask, SIGTERM);
        sigaddset(&e.mask, SIGHUP);
        sigaddset(&e.mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &e.mask, &e.saved);
        sfd = signalfd(-1, &e.mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                r = diag_fail(diag, negative_errno(), NULL, "signalfd: %m");
                goto finish;
        }
        fflush(NULL);
        e.pid = fork();
        if (e.pid < 0) {
                r = diag_fail(diag, negative_errno(), NULL, "fork: %m");
                goto finish;
        }
        if (e.pid == 0) {
                safe_close(sfd);
                enter_child(&e);
        }
        e.error_pipe[1] = safe_close(e.error_pipe[1]);
        e.pty_socket[1] = safe_close(e.pty_socket[1]);

        /* The pipe closes at the session's exec, or brings the reason it never came. */
        EnterError ee = {};
        if (loop_read(e.error_pipe[0], &ee, sizeof(ee)) > 0) {
                ee.message[sizeof(ee.message) - 1] = 0;
                r = diag_fail(diag, ee.error < 0 ? ee.error : -EIO, NULL, "%s", ee.message);
                goto finish;
        }
        if (o->login) {
                int fd = receive_fd(e.pty_socket[0]);
                if (fd < 0) {
                        r = diag_fail(diag, fd, NULL, "receive the container's pty: %m");
                        goto finish;
                }
                e.con.master = fd;
                console_winch(&e.con);
        }
        if ((r = console_start(&e.con)) < 0) {
                r = diag_fail(diag, r, NULL, "set up the terminal: %m");
                goto finish;
        }
        r = enter_forward(&e, sfd, diag);

finish:
        if (e.pid > 0) {
                (void) kill(e.pid, SIGKILL);
                (void) waitpid(e.pid, NULL, 0);
        }
        console_close(&e.con);
        safe_close(sfd);
        safe_close(e.error_pipe[0]);
        safe_close(e.error_pipe[1]);
        safe_close(e.pty_socket[0]);
        safe_close(e.pty_socket[1]);
        safe_close(e.pidfd);
        safe_close(e.root_fd);
        safe_close(e.cgroup_fd);
        safe_close(e.cgroup_fallback_fd);
        spawn_seccomp_done(&e.seccomp);
        struct timespec zero = {};
        while (sigtimedwait(&e.mask, NULL, &zero) > 0)
                ;
        sigprocmask(SIG_SETMASK, &e.saved, NULL);
        return r;
}
