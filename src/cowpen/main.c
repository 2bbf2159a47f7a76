/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <locale.h>
#include <string.h>

#include "util.h"
#include "verbs.h"

GlobalArgs arg_global = {
        .image_root = DEFAULT_IMAGE_ROOT,
        .json = JSON_OFF,
};

typedef struct Verb {
        const char *name;
        const char *alias;
        int (*dispatch)(int argc, char *argv[]);
        const char *summary;
} Verb;

static const Verb verbs[] = {
        { "list-images", NULL, verb_list_images, "List images in the image root" },
        { "image-status", "show", verb_image_status, "Show type, size, times and os-release of an image" },
        { "clone", NULL, verb_clone, "Clone an image (btrfs snapshot, reflink or copy)" },
        { "rename", NULL, verb_rename, "Rename an image with its sidecars" },
        { "read-only", NULL, verb_read_only, "Mark an image read-only or writable" },
        { "remove", NULL, verb_remove, "Remove images" },
        { "clean", NULL, verb_clean, "Remove hidden leftovers no process holds" },
        { "update", NULL, verb_update, "Build a template's next generation and swap it in" },
        { "rollback", NULL, verb_rollback, "Bring back a template's previous generation" },
        { "import-fs", NULL, verb_import_fs, "Import a directory tree as an image" },
        { "import-tar", NULL, verb_import_tar, "Import a tar archive (file or stdin) as an image" },
        { "import-raw", NULL, verb_import_raw, "Import a raw disk image" },
        { "export-tar", NULL, verb_export_tar, "Export an image as a tar archive" },
        { "export-raw", NULL, verb_export_raw, "Export a raw image" },
        { "pull-tar", NULL, verb_pull_tar, "Download, verify and import a tar archive" },
        { "pull-raw", NULL, verb_pull_raw, "Download, verify and import a raw disk image" },
        { "pull-oci", NULL, verb_pull_oci, "Pull an image from an OCI registry" },
        { "push-oci", NULL, verb_push_oci, "Push an image to an OCI registry" },
        { "verity-format", NULL, verb_verity_format, "Build a dm-verity hash tree for an image" },
        { "verity-sign", NULL, verb_verity_sign, "Sign an image's root hash (PKCS#7)" },
        { "verity-verify", NULL, verb_verity_verify, "Verify an image against its root hash and signature" },
        { "run", NULL, verb_run, "Run a command or boot an OS in a container" },
        { "list", NULL, verb_list, "List running machines" },
        { "status", NULL, verb_status, "Show a running machine and its processes" },
        { "poweroff", NULL, verb_poweroff, "Shut running machines down cleanly" },
        { "reboot", NULL, verb_reboot, "Reboot running machines" },
        { "terminate", NULL, verb_terminate, "End running machines at once" },
        { "kill", NULL, verb_kill, "Send a signal to the processes of running machines" },
        { "enable", NULL, verb_enable, "Boot a machine as a system service at startup" },
        { "disable", NULL, verb_disable, "No longer boot a machine as a system service" },
        { "shell", NULL, verb_shell, "Open a shell or run a command in a running machine" },
        { "login", NULL, verb_login, "Log in to a running machine on a new pty" },
        { "copy-to", NULL, verb_copy_to, "Copy files from the host into a running machine" },
        { "copy-from", NULL, verb_copy_from, "Copy files from a running machine to the host" },
        { "bind", NULL, verb_bind, "Bind mount a host path into a running machine" },
};

static void help(void) {
        printf("cowpen [OPTIONS…] VERB [ARGS…]\n\n"
               "Image and template toolkit for lightweight OS containers.\n\n"
               "Verbs:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-16s %s\n", verbs[i].name, verbs[i].summary);
        printf("\nGlobal options:\n"
               "  -h --help              Show this help (\"cowpen VERB --help\" for a verb's)\n"
               "     --version          Show the version\n"
               "     --image-root=DIR   Image root (default: $COWPEN_IMAGE_ROOT, else %s;\n"
               "                        relative to the working directory)\n"
               "  -q --quiet             Print only errors\n"
               "     --json=pretty|short|off  Machine-readable output of listing and status verbs\n"
               "                              (run: one object on stderr before the payload)\n"
               "     --no-progress      Never draw a progress bar\n"
               "\nSee the cowpen(1) man page for details.\n",
               DEFAULT_IMAGE_ROOT);
}

/* --image-root= and $COWPEN_IMAGE_ROOT are taken relative to the working directory, as any path
 * on a command line: the image store works with absolute paths only (it prints them, and run
 * mounts below them after changing directory), so a relative one is made absolute once, here. */
static int set_image_root(const char *arg, const char *source) {
        static char *owned = NULL;
        char *abs;

        if (!arg || !*arg)
                return log_usage("%s needs a directory", source);
        if (arg[0] == '/')
                abs = strdup(arg);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd)
                        return log_error_errno(negative_errno(), "%s%s: working directory: %m", source, arg);
                /* "./ir" and "ir" name the same directory; keep printed paths short. */
                while (arg[0] == '.' && arg[1] == '/') {
                        arg += 2;
                        while (arg[0] == '/')
                                arg++;
                }
                abs = *arg && !streq(arg, ".") ? strjoin(cwd, streq(cwd, "/") ? "" : "/", arg) : strdup(cwd);
        }
        if (!abs)
                return log_oom();
        free(owned);
        arg_global.image_root = owned = abs;
        return 0;
}

int parse_global_option(int c, const char *arg, const char *help_text) {
        int r;

        switch (c) {
        case 'h':
                if (help_text)
                        fputs(help_text, stdout);
                else
                        help();
                exit(EXIT_SUCCESS);
        case ARG_GLOBAL_VERSION:
                printf("cowpen %s\n", PACKAGE_VERSION);
                exit(EXIT_SUCCESS);
        case 'q':
                arg_global.quiet = true;
                log_set_max_level(LOG_LEVEL_WARNING);
                return 0;
        case ARG_GLOBAL_IMAGE_ROOT:
                return set_image_root(arg, "--image-root=");
        case ARG_GLOBAL_JSON:
                r = json_mode_from_string(arg);
                if (r < 0)
                        return log_usage("--json=%s: expected pretty, short or off", arg);
                arg_global.json = (JsonMode) r;
                return 0;
        case ARG_GLOBAL_NO_PROGRESS:
                arg_global.no_progress = true;
                return 0;
        case '?':
                return -EUSAGE; /* getopt_long already printed what was wrong */
        default:
                return 1;
        }
}

int check_args(const char *verb, int n, int min, int max) {
        if (n < min)
                return log_usage("%s: too few arguments (see \"cowpen %s --help\")", verb, verb);
        if (max >= 0 && n > max)
                return log_usage("%s: too many arguments (see \"cowpen %s --help\")", verb, verb);
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = { GLOBAL_LONG_OPTIONS, {} };
        int c, r;

        /* "+": stop at the verb; the verb parses the rest, global options included. */
        while ((c = getopt_long(argc, argv, "+" GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                r = parse_global_option(c, optarg, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        return log_usage("unexpected option");
        }
        return 0;
}

int main(int argc, char *argv[]) {
        int r;

        setlocale(LC_ALL, "");
        const char *e = getenv("COWPEN_IMAGE_ROOT");
        if (e && *e && set_image_root(e, "$COWPEN_IMAGE_ROOT=") < 0)
                return 1;

        opterr = 1;
        r = parse_argv(argc, argv);
        if (r < 0)
                return r == -EUSAGE ? 2 : 1;

        if (optind >= argc) {
                help();
                return 2;
        }

        const char *name = argv[optind];
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (!streq(verbs[i].name, name) && !(verbs[i].alias && streq(verbs[i].alias, name)))
                        continue;
                int vargc = argc - optind;
                char **vargv = argv + optind;
                optind = 0; /* full getopt reset for the verb's own parsing */
                r = install_interrupt_handlers();
                if (r < 0)
                        return log_error_errno(r, "Failed to install signal handlers: %m"), 1;
                r = verbs[i].dispatch(vargc, vargv);
                if (r == -EUSAGE)
                        return 2;
                if (r < 0)
                        return 1;
                return r > 255 ? 255 : r;
        }

        log_usage("unknown verb \"%s\" (see \"cowpen --help\")", name);
        return 2;
}
