/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The prepared root: what the image store hands to the spawn engine. It says where the tree to
 * run is (fd and path), how it was made (the image in place, a btrfs snapshot, an overlayfs
 * whose layers the engine mounts inside the container's mount namespace, or a raw image's file
 * systems mounted) and holds the locks, the hidden entry of a throw-away copy and a raw image's
 * mounts and devices until prepared_root_free() drops them.
 *
 * The spawn engine never decides how images are stored: it only looks at this struct. */

#include "diag.h"
#include "image.h"
#include "macro.h"

typedef enum PreparedRootKind {
        PREPARED_IN_PLACE,     /* the tree itself (-D DIR or -M NAME) */
        PREPARED_SNAPSHOT,     /* -x: a btrfs snapshot of a subvolume image, removed on free */
        PREPARED_OVERLAY,      /* -x: overlayfs, lower = the image, upper/work in the hidden entry */
        PREPARED_COPY,         /* -x with ephemeral_copy: a copy in the hidden entry, removed on free */
        PREPARED_MOUNTED,      /* a raw image (-i FILE, or -M NAME's NAME.raw): its file systems mounted
                                * (-x: of a private copy) in a mount namespace of cowpen's own */
        _PREPARED_ROOT_KIND_MAX,
} PreparedRootKind;

const char *prepared_root_kind_to_string(PreparedRootKind k);

typedef struct PrepareOptions {
        const char *directory;    /* -D: a directory anywhere */
        const char *machine;      /* -M: the machine name; alone, the image of that name */
        const char *image;        /* -i: a raw disk image (GPT, MBR or one file system) or block device */
        bool raw_images;          /* whether raw images (image, or an image NAME.raw for -M NAME) are
                                   * prepared: they are mounted in a mount namespace of this process's
                                   * own, which moves the whole calling process into it (unshare), so
                                   * a caller asks for it; without, a raw image is -EOPNOTSUPP */
        const char *template_dir; /* --template: populate a missing -D from it */
        bool ephemeral;           /* -x */
        bool ephemeral_copy;      /* -x without overlayfs: a copy (reflink where possible) where
                                   * there is no btrfs snapshot (--private-users: an overlayfs root
                                   * can be neither idmapped nor chowned) */
        bool read_only;           /* --read-only: a shared lock is enough (so it is for a read-only
                                   * image, which is run read-only unless ephemeral); a raw image is
                                   * mounted read-only */
        /* A raw image's verity and policy; their syntax is the caller's to check on the command
         * line (check_root_hash_arg(), image_policy_parse()). */
        const char *root_hash;     /* --root-hash (hex), else the xattr, IMAGE.roothash, a signature partition */
        const char *root_hash_sig; /* --root-hash-sig: a path, or "base64:…"; else IMAGE.roothash.p7s */
        const char *verity_data;   /* --verity-data, else a verity partition, IMAGE.verity */
        const char *verity_certs;  /* --verity-certs: the trusted certificates; NULL: the default directories */
        const char *image_policy;  /* --image-policy; NULL: "*" */
} PrepareOptions;

typedef struct PreparedRoot {
        PreparedRootKind kind;
        int fd;             /* O_DIRECTORY: the tree to run (for an overlay: its lower layer) */
        char *path;         /* absolute path of that tree */
        char *machine;      /* the machine name: -M, else derived from the directory name */
        char *image_name;   /* base name of the image entry (settings file NAME.nspawn) */
        int parent_fd;      /* O_DIRECTORY: the directory holding the image (image root, or -D's parent) */
        char *parent_path;
        /* The overlay's layers (PREPARED_OVERLAY): absolute paths inside the hidden entry. */
        char *overlay_upper;
        char *overlay_work;
        char *overlay_mountpoint; /* an empty directory the engine mounts the overlay on */
        bool shadows_raw;   /* -M NAME: a directory hiding NAME.raw of the same name (Image.shadows_raw) */
        CloneMethod template_method; /* how --template populated -D, when populated_from_template */
        bool populated_from_template;
        bool read_only;     /* the tree run in place is a read-only image (flag, file mode, verity):
                             * it must be run read-only (never set for -x copies) */
        /* PREPARED_MOUNTED: */
        char *image_path;       /* the raw image as given (-i FILE), or IMAGE_ROOT/NAME.raw for -M NAME */
        const char *protection; /* its root's: "unprotected", "verity", "signed"; "tmpfs" for usr only */
        const char *copy_how;   /* -x: "reflink" or "copy" */

        /* Private: what free drops. */
        ImageRoot *root;        /* the image root or -D's parent, opened as one */
        ImageLock image_lock;   /* shared (read-only, -x) or exclusive (writable) */
        ImageLock hidden_lock;  /* held while the hidden entry exists */
        char *hidden_name;      /* .#machine.NAME.RANDOM in parent, or NULL */
        struct RawImage *raw;   /* PREPARED_MOUNTED: its mounts, devices and lock */
} PreparedRoot;

/* Resolves and locks the root to run: opts->image, else -D (or the current directory), else -M
 * NAME's image in image_root, a directory or NAME.raw. A directory's errors are its errno alone:
 * -ENOENT (missing directory or image), -ENOTDIR, -EBUSY (image in use), -EINVAL (invalid name, or
 * -D /), -EOPNOTSUPP (a raw image without opts->raw_images). A raw image's failures also name the
 * image file (the diag's object, as image_path would) and say what failed (its cause): -EBUSY
 * when it is in use, -ENXIO with no root or usr partition, -EPERM when the policy refuses it, and
 * the errors of dissection, verity, loop devices and mounts. Whether the tree is an OS tree is not
 * checked here (dir_is_os_tree, dir_has_usr). With ephemeral, the throw-away copy exists when this
 * returns; free removes it (and unmounts a raw image). */
int prepared_root_new(const PrepareOptions *opts, const char *image_root, PreparedRoot **ret, Diag *diag);
PreparedRoot *prepared_root_free(PreparedRoot *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(PreparedRoot *, prepared_root_free);

/* NAME from /path/NAME.raw (or /path/NAME); -EINVAL when that is not a valid image name. */
int raw_image_machine_name(const char *image_path, char **ret);

/* 1 when the tree at dir_fd has etc/os-release or usr/lib/os-release (resolved inside it). */
int dir_is_os_tree(int dir_fd);
/* 1 when it has a usr entry (a directory or a symlink, not followed). */
int dir_has_usr(int dir_fd);
