/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pull-curl.c through the dlopen()ed libcurl (this test does not link it): the loader resolves its
 * table, a file:// URL is fetched into memory, a body over the limit is -EFBIG and a missing file
 * -ENOENT. No network: http(s) is covered by the integration tests against nginx. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "pull-curl.h"
#include "util.h"

static void test_dlopen(void **state) {
        /* Not mapped until something needs it. */
        void *h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_NOLOAD);
        if (h)
                dlclose(h);
        assert_null(h);
        const char *detail = NULL;
        assert_int_equal(dlopen_libcurl(&detail), 0);
        assert_null(detail);
}

static void test_fetch_file(void **state) {
        char path[] = "/var/tmp/test-pull-curl.XXXXXX";
        int fd = mkostemp(path, O_CLOEXEC);
        assert_true(fd >= 0);
        static const char body[] = "SHA256SUMS would be here\n";
        assert_int_equal(write(fd, body, strlen(body)), (ssize_t) strlen(body));
        close(fd);
        _cleanup_free_ char *url = strjoin("file://", path);
        assert_non_null(url);

        char *buf = NULL;
        size_t size = 0;
        PullResponse resp;
        assert_int_equal(pull_curl_fetch_memory(url, 4096, &buf, &size, &resp), 0);
        assert_int_equal(resp.status, 200);
        assert_int_equal(size, strlen(body));
        assert_string_equal(buf, body);
        free(buf);
        pull_response_done(&resp);

        assert_int_equal(pull_curl_fetch_memory(url, 4, &buf, &size, &resp), -EFBIG);
        pull_response_done(&resp);

        assert_int_equal(unlink(path), 0);
        assert_int_equal(pull_curl_fetch_memory(url, 4096, &buf, &size, &resp), -ENOENT);
        pull_response_done(&resp);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dlopen),
                cmocka_unit_test(test_fetch_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
