/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The out-of-space line of import and pull (import-space.h). Reads /proc/self/mountinfo, which the
 * kernel writes; nothing here is from the archive. */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "import-space.h"
#include "util.h"

/* Lines of mountinfo read at most (a host with more mounts gets the fallback). */
#define MOUNTINFO_LINES_MAX 100000

bool import_error_is_space(int r) {
        return r == -ENOSPC || r == -EDQUOT;
}

uint64_t import_space_free(int fd) {
        struct statvfs sv;
        if (fstatvfs(fd, &sv) < 0)
                return UINT64_MAX;
        uint64_t blocks = geteuid() == 0 ? sv.f_bfree : sv.f_bavail;
        return blocks * (uint64_t) sv.f_frsize;
}

const char *space_size(char *buf, size_t l, uint64_t bytes) {
        static const uint64_t mib = 1024ULL * 1024, gib = 1024ULL * 1024 * 1024;
        if (bytes >= 10 * gib)
                snprintf(buf, l, "%" PRIu64 " GiB", bytes / gib);
        else if (bytes >= gib)
                snprintf(buf, l, "%.1f GiB", (double) bytes / (double) gib);
        else if (bytes >= 10 * mib)
                snprintf(buf, l, "%" PRIu64 " MiB", bytes / mib);
        else
                snprintf(buf, l, "%.1f MiB", (double) bytes / (double) mib);
        return buf;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s) {
        char *o = s;
        for (char *p = s; *p;) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *o++ = (char) (((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
                        p += 4;
                } else
                        *o++ = *p++;
        }
        *o = 0;
}

static const char *fs_type_name(int fd) {
        struct statfs sf;
        if (fstatfs(fd, &sf) < 0)
                return "unknown file system";
        switch ((unsigned long) sf.f_type) {
        case 0xEF53UL:
                return "ext4";
        case 0x9123683EUL:
                return "btrfs";
        case 0x58465342UL:
                return "xfs";
        case 0x01021994UL:
                return "tmpfs";
        case 0x794C7630UL:
                return "overlay";
        default:
                return "unknown file system";
        }
}

char *import_space_describe(int fd, const char *fallback_path) {
        struct stat st;
        _cleanup_free_ char *found = NULL;
        bool found_holds = false;
        size_t found_len = 0;
        if (fstat(fd, &st) >= 0) {
                FILE *f = fopen("/proc/self/mountinfo", "re");
                if (f) {
                        char *line = NULL;
                        size_t n = 0;
                        for (unsigned i = 0; i < MOUNTINFO_LINES_MAX && getline(&line, &n, f) > 0; i++) {
                                /* ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - TYPE SOURCE SUPER */
                                unsigned maj, min;
                                char mnt[4096];
                                if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mnt) != 3)
                                        continue;
                                if (makedev(maj, min) != st.st_dev)
                                        continue;
                                const char *sep = strstr(line, " - ");
                                char type[64], source[4096];
                                if (!sep || sscanf(sep + 3, "%63s %4095s", type, source) != 2)
                                        continue;
                                unescape_octal(mnt);
                                unescape_octal(source);
                                /* Of several mounts of the device (bind mounts), the one holding
                                 * fallback_path (the longest such), else the last. */
                                size_t l = strlen(mnt);
                                bool holds = fallback_path && strncmp(fallback_path, mnt, l) == 0 &&
                                             (fallback_path[l] == '/' || fallback_path[l] == 0 || streq(mnt, "/"));
                                if (found_holds && (!holds || l < found_len))
                                        continue;
                                char *d = NULL;
                                if (asprintf(&d, "%s (%s on %s)", mnt, type, source) < 0)
                                        break;
                                free(found);
                                found = d;
                                found_holds = holds;
                                found_len = l;
                        }
                        free(line);
                        fclose(f);
                }
        }
        if (found)
                return TAKE_PTR(found);
        char *d = NULL;
        if (asprintf(&d, "%s (%s)", fallback_path ?: "the image root", fs_type_name(fd)) < 0)
                return NULL;
        return d;
}

int import_space_fail(Diag *diag, int r, int fd, const char *fallback_path, const char *detail_format, ...) {
        _cleanup_free_ char *fs = import_space_describe(fd, fallback_path);
        _cleanup_free_ char *detail = NULL;
        va_list ap;
        va_start(ap, detail_format);
        int k = vasprintf(&detail, detail_format, ap);
        va_end(ap);
        if (k < 0)
                detail = NULL;
        diag_clear_failure(diag);
        /* Whatever entry it happened at, the file system is what is to be named. */
        return diag_fail(diag, r, NULL, "%s %s%s%s", r == -EDQUOT ? "disk quota exceeded on" : "no space left on",
                         fs ?: "the image root's file system", detail ? ": " : "", detail ?: "");
}
