/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "hash-util.h"
#include "image.h"
#include "pull.h"
#include "util.h"
#include "verbs.h"

/* The provenance records the transfer verbs write for what they published (image.h says where it
 * is kept). A record that cannot be written is a warning: the image is there already. */

static void write_record(ImageRoot *root, const char *what, const char *name, const ImageProvenance *p) {
        int r = image_provenance_write_at(root->fd, name, p);
        if (r < 0)
                log_warning("%s: the provenance record %s%s could not be written: %s", what, name,
                        IMAGE_PROVENANCE_SUFFIX, strerror(-r));
}

/* SHA-256 of the regular file fd from its start, when it still is what was imported (same size and
 * modification time as st). NULL otherwise. */
static char *sha256_of_file(int fd, const struct stat *st) {
        struct stat now;
        if (fstat(fd, &now) < 0 || !S_ISREG(now.st_mode) || now.st_size != st->st_size ||
                now.st_mtim.tv_sec != st->st_mtim.tv_sec || now.st_mtim.tv_nsec != st->st_mtim.tv_nsec)
                return NULL;
        _cleanup_(hash_context_freep) HashContext *h = NULL;
        if (hash_context_new(HASH_SHA256, &h) < 0)
                return NULL;
        _cleanup_free_ uint8_t *buf = malloc(1024 * 1024);
        if (!buf)
                return NULL;
        for (off_t off = 0;;) {
                ssize_t n = pread(fd, buf, 1024 * 1024, off);
                if (n < 0 && errno == EINTR && !interrupted())
                        continue;
                if (n < 0)
                        return NULL;
                if (n == 0)
                        break;
                if (hash_context_update(h, buf, (size_t) n) < 0)
                        return NULL;
                off += n;
        }
        uint8_t d[HASH_DIGEST_SIZE_MAX];
        if (hash_context_final(h, d) < 0)
                return NULL;
        return hexmem(d, hash_digest_size(HASH_SHA256));
}

void record_import_provenance(ImageRoot *root, const char *what, const char *name, const char *file, int fd) {
        _cleanup_(image_provenance_done) ImageProvenance p = IMAGE_PROVENANCE_NULL;
        struct stat st;
        if (!streq(file, "-")) {
                p.source = realpath(file, NULL);
                /* A regular file is read again from the page cache: a stream (stdin, a pipe) has
                 * nothing to read twice and gets no digest. */
                if (fd >= 0 && fstat(fd, &st) >= 0 && S_ISREG(st.st_mode))
                        p.sha256 = sha256_of_file(fd, &st);
        }
        p.verification = strdup("none");
        write_record(root, what, name, &p);
}

void record_fs_provenance(ImageRoot *root, const char *what, const char *name, const char *dir) {
        _cleanup_(image_provenance_done) ImageProvenance p = IMAGE_PROVENANCE_NULL;
        p.source = realpath(dir, NULL);
        p.verification = strdup("none");
        write_record(root, what, name, &p);
}

void record_pull_provenance(ImageRoot *root, const char *what, const char *name, const char *url, const char *digest,
        const char *verified_by, const char *fingerprint) {
        _cleanup_(image_provenance_done) ImageProvenance p = IMAGE_PROVENANCE_NULL;
        p.source = strdup(url);
        /* The download's digest is a SHA-256 unless a SHA-512 was what got checked. */
        if (digest && strlen(digest) == 64)
                p.sha256 = strdup(digest);
        if (p.sha256)
                for (char *c = p.sha256; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
        p.verification = strdup(fingerprint ? "signature" : verified_by ? "checksum" : "none");
        if (fingerprint) {
                p.signer = strdup(fingerprint);
                for (char *c = p.signer; c && *c; c++)
                        *c = (char) toupper((unsigned char) *c);
        }
        write_record(root, what, name, &p);
}

void record_oci_provenance(ImageRoot *root, const char *what, const char *name, const char *reference,
        const char *manifest_digest, const char *fingerprint) {
        _cleanup_(image_provenance_done) ImageProvenance p = IMAGE_PROVENANCE_NULL;
        /* The OCI reference, pinned to the manifest that was pulled: REF@sha256:HEX (a reference
         * that named a digest already has it). */
        const char *at = strchr(reference, '@');
        p.source = at || !manifest_digest ? strdup(reference) : strjoin(reference, "@", manifest_digest);
        if (manifest_digest && startswith(manifest_digest, "sha256:") && strlen(manifest_digest) == 7 + 64)
                p.sha256 = strdup(manifest_digest + 7);
        p.verification = strdup(fingerprint ? "signature" : "digest");
        if (fingerprint) {
                p.signer = strdup(fingerprint);
                for (char *c = p.signer; c && *c; c++)
                        *c = (char) toupper((unsigned char) *c);
        }
        write_record(root, what, name, &p);
}
