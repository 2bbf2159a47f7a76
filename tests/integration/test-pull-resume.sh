#!/bin/bash
# Resume: a pull killed mid-way (nginx slowed with limit_rate) keeps its partial download; the next
# pull of the same URL asks only for the rest (a 206 in nginx's log with fewer bytes than the file)
# and the result is identical. SIGTERM: nothing published, no tree left, partial kept. A changed
# file on the server (other ETag) is downloaded again from the start. clean removes stale partials
# and leaves one in use alone.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"

rootfs_txz
start_nginx
make_image_root
publish_rootfs rootfs.tar.xz

partial() { ls -A "$ROOT" | grep '^\.#pull-partial\.[0-9a-f]*$' || true; }
partial_size() { local p; p=$(partial); [ -n "$p" ] && stat -c %s "$ROOT/$p" || echo 0; }
wait_partial() {
  local want=$1 i
  for i in $(seq 300); do
    [ "$(partial_size)" -ge "$want" ] && return 0
    sleep 0.1
  done
  fail "the partial download did not reach $want bytes"
}
slow() { echo 1 >"$NGINX_ROOT/.rate"; }
fast() { rm -f "$NGINX_ROOT/.rate"; }
reset_log() { : >"$NGINX_LOG"; }
file_log() { nginx_log_for "/pub/$F"; }

# 1. SIGKILL mid-way, then resume.
slow
"$COWPEN" -q --image-root="$ROOT" pull-tar --verify=checksum "$URL" r1 &
pid=$!
at_exit "kill -9 $pid 2>/dev/null"
wait_partial $((4 << 20))
kill -KILL $pid
wait $pid 2>/dev/null || true
got=$(partial_size)
[ "$got" -gt 0 ] && [ "$got" -lt "$SIZE" ] || fail "partial has $got of $SIZE bytes"
fast
reset_log
out=$(must "$COWPEN" --image-root="$ROOT" pull-tar --verify=checksum "$URL" r1)
grep -q 'Resuming the partial download' <<<"$out" || fail "no resume reported: $out"
grep -q ', resumed,' <<<"$out" || fail "result not marked resumed: $out"
line=$(file_log)
[ "$(wc -l <<<"$line")" -eq 1 ] || fail "expected one request for the file: $line"
read -r status bytes _ <<<"$line"
[ "$status" = 206 ] || fail "resume was not a range request: $line"
[ "$bytes" -eq $((SIZE - got)) ] || fail "resume transferred $bytes bytes, expected $((SIZE - got)): $line"
grep -q "\"bytes=$got-\"" <<<"$line" || fail "range does not start at the partial's end: $line"
cmp_rootfs "$ROOT/r1"
[ -z "$(partial)" ] || fail "partial left after a successful pull"
# The killed run's hidden tree is a stale leftover: clean removes it.
ls -A "$ROOT" | grep -q '^\.#import-tar\.r1\.' || fail "the killed run left no hidden tree (test assumption)"
must "$COWPEN" -q --image-root="$ROOT" clean
! ls -A "$ROOT" | grep -q '^\.#import-tar\.' || fail "clean left the stale tree"
pass "resume after SIGKILL"

# 2. SIGTERM: stop, remove the partial tree, keep the resumable download, exit non-zero.
slow
"$COWPEN" -q --image-root="$ROOT" pull-tar --verify=checksum "$URL" r2 2>"$TEMP_DIR/err" &
pid=$!
at_exit "kill -9 $pid 2>/dev/null"
wait_partial $((2 << 20))
kill -TERM $pid
rc=0
wait $pid || rc=$?
[ "$rc" -ne 0 ] || fail "interrupted pull exited 0"
grep -q 'interrupted' "$TEMP_DIR/err" || fail "no interruption message: $(cat "$TEMP_DIR/err")"
[ "$(wc -l <"$TEMP_DIR/err")" -eq 1 ] || fail "interruption message is not one line: $(cat "$TEMP_DIR/err")"
[ ! -e "$ROOT/r2" ] || fail "interrupted pull published an image"
! ls -A "$ROOT" | grep -q '^\.#import-tar\.' || fail "interrupted pull left its tree: $(ls -A "$ROOT")"
got=$(partial_size)
[ "$got" -gt 0 ] || fail "interrupted pull dropped its partial download"
pass "SIGTERM"

# 3. The file changed on the server meanwhile: If-Range does not match, the pull starts over.
touch -d '2001-01-01' "$NGINX_ROOT/pub/$F"
fast
reset_log
out=$(must "$COWPEN" --image-root="$ROOT" pull-tar --verify=checksum "$URL" r2)
read -r status bytes _ <<<"$(file_log)"
[ "$status" = 200 ] && [ "$bytes" -eq "$SIZE" ] || fail "changed file not downloaded in full: $(file_log)"
grep -q ', resumed,' <<<"$out" && fail "a restarted download reported as resumed"
cmp_rootfs "$ROOT/r2"
pass "changed file starts over"

# 4. clean: leaves a partial in use alone, removes a stale one.
slow
"$COWPEN" -q --image-root="$ROOT" pull-tar --verify=checksum "$URL" r3 &
pid=$!
at_exit "kill -9 $pid 2>/dev/null"
wait_partial $((1 << 20))
must "$COWPEN" -q --image-root="$ROOT" clean
[ -n "$(partial)" ] || fail "clean removed a partial download in use"
kill -KILL $pid
wait $pid 2>/dev/null || true
must "$COWPEN" -q --image-root="$ROOT" clean
[ -z "$(partial)" ] || fail "clean left a stale partial download"
fast
pass "clean and partials"
