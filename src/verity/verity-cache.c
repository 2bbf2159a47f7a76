/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A record of full userspace verifications, so that a verity image whose check cannot be lazy
 * (no device-mapper here, and no fs-verity either) is checked in full once and not at every run.
 *
 * Why this keeps the guarantee. dm-verity checks each block when it is read, so its start-up is
 * constant; without device-mapper verity_open() checks every block of a pinned copy before the
 * loop device is attached, which is O(image size) at every start. The only way to a constant
 * start-up without a kernel that checks blocks lazily is to know that the bytes are still the
 * ones that were checked. The kernel gives one cheap, unforgeable-by-userspace proof of that for
 * a regular file: FS_IMMUTABLE_FL. While it is set nobody writes, truncates, renames or removes
 * the file (not even root without first clearing it, which needs CAP_LINUX_IMMUTABLE); clearing
 * it, and setting it again, changes the inode's ctime, which utimensat() cannot set. So a record
 * holds, for the data file and the hash tree file each: device, inode number, generation (a new
 * file on a reused inode number gets another), size, mtime, ctime and birth time; and the offsets,
 * the tree's parameters and the root hash. verity-open.c writes one only when both files were
 * immutable and their keys were the same before and after a complete, successful verification,
 * and trusts one only when both files are immutable now and their keys are the same as then.
 * Any modification in between (clear the flag, write, set it again; replace the file) changes a
 * key, and the image is verified in full again: a flipped byte is still refused.
 *
 * What it does not cover, said plainly: dm-verity also catches blocks changed below the file
 * system (writes to the raw disk, a lying disk); this record, like the "immutable" pin of
 * verity_pin_file() during a run, trusts the host kernel's file system for that. The records live
 * in /run (a tmpfs on systemd hosts: forgotten at boot, so a disk changed while the host was down
 * is checked again), in a directory only root may write; a record planted by root is no attack
 * (root can replace cowpen). Files that are not immutable are never recorded: they are verified
 * in full every time, as before.
 *
 * Untrusted input: none parsed; a record's contents are compared byte for byte with the key. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "hash-util.h"
#include "util.h"
#include "verity-cache.h"

/* One file's part of a key; -EPERM when it is not an immutable regular file. */
static int file_key(int fd, char *buf, size_t size) {
        struct statx sx;
        if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &sx) < 0)
                return -errno;
        if (!S_ISREG(sx.stx_mode))
                return -EPERM;
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 || !(flags & FS_IMMUTABLE_FL))
                return -EPERM;
        int gen = 0;
        if (ioctl(fd, FS_IOC_GETVERSION, &gen) < 0)
                gen = 0; /* a file system without generations: the times still tell */
        int n = snprintf(buf, size, "%x:%x:%llu:%x:%llu:%lld.%u:%lld.%u:%lld.%u", sx.stx_dev_major, sx.stx_dev_minor,
                (unsigned long long) sx.stx_ino, (unsigned) gen, (unsigned long long) sx.stx_size,
                (long long) sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec, (long long) sx.stx_ctime.tv_sec,
                sx.stx_ctime.tv_nsec, (sx.stx_mask & STATX_BTIME) ? (long long) sx.stx_btime.tv_sec : -1LL,
                (sx.stx_mask & STATX_BTIME) ? sx.stx_btime.tv_nsec : 0U);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int verity_cache_key(int data_fd, uint64_t data_offset, int hash_fd, uint64_t hash_offset, bool superblock,
        const VerityParams *p, const uint8_t *root_hash, size_t root_hash_size, char **ret) {
        char d[256], h[256];
        int r;
        if ((r = file_key(data_fd, d, sizeof(d))) < 0 || (r = file_key(hash_fd, h, sizeof(h))) < 0)
                return r;
        _cleanup_free_ char *root = hexmem(root_hash, root_hash_size);
        _cleanup_free_ char *salt = hexmem(p->salt, p->salt_size);
        _cleanup_free_ char *uuid = hexmem(p->uuid, sizeof(p->uuid));
        if (!root || !salt || !uuid)
                return -ENOMEM;
        char *k = NULL;
        if (asprintf(&k,
                    "cowpen-verity-cache 1\ndata %s @%llu\nhash %s @%llu sb=%d\nparams format=%u hash=%s "
                    "data_block_size=%u hash_block_size=%u data_blocks=%llu salt=%s uuid=%s\nroot %s\n",
                    d, (unsigned long long) data_offset, h, (unsigned long long) hash_offset, superblock, p->format,
                    verity_hash_to_string(p->hash) ?: "?", p->data_block_size, p->hash_block_size,
                    (unsigned long long) p->data_blocks, salt, uuid, root) < 0)
                return -ENOMEM;
        if (strlen(k) >= VERITY_CACHE_KEY_MAX) {
                free(k);
                return -E2BIG;
        }
        *ret = k;
        return 0;
}

/* The cache directory, made when create; refused unless root's and writable by root alone. */
static int cache_dir_open(bool create) {
        const char *dir = getenv("COWPEN_VERITY_CACHE");
        if (!dir || !*dir)
                dir = VERITY_CACHE_DIR;
        if (create) {
                /* The parents as mkdir -p would make them; the last one private. */
                _cleanup_free_ char *copy = strdup(dir);
                if (!copy)
                        return -ENOMEM;
                for (char *s = strchr(copy + 1, '/'); s; s = strchr(s + 1, '/')) {
                        *s = 0;
                        (void) mkdir(copy, 0755);
                        *s = '/';
                }
                (void) mkdir(dir, 0700);
        }
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
                safe_close(fd);
                return -EPERM;
        }
        return fd;
}

/* A record's file name: the key's SHA-256 in hex. */
static int key_name(const char *key, char name[static 2 * 32 + 1]) {
        uint8_t digest[HASH_DIGEST_SIZE_MAX];
        int r = hash_digest(HASH_SHA256, key, strlen(key), digest);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 32; i++)
                snprintf(name + 2 * i, 3, "%02x", digest[i]);
        return 0;
}

int verity_cache_lookup(const char *key) {
        char name[65];
        if (key_name(key, name) < 0)
                return 0;
        _cleanup_close_ int dfd = cache_dir_open(false);
        if (dfd < 0)
                return 0;
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return 0;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
                return 0;
        char buf[VERITY_CACHE_KEY_MAX];
        ssize_t n = pread(fd, buf, sizeof(buf), 0);
        size_t l = strlen(key);
        return n >= 0 && (size_t) n == l && memcmp(buf, key, l) == 0;
}

/* Past the limit the records go (not one by one: they are equally cheap to lose). */
static void cache_trim(int dfd) {
        int d2 = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (d2 < 0)
                return;
        DIR *d = fdopendir(d2);
        if (!d) {
                safe_close(d2);
                return;
        }
        unsigned n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        if (n >= VERITY_CACHE_ENTRIES_MAX) {
                rewinddir(d);
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.')
                                (void) unlinkat(dfd, de->d_name, 0);
        }
        closedir(d);
}

int verity_cache_store(const char *key) {
        char name[65];
        int r = key_name(key, name);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = cache_dir_open(true);
        if (dfd < 0)
                return dfd;
        cache_trim(dfd);
        return write_file_atomic_at(dfd, name, key, strlen(key), 0600, ATOMIC_FILE_EXACT_MODE);
}
