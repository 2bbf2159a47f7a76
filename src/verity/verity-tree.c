/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Building and verifying dm-verity hash trees (hash-util.h for the digests).
 *
 * Untrusted input: the data and the hash file contents. Parameters come validated from
 * verity_params_validate()/verity_superblock_parse(); geometry comes from verity_geometry(), which
 * checks all arithmetic. Reads past the end of a file are -EIO, never zero-filled.
 *
 * Speed: a level is cut into groups of whole destination hash blocks; threads take groups from a
 * shared counter (so a thread slowed by other load does less), read the source in large pread()s
 * and reuse one HashContext each (hash-util.h: nothing is allocated per block). The bottom level
 * is nearly all the work; the upper levels are 1/128 of it each and go through the same code. */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#include "hash-util.h"
#include "util.h"
#include "verity.h"

#define READ_CHUNK (2U * 1024U * 1024U)  /* bytes per pread() of source blocks */
#define GROUP_BYTES (4U * 1024U * 1024U) /* source bytes per unit of work handed to a thread */
#define THREADS_MAX 64U
#define PARALLEL_MIN_BYTES (8U * 1024U * 1024U) /* below this one thread is faster than starting more */

static HashAlgorithm hash_algorithm(VerityHash h) {
        switch (h) {
        case VERITY_HASH_SHA1:
                return HASH_SHA1;
        case VERITY_HASH_SHA256:
                return HASH_SHA256;
        case VERITY_HASH_SHA512:
                return HASH_SHA512;
        case _VERITY_HASH_MAX:
        case _VERITY_HASH_INVALID:
        default:
                return _HASH_ALGORITHM_INVALID;
        }
}

/* ctx is ready for a message (new, or after a final) and is again afterwards. */
static int digest_block(HashContext *ctx, const VerityParams *p, const void *block, size_t size, uint8_t *out) {
        int r;
        if (p->format == 1 && p->salt_size > 0 && (r = hash_context_update(ctx, p->salt, p->salt_size)) < 0)
                return r;
        if ((r = hash_context_update(ctx, block, size)) < 0)
                return r;
        if (p->format == 0 && p->salt_size > 0 && (r = hash_context_update(ctx, p->salt, p->salt_size)) < 0)
                return r;
        return hash_context_final(ctx, out);
}

static int pread_full(int fd, void *buf, size_t n, uint64_t offset) {
        uint8_t *b = buf;
        while (n > 0) {
                if (offset > (uint64_t) INT64_MAX)
                        return -EFBIG;
                ssize_t k = pread(fd, b, n, (off_t) offset);
                if (k < 0) {
                        if (errno == EINTR && !interrupted())
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO; /* short file */
                b += k;
                n -= (size_t) k;
                offset += (uint64_t) k;
        }
        return 0;
}

static int pwrite_full(int fd, const void *buf, size_t n, uint64_t offset) {
        const uint8_t *b = buf;
        while (n > 0) {
                ssize_t k = pwrite(fd, b, n, (off_t) offset);
                if (k < 0) {
                        if (errno == EINTR && !interrupted())
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                b += k;
                n -= (size_t) k;
                offset += (uint64_t) k;
        }
        return 0;
}

/* Equal-sized blocks one after the other in a file. */
typedef struct BlockRun {
        int fd;
        uint64_t offset;
        uint32_t block_size;
        uint64_t blocks;
} BlockRun;

/* What level l of the tree holds the digests of: the data for level 0, level l - 1 above it. For
 * l == g->levels: the one block the root hash is the digest of (the top hash block, or the single
 * data block when there are no levels). */
static BlockRun level_source(const VerityLocation *loc, const VerityParams *p, const VerityGeometry *g, unsigned l) {
        if (l == 0)
                return (BlockRun) { loc->data_fd, loc->data_offset, p->data_block_size, p->data_blocks };
        return (BlockRun) { loc->hash_fd, g->level_offset[l - 1], p->hash_block_size, g->level_blocks[l - 1] };
}

/* One level: digests of the source blocks written to (or compared with) the destination level. */
typedef struct LevelJob {
        const VerityParams *p;
        HashAlgorithm hash;
        const VerityGeometry *g;
        bool verify;
        BlockRun src;
        int dst_fd;
        uint64_t dst_offset;

        uint64_t group_blocks; /* source blocks per group, a multiple of entries_per_block */
        atomic_uint_fast64_t next_group;

        pthread_mutex_t lock;
        int error;
        uint64_t fail_block; /* lowest mismatching source block, UINT64_MAX: none */
} LevelJob;

static void job_fail(LevelJob *j, int error, uint64_t block) {
        pthread_mutex_lock(&j->lock);
        if (error == -EBADMSG) {
                if (block < j->fail_block)
                        j->fail_block = block;
        } else if (j->error == 0)
                j->error = error;
        pthread_mutex_unlock(&j->lock);
}

static bool job_should_stop(LevelJob *j, uint64_t first) {
        pthread_mutex_lock(&j->lock);
        bool stop = j->error != 0 || j->fail_block <= first;
        pthread_mutex_unlock(&j->lock);
        return stop;
}

static void *level_worker(void *userdata) {
        LevelJob *j = userdata;
        const uint64_t epb = j->g->entries_per_block;
        const uint32_t hbs = j->p->hash_block_size;
        const size_t chunk_blocks = MAX((size_t) 1, READ_CHUNK / j->src.block_size);
        const size_t dst_size = (size_t) (j->group_blocks / epb) * hbs;
        uint8_t digest[HASH_DIGEST_SIZE_MAX];
        HashContext *ctx = NULL;
        int r = hash_context_new(j->hash, &ctx);
        uint8_t *src = malloc(chunk_blocks * j->src.block_size);
        uint8_t *dst = malloc(dst_size);
        if (r >= 0 && (!src || !dst))
                r = -ENOMEM;
        if (r < 0)
                goto finish;

        for (;;) {
                uint64_t group = atomic_fetch_add(&j->next_group, 1);
                if (group > j->src.blocks / j->group_blocks)
                        break;
                uint64_t first = group * j->group_blocks;
                if (first >= j->src.blocks || job_should_stop(j, first))
                        break;
                if (interrupted()) {
                        r = -EINTR;
                        break;
                }
                uint64_t n = MIN(j->group_blocks, j->src.blocks - first);
                uint64_t dst_first = first / epb;
                size_t dst_len = (size_t) ((n + epb - 1) / epb) * hbs;
                uint64_t dst_pos = j->dst_offset + dst_first * hbs;

                if (j->verify)
                        r = pread_full(j->dst_fd, dst, dst_len, dst_pos);
                else
                        memset(dst, 0, dst_len);
                if (r < 0)
                        break;

                bool mismatch = false;
                for (uint64_t done = 0; done < n && !mismatch;) {
                        size_t k = (size_t) MIN((uint64_t) chunk_blocks, n - done);
                        r = pread_full(j->src.fd, src, k * j->src.block_size,
                                j->src.offset + (first + done) * j->src.block_size);
                        if (r < 0)
                                break;
                        for (size_t i = 0; i < k; i++) {
                                uint64_t e = first + done + i - dst_first * epb;
                                uint8_t *slot = dst + (size_t) (e / epb) * hbs + (size_t) (e % epb) * j->g->entry_size;
                                r = digest_block(ctx, j->p, src + i * j->src.block_size, j->src.block_size,
                                        j->verify ? digest : slot);
                                if (r < 0)
                                        break;
                                if (j->verify && memcmp(digest, slot, j->g->digest_size) != 0) {
                                        job_fail(j, -EBADMSG, first + done + i);
                                        mismatch = true;
                                        break;
                                }
                        }
                        if (r < 0)
                                break;
                        done += k;
                }
                if (r < 0)
                        break;
                if (!j->verify && (r = pwrite_full(j->dst_fd, dst, dst_len, dst_pos)) < 0)
                        break;
        }

finish:
        if (r < 0)
                job_fail(j, r, 0);
        hash_context_free(ctx);
        free(src);
        free(dst);
        return NULL;
}

static unsigned default_threads(void) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n < 1 ? 1 : (unsigned) MIN((long) THREADS_MAX, n);
}

/* Builds (or verifies) level l from its source; returns 0, -EBADMSG with *ret_fail_block (a block of
 * the source), or -errno. */
static int level_run(const VerityLocation *loc, const VerityParams *p, const VerityGeometry *g, unsigned l,
        bool verify, unsigned threads, uint64_t *ret_fail_block) {
        LevelJob j = {
                .p = p,
                .hash = hash_algorithm(p->hash),
                .g = g,
                .verify = verify,
                .src = level_source(loc, p, g, l),
                .dst_fd = loc->hash_fd,
                .dst_offset = g->level_offset[l],
                .fail_block = UINT64_MAX,
        };
        if (j.hash < 0)
                return -EINVAL;
        const BlockRun *src = &j.src;
        uint64_t per_group = MAX((uint64_t) 1, GROUP_BYTES / ((uint64_t) src->block_size * g->entries_per_block));
        j.group_blocks = per_group * g->entries_per_block;
        atomic_init(&j.next_group, 0);
        pthread_mutex_init(&j.lock, NULL);

        /* Each thread reads its groups front to back: a larger readahead helps when the data is not
         * cached yet. Only advice; failure changes nothing. */
        (void) posix_fadvise(src->fd, (off_t) src->offset, (off_t) (src->blocks * src->block_size), POSIX_FADV_SEQUENTIAL);
        uint64_t groups = (src->blocks + j.group_blocks - 1) / j.group_blocks;
        if (threads == 0)
                threads = default_threads();
        threads = MIN(threads, THREADS_MAX);
        if ((uint64_t) src->blocks * src->block_size < PARALLEL_MIN_BYTES)
                threads = 1;
        if (groups < threads)
                threads = (unsigned) groups;

        pthread_t tids[THREADS_MAX];
        unsigned started = 0;
        for (unsigned t = 1; t < threads; t++) {
                if (pthread_create(&tids[started], NULL, level_worker, &j) != 0)
                        break; /* fewer threads is still correct */
                started++;
        }
        level_worker(&j);
        for (unsigned t = 0; t < started; t++)
                pthread_join(tids[t], NULL);
        pthread_mutex_destroy(&j.lock);

        if (j.error != 0)
                return j.error;
        if (j.fail_block != UINT64_MAX) {
                *ret_fail_block = j.fail_block;
                return -EBADMSG;
        }
        return 0;
}

static int location_check(const VerityLocation *loc, const VerityParams *p, VerityGeometry *ret) {
        if (!loc || !p || loc->data_fd < 0 || loc->hash_fd < 0)
                return -EINVAL;
        int r = verity_geometry(p, loc->superblock, loc->hash_offset, ret);
        if (r < 0)
                return r;
        if (loc->data_offset % 512 != 0 || loc->data_offset > (uint64_t) INT64_MAX - ret->data_size)
                return -EINVAL;
        /* Data and tree in one file: the areas must not overlap. */
        struct stat a, b;
        if (fstat(loc->data_fd, &a) < 0 || fstat(loc->hash_fd, &b) < 0)
                return -errno;
        if (a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
                !(loc->data_offset + ret->data_size <= loc->hash_offset || ret->hash_end <= loc->data_offset))
                return -ERANGE;
        return 0;
}

/* The digest of the block the root hash covers, into ret (digest_size bytes, written on success). */
static int root_digest(const VerityLocation *loc, const VerityParams *p, const VerityGeometry *g, uint8_t *ret) {
        const BlockRun top = level_source(loc, p, g, g->levels);
        _cleanup_free_ uint8_t *buf = malloc(top.block_size);
        _cleanup_(hash_context_freep) HashContext *ctx = NULL;
        uint8_t digest[HASH_DIGEST_SIZE_MAX];
        int r = hash_context_new(hash_algorithm(p->hash), &ctx);
        if (r >= 0)
                r = !buf ? -ENOMEM : pread_full(top.fd, buf, top.block_size, top.offset);
        if (r >= 0)
                r = digest_block(ctx, p, buf, top.block_size, digest);
        if (r >= 0)
                memcpy(ret, digest, g->digest_size);
        return r;
}

int verity_tree_build(const VerityLocation *loc, const VerityParams *p, unsigned threads,
        uint8_t ret_root_hash[static VERITY_DIGEST_SIZE_MAX]) {
        VerityGeometry g;
        uint64_t unused;
        int r = location_check(loc, p, &g);
        if (r < 0)
                return r;

        for (unsigned l = 0; l < g.levels; l++) {
                r = level_run(loc, p, &g, l, false, threads, &unused);
                if (r < 0)
                        return r;
        }

        /* The superblock and the zeros up to the tree, as veritysetup leaves them. */
        if (loc->superblock) {
                size_t head = (size_t) (g.tree_offset - loc->hash_offset);
                _cleanup_free_ uint8_t *buf = calloc(1, head);
                if (!buf)
                        return -ENOMEM;
                r = verity_superblock_format(p, buf);
                if (r < 0)
                        return r;
                r = pwrite_full(loc->hash_fd, buf, head, loc->hash_offset);
                if (r < 0)
                        return r;
        }

        return root_digest(loc, p, &g, ret_root_hash);
}

/* Every byte of a hash block that is not part of a digest must be zero: the padding of each digest
 * (format 1) and the unused tail of the block. Checked first, so a change there is named as such. */
static int check_padding(const VerityParams *p, const VerityGeometry *g, int fd, VerityFailure *ret_failure) {
        const uint32_t hbs = p->hash_block_size;
        const size_t per_read = MAX((size_t) 1, READ_CHUNK / hbs);
        _cleanup_free_ uint8_t *buf = malloc(per_read * hbs);
        if (!buf)
                return -ENOMEM;

        for (unsigned l = 0; l < g->levels; l++) {
                uint64_t children = l == 0 ? p->data_blocks : g->level_blocks[l - 1];
                for (uint64_t b = 0; b < g->level_blocks[l];) {
                        size_t k = (size_t) MIN((uint64_t) per_read, g->level_blocks[l] - b);
                        int r = pread_full(fd, buf, k * hbs, g->level_offset[l] + b * hbs);
                        if (r < 0)
                                return r;
                        for (size_t i = 0; i < k; i++) {
                                const uint8_t *blk = buf + i * hbs;
                                uint64_t used = MIN(g->entries_per_block, children - (b + i) * g->entries_per_block);
                                bool ok = true;
                                for (uint64_t e = 0; e < used && ok; e++)
                                        for (size_t x = g->digest_size; x < g->entry_size; x++)
                                                if (blk[e * g->entry_size + x]) {
                                                        ok = false;
                                                        break;
                                                }
                                for (size_t x = (size_t) used * g->entry_size; x < hbs && ok; x++)
                                        if (blk[x])
                                                ok = false;
                                if (!ok) {
                                        *ret_failure = (VerityFailure){
                                                .kind = VERITY_FAILURE_PADDING,
                                                .level = l,
                                                .block = b + i,
                                                .offset = g->level_offset[l] + (b + i) * hbs,
                                        };
                                        return -EBADMSG;
                                }
                        }
                        b += k;
                }
        }
        return 0;
}

int verity_tree_verify(const VerityLocation *loc, const VerityParams *p, const uint8_t *root_hash,
        size_t root_hash_size, unsigned threads, VerityFailure *ret_failure) {
        VerityGeometry g;
        VerityFailure f = {};
        int r = location_check(loc, p, &g);
        if (r < 0)
                return r;
        if (!root_hash || root_hash_size != g.digest_size)
                return -EINVAL;

        r = check_padding(p, &g, loc->hash_fd, &f);
        if (r == -EBADMSG)
                goto failed;
        if (r < 0)
                return r;

        /* Top down, as the kernel walks the tree: once a level matches the one above it is trusted,
         * so a mismatch below names exactly the block that changed. */
        uint8_t root[VERITY_DIGEST_SIZE_MAX];
        r = root_digest(loc, p, &g, root);
        if (r < 0)
                return r;
        if (memcmp(root, root_hash, g.digest_size) != 0) {
                f = (VerityFailure){
                        .kind = VERITY_FAILURE_ROOT_HASH,
                        .level = g.levels == 0 ? UINT32_MAX : g.levels - 1,
                        .offset = level_source(loc, p, &g, g.levels).offset,
                };
                r = -EBADMSG;
                goto failed;
        }

        for (unsigned l = g.levels; l-- > 0;) {
                uint64_t bad;
                r = level_run(loc, p, &g, l, true, threads, &bad);
                if (r == -EBADMSG) {
                        /* The mismatch is in the source of level l: a data block, or a hash block of l - 1. */
                        const BlockRun src = level_source(loc, p, &g, l);
                        f = (VerityFailure){
                                .kind = l == 0 ? VERITY_FAILURE_DATA_BLOCK : VERITY_FAILURE_HASH_BLOCK,
                                .level = l == 0 ? 0 : l - 1,
                                .block = bad,
                                .offset = src.offset + bad * src.block_size,
                        };
                        goto failed;
                }
                if (r < 0)
                        return r;
        }
        return 0;

failed:
        if (ret_failure)
                *ret_failure = f;
        return -EBADMSG;
}
