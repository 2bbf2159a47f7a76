#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# push-oci against a real registry started here: Debian's docker-registry (CNCF distribution 2.8)
# on 127.0.0.1 with TLS (a CA made here) and htpasswd auth. Checks:
#  - a template with special files (hardlinks, devices, a fifo, setuid/setgid, a file capability,
#    xattrs, ACLs, owners, mtimes, a sparse file) pushed by cowpen, copied by skopeo to an OCI
#    layout and unpacked by umoci, is identical (treecmp) to the template; the layer is gzip;
#  - a pushed-then-pulled round trip (cowpen pull-oci) is identical, for gzip and zstd layers;
#  - a second push of the same image uploads no blob (the registry's log shows HEADs only);
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
