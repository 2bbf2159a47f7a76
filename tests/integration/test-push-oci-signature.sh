#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# push-oci --sign-by: the GPG "simple signing" signature cowpen writes into the lookaside store
# (registries.d lookaside-staging, a file: URL) is accepted by cowpen pull-oci --verify=signature
# and by skopeo copy with a policy whose signedBy names the key's keyring; a signature by
# another key is refused by both; a key gpg cannot sign with fails with one line before anything
# is pushed. Against Debian's docker-registry with TLS and htpasswd auth, started here.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"
. "$TEST_SRCDIR/tests/lib/oci.sh"

start_registry
oci_layout
make_image_root
make_gpg_key "Cowpen Trusted"
TRUSTED_HOME=$GPG_HOME TRUSTED_KEYRING=$GPG_KEYRING TRUSTED_FPR=$GPG_FPR
make_gpg_key "Cowpen Other"
OTHER_HOME=$GPG_HOME OTHER_FPR=$GPG_FPR

SIGSTORE=$W/sigstore
mkdir -p "$W/registries.d"
printf 'default-docker:\n  lookaside: file://%s\n  lookaside-staging: file://%s\n' "$SIGSTORE" "$SIGSTORE" >"$W/registries.d/default.yaml"
export COWPEN_REGISTRIES_D=$W/registries.d
cat >"$W/policy.json" <<JSON
{"default": [{"type": "reject"}],
 "transports": {"docker": {
   "$REG/test": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "$TRUSTED_KEYRING"}]}}}
JSON

mkdir -p "$W/src/etc"
echo signed >"$W/src/etc/who"
must "$COWPEN" -q --image-root="$ROOT" import-fs "$W/src" tpl
push() { # HOME KEY NAME REF
  GNUPGHOME=$1 "$COWPEN" --image-root="$ROOT" --no-progress push-oci --credentials="$REG_AUTH" --sign-by="$2" "$3" "$4"
}
pull() { "$COWPEN" --image-root="$ROOT" --no-progress pull-oci --credentials="$REG_AUTH" --policy="$W/policy.json" "$@"; }
# (--remove-signatures: an OCI layout cannot hold them; the policy is still checked on the source.)
skopeo_verify() { # REPO:TAG → oci layout tag
  skopeo --registries.d "$W/registries.d" --policy "$W/policy.json" copy -q --remove-signatures --src-creds "$REG_USER:$REG_PASS" \
    --src-cert-dir "$REG_CERTS" "docker://$REG/$1" "oci:$LAYOUT:$2"
}

must push "$TRUSTED_HOME" "$TRUSTED_FPR" tpl "$REG/test/signed:1" >"$W/out"
sig=$(sed -n 's/^Signed by [^:]*: //p' "$W/out")
[ -s "$sig" ] || fail "no signature written: $(cat "$W/out")"
case $sig in "$SIGSTORE"/test/signed@sha256=*/signature-1) ;; *) fail "signature not where skopeo keeps them: $sig" ;; esac
# An OpenPGP signed message (not detached) whose payload is the simple-signing JSON.
GNUPGHOME=$TRUSTED_HOME gpg --batch --quiet --decrypt "$sig" 2>/dev/null >"$W/payload.json" || fail "not a signed message"
python3 - "$W/payload.json" "$REG/test/signed:1" "$(basename "$(dirname "$sig")" | sed 's/.*@sha256=/sha256:/')" <<'PY' || fail "payload: $(cat "$W/payload.json")"
import json, sys
p = json.load(open(sys.argv[1]))
c = p["critical"]
assert c["type"] == "atomic container signature", c
assert c["identity"]["docker-reference"] == sys.argv[2], c
assert c["image"]["docker-manifest-digest"] == sys.argv[3], c
PY
must pull --verify=signature "$REG/test/signed:1" signed >"$W/out"
grep -q "^Signed by key $TRUSTED_FPR" "$W/out" || fail "pull-oci did not check the signature: $(cat "$W/out")"
must treecmp --no-top "$ROOT/tpl" "$ROOT/signed"
skopeo_verify test/signed:1 signed || fail "skopeo refused the signature"
pass "signed by cowpen: pull-oci --verify=signature and skopeo copy with a signedBy policy accept it"

must push "$OTHER_HOME" "$OTHER_FPR" tpl "$REG/test/other:1" >/dev/null
must_fail 1 pull --verify=signature "$REG/test/other:1" victim
assert_one_line_error "^cowpen: pull-oci .*: no valid signature by a trusted key"
[ ! -e "$ROOT/victim" ] || fail "an image signed by another key became visible"
skopeo_verify test/other:1 other 2>"$W/skopeo.err" && fail "skopeo accepted a signature by another key"
grep -qi "signature" "$W/skopeo.err" || fail "skopeo refused for another reason: $(cat "$W/skopeo.err")"
pass "signed by another key: refused by pull-oci and by skopeo"

ERR=$(push "$TRUSTED_HOME" "NoSuchKey" tpl "$REG/test/nokey:1" 2>&1 >/dev/null) && fail "pushed with a key gpg does not have"
assert_one_line_error "^cowpen: push-oci tpl .*NoSuchKey: gpg could not sign"
curl -s -o /dev/null -w '%{http_code}' --cacert "$REG_CA" -u "$REG_USER:$REG_PASS" \
  "https://$REG/v2/test/nokey/manifests/1" | grep -q 404 || fail "a manifest was pushed although signing failed"
pass "a key gpg cannot sign with: one line ($ERR), nothing pushed"
