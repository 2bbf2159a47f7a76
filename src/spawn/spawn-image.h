/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Raw images for run -i: partitions found by src/image/image-dissect.c, verity through
 * src/verity (a dm-verity device, or the fully checked pinned copy on a read-only loop device)
 * for the root and the usr partition each, the image policy, and the root (its file system, or
 * a tmpfs for a usr-only image) with the usr partition at its /usr, mounted in a mount namespace
 * private to cowpen (so nothing of it is visible on the host, and all of it goes when cowpen
 * ends). */

#include <stdbool.h>

#include "image.h"
#include "image-dissect.h"
#include "image-policy.h"
#include "image-prepare.h"
#include "verity.h"

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
        unsigned usr_policy;       /* …and for the usr partition */
} SpawnImageOptions;

/* One data partition (root or usr) on its device. */
typedef struct SpawnImagePartition {
        int device_fd;       /* unverified: a partition of disk_fd, or a loop device of its own */
        VerityOpened verity; /* or the verified device */
        const char *protection; /* "unprotected", "verity", "signed"; NULL: not used */
        bool read_only;
} SpawnImagePartition;

typedef struct SpawnImage {
        PreparedRoot *root;
        char *mountpoint;
        int disk_fd;                       /* the image's loop device with partition scan */
        SpawnImagePartition partitions[2]; /* [PARTITION_ROOT], [PARTITION_USR] */
        bool mounted;           /* the root (its file system, or a tmpfs for a usr-only image) */
        bool usr_mounted;       /* the usr partition at mountpoint/usr */
        bool read_only;         /* the image, a flag or verity said so (the root) */
        const char *protection; /* the root's: "unprotected", "verity", "signed"; "tmpfs" without one */
        const char *copy_how;   /* -x: "reflink" or "copy" */
        ImageRoot *lock_root;   /* the image's directory, holding… */
        ImageLock lock;         /* …its lock: exclusive for a writable run, else shared */
} SpawnImage;

#define SPAWN_IMAGE_PARTITION_NULL { .device_fd = -EBADF, .verity = {.fd = -EBADF} }
#define SPAWN_IMAGE_NULL                                                                                              \
        {                                                                                                             \
                .disk_fd = -EBADF, .partitions = { SPAWN_IMAGE_PARTITION_NULL, SPAWN_IMAGE_PARTITION_NULL },          \
                .lock = {.fd = -EBADF, .dir_fd = -EBADF }                                                             \
        }

/* Opens, checks, locks and mounts the image. On failure *ret_error is a short cause (the verb
 * adds the object's name); nothing is left mounted or attached. -EBUSY: the image is in use. */
int spawn_image_open(const SpawnImageOptions *o, SpawnImage *ret, char **ret_error);
void spawn_image_done(SpawnImage *i);
