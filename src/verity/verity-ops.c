/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole operations on files, as the verity verbs run them: a tree built next to or into an image
 * (verity_format), an image and its tree opened, checked against each other and verified
 * (verity_verify_open/_load_tree/_check), a root hash signed into files (verity_sign). Which files
 * they are is the caller's (verity-sidecar.c finds them).
 *
 * Untrusted input: the data, the hash file (its superblock is parsed by verity-params.c, its tree
 * checked by verity-tree.c), the signature (verity-sig.c) and the root hash text. Paths come from
 * the command line; files and block devices are checked before open() (a FIFO would block it).
 *
 * Failures carry the file or part they concern as the diag's object and what is wrong as its
 * cause, in the words verb-verity.c prints ("OBJECT: CAUSE", "OBJECT: %m", "CAUSE"); one recorded
 * without either is the errno alone. -ENOMEM with nothing recorded: out of memory. */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "util.h"
#include "verity.h"

/* ---- verity-format ---- */

/* The data blocks of the request: all there are (checked to be whole blocks), or as many as asked
 * (checked to be there); with the tree inside the data file, exactly the bytes before it. */
static int format_data_blocks(const VerityFormatRequest *req, uint64_t size, VerityParams *p, Diag *diag) {
        bool one_file = !req->hash_path;
        uint64_t avail = one_file ? MIN(size, req->hash_offset) : size;
        uint32_t bs = p->data_block_size;
        if (p->data_blocks == 0) {
                if (avail % bs != 0)
                        return diag_fail(diag, -EINVAL, NULL,
                                "data size %" PRIu64 " is not a multiple of the data block size %" PRIu32
                                " (the tail would be unprotected)",
                                avail, bs);
                if (avail == 0)
                        return diag_fail(diag, -EINVAL, NULL, "no data to protect");
                if (avail / bs > VERITY_DATA_BLOCKS_MAX)
                        return diag_fail(diag, -EFBIG, NULL, "more than %" PRIu64 " data blocks",
                                (uint64_t) VERITY_DATA_BLOCKS_MAX);
                p->data_blocks = avail / bs;
        } else if (p->data_blocks > avail / bs)
                return diag_fail(diag, -EINVAL, NULL, "--data-blocks=%" PRIu64 " exceeds the %" PRIu64 " blocks there",
                        p->data_blocks, avail / bs);
        if (one_file && p->data_blocks * bs != req->hash_offset)
                return diag_fail(diag, -EINVAL, NULL,
                        "--hash-offset=%" PRIu64 " must equal the data size %" PRIu64
                        " (bytes between would be unprotected)",
                        req->hash_offset, p->data_blocks * bs);
        return 0;
}

/* A new regular hash file is built under a temporary name; an existing block device, a tree at an
 * offset or inside the data file is written in place (there is nothing to rename). The tree file
 * must never be the data file itself unless asked for with a hash offset and no hash file. */
static int format_open_hash(const VerityFormatRequest *req, const VerityParams *p, int data_fd, AtomicFile *af,
        int *ret_own_fd, int *ret_hash_fd, Diag *diag) {
        struct stat st, dst;
        int r;
        if (fstat(data_fd, &dst) < 0)
                return diag_fail(diag, negative_errno(), NULL, NULL);
        if (!req->hash_path) {
                *ret_hash_fd = data_fd;
                return 0;
        }
        bool exists = stat(req->hash_path, &st) >= 0;
        if (exists && st.st_dev == dst.st_dev && st.st_ino == dst.st_ino &&
                req->hash_offset < p->data_blocks * p->data_block_size)
                return diag_fail(diag, -ERANGE, NULL, "the tree in %s would overwrite the data", req->hash_path);
        if (req->hash_offset == 0 && (!exists || S_ISREG(st.st_mode))) {
                r = atomic_file_open(req->hash_path, 0644, ATOMIC_FILE_SYNC, af);
                if (r < 0)
                        return diag_fail(diag, r, req->hash_path, NULL);
                *ret_hash_fd = af->fd;
                return 0;
        }
        /* An existing tree file or device is checked before open() (a FIFO would block it
         * forever); a missing one is made. */
        int fd = exists ? open_checked(AT_FDCWD, req->hash_path, O_RDWR, OPEN_REGULAR | OPEN_BLOCK, NULL)
                        : RET_NERRNO(open(req->hash_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644));
        if (fd == -EBADFD || fd == -EISDIR)
                return diag_fail(diag, fd, req->hash_path, "not a regular file or block device");
        if (fd < 0)
                return diag_fail(diag, fd, req->hash_path, NULL);
        *ret_own_fd = *ret_hash_fd = fd;
        return 0;
}

int verity_format(const VerityFormatRequest *req, char **ret_root_hash_hex, Diag *diag) {
        VerityParams p = req->params;
        int r;

        /* Files and block devices only, checked before open(): a FIFO would block it forever. */
        _cleanup_close_ int data_fd = open_checked(
                AT_FDCWD, req->data_path, req->hash_path ? O_RDONLY : O_RDWR, OPEN_REGULAR | OPEN_BLOCK, NULL);
        if (data_fd == -EBADFD || data_fd == -EISDIR)
                return diag_fail(diag, data_fd, NULL, "not a regular file or block device");
        if (data_fd < 0)
                return diag_fail(diag, data_fd, NULL, NULL);
        uint64_t size;
        if ((r = fd_size(data_fd, &size)) < 0)
                return diag_fail(diag, r, NULL, "not a regular file or block device");
        if ((r = format_data_blocks(req, size, &p, diag)) < 0)
                return r;
        if ((r = verity_params_randomize(&p, req->random_salt, req->random_uuid)) < 0)
                return diag_fail(diag, r, "random bytes", NULL);
        _cleanup_diag_ Diag field = DIAG_INIT;
        if ((r = verity_params_validate(&p, &field)) < 0)
                return diag_fail(diag, r, NULL, "bad %s", field.object);
        VerityGeometry g;
        if ((r = verity_geometry(&p, req->superblock, req->hash_offset, &g)) < 0)
                return diag_fail(
                        diag, r, NULL, "--hash-offset=%" PRIu64 " does not fit the hash block size", req->hash_offset);

        AtomicFile af = ATOMIC_FILE_NULL;
        _cleanup_close_ int own_hash_fd = -EBADF;
        int hash_fd = -EBADF;
        if ((r = format_open_hash(req, &p, data_fd, &af, &own_hash_fd, &hash_fd, diag)) < 0)
                return r;
        bool atomic = af.fd >= 0;

        VerityLocation loc = {
                .data_fd = data_fd,
                .hash_fd = hash_fd,
                .hash_offset = req->hash_offset,
                .superblock = req->superblock,
        };
        uint8_t root[VERITY_DIGEST_SIZE_MAX];
        r = verity_tree_build(&loc, &p, req->threads, root);
        if (r >= 0 && !atomic && fsync(hash_fd) < 0)
                r = -errno;
        if (r >= 0 && atomic)
                r = atomic_file_commit(&af);
        atomic_file_done(&af); /* removes the temporary file unless committed */
        if (r == -EINTR)
                return diag_fail(diag, r, NULL, "interrupted, nothing was kept");
        if (r == -ERANGE)
                return diag_fail(diag, r, NULL, "the tree would overwrite the data");
        if (r < 0)
                return diag_fail(diag, r, req->hash_path ?: req->data_path, NULL);

        _cleanup_free_ char *hex = hexmem(root, g.digest_size);
        if (!hex)
                return -ENOMEM;
        r = write_file_atomic(req->root_hash_path, hex, strlen(hex), 0644, ATOMIC_FILE_SYNC);
        if (r < 0)
                return diag_fail(diag, r, req->root_hash_path, NULL);
        *ret_root_hash_hex = TAKE_PTR(hex);
        return 0;
}

/* ---- verity-verify ---- */

void verity_verify_done(VerityVerify *v) {
        if (!v)
                return;
        safe_close(v->data_fd);
        safe_close(v->hash_fd);
        *v = VERITY_VERIFY_NULL;
}

/* Parameters: from the (untrusted) superblock, checked against what the caller pinned, or from
 * the request. */
static int verify_params(
        const VerityVerify *v, const VerityVerifyRequest *req, const char *hash_name, VerityParams *ret, Diag *diag) {
        _cleanup_diag_ Diag field = DIAG_INIT;
        int r;
        if (!req->superblock) {
                VerityParams p = req->params;
                if (p.data_blocks == 0) {
                        uint64_t avail = req->tree_in_data ? MIN(v->data_size, req->hash_offset) : v->data_size;
                        p.data_blocks = avail / p.data_block_size;
                }
                if ((r = verity_params_validate(&p, &field)) < 0)
                        return diag_fail(diag, r, NULL, "bad %s", field.object);
                *ret = p;
                return 0;
        }
        _cleanup_free_ char *what = strjoin("superblock of ", hash_name);
        if (!what)
                return -ENOMEM;
        VerityParams p;
        r = verity_superblock_read(v->hash_fd, req->hash_offset, &p, &field);
        if (r == -EBADMSG)
                return diag_fail(diag, r, what, "bad %s", field.object);
        if (r < 0)
                return diag_fail(diag, r, what, NULL);
        diag_clear_failure(&field);
        r = verity_params_check_pinned(&p, &req->params, req->pins, &field);
        if (r < 0)
                return diag_fail(diag, r, what, "%s differs from the one given", field.object);
        *ret = p;
        return 0;
}

int verity_verify_open(const char *data_path, VerityVerify *ret, Diag *diag) {
        VerityVerify v = VERITY_VERIFY_NULL;
        v.data_fd = open_checked(AT_FDCWD, data_path, O_RDONLY, OPEN_REGULAR | OPEN_BLOCK, NULL);
        if (v.data_fd == -EBADFD || v.data_fd == -EISDIR)
                return diag_fail(diag, v.data_fd, NULL, "not a regular file or block device");
        if (v.data_fd < 0)
                return diag_fail(diag, v.data_fd, NULL, NULL);
        int r = fd_size(v.data_fd, &v.data_size);
        if (r < 0) {
                verity_verify_done(&v);
                return diag_fail(diag, r, NULL, "not a regular file or block device");
        }
        v.data_is_blockdev = r > 0;
        *ret = v;
        return 0;
}

int verity_verify_load_tree(
        VerityVerify *v, int hash_fd, const char *hash_name, const VerityVerifyRequest *req, Diag *diag) {
        safe_close(v->hash_fd);
        v->hash_fd = hash_fd;
        int r = verify_params(v, req, hash_name, &v->params, diag);
        if (r < 0)
                return r;

        /* Every byte of the data must be covered: a tail outside the tree would be unprotected. */
        const VerityParams *p = &v->params;
        uint64_t covered = p->data_blocks * p->data_block_size;
        if (req->tree_in_data ? covered != req->hash_offset
                              : (v->data_is_blockdev ? v->data_size < covered : v->data_size != covered))
                return diag_fail(diag, -EBADMSG, NULL,
                        "data size %" PRIu64 " does not match the %" PRIu64 " blocks of %" PRIu32
                        " bytes the tree protects",
                        req->tree_in_data ? req->hash_offset : v->data_size, p->data_blocks, p->data_block_size);
        VerityGeometry g;
        if ((r = verity_geometry(p, req->superblock, req->hash_offset, &g)) < 0)
                return diag_fail(diag, r, "tree geometry", NULL);
        uint64_t hash_size;
        if ((r = fd_size(v->hash_fd, &hash_size)) < 0)
                return diag_fail(diag, r, hash_name, "not a regular file or block device");
        if (hash_size < g.hash_end)
                return diag_fail(diag, -EBADMSG, NULL, "%s is %" PRIu64 " bytes, the tree needs %" PRIu64, hash_name,
                        hash_size, g.hash_end);

        v->location = (VerityLocation){
                .data_fd = v->data_fd,
                .hash_fd = v->hash_fd,
                .hash_offset = req->hash_offset,
                .superblock = req->superblock,
        };
        v->threads = req->threads;
        return 0;
}

/* The signature over root_hex: -ENOKEY, -EKEYREJECTED and -EBADMSG in the words of the verb. */
static int verify_signature(
        const char *root_hex, const VerityVerifySignature *sig, const char *cert_dir, char **ret_signer, Diag *diag) {
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_free_ char *what = strjoin("signature ", sig->name);
        if (!what || verity_cert_dirs(cert_dir, &dirs) < 0)
                return -ENOMEM;
        int r = verity_sig_verify(root_hex, sig->p7s, sig->p7s_size, dirs, sig->fingerprint_hex, ret_signer);
        if (r == -ENOKEY) {
                _cleanup_free_ char *list = NULL;
                for (char **d = dirs; *d; d++) {
                        char *l = list ? strjoin(list, ", ", *d) : strdup(*d);
                        if (!l)
                                return -ENOMEM;
                        free(list);
                        list = l;
                }
                return diag_fail(diag, r, what, "not signed by a trusted certificate (%s)", list ?: "");
        }
        if (r == -EKEYREJECTED)
                return diag_fail(diag, r, what, "does not verify over root hash %s", root_hex);
        if (r == -EBADMSG)
                return diag_fail(diag, r, what, "malformed (not DER PKCS#7 with detached content)");
        if (r < 0)
                return diag_fail(diag, r, what, NULL);
        return 0;
}

int verity_verify_check(VerityVerify *v, const char *root_hash_text, const char *root_hash_source,
        const VerityVerifySignature *sig, const char *cert_dir, char **ret_root_hash_hex, char **ret_signer,
        Diag *diag) {
        const VerityParams *p = &v->params;
        uint8_t root[VERITY_DIGEST_SIZE_MAX];
        size_t root_size;
        int r = verity_root_hash_from_hex(root_hash_text, p->hash, root, &root_size);
        if (r < 0)
                return diag_fail(diag, r, NULL, "root hash from %s is not %zu bytes of hex for %s", root_hash_source,
                        verity_hash_digest_size(p->hash), verity_hash_to_string(p->hash));
        _cleanup_free_ char *root_hex = hexmem(root, root_size);
        if (!root_hex)
                return -ENOMEM;

        _cleanup_free_ char *signer = NULL;
        if (sig && sig->root_hash_hex && !streq(sig->root_hash_hex, root_hex)) {
                _cleanup_free_ char *what = strjoin("signature ", sig->name);
                if (!what)
                        return -ENOMEM;
                return diag_fail(diag, -EBADMSG, what, "signs root hash %s, not %s", sig->root_hash_hex, root_hex);
        }
        if (sig && sig->p7s && (r = verify_signature(root_hex, sig, cert_dir, &signer, diag)) < 0)
                return r;

        VerityFailure f = {};
        r = verity_tree_verify(&v->location, p, root, root_size, v->threads, &f);
        if (r == -EBADMSG) {
                char buf[VERITY_FAILURE_STRING_MAX];
                return diag_fail(diag, r, NULL, "%s", verity_failure_to_string(&f, buf, sizeof(buf)));
        }
        if (r == -EINTR)
                return diag_fail(diag, r, NULL, "interrupted");
        if (r == -EIO)
                return diag_fail(diag, r, NULL, "read error or file shorter than the tree says");
        if (r < 0)
                return diag_fail(diag, r, NULL, NULL);
        *ret_root_hash_hex = TAKE_PTR(root_hex);
        if (ret_signer)
                *ret_signer = TAKE_PTR(signer);
        return 0;
}

/* ---- verity-sign ---- */

int verity_sign(const VeritySignRequest *req, Diag *diag) {
        size_t len = strlen(req->root_hash_text);
        bool ok = len == 40 || len == 64 || len == 128;
        for (size_t i = 0; ok && i < len; i++)
                ok = unhexchar(req->root_hash_text[i]) >= 0;
        if (!ok)
                return diag_fail(diag, -EINVAL, NULL, "root hash from %s is not a sha1, sha256 or sha512 hex digest",
                        req->root_hash_source);
        _cleanup_free_ char *root_hex = strdup(req->root_hash_text);
        if (!root_hex)
                return -ENOMEM;
        for (char *x = root_hex; *x; x++)
                *x = (char) (*x >= 'A' && *x <= 'F' ? *x - 'A' + 'a' : *x);

        _cleanup_free_ char *key = NULL, *cert = NULL, *key_what = strjoin("private key ", req->key_path),
                            *cert_what = strjoin("certificate ", req->cert_path);
        size_t key_size, cert_size;
        if (!key_what || !cert_what)
                return -ENOMEM;
        int r = read_file_at(AT_FDCWD, req->key_path, 0, VERITY_CERT_SIZE_MAX, &key, &key_size);
        if (r < 0)
                return diag_fail(diag, r, key_what, NULL);
        if ((r = read_file_at(AT_FDCWD, req->cert_path, 0, VERITY_CERT_SIZE_MAX, &cert, &cert_size)) < 0)
                return diag_fail(diag, r, cert_what, NULL);

        _cleanup_free_ void *p7s = NULL;
        size_t p7s_size;
        r = verity_sig_sign(root_hex, key, key_size, cert, cert_size, &p7s, &p7s_size);
        if (r == -ENOKEY)
                return diag_fail(diag, r, key_what, "not a PEM private key");
        if (r == -EBADMSG)
                return diag_fail(diag, r, cert_what, "not a PEM certificate");
        if (r == -EKEYREJECTED)
                return diag_fail(diag, r, NULL, "private key %s does not belong to certificate %s", req->key_path,
                        req->cert_path);
        if (r < 0)
                return diag_fail(diag, r, "signing", NULL);

        if ((r = write_file_atomic(req->output_path, p7s, p7s_size, 0644, ATOMIC_FILE_SYNC)) < 0)
                return diag_fail(diag, r, req->output_path, NULL);
        if (req->json_path) {
                _cleanup_free_ char *json = NULL;
                r = verity_sig_json_format(root_hex, cert, cert_size, p7s, p7s_size, &json);
                if (r < 0)
                        return diag_fail(diag, r, "signature JSON", NULL);
                if ((r = write_file_atomic(req->json_path, json, strlen(json), 0644, ATOMIC_FILE_SYNC)) < 0)
                        return diag_fail(diag, r, req->json_path, NULL);
        }
        return 0;
}
