#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/import.sh [ROUNDS]: import-tar speed against the tools a user would otherwise use, on the
# real rootfs fixture, extracting onto an ext4 loop filesystem. Runs alternate (reference, cowpen,
# reference, …) for ROUNDS rounds (default 3); prints the median time of each and the ratio
# cowpen/reference, with cowpen's maximum RSS (/usr/bin/time %M).
#
# Targets (issue 3):  xz one block  / xz -dc             ≤ 1.10
#                     xz -T2 blocks / xz -T1 -dc         ≤ 0.75
#                     .tar.zst      / tar -I zstd -xf    ≤ 1.10
#                     .tar          / tar -xf            ≤ 1.10
#                     systemd-import tar / cowpen        ≥ 1.3 (i.e. cowpen/systemd ≤ 0.77)
set -euo pipefail
ROUNDS=${1:-3}
TEST_SRCDIR=${TEST_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$TEST_SRCDIR/tests/lib/lib.sh"
command -v /usr/bin/time >/dev/null || fail "/usr/bin/time missing (package time)"
SYSTEMD_IMPORT=/lib/systemd/systemd-import
[ -x "$SYSTEMD_IMPORT" ] || fail "$SYSTEMD_IMPORT missing (package systemd-container)"

rootfs_fixture
# The compressed forms are cached next to the fixture (they take minutes to make).
key=$(stat -c '%s-%Y' "$ROOTFS_TAR")
cache=$FIXTURE_CACHE/import-bench-$key
if [ ! -f "$cache/.complete" ]; then
  log "making compressed forms of the rootfs fixture (cached in $cache)"
  rm -rf "$cache"
  mkdir -p "$cache"
  xz -T1 -6 -c "$ROOTFS_TAR" >"$cache/r1.tar.xz"   # one block
  xz -T2 -6 -c "$ROOTFS_TAR" >"$cache/r2.tar.xz"   # several blocks (24 MiB each)
  zstd -q -3 -c "$ROOTFS_TAR" >"$cache/r.tar.zst"
  touch "$cache/.complete"
fi
blocks=$(xz --robot -lv "$cache/r2.tar.xz" | awk '$1 == "totals" { print $3 }')

make_loop_fs ext4 4G
W=$LOOP_MNT
mkdir -p "$W/in" "$W/out" "$W/images"
cp "$ROOTFS_TAR" "$W/in/r.tar"
cp "$cache/r1.tar.xz" "$cache/r2.tar.xz" "$cache/r.tar.zst" "$W/in/"
sync

clean_out() { rm -rf "$W/out" "$W/images"; mkdir -p "$W/out" "$W/images"; sync; }
# time_run NAME CMD…: appends wall seconds to $R/NAME, CPU seconds (user + sys) to $R/NAME.cpu and
# the maximum RSS in KiB to $R/NAME.rss.
time_run() {
  local f=$R/$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$R/last" "$@" >/dev/null 2>&1 || fail "failed: $*"
  read -r e u s m <"$R/last"
  echo "$e" >>"$f"
  awk -v u="$u" -v s="$s" 'BEGIN { print u + s }' >>"$f.cpu"
  echo "$m" >>"$f.rss"
}
cowpen_run() { time_run "$1" "$COWPEN" --image-root="$W/images" -q --no-progress import-tar "$2" img; }
median() { sort -g "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
max() { sort -g "$1" | tail -n1; }

R=$(mktemp -d /var/tmp/cowpen-bench.XXXXXX)
at_exit "rm -rf '$R'"

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 1; i <= ROUNDS; i++)); do
  log "round $i/$ROUNDS"
  time_run "xz1.ref" xz -T1 -dc "$W/in/r1.tar.xz"
  clean_out; cowpen_run "xz1.cow" "$W/in/r1.tar.xz"
  clean_out; time_run "xz1.gnutar" tar -C "$W/out" -xJf "$W/in/r1.tar.xz"
  clean_out; time_run "xz1.sd" "$SYSTEMD_IMPORT" tar --image-root="$W/images" "$W/in/r1.tar.xz" img

  time_run "xz2.ref" xz -T1 -dc "$W/in/r2.tar.xz"
  time_run "xz2.xzmt" xz -T2 -dc "$W/in/r2.tar.xz"
  clean_out; cowpen_run "xz2.cow" "$W/in/r2.tar.xz"

  clean_out; time_run "zst.ref" tar -C "$W/out" -I zstd -xf "$W/in/r.tar.zst"
  clean_out; cowpen_run "zst.cow" "$W/in/r.tar.zst"

  clean_out; time_run "tar.ref" tar -C "$W/out" -xf "$W/in/r.tar"
  clean_out; cowpen_run "tar.cow" "$W/in/r.tar"
  clean_out; time_run "tar.sd" "$SYSTEMD_IMPORT" tar --image-root="$W/images" "$W/in/r.tar" img
  clean_out
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
row() {
  local what=$1 cow=$2 ref=$3 target=$4 mc mr cc cr
  mc=$(median "$R/$cow")
  mr=$(median "$R/$ref")
  cc=$(median "$R/$cow.cpu")
  cr=$(median "$R/$ref.cpu")
  printf '%-42s %6.2fs / %6.2fs = %5.3f (target %-6s)  CPU %6.2fs / %6.2fs = %5.3f  max RSS %s KiB\n' \
    "$what" "$mc" "$mr" "$(ratio "$mc" "$mr")" "$target" "$cc" "$cr" "$(ratio "$cc" "$cr")" "$(max "$R/$cow.rss")"
}
echo "load average before: $LOAD0; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "import-tar on ext4, $ROUNDS rounds, medians; $(nproc) CPUs; rootfs $(du -h "$ROOTFS_TAR" | cut -f1), r2.tar.xz has $blocks blocks"
echo "columns: wall cowpen / wall reference = ratio; CPU (user+sys) likewise; cowpen's (or the row's first tool's) max RSS"
row "tar.xz one block / xz -T1 -dc >/dev/null" xz1.cow xz1.ref "≤ 1.10"
row "tar.xz one block / GNU tar -xJf" xz1.cow xz1.gnutar "-"
row "tar.xz one block / systemd-import tar" xz1.cow xz1.sd "≤ 0.77"
row "tar.xz -T2 blocks / xz -T1 -dc >/dev/null" xz2.cow xz2.ref "≤ 0.75"
row "  control: xz -T2 -dc / xz -T1 -dc" xz2.xzmt xz2.ref "-"
row "tar.zst / tar -I zstd -xf" zst.cow zst.ref "≤ 1.10"
row "tar / tar -xf" tar.cow tar.ref "≤ 1.10"
row "tar / systemd-import tar" tar.cow tar.sd "≤ 0.77"
printf 'reference: GNU tar -xJf / xz -dc = %s; systemd-import / xz -dc = %s\n' \
  "$(ratio "$(median "$R/xz1.gnutar")" "$(median "$R/xz1.ref")")" "$(ratio "$(median "$R/xz1.sd")" "$(median "$R/xz1.ref")")"
