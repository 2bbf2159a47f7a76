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
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fd-util.h"
#include "hash-util.h"
#include "image.h"
#include "oci-registry.h"
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

/* The image config to push: what the image's sidecar says of its process (config), platform
 * (architecture, os, variant) and nothing else, with our one layer as rootfs. */
static int make_config(ImageRoot *root, const char *name, const char *diff_id, char **ret, Diag *diag) {
        _cleanup_free_ char *fn = strjoin(name, OCI_CONFIG_SIDECAR), *text = NULL;
        if (!fn)
                return -ENOMEM;
        json_object *old = NULL;
        int r = read_file_at(root->fd, fn, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, OCI_CONFIG_MAX, &text, NULL);
        if (r >= 0) {
                old = json_tokener_parse(text);
                if (!old || !json_object_is_type(old, json_type_object)) {
                        json_object_put(old);
                        return diag_fail(diag, -EBADMSG, fn, "not a JSON object");
                }
        } else if (r != -ENOENT)
                return diag_fail(diag, r, fn, NULL);
        json_object *c = json_object_new_object(), *v;
        if (!c) {
                json_object_put(old);
                return -ENOMEM;
        }
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
        json_object_put(old);
        json_object *rootfs = json_object_new_object(), *ids = json_object_new_array();
        json_object_object_add(rootfs, "type", json_object_new_string("layers"));
        json_object_array_add(ids, json_object_new_string(diff_id));
        json_object_object_add(rootfs, "diff_ids", ids);
        json_object_object_add(c, "rootfs", rootfs);
        json_object *hist = json_object_new_array(), *h = json_object_new_object();
        json_object_object_add(h, "created_by", json_object_new_string("cowpen push-oci"));
        json_object_array_add(hist, h);
        json_object_object_add(c, "history", hist);
        const char *s = json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = s ? strdup(s) : NULL;
        json_object_put(c);
        return *ret ? 0 : -ENOMEM;
}

static char *make_manifest(const char *config_digest, size_t config_size, const char *layer_mt,
        const char *layer_digest, uint64_t layer_size) {
        json_object *m = json_object_new_object(), *c = json_object_new_object(), *ls = json_object_new_array(),
                    *l = json_object_new_object();
        json_object_object_add(m, "schemaVersion", json_object_new_int(2));
        json_object_object_add(m, "mediaType", json_object_new_string(MT_MANIFEST));
        json_object_object_add(c, "mediaType", json_object_new_string(MT_CONFIG));
        json_object_object_add(c, "digest", json_object_new_string(config_digest));
        json_object_object_add(c, "size", json_object_new_int64((int64_t) config_size));
        json_object_object_add(m, "config", c);
        json_object_object_add(l, "mediaType", json_object_new_string(layer_mt));
        json_object_object_add(l, "digest", json_object_new_string(layer_digest));
        json_object_object_add(l, "size", json_object_new_int64((int64_t) layer_size));
        json_object_array_add(ls, l);
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

static void note_sockets(const OciPushOptions *o, const char *name) {
        if (!o->note)
                return;
        char buf[512];
        snprintf(buf, sizeof(buf), "%s: socket(s) left out of the layer (tar cannot hold sockets)", name);
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
                /* A small blob (the config): through a temporary file as well, for one upload path. */
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

        _cleanup_(image_freep) Image *img = NULL;
        r = image_find(root, name, &img);
        if (r < 0)
                return diag_fail(diag, r, name, r == -ENOENT ? "no such image" : NULL);
        if (img->type == IMAGE_RAW)
                return diag_fail(
                        diag, -EMEDIUMTYPE, name, "a raw image cannot be pushed (a directory or subvolume can)");
        ImageLock lock = IMAGE_LOCK_NULL;
        if ((r = image_lock(root, img->name, false, &lock)) < 0)
                return diag_fail(diag, r, name, r == -EBUSY ? "image is locked (in use by a writer)" : NULL);
        _cleanup_close_ int tree = image_open(root, img, false), tar = -EBADF, blob = -EBADF;
        _cleanup_free_ char *diff_id = NULL, *digest = NULL, *config = NULL, *config_digest = NULL, *manifest = NULL;
        uint64_t tar_size = 0, blob_size = 0;
        if (tree < 0) {
                image_lock_release(&lock);
                return diag_fail(diag, tree, name, NULL);
        }

        /* The layer: the whole tree, as export-tar writes it. */
        OciProgress prog = {.phase = OCI_PHASE_MANIFEST, .n_layers = 1};
        if (o->progress)
                o->progress(&prog, o->userdata);
        if ((r = tmpfile_in(root->fd, &tar)) < 0 || (r = tmpfile_in(root->fd, &blob)) < 0) {
                image_lock_release(&lock);
                return diag_fail(diag, r, root->path, "temporary file");
        }
        ExportOptions eo = {.compress = COMPRESS_NONE};
        uint64_t skipped = 0;
        r = export_tar(tree, tar, &eo, &skipped, diag);
        image_lock_release(&lock);
        if (r < 0) {
                if (!diag_failed(diag))
                        diag_fail(diag, r, name, "writing the layer");
                return r;
        }
        if (skipped > 0)
                note_sockets(o, name);
        if ((r = fd_digest(tar, &diff_id, &tar_size)) < 0)
                return diag_fail(diag, r, name, "hashing the layer");
        ExportOptions co = {.compress = format};
        if ((r = export_raw(tar, blob, &co)) < 0)
                return diag_fail(diag, r, name, "compressing the layer (%s)", compress_type_to_string(format));
        tar = safe_close(tar);
        if ((r = fd_digest(blob, &digest, &blob_size)) < 0)
                return diag_fail(diag, r, name, "hashing the layer");
        if ((r = make_config(root, name, diff_id, &config, diag)) < 0)
                return r;
        if (!(config_digest = mem_digest(config, strlen(config))))
                return -ENOMEM;
        manifest = make_manifest(config_digest, strlen(config),
                format == COMPRESS_GZIP ? MT_LAYER_GZIP : MT_LAYER_ZSTD, digest, blob_size);
        if (!manifest)
                return -ENOMEM;

        /* The registry: blobs it lacks, then the manifest. */
        OciRegistryOptions ro = {.tls_verify = o->tls_verify,
                .credentials = o->credentials,
                .retries = o->retries,
                .backoff_ms = o->backoff_ms,
                .push = true};
        _cleanup_(oci_registry_freep) OciRegistry *reg = NULL;
        if ((r = oci_registry_new(&ref, &ro, &reg, diag)) < 0)
                return r;
        OciPushResult res = {};
        PushProgress pp = {.o = o,
                .p = {.phase = OCI_PHASE_UPLOAD,
                        .n_layers = 1,
                        .digest = digest,
                        .total = blob_size,
                        .all_total = blob_size}};
        bool sent = false;
        OciUploadStats st = {};
        r = push_blob(reg, digest, blob, NULL, blob_size, o, &pp, &sent, &st, diag);
        if (r < 0)
                return r;
        res.n_layers = 1;
        res.n_layers_sent = sent;
        res.bytes_sent = st.sent;
        res.resumed = st.resumed;
        res.restarted = st.restarted;
        pp.p.done = pp.p.all_done = blob_size;
        if (o->progress)
                o->progress(&pp.p, o->userdata);
        bool csent = false;
        OciUploadStats cst = {};
        pp.p = (OciProgress){.phase = OCI_PHASE_UPLOAD, .n_layers = 1, .layer = 1, .all_total = blob_size};
        if ((r = push_blob(reg, config_digest, -EBADF, config, strlen(config), o, &pp, &csent, &cst, diag)) < 0)
                return r;
        if ((r = oci_registry_put_manifest(reg, ref.tag, MT_MANIFEST, manifest, strlen(manifest), diag)) < 0)
                return r;
        prog = (OciProgress){.phase = OCI_PHASE_DONE, .n_layers = 1, .all_done = blob_size, .all_total = blob_size};
        if (o->progress)
                o->progress(&prog, o->userdata);

        res.reference = oci_ref_to_string(&ref);
        res.registry_url = strdup(oci_registry_base(reg));
        res.manifest_digest = mem_digest(manifest, strlen(manifest));
        res.layer_digest = TAKE_PTR(digest);
        res.blob_size = blob_size;
        if (!res.reference || !res.registry_url || !res.manifest_digest) {
                oci_push_result_done(&res);
                return -ENOMEM;
        }
        if (ret)
                *ret = res;
        else
                oci_push_result_done(&res);
        return 0;
}
