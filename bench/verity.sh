#!/bin/bash
# bench/verity.sh [ROUNDS] — cowpen verity-format / verity-verify against veritysetup format /
# verify on the same 1 GiB random file, alternating, ROUNDS rounds (default 5). Prints each round's
# times and the median ratio cowpen/veritysetup (target: ≤ 0.5). The file stays in the page cache,
# so this measures hashing and overhead, not the disk. The machine may be shared: read the medians.
set -euo pipefail
TEST_SRCDIR=${TEST_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
. "$TEST_SRCDIR/tests/lib/lib.sh"
ROUNDS=${1:-${ROUNDS:-5}}
SIZE=${VERITY_BENCH_SIZE:-1G}
[ -x /usr/bin/time ] || fail "/usr/bin/time missing (apt-get install time)"
command -v veritysetup >/dev/null || fail "veritysetup missing (apt-get install cryptsetup-bin)"
[ -x "$COWPEN" ] || fail "$COWPEN missing: build first (meson compile -C build)"

make_temp_dir
cd "$TEMP_DIR"
head -c "$SIZE" /dev/urandom >img.raw
cat img.raw >/dev/null # into the page cache

now() { date +%s.%N; }
# t OUT CMD…: prints wall seconds; adds the command's CPU seconds (user + system) to cpu.log.
t() {
  local out=$1 s e; shift
  s=$(now)
  /usr/bin/time -f '%U %S' -o time.txt "$@" >"$out"
  e=$(now)
  awk '{print $1 + $2}' time.txt >>cpu.log
  echo "$e - $s" | bc -l
}
cpu_last() { tail -n1 cpu.log; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "verity bench: $SIZE, $ROUNDS rounds, $(nproc) CPUs, sha_ni: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no), load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %10s %10s %7s   %10s %10s %7s\n' round vs-format cp-format ratio vs-verify cp-verify ratio
fr=() vr=() fc=() vc=()
for ((i = 1; i <= ROUNDS; i++)); do
  # Alternate which tool goes first, so neither always gets the warmer cache or the quieter moment.
  if ((i % 2)); then
    a=$(t vs.out veritysetup format img.raw ref.verity); ac=$(cpu_last)
    b=$(t cp.out "$COWPEN" verity-format img.raw); bc_=$(cpu_last)
  else
    b=$(t cp.out "$COWPEN" verity-format img.raw); bc_=$(cpu_last)
    a=$(t vs.out veritysetup format img.raw ref.verity); ac=$(cpu_last)
  fi
  root_ref=$(awk '/^Root hash:/ {print $3}' vs.out)
  if ((i % 2)); then
    c=$(t /dev/null veritysetup verify img.raw ref.verity "$root_ref"); cc=$(cpu_last)
    d=$(t /dev/null "$COWPEN" verity-verify img.raw); dc=$(cpu_last)
  else
    d=$(t /dev/null "$COWPEN" verity-verify img.raw); dc=$(cpu_last)
    c=$(t /dev/null veritysetup verify img.raw ref.verity "$root_ref"); cc=$(cpu_last)
  fi
  r1=$(echo "$b / $a" | bc -l); r2=$(echo "$d / $c" | bc -l)
  fr+=("$r1"); vr+=("$r2")
  fc+=("$(echo "$bc_ / $ac" | bc -l)"); vc+=("$(echo "$dc / $cc" | bc -l)")
  printf '%-6s %9.3fs %9.3fs %7.3f   %9.3fs %9.3fs %7.3f\n' "$i" "$a" "$b" "$r1" "$c" "$d" "$r2"
done
printf 'median ratio cowpen/veritysetup: verity-format %.3f, verity-verify %.3f (target <= 0.5)\n' \
  "$(printf '%s\n' "${fr[@]}" | median)" "$(printf '%s\n' "${vr[@]}" | median)"
printf 'median CPU-time ratio (user+sys; < 1 means less work, whatever the load): format %.3f, verify %.3f\n' \
  "$(printf '%s\n' "${fc[@]}" | median)" "$(printf '%s\n' "${vc[@]}" | median)"
