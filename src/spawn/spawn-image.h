/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Raw images for run -i: partitions found by src/image/image-dissect.c, verity through
 * src/verity (a dm-verity device, or the fully checked pinned copy on a read-only loop device),
 * the image policy, and the root mounted in a mount namespace private to cowpen (so nothing of
 * it is visible on the host, and all of it goes when cowpen ends). */

#include <stdbool.h>

#include "image.h"
#include "image-prepare.h"
#include "verity.h"

/* --image-policy: what protection the root partition may have (systemd's flag names). */
typedef enum ImagePolicyFlags {
        IMAGE_POLICY_UNPROTECTED = 1 << 0, /* no verity */
        IMAGE_POLICY_VERITY = 1 << 1,      /* verity without signature */
        IMAGE_POLICY_SIGNED = 1 << 2,      /* verity with a trusted signature */
        IMAGE_POLICY_ABSENT = 1 << 3,      /* accepted for syntax; a root is always needed */
        IMAGE_POLICY_ANY = IMAGE_POLICY_UNPROTECTED | IMAGE_POLICY_VERITY | IMAGE_POLICY_SIGNED | IMAGE_POLICY_ABSENT,
} ImagePolicyFlags;

#define IMAGE_POLICY_STRING_MAX 4096U

/* Parses systemd's syntax as far as the root goes: "*" (anything), "~" (nothing), "-"
 * (unused/absent), or PARTITION=FLAG+FLAG:… with root, usr and "=" (the default for the others);
 * flags: open (anything), verity, signed, unprotected, unused, absent, encrypted (never
 * matches: no LUKS support). Shortcuts: "verity" = root=verity+signed, "signed" = root=signed.
 * Returns the flags for the root. */
int image_policy_parse(const char *s, unsigned *ret_root);

typedef struct SpawnImageOptions {
        const char *path;          /* -i FILE */
        const char *machine;       /* -M, or NULL: from the file name */
        bool ephemeral;            /* -x: a private copy */
        bool read_only;            /* --read-only */
        const char *root_hash;     /* --root-hash (hex) */
        const char *root_hash_sig; /* --root-hash-sig: a path, or "base64:…" */
        const char *verity_data;   /* --verity-data */
        const char *verity_certs;  /* trusted certificate directory, or NULL: the default ones */
        unsigned policy;           /* ImagePolicyFlags for the root */
} SpawnImageOptions;

typedef struct SpawnImage {
        PreparedRoot *root;
        char *mountpoint;
        int device_fd;       /* the loop device (unverified) */
        VerityOpened verity; /* or the verified device */
        bool mounted;
        bool read_only;         /* the image, a flag or verity said so */
        const char *protection; /* "unprotected", "verity", "signed" */
        const char *copy_how;   /* -x: "reflink" or "copy" */
        ImageRoot *lock_root;   /* the image's directory, holding… */
        ImageLock lock;         /* …its lock: exclusive for a writable run, else shared */
} SpawnImage;

#define SPAWN_IMAGE_NULL                                                                                              \
        {                                                                                                             \
                .device_fd = -EBADF, .verity = {.fd = -EBADF}, .lock = {.fd = -EBADF, .dir_fd = -EBADF }              \
        }

/* Opens, checks, locks and mounts the image. On failure *ret_error is a short cause (the verb
 * adds the object's name); nothing is left mounted or attached. -EBUSY: the image is in use. */
int spawn_image_open(const SpawnImageOptions *o, SpawnImage *ret, char **ret_error);
void spawn_image_done(SpawnImage *i);
