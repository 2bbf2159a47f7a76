/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* pull-tar / pull-raw: download an image over HTTP(S) (or from a file: URL), verify it against
 * what the publisher ships (checksum files, OpenPGP signatures), and import it while it arrives
 * (download, hashing, decoding and writing overlap). Nothing unverified becomes visible: the tree
 * is built under a hidden name and published only after every check passed. */

#include "image.h"
#include "macro.h"
#include "pull-checksum.h"

typedef enum PullVerify {
        PULL_VERIFY_NO,
        PULL_VERIFY_CHECKSUM,
        PULL_VERIFY_SIGNATURE,
        _PULL_VERIFY_MAX,
        _PULL_VERIFY_INVALID = -EINVAL,
} PullVerify;
PullVerify pull_verify_from_string(const char *s); /* or -EINVAL */
const char *pull_verify_to_string(PullVerify v);

typedef enum PullKind {
        PULL_TAR,
        PULL_RAW,
} PullKind;

typedef enum PullPhase {
        PULL_PHASE_VERIFY_SOURCES, /* fetching checksum and signature files */
        PULL_PHASE_DOWNLOAD,       /* downloading (and importing as it arrives) */
        PULL_PHASE_CACHED,         /* importing the cached download */
        PULL_PHASE_VERIFY,         /* checking the finished download */
        PULL_PHASE_DONE,
        _PULL_PHASE_MAX,
} PullPhase;
const char *pull_phase_to_string(PullPhase p);

typedef struct PullProgress {
        PullPhase phase;
        uint64_t done;   /* bytes of the image file available (resumed prefix included) */
        uint64_t total;  /* UINT64_MAX when unknown */
} PullProgress;

typedef struct PullOptions {
        PullVerify verify;
        bool have_checksum;      /* --checksum= */
        Checksum checksum;
        const char *keyring;     /* NULL: the first of gpg_default_keyrings that exists */
        char **mirrors;          /* other base URLs, tried in order after the URL's own */
        bool force;
        bool read_only;
        bool keep_download;
        unsigned retries;        /* attempts per base URL on transient errors; 0 = default */
        unsigned backoff_ms;     /* first retry delay, doubled each time; 0 = default */
        /* Called from the downloading thread, at most a few times per second, and at phase changes. */
        void (*progress)(const PullProgress *p, void *userdata);
        /* Notes for the user ("Verifying with …", "Resuming at …", "trying mirror …"). */
        void (*note)(const char *msg, void *userdata);
        void *userdata;
} PullOptions;

#define PULL_RETRIES_DEFAULT 3U
#define PULL_BACKOFF_MS_DEFAULT 250U

typedef struct PullResult {
        char *url;              /* the URL the image came from */
        char *verified_by;      /* what verified it, e.g. "SHA256SUMS (signed, SHA256SUMS.gpg)"; NULL with --verify=no */
        char *fingerprint;      /* the signing key, when a signature was checked */
        char *digest;           /* hex SHA-256 (or SHA-512 when that was checked) of the download */
        bool resumed;           /* continued a partial download */
        bool cached;            /* served from the download cache (304) */
        uint64_t bytes;         /* size of the download */
        uint64_t transferred;   /* body bytes received over the network in this run */
        char **sidecars;        /* pull-raw: suffixes published with the image */
        char **skipped;         /* pull-raw: sidecars found but not kept (unverifiable) */
        char **warnings;        /* pull-tar: what the import repaired or left out (import_warning_format()) */
} PullResult;
void pull_result_done(PullResult *r);

/* The image name a URL implies: its last path component without directory, query and the
 * suffixes .tar, .tgz, .tar.*, .raw, .img, .xz, .gz, .bz2, .zst. -EINVAL when none is left. */
int pull_name_from_url(const char *url, char **ret);

/* Pulls url into image name of root. On failure returns -errno and, when it can say more than
 * strerror, *ret_reason (a phrase like "SHA256SUMS.gpg: signed by key …, which is not in the
 * keyring", "checksum mismatch: …" or "libcurl.so.4 is not installed (needed to download)": a
 * library that cannot be loaded is -ELIBACC/-ELIBBAD, see dlopen-util.h). */
int pull_image(ImageRoot *root, PullKind kind, const char *url, const char *name, const PullOptions *opts,
               PullResult *ret, char **ret_reason);
