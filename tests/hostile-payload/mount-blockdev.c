/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mount-blockdev: mount the host's disk inside the container, through a block device node made
 * for it, or through one the image ships. usage: mount-blockdev MAJ:MIN:FSTYPE[,…] [NODE] (the
 * disk that holds the image, the host's root device; the container root mount's device is added
 * when it has one; NODE is the image's node for the first of them, default /hostile-disk).
 *
 * Keys: dev= the devices tried; mknod= making a block node for them in a tmpfs of our own (ok
 * when any worked, else the first errno); mount= mount(node, MS_RDONLY) of each node made
 * (skipped when none was); image_mount= the same through the image's node. A mount that worked,
 * or EBUSY, is ALLOWED: for a device the host has mounted read-write, EBUSY means the kernel found
 * the host's superblock through the node and only the read-only flag differed, so a read-write
 * mount would have attached the host's file system. The device policy is not asked there (the
 * kernel opens no device when it reuses a mounted superblock), so the image's node must be
 * refused before: EACCES (a nodev mount) or EPERM. Harmless: read-only mounts only (ext4 with
 * noload, so no journal is replayed), each unmounted at once, all in a private mount namespace
 * and tmpfs of our own; nothing is ever written to a device. */
#include "hostile.h"

#include <sys/mount.h>
#include <sys/sysmacros.h>

/* mount(NODE, MS_RDONLY) on a fresh directory of the scratch tmpfs, unmounted at once: 0 or the
 * errno. */
static int try_mount(const char *node, const char *fstype, int i) {
        char mnt[128];
        snprintf(mnt, sizeof(mnt), "%s/mnt%d", h_scratch, i);
        if (mkdir(mnt, 0700) < 0)
                h_bug("mkdir %s: %m", mnt);
        bool ext = strncmp(fstype, "ext", 3) == 0;
        int r = mount(node, mnt, fstype, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, ext ? "noload" : NULL);
        int e = r < 0 ? errno : 0;
        if (r == 0)
                (void) umount2(mnt, MNT_DETACH);
        (void) rmdir(mnt);
        return e;
}

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
        const char *image = argc > 2 ? argv[2] : "/hostile-disk";
        struct stat st;
        if (lstat(image, &st) < 0 || !S_ISBLK(st.st_mode))
                h_bug("the image has no block device node %s", image);

        h_scratch_begin();
        char mknod_res[32] = "", mount_res[32] = "skipped";
        for (int i = 0; i < n; i++) {
                char node[128];
                snprintf(node, sizeof(node), "%s/blk%d", h_scratch, i);
                if (mknod(node, S_IFBLK | 0600, makedev(devs[i].maj, devs[i].min)) < 0) {
                        if (!mknod_res[0])
                                snprintf(mknod_res, sizeof(mknod_res), "%s", h_errname(errno));
                        continue;
                }
                snprintf(mknod_res, sizeof(mknod_res), "ok");
                int e = try_mount(node, devs[i].fstype, i);
                if (e == 0 || e == EBUSY)
                        h_allow("mount");
                if (strcmp(mount_res, "ok") != 0)
                        snprintf(mount_res, sizeof(mount_res), "%s", e ? h_errname(e) : "ok");
                unlink(node);
        }
        int e = try_mount(image, devs[0].fstype, n);
        h_scratch_end();
        h_kv("mknod", "%s", mknod_res);
        h_kv("mount", "%s", mount_res);
        h_kv("image_mount", "%s", e ? h_errname(e) : "ok");
        if (e == 0 || e == EBUSY)
                h_allow("image_mount");
        h_done();
}
