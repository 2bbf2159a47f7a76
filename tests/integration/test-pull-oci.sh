#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pull-oci against a real registry started here: Debian's docker-registry (CNCF distribution 2.8)
# on 127.0.0.1 with TLS (a CA made here, trusted through $COWPEN_CERTS_D) and htpasswd auth.
# umoci builds a multi-layer image (deletions, an opaque directory, a hardlink, a symlink) in an
# OCI layout and skopeo pushes it. Checks:
#  - the pulled tree is identical (treecmp) to umoci's unpack; NAME.oci.json is the image config;
#  - a second image on the same base (pushed zstd-compressed) fetches only its new layer (the
#    registry's access log shows no second GET of the base blob) and is identical to umoci's;
#  - a blob download cut halfway (a proxy closes the connection) resumes with a Range request;
#  - refused with one line, nothing visible and the layer store unchanged: a tampered blob
#    (digest mismatch), an image for another platform, hostile layers from the hostile-archive
#    corpus, whiteouts that point outside or through a symlink, wrong or missing credentials,
#    --verify=signature with a policy that has no signedBy (test-pull-oci-signature.sh has the rest);
#  - clean drops the chains only a removed image used and keeps the rest.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"
. "$TEST_SRCDIR/tests/lib/oci.sh"

start_registry
oci_layout
make_image_root
pull() { "$COWPEN" --image-root="$ROOT" --no-progress pull-oci --credentials="$REG_AUTH" "$@"; }
store() { oci_store_list "$ROOT"; }
visible() { ls -A "$ROOT" | grep -v '^\.#oci$' | sort | tr '\n' ' '; }

# ---- a multi-layer image ----
umoci_new base
umoci_edit base base '
  mkdir -p etc usr/bin var/lib/data opt/keep d/sub
  echo base >etc/hostname; echo gone >etc/gone; echo x >d/sub/f; echo y >d/keep
  echo data >var/lib/data/a; echo more >var/lib/data/b; echo kept >opt/keep/k
  printf "#!/bin/sh\necho hi\n" >usr/bin/hello; chmod 755 usr/bin/hello
  ln usr/bin/hello usr/bin/hello-hard; ln -s ../etc/hostname usr/bin/link
  chmod 1777 var/lib; chown 123:456 d/keep'
umoci_edit base mid 'rm etc/gone; rm -rf d/sub; echo changed >etc/hostname; echo app >usr/bin/app'
# An opaque directory: var/lib/data keeps only what this layer puts there.
python3 - "$OCI_WORK/opaque.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, data in (("var/lib/data/.wh..wh..opq", b""), ("var/lib/data/new", b"fresh\n"), ("opt/.wh.nothing", b"")):
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644; t.addfile(ti, io.BytesIO(data))
PY
umoci_add_layer mid app "$OCI_WORK/opaque.tar"
skopeo_push app test/app:1
umoci_rootfs app "$W/ref-app"
[ -e "$W/ref-app/rootfs/var/lib/data/new" ] && [ ! -e "$W/ref-app/rootfs/var/lib/data/a" ] ||
  fail "umoci did not apply the opaque layer as expected"

must pull "$REG/test/app:1" app >"$W/out"
grep -q "3 layers, 3 fetched" "$W/out" || fail "unexpected summary: $(cat "$W/out")"
must treecmp --no-top "$W/ref-app/rootfs" "$ROOT/app"
[ ! -e "$ROOT/app/etc/gone" ] && [ ! -e "$ROOT/app/var/lib/data/a" ] && [ -e "$ROOT/app/opt/keep/k" ] ||
  fail "whiteouts not applied"
python3 - "$ROOT/app.oci.json" <<'PY' || fail "app.oci.json is not the image config"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["os"] == "linux" and len(c["rootfs"]["diff_ids"]) == 3, c
PY
pass "multi-layer image with deletions and an opaque directory: identical to umoci unpack"

# ---- a second image on the same base: only its new layer is fetched ----
base_blobs=$(umoci stat --image "$LAYOUT:base" --json >/dev/null 2>&1; python3 - "$LAYOUT" base <<'PY'
import json, sys, os
lay, tag = sys.argv[1], sys.argv[2]
idx = json.load(open(os.path.join(lay, "index.json")))
m = [d for d in idx["manifests"] if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
man = json.load(open(os.path.join(lay, "blobs", *m["digest"].split(":"))))
print(" ".join(l["digest"] for l in man["layers"]))
PY
)
umoci_edit base other 'echo other >etc/other; rm -rf opt'
skopeo_push other test/other:1 --dest-compress-format zstd
umoci_rootfs other "$W/ref-other"
before_lines=$(wc -l <"$REG_LOG")
must "$COWPEN" --image-root="$ROOT" --json=short pull-oci --credentials="$REG_AUTH" "$REG/test/other:1" other >"$W/out" 2>"$W/progress"
grep -q "2 layers, 1 fetched" "$W/out" || fail "second image: $(cat "$W/out")"
# Progress events: JSON lines; the new (second) layer is unpacked, the shared base is not.
python3 - "$W/progress" <<'PY' || fail "progress events: $(cat "$W/progress")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["phase"] == "manifest" and ev[-1]["phase"] == "done", ev
unpacked = [e["layer"] for e in ev if e["phase"] == "unpack"]
assert unpacked == [2], unpacked
PY
must treecmp --no-top "$W/ref-other/rootfs" "$ROOT/other"
new_gets=$(tail -n +"$((before_lines + 1))" "$REG_LOG" | grep -E '"GET /v2/[^ ]*/blobs/sha256:' | grep -oE 'sha256:[0-9a-f]{64}' | sort -u)
[ "$(echo "$new_gets" | wc -l)" -eq 2 ] || fail "second pull fetched other than config + one layer: $new_gets"
# skopeo recompressed the base layer with zstd for this push: its base blob differs from the
# gzip one, but its diff_id (and ChainID) is the same, which is what the store is keyed by.
for b in $base_blobs; do
  ! echo "$new_gets" | grep -q "$b" || fail "base blob $b fetched again"
done
pass "second image on the same base: only config and its new layer fetched ($(echo $new_gets | wc -w) blobs), zstd layer, identical to umoci"

# ---- two pulls at once into one image root: the second waits for the store, both succeed ----
R5=$W/images5
mkdir -p "$R5"
"$COWPEN" --image-root="$R5" --no-progress pull-oci --credentials="$REG_AUTH" "$REG/test/app:1" app >"$W/c1.out" 2>&1 &
c1=$!
"$COWPEN" --image-root="$R5" --no-progress pull-oci --credentials="$REG_AUTH" "$REG/test/other:1" other >"$W/c2.out" 2>&1 &
c2=$!
wait $c1 || fail "concurrent pull 1: $(cat "$W/c1.out")"
wait $c2 || fail "concurrent pull 2: $(cat "$W/c2.out")"
must treecmp --no-top "$W/ref-app/rootfs" "$R5/app"
must treecmp --no-top "$W/ref-other/rootfs" "$R5/other"
pass "two pulls at once into one image root"

# ---- --mirror=: a pull-through cache (docker-registry in proxy mode) in front of an origin ----
start_cache_registry
must skopeo copy -q --dest-cert-dir "$REG_CERTS" "oci:$LAYOUT:app" "docker://$ORIGIN/test/app:1"
R2=$W/images2
mkdir -p "$R2"
must "$COWPEN" --image-root="$R2" --no-progress pull-oci --mirror=127.0.0.1:1 --mirror="$CACHE" "$ORIGIN/test/app:1" app >"$W/out"
grep -q "from https://$CACHE " "$W/out" || fail "not pulled from the cache: $(cat "$W/out")"
grep -q "mirror 127.0.0.1:1: .*trying the next" "$W/out" || fail "the dead mirror was not reported: $(cat "$W/out")"
must treecmp --no-top "$W/ref-app/rootfs" "$R2/app"
grep -q '"GET /v2/test/app/blobs/sha256:.*cowpen/' "$CACHE_LOG" || fail "the cache did not serve cowpen's blob requests"
! grep -q 'cowpen/' "$ORIGIN_LOG" || fail "cowpen talked to the origin despite the cache"
# Another image root through the cache: the origin serves no blob again. (The first time,
# distribution 2.8's proxy itself fetches each blob from the origin twice: once to serve, once
# to store.)
grep -qE '"GET /v2/[^ ]*/blobs/sha256:[0-9a-f]+ [^"]*" 200' "$ORIGIN_LOG" || fail "the origin served no blob at all (cache not in front?)"
origin_before=$(wc -l <"$ORIGIN_LOG")
R3=$W/images3
mkdir -p "$R3"
must "$COWPEN" --image-root="$R3" --no-progress pull-oci --mirror="$CACHE" "$ORIGIN/test/app:1" app >/dev/null
must treecmp --no-top "$W/ref-app/rootfs" "$R3/app"
! tail -n +"$((origin_before + 1))" "$ORIGIN_LOG" | grep -qE '"GET /v2/[^ ]*/blobs/' ||
  fail "the origin served blobs again: $(tail -n +"$((origin_before + 1))" "$ORIGIN_LOG" | grep blobs)"
pass "--mirror=: a dead mirror skipped, the pull-through cache served both image roots, the second without the origin"

# ---- a blob download cut halfway resumes with Range ----
umoci_edit base big 'head -c 3000000 /dev/urandom >big.bin'
skopeo_push big test/big:1
umoci_rootfs big "$W/ref-big"
big_layer=$(skopeo inspect --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERTS" "docker://$REG/test/big:1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"][-1])')
PROXY_LOG=$W/proxy.log
python3 "$TEST_SRCDIR/tests/lib/oci-proxy.py" "$REG" "$REG_CA" "$big_layer" 1000000 "$PROXY_LOG" "$W/proxy.port" &
ppid=$!
at_exit "kill $ppid 2>/dev/null"
for _ in $(seq 50); do [ -s "$W/proxy.port" ] && break; sleep 0.1; done
[ -s "$W/proxy.port" ] || fail "proxy did not start"
PROXY=127.0.0.1:$(cat "$W/proxy.port")
# Plain HTTP to the proxy: --tls-verify=no; the credentials file names the proxy's address.
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$PROXY" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" >"$W/proxy-auth.json"
must "$COWPEN" --image-root="$ROOT" --no-progress pull-oci --tls-verify=no --credentials="$W/proxy-auth.json" \
  "$PROXY/test/big:1" big >"$W/out"
grep -q "resumed" "$W/out" || fail "no resume reported: $(cat "$W/out")"
grep -qE "^GET /v2/test/big/blobs/$big_layer bytes=[0-9]+- 206$" "$PROXY_LOG" ||
  fail "no Range request for the cut blob: $(cat "$PROXY_LOG")"
must treecmp --no-top "$W/ref-big/rootfs" "$ROOT/big"
pass "cut blob download resumed with $(grep -oE 'bytes=[0-9]+-' "$PROXY_LOG" | head -1)"

# ---- a pull killed mid-download keeps its partial; the next pull resumes it ----
umoci_edit base big2 'head -c 3000000 /dev/urandom >big2.bin'
skopeo_push big2 test/big2:1
umoci_rootfs big2 "$W/ref-big2"
big2_layer=$(skopeo inspect --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERTS" "docker://$REG/test/big2:1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"][-1])')
PROXY_STALL=1 python3 "$TEST_SRCDIR/tests/lib/oci-proxy.py" "$REG" "$REG_CA" "$big2_layer" 1500000 "$W/stall.log" "$W/stall.port" &
spid=$!
at_exit "kill $spid 2>/dev/null"
for _ in $(seq 50); do [ -s "$W/stall.port" ] && break; sleep 0.1; done
[ -s "$W/stall.port" ] || fail "stalling proxy did not start"
STALL=127.0.0.1:$(cat "$W/stall.port")
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$STALL" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" >"$W/stall-auth.json"
partial=$ROOT/.#oci/blobs/${big2_layer#sha256:}.partial
"$COWPEN" --image-root="$ROOT" --no-progress pull-oci --tls-verify=no --credentials="$W/stall-auth.json" \
  "$STALL/test/big2:1" big2 >"$W/kill.out" 2>"$W/kill.err" &
cpid=$!
at_exit "kill -9 $cpid 2>/dev/null"
for _ in $(seq 300); do [ "$(stat -c %s "$partial" 2>/dev/null || echo 0)" -ge 1500000 ] && break; sleep 0.1; done
[ "$(stat -c %s "$partial" 2>/dev/null || echo 0)" -ge 1500000 ] || fail "the partial download did not reach 1500000 bytes"
kill -TERM $cpid
rc=0
wait $cpid || rc=$?
[ "$rc" -eq 1 ] || fail "interrupted pull exited $rc: $(cat "$W/kill.err")"
[ "$(wc -l <"$W/kill.err")" -eq 1 ] && grep -q "interrupted; nothing was published, partial downloads are kept" "$W/kill.err" ||
  fail "interrupted pull: $(cat "$W/kill.err")"
[ ! -e "$ROOT/big2" ] && [ -f "$partial" ] || fail "after the interruption: image visible or partial gone"
! ls -A "$ROOT" | grep -q '^\.#pull-oci' || fail "a temporary entry was left: $(ls -A "$ROOT")"
! ls -A "$ROOT/.#oci/chains" | grep -q '^\.tmp-' || fail "a temporary chain was left"
must "$COWPEN" --image-root="$ROOT" --no-progress pull-oci --tls-verify=no --credentials="$W/stall-auth.json" \
  "$STALL/test/big2:1" big2 >"$W/out"
grep -q "resumed" "$W/out" || fail "the second pull did not resume: $(cat "$W/out")"
grep -qE "^GET /v2/test/big2/blobs/$big2_layer bytes=1[0-9]{6}- 206$" "$W/stall.log" || fail "no Range request: $(cat "$W/stall.log")"
[ ! -e "$partial" ] || fail "partial left after the pull"
must treecmp --no-top "$W/ref-big2/rootfs" "$ROOT/big2"
pass "SIGTERM mid-download: one line, nothing published, partial kept; the next pull resumed it with $(grep -oE 'bytes=[0-9]+-' "$W/stall.log" | head -1)"

# ---- Bearer token auth (as Docker Hub and ghcr do it): the proxy plays such a registry ----
python3 "$TEST_SRCDIR/tests/lib/oci-proxy.py" "$REG" "$REG_CA" none 0 "$W/bearer.log" "$W/bearer.port" \
  "bearer:$REG_USER:$REG_PASS" &
bpid=$!
at_exit "kill $bpid 2>/dev/null"
for _ in $(seq 50); do [ -s "$W/bearer.port" ] && break; sleep 0.1; done
[ -s "$W/bearer.port" ] || fail "bearer proxy did not start"
BEARER=127.0.0.1:$(cat "$W/bearer.port")
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$BEARER" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" >"$W/bearer-auth.json"
R4=$W/images4
mkdir -p "$R4"
must "$COWPEN" --image-root="$R4" --no-progress pull-oci --tls-verify=no --credentials="$W/bearer-auth.json" \
  "$BEARER/test/app:1" app >/dev/null
must treecmp --no-top "$W/ref-app/rootfs" "$R4/app"
grep -q "^TOKEN /token?service=cowpen-test&scope=repository%3Atest%2Fapp%3Apull 200$" "$W/bearer.log" ||
  fail "no token request with service and scope: $(cat "$W/bearer.log")"
[ "$(grep -c '^TOKEN' "$W/bearer.log")" -eq 1 ] || fail "the token was not reused: $(grep '^TOKEN' "$W/bearer.log")"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$BEARER" "$(printf 'cowpen:wrong' | base64 -w0)" >"$W/bearer-bad.json"
must_fail 1 "$COWPEN" --image-root="$R4" --no-progress pull-oci --tls-verify=no --credentials="$W/bearer-bad.json" "$BEARER/test/app:1" app2
assert_one_line_error "^cowpen: pull-oci .*: token server refused the credentials \\(HTTP 401\\)"
[ ! -e "$R4/app2" ] || fail "app2 published"
pass "Bearer token from the realm with the credentials (service, scope), reused for every request; wrong ones refused"

# ---- refusals: one line, nothing visible, store unchanged ----
refuse() { # NAME REGEX ARGS…
  local name=$1 re=$2
  shift 2
  local s0 v0
  s0=$(store)
  v0=$(visible)
  must_fail 1 "$@"
  assert_one_line_error "$re"
  [ "$(store)" = "$s0" ] || fail "$name: store changed: $(diff <(echo "$s0") <(store))"
  [ "$(visible)" = "$v0" ] || fail "$name: image root changed: $(visible)"
  pass "$name: $ERR"
}

# A tampered blob in the registry's storage (same size, one byte changed).
umoci_edit base tamper 'echo tamper-me >tamper'
skopeo_push tamper test/tamper:1
t_layer=$(skopeo inspect --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERTS" "docker://$REG/test/tamper:1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"][-1])')
hex=${t_layer#sha256:}
data=$REG_STORAGE/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
[ -f "$data" ] || fail "blob not found in the registry storage: $data"
python3 - "$data" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xff; open(p, "wb").write(b)
PY
refuse "tampered layer" "^cowpen: pull-oci .*: $t_layer: digest mismatch" pull "$REG/test/tamper:1" tamper

# An image for another platform only.
umoci_edit base arm 'echo arm >arch'
must umoci config --image "$LAYOUT:arm" --architecture=arm64
skopeo_push arm test/arm:1
refuse "other platform" "^cowpen: pull-oci .*: the image is for linux/arm64, not linux/amd64" pull "$REG/test/arm:1" arm
must pull --arch=arm64 "$REG/test/arm:1" arm >/dev/null
[ -e "$ROOT/arm/arch" ] || fail "--arch=arm64 pull incomplete"
must "$COWPEN" --image-root="$ROOT" remove arm
pass "--arch=arm64 pulls the arm64 image"

# An image index: the host's platform is picked, --arch= picks another; an index without the
# host's platform is refused. Docker's v2 schema2 manifests work too.
oci_make_index multi app:linux/amd64 arm:linux/arm64
skopeo_push multi test/multi:1 --all
must pull "$REG/test/multi:1" multi >"$W/out"
grep -q "(linux/amd64, " "$W/out" || fail "index: $(cat "$W/out")"
must treecmp --no-top "$W/ref-app/rootfs" "$ROOT/multi"
must pull --arch=arm64 "$REG/test/multi:1" multi-arm >"$W/out"
grep -q "(linux/arm64, " "$W/out" && [ -e "$ROOT/multi-arm/arch" ] || fail "index --arch=arm64: $(cat "$W/out")"
must "$COWPEN" --image-root="$ROOT" remove multi multi-arm
oci_make_index armonly arm:linux/arm64
skopeo_push armonly test/armonly:1 --all
refuse "index without the host's platform" \
  "^cowpen: pull-oci .*: no manifest for linux/amd64 in the image index \\(it has: linux/arm64\\)" pull "$REG/test/armonly:1" armonly
skopeo_push app test/app-v2s2:1 --format v2s2
must pull "$REG/test/app-v2s2:1" app-v2s2 >/dev/null
must treecmp --no-top "$W/ref-app/rootfs" "$ROOT/app-v2s2"
must "$COWPEN" --image-root="$ROOT" remove app-v2s2
pass "image index (platform picked, --arch=), Docker v2 schema2 manifest"

# Hostile layers: cases of the hostile-archive corpus, each as the top layer of an image.
# Their base: one small layer (the cases assume an empty tree below them).
umoci_new hbase
umoci_edit hbase hbase 'echo marker >marker'
must python3 "$TEST_SRCDIR/tests/hostile/make-hostile.py" "$W/corpus" "$W/canary" >/dev/null
n=0
while IFS=$'\t' read -r name file opts regex; do
  case $name in
    absolute-path|dotdot-escape|symlink-then-write-through|symlink-absolute-then-write|hardlink-etc-passwd|\
    hardlink-to-directory|dir-replaced-by-symlink|control-characters|pax-path-dotdot|truncated-archive) ;;
    *) continue ;;
  esac
  umoci_add_layer hbase "h-$name" "$file"
  skopeo_push "h-$name" "test/hostile:$name"
  refuse "hostile layer $name" "^cowpen: pull-oci .*: sha256:[0-9a-f]{64}: $regex" pull "$REG/test/hostile:$name" victim
  n=$((n + 1))
done <"$W/corpus/manifest.tsv"
[ "$n" -ge 8 ] || fail "only $n hostile cases ran"
[ ! -e "$W/canary/victim" ] || fail "a hostile layer wrote outside"

# Whiteouts that point outside the tree or through a symlink.
python3 - "$OCI_WORK" <<'PY'
import io, sys, tarfile
def mk(path, entries):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            ti = tarfile.TarInfo(name)
            if kind == "sym":
                ti.type = tarfile.SYMTYPE; ti.linkname = arg; t.addfile(ti)
            else:
                ti.size = 0; t.addfile(ti, io.BytesIO(b""))
mk(sys.argv[1] + "/wh-dotdot.tar", [("../.wh.etc", "file", None)])
mk(sys.argv[1] + "/wh-symlink.tar", [("evil", "sym", "/etc"), ("evil/.wh.hostname", "file", None)])
mk(sys.argv[1] + "/wh-opq-symlink.tar", [("evil2", "sym", "../../.."), ("evil2/.wh..wh..opq", "file", None)])
PY
umoci_add_layer base wh-dotdot "$OCI_WORK/wh-dotdot.tar"
skopeo_push wh-dotdot test/wh:dotdot
refuse "whiteout with .." '^cowpen: pull-oci .*: entry "\.\./\.wh\.etc": path contains "\.\."' pull "$REG/test/wh:dotdot" victim
umoci_add_layer base wh-symlink "$OCI_WORK/wh-symlink.tar"
skopeo_push wh-symlink test/wh:symlink
refuse "whiteout through a symlink" '^cowpen: pull-oci .*: entry "evil/\.wh\.hostname": path leads through a symlink' \
  pull "$REG/test/wh:symlink" victim
umoci_add_layer base wh-opq "$OCI_WORK/wh-opq-symlink.tar"
skopeo_push wh-opq test/wh:opq
refuse "opaque whiteout through a symlink" '^cowpen: pull-oci .*: entry "evil2/\.wh\.\.wh\.\.opq": path leads through a symlink' \
  pull "$REG/test/wh:opq" victim

# Credentials.
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf 'cowpen:wrong' | base64 -w0)" >"$W/bad-auth.json"
refuse "wrong password" "^cowpen: pull-oci .*: registry refused the credentials" \
  "$COWPEN" --image-root="$ROOT" --no-progress pull-oci --credentials="$W/bad-auth.json" "$REG/test/app:1" victim
refuse "no credentials" "^cowpen: pull-oci .*: registry wants credentials" \
  env HOME="$W/nohome" XDG_RUNTIME_DIR="$W/nohome" "$COWPEN" --image-root="$ROOT" --no-progress pull-oci "$REG/test/app:1" victim
grep -q "$REG_PASS" "$REG_LOG" && fail "the password shows in the registry log"
# The CA is needed: without our certs.d the certificate is not trusted.
refuse "untrusted certificate" "^cowpen: pull-oci .*: .*TLS certificate not trusted" \
  env COWPEN_CERTS_D="$W/empty" "$COWPEN" --image-root="$ROOT" --no-progress pull-oci --credentials="$REG_AUTH" "$REG/test/app:1" victim
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$W/policy-any.json"
refuse "--verify=signature without signedBy" "^cowpen: pull-oci .*: --verify=signature, but the policy has no signedBy or sigstoreSigned requirement for it \\(scope default\\)" \
  pull --verify=signature --policy="$W/policy-any.json" "$REG/test/app:1" victim
refuse "existing image" "app" pull "$REG/test/app:1" app

# ---- clean: chains no image needs go, shared ones stay ----
other_top=$(tail -1 "$ROOT/.#oci/refs/other")
base_chain=$(head -1 "$ROOT/.#oci/refs/other")
app_chains=$(cat "$ROOT/.#oci/refs/app")
must "$COWPEN" --image-root="$ROOT" remove other
must "$COWPEN" --image-root="$ROOT" clean >"$W/clean.out" 2>&1
[ ! -e "$ROOT/.#oci/chains/$other_top" ] || fail "clean kept the chain only \"other\" used"
[ -d "$ROOT/.#oci/chains/$base_chain" ] || fail "clean removed the shared base chain"
for c in $app_chains; do [ -d "$ROOT/.#oci/chains/$c" ] || fail "clean removed chain $c of image app"; done
[ ! -e "$ROOT/.#oci/refs/other" ] || fail "clean kept the ref of a removed image"
grep -q "Removed .#oci/chains/$other_top" "$W/clean.out" || fail "clean did not report the chain: $(cat "$W/clean.out")"
# The base chain is still there: another pull of "other" fetches only its own layer again.
must pull "$REG/test/other:1" other >"$W/out"
grep -q "2 layers, 1 fetched" "$W/out" || fail "after clean: $(cat "$W/out")"
must treecmp --no-top "$W/ref-other/rootfs" "$ROOT/other"
pass "clean removed the one chain only \"other\" used and kept the shared base"

# ---- a full file system: one line naming it, nothing visible, no temporary left ----
umoci_edit base huge 'head -c 12000000 /dev/urandom >huge.bin'
skopeo_push huge test/huge:1
make_loop_fs ext4 8M
RS=$LOOP_MNT/images
mkdir -p "$RS"
must_fail 1 "$COWPEN" --image-root="$RS" --no-progress pull-oci --credentials="$REG_AUTH" "$REG/test/huge:1" huge
assert_one_line_error "^cowpen: pull-oci .*: no space left on $LOOP_MNT \\(ext4 on .*\\): pulling 2 new layers"
[ -z "$(ls -A "$RS" | grep -v '^\.#oci$')" ] || fail "full file system: image root holds $(ls -A "$RS")"
[ -z "$(ls -A "$RS/.#oci/chains")" ] || fail "full file system: chains left: $(ls -A "$RS/.#oci/chains")"
pass "full file system: $ERR"

# ---- on btrfs: chains are subvolumes, each a snapshot of its parent, the image a snapshot ----
if grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null; then
  make_loop_fs btrfs 1G
  RB=$LOOP_MNT/images
  mkdir -p "$RB"
  must "$COWPEN" --image-root="$RB" --no-progress pull-oci --credentials="$REG_AUTH" "$REG/test/app:1" app >/dev/null
  must "$COWPEN" --image-root="$RB" --no-progress pull-oci --credentials="$REG_AUTH" "$REG/test/other:1" other >/dev/null
  must treecmp --no-top "$W/ref-app/rootfs" "$RB/app"
  must treecmp --no-top "$W/ref-other/rootfs" "$RB/other"
  for c in $(cat "$RB/.#oci/refs/app"); do
    btrfs subvolume show "$RB/.#oci/chains/$c" >/dev/null 2>&1 || fail "chain $c is not a subvolume"
  done
  top=$(tail -1 "$RB/.#oci/refs/app")
  [ "$(btrfs subvolume show "$RB/app" | awk '/Parent UUID/ {print $3}')" = \
    "$(btrfs subvolume show "$RB/.#oci/chains/$top" | awk '/^[[:space:]]*UUID/ {print $2}')" ] ||
    fail "the image is not a snapshot of its top chain"
  pass "btrfs: chains are subvolumes, the image a snapshot of its top chain, trees identical to umoci"
else
  log "no btrfs in this kernel: the snapshot path is not checked here"
fi
