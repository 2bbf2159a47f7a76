/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <getopt.h>

#include "json-util.h"
#include "log.h"
#include "macro.h"

/* Global options, accepted before the verb and among each verb's own options. */
typedef struct GlobalArgs {
        const char *image_root;
        JsonMode json;
        bool quiet;
        bool no_progress;
} GlobalArgs;
extern GlobalArgs arg_global;

enum {
        ARG_GLOBAL_IMAGE_ROOT = 0x1000,
        ARG_GLOBAL_JSON,
        ARG_GLOBAL_NO_PROGRESS,
        ARG_GLOBAL_VERSION,
        ARG_VERB_BASE = 0x1100, /* verbs number their own long-only options from here */
};

#define GLOBAL_SHORT_OPTIONS "hq"
#define GLOBAL_LONG_OPTIONS                                                           \
        { "help", no_argument, NULL, 'h' },                                           \
        { "quiet", no_argument, NULL, 'q' },                                          \
        { "image-root", required_argument, NULL, ARG_GLOBAL_IMAGE_ROOT },             \
        { "json", required_argument, NULL, ARG_GLOBAL_JSON },                         \
        { "no-progress", no_argument, NULL, ARG_GLOBAL_NO_PROGRESS },                 \
        { "version", no_argument, NULL, ARG_GLOBAL_VERSION }

/* Handles c when it is a global option (or an error reported by getopt_long). With 'h' it
 * prints help_text (the verb's --help) and exits 0. Returns 0 when handled, -EUSAGE on a bad
 * option, 1 when c is not a global option. */
int parse_global_option(int c, const char *arg, const char *help_text);

/* The positional arguments left after option parsing must number between min and max. */
int check_args(const char *verb, int n, int min, int max);

/* Verb entry points. argv[0] is the verb name; each verb parses its own options with
 * getopt_long (optind reset by the dispatcher) and returns 0 or a negative errno that it has
 * already logged. Exit status: 0, 1 on failure, 2 when -EUSAGE. -EUSAGE (log_usage()) means the
 * command line is wrong in itself, on any host: an unknown verb or option, an option value or
 * argument that does not parse (an invalid image or machine name too), the wrong number of
 * arguments, options that exclude each other. Whatever is found only by looking at the system
 * (a missing file or image, a name in use, a failed check, also a check of the command line
 * merged with a settings file) is a failure. run returns the payload's exit status as a
 * positive number. */
int verb_list_images(int argc, char *argv[]);
int verb_image_status(int argc, char *argv[]);
int verb_clone(int argc, char *argv[]);
int verb_rename(int argc, char *argv[]);
int verb_read_only(int argc, char *argv[]);
int verb_remove(int argc, char *argv[]);
int verb_clean(int argc, char *argv[]);

int verb_import_tar(int argc, char *argv[]);
int verb_import_raw(int argc, char *argv[]);
int verb_import_fs(int argc, char *argv[]);
int verb_export_tar(int argc, char *argv[]);
int verb_export_raw(int argc, char *argv[]);
int verb_pull_tar(int argc, char *argv[]);
int verb_pull_raw(int argc, char *argv[]);
int verb_pull_oci(int argc, char *argv[]);
int verb_push_oci(int argc, char *argv[]);

int verb_verity_format(int argc, char *argv[]);
int verb_verity_sign(int argc, char *argv[]);
int verb_verity_verify(int argc, char *argv[]);

int verb_run(int argc, char *argv[]);
/* run of an image pulled with pull-oci: its config (NAME.oci.json next to it, in parent_fd) gives
 * the command (Entrypoint + Cmd), Env, WorkingDir, User and StopSignal the command line and
 * settings file left unset (verb-oci.c). Logs and returns < 0 for a config it cannot use. */
typedef struct SpawnConfig SpawnConfig;
int run_apply_oci_config(SpawnConfig *c, int parent_fd, const char *machine);

int verb_list(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);
int verb_poweroff(int argc, char *argv[]);
int verb_reboot(int argc, char *argv[]);
int verb_terminate(int argc, char *argv[]);
int verb_kill(int argc, char *argv[]);
int verb_enable(int argc, char *argv[]);
int verb_disable(int argc, char *argv[]);

int verb_shell(int argc, char *argv[]);
int verb_login(int argc, char *argv[]);
int verb_copy_to(int argc, char *argv[]);
int verb_copy_from(int argc, char *argv[]);
int verb_bind(int argc, char *argv[]);

int verb_update(int argc, char *argv[]);
int verb_rollback(int argc, char *argv[]);

/* run's option parser and run's path for update (verb-update.c): argv as run's (options, then the
 * command), parsed as run parses it; the options that choose the root are refused and a command is
 * required. run_invocation_run() then runs it in the tree directory (as run -D DIRECTORY -M
 * MACHINE would) and returns what run returns (the payload's exit status, or a logged -errno). */
typedef struct RunInvocation RunInvocation;
int run_invocation_parse(int argc, char *argv[], const char *verb, RunInvocation **ret);
int run_invocation_run(RunInvocation *inv, const char *directory, const char *machine);
void run_invocation_free(RunInvocation *inv);

/* Helpers shared by the verb files. */
typedef struct ImageRoot ImageRoot;
int open_image_root(bool create, ImageRoot **ret);
/* "VERB A → B" (or "VERB A") with the names made printable, for one-line messages. */
char *format_what(const char *verb, const char *a, const char *b);
/* Logs the one-line error for an image-store failure r of the operation "what" on image name. */
int log_image_error(int r, const char *what, const char *name);
/* Syntax checks of --root-hash= (hex of a sha256 or sha512 digest, sha1 too when sha1) and of
 * --root-hash-sig=base64:…, logged as bad usage. */
int check_root_hash_arg(const char *verb, const char *arg, bool sha1);
int check_root_hash_sig_arg(const char *verb, const char *arg);
/* A directory NAME/ hides NAME.raw of the same name (Image.shadows_raw): one warning line. */
void log_image_shadowed(const char *what, const char *name);
/* The provenance record of an image just published (verb-provenance.c): by import-tar/import-raw
 * from FILE (fd: its input, read again for the SHA-256 when it is a regular file), import-fs from
 * DIR, a pull from its URL with what verified it. Failures are warnings. */
void record_import_provenance(ImageRoot *root, const char *what, const char *name, const char *file, int fd);
void record_fs_provenance(ImageRoot *root, const char *what, const char *name, const char *dir);
/* pull-oci: source the reference pinned to the manifest pulled, sha256 the manifest's digest,
 * verification "digest" (every digest checked) or "signature". */
void record_oci_provenance(ImageRoot *root, const char *what, const char *name, const char *reference,
        const char *manifest_digest, const char *fingerprint);
void record_pull_provenance(ImageRoot *root, const char *what, const char *name, const char *url, const char *digest,
                            const char *verified_by, const char *fingerprint);
#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
