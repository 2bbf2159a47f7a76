/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pull-oci: an image from an OCI registry, through the layer store (see pull.h).
 *
 * Untrusted input: the index, manifest and config (size-limited, digest-checked, every field
 * validated before use: digests are the store's file names), and the layers (digest-checked while
 * downloading, applied by the safe tree writer in OCI layer mode, their uncompressed digest
 * checked against the config's diff_ids before a chain is kept). New chains are built under
 * hidden temporary names and renamed into the store only when every layer of the image checked
 * out; the image is published with one rename after that. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "btrfs-util.h"
#include "fd-util.h"
#include "hash-util.h"
#include "import-source.h"
#include "import-space.h"
#include "lock.h"
#include "oci-registry.h"
#include "oci-verify.h"
#include "pull.h"
#include "rm-rf.h"
#include "tar-extract.h"
#include "util.h"

static const char *const oci_phase_table[_OCI_PHASE_MAX] = {
        [OCI_PHASE_MANIFEST] = "manifest",
        [OCI_PHASE_DOWNLOAD] = "download",
        [OCI_PHASE_UNPACK] = "unpack",
        [OCI_PHASE_DONE] = "done",
        [OCI_PHASE_UPLOAD] = "upload",
};

const char *oci_phase_to_string(OciPhase p) {
        return p >= 0 && p < _OCI_PHASE_MAX ? oci_phase_table[p] : NULL;
}

void oci_pull_result_done(OciPullResult *r) {
        if (!r)
                return;
        free(r->reference);
        free(r->registry_url);
        free(r->manifest_digest);
        free(r->index_digest);
        free(r->config_digest);
        free(r->platform);
        strv_free(r->layer_digests);
        free(r->verified_by);
        free(r->fingerprint);
        *r = (OciPullResult){};
}

int oci_name_from_ref(const char *ref, char **ret) {
        OciRef r = {};
        int k = oci_ref_parse(ref, &r, NULL);
        if (k < 0)
                return k;
        const char *slash = strrchr(r.repository, '/');
        char *n = strdup(slash ? slash + 1 : r.repository);
        oci_ref_done(&r);
        if (!n)
                return -ENOMEM;
        if (!image_name_is_valid(n)) {
                free(n);
                return -EINVAL;
        }
        *ret = n;
        return 0;
}

/* The host's platform as OCI names it. */
static const char *host_arch(void) {
        struct utsname u;
        if (uname(&u) < 0)
                return "amd64";
        static const char *const map[][2] = {
                {"x86_64", "amd64"},
                {"aarch64", "arm64"},
                {"armv7l", "arm/v7"},
                {"armv6l", "arm/v6"},
                {"i686", "386"},
                {"i386", "386"},
                {"ppc64le", "ppc64le"},
                {"s390x", "s390x"},
                {"riscv64", "riscv64"},
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(u.machine, map[i][0]))
                        return map[i][1];
        return "amd64";
}

static const char *json_str(json_object *o, const char *key) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static bool media_type_is_index(const char *mt) {
        return streq(mt, "application/vnd.oci.image.index.v1+json") ||
               streq(mt, "application/vnd.docker.distribution.manifest.list.v2+json");
}

static bool media_type_is_manifest(const char *mt) {
        return streq(mt, "application/vnd.oci.image.manifest.v1+json") ||
               streq(mt, "application/vnd.docker.distribution.manifest.v2+json");
}

static bool media_type_is_layer(const char *mt) {
        static const char *const ok[] = {
                "application/vnd.oci.image.layer.v1.tar",
                "application/vnd.oci.image.layer.v1.tar+gzip",
                "application/vnd.oci.image.layer.v1.tar+zstd",
                "application/vnd.oci.image.layer.nondistributable.v1.tar",
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                NULL,
        };
        for (const char *const *k = ok; *k; k++)
                if (streq(mt, *k))
                        return true;
        return false;
}

/* A descriptor's digest and size, validated. */
static int descriptor(json_object *d, const char **ret_digest, uint64_t *ret_size) {
        const char *dg = json_str(d, "digest");
        json_object *sz;
        if (!oci_digest_is_valid(dg) || !json_object_object_get_ex(d, "size", &sz) ||
                !json_object_is_type(sz, json_type_int))
                return -EBADMSG;
        int64_t s = json_object_get_int64(sz);
        if (s < 0)
                return -EBADMSG;
        *ret_digest = dg;
        *ret_size = (uint64_t) s;
        return 0;
}

/* From an index: the manifest for linux/ARCH[/VARIANT]. */
static int select_platform(const char *body, const char *arch, char **ret_digest, Diag *diag) {
        _cleanup_free_ char *want_arch = strdup(arch);
        if (!want_arch)
                return -ENOMEM;
        char *want_variant = strchr(want_arch, '/');
        if (want_variant)
                *want_variant++ = 0;
        json_object *j = json_tokener_parse(body), *ms;
        if (!j || !json_object_object_get_ex(j, "manifests", &ms) || !json_object_is_type(ms, json_type_array)) {
                json_object_put(j);
                return diag_fail(diag, -EBADMSG, NULL, "image index without manifests");
        }
        size_t n = json_object_array_length(ms);
        if (n > OCI_LAYERS_MAX) {
                json_object_put(j);
                return diag_fail(diag, -E2BIG, NULL, "image index with more than %u manifests", OCI_LAYERS_MAX);
        }
        _cleanup_free_ char *have = NULL;
        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_array_get_idx(ms, i), *pf;
                if (!json_object_object_get_ex(m, "platform", &pf))
                        continue;
                const char *os = json_str(pf, "os"), *a = json_str(pf, "architecture"), *v = json_str(pf, "variant");
                if (!os || !a)
                        continue;
                if (streq(os, "linux") && streq(a, want_arch) && (!want_variant || (v && streq(v, want_variant)))) {
                        const char *dg;
                        uint64_t sz;
                        if (descriptor(m, &dg, &sz) < 0) {
                                json_object_put(j);
                                return diag_fail(diag, -EBADMSG, NULL, "image index: invalid descriptor");
                        }
                        *ret_digest = strdup(dg);
                        json_object_put(j);
                        return *ret_digest ? 0 : -ENOMEM;
                }
                if (!have || strlen(have) < 200) {
                        char *h = strjoin(have ?: "", have ? ", " : "", os, "/", a, v ? "/" : "", v ?: "");
                        if (!h) {
                                json_object_put(j);
                                return -ENOMEM;
                        }
                        free(have);
                        have = h;
                }
        }
        json_object_put(j);
        _cleanup_free_ char *p = printable(have ?: "nothing", 240);
        return diag_fail(
                diag, -ENOENT, NULL, "no manifest for linux/%s in the image index (it has: %s)", arch, p ?: "?");
}

/* ---- the store ---- */

typedef struct Layer {
        char *digest; /* blob */
        uint64_t size;
        char *media_type;
        char *diff_id;
        char *chain;     /* hex of the ChainID */
        char *tmp_chain; /* the chain being built, in chains/ */
        int state;       /* 0 waiting, 1 downloaded, < 0 failed */
        bool need;       /* downloaded and unpacked in this run */
        bool resumed;
        uint64_t fetched, done;
        Diag diag; /* its download's failure */
} Layer;

typedef struct Pull {
        const OciPullOptions *o;
        OciRegistry *reg;
        int blobs_fd, chains_fd;
        Layer *layers;
        size_t n_layers;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        size_t next; /* next layer a worker takes */
        bool cancel;
        uint64_t all_total, all_done;
        uint64_t last_report_ms;
} Pull;

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void report(Pull *p, OciPhase phase, size_t i, bool force) {
        if (!p->o->progress)
                return;
        uint64_t t = now_ms();
        if (!force && t - p->last_report_ms < 200)
                return;
        p->last_report_ms = t;
        OciProgress pr = {
                .phase = phase,
                .layer = i,
                .n_layers = p->n_layers,
                .digest = i < p->n_layers ? p->layers[i].digest : NULL,
                .done = i < p->n_layers ? p->layers[i].done : 0,
                .total = i < p->n_layers ? p->layers[i].size : 0,
                .all_done = p->all_done,
                .all_total = p->all_total,
        };
        p->o->progress(&pr, p->o->userdata);
}

typedef struct WorkerProgress {
        Pull *p;
        size_t i;
} WorkerProgress;

static int on_blob_progress(uint64_t done, void *userdata) {
        WorkerProgress *w = userdata;
        Pull *p = w->p;
        pthread_mutex_lock(&p->lock);
        Layer *l = &p->layers[w->i];
        p->all_done += done - MIN(done, l->done);
        l->done = done;
        bool cancel = p->cancel;
        report(p, OCI_PHASE_DOWNLOAD, w->i, false);
        pthread_mutex_unlock(&p->lock);
        return cancel ? -ECANCELED : 0;
}

static char *partial_name(const Layer *l) {
        return strjoin(l->digest + strlen("sha256:"), ".partial");
}

static void *worker(void *userdata) {
        Pull *p = userdata;
        for (;;) {
                pthread_mutex_lock(&p->lock);
                while (p->next < p->n_layers && !p->layers[p->next].need)
                        p->next++;
                if (p->next >= p->n_layers || p->cancel) {
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                size_t i = p->next++;
                pthread_mutex_unlock(&p->lock);

                Layer *l = &p->layers[i];
                _cleanup_free_ char *pn = partial_name(l);
                WorkerProgress wp = {p, i};
                OciBlobProgress bp = {on_blob_progress, &wp};
                int r = pn ? oci_registry_get_blob_file(p->reg, l->digest, l->size, p->blobs_fd, pn, &bp, &l->resumed,
                                     &l->fetched, &l->diag)
                           : -ENOMEM;
                pthread_mutex_lock(&p->lock);
                l->state = r < 0 ? r : 1;
                if (r < 0)
                        p->cancel = true;
                pthread_cond_broadcast(&p->cond);
                pthread_mutex_unlock(&p->lock);
        }
}

typedef struct LayerRead {
        ImportSource *source;
        HashContext *hash;
        int error;
} LayerRead;

static ssize_t layer_read_block(void *userdata, const void **ret_buf) {
        LayerRead *lr = userdata;
        ssize_t n = import_source_read(lr->source, ret_buf);
        if (n < 0)
                lr->error = (int) n;
        else if (n > 0 && hash_context_update(lr->hash, *ret_buf, (size_t) n) < 0)
                return -EIO;
        return n;
}

/* Applies the layer tar in blob_fd (plain, gzip or zstd) onto tree_fd; checks its diff_id. */
static int apply_layer(int blob_fd, int tree_fd, const Layer *l, bool check, const ImportLimits *limits, Diag *diag) {
        LayerRead lr = {};
        int r = hash_context_new(HASH_SHA256, &lr.hash);
        if (r < 0)
                return r;
        r = import_source_start(blob_fd, 0, &lr.source);
        if (r < 0) {
                hash_context_free(lr.hash);
                return r;
        }
        TarExtract *x = NULL;
        TarReader *rd = NULL;
        r = tar_extract_new(tree_fd, limits, &x);
        if (r >= 0) {
                tar_extract_set_oci_layer(x);
                r = tar_reader_new(layer_read_block, &lr, &rd);
                if (r == -EBADMSG)
                        (void) diag_fail(diag, r, NULL, "not a tar archive");
        }
        if (r >= 0)
                r = tar_extract_run(x, rd, diag);
        if (r >= 0)
                r = tar_extract_finish(x);
        if (r < 0 && lr.error < 0 && r != -EINTR) {
                diag_clear_failure(diag);
                r = diag_fail(diag, lr.error, NULL, "%s",
                        lr.error == -EBADMSG ? "corrupt compressed stream"
                        : lr.error == -EPIPE ? "unexpected end of the compressed stream"
                                             : strerror(-lr.error));
        }
        /* The rest of the stream (the archive's end blocks) counts for the diff_id too. */
        while (r >= 0) {
                const void *buf;
                ssize_t n = layer_read_block(&lr, &buf);
                if (n < 0)
                        r = diag_fail(diag, (int) n, NULL, "%s",
                                n == -EBADMSG ? "corrupt compressed stream"
                                              : "unexpected end of the compressed stream");
                if (n <= 0)
                        break;
        }
        tar_reader_free(rd);
        tar_extract_free(x);
        import_source_free(lr.source);
        uint8_t md[HASH_DIGEST_SIZE_MAX];
        if (r >= 0)
                r = hash_context_final(lr.hash, md);
        hash_context_free(lr.hash);
        if (r < 0)
                return r;
        if (check) {
                _cleanup_free_ char *hex = hexmem(md, 32);
                if (!hex)
                        return -ENOMEM;
                if (!streq(hex, l->diff_id + strlen("sha256:")))
                        return diag_fail(
                                diag, -EBADMSG, NULL, "uncompressed layer does not match its diff_id %s", l->diff_id);
        }
        return 0;
}

static int mkdir_p_at(int dir_fd, const char *name) {
        if (mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        return openat2_resolve(dir_fd, name, O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
}

typedef struct Store {
        int fd, blobs_fd, chains_fd, refs_fd, lock_fd;
} Store;

static void store_close(Store *s) {
        safe_close(s->blobs_fd);
        safe_close(s->chains_fd);
        safe_close(s->refs_fd);
        if (s->lock_fd >= 0)
                unlock_file_at(s->fd, "lock", s->lock_fd, false);
        safe_close(s->fd);
        *s = (Store){-EBADF, -EBADF, -EBADF, -EBADF, -EBADF};
}

static int store_open(ImageRoot *root, Store *s) {
        *s = (Store){-EBADF, -EBADF, -EBADF, -EBADF, -EBADF};
        int r;
        if ((s->fd = mkdir_p_at(root->fd, OCI_STORE_DIR)) < 0)
                return s->fd;
        if ((r = lock_file_at(s->fd, "lock", true, &s->lock_fd)) < 0) {
                s->lock_fd = -EBADF;
                store_close(s);
                return r;
        }
        if ((s->blobs_fd = mkdir_p_at(s->fd, "blobs")) < 0 || (s->chains_fd = mkdir_p_at(s->fd, "chains")) < 0 ||
                (s->refs_fd = mkdir_p_at(s->fd, "refs")) < 0) {
                r = s->blobs_fd < 0 ? s->blobs_fd : s->chains_fd < 0 ? s->chains_fd : s->refs_fd;
                store_close(s);
                return r;
        }
        return 0;
}

/* refs/NAME: the chain hex ids, one a line. */
static int write_ref(int refs_fd, const char *name, const Layer *layers, size_t n) {
        _cleanup_free_ char *tmp = strjoin(".#", name, ".tmp");
        if (!tmp)
                return -ENOMEM;
        _cleanup_close_ int fd = openat(refs_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        for (size_t i = 0; i < n; i++) {
                int r = loop_write(fd, layers[i].chain, strlen(layers[i].chain));
                if (r >= 0)
                        r = loop_write(fd, "\n", 1);
                if (r < 0) {
                        (void) unlinkat(refs_fd, tmp, 0);
                        return r;
                }
        }
        if (renameat(refs_fd, tmp, refs_fd, name) < 0) {
                int r = negative_errno();
                (void) unlinkat(refs_fd, tmp, 0);
                return r;
        }
        return 0;
}

/* layers/CHAIN: "DIGEST SIZE MEDIATYPE REGISTRY/REPOSITORY", the blob a chain's top layer came
 * from and where (for push-oci, which names the base layers of a changed clone by them). Best
 * effort: without them a push sends the whole tree as one layer. */
static void write_layer_descriptors(int store_fd, const OciRef *ref, const Layer *layers, size_t n) {
        _cleanup_close_ int dfd = mkdir_p_at(store_fd, "layers");
        if (dfd < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                char line[512];
                int k = snprintf(line, sizeof(line), "%s %" PRIu64 " %s %s/%s\n", layers[i].digest, layers[i].size,
                        layers[i].media_type, ref->registry, ref->repository);
                if (k < 0 || (size_t) k >= sizeof(line))
                        continue;
                _cleanup_free_ char *tmp = strjoin(".#", layers[i].chain, ".tmp");
                if (!tmp)
                        return;
                _cleanup_close_ int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        continue;
                if (loop_write(fd, line, (size_t) k) < 0 || renameat(dfd, tmp, dfd, layers[i].chain) < 0)
                        (void) unlinkat(dfd, tmp, 0);
        }
}

static bool chain_exists(int chains_fd, const char *hex) {
        struct stat st;
        return fstatat(chains_fd, hex, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISDIR(st.st_mode);
}

static int new_tree(int chains_fd, const char *name, bool btrfs) {
        if (btrfs && btrfs_subvolume_create_at(chains_fd, name) >= 0)
                return 0;
        if (mkdirat(chains_fd, name, 0755) < 0)
                return negative_errno();
        return 0;
}

/* Manifest → layers with their diff_ids and chain ids; config kept. */
static int parse_manifest(const char *body, Layer **ret_layers, size_t *ret_n, const char **ret_config_digest,
        uint64_t *ret_config_size, json_object **ret_json, Diag *diag) {
        json_object *j = json_tokener_parse(body), *cfg, *ls;
        if (!j || !json_object_object_get_ex(j, "config", &cfg) || !json_object_object_get_ex(j, "layers", &ls) ||
                !json_object_is_type(ls, json_type_array)) {
                json_object_put(j);
                return diag_fail(diag, -EBADMSG, NULL, "image manifest without config or layers");
        }
        if (descriptor(cfg, ret_config_digest, ret_config_size) < 0) {
                json_object_put(j);
                return diag_fail(diag, -EBADMSG, NULL, "image manifest: invalid config descriptor");
        }
        size_t n = json_object_array_length(ls);
        if (n > OCI_LAYERS_MAX) {
                json_object_put(j);
                return diag_fail(diag, -E2BIG, NULL, "image with more than %u layers", OCI_LAYERS_MAX);
        }
        Layer *layers = calloc(MAX(n, (size_t) 1), sizeof(Layer));
        if (!layers) {
                json_object_put(j);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *d = json_object_array_get_idx(ls, i);
                const char *dg, *mt = json_str(d, "mediaType");
                if (descriptor(d, &dg, &layers[i].size) < 0 || !(layers[i].digest = strdup(dg))) {
                        for (size_t k = 0; k <= i; k++)
                                free(layers[k].digest);
                        free(layers);
                        json_object_put(j);
                        return diag_fail(diag, -EBADMSG, NULL, "image manifest: invalid layer descriptor");
                }
                if (!mt || !media_type_is_layer(mt)) {
                        _cleanup_free_ char *p = printable(mt ?: "(none)", 120);
                        for (size_t k = 0; k <= i; k++)
                                free(layers[k].digest);
                        for (size_t k = 0; k < i; k++)
                                free(layers[k].media_type);
                        free(layers);
                        json_object_put(j);
                        return diag_fail(diag, -EPROTONOSUPPORT, dg, "unsupported layer media type %s", p ?: "?");
                }
                if (!(layers[i].media_type = strdup(mt))) {
                        for (size_t k = 0; k <= i; k++)
                                free(layers[k].digest);
                        for (size_t k = 0; k < i; k++)
                                free(layers[k].media_type);
                        free(layers);
                        json_object_put(j);
                        return -ENOMEM;
                }
        }
        *ret_layers = layers;
        *ret_n = n;
        *ret_json = j;
        return 0;
}

static void layers_free(Layer *layers, size_t n, int chains_fd) {
        for (size_t i = 0; i < n; i++) {
                if (layers[i].tmp_chain && chains_fd >= 0)
                        (void) rm_rf_at(chains_fd, layers[i].tmp_chain);
                free(layers[i].digest);
                free(layers[i].media_type);
                free(layers[i].diff_id);
                free(layers[i].chain);
                free(layers[i].tmp_chain);
                diag_done(&layers[i].diag);
        }
        free(layers);
}

typedef struct Resolved {
        char *body; /* the image manifest */
        json_object *manifest, *config;
        char *cfg_body;
        size_t cfg_size;
        Layer *layers;
        size_t n_layers;
        char *index_digest, *manifest_digest, *config_digest, *platform;
        char **layer_digests;
} Resolved;

static void resolved_done(Resolved *z, int chains_fd) {
        free(z->body);
        json_object_put(z->manifest);
        json_object_put(z->config);
        free(z->cfg_body);
        if (z->layers)
                layers_free(z->layers, z->n_layers, chains_fd);
        free(z->index_digest);
        free(z->manifest_digest);
        free(z->config_digest);
        free(z->platform);
        strv_free(z->layer_digests);
        *z = (Resolved){};
}

/* The reference → (index →) manifest → config, each digest-checked, with the layers' diff_ids and
 * ChainIDs. */
static int resolve(OciRegistry *reg, const OciRef *ref, const char *arch, Resolved *z, Diag *diag) {
        _cleanup_free_ char *mt = NULL, *digest = NULL;
        int r;
        if ((r = oci_registry_get_manifest(reg, ref->digest ?: ref->tag, &z->body, NULL, &mt, &digest, diag)) < 0)
                return r;
        if (media_type_is_index(mt)) {
                _cleanup_free_ char *chosen = NULL;
                if ((r = select_platform(z->body, arch, &chosen, diag)) < 0)
                        return r;
                z->index_digest = TAKE_PTR(digest);
                free(z->body);
                z->body = NULL;
                free(mt);
                mt = NULL;
                if ((r = oci_registry_get_manifest(reg, chosen, &z->body, NULL, &mt, &digest, diag)) < 0)
                        return r;
        }
        if (!media_type_is_manifest(mt)) {
                _cleanup_free_ char *pm = printable(mt, 120);
                r = diag_fail(diag, -EPROTONOSUPPORT, NULL, "unsupported manifest type %s", pm ?: "?");
                return r;
        }
        z->manifest_digest = TAKE_PTR(digest);
        const char *cfg_digest;
        uint64_t cfg_len;
        if ((r = parse_manifest(z->body, &z->layers, &z->n_layers, &cfg_digest, &cfg_len, &z->manifest, diag)) < 0)
                return r;
        if (!(z->config_digest = strdup(cfg_digest))) {
                r = -ENOMEM;
                return r;
        }
        if ((r = oci_registry_get_blob_memory(
                     reg, cfg_digest, cfg_len, OCI_CONFIG_MAX, &z->cfg_body, &z->cfg_size, diag)) < 0)
                return r;
        z->config = json_tokener_parse(z->cfg_body);
        json_object *rootfs, *diff_ids;
        if (!z->config || !json_object_object_get_ex(z->config, "rootfs", &rootfs) ||
                !json_object_object_get_ex(rootfs, "diff_ids", &diff_ids) ||
                !json_object_is_type(diff_ids, json_type_array) || json_object_array_length(diff_ids) != z->n_layers) {
                r = diag_fail(diag, -EBADMSG, cfg_digest, "image config without diff_ids for each layer");
                return r;
        }
        const char *cos = json_str(z->config, "os"), *carch = json_str(z->config, "architecture"),
                   *cvar = json_str(z->config, "variant");
        {
                _cleanup_free_ char *want = strdup(arch);
                char *wv = want ? strchr(want, '/') : NULL;
                if (wv)
                        *wv++ = 0;
                if (!want) {
                        r = -ENOMEM;
                        return r;
                }
                if (!cos || !carch || !streq(cos, "linux") || !streq(carch, want) ||
                        (wv && cvar && !streq(cvar, wv))) {
                        _cleanup_free_ char *pp = printable(cos ?: "?", 40), *pa = printable(carch ?: "?", 40);
                        r = diag_fail(diag, -ENOENT, NULL, "the image is for %s/%s, not linux/%s (--arch=)", pp ?: "?",
                                pa ?: "?", arch);
                        return r;
                }
                z->platform = strjoin(cos, "/", carch, cvar ? "/" : "", cvar ?: "");
        }
        for (size_t i = 0; i < z->n_layers; i++) {
                json_object *d = json_object_array_get_idx(diff_ids, i);
                const char *s = json_object_is_type(d, json_type_string) ? json_object_get_string(d) : NULL;
                if (!oci_digest_is_valid(s)) {
                        r = diag_fail(diag, -EBADMSG, cfg_digest, "image config: invalid diff_id");
                        return r;
                }
                if (!(z->layers[i].diff_id = strdup(s)) ||
                        (r = oci_chain_id(i > 0 ? z->layers[i - 1].chain : NULL, s, &z->layers[i].chain)) < 0 ||
                        strv_extend(&z->layer_digests, z->layers[i].digest) < 0) {
                        r = r < 0 ? r : -ENOMEM;
                        return r;
                }
        }
        return 0;
}

int oci_pull(ImageRoot *root, const char *refstr, const char *name, const OciPullOptions *o, OciPullResult *ret,
        Diag *diag) {
        _cleanup_(oci_ref_done) OciRef ref = {};
        int r = oci_ref_parse(refstr, &ref, diag);
        if (r < 0)
                return r;
        /* What must check out: --verify=, else what the policy file asks for this reference. */
        _cleanup_(oci_requirement_done) OciRequirement req = {};
        PullVerify verify = o->verify;
        if (o->verify_from_policy || verify == PULL_VERIFY_SIGNATURE) {
                r = oci_policy_requirement(o->policy, &ref, &req, diag);
                if (r < 0)
                        return r;
                if (r == 0 && verify == PULL_VERIFY_SIGNATURE)
                        return diag_fail(diag, -ENOKEY, NULL,
                                "--verify=signature needs a policy file (%s) with a signedBy or sigstoreSigned "
                                "requirement",
                                o->policy ?: "/etc/containers/policy.json");
                if (r > 0 && req.type == OCI_REQUIRE_REJECT)
                        return diag_fail(diag, -EPERM, NULL, "the policy rejects this image (scope %s)", req.scope);
                bool signed_req = r > 0 && (req.type == OCI_REQUIRE_SIGNED || req.type == OCI_REQUIRE_SIGSTORE);
                if (r > 0 && verify == PULL_VERIFY_SIGNATURE && !signed_req)
                        return diag_fail(diag, -ENOKEY, NULL,
                                "--verify=signature, but the policy has no signedBy or sigstoreSigned requirement for "
                                "it (scope %s)",
                                req.scope);
                if (o->verify_from_policy)
                        verify = signed_req ? PULL_VERIFY_SIGNATURE : PULL_VERIFY_CHECKSUM;
        }
        const char *arch = o->arch ?: host_arch();
        OciPullResult res = {};
        Store st = {-EBADF, -EBADF, -EBADF, -EBADF, -EBADF};
        Layer *layers = NULL;
        size_t n_layers = 0;
        json_object *manifest = NULL, *config = NULL;
        char *body = NULL, *cfg_body = NULL;
        size_t cfg_size = 0;
        _cleanup_(oci_registry_freep) OciRegistry *reg = NULL;
        _cleanup_(image_temp_freep) ImageTemp *t = NULL;
        Pull p = {.o = o};
        pthread_t threads[8];
        size_t n_threads = 0;
        pthread_mutex_init(&p.lock, NULL);
        pthread_cond_init(&p.cond, NULL);

        /* The name first: an existing image fails before anything is downloaded. */
        r = image_temp_new(
                root, "pull-oci", name, IMAGE_DIRECTORY, IMAGE_TEMP_NO_CREATE | (o->force ? IMAGE_TEMP_FORCE : 0), &t);
        if (r < 0)
                goto finish;
        if (!(res.reference = oci_ref_to_string(&ref))) {
                r = -ENOMEM;
                goto finish;
        }
        OciRegistryOptions ro = {
                .tls_verify = o->tls_verify,
                .credentials = o->credentials,
                .retries = o->retries,
                .backoff_ms = o->backoff_ms,
        };
        report(&p, OCI_PHASE_MANIFEST, 0, true);
        /* The mirrors first, in order, then the reference's own registry (as registries.conf
         * mirrors): the first that resolves the image serves it; everything is digest-checked. */
        size_t n_mirrors = strv_length(o->mirrors);
        Resolved z = {};
        for (size_t k = 0; k <= n_mirrors; k++) {
                OciRef cand = ref;
                if (k < n_mirrors)
                        cand.registry = o->mirrors[k];
                _cleanup_diag_ Diag md = DIAG_INIT;
                r = oci_registry_new(&cand, &ro, &reg, k < n_mirrors ? &md : diag);
                if (r >= 0)
                        r = resolve(reg, &cand, arch, &z, k < n_mirrors ? &md : diag);
                if (r >= 0)
                        break;
                reg = oci_registry_free(reg);
                resolved_done(&z, -EBADF);
                if (k < n_mirrors && r != -EINTR) {
                        if (o->note) {
                                _cleanup_free_ char *m = strjoin("mirror ", o->mirrors[k], ": ",
                                        diag_message(&md) ?: strerror(-r), "; trying the next");
                                if (m)
                                        o->note(m, o->userdata);
                        }
                        continue;
                }
                goto finish;
        }
        if (!(res.registry_url = strdup(oci_registry_base(reg)))) {
                r = -ENOMEM;
                goto finish;
        }
        body = TAKE_PTR(z.body);
        manifest = TAKE_PTR(z.manifest);
        config = TAKE_PTR(z.config);
        cfg_body = TAKE_PTR(z.cfg_body);
        cfg_size = z.cfg_size;
        layers = TAKE_PTR(z.layers);
        n_layers = z.n_layers;
        res.index_digest = TAKE_PTR(z.index_digest);
        res.manifest_digest = TAKE_PTR(z.manifest_digest);
        res.config_digest = TAKE_PTR(z.config_digest);
        res.platform = TAKE_PTR(z.platform);
        res.layer_digests = TAKE_PTR(z.layer_digests);
        /* Signatures before any layer: a refused image downloads nothing more. */
        if (verify == PULL_VERIFY_SIGNATURE) {
                if (req.type == OCI_REQUIRE_SIGSTORE)
                        r = oci_verify_sigstore(
                                reg, &req, &ref, res.manifest_digest, res.index_digest, &res.fingerprint, diag);
                else
                        r = oci_verify_signatures(
                                &req, &ref, res.manifest_digest, res.index_digest, &res.fingerprint, diag);
                if (r < 0)
                        goto finish;
                res.verified_by = strjoin("manifest, config and layer digests; ",
                        req.type == OCI_REQUIRE_SIGSTORE ? "sigstore signature" : "signature", " (policy scope ",
                        req.scope, ")");
        } else
                res.verified_by = strdup(verify == PULL_VERIFY_NO ? "blob digests (--verify=no: diff_ids unchecked)"
                                                                  : "manifest, config and layer digests");
        if (!res.verified_by) {
                r = -ENOMEM;
                goto finish;
        }
        res.n_layers = n_layers;

        /* One pull (or clean) at a time uses the store: wait for the one before us. */
        for (bool noted = false;;) {
                r = store_open(root, &st);
                if (r != -EBUSY)
                        break;
                if (!noted && o->note) {
                        o->note("Waiting for another pull (or clean) using the layer store", o->userdata);
                        noted = true;
                }
                if (interrupted()) {
                        r = -EINTR;
                        break;
                }
                (void) usleep(100 * 1000);
        }
        if (r < 0)
                goto finish;
        p.reg = reg;
        p.blobs_fd = st.blobs_fd;
        p.chains_fd = st.chains_fd;
        p.layers = layers;
        p.n_layers = n_layers;
        /* The longest cached prefix of chains: only the layers after it are fetched. */
        size_t have = n_layers;
        while (have > 0 && !chain_exists(st.chains_fd, layers[have - 1].chain))
                have--;
        for (size_t i = have; i < n_layers; i++) {
                layers[i].need = true;
                p.all_total += layers[i].size;
        }
        res.n_layers_fetched = n_layers - have;
        if (o->note && have > 0) {
                char m[128];
                snprintf(m, sizeof(m), "%zu of %zu layers already in the layer store", have, n_layers);
                o->note(m, o->userdata);
        }
        unsigned par = MIN(o->parallel ?: OCI_PARALLEL_DEFAULT, (unsigned) ELEMENTSOF(threads));
        for (size_t i = 0; i < par && i < n_layers - have; i++) {
                if (pthread_create(&threads[n_threads], NULL, worker, &p) != 0) {
                        r = -EAGAIN;
                        goto finish;
                }
                n_threads++;
        }

        /* Apply the new layers in order as their downloads complete. */
        for (size_t i = have; i < n_layers; i++) {
                Layer *l = &layers[i];
                pthread_mutex_lock(&p.lock);
                while (l->state == 0)
                        pthread_cond_wait(&p.cond, &p.lock);
                pthread_mutex_unlock(&p.lock);
                if (l->state < 0) {
                        /* A download cancelled because another one failed: report that one. */
                        Layer *f = l;
                        if (l->state == -ECANCELED) {
                                /* Every worker has stopped (cancel is set): the states are final. */
                                for (size_t k = 0; k < n_threads; k++)
                                        pthread_join(threads[k], NULL);
                                n_threads = 0;
                                for (size_t k = 0; k < n_layers; k++)
                                        if (layers[k].state < 0 && layers[k].state != -ECANCELED) {
                                                f = &layers[k];
                                                break;
                                        }
                        }
                        r = f->state;
                        if (f->diag.cause || f->diag.object)
                                (void) diag_fail(diag, r, f->diag.object, f->diag.cause ? "%s" : NULL, f->diag.cause);
                        goto finish;
                }
                _cleanup_free_ char *rnd = NULL, *pn = partial_name(l);
                if (!pn || random_hex(8, &rnd) < 0 || !(l->tmp_chain = strjoin(".tmp-", l->chain, "-", rnd))) {
                        r = -ENOMEM;
                        goto finish;
                }
                if (i == 0)
                        r = new_tree(st.chains_fd, l->tmp_chain, root->btrfs);
                else {
                        const char *parent = layers[i - 1].tmp_chain ?: layers[i - 1].chain;
                        _cleanup_close_ int pfd = openat2_resolve(st.chains_fd, parent, O_RDONLY | O_DIRECTORY, 0,
                                RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
                        r = pfd < 0 ? pfd : clone_tree(pfd, st.chains_fd, l->tmp_chain, CLONE_LADDER, NULL);
                }
                if (r < 0) {
                        free(l->tmp_chain);
                        l->tmp_chain = NULL;
                        r = diag_fail(diag, r, OCI_STORE_DIR, "cannot make the tree of layer %zu", i + 1);
                        goto finish;
                }
                _cleanup_close_ int tfd = openat2_resolve(
                        st.chains_fd, l->tmp_chain, O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
                _cleanup_close_ int bfd = openat(st.blobs_fd, pn, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (tfd < 0 || bfd < 0) {
                        r = tfd < 0 ? tfd : negative_errno();
                        goto finish;
                }
                pthread_mutex_lock(&p.lock);
                report(&p, OCI_PHASE_UNPACK, i, true);
                pthread_mutex_unlock(&p.lock);
                _cleanup_diag_ Diag ld = DIAG_INIT;
                r = apply_layer(bfd, tfd, l, verify != PULL_VERIFY_NO, &o->limits, &ld);
                if (r < 0) {
                        _cleanup_free_ char *entry = ld.object ? printable(ld.object, 160) : NULL;
                        if (entry)
                                (void) diag_fail(
                                        diag, r, l->digest, "entry \"%s\": %s", entry, ld.cause ?: strerror(-r));
                        else
                                (void) diag_fail(diag, r, l->digest, "%s", ld.cause ?: strerror(-r));
                        goto finish;
                }
                /* Applied: the compressed blob is not kept. */
                bfd = safe_close(bfd);
                (void) unlinkat(st.blobs_fd, pn, 0);
                res.bytes_fetched += l->fetched;
                res.resumed = res.resumed || l->resumed;
        }

        /* Everything checked out: the new chains go into the store, the ref, then the image. */
        for (size_t i = have; i < n_layers; i++) {
                Layer *l = &layers[i];
                (void) image_entry_set_read_only(st.chains_fd, l->tmp_chain, false);
                if (renameat(st.chains_fd, l->tmp_chain, st.chains_fd, l->chain) < 0) {
                        r = diag_fail(diag, negative_errno(), OCI_STORE_DIR, "cannot store layer chain");
                        goto finish;
                }
                free(l->tmp_chain);
                l->tmp_chain = NULL;
        }
        if ((r = write_ref(st.refs_fd, name, layers, n_layers)) < 0)
                goto finish;
        /* What push-oci needs to name these layers again without re-creating them. */
        write_layer_descriptors(st.fd, &ref, layers, n_layers);
        if (n_layers > 0) {
                _cleanup_close_ int cfd = openat2_resolve(st.chains_fd, layers[n_layers - 1].chain,
                        O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
                r = cfd < 0 ? cfd : clone_tree(cfd, root->fd, t->temp_name, CLONE_LADDER, NULL);
        } else
                r = new_tree(root->fd, t->temp_name, root->btrfs);
        if (r < 0)
                goto finish;
        {
                int sfd;
                if ((r = image_temp_sidecar(t, OCI_CONFIG_SIDECAR, &sfd)) < 0)
                        goto finish;
                r = loop_write(sfd, cfg_body, cfg_size);
                safe_close(sfd);
                if (r < 0)
                        goto finish;
        }
        if ((r = image_temp_publish(t, o->read_only)) < 0)
                goto finish;
        pthread_mutex_lock(&p.lock);
        report(&p, OCI_PHASE_DONE, n_layers, true);
        pthread_mutex_unlock(&p.lock);
        *ret = res;
        res = (OciPullResult){};
        r = 0;

finish:
        /* The file system filled (a download, a layer, the image's copy): which, and how much. */
        if (r < 0 && import_error_is_space(r)) {
                char a[SPACE_SIZE_MAX], f[SPACE_SIZE_MAX];
                uint64_t free_now = import_space_free(root->fd);
                r = import_space_fail(diag, r, root->fd, root->path,
                        "pulling %zu new layer%s (%s compressed), %s free now", res.n_layers_fetched,
                        res.n_layers_fetched == 1 ? "" : "s", space_size(a, sizeof(a), p.all_total),
                        free_now == UINT64_MAX ? "?" : space_size(f, sizeof(f), free_now));
        }
        pthread_mutex_lock(&p.lock);
        p.cancel = r < 0;
        pthread_mutex_unlock(&p.lock);
        for (size_t i = 0; i < n_threads; i++)
                pthread_join(threads[i], NULL);
        if (r < 0 && st.blobs_fd >= 0)
                /* Verified downloads of a failed pull are not kept; interrupted partials are (resume). */
                for (size_t i = 0; i < n_layers; i++)
                        if (layers[i].state == 1) {
                                _cleanup_free_ char *pn = partial_name(&layers[i]);
                                if (pn)
                                        (void) unlinkat(st.blobs_fd, pn, 0);
                        }
        if (layers)
                layers_free(layers, n_layers, st.chains_fd);
        store_close(&st);
        json_object_put(manifest);
        json_object_put(config);
        free(body);
        free(cfg_body);
        oci_pull_result_done(&res);
        pthread_mutex_destroy(&p.lock);
        pthread_cond_destroy(&p.cond);
        return r;
}

/* ---- clean ---- */

static int read_ref(int refs_fd, const char *name, char ***chains) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(refs_fd, name, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
                (OCI_DIGEST_HEX + 1) * OCI_LAYERS_MAX, &text, NULL);
        if (r < 0)
                return r;
        for (char *line = text, *nl; line && *line; line = nl) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl++ = 0;
                if (strlen(line) == OCI_DIGEST_HEX && !strv_contains(*chains, line) && strv_extend(chains, line) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int oci_store_clean(ImageRoot *root, void (*on_removed)(const char *name, void *userdata), void *userdata) {
        _cleanup_close_ int sfd = openat2_resolve(
                root->fd, OCI_STORE_DIR, O_RDONLY | O_DIRECTORY, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
        if (sfd == -ENOENT)
                return 0;
        if (sfd < 0)
                return sfd;
        Store st;
        int r = store_open(root, &st);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **keep = NULL;
        int ret = 0;
        const int dirs[] = {st.refs_fd, st.chains_fd, st.blobs_fd};
        for (size_t pass = 0; pass < ELEMENTSOF(dirs); pass++) {
                _cleanup_closedir_ DIR *d = NULL;
                if ((r = opendir_fd(dirs[pass], &d)) < 0) {
                        store_close(&st);
                        return r;
                }
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        bool drop;
                        if (pass == 0) {
                                Image *img = NULL;
                                int k = image_name_is_valid(de->d_name) ? image_find(root, de->d_name, &img) : -ENOENT;
                                image_free(img);
                                drop = k == -ENOENT;
                                if (!drop && read_ref(st.refs_fd, de->d_name, &keep) < 0)
                                        drop = false;
                        } else if (pass == 1)
                                drop = !strv_contains(keep, de->d_name);
                        else
                                drop = true; /* nobody pulls: partials are stale */
                        if (!drop)
                                continue;
                        r = rm_rf_at(dirs[pass], de->d_name);
                        if (r < 0 && r != -ENOENT) {
                                ret = ret ?: r;
                                continue;
                        }
                        if (pass == 1) { /* the chain's layer descriptor goes with it */
                                _cleanup_free_ char *ld = strjoin("layers/", de->d_name);
                                if (ld)
                                        (void) unlinkat(st.fd, ld, 0);
                        }
                        if (on_removed && pass > 0) {
                                _cleanup_free_ char *n =
                                        strjoin(OCI_STORE_DIR, pass == 1 ? "/chains/" : "/blobs/", de->d_name);
                                if (n)
                                        on_removed(n, userdata);
                        }
                }
        }
        store_close(&st);
        return ret;
}
