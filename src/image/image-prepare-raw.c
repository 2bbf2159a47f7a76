/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The prepared root of a raw image (-i FILE, or -M NAME whose image is NAME.raw): its partitions
 * found by image-dissect.c, verity through src/verity (a dm-verity device, or the fully checked
 * pinned copy on a read-only loop device) for the root and the usr partition each, the image
 * policy, the image's lock, and the root (its file system, or a tmpfs for a usr-only image) with
 * the usr partition at its /usr, mounted in a mount namespace private to cowpen (so nothing of it
 * is visible on the host, and all of it goes when cowpen ends). -x: the verified file systems
 * below an overlay when verity protects the whole image, else a private copy. The machine name and the settings
 * file come from the image file's name (NAME.raw → NAME, NAME.nspawn next to it).
 *
 * Untrusted input: the image (through image-dissect.c and src/verity), its sidecar files and
 * xattr (found and size-limited by verity-sidecar.c, hex and PKCS#7 checked by src/verity), the
 * root-verity-sig and usr-verity-sig partitions' JSON (size-limited, parsed by
 * verity_sig_json_parse), the --image-policy string (length-limited, image-policy.c) and the root
 * file system's usr directory (opened without following symlinks before usr is mounted on it);
 * the mounted tree is only probed for os-release with RESOLVE_IN_ROOT (dir_is_os_tree). Whatever
 * is present must check out, for the root and the usr partition each: a root hash without a hash
 * tree, a hash tree or signature without a root hash, a signature from an untrusted certificate:
 * refused. The image path comes from the command line. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlopen-util.h"
#include "fd-util.h"
#include "image-dissect.h"
#include "image-loop.h"
#include "image-policy.h"
#include "image-prepare-internal.h"
#include "loop-util.h"
#include "util.h"
#include "verity.h"

/* One data partition (root or usr) on its device. */
typedef struct RawPartition {
        int device_fd;          /* unverified: a partition of disk_fd, or a loop device of its own */
        VerityOpened verity;    /* or the verified device */
        const char *protection; /* "unprotected", "verity", "signed"; NULL: not used */
        bool read_only;
} RawPartition;

/* What a raw image's prepared root holds until prepared_root_free(). */
struct RawImage {
        char *mountpoint;
        int disk_fd;                /* the image's loop device with partition scan */
        RawPartition partitions[2]; /* [PARTITION_ROOT], [PARTITION_USR] */
        bool mounted;               /* the root (its file system, or a tmpfs for a usr-only image) */
        bool usr_mounted;           /* the usr partition at mountpoint/usr */
        ImageRoot *lock_root;       /* the image's directory, holding… */
        ImageLock lock;             /* …its lock: exclusive for a writable run, else shared */
};

#define RAW_PARTITION_NULL { .device_fd = -EBADF, .verity = {.fd = -EBADF} }
#define RAW_IMAGE_NULL                                                                                                \
        {                                                                                                             \
                .disk_fd = -EBADF, .partitions = { RAW_PARTITION_NULL, RAW_PARTITION_NULL },                          \
                .lock = {.fd = -EBADF, .dir_fd = -EBADF }                                                             \
        }

/* Records the failure with its cause (the caller adds the image's path); %m is r's. */
static int fail(Diag *diag, int r, const char *format, ...) _printf_(3, 4);
static int fail(Diag *diag, int r, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        errno = -r;
        _cleanup_free_ char *cause = NULL;
        if (vasprintf(&cause, format, ap) < 0)
                cause = NULL;
        va_end(ap);
        return diag_fail(diag, r, NULL, cause ? "%s" : NULL, cause);
}

int raw_image_machine_name(const char *image_path, char **ret) {
        const char *slash = strrchr(image_path, '/');
        const char *base = slash ? slash + 1 : image_path;
        size_t l = strlen(base);
        const char *suffix = endswith(base, ".raw");
        if (suffix)
                l = (size_t) (suffix - base);
        _cleanup_free_ char *name = strndup(base, l);
        if (!name)
                return -ENOMEM;
        if (!image_name_is_valid(name))
                return -EINVAL;
        *ret = TAKE_PTR(name);
        return 0;
}

static int mount_namespace_private(void) {
        static bool done = false;
        if (done)
                return 0;
        /* The image's mount lives in a mount namespace of cowpen's own: invisible on the host,
         * gone when cowpen is. */
        if (unshare(CLONE_NEWNS) < 0)
                return negative_errno();
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return negative_errno();
        done = true;
        return 0;
}

/* The (empty: the mount lived in its private namespace) mount points of a killed cowpen. */
static void sweep_stale_mountpoints(void) {
        DIR *d = opendir("/run");
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d)))
                if (name_owner_is_gone(de->d_name, "cowpen-image."))
                        (void) unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        closedir(d);
}

static void raw_partition_done(RawPartition *p) {
        p->device_fd = safe_close(p->device_fd);
        verity_opened_done(&p->verity);
        *p = (RawPartition) RAW_PARTITION_NULL;
}

RawImage *raw_image_free(RawImage *i) {
        if (!i)
                return NULL;
        if (i->usr_mounted) {
                _cleanup_free_ char *usr = NULL;
                if (asprintf(&usr, "%s/usr", i->mountpoint) >= 0)
                        (void) umount2(usr, MNT_DETACH);
        }
        /* Detaching the root detaches what is still mounted below it too. */
        if (i->mounted)
                (void) umount2(i->mountpoint, MNT_DETACH);
        if (i->mountpoint)
                (void) rmdir(i->mountpoint);
        free(i->mountpoint);
        for (size_t k = 0; k < ELEMENTSOF(i->partitions); k++)
                raw_partition_done(&i->partitions[k]);
        /* The last fd of the loop device: autoclear detaches it and drops its partitions. */
        i->disk_fd = safe_close(i->disk_fd);
        image_lock_release(&i->lock);
        image_root_free(i->lock_root);
        free(i);
        return NULL;
}

/* What protects one data partition (root or usr): its root hash, signature and hash tree, where
 * each came from, and what the policy says of it. */
typedef struct PartitionTrust {
        PartitionDesignator data, verity, sig_partition;
        uint8_t hash[VERITY_DIGEST_SIZE_MAX];
        size_t hash_size;
        const char *hash_source;
        void *sig;
        size_t sig_size;
        char *fingerprint;
        int hash_fd; /* the image (verity partition), --verity-data or IMAGE.verity */
        uint64_t hash_offset;
        uint64_t hash_end; /* the end of the verity partition; 0: a file of its own */
        unsigned policy;
        const char *protection; /* "unprotected", "verity", "signed" */
        bool use;               /* present, and the policy does not say "unused" */
} PartitionTrust;

static void partition_trust_done(PartitionTrust *t) {
        free(t->sig);
        t->sig = NULL;
        free(t->fingerprint);
        t->fingerprint = NULL;
        t->hash_fd = safe_close(t->hash_fd);
}

/* "usr partition: " before a usr partition's errors; the root's read as they always did. */
static const char *what(const PartitionTrust *t) {
        return t->data == PARTITION_USR ? "usr partition: " : "";
}

static int hash_from_hex(const char *hex, uint8_t *hash, size_t *ret_size) {
        if (verity_root_hash_from_hex(hex, VERITY_HASH_SHA256, hash, ret_size) >= 0 ||
            verity_root_hash_from_hex(hex, VERITY_HASH_SHA512, hash, ret_size) >= 0)
                return 0;
        return -EINVAL;
}

/* The root-verity-sig or usr-verity-sig partition: JSON with rootHash, certificate fingerprint
 * and PKCS#7 signature. What it says must agree with what t already holds (the root's hash and
 * signature from the command line and sidecars). Returns 1 when it brought the first hash. */
static int trust_read_sig_partition(int fd, const DissectedImage *m, PartitionTrust *t, Diag *diag) {
        const DissectedPartition *sigp = &m->partitions[t->sig_partition];
        const char *name = partition_designator_to_string(t->sig_partition);
        int r;
        if (!sigp->found)
                return 0;
        if (sigp->size > VERITY_SIG_JSON_SIZE_MAX)
                return fail(diag, -E2BIG, "%s partition is larger than %u bytes", name, VERITY_SIG_JSON_SIZE_MAX);
        _cleanup_free_ char *buf = malloc(sigp->size + 1);
        if (!buf)
                return fail(diag, -ENOMEM, "%m");
        ssize_t n = pread(fd, buf, sigp->size, (off_t) sigp->offset);
        if (n != (ssize_t) sigp->size)
                return fail(diag, n < 0 ? negative_errno() : -EIO, "read %s partition: %m", name);
        VeritySigJson j = {};
        if ((r = verity_sig_json_parse(buf, sigp->size, &j)) < 0)
                return fail(diag, r, "%s partition: malformed signature JSON", name);
        uint8_t jh[VERITY_DIGEST_SIZE_MAX];
        size_t jhs = 0;
        if (hash_from_hex(j.root_hash_hex, jh, &jhs) < 0)
                r = fail(diag, -EBADMSG, "%s partition: rootHash is not a hex digest", name);
        else if (t->hash_size && (jhs != t->hash_size || memcmp(jh, t->hash, jhs) != 0))
                r = fail(diag, -EBADMSG, "root hash from %s does not match the %s partition's rootHash",
                         t->hash_source, name);
        else if (t->sig && (j.p7s_size != t->sig_size || memcmp(j.p7s, t->sig, t->sig_size) != 0))
                r = fail(diag, -EBADMSG, "--root-hash-sig differs from the %s partition's signature", name);
        else
                r = 0;
        if (r < 0) {
                verity_sig_json_done(&j);
                return r;
        }
        free(t->sig);
        t->sig = TAKE_PTR(j.p7s);
        t->sig_size = j.p7s_size;
        free(t->fingerprint);
        t->fingerprint = TAKE_PTR(j.fingerprint_hex);
        verity_sig_json_done(&j);
        if (t->hash_size)
                return 0;
        memcpy(t->hash, jh, jhs);
        t->hash_size = jhs;
        t->hash_source = t->data == PARTITION_USR ? "the usr-verity-sig partition" : "the root-verity-sig partition";
        return 1;
}

/* Finds the hash tree, checks that hash, tree and signature go together, the policy, and a
 * signature against the trusted certificates. */
static int trust_check(const PrepareOptions *o, const char *path, int fd, const DissectedImage *m, PartitionTrust *t,
                       char *const *cert_dirs, Diag *diag) {
        const char *w = what(t), *name = partition_designator_to_string(t->data);
        const DissectedPartition *data = &m->partitions[t->data], *verp = &m->partitions[t->verity];
        int r;

        if (!data->found) {
                if (t->hash_size)
                        return fail(diag, -ENXIO, "no %s partition whose UUID matches the root hash from %s", name,
                                    t->hash_source);
                if (!(t->policy & IMAGE_POLICY_ABSENT))
                        return fail(diag, -EPERM, "image policy requires a %s partition", name);
                return 0;
        }
        if (verp->found) {
                t->hash_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (t->hash_fd < 0)
                        return fail(diag, negative_errno(), "%m");
                t->hash_offset = verp->offset;
                t->hash_end = verp->offset + verp->size;
        } else if (t->data == PARTITION_ROOT && (o->verity_data || m->kind != DISSECT_GPT)) {
                /* --verity-data, else IMAGE.verity; never a sidecar for a GPT, whose hash tree is a
                 * partition of its own. */
                _cleanup_(verity_sidecars_done) VeritySidecars found = VERITY_SIDECARS_INIT;
                _cleanup_diag_ Diag d = DIAG_INIT;
                const VeritySidecarQuery q = { .image = path, .image_fd = -EBADF, .verity_data = o->verity_data };
                r = verity_sidecars_find(&q, VERITY_SIDECAR_HASH_TREE, &found, &d);
                if (r < 0 && !d.object)
                        return fail(diag, r, "%m");
                if (r == -EBADFD || r == -EISDIR)
                        return fail(diag, r, "verity data %s: not a regular file or block device", d.object);
                if (r < 0)
                        return fail(diag, r, "verity data %s: %m", d.object);
                t->hash_fd = TAKE_FD(found.hash_fd);
        }
        if (t->hash_fd >= 0 && !t->hash_size)
                return fail(diag, -ENOKEY,
                            t->data == PARTITION_USR
                                    ? "%sa dm-verity hash tree is present but no root hash (usr-verity-sig partition)"
                                    : "%sa dm-verity hash tree is present but no root hash (--root-hash, xattr, "
                                      ".roothash, signature partition)",
                            w);
        if (t->hash_size && t->hash_fd < 0)
                return fail(diag, -ENODATA,
                            t->data == PARTITION_USR
                                    ? "%sroot hash from %s but no usr-verity partition whose UUID matches it"
                                    : "%sroot hash from %s but no hash tree (root-verity partition, --verity-data, "
                                      ".verity)",
                            w, t->hash_source);
        if (t->sig && !t->hash_size)
                return fail(diag, -ENOKEY, "%sa root hash signature is present but no root hash", w);

        bool verity = t->hash_fd >= 0;
        t->protection = !verity ? "unprotected" : t->sig ? "signed" : "verity";
        unsigned need = !verity ? IMAGE_POLICY_UNPROTECTED : t->sig ? IMAGE_POLICY_SIGNED : IMAGE_POLICY_VERITY;
        /* A signed partition is also acceptable where plain verity is, as systemd does. */
        if (!(t->policy & need) && !(need == IMAGE_POLICY_SIGNED && (t->policy & IMAGE_POLICY_VERITY))) {
                if (t->data == PARTITION_USR && (t->policy & IMAGE_POLICY_UNUSED))
                        return 0; /* "unused": left alone, whatever it is */
                return fail(diag, -EPERM, "image policy refuses a %s that is %s",
                            t->data == PARTITION_USR ? "usr partition" : "root", t->protection);
        }
        if (t->sig) {
                /* Checked here too to pin the partition's certificate fingerprint; over the
                 * lower-case hex of the hash, as it was signed. A signature that is there must
                 * verify, whatever the policy. */
                _cleanup_free_ char *hx = hexmem(t->hash, t->hash_size);
                if (!hx)
                        return fail(diag, -ENOMEM, "%m");
                r = verity_sig_verify(hx, t->sig, t->sig_size, cert_dirs, t->fingerprint, NULL);
                if (r == -ENOKEY)
                        return fail(diag, r, "%sroot hash signature: not signed by a trusted certificate", w);
                if (r == -EKEYREJECTED)
                        return fail(diag, r, "%sroot hash signature does not verify", w);
                if (r == -EBADMSG)
                        return fail(diag, r, "%sroot hash signature is malformed", w);
                if (r < 0)
                        return fail(diag, r, "%sroot hash signature: %m", w);
        }
        t->use = true;
        return 0;
}

/* Puts one data partition on a device: the verified one (verity_open: dm-verity, or the fully
 * checked pinned copy on a read-only loop device: verity never reads through the image's loop
 * device, whose data could change under it), else its partition device of the image's loop
 * device disk_fd, or a loop device over its byte range when there is no such device (a bare
 * file system, or a partition number the kernel cannot have). Returns the file system type
 * found on the device. */
static int partition_open(int fd, int disk_fd, const DissectedPartition *data, const PartitionTrust *t,
                          char *const *cert_dirs, bool read_only, RawPartition *p, const char **ret_fstype,
                          Diag *diag) {
        const char *w = what(t);
        int r, dev_fd;
        if (t->hash_fd >= 0) {
                VerityParams params;
                _cleanup_diag_ Diag field = DIAG_INIT;
                if ((r = verity_superblock_read(t->hash_fd, t->hash_offset, &params, &field)) < 0)
                        return fail(diag, r, "%sverity superblock: %s", w, field.object ?: strerror(-r));
                if (params.data_blocks > data->size / params.data_block_size)
                        return fail(diag, -EBADMSG, "%sverity superblock: data_blocks reach beyond the %s partition",
                                    w, partition_designator_to_string(t->data));
                if (t->hash_end > 0) {
                        VerityGeometry g;
                        if ((r = verity_geometry(&params, true, t->hash_offset, &g)) < 0 || g.hash_end > t->hash_end)
                                return fail(diag, -EBADMSG,
                                            "%sverity superblock: the hash tree does not fit its partition", w);
                }
                /* With device-mapper: a name of this run's own (two runs of one image coexist). */
                char dm_name[64];
                snprintf(dm_name, sizeof(dm_name), "cowpen-%i-%02x%02x%02x%02x-%s", (int) getpid(), t->hash[0],
                         t->hash[1], t->hash[2], t->hash[3], t->data == PARTITION_USR ? "usr" : "verity");
                VerityOpenRequest req = {
                        .data_fd = fd,
                        .data_offset = data->offset,
                        .hash_fd = t->hash_fd,
                        .hash_offset = t->hash_offset,
                        .superblock = true,
                        .params = params,
                        .pins = VERITY_PIN_DATA_BLOCKS | VERITY_PIN_DATA_BLOCK_SIZE | VERITY_PIN_HASH_BLOCK_SIZE,
                        .root_hash = t->hash,
                        .root_hash_size = t->hash_size,
                        .sig = t->sig,
                        .sig_size = t->sig_size,
                        .cert_dirs = cert_dirs,
                        .require_signature = !(t->policy & (IMAGE_POLICY_VERITY | IMAGE_POLICY_UNPROTECTED)),
                        .dm_name = dm_name,
                        .mode = VERITY_OPEN_AUTO,
                };
                VerityFailure f = {};
                r = verity_open(&req, &p->verity, &f);
                if (r < 0) {
                        char b[VERITY_FAILURE_STRING_MAX];
                        const char *detail = NULL;
                        if (dlopen_error_is_library(r) && dlopen_cryptsetup(&detail) < 0 && detail)
                                return fail(diag, r, "%sverity: %s (needed for dm-verity devices)", w, detail);
                        if (r == -EBADMSG && f.kind != VERITY_FAILURE_NONE)
                                return fail(diag, r, "%sverity: %s", w, verity_failure_to_string(&f, b, sizeof(b)));
                        return fail(diag, r, "%sverity: %m", w);
                }
                dev_fd = p->verity.fd;
        } else if (disk_fd >= 0 && data->partno > 0 && data->partno <= LOOP_PARTITIONS_MAX) {
                r = loop_partition_open(disk_fd, data->partno, data->offset, data->size, read_only, &p->device_fd);
                if (r == -ESTALE)
                        return fail(diag, r, "the kernel's partition table differs from the image's (%s partition %u)",
                                    partition_designator_to_string(t->data), data->partno);
                if (r < 0)
                        return fail(diag, r, "%spartition device %u of the loop device: %m", w, data->partno);
                dev_fd = p->device_fd;
        } else {
                _cleanup_free_ char *lp = NULL;
                r = loop_attach(fd, data->offset, data->size, read_only ? LOOP_ATTACH_READ_ONLY : 0, &p->device_fd,
                                &lp);
                if (r < 0)
                        return fail(diag, r, "%sattach a loop device: %m", w);
                dev_fd = p->device_fd;
        }
        p->protection = t->protection;
        p->read_only = read_only;
        /* From here on what counts is the device: its file system is detected on it. */
        uint64_t dsize = 0;
        if (ioctl(dev_fd, BLKGETSIZE64, &dsize) < 0)
                return fail(diag, negative_errno(), "%sdevice size: %m", w);
        const char *fstype = fs_detect(dev_fd, 0, dsize);
        if (!fstype)
                return fail(diag, -EMEDIUMTYPE, "no ext4, btrfs, xfs, erofs or squashfs file system on the %s",
                            t->data == PARTITION_USR ? "usr partition" : "root");
        *ret_fstype = fstype;
        return 0;
}

static int partition_device_fd(const RawPartition *p) {
        return p->verity.fd >= 0 ? p->verity.fd : p->device_fd;
}

/* A usr-only image gets a tmpfs root as systemd-nspawn gives it one (dissect's "usr without
 * root"): empty but for the directories the engine mounts on and the merged-/usr symlinks of
 * base-filesystem (bin → usr/bin, …) for those the usr partition has. */
static int tmpfs_root_populate(int root_fd, int usr_fd) {
        static const char *const dirs[] = {"etc", "proc", "sys", "dev", "run", "tmp", "var", "root"};
        static const char *const links[] = {"bin", "sbin", "lib", "lib64"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (mkdirat(root_fd, dirs[i], streq(dirs[i], "tmp") ? 01777 : streq(dirs[i], "root") ? 0700 : 0755) < 0)
                        return negative_errno();
        if (fchmodat(root_fd, "tmp", 01777, 0) < 0)
                return negative_errno();
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                struct stat st;
                if (fstatat(usr_fd, links[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                char target[32];
                snprintf(target, sizeof(target), "usr/%s", links[i]);
                if (symlinkat(target, root_fd, links[i]) < 0)
                        return negative_errno();
        }
        return 0;
}

/* The tree mounted at the raw image's mount point as the prepared root: machine and image name
 * from the file name (NAME.raw → NAME), the parent the image's directory (for NAME.nspawn).
 * -EINVAL for a file name that is no valid machine name. */
static int root_from_mount(PreparedRoot *p, const char *machine, const char *image_path) {
        int r = raw_image_machine_name(image_path, &p->image_name);
        if (r < 0)
                return r;
        p->machine = strdup(machine ?: p->image_name);
        p->path = strdup(p->raw->mountpoint);
        if (!p->machine || !p->path)
                return -ENOMEM;
        p->fd = open(p->raw->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (p->fd < 0)
                return negative_errno();

        _cleanup_free_ char *abs = realpath(image_path, NULL);
        if (!abs)
                return negative_errno();
        char *slash = strrchr(abs, '/');
        p->parent_path = slash == abs ? strdup("/") : strndup(abs, (size_t) (slash - abs));
        if (!p->parent_path)
                return -ENOMEM;
        /* parent_fd is borrowed from the ImageRoot, which free drops. */
        r = image_root_open(p->parent_path, false, &p->root);
        if (r < 0)
                return r;
        p->parent_fd = p->root->fd;
        return 0;
}

/* Opens, checks, locks and mounts the image into p (its raw part allocated, the rest empty);
 * prepared_root_free() undoes whatever was done when this fails. */
static int raw_open(const PrepareOptions *o, const char *path, PreparedRoot *p, Diag *diag) {
        RawImage *img = p->raw;
        int r;

        /* The policy's syntax was checked on the command line (image_policy_parse()). */
        unsigned policy = IMAGE_POLICY_ANY, usr_policy = IMAGE_POLICY_ANY;
        if (o->image_policy && ((r = image_policy_parse_for(o->image_policy, PARTITION_ROOT, &policy)) < 0 ||
                                (r = image_policy_parse_for(o->image_policy, PARTITION_USR, &usr_policy)) < 0))
                return fail(diag, r, "image policy: %m");

        /* Checked before it is opened: open() of a FIFO would wait for a writer forever. */
        struct stat st;
        _cleanup_close_ int fd = open_checked(AT_FDCWD, path, O_RDONLY, OPEN_REGULAR | OPEN_BLOCK, &st);
        if (fd == -EBADFD || fd == -EISDIR)
                return fail(diag, fd, "not a regular file or block device");
        if (fd < 0)
                return fail(diag, fd, "open image: %m");
        uint64_t size;
        if (S_ISREG(st.st_mode))
                size = (uint64_t) st.st_size;
        else if (S_ISBLK(st.st_mode)) {
                if (ioctl(fd, BLKGETSIZE64, &size) < 0)
                        return fail(diag, negative_errno(), "image size: %m");
        } else
                return fail(diag, -EBADFD, "not a regular file or block device");

        /* Writable only when nothing says read-only: --read-only, the file's mode, a read-only
         * mount or file system below it. */
        bool read_only = o->read_only || !(st.st_mode & 0222);
        if (!read_only && !o->ephemeral) {
                int w = fd_reopen(fd, O_RDWR); /* the inode checked above, not whatever the path names now */
                if (w < 0) {
                        if (w != -EACCES && w != -EROFS && w != -EPERM)
                                return fail(diag, w, "open image: %m");
                        read_only = true;
                } else {
                        safe_close(fd);
                        fd = w;
                }
        }

        /* The root's hash and signature from the command line, xattr and sidecars; the usr
         * partition's come from its usr-verity-sig partition only. */
        _cleanup_(partition_trust_done) PartitionTrust rt = {
                .data = PARTITION_ROOT, .verity = PARTITION_ROOT_VERITY, .sig_partition = PARTITION_ROOT_VERITY_SIG,
                .hash_fd = -EBADF, .policy = policy,
        };
        _cleanup_(partition_trust_done) PartitionTrust ut = {
                .data = PARTITION_USR, .verity = PARTITION_USR_VERITY, .sig_partition = PARTITION_USR_VERITY_SIG,
                .hash_fd = -EBADF, .policy = usr_policy,
        };
        _cleanup_(verity_sidecars_done) VeritySidecars found = VERITY_SIDECARS_INIT;
        const VeritySidecarQuery query = {
                .image = path,
                .image_fd = fd,
                .root_hash = o->root_hash,
                .root_hash_sig = o->root_hash_sig,
        };
        if ((r = verity_sidecars_find(&query, VERITY_SIDECAR_ROOT_HASH, &found, NULL)) < 0)
                return fail(diag, r, "root hash: %m");
        rt.hash_source = found.root_hash_source == VERITY_SOURCE_GIVEN   ? "--root-hash"
                         : found.root_hash_source == VERITY_SOURCE_XATTR ? "xattr user.verity.roothash"
                         : found.root_hash                               ? "IMAGE.roothash"
                                                                         : NULL;
        if (found.root_hash && hash_from_hex(found.root_hash, rt.hash, &rt.hash_size) < 0)
                return fail(diag, -EINVAL, "root hash from %s is not a sha256 or sha512 hex digest", rt.hash_source);
        if ((r = verity_sidecars_find(&query, VERITY_SIDECAR_SIGNATURE, &found, NULL)) < 0)
                return fail(diag, r, "root hash signature: %m");
        rt.sig = TAKE_PTR(found.sig);
        rt.sig_size = found.sig_size;

        DissectedImage m;
        r = image_dissect_hashes(fd, size, rt.hash_size ? rt.hash : NULL, rt.hash_size, NULL, 0, &m);
        const char *detail = NULL;
        if (dlopen_error_is_library(r) && dlopen_libblkid(&detail) < 0 && detail)
                return fail(diag, r, "%s (needed to read raw images)", detail);
        if (r == -ENXIO && rt.hash_size)
                return fail(diag, r, "no root partition whose UUID matches the root hash");
        if (r == -ENXIO)
                return fail(diag, r, "no root partition or file system found");
        if (r == -ENOTUNIQ)
                return fail(diag, r, "more than one root or usr partition for this architecture");
        if (r == -EBADMSG || r == -E2BIG)
                return fail(diag, r, "corrupt partition table%s", r == -E2BIG ? " (over the limits)" : "");
        unsigned oa, ob;
        if (r == -ERANGE && image_dissect_overlap(fd, size, &oa, &ob) > 0)
                return fail(diag, r, "corrupt partition table: partitions %u and %u overlap", oa, ob);
        if (r < 0)
                return fail(diag, r, "read partition table: %m");

        /* The signature partitions; a hash first learnt from one tells its partitions by UUID. */
        int rn = trust_read_sig_partition(fd, &m, &rt, diag);
        if (rn < 0)
                return rn;
        int un = trust_read_sig_partition(fd, &m, &ut, diag);
        if (un < 0)
                return un;
        if (rn > 0 || un > 0) {
                r = image_dissect_hashes(fd, size, rt.hash_size ? rt.hash : NULL, rt.hash_size,
                                         ut.hash_size ? ut.hash : NULL, ut.hash_size, &m);
                if (r == -ENXIO)
                        return fail(diag, r, "no root or usr partition whose UUID matches the signed root hash");
                if (r < 0)
                        return fail(diag, r, "read partition table: %m");
        }

        _cleanup_strv_free_ char **cert_dirs = NULL;
        if ((r = verity_cert_dirs(o->verity_certs, &cert_dirs)) < 0)
                return fail(diag, r, "certificate directories: %m");
        if ((r = trust_check(o, path, fd, &m, &rt, cert_dirs, diag)) < 0)
                return r;
        if ((r = trust_check(o, path, fd, &m, &ut, cert_dirs, diag)) < 0)
                return r;
        if (!rt.use && !ut.use)
                return fail(diag, -ENXIO, "no root partition or file system found");
        p->protection = rt.use ? rt.protection : "tmpfs";

        /* -x of an image that verity protects whole (its root, and its usr partition when it has
         * one): no copy. Its verified file systems, read-only, are the lower layer of an overlay
         * whose upper layer is a hidden entry next to the image (as -x of a directory), so
         * nothing of the image's size is copied and its file is never written. With
         * device-mapper the kernel checks each block as it is read; without, verity_open()
         * checks the whole image once it is immutable, and not again while it stays so
         * (verity-cache.c), so the start-up does not grow with the image either way.
         * --private-users wants a tree it can chown or idmap: a copy, as before. */
        bool verified_overlay =
                o->ephemeral && !o->ephemeral_copy && rt.use && rt.hash_fd >= 0 && (!ut.use || ut.hash_fd >= 0);

        /* -x otherwise: a private copy, never linked anywhere (O_TMPFILE next to the image). */
        if (o->ephemeral && !verified_overlay) {
                _cleanup_free_ char *dir = strdup(path);
                if (!dir)
                        return fail(diag, -ENOMEM, "%m");
                char *slash = strrchr(dir, '/');
                if (slash)
                        *(slash == dir ? slash + 1 : slash) = 0;
                _cleanup_close_ int dfd = open(slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return fail(diag, negative_errno(), "image directory: %m");
                int copy = -EBADF;
                r = image_private_copy(fd, dfd, &copy, &p->copy_how);
                if (r < 0)
                        return fail(diag, r, "private copy of the image: %m");
                /* Hash trees in the image are read from the copy, which verity_open pins. */
                PartitionTrust *ts[] = {&rt, &ut};
                for (size_t k = 0; k < ELEMENTSOF(ts); k++)
                        if (ts[k]->use && m.partitions[ts[k]->verity].found) {
                                safe_close(ts[k]->hash_fd);
                                ts[k]->hash_fd = fcntl(copy, F_DUPFD_CLOEXEC, 3);
                                if (ts[k]->hash_fd < 0) {
                                        safe_close(copy);
                                        return fail(diag, negative_errno(), "%m");
                                }
                        }
                safe_close(fd);
                fd = copy;
                read_only = o->read_only;
        }

        /* Each partition is read-only when the run, verity or its GPT flag says so. A usr-only
         * image's tmpfs root is writable unless the run is read-only. */
        bool root_ro = read_only || (rt.use && (rt.hash_fd >= 0 || m.partitions[PARTITION_ROOT].read_only));
        bool usr_ro = read_only || (ut.use && (ut.hash_fd >= 0 || m.partitions[PARTITION_USR].read_only));
        if (!rt.use)
                root_ro = o->read_only;
        p->read_only = root_ro;
        bool writable = (rt.use && !root_ro) || (ut.use && !usr_ro);

        /* As for -D and -M: a writable run locks the image exclusively (two read-write mounts of
         * one file system would corrupt it), a read-only or -x one shared. A directory we may
         * not write (a read-only image store) takes no lock for a read-only run. */
        {
                _cleanup_free_ char *name = NULL, *dir = realpath(path, NULL);
                if (!dir)
                        return fail(diag, negative_errno(), "image path: %m");
                if ((r = raw_image_machine_name(path, &name)) < 0)
                        return fail(diag, r, "the file name is no valid image name");
                char *slash = strrchr(dir, '/');
                *(slash == dir ? slash + 1 : slash) = 0;
                r = image_root_open(dir, false, &img->lock_root);
                if (r >= 0)
                        r = image_lock(img->lock_root, name, writable && !o->ephemeral, &img->lock);
                if (r == -EBUSY)
                        return fail(diag, r, "image is in use");
                if (r < 0 && !(!writable && (r == -EROFS || r == -EACCES || r == -EPERM)))
                        return fail(diag, r, "lock the image: %m");
        }

        /* Unprotected partitions of a partition table are mounted from the partition devices of
         * one loop device for the whole image, with partition scan; read-only unless one of
         * them is written. */
        bool root_plain = rt.use && rt.hash_fd < 0, usr_plain = ut.use && ut.hash_fd < 0;
        if (m.kind != DISSECT_BARE && (root_plain || usr_plain)) {
                _cleanup_free_ char *lp = NULL;
                bool disk_ro = !((root_plain && !root_ro) || (usr_plain && !usr_ro));
                r = loop_attach(fd, 0, 0, (disk_ro ? LOOP_ATTACH_READ_ONLY : 0) | LOOP_ATTACH_PARTSCAN, &img->disk_fd,
                                &lp);
                if (r < 0)
                        return fail(diag, r, "attach a loop device: %m");
        }
        const char *root_fstype = NULL, *usr_fstype = NULL;
        if (rt.use && (r = partition_open(fd, img->disk_fd, &m.partitions[PARTITION_ROOT], &rt, cert_dirs, root_ro,
                                          &img->partitions[PARTITION_ROOT], &root_fstype, diag)) < 0)
                return r;
        if (ut.use && (r = partition_open(fd, img->disk_fd, &m.partitions[PARTITION_USR], &ut, cert_dirs, usr_ro,
                                          &img->partitions[PARTITION_USR], &usr_fstype, diag)) < 0)
                return r;

        if ((r = mount_namespace_private()) < 0)
                return fail(diag, r, "private mount namespace: %m");
        sweep_stale_mountpoints();
        if (asprintf(&img->mountpoint, "/run/cowpen-image.%i.XXXXXX", (int) getpid()) < 0)
                img->mountpoint = NULL;
        if (!img->mountpoint || !mkdtemp(img->mountpoint)) {
                r = fail(diag, img->mountpoint ? negative_errno() : -ENOMEM, "mount point: %m");
                free(img->mountpoint);
                img->mountpoint = NULL;
                return r;
        }
        char devpath[64];
        if (rt.use) {
                snprintf(devpath, sizeof(devpath), "/proc/self/fd/%i", partition_device_fd(&img->partitions[PARTITION_ROOT]));
                if (mount(devpath, img->mountpoint, root_fstype, root_ro ? MS_RDONLY : 0, NULL) < 0)
                        return fail(diag, negative_errno(), "mount %s root: %m", root_fstype);
        } else if (mount("tmpfs", img->mountpoint, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
                return fail(diag, negative_errno(), "mount tmpfs root: %m");
        img->mounted = true;
        if (ut.use) {
                /* On the root's usr directory, found without following a symlink of the root's
                 * (it is untrusted when unprotected); a usr-only image's tmpfs gets one. */
                _cleanup_close_ int root_fd = open(img->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0)
                        return fail(diag, negative_errno(), "open root: %m");
                if ((!rt.use || !root_ro) && mkdirat(root_fd, "usr", 0755) < 0 && errno != EEXIST)
                        return fail(diag, negative_errno(), "mkdir /usr in the root: %m");
                _cleanup_close_ int usr_fd = openat2_resolve(root_fd, "usr", O_PATH | O_DIRECTORY, 0,
                                                             RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
                if (usr_fd < 0)
                        return fail(diag, usr_fd, "the root has no /usr directory for the usr partition: %m");
                char target[64];
                snprintf(devpath, sizeof(devpath), "/proc/self/fd/%i", partition_device_fd(&img->partitions[PARTITION_USR]));
                snprintf(target, sizeof(target), "/proc/self/fd/%i", usr_fd);
                if (mount(devpath, target, usr_fstype, usr_ro ? MS_RDONLY : 0, NULL) < 0)
                        return fail(diag, negative_errno(), "mount %s usr partition: %m", usr_fstype);
                img->usr_mounted = true;
                if (!rt.use) {
                        _cleanup_close_ int mounted_usr = openat(root_fd, "usr", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        if (mounted_usr < 0 || (r = tmpfs_root_populate(root_fd, mounted_usr)) < 0)
                                return fail(diag, mounted_usr < 0 ? negative_errno() : r, "populate the tmpfs root: %m");
                        if (root_ro && mount(NULL, img->mountpoint, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
                                return fail(diag, negative_errno(), "remount the tmpfs root read-only: %m");
                }
        }
        r = root_from_mount(p, o->machine, path);
        if (r < 0)
                return fail(diag, r, r == -EINVAL ? "the file name is no valid machine name (use -M)" : "%m");
        if (verified_overlay) {
                if ((r = prepared_root_make_overlay(p)) < 0)
                        return fail(diag, r, "the overlay's upper layer next to the image: %m");
                p->copy_how = "overlayfs";
                p->read_only = o->read_only; /* the overlay is writable; the image below is not */
        }
        const PartitionTrust *vt = rt.use && rt.hash_fd >= 0 ? &rt : ut.use && ut.hash_fd >= 0 ? &ut : NULL;
        if (vt && !(p->trusted_root_hash = hexmem(vt->hash, vt->hash_size)))
                return fail(diag, -ENOMEM, "%m");
        return 0;
}

int prepared_root_make_raw(PreparedRoot *p, const PrepareOptions *opts, const char *path, Diag *diag) {
        p->kind = PREPARED_MOUNTED;
        p->image_path = strdup(path);
        p->raw = malloc(sizeof(RawImage));
        if (!p->image_path || !p->raw)
                return fail(diag, -ENOMEM, "%m");
        *p->raw = (RawImage) RAW_IMAGE_NULL;
        /* On failure, the caller's prepared_root_free() unmounts, detaches and unlocks what
         * raw_open() got to. */
        return raw_open(opts, path, p, diag);
}
