/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "verbs.h"

int verb_pull_tar(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "pull-tar: not implemented yet");
}

int verb_pull_raw(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "pull-raw: not implemented yet");
}

