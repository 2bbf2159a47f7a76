/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* OCI references as containers' tools normalise them, refused when malformed; digests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "oci-registry.h"
#include "util.h"

static void check(const char *s, const char *registry, const char *repo, const char *tag, const char *digest) {
        OciRef r = {};
        _cleanup_diag_ Diag d = DIAG_INIT;
        assert_int_equal(oci_ref_parse(s, &r, &d), 0);
        assert_string_equal(r.registry, registry);
        assert_string_equal(r.repository, repo);
        if (tag)
                assert_string_equal(r.tag, tag);
        else
                assert_null(r.tag);
        if (digest)
                assert_string_equal(r.digest, digest);
        else
                assert_null(r.digest);
        oci_ref_done(&r);
}

#define D "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_normalise(void **state) {
        check("debian", "docker.io", "library/debian", "latest", NULL);
        check("debian:12", "docker.io", "library/debian", "12", NULL);
        check("docker.io/debian:12", "docker.io", "library/debian", "12", NULL);
        check("user/app:v1.2-rc_3", "docker.io", "user/app", "v1.2-rc_3", NULL);
        check("quay.io/org/sub/app", "quay.io", "org/sub/app", "latest", NULL);
        check("127.0.0.1:5000/test/app:1", "127.0.0.1:5000", "test/app", "1", NULL);
        check("localhost/app", "localhost", "app", "latest", NULL);
        check("registry:5000/app", "registry:5000", "app", "latest", NULL);
        check("ghcr.io/a/b@" D, "ghcr.io", "a/b", NULL, D);
        check("ghcr.io/a/b:t@" D, "ghcr.io", "a/b", "t", D);
        check("my-registry.example/a__b/c.d-e", "my-registry.example", "a__b/c.d-e", "latest", NULL);
}

static void refuse(const char *s) {
        OciRef r = {};
        _cleanup_diag_ Diag d = DIAG_INIT;
        assert_int_equal(oci_ref_parse(s, &r, &d), -EINVAL);
        assert_non_null(diag_message(&d));
        assert_null(r.registry);
}

static void test_refuse(void **state) {
        refuse("");
        refuse("UPPER/case");
        refuse("quay.io/");
        refuse("quay.io/a//b");
        refuse("quay.io/a/b/");
        refuse("quay.io/-a");
        refuse("quay.io/a:");
        refuse("quay.io/a:-tag");
        refuse("quay.io/a:t/x");
        refuse("quay.io/a@sha256:abc");
        refuse("quay.io/a@sha512:"
               "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        refuse("quay.io/a@"
               "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef");
        refuse("bad_host.io:x/a");
        refuse("host:99999999/a");
        refuse("quay.io/a\nb");
        refuse("quay.io/../etc");
        char long_tag[200];
        memset(long_tag, 'a', sizeof(long_tag) - 1);
        long_tag[sizeof(long_tag) - 1] = 0;
        _cleanup_free_ char *s = strjoin("quay.io/a:", long_tag);
        refuse(s);
        char huge[OCI_REF_MAX + 10];
        memset(huge, 'a', sizeof(huge) - 1);
        huge[sizeof(huge) - 1] = 0;
        refuse(huge);
}

static void test_to_string(void **state) {
        OciRef r = {};
        assert_int_equal(oci_ref_parse("debian:12", &r, NULL), 0);
        _cleanup_free_ char *s = oci_ref_to_string(&r);
        assert_string_equal(s, "docker.io/library/debian:12");
        oci_ref_done(&r);
        assert_int_equal(oci_ref_parse("h.io/a@" D, &r, NULL), 0);
        _cleanup_free_ char *t = oci_ref_to_string(&r);
        assert_string_equal(t, "h.io/a@" D);
        oci_ref_done(&r);
}

static void test_digest(void **state) {
        assert_true(oci_digest_is_valid(D));
        assert_false(oci_digest_is_valid(NULL));
        assert_false(oci_digest_is_valid("sha256:"));
        assert_false(oci_digest_is_valid(D "0"));
        assert_false(oci_digest_is_valid("sha256:../../../../etc/passwd/0123456789abcdef0123456789abcdef012345"));
        assert_false(oci_digest_is_valid("SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_normalise),
                cmocka_unit_test(test_refuse),
                cmocka_unit_test(test_to_string),
                cmocka_unit_test(test_digest),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
