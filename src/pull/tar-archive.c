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
#include "fd-util.h"
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
static typeof(archive_filter_bytes) *sym_archive_filter_bytes;
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
static typeof(archive_write_open) *sym_archive_write_open;
static typeof(archive_write_finish_entry) *sym_archive_write_finish_entry;
static typeof(archive_write_set_bytes_per_block) *sym_archive_write_set_bytes_per_block;
static typeof(archive_write_set_format_option) *sym_archive_write_set_format_option;
static typeof(archive_write_open_fd) *sym_archive_write_open_fd;
static typeof(archive_write_set_bytes_in_last_block) *sym_archive_write_set_bytes_in_last_block;
static typeof(archive_write_set_filter_option) *sym_archive_write_set_filter_option;
static typeof(archive_write_set_format_pax) *sym_archive_write_set_format_pax;
static typeof(archive_write_set_format_raw) *sym_archive_write_set_format_raw;

static const DlopenSymbol libarchive_symbols[] = {
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
        DLSYM(archive_filter_bytes),
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
        DLSYM(archive_write_open),
        DLSYM(archive_write_finish_entry),
        DLSYM(archive_write_set_bytes_per_block),
        DLSYM(archive_write_set_format_option),
        DLSYM(archive_write_open_fd),
        DLSYM(archive_write_set_bytes_in_last_block),
        DLSYM(archive_write_set_filter_option),
        DLSYM(archive_write_set_format_pax),
        DLSYM(archive_write_set_format_raw),
        {},
};
static DlopenLibrary libarchive_library = DLOPEN_LIBRARY_INIT(LIBARCHIVE_SONAME, libarchive_symbols);

int dlopen_libarchive(const char **ret_detail) {
        return dlopen_library(&libarchive_library, ret_detail);
}

/* Bytes of the block before the current one that are kept: libarchive looks ahead one header (512
 * bytes) at most, so what it read but did not consume lies in the current block and at most the
 * last 512 bytes of the one before (which it copied before asking for the next). */
#define TAR_TAIL_KEEP 512

struct TarReader {
        struct archive *a;
        struct archive_entry *entry; /* owned by a */
        TarReadBlock read_block;
        void *userdata;
        int cb_error;
        /* What the callback handed to libarchive, for what lies after the end of the archive. */
        uint64_t delivered;
        const uint8_t *cur;
        size_t n_cur;
        uint8_t prev_tail[TAR_TAIL_KEEP];
        size_t n_prev_tail;
        bool ended;
        uint64_t trailing;   /* bytes read after the end of the archive */
        bool trailing_data;  /* and some of them not zero */
        bool trailing_tar;   /* the first non-zero block of them is a ustar header */
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
        /* tar: libarchive's pax writer hands its output, unblocked and uncompressed, to
         * writer_output(): into out (flushed to fd, or into the compressing raw writer z), or,
         * while a header is written, into header, where SCHILY.acl records are added. */
        int fd;
        struct archive *z;
        uint8_t *out, *header;
        size_t n_out, n_header, allocated_header;
        bool capturing;
        int cb_error;
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
                bool named = ent[i].tag == ACL_USER || ent[i].tag == ACL_GROUP;
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
                case ACL_USER_OBJ: user_obj = true; break;
                case ACL_GROUP_OBJ: group_obj = true; group_class |= ent[i].perm; break;
                case ACL_OTHER: other = true; break;
                case ACL_MASK: mask = true; break;
                case ACL_USER:
                case ACL_GROUP: named = true; group_class |= ent[i].perm; break;
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
                ent[m++] = (struct acl_xattr_entry) { .tag = ACL_MASK, .perm = group_class, .id = UINT32_MAX };
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
                case ARCHIVE_ENTRY_ACL_USER_OBJ: xtag = ACL_USER_OBJ; break;
                case ARCHIVE_ENTRY_ACL_USER: xtag = ACL_USER; break;
                case ARCHIVE_ENTRY_ACL_GROUP_OBJ: xtag = ACL_GROUP_OBJ; break;
                case ARCHIVE_ENTRY_ACL_GROUP: xtag = ACL_GROUP; break;
                case ARCHIVE_ENTRY_ACL_MASK: xtag = ACL_MASK; break;
                case ARCHIVE_ENTRY_ACL_OTHER: xtag = ACL_OTHER; break;
                default: return -EBADMSG;
                }
                /* A named entry without a numeric id (qual -1: "user:alice:rwx") cannot be
                 * applied: UINT32_MAX, which acl_repair() leaves out. */
                bool named = xtag == ACL_USER || xtag == ACL_GROUP;
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
        /* The current block is valid until read_block() is called again: keep its tail. */
        if (r->n_cur > 0) {
                size_t k = MIN(r->n_cur, (size_t) TAR_TAIL_KEEP);
                memcpy(r->prev_tail, r->cur + r->n_cur - k, k);
                r->n_prev_tail = k;
        }
        r->cur = NULL;
        r->n_cur = 0;
        ssize_t n = r->read_block(r->userdata, buf);
        if (n < 0) {
                r->cb_error = (int) n;
                sym_archive_set_error(a, (int) -n, "%s", strerror((int) -n));
                return -1;
        }
        r->cur = *buf;
        r->n_cur = (size_t) n;
        r->delivered += (uint64_t) n;
        return n;
}

static bool all_zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i] != 0)
                        return false;
        return true;
}

/* At the end of the archive: what libarchive read past the end-of-archive marker (or past the last
 * entry, when the stream simply stopped there) without consuming it. */
static void reader_note_end(TarReader *r) {
        if (r->ended)
                return;
        r->ended = true;
        la_int64_t consumed = sym_archive_filter_bytes(r->a, 0);
        if (consumed < 0 || (uint64_t) consumed >= r->delivered)
                return;
        uint64_t left = r->delivered - (uint64_t) consumed;
        r->trailing = left;
        if (left > r->n_cur) {
                size_t from_prev = (size_t) MIN(left - r->n_cur, (uint64_t) r->n_prev_tail);
                if (!all_zero(r->prev_tail + r->n_prev_tail - from_prev, from_prev))
                        r->trailing_data = true;
                left = r->n_cur;
        }
        if (!all_zero(r->cur + r->n_cur - left, (size_t) left))
                r->trailing_data = true;
        /* Another archive after this one's end (cat a.tar b.tar)? Its header, after zero blocks,
         * where it is in the block at hand. */
        for (const uint8_t *h = r->cur + r->n_cur - left; h + 512 <= r->cur + r->n_cur; h += 512)
                if (!all_zero(h, 512)) {
                        r->trailing_tar = memcmp(h + 257, "ustar", 5) == 0;
                        break;
                }
}

uint64_t tar_reader_trailing(TarReader *r, bool *ret_data) {
        if (ret_data)
                *ret_data = r->trailing_data;
        return r->trailing;
}

bool tar_reader_trailing_archive(TarReader *r) {
        return r->trailing_tar;
}

uint64_t tar_reader_offset(TarReader *r) {
        la_int64_t o = sym_archive_filter_bytes(r->a, 0);
        return o < 0 ? 0 : (uint64_t) o;
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

int tar_reader_next(TarReader *r, TarEntry *e, Diag *diag) {
        tar_entry_clear(e);
        struct archive_entry *ae;
        int ar = sym_archive_read_next_header(r->a, &ae);
        if (ar == ARCHIVE_EOF) {
                reader_note_end(r);
                return 0;
        }
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
        if (regions > (int) TAR_SPARSE_REGIONS_MAX)
                return diag_fail(diag, -E2BIG, NULL, "sparse map with more regions than the limit (%u)",
                                 TAR_SPARSE_REGIONS_MAX);
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
                        return diag_fail(diag, k, NULL, "more or larger extended attributes than the limit");
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
                return diag_fail(diag, k, NULL, "ACL with more entries than the limit");
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

TarReader *tar_reader_free(TarReader *r) {
        if (!r)
                return NULL;
        sym_archive_read_free(r->a);
        free(r);
        return NULL;
}

/* ---- writing ---- */

#define WRITER_OUT_SIZE (1024 * 1024) /* output buffered before it goes to the fd or compressor */
/* One entry's header bytes as libarchive writes them: room for as many xattrs of the largest size
 * as a reader here takes (TAR_XATTRS_MAX), plus the rest of the header. */
#define PAX_HEADER_MAX ((size_t) TAR_XATTRS_MAX * (XATTR_SIZE_MAX + XATTR_NAME_MAX + 64) + 1024 * 1024)

/* libarchive's errno of a writer as -errno (-EIO when it has none). */
static int archive_write_errno(struct archive *a) {
        int e = sym_archive_errno(a);
        return e > 0 ? -e : -EIO;
}

static int writer_error(TarWriter *w) {
        if (w->cb_error < 0)
                return w->cb_error;
        return archive_write_errno(w->a);
}

/* The tar stream's bytes to where they go: the fd, or the compressor. */
static int sink_write(TarWriter *w, const void *buf, size_t size) {
        if (!w->z)
                return loop_write(w->fd, buf, size);
        for (size_t off = 0; off < size;) {
                la_ssize_t n = sym_archive_write_data(w->z, (const uint8_t *) buf + off, size - off);
                if (n <= 0)
                        return n == 0 ? -EIO : archive_write_errno(w->z);
                off += (size_t) n;
        }
        return 0;
}

static int output_flush(TarWriter *w) {
        if (w->n_out == 0)
                return 0;
        int r = sink_write(w, w->out, w->n_out);
        w->n_out = 0;
        return r;
}

static int output_append(TarWriter *w, const void *buf, size_t n) {
        /* File data comes in blocks of the exporter's buffer size: those go straight through. */
        if (n >= WRITER_OUT_SIZE) {
                int r = output_flush(w);
                return r < 0 ? r : sink_write(w, buf, n);
        }
        while (n > 0) {
                size_t k = MIN(n, WRITER_OUT_SIZE - w->n_out);
                memcpy(w->out + w->n_out, buf, k);
                w->n_out += k;
                buf = (const uint8_t *) buf + k;
                n -= k;
                if (w->n_out == WRITER_OUT_SIZE) {
                        int r = output_flush(w);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static la_ssize_t writer_output(struct archive *a, void *userdata, const void *buf, size_t n) {
        TarWriter *w = userdata;
        int r = 0;
        if (w->capturing) {
                if (n > PAX_HEADER_MAX - w->n_header)
                        r = -E2BIG;
                else {
                        if (w->n_header + n > w->allocated_header) {
                                size_t k = MAX(w->allocated_header * 2, MAX(w->n_header + n, (size_t) 4096));
                                uint8_t *h = realloc(w->header, k);
                                if (!h)
                                        r = -ENOMEM;
                                else {
                                        w->header = h;
                                        w->allocated_header = k;
                                }
                        }
                        if (r >= 0) {
                                memcpy(w->header + w->n_header, buf, n);
                                w->n_header += n;
                        }
                }
        } else
                r = output_append(w, buf, n);
        if (r < 0) {
                w->cb_error = r;
                sym_archive_set_error(a, -r, "%s", strerror(-r));
                return -1;
        }
        return (la_ssize_t) n;
}

static int add_filter(struct archive *a, CompressType compress) {
        int ar;
        switch (compress) {
        case COMPRESS_NONE:
                ar = sym_archive_write_add_filter_none(a);
                break;
        case COMPRESS_GZIP:
                ar = sym_archive_write_add_filter_gzip(a);
                /* No time stamp in the gzip header: the same tree gives the same bytes (push-oci's
                 * layers keep their digest, so a second push finds them in the registry). */
                if (ar == ARCHIVE_OK)
                        (void) sym_archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
                break;
        case COMPRESS_XZ:
                ar = sym_archive_write_add_filter_xz(a);
                if (ar == ARCHIVE_OK)
                        (void) sym_archive_write_set_filter_option(a, "xz", "threads", "0");
                break;
        case COMPRESS_BZIP2:
                ar = sym_archive_write_add_filter_bzip2(a);
                break;
        case COMPRESS_ZSTD:
                ar = sym_archive_write_add_filter_zstd(a);
                break;
        case _COMPRESS_TYPE_MAX:
        case _COMPRESS_TYPE_INVALID:
        default:
                return -EINVAL;
        }
        return ar == ARCHIVE_OK ? 0 : -EOPNOTSUPP;
}

/* A raw (formatless) compressing writer on fd: export-raw's, and the tar writer's second stage. */
static int raw_archive_new(int fd, CompressType compress, struct archive **ret) {
        struct archive *a = sym_archive_write_new();
        if (!a)
                return -ENOMEM;
        int r = sym_archive_write_set_format_raw(a) == ARCHIVE_OK ? 0 : -EOPNOTSUPP;
        if (r >= 0)
                r = add_filter(a, compress);
        if (r >= 0) {
                (void) sym_archive_write_set_bytes_in_last_block(a, 1);
                if (sym_archive_write_open_fd(a, fd) != ARCHIVE_OK)
                        r = archive_write_errno(a);
        }
        if (r < 0) {
                sym_archive_write_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

/* What both writers start with: libarchive loaded, and the entry they fill per header. */
static int writer_alloc(bool raw, TarWriter **ret) {
        int r = dlopen_libarchive(NULL);
        if (r < 0)
                return r;
        _cleanup_(tar_writer_freep) TarWriter *w = calloc(1, sizeof(TarWriter));
        if (!w)
                return -ENOMEM;
        w->raw = raw;
        w->fd = -EBADF;
        w->entry = sym_archive_entry_new();
        if (!w->entry)
                return -ENOMEM;
        *ret = TAKE_PTR(w);
        return 0;
}

int raw_writer_new(int fd, CompressType compress, TarWriter **ret) {
        _cleanup_(tar_writer_freep) TarWriter *w = NULL;
        int r = writer_alloc(true, &w);
        if (r < 0)
                return r;
        r = raw_archive_new(fd, compress, &w->a);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

int tar_writer_new(int fd, CompressType compress, TarWriter **ret) {
        _cleanup_(tar_writer_freep) TarWriter *w = NULL;
        int r = writer_alloc(false, &w);
        if (r < 0)
                return r;
        w->fd = fd;
        w->a = sym_archive_write_new();
        w->out = malloc(WRITER_OUT_SIZE);
        if (!w->a || !w->out)
                return -ENOMEM;
        /* Full pax rather than restricted pax: restricted writes a pax header (and with it the
         * mtime's nanoseconds) only for entries that need one for something else, so a plain file
         * lost its sub-second mtime. Full pax adds the mtime record exactly when it has
         * nanoseconds (atime and ctime are never set here). Xattrs as SCHILY.xattr only, which
         * every reader knows (GNU tar warns about each LIBARCHIVE.xattr record). */
        if (sym_archive_write_set_format_pax(w->a) != ARCHIVE_OK || sym_archive_write_add_filter_none(w->a) != ARCHIVE_OK)
                return -EOPNOTSUPP;
        (void) sym_archive_write_set_format_option(w->a, "pax", "xattrheader", "SCHILY");
        /* Unblocked, so that what one archive_write_header() writes reaches writer_output() within
         * that call (and can be completed there); writer_output() buffers. */
        if (sym_archive_write_set_bytes_per_block(w->a, 0) != ARCHIVE_OK)
                return -EOPNOTSUPP;
        if (compress != COMPRESS_NONE) {
                r = raw_archive_new(fd, compress, &w->z);
                if (r < 0)
                        return r;
                struct archive_entry *ze = sym_archive_entry_new();
                if (!ze)
                        return -ENOMEM;
                sym_archive_entry_set_pathname(ze, "stream");
                sym_archive_entry_set_mode(ze, S_IFREG | 0644);
                int ar = sym_archive_write_header(w->z, ze);
                sym_archive_entry_free(ze);
                if (ar < ARCHIVE_WARN)
                        return archive_write_errno(w->z);
        }
        if (sym_archive_write_open(w->a, w, NULL, writer_output, NULL) != ARCHIVE_OK)
                return writer_error(w);
        *ret = TAKE_PTR(w);
        return 0;
}

/* The kernel's ACL xattr as the text of SCHILY.acl.access/default, the way libarchive writes it
 * (numeric ids, comma separated): "user::rw-,user:1000:rw-,group::r--,mask::rw-,other::r--". */
static int acl_xattr_to_text(const TarXattr *x, char **ret) {
        const uint8_t *p = x->value;
        uint32_t version;
        if (x->size < 4 || (x->size - 4) % sizeof(struct acl_xattr_entry) != 0)
                return -EBADMSG;
        memcpy(&version, p, 4);
        if (version != ACL_XATTR_VERSION)
                return -EBADMSG;
        size_t n = (x->size - 4) / sizeof(struct acl_xattr_entry);
        if (n == 0 || n > TAR_ACL_ENTRIES_MAX)
                return -EBADMSG;
        _cleanup_free_ char *t = malloc(n * 24 + 1); /* "group:4294967295:rwx," */
        if (!t)
                return -ENOMEM;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                struct acl_xattr_entry ent;
                memcpy(&ent, p + 4 + i * sizeof(ent), sizeof(ent));
                const char *tag;
                bool qualified = false;
                switch (ent.tag) {
                case ACL_USER_OBJ: tag = "user"; break;
                case ACL_USER: tag = "user"; qualified = true; break;
                case ACL_GROUP_OBJ: tag = "group"; break;
                case ACL_GROUP: tag = "group"; qualified = true; break;
                case ACL_MASK: tag = "mask"; break;
                case ACL_OTHER: tag = "other"; break;
                default: return -EBADMSG;
                }
                char id[16] = "";
                if (qualified)
                        snprintf(id, sizeof(id), "%u", ent.id);
                o += (size_t) sprintf(t + o, "%s%s:%s:%c%c%c", i > 0 ? "," : "", tag, id, ent.perm & 4 ? 'r' : '-',
                                      ent.perm & 2 ? 'w' : '-', ent.perm & 1 ? 'x' : '-');
        }
        *ret = TAKE_PTR(t);
        return 0;
}

/* Appends the pax record "LEN KEY=VALUE\n" (LEN counting itself) to *records. */
static int pax_record_append(char **records, size_t *n, const char *key, const char *value) {
        size_t body = 1 + strlen(key) + 1 + strlen(value) + 1, len = body + 1;
        for (size_t digits = 1;; digits++) {
                len = body + digits;
                char b[24];
                if ((size_t) snprintf(b, sizeof(b), "%zu", len) == digits)
                        break;
        }
        char *k = realloc(*records, *n + len + 1);
        if (!k)
                return -ENOMEM;
        *records = k;
        *n += (size_t) sprintf(k + *n, "%zu %s=%s\n", len, key, value);
        return 0;
}

static uint64_t parse_octal(const uint8_t *f, size_t n, bool *ok) {
        uint64_t v = 0;
        size_t i = 0;
        while (i < n && f[i] == ' ')
                i++;
        size_t digits = 0;
        for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++)
                v = v * 8 + (uint64_t) (f[i] - '0');
        *ok = digits > 0 && (i == n || f[i] == 0 || f[i] == ' ');
        return v;
}

static void header_checksum(uint8_t *h) {
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (size_t i = 0; i < 512; i++)
                sum += h[i];
        char b[8];
        snprintf(b, sizeof(b), "%06o", sum & 0777777);
        memcpy(h + 148, b, 7); /* six digits and a NUL; the space after stays */
}

#define ROUND_UP_512(x) (((x) + 511) & ~(size_t) 511)

/* Adds records to the pax extended header ('x') libarchive wrote first into w->header for this
 * entry (every entry with an ACL has one: its ACL xattrs need it), then queues the header bytes. */
static int header_add_records(TarWriter *w, const char *records, size_t n) {
        if (w->n_header < 512 || w->header[156] != 'x')
                return -EPROTO;
        bool ok;
        uint64_t size = parse_octal(w->header + 124, 12, &ok);
        if (!ok || size > PAX_HEADER_MAX || 512 + ROUND_UP_512((size_t) size) > w->n_header)
                return -EPROTO;
        size_t old_end = 512 + ROUND_UP_512((size_t) size), new_size = (size_t) size + n;
        size_t new_end = 512 + ROUND_UP_512(new_size);
        _cleanup_free_ uint8_t *b = calloc(1, new_end + (w->n_header - old_end));
        if (!b)
                return -ENOMEM;
        memcpy(b, w->header, 512 + (size_t) size);
        memcpy(b + 512 + size, records, n);
        memcpy(b + new_end, w->header + old_end, w->n_header - old_end);
        char f[16];
        snprintf(f, sizeof(f), "%011zo", new_size);
        memcpy(b + 124, f, 11);
        header_checksum(b);
        return output_append(w, b, new_end + (w->n_header - old_end));
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
        /* POSIX ACLs go both ways: as the kernel's binary xattr SCHILY.xattr.system.posix_acl_*
         * (what GNU tar --xattrs without --acls restores, as systemd-import runs it, and what
         * mmdebstrap's tarballs carry) and as SCHILY.acl.access/default text (what GNU tar --acls
         * and bsdtar restore; GNU tar then skips the xattr). Readers that take both (bsdtar;
         * cowpen's own keeps the xattr and ignores the text) set the same ACL.
         *
         * The text is added to libarchive's pax header here rather than through libarchive's ACL
         * entries: libarchive keeps an ACL's user::, group:: and other:: in the entry's mode, so
         * the header's group bits would be group:: instead of the mask (st_mode's), and GNU tar
         * --xattrs, which sets the xattr first and the header's mode after it, would cut the mask
         * down to group::. Here the mode is st_mode, as GNU tar writes it. */
        _cleanup_free_ char *records = NULL;
        size_t n_records = 0;
        for (size_t i = 0; i < e->n_xattrs; i++) {
                const TarXattr *x = &e->xattrs[i];
                bool access = streq(x->name, ACL_XATTR_ACCESS);
                if (!w->raw && (access || streq(x->name, ACL_XATTR_DEFAULT))) {
                        _cleanup_free_ char *text = NULL;
                        int r = acl_xattr_to_text(x, &text);
                        if (r < 0)
                                return r;
                        r = pax_record_append(&records, &n_records, access ? "SCHILY.acl.access" : "SCHILY.acl.default",
                                              text);
                        if (r < 0)
                                return r;
                }
                sym_archive_entry_xattr_add_entry(ae, x->name, x->value, x->size);
        }
        if (!e->hardlink && S_ISREG(e->mode))
                for (size_t i = 0; i < n_data_map; i++)
                        sym_archive_entry_sparse_add_entry(ae, (la_int64_t) data_map[2 * i], (la_int64_t) data_map[2 * i + 1]);
        if (w->raw) {
                int ar = sym_archive_write_header(w->a, ae);
                return ar < ARCHIVE_WARN ? writer_error(w) : 0;
        }

        /* The previous entry's padding goes out first, then this header is captured whole. */
        if (sym_archive_write_finish_entry(w->a) < ARCHIVE_WARN)
                return writer_error(w);
        w->n_header = 0;
        w->capturing = true;
        int ar = sym_archive_write_header(w->a, ae);
        w->capturing = false;
        if (ar < ARCHIVE_WARN)
                return writer_error(w);
        if (records)
                return header_add_records(w, records, n_records);
        return output_append(w, w->header, w->n_header);
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
        if (w->raw)
                return 0;
        int r = output_flush(w);
        if (r < 0)
                return r;
        if (w->z && sym_archive_write_close(w->z) != ARCHIVE_OK)
                return archive_write_errno(w->z);
        return 0;
}

TarWriter *tar_writer_free(TarWriter *w) {
        if (!w)
                return NULL;
        sym_archive_entry_free(w->entry);
        sym_archive_write_free(w->a);
        sym_archive_write_free(w->z);
        free(w->out);
        free(w->header);
        free(w);
        return NULL;
}
