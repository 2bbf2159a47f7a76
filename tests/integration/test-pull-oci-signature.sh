#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pull-oci --verify=signature against images skopeo 1.9 signed with --sign-by (GPG "simple
# signing", signatures in a file: lookaside store configured in registries.d), with a
# containers-policy.json signedBy requirement: a signed image pulls (the key's fingerprint is
# printed); an unsigned image, one signed by another key, a signature copied onto another image
# and a policy that rejects are refused with one line, nothing visible, the layer store
# unchanged. Without --verify= the policy decides.
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
mkdir -p "$SIGSTORE" "$W/registries.d"
printf 'default-docker:\n  lookaside: file://%s\n  lookaside-staging: file://%s\n' "$SIGSTORE" "$SIGSTORE" >"$W/registries.d/default.yaml"
export COWPEN_REGISTRIES_D=$W/registries.d
cat >"$W/policy.json" <<JSON
{"default": [{"type": "reject"}],
 "transports": {"docker": {
   "$REG/test": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "$TRUSTED_KEYRING"}],
   "$REG/open": [{"type": "insecureAcceptAnything"}]}}}
JSON

sign_push() { # HOME FPR TAG DEST
  GNUPGHOME=$1 must skopeo --registries.d "$W/registries.d" copy -q --sign-by "$2" --dest-creds "$REG_USER:$REG_PASS" \
    --dest-cert-dir "$REG_CERTS" "oci:$LAYOUT:$3" "docker://$REG/$4"
}
umoci_new base
umoci_edit base signed 'echo signed >who'
umoci_edit base unsigned 'echo unsigned >who'
umoci_edit base other 'echo other >who'
sign_push "$TRUSTED_HOME" "$TRUSTED_FPR" signed test/signed:1
skopeo_push unsigned test/unsigned:1
sign_push "$OTHER_HOME" "$OTHER_FPR" other test/other:1
skopeo_push unsigned open/unsigned:1
umoci_rootfs signed "$W/ref-signed"
[ -n "$(find "$SIGSTORE" -name 'signature-1')" ] || fail "skopeo wrote no signature into $SIGSTORE"

pull() { "$COWPEN" --image-root="$ROOT" --no-progress pull-oci --credentials="$REG_AUTH" --policy="$W/policy.json" "$@"; }
store() { oci_store_list "$ROOT"; }
visible() { ls -A "$ROOT" | grep -v '^\.#oci$' | sort | tr '\n' ' '; }
refuse() { # NAME REGEX ARGS…
  local name=$1 re=$2 s0 v0
  shift 2
  s0=$(store)
  v0=$(visible)
  must_fail 1 "$@"
  assert_one_line_error "$re"
  [ "$(store)" = "$s0" ] || fail "$name: store changed"
  [ "$(visible)" = "$v0" ] || fail "$name: image root changed: $(visible)"
  pass "$name: $ERR"
}

must pull --verify=signature "$REG/test/signed:1" signed >"$W/out"
grep -q "^Signed by key $TRUSTED_FPR" "$W/out" || fail "no fingerprint: $(cat "$W/out")"
grep -q "signature (policy scope $REG/test)" "$W/out" || fail "no signature in the summary: $(cat "$W/out")"
must treecmp --no-top "$W/ref-signed/rootfs" "$ROOT/signed"
# Its provenance: the reference pinned to the manifest, its digest, signature and signer.
"$COWPEN" --image-root="$ROOT" image-status signed --json=short > "$W/status.json" || fail "image-status signed: $(cat "$W/status.json")"
python3 - "$W/status.json" "$REG/test/signed:1" "$TRUSTED_FPR" <<'PY' || fail "provenance of the signed pull: $(cat "$W/status.json")"
import json, re, sys
p = json.load(open(sys.argv[1]))["provenance"]
assert p["source"].startswith(sys.argv[2] + "@sha256:"), p
assert re.fullmatch("[0-9a-f]{64}", p["sha256"]) and p["source"].endswith(p["sha256"]), p
assert p["verification"] == "signature" and p["signer"].upper().endswith(sys.argv[3].upper()[-16:]), p
PY
pass "signed image pulled with --verify=signature (key $TRUSTED_FPR), its provenance recorded"

refuse "unsigned" "^cowpen: pull-oci .*: the image is not signed \\(no signature in the lookaside store file://" \
  pull --verify=signature "$REG/test/unsigned:1" victim
refuse "other key" "^cowpen: pull-oci .*: no valid signature by a trusted key \\(1 checked; last: .*not in the keyring" \
  pull --verify=signature "$REG/test/other:1" victim
# The policy decides without --verify=: test/ needs a signature, open/ does not, the rest is rejected.
refuse "policy requires a signature" "^cowpen: pull-oci .*: the image is not signed" pull "$REG/test/unsigned:1" victim
must pull "$REG/open/unsigned:1" open >/dev/null
refuse "policy rejects" "^cowpen: pull-oci .*: the policy rejects this image \\(scope default\\)" pull "$REG/elsewhere/x:1" victim
refuse "--verify=signature where the policy accepts anything" \
  "^cowpen: pull-oci .*: --verify=signature, but the policy has no signedBy or sigstoreSigned requirement for it" \
  pull --verify=signature "$REG/open/unsigned:1" victim
# A valid signature of one image copied to another image's digest: the payload names the first.
signed_dir=$(find "$SIGSTORE" -type d -name 'signed@sha256=*')
udigest=$(skopeo inspect --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERTS" "docker://$REG/test/unsigned:1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')
mkdir -p "$SIGSTORE/test/unsigned@sha256=${udigest#sha256:}"
cp "$signed_dir/signature-1" "$SIGSTORE/test/unsigned@sha256=${udigest#sha256:}/"
refuse "signature of another image" "^cowpen: pull-oci .*: no valid signature by a trusted key \\(1 checked; last: signature is for another manifest" \
  pull --verify=signature "$REG/test/unsigned:1" victim
# --verify=digest overrides the policy.
must pull --verify=digest "$REG/test/unsigned:1" unsigned >/dev/null
pass "--verify=digest overrides the policy"
