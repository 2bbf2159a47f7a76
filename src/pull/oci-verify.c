/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pull-oci --verify=signature: containers' "simple signing" (the GPG signatures skopeo 1.9 makes
 * with --sign-by, kept in a lookaside store), checked against a policy.json subset.
 *
 * Untrusted input: the signatures (size-limited, checked by gpgv before their payload is read),
 * their payloads (JSON, every field type-checked), and the policy and registries.d files (local
 * configuration, still size-limited and parsed defensively). */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "hash-util.h"
#include "json-util.h"
#include "oci-verify.h"
#include "pull-curl.h"
#include "pull-gpg.h"
#include "util.h"

#define POLICY_DEFAULT "/etc/containers/policy.json"
#define REGISTRIES_D_DEFAULT "/etc/containers/registries.d"
#define OCI_POLICY_MAX (1024U * 1024)
#define OCI_REGISTRIES_D_FILE_MAX (256U * 1024)
#define OCI_SIGNATURE_MAX (64U * 1024)
#define OCI_SIGNATURES_MAX 16U                /* signature-1 … signature-16 are looked at */
#define OCI_SIGSTORE_KEY_MAX (16U * 1024)     /* a sigstoreSigned public key (PEM) */
#define OCI_SIGSTORE_PAYLOAD_MAX (64U * 1024) /* one simple-signing payload layer */
#define OCI_SIGSTORE_LAYERS_MAX 16U           /* payload layers looked at per signature manifest */
#define OCI_SIGSTORE_SIG_B64_MAX 4096U        /* the base64 signature annotation */

void oci_requirement_done(OciRequirement *r) {
        if (!r)
                return;
        strv_free(r->keyrings);
        strv_free(r->keys);
        free(r->scope);
        *r = (OciRequirement){};
}

/* The scopes of ref, most specific first: host/repo:tag (or @digest), host/repo, its parent
 * namespaces, host. */
static int ref_scopes(const OciRef *ref, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *full = oci_ref_to_string(ref), *name = strjoin(ref->registry, "/", ref->repository);
        if (!full || !name || strv_extend(&l, full) < 0 || strv_extend(&l, name) < 0)
                return -ENOMEM;
        for (char *slash; (slash = strrchr(name, '/'));) {
                *slash = 0;
                if (strv_extend(&l, name) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_identity(json_object *q, const char *scope, OciRequirement *req, Diag *diag) {
        json_object *si, *st;
        if (!json_object_object_get_ex(q, "signedIdentity", &si))
                return 0;
        const char *t = json_object_object_get_ex(si, "type", &st) && json_object_is_type(st, json_type_string)
                                ? json_object_get_string(st)
                                : "";
        if (streq(t, "matchRepoDigestOrExact"))
                req->identity = OCI_IDENTITY_REPO_DIGEST_OR_EXACT;
        else if (streq(t, "matchExact"))
                req->identity = OCI_IDENTITY_EXACT;
        else if (streq(t, "matchRepository"))
                req->identity = OCI_IDENTITY_REPOSITORY;
        else {
                _cleanup_free_ char *p = printable(t, 60);
                return diag_fail(diag, -EOPNOTSUPP, scope, "policy: signedIdentity %s is not supported", p ?: "?");
        }
        return 0;
}

/* keyPath or keyPaths (absolute paths, at most 64) into *paths. */
static int parse_key_paths(json_object *q, const char *scope, const char *what, char ***paths, Diag *diag) {
        json_object *kp, *kps;
        int r = 0;
        if (json_object_object_get_ex(q, "keyPath", &kp) && json_object_is_type(kp, json_type_string)) {
                if (strv_extend(paths, json_object_get_string(kp)) < 0)
                        return -ENOMEM;
        } else if (json_object_object_get_ex(q, "keyPaths", &kps) && json_object_is_type(kps, json_type_array)) {
                for (size_t k = 0; k < json_object_array_length(kps) && k < 64 && r >= 0; k++) {
                        json_object *p = json_object_array_get_idx(kps, k);
                        if (!json_object_is_type(p, json_type_string))
                                r = diag_fail(diag, -EBADMSG, scope, "policy: keyPaths holds a non-string");
                        else if (strv_extend(paths, json_object_get_string(p)) < 0)
                                r = -ENOMEM;
                }
        } else
                return 1; /* neither */
        for (char **k = *paths; r >= 0 && k && *k; k++)
                if ((*k)[0] != '/')
                        r = diag_fail(diag, -EINVAL, scope, "policy: %s keyPath is not absolute", what);
        return r;
}

/* sigstoreSigned: the public keys, read now (keyPath/keyPaths files, or keyData: base64 of the
 * PEM text). Certificates from Fulcio and Rekor are not supported. */
static int parse_sigstore(json_object *q, const char *scope, OciRequirement *req, Diag *diag) {
        static const char *const unsupported[] = {"fulcio", "rekorPublicKeyPath", "rekorPublicKeyData", "pki", NULL};
        json_object *v;
        for (size_t i = 0; unsupported[i]; i++)
                if (json_object_object_get_ex(q, unsupported[i], &v))
                        return diag_fail(diag, -EOPNOTSUPP, scope, "policy: sigstoreSigned %s is not supported",
                                unsupported[i]);
        _cleanup_strv_free_ char **paths = NULL;
        int r = parse_key_paths(q, scope, "sigstoreSigned", &paths, diag);
        if (r < 0)
                return r;
        if (r == 0) {
                for (char **k = paths; *k; k++) {
                        _cleanup_free_ char *text = NULL;
                        if ((r = read_file_at(AT_FDCWD, *k, 0, OCI_SIGSTORE_KEY_MAX, &text, NULL)) < 0)
                                return diag_fail(diag, r, *k,
                                        r == -EFBIG ? "sigstore public key larger than %u bytes" : NULL,
                                        OCI_SIGSTORE_KEY_MAX);
                        uint8_t fpr[32];
                        if (public_key_fingerprint(text, strlen(text), fpr) < 0)
                                return diag_fail(
                                        diag, -EBADMSG, *k, "policy: sigstoreSigned key is not a PEM public key");
                        if (strv_extend(&req->keys, text) < 0)
                                return -ENOMEM;
                }
                return 0;
        }
        if (!json_object_object_get_ex(q, "keyData", &v) || !json_object_is_type(v, json_type_string))
                return diag_fail(diag, -EINVAL, scope, "policy: sigstoreSigned needs keyPath, keyPaths or keyData");
        const char *b64 = json_object_get_string(v);
        size_t n = strlen(b64);
        if (n == 0 || n % 4 != 0 || n / 4 * 3 > OCI_SIGSTORE_KEY_MAX)
                return diag_fail(diag, -EBADMSG, scope, "policy: sigstoreSigned keyData is not a base64 key");
        _cleanup_free_ char *pem = malloc(n / 4 * 3 + 1);
        if (!pem)
                return -ENOMEM;
        ssize_t k = base64_decode_block(b64, n, pem);
        if (k < 0)
                return diag_fail(diag, -EBADMSG, scope, "policy: sigstoreSigned keyData is not base64");
        k -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
        pem[k] = 0;
        uint8_t fpr[32];
        if (public_key_fingerprint(pem, (size_t) k, fpr) < 0)
                return diag_fail(diag, -EBADMSG, scope, "policy: sigstoreSigned keyData is not a PEM public key");
        return strv_extend(&req->keys, pem) < 0 ? -ENOMEM : 0;
}

static int parse_requirement(json_object *list, const char *scope, OciRequirement *ret, Diag *diag) {
        if (!json_object_is_type(list, json_type_array) || json_object_array_length(list) == 0)
                return diag_fail(diag, -EBADMSG, scope, "policy: requirements are not a non-empty array");
        OciRequirement req = {.type = OCI_REQUIRE_ANYTHING, .identity = OCI_IDENTITY_REPO_DIGEST_OR_EXACT};
        bool have_sig = false;
        int r = 0;
        /* All requirements must hold: reject wins, then signedBy or sigstoreSigned. */
        for (size_t i = 0; i < json_object_array_length(list) && r >= 0; i++) {
                json_object *q = json_object_array_get_idx(list, i), *v;
                const char *type = json_object_object_get_ex(q, "type", &v) && json_object_is_type(v, json_type_string)
                                           ? json_object_get_string(v)
                                           : NULL;
                if (!type)
                        r = diag_fail(diag, -EBADMSG, scope, "policy: requirement without type");
                else if (streq(type, "insecureAcceptAnything"))
                        continue;
                else if (streq(type, "reject"))
                        req.type = OCI_REQUIRE_REJECT;
                else if (streq(type, "signedBy") || streq(type, "sigstoreSigned")) {
                        bool sigstore = streq(type, "sigstoreSigned");
                        if (have_sig) {
                                r = diag_fail(diag, -EOPNOTSUPP, scope,
                                        "policy: more than one signedBy or sigstoreSigned requirement is not "
                                        "supported");
                                break;
                        }
                        have_sig = true;
                        if (req.type != OCI_REQUIRE_REJECT)
                                req.type = sigstore ? OCI_REQUIRE_SIGSTORE : OCI_REQUIRE_SIGNED;
                        if (sigstore)
                                r = parse_sigstore(q, scope, &req, diag);
                        else {
                                json_object *kt;
                                if (!json_object_object_get_ex(q, "keyType", &kt) ||
                                        !json_object_is_type(kt, json_type_string) ||
                                        !streq(json_object_get_string(kt), "GPGKeys"))
                                        r = diag_fail(diag, -EOPNOTSUPP, scope,
                                                "policy: signedBy supports keyType GPGKeys only");
                                else if ((r = parse_key_paths(q, scope, "signedBy", &req.keyrings, diag)) > 0)
                                        r = diag_fail(diag, -EOPNOTSUPP, scope,
                                                "policy: signedBy needs keyPath or keyPaths (keyData is not "
                                                "supported)");
                        }
                        if (r >= 0)
                                r = parse_identity(q, scope, &req, diag);
                } else {
                        _cleanup_free_ char *p = printable(type, 60);
                        r = diag_fail(
                                diag, -EOPNOTSUPP, scope, "policy: requirement type %s is not supported", p ?: "?");
                }
        }
        if (r < 0) {
                oci_requirement_done(&req);
                return r;
        }
        if (!(req.scope = strdup(scope))) {
                oci_requirement_done(&req);
                return -ENOMEM;
        }
        *ret = req;
        return 0;
}

int oci_policy_requirement(const char *policy, const OciRef *ref, OciRequirement *ret, Diag *diag) {
        const char *path = policy ?: POLICY_DEFAULT;
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, path, 0, OCI_POLICY_MAX, &text, NULL);
        if (r == -ENOENT && !policy)
                return 0; /* no policy file */
        if (r < 0)
                return diag_fail(diag, r, path, NULL);
        _cleanup_json_ json_object *j = json_tokener_parse(text);
        if (!j || !json_object_is_type(j, json_type_object))
                return diag_fail(diag, -EBADMSG, path, "not JSON");
        _cleanup_strv_free_ char **scopes = NULL;
        if ((r = ref_scopes(ref, &scopes)) < 0)
                return r;
        json_object *tr, *docker, *list;
        if (json_object_object_get_ex(j, "transports", &tr) && json_object_object_get_ex(tr, "docker", &docker)) {
                for (char **s = scopes; *s; s++)
                        if (json_object_object_get_ex(docker, *s, &list)) {
                                r = parse_requirement(list, *s, ret, diag);
                                return r < 0 ? diag_fail(diag, r, path, NULL) : 1;
                        }
                if (json_object_object_get_ex(docker, "", &list)) {
                        r = parse_requirement(list, "docker", ret, diag);
                        return r < 0 ? diag_fail(diag, r, path, NULL) : 1;
                }
        }
        if (!json_object_object_get_ex(j, "default", &list))
                return diag_fail(diag, -EBADMSG, path, "no \"default\" requirement");
        r = parse_requirement(list, "default", ret, diag);
        return r < 0 ? diag_fail(diag, r, path, NULL) : 1;
}

/* registries.d: the lookaside URL for ref ("lookaside:" or the older "sigstore:" of the most
 * specific "docker:" scope, else of "default-docker:"). A line-based reading of the YAML these
 * files are written in: top-level keys, two-space scopes, deeper "key: value" lines. */
static char *yaml_value(const char *v) {
        while (*v == ' ')
                v++;
        size_t n = strcspn(v, "#\r\n");
        while (n > 0 && v[n - 1] == ' ')
                n--;
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                v++;
                n -= 2;
        }
        return strndup(v, n);
}

/* keys: the "lookaside:"-style keys looked for, in order of preference within a scope. */
static int lookaside_url(const OciRef *ref, const char *const *keys, char **ret, Diag *diag) {
        const char *dir = getenv("COWPEN_REGISTRIES_D");
        if (!dir || !*dir)
                dir = REGISTRIES_D_DEFAULT;
        _cleanup_strv_free_ char **scopes = NULL;
        int r = ref_scopes(ref, &scopes);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return diag_fail(diag, -ENOENT, NULL, "no lookaside store configured for %s (%s)", ref->registry, dir);
        _cleanup_closedir_ DIR *d = NULL;
        if ((r = opendir_fd(dfd, &d)) < 0)
                return r;
        _cleanup_free_ char *best = NULL, *fallback = NULL;
        size_t best_rank = SIZE_MAX;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!endswith(de->d_name, ".yaml"))
                        continue;
                _cleanup_free_ char *text = NULL;
                if (read_file_at(dfd, de->d_name, RESOLVE_BENEATH, OCI_REGISTRIES_D_FILE_MAX, &text, NULL) < 0)
                        continue;
                enum { NONE, DEFAULT, DOCKER } section = NONE;
                size_t rank = SIZE_MAX;
                for (char *line = text, *nl; line && *line; line = nl) {
                        nl = strchr(line, '\n');
                        if (nl)
                                *nl++ = 0;
                        size_t indent = strspn(line, " ");
                        const char *k = line + indent;
                        if (!*k || *k == '#')
                                continue;
                        if (indent == 0) {
                                section = startswith(k, "default-docker:") ? DEFAULT
                                          : startswith(k, "docker:")       ? DOCKER
                                                                           : NONE;
                                rank = SIZE_MAX;
                                continue;
                        }
                        if (section == DOCKER && indent == 2) {
                                _cleanup_free_ char *scope = yaml_value(k);
                                char *colon = scope ? strrchr(scope, ':') : NULL;
                                rank = SIZE_MAX;
                                if (colon && !colon[1]) {
                                        *colon = 0;
                                        _cleanup_free_ char *s = yaml_value(scope);
                                        for (size_t i = 0; s && scopes[i]; i++)
                                                if (streq(scopes[i], s))
                                                        rank = i;
                                }
                                continue;
                        }
                        const char *v = NULL;
                        for (size_t i = 0; keys[i] && !v; i++)
                                if (startswith(k, keys[i]))
                                        v = k + strlen(keys[i]);
                        if (!v)
                                continue;
                        if (section == DEFAULT && !fallback)
                                fallback = yaml_value(v);
                        else if (section == DOCKER && rank < best_rank) {
                                free(best);
                                best = yaml_value(v);
                                best_rank = rank;
                        }
                }
        }
        char *url = best ? TAKE_PTR(best) : TAKE_PTR(fallback);
        if (!url || !*url) {
                free(url);
                return diag_fail(diag, -ENOENT, NULL, "no lookaside store configured for %s (%s)", ref->registry, dir);
        }
        while (endswith(url, "/") && strlen(url) > 1)
                url[strlen(url) - 1] = 0;
        if (!pull_url_is_http(url) && !startswith(url, "file:///")) {
                free(url);
                return diag_fail(diag, -EPROTONOSUPPORT, NULL, "lookaside store is not an http, https or file URL");
        }
        *ret = url;
        return 0;
}

int oci_lookaside_url(const OciRef *ref, char **ret, Diag *diag) {
        static const char *const keys[] = {"lookaside:", "sigstore:", NULL};
        return lookaside_url(ref, keys, ret, diag);
}

int oci_lookaside_staging_dir(const OciRef *ref, char **ret, Diag *diag) {
        static const char *const staging[] = {"lookaside-staging:", "sigstore-staging:", NULL};
        _cleanup_free_ char *url = NULL;
        Diag quiet = DIAG_INIT;
        int r = lookaside_url(ref, staging, &url, &quiet);
        diag_done(&quiet);
        if (r == -ENOENT)
                r = oci_lookaside_url(ref, &url, diag);
        if (r < 0)
                return r;
        if (!startswith(url, "file:///"))
                return diag_fail(diag, -EPROTONOSUPPORT, NULL,
                        "the lookaside store to write signatures to is not a file: URL (%s; set lookaside-staging)",
                        url);
        char *path = strdup(url + strlen("file://"));
        if (!path)
                return -ENOMEM;
        *ret = path;
        return 0;
}

static bool identity_matches(const OciRequirement *req, const OciRef *ref, const char *signed_ref) {
        OciRef s = {};
        if (oci_ref_parse(signed_ref, &s, NULL) < 0)
                return false;
        bool same_repo = streq(s.registry, ref->registry) && streq(s.repository, ref->repository);
        bool m;
        switch (req->identity) {
        case OCI_IDENTITY_REPOSITORY:
                m = same_repo;
                break;
        case OCI_IDENTITY_EXACT:
                m = same_repo && ref->tag && s.tag && !s.digest && streq(s.tag, ref->tag);
                break;
        case OCI_IDENTITY_REPO_DIGEST_OR_EXACT:
        default:
                m = same_repo && (ref->digest ? true : (ref->tag && s.tag && streq(s.tag, ref->tag)));
                break;
        }
        oci_ref_done(&s);
        return m;
}

/* A simple-signing payload (NUL-terminated): of type want_type, for digest (or alt_digest), naming
 * this image under an identity the requirement accepts; else < 0 with the reason in diag. */
static int check_payload(const OciRequirement *req, const OciRef *ref, const char *want_type, const char *digest,
        const char *alt_digest, const char *payload, Diag *diag) {
        _cleanup_json_ json_object *j = json_tokener_parse(payload);
        json_object *crit, *v, *img, *id;
        const char *type = NULL, *md = NULL, *dref = NULL;
        if (j && json_object_object_get_ex(j, "critical", &crit)) {
                if (json_object_object_get_ex(crit, "type", &v) && json_object_is_type(v, json_type_string))
                        type = json_object_get_string(v);
                if (json_object_object_get_ex(crit, "image", &img) &&
                        json_object_object_get_ex(img, "docker-manifest-digest", &v) &&
                        json_object_is_type(v, json_type_string))
                        md = json_object_get_string(v);
                if (json_object_object_get_ex(crit, "identity", &id) &&
                        json_object_object_get_ex(id, "docker-reference", &v) &&
                        json_object_is_type(v, json_type_string))
                        dref = json_object_get_string(v);
        }
        if (!type || !streq(type, want_type) || !md || !dref)
                return diag_fail(diag, -EBADMSG, NULL, "signature payload is not a container signature");
        if (!streq(md, digest) && !(alt_digest && streq(md, alt_digest)))
                return diag_fail(diag, -EBADMSG, NULL, "signature is for another manifest (%s)",
                        oci_digest_is_valid(md) ? md : "?");
        if (!identity_matches(req, ref, dref)) {
                _cleanup_free_ char *p = printable(dref, 200);
                return diag_fail(diag, -EBADMSG, NULL, "signature names another image (%s)", p ?: "?");
        }
        return 0;
}

/* One signature: 0 and the fingerprint when a keyring's key made it and its payload claims this
 * image under an identity the requirement accepts; else < 0 with the reason in diag. */
static int check_one(const OciRequirement *req, const OciRef *ref, const char *digest, const char *alt_digest,
        const char *sig, size_t size, char **ret_fpr, Diag *diag) {
        int r = -EBADMSG;
        for (char **k = req->keyrings; k && *k; k++) {
                _cleanup_free_ char *payload = NULL, *fpr = NULL;
                size_t psize;
                diag_clear_failure(diag);
                r = gpg_verify_clearsigned(*k, sig, size, &payload, &psize, &fpr, diag);
                if (r < 0)
                        continue;
                if ((r = check_payload(req, ref, "atomic container signature", digest, alt_digest, payload, diag)) < 0)
                        return r;
                *ret_fpr = TAKE_PTR(fpr);
                return 0;
        }
        return r;
}

/* One payload layer of a sigstore signature manifest: 0 and the key's fingerprint when one of
 * req's keys signed the payload blob and the payload claims this image. */
static int check_sigstore_layer(OciRegistry *reg, const OciRequirement *req, const OciRef *ref, json_object *layer,
        const char *digest, const char *alt_digest, char **ret_fpr, Diag *diag) {
        json_object *v, *ann;
        const char *mt = json_object_object_get_ex(layer, "mediaType", &v) && json_object_is_type(v, json_type_string)
                                 ? json_object_get_string(v)
                                 : "";
        if (!streq(mt, "application/vnd.dev.cosign.simplesigning.v1+json"))
                return diag_fail(diag, -EBADMSG, NULL, "signature layer is not a simple-signing payload");
        const char *ldigest =
                json_object_object_get_ex(layer, "digest", &v) && json_object_is_type(v, json_type_string)
                        ? json_object_get_string(v)
                        : NULL;
        int64_t size = json_object_object_get_ex(layer, "size", &v) && json_object_is_type(v, json_type_int)
                               ? json_object_get_int64(v)
                               : -1;
        const char *b64 = json_object_object_get_ex(layer, "annotations", &ann) &&
                                          json_object_object_get_ex(ann, "dev.cosignproject.cosign/signature", &v) &&
                                          json_object_is_type(v, json_type_string)
                                  ? json_object_get_string(v)
                                  : NULL;
        if (!ldigest || !oci_digest_is_valid(ldigest) || size < 0)
                return diag_fail(diag, -EBADMSG, NULL, "signature layer without a valid digest and size");
        if (size > (int64_t) OCI_SIGSTORE_PAYLOAD_MAX)
                return diag_fail(
                        diag, -EFBIG, ldigest, "signature payload larger than %u bytes", OCI_SIGSTORE_PAYLOAD_MAX);
        size_t n = b64 ? strlen(b64) : 0;
        if (n == 0 || n % 4 != 0 || n > OCI_SIGSTORE_SIG_B64_MAX)
                return diag_fail(diag, -EBADMSG, ldigest, "signature annotation missing or not base64");
        uint8_t sig[OCI_SIGSTORE_SIG_B64_MAX / 4 * 3];
        ssize_t k = base64_decode_block(b64, n, sig);
        if (k < 0)
                return diag_fail(diag, -EBADMSG, ldigest, "signature annotation is not base64");
        k -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
        _cleanup_free_ char *payload = NULL;
        size_t psize = 0;
        int r = oci_registry_get_blob_memory(
                reg, ldigest, (uint64_t) size, OCI_SIGSTORE_PAYLOAD_MAX, &payload, &psize, diag);
        if (r < 0)
                return r;
        if (memchr(payload, 0, psize))
                return diag_fail(diag, -EBADMSG, ldigest, "signature payload is not JSON");
        r = -EKEYREJECTED;
        const char *key = NULL;
        for (char **kp = req->keys; kp && *kp && r < 0; kp++) {
                r = signature_verify(*kp, strlen(*kp), payload, psize, sig, (size_t) k);
                if (r == -EBADMSG || r == -EOPNOTSUPP)
                        return diag_fail(diag, r, NULL, "policy: a sigstoreSigned key is not a usable public key");
                key = *kp;
        }
        if (r < 0)
                return diag_fail(diag, r, NULL, "signature not made by a key of the policy");
        if ((r = check_payload(req, ref, "cosign container image signature", digest, alt_digest, payload, diag)) < 0)
                return r;
        uint8_t fpr[32];
        if ((r = public_key_fingerprint(key, strlen(key), fpr)) < 0)
                return r;
        char *hex = hexmem(fpr, sizeof(fpr));
        if (!hex)
                return -ENOMEM;
        *ret_fpr = hex;
        return 0;
}

int oci_verify_sigstore(OciRegistry *reg, const OciRequirement *req, const OciRef *ref, const char *manifest_digest,
        const char *index_digest, char **ret_fingerprint, Diag *diag) {
        /* As with simple signing: skopeo signs the digest it copied, an index or a manifest. */
        const char *digests[] = {index_digest ?: manifest_digest, index_digest ? manifest_digest : NULL};
        unsigned n_checked = 0;
        _cleanup_free_ char *last = NULL;
        for (size_t d = 0; d < ELEMENTSOF(digests) && digests[d]; d++) {
                char tag[32 + OCI_DIGEST_HEX];
                snprintf(tag, sizeof(tag), "sha256-%s.sig", digests[d] + strlen("sha256:"));
                _cleanup_free_ char *body = NULL, *mt = NULL, *sdigest = NULL;
                _cleanup_diag_ Diag md = DIAG_INIT;
                int r = oci_registry_get_manifest(reg, tag, &body, NULL, &mt, &sdigest, &md);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        diag_fail(diag, r, tag, "signature manifest: %s", diag_message(&md) ?: strerror(-r));
                        return r;
                }
                _cleanup_json_ json_object *j = json_tokener_parse(body);
                json_object *layers;
                if (!j || !json_object_object_get_ex(j, "layers", &layers) ||
                        !json_object_is_type(layers, json_type_array))
                        return diag_fail(diag, -EBADMSG, tag, "signature manifest without layers");
                size_t n = json_object_array_length(layers);
                for (size_t i = 0; i < n && i < OCI_SIGSTORE_LAYERS_MAX; i++) {
                        n_checked++;
                        _cleanup_diag_ Diag one = DIAG_INIT;
                        _cleanup_free_ char *fpr = NULL;
                        r = check_sigstore_layer(reg, req, ref, json_object_array_get_idx(layers, i), manifest_digest,
                                index_digest, &fpr, &one);
                        if (r == -ENOMEM || r == -EINTR)
                                return r;
                        if (r >= 0) {
                                *ret_fingerprint = TAKE_PTR(fpr);
                                return 0;
                        }
                        free(last);
                        last = diag_message(&one) ? strdup(diag_message(&one)) : NULL;
                }
        }
        if (n_checked == 0)
                return diag_fail(diag, -ENOKEY, NULL,
                        "the image is not signed (no sigstore signature sha256-%.12s….sig in %s)",
                        digests[0] + strlen("sha256:"), ref->repository);
        return diag_fail(diag, -EKEYREJECTED, NULL, "no valid signature by a trusted key (%u checked; last: %s)",
                n_checked, last ?: "invalid");
}

int oci_verify_signatures(const OciRequirement *req, const OciRef *ref, const char *manifest_digest,
        const char *index_digest, char **ret_fingerprint, Diag *diag) {
        _cleanup_free_ char *base = NULL;
        int r = oci_lookaside_url(ref, &base, diag);
        if (r < 0)
                return r;
        /* Both the digest the reference resolved to (an index) and the image manifest's are
         * accepted: skopeo signs what it copied. */
        const char *digests[] = {index_digest ?: manifest_digest, index_digest ? manifest_digest : NULL};
        unsigned n_checked = 0;
        _cleanup_free_ char *last = NULL;
        for (size_t d = 0; d < ELEMENTSOF(digests) && digests[d]; d++) {
                char name[32 + OCI_DIGEST_HEX];
                snprintf(name, sizeof(name), "sha256=%s", digests[d] + strlen("sha256:"));
                for (unsigned i = 1; i <= OCI_SIGNATURES_MAX; i++) {
                        char n[32];
                        snprintf(n, sizeof(n), "/signature-%u", i);
                        _cleanup_free_ char *url = strjoin(base, "/", ref->repository, "@", name, n);
                        if (!url)
                                return -ENOMEM;
                        char *sig = NULL;
                        size_t size = 0;
                        PullResponse resp = {};
                        r = pull_curl_fetch_memory(url, OCI_SIGNATURE_MAX, &sig, &size, &resp);
                        pull_response_done(&resp);
                        if (r == -ENOENT)
                                break;
                        if (r < 0)
                                return diag_fail(diag, r, url, r == -EFBIG ? "signature larger than %u bytes" : NULL,
                                        OCI_SIGNATURE_MAX);
                        n_checked++;
                        _cleanup_diag_ Diag one = DIAG_INIT;
                        _cleanup_free_ char *fpr = NULL;
                        r = check_one(req, ref, manifest_digest, index_digest, sig, size, &fpr, &one);
                        free(sig);
                        if (r >= 0) {
                                *ret_fingerprint = TAKE_PTR(fpr);
                                return 0;
                        }
                        free(last);
                        last = diag_message(&one) ? strdup(diag_message(&one)) : NULL;
                }
        }
        if (n_checked == 0)
                return diag_fail(
                        diag, -ENOKEY, NULL, "the image is not signed (no signature in the lookaside store %s)", base);
        return diag_fail(diag, -EKEYREJECTED, NULL, "no valid signature by a trusted key (%u checked; last: %s)",
                n_checked, last ?: "invalid");
}
