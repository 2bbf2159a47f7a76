/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <string.h>

#include "image.h"
#include "util.h"
#include "verbs.h"

/* The template generation verbs: update and rollback (image-generation.c does the work). */

static const char help_update[] =
        "cowpen update NAME [--keep=N] [RUN-OPTIONS…] -- COMMAND [ARGS…]\n\n"
        "Build the next generation of the template NAME: clone it (btrfs snapshot, reflink or copy)\n"
        "to a hidden entry, run COMMAND in it as a writable container (every option of \"cowpen run\"\n"
        "applies, but -D, -M, -i, -x, --template and --volatile), and only when COMMAND exits 0 swap\n"
        "it in atomically (renameat2 RENAME_EXCHANGE). Runs that started from the old generation\n"
        "(-x) keep it until they end. A failed or interrupted update leaves NAME as it was.\n"
        "A second update of NAME while one runs is refused.\n\n"
        "     --keep=N       Previous generations kept for rollback (default 1; 0: none); older\n"
        "                    ones are removed, or left to \"cowpen clean\" while NAME is in use\n"
        "     --image-root=DIR\n";

static int log_generation_error(int r, const char *what, const char *name) {
        _cleanup_free_ char *n = printable(name, 255);
        switch (r) {
        case -EALREADY:
                return log_error_errno(
                        r, "%s: image \"%s\" is being updated or rolled back by another process", what, n);
        case -EBUSY:
                return log_error_errno(r, "%s: image \"%s\" is in use by a writer", what, n);
        case -EMEDIUMTYPE:
                return log_error_errno(
                        r, "%s: image \"%s\" is a raw image: generations need a directory or subvolume", what, n);
        case -EROFS:
                return log_error_errno(
                        r, "%s: image \"%s\" is read-only (\"cowpen read-only %s no\" first)", what, n, n);
        default:
                return log_image_error(r, what, name);
        }
}

static int parse_keep(const char *arg, unsigned *ret) {
        if (!arg || !*arg || strlen(arg) > 6)
                return -EINVAL;
        unsigned v = 0;
        for (const char *c = arg; *c; c++) {
                if (*c < '0' || *c > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (*c - '0');
        }
        if (v > 10000)
                return -ERANGE;
        *ret = v;
        return 0;
}

int verb_update(int argc, char *argv[]) {
        if (argc >= 2 && (streq(argv[1], "-h") || streq(argv[1], "--help"))) {
                fputs(help_update, stdout);
                return 0;
        }
        if (argc < 2 || argv[1][0] == '-')
                return log_usage("update: the image name comes first (\"cowpen update NAME [--keep=N] -- COMMAND…\")");
        const char *name = argv[1];
        if (!image_name_is_valid(name))
                return log_image_error(-EINVAL, "update", name);

        /* NAME and --keep= are update's; the rest up to "--" is run's, handed to its parser with
         * the command after it. */
        unsigned keep = IMAGE_KEEP_DEFAULT;
        bool dashdash = false;
        _cleanup_free_ char **rargv = calloc((size_t) argc + 1, sizeof(char *));
        if (!rargv)
                return log_oom();
        int rargc = 0;
        rargv[rargc++] = argv[0];
        for (int k = 2; k < argc; k++) {
                if (!dashdash && streq(argv[k], "--"))
                        dashdash = true;
                if (!dashdash && (startswith(argv[k], "--keep=") || streq(argv[k], "--keep"))) {
                        const char *v = argv[k][6] == '=' ? argv[k] + 7 : k + 1 < argc ? argv[++k] : NULL;
                        if (parse_keep(v, &keep) < 0)
                                return log_usage("update: --keep= needs a number of generations (0…10000)");
                        continue;
                }
                rargv[rargc++] = argv[k];
        }
        if (!dashdash)
                return log_usage("update: no command (\"cowpen update NAME [--keep=N] -- COMMAND…\")");

        _cleanup_free_ char *what = format_what("update", name, NULL);
        if (!what)
                return log_oom();
        RunInvocation *inv = NULL;
        optind = 0;
        int r = run_invocation_parse(rargc, rargv, "update", &inv);
        if (r < 0)
                return r;

        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        _cleanup_(image_update_freep) ImageUpdate *u = NULL;
        if ((r = open_image_root(false, &root)) < 0)
                goto finish;
        r = image_update_begin(root, name, &u);
        if (r < 0) {
                r = log_generation_error(r, what, name);
                goto finish;
        }
        log_info("Generation %" PRIu64 " of %s: %s, running the command in it.", u->generation, name,
                clone_method_to_string(u->method));
        r = run_invocation_run(inv, u->temp_path, name);
        if (r < 0) /* logged by run */
                goto finish;
        if (r > 0) {
                log_error("%s: the command exited with status %d; %s is left as it was", what, r, name);
                goto finish;
        }
        r = image_update_commit(u, keep);
        if (r < 0) {
                r = u->swapped
                            ? log_error_errno(r,
                                      "%s: generation %" PRIu64 " is in place, but filing the old one away failed: %m",
                                      what, u->generation)
                            : log_generation_error(r, what, name);
                goto finish;
        }
        log_info("Updated %s to generation %" PRIu64 ".", name, u->generation);
finish:
        run_invocation_free(inv);
        return r;
}

static const char help_rollback[] =
        "cowpen rollback [OPTIONS…] NAME\n\n"
        "Bring back the previous generation of the template NAME (kept by update --keep=), swapped in\n"
        "atomically; the generation it replaces is removed (or left to \"cowpen clean\" while runs use it).\n\n"
        "     --image-root=DIR\n";

int verb_rollback(int argc, char *argv[]) {
        static const struct option options[] = {GLOBAL_LONG_OPTIONS, {}};
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0)
                if ((r = parse_global_option(c, optarg, help_rollback)) != 0)
                        return r < 0 ? r : log_usage("rollback: unexpected option");
        if ((r = check_args("rollback", argc - optind, 1, 1)) < 0)
                return r;
        const char *name = argv[optind];
        _cleanup_free_ char *what = format_what("rollback", name, NULL);
        if (!what)
                return log_oom();
        if (!image_name_is_valid(name))
                return log_image_error(-EINVAL, what, name);
        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        if ((r = open_image_root(false, &root)) < 0)
                return r;
        uint64_t g = 0;
        r = image_rollback(root, name, &g);
        if (r == -ENOENT) {
                _cleanup_(image_freep) Image *i = NULL;
                if (image_find(root, name, &i) >= 0)
                        return log_error_errno(r, "%s: no previous generation of \"%s\" is kept", what, name);
        }
        if (r < 0)
                return log_generation_error(r, what, name);
        log_info("Rolled %s back to generation %" PRIu64 ".", name, g);
        return 0;
}
