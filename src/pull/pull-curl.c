/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libcurl wrapper; libcurl is loaded with dlopen() before the first transfer. Untrusted input:
 * everything the server sends (status, headers, body). Header values are copied only up to
 * PULL_HEADER_VALUE_MAX; bodies are passed to the caller's sink and never interpreted here. */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dlopen-util.h"
#include "pull-curl.h"
#include "util.h"

/* libcurl, loaded by dlopen_libcurl() before the first transfer (see dlopen-util.h): the functions
 * this file calls. Called through these pointers, curl_easy_setopt() and curl_easy_getinfo() lose
 * the type checks of curl's macros of the same names: every value passed is of the type the
 * option takes (long, a pointer, a callback of curl's prototype). */
static typeof(curl_global_init) *sym_curl_global_init;
static typeof(curl_easy_init) *sym_curl_easy_init;
static typeof(curl_easy_setopt) *sym_curl_easy_setopt;
static typeof(curl_easy_getinfo) *sym_curl_easy_getinfo;
static typeof(curl_easy_perform) *sym_curl_easy_perform;
static typeof(curl_easy_cleanup) *sym_curl_easy_cleanup;
static typeof(curl_slist_append) *sym_curl_slist_append;
static typeof(curl_slist_free_all) *sym_curl_slist_free_all;

static const DlopenSymbol libcurl_symbols[] = {
        DLSYM(curl_global_init),
        DLSYM(curl_easy_init),
        DLSYM(curl_easy_setopt),
        DLSYM(curl_easy_getinfo),
        DLSYM(curl_easy_perform),
        DLSYM(curl_easy_cleanup),
        DLSYM(curl_slist_append),
        DLSYM(curl_slist_free_all),
        {},
};
static DlopenLibrary libcurl_library = DLOPEN_LIBRARY_INIT(LIBCURL_SONAME, libcurl_symbols);

int dlopen_libcurl(const char **ret_detail) {
        return dlopen_library(&libcurl_library, ret_detail);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void) {
        curl_init_result = sym_curl_global_init(CURL_GLOBAL_DEFAULT);
}

void pull_response_done(PullResponse *r) {
        if (!r)
                return;
        free(r->etag);
        free(r->last_modified);
        free(r->error);
        free(r->www_authenticate);
        free(r->content_type);
        free(r->docker_content_digest);
        free(r->location);
        free(r->range);
        *r = (PullResponse) { .content_length = UINT64_MAX };
}

bool pull_url_is_http(const char *url) {
        return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

typedef struct Transfer {
        const PullRequest *req;
        PullResponse *resp;
        CURL *curl;
        bool is_file;
        bool response_seen;  /* on_response called (or status refused) */
        int error;           /* why a callback stopped the transfer */
        uint64_t uploaded;   /* bytes of the request body handed to curl */
} Transfer;

/* Copies a header value without surrounding blanks; values over the limit are dropped (a server
 * sending a 2 KiB ETag gets no conditional requests, not a truncated one that could match). */
static char *header_value(const char *p, size_t n) {
        while (n > 0 && (*p == ' ' || *p == '\t')) {
                p++;
                n--;
        }
        while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
        if (n == 0 || n > PULL_HEADER_VALUE_MAX || memchr(p, 0, n))
                return NULL;
        return strndup(p, n);
}

static bool header_is(const char *buf, size_t n, const char *name, const char **ret_value, size_t *ret_len) {
        size_t l = strlen(name);
        if (n <= l || strncasecmp(buf, name, l) != 0 || buf[l] != ':')
                return false;
        *ret_value = buf + l + 1;
        *ret_len = n - l - 1;
        return true;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata) {
        Transfer *t = userdata;
        size_t n = size * nitems;
        const char *v;
        size_t vl;

        if (n >= 5 && strncasecmp(buf, "HTTP/", 5) == 0) {
                /* A new response (after a redirect or a 100 Continue): forget the previous headers. */
                free(t->resp->etag);
                free(t->resp->last_modified);
                t->resp->etag = t->resp->last_modified = NULL;
                t->resp->range_start = 0;
                free(t->resp->www_authenticate);
                free(t->resp->content_type);
                free(t->resp->docker_content_digest);
                t->resp->www_authenticate = t->resp->content_type = t->resp->docker_content_digest = NULL;
                free(t->resp->location);
                free(t->resp->range);
                t->resp->location = t->resp->range = NULL;
        } else if (header_is(buf, n, "location", &v, &vl)) {
                free(t->resp->location);
                t->resp->location = header_value(v, vl);
        } else if (header_is(buf, n, "range", &v, &vl)) {
                free(t->resp->range);
                t->resp->range = header_value(v, vl);
        } else if (header_is(buf, n, "www-authenticate", &v, &vl)) {
                free(t->resp->www_authenticate);
                t->resp->www_authenticate = header_value(v, vl);
        } else if (header_is(buf, n, "content-type", &v, &vl)) {
                free(t->resp->content_type);
                t->resp->content_type = header_value(v, vl);
        } else if (header_is(buf, n, "docker-content-digest", &v, &vl)) {
                free(t->resp->docker_content_digest);
                t->resp->docker_content_digest = header_value(v, vl);
        } else if (header_is(buf, n, "etag", &v, &vl)) {
                free(t->resp->etag);
                t->resp->etag = header_value(v, vl);
        } else if (header_is(buf, n, "last-modified", &v, &vl)) {
                free(t->resp->last_modified);
                t->resp->last_modified = header_value(v, vl);
        } else if (header_is(buf, n, "content-range", &v, &vl)) {
                _cleanup_free_ char *s = header_value(v, vl);
                unsigned long long start, end;
                if (s && sscanf(s, "bytes %llu-%llu/", &start, &end) == 2 && start <= end)
                        t->resp->range_start = start;
                else
                        t->resp->range_start = UINT64_MAX; /* unparsable: refused in the write callback */
        }
        return n;
}

static int transfer_begin(Transfer *t) {
        t->response_seen = true;
        long code = 0;
        (void) sym_curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
        if (t->is_file) {
                code = t->req->range_start > 0 ? 206 : 200;
                t->resp->range_start = t->req->range_start;
        }
        t->resp->status = code;
        curl_off_t cl = -1;
        if (sym_curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0)
                t->resp->content_length = (uint64_t) cl;
        if (code < 200 || code >= 300)
                return 0; /* not a body we want; the status decides the result */
        if (code == 206 && t->resp->range_start != t->req->range_start)
                return -EPROTO; /* a range we did not ask for */
        if (code != 206)
                t->resp->range_start = 0;
        if (t->req->on_response)
                return t->req->on_response(t->resp, t->req->userdata);
        return 0;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t n = size * nmemb;
        int r;

        if (!t->response_seen) {
                r = transfer_begin(t);
                if (r < 0) {
                        t->error = r;
                        return 0;
                }
        }
        if (t->resp->status < 200 || t->resp->status >= 300)
                return 0; /* an error page: stop reading it */
        if (t->req->max_body > 0 && (t->resp->body_bytes + n < t->resp->body_bytes ||
                                     t->resp->body_bytes + n > t->req->max_body)) {
                t->error = -EFBIG;
                return 0;
        }
        t->resp->body_bytes += n;
        if (t->req->on_data) {
                r = t->req->on_data(p, n, t->req->userdata);
                if (r < 0) {
                        t->error = r;
                        return 0;
                }
        }
        return n;
}

static size_t read_cb(char *p, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        const PullRequest *req = t->req;
        size_t n = size * nmemb;
        uint64_t left = req->upload_size - t->uploaded;
        if (n > left)
                n = (size_t) left;
        if (n == 0)
                return 0;
        if (req->upload_data)
                memcpy(p, (const uint8_t *) req->upload_data + t->uploaded, n);
        else {
                ssize_t k = pread(req->upload_fd, p, n, (off_t) (req->upload_offset + t->uploaded));
                if (k <= 0) {
                        t->error = k < 0 ? -errno : -EIO;
                        return CURL_READFUNC_ABORT;
                }
                n = (size_t) k;
        }
        t->uploaded += n;
        return n;
}

static int xferinfo_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        Transfer *t = userdata;
        if (interrupted()) {
                t->error = -EINTR;
                return 1;
        }
        return 0;
}

static int curlcode_to_errno(CURLcode c) {
        switch ((int) c) {
        case CURLE_OK:
                return 0;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return -ECONNRESET;
        case CURLE_FILE_COULDNT_READ_FILE:
        case CURLE_REMOTE_FILE_NOT_FOUND:
                return -ENOENT;
        case CURLE_TOO_MANY_REDIRECTS:
                return -ELOOP;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
                return -EPROTONOSUPPORT;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
                return -EKEYREJECTED;
        case CURLE_ABORTED_BY_CALLBACK:
                return -EINTR;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_BAD_DOWNLOAD_RESUME:
        case CURLE_RANGE_ERROR:
                return -ERANGE;
        default:
                return -EIO;
        }
}

int pull_curl_perform(const PullRequest *req, PullResponse *resp) {
        *resp = (PullResponse) { .content_length = UINT64_MAX };
        const char *detail;
        int r = dlopen_libcurl(&detail);
        if (r < 0) {
                resp->error = strdup(detail);
                return r;
        }
        pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return -EIO;

        CURL *c = sym_curl_easy_init();
        if (!c)
                return -ENOMEM;
        struct curl_slist *headers = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        Transfer t = {
                .req = req,
                .resp = resp,
                .curl = c,
                .is_file = strncasecmp(req->url, "file:", 5) == 0,
        };

#define SETOPT(opt, val)                                                        \
        do {                                                                    \
                if (sym_curl_easy_setopt(c, opt, val) != CURLE_OK) {                \
                        r = -EIO;                                               \
                        goto finish;                                            \
                }                                                               \
        } while (0)

        SETOPT(CURLOPT_URL, req->url);
        SETOPT(CURLOPT_PROTOCOLS_STR, "http,https,file");
        SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
        SETOPT(CURLOPT_MAXREDIRS, PULL_MAX_REDIRECTS);
        SETOPT(CURLOPT_NOSIGNAL, 1L);
        SETOPT(CURLOPT_USERAGENT, "cowpen/" PACKAGE_VERSION);
        SETOPT(CURLOPT_ERRORBUFFER, errbuf);
        SETOPT(CURLOPT_CONNECTTIMEOUT, req->connect_timeout_sec > 0 ? req->connect_timeout_sec : PULL_CONNECT_TIMEOUT_SEC);
        SETOPT(CURLOPT_LOW_SPEED_LIMIT, PULL_LOW_SPEED_LIMIT);
        SETOPT(CURLOPT_LOW_SPEED_TIME, req->low_speed_time_sec > 0 ? req->low_speed_time_sec : PULL_LOW_SPEED_TIME_SEC);
        SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
        SETOPT(CURLOPT_HEADERDATA, &t);
        SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
        SETOPT(CURLOPT_WRITEDATA, &t);
        SETOPT(CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
        SETOPT(CURLOPT_XFERINFODATA, &t);
        SETOPT(CURLOPT_NOPROGRESS, 0L);
        SETOPT(CURLOPT_BUFFERSIZE, 512L * 1024L);
        char range[32];
        if (req->range_start > 0) {
                /* CURLOPT_RANGE rather than RESUME_FROM: a 200 answer (If-Range did not match) is then
                 * a response for us to handle, not a curl error. */
                snprintf(range, sizeof(range), "%" PRIu64 "-", req->range_start);
                SETOPT(CURLOPT_RANGE, range);
        }

        const char *hdrs[][2] = {
                { "If-Range", req->range_start > 0 ? req->if_range : NULL },
                { "If-None-Match", req->if_none_match },
                { "If-Modified-Since", req->if_modified_since },
        };
        for (size_t i = 0; i < ELEMENTSOF(hdrs); i++) {
                if (!hdrs[i][1])
                        continue;
                /* Values come from our own metadata, which came from a server: no line breaks. */
                if (strpbrk(hdrs[i][1], "\r\n")) {
                        r = -EINVAL;
                        goto finish;
                }
                _cleanup_free_ char *h = strjoin(hdrs[i][0], ": ", hdrs[i][1]);
                struct curl_slist *n = h ? sym_curl_slist_append(headers, h) : NULL;
                if (!n) {
                        r = -ENOMEM;
                        goto finish;
                }
                headers = n;
        }
        for (const char *const *h = req->headers; h && *h; h++) {
                if (strpbrk(*h, "\r\n")) {
                        r = -EINVAL;
                        goto finish;
                }
                struct curl_slist *n = sym_curl_slist_append(headers, *h);
                if (!n) {
                        r = -ENOMEM;
                        goto finish;
                }
                headers = n;
        }
        if (req->method && strcasecmp(req->method, "HEAD") == 0)
                SETOPT(CURLOPT_NOBODY, 1L);
        else if (req->upload || (req->method && strcasecmp(req->method, "GET") != 0)) {
                /* A body (possibly empty) for POST, PUT and PATCH; no 100-continue round trip. */
                struct curl_slist *n = sym_curl_slist_append(headers, "Expect:");
                if (!n) {
                        r = -ENOMEM;
                        goto finish;
                }
                headers = n;
                SETOPT(CURLOPT_UPLOAD, 1L);
                SETOPT(CURLOPT_READFUNCTION, read_cb);
                SETOPT(CURLOPT_READDATA, &t);
                SETOPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t) (req->upload ? req->upload_size : 0));
                SETOPT(CURLOPT_CUSTOMREQUEST, req->method ?: "PUT");
                /* A redirect of an upload would need the body again. */
                SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
        }
        if (headers)
                SETOPT(CURLOPT_HTTPHEADER, headers);
        if (req->insecure) {
                SETOPT(CURLOPT_SSL_VERIFYPEER, 0L);
                SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (req->ca_blob) {
                struct curl_blob blob = { .data = (void *) req->ca_blob, .len = req->ca_blob_size,
                                          .flags = CURL_BLOB_COPY };
                SETOPT(CURLOPT_CAINFO_BLOB, &blob);
        }
#undef SETOPT

        CURLcode cc = sym_curl_easy_perform(c);
        if (cc == CURLE_OK && !t.response_seen) {
                /* No body at all (empty file, 304, HEAD-like answers). */
                int k = transfer_begin(&t);
                if (k < 0) {
                        r = k;
                        goto finish;
                }
        }
        if (t.error < 0)
                r = t.error;
        else if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && t.resp->status >= 300))
                r = curlcode_to_errno(cc);
        else if (resp->status == 404 || resp->status == 410)
                r = -ENOENT;
        else if (resp->status == 304 || (resp->status >= 200 && resp->status < 300))
                r = 0;
        else
                r = -EPROTO;
        if (r < 0 && cc != CURLE_OK && errbuf[0])
                resp->error = strdup(errbuf);

finish:
        sym_curl_slist_free_all(headers);
        sym_curl_easy_cleanup(c);
        return r;
}

typedef struct MemSink {
        char *buf;
        size_t size, allocated, max;
} MemSink;

static int mem_on_data(const void *p, size_t n, void *userdata) {
        MemSink *m = userdata;
        if (n > m->max - m->size)
                return -EFBIG;
        if (m->size + n + 1 > m->allocated) {
                size_t a = MAX(m->allocated * 2, m->size + n + 1);
                a = MIN(a, m->max + 1);
                char *b = realloc(m->buf, a);
                if (!b)
                        return -ENOMEM;
                m->buf = b;
                m->allocated = a;
        }
        memcpy(m->buf + m->size, p, n);
        m->size += n;
        return 0;
}

int pull_curl_fetch_memory(const char *url, size_t max, char **ret, size_t *ret_size, PullResponse *resp) {
        MemSink m = { .max = max };
        PullRequest req = {
                .url = url,
                .max_body = max,
                .on_data = mem_on_data,
                .userdata = &m,
        };
        int r = pull_curl_perform(&req, resp);
        if (r >= 0 && resp->status == 304)
                r = -EPROTO;
        if (r < 0) {
                free(m.buf);
                return r;
        }
        if (!m.buf && !(m.buf = malloc(1)))
                return -ENOMEM;
        m.buf[m.size] = 0;
        *ret = m.buf;
        if (ret_size)
                *ret_size = m.size;
        return 0;
}

bool pull_error_is_transient(int r, const PullResponse *resp) {
        switch (-r) {
        case ECONNREFUSED:
        case ETIMEDOUT:
        case ECONNRESET:
        case EHOSTUNREACH:
        case EIO:
                return true;
        case EPROTO:
                return resp && (resp->status >= 500 || resp->status == 429 || resp->status == 408);
        default:
                return false;
        }
}
