#!/bin/bash
# cowpen run -i through device-mapper: where /dev/mapper/control exists, a signed GPT image's
# root is a dm-verity device (the kernel checks every block on read) and the device is gone
# afterwards; a flipped byte is refused. Without device-mapper this path cannot run: skip.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

[ -e /dev/mapper/control ] || skip "no device-mapper (/dev/mapper/control): the userspace verified open is tested by test-run-image-gpt and test-run-image-sidecar"
[ "$(uname -m)" = x86_64 ] || skip "the test images use x86-64 partition types"
command -v dmsetup >/dev/null || fail "dmsetup is not installed"

make_temp_dir
W=$TEMP_DIR
cd "$W"
make_busybox_tree tree
make_verity_cert "$W"
must mkfs.erofs --quiet root.erofs tree
make_gpt_verity_image img.raw root.erofs "$W"

before=$(dmsetup ls | wc -l)
src=$("$COWPEN" run -i img.raw --verity-certs=certs /bin/sh -c 'cat /proc/self/mountinfo' | awk '$5 == "/" {print $10; exit}')
[[ $src == /dev/mapper/* || $src == /dev/dm-* ]] || fail "the root is $src, not a dm-verity device"
[ "$(dmsetup ls | wc -l)" -eq "$before" ] || fail "a dm device was left behind"
pass "root on dm-verity, removed afterwards"

cp img.raw bad.raw
printf 'X' | dd of=bad.raw bs=1 seek=$((ROOT_START + 5000)) conv=notrunc status=none
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs cat /etc/os-release
pass "flipped byte refused through dm-verity"
