/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registry of running machines (machine.h): NAME.lock held with flock() by the run that owns
 * NAME, NAME the JSON record. Readers trust a record only while its lock is held and its leader
 * still has the recorded start time; a lock a reader can take belongs to nobody, and the reader
 * then removes the record and the lock, after checking (same inode) that the lock file it holds
 * is the one at that name, so that a new owner's files are never removed. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "json-util.h"
#include "machine.h"
#include "proc-util.h"
#include "util.h"
#include "uuid-util.h"

/* Limits on what a record may hold (it is parsed as untrusted). */
#define RECORD_STRING_MAX 4096U /* paths: root, image, cgroup */
#define RECORD_SHORT_MAX 256U   /* class, service, os, version, root hash */
#define RECORD_JSON_DEPTH_MAX 4
#define LOCK_FILE_SIZE_MAX 64U
#define RESERVE_ATTEMPTS_MAX 64U

MachineRecord *machine_record_free(MachineRecord *m) {
        if (!m)
                return NULL;
        free(m->name);
        free(m->class);
        free(m->service);
        free(m->image);
        free(m->root);
        free(m->root_hash);
        strv_free(m->addresses);
        free(m->cgroup);
        free(m->os);
        free(m->version);
        free(m);
        return NULL;
}

void machine_record_free_many(MachineRecord **l, size_t n) {
        if (!l)
                return;
        for (size_t i = 0; i < n; i++)
                machine_record_free(l[i]);
        free(l);
}

int machine_registry_dir(char **ret) {
        const char *e = getenv("COWPEN_MACHINES_DIR");
        char *p;
        if (e && *e == '/')
                p = strdup(e);
        else if ((e = getenv("COWPEN_RUNTIME_DIR")) && *e == '/')
                p = strjoin(e, "/machines");
        else if ((e = getenv("RUNTIME_DIRECTORY")) && *e == '/') {
                /* systemd's RuntimeDirectory= may list several, separated by ':'; the first. */
                size_t n = strcspn(e, ":");
                p = malloc(n + STRLEN("/machines") + 1);
                if (p) {
                        memcpy(p, e, n);
                        strcpy(p + n, "/machines");
                }
        } else
                p = strdup("/run/cowpen/machines");
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

bool machine_name_is_valid(const char *s) {
        if (!s)
                return false;
        size_t n = strlen(s);
        if (n == 0 || n > MACHINE_NAME_MAX || s[0] == '.' || s[0] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                            *p == '.' || *p == '_'))
                        return false;
        /* "NAME.lock" is the lock of NAME, never a machine of its own. */
        return !endswith(s, ".lock");
}

static int open_registry(bool create, int *ret, Diag *diag) {
        _cleanup_free_ char *dir = NULL;
        int r = machine_registry_dir(&dir);
        if (r < 0)
                return diag_fail(diag, r, NULL, NULL);
        if (create) {
                /* The parents too (/run/cowpen), 0755: readable by everyone, as machined's. */
                for (char *s = dir + 1;; s++) {
                        if (*s != '/' && *s != 0)
                                continue;
                        char c = *s;
                        *s = 0;
                        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                                r = negative_errno();
                                *s = c;
                                return diag_fail(diag, r, dir, "cannot create the machine registry: %m");
                        }
                        *s = c;
                        if (!c)
                                break;
                }
        }
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return diag_fail(diag, negative_errno(), dir, create ? "cannot open the machine registry: %m" : NULL);
        *ret = fd;
        return 0;
}

static bool same_inode(int dir_fd, const char *name, int fd) {
        struct stat a, b;
        return fstat(fd, &a) >= 0 && fstatat(dir_fd, name, &b, AT_SYMLINK_NOFOLLOW) >= 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

static char *lock_name(const char *name) {
        return strjoin(name, ".lock");
}

/* Record parsing: every field checked, with limits. */
static int get_string(json_object *o, const char *key, size_t max, bool required, char **ret) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
                *ret = NULL;
                return required ? -EBADMSG : 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        const char *s = json_object_get_string(v);
        size_t n = (size_t) json_object_get_string_len(v);
        if (n == 0 || n > max || strlen(s) != n)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return -EBADMSG;
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

static int get_u64(json_object *o, const char *key, uint64_t max, bool required, uint64_t *ret) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
                *ret = 0;
                return required ? -EBADMSG : 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return -EBADMSG;
        errno = 0;
        int64_t i = json_object_get_int64(v);
        if (i < 0) /* a value above INT64_MAX reads as negative or clamps */
                return -EBADMSG;
        uint64_t u = json_object_get_uint64(v);
        if (errno != 0 || u > max)
                return -EBADMSG;
        *ret = u;
        return 0;
}

static int get_bool(json_object *o, const char *key, bool *ret) {
        json_object *v;
        *ret = false;
        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_boolean))
                return -EBADMSG;
        *ret = json_object_get_boolean(v);
        return 0;
}

static bool address_is_valid(const char *s) {
        unsigned char buf[sizeof(struct in6_addr)];
        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool path_is_safe(const char *p) {
        if (p[0] != '/')
                return false;
        for (const char *s = p; (s = strstr(s, "..")); s += 2)
                if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == 0))
                        return false;
        return true;
}

static int record_parse(const char *name, const char *text, size_t size, MachineRecord **ret) {
        if (size > MACHINE_RECORD_SIZE_MAX || strlen(text) != size)
                return -EBADMSG;
        json_tokener *tok = json_tokener_new_ex(RECORD_JSON_DEPTH_MAX);
        if (!tok)
                return -ENOMEM;
        _cleanup_json_ json_object *o = json_tokener_parse_ex(tok, text, (int) size);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t parsed = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!o || jerr != json_tokener_success || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        for (; parsed < size; parsed++)
                if (!strchr(" \t\r\n", text[parsed]))
                        return -EBADMSG;

        _cleanup_(machine_record_freep) MachineRecord *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        int r;
        uint64_t u;
        if ((r = get_string(o, "name", MACHINE_NAME_MAX, true, &m->name)) < 0)
                return r;
        if (!streq(m->name, name))
                return -EBADMSG;
        if ((r = get_string(o, "class", RECORD_SHORT_MAX, true, &m->class)) < 0 ||
                (r = get_string(o, "service", RECORD_SHORT_MAX, false, &m->service)) < 0 ||
                (r = get_string(o, "image", RECORD_STRING_MAX, false, &m->image)) < 0 ||
                (r = get_string(o, "root", RECORD_STRING_MAX, true, &m->root)) < 0 ||
                (r = get_string(o, "root_hash", RECORD_SHORT_MAX, false, &m->root_hash)) < 0 ||
                (r = get_string(o, "cgroup", RECORD_STRING_MAX, false, &m->cgroup)) < 0 ||
                (r = get_string(o, "os", RECORD_SHORT_MAX, false, &m->os)) < 0 ||
                (r = get_string(o, "version", RECORD_SHORT_MAX, false, &m->version)) < 0)
                return r;
        if (!path_is_safe(m->root) || (m->cgroup && !path_is_safe(m->cgroup)))
                return -EBADMSG;
        if (m->root_hash)
                for (const char *p = m->root_hash; *p; p++)
                        if (unhexchar(*p) < 0)
                                return -EBADMSG;

        if ((r = get_u64(o, "leader", INT_MAX, true, &u)) < 0)
                return r;
        if (u < 2) /* never 0, never init of the host */
                return -EBADMSG;
        m->leader = (pid_t) u;
        if ((r = get_u64(o, "leader_starttime", UINT64_MAX, true, &m->leader_starttime)) < 0)
                return r;
        if ((r = get_u64(o, "monitor", INT_MAX, false, &u)) < 0)
                return r;
        m->monitor = (pid_t) u;
        if ((r = get_u64(o, "monitor_starttime", UINT64_MAX, false, &m->monitor_starttime)) < 0 ||
                (r = get_u64(o, "since", UINT64_MAX, false, &m->since_usec)) < 0)
                return r;
        if ((r = get_u64(o, "uid_shift", UINT32_MAX, false, &u)) < 0)
                return r;
        m->uid_shift = (uid_t) u;
        if ((r = get_u64(o, "uid_range", UINT32_MAX, false, &u)) < 0)
                return r;
        m->uid_range = (uid_t) u;
        if ((r = get_u64(o, "kill_signal", _NSIG - 1, false, &u)) < 0)
                return r;
        m->kill_signal = (int) u;
        if ((r = get_bool(o, "boot", &m->boot)) < 0 || (r = get_bool(o, "private_users", &m->private_users)) < 0)
                return r;

        _cleanup_free_ char *uuid = NULL;
        if ((r = get_string(o, "uuid", UUID_STRING_MAX, false, &uuid)) < 0)
                return r;
        if (uuid && uuid_from_string(uuid, m->uuid) < 0)
                return -EBADMSG;

        json_object *a;
        if (json_object_object_get_ex(o, "addresses", &a) && !json_object_is_type(a, json_type_null)) {
                if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) > MACHINE_ADDRESSES_MAX)
                        return -EBADMSG;
                for (size_t i = 0; i < json_object_array_length(a); i++) {
                        json_object *e = json_object_array_get_idx(a, i);
                        if (!json_object_is_type(e, json_type_string) ||
                                json_object_get_string_len(e) > INET6_ADDRSTRLEN ||
                                !address_is_valid(json_object_get_string(e)))
                                return -EBADMSG;
                        if ((r = strv_extend(&m->addresses, json_object_get_string(e))) < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(m);
        return 0;
}

static int record_format(const MachineRecord *m, char **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        char uuid[UUID_STRING_MAX];
        uuid_format(m->uuid, uuid);
        int r;
        if ((r = json_add_string(o, "name", m->name)) < 0 ||
                (r = json_add_string(o, "class", m->class ?: "container")) < 0 ||
                (r = json_add_string(o, "service", m->service ?: "cowpen")) < 0 ||
                (r = json_add_u64(o, "leader", (uint64_t) m->leader, false)) < 0 ||
                (r = json_add_u64(o, "leader_starttime", m->leader_starttime, false)) < 0 ||
                (r = json_add_u64(o, "monitor", (uint64_t) m->monitor, false)) < 0 ||
                (r = json_add_u64(o, "monitor_starttime", m->monitor_starttime, false)) < 0 ||
                (r = json_add_string(o, "image", m->image)) < 0 || (r = json_add_string(o, "root", m->root)) < 0 ||
                (r = json_add_string(o, "root_hash", m->root_hash)) < 0 ||
                (r = json_add_string(o, "cgroup", m->cgroup)) < 0 || (r = json_add_string(o, "os", m->os)) < 0 ||
                (r = json_add_string(o, "version", m->version)) < 0 ||
                (r = json_add_u64(o, "since", m->since_usec, false)) < 0 ||
                (r = json_add_string(o, "uuid", uuid_is_null(m->uuid) ? NULL : uuid)) < 0 ||
                (r = json_add_bool(o, "boot", m->boot)) < 0 ||
                (r = json_add_bool(o, "private_users", m->private_users)) < 0 ||
                (r = json_add_u64(o, "uid_shift", m->uid_shift, false)) < 0 ||
                (r = json_add_u64(o, "uid_range", m->uid_range, false)) < 0 ||
                (r = json_add_u64(o, "kill_signal", (uint64_t) m->kill_signal, false)) < 0)
                return r;
        json_object *a = json_object_new_array();
        if (!a || json_object_object_add(o, "addresses", a) < 0) {
                json_object_put(a);
                return -ENOMEM;
        }
        for (char **s = m->addresses; s && *s; s++) {
                json_object *e = json_object_new_string(*s);
                if (!e || json_object_array_add(a, e) < 0) {
                        json_object_put(e);
                        return -ENOMEM;
                }
        }
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *c = s ? strjoin(s, "\n") : NULL;
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

/* Removes NAME's record and lock while lock_fd (the lock at that name, held exclusively) is ours. */
static void remove_entry(int dir_fd, const char *name, const char *lname) {
        (void) unlinkat(dir_fd, name, 0);
        (void) unlinkat(dir_fd, lname, 0);
}

#define IN_SET_BAD_RECORD(r)                                                                                          \
        ((r) == -ENOENT || (r) == -EFBIG || (r) == -ELOOP || (r) == -EBADFD || (r) == -EXDEV || (r) == -EISDIR)

/* Reads NAME's record while its lock is held by someone else. 1 and the record when it is live;
 * 0 when there is none, or its leader is gone (the owner removes it as it ends). */
static int read_live_record(int dir_fd, const char *name, MachineRecord **ret) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r = read_file_at(dir_fd, name, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                MACHINE_RECORD_SIZE_MAX, &text, &size);
        if (IN_SET_BAD_RECORD(r))
                return 0; /* none, or not one we would read: not a running machine */
        if (r < 0)
                return r;
        _cleanup_(machine_record_freep) MachineRecord *m = NULL;
        r = record_parse(name, text, size, &m);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        uint64_t st;
        if (pid_starttime(m->leader, &st) < 0 || st != m->leader_starttime)
                return 0;
        *ret = TAKE_PTR(m);
        return 1;
}

/* The state of NAME: 1 with its record (when ret) when it is live; 0 when it is not running (a
 * stale record and lock removed on the way); -EBUSY when its lock is held but no live record
 * exists (an owner starting, or ending), with *ret_pid the owner's PID from the lock file. */
static int lookup_at(int dir_fd, const char *name, MachineRecord **ret, pid_t *ret_pid) {
        _cleanup_free_ char *lname = lock_name(name);
        if (!lname)
                return -ENOMEM;
        for (unsigned attempt = 0; attempt < RESERVE_ATTEMPTS_MAX; attempt++) {
                _cleanup_close_ int fd =
                        openat(dir_fd, lname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
                if (fd < 0) {
                        if (errno != ENOENT)
                                return negative_errno();
                        /* No lock: nobody owns the name; a record without its lock is stale. */
                        (void) unlinkat(dir_fd, name, 0);
                        return 0;
                }
                struct stat st;
                if (fstat(fd, &st) < 0)
                        return negative_errno();
                if (!S_ISREG(st.st_mode))
                        return -EBADMSG;
                if (flock(fd, LOCK_EX | LOCK_NB) >= 0) {
                        /* Nobody holds it: whatever record there is belongs to a run that is gone. */
                        if (!same_inode(dir_fd, lname, fd))
                                continue; /* replaced meanwhile: look again */
                        remove_entry(dir_fd, name, lname);
                        return 0;
                }
                if (errno != EWOULDBLOCK)
                        return negative_errno();
                _cleanup_(machine_record_freep) MachineRecord *m = NULL;
                int r = read_live_record(dir_fd, name, &m);
                if (r < 0)
                        return r;
                if (r > 0) {
                        if (ret)
                                *ret = TAKE_PTR(m);
                        return 1;
                }
                if (ret_pid) {
                        char buf[LOCK_FILE_SIZE_MAX] = {};
                        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
                        int pid = 0;
                        if (n > 0) {
                                buf[n] = 0;
                                buf[strcspn(buf, "\n")] = 0;
                                if (safe_atoi(buf, &pid) < 0 || pid < 0)
                                        pid = 0;
                        }
                        *ret_pid = pid;
                }
                return -EBUSY;
        }
        return -EBUSY;
}

int machine_reserve(const char *name, MachineRegistration *ret, Diag *diag) {
        if (!machine_name_is_valid(name))
                return diag_fail(diag, -EINVAL, name, "invalid machine name");
        _cleanup_free_ char *lname = lock_name(name), *copy = strdup(name);
        if (!lname || !copy)
                return diag_fail(diag, -ENOMEM, NULL, NULL);
        _cleanup_close_ int dir_fd = -EBADF;
        int r = open_registry(true, &dir_fd, diag);
        if (r < 0)
                return r;

        for (unsigned attempt = 0;; attempt++) {
                _cleanup_close_ int fd =
                        openat(dir_fd, lname, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0644);
                if (fd < 0)
                        return diag_fail(diag, negative_errno(), lname, "cannot open the machine's lock: %m");
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        if (errno != EWOULDBLOCK)
                                return diag_fail(diag, negative_errno(), lname, "cannot lock: %m");
                        /* Held: by a live owner, or for a moment by a reader removing a stale
                         * entry (then the name is free again at once). */
                        _cleanup_(machine_record_freep) MachineRecord *m = NULL;
                        pid_t pid = 0;
                        r = lookup_at(dir_fd, name, &m, &pid);
                        if (r == 0 && attempt < RESERVE_ATTEMPTS_MAX)
                                continue;
                        if (r < 0 && r != -EBUSY)
                                return diag_fail(diag, r, name, "cannot read the machine's record: %m");
                        if (m)
                                pid = m->leader;
                        if (pid > 0)
                                return diag_fail(
                                        diag, -EBUSY, NULL, "machine %s is already running (PID %d)", name, (int) pid);
                        return diag_fail(diag, -EBUSY, NULL, "machine %s is already running", name);
                }
                if (!same_inode(dir_fd, lname, fd)) {
                        /* The previous owner (or a reader) removed it between our open and lock. */
                        if (attempt >= RESERVE_ATTEMPTS_MAX)
                                return diag_fail(diag, -EBUSY, NULL, "machine %s is already running", name);
                        continue;
                }
                /* Ours. A record left by a run that died is stale. */
                (void) unlinkat(dir_fd, name, 0);
                char buf[32];
                int n = snprintf(buf, sizeof buf, "%d\n", (int) getpid());
                if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t) n, 0) != n) {
                        r = negative_errno();
                        (void) unlinkat(dir_fd, lname, 0);
                        return diag_fail(diag, r, lname, "cannot write the machine's lock: %m");
                }
                *ret = (MachineRegistration){
                        .dir_fd = TAKE_FD(dir_fd),
                        .lock_fd = TAKE_FD(fd),
                        .name = TAKE_PTR(copy),
                };
                return 0;
        }
}

int machine_record_write(MachineRegistration *reg, const MachineRecord *m, Diag *diag) {
        if (!reg || reg->lock_fd < 0 || !m || !m->name || !streq(m->name, reg->name) || !m->root || m->leader <= 1)
                return diag_fail(diag, -EINVAL, m ? m->name : NULL, "invalid machine record");
        MachineRecord copy = *m;
        int r;
        if (copy.leader_starttime == 0 && (r = pid_starttime(copy.leader, &copy.leader_starttime)) < 0)
                return diag_fail(diag, r, m->name, "cannot read the leader's start time: %m");
        if (copy.monitor == 0)
                copy.monitor = getpid();
        if (copy.monitor_starttime == 0 && (r = pid_starttime(copy.monitor, &copy.monitor_starttime)) < 0)
                return diag_fail(diag, r, m->name, "cannot read the monitor's start time: %m");
        _cleanup_free_ char *text = NULL;
        if ((r = record_format(&copy, &text)) < 0)
                return diag_fail(diag, r, m->name, NULL);
        if (strlen(text) > MACHINE_RECORD_SIZE_MAX)
                return diag_fail(diag, -E2BIG, m->name, "machine record too large");
        r = write_file_atomic_at(reg->dir_fd, reg->name, text, strlen(text), 0644, ATOMIC_FILE_EXACT_MODE);
        if (r < 0)
                return diag_fail(diag, r, m->name, "cannot write the machine's record: %m");
        reg->written = true;
        return 0;
}

void machine_release(MachineRegistration *reg) {
        if (!reg)
                return;
        if (reg->lock_fd >= 0 && reg->dir_fd >= 0 && reg->name) {
                _cleanup_free_ char *lname = lock_name(reg->name);
                (void) unlinkat(reg->dir_fd, reg->name, 0);
                if (lname && same_inode(reg->dir_fd, lname, reg->lock_fd))
                        (void) unlinkat(reg->dir_fd, lname, 0);
        }
        reg->lock_fd = safe_close(reg->lock_fd);
        reg->dir_fd = safe_close(reg->dir_fd);
        free(reg->name);
        reg->name = NULL;
        reg->written = false;
}

int machine_lookup(const char *name, MachineRecord **ret, Diag *diag) {
        if (!machine_name_is_valid(name))
                return diag_fail(diag, -ESRCH, NULL, "no machine %s is running", name);
        _cleanup_close_ int dir_fd = -EBADF;
        int r = open_registry(false, &dir_fd, NULL);
        if (r == -ENOENT)
                return diag_fail(diag, -ESRCH, NULL, "no machine %s is running", name);
        if (r < 0)
                return diag_fail(diag, r, NULL, "cannot open the machine registry: %m");
        MachineRecord *m = NULL;
        r = lookup_at(dir_fd, name, &m, NULL);
        if (r == 0 || r == -EBUSY)
                return diag_fail(diag, -ESRCH, NULL, "no machine %s is running", name);
        if (r < 0)
                return diag_fail(diag, r, name, "cannot read the machine's record: %m");
        *ret = m;
        return 0;
}

static int record_cmp(const void *a, const void *b) {
        return strcmp((*(MachineRecord *const *) a)->name, (*(MachineRecord *const *) b)->name);
}

/* The registry's directory and a stream of its entries, to list it; -ENOENT (no diag) when
 * there is none yet. */
static int open_registry_for_reading(int *ret_fd, DIR **ret_dir, Diag *diag) {
        _cleanup_close_ int dir_fd = -EBADF;
        int r = open_registry(false, &dir_fd, NULL);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return diag_fail(diag, r, NULL, "cannot open the machine registry: %m");
        DIR *d = NULL;
        if ((r = opendir_fd(dir_fd, &d)) < 0)
                return diag_fail(diag, r, NULL, "cannot read the machine registry: %m");
        *ret_fd = TAKE_FD(dir_fd);
        *ret_dir = d;
        return 0;
}

int machine_list(MachineRecord ***ret, size_t *ret_n, Diag *diag) {
        _cleanup_close_ int dir_fd = -EBADF;
        _cleanup_closedir_ DIR *d = NULL;
        int r = open_registry_for_reading(&dir_fd, &d, diag);
        if (r == -ENOENT) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (r < 0)
                return r;

        MachineRecord **l = NULL;
        size_t n = 0;
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d))) {
                const char *e = endswith(de->d_name, ".lock");
                if (de->d_name[0] == '.' || (size_t) (e ? e - de->d_name : strlen(de->d_name)) > MACHINE_NAME_MAX)
                        continue;
                _cleanup_free_ char *name = e ? strndup(de->d_name, (size_t) (e - de->d_name)) : strdup(de->d_name);
                if (!name) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (!machine_name_is_valid(name))
                        continue;
                /* Each live machine once: by its lock file (a record without one is stale and
                 * removed by lookup_at()). */
                if (!e) {
                        struct stat st;
                        _cleanup_free_ char *lname = lock_name(name);
                        if (!lname) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        if (fstatat(dir_fd, lname, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                                continue;
                }
                MachineRecord *m = NULL;
                r = lookup_at(dir_fd, name, &m, NULL);
                if (r == -ENOMEM)
                        goto fail;
                if (r <= 0)
                        continue;
                if (n >= MACHINE_LIST_MAX) {
                        machine_record_free(m);
                        r = diag_fail(diag, -E2BIG, NULL, "more than %u machines", MACHINE_LIST_MAX);
                        goto fail_quiet;
                }
                MachineRecord **nl = realloc(l, (n + 1) * sizeof *l);
                if (!nl) {
                        machine_record_free(m);
                        r = -ENOMEM;
                        goto fail;
                }
                l = nl;
                l[n++] = m;
        }
        if (n > 0)
                qsort(l, n, sizeof *l, record_cmp);
        *ret = l;
        *ret_n = n;
        return 0;
fail:
        diag_fail(diag, r, NULL, NULL);
fail_quiet:
        machine_record_free_many(l, n);
        return r;
}

int machine_leader_pidfd(const MachineRecord *m, Diag *diag) {
        int fd = (int) syscall(SYS_pidfd_open, m->leader, 0);
        if (fd < 0) {
                int r = negative_errno();
                return diag_fail(diag, r == -ESRCH ? -ESRCH : r, NULL,
                        r == -ESRCH ? "machine %s is no longer running" : "cannot open machine %s's leader: %m",
                        m->name);
        }
        uint64_t st;
        if (pid_starttime(m->leader, &st) < 0 || st != m->leader_starttime) {
                safe_close(fd);
                return diag_fail(diag, -ESRCH, NULL, "machine %s is no longer running", m->name);
        }
        return fd;
}

int machine_clean(Diag *diag) {
        _cleanup_close_ int dir_fd = -EBADF;
        _cleanup_closedir_ DIR *d = NULL;
        int r = open_registry_for_reading(&dir_fd, &d, diag);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d))) {
                const char *e = endswith(de->d_name, ".lock");
                _cleanup_free_ char *name = e ? strndup(de->d_name, (size_t) (e - de->d_name)) : strdup(de->d_name);
                if (!name)
                        return diag_fail(diag, -ENOMEM, NULL, NULL);
                if (machine_name_is_valid(name) && !strv_contains(names, name) &&
                        strv_length(names) < MACHINE_LIST_MAX && (r = strv_push(&names, TAKE_PTR(name))) < 0)
                        return diag_fail(diag, r, NULL, NULL);
        }
        int n = 0;
        for (char **p = names; p && *p; p++) {
                _cleanup_free_ char *lname = lock_name(*p);
                if (!lname)
                        return diag_fail(diag, -ENOMEM, NULL, NULL);
                r = lookup_at(dir_fd, *p, NULL, NULL);
                if (r == -ENOMEM)
                        return diag_fail(diag, r, NULL, NULL);
                if (r == 0 && faccessat(dir_fd, *p, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
                        faccessat(dir_fd, lname, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                        n++;
        }
        return n;
}
