/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Signatures of OCI images (oci-verify.c): containers' "simple signing" (GPG, as skopeo 1.9
 * --sign-by makes them) in a lookaside store, and the subset of containers-policy.json(5) that
 * decides what a pull needs: transports.docker scopes (HOST/REPO:TAG, HOST/REPO, its parent
 * namespaces, HOST, ""), then "default"; requirements insecureAcceptAnything, reject, signedBy
 * (keyType GPGKeys with keyPath or keyPaths) and sigstoreSigned (keyPath, keyPaths or keyData: a
 * PEM public key; no Fulcio, no Rekor), both with signedIdentity matchRepoDigestOrExact
 * (default), matchExact, matchRepository. The lookaside URL comes from registries.d
 * ($COWPEN_REGISTRIES_D or /etc/containers/registries.d/ *.yaml: "lookaside:" or "sigstore:" of
 * the most specific docker: scope, else of default-docker:). */

#include "diag.h"
#include "oci-registry.h"

typedef enum OciRequirementType {
        OCI_REQUIRE_ANYTHING,
        OCI_REQUIRE_SIGNED,
        OCI_REQUIRE_REJECT,
        OCI_REQUIRE_SIGSTORE,
} OciRequirementType;

typedef enum OciIdentity {
        OCI_IDENTITY_REPO_DIGEST_OR_EXACT,
        OCI_IDENTITY_EXACT,
        OCI_IDENTITY_REPOSITORY,
} OciIdentity;

typedef struct OciRequirement {
        OciRequirementType type;
        char **keyrings; /* signedBy: keyPath(s), each a keyring gpgv reads */
        char **keys;     /* sigstoreSigned: the public keys (PEM text) of keyPath(s) or keyData */
        OciIdentity identity;
        char *scope; /* the policy scope that applied ("default" for the default) */
} OciRequirement;
void oci_requirement_done(OciRequirement *r);

/* What policy (NULL: /etc/containers/policy.json, which may be missing) requires of ref: 1 with
 * *ret filled, 0 when there is no policy file, < 0 with diag for a file that cannot be used. */
int oci_policy_requirement(const char *policy, const OciRef *ref, OciRequirement *ret, Diag *diag);
/* The lookaside store's base URL for ref. */
int oci_lookaside_url(const OciRef *ref, char **ret, Diag *diag);
/* The directory signatures for ref are written to (push-oci --sign-by): "lookaside-staging:" (or
 * "sigstore-staging:"), else "lookaside:" ("sigstore:"), which must be a file: URL. */
int oci_lookaside_staging_dir(const OciRef *ref, char **ret, Diag *diag);
/* Fetches BASE/REPO@sha256=HEX/signature-N (REPO: the repository path without the registry, as
 * containers/image names it) (N = 1…) for the manifest digest (and an index
 * digest), and succeeds with the fingerprint of the first signature that gpgv accepts with one of
 * req's keyrings and whose payload names this image and digest. -ENOKEY when there are none,
 * -EKEYREJECTED when none holds. */
int oci_verify_signatures(const OciRequirement *req, const OciRef *ref, const char *manifest_digest,
        const char *index_digest, char **ret_fingerprint, Diag *diag);
/* sigstoreSigned: fetches the signature manifest tagged sha256-HEX.sig in ref's repository (for
 * the manifest digest, then an index digest) from reg, and succeeds with the SHA-256 fingerprint
 * (hex, of the DER public key) of the first key that signed one of its simple-signing payload
 * layers whose payload names this image and digest. -ENOKEY when there is no signature,
 * -EKEYREJECTED when none holds. */
int oci_verify_sigstore(OciRegistry *reg, const OciRequirement *req, const OciRef *ref, const char *manifest_digest,
        const char *index_digest, char **ret_fingerprint, Diag *diag);
