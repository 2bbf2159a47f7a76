/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mknod-disk: read the host's disk through a block device node, one made in the container
 * (mknod) or one the image ships (the hostile-image case: the driver puts /hostile-disk, a node
 * for the host's disk, into the tree). usage: mknod-disk MAJ:MIN:FSTYPE[,…] [NODE] (the disk that
 * holds the image, the host's root device; NODE is the image's node, default /hostile-disk).
 *
 * Keys: mknod= making a block node for the host's disk (and the root mount's device) in a tmpfs
 * of our own; read= opening such a node O_RDONLY and reading 512 bytes (skipped when no node
 * was made); image_open= opening /hostile-disk O_RDONLY; image_read= reading 512 bytes from it.
 * ALLOWED when any read worked (short(N): fewer bytes, e.g. from an empty loop device, also a
 * read that worked). The device policy is expected to refuse mknod and open.
 * Harmless: O_RDONLY and pread only, never a write; the scratch tmpfs is in a private mount
 * namespace. */
#include "hostile.h"

#include <sys/sysmacros.h>

/* open + pread 512: the read's result ("skipped" when the open failed); *open_res the open's. */
static const char *read_node(const char *path, const char **open_res) {
        static char r1[32], r2[32];
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                snprintf(r1, sizeof(r1), "%s", h_errname(errno));
                *open_res = r1;
                return "skipped";
        }
        *open_res = "ok";
        char buf[512];
        ssize_t k = pread(fd, buf, sizeof(buf), 0);
        if (k == (ssize_t) sizeof(buf))
                snprintf(r2, sizeof(r2), "ok");
        else if (k >= 0)
                snprintf(r2, sizeof(r2), "short(%zd)", k);
        else
                snprintf(r2, sizeof(r2), "%s", h_errname(errno));
        close(fd);
        return r2;
}

int main(int argc, char **argv) {
        h_init("mknod-disk");
        struct h_blockdev devs[H_BLOCKDEVS_MAX];
        int n = h_blockdevs(argc > 1 ? argv[1] : NULL, devs);
        if (n == 0)
                h_bug("no block device to aim at");

        h_scratch_begin();
        char mknod_res[32] = "", read_res[64] = "skipped";
        for (int i = 0; i < n; i++) {
                char node[128];
                snprintf(node, sizeof(node), "%s/disk%d", h_scratch, i);
                if (mknod(node, S_IFBLK | 0600, makedev(devs[i].maj, devs[i].min)) < 0) {
                        if (!mknod_res[0])
                                snprintf(mknod_res, sizeof(mknod_res), "%s", h_errname(errno));
                        continue;
                }
                snprintf(mknod_res, sizeof(mknod_res), "ok");
                const char *o, *r = read_node(node, &o);
                if (strcmp(read_res, "ok") != 0)
                        snprintf(read_res, sizeof(read_res), "%s", strcmp(o, "ok") ? o : r);
                if (strcmp(o, "ok") == 0 && strcmp(r, "skipped") != 0 && strncmp(r, "E", 1) != 0)
                        h_allow("read");
                unlink(node);
        }
        h_scratch_end();
        h_kv("mknod", "%s", mknod_res);
        h_kv("read", "%s", read_res);

        const char *image = argc > 2 ? argv[2] : "/hostile-disk";
        struct stat st;
        if (lstat(image, &st) < 0 || !S_ISBLK(st.st_mode))
                h_bug("the image has no block device node %s", image);
        const char *o, *r = read_node(image, &o);
        h_kv("image_open", "%s", o);
        h_kv("image_read", "%s", r);
        if (strcmp(o, "ok") == 0 && strcmp(r, "skipped") != 0 && strncmp(r, "E", 1) != 0)
                h_allow("image_read");
        h_done();
}
