/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* URL helpers. Untrusted input: the URL's path (decoded with bounds and refused when it would
 * make a file name with '/', NUL or control characters). */
#include <string.h>
#include <strings.h>

#include "pull-url.h"
#include "pull.h"
#include "util.h"

int pull_url_split(const char *url, char **ret_base, char **ret_component, char **ret_filename) {
        const char *scheme_end = strstr(url, "://");
        if (!scheme_end)
                return -EINVAL;
        const char *path = strchr(scheme_end + 3, '/');
        if (!path)
                return -EINVAL;
        size_t plen = strcspn(path, "?#");
        const char *slash = path;
        for (const char *q = path; q < path + plen; q++)
                if (*q == '/')
                        slash = q;
        const char *comp = slash + 1;
        size_t clen = (size_t) (path + plen - comp);
        if (clen == 0 || clen > 3 * PULL_FILENAME_MAX)
                return -EINVAL;

        _cleanup_free_ char *fn = malloc(clen + 1);
        if (!fn)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < clen; i++) {
                unsigned char ch = (unsigned char) comp[i];
                if (ch == '%') {
                        if (i + 2 >= clen)
                                return -EINVAL;
                        int hi = unhexchar(comp[i + 1]), lo = hi >= 0 ? unhexchar(comp[i + 2]) : -1;
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        ch = (unsigned char) (hi << 4 | lo);
                        i += 2;
                }
                if (ch < 0x20 || ch == 0x7f || ch == '/')
                        return -EINVAL;
                fn[n++] = (char) ch;
        }
        fn[n] = 0;
        if (n > PULL_FILENAME_MAX || streq(fn, ".") || streq(fn, ".."))
                return -EINVAL;

        if (ret_base) {
                char *b = strndup(url, (size_t) (slash - url));
                if (!b)
                        return -ENOMEM;
                *ret_base = b;
        }
        if (ret_component) {
                char *c = strndup(comp, clen);
                if (!c) {
                        if (ret_base) {
                                free(*ret_base);
                                *ret_base = NULL;
                        }
                        return -ENOMEM;
                }
                *ret_component = c;
        }
        if (ret_filename)
                *ret_filename = TAKE_PTR(fn);
        return 0;
}

char *pull_url_join(const char *base, const char *component) {
        size_t n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                n--;
        char *s;
        if (asprintf(&s, "%.*s/%s", (int) n, base, component) < 0)
                return NULL;
        return s;
}

static const char *const compression_suffixes[] = { ".xz", ".gz", ".bz2", ".zst", ".zstd", NULL };

static bool strip_suffix(char *s, const char *suffix) {
        size_t n = strlen(s), l = strlen(suffix);
        if (n <= l || strcasecmp(s + n - l, suffix) != 0)
                return false;
        s[n - l] = 0;
        return true;
}

char *pull_sidecar_stem(const char *filename) {
        char *s = strdup(filename);
        if (!s)
                return NULL;
        for (const char *const *c = compression_suffixes; *c; c++)
                if (strip_suffix(s, *c))
                        break;
        (void) strip_suffix(s, ".raw");
        return s;
}

int pull_name_from_url(const char *url, char **ret) {
        _cleanup_free_ char *fn = NULL;
        int r = pull_url_split(url, NULL, NULL, &fn);
        if (r < 0)
                return r;
        if (!strip_suffix(fn, ".tgz") && !strip_suffix(fn, ".tbz2") && !strip_suffix(fn, ".txz")) {
                for (const char *const *c = compression_suffixes; *c; c++)
                        if (strip_suffix(fn, *c))
                                break;
                if (!strip_suffix(fn, ".tar") && !strip_suffix(fn, ".raw"))
                        (void) strip_suffix(fn, ".img");
        }
        if (!image_name_is_valid(fn))
                return -EINVAL;
        *ret = TAKE_PTR(fn);
        return 0;
}
