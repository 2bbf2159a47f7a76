/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dlopen-util.c: a real library (zlib, which this test does not link, so it is not mapped before)
 * loads and its functions work; a library that is not installed, one that is not a library, and
 * one that lacks a symbol give -ELIBACC/-ELIBBAD with a detail naming the library (and the symbol);
 * the result is final; and threads loading at once all see the one load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "dlopen-util.h"

static typeof(zlibVersion) *sym_zlibVersion;
static typeof(crc32) *sym_crc32;
static typeof(adler32) *sym_adler32;

static const DlopenSymbol zlib_symbols[] = {
        DLSYM(zlibVersion),
        DLSYM(crc32),
        {},
};

static bool zlib_mapped(void) {
        /* RTLD_NOLOAD: a handle only when it is mapped already (and then one more reference). */
        void *h = dlopen(ZLIB_SONAME, RTLD_NOW | RTLD_NOLOAD);
        if (h)
                dlclose(h);
        return h;
}

static void test_real_library(void **state) {
        static DlopenLibrary zlib_library = DLOPEN_LIBRARY_INIT(ZLIB_SONAME, zlib_symbols);
        /* Nothing of this test links zlib (--as-needed), so only the loader can map it. */
        assert_false(zlib_mapped());
        assert_null(sym_zlibVersion);

        const char *detail = "untouched";
        assert_int_equal(dlopen_library(&zlib_library, &detail), 0);
        assert_string_equal(detail, "untouched"); /* written only on failure */
        assert_true(zlib_mapped());
        assert_non_null(sym_zlibVersion);
        assert_non_null(sym_crc32);
        /* The functions are the library's: same major version as the header, known CRC. */
        assert_int_equal(sym_zlibVersion()[0], ZLIB_VERSION[0]);
        assert_int_equal(sym_crc32(0, (const Bytef *) "123456789", 9), 0xCBF43926UL);

        /* Again: nothing new, same pointers. */
        typeof(sym_crc32) before = sym_crc32;
        assert_int_equal(dlopen_library(&zlib_library, NULL), 0);
        assert_ptr_equal(sym_crc32, before);
}

static void test_missing_library(void **state) {
        static typeof(zlibVersion) *sym_never;
        static const DlopenSymbol symbols[] = {
                {.fn = &sym_never, .name = "zlibVersion"},
                {},
        };
        static DlopenLibrary lib = DLOPEN_LIBRARY_INIT("libcowpen-not-installed.so.7", symbols);

        const char *detail = NULL;
        assert_int_equal(dlopen_library(&lib, &detail), -ELIBACC);
        assert_string_equal(detail, "libcowpen-not-installed.so.7 is not installed");
        assert_true(dlopen_error_is_library(-ELIBACC));
        assert_null(sym_never);

        /* Final: the same error and the same detail, without trying again. */
        const char *again = NULL;
        assert_int_equal(dlopen_library(&lib, &again), -ELIBACC);
        assert_ptr_equal(again, detail);
        assert_int_equal(dlopen_library(&lib, NULL), -ELIBACC);
}

static void test_not_a_library(void **state) {
        /* A file that exists but is no ELF object: quoted, not "not installed". */
        char path[] = "/var/tmp/test-dlopen-util.XXXXXX";
        int fd = mkostemp(path, O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
        close(fd);
        static const DlopenSymbol none[] = {{}};
        DlopenLibrary lib = DLOPEN_LIBRARY_INIT(path, none);
        const char *detail = NULL;
        assert_int_equal(dlopen_library(&lib, &detail), -ELIBACC);
        assert_int_equal(unlink(path), 0);
        assert_non_null(detail);
        assert_true(strncmp(detail, path, strlen(path)) == 0);
        assert_non_null(strstr(detail, " cannot be loaded: "));
        pthread_mutex_destroy(&lib.lock);
}

static void test_missing_symbol(void **state) {
        static typeof(adler32) *sym_cowpen_no_such_function;
        static const DlopenSymbol symbols[] = {
                DLSYM(adler32),
                {.fn = &sym_cowpen_no_such_function, .name = "cowpen_no_such_function"},
                {},
        };
        static DlopenLibrary lib = DLOPEN_LIBRARY_INIT(ZLIB_SONAME, symbols);

        const char *detail = NULL;
        assert_int_equal(dlopen_library(&lib, &detail), -ELIBBAD);
        assert_string_equal(detail, ZLIB_SONAME " lacks the symbol cowpen_no_such_function");
        assert_true(dlopen_error_is_library(-ELIBBAD));
        assert_false(dlopen_error_is_library(-ENOENT));
        /* Nothing half-resolved: adler32 came before the missing one and was reset. */
        assert_null(sym_adler32);
        assert_null(sym_cowpen_no_such_function);
        assert_int_equal(dlopen_library(&lib, NULL), -ELIBBAD);
}

/* Many threads load one library at once: every one returns 0 and finds the pointers set (a
 * thread that returned before the load was complete would see NULL). */
static typeof(deflateBound) *sym_deflateBound;
static const DlopenSymbol deflate_symbols[] = {
        DLSYM(deflateBound),
        {},
};
static DlopenLibrary deflate_library = DLOPEN_LIBRARY_INIT(ZLIB_SONAME, deflate_symbols);
static pthread_barrier_t barrier;

static void *load_thread(void *userdata) {
        pthread_barrier_wait(&barrier);
        int r = dlopen_library(&deflate_library, NULL);
        if (r < 0)
                return (void *) (intptr_t) r;
        /* Read without any lock of ours: the acquire in dlopen_library() must order it. */
        return (void *) (intptr_t) (sym_deflateBound ? 0 : -EFAULT);
}

static void test_threads(void **state) {
        enum { N = 16 };
        pthread_t t[N];
        assert_int_equal(pthread_barrier_init(&barrier, NULL, N), 0);
        for (int i = 0; i < N; i++)
                assert_int_equal(pthread_create(&t[i], NULL, load_thread, NULL), 0);
        for (int i = 0; i < N; i++) {
                void *ret;
                assert_int_equal(pthread_join(t[i], &ret), 0);
                assert_int_equal((intptr_t) ret, 0);
        }
        pthread_barrier_destroy(&barrier);
        assert_non_null(deflate_library.handle);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_real_library),
                cmocka_unit_test(test_missing_library),
                cmocka_unit_test(test_not_a_library),
                cmocka_unit_test(test_missing_symbol),
                cmocka_unit_test(test_threads),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
