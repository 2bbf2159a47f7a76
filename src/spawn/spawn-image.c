/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-dissect.h"
#include "image-prepare-raw.h"
#include "spawn-boot.h"
#include "spawn-image.h"
#include "util.h"

/* See spawn-image.h. Untrusted input: the image (through image-dissect.c and src/verity), its
 * sidecar files and xattr (size-limited reads, hex and PKCS#7 checked by src/verity) and the
 * root-verity-sig partition's JSON (size-limited, parsed by verity_sig_json_parse). Whatever is
 * present must check out: a root hash without a hash tree, a hash tree or signature without a
 * root hash, a signature from an untrusted certificate: refused. */

#define SIDECAR_SIZE_MAX (64U * 1024U)

static int fail(char **ret_error, int r, const char *format, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        errno = -r;
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return r;
}

static int policy_flag(const char *s, size_t n, unsigned *flags) {
        static const struct {
                const char *name;
                unsigned flags;
        } table[] = {
                {"open", IMAGE_POLICY_ANY},
                {"verity", IMAGE_POLICY_VERITY},
                {"signed", IMAGE_POLICY_SIGNED},
                {"unprotected", IMAGE_POLICY_UNPROTECTED},
                {"unused", IMAGE_POLICY_ABSENT},
                {"absent", IMAGE_POLICY_ABSENT},
                {"encrypted", 0},
                {"ignore", IMAGE_POLICY_ANY},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strlen(table[i].name) == n && strneq(s, table[i].name, n)) {
                        *flags |= table[i].flags;
                        return 0;
                }
        return -EINVAL;
}

int image_policy_parse(const char *s, unsigned *ret_root) {
        if (strlen(s) > IMAGE_POLICY_STRING_MAX)
                return -E2BIG;
        if (streq(s, "*") || streq(s, "open") || streq(s, "allow")) {
                *ret_root = IMAGE_POLICY_ANY;
                return 0;
        }
        if (streq(s, "~") || streq(s, "deny")) {
                *ret_root = 0;
                return 0;
        }
        if (streq(s, "-")) {
                *ret_root = IMAGE_POLICY_ABSENT;
                return 0;
        }
        if (streq(s, "verity")) {
                *ret_root = IMAGE_POLICY_VERITY | IMAGE_POLICY_SIGNED;
                return 0;
        }
        if (streq(s, "signed")) {
                *ret_root = IMAGE_POLICY_SIGNED;
                return 0;
        }
        /* PARTITION=FLAGS:PARTITION=FLAGS… */
        unsigned root = IMAGE_POLICY_ANY, dflt = IMAGE_POLICY_ANY;
        bool have_root = false;
        for (const char *p = s; *p;) {
                size_t n = strcspn(p, ":");
                const char *eq = memchr(p, '=', n);
                if (!eq)
                        return -EINVAL;
                size_t kl = (size_t) (eq - p);
                unsigned flags = 0;
                for (const char *f = eq + 1; f < p + n;) {
                        size_t fl = strcspn(f, "+:");
                        if (fl > (size_t) (p + n - f))
                                fl = (size_t) (p + n - f);
                        if (fl == 0 || policy_flag(f, fl, &flags) < 0)
                                return -EINVAL;
                        f += fl;
                        if (*f == '+' && ++f >= p + n)
                                return -EINVAL; /* a trailing '+' */
                }
                static const char *const known[] = {"root", "usr", "home", "srv", "esp", "xbootldr", "swap", "tmp",
                        "var", "root-verity", "root-verity-sig", "usr-verity", "usr-verity-sig"};
                bool ok = kl == 0;
                for (size_t i = 0; i < ELEMENTSOF(known) && !ok; i++)
                        ok = strlen(known[i]) == kl && strneq(p, known[i], kl);
                if (!ok)
                        return -EINVAL;
                if (kl == 0)
                        dflt = flags;
                else if (kl == 4 && strneq(p, "root", 4)) {
                        root = flags;
                        have_root = true;
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        *ret_root = have_root ? root : dflt;
        return 0;
}

static int read_small_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        return read_file_at(AT_FDCWD, path, 0, max, ret, ret_size);
}

/* --root-hash, else the xattr, else IMAGE.roothash: lower-case hex (whitespace around a sidecar's
 * contents is allowed, as veritysetup writes a newline). NULL when there is none. */
static int find_root_hash(const SpawnImageOptions *o, int fd, char **ret, const char **ret_source) {
        if (o->root_hash) {
                *ret = strdup(o->root_hash);
                *ret_source = "--root-hash";
                return *ret ? 0 : -ENOMEM;
        }
        char buf[VERITY_ROOT_HASH_HEX_MAX + 2];
        ssize_t n = fgetxattr(fd, "user.verity.roothash", buf, sizeof(buf) - 1);
        if (n > 0) {
                buf[n] = 0;
                *ret = strndup(buf, strcspn(buf, "\n"));
                *ret_source = "xattr user.verity.roothash";
                return *ret ? 0 : -ENOMEM;
        }
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r = verity_sidecar_path(o->path, ".roothash", &path);
        if (r < 0)
                return r;
        r = read_small_file(path, VERITY_ROOT_HASH_HEX_MAX + 2, &text, NULL);
        if (r == -ENOENT) {
                *ret = NULL;
                *ret_source = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        const char *b = text + strspn(text, " \t\n");
        *ret = strndup(b, strcspn(b, " \t\n"));
        *ret_source = "IMAGE.roothash";
        return *ret ? 0 : -ENOMEM;
}

static int find_signature(const SpawnImageOptions *o, void **ret, size_t *ret_size) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size = 0;
        int r;
        if (o->root_hash_sig && startswith(o->root_hash_sig, "base64:")) {
                /* The JSON parser knows base64: reuse it on a minimal document. */
                _cleanup_free_ char *json = NULL;
                if (asprintf(&json, "{\"rootHash\":\"%064d\",\"signature\":\"%s\"}", 0, o->root_hash_sig + 7) < 0)
                        return -ENOMEM;
                VeritySigJson j = {};
                r = verity_sig_json_parse(json, strlen(json), &j);
                if (r < 0)
                        return -EBADMSG;
                *ret = TAKE_PTR(j.p7s);
                *ret_size = j.p7s_size;
                verity_sig_json_done(&j);
                return 1;
        }
        if (o->root_hash_sig)
                path = strdup(o->root_hash_sig);
        else if ((r = verity_sidecar_path(o->path, ".roothash.p7s", &path)) < 0)
                return r;
        if (!path)
                return -ENOMEM;
        r = read_small_file(path, VERITY_SIG_SIZE_MAX, &text, &size);
        if (r == -ENOENT && !o->root_hash_sig) {
                *ret = NULL;
                *ret_size = 0;
                return 0;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(text);
        *ret_size = size;
        return 1;
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
                if (spawn_stale_owner(de->d_name, "cowpen-image."))
                        (void) unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        closedir(d);
}

void spawn_image_done(SpawnImage *i) {
        if (!i)
                return;
        i->root = prepared_root_free(i->root);
        if (i->mounted)
                (void) umount2(i->mountpoint, MNT_DETACH);
        if (i->mountpoint)
                (void) rmdir(i->mountpoint);
        free(i->mountpoint);
        i->device_fd = safe_close(i->device_fd);
        verity_opened_done(&i->verity);
        image_lock_release(&i->lock);
        image_root_free(i->lock_root);
        *i = (SpawnImage) SPAWN_IMAGE_NULL;
}

int spawn_image_open(const SpawnImageOptions *o, SpawnImage *ret, char **ret_error) {
        SpawnImage img = SPAWN_IMAGE_NULL;
        int r;

        *ret_error = NULL;
        _cleanup_close_ int fd = open(o->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return fail(ret_error, negative_errno(), "open image: %m");
        struct stat st;
        if (fstat(fd, &st) < 0)
                return fail(ret_error, negative_errno(), "stat image: %m");
        uint64_t size;
        if (S_ISREG(st.st_mode))
                size = (uint64_t) st.st_size;
        else if (S_ISBLK(st.st_mode)) {
                if (ioctl(fd, BLKGETSIZE64, &size) < 0)
                        return fail(ret_error, negative_errno(), "image size: %m");
        } else
                return fail(ret_error, -EBADFD, "not a regular file or block device");

        /* Writable only when nothing says read-only: --read-only, the file's mode, a read-only
         * mount or file system below it. */
        bool read_only = o->read_only || !(st.st_mode & 0222);
        if (!read_only && !o->ephemeral) {
                int w = open(o->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (w < 0) {
                        if (errno != EACCES && errno != EROFS && errno != EPERM)
                                return fail(ret_error, negative_errno(), "open image: %m");
                        read_only = true;
                } else {
                        safe_close(fd);
                        fd = w;
                }
        }

        /* Root hash and signature from the command line, xattr and sidecars. */
        _cleanup_free_ char *hash_hex = NULL;
        const char *hash_source = NULL;
        if ((r = find_root_hash(o, fd, &hash_hex, &hash_source)) < 0)
                return fail(ret_error, r, "root hash: %m");
        uint8_t hash[VERITY_DIGEST_SIZE_MAX];
        size_t hash_size = 0;
        if (hash_hex && (r = verity_root_hash_from_hex(hash_hex, VERITY_HASH_SHA256, hash, &hash_size)) < 0 &&
                (r = verity_root_hash_from_hex(hash_hex, VERITY_HASH_SHA512, hash, &hash_size)) < 0)
                return fail(ret_error, -EINVAL, "root hash from %s is not a sha256 or sha512 hex digest", hash_source);
        _cleanup_free_ void *sig = NULL;
        size_t sig_size = 0;
        if ((r = find_signature(o, &sig, &sig_size)) < 0)
                return fail(ret_error, r, "root hash signature: %m");
        _cleanup_free_ char *fingerprint = NULL;

        DissectedImage m;
        r = image_dissect(fd, size, hash_size ? hash : NULL, hash_size, &m);
        if (r == -ENXIO && hash_size)
                return fail(ret_error, r, "no root partition whose UUID matches the root hash");
        if (r == -ENXIO)
                return fail(ret_error, r, "no root partition or file system found");
        if (r == -ENOTUNIQ)
                return fail(ret_error, r, "more than one root partition for this architecture");
        if (r == -EBADMSG || r == -E2BIG)
                return fail(ret_error, r, "corrupt partition table%s", r == -E2BIG ? " (over the limits)" : "");
        if (r < 0)
                return fail(ret_error, r, "read partition table: %m");
        if (m.partitions[PARTITION_USR].found || m.partitions[PARTITION_USR_VERITY].found)
                return fail(ret_error, -EOPNOTSUPP, "images with a /usr partition are not supported");

        DissectedPartition *sigp = &m.partitions[PARTITION_ROOT_VERITY_SIG];
        if (sigp->found) {
                /* The signature partition: JSON with rootHash, certificate fingerprint, PKCS#7. */
                if (sigp->size > VERITY_SIG_JSON_SIZE_MAX)
                        return fail(ret_error, -E2BIG, "root-verity-sig partition is larger than %u bytes",
                                VERITY_SIG_JSON_SIZE_MAX);
                _cleanup_free_ char *buf = malloc(sigp->size + 1);
                if (!buf)
                        return fail(ret_error, -ENOMEM, "%m");
                ssize_t n = pread(fd, buf, sigp->size, (off_t) sigp->offset);
                if (n != (ssize_t) sigp->size)
                        return fail(ret_error, n < 0 ? negative_errno() : -EIO, "read root-verity-sig partition: %m");
                VeritySigJson j = {};
                if ((r = verity_sig_json_parse(buf, sigp->size, &j)) < 0)
                        return fail(ret_error, r, "root-verity-sig partition: malformed signature JSON");
                uint8_t jh[VERITY_DIGEST_SIZE_MAX];
                size_t jhs = 0;
                if (verity_root_hash_from_hex(j.root_hash_hex, VERITY_HASH_SHA256, jh, &jhs) < 0 &&
                        verity_root_hash_from_hex(j.root_hash_hex, VERITY_HASH_SHA512, jh, &jhs) < 0) {
                        verity_sig_json_done(&j);
                        return fail(ret_error, -EBADMSG, "root-verity-sig partition: rootHash is not a hex digest");
                }
                if (hash_size && (jhs != hash_size || memcmp(jh, hash, hash_size) != 0)) {
                        verity_sig_json_done(&j);
                        return fail(ret_error, -EBADMSG,
                                "root hash from %s does not match the root-verity-sig partition's rootHash",
                                hash_source);
                }
                if (sig && (j.p7s_size != sig_size || memcmp(j.p7s, sig, sig_size) != 0)) {
                        verity_sig_json_done(&j);
                        return fail(ret_error, -EBADMSG,
                                "--root-hash-sig differs from the root-verity-sig partition's signature");
                }
                free(sig);
                sig = TAKE_PTR(j.p7s);
                sig_size = j.p7s_size;
                fingerprint = TAKE_PTR(j.fingerprint_hex);
                verity_sig_json_done(&j);
                if (!hash_size) {
                        memcpy(hash, jh, jhs);
                        hash_size = jhs;
                        hash_source = "the root-verity-sig partition";
                        /* Now the partitions can be told by their UUIDs. */
                        r = image_dissect(fd, size, hash, hash_size, &m);
                        if (r == -ENXIO)
                                return fail(ret_error, r, "no root partition whose UUID matches the signed root hash");
                        if (r < 0)
                                return fail(ret_error, r, "read partition table: %m");
                }
        }

        /* Where the hash tree is. */
        DissectedPartition *root = &m.partitions[PARTITION_ROOT];
        DissectedPartition *verp = &m.partitions[PARTITION_ROOT_VERITY];
        _cleanup_close_ int hash_fd = -EBADF;
        uint64_t hash_offset = 0;
        if (verp->found) {
                hash_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (hash_fd < 0)
                        return fail(ret_error, negative_errno(), "%m");
                hash_offset = verp->offset;
        } else {
                _cleanup_free_ char *vpath = NULL;
                if (o->verity_data)
                        vpath = strdup(o->verity_data);
                else if (m.kind != DISSECT_GPT && (r = verity_sidecar_path(o->path, ".verity", &vpath)) < 0)
                        return fail(ret_error, r, "%m");
                if (vpath) {
                        hash_fd = open(vpath, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (hash_fd < 0 && (errno != ENOENT || o->verity_data))
                                return fail(ret_error, negative_errno(), "verity data %s: %m", vpath);
                }
        }
        if (hash_fd >= 0 && !hash_size)
                return fail(ret_error, -ENOKEY,
                        "a dm-verity hash tree is present but no root hash (--root-hash, xattr, .roothash, signature "
                        "partition)");
        if (hash_size && hash_fd < 0)
                return fail(ret_error, -ENODATA,
                        "root hash from %s but no hash tree (root-verity partition, --verity-data, .verity)",
                        hash_source);
        if (sig && !hash_size)
                return fail(ret_error, -ENOKEY, "a root hash signature is present but no root hash");

        bool verity = hash_fd >= 0;
        img.protection = !verity ? "unprotected" : sig ? "signed" : "verity";
        unsigned need = !verity ? IMAGE_POLICY_UNPROTECTED : sig ? IMAGE_POLICY_SIGNED : IMAGE_POLICY_VERITY;
        /* A signed image is also acceptable where plain verity is, as systemd does. */
        if (!(o->policy & need) && !(need == IMAGE_POLICY_SIGNED && (o->policy & IMAGE_POLICY_VERITY)))
                return fail(ret_error, -EPERM, "image policy refuses a root that is %s", img.protection);

        _cleanup_strv_free_ char **cert_dirs = NULL;
        if ((r = verity_cert_dirs(o->verity_certs, &cert_dirs)) < 0)
                return fail(ret_error, r, "certificate directories: %m");
        if (sig) {
                /* Checked here too to pin the partition's certificate fingerprint; over the
                 * lower-case hex of the hash, as it was signed. */
                _cleanup_free_ char *hx = hexmem(hash, hash_size);
                if (!hx)
                        return fail(ret_error, -ENOMEM, "%m");
                r = verity_sig_verify(hx, sig, sig_size, cert_dirs, fingerprint, NULL);
                if (r == -ENOKEY)
                        return fail(ret_error, r, "root hash signature: not signed by a trusted certificate");
                if (r == -EKEYREJECTED)
                        return fail(ret_error, r, "root hash signature does not verify");
                if (r == -EBADMSG)
                        return fail(ret_error, r, "root hash signature is malformed");
                if (r < 0)
                        return fail(ret_error, r, "root hash signature: %m");
        }

        /* -x: a private copy, never linked anywhere (O_TMPFILE next to the image). */
        if (o->ephemeral) {
                _cleanup_free_ char *dir = strdup(o->path);
                if (!dir)
                        return fail(ret_error, -ENOMEM, "%m");
                char *slash = strrchr(dir, '/');
                if (slash)
                        *(slash == dir ? slash + 1 : slash) = 0;
                _cleanup_close_ int dfd = open(slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return fail(ret_error, negative_errno(), "image directory: %m");
                int copy = -EBADF;
                r = image_private_copy(fd, dfd, &copy, &img.copy_how);
                if (r < 0)
                        return fail(ret_error, r, "private copy of the image: %m");
                if (verp->found) {
                        safe_close(hash_fd);
                        hash_fd = fcntl(copy, F_DUPFD_CLOEXEC, 3);
                }
                safe_close(fd);
                fd = copy;
                if (!verity)
                        read_only = o->read_only;
        }

        read_only = read_only || verity || root->read_only;
        img.read_only = read_only;

        /* As for -D and -M: a writable run locks the image exclusively (two read-write mounts of
         * one file system would corrupt it), a read-only or -x one shared. A directory we may
         * not write (a read-only image store) takes no lock for a read-only run. */
        {
                _cleanup_free_ char *name = NULL, *dir = realpath(o->path, NULL);
                if (!dir)
                        return fail(ret_error, negative_errno(), "image path: %m");
                if ((r = raw_image_machine_name(o->path, &name)) < 0)
                        return fail(ret_error, r, "the file name is no valid image name");
                char *slash = strrchr(dir, '/');
                *(slash == dir ? slash + 1 : slash) = 0;
                r = image_root_open(dir, false, &img.lock_root);
                if (r >= 0)
                        r = image_lock(img.lock_root, name, !read_only && !o->ephemeral, &img.lock);
                if (r == -EBUSY) {
                        spawn_image_done(&img);
                        return fail(ret_error, r, "image is in use");
                }
                if (r < 0 && !(read_only && (r == -EROFS || r == -EACCES || r == -EPERM))) {
                        spawn_image_done(&img);
                        return fail(ret_error, r, "lock the image: %m");
                }
        }
        const char *source_dev;
        char devpath[64];
        int dev_fd;
        if (verity) {
                VerityParams params;
                const char *field = NULL;
                if ((r = verity_superblock_read(hash_fd, hash_offset, &params, &field)) < 0) {
                        r = fail(ret_error, r, "verity superblock: %s", field ?: strerror(-r));
                        goto fail;
                }
                if (params.data_blocks > root->size / params.data_block_size) {
                        r = fail(
                                ret_error, -EBADMSG, "verity superblock: data_blocks reach beyond the root partition");
                        goto fail;
                }
                if (verp->found) {
                        VerityGeometry g;
                        if ((r = verity_geometry(&params, true, hash_offset, &g)) < 0 ||
                                g.hash_end > verp->offset + verp->size) {
                                r = fail(ret_error, -EBADMSG,
                                        "verity superblock: the hash tree does not fit its partition");
                                goto fail;
                        }
                }
                /* With device-mapper: a name of this run's own (two runs of one image coexist). */
                char dm_name[64];
                snprintf(dm_name, sizeof(dm_name), "cowpen-%i-%02x%02x%02x%02x-verity", (int) getpid(), hash[0], hash[1],
                         hash[2], hash[3]);
                VerityOpenRequest req = {
                        .data_fd = fd,
                        .data_offset = root->offset,
                        .hash_fd = hash_fd,
                        .hash_offset = hash_offset,
                        .superblock = true,
                        .params = params,
                        .pins = VERITY_PIN_DATA_BLOCKS | VERITY_PIN_DATA_BLOCK_SIZE | VERITY_PIN_HASH_BLOCK_SIZE,
                        .root_hash = hash,
                        .root_hash_size = hash_size,
                        .sig = sig,
                        .sig_size = sig_size,
                        .cert_dirs = cert_dirs,
                        .require_signature = !(o->policy & (IMAGE_POLICY_VERITY | IMAGE_POLICY_UNPROTECTED)),
                        .dm_name = dm_name,
                        .mode = VERITY_OPEN_AUTO,
                };
                VerityFailure f = {};
                r = verity_open(&req, &img.verity, &f);
                if (r < 0) {
                        char b[VERITY_FAILURE_STRING_MAX];
                        if (r == -EBADMSG && f.kind != VERITY_FAILURE_NONE) {
                                r = fail(ret_error, r, "verity: %s", verity_failure_to_string(&f, b, sizeof(b)));
                                goto fail;
                        }
                        {
                                r = fail(ret_error, r, "verity: %m");
                                goto fail;
                        }
                }
                dev_fd = img.verity.fd;
        } else {
                _cleanup_free_ char *lp = NULL;
                r = loop_attach(fd, root->offset, root->size, read_only, &img.device_fd, &lp);
                if (r < 0) {
                        r = fail(ret_error, r, "attach a loop device: %m");
                        goto fail;
                }
                dev_fd = img.device_fd;
        }
        /* From here on what counts is the device: its file system is detected on it. */
        uint64_t dsize = 0;
        if (ioctl(dev_fd, BLKGETSIZE64, &dsize) < 0) {
                r = fail(ret_error, negative_errno(), "device size: %m");
                goto fail;
        }
        const char *fstype = fs_detect(dev_fd, 0, dsize);
        if (!fstype) {
                r = fail(ret_error, -EMEDIUMTYPE, "no ext4, btrfs, xfs, erofs or squashfs file system on the root");
                goto fail;
        }
        snprintf(devpath, sizeof(devpath), "/proc/self/fd/%i", dev_fd);
        source_dev = devpath;

        if ((r = mount_namespace_private()) < 0) {
                (void) fail(ret_error, r, "private mount namespace: %m");
                goto fail;
        }
        sweep_stale_mountpoints();
        if (asprintf(&img.mountpoint, "/run/cowpen-image.%i.XXXXXX", (int) getpid()) < 0)
                img.mountpoint = NULL;
        if (!img.mountpoint || !mkdtemp(img.mountpoint)) {
                r = fail(ret_error, img.mountpoint ? negative_errno() : -ENOMEM, "mount point: %m");
                free(img.mountpoint);
                img.mountpoint = NULL;
                goto fail;
        }
        if (mount(source_dev, img.mountpoint, fstype, read_only ? MS_RDONLY : 0, NULL) < 0) {
                r = fail(ret_error, negative_errno(), "mount %s root: %m", fstype);
                goto fail;
        }
        img.mounted = true;
        r = prepared_root_new_mounted(img.mountpoint, o->machine, o->path, &img.root);
        if (r < 0) {
                (void) fail(ret_error, r,
                        r == -EMEDIUMTYPE ? "not an OS tree (no etc/os-release or usr/lib/os-release)"
                        : r == -EINVAL    ? "the file name is no valid machine name (use -M)"
                                          : "%m");
                goto fail;
        }
        *ret = img;
        return 0;
fail:
        spawn_image_done(&img);
        return r;
}
