/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Parsers for what publishers ship next to an image to say what it should hash to: per-file
 * FILE.sha256, SHA256SUMS lists, Gentoo FILE.DIGESTS, and the text of an OpenPGP clearsigned
 * message. All their input is untrusted (it comes from a server, and is parsed before or without
 * a signature check); each quantity is bounded by the limits below. */

#include "macro.h"

#define CHECKSUM_FILE_SIZE_MAX (4U * 1024U * 1024U) /* bytes of one checksum file */
#define CHECKSUM_LINE_MAX 4096U                     /* bytes of one line */
#define CHECKSUM_LINES_MAX 65536U                   /* lines of one file */

typedef enum ChecksumAlgo {
        CHECKSUM_SHA256,
        CHECKSUM_SHA512,
        _CHECKSUM_ALGO_MAX,
} ChecksumAlgo;

#define CHECKSUM_DIGEST_MAX 64

typedef struct Checksum {
        ChecksumAlgo algo;
        uint8_t digest[CHECKSUM_DIGEST_MAX];
} Checksum;

const char *checksum_algo_to_string(ChecksumAlgo a); /* "SHA256", "SHA512" */
size_t checksum_algo_size(ChecksumAlgo a);           /* digest bytes */

/* A hex digest as given with --checksum=: 64 hex digits are SHA-256, 128 SHA-512. -EINVAL else. */
int checksum_from_hex(const char *s, size_t len, Checksum *ret);
/* Lower-case hex of the digest; NULL on OOM. */
char *checksum_to_hex(const Checksum *c);
bool checksum_equal(const Checksum *a, const Checksum *b);

typedef enum ChecksumFormat {
        CHECKSUM_FORMAT_SUMS,     /* "HEX  NAME" / "HEX *NAME" / "SHA256 (NAME) = HEX" lines (sha256sum) */
        CHECKSUM_FORMAT_SINGLE,   /* FILE.sha256: like SUMS, and a lone "HEX" line means FILE */
        CHECKSUM_FORMAT_DIGESTS,  /* Gentoo: "# SHA512 HASH" sections of "HEX  NAME" lines */
} ChecksumFormat;

/* Finds the checksum of filename in a checksum file. Returns 0 and fills *ret, -ENOENT when the
 * file is not listed (with a usable algorithm), -EBADMSG on malformed input (a line over
 * CHECKSUM_LINE_MAX, more than CHECKSUM_LINES_MAX lines, a NUL byte, a bad digest where one is
 * expected), -ENOTUNIQ when filename is listed twice with different digests, -EFBIG over
 * CHECKSUM_FILE_SIZE_MAX. Lines of algorithms we do not use (BLAKE2B, WHIRLPOOL…) are skipped. */
int checksum_file_find(const char *data, size_t size, ChecksumFormat format, const char *filename, Checksum *ret);

/* Whether data is an OpenPGP clearsigned message. */
bool clearsign_is_signed(const char *data, size_t size);
/* Extracts the signed text of a clearsigned message WITHOUT checking the signature (RFC 4880
 * 7.1: header lines up to an empty line, dash-escaping undone, ends at the signature armor).
 * For --verify=checksum only; with signatures the text comes from gpgv's output. -EBADMSG when
 * the framing is broken. */
int clearsign_extract_text(const char *data, size_t size, char **ret, size_t *ret_size);
