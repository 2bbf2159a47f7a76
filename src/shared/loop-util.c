/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "loop-util.h"

int loop_attach(int fd, uint64_t offset, uint64_t size, LoopAttachFlags flags, int *ret_fd, char **ret_path) {
        bool read_only = flags & LOOP_ATTACH_READ_ONLY;
        _cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (ctl < 0)
                return errno == ENOENT ? -EOPNOTSUPP : negative_errno();
        for (unsigned attempt = 0; attempt < LOOP_ATTACH_ATTEMPTS; attempt++) {
                int n = ioctl(ctl, LOOP_CTL_GET_FREE);
                if (n < 0)
                        return negative_errno();
                char path[64];
                snprintf(path, sizeof(path), "/dev/loop%d", n);
                _cleanup_close_ int lfd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
                if (lfd < 0) {
                        if (errno == ENOENT)
                                continue; /* node not created (yet); try another */
                        return negative_errno();
                }
                struct loop_config cfg = {
                        .fd = (uint32_t) fd,
                        .info =
                                {
                                        .lo_offset = offset,
                                        .lo_sizelimit = size,
                                        .lo_flags = LO_FLAGS_AUTOCLEAR | (read_only ? LO_FLAGS_READ_ONLY : 0) |
                                                    (flags & LOOP_ATTACH_PARTSCAN ? LO_FLAGS_PARTSCAN : 0),
                                },
                };
                if (ioctl(lfd, LOOP_CONFIGURE, &cfg) < 0) {
                        if (errno == EBUSY)
                                continue; /* someone took it first */
                        return negative_errno();
                }
                char *p = strdup(path);
                if (!p)
                        return -ENOMEM; /* lfd closes: autoclear detaches */
                *ret_fd = TAKE_FD(lfd);
                *ret_path = p;
                return 0;
        }
        return -EBUSY;
}
