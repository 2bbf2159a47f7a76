/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "verbs.h"

int verb_import_tar(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "import-tar: not implemented yet");
}

int verb_import_raw(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "import-raw: not implemented yet");
}

int verb_export_tar(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "export-tar: not implemented yet");
}

int verb_export_raw(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "export-raw: not implemented yet");
}
