/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hidden download files: partials with validators, the cache, locking against a second pull. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <cmocka.h>

#include "pull-download.h"
#include "rm-rf.h"
#include "util.h"

static char dir[] = "/var/tmp/test-pull-download.XXXXXX";
static int dfd = -EBADF;

static int setup(void **state) {
        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        return 0;
}

static int teardown(void **state) {
        rm_rf_children(dfd);
        close(dfd);
        rmdir(dir);
        return 0;
}

static bool have_user_xattrs(void) {
        int fd = openat(dfd, "x", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        bool ok = fd >= 0 && fsetxattr(fd, "user.t", "1", 1, 0) >= 0;
        close(fd);
        unlinkat(dfd, "x", 0);
        return ok;
}

static void test_partial_and_cache(void **state) {
        if (!have_user_xattrs())
                skip();
        const char *url = "http://example.com/a.tar.xz";
        PullDownload *d = NULL;
        assert_int_equal(pull_download_open(dfd, url, &d), 0);
        assert_true(d->fd < 0);
        assert_true(d->cache_fd < 0);
        assert_true(startswith(d->partial_name, PULL_PARTIAL_PREFIX));

        /* A second pull of the same URL is refused while this one runs. */
        PullDownload *d2 = NULL;
        assert_int_equal(pull_download_open(dfd, url, &d2), -EBUSY);

        assert_int_equal(pull_download_begin(d, true, "\"etag-1\"", "Mon, 01 Jan 2024 00:00:00 GMT"), 0);
        assert_int_equal(pull_download_append(d, "hello ", 6), 0);
        d = pull_download_free(d);

        /* Interrupted: the next pull finds the partial with its validators. */
        assert_int_equal(pull_download_open(dfd, url, &d), 0);
        assert_true(d->fd >= 0);
        assert_int_equal(d->size, 6);
        assert_string_equal(d->partial.etag, "\"etag-1\"");
        assert_string_equal(d->partial.last_modified, "Mon, 01 Jan 2024 00:00:00 GMT");
        /* Resumed (206): the bytes stay, new ones are appended. */
        assert_int_equal(pull_download_begin(d, false, "\"etag-1\"", NULL), 0);
        assert_int_equal(pull_download_append(d, "world", 5), 0);
        assert_int_equal(d->size, 11);
        assert_int_equal(pull_download_complete(d, true), 0);
        d = pull_download_free(d);

        /* Kept: the cache entry has the whole file and the validators. */
        assert_int_equal(pull_download_open(dfd, url, &d), 0);
        assert_true(d->fd < 0);
        assert_true(d->cache_fd >= 0);
        assert_int_equal(d->cache_size, 11);
        assert_string_equal(d->cache.etag, "\"etag-1\"");
        char buf[16] = {};
        assert_int_equal(pread(d->cache_fd, buf, sizeof(buf), 0), 11);
        assert_string_equal(buf, "hello world");
        /* Another URL does not see it. */
        PullDownload *o = NULL;
        assert_int_equal(pull_download_open(dfd, "http://example.com/b.tar.xz", &o), 0);
        assert_true(o->cache_fd < 0 && o->fd < 0);
        o = pull_download_free(o);
        /* Used without --keep-download: removed. */
        assert_int_equal(pull_download_cache_used(d, false), 0);
        d = pull_download_free(d);
        assert_int_equal(pull_download_open(dfd, url, &d), 0);
        assert_true(d->cache_fd < 0);

        /* A 200 instead of a 206 starts over. */
        assert_int_equal(pull_download_begin(d, true, NULL, NULL), 0);
        assert_int_equal(pull_download_append(d, "abc", 3), 0);
        d = pull_download_free(d);
        assert_int_equal(pull_download_open(dfd, url, &d), 0);
        assert_int_equal(d->size, 3);
        assert_null(d->partial.etag); /* no validators: not resumable */
        assert_int_equal(pull_download_begin(d, true, "\"e2\"", NULL), 0);
        assert_int_equal(d->size, 0);
        assert_int_equal(pull_download_discard(d), 0);
        d = pull_download_free(d);
        assert_int_equal(faccessat(dfd, ".#pull-partial.x", F_OK, 0), -1);
}

static void test_foreign_entry(void **state) {
        if (!have_user_xattrs())
                skip();
        /* An entry at our name whose URL xattr names another URL, or a symlink, is ignored. */
        const char *url = "http://example.com/c.raw";
        _cleanup_free_ char *h = NULL, *name = NULL;
        assert_int_equal(pull_url_hash(url, &h), 0);
        name = strjoin(PULL_PARTIAL_PREFIX, h);
        int fd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(fsetxattr(fd, "user.cowpen.url", "http://evil/", 12, 0), 0);
        assert_int_equal(write(fd, "xx", 2), 2);
        close(fd);
        PullDownload *d = NULL;
        assert_int_equal(pull_download_open(dfd, url, &d), 0);
        assert_true(d->fd < 0);
        d = pull_download_free(d);
        assert_int_equal(unlinkat(dfd, name, 0), 0);
        assert_int_equal(symlinkat("/etc/passwd", dfd, name), 0);
        assert_int_equal(pull_download_open(dfd, url, &d), -ELOOP);
        unlinkat(dfd, name, 0);

        /* URLs over the limit are refused. */
        char *longurl = malloc(PULL_URL_MAX + 2);
        memset(longurl, 'a', PULL_URL_MAX + 1);
        longurl[PULL_URL_MAX + 1] = 0;
        assert_int_equal(pull_download_open(dfd, longurl, &d), -ENAMETOOLONG);
        longurl[PULL_URL_MAX] = 0;
        assert_int_equal(pull_download_open(dfd, longurl, &d), 0);
        d = pull_download_free(d);
        free(longurl);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_partial_and_cache),
                cmocka_unit_test(test_foreign_entry),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
