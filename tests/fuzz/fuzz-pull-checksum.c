/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the checksum file parsers (FILE.sha256, SHA256SUMS, DIGESTS) and the clearsigned-text
 * extraction. Input: one byte choosing the format, then the file. */
#include <string.h>

#include "pull-checksum.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        if (size < 1 || size > CHECKSUM_FILE_SIZE_MAX + 2)
                return 0;
        ChecksumFormat f = (ChecksumFormat) (data[0] % 3);
        const char *text = (const char *) data + 1;
        size_t n = size - 1;
        static const char *const names[] = { "f.tar.xz", "stage3.tar.xz", "SHA256SUMS", "a b" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                Checksum c;
                int r = checksum_file_find(text, n, f, names[i], &c);
                if (r == 0) {
                        char *h = checksum_to_hex(&c);
                        if (!h || strlen(h) != 2 * (c.algo == CHECKSUM_SHA512 ? 64 : 32))
                                __builtin_trap();
                        free(h);
                }
        }
        char *out = NULL;
        size_t on = 0;
        if (clearsign_extract_text(text, n, &out, &on) == 0) {
                if (on > n || strlen(out) != on)
                        __builtin_trap();
                Checksum c;
                (void) checksum_file_find(out, on, CHECKSUM_FORMAT_DIGESTS, "f.tar.xz", &c);
                free(out);
        }
        return 0;
}
