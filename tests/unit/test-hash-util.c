/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hash-util.h: digests against the FIPS 180 test vectors, streaming in pieces, reuse of a context
 * after final (as the verity tree reuses one per thread), and the base64 blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "hash-util.h"
#include "util.h"

static const struct {
        HashAlgorithm a;
        const char *abc; /* digest of "abc" */
        const char *empty;
} vectors[] = {
        {HASH_SHA1, "a9993e364706816aba3e25717850c26c9cd0d89d", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {HASH_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {HASH_SHA512,
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
                "454d4423643ce80e2a9ac94fa54ca49f",
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f"
                "63b931bd47417a81a538327af927da3e"},
};

static char *hex_of(HashAlgorithm a, const uint8_t *d) {
        char *h = hexmem(d, hash_digest_size(a));
        assert_non_null(h);
        return h;
}

static void test_sizes(void **state) {
        assert_int_equal(hash_digest_size(HASH_SHA1), 20);
        assert_int_equal(hash_digest_size(HASH_SHA256), 32);
        assert_int_equal(hash_digest_size(HASH_SHA512), 64);
        assert_int_equal(hash_digest_size(_HASH_ALGORITHM_MAX), 0);
        assert_int_equal(hash_digest_size(_HASH_ALGORITHM_INVALID), 0);
        assert_true(hash_digest_size(HASH_SHA512) <= HASH_DIGEST_SIZE_MAX);
        HashContext *c = NULL;
        assert_int_equal(hash_context_new(_HASH_ALGORITHM_MAX, &c), -EINVAL);
        assert_null(c);
        uint8_t d[HASH_DIGEST_SIZE_MAX];
        assert_int_equal(hash_digest(_HASH_ALGORITHM_INVALID, "abc", 3, d), -EINVAL);
}

static void test_one_shot(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                uint8_t d[HASH_DIGEST_SIZE_MAX];
                assert_int_equal(hash_digest(vectors[i].a, "abc", 3, d), 0);
                _cleanup_free_ char *h = hex_of(vectors[i].a, d);
                assert_string_equal(h, vectors[i].abc);
                assert_int_equal(hash_digest(vectors[i].a, "", 0, d), 0);
                _cleanup_free_ char *e = hex_of(vectors[i].a, d);
                assert_string_equal(e, vectors[i].empty);
        }
}

static void test_streaming_and_reuse(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(vectors); i++) {
                _cleanup_(hash_context_freep) HashContext *c = NULL;
                assert_int_equal(hash_context_new(vectors[i].a, &c), 0);
                assert_int_equal(hash_context_algorithm(c), vectors[i].a);
                uint8_t d[HASH_DIGEST_SIZE_MAX];
                /* In pieces, twice over the same context: final starts a new message. */
                for (int round = 0; round < 2; round++) {
                        assert_int_equal(hash_context_update(c, "a", 1), 0);
                        assert_int_equal(hash_context_update(c, "", 0), 0);
                        assert_int_equal(hash_context_update(c, "bc", 2), 0);
                        assert_int_equal(hash_context_final(c, d), 0);
                        _cleanup_free_ char *h = hex_of(vectors[i].a, d);
                        assert_string_equal(h, vectors[i].abc);
                }
                /* Nothing fed since the last final: the empty message. */
                assert_int_equal(hash_context_final(c, d), 0);
                _cleanup_free_ char *e = hex_of(vectors[i].a, d);
                assert_string_equal(e, vectors[i].empty);
        }
        /* A long message in odd pieces equals the one-shot digest. */
        static uint8_t buf[100000];
        for (size_t i = 0; i < sizeof(buf); i++)
                buf[i] = (uint8_t) (i * 7 + i / 251);
        _cleanup_(hash_context_freep) HashContext *c = NULL;
        assert_int_equal(hash_context_new(HASH_SHA256, &c), 0);
        for (size_t off = 0; off < sizeof(buf);) {
                size_t k = MIN(sizeof(buf) - off, (size_t) 4093);
                assert_int_equal(hash_context_update(c, buf + off, k), 0);
                off += k;
        }
        uint8_t a[HASH_DIGEST_SIZE_MAX], b[HASH_DIGEST_SIZE_MAX];
        assert_int_equal(hash_context_final(c, a), 0);
        assert_int_equal(hash_digest(HASH_SHA256, buf, sizeof(buf), b), 0);
        assert_memory_equal(a, b, 32);
        assert_null(hash_context_free(NULL));
}

static void test_base64(void **state) {
        static const struct {
                const char *plain, *b64;
        } v[] = {
                {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                {"foobar", "Zm9vYmFy"}, /* RFC 4648's */
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                char out[16];
                size_t n = strlen(v[i].plain);
                assert_int_equal(base64_encode_block(v[i].plain, n, out), strlen(v[i].b64));
                assert_string_equal(out, v[i].b64);
                uint8_t back[16];
                size_t m = strlen(v[i].b64);
                ssize_t k = base64_decode_block(v[i].b64, m, back);
                assert_int_equal(k, m / 4 * 3); /* padding counts as zero bytes */
                assert_memory_equal(back, v[i].plain, n);
        }
        uint8_t back[16];
        assert_int_equal(base64_decode_block("Zm9*", 4, back), -EBADMSG);
        assert_int_equal(base64_decode_block("Zm9", 3, back), -EBADMSG);
}

/* A P-256 key, a signature by it (openssl dgst -sha256 -sign, ASN.1 DER) and another key. */
static const char test_key[] = "-----BEGIN PUBLIC KEY-----\n"
                               "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfoMTcyKzl+F04w1QzT1bwf1AQ8UG\n"
                               "i1A4zAv77VW2bQghwCK2OEYsAGmt5YC8dQ7DkZ1kms8yEWiiT0xUzgXpbg==\n"
                               "-----END PUBLIC KEY-----\n";
static const char other_key[] = "-----BEGIN PUBLIC KEY-----\n"
                                "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvmjFBBJHazjW93yLY3pjOwI6Sulw\n"
                                "ItIKgCifdEYtry2VJQddG4CinZzShfTmkSpVm/v8JhmDmwIQnNRXkXY83Q==\n"
                                "-----END PUBLIC KEY-----\n";
static const char test_sig_b64[] =
        "MEUCIQDUnVpU9hL7xiqNkhM/QibG3jEziWScpHbWGiZOTh5BRAIgKdCV1sDpUHv2YkU7iTZqoyfOMkasJ9wSwfe6pJANbhw=";
static const char test_data[] = "cowpen sigstore payload";

static void test_signature_verify(void **state) {
        uint8_t sig[128];
        ssize_t n = base64_decode_block(test_sig_b64, strlen(test_sig_b64), sig);
        assert_true(n > 0);
        n -= 1; /* one "=" of padding */
        size_t d = strlen(test_data);
        assert_int_equal(signature_verify(test_key, strlen(test_key), test_data, d, sig, (size_t) n), 0);
        assert_int_equal(signature_verify(other_key, strlen(other_key), test_data, d, sig, (size_t) n), -EKEYREJECTED);
        assert_int_equal(
                signature_verify(test_key, strlen(test_key), test_data, d - 1, sig, (size_t) n), -EKEYREJECTED);
        sig[10] ^= 1;
        assert_int_equal(signature_verify(test_key, strlen(test_key), test_data, d, sig, (size_t) n), -EKEYREJECTED);
        assert_int_equal(signature_verify("not a key", 9, test_data, d, sig, (size_t) n), -EBADMSG);

        /* openssl ec -pubin -outform DER | sha256sum */
        static const uint8_t fpr[32] = {0xe7, 0xc9, 0xa8, 0x38, 0xe9, 0x37, 0x78, 0x6c, 0xa8, 0xc1, 0xb1, 0xe7, 0xd5,
                0x1f, 0xa1, 0x4b, 0x19, 0xf6, 0xa7, 0x2c, 0x67, 0x2f, 0x3b, 0x71, 0xff, 0x86, 0xf5, 0xd9, 0xa7, 0x5d,
                0x5e, 0xab};
        uint8_t got[32];
        assert_int_equal(public_key_fingerprint(test_key, strlen(test_key), got), 0);
        assert_memory_equal(got, fpr, 32);
        assert_int_equal(public_key_fingerprint("junk", 4, got), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sizes),
                cmocka_unit_test(test_one_shot),
                cmocka_unit_test(test_streaming_and_reuse),
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_signature_verify),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
