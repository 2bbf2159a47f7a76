/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OCI Distribution Spec client (see oci-registry.h).
 *
 * Untrusted input: the reference (from the command line, parsed with limits), every status,
 * header and body a registry or token server sends (bounded by the named limits, digests
 * checked by us while streaming), and the credentials files (size-limited; their secrets are
 * never printed and never put into a diag). */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "hash-util.h"
#include "oci-registry.h"
#include "pull-curl.h"
#include "pull.h"
#include "util.h"

#define ACCEPT_MANIFESTS                                                                                              \
        "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "               \
        "application/vnd.docker.distribution.manifest.list.v2+json, "                                                 \
        "application/vnd.docker.distribution.manifest.v2+json"
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define CERTS_D_DEFAULT "/etc/containers/certs.d"

void oci_ref_done(OciRef *r) {
        if (!r)
                return;
        free(r->registry);
        free(r->repository);
        free(r->tag);
        free(r->digest);
        *r = (OciRef){};
}

int oci_chain_id(const char *parent_hex, const char *diff_id, char **ret) {
        if (!parent_hex) {
                *ret = strdup(diff_id + strlen("sha256:"));
                return *ret ? 0 : -ENOMEM;
        }
        _cleanup_free_ char *s = strjoin("sha256:", parent_hex, " ", diff_id);
        if (!s)
                return -ENOMEM;
        uint8_t md[HASH_DIGEST_SIZE_MAX];
        if (hash_digest(HASH_SHA256, s, strlen(s), md) < 0)
                return -EIO;
        *ret = hexmem(md, 32);
        return *ret ? 0 : -ENOMEM;
}

bool oci_digest_is_valid(const char *s) {
        if (!s || !startswith(s, "sha256:"))
                return false;
        s += 7;
        if (strlen(s) != OCI_DIGEST_HEX)
                return false;
        for (; *s; s++)
                if (!strchr("0123456789abcdef", *s))
                        return false;
        return true;
}

static bool host_is_valid(const char *h) {
        if (!*h || strlen(h) > 255)
                return false;
        const char *colon = strchr(h, ':');
        for (const char *p = h; *p && p != colon; p++)
                if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') || *p == '.' ||
                            *p == '-'))
                        return false;
        if (colon) {
                if (colon == h || !colon[1] || strlen(colon + 1) > 5)
                        return false;
                for (const char *p = colon + 1; *p; p++)
                        if (*p < '0' || *p > '9')
                                return false;
        }
        return true;
}

/* Components of [a-z0-9] separated by '.', '_', '__' or runs of '-' (distribution's grammar). */
static bool repo_is_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > OCI_REPO_MAX)
                return false;
        bool need_alnum = true;
        for (const char *p = s; *p; p++) {
                bool alnum = ('a' <= *p && *p <= 'z') || ('0' <= *p && *p <= '9');
                if (alnum) {
                        need_alnum = false;
                        continue;
                }
                if (need_alnum || !strchr("._-/", *p))
                        return false;
                if (*p == '/' || *p == '.')
                        need_alnum = true;
                else if (*p == '_' && p[1] == '_')
                        p++, need_alnum = true;
                else if (*p == '_')
                        need_alnum = true;
        }
        return !need_alnum;
}

static bool tag_is_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > OCI_TAG_MAX || s[0] == '.' || s[0] == '-')
                return false;
        for (; *s; s++)
                if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') ||
                            strchr("_.-", *s)))
                        return false;
        return true;
}

int oci_ref_parse(const char *s, OciRef *ret, Diag *diag) {
        if (strlen(s) > OCI_REF_MAX)
                return diag_fail(diag, -EINVAL, NULL, "reference longer than %u bytes", OCI_REF_MAX);
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        OciRef ref = {};
        int r = -ENOMEM;
        char *at = strchr(copy, '@');
        if (at) {
                *at = 0;
                if (!oci_digest_is_valid(at + 1)) {
                        r = diag_fail(diag, -EINVAL, NULL, "a digest is \"sha256:\" and 64 lower-case hex digits");
                        goto fail;
                }
                if (!(ref.digest = strdup(at + 1)))
                        goto fail;
        }
        char *name = copy;
        char *slash = strchr(name, '/');
        if (slash && (memchr(name, '.', (size_t) (slash - name)) || memchr(name, ':', (size_t) (slash - name)) ||
                             ((size_t) (slash - name) == strlen("localhost") && strncmp(name, "localhost", 9) == 0))) {
                *slash = 0;
                if (!host_is_valid(name)) {
                        r = diag_fail(diag, -EINVAL, NULL, "invalid registry host");
                        goto fail;
                }
                ref.registry = strdup(name);
                name = slash + 1;
        } else
                ref.registry = strdup("docker.io");
        if (!ref.registry)
                goto fail;
        /* The tag: after the last ':' of the repository part. */
        char *colon = strrchr(name, ':');
        if (colon) {
                *colon = 0;
                if (!tag_is_valid(colon + 1)) {
                        r = diag_fail(diag, -EINVAL, NULL, "invalid tag");
                        goto fail;
                }
                if (!(ref.tag = strdup(colon + 1)))
                        goto fail;
        } else if (!ref.digest && !(ref.tag = strdup("latest")))
                goto fail;
        if (streq(ref.registry, "docker.io") && !strchr(name, '/'))
                ref.repository = strjoin("library/", name);
        else
                ref.repository = strdup(name);
        if (!ref.repository)
                goto fail;
        if (!repo_is_valid(ref.repository)) {
                r = diag_fail(diag, -EINVAL, NULL,
                        "invalid repository name (lower-case letters, digits, '.', '_', '-', '/')");
                goto fail;
        }
        *ret = ref;
        return 0;
fail:
        oci_ref_done(&ref);
        return r;
}

char *oci_ref_to_string(const OciRef *r) {
        return strjoin(r->registry, "/", r->repository, r->tag ? ":" : "", r->tag ?: "", r->digest ? "@" : "",
                r->digest ?: "");
}

/* ---- the client ---- */

struct OciRegistry {
        char *host; /* for the URL: registry-1.docker.io for docker.io */
        char *repository;
        char *base; /* https://host or http://host */
        bool tls_verify;
        unsigned retries, backoff_ms;
        char *basic; /* base64 user:pass, or NULL */
        char *ca_blob;
        size_t ca_blob_size;
        pthread_mutex_t auth_lock;
        char *authorization; /* the header line we send, or NULL */
        unsigned auth_generation;
        bool push;
};

OciRegistry *oci_registry_free(OciRegistry *r) {
        if (!r)
                return NULL;
        free(r->host);
        free(r->repository);
        free(r->base);
        if (r->basic)
                explicit_bzero(r->basic, strlen(r->basic));
        free(r->basic);
        free(r->ca_blob);
        if (r->authorization)
                explicit_bzero(r->authorization, strlen(r->authorization));
        free(r->authorization);
        pthread_mutex_destroy(&r->auth_lock);
        free(r);
        return NULL;
}

const char *oci_registry_base(OciRegistry *r) {
        return r->base;
}

/* The "auth" of auths[key] in an auth.json / config.json, for any of the keys. */
static int credentials_from_file(const char *path, const char *const *keys, char **ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, path, 0, OCI_AUTH_FILE_MAX, &text, NULL);
        if (r < 0)
                return r;
        json_object *j = json_tokener_parse(text);
        explicit_bzero(text, strlen(text));
        if (!j)
                return -EBADMSG;
        json_object *auths, *entry, *auth;
        r = -ENOENT;
        if (json_object_object_get_ex(j, "auths", &auths) && json_object_is_type(auths, json_type_object))
                for (const char *const *k = keys; *k && r == -ENOENT; k++)
                        if (json_object_object_get_ex(auths, *k, &entry) &&
                                json_object_object_get_ex(entry, "auth", &auth) &&
                                json_object_is_type(auth, json_type_string)) {
                                char *s = strdup(json_object_get_string(auth));
                                r = s ? 0 : -ENOMEM;
                                if (s) {
                                        /* base64 of user:password, nothing else. */
                                        for (const char *p = s; *p; p++)
                                                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01234"
                                                            "56789+/=",
                                                            *p))
                                                        r = -EBADMSG;
                                        if (r < 0 || !*s) {
                                                free(s);
                                                r = -EBADMSG;
                                        } else
                                                *ret = s;
                                }
                        }
        json_object_put(j);
        return r;
}

static int load_credentials(OciRegistry *reg, const char *registry, const char *file, Diag *diag) {
        const char *keys[] = {registry, NULL, NULL, NULL};
        if (streq(registry, "docker.io")) {
                keys[1] = "https://index.docker.io/v1/";
                keys[2] = "registry-1.docker.io";
        }
        if (file) {
                int r = credentials_from_file(file, keys, &reg->basic);
                if (r == -ENOENT && access(file, F_OK) >= 0)
                        return 0; /* no entry for this registry: anonymous */
                if (r < 0)
                        return diag_fail(
                                diag, r, file, r == -EBADMSG ? "not a credentials file (auth.json format)" : NULL);
                return 0;
        }
        _cleanup_free_ char *a = NULL, *b = NULL;
        const char *xdg = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");
        if (xdg && *xdg == '/')
                a = strjoin(xdg, "/containers/auth.json");
        if (home && *home == '/')
                b = strjoin(home, "/.docker/config.json");
        const char *paths[] = {a, b};
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                if (!paths[i])
                        continue;
                int r = credentials_from_file(paths[i], keys, &reg->basic);
                if (r >= 0)
                        return 0;
        }
        return 0;
}

static int append_file(char **buf, size_t *size, int dir_fd, const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t n;
        int r = read_file_at(dir_fd, path, 0, OCI_CA_MAX, &text, &n);
        if (r < 0)
                return r;
        if (*size + n + 1 > OCI_CA_MAX)
                return -EFBIG;
        char *b = realloc(*buf, *size + n + 2);
        if (!b)
                return -ENOMEM;
        memcpy(b + *size, text, n);
        *size += n;
        b[(*size)++] = '\n';
        b[*size] = 0;
        *buf = b;
        return 0;
}

/* The system bundle plus HOST[:PORT]/ *.crt of the certs.d directory, as containers' tools trust
 * them; nothing (the default) when there are none for this host. */
static int load_cas(OciRegistry *reg, const char *registry, Diag *diag) {
        const char *dir = getenv("COWPEN_CERTS_D");
        if (!dir || !*dir)
                dir = CERTS_D_DEFAULT;
        _cleanup_free_ char *hostdir = strjoin(dir, "/", registry);
        if (!hostdir)
                return -ENOMEM;
        _cleanup_close_ int dfd = open(hostdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return 0;
        _cleanup_closedir_ DIR *d = NULL;
        int r = opendir_fd(dfd, &d);
        if (r < 0)
                return r;
        char *buf = NULL;
        size_t size = 0;
        struct dirent *de;
        bool any = false;
        while ((de = readdir(d))) {
                if (!endswith(de->d_name, ".crt"))
                        continue;
                r = append_file(&buf, &size, dfd, de->d_name);
                if (r < 0) {
                        free(buf);
                        return diag_fail(diag, r, hostdir, "cannot read CA certificate %s", de->d_name);
                }
                any = true;
        }
        if (!any)
                return 0;
        (void) append_file(&buf, &size, AT_FDCWD, SYSTEM_CA_BUNDLE);
        reg->ca_blob = buf;
        reg->ca_blob_size = size;
        return 0;
}

/* A parameter of a WWW-Authenticate challenge: key="value" (value bounded, no quotes inside). */
static char *challenge_param(const char *h, const char *key) {
        size_t kl = strlen(key);
        for (const char *p = h; (p = strcasestr(p, key)); p += kl) {
                if (p != h && p[-1] != ' ' && p[-1] != ',')
                        continue;
                if (p[kl] != '=' || p[kl + 1] != '"')
                        continue;
                const char *v = p + kl + 2, *e = strchr(v, '"');
                if (!e)
                        return NULL;
                return strndup(v, (size_t) (e - v));
        }
        return NULL;
}

static char *url_escape(const char *s) {
        size_t n = strlen(s);
        char *o = malloc(n * 3 + 1), *q = o;
        if (!o)
                return NULL;
        for (; *s; s++) {
                if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~", *s))
                        *q++ = *s;
                else
                        q += sprintf(q, "%%%02X", (unsigned char) *s);
        }
        *q = 0;
        return o;
}

static void base_request(OciRegistry *reg, PullRequest *req) {
        req->insecure = !reg->tls_verify;
        req->ca_blob = reg->ca_blob;
        req->ca_blob_size = reg->ca_blob_size;
}

typedef struct TokenSink {
        char *buf;
        size_t size;
} TokenSink;

static int token_on_data(const void *p, size_t n, void *ud) {
        TokenSink *k = ud;
        if (n > OCI_TOKEN_MAX - k->size)
                return -EFBIG;
        char *b = realloc(k->buf, k->size + n + 1);
        if (!b)
                return -ENOMEM;
        memcpy(b + k->size, p, n);
        k->size += n;
        b[k->size] = 0;
        k->buf = b;
        return 0;
}

/* A Bearer token from the challenge's realm (with the credentials, when we have them). */
static int bearer_token(OciRegistry *reg, const char *challenge, Diag *diag) {
        int r;
        _cleanup_free_ char *realm = challenge_param(challenge, "realm"),
                            *service = challenge_param(challenge, "service"),
                            *scope = challenge_param(challenge, "scope");
        if (!realm || !pull_url_is_http(realm) || (reg->tls_verify && strncasecmp(realm, "https://", 8) != 0)) {
                r = diag_fail(diag, -EPROTO, NULL, "registry's token realm is not an https URL");
                return r;
        }
        _cleanup_free_ char *default_scope =
                strjoin("repository:", reg->repository, reg->push ? ":pull,push" : ":pull");
        _cleanup_free_ char *es = url_escape(service ?: ""), *esc = url_escape(scope ?: default_scope ?: "");
        if (!default_scope || !es || !esc) {
                r = -ENOMEM;
                return r;
        }
        _cleanup_free_ char *url = strjoin(realm, strchr(realm, '?') ? "&" : "?", "service=", es, "&scope=", esc);
        _cleanup_free_ char *basic = reg->basic ? strjoin("Authorization: Basic ", reg->basic) : NULL;
        if (!url || (reg->basic && !basic)) {
                r = -ENOMEM;
                return r;
        }
        const char *headers[] = {basic, NULL};
        char *body = NULL;
        size_t size = 0;
        PullResponse resp = {};
        TokenSink sink = {};
        PullRequest req = {.url = url,
                .headers = headers,
                .max_body = OCI_TOKEN_MAX,
                .on_data = token_on_data,
                .userdata = &sink};
        base_request(reg, &req);
        r = pull_curl_perform(&req, &resp);
        body = sink.buf;
        size = sink.size;
        if (basic)
                explicit_bzero(basic, strlen(basic));
        if (r < 0) {
                long st = resp.status;
                pull_response_done(&resp);
                free(body);
                if (r == -EPROTO && (st == 401 || st == 403))
                        r = diag_fail(diag, -EACCES, NULL, "token server refused the credentials (HTTP %ld)", st);
                else
                        r = diag_fail(diag, r, NULL, "token server: %s", r == -EPROTO ? "HTTP error" : strerror(-r));
                return r;
        }
        pull_response_done(&resp);
        json_object *j = body && size > 0 ? json_tokener_parse(body) : NULL;
        free(body);
        json_object *t = NULL;
        if (!j || (!json_object_object_get_ex(j, "token", &t) && !json_object_object_get_ex(j, "access_token", &t)) ||
                !json_object_is_type(t, json_type_string) || strpbrk(json_object_get_string(t), "\r\n ") ||
                !*json_object_get_string(t)) {
                json_object_put(j);
                r = diag_fail(diag, -EBADMSG, NULL, "token server's answer holds no token");
                return r;
        }
        free(reg->authorization);
        reg->authorization = strjoin("Authorization: Bearer ", json_object_get_string(t));
        json_object_put(j);
        return reg->authorization ? 0 : -ENOMEM;
}

/* Answers a 401 challenge: Basic with the credentials, or a Bearer token from the realm. */
static int authenticate(OciRegistry *reg, const char *challenge, unsigned generation, Diag *diag) {
        pthread_mutex_lock(&reg->auth_lock);
        int r = 0;
        if (reg->auth_generation != generation)
                goto finish; /* another thread did it meanwhile */
        if (!challenge) {
                r = diag_fail(diag, -EACCES, NULL, "registry refused access (HTTP 401 without a challenge)");
                goto finish;
        }
        if (strncasecmp(challenge, "Basic", 5) == 0) {
                if (!reg->basic || (reg->authorization && startswith(reg->authorization, "Authorization: Basic"))) {
                        r = diag_fail(diag, -EACCES, NULL,
                                reg->basic ? "registry refused the credentials"
                                           : "registry wants credentials (--credentials=)");
                        goto finish;
                }
                free(reg->authorization);
                reg->authorization = strjoin("Authorization: Basic ", reg->basic);
                r = reg->authorization ? 0 : -ENOMEM;
                goto finish;
        }
        if (strncasecmp(challenge, "Bearer", 6) != 0) {
                r = diag_fail(diag, -EPROTONOSUPPORT, NULL, "unsupported authentication scheme");
                goto finish;
        }
        r = bearer_token(reg, challenge, diag);
finish:
        if (r >= 0)
                reg->auth_generation++;
        pthread_mutex_unlock(&reg->auth_lock);
        return r;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
        (void) nanosleep(&ts, NULL);
}

/* One request of path below the base with our authorization, answering one 401 challenge.
 * The caller's req has everything but url, headers and TLS settings; extra is one more header. */
static int registry_perform(
        OciRegistry *reg, const char *path, PullRequest *req, const char *extra, PullResponse *resp, Diag *diag) {
        /* path below the base, or (uploads) a URL the registry gave in a Location. */
        _cleanup_free_ char *url = path[0] == '/' ? strjoin(reg->base, path) : strdup(path);
        if (!url)
                return -ENOMEM;
        req->url = url;
        base_request(reg, req);
        int r = 0;
        bool sent = false;
        for (unsigned attempt = 0; attempt < 2; attempt++) {
                pthread_mutex_lock(&reg->auth_lock);
                _cleanup_free_ char *authz = reg->authorization ? strdup(reg->authorization) : NULL;
                unsigned generation = reg->auth_generation;
                bool had = reg->authorization;
                pthread_mutex_unlock(&reg->auth_lock);
                if (had && !authz)
                        return -ENOMEM;
                const char *headers[] = {authz ?: extra, authz ? extra : NULL, NULL};
                req->headers = headers;
                r = pull_curl_perform(req, resp);
                sent = authz;
                if (authz)
                        explicit_bzero(authz, strlen(authz));
                req->headers = NULL;
                if (!(r == -EPROTO && resp->status == 401) || attempt > 0)
                        break;
                _cleanup_free_ char *challenge = resp->www_authenticate ? strdup(resp->www_authenticate) : NULL;
                pull_response_done(resp);
                r = authenticate(reg, challenge, generation, diag);
                if (r < 0)
                        return r;
        }
        req->url = NULL;
        if (r == -EPROTO && resp->status == 401)
                return diag_fail(diag, -EACCES, NULL, sent ? "registry refused the credentials (HTTP 401)" : "registry refused access (HTTP 401)");
        return r;
}

/* registry_perform() with retries of transient errors; reset is called before each retry (to
 * rewind the caller's sink). */
static int registry_perform_retry(OciRegistry *reg, const char *path, PullRequest *req, const char *extra,
        PullResponse *resp, int (*reset)(PullRequest *req, void *ud), void *ud, Diag *diag) {
        unsigned delay = reg->backoff_ms;
        int r;
        for (unsigned attempt = 0;; attempt++) {
                r = registry_perform(reg, path, req, extra, resp, diag);
                if (r >= 0 || attempt + 1 >= reg->retries || !pull_error_is_transient(r, resp) || interrupted())
                        return r;
                pull_response_done(resp);
                sleep_ms(delay);
                delay *= 2;
                if (reset && (r = reset(req, ud)) < 0)
                        return r;
        }
}

int oci_registry_new(const OciRef *ref, const OciRegistryOptions *o, OciRegistry **ret, Diag *diag) {
        const char *detail;
        int r = dlopen_libcurl(&detail);
        if (r < 0)
                return diag_fail(diag, r, NULL, "%s (needed to download)", detail);
        _cleanup_(oci_registry_freep) OciRegistry *reg = calloc(1, sizeof(OciRegistry));
        if (!reg)
                return -ENOMEM;
        pthread_mutex_init(&reg->auth_lock, NULL);
        reg->tls_verify = o->tls_verify;
        reg->retries = o->retries ?: PULL_RETRIES_DEFAULT;
        reg->backoff_ms = o->backoff_ms ?: PULL_BACKOFF_MS_DEFAULT;
        reg->push = o->push;
        reg->host = strdup(streq(ref->registry, "docker.io") ? "registry-1.docker.io" : ref->registry);
        reg->repository = strdup(ref->repository);
        if (!reg->host || !reg->repository)
                return -ENOMEM;
        if ((r = load_credentials(reg, ref->registry, o->credentials, diag)) < 0)
                return r;
        if ((r = load_cas(reg, ref->registry, diag)) < 0)
                return r;

        /* The probe: https, and with --tls-verify=no plain http when https cannot be spoken. */
        for (unsigned i = 0; i < (reg->tls_verify ? 1U : 2U); i++) {
                free(reg->base);
                reg->base = strjoin(i == 0 ? "https://" : "http://", reg->host);
                if (!reg->base)
                        return -ENOMEM;
                PullRequest req = {.max_body = 64 * 1024};
                PullResponse resp = {};
                r = registry_perform_retry(reg, "/v2/", &req, NULL, &resp, NULL, NULL, diag);
                long st = resp.status;
                pull_response_done(&resp);
                if (r >= 0 || r == -EACCES)
                        break;
                if (r == -EPROTO && st != 0) {
                        r = diag_fail(
                                diag, -EPROTO, NULL, "%s/v2/: HTTP status %ld (not an OCI registry?)", reg->base, st);
                        break;
                }
                if (i == 0 && !reg->tls_verify && (r == -EKEYREJECTED || r == -ECONNRESET || r == -EIO)) {
                        diag_clear_failure(diag);
                        continue;
                }
                if (!diag_failed(diag))
                        r = diag_fail(diag, r, NULL, "%s: %s%s", reg->base,
                                r == -EKEYREJECTED ? "TLS certificate not trusted (certs.d, or --tls-verify=no)"
                                                   : strerror(-r),
                                "");
                break;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(reg);
        return 0;
}

typedef struct MemHash {
        char *buf;
        size_t size, max;
        HashContext *hash;
} MemHash;

static int memhash_data(const void *p, size_t n, void *ud) {
        MemHash *m = ud;
        if (n > m->max - m->size)
                return -EFBIG;
        char *b = realloc(m->buf, m->size + n + 1);
        if (!b)
                return -ENOMEM;
        memcpy(b + m->size, p, n);
        m->size += n;
        b[m->size] = 0;
        m->buf = b;
        return hash_context_update(m->hash, p, n);
}

static int memhash_reset(PullRequest *req, void *ud) {
        MemHash *m = ud;
        m->size = 0;
        uint8_t md[HASH_DIGEST_SIZE_MAX];
        return hash_context_final(m->hash, md);
}

static int digest_string(HashContext *h, char **ret) {
        uint8_t md[HASH_DIGEST_SIZE_MAX];
        int r = hash_context_final(h, md);
        if (r < 0)
                return r;
        _cleanup_free_ char *hex = hexmem(md, 32);
        if (!hex)
                return -ENOMEM;
        *ret = strjoin("sha256:", hex);
        return *ret ? 0 : -ENOMEM;
}

static int fetch_memory(OciRegistry *reg, const char *path, const char *accept, size_t max, MemHash *m,
        PullResponse *resp, Diag *diag) {
        int r = hash_context_new(HASH_SHA256, &m->hash);
        if (r < 0)
                return r;
        m->max = max;
        PullRequest req = {.max_body = max, .on_data = memhash_data, .userdata = m};
        r = registry_perform_retry(reg, path, &req, accept, resp, memhash_reset, m, diag);
        if (r >= 0 && resp->status == 304)
                r = -EPROTO;
        return r;
}

int oci_registry_get_manifest(OciRegistry *reg, const char *reference, char **ret_body, size_t *ret_size,
        char **ret_media_type, char **ret_digest, Diag *diag) {
        _cleanup_free_ char *path = strjoin("/v2/", reg->repository, "/manifests/", reference);
        if (!path)
                return -ENOMEM;
        MemHash m = {};
        PullResponse resp = {};
        int r = fetch_memory(reg, path, ACCEPT_MANIFESTS, OCI_MANIFEST_MAX, &m, &resp, diag);
        _cleanup_free_ char *digest = NULL;
        if (r >= 0)
                r = digest_string(m.hash, &digest);
        hash_context_free(m.hash);
        if (r < 0) {
                free(m.buf);
                long st = resp.status;
                pull_response_done(&resp);
                if (diag_failed(diag))
                        return r;
                if (r == -ENOENT)
                        return diag_fail(diag, r, reference, "no such manifest in %s", reg->repository);
                if (r == -EFBIG)
                        return diag_fail(diag, r, reference, "manifest larger than %u bytes", OCI_MANIFEST_MAX);
                if (r == -EPROTO)
                        return diag_fail(diag, r, reference, "manifest: HTTP status %ld", st);
                return diag_fail(diag, r, reference, "manifest: %s", strerror(-r));
        }
        if (oci_digest_is_valid(reference) && !streq(reference, digest)) {
                free(m.buf);
                pull_response_done(&resp);
                return diag_fail(diag, -EBADMSG, reference, "manifest digest mismatch (got %s)", digest);
        }
        if (resp.docker_content_digest && oci_digest_is_valid(resp.docker_content_digest) &&
                !streq(resp.docker_content_digest, digest)) {
                free(m.buf);
                pull_response_done(&resp);
                return diag_fail(
                        diag, -EBADMSG, reference, "manifest does not match the registry's Docker-Content-Digest");
        }
        char *mt = NULL;
        json_object *j = m.buf ? json_tokener_parse(m.buf) : NULL, *v;
        if (j && json_object_object_get_ex(j, "mediaType", &v) && json_object_is_type(v, json_type_string))
                mt = strdup(json_object_get_string(v));
        else if (resp.content_type) {
                mt = strdup(resp.content_type);
                char *semi = mt ? strchr(mt, ';') : NULL;
                if (semi)
                        *semi = 0;
        } else
                mt = strdup("");
        json_object_put(j);
        pull_response_done(&resp);
        if (!mt) {
                free(m.buf);
                return -ENOMEM;
        }
        *ret_body = m.buf;
        if (ret_size)
                *ret_size = m.size;
        *ret_media_type = mt;
        *ret_digest = TAKE_PTR(digest);
        return 0;
}

int oci_registry_get_blob_memory(
        OciRegistry *reg, const char *digest, uint64_t size, size_t max, char **ret, size_t *ret_size, Diag *diag) {
        if (!oci_digest_is_valid(digest))
                return diag_fail(diag, -EBADMSG, NULL, "invalid digest in manifest");
        if (size > max)
                return diag_fail(diag, -EFBIG, digest, "larger than %zu bytes", max);
        _cleanup_free_ char *path = strjoin("/v2/", reg->repository, "/blobs/", digest);
        if (!path)
                return -ENOMEM;
        MemHash m = {};
        PullResponse resp = {};
        int r = fetch_memory(reg, path, NULL, (size_t) size, &m, &resp, diag);
        _cleanup_free_ char *got = NULL;
        if (r >= 0)
                r = digest_string(m.hash, &got);
        hash_context_free(m.hash);
        long st = resp.status;
        pull_response_done(&resp);
        if (r < 0) {
                free(m.buf);
                if (diag_failed(diag))
                        return r;
                if (r == -EFBIG)
                        return diag_fail(diag, -EBADMSG, digest, "larger than the manifest says");
                if (r == -EPROTO)
                        return diag_fail(diag, r, digest, "HTTP status %ld", st);
                return diag_fail(diag, r, digest, NULL);
        }
        if (m.size != size || !streq(got, digest)) {
                free(m.buf);
                return diag_fail(
                        diag, -EBADMSG, digest, m.size != size ? "size differs from the manifest" : "digest mismatch");
        }
        if (!m.buf && !(m.buf = strdup("")))
                return -ENOMEM;
        *ret = m.buf;
        if (ret_size)
                *ret_size = m.size;
        return 0;
}

typedef struct BlobSink {
        int fd;
        uint64_t have;
        uint64_t fetched;
        HashContext *hash;
        const OciBlobProgress *progress;
} BlobSink;

static int blob_on_response(const PullResponse *resp, void *ud) {
        BlobSink *b = ud;
        if (resp->status == 206)
                return 0;
        /* A whole body (no Range support): start over. */
        if (b->have > 0) {
                if (ftruncate(b->fd, 0) < 0 || lseek(b->fd, 0, SEEK_SET) < 0)
                        return negative_errno();
                uint8_t md[HASH_DIGEST_SIZE_MAX];
                (void) hash_context_final(b->hash, md);
                b->have = 0;
        }
        return 0;
}

static int blob_on_data(const void *p, size_t n, void *ud) {
        BlobSink *b = ud;
        int r = loop_write(b->fd, p, n);
        if (r < 0)
                return r;
        b->have += n;
        b->fetched += n;
        r = hash_context_update(b->hash, p, n);
        if (r >= 0 && b->progress && b->progress->func)
                r = b->progress->func(b->have, b->progress->userdata);
        return r;
}

/* Hashes what the partial file holds (it is re-checked as a whole). */
static int hash_prefix(int fd, HashContext *h, uint64_t *ret) {
        if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();
        _cleanup_free_ uint8_t *buf = malloc(1024 * 1024);
        if (!buf)
                return -ENOMEM;
        uint64_t total = 0;
        for (;;) {
                ssize_t n = loop_read(fd, buf, 1024 * 1024);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                int r = hash_context_update(h, buf, (size_t) n);
                if (r < 0)
                        return r;
                total += (uint64_t) n;
        }
        *ret = total;
        return 0;
}

int oci_registry_get_blob_file(OciRegistry *reg, const char *digest, uint64_t size, int dir_fd,
        const char *partial_name, const OciBlobProgress *p, bool *ret_resumed, uint64_t *ret_fetched, Diag *diag) {
        if (!oci_digest_is_valid(digest))
                return diag_fail(diag, -EBADMSG, NULL, "invalid digest in manifest");
        _cleanup_free_ char *path = strjoin("/v2/", reg->repository, "/blobs/", digest);
        if (!path)
                return -ENOMEM;
        _cleanup_close_ int fd = openat(dir_fd, partial_name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return diag_fail(diag, -errno, partial_name, NULL);
        _cleanup_(hash_context_freep) HashContext *h = NULL;
        int r = hash_context_new(HASH_SHA256, &h);
        if (r < 0)
                return r;
        BlobSink b = {.fd = fd, .hash = h, .progress = p};
        r = hash_prefix(fd, h, &b.have);
        if (r < 0)
                return r;
        if (b.have > size) {
                if (ftruncate(fd, 0) < 0)
                        return negative_errno();
                uint8_t md[HASH_DIGEST_SIZE_MAX];
                (void) hash_context_final(h, md);
                b.have = 0;
        }
        bool resumed = false;
        unsigned delay = reg->backoff_ms;
        for (unsigned attempt = 0;; attempt++) {
                if (b.have == size)
                        break;
                if (b.have > 0)
                        resumed = true;
                if (lseek(fd, (off_t) b.have, SEEK_SET) < 0)
                        return negative_errno();
                PullRequest req = {
                        .range_start = b.have,
                        .max_body = size - b.have,
                        .on_response = blob_on_response,
                        .on_data = blob_on_data,
                        .userdata = &b,
                };
                PullResponse resp = {};
                r = registry_perform(reg, path, &req, NULL, &resp, diag);
                bool transient = r < 0 && pull_error_is_transient(r, &resp);
                long st = resp.status;
                pull_response_done(&resp);
                if (r == -EFBIG) {
                        (void) unlinkat(dir_fd, partial_name, 0);
                        return diag_fail(diag, -EBADMSG, digest, "blob larger than the manifest says");
                }
                if (r >= 0 && b.have != size) {
                        /* A body that ended short without a connection error. */
                        r = -ECONNRESET;
                        transient = true;
                }
                if (r >= 0)
                        break;
                if (!transient || attempt + 1 >= reg->retries || interrupted()) {
                        if (diag_failed(diag))
                                return r;
                        if (r == -EPROTO)
                                return diag_fail(diag, r, digest, "HTTP status %ld", st);
                        return diag_fail(diag, r, digest, NULL);
                }
                sleep_ms(delay);
                delay *= 2;
        }
        _cleanup_free_ char *got = NULL;
        if ((r = digest_string(h, &got)) < 0)
                return r;
        if (!streq(got, digest)) {
                (void) unlinkat(dir_fd, partial_name, 0);
                return diag_fail(diag, -EBADMSG, digest, "digest mismatch (the registry sent %s)", got);
        }
        if (ret_resumed)
                *ret_resumed = resumed;
        if (ret_fetched)
                *ret_fetched = b.fetched;
        return 0;
}

/* ---- pushing ---- */

const char *oci_registry_repository(OciRegistry *reg) {
        return reg->repository;
}

int oci_registry_blob_exists(OciRegistry *reg, const char *digest, uint64_t size, Diag *diag) {
        if (!oci_digest_is_valid(digest))
                return -EINVAL;
        _cleanup_free_ char *path = strjoin("/v2/", reg->repository, "/blobs/", digest);
        if (!path)
                return -ENOMEM;
        PullRequest req = {.method = "HEAD"};
        PullResponse resp = {};
        int r = registry_perform_retry(reg, path, &req, NULL, &resp, NULL, NULL, diag);
        long st = resp.status;
        uint64_t cl = resp.content_length;
        pull_response_done(&resp);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                if (diag_failed(diag))
                        return r;
                if (r == -EPROTO)
                        return diag_fail(diag, r, digest, "HEAD: HTTP status %ld", st);
                return diag_fail(diag, r, digest, "HEAD: %s", strerror(-r));
        }
        /* A blob of another size under that digest cannot be ours; upload it (the registry checks). */
        return cl == UINT64_MAX || cl == size;
}

/* An upload's Location as the URL of our next request: a path below the base, or an absolute URL
 * on the same base (our credentials go there: another host is refused). */
static int upload_location(OciRegistry *reg, const PullResponse *resp, char **ret, Diag *diag) {
        const char *l = resp->location;
        if (!l || strlen(l) > OCI_LOCATION_MAX || strpbrk(l, " \t\r\n"))
                return diag_fail(diag, -EBADMSG, NULL, "registry's upload answer has no usable Location");
        size_t bl = strlen(reg->base);
        char *u;
        if (l[0] == '/' && l[1] != '/')
                u = strdup(l);
        else if (strncasecmp(l, reg->base, bl) == 0 && l[bl] == '/')
                u = strdup(l);
        else
                return diag_fail(diag, -EPERM, NULL, "registry sends the upload to another host (not followed)");
        if (!u)
                return -ENOMEM;
        free(*ret);
        *ret = u;
        return 0;
}

/* Bytes the registry has of an upload, from its Range header ("0-END", or "bytes=0-END"); as
 * distribution writes "0-0" for an empty upload, that is taken as nothing. */
static int upload_range(const PullResponse *resp, uint64_t *ret) {
        const char *s = resp->range;
        if (!s)
                return -ENOENT;
        if (startswith(s, "bytes="))
                s += 6;
        unsigned long long a, b;
        char extra;
        if (sscanf(s, "%llu-%llu%c", &a, &b, &extra) != 2 || a != 0 || b == ULLONG_MAX)
                return -EBADMSG;
        *ret = b == 0 ? 0 : (uint64_t) b + 1;
        return 0;
}

static char *url_with_query(const char *url, const char *query) {
        return strjoin(url, strchr(url, '?') ? "&" : "?", query);
}

int oci_registry_blob_mount(OciRegistry *reg, const char *digest, const char *from, Diag *diag) {
        if (!oci_digest_is_valid(digest) || !repo_is_valid(from))
                return -EINVAL;
        _cleanup_free_ char *ef = url_escape(from);
        _cleanup_free_ char *path =
                ef ? strjoin("/v2/", reg->repository, "/blobs/uploads/?mount=", digest, "&from=", ef) : NULL;
        if (!path)
                return -ENOMEM;
        PullRequest req = {.method = "POST"};
        PullResponse resp = {};
        int r = registry_perform_retry(reg, path, &req, NULL, &resp, NULL, NULL, diag);
        long st = resp.status;
        pull_response_done(&resp);
        if (r < 0) {
                if (diag_failed(diag))
                        return r;
                /* No mount (an old registry, or the source repository is not ours to read). */
                return 0;
        }
        /* 201: mounted. 202: the registry started an ordinary upload instead, which we leave (it
         * expires); the blob is uploaded anew. */
        return st == 201;
}

static int upload_fail(Diag *diag, int r, const char *digest, const char *what, long st) {
        if (diag_failed(diag))
                return r;
        if (r == -EPROTO)
                return diag_fail(diag, r, digest, "upload (%s): HTTP status %ld", what, st);
        return diag_fail(diag, r, digest, "upload (%s): %s", what, strerror(-r));
}

/* POST …/blobs/uploads/: a new upload session, *loc its Location. */
static int upload_start(OciRegistry *reg, const char *digest, char **loc, Diag *diag) {
        _cleanup_free_ char *path = strjoin("/v2/", reg->repository, "/blobs/uploads/");
        if (!path)
                return -ENOMEM;
        PullRequest req = {.method = "POST"};
        PullResponse resp = {};
        int r = registry_perform_retry(reg, path, &req, NULL, &resp, NULL, NULL, diag);
        long st = resp.status;
        if (r >= 0)
                r = upload_location(reg, &resp, loc, diag);
        pull_response_done(&resp);
        if (r < 0)
                return upload_fail(diag, r, digest, "POST", st);
        return 0;
}

int oci_registry_put_blob_file(OciRegistry *reg, const char *digest, int fd, uint64_t size, uint64_t chunk,
        const OciBlobProgress *p, OciUploadStats *ret_stats, Diag *diag) {
        if (!oci_digest_is_valid(digest))
                return -EINVAL;
        if (chunk == 0)
                chunk = OCI_UPLOAD_CHUNK_DEFAULT;
        OciUploadStats stats = {};
        _cleanup_free_ char *loc = NULL;
        PullResponse resp = {};
        long st;
        int r = upload_start(reg, digest, &loc, diag);
        if (r < 0)
                return r;

        uint64_t offset = 0;
        unsigned delay = reg->backoff_ms, failures = 0;
        while (offset < size) {
                uint64_t n = MIN(chunk, size - offset);
                char range[64];
                snprintf(range, sizeof(range), "Content-Range: %" PRIu64 "-%" PRIu64, offset, offset + n - 1);
                PullRequest preq = {
                        .method = "PATCH",
                        .upload = true,
                        .upload_fd = fd,
                        .upload_offset = offset,
                        .upload_size = n,
                };
                r = registry_perform(reg, loc, &preq, range, &resp, diag);
                st = resp.status;
                stats.sent += n;
                if (r >= 0) {
                        uint64_t have = offset + n;
                        r = upload_location(reg, &resp, &loc, diag);
                        if (r >= 0 && upload_range(&resp, &have) >= 0 && have != offset + n)
                                r = diag_fail(diag, -EBADMSG, digest,
                                        "registry has %" PRIu64 " bytes of the upload, not %" PRIu64, have,
                                        offset + n);
                        pull_response_done(&resp);
                        if (r < 0)
                                return r;
                        offset += n;
                        if (p && p->func && (r = p->func(offset, p->userdata)) < 0)
                                return r;
                        continue;
                }
                bool transient = pull_error_is_transient(r, &resp);
                pull_response_done(&resp);
                if (!transient || ++failures >= reg->retries || interrupted())
                        return upload_fail(diag, r, digest, "PATCH", st);
                diag_clear_failure(diag);
                sleep_ms(delay);
                delay *= 2;
                /* Where the upload stands: the registry's Range. */
                PullRequest sreq = {.max_body = 64 * 1024};
                r = registry_perform_retry(reg, loc, &sreq, NULL, &resp, NULL, NULL, diag);
                st = resp.status;
                uint64_t have = 0;
                if (r >= 0 && (r = upload_range(&resp, &have)) < 0)
                        r = diag_fail(diag, -EBADMSG, digest, "registry's upload status has no Range");
                if (r >= 0 && resp.location)
                        r = upload_location(reg, &resp, &loc, diag);
                pull_response_done(&resp);
                if (r == -ENOENT) {
                        /* The registry no longer knows the upload (distribution forgets one that a
                         * cut-off PATCH left at another offset than its state says): a new one,
                         * from the start. */
                        diag_clear_failure(diag);
                        if ((r = upload_start(reg, digest, &loc, diag)) < 0)
                                return r;
                        offset = 0;
                        stats.restarted = true;
                        continue;
                }
                if (r < 0)
                        return upload_fail(diag, r, digest, "status", st);
                if (have > size)
                        return diag_fail(diag, -EBADMSG, digest, "registry has more of the upload than the blob");
                offset = have;
                stats.resumed = true;
        }

        _cleanup_free_ char *dq = strjoin("digest=", digest), *put = dq ? url_with_query(loc, dq) : NULL;
        if (!put)
                return -ENOMEM;
        PullRequest qreq = {.method = "PUT", .upload = true, .upload_size = 0, .upload_data = ""};
        r = registry_perform_retry(reg, put, &qreq, "Content-Type: application/octet-stream", &resp, NULL, NULL, diag);
        st = resp.status;
        if (r >= 0 && resp.docker_content_digest && !streq(resp.docker_content_digest, digest))
                r = diag_fail(diag, -EBADMSG, digest, "registry stored the blob under another digest (%s)",
                        resp.docker_content_digest);
        pull_response_done(&resp);
        if (r < 0)
                return upload_fail(diag, r, digest, "PUT", st);
        if (ret_stats)
                *ret_stats = stats;
        return 0;
}

int oci_registry_put_manifest(
        OciRegistry *reg, const char *reference, const char *media_type, const char *body, size_t size, Diag *diag) {
        if (strpbrk(media_type, "\r\n"))
                return -EINVAL;
        _cleanup_free_ char *path = strjoin("/v2/", reg->repository, "/manifests/", reference),
                            *ct = strjoin("Content-Type: ", media_type);
        if (!path || !ct)
                return -ENOMEM;
        uint8_t md[HASH_DIGEST_SIZE_MAX];
        int r = hash_digest(HASH_SHA256, body, size, md);
        if (r < 0)
                return r;
        _cleanup_free_ char *hex = hexmem(md, 32), *digest = hex ? strjoin("sha256:", hex) : NULL;
        if (!digest)
                return -ENOMEM;
        PullRequest req = {.method = "PUT", .upload = true, .upload_data = body, .upload_size = size};
        PullResponse resp = {};
        r = registry_perform_retry(reg, path, &req, ct, &resp, NULL, NULL, diag);
        long st = resp.status;
        if (r >= 0 && resp.docker_content_digest && !streq(resp.docker_content_digest, digest))
                r = diag_fail(diag, -EBADMSG, reference, "registry stored the manifest under another digest (%s)",
                        resp.docker_content_digest);
        pull_response_done(&resp);
        if (r < 0) {
                if (diag_failed(diag))
                        return r;
                if (r == -EPROTO)
                        return diag_fail(diag, r, reference, "manifest upload: HTTP status %ld", st);
                return diag_fail(diag, r, reference, "manifest upload: %s", strerror(-r));
        }
        return 0;
}
