/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Foreign architectures: an image whose programs are not the host's runs through qemu-user, as a
 * binfmt_misc handler hands them to it.
 *
 * - A host handler (/proc/sys/fs/binfmt_misc/NAME) that is enabled, matches the image's ELF
 *   header and has the F flag (the kernel opened the interpreter when it was registered, so it
 *   need not exist inside the container): it just works. Without F, the interpreter is looked up
 *   inside the container when a program runs: it must be there.
 * - None, and --private-users: kernels from 6.7 on give each user namespace a binfmt_misc
 *   instance of its own. The setup process, in the container's user namespace and a mount
 *   namespace that namespace owns, mounts it at /proc/sys/fs/binfmt_misc and registers the
 *   host's qemu-user there with the F flag, through /proc/self/fd of the interpreter it opened
 *   on the host before pivot_root; nothing host-wide changes, and the handler goes with the
 *   container's user namespace.
 * - Otherwise: one line naming the image's architecture, the host's and the package.
 *
 * Untrusted input: the image's ELF header (image-arch.c reads it; only its bytes are compared
 * here). The host's binfmt_misc entries are the host's (size- and count-limited all the same). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "image.h"
#include "spawn-arch.h"
#include "spawn.h"
#include "util.h"

#define BINFMT_MISC_DIR "/proc/sys/fs/binfmt_misc"
#define QEMU_PACKAGE "qemu-user-static"

void spawn_arch_done(SpawnArch *a) {
        a->interpreter_fd = safe_close(a->interpreter_fd);
}

/* Hex digits of a binfmt_misc entry's "magic"/"mask" line into bytes; at most max. */
static size_t parse_hex(const char *s, uint8_t *out, size_t max) {
        size_t n = 0;
        while (s[0] && s[1] && n < max) {
                int hi = unhexchar(s[0]), lo = unhexchar(s[1]);
                if (hi < 0 || lo < 0)
                        break;
                out[n++] = (uint8_t) (hi << 4 | lo);
                s += 2;
        }
        return n;
}

/* The rest of line after prefix, or NULL. */
static const char *after(const char *line, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(line, prefix, l) == 0 ? line + l : NULL;
}

typedef struct HostHandler {
        bool enabled, open_file;
        char interpreter[256];
        uint8_t magic[128], mask[128];
        size_t magic_size, mask_size;
        unsigned offset;
        bool is_magic;
} HostHandler;

/* One entry's text (as the kernel formats it: "enabled", "interpreter PATH", "flags: OCF",
 * "offset N", "magic HEX", "mask HEX"). */
static void handler_parse(char *text, HostHandler *h) {
        *h = (HostHandler){};
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                const char *v;
                if (streq(line, "enabled"))
                        h->enabled = true;
                else if ((v = after(line, "interpreter ")))
                        snprintf(h->interpreter, sizeof(h->interpreter), "%s", v);
                else if ((v = after(line, "flags: ")))
                        h->open_file = strchr(v, 'F');
                else if ((v = after(line, "offset ")))
                        h->offset = (unsigned) strtoul(v, NULL, 10);
                else if ((v = after(line, "magic "))) {
                        h->magic_size = parse_hex(v, h->magic, sizeof(h->magic));
                        h->is_magic = true;
                } else if ((v = after(line, "mask ")))
                        h->mask_size = parse_hex(v, h->mask, sizeof(h->mask));
        }
}

/* As the kernel's check_file(): each byte of the header masked equals the (masked) magic. */
static bool handler_matches(const HostHandler *h, const ImageArch *arch) {
        if (!h->is_magic || h->magic_size == 0 || h->offset + h->magic_size > arch->header_size)
                return false;
        for (size_t i = 0; i < h->magic_size; i++) {
                uint8_t m = i < h->mask_size ? h->mask[i] : 0xff;
                if ((arch->header[h->offset + i] & m) != (h->magic[i] & m))
                        return false;
        }
        return true;
}

/* The host's enabled handler for the header: 1 with ret filled, 0 when there is none
 * (binfmt_misc not mounted or off included). */
static int host_handler_find(const ImageArch *arch, HostHandler *ret) {
        _cleanup_free_ char *status = NULL;
        size_t size = 0;
        if (read_file_at(AT_FDCWD, BINFMT_MISC_DIR "/status", 0, 64, &status, &size) < 0 ||
                !startswith(status, "enabled"))
                return 0;
        DIR *d = opendir(BINFMT_MISC_DIR);
        if (!d)
                return 0;
        struct dirent *de;
        unsigned n = 0;
        int found = 0;
        while ((de = readdir(d)) && n++ < SPAWN_ARCH_BINFMT_ENTRIES_MAX) {
                if (de->d_name[0] == '.' || streq(de->d_name, "status") || streq(de->d_name, "register"))
                        continue;
                _cleanup_free_ char *text = NULL;
                if (read_file_at(dirfd(d), de->d_name, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
                            SPAWN_ARCH_BINFMT_ENTRY_SIZE_MAX, &text, &size) < 0)
                        continue;
                HostHandler h;
                handler_parse(text, &h);
                if (h.enabled && handler_matches(&h, arch)) {
                        *ret = h;
                        found = 1;
                        /* One with the F flag wins over one without. */
                        if (h.open_file)
                                break;
                }
        }
        closedir(d);
        return found;
}

/* qemu-user for the architecture on the host: the static build first (it needs nothing inside
 * the container), as Debian's qemu-user-static installs it. */
static int qemu_open(const char *qemu, char *path, size_t size) {
        for (size_t i = 0; i < 2; i++) {
                if (i == 0)
                        snprintf(path, size, "/usr/bin/qemu-%s-static", qemu);
                else
                        snprintf(path, size, "/usr/libexec/qemu-binfmt/%s-binfmt-P", qemu);
                int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        continue;
                struct stat st;
                if (fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
                        return fd;
                safe_close(fd);
        }
        return -ENOENT;
}

/* ":NAME:M::MAGIC:MASK:INTERPRETER:F": the ELF identification, class, byte order, version,
 * e_type EXEC or DYN and e_machine of the image's program, as qemu's own handlers match. */
static int register_line(const ImageArch *arch, const char *qemu, int interpreter_fd, char *buf, size_t size) {
        if (arch->header_size < 20)
                return -EINVAL;
        uint8_t magic[20], mask[20];
        memcpy(magic, arch->header, 20);
        memset(mask, 0xff, sizeof(mask));
        mask[7] = 0; /* EI_OSABI: any */
        memset(magic + 7, 0, 9);
        bool le = arch->header[5] == 1; /* ELFDATA2LSB */
        /* e_type 2 (EXEC) or 3 (DYN): the lowest bit masked off. */
        magic[16] = le ? 2 : 0;
        magic[17] = le ? 0 : 2;
        mask[le ? 16 : 17] = 0xfe;
        size_t k = (size_t) snprintf(buf, size, ":cowpen-qemu-%s:M::", qemu);
        for (size_t i = 0; i < 20 && k < size; i++)
                k += (size_t) snprintf(buf + k, size - k, "\\x%02x", magic[i] & mask[i]);
        if (k < size)
                k += (size_t) snprintf(buf + k, size - k, ":");
        for (size_t i = 0; i < 20 && k < size; i++)
                k += (size_t) snprintf(buf + k, size - k, "\\x%02x", mask[i]);
        if (k < size)
                k += (size_t) snprintf(buf + k, size - k, ":/proc/self/fd/%i:F", interpreter_fd);
        return k < size ? 0 : -ENAMETOOLONG;
}

int spawn_arch_prepare(int root_fd, bool userns, SpawnArch *ret, Diag *diag) {
        SpawnArch a = SPAWN_ARCH_NULL;
        ImageArch arch;
        /* A tree that does not say (no ELF init or shell, no ARCHITECTURE=) is run as it is. */
        if (image_read_architecture(root_fd, &arch) < 0 || architecture_runs_natively(arch.name)) {
                *ret = a;
                return 0;
        }
        a.image_arch = arch.name;
        const char *host = architecture_native() ?: "this host";

        HostHandler h;
        if (arch.header_size > 0 && host_handler_find(&arch, &h) > 0) {
                if (h.open_file) {
                        *ret = a;
                        return 0;
                }
                /* Without F the interpreter is opened by path inside the container. */
                _cleanup_close_ int fd = h.interpreter[0] == '/' ? openat2_resolve(root_fd, h.interpreter + 1, O_PATH,
                                                                           0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
                                                                 : -ENOENT;
                if (fd >= 0) {
                        *ret = a;
                        return 0;
                }
                /* With -U: a handler of the container's own, below. */
                if (!userns)
                        return diag_fail(diag, -ENOEXEC, NULL,
                                "image architecture %s cannot run on %s: the binfmt_misc handler for it has "
                                "no F flag and its interpreter %s is not in the image (-U registers one of "
                                "the container's own)",
                                arch.name, host, h.interpreter);
        }

        const char *qemu = architecture_qemu_name(arch.name);
        char path[256];
        int fd = qemu ? qemu_open(qemu, path, sizeof(path)) : -ENOENT;
        if (fd < 0)
                return diag_fail(diag, -ENOEXEC, NULL,
                        "image architecture %s cannot run on %s: no binfmt_misc handler for it; install %s", arch.name,
                        host, QEMU_PACKAGE);
        if (!userns) {
                safe_close(fd);
                return diag_fail(diag, -ENOEXEC, NULL,
                        "image architecture %s cannot run on %s: no binfmt_misc handler for it (register one "
                        "for %s, or run with -U to have one in the container's user namespace)",
                        arch.name, host, path);
        }
        a.interpreter_fd = fd;
        int r = register_line(&arch, qemu, fd, a.register_line, sizeof(a.register_line));
        if (r < 0) {
                spawn_arch_done(&a);
                return diag_fail(diag, r, NULL, "binfmt_misc registration for %s: %m", arch.name);
        }
        *ret = a;
        return 0;
}

int spawn_arch_check(int root_fd, Diag *diag) {
        _cleanup_(spawn_arch_done) SpawnArch a = SPAWN_ARCH_NULL;
        return spawn_arch_prepare(root_fd, false, &a, diag);
}

int spawn_arch_register(const SpawnArch *a, Diag *diag) {
        if (a->interpreter_fd < 0)
                return 0;
        const char *host = architecture_native() ?: "this host";
        if (mount("binfmt_misc", BINFMT_MISC_DIR, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                int r = negative_errno();
                if (r == -EPERM || r == -ENODEV)
                        return diag_fail(diag, -ENOEXEC, NULL,
                                "image architecture %s cannot run on %s: no binfmt_misc handler for it on the "
                                "host, and this kernel has no binfmt_misc per user namespace (6.7)",
                                a->image_arch, host);
                return diag_fail(diag, r, NULL, "mount binfmt_misc in the container's user namespace: %m");
        }
        _cleanup_close_ int fd = open(BINFMT_MISC_DIR "/register", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return diag_fail(diag, negative_errno(), NULL, "binfmt_misc register: %m");
        size_t l = strlen(a->register_line);
        if (write(fd, a->register_line, l) != (ssize_t) l)
                return diag_fail(diag, errno > 0 ? negative_errno() : -EIO, NULL,
                        "register qemu-user for %s in the container's user namespace: %m", a->image_arch);
        return 0;
}
