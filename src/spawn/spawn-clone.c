/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "spawn-clone.h"
#include "util.h"

/* Making the container's processes directly in their cgroup (clone3 CLONE_INTO_CGROUP, Linux
 * 5.7). Moving a process into a cgroup afterwards (writing cgroup.procs) takes the cgroup core's
 * thread-group lock for writing, which waits for an RCU grace period: about 10 ms per move on a
 * small VM, more than the whole start of a container. A process made in its cgroup skips that.
 * Where clone3 or CLONE_INTO_CGROUP is missing, the caller moves it (*ret_in_cgroup false).
 * Untrusted input: none. */

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

#if defined(__x86_64__) || defined(__aarch64__)
/* clone3 with a stack of the child's own, for CLONE_VM: the child cannot return into C code
 * whose frames are the parent's, so it calls fn(arg) from here and exits with its result.
 * Returns the child's PID or -errno. */
long spawn_clone3_vm(CloneArgs *ca, size_t size, int (*fn)(void *), void *arg);
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl spawn_clone3_vm\n"
        ".type spawn_clone3_vm,@function\n"
        "spawn_clone3_vm:\n"
        "  endbr64\n"
        "  mov %rdx, %r8\n" /* fn and arg survive the system call in both processes */
        "  mov %rcx, %r9\n"
        "  mov $435, %eax\n" /* __NR_clone3 */
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  xor %ebp, %ebp\n" /* the child, on its own stack */
        "  mov %r9, %rdi\n"
        "  call *%r8\n"
        "  mov %eax, %edi\n"
        "  mov $60, %eax\n" /* __NR_exit */
        "  syscall\n"
        "  hlt\n"
        "1:\n"
        "  ret\n"
        ".size spawn_clone3_vm, .-spawn_clone3_vm\n");
#else
__asm__(".text\n"
        ".globl spawn_clone3_vm\n"
        ".type spawn_clone3_vm,%function\n"
        "spawn_clone3_vm:\n"
        "  mov x10, x2\n"
        "  mov x11, x3\n"
        "  mov x8, #435\n"
        "  svc #0\n"
        "  cbnz x0, 1f\n"
        "  mov x29, #0\n"
        "  mov x0, x11\n"
        "  blr x10\n"
        "  mov x8, #93\n"
        "  svc #0\n"
        "  brk #0\n"
        "1:\n"
        "  ret\n"
        ".size spawn_clone3_vm, .-spawn_clone3_vm\n");
#endif
#define HAVE_CLONE3_VM 1
#else
#define HAVE_CLONE3_VM 0
#endif

pid_t spawn_clone(int flags, int cgroup_fd, bool share_memory, int (*fn)(void *), void *arg, bool *ret_in_cgroup) {
        /* As posix_spawn: a child that shares our memory (it execs soon, we wait meanwhile) runs
         * on a stack of its own, so no page tables are copied and no page is copied on write.
         * One stack serves both attempts below. */
        const size_t stack_size = 256 * 1024;
        void *stack = NULL;
        if (share_memory) {
                stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
                if (stack == MAP_FAILED)
                        return -1;
        }
        long pid = -1;
        /* Set before each attempt: the child reads it (our memory, or its copy made by clone). */
        if (ret_in_cgroup)
                *ret_in_cgroup = cgroup_fd >= 0;
        if (cgroup_fd >= 0 && (!share_memory || HAVE_CLONE3_VM)) {
                CloneArgs ca = {
                        .flags = (uint64_t) (unsigned) flags | CLONE_INTO_CGROUP,
                        /* With CLONE_PARENT the child's exit signal is its parent's (clone3 wants 0). */
                        .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD,
                        .cgroup = (uint64_t) cgroup_fd,
                };
                if (share_memory) {
#if HAVE_CLONE3_VM
                        ca.flags |= CLONE_VM | CLONE_VFORK;
                        ca.stack = (uint64_t) (uintptr_t) stack;
                        ca.stack_size = stack_size;
                        pid = spawn_clone3_vm(&ca, sizeof(ca), fn, arg);
                        if (pid < 0) {
                                errno = (int) -pid;
                                pid = -1;
                        }
#endif
                } else {
                        /* A copy of our memory, as fork() makes: the child returns here. */
                        pid = syscall(SYS_clone3, &ca, sizeof(ca));
                        if (pid == 0)
                                _exit(fn(arg));
                }
                /* ENOSYS: no clone3 (Linux < 5.3); E2BIG/EINVAL: no CLONE_INTO_CGROUP (< 5.7);
                 * EACCES/EPERM: not allowed to write to the cgroup from where we are. Then as
                 * before, and the process moves itself (or is moved). */
                if (pid < 0 && ret_in_cgroup)
                        *ret_in_cgroup = false;
        } else if (ret_in_cgroup)
                *ret_in_cgroup = false;
        if (pid < 0) {
                if (share_memory)
                        pid = clone(fn, (char *) stack + stack_size, flags | CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
                else {
                        pid = syscall(SYS_clone, (unsigned long) flags | SIGCHLD, NULL, NULL, NULL, NULL);
                        if (pid == 0)
                                _exit(fn(arg));
                }
        }
        if (stack) {
                int saved = errno;
                (void) munmap(stack, stack_size);
                errno = saved;
        }
        return (pid_t) pid;
}
