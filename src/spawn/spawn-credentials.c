/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fd-util.h"
#include "mount-util.h"
#include "spawn-credentials.h"
#include "util.h"

/* Credentials, as systemd-nspawn 252 passes them: --set-credential=ID:VALUE (C escapes),
 * --load-credential=ID:PATH (a file, or an AF_UNIX stream socket that sends it), in the
 * container a ramfs at /run/host/credentials (mode 0500, files 0400, the container's root
 * owning them, read-only) and $CREDENTIALS_DIRECTORY naming it for the payload and for a booted
 * systemd, which takes them as its system credentials.
 *
 * Untrusted input: none from the image. The values are secrets: they are erased when freed and no
 * message names them (only the ID). The limits in spawn.h bound what a command line or a trusted
 * settings file may put into the container's unswappable memory. */

bool credential_name_valid(const char *s) {
        /* systemd's: a valid file name (not empty, ".", "..", no "/", up to NAME_MAX) that is also
         * a valid fd name (printable ASCII, no ":"). */
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > CREDENTIAL_NAME_MAX || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (*p < ' ' || *p > '~' || *p == '/' || *p == ':')
                        return false;
        return true;
}

static void credential_done(SpawnCredential *cr) {
        free(cr->id);
        if (cr->data) {
                explicit_bzero(cr->data, cr->size);
                free(cr->data);
        }
        free(cr->path);
        *cr = (SpawnCredential){};
}

void spawn_credentials_free(SpawnCredential *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                credential_done(&l[i]);
        free(l);
}

static void erase_and_free(char **p, size_t n) {
        if (*p) {
                explicit_bzero(*p, n);
                free(*p);
        }
        *p = NULL;
}

/* The ID before the first ':', checked; *ret_rest after it. */
static int split_id(const char *option, const char *arg, char **ret_id, const char **ret_rest, Diag *diag) {
        const char *colon = strchr(arg, ':');
        size_t n = colon ? (size_t) (colon - arg) : strlen(arg);
        _cleanup_free_ char *id = strndup(arg, MIN(n, (size_t) CREDENTIAL_NAME_MAX + 1));
        if (!id)
                return -ENOMEM;
        if (!credential_name_valid(id) || n > CREDENTIAL_NAME_MAX) {
                _cleanup_free_ char *shown = printable(id, 64);
                return diag_fail(diag, -EINVAL, shown,
                        "not a valid credential name (1…%u printable characters, "
                        "no \"/\" or \":\", not \".\" or \"..\")",
                        CREDENTIAL_NAME_MAX);
        }
        if (!colon)
                return diag_fail(
                        diag, -EINVAL, id, "no value (ID:%s)", streq(option, "--set-credential") ? "VALUE" : "PATH");
        *ret_id = TAKE_PTR(id);
        *ret_rest = colon + 1;
        return 0;
}

static int check_new(const SpawnConfig *c, const char *id, size_t size, Diag *diag) {
        size_t total = size;
        for (size_t i = 0; i < c->n_credentials; i++) {
                if (streq(c->credentials[i].id, id))
                        return diag_fail(diag, -EEXIST, id, "duplicate credential");
                total += c->credentials[i].size;
        }
        if (c->n_credentials >= SPAWN_CREDENTIALS_MAX)
                return diag_fail(diag, -E2BIG, id, "more than %u credentials", SPAWN_CREDENTIALS_MAX);
        if (size > CREDENTIAL_SIZE_MAX)
                return diag_fail(diag, -E2BIG, id, "credential larger than %u bytes", CREDENTIAL_SIZE_MAX);
        if (total > SPAWN_CREDENTIALS_TOTAL_MAX)
                return diag_fail(diag, -E2BIG, id, "the credentials together are larger than %u bytes",
                        SPAWN_CREDENTIALS_TOTAL_MAX);
        return 0;
}

static int add_credential(SpawnConfig *c, SpawnCredential *cr) {
        SpawnCredential *n = reallocarray(c->credentials, c->n_credentials + 1, sizeof(SpawnCredential));
        if (!n)
                return -ENOMEM;
        c->credentials = n;
        c->credentials[c->n_credentials++] = *cr;
        *cr = (SpawnCredential){};
        c->mask |= SETTING_CREDENTIALS;
        return 0;
}

static int put_utf8(char *out, uint32_t cp) {
        if (cp < 0x80) {
                out[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char) (0xc0 | (cp >> 6));
                out[1] = (char) (0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char) (0xe0 | (cp >> 12));
                out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char) (0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char) (0xf0 | (cp >> 18));
        out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char) (0x80 | (cp & 0x3f));
        return 4;
}

/* systemd's cunescape() with UNESCAPE_ACCEPT_NUL: \a \b \f \n \r \t \v \\ \" \' \s, \xHH,
 * \NNN (octal), \uHHHH and \UHHHHHHHH (as UTF-8); any other escape is -EINVAL. The output is
 * never longer than the input. */
static int unescape(const char *s, char **ret, size_t *ret_size) {
        size_t len = strlen(s);
        char *out = malloc(len + 1);
        if (!out)
                return -ENOMEM;
        size_t k = 0;
        int r = 0;
        for (const char *p = s; r >= 0 && *p; p++) {
                if (*p != '\\') {
                        out[k++] = *p;
                        continue;
                }
                p++;
                static const char simple_in[] = "abfnrtv\\\"'s", simple_out[] = "\a\b\f\n\r\t\v\\\"' ";
                const char *e = *p ? strchr(simple_in, *p) : NULL;
                if (e) {
                        out[k++] = simple_out[e - simple_in];
                        continue;
                }
                if (*p == 'x' || *p == 'u' || *p == 'U') {
                        size_t digits = *p == 'x' ? 2 : *p == 'u' ? 4 : 8;
                        uint32_t v = 0;
                        for (size_t i = 1; i <= digits; i++) {
                                int h = unhexchar(p[i]);
                                if (h < 0) {
                                        r = -EINVAL;
                                        break;
                                }
                                v = v << 4 | (uint32_t) h;
                        }
                        if (r < 0)
                                break;
                        if (*p != 'x' && (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))) {
                                r = -EINVAL;
                                break;
                        }
                        /* Never longer than the escape (\u: 6 bytes, at most 3 of UTF-8). */
                        if (*p == 'x')
                                out[k++] = (char) v;
                        else
                                k += (size_t) put_utf8(out + k, v);
                        p += digits;
                        continue;
                }
                if (*p >= '0' && *p <= '3' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7') {
                        out[k++] = (char) ((*p - '0') << 6 | (p[1] - '0') << 3 | (p[2] - '0'));
                        p += 2;
                        continue;
                }
                r = -EINVAL;
        }
        if (r < 0) {
                erase_and_free(&out, len + 1);
                return r;
        }
        out[k] = 0;
        *ret = out;
        *ret_size = k;
        return 0;
}

int spawn_credential_set(SpawnConfig *c, const char *arg, Diag *diag) {
        SpawnCredential cr = {};
        const char *value;
        int r = split_id("--set-credential", arg, &cr.id, &value, diag);
        if (r < 0)
                return r;
        if ((r = unescape(value, &cr.data, &cr.size)) < 0) {
                r = r == -ENOMEM ? r : diag_fail(diag, r, cr.id, "bad escape in the value");
                credential_done(&cr);
                return r;
        }
        if ((r = check_new(c, cr.id, cr.size, diag)) < 0 || (r = add_credential(c, &cr)) < 0)
                credential_done(&cr);
        return r;
}

/* Reads fd until EOF, at most CREDENTIAL_SIZE_MAX bytes (-E2BIG beyond), into erasable memory. */
static int read_secret(int fd, char **ret, size_t *ret_size) {
        size_t alloc = 4096, n = 0;
        char *buf = malloc(alloc);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (n == alloc) {
                        if (alloc > CREDENTIAL_SIZE_MAX) {
                                erase_and_free(&buf, alloc);
                                return -E2BIG;
                        }
                        /* Grown by hand so that no copy is left behind unerased. */
                        size_t na = MIN(alloc * 2, (size_t) CREDENTIAL_SIZE_MAX + 1);
                        char *nb = malloc(na);
                        if (!nb) {
                                erase_and_free(&buf, alloc);
                                return -ENOMEM;
                        }
                        memcpy(nb, buf, n);
                        erase_and_free(&buf, alloc);
                        buf = nb;
                        alloc = na;
                }
                ssize_t l = read(fd, buf + n, alloc - n);
                if (l < 0 && errno == EINTR)
                        continue;
                if (l < 0) {
                        int r = negative_errno();
                        erase_and_free(&buf, alloc);
                        return r;
                }
                if (l == 0)
                        break;
                n += (size_t) l;
        }
        if (n > CREDENTIAL_SIZE_MAX) {
                erase_and_free(&buf, alloc);
                return -E2BIG;
        }
        /* Exactly the size, so that the free side erases all of it. */
        char *d = malloc(n + 1);
        if (!d) {
                erase_and_free(&buf, alloc);
                return -ENOMEM;
        }
        memcpy(d, buf, n);
        d[n] = 0;
        erase_and_free(&buf, alloc);
        *ret = d;
        *ret_size = n;
        return 0;
}

/* The file (or socket, with allow_socket) at path: what nspawn's read_full_file_full() with
 * READ_FULL_FILE_CONNECT_SOCKET reads. The inode is opened with O_PATH and checked first, so that
 * a FIFO or device is never opened and the socket connected to is the one checked. */
static int read_credential_path(const char *path, bool allow_socket, char **ret, size_t *ret_size, Diag *diag) {
        _cleanup_close_ int pfd = open(path, O_PATH | O_CLOEXEC);
        if (pfd < 0)
                return diag_fail(diag, negative_errno(), NULL, "%m");
        struct stat st;
        if (fstat(pfd, &st) < 0)
                return diag_fail(diag, negative_errno(), NULL, "%m");
        _cleanup_close_ int fd = -EBADF;
        if (S_ISREG(st.st_mode)) {
                if (st.st_size > (off_t) CREDENTIAL_SIZE_MAX)
                        return diag_fail(diag, -E2BIG, NULL, "larger than %u bytes", CREDENTIAL_SIZE_MAX);
                if ((fd = fd_reopen(pfd, O_RDONLY)) < 0)
                        return diag_fail(diag, fd, NULL, "%m");
        } else if (S_ISSOCK(st.st_mode) && allow_socket) {
                if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "socket: %m");
                struct sockaddr_un sa = {.sun_family = AF_UNIX};
                /* The checked inode, through its /proc/self/fd link (also for paths too long for
                 * sun_path). */
                snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%i", pfd);
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        return diag_fail(diag, negative_errno(), NULL, "connect: %m");
                /* Nothing to send: the server sees EOF and answers. */
                (void) shutdown(fd, SHUT_WR);
        } else
                return diag_fail(diag, -EBADFD, NULL,
                        S_ISDIR(st.st_mode) ? "a directory, not a file"
                        : allow_socket      ? "neither a regular file nor an AF_UNIX socket"
                                            : "not a regular file");
        int r = read_secret(fd, ret, ret_size);
        if (r == -E2BIG)
                return diag_fail(diag, r, NULL, "larger than %u bytes", CREDENTIAL_SIZE_MAX);
        if (r < 0)
                return diag_fail(diag, r, NULL, "read: %m");
        return 0;
}

/* nspawn 252: an absolute PATH is read (a socket connected to); a relative one is a credential
 * of the caller's own $CREDENTIALS_DIRECTORY (no socket there). */
static int load_one(const char *id, const char *path, char **ret, size_t *ret_size, Diag *diag) {
        _cleanup_free_ char *joined = NULL;
        bool absolute = path[0] == '/';
        if (!*path)
                return diag_fail(diag, -EINVAL, id, "empty path");
        if (!absolute) {
                const char *dir = getenv("CREDENTIALS_DIRECTORY");
                if (!dir || dir[0] != '/')
                        return diag_fail(diag, -ENXIO, id,
                                "relative path \"%s\", but no $CREDENTIALS_DIRECTORY "
                                "(no credentials passed to cowpen at all)",
                                path);
                if (strchr(path, '/'))
                        return diag_fail(diag, -EINVAL, id, "relative path \"%s\" is not a credential name", path);
                if (!(joined = strjoin(dir, "/", path)))
                        return -ENOMEM;
        }
        _cleanup_diag_ Diag d = DIAG_INIT;
        int r = read_credential_path(joined ?: path, absolute, ret, ret_size, &d);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_free_ char *shown = printable(joined ?: path, 256);
                return diag_fail(diag, r, id, "%s: %s", shown ?: "", diag_message(&d) ?: strerror(-r));
        }
        return 0;
}

int spawn_credential_load(SpawnConfig *c, const char *arg, Diag *diag) {
        SpawnCredential cr = {};
        const char *path;
        int r = split_id("--load-credential", arg, &cr.id, &path, diag);
        if (r < 0)
                return r;
        /* Duplicates and the count before reading anything. */
        if ((r = check_new(c, cr.id, 0, diag)) < 0 || (r = load_one(cr.id, path, &cr.data, &cr.size, diag)) < 0 ||
                (r = check_new(c, cr.id, cr.size, diag)) < 0 || (r = add_credential(c, &cr)) < 0)
                credential_done(&cr);
        return r;
}

int spawn_credential_add_pending(SpawnConfig *c, const char *arg, Diag *diag) {
        SpawnCredential cr = {};
        const char *path;
        int r = split_id("LoadCredential=", arg, &cr.id, &path, diag);
        if (r < 0)
                return r;
        if (!*path)
                r = diag_fail(diag, -EINVAL, cr.id, "empty path");
        else if ((r = check_new(c, cr.id, 0, diag)) >= 0 && !(cr.path = strdup(path)))
                r = -ENOMEM;
        if (r >= 0)
                r = add_credential(c, &cr);
        if (r < 0)
                credential_done(&cr);
        return r;
}

int spawn_credentials_load_pending(SpawnConfig *c, Diag *diag) {
        size_t total = 0;
        for (size_t i = 0; i < c->n_credentials; i++) {
                SpawnCredential *cr = &c->credentials[i];
                if (cr->path) {
                        int r = load_one(cr->id, cr->path, &cr->data, &cr->size, diag);
                        if (r < 0)
                                return r;
                        free(cr->path);
                        cr->path = NULL;
                }
                total += cr->size;
                if (total > SPAWN_CREDENTIALS_TOTAL_MAX)
                        return diag_fail(diag, -E2BIG, cr->id, "the credentials together are larger than %u bytes",
                                SPAWN_CREDENTIALS_TOTAL_MAX);
        }
        return 0;
}

int setup_credentials(int root_fd, const SpawnConfig *c, uid_t root_uid, Diag *diag) {
        if (c->n_credentials == 0)
                return 0;
        /* run/host is of the container's fresh /run tmpfs (mount_api_vfs): ours, no symlink in it. */
        _cleanup_close_ int host =
                openat2_resolve(root_fd, "run/host", O_PATH | O_DIRECTORY, 0, RESOLVE_ROOT | RESOLVE_NO_SYMLINKS);
        if (host < 0)
                return diag_fail(diag, host, NULL, "open /run/host: %m");
        if (mkdirat(host, "credentials", 0700) < 0)
                return diag_fail(diag, negative_errno(), NULL, "mkdir " SPAWN_CREDENTIALS_DIR ": %m");
        _cleanup_close_ int mp = openat(host, "credentials", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (mp < 0)
                return diag_fail(diag, negative_errno(), NULL, "open " SPAWN_CREDENTIALS_DIR ": %m");
        char t[FD_PATH_MAX];
        /* ramfs, as nspawn: its pages are never swapped out. */
        const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
        if (mount("ramfs", fd_path(t, mp), "ramfs", flags, "mode=0700") < 0)
                return diag_fail(diag, negative_errno(), NULL, "mount ramfs on " SPAWN_CREDENTIALS_DIR ": %m");
        /* The mounted file system's root, not the directory below it. */
        _cleanup_close_ int dir = openat(host, "credentials", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir < 0)
                return diag_fail(diag, negative_errno(), NULL, "open " SPAWN_CREDENTIALS_DIR ": %m");
        for (size_t i = 0; i < c->n_credentials; i++) {
                const SpawnCredential *cr = &c->credentials[i];
                _cleanup_close_ int fd =
                        openat(dir, cr->id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return diag_fail(diag, negative_errno(), cr->id, "create credential file: %m");
                int r = loop_write(fd, cr->data, cr->size);
                if (r < 0)
                        return diag_fail(diag, r, cr->id, "write credential file: %m");
                if (fchmod(fd, 0400) < 0 || fchown(fd, root_uid, root_uid) < 0)
                        return diag_fail(diag, negative_errno(), cr->id, "set credential file's mode and owner: %m");
        }
        if (fchmod(dir, 0500) < 0 || fchown(dir, root_uid, root_uid) < 0)
                return diag_fail(diag, negative_errno(), NULL, "set " SPAWN_CREDENTIALS_DIR "'s mode and owner: %m");
        /* Read-only: the mount, then its superblock. */
        if (mount(NULL, fd_path(t, dir), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL) < 0 ||
                mount(NULL, fd_path(t, dir), NULL, MS_REMOUNT | MS_RDONLY | flags, "mode=0500") < 0)
                return diag_fail(diag, negative_errno(), NULL, "make " SPAWN_CREDENTIALS_DIR " read-only: %m");
        return 0;
}
