/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the verity superblock parser (untrusted: the first 512 bytes of a hash file) and the
 * geometry computed from what it accepts; an accepted superblock must format back to itself. */
#include <stdlib.h>
#include <string.h>

#include "verity.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        VerityParams p;
        Diag d = DIAG_INIT;
        if (verity_superblock_parse(data, size, &p, &d) < 0) {
                if (!d.object)
                        abort(); /* every refusal names a field */
                diag_done(&d);
                return 0;
        }
        uint8_t again[VERITY_SUPERBLOCK_SIZE];
        if (verity_superblock_format(&p, again) < 0)
                abort();
        VerityParams q;
        if (verity_superblock_parse(again, sizeof(again), &q, NULL) < 0 || memcmp(&p, &q, sizeof(p)) != 0)
                abort();
        VerityGeometry g;
        for (int sb = 0; sb <= 1; sb++)
                if (verity_geometry(&p, sb, 0, &g) == 0) {
                        if (g.levels > VERITY_LEVELS_MAX || g.hash_end < g.tree_offset)
                                abort();
                        if (g.levels > 0 && g.level_blocks[g.levels - 1] != 1)
                                abort(); /* the top level is one block */
                }
        return 0;
}
