/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* compress-decode.c: every decoder library loads (dlopen()), magic detection, every decoder on real
 * streams (also concatenated ones and several xz blocks with the multithreaded decoder), truncation
 * (-EPIPE) and corruption (-EBADMSG); and import-source.c's ring delivering the same bytes from a
 * pipe. */
#include <bzlib.h>
#include <endian.h>
#include <lzma.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <cmocka.h>

#include "compress.h"
#include "fd-util.h"
#include "import-source.h"
#include "util.h"

#define PLAIN_SIZE (3 * 1024 * 1024 + 17)
static uint8_t *plain;

static int setup(void **state) {
        plain = malloc(PLAIN_SIZE);
        assert_non_null(plain);
        /* Compressible but not trivial. */
        uint32_t x = 12345;
        for (size_t i = 0; i < PLAIN_SIZE; i++) {
                x = x * 1103515245 + 12345;
                plain[i] = (i % 4096) < 2048 ? (uint8_t) (x >> 24) : (uint8_t) (i / 4096);
        }
        return 0;
}

static int teardown(void **state) {
        free(plain);
        return 0;
}

static uint8_t *encode(CompressType t, const uint8_t *in, size_t n, size_t *ret_n) {
        size_t cap = n + n / 2 + 65536;
        uint8_t *out = malloc(cap);
        assert_non_null(out);
        switch (t) {
        case COMPRESS_GZIP: {
                z_stream z = {};
                assert_int_equal(deflateInit2(&z, 1, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
                z.next_in = (Bytef *) in;
                z.avail_in = (uInt) n;
                z.next_out = out;
                z.avail_out = (uInt) cap;
                assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
                *ret_n = z.total_out;
                deflateEnd(&z);
                break;
        }
        case COMPRESS_XZ: {
                /* Blocks of 512 KiB, so the multithreaded decoder has blocks to spread. */
                lzma_mt mt = { .threads = 2, .block_size = 512 * 1024, .preset = 1, .check = LZMA_CHECK_CRC64 };
                lzma_stream s = LZMA_STREAM_INIT;
                assert_int_equal(lzma_stream_encoder_mt(&s, &mt), LZMA_OK);
                s.next_in = in;
                s.avail_in = n;
                s.next_out = out;
                s.avail_out = cap;
                lzma_ret r;
                while ((r = lzma_code(&s, LZMA_FINISH)) == LZMA_OK)
                        ;
                assert_int_equal(r, LZMA_STREAM_END);
                *ret_n = s.total_out;
                lzma_end(&s);
                break;
        }
        case COMPRESS_BZIP2: {
                unsigned int l = (unsigned int) cap;
                assert_int_equal(BZ2_bzBuffToBuffCompress((char *) out, &l, (char *) in, (unsigned) n, 1, 0, 0), BZ_OK);
                *ret_n = l;
                break;
        }
        case COMPRESS_ZSTD: {
                size_t l = ZSTD_compress(out, cap, in, n, 1);
                assert_false(ZSTD_isError(l));
                *ret_n = l;
                break;
        }
        case COMPRESS_NONE:
        case _COMPRESS_TYPE_MAX:
        case _COMPRESS_TYPE_INVALID:
                memcpy(out, in, n);
                *ret_n = n;
        }
        return out;
}

/* Decodes in odd-sized input chunks and small output buffers; returns 0 or the error. */
static int decode_all(CompressType t, unsigned threads, const uint8_t *in, size_t n, uint8_t **ret, size_t *ret_n) {
        Decompressor *d = NULL;
        int r = decompressor_new(t, threads, &d);
        if (r < 0)
                return r;
        size_t cap = PLAIN_SIZE * 2 + 4096, o = 0, pos = 0;
        uint8_t *out = malloc(cap);
        assert_non_null(out);
        bool end = false;
        while (!end) {
                size_t chunk = MIN(n - pos, (size_t) 7777);
                const uint8_t *p = in + pos;
                size_t left = chunk;
                bool finish = pos + chunk == n;
                do {
                        ssize_t k = decompressor_step(d, &p, &left, finish, out + o, MIN(cap - o, (size_t) 65536), &end);
                        if (k < 0) {
                                decompressor_free(d);
                                free(out);
                                return (int) k;
                        }
                        o += (size_t) k;
                        if (k == 0 && left == 0 && !finish)
                                break;
                        assert_true(o < cap);
                } while (!end && (left > 0 || finish));
                pos += chunk - left;
        }
        decompressor_free(d);
        *ret = out;
        *ret_n = o;
        return 0;
}

static void test_detect(void **state) {
        assert_int_equal(compress_detect("\xFD" "7zXZ\0rest", 9), COMPRESS_XZ);
        assert_int_equal(compress_detect("\x28\xB5\x2F\xFD", 4), COMPRESS_ZSTD);
        assert_int_equal(compress_detect("\x1F\x8B\x08\x00", 4), COMPRESS_GZIP);
        assert_int_equal(compress_detect("BZh9", 4), COMPRESS_BZIP2);
        assert_int_equal(compress_detect("BZhX", 4), COMPRESS_NONE);
        assert_int_equal(compress_detect("ustar", 5), COMPRESS_NONE);
        assert_int_equal(compress_detect("\xFD" "7z", 3), COMPRESS_NONE); /* too short */
        CompressType t;
        assert_int_equal(compress_type_from_filename("a.tar.xz", &t), 0);
        assert_int_equal(t, COMPRESS_XZ);
        assert_int_equal(compress_type_from_filename("a.tgz", &t), 0);
        assert_int_equal(t, COMPRESS_GZIP);
        assert_int_equal(compress_type_from_filename("a.tar.zst", &t), 0);
        assert_int_equal(t, COMPRESS_ZSTD);
        assert_int_equal(compress_type_from_filename("a.tar", &t), 0);
        assert_int_equal(t, COMPRESS_NONE);
        assert_int_equal(compress_type_from_filename("a.zip", &t), -ENOENT);
        assert_int_equal(compress_type_from_string("uncompressed"), COMPRESS_NONE);
        assert_int_equal(compress_type_from_string("lz4"), -EINVAL);
}

static void roundtrip(CompressType t, unsigned threads) {
        size_t n, m;
        uint8_t *enc = encode(t, plain, PLAIN_SIZE, &n), *dec = NULL;
        assert_int_equal(compress_detect(enc, n), t);
        assert_int_equal(decode_all(t, threads, enc, n, &dec, &m), 0);
        assert_int_equal(m, PLAIN_SIZE);
        assert_memory_equal(dec, plain, PLAIN_SIZE);
        free(dec);

        /* Two streams back to back decode as one. */
        uint8_t *two = malloc(2 * n);
        memcpy(two, enc, n);
        memcpy(two + n, enc, n);
        assert_int_equal(decode_all(t, threads, two, 2 * n, &dec, &m), 0);
        assert_int_equal(m, 2 * (size_t) PLAIN_SIZE);
        assert_memory_equal(dec + PLAIN_SIZE, plain, PLAIN_SIZE);
        free(dec);
        free(two);

        /* Truncated: -EPIPE (or -EBADMSG where the format cannot tell). */
        int r = decode_all(t, threads, enc, n / 2, &dec, &m);
        assert_true(r == -EPIPE || r == -EBADMSG);

        /* Corrupt in the middle. */
        enc[n / 2] ^= 0x55;
        enc[n / 2 + 1] ^= 0xaa;
        r = decode_all(t, threads, enc, n, &dec, &m);
        if (r == 0) {
                /* gzip/bzip2 detect it by CRC at the end at the latest; a decoder that returned
                 * success must at least not have produced the original. */
                assert_true(m != PLAIN_SIZE || memcmp(dec, plain, PLAIN_SIZE) != 0);
                free(dec);
        } else
                assert_int_equal(r, -EBADMSG);
        free(enc);
}

static void test_gzip(void **state) {
        roundtrip(COMPRESS_GZIP, 1);
}
static void test_xz(void **state) {
        roundtrip(COMPRESS_XZ, 1);
}
static void test_xz_threaded(void **state) {
        roundtrip(COMPRESS_XZ, 2);
}
static void test_bzip2(void **state) {
        roundtrip(COMPRESS_BZIP2, 1);
}
static void test_zstd(void **state) {
        roundtrip(COMPRESS_ZSTD, 1);
}

/* A zstd stream that starts with a skippable frame (magic 0x184D2A50…5F; pzstd and the seekable
 * format write them) is zstd: it was refused as "not a tar archive". */
static void test_zstd_skippable_first(void **state) {
        size_t n, m;
        uint8_t *enc = encode(COMPRESS_ZSTD, plain, PLAIN_SIZE, &n), *dec = NULL;
        for (unsigned nibble = 0; nibble < 16; nibble += 15) {
                uint8_t *s = malloc(12 + n);
                assert_non_null(s);
                uint32_t magic = htole32(0x184D2A50U + nibble), len = htole32(4);
                memcpy(s, &magic, 4);
                memcpy(s + 4, &len, 4);
                memcpy(s + 8, "skip", 4);
                memcpy(s + 12, enc, n);
                assert_int_equal(compress_detect(s, 12 + n), COMPRESS_ZSTD);
                assert_int_equal(decode_all(COMPRESS_ZSTD, 1, s, 12 + n, &dec, &m), 0);
                assert_int_equal(m, PLAIN_SIZE);
                assert_memory_equal(dec, plain, PLAIN_SIZE);
                free(dec);
                free(s);
        }
        /* Neighbours of the range are not zstd. */
        assert_int_equal(compress_detect("\x4F\x2A\x4D\x18", 4), COMPRESS_NONE);
        assert_int_equal(compress_detect("\x60\x2A\x4D\x18", 4), COMPRESS_NONE);
        free(enc);
}

typedef struct Feeder {
        int fd;
        const uint8_t *data;
        size_t size;
} Feeder;

static void *feed(void *p) {
        Feeder *f = p;
        assert_int_equal(loop_write(f->fd, f->data, f->size), 0);
        close(f->fd);
        return NULL;
}

/* The ring hands the same bytes over from a pipe, for every format, including an empty stream. */
static void test_source(void **state) {
        for (CompressType t = 0; t < _COMPRESS_TYPE_MAX; t++) {
                size_t n;
                uint8_t *enc = encode(t, plain, PLAIN_SIZE, &n);
                int p[2];
                assert_int_equal(pipe2(p, O_CLOEXEC), 0);
                Feeder f = { .fd = p[1], .data = enc, .size = n };
                pthread_t th;
                assert_int_equal(pthread_create(&th, NULL, feed, &f), 0);
                ImportSource *s = NULL;
                assert_int_equal(import_source_start(p[0], 2, &s), 0);
                size_t got = 0;
                for (;;) {
                        const void *buf;
                        ssize_t k = import_source_read(s, &buf);
                        assert_true(k >= 0);
                        if (k == 0)
                                break;
                        assert_true(got + (size_t) k <= PLAIN_SIZE);
                        assert_memory_equal(buf, plain + got, (size_t) k);
                        got += (size_t) k;
                }
                assert_int_equal(got, PLAIN_SIZE);
                assert_int_equal(import_source_compression(s), t);
                assert_int_equal(import_source_bytes_in(s), n);
                import_source_free(s);
                pthread_join(th, NULL);
                close(p[0]);
                free(enc);
        }
}

/* What follows the compressed stream: after gzip and bzip2, junk (and zeros, counted but not
 * data) is skipped and counted, also junk that starts like another member once junk was seen;
 * after xz and zstd it is an error. Through the source, fed from a pipe in one piece. */
static void test_source_ignored(void **state) {
        static const struct {
                CompressType t;
                const char *tail;
                size_t tail_size;
                bool ok, data;
        } cases[] = {
                { COMPRESS_GZIP, "JUNK\x1f\x8b-more", 11, true, true },
                { COMPRESS_GZIP, "\0\0\0\0\0\0\0\0", 8, true, false },
                { COMPRESS_BZIP2, "JUNKBZh9", 8, true, true },
                { COMPRESS_XZ, "JUNK", 4, false, false },
                { COMPRESS_ZSTD, "JUNK", 4, false, false },
                { COMPRESS_GZIP, "", 0, true, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t n;
                uint8_t *enc = encode(cases[i].t, plain, PLAIN_SIZE, &n);
                uint8_t *all = malloc(n + cases[i].tail_size);
                assert_non_null(all);
                memcpy(all, enc, n);
                memcpy(all + n, cases[i].tail, cases[i].tail_size);
                int p[2];
                assert_int_equal(pipe2(p, O_CLOEXEC), 0);
                Feeder f = { .fd = p[1], .data = all, .size = n + cases[i].tail_size };
                pthread_t th;
                assert_int_equal(pthread_create(&th, NULL, feed, &f), 0);
                ImportSource *s = NULL;
                assert_int_equal(import_source_start(p[0], 1, &s), 0);
                size_t got = 0;
                ssize_t k;
                for (;;) {
                        const void *buf;
                        k = import_source_read(s, &buf);
                        if (k <= 0)
                                break;
                        got += (size_t) k;
                }
                if (cases[i].ok) {
                        assert_int_equal(k, 0);
                        assert_int_equal(got, PLAIN_SIZE);
                        bool data = !cases[i].data;
                        assert_int_equal(import_source_ignored(s, &data), cases[i].tail_size);
                        assert_true(data == cases[i].data);
                } else
                        assert_true(k < 0);
                import_source_free(s);
                pthread_join(th, NULL);
                close(p[0]);
                free(all);
                free(enc);
        }
}

/* Freeing the source while its thread waits on a pipe that never delivers returns promptly. */
static void test_source_cancel(void **state) {
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        ImportSource *s = NULL;
        assert_int_equal(import_source_start(p[0], 1, &s), 0);
        assert_int_equal(write(p[1], "\x1f\x8b", 2), 2);
        import_source_free(s);
        close(p[0]);
        close(p[1]);
}

/* Every decoder library's table resolves against the installed library; nothing is needed for an
 * uncompressed stream. */
static void test_dlopen(void **state) {
        for (CompressType t = 0; t < _COMPRESS_TYPE_MAX; t++) {
                const char *detail = NULL;
                assert_int_equal(decompressor_dlopen(t, &detail), 0);
                assert_null(detail);
        }
        assert_int_equal(decompressor_dlopen(_COMPRESS_TYPE_MAX, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dlopen),
                cmocka_unit_test(test_detect),
                cmocka_unit_test(test_gzip),
                cmocka_unit_test(test_xz),
                cmocka_unit_test(test_xz_threaded),
                cmocka_unit_test(test_bzip2),
                cmocka_unit_test(test_zstd),
                cmocka_unit_test(test_zstd_skippable_first),
                cmocka_unit_test(test_source),
                cmocka_unit_test(test_source_ignored),
                cmocka_unit_test(test_source_cancel),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
