#!/bin/bash
# image-status of a raw image shows the OS of its root partition (it showed none), read as
# machinectl reads it: the image dissected, the root (else usr) partition mounted read-only,
# detached from every mount namespace, and nothing left behind (no loop device, no mount). The
# image is untrusted: an os-release that is a symlink out of it, or one over the size limit, is
# no os-release. And list-images counts "1 image", not "1 images".
. "$TEST_SRCDIR/tests/lib/lib.sh"

[ "$(uname -m)" = x86_64 ] || skip "the test images use x86-64 partition types"
[ -e /dev/loop-control ] || skip "no loop device support (/dev/loop-control missing)"
for t in sfdisk mkfs.ext4 mksquashfs; do command -v $t >/dev/null || fail "$t missing (scripts/packages/boot.txt)"; done
make_temp_dir
T=$TEMP_DIR
R=$T/machines
mkdir -p "$R" "$T/tree/etc" "$T/usrtree/lib" "$T/hostile/etc"
printf 'ID=rawos\nNAME="Raw OS"\nPRETTY_NAME="Raw OS 7"\nVERSION_ID=7\n' >"$T/tree/etc/os-release"
printf 'ID=usronly\nPRETTY_NAME="Usr Only 1"\n' >"$T/usrtree/lib/os-release"
ln -s /etc/os-release "$T/hostile/etc/os-release" # absolute: resolved inside the image, not the host's

cw() { "$COWPEN" --image-root="$R" "$@"; }
# Loop devices backed by our files and mounts of our paths: what a status could leave.
leftovers() { losetup -a | grep -F "$T" || true; grep -F "$T" /proc/self/mountinfo || true; }

# One image: the plural.
truncate -s 8M "$R/bare.raw"
mkfs.ext4 -q -F -d "$T/tree" "$R/bare.raw" >/dev/null
out=$(cw list-images)
[[ $out == *$'\n1 image listed.' ]] || fail "list-images with one image: $out"
pass "list-images: 1 image listed."

# A bare ext4 file system.
out=$(cw image-status bare)
grep -qx '        OS: Raw OS 7' <<<"$out" || fail "bare ext4: no OS line: $out"
grep -qx '            VERSION_ID=7' <<<"$out" || fail "bare ext4: no VERSION_ID: $out"
json=$(cw --json=short image-status bare)
python3 -c 'import json,sys; o=json.loads(sys.argv[1]); assert o["os_release"]["ID"] == "rawos" and o["type"] == "raw", o' "$json" ||
  fail "--json=short os_release: $json"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
[ "$(ls -A "$R")" = bare.raw ] || fail "image-status left something in the image root: $(ls -A "$R")"
pass "bare ext4 raw image: os-release shown, --json=short os_release"

# A GPT with a squashfs root partition (x86-64 root type) among others; a GPT with only usr.
gpt() { # gpt OUT FS TYPE
  local mib=$((1 << 20)) n
  n=$((($(stat -c %s "$2") + mib - 1) / mib))
  truncate -s $((n + 4))M "$1"
  sfdisk -q "$1" <<EOS >/dev/null || fail "sfdisk"
label: gpt
start=2048, size=2048, type=0657fd6d-a4ab-43c4-84e5-0933c84b4f4f, name=swap
start=4096, size=$((n * 2048)), type=$3
EOS
  dd if="$2" of="$1" bs=1M seek=2 conv=notrunc status=none
}
mksquashfs "$T/tree" "$T/root.squashfs" -quiet -noappend >/dev/null
gpt "$R/gpt.raw" "$T/root.squashfs" 4f68bce3-e8cd-4db1-96e7-fbcaf984b709
out=$(cw image-status gpt)
grep -qx '        OS: Raw OS 7' <<<"$out" || fail "GPT squashfs root: $out"
mksquashfs "$T/usrtree" "$T/usr.squashfs" -quiet -noappend >/dev/null
gpt "$R/usronly.raw" "$T/usr.squashfs" 8484680c-9521-48c6-9c11-b0720656f69e
out=$(cw image-status usronly)
grep -qx '        OS: Usr Only 1' <<<"$out" || fail "GPT with only usr: $out"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "GPT root and usr-only images: os-release shown"

# Untrusted: an absolute symlink stays inside the image (it names nothing there); over the limit;
# no file system at all. Each is still an image, without OS.
truncate -s 8M "$R/hostile.raw"
mkfs.ext4 -q -F -d "$T/hostile" "$R/hostile.raw" >/dev/null
head -c $((64 * 1024 + 1)) /dev/zero | tr '\0' a >"$T/hostile/big"
rm "$T/hostile/etc/os-release" && { printf 'ID=big\n'; cat "$T/hostile/big"; } >"$T/hostile/etc/os-release"
truncate -s 8M "$R/big.raw"
mkfs.ext4 -q -F -d "$T/hostile" "$R/big.raw" >/dev/null
head -c 4M /dev/zero >"$R/zero.raw"
for n in hostile big zero; do
  out=$(must cw image-status $n)
  ! grep -q '^ *OS:\|ID=' <<<"$out" || fail "$n: an os-release was shown: $out"
done
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "symlink out of the image, os-release over the limit, no file system: no OS, no error"

# A raw image held by a writer (a writable container: an exclusive OFD lock on .#NAME.lck) is not
# mounted a second time; its status comes without OS.
python3 - "$R/.#bare.lck" "$T/locked" <<'PY' &
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
F_OFD_SETLK = 37
fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0))
open(sys.argv[2], "w").close()
time.sleep(60)
PY
holder=$!
at_exit "kill $holder 2>/dev/null"
for _ in $(seq 100); do [ -e "$T/locked" ] && break; sleep 0.1; done
[ -e "$T/locked" ] || fail "the lock holder did not start"
out=$(must cw image-status bare)
! grep -q '^ *OS:' <<<"$out" || fail "an image held by a writer was mounted: $out"
kill $holder; wait $holder 2>/dev/null || true
pass "an image in use by a writer is not mounted"
