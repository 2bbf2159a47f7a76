/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The -a stub init: PID 1 of the container when the payload is PID 2. It reaps every process
 * that ends in the container, forwards the signals the host sends to PID 1 to the payload, and
 * exits with the payload's status (128+N when it died by signal N).
 *
 * This is a program of its own, exec'd by cowpen from a sealed memfd, so that PID 1 shares
 * nothing with cowpen: no host file is mapped into it (no /proc/1/exe, /proc/1/map_files or
 * /proc/1/maps entry leads to a host file), it holds no fds but the console, its environment and
 * command line are the container's, and it runs with the payload's bounding set, system-call
 * filter and at most CAP_KILL (given to it as an ambient capability, so that it can forward
 * signals to a payload of another uid). It makes itself non-dumpable first.
 *
 * Built without a C library where the architecture's system-call instruction is known (x86-64,
 * aarch64: a few kilobytes, nothing but this file in the process), else statically against the
 * C library. Untrusted input: none (argv comes from cowpen; signals carry no data we read). */

#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>

#if STUB_FREESTANDING
#include <linux/prctl.h>
#include <linux/wait.h>
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
        long ret;
#if defined(__x86_64__)
        register long r10 __asm__("r10") = d;
        register long r8 __asm__("r8") = e;
        register long r9 __asm__("r9") = f;
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
#elif defined(__aarch64__)
        register long x8 __asm__("x8") = n;
        register long x0 __asm__("x0") = a;
        register long x1 __asm__("x1") = b;
        register long x2 __asm__("x2") = c;
        register long x3 __asm__("x3") = d;
        register long x4 __asm__("x4") = e;
        register long x5 __asm__("x5") = f;
        __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
        ret = x0;
#else
#error "no system-call instruction known for this architecture: build with STUB_FREESTANDING=0"
#endif
        return ret;
}
#define SYS(n, a, b, c, d) sys6(n, (long) (a), (long) (b), (long) (c), (long) (d), 0, 0)

/* The kernel's struct sigaction (not the C library's). */
struct ksigaction {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        unsigned long mask;
};
#define KSIGSET_SIZE 8
#define SA_RESTORER_ 0x04000000

static void handler(int sig) {
}

/* Never runs: every signal stays blocked and is taken with rt_sigtimedwait(). It is here only
 * because x86-64 wants a restorer with every handler. */
static void restorer(void) {
        SYS(__NR_rt_sigreturn, 0, 0, 0, 0);
}

static void set_handler(int sig) {
        struct ksigaction sa = { .handler = handler, .flags = SA_RESTORER_, .restorer = restorer, .mask = ~0UL };
        SYS(__NR_rt_sigaction, sig, &sa, 0, KSIGSET_SIZE);
}

_Noreturn static void exit_now(int status) {
        for (;;)
                SYS(__NR_exit_group, status, 0, 0, 0);
}

static int parse_pid(const char *s) {
        int v = 0;
        if (!s || !*s)
                return -1;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > 100000000)
                        return -1;
                v = v * 10 + (*s - '0');
        }
        return v;
}

/* siginfo_t is 128 bytes; only the signal number (the first int) is read. */
typedef struct {
        int signo;
        int pad[31];
} ksiginfo;

static int stub_main(int argc, char **argv) {
        /* Nobody but a holder of CAP_SYS_PTRACE may read or trace us. */
        SYS(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0);
        SYS(__NR_prctl, PR_SET_NAME, "cowpen", 0, 0);
        int payload = argc > 1 ? parse_pid(argv[1]) : -1;
        if (payload <= 1)
                exit_now(127);
        unsigned long all = ~0UL;
        SYS(__NR_rt_sigprocmask, SIG_BLOCK, &all, 0, KSIGSET_SIZE);
        /* A PID 1 only receives the host's signals it has handlers for. */
        for (int sig = 1; sig <= 64; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        set_handler(sig);
        /* Whatever fd the exec left (none should be): not ours to hold. */
        SYS(__NR_close_range, 3, ~0U, 0, 0);
        for (;;) {
                /* Reap first: the payload may have ended before the signals were blocked. */
                for (;;) {
                        int status = 0;
                        long p = SYS(__NR_wait4, -1, &status, WNOHANG, 0);
                        if (p <= 0)
                                break;
                        if (p == payload) {
                                int sig = status & 0x7f;
                                exit_now(sig == 0 ? (status >> 8) & 0xff : 128 + sig);
                        }
                }
                ksiginfo si;
                long sig = SYS(__NR_rt_sigtimedwait, &all, &si, 0, KSIGSET_SIZE);
                if (sig <= 0 || sig == SIGCHLD)
                        continue;
                SYS(__NR_kill, payload, sig, 0, 0);
        }
}

/* The entry point: the kernel leaves argc at the stack pointer, argv right above it. */
_Noreturn void stub_start_c(long *sp);
__attribute__((used)) _Noreturn void stub_start_c(long *sp) {
        exit_now(stub_main((int) sp[0], (char **) (sp + 1)));
}

#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n xor %rbp,%rbp\n mov %rsp,%rdi\n and $-16,%rsp\n call stub_start_c\n hlt\n");
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n mov x29, #0\n mov x30, #0\n mov x0, sp\n and sp, x0, #-16\n bl stub_start_c\n");
#endif

#else /* !STUB_FREESTANDING: the same with the C library, linked statically. */
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void handler(int sig) {
}

int main(int argc, char **argv) {
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        prctl(PR_SET_NAME, "cowpen", 0, 0, 0);
        int payload = argc > 1 ? atoi(argv[1]) : -1;
        if (payload <= 1)
                _exit(127);
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, NULL);
        struct sigaction sa = { .sa_handler = handler };
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);
        syscall(SYS_close_range, 3, ~0U, 0);
        for (;;) {
                int status;
                pid_t p;
                while ((p = waitpid(-1, &status, WNOHANG)) > 0)
                        if (p == payload)
                                _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);
                if (sig > 0 && sig != SIGCHLD)
                        (void) kill(payload, sig);
        }
}
#endif
