/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* unshare-userns: regain a full capability set in a new user namespace (with a mount namespace
 * it owns), then try what those capabilities must still not allow, since they count only within
 * namespaces the new one owns. usage: unshare-userns MAJ:MIN[:FSTYPE][,…] (the first is the disk
 * mknod aims at).
 *
 * Keys: unshare= unshare(CLONE_NEWUSER|CLONE_NEWNS) (may succeed; reported), map= writing our
 * uid/gid maps in it; then init_module= init_module(NULL, 0, "") (ENOSYS: no module support in
 * the kernel); add_key= add_key() of a probe key to @u; open_by_handle_at= a guessed ext4 root
 * handle through "/"; mknod= a block node for the host's disk in a tmpfs of the new mount
 * namespace; settimeofday= with tv_usec = 2000000 (validated before the capability check:
 * EINVAL only says no filter stopped it); adjtimex= ADJ_TICK with tick 1 (capability checked
 * first). ALLOWED when a follow-up passed its permission check: init_module other than
 * EPERM/ENOSYS, add_key, open_by_handle_at or mknod ok, adjtimex EINVAL. When unshare fails the
 * follow-ups run all the same, in the namespaces we have. Harmless: as the single programs
 * (keyring, shocker, mknod-disk, settimeofday): a probe key is unlinked at once, no node is
 * opened, no clock value is valid; the mounts live in the new mount namespace only. */
#include "hostile.h"

#include <linux/keyctl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>

static int write_file(const char *path, const char *s) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t k = write(fd, s, strlen(s));
        int e = errno;
        close(fd);
        return k == (ssize_t) strlen(s) ? 0 : -(k < 0 ? e : EIO);
}

int main(int argc, char **argv) {
        h_init("unshare-userns");
        unsigned maj = 0, min = 0;
        if (argc < 2 || !h_parse_dev(argv[1], &maj, &min))
                h_bug("usage: unshare-userns MAJ:MIN[:FSTYPE][,…]");
        uid_t uid = geteuid();
        gid_t gid = getegid();
        int r = unshare(CLONE_NEWUSER | CLONE_NEWNS);
        h_res("unshare", r, errno);
        if (r == 0) {
                char m[64];
                snprintf(m, sizeof(m), "0 %u 1", (unsigned) uid);
                int a = write_file("/proc/self/uid_map", m);
                int b = write_file("/proc/self/setgroups", "deny");
                snprintf(m, sizeof(m), "0 %u 1", (unsigned) gid);
                int c = write_file("/proc/self/gid_map", m);
                int first = a < 0 ? a : b < 0 ? b : c;
                h_kv("map", "%s", first < 0 ? h_errname(-first) : "ok");
        }

        long k = syscall(SYS_init_module, NULL, 0UL, "");
        int e = errno;
        h_res("init_module", k, e);
        if (k >= 0 || (e != EPERM && e != ENOSYS))
                h_allow("init_module");

        k = syscall(SYS_add_key, "user", "cowpen-hostile-probe-userns", "x", 1UL, (long) KEY_SPEC_USER_KEYRING);
        if (h_res("add_key", k, errno) >= 0) {
                h_allow("add_key");
                (void) syscall(SYS_keyctl, KEYCTL_UNLINK, k, (long) KEY_SPEC_USER_KEYRING);
                (void) syscall(SYS_keyctl, KEYCTL_INVALIDATE, k);
        }

        struct {
                struct file_handle fh;
                unsigned ino_gen[2];
        } h = {.fh = {.handle_bytes = 8, .handle_type = 1}, .ino_gen = {2, 0}};
        int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fd = open_by_handle_at(root, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (h_res("open_by_handle_at", fd, errno) >= 0) {
                h_allow("open_by_handle_at");
                close(fd);
        }
        close(root);

        /* In the new mount namespace (when we have it) a tmpfs of ours holds the node. */
        char dir[] = "/tmp/hostile-userns.XXXXXX";
        if (!mkdtemp(dir))
                h_bug("mkdtemp: %m");
        if (r == 0)
                (void) mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        bool mounted = mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0700") == 0;
        char node[64];
        snprintf(node, sizeof(node), "%s/disk", dir);
        if (h_ret("mknod", mknod(node, S_IFBLK | 0600, makedev(maj, min))) >= 0) {
                h_allow("mknod");
                unlink(node);
        }
        if (mounted)
                (void) umount2(dir, MNT_DETACH);
        (void) rmdir(dir);

        struct timeval tv = {.tv_sec = 0, .tv_usec = 2000000};
        k = syscall(SYS_settimeofday, &tv, NULL);
        h_res("settimeofday", k, errno);
        if (k == 0)
                h_allow("settimeofday");
        struct timex tx = {.modes = ADJ_TICK, .tick = 1};
        k = syscall(SYS_adjtimex, &tx);
        e = errno;
        h_res("adjtimex", k, e);
        if (k >= 0 || e == EINVAL)
                h_allow("adjtimex");
        h_done();
}
