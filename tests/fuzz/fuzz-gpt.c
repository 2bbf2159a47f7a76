/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the partition table reading (libblkid's GPT and MBR probes on a memfd, and the checks
 * around them), file system detection and partition discovery (untrusted: every byte of a raw
 * image): the input is the image. Whatever is accepted must lie inside the image, and GPT
 * entries must respect the named limits. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image-dissect.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        if (size > 16 * 1024 * 1024)
                return 0;
        int fd = memfd_create("fuzz-gpt", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        if (size > 0 && write(fd, data, size) != (ssize_t) size)
                abort();

        GptTable t;
        if (gpt_read(fd, size, &t) == 0) {
                if (t.n_partitions > GPT_ENTRIES_MAX)
                        abort();
                for (size_t i = 0; i < t.n_partitions; i++)
                        if (t.partitions[i].first_lba > t.partitions[i].last_lba ||
                                (t.partitions[i].last_lba + 1) * t.sector_size > size)
                                abort();
                gpt_table_done(&t);
        }

        /* Discovery without and with a root hash (the first 32 bytes of the input), and with a
         * usr hash of its own (the next 32). */
        uint8_t hash[32] = {}, usr_hash[32] = {};
        memcpy(hash, data, size < sizeof(hash) ? size : sizeof(hash));
        if (size > sizeof(hash))
                memcpy(usr_hash, data + sizeof(hash), MIN(size - sizeof(hash), sizeof(usr_hash)));
        for (int with_hash = 0; with_hash <= 2; with_hash++) {
                DissectedImage m;
                int r = with_hash == 2 ? image_dissect_hashes(fd, size, hash, sizeof(hash), usr_hash, sizeof(usr_hash), &m)
                                       : image_dissect(fd, size, with_hash ? hash : NULL, with_hash ? sizeof(hash) : 0, &m);
                if (r < 0)
                        continue;
                /* Accepted tables never have partitions sharing a sector (the kernel would refuse
                 * the second). */
                unsigned oa, ob;
                if (m.kind != DISSECT_BARE && image_dissect_overlap(fd, size, &oa, &ob) > 0)
                        abort();
                for (size_t d = 0; d < _PARTITION_DESIGNATOR_MAX; d++)
                        if (m.partitions[d].found && (m.partitions[d].offset > size ||
                                                             m.partitions[d].size > size - m.partitions[d].offset))
                                abort();
        }
        close(fd);
        return 0;
}
