#!/bin/bash
# Installs what is needed, builds, and runs every test: unit, fuzz-corpus replay and integration
# tests on the normal build, then the unit and fuzz tests again under ASan+UBSan.
# Usage: scripts/test.sh [meson test args…]   (as root on Debian 12)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

build() { # DIR [meson options…]
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null
  fi
  meson compile -C "$dir" >/dev/null
}

build build
build build-sanitize -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
status=0
meson test -C build --print-errorlogs "$@" || status=1
meson test -C build-sanitize --print-errorlogs --suite unit --suite fuzz || status=1

# One closing line over both runs, in the plain form CI reads.
python3 - build/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json <<'PY'
import json, sys
ok = bad = skipped = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"): ok += 1
        elif r == "SKIP": skipped += 1
        else: bad += 1
print(f"{ok} passed, {bad} failed, {skipped} skipped")
PY
exit $status
