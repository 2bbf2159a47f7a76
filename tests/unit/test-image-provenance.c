/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image-provenance.c: the record parser (untrusted input: limits, malformed lines, values its keys
 * do not allow), the formatter's round trip, the sidecar read and write; image-generation.c's
 * parser of .#NAME.gen-N names. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "image.h"
#include "util.h"

#define SHA_X "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
#define FPR "ABCDEF0123456789ABCDEF0123456789ABCDEF01"

static int parse(const char *text, ImageProvenance *p) {
        return image_provenance_parse(text, strlen(text), p);
}

static void test_parse_full(void **state) {
        ImageProvenance p = IMAGE_PROVENANCE_NULL;
        const char *text = "cowpen-provenance 1\nsource=https://example.org/a.tar.xz\nsha256=" SHA_X
                           "\nverification=signature\nsigner=" FPR "\nparent=base\nclone_method=reflink copy\n"
                           "generation=3\nroot_hash=" SHA_X "\nnewer_key=whatever\n";
        assert_int_equal(parse(text, &p), 0);
        assert_string_equal(p.source, "https://example.org/a.tar.xz");
        assert_string_equal(p.sha256, SHA_X);
        assert_string_equal(p.verification, "signature");
        assert_string_equal(p.signer, FPR);
        assert_string_equal(p.parent, "base");
        assert_string_equal(p.clone_method, "reflink copy");
        assert_int_equal(p.generation, 3);
        assert_string_equal(p.root_hash, SHA_X);

        /* Round trip: format, parse, format gives the same text. */
        char *a = NULL, *b = NULL;
        assert_int_equal(image_provenance_format(&p, &a), 0);
        ImageProvenance q = IMAGE_PROVENANCE_NULL;
        assert_int_equal(parse(a, &q), 0);
        assert_int_equal(image_provenance_format(&q, &b), 0);
        assert_string_equal(a, b);
        free(a);
        free(b);
        image_provenance_done(&p);
        image_provenance_done(&q);

        /* The header alone: nothing known, generation none. */
        assert_int_equal(parse("cowpen-provenance 1\n", &p), 0);
        assert_null(p.source);
        assert_true(p.generation == IMAGE_GENERATION_NONE);
        image_provenance_done(&p);
}

static void test_parse_refused(void **state) {
        static const char *const bad[] = {
                "",                                                                       /* empty */
                "cowpen-provenance 2\n",                                                  /* another format */
                "cowpen-provenance 1\nsource=a",                                          /* cut off: no newline */
                "cowpen-provenance 1\nsource=a\nsource=b\n",                              /* a key twice */
                "cowpen-provenance 1\nsha256=abc\n",                                      /* not a SHA-256 */
                "cowpen-provenance 1\nsha256=" SHA_X "0\n",                               /* one digit too many */
                "cowpen-provenance 1\nverification=trusted\n",                            /* no such verification */
                "cowpen-provenance 1\nsigner=" FPR "0\n",                                 /* 41 digits */
                "cowpen-provenance 1\nsigner=abcdef0123456789abcdef0123456789abcdef01\n", /* lower case */
                "cowpen-provenance 1\nparent=.hidden\n",                                  /* no valid image name */
                "cowpen-provenance 1\nparent=a/b\n",
                "cowpen-provenance 1\nclone_method=magic\n",
                "cowpen-provenance 1\ngeneration=-1\n",
                "cowpen-provenance 1\ngeneration=\n",
                "cowpen-provenance 1\ngeneration=99999999999999999999\n",
                "cowpen-provenance 1\ngeneration=4611686018427387904\n", /* IMAGE_GENERATION_MAX */
                "cowpen-provenance 1\ngeneration=1\ngeneration=2\n",
                "cowpen-provenance 1\nroot_hash=xyz\n",
                "cowpen-provenance 1\nsource=a\tb\n", /* control character */
                "cowpen-provenance 1\nSource=a\n",    /* keys are lower case */
                "cowpen-provenance 1\n=a\n",
                "cowpen-provenance 1\nno equals sign\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ImageProvenance p = IMAGE_PROVENANCE_NULL;
                int r = parse(bad[i], &p);
                if (r != -EBADMSG)
                        fail_msg("accepted or wrong error %d: \"%s\"", r, bad[i]);
                assert_null(p.source);
        }
        /* A NUL byte inside. */
        ImageProvenance p = IMAGE_PROVENANCE_NULL;
        assert_int_equal(image_provenance_parse("cowpen-provenance 1\nsource=a\0b\n", 31, &p), -EBADMSG);
}

static void test_parse_limits(void **state) {
        ImageProvenance p = IMAGE_PROVENANCE_NULL;
        /* A value of exactly IMAGE_PROVENANCE_VALUE_MAX bytes, and one more. */
        size_t cap = 64 + IMAGE_PROVENANCE_VALUE_MAX + 2;
        char *t = malloc(cap);
        assert_non_null(t);
        int n = snprintf(t, cap, "cowpen-provenance 1\nsource=");
        memset(t + n, 'a', IMAGE_PROVENANCE_VALUE_MAX);
        strcpy(t + n + IMAGE_PROVENANCE_VALUE_MAX, "\n");
        assert_int_equal(parse(t, &p), 0);
        assert_int_equal(strlen(p.source), IMAGE_PROVENANCE_VALUE_MAX);
        image_provenance_done(&p);
        memset(t + n, 'a', IMAGE_PROVENANCE_VALUE_MAX + 1);
        strcpy(t + n + IMAGE_PROVENANCE_VALUE_MAX + 1, "\n");
        assert_int_equal(parse(t, &p), -EBADMSG);
        free(t);

        /* IMAGE_PROVENANCE_LINES_MAX lines, and one more (unknown keys, each counted). */
        char *l = malloc(IMAGE_PROVENANCE_LINES_MAX * 8 + 64), *o = l;
        assert_non_null(l);
        o += sprintf(o, "cowpen-provenance 1\n");
        for (unsigned i = 1; i < IMAGE_PROVENANCE_LINES_MAX; i++)
                o += sprintf(o, "x=%u\n", i % 10);
        assert_int_equal(parse(l, &p), 0);
        image_provenance_done(&p);
        sprintf(o, "x=1\n");
        assert_int_equal(parse(l, &p), -E2BIG);
        free(l);

        /* More than IMAGE_PROVENANCE_SIZE_MAX bytes in all. */
        char *big = malloc(IMAGE_PROVENANCE_SIZE_MAX + 2);
        assert_non_null(big);
        memset(big, '\n', IMAGE_PROVENANCE_SIZE_MAX + 1);
        assert_int_equal(image_provenance_parse(big, IMAGE_PROVENANCE_SIZE_MAX + 1, &p), -E2BIG);
        free(big);
}

static void test_sidecar(void **state) {
        char dir[] = "/var/tmp/test-provenance.XXXXXX";
        assert_non_null(mkdtemp(dir));
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        ImageProvenance p = IMAGE_PROVENANCE_NULL, q = IMAGE_PROVENANCE_NULL;
        assert_int_equal(image_provenance_read_at(fd, "img", &q), -ENOENT);
        p.source = strdup("/srv/img.tar");
        p.generation = 12;
        assert_int_equal(image_provenance_write_at(fd, "img", &p), 0);
        assert_int_equal(image_provenance_read_at(fd, "img", &q), 0);
        assert_string_equal(q.source, "/srv/img.tar");
        assert_int_equal(q.generation, 12);
        image_provenance_done(&q);
        /* A symlink of the record's name is not followed. */
        assert_int_equal(unlinkat(fd, "img.provenance", 0), 0);
        assert_int_equal(symlinkat("/etc/passwd", fd, "img.provenance"), 0);
        assert_true(image_provenance_read_at(fd, "img", &q) < 0);
        assert_null(q.source);
        /* A value with a newline would forge a line: refused when formatting. */
        free(p.source);
        p.source = strdup("a\nparent=evil");
        assert_int_equal(image_provenance_write_at(fd, "img2", &p), -EINVAL);
        image_provenance_done(&p);
        (void) unlinkat(fd, "img.provenance", 0);
        close(fd);
        assert_int_equal(rmdir(dir), 0);
}

static void test_generation_names(void **state) {
        char *name = NULL;
        uint64_t g = 0;
        assert_int_equal(image_generation_entry_parse(".#deb.gen-0", &name, &g), 0);
        assert_string_equal(name, "deb");
        assert_int_equal(g, 0);
        free(name);
        assert_int_equal(image_generation_entry_parse(".#a.gen-1.gen-42", &name, &g), 0);
        assert_string_equal(name, "a.gen-1");
        assert_int_equal(g, 42);
        free(name);
        static const char *const bad[] = {
                "deb.gen-1",
                ".#deb.gen-",
                ".#deb.gen-01",
                ".#deb.gen-1x",
                ".#.gen-1",
                ".#.x.gen-1",
                ".#deb.gen-99999999999999999999",
                ".#deb.gen-1.provenance",
                ".#deb.gen-1.lck",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (image_generation_entry_parse(bad[i], NULL, NULL) != -EINVAL)
                        fail_msg("accepted \"%s\"", bad[i]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_full),
                cmocka_unit_test(test_parse_refused),
                cmocka_unit_test(test_parse_limits),
                cmocka_unit_test(test_sidecar),
                cmocka_unit_test(test_generation_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
