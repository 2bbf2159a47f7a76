/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>

#include <cmocka.h>

#include "spawn.h"
#include "util.h"

/* The OCI runtime bundle parser (config.json) and its merge under the command line. */

static int parse(const char *text, SpawnConfig *c, OciBundleExtra *x, Diag *d) {
        return oci_bundle_parse(text, strlen(text), "/b", c, x, d);
}

/* Parses text that must fail; the diag's cause must be want. */
static void refused(const char *text, int err, const char *want) {
        SpawnConfig c;
        OciBundleExtra x;
        Diag d = DIAG_INIT;
        int r = parse(text, &c, &x, &d);
        if (r != err || !d.cause || !streq(d.cause, want))
                fail_msg("%s: got %d \"%s\", want %d \"%s\"", text, r, d.cause ?: "(null)", err, want);
        assert_string_equal(d.object, "config.json");
        diag_done(&d);
}

static void test_bundle_full(void **state) {
        (void) state;
        const char *t =
                "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
                "\"process\":{\"terminal\":false,\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[5,6],\"umask\":18},"
                "\"args\":[\"/bin/sh\",\"-c\",\"echo hi\"],\"env\":[\"A=1\",\"B=two words\"],\"cwd\":\"/srv\","
                "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_NET_ADMIN\"],\"effective\":[\"CAP_KILL\"],"
                "\"ambient\":[\"CAP_KILL\"]},"
                "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":100,\"hard\":200},"
                "{\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,\"hard\":18446744073709551615},"
                "{\"type\":\"RLIMIT_NPROC\",\"soft\":-1,\"hard\":-1}],"
                "\"noNewPrivileges\":true,\"oomScoreAdj\":-50},"
                "\"hostname\":\"box\",\"annotations\":{\"x\":\"y\"},\"unknownTopLevel\":[1,2,3],"
                "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
                "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"data\",\"options\":[\"rbind\",\"ro\"]},"
                "{\"destination\":\"/abs\",\"source\":\"/srv/x\",\"options\":[\"bind\"]},"
                "{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
                "{\"destination\":\"/scratch\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"size=1m\",\"mode=0700\"]}],"
                "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"},"
                "{\"type\":\"user\"},{\"type\":\"mount\"}],"
                "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
                "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
                "\"maskedPaths\":[\"/etc/shadow\"],\"readonlyPaths\":[\"/usr\",\"/proc/sys\",\"/sys/firmware\",\"/proc/kcore\"],"
                "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}}}";
        SpawnConfig c;
        OciBundleExtra x;
        Diag d = DIAG_INIT;
        assert_int_equal(parse(t, &c, &x, &d), 0);
        assert_string_equal(x.root, "rootfs");
        assert_true(c.read_only);
        assert_int_equal(c.console, CONSOLE_PIPE);
        assert_true(c.user_ids);
        assert_int_equal(c.user_uid, 1000);
        assert_int_equal(c.user_gid, 100);
        assert_int_equal(c.n_user_groups, 2);
        assert_int_equal(c.user_groups[1], 6);
        assert_int_equal(strv_length(c.command), 3);
        assert_string_equal(c.command[2], "echo hi");
        assert_string_equal(c.setenv[1], "B=two words");
        assert_string_equal(c.working_directory, "/srv");
        assert_true(x.bounding_set);
        assert_true(x.bounding == ((1ULL << CAP_KILL) | (1ULL << CAP_NET_ADMIN)));
        assert_true(c.ambient_caps == (1ULL << CAP_KILL));
        assert_non_null(c.rlimits[RLIMIT_NOFILE]);
        assert_int_equal(c.rlimits[RLIMIT_NOFILE]->rlim_cur, 100);
        assert_int_equal(c.rlimits[RLIMIT_NOFILE]->rlim_max, 200);
        assert_true(c.rlimits[RLIMIT_CORE]->rlim_cur == RLIM_INFINITY);
        assert_true(c.rlimits[RLIMIT_NPROC]->rlim_max == RLIM_INFINITY); /* negative: infinity, as nspawn */
        assert_true(c.no_new_privileges);
        assert_int_equal(c.oom_score_adjust, -50);
        assert_string_equal(c.hostname, "box");
        assert_false(c.private_network); /* joined: --network-namespace-path=, not --private-network */
        assert_string_equal(c.network.namespace_path, "/run/netns/x");
        assert_int_equal(c.private_users, PRIVATE_USERS_FIXED);
        assert_int_equal(c.uid_shift, 100000);
        assert_int_equal(c.uid_range, 65536);
        assert_string_equal(c.inaccessible[0], "/etc/shadow");
        /* /proc is run's own; two binds, a tmpfs, and the read-only /usr (/proc/sys is run's). */
        assert_int_equal(c.n_mounts, 4);
        assert_int_equal(c.mounts[0].type, CUSTOM_MOUNT_BIND);
        assert_string_equal(c.mounts[0].source, "/b/data");
        assert_string_equal(c.mounts[0].destination, "/data");
        assert_true(c.mounts[0].read_only && c.mounts[0].recursive);
        assert_string_equal(c.mounts[1].source, "/srv/x");
        assert_false(c.mounts[1].read_only || c.mounts[1].recursive);
        assert_int_equal(c.mounts[2].type, CUSTOM_MOUNT_TMPFS);
        assert_string_equal(c.mounts[2].options, "size=1m,mode=0700");
        assert_true(c.mounts[3].source_in_root && c.mounts[3].read_only);
        assert_string_equal(c.mounts[3].destination, "/usr");
        SettingMask want = SETTING_READ_ONLY | SETTING_USER | SETTING_COMMAND | SETTING_ENVIRONMENT |
                           SETTING_WORKING_DIRECTORY | SETTING_CAPABILITY | SETTING_AMBIENT_CAPABILITY |
                           SETTING_NO_NEW_PRIVILEGES | SETTING_OOM_SCORE_ADJUST | SETTING_HOSTNAME |
                           SETTING_CUSTOM_MOUNTS | SETTING_NETWORK | SETTING_USERNS | SETTING_INACCESSIBLE;
        assert_int_equal(c.mask, want);
        assert_null(d.cause);
        spawn_config_done(&c);
        oci_bundle_extra_done(&x);
}

static void test_bundle_merge(void **state) {
        (void) state;
        const char *t = "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"hostname\":\"bundle\","
                        "\"process\":{\"args\":[\"/bin/true\"],\"env\":[\"A=bundle\",\"B=bundle\"],\"cwd\":\"/b\","
                        "\"user\":{\"uid\":7,\"gid\":8},\"capabilities\":{\"bounding\":[\"CAP_KILL\"]}},"
                        "\"mounts\":[{\"destination\":\"/m\",\"type\":\"bind\",\"source\":\"/s\"}]}";
        SpawnConfig c, b;
        OciBundleExtra x;
        spawn_config_init(&c);
        /* The command line: -E A=cli, --user=root, --hostname=cli, --bind=/c. */
        assert_int_equal(strv_extend(&c.setenv, "A=cli"), 0);
        c.user = strdup("root");
        c.hostname = strdup("cli");
        CustomMount m;
        assert_int_equal(custom_mount_parse_bind("/c", false, &m), 0);
        assert_int_equal(spawn_config_add_mount(&c, &m), 0);
        c.mask |= SETTING_ENVIRONMENT | SETTING_USER | SETTING_HOSTNAME | SETTING_CUSTOM_MOUNTS;
        assert_int_equal(parse(t, &b, &x, NULL), 0);
        assert_int_equal(oci_bundle_merge(&c, &b, &x), 0);
        assert_string_equal(c.command[0], "/bin/true");
        assert_int_equal(strv_length(c.setenv), 2);
        assert_string_equal(c.setenv[0], "A=cli");
        assert_string_equal(c.setenv[1], "B=bundle");
        assert_string_equal(c.user, "root");
        assert_false(c.user_ids);
        assert_string_equal(c.hostname, "cli");
        assert_string_equal(c.working_directory, "/b");
        /* The bundle's bounding set, as run's default plus and minus. */
        assert_true(spawn_config_capabilities(&c) == (1ULL << CAP_KILL));
        /* Both mounts: the bundle's first, the command line's after it (it wins on a shared path). */
        assert_int_equal(c.n_mounts, 2);
        assert_string_equal(c.mounts[0].source, "/s");
        assert_string_equal(c.mounts[1].source, "/c");
        spawn_config_done(&b);
        oci_bundle_extra_done(&x);
        spawn_config_done(&c);
}

#define HEAD "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"

static void test_bundle_unsupported(void **state) {
        (void) state;
        refused(HEAD "\"linux\":{\"resources\":{\"memory\":{\"limit\":1}}}}", -EOPNOTSUPP,
                "linux.resources.memory is not supported");
        refused(HEAD "\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwm\"}]}}}", -EOPNOTSUPP,
                "linux.resources.devices is not supported");
        refused(HEAD "\"linux\":{\"sysctl\":{\"a\":\"b\"}}}", -EOPNOTSUPP, "linux.sysctl is not supported");
        refused(HEAD "\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\"}}}", -EOPNOTSUPP,
                "linux.seccomp is not supported");
        refused(HEAD "\"linux\":{\"devices\":[{\"path\":\"/dev/x\"}]}}", -EOPNOTSUPP, "linux.devices is not supported");
        refused(HEAD "\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\"}]}}", -EOPNOTSUPP, "hooks is not supported");
        refused(HEAD "\"domainname\":\"x\"}", -EOPNOTSUPP, "domainname is not supported");
        refused(HEAD "\"process\":{\"apparmorProfile\":\"p\"}}", -EOPNOTSUPP, "process.apparmorProfile is not supported");
        refused(HEAD "\"linux\":{\"namespaces\":[{\"type\":\"time\"}]}}", -EOPNOTSUPP,
                "linux.namespaces[time] is not supported");
        refused(HEAD "\"linux\":{\"namespaces\":[{\"type\":\"ipc\",\"path\":\"/x\"}]}}", -EOPNOTSUPP,
                "linux.namespaces[ipc].path is not supported");
        refused(HEAD "\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}}", -EOPNOTSUPP,
                "linux.uidMappings without a user namespace is not supported");
        refused(HEAD "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"user\"}],"
                     "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":10}],"
                     "\"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":10}]}}",
                -EOPNOTSUPP, "linux.gidMappings other than linux.uidMappings is not supported");
        refused(HEAD "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"user\"}],"
                     "\"uidMappings\":[{\"containerID\":1,\"hostID\":100000,\"size\":10}],"
                     "\"gidMappings\":[{\"containerID\":1,\"hostID\":100000,\"size\":10}]}}",
                -EOPNOTSUPP, "linux.uidMappings with a containerID other than 0 is not supported");
        refused(HEAD "\"linux\":{\"readonlyPaths\":[\"/proc/cpuinfo\"]}}", -EOPNOTSUPP,
                "linux.readonlyPaths /proc/cpuinfo is not supported");
        refused(HEAD "\"mounts\":[{\"destination\":\"/x\",\"type\":\"overlay\",\"source\":\"o\"}]}", -EOPNOTSUPP,
                "mounts[0]: type \"overlay\" at /x is not supported");
        refused(HEAD "\"mounts\":[{\"destination\":\"/x\",\"type\":\"proc\",\"source\":\"proc\"}]}", -EOPNOTSUPP,
                "mounts[0]: type \"proc\" at /x is not supported");
        refused(HEAD "\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/y\",\"options\":[\"nosuid\"]}]}",
                -EOPNOTSUPP, "mounts[0].options \"nosuid\" is not supported");
        refused(HEAD "\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"umask\":0}}}", -EOPNOTSUPP,
                "process.user.umask other than 0022 is not supported");
        refused(HEAD "\"process\":{\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"permitted\":[\"CAP_SYS_ADMIN\"]}}}",
                -EOPNOTSUPP, "process.capabilities.permitted beyond the bounding set is not supported");
        refused(HEAD "\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}}", -EOPNOTSUPP,
                "linux.namespaces without mount is not supported");
        refused(HEAD "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}", -EOPNOTSUPP,
                "linux.namespaces without pid is not supported");
        refused("{\"ociVersion\":\"0.9\",\"root\":{\"path\":\"r\"}}", -EOPNOTSUPP, "ociVersion other than 1.x is not supported");
        /* Empty values ask for nothing. */
        SpawnConfig c;
        OciBundleExtra x;
        assert_int_equal(parse(HEAD "\"hooks\":{},\"linux\":{\"sysctl\":{},\"devices\":[],\"resources\":{}}}", &c, &x, NULL), 0);
        spawn_config_done(&c);
        oci_bundle_extra_done(&x);
}

static void test_bundle_invalid(void **state) {
        (void) state;
        refused("[]", -EBADMSG, "not a JSON object");
        refused("{\"ociVersion\":", -EBADMSG, "not valid JSON");
        refused("{} {}", -EBADMSG, "not valid JSON (trailing data)");
        refused("{\"root\":{\"path\":\"r\"}}", -EINVAL, "ociVersion is missing");
        refused("{\"ociVersion\":\"1.0.0\"}", -EINVAL, "root.path is missing");
        refused(HEAD "\"process\":{\"args\":[1]}}", -EINVAL, "process.args[0] is not a string");
        refused(HEAD "\"process\":{\"args\":\"sh\"}}", -EINVAL, "process.args is not an array");
        refused(HEAD "\"process\":{\"env\":[\"no-equals\"]}}", -EINVAL, "process.env has an invalid entry");
        refused(HEAD "\"process\":{\"cwd\":\"rel\"}}", -EINVAL, "process.cwd is not an absolute path");
        refused(HEAD "\"process\":{\"user\":{\"uid\":-1}}}", -ERANGE, "process.user.uid is out of range");
        refused(HEAD "\"process\":{\"user\":{\"uid\":4294967296}}}", -ERANGE, "process.user.uid is out of range");
        refused(HEAD "\"process\":{\"args\":[]}}", -EINVAL, "process.args is empty");
        refused(HEAD "\"process\":{\"user\":{\"gid\":0}}}", -EINVAL, "process.user.uid is missing");
        refused(HEAD "\"process\":{\"user\":{\"uid\":0}}}", -EINVAL, "process.user.gid is missing");
        refused(HEAD "\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},"
                     "{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":2}]}}",
                -EINVAL, "process.rlimits names a limit twice");
        refused(HEAD "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"pid\"}]}}", -EINVAL,
                "linux.namespaces names a namespace twice");
        refused(HEAD "\"mounts\":[{\"destination\":5}]}", -EINVAL, "mounts[0].destination is not a string");
        refused(HEAD "\"process\":{\"oomScoreAdj\":1001}}", -EINVAL, "process.oomScoreAdj is invalid");
        refused(HEAD "\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]}}", -EINVAL,
                "process.rlimits[].type names an unknown limit");
        refused(HEAD "\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":1}]}}", -EINVAL,
                "process.rlimits[].soft/hard is invalid");
        refused(HEAD "\"process\":{\"capabilities\":{\"bounding\":[\"cap_kill\"]}}}", -EINVAL,
                "process.capabilities.bounding has an invalid capability name");
        refused(HEAD "\"hostname\":\"bad host\"}", -EINVAL, "hostname is invalid");
        refused(HEAD "\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}", -EINVAL,
                "mounts[0].destination is not an absolute path");
        refused(HEAD "\"mounts\":[{\"destination\":\"/a/../b\",\"type\":\"tmpfs\"}]}", -EINVAL,
                "mounts[0].destination is not an absolute path");
        refused(HEAD "\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"../etc\"}]}", -EINVAL,
                "mounts[0].source is invalid");
        refused(HEAD "\"mounts\":[{\"destination\":\"/x\",\"source\":\"d/../../etc\"}]}", -EINVAL, "mounts[0].source is invalid");
        refused(HEAD "\"hostname\":\"a\\u0000b\"}", -EINVAL, "hostname contains a NUL byte");
        refused("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\\u0000x\"}}", -EINVAL, "root.path contains a NUL byte");
        refused(HEAD "\"linux\":{\"maskedPaths\":[\"/a/..\"]}}", -EINVAL, "linux.maskedPaths has an invalid path");
        refused("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"a\\u0000b\"]}}", -EINVAL,
                "process.args[0] contains a NUL byte");
}

static void test_bundle_limits(void **state) {
        (void) state;
        /* Nesting: within the depth limit parses, beyond it fails before any field is read. */
        char deep[256];
        size_t n = 0;
        n += (size_t) snprintf(deep + n, sizeof(deep) - n, HEAD "\"x\":");
        for (unsigned i = 0; i < OCI_BUNDLE_DEPTH_MAX; i++)
                deep[n++] = '[';
        for (unsigned i = 0; i < OCI_BUNDLE_DEPTH_MAX; i++)
                deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = 0;
        refused(deep, -EBADMSG, "nested deeper than 16 levels");

        /* Size. */
        size_t big = OCI_BUNDLE_CONFIG_MAX + 1;
        char *s = malloc(big + 1);
        assert_non_null(s);
        memset(s, ' ', big);
        s[0] = '{';
        s[big - 1] = '}';
        s[big] = 0;
        SpawnConfig c;
        OciBundleExtra x;
        Diag d = DIAG_INIT;
        assert_int_equal(oci_bundle_parse(s, big, "/b", &c, &x, &d), -EFBIG);
        diag_done(&d);
        /* A NUL inside the text. */
        assert_int_equal(oci_bundle_parse("{}\0{}", 5, "/b", &c, &x, &d), -EBADMSG);
        diag_done(&d);

        /* Lists: more entries than OCI_BUNDLE_LIST_MAX. */
        size_t len = 0, cap = 64 + (OCI_BUNDLE_LIST_MAX + 1) * 4;
        char *l = realloc(s, cap);
        assert_non_null(l);
        len += (size_t) snprintf(l, cap, HEAD "\"process\":{\"args\":[");
        for (unsigned i = 0; i <= OCI_BUNDLE_LIST_MAX; i++)
                len += (size_t) snprintf(l + len, cap - len, "%s\"a\"", i ? "," : "");
        len += (size_t) snprintf(l + len, cap - len, "]}}");
        assert_true(len < cap);
        refused(l, -E2BIG, "process.args has too many entries");
        free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bundle_full),    cmocka_unit_test(test_bundle_merge),
                cmocka_unit_test(test_bundle_unsupported), cmocka_unit_test(test_bundle_invalid),
                cmocka_unit_test(test_bundle_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
