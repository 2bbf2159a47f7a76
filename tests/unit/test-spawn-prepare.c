/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "image.h"
#include "rm-rf.h"
#include "util.h"

/* The prepared roots the image store hands to the spawn engine: -D, -M, --template, -x, and how
 * preparing a raw image fails. */

static char *base;

static char *path_of(const char *rel) {
        char *p = strjoin(base, "/", rel);
        assert_non_null(p);
        return p;
}

static void make_os_tree(const char *rel) {
        _cleanup_free_ char *p = path_of(rel), *etc = strjoin(p, "/etc"), *f = strjoin(p, "/etc/os-release");
        assert_int_equal(mkdir(p, 0755), 0);
        assert_int_equal(mkdir(etc, 0755), 0);
        int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "ID=test\n", 8), 8);
        close(fd);
}

static int setup(void **state) {
        char t[] = "/var/tmp/test-spawn-prepare.XXXXXX";
        assert_non_null(mkdtemp(t));
        base = strdup(t);
        make_os_tree("tree");
        _cleanup_free_ char *m = path_of("machines"), *e = path_of("empty"), *raw = path_of("machines/disk.raw");
        assert_int_equal(mkdir(m, 0700), 0);
        assert_int_equal(mkdir(e, 0755), 0);
        make_os_tree("machines/img");
        int fd = open(raw, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
        return 0;
}

static int teardown(void **state) {
        (void) rm_rf_at(AT_FDCWD, base);
        free(base);
        return 0;
}

static size_t count_hidden(const char *dir) {
        _cleanup_free_ char *p = path_of(dir);
        DIR *d = opendir(p);
        assert_non_null(d);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (startswith(de->d_name, ".#machine.") && !endswith(de->d_name, ".lck"))
                        n++;
        closedir(d);
        return n;
}

static void test_directory(void **state) {
        _cleanup_free_ char *tree = path_of("tree"), *empty = path_of("empty"), *missing = path_of("missing");
        PreparedRoot *p = NULL;
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = tree }, "/nonexistent", &p, NULL), 0);
        assert_int_equal(p->kind, PREPARED_IN_PLACE);
        assert_string_equal(p->path, tree);
        assert_string_equal(p->machine, "tree");
        assert_string_equal(p->parent_path, base);

        /* a writable run holds the directory exclusively; a second one is refused */
        PreparedRoot *q = NULL;
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = tree }, "/nonexistent", &q, NULL), -EBUSY);
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = tree, .read_only = true }, "/nonexistent", &q, NULL),
                         -EBUSY);
        prepared_root_free(p);

        /* read-only runs and -x share */
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = tree, .read_only = true }, "/x", &p, NULL), 0);
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = tree, .ephemeral = true, .machine = "m" }, "/x", &q, NULL),
                         0);
        assert_string_equal(q->machine, "m");
        prepared_root_free(q);
        prepared_root_free(p);

        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = missing }, "/x", &p, NULL), -ENOENT);
        /* A tree without os-release is prepared (nspawn runs commands in it; only booting needs
         * an OS tree, which the caller checks): issue 12. */
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = empty }, "/x", &p, NULL), 0);
        assert_int_equal(dir_is_os_tree(p->fd), 0);
        assert_int_equal(dir_has_usr(p->fd), 0);
        prepared_root_free(p);
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = tree }, "/x", &p, NULL), 0);
        assert_int_equal(dir_is_os_tree(p->fd), 1);
        prepared_root_free(p);
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = "/" }, "/x", &p, NULL), -EINVAL);
        assert_int_equal(count_hidden("."), 0);
}

static void test_template(void **state) {
        _cleanup_free_ char *tree = path_of("tree"), *made = path_of("made"), *f = path_of("made/etc/os-release");
        PreparedRoot *p = NULL;
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = made, .template_dir = tree }, "/x", &p, NULL), 0);
        assert_true(p->populated_from_template);
        assert_int_equal(access(f, F_OK), 0);
        prepared_root_free(p);
        /* now it exists: used as it is */
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = made, .template_dir = "/nonexistent" }, "/x", &p, NULL), 0);
        assert_false(p->populated_from_template);
        prepared_root_free(p);
}

static void test_machine(void **state) {
        _cleanup_free_ char *root = path_of("machines"), *upper = NULL;
        PreparedRoot *p = NULL;
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .machine = "img" }, root, &p, NULL), 0);
        assert_string_equal(p->image_name, "img");
        assert_string_equal(p->parent_path, root);
        prepared_root_free(p);
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .machine = "nosuch" }, root, &p, NULL), -ENOENT);
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .machine = "disk" }, root, &p, NULL), -EOPNOTSUPP);

        /* -x on a plain directory: an overlay entry, hidden, next to the image, gone on free */
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .machine = "img", .ephemeral = true }, root, &p, NULL), 0);
        assert_int_equal(p->kind, PREPARED_OVERLAY);
        assert_true(startswith(p->hidden_name, ".#machine.img."));
        assert_int_equal(count_hidden("machines"), 1);
        struct stat st;
        assert_int_equal(stat(p->overlay_upper, &st), 0);
        assert_int_equal(stat(p->overlay_work, &st), 0);
        assert_int_equal(stat(p->overlay_mountpoint, &st), 0);
        assert_true(startswith(p->overlay_upper, root));
        /* a second -x of the same image gets its own entry */
        PreparedRoot *q = NULL;
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .machine = "img", .ephemeral = true }, root, &q, NULL), 0);
        assert_string_not_equal(q->hidden_name, p->hidden_name);
        assert_int_equal(count_hidden("machines"), 2);
        prepared_root_free(q);
        prepared_root_free(p);
        assert_int_equal(count_hidden("machines"), 0);
}

/* Raw images, where preparing one fails before anything is mounted: the Diag names the file as
 * it was given (-M NAME: IMAGE_ROOT/NAME.raw) and says why; a directory's failures record none. */
static void test_raw_failures(void **state) {
        _cleanup_free_ char *root = path_of("machines"), *tree = path_of("tree"), *missing = path_of("missing.raw");
        _cleanup_free_ char *disk = strjoin(root, "/disk.raw");
        PreparedRoot *p = NULL;
        Diag d = DIAG_INIT;

        assert_int_equal(prepared_root_new(&(PrepareOptions) { .machine = "disk", .raw_images = true }, root, &p, &d),
                         -ENXIO);
        assert_null(p);
        assert_string_equal(d.object, disk);
        assert_string_equal(d.cause, "no root partition or file system found");
        diag_done(&d);

        assert_int_equal(prepared_root_new(&(PrepareOptions) { .image = tree, .raw_images = true }, "/x", &p, &d),
                         -EISDIR);
        _cleanup_free_ char *msg = strjoin(tree, ": not a regular file or block device");
        assert_string_equal(diag_message(&d), msg);
        diag_done(&d);

        assert_int_equal(prepared_root_new(&(PrepareOptions) { .image = missing, .raw_images = true }, "/x", &p, &d),
                         -ENOENT);
        assert_string_equal(d.cause, "open image: No such file or directory");
        diag_done(&d);

        /* -i FILE is named as given; the policy string is parsed where the image is prepared. */
        _cleanup_free_ char *raw = path_of("machines/disk.raw");
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .image = raw, .raw_images = true, .image_policy = "~" },
                                 "/x", &p, &d),
                         -ENXIO);
        assert_string_equal(d.object, raw);
        diag_done(&d);

        /* Without raw_images a raw image is not prepared, and nothing is recorded. */
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .image = raw }, "/x", &p, &d), -EOPNOTSUPP);
        assert_false(diag_failed(&d));
        assert_int_equal(prepared_root_new(&(PrepareOptions) { .directory = missing }, "/x", &p, &d), -ENOENT);
        assert_false(diag_failed(&d));
        diag_done(&d);
}

int main(void) {
        if (geteuid() != 0)
                return 77; /* locks, chown of the upper layer */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_template, setup, teardown),
                cmocka_unit_test_setup_teardown(test_machine, setup, teardown),
                cmocka_unit_test_setup_teardown(test_raw_failures, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
