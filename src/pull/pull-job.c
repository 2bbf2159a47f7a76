/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pull job: mirrors and retries, the download into the hidden partial file, and the stream
 * from that file into the importer while it grows. Untrusted input: the server's responses (status
 * and validators via pull-curl.c, the body, which is only hashed, stored and handed to the
 * importer; nothing of it is published before pull_verify_download() accepted it).
 *
 * Threads: the calling thread runs curl and appends each received chunk to the partial file; a
 * feeder thread reads the file as it grows, hashes it and writes it into a pipe; the importer
 * thread runs tar_import_run()/raw_import_run() on the pipe's read end. The file is the one source
 * of the stream, so a resumed prefix, a cached download (304) and fresh bytes reach the hash and
 * the importer the same way. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dlopen-util.h"
#include "fd-util.h"
#include "hash-util.h"
#include "import-space.h"
#include "pull-curl.h"
#include "pull-download.h"
#include "pull-gpg.h"
#include "pull-url.h"
#include "pull-verify.h"
#include "pull.h"
#include "string-table.h"
#include "tar-archive.h"
#include "util.h"

#define FEED_CHUNK (1024U * 1024U)
#define SIDECAR_SIZE_MAX (1024U * 1024U)                 /* .nspawn, .roothash, .roothash.p7s */
#define SIDECAR_VERITY_SIZE_MAX (16ULL * 1024U * 1024U * 1024U) /* .verity hash tree */
#define PROGRESS_INTERVAL_NS (200ULL * 1000U * 1000U)

static const char *const pull_verify_table[_PULL_VERIFY_MAX] = {
        [PULL_VERIFY_NO] = "no",
        [PULL_VERIFY_CHECKSUM] = "checksum",
        [PULL_VERIFY_SIGNATURE] = "signature",
};
DEFINE_STRING_TABLE_LOOKUP(pull_verify, PullVerify);

static const char *const pull_phase_table[_PULL_PHASE_MAX] = {
        [PULL_PHASE_VERIFY_SOURCES] = "verify-sources",
        [PULL_PHASE_DOWNLOAD] = "download",
        [PULL_PHASE_CACHED] = "cached",
        [PULL_PHASE_VERIFY] = "verify",
        [PULL_PHASE_DONE] = "done",
};
DEFINE_STRING_TABLE_LOOKUP_TO_STRING(pull_phase, PullPhase);

void pull_result_done(PullResult *r) {
        free(r->url);
        free(r->verified_by);
        free(r->fingerprint);
        free(r->digest);
        strv_free(r->sidecars);
        strv_free(r->skipped);
        free(r->moved_up);
        *r = (PullResult) {};
}

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* Sleeps, returning -EINTR early when interrupted. */
static int sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0) {
                if (errno != EINTR)
                        return negative_errno();
                if (interrupted())
                        return -EINTR;
        }
        return interrupted() ? -EINTR : 0;
}

static void block_signals_in_thread(void) {
        /* Worker threads leave SIGINT/SIGTERM to the main thread, and get EPIPE instead of SIGPIPE
         * (a thread-directed SIGPIPE stays pending on the blocked thread and dies with it). */
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGPIPE);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &ss, NULL);
}

typedef struct Importer {
        PullKind kind;
        TarImport *tar;
        RawImport *raw;
} Importer;

static void importer_done(Importer *im) {
        im->tar = tar_import_free(im->tar);
        im->raw = raw_import_free(im->raw);
}

static int importer_new(Importer *im, ImageRoot *root, const char *name, const PullOptions *o) {
        ImportOptions io = { .force = o->force, .read_only = o->read_only, .keep_nesting = o->keep_nesting };
        if (im->kind == PULL_TAR)
                return tar_import_new(root, name, &io, &im->tar);
        return raw_import_new(root, name, &io, &im->raw);
}

/* The stream from the download file to the importer. */
typedef struct Stream {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int file_fd;          /* borrowed */
        uint64_t committed;   /* bytes of the file that may be fed */
        bool started, done, abort;
        int pipe_w;
        uint64_t fed;
        bool pipe_closed;     /* the importer stopped reading (finished or failed) */
        HashContext *md[_CHECKSUM_ALGO_MAX];
        int feed_error;

        Importer *importer;
        int pipe_r;
        int import_result;
        bool import_finished;
        Diag import_diag;     /* the importer's: why it failed, what it repaired */

        pthread_t feeder_thread, import_thread;
        bool threads_running;
} Stream;

static void *feeder_main(void *userdata) {
        Stream *s = userdata;
        block_signals_in_thread();
        _cleanup_free_ uint8_t *buf = malloc(FEED_CHUNK);
        int r = buf ? 0 : -ENOMEM;
        while (r >= 0) {
                pthread_mutex_lock(&s->lock);
                while (s->fed >= s->committed && !s->done && !s->abort)
                        pthread_cond_wait(&s->cond, &s->lock);
                bool abort = s->abort, done = s->done;
                uint64_t avail = s->committed - s->fed;
                pthread_mutex_unlock(&s->lock);
                if (abort)
                        break;
                if (avail == 0) {
                        if (done)
                                break;
                        continue;
                }
                size_t n = (size_t) MIN(avail, (uint64_t) FEED_CHUNK);
                ssize_t k = pread(s->file_fd, buf, n, (off_t) s->fed);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        break;
                }
                if (k == 0) {
                        r = -EIO; /* the file is shorter than what was written to it */
                        break;
                }
                for (int a = 0; a < _CHECKSUM_ALGO_MAX; a++)
                        if (s->md[a] && hash_context_update(s->md[a], buf, (size_t) k) < 0)
                                r = -EIO;
                if (!s->pipe_closed) {
                        int w = loop_write(s->pipe_w, buf, (size_t) k);
                        if (w == -EPIPE)
                                s->pipe_closed = true; /* keep hashing: the digest covers the whole file */
                        else if (w < 0)
                                r = w;
                }
                pthread_mutex_lock(&s->lock);
                s->fed += (uint64_t) k;
                pthread_mutex_unlock(&s->lock);
        }
        s->pipe_w = safe_close(s->pipe_w);
        pthread_mutex_lock(&s->lock);
        s->feed_error = r;
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

static void *import_main(void *userdata) {
        Stream *s = userdata;
        block_signals_in_thread();
        int r;
        /* import_diag is the thread's until import_finished is set (under the lock). */
        if (s->importer->kind == PULL_TAR)
                r = tar_import_run(s->importer->tar, s->pipe_r, &s->import_diag);
        else
                r = raw_import_run(s->importer->raw, s->pipe_r, &s->import_diag);
        s->pipe_r = safe_close(s->pipe_r);
        pthread_mutex_lock(&s->lock);
        s->import_result = r;
        s->import_finished = true;
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

static int stream_init(Stream *s, Importer *im, bool want_sha512) {
        *s = (Stream) { .file_fd = -EBADF, .pipe_w = -EBADF, .pipe_r = -EBADF, .importer = im };
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        if (hash_context_new(HASH_SHA256, &s->md[CHECKSUM_SHA256]) < 0)
                return -ENOMEM;
        if (want_sha512 && hash_context_new(HASH_SHA512, &s->md[CHECKSUM_SHA512]) < 0)
                return -ENOMEM;
        return 0;
}

/* Before the stream starts: whether it also computes SHA-512. */
static int stream_set_sha512(Stream *s, bool want) {
        if (s->started)
                return -EBUSY;
        s->md[CHECKSUM_SHA512] = hash_context_free(s->md[CHECKSUM_SHA512]);
        if (!want)
                return 0;
        if (hash_context_new(HASH_SHA512, &s->md[CHECKSUM_SHA512]) < 0)
                return -ENOMEM;
        return 0;
}

static int stream_start(Stream *s, int file_fd, uint64_t committed) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        /* A larger pipe keeps the importer from waiting on the feeder for every 64 KiB. */
        (void) fcntl(p[1], F_SETPIPE_SZ, 1024 * 1024);
        s->pipe_r = p[0];
        s->pipe_w = p[1];
        s->file_fd = file_fd;
        s->committed = committed;
        s->started = true;
        if (pthread_create(&s->import_thread, NULL, import_main, s) != 0) {
                s->pipe_r = safe_close(s->pipe_r);
                s->pipe_w = safe_close(s->pipe_w);
                return -EAGAIN;
        }
        if (pthread_create(&s->feeder_thread, NULL, feeder_main, s) != 0) {
                s->pipe_w = safe_close(s->pipe_w); /* the importer sees EOF */
                pthread_join(s->import_thread, NULL);
                return -EAGAIN;
        }
        s->threads_running = true;
        return 0;
}

static void stream_commit(Stream *s, uint64_t committed) {
        pthread_mutex_lock(&s->lock);
        s->committed = committed;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

/* Ends the stream: with ok, feeds the rest; else aborts. Joins both threads. Returns the first
 * error of feeder and importer. */
static int stream_finish(Stream *s, bool ok) {
        if (!s->threads_running)
                return ok ? -EIO : 0;
        pthread_mutex_lock(&s->lock);
        if (ok)
                s->done = true;
        else
                s->abort = true;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->feeder_thread, NULL);
        pthread_join(s->import_thread, NULL);
        s->threads_running = false;
        if (s->feed_error < 0)
                return s->feed_error;
        return s->import_result;
}

static int stream_importer_failed(Stream *s) {
        pthread_mutex_lock(&s->lock);
        int r = s->import_finished && s->import_result < 0 ? s->import_result : 0;
        pthread_mutex_unlock(&s->lock);
        return r;
}

static void stream_done(Stream *s) {
        if (s->threads_running)
                (void) stream_finish(s, false);
        for (int a = 0; a < _CHECKSUM_ALGO_MAX; a++)
                hash_context_free(s->md[a]);
        safe_close(s->pipe_r);
        safe_close(s->pipe_w);
        diag_done(&s->import_diag);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
}

static int stream_digest(Stream *s, ChecksumAlgo a, Checksum *ret) {
        if (!s->md[a])
                return -EINVAL;
        Checksum c = { .algo = a };
        if (hash_context_final(s->md[a], c.digest) < 0)
                return -EIO;
        *ret = c;
        return 0;
}

/* The whole job's state. */
typedef struct Job {
        ImageRoot *root;
        PullKind kind;
        const char *name;
        const PullOptions *o;
        const char *keyring;
        Importer importer;
        PullDownload *dl;
        Stream stream;
        bool stream_inited;
        bool want_sha512;
        uint64_t total;          /* of the file, UINT64_MAX unknown */
        uint64_t transferred;
        uint64_t last_progress;
        PullPhase phase;
        bool resumed, cached;
        bool complete_on_import_error;
        uint64_t free_at_start;  /* bytes free in the image root when the pull began */
        Diag *diag;              /* the caller's (may be NULL): see pull_fail() */
} Job;

static void job_note(Job *j, const char *a, const char *b, const char *c) {
        if (!j->o->note)
                return;
        _cleanup_free_ char *s = strjoin(a, b ?: "", c ?: "");
        if (s)
                j->o->note(s, j->o->userdata);
}

static void job_progress(Job *j, bool force) {
        if (!j->o->progress)
                return;
        uint64_t t = now_ns();
        if (!force && t - j->last_progress < PROGRESS_INTERVAL_NS)
                return;
        j->last_progress = t;
        PullProgress p = {
                .phase = j->phase,
                .done = j->dl ? (j->cached ? j->dl->cache_size : j->dl->size) : 0,
                .total = j->total,
        };
        j->o->progress(&p, j->o->userdata);
}

static int on_response(const PullResponse *resp, void *userdata) {
        Job *j = userdata;
        PullDownload *d = j->dl;
        int r;
        if (resp->status == 206) {
                /* The server continues where the partial ends (If-Range matched). */
                if (!j->stream.started)
                        j->resumed = d->size > 0;
                r = pull_download_begin(d, false, resp->etag, resp->last_modified);
        } else {
                /* The whole file again. If the importer already has bytes of an older attempt,
                 * start over with a new importer. */
                if (j->stream.started && d->size > 0)
                        return -ESTALE;
                r = pull_download_begin(d, true, resp->etag, resp->last_modified);
        }
        if (r < 0)
                return r;
        j->total = resp->content_length != UINT64_MAX ? resp->range_start + resp->content_length : UINT64_MAX;
        if (!j->stream.started) {
                r = stream_start(&j->stream, d->fd, d->size);
                if (r < 0)
                        return r;
        }
        job_progress(j, true);
        return 0;
}

static int on_data(const void *p, size_t n, void *userdata) {
        Job *j = userdata;
        int r = stream_importer_failed(&j->stream);
        /* Out of space the download stops too: it would only fill the file system further. */
        if (r < 0 && (!j->complete_on_import_error || import_error_is_space(r)))
                return r;
        r = pull_download_append(j->dl, p, n);
        if (r < 0)
                return r;
        j->transferred += n;
        stream_commit(&j->stream, j->dl->size);
        job_progress(j, false);
        return 0;
}

/* Network trouble worth another attempt or the next mirror. */
static bool error_is_transient(int r) {
        switch (-r) {
        case ECONNREFUSED:
        case ETIMEDOUT:
        case ECONNRESET:
        case EHOSTUNREACH:
        case ENETUNREACH:
        case EIO:
        case EREMOTEIO:
                return true;
        default:
                return false;
        }
}

static void set_status_reason(Job *j, const char *url, const PullResponse *resp, int r) {
        if (r == -EPROTO && resp->status > 0)
                (void) pull_fail(j->diag, r, url, "HTTP status %ld", resp->status);
        else if (r == -ENOENT)
                (void) pull_fail(j->diag, r, url, "not found on the server");
        else if (r < 0 && r != -EINTR && resp->error)
                (void) pull_fail(j->diag, r, url, "%s", resp->error);
}

static int fetch_with_retry(const char *url, size_t max, char **ret, size_t *ret_size, void *userdata) {
        Job *j = userdata;
        unsigned attempts = j->o->retries ?: PULL_RETRIES_DEFAULT, backoff = j->o->backoff_ms ?: PULL_BACKOFF_MS_DEFAULT;
        int r = -EIO;
        for (unsigned a = 0; a < attempts; a++) {
                if (a > 0 && (r = sleep_ms(backoff << (a - 1))) < 0)
                        return r;
                PullResponse resp;
                r = pull_curl_fetch_memory(url, max, ret, ret_size, &resp);
                bool transient = r < 0 && pull_error_is_transient(r, &resp);
                if (r != -ENOENT)
                        set_status_reason(j, url, &resp, r);
                pull_response_done(&resp);
                if (transient)
                        r = r == -EPROTO ? -EREMOTEIO : r;
                if (r >= 0 || !transient)
                        return r;
        }
        return r;
}

/* If-Range needs a strong validator: a strong ETag, else Last-Modified (RFC 9110 13.1.5). */
static const char *if_range_validator(const PullMeta *m) {
        if (m->etag && !startswith(m->etag, "W/"))
                return m->etag;
        return m->last_modified;
}

/* One request for the image file. 0 when the body is complete (or 304 with the cache). */
static int download_once(Job *j, const char *url) {
        PullDownload *d = j->dl;
        bool http = pull_url_is_http(url);
        PullRequest req = {
                .url = url,
                .on_response = on_response,
                .on_data = on_data,
                .userdata = j,
        };
        if (http && d->cache_fd >= 0 && !j->stream.started && (d->cache.etag || d->cache.last_modified)) {
                req.if_none_match = d->cache.etag;
                req.if_modified_since = d->cache.etag ? NULL : d->cache.last_modified;
        } else if (http && d->fd >= 0 && d->size > 0 && if_range_validator(&d->partial)) {
                /* Resume from where the partial ends, if it is still the same file. */
                req.range_start = d->size;
                req.if_range = if_range_validator(&d->partial);
                if (!j->stream.started)
                        job_note(j, "Resuming the partial download of ", url, NULL);
        }

        PullResponse resp;
        int r = pull_curl_perform(&req, &resp);
        if (r >= 0 && resp.status == 304) {
                if (!req.if_none_match && !req.if_modified_since)
                        r = pull_fail(j->diag, -EPROTO, url, "unexpected 304 Not Modified");
                else {
                        j->cached = true;
                        j->phase = PULL_PHASE_CACHED;
                        j->total = d->cache_size;
                        job_note(j, "Not modified on the server: using the cached download of ", url, NULL);
                        r = stream_start(&j->stream, d->cache_fd, d->cache_size);
                }
        } else if (r == -EPROTO && resp.status == 416 && req.range_start > 0) {
                /* The partial is not a prefix the server can continue: start over. */
                r = pull_download_discard(d);
                if (r >= 0)
                        r = -EAGAIN;
        } else if (r < 0) {
                set_status_reason(j, url, &resp, r);
                if (pull_error_is_transient(r, &resp))
                        r = r == -EPROTO ? -EREMOTEIO : r;
        } else if (!j->stream.started)
                r = -EPROTO;
        pull_response_done(&resp);
        return r;
}

static int job_reset_import(Job *j) {
        if (j->stream_inited) {
                stream_done(&j->stream);
                j->stream_inited = false;
        }
        importer_done(&j->importer);
        int r = importer_new(&j->importer, j->root, j->name, j->o);
        if (r < 0)
                return r;
        r = stream_init(&j->stream, &j->importer, j->want_sha512);
        if (r < 0)
                return r;
        j->stream_inited = true;
        j->resumed = j->cached = false;
        j->transferred = 0;
        return 0;
}

/* Downloads url with retries (each continuing where the last stopped, when the server can). */
static int transfer(Job *j, const char *url) {
        unsigned attempts = j->o->retries ?: PULL_RETRIES_DEFAULT, backoff = j->o->backoff_ms ?: PULL_BACKOFF_MS_DEFAULT;
        int r = -EIO;
        j->phase = PULL_PHASE_DOWNLOAD;
        for (unsigned a = 0; a < attempts; a++) {
                if (a > 0) {
                        job_note(j, "Retrying ", url, NULL);
                        if ((r = sleep_ms(backoff << (a - 1))) < 0)
                                return r;
                }
                r = download_once(j, url);
                if (r >= 0)
                        return 0;
                if (r == -ESTALE) {
                        /* The file changed on the server between attempts: start over. */
                        job_note(j, "The file changed on the server, starting over: ", url, NULL);
                        if ((r = pull_download_discard(j->dl)) < 0 || (r = job_reset_import(j)) < 0)
                                return r;
                        continue;
                }
                if (r == -EAGAIN)
                        continue;
                if (!error_is_transient(r))
                        return r;
        }
        return r == -EAGAIN || r == -ESTALE ? -EREMOTEIO : r;
}

/* Sidecars of a raw image (pull-raw). */
typedef struct SidecarSink {
        int fd;
        HashContext *md[_CHECKSUM_ALGO_MAX];
} SidecarSink;

static int sidecar_on_data(const void *p, size_t n, void *userdata) {
        SidecarSink *s = userdata;
        for (int a = 0; a < _CHECKSUM_ALGO_MAX; a++)
                if (hash_context_update(s->md[a], p, n) < 0)
                        return -EIO;
        return loop_write(s->fd, p, n);
}

static int fetch_sidecar(Job *j, const char *url, uint64_t max, int *ret_fd, Checksum digests[]) {
        unsigned attempts = j->o->retries ?: PULL_RETRIES_DEFAULT, backoff = j->o->backoff_ms ?: PULL_BACKOFF_MS_DEFAULT;
        int r = -EIO;
        for (unsigned a = 0; a < attempts; a++) {
                if (a > 0 && (r = sleep_ms(backoff << (a - 1))) < 0)
                        return r;
                SidecarSink s = { .fd = -EBADF };
                /* An unnamed file in the image root: nothing to clean up if we die. */
                s.fd = openat(j->root->fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                if (s.fd < 0)
                        return negative_errno();
                for (int k = 0; k < _CHECKSUM_ALGO_MAX; k++)
                        if (hash_context_new(k == CHECKSUM_SHA512 ? HASH_SHA512 : HASH_SHA256, &s.md[k]) < 0)
                                r = -ENOMEM;
                PullResponse resp = {};
                if (r != -ENOMEM) {
                        PullRequest req = { .url = url, .max_body = max, .on_data = sidecar_on_data, .userdata = &s };
                        r = pull_curl_perform(&req, &resp);
                        if (r >= 0 && resp.status == 304)
                                r = -EPROTO;
                }
                for (int k = 0; k < _CHECKSUM_ALGO_MAX && r >= 0; k++) {
                        digests[k].algo = (ChecksumAlgo) k;
                        if (hash_context_final(s.md[k], digests[k].digest) < 0)
                                r = -EIO;
                }
                for (int k = 0; k < _CHECKSUM_ALGO_MAX; k++)
                        hash_context_free(s.md[k]);
                bool transient = r < 0 && pull_error_is_transient(r, &resp);
                if (r < 0 && r != -ENOENT)
                        set_status_reason(j, url, &resp, r);
                pull_response_done(&resp);
                if (r >= 0) {
                        *ret_fd = s.fd;
                        return 0;
                }
                safe_close(s.fd);
                if (!transient)
                        return r;
                r = r == -EPROTO ? -EREMOTEIO : r;
        }
        return r;
}

static int job_sidecars(Job *j, const char *base, const char *filename, const PullVerifyPlan *plan, PullResult *res) {
        static const char *const suffixes[] = { ".nspawn", ".roothash", ".roothash.p7s", ".verity" };
        _cleanup_free_ char *stem = pull_sidecar_stem(filename);
        if (!stem)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                _cleanup_free_ char *sname = strjoin(stem, suffixes[i]), *url = NULL;
                if (!sname || !(url = pull_url_join(base, sname)))
                        return -ENOMEM;
                _cleanup_close_ int fd = -EBADF;
                Checksum digests[_CHECKSUM_ALGO_MAX];
                uint64_t max = streq(suffixes[i], ".verity") ? SIDECAR_VERITY_SIZE_MAX : SIDECAR_SIZE_MAX;
                int r = fetch_sidecar(j, url, max, &fd, digests);
                if (r == -ENOENT)
                        continue; /* the server does not have it: fine */
                if (r == -EFBIG)
                        return pull_fail(j->diag, r, sname, "too large");
                if (r < 0)
                        return r;
                if (j->o->verify != PULL_VERIFY_NO) {
                        r = pull_verify_sidecar(plan, sname, digests, j->diag);
                        if (r < 0)
                                return r;
                        if (r == 0) {
                                job_note(j, "Not keeping ", sname, ": no verified checksum lists it");
                                if (strv_extend(&res->skipped, suffixes[i]) < 0)
                                        return -ENOMEM;
                                continue;
                        }
                }
                if (lseek(fd, 0, SEEK_SET) < 0)
                        return negative_errno();
                r = raw_import_add_sidecar(j->importer.raw, suffixes[i], fd);
                if (r < 0)
                        return pull_fail(j->diag, r, sname, "cannot store it");
                if (strv_extend(&res->sidecars, suffixes[i]) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The file system of the image root filled, under the download file or the image (both are
 * there): which, how large the download is when the server said so, and what was written. */
static int job_space_error(Job *j, int r) {
        char t[SPACE_SIZE_MAX], d[SPACE_SIZE_MAX], w[SPACE_SIZE_MAX], f[SPACE_SIZE_MAX];
        uint64_t downloaded = j->dl ? (j->cached ? j->dl->cache_size : j->dl->size) : 0;
        uint64_t written = j->kind == PULL_TAR ? (j->importer.tar ? tar_import_written(j->importer.tar) : 0)
                                               : (j->importer.raw ? raw_import_written(j->importer.raw) : 0);
        char total[SPACE_SIZE_MAX + 64] = "";
        if (j->total != UINT64_MAX && !j->cached)
                snprintf(total, sizeof(total), "the download alone needs %s and the image room besides; ",
                         space_size(t, sizeof(t), j->total));
        char was_free[SPACE_SIZE_MAX + 16] = "";
        if (j->free_at_start != UINT64_MAX)
                snprintf(was_free, sizeof(was_free), ", %s was free", space_size(f, sizeof(f), j->free_at_start));
        return import_space_fail(j->diag, r, j->root->fd, j->root->path,
                                 "%s%s downloaded and %s of the image written before the file system filled%s", total,
                                 j->cached ? "nothing" : space_size(d, sizeof(d), downloaded), space_size(w, sizeof(w), written),
                                 was_free);
}

/* The importer's failure r (once it finished), with what it said about it. */
static int job_import_error(Job *j, int r) {
        if (import_error_is_space(r))
                return job_space_error(j, r);
        const Diag *d = &j->stream.import_diag;
        const char *why = d->cause;
        if (why && dlopen_error_is_library(r))
                return pull_fail(j->diag, r, NULL, "%s", why); /* about us, not the archive */
        if (d->object) {
                _cleanup_free_ char *e = strjoin("archive entry \"", d->object, "\"");
                return pull_fail(j->diag, r, e ?: "archive entry", why ? "%s" : NULL, why);
        }
        if (why)
                return pull_fail(j->diag, r, "archive", "%s", why);
        return r;
}

static void job_done(Job *j) {
        if (j->stream_inited)
                stream_done(&j->stream);
        importer_done(&j->importer);
        j->dl = pull_download_free(j->dl);
}

/* One base URL: verification material, download, checks, publish. */
static int job_run_base(Job *j, const char *base, const char *url, const char *filename, PullResult *res) {
        _cleanup_(pull_verify_plan_done) PullVerifyPlan plan = {};
        _cleanup_free_ char *fpr = NULL;
        int r;

        j->phase = PULL_PHASE_VERIFY_SOURCES;
        job_progress(j, true);
        if (j->o->verify == PULL_VERIFY_CHECKSUM && j->o->have_checksum)
                ; /* --checksum= is the checksum asked for: nothing to fetch */
        else {
                r = pull_verify_plan(base, filename, j->o->verify, j->keyring, fetch_with_retry, j, &plan, j->diag);
                if (r < 0)
                        return r;
        }

        r = pull_download_open(j->root->fd, url, &j->dl);
        if (r == -EBUSY)
                return pull_fail(j->diag, r, url, "another pull of it is running");
        if (r < 0)
                return r;

        /* SHA-512 only when something will be compared with it (a DIGESTS file or --checksum=). */
        j->want_sha512 = (plan.have_checksum && plan.checksum.algo == CHECKSUM_SHA512) ||
                         (j->o->have_checksum && j->o->checksum.algo == CHECKSUM_SHA512);
        if ((r = stream_set_sha512(&j->stream, j->want_sha512)) < 0)
                return r;
        j->complete_on_import_error = plan.have_checksum || j->o->have_checksum;
        r = transfer(j, url);
        if (r >= 0)
                job_progress(j, true); /* the download's last state: all bytes */
        if (r < 0) {
                /* A failing importer stops the download: report its error, not the abort. */
                int k = stream_importer_failed(&j->stream);
                if (k < 0)
                        r = job_import_error(j, k);
                else if (import_error_is_space(r))
                        r = job_space_error(j, r);
                /* Out of space: nothing is kept for a resume, which would only fill it again. */
                if (import_error_is_space(r) && !j->cached)
                        (void) pull_download_discard(j->dl);
                return r;
        }
        /* With a checksum to compare, a refused archive is downloaded to the end all the same, so
         * that a corrupted or tampered download is reported as such rather than as a bad archive. */
        int import_r = stream_finish(&j->stream, true);
        if (import_r < 0 && (!j->complete_on_import_error || import_error_is_space(import_r))) {
                r = job_import_error(j, import_r);
                if (import_error_is_space(r) && !j->cached)
                        (void) pull_download_discard(j->dl);
                return r;
        }
        if (interrupted())
                return -EINTR;

        /* Every check before anything is published. */
        j->phase = PULL_PHASE_VERIFY;
        job_progress(j, true);
        Checksum sha256, sha512 = {};
        if ((r = stream_digest(&j->stream, CHECKSUM_SHA256, &sha256)) < 0)
                return r;
        if (j->want_sha512 && (r = stream_digest(&j->stream, CHECKSUM_SHA512, &sha512)) < 0)
                return r;
        int data_fd = j->cached ? j->dl->cache_fd : j->dl->fd;
        if (j->o->have_checksum) {
                const Checksum *got = j->o->checksum.algo == CHECKSUM_SHA512 ? &sha512 : &sha256;
                if (!checksum_equal(got, &j->o->checksum)) {
                        _cleanup_free_ char *h = checksum_to_hex(got);
                        r = pull_fail(j->diag, -EBADMSG, NULL,
                                      "checksum mismatch: --checksum= does not match the download (%s)", h ?: "");
                        goto bad;
                }
        }
        r = pull_verify_download(&plan, plan.checksum.algo == CHECKSUM_SHA512 ? &sha512 : &sha256, data_fd, j->keyring,
                                 &fpr, j->diag);
        if (r < 0)
                goto bad;
        if (import_r < 0) {
                r = job_import_error(j, import_r);
                goto bad;
        }
        if (j->kind == PULL_RAW && (r = job_sidecars(j, base, filename, &plan, res)) < 0) {
                if (r == -EINTR || error_is_transient(r))
                        return r; /* the verified download stays for the next attempt */
                goto bad;
        }
        if (interrupted())
                return -EINTR;

        r = j->kind == PULL_TAR ? tar_import_publish(j->importer.tar) : raw_import_publish(j->importer.raw);
        if (r < 0)
                return r;
        /* What the import repaired or left out. The image is out: a warning lost to a lack of memory
         * does not undo it. */
        for (size_t i = 0; i < j->stream.import_diag.n_warnings; i++)
                if (diag_warn(j->diag, "%s", j->stream.import_diag.warnings[i]) < 0)
                        break;

        const Checksum *shown = plan.have_checksum && plan.checksum.algo == CHECKSUM_SHA512 ? &sha512 : &sha256;
        res->url = strdup(url);
        res->digest = checksum_to_hex(shown);
        res->fingerprint = fpr ? TAKE_PTR(fpr) : TAKE_PTR(plan.fingerprint);
        if (plan.description)
                res->verified_by = strdup(plan.description);
        else if (j->o->have_checksum)
                res->verified_by = strdup("--checksum=");
        if (j->kind == PULL_TAR && tar_import_moved_up(j->importer.tar))
                res->moved_up = strdup(tar_import_moved_up(j->importer.tar));
        res->resumed = j->resumed;
        res->cached = j->cached;
        res->bytes = j->cached ? j->dl->cache_size : j->dl->size;
        res->transferred = j->transferred;

        j->phase = PULL_PHASE_DONE;
        job_progress(j, true);

        /* The image is out; what happens to the download is housekeeping. */
        if (j->cached)
                (void) pull_download_cache_used(j->dl, j->o->keep_download);
        else
                (void) pull_download_complete(j->dl, j->o->keep_download);
        return 0;

bad:
        /* The download is known bad (or complete and of no further use): neither resume nor reuse it. */
        if (j->cached)
                (void) pull_download_cache_used(j->dl, false);
        else
                (void) pull_download_discard(j->dl);
        return r;
}

int pull_image(ImageRoot *root, PullKind kind, const char *url, const char *name, const PullOptions *o,
               PullResult *ret, Diag *diag) {
        _cleanup_(job_done) Job j = {
                .root = root,
                .kind = kind,
                .name = name,
                .o = o,
                .importer = { .kind = kind },
                .total = UINT64_MAX,
                .diag = diag,
        };
        _cleanup_free_ char *base = NULL, *component = NULL, *filename = NULL;
        int r;

        if (!image_name_is_valid(name))
                return -EINVAL;
        if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0 &&
            strncasecmp(url, "file://", 7) != 0)
                return pull_fail(diag, -EPROTONOSUPPORT, NULL, "only http, https and file URLs are supported");
        r = pull_url_split(url, &base, &component, &filename);
        if (r < 0)
                return pull_fail(diag, r, NULL, "the URL does not end in a file name");
        if (o->verify == PULL_VERIFY_SIGNATURE) {
                j.keyring = o->keyring ?: gpg_find_default_keyring();
                if (!j.keyring)
                        return pull_fail(diag, -ENOKEY, NULL, "no keyring (tried %s, %s; use --keyring=)",
                                         gpg_default_keyrings[0], gpg_default_keyrings[1]);
                if (access(j.keyring, R_OK) < 0) {
                        r = negative_errno();
                        return pull_fail(diag, r, NULL, "keyring %s: %s", j.keyring, strerror(-r));
                }
        }

        /* The libraries the pull needs for sure, before anything is created or fetched: a missing
         * one is a one-line error, not a failed transfer (the decoder's is known only once the
         * first bytes arrived). */
        const char *detail;
        if ((r = dlopen_libcurl(&detail)) < 0)
                return pull_fail(diag, r, NULL, "%s (needed to download)", detail);
        if (kind == PULL_TAR && (r = dlopen_libarchive(&detail)) < 0)
                return pull_fail(diag, r, NULL, "%s (needed to read tar archives)", detail);

        j.free_at_start = import_space_free(root->fd);
        /* Take the name (and refuse an existing image) before any network traffic. */
        r = job_reset_import(&j);
        if (r < 0)
                return r;

        PullResult res = {};
        size_t n_mirrors = strv_length(o->mirrors);
        for (size_t m = 0; m <= n_mirrors; m++) {
                _cleanup_free_ char *mbase = NULL, *murl = NULL;
                if (m > 0) {
                        size_t l = strlen(o->mirrors[m - 1]);
                        mbase = strndup(o->mirrors[m - 1], l);
                        while (mbase && l > 0 && mbase[l - 1] == '/')
                                mbase[--l] = 0;
                        murl = mbase ? pull_url_join(mbase, component) : NULL;
                        if (!murl)
                                return -ENOMEM;
                        job_note(&j, "Trying mirror ", mbase, NULL);
                        if (j.stream.started && (r = job_reset_import(&j)) < 0)
                                return r;
                        j.dl = pull_download_free(j.dl);
                }
                r = job_run_base(&j, m > 0 ? mbase : base, m > 0 ? murl : url, filename, &res);
                if (r >= 0)
                        break;
                pull_result_done(&res);
                /* The next base is tried on network trouble and on what a mirror may simply lack
                 * (the file, its checksum or signature); a bad signature or checksum is final. */
                if (!(error_is_transient(r) || r == -ENOENT || r == -ENOKEY) || m == n_mirrors)
                        break;
        }
        if (r < 0)
                return r;
        /* What failed on the way and was retried or replaced by a mirror is not the caller's. */
        diag_clear_failure(diag);
        *ret = res;
        return 0;
}
