/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* push-oci: an image (directory or subvolume) to a registry as an OCI image (see pull.h).
 *
 * The layer is the tree as export-tar writes it (pax, sorted entries, numeric owners, xattrs,
 * ACLs, hardlinks, devices, mtimes), written to an unnamed temporary file in the image root and
 * hashed (its diff_id), then compressed to a second one and hashed (its blob digest). Blobs the
 * registry has (HEAD) are not sent; the others go in chunked, resumable uploads; the manifest
 * last. Untrusted input: the image's config sidecar (made by whoever built the image; parsed with
 * a size limit, and only its "config", "architecture", "os" and "variant" kept) and everything the
 * registry answers (oci-registry.c). */
#include <fcntl.h>
#include <json-c/json.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fd-util.h"
#include "hash-util.h"
#include "image.h"
#include "lock.h"
#include "oci-registry.h"
#include "oci-verify.h"
#include "pull-gpg.h"
#include "pull.h"
#include "util.h"

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

void oci_push_result_done(OciPushResult *r) {
        if (!r)
                return;
        free(r->reference);
        free(r->registry_url);
        free(r->manifest_digest);
        free(r->layer_digest);
        free(r->signature_path);
        *r = (OciPushResult){};
}

/* An unnamed file next to the images (the same file system: space is checked where it is used). */
static int tmpfile_in(int dir_fd, int *ret) {
        int fd = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == ENOENT))
                fd = open("/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        *ret = fd;
        return 0;
}

static int fd_digest(int fd, char **ret, uint64_t *ret_size) {
        _cleanup_(hash_context_freep) HashContext *h = NULL;
        int r = hash_context_new(HASH_SHA256, &h);
        if (r < 0)
                return r;
        _cleanup_free_ uint8_t *buf = malloc(1024 * 1024);
        if (!buf)
                return -ENOMEM;
        uint64_t total = 0;
        for (;;) {
                ssize_t n = pread(fd, buf, 1024 * 1024, (off_t) total);
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                if ((r = hash_context_update(h, buf, (size_t) n)) < 0)
                        return r;
                total += (uint64_t) n;
                if (interrupted())
                        return -EINTR;
        }
        uint8_t md[HASH_DIGEST_SIZE_MAX];
        if ((r = hash_context_final(h, md)) < 0)
                return r;
        _cleanup_free_ char *hex = hexmem(md, 32);
        if (!hex)
                return -ENOMEM;
        *ret = strjoin("sha256:", hex);
        if (!*ret)
                return -ENOMEM;
        *ret_size = total;
        return 0;
}

static char *mem_digest(const void *p, size_t n) {
        uint8_t md[HASH_DIGEST_SIZE_MAX];
        if (hash_digest(HASH_SHA256, p, n, md) < 0)
                return NULL;
        _cleanup_free_ char *hex = hexmem(md, 32);
        return hex ? strjoin("sha256:", hex) : NULL;
}

static const char *host_arch(void) {
        struct utsname u;
        if (uname(&u) < 0)
                return "amd64";
        static const char *const map[][2] = {
                {"x86_64", "amd64"},
                {"aarch64", "arm64"},
                {"armv7l", "arm"},
                {"i686", "386"},
                {"ppc64le", "ppc64le"},
                {"s390x", "s390x"},
                {"riscv64", "riscv64"},
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(u.machine, map[i][0]))
                        return map[i][1];
        return "amd64";
}

/* A base layer of the image: a layer of the image it was pulled as (its sidecar's diff_ids), with
 * the blob the pull recorded for it (.#oci/layers/CHAIN). */
typedef struct BaseLayer {
        char *diff_id, *chain;
        char *digest, *media_type, *from; /* from: registry/repository it was pulled from */
        uint64_t size;
} BaseLayer;

static void base_layers_free(BaseLayer *b, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(b[i].diff_id);
                free(b[i].chain);
                free(b[i].digest);
                free(b[i].media_type);
                free(b[i].from);
        }
        free(b);
}

static bool media_type_ok(const char *s) {
        return streq(s, MT_LAYER_GZIP) || streq(s, MT_LAYER_ZSTD) ||
               streq(s, "application/vnd.oci.image.layer.v1.tar") ||
               streq(s, "application/vnd.docker.image.rootfs.diff.tar.gzip");
}

/* The base chain of the image (its config's diff_ids, each with a recorded blob): 0 with *ret_n 0
 * when there is none (no sidecar, no diff_ids, a layer the store does not know). */
static int find_base(int store_fd, json_object *config, BaseLayer **ret, size_t *ret_n) {
        *ret = NULL;
        *ret_n = 0;
        json_object *rootfs, *ids;
        if (!config || !json_object_object_get_ex(config, "rootfs", &rootfs) ||
                !json_object_object_get_ex(rootfs, "diff_ids", &ids) || !json_object_is_type(ids, json_type_array))
                return 0;
        size_t n = json_object_array_length(ids);
        if (n == 0 || n >= OCI_LAYERS_MAX)
                return 0;
        BaseLayer *b = calloc(n, sizeof(BaseLayer));
        if (!b)
                return -ENOMEM;
        int r = 0;
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(ids, i);
                const char *d = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
                if (!d || !oci_digest_is_valid(d))
                        goto none;
                if (!(b[i].diff_id = strdup(d)) || (r = oci_chain_id(i > 0 ? b[i - 1].chain : NULL, d, &b[i].chain)) < 0) {
                        r = r < 0 ? r : -ENOMEM;
                        goto fail;
                }
                _cleanup_free_ char *fn = strjoin("layers/", b[i].chain), *text = NULL;
                if (!fn) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (read_file_at(store_fd, fn, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, 1024, &text, NULL) < 0)
                        goto none;
                char dg[80], mt[128], from[OCI_REF_MAX + 1];
                unsigned long long size;
                if (sscanf(text, "%79s %llu %127s %1024s", dg, &size, mt, from) != 4 || !oci_digest_is_valid(dg) ||
                        !media_type_ok(mt))
                        goto none;
                b[i].digest = strdup(dg);
                b[i].media_type = strdup(mt);
                b[i].from = strdup(from);
                b[i].size = size;
                if (!b[i].digest || !b[i].media_type || !b[i].from) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        *ret = b;
        *ret_n = n;
        return 0;
none:
        base_layers_free(b, n);
        return 0;
fail:
        base_layers_free(b, n);
        return r;
}

/* The image config to push: what the image's sidecar says of its process (config), platform
 * (architecture, os, variant), with the base's diff_ids and ours as rootfs. */
static int make_config(json_object *old, const BaseLayer *base, size_t n_base, const char *diff_id, char **ret) {
        json_object *c = json_object_new_object(), *v;
        if (!c)
                return -ENOMEM;
        const char *keep[] = {"architecture", "os", "variant"};
        for (size_t i = 0; i < ELEMENTSOF(keep); i++)
                if (old && json_object_object_get_ex(old, keep[i], &v) && json_object_is_type(v, json_type_string))
                        json_object_object_add(c, keep[i], json_object_get(v));
        if (!json_object_object_get_ex(c, "architecture", NULL))
                json_object_object_add(c, "architecture", json_object_new_string(host_arch()));
        if (!json_object_object_get_ex(c, "os", NULL))
                json_object_object_add(c, "os", json_object_new_string("linux"));
        if (old && json_object_object_get_ex(old, "config", &v) && json_object_is_type(v, json_type_object))
                json_object_object_add(c, "config", json_object_get(v));
        json_object *rootfs = json_object_new_object(), *ids = json_object_new_array();
        json_object_object_add(rootfs, "type", json_object_new_string("layers"));
        for (size_t i = 0; i < n_base; i++)
                json_object_array_add(ids, json_object_new_string(base[i].diff_id));
        json_object_array_add(ids, json_object_new_string(diff_id));
        json_object_object_add(rootfs, "diff_ids", ids);
        json_object_object_add(c, "rootfs", rootfs);
        const char *s = json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = s ? strdup(s) : NULL;
        json_object_put(c);
        return *ret ? 0 : -ENOMEM;
}

static json_object *descriptor(const char *mt, const char *digest, uint64_t size) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "mediaType", json_object_new_string(mt));
        json_object_object_add(d, "digest", json_object_new_string(digest));
        json_object_object_add(d, "size", json_object_new_int64((int64_t) size));
        return d;
}

static char *make_manifest(const char *config_digest, size_t config_size, const BaseLayer *base, size_t n_base,
        const char *layer_mt, const char *layer_digest, uint64_t layer_size) {
        json_object *m = json_object_new_object(), *ls = json_object_new_array();
        json_object_object_add(m, "schemaVersion", json_object_new_int(2));
        json_object_object_add(m, "mediaType", json_object_new_string(MT_MANIFEST));
        json_object_object_add(m, "config", descriptor(MT_CONFIG, config_digest, config_size));
        for (size_t i = 0; i < n_base; i++)
                json_object_array_add(ls, descriptor(base[i].media_type, base[i].digest, base[i].size));
        json_object_array_add(ls, descriptor(layer_mt, layer_digest, layer_size));
        json_object_object_add(m, "layers", ls);
        const char *s = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *ret = s ? strdup(s) : NULL;
        json_object_put(m);
        return ret;
}

typedef struct PushProgress {
        const OciPushOptions *o;
        OciProgress p;
} PushProgress;

static int on_upload(uint64_t done, void *userdata) {
        PushProgress *pp = userdata;
        pp->p.done = done;
        if (pp->o->progress)
                pp->o->progress(&pp->p, pp->o->userdata);
        return interrupted() ? -EINTR : 0;
}

_printf_(2, 3) static void note(const OciPushOptions *o, const char *fmt, ...) {
        if (!o->note)
                return;
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        o->note(buf, o->userdata);
}

/* One blob: nothing when the registry has it, else uploaded from fd (or from memory). */
static int push_blob(OciRegistry *reg, const char *digest, int fd, const char *data, uint64_t size,
        const OciPushOptions *o, PushProgress *pp, bool *ret_sent, OciUploadStats *stats, Diag *diag) {
        int r = oci_registry_blob_exists(reg, digest, size, diag);
        if (r < 0)
                return r;
        if (r > 0) {
                *ret_sent = false;
                return 0;
        }
        _cleanup_close_ int mfd = -EBADF;
        if (fd < 0) {
                /* A small blob (the config): through a memfd, for one upload path. */
                mfd = memfd_create("oci-config", MFD_CLOEXEC);
                if (mfd < 0)
                        return negative_errno();
                if ((r = loop_write(mfd, data, (size_t) size)) < 0)
                        return r;
                fd = mfd;
        }
        OciBlobProgress bp = {.func = on_upload, .userdata = pp};
        r = oci_registry_put_blob_file(reg, digest, fd, size, o->chunk, &bp, stats, diag);
        if (r < 0)
                return r;
        *ret_sent = true;
        return 0;
}

/* The new layer: the tree (or what differs from base_fd's) as tar, hashed, compressed, hashed. */
static int make_layer(ImageRoot *root, int tree, int base_fd, CompressType format, const char *name,
        const OciPushOptions *o, int *ret_blob, char **ret_diff_id, char **ret_digest, uint64_t *ret_size,
        uint64_t *ret_whiteouts, Diag *diag) {
        _cleanup_close_ int tar = -EBADF, blob = -EBADF;
        int r;
        if ((r = tmpfile_in(root->fd, &tar)) < 0 || (r = tmpfile_in(root->fd, &blob)) < 0)
                return diag_fail(diag, r, root->path, "temporary file");
        ExportOptions eo = {.compress = COMPRESS_NONE};
        uint64_t skipped = 0, whiteouts = 0, tar_size;
        r = export_tar_diff(tree, base_fd, tar, &eo, &skipped, &whiteouts, diag);
        if (r < 0) {
                if (!diag_failed(diag))
                        diag_fail(diag, r, name, "writing the layer");
                return r;
        }
        if (skipped > 0)
                note(o, "%s: %" PRIu64 " socket(s) left out of the layer (tar cannot hold sockets)", name, skipped);
        _cleanup_free_ char *diff_id = NULL, *digest = NULL;
        uint64_t size;
        if ((r = fd_digest(tar, &diff_id, &tar_size)) < 0)
                return diag_fail(diag, r, name, "hashing the layer");
        ExportOptions co = {.compress = format};
        if ((r = export_raw(tar, blob, &co)) < 0)
                return diag_fail(diag, r, name, "compressing the layer (%s)", compress_type_to_string(format));
        if ((r = fd_digest(blob, &digest, &size)) < 0)
                return diag_fail(diag, r, name, "hashing the layer");
        *ret_blob = TAKE_FD(blob);
        *ret_diff_id = TAKE_PTR(diff_id);
        *ret_digest = TAKE_PTR(digest);
        *ret_size = size;
        *ret_whiteouts = whiteouts;
        return 0;
}

/* The store, shared: no clean removes the base chain while we read it (a pull holds it
 * exclusively for a while: we wait for it). */
static int store_lock(ImageRoot *root, int *ret_store, int *ret_lock) {
        _cleanup_close_ int sfd = openat2_resolve(
                root->fd, OCI_STORE_DIR, O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
        if (sfd < 0)
                return sfd;
        int lfd = -EBADF, r;
        for (unsigned i = 0; i < 600; i++) {
                r = lock_file_at(sfd, "lock", false, &lfd);
                if (r != -EBUSY || interrupted())
                        break;
                struct timespec ts = {.tv_nsec = 100 * 1000 * 1000};
                (void) nanosleep(&ts, NULL);
        }
        if (r < 0)
                return r;
        *ret_store = TAKE_FD(sfd);
        *ret_lock = lfd;
        return 0;
}

/* Makes sure the registry has base layer b in the target repository: it has it (HEAD), or it
 * mounts it from the repository it was pulled from on the same registry. 1 when there, 0 not. */
static int base_blob_there(OciRegistry *reg, const OciRef *ref, const BaseLayer *b, bool *ret_mounted, Diag *diag) {
        *ret_mounted = false;
        int r = oci_registry_blob_exists(reg, b->digest, b->size, diag);
        if (r != 0)
                return r;
        size_t hl = strlen(ref->registry);
        if (strncmp(b->from, ref->registry, hl) != 0 || b->from[hl] != '/' || streq(b->from + hl + 1, ref->repository))
                return 0;
        r = oci_registry_blob_mount(reg, b->digest, b->from + hl + 1, diag);
        if (r > 0)
                *ret_mounted = true;
        return r;
}

/* The simple-signing payload for the manifest digest under ref (containers/image's format). */
static char *signature_payload(const OciRef *ref, const char *digest) {
        _cleanup_free_ char *r = oci_ref_to_string(ref);
        if (!r)
                return NULL;
        json_object *p = json_object_new_object(), *c = json_object_new_object(), *id = json_object_new_object(),
                    *img = json_object_new_object(), *opt = json_object_new_object();
        json_object_object_add(id, "docker-reference", json_object_new_string(r));
        json_object_object_add(img, "docker-manifest-digest", json_object_new_string(digest));
        json_object_object_add(c, "identity", id);
        json_object_object_add(c, "image", img);
        json_object_object_add(c, "type", json_object_new_string("atomic container signature"));
        json_object_object_add(opt, "creator", json_object_new_string("cowpen " PACKAGE_VERSION));
        json_object_object_add(opt, "timestamp", json_object_new_int64((int64_t) time(NULL)));
        json_object_object_add(p, "critical", c);
        json_object_object_add(p, "optional", opt);
        const char *s = json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *ret = s ? strdup(s) : NULL;
        json_object_put(p);
        return ret;
}

static int mkdir_parents(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                return negative_errno();
                        *s = '/';
                }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

/* Writes sig as DIR/REPO@sha256=HEX/signature-N, N the first free one (as skopeo adds one). */
static int store_signature(const char *dir, const OciRef *ref, const char *digest, const char *sig, size_t size,
        char **ret_path, Diag *diag) {
        _cleanup_free_ char *d = strjoin(dir, "/", ref->repository, "@sha256=", digest + strlen("sha256:"));
        if (!d)
                return -ENOMEM;
        int r = mkdir_parents(d);
        if (r < 0)
                return diag_fail(diag, r, d, "lookaside store");
        _cleanup_close_ int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return diag_fail(diag, negative_errno(), d, "lookaside store");
        for (unsigned i = 1; i <= 64; i++) {
                char fn[32];
                snprintf(fn, sizeof(fn), "signature-%u", i);
                _cleanup_close_ int fd = openat(dfd, fn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (fd < 0 && errno == EEXIST)
                        continue;
                if (fd < 0)
                        return diag_fail(diag, negative_errno(), d, "lookaside store");
                if ((r = loop_write(fd, sig, size)) < 0 || fsync(fd) < 0) {
                        r = r < 0 ? r : negative_errno();
                        (void) unlinkat(dfd, fn, 0);
                        return diag_fail(diag, r, d, "writing the signature");
                }
                *ret_path = strjoin(d, "/", fn);
                return *ret_path ? 0 : -ENOMEM;
        }
        return diag_fail(diag, -E2BIG, d, "64 signatures there already");
}

int oci_push(ImageRoot *root, const char *name, const char *refstr, const OciPushOptions *o, OciPushResult *ret,
        Diag *diag) {
        CompressType format = o->format == COMPRESS_ZSTD ? COMPRESS_ZSTD : COMPRESS_GZIP;
        _cleanup_(oci_ref_done) OciRef ref = {};
        int r = oci_ref_parse(refstr, &ref, diag);
        if (r < 0)
                return r;
        if (ref.digest)
                return diag_fail(diag, -EINVAL, refstr, "a push names a tag, not a digest");
        if ((r = export_dlopen(true, diag)) < 0)
                return r;
        _cleanup_free_ char *sig_dir = NULL;
        if (o->sign_by) {
                /* Before anything goes out: where the signature will go, and that the key signs. */
                if ((r = oci_lookaside_staging_dir(&ref, &sig_dir, diag)) < 0)
                        return r;
                _cleanup_free_ char *t = NULL;
                size_t ts;
                if ((r = gpg_sign_message(o->sign_by, o->sign_passphrase_file, "probe", 5, &t, &ts, diag)) < 0)
                        return r;
        }

        _cleanup_(image_freep) Image *img = NULL;
        r = image_find(root, name, &img);
        if (r < 0)
                return diag_fail(diag, r, name, r == -ENOENT ? "no such image" : NULL);
        if (img->type == IMAGE_RAW)
                return diag_fail(
                        diag, -EMEDIUMTYPE, name, "a raw image cannot be pushed (a directory or subvolume can)");

        /* The image's config, when it was pulled (or cloned from a pulled image). */
        _cleanup_free_ char *fn = strjoin(img->name, OCI_CONFIG_SIDECAR), *text = NULL;
        if (!fn)
                return -ENOMEM;
        json_object *old = NULL;
        r = read_file_at(root->fd, fn, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, OCI_CONFIG_MAX, &text, NULL);
        if (r >= 0) {
                old = json_tokener_parse(text);
                if (!old || !json_object_is_type(old, json_type_object)) {
                        json_object_put(old);
                        return diag_fail(diag, -EBADMSG, fn, "not a JSON object");
                }
        } else if (r != -ENOENT)
                return diag_fail(diag, r, fn, NULL);

        ImageLock lock = IMAGE_LOCK_NULL;
        if ((r = image_lock(root, img->name, false, &lock)) < 0) {
                json_object_put(old);
                return diag_fail(diag, r, name, r == -EBUSY ? "image is locked (in use by a writer)" : NULL);
        }
        _cleanup_close_ int tree = image_open(root, img, false), blob = -EBADF, store = -EBADF, base_fd = -EBADF;
        int store_lock_fd = -EBADF; /* closed by unlock_file_at() */
        if (tree < 0) {
                image_lock_release(&lock);
                json_object_put(old);
                return diag_fail(diag, tree, name, NULL);
        }
        OciProgress prog = {.phase = OCI_PHASE_MANIFEST, .n_layers = 1};
        if (o->progress)
                o->progress(&prog, o->userdata);

        /* The base: the chain of the image it was pulled as, when the store still has its tree. */
        BaseLayer *base = NULL;
        size_t n_base = 0;
        if (old && store_lock(root, &store, &store_lock_fd) >= 0) {
                if ((r = find_base(store, old, &base, &n_base)) < 0) {
                        image_lock_release(&lock);
                        json_object_put(old);
                        unlock_file_at(store, "lock", store_lock_fd, false);
                        return r;
                }
                if (n_base > 0) {
                        _cleanup_free_ char *cp = strjoin("chains/", base[n_base - 1].chain);
                        base_fd = cp ? openat2_resolve(store, cp, O_RDONLY | O_DIRECTORY, 0,
                                               RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
                                     : -ENOMEM;
                        if (base_fd < 0) {
                                base_layers_free(base, n_base);
                                base = NULL;
                                n_base = 0;
                        }
                }
        }

        _cleanup_free_ char *diff_id = NULL, *digest = NULL, *config = NULL, *config_digest = NULL, *manifest = NULL;
        uint64_t blob_size = 0, whiteouts = 0;
        r = make_layer(root, tree, base_fd, format, name, o, &blob, &diff_id, &digest, &blob_size, &whiteouts, diag);
        base_fd = safe_close(base_fd);
        if (store_lock_fd >= 0)
                unlock_file_at(store, "lock", store_lock_fd, false);
        store_lock_fd = -EBADF;
        if (r < 0) {
                image_lock_release(&lock);
                json_object_put(old);
                base_layers_free(base, n_base);
                return r;
        }

        /* The registry: the base layers (there, or mounted), our blobs it lacks, the manifest. */
        OciRegistryOptions ro = {.tls_verify = o->tls_verify,
                .credentials = o->credentials,
                .retries = o->retries,
                .backoff_ms = o->backoff_ms,
                .push = true};
        _cleanup_(oci_registry_freep) OciRegistry *reg = NULL;
        if ((r = oci_registry_new(&ref, &ro, &reg, diag)) < 0)
                goto fail;
        OciPushResult res = {};
        for (size_t i = 0; i < n_base; i++) {
                bool mounted;
                r = base_blob_there(reg, &ref, &base[i], &mounted, diag);
                if (r < 0)
                        goto fail;
                if (r == 0) {
                        /* Not there and not to be had by a mount: cowpen keeps the layers' trees,
                         * not their compressed blobs. The whole tree goes as one layer instead. */
                        note(o,
                                "base layer %s is not in %s and cannot be mounted from %s: pushing the whole tree as "
                                "one layer",
                                base[i].digest, ref.repository, base[i].from);
                        base_layers_free(base, n_base);
                        base = NULL;
                        n_base = 0;
                        blob = safe_close(blob);
                        free(diff_id);
                        diff_id = NULL;
                        free(digest);
                        digest = NULL;
                        res.n_mounted = 0;
                        r = make_layer(root, tree, -EBADF, format, name, o, &blob, &diff_id, &digest, &blob_size,
                                &whiteouts, diag);
                        if (r < 0)
                                goto fail;
                        break;
                }
                res.n_mounted += mounted;
        }
        image_lock_release(&lock);

        size_t n_layers = n_base + 1;
        if ((r = make_config(old, base, n_base, diff_id, &config)) < 0)
                goto fail;
        if (!(config_digest = mem_digest(config, strlen(config)))) {
                r = -ENOMEM;
                goto fail;
        }
        manifest = make_manifest(config_digest, strlen(config), base, n_base,
                format == COMPRESS_GZIP ? MT_LAYER_GZIP : MT_LAYER_ZSTD, digest, blob_size);
        if (!manifest) {
                r = -ENOMEM;
                goto fail;
        }
        PushProgress pp = {.o = o,
                .p = {.phase = OCI_PHASE_UPLOAD,
                        .layer = n_base,
                        .n_layers = n_layers,
                        .digest = digest,
                        .total = blob_size,
                        .all_total = blob_size}};
        bool sent = false;
        OciUploadStats st = {};
        if ((r = push_blob(reg, digest, blob, NULL, blob_size, o, &pp, &sent, &st, diag)) < 0)
                goto fail;
        res.n_layers = n_layers;
        res.n_base_layers = n_base;
        res.n_whiteouts = whiteouts;
        res.n_layers_sent = sent;
        res.bytes_sent = st.sent;
        res.resumed = st.resumed;
        res.restarted = st.restarted;
        pp.p.done = pp.p.all_done = blob_size;
        if (o->progress)
                o->progress(&pp.p, o->userdata);
        bool csent = false;
        OciUploadStats cst = {};
        pp.p = (OciProgress){.phase = OCI_PHASE_UPLOAD, .n_layers = n_layers, .layer = n_base, .all_total = blob_size};
        if ((r = push_blob(reg, config_digest, -EBADF, config, strlen(config), o, &pp, &csent, &cst, diag)) < 0)
                goto fail;
        if ((r = oci_registry_put_manifest(reg, ref.tag, MT_MANIFEST, manifest, strlen(manifest), diag)) < 0)
                goto fail;
        if (o->sign_by) {
                _cleanup_free_ char *md = mem_digest(manifest, strlen(manifest)),
                                    *payload = md ? signature_payload(&ref, md) : NULL, *sig = NULL;
                size_t sig_size = 0;
                if (!payload) {
                        r = -ENOMEM;
                        goto fail;
                }
                if ((r = gpg_sign_message(o->sign_by, o->sign_passphrase_file, payload, strlen(payload), &sig,
                             &sig_size, diag)) < 0 ||
                        (r = store_signature(sig_dir, &ref, md, sig, sig_size, &res.signature_path, diag)) < 0) {
                        free(res.signature_path);
                        goto fail;
                }
        }
        prog = (OciProgress){
                .phase = OCI_PHASE_DONE, .n_layers = n_layers, .all_done = blob_size, .all_total = blob_size};
        if (o->progress)
                o->progress(&prog, o->userdata);

        res.reference = oci_ref_to_string(&ref);
        res.registry_url = strdup(oci_registry_base(reg));
        res.manifest_digest = mem_digest(manifest, strlen(manifest));
        res.layer_digest = TAKE_PTR(digest);
        res.blob_size = blob_size;
        json_object_put(old);
        base_layers_free(base, n_base);
        if (!res.reference || !res.registry_url || !res.manifest_digest) {
                oci_push_result_done(&res);
                return -ENOMEM;
        }
        if (ret)
                *ret = res;
        else
                oci_push_result_done(&res);
        return 0;
fail:
        image_lock_release(&lock);
        json_object_put(old);
        base_layers_free(base, n_base);
        return r;
}
