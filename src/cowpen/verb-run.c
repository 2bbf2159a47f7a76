/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "verbs.h"

int verb_run(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "run: not implemented yet");
}

