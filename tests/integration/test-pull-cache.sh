#!/bin/bash
# Download cache, mirrors and progress output:
# - --keep-download=yes keeps the pristine download; the next pull of the unchanged URL sends
#   If-None-Match, gets 304 (no body) and reuses it; clean keeps the cache unless --all.
# - The first base URL answers 500: the pull succeeds from the --mirror.
# - --json=short prints one JSON object per line on stderr (phase, bytes, total, rate).
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"

rootfs_txz
start_nginx
make_gpg_key
make_image_root
publish_rootfs rootfs.tar.xz
gpg_sign --detach-sign -o "$NGINX_ROOT/pub/SHA256SUMS.gpg" "$NGINX_ROOT/pub/SHA256SUMS"
cw() { "$COWPEN" --image-root="$ROOT" "$@"; }
cache() { ls -A "$ROOT" | grep '^\.#pull-cache\.[0-9a-f]*$' || true; }

# 1. Cache.
: >"$NGINX_LOG"
must cw -q pull-tar --keyring="$GPG_KEYRING" --keep-download=yes "$URL" c1
[ -n "$(cache)" ] || fail "--keep-download=yes kept nothing"
cmp "$ROOT/$(cache)" "$NGINX_ROOT/pub/$F" || fail "the cached download is not the pristine file"
read -r status bytes _ <<<"$(nginx_log_for "/pub/$F")"
[ "$status" = 200 ] && [ "$bytes" -eq "$SIZE" ] || fail "first pull: $(nginx_log_for "/pub/$F")"
# clean leaves the cache alone…
must cw -q clean
[ -n "$(cache)" ] || fail "clean removed the download cache"
: >"$NGINX_LOG"
out=$(must cw pull-tar --keyring="$GPG_KEYRING" --keep-download=yes "$URL" c2)
grep -q 'from the download cache' <<<"$out" || fail "cache use not reported: $out"
grep -q 'Verified with SHA256SUMS, signed' <<<"$out" || fail "cached download not verified: $out"
line=$(nginx_log_for "/pub/$F")
read -r status bytes _ <<<"$line"
[ "$status" = 304 ] && [ "$bytes" -eq 0 ] || fail "second pull was not a bodyless 304: $line"
cmp_rootfs "$ROOT/c2"
# A tampered cache is caught by the verification, and dropped.
chmod u+w "$ROOT/$(cache)"
printf 'X' | dd of="$ROOT/$(cache)" bs=1 seek=1000 conv=notrunc status=none
must_fail 1 cw -q pull-tar --keyring="$GPG_KEYRING" --keep-download=yes "$URL" c3
assert_one_line_error 'checksum mismatch'
[ ! -e "$ROOT/c3" ] || fail "image from a tampered cache published"
[ -z "$(cache)" ] || fail "tampered cache kept"
# Without the cache the next pull downloads again; with --keep-download=no nothing is kept.
must cw -q pull-tar --keyring="$GPG_KEYRING" "$URL" c3
[ -z "$(cache)" ] || fail "--keep-download=no kept a download"
must cw -q pull-tar --keyring="$GPG_KEYRING" --keep-download=yes "$URL" c4
[ -n "$(cache)" ] || fail "cache not created"
# …and clean --all removes it.
must cw -q clean --all
[ -z "$(cache)" ] || fail "clean --all left the download cache"
pass "download cache"

# 2. Mirrors: the first base answers 500 to everything.
: >"$NGINX_LOG"
out=$(must cw pull-tar --keyring="$GPG_KEYRING" --mirror="$NGINX_URL/pub/" "$NGINX_URL/broken/$F" m1)
grep -q "Trying mirror $NGINX_URL/pub" <<<"$out" || fail "mirror not reported: $out"
grep -q "Pulled $NGINX_URL/pub/$F as image" <<<"$out" || fail "not pulled from the mirror: $out"
grep -q '^500 ' "$NGINX_LOG" || fail "the broken base was not tried"
[ "$(grep -c '^500 .*/broken/SHA256SUMS ' "$NGINX_LOG")" -eq 3 ] || fail "expected 3 attempts at the broken base: $(cat "$NGINX_LOG")"
cmp_rootfs "$ROOT/m1"
# All bases broken: a one-line error naming the last failure.
must_fail 1 cw -q pull-tar --keyring="$GPG_KEYRING" --mirror="$NGINX_URL/broken/again" "$NGINX_URL/broken/$F" m2
assert_one_line_error 'HTTP status 500'
# A mirror that lacks the file is skipped for the next one.
out=$(must cw pull-tar --keyring="$GPG_KEYRING" --mirror="$NGINX_URL/pub/nothing-here" --mirror="$NGINX_URL/pub" \
  "$NGINX_URL/broken/$F" m3)
grep -q "Pulled $NGINX_URL/pub/$F as image" <<<"$out" || fail "second mirror not used: $out"
pass "mirrors"

# 3. Progress as JSON lines on stderr.
cw --json=short pull-tar --keyring="$GPG_KEYRING" "$URL" j1 >/dev/null 2>"$TEMP_DIR/progress" || fail "json pull failed"
python3 - "$TEMP_DIR/progress" "$SIZE" <<'PY' || fail "bad JSON progress: $(head -5 "$TEMP_DIR/progress")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
size = int(sys.argv[2])
objs = [json.loads(l) for l in lines]
assert len(objs) >= 3, objs
for o in objs:
    assert set(o) == {"phase", "bytes", "total", "rate"}, o
    assert o["phase"] in ("verify-sources", "download", "cached", "verify", "done"), o
phases = [o["phase"] for o in objs]
assert "download" in phases and phases[-1] == "done", phases
assert objs[-1]["bytes"] == size and objs[-1]["total"] == size, objs[-1]
PY
pass "JSON progress"
