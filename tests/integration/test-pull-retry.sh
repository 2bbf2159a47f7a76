#!/bin/bash
# A connection lost mid-transfer is retried within the same pull, continuing with a Range request
# (If-Range: the ETag) from where it stopped; the result is identical.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"

make_temp_dir
W=$TEMP_DIR
mkdir -p "$W/tree/etc" "$W/tree/usr/lib" "$W/images"
printf 'ID=retry\n' >"$W/tree/etc/os-release"
head -c 2000000 /dev/urandom >"$W/tree/usr/lib/blob"
tar -C "$W/tree" -cf "$W/t.tar" .
xz -0 -c "$W/t.tar" >"$W/retry.tar.xz"
SIZE=$(stat -c %s "$W/retry.tar.xz")
CUT=$((SIZE / 3))
start_flaky_server "$W/retry.tar.xz" "$CUT"
sum=$(sha256sum "$W/retry.tar.xz" | cut -c1-64)

out=$(must "$COWPEN" --image-root="$W/images" pull-tar --verify=checksum --checksum="$sum" "$FLAKY_URL/pub/retry.tar.xz")
# GNU tar's default format keeps mtimes to the second.
must treecmp --no-top --mtime-seconds "$W/tree" "$W/images/retry"
grep -q 'Retrying' <<<"$out" || fail "no retry reported: $out"
[ "$(grep -c '^20[06] ' "$FLAKY_LOG")" -eq 2 ] || fail "expected two requests: $(cat "$FLAKY_LOG")"
sed -n 1p "$FLAKY_LOG" | grep -q '^200 None None$' || fail "first request: $(cat "$FLAKY_LOG")"
sed -n 2p "$FLAKY_LOG" | grep -q "^206 bytes=$CUT- \"flaky-$SIZE\"$" || fail "second request did not continue at $CUT: $(cat "$FLAKY_LOG")"
left=$(ls -A "$W/images" | grep '^\.#' | grep -v '\.lck$' || true)
[ -z "$left" ] || fail "leftovers: $left"
pass "retry continues where the connection was lost"
