/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "image.h"
#include "util.h"

/* Provenance records: where an image came from, kept as the sidecar NAME.provenance in the image
 * root (image.h says why there and not in an xattr). Untrusted input: the record file itself is
 * parsed as if hostile (it sits in a directory root may have let others write to, and a future
 * format may be older or newer): it has a size limit, a line limit, a value length limit, and
 * every value is checked for what its key allows. */

#define PROVENANCE_MAGIC "cowpen-provenance 1"

static const char *const verification_names[] = {"none", "checksum", "signature", "digest", NULL};

void image_provenance_done(ImageProvenance *p) {
        if (!p)
                return;
        free(p->source);
        free(p->sha256);
        free(p->verification);
        free(p->signer);
        free(p->parent);
        free(p->clone_method);
        free(p->root_hash);
        *p = IMAGE_PROVENANCE_NULL;
}

static bool is_hex(const char *s, size_t min, size_t max) {
        size_t n = strlen(s);
        if (n < min || n > max)
                return false;
        for (; *s; s++)
                if (!strchr("0123456789abcdef", *s))
                        return false;
        return true;
}

/* What a value may hold: printable bytes (UTF-8 allowed), no control characters. */
static bool value_is_printable(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static int set_field(char **field, const char *value) {
        if (*field)
                return -EBADMSG; /* a key twice: which one would count? */
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

static int parse_line(ImageProvenance *p, const char *key, const char *value, bool *seen_generation) {
        if (strlen(value) > IMAGE_PROVENANCE_VALUE_MAX || !value_is_printable(value))
                return -EBADMSG;
        if (streq(key, "source"))
                return set_field(&p->source, value);
        if (streq(key, "sha256")) {
                if (!is_hex(value, 64, 64))
                        return -EBADMSG;
                return set_field(&p->sha256, value);
        }
        if (streq(key, "verification")) {
                if (!strv_contains((char **) verification_names, value))
                        return -EBADMSG;
                return set_field(&p->verification, value);
        }
        if (streq(key, "signer")) {
                /* An OpenPGP fingerprint: 40 (v4) or 64 (v5/v6) hex digits, upper case as gpg prints them. */
                size_t n = strlen(value);
                if (n != 40 && n != 64)
                        return -EBADMSG;
                for (const char *c = value; *c; c++)
                        if (!strchr("0123456789ABCDEF", *c))
                                return -EBADMSG;
                return set_field(&p->signer, value);
        }
        if (streq(key, "parent")) {
                if (!image_name_is_valid(value))
                        return -EBADMSG;
                return set_field(&p->parent, value);
        }
        if (streq(key, "clone_method")) {
                bool known = false;
                for (CloneMethod m = 0; m < _CLONE_METHOD_MAX; m++)
                        known = known || streq(value, clone_method_to_string(m));
                if (!known)
                        return -EBADMSG;
                return set_field(&p->clone_method, value);
        }
        if (streq(key, "generation")) {
                if (*seen_generation || !*value || strlen(value) > 19)
                        return -EBADMSG;
                uint64_t g = 0;
                for (const char *c = value; *c; c++) {
                        if (*c < '0' || *c > '9')
                                return -EBADMSG;
                        g = g * 10 + (uint64_t) (*c - '0');
                }
                if (g >= IMAGE_GENERATION_MAX)
                        return -EBADMSG;
                p->generation = g;
                *seen_generation = true;
                return 0;
        }
        if (streq(key, "root_hash")) {
                if (!is_hex(value, 40, 128))
                        return -EBADMSG;
                return set_field(&p->root_hash, value);
        }
        return 0; /* a key of a newer cowpen: ignored */
}

int image_provenance_parse(const char *text, size_t size, ImageProvenance *ret) {
        if (size > IMAGE_PROVENANCE_SIZE_MAX)
                return -E2BIG;
        if (memchr(text, 0, size))
                return -EBADMSG;
        _cleanup_(image_provenance_done) ImageProvenance p = IMAGE_PROVENANCE_NULL;
        bool seen_generation = false;
        size_t lines = 0;
        const char *s = text, *end = text + size;
        while (s < end) {
                const char *eol = memchr(s, '\n', (size_t) (end - s));
                if (!eol)
                        return -EBADMSG; /* every line ends with a newline: a cut-off record is refused */
                if (++lines > IMAGE_PROVENANCE_LINES_MAX)
                        return -E2BIG;
                _cleanup_free_ char *line = strndup(s, (size_t) (eol - s));
                if (!line)
                        return -ENOMEM;
                s = eol + 1;
                if (lines == 1) {
                        if (!streq(line, PROVENANCE_MAGIC))
                                return -EBADMSG;
                        continue;
                }
                char *eq = strchr(line, '=');
                if (!eq || eq == line)
                        return -EBADMSG;
                *eq = 0;
                for (const char *k = line; *k; k++)
                        if (!((*k >= 'a' && *k <= 'z') || *k == '_' || (*k >= '0' && *k <= '9')))
                                return -EBADMSG;
                int r = parse_line(&p, line, eq + 1, &seen_generation);
                if (r < 0)
                        return r;
        }
        if (lines == 0)
                return -EBADMSG;
        *ret = p;
        p = IMAGE_PROVENANCE_NULL;
        return 0;
}

int image_provenance_format(const ImageProvenance *p, char **ret) {
        const struct {
                const char *key, *value;
        } f[] = {
                {"source", p->source},
                {"sha256", p->sha256},
                {"verification", p->verification},
                {"signer", p->signer},
                {"parent", p->parent},
                {"clone_method", p->clone_method},
                {"root_hash", p->root_hash},
        };
        size_t sz = strlen(PROVENANCE_MAGIC) + 1 + 32;
        for (size_t i = 0; i < ELEMENTSOF(f); i++)
                if (f[i].value) {
                        if (strlen(f[i].value) > IMAGE_PROVENANCE_VALUE_MAX || !value_is_printable(f[i].value))
                                return -EINVAL;
                        sz += strlen(f[i].key) + 2 + strlen(f[i].value);
                }
        char *s = malloc(sz + 1), *o = s;
        if (!s)
                return -ENOMEM;
        o += sprintf(o, "%s\n", PROVENANCE_MAGIC);
        for (size_t i = 0; i < ELEMENTSOF(f); i++)
                if (f[i].value)
                        o += sprintf(o, "%s=%s\n", f[i].key, f[i].value);
        if (p->generation != IMAGE_GENERATION_NONE)
                o += sprintf(o, "generation=%" PRIu64 "\n", p->generation);
        *ret = s;
        return 0;
}

int image_provenance_copy(const ImageProvenance *p, ImageProvenance *ret) {
        _cleanup_(image_provenance_done) ImageProvenance c = IMAGE_PROVENANCE_NULL;
        char **from[] = {(char **) &p->source, (char **) &p->sha256, (char **) &p->verification, (char **) &p->signer,
                (char **) &p->parent, (char **) &p->clone_method, (char **) &p->root_hash};
        char **to[] = {&c.source, &c.sha256, &c.verification, &c.signer, &c.parent, &c.clone_method, &c.root_hash};
        for (size_t i = 0; i < ELEMENTSOF(from); i++)
                if (*from[i] && !(*to[i] = strdup(*from[i])))
                        return -ENOMEM;
        c.generation = p->generation;
        *ret = c;
        c = IMAGE_PROVENANCE_NULL;
        return 0;
}

int image_provenance_read_at(int dir_fd, const char *base, ImageProvenance *ret) {
        if (strlen(base) + STRLEN(IMAGE_PROVENANCE_SUFFIX) > NAME_MAX)
                return -ENOENT;
        _cleanup_free_ char *fn = strjoin(base, IMAGE_PROVENANCE_SUFFIX), *text = NULL;
        if (!fn)
                return -ENOMEM;
        size_t size = 0;
        /* A name, no path: RESOLVE_BENEATH | NO_SYMLINKS keeps it the very file. */
        int r = read_file_at(
                dir_fd, fn, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, IMAGE_PROVENANCE_SIZE_MAX, &text, &size);
        if (r == -EFBIG)
                return -E2BIG;
        if (r < 0)
                return r;
        return image_provenance_parse(text, size, ret);
}

int image_provenance_read(ImageRoot *root, const char *name, ImageProvenance *ret) {
        return image_provenance_read_at(root->fd, name, ret);
}

int image_provenance_write_at(int dir_fd, const char *base, const ImageProvenance *p) {
        if (strlen(base) + STRLEN(IMAGE_PROVENANCE_SUFFIX) > NAME_MAX)
                return 0; /* a name this long has no room for a record */
        _cleanup_free_ char *fn = strjoin(base, IMAGE_PROVENANCE_SUFFIX), *text = NULL;
        if (!fn)
                return -ENOMEM;
        int r = image_provenance_format(p, &text);
        if (r < 0)
                return r;
        return write_file_atomic_at(dir_fd, fn, text, strlen(text), 0644, ATOMIC_FILE_EXACT_MODE);
}

int image_temp_set_provenance(ImageTemp *t, const ImageProvenance *p) {
        if (strlen(t->name) + STRLEN(IMAGE_PROVENANCE_SUFFIX) > NAME_MAX)
                return 0;
        _cleanup_free_ char *text = NULL;
        int r = image_provenance_format(p, &text);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = -EBADF;
        r = image_temp_sidecar(t, IMAGE_PROVENANCE_SUFFIX, &fd);
        if (r < 0)
                return r;
        return loop_write(fd, text, strlen(text));
}
