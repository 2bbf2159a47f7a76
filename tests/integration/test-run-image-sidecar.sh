#!/bin/bash
# cowpen run -i on a bare file system image with sidecars (.roothash, .roothash.p7s, .verity),
# as systemd-nspawn finds them: runs when signed by a trusted certificate; refused with one
# line when a byte of the image is flipped, the certificate is not trusted, the signature does
# not match, a hash tree has no root hash or a root hash no hash tree; the xattr
# user.verity.roothash and --root-hash/--root-hash-sig/--verity-data take part as well.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

raw_image_test_setup mkfs.erofs veritysetup openssl
make_busybox_tree tree
echo sidecar-image > tree/etc/motd
make_verity_cert "$W"
mkdir empty s
must mkfs.erofs --quiet s/app.raw tree
veritysetup format s/app.raw s/app.verity > vs.out || fail "veritysetup"
H=$(sed -n 's/^Root hash:[[:space:]]*//p' vs.out)
printf '%s\n' "$H" > s/app.roothash
sign_root_hash "$H" key.pem cert.pem s/app.roothash.p7s

out=$("$COWPEN" run -i s/app.raw --verity-certs=certs cat /etc/motd)
[ "$out" = sidecar-image ] || fail "signed sidecars: $out"
pass "bare erofs with .roothash, .roothash.p7s, .verity runs"

must_fail 1 "$COWPEN" run -i s/app.raw --verity-certs=empty true
assert_one_line_error 'not signed by a trusted certificate'
pass "untrusted certificate refused"

cp -a s t
printf 'X' | dd of=t/app.raw bs=1 seek=7000 conv=notrunc status=none
must_fail 1 "$COWPEN" run -i t/app.raw --verity-certs=certs true
assert_one_line_error 'verity: data block 1 .*does not match'
rm -r t
pass "flipped byte refused"

# A signature over another root hash.
cp -a s t
sign_root_hash "$(printf '%064d' 7)" key.pem cert.pem t/app.roothash.p7s
must_fail 1 "$COWPEN" run -i t/app.raw --verity-certs=certs true
assert_one_line_error 'signature does not verify'
# Garbage as signature.
head -c 300 /dev/urandom > t/app.roothash.p7s
must_fail 1 "$COWPEN" run -i t/app.raw --verity-certs=certs true
assert_one_line_error 'signature is malformed'
rm -r t
pass "bad signatures refused"

# Partial verity: hash tree without root hash, root hash without hash tree, signature without.
cp -a s t; rm t/app.roothash t/app.roothash.p7s
must_fail 1 "$COWPEN" run -i t/app.raw true
assert_one_line_error 'hash tree is present but no root hash'
cp s/app.roothash t/
rm t/app.verity
must_fail 1 "$COWPEN" run -i t/app.raw true
assert_one_line_error 'no hash tree'
rm -r t
pass "incomplete verity refused"

# Unsigned verity: runs by default; refused when the policy wants a signature.
cp -a s t; rm t/app.roothash.p7s
must "$COWPEN" run -i t/app.raw true
must_fail 1 "$COWPEN" run -i t/app.raw --image-policy=signed true
assert_one_line_error 'image policy refuses a root that is verity'
# The root hash from the xattr instead of the sidecar; a wrong one there is refused.
rm t/app.roothash
if setfattr -n user.verity.roothash -v "$H" t/app.raw 2>/dev/null; then
  must "$COWPEN" run -i t/app.raw true
  setfattr -n user.verity.roothash -v "$(printf '%064d' 3)" t/app.raw
  must_fail 1 "$COWPEN" run -i t/app.raw true
  assert_one_line_error 'verity: root hash|does not match'
  pass "root hash from the user.verity.roothash xattr"
fi
rm -r t
pass "unsigned verity and policy"

# Everything from the command line, nothing next to the image.
mkdir c
cp s/app.raw c/plain.raw
must "$COWPEN" run -i c/plain.raw --root-hash="$H" --verity-data=s/app.verity \
  --root-hash-sig=s/app.roothash.p7s --verity-certs=certs true
must "$COWPEN" run -i c/plain.raw --root-hash="$H" --verity-data=s/app.verity \
  --root-hash-sig="base64:$(base64 -w0 s/app.roothash.p7s)" --verity-certs=certs true
must_fail 1 "$COWPEN" run -i c/plain.raw --root-hash="$(printf '%064d' 2)" --verity-data=s/app.verity true
must_fail 2 "$COWPEN" run -i c/plain.raw --root-hash=xyz --verity-data=s/app.verity true
assert_one_line_error 'not a sha256 or sha512 hex digest'
pass "--root-hash, --verity-data, --root-hash-sig (file and base64:)"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
