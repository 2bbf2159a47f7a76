#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# push-oci against a real registry started here: Debian's docker-registry (CNCF distribution 2.8)
# on 127.0.0.1 with TLS (a CA made here) and htpasswd auth. Checks:
#  - a template with special files (hardlinks, devices, a fifo, setuid/setgid, a file capability,
#    xattrs, ACLs, owners, mtimes, a sparse file) and the Debian rootfs fixture, pushed by cowpen,
#    copied by skopeo to an OCI layout and unpacked by umoci, are identical (treecmp) to the
#    templates; the layer is gzip; --json=short gives upload progress events;
#  - a pushed-then-pulled round trip (cowpen pull-oci) is identical, for gzip and zstd layers;
#  - a second push of the same image uploads no blob (the registry's log shows HEADs only);
#  - a changed clone of a pulled image (files added, changed, deleted) is pushed to another
#    repository as the base layers, mounted from the one pulled from (the log shows no upload of
#    them), plus one layer of only the changes with whiteouts; umoci and pull-oci give its tree;
#    to a registry without the base, the whole tree goes as one layer;
#  - an upload cut between chunks (a proxy closes the connection) resumes from the registry's
#    Range; one cut mid-chunk, which distribution then refuses to resume, starts again;
#  - errors are one line: no such image, refused credentials, a digest as the target.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"
. "$TEST_SRCDIR/tests/lib/oci.sh"

start_registry
oci_layout
make_image_root
push() { "$COWPEN" --image-root="$ROOT" --no-progress push-oci --credentials="$REG_AUTH" "$@"; }
pull() { "$COWPEN" --image-root="$ROOT" --no-progress pull-oci --credentials="$REG_AUTH" "$@"; }
skopeo_get() { must skopeo copy -q --src-creds "$REG_USER:$REG_PASS" --src-cert-dir "$REG_CERTS" "docker://$REG/$1" "oci:$LAYOUT:$2"; }
uploads() { grep -cE '"(POST|PATCH|PUT) /v2/[^ ]*/blobs/' "$REG_LOG" || true; }

# ---- a template with special files ----
make_special_tree "$W/src"
rm -f "$W/src/var/sock" # tar cannot hold sockets
must "$COWPEN" -q --image-root="$ROOT" import-fs "$W/src" tpl
must push tpl "$REG/test/tpl:1" >"$W/out"
grep -q "1 layer, 1 uploaded" "$W/out" || fail "unexpected summary: $(cat "$W/out")"
skopeo_get test/tpl:1 tpl
must skopeo inspect --raw --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERTS" "docker://$REG/test/tpl:1" >"$W/manifest.json"
grep -q 'application/vnd.oci.image.layer.v1.tar+gzip' "$W/manifest.json" || fail "layer is not gzip: $(cat "$W/manifest.json")"
umoci_rootfs tpl "$W/umoci-tpl"
# umoci writes sparse files out in full: that one is compared by contents.
must treecmp --no-top --ignore=usr/lib/sparse "$ROOT/tpl" "$W/umoci-tpl/rootfs"
must cmp "$ROOT/tpl/usr/lib/sparse" "$W/umoci-tpl/rootfs/usr/lib/sparse"
pass "a template pushed by cowpen: skopeo copy + umoci unpack give the same tree"

# The Debian rootfs fixture (a real OS tree), with --json=short progress events.
rootfs_fixture
must "$COWPEN" -q --image-root="$ROOT" import-fs "$ROOTFS_DIR" deb
must "$COWPEN" --image-root="$ROOT" --json=short push-oci --credentials="$REG_AUTH" deb "$REG/test/deb:12" \
  >/dev/null 2>"$W/events"
python3 - "$W/events" <<'PY' || fail "progress events: $(head -c 2000 "$W/events")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
up = [e for e in ev if e["phase"] == "upload" and e["layer"] == 1]
assert up and up[-1]["bytes"] == up[-1]["total"] > 0, up[-3:]
assert ev[-1]["phase"] == "done", ev[-1]
PY
skopeo_get test/deb:12 deb
umoci_rootfs deb "$W/umoci-deb"
must treecmp --no-top "$ROOT/deb" "$W/umoci-deb/rootfs"
rm -rf "$W/umoci-deb"
pass "the Debian rootfs pushed by cowpen: identical through skopeo copy + umoci unpack; JSON progress events"

# ---- the round trip, and a push of what the registry has ----
must pull "$REG/test/tpl:1" back >/dev/null
must treecmp --no-top "$ROOT/tpl" "$ROOT/back"
before=$(uploads)
must push tpl "$REG/test/tpl:2" >"$W/out"
grep -q "1 layer, 0 uploaded" "$W/out" || fail "unexpected summary: $(cat "$W/out")"
[ "$(uploads)" = "$before" ] || fail "the second push uploaded blobs again"
pass "pushed-then-pulled round trip identical; a second push sends no blob (HEADs only)"

must push --format=zstd tpl "$REG/test/tpl:zstd" >/dev/null
must skopeo inspect --raw --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERTS" "docker://$REG/test/tpl:zstd" >"$W/manifest.json"
grep -q 'application/vnd.oci.image.layer.v1.tar+zstd' "$W/manifest.json" || fail "layer is not zstd"
must pull "$REG/test/tpl:zstd" back-zstd >/dev/null
must treecmp --no-top "$ROOT/tpl" "$ROOT/back-zstd"
pass "--format=zstd: a zstd layer, and the round trip is identical"

# ---- a changed clone of a pulled image: the base layers plus one layer of the changes ----
umoci_new base
umoci_edit base base '
  mkdir -p etc usr/bin var/lib/data opt/keep
  echo base >etc/hostname; echo gone >etc/gone; echo x >var/lib/data/a
  head -c 200000 /dev/urandom >usr/bin/big; ln usr/bin/big usr/bin/big-link
  echo kept >opt/keep/k; ln -s ../etc/hostname usr/bin/link'
umoci_edit base base2 'echo second >etc/motd; rm -rf var/lib/data'
skopeo_push base2 test/base:1
must pull "$REG/test/base:1" pulled >/dev/null
must "$COWPEN" -q --image-root="$ROOT" clone pulled derived
[ -e "$ROOT/derived.oci.json" ] || fail "the clone has no image config sidecar"
# Added, changed, deleted (a file, a directory with contents), a new hardlink to an unchanged file.
mkdir -p "$ROOT/derived/srv/new"
echo added >"$ROOT/derived/srv/new/file"
echo changed >"$ROOT/derived/etc/hostname"
rm "$ROOT/derived/etc/gone"
rm -rf "$ROOT/derived/opt/keep"
setfattr -n user.note -v "changed xattr" "$ROOT/derived/etc/motd"
base_blobs=$(skopeo inspect --raw --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERTS" "docker://$REG/test/base:1" |
  python3 -c 'import json,sys; print(" ".join(l["digest"] for l in json.load(sys.stdin)["layers"]))')
[ "$(echo $base_blobs | wc -w)" = 2 ] || fail "the base image should have 2 layers: $base_blobs"
log_lines=$(wc -l <"$REG_LOG")
must push derived "$REG/test/derived:1" >"$W/out"
grep -q "Base: 2 layers of the pulled image.*2 mounted.*new layer: the changes, 2 deletions" "$W/out" ||
  fail "not pushed as base plus changes: $(cat "$W/out")"
grep -q "3 layers, 1 uploaded" "$W/out" || fail "unexpected summary: $(cat "$W/out")"
tail -n +$((log_lines + 1)) "$REG_LOG" >"$W/push.log"
for b in $base_blobs; do
  grep -E '"(PATCH|PUT) ' "$W/push.log" | grep -q "$b" && fail "base blob $b was uploaded again"
  grep -E '"POST /v2/test/derived/blobs/uploads/\?mount='"$b"'&from=test(%2F|/)base ' "$W/push.log" >/dev/null ||
    fail "base blob $b was not mounted: $(grep -E '"(HEAD|POST|PATCH|PUT) ' "$W/push.log" | cut -c1-200)"
done
skopeo_get test/derived:1 derived
umoci_rootfs derived "$W/umoci-derived"
must treecmp --no-top "$ROOT/derived" "$W/umoci-derived/rootfs"
python3 - "$LAYOUT" derived <<'PY' || fail "the new layer is not only the changes"
import gzip, io, json, os, sys, tarfile
lay, tag = sys.argv[1], sys.argv[2]
idx = json.load(open(os.path.join(lay, "index.json")))
d = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
blob = lambda dg: open(os.path.join(lay, "blobs", "sha256", dg.split(":")[1]), "rb").read()
man = json.loads(blob(d["digest"]))
top = tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(man["layers"][-1]["digest"]))))
names = sorted(n.lstrip("./") for n in top.getnames() if n not in (".", "./"))
want = ["etc", "etc/.wh.gone", "etc/hostname", "etc/motd", "opt", "opt/.wh.keep", "srv", "srv/new", "srv/new/file"]
assert names == want, names
PY
must pull "$REG/test/derived:1" derived-back >/dev/null
must treecmp --no-top "$ROOT/derived" "$ROOT/derived-back"
pass "a changed clone of a pulled image: base layers mounted (no upload), one new layer of the changes with whiteouts; identical through umoci and pull-oci"

# To another registry, which has not the base and cannot mount it: the whole tree as one layer.
_registry_serve "$REG_DIR/other" open
OTHER=$SERVED
must "$COWPEN" --image-root="$ROOT" --no-progress push-oci derived "$OTHER/test/derived:1" >"$W/out"
grep -q "cannot be mounted.*pushing the whole tree as one layer" "$W/out" && grep -q "1 layer, 1 uploaded" "$W/out" ||
  fail "no fallback to one layer: $(cat "$W/out")"
must pull "$OTHER/test/derived:1" derived-other >/dev/null
must treecmp --no-top "$ROOT/derived" "$ROOT/derived-other"
pass "to a registry without the base: the whole tree as one layer, identical when pulled"

# ---- an upload cut off mid-PATCH: resumed where the registry's Range says, or restarted ----
mkdir -p "$W/big"
head -c 3000000 /dev/urandom >"$W/big/blob"
must "$COWPEN" -q --image-root="$ROOT" import-fs "$W/big" big
# proxy_push NTH CUT N: push big as test/bigN through a proxy that cuts the NTH PATCH after CUT bytes.
proxy_push() {
  local nth=$1 cut=$2 tag=$3 pid
  PROXY_LOG=$W/proxy-$tag.log
  rm -f "$W/proxy.port"
  python3 "$TEST_SRCDIR/tests/lib/oci-upload-proxy.py" "$REG" "$REG_CA" "$nth" "$cut" "$PROXY_LOG" "$W/proxy.port" &
  pid=$!
  at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
  for _ in $(seq 50); do [ -s "$W/proxy.port" ] && break; sleep 0.1; done
  [ -s "$W/proxy.port" ] || fail "proxy did not start"
  PROXY=127.0.0.1:$(cat "$W/proxy.port")
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$PROXY" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" >"$W/proxy-auth.json"
  COWPEN_OCI_UPLOAD_CHUNK=1000000 "$COWPEN" --image-root="$ROOT" --no-progress push-oci --tls-verify=no \
    --credentials="$W/proxy-auth.json" big "$PROXY/test/big$tag:1" >"$W/out" ||
    fail "push through the proxy: $(cat "$W/out" "$PROXY_LOG")"
  kill $pid 2>/dev/null
  wait $pid 2>/dev/null || true
  must pull "$REG/test/big$tag:1" "big-$tag" >/dev/null
  must treecmp --no-top "$ROOT/big" "$ROOT/big-$tag"
}
# The second PATCH cut before anything of it reached the registry: the upload status says the
# first chunk is there, and only the rest is sent.
proxy_push 2 0 1
grep -q "1 uploaded.*resumed" "$W/out" || fail "no resumed upload: $(cat "$W/out" "$PROXY_LOG")"
grep -A1 " CUT$" "$PROXY_LOG" | tail -1 | grep -q "^GET /v2/test/big1/blobs/uploads/.* - 204$" ||
  fail "no upload status asked after the cut: $(cat "$PROXY_LOG")"
grep -A2 " CUT$" "$PROXY_LOG" | tail -1 | grep -q "^PATCH .* 1000000-1999999 202$" ||
  fail "the upload did not go on from the registry's Range: $(cat "$PROXY_LOG")"
[ "$(grep -c '^PATCH .* 0-999999 ' "$PROXY_LOG")" = 1 ] || fail "the first chunk was sent twice"
pass "an upload cut between chunks resumed from the registry's Range; the image pulls back identical"
# Half of the first PATCH reached the registry: distribution then refuses the upload's status
# (its state and file disagree), and the upload starts again.
proxy_push 1 500000 2
grep -q "1 uploaded.*restarted" "$W/out" || fail "no restarted upload: $(cat "$W/out" "$PROXY_LOG")"
grep -A2 " CUT$" "$PROXY_LOG" | tail -2 | tr '\n' ' ' | grep -qE "^GET /v2/test/big2/blobs/uploads/.* 404 POST " ||
  fail "no new upload after the registry lost the old one: $(cat "$PROXY_LOG")"
pass "an upload the registry lost after a cut is started again; the image pulls back identical"

# ---- errors: one line ----
must_fail push nosuch "$REG/test/x:1"
assert_one_line_error 'nosuch.*no such image'
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf 'cowpen:wrong' | base64 -w0)" >"$W/bad-auth.json"
must_fail "$COWPEN" --image-root="$ROOT" --no-progress push-oci --credentials="$W/bad-auth.json" tpl "$REG/test/x:1"
assert_one_line_error 'refused the credentials'
must_fail push tpl "$REG/test/x@sha256:$(printf '%064d' 0)"
assert_one_line_error 'tag, not a digest'
pass "errors: one line each"
