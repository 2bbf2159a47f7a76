#!/bin/bash
# Interoperability with veritysetup, both ways: trees cowpen makes verify with `veritysetup verify`
# and are identical byte for byte to veritysetup's when salt and UUID are the same; trees
# veritysetup makes verify with cowpen. 1, 128, 129, 16385 blocks and 1 GiB; salt given and
# random; no superblock; data and tree in one file; other hashes, block sizes and format 0.
. "$TEST_SRCDIR/tests/lib/lib.sh"

command -v veritysetup >/dev/null || fail "veritysetup missing (scripts/install-deps.sh installs cryptsetup-bin)"
make_temp_dir
cd "$TEMP_DIR"

vs_root() { awk '/^Root hash:/ {print $3}'; }
rand_hex() { head -c "$1" /dev/urandom | od -An -tx1 -v | tr -d ' \n'; }

# interop NAME BLOCKS [format options…]: both directions for one geometry.
interop() {
  local name=$1 blocks=$2; shift 2
  local bs=4096 opt
  for opt in "$@"; do [[ $opt == --data-block-size=* ]] && bs=${opt#*=}; done
  head -c $((blocks * bs)) /dev/urandom >"$name.raw"
  local salt uuid ref root
  salt=$(rand_hex 32)
  uuid=$(cat /proc/sys/kernel/random/uuid)

  # Same salt and UUID: byte for byte identical trees and the same root hash.
  ref=$(veritysetup format --salt="$salt" --uuid="$uuid" "$@" "$name.raw" "$name.ref" | vs_root)
  root=$(must "$COWPEN" verity-format --salt="$salt" --uuid="$uuid" "$@" "$name.raw")
  [ "$root" = "$ref" ] || fail "$name: root hash $root, veritysetup says $ref"
  [ "$(cat "$name.roothash")" = "$root" ] || fail "$name: $name.roothash does not hold the root hash"
  [ "$(wc -c <"$name.roothash")" -eq ${#root} ] || fail "$name: $name.roothash is not hex without newline"
  cmp "$name.verity" "$name.ref" || fail "$name: tree differs from veritysetup's"
  veritysetup verify "$name.raw" "$name.verity" "$root" >/dev/null || fail "$name: veritysetup rejects cowpen's tree"
  must "$COWPEN" verity-verify -q "$name.raw" --verity-data="$name.ref" --root-hash="$ref"

  # Different UUID, same salt: only the 16 UUID bytes (17…32) differ.
  must "$COWPEN" verity-format --salt="$salt" "$@" "$name.raw" >/dev/null
  local diff
  diff=$({ cmp -l "$name.verity" "$name.ref" || true; } | awk '$1 < 17 || $1 > 32' | wc -l)
  [ "$diff" -eq 0 ] || fail "$name: trees differ outside the UUID"

  # Random salt both ways.
  root=$(must "$COWPEN" verity-format "$@" "$name.raw")
  veritysetup verify "$name.raw" "$name.verity" "$root" >/dev/null || fail "$name: veritysetup rejects cowpen's tree (random salt)"
  ref=$(veritysetup format "$@" "$name.raw" "$name.ref" | vs_root)
  must "$COWPEN" verity-verify -q "$name.raw" --verity-data="$name.ref" --root-hash="$ref"
  # The sidecar IMAGE.roothash (written by verity-format) is found when --root-hash is not given.
  must "$COWPEN" verity-verify -q "$name.raw"
  pass "$name: $blocks blocks $*"
}

interop b1 1
interop b128 128
interop b129 129
interop b16385 16385
interop sha1 300 --hash=sha1
interop sha512 300 --hash=sha512
interop small 777 --data-block-size=512 --hash-block-size=512
interop big 40 --data-block-size=65536 --hash-block-size=65536
interop mixed 1000 --data-block-size=1024 --hash-block-size=8192 --hash=sha1
interop fmt0 2000 --format=0 --hash=sha1
interop fmt0b 129 --format=0

# No superblock: the parameters come from the command line.
head -c $((300 * 4096)) /dev/urandom >nosb.raw
salt=$(rand_hex 32)
ref=$(veritysetup format --no-superblock --salt="$salt" nosb.raw nosb.ref | vs_root)
root=$(must "$COWPEN" verity-format --no-superblock --salt="$salt" nosb.raw)
[ "$root" = "$ref" ] || fail "no-superblock: root hash differs"
cmp nosb.verity nosb.ref || fail "no-superblock: tree differs"
veritysetup verify --no-superblock --salt="$salt" nosb.raw nosb.verity "$root" >/dev/null || fail "no-superblock: veritysetup rejects"
must "$COWPEN" verity-verify -q --no-superblock --salt="$salt" nosb.raw --verity-data=nosb.ref
wrong_salt=$([ "${salt:0:1}" = 0 ] && echo "1${salt:1}" || echo "0${salt:1}")
must_fail 1 "$COWPEN" verity-verify --no-superblock --salt="$wrong_salt" nosb.raw
assert_one_line_error 'verity-verify nosb.raw: root hash does not match'
pass "no superblock"

# Data and tree in one file (hash offset right after the data).
head -c $((129 * 4096)) /dev/urandom >one.img
cp one.img two.img
salt=$(rand_hex 32)
uuid=$(cat /proc/sys/kernel/random/uuid)
off=$((129 * 4096))
ref=$(veritysetup format --hash-offset=$off --data-blocks=129 --salt="$salt" --uuid="$uuid" one.img one.img | vs_root)
root=$(must "$COWPEN" verity-format --hash-offset=$off --salt="$salt" --uuid="$uuid" two.img)
[ "$root" = "$ref" ] || fail "one file: root hash differs"
cmp one.img two.img || fail "one file: file differs from veritysetup's"
veritysetup verify --hash-offset=$off two.img two.img "$root" >/dev/null || fail "one file: veritysetup rejects"
must "$COWPEN" verity-verify -q --hash-offset=$off --root-hash="$ref" one.img
pass "data and tree in one file"

# A .raw image pairs with app.verity / app.roothash.
head -c $((64 * 4096)) /dev/urandom >app.raw
root=$(must "$COWPEN" verity-format app.raw)
[ -f app.verity ] && [ -f app.roothash ] || fail "app.raw: sidecars not named app.verity/app.roothash"
veritysetup verify app.raw app.verity "$root" >/dev/null || fail "app.raw: veritysetup rejects"
must "$COWPEN" verity-verify -q app.raw
pass "sidecar names drop .raw"

# A name that is no file here is a raw image of the image root.
mkdir -p root/tree empty
cp app.raw root/store.raw
root=$(cd "$TEMP_DIR/empty" && must "$COWPEN" --image-root="$TEMP_DIR/root" verity-format store)
[ -f root/store.verity ] && [ "$(cat root/store.roothash)" = "$root" ] || fail "image root: sidecars not next to store.raw"
(cd "$TEMP_DIR/empty" && must "$COWPEN" --image-root="$TEMP_DIR/root" verity-verify -q store)
(cd "$TEMP_DIR/empty" && must_fail 1 "$COWPEN" --image-root="$TEMP_DIR/root" verity-verify tree && assert_one_line_error "verity-verify tree: image is a directory, not a raw image")
(cd "$TEMP_DIR/empty" && must_fail 1 "$COWPEN" --image-root="$TEMP_DIR/root" verity-verify nothing && assert_one_line_error "verity-verify nothing: no such file or image")
pass "images of the image root by name"

# 1 GiB, both ways, same salt and UUID: identical.

head -c 1G /dev/urandom >g.raw
salt=$(rand_hex 32)
uuid=$(cat /proc/sys/kernel/random/uuid)
ref=$(veritysetup format --salt="$salt" --uuid="$uuid" g.raw g.ref | vs_root)
root=$(must "$COWPEN" verity-format --salt="$salt" --uuid="$uuid" g.raw)
[ "$root" = "$ref" ] || fail "1 GiB: root hash differs"
cmp g.verity g.ref || fail "1 GiB: tree differs"
veritysetup verify g.raw g.verity "$root" >/dev/null || fail "1 GiB: veritysetup rejects cowpen's tree"
must "$COWPEN" verity-verify -q g.raw --verity-data=g.ref
pass "1 GiB"
