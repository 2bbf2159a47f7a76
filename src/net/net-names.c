/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Interface names and MAC addresses as systemd-nspawn makes them.
 *
 * Input: machine and interface names from the command line or a settings file (untrusted): each is
 * checked (net_machine_name_is_valid(), net_ifname_is_valid()) before it names anything; /etc/machine-id
 * (only its first 32 hex digits are used). */

#include <string.h>

#include "fd-util.h"
#include "net-internal.h"
#include "util.h"

/* SipHash-2-4 (Aumasson, Bernstein: "SipHash: a fast short-input PRF", 2012), the hash nspawn
 * uses for names and MAC addresses; 16-byte key, 64-bit result. */
static uint64_t rotl(uint64_t x, unsigned b) {
        return (x << b) | (x >> (64 - b));
}

static uint64_t le64(const uint8_t *p) {
        uint64_t v = 0;
        for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

#define SIPROUND(v0, v1, v2, v3)                                                                                      \
        do {                                                                                                          \
                v0 += v1;                                                                                             \
                v1 = rotl(v1, 13);                                                                                    \
                v1 ^= v0;                                                                                             \
                v0 = rotl(v0, 32);                                                                                    \
                v2 += v3;                                                                                             \
                v3 = rotl(v3, 16);                                                                                    \
                v3 ^= v2;                                                                                             \
                v0 += v3;                                                                                             \
                v3 = rotl(v3, 21);                                                                                    \
                v3 ^= v0;                                                                                             \
                v2 += v1;                                                                                             \
                v1 = rotl(v1, 17);                                                                                    \
                v1 ^= v2;                                                                                             \
                v2 = rotl(v2, 32);                                                                                    \
        } while (0)

uint64_t net_siphash24(const void *data, size_t size, const uint8_t key[static 16]) {
        const uint8_t *in = data;
        uint64_t k0 = le64(key), k1 = le64(key + 8);
        uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
        uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
        size_t whole = size - size % 8;

        for (size_t i = 0; i < whole; i += 8) {
                uint64_t m = le64(in + i);
                v3 ^= m;
                SIPROUND(v0, v1, v2, v3);
                SIPROUND(v0, v1, v2, v3);
                v0 ^= m;
        }
        uint64_t b = (uint64_t) size << 56;
        for (size_t i = whole; i < size; i++)
                b |= (uint64_t) in[i] << (8 * (i - whole));
        v3 ^= b;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= b;
        v2 ^= 0xff;
        for (unsigned i = 0; i < 4; i++)
                SIPROUND(v0, v1, v2, v3);
        return v0 ^ v1 ^ v2 ^ v3;
}

/* nspawn's keys (SD_ID128_MAKE constants of src/nspawn/nspawn-network.c), byte for byte, so that
 * names and MAC addresses agree with what systemd-nspawn makes for the same machine. */
static const uint8_t SHORTEN_IFNAME_KEY[16] = {
        0xe1, 0x90, 0xa4, 0x04, 0xa8, 0xef, 0x4b, 0x51, 0x8c, 0xcc, 0xc3, 0x3a, 0x9f, 0x11, 0xfc, 0xa2};
static const uint8_t HOST_MAC_KEY[16] = {
        0x1a, 0x37, 0x6f, 0xc7, 0x46, 0xec, 0x45, 0x0b, 0xad, 0xa3, 0xd5, 0x31, 0x06, 0x60, 0x5d, 0xb1};
static const uint8_t CONTAINER_MAC_KEY[16] = {
        0xc3, 0xc4, 0xf9, 0x19, 0xb5, 0x57, 0xb2, 0x1c, 0xe6, 0xcf, 0x14, 0x27, 0x03, 0x9c, 0xee, 0xa2};
static const uint8_t MACVLAN_MAC_KEY[16] = {
        0x00, 0x13, 0x6d, 0xbc, 0x66, 0x83, 0x44, 0x81, 0xbb, 0x0c, 0xf9, 0x51, 0x1f, 0x24, 0xa6, 0x6f};

static char urlsafe_base64char(unsigned x) {
        static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        return table[x & 63];
}

int net_shorten_ifname(const char *name, char ret[static NET_IFNAME_MAX + 1]) {
        size_t l = strlen(name);
        if (l <= NET_IFNAME_MAX) {
                memcpy(ret, name, l + 1);
                return 0;
        }
        uint64_t h = net_siphash24(name, l, SHORTEN_IFNAME_KEY);

        /* nspawn keeps IFNAMSIZ - 5 = 11 bytes. A UTF-8 continuation byte (10xxxxxx) right after the
         * cut means a character would be split: cut before that character instead. */
        size_t keep = NET_IFNAME_MAX - 4;
        while (keep > 0 && ((unsigned char) name[keep] & 0xc0) == 0x80)
                keep--;
        memcpy(ret, name, keep);
        ret[keep] = urlsafe_base64char((unsigned) (h >> 18));
        ret[keep + 1] = urlsafe_base64char((unsigned) (h >> 12));
        ret[keep + 2] = urlsafe_base64char((unsigned) (h >> 6));
        ret[keep + 3] = urlsafe_base64char((unsigned) h);
        ret[keep + 4] = 0;
        return 1;
}

int net_ifname(NetIfnameKind kind, const char *name, char ret[static NET_IFNAME_MAX + 1]) {
        static const char *const prefix[] = {
                [NET_IFNAME_VETH] = "ve-",
                [NET_IFNAME_BRIDGED] = "vb-",
                [NET_IFNAME_ZONE] = "vz-",
                [NET_IFNAME_MACVLAN] = "mv-",
                [NET_IFNAME_IPVLAN] = "iv-",
        };
        if ((unsigned) kind >= ELEMENTSOF(prefix) || !name || !*name)
                return -EINVAL;
        if (strlen(name) > 255)
                return -ENAMETOOLONG;
        char full[3 + 256];
        snprintf(full, sizeof(full), "%s%s", prefix[kind], name);
        return net_shorten_ifname(full, ret);
}

bool net_ifname_is_valid(const char *name) {
        if (!name || !*name || strlen(name) > NET_IFNAME_MAX || streq(name, ".") || streq(name, ".."))
                return false;
        for (const char *p = name; *p; p++)
                if (*p == '/' || *p == ':' || (unsigned char) *p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

bool net_machine_name_is_valid(const char *machine) {
        if (!machine || !*machine || strlen(machine) > NET_MACHINE_NAME_MAX || streq(machine, ".") ||
                streq(machine, "..") || machine[0] == '.')
                return false;
        for (const char *p = machine; *p; p++)
                if (*p == '/' || *p == '"' || *p == '\'' || *p == '\\' || (unsigned char) *p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

/* The host's /etc/machine-id as 16 bytes; all zeros where there is none (a build chroot), which
 * still gives stable, per-name addresses. */
static void machine_id(uint8_t ret[static 16]) {
        _cleanup_free_ char *s = NULL;
        size_t n = 0;
        memset(ret, 0, 16);
        if (read_file_at(AT_FDCWD, "/etc/machine-id", 0, 4096, &s, &n) < 0 || n < 32)
                return;
        for (unsigned i = 0; i < 16; i++) {
                int a = unhexchar(s[2 * i]), b = unhexchar(s[2 * i + 1]);
                if (a < 0 || b < 0) {
                        memset(ret, 0, 16);
                        return;
                }
                ret[i] = (uint8_t) (a << 4 | b);
        }
}

int net_generate_mac(const char *machine, NetMacKind kind, uint64_t idx, uint8_t ret[static 6]) {
        const uint8_t *key = kind == NET_MAC_VETH_HOST        ? HOST_MAC_KEY
                             : kind == NET_MAC_VETH_CONTAINER ? CONTAINER_MAC_KEY
                             : kind == NET_MAC_MACVLAN        ? MACVLAN_MAC_KEY
                                                              : NULL;
        if (!key || !machine)
                return -EINVAL;
        size_t l = strlen(machine);
        if (l > 4096)
                return -ENAMETOOLONG;
        uint8_t buf[16 + 4096 + 8];
        machine_id(buf);
        memcpy(buf + 16, machine, l);
        size_t n = 16 + l;
        if (idx > 0) {
                for (unsigned i = 0; i < 8; i++)
                        buf[n + i] = (uint8_t) (idx >> (8 * i));
                n += 8;
        }
        uint64_t h = net_siphash24(buf, n, key);
        for (unsigned i = 0; i < 6; i++)
                ret[i] = (uint8_t) (h >> (8 * i)); /* little-endian bytes, as nspawn's htole64() */
        ret[0] &= 0xfe;                            /* unicast */
        ret[0] |= 0x02;                            /* locally administered */
        return 0;
}
