#!/bin/bash
# cowpen run -i on a GPT image built here: erofs root, root-verity and root-verity-sig partitions
# (x86-64 types, UUIDs from the root hash, JSON signature). It runs when its certificate is
# trusted; a flipped byte in the root partition, an untrusted certificate, a root hash that does
# not match, a broken partition table or an image policy that does not fit are each refused
# with one line, and nothing (loop device, mount point) is left behind. Also: a squashfs root,
# a single-partition MBR image and a bare ext4 image (writable, and read-only when the file is).
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

[ "$(uname -m)" = x86_64 ] || skip "the test images use x86-64 partition types"
raw_image_test_setup sfdisk mkfs.erofs mksquashfs veritysetup openssl

make_busybox_tree tree
echo "from-the-image" > tree/etc/motd
make_verity_cert "$W"
mkdir empty
must mkfs.erofs --quiet root.erofs tree
make_gpt_verity_image img.raw root.erofs "$W"

out=$("$COWPEN" run -i img.raw --verity-certs=certs /bin/sh -c 'cat /etc/motd; touch /x 2>/dev/null || echo ro')
[ "$out" = $'from-the-image\nro' ] || fail "signed GPT image: $out"
pass "signed GPT image runs (read-only)"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"

# Image policies.
must "$COWPEN" run -i img.raw --verity-certs=certs --image-policy=signed true
must "$COWPEN" run -i img.raw --verity-certs=certs --image-policy='root=verity+signed:=unused+absent' true
must_fail 1 "$COWPEN" run -i img.raw --verity-certs=certs --image-policy=root=unprotected true
assert_one_line_error 'image policy refuses a root that is signed'
must_fail 2 "$COWPEN" run -i img.raw --image-policy=root=bogus true
assert_one_line_error 'invalid --image-policy'
pass "image policies"

# Untrusted certificate: refused.
must_fail 1 "$COWPEN" run -i img.raw --verity-certs=empty true
assert_one_line_error 'not signed by a trusted certificate'
# Another trusted certificate whose fingerprint is not the one the partition names.
mkdir other && openssl req -x509 -newkey rsa:2048 -nodes -keyout other/k.pem -out other/c.crt -days 2 -subj /CN=o 2>/dev/null
must_fail 1 "$COWPEN" run -i img.raw --verity-certs=other true
pass "untrusted certificate refused"

# One flipped byte in the root partition: refused, whichever byte.
for off in 0 5000 $(( $(stat -c %s root.erofs) - 1 )); do
  cp img.raw bad.raw
  flip_bit bad.raw $((ROOT_START + off))
  must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
  assert_one_line_error 'verity: data block [0-9]+ .* does not match'
done
pass "flipped bytes in the root partition refused"

# A root hash that is not the signed one; a wrong one given explicitly.
must_fail 1 "$COWPEN" run -i img.raw --verity-certs=certs --root-hash="$(printf '%064d' 1)" true
assert_one_line_error 'no root partition whose UUID matches the root hash'
# The JSON's rootHash changed (signature no longer over it, UUIDs no longer match).
cp img.raw bad.raw
sig_off=$(( $(sfdisk -d img.raw | sed -n 's/.*img.raw3 : start= *\([0-9]*\),.*/\1/p') * 512 ))
printf '{"rootHash":"%064d"}' 0 | dd of=bad.raw bs=1 seek=$sig_off conv=notrunc status=none
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
pass "mismatching root hashes refused"

# Broken GPT: a header byte changed (CRC), the entry array changed (CRC).
cp img.raw bad.raw
printf 'X' | dd of=bad.raw bs=1 seek=$((512 + 40)) conv=notrunc status=none
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
assert_one_line_error 'corrupt partition table'
cp img.raw bad.raw
printf 'X' | dd of=bad.raw bs=1 seek=$((1024 + 60)) conv=notrunc status=none
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
assert_one_line_error 'corrupt partition table'
pass "corrupt GPT refused"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"

# squashfs root, unsigned verity: runs by default, refused when a signature is required.
must mksquashfs tree root.sqfs -quiet -noappend
make_gpt_verity_image sq.raw root.sqfs "$W"
out=$("$COWPEN" run -i sq.raw --verity-certs=certs cat /etc/motd)
[ "$out" = from-the-image ] || fail "squashfs GPT image: $out"
pass "squashfs root partition"

# -x: a private copy; the image file is unchanged and no copy is left next to it.
sum=$(sha256sum img.raw)
must "$COWPEN" run -x -i img.raw --verity-certs=certs true
[ "$(sha256sum img.raw)" = "$sum" ] || fail "-x changed the image"
[ "$(ls -A "$W" | grep -c '^\.#\|tmp')" -eq 0 ] || fail "-x left a copy: $(ls -A "$W")"
pass "-x private copy"

# Partition scan: an unprotected GPT image is on exactly one loop device, with partition scan,
# and the root is mounted from its partition device (sysfs start and size those of the table);
# after the run no loop device of the image is left.
truncate -s 8M plain.raw
printf 'label: gpt\nstart=2048, size=%s, type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709\n' \
  $(( ($(stat -c %s root.erofs) + 511) / 512 )) | sfdisk -q plain.raw || fail "sfdisk plain"
dd if=root.erofs of=plain.raw bs=1M seek=1 conv=notrunc status=none
"$COWPEN" run -i plain.raw /bin/sleep 41 &
holder=$!
at_exit "kill -9 $holder 2>/dev/null"
for _ in $(seq 100); do payload=$(pgrep -f '^/bin/sleep 41$') && break; sleep 0.1; done
[ -n "$payload" ] || fail "partition scan: the payload did not start"
loops=$(losetup -n -O NAME,PARTSCAN -j "$W/plain.raw")
[ "$(wc -l <<<"$loops")" -eq 1 ] || fail "partition scan: not exactly one loop device for the image: $loops"
read -r dev scan <<<"$loops"
[ "$scan" = 1 ] || fail "partition scan: $dev has no partition scan"
n=$(basename "$dev")
[ "$(cat /sys/class/block/${n}p1/start)" = 2048 ] || fail "partition scan: ${n}p1 does not start at sector 2048"
[ "$(cat /sys/class/block/${n}p1/size)" = $(( ($(stat -c %s root.erofs) + 511) / 512 )) ] || fail "partition scan: ${n}p1 size"
root_dev=$(awk '$5 == "/" { print $3 }' /proc/$payload/mountinfo)
[ "$root_dev" = "$(cat /sys/class/block/${n}p1/dev)" ] || fail "partition scan: the root is $root_dev, not ${n}p1"
kill -TERM $holder; wait $holder 2>/dev/null || true
for _ in $(seq 50); do [ -z "$(losetup -n -j "$W/plain.raw")" ] && break; sleep 0.1; done
[ -z "$(losetup -n -j "$W/plain.raw")" ] || fail "partition scan: loop device left: $(losetup -j "$W/plain.raw")"
[ ! -e /sys/class/block/${n}p1 ] || fail "partition scan: ${n}p1 left"
pass "one loop device with partition scan; the root from its partition device"

# MBR with one Linux partition holding ext4: writable.
truncate -s 40M ext.img
must mkfs.ext4 -q -d tree ext.img
truncate -s 48M mbr.raw
printf 'label: dos\nstart=2048, size=81920, type=83\n' | sfdisk -q mbr.raw || fail "sfdisk mbr"
dd if=ext.img of=mbr.raw bs=1M seek=1 conv=notrunc status=none
must "$COWPEN" run -i mbr.raw /bin/sh -c 'echo written >/etc/motd'
out=$("$COWPEN" run -i mbr.raw cat /etc/motd)
[ "$out" = written ] || fail "MBR ext4 image is not writable: $out"
# -x on it: changes gone.
must "$COWPEN" run -x -i mbr.raw /bin/sh -c 'echo ephemeral >/etc/motd'
out=$("$COWPEN" run -i mbr.raw cat /etc/motd)
[ "$out" = written ] || fail "MBR -x changed the image: $out"
pass "MBR image with ext4, writable; -x leaves it unchanged"

# Locks: a writable run holds the image exclusively; a second writable run is refused, -x and
# --read-only ones are not refused by a read-only one.
"$COWPEN" run -i mbr.raw /bin/sleep 30 &
holder=$!
at_exit "kill -9 $holder 2>/dev/null"
for _ in $(seq 100); do pgrep -f '^/bin/sleep 30$' >/dev/null && break; sleep 0.1; done
must_fail 1 "$COWPEN" run -i mbr.raw true
assert_one_line_error 'mbr.raw: image is in use'
must_fail 1 "$COWPEN" run -x -i mbr.raw true
kill -TERM $holder; wait $holder 2>/dev/null || true
"$COWPEN" run --read-only -i mbr.raw -M mbr-holder /bin/sleep 31 & # (the machine mbr stays free)
holder=$!
for _ in $(seq 100); do pgrep -f '^/bin/sleep 31$' >/dev/null && break; sleep 0.1; done
must "$COWPEN" run --read-only -i mbr.raw true
must "$COWPEN" run -x -i mbr.raw true
must_fail 1 "$COWPEN" run -i mbr.raw true
kill -TERM $holder; wait $holder 2>/dev/null || true
pass "locks: exclusive when writable, shared otherwise"

# -M NAME alone runs NAME.raw of the image root.
mkdir store
cp mbr.raw store/app.raw
out=$("$COWPEN" --image-root="$W/store" run -M app /bin/sh -c 'cat /etc/motd; hostname')
[ "$out" = $'written\napp' ] || fail "-M app with app.raw in the image root: $out"
pass "-M NAME runs NAME.raw of the image root"

# Bare ext4 file system; read-only when the file's mode says so.
cp ext.img bare.raw
chmod a-w bare.raw
out=$("$COWPEN" run -i bare.raw /bin/sh -c 'cat /etc/motd; touch /y 2>/dev/null || echo ro')
[ "$out" = $'from-the-image\nro' ] || fail "read-only bare ext4: $out"
must "$COWPEN" run --read-only -i img.raw --verity-certs=certs true
pass "bare ext4 image, read-only by its mode"

# Not an image.
head -c 1M /dev/zero > zero.raw
must_fail 1 "$COWPEN" run -i zero.raw true
assert_one_line_error 'no root partition or file system found'
must_fail 2 "$COWPEN" run --root-hash="$(printf '%064d' 1)" -D tree true
must_fail 2 "$COWPEN" run -i img.raw -D tree true
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "bad input refused"
