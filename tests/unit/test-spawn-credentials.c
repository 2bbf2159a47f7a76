/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spawn.h"
#include "util.h"

/* The parsers of --set-credential, --load-credential, SetCredential=/LoadCredential= and
 * --link-journal= / LinkJournal= (spawn-credentials.c, spawn-journal.c, spawn-settings.c). */

static void test_credential_names(void **state) {
        assert_true(credential_name_valid("a"));
        assert_true(credential_name_valid("passwd.hashed-password.root"));
        assert_true(credential_name_valid("with space~"));
        assert_false(credential_name_valid(""));
        assert_false(credential_name_valid(NULL));
        assert_false(credential_name_valid("."));
        assert_false(credential_name_valid(".."));
        assert_false(credential_name_valid("a/b"));
        assert_false(credential_name_valid("a:b"));
        assert_false(credential_name_valid("tab\there"));
        assert_false(credential_name_valid("\xc3\xa9"));
        char n[CREDENTIAL_NAME_MAX + 2];
        memset(n, 'x', sizeof(n) - 1);
        n[sizeof(n) - 1] = 0;
        assert_false(credential_name_valid(n)); /* 256 */
        n[CREDENTIAL_NAME_MAX] = 0;
        assert_true(credential_name_valid(n)); /* 255 */
}

static void test_set_credential(void **state) {
        SpawnConfig c;
        spawn_config_init(&c);
        Diag d = DIAG_INIT;
        assert_int_equal(spawn_credential_set(&c, "a:x\\ty\\n\\x00z\\u00e9\\U0001F600\\101\\s\\\\\\\"'", &d), 0);
        assert_int_equal(c.n_credentials, 1);
        assert_string_equal(c.credentials[0].id, "a");
        static const char want[] = "x\ty\n\0z\xc3\xa9\xf0\x9f\x98\x80"
                                   "A \\\"'";
        assert_int_equal(c.credentials[0].size, sizeof(want) - 1);
        assert_memory_equal(c.credentials[0].data, want, sizeof(want) - 1);
        assert_true(c.mask & SETTING_CREDENTIALS);
        /* A value may contain ':' and be empty. */
        assert_int_equal(spawn_credential_set(&c, "b:c:d", &d), 0);
        assert_string_equal(c.credentials[1].data, "c:d");
        assert_int_equal(spawn_credential_set(&c, "empty:", &d), 0);
        assert_int_equal(c.credentials[2].size, 0);

        /* Refusals: never the value in the message. */
        static const struct {
                const char *arg;
                int r;
                const char *cause;
        } bad[] = {
                {"novalue", -EINVAL, "no value"},
                {":v-secret", -EINVAL, "not a valid credential name"},
                {"a/b:v-secret", -EINVAL, "not a valid credential name"},
                {"a:v-secret", -EEXIST, "duplicate"},
                {"e1:v-secret\\q", -EINVAL, "bad escape"},
                {"e2:v-secret\\", -EINVAL, "bad escape"},
                {"e3:v-secret\\x4", -EINVAL, "bad escape"},
                {"e4:v-secret\\uD800", -EINVAL, "bad escape"},
                {"e5:v-secret\\U00110000", -EINVAL, "bad escape"},
                {"e6:v-secret\\400", -EINVAL, "bad escape"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Diag e = DIAG_INIT;
                assert_int_equal(spawn_credential_set(&c, bad[i].arg, &e), bad[i].r);
                const char *m = diag_message(&e);
                assert_non_null(m);
                assert_non_null(strstr(m, bad[i].cause));
                assert_null(strstr(m, "v-secret"));
                diag_done(&e);
        }
        assert_int_equal(c.n_credentials, 3);

        /* The size of one, and the count. */
        size_t big = CREDENTIAL_SIZE_MAX + 1;
        char *arg = malloc(big + 3);
        assert_non_null(arg);
        memcpy(arg, "z:", 2);
        memset(arg + 2, 'v', big);
        arg[big + 2] = 0;
        assert_int_equal(spawn_credential_set(&c, arg, NULL), -E2BIG);
        arg[big + 1] = 0; /* exactly the limit */
        assert_int_equal(spawn_credential_set(&c, arg, NULL), 0);
        free(arg);
        spawn_config_done(&c);

        spawn_config_init(&c);
        char id[32];
        for (unsigned i = 0; i < SPAWN_CREDENTIALS_MAX; i++) {
                snprintf(id, sizeof(id), "c%u:v", i);
                assert_int_equal(spawn_credential_set(&c, id, NULL), 0);
        }
        assert_int_equal(spawn_credential_set(&c, "one-more:v", NULL), -E2BIG);
        spawn_config_done(&c);
        assert_int_equal(c.n_credentials, 0);
        assert_null(c.credentials);
}

/* A server that sends "sock-data" to one client, as the socket credentials nspawn reads. */
static pid_t serve(const char *path) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(s >= 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        assert_true(strlen(path) < sizeof(sa.sun_path));
        memcpy(sa.sun_path, path, strlen(path) + 1);
        assert_int_equal(bind(s, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(s, 1), 0);
        pid_t p = fork();
        assert_true(p >= 0);
        if (p == 0) {
                int c = accept(s, NULL, NULL);
                char b[64];
                while (c >= 0 && read(c, b, sizeof(b)) > 0)
                        ; /* to the client's shutdown */
                _exit(c >= 0 && write(c, "sock-data", 9) == 9 ? 0 : 1);
        }
        close(s);
        return p;
}

static void test_load_credential(void **state) {
        char dir[] = "/tmp/test-spawn-credentials.XXXXXX";
        assert_non_null(mkdtemp(dir));
        char file[128], sock[128], fifo[128], arg[300];
        snprintf(file, sizeof(file), "%s/file", dir);
        snprintf(sock, sizeof(sock), "%s/sock", dir);
        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        FILE *f = fopen(file, "we");
        assert_non_null(f);
        fputs("file-data\n", f);
        fclose(f);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        pid_t server = serve(sock);

        SpawnConfig c;
        spawn_config_init(&c);
        snprintf(arg, sizeof(arg), "f:%s", file);
        assert_int_equal(spawn_credential_load(&c, arg, NULL), 0);
        assert_int_equal(c.credentials[0].size, 10);
        assert_memory_equal(c.credentials[0].data, "file-data\n", 10);
        snprintf(arg, sizeof(arg), "s:%s", sock);
        assert_int_equal(spawn_credential_load(&c, arg, NULL), 0);
        assert_int_equal(c.credentials[1].size, 9);
        assert_memory_equal(c.credentials[1].data, "sock-data", 9);
        int status;
        assert_int_equal(waitpid(server, &status, 0), server);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        /* Refused: a FIFO (never opened, so this does not block), a directory, a missing file,
         * a duplicate (before the file is read), a relative path without $CREDENTIALS_DIRECTORY. */
        Diag d = DIAG_INIT;
        snprintf(arg, sizeof(arg), "p:%s", fifo);
        assert_int_equal(spawn_credential_load(&c, arg, &d), -EBADFD);
        assert_non_null(strstr(diag_message(&d), "neither a regular file nor an AF_UNIX socket"));
        diag_done(&d);
        snprintf(arg, sizeof(arg), "d:%s", dir);
        assert_int_equal(spawn_credential_load(&c, arg, &d), -EBADFD);
        diag_done(&d);
        snprintf(arg, sizeof(arg), "m:%s/missing", dir);
        assert_int_equal(spawn_credential_load(&c, arg, &d), -ENOENT);
        diag_done(&d);
        snprintf(arg, sizeof(arg), "f:%s/missing", dir);
        assert_int_equal(spawn_credential_load(&c, arg, &d), -EEXIST);
        diag_done(&d);
        assert_int_equal(spawn_credential_load(&c, "e:", &d), -EINVAL);
        diag_done(&d);
        unsetenv("CREDENTIALS_DIRECTORY");
        assert_int_equal(spawn_credential_load(&c, "r:file", &d), -ENXIO);
        assert_non_null(strstr(diag_message(&d), "no $CREDENTIALS_DIRECTORY"));
        diag_done(&d);

        /* Relative: a credential of our own $CREDENTIALS_DIRECTORY, a plain name only. */
        setenv("CREDENTIALS_DIRECTORY", dir, 1);
        assert_int_equal(spawn_credential_load(&c, "r:file", NULL), 0);
        assert_memory_equal(c.credentials[2].data, "file-data\n", 10);
        assert_int_equal(spawn_credential_load(&c, "q:../file", NULL), -EINVAL);
        assert_int_equal(spawn_credential_load(&c, "q2:sock", &d), -EBADFD); /* no socket there */
        diag_done(&d);
        unsetenv("CREDENTIALS_DIRECTORY");
        assert_int_equal(c.n_credentials, 3);

        /* Too big a file. */
        char big[128];
        snprintf(big, sizeof(big), "%s/big", dir);
        f = fopen(big, "we");
        assert_non_null(f);
        assert_int_equal(fseek(f, CREDENTIAL_SIZE_MAX, SEEK_SET), 0);
        fputc('x', f);
        fclose(f);
        snprintf(arg, sizeof(arg), "big:%s", big);
        assert_int_equal(spawn_credential_load(&c, arg, &d), -E2BIG);
        assert_non_null(strstr(diag_message(&d), "larger than 1048576 bytes"));
        diag_done(&d);
        spawn_config_done(&c);

        unlink(big);
        unlink(file);
        unlink(sock);
        unlink(fifo);
        rmdir(dir);
}

static void test_link_journal(void **state) {
        static const struct {
                const char *s;
                LinkJournal j;
                bool try;
        } good[] = {
                {"no", LINK_JOURNAL_NO, false},
                {"auto", LINK_JOURNAL_AUTO, false},
                {"guest", LINK_JOURNAL_GUEST, false},
                {"host", LINK_JOURNAL_HOST, false},
                {"try-guest", LINK_JOURNAL_GUEST, true},
                {"try-host", LINK_JOURNAL_HOST, true},
                {"yes", LINK_JOURNAL_AUTO, false},
                {"false", LINK_JOURNAL_NO, false},
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                LinkJournal j = _LINK_JOURNAL_INVALID;
                bool t = !good[i].try;
                assert_int_equal(link_journal_parse(good[i].s, &j, &t), 0);
                assert_int_equal(j, good[i].j);
                assert_int_equal(t, good[i].try);
        }
        assert_string_equal(link_journal_to_string(LINK_JOURNAL_GUEST, true), "try-guest");
        assert_string_equal(link_journal_to_string(LINK_JOURNAL_HOST, false), "host");
        static const char *const bad[] = {"", "try-", "try-auto", "try-no", "try-yes", "GUEST", "guest ", "maybe"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                LinkJournal j = LINK_JOURNAL_HOST;
                bool t = false;
                assert_int_equal(link_journal_parse(bad[i], &j, &t), -EINVAL);
                assert_int_equal(j, LINK_JOURNAL_HOST); /* untouched */
        }
        SpawnConfig c;
        spawn_config_init(&c);
        assert_int_equal(c.link_journal, LINK_JOURNAL_AUTO); /* nspawn's default */
        spawn_config_done(&c);
}

static int parse(const char *text, SpawnConfig *c, Diag *w) {
        return settings_parse(text, strlen(text), c, w);
}

static void test_settings_keys(void **state) {
        SpawnConfig s, c;
        Diag w = DIAG_INIT;
        /* A bad SetCredential= is ignored with a warning naming the ID, never the value. */
        assert_int_equal(
                parse("[Exec]\nSetCredential=one:1\\n\nSetCredential=bad/id:v-secret\nSetCredential=one:v-secret2\n"
                      "LoadCredential=pending:/nonexistent/path\nLinkJournal=try-host\n",
                        &s, &w),
                0);
        assert_int_equal(s.n_credentials, 2);
        assert_int_equal(w.n_warnings, 2);
        for (size_t i = 0; i < w.n_warnings; i++)
                assert_null(strstr(w.warnings[i], "v-secret"));
        assert_non_null(strstr(w.warnings[1], "one: duplicate credential"));
        assert_null(s.credentials[1].data); /* LoadCredential=: not read at parse time */
        assert_true(s.mask & SETTING_CREDENTIALS);
        assert_true(s.mask & SETTING_LINK_JOURNAL);
        diag_done(&w);

        /* Untrusted: ignored with warnings, the file never read. */
        spawn_config_init(&c);
        assert_int_equal(settings_merge(&c, &s, false, "/x/x.nspawn", &w), 0);
        assert_int_equal(c.n_credentials, 0);
        assert_int_equal(c.link_journal, LINK_JOURNAL_AUTO);
        assert_int_equal(w.n_warnings, 2);
        assert_non_null(strstr(w.warnings[0], "SetCredential= and LoadCredential="));
        assert_non_null(strstr(w.warnings[1], "LinkJournal="));
        diag_done(&w);
        spawn_config_done(&c);

        /* Trusted: LoadCredential= read at the merge, its failure naming the credential. */
        spawn_config_init(&c);
        assert_int_equal(settings_merge(&c, &s, true, "/etc/systemd/nspawn/x.nspawn", &w), -ENOENT);
        assert_non_null(strstr(diag_message(&w), "pending"));
        assert_non_null(strstr(diag_message(&w), "/nonexistent/path"));
        diag_done(&w);
        spawn_config_done(&c);
        spawn_config_done(&s);

        assert_int_equal(parse("[Exec]\nSetCredential=one:1\\n\nLinkJournal=guest\n", &s, NULL), 0);
        spawn_config_init(&c);
        assert_int_equal(settings_merge(&c, &s, true, "/etc/systemd/nspawn/x.nspawn", NULL), 0);
        assert_int_equal(c.n_credentials, 1);
        assert_memory_equal(c.credentials[0].data, "1\n", 2);
        assert_int_equal(c.link_journal, LINK_JOURNAL_GUEST);
        assert_false(c.link_journal_try);
        spawn_config_done(&c);
        spawn_config_done(&s);

        /* The command line's credentials replace the file's. */
        assert_int_equal(parse("[Exec]\nSetCredential=file:x\n", &s, NULL), 0);
        spawn_config_init(&c);
        assert_int_equal(spawn_credential_set(&c, "cli:y", NULL), 0);
        assert_int_equal(settings_merge(&c, &s, true, "/etc/systemd/nspawn/x.nspawn", NULL), 0);
        assert_int_equal(c.n_credentials, 1);
        assert_string_equal(c.credentials[0].id, "cli");
        spawn_config_done(&c);
        spawn_config_done(&s);

        /* A bad LinkJournal= is ignored with a warning. */
        assert_int_equal(parse("[Exec]\nLinkJournal=sometimes\n", &s, &w), 0);
        assert_false(s.mask & SETTING_LINK_JOURNAL);
        assert_int_equal(w.n_warnings, 1);
        diag_done(&w);
        spawn_config_done(&s);
}

static void test_bind_user(void **state) {
        char **l = NULL;
        assert_int_equal(bind_user_add(&l, "alice"), 0);
        assert_int_equal(bind_user_add(&l, "alice"), 0); /* once */
        assert_int_equal(bind_user_add(&l, "b_o.b-2"), 0);
        assert_int_equal(strv_length(l), 2);
        static const char *const bad[] = {
                "", "1abc", "-x", ".x", "a b", "a:b", "a/b", "abcdefghijklmnopqrstuvwxyz0123456"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(bind_user_add(&l, bad[i]), -EINVAL);
        char n[16];
        for (unsigned i = 0; strv_length(l) < 64; i++) {
                snprintf(n, sizeof(n), "u%u", i);
                assert_int_equal(bind_user_add(&l, n), 0);
        }
        assert_int_equal(bind_user_add(&l, "one-more"), -E2BIG); /* nspawn's 60514…60577 */
        strv_free(l);

        /* BindUser= of [Files]: a list; from trusted files only. */
        SpawnConfig s, c;
        Diag w = DIAG_INIT;
        assert_int_equal(parse("[Files]\nBindUser=alice bob\nBindUser=carol\n", &s, NULL), 0);
        assert_int_equal(strv_length(s.bind_user), 3);
        spawn_config_init(&c);
        assert_int_equal(settings_merge(&c, &s, false, "/x/x.nspawn", &w), 0);
        assert_null(c.bind_user);
        assert_int_equal(w.n_warnings, 1);
        assert_non_null(strstr(w.warnings[0], "BindUser="));
        diag_done(&w);
        spawn_config_done(&c);
        spawn_config_init(&c);
        assert_int_equal(settings_merge(&c, &s, true, "/etc/systemd/nspawn/x.nspawn", NULL), 0);
        assert_int_equal(strv_length(c.bind_user), 3);
        assert_string_equal(c.bind_user[2], "carol");
        spawn_config_done(&c);
        spawn_config_done(&s);
        assert_int_equal(parse("[Files]\nBindUser=alice\nBindUser=\nBindUser=bad:name\n", &s, &w), 0);
        assert_null(s.bind_user);
        assert_int_equal(w.n_warnings, 1);
        diag_done(&w);
        spawn_config_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_credential_names),
                cmocka_unit_test(test_set_credential),
                cmocka_unit_test(test_load_credential),
                cmocka_unit_test(test_link_journal),
                cmocka_unit_test(test_settings_keys),
                cmocka_unit_test(test_bind_user),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
