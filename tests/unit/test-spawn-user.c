/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "spawn-user.h"

/* passwd/group lookups in a container's own files. */

static const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
                             "broken line\n"
                             "bad:x:notanumber:1::/:/bin/sh\n"
                             "alice:x:1000:1000:Alice:/home/alice:/bin/zsh\n"
                             "nohome:x:1001:1001:::\n";
static const char group[] = "root:x:0:\nwheel:x:10:alice,bob\naudio:x:29:bob\nvideo:x:44:carol,alice\n";

static void test_lookup(void **state) {
        SpawnUser u;
        assert_int_equal(spawn_user_lookup("alice", passwd, group, &u), 0);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 1000);
        assert_string_equal(u.home, "/home/alice");
        assert_string_equal(u.shell, "/bin/zsh");
        assert_int_equal(u.n_groups, 2);
        assert_int_equal(u.groups[0], 10);
        assert_int_equal(u.groups[1], 44);
        spawn_user_done(&u);

        assert_int_equal(spawn_user_lookup("0", passwd, NULL, &u), 0);
        assert_string_equal(u.name, "root");
        spawn_user_done(&u);

        assert_int_equal(spawn_user_lookup("nohome", passwd, group, &u), 0);
        assert_string_equal(u.home, "/");
        assert_string_equal(u.shell, "/bin/sh");
        spawn_user_done(&u);

        assert_int_equal(spawn_user_lookup("bad", passwd, group, &u), -ESRCH);
        assert_int_equal(spawn_user_lookup("nobody", passwd, group, &u), -ESRCH);
        assert_int_equal(spawn_user_lookup("al", passwd, group, &u), -ESRCH);

        /* an unknown numeric UID runs with its own GID */
        assert_int_equal(spawn_user_lookup("4242", passwd, group, &u), 0);
        assert_int_equal(u.uid, 4242);
        assert_int_equal(u.gid, 4242);
        spawn_user_done(&u);
        assert_int_equal(spawn_user_lookup("4242", NULL, NULL, &u), 0);
        spawn_user_done(&u);
}

static void test_groups_limit(void **state) {
        size_t n = SUPPLEMENTARY_GROUPS_MAX + 1;
        char *g = malloc(n * 32);
        assert_non_null(g);
        size_t k = 0;
        for (size_t i = 0; i < n - 1; i++)
                k += (size_t) sprintf(g + k, "g%zu:x:%zu:alice\n", i, 2000 + i);
        SpawnUser u;
        assert_int_equal(spawn_user_lookup("alice", passwd, g, &u), 0);
        assert_int_equal(u.n_groups, SUPPLEMENTARY_GROUPS_MAX);
        spawn_user_done(&u);
        sprintf(g + k, "last:x:9999:alice\n");
        assert_int_equal(spawn_user_lookup("alice", passwd, g, &u), -E2BIG);
        free(g);
}

int main(void) {
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_lookup), cmocka_unit_test(test_groups_limit) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
