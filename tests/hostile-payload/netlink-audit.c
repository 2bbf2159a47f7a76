/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netlink-audit: the audit subsystem is the host's (not namespaced); a container that can open
 * an audit socket can flood or read the host's audit trail. systemd-nspawn makes the socket
 * fail with EAFNOSUPPORT, which audit userspace reads as "no audit in this kernel".
 *
 * Keys: socket= socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT). ALLOWED when it opened.
 * Harmless: closed at once; nothing is sent. */
#include "hostile.h"

#include <linux/netlink.h>
#include <sys/socket.h>

int main(void) {
        h_init("netlink-audit");
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
        if (h_res("socket", fd, errno) >= 0) {
                h_allow("socket");
                close(fd);
        }
        h_done();
}
