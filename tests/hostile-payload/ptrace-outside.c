/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ptrace-outside: reach a host process from inside. usage: ptrace-outside PID (a host sleep the
 * driver started; its PID as the host sees it).
 *
 * Keys: attach= ptrace(PTRACE_ATTACH); kill= kill(PID, 0); pidfd= pidfd_open(PID)
 * (informational). ESRCH: the PID does not exist for us. ALLOWED when attach or kill worked.
 * Harmless: an attached tracee is waited for and detached at once (the driver's sleep only);
 * signal 0 delivers nothing. */
#include "hostile.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
        h_init("ptrace-outside");
        if (argc < 2 || atoi(argv[1]) <= 2)
                h_bug("usage: ptrace-outside HOST-PID");
        pid_t pid = atoi(argv[1]);
        long r = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
        if (h_res("attach", r, errno) >= 0) {
                h_allow("attach");
                int st;
                (void) waitpid(pid, &st, __WALL);
                (void) ptrace(PTRACE_DETACH, pid, NULL, NULL);
        }
        if (h_ret("kill", kill(pid, 0)) >= 0)
                h_allow("kill");
        long fd = syscall(SYS_pidfd_open, pid, 0);
        if (h_res("pidfd", fd, errno) >= 0)
                close((int) fd);
        h_done();
}
