/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <linux/capability.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

#include "dlopen-util.h"
#include "spawn.h"
#include "util.h"

/* Capability names (libcap's) and the bounding sets of a container. Untrusted input: capability
 * lists from settings files (parsed by name only, bounded by the length of the string).
 *
 * libcap is loaded with dlopen() when a name is first looked up (dlopen-util.h): the sets
 * themselves are numbers (spawn_default_capabilities(), "all"), so a run that names no
 * capability never maps it. */

static typeof(cap_free) *sym_cap_free;
static typeof(cap_from_name) *sym_cap_from_name;
static typeof(cap_to_name) *sym_cap_to_name;

static const DlopenSymbol libcap_symbols[] = {
        DLSYM(cap_free),
        DLSYM(cap_from_name),
        DLSYM(cap_to_name),
        {},
};
static DlopenLibrary libcap_library = DLOPEN_LIBRARY_INIT(LIBCAP_SONAME, libcap_symbols);

int dlopen_libcap(const char **ret_detail) {
        return dlopen_library(&libcap_library, ret_detail);
}

const char *capability_to_name(unsigned cap) {
        /* libcap's name, kept for the program's life (callers hold it like a string constant). */
        static char *names[64];
        if (cap >= ELEMENTSOF(names))
                return NULL;
        if (!names[cap]) {
                if (dlopen_libcap(NULL) < 0)
                        return NULL;
                char *n = sym_cap_to_name((cap_value_t) cap);
                if (!n)
                        return NULL;
                /* libcap spells a capability it has no name for as its number. */
                if (!isdigit((unsigned char) n[0]))
                        names[cap] = strdup(n);
                sym_cap_free(n);
        }
        return names[cap];
}

/* systemd-nspawn's default bounding set (arg_caps_retain), plus CAP_NET_ADMIN with a private
 * network namespace, as nspawn adds it. */
uint64_t spawn_default_capabilities(bool private_network) {
        uint64_t m = (UINT64_C(1) << CAP_AUDIT_CONTROL) | (UINT64_C(1) << CAP_AUDIT_WRITE) | (UINT64_C(1) << CAP_CHOWN) |
                     (UINT64_C(1) << CAP_DAC_OVERRIDE) | (UINT64_C(1) << CAP_DAC_READ_SEARCH) |
                     (UINT64_C(1) << CAP_FOWNER) | (UINT64_C(1) << CAP_FSETID) | (UINT64_C(1) << CAP_IPC_OWNER) |
                     (UINT64_C(1) << CAP_KILL) | (UINT64_C(1) << CAP_LEASE) | (UINT64_C(1) << CAP_LINUX_IMMUTABLE) |
                     (UINT64_C(1) << CAP_MKNOD) | (UINT64_C(1) << CAP_NET_BIND_SERVICE) |
                     (UINT64_C(1) << CAP_NET_BROADCAST) | (UINT64_C(1) << CAP_NET_RAW) | (UINT64_C(1) << CAP_SETFCAP) |
                     (UINT64_C(1) << CAP_SETGID) | (UINT64_C(1) << CAP_SETPCAP) | (UINT64_C(1) << CAP_SETUID) |
                     (UINT64_C(1) << CAP_SYS_ADMIN) | (UINT64_C(1) << CAP_SYS_BOOT) | (UINT64_C(1) << CAP_SYS_CHROOT) |
                     (UINT64_C(1) << CAP_SYS_NICE) | (UINT64_C(1) << CAP_SYS_PTRACE) |
                     (UINT64_C(1) << CAP_SYS_RESOURCE) | (UINT64_C(1) << CAP_SYS_TTY_CONFIG);
        if (private_network)
                m |= UINT64_C(1) << CAP_NET_ADMIN;
        return m;
}

/* "cap_chown", "CAP_CHOWN", "chown": any case, with or without the prefix. */
static int capability_from_name(const char *s, size_t n) {
        char buf[4 + 64];
        if (n == 0 || n >= 64)
                return -EINVAL;
        /* Letters and '_' only: libcap would also take a number, and a name followed by anything
         * else ("chown2" as cap_chown). */
        for (size_t i = 0; i < n; i++)
                if (!isalpha((unsigned char) s[i]) && s[i] != '_')
                        return -EINVAL;
        int r = dlopen_libcap(NULL);
        if (r < 0)
                return r;
        bool prefixed = n >= 4 && strncasecmp(s, "cap_", 4) == 0;
        snprintf(buf, sizeof(buf), "%s%.*s", prefixed ? "" : "cap_", (int) n, s);
        cap_value_t c;
        if (sym_cap_from_name(buf, &c) < 0 || c < 0 || c >= 64)
                return -EINVAL;
        return (int) c;
}

int capability_list_parse(const char *s, uint64_t *ret, Diag *diag) {
        uint64_t m = 0;
        const char *p = s;
        for (;;) {
                p += strspn(p, " \t\n,");
                if (!*p)
                        break;
                size_t n = strcspn(p, " \t\n,");
                if (n == 3 && strncasecmp(p, "all", 3) == 0)
                        m = CAP_MASK_ALL;
                else {
                        int c = capability_from_name(p, n);
                        if (c < 0) {
                                _cleanup_free_ char *bad = strndup(p, MIN(n, (size_t) 256));
                                const char *detail = NULL;
                                if (dlopen_error_is_library(c) && dlopen_libcap(&detail) < 0 && detail)
                                        return diag_fail(diag, c, bad, "%s (needed for capability names)", detail);
                                return diag_fail(diag, -EINVAL, bad, "unknown capability");
                        }
                        m |= UINT64_C(1) << c;
                }
                p += n;
        }
        *ret = m;
        return 0;
}

uint64_t spawn_config_capabilities(const SpawnConfig *c) {
        return (spawn_default_capabilities(c->private_network) | c->caps_plus) & ~c->caps_minus;
}
