/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bpf: BPF maps and programs are kernel objects outside every namespace (and bpffs is not
 * namespaced), a large kernel attack surface.
 *
 * Keys: map_create= BPF_MAP_CREATE of a one-entry array; prog_load= BPF_PROG_LOAD of a two-
 * instruction socket filter ("return 0"). ALLOWED when either worked. Harmless: the fds are
 * closed at once; nothing is attached or pinned. */
#include "hostile.h"

#include <linux/bpf.h>
#include <sys/syscall.h>

int main(void) {
        h_init("bpf");
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.map_type = BPF_MAP_TYPE_ARRAY;
        a.key_size = 4;
        a.value_size = 4;
        a.max_entries = 1;
        long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
        if (h_res("map_create", fd, errno) >= 0) {
                h_allow("map_create");
                close((int) fd);
        }

        struct bpf_insn insns[2] = {
                {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
                {.code = BPF_JMP | BPF_EXIT},
        };
        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
        a.insn_cnt = 2;
        a.insns = (unsigned long) insns;
        a.license = (unsigned long) "GPL";
        fd = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
        if (h_res("prog_load", fd, errno) >= 0) {
                h_allow("prog_load");
                close((int) fd);
        }
        h_done();
}
