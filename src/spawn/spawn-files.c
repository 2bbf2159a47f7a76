/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "mount-util.h"
#include "net.h"
#include "spawn-files.h"
#include "util.h"
#include "uuid-util.h"

/* The files of the container that the engine provides: machine-id, resolv.conf, localtime, and
 * the loopback interface of a private network.
 *
 * Untrusted input: the container's /etc (its machine-id contents, symlinks named resolv.conf or
 * localtime). Everything is resolved with RESOLVE_IN_ROOT, read with small size limits, and
 * replaced by rename of a file we created, never written through a symlink. */

#define ETC_FILE_SIZE_MAX (64U * 1024U)

static bool id128_from_text(const char *s, size_t n, uint8_t ret[16]) {
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                n--;
        if (n != 32)
                return false;
        char buf[33];
        memcpy(buf, s, 32);
        buf[32] = 0;
        return uuid_parse(buf, ret) >= 0;
}

int setup_machine_id(int root_fd, const SpawnConfig *c, uint8_t ret_id[16], Diag *diag) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        uint8_t id[16];
        bool have = read_file_at(root_fd, "etc/machine-id", RESOLVE_ROOT, 4096, &text, &size) >= 0 &&
                    id128_from_text(text, size, id);
        bool exists = text != NULL;

        if (c->uuid_set && (!have || memcmp(id, c->uuid, 16) != 0)) {
                memcpy(id, c->uuid, 16);
                have = false; /* the file does not say it: provide it */
        } else if (!have) {
                _cleanup_free_ char *hex = NULL;
                int r = random_hex(16, &hex);
                if (r < 0)
                        return diag_fail(diag, r, NULL, "machine id: %m");
                (void) uuid_parse(hex, id);
        }
        memcpy(ret_id, id, 16);
        /* A booting systemd sets a transient id up itself (from container_uuid, which is this
         * one), as under systemd-nspawn: a mount of its own, which it can take down again to
         * commit the id (ours would be locked under --private-users). */
        if (have || !exists || c->boot)
                return 0;

        /* An empty or "uninitialized" /etc/machine-id (or one that --uuid overrides): the id is
         * bound over it read-only from the container's /run, as systemd does at boot. */
        char hex[ID128_STRING_MAX + 1];
        id128_format(id, hex);
        hex[32] = '\n';
        hex[33] = 0;
        _cleanup_close_ int run = openat2_resolve(root_fd, "run", O_RDONLY | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (run < 0)
                return diag_fail(diag, run, NULL, "open /run: %m");
        int r = write_file_atomic_at(run, "machine-id", hex, 33, 0444, ATOMIC_FILE_EXACT_MODE);
        if (r < 0)
                return diag_fail(diag, r, NULL, "write /run/machine-id: %m");
        _cleanup_close_ int s = openat(run, "machine-id", O_PATH | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_close_ int t = openat2_resolve(root_fd, "etc/machine-id", O_PATH, 0, RESOLVE_ROOT);
        if (s < 0 || t < 0)
                return diag_fail(diag, s < 0 ? negative_errno() : t, NULL, "machine id: %m");
        if ((r = bind_fd(s, t, false, true)) < 0)
                return diag_fail(diag, r, NULL, "bind /etc/machine-id: %m");
        return 0;
}

/* Copies host_path into the container's etc/name (replace: also over a non-regular file). */
static int copy_host_file(int root_fd, const char *host_path, const char *name, bool replace) {
        _cleanup_free_ char *content = NULL, *old = NULL;
        size_t size = 0, old_size = 0;
        int r = read_file_at(AT_FDCWD, host_path, 0, ETC_FILE_SIZE_MAX, &content, &size);
        if (r < 0)
                return r;
        _cleanup_close_ int etc = openat2_resolve(root_fd, "etc", O_RDONLY | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (etc < 0)
                return etc;
        struct stat st;
        if (fstatat(etc, name, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                if (!S_ISREG(st.st_mode) && !replace)
                        return 0;
                if (S_ISREG(st.st_mode) &&
                    read_file_at(etc, name, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, ETC_FILE_SIZE_MAX, &old, &old_size) >= 0 &&
                    old_size == size && memcmp(old, content, size) == 0)
                        return 0; /* already the same: no write */
        }
        return write_file_atomic_at(etc, name, content, size, 0644, ATOMIC_FILE_EXACT_MODE);
}

static int bind_host_file(int root_fd, const char *host_path, const char *path) {
        _cleanup_close_ int s = open(host_path, O_PATH | O_CLOEXEC), t = -EBADF;
        if (s < 0)
                return negative_errno();
        int r = open_mount_target(root_fd, path, false, &t);
        if (r < 0)
                return r;
        return bind_fd(s, t, false, true);
}

static int unlink_etc(int root_fd, const char *name) {
        _cleanup_close_ int etc = openat2_resolve(root_fd, "etc", O_RDONLY | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (etc < 0)
                return etc;
        if (unlinkat(etc, name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

/* A resolv.conf that an earlier run copied from the dnsmasq of its own network (the header says so)
 * names a resolver that is gone with that network: a run without one removes it rather than leave
 * the container a dead nameserver (the container's own file, whatever it says, is left alone). */
static int remove_stale_cowpen_resolv_conf(int root_fd) {
        _cleanup_close_ int etc = openat2_resolve(root_fd, "etc", O_RDONLY | O_DIRECTORY, 0, RESOLVE_ROOT);
        if (etc < 0)
                return etc == -ENOENT ? 0 : etc;
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        struct stat st;
        if (fstatat(etc, "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
            read_file_at(etc, "resolv.conf", RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, ETC_FILE_SIZE_MAX, &text, &size) < 0 ||
            size < STRLEN(NET_RESOLV_CONF_HEADER) || memcmp(text, NET_RESOLV_CONF_HEADER, STRLEN(NET_RESOLV_CONF_HEADER)) != 0)
                return 0;
        return unlinkat(etc, "resolv.conf", 0) < 0 && errno != ENOENT ? negative_errno() : 1;
}

static bool root_writable(const SpawnConfig *c) {
        return !c->read_only && c->volatile_mode != VOLATILE_STATE && c->volatile_mode != VOLATILE_YES;
}

#define STATIC_RESOLV_CONF "/usr/lib/systemd/resolv.conf"

int setup_resolv_conf(int root_fd, const SpawnConfig *c, Diag *diag) {
        ResolvConfMode m = c->resolv_conf;
        bool automatic = m == RESOLV_CONF_AUTO;
        /* With a dnsmasq on the host side of the container's network (spawn-network.c), that is
         * the host's resolver as the container sees it: the *-host modes (and auto, which nspawn
         * leaves off with a private network) use the resolv.conf generated for it. */
        const char *host = c->network.resolv_conf ?: "/etc/resolv.conf";
        if (automatic) /* as nspawn without systemd-resolved on the host */
                m = c->private_network && !c->network.resolv_conf ? RESOLV_CONF_OFF
                    : root_writable(c)                            ? RESOLV_CONF_COPY_HOST
                                                                  : RESOLV_CONF_BIND_HOST;
        int r = 0;
        if (automatic && m == RESOLV_CONF_OFF && root_writable(c))
                (void) remove_stale_cowpen_resolv_conf(root_fd);
        switch (m) {
        case RESOLV_CONF_OFF:
        case RESOLV_CONF_AUTO:
        case _RESOLV_CONF_MODE_MAX:
        case _RESOLV_CONF_MODE_INVALID:
                return 0;
        case RESOLV_CONF_COPY_HOST:
        case RESOLV_CONF_REPLACE_HOST:
                r = copy_host_file(root_fd, host, "resolv.conf", m == RESOLV_CONF_REPLACE_HOST);
                break;
        case RESOLV_CONF_COPY_STATIC:
        case RESOLV_CONF_REPLACE_STATIC:
                r = copy_host_file(root_fd, STATIC_RESOLV_CONF, "resolv.conf", m == RESOLV_CONF_REPLACE_STATIC);
                break;
        case RESOLV_CONF_BIND_HOST:
                r = bind_host_file(root_fd, host, "etc/resolv.conf");
                break;
        case RESOLV_CONF_BIND_STATIC:
                r = bind_host_file(root_fd, STATIC_RESOLV_CONF, "etc/resolv.conf");
                break;
        case RESOLV_CONF_DELETE:
                r = unlink_etc(root_fd, "resolv.conf");
                break;
        }
        /* The automatic choice is best effort (the host may have none), as in nspawn. */
        if (r < 0 && !automatic)
                return diag_fail(diag, r, NULL, "--resolv-conf=%s: %m", resolv_conf_mode_to_string(m));
        return 0;
}

int setup_timezone(int root_fd, const SpawnConfig *c, Diag *diag) {
        TimezoneMode m = c->timezone;
        bool automatic = m == TIMEZONE_AUTO;
        char target[256] = "";
        ssize_t n = readlink("/etc/localtime", target, sizeof(target) - 1);
        if (n > 0)
                target[n] = 0;
        const char *zone = n > 0 ? strstr(target, "zoneinfo/") : NULL;
        if (zone)
                zone += STRLEN("zoneinfo/");

        if (automatic) {
                if (access("/etc/localtime", F_OK) < 0)
                        return 0;
                m = root_writable(c) ? TIMEZONE_COPY : TIMEZONE_BIND;
                if (zone && root_writable(c)) {
                        _cleanup_free_ char *zp = strjoin("usr/share/zoneinfo/", zone);
                        int fd = zp ? openat2_resolve(root_fd, zp, O_PATH, 0, RESOLVE_ROOT) : -ENOMEM;
                        if (fd >= 0) {
                                safe_close(fd);
                                m = TIMEZONE_SYMLINK;
                        }
                }
        }
        int r = 0;
        switch (m) {
        case TIMEZONE_OFF:
        case TIMEZONE_AUTO:
        case _TIMEZONE_MODE_MAX:
        case _TIMEZONE_MODE_INVALID:
                return 0;
        case TIMEZONE_COPY:
                r = copy_host_file(root_fd, "/etc/localtime", "localtime", true);
                break;
        case TIMEZONE_BIND:
                r = bind_host_file(root_fd, "/etc/localtime", "etc/localtime");
                break;
        case TIMEZONE_DELETE:
                r = unlink_etc(root_fd, "localtime");
                break;
        case TIMEZONE_SYMLINK: {
                if (!zone) {
                        r = -ENOENT;
                        break;
                }
                _cleanup_free_ char *want = strjoin("../usr/share/zoneinfo/", zone);
                if (!want) {
                        r = -ENOMEM;
                        break;
                }
                _cleanup_close_ int etc = openat2_resolve(root_fd, "etc", O_RDONLY | O_DIRECTORY, 0, RESOLVE_ROOT);
                if (etc < 0) {
                        r = etc;
                        break;
                }
                /* Already pointing at the same zone (whatever the spelling of the path)? Then
                 * the image is left alone, as nspawn does. */
                char have[256];
                ssize_t k = readlinkat(etc, "localtime", have, sizeof(have) - 1);
                if (k > 0) {
                        have[k] = 0;
                        const char *hz = strstr(have, "zoneinfo/");
                        if (hz && streq(hz + STRLEN("zoneinfo/"), zone))
                                break;
                }
                _cleanup_free_ char *rnd = NULL, *tmp = NULL;
                if ((r = random_hex(6, &rnd)) < 0 || !(tmp = strjoin(".#localtime.", rnd))) {
                        r = r < 0 ? r : -ENOMEM;
                        break;
                }
                if (symlinkat(want, etc, tmp) < 0 || renameat(etc, tmp, etc, "localtime") < 0) {
                        r = negative_errno();
                        (void) unlinkat(etc, tmp, 0);
                }
                break;
        }
        }
        if (r < 0 && !automatic)
                return diag_fail(diag, r, NULL, "--timezone=%s: %m", timezone_mode_to_string(m));
        return 0;
}

int loopback_up(void) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        struct ifreq ifr = {};
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return negative_errno();
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        return RET_NERRNO(ioctl(fd, SIOCSIFFLAGS, &ifr));
}
