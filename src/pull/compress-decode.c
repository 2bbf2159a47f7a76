/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streaming decoders for gzip, xz, bzip2 and zstd, through zlib, liblzma, libbz2 and libzstd, each
 * loaded with dlopen() when a stream of its format is first decoded.
 *
 * Untrusted input: the compressed stream (a download or a local file). Each decoder runs with a
 * memory limit (DECOMPRESS_MEMLIMIT, zstd window ≤ 2^27), corrupt data is -EBADMSG and a stream
 * that stops early is -EPIPE. Concatenated streams (multi-member gzip, xz and bzip2 concatenation,
 * several zstd frames) are decoded as one, as the command line tools do. */

#include <bzlib.h>
#include <lzma.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "compress.h"
#include "dlopen-util.h"
#include "string-table.h"
#include "util.h"

/* The decoder libraries, each loaded by its dlopen_xxx() when a stream of its format is first
 * decoded (see dlopen-util.h), and the functions this file calls of each. */

/* zlib */
static typeof(inflateInit2_) *sym_inflateInit2_;
static typeof(inflate) *sym_inflate;
static typeof(inflateReset) *sym_inflateReset;
static typeof(inflateEnd) *sym_inflateEnd;

static const DlopenSymbol zlib_symbols[] = {
        DLSYM(inflateInit2_),
        DLSYM(inflate),
        DLSYM(inflateReset),
        DLSYM(inflateEnd),
        {},
};
static DlopenLibrary zlib_library = DLOPEN_LIBRARY_INIT(ZLIB_SONAME, zlib_symbols);

/* liblzma */
static typeof(lzma_stream_decoder_mt) *sym_lzma_stream_decoder_mt;
static typeof(lzma_stream_decoder) *sym_lzma_stream_decoder;
static typeof(lzma_code) *sym_lzma_code;
static typeof(lzma_end) *sym_lzma_end;

static const DlopenSymbol liblzma_symbols[] = {
        DLSYM(lzma_stream_decoder_mt),
        DLSYM(lzma_stream_decoder),
        DLSYM(lzma_code),
        DLSYM(lzma_end),
        {},
};
static DlopenLibrary liblzma_library = DLOPEN_LIBRARY_INIT(LIBLZMA_SONAME, liblzma_symbols);

/* libbz2 */
static typeof(BZ2_bzDecompressInit) *sym_BZ2_bzDecompressInit;
static typeof(BZ2_bzDecompress) *sym_BZ2_bzDecompress;
static typeof(BZ2_bzDecompressEnd) *sym_BZ2_bzDecompressEnd;

static const DlopenSymbol libbz2_symbols[] = {
        DLSYM(BZ2_bzDecompressInit),
        DLSYM(BZ2_bzDecompress),
        DLSYM(BZ2_bzDecompressEnd),
        {},
};
static DlopenLibrary libbz2_library = DLOPEN_LIBRARY_INIT(LIBBZ2_SONAME, libbz2_symbols);

/* libzstd */
static typeof(ZSTD_createDCtx) *sym_ZSTD_createDCtx;
static typeof(ZSTD_freeDCtx) *sym_ZSTD_freeDCtx;
static typeof(ZSTD_decompressStream) *sym_ZSTD_decompressStream;
static typeof(ZSTD_isError) *sym_ZSTD_isError;
static typeof(ZSTD_getErrorCode) *sym_ZSTD_getErrorCode;

static const DlopenSymbol libzstd_symbols[] = {
        DLSYM(ZSTD_createDCtx),
        DLSYM(ZSTD_freeDCtx),
        DLSYM(ZSTD_decompressStream),
        DLSYM(ZSTD_isError),
        DLSYM(ZSTD_getErrorCode),
        {},
};
static DlopenLibrary libzstd_library = DLOPEN_LIBRARY_INIT(LIBZSTD_SONAME, libzstd_symbols);

static int dlopen_zlib(const char **ret_detail) {
        return dlopen_library(&zlib_library, ret_detail);
}

static int dlopen_lzma(const char **ret_detail) {
        return dlopen_library(&liblzma_library, ret_detail);
}

static int dlopen_bzip2(const char **ret_detail) {
        return dlopen_library(&libbz2_library, ret_detail);
}

static int dlopen_zstd(const char **ret_detail) {
        return dlopen_library(&libzstd_library, ret_detail);
}

int decompressor_dlopen(CompressType t, const char **ret_detail) {
        switch (t) {
        case COMPRESS_NONE:
                return 0;
        case COMPRESS_GZIP:
                return dlopen_zlib(ret_detail);
        case COMPRESS_XZ:
                return dlopen_lzma(ret_detail);
        case COMPRESS_BZIP2:
                return dlopen_bzip2(ret_detail);
        case COMPRESS_ZSTD:
                return dlopen_zstd(ret_detail);
        case _COMPRESS_TYPE_MAX:
        case _COMPRESS_TYPE_INVALID:
                break;
        }
        return -EINVAL;
}

struct Decompressor {
        CompressType type;
        bool ended;      /* the current stream reached its end marker */
        bool started;    /* some input of the current stream was seen */
        union {
                z_stream gz;
                lzma_stream xz;
                bz_stream bz;
        };
        ZSTD_DCtx *zstd;
        bool zstd_frame_done;
        bool initialized;
        bool in_junk;     /* gzip, bzip2: what followed the last stream was not another one */
        uint64_t ignored; /* bytes of it */
        bool ignored_data; /* some of them not zero */
};

/* Input after the last stream that is not another stream: skipped (and counted). */
static void skip_junk(Decompressor *d, const uint8_t **in, size_t *in_size) {
        d->in_junk = true;
        d->ignored += *in_size;
        for (size_t i = 0; i < *in_size && !d->ignored_data; i++)
                if ((*in)[i] != 0)
                        d->ignored_data = true;
        *in += *in_size;
        *in_size = 0;
}

uint64_t decompressor_ignored(Decompressor *d, bool *ret_data) {
        if (ret_data)
                *ret_data = d->ignored_data;
        return d->ignored;
}

static const char *const compress_type_table[_COMPRESS_TYPE_MAX] = {
        [COMPRESS_NONE] = "uncompressed",
        [COMPRESS_GZIP] = "gzip",
        [COMPRESS_XZ] = "xz",
        [COMPRESS_BZIP2] = "bzip2",
        [COMPRESS_ZSTD] = "zstd",
};
DEFINE_STRING_TABLE_LOOKUP_TO_STRING(compress_type, CompressType);

CompressType compress_type_from_string(const char *s) {
        ssize_t i = string_table_lookup(compress_type_table, ELEMENTSOF(compress_type_table), s);
        if (i >= 0)
                return (CompressType) i;
        /* The other words --format= has always taken: file suffixes, "tar" and "raw". */
        static const struct {
                const char *name;
                CompressType type;
        } aliases[] = {
                {"none", COMPRESS_NONE},
                {"tar", COMPRESS_NONE},
                {"raw", COMPRESS_NONE},
                {"gz", COMPRESS_GZIP},
                {"bz2", COMPRESS_BZIP2},
                {"zst", COMPRESS_ZSTD},
        };
        for (size_t k = 0; s && k < ELEMENTSOF(aliases); k++)
                if (streq(s, aliases[k].name))
                        return aliases[k].type;
        return _COMPRESS_TYPE_INVALID;
}

int compress_type_from_filename(const char *filename, CompressType *ret) {
        static const struct {
                const char *suffix;
                CompressType type;
        } table[] = {
                { ".xz", COMPRESS_XZ },     { ".txz", COMPRESS_XZ },     { ".gz", COMPRESS_GZIP },
                { ".tgz", COMPRESS_GZIP },  { ".zst", COMPRESS_ZSTD },   { ".tzst", COMPRESS_ZSTD },
                { ".bz2", COMPRESS_BZIP2 }, { ".tbz2", COMPRESS_BZIP2 }, { ".tbz", COMPRESS_BZIP2 },
                { ".tar", COMPRESS_NONE },  { ".raw", COMPRESS_NONE },   { ".img", COMPRESS_NONE },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (endswith(filename, table[i].suffix)) {
                        *ret = table[i].type;
                        return 0;
                }
        return -ENOENT;
}

CompressType compress_detect(const void *buf, size_t n) {
        const uint8_t *p = buf;
        if (n >= 6 && memcmp(p, "\xFD" "7zXZ\x00", 6) == 0)
                return COMPRESS_XZ;
        if (n >= 4 && memcmp(p, "\x28\xB5\x2F\xFD", 4) == 0)
                return COMPRESS_ZSTD;
        /* A zstd skippable frame (magic 0x184D2A50…0x184D2A5F, little-endian), e.g. pzstd's or a
         * seekable archive's index, may come first; libzstd skips it in ZSTD_decompressStream(). */
        if (n >= 4 && (p[0] & 0xF0) == 0x50 && memcmp(p + 1, "\x2A\x4D\x18", 3) == 0)
                return COMPRESS_ZSTD;
        if (n >= 3 && memcmp(p, "\x1F\x8B\x08", 3) == 0)
                return COMPRESS_GZIP;
        if (n >= 4 && memcmp(p, "BZh", 3) == 0 && p[3] >= '1' && p[3] <= '9')
                return COMPRESS_BZIP2;
        return COMPRESS_NONE;
}

static int decoder_init(Decompressor *d, unsigned threads) {
        switch (d->type) {
        case COMPRESS_GZIP:
                d->gz = (z_stream) {};
                /* What the inflateInit2() macro expands to. */
                if (sym_inflateInit2_(&d->gz, 16 + MAX_WBITS, ZLIB_VERSION, (int) sizeof(z_stream)) != Z_OK)
                        return -ENOMEM;
                break;
        case COMPRESS_XZ: {
                d->xz = (lzma_stream) LZMA_STREAM_INIT;
                lzma_ret lr;
                if (threads > 1) {
                        lzma_mt mt = {
                                .flags = LZMA_CONCATENATED,
                                .threads = threads,
                                .memlimit_threading = DECOMPRESS_XZ_MT_BUDGET_PER_THREAD * threads,
                                .memlimit_stop = DECOMPRESS_MEMLIMIT,
                        };
                        lr = sym_lzma_stream_decoder_mt(&d->xz, &mt);
                } else
                        lr = sym_lzma_stream_decoder(&d->xz, DECOMPRESS_MEMLIMIT, LZMA_CONCATENATED);
                if (lr != LZMA_OK)
                        return lr == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;
                break;
        }
        case COMPRESS_BZIP2:
                d->bz = (bz_stream) {};
                if (sym_BZ2_bzDecompressInit(&d->bz, 0, 0) != BZ_OK)
                        return -ENOMEM;
                break;
        case COMPRESS_ZSTD:
                if (!d->zstd) {
                        d->zstd = sym_ZSTD_createDCtx();
                        if (!d->zstd)
                                return -ENOMEM;
                        /* The default window limit (2^27) bounds memory; do not raise it. */
                }
                break;
        case COMPRESS_NONE:
        case _COMPRESS_TYPE_MAX:
        case _COMPRESS_TYPE_INVALID:
                break;
        }
        d->initialized = true;
        return 0;
}

static void decoder_done(Decompressor *d) {
        if (!d->initialized)
                return;
        switch (d->type) {
        case COMPRESS_GZIP:
                sym_inflateEnd(&d->gz);
                break;
        case COMPRESS_XZ:
                sym_lzma_end(&d->xz);
                break;
        case COMPRESS_BZIP2:
                sym_BZ2_bzDecompressEnd(&d->bz);
                break;
        case COMPRESS_ZSTD:
        case COMPRESS_NONE:
        case _COMPRESS_TYPE_MAX:
        case _COMPRESS_TYPE_INVALID:
                break;
        }
        d->initialized = false;
}

int decompressor_new(CompressType t, unsigned threads, Decompressor **ret) {
        if (t < 0 || t >= _COMPRESS_TYPE_MAX)
                return -EINVAL;
        int r = decompressor_dlopen(t, NULL);
        if (r < 0)
                return r;
        _cleanup_(decompressor_freep) Decompressor *d = calloc(1, sizeof(Decompressor));
        if (!d)
                return -ENOMEM;
        d->type = t;
        r = decoder_init(d, threads);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

Decompressor *decompressor_free(Decompressor *d) {
        if (!d)
                return NULL;
        decoder_done(d);
        if (d->zstd) /* only then was libzstd loaded */
                sym_ZSTD_freeDCtx(d->zstd);
        free(d);
        return NULL;
}

ssize_t decompressor_step(Decompressor *d, const uint8_t **in, size_t *in_size, bool finish, void *out,
                          size_t out_size, bool *ret_end) {
        size_t produced = 0;
        bool end = false;

        switch (d->type) {
        case COMPRESS_NONE: {
                size_t n = MIN(*in_size, out_size);
                memcpy(out, *in, n);
                *in += n;
                *in_size -= n;
                produced = n;
                end = finish && *in_size == 0;
                break;
        }
        case COMPRESS_GZIP: {
                if (d->ended) {
                        /* Another member follows only when it starts with the gzip magic; anything
                         * else after a complete member is ignored, as gzip -d does. */
                        if (*in_size == 0) {
                                end = finish;
                                break;
                        }
                        if (*in_size < 2 && !finish)
                                break;
                        if (d->in_junk || *in_size < 2 || (*in)[0] != 0x1f || (*in)[1] != 0x8b) {
                                skip_junk(d, in, in_size);
                                end = finish;
                                break;
                        }
                        if (sym_inflateReset(&d->gz) != Z_OK)
                                return -EBADMSG;
                        d->ended = false;
                }
                d->gz.next_in = (Bytef *) *in;
                d->gz.avail_in = (uInt) MIN(*in_size, (size_t) UINT32_MAX);
                d->gz.next_out = out;
                d->gz.avail_out = (uInt) MIN(out_size, (size_t) UINT32_MAX);
                size_t before_in = d->gz.avail_in;
                int zr = sym_inflate(&d->gz, Z_NO_FLUSH);
                size_t used = before_in - d->gz.avail_in;
                *in += used;
                *in_size -= used;
                produced = (uint8_t *) d->gz.next_out - (uint8_t *) out;
                if (zr == Z_STREAM_END) {
                        d->ended = true;
                        end = finish && *in_size == 0;
                } else if (zr == Z_BUF_ERROR) {
                        if (finish && *in_size == 0 && produced == 0)
                                return -EPIPE;
                } else if (zr == Z_MEM_ERROR)
                        return -ENOMEM;
                else if (zr != Z_OK)
                        return -EBADMSG;
                else if (finish && *in_size == 0 && produced == 0 && used == 0)
                        return -EPIPE;
                break;
        }
        case COMPRESS_XZ: {
                if (d->ended) {
                        end = true;
                        break;
                }
                d->xz.next_in = *in;
                d->xz.avail_in = *in_size;
                d->xz.next_out = out;
                d->xz.avail_out = out_size;
                lzma_ret lr = sym_lzma_code(&d->xz, finish ? LZMA_FINISH : LZMA_RUN);
                size_t used = *in_size - d->xz.avail_in;
                *in += used;
                *in_size -= used;
                produced = out_size - d->xz.avail_out;
                if (lr == LZMA_STREAM_END) {
                        d->ended = true;
                        end = true;
                } else if (lr == LZMA_MEM_ERROR || lr == LZMA_MEMLIMIT_ERROR)
                        return -ENOMEM;
                else if (lr == LZMA_BUF_ERROR) {
                        if (finish)
                                return -EPIPE;
                } else if (lr != LZMA_OK)
                        return -EBADMSG;
                break;
        }
        case COMPRESS_BZIP2: {
                if (d->ended) {
                        if (*in_size == 0) {
                                end = finish;
                                break;
                        }
                        if (*in_size < 3 && !finish)
                                break;
                        if (d->in_junk || *in_size < 3 || memcmp(*in, "BZh", 3) != 0) {
                                skip_junk(d, in, in_size);
                                end = finish;
                                break;
                        }
                        decoder_done(d);
                        int r = decoder_init(d, 1);
                        if (r < 0)
                                return r;
                        d->ended = false;
                }
                d->bz.next_in = (char *) *in;
                d->bz.avail_in = (unsigned) MIN(*in_size, (size_t) UINT32_MAX);
                d->bz.next_out = out;
                d->bz.avail_out = (unsigned) MIN(out_size, (size_t) UINT32_MAX);
                size_t before_in = d->bz.avail_in;
                int br = sym_BZ2_bzDecompress(&d->bz);
                size_t used = before_in - d->bz.avail_in;
                *in += used;
                *in_size -= used;
                produced = (uint8_t *) d->bz.next_out - (uint8_t *) out;
                if (br == BZ_STREAM_END) {
                        d->ended = true;
                        end = finish && *in_size == 0;
                } else if (br == BZ_MEM_ERROR)
                        return -ENOMEM;
                else if (br != BZ_OK)
                        return -EBADMSG;
                else if (finish && *in_size == 0 && produced == 0 && used == 0)
                        return -EPIPE;
                break;
        }
        case COMPRESS_ZSTD: {
                ZSTD_inBuffer ib = { .src = *in, .size = *in_size };
                ZSTD_outBuffer ob = { .dst = out, .size = out_size };
                size_t zr = sym_ZSTD_decompressStream(d->zstd, &ob, &ib);
                if (sym_ZSTD_isError(zr))
                        return sym_ZSTD_getErrorCode(zr) == ZSTD_error_memory_allocation ? -ENOMEM : -EBADMSG;
                *in += ib.pos;
                *in_size -= ib.pos;
                produced = ob.pos;
                if (ib.pos > 0)
                        d->started = true;
                if (zr == 0)
                        d->ended = true; /* a frame is complete and flushed */
                else if (ib.pos > 0)
                        d->ended = false;
                if (finish && *in_size == 0 && produced < out_size) {
                        if (d->ended)
                                end = true;
                        else if (produced == 0 && ib.pos == 0)
                                return -EPIPE;
                }
                break;
        }
        case _COMPRESS_TYPE_MAX:
        case _COMPRESS_TYPE_INVALID:
                return -EINVAL;
        }
        if (end)
                *ret_end = true;
        return (ssize_t) produced;
}
