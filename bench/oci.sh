#!/bin/bash
# bench/oci.sh [ROUNDS]: pull-oci of a multi-layer image (the Debian rootfs fixture split into 4
# layers with umoci, pushed with skopeo, gzip) from a local docker-registry (TLS, htpasswd), timed
# side by side, alternating order, ROUNDS rounds (default 5), against what a user would otherwise
# run: skopeo copy docker://… oci:LAYOUT followed by umoci unpack. Each round starts cold (empty
# layer store, empty OCI layout). Then, with the store warm, pull-oci of a second image that shares
# all but one (small) layer, against the first pull's time. All trees on one btrfs loop filesystem.
# Prints each round and the medians of the ratios (targets: pull-oci / skopeo+umoci <= 0.6;
# re-pull / first pull <= 0.2). Run as root from the source tree after building.
set -euo pipefail
TEST_SRCDIR=${TEST_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"
. "$TEST_SRCDIR/tests/lib/oci.sh"
. "$TEST_SRCDIR/bench/lib.sh"

ROUNDS=${1:-5}
[ -x "$COWPEN" ] || fail "build cowpen first ($COWPEN)"
rootfs_fixture
start_registry
make_loop_fs btrfs 4G
MNT=$LOOP_MNT
LAYOUT=$MNT/layout
OCI_WORK=$MNT
must umoci init --layout "$LAYOUT"

# The image: usr/lib, usr/share, the rest of the rootfs, and a small last layer.
umoci_new base
SRC=$ROOTFS_DIR umoci_edit base l1 'mkdir -p usr && cp -a "$SRC/usr/lib" usr/'
SRC=$ROOTFS_DIR umoci_edit l1 l2 'cp -a "$SRC/usr/share" usr/'
SRC=$ROOTFS_DIR umoci_edit l2 l3 'for e in "$SRC"/* "$SRC"/usr/*; do r=${e#"$SRC"/}; [ -e "$r" ] || cp -a "$e" "$r"; done'
umoci_edit l3 img 'echo v1 >etc/app-version; mkdir -p opt/app; head -c 1000000 /dev/urandom >opt/app/data'
umoci_edit l3 img2 'echo v2 >etc/app-version; mkdir -p opt/app; head -c 1000000 /dev/urandom >opt/app/data'
skopeo_push img bench/img:1
skopeo_push img2 bench/img:2
rm -rf "$LAYOUT"
log "image: $(skopeo inspect --creds "$REG_USER:$REG_PASS" --cert-dir "$REG_CERTS" "docker://$REG/bench/img:1" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Layers"]))') layers"

CR=$MNT/cowpen
mkdir -p "$CR"
cw() { "$COWPEN" --image-root="$CR" -q --no-progress "$@"; }
run_cowpen() { time_us "$COWPEN" --image-root="$CR" -q --no-progress pull-oci --credentials="$REG_AUTH" "$REG/bench/img:1" img; }
cold() { cw remove img img2 2>/dev/null || true; cw clean >/dev/null; }
run_skopeo() {
  local t0 t1
  rm -rf "$MNT/sk" "$MNT/bundle"
  t0=${EPOCHREALTIME/[.,]/}
  skopeo copy -q --src-creds "$REG_USER:$REG_PASS" --src-cert-dir "$REG_CERTS" "docker://$REG/bench/img:1" "oci:$MNT/sk:img" ||
    fail "skopeo copy"
  umoci unpack --image "$MNT/sk:img" "$MNT/bundle" >/dev/null || fail "umoci unpack"
  t1=${EPOCHREALTIME/[.,]/}
  echo $((t1 - t0))
  rm -rf "$MNT/sk" "$MNT/bundle"
}
run_repull() { time_us "$COWPEN" --image-root="$CR" -q --no-progress pull-oci --credentials="$REG_AUTH" "$REG/bench/img:2" img2; }

# The trees agree before anything is timed.
cold
run_cowpen >/dev/null
skopeo copy -q --src-creds "$REG_USER:$REG_PASS" --src-cert-dir "$REG_CERTS" "docker://$REG/bench/img:1" "oci:$MNT/sk:img"
umoci unpack --image "$MNT/sk:img" "$MNT/bundle" >/dev/null
must treecmp --no-top "$MNT/bundle/rootfs" "$CR/img" >/dev/null
rm -rf "$MNT/sk" "$MNT/bundle"

r_first=() r_re=()
for ((i = 0; i < ROUNDS; i++)); do
  cold
  sync
  if ((i % 2 == 0)); then
    tc=$(run_cowpen)
    ts=$(run_skopeo)
  else
    ts=$(run_skopeo)
    cold
    tc=$(run_cowpen)
  fi
  tr=$(run_repull)
  r_first+=("$(ratio "$tc" "$ts")")
  r_re+=("$(ratio "$tr" "$tc")")
  printf 'round %d: pull-oci %s, skopeo copy + umoci unpack %s, re-pull (all but one layer cached) %s | pull-oci/skopeo+umoci %s, re-pull/pull %s\n' \
    $((i + 1)) "$(ms "$tc")" "$(ms "$ts")" "$(ms "$tr")" "${r_first[-1]}" "${r_re[-1]}"
done
printf 'median: pull-oci / (skopeo copy + umoci unpack) %s (target <= 0.6); re-pull / first pull %s (target <= 0.2)\n' \
  "$(median "${r_first[@]}")" "$(median "${r_re[@]}")"
