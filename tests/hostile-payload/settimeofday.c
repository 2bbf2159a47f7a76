/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* settimeofday: the clock is the host's (CLOCK_REALTIME is not namespaced).
 *
 * Keys: settimeofday= settimeofday() with tv_usec = 2000000; clock_settime=
 * clock_settime(CLOCK_REALTIME) with tv_nsec = 2000000000; adjtimex= adjtimex(ADJ_TICK) with a
 * tick of 1. All three arguments are invalid, so the clock is never changed. The kernel
 * validates the first two BEFORE it checks CAP_SYS_TIME, so EINVAL there only says that no
 * filter stopped the call (it is compared with the expectation, not counted as ALLOWED); EPERM
 * is a filter (or a missing capability). adjtimex checks CAP_SYS_TIME first and the tick after
 * it: EINVAL there means the capability check passed (ALLOWED). Raw system calls, so that libc
 * cannot reject the arguments itself. Harmless: no valid time, offset or tick is ever passed,
 * and the time zone argument is always NULL. */
#include "hostile.h"

#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

int main(void) {
        h_init("settimeofday");
        struct timeval tv = {.tv_sec = 0, .tv_usec = 2000000};
        long r = syscall(SYS_settimeofday, &tv, NULL);
        h_res("settimeofday", r, errno);
        if (r == 0)
                h_allow("settimeofday");

        struct timespec ts = {.tv_sec = 0, .tv_nsec = 2000000000};
        r = syscall(SYS_clock_settime, CLOCK_REALTIME, &ts);
        h_res("clock_settime", r, errno);
        if (r == 0)
                h_allow("clock_settime");

        struct timex tx = {.modes = ADJ_TICK, .tick = 1};
        r = syscall(SYS_adjtimex, &tx);
        int e = errno;
        h_res("adjtimex", r, e);
        if (r >= 0 || e == EINVAL)
                h_allow("adjtimex");
        h_done();
}
