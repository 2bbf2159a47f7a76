#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A CI farm simulated on this machine, all inside the test's own network namespace: an origin
# registry and a pull-through cache in front of it (two Debian docker-registry, CNCF
# distribution 2.8, TLS with a CA made here, listening on 10.16.0.1 of a dummy link), and 8
# builder hosts as network namespaces behind veths, each with its own image root. A template
# built with umoci from the Debian rootfs fixture (three layers, one deleting a file) is pushed
# to the origin with skopeo; the 8 builders pull it through the cache at the same time
# (pull-oci --mirror=CACHE ORIGIN/…, certificates checked) and each runs a job in it with
# `run -x -M template` (the job checks the tree and writes its results to a bind mount).
# Checks:
#  - every builder's template is identical (treecmp) to umoci's unpack, every job passed;
#  - no builder talked to the origin; cowpen sent the cache GETs only, no HEAD of a blob;
#  - the origin served blobs only to the cache. "Exactly one GET per blob at the origin" is not
#    reachable with Debian's docker-registry 2.8 as the cache, whatever the client does (cowpen
#    sends no HEAD for blobs, one GET per blob per builder): its proxy fetches a blob it does not
#    hold twice from the origin (registry/proxy/proxyblobstore.go v2.8.2, ServeBlob: one GET in
#    the storeLocal goroutine that fills its store, one in copyContent that streams to the
#    client; the blob handler's Stat adds HEADs), and once more for each request arriving while
#    that blob is in flight (the "inflight" map only keeps a second fill from starting: such
#    requests are streamed from the origin), and a fill starts again when a request missed the
#    local store while a fill ran but that fill ended before the request looked at the map (in
#    between, tryEstablishChallenges makes a GET /v2/ round trip to the origin). The cache logs
#    "Adding new scheduler entry for REPO@DIGEST" after each fill. Upstream v3.0.0 serves and
#    stores over one fetch (17952924f "avoid redundant blob fetching") but still sends in-flight
#    requests to the origin. So, GETs and HEADs counted apart and reported with the fills: for
#    8 builders at once, per blob, 2 GETs per fill plus at most 1 per other builder's request;
#  - a second wave of 8 builders (fresh image roots) is served by the cache alone: the origin
#    serves no blob again;
#  - an updated template (new top layer and config on the same base), one builder first and the
#    other 7 at once once the cache holds it: exactly the one fill's 2 GETs per new blob, none
#    for the shared base, none for the 7;
#  - the cache that does meet "the origin serves each blob once": nginx as a caching TLS reverse
#    proxy of the origin (farm_nginx_cache: proxy_cache keyed on the URI of the content-addressed
#    blob URLs only, proxy_cache_lock so one request per URI goes upstream and the concurrent
#    ones wait for it, manifests passed through uncached). 8 builders at once, fresh image roots,
#    the cache empty: the origin's log shows exactly one GET per blob (config and each layer),
#    no HEAD, and only nginx asking; nginx logged one MISS per blob; every job ran. A blob's URL
#    names its digest, so the cached bytes cannot go stale, and cowpen checks each digest anyway.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"
. "$TEST_SRCDIR/tests/lib/net.sh"
. "$TEST_SRCDIR/tests/lib/oci.sh"
. "$TEST_SRCDIR/tests/lib/oci-farm.sh"

net_test_begin "$@"
oci_need_tools
N=8
rootfs_fixture
farm_net $N
farm_registries
oci_layout
farm_template "$ROOTFS_DIR" tpl
umoci_rootfs tpl "$T/ref"
blobs=$(farm_blobs)
# The builders' image roots: directories on one btrfs loop filesystem (snapshots for run -x, and
# gone in one umount), or in $T without btrfs.
FR=$T
if grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null; then
  make_loop_fs btrfs 8G
  FR=$LOOP_MNT
fi
[ "$(echo "$blobs" | wc -l)" -eq 4 ] || fail "the template should have a config and 3 layers: $blobs"
# What skopeo's push left in the origin's log is not the farm's doing.
farm_origin_mark

# wave W REF TEMPLATE FIRST LAST: builders FIRST…LAST pull REF through the cache (into fresh
# image roots) and run the job (which expects /etc/farm-template to say TEMPLATE), all at once.
wave() {
  local w=$1 ref=$2 tpl=$3 first=$4 last=$5 i pids=()
  for ((i = first; i <= last; i++)); do
    mkdir -p "$FR/w$w/b$i/images" "$FR/w$w/b$i/out"
    (
      r=$FR/w$w/b$i
      farm_in "$i" "$COWPEN" --image-root="$r/images" --no-progress pull-oci --tls-verify=yes \
        --mirror="${WAVE_CACHE:-$CACHE}" "$ref" template >"$r/pull.out" 2>&1 || exit 1
      farm_in "$i" "$COWPEN" --image-root="$r/images" -q run -x -M template -E BUILDER="b$i" -E TEMPLATE="$tpl" \
        --bind="$r/out:/out" /bin/sh -c "$FARM_JOB" >"$r/run.out" 2>&1 || exit 2
    ) &
    pids+=($!)
  done
  for ((i = first; i <= last; i++)); do
    local rc=0 r=$FR/w$w/b$i
    wait "${pids[i - first]}" || rc=$?
    [ $rc -eq 0 ] || fail "wave $w builder b$i: $([ $rc -eq 1 ] && cat "$r/pull.out" || cat "$r/run.out")"
  done
}

wave 1 "$FARM_REF" template-1 1 $N
dash_sum=$(cd "$T/ref/rootfs" && sha256sum usr/bin/dash | cut -d' ' -f1)
for ((i = 1; i <= N; i++)); do
  r=$FR/w1/b$i
  grep -q "from https://$CACHE " "$r/pull.out" || fail "b$i did not pull from the cache: $(cat "$r/pull.out")"
  grep -q "3 layers, 3 fetched" "$r/pull.out" || fail "b$i: $(cat "$r/pull.out")"
  must treecmp --no-top "$T/ref/rootfs" "$r/images/template"
  [ "$(cat "$r/out/done")" = "job done on b$i" ] || fail "b$i: the job did not finish: $(cat "$r/run.out")"
  [ "$(head -1 "$r/out/sums" | cut -d' ' -f1)" = "$dash_sum" ] || fail "b$i: the job saw another dash"
  [ "$(cat "$r/out/bin-count")" -eq "$(ls "$T/ref/rootfs/usr/bin" | wc -l)" ] || fail "b$i: the job saw another /usr/bin"
  [ ! -e "$r/images/template/etc/farm-removed" ] || fail "b$i: the deletion was not applied"
done
pass "8 builders pulled the template through the cache at once, trees identical to umoci's, 8 jobs ran with run -x"

# Who talked to whom.
! _farm_origin_log | grep -q 'cowpen/' || fail "a builder talked to the origin: $(_farm_origin_log | grep 'cowpen/' | head -3)"
grep -qE '"GET /v2/farm/template/blobs/sha256:[0-9a-f]+ [^"]*" 200 .*"cowpen/' "$CACHE_LOG" ||
  fail "the cache did not serve cowpen's blob requests"
! grep -E '"HEAD /v2/[^ ]*/blobs/[^"]*" [0-9]+ [0-9]+ "[^"]*" "cowpen/' "$CACHE_LOG" | grep -q . ||
  fail "cowpen sent HEAD requests for blobs: $(grep -E '"HEAD /v2/[^ ]*/blobs/' "$CACHE_LOG" | head -3)"
cowpen_gets=$(grep -cE '"GET /v2/farm/template/blobs/sha256:[0-9a-f]+ [^"]*" 200 .*"cowpen/' "$CACHE_LOG")
[ "$cowpen_gets" -eq $((4 * N)) ] || fail "cowpen sent $cowpen_gets blob GETs to the cache, not one per blob per builder ($((4 * N)))"
agents=$(farm_origin_agents)
[ -n "$agents" ] || fail "the origin served no blob at all (the cache is not in front?)"
pass "no builder talked to the origin; cowpen sent the cache exactly one GET per blob per builder ($cowpen_gets) and no HEAD; the origin's clients: $(echo $agents)"

counts1=$(farm_origin_counts)
log "origin blob requests after wave 1 (GET and HEAD counted apart):"
echo "$counts1" | sed 's/^/  /' >&2
# Each fill costs the origin 2 GETs; each request that came while a fill ran, 1 more.
while read -r b g h f; do
  g=${g#GET=} f=${f#FILLS=}
  [ "$f" -ge 1 ] && [ "$g" -ge $((2 * f)) ] && [ "$g" -le $((2 * f + N - f)) ] ||
    fail "origin GETs of $b: $g with $f fills of the cache, outside 2 per fill + at most 1 per other request"
done <<<"$counts1"
# The cache holds each blob once.
for b in $blobs; do
  hex=${b#sha256:}
  [ -f "$REG_DIR/cache/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data" ] || fail "the cache did not store $b"
done
pass "origin GETs per blob: $(echo "$counts1" | awk '{print $2 "/" $4}' | tr '\n' ' ')(2 per cache fill + 1 per request while one ran; no request from a builder)"

# A second wave: the cache alone serves it.
wave 2 "$FARM_REF" template-1 1 $N
for ((i = 1; i <= N; i++)); do
  must treecmp --no-top "$T/ref/rootfs" "$FR/w2/b$i/images/template"
  [ "$(cat "$FR/w2/b$i/out/done")" = "job done on b$i" ] || fail "wave 2 b$i: job did not finish"
done
counts2=$(farm_origin_counts)
[ "$counts2" = "$counts1" ] || fail "the origin served blobs again in wave 2: $(diff <(echo "$counts1") <(echo "$counts2"))"
pass "second wave of 8 builders: served by the cache alone, the origin served no blob again"

# An updated template (the same two base layers, a new top layer and config): one builder
# first, and once the cache has stored the new blobs, the other 7 at once. Each new blob is
# fetched from the origin by the one fill alone: exactly 2 GETs (distribution 2.8's serve +
# store), the shared base blobs not at all, and the 7 cause nothing at the origin.
farm_template_update tpl tpl2
umoci_rootfs tpl2 "$T/ref2"
REF2=$ORIGIN/farm/template:2
before=$(farm_origin_counts "$REF2")
new_blobs=$(comm -13 <(echo "$blobs" | sort) <(farm_blobs "$REF2" | sort))
[ "$(echo "$new_blobs" | wc -l)" -eq 2 ] || fail "template:2 should add a config and one layer: $new_blobs"
wave 3 "$REF2" template-2 1 1
grep -q "3 layers, 3 fetched" "$FR/w3/b1/pull.out" || fail "wave 3 b1: $(cat "$FR/w3/b1/pull.out")"
stored() { # every new blob committed in the cache's store and linked in the repository
  local b hex
  for b in $new_blobs; do
    hex=${b#sha256:}
    [ -f "$REG_DIR/cache/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data" ] || return 1
    [ -f "$REG_DIR/cache/storage/docker/registry/v2/repositories/farm/template/_layers/sha256/$hex/link" ] || return 1
  done
}
filled() { local b; for b in $new_blobs; do [ "$(farm_cache_fills "$b")" -eq 1 ] || return 1; done; }
wait_until 60 stored
wait_until 60 filled
mid=$(farm_origin_counts "$REF2")
wave 3 "$REF2" template-2 2 $N
after=$(farm_origin_counts "$REF2")
log "origin blob requests for template:2 (before, after b1, after the other 7):"
paste <(echo "$before") <(echo "$mid" | cut -d' ' -f2-) <(echo "$after" | cut -d' ' -f2-) | sed 's/^/  /' >&2
[ "$after" = "$mid" ] || fail "the 7 builders after the fill reached the origin: $(diff <(echo "$mid") <(echo "$after"))"
while read -r b g h f; do
  g0=$(echo "$before" | awk -v b="$b" '$1 == b {print $2}')
  f0=$(echo "$before" | awk -v b="$b" '$1 == b {print $4}')
  if echo "$new_blobs" | grep -q "$b"; then
    [ "${g#GET=}" -eq $((${g0#GET=} + 2)) ] && [ "$f" = FILLS=1 ] ||
      fail "new blob $b: $g $f after $g0 (not exactly one fill's 2 GETs)"
  else
    [ "$g" = "$g0" ] && [ "$f" = "$f0" ] || fail "shared blob $b fetched from the origin again: $g0 -> $g"
  fi
done <<<"$mid"
for ((i = 1; i <= N; i++)); do
  must treecmp --no-top "$T/ref2/rootfs" "$FR/w3/b$i/images/template"
  [ "$(cat "$FR/w3/b$i/out/done")" = "job done on b$i" ] || fail "wave 3 b$i: job did not finish"
done
pass "template:2 with the cache filled by one builder first: 2 origin GETs per new blob (the proxy's serve + store), none for the shared base, none for the other 7 builders"

# The cache that meets "the origin serves each blob once": nginx in front of the origin, caching
# the content-addressed blob URLs with proxy_cache_lock (one upstream fetch per URI; concurrent
# requests wait for it and are then served from the cache). 8 builders at once, fresh image
# roots, the nginx cache empty: the origin serves exactly one GET per blob (config and every
# layer) and no HEAD, all to nginx; no builder talks to the origin itself.
farm_nginx_cache
farm_origin_mark
WAVE_CACHE=$NCACHE wave 4 "$FARM_REF" template-1 1 $N
for ((i = 1; i <= N; i++)); do
  r=$FR/w4/b$i
  grep -q "from https://$NCACHE " "$r/pull.out" || fail "wave 4 b$i did not pull from the nginx cache: $(cat "$r/pull.out")"
  grep -q "3 layers, 3 fetched" "$r/pull.out" || fail "wave 4 b$i: $(cat "$r/pull.out")"
  must treecmp --no-top "$T/ref/rootfs" "$r/images/template"
  [ "$(cat "$r/out/done")" = "job done on b$i" ] || fail "wave 4 b$i: the job did not finish: $(cat "$r/run.out")"
done
! _farm_origin_log | grep -q 'cowpen/' || fail "a builder talked to the origin past nginx: $(_farm_origin_log | grep 'cowpen/' | head -3)"
ngets=$(grep -cE '^GET /v2/farm/template/blobs/sha256:[0-9a-f]{64} 200 .*"cowpen/' "$NCACHE_LOG" || true)
[ "$ngets" -eq $((4 * N)) ] || fail "cowpen sent $ngets blob GETs to the nginx cache, not $((4 * N)): $(grep /blobs/ "$NCACHE_LOG" | head)"
! grep -qE '^HEAD /v2/[^ ]*/blobs/' "$NCACHE_LOG" || fail "a client sent HEAD requests for blobs: $(grep -E '^HEAD ' "$NCACHE_LOG" | head -3)"
counts4=$(farm_origin_counts | cut -d' ' -f1-3)
log "origin blob requests while 8 builders at once pulled through the nginx cache:"
echo "$counts4" | sed 's/^/  /' >&2
while read -r b g h; do
  [ "$g" = GET=1 ] && [ "$h" = HEAD=0 ] || fail "the origin served $b as $g $h through the nginx cache, not exactly one GET"
  [ "$(grep -cE "^GET /v2/farm/template/blobs/$b 200 MISS " "$NCACHE_LOG")" -eq 1 ] ||
    fail "nginx did not fetch $b exactly once: $(grep -F "$b" "$NCACHE_LOG")"
done <<<"$counts4"
[ "$(_farm_origin_log | grep -E '"(GET|HEAD) /v2/[^ ]*/blobs/' | grep -vc '"farm-nginx-cache"$')" -eq 0 ] ||
  fail "someone but nginx asked the origin for blobs: $(farm_origin_agents)"
pass "8 builders at once through the nginx cache (proxy_cache_lock): the origin served each blob exactly once ($(echo "$counts4" | wc -l) GETs, no HEAD), 8 trees identical, 8 jobs ran; cache statuses of cowpen's blob GETs: $(grep -E '^GET /v2/[^ ]*/blobs/.*"cowpen/' "$NCACHE_LOG" | awk '{print $4}' | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"

