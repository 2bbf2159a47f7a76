/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fd-util.h"
#include "mount-util.h"
#include "spawn-mount.h"
#include "util.h"

/* The container's mounts, made by its first process in its own mount namespace before
 * pivot_root: nothing here is visible on the host, and all of it goes away with the namespace.
 *
 * Untrusted input: the tree of the container (symlinks and names in it). Every mount target
 * inside the root is resolved with openat2(RESOLVE_IN_ROOT) to an O_PATH fd and mounted on via
 * /proc/self/fd/N, so a symlink in the image can never redirect a mount out of the root. */

/* -L: the label of the API file systems we make (tmpfs, devpts, mqueue), as a mount option. */
static const char *apifs_label = NULL;

static int mount_fd(const char *source, int target_fd, const char *fstype, unsigned long flags, const char *data) {
        char t[FD_PATH_MAX];
        _cleanup_free_ char *labelled = NULL;
        if (apifs_label && fstype && (streq(fstype, "tmpfs") || streq(fstype, "devpts") || streq(fstype, "mqueue"))) {
                if (asprintf(&labelled, "%s%scontext=\"%s\"", data ?: "", data ? "," : "", apifs_label) < 0)
                        return -ENOMEM;
                data = labelled;
        }
        return RET_NERRNO(mount(source, fd_path(t, target_fd), fstype, flags, data));
}

/* Mounts a file system at path below root_fd (made if missing). */
static int mount_at(int root_fd, const char *path, const char *fstype, unsigned long flags, const char *data,
                    Diag *diag) {
        _cleanup_close_ int t = -EBADF;
        int r = open_mount_target(root_fd, path, true, &t);
        if (r < 0)
                return diag_fail(diag, r, NULL, "mount point %s: %m", path);
        r = mount_fd(fstype, t, fstype, flags, data);
        if (r < 0)
                return diag_fail(diag, r, NULL, "mount %s on %s: %m", fstype, path);
        return 0;
}

static int overlay_options(char **lower, size_t n_lower, int upper_fd, int work_fd, char **ret) {
        /* overlayfs lists the top-most lower layer first. */
        size_t sz = 64 + n_lower * FD_PATH_MAX + 2 * FD_PATH_MAX + 32;
        char *o = malloc(sz);
        if (!o)
                return -ENOMEM;
        size_t k = (size_t) snprintf(o, sz, "lowerdir=");
        for (size_t i = n_lower; i > 0; i--)
                k += (size_t) snprintf(o + k, sz - k, "%s%s", lower[i - 1], i > 1 ? ":" : "");
        if (upper_fd >= 0) {
                char u[FD_PATH_MAX], w[FD_PATH_MAX];
                k += (size_t) snprintf(o + k, sz - k, ",upperdir=%s,workdir=%s", fd_path(u, upper_fd), fd_path(w, work_fd));
        }
        *ret = o;
        return 0;
}

/* overlayfs at target: the one lower layer lfd below the upper and work directories ufd and wfd. */
static int mount_overlay_on(const char *target, int lfd, int ufd, int wfd, const char *what, Diag *diag) {
        char l[FD_PATH_MAX];
        char *lower[] = { (char *) fd_path(l, lfd) };
        _cleanup_free_ char *opts = NULL;
        int r = overlay_options(lower, 1, ufd, wfd, &opts);
        if (r < 0)
                return diag_fail(diag, r, NULL, "overlay options: %m");
        if (mount("overlay", target, "overlay", 0, opts) < 0)
                return diag_fail(diag, negative_errno(), NULL, "mount %s overlay: %m", what);
        return 0;
}

int mount_root(const PreparedRoot *p, const char **ret_path, Diag *diag) {
        /* Nothing we mount may propagate to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return diag_fail(diag, negative_errno(), NULL, "make mounts private: %m");

        if (prepared_root_has_overlay(p)) {
                /* The layers are opened here, in the container's namespace: overlayfs wants
                 * layers it can clone privately from the caller's namespace. */
                _cleanup_close_ int lfd = open(p->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int ufd = open(p->overlay_upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int wfd = open(p->overlay_work, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (lfd < 0 || ufd < 0 || wfd < 0)
                        return diag_fail(diag, negative_errno(), NULL, "open overlay layers: %m");
                /* The lower layer must be the tree the root was prepared from: an update may have
                 * swapped another generation in under its name since (renameat2 exchange). */
                struct stat a, b;
                if (fstat(lfd, &a) < 0 || fstat(p->fd, &b) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "overlay lower layer: %m");
                if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
                        return diag_fail(diag, -ESTALE, NULL,
                                         "the image was replaced by a new generation while the container started; run it again");
                int r = mount_overlay_on(p->overlay_mountpoint, lfd, ufd, wfd, "ephemeral", diag);
                if (r < 0)
                        return r;
                *ret_path = p->overlay_mountpoint;
                return 0;
        }
        if (mount(p->path, p->path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return diag_fail(diag, negative_errno(), NULL, "bind mount root: %m");
        *ret_path = p->path;
        return 0;
}

/* --volatile=yes: a tmpfs root (tfd) with the image's (lfd) /usr read-only; the merged-/usr
 * symlinks (bin → usr/bin, …) of the image are recreated so commands resolve. */
static int mount_volatile_usr(int lfd, int tfd, Diag *diag) {
        _cleanup_close_ int ufd = openat2_resolve(lfd, "usr", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (ufd < 0)
                return diag_fail(diag, ufd, NULL, "volatile: the image has no /usr: %m");
        if (mkdirat(tfd, "usr", 0755) < 0)
                return diag_fail(diag, negative_errno(), NULL, "volatile: mkdir /usr: %m");
        int r = 0;
        _cleanup_close_ int ut = openat(tfd, "usr", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (ut < 0 || (r = bind_fd(ufd, ut, true, true)) < 0)
                return diag_fail(diag, ut < 0 ? negative_errno() : r, NULL, "volatile: bind /usr: %m");
        static const char *const links[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                char target[64];
                ssize_t n = readlinkat(lfd, links[i], target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = 0;
                if ((startswith(target, "usr/") || startswith(target, "/usr/")) && symlinkat(target, tfd, links[i]) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "volatile: symlink /%s: %m", links[i]);
        }
        return 0;
}

/* --volatile=overlay: the image (lfd) below an upper layer on the tmpfs tfd, mounted at root. */
static int mount_volatile_overlay(const char *root, int lfd, int tfd, Diag *diag) {
        struct stat st;
        if (fstat(lfd, &st) < 0)
                return diag_fail(diag, negative_errno(), NULL, "stat root: %m");
        if (mkdirat(tfd, "upper", st.st_mode & 07777) < 0 || mkdirat(tfd, "work", 0700) < 0)
                return diag_fail(diag, negative_errno(), NULL, "volatile: make overlay layers: %m");
        _cleanup_close_ int ufd = openat(tfd, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int wfd = openat(tfd, "work", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (ufd < 0 || wfd < 0)
                return diag_fail(diag, negative_errno(), NULL, "volatile: open overlay layers: %m");
        if (fchownat(ufd, "", st.st_uid, st.st_gid, AT_EMPTY_PATH) < 0)
                return diag_fail(diag, negative_errno(), NULL, "volatile: chown upper layer: %m");
        return mount_overlay_on(root, lfd, ufd, wfd, "volatile", diag);
}

static int mount_volatile(const SpawnConfig *c, const char *root, uid_t root_uid, Diag *diag) {
        if (c->volatile_mode != VOLATILE_YES && c->volatile_mode != VOLATILE_OVERLAY)
                return 0;
        _cleanup_close_ int lfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (lfd < 0)
                return diag_fail(diag, negative_errno(), NULL, "open root: %m");
        /* Its root directory the container root's (with a user namespace: the range's base). */
        char tmpfs_opts[64];
        snprintf(tmpfs_opts, sizeof(tmpfs_opts), "mode=0755,uid=%u,gid=%u", (unsigned) root_uid, (unsigned) root_uid);
        if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, tmpfs_opts) < 0)
                return diag_fail(diag, negative_errno(), NULL, "mount volatile tmpfs: %m");
        _cleanup_close_ int tfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tfd < 0)
                return diag_fail(diag, negative_errno(), NULL, "open volatile tmpfs: %m");
        if (c->volatile_mode == VOLATILE_YES)
                return mount_volatile_usr(lfd, tfd, diag);
        return mount_volatile_overlay(root, lfd, tfd, diag);
}

int mount_root_finish(const SpawnConfig *c, const char *root, uid_t root_uid, char *buf, size_t buflen,
                      const char **ret_path, Diag *diag) {
        int r = mount_volatile(c, root, root_uid, diag);
        if (r < 0)
                return r;
        /* No device node of the image can be used: a hostile image may ship one with the numbers
         * of a host disk, and the device policy does not see a mount() of a disk the host has
         * mounted already (the kernel reuses its super block without opening the device). The
         * container's /dev is a tmpfs of its own, mounted later, without nodev. */
        struct mount_attr nodev = { .attr_set = MOUNT_ATTR_NODEV };
        if (mount_setattr(AT_FDCWD, root, AT_RECURSIVE, &nodev, sizeof(nodev)) < 0)
                return diag_fail(diag, negative_errno(), NULL, "make the root nodev: %m");
        if (strlen(root) >= buflen)
                return diag_fail(diag, -ENAMETOOLONG, NULL, "root path: %m");
        strcpy(buf, root);
        *ret_path = buf;
        return 0;
}

int mount_make_root_read_only(const char *root_path, Diag *diag) {
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
        if (mount_setattr(AT_FDCWD, root_path, 0, &attr, sizeof(attr)) < 0)
                return diag_fail(diag, negative_errno(), NULL, "make root read-only: %m");
        return 0;
}

/* Device nodes of the minimal /dev: made with mknod, or bound from the host where mknod is not
 * allowed (as it will not be inside a user namespace). */
static const struct {
        const char *name;
        unsigned major, minor;
} dev_nodes[] = {
        { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static int setup_dev(int root_fd, const char *console_path, Diag *diag) {
        int r = mount_at(root_fd, "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=0755,size=4m,nr_inodes=64k", diag);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = openat2_resolve(root_fd, "dev", O_RDONLY | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (dfd < 0)
                return diag_fail(diag, dfd, NULL, "open /dev: %m");

        for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
                if (mknodat(dfd, dev_nodes[i].name, S_IFCHR | 0666, makedev(dev_nodes[i].major, dev_nodes[i].minor)) >= 0) {
                        /* mknod applies the umask */
                        if (fchmodat(dfd, dev_nodes[i].name, 0666, 0) < 0)
                                return diag_fail(diag, negative_errno(), NULL, "chmod /dev/%s: %m", dev_nodes[i].name);
                        continue;
                }
                if (errno != EPERM)
                        return diag_fail(diag, negative_errno(), NULL, "mknod /dev/%s: %m", dev_nodes[i].name);
                char host[64];
                snprintf(host, sizeof(host), "/dev/%s", dev_nodes[i].name);
                _cleanup_close_ int s = open(host, O_PATH | O_CLOEXEC), t = -EBADF;
                if (s < 0 || (r = open_mount_target(dfd, dev_nodes[i].name, false, &t)) < 0 || (r = bind_fd(s, t, false, false)) < 0)
                        return diag_fail(diag, s < 0 ? negative_errno() : r, NULL, "bind /dev/%s: %m", dev_nodes[i].name);
        }
        static const char *const links[][2] = {
                { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
                { "/proc/self/fd/2", "stderr" }, { "/proc/kcore", "core" }, { "pts/ptmx", "ptmx" },
        };
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i][0], dfd, links[i][1]) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "symlink /dev/%s: %m", links[i][1]);

        if (mkdirat(dfd, "pts", 0755) < 0 || mkdirat(dfd, "shm", 01777) < 0 || mkdirat(dfd, "mqueue", 0755) < 0)
                return diag_fail(diag, negative_errno(), NULL, "mkdir in /dev: %m");
        if ((r = mount_at(root_fd, "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620,gid=5", diag)) < 0 ||
            (r = mount_at(root_fd, "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=01777,size=50%", diag)) < 0)
                return r;
        /* mqueue needs the IPC namespace we own; a kernel without it just has no /dev/mqueue. */
        (void) mount_at(root_fd, "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, NULL);

        if (console_path) {
                /* Opened by name here: a bind needs the pty as seen in this mount namespace. */
                _cleanup_close_ int s = open(console_path, O_PATH | O_CLOEXEC), t = -EBADF;
                if (s < 0)
                        return diag_fail(diag, negative_errno(), NULL, "open console %s: %m", console_path);
                if ((r = open_mount_target(dfd, "console", false, &t)) < 0 || (r = bind_fd(s, t, false, false)) < 0)
                        return diag_fail(diag, r, NULL, "bind /dev/console: %m");
        }
        return 0;
}

/* What systemd-nspawn hides or makes read-only in /proc. */
static const char *const proc_inaccessible[] = { "kallsyms", "kcore", "keys", "kmsg", "sysrq-trigger", "timer_list" };
static const char *const proc_read_only[] = { "acpi", "apm", "asound", "bus", "fs", "irq", "scsi" };

static int setup_proc(int root_fd, const SpawnConfig *c, Diag *diag) {
        int r = mount_at(root_fd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, diag);
        if (r < 0)
                return r;
        _cleanup_close_ int pfd = openat2_resolve(root_fd, "proc", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (pfd < 0)
                return diag_fail(diag, pfd, NULL, "open /proc: %m");

        /* /proc/sys read-only, except /proc/sys/net with a network namespace of our own. */
        _cleanup_close_ int sys = openat(pfd, "sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (sys < 0)
                return diag_fail(diag, negative_errno(), NULL, "open /proc/sys: %m");
        if (c->private_network) {
                _cleanup_close_ int net = openat(sys, "net", O_PATH | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int tree = open_tree(sys, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (net < 0 || tree < 0)
                        return diag_fail(diag, negative_errno(), NULL, "bind /proc/sys: %m");
                /* Read-only sys first, then a writable net on top of it. */
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
                _cleanup_close_ int ntree = open_tree(net, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
                if (ntree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ||
                    move_mount(tree, "", sys, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "read-only /proc/sys: %m");
                _cleanup_close_ int net2 = openat2_resolve(root_fd, "proc/sys/net", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT);
                if (net2 < 0 || move_mount(ntree, "", net2, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return diag_fail(diag, net2 < 0 ? net2 : negative_errno(), NULL, "writable /proc/sys/net: %m");
        } else if ((r = bind_fd(sys, sys, false, true)) < 0)
                return diag_fail(diag, r, NULL, "read-only /proc/sys: %m");

        for (size_t i = 0; i < ELEMENTSOF(proc_read_only); i++) {
                _cleanup_close_ int fd = openat(pfd, proc_read_only[i], O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        continue; /* not in this kernel */
                if ((r = bind_fd(fd, fd, true, true)) < 0)
                        return diag_fail(diag, r, NULL, "read-only /proc/%s: %m", proc_read_only[i]);
        }

        _cleanup_close_ int dfd = openat2_resolve(root_fd, "dev", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (dfd < 0)
                return diag_fail(diag, dfd, NULL, "open /dev: %m");

        /* A boot ID of the container's own, as nspawn gives it. */
        static const char bootid[] = ".#boot-id";
        _cleanup_free_ char *hex = NULL;
        r = random_hex(16, &hex);
        if (r < 0)
                return diag_fail(diag, r, NULL, "boot id: %m");
        char text[38];
        snprintf(text, sizeof(text), "%.8s-%.4s-4%.3s-%c%.3s-%.12s\n", hex, hex + 8, hex + 13,
                 "89ab"[hex[16] & 3], hex + 17, hex + 20); /* a random (v4) UUID, as the kernel's */
        _cleanup_close_ int bfd = openat(dfd, bootid, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
        if (bfd < 0 || loop_write(bfd, text, strlen(text)) < 0)
                return diag_fail(diag, bfd < 0 ? negative_errno() : -EIO, NULL, "boot id: %m");
        _cleanup_close_ int target = openat2_resolve(root_fd, "proc/sys/kernel/random/boot_id", O_PATH, 0, RESOLVE_ROOT);
        if (target >= 0)
                r = bind_fd(bfd, target, false, true);
        (void) unlinkat(dfd, bootid, 0);
        if (r < 0)
                return diag_fail(diag, r, NULL, "bind /proc/sys/kernel/random/boot_id: %m");
        return 0;
}

/* Inaccessible /proc entries: an empty mode-0 file bound over each, kept as
 * /run/host/inaccessible/reg: systemd's services mount over these paths again
 * (ProtectKernelLogs=), which a bind of a deleted file would refuse. The directory holds the
 * whole set that systemd-nspawn provides (reg, dir, fifo, sock, chr, blk, all mode 0): a systemd
 * inside uses it for its own masks (ProtectHome=…) instead of making its own. */
static int mask_proc(int root_fd, Diag *diag) {
        _cleanup_close_ int pfd = openat2_resolve(root_fd, "proc", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT);
        _cleanup_close_ int run = openat2_resolve(root_fd, "run", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (pfd < 0 || run < 0)
                return diag_fail(diag, pfd < 0 ? pfd : run, NULL, "open /proc and /run: %m");
        if ((mkdirat(run, "host", 0755) < 0 && errno != EEXIST))
                return diag_fail(diag, negative_errno(), NULL, "mkdir /run/host: %m");
        _cleanup_close_ int host = openat(run, "host", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (host < 0 || (mkdirat(host, "inaccessible", 0755) < 0 && errno != EEXIST))
                return diag_fail(diag, negative_errno(), NULL, "mkdir /run/host/inaccessible: %m");
        _cleanup_close_ int inacc = openat(host, "inaccessible", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (inacc < 0)
                return diag_fail(diag, negative_errno(), NULL, "open /run/host/inaccessible: %m");
        _cleanup_close_ int ifd = openat(inacc, "reg", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0000);
        if (ifd < 0)
                return diag_fail(diag, negative_errno(), NULL, "make /run/host/inaccessible/reg: %m");
        static const struct {
                const char *name;
                mode_t mode;
        } nodes[] = { { "fifo", S_IFIFO }, { "sock", S_IFSOCK }, { "chr", S_IFCHR }, { "blk", S_IFBLK } };
        if (mkdirat(inacc, "dir", 0000) < 0)
                return diag_fail(diag, negative_errno(), NULL, "make /run/host/inaccessible/dir: %m");
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++)
                if (mknodat(inacc, nodes[i].name, nodes[i].mode | 0000, makedev(0, 0)) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "make /run/host/inaccessible/%s: %m", nodes[i].name);
        for (size_t i = 0; i < ELEMENTSOF(proc_inaccessible); i++) {
                _cleanup_close_ int fd = openat(pfd, proc_inaccessible[i], O_PATH | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        continue;
                int r = bind_fd(ifd, fd, false, true);
                if (r < 0)
                        return diag_fail(diag, r, NULL, "mask /proc/%s: %m", proc_inaccessible[i]);
        }
        return 0;
}

int mount_api_vfs(int root_fd, const SpawnConfig *c, const char *console_path, Diag *diag) {
        int r;
        apifs_label = c->selinux_apifs_context;
        if ((r = setup_dev(root_fd, console_path, diag)) < 0 || (r = setup_proc(root_fd, c, diag)) < 0)
                return r;
        r = mount_at(root_fd, "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, diag);
        if (r < 0)
                return r;
        /* The cgroup namespace's view of the unified hierarchy, read-only; none on hosts without it.
         * Booting (-b), the container's own delegated subtree, writable (spawn-boot.c). */
        _cleanup_close_ int cg = openat2_resolve(root_fd, "sys/fs/cgroup", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (cg >= 0 && !c->boot)
                (void) mount_fd("cgroup2", cg, "cgroup2", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        if ((r = mount_at(root_fd, "run", "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=0755,size=20%", diag)) < 0 ||
            (r = mask_proc(root_fd, diag)) < 0)
                return r;
        if ((r = mount_at(root_fd, "tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=01777", diag)) < 0)
                return r;
        if (c->volatile_mode == VOLATILE_STATE)
                if ((r = mount_at(root_fd, "var", "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=0755", diag)) < 0)
                        return r;
        return 0;
}

/* An overlay layer: a host path, or "+PATH" of the container's root, resolved inside it. */
static int open_overlay_layer(int root_fd, const char *path) {
        if (path[0] == '+')
                return openat2_resolve(root_fd, path + 1, O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT);
        return RET_NERRNO(open(path, O_PATH | O_DIRECTORY | O_CLOEXEC));
}

/* The work directory of an upper layer "+PATH" (spawn_run named it, next to that layer): made in
 * the root, its parent resolved inside it; spawn_run removes it after the run. */
static int make_overlay_work_dir(int root_fd, const char *path) {
        const char *slash = strrchr(path, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        _cleanup_free_ char *parent = strndup(path, (size_t) (slash - path));
        if (!parent)
                return -ENOMEM;
        _cleanup_close_ int pfd = openat2_resolve(root_fd, *parent ? parent : "/", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (pfd < 0)
                return pfd;
        int r = make_mount_point(pfd, slash + 1, true);
        if (r < 0)
                return r;
        return RET_NERRNO(openat(pfd, slash + 1, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

static int mount_custom_one(int root_fd, const CustomMount *m, int userns_fd, int owner_ns_fd, uid_t owner,
                            Diag *diag) {
        _cleanup_close_ int t = -EBADF;
        int r;
        switch (m->type) {
        case CUSTOM_MOUNT_BIND: {
                _cleanup_close_ int s = m->source_in_root ? openat2_resolve(root_fd, m->source, O_PATH, 0, RESOLVE_ROOT)
                                                          : open(m->source, O_PATH | O_CLOEXEC);
                if (s < 0)
                        return diag_fail(diag, m->source_in_root ? s : negative_errno(), NULL, "bind source %s%s: %m",
                                           m->source_in_root ? "+" : "", m->source);
                struct stat st;
                if (fstat(s, &st) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "bind source %s: %m", m->source);
                if ((r = open_mount_target(root_fd, m->destination, S_ISDIR(st.st_mode), &t)) < 0)
                        return diag_fail(diag, r, NULL, "bind destination %s: %m", m->destination);
                /* idmap: the container's own mapping (on-disk 0… is the container's 0…);
                 * rootidmap: a mapping of the source's owner alone, to the container's root (uid
                 * and gid by that number, as nspawn's make_userns() writes both maps). */
                int ns = -EBADF;
                if (m->idmap != BIND_IDMAP_NONE && userns_fd < 0)
                        return diag_fail(diag, -EINVAL, NULL, "bind %s: %s needs --private-users", m->source,
                                           bind_idmap_to_string(m->idmap));
                if (m->idmap == BIND_IDMAP_CONTAINER)
                        ns = userns_fd;
                else if (m->idmap == BIND_IDMAP_OWNER) {
                        /* Made by the parent (it needs the host's /proc): spawn_run(). The owner
                         * it mapped must still be the source's. */
                        ns = owner_ns_fd;
                        if (ns < 0)
                                return diag_fail(diag, -EINVAL, NULL, "bind %s: no user namespace for rootidmap", m->source);
                        if (st.st_uid != owner)
                                return diag_fail(diag, -EBUSY, NULL, "bind %s: its owner changed meanwhile", m->source);
                }
                if ((r = bind_fd_idmapped(s, t, m->recursive, m->read_only, ns)) < 0)
                        return diag_fail(diag, r, NULL, ns >= 0 ? "idmapped bind %s on %s: %m" : "bind %s on %s: %m", m->source,
                                           m->destination);
                return 0;
        }
        case CUSTOM_MOUNT_TMPFS:
                if ((r = open_mount_target(root_fd, m->destination, true, &t)) < 0)
                        return diag_fail(diag, r, NULL, "tmpfs destination %s: %m", m->destination);
                if ((r = mount_fd("tmpfs", t, "tmpfs", MS_NOSUID | MS_NODEV, m->options)) < 0)
                        return diag_fail(diag, r, NULL, "tmpfs on %s: %m", m->destination);
                return 0;
        case CUSTOM_MOUNT_OVERLAY: {
                size_t n = strv_length(m->lower);
                int fds[SPAWN_OVERLAY_LAYERS_MAX + 2];
                char paths[SPAWN_OVERLAY_LAYERS_MAX + 1][FD_PATH_MAX];
                char *lower[SPAWN_OVERLAY_LAYERS_MAX + 1];
                size_t nf = 0;
                int ufd = -EBADF, wfd = -EBADF;
                r = 0;
                for (size_t i = 0; i < n && i <= SPAWN_OVERLAY_LAYERS_MAX && r >= 0; i++) {
                        int fd = open_overlay_layer(root_fd, m->lower[i]);
                        if (fd < 0)
                                r = diag_fail(diag, fd, NULL, "overlay layer %s: %m", m->lower[i]);
                        else {
                                fds[nf++] = fd;
                                lower[i] = (char *) fd_path(paths[i], fd);
                        }
                }
                if (r >= 0 && m->upper) {
                        ufd = open_overlay_layer(root_fd, m->upper);
                        if (ufd < 0)
                                r = diag_fail(diag, ufd, NULL, "overlay upper layer %s: %m", m->upper);
                }
                if (r >= 0 && m->upper) {
                        wfd = m->work_dir && m->work_dir[0] == '+' ? make_overlay_work_dir(root_fd, m->work_dir + 1)
                              : m->work_dir                        ? open_overlay_layer(root_fd, m->work_dir)
                                                                   : -EINVAL;
                        if (wfd < 0)
                                r = diag_fail(diag, wfd, NULL, "overlay work directory %s: %m", m->work_dir ?: "");
                }
                _cleanup_free_ char *opts = NULL;
                if (r >= 0 && (r = overlay_options(lower, n, ufd, wfd, &opts)) < 0)
                        (void) diag_fail(diag, r, NULL, "overlay options: %m");
                if (r >= 0 && (r = open_mount_target(root_fd, m->destination, true, &t)) < 0)
                        (void) diag_fail(diag, r, NULL, "overlay destination %s: %m", m->destination);
                if (r >= 0 && (r = mount_fd("overlay", t, "overlay", m->read_only ? MS_RDONLY : 0, opts)) < 0)
                        (void) diag_fail(diag, r, NULL, "overlay on %s: %m", m->destination);
                for (size_t i = 0; i < nf; i++)
                        safe_close(fds[i]);
                safe_close(ufd);
                safe_close(wfd);
                return r < 0 ? r : 0;
        }
        case _CUSTOM_MOUNT_TYPE_MAX:
        default:
                return diag_fail(diag, -EINVAL, NULL, "unknown mount type");
        }
}

int mount_custom(int root_fd, const SpawnConfig *c, int userns_fd, const BindOwnerMaps *o, Diag *diag) {
        for (size_t i = 0; i < c->n_mounts; i++) {
                int r = mount_custom_one(root_fd, &c->mounts[i], userns_fd, o && o->fds ? o->fds[i] : -EBADF,
                                         o && o->owners ? o->owners[i] : (uid_t) -1, diag);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --inaccessible=PATH: the empty mode-0 node of the path's type from /run/host/inaccessible
 * (made by mask_proc), bound read-only over it, as nspawn does. The path is the container's
 * (symlinks resolved inside the root) and must exist. */
int mount_inaccessible(int root_fd, const SpawnConfig *c, Diag *diag) {
        for (char **p = c->inaccessible; p && *p; p++) {
                _cleanup_close_ int t = openat2_resolve(root_fd, *p, O_PATH, 0, RESOLVE_ROOT);
                if (t < 0)
                        return diag_fail(diag, t, NULL, "inaccessible path %s: %m", *p);
                struct stat st;
                if (fstat(t, &st) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "inaccessible path %s: %m", *p);
                const char *node = S_ISDIR(st.st_mode)    ? "dir"
                                   : S_ISCHR(st.st_mode)  ? "chr"
                                   : S_ISBLK(st.st_mode)  ? "blk"
                                   : S_ISFIFO(st.st_mode) ? "fifo"
                                   : S_ISSOCK(st.st_mode) ? "sock"
                                                          : "reg";
                char src[64];
                snprintf(src, sizeof(src), "run/host/inaccessible/%s", node);
                _cleanup_close_ int s = openat2_resolve(root_fd, src, O_PATH, 0, RESOLVE_ROOT);
                if (s < 0)
                        return diag_fail(diag, s, NULL, "open /%s: %m", src);
                int r = bind_fd(s, t, false, true);
                if (r < 0)
                        return diag_fail(diag, r, NULL, "mask %s: %m", *p);
        }
        return 0;
}
