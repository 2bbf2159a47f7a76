#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# import-raw and export-raw: sparse writing, every compression, sidecars, export round trips,
# NOCOW on btrfs, and failures leaving nothing behind.
. "$TEST_SRCDIR/tests/lib/lib.sh"

make_temp_dir
T=$TEMP_DIR
ROOT=$T/root
mkdir -p "$ROOT" "$T/src"
cw() { "$COWPEN" --image-root="$ROOT" --no-progress "$@"; }

# A 256 MiB image with data at a few places and holes elsewhere.
img=$T/src/disk.raw
truncate -s 256M "$img"
head -c 3M /dev/urandom | dd of="$img" bs=1M seek=0 conv=notrunc status=none
head -c 1M /dev/urandom | dd of="$img" bs=1M seek=100 conv=notrunc status=none
printf 'tail' | dd of="$img" bs=1 seek=$((256 * 1024 * 1024 - 4)) conv=notrunc status=none
printf '[Exec]\nBoot=yes\n' >"$T/src/disk.nspawn"
printf '%064x\n' 42 >"$T/src/disk.roothash"
head -c 4096 /dev/urandom >"$T/src/disk.verity"
sum=$(sha256sum <"$img")

must cw -q import-raw "$img"
[ "$(sha256sum <"$ROOT/disk.raw")" = "$sum" ] || fail "imported raw differs"
used=$(du -k "$ROOT/disk.raw" | cut -f1)
[ "$used" -lt 10240 ] || fail "raw import not sparse: ${used}k used"
for s in .nspawn .roothash .verity; do
  cmp -s "$T/src/disk$s" "$ROOT/disk$s" || fail "sidecar $s not imported"
done
[ ! -e "$ROOT/disk.roothash.p7s" ] || fail "a sidecar that did not exist appeared"
pass "import-raw: identical, sparse (${used}k), sidecars"

for c in gz xz zst bz2; do
  case $c in
    gz) gzip -1 -c "$img" ;; xz) xz -0 -T2 -c "$img" ;; zst) zstd -q -1 -c "$img" ;; bz2) bzip2 -1 -c "$img" ;;
  esac >"$T/src/c.raw.$c"
  must cw -q import-raw "$T/src/c.raw.$c" "c-$c"
  [ "$(sha256sum <"$ROOT/c-$c.raw")" = "$sum" ] || fail "$c: imported raw differs"
  [ "$(du -k "$ROOT/c-$c.raw" | cut -f1)" -lt 10240 ] || fail "$c: not sparse"
  cw -q remove "c-$c"
  pass "import-raw $c"
  rm -f "$T/src/c.raw.$c"
done

must cw -q import-raw --read-only - fromstdin <"$img"
[ ! -w "$ROOT/fromstdin.raw" ] || [ "$(stat -c %a "$ROOT/fromstdin.raw")" = 444 ] || fail "--read-only not applied"
cw image-status fromstdin | grep -q 'Read-only: yes' || fail "--read-only not reported"
must_fail 1 cw import-raw "$img"
assert_one_line_error 'import-raw .*: image "disk" already exists'
pass "stdin, --read-only, existing name refused"

# --json=short: progress as JSON lines on stderr, the last one saying done and ok.
"$COWPEN" --image-root="$ROOT" --json=short import-raw "$img" jsonprog 2>"$T/progress.json" >/dev/null ||
  fail "import-raw --json=short failed: $(cat "$T/progress.json")"
grep '^{' "$T/progress.json" | tail -n1 | python3 -c '
import json, sys
o = json.loads(sys.stdin.read())
assert o["label"] == "jsonprog" and o["done"] is True and o["ok"] is True, o
assert o["bytes"] == o["total"] and o["total"] > 0, o
' || fail "bad JSON progress: $(cat "$T/progress.json")"
cw -q remove jsonprog
pass "--json=short progress lines"

# Export: sparse when uncompressed, compressed by suffix or --format, and back.
must cw -q export-raw disk "$T/out.raw"
cmp -s "$img" "$T/out.raw" || fail "export-raw differs"
[ "$(du -k "$T/out.raw" | cut -f1)" -lt 10240 ] || fail "export-raw not sparse"
for s in xz gz zst bz2; do
  must cw -q export-raw disk "$T/out.raw.$s"
  must cw -q import-raw "$T/out.raw.$s" "rt-$s"
  [ "$(sha256sum <"$ROOT/rt-$s.raw")" = "$sum" ] || fail "export-raw $s round trip differs"
  cw -q remove "rt-$s"
done
must cw -q export-raw --format=xz disk - >"$T/stdout.xz"
xz -dc "$T/stdout.xz" | cmp -s - "$img" || fail "export-raw --format=xz to stdout differs"
must_fail 1 cw export-tar disk "$T/x.tar"
assert_one_line_error 'export-tar disk: .*raw'
pass "export-raw: sparse, compressed, round trips"

# A corrupt or truncated compressed stream: one line, nothing left.
xz -0 -c "$img" >"$T/src/trunc.raw.xz"
truncate -s 100000 "$T/src/trunc.raw.xz"
must_fail 1 cw import-raw "$T/src/trunc.raw.xz" trunc
assert_one_line_error 'import-raw .*: unexpected end of the compressed stream'
[ -z "$(ls -A "$ROOT" | grep -e '^\.#' -e trunc)" ] || fail "failed import left: $(ls -A "$ROOT")"
pass "truncated stream refused, nothing left"

# btrfs: NOCOW before the first write.
make_loop_fs btrfs 1G
must "$COWPEN" --image-root="$LOOP_MNT/images" -q import-raw "$img" nocow
lsattr "$LOOP_MNT/images/nocow.raw" | cut -d' ' -f1 | grep -q C || fail "raw image on btrfs is not NOCOW"
pass "btrfs: NOCOW"
