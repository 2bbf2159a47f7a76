/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "image.h"
#include "pull-checksum.h"
#include "pull-url.h"
#include "pull.h"
#include "util.h"
#include "verbs.h"

/* The pull verbs: pull-tar, pull-raw. */

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
        HELP_PULL_OPTIONS;

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
        _cleanup_free_ char *reason = NULL;
        r = pull_image(root, kind, url, name, &o, &res, &reason);
        progress_clear(&ps);
        if (r < 0) {
                if (r == -EINTR)
                        return log_error_errno(r, "%s %s: interrupted; nothing was published, the partial download is kept for a resume",
                                               verb, url);
                if (reason) {
                        /* The URL is named once. */
                        const char *why = reason;
                        if (startswith(why, url) && startswith(why + strlen(url), ": "))
                                why += strlen(url) + 2;
                        return log_error_errno(r, "%s %s: %s", verb, url, why);
                }
                if (r == -EEXIST || r == -EBUSY || (r == -EINVAL && !image_name_is_valid(name)))
                        return log_image_error(r, verb, name);
                return log_error_errno(r, "%s %s: %m", verb, url);
        }
        char a[FORMAT_BYTES_MAX];
        if (res.verified_by)
                info("Verified with %s", res.verified_by);
        else
                info("Not verified (--verify=no)");
        if (res.fingerprint)
                info("Signed by key %s", res.fingerprint);
        for (char **s = res.sidecars; s && *s; s++)
                info("Sidecar %s%s kept", name, *s);
        for (char **s = res.warnings; s && *s; s++)
                log_warning("%s %s: %s", verb, url, *s);
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
