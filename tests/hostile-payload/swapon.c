/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* swapon: enabling or disabling swap changes the host's memory.
 *
 * Keys: swapon=, swapoff= on "/nonexistent-cowpen". The kernel checks CAP_SYS_ADMIN (in the
 * initial user namespace) before it looks the path up, so EPERM is refused and ENOENT means the
 * permission check passed (ALLOWED). Harmless: the path does not exist (checked first), so no swap is
 * ever enabled or disabled. */
#include "hostile.h"

#include <sys/swap.h>

#define PATH "/nonexistent-cowpen"

int main(void) {
        h_init("swapon");
        struct stat st;
        if (lstat(PATH, &st) == 0 || errno != ENOENT)
                h_bug(PATH " exists");
        int r = swapon(PATH, 0);
        int e = errno;
        h_res("swapon", r, e);
        if (r == 0 || e == ENOENT)
                h_allow("swapon");
        if (r == 0)
                (void) swapoff(PATH);
        r = swapoff(PATH);
        e = errno;
        h_res("swapoff", r, e);
        if (r == 0 || e == ENOENT)
                h_allow("swapoff");
        h_done();
}
