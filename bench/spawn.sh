#!/bin/bash
# bench/spawn.sh: cowpen run against systemd-nspawn and bubblewrap on the same trees, side by side
# in one run, alternating, ROUNDS rounds (default 7), medians, ratios cowpen/other.
#   1. run -D ROOT /bin/true                (start-up cost of a container), against nspawn and
#      against `bwrap --bind ROOT / --proc /proc --dev /dev --unshare-all /bin/true`; cowpen with
#      its system-call filter (compiled once, then from the cache), without it ($COWPEN_SECCOMP=0),
#      and building it every time ($COWPEN_SECCOMP_CACHE=no)
#   2. run -x -D ROOT /bin/true, 200 MB tree (throw-away copy on ext4: overlayfs vs nspawn's copy)
#   3. the same on a 1 GB tree (the 200 MB tree padded with a big file): cowpen should stay flat
#   4. run -x -i IMAGE /bin/true on a 200 MB and a 1 GB verity-protected erofs image (the two trees
#      above; immutable, so after the first run's full check the recorded verification is used:
#      verity-cache.c) against cowpen's copy path: -x -i of the same image without verity (under a
#      second name, a symlink, for which no sidecars are found), which copies the image into an
#      O_TMPFILE as every -x -i did before (and then a verity image was also checked in full).
#      systemd-nspawn cannot be the reference here: its --image= needs udev (/run/udev), and it
#      cannot open verity without device-mapper. The first run of each verity image (the full
#      userspace check) is reported on its own.
# The reference nspawn runs as the lead prescribes for a host without systemd as PID 1:
#   unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn --register=no --keep-unit …'
# Usage: bench/spawn.sh [ROUNDS]   (as root; COWPEN=path to the binary, default build/cowpen;
#        LOOP_BACKING=DIR for the loop file, default /dev/shm: needs ~3 GB of memory)
. "$(dirname "$0")/../tests/lib/lib.sh"
. "$(dirname "$0")/lib.sh"

ROUNDS=${1:-7}
[ "$ROUNDS" -ge 5 ] || fail "use at least 5 rounds"
command -v systemd-nspawn >/dev/null || fail "systemd-nspawn missing (scripts/packages/spawn.txt: systemd-container)"
command -v bwrap >/dev/null || fail "bwrap missing (scripts/packages/spawn.txt: bubblewrap)"
command -v mkfs.erofs >/dev/null || fail "mkfs.erofs missing (scripts/packages/boot.txt: erofs-utils)"
command -v veritysetup >/dev/null || fail "veritysetup missing (scripts/packages/boot.txt: cryptsetup-bin)"
[ -x "$COWPEN" ] || fail "no cowpen binary at $COWPEN (meson compile -C build)"
rootfs_fixture
# The loop file on tmpfs (as the other benches): the host disk's writeback stays out of the figures.
export LOOP_BACKING=${LOOP_BACKING:-/dev/shm}
make_loop_fs ext4 5G
T=$LOOP_MNT/trees
mkdir -p "$T"
log "preparing a 200 MB and a 1 GB tree on ext4 ($LOOP_DEV)…"
cp -a "$ROOTFS_DIR" "$T/small"
cp -a "$ROOTFS_DIR" "$T/big"
small_mb=$(du -sm "$T/small" | cut -f1)
head -c $(((1024 - small_mb) << 20)) /dev/urandom >"$T/big/var/pad"
big_mb=$(du -sm "$T/big" | cut -f1)
# The same trees as verity-protected erofs images, immutable; the copy path gets each under a
# second name (a symlink), for which no sidecars are found, so it runs without verity.
I=$LOOP_MNT/images
mkdir -p "$I"
export COWPEN_VERITY_CACHE=$TEMP_DIR/verity-cache
for n in small big; do
  mkfs.erofs --quiet "$I/$n.raw" "$T/$n" || fail "mkfs.erofs $n"
  veritysetup format "$I/$n.raw" "$I/$n.verity" | sed -n 's/^Root hash:[[:space:]]*//p' | tr -d '\n' >"$I/$n.roothash"
  ln -s "$n.raw" "$I/plain-$n.raw"
  chattr +i "$I/$n.raw" "$I/$n.verity" || fail "chattr +i: the image's file system cannot make files immutable"
done
small_img_mb=$(($(stat -c %s "$I/small.raw") >> 20))
big_img_mb=$(($(stat -c %s "$I/big.raw") >> 20))
sync
# The first run of each image checks it in full (and records that): timed once, not in the medians.
first_small=$(time_us "$COWPEN" run -x -i "$I/small.raw" /bin/true)
first_big=$(time_us "$COWPEN" run -x -i "$I/big.raw" /bin/true)

copy_path() { "$COWPEN" run "$@"; }
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
cases=(true true-nofilter true-cold true-bwrap true-nofilter-bwrap x-small x-big xi-small xi-big)
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
log "run -x -i, ${small_img_mb} MB verity erofs image, $ROUNDS rounds"
other=copy_path measure xi-small -x -i "$I/small.raw" /bin/true -- -x -i "$I/plain-small.raw" /bin/true
log "run -x -i, ${big_img_mb} MB verity erofs image, $ROUNDS rounds"
other=copy_path measure xi-big -x -i "$I/big.raw" /bin/true -- -x -i "$I/plain-big.raw" /bin/true

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
    xi-small) echo "run -x -i, ${small_img_mb} MB verity image / copy" ;;
    xi-big) echo "run -x -i, ${big_img_mb} MB verity image / copy" ;;
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
printf 'cowpen -x -i %s MB / %s MB verity image: %s   (the copy path: %s)\n' "$big_img_mb" "$small_img_mb" \
  "$(ratio "${med[cowpen-xi-big]}" "${med[cowpen-xi-small]}")" "$(ratio "${med[nspawn-xi-big]}" "${med[nspawn-xi-small]}")"
printf 'first run -x -i (full userspace check, then recorded): %s (%s MB), %s (%s MB)\n' \
  "$(ms "$first_small")" "$small_img_mb" "$(ms "$first_big")" "$big_img_mb"
printf 'targets: run /bin/true <= 0.15 of nspawn and <= 1.5 of bwrap, run -x <= 0.05, cowpen -x and -x -i flat from 200 MB to 1 GB\n'
