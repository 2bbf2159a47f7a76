/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decoder thread and the ring of decoded buffers between it and the extraction thread.
 *
 * Untrusted input: the bytes read from the fd. They only pass through the decoders in
 * compress-decode.c here; nothing is interpreted. */

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "dlopen-util.h"
#include "fd-util.h"
#include "import-source.h"
#include "util.h"

#define INPUT_CHUNK (256 * 1024)

typedef struct Slot {
        uint8_t *data;
        size_t size;
} Slot;

struct ImportSource {
        int fd;
        int stop_fd; /* eventfd: wakes the thread's poll() when the consumer gives up */
        unsigned threads;
        pthread_t thread;
        bool thread_started;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        Slot slots[IMPORT_SOURCE_SLOTS];
        unsigned head, count;   /* filled slots: head .. head+count-1 */
        bool holding;           /* the consumer holds slots[head] */
        bool done;              /* producer finished (see error) */
        int error;
        bool stop;

        _Atomic uint64_t bytes_in;
        _Atomic int compression;
        /* Set under lock before done: compressed input after the end of the compressed stream. */
        uint64_t ignored;
        bool ignored_data;
};

static int source_fill_input(ImportSource *s, uint8_t *buf, size_t size, size_t *ret_n) {
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = s->fd, .events = POLLIN },
                        { .fd = s->stop_fd, .events = POLLIN },
                };
                if (poll(p, 2, 250) < 0) {
                        if (errno == EINTR)
                                goto check;
                        return negative_errno();
                }
                if (p[1].revents)
                        return -ECANCELED;
                if (p[0].revents) {
                        ssize_t n = read(s->fd, buf, size);
                        if (n < 0) {
                                if (errno == EINTR || errno == EAGAIN)
                                        goto check;
                                return negative_errno();
                        }
                        atomic_fetch_add(&s->bytes_in, (uint64_t) n);
                        *ret_n = (size_t) n;
                        return 0;
                }
        check:
                if (interrupted())
                        return -EINTR;
        }
}

/* Reads the fd to its end, discarding (and counting in *ignored): a writer feeding us through a
 * pipe (a pull verifying the download while we import it) must be able to write all of its bytes. */
static int source_drain(ImportSource *s, uint8_t *buf, bool eof, uint64_t *ignored, bool *ignored_data) {
        while (!eof) {
                size_t n;
                int r = source_fill_input(s, buf, INPUT_CHUNK, &n);
                if (r < 0)
                        return r;
                *ignored += n;
                for (size_t i = 0; i < n && !*ignored_data; i++)
                        if (buf[i] != 0)
                                *ignored_data = true;
                eof = n == 0;
        }
        return 0;
}

/* Waits for a free slot; returns its index, or -ECANCELED when the consumer stopped. */
static int source_get_free_slot(ImportSource *s) {
        pthread_mutex_lock(&s->lock);
        while (!s->stop && s->count >= IMPORT_SOURCE_SLOTS)
                pthread_cond_wait(&s->cond, &s->lock);
        int r = s->stop ? -ECANCELED : (int) ((s->head + s->count) % IMPORT_SOURCE_SLOTS);
        pthread_mutex_unlock(&s->lock);
        return r;
}

static void source_push(ImportSource *s, size_t size) {
        pthread_mutex_lock(&s->lock);
        s->slots[(s->head + s->count) % IMPORT_SOURCE_SLOTS].size = size;
        s->count++;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

static void source_finish(ImportSource *s, int error) {
        pthread_mutex_lock(&s->lock);
        s->done = true;
        s->error = error;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

static int source_run(ImportSource *s) {
        _cleanup_free_ uint8_t *input = malloc(INPUT_CHUNK);
        if (!input)
                return -ENOMEM;
        int r;

        /* Sniff the magic: read until COMPRESS_MAGIC_MAX bytes or EOF. */
        size_t have = 0;
        bool eof = false;
        while (have < COMPRESS_MAGIC_MAX) {
                size_t n;
                r = source_fill_input(s, input + have, INPUT_CHUNK - have, &n);
                if (r < 0)
                        return r;
                if (n == 0) {
                        eof = true;
                        break;
                }
                have += n;
        }
        CompressType type = compress_detect(input, have);
        atomic_store(&s->compression, (int) type);

        if (type == COMPRESS_NONE) {
                /* No decoder: read straight into the slots. */
                size_t carry = have;
                for (;;) {
                        int k = source_get_free_slot(s);
                        if (k < 0)
                                return k;
                        uint8_t *buf = s->slots[k].data;
                        size_t fill = 0;
                        if (carry > 0) {
                                memcpy(buf, input, carry);
                                fill = carry;
                                carry = 0;
                        }
                        while (!eof && fill < IMPORT_SOURCE_SLOT_SIZE) {
                                size_t n;
                                r = source_fill_input(s, buf + fill, IMPORT_SOURCE_SLOT_SIZE - fill, &n);
                                if (r < 0)
                                        return r;
                                if (n == 0)
                                        eof = true;
                                fill += n;
                        }
                        if (fill > 0)
                                source_push(s, fill);
                        if (eof)
                                return 0;
                }
        }

        unsigned threads = s->threads;
        if (threads == 0) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                threads = n > 0 ? (unsigned) MIN(n, 64L) : 1;
        }
        _cleanup_(decompressor_freep) Decompressor *d = NULL;
        r = decompressor_new(type, threads, &d);
        if (r < 0)
                return r;

        const uint8_t *in = input;
        size_t in_size = have;
        bool end = false;
        while (!end) {
                int k = source_get_free_slot(s);
                if (k < 0)
                        return k;
                uint8_t *buf = s->slots[k].data;
                size_t fill = 0;
                while (fill < IMPORT_SOURCE_SLOT_SIZE && !end) {
                        if (in_size == 0 && !eof) {
                                size_t n;
                                r = source_fill_input(s, input, INPUT_CHUNK, &n);
                                if (r < 0)
                                        return r;
                                in = input;
                                in_size = n;
                                if (n == 0)
                                        eof = true;
                        }
                        ssize_t p = decompressor_step(d, &in, &in_size, eof, buf + fill, IMPORT_SOURCE_SLOT_SIZE - fill, &end);
                        if (p < 0)
                                return (int) p;
                        fill += (size_t) p;
                        if (interrupted())
                                return -EINTR;
                }
                if (fill > 0)
                        source_push(s, fill);
        }
        /* What the decoder skipped after the last stream (gzip, bzip2), the input left after it
         * (the rest of the chunk it ended in, then the rest of the fd: xz, zstd). */
        bool data;
        uint64_t ignored = decompressor_ignored(d, &data) + in_size;
        for (size_t i = 0; i < in_size && !data; i++)
                if (in[i] != 0)
                        data = true;
        r = source_drain(s, input, eof, &ignored, &data);
        pthread_mutex_lock(&s->lock);
        s->ignored = ignored;
        s->ignored_data = data;
        pthread_mutex_unlock(&s->lock);
        return r;
}

static void *source_thread(void *userdata) {
        ImportSource *s = userdata;
        source_finish(s, source_run(s));
        return NULL;
}

int import_source_start(int fd, unsigned threads, ImportSource **ret) {
        ImportSource *s = calloc(1, sizeof(ImportSource));
        if (!s)
                return -ENOMEM;
        s->fd = fd;
        s->threads = threads;
        pthread_mutex_init(&s->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->cond, &ca);
        pthread_condattr_destroy(&ca);
        s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->stop_fd < 0) {
                int r = negative_errno();
                import_source_free(s);
                return r;
        }
        for (unsigned i = 0; i < IMPORT_SOURCE_SLOTS; i++) {
                s->slots[i].data = malloc(IMPORT_SOURCE_SLOT_SIZE);
                if (!s->slots[i].data) {
                        import_source_free(s);
                        return -ENOMEM;
                }
        }
        /* The decoder thread must not take SIGINT/SIGTERM: the main thread notices them. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int e = pthread_create(&s->thread, NULL, source_thread, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e != 0) {
                import_source_free(s);
                return -e;
        }
        s->thread_started = true;
        *ret = s;
        return 0;
}

ssize_t import_source_read(ImportSource *s, const void **ret_buf) {
        pthread_mutex_lock(&s->lock);
        if (s->holding) {
                s->head = (s->head + 1) % IMPORT_SOURCE_SLOTS;
                s->count--;
                s->holding = false;
                pthread_cond_broadcast(&s->cond);
        }
        while (s->count == 0 && !s->done) {
                /* Wake up now and then to notice SIGINT/SIGTERM. */
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += 200 * 1000 * 1000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&s->cond, &s->lock, &ts);
                if (interrupted()) {
                        pthread_mutex_unlock(&s->lock);
                        return -EINTR;
                }
        }
        ssize_t r;
        if (s->count > 0) {
                s->holding = true;
                *ret_buf = s->slots[s->head].data;
                r = (ssize_t) s->slots[s->head].size;
        } else
                r = s->error;
        pthread_mutex_unlock(&s->lock);
        return r;
}

uint64_t import_source_bytes_in(ImportSource *s) {
        return atomic_load(&s->bytes_in);
}

uint64_t import_source_ignored(ImportSource *s, bool *ret_data) {
        pthread_mutex_lock(&s->lock);
        uint64_t n = s->ignored;
        if (ret_data)
                *ret_data = s->ignored_data;
        pthread_mutex_unlock(&s->lock);
        return n;
}

int import_source_warn_ignored(uint64_t ignored, CompressType t, Diag *diag) {
        char b[FORMAT_BYTES_MAX];
        return diag_warn(diag, "%s of trailing data after the end of the %s stream ignored",
                         format_bytes(b, sizeof(b), ignored), compress_type_to_string(t));
}

CompressType import_source_compression(ImportSource *s) {
        return (CompressType) atomic_load(&s->compression);
}

int import_source_fail(ImportSource *s, int r, Diag *diag) {
        if (!dlopen_error_is_library(r))
                return r;
        /* The load result is final: asking again gives the detail of the failure the thread saw. */
        CompressType t = import_source_compression(s);
        const char *detail = NULL;
        if (decompressor_dlopen(t, &detail) >= 0 || !detail)
                return r;
        return diag_fail(diag, r, NULL, "%s (needed to decode %s)", detail, compress_type_to_string(t));
}

ImportSource *import_source_free(ImportSource *s) {
        if (!s)
                return NULL;
        if (s->thread_started) {
                pthread_mutex_lock(&s->lock);
                s->stop = true;
                pthread_cond_broadcast(&s->cond);
                pthread_mutex_unlock(&s->lock);
                uint64_t one = 1;
                (void) !write(s->stop_fd, &one, sizeof(one));
                pthread_join(s->thread, NULL);
        }
        safe_close(s->stop_fd);
        for (unsigned i = 0; i < IMPORT_SOURCE_SLOTS; i++)
                free(s->slots[i].data);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}
