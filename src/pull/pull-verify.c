/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Choosing and checking verification material. Untrusted input: every fetched checksum and
 * signature file (parsed by pull-checksum.c, checked by gpgv via pull-gpg.c); the file name
 * (from the URL) is only compared, never used as a path. */
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

/* 1 fetched, 0 absent, < 0 error. */
static int fetch_one(const char *base, const char *name, size_t max, PullFetchFn fetch, void *userdata, Fetched *ret) {
        _cleanup_free_ char *url = strjoin(base, "/", name);
        if (!url)
                return -ENOMEM;
        Fetched f = {};
        int r = fetch(url, max, &f.data, &f.size, userdata);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        *ret = f;
        return 1;
}

static int set_reason(char **ret_reason, int r, const char *a, const char *b, const char *c) {
        if (ret_reason) {
                free(*ret_reason);
                *ret_reason = strjoin(a, b ?: "", c ?: "");
        }
        return r;
}

/* A fetch failed: keep the fetcher's more specific reason (URL and HTTP status), if any. */
static int fetch_error(char **ret_reason, int r, const char *name) {
        if (r == -EFBIG)
                return set_reason(ret_reason, r, name, ": too large", NULL);
        if (ret_reason && *ret_reason)
                return r;
        return set_reason(ret_reason, r, name, ": ", strerror(-r));
}

static const char *parse_error_phrase(int r) {
        switch (-r) {
        case EFBIG:
                return ": too large";
        case ENOTUNIQ:
                return ": lists the file twice with different digests";
        default:
                return ": malformed";
        }
}

/* Looks filename up in a checksum file; 1 found, 0 not listed, < 0 malformed (reason set). */
static int lookup(const char *what, const char *data, size_t size, ChecksumFormat fmt, const char *filename,
                  Checksum *ret, char **ret_reason) {
        int r = checksum_file_find(data, size, fmt, filename, ret);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return set_reason(ret_reason, r == -ENOTUNIQ ? -EBADMSG : (r == -EFBIG ? -EBADMSG : r), what,
                                  parse_error_phrase(r), NULL);
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

static int gpg_reason(int r, GpgResult *g, const char *what, char **ret_reason) {
        if (r == -EBADMSG)
                return set_reason(ret_reason, r, what, ": ", g->reason);
        if (r == -ENOEXEC)
                return set_reason(ret_reason, r, what, ": cannot run gpgv", NULL);
        return set_reason(ret_reason, r, what, ": signature check failed", NULL);
}

static int plan_finish(PullVerifyPlan *p, PullVerifyPlan *ret) {
        if (!p->description)
                return -ENOMEM;
        *ret = *p;
        *p = (PullVerifyPlan) {};
        return 0;
}

int pull_verify_plan(const char *base, const char *filename, PullVerify mode, const char *keyring, PullFetchFn fetch,
                     void *userdata, PullVerifyPlan *ret, char **ret_reason) {
        _cleanup_(pull_verify_plan_done) PullVerifyPlan p = {};
        _cleanup_free_ char *n_sha256 = strjoin(filename, ".sha256"), *n_digests = strjoin(filename, ".DIGESTS"),
                            *n_asc = strjoin(filename, ".asc"), *n_sig = strjoin(filename, ".sig");
        if (!n_sha256 || !n_digests || !n_asc || !n_sig)
                return -ENOMEM;
        Checksum c;
        int r;

        if (mode == PULL_VERIFY_NO) {
                *ret = TAKE_GENERIC(p, PullVerifyPlan, (PullVerifyPlan) {});
                return 0;
        }

        if (mode == PULL_VERIFY_CHECKSUM) {
                _cleanup_(fetched_done) Fetched f = {};
                /* FILE.sha256 */
                r = fetch_one(base, n_sha256, CHECKSUM_FILE_SIZE_MAX, fetch, userdata, &f);
                if (r < 0)
                        return fetch_error(ret_reason, r, n_sha256);
                if (r > 0) {
                        r = lookup(n_sha256, f.data, f.size, CHECKSUM_FORMAT_SINGLE, filename, &c, ret_reason);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                if ((r = plan_set_list(&p, n_sha256, TAKE_PTR(f.data), f.size, CHECKSUM_FORMAT_SINGLE, &c)) < 0)
                                        return r;
                                p.description = strjoin(n_sha256, " (", checksum_algo_to_string(c.algo), ")");
                                return plan_finish(&p, ret);
                        }
                        fetched_done(&f);
                }
                /* SHA256SUMS */
                r = fetch_one(base, "SHA256SUMS", CHECKSUM_FILE_SIZE_MAX, fetch, userdata, &f);
                if (r < 0)
                        return fetch_error(ret_reason, r, "SHA256SUMS");
                if (r > 0) {
                        r = lookup("SHA256SUMS", f.data, f.size, CHECKSUM_FORMAT_SUMS, filename, &c, ret_reason);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                if ((r = plan_set_list(&p, "SHA256SUMS", TAKE_PTR(f.data), f.size, CHECKSUM_FORMAT_SUMS, &c)) < 0)
                                        return r;
                                p.description = strdup("SHA256SUMS (unsigned)");
                                return plan_finish(&p, ret);
                        }
                        fetched_done(&f);
                }
                /* FILE.DIGESTS, clearsigned or not; the signature is not checked in this mode. */
                r = fetch_one(base, n_digests, CHECKSUM_FILE_SIZE_MAX, fetch, userdata, &f);
                if (r < 0)
                        return fetch_error(ret_reason, r, n_digests);
                if (r > 0) {
                        _cleanup_free_ char *text = NULL;
                        size_t tn = 0;
                        if (clearsign_is_signed(f.data, f.size)) {
                                r = clearsign_extract_text(f.data, f.size, &text, &tn);
                                if (r < 0)
                                        return set_reason(ret_reason, -EBADMSG, n_digests, ": malformed clearsigned message", NULL);
                        } else {
                                text = TAKE_PTR(f.data);
                                tn = f.size;
                        }
                        r = lookup(n_digests, text, tn, CHECKSUM_FORMAT_DIGESTS, filename, &c, ret_reason);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                if ((r = plan_set_list(&p, n_digests, TAKE_PTR(text), tn, CHECKSUM_FORMAT_DIGESTS, &c)) < 0)
                                        return r;
                                p.description = strjoin(n_digests, " (SHA512, signature not checked)");
                                return plan_finish(&p, ret);
                        }
                }
                return set_reason(ret_reason, -ENOKEY, "no checksum found (tried ", n_sha256,
                                  ", SHA256SUMS, .DIGESTS)");
        }

        /* Signature mode. */
        if (!keyring)
                return set_reason(ret_reason, -ENOKEY, "no keyring to check signatures with", NULL, NULL);

        /* 1. SHA256SUMS signed by SHA256SUMS.gpg or SHA256SUMS.asc. */
        _cleanup_(fetched_done) Fetched sums = {};
        r = fetch_one(base, "SHA256SUMS", CHECKSUM_FILE_SIZE_MAX, fetch, userdata, &sums);
        if (r < 0)
                return fetch_error(ret_reason, r, "SHA256SUMS");
        if (r > 0) {
                static const char *const signames[] = { "SHA256SUMS.gpg", "SHA256SUMS.asc" };
                for (size_t i = 0; i < ELEMENTSOF(signames); i++) {
                        _cleanup_(fetched_done) Fetched sig = {};
                        r = fetch_one(base, signames[i], SIGNATURE_SIZE_MAX, fetch, userdata, &sig);
                        if (r < 0)
                                return fetch_error(ret_reason, r, signames[i]);
                        if (r == 0)
                                continue;
                        _cleanup_(gpg_result_done) GpgResult g = {};
                        r = gpg_verify_detached_memory(keyring, sig.data, sig.size, sums.data, sums.size, &g);
                        if (r < 0)
                                return gpg_reason(r, &g, signames[i], ret_reason);
                        r = lookup("SHA256SUMS", sums.data, sums.size, CHECKSUM_FORMAT_SUMS, filename, &c, ret_reason);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                break; /* signed, but not about this file: try the next source */
                        if ((r = plan_set_list(&p, "SHA256SUMS", TAKE_PTR(sums.data), sums.size, CHECKSUM_FORMAT_SUMS, &c)) < 0)
                                return r;
                        p.fingerprint = TAKE_PTR(g.fingerprint);
                        p.description = strjoin("SHA256SUMS, signed (", signames[i], ")");
                        return plan_finish(&p, ret);
                }
        }

        /* 2. FILE.DIGESTS, clearsigned: use only the text gpgv says was signed. */
        _cleanup_(fetched_done) Fetched digests = {};
        r = fetch_one(base, n_digests, CHECKSUM_FILE_SIZE_MAX, fetch, userdata, &digests);
        if (r < 0)
                return fetch_error(ret_reason, r, n_digests);
        if (r > 0 && clearsign_is_signed(digests.data, digests.size)) {
                _cleanup_(gpg_result_done) GpgResult g = {};
                _cleanup_free_ char *text = NULL;
                size_t tn = 0;
                r = gpg_verify_clearsigned(keyring, digests.data, digests.size, &text, &tn, &g);
                if (r < 0)
                        return gpg_reason(r, &g, n_digests, ret_reason);
                r = lookup(n_digests, text, tn, CHECKSUM_FORMAT_DIGESTS, filename, &c, ret_reason);
                if (r < 0)
                        return r;
                if (r > 0) {
                        if ((r = plan_set_list(&p, n_digests, TAKE_PTR(text), tn, CHECKSUM_FORMAT_DIGESTS, &c)) < 0)
                                return r;
                        p.fingerprint = TAKE_PTR(g.fingerprint);
                        p.description = strjoin(n_digests, " (SHA512, clearsigned)");
                        return plan_finish(&p, ret);
                }
        }

        /* 3. FILE.asc / FILE.sig over the file itself, checked after the download. An unsigned
         * DIGESTS or SHA256SUMS listing the file is checked as well (a mismatch fails early). */
        const char *detached[] = { n_asc, n_sig };
        for (size_t i = 0; i < ELEMENTSOF(detached); i++) {
                _cleanup_(fetched_done) Fetched sig = {};
                r = fetch_one(base, detached[i], SIGNATURE_SIZE_MAX, fetch, userdata, &sig);
                if (r < 0)
                        return fetch_error(ret_reason, r, detached[i]);
                if (r == 0)
                        continue;
                p.sig = TAKE_PTR(sig.data);
                p.sig_size = sig.size;
                p.sig_name = strdup(detached[i]);
                if (!p.sig_name)
                        return -ENOMEM;
                if (digests.data && !clearsign_is_signed(digests.data, digests.size)) {
                        r = lookup(n_digests, digests.data, digests.size, CHECKSUM_FORMAT_DIGESTS, filename, &c, ret_reason);
                        if (r < 0)
                                return r;
                        if (r > 0 && (r = plan_set_list(&p, n_digests, TAKE_PTR(digests.data), digests.size,
                                                        CHECKSUM_FORMAT_DIGESTS, &c)) < 0)
                                return r;
                }
                if (!p.have_checksum && sums.data) {
                        r = lookup("SHA256SUMS", sums.data, sums.size, CHECKSUM_FORMAT_SUMS, filename, &c, ret_reason);
                        if (r < 0)
                                return r;
                        if (r > 0 && (r = plan_set_list(&p, "SHA256SUMS", TAKE_PTR(sums.data), sums.size,
                                                        CHECKSUM_FORMAT_SUMS, &c)) < 0)
                                return r;
                }
                if (p.have_checksum)
                        p.description = strjoin(detached[i], " (detached signature) and ", p.checksum_source, " (",
                                                checksum_algo_to_string(p.checksum.algo), ")");
                else
                        p.description = strjoin(detached[i], " (detached signature)");
                return plan_finish(&p, ret);
        }
        return set_reason(ret_reason, -ENOKEY, "no signature found (tried SHA256SUMS.gpg, SHA256SUMS.asc, ", n_digests,
                          " clearsigned, .asc, .sig)");

}

int pull_verify_download(const PullVerifyPlan *plan, const Checksum *actual, int data_fd, const char *keyring,
                         char **ret_fingerprint, char **ret_reason) {
        if (plan->have_checksum) {
                if (!actual || actual->algo != plan->checksum.algo)
                        return -EINVAL;
                if (!checksum_equal(actual, &plan->checksum)) {
                        _cleanup_free_ char *want = checksum_to_hex(&plan->checksum), *got = checksum_to_hex(actual);
                        if (!want || !got)
                                return -ENOMEM;
                        _cleanup_free_ char *s = strjoin("checksum mismatch: ", plan->checksum_source, " says ", want);
                        return set_reason(ret_reason, -EBADMSG, s ?: "checksum mismatch", ", download has ", got);
                }
        }
        if (plan->sig) {
                _cleanup_(gpg_result_done) GpgResult g = {};
                int r = gpg_verify_detached(keyring, plan->sig, plan->sig_size, data_fd, &g);
                if (r < 0)
                        return gpg_reason(r, &g, plan->sig_name, ret_reason);
                if (ret_fingerprint)
                        *ret_fingerprint = TAKE_PTR(g.fingerprint);
        }
        return 0;
}

int pull_verify_sidecar(const PullVerifyPlan *plan, const char *sidecar_filename, const Checksum digests[],
                        char **ret_reason) {
        if (!plan->list || plan->list_format == CHECKSUM_FORMAT_SINGLE)
                return 0;
        Checksum want;
        int r = lookup(plan->list_name, plan->list, plan->list_size, plan->list_format, sidecar_filename, &want, ret_reason);
        if (r <= 0)
                return r;
        if (!checksum_equal(&want, &digests[want.algo]))
                return set_reason(ret_reason, -EBADMSG, sidecar_filename, ": checksum mismatch with ", plan->list_name);
        return 1;
}
