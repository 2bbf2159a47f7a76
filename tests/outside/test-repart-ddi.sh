#!/bin/bash
# Interoperability with systemd-repart (Debian 12: systemd 252, /usr/bin/systemd-repart is in the
# `systemd` package): repart builds a DDI from partition definitions made here (a squashfs root
# from a busybox tree, its root-verity hash partition and a root-verity-sig partition signed with
# a key and certificate made here with openssl), and `cowpen run -i IMAGE --verity-certs=DIR`
# runs a command in it. Then, each on a copy: a flipped byte in the root partition's data (found
# through the partition table, sfdisk -J) is refused with one line naming the data block and its
# byte; a flipped byte of the hash tree, a tampered signature, a changed rootHash in the
# signature JSON and an untrusted certificate are refused too. veritysetup verify (userspace, no
# device-mapper needed) is the reference that repart's hash tree is good and the tampered data is
# not.
#
# Facts of repart 252 this relies on (man/repart.d.xml and src/partition/repart.c of 252.39):
# - Type=root is the native root type (root-x86-64 here); Format=squashfs with a single
#   CopyFiles=DIR:/ runs `mksquashfs DIR DEVICE -quiet -noappend` on a loop device of the future
#   partition; Verity=data/hash/signature with one VerityMatchKey= tie the three together; the
#   data and hash partitions' UUIDs are the first and last 128 bits of the root hash.
# - repart 252 formats verity with the disk's sector size as data and hash block size (512 bytes,
#   not 4096 as veritysetup's default), so the block numbers below come from the superblock.
# - The signature partition holds {"rootHash","certificateFingerprint","signature"}: a DER PKCS#7
#   that, unlike the one `openssl smime -nocerts` makes, carries the signer's certificate.
# - --seed= makes the partition UUIDs reproducible; --size=auto sizes the file.
# It needs no systemd as PID 1 and no udev: it attaches loop devices itself (and detaches them).
# It runs in its own mount namespace with a private /run, so that nothing of libcryptsetup's
# (/run/cryptsetup) lands in the host's /run.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

image_test_setup squashfs outside.txt systemd-repart mksquashfs sfdisk openssl veritysetup python3 unshare
# Loop devices of any file here (repart's, if it is killed halfway; cowpen's), detached at exit.
at_exit "losetup -n -O NAME,BACK-FILE | awk -v w='$W/' 'index(\$2, w) == 1 { print \$1 }' | xargs -r -n1 losetup -d"

make_busybox_tree tree
echo "made-by-repart" >tree/etc/marker
make_verity_cert "$W"
mkdir defs other
cat >defs/10-root.conf <<EOF
[Partition]
Type=root
Format=squashfs
CopyFiles=$W/tree:/
Verity=data
VerityMatchKey=root
EOF
cat >defs/20-root-verity.conf <<EOF
[Partition]
Type=root-verity
Verity=hash
VerityMatchKey=root
EOF
cat >defs/30-root-verity-sig.conf <<EOF
[Partition]
Type=root-verity-sig
Verity=signature
VerityMatchKey=root
EOF

repart() {
  unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec "$@"' repart \
    systemd-repart --pretty=no --no-pager "$@"
}
repart --empty=create --size=auto --definitions=defs --private-key=key.pem \
  --certificate=cert.pem --seed=0d5e0f6c-7c3e-4c1a-9a57-6a3c4f1e2b10 --json=short img.raw \
  >repart.json 2>repart.log || { cat repart.log >&2; fail "systemd-repart could not build the image"; }
[ -z "$(leftovers)" ] || fail "systemd-repart left loop devices: $(leftovers)"

# The partitions, from the partition table (not from repart's own report): by their names, which
# repart 252 sets to the type's name (root-x86-64, root-x86-64-verity, root-x86-64-verity-sig).
eval "$(sfdisk -J img.raw | python3 -c '
import json, sys
t = json.load(sys.stdin)["partitiontable"]
ss = t.get("sectorsize", 512)
for p in t["partitions"]:
    n = p.get("name", "")
    key = "SIG" if n.endswith("-verity-sig") else "VER" if n.endswith("-verity") else "ROOT" if n.startswith("root-") else None
    if key:
        print("%s_START=%d %s_SIZE=%d %s_UUID=%s %s_NAME=%s" % (key, p["start"] * ss, key, p["size"] * ss, key, p["uuid"].lower(), key, n))
')"
[ -n "${ROOT_START:-}" ] && [ -n "${VER_START:-}" ] && [ -n "${SIG_START:-}" ] ||
  fail "repart's image lacks a root, root-verity or root-verity-sig partition: $(sfdisk -d img.raw)"
ROOT_HASH=$(python3 -c 'import json, sys; print([p["roothash"] for p in json.load(open(sys.argv[1])) if p.get("roothash")][0])' repart.json)
[ ${#ROOT_HASH} -eq 64 ] || fail "no root hash in repart's JSON output"
[ "${ROOT_UUID//-/}" = "${ROOT_HASH:0:32}" ] && [ "${VER_UUID//-/}" = "${ROOT_HASH:32:32}" ] ||
  fail "partition UUIDs $ROOT_UUID/$VER_UUID are not the halves of the root hash $ROOT_HASH"
# The squashfs is at the start of the root partition; the hash partition opens with a verity
# superblock ("verity\0\0"; data block size at byte 64, hash block size at 68).
[ "$(dd if=img.raw bs=1 skip="$ROOT_START" count=4 status=none)" = hsqs ] || fail "the root partition is no squashfs"
[ "$(dd if=img.raw bs=1 skip="$VER_START" count=6 status=none)" = verity ] || fail "the root-verity partition has no verity superblock"
u32() { dd if=img.raw bs=1 skip="$1" count=4 status=none | od -An -tu4 | tr -d ' '; }
DBS=$(u32 $((VER_START + 64)))
HBS=$(u32 $((VER_START + 68)))
log "repart: $ROOT_NAME at $ROOT_START+$ROOT_SIZE, $VER_NAME at $VER_START+$VER_SIZE, $SIG_NAME at $SIG_START; data/hash blocks $DBS/$HBS bytes; root hash $ROOT_HASH"
python3 - img.raw "$SIG_START" "$ROOT_HASH" <<'PY' || fail "the root-verity-sig partition holds no signature JSON for the root hash"
import json, sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2]))
    j = json.loads(f.read(16384).rstrip(b"\0"))
assert j["rootHash"] == sys.argv[3] and j["signature"] and len(j["certificateFingerprint"]) == 64
PY

# The reference: veritysetup verifies repart's hash tree over the root partition (userspace).
dd if=img.raw of=root.part bs=512 skip=$((ROOT_START / 512)) count=$((ROOT_SIZE / 512)) status=none
dd if=img.raw of=verity.part bs=512 skip=$((VER_START / 512)) count=$((VER_SIZE / 512)) status=none
must veritysetup verify root.part verity.part "$ROOT_HASH" >/dev/null
pass "systemd-repart built a squashfs root, root-verity and root-verity-sig DDI; veritysetup verifies it"

# cowpen runs it when the certificate is trusted; read-only, as a verity root is.
out=$("$COWPEN" run -i img.raw --verity-certs=certs /bin/sh -c '. /etc/os-release; echo "$ID"; cat /etc/marker; touch /x 2>/dev/null || echo ro') ||
  fail "cowpen run -i of repart's image failed: $out"
[ "$out" = $'busybox\nmade-by-repart\nro' ] || fail "cowpen run -i of repart's image: $out"
must "$COWPEN" run -i img.raw --verity-certs=certs --image-policy=root=verity+signed true
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "cowpen run -i runs repart's signed image (read-only, policy root=verity+signed met)"

# Not trusted: an empty trust directory, and one with another certificate.
must_fail 1 "$COWPEN" run -i img.raw --verity-certs=other true
assert_one_line_error 'not signed by a trusted certificate'
openssl req -x509 -newkey rsa:2048 -nodes -keyout other/k.pem -out other/o.crt -days 2 -subj /CN=other 2>/dev/null ||
  fail "openssl req"
must_fail 1 "$COWPEN" run -i img.raw --verity-certs=other true
assert_one_line_error 'not signed by a trusted certificate'
pass "untrusted certificate refused"

# One flipped bit in the root partition's data: at its first byte, inside the squashfs and at the
# partition's last byte (the hash tree covers the whole partition). The error names the data block
# (in repart's block size) and its byte in the image file.
u64() { dd if=img.raw bs=1 skip="$1" count=8 status=none | od -An -tu8 | tr -d ' '; }
sq_size=$(u64 $((ROOT_START + 40))) # the squashfs superblock's bytes_used
[ "$sq_size" -gt 0 ] && [ "$sq_size" -le "$ROOT_SIZE" ] || fail "squashfs size $sq_size?"
for off in 0 $((sq_size / 2 + 1)) $((ROOT_SIZE - 1)); do
  cp img.raw bad.raw
  flip_bit bad.raw $((ROOT_START + off))
  block=$((off / DBS))
  must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
  assert_one_line_error "verity: data block $block \\(byte $((ROOT_START + block * DBS))\\) does not match its digest"
  log "  flipped byte $off of the root partition: $ERR"
done
# The reference agrees that the last one is broken.
dd if=bad.raw of=root.part bs=512 skip=$((ROOT_START / 512)) count=$((ROOT_SIZE / 512)) status=none
veritysetup verify root.part verity.part "$ROOT_HASH" >/dev/null 2>&1 && fail "veritysetup accepts the tampered root partition"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "flipped bytes in the root partition refused, naming the data block"

# A flipped bit in the hash tree (4 KiB in: past the superblock, which fills the first hash block).
cp img.raw bad.raw
flip_bit bad.raw $((VER_START + 4096 + 1))
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
assert_one_line_error 'verity: .*(root hash|hash block).* does not match'
log "  flipped byte 4097 of the root-verity partition: $ERR"
pass "flipped byte in the root-verity partition refused"

# A tampered signature: one base64 character of the PKCS#7's last bytes (its RSA signature value)
# changed to another base64 character, the JSON otherwise intact. (A change in the certificate
# the PKCS#7 carries would not count: the trusted certificates come from --verity-certs.)
sig_edit() { # FIELD FROM_END: changes one character FROM_END before the end of the JSON string FIELD
  python3 - bad.raw "$SIG_START" "$1" "$2" <<'PY'
import sys
path, start, field, back = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
with open(path, "r+b") as f:
    f.seek(start)
    d = f.read(16384)
    i = d.index(b'"%s":"' % field.encode()) + len(field) + 4
    k = d.index(b'"', i) - back
    while d[k:k + 1] == b"=":
        k -= 1
    c = d[k:k + 1]
    f.seek(start + k)
    # Another value, not another spelling: hex is read case-insensitively ("b" → "B" would be
    # the same digit), base64 is not.
    if field == "rootHash":
        f.write(b"0" if c != b"0" else b"1")
    else:
        f.write(b"B" if c != b"B" else b"C")
PY
}
cp img.raw bad.raw
sig_edit signature 10 || fail "cannot edit the signature"
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
assert_one_line_error 'root hash signature does not verify'
log "  tampered signature: $ERR"
pass "tampered signature refused"

# The JSON's rootHash changed: neither signed nor the partitions' root hash.
cp img.raw bad.raw
sig_edit rootHash 1 || fail "cannot edit the rootHash"
must_fail 1 "$COWPEN" run -i bad.raw --verity-certs=certs true
assert_one_line_error 'run -i bad.raw: .*(root hash|signature)'
log "  changed rootHash: $ERR"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "changed rootHash in the signature partition refused"
