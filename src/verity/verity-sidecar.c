/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where an image's root hash, signature and hash tree come from when they are not in the image
 * (SPEC.md): --root-hash, else the user.verity.roothash xattr, else IMAGE.roothash;
 * --root-hash-sig (a file or "base64:…"), else IMAGE.roothash.p7s; --verity-data, else
 * IMAGE.verity. One finder for run -i (src/image) and the verity verbs.
 *
 * Untrusted input: the sidecar files and the xattr, next to an image that may have come from
 * anywhere. Each is read up to a named limit (VERITY_ROOT_HASH_TEXT_MAX, VERITY_SIG_SIZE_MAX,
 * VERITY_SIG_JSON_SIZE_MAX; more is -EFBIG, never a silent cut), signature JSON is parsed by
 * verity_sig_json_parse(), the hash tree is opened with open_checked() (a FIFO cannot block us).
 * The root hash's text is handed back as it was found but for the whitespace around it; its hex is
 * the caller's to check (which digests it accepts differs). */

#include <fcntl.h>
#include <string.h>
#include <sys/xattr.h>

#include "diag.h"
#include "fd-util.h"
#include "util.h"
#include "verity.h"

#define ROOT_HASH_XATTR "user.verity.roothash"
#define BASE64_PREFIX "base64:"

int verity_sidecar_path(const char *image, const char *suffix, char **ret) {
        if (!image || !*image || !suffix)
                return -EINVAL;
        const char *e = endswith(image, ".raw");
        size_t base = e && e != image ? (size_t) (e - image) : strlen(image);
        char *p = malloc(base + strlen(suffix) + 1);
        if (!p)
                return -ENOMEM;
        memcpy(p, image, base);
        strcpy(p + base, suffix);
        *ret = p;
        return 0;
}

void verity_sidecars_done(VeritySidecars *s) {
        if (!s)
                return;
        free(s->root_hash);
        free(s->root_hash_path);
        free(s->sig);
        verity_sig_json_done(&s->sig_json);
        free(s->sig_path);
        safe_close(s->hash_fd);
        free(s->hash_path);
        *s = (VeritySidecars) VERITY_SIDECARS_INIT;
}

/* As systemd reads it (one line, its hex decoded ignoring whitespace): spaces, tabs and line ends
 * around the hex go; anything inside stays and fails the caller's hex check. */
static int root_hash_text(const char *text, size_t size, char **ret) {
        static const char ws[] = " \t\r\n";
        size_t len = strnlen(text, size);
        while (len > 0 && strchr(ws, text[len - 1]))
                len--;
        size_t start = strspn(text, ws);
        if (start > len)
                start = len;
        char *t = strndup(text + start, len - start);
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

static int find_root_hash(const VeritySidecarQuery *q, VeritySidecars *s, Diag *diag) {
        int r;
        if (q->root_hash) {
                char *t = strdup(q->root_hash);
                if (!t)
                        return diag_fail(diag, -ENOMEM, NULL, NULL);
                s->root_hash = t;
                s->root_hash_source = VERITY_SOURCE_GIVEN;
                return 0;
        }
        if (q->image_fd >= 0) {
                /* A file system without user xattrs, or an image without this one, has none; any
                 * other failure (a value over the limit, an I/O error) is one, not a reason to look
                 * elsewhere. */
                char buf[VERITY_ROOT_HASH_TEXT_MAX + 1];
                ssize_t n = fgetxattr(q->image_fd, ROOT_HASH_XATTR, buf, sizeof(buf) - 1);
                if (n >= 0) {
                        buf[n] = 0;
                        r = root_hash_text(buf, (size_t) n, &s->root_hash);
                        if (r < 0)
                                return diag_fail(diag, r, ROOT_HASH_XATTR, NULL);
                        s->root_hash_source = VERITY_SOURCE_XATTR;
                        return 0;
                }
                if (errno == ERANGE)
                        return diag_fail(diag, -EFBIG, ROOT_HASH_XATTR, NULL);
                if (errno != ENODATA && errno != ENOTSUP && errno != EOPNOTSUPP)
                        return diag_fail(diag, negative_errno(), ROOT_HASH_XATTR, NULL);
        }
        if (!q->image)
                return 0;
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size = 0;
        r = verity_sidecar_path(q->image, ".roothash", &path);
        if (r < 0)
                return diag_fail(diag, r, NULL, NULL);
        r = read_file_at(AT_FDCWD, path, 0, VERITY_ROOT_HASH_TEXT_MAX, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return diag_fail(diag, r, path, NULL);
        r = root_hash_text(text, size, &s->root_hash);
        if (r < 0)
                return diag_fail(diag, r, path, NULL);
        s->root_hash_source = VERITY_SOURCE_SIDECAR;
        s->root_hash_path = TAKE_PTR(path);
        return 0;
}

int verity_signature_from_base64(const char *arg, void **ret, size_t *ret_size) {
        if (!startswith(arg, BASE64_PREFIX))
                return -EINVAL;
        const char *b = arg + STRLEN(BASE64_PREFIX);
        if (strlen(b) > VERITY_SIG_SIZE_MAX * 2)
                return -EFBIG;
        /* The JSON parser knows base64 and its checks: reuse it on a minimal document. */
        _cleanup_free_ char *json =
                strjoin("{\"rootHash\":\"0000000000000000000000000000000000000000\",\"signature\":\"", b, "\"}");
        if (!json)
                return -ENOMEM;
        VeritySigJson j = {};
        int r = verity_sig_json_parse(json, strlen(json), &j);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j.p7s);
        *ret_size = j.p7s_size;
        verity_sig_json_done(&j);
        return 0;
}

static int find_signature(const VeritySidecarQuery *q, VeritySidecarFlags flags, VeritySidecars *s, Diag *diag) {
        int r;
        if (q->root_hash_sig && startswith(q->root_hash_sig, BASE64_PREFIX)) {
                r = verity_signature_from_base64(q->root_hash_sig, &s->sig, &s->sig_size);
                if (r < 0)
                        return diag_fail(diag, r, q->root_hash_sig, NULL);
                s->sig_source = VERITY_SOURCE_GIVEN;
                return 0;
        }
        _cleanup_free_ char *path = NULL;
        if (q->root_hash_sig) {
                path = strdup(q->root_hash_sig);
                if (!path)
                        return diag_fail(diag, -ENOMEM, NULL, NULL);
        } else if (!q->image)
                return 0;
        else if ((r = verity_sidecar_path(q->image, ".roothash.p7s", &path)) < 0)
                return diag_fail(diag, r, NULL, NULL);

        bool json = flags & VERITY_SIDECAR_SIGNATURE_JSON;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        r = read_file_at(AT_FDCWD, path, 0, json ? VERITY_SIG_JSON_SIZE_MAX : VERITY_SIG_SIZE_MAX, &buf, &size);
        if (r == -ENOENT && !q->root_hash_sig)
                return 0; /* no sidecar */
        if (r < 0)
                return diag_fail(diag, r, path, NULL);
        if (json && size > 0 && buf[0] == '{') {
                r = verity_sig_json_parse(buf, size, &s->sig_json);
                if (r < 0)
                        return diag_fail(diag, r, path, NULL);
                s->sig = TAKE_PTR(s->sig_json.p7s);
                s->sig_size = s->sig_json.p7s_size;
                s->sig_json.p7s_size = 0;
        } else if (size > VERITY_SIG_SIZE_MAX)
                return diag_fail(diag, -EFBIG, path, NULL);
        else {
                s->sig = TAKE_PTR(buf);
                s->sig_size = size;
        }
        s->sig_source = q->root_hash_sig ? VERITY_SOURCE_GIVEN : VERITY_SOURCE_SIDECAR;
        s->sig_path = TAKE_PTR(path);
        return 0;
}

static int find_hash_tree(const VeritySidecarQuery *q, VeritySidecars *s, Diag *diag) {
        _cleanup_free_ char *path = NULL;
        int r;
        if (q->verity_data) {
                path = strdup(q->verity_data);
                if (!path)
                        return diag_fail(diag, -ENOMEM, NULL, NULL);
        } else if (!q->image)
                return 0;
        else if ((r = verity_sidecar_path(q->image, ".verity", &path)) < 0)
                return diag_fail(diag, r, NULL, NULL);
        /* Checked before it is opened: open() of a FIFO would wait for a writer forever. */
        int fd = open_checked(AT_FDCWD, path, O_RDONLY, OPEN_REGULAR | OPEN_BLOCK, NULL);
        if (fd < 0 && (fd != -ENOENT || q->verity_data))
                return diag_fail(diag, fd, path, NULL);
        /* A missing sidecar is no hash tree; its path stays for the caller's message. */
        free(s->hash_path);
        s->hash_path = TAKE_PTR(path);
        if (fd >= 0) {
                safe_close(s->hash_fd);
                s->hash_fd = fd;
                s->hash_source = q->verity_data ? VERITY_SOURCE_GIVEN : VERITY_SOURCE_SIDECAR;
        }
        return 0;
}

int verity_sidecars_find(const VeritySidecarQuery *q, VeritySidecarFlags flags, VeritySidecars *s, Diag *diag) {
        int r;
        if ((flags & VERITY_SIDECAR_HASH_TREE) && s->hash_fd < 0 && (r = find_hash_tree(q, s, diag)) < 0)
                return r;
        if ((flags & VERITY_SIDECAR_SIGNATURE) && s->sig_source == VERITY_SOURCE_NONE &&
                (r = find_signature(q, flags, s, diag)) < 0)
                return r;
        if ((flags & VERITY_SIDECAR_ROOT_HASH) && !s->root_hash && (r = find_root_hash(q, s, diag)) < 0)
                return r;
        return 0;
}
