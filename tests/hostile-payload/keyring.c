/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* keyring: the kernel keyring is not namespaced by mount/PID namespaces. The driver adds a
 * canary key "cowpen-hostile-canary" to the host root's user keyring before the run.
 *
 * Keys: search= keyctl(KEYCTL_SEARCH) of @u for the canary (ENOKEY: searched but not found);
 * read= keyctl(KEYCTL_READ) of the canary when found, else of @u itself; add_key= add_key() of a
 * probe key to @u; request_key= request_key() of the canary. ALLOWED when any of them worked.
 * Harmless: nothing is linked by search/request_key (destination 0), and a probe key that was
 * added is unlinked and invalidated at once (unlink= says how that went). */
#include "hostile.h"

#include <sys/syscall.h>
#include <linux/keyctl.h>

static long add_key(const char *type, const char *desc, const void *payload, size_t plen, long ring) {
        return syscall(SYS_add_key, type, desc, payload, plen, ring);
}
static long request_key(const char *type, const char *desc, const char *info, long ring) {
        return syscall(SYS_request_key, type, desc, info, ring);
}
static long keyctl(int cmd, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
        return syscall(SYS_keyctl, cmd, a2, a3, a4, a5);
}

int main(void) {
        h_init("keyring");
        long id = keyctl(KEYCTL_SEARCH, (unsigned long) KEY_SPEC_USER_KEYRING, (unsigned long) "user",
                (unsigned long) "cowpen-hostile-canary", 0);
        if (h_res("search", id, errno) >= 0)
                h_allow("search");

        char buf[256];
        long r = keyctl(KEYCTL_READ, (unsigned long) (id >= 0 ? id : KEY_SPEC_USER_KEYRING), (unsigned long) buf,
                sizeof(buf), 0);
        if (h_res("read", r, errno) >= 0)
                h_allow("read");

        long probe = add_key("user", "cowpen-hostile-probe", "x", 1, KEY_SPEC_USER_KEYRING);
        if (h_res("add_key", probe, errno) >= 0) {
                h_allow("add_key");
                h_ret("unlink",
                        keyctl(KEYCTL_UNLINK, (unsigned long) probe, (unsigned long) KEY_SPEC_USER_KEYRING, 0, 0));
                (void) keyctl(KEYCTL_INVALIDATE, (unsigned long) probe, 0, 0, 0);
        }

        r = request_key("user", "cowpen-hostile-canary", NULL, 0);
        if (h_res("request_key", r, errno) >= 0)
                h_allow("request_key");
        h_done();
}
