/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "mount-util.h"
#include "spawn-journal.h"
#include "string-table.h"
#include "util.h"
#include "uuid-util.h"

/* --link-journal=, as systemd-nspawn 252's setup_journal(): the container's journal directory
 * /var/log/journal/MACHINE-ID (the container's machine ID, 32 hex digits) made visible to the
 * host. guest: kept in the container, the host's /var/log/journal/ID a symlink to it (through the
 * root's host path); host: kept on the host, bound into the container; auto (the default): bound
 * when the host has that directory already, otherwise nothing. A try- mode (and auto) gives up
 * without failing where it cannot be done. Nothing is removed when the container ends: the link
 * or directory stays, as with nspawn, so that journalctl -m still reads it and the next run with
 * auto finds it.
 *
 * Untrusted input: the container's tree. The guest side (var, var/log, var/log/journal, ID) is
 * made and opened one component at a time without following any symlink, so that neither the
 * mounts here nor the host's symlink (which the host follows as a plain path) can be led out of
 * the root by a symlink the image planted. */

static const char *const link_journal_table[_LINK_JOURNAL_MAX] = {
        [LINK_JOURNAL_NO] = "no",
        [LINK_JOURNAL_AUTO] = "auto",
        [LINK_JOURNAL_GUEST] = "guest",
        [LINK_JOURNAL_HOST] = "host",
};

int link_journal_parse(const char *s, LinkJournal *ret, bool *ret_try) {
        bool try = false;
        const char *m = s;
        if (startswith(s, "try-")) {
                try = true;
                m = s + 4;
        }
        ssize_t i = string_table_lookup(link_journal_table, _LINK_JOURNAL_MAX, m);
        if (try && i != LINK_JOURNAL_GUEST && i != LINK_JOURNAL_HOST)
                return -EINVAL;
        if (i < 0) {
                /* nspawn 252 takes booleans too: yes is auto, no is no. */
                int b = parse_boolean(s);
                if (b < 0)
                        return -EINVAL;
                i = b ? LINK_JOURNAL_AUTO : LINK_JOURNAL_NO;
        }
        *ret = (LinkJournal) i;
        *ret_try = try;
        return 0;
}

const char *link_journal_to_string(LinkJournal j, bool try) {
        if (try && j == LINK_JOURNAL_GUEST)
                return "try-guest";
        if (try && j == LINK_JOURNAL_HOST)
                return "try-host";
        return j >= 0 && j < _LINK_JOURNAL_MAX ? link_journal_table[j] : NULL;
}

/* A directory name below parent, made (0755, the container's root's) if missing, opened without
 * following a symlink: -ENOTDIR or -ELOOP when it is anything but a directory. */
static int guest_dir(int parent, const char *name, uid_t root_uid, int *ret) {
        struct stat st;
        bool made = false;
        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                int r = make_mount_point(parent, name, true);
                if (r < 0)
                        return r;
                made = true;
        }
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP ? -ELOOP : negative_errno();
        if (made && root_uid != 0 && fchown(fd, root_uid, root_uid) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        *ret = fd;
        return 0;
}

static int is_mount_point_at(int dir_fd, const char *name) {
        struct statx sx;
        if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int read_host_machine_id(uint8_t ret[16]) {
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        int r = read_file_at(AT_FDCWD, "/etc/machine-id", 0, 64, &text, &n);
        if (r < 0)
                return r;
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
                text[--n] = 0;
        return n == 32 && uuid_from_string(text, ret) >= 0 ? 0 : -EBADMSG;
}

/* Fails with r (and the cause), unless the mode is a try one: then gives up silently, as nspawn. */
#define GIVE_UP(try, diag, r, ...) ((try) ? 0 : diag_fail((diag), (r), NULL, __VA_ARGS__))

int setup_journal(
        int root_fd, const SpawnConfig *c, const char *root_path, const uint8_t id[16], uid_t root_uid, Diag *diag) {
        if (c->ephemeral || c->link_journal == LINK_JOURNAL_NO)
                return 0;
        LinkJournal mode = c->link_journal;
        bool try = c->link_journal_try || mode == LINK_JOURNAL_AUTO;

        uint8_t host_id[16];
        if (read_host_machine_id(host_id) >= 0 && memcmp(host_id, id, 16) == 0)
                return GIVE_UP(try, diag, -EEXIST,
                        "--link-journal: the host's and the container's machine IDs are equal, "
                        "refusing to link journals");

        char hex[33];
        for (size_t i = 0; i < 16; i++)
                snprintf(hex + 2 * i, 3, "%02x", id[i]);

        /* The guest's /var/log/journal, made in every mode but no (as nspawn). */
        _cleanup_close_ int var = -EBADF, log = -EBADF, journal = -EBADF;
        int r;
        if ((r = guest_dir(root_fd, "var", root_uid, &var)) < 0 || (r = guest_dir(var, "log", root_uid, &log)) < 0 ||
                (r = guest_dir(log, "journal", root_uid, &journal)) < 0) {
                /* auto (the default) and try-*: quietly, also where the image's /var is a symlink
                 * (nspawn follows it inside the root; the host would follow it as its own path). */
                if (try && (r == -EROFS || r == -ELOOP || r == -ENOTDIR))
                        return 0;
                return diag_fail(diag, r, NULL,
                        r == -ELOOP || r == -ENOTDIR
                                ? "--link-journal: the container's /var/log/journal is not a directory "
                                  "(a symlink?), refusing to use it"
                                : "--link-journal: make the container's /var/log/journal: %m");
        }

        _cleanup_free_ char *host = strjoin("/var/log/journal/", hex);
        _cleanup_free_ char *guest = strjoin(root_path, "/var/log/journal/", hex);
        if (!host || !guest)
                return -ENOMEM;
        if ((r = is_mount_point_at(AT_FDCWD, host)) != 0 || (r = is_mount_point_at(journal, hex)) != 0) {
                if (r < 0)
                        return GIVE_UP(try, diag, r, "--link-journal: %s: %m", hex);
                return GIVE_UP(try, diag, -EEXIST,
                        "--link-journal: /var/log/journal/%s is a mount point already, refusing to use it", hex);
        }

        char target[4096];
        ssize_t l = readlink(host, target, sizeof(target) - 1);
        if (l >= 0) {
                target[l] = 0;
                if ((mode == LINK_JOURNAL_GUEST || mode == LINK_JOURNAL_AUTO) && streq(target, guest)) {
                        /* Linked already: the guest's directory only. One that became a
                         * symlink loses the host's link, which the host would follow. */
                        _cleanup_close_ int d = -EBADF;
                        if ((r = guest_dir(journal, hex, root_uid, &d)) >= 0)
                                return 0;
                        (void) unlink(host);
                        return GIVE_UP(try, diag, r, "--link-journal: the container's /var/log/journal/%s: %m", hex);
                }
                if (unlink(host) < 0)
                        return diag_fail(diag, negative_errno(), host, "--link-journal: remove the old symlink: %m");
        } else if (errno == EINVAL) {
                /* Something that is not a symlink: guest replaces an empty directory only. */
                if (mode == LINK_JOURNAL_GUEST && rmdir(host) < 0)
                        return diag_fail(diag, negative_errno(), host,
                                errno == ENOTDIR
                                        ? "--link-journal=guest: exists and is neither a symlink nor a directory"
                                        : "--link-journal=guest: remove the host's directory: %m");
        } else if (errno != ENOENT)
                return diag_fail(diag, negative_errno(), host, "--link-journal: readlink: %m");

        _cleanup_close_ int gd = -EBADF;
        if (mode == LINK_JOURNAL_GUEST) {
                /* The container's directory first, checked: never a link to a symlink of it. */
                if ((r = guest_dir(journal, hex, root_uid, &gd)) < 0)
                        return GIVE_UP(try, diag, r,
                                "--link-journal=guest: make the container's /var/log/journal/%s: %m", hex);
                if (symlink(guest, host) < 0)
                        return GIVE_UP(try, diag, negative_errno(), "--link-journal=guest: symlink %s: %m", host);
                return 0;
        }
        if (mode == LINK_JOURNAL_HOST) {
                /* Not its parents: a host without a persistent journal does not get one here. */
                if (mkdir(host, 0755) < 0 && errno != EEXIST)
                        return GIVE_UP(try, diag, negative_errno(), "--link-journal=host: mkdir %s: %m", host);
        } else if (access(host, F_OK) < 0)
                return 0;

        _cleanup_close_ int src = open(host, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0)
                return GIVE_UP(try, diag, negative_errno(), "--link-journal: open %s: %m", host);
        if ((r = guest_dir(journal, hex, root_uid, &gd)) < 0)
                return GIVE_UP(try, diag, r, "--link-journal: make the container's /var/log/journal/%s: %m", hex);
        if ((r = bind_fd(src, gd, false, false)) < 0)
                return diag_fail(diag, r, NULL, "--link-journal: bind the host's %s into the container: %m", host);
        return 0;
}
