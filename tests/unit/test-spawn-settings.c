/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>

#include <cmocka.h>

#include "spawn.h"
#include "spawn-userns.h"
#include "util.h"

/* The .nspawn parser and the option value parsers of src/spawn. */

static int parse(const char *text, SpawnConfig *c, Diag *w) {
        return settings_parse(text, strlen(text), c, w);
}

static void test_settings_basic(void **state) {
        SpawnConfig c;
        Diag w = DIAG_INIT;
        const char *t = "# comment\n"
                        "[Exec]\n"
                        "Boot=no\n"
                        "Parameters=/bin/sh -c \"echo hi there\"\n"
                        "Environment=A=1 \"B=two words\"\n"
                        "Environment=C=3\n"
                        "User=nobody\n"
                        "WorkingDirectory=/tmp\n"
                        "Capability=CAP_NET_ADMIN sys_time\n"
                        "DropCapability=CAP_MKNOD\n"
                        "NoNewPrivileges=yes\n"
                        "Hostname=box\n"
                        "[Files]\n"
                        "ReadOnly=true\n"
                        "Volatile=state\n"
                        "Bind=/src:/dst:norbind\n"
                        "BindReadOnly=/a\n"
                        "TemporaryFileSystem=/t:mode=0700,size=1m\n"
                        "Overlay=/l1:/l2:/up:/mnt\n"
                        "[Network]\n"
                        "Private=yes\n";
        assert_int_equal(parse(t, &c, &w), 0);
        assert_null(w.warnings);
        assert_int_equal(strv_length(c.command), 3);
        assert_string_equal(c.command[2], "echo hi there");
        assert_int_equal(strv_length(c.setenv), 3);
        assert_string_equal(c.setenv[1], "B=two words");
        assert_string_equal(c.user, "nobody");
        assert_string_equal(c.working_directory, "/tmp");
        assert_true(c.caps_plus & (UINT64_C(1) << CAP_NET_ADMIN));
        assert_true(c.caps_plus & (UINT64_C(1) << CAP_SYS_TIME));
        assert_true(c.caps_minus & (UINT64_C(1) << CAP_MKNOD));
        assert_true(c.no_new_privileges);
        assert_string_equal(c.hostname, "box");
        assert_true(c.read_only);
        assert_int_equal(c.volatile_mode, VOLATILE_STATE);
        assert_int_equal(c.n_mounts, 4);
        assert_int_equal(c.mounts[0].type, CUSTOM_MOUNT_BIND);
        assert_false(c.mounts[0].recursive);
        assert_string_equal(c.mounts[0].destination, "/dst");
        assert_true(c.mounts[1].read_only);
        assert_string_equal(c.mounts[1].destination, "/a");
        assert_string_equal(c.mounts[2].options, "mode=0700,size=1m");
        assert_int_equal(strv_length(c.mounts[3].lower), 2);
        assert_string_equal(c.mounts[3].upper, "/up");
        assert_string_equal(c.mounts[3].destination, "/mnt");
        assert_true(c.private_network);
        assert_true(c.mask & SETTING_NETWORK);
        spawn_config_done(&c);
}

static void test_settings_warnings(void **state) {
        SpawnConfig c;
        Diag w = DIAG_INIT;
        const char *t = "Foo=bar\n[Exec]\nBogus=1\nBoot=maybe\nCapability=CAP_NOPE\nEnvironment=1BAD=x GOOD=y\n"
                        "[Weird]\nX=y\n[Files]\nBind=relative\nno equals sign\n";
        assert_int_equal(parse(t, &c, &w), 0);
        assert_int_equal(strv_length(w.warnings), 8);
        assert_int_equal(strv_length(c.setenv), 1);
        assert_int_equal(c.n_mounts, 0);
        assert_int_equal(c.caps_plus, 0);
        assert_false(c.mask & SETTING_BOOT);
        diag_done(&w);
        spawn_config_done(&c);
}

static void test_settings_continuation(void **state) {
        SpawnConfig c;
        assert_int_equal(parse("[Exec]\nParameters=/bin/echo \\\n  a b\n", &c, NULL), 0);
        assert_int_equal(strv_length(c.command), 3);
        assert_string_equal(c.command[2], "b");
        spawn_config_done(&c);
        /* An unterminated quote: the rest of the line is ignored, the words before it stay
         * (config_parse_strv). */
        assert_int_equal(parse("[Exec]\nParameters=/bin/echo \"a\n", &c, NULL), 0);
        assert_int_equal(strv_length(c.command), 1);
        assert_string_equal(c.command[0], "/bin/echo");
        spawn_config_done(&c);
}

/* settings_merge() into an empty command line (or one with mask bits set). */
static void merge_into(SpawnConfig *cmd, const char *text, bool trusted, Diag *w) {
        SpawnConfig file;
        assert_int_equal(parse(text, &file, w), 0);
        assert_int_equal(settings_merge(cmd, &file, trusted, "/x.nspawn", w), 0);
        spawn_config_done(&file);
}

static void assert_strv_equal(char **l, const char *const *want) {
        size_t n = 0;
        for (; want[n]; n++) {
                assert_non_null(l);
                assert_non_null(l[n]);
                assert_string_equal(l[n], want[n]);
        }
        assert_int_equal(strv_length(l), n);
}

/* Issue 12: with Boot=yes in the file and a command on the command line, nspawn runs the command
 * (cowpen booted with the command as init's arguments); Parameters= without Boot= or
 * ProcessTwo= is ignored by nspawn 252 (cowpen ran it). Each row checked against
 * systemd-nspawn 252 (tests/integration/test-run-nspawn-compat.sh does it side by side). */
static void test_settings_boot_command_line_wins(void **state) {
        SpawnConfig cmd;

        /* A command on the command line: Boot= and Parameters= of the file stay out. */
        spawn_config_init(&cmd);
        assert_int_equal(strv_extend(&cmd.command, "/bin/echo"), 0);
        cmd.mask |= SETTING_COMMAND;
        merge_into(&cmd, "[Exec]\nBoot=yes\nParameters=systemd.unit=x\n", false, NULL);
        assert_false(cmd.boot);
        assert_strv_equal(cmd.command, (const char *const[]) { "/bin/echo", NULL });
        spawn_config_done(&cmd);

        /* -b on the command line: the file's Parameters= are not init's arguments. */
        spawn_config_init(&cmd);
        cmd.boot = true;
        cmd.mask |= SETTING_BOOT;
        merge_into(&cmd, "[Exec]\nBoot=yes\nParameters=systemd.unit=x\n", false, NULL);
        assert_true(cmd.boot);
        assert_null(cmd.command);
        spawn_config_done(&cmd);

        /* -a on the command line: likewise, and ProcessTwo=no does not take it back. */
        spawn_config_init(&cmd);
        cmd.as_pid2 = true;
        cmd.mask |= SETTING_PROCESS_TWO;
        merge_into(&cmd, "[Exec]\nProcessTwo=no\nParameters=/bin/echo x\n", false, NULL);
        assert_true(cmd.as_pid2);
        assert_null(cmd.command);
        spawn_config_done(&cmd);

        /* A command line command keeps out ProcessTwo=yes too (nspawn runs it as PID 1). */
        spawn_config_init(&cmd);
        assert_int_equal(strv_extend(&cmd.command, "/bin/sh"), 0);
        cmd.mask |= SETTING_COMMAND;
        merge_into(&cmd, "[Exec]\nProcessTwo=yes\n", false, NULL);
        assert_false(cmd.as_pid2);
        spawn_config_done(&cmd);

        /* Nothing on the command line: Boot=yes boots with Parameters= as init's arguments. */
        spawn_config_init(&cmd);
        merge_into(&cmd, "[Exec]\nParameters=systemd.unit=rescue.target\nBoot=yes\n", false, NULL);
        assert_true(cmd.boot);
        assert_strv_equal(cmd.command, (const char *const[]) { "systemd.unit=rescue.target", NULL });
        spawn_config_done(&cmd);
}

static void test_settings_parameters_without_boot_ignored(void **state) {
        SpawnConfig cmd;
        Diag w = DIAG_INIT;

        /* No Boot= nor ProcessTwo=: ignored. */
        spawn_config_init(&cmd);
        merge_into(&cmd, "[Exec]\nParameters=/bin/echo from-file\n", false, NULL);
        assert_null(cmd.command);
        assert_false(cmd.boot);
        spawn_config_done(&cmd);

        /* Boot=no or ProcessTwo=no: they come along; Parameters= lines add up, an empty one
         * empties the list. */
        spawn_config_init(&cmd);
        merge_into(&cmd, "[Exec]\nParameters=/bin/echo a\nParameters=\nParameters=/bin/echo b\nParameters=more \"c d\"\nBoot=no\n",
                   false, NULL);
        assert_false(cmd.boot);
        assert_strv_equal(cmd.command, (const char *const[]) { "/bin/echo", "b", "more", "c d", NULL });
        spawn_config_done(&cmd);
        spawn_config_init(&cmd);
        merge_into(&cmd, "[Exec]\nProcessTwo=yes\nParameters=/bin/sh -c \"echo \\$\\$\"\n", false, NULL);
        assert_true(cmd.as_pid2);
        assert_strv_equal(cmd.command, (const char *const[]) { "/bin/sh", "-c", "echo \\$\\$", NULL });
        spawn_config_done(&cmd);

        /* Boot=yes and ProcessTwo=yes exclude each other: the later line is ignored; a "no"
         * does not take back a "yes" of the same key. */
        spawn_config_init(&cmd);
        merge_into(&cmd, "[Exec]\nBoot=yes\nProcessTwo=yes\nBoot=no\n", false, &w);
        assert_true(cmd.boot);
        assert_false(cmd.as_pid2);
        assert_int_equal(strv_length(w.warnings), 2);
        diag_done(&w);
        spawn_config_done(&cmd);
}

/* Issue 12: backslashes and quotes in Environment= were unquoted differently from nspawn
 * (Q=\x41 became Qx41). Every value here is what systemd-nspawn 252 passed to `env` in the
 * container for the same file. */
static void test_settings_environment_unquoted_as_nspawn(void **state) {
        const char *text = "[Exec]\n"
                           "Environment=Q=\\x41 A=\"x y\" B='s q' C=a\\ b D=a\"b c\"d E=\\\\ F=a\\\"b G=\"in\\\"side\" H='it\\'s'\n"
                           "Environment=I=1\\\n"
                           " J=2\n"
                           "Environment=K=a\\\\\n"
                           "Environment=M=1 \\\n"
                           "# a comment inside a continued line is skipped\n"
                           "  ; so is this one\n"
                           " N=2\n"
                           "Environment=P=\"\" R=x\"\"y S=\"a'b\" T='a\"b' U=\\\"\n"
                           "Environment=V=1\r\n"
                           "Environment=W=2\rEnvironment=X=3\n\rEnvironment=Y=$HOME Z=%h\n";
        static const char *const want[] = {
                "Q=\\x41", "A=x y", "B=s q", "C=a\\", "D=ab cd", "E=\\\\", "F=a\\b G=in\\side", "I=1", "J=2",
                "K=a\\\\", "M=1", "N=2", "P=", "R=xy", "S=a'b", "T=a\"b", "V=1", "W=2", "X=3", "Y=$HOME", "Z=%h", NULL,
        };
        SpawnConfig c;
        Diag w = DIAG_INIT;
        assert_int_equal(parse(text, &c, &w), 0);
        assert_strv_equal(c.setenv, want);
        /* "b" is no assignment (nspawn passes it on as it is, cowpen ignores it); two lines end
         * in an unterminated quote (their rest is ignored, as by nspawn). */
        assert_int_equal(strv_length(w.warnings), 3);
        diag_done(&w);
        spawn_config_done(&c);

        /* An empty Environment= empties what came before. */
        assert_int_equal(parse("[Exec]\nEnvironment=A=1\nEnvironment=\nEnvironment=B=2\n", &c, NULL), 0);
        assert_strv_equal(c.setenv, (const char *const[]) { "B=2", NULL });
        spawn_config_done(&c);

        /* Parameters= are split the same way. */
        assert_int_equal(parse("[Exec]\nBoot=no\nParameters=/bin/printf '%s|' \\x41 \"a b\"c 'd\\'\n", &c, NULL), 0);
        assert_strv_equal(c.command, (const char *const[]) { "/bin/printf", "%s|", "\\x41", "a bc", "d\\", NULL });
        spawn_config_done(&c);

        /* Capability= and friends: quotes are characters, a backslash takes the next one as it
         * is; an unknown name spoils only itself. */
        assert_int_equal(parse("[Exec]\nCapability=CAP_MKNOD \"CAP_CHOWN\" CAP\\_SYS_TIME bogus,cap_net_raw\n", &c, &w), 0);
        assert_int_equal(c.caps_plus,
                         (UINT64_C(1) << CAP_MKNOD) | (UINT64_C(1) << CAP_SYS_TIME) | (UINT64_C(1) << CAP_NET_RAW));
        assert_int_equal(strv_length(w.warnings), 2);
        diag_done(&w);
        spawn_config_done(&c);
        /* DropCapability= narrows: a name it cannot drop refuses the file instead. */
        diag_done(&w);
        assert_int_equal(parse("[Exec]\nDropCapability=CAP_MKNOD bogus\n", &c, &w), -EINVAL);
        assert_int_equal(strv_length(w.warnings), 1);
        diag_done(&w);

        /* A UTF-8 byte order mark is skipped; X- sections are ignored without a warning. */
        diag_done(&w);
        assert_int_equal(parse("\xef\xbb\xbf[Exec]\nEnvironment=A=1\n[X-Mine]\nFoo=bar\n", &c, &w), 0);
        assert_strv_equal(c.setenv, (const char *const[]) { "A=1", NULL });
        assert_null(w.warnings);
        spawn_config_done(&c);
}

/* Issue 12: ResolvConf=, Timezone=, Limit*=, NotifyReady= and MachineID= were ignored ("unknown
 * key"). An untrusted file may set what concerns only the container's own files or cowpen's
 * caller and lower limits; raising one or naming the machine ID needs a trusted file. */
static void test_settings_nspawn_keys_honoured(void **state) {
        /* A raise: one above our own hard limit of message queue bytes (where it has one). */
        struct rlimit mq;
        assert_int_equal(getrlimit(RLIMIT_MSGQUEUE, &mq), 0);
        bool can_raise = mq.rlim_max != RLIM_INFINITY;
        char text[1024];
        snprintf(text, sizeof(text),
                 "[Exec]\nResolvConf=bind-static\nTimezone=no\nLimitNOFILE=16:32\nLimitCORE=0\nLimitMSGQUEUE=%llu\n"
                 "NotifyReady=yes\nMachineID=0123456789abcdef0123456789abcdef\nLimitBOGUS=1\nResolvConf=copy-uplink\n",
                 can_raise ? (unsigned long long) mq.rlim_max + 1 : 0ULL);
        SpawnConfig cmd, file;
        Diag w = DIAG_INIT;
        assert_int_equal(parse(text, &file, &w), 0);
        assert_int_equal(file.resolv_conf, RESOLV_CONF_BIND_STATIC); /* copy-uplink: unsupported, ignored */
        assert_int_equal(file.timezone, TIMEZONE_OFF);                /* "no" is off, as nspawn */
        assert_non_null(file.rlimits[RLIMIT_NOFILE]);
        assert_int_equal(file.rlimits[RLIMIT_NOFILE]->rlim_cur, 16);
        assert_int_equal(file.rlimits[RLIMIT_NOFILE]->rlim_max, 32);
        assert_true(file.notify_ready);
        assert_true(file.uuid_set);
        assert_int_equal(strv_length(w.warnings), 2); /* LimitBOGUS, copy-uplink */
        diag_done(&w);

        /* Untrusted: all but the machine ID and a raised limit. */
        spawn_config_init(&cmd);
        assert_int_equal(settings_merge(&cmd, &file, false, "/x.nspawn", &w), 0);
        assert_int_equal(cmd.resolv_conf, RESOLV_CONF_BIND_STATIC);
        assert_int_equal(cmd.timezone, TIMEZONE_OFF);
        assert_true(cmd.notify_ready);
        assert_false(cmd.uuid_set);
        assert_non_null(cmd.rlimits[RLIMIT_NOFILE]);
        assert_int_equal(cmd.rlimits[RLIMIT_NOFILE]->rlim_max, 32);
        assert_non_null(cmd.rlimits[RLIMIT_CORE]);
        if (can_raise)
                assert_null(cmd.rlimits[RLIMIT_MSGQUEUE]);
        spawn_config_done(&cmd);
        spawn_config_done(&file);
        assert_true(strv_length(w.warnings) >= 1);
        diag_done(&w);

        /* Trusted: all of it; the command line still wins. */
        assert_int_equal(parse(text, &file, NULL), 0);
        spawn_config_init(&cmd);
        cmd.resolv_conf = RESOLV_CONF_OFF;
        cmd.mask |= SETTING_RESOLV_CONF;
        cmd.rlimits[RLIMIT_NOFILE] = malloc(sizeof(struct rlimit));
        assert_non_null(cmd.rlimits[RLIMIT_NOFILE]);
        *cmd.rlimits[RLIMIT_NOFILE] = (struct rlimit) { 100, 200 };
        assert_int_equal(settings_merge(&cmd, &file, true, "/etc/systemd/nspawn/x.nspawn", &w), 0);
        assert_null(w.warnings);
        assert_int_equal(cmd.resolv_conf, RESOLV_CONF_OFF);
        assert_int_equal(cmd.rlimits[RLIMIT_NOFILE]->rlim_cur, 100);
        assert_true(cmd.uuid_set);
        assert_int_equal(cmd.uuid[0], 0x01);
        assert_non_null(cmd.rlimits[RLIMIT_MSGQUEUE]);
        spawn_config_done(&cmd);
        spawn_config_done(&file);

        /* An all-zero machine ID is none; booleans for the modes as nspawn's tables take them. */
        assert_int_equal(parse("[Exec]\nMachineID=00000000-0000-0000-0000-000000000000\nResolvConf=yes\nTimezone=off\n", &file, &w), 0);
        assert_null(w.warnings);
        assert_false(file.uuid_set);
        assert_int_equal(file.resolv_conf, RESOLV_CONF_AUTO);
        assert_int_equal(file.timezone, TIMEZONE_OFF);
        spawn_config_done(&file);
}

static void test_settings_limits(void **state) {
        SpawnConfig c;
        /* NUL bytes */
        assert_int_equal(settings_parse("[Exec]\0x", 8, &c, NULL), -EBADMSG);
        /* file size: limit + 1 */
        size_t big = SETTINGS_FILE_SIZE_MAX + 1;
        char *s = malloc(big + 1);
        assert_non_null(s);
        memset(s, '#', big);
        s[big] = 0;
        for (size_t i = 1000; i < big; i += 1000)
                s[i] = '\n';
        assert_int_equal(settings_parse(s, big, &c, NULL), -EFBIG);
        /* a line of exactly the limit is fine, one more byte is not */
        memset(s, '#', SETTINGS_LINE_MAX + 1);
        assert_int_equal(settings_parse(s, SETTINGS_LINE_MAX, &c, NULL), 0);
        spawn_config_done(&c);
        assert_int_equal(settings_parse(s, SETTINGS_LINE_MAX + 1, &c, NULL), -E2BIG);
        free(s);

        /* mounts: the limit fits, limit + 1 does not */
        size_t n = SPAWN_CUSTOM_MOUNTS_MAX + 1;
        s = malloc(n * 32 + 16);
        assert_non_null(s);
        size_t k = (size_t) sprintf(s, "[Files]\n");
        for (size_t i = 0; i < n - 1; i++)
                k += (size_t) sprintf(s + k, "TemporaryFileSystem=/t%zu\n", i);
        assert_int_equal(settings_parse(s, k, &c, NULL), 0);
        assert_int_equal(c.n_mounts, SPAWN_CUSTOM_MOUNTS_MAX);
        spawn_config_done(&c);
        k += (size_t) sprintf(s + k, "TemporaryFileSystem=/last\n");
        assert_int_equal(settings_parse(s, k, &c, NULL), -E2BIG);
        free(s);

        /* parameters, added up over lines (config_parse_strv): the limit fits, limit + 1 does not */
        s = malloc((SPAWN_PARAMETERS_MAX + 1) * 24 + 32);
        assert_non_null(s);
        k = (size_t) sprintf(s, "[Exec]\nBoot=no\n");
        for (size_t i = 0; i < SPAWN_PARAMETERS_MAX; i++)
                k += (size_t) sprintf(s + k, "Parameters=p%zu\n", i);
        assert_int_equal(settings_parse(s, k, &c, NULL), 0);
        assert_int_equal(strv_length(c.command), SPAWN_PARAMETERS_MAX);
        spawn_config_done(&c);
        k += (size_t) sprintf(s + k, "Parameters=one-more\n");
        assert_int_equal(settings_parse(s, k, &c, NULL), -E2BIG);
        free(s);

        /* environment: limit + 1 */
        s = malloc((SPAWN_ENVIRONMENT_MAX + 1) * 8 + 32);
        assert_non_null(s);
        k = (size_t) sprintf(s, "[Exec]\nEnvironment=");
        for (size_t i = 0; i <= SPAWN_ENVIRONMENT_MAX; i++)
                k += (size_t) sprintf(s + k, "A%zu=1 ", i);
        assert_int_equal(settings_parse(s, k, &c, NULL), -E2BIG);
        free(s);
}

static void test_settings_merge(void **state) {
        SpawnConfig cmd, file;
        spawn_config_init(&cmd);
        cmd.user = strdup("alice");
        cmd.mask |= SETTING_USER;
        assert_int_equal(parse("[Exec]\nUser=bob\nHostname=h\nProcessTwo=yes\nCapability=all\n[Files]\nBind=/x\n[Network]\nPrivate=yes\n",
                               &file, NULL),
                         0);
        Diag w = DIAG_INIT;
        assert_int_equal(settings_merge(&cmd, &file, false, "/x.nspawn", &w), 0);
        assert_string_equal(cmd.user, "alice"); /* the command line wins */
        assert_string_equal(cmd.hostname, "h");
        assert_true(cmd.as_pid2);
        assert_int_equal(cmd.caps_plus, 0);     /* not trusted */
        assert_int_equal(cmd.n_mounts, 0);
        assert_true(cmd.private_network); /* it only narrows: from an untrusted file too */
        assert_int_equal(strv_length(w.warnings), 2);
        diag_done(&w);
        spawn_config_done(&file);
        spawn_config_done(&cmd);

        spawn_config_init(&cmd);
        assert_int_equal(parse("[Files]\nBind=/x\n[Network]\nPrivate=yes\n", &file, NULL), 0);
        assert_int_equal(settings_merge(&cmd, &file, true, "/etc/systemd/nspawn/x.nspawn", NULL), 0);
        assert_int_equal(cmd.n_mounts, 1);
        assert_true(cmd.private_network);
        spawn_config_done(&file);
        spawn_config_done(&cmd);
}

static void test_settings_userns(void **state) {
        SpawnConfig cmd, file;
        spawn_config_init(&cmd);
        assert_int_equal(parse("[Exec]\nPrivateUsers=pick\n[Files]\nPrivateUsersOwnership=chown\n", &file, NULL), 0);
        assert_int_equal(settings_merge(&cmd, &file, false, "/x.nspawn", NULL), 0);
        assert_int_equal(cmd.private_users, PRIVATE_USERS_PICK); /* from an untrusted file too */
        assert_int_equal(cmd.private_users_ownership, PRIVATE_USERS_OWNERSHIP_CHOWN);
        spawn_config_done(&file);
        spawn_config_done(&cmd);

        /* UIDBASE:N; the older PrivateUsersChown=no is off; the command line wins. */
        spawn_config_init(&cmd);
        cmd.private_users = PRIVATE_USERS_NO;
        cmd.mask |= SETTING_USERNS;
        assert_int_equal(parse("[Exec]\nPrivateUsers=1310720:65536\n[Files]\nPrivateUsersChown=no\n", &file, NULL), 0);
        assert_int_equal(file.private_users, PRIVATE_USERS_FIXED);
        assert_int_equal(file.uid_shift, 1310720);
        assert_int_equal(settings_merge(&cmd, &file, true, "/x.nspawn", NULL), 0);
        assert_int_equal(cmd.private_users, PRIVATE_USERS_NO);
        assert_int_equal(cmd.private_users_ownership, PRIVATE_USERS_OWNERSHIP_OFF);
        spawn_config_done(&file);
        spawn_config_done(&cmd);

        Diag w = DIAG_INIT;
        assert_int_equal(parse("[Files]\nPrivateUsersOwnership=maybe\n", &file, &w), 0);
        assert_int_equal(strv_length(w.warnings), 1);
        diag_done(&w);
        spawn_config_done(&file);
        /* A user namespace narrows: a value that cannot be honoured refuses the file. */
        diag_done(&w);
        assert_int_equal(parse("[Exec]\nPrivateUsers=bogus\n", &file, &w), -EINVAL);
        assert_non_null(strstr(w.warnings[strv_length(w.warnings) - 1], "PrivateUsers="));
        diag_done(&w);
}

static void test_bind_parse(void **state) {
        CustomMount m;
        assert_int_equal(custom_mount_parse_bind("/a", false, &m), 0);
        assert_string_equal(m.source, "/a");
        assert_string_equal(m.destination, "/a");
        assert_true(m.recursive);
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_bind("/a\\:b:/c:rbind", true, &m), 0);
        assert_string_equal(m.source, "/a:b");
        assert_string_equal(m.destination, "/c");
        assert_true(m.read_only);
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_bind("+/in/root:/d", false, &m), 0);
        assert_true(m.source_in_root);
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_bind("rel", false, &m), -EINVAL);
        assert_int_equal(custom_mount_parse_bind("/a:rel", false, &m), -EINVAL);
        assert_int_equal(custom_mount_parse_bind("/a:/b:bogus", false, &m), -EINVAL);
        /* Issue 12: nspawn 252's idmap, rootidmap, noidmap (the last one given wins). */
        assert_int_equal(custom_mount_parse_bind("/a:/b:idmap", false, &m), 0);
        assert_int_equal(m.idmap, BIND_IDMAP_CONTAINER);
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_bind("/a:/b:norbind,rootidmap", false, &m), 0);
        assert_int_equal(m.idmap, BIND_IDMAP_OWNER);
        assert_false(m.recursive);
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_bind("/a:/b:idmap,noidmap", false, &m), 0);
        assert_int_equal(m.idmap, BIND_IDMAP_NONE);
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_bind("/a:/b:idmapped", false, &m), -EINVAL);
        assert_int_equal(custom_mount_parse_bind("/a:/b:rbind:extra", false, &m), -EINVAL);

        assert_int_equal(custom_mount_parse_tmpfs("/t", &m), 0);
        assert_string_equal(m.options, "mode=0755");
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_tmpfs("t", &m), -EINVAL);

        assert_int_equal(custom_mount_parse_overlay("/l:/u", false, &m), 0);
        assert_string_equal(m.upper, "/u");
        assert_string_equal(m.destination, "/u");
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_overlay("/l1:/l2:/mnt", true, &m), 0);
        assert_null(m.upper);
        assert_int_equal(strv_length(m.lower), 2);
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_overlay("/only", false, &m), -EINVAL);
        /* Issue 12: layers "+PATH" of the container's root, and an empty upper, as nspawn. */
        assert_int_equal(custom_mount_parse_overlay("+/l:+/u", false, &m), 0);
        assert_string_equal(m.lower[0], "+/l");
        assert_string_equal(m.upper, "+/u");
        assert_string_equal(m.destination, "/u");
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_overlay("/l::/mnt", false, &m), 0);
        assert_true(m.temporary_top);
        assert_null(m.upper);
        assert_int_equal(strv_length(m.lower), 1);
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_overlay("/l1:+/l2::/mnt", true, &m), 0);
        assert_true(m.temporary_top);
        assert_int_equal(strv_length(m.lower), 2);
        custom_mount_done(&m);
        assert_int_equal(custom_mount_parse_overlay("/l:/u:+/mnt", false, &m), -EINVAL); /* the mount point has no "+" */
        assert_int_equal(custom_mount_parse_overlay("/l:", false, &m), -EINVAL);          /* two paths: neither empty */
        assert_int_equal(custom_mount_parse_overlay(":/u:/mnt", false, &m), -EINVAL);     /* no lower layer empty */
        assert_int_equal(custom_mount_parse_overlay("+rel:/u:/mnt", false, &m), -EINVAL);

        /* layers: limit fits, limit + 1 does not */
        char *s = malloc((SPAWN_OVERLAY_LAYERS_MAX + 3) * 8);
        size_t k = 0;
        for (size_t i = 0; i < SPAWN_OVERLAY_LAYERS_MAX + 2; i++)
                k += (size_t) sprintf(s + k, "%s/l%zu", i ? ":" : "", i);
        assert_int_equal(custom_mount_parse_overlay(s, false, &m), 0);
        custom_mount_done(&m);
        sprintf(s + k, ":/x");
        assert_int_equal(custom_mount_parse_overlay(s, false, &m), -E2BIG);
        free(s);
}

static void test_caps(void **state) {
        uint64_t m;
        _cleanup_diag_ Diag bad = DIAG_INIT;
        assert_int_equal(capability_list_parse("CAP_SYS_ADMIN,net_raw cap_chown", &m, NULL), 0);
        assert_int_equal(m, (UINT64_C(1) << CAP_SYS_ADMIN) | (UINT64_C(1) << CAP_NET_RAW) | (UINT64_C(1) << CAP_CHOWN));
        assert_int_equal(capability_list_parse("all", &m, NULL), 0);
        assert_int_equal(m, CAP_MASK_ALL);
        assert_int_equal(capability_list_parse("CAP_SYS_ADMIN CAP_BOGUS", &m, &bad), -EINVAL);
        assert_string_equal(bad.object, "CAP_BOGUS");
        /* libcap looks the names up: any case, with or without the prefix; no numbers, nothing
         * after a name; its spelling out. */
        assert_int_equal(capability_list_parse("Sys_Admin,cap_BPF", &m, NULL), 0);
        assert_int_equal(m, (UINT64_C(1) << CAP_SYS_ADMIN) | (UINT64_C(1) << 39));
        assert_int_equal(capability_list_parse("12", &m, NULL), -EINVAL);
        assert_int_equal(capability_list_parse("cap_chown2", &m, NULL), -EINVAL);
        assert_int_equal(capability_list_parse("cap_", &m, NULL), -EINVAL);
        assert_int_equal(capability_list_parse("cap_cap_chown", &m, NULL), -EINVAL);
        assert_string_equal(capability_to_name(CAP_CHOWN), "cap_chown");
        assert_string_equal(capability_to_name(40), "cap_checkpoint_restore");
        assert_ptr_equal(capability_to_name(63), NULL);
        assert_ptr_equal(capability_to_name(64), NULL);
        /* nspawn's default set: 0xfcecafff, and with CAP_NET_ADMIN for a private network */
        /* systemd-nspawn 252 arg_caps_retain (CapBnd shows it minus what the host lacks) */
        assert_int_equal(spawn_default_capabilities(false), UINT64_C(0xfdecafff));
        assert_int_equal(spawn_default_capabilities(true), UINT64_C(0xfdecbfff));
        assert_true(spawn_default_capabilities(true) & (UINT64_C(1) << CAP_NET_ADMIN));
        assert_false(spawn_default_capabilities(false) & (UINT64_C(1) << CAP_NET_ADMIN));
        assert_false(spawn_default_capabilities(false) & (UINT64_C(1) << CAP_SYS_MODULE));
        SpawnConfig c;
        spawn_config_init(&c);
        c.caps_plus = UINT64_C(1) << CAP_SYS_MODULE;
        c.caps_minus = UINT64_C(1) << CAP_SYS_ADMIN;
        m = spawn_config_capabilities(&c);
        assert_true(m & (UINT64_C(1) << CAP_SYS_MODULE));
        assert_false(m & (UINT64_C(1) << CAP_SYS_ADMIN));
}

static void test_values(void **state) {
        int res;
        struct rlimit rl;
        assert_int_equal(rlimit_parse("NOFILE=100:200", &res, &rl), 0);
        assert_int_equal(res, RLIMIT_NOFILE);
        assert_int_equal(rl.rlim_cur, 100);
        assert_int_equal(rl.rlim_max, 200);
        assert_int_equal(rlimit_parse("RLIMIT_CORE=infinity", &res, &rl), 0);
        assert_true(rl.rlim_max == RLIM_INFINITY);
        assert_int_equal(rlimit_parse("NOFILE=200:100", &res, &rl), -ERANGE);
        assert_int_equal(rlimit_parse("BOGUS=1", &res, &rl), -EINVAL);
        assert_int_equal(rlimit_parse("NOFILE", &res, &rl), -EINVAL);

        assert_int_equal(signal_from_string("SIGTERM"), SIGTERM);
        assert_int_equal(signal_from_string("kill"), SIGKILL);
        assert_int_equal(signal_from_string("9"), 9);
        assert_int_equal(signal_from_string("RTMIN+3"), SIGRTMIN + 3);
        assert_int_equal(signal_from_string("SIGBOGUS"), -EINVAL);
        assert_int_equal(signal_from_string("0"), -EINVAL);

        uint8_t u[16];
        assert_int_equal(uuid_parse("0123456789abcdef0123456789ABCDEF", u), 0);
        assert_int_equal(u[0], 0x01);
        assert_int_equal(u[15], 0xef);
        assert_int_equal(uuid_parse("01234567-89ab-cdef-0123-456789abcdef", u), 0);
        assert_int_equal(uuid_parse("0123", u), -EINVAL);
        assert_int_equal(uuid_parse("00000000000000000000000000000000", u), -EINVAL);
        assert_int_equal(uuid_parse("0123456789abcdef0123456789abcdefff", u), -EINVAL);

        assert_int_equal(volatile_mode_from_string("yes"), VOLATILE_YES);
        assert_int_equal(volatile_mode_from_string("false"), VOLATILE_NO);
        assert_int_equal(volatile_mode_from_string("overlay"), VOLATILE_OVERLAY);
        assert_int_equal((int) volatile_mode_from_string("x"), -EINVAL);
        assert_int_equal(console_mode_from_string("pipe"), CONSOLE_PIPE);
        assert_int_equal(console_mode_from_string("autopipe"), CONSOLE_AUTOPIPE);
        assert_int_equal(register_mode_from_string("auto"), REGISTER_AUTO);
        assert_int_equal(register_mode_from_string("no"), REGISTER_NO);
        assert_int_equal(register_mode_from_string("1"), REGISTER_YES);
        assert_int_equal((int) register_mode_from_string("sometimes"), -EINVAL);
        assert_int_equal(resolv_conf_mode_from_string("bind-host"), RESOLV_CONF_BIND_HOST);
        assert_int_equal(timezone_mode_from_string("symlink"), TIMEZONE_SYMLINK);

        assert_true(env_assignment_is_valid("A_1=x=y", false));
        assert_false(env_assignment_is_valid("A_1", false));
        assert_true(env_assignment_is_valid("A_1", true));
        assert_false(env_assignment_is_valid("1A=x", true));
        assert_false(env_assignment_is_valid("=x", true));
        assert_false(env_assignment_is_valid("A-B=x", true));

        assert_true(hostname_is_valid_simple("a-b.c_d"));
        assert_false(hostname_is_valid_simple("-a"));
        assert_false(hostname_is_valid_simple("a b"));
        char h[SPAWN_HOSTNAME_MAX + 2];
        memset(h, 'a', sizeof(h));
        h[SPAWN_HOSTNAME_MAX] = 0;
        assert_true(hostname_is_valid_simple(h));
        h[SPAWN_HOSTNAME_MAX] = 'a';
        h[SPAWN_HOSTNAME_MAX + 1] = 0;
        assert_false(hostname_is_valid_simple(h));
}

/* Every key that narrows or protects the container is honoured from any file, or refuses the file
 * when what it asks cannot be done: never ignored with a warning. */
/* The [Network] keys: parsed with nspawn's syntax; links and ports from a trusted file only, an
 * untrusted one's ignored with a warning but a private network all the same; a bad value never
 * leaves the container in the host's network. */
static void test_settings_network_keys(void **state) {
        SpawnConfig file, cmd;
        Diag w = DIAG_INIT;
        const char *text = "[Network]\nVirtualEthernet=yes\nVirtualEthernetExtra=a:b\nVirtualEthernetExtra=c\n"
                           "Interface=eth1 eth2:in2\nMACVLAN=eth0\nIPVLAN=eth3\nZone=ci\nPort=8080:80\nPort=udp:53\n"
                           "NetworkNamespacePath=/run/netns/x\n";
        assert_int_equal(parse(text, &file, &w), 0);
        assert_null(w.warnings);
        assert_true(file.network.veth);
        assert_true(file.private_network);
        assert_int_equal(strv_length(file.network.veth_extra), 4);
        assert_string_equal(file.network.veth_extra[3], "c");
        assert_int_equal(strv_length(file.network.interfaces), 4);
        assert_string_equal(file.network.interfaces[3], "in2");
        assert_string_equal(file.network.zone, "ci");
        assert_int_equal(file.network.n_ports, 2);
        assert_int_equal(file.network.ports[1].protocol, IPPROTO_UDP);
        assert_string_equal(file.network.namespace_path, "/run/netns/x");
        spawn_config_init(&cmd);
        assert_int_equal(settings_merge(&cmd, &file, true, "/etc/systemd/nspawn/x.nspawn", &w), 0);
        assert_null(w.warnings);
        assert_true(cmd.network.veth);
        assert_string_equal(cmd.network.zone, "ci");
        assert_int_equal(cmd.network.n_ports, 2);
        assert_true(cmd.private_network);
        spawn_config_done(&cmd);
        spawn_config_done(&file);

        assert_int_equal(parse("[Network]\nBridge=br0\nPort=80\n", &file, &w), 0);
        spawn_config_init(&cmd);
        assert_int_equal(settings_merge(&cmd, &file, false, "/var/lib/machines/x.nspawn", &w), 0);
        assert_non_null(w.warnings);
        assert_null(cmd.network.bridge);
        assert_int_equal(cmd.network.n_ports, 0);
        assert_true(cmd.private_network);
        spawn_config_done(&cmd);
        spawn_config_done(&file);
        diag_done(&w);

        /* The command line's network wins over the file's. */
        assert_int_equal(parse("[Network]\nZone=z\n", &file, NULL), 0);
        spawn_config_init(&cmd);
        cmd.network.veth = true;
        cmd.mask |= SETTING_NETWORK;
        assert_int_equal(settings_merge(&cmd, &file, true, "/etc/systemd/nspawn/x.nspawn", NULL), 0);
        assert_null(cmd.network.zone);
        spawn_config_done(&cmd);
        spawn_config_done(&file);

        static const char *const bad[] = {
                "[Network]\nVirtualEthernet=perhaps\n", "[Network]\nBridge=way-too-long-a-bridge\n",
                "[Network]\nPort=tcp:0\n", "[Network]\nMACVLAN=a/b\n", "[Network]\nNetworkNamespacePath=rel\n",
                "[Network]\nZone=\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(parse(bad[i], &file, &w), 0);
                if (!w.warnings || !file.private_network)
                        fail_msg("%s: no warning, or no private network", bad[i]);
                spawn_config_done(&file);
                diag_done(&w);
        }
        (void) state;
}

static void test_settings_protective_keys(void **state) {
        SpawnConfig file, cmd;
        Diag w = DIAG_INIT;
        assert_int_equal(parse("[Exec]\nEphemeral=yes\n[Files]\nInaccessible=/etc/secret\nReadOnly=yes\n"
                               "[Network]\nPrivate=yes\nVirtualEthernet=no\n",
                               &file, &w),
                         0);
        assert_null(w.warnings);
        assert_true(file.ephemeral);
        assert_true(file.mask & SETTING_EPHEMERAL);
        spawn_config_init(&cmd);
        assert_int_equal(settings_merge(&cmd, &file, false, "/var/lib/machines/x.nspawn", &w), 0);
        assert_null(w.warnings); /* nothing of it needs trust */
        assert_true(cmd.ephemeral);
        assert_true(strv_contains(cmd.inaccessible, "/etc/secret"));
        assert_true(cmd.read_only);
        assert_true(cmd.private_network);
        spawn_config_done(&cmd);
        spawn_config_done(&file);

        /* -x on the command line is not undone by Ephemeral=no. */
        assert_int_equal(parse("[Exec]\nEphemeral=no\n", &file, NULL), 0);
        spawn_config_init(&cmd);
        cmd.ephemeral = true;
        cmd.mask |= SETTING_EPHEMERAL;
        assert_int_equal(settings_merge(&cmd, &file, true, "/etc/systemd/nspawn/x.nspawn", NULL), 0);
        assert_true(cmd.ephemeral);
        spawn_config_done(&cmd);
        spawn_config_done(&file);

        static const struct {
                const char *text, *key;
        } refused[] = {
                { "[Exec]\nEphemeral=perhaps\n", "Ephemeral=" },
                { "[Exec]\nNoNewPrivileges=ja\n", "NoNewPrivileges=" },
                { "[Exec]\nDropCapability=CAP_SYS_ADMIN CAP_BOGUS\n", "DropCapability=" },
                { "[Exec]\nSystemCallFilter=~keyctl bogus_call\n", "SystemCallFilter=" },
                { "[Exec]\nPrivateUsers=sometimes\n", "PrivateUsers=" },
                { "[Exec]\nCPUAffinity=nine\n", "CPUAffinity=" },
                { "[Exec]\nOOMScoreAdjust=2000\n", "OOMScoreAdjust=" },
                { "[Files]\nReadOnly=maybe\n", "ReadOnly=" },
                { "[Files]\nVolatile=very\n", "Volatile=" },
                { "[Files]\nInaccessible=relative/path\n", "Inaccessible=" },
                { "[Network]\nPrivate=2\n", "Private=" },
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                diag_done(&w);
                int r = parse(refused[i].text, &file, &w);
                if (r != -EINVAL || !w.warnings || !strstr(w.warnings[strv_length(w.warnings) - 1], refused[i].key))
                        fail_msg("%s: %d, %s", refused[i].text, r, w.warnings ? w.warnings[strv_length(w.warnings) - 1] : "(no message)");
                /* The refusal is the failure's cause too. */
                assert_string_equal(diag_message(&w), w.warnings[strv_length(w.warnings) - 1]);
                diag_done(&w);
        }
        /* Past the warning limit the refusal is still said, last. */
        char *t = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&t, &n);
        fprintf(f, "[Exec]\n");
        for (int i = 0; i < 40; i++)
                fprintf(f, "Bogus%d=1\n", i);
        fprintf(f, "NoNewPrivileges=ja\n");
        fclose(f);
        diag_done(&w);
        assert_int_equal(parse(t, &file, &w), -EINVAL);
        assert_non_null(strstr(w.warnings[strv_length(w.warnings) - 1], "NoNewPrivileges="));
        diag_done(&w);
        free(t);
        /* What only widens is still just ignored with a warning. */
        diag_done(&w);
        assert_int_equal(parse("[Exec]\nCapability=CAP_BOGUS\nSystemCallFilter=bogus_call\n", &file, &w), 0);
        assert_int_equal(strv_length(w.warnings), 2);
        diag_done(&w);
        spawn_config_done(&file);
}

static void test_settings_security_keys(void **state) {
        SpawnConfig file, cmd;
        Diag w = DIAG_INIT;
        const char *t = "[Exec]\n"
                        "SystemCallFilter=~@mount keyctl\n"
                        "SystemCallFilter=@clock\n"
                        "SystemCallFilter=@nonsense\n"
                        "AmbientCapability=CAP_NET_RAW\n"
                        "DropCapability=CAP_MKNOD\n"
                        "Capability=CAP_SYS_TIME\n"
                        "OOMScoreAdjust=-100\n"
                        "CPUAffinity=0-2,4\n"
                        "Personality=x86\n"
                        "SuppressSync=yes\n"
                        "[Files]\n"
                        "Inaccessible=/etc/shadow\n";
        assert_int_equal(parse(t, &file, &w), 0);
        assert_true(strv_contains(file.syscall_deny, "@mount"));
        assert_true(strv_contains(file.syscall_deny, "keyctl"));
        assert_true(strv_contains(file.syscall_allow, "@clock"));
        assert_int_equal(strv_length(file.syscall_allow), 1); /* the unknown group's line is ignored */
        assert_int_equal(file.ambient_caps, UINT64_C(1) << CAP_NET_RAW);
        assert_int_equal(file.oom_score_adjust, -100);
        assert_non_null(file.cpu_affinity.set);
        assert_true(CPU_ISSET_S(4, file.cpu_affinity.size, file.cpu_affinity.set));
        assert_false(CPU_ISSET_S(3, file.cpu_affinity.size, file.cpu_affinity.set));
        assert_true(file.suppress_sync);
        assert_int_equal(strv_length(file.inaccessible), 1);
        assert_int_equal(strv_length(w.warnings), 1); /* @nonsense (an allow list: ignoring it only narrows) */
        diag_done(&w);

        /* Untrusted: what narrows applies, what widens is ignored with a warning. */
        spawn_config_init(&cmd);
        assert_int_equal(settings_merge(&cmd, &file, false, "/x.nspawn", &w), 0);
        assert_true(strv_contains(cmd.syscall_deny, "@mount"));
        assert_null(cmd.syscall_allow);
        assert_int_equal(cmd.ambient_caps, 0);
        assert_int_equal(cmd.caps_plus, 0);
        assert_int_equal(cmd.caps_minus, UINT64_C(1) << CAP_MKNOD);
        assert_false(cmd.oom_score_adjust_set);
        assert_non_null(cmd.cpu_affinity.set);
        assert_true(cmd.suppress_sync);
        assert_true(strv_contains(cmd.inaccessible, "/etc/shadow"));
        assert_int_equal(strv_length(w.warnings), 4); /* allow-list, Capability=, OOMScoreAdjust=, AmbientCapability= */
        diag_done(&w);
        spawn_config_done(&cmd);
        spawn_config_done(&file);

        /* Trusted: all of it; the command line still wins. */
        assert_int_equal(parse(t, &file, NULL), 0);
        spawn_config_init(&cmd);
        cmd.oom_score_adjust = 5;
        cmd.oom_score_adjust_set = true;
        cmd.mask |= SETTING_OOM_SCORE_ADJUST;
        assert_int_equal(settings_merge(&cmd, &file, true, "/etc/systemd/nspawn/x.nspawn", NULL), 0);
        assert_true(strv_contains(cmd.syscall_allow, "@clock"));
        assert_int_equal(cmd.ambient_caps, UINT64_C(1) << CAP_NET_RAW);
        assert_int_equal(cmd.caps_plus, UINT64_C(1) << CAP_SYS_TIME);
        assert_int_equal(cmd.oom_score_adjust, 5);
        spawn_config_done(&cmd);
        spawn_config_done(&file);

        /* A narrowing OOM score from an untrusted file applies. */
        assert_int_equal(parse("[Exec]\nOOMScoreAdjust=300\n", &file, NULL), 0);
        spawn_config_init(&cmd);
        assert_int_equal(settings_merge(&cmd, &file, false, "/x.nspawn", NULL), 0);
        assert_true(cmd.oom_score_adjust_set);
        assert_int_equal(cmd.oom_score_adjust, 300);
        spawn_config_done(&cmd);
        spawn_config_done(&file);
}

static void test_security_values(void **state) {
        CpuSet set;
        assert_int_equal(cpu_set_parse("0", &set), 0);
        assert_true(CPU_ISSET_S(0, set.size, set.set));
        cpu_set_done(&set);
        assert_int_equal(cpu_set_parse("", &set), 0);
        assert_null(set.set);
        assert_int_equal(cpu_set_parse("8191", &set), 0); /* the limit */
        cpu_set_done(&set);
        assert_int_equal(cpu_set_parse("8192", &set), -ERANGE); /* limit + 1 */
        assert_int_equal(cpu_set_parse("3-1", &set), -EINVAL);
        assert_int_equal(cpu_set_parse("x", &set), -EINVAL);
        int v;
        assert_int_equal(oom_score_adjust_parse("1000", &v), 0);
        assert_int_equal(oom_score_adjust_parse("1001", &v), -ERANGE);
        assert_int_equal(oom_score_adjust_parse("-1001", &v), -ERANGE);
        assert_int_equal(oom_score_adjust_parse("1e3", &v), -EINVAL);
#if defined(__x86_64__)
        assert_int_not_equal(personality_from_string("x86"), PERSONALITY_INVALID);
        assert_int_not_equal(personality_from_string("x86-64"), PERSONALITY_INVALID);
#endif
        assert_int_equal(personality_from_string("s390"), PERSONALITY_INVALID);
        char **l = NULL;
        assert_int_equal(inaccessible_path_add(&l, "/etc/shadow"), 0);
        assert_int_equal(inaccessible_path_add(&l, "/etc/shadow"), 0);
        assert_int_equal(strv_length(l), 1);
        assert_int_equal(inaccessible_path_add(&l, "relative"), -EINVAL);
        assert_int_equal(inaccessible_path_add(&l, "/a/../b"), -EINVAL);
        assert_int_equal(inaccessible_path_add(&l, "/"), -EINVAL);
        strv_free(l);
        l = NULL;
        char p[32];
        for (unsigned i = 0; i < SPAWN_INACCESSIBLE_MAX; i++) {
                snprintf(p, sizeof(p), "/p%u", i);
                assert_int_equal(inaccessible_path_add(&l, p), 0);
        }
        assert_int_equal(inaccessible_path_add(&l, "/one-more"), -E2BIG); /* limit + 1 */
        strv_free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_settings_basic),    cmocka_unit_test(test_settings_warnings),
                cmocka_unit_test(test_settings_continuation), cmocka_unit_test(test_settings_limits),
                cmocka_unit_test(test_settings_merge), cmocka_unit_test(test_settings_userns),    cmocka_unit_test(test_bind_parse),
                cmocka_unit_test(test_caps),              cmocka_unit_test(test_values),
                cmocka_unit_test(test_settings_security_keys), cmocka_unit_test(test_security_values),
                cmocka_unit_test(test_settings_protective_keys),
                cmocka_unit_test(test_settings_network_keys),
                cmocka_unit_test(test_settings_boot_command_line_wins),
                cmocka_unit_test(test_settings_parameters_without_boot_ignored),
                cmocka_unit_test(test_settings_environment_unquoted_as_nspawn),
                cmocka_unit_test(test_settings_nspawn_keys_honoured),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
