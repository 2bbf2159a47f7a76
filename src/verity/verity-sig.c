/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Root hash signatures: PKCS#7 (detached, no certificates, no attributes, binary, DER) over the
 * lower-case hex root hash, as systemd and the kernel's dm-verity expect, and the Discoverable
 * Partitions signature JSON. OpenSSL does the cryptography; this file only frames it.
 *
 * Untrusted input: the p7s bytes and the JSON (size-limited, fully parsed and type-checked, base64
 * and hex syntax checked). The certificates in the trusted directories are trusted as the
 * administrator's choice, but still read with size and count limits. */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "hash-util.h"
#include "json-util.h"
#include "util.h"
#include "verity.h"

static const char *const default_cert_dirs[] = {
        "/etc/verity.d",
        "/run/verity.d",
        "/usr/local/lib/verity.d",
        "/usr/lib/verity.d",
};

int verity_cert_dirs(const char *dir, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;
        if (dir) {
                if ((r = strv_extend(&l, dir)) < 0)
                        return r;
        } else
                for (size_t i = 0; i < ELEMENTSOF(default_cert_dirs); i++)
                        if ((r = strv_extend(&l, default_cert_dirs[i])) < 0)
                                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static bool hex_ok(const char *s, size_t min, size_t max) {
        size_t n = strlen(s);
        if (n < min || n > max || n % 2 != 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdefABCDEF", s[i]))
                        return false;
        return true;
}

static int cert_fingerprint(X509 *x, char **ret) {
        unsigned char *der = NULL;
        int n = i2d_X509(x, &der);
        if (n <= 0)
                return -EBADMSG;
        uint8_t md[HASH_DIGEST_SIZE_MAX];
        int r = hash_digest(HASH_SHA256, der, (size_t) n, md);
        OPENSSL_free(der);
        if (r < 0)
                return r;
        char *h = hexmem(md, hash_digest_size(HASH_SHA256));
        if (!h)
                return -ENOMEM;
        *ret = h;
        return 0;
}

int verity_sig_sign(const char *root_hash_hex, const void *key_pem, size_t key_size, const void *cert_pem,
        size_t cert_size, void **ret_p7s, size_t *ret_p7s_size) {
        if (!root_hash_hex || !hex_ok(root_hash_hex, 2, VERITY_ROOT_HASH_HEX_MAX) || !key_pem || !cert_pem ||
                key_size > INT32_MAX || cert_size > INT32_MAX)
                return -EINVAL;
        int r = -EBADMSG;
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        PKCS7 *p7 = NULL;
        unsigned char *der = NULL;
        _cleanup_free_ char *lower = strdup(root_hash_hex);
        if (!lower)
                return -ENOMEM;
        for (char *c = lower; *c; c++)
                *c = (char) (*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);

        BIO *kb = BIO_new_mem_buf(key_pem, (int) key_size);
        BIO *cb = BIO_new_mem_buf(cert_pem, (int) cert_size);
        BIO *content = BIO_new_mem_buf(lower, (int) strlen(lower));
        if (!kb || !cb || !content) {
                r = -ENOMEM;
                goto finish;
        }
        key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
        if (!key) {
                r = -ENOKEY;
                goto finish;
        }
        cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
        if (!cert) {
                r = -EBADMSG;
                goto finish;
        }
        if (X509_check_private_key(cert, key) != 1) {
                r = -EKEYREJECTED;
                goto finish;
        }
        p7 = PKCS7_sign(cert, key, NULL, content, PKCS7_DETACHED | PKCS7_NOCERTS | PKCS7_NOATTR | PKCS7_BINARY);
        if (!p7) {
                r = -EIO;
                goto finish;
        }
        int n = i2d_PKCS7(p7, &der);
        if (n <= 0) {
                r = -EIO;
                goto finish;
        }
        void *out = malloc((size_t) n);
        if (!out) {
                r = -ENOMEM;
                goto finish;
        }
        memcpy(out, der, (size_t) n);
        *ret_p7s = out;
        *ret_p7s_size = (size_t) n;
        r = 0;
finish:
        OPENSSL_free(der);
        PKCS7_free(p7);
        X509_free(cert);
        EVP_PKEY_free(key);
        BIO_free(kb);
        BIO_free(cb);
        BIO_free(content);
        ERR_clear_error();
        return r;
}

typedef struct CertSet {
        STACK_OF(X509) * certs;
        char **paths; /* parallel to certs */
        char **names; /* file names seen, for masking by earlier directories */
} CertSet;

static void cert_set_done(CertSet *s) {
        sk_X509_pop_free(s->certs, X509_free);
        strv_free(s->paths);
        strv_free(s->names);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static X509 *parse_cert(const void *buf, size_t size) {
        BIO *b = BIO_new_mem_buf(buf, (int) size);
        if (!b)
                return NULL;
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        if (!x) {
                const unsigned char *p = buf;
                x = d2i_X509(NULL, &p, (long) size);
        }
        ERR_clear_error();
        return x;
}

static int cert_set_load_dir(CertSet *s, const char *dir) {
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        _cleanup_closedir_ DIR *d = NULL;
        int r = opendir_fd(dfd, &d);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || !endswith(de->d_name, ".crt"))
                        continue;
                if (strv_length(names) >= VERITY_CERTS_MAX)
                        return -EFBIG;
                if ((r = strv_extend(&names, de->d_name)) < 0)
                        return r;
        }
        if (!names)
                return 0;
        qsort(names, strv_length(names), sizeof(char *), cmp_str);
        for (char **n = names; *n; n++) {
                /* A file of the same name in an earlier directory masks this one (as systemd's
                 * configuration directories do). */
                if (strv_contains(s->names, *n))
                        continue;
                _cleanup_free_ char *buf = NULL;
                size_t size;
                r = read_file_at(dfd, *n, 0, VERITY_CERT_SIZE_MAX, &buf, &size);
                if (r == -EBADFD || r == -ENOENT)
                        continue; /* not a regular file, or gone */
                if (r < 0)
                        return r;
                if ((r = strv_extend(&s->names, *n)) < 0)
                        return r;
                X509 *x = parse_cert(buf, size);
                if (!x)
                        continue; /* not a certificate: cannot vouch for anything */
                if (sk_X509_num(s->certs) >= (int) VERITY_CERTS_MAX) {
                        X509_free(x);
                        return -EFBIG;
                }
                char *path = strjoin(dir, "/", *n);
                if (!path || !sk_X509_push(s->certs, x)) {
                        free(path);
                        X509_free(x);
                        return -ENOMEM;
                }
                if ((r = strv_push(&s->paths, path)) < 0) {
                        (void) sk_X509_pop(s->certs);
                        X509_free(x);
                        return r;
                }
        }
        return 0;
}

int verity_sig_verify(const char *root_hash_hex, const void *p7s, size_t p7s_size, char *const *cert_dirs,
        const char *expected_fingerprint, char **ret_signer) {
        if (!root_hash_hex || !hex_ok(root_hash_hex, 2, VERITY_ROOT_HASH_HEX_MAX) || !p7s)
                return -EINVAL;
        if (p7s_size == 0)
                return -EBADMSG;
        if (p7s_size > VERITY_SIG_SIZE_MAX)
                return -EFBIG;

        _cleanup_strv_free_ char **dirs = NULL;
        int r;
        if (!cert_dirs) {
                if ((r = verity_cert_dirs(NULL, &dirs)) < 0)
                        return r;
                cert_dirs = dirs;
        }

        /* The signed text is the lower-case hex; upper-case input means the same hash. */
        _cleanup_free_ char *lower = strdup(root_hash_hex);
        if (!lower)
                return -ENOMEM;
        for (char *c = lower; *c; c++)
                *c = (char) (*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);

        CertSet set = {.certs = sk_X509_new_null()};
        PKCS7 *p7 = NULL;
        BIO *content = NULL;
        if (!set.certs) {
                r = -ENOMEM;
                goto finish;
        }
        for (char *const *d = cert_dirs; *d; d++)
                if ((r = cert_set_load_dir(&set, *d)) < 0)
                        goto finish;

        const unsigned char *p = p7s;
        p7 = d2i_PKCS7(NULL, &p, (long) p7s_size);
        if (!p7 || p != (const unsigned char *) p7s + p7s_size || !PKCS7_type_is_signed(p7) ||
                !PKCS7_get_detached(p7)) {
                r = -EBADMSG; /* not DER PKCS#7 signed data with detached content, or trailing bytes */
                goto finish;
        }
        if (sk_X509_num(set.certs) == 0) {
                r = -ENOKEY;
                goto finish;
        }
        /* Signers are looked up only among the trusted certificates (never ones inside the
         * signature), so this also answers "who signed". */
        STACK_OF(X509) *signers = PKCS7_get0_signers(p7, set.certs, PKCS7_NOINTERN);
        if (!signers) {
                r = -ENOKEY;
                goto finish;
        }
        X509 *signer = sk_X509_value(signers, 0);
        sk_X509_free(signers);

        content = BIO_new_mem_buf(lower, (int) strlen(lower));
        if (!content) {
                r = -ENOMEM;
                goto finish;
        }
        if (PKCS7_verify(p7, set.certs, NULL, content, NULL,
                    PKCS7_NOINTERN | PKCS7_NOVERIFY | PKCS7_BINARY | PKCS7_NOCHAIN) != 1) {
                r = -EKEYREJECTED;
                goto finish;
        }

        if (expected_fingerprint) {
                _cleanup_free_ char *fp = NULL;
                if ((r = cert_fingerprint(signer, &fp)) < 0)
                        goto finish;
                if (strcasecmp(fp, expected_fingerprint) != 0) {
                        r = -ENOKEY;
                        goto finish;
                }
        }

        if (ret_signer) {
                char *path = NULL;
                for (int i = 0; i < sk_X509_num(set.certs); i++)
                        if (sk_X509_value(set.certs, i) == signer) {
                                path = strdup(set.paths[i]);
                                if (!path) {
                                        r = -ENOMEM;
                                        goto finish;
                                }
                                break;
                        }
                *ret_signer = path;
        }
        r = 0;
finish:
        BIO_free(content);
        PKCS7_free(p7);
        cert_set_done(&set);
        ERR_clear_error();
        return r;
}

void verity_sig_json_done(VeritySigJson *j) {
        if (!j)
                return;
        free(j->root_hash_hex);
        free(j->fingerprint_hex);
        free(j->p7s);
        *j = (VeritySigJson){};
}

static int base64_decode(const char *s, void **ret, size_t *ret_size) {
        size_t n = strlen(s);
        if (n == 0 || n % 4 != 0 || n / 4 * 3 > VERITY_SIG_SIZE_MAX + 2)
                return n / 4 * 3 > VERITY_SIG_SIZE_MAX + 2 ? -EFBIG : -EBADMSG;
        size_t pad = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                           c == '/';
                if (c == '=' && i >= n - 2) {
                        pad++;
                        continue;
                }
                if (!b64 || pad > 0)
                        return -EBADMSG;
        }
        uint8_t *out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        ssize_t k = base64_decode_block(s, n, out);
        if (k < 0 || (size_t) k < pad) {
                free(out);
                return -EBADMSG;
        }
        size_t size = (size_t) k - pad;
        if (size > VERITY_SIG_SIZE_MAX) {
                free(out);
                return -EFBIG;
        }
        *ret = out;
        *ret_size = size;
        return 0;
}

int verity_sig_json_parse(const void *buf, size_t size, VeritySigJson *ret) {
        if (!buf)
                return -EINVAL;
        /* A signature partition is the JSON followed by NULs up to the partition size. */
        const char *s = buf;
        size_t len = strnlen(s, size);
        for (size_t i = len; i < size; i++)
                if (s[i] != 0)
                        return -EBADMSG;
        if (len > VERITY_SIG_JSON_SIZE_MAX)
                return -EFBIG;
        if (len == 0)
                return -EBADMSG;

        json_tokener *tok = json_tokener_new_ex(8); /* the document is flat: depth 2 suffices */
        if (!tok)
                return -ENOMEM;
        json_object *o = json_tokener_parse_ex(tok, s, (int) len);
        bool ok = o && json_tokener_get_error(tok) == json_tokener_success &&
                  (size_t) json_tokener_get_parse_end(tok) == len;
        json_tokener_free(tok);
        _cleanup_json_ json_object *root = o;
        if (!ok || !json_object_is_type(root, json_type_object))
                return -EBADMSG;

        json_object *rh = NULL, *fp = NULL, *sig = NULL;
        if (!json_object_object_get_ex(root, "rootHash", &rh) || !json_object_is_type(rh, json_type_string) ||
                !json_object_object_get_ex(root, "signature", &sig) || !json_object_is_type(sig, json_type_string))
                return -EBADMSG;
        if (json_object_object_get_ex(root, "certificateFingerprint", &fp) &&
                !json_object_is_type(fp, json_type_null) && !json_object_is_type(fp, json_type_string))
                return -EBADMSG;
        if (fp && json_object_is_type(fp, json_type_null))
                fp = NULL;

        const char *rhs = json_object_get_string(rh);
        if (strlen(rhs) != (size_t) json_object_get_string_len(rh) || !hex_ok(rhs, 40, VERITY_ROOT_HASH_HEX_MAX))
                return -EBADMSG;
        const char *fps = fp ? json_object_get_string(fp) : NULL;
        if (fps && ((size_t) json_object_get_string_len(fp) != 64 || !hex_ok(fps, 64, 64)))
                return -EBADMSG;

        const char *sigs = json_object_get_string(sig);
        if (strlen(sigs) != (size_t) json_object_get_string_len(sig))
                return -EBADMSG; /* embedded NUL */
        VeritySigJson j = {};
        int r = base64_decode(sigs, &j.p7s, &j.p7s_size);
        if (r < 0)
                return r;
        j.root_hash_hex = strdup(rhs);
        j.fingerprint_hex = fps ? strdup(fps) : NULL;
        if (!j.root_hash_hex || (fps && !j.fingerprint_hex)) {
                verity_sig_json_done(&j);
                return -ENOMEM;
        }
        for (char *c = j.root_hash_hex; *c; c++)
                *c = (char) (*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
        *ret = j;
        return 0;
}

int verity_sig_json_format(const char *root_hash_hex, const void *cert_pem, size_t cert_size, const void *p7s,
        size_t p7s_size, char **ret_json) {
        if (!root_hash_hex || !hex_ok(root_hash_hex, 2, VERITY_ROOT_HASH_HEX_MAX) || !cert_pem || !p7s ||
                p7s_size == 0 || p7s_size > VERITY_SIG_SIZE_MAX || cert_size > INT32_MAX)
                return -EINVAL;
        X509 *x = parse_cert(cert_pem, cert_size);
        if (!x)
                return -EBADMSG;
        _cleanup_free_ char *fp = NULL;
        int r = cert_fingerprint(x, &fp);
        X509_free(x);
        if (r < 0)
                return r;

        _cleanup_free_ char *b64 = malloc((p7s_size + 2) / 3 * 4 + 1);
        if (!b64)
                return -ENOMEM;
        (void) base64_encode_block(p7s, p7s_size, b64);

        _cleanup_json_ json_object *o = json_object_new_object();
        if (!o || json_add_string(o, "rootHash", root_hash_hex) < 0 ||
                json_add_string(o, "certificateFingerprint", fp) < 0 || json_add_string(o, "signature", b64) < 0)
                return -ENOMEM;
        const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *out = t ? strdup(t) : NULL;
        if (!out)
                return -ENOMEM;
        *ret_json = out;
        return 0;
}
