#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pull-oci --verify=signature against sigstore key signatures attached in the registry, with a
# containers-policy.json sigstoreSigned requirement (keyPath, and keyData): a signed image pulls
# and its provenance records verification "signature" and the signer, the SHA-256 fingerprint of
# the DER public key; a signature by another key, an unsigned image and a signature for another
# image digest are refused with one line, nothing visible, the layer store unchanged.
#
# Debian's skopeo 1.9 cannot make these ("creating signature: Debian-local change: sigstore
# disabled"), so the test attaches them as containers/image and cosign do: a manifest tagged
# sha256-HEX.sig (HEX: the image manifest's digest) in the image's repository, whose layer
# (application/vnd.dev.cosign.simplesigning.v1+json) is the simple-signing payload and whose
# annotation dev.cosignproject.cosign/signature is the base64 ECDSA P-256/SHA-256 signature of
# it (openssl dgst -sha256 -sign), uploaded with the registry's blob and manifest API.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"
. "$TEST_SRCDIR/tests/lib/oci.sh"

start_registry
oci_layout
make_image_root
make_temp_dir
K=$TEMP_DIR

# make_sigstore_key NAME: $K/NAME.pem (private), $K/NAME.pub (PEM public key) and $K/NAME.fpr
# (sha256 of the DER public key, hex).
make_sigstore_key() {
  must openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/$1.pem"
  must openssl pkey -in "$K/$1.pem" -pubout -out "$K/$1.pub"
  openssl pkey -pubin -in "$K/$1.pub" -outform DER | sha256sum | cut -d' ' -f1 >"$K/$1.fpr"
}
make_sigstore_key trusted
make_sigstore_key other

# sigstore_attach KEY REPO TAG [DIGEST_REPO]: signs REPO:TAG's manifest digest (or, with
# DIGEST_REPO, that repository's TAG's digest: a signature for another image) with KEY and
# attaches it to REPO as sha256-HEX.sig of REPO:TAG's digest.
sigstore_attach() {
  python3 - "$REG" "$REG_USER:$REG_PASS" "$REG_CA" "$K/$1.pem" "$2" "$3" "${4:-$2}" <<'PY' || fail "attaching a sigstore signature to $2:$3"
import base64, hashlib, json, ssl, subprocess, sys, urllib.request
reg, creds, ca, key, repo, tag, drepo = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
auth = "Basic " + base64.b64encode(creds.encode()).decode()
ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
def req(method, url, body=None, headers={}):
    r = urllib.request.Request(url if url.startswith("https:") else f"https://{reg}{url}", data=body, method=method,
                               headers={"Authorization": auth, **headers})
    return urllib.request.urlopen(r, context=ctx)
def digest_of(repo):
    return "sha256:" + hashlib.sha256(req("GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT}).read()).hexdigest()
def put_blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = req("POST", f"/v2/{repo}/blobs/uploads/", b"").headers["Location"]
    loc = loc if loc.startswith("https:") else f"https://{reg}{loc}"
    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d, data, {"Content-Type": "application/octet-stream"})
    return {"digest": d, "size": len(data)}
target, signed = digest_of(repo), digest_of(drepo)
payload = json.dumps({"critical": {"identity": {"docker-reference": f"{reg}/{drepo}:{tag}"},
                                   "image": {"docker-manifest-digest": signed},
                                   "type": "cosign container image signature"}, "optional": None}).encode()
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=payload, capture_output=True, check=True).stdout
layer = put_blob(payload)
config = put_blob(json.dumps({"architecture": "", "os": "", "config": {},
                              "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", **layer,
                        "annotations": {"dev.cosignproject.cosign/signature": base64.b64encode(sig).decode()}}]}
req("PUT", f"/v2/{repo}/manifests/sha256-{target[7:]}.sig", json.dumps(manifest).encode(),
    {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
PY
}

mkdir -p "$W/registries.d"
export COWPEN_REGISTRIES_D=$W/registries.d # no lookaside store: sigstore needs none
cat >"$W/policy.json" <<JSON
{"default": [{"type": "reject"}],
 "transports": {"docker": {
   "$REG/test": [{"type": "sigstoreSigned", "keyPath": "$K/trusted.pub"}],
   "$REG/data": [{"type": "sigstoreSigned", "keyData": "$(base64 -w0 "$K/trusted.pub")",
                  "signedIdentity": {"type": "matchRepository"}}]}}}
JSON

umoci_new base
umoci_edit base signed 'echo signed >who'
umoci_edit base unsigned 'echo unsigned >who'
umoci_edit base other 'echo other >who'
skopeo_push signed test/signed:1
skopeo_push signed data/signed:1
skopeo_push unsigned test/unsigned:1
skopeo_push other test/other:1
sigstore_attach trusted test/signed 1
sigstore_attach trusted data/signed 1
sigstore_attach other test/other 1
umoci_rootfs signed "$W/ref-signed"
TRUSTED_FPR=$(cat "$K/trusted.fpr")
skopeo list-tags --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERTS" "docker://$REG/test/signed" | grep -q '"sha256-[0-9a-f]*\.sig"' ||
  fail "no sigstore signature attached to $REG/test/signed"

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
grep -q "^Signed by key $TRUSTED_FPR" "$W/out" || fail "no fingerprint $TRUSTED_FPR: $(cat "$W/out")"
grep -q "sigstore signature (policy scope $REG/test)" "$W/out" || fail "no signature in the summary: $(cat "$W/out")"
must treecmp --no-top "$W/ref-signed/rootfs" "$ROOT/signed"
"$COWPEN" --image-root="$ROOT" image-status signed --json=short >"$W/status.json" || fail "image-status signed: $(cat "$W/status.json")"
python3 - "$W/status.json" "$REG/test/signed:1" "$TRUSTED_FPR" <<'PY' || fail "provenance of the signed pull: $(cat "$W/status.json")"
import json, re, sys
p = json.load(open(sys.argv[1]))["provenance"]
assert p["source"].startswith(sys.argv[2] + "@sha256:"), p
assert re.fullmatch("[0-9a-f]{64}", p["sha256"]) and p["source"].endswith(p["sha256"]), p
assert p["verification"] == "signature" and p["signer"].lower() == sys.argv[3], p  # recorded in upper case, as GPG fingerprints are
PY
pass "sigstore-signed image pulled with --verify=signature (key $TRUSTED_FPR), its provenance recorded"
# keyData (base64 of the PEM) and matchRepository; without --verify= the policy asks for it.
must pull "$REG/data/signed:1" data >"$W/out"
grep -q "^Signed by key $TRUSTED_FPR" "$W/out" || fail "keyData: no fingerprint: $(cat "$W/out")"
pass "keyData policy: the policy alone asks for the sigstore signature"

refuse "other key" "^cowpen: pull-oci .*: no valid signature by a trusted key \\(1 checked; last: signature not made by a key of the policy\\)" \
  pull --verify=signature "$REG/test/other:1" victim
refuse "unsigned" "^cowpen: pull-oci .*: the image is not signed \\(no sigstore signature" \
  pull --verify=signature "$REG/test/unsigned:1" victim
refuse "policy requires the signature" "^cowpen: pull-oci .*: the image is not signed" pull "$REG/test/unsigned:1" victim
# The trusted signature of test/signed's digest attached to test/unsigned: the payload names the
# other manifest.
sigstore_attach trusted test/unsigned 1 test/signed
sdigest=$(skopeo inspect --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERTS" "docker://$REG/test/signed:1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')
refuse "signature of another image" "^cowpen: pull-oci .*: no valid signature by a trusted key \\(1 checked; last: signature is for another manifest \\($sdigest\\)" \
  pull --verify=signature "$REG/test/unsigned:1" victim
# Policies cowpen cannot honour fully are refused, not half-applied.
bad_policy() { # NAME REQUIREMENT REGEX
  printf '{"default": [%s]}\n' "$2" >"$W/bad.json"
  refuse "$1" "$3" "$COWPEN" --image-root="$ROOT" --no-progress pull-oci --credentials="$REG_AUTH" \
    --policy="$W/bad.json" --verify=signature "$REG/test/signed:1" victim
}
bad_policy "policy with fulcio" '{"type": "sigstoreSigned", "fulcio": {}, "keyPath": "/x"}' \
  "^cowpen: pull-oci .*: default: policy: sigstoreSigned fulcio is not supported"
bad_policy "relative keyPath" '{"type": "sigstoreSigned", "keyPath": "k.pub"}' "keyPath is not absolute"
bad_policy "no key" '{"type": "sigstoreSigned"}' "sigstoreSigned needs keyPath, keyPaths or keyData"
bad_policy "two signature requirements" \
  "{\"type\": \"sigstoreSigned\", \"keyPath\": \"$K/trusted.pub\"}, {\"type\": \"sigstoreSigned\", \"keyPath\": \"$K/other.pub\"}" \
  "more than one signedBy or sigstoreSigned requirement is not supported"
echo "not a key" >"$K/junk.pub"
bad_policy "a key that is not one" "{\"type\": \"sigstoreSigned\", \"keyPath\": \"$K/junk.pub\"}" \
  "junk.pub: policy: sigstoreSigned key is not a PEM public key"
bad_policy "keyData that is not a key" '{"type": "sigstoreSigned", "keyData": "bm90IGEga2V5"}' \
  "keyData is not a PEM public key"
[ -z "$(ls -A "$W/registries.d")" ] || fail "registries.d changed"
