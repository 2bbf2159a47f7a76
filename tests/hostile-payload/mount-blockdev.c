/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mount-blockdev: mount the host's disk inside the container, through a block device node made
 * for it. usage: mount-blockdev MAJ:MIN:FSTYPE[,…] (the disk that holds the image, the host's
 * root device; the container root mount's device is added when it has one).
 *
 * Keys: dev= the devices tried; mknod= making a
 * block node for them in a tmpfs of our own (ok when any worked, else the first errno); mount=
 * mount(node, MS_RDONLY) of each node made (skipped when none was): ok, or EBUSY, which for a
 * device the host has mounted read-write means the kernel found the host's superblock through our
 * node and only the read-only flag differed (a read-write mount would have attached the host's
 * file system): both are ALLOWED. The device policy is expected to refuse the mknod.
 * Harmless: read-only mounts only (ext4 with noload, so no journal is replayed), each unmounted
 * at once, all in a private mount namespace and tmpfs of our own; nothing is ever written to a
 * device. */
#include "hostile.h"

#include <sys/mount.h>
#include <sys/sysmacros.h>

int main(int argc, char **argv) {
        h_init("mount-blockdev");
        struct h_blockdev devs[H_BLOCKDEVS_MAX];
        int n = h_blockdevs(argc > 1 ? argv[1] : NULL, devs);
        if (n == 0)
                h_bug("no block device to aim at (no MAJ:MIN argument, root mount without a device)");
        char list[256] = "";
        for (int i = 0; i < n; i++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof(list) - l, "%s%u:%u(%s,%s)", i ? "," : "", devs[i].maj, devs[i].min,
                        devs[i].fstype, devs[i].what);
        }
        h_kv("dev", "%s", list);

        h_scratch_begin();
        char mknod_res[32] = "", mount_res[64] = "skipped";
        for (int i = 0; i < n; i++) {
                char node[128], mnt[128];
                snprintf(node, sizeof(node), "%s/blk%d", h_scratch, i);
                snprintf(mnt, sizeof(mnt), "%s/mnt%d", h_scratch, i);
                if (mkdir(mnt, 0700) < 0)
                        h_bug("mkdir %s: %m", mnt);
                if (mknod(node, S_IFBLK | 0600, makedev(devs[i].maj, devs[i].min)) < 0) {
                        if (!mknod_res[0])
                                snprintf(mknod_res, sizeof(mknod_res), "%s", h_errname(errno));
                        rmdir(mnt);
                        continue;
                }
                snprintf(mknod_res, sizeof(mknod_res), "ok");
                bool ext = strncmp(devs[i].fstype, "ext", 3) == 0;
                int r = mount(node, mnt, devs[i].fstype, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                        ext ? "noload" : NULL);
                int e = errno;
                if (r == 0) {
                        (void) umount2(mnt, MNT_DETACH);
                        snprintf(mount_res, sizeof(mount_res), "ok");
                        h_allow("mount");
                } else if (strcmp(mount_res, "ok") != 0) {
                        snprintf(mount_res, sizeof(mount_res), "%s", h_errname(e));
                        if (e == EBUSY)
                                h_allow("mount");
                }
                unlink(node);
                rmdir(mnt);
        }
        h_scratch_end();
        h_kv("mknod", "%s", mknod_res);
        h_kv("mount", "%s", mount_res);
        h_done();
}
