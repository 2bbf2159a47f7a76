/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* perf: perf_event_open is a large kernel attack surface, and a CPU-wide counter observes the
 * whole host.
 *
 * Keys: self= a software counter (task clock) on ourselves, user space only; cpu= a software
 * counter (cpu clock) for every task on CPU 0. ALLOWED when either was opened. Harmless: the
 * counters are closed at once, never read or mapped. */
#include "hostile.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>

static long perf_open(unsigned long long config, pid_t pid, int cpu, bool user_only) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof(a));
        a.type = PERF_TYPE_SOFTWARE;
        a.size = sizeof(a);
        a.config = config;
        a.disabled = 1;
        a.exclude_kernel = user_only;
        a.exclude_hv = user_only;
        return syscall(SYS_perf_event_open, &a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

int main(void) {
        h_init("perf");
        long fd = perf_open(PERF_COUNT_SW_TASK_CLOCK, 0, -1, true);
        if (h_res("self", fd, errno) >= 0) {
                h_allow("self");
                close((int) fd);
        }
        fd = perf_open(PERF_COUNT_SW_CPU_CLOCK, -1, 0, false);
        if (h_res("cpu", fd, errno) >= 0) {
                h_allow("cpu");
                close((int) fd);
        }
        h_done();
}
