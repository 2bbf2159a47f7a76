#!/bin/bash
# bench/pull.sh [ROUNDS]: pull-tar of the rootfs fixture from a local nginx, timed side by side
# (alternating order, ROUNDS rounds, default 5) against
#   - cowpen import-tar of the same file (the pull should cost little more than the import), and
#   - systemd-pull tar --verify=checksum of the same URL (--sync=no, as cowpen does not sync),
# for a single-block .tar.xz (xz -T1) and a multi-block one (xz -T2, which cowpen decodes on both
# cores). All image roots are on one btrfs loop filesystem. Prints each round and the medians of
# the ratios (cowpen / other). Run as root from the source tree after building.
set -euo pipefail
TEST_SRCDIR=${TEST_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"

ROUNDS=${1:-5}
SDPULL=/lib/systemd/systemd-pull
[ -x "$SDPULL" ] || fail "$SDPULL missing (package systemd-container)"
[ -x "$COWPEN" ] || fail "build cowpen first ($COWPEN)"

rootfs_txz multi
start_nginx
make_loop_fs btrfs 6G
MNT=$LOOP_MNT
mkdir -p "$MNT/cowpen" "$MNT/sd"
for k in 1 2; do
  mkdir -p "$NGINX_ROOT/pub/t$k"
  src=ROOTFS_TXZ$k
  cp "${!src}" "$NGINX_ROOT/pub/t$k/rootfs.tar.xz"
  (cd "$NGINX_ROOT/pub/t$k" && sha256sum rootfs.tar.xz >SHA256SUMS)
done

# timed CMD…: runs CMD, prints "WALL CPU" seconds (CPU: user + system, children included, so
# systemd-pull's tar is counted; a load-independent figure on a shared machine).
timed() {
  /usr/bin/time -f '%e %U %S' -o "$MNT/time" "$@" >/dev/null 2>"$MNT/err" || { cat "$MNT/err" >&2; fail "command failed: $*"; }
  awk '{printf "%s %.2f\n", $1, $2 + $3}' "$MNT/time"
}
cw() { "$COWPEN" --image-root="$MNT/cowpen" -q --no-progress "$@"; }
CW=("$COWPEN" --image-root="$MNT/cowpen" -q --no-progress)
run_pull() { timed "${CW[@]}" pull-tar --verify=checksum "$NGINX_URL/pub/t$1/rootfs.tar.xz" p; cw remove p; }
run_import() { timed "${CW[@]}" import-tar "$NGINX_ROOT/pub/t$1/rootfs.tar.xz" i; cw remove i; }
run_sd() {
  timed "$SDPULL" --verify=checksum --sync=no --image-root="$MNT/sd" tar "$NGINX_URL/pub/t$1/rootfs.tar.xz" s
  # systemd-pull keeps its own download cache (.tar-URL.ETAG): drop it, or the next run is a 304.
  "$COWPEN" --image-root="$MNT/sd" -q remove s
  "$COWPEN" --image-root="$MNT/sd" -q clean --all
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

ratio() { echo "$1 / $2" | bc -l; }
for k in 1 2; do
  kind=$([ $k = 1 ] && echo "single-block" || echo "multi-block")
  r_imp=() r_sd=() c_imp=() c_sd=()
  for ((i = 0; i < ROUNDS; i++)); do
    # Rotate the order each round so no tool always runs first (warm caches, neighbours' load).
    case $((i % 3)) in
      0) tp=$(run_pull $k); ti=$(run_import $k); ts=$(run_sd $k) ;;
      1) ti=$(run_import $k); ts=$(run_sd $k); tp=$(run_pull $k) ;;
      2) ts=$(run_sd $k); tp=$(run_pull $k); ti=$(run_import $k) ;;
    esac
    read -r wp cp <<<"$tp"
    read -r wi ci <<<"$ti"
    read -r ws cs <<<"$ts"
    r_imp+=("$(ratio "$wp" "$wi")")
    r_sd+=("$(ratio "$wp" "$ws")")
    c_imp+=("$(ratio "$cp" "$ci")")
    c_sd+=("$(ratio "$cp" "$cs")")
    printf '%s round %d: wall pull-tar %.2fs import-tar %.2fs systemd-pull %.2fs | cpu %.2fs %.2fs %.2fs | pull/import %.3f pull/systemd-pull %.3f\n' \
      "$kind" $((i + 1)) "$wp" "$wi" "$ws" "$cp" "$ci" "$cs" "${r_imp[-1]}" "${r_sd[-1]}"
  done
  printf '%s median wall: pull-tar/import-tar %.3f  pull-tar/systemd-pull %.3f\n' "$kind" \
    "$(printf '%s\n' "${r_imp[@]}" | median)" "$(printf '%s\n' "${r_sd[@]}" | median)"
  printf '%s median cpu:  pull-tar/import-tar %.3f  pull-tar/systemd-pull %.3f\n' "$kind" \
    "$(printf '%s\n' "${c_imp[@]}" | median)" "$(printf '%s\n' "${c_sd[@]}" | median)"
done
