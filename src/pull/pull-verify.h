/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which verification material a pull uses, by what the publisher ships next to the file, tried
 * in this order (the first usable one wins; a found but failing signature is final):
 *   checksum mode:  FILE.sha256, SHA256SUMS, FILE.DIGESTS
 *   signature mode: SHA256SUMS + SHA256SUMS.gpg|.asc, FILE.DIGESTS clearsigned,
 *                   FILE.asc|FILE.sig detached over the file (plus any checksum file as extra). */

#include "diag.h"
#include "pull-checksum.h"
#include "pull.h"

/* A pull's Diag holds the detail of the last failure: a fetch that failed and was retried leaves
 * one a later failure replaces, and a failure that has nothing to add keeps it (the URL and HTTP
 * status of the fetch that broke). pull_fail() records r with object and cause (format may be
 * NULL) in place of what diag held. Returns r. */
int pull_fail(Diag *diag, int r, const char *object, const char *format, ...) _printf_(4, 5);

/* Fetches url into memory (at most max bytes): 0, -ENOENT when the server does not have it, or
 * another error (after the caller's retries). */
typedef int (*PullFetchFn)(const char *url, size_t max, char **ret, size_t *ret_size, void *userdata);

typedef struct PullVerifyPlan {
        bool have_checksum;
        Checksum checksum;            /* the download must hash to this */
        char *checksum_source;        /* the file it came from */
        char *list;                   /* the trusted text of a checksum list, for sidecars (or NULL) */
        size_t list_size;
        ChecksumFormat list_format;
        char *list_name;
        void *sig;                    /* detached signature over the download, to check at the end */
        size_t sig_size;
        char *sig_name;
        char *fingerprint;            /* of the key that signed the checksum list */
        char *description;            /* what verified it, for the user */
} PullVerifyPlan;
void pull_verify_plan_done(PullVerifyPlan *p);

/* Fetches and checks (signatures over checksum files are checked here) the verification material
 * for base/filename. -ENOKEY when mode asks for something the server does not ship, -EBADMSG for a
 * bad signature or malformed file (the file is the object), other errors from fetch (which may
 * have recorded its own detail in diag). */
int pull_verify_plan(const char *base, const char *filename, PullVerify mode, const char *keyring, PullFetchFn fetch,
                     void *userdata, PullVerifyPlan *ret, Diag *diag);

/* Checks the finished download: digest (of the plan's algorithm) and detached signature over
 * data_fd. Sets *ret_fingerprint when a detached signature was checked. -EBADMSG ("checksum
 * mismatch: …", or the signature file and what gpgv said) in diag when they do not match. */
int pull_verify_download(const PullVerifyPlan *plan, const Checksum *actual, int data_fd, const char *keyring,
                         char **ret_fingerprint, Diag *diag);

/* Checks a sidecar, given its digests (indexed by ChecksumAlgo), against the plan's checksum list:
 * 1 listed and matching, 0 not verifiable (not listed, or no list), -EBADMSG (the sidecar is the
 * object in diag) when listed with another digest. */
int pull_verify_sidecar(const PullVerifyPlan *plan, const char *sidecar_filename, const Checksum digests[],
                        Diag *diag);

/* Digest of a memory buffer. */
int checksum_memory(ChecksumAlgo algo, const void *p, size_t n, Checksum *ret);
