#!/bin/bash
# Provenance records (NAME.provenance in the image root): a pull-tar verified by a signed
# SHA256SUMS shows its URL, SHA-256 and signer in image-status (JSON and text); clone adds the
# parent and method and keeps the rest, rename carries the record, update adds the generation,
# remove takes it along; import-tar (of an exported tar too: its old record is not carried),
# import-fs and import-raw (root hash from the .roothash sidecar) record where they read from;
# a record planted inside the tree (files, xattrs on the top directory, written by a container)
# is ignored, and a malformed record file is reported and ignored. list-images --json is as before.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"

command -v busybox >/dev/null || fail "busybox missing (scripts/install-deps.sh installs busybox-static)"
start_nginx
make_gpg_key
make_image_root
C=("$COWPEN" --image-root="$ROOT")

# A small OS tree that can run a shell.
S=$W/src
mkdir -p "$S/etc" "$S/usr/bin"
printf 'ID=small\nNAME="Small"\n' >"$S/etc/os-release"
cp "$(command -v busybox)" "$S/usr/bin/busybox"
for a in sh printf mkdir cat true; do ln -s busybox "$S/usr/bin/$a"; done
ln -s usr/bin "$S/bin"
d=$NGINX_ROOT/pub/small
mkdir -p "$d"
tar --numeric-owner -C "$S" -czf "$d/small.tar.gz" .
sum=$(sha256sum "$d/small.tar.gz" | cut -c1-64)
(cd "$d" && sha256sum small.tar.gz >SHA256SUMS)
gpg_sign --detach-sign -o "$d/SHA256SUMS.gpg" "$d/SHA256SUMS"
URL=$NGINX_URL/pub/small/small.tar.gz

# prov NAME KEY: the provenance value of KEY in image-status --json ("None" for null).
prov() { "${C[@]}" image-status "$1" --json=short | python3 -c "import json,sys; print(json.load(sys.stdin)['provenance']['$2'])"; }

must "${C[@]}" -q pull-tar --keyring="$GPG_KEYRING" "$URL" small >/dev/null
"${C[@]}" image-status small --json=short | python3 -c '
import json, sys
p = json.load(sys.stdin)["provenance"]
url, sha, fpr = sys.argv[1:4]
assert sorted(p) == sorted(["source", "sha256", "verification", "signer", "parent", "clone_method", "generation", "root_hash"]), p
assert p["source"] == url and p["sha256"] == sha and p["verification"] == "signature" and p["signer"] == fpr, p
assert p["parent"] is None and p["clone_method"] is None and p["generation"] is None and p["root_hash"] is None, p
' "$URL" "$sum" "$GPG_FPR" || fail "provenance of a signed pull: $("${C[@]}" image-status small --json=short)"
out=$("${C[@]}" image-status small)
grep -q "Source: $URL" <<<"$out" && grep -q "SHA256: $sum" <<<"$out" && grep -q "Signer: $GPG_FPR" <<<"$out" &&
  grep -q "Verified: signature" <<<"$out" || fail "image-status text lacks the provenance: $out"
"${C[@]}" list-images --json=short | python3 -c '
import json, sys
for i in json.load(sys.stdin):
    assert sorted(i) == sorted(["name", "type", "path", "read_only", "usage", "created", "modified"]), i
' || fail "list-images --json changed"
pass "a signed pull records URL, SHA-256 and signer"

# clone: parent and method added, where it came from kept; rename carries the record.
must "${C[@]}" -q clone small c1
[ "$(prov c1 parent)" = small ] || fail "clone: parent $(prov c1 parent)"
[ "$(prov c1 clone_method)" = copy ] || [ "$(prov c1 clone_method)" = "reflink copy" ] ||
  fail "clone: method $(prov c1 clone_method)"
[ "$(prov c1 source)" = "$URL" ] && [ "$(prov c1 signer)" = "$GPG_FPR" ] && [ "$(prov c1 sha256)" = "$sum" ] ||
  fail "clone lost where the image came from"
[ "$(prov small parent)" = None ] || fail "clone changed the source's record"
must "${C[@]}" -q rename c1 c2
[ ! -e "$ROOT/c1.provenance" ] && [ -f "$ROOT/c2.provenance" ] || fail "rename did not carry the record: $(ls -A "$ROOT")"
[ "$(prov c2 parent)" = small ] && [ "$(prov c2 source)" = "$URL" ] || fail "rename: record after it: $(prov c2 parent)"
pass "clone adds parent and method, rename carries the record"

# Planted inside the tree: files of every name one might think of, xattrs on the top directory
# (trusted.* as a container's root without a user namespace could set it, user.* as anyone
# could), and a writable container writing the record's name at its root.
forged=$'cowpen-provenance 1\nsource=https://evil.invalid/x\nverification=signature\nsigner=0000000000000000000000000000000000000000\n'
for f in .cowpen-provenance c2.provenance provenance .provenance; do printf '%s' "$forged" >"$ROOT/c2/$f"; done
setfattr -n trusted.cowpen.provenance -v "$forged" "$ROOT/c2"
setfattr -n user.cowpen.provenance -v "$forged" "$ROOT/c2"
must "${C[@]}" run -M c2 /bin/sh -c "printf '%s' '$forged' >/c2.provenance; mkdir -p /var/lib/machines; printf '%s' '$forged' >/var/lib/machines/c2.provenance"
[ "$(prov c2 source)" = "$URL" ] && [ "$(prov c2 signer)" = "$GPG_FPR" ] || fail "a record planted in the tree was believed"
pass "records planted inside the image are ignored"

# update: the generation is recorded by cowpen after the command, whatever the command wrote.
must "${C[@]}" -q update c2 -- /bin/sh -c "printf '%s' '$forged' >/.cowpen-provenance"
[ "$(prov c2 generation)" = 1 ] && [ "$(prov c2 source)" = "$URL" ] && [ "$(prov c2 parent)" = small ] ||
  fail "update: record after it: $("${C[@]}" image-status c2 --json=short)"
"${C[@]}" image-status c2 | grep -q "Generation: 1" || fail "image-status text lacks the generation"
must "${C[@]}" -q remove c2
[ -z "$(ls -A "$ROOT" | grep c2 || true)" ] || fail "remove left: $(ls -A "$ROOT" | grep c2)"
pass "update records the generation, remove takes the record and the generations along"

# import-tar of an exported tar: the file is the source, its SHA-256 what was read; the exported
# image's own record does not travel (a tar's word about itself is untrusted).
must "${C[@]}" -q export-tar small "$W/exported.tar"
must "${C[@]}" -q import-tar "$W/exported.tar" imp
[ "$(prov imp source)" = "$W/exported.tar" ] && [ "$(prov imp sha256)" = "$(sha256sum "$W/exported.tar" | cut -c1-64)" ] &&
  [ "$(prov imp verification)" = none ] && [ "$(prov imp signer)" = None ] || fail "import-tar: $("${C[@]}" image-status imp --json=short)"
# From stdin there is no file to name and nothing to read twice.
must "${C[@]}" -q import-tar - imp2 <"$W/exported.tar"
[ "$(prov imp2 source)" = None ] && [ "$(prov imp2 sha256)" = None ] || fail "import-tar from stdin: $(prov imp2 source)"
must "${C[@]}" -q import-fs "$S" fsimg
[ "$(prov fsimg source)" = "$S" ] && [ "$(prov fsimg sha256)" = None ] || fail "import-fs: $(prov fsimg source)"
# A raw image: the root hash of its .roothash sidecar.
truncate -s 1M "$W/rawimg.raw"
rh=$(printf 'r' | sha256sum | cut -c1-64)
printf '%s\n' "$rh" >"$W/rawimg.roothash"
must "${C[@]}" -q import-raw "$W/rawimg.raw"
[ "$(prov rawimg root_hash)" = "$rh" ] && [ "$(prov rawimg sha256)" = "$(sha256sum "$W/rawimg.raw" | cut -c1-64)" ] ||
  fail "import-raw: $("${C[@]}" image-status rawimg --json=short)"
pass "import-tar, import-fs and import-raw record where they read from"

# A malformed record is said to be so, and shown as none.
printf 'cowpen-provenance 1\nsource=a\nsource=b\n' >"$ROOT/fsimg.provenance"
out=$("${C[@]}" image-status fsimg --json=short 2>"$W/err") || fail "image-status of a malformed record failed"
grep -q "provenance record fsimg.provenance is unreadable" "$W/err" || fail "no warning: $(cat "$W/err")"
python3 -c 'import json,sys; p=json.loads(sys.argv[1])["provenance"]; assert all(v is None for v in p.values()), p' "$out" ||
  fail "a malformed record was shown: $out"
pass "a malformed record is ignored with a warning"
