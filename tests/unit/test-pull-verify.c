/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The choice of verification material (with a fake server), gpgv status parsing, URL helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "pull-gpg.h"
#include "pull-url.h"
#include "pull-verify.h"
#include "util.h"

#define H256A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H256B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A fake server: NULL-terminated pairs of file name and contents under http://h/d/. */
typedef struct FakeServer {
        const char *const *files;
        char fetched[1024]; /* names asked for, space-separated */
        int fail;           /* error for every fetch, when set */
} FakeServer;

static int fake_fetch(const char *url, size_t max, char **ret, size_t *ret_size, void *userdata) {
        FakeServer *s = userdata;
        assert_true(startswith(url, "http://h/d/"));
        const char *name = url + strlen("http://h/d/");
        strncat(s->fetched, name, sizeof(s->fetched) - strlen(s->fetched) - 2);
        strcat(s->fetched, " ");
        if (s->fail)
                return s->fail;
        for (const char *const *f = s->files; f[0]; f += 2)
                if (streq(f[0], name)) {
                        if (strlen(f[1]) > max)
                                return -EFBIG;
                        *ret = strdup(f[1]);
                        *ret_size = strlen(f[1]);
                        return 0;
                }
        return -ENOENT;
}

static void test_plan_checksum_order(void **state) {
        /* .sha256 first, then SHA256SUMS, then DIGESTS. */
        const char *const files[] = { "f.tar.xz.sha256", H256A "  f.tar.xz\n", "SHA256SUMS", H256B "  f.tar.xz\n", NULL };
        FakeServer s = { .files = files };
        PullVerifyPlan p = {};
        _cleanup_diag_ Diag reason = DIAG_INIT;
        assert_int_equal(pull_verify_plan("http://h/d", "f.tar.xz", PULL_VERIFY_CHECKSUM, NULL, fake_fetch, &s, &p, &reason), 0);
        assert_true(p.have_checksum);
        assert_string_equal(p.checksum_source, "f.tar.xz.sha256");
        assert_string_equal(s.fetched, "f.tar.xz.sha256 ");
        pull_verify_plan_done(&p);

        const char *const files2[] = { "SHA256SUMS", H256B "  f.tar.xz\n", NULL };
        FakeServer s2 = { .files = files2 };
        assert_int_equal(pull_verify_plan("http://h/d", "f.tar.xz", PULL_VERIFY_CHECKSUM, NULL, fake_fetch, &s2, &p, &reason), 0);
        assert_string_equal(p.checksum_source, "SHA256SUMS");
        Checksum good, bad;
        assert_int_equal(checksum_from_hex(H256B, 64, &good), 0);
        assert_int_equal(checksum_from_hex(H256A, 64, &bad), 0);
        assert_int_equal(pull_verify_download(&p, &good, -1, NULL, NULL, &reason), 0);
        assert_int_equal(pull_verify_download(&p, &bad, -1, NULL, NULL, &reason), -EBADMSG);
        assert_non_null(strstr(diag_message(&reason), "checksum mismatch"));
        pull_verify_plan_done(&p);

        /* Clearsigned DIGESTS in checksum mode: the text is used, the signature not checked. */
        const char *const files3[] = {
                "f.tar.xz.DIGESTS",
                "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n# SHA512 HASH\n" H256A H256A
                "  f.tar.xz\n-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n",
                NULL
        };
        FakeServer s3 = { .files = files3 };
        assert_int_equal(pull_verify_plan("http://h/d", "f.tar.xz", PULL_VERIFY_CHECKSUM, NULL, fake_fetch, &s3, &p, &reason), 0);
        assert_int_equal(p.checksum.algo, CHECKSUM_SHA512);
        assert_string_equal(s3.fetched, "f.tar.xz.sha256 SHA256SUMS f.tar.xz.DIGESTS ");
        pull_verify_plan_done(&p);
}

static void test_plan_missing(void **state) {
        const char *const none[] = { NULL };
        FakeServer s = { .files = none };
        PullVerifyPlan p = {};
        _cleanup_diag_ Diag reason = DIAG_INIT;
        assert_int_equal(pull_verify_plan("http://h/d", "f.raw", PULL_VERIFY_CHECKSUM, NULL, fake_fetch, &s, &p, &reason), -ENOKEY);
        assert_non_null(strstr(diag_message(&reason), "no checksum found"));

        /* An unsigned SHA256SUMS does not satisfy --verify=signature. */
        const char *const unsigned_sums[] = { "SHA256SUMS", H256A "  f.raw\n", "f.raw.sha256", H256A "\n", NULL };
        FakeServer s2 = { .files = unsigned_sums };
        assert_int_equal(pull_verify_plan("http://h/d", "f.raw", PULL_VERIFY_SIGNATURE, "/nonexistent/keyring", fake_fetch,
                                          &s2, &p, &reason),
                         -ENOKEY);
        assert_non_null(strstr(diag_message(&reason), "no signature found"));
        /* No keyring at all. */
        assert_int_equal(pull_verify_plan("http://h/d", "f.raw", PULL_VERIFY_SIGNATURE, NULL, fake_fetch, &s2, &p, &reason),
                         -ENOKEY);

        /* A network error is passed on (the job then tries the next mirror). */
        FakeServer s3 = { .files = none, .fail = -ECONNREFUSED };
        assert_int_equal(pull_verify_plan("http://h/d", "f.raw", PULL_VERIFY_CHECKSUM, NULL, fake_fetch, &s3, &p, &reason),
                         -ECONNREFUSED);

        /* A malformed checksum file is an error, not a reason to look elsewhere. */
        const char *const bad[] = { "f.raw.sha256", "nonsense\n", NULL };
        FakeServer s4 = { .files = bad };
        assert_int_equal(pull_verify_plan("http://h/d", "f.raw", PULL_VERIFY_CHECKSUM, NULL, fake_fetch, &s4, &p, &reason),
                         -EBADMSG);
        assert_non_null(strstr(diag_message(&reason), "malformed"));
}

static void test_sidecar(void **state) {
        const char *const files[] = { "SHA256SUMS", H256A "  app.raw\n" H256B "  app.nspawn\n", NULL };
        FakeServer s = { .files = files };
        PullVerifyPlan p = {};
        _cleanup_diag_ Diag reason = DIAG_INIT;
        assert_int_equal(pull_verify_plan("http://h/d", "app.raw", PULL_VERIFY_CHECKSUM, NULL, fake_fetch, &s, &p, &reason), 0);
        Checksum d[_CHECKSUM_ALGO_MAX] = {};
        assert_int_equal(checksum_from_hex(H256B, 64, &d[CHECKSUM_SHA256]), 0);
        d[CHECKSUM_SHA512].algo = CHECKSUM_SHA512;
        assert_int_equal(pull_verify_sidecar(&p, "app.nspawn", d, &reason), 1);
        assert_int_equal(pull_verify_sidecar(&p, "app.verity", d, &reason), 0);
        assert_int_equal(checksum_from_hex(H256A, 64, &d[CHECKSUM_SHA256]), 0);
        assert_int_equal(pull_verify_sidecar(&p, "app.nspawn", d, &reason), -EBADMSG);
        pull_verify_plan_done(&p);
}

static void test_gpg_status(void **state) {
        char *fpr = NULL;
        Diag g = DIAG_INIT;
        const char *good = "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 1122334455667788 Someone\n"
                           "[GNUPG:] VALIDSIG 0123456789ABCDEF0123456789ABCDEF01234567 2026-11-30 1 0 4 0 22 10 00 "
                           "FEDCBA9876543210FEDCBA9876543210FEDCBA98\n";
        assert_int_equal(gpg_parse_status(good, strlen(good), &fpr, &g), 0);
        assert_string_equal(fpr, "FEDCBA9876543210FEDCBA9876543210FEDCBA98");
        free(fpr);
        fpr = NULL;
        diag_done(&g);

        const char *nokey = "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 1122334455667788 22 10 00 1 9\n[GNUPG:] NO_PUBKEY 1122334455667788\n";
        assert_int_equal(gpg_parse_status(nokey, strlen(nokey), &fpr, &g), -EBADMSG);
        assert_non_null(strstr(g.cause, "not in the keyring"));
        free(fpr);
        fpr = NULL;
        diag_done(&g);

        const char *badsig = "[GNUPG:] BADSIG 1122334455667788 Someone\n";
        assert_int_equal(gpg_parse_status(badsig, strlen(badsig), &fpr, &g), -EBADMSG);
        assert_non_null(strstr(g.cause, "bad signature"));
        free(fpr);
        fpr = NULL;
        diag_done(&g);

        /* A good and a bad signature: bad. VALIDSIG with a bogus fingerprint: bad. Nothing: bad. */
        const char *mixed = "[GNUPG:] VALIDSIG 0123456789ABCDEF0123456789ABCDEF01234567 x\n[GNUPG:] BADSIG 11 x\n";
        assert_int_equal(gpg_parse_status(mixed, strlen(mixed), &fpr, &g), -EBADMSG);
        free(fpr);
        fpr = NULL;
        diag_done(&g);
        const char *bogus = "[GNUPG:] VALIDSIG nothex\n";
        assert_int_equal(gpg_parse_status(bogus, strlen(bogus), &fpr, &g), -EBADMSG);
        free(fpr);
        fpr = NULL;
        diag_done(&g);
        assert_int_equal(gpg_parse_status("", 0, &fpr, &g), -EBADMSG);
        free(fpr);
        fpr = NULL;
        diag_done(&g);
        /* Key ids from the signature are shown only as hex. */
        const char *evil = "[GNUPG:] NO_PUBKEY \x1b[31mred\n";
        assert_int_equal(gpg_parse_status(evil, strlen(evil), &fpr, &g), -EBADMSG);
        assert_null(strchr(g.cause, '\x1b'));
        free(fpr);
        fpr = NULL;
        diag_done(&g);
        /* Status output over the limit. */
        _cleanup_free_ char *big = calloc(1, GPGV_STATUS_MAX + 2);
        memset(big, '\n', GPGV_STATUS_MAX + 1);
        assert_int_equal(gpg_parse_status(big, GPGV_STATUS_MAX, &fpr, &g), -EBADMSG);
        free(fpr);
        fpr = NULL;
        diag_done(&g);
        assert_int_equal(gpg_parse_status(big, GPGV_STATUS_MAX + 1, &fpr, &g), -EFBIG);
        diag_done(&g);
}

static void test_url(void **state) {
        _cleanup_free_ char *b = NULL, *c = NULL, *f = NULL;
        assert_int_equal(pull_url_split("https://example.com/a/b/stage3%2Bx.tar.xz?x=1#y", &b, &c, &f), 0);
        assert_string_equal(b, "https://example.com/a/b");
        assert_string_equal(c, "stage3%2Bx.tar.xz");
        assert_string_equal(f, "stage3+x.tar.xz");
        assert_int_equal(pull_url_split("https://example.com/", NULL, NULL, NULL), -EINVAL);
        assert_int_equal(pull_url_split("https://example.com", NULL, NULL, NULL), -EINVAL);
        assert_int_equal(pull_url_split("https://example.com/a%2Fb", NULL, NULL, NULL), -EINVAL);
        assert_int_equal(pull_url_split("https://example.com/a%00b", NULL, NULL, NULL), -EINVAL);
        assert_int_equal(pull_url_split("https://example.com/a%2", NULL, NULL, NULL), -EINVAL);
        assert_int_equal(pull_url_split("https://example.com/..", NULL, NULL, NULL), -EINVAL);
        assert_int_equal(pull_url_split("no-scheme/x", NULL, NULL, NULL), -EINVAL);

        /* PULL_FILENAME_MAX bytes is the limit. */
        char url[400] = "http://h/";
        size_t l = strlen(url);
        memset(url + l, 'x', PULL_FILENAME_MAX);
        url[l + PULL_FILENAME_MAX] = 0;
        assert_int_equal(pull_url_split(url, NULL, NULL, NULL), 0);
        strcat(url, "x");
        assert_int_equal(pull_url_split(url, NULL, NULL, NULL), -EINVAL);

        char *n = NULL;
        const char *cases[][2] = {
                { "http://h/stage3-amd64-systemd-20240101.tar.xz", "stage3-amd64-systemd-20240101" },
                { "http://h/debian.tgz", "debian" },
                { "http://h/root.tar", "root" },
                { "http://h/app.raw.zst", "app" },
                { "http://h/disk.img.gz", "disk" },
                { "file:///srv/x.tar.bz2", "x" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(pull_name_from_url(cases[i][0], &n), 0);
                assert_string_equal(n, cases[i][1]);
                free(n);
        }
        assert_int_equal(pull_name_from_url("http://h/.tar.xz", &n), -EINVAL);

        _cleanup_free_ char *s1 = pull_sidecar_stem("app.raw.xz"), *s2 = pull_sidecar_stem("app.raw"),
                            *s3 = pull_sidecar_stem("img");
        assert_string_equal(s1, "app");
        assert_string_equal(s2, "app");
        assert_string_equal(s3, "img");
        _cleanup_free_ char *j = pull_url_join("http://m/pub//", "f.tar");
        assert_string_equal(j, "http://m/pub/f.tar");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan_checksum_order),
                cmocka_unit_test(test_plan_missing),
                cmocka_unit_test(test_sidecar),
                cmocka_unit_test(test_gpg_status),
                cmocka_unit_test(test_url),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
