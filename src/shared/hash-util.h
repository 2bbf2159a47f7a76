/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Message digests (SHA-1, SHA-256, SHA-512) and base64 blocks: the one wrapper of OpenSSL's EVP
 * layer (hash-util.c is the one file that includes openssl/evp.h), and the check of a signature by
 * a PEM public key (sigstore key signatures). Signature code keeps its own
 * PKCS#7/X.509 headers; every digest of the tree goes through here.
 *
 * A HashContext is made once and reused: hash_context_final() leaves it ready for the next
 * message, so a loop over millions of blocks (the verity tree) allocates nothing per block. */

#include <sys/types.h>

#include "macro.h"

typedef enum HashAlgorithm {
        HASH_SHA1,
        HASH_SHA256,
        HASH_SHA512,
        _HASH_ALGORITHM_MAX,
        _HASH_ALGORITHM_INVALID = -EINVAL,
} HashAlgorithm;

#define HASH_DIGEST_SIZE_MAX 64U /* SHA-512 */

/* Bytes of a digest, 0 for an invalid algorithm. */
size_t hash_digest_size(HashAlgorithm a);

typedef struct HashContext HashContext;

/* -EINVAL for an invalid algorithm, -ENOMEM. */
int hash_context_new(HashAlgorithm a, HashContext **ret);
HashContext *hash_context_free(HashContext *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(HashContext *, hash_context_free);
HashAlgorithm hash_context_algorithm(const HashContext *c);
int hash_context_update(HashContext *c, const void *p, size_t n);
/* Writes the digest (hash_digest_size() bytes) of what was fed since the last final (or since
 * new), and starts over. -EIO when OpenSSL fails. */
int hash_context_final(HashContext *c, uint8_t *ret);

/* One-shot: the digest of n bytes at p into ret (hash_digest_size() bytes). */
int hash_digest(HashAlgorithm a, const void *p, size_t n, uint8_t *ret);

/* Base64 (RFC 4648, with padding, no line breaks), as OpenSSL's EVP_EncodeBlock/DecodeBlock.
 * base64_encode_block() writes 4 * ceil(n / 3) characters and a NUL into out (which holds that
 * many) and returns the characters written. base64_decode_block() decodes n characters (a
 * multiple of 4) into out, which holds 3 * n / 4 bytes, counting padding as zero bytes (the
 * caller subtracts them); returns that count, or -EBADMSG for characters that are not base64. */
size_t base64_encode_block(const void *p, size_t n, char *out);
ssize_t base64_decode_block(const char *s, size_t n, void *out);

/* Public-key signatures (sigstore/cosign key signatures). pem is a PEM "PUBLIC KEY" (PKIX
 * SubjectPublicKeyInfo) of pem_size bytes. public_key_fingerprint() writes the SHA-256 of its
 * DER encoding. signature_verify() checks sig (ECDSA as ASN.1 DER, RSA PKCS#1 v1.5, both over
 * SHA-256; or Ed25519) over the n bytes at data: 0 when it holds, -EKEYREJECTED when it does not,
 * -EBADMSG for a key that does not parse, -EOPNOTSUPP for a key type OpenSSL cannot verify with. */
int public_key_fingerprint(const char *pem, size_t pem_size, uint8_t ret[32]);
int signature_verify(const char *pem, size_t pem_size, const void *data, size_t n, const void *sig, size_t sig_size);
