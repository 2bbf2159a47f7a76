/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checksum file parsers. Untrusted input: the whole of every checksum, SHA256SUMS and DIGESTS file
 * and clearsigned message (served by anyone, parsed before a signature check in checksum mode).
 * Bounded by CHECKSUM_FILE_SIZE_MAX, CHECKSUM_LINE_MAX and CHECKSUM_LINES_MAX; never allocates in
 * proportion to anything but the input size. */
#include <string.h>
#include <strings.h>

#include "pull-checksum.h"
#include "string-table.h"
#include "util.h"

static const char *const checksum_algo_table[_CHECKSUM_ALGO_MAX] = {
        [CHECKSUM_SHA256] = "SHA256",
        [CHECKSUM_SHA512] = "SHA512",
};
DEFINE_STRING_TABLE_LOOKUP_TO_STRING(checksum_algo, ChecksumAlgo);

size_t checksum_algo_size(ChecksumAlgo a) {
        return a == CHECKSUM_SHA512 ? 64 : 32;
}

int checksum_from_hex(const char *s, size_t len, Checksum *ret) {
        Checksum c = {};
        if (len == 64)
                c.algo = CHECKSUM_SHA256;
        else if (len == 128)
                c.algo = CHECKSUM_SHA512;
        else
                return -EINVAL;
        for (size_t i = 0; i < len; i += 2) {
                int a = unhexchar(s[i]), b = unhexchar(s[i + 1]);
                if (a < 0 || b < 0)
                        return -EINVAL;
                c.digest[i / 2] = (uint8_t) (a << 4 | b);
        }
        *ret = c;
        return 0;
}

char *checksum_to_hex(const Checksum *c) {
        return hexmem(c->digest, checksum_algo_size(c->algo));
}

bool checksum_equal(const Checksum *a, const Checksum *b) {
        return a->algo == b->algo && memcmp(a->digest, b->digest, checksum_algo_size(a->algo)) == 0;
}

static bool is_hex_run(const char *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (unhexchar(p[i]) < 0)
                        return false;
        return true;
}

static size_t hex_run(const char *p, size_t n) {
        size_t i = 0;
        while (i < n && unhexchar(p[i]) >= 0)
                i++;
        return i;
}

/* One "HEX  NAME", "HEX *NAME" (or, single, "HEX") line. 1 with *ret when it names filename,
 * 0 when it names another file, -EBADMSG when it is not such a line. */
static int parse_gnu_line(const char *l, size_t n, ChecksumFormat format, const char *filename, Checksum *ret) {
        size_t h = hex_run(l, n);
        Checksum c;
        if (checksum_from_hex(l, h, &c) < 0)
                return -EBADMSG;
        if (format == CHECKSUM_FORMAT_DIGESTS && c.algo != CHECKSUM_SHA512)
                return -EBADMSG;
        const char *p = l + h;
        size_t rest = n - h;
        if (rest == 0) {
                if (format != CHECKSUM_FORMAT_SINGLE)
                        return -EBADMSG;
                *ret = c;
                return 1;
        }
        /* sha256sum: one separator, then ' ' (text) or '*' (binary) before the name. */
        if (p[0] != ' ' && p[0] != '\t')
                return -EBADMSG;
        p++, rest--;
        if (rest > 0 && (p[0] == ' ' || p[0] == '*'))
                p++, rest--;
        if (rest == 0)
                return -EBADMSG;
        /* Names are compared as given: a list entry "sub/FILE" or "./FILE" is another file. */
        if (rest != strlen(filename) || memcmp(p, filename, rest) != 0)
                return 0;
        *ret = c;
        return 1;
}

/* "SHA256 (NAME) = HEX" (BSD/--tag style). */
static int parse_bsd_line(const char *l, size_t n, const char *filename, Checksum *ret) {
        const char *open = memchr(l, '(', n);
        if (!open || open == l || open[-1] != ' ')
                return -EBADMSG;
        size_t al = (size_t) (open - 1 - l);
        const char *end = l + n;
        /* The name may itself contain ") = ": take the last one. */
        const char *close = NULL;
        for (const char *q = open + 1; q + 4 <= end; q++)
                if (memcmp(q, ") = ", 4) == 0)
                        close = q;
        if (!close)
                return -EBADMSG;
        const char *hex = close + 4;
        Checksum c;
        if (checksum_from_hex(hex, (size_t) (end - hex), &c) < 0)
                return -EBADMSG;
        const char *want = c.algo == CHECKSUM_SHA256 ? "SHA256" : "SHA512";
        if (al != strlen(want) || strncmp(l, want, al) != 0)
                return -EBADMSG;
        size_t nl = (size_t) (close - open - 1);
        if (nl != strlen(filename) || memcmp(open + 1, filename, nl) != 0)
                return 0;
        *ret = c;
        return 1;
}

int checksum_file_find(const char *data, size_t size, ChecksumFormat format, const char *filename, Checksum *ret) {
        if (size > CHECKSUM_FILE_SIZE_MAX)
                return -EFBIG;
        if (!filename || !*filename || strchr(filename, '\n'))
                return -EINVAL;
        if (memchr(data, 0, size))
                return -EBADMSG;

        /* DIGESTS: which algorithm the current section lists; lines of other sections are skipped. */
        enum { SECTION_NONE, SECTION_SHA512, SECTION_OTHER } section = SECTION_NONE;
        bool found = false;
        Checksum result = {};
        size_t lines = 0;
        const char *p = data, *end = data + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                const char *next = nl ? nl + 1 : end;
                if (++lines > CHECKSUM_LINES_MAX)
                        return -EBADMSG;
                if (n > CHECKSUM_LINE_MAX)
                        return -EBADMSG;
                const char *l = p;
                p = next;
                if (n > 0 && l[n - 1] == '\r')
                        n--;
                while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
                        n--;
                if (n == 0)
                        continue;

                if (l[0] == '#') {
                        if (format != CHECKSUM_FORMAT_DIGESTS)
                                continue;
                        /* "# SHA512 HASH", "# BLAKE2B HASH", … */
                        const char *w = l + 1;
                        size_t wn = n - 1;
                        while (wn > 0 && *w == ' ')
                                w++, wn--;
                        if (wn >= 5 && strncasecmp(w + wn - 5, " HASH", 5) == 0)
                                section = (wn == 11 && strncasecmp(w, "SHA512", 6) == 0) ? SECTION_SHA512 : SECTION_OTHER;
                        continue;
                }

                Checksum c;
                int r;
                if (format == CHECKSUM_FORMAT_DIGESTS) {
                        if (section != SECTION_SHA512)
                                continue;
                        r = parse_gnu_line(l, n, format, filename, &c);
                } else if (is_hex_run(l, MIN(n, (size_t) 64)) && n >= 64)
                        r = parse_gnu_line(l, n, format, filename, &c);
                else
                        r = parse_bsd_line(l, n, filename, &c);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (found && !checksum_equal(&result, &c)) {
                        /* Two entries for one file: prefer the stronger algorithm, refuse a conflict. */
                        if (result.algo != c.algo) {
                                if (c.algo == CHECKSUM_SHA512)
                                        result = c;
                                continue;
                        }
                        return -ENOTUNIQ;
                }
                result = c;
                found = true;
        }
        if (!found)
                return -ENOENT;
        *ret = result;
        return 0;
}

#define CLEARSIGN_BEGIN "-----BEGIN PGP SIGNED MESSAGE-----"
#define CLEARSIGN_SIG "-----BEGIN PGP SIGNATURE-----"

bool clearsign_is_signed(const char *data, size_t size) {
        return size >= STRLEN(CLEARSIGN_BEGIN) && memcmp(data, CLEARSIGN_BEGIN, STRLEN(CLEARSIGN_BEGIN)) == 0;
}

int clearsign_extract_text(const char *data, size_t size, char **ret, size_t *ret_size) {
        if (size > CHECKSUM_FILE_SIZE_MAX)
                return -EFBIG;
        if (!clearsign_is_signed(data, size) || memchr(data, 0, size))
                return -EBADMSG;
        _cleanup_free_ char *out = malloc(size + 1);
        if (!out)
                return -ENOMEM;
        size_t o = 0, lines = 0;
        enum { HEADER_FIRST, HEADERS, TEXT } state = HEADER_FIRST;
        const char *p = data, *end = data + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                const char *l = p;
                p = nl ? nl + 1 : end;
                if (++lines > CHECKSUM_LINES_MAX || n > CHECKSUM_LINE_MAX)
                        return -EBADMSG;
                size_t tn = n;
                if (tn > 0 && l[tn - 1] == '\r')
                        tn--;
                switch (state) {
                case HEADER_FIRST:
                        /* The BEGIN line itself, nothing after it. */
                        if (tn != STRLEN(CLEARSIGN_BEGIN))
                                return -EBADMSG;
                        state = HEADERS;
                        break;
                case HEADERS:
                        /* "Hash: SHA512" style lines up to the blank separator. */
                        if (tn == 0) {
                                state = TEXT;
                                break;
                        }
                        if (!memchr(l, ':', tn))
                                return -EBADMSG;
                        break;
                case TEXT:
                        if (tn == STRLEN(CLEARSIGN_SIG) && memcmp(l, CLEARSIGN_SIG, tn) == 0) {
                                /* The line break before the armor belongs to the signature. */
                                if (o > 0 && out[o - 1] == '\n')
                                        o--;
                                out[o] = 0;
                                if (ret_size)
                                        *ret_size = o;
                                *ret = TAKE_PTR(out);
                                return 0;
                        }
                        if (tn > 0 && l[0] == '-') {
                                /* Dash-escaped lines start "- "; any other dash line is armor. */
                                if (tn < 2 || l[1] != ' ')
                                        return -EBADMSG;
                                l += 2;
                                tn -= 2;
                        }
                        memcpy(out + o, l, tn);
                        o += tn;
                        out[o++] = '\n';
                        break;
                }
        }
        return -EBADMSG; /* no signature armor: not a complete clearsigned message */
}
