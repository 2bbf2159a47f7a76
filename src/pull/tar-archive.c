/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one file that talks to libarchive, which it loads with dlopen() on first use.
 *
 * Untrusted input (reading): the whole tar stream. libarchive parses headers (pax, GNU, ustar,
 * sparse maps); everything it hands out is copied into TarEntry and checked by the caller
 * (tar-extract.c). Here we only refuse what cannot be represented: ACL entries of unknown tags,
 * more than TAR_XATTRS_MAX xattrs on one entry, xattr values over XATTR_SIZE_MAX, sparse maps of
 * more than TAR_SPARSE_REGIONS_MAX regions. ACLs (as SCHILY.acl.* or as system.posix_acl_* xattrs)
 * the kernel would refuse are reduced to what is valid, and the entry says so (TarEntry.warnings),
 * rather than ending the import. */

#include <archive.h>
#include <archive_entry.h>
#include <linux/limits.h>
#include <string.h>

#include "acl-xattr.h"
#include "dlopen-util.h"
#include "tar-archive.h"
#include "util.h"

/* Named limits on what one entry may carry. */
#define TAR_XATTRS_MAX 1024
#define TAR_ACL_ENTRIES_MAX 4096
/* Data regions of one sparse member. Each costs the tree writer a seek and a write, and libarchive
 * about 90 bytes of memory (a map of 1,000,000 regions took 4 s and 99 MB); real sparse files have
 * a few to a few thousand. libarchive has parsed the map when we see the count, so its own cost
 * for the one entry that is refused stays bounded by the entry's size (and --max-size). */
#define TAR_SPARSE_REGIONS_MAX (1U << 18)

/* libarchive, loaded by dlopen_libarchive() before the first use (see dlopen-util.h): the
 * functions this file calls. */
static typeof(archive_entry_acl_add_entry) *sym_archive_entry_acl_add_entry;
static typeof(archive_entry_acl_next) *sym_archive_entry_acl_next;
static typeof(archive_entry_acl_reset) *sym_archive_entry_acl_reset;
static typeof(archive_entry_atime) *sym_archive_entry_atime;
static typeof(archive_entry_atime_is_set) *sym_archive_entry_atime_is_set;
static typeof(archive_entry_atime_nsec) *sym_archive_entry_atime_nsec;
static typeof(archive_entry_clear) *sym_archive_entry_clear;
static typeof(archive_entry_free) *sym_archive_entry_free;
static typeof(archive_entry_gid) *sym_archive_entry_gid;
static typeof(archive_entry_hardlink) *sym_archive_entry_hardlink;
static typeof(archive_entry_mode) *sym_archive_entry_mode;
static typeof(archive_entry_mtime) *sym_archive_entry_mtime;
static typeof(archive_entry_mtime_nsec) *sym_archive_entry_mtime_nsec;
static typeof(archive_entry_new) *sym_archive_entry_new;
static typeof(archive_entry_pathname) *sym_archive_entry_pathname;
static typeof(archive_entry_rdev) *sym_archive_entry_rdev;
static typeof(archive_entry_set_gid) *sym_archive_entry_set_gid;
static typeof(archive_entry_set_hardlink) *sym_archive_entry_set_hardlink;
static typeof(archive_entry_set_mode) *sym_archive_entry_set_mode;
static typeof(archive_entry_set_mtime) *sym_archive_entry_set_mtime;
static typeof(archive_entry_set_pathname) *sym_archive_entry_set_pathname;
static typeof(archive_entry_set_rdev) *sym_archive_entry_set_rdev;
static typeof(archive_entry_set_size) *sym_archive_entry_set_size;
static typeof(archive_entry_set_symlink) *sym_archive_entry_set_symlink;
static typeof(archive_entry_set_uid) *sym_archive_entry_set_uid;
static typeof(archive_entry_size) *sym_archive_entry_size;
static typeof(archive_entry_sparse_add_entry) *sym_archive_entry_sparse_add_entry;
static typeof(archive_entry_sparse_count) *sym_archive_entry_sparse_count;
static typeof(archive_entry_symlink) *sym_archive_entry_symlink;
static typeof(archive_entry_uid) *sym_archive_entry_uid;
static typeof(archive_entry_xattr_add_entry) *sym_archive_entry_xattr_add_entry;
static typeof(archive_entry_xattr_next) *sym_archive_entry_xattr_next;
static typeof(archive_entry_xattr_reset) *sym_archive_entry_xattr_reset;
static typeof(archive_errno) *sym_archive_errno;
static typeof(archive_error_string) *sym_archive_error_string;
static typeof(archive_read_data_block) *sym_archive_read_data_block;
static typeof(archive_read_free) *sym_archive_read_free;
static typeof(archive_read_new) *sym_archive_read_new;
static typeof(archive_read_next_header) *sym_archive_read_next_header;
static typeof(archive_read_open) *sym_archive_read_open;
static typeof(archive_read_support_format_tar) *sym_archive_read_support_format_tar;
static typeof(archive_set_error) *sym_archive_set_error;
static typeof(archive_write_add_filter_bzip2) *sym_archive_write_add_filter_bzip2;
static typeof(archive_write_add_filter_gzip) *sym_archive_write_add_filter_gzip;
static typeof(archive_write_add_filter_none) *sym_archive_write_add_filter_none;
static typeof(archive_write_add_filter_xz) *sym_archive_write_add_filter_xz;
static typeof(archive_write_add_filter_zstd) *sym_archive_write_add_filter_zstd;
static typeof(archive_write_close) *sym_archive_write_close;
static typeof(archive_write_data) *sym_archive_write_data;
static typeof(archive_write_free) *sym_archive_write_free;
static typeof(archive_write_header) *sym_archive_write_header;
static typeof(archive_write_new) *sym_archive_write_new;
static typeof(archive_write_open_fd) *sym_archive_write_open_fd;
static typeof(archive_write_set_bytes_in_last_block) *sym_archive_write_set_bytes_in_last_block;
static typeof(archive_write_set_filter_option) *sym_archive_write_set_filter_option;
static typeof(archive_write_set_format_pax_restricted) *sym_archive_write_set_format_pax_restricted;
static typeof(archive_write_set_format_raw) *sym_archive_write_set_format_raw;

static const DlopenSymbol libarchive_symbols[] = {
        DLSYM(archive_entry_acl_add_entry),
        DLSYM(archive_entry_acl_next),
        DLSYM(archive_entry_acl_reset),
        DLSYM(archive_entry_atime),
        DLSYM(archive_entry_atime_is_set),
        DLSYM(archive_entry_atime_nsec),
        DLSYM(archive_entry_clear),
        DLSYM(archive_entry_free),
        DLSYM(archive_entry_gid),
        DLSYM(archive_entry_hardlink),
        DLSYM(archive_entry_mode),
        DLSYM(archive_entry_mtime),
        DLSYM(archive_entry_mtime_nsec),
        DLSYM(archive_entry_new),
        DLSYM(archive_entry_pathname),
        DLSYM(archive_entry_rdev),
        DLSYM(archive_entry_set_gid),
        DLSYM(archive_entry_set_hardlink),
        DLSYM(archive_entry_set_mode),
        DLSYM(archive_entry_set_mtime),
        DLSYM(archive_entry_set_pathname),
        DLSYM(archive_entry_set_rdev),
        DLSYM(archive_entry_set_size),
        DLSYM(archive_entry_set_symlink),
        DLSYM(archive_entry_set_uid),
        DLSYM(archive_entry_size),
        DLSYM(archive_entry_sparse_add_entry),
        DLSYM(archive_entry_sparse_count),
        DLSYM(archive_entry_symlink),
        DLSYM(archive_entry_uid),
        DLSYM(archive_entry_xattr_add_entry),
        DLSYM(archive_entry_xattr_next),
        DLSYM(archive_entry_xattr_reset),
        DLSYM(archive_errno),
        DLSYM(archive_error_string),
        DLSYM(archive_read_data_block),
        DLSYM(archive_read_free),
        DLSYM(archive_read_new),
        DLSYM(archive_read_next_header),
        DLSYM(archive_read_open),
        DLSYM(archive_read_support_format_tar),
        DLSYM(archive_set_error),
        DLSYM(archive_write_add_filter_bzip2),
        DLSYM(archive_write_add_filter_gzip),
        DLSYM(archive_write_add_filter_none),
        DLSYM(archive_write_add_filter_xz),
        DLSYM(archive_write_add_filter_zstd),
        DLSYM(archive_write_close),
        DLSYM(archive_write_data),
        DLSYM(archive_write_free),
        DLSYM(archive_write_header),
        DLSYM(archive_write_new),
        DLSYM(archive_write_open_fd),
        DLSYM(archive_write_set_bytes_in_last_block),
        DLSYM(archive_write_set_filter_option),
        DLSYM(archive_write_set_format_pax_restricted),
        DLSYM(archive_write_set_format_raw),
        {},
};
static DlopenLibrary libarchive_library = DLOPEN_LIBRARY_INIT(LIBARCHIVE_SONAME, libarchive_symbols);

int dlopen_libarchive(const char **ret_detail) {
        return dlopen_library(&libarchive_library, ret_detail);
}

struct TarReader {
        struct archive *a;
        struct archive_entry *entry; /* owned by a */
        TarReadBlock read_block;
        void *userdata;
        int cb_error;
        const char *reason; /* why the last entry was refused, when errno does not say */
};

const char *tar_warning_to_string(TarWarning w) {
        switch (w) {
        case TAR_WARNING_ACL_NO_MASK:
                return "ACL without a mask entry: applied with the mask its named entries need";
        case TAR_WARNING_ACL_NO_ID:
                return "ACL entry of a user or group without a numeric id: left out (names are not looked up)";
        case TAR_WARNING_ACL_DUPLICATE:
                return "ACL entry given twice: the first one applied";
        case TAR_WARNING_ACL_INVALID:
                return "ACL without an owner, group or other entry, or malformed: not applied";
        case TAR_WARNING_ACL_DEFAULT_NONDIR:
                return "default ACL on a non-directory: not applied";
        case _TAR_WARNING_MAX:
        default:
                return NULL;
        }
}

struct TarWriter {
        struct archive *a;
        struct archive_entry *entry;
        bool raw;
};

bool tar_entry_has_xattr(const TarEntry *e, const char *name) {
        for (size_t i = 0; i < e->n_xattrs; i++)
                if (streq(e->xattrs[i].name, name))
                        return true;
        return false;
}

void tar_entry_clear(TarEntry *e) {
        free(e->path);
        free(e->hardlink);
        free(e->symlink);
        for (size_t i = 0; i < e->n_xattrs; i++) {
                free(e->xattrs[i].name);
                free(e->xattrs[i].value);
        }
        free(e->xattrs);
        *e = (TarEntry) {};
}

static int entry_add_xattr(TarEntry *e, const char *name, const void *value, size_t size) {
        if (e->n_xattrs >= TAR_XATTRS_MAX)
                return -E2BIG;
        if (size > XATTR_SIZE_MAX || strlen(name) > XATTR_NAME_MAX)
                return -E2BIG;
        TarXattr *n = realloc(e->xattrs, (e->n_xattrs + 1) * sizeof(TarXattr));
        if (!n)
                return -ENOMEM;
        e->xattrs = n;
        TarXattr *x = &e->xattrs[e->n_xattrs];
        x->name = strdup(name);
        x->value = malloc(MAX(size, (size_t) 1));
        if (!x->name || !x->value) {
                free(x->name);
                free(x->value);
                return -ENOMEM;
        }
        memcpy(x->value, value, size);
        x->size = size;
        e->n_xattrs++;
        return 0;
}


static int acl_entry_cmp(const void *a, const void *b) {
        const struct acl_xattr_entry *x = a, *y = b;
        if (x->tag != y->tag)
                return x->tag < y->tag ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

/* Makes ent[0..*n) an ACL the kernel accepts (fs/posix_acl.c: posix_acl_valid()): named entries
 * with a numeric id only, permissions rwx only, sorted by tag and id, each entry once, the owner,
 * owning group and other entries present, and a mask when there are named entries (computed as
 * setfacl does: the union of the group class). ent has room for *n + 1 entries. Returns true when
 * the result is to be applied; *warnings gets the TarWarning bits of what was changed. */
static bool acl_repair(struct acl_xattr_entry *ent, size_t *n, unsigned *warnings) {
        size_t k = 0;
        for (size_t i = 0; i < *n; i++) {
                bool named = ent[i].tag == ACLX_USER || ent[i].tag == ACLX_GROUP;
                if (named && ent[i].id == UINT32_MAX) {
                        *warnings |= TAR_WARNING_ACL_NO_ID;
                        continue;
                }
                ent[k] = ent[i];
                ent[k].perm &= 7;
                if (!named)
                        ent[k].id = UINT32_MAX;
                k++;
        }
        qsort(ent, k, sizeof(*ent), acl_entry_cmp);
        size_t m = 0;
        bool user_obj = false, group_obj = false, other = false, mask = false, named = false;
        uint16_t group_class = 0;
        for (size_t i = 0; i < k; i++) {
                if (m > 0 && ent[m - 1].tag == ent[i].tag && ent[m - 1].id == ent[i].id) {
                        *warnings |= TAR_WARNING_ACL_DUPLICATE;
                        continue;
                }
                ent[m++] = ent[i];
                switch (ent[i].tag) {
                case ACLX_USER_OBJ: user_obj = true; break;
                case ACLX_GROUP_OBJ: group_obj = true; group_class |= ent[i].perm; break;
                case ACLX_OTHER: other = true; break;
                case ACLX_MASK: mask = true; break;
                case ACLX_USER:
                case ACLX_GROUP: named = true; group_class |= ent[i].perm; break;
                default:
                        *warnings |= TAR_WARNING_ACL_INVALID;
                        return false;
                }
        }
        if (!user_obj || !group_obj || !other) {
                *warnings |= TAR_WARNING_ACL_INVALID;
                return false;
        }
        if (named && !mask) {
                ent[m++] = (struct acl_xattr_entry) { .tag = ACLX_MASK, .perm = group_class, .id = UINT32_MAX };
                qsort(ent, m, sizeof(*ent), acl_entry_cmp);
                *warnings |= TAR_WARNING_ACL_NO_MASK;
        }
        *n = m;
        return true;
}

/* An ACL stored as a system.posix_acl_* xattr (SCHILY.xattr.system.posix_acl_access, as mmdebstrap
 * and systemd-import's archives carry them) gets the same treatment as one from SCHILY.acl.*:
 * repaired where it can be, else left out. */
static int entry_repair_acl_xattr(TarEntry *e, size_t idx, bool is_default) {
        TarXattr *x = &e->xattrs[idx];
        size_t n = x->size >= 4 ? (x->size - 4) / sizeof(struct acl_xattr_entry) : 0;
        uint32_t version = 0;
        if (x->size >= 4)
                memcpy(&version, x->value, 4);
        bool ok = x->size >= 4 && (x->size - 4) % sizeof(struct acl_xattr_entry) == 0 && version == ACL_XATTR_VERSION;
        if (ok && n == 0)
                return 1; /* no entries: the kernel takes it as "no ACL", valid anywhere */
        if (ok && is_default && !S_ISDIR(e->mode)) {
                e->warnings |= TAR_WARNING_ACL_DEFAULT_NONDIR;
                ok = false;
        } else if (!ok)
                e->warnings |= TAR_WARNING_ACL_INVALID;
        if (ok) {
                uint8_t *buf = malloc(4 + (n + 1) * sizeof(struct acl_xattr_entry));
                if (!buf)
                        return -ENOMEM;
                memcpy(buf, x->value, 4 + n * sizeof(struct acl_xattr_entry));
                ok = acl_repair((struct acl_xattr_entry *) (buf + 4), &n, &e->warnings);
                free(x->value);
                x->value = buf;
                x->size = 4 + n * sizeof(struct acl_xattr_entry);
        }
        if (!ok) {
                free(x->name);
                free(x->value);
                memmove(x, x + 1, (e->n_xattrs - idx - 1) * sizeof(TarXattr));
                e->n_xattrs--;
                return 0;
        }
        return 1;
}

static int entry_acl_to_xattr(struct archive_entry *ae, int type, const char *xattr_name, TarEntry *e) {
        int n = sym_archive_entry_acl_reset(ae, type);
        if (n <= 0 || tar_entry_has_xattr(e, xattr_name))
                return 0;
        if (n > TAR_ACL_ENTRIES_MAX)
                return -E2BIG;
        if (type == ARCHIVE_ENTRY_ACL_TYPE_DEFAULT && !S_ISDIR(e->mode)) {
                e->warnings |= TAR_WARNING_ACL_DEFAULT_NONDIR;
                return 0;
        }
        /* Room for a mask acl_repair() may add. */
        _cleanup_free_ uint8_t *buf = malloc(4 + ((size_t) n + 1) * sizeof(struct acl_xattr_entry));
        if (!buf)
                return -ENOMEM;
        struct acl_xattr_entry *ent = (struct acl_xattr_entry *) (buf + 4);
        size_t k = 0;
        int t, permset, tag, qual;
        const char *name;
        while (sym_archive_entry_acl_next(ae, type, &t, &permset, &tag, &qual, &name) == ARCHIVE_OK) {
                if (k >= (size_t) n)
                        return -EBADMSG;
                uint16_t xtag;
                switch (tag) {
                case ARCHIVE_ENTRY_ACL_USER_OBJ: xtag = ACLX_USER_OBJ; break;
                case ARCHIVE_ENTRY_ACL_USER: xtag = ACLX_USER; break;
                case ARCHIVE_ENTRY_ACL_GROUP_OBJ: xtag = ACLX_GROUP_OBJ; break;
                case ARCHIVE_ENTRY_ACL_GROUP: xtag = ACLX_GROUP; break;
                case ARCHIVE_ENTRY_ACL_MASK: xtag = ACLX_MASK; break;
                case ARCHIVE_ENTRY_ACL_OTHER: xtag = ACLX_OTHER; break;
                default: return -EBADMSG;
                }
                /* A named entry without a numeric id (qual -1: "user:alice:rwx") cannot be
                 * applied: UINT32_MAX, which acl_repair() leaves out. */
                bool named = xtag == ACLX_USER || xtag == ACLX_GROUP;
                ent[k] = (struct acl_xattr_entry) {
                        .tag = xtag,
                        .perm = (uint16_t) (permset & 7),
                        .id = named && qual >= 0 && (uint64_t) qual < UINT32_MAX ? (uint32_t) qual : UINT32_MAX,
                };
                k++;
        }
        if (k == 0 || !acl_repair(ent, &k, &e->warnings))
                return 0;
        uint32_t version = ACL_XATTR_VERSION;
        memcpy(buf, &version, 4);
        return entry_add_xattr(e, xattr_name, buf, 4 + k * sizeof(*ent));
}

static la_ssize_t reader_read_cb(struct archive *a, void *userdata, const void **buf) {
        TarReader *r = userdata;
        ssize_t n = r->read_block(r->userdata, buf);
        if (n < 0) {
                r->cb_error = (int) n;
                sym_archive_set_error(a, (int) -n, "%s", strerror((int) -n));
                return -1;
        }
        return n;
}

int tar_reader_new(TarReadBlock read_block, void *userdata, TarReader **ret) {
        /* Every other function here works on a reader or writer, which exists only once it loaded. */
        int k = dlopen_libarchive(NULL);
        if (k < 0)
                return k;
        TarReader *r = calloc(1, sizeof(TarReader));
        if (!r)
                return -ENOMEM;
        r->read_block = read_block;
        r->userdata = userdata;
        r->a = sym_archive_read_new();
        if (!r->a) {
                free(r);
                return -ENOMEM;
        }
        /* Only the tar format (pax, GNU, ustar, v7) and no filters: decompression is ours. */
        if (sym_archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
            sym_archive_read_open(r->a, r, NULL, reader_read_cb, NULL) != ARCHIVE_OK) {
                int e = r->cb_error ?: -EBADMSG;
                tar_reader_free(r);
                return e;
        }
        *ret = r;
        return 0;
}

static int reader_error(TarReader *r) {
        if (r->cb_error < 0)
                return r->cb_error;
        int e = sym_archive_errno(r->a);
        if (e == ENOMEM)
                return -ENOMEM;
        return -EBADMSG;
}

int tar_reader_next(TarReader *r, TarEntry *e) {
        tar_entry_clear(e);
        r->reason = NULL;
        struct archive_entry *ae;
        int ar = sym_archive_read_next_header(r->a, &ae);
        if (ar == ARCHIVE_EOF)
                return 0;
        if (ar < ARCHIVE_WARN)
                return reader_error(r);

        const char *p = sym_archive_entry_pathname(ae);
        if (!p)
                return -EBADMSG;
        e->path = strdup(p);
        if (!e->path)
                return -ENOMEM;
        const char *h = sym_archive_entry_hardlink(ae);
        if (h && !(e->hardlink = strdup(h)))
                return -ENOMEM;
        e->mode = sym_archive_entry_mode(ae);
        if (!h && S_ISLNK(e->mode)) {
                const char *s = sym_archive_entry_symlink(ae);
                if (!s)
                        return -EBADMSG;
                if (!(e->symlink = strdup(s)))
                        return -ENOMEM;
        }
        e->uid = (uid_t) sym_archive_entry_uid(ae);
        e->gid = (gid_t) sym_archive_entry_gid(ae);
        if (sym_archive_entry_uid(ae) < 0 || sym_archive_entry_uid(ae) > UINT32_MAX - 1 ||
            sym_archive_entry_gid(ae) < 0 || sym_archive_entry_gid(ae) > UINT32_MAX - 1)
                return -ERANGE;
        e->rdev = sym_archive_entry_rdev(ae);
        la_int64_t size = sym_archive_entry_size(ae);
        if (size < 0)
                return -EBADMSG;
        e->size = (uint64_t) size;
        e->mtime = (struct timespec) { .tv_sec = sym_archive_entry_mtime(ae), .tv_nsec = sym_archive_entry_mtime_nsec(ae) };
        if (sym_archive_entry_atime_is_set(ae)) {
                e->has_atime = true;
                e->atime = (struct timespec) { .tv_sec = sym_archive_entry_atime(ae), .tv_nsec = sym_archive_entry_atime_nsec(ae) };
        }
        if (e->mtime.tv_nsec < 0 || e->mtime.tv_nsec >= 1000000000)
                e->mtime.tv_nsec = 0;
        if (e->atime.tv_nsec < 0 || e->atime.tv_nsec >= 1000000000)
                e->atime.tv_nsec = 0;
        int regions = sym_archive_entry_sparse_count(ae);
        if (regions > (int) TAR_SPARSE_REGIONS_MAX) {
                r->reason = "sparse map with more regions than the limit (262144)";
                return -E2BIG;
        }
        e->sparse = regions > 0;

        const char *name;
        const void *value;
        size_t vsize;
        sym_archive_entry_xattr_reset(ae);
        while (sym_archive_entry_xattr_next(ae, &name, &value, &vsize) == ARCHIVE_OK) {
                if (!name || !*name)
                        return -EBADMSG;
                int k = entry_add_xattr(e, name, value, vsize);
                if (k == -E2BIG)
                        r->reason = "more or larger extended attributes than the limit";
                if (k < 0)
                        return k;
                bool acl_default = streq(name, ACL_XATTR_DEFAULT);
                if (acl_default || streq(name, ACL_XATTR_ACCESS)) {
                        k = entry_repair_acl_xattr(e, e->n_xattrs - 1, acl_default);
                        if (k < 0)
                                return k;
                }
        }
        int k = entry_acl_to_xattr(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, ACL_XATTR_ACCESS, e);
        if (k >= 0)
                k = entry_acl_to_xattr(ae, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, ACL_XATTR_DEFAULT, e);
        if (k == -E2BIG)
                r->reason = "ACL with more entries than the limit";
        if (k < 0)
                return k;
        return 1;
}

int tar_reader_data(TarReader *r, const void **ret_buf, size_t *ret_size, uint64_t *ret_offset) {
        la_int64_t offset;
        int ar = sym_archive_read_data_block(r->a, ret_buf, ret_size, &offset);
        if (ar == ARCHIVE_EOF)
                return 0;
        if (ar < ARCHIVE_WARN)
                return reader_error(r);
        if (offset < 0)
                return -EBADMSG;
        *ret_offset = (uint64_t) offset;
        return 1;
}

const char *tar_reader_error_string(TarReader *r) {
        return r ? sym_archive_error_string(r->a) : NULL;
}

const char *tar_reader_error_reason(TarReader *r) {
        return r ? r->reason : NULL;
}

TarReader *tar_reader_free(TarReader *r) {
        if (!r)
                return NULL;
        sym_archive_read_free(r->a);
        free(r);
        return NULL;
}

/* ---- writing ---- */

static int writer_error(TarWriter *w) {
        int e = sym_archive_errno(w->a);
        return e > 0 ? -e : -EIO;
}

static int writer_new(int fd, CompressType compress, bool raw, TarWriter **ret) {
        int r = dlopen_libarchive(NULL);
        if (r < 0)
                return r;
        _cleanup_(tar_writer_freep) TarWriter *w = calloc(1, sizeof(TarWriter));
        if (!w)
                return -ENOMEM;
        w->raw = raw;
        w->a = sym_archive_write_new();
        w->entry = sym_archive_entry_new();
        if (!w->a || !w->entry)
                return -ENOMEM;
        int ar = raw ? sym_archive_write_set_format_raw(w->a) : sym_archive_write_set_format_pax_restricted(w->a);
        if (ar != ARCHIVE_OK)
                return -EOPNOTSUPP;
        switch (compress) {
        case COMPRESS_NONE:
                ar = sym_archive_write_add_filter_none(w->a);
                break;
        case COMPRESS_GZIP:
                ar = sym_archive_write_add_filter_gzip(w->a);
                break;
        case COMPRESS_XZ:
                ar = sym_archive_write_add_filter_xz(w->a);
                if (ar == ARCHIVE_OK)
                        (void) sym_archive_write_set_filter_option(w->a, "xz", "threads", "0");
                break;
        case COMPRESS_BZIP2:
                ar = sym_archive_write_add_filter_bzip2(w->a);
                break;
        case COMPRESS_ZSTD:
                ar = sym_archive_write_add_filter_zstd(w->a);
                break;
        case _COMPRESS_TYPE_MAX:
        default:
                return -EINVAL;
        }
        if (ar != ARCHIVE_OK)
                return -EOPNOTSUPP;
        if (raw || compress != COMPRESS_NONE)
                (void) sym_archive_write_set_bytes_in_last_block(w->a, 1);
        if (sym_archive_write_open_fd(w->a, fd) != ARCHIVE_OK)
                return writer_error(w);
        *ret = TAKE_PTR(w);
        return 0;
}

int tar_writer_new(int fd, CompressType compress, TarWriter **ret) {
        return writer_new(fd, compress, false, ret);
}

int raw_writer_new(int fd, CompressType compress, TarWriter **ret) {
        return writer_new(fd, compress, true, ret);
}

static int entry_xattr_to_acl(struct archive_entry *ae, int type, const TarXattr *x) {
        const uint8_t *p = x->value;
        uint32_t version;
        if (x->size < 4 || (x->size - 4) % sizeof(struct acl_xattr_entry) != 0)
                return -EBADMSG;
        memcpy(&version, p, 4);
        if (version != ACL_XATTR_VERSION)
                return -EBADMSG;
        for (size_t off = 4; off < x->size; off += sizeof(struct acl_xattr_entry)) {
                struct acl_xattr_entry ent;
                memcpy(&ent, p + off, sizeof(ent));
                int tag;
                switch (ent.tag) {
                case ACLX_USER_OBJ: tag = ARCHIVE_ENTRY_ACL_USER_OBJ; break;
                case ACLX_USER: tag = ARCHIVE_ENTRY_ACL_USER; break;
                case ACLX_GROUP_OBJ: tag = ARCHIVE_ENTRY_ACL_GROUP_OBJ; break;
                case ACLX_GROUP: tag = ARCHIVE_ENTRY_ACL_GROUP; break;
                case ACLX_MASK: tag = ARCHIVE_ENTRY_ACL_MASK; break;
                case ACLX_OTHER: tag = ARCHIVE_ENTRY_ACL_OTHER; break;
                default: return -EBADMSG;
                }
                int qual = (tag == ARCHIVE_ENTRY_ACL_USER || tag == ARCHIVE_ENTRY_ACL_GROUP) ? (int) ent.id : -1;
                if (sym_archive_entry_acl_add_entry(ae, type, ent.perm & 7, tag, qual, NULL) != ARCHIVE_OK)
                        return -EBADMSG;
        }
        return 0;
}

int tar_writer_header(TarWriter *w, const TarEntry *e, const uint64_t *data_map, size_t n_data_map) {
        struct archive_entry *ae = sym_archive_entry_clear(w->entry);
        sym_archive_entry_set_pathname(ae, e->path);
        sym_archive_entry_set_mode(ae, e->mode);
        sym_archive_entry_set_uid(ae, e->uid);
        sym_archive_entry_set_gid(ae, e->gid);
        sym_archive_entry_set_mtime(ae, e->mtime.tv_sec, e->mtime.tv_nsec);
        if (e->hardlink) {
                sym_archive_entry_set_hardlink(ae, e->hardlink);
                sym_archive_entry_set_size(ae, 0);
        } else if (S_ISREG(e->mode))
                sym_archive_entry_set_size(ae, (la_int64_t) e->size);
        else
                sym_archive_entry_set_size(ae, 0);
        if (S_ISLNK(e->mode) && e->symlink)
                sym_archive_entry_set_symlink(ae, e->symlink);
        if (S_ISCHR(e->mode) || S_ISBLK(e->mode))
                sym_archive_entry_set_rdev(ae, e->rdev);
        for (size_t i = 0; i < e->n_xattrs; i++) {
                const TarXattr *x = &e->xattrs[i];
                int r = 0;
                if (streq(x->name, ACL_XATTR_ACCESS))
                        r = entry_xattr_to_acl(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, x);
                else if (streq(x->name, ACL_XATTR_DEFAULT))
                        r = entry_xattr_to_acl(ae, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, x);
                else
                        sym_archive_entry_xattr_add_entry(ae, x->name, x->value, x->size);
                if (r < 0)
                        return r;
        }
        if (!e->hardlink && S_ISREG(e->mode))
                for (size_t i = 0; i < n_data_map; i++)
                        sym_archive_entry_sparse_add_entry(ae, (la_int64_t) data_map[2 * i], (la_int64_t) data_map[2 * i + 1]);
        int ar = sym_archive_write_header(w->a, ae);
        if (ar < ARCHIVE_WARN)
                return writer_error(w);
        return 0;
}

int tar_writer_data(TarWriter *w, const void *buf, size_t size) {
        while (size > 0) {
                la_ssize_t n = sym_archive_write_data(w->a, buf, size);
                if (n <= 0)
                        return n == 0 ? -EIO : writer_error(w);
                buf = (const uint8_t *) buf + n;
                size -= (size_t) n;
        }
        return 0;
}

int tar_writer_close(TarWriter *w) {
        if (sym_archive_write_close(w->a) != ARCHIVE_OK)
                return writer_error(w);
        return 0;
}

const char *tar_writer_error_string(TarWriter *w) {
        return w ? sym_archive_error_string(w->a) : NULL;
}

TarWriter *tar_writer_free(TarWriter *w) {
        if (!w)
                return NULL;
        sym_archive_entry_free(w->entry);
        sym_archive_write_free(w->a);
        free(w);
        return NULL;
}
