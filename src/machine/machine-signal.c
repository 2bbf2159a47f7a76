/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Signals to a running machine from outside it (machine.h): to its leader or to every process of
 * its cgroup, always through pidfds checked to be the recorded process (start time) or to be in
 * the machine's cgroup, so that a PID reused meanwhile is never signalled.
 *
 * Untrusted input: the cgroup's contents (cgroup.procs and the names of subgroups the container
 * made), read with limits (MACHINE_CGROUP_DEPTH_MAX, MACHINE_CGROUP_PROCS_MAX). */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "fd-util.h"
#include "machine.h"
#include "string-table.h"
#include "proc-util.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#define MACHINE_CGROUP_DEPTH_MAX 64U
#define MACHINE_CGROUP_PROCS_MAX (64U * 1024U)
#define PROCS_FILE_SIZE_MAX (4U * 1024U * 1024U)

static const char *const machine_kill_whom_table[_MACHINE_KILL_WHOM_MAX] = {
        [MACHINE_KILL_LEADER] = "leader",
        [MACHINE_KILL_ALL] = "all",
};
DEFINE_STRING_TABLE_LOOKUP(machine_kill_whom, MachineKillWhom);

static int pidfd_of(pid_t pid, uint64_t starttime) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return negative_errno();
        uint64_t st;
        if (pid_starttime(pid, &st) < 0 || st != starttime) {
                safe_close(fd);
                return -ESRCH;
        }
        return fd;
}

int machine_monitor_pidfd(const MachineRecord *m, Diag *diag) {
        int fd = m->monitor > 1 ? pidfd_of(m->monitor, m->monitor_starttime) : -ESRCH;
        if (fd < 0)
                return diag_fail(diag, fd, NULL,
                        fd == -ESRCH ? "machine %s has no running cowpen any more"
                                     : "cannot open the cowpen running machine %s: %m",
                        m->name);
        return fd;
}

/* Whether cgroup path c is m's cgroup or below it. */
static bool in_cgroup(const MachineRecord *m, const char *c) {
        size_t n = strlen(m->cgroup);
        return strneq(c, m->cgroup, n) && (c[n] == 0 || c[n] == '/');
}

int machine_cgroup_open(const MachineRecord *m, Diag *diag) {
        if (!m->cgroup || streq(m->cgroup, "/"))
                return diag_fail(diag, -ENOMEDIUM, NULL, "machine %s has no cgroup of its own", m->name);
        static const char *const mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
        for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
                struct statfs sfs;
                if (statfs(mounts[i], &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
                        continue;
                _cleanup_close_ int root = open(mounts[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (root < 0)
                        continue;
                int fd = openat2_resolve(root, m->cgroup + 1, O_RDONLY | O_DIRECTORY, 0,
                        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
                if (fd < 0)
                        continue;
                /* The leader in it (our view of the hierarchy is the one the record was made in). */
                _cleanup_free_ char *c = NULL;
                if (pid_cgroup2_path(m->leader, &c) >= 0 && in_cgroup(m, c))
                        return fd;
                safe_close(fd);
        }
        return diag_fail(diag, -ENOMEDIUM, NULL, "cannot find the cgroup %s of machine %s", m->cgroup, m->name);
}

static int signal_pid(const MachineRecord *m, pid_t pid, int sig) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return errno == ESRCH ? 0 : negative_errno();
        /* Still in the machine's cgroup once pinned by the pidfd: the very process that was. */
        _cleanup_free_ char *c = NULL;
        int r = pid_cgroup2_path(pid, &c);
        if (r >= 0 && in_cgroup(m, c))
                r = (int) syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0 && errno != ESRCH ? negative_errno()
                                                                                                 : 1;
        else
                r = 0;
        safe_close(fd);
        return r;
}

/* Every process of the cgroup at dir_fd and its subgroups; counts what it signalled in *n. */
static int signal_tree(const MachineRecord *m, int dir_fd, int sig, unsigned depth, unsigned *n) {
        if (depth > MACHINE_CGROUP_DEPTH_MAX)
                return -ELOOP;
        _cleanup_free_ char *procs = NULL;
        int r = read_file_at(
                dir_fd, "cgroup.procs", RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, PROCS_FILE_SIZE_MAX, &procs, NULL);
        /* Removed meanwhile (the signal just sent ended the machine, and its run removed the
         * cgroup): ENOENT, or ENODEV from a cgroup file still open. */
        if (r < 0)
                return r == -ENOENT || r == -ENODEV ? 0 : r;
        int first = 0;
        for (char *line = procs, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                int pid;
                if (safe_atoi(line, &pid) < 0 || pid <= 1 || pid == m->leader) /* the leader had it */
                        continue;
                if (++*n > MACHINE_CGROUP_PROCS_MAX)
                        return -E2BIG;
                if ((r = signal_pid(m, pid, sig)) < 0 && first == 0)
                        first = r;
        }
        _cleanup_closedir_ DIR *d = NULL;
        if ((r = opendir_fd(dir_fd, &d)) < 0)
                return r == -ENOENT || r == -ENODEV ? first : r;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_close_ int sub =
                        openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (sub < 0)
                        continue;
                if ((r = signal_tree(m, sub, sig, depth + 1, n)) < 0 && first == 0)
                        first = r;
        }
        return first;
}

int machine_kill(const MachineRecord *m, MachineKillWhom whom, int sig, Diag *diag) {
        if (sig < 0 || sig >= _NSIG)
                return diag_fail(diag, -EINVAL, NULL, "invalid signal %d", sig);
        _cleanup_close_ int leader = machine_leader_pidfd(m, diag);
        if (leader < 0)
                return leader;
        if (whom == MACHINE_KILL_LEADER) {
                if (syscall(SYS_pidfd_send_signal, leader, sig, NULL, 0) < 0)
                        return diag_fail(
                                diag, negative_errno(), NULL, "cannot signal machine %s's leader: %m", m->name);
                return 0;
        }
        _cleanup_close_ int cg = machine_cgroup_open(m, diag);
        if (cg < 0)
                return cg;
        if (sig == SIGKILL) {
                _cleanup_close_ int k = openat(cg, "cgroup.kill", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                if (k >= 0 && write(k, "1", 1) == 1)
                        return 0;
        }
        /* The leader first, as systemd's KillUnit() would reach it. */
        if (syscall(SYS_pidfd_send_signal, leader, sig, NULL, 0) < 0 && errno != ESRCH)
                return diag_fail(diag, negative_errno(), NULL, "cannot signal machine %s's leader: %m", m->name);
        unsigned n = 0;
        int r = signal_tree(m, cg, sig, 0, &n);
        if (r < 0)
                return diag_fail(diag, r, NULL, "cannot signal the processes of machine %s: %m", m->name);
        return 0;
}
