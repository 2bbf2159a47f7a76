#!/bin/bash
# bench/spawn.sh: cowpen run against systemd-nspawn and bubblewrap on the same trees, side by side
# in one run, alternating, ROUNDS rounds (default 7), medians, ratios cowpen/other.
#   1. run -D ROOT /bin/true                (start-up cost of a container), against nspawn and
#      against `bwrap --bind ROOT / --proc /proc --dev /dev --unshare-all /bin/true`; cowpen with
#      its system-call filter (compiled once, then from the cache), without it ($COWPEN_SECCOMP=0),
#      and building it every time ($COWPEN_SECCOMP_CACHE=no)
#   2. run -x -D ROOT /bin/true, 200 MB tree (throw-away copy on ext4: overlayfs vs nspawn's copy)
#   3. the same on a 1 GB tree (the 200 MB tree padded with a big file): cowpen should stay flat
# The reference nspawn runs as the lead prescribes for a host without systemd as PID 1:
#   unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn --register=no --keep-unit …'
# Usage: bench/spawn.sh [ROUNDS]   (as root; COWPEN=path to the binary, default build/cowpen;
#        LOOP_BACKING=DIR for the loop file, default /dev/shm: needs ~3 GB of memory)
. "$(dirname "$0")/../tests/lib/lib.sh"

ROUNDS=${1:-7}
[ "$ROUNDS" -ge 5 ] || fail "use at least 5 rounds"
command -v systemd-nspawn >/dev/null || fail "systemd-nspawn missing (scripts/packages/spawn.txt: systemd-container)"
command -v bwrap >/dev/null || fail "bwrap missing (scripts/packages/spawn.txt: bubblewrap)"
[ -x "$COWPEN" ] || fail "no cowpen binary at $COWPEN (meson compile -C build)"
rootfs_fixture
# The loop file on tmpfs (as the other benches): the host disk's writeback stays out of the figures.
export LOOP_BACKING=${LOOP_BACKING:-/dev/shm}
make_loop_fs ext4 4G
T=$LOOP_MNT/trees
mkdir -p "$T"
log "preparing a 200 MB and a 1 GB tree on ext4 ($LOOP_DEV)…"
cp -a "$ROOTFS_DIR" "$T/small"
cp -a "$ROOTFS_DIR" "$T/big"
small_mb=$(du -sm "$T/small" | cut -f1)
head -c $(((1024 - small_mb) << 20)) /dev/urandom >"$T/big/var/pad"
big_mb=$(du -sm "$T/big" | cut -f1)
sync

bwrap_true() { bwrap --bind "$1" / --proc /proc --dev /dev --unshare-all /bin/true; }
nofilter() { COWPEN_SECCOMP=0 "$COWPEN" "$@"; }
coldfilter() { COWPEN_SECCOMP_CACHE=no "$COWPEN" "$@"; }

# What run maps: the shared objects of a running `cowpen run`.
"$COWPEN" run -D "$T/small" --console=pipe /bin/sleep 3 </dev/null >/dev/null 2>&1 &
cp_pid=$!
sleep 1
libs=$(awk '$6 ~ /\.so/ {print $6}' "/proc/$cp_pid/maps" | sort -u)
n_libs=$(printf '%s\n' "$libs" | grep -c . || true)
wait $cp_pid || true

declare -A t
cases=(true true-nofilter true-cold true-bwrap true-nofilter-bwrap x-small x-big)
for c in "${cases[@]}"; do t[cowpen-$c]=""; t[nspawn-$c]=""; done
# one warm-up of each, not counted (the first run compiles the filter into the cache)
time_us "$COWPEN" run -D "$T/small" /bin/true >/dev/null
time_us nspawn -D "$T/small" /bin/true >/dev/null
time_us bwrap_true "$T/small" >/dev/null

# Each case is measured on its own, cowpen and nspawn alternating (who goes first alternates too),
# with a sync outside the timed part so that one run's writeback never lands in the next one.
measure() { # measure CASE COWPEN-ARGS… -- NSPAWN-ARGS…  ($cowpen: how to call cowpen, $other: the reference)
  local c=$1 i who
  local cmd=${cowpen:-$COWPEN} ref=${other:-nspawn}
  shift
  local -a ca=() na=()
  while [ "$1" != -- ]; do ca+=("$1"); shift; done
  shift
  na=("$@")
  for ((i = 1; i <= ROUNDS; i++)); do
    for who in $( ((i % 2)) && echo "cowpen nspawn" || echo "nspawn cowpen"); do
      sync
      if [ "$who" = cowpen ]; then
        t[cowpen-$c]+=" $(time_us $cmd run "${ca[@]}")"
      else
        t[nspawn-$c]+=" $(time_us $ref "${na[@]}")"
      fi
    done
  done
}
log "run -D ROOT /bin/true, $((3 * ROUNDS)) rounds"
ROUNDS=$((3 * ROUNDS)) measure true -D "$T/small" /bin/true -- -D "$T/small" /bin/true
log "run -D ROOT /bin/true without the filter, and building it every time, $((3 * ROUNDS)) rounds"
cowpen=nofilter ROUNDS=$((3 * ROUNDS)) measure true-nofilter -D "$T/small" /bin/true -- -D "$T/small" /bin/true
cowpen=coldfilter ROUNDS=$((3 * ROUNDS)) measure true-cold -D "$T/small" /bin/true -- -D "$T/small" /bin/true
log "run -D ROOT /bin/true against bwrap, $((3 * ROUNDS)) rounds"
other=bwrap_true ROUNDS=$((3 * ROUNDS)) measure true-bwrap -D "$T/small" /bin/true -- "$T/small"
cowpen=nofilter other=bwrap_true ROUNDS=$((3 * ROUNDS)) measure true-nofilter-bwrap -D "$T/small" /bin/true -- "$T/small"
log "run -x, ${small_mb} MB, $ROUNDS rounds"
measure x-small -x -D "$T/small" /bin/true -- -x -D "$T/small" /bin/true
log "run -x, ${big_mb} MB, $ROUNDS rounds"
measure x-big -x -D "$T/big" /bin/true -- -x -D "$T/big" /bin/true

printf '\n%-44s %12s %14s %10s\n' "medians" cowpen reference ratio
declare -A med
for c in "${cases[@]}"; do
  # shellcheck disable=SC2086
  med[cowpen-$c]=$(median ${t[cowpen-$c]})
  # shellcheck disable=SC2086
  med[nspawn-$c]=$(median ${t[nspawn-$c]})
done
label() {
  case $1 in
    true) echo "run -D ROOT /bin/true / nspawn" ;;
    true-nofilter) echo "  without the filter / nspawn" ;;
    true-cold) echo "  filter built every time / nspawn" ;;
    true-bwrap) echo "run -D ROOT /bin/true / bwrap" ;;
    true-nofilter-bwrap) echo "  without the filter / bwrap" ;;
    x-small) echo "run -x, ${small_mb} MB tree (ext4) / nspawn" ;;
    x-big) echo "run -x, ${big_mb} MB tree (ext4) / nspawn" ;;
  esac
}
for c in "${cases[@]}"; do
  printf '%-44s %12s %14s %10s\n' "$(label "$c")" "$(ms "${med[cowpen-$c]}")" "$(ms "${med[nspawn-$c]}")" \
    "$(ratio "${med[cowpen-$c]}" "${med[nspawn-$c]}")"
done
printf '\nthe filter costs %s of a run (with the cache), %s (built every time)\n' \
  "$(ratio "${med[cowpen-true]}" "${med[cowpen-true-nofilter]}")" "$(ratio "${med[cowpen-true-cold]}" "${med[cowpen-true-nofilter]}")"
printf 'run maps %s shared objects: %s\n' "$n_libs" "$(printf '%s\n' "$libs" | xargs -n1 basename | tr '\n' ' ')"
printf '\ncowpen -x %s MB / %s MB: %s   (nspawn: %s)\n' "$big_mb" "$small_mb" \
  "$(ratio "${med[cowpen-x-big]}" "${med[cowpen-x-small]}")" "$(ratio "${med[nspawn-x-big]}" "${med[nspawn-x-small]}")"
printf 'targets: run /bin/true <= 0.15 of nspawn and <= 1.5 of bwrap, run -x <= 0.05, cowpen -x flat from 200 MB to 1 GB\n'
