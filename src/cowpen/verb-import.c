/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "export.h"
#include "fd-util.h"
#include "image.h"
#include "import.h"
#include "progress.h"
#include "util.h"
#include "verbs.h"

/* The import and export verbs: import-tar, import-raw, export-tar, export-raw. */

static ProgressMode progress_mode(void) {
        if (arg_global.no_progress || arg_global.quiet)
                return PROGRESS_OFF;
        if (arg_global.json != JSON_OFF)
                return PROGRESS_JSON;
        return PROGRESS_BAR;
}

static void progress_cb(uint64_t bytes, void *userdata) {
        progress_update(userdata, bytes);
}

/* The image name a file name suggests: its last component without compression/tar/raw suffixes. */
static int name_from_file(const char *file, char **ret) {
        const char *slash = strrchr(file, '/');
        _cleanup_free_ char *n = strdup(slash ? slash + 1 : file);
        if (!n)
                return -ENOMEM;
        static const char *const suffixes[] = { ".xz", ".gz", ".bz2", ".zst", ".txz", ".tgz", ".tbz2", ".tzst",
                                                 ".tar", ".raw", ".img", NULL };
        for (bool again = true; again;) {
                again = false;
                for (size_t i = 0; suffixes[i]; i++) {
                        char *e = (char *) endswith(n, suffixes[i]);
                        if (e && e != n) {
                                *e = 0;
                                again = true;
                        }
                }
        }
        *ret = TAKE_PTR(n);
        return 0;
}

/* An archive path for a one-line message: control characters escaped, long paths shortened. */
static void escape_entry(const char *s, char *buf, size_t l) {
        size_t o = 0, n = 0;
        for (; *s && o + 8 < l; s++, n++) {
                if (n >= 160) {
                        o += (size_t) snprintf(buf + o, l - o, "…");
                        break;
                }
                unsigned char c = (unsigned char) *s;
                if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
                        o += (size_t) snprintf(buf + o, l - o, "\\x%02x", c);
                else
                        buf[o++] = (char) c;
        }
        buf[o] = 0;
}

static int parse_limit(const char *opt, const char *arg, bool size, uint64_t *ret) {
        uint64_t v;
        int r = size ? parse_size(arg, &v) : safe_atou64(arg, &v);
        if (r < 0 || v == 0)
                return log_usage("%s=%s: expected a positive %s", opt, arg, size ? "size" : "number");
        *ret = v;
        return 0;
}

static const char help_import_tar[] =
        "cowpen import-tar [OPTIONS…] FILE|- [NAME]\n\n"
        "Import a tar archive (plain, gzip, xz, bzip2 or zstd, detected by magic bytes) as image NAME\n"
        "(default: the file name without suffixes). The tree is built under a hidden name and\n"
        "appears only when complete; the archive is treated as hostile.\n\n"
        "     --force              Replace an existing image of that name\n"
        "     --read-only          Make the image read-only\n"
        "     --max-entries=N      Refuse archives with more entries (default 4194304)\n"
        "     --max-size=BYTES     Refuse archives unpacking to more (default 64G)\n"
        "     --max-path=BYTES     Refuse longer entry paths (default 4096)\n"
        "     --max-depth=N        Refuse deeper entry paths (default 256)\n"
        "     --no-progress        Do not draw a progress bar\n"
        "  -q --quiet              Likewise, and no summary\n";

static const char help_import_raw[] =
        "cowpen import-raw [OPTIONS…] FILE|- [NAME]\n\n"
        "Import a raw disk image (optionally gzip, xz, bzip2 or zstd compressed) as NAME.raw,\n"
        "written sparsely, with the sidecars found next to FILE (NAME.nspawn, .roothash,\n"
        ".roothash.p7s, .verity).\n\n"
        "     --force              Replace an existing image of that name\n"
        "     --read-only          Make the image read-only\n"
        "     --no-progress        Do not draw a progress bar\n"
        "  -q --quiet              Likewise, and no summary\n";

typedef struct ImportArgs {
        bool force, read_only;
        ImportLimits limits;
        const char *file;
        char *name;
} ImportArgs;

static int parse_import_args(int argc, char *argv[], const char *verb, const char *help, bool tar, ImportArgs *a) {
        enum { ARG_FORCE = ARG_VERB_BASE, ARG_READ_ONLY, ARG_MAX_ENTRIES, ARG_MAX_SIZE, ARG_MAX_PATH, ARG_MAX_DEPTH };
        static const struct option options[] = {
                GLOBAL_LONG_OPTIONS,
                { "force", no_argument, NULL, ARG_FORCE },
                { "read-only", no_argument, NULL, ARG_READ_ONLY },
                { "max-entries", required_argument, NULL, ARG_MAX_ENTRIES },
                { "max-size", required_argument, NULL, ARG_MAX_SIZE },
                { "max-path", required_argument, NULL, ARG_MAX_PATH },
                { "max-depth", required_argument, NULL, ARG_MAX_DEPTH },
                {},
        };
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == ARG_FORCE)
                        a->force = true;
                else if (c == ARG_READ_ONLY)
                        a->read_only = true;
                else if (tar && c == ARG_MAX_ENTRIES) {
                        if ((r = parse_limit("--max-entries", optarg, false, &a->limits.max_entries)) < 0)
                                return r;
                } else if (tar && c == ARG_MAX_SIZE) {
                        if ((r = parse_limit("--max-size", optarg, true, &a->limits.max_total_size)) < 0)
                                return r;
                } else if (tar && c == ARG_MAX_PATH) {
                        if ((r = parse_limit("--max-path", optarg, false, &a->limits.max_path)) < 0)
                                return r;
                } else if (tar && c == ARG_MAX_DEPTH) {
                        if ((r = parse_limit("--max-depth", optarg, false, &a->limits.max_depth)) < 0)
                                return r;
                } else if ((r = parse_global_option(c, optarg, help)) != 0)
                        return r < 0 ? r : log_usage("%s: unexpected option", verb);
        }
        if ((r = check_args(verb, argc - optind, 1, 2)) < 0)
                return r;
        a->file = argv[optind];
        if (optind + 1 < argc)
                a->name = strdup(argv[optind + 1]);
        else if (streq(a->file, "-"))
                return log_usage("%s: reading from stdin needs a NAME", verb);
        else if (name_from_file(a->file, &a->name) < 0)
                return log_oom();
        if (!a->name)
                return log_oom();
        return 0;
}

/* FILE is a regular file, a block device or a pipe (a named FIFO or /dev/fd/N: a stream, as
 * stdin may be; open() of a FIFO waits for its writer, as tar's does, and SIGINT ends the wait).
 * Anything else is refused before it is opened: a character device would be read forever. */
static int open_input(const char *what, const char *file, int *ret_fd, uint64_t *ret_size) {
        int fd;
        struct stat st;
        if (streq(file, "-")) {
                fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return log_error_errno(negative_errno(), "%s: %m", what);
                if (fstat(fd, &st) < 0) {
                        safe_close(fd);
                        return log_error_errno(negative_errno(), "%s: %m", what);
                }
        } else {
                fd = open_checked(AT_FDCWD, file, O_RDONLY, OPEN_REGULAR | OPEN_BLOCK | OPEN_FIFO, &st);
                if (fd == -EISDIR)
                        return log_error_errno(fd, "%s: is a directory", what);
                if (fd == -EBADFD)
                        return log_error_errno(fd, "%s: not a regular file, block device or pipe", what);
                if (fd < 0)
                        return log_error_errno(fd, "%s: %m", what);
        }
        if (S_ISDIR(st.st_mode)) {
                safe_close(fd);
                return log_error_errno(-EISDIR, "%s: is a directory", what);
        }
        *ret_size = S_ISREG(st.st_mode) ? (uint64_t) st.st_size : UINT64_MAX;
        *ret_fd = fd;
        return 0;
}

/* What import-tar and import-raw share before the import proper: the arguments, the image name
 * check, the input, the image root and the progress display. */
typedef struct ImportContext {
        ImportArgs args;
        char what[PATH_MAX + 300]; /* "VERB FILE", the object of the error messages */
        int fd;
        ImageRoot *root;
        Progress *progress;
        ImportOptions options;
} ImportContext;

#define IMPORT_CONTEXT_NULL { .fd = -EBADF }

static void import_context_done(ImportContext *c) {
        progress_free(c->progress);
        image_root_free(c->root);
        safe_close(c->fd);
        free(c->args.name);
}

static int import_prologue(int argc, char *argv[], const char *verb, const char *help, bool tar, ImportContext *c) {
        int r = parse_import_args(argc, argv, verb, help, tar, &c->args);
        if (r < 0)
                return r;
        const char *name = c->args.name;
        snprintf(c->what, sizeof(c->what), "%s %s", verb, c->args.file);
        if (!image_name_is_valid(name))
                return log_image_error(-EINVAL, c->what, name);
        uint64_t size = UINT64_MAX;
        if ((r = open_input(c->what, c->args.file, &c->fd, &size)) < 0)
                return r;
        if ((r = open_image_root(true, &c->root)) < 0)
                return r;
        if (progress_new(progress_mode(), name, size, &c->progress) < 0)
                return log_oom();
        /* The limits are only parsed for tar; import-raw's stay zero. */
        c->options = (ImportOptions) {
                .force = c->args.force,
                .read_only = c->args.read_only,
                .limits = c->args.limits,
                .progress = progress_cb,
                .userdata = c->progress,
        };
        return 0;
}

int verb_import_tar(int argc, char *argv[]) {
        _cleanup_(import_context_done) ImportContext ctx = IMPORT_CONTEXT_NULL;
        int r = import_prologue(argc, argv, "import-tar", help_import_tar, true, &ctx);
        if (r < 0)
                return r;
        const char *what = ctx.what, *name = ctx.args.name;
        _cleanup_(tar_import_freep) TarImport *t = NULL;
        r = tar_import_new(ctx.root, name, &ctx.options, &t);
        if (r < 0)
                return log_image_error(r, what, name);
        _cleanup_free_ char *entry = NULL;
        r = tar_import_run(t, ctx.fd, &entry);
        progress_finish(ctx.progress, r >= 0);
        if (r < 0) {
                const char *reason = tar_import_error_reason(t);
                if (r == -EINTR)
                        return log_image_error(r, what, name);
                if (entry) {
                        char esc[1024];
                        escape_entry(entry, esc, sizeof(esc));
                        if (reason)
                                return log_error_errno(r, "%s: entry \"%s\": %s", what, esc, reason);
                        return log_error_errno(r, "%s: entry \"%s\": %m", what, esc);
                }
                if (reason)
                        return log_error_errno(r, "%s: %s", what, reason);
                if (r == -EBADMSG)
                        return log_error_errno(r, "%s: corrupt compressed stream", what);
                if (r == -EPIPE)
                        return log_error_errno(r, "%s: unexpected end of the compressed stream", what);
                return log_error_errno(r, "%s: %m", what);
        }
        r = tar_import_publish(t);
        if (r < 0)
                return log_image_error(r, what, name);
        /* What was repaired or left out, once per kind (also with -q: the image differs from the
         * archive). */
        const ImportWarning *w;
        size_t n = tar_import_warnings(t, &w);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *s = import_warning_format(&w[i]);
                if (!s)
                        return log_oom();
                log_warning("%s: %s", what, s);
        }
        if (!arg_global.quiet)
                fprintf(stderr, "Imported image \"%s\".\n", name);
        return 0;
}

/* Sidecars next to FILE: DIR/BASE.nspawn … where BASE is FILE's name without its suffixes. */
static int import_sidecars(const char *what, const char *file, RawImport *t) {
        if (streq(file, "-"))
                return 0;
        _cleanup_free_ char *dir = strdup(file), *base = NULL;
        if (!dir)
                return log_oom();
        char *slash = strrchr(dir, '/');
        if (slash)
                slash[slash == dir ? 1 : 0] = 0;
        if (name_from_file(file, &base) < 0)
                return log_oom();
        _cleanup_close_ int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return log_error_errno(negative_errno(), "%s: %m", what);
        for (size_t i = 0; image_sidecar_suffixes[i]; i++) {
                _cleanup_free_ char *n = strjoin(base, image_sidecar_suffixes[i]);
                if (!n)
                        return log_oom();
                /* Checked first: a FIFO of a sidecar's name would block open() forever. */
                _cleanup_close_ int fd = open_checked(dfd, n, O_RDONLY, OPEN_REGULAR, NULL);
                if (fd == -ENOENT)
                        continue;
                if (fd == -EBADFD || fd == -EISDIR)
                        return log_error_errno(fd, "%s: sidecar %s: not a regular file", what, n);
                if (fd < 0)
                        return log_error_errno(fd, "%s: sidecar %s: %m", what, n);
                int r = raw_import_add_sidecar(t, image_sidecar_suffixes[i], fd);
                if (r < 0)
                        return log_error_errno(r, "%s: sidecar %s: %s", what, n,
                                               r == -EFBIG ? "larger than the limit" : strerror(-r));
        }
        return 0;
}

int verb_import_raw(int argc, char *argv[]) {
        _cleanup_(import_context_done) ImportContext ctx = IMPORT_CONTEXT_NULL;
        int r = import_prologue(argc, argv, "import-raw", help_import_raw, false, &ctx);
        if (r < 0)
                return r;
        const char *what = ctx.what, *name = ctx.args.name;
        _cleanup_(raw_import_freep) RawImport *t = NULL;
        r = raw_import_new(ctx.root, name, &ctx.options, &t);
        if (r < 0)
                return log_image_error(r, what, name);
        r = raw_import_run(t, ctx.fd);
        progress_finish(ctx.progress, r >= 0);
        if (r < 0) {
                const char *reason = raw_import_error_reason(t);
                if (reason)
                        return log_error_errno(r, "%s: %s", what, reason);
                if (r == -EBADMSG)
                        return log_error_errno(r, "%s: corrupt compressed stream", what);
                if (r == -EPIPE)
                        return log_error_errno(r, "%s: unexpected end of the compressed stream", what);
                return log_image_error(r, what, name);
        }
        if ((r = import_sidecars(what, ctx.args.file, t)) < 0)
                return r;
        r = raw_import_publish(t);
        if (r < 0)
                return log_image_error(r, what, name);
        if (!arg_global.quiet)
                fprintf(stderr, "Imported image \"%s\".\n", name);
        return 0;
}

static const char help_export_tar[] =
        "cowpen export-tar [OPTIONS…] NAME [FILE]\n\n"
        "Write image NAME as a pax tar archive (numeric owners, xattrs, ACLs, hardlinks, sparse\n"
        "files) to FILE, or to stdout when FILE is - or missing and stdout is not a terminal.\n"
        "Sockets cannot be stored in tar and are skipped; a name with a control character (which\n"
        "import-tar refuses) is refused.\n\n"
        "     --format=FORMAT      xz, gzip, zstd, bzip2 or uncompressed (default: from FILE's\n"
        "                          suffix .tar.xz/.txz, .tar.gz/.tgz, .tar.zst, .tar.bz2, .tar)\n"
        "     --force              Replace an existing FILE\n"
        "     --no-progress        Do not draw a progress bar\n"
        "  -q --quiet              Likewise, and no summary\n";

static const char help_export_raw[] =
        "cowpen export-raw [OPTIONS…] NAME [FILE]\n\n"
        "Write raw image NAME.raw to FILE (sparse), or compressed with --format= or FILE's suffix\n"
        "(.xz, .gz, .zst, .bz2); to stdout when FILE is - or missing and stdout is not a terminal.\n\n"
        "     --format=FORMAT      xz, gzip, zstd, bzip2 or uncompressed\n"
        "     --force              Replace an existing FILE\n"
        "     --no-progress        Do not draw a progress bar\n"
        "  -q --quiet              Likewise, and no summary\n";

/* Exports via a hidden temporary next to FILE, renamed into place when complete. */
static int export_common(int argc, char *argv[], bool tar) {
        const char *verb = tar ? "export-tar" : "export-raw";
        enum { ARG_FORCE = ARG_VERB_BASE, ARG_FORMAT };
        static const struct option options[] = {
                GLOBAL_LONG_OPTIONS,
                { "force", no_argument, NULL, ARG_FORCE },
                { "format", required_argument, NULL, ARG_FORMAT },
                {},
        };
        bool force = false, have_format = false;
        CompressType format = COMPRESS_NONE;
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == ARG_FORCE)
                        force = true;
                else if (c == ARG_FORMAT) {
                        if ((format = compress_type_from_string(optarg)) < 0)
                                return log_usage("%s: --format=%s: expected xz, gzip, zstd, bzip2 or uncompressed", verb, optarg);
                        have_format = true;
                } else if ((r = parse_global_option(c, optarg, tar ? help_export_tar : help_export_raw)) != 0)
                        return r < 0 ? r : log_usage("%s: unexpected option", verb);
        }
        if ((r = check_args(verb, argc - optind, 1, 2)) < 0)
                return r;
        const char *name = argv[optind];
        const char *file = optind + 1 < argc ? argv[optind + 1] : "-";
        bool to_stdout = streq(file, "-");
        if (to_stdout && isatty(STDOUT_FILENO))
                return log_usage("%s: refusing to write an archive to a terminal; give a FILE", verb);
        if (!have_format && !to_stdout)
                (void) compress_type_from_filename(file, &format);

        char what[PATH_MAX + 300];
        snprintf(what, sizeof(what), "%s %s", verb, name);
        if (tar || format != COMPRESS_NONE) {
                /* Before anything is locked or created: the archive and its compression are
                 * written through libarchive. */
                const char *detail;
                r = export_dlopen(&detail);
                if (r < 0)
                        return log_error_errno(r, "%s: %s (needed to %s)", what, detail,
                                               tar ? "write tar archives" : "compress raw images");
        }
        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        if ((r = open_image_root(false, &root)) < 0)
                return r;
        _cleanup_(image_freep) Image *img = NULL;
        r = image_find(root, name, &img);
        if (r < 0)
                return log_image_error(r, what, name);
        if (tar != (img->type != IMAGE_RAW))
                return log_error_errno(-EMEDIUMTYPE, "%s: image \"%s\" is %s %s image, use %s", what, name,
                                       img->type == IMAGE_RAW ? "a" : "a", image_type_to_string(img->type),
                                       tar ? "export-raw" : "export-tar");
        ImageLock lock = IMAGE_LOCK_NULL;
        r = image_lock(root, img->name, false, &lock);
        if (r < 0)
                return log_image_error(r, what, name);
        _cleanup_close_ int src = image_open(root, img, false);
        if (src < 0) {
                image_lock_release(&lock);
                return log_image_error(src, what, name);
        }

        /* The output: stdout, or a hidden temporary in FILE's directory. */
        _cleanup_close_ int out = -EBADF, dfd = -EBADF;
        _cleanup_free_ char *dir = NULL, *base = NULL, *tmp = NULL, *rnd = NULL;
        if (to_stdout)
                out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        else {
                dir = strdup(file);
                if (!dir) {
                        image_lock_release(&lock);
                        return log_oom();
                }
                char *slash = strrchr(dir, '/');
                base = strdup(slash ? slash + 1 : dir);
                if (slash)
                        slash[slash == dir ? 1 : 0] = 0;
                dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (!base || random_hex(8, &rnd) < 0 || !(tmp = strjoin(".#", base, ".", rnd))) {
                        image_lock_release(&lock);
                        return log_oom();
                }
                if (dfd < 0) {
                        r = negative_errno();
                        image_lock_release(&lock);
                        return log_error_errno(r, "%s: %s: %m", what, file);
                }
                struct stat st;
                if (!force && fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                        image_lock_release(&lock);
                        return log_error_errno(-EEXIST, "%s: %s already exists (use --force to replace it)", what, file);
                }
                out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        }
        if (out < 0) {
                r = negative_errno();
                image_lock_release(&lock);
                return log_error_errno(r, "%s: %s: %m", what, file);
        }

        uint64_t total = UINT64_MAX;
        if (tar)
                (void) export_tree_size(src, &total);
        else {
                struct stat st;
                if (fstat(src, &st) >= 0)
                        total = (uint64_t) st.st_size;
        }
        _cleanup_(progress_freep) Progress *p = NULL;
        if (progress_new(progress_mode(), name, total, &p) < 0) {
                image_lock_release(&lock);
                return log_oom();
        }
        ExportOptions o = { .compress = format, .progress = progress_cb, .userdata = p };
        _cleanup_free_ char *error_path = NULL;
        uint64_t skipped = 0;
        r = tar ? export_tar(src, out, &o, &skipped, &error_path) : export_raw(src, out, &o);
        if (r >= 0 && !to_stdout && fsync(out) < 0)
                r = negative_errno();
        progress_finish(p, r >= 0);
        image_lock_release(&lock);
        if (r >= 0 && !to_stdout && renameat(dfd, tmp, dfd, base) < 0)
                r = negative_errno();
        if (r < 0) {
                if (!to_stdout)
                        (void) unlinkat(dfd, tmp, 0);
                if (r == -EINTR)
                        return log_error_errno(r, "%s: interrupted, nothing was kept", what);
                if (error_path) {
                        char esc[1024];
                        escape_entry(error_path, esc, sizeof(esc));
                        /* The words import-tar uses for the same entry. */
                        if (r == -EILSEQ)
                                return log_error_errno(r, "%s: entry \"%s\": control character in path (import-tar refuses it)",
                                                       what, esc);
                        return log_error_errno(r, "%s: %s: %m", what, esc);
                }
                return log_error_errno(r, "%s: %m", what);
        }
        if (skipped > 0 && !arg_global.quiet)
                log_warning("%s: %" PRIu64 " socket(s) skipped (tar cannot store sockets)", what, skipped);
        if (!arg_global.quiet && !to_stdout)
                fprintf(stderr, "Exported image \"%s\" to %s (%s).\n", name, file, compress_type_to_string(format));
        return 0;
}

int verb_export_tar(int argc, char *argv[]) {
        return export_common(argc, argv, true);
}

int verb_export_raw(int argc, char *argv[]) {
        return export_common(argc, argv, false);
}
