/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* OpenPGP signature checks by running gpgv (never by hand): with the given keyring, a private
 * temporary home directory, and the status lines read from --status-fd. A signature counts only
 * with a VALIDSIG line, exit status 0 and no BADSIG/ERRSIG/EXPKEYSIG/REVKEYSIG. */

#include "diag.h"
#include "macro.h"

#define GPGV_STATUS_MAX (64U * 1024U)   /* bytes of status output we read */
#define GPGV_OUTPUT_MAX (4U * 1024U * 1024U) /* bytes of a clearsigned text we accept */

/* The default keyrings, tried in order when --keyring is not given. */
extern const char *const gpg_default_keyrings[];
/* The first default keyring that exists, or NULL. */
const char *gpg_find_default_keyring(void);

/* Each check returns 0 with *ret_fingerprint (may be NULL) set to the fingerprint of the signing
 * (sub)key from VALIDSIG (the primary key's when given), -EBADMSG when the signature is not valid,
 * with one human phrase as diag's cause ("signed by key 0123…, which is not in the keyring"), or
 * another -errno when gpgv could not run. */

/* Checks a detached signature (sig, sig_size bytes) over the contents of data_fd (read from its
 * start). */
int gpg_verify_detached(const char *keyring, const void *sig, size_t sig_size, int data_fd, char **ret_fingerprint,
                        Diag *diag);
/* Likewise for the in-memory data. */
int gpg_verify_detached_memory(const char *keyring, const void *sig, size_t sig_size, const void *data,
                               size_t data_size, char **ret_fingerprint, Diag *diag);
/* Checks a clearsigned message and returns the signed text as gpgv wrote it (NUL-terminated). */
int gpg_verify_clearsigned(const char *keyring, const void *msg, size_t msg_size, char **ret_text,
                           size_t *ret_text_size, char **ret_fingerprint, Diag *diag);

/* Parses gpgv status output (untrusted-sized; bounded by GPGV_STATUS_MAX): as the checks above,
 * by what the status says. */
int gpg_parse_status(const char *status, size_t size, char **ret_fingerprint, Diag *diag);

#define GPG_KEY_ID_MAX 256U             /* bytes of a --sign-by key ID */
#define GPG_SIGNATURE_MAX (64U * 1024U) /* bytes of a signed message we make */

/* Signs data with gpg --sign --local-user key_id from the user's keyring (GNUPGHOME), a binary
 * OpenPGP signed message (not detached) as containers' simple signing keeps them; with
 * passphrase_file, the key's passphrase is read from it (--pinentry-mode loopback). On failure
 * -EKEYREJECTED with gpg's reason ("No secret key") in diag, or -ENOEXEC when gpg is missing. */
int gpg_sign_message(const char *key_id, const char *passphrase_file, const void *data, size_t size, char **ret,
                     size_t *ret_size, Diag *diag);
