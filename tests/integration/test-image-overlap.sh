#!/bin/bash
# A GPT or MBR whose partitions overlap is refused naming them ("partitions 1 and 2 overlap").
# Where the kernel has not scanned the loop device's partitions, cowpen adds the ones it uses
# with BLKPG, which refuses one that overlaps another (EBUSY), so run -i said "the kernel's
# partition table differs from the image's", which points at the wrong thing.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

[ "$(uname -m)" = x86_64 ] || skip "the test images use x86-64 partition types"
raw_image_test_setup mkfs.ext4 python3

make_busybox_tree tree
truncate -s 8M ext.img
mkfs.ext4 -q -F -d tree ext.img >/dev/null || fail "mkfs.ext4 -d"

# mkimage OUT KIND: KIND gpt (partition 1 the x86-64 root at 1 MiB, partition 2 the x86-64 usr
# starting inside it) or mbr (a Linux and a swap partition sharing a sector); the ext4 file system
# at the start of partition 1.
mkimage() {
  python3 - "$1" "$2" ext.img <<'PY'
import struct, sys, uuid, zlib
out, kind, fs = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
size = 32 << 20
img = bytearray(size)
def mbr_entry(slot, typ, start, count):
    struct.pack_into("<B3sB3sII", img, 446 + 16 * slot, 0, b"\0\0\0", typ, b"\0\0\0", start, count)
img[510:512] = b"\x55\xaa"
if kind == "mbr":
    mbr_entry(0, 0x83, 2048, len(fs) // 512)
    mbr_entry(1, 0x82, 2048 + len(fs) // 512 - 1, 100)
    img[2048 * 512:2048 * 512 + len(fs)] = fs
else:
    mbr_entry(0, 0xEE, 1, size // 512 - 1)
    sectors = size // 512
    parts = [("4f68bce3-e8cd-4db1-96e7-fbcaf984b709", 2048, 2048 + len(fs) // 512 - 1),
             ("8484680c-9521-48c6-9c11-b0720656f69e", 2048 + len(fs) // 512 - 8, 2048 + 2 * len(fs) // 512)]
    entries = bytearray(128 * 128)
    for i, (t, first, last) in enumerate(parts):
        struct.pack_into("<16s16sQQQ", entries, 128 * i, uuid.UUID(t).bytes_le, uuid.uuid4().bytes_le, first, last, 0)
    hdr = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0, 1, sectors - 1, 34, sectors - 34,
                      uuid.uuid4().bytes_le, 2, 128, 128, zlib.crc32(entries))
    hdr = hdr[:16] + struct.pack("<I", zlib.crc32(hdr)) + hdr[20:]
    img[512:512 + len(hdr)] = hdr
    img[1024:1024 + len(entries)] = entries
    img[2048 * 512:2048 * 512 + len(fs)] = fs
open(out, "wb").write(img)
PY
}
mkimage gpt.raw gpt
mkimage mbr.raw mbr
must_fail 1 "$COWPEN" run -i gpt.raw true
assert_one_line_error '^cowpen: run -i gpt.raw: corrupt partition table: partitions 1 and 2 overlap$'
must_fail 1 "$COWPEN" run -i mbr.raw true
assert_one_line_error '^cowpen: run -i mbr.raw: corrupt partition table: partitions 1 and 2 overlap$'
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "overlapping GPT and MBR partitions named"
