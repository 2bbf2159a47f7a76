/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tiocsti: TIOCSTI pushes bytes into a terminal's input as if typed; on the caller's terminal
 * (stdin with --console=pipe) they would be read by the caller's shell once the container
 * exits. TIOCLINUX drives a virtual console (selection, console control).
 *
 * Keys: tty= whether stdin is a terminal (informational); tiocsti= ioctl(0, TIOCSTI, "#");
 * tioclinux= ioctl(0, TIOCLINUX, TIOCL_GETSHIFTSTATE). ALLOWED when either worked. The driver
 * also checks that no byte arrived in the outer terminal's input. Harmless: the one injected byte
 * is "#" (a comment to a shell), into a pty the driver owns; TIOCL_GETSHIFTSTATE only reads. */
#include "hostile.h"

#include <sys/ioctl.h>

int main(void) {
        h_init("tiocsti");
        h_kv("tty", "%s", isatty(0) ? "yes" : "no");
        char c = '#';
        if (h_ret("tiocsti", ioctl(0, TIOCSTI, &c)) >= 0)
                h_allow("tiocsti");
        char sub = 6; /* TIOCL_GETSHIFTSTATE */
        if (h_ret("tioclinux", ioctl(0, TIOCLINUX, &sub)) >= 0)
                h_allow("tioclinux");
        h_done();
}
