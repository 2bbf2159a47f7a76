/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The image store: what lives in an image root and how it is created, locked, cloned and removed,
 * and the prepared root it hands to the spawn engine. This is src/image's one public header (it
 * includes image-lock.h); the others (image-dissect.h, image-loop.h, image-policy.h,
 * image-raw-info.h, image-prepare-internal.h) are the layer's own.
 *
 * Layout of an image root (default /var/lib/machines), compatible with machinectl/importctl:
 *   NAME/                 a directory or btrfs subvolume image
 *   NAME.raw              a raw disk image
 *   NAME.nspawn, NAME.roothash, NAME.roothash.p7s, NAME.verity   sidecars (follow the image)
 *   NAME.provenance       the image's provenance record (image-provenance.c), kept by cowpen only
 *   .#NAME.lck            the image's lock file (OFD locks: readers shared, writers exclusive)
 *   .#NAME.gen-N          a previous generation N of the template NAME (update, rollback), with its
 *                         .#NAME.gen-N.provenance
 *   .#.update.NAME.lck    held exclusively while NAME is updated or rolled back
 *   .#KIND.NAME.RANDOM    a temporary or ephemeral entry, with .#KIND.NAME.RANDOM.lck held
 *                         exclusively by the process that owns it; clean removes the unheld ones.
 */

#include <sys/types.h>

#include "diag.h"
#include "image-lock.h"
#include "macro.h"

typedef enum ImageType {
        IMAGE_DIRECTORY,
        IMAGE_SUBVOLUME,
        IMAGE_RAW,
        _IMAGE_TYPE_MAX,
} ImageType;

const char *image_type_to_string(ImageType t);

/* The sidecar suffixes that travel with an image, in the order they are handled: those an image
 * may come with (imported or pulled next to a raw image), and those plus the ones the store keeps
 * itself (".provenance"), which follow rename, remove and publish but never come from outside. */
extern const char *const image_sidecar_suffixes[];
extern const char *const image_store_sidecar_suffixes[];

typedef struct ImageRoot {
        int fd;       /* O_DIRECTORY, held for the whole operation */
        char *path;
        bool btrfs;   /* the root itself is on btrfs: new images become subvolumes */
} ImageRoot;

/* Opens (and with create, makes) the image root. */
int image_root_open(const char *path, bool create, ImageRoot **ret);
ImageRoot *image_root_free(ImageRoot *root);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageRoot *, image_root_free);

typedef struct Image {
        char *name;     /* image name, without ".raw" */
        char *filename; /* entry in the image root: NAME or NAME.raw */
        char *path;     /* absolute path */
        ImageType type;
        bool read_only;
        uint64_t usage;    /* bytes, UINT64_MAX when unknown */
        uint64_t created;  /* seconds since the epoch, 0 when unknown */
        uint64_t modified; /* likewise */
        char **os_release; /* KEY, VALUE pairs; NULL when unknown */
        bool shadows_raw;  /* a directory or subvolume NAME while NAME.raw exists too: that one is
                            * hidden (every verb means the directory, as machinectl's lookup) */
} Image;

Image *image_free(Image *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(Image *, image_free);
void image_list_free(Image **list, size_t n);

/* Finds image NAME (directory or subvolume NAME, else NAME.raw, as systemd's image_find()).
 * -ENOENT when missing, -EINVAL for an invalid name. */
int image_find(ImageRoot *root, const char *name, Image **ret);
/* All images, sorted by name, one per name: the one image_find() picks (so a directory NAME
 * hides NAME.raw, and says so in shadows_raw); hidden (dot-named) entries only with all. */
int image_discover(ImageRoot *root, bool all, Image ***ret, size_t *ret_n);
/* Reads os-release (etc/os-release, else usr/lib/os-release, resolved inside the image) and, with
 * want_usage, the disk usage of a directory/subvolume by walking it. */
int image_read_details(ImageRoot *root, Image *i, bool want_usage);
/* Parses os-release text (untrusted: it comes from inside an image) into KEY, VALUE pairs; at most
 * 256 fields (-E2BIG beyond). */
int os_release_parse(const char *text, char ***ret);
/* Opens the image's directory (O_DIRECTORY) or raw file (O_RDONLY, or O_RDWR with writable). */
int image_open(ImageRoot *root, const Image *i, bool writable);

/* A raw image NAME of the image root at root_path, for a reader (the verity verbs): found, checked
 * to be raw, and held with a shared lock so that it is not removed or renamed while it is used
 * (the root stays open as long as the lock needs it). Errors: image_root_open()'s with root_path
 * as the diag's object; -ENOENT when there is no image NAME; -EMEDIUMTYPE with the cause "image is
 * a TYPE, not a raw image"; image_find()'s and image_lock()'s others (-EBUSY, …) without detail. */
typedef struct ImageRawRef {
        ImageRoot *root;
        ImageLock lock;
        char *path; /* the image file */
} ImageRawRef;
#define IMAGE_RAW_REF_NULL ((ImageRawRef){.lock = IMAGE_LOCK_NULL})
int image_raw_ref_open(const char *root_path, const char *name, ImageRawRef *ret, Diag *diag);
void image_raw_ref_done(ImageRawRef *r);

/* Locks image NAME of the root shared (readers) or exclusive (writers, creators), without
 * waiting: -EBUSY when someone else holds a conflicting lock (image-lock.h). */
static inline int image_lock(ImageRoot *root, const char *name, bool exclusive, ImageLock *ret) {
        return image_lock_at(root->fd, name, exclusive, ret);
}

/* A new entry built under a hidden name and published with one rename.
 *
 * image_temp_new() takes the exclusive lock on NAME (so two creators of one name end with one
 * winner), refuses an existing NAME unless force, and creates .#KIND.NAME.RANDOM as a directory,
 * btrfs subvolume (when the root is on btrfs and type is IMAGE_SUBVOLUME or DIRECTORY with
 * prefer_subvolume) or raw file. Until published, image_temp_free() removes it and its sidecars. */
typedef struct ImageTemp {
        ImageRoot *root; /* borrowed */
        char *name;
        char *temp_name;   /* entry in the image root */
        ImageType type;
        int fd;            /* O_DIRECTORY of the tree, or O_RDWR of the raw file */
        ImageLock name_lock;
        ImageLock temp_lock;
        char **sidecars;   /* suffixes created with image_temp_sidecar() */
        bool published;
} ImageTemp;

typedef enum ImageTempFlags {
        IMAGE_TEMP_FORCE = 1 << 0,        /* replace an existing image of that name on publish */
        IMAGE_TEMP_NO_CREATE = 1 << 1,    /* reserve the name only; caller creates temp_name itself */
} ImageTempFlags;

int image_temp_new(ImageRoot *root, const char *kind, const char *name, ImageType type, ImageTempFlags flags,
                   ImageTemp **ret);
/* Creates a sidecar file for the temp entry (suffix like ".roothash"); published along with it. */
int image_temp_sidecar(ImageTemp *t, const char *suffix, int *ret_fd);
/* Renames the temp entry (and sidecars) to NAME; with read_only marks it read-only first. */
int image_temp_publish(ImageTemp *t, bool read_only);
ImageTemp *image_temp_free(ImageTemp *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageTemp *, image_temp_free);

/* Marks the entry filename of dir_fd read-only or writable: the btrfs read-only property of a
 * subvolume, the immutable attribute of a directory, the write bits of a raw file. */
int image_entry_set_read_only(int dir_fd, const char *filename, bool ro);
/* 1 when the directory tree at fd is marked read-only as image_entry_set_read_only() marks it (a
 * read-only subvolume, or an immutable top directory), else 0. */
int image_dir_is_read_only(int fd);

/* How a tree was cloned. */
typedef enum CloneMethod {
        CLONE_SNAPSHOT,
        CLONE_REFLINK,
        CLONE_COPY,
        _CLONE_METHOD_MAX,
} CloneMethod;
const char *clone_method_to_string(CloneMethod m);

typedef enum CloneFlags {
        CLONE_READ_ONLY = 1 << 0,       /* make the result read-only */
        CLONE_ALLOW_SNAPSHOT = 1 << 1,  /* a btrfs snapshot when src is a subvolume on the same fs */
        CLONE_ALLOW_REFLINK = 1 << 2,   /* FICLONE file by file when the fs supports it */
        CLONE_SUBVOLUME = 1 << 3,       /* when not snapshotting, make the target a subvolume if on btrfs */
} CloneFlags;
#define CLONE_LADDER (CLONE_ALLOW_SNAPSHOT | CLONE_ALLOW_REFLINK | CLONE_SUBVOLUME)

/* The clone ladder: populates the new entry dst_name in dst_dir_fd from the tree at src_fd.
 * dst_name must not exist. On failure (or interruption) nothing is left at dst_name.
 * Copies keep hardlinks, xattrs, ACLs, file capabilities, device nodes, fifos, sockets, sparse
 * files, setuid bits, owners and timestamps, and stay on one filesystem. */
int clone_tree(int src_fd, int dst_dir_fd, const char *dst_name, CloneFlags flags, CloneMethod *ret_method);

/* Image-level verbs. Each takes the needed locks and returns -EBUSY ("image is in use"),
 * -EEXIST, -ENOENT or -EINVAL (bad name) as described. */
int image_clone(ImageRoot *root, const char *src, const char *dst, bool read_only, CloneMethod *ret_method);
int image_rename(ImageRoot *root, const char *old_name, const char *new_name);
/* How much of an image read-only NAME yes protects on the host, as machinectl's does it: a raw
 * file's write bits and a subvolume's read-only property cover it whole, but a subvolume's nested
 * subvolumes keep their own state, and of a plain directory only the top directory can be made
 * immutable (the files below stay writable; making them immutable too would break overlayfs -x
 * runs and every other tool). Whatever the scope, run (as systemd-nspawn) runs a read-only
 * image read-only. */
typedef enum ImageReadOnlyScope {
        IMAGE_READ_ONLY_WHOLE,
        IMAGE_READ_ONLY_TOP_DIRECTORY, /* a plain directory: only its top directory is immutable */
        IMAGE_READ_ONLY_NOT_NESTED,    /* a subvolume whose nested subvolumes stay writable */
} ImageReadOnlyScope;
/* ret_scope (may be NULL): what was covered, when read_only. */
int image_set_read_only(ImageRoot *root, const char *name, bool read_only, ImageReadOnlyScope *ret_scope);
int image_remove(ImageRoot *root, const char *name);
/* Removes hidden leftovers that nobody holds. With all, also … (see clean's man page). Calls
 * on_removed for each entry removed. */
int image_clean(ImageRoot *root, bool all, void (*on_removed)(const char *name, void *userdata), void *userdata);

/* --image-policy (image-policy.c): what protection a raw image's root and usr partition may
 * have (systemd's flag names). */
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
 * = signed+absent. Returns the flags for the root (-EINVAL: bad syntax, -E2BIG: longer than
 * IMAGE_POLICY_STRING_MAX); a string that parses for the root parses for usr as well. */
int image_policy_parse(const char *s, unsigned *ret_root);

/* ---- The prepared root (image-prepare.c, image-prepare-raw.c) ----
 *
 * What the image store hands to the spawn engine. It says where the tree to
 * run is (fd and path), how it was made (the image in place, a btrfs snapshot, an overlayfs
 * whose layers the engine mounts inside the container's mount namespace, or a raw image's file
 * systems mounted) and holds the locks, the hidden entry of a throw-away copy and a raw image's
 * mounts and devices until prepared_root_free() drops them.
 *
 * The spawn engine never decides how images are stored: it only looks at this struct. */

typedef enum PreparedRootKind {
        PREPARED_IN_PLACE, /* the tree itself (-D DIR or -M NAME) */
        PREPARED_SNAPSHOT, /* -x: a btrfs snapshot of a subvolume image, removed on free */
        PREPARED_OVERLAY,  /* -x: overlayfs, lower = the image, upper/work in the hidden entry */
        PREPARED_COPY,     /* -x with ephemeral_copy: a copy in the hidden entry, removed on free */
        PREPARED_MOUNTED,  /* a raw image (-i FILE, or -M NAME's NAME.raw): its file systems mounted
                            * in a mount namespace of cowpen's own; -x: of a private copy, or, when
                            * verity protects all of it, read-only below an overlay (overlay_*) */
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
        /* The overlay's layers (PREPARED_OVERLAY, and PREPARED_MOUNTED for -x of a verity-protected
         * raw image: prepared_root_has_overlay()): absolute paths inside the hidden entry. */
        char *overlay_upper;
        char *overlay_work;
        char *overlay_mountpoint; /* an empty directory the engine mounts the overlay on */
        bool shadows_raw;   /* -M NAME: a directory hiding NAME.raw of the same name (Image.shadows_raw) */
        CloneMethod template_method; /* how --template populated -D, when populated_from_template */
        bool populated_from_template;
        bool read_only;     /* the tree run in place is a read-only image (flag, file mode, verity):
                             * it must be run read-only (never set for -x copies of a directory; of
                             * a raw image: whether its root is mounted read-only) */
        /* PREPARED_MOUNTED: */
        char *image_path;       /* the raw image as given (-i FILE), or IMAGE_ROOT/NAME.raw for -M NAME */
        const char *protection; /* its root's: "unprotected", "verity", "signed"; "tmpfs" for usr only */
        const char *copy_how;   /* -x: "reflink" or "copy"; "overlayfs" for a verity-protected image, whose
                                 * verified file system is the lower layer of an overlay (overlay_*) */
        char *trusted_root_hash; /* hex: the root hash its root (else usr) partition was verified
                                  * against, NULL when unprotected (the machine's record keeps it) */

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

/* Whether the engine mounts an overlay over path (the lower layer) at overlay_mountpoint, with
 * overlay_upper and overlay_work: PREPARED_OVERLAY, and -x of a verity-protected raw image. */
static inline bool prepared_root_has_overlay(const PreparedRoot *p) {
        return p->overlay_upper != NULL;
}

/* NAME from /path/NAME.raw (or /path/NAME); -EINVAL when that is not a valid image name. */
int raw_image_machine_name(const char *image_path, char **ret);

/* ---- Architectures (image-arch.c), named as systemd names them ("x86-64", "arm64", …) ---- */

#define IMAGE_ARCH_HEADER_SIZE                                                                                        \
        64 /* the bytes of a program read: an ELF header, which is what                                               \
            * binfmt_misc's ELF handlers match (their magic spans 20) */
typedef struct ImageArch {
        const char *name;   /* static */
        const char *source; /* static: the program's path inside the tree, or the os-release file */
        uint8_t header[IMAGE_ARCH_HEADER_SIZE]; /* that program's first bytes (none from os-release) */
        size_t header_size;
} ImageArch;

/* The tree's architecture (untrusted tree): the ELF header of the first of
 * /usr/lib/systemd/systemd, /sbin/init, /usr/sbin/init, /bin/sh, /usr/bin/sh that is a regular
 * ELF file (resolved inside the tree), else os-release's ARCHITECTURE=. -ENOENT when nothing
 * tells (or an architecture without a name here). */
int image_read_architecture(int root_fd, ImageArch *ret);
/* The name for an ELF header; NULL when it is none or unnamed. */
const char *architecture_from_elf(const uint8_t *header, size_t size);
/* This build's architecture (NULL where unnamed), and whether arch runs on it without help (it,
 * or its 32-bit sibling: x86 on x86-64, arm on arm64, s390 on s390x). */
const char *architecture_native(void);
bool architecture_runs_natively(const char *arch);
/* qemu-user's name ("aarch64" for arm64), NULL when it has none. */
const char *architecture_qemu_name(const char *arch);

/* 1 when the tree at dir_fd has etc/os-release or usr/lib/os-release (resolved inside it). */
int dir_is_os_tree(int dir_fd);
/* 1 when it has a usr entry (a directory or a symlink, not followed). */
int dir_has_usr(int dir_fd);

/* ---- Provenance (image-provenance.c) ----
 *
 * Where an image came from. The record is the sidecar NAME.provenance in the image root, next to
 * NAME.nspawn: outside the image's tree, so nothing that runs in a container (which sees only the
 * tree) can write it, whatever its privileges: an xattr on the tree's top directory (even a
 * trusted.* one) is the container's "/" and writable by its root when it runs without a user
 * namespace (it keeps CAP_SYS_ADMIN, as with systemd-nspawn). It follows clone (with parent and
 * clone_method set), rename, remove and publish as the other sidecars do, and a btrfs snapshot
 * made by clone. Nothing inside an image is ever read for it. */
#define IMAGE_PROVENANCE_SUFFIX ".provenance"
#define IMAGE_PROVENANCE_SIZE_MAX 16384U /* bytes of a record file */
#define IMAGE_PROVENANCE_LINES_MAX 64U   /* lines of one */
#define IMAGE_PROVENANCE_VALUE_MAX 4096U /* bytes of one value */
#define IMAGE_GENERATION_NONE UINT64_MAX
#define IMAGE_GENERATION_MAX (UINT64_C(1) << 62)

typedef struct ImageProvenance {
        char *source;       /* URL, file path or OCI reference; NULL: unknown */
        char *sha256;       /* hex, of what was downloaded or imported */
        char *verification; /* "none", "checksum", "signature", "digest" */
        char *signer;       /* OpenPGP key fingerprint (hex, upper case) */
        char *parent;       /* the image it was cloned from */
        char *clone_method; /* clone_method_to_string() */
        uint64_t generation; /* IMAGE_GENERATION_NONE: never updated */
        char *root_hash;    /* dm-verity root hash (hex) */
} ImageProvenance;
#define IMAGE_PROVENANCE_NULL ((ImageProvenance){ .generation = IMAGE_GENERATION_NONE })

void image_provenance_done(ImageProvenance *p);
/* The record's text: "cowpen-provenance 1" then KEY=VALUE lines. Untrusted: -E2BIG beyond
 * IMAGE_PROVENANCE_SIZE_MAX or IMAGE_PROVENANCE_LINES_MAX, -EBADMSG for anything malformed (a
 * line without newline, a key twice, a value its key does not allow, a control character or NUL);
 * unknown keys are ignored. */
int image_provenance_parse(const char *text, size_t size, ImageProvenance *ret);
int image_provenance_format(const ImageProvenance *p, char **ret);
int image_provenance_copy(const ImageProvenance *p, ImageProvenance *ret);
/* The record BASE.provenance in dir_fd (BASE: an image name, or a hidden entry's name): -ENOENT
 * when there is none, else parse's errors. */
int image_provenance_read_at(int dir_fd, const char *base, ImageProvenance *ret);
int image_provenance_read(ImageRoot *root, const char *name, ImageProvenance *ret);
/* Writes BASE.provenance atomically (a temporary file renamed over it). A name too long for
 * BASE.provenance to fit NAME_MAX gets no record (both writers return 0). */
int image_provenance_write_at(int dir_fd, const char *base, const ImageProvenance *p);
/* The record of an entry being built, published with it. */
int image_temp_set_provenance(ImageTemp *t, const ImageProvenance *p);

/* ---- Template generations (image-generation.c) ----
 *
 * update NAME: a clone of the image NAME (snapshot, reflink, copy) under the hidden name
 * .#update.NAME.RANDOM (its .lck held), changed by the caller (a writable container), then
 * swapped with NAME by renameat2(RENAME_EXCHANGE): one atomic step, in which the old tree keeps
 * its inode, so a run whose overlayfs has it as its lower layer (or that holds a btrfs snapshot of
 * it) goes on seeing it. The old tree then becomes .#NAME.gen-N (N its generation); the previous
 * generations beyond keep are removed when nobody runs NAME (its lock taken exclusively without
 * waiting), else renamed to .#retired.NAME.RANDOM for clean. The whole update holds NAME's lock
 * shared (no writer may change NAME meanwhile; -x runs may start) and .#.update.NAME.lck
 * exclusively (a second update or rollback of NAME is refused: -EALREADY). */
typedef struct ImageUpdate {
        ImageRoot *root; /* borrowed */
        char *name;
        char *temp_name;    /* .#update.NAME.RANDOM */
        char *temp_path;    /* its absolute path, to run as -D */
        CloneMethod method;
        uint64_t generation; /* the new one */
        ImageLock update_lock;
        ImageLock name_lock; /* shared */
        ImageLock temp_lock;
        bool swapped;
} ImageUpdate;

#define IMAGE_KEEP_DEFAULT 1U
/* -ENOENT, -EINVAL (bad name), -EALREADY (an update or rollback of NAME runs), -EBUSY (a writer
 * holds NAME), -EMEDIUMTYPE (a raw image), -EROFS (a read-only image: make it writable first). */
int image_update_begin(ImageRoot *root, const char *name, ImageUpdate **ret);
/* Swaps the new generation in (RENAME_EXCHANGE) and keeps keep previous generations. */
int image_update_commit(ImageUpdate *u, unsigned keep);
/* Releases the locks and, unless committed, removes the new generation. */
ImageUpdate *image_update_free(ImageUpdate *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageUpdate *, image_update_free);

/* Brings back the newest previous generation (an exchange again); the generation it replaces is
 * removed as update removes old ones (it is not kept: rollback undoes the last update). -ENOENT
 * when NAME has no previous generation (*ret_generation untouched), -EALREADY, -EBUSY as above. */
int image_rollback(ImageRoot *root, const char *name, uint64_t *ret_generation);

/* The generation N of a hidden entry named .#NAME.gen-N (and its NAME in ret_name, may be NULL);
 * -EINVAL for other names. */
int image_generation_entry_parse(const char *entry, char **ret_name, uint64_t *ret_generation);
