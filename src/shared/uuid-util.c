/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "util.h"
#include "uuid-util.h"

int uuid_from_string(const char *s, uint8_t ret[static 16]) {
        uint8_t u[16] = {};
        size_t k = 0;
        if (!s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p == '-')
                        continue;
                int v = unhexchar(*p);
                if (v < 0 || k >= 32)
                        return -EINVAL;
                u[k / 2] |= (uint8_t) (k % 2 == 0 ? v << 4 : v);
                k++;
        }
        if (k != 32)
                return -EINVAL;
        memcpy(ret, u, 16);
        return 0;
}

void uuid_format(const uint8_t u[static 16], char buf[static UUID_STRING_MAX]) {
        snprintf(buf, UUID_STRING_MAX, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

void id128_format(const uint8_t u[static 16], char buf[static ID128_STRING_MAX]) {
        for (size_t i = 0; i < 16; i++)
                snprintf(buf + 2 * i, 3, "%02x", u[i]);
}

bool uuid_is_null(const uint8_t u[static 16]) {
        for (size_t i = 0; i < 16; i++)
                if (u[i] != 0)
                        return false;
        return true;
}
