/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <string.h>

#include "fd-util.h"
#include "image.h"
#include "machine.h"
#include "pull.h"
#include "spawn.h"
#include "util.h"
#include "verbs.h"

/* The image verbs: list-images, image-status, clone, rename, read-only, remove, clean. */

int open_image_root(bool create, ImageRoot **ret) {
        int r = image_root_open(arg_global.image_root, create, ret);
        if (r < 0)
                return log_error_errno(r, "image root %s: %m", arg_global.image_root);
        return 0;
}

char *format_what(const char *verb, const char *a, const char *b) {
        _cleanup_free_ char *pa = a ? printable(a, 255) : NULL, *pb = b ? printable(b, 255) : NULL;
        if ((a && !pa) || (b && !pb))
                return NULL;
        if (pb)
                return strjoin(verb, " ", pa, " → ", pb);
        return pa ? strjoin(verb, " ", pa) : strdup(verb);
}

int log_image_error(int r, const char *what, const char *name_raw) {
        _cleanup_free_ char *name = name_raw ? printable(name_raw, 255) : NULL;
        /* A name that can never be valid is wrong on the command line itself: bad usage. */
        if (r == -EINVAL && name_raw && !image_name_is_valid(name_raw))
                return log_usage("%s: invalid image name \"%s\": %s", what, name, image_name_invalid_reason(name_raw));
        if (r == -EEXIST)
                return log_error_errno(r, "%s: image \"%s\" already exists", what, name);
        if (r == -ENOENT)
                return log_error_errno(r, "%s: no image \"%s\"", what, name);
        if (r == -EBUSY)
                return log_error_errno(r, "%s: image \"%s\" is in use", what, name);
        if (r == -EINTR)
                return log_error_errno(r, "%s: interrupted, nothing was kept", what);
        return log_error_errno(r, "%s: %m", what);
}

void log_image_shadowed(const char *what, const char *name_raw) {
        _cleanup_free_ char *name = printable(name_raw, 255);
        log_warning("%s: %s.raw is hidden by the directory %s/ of the same name, which every verb means "
                    "(rename one of them)",
                    what, name ?: "?", name ?: "?");
}

static const char *os_release_get(Image *i, const char *key) {
        for (char **p = i->os_release; p && p[0] && p[1]; p += 2)
                if (streq(p[0], key))
                        return p[1];
        return NULL;
}

/* The image's provenance record, with root_hash from a raw image's NAME.roothash sidecar where the
 * record has none (both live outside the image's tree). An unreadable record is reported as none
 * (with a warning): it is never guessed at. */
static void read_provenance(ImageRoot *root, Image *i, ImageProvenance *ret) {
        *ret = IMAGE_PROVENANCE_NULL;
        int r = image_provenance_read(root, i->name, ret);
        if (r < 0 && r != -ENOENT)
                log_warning("image-status %s: provenance record %s%s is unreadable (%s), ignored", i->name, i->name,
                            IMAGE_PROVENANCE_SUFFIX, strerror(-r));
        if (!ret->root_hash && i->type == IMAGE_RAW) {
                _cleanup_free_ char *fn = strjoin(i->name, ".roothash"), *text = NULL;
                size_t size = 0;
                if (fn && read_file_at(root->fd, fn, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, 1024, &text, &size) >= 0) {
                        text[strcspn(text, " \t\n")] = 0;
                        size_t n = strlen(text);
                        bool hex = n >= 40 && n <= 128;
                        for (size_t k = 0; k < n && hex; k++)
                                hex = strchr("0123456789abcdefABCDEF", text[k]) != NULL;
                        if (hex)
                                ret->root_hash = TAKE_PTR(text);
                }
        }
}

static json_object *provenance_to_json(const ImageProvenance *p) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        if (json_add_string(o, "source", p->source) < 0 || json_add_string(o, "sha256", p->sha256) < 0 ||
            json_add_string(o, "verification", p->verification) < 0 || json_add_string(o, "signer", p->signer) < 0 ||
            json_add_string(o, "parent", p->parent) < 0 || json_add_string(o, "clone_method", p->clone_method) < 0 ||
            json_add_u64(o, "generation", p->generation, true) < 0 || json_add_string(o, "root_hash", p->root_hash) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static json_object *image_to_json(Image *i, bool with_os_release) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        if (json_add_string(o, "name", i->name) < 0 || json_add_string(o, "type", image_type_to_string(i->type)) < 0 ||
            json_add_string(o, "path", i->path) < 0 || json_add_bool(o, "read_only", i->read_only) < 0 ||
            json_add_u64(o, "usage", i->usage, true) < 0 ||
            json_add_u64(o, "created", i->created ?: UINT64_MAX, true) < 0 ||
            json_add_u64(o, "modified", i->modified ?: UINT64_MAX, true) < 0)
                goto fail;
        if (with_os_release) {
                json_object *os = json_object_new_object();
                if (!os || json_object_object_add(o, "os_release", os) < 0) {
                        json_object_put(os);
                        goto fail;
                }
                for (char **p = i->os_release; p && p[0] && p[1]; p += 2)
                        if (json_add_string(os, p[0], p[1]) < 0)
                                goto fail;
        }
        return o;
fail:
        json_object_put(o);
        return NULL;
}

/* The option parsing of the verbs that take the global options only, plus -a/--all when all is
 * not NULL, and between min_args and max_args (-1: any number) arguments after them; with ret_root,
 * then the image root opened (not created). */
static int parse_simple_args(int argc, char *argv[], const char *verb, const char *help, bool *all,
                             int min_args, int max_args, ImageRoot **ret_root) {
        static const struct option options[] = { GLOBAL_LONG_OPTIONS, {} };
        static const struct option options_all[] = { GLOBAL_LONG_OPTIONS, { "all", no_argument, NULL, 'a' }, {} };
        int c, r;
        while ((c = getopt_long(argc, argv, all ? GLOBAL_SHORT_OPTIONS "a" : GLOBAL_SHORT_OPTIONS,
                                all ? options_all : options, NULL)) >= 0) {
                if (all && c == 'a') {
                        *all = true;
                        continue;
                }
                if ((r = parse_global_option(c, optarg, help)) != 0)
                        return r < 0 ? r : log_usage("%s: unexpected option", verb);
        }
        r = check_args(verb, argc - optind, min_args, max_args);
        if (r < 0 || !ret_root)
                return r;
        return open_image_root(false, ret_root);
}

static const char help_list[] =
        "cowpen list-images [OPTIONS…]\n\n"
        "List images in the image root: directories, btrfs subvolumes and NAME.raw files.\n\n"
        "  -a --all          Also show hidden (dot-named) images and leftovers\n"
        "     --json=MODE    pretty|short|off\n"
        "     --image-root=DIR\n";

int verb_list_images(int argc, char *argv[]) {
        bool all = false;
        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        int r = parse_simple_args(argc, argv, "list-images", help_list, &all, 0, 0, &root);
        if (r < 0)
                return r;
        Image **list = NULL;
        size_t n = 0;
        r = image_discover(root, all, &list, &n);
        if (r < 0)
                return log_error_errno(r, "list-images: %s: %m", root->path);
        for (size_t k = 0; k < n; k++)
                if (list[k]->shadows_raw)
                        log_image_shadowed("list-images", list[k]->name);

        if (arg_global.json != JSON_OFF) {
                _cleanup_json_ json_object *a = json_object_new_array();
                for (size_t k = 0; a && k < n; k++) {
                        json_object *o = image_to_json(list[k], false);
                        if (!o || json_object_array_add(a, o) < 0) {
                                json_object_put(o);
                                r = -ENOMEM;
                                break;
                        }
                }
                if (!a)
                        r = -ENOMEM;
                if (r >= 0)
                        r = json_print(a, arg_global.json);
                image_list_free(list, n);
                return r < 0 ? log_error_errno(r, "list-images: %m") : 0;
        }

        if (n == 0) {
                if (!arg_global.quiet)
                        printf("No images.\n");
                image_list_free(list, n);
                return 0;
        }
        size_t w = 4;
        for (size_t k = 0; k < n; k++)
                w = MAX(w, strlen(list[k]->name));
        w = MIN(w, (size_t) 48);
        printf("%-*s %-9s %-3s %8s %-31s %s\n", (int) w, "NAME", "TYPE", "RO", "USAGE", "CREATED", "MODIFIED");
        for (size_t k = 0; k < n; k++) {
                Image *i = list[k];
                char u[FORMAT_BYTES_MAX], t1[FORMAT_TIMESTAMP_MAX], t2[FORMAT_TIMESTAMP_MAX];
                printf("%-*s %-9s %-3s %8s %-31s %s\n", (int) w, i->name, image_type_to_string(i->type),
                       i->read_only ? "yes" : "no", i->usage == UINT64_MAX ? "-" : format_bytes(u, sizeof(u), i->usage),
                       i->created ? format_timestamp(t1, sizeof(t1), i->created) : "-",
                       i->modified ? format_timestamp(t2, sizeof(t2), i->modified) : "-");
        }
        if (!arg_global.quiet)
                printf("\n%zu image%s listed.\n", n, n == 1 ? "" : "s");
        image_list_free(list, n);
        return 0;
}

static const char help_status[] =
        "cowpen image-status [OPTIONS…] NAME…\n\n"
        "Show type, path, read-only state, disk usage, times and os-release fields of images.\n\n"
        "     --json=MODE    pretty|short|off (one object per image)\n"
        "     --image-root=DIR\n";

int verb_image_status(int argc, char *argv[]) {
        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        int r = parse_simple_args(argc, argv, "image-status", help_status, NULL, 1, -1, &root);
        if (r < 0)
                return r;

        int ret = 0;
        for (int k = optind; k < argc; k++) {
                _cleanup_(image_freep) Image *i = NULL;
                r = image_find(root, argv[k], &i);
                if (r >= 0)
                        r = image_read_details(root, i, true);
                if (r < 0) {
                        ret = log_image_error(r, "image-status", argv[k]);
                        continue;
                }
                if (i->shadows_raw)
                        log_image_shadowed("image-status", i->name);
                _cleanup_(image_provenance_done) ImageProvenance prov = IMAGE_PROVENANCE_NULL;
                read_provenance(root, i, &prov);
                if (arg_global.json != JSON_OFF) {
                        _cleanup_json_ json_object *o = image_to_json(i, true);
                        json_object *po = o ? provenance_to_json(&prov) : NULL;
                        if (po && json_object_object_add(o, "provenance", po) < 0) {
                                json_object_put(po);
                                po = NULL;
                        }
                        r = o && po ? json_print(o, arg_global.json) : -ENOMEM;
                        if (r < 0)
                                ret = log_error_errno(r, "image-status %s: %m", argv[k]);
                        continue;
                }
                char u[FORMAT_BYTES_MAX], t[FORMAT_TIMESTAMP_MAX];
                const char *pretty = os_release_get(i, "PRETTY_NAME") ?: os_release_get(i, "NAME");
                printf("%s\n", i->name);
                printf("      Type: %s\n", image_type_to_string(i->type));
                printf("      Path: %s\n", i->path);
                printf(" Read-only: %s\n", i->read_only ? "yes" : "no");
                printf("     Usage: %s\n", i->usage == UINT64_MAX ? "-" : format_bytes(u, sizeof(u), i->usage));
                printf("   Created: %s\n", i->created ? format_timestamp(t, sizeof(t), i->created) : "-");
                printf("  Modified: %s\n", i->modified ? format_timestamp(t, sizeof(t), i->modified) : "-");
                if (pretty)
                        printf("        OS: %s\n", pretty);
                for (char **p = i->os_release; p && p[0] && p[1]; p += 2)
                        printf("            %s=%s\n", p[0], p[1]);
                /* Provenance: what cowpen recorded outside the tree (values checked when read). */
                const struct {
                        const char *label, *value;
                } pl[] = {
                        { "    Source", prov.source },      { "    SHA256", prov.sha256 },
                        { "  Verified", prov.verification }, { "    Signer", prov.signer },
                        { "    Parent", prov.parent },      { " Cloned by", prov.clone_method },
                        { " Root hash", prov.root_hash },
                };
                for (size_t k2 = 0; k2 < ELEMENTSOF(pl); k2++)
                        if (pl[k2].value) {
                                _cleanup_free_ char *v = printable(pl[k2].value, 4096);
                                printf("%s: %s\n", pl[k2].label, v ?: "?");
                        }
                if (prov.generation != IMAGE_GENERATION_NONE)
                        printf("Generation: %" PRIu64 "\n", prov.generation);
                if (k + 1 < argc)
                        printf("\n");
        }
        return ret;
}

static const char help_clone[] =
        "cowpen clone [OPTIONS…] SRC DST\n\n"
        "Clone image SRC as DST: a recursive btrfs snapshot when SRC is a subvolume on the same\n"
        "btrfs, else a reflink copy, else a plain copy. DST appears only when complete.\n\n"
        "     --read-only    Make DST read-only\n"
        "     --image-root=DIR\n";

int verb_clone(int argc, char *argv[]) {
        enum { ARG_READ_ONLY = ARG_VERB_BASE };
        static const struct option options[] = { GLOBAL_LONG_OPTIONS, { "read-only", no_argument, NULL, ARG_READ_ONLY }, {} };
        bool ro = false;
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == ARG_READ_ONLY) {
                        ro = true;
                        continue;
                }
                if ((r = parse_global_option(c, optarg, help_clone)) != 0)
                        return r < 0 ? r : log_usage("clone: unexpected option");
        }
        if ((r = check_args("clone", argc - optind, 2, 2)) < 0)
                return r;
        const char *src = argv[optind], *dst = argv[optind + 1];
        _cleanup_free_ char *what = format_what("clone", src, dst);
        if (!what)
                return log_oom();

        if (!image_name_is_valid(dst))
                return log_image_error(-EINVAL, what, dst);
        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        if ((r = open_image_root(false, &root)) < 0)
                return r;
        CloneMethod m;
        r = image_clone(root, src, dst, ro, &m);
        if (r == -ENOENT)
                return log_image_error(r, what, src);
        if (r == -EBUSY) {
                /* Either the source is held by a writer or DST is being created right now. */
                return log_error_errno(r, "%s: image \"%s\" or \"%s\" is in use", what, src, dst);
        }
        if (r < 0)
                return log_image_error(r, what, dst);
        log_info("Cloned %s → %s (%s).", src, dst, clone_method_to_string(m));
        return 0;
}

static const char help_rename[] =
        "cowpen rename [OPTIONS…] OLD NEW\n\n"
        "Rename an image together with its sidecars (.nspawn, .roothash, .roothash.p7s, .verity).\n";

int verb_rename(int argc, char *argv[]) {
        int r = parse_simple_args(argc, argv, "rename", help_rename, NULL, 2, 2, NULL);
        if (r < 0)
                return r;
        const char *a = argv[optind], *b = argv[optind + 1];
        _cleanup_free_ char *what = format_what("rename", a, b);
        if (!what)
                return log_oom();
        if (!image_name_is_valid(b))
                return log_image_error(-EINVAL, what, b);
        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        if ((r = open_image_root(false, &root)) < 0)
                return r;
        r = image_rename(root, a, b);
        if (r == -ENOENT || (r == -EINVAL && !image_name_is_valid(a)))
                return log_image_error(r, what, a);
        if (r == -EBUSY)
                return log_error_errno(r, "%s: image \"%s\" or \"%s\" is in use", what, a, b);
        if (r < 0)
                return log_image_error(r, what, b);
        log_info("Renamed %s → %s.", a, b);
        return 0;
}

static const char help_read_only[] =
        "cowpen read-only [OPTIONS…] NAME [yes|no]\n\n"
        "Mark an image read-only (default) or writable: the btrfs read-only property of a\n"
        "subvolume, the immutable attribute of a directory (its top directory only: the files\n"
        "below stay writable on the host, which is said), the write bits of a raw file.\n"
        "run runs a read-only image read-only (unless -x).\n";

int verb_read_only(int argc, char *argv[]) {
        int r = parse_simple_args(argc, argv, "read-only", help_read_only, NULL, 1, 2, NULL);
        if (r < 0)
                return r;
        const char *name = argv[optind];
        bool ro = true;
        if (optind + 1 < argc) {
                r = parse_boolean(argv[optind + 1]);
                if (r < 0)
                        return log_usage("read-only %s: expected yes or no, got \"%s\"", name, argv[optind + 1]);
                ro = r;
        }
        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        if ((r = open_image_root(false, &root)) < 0)
                return r;
        _cleanup_free_ char *what = format_what("read-only", name, NULL);
        if (!what)
                return log_oom();
        ImageReadOnlyScope scope = IMAGE_READ_ONLY_WHOLE;
        r = image_set_read_only(root, name, ro, &scope);
        if (r < 0)
                return log_image_error(r, what, name);
        /* Said plainly what the flag does not cover, so nobody takes it for more. */
        if (ro && scope == IMAGE_READ_ONLY_TOP_DIRECTORY)
                log_warning("read-only %s: a plain directory: only its top directory is made immutable (as machinectl does), "
                            "the files below stay writable on the host; cowpen and systemd-nspawn run it read-only "
                            "(an image that is a btrfs subvolume is read-only as a whole)",
                            name);
        else if (ro && scope == IMAGE_READ_ONLY_NOT_NESTED)
                log_warning("read-only %s: its nested subvolumes keep their own read-only state (as with machinectl), "
                            "they stay writable on the host; cowpen and systemd-nspawn run the image read-only",
                            name);
        return 0;
}

static const char help_remove[] =
        "cowpen remove [OPTIONS…] NAME…\n\n"
        "Remove images with their sidecars (btrfs subvolumes recursively). Refused while in use.\n";

int verb_remove(int argc, char *argv[]) {
        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        int r = parse_simple_args(argc, argv, "remove", help_remove, NULL, 1, -1, &root);
        if (r < 0)
                return r;
        int ret = 0;
        for (int k = optind; k < argc; k++) {
                _cleanup_free_ char *what = format_what("remove", argv[k], NULL);
                if (!what)
                        return log_oom();
                /* NAME/ and NAME.raw: the directory goes, as with machinectl; say what stays. */
                _cleanup_(image_freep) Image *i = NULL;
                bool shadows = image_find(root, argv[k], &i) >= 0 && i->shadows_raw;
                r = image_remove(root, argv[k]);
                if (r < 0)
                        ret = log_image_error(r, what, argv[k]);
                else {
                        log_info("Removed %s.", argv[k]);
                        if (shadows) {
                                _cleanup_free_ char *name = printable(argv[k], 255);
                                log_warning("%s: the directory %s/ is removed; %s.raw of the same name stays and "
                                            "is the image %s now",
                                            what, name ?: "?", name ?: "?", name ?: "?");
                        }
                }
        }
        return ret;
}

static const char help_clean[] =
        "cowpen clean [OPTIONS…]\n\n"
        "Remove hidden leftovers (.# entries: interrupted transfers, clones and updates, ephemeral\n"
        "copies of dead containers, old generations no run uses any more, stale lock files) that no\n"
        "live process holds (the kept generations of templates stay), and what the networks of\n"
        "dead containers left (links, zone bridges, firewall rules, dnsmasq instances, leases), the\n"
        "machine registry's records of dead runs, and what of pull-oci's layer store (.#oci) no image\n"
        "needs any more.\n\n"
        "  -a --all          Also remove hidden (dot-named) images nobody uses\n";

static void on_cleaned(const char *name, void *userdata) {
        (*(unsigned *) userdata)++;
        log_info("Removed %s.", name);
}

int verb_clean(int argc, char *argv[]) {
        bool all = false;
        _cleanup_(image_root_freep) ImageRoot *root = NULL;
        int r = parse_simple_args(argc, argv, "clean", help_clean, &all, 0, 0, &root);
        if (r < 0)
                return r;
        unsigned n = 0;
        r = image_clean(root, all, on_cleaned, &n);
        if (r < 0)
                return log_error_errno(r, "clean %s: %m", root->path);
        r = oci_store_clean(root, on_cleaned, &n);
        if (r < 0)
                return log_error_errno(r, "clean %s/%s: %s", root->path, OCI_STORE_DIR,
                                       r == -EBUSY ? "the layer store is in use by a pull" : strerror(-r));
        _cleanup_diag_ Diag diag = DIAG_INIT;
        int k = spawn_network_clean(&diag);
        if (k < 0)
                return log_diag_error(k, &diag, "clean: networks of dead containers");
        if (k > 0) {
                log_info("Removed the network%s of %d dead container%s or zone%s.", k == 1 ? "" : "s", k,
                         k == 1 ? "" : "s", k == 1 ? "" : "s");
                n += (unsigned) k;
        }
        if ((k = machine_clean(&diag)) < 0)
                return log_diag_error(k, &diag, "clean: records of dead machines");
        if (k > 0) {
                log_info("Removed the record%s of %d dead machine%s.", k == 1 ? "" : "s", k, k == 1 ? "" : "s");
                n += (unsigned) k;
        }
        log_info("Removed %u leftover%s.", n, n == 1 ? "" : "s");
        return 0;
}
