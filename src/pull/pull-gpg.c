/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running gpgv. Untrusted input: the signatures and signed data (passed through to gpgv, never
 * parsed here) and gpgv's status output, which echoes key ids from the signature; it is read up
 * to GPGV_STATUS_MAX and parsed line by line. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "fd-util.h"
#include "pull-gpg.h"
#include "rm-rf.h"
#include "util.h"

const char *const gpg_default_keyrings[] = {
        "/etc/cowpen/import-pubring.gpg",
        "/usr/lib/systemd/import-pubring.gpg",
        NULL,
};

const char *gpg_find_default_keyring(void) {
        for (const char *const *k = gpg_default_keyrings; *k; k++)
                if (access(*k, R_OK) >= 0)
                        return *k;
        return NULL;
}

static bool is_hex_char(char c) {
        /* Not strchr(): that would find the terminating NUL for c == 0. */
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_fingerprint(const char *s, size_t n) {
        if (n != 40 && n != 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_hex_char(s[i]))
                        return false;
        return true;
}

/* The n-th (0-based) space-separated word of a status line's arguments. */
static bool status_word(const char *args, size_t len, unsigned idx, const char **ret, size_t *ret_len) {
        const char *p = args, *end = args + len;
        for (unsigned i = 0;; i++) {
                while (p < end && *p == ' ')
                        p++;
                if (p >= end)
                        return false;
                const char *w = p;
                while (p < end && *p != ' ')
                        p++;
                if (i == idx) {
                        *ret = w;
                        *ret_len = (size_t) (p - w);
                        return true;
                }
        }
}

static char *printable_word(const char *w, size_t n) {
        /* Key ids echoed into our one-line error: hex only, bounded. */
        n = MIN(n, (size_t) 64);
        for (size_t i = 0; i < n; i++)
                if (!is_hex_char(w[i]))
                        return strdup("(unknown)");
        return strndup(w, n);
}

int gpg_parse_status(const char *status, size_t size, char **ret_fingerprint, Diag *diag) {
        if (size > GPGV_STATUS_MAX)
                return -EFBIG;
        _cleanup_free_ char *fpr = NULL, *bad_reason = NULL;
        bool bad = false;
        const char *p = status, *end = status + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *l = p;
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                p = nl ? nl + 1 : end;
                static const char prefix[] = "[GNUPG:] ";
                if (n < STRLEN(prefix) || memcmp(l, prefix, STRLEN(prefix)) != 0)
                        continue;
                l += STRLEN(prefix);
                n -= STRLEN(prefix);
                const char *kw = l, *args = memchr(l, ' ', n);
                size_t kwn = args ? (size_t) (args - l) : n;
                size_t an = args ? n - kwn - 1 : 0;
                if (args)
                        args++;
                else
                        args = l + n;
#define KW(s) (kwn == STRLEN(s) && memcmp(kw, s, kwn) == 0)
                const char *w;
                size_t wn;
                if (KW("VALIDSIG")) {
                        /* VALIDSIG <fpr> <date> <ts> <expire> <ver> <reserved> <pk-algo> <hash-algo> <class> [<primary-fpr>] */
                        if (!status_word(args, an, 9, &w, &wn) || !is_fingerprint(w, wn))
                                if (!status_word(args, an, 0, &w, &wn) || !is_fingerprint(w, wn)) {
                                        bad = true;
                                        continue;
                                }
                        free(fpr);
                        fpr = strndup(w, wn);
                        if (!fpr)
                                return -ENOMEM;
                } else if (KW("NO_PUBKEY") || KW("ERRSIG") || KW("BADSIG") || KW("EXPKEYSIG") || KW("REVKEYSIG") ||
                           KW("EXPSIG")) {
                        bad = true;
                        if (bad_reason)
                                continue;
                        _cleanup_free_ char *id = status_word(args, an, 0, &w, &wn) ? printable_word(w, wn) : strdup("(unknown)");
                        if (!id)
                                return -ENOMEM;
                        if (KW("NO_PUBKEY") || KW("ERRSIG"))
                                bad_reason = strjoin("signed by key ", id, ", which is not in the keyring");
                        else if (KW("BADSIG"))
                                bad_reason = strjoin("bad signature by key ", id, " (the signed data was modified)");
                        else if (KW("EXPKEYSIG"))
                                bad_reason = strjoin("signed by expired key ", id);
                        else if (KW("REVKEYSIG"))
                                bad_reason = strjoin("signed by revoked key ", id);
                        else
                                bad_reason = strjoin("expired signature by key ", id);
                        if (!bad_reason)
                                return -ENOMEM;
                }
#undef KW
        }
        if (bad || !fpr)
                return diag_fail(diag, -EBADMSG, NULL, "%s", bad_reason ?: "no valid signature");
        if (ret_fingerprint)
                *ret_fingerprint = TAKE_PTR(fpr);
        return 0;
}

typedef struct GpgHome {
        char path[64];
        int fd;
} GpgHome;

static void gpg_home_done(GpgHome *h) {
        if (h->fd >= 0) {
                (void) rm_rf_children(h->fd);
                h->fd = safe_close(h->fd);
                (void) rmdir(h->path);
        }
}

static int gpg_home_new(GpgHome *h) {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || tmp[0] != '/' || strlen(tmp) > sizeof(h->path) - 32)
                tmp = "/tmp";
        snprintf(h->path, sizeof(h->path), "%s/cowpen-gpgv.XXXXXX", tmp);
        if (!mkdtemp(h->path))
                return negative_errno();
        h->fd = open(h->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (h->fd < 0) {
                int r = negative_errno();
                (void) rmdir(h->path);
                return r;
        }
        return 0;
}

static int write_file_at(int dir_fd, const char *name, const void *p, size_t n) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        return loop_write(fd, p, n);
}

/* Runs gpgv with args (after the fixed ones), stdin from stdin_fd (or /dev/null), and collects
 * the status output. */
static int run_gpgv(const GpgHome *h, const char *keyring, const char *const *args, int stdin_fd,
                    char **ret_fingerprint, Diag *diag) {
        if (!keyring || keyring[0] != '/')
                return -EINVAL;
        if (access(keyring, R_OK) < 0)
                return negative_errno();
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        _cleanup_close_ int status_r = pipefd[0], status_w = pipefd[1];

        const char *argv[16] = { "gpgv", "--homedir", h->path, "--keyring", keyring, "--status-fd", "3" };
        size_t a = 7;
        for (; *args && a < ELEMENTSOF(argv) - 1; args++)
                argv[a++] = *args;
        argv[a] = NULL;

        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                int in = stdin_fd >= 0 ? stdin_fd : null;
                if (null < 0 || dup2(in, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
                    dup2(status_w, 3) < 0)
                        _exit(127);
                if (status_w == 3)
                        (void) fcntl(3, F_SETFD, 0);
                execvp("gpgv", (char *const *) argv);
                _exit(127);
        }
        status_w = safe_close(status_w);

        _cleanup_free_ char *buf = malloc(GPGV_STATUS_MAX + 1);
        size_t n = 0;
        bool overflow = false;
        int r = buf ? 0 : -ENOMEM;
        for (;;) {
                char tmp[4096];
                ssize_t k = read(status_r, tmp, sizeof(tmp));
                if (k < 0 && errno == EINTR && !interrupted())
                        continue;
                if (k <= 0)
                        break;
                if (buf && n + (size_t) k <= GPGV_STATUS_MAX) {
                        memcpy(buf + n, tmp, (size_t) k);
                        n += (size_t) k;
                } else
                        overflow = true;
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        r = negative_errno();
                        break;
                }
        if (r < 0)
                return r;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return -ENOEXEC; /* gpgv missing */
        if (overflow)
                return -EFBIG;
        buf[n] = 0;
        _cleanup_free_ char *fpr = NULL;
        r = gpg_parse_status(buf, n, &fpr, diag);
        if (r < 0)
                return r;
        /* A VALIDSIG but a failing gpgv: trust the exit status. */
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                return diag_fail(diag, -EBADMSG, NULL, "gpgv refused the signature");
        if (ret_fingerprint)
                *ret_fingerprint = TAKE_PTR(fpr);
        return 0;
}

int gpg_verify_detached(const char *keyring, const void *sig, size_t sig_size, int data_fd, char **ret_fingerprint,
                        Diag *diag) {
        _cleanup_(gpg_home_done) GpgHome h = { .fd = -EBADF };
        int r = gpg_home_new(&h);
        if (r < 0)
                return r;
        if ((r = write_file_at(h.fd, "data.sig", sig, sig_size)) < 0)
                return r;
        if (lseek(data_fd, 0, SEEK_SET) < 0)
                return negative_errno();
        _cleanup_free_ char *sigpath = strjoin(h.path, "/data.sig");
        if (!sigpath)
                return -ENOMEM;
        const char *args[] = { sigpath, "-", NULL };
        return run_gpgv(&h, keyring, args, data_fd, ret_fingerprint, diag);
}

int gpg_verify_detached_memory(const char *keyring, const void *sig, size_t sig_size, const void *data,
                               size_t data_size, char **ret_fingerprint, Diag *diag) {
        _cleanup_(gpg_home_done) GpgHome h = { .fd = -EBADF };
        int r = gpg_home_new(&h);
        if (r < 0)
                return r;
        if ((r = write_file_at(h.fd, "data", data, data_size)) < 0)
                return r;
        _cleanup_close_ int fd = openat(h.fd, "data", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        return gpg_verify_detached(keyring, sig, sig_size, fd, ret_fingerprint, diag);
}

int gpg_verify_clearsigned(const char *keyring, const void *msg, size_t msg_size, char **ret_text,
                           size_t *ret_text_size, char **ret_fingerprint, Diag *diag) {
        _cleanup_(gpg_home_done) GpgHome h = { .fd = -EBADF };
        int r = gpg_home_new(&h);
        if (r < 0)
                return r;
        if ((r = write_file_at(h.fd, "msg.asc", msg, msg_size)) < 0)
                return r;
        _cleanup_free_ char *msgpath = strjoin(h.path, "/msg.asc"), *outpath = strjoin(h.path, "/signed.txt");
        if (!msgpath || !outpath)
                return -ENOMEM;
        const char *args[] = { "--output", outpath, msgpath, NULL };
        _cleanup_free_ char *fpr = NULL;
        r = run_gpgv(&h, keyring, args, -EBADF, &fpr, diag);
        if (r < 0)
                return r;
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        r = read_file_at(h.fd, "signed.txt", RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, GPGV_OUTPUT_MAX, &text, &n);
        if (r < 0)
                return r;
        *ret_text = TAKE_PTR(text);
        if (ret_text_size)
                *ret_text_size = n;
        if (ret_fingerprint)
                *ret_fingerprint = TAKE_PTR(fpr);
        return 0;
}

/* ---- signing (push-oci --sign-by) ---- */

int gpg_sign_message(const char *key_id, const char *passphrase_file, const void *data, size_t size, char **ret,
        size_t *ret_size, Diag *diag) {
        if (!key_id || !*key_id || strlen(key_id) > GPG_KEY_ID_MAX || key_id[0] == '-' || strpbrk(key_id, "\r\n"))
                return diag_fail(diag, -EINVAL, NULL, "invalid key ID");
        _cleanup_close_ int in = memfd_create("gpg-payload", MFD_CLOEXEC);
        if (in < 0)
                return negative_errno();
        int r = loop_write(in, data, size);
        if (r < 0)
                return r;
        if (lseek(in, 0, SEEK_SET) < 0)
                return negative_errno();
        int outp[2], errp[2];
        if (pipe2(outp, O_CLOEXEC) < 0)
                return negative_errno();
        _cleanup_close_ int out_r = outp[0], out_w = outp[1];
        if (pipe2(errp, O_CLOEXEC) < 0)
                return negative_errno();
        _cleanup_close_ int err_r = errp[0], err_w = errp[1];
        /* An OpenPGP signed message (not detached, not armored), as containers' simple signing
         * stores it. */
        const char *argv[16] = {"gpg", "--batch", "--no-tty", "--quiet", "--sign", "--local-user", key_id};
        size_t a = 7;
        if (passphrase_file) {
                argv[a++] = "--pinentry-mode";
                argv[a++] = "loopback";
                argv[a++] = "--passphrase-file";
                argv[a++] = passphrase_file;
        }
        argv[a++] = "--output";
        argv[a++] = "-";
        argv[a] = NULL;
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                if (dup2(in, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
                        _exit(127);
                execvp("gpg", (char *const *) argv);
                _exit(127);
        }
        out_w = safe_close(out_w);
        err_w = safe_close(err_w);
        /* The signature is small (the payload is); stderr is read after it (gpg writes little). */
        _cleanup_free_ char *buf = malloc(GPG_SIGNATURE_MAX + 1), *err = malloc(1024);
        size_t n = 0, en = 0;
        bool overflow = false;
        if (!buf || !err)
                r = -ENOMEM;
        for (;;) {
                char tmp[4096];
                ssize_t k = read(out_r, tmp, sizeof(tmp));
                if (k < 0 && errno == EINTR && !interrupted())
                        continue;
                if (k <= 0)
                        break;
                if (buf && n + (size_t) k <= GPG_SIGNATURE_MAX) {
                        memcpy(buf + n, tmp, (size_t) k);
                        n += (size_t) k;
                } else
                        overflow = true;
        }
        for (;;) {
                char tmp[1024];
                ssize_t k = read(err_r, tmp, sizeof(tmp));
                if (k < 0 && errno == EINTR && !interrupted())
                        continue;
                if (k <= 0)
                        break;
                size_t c = MIN((size_t) k, 1023 - en);
                if (err && c > 0) {
                        memcpy(err + en, tmp, c);
                        en += c;
                }
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (r < 0)
                return r;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return diag_fail(diag, -ENOEXEC, NULL, "gpg is not installed (needed to sign)");
        if (overflow)
                return diag_fail(diag, -EFBIG, NULL, "gpg's signature is larger than %u bytes", GPG_SIGNATURE_MAX);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) || n == 0) {
                err[en] = 0;
                /* gpg's first line of complaint, e.g. "signing failed: No secret key". */
                char *line = err, *nl;
                while ((nl = strchr(line, '\n')) && nl[1] && !strstr(line, "failed"))
                        line = nl + 1;
                if ((nl = strchr(line, '\n')))
                        *nl = 0;
                _cleanup_free_ char *p = printable(startswith(line, "gpg: ") ? line + 5 : line, 200);
                return diag_fail(
                        diag, -EKEYREJECTED, key_id, "gpg could not sign%s%s", p && *p ? ": " : "", p && *p ? p : "");
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}
