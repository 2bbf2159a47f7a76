/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hash-util.h"

struct HashContext {
        HashAlgorithm algorithm;
        const EVP_MD *md;
        EVP_MD_CTX *ctx;
};

static const EVP_MD *md_for(HashAlgorithm a) {
        switch (a) {
        case HASH_SHA1:
                return EVP_sha1();
        case HASH_SHA256:
                return EVP_sha256();
        case HASH_SHA512:
                return EVP_sha512();
        case _HASH_ALGORITHM_MAX:
        case _HASH_ALGORITHM_INVALID:
        default:
                return NULL;
        }
}

size_t hash_digest_size(HashAlgorithm a) {
        switch (a) {
        case HASH_SHA1:
                return 20;
        case HASH_SHA256:
                return 32;
        case HASH_SHA512:
                return 64;
        case _HASH_ALGORITHM_MAX:
        case _HASH_ALGORITHM_INVALID:
        default:
                return 0;
        }
}

int hash_context_new(HashAlgorithm a, HashContext **ret) {
        const EVP_MD *md = md_for(a);
        if (!md)
                return -EINVAL;
        HashContext *c = malloc(sizeof(HashContext));
        if (!c)
                return -ENOMEM;
        *c = (HashContext){.algorithm = a, .md = md, .ctx = EVP_MD_CTX_new()};
        if (!c->ctx || EVP_DigestInit_ex(c->ctx, md, NULL) != 1) {
                hash_context_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

HashContext *hash_context_free(HashContext *c) {
        if (!c)
                return NULL;
        EVP_MD_CTX_free(c->ctx);
        free(c);
        return NULL;
}

HashAlgorithm hash_context_algorithm(const HashContext *c) {
        return c->algorithm;
}

int hash_context_update(HashContext *c, const void *p, size_t n) {
        return EVP_DigestUpdate(c->ctx, p, n) == 1 ? 0 : -EIO;
}

int hash_context_final(HashContext *c, uint8_t *ret) {
        unsigned n;
        if (EVP_DigestFinal_ex(c->ctx, ret, &n) != 1)
                return -EIO;
        /* Ready for the next message: the same cost as the init each message needs anyway. */
        if (EVP_DigestInit_ex(c->ctx, c->md, NULL) != 1)
                return -EIO;
        return 0;
}

int hash_digest(HashAlgorithm a, const void *p, size_t n, uint8_t *ret) {
        const EVP_MD *md = md_for(a);
        if (!md)
                return -EINVAL;
        unsigned len;
        return EVP_Digest(p, n, ret, &len, md, NULL) == 1 ? 0 : -EIO;
}

size_t base64_encode_block(const void *p, size_t n, char *out) {
        if (n > (size_t) INT_MAX / 4 * 3) {
                out[0] = 0;
                return 0;
        }
        return (size_t) EVP_EncodeBlock((unsigned char *) out, p, (int) n);
}

ssize_t base64_decode_block(const char *s, size_t n, void *out) {
        if (n > INT_MAX)
                return -EBADMSG;
        int k = EVP_DecodeBlock(out, (const unsigned char *) s, (int) n);
        return k < 0 ? -EBADMSG : k;
}

static EVP_PKEY *pubkey_from_pem(const char *pem, size_t n) {
        if (n > INT_MAX)
                return NULL;
        BIO *b = BIO_new_mem_buf(pem, (int) n);
        if (!b)
                return NULL;
        EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        BIO_free(b);
        return k;
}

int public_key_fingerprint(const char *pem, size_t n, uint8_t ret[32]) {
        EVP_PKEY *k = pubkey_from_pem(pem, n);
        if (!k)
                return -EBADMSG;
        unsigned char *der = NULL;
        int len = i2d_PUBKEY(k, &der);
        EVP_PKEY_free(k);
        if (len <= 0)
                return -EBADMSG;
        int r = hash_digest(HASH_SHA256, der, (size_t) len, ret);
        OPENSSL_free(der);
        return r;
}

int signature_verify(const char *pem, size_t pem_size, const void *data, size_t n, const void *sig, size_t sig_size) {
        EVP_PKEY *k = pubkey_from_pem(pem, pem_size);
        if (!k)
                return -EBADMSG;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int r = -ENOMEM;
        if (ctx) {
                r = -EKEYREJECTED;
                /* SHA-256 (for ECDSA, RSA PKCS#1 v1.5); Ed25519 signs the message itself. */
                const EVP_MD *md = EVP_PKEY_get_id(k) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
                if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, k) != 1)
                        r = -EOPNOTSUPP;
                else if (EVP_DigestVerify(ctx, sig, sig_size, data, n) == 1)
                        r = 0;
        }
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(k);
        return r;
}
