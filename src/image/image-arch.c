/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The architecture of an OS tree: the ELF header of the program that will run first (its init or
 * shell), else os-release's ARCHITECTURE=, named as systemd names architectures.
 *
 * Untrusted input: the whole tree. Paths are resolved inside it (RESOLVE_IN_ROOT, no magic
 * links), only regular files are read, and only the first IMAGE_ARCH_HEADER_SIZE bytes of each;
 * os-release is size-limited and parsed by os_release_parse(). */
#include <elf.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "image.h"
#include "util.h"

#ifndef EM_LOONGARCH
#define EM_LOONGARCH 258
#endif
#ifndef EM_RISCV
#define EM_RISCV 243
#endif

/* The most of os-release read for ARCHITECTURE= (as image_read_details reads it). */
#define ARCH_OS_RELEASE_SIZE_MAX (64U * 1024U)

typedef struct ArchName {
        uint16_t machine;
        uint8_t class; /* ELFCLASS32/64; 0: either */
        uint8_t data;  /* ELFDATA2LSB/MSB; 0: either */
        const char *name;
        const char *qemu; /* qemu-user's name for it */
} ArchName;

/* systemd's names (src/basic/architecture.c). */
static const ArchName arch_names[] = {
        {EM_X86_64, ELFCLASS64, 0, "x86-64", "x86_64"},
        {EM_386, ELFCLASS32, 0, "x86", "i386"},
        {EM_AARCH64, 0, ELFDATA2LSB, "arm64", "aarch64"},
        {EM_AARCH64, 0, ELFDATA2MSB, "arm64-be", "aarch64_be"},
        {EM_ARM, 0, ELFDATA2LSB, "arm", "arm"},
        {EM_ARM, 0, ELFDATA2MSB, "arm-be", "armeb"},
        {EM_RISCV, ELFCLASS64, 0, "riscv64", "riscv64"},
        {EM_RISCV, ELFCLASS32, 0, "riscv32", "riscv32"},
        {EM_PPC64, 0, ELFDATA2LSB, "ppc64-le", "ppc64le"},
        {EM_PPC64, 0, ELFDATA2MSB, "ppc64", "ppc64"},
        {EM_PPC, 0, 0, "ppc", "ppc"},
        {EM_S390, ELFCLASS64, 0, "s390x", "s390x"},
        {EM_S390, ELFCLASS32, 0, "s390", NULL},
        {EM_MIPS, ELFCLASS64, ELFDATA2LSB, "mips64-le", "mips64el"},
        {EM_MIPS, ELFCLASS64, ELFDATA2MSB, "mips64", "mips64"},
        {EM_MIPS, ELFCLASS32, ELFDATA2LSB, "mips-le", "mipsel"},
        {EM_MIPS, ELFCLASS32, ELFDATA2MSB, "mips", "mips"},
        {EM_LOONGARCH, ELFCLASS64, 0, "loongarch64", "loongarch64"},
        {EM_SPARCV9, 0, 0, "sparc64", "sparc64"},
        {EM_SPARC, 0, 0, "sparc", "sparc"},
        {EM_PARISC, ELFCLASS64, 0, "parisc64", NULL},
        {EM_PARISC, ELFCLASS32, 0, "parisc", "hppa"},
        {EM_ALPHA, 0, 0, "alpha", "alpha"},
        {EM_IA_64, 0, 0, "ia64", NULL},
        {EM_SH, 0, 0, "sh", "sh4"},
        {EM_68K, 0, 0, "m68k", "m68k"},
};

static const ArchName *arch_from_elf(const uint8_t *h, size_t n) {
        if (n < EI_NIDENT + 4 || memcmp(h, ELFMAG, SELFMAG) != 0)
                return NULL;
        uint8_t class = h[EI_CLASS], data = h[EI_DATA];
        if ((class != ELFCLASS32 && class != ELFCLASS64) || (data != ELFDATA2LSB && data != ELFDATA2MSB))
                return NULL;
        /* e_machine follows e_ident and the 16-bit e_type, in the file's byte order. */
        uint16_t machine = data == ELFDATA2LSB ? (uint16_t) (h[18] | h[19] << 8) : (uint16_t) (h[18] << 8 | h[19]);
        for (size_t i = 0; i < ELEMENTSOF(arch_names); i++) {
                const ArchName *a = &arch_names[i];
                if (a->machine == machine && (!a->class || a->class == class) && (!a->data || a->data == data))
                        return a;
        }
        return NULL;
}

const char *architecture_from_elf(const uint8_t *header, size_t size) {
        const ArchName *a = arch_from_elf(header, size);
        return a ? a->name : NULL;
}

const char *architecture_qemu_name(const char *arch) {
        for (size_t i = 0; arch && i < ELEMENTSOF(arch_names); i++)
                if (streq(arch_names[i].name, arch))
                        return arch_names[i].qemu;
        return NULL;
}

const char *architecture_native(void) {
        /* The build's, as systemd's native_architecture(). */
#if defined(__x86_64__)
        return "x86-64";
#elif defined(__i386__)
        return "x86";
#elif defined(__aarch64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "arm64";
#elif defined(__aarch64__)
        return "arm64-be";
#elif defined(__arm__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
        return "riscv64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "ppc64-le";
#elif defined(__powerpc64__)
        return "ppc64";
#elif defined(__s390x__)
        return "s390x";
#elif defined(__loongarch64)
        return "loongarch64";
#else
        return NULL;
#endif
}

bool architecture_runs_natively(const char *arch) {
        const char *native = architecture_native();
        if (!arch || !native)
                return false;
        if (streq(arch, native))
                return true;
        /* The 32-bit sibling a 64-bit kernel runs as well (its compat layer, as --personality=). */
        static const char *const secondary[][2] = {
                {"x86-64", "x86"},
                {"arm64", "arm"},
                {"s390x", "s390"},
        };
        for (size_t i = 0; i < ELEMENTSOF(secondary); i++)
                if (streq(native, secondary[i][0]) && streq(arch, secondary[i][1]))
                        return true;
        return false;
}

/* The programs that run first, in the order systemd-nspawn would run them (init for -b, else a
 * shell): the first regular file of them found inside the tree tells. */
static const char *const arch_probes[] = {
        "usr/lib/systemd/systemd",
        "sbin/init",
        "usr/sbin/init",
        "bin/sh",
        "usr/bin/sh",
};

int image_read_architecture(int root_fd, ImageArch *ret) {
        ImageArch a = {};
        for (size_t i = 0; i < ELEMENTSOF(arch_probes); i++) {
                _cleanup_close_ int fd = openat2_resolve(root_fd, arch_probes[i], O_RDONLY | O_NOCTTY | O_NONBLOCK, 0,
                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                if (fd < 0)
                        continue;
                struct stat st;
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                ssize_t n = pread(fd, a.header, sizeof(a.header), 0);
                if (n < 0)
                        continue;
                const char *name = architecture_from_elf(a.header, (size_t) n);
                if (!name)
                        continue;
                a.name = name;
                a.source = arch_probes[i];
                a.header_size = (size_t) n;
                *ret = a;
                return 0;
        }
        /* No ELF program: os-release's ARCHITECTURE= (a name of systemd's list, or nothing). */
        static const char *const os_release[] = {"etc/os-release", "usr/lib/os-release"};
        for (size_t i = 0; i < ELEMENTSOF(os_release); i++) {
                _cleanup_free_ char *text = NULL;
                size_t size = 0;
                if (read_file_at(root_fd, os_release[i], RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
                            ARCH_OS_RELEASE_SIZE_MAX, &text, &size) < 0)
                        continue;
                _cleanup_strv_free_ char **kv = NULL;
                if (os_release_parse(text, &kv) < 0)
                        return -ENOENT;
                for (size_t k = 0; kv && kv[k] && kv[k + 1]; k += 2)
                        if (streq(kv[k], "ARCHITECTURE")) {
                                for (size_t j = 0; j < ELEMENTSOF(arch_names); j++)
                                        if (streq(arch_names[j].name, kv[k + 1])) {
                                                a.name = arch_names[j].name;
                                                a.source = os_release[i];
                                                *ret = a;
                                                return 0;
                                        }
                                return -ENOENT;
                        }
                return -ENOENT;
        }
        return -ENOENT;
}
