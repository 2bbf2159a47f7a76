/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Choosing and checking verification material. Untrusted input: every fetched checksum and
 * signature file (parsed by pull-checksum.c, checked by gpgv via pull-gpg.c); the file name
 * (from the URL) is only compared, never used as a path. */
#include <stdarg.h>
#include <string.h>

#include "hash-util.h"
#include "pull-gpg.h"
#include "pull-verify.h"
#include "util.h"

#define SIGNATURE_SIZE_MAX (64U * 1024U) /* bytes of a detached signature file */

void pull_verify_plan_done(PullVerifyPlan *p) {
        free(p->checksum_source);
        free(p->list);
        free(p->list_name);
        free(p->sig);
        free(p->sig_name);
        free(p->fingerprint);
        free(p->description);
        *p = (PullVerifyPlan) {};
}

int checksum_memory(ChecksumAlgo algo, const void *p, size_t n, Checksum *ret) {
        Checksum c = { .algo = algo };
        if (hash_digest(algo == CHECKSUM_SHA512 ? HASH_SHA512 : HASH_SHA256, p, n, c.digest) < 0)
                return -EIO;
        *ret = c;
        return 0;
}

typedef struct Fetched {
        char *data;
        size_t size;
} Fetched;

static void fetched_done(Fetched *f) {
        free(f->data);
        *f = (Fetched) {};
}

int pull_fail(Diag *diag, int r, const char *object, const char *format, ...) {
        diag_clear_failure(diag);
        va_list ap;
        va_start(ap, format);
        (void) diag_failv(diag, r, object, format, ap);
        va_end(ap);
        return r;
}

/* A fetch failed: keep the fetcher's more specific words (URL and HTTP status), if any. */
static int fetch_error(Diag *diag, int r, const char *name) {
        if (r == -EFBIG)
                return pull_fail(diag, r, name, "too large");
        if (diag_failed(diag))
                return r;
        return pull_fail(diag, r, name, "%s", strerror(-r));
}

/* Where the verification material comes from: the server at base, through the caller's fetch. */
typedef struct Source {
        const char *base;
        PullFetchFn fetch;
        void *userdata;
        Diag *diag;
} Source;

/* Fetches base/name: 1 fetched, 0 absent, < 0 error (see fetch_error()). */
static int fetch_one(const Source *s, const char *name, size_t max, Fetched *ret) {
        _cleanup_free_ char *url = strjoin(s->base, "/", name);
        if (!url)
                return fetch_error(s->diag, -ENOMEM, name);
        Fetched f = {};
        int r = s->fetch(url, max, &f.data, &f.size, s->userdata);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return fetch_error(s->diag, r, name);
        *ret = f;
        return 1;
}

/* The first of names the server has: 1 with *ret and *ret_name, 0 when it has none. */
static int fetch_first(const Source *s, const char *const *names, size_t n, size_t max, Fetched *ret,
                       const char **ret_name) {
        for (size_t i = 0; i < n; i++) {
                int r = fetch_one(s, names[i], max, ret);
                if (r > 0)
                        *ret_name = names[i];
                if (r != 0)
                        return r;
        }
        return 0;
}

static const char *parse_error_phrase(int r) {
        switch (-r) {
        case EFBIG:
                return "too large";
        case ENOTUNIQ:
                return "lists the file twice with different digests";
        default:
                return "malformed";
        }
}

/* Looks filename up in a checksum file; 1 found, 0 not listed, < 0 malformed (the cause in diag). */
static int lookup(const char *what, const char *data, size_t size, ChecksumFormat fmt, const char *filename,
                  Checksum *ret, Diag *diag) {
        int r = checksum_file_find(data, size, fmt, filename, ret);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return pull_fail(diag, r == -ENOTUNIQ ? -EBADMSG : (r == -EFBIG ? -EBADMSG : r), what, "%s",
                                 parse_error_phrase(r));
        return 1;
}

static int plan_set_list(PullVerifyPlan *p, const char *name, char *text, size_t size, ChecksumFormat fmt,
                         const Checksum *c) {
        p->list = text;
        p->list_size = size;
        p->list_format = fmt;
        p->have_checksum = true;
        p->checksum = *c;
        p->list_name = strdup(name);
        p->checksum_source = strdup(name);
        return p->list_name && p->checksum_source ? 0 : -ENOMEM;
}

/* Looks filename up in the checksum list *text (size bytes, of file name): when it is listed the plan
 * takes the text and the file's checksum (1); 0 when it is not; < 0 when the list is malformed (the
 * cause in diag). */
static int plan_use_list(PullVerifyPlan *p, const char *name, char **text, size_t size, ChecksumFormat fmt,
                         const char *filename, Diag *diag) {
        Checksum c;
        int r = lookup(name, *text, size, fmt, filename, &c, diag);
        if (r <= 0)
                return r;
        r = plan_set_list(p, name, TAKE_PTR(*text), size, fmt, &c);
        return r < 0 ? r : 1;
}

/* Checksum mode: the list name fetched and used when it lists filename (see plan_use_list()). */
static int try_list(PullVerifyPlan *p, const Source *s, const char *name, ChecksumFormat fmt, const char *filename) {
        _cleanup_(fetched_done) Fetched f = {};
        int r = fetch_one(s, name, CHECKSUM_FILE_SIZE_MAX, &f);
        if (r <= 0)
                return r;
        return plan_use_list(p, name, &f.data, f.size, fmt, filename, s->diag);
}

/* A signature check of what failed with r, and what gpgv said about it in g. */
static int gpg_reason(int r, const Diag *g, const char *what, Diag *diag) {
        if (r == -EBADMSG)
                return pull_fail(diag, r, what, "%s", g->cause ?: "");
        if (r == -ENOEXEC)
                return pull_fail(diag, r, what, "cannot run gpgv");
        return pull_fail(diag, r, what, "signature check failed");
}

static int plan_finish(PullVerifyPlan *p, PullVerifyPlan *ret) {
        if (!p->description)
                return -ENOMEM;
        *ret = *p;
        *p = (PullVerifyPlan) {};
        return 0;
}

int pull_verify_plan(const char *base, const char *filename, PullVerify mode, const char *keyring, PullFetchFn fetch,
                     void *userdata, PullVerifyPlan *ret, Diag *diag) {
        _cleanup_(pull_verify_plan_done) PullVerifyPlan p = {};
        _cleanup_free_ char *n_sha256 = strjoin(filename, ".sha256"), *n_digests = strjoin(filename, ".DIGESTS"),
                            *n_asc = strjoin(filename, ".asc"), *n_sig = strjoin(filename, ".sig");
        if (!n_sha256 || !n_digests || !n_asc || !n_sig)
                return -ENOMEM;
        const Source src = { .base = base, .fetch = fetch, .userdata = userdata, .diag = diag };
        int r;

        if (mode == PULL_VERIFY_NO) {
                *ret = TAKE_GENERIC(p, PullVerifyPlan, (PullVerifyPlan) {});
                return 0;
        }

        if (mode == PULL_VERIFY_CHECKSUM) {
                /* FILE.sha256, then SHA256SUMS. */
                const char *const lists[] = { n_sha256, "SHA256SUMS" };
                for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                        ChecksumFormat fmt = i == 0 ? CHECKSUM_FORMAT_SINGLE : CHECKSUM_FORMAT_SUMS;
                        r = try_list(&p, &src, lists[i], fmt, filename);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                const char *algo = checksum_algo_to_string(p.checksum.algo);
                                p.description = i == 0 ? strjoin(n_sha256, " (", algo, ")")
                                                       : strdup("SHA256SUMS (unsigned)");
                                return plan_finish(&p, ret);
                        }
                }
                /* FILE.DIGESTS, clearsigned or not; the signature is not checked in this mode. */
                _cleanup_(fetched_done) Fetched f = {};
                r = fetch_one(&src, n_digests, CHECKSUM_FILE_SIZE_MAX, &f);
                if (r < 0)
                        return r;
                if (r > 0) {
                        _cleanup_free_ char *text = NULL;
                        size_t tn = 0;
                        if (clearsign_is_signed(f.data, f.size)) {
                                r = clearsign_extract_text(f.data, f.size, &text, &tn);
                                if (r < 0)
                                        return pull_fail(diag, -EBADMSG, n_digests, "malformed clearsigned message");
                        } else {
                                text = TAKE_PTR(f.data);
                                tn = f.size;
                        }
                        r = plan_use_list(&p, n_digests, &text, tn, CHECKSUM_FORMAT_DIGESTS, filename, diag);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                p.description = strjoin(n_digests, " (SHA512, signature not checked)");
                                return plan_finish(&p, ret);
                        }
                }
                return pull_fail(diag, -ENOKEY, NULL, "no checksum found (tried %s, SHA256SUMS, .DIGESTS)", n_sha256);
        }

        /* Signature mode. */
        if (!keyring)
                return pull_fail(diag, -ENOKEY, NULL, "no keyring to check signatures with");

        /* 1. SHA256SUMS signed by SHA256SUMS.gpg or SHA256SUMS.asc (the first the server has). */
        _cleanup_(fetched_done) Fetched sums = {};
        r = fetch_one(&src, "SHA256SUMS", CHECKSUM_FILE_SIZE_MAX, &sums);
        if (r < 0)
                return r;
        if (r > 0) {
                static const char *const signames[] = { "SHA256SUMS.gpg", "SHA256SUMS.asc" };
                _cleanup_(fetched_done) Fetched sig = {};
                const char *signame = NULL;
                r = fetch_first(&src, signames, ELEMENTSOF(signames), SIGNATURE_SIZE_MAX, &sig, &signame);
                if (r < 0)
                        return r;
                if (r > 0) {
                        _cleanup_diag_ Diag g = DIAG_INIT;
                        _cleanup_free_ char *fpr = NULL;
                        r = gpg_verify_detached_memory(keyring, sig.data, sig.size, sums.data, sums.size, &fpr, &g);
                        if (r < 0)
                                return gpg_reason(r, &g, signame, diag);
                        /* Signed, but not about this file: try the next source. */
                        r = plan_use_list(&p, "SHA256SUMS", &sums.data, sums.size, CHECKSUM_FORMAT_SUMS, filename,
                                          diag);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                p.fingerprint = TAKE_PTR(fpr);
                                p.description = strjoin("SHA256SUMS, signed (", signame, ")");
                                return plan_finish(&p, ret);
                        }
                }
        }

        /* 2. FILE.DIGESTS, clearsigned: use only the text gpgv says was signed. */
        _cleanup_(fetched_done) Fetched digests = {};
        r = fetch_one(&src, n_digests, CHECKSUM_FILE_SIZE_MAX, &digests);
        if (r < 0)
                return r;
        if (r > 0 && clearsign_is_signed(digests.data, digests.size)) {
                _cleanup_diag_ Diag g = DIAG_INIT;
                _cleanup_free_ char *text = NULL, *fpr = NULL;
                size_t tn = 0;
                r = gpg_verify_clearsigned(keyring, digests.data, digests.size, &text, &tn, &fpr, &g);
                if (r < 0)
                        return gpg_reason(r, &g, n_digests, diag);
                r = plan_use_list(&p, n_digests, &text, tn, CHECKSUM_FORMAT_DIGESTS, filename, diag);
                if (r < 0)
                        return r;
                if (r > 0) {
                        p.fingerprint = TAKE_PTR(fpr);
                        p.description = strjoin(n_digests, " (SHA512, clearsigned)");
                        return plan_finish(&p, ret);
                }
        }

        /* 3. FILE.asc / FILE.sig over the file itself, checked after the download. An unsigned
         * DIGESTS or SHA256SUMS listing the file is checked as well (a mismatch fails early). */
        const char *const detached[] = { n_asc, n_sig };
        _cleanup_(fetched_done) Fetched dsig = {};
        const char *dsig_name = NULL;
        r = fetch_first(&src, detached, ELEMENTSOF(detached), SIGNATURE_SIZE_MAX, &dsig, &dsig_name);
        if (r < 0)
                return r;
        if (r == 0)
                return pull_fail(diag, -ENOKEY, NULL,
                                 "no signature found (tried SHA256SUMS.gpg, SHA256SUMS.asc, %s clearsigned, "
                                 ".asc, .sig)",
                                 n_digests);
        p.sig = TAKE_PTR(dsig.data);
        p.sig_size = dsig.size;
        p.sig_name = strdup(dsig_name);
        if (!p.sig_name)
                return -ENOMEM;
        if (digests.data && !clearsign_is_signed(digests.data, digests.size)) {
                r = plan_use_list(&p, n_digests, &digests.data, digests.size, CHECKSUM_FORMAT_DIGESTS, filename, diag);
                if (r < 0)
                        return r;
        }
        if (!p.have_checksum && sums.data) {
                r = plan_use_list(&p, "SHA256SUMS", &sums.data, sums.size, CHECKSUM_FORMAT_SUMS, filename, diag);
                if (r < 0)
                        return r;
        }
        if (p.have_checksum)
                p.description = strjoin(dsig_name, " (detached signature) and ", p.checksum_source, " (",
                                        checksum_algo_to_string(p.checksum.algo), ")");
        else
                p.description = strjoin(dsig_name, " (detached signature)");
        return plan_finish(&p, ret);
}

int pull_verify_download(const PullVerifyPlan *plan, const Checksum *actual, int data_fd, const char *keyring,
                         char **ret_fingerprint, Diag *diag) {
        if (plan->have_checksum) {
                if (!actual || actual->algo != plan->checksum.algo)
                        return -EINVAL;
                if (!checksum_equal(actual, &plan->checksum)) {
                        _cleanup_free_ char *want = checksum_to_hex(&plan->checksum), *got = checksum_to_hex(actual);
                        if (!want || !got)
                                return -ENOMEM;
                        return pull_fail(diag, -EBADMSG, NULL, "checksum mismatch: %s says %s, download has %s",
                                         plan->checksum_source, want, got);
                }
        }
        if (plan->sig) {
                _cleanup_diag_ Diag g = DIAG_INIT;
                int r = gpg_verify_detached(keyring, plan->sig, plan->sig_size, data_fd, ret_fingerprint, &g);
                if (r < 0)
                        return gpg_reason(r, &g, plan->sig_name, diag);
        }
        return 0;
}

int pull_verify_sidecar(const PullVerifyPlan *plan, const char *sidecar_filename, const Checksum digests[],
                        Diag *diag) {
        if (!plan->list || plan->list_format == CHECKSUM_FORMAT_SINGLE)
                return 0;
        Checksum want;
        int r = lookup(plan->list_name, plan->list, plan->list_size, plan->list_format, sidecar_filename, &want, diag);
        if (r <= 0)
                return r;
        if (!checksum_equal(&want, &digests[want.algo]))
                return pull_fail(diag, -EBADMSG, sidecar_filename, "checksum mismatch with %s", plan->list_name);
        return 1;
}
