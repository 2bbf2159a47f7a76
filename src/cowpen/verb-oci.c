/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OCI verbs: pull-oci; and what run takes of a pulled image's config (NAME.oci.json). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <limits.h>

#include "fd-util.h"
#include "image.h"
#include "json-util.h"
#include "pull.h"
#include "spawn.h"
#include "util.h"
#include "verbs.h"

static const char help_pull_oci[] =
        "cowpen pull-oci [OPTIONS…] REF [NAME]\n\n"
        "Pull an image from an OCI registry (REF: registry/repo:tag, …@sha256:DIGEST, or a docker.io\n"
        "short name such as debian:12) into image NAME (default: the repository's last component).\n"
        "Layers are kept once in the hidden layer store of the image root and shared between images;\n"
        "the image config is kept as NAME.oci.json. Nothing unverified becomes visible.\n\n"
        "     --verify=no|digest|signature  What must check out (default: what the policy file asks\n"
        "                         for this reference, else digest: every blob and layer digest;\n"
        "                         no: layer diff_ids unchecked; signature: digests and a GPG\n"
        "                         \"simple signing\" signature from the lookaside store (signedBy)\n"
        "                         or a sigstore key signature attached in the registry\n"
        "                         (sigstoreSigned))\n"
        "     --policy=FILE       containers-policy.json subset (default: /etc/containers/policy.json)\n"
        "     --arch=ARCH         Platform to pick from an image index (amd64, arm64, arm/v7, …;\n"
        "                         default: the host's), os linux\n"
        "     --credentials=FILE  Registry credentials, auth.json format (default:\n"
        "                         $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json)\n"
        "     --tls-verify=BOOL   Check the registry's TLS certificate (default: yes); no also allows\n"
        "                         plain HTTP. CAs: the system's and /etc/containers/certs.d/HOST[:PORT]/*.crt\n"
        "                         ($COWPEN_CERTS_D instead of /etc/containers/certs.d)\n"
        "     --parallel=N        Layer downloads at once (default: 3)\n"
        "     --mirror=HOST[:PORT]  A registry tried first for the same repository (a pull-through\n"
        "                         cache; repeatable, in order); the reference's registry comes last\n"
        "     --force             Replace an existing image\n"
        "     --read-only         Make the image read-only\n"
        "     --json=short        Progress as one JSON object per line on stderr\n"
        "     --no-progress       No progress output\n"
        "     --image-root=DIR\n";

/* On a terminal: one line per layer being fetched (its phase, bytes and bar) and a total line,
 * redrawn in place. */
#define OCI_PROGRESS_LINES_MAX 12U /* layer lines shown; the earliest finished ones scroll away */

typedef struct OciLayerLine {
        bool seen;
        OciPhase phase;
        uint64_t done, total;
        char digest[20];
} OciLayerLine;

typedef struct OciProgressState {
        bool tty, json;
        unsigned drawn; /* lines on the screen */
        OciLayerLine *layers;
        size_t n_layers;
        uint64_t all_done, all_total;
} OciProgressState;

static void oci_progress_clear(OciProgressState *s) {
        if (s->drawn > 0) {
                if (s->drawn > 1)
                        fprintf(stderr, "\033[%uA", s->drawn - 1);
                fputs("\r\033[J", stderr);
                fflush(stderr);
                s->drawn = 0;
        }
}

static void bar(char out[21], uint64_t done, uint64_t total) {
        unsigned n = total > 0 ? (unsigned) (MIN(done, total) * 20 / total) : 20;
        for (unsigned i = 0; i < 20; i++)
                out[i] = i < n ? '#' : '-';
        out[20] = 0;
}

static void on_oci_progress(const OciProgress *p, void *userdata) {
        OciProgressState *s = userdata;
        if (s->json) {
                /* "layer" (1-based) only for an event about one layer. */
                char layer[32] = "null";
                if (p->digest)
                        snprintf(layer, sizeof(layer), "%zu", p->layer + 1);
                fprintf(stderr,
                        "{\"phase\":\"%s\",\"layer\":%s,\"layers\":%zu,\"digest\":%s%s%s,\"bytes\":%" PRIu64
                        ",\"total\":%" PRIu64 ",\"all_bytes\":%" PRIu64 ",\"all_total\":%" PRIu64 "}\n",
                        oci_phase_to_string(p->phase), layer, p->n_layers, p->digest ? "\"" : "", p->digest ?: "null",
                        p->digest ? "\"" : "", p->done, p->total, p->all_done, p->all_total);
                fflush(stderr);
                return;
        }
        if (!s->tty || p->phase == OCI_PHASE_DONE || p->phase == OCI_PHASE_MANIFEST)
                return;
        if (!s->layers && p->n_layers > 0) {
                s->layers = calloc(p->n_layers, sizeof(OciLayerLine));
                if (!s->layers)
                        return;
                s->n_layers = p->n_layers;
        }
        if (p->layer < s->n_layers) {
                OciLayerLine *l = &s->layers[p->layer];
                l->seen = true;
                l->phase = p->phase;
                l->done = p->phase == OCI_PHASE_UNPACK ? p->total : p->done;
                l->total = p->total;
                snprintf(l->digest, sizeof(l->digest), "%s", p->digest ? p->digest + strlen("sha256:") : "");
        }
        s->all_done = p->all_done;
        s->all_total = p->all_total;
        oci_progress_clear(s);
        size_t shown = 0, first = 0, seen = 0;
        for (size_t i = 0; i < s->n_layers; i++)
                seen += s->layers[i].seen;
        /* Skip the earliest layers when there are more than fit. */
        for (size_t skip = seen > OCI_PROGRESS_LINES_MAX ? seen - OCI_PROGRESS_LINES_MAX : 0;
                first < s->n_layers && skip > 0; first++)
                skip -= s->layers[first].seen;
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX], br[21];
        for (size_t i = first; i < s->n_layers; i++) {
                OciLayerLine *l = &s->layers[i];
                if (!l->seen)
                        continue;
                bar(br, l->done, l->total);
                fprintf(stderr, "layer %zu/%zu %.12s %-8s [%s] %s / %s\n", i + 1, s->n_layers, l->digest,
                        oci_phase_to_string(l->phase), br, format_bytes(a, sizeof(a), l->done),
                        format_bytes(b, sizeof(b), l->total));
                shown++;
        }
        bar(br, s->all_done, s->all_total);
        fprintf(stderr, "total             [%s] %s / %s", br, format_bytes(a, sizeof(a), s->all_done),
                format_bytes(b, sizeof(b), s->all_total));
        fflush(stderr);
        s->drawn = (unsigned) shown + 1;
}

_printf_(1, 2) static void oci_info(const char *fmt, ...) {
        if (arg_global.quiet)
                return;
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static void on_oci_note(const char *msg, void *userdata) {
        oci_progress_clear(userdata);
        oci_info("%s", msg);
}

int verb_pull_oci(int argc, char *argv[]) {
        static const char verb[] = "pull-oci";
        enum {
                ARG_VERIFY = ARG_VERB_BASE,
                ARG_ARCH,
                ARG_CREDENTIALS,
                ARG_TLS_VERIFY,
                ARG_PARALLEL,
                ARG_MIRROR,
                ARG_POLICY,
                ARG_FORCE,
                ARG_READ_ONLY,
        };
        static const struct option options[] = {GLOBAL_LONG_OPTIONS, {"verify", required_argument, NULL, ARG_VERIFY},
                {"arch", required_argument, NULL, ARG_ARCH}, {"credentials", required_argument, NULL, ARG_CREDENTIALS},
                {"tls-verify", required_argument, NULL, ARG_TLS_VERIFY},
                {"parallel", required_argument, NULL, ARG_PARALLEL}, {"mirror", required_argument, NULL, ARG_MIRROR},
                {"policy", required_argument, NULL, ARG_POLICY}, {"force", no_argument, NULL, ARG_FORCE},
                {"read-only", no_argument, NULL, ARG_READ_ONLY}, {}};
        OciProgressState ps = {};
        OciPullOptions o = {
                .verify = PULL_VERIFY_CHECKSUM,
                .verify_from_policy = true,
                .tls_verify = true,
                .progress = on_oci_progress,
                .note = on_oci_note,
                .userdata = &ps,
        };
        _cleanup_strv_free_ char **mirrors = NULL;
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                switch (c) {
                case ARG_MIRROR:
                        if (!*optarg || strlen(optarg) > 255 ||
                                strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") !=
                                        strlen(optarg))
                                return log_usage("%s: --mirror= takes a registry HOST[:PORT]", verb);
                        if (strv_extend(&mirrors, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_POLICY:
                        if (optarg[0] != '/')
                                return log_usage("%s: --policy= needs an absolute path", verb);
                        o.policy = optarg;
                        break;
                case ARG_VERIFY:
                        o.verify_from_policy = false;
                        if (streq(optarg, "no"))
                                o.verify = PULL_VERIFY_NO;
                        else if (streq(optarg, "digest"))
                                o.verify = PULL_VERIFY_CHECKSUM;
                        else if (streq(optarg, "signature"))
                                o.verify = PULL_VERIFY_SIGNATURE;
                        else
                                return log_usage(
                                        "%s: --verify= takes no, digest or signature, not \"%s\"", verb, optarg);
                        break;
                case ARG_ARCH:
                        if (!*optarg || strlen(optarg) > 32 ||
                                strspn(optarg, "abcdefghijklmnopqrstuvwxyz0123456789/") != strlen(optarg))
                                return log_usage(
                                        "%s: --arch= takes an OCI architecture such as amd64, arm64 or arm/v7", verb);
                        o.arch = optarg;
                        break;
                case ARG_CREDENTIALS:
                        if (optarg[0] != '/')
                                return log_usage("%s: --credentials= needs an absolute path", verb);
                        o.credentials = optarg;
                        break;
                case ARG_TLS_VERIFY:
                        r = parse_boolean(optarg);
                        if (r < 0)
                                return log_usage("%s: --tls-verify= takes a boolean", verb);
                        o.tls_verify = r;
                        break;
                case ARG_PARALLEL: {
                        uint64_t n;
                        if (safe_atou64(optarg, &n) < 0 || n < 1 || n > 8)
                                return log_usage("%s: --parallel= takes 1…8", verb);
                        o.parallel = (unsigned) n;
                        break;
                }
                case ARG_FORCE:
                        o.force = true;
                        break;
                case ARG_READ_ONLY:
                        o.read_only = true;
                        break;
                default:
                        if ((r = parse_global_option(c, optarg, help_pull_oci)) != 0)
                                return r < 0 ? r : log_usage("%s: unexpected option", verb);
                }
        }
        if ((r = check_args(verb, argc - optind, 1, 2)) < 0)
                return r;
        const char *ref = argv[optind];
        _cleanup_free_ char *name = NULL;
        if (argc - optind > 1) {
                if (!(name = strdup(argv[optind + 1])))
                        return log_oom();
        } else if (oci_name_from_ref(ref, &name) < 0)
                return log_usage("%s %s: cannot derive an image name from the reference; give NAME", verb, ref);
        if (!image_name_is_valid(name))
                return log_image_error(-EINVAL, verb, name);
        o.mirrors = mirrors;
        ps.json = arg_global.json != JSON_OFF && !arg_global.no_progress;
        ps.tty = !arg_global.quiet && !arg_global.no_progress && isatty(STDERR_FILENO);
        if (!ps.json && !ps.tty)
                o.progress = NULL;

        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        if ((r = open_image_root(true, &root)) < 0)
                return r;
        OciPullResult res = {};
        _cleanup_diag_ Diag diag = DIAG_INIT;
        r = oci_pull(root, ref, name, &o, &res, &diag);
        oci_progress_clear(&ps);
        free(ps.layers);
        if (r < 0) {
                if (r == -EINTR)
                        return log_error_errno(r,
                                "%s %s: interrupted; nothing was published, partial downloads are kept for a resume",
                                verb, ref);
                const char *why = diag_message(&diag);
                if (why)
                        return log_error_errno(r, "%s %s: %s", verb, ref, why);
                if (r == -EEXIST || r == -EBUSY || r == -EINVAL)
                        return log_image_error(r, verb, name);
                return log_error_errno(r, "%s %s: %m", verb, ref);
        }
        record_oci_provenance(root, verb, name, res.reference, res.manifest_digest, res.fingerprint);
        char a[FORMAT_BYTES_MAX];
        oci_info("Verified: %s", res.verified_by);
        if (res.fingerprint)
                oci_info("Signed by key %s", res.fingerprint);
        oci_info("Pulled %s from %s (%s, manifest %s) as image \"%s\": %zu layers, %zu fetched (%s)%s", res.reference,
                res.registry_url, res.platform ?: "?", res.manifest_digest, name, res.n_layers, res.n_layers_fetched,
                format_bytes(a, sizeof(a), res.bytes_fetched), res.resumed ? ", resumed" : "");
        oci_pull_result_done(&res);
        return 0;
}

/* ---- run -M NAME of a pulled image: its config's process ----
 *
 * Untrusted input: NAME.oci.json (the image config, digest-checked when pulled but made by the
 * image's author): size-limited, every value type-checked and validated as the command line's
 * options are. */

#define OCI_RUN_CONFIG_MAX (8U * 1024 * 1024) /* as OCI_CONFIG_MAX of the pull */
#define OCI_RUN_ARGS_MAX 4096U

static int oci_strv(json_object *o, const char *key, char ***l) {
        json_object *a;
        if (!o || !json_object_object_get_ex(o, key, &a) || json_object_is_type(a, json_type_null))
                return 0;
        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        size_t n = json_object_array_length(a);
        if (n + strv_length(*l) > OCI_RUN_ARGS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(a, i);
                if (!json_object_is_type(v, json_type_string))
                        return -EBADMSG;
                if (strv_extend(l, json_object_get_string(v)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static bool env_has_key(char **env, const char *assignment) {
        size_t k = strcspn(assignment, "=");
        for (char **e = env; e && *e; e++)
                if (strncmp(*e, assignment, k) == 0 && ((*e)[k] == '=' || (*e)[k] == 0))
                        return true;
        return false;
}

int run_apply_oci_config(SpawnConfig *c, int parent_fd, const char *machine) {
        if (c->boot || parent_fd < 0 || !machine)
                return 0;
        _cleanup_free_ char *fn = strjoin(machine, OCI_CONFIG_SIDECAR), *text = NULL;
        if (!fn)
                return log_oom();
        int r = read_file_at(parent_fd, fn, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, OCI_RUN_CONFIG_MAX, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "run %s: image config %s: %m", machine, fn);
        _cleanup_json_ json_object *j = json_tokener_parse(text);
        json_object *cfg = NULL;
        if (!j || !json_object_is_type(j, json_type_object))
                return log_error_errno(-EBADMSG, "run %s: image config %s: not JSON", machine, fn);
        if (!json_object_object_get_ex(j, "config", &cfg) || json_object_is_type(cfg, json_type_null))
                return 0;
        if (!json_object_is_type(cfg, json_type_object))
                return log_error_errno(-EBADMSG, "run %s: image config %s: \"config\" is not an object", machine, fn);

        /* The command line (or settings file) gives the whole command; else Entrypoint + Cmd. */
        if (!c->command) {
                _cleanup_strv_free_ char **cmd = NULL;
                if ((r = oci_strv(cfg, "Entrypoint", &cmd)) < 0 || (r = oci_strv(cfg, "Cmd", &cmd)) < 0)
                        return log_error_errno(r, "run %s: image config %s: Entrypoint/Cmd: %s", machine, fn,
                                r == -E2BIG ? "too many arguments" : "not an array of strings");
                if (cmd && cmd[0] && !*cmd[0])
                        return log_error_errno(-EINVAL, "run %s: image config %s: empty command", machine, fn);
                c->command = TAKE_PTR(cmd);
        }
        _cleanup_strv_free_ char **env = NULL;
        if ((r = oci_strv(cfg, "Env", &env)) < 0)
                return log_error_errno(r, "run %s: image config %s: Env: not an array of strings", machine, fn);
        for (char **e = env; e && *e; e++) {
                if (!env_assignment_is_valid(*e, false)) {
                        _cleanup_free_ char *p = printable(*e, 80);
                        return log_error_errno(
                                -EINVAL, "run %s: image config %s: invalid Env entry \"%s\"", machine, fn, p ?: "?");
                }
                if (env_has_key(c->setenv, *e))
                        continue; /* -E (or the settings file) wins */
                if (strv_length(c->setenv) >= SPAWN_ENVIRONMENT_MAX)
                        return log_error_errno(-E2BIG, "run %s: image config %s: too many Env entries", machine, fn);
                if (strv_extend(&c->setenv, *e) < 0)
                        return log_oom();
        }
        const char *wd = NULL, *user = NULL, *sig = NULL;
        json_object *v;
        if (json_object_object_get_ex(cfg, "WorkingDir", &v) && json_object_is_type(v, json_type_string))
                wd = json_object_get_string(v);
        if (json_object_object_get_ex(cfg, "User", &v) && json_object_is_type(v, json_type_string))
                user = json_object_get_string(v);
        if (json_object_object_get_ex(cfg, "StopSignal", &v) && json_object_is_type(v, json_type_string))
                sig = json_object_get_string(v);
        if (wd && *wd && !c->working_directory) {
                if (wd[0] != '/' || strlen(wd) > PATH_MAX)
                        return log_error_errno(
                                -EINVAL, "run %s: image config %s: WorkingDir is not an absolute path", machine, fn);
                if (!(c->working_directory = strdup(wd)))
                        return log_oom();
        }
        if (user && *user && !c->user) {
                /* "user[:group]": the user's own group is used (the group part is not applied). */
                size_t n = strcspn(user, ":");
                if (n == 0 || n > 256)
                        return log_error_errno(-EINVAL, "run %s: image config %s: invalid User", machine, fn);
                if (!(c->user = strndup(user, n)))
                        return log_oom();
        }
        if (sig && *sig && c->kill_signal == 0) {
                r = signal_from_string(sig);
                if (r < 0) {
                        _cleanup_free_ char *p = printable(sig, 40);
                        return log_error_errno(
                                r, "run %s: image config %s: invalid StopSignal \"%s\"", machine, fn, p ?: "?");
                }
                c->kill_signal = r;
        }
        return 0;
}

/* ---- push-oci ---- */

static const char help_push_oci[] =
        "cowpen push-oci [OPTIONS…] NAME REF\n\n"
        "Push image NAME (a directory or subvolume) to an OCI registry as REF (registry/repo:tag):\n"
        "its tree as one layer (as export-tar writes it: numeric owners, xattrs, ACLs, hardlinks,\n"
        "devices), its image config from NAME.oci.json when it has one. An image pulled with pull-oci\n"
        "(or a clone of one) goes as its base layers plus one layer of what changed (whiteouts for\n"
        "deletions); base blobs the registry lacks are mounted from the repository they were pulled\n"
        "from. Blobs the registry has are not sent again; uploads go in chunks and resume after an\n"
        "interruption; the manifest goes last.\n\n"
        "     --format=gzip|zstd  Layer compression (default: gzip, which every client reads;\n"
        "                         umoci 0.4 cannot unpack zstd layers)\n"
        "     --credentials=FILE  Registry credentials, auth.json format (default:\n"
        "                         $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json)\n"
        "     --tls-verify=BOOL   Check the registry's TLS certificate (default: yes); no also allows\n"
        "                         plain HTTP\n"
        "     --sign-by=KEY       Sign the pushed manifest with this gpg key (GNUPGHOME's keyring):\n"
        "                         a \"simple signing\" signature, as skopeo --sign-by makes it, written to\n"
        "                         the lookaside store registries.d names (lookaside-staging, a file: URL;\n"
        "                         $COWPEN_REGISTRIES_D instead of /etc/containers/registries.d)\n"
        "     --sign-passphrase-file=FILE  The key's passphrase\n"
        "     --json=short        Progress as one JSON object per line on stderr\n"
        "     --no-progress       No progress output\n"
        "     --image-root=DIR\n";

int verb_push_oci(int argc, char *argv[]) {
        static const char verb[] = "push-oci";
        enum {
                ARG_FORMAT = ARG_VERB_BASE,
                ARG_CREDENTIALS,
                ARG_TLS_VERIFY,
                ARG_SIGN_BY,
                ARG_SIGN_PASSPHRASE_FILE,
        };
        static const struct option options[] = {GLOBAL_LONG_OPTIONS, {"format", required_argument, NULL, ARG_FORMAT},
                {"credentials", required_argument, NULL, ARG_CREDENTIALS},
                {"tls-verify", required_argument, NULL, ARG_TLS_VERIFY},
                {"sign-by", required_argument, NULL, ARG_SIGN_BY},
                {"sign-passphrase-file", required_argument, NULL, ARG_SIGN_PASSPHRASE_FILE}, {}};
        OciProgressState ps = {};
        OciPushOptions o = {
                .format = COMPRESS_GZIP,
                .tls_verify = true,
                .progress = on_oci_progress,
                .note = on_oci_note,
                .userdata = &ps,
        };
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                switch (c) {
                case ARG_FORMAT:
                        if (streq(optarg, "zstd"))
                                o.format = COMPRESS_ZSTD;
                        else if (streq(optarg, "gzip"))
                                o.format = COMPRESS_GZIP;
                        else
                                return log_usage("%s: --format= takes zstd or gzip, not \"%s\"", verb, optarg);
                        break;
                case ARG_CREDENTIALS:
                        if (optarg[0] != '/')
                                return log_usage("%s: --credentials= needs an absolute path", verb);
                        o.credentials = optarg;
                        break;
                case ARG_TLS_VERIFY:
                        r = parse_boolean(optarg);
                        if (r < 0)
                                return log_usage("%s: --tls-verify= takes a boolean", verb);
                        o.tls_verify = r;
                        break;
                case ARG_SIGN_BY:
                        if (!*optarg || optarg[0] == '-' || strlen(optarg) > 256 || strpbrk(optarg, "\r\n"))
                                return log_usage("%s: --sign-by= takes a gpg key ID, fingerprint or user ID", verb);
                        o.sign_by = optarg;
                        break;
                case ARG_SIGN_PASSPHRASE_FILE:
                        if (optarg[0] != '/')
                                return log_usage("%s: --sign-passphrase-file= needs an absolute path", verb);
                        o.sign_passphrase_file = optarg;
                        break;
                default:
                        if ((r = parse_global_option(c, optarg, help_push_oci)) != 0)
                                return r < 0 ? r : log_usage("%s: unexpected option", verb);
                }
        }
        if ((r = check_args(verb, argc - optind, 2, 2)) < 0)
                return r;
        if (o.sign_passphrase_file && !o.sign_by)
                return log_usage("%s: --sign-passphrase-file= goes with --sign-by=", verb);
        const char *name = argv[optind], *ref = argv[optind + 1];
        if (!image_name_is_valid(name))
                return log_image_error(-EINVAL, verb, name);
        /* Tests: small chunks, so that an upload has several. */
        const char *chunk = getenv("COWPEN_OCI_UPLOAD_CHUNK");
        if (chunk && (safe_atou64(chunk, &o.chunk) < 0 || o.chunk == 0))
                return log_usage("%s: $COWPEN_OCI_UPLOAD_CHUNK takes a number of bytes", verb);
        ps.json = arg_global.json != JSON_OFF && !arg_global.no_progress;
        ps.tty = !arg_global.quiet && !arg_global.no_progress && isatty(STDERR_FILENO);
        if (!ps.json && !ps.tty)
                o.progress = NULL;

        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        if ((r = open_image_root(false, &root)) < 0)
                return r;
        OciPushResult res = {};
        _cleanup_diag_ Diag diag = DIAG_INIT;
        r = oci_push(root, name, ref, &o, &res, &diag);
        oci_progress_clear(&ps);
        free(ps.layers);
        if (r < 0) {
                if (r == -EINTR)
                        return log_error_errno(r, "%s %s: interrupted; the manifest was not pushed", verb, name);
                const char *why = diag_message(&diag);
                if (why)
                        return log_error_errno(r, "%s %s %s: %s", verb, name, ref, why);
                return log_error_errno(r, "%s %s %s: %m", verb, name, ref);
        }
        char a[FORMAT_BYTES_MAX];
        if (res.n_base_layers > 0)
                oci_info(
                        "Base: %zu layer%s of the pulled image, named by their blobs (%zu mounted from the repository "
                        "pulled from); new layer: the changes, %" PRIu64 " deletion%s",
                        res.n_base_layers, res.n_base_layers == 1 ? "" : "s", res.n_mounted, res.n_whiteouts,
                        res.n_whiteouts == 1 ? "" : "s");
        oci_info("Pushed image \"%s\" to %s (%s) as manifest %s: %zu layer%s, %zu uploaded (%s)%s%s", name,
                res.reference, res.registry_url, res.manifest_digest, res.n_layers, res.n_layers == 1 ? "" : "s",
                res.n_layers_sent, format_bytes(a, sizeof(a), res.bytes_sent), res.resumed ? ", resumed" : "",
                res.restarted ? ", restarted (the registry had lost the interrupted upload)" : "");
        if (res.signature_path)
                oci_info("Signed by %s: %s", o.sign_by, res.signature_path);
        oci_push_result_done(&res);
        return 0;
}
