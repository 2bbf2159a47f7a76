#!/bin/bash
# bench/clone: clone on ext4 vs `cp -a` of the same tree (side by side, alternating), and btrfs
# snapshot clones of a 200 MB and a 1 GB image (should be flat). Prints medians and ratios.
# Usage: bench/clone.sh [ROUNDS]   (as root; builds the rootfs fixture if needed)
TEST_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/bench/lib.sh"
ROUNDS=${1:-5}
[ -x "$COWPEN" ] || fail "build first: meson setup build && meson compile -C build"

rootfs_fixture
make_loop_fs ext4 8G
R=$LOOP_MNT/machines
must "$COWPEN" -q --image-root="$R" import-fs "$ROOTFS_DIR" deb
size=$(du -sm "$R/deb" | cut -f1)
sync

cow=() cp=()
for i in $(seq 1 "$ROUNDS"); do
  # Alternate which goes first so cache and background noise hit both alike.
  if [ $((i % 2)) -eq 1 ]; then
    cow+=($(time_ms "$COWPEN" -q --image-root="$R" clone deb "c$i"))
    cp+=($(time_ms cp -a "$R/deb" "$LOOP_MNT/cp$i"))
  else
    cp+=($(time_ms cp -a "$R/deb" "$LOOP_MNT/cp$i"))
    cow+=($(time_ms "$COWPEN" -q --image-root="$R" clone deb "c$i"))
  fi
  "$COWPEN" -q --image-root="$R" remove "c$i"; rm -rf "$LOOP_MNT/cp$i"; sync
done
mc=$(median "${cow[@]}") mp=$(median "${cp[@]}")
echo "ext4 clone of a ${size} MB rootfs, $ROUNDS rounds: cowpen clone ${cow[*]} ms; cp -a ${cp[*]} ms"
echo "RATIO clone-ext4 cowpen/cp-a = $(ratio "$mc" "$mp")   (median $mc ms vs $mp ms; target <= 1.10)"

make_loop_fs btrfs 6G
B=$LOOP_MNT/machines
mkdir -p "$B"
btrfs subvolume create "$B/small" >/dev/null
cp -a "$ROOTFS_DIR/." "$B/small/"
btrfs subvolume create "$B/large" >/dev/null
cp -a "$ROOTFS_DIR/." "$B/large/"
dd if=/dev/urandom of="$B/large/ballast" bs=1M count=$((1024 - size)) status=none
sync
s=() l=()
for i in $(seq 1 "$ROUNDS"); do
  s+=($(time_ms "$COWPEN" -q --image-root="$B" clone small "s$i"))
  l+=($(time_ms "$COWPEN" -q --image-root="$B" clone large "l$i"))
done
ms=$(median "${s[@]}") ml=$(median "${l[@]}")
echo "btrfs snapshot clone: 200 MB ${s[*]} ms; 1 GB ${l[*]} ms"
echo "RATIO clone-btrfs 1GB/200MB = $(ratio "$ml" "$ms")   (median $ml ms vs $ms ms; flat means ~1)"
