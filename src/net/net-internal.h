/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the files of src/net share beyond net.h (unit tests include it too). */

#include "net.h"

/* SipHash-2-4 with a 16-byte key (net-names.c). */
uint64_t net_siphash24(const void *data, size_t size, const uint8_t key[static 16]);

/* Writes value to /proc/sys/PATH (of the caller's network namespace for net.*). */
int net_sysctl_write(const char *path, const char *value, Diag *diag);
