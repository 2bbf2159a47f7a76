#!/bin/bash
# cowpen run -x -i on a 1 GiB verity-protected erofs image: the verified file system, read-only,
# is the lower layer of an overlay, so nothing of the image's size is copied (the image lives on
# a loop file system of its own, whose use df reports while the run is up); writes inside are
# discarded and the image file is unchanged (sha256); --json=short names the root hash the run
# trusted. Without device-mapper the image is verified in full in userspace; an immutable one
# once, recorded (verity-cache.c) so later runs start without reading it; a flipped byte (the
# flag cleared and set again around it) is still refused with one line. -M NAME of NAME.raw the
# same.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

raw_image_test_setup mkfs.erofs veritysetup chattr
# The verification records of this test's runs go with it.
export COWPEN_VERITY_CACHE=$W/verity-cache
make_busybox_tree tree
echo verified > tree/etc/motd
mkdir -p tree/var/big
# About 1 GiB of incompressible data, made once here.
head -c 1000M /dev/urandom > tree/var/big/blob
make_loop_fs ext4 3G
I=$LOOP_MNT/images
mkdir "$I"
must mkfs.erofs --quiet "$I/app.raw" "$W/tree"
rm -r "$W/tree/var/big"
veritysetup format "$I/app.raw" "$I/app.verity" > "$W/vs.out" || fail "veritysetup format"
H=$(sed -n 's/^Root hash:[[:space:]]*//p' "$W/vs.out")
printf '%s' "$H" > "$I/app.roothash"
size=$(stat -c %s "$I/app.raw")
[ "$size" -ge $((1000 << 20)) ] || fail "image is only $size bytes"
chattr +i "$I/app.raw" "$I/app.verity" || skip "the file system cannot make files immutable"
at_exit "chattr -i '$I/app.raw' '$I/app.verity'"
sum=$(sha256sum < "$I/app.raw")

used_kb() { df --output=used -k "$LOOP_MNT" | tail -1 | tr -d ' '; }
hidden() { find "$I" -maxdepth 1 -name '.#machine.*' -type d | grep -c . || true; }
# Loop devices over this test's images (the image, or a pinned copy of it next to it: an unlinked
# file under $LOOP_MNT); other tests' and benches' loop devices on this machine are not ours.
my_loops() { losetup -a | grep -F "$LOOP_MNT/" || true; }

# 1. Up, with a write inside; while it runs, the image's file system holds no copy of it.
mkdir "$W/sig"
before=$(used_kb)
"$COWPEN" run -x -i "$I/app.raw" --bind="$W/sig:/sig" \
  sh -c 'echo changed > /etc/motd; head -c 1048576 /dev/zero > /etc/written; cat /etc/motd > /sig/motd; touch /sig/up; while [ ! -e /sig/done ]; do sleep 0.1; done' \
  > "$W/run.out" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -e "$W/sig/up" ] || ! kill -0 $pid 2>/dev/null || sleep 0.1; done
[ -e "$W/sig/up" ] || fail "the run did not come up: $(cat "$W/run.out")"
during=$(used_kb)
n_hidden=$(hidden)
# The machine's record names the root hash the run trusted.
"$COWPEN" list --json=short > "$W/list.json"
touch "$W/sig/done"
wait $pid || fail "run -x -i failed: $(cat "$W/run.out")"
[ "$(cat "$W/sig/motd")" = changed ] || fail "the write inside was not seen inside: $(cat "$W/sig/motd")"
[ "$n_hidden" -eq 1 ] || fail "expected one hidden overlay entry during the run, found $n_hidden"
python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert len(l) == 1 and l[0]["root_hash"] == sys.argv[2], l' \
  "$W/list.json" "$H" || fail "list --json=short during the run does not name root hash $H: $(cat "$W/list.json")"
# The 1 MiB written inside, the overlay's directories and the journal: far below the image.
[ $((during - before)) -lt $((64 << 10)) ] || fail "the run used $(((during - before) >> 10)) MiB next to a $((size >> 20)) MiB image"
pass "run -x -i of a $((size >> 20)) MiB verity image: up, $(((during - before) >> 10)) MiB used meanwhile (no copy)"

[ "$(hidden)" -eq 0 ] || fail "the overlay's hidden entry was left: $(ls -A "$I")"
[ "$(sha256sum < "$I/app.raw")" = "$sum" ] || fail "the image file changed"
out=$("$COWPEN" run -i "$I/app.raw" sh -c 'cat /etc/motd; [ ! -e /etc/written ] && echo gone')
[ "$out" = "verified
gone" ] || fail "writes were not discarded: $out"
[ -z "$(my_loops)" ] || fail "loop devices left behind: $(my_loops)"
pass "writes discarded, image unchanged, nothing left"

# 2. The full check was recorded once; the next runs use the record. --json=short tells on
# stderr which root hash was trusted, stdout stays the payload's.
[ "$(find "$COWPEN_VERITY_CACHE" -type f | grep -c .)" -eq 1 ] || fail "no verification record: $(ls -A "$COWPEN_VERITY_CACHE" 2>&1)"
out=$("$COWPEN" --json=short run -x -i "$I/app.raw" cat /etc/motd 2> "$W/json.err")
[ "$out" = verified ] || fail "second run: $out"
python3 - "$W/json.err" "$H" <<'PY' || fail "--json=short: $(cat "$W/json.err")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert o["root_hash"] == sys.argv[2], o
assert o["protection"] == "verity" and o["ephemeral"] == "overlayfs" and o["machine"] == "app", o
PY
pass "--json=short names the trusted root hash"

# 3. -M NAME of the image root's NAME.raw: the same overlay.
out=$("$COWPEN" --image-root="$I" run -x -M app sh -c 'echo x > /etc/motd && cat /etc/motd')
[ "$out" = x ] || fail "run -x -M app: $out"
[ "$(hidden)" -eq 0 ] || fail "run -x -M left its hidden entry"
pass "run -x -M NAME of NAME.raw"

# 4. A flipped byte in the middle of the data: the flag cleared and set again changes the file's
# ctime, so the record no longer applies and the full check refuses it.
chattr -i "$I/app.raw"
flip_bit "$I/app.raw" $((size / 2))
chattr +i "$I/app.raw"
must_fail 1 "$COWPEN" run -x -i "$I/app.raw" true
assert_one_line_error 'verity: data block [0-9]+ .*does not match'
# Not immutable: checked in full (on a pinned copy) every time, refused as well.
chattr -i "$I/app.raw"
must_fail 1 "$COWPEN" run -x -i "$I/app.raw" true
assert_one_line_error 'verity: data block [0-9]+ .*does not match'
flip_bit "$I/app.raw" $((size / 2))
[ "$(sha256sum < "$I/app.raw")" = "$sum" ] || fail "the flip was not undone"
# Back as it was, but not immutable: verified in full, runs (nothing recorded for it).
out=$("$COWPEN" run -x -i "$I/app.raw" cat /etc/motd)
[ "$out" = verified ] || fail "the restored image: $out"
[ "$(hidden)" -eq 0 ] && [ -z "$(my_loops)" ] || fail "left behind after refusals: $(ls -A "$I" | tr '\n' ' ') $(my_loops)"
pass "a flipped byte is refused with one line, also after a recorded verification"
