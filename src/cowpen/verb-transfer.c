/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "atomic-file.h"
#include "fd-util.h"
#include "image.h"
#include "progress.h"
#include "pull.h"
#include "spawn.h"
#include "util.h"
#include "verbs.h"

/* The transfer verbs: import-tar, import-raw, import-fs, export-tar, export-raw, pull-tar, pull-raw. */

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
        "     --keep-nesting       Keep a single top directory holding the OS tree (by default\n"
        "                          its contents move up, as importctl does)\n"
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
        bool force, read_only, keep_nesting;
        ImportLimits limits;
        const char *file;
        char *name;
} ImportArgs;

static int parse_import_args(int argc, char *argv[], const char *verb, const char *help, bool tar, ImportArgs *a) {
        enum { ARG_FORCE = ARG_VERB_BASE, ARG_READ_ONLY, ARG_MAX_ENTRIES, ARG_MAX_SIZE, ARG_MAX_PATH, ARG_MAX_DEPTH,
               ARG_KEEP_NESTING };
        static const struct option options[] = {
                GLOBAL_LONG_OPTIONS,
                { "force", no_argument, NULL, ARG_FORCE },
                { "read-only", no_argument, NULL, ARG_READ_ONLY },
                { "max-entries", required_argument, NULL, ARG_MAX_ENTRIES },
                { "max-size", required_argument, NULL, ARG_MAX_SIZE },
                { "max-path", required_argument, NULL, ARG_MAX_PATH },
                { "max-depth", required_argument, NULL, ARG_MAX_DEPTH },
                { "keep-nesting", no_argument, NULL, ARG_KEEP_NESTING },
                {},
        };
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == ARG_FORCE)
                        a->force = true;
                else if (c == ARG_READ_ONLY)
                        a->read_only = true;
                else if (tar && c == ARG_KEEP_NESTING)
                        a->keep_nesting = true;
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
                .keep_nesting = c->args.keep_nesting,
                .limits = c->args.limits,
                .progress = progress_cb,
                .userdata = c->progress,
        };
        return 0;
}

/* The directory FILE is in: "." for a bare name, "/" for one in the root. NULL on OOM. */
static char *parent_dir(const char *file) {
        const char *slash = strrchr(file, '/');
        if (!slash)
                return strdup(".");
        return strndup(file, slash == file ? 1 : (size_t) (slash - file));
}

/* Sidecars next to FILE: DIR/BASE.nspawn … where BASE is FILE's name without its suffixes. */
static int import_sidecars(const char *what, const char *file, RawImport *t) {
        if (streq(file, "-"))
                return 0;
        _cleanup_free_ char *dir = parent_dir(file), *base = NULL;
        if (!dir)
                return log_oom();
        if (name_from_file(file, &base) < 0)
                return log_oom();
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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

/* A directory image whose programs cannot run here (a foreign architecture without a binfmt_misc
 * handler; -U may still run it): one warning line. A raw image is not looked into (its file
 * systems would have to be mounted). */
static void warn_architecture(const ImageRoot *root, const char *name, const char *what, const char *what2) {
        _cleanup_close_ int fd = openat(root->fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return;
        _cleanup_diag_ Diag d = DIAG_INIT;
        if (spawn_arch_check(fd, &d) < 0 && diag_message(&d))
                log_warning("%s%s%s: %s", what, what2 ? " " : "", what2 ?: "", diag_message(&d));
}

/* The one-line error of a failed tar_import_run() or raw_import_run(). */
static int log_import_error(int r, const char *what, const char *name, const Diag *diag, bool tar) {
        if (r == -EINTR)
                return log_image_error(r, what, name);
        if (diag->object) {
                char esc[1024];
                escape_entry(diag->object, esc, sizeof(esc));
                if (diag->cause)
                        return log_error_errno(r, "%s: entry \"%s\": %s", what, esc, diag->cause);
                return log_error_errno(r, "%s: entry \"%s\": %m", what, esc);
        }
        if (diag->cause)
                return log_error_errno(r, "%s: %s", what, diag->cause);
        if (r == -EBADMSG)
                return log_error_errno(r, "%s: corrupt compressed stream", what);
        if (r == -EPIPE)
                return log_error_errno(r, "%s: unexpected end of the compressed stream", what);
        return tar ? log_error_errno(r, "%s: %m", what) : log_image_error(r, what, name);
}

/* The note of a nested OS tree moved up (the name is the archive's or the source tree's). */
static void note_moved_up(const char *what, const char *top) {
        if (!top || arg_global.quiet)
                return;
        _cleanup_free_ char *p = printable(top, 160);
        log_info("%s: the OS tree was nested in the top directory \"%s\" and was moved up (--keep-nesting keeps it)",
                 what, p ?: "?");
}

/* import-tar and import-raw: the stream into the hidden image, published when complete (import-raw
 * with the sidecars next to FILE). */
static int verb_import(int argc, char *argv[], bool tar) {
        _cleanup_(import_context_done) ImportContext ctx = IMPORT_CONTEXT_NULL;
        int r = import_prologue(argc, argv, tar ? "import-tar" : "import-raw", tar ? help_import_tar : help_import_raw,
                                tar, &ctx);
        if (r < 0)
                return r;
        const char *what = ctx.what, *name = ctx.args.name;
        _cleanup_(tar_import_freep) TarImport *ti = NULL;
        _cleanup_(raw_import_freep) RawImport *ri = NULL;
        r = tar ? tar_import_new(ctx.root, name, &ctx.options, &ti)
                : raw_import_new(ctx.root, name, &ctx.options, &ri);
        if (r < 0)
                return log_image_error(r, what, name);
        _cleanup_diag_ Diag diag = DIAG_INIT;
        r = tar ? tar_import_run(ti, ctx.fd, &diag) : raw_import_run(ri, ctx.fd, &diag);
        progress_finish(ctx.progress, r >= 0);
        if (r < 0)
                return log_import_error(r, what, name, &diag, tar);
        if (!tar && (r = import_sidecars(what, ctx.args.file, ri)) < 0)
                return r;
        r = tar ? tar_import_publish(ti) : raw_import_publish(ri);
        if (r < 0)
                return log_image_error(r, what, name);
        record_import_provenance(ctx.root, what, name, ctx.args.file, ctx.fd);
        /* What import-tar repaired or left out, once per kind (also with -q: the image differs from
         * the archive). */
        for (size_t i = 0; i < diag.n_warnings; i++)
                log_warning("%s: %s", what, diag.warnings[i]);
        if (tar)
                note_moved_up(what, tar_import_moved_up(ti));
        if (tar)
                warn_architecture(ctx.root, name, what, NULL);
        if (!arg_global.quiet)
                fprintf(stderr, "Imported image \"%s\".\n", name);
        return 0;
}

int verb_import_tar(int argc, char *argv[]) {
        return verb_import(argc, argv, true);
}

int verb_import_raw(int argc, char *argv[]) {
        return verb_import(argc, argv, false);
}

static const char help_import_fs[] =
        "cowpen import-fs [OPTIONS…] DIR [NAME]\n\n"
        "Import a directory tree as image NAME (default: the directory's name): a btrfs snapshot\n"
        "when DIR is a subvolume on the image root's btrfs, else a reflink copy, else a copy.\n\n"
        "     --force          Replace an existing image of that name\n"
        "     --read-only      Make the image read-only\n"
        "     --keep-nesting   Keep a single top directory holding the OS tree (by default its\n"
        "                      contents move up, as importctl does)\n";

int verb_import_fs(int argc, char *argv[]) {
        enum { ARG_FORCE = ARG_VERB_BASE, ARG_READ_ONLY, ARG_KEEP_NESTING };
        static const struct option options[] = {
                GLOBAL_LONG_OPTIONS,
                { "force", no_argument, NULL, ARG_FORCE },
                { "read-only", no_argument, NULL, ARG_READ_ONLY },
                { "keep-nesting", no_argument, NULL, ARG_KEEP_NESTING },
                {},
        };
        bool force = false, ro = false, keep_nesting = false;
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == ARG_FORCE)
                        force = true;
                else if (c == ARG_READ_ONLY)
                        ro = true;
                else if (c == ARG_KEEP_NESTING)
                        keep_nesting = true;
                else if ((r = parse_global_option(c, optarg, help_import_fs)) != 0)
                        return r < 0 ? r : log_usage("import-fs: unexpected option");
        }
        if ((r = check_args("import-fs", argc - optind, 1, 2)) < 0)
                return r;
        const char *dir = argv[optind];
        _cleanup_free_ char *name = NULL;
        if (optind + 1 < argc)
                name = strdup(argv[optind + 1]);
        else {
                _cleanup_free_ char *copy = strdup(dir);
                if (!copy)
                        return log_oom();
                for (size_t l = strlen(copy); l > 1 && copy[l - 1] == '/'; l--)
                        copy[l - 1] = 0;
                const char *slash = strrchr(copy, '/');
                name = strdup(slash ? slash + 1 : copy);
        }
        if (!name)
                return log_oom();
        _cleanup_free_ char *what = format_what("import-fs", dir, name);
        if (!what)
                return log_oom();
        if (!image_name_is_valid(name))
                return log_image_error(-EINVAL, what, name);

        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(negative_errno(), "%s: %s: %m", what, dir);
        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        if ((r = open_image_root(true, &root)) < 0)
                return r;
        ImportOptions o = { .force = force, .read_only = ro, .keep_nesting = keep_nesting };
        CloneMethod m;
        _cleanup_free_ char *moved_up = NULL;
        _cleanup_diag_ Diag diag = DIAG_INIT;
        r = import_fs(root, fd, name, &o, &m, &moved_up, &diag);
        if (r < 0 && diag.cause)
                return log_error_errno(r, "%s: %s", what, diag.cause);
        if (r < 0)
                return log_image_error(r, what, name);
        note_moved_up(what, moved_up);
        record_fs_provenance(root, what, name, dir);
        log_info("Imported %s as %s (%s).", dir, name, clone_method_to_string(m));
        warn_architecture(root, name, what, NULL);
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
        _cleanup_diag_ Diag diag = DIAG_INIT;
        if (tar || format != COMPRESS_NONE) {
                /* Before anything is locked or created: the archive and its compression are
                 * written through libarchive. */
                r = export_dlopen(tar, &diag);
                if (r < 0)
                        return log_diag_error(r, &diag, "%s", what);
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

        /* The output: stdout, or a hidden temporary in FILE's directory, renamed over FILE when
         * complete (and synced). */
        _cleanup_close_ int stdout_fd = -EBADF;
        _cleanup_(atomic_file_done) AtomicFile af = ATOMIC_FILE_NULL;
        int out;
        if (to_stdout)
                out = stdout_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        else {
                _cleanup_free_ char *dir = parent_dir(file);
                if (!dir) {
                        image_lock_release(&lock);
                        return log_oom();
                }
                _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0) {
                        r = negative_errno();
                        image_lock_release(&lock);
                        return log_error_errno(r, "%s: %s: %m", what, file);
                }
                const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
                struct stat st;
                if (!force && fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                        image_lock_release(&lock);
                        return log_error_errno(-EEXIST, "%s: %s already exists (use --force to replace it)", what, file);
                }
                r = atomic_file_open_at(dfd, base, 0644, ATOMIC_FILE_SYNC, &af);
                out = r < 0 ? r : af.fd;
        }
        if (out < 0) {
                r = to_stdout ? negative_errno() : out;
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
        uint64_t skipped = 0;
        r = tar ? export_tar(src, out, &o, &skipped, &diag) : export_raw(src, out, &o);
        progress_finish(p, r >= 0);
        image_lock_release(&lock);
        if (r >= 0 && !to_stdout)
                r = atomic_file_commit(&af);
        if (r < 0) {
                if (r == -EINTR)
                        return log_error_errno(r, "%s: interrupted, nothing was kept", what);
                if (diag.object) {
                        char esc[1024];
                        escape_entry(diag.object, esc, sizeof(esc));
                        /* With a cause: the words import-tar uses for the same entry. */
                        if (diag.cause)
                                return log_error_errno(r, "%s: entry \"%s\": %s", what, esc, diag.cause);
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

/* ---- pull-tar, pull-raw ---- */

/* The options both pull verbs take (one option table in verb_pull()). */
#define HELP_PULL_OPTIONS \
        "     --verify=no|checksum|signature  What must check out (default: signature)\n" \
        "     --checksum=HEX      Expected SHA-256 or SHA-512 of the download\n" \
        "     --keyring=FILE      OpenPGP public keys (default: /etc/cowpen/import-pubring.gpg,\n" \
        "                         then /usr/lib/systemd/import-pubring.gpg)\n" \
        "     --mirror=URL        Another base URL to try when one fails (repeatable)\n" \
        "     --force             Replace an existing image\n" \
        "     --read-only         Make the image read-only\n" \
        "     --keep-download=yes|no  Keep the pristine download as a cache for the next pull\n" \
        "     --json=short        Progress as one JSON object per line on stderr\n" \
        "     --no-progress       No progress output\n" \
        "     --image-root=DIR\n"

static const char help_pull_tar[] =
        "cowpen pull-tar [OPTIONS…] URL [NAME]\n\n"
        "Download a tar archive (plain, .gz, .xz, .bz2, .zst), verify it and unpack it into image NAME\n"
        "(default: the file name without suffixes). Nothing unverified becomes visible.\n\n"
        HELP_PULL_OPTIONS
        "     --keep-nesting      Keep a single top directory holding the OS tree (by default\n"
        "                         its contents move up, as importctl does)\n";

static const char help_pull_raw[] =
        "cowpen pull-raw [OPTIONS…] URL [NAME]\n\n"
        "Download a raw disk image (optionally compressed), verify it and store it as NAME.raw\n"
        "(default: the file name without suffixes), with NAME.nspawn, NAME.roothash,\n"
        "NAME.roothash.p7s and NAME.verity when the server has them and they check out.\n\n"
        HELP_PULL_OPTIONS;

typedef struct ProgressState {
        bool tty;
        bool json;
        bool drawn;
        uint64_t t0;       /* start of the current phase */
        uint64_t done0;    /* bytes at its start */
        PullPhase phase;
} ProgressState;

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void progress_clear(ProgressState *s) {
        if (s->drawn) {
                fputs("\r\033[K", stderr);
                s->drawn = false;
        }
}

static void on_progress(const PullProgress *p, void *userdata) {
        ProgressState *s = userdata;
        uint64_t t = now_ms();
        if (p->phase != s->phase || s->t0 == 0) {
                s->phase = p->phase;
                s->t0 = t;
                s->done0 = p->done;
        }
        double secs = (double) (t - s->t0) / 1000.0;
        double rate = secs > 0.05 && p->done >= s->done0 ? (double) (p->done - s->done0) / secs : 0;
        if (s->json) {
                char total[32] = "null";
                if (p->total != UINT64_MAX)
                        snprintf(total, sizeof(total), "%" PRIu64, p->total);
                fprintf(stderr, "{\"phase\":\"%s\",\"bytes\":%" PRIu64 ",\"total\":%s,\"rate\":%.0f}\n",
                        pull_phase_to_string(p->phase), p->done, total, rate);
                fflush(stderr);
                return;
        }
        if (!s->tty)
                return;
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], r[FORMAT_BYTES_MAX];
        char eta[32] = "";
        if (p->total != UINT64_MAX && rate > 0 && p->total >= p->done)
                snprintf(eta, sizeof(eta), ", ETA %.0fs", (double) (p->total - p->done) / rate);
        fprintf(stderr, "\r\033[K%s: %s / %s, %s/s%s", pull_phase_to_string(p->phase), format_bytes(a, sizeof(a), p->done),
                p->total == UINT64_MAX ? "?" : format_bytes(b, sizeof(b), p->total),
                format_bytes(r, sizeof(r), (uint64_t) rate), eta);
        fflush(stderr);
        s->drawn = true;
}

/* What the pull did and what verified it go to stdout (stderr is for progress and the error). */
_printf_(1, 2) static void info(const char *fmt, ...) {
        if (arg_global.quiet)
                return;
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static void on_note(const char *msg, void *userdata) {
        progress_clear(userdata);
        info("%s", msg);
}

static int verb_pull(int argc, char *argv[], PullKind kind) {
        const char *verb = kind == PULL_TAR ? "pull-tar" : "pull-raw";
        const char *help = kind == PULL_TAR ? help_pull_tar : help_pull_raw;
        enum {
                ARG_VERIFY = ARG_VERB_BASE,
                ARG_CHECKSUM,
                ARG_KEYRING,
                ARG_MIRROR,
                ARG_FORCE,
                ARG_READ_ONLY,
                ARG_KEEP_DOWNLOAD,
                ARG_KEEP_NESTING,
        };
        static const struct option options[] = {
                GLOBAL_LONG_OPTIONS,
                { "verify", required_argument, NULL, ARG_VERIFY },
                { "checksum", required_argument, NULL, ARG_CHECKSUM },
                { "keyring", required_argument, NULL, ARG_KEYRING },
                { "mirror", required_argument, NULL, ARG_MIRROR },
                { "force", no_argument, NULL, ARG_FORCE },
                { "read-only", no_argument, NULL, ARG_READ_ONLY },
                { "keep-download", required_argument, NULL, ARG_KEEP_DOWNLOAD },
                { "keep-nesting", no_argument, NULL, ARG_KEEP_NESTING },
                {}
        };
        _cleanup_strv_free_ char **mirrors = NULL;
        ProgressState ps = {};
        PullOptions o = {
                .verify = PULL_VERIFY_SIGNATURE,
                .progress = on_progress,
                .note = on_note,
                .userdata = &ps,
        };
        int c, r;

        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                switch (c) {
                case ARG_VERIFY:
                        r = pull_verify_from_string(optarg);
                        if (r < 0)
                                return log_usage("%s: --verify= takes no, checksum or signature, not \"%s\"", verb, optarg);
                        o.verify = (PullVerify) r;
                        break;
                case ARG_CHECKSUM:
                        if (checksum_from_hex(optarg, strlen(optarg), &o.checksum) < 0)
                                return log_usage("%s: --checksum= takes 64 (SHA-256) or 128 (SHA-512) hex digits", verb);
                        o.have_checksum = true;
                        break;
                case ARG_KEYRING:
                        if (!*optarg)
                                return log_usage("%s: --keyring= needs a file", verb);
                        o.keyring = optarg;
                        break;
                case ARG_MIRROR:
                        if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0 &&
                            strncmp(optarg, "file://", 7) != 0)
                                return log_usage("%s: --mirror= takes an http, https or file base URL", verb);
                        if (strv_extend(&mirrors, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_FORCE:
                        o.force = true;
                        break;
                case ARG_READ_ONLY:
                        o.read_only = true;
                        break;
                case ARG_KEEP_DOWNLOAD:
                        r = parse_boolean(optarg);
                        if (r < 0)
                                return log_usage("%s: --keep-download= takes yes or no", verb);
                        o.keep_download = r;
                        break;
                case ARG_KEEP_NESTING:
                        if (kind != PULL_TAR)
                                return log_usage("%s: --keep-nesting is for pull-tar", verb);
                        o.keep_nesting = true;
                        break;
                default:
                        if ((r = parse_global_option(c, optarg, help)) != 0)
                                return r < 0 ? r : log_usage("%s: unexpected option", verb);
                }
        }
        if ((r = check_args(verb, argc - optind, 1, 2)) < 0)
                return r;
        const char *url = argv[optind];
        if (pull_url_split(url, NULL, NULL, NULL) < 0)
                return log_usage("%s %s: not a URL that names a file", verb, url);
        _cleanup_free_ char *name = NULL;
        if (argc - optind > 1) {
                name = strdup(argv[optind + 1]);
                if (!name)
                        return log_oom();
        } else if (pull_name_from_url(url, &name) < 0)
                return log_usage("%s %s: cannot derive an image name from the URL; give NAME", verb, url);
        if (!image_name_is_valid(name))
                return log_image_error(-EINVAL, verb, name);
        if (o.keyring && o.keyring[0] != '/')
                return log_usage("%s: --keyring= needs an absolute path", verb);
        o.mirrors = mirrors;
        ps.json = arg_global.json != JSON_OFF && !arg_global.no_progress;
        ps.tty = !arg_global.quiet && !arg_global.no_progress && isatty(STDERR_FILENO);
        if (!ps.json && !ps.tty)
                o.progress = NULL;

        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        if ((r = open_image_root(true, &root)) < 0)
                return r;

        PullResult res = {};
        _cleanup_diag_ Diag diag = DIAG_INIT;
        r = pull_image(root, kind, url, name, &o, &res, &diag);
        progress_clear(&ps);
        if (r < 0) {
                if (r == -EINTR)
                        return log_error_errno(r, "%s %s: interrupted; nothing was published, the partial download is kept for a resume",
                                               verb, url);
                const char *why = diag_message(&diag);
                if (why) {
                        /* The URL is named once. */
                        if (diag.object && diag.cause && streq(diag.object, url))
                                why = diag.cause;
                        return log_error_errno(r, "%s %s: %s", verb, url, why);
                }
                if (r == -EEXIST || r == -EBUSY || (r == -EINVAL && !image_name_is_valid(name)))
                        return log_image_error(r, verb, name);
                return log_error_errno(r, "%s %s: %m", verb, url);
        }
        record_pull_provenance(root, verb, name, res.url, res.digest, res.verified_by, res.fingerprint);
        char a[FORMAT_BYTES_MAX];
        if (res.verified_by)
                info("Verified with %s", res.verified_by);
        else
                info("Not verified (--verify=no)");
        if (res.fingerprint)
                info("Signed by key %s", res.fingerprint);
        for (char **s = res.sidecars; s && *s; s++)
                info("Sidecar %s%s kept", name, *s);
        for (size_t i = 0; i < diag.n_warnings; i++)
                log_warning("%s %s: %s", verb, url, diag.warnings[i]);
        if (res.moved_up) {
                char w[PATH_MAX + 300];
                snprintf(w, sizeof(w), "%s %s", verb, url);
                note_moved_up(w, res.moved_up);
        }
        if (kind == PULL_TAR)
                warn_architecture(root, name, verb, url);
        info("Pulled %s as image \"%s\": %s%s%s, digest %s", res.url, name, format_bytes(a, sizeof(a), res.bytes),
                 res.cached ? ", from the download cache" : "", res.resumed ? ", resumed" : "", res.digest);
        pull_result_done(&res);
        return 0;
}

int verb_pull_tar(int argc, char *argv[]) {
        return verb_pull(argc, argv, PULL_TAR);
}

int verb_pull_raw(int argc, char *argv[]) {
        return verb_pull(argc, argv, PULL_RAW);
}
