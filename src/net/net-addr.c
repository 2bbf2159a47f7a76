/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Prefixes and port forward specs.
 *
 * Input: port specs from the command line or a settings file (untrusted), prefixes from our own
 * state files (written by us, parsed strictly all the same). */

#include <arpa/inet.h>
#include <fcntl.h>
#include <string.h>

#include "fd-util.h"
#include "net-internal.h"
#include "util.h"

static bool prefix_bit(const uint8_t *a, unsigned i) {
        return (a[i / 8] >> (7 - i % 8)) & 1;
}

bool net_prefix_overlaps(const NetPrefix *a, const NetPrefix *b) {
        if (a->family != b->family)
                return false;
        unsigned n = MIN(a->prefixlen, b->prefixlen);
        const uint8_t *x = (const uint8_t *) &a->addr, *y = (const uint8_t *) &b->addr;
        for (unsigned i = 0; i < n; i++)
                if (prefix_bit(x, i) != prefix_bit(y, i))
                        return false;
        return true;
}

int net_prefix_parse(const char *s, NetPrefix *ret) {
        char buf[NET_PREFIX_STRING_MAX];
        if (!s || strlen(s) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, s);
        char *slash = strchr(buf, '/');
        if (slash)
                *slash = 0;
        NetPrefix p = {};
        if (inet_pton(AF_INET, buf, &p.addr.in) == 1)
                p.family = AF_INET;
        else if (inet_pton(AF_INET6, buf, &p.addr.in6) == 1)
                p.family = AF_INET6;
        else
                return -EINVAL;
        unsigned max = p.family == AF_INET ? 32 : 128;
        p.prefixlen = (unsigned char) max;
        if (slash) {
                uint64_t v;
                if (safe_atou64(slash + 1, &v) < 0 || v > max)
                        return -EINVAL;
                p.prefixlen = (unsigned char) v;
        }
        *ret = p;
        return 0;
}

const char *net_addr_to_string(const NetPrefix *p, char buf[static NET_PREFIX_STRING_MAX]) {
        if (!inet_ntop(p->family, &p->addr, buf, NET_PREFIX_STRING_MAX))
                snprintf(buf, NET_PREFIX_STRING_MAX, "(none)");
        return buf;
}

const char *net_prefix_to_string(const NetPrefix *p, char buf[static NET_PREFIX_STRING_MAX]) {
        char a[NET_PREFIX_STRING_MAX];
        snprintf(buf, NET_PREFIX_STRING_MAX, "%s/%u", net_addr_to_string(p, a), p->prefixlen);
        return buf;
}

static int parse_port(const char *s, const char *what, const char *spec, uint16_t *ret, Diag *diag) {
        uint64_t v;
        if (!*s)
                return diag_fail(diag, -EINVAL, spec, "%s port missing", what);
        if (strspn(s, "0123456789") != strlen(s) || safe_atou64(s, &v) < 0 || v == 0 || v > 65535)
                return diag_fail(diag, -EINVAL, spec, "invalid %s port '%s' (1…65535)", what, s);
        *ret = (uint16_t) v;
        return 0;
}

int net_port_forward_parse(const char *s, NetPortForward *ret, Diag *diag) {
        if (!s || !*s)
                return diag_fail(diag, -EINVAL, NULL, "empty port forward");
        if (strlen(s) > 64)
                return diag_fail(diag, -EINVAL, NULL, "port forward spec too long");
        NetPortForward p = {.protocol = IPPROTO_TCP};
        const char *rest = s;
        if (startswith(s, "tcp:"))
                rest = s + 4;
        else if (startswith(s, "udp:")) {
                p.protocol = IPPROTO_UDP;
                rest = s + 4;
        } else if (!strchr("0123456789", s[0]))
                return diag_fail(diag, -EINVAL, s, "unknown protocol (tcp or udp)");

        char host[32], cont[32];
        const char *colon = strchr(rest, ':');
        size_t hl = colon ? (size_t) (colon - rest) : strlen(rest);
        if (hl >= sizeof(host) || (colon && strlen(colon + 1) >= sizeof(cont)))
                return diag_fail(diag, -EINVAL, s, "port too long");
        memcpy(host, rest, hl);
        host[hl] = 0;
        int r = parse_port(host, "host", s, &p.host_port, diag);
        if (r < 0)
                return r;
        if (colon) {
                strcpy(cont, colon + 1);
                if (strchr(cont, ':'))
                        return diag_fail(diag, -EINVAL, s, "too many ':' ([tcp|udp:]HOSTPORT[:CONTAINERPORT])");
                r = parse_port(cont, "container", s, &p.container_port, diag);
                if (r < 0)
                        return r;
        } else
                p.container_port = p.host_port;
        *ret = p;
        return 0;
}

const char *net_port_forward_to_string(const NetPortForward *p, char buf[static NET_PORT_FORWARD_STRING_MAX]) {
        snprintf(buf, NET_PORT_FORWARD_STRING_MAX, "%s:%u:%u", p->protocol == IPPROTO_UDP ? "udp" : "tcp",
                p->host_port, p->container_port);
        return buf;
}

int net_sysctl_write(const char *path, const char *value, Diag *diag) {
        char full[256];
        if (snprintf(full, sizeof(full), "/proc/sys/%s", path) >= (int) sizeof(full))
                return diag_fail(diag, -ENAMETOOLONG, path, "sysctl path too long");
        _cleanup_close_ int fd = open(full, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                int r = negative_errno();
                return diag_fail(diag, r, full, "cannot open: %s", strerror(-r));
        }
        int r = loop_write(fd, value, strlen(value));
        if (r < 0)
                return diag_fail(diag, r, full, "cannot write '%s': %s", value, strerror(-r));
        return 0;
}

const char *net_runtime_dir(const char *dir) {
        if (dir && *dir)
                return dir;
        /* $COWPEN_RUNTIME_DIR stands for /run/cowpen, as a whole: our part is its "network". */
        static __thread char buf[4096];
        const char *e = getenv("COWPEN_RUNTIME_DIR");
        if (e && *e == '/' && snprintf(buf, sizeof(buf), "%s/network", e) < (int) sizeof(buf))
                return buf;
        return NET_RUNTIME_DIR_DEFAULT;
}
