/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "spawn.h"
#include "util.h"

/* Settings files are untrusted (one next to an image comes with the image): parse, merge into a
 * command-line config both untrusted and trusted, and free. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        for (int trusted = 0; trusted < 2; trusted++) {
                SpawnConfig s, c;
                Diag diag = DIAG_INIT;
                spawn_config_init(&c);
                if (settings_parse(text, size, &s, &diag) >= 0) {
                        (void) settings_merge(&c, &s, trusted, "fuzz.nspawn", &diag);
                        (void) spawn_config_capabilities(&c);
                        spawn_config_done(&s);
                }
                spawn_config_done(&c);
                diag_done(&diag);
        }
        free(text);
        return 0;
}
