/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "fd-util.h"
#include "util.h"

void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        for (; l && l[n]; n++)
                ;
        return n;
}

int strv_push(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c)
                return -ENOMEM;
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        char *v = strdup(value);
        if (!v)
                return -ENOMEM;
        int r = strv_push(l, v);
        if (r < 0)
                free(v);
        return r;
}

bool strv_contains(char *const *l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

char *strjoin_real(const char *first, ...) {
        va_list ap;
        size_t len = 0;

        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *))
                len += strlen(s);
        va_end(ap);

        char *r = malloc(len + 1), *p = r;
        if (!r)
                return NULL;
        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *))
                p = stpcpy(p, s);
        va_end(ap);
        *p = 0;
        return r;
}

bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

const char *endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        if (b > a || strcmp(s + a - b, suffix) != 0)
                return NULL;
        return s + a - b;
}

int parse_boolean(const char *v) {
        if (!v)
                return -EINVAL;
        if (streq(v, "1") || streq(v, "yes") || streq(v, "y") || streq(v, "true") || streq(v, "t") || streq(v, "on"))
                return 1;
        if (streq(v, "0") || streq(v, "no") || streq(v, "n") || streq(v, "false") || streq(v, "f") || streq(v, "off"))
                return 0;
        return -EINVAL;
}

/* The decimal number s starts with (a digit first: no sign, no space), and where it ends. */
static int parse_u64_prefix(const char *s, uint64_t *ret, const char **ret_end) {
        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        *ret = v;
        *ret_end = end;
        return 0;
}

int safe_atou64(const char *s, uint64_t *ret) {
        uint64_t v;
        const char *end;
        int r = parse_u64_prefix(s, &v, &end);
        if (r < 0)
                return r;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int safe_atoi(const char *s, int *ret) {
        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        char *end;
        long v = strtol(s, &end, 10);
        if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } table[] = {
                {"E", UINT64_C(1) << 60},
                {"P", UINT64_C(1) << 50},
                {"T", UINT64_C(1) << 40},
                {"G", UINT64_C(1) << 30},
                {"M", UINT64_C(1) << 20},
                {"K", UINT64_C(1) << 10},
                {"B", 1},
                {"", 1},
        };
        uint64_t v;
        const char *end;
        int r = parse_u64_prefix(s, &v, &end);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                if (strcasecmp(end, table[i].suffix) != 0 &&
                        !(table[i].factor > 1 && end[0] && strncasecmp(end, table[i].suffix, 1) == 0 &&
                                (strcasecmp(end + 1, "iB") == 0 || strcasecmp(end + 1, "B") == 0)))
                        continue;
                if (v > UINT64_MAX / table[i].factor)
                        return -ERANGE;
                *ret = v * table[i].factor;
                return 0;
        }
        return -EINVAL;
}

int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int unhexmem(const char *s, size_t len, void **ret, size_t *ret_len) {
        if (len % 2 != 0)
                return -EINVAL;
        uint8_t *buf = malloc(len / 2 + 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 2) {
                int a = unhexchar(s[i]), b = unhexchar(s[i + 1]);
                if (a < 0 || b < 0) {
                        free(buf);
                        return -EINVAL;
                }
                buf[i / 2] = (uint8_t) (a << 4 | b);
        }
        *ret = buf;
        *ret_len = len / 2;
        return 0;
}

char *hexmem(const void *p, size_t n) {
        static const char hex[] = "0123456789abcdef";
        const uint8_t *b = p;
        char *r = malloc(n * 2 + 1);
        if (!r)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                r[i * 2] = hex[b[i] >> 4];
                r[i * 2 + 1] = hex[b[i] & 15];
        }
        r[n * 2] = 0;
        return r;
}

const char *format_bytes(char *buf, size_t l, uint64_t bytes) {
        static const char *const units[] = {"B", "K", "M", "G", "T", "P", "E"};
        size_t i = 0;
        uint64_t v = bytes, rem = 0;
        while (v >= 1024 && i + 1 < ELEMENTSOF(units)) {
                rem = v % 1024;
                v /= 1024;
                i++;
        }
        if (i == 0)
                snprintf(buf, l, "%" PRIu64 "B", bytes);
        else
                snprintf(buf, l, "%" PRIu64 ".%" PRIu64 "%s", v, rem * 10 / 1024, units[i]);
        return buf;
}

const char *format_timestamp(char *buf, size_t l, uint64_t sec) {
        time_t t = (time_t) sec;
        struct tm tm;
        if (!localtime_r(&t, &tm) || strftime(buf, l, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, l, "@%" PRIu64, sec);
        return buf;
}

const char *image_name_invalid_reason(const char *s) {
        if (!s || !*s)
                return "name is empty";
        if (strlen(s) > IMAGE_NAME_MAX)
                return "name is longer than 255 bytes";
        if (strchr(s, '/'))
                return "name contains '/'";
        if (streq(s, ".") || streq(s, ".."))
                return "name is \".\" or \"..\"";
        if (s[0] == '.')
                return "name starts with '.' (hidden names are reserved)";
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return "name contains control characters";
        if (endswith(s, "~"))
                return "name ends with '~'";
        return NULL;
}

bool image_name_is_valid(const char *s) {
        return !image_name_invalid_reason(s);
}

char *printable(const char *s, size_t max) {
        size_t l = strlen(s);
        char *r = malloc(MIN(l, max) * 4 + 8), *o = r;
        if (!r)
                return NULL;
        for (size_t i = 0; i < l; i++) {
                if ((size_t) (o - r) >= max) {
                        o = stpcpy(o, "…");
                        break;
                }
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c == 0x7f || c == '\\')
                        o += sprintf(o, "\\x%02x", c);
                else
                        *o++ = (char) c;
        }
        *o = 0;
        return r;
}

int random_hex(size_t n, char **ret) {
        uint8_t buf[64];
        if (n > sizeof(buf))
                return -EINVAL;
        if (getrandom(buf, n, 0) != (ssize_t) n)
                return -EIO;
        char *h = hexmem(buf, n);
        if (!h)
                return -ENOMEM;
        *ret = h;
        return 0;
}

static volatile sig_atomic_t interrupt_signal = 0;

static void interrupt_handler(int sig) {
        interrupt_signal = sig;
}

int install_interrupt_handlers(void) {
        struct sigaction sa = {.sa_handler = interrupt_handler, .sa_flags = 0};
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGHUP, &sa, NULL) < 0)
                return negative_errno();
        return 0;
}

bool interrupted(void) {
        return interrupt_signal != 0;
}

int interrupted_signal(void) {
        return interrupt_signal;
}

bool name_owner_is_gone(const char *name, const char *prefix) {
        const char *p = startswith(name, prefix) ? name + strlen(prefix) : NULL;
        if (!p || *p < '1' || *p > '9')
                return false;
        char *end;
        errno = 0;
        unsigned long pid = strtoul(p, &end, 10);
        if (errno || (*end != '-' && *end != '.') || pid > INT_MAX)
                return false;
        return kill((pid_t) pid, 0) < 0 && errno == ESRCH;
}
