#!/bin/bash
# bench/boot.sh [ROUNDS] — boot the Debian rootfs fixture (systemd) to poweroff.target with
# cowpen run -b and with systemd-nspawn -b on the same directory, alternating which goes first,
# ROUNDS rounds (default 5). Prints each round's times and the median ratio cowpen/nspawn
# (target: ≤ 1.0). Then the same with -U (a picked user namespace; each tool on its own copy,
# since either may change the owners on disk; against nspawn without -U where nspawn -U cannot
# boot, as on a host without systemd). nspawn runs as the issue's reference: in a mount
# namespace with /run on tmpfs, --register=no --keep-unit. The machine may be shared: read the
# medians.
set -euo pipefail
TEST_SRCDIR=${TEST_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
. "$TEST_SRCDIR/tests/lib/lib.sh"
ROUNDS=${1:-${ROUNDS:-5}}
command -v systemd-nspawn >/dev/null || fail "systemd-nspawn missing (apt-get install systemd-container)"
[ -x "$COWPEN" ] || fail "$COWPEN missing: build first (meson compile -C build)"

rootfs_fixture
make_temp_dir
cp -a "$ROOTFS_DIR" "$TEMP_DIR/deb"
D=$TEMP_DIR/deb

now() { date +%s.%N; }
t() { local s e; s=$(now); "$@" >/dev/null 2>&1 || fail "failed: $*"; e=$(now); echo "$e - $s" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
cp -a "$ROOTFS_DIR" "$TEMP_DIR/deb-nspawn-u"
cp -a "$ROOTFS_DIR" "$TEMP_DIR/deb-cowpen-u"
U=()
NSPAWN_U=yes
nspawn() {
  local d=$D nu=()
  if [ ${#U[@]} -gt 0 ] && [ $NSPAWN_U = yes ]; then d=$TEMP_DIR/deb-nspawn-u; nu=("${U[@]}"); fi
  unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn -q --register=no --keep-unit "$@" -b -D "$0" systemd.unit=poweroff.target' "$d" "${nu[@]}"
}
cowpen() {
  local d=$D
  [ ${#U[@]} -eq 0 ] || d=$TEMP_DIR/deb-cowpen-u
  "$COWPEN" run "${U[@]}" -b -D "$d" systemd.unit=poweroff.target
}

bench() {
  # One unmeasured boot each: the page cache and the image's first-boot work (machine-id, journal).
  t nspawn >/dev/null
  t cowpen >/dev/null

  echo "boot bench${U[*]:+ with ${U[*]}}: Debian bookworm + systemd to poweroff.target, $ROUNDS rounds, $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-6s %10s %10s %7s\n' round nspawn cowpen ratio
  local rs=() i a b r
  for ((i = 1; i <= ROUNDS; i++)); do
    if ((i % 2)); then a=$(t nspawn); b=$(t cowpen); else b=$(t cowpen); a=$(t nspawn); fi
    r=$(echo "$b / $a" | bc -l)
    rs+=("$r")
    printf '%-6s %9.3fs %9.3fs %7.3f\n' "$i" "$a" "$b" "$r"
  done
  local what="cowpen/systemd-nspawn"
  [ ${#U[@]} -eq 0 ] || what="cowpen ${U[*]}/systemd-nspawn$([ $NSPAWN_U = yes ] && echo " ${U[*]}" || echo " (without -U)")"
  printf 'median ratio %s: %.3f (target <= 1.0)\n' "$what" "$(printf '%s\n' "${rs[@]}" | median)"
}
bench
U=(-U)
# Where nspawn cannot boot with -U (without a host systemd it cannot hand the container's cgroup
# to the picked range: its systemd then fails to create /init.scope), -U is timed against nspawn
# without it, the boot a user of this host gets from nspawn.
if ! nspawn >"$TEMP_DIR/nspawn-u.log" 2>&1 || grep -q 'Failed to allocate manager object' "$TEMP_DIR/nspawn-u.log"; then
  echo "note: systemd-nspawn -U does not boot here ($(grep -m1 -o 'Failed to create /init.scope control group: [A-Za-z ]*' "$TEMP_DIR/nspawn-u.log" || echo 'it failed')): cowpen -U is timed against nspawn without -U"
  NSPAWN_U=no
fi
bench
