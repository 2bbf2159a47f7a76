#!/bin/bash
# bench/startup.sh: start-up of two cowpen binaries side by side in one run, alternating (who goes
# first alternates too), ROUNDS rounds (default 30), medians, ratios AFTER/BEFORE:
#   1. cowpen run -D TREE /bin/true   (a busybox tree: the container's start-up, no image work)
#   2. cowpen --version               (the dynamic loader's work and nothing else)
# and the shared objects `run` maps (from /proc/PID/maps while its payload runs). Made to compare a
# build that links every library with one that dlopen()s the transfer and verity libraries; any two
# binaries will do.
# Usage: BEFORE=path/to/cowpen [AFTER=build/cowpen] bench/startup.sh [ROUNDS]   (as root)
. "$(dirname "$0")/../tests/lib/lib.sh"
. "$(dirname "$0")/../tests/lib/boot.sh"
. "$(dirname "$0")/lib.sh"

ROUNDS=${1:-30}
AFTER=${AFTER:-$COWPEN}
[ -n "${BEFORE:-}" ] || fail "set BEFORE= to the cowpen binary to compare with (e.g. a build of main)"
for b in "$BEFORE" "$AFTER"; do [ -x "$b" ] || fail "$b is not an executable"; done
command -v busybox >/dev/null || fail "busybox-static is not installed (scripts/packages/boot.txt)"
make_temp_dir
make_busybox_tree "$TEMP_DIR/tree"

# Microseconds from bash's own clock: forking date(1) around each run would be timed too.
time_us() { # time_us CMD…: wall-clock microseconds of one run (must succeed)
  local t0=${EPOCHREALTIME/[.,]/} t1
  "$@" </dev/null >/dev/null 2>&1 || fail "failed: $*"
  t1=${EPOCHREALTIME/[.,]/}
  echo $((t1 - t0))
}
ms() { awk -v u="$1" 'BEGIN {printf "%.2f ms", u / 1000}'; }

mapped() { # mapped BINARY: shared objects its `run` maps while the payload runs
  local pid n
  "$1" run -D "$TEMP_DIR/tree" sleep 10 &
  pid=$!
  for _ in $(seq 100); do
    [ "$(pgrep -P "$pid" -x sleep 2>/dev/null || true)" ] && break
    sleep 0.05
  done
  n=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$pid/maps" | sort -u | wc -l)
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$n"
}

declare -A t
cases=(run version)
for c in "${cases[@]}"; do t[before-$c]=""; t[after-$c]=""; done
one() { # one CASE BINARY
  case $1 in
    run) time_us "$2" run -D "$TEMP_DIR/tree" /bin/true ;;
    version) time_us "$2" --version ;;
  esac
}
for c in "${cases[@]}"; do one "$c" "$BEFORE" >/dev/null; one "$c" "$AFTER" >/dev/null; done # warm-up
for c in "${cases[@]}"; do
  log "$c: $ROUNDS rounds"
  for ((i = 1; i <= ROUNDS; i++)); do
    for who in $( ((i % 2)) && echo "before after" || echo "after before"); do
      if [ "$who" = before ]; then
        t[before-$c]+=" $(one "$c" "$BEFORE")"
      else
        t[after-$c]+=" $(one "$c" "$AFTER")"
      fi
    done
  done
done

printf '\n%-30s %12s %12s %8s\n' "medians ($ROUNDS rounds)" before after ratio
for c in "${cases[@]}"; do
  # shellcheck disable=SC2086
  b=$(median ${t[before-$c]})
  # shellcheck disable=SC2086
  a=$(median ${t[after-$c]})
  label=$([ "$c" = run ] && echo "run -D TREE /bin/true" || echo "--version")
  printf '%-30s %12s %12s %8s\n' "$label" "$(ms "$b")" "$(ms "$a")" "$(ratio "$a" "$b")"
done
printf '%-30s %12s %12s\n' "shared objects run maps" "$(mapped "$BEFORE")" "$(mapped "$AFTER")"
