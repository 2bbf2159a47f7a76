# Benchmark helpers: time commands side by side, alternating, and print median ratios.
# Sourced after tests/lib/lib.sh.

# now_ms: wall clock in milliseconds (float).
now_ms() { date +%s.%N | awk '{printf "%.3f", $1 * 1000}'; }

# time_ms CMD…: runs CMD, prints its wall time in ms on stdout; CMD's own output is discarded.
time_ms() {
  local t0 t1
  t0=$(now_ms)
  "$@" >/dev/null 2>&1 || fail "benchmark command failed: $*"
  t1=$(now_ms)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f\n", b - a}'
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ printf "%.3f", (b > 0 ? a / b : 0) }'; }

# Loop filesystems of benchmarks live in memory: the host disk's writeback is the largest source
# of noise for copy-heavy work, and it is the same for both tools.
LOOP_BACKING=${LOOP_BACKING:-/dev/shm}

# time_us CMD…: wall-clock microseconds of one run from bash's own clock (forking date(1) around
# each run would be timed too); the command must succeed (its last stderr lines say why not).
time_us() {
  local t0 t1 err
  err=$(mktemp)
  t0=${EPOCHREALTIME/[.,]/}
  if ! "$@" </dev/null >/dev/null 2>"$err"; then
    local why; why=$(tail -3 "$err"); rm -f "$err"
    fail "benchmark command failed: $* ($why)"
  fi
  t1=${EPOCHREALTIME/[.,]/}
  rm -f "$err"
  echo $((t1 - t0))
}

# ms MICROSECONDS: "12.3 ms".
ms() { awk -v u="$1" 'BEGIN {printf "%.1f ms", u / 1000}'; }

# nspawn ARGS…: the reference systemd-nspawn as it runs on a host without systemd as PID 1.
nspawn() {
  unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn -q --register=no --keep-unit "$@"' nspawn "$@"
}
