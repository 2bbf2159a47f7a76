/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The OCI Distribution Spec client (oci-registry.c), over the libcurl wrapper pull-curl.c:
 * references, the /v2/ probe, Bearer token and Basic authentication, manifests and blobs with
 * every digest checked while the bytes arrive, and resumable blob downloads. Everything a
 * registry sends is untrusted: sizes have named limits and digests are checked by us. Meant for
 * pulls now and pushes later (the request and authentication code is not pull-specific). */

#include "diag.h"
#include "macro.h"

/* Named limits on what a reference, a registry or a credentials file can make us hold. */
#define OCI_REF_MAX 1024U                   /* bytes of a reference */
#define OCI_REPO_MAX 255U                   /* bytes of a repository path */
#define OCI_TAG_MAX 128U                    /* bytes of a tag (as the distribution spec says) */
#define OCI_MANIFEST_MAX (4U * 1024 * 1024) /* an image index or manifest */
#define OCI_CONFIG_MAX (8U * 1024 * 1024)   /* an image config */
#define OCI_TOKEN_MAX (64U * 1024)          /* a token server's answer */
#define OCI_AUTH_FILE_MAX (1024U * 1024)    /* auth.json / config.json */
#define OCI_CA_MAX (8U * 1024 * 1024)       /* CA certificates read in all (system bundle and certs.d) */
#define OCI_DIGEST_HEX 64U                  /* sha256 */

typedef struct OciRef {
        char *registry;   /* host[:port] as written ("docker.io" for short names) */
        char *repository; /* "library/debian" */
        char *tag;        /* NULL when only a digest was given */
        char *digest;     /* "sha256:…", or NULL */
} OciRef;

/* Parses registry/repo[:tag][@sha256:…], with docker.io's short names ("debian" →
 * docker.io/library/debian:latest) as containers' tools normalise them. -EINVAL with the cause in
 * diag for anything else. */
int oci_ref_parse(const char *s, OciRef *ret, Diag *diag);
void oci_ref_done(OciRef *r);
/* "registry/repository:tag" or "…@digest" (both when both were given). */
char *oci_ref_to_string(const OciRef *r);

/* Whether s is "sha256:" and 64 lower-case hex digits (the only digest accepted). */
bool oci_digest_is_valid(const char *s);
/* The OCI image spec's ChainID of a layer, as hex: of the first its diff_id's hex, of a later one
 * sha256("sha256:" PARENT_HEX " " DIFF_ID). Both the pull (the store's chain trees) and the push
 * (the base chain of a pulled image) name layers so. */
int oci_chain_id(const char *parent_hex, const char *diff_id, char **ret);

typedef struct OciRegistryOptions {
        bool tls_verify;         /* false: no certificate check, and plain HTTP allowed */
        const char *credentials; /* auth.json-style file; NULL: $XDG_RUNTIME_DIR/containers/auth.json,
                                    ~/.docker/config.json */
        unsigned retries;        /* attempts on transient errors; 0 = PULL_RETRIES_DEFAULT */
        unsigned backoff_ms;     /* 0 = PULL_BACKOFF_MS_DEFAULT */
        bool push;               /* Bearer tokens are asked for with scope pull,push */
} OciRegistryOptions;

typedef struct OciRegistry OciRegistry;

/* Prepares a client for ref's registry (credentials, CA certificates from the system store and
 * $COWPEN_CERTS_D or /etc/containers/certs.d/HOST[:PORT]/ *.crt) and probes GET /v2/. */
int oci_registry_new(const OciRef *ref, const OciRegistryOptions *o, OciRegistry **ret, Diag *diag);
OciRegistry *oci_registry_free(OciRegistry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(OciRegistry *, oci_registry_free);
/* The base URL in use ("https://host:port"). */
const char *oci_registry_base(OciRegistry *r);

/* Fetches manifest reference (a tag or a digest) with the OCI and Docker v2 Accept types, at most
 * OCI_MANIFEST_MAX bytes. *ret_digest is the sha256 of the body as we computed it; when reference
 * is a digest it must match (-EBADMSG otherwise). *ret_media_type from the body's mediaType or
 * else the Content-Type header. */
int oci_registry_get_manifest(OciRegistry *r, const char *reference, char **ret_body, size_t *ret_size,
        char **ret_media_type, char **ret_digest, Diag *diag);
/* Fetches a small blob (a config) into memory, checking size and digest. */
int oci_registry_get_blob_memory(
        OciRegistry *r, const char *digest, uint64_t size, size_t max, char **ret, size_t *ret_size, Diag *diag);

/* Downloads blob digest of size bytes into dir_fd/partial_name, resuming what is there with a
 * Range request (and re-checking it: the whole file is hashed), retrying transient failures
 * from where they broke off. On success the file holds exactly the verified blob. On a digest or
 * size mismatch the file is removed (-EBADMSG); on other failures it is kept for a resume. Thread
 * safe for different partial files. */
typedef struct OciBlobProgress {
        /* Bytes of the blob we have; returning < 0 aborts the download with that error. */
        int (*func)(uint64_t done, void *userdata);
        void *userdata;
} OciBlobProgress;
int oci_registry_get_blob_file(OciRegistry *r, const char *digest, uint64_t size, int dir_fd, const char *partial_name,
        const OciBlobProgress *p, bool *ret_resumed, uint64_t *ret_fetched, Diag *diag);

/* ---- pushing ---- */

#define OCI_UPLOAD_CHUNK_DEFAULT (16U * 1024 * 1024) /* bytes of one PATCH */
#define OCI_LOCATION_MAX 4096U                        /* bytes of an upload's Location */

/* HEAD /v2/REPO/blobs/DIGEST: 1 when the registry has the blob (of that size, when it says one),
 * 0 when not. */
int oci_registry_blob_exists(OciRegistry *r, const char *digest, uint64_t size, Diag *diag);
/* POST …/blobs/uploads/?mount=DIGEST&from=FROM: 1 when the registry mounted the blob from
 * repository from, 0 when it did not (it does not offer mounts, or lacks it there). */
int oci_registry_blob_mount(OciRegistry *r, const char *digest, const char *from, Diag *diag);

typedef struct OciUploadStats {
        uint64_t sent;  /* body bytes sent (with resends after an interruption) */
        bool resumed;   /* an interrupted upload was continued where the registry's Range said */
        bool restarted; /* the registry had lost the interrupted upload: it was sent again from the start */
} OciUploadStats;
/* Uploads size bytes of fd (from offset 0) as blob digest: POST, then PATCH chunks of chunk
 * bytes (0 = OCI_UPLOAD_CHUNK_DEFAULT) with Content-Range; a chunk cut off is followed by a GET of
 * the upload's status and the upload goes on from the Range the registry has (or, when the
 * registry no longer knows the upload, a new one starts from the beginning); PUT ?digest= closes
 * it. p (may be NULL) is told of the bytes the registry has. */
int oci_registry_put_blob_file(OciRegistry *r, const char *digest, int fd, uint64_t size, uint64_t chunk,
        const OciBlobProgress *p, OciUploadStats *ret_stats, Diag *diag);
/* PUT /v2/REPO/manifests/REFERENCE of body with that media type; the registry's
 * Docker-Content-Digest, when it sends one, must be body's sha256. */
int oci_registry_put_manifest(
        OciRegistry *r, const char *reference, const char *media_type, const char *body, size_t size, Diag *diag);
/* The repository this client speaks to. */
const char *oci_registry_repository(OciRegistry *r);
