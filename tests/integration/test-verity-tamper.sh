#!/bin/bash
# Tampering and signatures: a flipped bit in any data block, hash block or padding, a wrong root
# hash, bad signatures, untrusted certificates and out-of-range superblock fields are each refused
# with one line naming the failing part. Signatures interoperate with openssl smime both ways.
. "$TEST_SRCDIR/tests/lib/lib.sh"

command -v veritysetup >/dev/null || fail "veritysetup missing (scripts/install-deps.sh installs cryptsetup-bin)"
command -v openssl >/dev/null || fail "openssl missing (scripts/install-deps.sh installs it)"
make_temp_dir
cd "$TEMP_DIR"

# flip FILE BYTE: inverts the lowest bit of one byte.
flip() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# put_le FILE OFFSET BYTES VALUE: writes VALUE little-endian in BYTES bytes.
put_le() {
  local f=$1 off=$2 n=$3 v=$4 i s=
  for ((i = 0; i < n; i++)); do s+=$(printf '\\%03o' $(((v >> (8 * i)) & 255))); done
  printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# 16385 blocks of 4 KiB, sha256: 3 levels. Hash file: superblock block, level 2 (1 block) at
# 4096, level 1 (2 blocks) at 8192, level 0 (129 blocks) at 16384. The last level-0 block holds one
# digest, the top block two: the rest of them is padding.
head -c $((16385 * 4096)) /dev/urandom >img.raw
root=$(must "$COWPEN" verity-format img.raw)
cp img.raw img.orig
cp img.verity verity.orig
restore() { cp img.orig img.raw; cp verity.orig img.verity; }

check() { # check REGEX: verify fails with exit 1 and one line matching REGEX; veritysetup agrees
  must_fail 1 "$COWPEN" verity-verify img.raw
  assert_one_line_error "^cowpen: verity-verify img.raw: $1"
  ! veritysetup verify img.raw img.verity "$root" >/dev/null 2>&1 || fail "veritysetup accepts what cowpen refused ($1)"
  restore
}

must "$COWPEN" verity-verify -q img.raw
for blk in 0 1 127 128 7777 16384; do
  flip img.raw $((blk * 4096 + 1234))
  check "data block $blk \\(byte $((blk * 4096))\\) does not match"
done
flip img.verity $((16384 + 100 * 4096 + 5)); check "hash block 100 at level 0 "
flip img.verity $((16384 + 128 * 4096)); check "hash block 128 at level 0 "
flip img.verity $((8192 + 4096 + 31)); check "hash block 1 at level 1 "
flip img.verity $((8192 + 7)); check "hash block 0 at level 1 "
flip img.verity $((4096 + 3)); check "root hash does not match the top hash block"
flip img.verity $((16384 + 128 * 4096 + 32)); check "padding of hash block 128 at level 0 "
flip img.verity $((16384 + 129 * 4096 - 1)); check "padding of hash block 128 at level 0 "
flip img.verity $((4096 + 64)); check "padding of hash block 0 at level 2 "
pass "flipped bits name data block, hash block and level, padding"

must_fail 1 "$COWPEN" verity-verify img.raw --root-hash="${root:0:63}$(printf '%x' $(((0x${root:63:1} + 1) % 16)))"
assert_one_line_error "root hash does not match"
# 62 hex digits are no digest at all (bad usage); a sha512 one does not fit this sha256 tree (a failure).
must_fail 2 "$COWPEN" verity-verify img.raw --root-hash="${root:0:62}"
assert_one_line_error "root-hash=${root:0:62}: not a sha1, sha256 or sha512 hex digest"
must_fail 1 "$COWPEN" verity-verify img.raw --root-hash="$root$root"
assert_one_line_error "root hash from --root-hash is not 32 bytes of hex"
# Given or found but unusable: refused, never skipped (fail closed).
printf 'zz%s' "${root:2}" >img.roothash
must_fail 1 "$COWPEN" verity-verify img.raw
assert_one_line_error "root hash from img.roothash is not"
rm img.roothash
must_fail 1 "$COWPEN" verity-verify img.raw
assert_one_line_error "no root hash"
setfattr -n user.verity.roothash -v "$root" img.raw 2>/dev/null && {
  must "$COWPEN" verity-verify -q img.raw
  setfattr -x user.verity.roothash img.raw
}
printf '%s' "$root" >img.roothash
# A data file that is not a whole number of blocks: its tail would be unprotected.
printf x >>img.raw
must_fail 1 "$COWPEN" verity-verify img.raw
assert_one_line_error "data size $((16385 * 4096 + 1)) does not match"
restore
truncate -s $((16385 * 4096 + 100)) img.raw
must_fail 1 "$COWPEN" verity-format img.raw
assert_one_line_error "not a multiple of the data block size 4096"
restore
truncate -s $((20 * 4096)) img.verity
must_fail 1 "$COWPEN" verity-verify img.raw
assert_one_line_error "img.verity is 81920 bytes, the tree needs"
restore
pass "root hash checks, unprotected tails, short tree"

# Superblock fields out of range (offsets of cryptsetup's struct verity_sb), each at limit + 1.
sb() { # sb OFFSET BYTES VALUE FIELD
  put_le img.verity "$1" "$2" "$3"
  must_fail 1 "$COWPEN" verity-verify img.raw
  assert_one_line_error "superblock of img.verity: bad $4\$"
  restore
}
sb 0 1 0 signature
sb 8 4 2 version
sb 12 4 2 hash_type
sb 64 4 131072 data_block_size
sb 64 4 256 data_block_size
sb 64 4 4097 data_block_size
sb 68 4 131072 hash_block_size
sb 68 4 6144 hash_block_size
sb 72 8 0 data_blocks
sb 72 8 $(((1 << 40) + 1)) data_blocks
sb 80 2 257 salt_size
sb 80 2 31 padding
sb 84 1 1 padding
sb 500 1 1 padding
printf 'md5\0\0\0' | dd of=img.verity bs=1 seek=32 conv=notrunc status=none
must_fail 1 "$COWPEN" verity-verify img.raw; assert_one_line_error "bad algorithm"; restore
# Valid but not what the caller pinned, or not what the data is.
must_fail 1 "$COWPEN" verity-verify img.raw --hash=sha512
assert_one_line_error "superblock of img.verity: algorithm differs from the one given"
must_fail 1 "$COWPEN" verity-verify img.raw --salt=00
assert_one_line_error "salt differs"
put_le img.verity 72 8 16384
must_fail 1 "$COWPEN" verity-verify img.raw
assert_one_line_error "data size .* does not match the 16384 blocks"
restore
pass "superblock fields out of range or not as pinned"

# Signatures: openssl smime → cowpen, cowpen → openssl smime, both byte-identical (RSA PKCS#1 v1.5).
mkdir certs other
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=cowpen-test 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout key2.pem -out cert2.pem -days 2 -subj /CN=cowpen-other 2>/dev/null
cp cert.pem certs/test.crt
cp cert2.pem other/other.crt
printf '%s' "$root" >roothash.txt
openssl smime -sign -nocerts -noattr -binary -in roothash.txt -inkey key.pem -signer cert.pem -outform der -out ossl.p7s
out=$(must "$COWPEN" verity-verify img.raw --root-hash-sig=ossl.p7s --verity-certs=certs)
[[ $out == *"signed by certs/test.crt"* ]] || fail "signer not named: $out"
must "$COWPEN" verity-sign -q img.raw --private-key=key.pem --certificate=cert.pem
[ -f img.roothash.p7s ] || fail "verity-sign did not write img.roothash.p7s"
openssl smime -verify -binary -inform der -in img.roothash.p7s -content roothash.txt -certfile cert.pem -nointern -noverify \
  >/dev/null 2>&1 || fail "openssl smime rejects cowpen's signature"
cmp img.roothash.p7s ossl.p7s || fail "cowpen's signature differs from openssl smime's"
# As systemd-nspawn's --root-hash-sig=base64:…
out=$(must "$COWPEN" verity-verify img.raw --root-hash-sig="base64:$(base64 -w0 ossl.p7s)" --verity-certs=certs)
[[ $out == *"signed by certs/test.crt"* ]] || fail "base64: signature: $out"
must_fail 2 "$COWPEN" verity-verify img.raw --root-hash-sig="base64:%%%" --verity-certs=certs
assert_one_line_error "root-hash-sig=base64:%%%: malformed"
# IMAGE.roothash.p7s is found next to the image.
out=$(must "$COWPEN" verity-verify img.raw --verity-certs=certs)
[[ $out == *"signed by certs/test.crt"* ]] || fail "sidecar signature not used: $out"
# Found but not checkable: refused.
must_fail 1 "$COWPEN" verity-verify img.raw --verity-certs=other
assert_one_line_error "signature img.roothash.p7s: not signed by a trusted certificate \\(other\\)"
must_fail 1 "$COWPEN" verity-verify img.raw --verity-certs="$TEMP_DIR/none"
assert_one_line_error "not signed by a trusted certificate"
printf '%s\n' "$root" >nl.txt
openssl smime -sign -nocerts -noattr -binary -in nl.txt -inkey key.pem -signer cert.pem -outform der -out nl.p7s
must_fail 1 "$COWPEN" verity-verify img.raw --root-hash-sig=nl.p7s --verity-certs=certs
assert_one_line_error "signature nl.p7s: does not verify over root hash $root"
head -c 300 /dev/urandom >junk.p7s
must_fail 1 "$COWPEN" verity-verify img.raw --root-hash-sig=junk.p7s --verity-certs=certs
assert_one_line_error "signature junk.p7s: malformed"
# A signature by the other key, with the other certificate trusted too: named correctly.
openssl smime -sign -nocerts -noattr -binary -in roothash.txt -inkey key2.pem -signer cert2.pem -outform der -out other.p7s
cp cert2.pem certs/zz-other.crt
out=$(must "$COWPEN" verity-verify img.raw --root-hash-sig=other.p7s --verity-certs=certs)
[[ $out == *"signed by certs/zz-other.crt"* ]] || fail "wrong signer named: $out"
rm certs/zz-other.crt
# A valid signature over another root hash.
must_fail 1 "$COWPEN" verity-verify img.raw --root-hash-sig=other.p7s --verity-certs=other --root-hash="$(printf '%064d' 0)"
assert_one_line_error "root hash does not match|does not verify"
pass "PKCS#7 signatures both ways, trailing newline, untrusted certificate"

# Discoverable Partitions signature JSON, written and read.
must "$COWPEN" verity-sign -q img.raw --private-key=key.pem --certificate=cert.pem --output=x.p7s --partition-json=sig.json
fp=$(openssl x509 -in cert.pem -outform der | sha256sum | cut -d' ' -f1)
grep -q "\"rootHash\":\"$root\"" sig.json || fail "JSON lacks rootHash"
grep -q "\"certificateFingerprint\":\"$fp\"" sig.json || fail "JSON lacks the certificate fingerprint"
[ "$(grep -o '"signature":"[^"]*"' sig.json | cut -d'"' -f4 | base64 -d | sha256sum)" = "$(sha256sum <x.p7s | sed 's/-$/-/')" ] ||
  fail "JSON signature is not the p7s"
rm img.roothash.p7s
truncate -s 4096 sig.json # as a partition: NUL padded
out=$(must "$COWPEN" verity-verify img.raw --root-hash-sig=sig.json --verity-certs=certs)
[[ $out == *"signed by certs/test.crt"* ]] || fail "JSON signature: signer not named: $out"
other_root=$([ "${root:0:1}" = 0 ] && echo "1${root:1}" || echo "0${root:1}")
sed -i "s/\"rootHash\":\"$root\"/\"rootHash\":\"$other_root\"/" sig.json
grep -q "$other_root" sig.json || fail "could not tamper with the JSON"
must_fail 1 "$COWPEN" verity-verify img.raw --root-hash-sig=sig.json --verity-certs=certs
assert_one_line_error "signature sig.json: signs root hash"
printf '{"rootHash":"%s","signature":"!!"}' "$root" >bad.json
must_fail 1 "$COWPEN" verity-verify img.raw --root-hash-sig=bad.json --verity-certs=certs
assert_one_line_error "signature bad.json: malformed"
pass "signature JSON"

# Bad usage exits 2.
must_fail 2 "$COWPEN" verity-format --data-block-size=1000 img.raw
must_fail 2 "$COWPEN" verity-format --salt=xyz img.raw
must_fail 2 "$COWPEN" verity-sign img.raw
must_fail 2 "$COWPEN" verity-verify
# The tree never overwrites the data.
must_fail 1 "$COWPEN" verity-format img.raw --verity-data=img.raw
assert_one_line_error "the tree in img.raw would overwrite the data"
cmp img.raw img.orig || fail "data changed by a refused verity-format"
# Nothing half-written is left behind by a failed format.
ls -A | grep -q '^\.#' && fail "temporary files left behind"
pass "usage errors"

# Interrupted while hashing: exit 1, the previous tree untouched, no temporary file left. (Should
# the machine finish first, the result must then be complete and valid.)
head -c 512M /dev/zero >slow.raw
printf 'previous' >slow.verity
"$COWPEN" verity-format --threads=1 slow.raw >/dev/null 2>err.txt &
pid=$!
sleep 0.2
kill -INT $pid
rc=0
wait $pid || rc=$?
if [ $rc -eq 0 ]; then
  must "$COWPEN" verity-verify -q slow.raw
  log "verity-format finished before SIGINT arrived; checked its result instead"
else
  [ $rc -eq 1 ] || fail "interrupted verity-format exited $rc"
  grep -q "^cowpen: verity-format slow.raw: interrupted, nothing was kept$" err.txt || fail "interrupt message: $(cat err.txt)"
  [ "$(cat slow.verity)" = previous ] || fail "interrupted verity-format replaced slow.verity"
fi
ls -A | grep -q '^\.#' && fail "temporary files left behind after SIGINT"
pass "interrupted verity-format keeps nothing"
