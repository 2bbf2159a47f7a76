/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --image-policy: what protection a raw image's root and usr partition may have, in systemd's
 * syntax as far as those two go (image-policy.h).
 *
 * Untrusted input: the policy string from the command line, length-limited
 * (IMAGE_POLICY_STRING_MAX) and parsed without allocating; every partition name and flag must be
 * one systemd knows. */

#include <string.h>

#include "image-policy.h"
#include "util.h"

static int policy_flag(const char *s, size_t n, unsigned *flags) {
        static const struct {
                const char *name;
                unsigned flags;
        } table[] = {
                {"open", IMAGE_POLICY_ANY},
                {"verity", IMAGE_POLICY_VERITY},
                {"signed", IMAGE_POLICY_SIGNED},
                {"unprotected", IMAGE_POLICY_UNPROTECTED},
                {"unused", IMAGE_POLICY_UNUSED},
                {"absent", IMAGE_POLICY_ABSENT},
                {"encrypted", 0},
                {"ignore", IMAGE_POLICY_UNUSED | IMAGE_POLICY_ABSENT}, /* systemd's unused+absent */
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strlen(table[i].name) == n && strneq(s, table[i].name, n)) {
                        *flags |= table[i].flags;
                        return 0;
                }
        return -EINVAL;
}

int image_policy_parse_for(const char *s, PartitionDesignator which, unsigned *ret) {
        if (which != PARTITION_ROOT && which != PARTITION_USR)
                return -EINVAL;
        if (strlen(s) > IMAGE_POLICY_STRING_MAX)
                return -E2BIG;
        if (streq(s, "*") || streq(s, "open") || streq(s, "allow")) {
                *ret = IMAGE_POLICY_ANY;
                return 0;
        }
        if (streq(s, "~") || streq(s, "deny")) {
                *ret = 0;
                return 0;
        }
        if (streq(s, "-")) {
                *ret = IMAGE_POLICY_UNUSED | IMAGE_POLICY_ABSENT;
                return 0;
        }
        /* The shortcuts: whatever root or usr is there must be protected so. */
        if (streq(s, "verity")) {
                *ret = IMAGE_POLICY_VERITY | IMAGE_POLICY_SIGNED | IMAGE_POLICY_ABSENT;
                return 0;
        }
        if (streq(s, "signed")) {
                *ret = IMAGE_POLICY_SIGNED | IMAGE_POLICY_ABSENT;
                return 0;
        }
        /* PARTITION=FLAGS:PARTITION=FLAGS… */
        const char *want = partition_designator_to_string(which);
        unsigned mine = IMAGE_POLICY_ANY, dflt = IMAGE_POLICY_ANY;
        bool have_mine = false;
        for (const char *p = s; *p;) {
                size_t n = strcspn(p, ":");
                const char *eq = memchr(p, '=', n);
                if (!eq)
                        return -EINVAL;
                size_t kl = (size_t) (eq - p);
                unsigned flags = 0;
                for (const char *f = eq + 1; f < p + n;) {
                        size_t fl = strcspn(f, "+:");
                        if (fl > (size_t) (p + n - f))
                                fl = (size_t) (p + n - f);
                        if (fl == 0 || policy_flag(f, fl, &flags) < 0)
                                return -EINVAL;
                        f += fl;
                        if (*f == '+' && ++f >= p + n)
                                return -EINVAL; /* a trailing '+' */
                }
                static const char *const known[] = {"root", "usr", "home", "srv", "esp", "xbootldr", "swap", "tmp",
                        "var", "root-verity", "root-verity-sig", "usr-verity", "usr-verity-sig"};
                bool ok = kl == 0;
                for (size_t i = 0; i < ELEMENTSOF(known) && !ok; i++)
                        ok = strlen(known[i]) == kl && strneq(p, known[i], kl);
                if (!ok)
                        return -EINVAL;
                if (kl == 0)
                        dflt = flags;
                else if (kl == strlen(want) && strneq(p, want, kl)) {
                        mine = flags;
                        have_mine = true;
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        *ret = have_mine ? mine : dflt;
        return 0;
}

int image_policy_parse(const char *s, unsigned *ret_root) {
        return image_policy_parse_for(s, PARTITION_ROOT, ret_root);
}
