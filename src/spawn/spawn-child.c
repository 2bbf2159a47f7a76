/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/securebits.h>
#include <grp.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fd-util.h"
#include "mount-util.h"
#include "spawn-arch.h"
#include "spawn-bind-user.h"
#include "spawn-boot.h"
#include "spawn-cgroup.h"
#include "spawn-child.h"
#include "spawn-clone.h"
#include "spawn-credentials.h"
#include "spawn-files.h"
#include "spawn-journal.h"
#include "spawn-mount.h"
#include "spawn-seccomp.h"
#include "spawn-stub.h"
#include "spawn-user.h"
#include "spawn-userns.h"
#include "util.h"
#include "uuid-util.h"

/* The container's first process (PID 1 of its PID namespace), from clone() to the payload's
 * execve(): death signal, session and console, mounts, host name, loopback, pivot_root,
 * identity, capabilities, limits; or, with -a, the stub init that stays PID 1.
 *
 * Untrusted input: the container's tree, through spawn-mount.c and spawn-files.c, and its
 * /etc/passwd and /etc/group, read after pivot_root (so every path is the container's own) with
 * a size limit and parsed by spawn-user.c. Failures go to the parent over the error pipe; the
 * child never prints. */

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM };

/* Why the container could not be started, as the parent reads it from the error pipe: one write
 * below PIPE_BUF, so that it arrives whole. */
typedef struct ChildError {
        int error;
        char message[500];
} ChildError;

/* Reports the failure recorded in diag to the parent and ends. */
_noreturn_ static void child_fail(ChildArgs *a, Diag *diag) {
        ChildError e = { .error = diag->error < 0 ? diag->error : -EIO };
        snprintf(e.message, sizeof(e.message), "%s", diag_message(diag) ?: "");
        /* With CLONE_VM what diag holds is the parent's memory. */
        diag_done(diag);
        (void) loop_write(a->error_fd, &e, sizeof(e));
        _exit(EXIT_FAILURE);
}

_noreturn_ static void child_fail_errno(ChildArgs *a, int r, const char *what) {
        Diag diag = DIAG_INIT;
        (void) diag_fail(&diag, r, NULL, "%s", what);
        child_fail(a, &diag);
}

int spawn_child_read_error(int fd, Diag *diag) {
        ChildError e = {};
        if (loop_read(fd, &e, sizeof(e)) <= 0)
                return 0;
        e.message[sizeof(e.message) - 1] = 0;
        return diag_fail(diag, e.error < 0 ? e.error : -EIO, NULL, "%s", e.message);
}

static int drop_bounding_set(uint64_t keep) {
        _cleanup_free_ char *s = NULL;
        int last = 40;
        if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 0, 64, &s, NULL) >= 0)
                (void) safe_atoi(strtok(s, "\n") ?: "", &last);
        for (int cap = 0; cap <= last && cap < 64; cap++) {
                if (keep & (UINT64_C(1) << cap))
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long) cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return negative_errno();
        }
        return RET_NERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
}

/* Capability sets by capset(2), 64 bits each. */
static int set_caps(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {
                { (uint32_t) effective, (uint32_t) permitted, (uint32_t) inheritable },
                { (uint32_t) (effective >> 32), (uint32_t) (permitted >> 32), (uint32_t) (inheritable >> 32) },
        };
        return RET_NERRNO(syscall(SYS_capset, &h, d));
}

static int get_permitted(uint64_t *ret) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};
        if (syscall(SYS_capget, &h, d) < 0)
                return negative_errno();
        *ret = (uint64_t) d[0].permitted | ((uint64_t) d[1].permitted << 32);
        return 0;
}

static int raise_ambient(uint64_t caps) {
        for (unsigned cap = 0; cap < 64; cap++)
                if ((caps & (UINT64_C(1) << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                        return negative_errno();
        return 0;
}

/* Marks every fd from first on close-on-exec (close_range, Linux 5.11; else one by one). */
static int cloexec_all_from(int first) {
        if (syscall(SYS_close_range, (unsigned) first, ~0U, CLOSE_RANGE_CLOEXEC) >= 0)
                return 0;
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return negative_errno();
        struct dirent *de;
        while ((de = readdir(d))) {
                int fd;
                if (safe_atoi(de->d_name, &fd) < 0 || fd < first || fd == dirfd(d))
                        continue;
                int fl = fcntl(fd, F_GETFD);
                if (fl >= 0 && !(fl & FD_CLOEXEC))
                        (void) fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
        }
        closedir(d);
        return 0;
}

/* Limits, personality, OOM score and CPUs: set in the container's first process, so that the
 * -a stub and the payload both have them, as with nspawn. */
static int apply_process_settings(const SpawnConfig *c, Diag *diag) {
        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                if (c->rlimits[i] && setrlimit(i, c->rlimits[i]) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "set resource limit %d: %m", i);
        if (c->personality != PERSONALITY_INVALID && personality(c->personality) < 0)
                return diag_fail(diag, negative_errno(), NULL, "set personality: %m");
        if (c->oom_score_adjust_set) {
                char v[16];
                int n = snprintf(v, sizeof(v), "%i", c->oom_score_adjust);
                _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, v, (size_t) n) != n)
                        return diag_fail(diag, negative_errno(), NULL, "set OOM score adjustment: %m");
        }
        if (c->cpu_affinity.set && sched_setaffinity(0, c->cpu_affinity.size, c->cpu_affinity.set) < 0)
                return diag_fail(diag, negative_errno(), NULL, "set CPU affinity: %m");
        return 0;
}

/* The payload's label (-Z), applied by the kernel at exec. */
static int set_exec_label(const char *label) {
        if (!label)
                return 0;
        _cleanup_close_ int fd = open("/proc/thread-self/attr/exec", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        size_t n = strlen(label);
        return write(fd, label, n) == (ssize_t) n ? 0 : negative_errno();
}

/* The payload's identity and privileges, in an order that keeps what we need to the end:
 * uid/gid with the capabilities kept, the ambient set, no_new_privs and the label, then the
 * system-call filter (installing it needs CAP_SYS_ADMIN), then, for a user other than root, every
 * capability but the ambient ones gone. Exec then gives root the bounding set, and anyone else
 * the ambient set. */
static int become_payload(ChildArgs *a, const SpawnUser *u, Diag *diag) {
        const SpawnConfig *c = a->config;
        bool root = u->uid == 0;
        uint64_t perm;
        if (!root && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return diag_fail(diag, negative_errno(), NULL, "keep capabilities: %m");
        if (setgroups(u->n_groups, u->groups) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
            setresuid(u->uid, u->uid, u->uid) < 0)
                return diag_fail(diag, negative_errno(), NULL, "change to user %s: %m", u->name);
        /* A change of the effective or file-system IDs clears the death signal (prctl(2)): with
         * --private-users the kernel's IDs change here (host root to the range's), and a
         * container whose cowpen was SIGKILLed would outlive it. Set again. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                return diag_fail(diag, negative_errno(), NULL, "set death signal: %m");
        int r = get_permitted(&perm);
        if (r >= 0)
                r = set_caps(perm, perm, c->ambient_caps);
        if (r >= 0)
                r = raise_ambient(c->ambient_caps);
        if (r < 0)
                return diag_fail(diag, r, NULL, "set ambient capabilities: %m");
        if (c->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return diag_fail(diag, negative_errno(), NULL, "set no_new_privs: %m");
        if ((r = set_exec_label(c->selinux_context)) < 0)
                return diag_fail(diag, r, NULL, "set SELinux label %s: %m", c->selinux_context);
        if (a->seccomp && (r = spawn_seccomp_install(a->seccomp)) < 0)
                return diag_fail(diag, r, NULL, "install the system call filter: %m");
        if (!root && (r = set_caps(c->ambient_caps, c->ambient_caps, c->ambient_caps)) < 0)
                return diag_fail(diag, r, NULL, "drop capabilities: %m");
        return 0;
}

/* -a: PID 1 becomes the stub: root with no capability but CAP_KILL (to forward signals to a
 * payload of any uid), as an ambient one under SECBIT_NOROOT, so that exec does not hand it the
 * bounding set; the payload's system-call filter; every fd but stdio closed; then the stub
 * program. On failure the payload is killed first (it waits for us) and the cause reported. */
_noreturn_ static void become_stub(ChildArgs *a, pid_t payload, const uint8_t id[16]) {
        const SpawnConfig *c = a->config;
        Diag diag = DIAG_INIT;
        int r = 0;
        uint64_t perm, kill_cap = spawn_config_capabilities(c) & (UINT64_C(1) << CAP_KILL);
        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 ||
            prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) /* cleared by an ID change (become_payload()) */
                r = negative_errno();
        if (r >= 0)
                r = get_permitted(&perm);
        if (r >= 0)
                r = set_caps(perm, perm, kill_cap);
        if (r >= 0)
                r = raise_ambient(kill_cap);
        if (r >= 0 && prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) < 0)
                r = negative_errno();
        if (r < 0)
                diag_fail(&diag, r, NULL, "drop the stub init's privileges: %m");
        if (r >= 0 && a->seccomp && (r = spawn_seccomp_install(a->seccomp)) < 0)
                diag_fail(&diag, r, NULL, "install the stub init's system call filter: %m");
        if (r >= 0 && (r = cloexec_all_from(3)) < 0)
                diag_fail(&diag, r, NULL, "close file descriptors: %m");
        if (r >= 0) {
                sigprocmask(SIG_SETMASK, a->saved_mask, NULL);
                r = spawn_stub_exec(a->stub_fd, payload, id);
                diag_fail(&diag, r, NULL, "execute the stub init: %m");
        }
        (void) kill(payload, SIGKILL);
        child_fail(a, &diag);
}

/* fork() as PID 2 of our PID namespace: with --private-users the setup process had that PID, so
 * ask for it (clone3 set_tid; we are root of the namespace's owner); else, or where that is
 * refused, the next free one, which is 2 without a user namespace. */
static pid_t fork_pid2(void) {
        pid_t want = 2;
        CloneArgs args = { .exit_signal = SIGCHLD, .set_tid = (uint64_t) (uintptr_t) &want, .set_tid_size = 1 };
        /* Linux 5.5's size (up to set_tid_size): the cgroup field is not needed here. */
        pid_t p = (pid_t) syscall(SYS_clone3, &args, offsetof(CloneArgs, cgroup));
        if (p >= 0 || (errno != EEXIST && errno != EPERM && errno != ENOSYS && errno != EINVAL))
                return p;
        return fork();
}

static int read_container_file(const char *path, char **ret) {
        int r = read_file_at(AT_FDCWD, path, 0, PASSWD_FILE_SIZE_MAX, ret, NULL);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        return r;
}

static int build_env(ChildArgs *a, const SpawnUser *u, const uint8_t id[16], char ***ret) {
        SpawnConfig *c = a->config;
        char uuid[UUID_STRING_MAX];
        uuid_format(id, uuid);
        _cleanup_strv_free_ char **env = NULL;
        char *base[] = {
                strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
                strdup("container=cowpen"),
                strjoin("container_uuid=", uuid),
                strjoin("HOME=", u->home),
                strjoin("USER=", u->name),
                strjoin("LOGNAME=", u->name),
                strjoin("SHELL=", u->shell),
                c->n_credentials > 0 ? strdup("CREDENTIALS_DIRECTORY=" SPAWN_CREDENTIALS_DIR) : NULL,
                a->term ? strjoin("TERM=", a->term) : NULL,
        };
        int r = 0;
        for (size_t i = 0; i < ELEMENTSOF(base); i++) {
                if (!base[i]) {
                        /* The optional ones last: credentials, $TERM. */
                        if (i + 2 < ELEMENTSOF(base) || (i + 2 == ELEMENTSOF(base) && c->n_credentials > 0) ||
                            (i + 1 == ELEMENTSOF(base) && a->term))
                                r = -ENOMEM;
                        continue;
                }
                if (r >= 0)
                        r = strv_push(&env, base[i]);
                else
                        free(base[i]);
        }
        if (r < 0)
                return r;
        /* -E/Environment= override: KEY=VALUE replaces, KEY alone imports the host's value. */
        for (char **s = c->setenv; s && *s; s++) {
                const char *eq = strchr(*s, '=');
                _cleanup_free_ char *entry = NULL;
                size_t kl = eq ? (size_t) (eq - *s) : strlen(*s);
                if (!eq) {
                        const char *v = getenv(*s);
                        if (!v)
                                continue;
                        entry = strjoin(*s, "=", v);
                } else
                        entry = strdup(*s);
                if (!entry)
                        return -ENOMEM;
                bool replaced = false;
                for (char **e = env; e && *e; e++)
                        if (strneq(*e, entry, kl + 1)) {
                                free(*e);
                                *e = TAKE_PTR(entry);
                                replaced = true;
                                break;
                        }
                if (!replaced && (r = strv_push(&env, TAKE_PTR(entry))) < 0)
                        return r;
        }
        const char *notify = spawn_boot_notify_env(a->boot);
        if (notify && (r = strv_extend(&env, notify)) < 0)
                return r;
        *ret = TAKE_PTR(env);
        return 0;
}

/* execvp() with the PATH of the payload's environment (not ours: with CLONE_VM, ours is the
 * parent's memory and must not change). */
static int exec_payload(const char *file, char **argv, char **env) {
        if (strchr(file, '/')) {
                execve(file, argv, env);
                return negative_errno();
        }
        const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (char **e = env; e && *e; e++)
                if (startswith(*e, "PATH="))
                        path = *e + 5;
        int r = -ENOENT;
        char buf[4096];
        for (const char *p = path;; p++) {
                size_t n = strcspn(p, ":");
                if (n > 0 && n + 1 + strlen(file) < sizeof(buf)) {
                        snprintf(buf, sizeof(buf), "%.*s/%s", (int) n, p, file);
                        execve(buf, argv, env);
                        /* As execvp: remember a permission problem, keep looking otherwise. */
                        if (errno == EACCES)
                                r = -EACCES;
                        else if (errno != ENOENT && errno != ENOTDIR && r != -EACCES)
                                r = negative_errno();
                }
                p += n;
                if (!*p)
                        break;
        }
        return r;
}

/* The start of both the container's first process and (with --private-users) its init: the
 * parent's fds closed, the death signal, signal handlers, and (for the process that execs the
 * payload) a session with the console. */
static void child_begin(ChildArgs *a, bool console) {
        for (size_t i = 0; i < ELEMENTSOF(a->close_fds); i++)
                if (a->close_fds[i] >= 0)
                        (void) close(a->close_fds[i]);

        /* If cowpen dies, so does the container: PID 1 of the namespace, and with it everything
         * in it. The parent may have died before prctl(): the alive pipe then reports a hangup. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                child_fail_errno(a, negative_errno(), "set death signal");
        a->alive_w = safe_close(a->alive_w);
        struct pollfd pfd = { .fd = a->alive_fd, .events = POLLIN };
        if (poll(&pfd, 1, 0) != 0)
                _exit(EXIT_FAILURE);
        a->alive_fd = safe_close(a->alive_fd);

        /* The handlers cowpen installed go; the mask is restored right before exec. */
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                (void) signal(forwarded_signals[i], SIG_DFL);
        if (!console)
                return;

        /* A session of its own; on a pty, that pty as controlling terminal and stdio. */
        if (setsid() < 0)
                child_fail_errno(a, negative_errno(), "setsid");
        if (a->console_fd >= 0) {
                if (ioctl(a->console_fd, TIOCSCTTY, 0) < 0)
                        child_fail_errno(a, negative_errno(), "set controlling terminal");
                for (int fd = 0; fd < 3; fd++)
                        if (dup2(a->console_fd, fd) < 0)
                                child_fail_errno(a, negative_errno(), "dup console");
        }
}

_noreturn_ static void child_exec(ChildArgs *a, const uint8_t id[16]);

/* spawn_arch_register() in the user namespace's own mount namespace (spawn_userns_handoff). */
typedef struct ArchHook {
        const SpawnArch *arch;
        Diag *diag;
} ArchHook;

static int arch_register_hook(void *userdata) {
        ArchHook *h = userdata;
        return spawn_arch_register(h->arch, h->diag);
}

_noreturn_ void spawn_child(ChildArgs *args) {
        /* Our own copy: with CLONE_VM the struct is the parent's memory. */
        ChildArgs copy = *args, *a = &copy;
        SpawnConfig *c = a->config;
        Diag diag = DIAG_INIT;
        int r;
        /* With --private-users this process only sets the container up; its init (made with the
         * namespaces, spawn_init below) takes the console and execs. */
        bool userns = a->userns && a->userns->userns_fd >= 0;
        child_begin(a, !userns);

        /* The user namespace's UTS, IPC and network namespaces, before anything is mounted for
         * them (mqueue, sysfs) or set in them (host name, loopback). */
        if ((r = spawn_userns_join(a->userns)) < 0) {
                diag_fail(&diag, r, NULL, "join the user namespace's namespaces: %m");
                child_fail(a, &diag);
        }
        /* The network namespace made (and set up) for it, or --network-namespace-path's. */
        if (!userns && a->netns_fd >= 0 && setns(a->netns_fd, CLONE_NEWNET) < 0) {
                diag_fail(&diag, negative_errno(), NULL, "join the network namespace: %m");
                child_fail(a, &diag);
        }
        if ((r = spawn_cgroup_child_enter(a->cgroup, a->in_cgroup)) < 0) {
                diag_fail(&diag, r, NULL, "enter the container's cgroup: %m");
                child_fail(a, &diag);
        }
        /* A foreign architecture: checked (and, with -U, its qemu-user opened) while the host's
         * paths are still visible. */
        _cleanup_(spawn_arch_done) SpawnArch arch = SPAWN_ARCH_NULL;
        if (spawn_arch_prepare(a->root->fd, userns, &arch, &diag) < 0)
                child_fail(a, &diag);

        char root_buf[4096];
        const char *root_path;
        if (userns)
                mount_set_creator(c->uid_shift);
        /* --private-users: the image presented to the user namespace (idmapped or chowned) before
         * anything volatile is built on top of it. */
        bool overlay = prepared_root_has_overlay(a->root);
        if (mount_root(a->root, &root_path, &diag) < 0 ||
            (userns && spawn_userns_present_root(a->userns, c, a->root->path, overlay, &diag) < 0) ||
            mount_root_finish(c, root_path, userns ? c->uid_shift : 0, root_buf, sizeof(root_buf), &root_path,
                              &diag) < 0)
                child_fail(a, &diag);
        _cleanup_close_ int root_fd = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                diag_fail(&diag, negative_errno(), NULL, "open root: %m");
                child_fail(a, &diag);
        }
        uint8_t id[16];
        if (mount_api_vfs(root_fd, c, a->console_path, &diag) < 0 ||
            mount_custom(root_fd, c, userns ? a->userns->userns_fd : -EBADF, a->owner_maps, &diag) < 0 ||
            mount_inaccessible(root_fd, c, &diag) < 0 ||
            setup_machine_id(root_fd, c, id, &diag) < 0 || setup_resolv_conf(root_fd, c, &diag) < 0 ||
            setup_timezone(root_fd, c, &diag) < 0 ||
            setup_credentials(root_fd, c, userns ? c->uid_shift : 0, &diag) < 0 ||
            setup_bind_users(root_fd, a->bind_users, userns ? c->uid_shift : 0, &diag) < 0)
                child_fail(a, &diag);
        if ((r = spawn_userns_chown_api(root_fd, c, a->console_fd)) < 0) {
                diag_fail(&diag, r, NULL, "hand the API file systems to the container's root: %m");
                child_fail(a, &diag);
        }
        if ((r = spawn_boot_child_mounts(root_fd, a->boot, a->cgroup)) < 0) {
                diag_fail(&diag, r, NULL, "mount the container's cgroup and notify socket: %m");
                child_fail(a, &diag);
        }
        if ((c->read_only || c->volatile_mode == VOLATILE_STATE) && mount_make_root_read_only(root_path, &diag) < 0)
                child_fail(a, &diag);
        /* As nspawn: after the root is read-only (then only an existing directory can be bound). */
        if (setup_journal(root_fd, c, a->root->path, id, userns ? c->uid_shift : 0, &diag) < 0)
                child_fail(a, &diag);

        const char *hostname = c->hostname ?: a->root->machine;
        if (sethostname(hostname, MIN(strlen(hostname), (size_t) SPAWN_HOSTNAME_MAX)) < 0) {
                diag_fail(&diag, negative_errno(), NULL, "set host name: %m");
                child_fail(a, &diag);
        }
        if (c->private_network && (r = loopback_up()) < 0) {
                diag_fail(&diag, r, NULL, "bring up loopback: %m");
                child_fail(a, &diag);
        }

        /* pivot_root with the old root stacked below the new one, then detached. */
        if (fchdir(root_fd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
                diag_fail(&diag, negative_errno(), NULL, "pivot_root: %m");
                child_fail(a, &diag);
        }
        root_fd = safe_close(root_fd);
        if (userns) {
                /* The mount namespace, now the user namespace's, goes to init; we are done. */
                ArchHook hook = {.arch = &arch, .diag = &diag};
                if ((r = spawn_userns_handoff(a->userns, a->handoff_fd, id, arch_register_hook, &hook)) < 0) {
                        if (!diag_failed(&diag))
                                diag_fail(&diag, r, NULL, "hand the mount namespace to the container's init: %m");
                        child_fail(a, &diag);
                }
                _exit(EXIT_SUCCESS);
        }
        child_exec(a, id);
}

/* --private-users: the container's init, PID 1 of the PID namespace its user namespace owns
 * (spawn-userns.c made it with the namespaces). It waits for spawn_child() to set the mounts
 * up, joins their namespace and goes on as spawn_child() would after pivot_root. */
_noreturn_ void spawn_init(ChildArgs *args) {
        ChildArgs copy = *args, *a = &copy;
        Diag diag = DIAG_INIT;
        int r;
        child_begin(a, true);
        uint8_t id[16];
        r = spawn_userns_take_over(a->init_fd, id);
        if (r == -ECONNRESET)
                _exit(EXIT_FAILURE); /* the setup failed and said why */
        if (r < 0) {
                diag_fail(&diag, r, NULL, "enter the container's mount namespace: %m");
                child_fail(a, &diag);
        }
        child_exec(a, id);
}

_noreturn_ static void child_exec(ChildArgs *a, const uint8_t id[16]) {
        SpawnConfig *c = a->config;
        Diag diag = DIAG_INIT;
        int r;
        /* The user, from the container's own files. */
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        SpawnUser u = {};
        if ((r = read_container_file("/etc/passwd", &passwd)) < 0 || (r = read_container_file("/etc/group", &group)) < 0) {
                diag_fail(&diag, r, NULL, "read /etc/passwd: %m");
                child_fail(a, &diag);
        }
        if (!c->user && c->user_ids)
                /* --oci-bundle's process.user: the IDs as given, no passwd lookup (the spec's). */
                r = spawn_user_from_ids(c->user_uid, c->user_gid, c->user_groups, c->n_user_groups, &u);
        else
                r = spawn_user_lookup(c->user ?: "0", passwd, group, &u);
        /* Freed now: the exec below skips cleanup handlers, and with CLONE_VM this is the
         * parent's heap. */
        free(passwd);
        free(group);
        passwd = group = NULL;
        if (r < 0) {
                diag_fail(&diag, r, NULL, r == -ESRCH ? "user %s: no such user in the container" : "user %s: %m", c->user ?: "root");
                child_fail(a, &diag);
        }

        /* What PID 1 and the payload share: limits, personality, OOM score, CPUs, bounding set. */
        if ((r = apply_process_settings(c, &diag)) < 0)
                child_fail(a, &diag);
        if ((r = drop_bounding_set(spawn_config_capabilities(c))) < 0) {
                diag_fail(&diag, r, NULL, "drop capabilities: %m");
                child_fail(a, &diag);
        }

        /* -a: PID 1 becomes the stub init, a program of its own (spawn-stub.c); the payload, PID 2,
         * waits until PID 1 is that program, so that it never meets a PID 1 that is still a copy
         * of cowpen (with cowpen's capabilities, mappings and fds). */
        int gate = -EBADF;
        if (c->as_pid2) {
                int g[2];
                if (pipe2(g, O_CLOEXEC) < 0) {
                        diag_fail(&diag, negative_errno(), NULL, "pipe: %m");
                        child_fail(a, &diag);
                }
                pid_t p = fork_pid2();
                if (p < 0) {
                        diag_fail(&diag, negative_errno(), NULL, "fork payload: %m");
                        child_fail(a, &diag);
                }
                if (p > 0) {
                        safe_close(g[0]);
                        become_stub(a, p, id); /* g[1] closes when the stub is executed */
                }
                safe_close(g[1]);
                gate = g[0];
        }

        if ((r = become_payload(a, &u, &diag)) < 0)
                child_fail(a, &diag);
        if (c->working_directory) {
                if (chdir(c->working_directory) < 0) {
                        diag_fail(&diag, negative_errno(), NULL, "change directory to %s: %m", c->working_directory);
                        child_fail(a, &diag);
                }
        } else if (chdir(u.home) < 0 && chdir("/") < 0) {
                diag_fail(&diag, negative_errno(), NULL, "change directory to /: %m");
                child_fail(a, &diag);
        }

        _cleanup_strv_free_ char **env = NULL;
        if ((r = build_env(a, &u, id, &env)) < 0) {
                diag_fail(&diag, r, NULL, "environment: %m");
                child_fail(a, &diag);
        }

        /* The payload: the command, or the user's shell as a login shell. */
        char *shell_argv[2] = {};
        _cleanup_free_ char *login = NULL;
        char **argv = c->command;
        const char *file;
        _cleanup_strv_free_ char **init_argv = NULL;
        if (c->boot) {
                /* -b: the image's init, the command's words are its arguments. */
                if ((r = spawn_boot_find_init(c->command, &init_argv)) < 0) {
                        diag_fail(&diag, r, NULL, r == -ENOENT ? "no init in the image (/usr/lib/systemd/systemd, /lib/systemd/systemd, /sbin/init)"
                                                        : "find init: %m");
                        child_fail(a, &diag);
                }
                argv = init_argv;
                file = argv[0];
        } else if (argv && argv[0])
                file = argv[0];
        else {
                const char *b = strrchr(u.shell, '/');
                login = strjoin("-", b ? b + 1 : u.shell);
                if (!login) {
                        diag_fail(&diag, -ENOMEM, NULL, "shell: %m");
                        child_fail(a, &diag);
                }
                shell_argv[0] = login;
                argv = shell_argv;
                file = u.shell;
        }
        /* Every fd but stdio closes on exec: ours are close-on-exec already, the ones cowpen
         * inherited without it (a caller's directory fd would lead out of the container) too. */
        if ((r = cloexec_all_from(3)) < 0) {
                diag_fail(&diag, r, NULL, "close inherited file descriptors: %m");
                child_fail(a, &diag);
        }
        if (gate >= 0) {
                char ch;
                /* EOF: the stub was executed (a failed stub kills us instead). */
                while (read(gate, &ch, 1) < 0 && errno == EINTR)
                        ;
        }
        sigprocmask(SIG_SETMASK, a->saved_mask, NULL);
        r = exec_payload(file, argv, env);
        diag_fail(&diag, r, NULL, "execute %s: %m", file);
        child_fail(a, &diag);
}
