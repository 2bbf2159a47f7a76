/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "rm-rf.h"

/* image-arch.c: ELF headers to systemd's architecture names; a tree's architecture from its init
 * or shell, resolved inside the tree (a symlink pointing out of it reads the tree's own file),
 * else os-release's ARCHITECTURE=; what does not tell is -ENOENT. */

static void elf(uint8_t h[64], uint8_t class, uint8_t data, uint16_t machine) {
        memset(h, 0, 64);
        memcpy(h, ELFMAG, SELFMAG);
        h[EI_CLASS] = class;
        h[EI_DATA] = data;
        h[EI_VERSION] = EV_CURRENT;
        bool le = data == ELFDATA2LSB;
        h[le ? 16 : 17] = ET_EXEC;
        h[18] = le ? (uint8_t) machine : (uint8_t) (machine >> 8);
        h[19] = le ? (uint8_t) (machine >> 8) : (uint8_t) machine;
}

static void test_names(void **state) {
        uint8_t h[64];
        struct {
                uint8_t class, data;
                uint16_t machine;
                const char *name;
        } cases[] = {
                {ELFCLASS64, ELFDATA2LSB, EM_X86_64, "x86-64"},
                {ELFCLASS32, ELFDATA2LSB, EM_386, "x86"},
                {ELFCLASS64, ELFDATA2LSB, EM_AARCH64, "arm64"},
                {ELFCLASS32, ELFDATA2LSB, EM_ARM, "arm"},
                {ELFCLASS64, ELFDATA2LSB, 243, "riscv64"},
                {ELFCLASS64, ELFDATA2LSB, EM_PPC64, "ppc64-le"},
                {ELFCLASS64, ELFDATA2MSB, EM_PPC64, "ppc64"},
                {ELFCLASS64, ELFDATA2MSB, EM_S390, "s390x"},
                {ELFCLASS64, ELFDATA2LSB, EM_MIPS, "mips64-le"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                elf(h, cases[i].class, cases[i].data, cases[i].machine);
                assert_string_equal(architecture_from_elf(h, sizeof(h)), cases[i].name);
        }
        /* Not ELF, truncated, a bad class, an unnamed machine. */
        elf(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64);
        assert_null(architecture_from_elf(h, 19));
        h[0] = 0;
        assert_null(architecture_from_elf(h, sizeof(h)));
        elf(h, 7, ELFDATA2LSB, EM_AARCH64);
        assert_null(architecture_from_elf(h, sizeof(h)));
        elf(h, ELFCLASS64, ELFDATA2LSB, 0x7777);
        assert_null(architecture_from_elf(h, sizeof(h)));

        assert_string_equal(architecture_qemu_name("arm64"), "aarch64");
        assert_string_equal(architecture_qemu_name("ppc64-le"), "ppc64le");
        assert_null(architecture_qemu_name("nonsense"));
        assert_true(architecture_runs_natively(architecture_native()));
#if defined(__x86_64__)
        assert_true(architecture_runs_natively("x86"));
        assert_false(architecture_runs_natively("arm64"));
#endif
}

static char base[64];

static int make_tree(void) {
        snprintf(base, sizeof(base), "/var/tmp/test-image-arch.XXXXXX");
        assert_non_null(mkdtemp(base));
        int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(mkdirat(fd, "bin", 0755), 0);
        assert_int_equal(mkdirat(fd, "etc", 0755), 0);
        return fd;
}

static void write_at(int dir_fd, const char *path, const void *p, size_t n) {
        int fd = openat(dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, p, n), (ssize_t) n);
        close(fd);
}

static void test_tree(void **state) {
        int fd = make_tree();
        ImageArch a;
        /* Nothing tells. */
        assert_int_equal(image_read_architecture(fd, &a), -ENOENT);
        /* os-release alone; an unknown name there tells nothing. */
        const char *osr = "ID=debian\nARCHITECTURE=riscv64\n";
        write_at(fd, "etc/os-release", osr, strlen(osr));
        assert_int_equal(image_read_architecture(fd, &a), 0);
        assert_string_equal(a.name, "riscv64");
        assert_string_equal(a.source, "etc/os-release");
        assert_int_equal(a.header_size, 0);
        osr = "ARCHITECTURE=vax\n";
        write_at(fd, "etc/os-release", osr, strlen(osr));
        assert_int_equal(image_read_architecture(fd, &a), -ENOENT);
        /* A shell that is a script is no ELF file; busybox behind a symlink is. */
        write_at(fd, "bin/sh", "#!/x\n", 5);
        assert_int_equal(image_read_architecture(fd, &a), -ENOENT);
        uint8_t h[64];
        elf(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64);
        write_at(fd, "bin/busybox", h, sizeof(h));
        assert_int_equal(unlinkat(fd, "bin/sh", 0), 0);
        assert_int_equal(symlinkat("busybox", fd, "bin/sh"), 0);
        assert_int_equal(image_read_architecture(fd, &a), 0);
        assert_string_equal(a.name, "arm64");
        assert_string_equal(a.source, "bin/sh");
        assert_int_equal(a.header_size, 64);
        assert_memory_equal(a.header, h, 64);
        /* An absolute symlink resolves inside the tree, not on the host: /bin/busybox of the tree. */
        assert_int_equal(mkdirat(fd, "sbin", 0755), 0);
        assert_int_equal(symlinkat("/bin/busybox", fd, "sbin/init"), 0);
        assert_int_equal(image_read_architecture(fd, &a), 0);
        assert_string_equal(a.source, "sbin/init");
        assert_string_equal(a.name, "arm64");
        /* A symlink out of the tree ("../../..") stays in it too: nothing there, the next probe. */
        assert_int_equal(unlinkat(fd, "sbin/init", 0), 0);
        assert_int_equal(symlinkat("../../../../usr/bin/true", fd, "sbin/init"), 0);
        assert_int_equal(image_read_architecture(fd, &a), 0);
        assert_string_equal(a.source, "bin/sh");
        close(fd);
        (void) rm_rf_at(AT_FDCWD, base);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_tree),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
