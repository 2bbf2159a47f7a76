/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image store on a plain directory: discovery, temp entries and atomic publish, locks,
 * clean, os-release parsing through hostile symlinks. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#include "fd-util.h"
#include "image.h"
#include "lock.h"
#include "rm-rf.h"
#include "util.h"

static char root_path[64];

static int setup(void **state) {
        strcpy(root_path, "/var/tmp/test-image.XXXXXX");
        assert_non_null(mkdtemp(root_path));
        ImageRoot *root;
        assert_int_equal(image_root_open(root_path, false, &root), 0);
        *state = root;
        return 0;
}

static int teardown(void **state) {
        ImageRoot *root = *state;
        assert_int_equal(rm_rf_children(root->fd), 0);
        image_root_free(root);
        rmdir(root_path);
        return 0;
}

static int write_at(int dir_fd, const char *path, const char *text) {
        int fd = openat(dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        int r = loop_write(fd, text, strlen(text));
        close(fd);
        return r;
}

static size_t count_hidden(ImageRoot *root) {
        DIR *d = opendir(root->path);
        struct dirent *de;
        size_t n = 0;
        while ((de = readdir(d)))
                if (startswith(de->d_name, ".#"))
                        n++;
        closedir(d);
        return n;
}

static void test_temp_publish(void **state) {
        ImageRoot *root = *state;
        ImageTemp *t;
        assert_int_equal(image_temp_new(root, "import-tar", "one", IMAGE_DIRECTORY, 0, &t), 0);
        assert_true(startswith(t->temp_name, ".#import-tar.one."));
        assert_int_equal(write_at(t->fd, "file", "x"), 0);
        int sfd;
        assert_int_equal(image_temp_sidecar(t, ".nspawn", &sfd), 0);
        assert_int_equal(loop_write(sfd, "[Exec]\n", 7), 0);
        close(sfd);

        /* Not visible before publish, and a second creator of the name loses. */
        Image *i = NULL;
        assert_int_equal(image_find(root, "one", &i), -ENOENT);
        ImageTemp *t2 = NULL;
        assert_int_equal(image_temp_new(root, "import-tar", "one", IMAGE_DIRECTORY, 0, &t2), -EBUSY);

        assert_int_equal(image_temp_publish(t, false), 0);
        image_temp_free(t);
        assert_int_equal(image_find(root, "one", &i), 0);
        assert_string_equal(i->name, "one");
        assert_int_equal(i->type, IMAGE_DIRECTORY);
        image_free(i);
        assert_int_equal(faccessat(root->fd, "one.nspawn", F_OK, 0), 0);
        assert_int_equal(count_hidden(root), 0); /* locks released and unlinked */

        /* Now it exists: refused without force, replaced with force. */
        assert_int_equal(image_temp_new(root, "import-tar", "one", IMAGE_DIRECTORY, 0, &t2), -EEXIST);
        assert_int_equal(image_temp_new(root, "import-tar", "one", IMAGE_DIRECTORY, IMAGE_TEMP_FORCE, &t2), 0);
        assert_int_equal(write_at(t2->fd, "other", "y"), 0);
        assert_int_equal(image_temp_publish(t2, true), 0);
        image_temp_free(t2);
        assert_int_equal(faccessat(root->fd, "one/other", F_OK, 0), 0);
        assert_int_equal(faccessat(root->fd, "one/file", F_OK, 0), -1);
        /* The old sidecar went with the old image. */
        assert_int_equal(faccessat(root->fd, "one.nspawn", F_OK, 0), -1);
        assert_int_equal(image_find(root, "one", &i), 0);
        assert_true(i->read_only);
        image_free(i);
        assert_int_equal(image_remove(root, "one"), 0);
        assert_int_equal(count_hidden(root), 0);
}

static void test_temp_abandon(void **state) {
        ImageRoot *root = *state;
        ImageTemp *t;
        assert_int_equal(image_temp_new(root, "import-tar", "gone", IMAGE_RAW, 0, &t), 0);
        assert_int_equal(loop_write(t->fd, "raw", 3), 0);
        int sfd;
        assert_int_equal(image_temp_sidecar(t, ".roothash", &sfd), 0);
        close(sfd);
        assert_int_equal(count_hidden(root), 4); /* entry, its lock, sidecar, name lock */
        image_temp_free(t);
        assert_int_equal(count_hidden(root), 0);
        Image *i;
        assert_int_equal(image_find(root, "gone", &i), -ENOENT);
}

static void test_discover(void **state) {
        ImageRoot *root = *state;
        assert_int_equal(mkdirat(root->fd, "b-dir", 0755), 0);
        assert_int_equal(write_at(root->fd, "a-raw.raw", "disk"), 0);
        assert_int_equal(mkdirat(root->fd, ".hidden", 0755), 0);
        assert_int_equal(write_at(root->fd, "not-an-image.txt", "x"), 0);
        assert_int_equal(write_at(root->fd, "b-dir.nspawn", "x"), 0);
        assert_int_equal(symlinkat("/etc", root->fd, "link"), 0);

        Image **l;
        size_t n;
        assert_int_equal(image_discover(root, false, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(l[0]->name, "a-raw");
        assert_int_equal(l[0]->type, IMAGE_RAW);
        assert_string_equal(l[0]->filename, "a-raw.raw");
        assert_string_equal(l[1]->name, "b-dir");
        image_list_free(l, n);
        assert_int_equal(image_discover(root, true, &l, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(l[0]->name, ".hidden");
        image_list_free(l, n);

        /* Raw read-only is the write bits. */
        Image *i;
        assert_int_equal(image_set_read_only(root, "a-raw", true, NULL), 0);
        assert_int_equal(image_find(root, "a-raw", &i), 0);
        assert_true(i->read_only);
        image_free(i);
        struct stat st;
        assert_int_equal(fstatat(root->fd, "a-raw.raw", &st, 0), 0);
        assert_int_equal(st.st_mode & 0222, 0);
        assert_int_equal(image_set_read_only(root, "a-raw", false, NULL), 0);
        assert_int_equal(image_remove(root, "a-raw"), 0);
        assert_int_equal(image_remove(root, "b-dir"), 0);
        assert_int_equal(faccessat(root->fd, "b-dir.nspawn", F_OK, 0), -1);
        assert_int_equal(unlinkat(root->fd, "link", 0), 0);
        assert_int_equal(unlinkat(root->fd, ".hidden", AT_REMOVEDIR), 0);
        assert_int_equal(unlinkat(root->fd, "not-an-image.txt", 0), 0);
}

/* Issue 12: both/ and both.raw were listed twice under one name while every verb meant the
 * directory (image_find). One entry per name now, the one the lookup picks, which says it hides
 * the raw file. */
static void test_discover_one_entry_per_name(void **state) {
        ImageRoot *root = *state;
        assert_int_equal(mkdirat(root->fd, "both", 0755), 0);
        assert_int_equal(write_at(root->fd, "both.raw", "disk"), 0);
        assert_int_equal(write_at(root->fd, "alone.raw", "disk"), 0);
        assert_int_equal(mkdirat(root->fd, "dir", 0755), 0);
        assert_int_equal(mkdirat(root->fd, ".#hidden", 0755), 0);
        assert_int_equal(write_at(root->fd, ".#hidden.raw", "disk"), 0);

        Image **l;
        size_t n;
        assert_int_equal(image_discover(root, false, &l, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(l[0]->name, "alone");
        assert_false(l[0]->shadows_raw);
        assert_string_equal(l[1]->name, "both");
        assert_int_equal(l[1]->type, IMAGE_DIRECTORY);
        assert_string_equal(l[1]->filename, "both");
        assert_true(l[1]->shadows_raw);
        assert_string_equal(l[2]->name, "dir");
        assert_false(l[2]->shadows_raw);
        image_list_free(l, n);
        assert_int_equal(image_discover(root, true, &l, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(l[0]->name, ".#hidden");
        assert_true(l[0]->shadows_raw);
        image_list_free(l, n);

        /* The lookup: the same entry, saying the same. */
        Image *i;
        assert_int_equal(image_find(root, "both", &i), 0);
        assert_int_equal(i->type, IMAGE_DIRECTORY);
        assert_true(i->shadows_raw);
        image_free(i);
        assert_int_equal(image_find(root, "dir", &i), 0);
        assert_false(i->shadows_raw);
        image_free(i);

        /* Removing it removes the directory; then the raw file is the image of that name. */
        assert_int_equal(image_remove(root, "both"), 0);
        assert_int_equal(image_find(root, "both", &i), 0);
        assert_int_equal(i->type, IMAGE_RAW);
        assert_false(i->shadows_raw);
        image_free(i);
}

static void test_os_release(void **state) {
        ImageRoot *root = *state;
        assert_int_equal(mkdirat(root->fd, "os", 0755), 0);
        assert_int_equal(mkdirat(root->fd, "os/etc", 0755), 0);
        assert_int_equal(mkdirat(root->fd, "os/usr", 0755), 0);
        assert_int_equal(mkdirat(root->fd, "os/usr/lib", 0755), 0);
        /* An absolute symlink must resolve inside the image, not on the host. */
        assert_int_equal(symlinkat("/usr/lib/os-release", root->fd, "os/etc/os-release"), 0);
        assert_int_equal(write_at(root->fd, "os/usr/lib/os-release",
                                  "# comment\nNAME=\"Gentoo\"\nID=gentoo\nPRETTY_NAME='Gentoo Linux'\n"
                                  "QUOTED=\"a \\\"b\\\" \\\\c\"\nbad key=1\nVERSION_ID=2.17 trailing\n"),
                         0);
        Image *i;
        assert_int_equal(image_find(root, "os", &i), 0);
        assert_int_equal(image_read_details(root, i, true), 0);
        const char *want[] = { "NAME", "Gentoo", "ID", "gentoo", "PRETTY_NAME", "Gentoo Linux",
                               "QUOTED", "a \"b\" \\c", "VERSION_ID", "2.17", NULL };
        for (size_t k = 0; want[k]; k++)
                assert_string_equal(i->os_release[k], want[k]);
        assert_null(i->os_release[10]);
        assert_true(i->usage != UINT64_MAX && i->usage > 0);
        image_free(i);

        /* ../../../ escapes stay inside too; a symlink to a host file gives nothing. */
        assert_int_equal(unlinkat(root->fd, "os/etc/os-release", 0), 0);
        assert_int_equal(unlinkat(root->fd, "os/usr/lib/os-release", 0), 0);
        assert_int_equal(symlinkat("../../../../../../etc/hostname", root->fd, "os/etc/os-release"), 0);
        assert_int_equal(image_find(root, "os", &i), 0);
        assert_int_equal(image_read_details(root, i, false), 0);
        assert_null(i->os_release);
        image_free(i);

        /* Over the size limit: ignored whole, not truncated (the image is still shown). */
        assert_int_equal(unlinkat(root->fd, "os/etc/os-release", 0), 0);
        int fd = openat(root->fd, "os/etc/os-release", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 64 * 1024 + 1), 0);
        close(fd);
        assert_int_equal(image_find(root, "os", &i), 0);
        assert_int_equal(image_read_details(root, i, false), 0);
        assert_null(i->os_release);
        image_free(i);
        assert_int_equal(image_remove(root, "os"), 0);
}

static void test_locks(void **state) {
        ImageRoot *root = *state;
        ImageLock a = IMAGE_LOCK_NULL, b = IMAGE_LOCK_NULL, c = IMAGE_LOCK_NULL;
        assert_int_equal(image_lock(root, "x", false, &a), 0);
        assert_int_equal(image_lock(root, "x", false, &b), 0); /* readers share */
        assert_int_equal(image_lock(root, "x", true, &c), -EBUSY);
        assert_int_equal(lock_file_is_held(root->fd, ".#x.lck"), 1);
        image_lock_release(&a);
        assert_int_equal(image_lock(root, "x", true, &c), -EBUSY);
        image_lock_release(&b);
        assert_int_equal(image_lock(root, "x", true, &c), 0);
        image_lock_release(&c);
        assert_int_equal(faccessat(root->fd, ".#x.lck", F_OK, 0), -1); /* unlinked when free */

        /* Names too long for ".#NAME.lck" get a hashed lock name. */
        char longname[256];
        memset(longname, 'q', 255);
        longname[255] = 0;
        assert_int_equal(image_lock(root, longname, true, &a), 0);
        assert_true(strlen(a.name) < 255);
        assert_int_equal(image_lock(root, longname, true, &b), -EBUSY);
        image_lock_release(&a);
}

static void test_clean(void **state) {
        ImageRoot *root = *state;
        /* A stale hidden entry (no lock held) with sidecar and lock file: removed. */
        assert_int_equal(mkdirat(root->fd, ".#import-tar.x.0011223344556677", 0755), 0);
        assert_int_equal(write_at(root->fd, ".#import-tar.x.0011223344556677/file", "x"), 0);
        assert_int_equal(write_at(root->fd, ".#import-tar.x.0011223344556677.roothash", "x"), 0);
        assert_int_equal(write_at(root->fd, ".#import-tar.x.0011223344556677.lck", ""), 0);
        /* A live one: kept. */
        assert_int_equal(mkdirat(root->fd, ".#machine.y.00aa22bb33cc44dd", 0755), 0);
        ImageLock live = IMAGE_LOCK_NULL;
        assert_int_equal(image_hidden_lock(root->fd, ".#machine.y.00aa22bb33cc44dd", &live), 0);
        /* A hidden image that is not a .# entry: only with all. */
        assert_int_equal(mkdirat(root->fd, ".old", 0755), 0);
        /* Another tool's fresh hidden entry (no cowpen lock, no cowpen name): kept, even with all. */
        assert_int_equal(mkdirat(root->fd, ".#foreign1234", 0755), 0);
        /* A kind cowpen does not use is refused as a hidden name. */
        char *bad = NULL;
        assert_int_equal(image_hidden_name("nonsense", "x", &bad), -EINVAL);

        assert_int_equal(image_clean(root, false, NULL, NULL), 0);
        assert_int_equal(faccessat(root->fd, ".#import-tar.x.0011223344556677", F_OK, 0), -1);
        assert_int_equal(faccessat(root->fd, ".#import-tar.x.0011223344556677.roothash", F_OK, 0), -1);
        assert_int_equal(faccessat(root->fd, ".#import-tar.x.0011223344556677.lck", F_OK, 0), -1);
        assert_int_equal(faccessat(root->fd, ".#machine.y.00aa22bb33cc44dd", F_OK, 0), 0);
        assert_int_equal(faccessat(root->fd, ".#machine.y.00aa22bb33cc44dd.lck", F_OK, 0), 0);
        assert_int_equal(faccessat(root->fd, ".old", F_OK, 0), 0);

        assert_int_equal(image_clean(root, true, NULL, NULL), 0);
        assert_int_equal(faccessat(root->fd, ".old", F_OK, 0), -1);
        assert_int_equal(faccessat(root->fd, ".#machine.y.00aa22bb33cc44dd", F_OK, 0), 0);
        assert_int_equal(faccessat(root->fd, ".#foreign1234", F_OK, 0), 0);
        /* Released, the lock file is unlinked: without it the entry is not provably cowpen's
         * (another tool could use such a name) and waits like a foreign one. */
        image_lock_release(&live);
        assert_int_equal(image_clean(root, false, NULL, NULL), 0);
        assert_int_equal(count_hidden(root), 2);
        /* Once nothing in them changed for over an hour, they go too. */
        struct timespec old_ts[2] = { { 0, UTIME_OMIT }, { time(NULL) - 2 * 3600, 0 } };
        assert_int_equal(utimensat(root->fd, ".#foreign1234", old_ts, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(utimensat(root->fd, ".#machine.y.00aa22bb33cc44dd", old_ts, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(image_clean(root, false, NULL, NULL), 0);
        assert_int_equal(count_hidden(root), 0);
}

/* image_raw_ref_open(): a raw image found, checked and held with a shared lock (the verity verbs'
 * NAME); what is not one is said. */
static void test_raw_ref(void **state) {
        ImageRoot *root = *state;
        assert_int_equal(write_at(root->fd, "disk.raw", "data"), 0);
        assert_int_equal(mkdirat(root->fd, "tree", 0755), 0);

        _cleanup_diag_ Diag d = DIAG_INIT;
        ImageRawRef ref = IMAGE_RAW_REF_NULL;
        assert_int_equal(image_raw_ref_open(root_path, "disk", &ref, &d), 0);
        assert_false(diag_failed(&d));
        assert_true(endswith(ref.path, "/disk.raw"));
        /* Held shared: a writer is refused, another reader is not. */
        ImageLock l = IMAGE_LOCK_NULL;
        assert_int_equal(image_lock(root, "disk", true, &l), -EBUSY);
        assert_int_equal(image_lock(root, "disk", false, &l), 0);
        image_lock_release(&l);
        image_raw_ref_done(&ref);
        assert_null(ref.path);
        assert_int_equal(image_lock(root, "disk", true, &l), 0);
        image_lock_release(&l);
        image_raw_ref_done(&ref); /* twice is fine */

        assert_int_equal(image_raw_ref_open(root_path, "tree", &ref, &d), -EMEDIUMTYPE);
        assert_string_equal(d.cause, "image is a directory, not a raw image");
        assert_null(d.object);
        diag_clear_failure(&d);
        assert_int_equal(image_raw_ref_open(root_path, "nothing", &ref, &d), -ENOENT);
        assert_false(diag_failed(&d));
        assert_int_equal(image_raw_ref_open("/nonexistent-image-root", "disk", &ref, &d), -ENOENT);
        assert_string_equal(d.object, "/nonexistent-image-root");
        assert_null(ref.path);
}

static void test_hidden_name(void **state) {
        char longname[256];
        memset(longname, 'n', 255);
        longname[255] = 0;
        char *h;
        assert_int_equal(image_hidden_name("machine", longname, &h), 0);
        assert_true(startswith(h, ".#machine.nnn"));
        /* Room left for ".lck" and the longest sidecar suffix. */
        assert_true(strlen(h) + strlen(".roothash.p7s") + strlen(".lck") <= 255);
        free(h);
        assert_int_equal(image_hidden_name("machine", "x", &h), 0);
        char *h2;
        assert_int_equal(image_hidden_name("machine", "x", &h2), 0);
        assert_string_not_equal(h, h2); /* never reused */
        free(h);
        free(h2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_temp_publish, setup, teardown),
                cmocka_unit_test_setup_teardown(test_temp_abandon, setup, teardown),
                cmocka_unit_test_setup_teardown(test_discover, setup, teardown),
                cmocka_unit_test_setup_teardown(test_discover_one_entry_per_name, setup, teardown),
                cmocka_unit_test_setup_teardown(test_os_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_locks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
                cmocka_unit_test_setup_teardown(test_raw_ref, setup, teardown),
                cmocka_unit_test(test_hidden_name),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
