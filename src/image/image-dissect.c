/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "image-dissect.h"
#include "util.h"

/* See image-dissect.h. Untrusted input: every byte of the image (protective MBR, GPT header and
 * entry array, file system superblocks). Nothing is read before it is bounds-checked against the
 * image size; sizes multiply only after they are checked against their limits, so no product
 * can overflow. */

#define LOOP_ATTACH_ATTEMPTS 64U

static uint32_t crc_table[256];

static void crc_init(void) {
        for (uint32_t i = 0; i < 256; i++) {
                uint32_t c = i;
                for (int k = 0; k < 8; k++)
                        c = (c & 1) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
                crc_table[i] = c;
        }
}

uint32_t gpt_crc32(const void *buf, size_t size) {
        if (crc_table[1] == 0)
                crc_init();
        const uint8_t *p = buf;
        uint32_t c = 0xFFFFFFFFU;
        for (size_t i = 0; i < size; i++)
                c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFU;
}

void uuid_format(const uint8_t u[16], char buf[static 37]) {
        snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
                u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

int uuid_from_string(const char *s, uint8_t ret[16]) {
        uint8_t u[16];
        size_t j = 0;
        for (size_t i = 0; s[i]; i++) {
                if (s[i] == '-' && (i == 8 || i == 13 || i == 18 || i == 23))
                        continue;
                int hi = unhexchar(s[i]), lo = s[i + 1] ? unhexchar(s[i + 1]) : -1;
                if (hi < 0 || lo < 0 || j >= 16)
                        return -EINVAL;
                u[j++] = (uint8_t) (hi << 4 | lo);
                i++;
        }
        if (j != 16)
                return -EINVAL;
        memcpy(ret, u, 16);
        return 0;
}

/* GPT stores the first three UUID fields little-endian. */
static void guid_from_disk(const uint8_t d[16], uint8_t u[16]) {
        u[0] = d[3], u[1] = d[2], u[2] = d[1], u[3] = d[0];
        u[4] = d[5], u[5] = d[4];
        u[6] = d[7], u[7] = d[6];
        memcpy(u + 8, d + 8, 8);
}

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

struct gpt_entry {
        uint8_t type[16];
        uint8_t uuid[16];
        uint64_t first_lba;
        uint64_t last_lba;
        uint64_t flags;
        uint16_t name[GPT_NAME_CHARS];
} __attribute__((packed));

static int gpt_read_sector_size(int fd, uint64_t size, uint32_t ss, GptTable *ret) {
        if (size < 2 * (uint64_t) ss)
                return -ENOMSG;
        _cleanup_free_ uint8_t *sector = malloc(ss);
        if (!sector)
                return -ENOMEM;
        int r = pread_full(fd, sector, ss, ss);
        if (r < 0)
                return r;
        struct gpt_header h;
        memcpy(&h, sector, sizeof(h));
        if (memcmp(h.signature, "EFI PART", 8) != 0)
                return -ENOMSG;

        uint32_t hsize = le32toh(h.header_size);
        if (hsize < GPT_HEADER_SIZE_MIN || hsize > ss)
                return -EBADMSG;
        uint32_t crc = le32toh(h.header_crc32);
        memset(sector + offsetof(struct gpt_header, header_crc32), 0, 4);
        if (gpt_crc32(sector, hsize) != crc)
                return -EBADMSG;
        if (le64toh(h.my_lba) != 1)
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

        _cleanup_free_ uint8_t *entries = malloc(array ?: 1);
        if (!entries)
                return -ENOMEM;
        if (array > 0 && (r = pread_full(fd, entries, (size_t) array, elba * ss)) < 0)
                return r;
        if (gpt_crc32(entries, (size_t) array) != le32toh(h.entries_crc32))
                return -EBADMSG;

        GptTable t = {.sector_size = ss};
        guid_from_disk(h.disk_guid, t.disk_uuid);
        t.partitions = calloc(n ?: 1, sizeof(GptPartition));
        if (!t.partitions)
                return -ENOMEM;
        static const uint8_t zero[16] = {};
        for (uint32_t i = 0; i < n; i++) {
                struct gpt_entry e;
                memcpy(&e, entries + (size_t) i * esize, sizeof(e));
                if (memcmp(e.type, zero, 16) == 0)
                        continue;
                uint64_t fl = le64toh(e.first_lba), ll = le64toh(e.last_lba);
                if (fl > ll || fl < first || ll > last) {
                        gpt_table_done(&t);
                        return -EBADMSG;
                }
                GptPartition *p = &t.partitions[t.n_partitions++];
                p->index = i + 1;
                guid_from_disk(e.type, p->type);
                guid_from_disk(e.uuid, p->uuid);
                p->first_lba = fl;
                p->last_lba = ll;
                p->flags = le64toh(e.flags);
                size_t k = 0;
                for (size_t c = 0; c < GPT_NAME_CHARS; c++) {
                        uint16_t ch = le16toh(e.name[c]);
                        if (ch == 0)
                                break;
                        p->name[k++] = ch >= 0x20 && ch < 0x7f ? (char) ch : '?';
                }
                p->name[k] = 0;
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

/* Primary MBR entries (slots 1…4) that share sectors. Extended partitions are left out: the
 * kernel maps only their first sectors, and their logical partitions lie inside them. */
static bool mbr_overlap(const uint8_t mbr[static 512], unsigned *ret_a, unsigned *ret_b) {
        uint64_t start[4], end[4];
        bool used[4];
        for (unsigned i = 0; i < 4; i++) {
                const uint8_t *e = mbr + 446 + 16 * i;
                uint32_t s, c;
                memcpy(&s, e + 8, 4);
                memcpy(&c, e + 12, 4);
                s = le32toh(s);
                c = le32toh(c);
                used[i] = e[4] != 0 && e[4] != 0x05 && e[4] != 0x0f && e[4] != 0x85 && c > 0;
                start[i] = s;
                end[i] = (uint64_t) s + c - 1;
        }
        for (unsigned i = 0; i < 4; i++)
                for (unsigned j = i + 1; j < 4; j++)
                        if (used[i] && used[j] && start[i] <= end[j] && start[j] <= end[i]) {
                                *ret_a = i + 1;
                                *ret_b = j + 1;
                                return true;
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
        uint8_t mbr[512];
        if (size < sizeof(mbr))
                return 0;
        if ((r = pread_full(fd, mbr, sizeof(mbr), 0)) < 0)
                return r;
        if (mbr[510] != 0x55 || mbr[511] != 0xAA)
                return 0;
        for (unsigned i = 0; i < 4; i++) /* what mbr_read_linux() takes for a partition table */
                if ((mbr[446 + 16 * i] != 0 && mbr[446 + 16 * i] != 0x80) || mbr[446 + 16 * i + 4] == 0xEE)
                        return 0;
        return mbr_overlap(mbr, ret_a, ret_b);
}

int gpt_read(int fd, uint64_t size, GptTable *ret) {
        for (uint32_t ss = GPT_SECTOR_SIZE_MIN; ss <= GPT_SECTOR_SIZE_MAX; ss <<= 3) {
                int r = gpt_read_sector_size(fd, size, ss, ret);
                if (r != -ENOMSG)
                        return r;
        }
        return -ENOMSG;
}

int mbr_read_linux(int fd, uint64_t size, uint64_t *ret_offset, uint64_t *ret_size, unsigned *ret_partno) {
        uint8_t mbr[512];
        if (size < sizeof(mbr))
                return -ENOMSG;
        int r = pread_full(fd, mbr, sizeof(mbr), 0);
        if (r < 0)
                return r;
        if (mbr[510] != 0x55 || mbr[511] != 0xAA)
                return -ENOMSG;
        unsigned found = 0, partno = 0, a, b;
        uint64_t off = 0, len = 0;
        for (unsigned i = 0; i < 4; i++) {
                const uint8_t *e = mbr + 446 + 16 * i;
                if (e[0] != 0 && e[0] != 0x80)
                        return -ENOMSG; /* not a partition table (a boot sector, a file system) */
                if (e[4] == 0xEE)
                        return -ENOMSG; /* protective MBR of a GPT */
                if (e[4] != 0x83)
                        continue;
                uint32_t start, count;
                memcpy(&start, e + 8, 4);
                memcpy(&count, e + 12, 4);
                start = le32toh(start);
                count = le32toh(count);
                if (start == 0 || count == 0 || ((uint64_t) start + count) * 512 > size)
                        return -EBADMSG;
                found++;
                partno = i + 1; /* the kernel numbers the primary slots 1…4, empty ones too */
                off = (uint64_t) start * 512;
                len = (uint64_t) count * 512;
        }
        if (found != 1)
                return -ENOMSG;
        /* The kernel refuses a partition that overlaps one it added (partition_overlaps()). */
        if (mbr_overlap(mbr, &a, &b))
                return -ERANGE;
        *ret_offset = off;
        *ret_size = len;
        if (ret_partno)
                *ret_partno = partno;
        return 0;
}

const char *fs_detect(int fd, uint64_t offset, uint64_t size) {
        static const struct {
                const char *fstype;
                uint64_t at;
                size_t len;
                const char *magic;
        } magics[] = {
                {"squashfs", 0, 4, "hsqs"},
                {"xfs", 0, 4, "XFSB"},
                {"erofs", 1024, 4, "\xe2\xe1\xf5\xe0"},
                {"ext4", 1080, 2, "\x53\xef"},
                {"btrfs", 65600, 8, "_BHRfS_M"},
        };
        for (size_t i = 0; i < ELEMENTSOF(magics); i++) {
                char buf[8];
                if (magics[i].at + magics[i].len > size)
                        continue;
                if (pread_full(fd, buf, magics[i].len, offset + magics[i].at) < 0)
                        continue;
                if (memcmp(buf, magics[i].magic, magics[i].len) == 0)
                        return magics[i].fstype;
        }
        return NULL;
}

static const char *const designator_table[_PARTITION_DESIGNATOR_MAX] = {
        [PARTITION_ROOT] = "root",
        [PARTITION_USR] = "usr",
        [PARTITION_ROOT_VERITY] = "root-verity",
        [PARTITION_ROOT_VERITY_SIG] = "root-verity-sig",
        [PARTITION_USR_VERITY] = "usr-verity",
        [PARTITION_USR_VERITY_SIG] = "usr-verity-sig",
};

const char *partition_designator_to_string(PartitionDesignator d) {
        return d >= 0 && d < _PARTITION_DESIGNATOR_MAX ? designator_table[d] : NULL;
}

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
        DissectedImage m = {.size = size};
        GptTable t = {};
        int r = gpt_read(fd, size, &t);
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
        if (ioctl(t, FICLONE, fd) >= 0) {
                *ret_how = "reflink";
                *ret_fd = TAKE_FD(t);
                return 0;
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        loff_t in = 0, out = 0;
        while (in < st.st_size) {
                if (interrupted())
                        return -EINTR;
                ssize_t n = copy_file_range(fd, &in, t, &out, (size_t) MIN((off_t) 1 << 30, st.st_size - in), 0);
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return -EIO;
        }
        *ret_how = "copy";
        *ret_fd = TAKE_FD(t);
        return 0;
}

int loop_attach(int fd, uint64_t offset, uint64_t size, bool read_only, int *ret_fd, char **ret_path) {
        return loop_attach_flags(fd, offset, size, read_only, false, ret_fd, ret_path);
}

int loop_attach_flags(int fd, uint64_t offset, uint64_t size, bool read_only, bool partscan, int *ret_fd,
                      char **ret_path) {
        _cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (ctl < 0)
                return errno == ENOENT ? -EOPNOTSUPP : negative_errno();
        for (unsigned attempt = 0; attempt < LOOP_ATTACH_ATTEMPTS; attempt++) {
                int n = ioctl(ctl, LOOP_CTL_GET_FREE);
                if (n < 0)
                        return negative_errno();
                char path[64];
                snprintf(path, sizeof(path), "/dev/loop%d", n);
                _cleanup_close_ int lfd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
                if (lfd < 0) {
                        if (errno == ENOENT)
                                continue;
                        return negative_errno();
                }
                struct loop_config cfg = {
                        .fd = (uint32_t) fd,
                        .info =
                                {
                                        .lo_offset = offset,
                                        .lo_sizelimit = size,
                                        .lo_flags = LO_FLAGS_AUTOCLEAR | (read_only ? LO_FLAGS_READ_ONLY : 0) |
                                                    (partscan ? LO_FLAGS_PARTSCAN : 0),
                                },
                };
                if (ioctl(lfd, LOOP_CONFIGURE, &cfg) < 0) {
                        if (errno == EBUSY)
                                continue;
                        return negative_errno();
                }
                char *p = strdup(path);
                if (!p)
                        return -ENOMEM;
                *ret_fd = TAKE_FD(lfd);
                *ret_path = p;
                return 0;
        }
        return -EBUSY;
}
