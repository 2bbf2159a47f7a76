/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* HTTP(S)/file transfers: the one wrapper around libcurl (curl.h appears only in pull-curl.c, which
 * loads libcurl with dlopen() when first needed). Everything a server sends is untrusted: headers
 * are size-limited and copied, bodies go to the caller's sink, which decides what to keep. */

#include "macro.h"

/* Named limits on what a server can make us hold. */
#define PULL_HEADER_VALUE_MAX 1024U          /* ETag, Last-Modified values we keep */
#define PULL_CONNECT_TIMEOUT_SEC 30L
#define PULL_LOW_SPEED_LIMIT 100L            /* bytes/s … */
#define PULL_LOW_SPEED_TIME_SEC 60L          /* … below which for this long aborts the transfer */
#define PULL_MAX_REDIRECTS 10L

typedef struct PullResponse {
        long status;            /* HTTP status; file:// transfers report 200 (206 when resumed) */
        char *etag;             /* NULL when the server sent none */
        char *last_modified;
        uint64_t content_length; /* of this response's body, UINT64_MAX when unknown */
        uint64_t range_start;   /* first byte of the body within the file (206), else 0 */
        uint64_t body_bytes;    /* bytes of body received */
        char *error;            /* curl's message for a failed transfer */
        /* Registry clients (oci-registry.c): headers kept like etag (bounded, NULL when absent). */
        char *www_authenticate;
        char *content_type;
        char *docker_content_digest;
        char *location;         /* Location (uploads: where the next request goes) */
        char *range;            /* Range of an upload's answer ("0-1234"): bytes the registry has */
} PullResponse;

void pull_response_done(PullResponse *r);

/* Loads libcurl (once; dlopen-util.h): 0, or -ELIBACC/-ELIBBAD with *ret_detail saying what is
 * missing. pull_curl_perform() calls it and fails with its error (and the detail in resp->error). */
int dlopen_libcurl(const char **ret_detail);

typedef struct PullRequest {
        const char *url;
        uint64_t range_start;       /* > 0: ask for bytes range_start- */
        const char *if_range;       /* with range_start: ETag or Last-Modified the partial came from */
        const char *if_none_match;  /* ETag of a cached copy: a 304 means it is still current */
        const char *if_modified_since;
        uint64_t max_body;          /* abort (-EFBIG) past this many body bytes; 0 = no limit */
        /* Called once, before the first body byte of a 2xx response (or at the end of one without
         * a body). Returning < 0 aborts the transfer with that error. */
        int (*on_response)(const PullResponse *resp, void *userdata);
        /* Body bytes of a 2xx response. Returning < 0 aborts the transfer with that error. */
        int (*on_data)(const void *p, size_t n, void *userdata);
        void *userdata;
        /* More request headers, "Name: value" each, NULL-terminated (no line breaks), or NULL. */
        const char *const *headers;
        bool insecure;              /* no TLS certificate or host name check (--tls-verify=no) */
        const void *ca_blob;        /* PEM CA certificates to trust instead of the default file */
        size_t ca_blob_size;
        /* Another method than GET ("HEAD", "POST", "PUT", "PATCH"), or NULL. HEAD asks for no body. */
        const char *method;
        /* With upload: the request body is upload_size bytes, from upload_data, else read from
         * upload_fd at upload_offset (pread). */
        bool upload;
        const void *upload_data;
        int upload_fd;
        uint64_t upload_offset, upload_size;
        /* Overrides of the named timeouts (tests); 0 = default. */
        long connect_timeout_sec, low_speed_time_sec;
} PullRequest;

/* Performs the request. Returns 0 for a 2xx or 304 response whose body was delivered completely
 * (resp->status tells which), -ENOENT for 404/410 or a missing file:// file, -EPROTO for other
 * HTTP errors (status in resp), -EINTR when interrupted(), the callbacks' errors, and a
 * -errno describing a network failure (-ECONNREFUSED, -ETIMEDOUT, -ECONNRESET, -EHOSTUNREACH, …).
 * *resp is filled in all cases (call pull_response_done()). */
int pull_curl_perform(const PullRequest *req, PullResponse *resp);

/* Fetches a whole (small) body into memory, refusing more than max bytes (-EFBIG). NUL-terminated. */
int pull_curl_fetch_memory(const char *url, size_t max, char **ret, size_t *ret_size, PullResponse *resp);

/* Whether an error from pull_curl_perform() is worth a retry (connection trouble, 5xx, 429, 408). */
bool pull_error_is_transient(int r, const PullResponse *resp);

/* Whether the URL is http(s) (resume and caching make sense) rather than file. */
bool pull_url_is_http(const char *url);
