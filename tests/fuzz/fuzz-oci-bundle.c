/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "spawn.h"
#include "util.h"

/* An OCI bundle's config.json is untrusted (it comes with the bundle): parse it, merge it under a
 * command-line config, compute what the merge yields, and free. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > OCI_BUNDLE_CONFIG_MAX + 1)
                return 0;
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        SpawnConfig b, c;
        OciBundleExtra x;
        Diag diag = DIAG_INIT;
        spawn_config_init(&c);
        if (oci_bundle_parse(text, size, "/bundle", &b, &x, &diag) >= 0) {
                (void) oci_bundle_merge(&c, &b, &x);
                (void) spawn_config_capabilities(&c);
                spawn_config_done(&b);
                oci_bundle_extra_done(&x);
        }
        (void) diag_message(&diag);
        spawn_config_done(&c);
        diag_done(&diag);
        free(text);
        return 0;
}
