#!/bin/bash
# cowpen run -i on GPT images with a usr partition (Discoverable Partitions: usr, usr-verity,
# usr-verity-sig, UUIDs from the usr root hash): root + usr runs with the usr file system at
# /usr (also booted with -b), a usr-only image runs on a tmpfs root as systemd-nspawn runs it;
# a flipped byte in the usr partition, the certificate removed, a usr-verity partition whose
# UUID does not match and --image-policy's usr= are each refused with one line naming the usr
# partition, and nothing (loop device, mount point) is left behind.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

[ "$(uname -m)" = x86_64 ] || skip "the test images use x86-64 partition types"
raw_image_test_setup sfdisk mkfs.erofs mksquashfs veritysetup openssl

make_busybox_usr_trees root usr
echo from-the-root > root/etc/motd
[ ! -e root/usr/bin/busybox ] && [ -e usr/bin/busybox ] || fail "busybox is not only in the usr tree"
make_verity_cert "$W"
mkdir empty
must mkfs.erofs --quiet root.erofs root
must mkfs.erofs --quiet usr.erofs usr
make_gpt_usr_image img.raw root.erofs usr.erofs "$W"

# Root and /usr both there; /usr read-only (verity).
out=$("$COWPEN" run -i img.raw --verity-certs=certs /bin/sh -c \
  'cat /etc/motd; ls /usr/bin/busybox; . /etc/os-release; echo $ID; touch /usr/x 2>/dev/null || echo usr-ro')
[ "$out" = $'from-the-root\n/usr/bin/busybox\nbusybox\nusr-ro' ] || fail "root + usr image: $out"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "root + signed usr partition: /usr from the usr partition"

# Booted: init is /sbin/init → usr/sbin/init, in the usr partition.
out=$(timeout 60 "$COWPEN" run -b -i img.raw --verity-certs=certs 2>&1) || fail "-b: exit $? ($out)"
grep -q busybox-init-up <<<"$out" || fail "-b: init did not run: $out"
pass "-b with the usr partition"

# -x: a private copy; nothing left next to the image.
sum=$(sha256sum img.raw)
must "$COWPEN" run -x -i img.raw --verity-certs=certs /usr/bin/busybox true
[ "$(sha256sum img.raw)" = "$sum" ] || fail "-x changed the image"
[ "$(ls -A "$W" | grep -c '^\.#\|tmp')" -eq 0 ] || fail "-x left a copy: $(ls -A "$W")"
pass "-x on a root + usr image"

# Image policies per partition.
must "$COWPEN" run -i img.raw --verity-certs=certs --image-policy='root=unprotected:usr=signed' true
must "$COWPEN" run -i img.raw --verity-certs=certs --image-policy='root=unprotected:usr=verity' true
must_fail 1 "$COWPEN" run -i img.raw --verity-certs=certs --image-policy='root=unprotected:usr=unprotected' true
assert_one_line_error 'image policy refuses a usr partition that is signed'
must_fail 1 "$COWPEN" run -i img.raw --verity-certs=certs --image-policy='root=unprotected:usr=absent' true
assert_one_line_error 'image policy refuses a usr partition that is signed'
# usr=unused: left alone, so the root's empty /usr is what is there: no programs, and its
# os-release (→ ../usr/lib/os-release) is missing, which only booting requires (as nspawn 252).
must_fail 1 "$COWPEN" run -i img.raw --verity-certs=certs --image-policy='root=unprotected:usr=unused' true
assert_one_line_error 'execute true: No such file or directory'
must_fail 1 "$COWPEN" run -b -i img.raw --verity-certs=certs --image-policy='root=unprotected:usr=unused'
assert_one_line_error 'not an OS tree'
pass "image policy per partition"

# The certificate removed: refused, naming the usr partition.
must_fail 1 "$COWPEN" run -i img.raw --verity-certs=empty true
assert_one_line_error 'usr partition: root hash signature: not signed by a trusted certificate'
pass "untrusted usr signature refused"

# A flipped byte in the usr partition, wherever it is.
for off in 0 1500 $(( $(stat -c %s usr.erofs) - 1 )); do
  cp img.raw bad.raw
  flip_bit bad.raw $((USR_START + off))
  must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
  assert_one_line_error 'usr partition: verity: data block [0-9]+ .* does not match'
done
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "flipped bytes in the usr partition refused"

# A usr-verity partition whose UUID is not the usr hash's last 128 bits.
cp img.raw bad.raw
sfdisk -q --part-uuid bad.raw "$USR_VERITY_PARTNO" 01234567-89ab-cdef-0123-456789abcdef || fail "sfdisk --part-uuid"
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
assert_one_line_error 'usr partition: root hash from the usr-verity-sig partition but no usr-verity partition whose UUID matches it'
# …and a usr partition whose UUID does not match.
cp img.raw bad.raw
sfdisk -q --part-uuid bad.raw "$USR_PARTNO" 01234567-89ab-cdef-0123-456789abcdef || fail "sfdisk --part-uuid"
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
assert_one_line_error 'no usr partition whose UUID matches the root hash from the usr-verity-sig partition'
# The signature JSON's rootHash changed.
cp img.raw bad.raw
printf '{"rootHash":"%064d"}' 0 | dd of=bad.raw bs=1 seek=$USR_SIG_START conv=notrunc status=none
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
assert_one_line_error 'usr-verity-sig partition: malformed signature JSON|no usr partition whose UUID matches'
# A usr-verity-sig partition that is no JSON.
cp img.raw bad.raw
printf 'not json' | dd of=bad.raw bs=1 seek=$USR_SIG_START conv=notrunc status=none
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
assert_one_line_error 'usr-verity-sig partition: malformed signature JSON'
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "mismatching usr UUIDs and signature partitions refused"

# usr only: a tmpfs root (writable) with the usr partition at /usr and bin, sbin → usr/….
must mksquashfs usr usr.sqfs -quiet -noappend
make_gpt_usr_image usronly.raw "" usr.sqfs "$W"
out=$("$COWPEN" run -i usronly.raw --verity-certs=certs /bin/sh -c \
  'readlink /bin; ls /usr/bin/busybox; echo x > /new && cat /new; touch /usr/x 2>/dev/null || echo usr-ro; . /usr/lib/os-release; echo $ID')
[ "$out" = $'usr/bin\n/usr/bin/busybox\nx\nusr-ro\nbusybox' ] || fail "usr-only image: $out"
out=$("$COWPEN" run --read-only -i usronly.raw --verity-certs=certs /bin/sh -c 'touch /new 2>/dev/null || echo ro')
[ "$out" = ro ] || fail "usr-only --read-only: $out"
must_fail 1 "$COWPEN" run -i usronly.raw --verity-certs=certs --image-policy='root=verity+signed:usr=signed' true
assert_one_line_error 'image policy requires a root partition'
must "$COWPEN" run -i usronly.raw --verity-certs=certs --image-policy=signed true
must_fail 1 "$COWPEN" run -i usronly.raw --verity-certs=empty true
assert_one_line_error 'usr partition: root hash signature: not signed by a trusted certificate'
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "usr-only image on a tmpfs root"
