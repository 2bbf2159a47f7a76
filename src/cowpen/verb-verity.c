/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "verbs.h"

int verb_verity_format(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "verity-format: not implemented yet");
}

int verb_verity_sign(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "verity-sign: not implemented yet");
}

int verb_verity_verify(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "verity-verify: not implemented yet");
}

