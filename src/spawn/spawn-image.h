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
#include "image-prepare.h"
#include "verity.h"

/* --image-policy: what protection the root and the usr partition may have (systemd's flag names). */
typedef enum ImagePolicyFlags {
        IMAGE_POLICY_UNPROTECTED = 1 << 0, /* no verity */
        IMAGE_POLICY_VERITY = 1 << 1,      /* verity without signature */
        IMAGE_POLICY_SIGNED = 1 << 2,      /* verity with a trusted signature */
        IMAGE_POLICY_ABSENT = 1 << 3,      /* the partition may be missing (root: then usr is needed) */
        IMAGE_POLICY_UNUSED = 1 << 4,      /* usr: may be there and is then left alone; root: never */
        IMAGE_POLICY_ANY = IMAGE_POLICY_UNPROTECTED | IMAGE_POLICY_VERITY | IMAGE_POLICY_SIGNED | IMAGE_POLICY_ABSENT |
                IMAGE_POLICY_UNUSED,
} ImagePolicyFlags;

#define IMAGE_POLICY_STRING_MAX 4096U

/* Parses systemd's syntax as far as root and usr go: "*" (anything), "~" (nothing), "-"
 * (unused/absent), or PARTITION=FLAG+FLAG:… with root, usr and "=" (the default for those not
 * listed); flags: open (anything), verity, signed, unprotected, unused, absent, encrypted (never
 * matches: no LUKS support). Shortcuts: "verity" = root and usr verity+signed+absent, "signed"
 * = signed+absent. Returns the flags for which (PARTITION_ROOT or PARTITION_USR). */
int image_policy_parse_for(const char *s, PartitionDesignator which, unsigned *ret);
/* image_policy_parse_for(s, PARTITION_ROOT, ret_root). */
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
