/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <blkid.h>
#include <endian.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy.h"
#include "dlopen-util.h"
#include "fd-util.h"
#include "image-dissect.h"
#include "string-table.h"
#include "util.h"
#include "uuid-util.h"

/* See image-dissect.h. Untrusted input: every byte of the image (protective MBR, GPT header and
 * entry array, file system superblocks). libblkid reads the partition tables and names the file
 * systems; this file is its one user, and loads it with dlopen() when an image is first dissected
 * (never for `run -D` or `-M` of a directory). What libblkid returns is checked against the named limits
 * and the image's size before it is used, and the GPT header's counts and sizes are checked
 * before libblkid reads the entry array they describe (libblkid itself allows up to 4 GiB). */

void gpt_table_done(GptTable *t) {
        if (!t)
                return;
        free(t->partitions);
        *t = (GptTable){};
}

static int pread_full(int fd, void *buf, size_t n, uint64_t offset) {
        size_t done = 0;
        while (done < n) {
                ssize_t k = pread(fd, (uint8_t *) buf + done, n - done, (off_t) (offset + done));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EIO;
                done += (size_t) k;
        }
        return 0;
}

/* libblkid, loaded by dlopen_libblkid() before the first probe (see dlopen-util.h): the functions
 * this file calls. */
static typeof(blkid_do_probe) *sym_blkid_do_probe;
static typeof(blkid_free_probe) *sym_blkid_free_probe;
static typeof(blkid_new_probe) *sym_blkid_new_probe;
static typeof(blkid_partition_get_flags) *sym_blkid_partition_get_flags;
static typeof(blkid_partition_get_partno) *sym_blkid_partition_get_partno;
static typeof(blkid_partition_get_size) *sym_blkid_partition_get_size;
static typeof(blkid_partition_get_start) *sym_blkid_partition_get_start;
static typeof(blkid_partition_get_table) *sym_blkid_partition_get_table;
static typeof(blkid_partition_get_type) *sym_blkid_partition_get_type;
static typeof(blkid_partition_get_type_string) *sym_blkid_partition_get_type_string;
static typeof(blkid_partition_get_uuid) *sym_blkid_partition_get_uuid;
static typeof(blkid_partition_is_extended) *sym_blkid_partition_is_extended;
static typeof(blkid_partlist_get_partition) *sym_blkid_partlist_get_partition;
static typeof(blkid_partlist_get_table) *sym_blkid_partlist_get_table;
static typeof(blkid_partlist_numof_partitions) *sym_blkid_partlist_numof_partitions;
static typeof(blkid_parttable_get_id) *sym_blkid_parttable_get_id;
static typeof(blkid_parttable_get_offset) *sym_blkid_parttable_get_offset;
static typeof(blkid_parttable_get_type) *sym_blkid_parttable_get_type;
static typeof(blkid_probe_enable_partitions) *sym_blkid_probe_enable_partitions;
static typeof(blkid_probe_enable_superblocks) *sym_blkid_probe_enable_superblocks;
static typeof(blkid_probe_filter_partitions_type) *sym_blkid_probe_filter_partitions_type;
static typeof(blkid_probe_filter_superblocks_type) *sym_blkid_probe_filter_superblocks_type;
static typeof(blkid_probe_get_partitions) *sym_blkid_probe_get_partitions;
static typeof(blkid_probe_lookup_value) *sym_blkid_probe_lookup_value;
static typeof(blkid_probe_set_device) *sym_blkid_probe_set_device;
static typeof(blkid_probe_set_partitions_flags) *sym_blkid_probe_set_partitions_flags;
static typeof(blkid_probe_set_sectorsize) *sym_blkid_probe_set_sectorsize;
static typeof(blkid_probe_set_superblocks_flags) *sym_blkid_probe_set_superblocks_flags;

static const DlopenSymbol libblkid_symbols[] = {
        DLSYM(blkid_do_probe),
        DLSYM(blkid_free_probe),
        DLSYM(blkid_new_probe),
        DLSYM(blkid_partition_get_flags),
        DLSYM(blkid_partition_get_partno),
        DLSYM(blkid_partition_get_size),
        DLSYM(blkid_partition_get_start),
        DLSYM(blkid_partition_get_table),
        DLSYM(blkid_partition_get_type),
        DLSYM(blkid_partition_get_type_string),
        DLSYM(blkid_partition_get_uuid),
        DLSYM(blkid_partition_is_extended),
        DLSYM(blkid_partlist_get_partition),
        DLSYM(blkid_partlist_get_table),
        DLSYM(blkid_partlist_numof_partitions),
        DLSYM(blkid_parttable_get_id),
        DLSYM(blkid_parttable_get_offset),
        DLSYM(blkid_parttable_get_type),
        DLSYM(blkid_probe_enable_partitions),
        DLSYM(blkid_probe_enable_superblocks),
        DLSYM(blkid_probe_filter_partitions_type),
        DLSYM(blkid_probe_filter_superblocks_type),
        DLSYM(blkid_probe_get_partitions),
        DLSYM(blkid_probe_lookup_value),
        DLSYM(blkid_probe_set_device),
        DLSYM(blkid_probe_set_partitions_flags),
        DLSYM(blkid_probe_set_sectorsize),
        DLSYM(blkid_probe_set_superblocks_flags),
        {},
};
static DlopenLibrary libblkid_library = DLOPEN_LIBRARY_INIT(LIBBLKID_SONAME, libblkid_symbols);

int dlopen_libblkid(const char **ret_detail) {
        return dlopen_library(&libblkid_library, ret_detail);
}

/* A libblkid probe of bytes [offset, offset + size) of fd, through an open file description of
 * its own: libblkid moves the file offset, and its POSIX_FADV_RANDOM would stay on the file a loop
 * device is then attached to (no more readahead for the container's reads). */
typedef struct Probe {
        blkid_probe pr;
        int fd;
} Probe;

#define PROBE_NULL                                                                                                    \
        { .fd = -EBADF }

static void probe_done(Probe *p) {
        if (p->pr)
                sym_blkid_free_probe(p->pr);
        safe_close(p->fd);
        *p = (Probe) PROBE_NULL;
}

static int probe_open(int fd, uint64_t offset, uint64_t size, Probe *ret) {
        /* A size of 0 would tell libblkid "to the end of the device". */
        if (size == 0 || offset > INT64_MAX || size > INT64_MAX - offset)
                return -EINVAL;
        int r = dlopen_libblkid(NULL);
        if (r < 0)
                return r;
        _cleanup_(probe_done) Probe p = {.pr = sym_blkid_new_probe(), .fd = fd_reopen(fd, O_RDONLY)};
        if (p.fd < 0)
                return p.fd;
        if (!p.pr)
                return -ENOMEM;
        errno = 0;
        if (sym_blkid_probe_set_device(p.pr, p.fd, (blkid_loff_t) offset, (blkid_loff_t) size) != 0)
                return errno > 0 ? -errno : -EIO;
        *ret = p;
        p = (Probe) PROBE_NULL;
        return 0;
}

/* The partition table of type ("gpt" or "dos") libblkid finds with sectors of ss bytes, in *ret,
 * or NULL there when it finds none of that type. The list belongs to the probe. */
static int probe_partitions(Probe *p, const char *type, uint32_t ss, blkid_partlist *ret) {
        char *types[] = {(char *) type, NULL};
        /* No protective MBR needed, as the old parser needed none: the partitions the kernel does
         * not find then are added with BLKPG (image-loop.c). */
        if (sym_blkid_probe_set_sectorsize(p->pr, ss) < 0 || sym_blkid_probe_enable_partitions(p->pr, true) < 0 ||
                sym_blkid_probe_set_partitions_flags(p->pr, BLKID_PARTS_FORCE_GPT | BLKID_PARTS_ENTRY_DETAILS) < 0 ||
                sym_blkid_probe_filter_partitions_type(p->pr, BLKID_FLTR_ONLYIN, types) < 0)
                return -ENOMEM;
        errno = 0;
        blkid_partlist pl = sym_blkid_probe_get_partitions(p->pr);
        /* NULL: no table, or a failure libblkid left in errno (a read error, no memory). */
        if (!pl && (errno == EIO || errno == ENOMEM))
                return -errno;
        blkid_parttable tab = pl ? sym_blkid_partlist_get_table(pl) : NULL;
        const char *t = tab ? sym_blkid_parttable_get_type(tab) : NULL;
        *ret = t && streq(t, type) ? pl : NULL;
        return 0;
}

struct gpt_header {
        char signature[8];
        uint32_t revision;
        uint32_t header_size;
        uint32_t header_crc32;
        uint32_t reserved;
        uint64_t my_lba;
        uint64_t alternate_lba;
        uint64_t first_usable_lba;
        uint64_t last_usable_lba;
        uint8_t disk_guid[16];
        uint64_t entries_lba;
        uint32_t n_entries;
        uint32_t entry_size;
        uint32_t entries_crc32;
} __attribute__((packed));

/* What of a GPT header the checks around libblkid need. */
typedef struct GptHeader {
        uint64_t first_usable, last_usable, entries_lba;
        uint32_t n_entries, entry_size;
} GptHeader;

/* The header at LBA lba (sectors of ss bytes): 0, or -ENOMSG when there is none. */
static int gpt_header_read(int fd, uint32_t ss, uint64_t lba, struct gpt_header *ret) {
        _cleanup_free_ uint8_t *sector = malloc(ss);
        if (!sector)
                return -ENOMEM;
        int r = pread_full(fd, sector, ss, lba * ss);
        if (r < 0)
                return r;
        memcpy(ret, sector, sizeof(*ret));
        return memcmp(ret->signature, "EFI PART", 8) == 0 ? 0 : -ENOMSG;
}

/* The primary header's counts, sizes and LBAs against the limits and the image, before libblkid
 * reads what they describe (the CRCs and the header's own LBA are libblkid's to check). */
static int gpt_header_check(int fd, uint64_t size, uint32_t ss, GptHeader *ret) {
        if (size < 2 * (uint64_t) ss)
                return -ENOMSG;
        struct gpt_header h;
        int r = gpt_header_read(fd, ss, 1, &h);
        if (r < 0)
                return r;

        uint32_t hsize = le32toh(h.header_size);
        if (hsize < GPT_HEADER_SIZE_MIN || hsize > ss)
                return -EBADMSG;
        uint32_t n = le32toh(h.n_entries), esize = le32toh(h.entry_size);
        if (n > GPT_ENTRIES_MAX || esize > GPT_ENTRY_SIZE_MAX)
                return -E2BIG;
        if (esize < GPT_ENTRY_SIZE_MIN || esize % GPT_ENTRY_SIZE_MIN != 0 || (esize & (esize - 1)) != 0)
                return -EBADMSG;
        uint64_t array = (uint64_t) n * esize; /* ≤ 1024 × 4096: fits */
        if (array > GPT_ENTRY_ARRAY_SIZE_MAX)
                return -E2BIG;
        uint64_t sectors = size / ss;
        uint64_t elba = le64toh(h.entries_lba), first = le64toh(h.first_usable_lba), last = le64toh(h.last_usable_lba);
        if (elba < 2 || elba >= sectors || array > (sectors - elba) * ss)
                return -EBADMSG;
        if (first > last || last >= sectors)
                return -EBADMSG;
        /* libblkid reads 128-byte entries only, as the kernel does (UEFI allows larger ones). */
        if (esize != GPT_ENTRY_SIZE)
                return -EBADMSG;
        *ret = (GptHeader){
                .first_usable = first, .last_usable = last, .entries_lba = elba, .n_entries = n, .entry_size = esize};
        return 0;
}

/* When the primary header fails its CRC or LBA, libblkid reads the backup header at the last LBA
 * and its entry array (the table is then refused below: the old parser read the primary only).
 * That array is held to the same limit. */
static int gpt_backup_check(int fd, uint64_t size, uint32_t ss) {
        struct gpt_header h;
        int r = gpt_header_read(fd, ss, size / ss - 1, &h);
        if (r == -ENOMSG)
                return 0;
        if (r < 0)
                return r;
        if (le32toh(h.entry_size) == GPT_ENTRY_SIZE && le32toh(h.n_entries) > GPT_ENTRIES_MAX)
                return -E2BIG;
        return 0;
}

/* How many entries of the array are used (a type other than all zeros). */
static int gpt_count_used(int fd, uint32_t ss, const GptHeader *h, size_t *ret) {
        size_t array = (size_t) h->n_entries * h->entry_size; /* checked: ≤ GPT_ENTRY_ARRAY_SIZE_MAX */
        _cleanup_free_ uint8_t *entries = malloc(array ?: 1);
        if (!entries)
                return -ENOMEM;
        int r;
        if (array > 0 && (r = pread_full(fd, entries, array, h->entries_lba * ss)) < 0)
                return r;
        static const uint8_t zero[16] = {};
        size_t used = 0;
        for (size_t i = 0; i < h->n_entries; i++)
                if (memcmp(entries + i * h->entry_size, zero, sizeof(zero)) != 0)
                        used++;
        *ret = used;
        return 0;
}

static int gpt_read_sector_size(int fd, uint64_t size, uint32_t ss, GptTable *ret) {
        GptHeader h;
        int r = gpt_header_check(fd, size, ss, &h);
        if (r < 0)
                return r;

        if ((r = gpt_backup_check(fd, size, ss)) < 0)
                return r;

        _cleanup_(probe_done) Probe p = PROBE_NULL;
        blkid_partlist pl;
        if ((r = probe_open(fd, 0, size, &p)) < 0 || (r = probe_partitions(&p, "gpt", ss, &pl)) < 0)
                return r;
        /* None: the primary header or its entry array failed a check of libblkid's (a CRC, its
         * LBA). A table from the backup header: the primary did. */
        blkid_parttable tab = pl ? sym_blkid_partlist_get_table(pl) : NULL;
        if (!tab || sym_blkid_parttable_get_offset(tab) != (blkid_loff_t) ss)
                return -EBADMSG;
        int n = sym_blkid_partlist_numof_partitions(pl);
        if (n < 0)
                return -EIO;
        if ((unsigned) n > GPT_ENTRIES_MAX)
                return -E2BIG;
        /* libblkid leaves out used entries that lie outside the usable LBAs; the table is refused
         * instead, as before (the kernel would add those that lie inside the disk). */
        size_t used;
        if ((r = gpt_count_used(fd, ss, &h, &used)) < 0)
                return r;
        if (used != (size_t) n)
                return -EBADMSG;

        GptTable t = {.sector_size = ss};
        (void) uuid_from_string(sym_blkid_parttable_get_id(tab) ?: "", t.disk_uuid);
        t.partitions = calloc(n ?: 1, sizeof(GptPartition));
        if (!t.partitions)
                return -ENOMEM;
        uint32_t ssf = ss / 512; /* libblkid counts in 512-byte sectors */
        for (int i = 0; i < n; i++) {
                blkid_partition bp = sym_blkid_partlist_get_partition(pl, i);
                int partno = bp ? sym_blkid_partition_get_partno(bp) : -1;
                blkid_loff_t start = bp ? sym_blkid_partition_get_start(bp) : -1,
                             len = bp ? sym_blkid_partition_get_size(bp) : -1;
                /* An entry that ends before it starts has a size that wrapped around (negative). */
                if (partno < 1 || (unsigned) partno > h.n_entries || start < 0 || len <= 0 || start % ssf != 0 ||
                        len % ssf != 0) {
                        gpt_table_done(&t);
                        return -EBADMSG;
                }
                uint64_t fl = (uint64_t) start / ssf, ll = fl + (uint64_t) len / ssf - 1;
                GptPartition *gp = &t.partitions[t.n_partitions++];
                if (ll < fl || fl < h.first_usable || ll > h.last_usable ||
                        uuid_from_string(sym_blkid_partition_get_type_string(bp) ?: "", gp->type) < 0) {
                        gpt_table_done(&t);
                        return -EBADMSG;
                }
                gp->index = (unsigned) partno;
                (void) uuid_from_string(sym_blkid_partition_get_uuid(bp) ?: "", gp->uuid); /* "" when all zeros */
                gp->first_lba = fl;
                gp->last_lba = ll;
                gp->flags = sym_blkid_partition_get_flags(bp);
        }
        *ret = t;
        return 0;
}

bool gpt_table_overlap(const GptTable *t, unsigned *ret_a, unsigned *ret_b) {
        /* At most GPT_ENTRIES_MAX entries: comparing every pair is cheap enough. */
        for (size_t i = 0; i < t->n_partitions; i++)
                for (size_t j = i + 1; j < t->n_partitions; j++) {
                        const GptPartition *a = &t->partitions[i], *b = &t->partitions[j];
                        if (a->first_lba <= b->last_lba && b->first_lba <= a->last_lba) {
                                *ret_a = a->index;
                                *ret_b = b->index;
                                return true;
                        }
                }
        return false;
}

int gpt_read(int fd, uint64_t size, GptTable *ret) {
        for (uint32_t ss = GPT_SECTOR_SIZE_MIN; ss <= GPT_SECTOR_SIZE_MAX; ss <<= 3) {
                int r = gpt_read_sector_size(fd, size, ss, ret);
                if (r != -ENOMSG)
                        return r;
        }
        return -ENOMSG;
}

/* The MBR as libblkid reads it, in 512-byte sectors as before: -ENOMSG when there is none (no
 * 0x55AA, a boot indicator other than 0 and 0x80, a protective MBR, a FAT boot sector). */
static int mbr_probe(int fd, uint64_t size, Probe *p, blkid_partlist *ret) {
        if (size < 512)
                return -ENOMSG;
        int r = probe_open(fd, 0, size, p);
        if (r < 0)
                return r;
        if ((r = probe_partitions(p, "dos", 512, ret)) < 0)
                return r;
        return *ret ? 0 : -ENOMSG;
}

/* A primary entry (slots 1…4; libblkid lists those with sectors, logical ones from 5 on). */
static bool mbr_primary(blkid_partlist pl, blkid_partition bp) {
        int partno = sym_blkid_partition_get_partno(bp);
        return partno >= 1 && partno <= 4 && sym_blkid_partition_get_table(bp) == sym_blkid_partlist_get_table(pl);
}

/* Primary MBR entries that share sectors. Extended partitions are left out: the kernel maps only
 * their first sectors, and their logical partitions lie inside them. */
static bool mbr_overlap(blkid_partlist pl, unsigned *ret_a, unsigned *ret_b) {
        int n = sym_blkid_partlist_numof_partitions(pl);
        blkid_partition used[4];
        size_t k = 0;
        for (int i = 0; i < n && k < ELEMENTSOF(used); i++) {
                blkid_partition bp = sym_blkid_partlist_get_partition(pl, i);
                if (bp && mbr_primary(pl, bp) && sym_blkid_partition_get_type(bp) != 0 && !sym_blkid_partition_is_extended(bp))
                        used[k++] = bp;
        }
        for (size_t i = 0; i < k; i++)
                for (size_t j = i + 1; j < k; j++) {
                        blkid_loff_t sa = sym_blkid_partition_get_start(used[i]), sb = sym_blkid_partition_get_start(used[j]);
                        blkid_loff_t ea = sa + sym_blkid_partition_get_size(used[i]) - 1,
                                     eb = sb + sym_blkid_partition_get_size(used[j]) - 1;
                        if (sa <= eb && sb <= ea) {
                                *ret_a = (unsigned) sym_blkid_partition_get_partno(used[i]);
                                *ret_b = (unsigned) sym_blkid_partition_get_partno(used[j]);
                                return true;
                        }
                }
        return false;
}

int image_dissect_overlap(int fd, uint64_t size, unsigned *ret_a, unsigned *ret_b) {
        GptTable t = {};
        int r = gpt_read(fd, size, &t);
        if (r >= 0) {
                bool o = gpt_table_overlap(&t, ret_a, ret_b);
                gpt_table_done(&t);
                return o;
        }
        if (r != -ENOMSG)
                return r;
        _cleanup_(probe_done) Probe p = PROBE_NULL;
        blkid_partlist pl;
        r = mbr_probe(fd, size, &p, &pl);
        if (r == -ENOMSG)
                return 0;
        if (r < 0)
                return r;
        return mbr_overlap(pl, ret_a, ret_b);
}

int mbr_read_linux(int fd, uint64_t size, uint64_t *ret_offset, uint64_t *ret_size, unsigned *ret_partno) {
        _cleanup_(probe_done) Probe p = PROBE_NULL;
        blkid_partlist pl;
        int r = mbr_probe(fd, size, &p, &pl);
        if (r < 0)
                return r;
        unsigned found = 0, partno = 0, a, b;
        uint64_t off = 0, len = 0;
        int n = sym_blkid_partlist_numof_partitions(pl);
        for (int i = 0; i < n; i++) {
                blkid_partition bp = sym_blkid_partlist_get_partition(pl, i);
                if (!bp || !mbr_primary(pl, bp) || sym_blkid_partition_get_type(bp) != 0x83)
                        continue;
                blkid_loff_t start = sym_blkid_partition_get_start(bp), count = sym_blkid_partition_get_size(bp);
                if (start <= 0 || count <= 0 || (uint64_t) (start + count) * 512 > size)
                        return -EBADMSG;
                found++;
                partno = (unsigned) sym_blkid_partition_get_partno(bp); /* the kernel's number: the slot */
                off = (uint64_t) start * 512;
                len = (uint64_t) count * 512;
        }
        if (found != 1)
                return -ENOMSG;
        /* The kernel refuses a partition that overlaps one it added (partition_overlaps()). */
        if (mbr_overlap(pl, &a, &b))
                return -ERANGE;
        *ret_offset = off;
        *ret_size = len;
        if (ret_partno)
                *ret_partno = partno;
        return 0;
}

const char *fs_detect(int fd, uint64_t offset, uint64_t size) {
        /* libblkid's names, in the order of the magic list this replaced (it decides when two
         * superblocks are present). Any ext2/3/4 is mounted as ext4; a squashfs of version 3 or
         * older is named too, as its magic was. */
        static const struct {
                const char *blkid, *fstype;
        } types[] = {
                {"squashfs", "squashfs"},
                {"squashfs3", "squashfs"},
                {"xfs", "xfs"},
                {"erofs", "erofs"},
                {"ext4", "ext4"},
                {"ext4dev", "ext4"},
                {"ext3", "ext4"},
                {"ext2", "ext4"},
                {"btrfs", "btrfs"},
        };
        _cleanup_(probe_done) Probe p = PROBE_NULL;
        if (probe_open(fd, offset, size, &p) < 0)
                return NULL;
        char *names[ELEMENTSOF(types) + 1] = {};
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                names[i] = (char *) types[i].blkid;
        /* A superblock with a bad checksum is named as its magic was: the kernel refuses to mount
         * it, with its own word. */
        if (sym_blkid_probe_enable_partitions(p.pr, false) < 0 || sym_blkid_probe_enable_superblocks(p.pr, true) < 0 ||
                sym_blkid_probe_set_superblocks_flags(p.pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_BADCSUM) < 0 ||
                sym_blkid_probe_filter_superblocks_type(p.pr, BLKID_FLTR_ONLYIN, names) < 0)
                return NULL;
        size_t best = ELEMENTSOF(types);
        while (sym_blkid_do_probe(p.pr) == 0) {
                const char *type = NULL;
                if (sym_blkid_probe_lookup_value(p.pr, "TYPE", &type, NULL) < 0 || !type)
                        continue;
                for (size_t i = 0; i < best; i++)
                        if (streq(type, types[i].blkid))
                                best = i;
        }
        return best < ELEMENTSOF(types) ? types[best].fstype : NULL;
}

static const char *const partition_designator_table[_PARTITION_DESIGNATOR_MAX] = {
        [PARTITION_ROOT] = "root",
        [PARTITION_USR] = "usr",
        [PARTITION_ROOT_VERITY] = "root-verity",
        [PARTITION_ROOT_VERITY_SIG] = "root-verity-sig",
        [PARTITION_USR_VERITY] = "usr-verity",
        [PARTITION_USR_VERITY_SIG] = "usr-verity-sig",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(partition_designator, PartitionDesignator);

/* Discoverable Partitions Specification type UUIDs for this architecture. */
static const char *const type_table[_PARTITION_DESIGNATOR_MAX] = {
#if defined(__x86_64__)
        [PARTITION_ROOT] = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
        [PARTITION_USR] = "8484680c-9521-48c6-9c11-b0720656f69e",
        [PARTITION_ROOT_VERITY] = "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
        [PARTITION_ROOT_VERITY_SIG] = "41092b05-9fc8-4523-994f-2def0408b176",
        [PARTITION_USR_VERITY] = "77ff5f63-e7b6-4633-acf4-1565b864c0e6",
        [PARTITION_USR_VERITY_SIG] = "e7bb33fb-06cf-4e81-8273-e543b413e2e2",
#elif defined(__aarch64__)
        [PARTITION_ROOT] = "b921b045-1df0-41c3-af44-4c6f280d3fae",
        [PARTITION_USR] = "b0e01050-ee5f-4390-949a-9101b17104e9",
        [PARTITION_ROOT_VERITY] = "df3300ce-d69f-4c92-978c-9bfb0f38d820",
        [PARTITION_ROOT_VERITY_SIG] = "6db69de6-29f4-4758-a7a5-962190f00ce3",
        [PARTITION_USR_VERITY] = "6e11a4e7-fbca-4ded-b9e9-e1a512bb664e",
        [PARTITION_USR_VERITY_SIG] = "c23ce4ff-44bd-4b00-b2d4-b41b3419e02a",
#else
#error "Discoverable partition types are only listed for x86-64 and arm64"
#endif
};
static const char generic_linux_type[] = "0fc63daf-8483-4772-8e79-3d69d8477de4";

static void set_partition(DissectedPartition *d, const GptPartition *p, uint32_t ss) {
        *d = (DissectedPartition){
                .found = true,
                .partno = p->index,
                .offset = p->first_lba * ss,
                .size = (p->last_lba - p->first_lba + 1) * ss,
                .read_only = p->flags & GPT_FLAG_READ_ONLY,
        };
        memcpy(d->uuid, p->uuid, 16);
}

int image_dissect(int fd, uint64_t size, const uint8_t *root_hash, size_t root_hash_size, DissectedImage *ret) {
        return image_dissect_hashes(fd, size, root_hash, root_hash_size, root_hash, root_hash_size, ret);
}

int image_dissect_hashes(int fd, uint64_t size, const uint8_t *root_hash, size_t root_hash_size, const uint8_t *usr_hash,
                         size_t usr_hash_size, DissectedImage *ret) {
        /* First, so that a missing libblkid is said as such whatever the image holds (a header
         * that fails our own checks, or an image too small for libblkid to be asked). */
        int r = dlopen_libblkid(NULL);
        if (r < 0)
                return r;
        DissectedImage m = {.size = size};
        GptTable t = {};
        r = gpt_read(fd, size, &t);
        if (r == -ENOMSG) {
                uint64_t off, len;
                unsigned partno;
                r = mbr_read_linux(fd, size, &off, &len, &partno);
                if (r == -ENOMSG) {
                        /* A bare file system. */
                        const char *fs = fs_detect(fd, 0, size);
                        if (!fs)
                                return -ENXIO;
                        m.kind = DISSECT_BARE;
                        m.partitions[PARTITION_ROOT] = (DissectedPartition){.found = true, .size = size, .fstype = fs};
                        *ret = m;
                        return 0;
                }
                if (r < 0)
                        return r;
                m.kind = DISSECT_MBR;
                m.partitions[PARTITION_ROOT] = (DissectedPartition){
                        .found = true, .partno = partno, .offset = off, .size = len, .fstype = fs_detect(fd, off, len)};
                *ret = m;
                return 0;
        }
        if (r < 0)
                return r;
        m.kind = DISSECT_GPT;
        /* The kernel adds the first of two overlapping partitions and refuses the other
         * (block/partitions/core.c: partition_overlaps()), so the loop device would not show the
         * partition we found. */
        unsigned oa, ob;
        if (gpt_table_overlap(&t, &oa, &ob)) {
                gpt_table_done(&t);
                return -ERANGE;
        }

        uint8_t types[_PARTITION_DESIGNATOR_MAX][16], generic[16];
        for (size_t i = 0; i < _PARTITION_DESIGNATOR_MAX; i++)
                (void) uuid_from_string(type_table[i], types[i]);
        (void) uuid_from_string(generic_linux_type, generic);

        /* With a root hash, the data partitions carry its first 128 bits as UUID and the verity
         * partitions its last 128 bits (systemd-repart); root and usr each by their own hash. */
        const uint8_t *data_uuid[_PARTITION_DESIGNATOR_MAX] = {}, *verity_uuid[_PARTITION_DESIGNATOR_MAX] = {};
        if (root_hash && root_hash_size >= 32) {
                data_uuid[PARTITION_ROOT] = root_hash;
                verity_uuid[PARTITION_ROOT_VERITY] = root_hash + root_hash_size - 16;
        }
        if (usr_hash && usr_hash_size >= 32) {
                data_uuid[PARTITION_USR] = usr_hash;
                verity_uuid[PARTITION_USR_VERITY] = usr_hash + usr_hash_size - 16;
        }

        const GptPartition *generic_found = NULL;
        unsigned n_generic = 0;
        r = 0;
        for (size_t i = 0; i < t.n_partitions && r >= 0; i++) {
                const GptPartition *p = &t.partitions[i];
                if (p->flags & GPT_FLAG_NO_AUTO)
                        continue;
                if (memcmp(p->type, generic, 16) == 0) {
                        generic_found = p;
                        n_generic++;
                        continue;
                }
                for (size_t d = 0; d < _PARTITION_DESIGNATOR_MAX; d++) {
                        if (memcmp(p->type, types[d], 16) != 0)
                                continue;
                        if (data_uuid[d] && memcmp(p->uuid, data_uuid[d], 16) != 0)
                                break;
                        if (verity_uuid[d] && memcmp(p->uuid, verity_uuid[d], 16) != 0)
                                break;
                        if (m.partitions[d].found) {
                                r = -ENOTUNIQ;
                                break;
                        }
                        set_partition(&m.partitions[d], p, t.sector_size);
                        break;
                }
        }
        if (r >= 0 && !m.partitions[PARTITION_ROOT].found && !m.partitions[PARTITION_USR].found) {
                /* No discoverable root: a single generic Linux partition is the root. */
                if (n_generic == 1)
                        set_partition(&m.partitions[PARTITION_ROOT], generic_found, t.sector_size);
                else
                        r = n_generic > 1 ? -ENOTUNIQ : -ENXIO;
        }
        gpt_table_done(&t);
        if (r < 0)
                return r;
        for (size_t d = 0; d < _PARTITION_DESIGNATOR_MAX; d++)
                if (m.partitions[d].found && (d == PARTITION_ROOT || d == PARTITION_USR))
                        m.partitions[d].fstype = fs_detect(fd, m.partitions[d].offset, m.partitions[d].size);
        *ret = m;
        return 0;
}

int image_private_copy(int fd, int dir_fd, int *ret_fd, const char **ret_how) {
        _cleanup_close_ int t = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (t < 0)
                return negative_errno();
        int r = copy_file_data(fd, t, COPY_FILE_REFLINK | COPY_FILE_STRICT);
        if (r < 0)
                return r;
        *ret_how = r > 0 ? "reflink" : "copy";
        *ret_fd = TAKE_FD(t);
        return 0;
}
