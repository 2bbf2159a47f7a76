#!/bin/bash
# bench/oci.sh [ROUNDS]: pull-oci of a multi-layer image (the Debian rootfs fixture split into 4
# layers with umoci, pushed with skopeo, gzip) from a local docker-registry (TLS, htpasswd), timed
# side by side, alternating order, ROUNDS rounds (default 5), against what a user would otherwise
# run: skopeo copy docker://… oci:LAYOUT followed by umoci unpack. Each round starts cold (empty
# layer store, empty OCI layout). Then, with the store warm, pull-oci of a second image that shares
# all but one (small) layer, against the first pull's time. All trees on one btrfs loop filesystem.
# Prints each round and the medians of the ratios (targets: pull-oci / skopeo+umoci <= 0.6;
# re-pull / first pull <= 0.2). Then the CI farm of tests/integration/test-oci-farm.sh, inside
# network namespaces of its own (net_test_enter, which needs what the network tests need; nothing
# in the host's namespace): an origin registry, a
# pull-through cache in front of it and 8 builder namespaces; a first wave of 8 builders at once
# fills the cache (the origin's GETs and HEADs per blob are printed), then FARM_ROUNDS rounds
# (default 3) time, with the cache warm, 8 builders at once each pulling the image into a fresh
# image root and running a job in it (pull-oci --mirror= + run -x -M) against 8 builders at once
# each running skopeo copy docker://CACHE/… oci:… + umoci unpack + run -x -D of the unpacked
# rootfs, and print the ratio of the waves' wall times. Last, the cache that meets "the origin
# serves each blob once" (distribution 2.8's proxy above cannot: 2 GETs per fill, 1 more per
# request during one): nginx with proxy_cache_lock on the blob URLs (farm_nginx_cache), empty, 8
# builders at once through it, timed, and the origin's GETs and HEADs per blob printed. Run as
# root from the source tree after building.
set -euo pipefail
TEST_SRCDIR=${TEST_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"
. "$TEST_SRCDIR/tests/lib/oci.sh"
. "$TEST_SRCDIR/tests/lib/net.sh"
. "$TEST_SRCDIR/tests/lib/oci-farm.sh"
. "$TEST_SRCDIR/bench/lib.sh"

net_test_enter "$@"
ROUNDS=${1:-5}
FARM_ROUNDS=${FARM_ROUNDS:-3}
FARM_N=8
[ -x "$COWPEN" ] || fail "build cowpen first ($COWPEN)"
rootfs_fixture
farm_net $FARM_N
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

# ---- the CI farm: 8 builders at once through a pull-through cache ----
start_cache_registry
must skopeo copy -q --src-creds "$REG_USER:$REG_PASS" --src-cert-dir "$REG_CERTS" --dest-cert-dir "$REG_CERTS" \
  "docker://$REG/bench/img:1" "docker://$ORIGIN/farm/template:1"
FARM_REF=$ORIGIN/farm/template:1
farm_origin_mark
cw remove img img2 2>/dev/null || true
cw clean >/dev/null
make_loop_fs btrfs 5G
FM=$LOOP_MNT
# shellcheck disable=SC2016
JOB='set -e; test -x /usr/bin/dash; sha256sum /usr/bin/dash >/out/sums; ls /usr/bin | wc -l >/out/n; echo done >/out/done'
# farm_wave cowpen|skopeo: the 8 builders at once; prints the wave's wall time (us).
farm_wave() {
  local kind=$1 i pids=() t0 t1 r
  rm -rf "$FM/w"
  for ((i = 1; i <= FARM_N; i++)); do mkdir -p "$FM/w/b$i/images" "$FM/w/b$i/out"; done
  sync
  t0=${EPOCHREALTIME/[.,]/}
  for ((i = 1; i <= FARM_N; i++)); do
    r=$FM/w/b$i
    if [ "$kind" = cowpen ]; then
      (farm_in "$i" "$COWPEN" --image-root="$r/images" -q --no-progress pull-oci --mirror="${WAVE_CACHE:-$CACHE}" "$FARM_REF" template &&
        farm_in "$i" "$COWPEN" --image-root="$r/images" -q run -x -M template --bind="$r/out:/out" /bin/sh -c "$JOB") \
        >"$r/log" 2>&1 &
    else
      (farm_in "$i" skopeo copy -q --src-cert-dir "$REG_CERTS" "docker://$CACHE/farm/template:1" "oci:$r/sk:template" &&
        umoci unpack --image "$r/sk:template" "$r/bundle" >/dev/null &&
        farm_in "$i" "$COWPEN" -q run -x -D "$r/bundle/rootfs" --bind="$r/out:/out" /bin/sh -c "$JOB") >"$r/log" 2>&1 &
    fi
    pids+=($!)
  done
  for ((i = 1; i <= FARM_N; i++)); do
    wait "${pids[i - 1]}" || fail "farm $kind builder b$i: $(tail -3 "$FM/w/b$i/log")"
  done
  t1=${EPOCHREALTIME/[.,]/}
  for ((i = 1; i <= FARM_N; i++)); do
    [ "$(cat "$FM/w/b$i/out/done" 2>/dev/null)" = done ] || fail "farm $kind builder b$i: the job did not finish"
  done
  echo $((t1 - t0))
}
# The first wave fills the cache; what the origin served for it.
farm_wave cowpen >/dev/null
counts=$(farm_origin_counts)
printf 'farm: origin blob requests while 8 builders at once filled the cache (GET and HEAD apart; FILLS: the cache'"'"'s fills; distribution 2.8: 2 GETs per fill, 1 per request during one):\n'
echo "$counts" | sed 's/^/  /'
printf 'farm: origin GETs/fills per blob: %s(config + %d layers)\n' "$(echo "$counts" | awk '{print $2 "/" $4}' | tr '\n' ' ')" "$(($(echo "$counts" | wc -l) - 1))"
farm_origin_mark
r_farm=()
for ((i = 0; i < FARM_ROUNDS; i++)); do
  if ((i % 2 == 0)); then
    tc=$(farm_wave cowpen)
    ts=$(farm_wave skopeo)
  else
    ts=$(farm_wave skopeo)
    tc=$(farm_wave cowpen)
  fi
  rm -rf "$FM/w"
  r_farm+=("$(ratio "$tc" "$ts")")
  printf 'farm round %d: 8 builders pull-oci + run -x -M %s, 8 builders skopeo copy + umoci unpack + run -x -D %s | ratio %s\n' \
    $((i + 1)) "$(ms "$tc")" "$(ms "$ts")" "${r_farm[-1]}"
done
again=$(farm_origin_counts | awk '{ sub("GET=", "", $2); n += $2 } END { print n + 0 }')
printf 'farm median: (8 x pull-oci + run) / (8 x skopeo copy + umoci unpack + run) %s; origin blob GETs during the timed rounds: %s\n' \
  "$(median "${r_farm[@]}")" "$again"

# The nginx cache (proxy_cache_lock): empty, 8 builders at once; the origin should serve each
# blob once.
farm_nginx_cache
farm_origin_mark
tn=$(WAVE_CACHE=$NCACHE farm_wave cowpen)
rm -rf "$FM/w"
ncounts=$(farm_origin_counts | cut -d' ' -f1-3)
printf 'farm, nginx cache (proxy_cache_lock), empty: 8 builders at once pull-oci + run -x -M %s; origin blob requests:\n' "$(ms "$tn")"
echo "$ncounts" | sed 's/^/  /'
printf 'farm, nginx cache: origin GETs per blob: %s(config + %d layers; the docker-registry cache above: 2 per fill + 1 per request during one)\n' \
  "$(echo "$ncounts" | awk '{print $2}' | tr '\n' ' ')" "$(($(echo "$ncounts" | wc -l) - 1))"

