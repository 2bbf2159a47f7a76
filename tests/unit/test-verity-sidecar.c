/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of src/verity/verity-sidecar.c: where a root hash, a signature and a hash tree come
 * from (given, the user.verity.roothash xattr, IMAGE.roothash, IMAGE.roothash.p7s, IMAGE.verity),
 * the whitespace around a root hash, each limit at itself and + 1, and what a Diag names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "rm-rf.h"
#include "util.h"
#include "verity.h"

static const char hex64[] = "6093a2333523050b628581510028976d3d3e9c62458642a83727e6df641397a4";

static char dir[] = "/var/tmp/test-verity-sidecar.XXXXXX";

static char *path_of(const char *rel) {
        char *p = strjoin(dir, "/", rel);
        assert_non_null(p);
        return p;
}

static void write_file(const char *rel, const void *data, size_t size) {
        _cleanup_free_ char *p = path_of(rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        close(fd);
}

static void write_text(const char *rel, const char *text) {
        write_file(rel, text, strlen(text));
}

static void remove_file(const char *rel) {
        _cleanup_free_ char *p = path_of(rel);
        (void) unlink(p);
}

static int open_image(void) {
        _cleanup_free_ char *p = path_of("app.raw");
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static int setup(void **state) {
        assert_non_null(mkdtemp(dir));
        write_text("app.raw", "data");
        return 0;
}

static int teardown(void **state) {
        (void) rm_rf_at(AT_FDCWD, dir);
        return 0;
}

/* One query for app.raw's root hash; returns verity_sidecars_find()'s result. */
static int root_hash(int fd, const char *given, VeritySidecars *s) {
        _cleanup_free_ char *image = path_of("app.raw");
        const VeritySidecarQuery q = {.image = image, .image_fd = fd, .root_hash = given};
        return verity_sidecars_find(&q, VERITY_SIDECAR_ROOT_HASH, s, NULL);
}

static void test_root_hash_sources(void **state) {
        int fd = open_image();
        VeritySidecars s = VERITY_SIDECARS_INIT;

        /* Nothing anywhere: none, not an error. */
        assert_int_equal(root_hash(fd, NULL, &s), 0);
        assert_null(s.root_hash);
        assert_int_equal(s.root_hash_source, VERITY_SOURCE_NONE);

        /* The sidecar (".raw" dropped), whitespace around the hex removed. */
        _cleanup_free_ char *text = strjoin("  \n", hex64, " \r\n\n");
        write_text("app.roothash", text);
        assert_int_equal(root_hash(fd, NULL, &s), 0);
        assert_string_equal(s.root_hash, hex64);
        assert_int_equal(s.root_hash_source, VERITY_SOURCE_SIDECAR);
        _cleanup_free_ char *sidecar = path_of("app.roothash");
        assert_string_equal(s.root_hash_path, sidecar);
        verity_sidecars_done(&s);

        /* Whitespace inside stays: the caller's hex check refuses it (it was once cut off there,
         * so "HASH junk" passed as HASH). */
        _cleanup_free_ char *inner = strjoin(hex64, " junk\n"), *kept = strjoin(hex64, " junk");
        write_text("app.roothash", inner);
        assert_int_equal(root_hash(fd, NULL, &s), 0);
        assert_string_equal(s.root_hash, kept);
        verity_sidecars_done(&s);

        /* Given beats everything, taken as it is. */
        assert_int_equal(root_hash(fd, "ABC", &s), 0);
        assert_string_equal(s.root_hash, "ABC");
        assert_int_equal(s.root_hash_source, VERITY_SOURCE_GIVEN);
        verity_sidecars_done(&s);

        /* Found once, a second call keeps it. */
        assert_int_equal(root_hash(fd, NULL, &s), 0);
        char *first = s.root_hash;
        assert_int_equal(root_hash(fd, "ABC", &s), 0);
        assert_ptr_equal(s.root_hash, first);
        verity_sidecars_done(&s);

        /* The xattr beats the sidecar, where the file system has user xattrs. */
        _cleanup_free_ char *image = path_of("app.raw");
        _cleanup_free_ char *xval = strjoin(hex64, "\n");
        if (setxattr(image, "user.verity.roothash", xval, strlen(xval), 0) >= 0) {
                assert_int_equal(root_hash(fd, NULL, &s), 0);
                assert_string_equal(s.root_hash, hex64);
                assert_int_equal(s.root_hash_source, VERITY_SOURCE_XATTR);
                assert_null(s.root_hash_path);
                verity_sidecars_done(&s);
                /* Without the fd, no xattr. */
                assert_int_equal(root_hash(-EBADF, NULL, &s), 0);
                assert_int_equal(s.root_hash_source, VERITY_SOURCE_SIDECAR);
                verity_sidecars_done(&s);
                /* An empty value is there (and not a hex digest), not a reason to look further. */
                assert_int_equal(setxattr(image, "user.verity.roothash", "", 0, 0), 0);
                assert_int_equal(root_hash(fd, NULL, &s), 0);
                assert_string_equal(s.root_hash, "");
                assert_int_equal(s.root_hash_source, VERITY_SOURCE_XATTR);
                verity_sidecars_done(&s);
                assert_int_equal(removexattr(image, "user.verity.roothash"), 0);
        } else
                print_message("no user xattrs on /var/tmp (%s): xattr cases skipped\n", strerror(errno));
        remove_file("app.roothash");
        close(fd);
}

static void test_root_hash_limits(void **state) {
        int fd = open_image();
        VeritySidecars s = VERITY_SIDECARS_INIT;
        char *big = malloc(VERITY_ROOT_HASH_TEXT_MAX + 2);
        assert_non_null(big);
        memset(big, ' ', VERITY_ROOT_HASH_TEXT_MAX + 1);
        memcpy(big, hex64, strlen(hex64));

        /* The file: at the limit read, one byte more refused (never cut). */
        write_file("app.roothash", big, VERITY_ROOT_HASH_TEXT_MAX);
        assert_int_equal(root_hash(fd, NULL, &s), 0);
        assert_string_equal(s.root_hash, hex64);
        verity_sidecars_done(&s);
        write_file("app.roothash", big, VERITY_ROOT_HASH_TEXT_MAX + 1);
        assert_int_equal(root_hash(fd, NULL, &s), -EFBIG);
        assert_null(s.root_hash);

        /* The xattr: the same limit; over it an error, not a fall back to the sidecar. */
        write_text("app.roothash", hex64);
        _cleanup_free_ char *image = path_of("app.raw");
        if (setxattr(image, "user.verity.roothash", big, VERITY_ROOT_HASH_TEXT_MAX, 0) >= 0) {
                assert_int_equal(root_hash(fd, NULL, &s), 0);
                assert_int_equal(s.root_hash_source, VERITY_SOURCE_XATTR);
                assert_string_equal(s.root_hash, hex64);
                verity_sidecars_done(&s);
                assert_int_equal(setxattr(image, "user.verity.roothash", big, VERITY_ROOT_HASH_TEXT_MAX + 1, 0), 0);
                Diag d = DIAG_INIT;
                assert_int_equal(verity_sidecars_find(&(VeritySidecarQuery){.image = image, .image_fd = fd},
                                         VERITY_SIDECAR_ROOT_HASH, &s, &d),
                        -EFBIG);
                assert_string_equal(diag_message(&d), "user.verity.roothash");
                diag_done(&d);
                assert_int_equal(removexattr(image, "user.verity.roothash"), 0);
        }
        remove_file("app.roothash");
        free(big);
        close(fd);
}

static void test_signature(void **state) {
        _cleanup_free_ char *image = path_of("app.raw"), *sidecar = path_of("app.roothash.p7s");
        _cleanup_free_ char *missing = path_of("missing.p7s");
        VeritySidecars s = VERITY_SIDECARS_INIT;
        VeritySidecarQuery q = {.image = image, .image_fd = -EBADF};

        /* No sidecar: none. A given file that is missing: an error naming it. */
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE, &s, NULL), 0);
        assert_null(s.sig);
        assert_int_equal(s.sig_source, VERITY_SOURCE_NONE);
        Diag d = DIAG_INIT;
        q.root_hash_sig = missing;
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE, &s, &d), -ENOENT);
        assert_string_equal(diag_message(&d), missing);
        diag_done(&d);
        q.root_hash_sig = NULL;

        /* The sidecar, as DER bytes (their syntax is verity_sig_verify()'s to check). */
        write_text("app.roothash.p7s", "DER");
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE, &s, NULL), 0);
        assert_int_equal(s.sig_source, VERITY_SOURCE_SIDECAR);
        assert_string_equal(s.sig_path, sidecar);
        assert_int_equal(s.sig_size, 3);
        assert_memory_equal(s.sig, "DER", 3);
        verity_sidecars_done(&s);

        /* At VERITY_SIG_SIZE_MAX read, one byte more refused; with JSON allowed too (a large
         * file that is no JSON is still a DER signature over the limit). */
        char *big = calloc(1, VERITY_SIG_SIZE_MAX + 1);
        assert_non_null(big);
        write_file("app.roothash.p7s", big, VERITY_SIG_SIZE_MAX);
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE, &s, NULL), 0);
        assert_int_equal(s.sig_size, VERITY_SIG_SIZE_MAX);
        verity_sidecars_done(&s);
        write_file("app.roothash.p7s", big, VERITY_SIG_SIZE_MAX + 1);
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE, &s, NULL), -EFBIG);
        assert_int_equal(
                verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE | VERITY_SIDECAR_SIGNATURE_JSON, &s, NULL), -EFBIG);
        free(big);

        /* The Discoverable Partitions JSON, where the caller takes it ("REVS" is "DER"). */
        _cleanup_free_ char *json = strjoin("{\"rootHash\":\"", hex64, "\",\"signature\":\"REVS\"}");
        write_text("app.roothash.p7s", json);
        assert_int_equal(
                verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE | VERITY_SIDECAR_SIGNATURE_JSON, &s, NULL), 0);
        assert_int_equal(s.sig_size, 3);
        assert_memory_equal(s.sig, "DER", 3);
        assert_string_equal(s.sig_json.root_hash_hex, hex64);
        assert_null(s.sig_json.fingerprint_hex);
        verity_sidecars_done(&s);
        /* Without, it is taken as DER (and fails as such later). */
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE, &s, NULL), 0);
        assert_int_equal(s.sig_size, strlen(json));
        assert_null(s.sig_json.root_hash_hex);
        verity_sidecars_done(&s);
        write_text("app.roothash.p7s", "{\"rootHash\":1}");
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE | VERITY_SIDECAR_SIGNATURE_JSON, &s, NULL),
                -EBADMSG);
        remove_file("app.roothash.p7s");

        /* base64: given on the command line, beats the sidecar. */
        write_text("app.roothash.p7s", "DER");
        q.root_hash_sig = "base64:QUJD";
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE, &s, NULL), 0);
        assert_int_equal(s.sig_source, VERITY_SOURCE_GIVEN);
        assert_null(s.sig_path);
        assert_memory_equal(s.sig, "ABC", 3);
        verity_sidecars_done(&s);
        q.root_hash_sig = "base64:!!";
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_SIGNATURE, &s, &d), -EBADMSG);
        assert_string_equal(diag_message(&d), "base64:!!");
        diag_done(&d);
        remove_file("app.roothash.p7s");
}

/* "base64:" and the base64 of n zero bytes. */
static char *base64_zeros(size_t n) {
        size_t chars = (n + 2) / 3 * 4;
        char *arg = malloc(STRLEN("base64:") + chars + 1);
        assert_non_null(arg);
        strcpy(arg, "base64:");
        char *b = arg + STRLEN("base64:");
        memset(b, 'A', chars);
        if (n % 3 == 1)
                memcpy(b + chars - 2, "==", 2);
        else if (n % 3 == 2)
                b[chars - 1] = '=';
        b[chars] = 0;
        return arg;
}

static void test_signature_base64_limit(void **state) {
        void *sig = NULL;
        size_t size = 0;
        /* What it decodes to: VERITY_SIG_SIZE_MAX bytes, not one more. */
        char *arg = base64_zeros(VERITY_SIG_SIZE_MAX);
        assert_int_equal(verity_signature_from_base64(arg, &sig, &size), 0);
        assert_int_equal(size, VERITY_SIG_SIZE_MAX);
        free(sig);
        free(arg);
        arg = base64_zeros(VERITY_SIG_SIZE_MAX + 1);
        assert_int_equal(verity_signature_from_base64(arg, &sig, &size), -EFBIG);
        free(arg);
        /* Text longer than any such base64 is refused before it is wrapped and parsed. */
        size_t n = 2 * VERITY_SIG_SIZE_MAX + 1;
        arg = malloc(STRLEN("base64:") + n + 1);
        assert_non_null(arg);
        strcpy(arg, "base64:");
        memset(arg + STRLEN("base64:"), '!', n);
        arg[STRLEN("base64:") + n] = 0;
        assert_int_equal(verity_signature_from_base64(arg, &sig, &size), -EFBIG);
        free(arg);
        assert_int_equal(verity_signature_from_base64("QUJD", &sig, &size), -EINVAL);
}

static void test_hash_tree(void **state) {
        _cleanup_free_ char *image = path_of("app.raw"), *sidecar = path_of("app.verity"), *d = path_of("dir");
        VeritySidecars s = VERITY_SIDECARS_INIT;
        VeritySidecarQuery q = {.image = image, .image_fd = -EBADF};

        /* A missing sidecar is no hash tree, and its path stays for the message. */
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_HASH_TREE, &s, NULL), 0);
        assert_true(s.hash_fd < 0);
        assert_int_equal(s.hash_source, VERITY_SOURCE_NONE);
        assert_string_equal(s.hash_path, sidecar);
        verity_sidecars_done(&s);

        write_text("app.verity", "tree");
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_HASH_TREE, &s, NULL), 0);
        assert_true(s.hash_fd >= 0);
        assert_int_equal(s.hash_source, VERITY_SOURCE_SIDECAR);
        assert_string_equal(s.hash_path, sidecar);
        verity_sidecars_done(&s);

        /* Given: missing is an error; a directory or a FIFO is refused without blocking. */
        Diag diag = DIAG_INIT;
        _cleanup_free_ char *missing = path_of("missing.verity"), *fifo = path_of("fifo");
        q.verity_data = missing;
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_HASH_TREE, &s, &diag), -ENOENT);
        assert_string_equal(diag_message(&diag), missing);
        diag_done(&diag);
        assert_int_equal(mkdir(d, 0755), 0);
        q.verity_data = d;
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_HASH_TREE, &s, NULL), -EISDIR);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        q.verity_data = fifo;
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_HASH_TREE, &s, NULL), -EBADFD);
        q.verity_data = sidecar;
        assert_int_equal(verity_sidecars_find(&q, VERITY_SIDECAR_HASH_TREE, &s, NULL), 0);
        assert_int_equal(s.hash_source, VERITY_SOURCE_GIVEN);
        verity_sidecars_done(&s);
        rmdir(d);
        remove_file("fifo");
        remove_file("app.verity");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_root_hash_sources),
                cmocka_unit_test(test_root_hash_limits),
                cmocka_unit_test(test_signature),
                cmocka_unit_test(test_signature_base64_limit),
                cmocka_unit_test(test_hash_tree),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
