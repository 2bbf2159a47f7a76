/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "fd-util.h"
#include "spawn-stub.h"
#include "spawn-stubinit-blob.h"
#include "util.h"
#include "uuid-util.h"

/* The -a stub init (stubinit/stubinit.c) in a sealed memfd, made by the parent and exec'd by
 * the container's first process once it has become what the stub should be. Untrusted input:
 * none. */

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: say that this memfd is meant to be executed */
#endif

int spawn_stub_memfd(int *ret) {
        int fd = memfd_create("cowpen-stubinit", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && errno == EINVAL)
                fd = memfd_create("cowpen-stubinit", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        int r = loop_write(fd, stubinit_blob, sizeof(stubinit_blob));
        /* Nobody, not even a process that gets hold of the fd, can change it now. */
        if (r >= 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                r = negative_errno();
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        *ret = fd;
        return 0;
}

int spawn_stub_exec(int stub_fd, pid_t payload, const uint8_t id[16]) {
        char pid[16], u[UUID_STRING_MAX], uuid[64];
        snprintf(pid, sizeof(pid), "%i", (int) payload);
        uuid_format(id, u);
        snprintf(uuid, sizeof(uuid), "container_uuid=%s", u);
        /* What the container's tools read from /proc/1/environ, and nothing of the host's. */
        char *argv[] = { (char *) "cowpen", pid, NULL };
        char *envp[] = { (char *) "container=cowpen", uuid, NULL };
        syscall(SYS_execveat, stub_fd, "", argv, envp, AT_EMPTY_PATH);
        return negative_errno();
}
