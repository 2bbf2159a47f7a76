/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "pull-checksum.h"
#include "util.h"

#define H256A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H256B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define H512C H256A H256A
#define H512D H256B H256B

static int find(const char *text, ChecksumFormat f, const char *name, Checksum *c) {
        return checksum_file_find(text, strlen(text), f, name, c);
}

static void assert_hex(const Checksum *c, const char *hex) {
        _cleanup_free_ char *h = checksum_to_hex(c);
        assert_string_equal(h, hex);
}

static void test_from_hex(void **state) {
        Checksum c;
        assert_int_equal(checksum_from_hex(H256A, 64, &c), 0);
        assert_int_equal(c.algo, CHECKSUM_SHA256);
        assert_int_equal(checksum_from_hex(H512C, 128, &c), 0);
        assert_int_equal(c.algo, CHECKSUM_SHA512);
        assert_int_equal(checksum_from_hex(H256A, 63, &c), -EINVAL);
        assert_int_equal(checksum_from_hex(H256A "a", 65, &c), -EINVAL);
        assert_int_equal(checksum_from_hex("g" H256A, 64, &c), -EINVAL);
        assert_int_equal(checksum_from_hex("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 64, &c), 0);
        assert_hex(&c, H256A);
}

static void test_sums(void **state) {
        Checksum c;
        const char *sums = H256B "  other.tar.xz\n" H256A " *image.tar.xz\n" H256B "  sub/image.tar.xz\n";
        assert_int_equal(find(sums, CHECKSUM_FORMAT_SUMS, "image.tar.xz", &c), 0);
        assert_hex(&c, H256A);
        assert_int_equal(find(sums, CHECKSUM_FORMAT_SUMS, "missing.tar.xz", &c), -ENOENT);
        /* "sub/image.tar.xz" is another file, and a prefix match is no match. */
        assert_int_equal(find(sums, CHECKSUM_FORMAT_SUMS, "image.tar", &c), -ENOENT);
        /* CRLF and trailing blanks. */
        assert_int_equal(find(H256A "  x.raw \r\n", CHECKSUM_FORMAT_SUMS, "x.raw", &c), 0);
        /* BSD style, as sha256sum --tag writes it. */
        assert_int_equal(find("SHA256 (x.raw) = " H256A "\n", CHECKSUM_FORMAT_SUMS, "x.raw", &c), 0);
        assert_hex(&c, H256A);
        assert_int_equal(find("SHA512 (x.raw) = " H512C "\n", CHECKSUM_FORMAT_SUMS, "x.raw", &c), 0);
        assert_int_equal(c.algo, CHECKSUM_SHA512);
        assert_int_equal(find("SHA512 (x.raw) = " H256A "\n", CHECKSUM_FORMAT_SUMS, "x.raw", &c), -EBADMSG);
        /* Comments and blank lines. */
        assert_int_equal(find("# hi\n\n" H256A "  x\n", CHECKSUM_FORMAT_SUMS, "x", &c), 0);
        /* Malformed lines are refused, not skipped: the file is not what it claims. */
        assert_int_equal(find("garbage\n" H256A "  x\n", CHECKSUM_FORMAT_SUMS, "x", &c), -EBADMSG);
        assert_int_equal(find(H256A "x\n", CHECKSUM_FORMAT_SUMS, "x", &c), -EBADMSG);
        /* A lone digest names the file only in a per-file .sha256. */
        assert_int_equal(find(H256A "\n", CHECKSUM_FORMAT_SUMS, "x", &c), -EBADMSG);
        assert_int_equal(find(H256A "\n", CHECKSUM_FORMAT_SINGLE, "x", &c), 0);
        assert_int_equal(find(H256A "  y\n", CHECKSUM_FORMAT_SINGLE, "x", &c), -ENOENT);
        /* Listed twice: the same digest is fine, different ones are refused. */
        assert_int_equal(find(H256A "  x\n" H256A "  x\n", CHECKSUM_FORMAT_SUMS, "x", &c), 0);
        assert_int_equal(find(H256A "  x\n" H256B "  x\n", CHECKSUM_FORMAT_SUMS, "x", &c), -ENOTUNIQ);
        /* NUL bytes. */
        char nul[80];
        memcpy(nul, H256A "  x\0y\n", 71);
        assert_int_equal(checksum_file_find(nul, 71, CHECKSUM_FORMAT_SUMS, "x", &c), -EBADMSG);
}

static void test_digests(void **state) {
        Checksum c;
        const char *d = "# BLAKE2B HASH\n" H512D "  stage3.tar.xz\n"
                        "# SHA512 HASH\n" H512C "  stage3.tar.xz\n" H512D "  stage3.tar.xz.CONTENTS.gz\n"
                        "# WHIRLPOOL HASH\nnot even hex  stage3.tar.xz\n";
        assert_int_equal(find(d, CHECKSUM_FORMAT_DIGESTS, "stage3.tar.xz", &c), 0);
        assert_int_equal(c.algo, CHECKSUM_SHA512);
        assert_hex(&c, H512C);
        assert_int_equal(find(d, CHECKSUM_FORMAT_DIGESTS, "stage3.tar.xz.CONTENTS.gz", &c), 0);
        assert_hex(&c, H512D);
        /* Only BLAKE2B: nothing we can use. */
        assert_int_equal(find("# BLAKE2B HASH\n" H512D "  f\n", CHECKSUM_FORMAT_DIGESTS, "f", &c), -ENOENT);
        /* A SHA-256-sized digest in the SHA512 section is malformed. */
        assert_int_equal(find("# SHA512 HASH\n" H256A "  f\n", CHECKSUM_FORMAT_DIGESTS, "f", &c), -EBADMSG);
        /* Lines before any section header are not trusted to be SHA512. */
        assert_int_equal(find(H512C "  f\n", CHECKSUM_FORMAT_DIGESTS, "f", &c), -ENOENT);
}

static void test_limits(void **state) {
        Checksum c;
        /* A line of exactly CHECKSUM_LINE_MAX bytes is fine, one more is refused. */
        size_t name_len = CHECKSUM_LINE_MAX - 66;
        _cleanup_free_ char *name = malloc(name_len + 2), *line = malloc(CHECKSUM_LINE_MAX + 4);
        assert_non_null(name);
        assert_non_null(line);
        memset(name, 'n', name_len);
        name[name_len] = 0;
        snprintf(line, CHECKSUM_LINE_MAX + 4, "%s  %s\n", H256A, name);
        assert_int_equal(strlen(line), CHECKSUM_LINE_MAX + 1);
        assert_int_equal(checksum_file_find(line, strlen(line), CHECKSUM_FORMAT_SUMS, name, &c), 0);
        name[name_len] = 'n';
        name[name_len + 1] = 0;
        snprintf(line, CHECKSUM_LINE_MAX + 4, "%s  %s\n", H256A, name);
        assert_int_equal(checksum_file_find(line, strlen(line), CHECKSUM_FORMAT_SUMS, name, &c), -EBADMSG);

        /* CHECKSUM_LINES_MAX lines (blank ones count) pass, one more is refused. */
        size_t n = CHECKSUM_LINES_MAX;
        _cleanup_free_ char *many = malloc(n + 2);
        assert_non_null(many);
        memset(many, '\n', n + 1);
        assert_int_equal(checksum_file_find(many, n, CHECKSUM_FORMAT_SUMS, "x", &c), -ENOENT);
        assert_int_equal(checksum_file_find(many, n + 1, CHECKSUM_FORMAT_SUMS, "x", &c), -EBADMSG);

        /* Size: CHECKSUM_FILE_SIZE_MAX passes the size check, one more byte does not. */
        _cleanup_free_ char *big = malloc(CHECKSUM_FILE_SIZE_MAX + 1);
        assert_non_null(big);
        for (size_t i = 0; i < CHECKSUM_FILE_SIZE_MAX + 1; i++)
                big[i] = (i % 64 == 63) ? '\n' : '#';
        assert_int_equal(checksum_file_find(big, CHECKSUM_FILE_SIZE_MAX, CHECKSUM_FORMAT_SUMS, "x", &c), -ENOENT);
        assert_int_equal(checksum_file_find(big, CHECKSUM_FILE_SIZE_MAX + 1, CHECKSUM_FORMAT_SUMS, "x", &c), -EFBIG);
}

static void test_clearsign(void **state) {
        const char *msg = "-----BEGIN PGP SIGNED MESSAGE-----\n"
                          "Hash: SHA512\n"
                          "\n"
                          "# SHA512 HASH\n"
                          "- -----dash escaped\n"
                          "last line\n"
                          "-----BEGIN PGP SIGNATURE-----\n"
                          "\n"
                          "iQ==\n"
                          "-----END PGP SIGNATURE-----\n";
        _cleanup_free_ char *text = NULL;
        size_t n;
        assert_true(clearsign_is_signed(msg, strlen(msg)));
        assert_int_equal(clearsign_extract_text(msg, strlen(msg), &text, &n), 0);
        assert_string_equal(text, "# SHA512 HASH\n-----dash escaped\nlast line");
        assert_int_equal(n, strlen(text));

        char *t2 = NULL;
        /* No signature armor: incomplete. */
        const char *nosig = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\ntext\n";
        assert_int_equal(clearsign_extract_text(nosig, strlen(nosig), &t2, NULL), -EBADMSG);
        /* An unescaped dash line inside the text is armor we do not expect. */
        const char *dash = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n-----END PGP SIGNATURE-----\n"
                           "-----BEGIN PGP SIGNATURE-----\n";
        assert_int_equal(clearsign_extract_text(dash, strlen(dash), &t2, NULL), -EBADMSG);
        /* Header lines must be "Key: value". */
        const char *hdr = "-----BEGIN PGP SIGNED MESSAGE-----\nbogus\n\ntext\n-----BEGIN PGP SIGNATURE-----\n";
        assert_int_equal(clearsign_extract_text(hdr, strlen(hdr), &t2, NULL), -EBADMSG);
        assert_false(clearsign_is_signed("plain", 5));
        assert_int_equal(clearsign_extract_text("plain", 5, &t2, NULL), -EBADMSG);
        assert_null(t2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_from_hex),
                cmocka_unit_test(test_sums),
                cmocka_unit_test(test_digests),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_clearsign),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
