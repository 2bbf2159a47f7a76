/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "util.h"
#include "verbs.h"

/* enable/disable NAME: the machine NAME as a system service of the host's init system, as
 * machinectl enable does for systemd-nspawn@NAME.service:
 *   systemd (/run/systemd/system exists): systemctl enable cowpen@NAME.service machines.target
 *     (machinectl enables machines.target along, which starts the machines at boot);
 *     disable: systemctl disable cowpen@NAME.service;
 *   OpenRC (/run/openrc exists, or rc-update is installed): the symlink
 *     /etc/init.d/cowpen.NAME → cowpen (Gentoo's netifrc instancing) and
 *     rc-update add cowpen.NAME default; disable: rc-update del, and the symlink goes.
 * The image must exist in the image root first. */

#define OPENRC_INITD "/etc/init.d"

typedef enum InitSystem {
        INIT_NONE,
        INIT_SYSTEMD,
        INIT_OPENRC,
} InitSystem;

static bool is_dir(const char *p) {
        struct stat st;
        return stat(p, &st) >= 0 && S_ISDIR(st.st_mode);
}

/* The program's path when it is in $PATH (or a standard sbin, where root's PATH may lack them). */
static bool have_program(const char *name) {
        const char *path = getenv("PATH");
        _cleanup_free_ char *all = strjoin(path ? path : "", ":/usr/sbin:/sbin:/usr/bin:/bin");
        if (!all)
                return false;
        for (char *save = NULL, *d = strtok_r(all, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *p = strjoin(d, "/", name);
                if (p && access(p, X_OK) >= 0)
                        return true;
        }
        return false;
}

static InitSystem host_init_system(void) {
        if (is_dir("/run/systemd/system"))
                return INIT_SYSTEMD;
        if (is_dir("/run/openrc") || have_program("rc-update"))
                return INIT_OPENRC;
        return INIT_NONE;
}

/* Runs argv with our stdio; its exit status (0 on success), -errno when it could not be run. */
static int run_program(char *const argv[]) {
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return -ENOENT;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int service_systemd(bool enable, const char *name) {
        _cleanup_free_ char *unit = strjoin("cowpen@", name, ".service");
        if (!unit)
                return log_oom();
        char *en[] = {(char *) "systemctl", (char *) "enable", unit, (char *) "machines.target", NULL};
        char *dis[] = {(char *) "systemctl", (char *) "disable", unit, NULL};
        char **argv = enable ? en : dis;
        int r = run_program(argv);
        if (r < 0)
                return log_error_errno(r, "%s %s: cannot run systemctl: %m", enable ? "enable" : "disable", name);
        if (r > 0)
                return log_error_errno(-EIO, "%s %s: systemctl %s %s failed (exit status %i)",
                        enable ? "enable" : "disable", name, enable ? "enable" : "disable", unit, r);
        return 0;
}

static int service_openrc(bool enable, const char *name) {
        const char *verb = enable ? "enable" : "disable";
        _cleanup_free_ char *svc = strjoin("cowpen.", name), *link = strjoin(OPENRC_INITD "/cowpen.", name);
        if (!svc || !link)
                return log_oom();
        struct stat st;
        if (enable) {
                if (stat(OPENRC_INITD "/cowpen", &st) < 0)
                        return log_error_errno(negative_errno(),
                                "enable %s: OpenRC: %s: %m (meson install puts the service there)", name,
                                OPENRC_INITD "/cowpen");
                if (symlink("cowpen", link) < 0 && errno != EEXIST)
                        return log_error_errno(negative_errno(), "enable %s: OpenRC: %s: %m", name, link);
                char buf[16];
                ssize_t n = readlink(link, buf, sizeof(buf));
                if (n != (ssize_t) strlen("cowpen") || !strneq(buf, "cowpen", (size_t) n))
                        return log_error_errno(
                                -EEXIST, "enable %s: OpenRC: %s exists and is not a symlink to cowpen", name, link);
        } else if (lstat(link, &st) < 0) {
                if (errno == ENOENT)
                        return log_error_errno(
                                -ENOENT, "disable %s: OpenRC: no service %s (%s is missing)", name, svc, link);
                return log_error_errno(negative_errno(), "disable %s: OpenRC: %s: %m", name, link);
        }
        char *argv[] = {(char *) "rc-update", (char *) (enable ? "add" : "del"), svc, (char *) "default", NULL};
        int r = run_program(argv);
        if (r < 0)
                return log_error_errno(r, "%s %s: cannot run rc-update: %m", verb, name);
        /* del of a service not in the runlevel fails: it is disabled all the same. */
        if (r > 0 && enable)
                return log_error_errno(
                        -EIO, "enable %s: rc-update add %s default failed (exit status %i)", name, svc, r);
        if (!enable && unlink(link) < 0 && errno != ENOENT)
                return log_error_errno(negative_errno(), "disable %s: OpenRC: remove %s: %m", name, link);
        return 0;
}

static const char help_enable[] =
        "cowpen enable|disable [OPTIONS…] NAME\n\n"
        "Boot the image NAME as a system service when the host starts (enable), or no longer\n"
        "(disable), with the host's init system: systemd's cowpen@NAME.service (and\n"
        "machines.target), or OpenRC's cowpen.NAME (a symlink to /etc/init.d/cowpen, in the\n"
        "default runlevel; options in /etc/conf.d/cowpen.NAME). The service is not started\n"
        "or stopped now.\n\n"
        "     --image-root=DIR\n"
        "\nSee cowpen(1).\n";

static int verb_service(int argc, char *argv[], bool enable) {
        static const struct option options[] = {GLOBAL_LONG_OPTIONS, {}};
        const char *verb = enable ? "enable" : "disable";
        int c, r;
        while ((c = getopt_long(argc, argv, GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0)
                if ((r = parse_global_option(c, optarg, help_enable)) != 0)
                        return r < 0 ? r : log_usage("%s: unexpected option", verb);
        if ((r = check_args(verb, argc - optind, 1, 1)) < 0)
                return r;
        const char *name = argv[optind];
        if (!image_name_is_valid(name))
                return log_usage("%s: invalid machine name \"%s\": %s", verb, name, image_name_invalid_reason(name));
        if (enable) {
                _cleanup_(image_root_freep) ImageRoot *root = NULL;
                _cleanup_(image_freep) Image *image = NULL;
                if ((r = open_image_root(false, &root)) < 0)
                        return r;
                if ((r = image_find(root, name, &image)) < 0) {
                        _cleanup_free_ char *what = format_what(verb, name, NULL);
                        return log_image_error(r, what ? what : verb, name);
                }
                if (!streq(arg_global.image_root, DEFAULT_IMAGE_ROOT))
                        log_warning("%s %s: the service looks the image up in %s, not in %s", verb, name,
                                DEFAULT_IMAGE_ROOT, arg_global.image_root);
        }
        switch (host_init_system()) {
        case INIT_SYSTEMD:
                return service_systemd(enable, name);
        case INIT_OPENRC:
                return service_openrc(enable, name);
        case INIT_NONE:
        default:
                return log_error_errno(-EOPNOTSUPP,
                        "%s %s: no init system to run it as a service (neither systemd, /run/systemd/system, "
                        "nor OpenRC, /run/openrc or rc-update, runs here)",
                        verb, name);
        }
}

int verb_enable(int argc, char *argv[]) {
        return verb_service(argc, argv, true);
}

int verb_disable(int argc, char *argv[]) {
        return verb_service(argc, argv, false);
}
