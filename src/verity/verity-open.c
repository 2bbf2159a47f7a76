/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verified opening of an image: a dm-verity device through libcryptsetup (the one file that includes
 * libcryptsetup.h; loaded with dlopen() only on this path) where device-mapper answers, else a full
 * userspace verification of a private, unchangeable copy of the data that is then attached to a
 * read-only loop device (immutable files verified in full once are not again: verity-cache.c).
 *
 * Untrusted input: the data, the tree and its superblock, the signature (all checked by
 * verity-params.c, verity-tree.c, verity-sig.c before anything is exposed). */
#include <fcntl.h>
#include <libcryptsetup.h>
#include <libgen.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "copy.h"
#include "dlopen-util.h"
#include "fd-util.h"
#include "loop-util.h"
#include "util.h"
#include "verity-cache.h"
#include "verity.h"

/* libcryptsetup, loaded by dlopen_cryptsetup() where the device-mapper path is taken, never for the
 * userspace one (see dlopen-util.h): the functions this file calls. */
static typeof(crypt_set_log_callback) *sym_crypt_set_log_callback;
static typeof(crypt_init_data_device) *sym_crypt_init_data_device;
static typeof(crypt_init_by_name) *sym_crypt_init_by_name;
static typeof(crypt_load) *sym_crypt_load;
static typeof(crypt_format) *sym_crypt_format;
static typeof(crypt_get_verity_info) *sym_crypt_get_verity_info;
static typeof(crypt_activate_by_signed_key) *sym_crypt_activate_by_signed_key;
static typeof(crypt_activate_by_volume_key) *sym_crypt_activate_by_volume_key;
static typeof(crypt_deactivate_by_name) *sym_crypt_deactivate_by_name;
static typeof(crypt_free) *sym_crypt_free;

static const DlopenSymbol libcryptsetup_symbols[] = {
        DLSYM(crypt_set_log_callback),
        DLSYM(crypt_init_data_device),
        DLSYM(crypt_init_by_name),
        DLSYM(crypt_load),
        DLSYM(crypt_format),
        DLSYM(crypt_get_verity_info),
        DLSYM(crypt_activate_by_signed_key),
        DLSYM(crypt_activate_by_volume_key),
        DLSYM(crypt_deactivate_by_name),
        DLSYM(crypt_free),
        {},
};
static DlopenLibrary libcryptsetup_library = DLOPEN_LIBRARY_INIT(LIBCRYPTSETUP_SONAME, libcryptsetup_symbols);

int dlopen_cryptsetup(const char **ret_detail) {
        return dlopen_library(&libcryptsetup_library, ret_detail);
}

static void crypt_log_discard(int level, const char *msg, void *userdata) {
}

/* Whether device-mapper answers, asked once: the DM_VERSION ioctl on its control node. The node
 * alone proves nothing: libdevmapper creates /dev/mapper/control whether or not the kernel has
 * device-mapper (a failed "veritysetup open" leaves it behind), and opening it then fails with
 * ENODEV; without the kernel's answer every verity image would fail instead of being checked in
 * userspace. */
bool verity_dm_available(void) {
        static int cached = -1;
        if (cached >= 0)
                return cached;
        bool ok = false;
        int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
                struct stat st;
                struct dm_ioctl io = {
                        .version = { DM_VERSION_MAJOR, 0, 0 },
                        .data_size = sizeof(io),
                };
                ok = fstat(fd, &st) >= 0 && S_ISCHR(st.st_mode) && ioctl(fd, DM_VERSION, &io) >= 0 &&
                     io.version[0] == DM_VERSION_MAJOR;
                safe_close(fd);
        }
        cached = ok;
        return ok;
}

static int reopen_read_only(int fd, int *ret) {
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        int r = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (r < 0)
                return -errno;
        *ret = r;
        return 0;
}

static int open_tmpfile_near(int fd, bool same_dir) {
        if (same_dir) {
                _cleanup_free_ char *path = NULL;
                if (fd_get_path(fd, &path) >= 0 && path[0] == '/') {
                        int t = open(dirname(path), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                        if (t >= 0)
                                return t;
                }
        }
        int t = open("/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        return t >= 0 ? t : -errno;
}

int verity_pin_file(int fd, int *ret_fd, const char **ret_how) {
        struct stat st;
        int r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return -EBADFD;

        /* Immutable: nobody can write it (clearing the flag needs CAP_LINUX_IMMUTABLE). */
        int flags = 0;
        if (S_ISREG(st.st_mode) && ioctl(fd, FS_IOC_GETFLAGS, &flags) >= 0 && (flags & FS_IMMUTABLE_FL)) {
                if ((r = reopen_read_only(fd, ret_fd)) < 0)
                        return r;
                *ret_how = "immutable";
                return 0;
        }

        /* Into an unlinked file next to it that only we hold: a reflink, which shares the blocks
         * and costs nothing, else a private full copy (slow for big images, but the only way left
         * to be sure; strict: a file that shrinks meanwhile fails rather than pins zeros). */
        _cleanup_close_ int t = open_tmpfile_near(fd, S_ISREG(st.st_mode));
        if (t < 0)
                return t;
        r = copy_file_data(fd, t, (S_ISREG(st.st_mode) ? COPY_FILE_REFLINK : 0) | COPY_FILE_STRICT);
        if (r < 0)
                return r;
        const char *how = r > 0 ? "reflink" : "copy";
        if ((r = reopen_read_only(t, ret_fd)) < 0)
                return r;
        *ret_how = how;
        return 0;
}

void verity_opened_done(VerityOpened *o) {
        if (!o)
                return;
        o->fd = safe_close(o->fd);
        /* o->dm is set only after libcryptsetup was loaded: this loads nothing. */
        if (o->dm && o->dm_name && dlopen_cryptsetup(NULL) >= 0) {
                struct crypt_device *cd = NULL;
                sym_crypt_set_log_callback(NULL, crypt_log_discard, NULL);
                if (sym_crypt_init_by_name(&cd, o->dm_name) >= 0)
                        (void) sym_crypt_deactivate_by_name(cd, o->dm_name, CRYPT_DEACTIVATE_DEFERRED);
                sym_crypt_free(cd);
        }
        free(o->device_path);
        free(o->signer);
        free(o->dm_name);
        *o = (VerityOpened){.fd = -EBADF};
}

static int check_signature(const VerityOpenRequest *req, size_t digest_size, char **ret_signer, VerityFailure *f) {
        if (req->root_hash_size != digest_size)
                return -EINVAL;
        if (!req->sig) {
                *ret_signer = NULL;
                return req->require_signature ? -ENOKEY : 0;
        }
        _cleanup_free_ char *hex = hexmem(req->root_hash, req->root_hash_size);
        if (!hex)
                return -ENOMEM;
        int r = verity_sig_verify(hex, req->sig, req->sig_size, req->cert_dirs, NULL, ret_signer);
        if (r == -EBADMSG || r == -ENOKEY || r == -EKEYREJECTED)
                *f = (VerityFailure){.kind = VERITY_FAILURE_SIGNATURE};
        return r;
}

static int params_for(const VerityOpenRequest *req, int hash_fd, VerityParams *ret) {
        if (!req->superblock) {
                int r = verity_params_validate(&req->params, NULL);
                if (r < 0)
                        return r;
                *ret = req->params;
                return 0;
        }
        VerityParams p;
        int r = verity_superblock_read(hash_fd, req->hash_offset, &p, NULL);
        if (r < 0)
                return r;
        r = verity_params_check_pinned(&p, &req->params, req->pins, NULL);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

static int open_userspace(const VerityOpenRequest *req, VerityOpened *ret, VerityFailure *ret_failure) {
        _cleanup_close_ int data = -EBADF, hash = -EBADF;
        const char *how, *hash_how;
        struct stat a, b;
        int r;

        if (fstat(req->data_fd, &a) < 0 || fstat(req->hash_fd, &b) < 0)
                return -errno;
        if ((r = verity_pin_file(req->data_fd, &data, &how)) < 0)
                return r;
        if (a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                hash = fcntl(data, F_DUPFD_CLOEXEC, 3);
                if (hash < 0)
                        return -errno;
                hash_how = how;
        } else if ((r = verity_pin_file(req->hash_fd, &hash, &hash_how)) < 0)
                return r;

        /* From here on only the pinned fds are read. */
        VerityParams p;
        if ((r = params_for(req, hash, &p)) < 0)
                return r;
        VerityFailure f = {};
        _cleanup_free_ char *signer = NULL, *key = NULL;
        r = check_signature(req, verity_hash_digest_size(p.hash), &signer, &f);
        if (r < 0)
                goto fail;
        VerityLocation loc = {
                .data_fd = data,
                .data_offset = req->data_offset,
                .hash_fd = hash,
                .hash_offset = req->hash_offset,
                .superblock = req->superblock,
        };
        /* Immutable data and tree verified in full before with the same key need not be again
         * (verity-cache.c says why that keeps the guarantee); anything else is, every time. */
        if (streq(how, "immutable") && streq(hash_how, "immutable") &&
                verity_cache_key(data, req->data_offset, hash, req->hash_offset, req->superblock, &p, req->root_hash,
                        req->root_hash_size, &key) < 0)
                key = NULL;
        if (!key || verity_cache_lookup(key) <= 0) {
                r = verity_tree_verify(&loc, &p, req->root_hash, req->root_hash_size, req->threads, &f);
                if (r < 0)
                        goto fail;
                /* Recorded only when nothing changed while it was checked. */
                _cleanup_free_ char *after = NULL;
                if (key &&
                        verity_cache_key(data, req->data_offset, hash, req->hash_offset, req->superblock, &p,
                                req->root_hash, req->root_hash_size, &after) >= 0 &&
                        streq(key, after))
                        (void) verity_cache_store(key);
        }

        VerityOpened o = {.fd = -EBADF, .signer = TAKE_PTR(signer)};
        r = loop_attach(data, req->data_offset, p.data_blocks * p.data_block_size, LOOP_ATTACH_READ_ONLY, &o.fd,
                &o.device_path);
        if (r < 0) {
                verity_opened_done(&o);
                return r;
        }
        *ret = o;
        return 0;
fail:
        if (r == -EBADMSG && ret_failure)
                *ret_failure = f;
        if ((r == -ENOKEY || r == -EKEYREJECTED) && ret_failure)
                *ret_failure = (VerityFailure){.kind = VERITY_FAILURE_SIGNATURE};
        return r;
}

static int open_dm(const VerityOpenRequest *req, VerityOpened *ret, VerityFailure *ret_failure) {
        struct crypt_device *cd = NULL;
        _cleanup_close_ int data_loop = -EBADF;
        _cleanup_free_ char *data_loop_path = NULL, *signer = NULL;
        char data_path[64], hash_path[64];
        VerityFailure f = {};
        VerityParams p;
        int r;

        if (!req->dm_name || !*req->dm_name || strchr(req->dm_name, '/'))
                return -EINVAL;
        /* Before any work: without the library nothing here can be done (the caller asks
         * dlopen_cryptsetup() for the detail). */
        if ((r = dlopen_cryptsetup(NULL)) < 0)
                return r;
        if ((r = params_for(req, req->hash_fd, &p)) < 0)
                return r;
        /* The signature is checked here first, so the signer can be named and an untrusted one
         * refused even when the kernel cannot check signatures itself. */
        r = check_signature(req, verity_hash_digest_size(p.hash), &signer, &f);
        if (r < 0) {
                if ((r == -EBADMSG || r == -ENOKEY || r == -EKEYREJECTED) && ret_failure)
                        *ret_failure = (VerityFailure){.kind = VERITY_FAILURE_SIGNATURE};
                return r;
        }

        /* dm-verity reads data from block 0 of its device: data at an offset gets a loop device. */
        int data_fd = req->data_fd;
        if (req->data_offset != 0) {
                r = loop_attach(req->data_fd, req->data_offset, p.data_blocks * p.data_block_size,
                        LOOP_ATTACH_READ_ONLY, &data_loop, &data_loop_path);
                if (r < 0)
                        return r;
                data_fd = data_loop;
        }
        snprintf(data_path, sizeof(data_path), "/proc/self/fd/%d", data_fd);
        snprintf(hash_path, sizeof(hash_path), "/proc/self/fd/%d", req->hash_fd);

        sym_crypt_set_log_callback(NULL, crypt_log_discard, NULL); /* a library layer prints nothing */
        r = sym_crypt_init_data_device(&cd, hash_path, data_path);
        if (r < 0)
                return r;
        const char *hash_name = verity_hash_to_string(p.hash);
        struct crypt_params_verity cp = {
                .hash_name = hash_name,
                .data_device = data_path,
                .salt = (const char *) p.salt,
                .salt_size = p.salt_size,
                .hash_type = p.format,
                .data_block_size = p.data_block_size,
                .hash_block_size = p.hash_block_size,
                .data_size = p.data_blocks,
                .hash_area_offset = req->hash_offset,
                .flags = req->superblock ? 0 : CRYPT_VERITY_NO_HEADER,
        };
        /* As veritysetup does: a superblock is loaded, parameters without one are "formatted"
         * (which for verity only sets them, CREATE_HASH not being asked for). */
        if (req->superblock)
                r = sym_crypt_load(cd, CRYPT_VERITY, &cp);
        else
                r = sym_crypt_format(cd, CRYPT_VERITY, NULL, NULL, NULL, NULL, 0, &cp);
        if (r >= 0 && req->superblock) {
                /* libcryptsetup read the superblock again: it must say what was checked above. */
                struct crypt_params_verity got = {};
                r = sym_crypt_get_verity_info(cd, &got);
                if (r >= 0 &&
                        (!got.hash_name || strcasecmp(got.hash_name, hash_name) != 0 || got.hash_type != p.format ||
                                got.data_block_size != p.data_block_size || got.hash_block_size != p.hash_block_size ||
                                got.data_size != p.data_blocks || got.salt_size != p.salt_size ||
                                (p.salt_size > 0 && (!got.salt || memcmp(got.salt, p.salt, p.salt_size) != 0))))
                        r = -ESTALE; /* changed between the two reads */
        }
        if (r >= 0) {
                if (req->sig) {
                        r = sym_crypt_activate_by_signed_key(cd, req->dm_name, (const char *) req->root_hash,
                                req->root_hash_size, req->sig, req->sig_size, CRYPT_ACTIVATE_READONLY);
                        /* A kernel without CONFIG_DM_VERITY_VERIFY_ROOTHASH_SIG, or without the
                         * certificate in its keyring: the signature was verified above against
                         * the trusted directories, and the kernel still checks every block
                         * against that root hash. */
                        if (r == -EOPNOTSUPP || r == -ENOTSUP || r == -EINVAL || r == -ENOKEY || r == -EKEYREJECTED)
                                r = sym_crypt_activate_by_volume_key(cd, req->dm_name, (const char *) req->root_hash,
                                        req->root_hash_size, CRYPT_ACTIVATE_READONLY);
                } else
                        r = sym_crypt_activate_by_volume_key(cd, req->dm_name, (const char *) req->root_hash,
                                req->root_hash_size, CRYPT_ACTIVATE_READONLY);
        }
        sym_crypt_free(cd);
        if (r == -EPERM && ret_failure)
                *ret_failure = (VerityFailure){.kind = VERITY_FAILURE_ROOT_HASH, .level = UINT32_MAX};
        if (r == -EPERM)
                return -EBADMSG;
        if (r < 0)
                return r;

        VerityOpened o = {.fd = -EBADF, .dm = true, .signer = TAKE_PTR(signer)};
        o.dm_name = strdup(req->dm_name);
        o.device_path = strjoin("/dev/mapper/", req->dm_name);
        if (!o.dm_name || !o.device_path) {
                verity_opened_done(&o);
                return -ENOMEM;
        }
        o.fd = open(o.device_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (o.fd < 0) {
                r = -errno;
                verity_opened_done(&o);
                return r;
        }
        *ret = o;
        return 0;
}

int verity_open(const VerityOpenRequest *req, VerityOpened *ret, VerityFailure *ret_failure) {
        if (!req || !ret || req->data_fd < 0 || req->hash_fd < 0)
                return -EINVAL;
        /* Fail closed: nothing is opened without a root hash to check it against. */
        if (!req->root_hash || req->root_hash_size == 0)
                return -ENOKEY;
        if (req->sig && req->sig_size > VERITY_SIG_SIZE_MAX)
                return -EFBIG;
        switch (req->mode) {
        case VERITY_OPEN_DM:
                if (!verity_dm_available())
                        return -EOPNOTSUPP;
                return open_dm(req, ret, ret_failure);
        case VERITY_OPEN_AUTO:
                if (verity_dm_available())
                        return open_dm(req, ret, ret_failure);
                return open_userspace(req, ret, ret_failure);
        case VERITY_OPEN_USERSPACE:
                return open_userspace(req, ret, ret_failure);
        default:
                return -EINVAL;
        }
}
