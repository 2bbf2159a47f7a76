/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machine-registry.c: names held by a lock while their owner lives, records trusted only while
 * the lock is held and the leader is the recorded process, untrusted records refused, stale ones
 * removed. The registry is a temporary directory ($COWPEN_RUNTIME_DIR). */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "machine.h"
#include "rm-rf.h"
#include "unit-helpers.h"
#include "proc-util.h"
#include "util.h"

static char base[64];
static char regdir[128];

static int setup(void **state) {
        snprintf(base, sizeof base, "/tmp/test-machine-registry.XXXXXX");
        assert_non_null(mkdtemp(base));
        setenv("COWPEN_RUNTIME_DIR", base, 1);
        snprintf(regdir, sizeof regdir, "%s/machines", base);
        return 0;
}

static int teardown(void **state) {
        test_dir_remove(base);
        return 0;
}

static bool exists(const char *name) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", regdir, name);
        return access(p, F_OK) == 0;
}

static void write_raw(const char *name, const char *text) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", regdir, name);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/* A child that waits to be killed: a live leader that is not us. */
static pid_t sleeper(void) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        return pid;
}

static void reap(pid_t pid) {
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static MachineRecord record(const char *name, pid_t leader, char **addresses) {
        return (MachineRecord){
                .name = (char *) name,
                .class = (char *) "container",
                .service = (char *) "cowpen",
                .leader = leader,
                .image = (char *) "deb",
                .root = (char *) "/var/lib/machines/deb",
                .addresses = addresses,
                .cgroup = (char *) "/cowpen/deb",
                .os = (char *) "debian",
                .version = (char *) "12",
                .since_usec = 1234567,
                .uuid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
                .boot = true,
                .uid_shift = 65536,
                .uid_range = 65536,
                .kill_signal = SIGRTMIN + 3,
        };
}

static void test_names(void **state) {
        assert_true(machine_name_is_valid("deb"));
        assert_true(machine_name_is_valid("a.b-c_9"));
        assert_false(machine_name_is_valid(""));
        assert_false(machine_name_is_valid(".hidden"));
        assert_false(machine_name_is_valid("-x"));
        assert_false(machine_name_is_valid("a/b"));
        assert_false(machine_name_is_valid("x.lock"));
        assert_false(machine_name_is_valid("a b"));
        char longname[MACHINE_NAME_MAX + 2];
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = 0;
        assert_false(machine_name_is_valid(longname));
        longname[MACHINE_NAME_MAX] = 0;
        assert_true(machine_name_is_valid(longname));
}

static void test_lifecycle(void **state) {
        _cleanup_diag_ Diag diag = DIAG_INIT;
        MachineRegistration reg = MACHINE_REGISTRATION_NULL;
        assert_int_equal(machine_reserve("deb", &reg, &diag), 0);
        assert_true(exists("deb.lock"));
        assert_false(exists("deb"));

        /* Reserved, no record yet: taken (by us, named by the lock file), but not listed. */
        MachineRegistration second = MACHINE_REGISTRATION_NULL;
        assert_int_equal(machine_reserve("deb", &second, &diag), -EBUSY);
        char expect[128];
        snprintf(expect, sizeof expect, "machine deb is already running (PID %d)", (int) getpid());
        assert_string_equal(diag_message(&diag), expect);
        diag_clear_failure(&diag);
        MachineRecord *m = NULL;
        assert_int_equal(machine_lookup("deb", &m, &diag), -ESRCH);
        assert_string_equal(diag_message(&diag), "no machine deb is running");
        diag_clear_failure(&diag);

        pid_t leader = sleeper();
        char *addrs[] = {(char *) "10.0.0.2", (char *) "fd00::2", NULL};
        MachineRecord w = record("deb", leader, addrs);
        assert_int_equal(machine_record_write(&reg, &w, &diag), 0);
        assert_true(reg.written);
        struct stat st;
        char p[256];
        snprintf(p, sizeof p, "%s/deb", regdir);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(stat(regdir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);

        assert_int_equal(machine_lookup("deb", &m, &diag), 0);
        assert_string_equal(m->name, "deb");
        assert_string_equal(m->class, "container");
        assert_string_equal(m->service, "cowpen");
        assert_int_equal(m->leader, leader);
        assert_int_equal(m->monitor, getpid());
        assert_string_equal(m->image, "deb");
        assert_string_equal(m->root, "/var/lib/machines/deb");
        assert_null(m->root_hash);
        assert_int_equal(strv_length(m->addresses), 2);
        assert_string_equal(m->addresses[0], "10.0.0.2");
        assert_string_equal(m->addresses[1], "fd00::2");
        assert_string_equal(m->cgroup, "/cowpen/deb");
        assert_string_equal(m->os, "debian");
        assert_string_equal(m->version, "12");
        assert_true(m->since_usec == 1234567);
        assert_memory_equal(m->uuid, w.uuid, 16);
        assert_true(m->boot);
        assert_false(m->private_users);
        assert_int_equal(m->uid_shift, 65536);
        assert_int_equal(m->uid_range, 65536);
        assert_int_equal(m->kill_signal, SIGRTMIN + 3);
        uint64_t t;
        assert_int_equal(pid_starttime(leader, &t), 0);
        assert_true(m->leader_starttime == t);

        int fd = machine_leader_pidfd(m, &diag);
        assert_true(fd >= 0);
        close(fd);
        /* A leader of another start time (a reused PID) is never the machine's. */
        m->leader_starttime++;
        assert_int_equal(machine_leader_pidfd(m, &diag), -ESRCH);
        diag_clear_failure(&diag);
        machine_record_free(m);

        assert_int_equal(machine_reserve("deb", &second, &diag), -EBUSY);
        snprintf(expect, sizeof expect, "machine deb is already running (PID %d)", (int) leader);
        assert_string_equal(diag_message(&diag), expect);
        diag_clear_failure(&diag);

        MachineRecord **l = NULL;
        size_t n = 0;
        assert_int_equal(machine_list(&l, &n, &diag), 0);
        assert_int_equal(n, 1);
        assert_string_equal(l[0]->name, "deb");
        machine_record_free_many(l, n);

        /* The leader gone (the run not yet ended): not running any more. */
        reap(leader);
        assert_int_equal(machine_lookup("deb", &m, &diag), -ESRCH);
        diag_clear_failure(&diag);
        assert_int_equal(machine_list(&l, &n, &diag), 0);
        assert_int_equal(n, 0);
        machine_record_free_many(l, n);

        machine_release(&reg);
        assert_false(exists("deb"));
        assert_false(exists("deb.lock"));
        assert_int_equal(reg.lock_fd, -EBADF);
        machine_release(&reg); /* twice is fine */
        machine_release(NULL);

        /* Free again. */
        assert_int_equal(machine_reserve("deb", &reg, &diag), 0);
        machine_release(&reg);
}

/* A record whose lock nobody holds is never trusted, even with a live leader of the right start
 * time: it is removed with its lock. */
static void test_free_lock_untrusted(void **state) {
        _cleanup_diag_ Diag diag = DIAG_INIT;
        MachineRegistration reg = MACHINE_REGISTRATION_NULL;
        assert_int_equal(machine_reserve("free", &reg, &diag), 0);
        MachineRecord w = record("free", getpid(), NULL);
        assert_int_equal(machine_record_write(&reg, &w, &diag), 0);
        /* Keep the files, drop the lock: what a run killed with SIGKILL leaves. */
        reg.lock_fd = safe_close(reg.lock_fd);
        assert_true(exists("free") && exists("free.lock"));

        MachineRecord *m = NULL;
        assert_int_equal(machine_lookup("free", &m, &diag), -ESRCH);
        assert_string_equal(diag_message(&diag), "no machine free is running");
        diag_clear_failure(&diag);
        assert_false(exists("free"));
        assert_false(exists("free.lock"));
        machine_release(&reg);

        /* A record without any lock file. */
        char text[512];
        uint64_t t;
        assert_int_equal(pid_starttime(getpid(), &t), 0);
        snprintf(text, sizeof text,
                "{\"name\":\"nolock\",\"class\":\"container\",\"root\":\"/x\",\"leader\":%d,"
                "\"leader_starttime\":%llu}",
                (int) getpid(), (unsigned long long) t);
        write_raw("nolock", text);
        MachineRecord **l = NULL;
        size_t n = 0;
        assert_int_equal(machine_list(&l, &n, &diag), 0);
        assert_int_equal(n, 0);
        assert_false(exists("nolock"));

        /* A run killed with SIGKILL (in a child) leaves a lock nobody holds. */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                MachineRegistration r2 = MACHINE_REGISTRATION_NULL;
                MachineRecord w2 = record("killed", getppid(), NULL);
                if (machine_reserve("killed", &r2, NULL) < 0 || machine_record_write(&r2, &w2, NULL) < 0)
                        _exit(1);
                raise(SIGKILL);
                _exit(2);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_true(exists("killed") && exists("killed.lock"));
        assert_int_equal(machine_list(&l, &n, &diag), 0);
        assert_int_equal(n, 0);
        assert_false(exists("killed"));
        assert_false(exists("killed.lock"));
        /* And the name is free. */
        assert_int_equal(machine_reserve("killed", &reg, &diag), 0);
        machine_release(&reg);

        /* clean removes what dead runs left, and counts them; a live one stays. */
        MachineRegistration live = MACHINE_REGISTRATION_NULL;
        assert_int_equal(machine_reserve("live", &live, &diag), 0);
        assert_int_equal(machine_reserve("dead", &reg, &diag), 0);
        MachineRecord w3 = record("dead", getpid(), NULL);
        assert_int_equal(machine_record_write(&reg, &w3, &diag), 0);
        reg.lock_fd = safe_close(reg.lock_fd);
        assert_int_equal(machine_clean(&diag), 1);
        assert_false(exists("dead") || exists("dead.lock"));
        assert_true(exists("live.lock"));
        assert_int_equal(machine_clean(&diag), 0);
        machine_release(&reg);
        machine_release(&live);
}

/* Records are parsed as untrusted: anything malformed is not a running machine. */
static void test_bad_records(void **state) {
        _cleanup_diag_ Diag diag = DIAG_INIT;
        uint64_t t;
        assert_int_equal(pid_starttime(getpid(), &t), 0);
        char good_prefix[256];
        snprintf(good_prefix, sizeof good_prefix, "\"class\":\"container\",\"leader\":%d,\"leader_starttime\":%llu",
                (int) getpid(), (unsigned long long) t);
        char big[MACHINE_RECORD_SIZE_MAX + 64];
        memset(big, ' ', sizeof big - 1);
        big[sizeof big - 1] = 0;
        big[0] = '{';
        big[sizeof big - 2] = '}';
        const char *bad[] = {
                "",
                "not json",
                "[]",
                "{\"name\":\"bad\"}",                          /* no leader, no root */
                "{\"name\":\"other\",%s,\"root\":\"/x\"}",     /* another name */
                "{\"name\":\"bad\",%s,\"root\":\"relative\"}", /* root not absolute */
                "{\"name\":\"bad\",%s,\"root\":\"/x/../y\"}",  /* .. */
                "{\"name\":\"bad\",%s,\"root\":\"/x\",\"addresses\":[\"10.0.0.300\"]}",
                "{\"name\":\"bad\",%s,\"root\":\"/x\",\"addresses\":\"10.0.0.2\"}",
                "{\"name\":\"bad\",%s,\"root\":\"/x\",\"os\":\"a\\nb\"}", /* a newline */
                "{\"name\":\"bad\",%s,\"root\":\"/x\",\"uuid\":\"zz\"}",
                "{\"name\":\"bad\",%s,\"root\":\"/x\",\"kill_signal\":99}",
                "{\"name\":\"bad\",%s,\"root\":\"/x\",\"boot\":\"yes\"}",
                "{\"name\":\"bad\",%s,\"root\":\"/x\",\"root_hash\":\"xyz\"}",
                "{\"name\":\"bad\",%s,\"root\":\"/x\",\"cgroup\":\"/a/../..\"}",
                "{\"name\":\"bad\",%s,\"root\":\"/x\"} trailing",
                "{\"name\":\"bad\",%s,\"root\":\"/x\",\"a\":[[[[[[1]]]]]]}", /* too deep */
                big,
        };
        MachineRegistration reg = MACHINE_REGISTRATION_NULL;
        assert_int_equal(machine_reserve("bad", &reg, &diag), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char text[sizeof big];
                const char *hole = strstr(bad[i], "%s");
                if (hole)
                        snprintf(text, sizeof text, "%.*s%s%s", (int) (hole - bad[i]), bad[i], good_prefix, hole + 2);
                else
                        snprintf(text, sizeof text, "%s", bad[i]);
                write_raw("bad", text);
                MachineRecord *m = NULL;
                int r = machine_lookup("bad", &m, &diag);
                if (r != -ESRCH)
                        fail_msg("record %zu was trusted: %s", i, text);
                diag_clear_failure(&diag);
        }
        /* The same with a good record is trusted: the bad ones failed for their fault only. */
        char text[512];
        snprintf(text, sizeof text, "{\"name\":\"bad\",%s,\"root\":\"/x\",\"addresses\":[\"10.0.0.2\"]}", good_prefix);
        write_raw("bad", text);
        MachineRecord *m = NULL;
        assert_int_equal(machine_lookup("bad", &m, &diag), 0);
        machine_record_free(m);

        /* A symlink as record is not followed. */
        char p[256];
        snprintf(p, sizeof p, "%s/bad", regdir);
        assert_int_equal(unlink(p), 0);
        write_raw("target", text);
        assert_int_equal(symlink("target", p), 0);
        assert_int_equal(machine_lookup("bad", &m, &diag), -ESRCH);
        diag_clear_failure(&diag);
        machine_release(&reg);
        snprintf(p, sizeof p, "%s/target", regdir);
        unlink(p);

        /* Invalid names are never looked up. */
        assert_int_equal(machine_lookup("../x", &m, &diag), -ESRCH);
        diag_clear_failure(&diag);
        assert_int_equal(machine_reserve("a/b", &reg, &diag), -EINVAL);
}

static void test_dir_env(void **state) {
        _cleanup_free_ char *d = NULL;
        assert_int_equal(machine_registry_dir(&d), 0);
        assert_string_equal(d, regdir);
        free(d);
        d = NULL;
        char *saved = strdup(getenv("COWPEN_RUNTIME_DIR"));
        unsetenv("COWPEN_RUNTIME_DIR");
        setenv("RUNTIME_DIRECTORY", "/run/x:/run/y", 1);
        assert_int_equal(machine_registry_dir(&d), 0);
        assert_string_equal(d, "/run/x/machines");
        free(d);
        d = NULL;
        unsetenv("RUNTIME_DIRECTORY");
        assert_int_equal(machine_registry_dir(&d), 0);
        assert_string_equal(d, "/run/cowpen/machines");
        setenv("COWPEN_MACHINES_DIR", "/x/y", 1);
        free(d);
        d = NULL;
        assert_int_equal(machine_registry_dir(&d), 0);
        assert_string_equal(d, "/x/y");
        unsetenv("COWPEN_MACHINES_DIR");
        setenv("COWPEN_RUNTIME_DIR", saved, 1);
        free(saved);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_lifecycle),
                cmocka_unit_test(test_free_lock_untrusted),
                cmocka_unit_test(test_bad_records),
                cmocka_unit_test(test_dir_env),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
