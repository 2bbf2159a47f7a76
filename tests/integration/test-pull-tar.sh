#!/bin/bash
# pull-tar of the real rootfs .tar.xz from a local nginx, verified the ways publishers ship it:
# SHA256SUMS + SHA256SUMS.gpg (systemd style), FILE.DIGESTS clearsigned + FILE.asc and plain
# FILE.DIGESTS + FILE.asc (Gentoo style), FILE.sha256 alone (--verify=checksum). Each result must
# be identical to the source tree, and the verification source used must be printed.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"

rootfs_txz
start_nginx
make_gpg_key
make_image_root
F=rootfs.tar.xz

# systemd style
d=$NGINX_ROOT/pub/systemd
mkdir -p "$d"
ln "$ROOTFS_TXZ1" "$d/$F" 2>/dev/null || cp "$ROOTFS_TXZ1" "$d/$F"
(cd "$d" && sha256sum "$F" >SHA256SUMS && printf '%s  other.tar.xz\n' "$(printf x | sha256sum | cut -c1-64)" >>SHA256SUMS)
gpg_sign --detach-sign -o "$d/SHA256SUMS.gpg" "$d/SHA256SUMS"

out=$(must "$COWPEN" --image-root="$ROOT" pull-tar --keyring="$GPG_KEYRING" "$NGINX_URL/pub/systemd/$F" sd)
grep -q 'Verified with SHA256SUMS, signed (SHA256SUMS.gpg)' <<<"$out" || fail "source not printed: $out"
grep -q "Signed by key $GPG_FPR" <<<"$out" || fail "fingerprint not printed: $out"
cmp_rootfs "$ROOT/sd"
pass "SHA256SUMS + SHA256SUMS.gpg"

# Gentoo style: clearsigned DIGESTS (SHA512 and BLAKE2B sections) and a detached .asc.
gentoo_digests() {
  local f=$1
  printf '# BLAKE2B HASH\n%s  %s\n# SHA512 HASH\n%s  %s\n' \
    "$(b2sum "$f" | cut -d' ' -f1)" "$(basename "$f")" "$(sha512sum "$f" | cut -d' ' -f1)" "$(basename "$f")"
}
d=$NGINX_ROOT/pub/gentoo
mkdir -p "$d"
ln "$ROOTFS_TXZ1" "$d/$F" 2>/dev/null || cp "$ROOTFS_TXZ1" "$d/$F"
gentoo_digests "$d/$F" >"$W/DIGESTS"
gpg_sign --clearsign -o "$d/$F.DIGESTS" "$W/DIGESTS"
gpg_sign --armor --detach-sign -o "$d/$F.asc" "$d/$F"
out=$(must "$COWPEN" --image-root="$ROOT" pull-tar --keyring="$GPG_KEYRING" "$NGINX_URL/pub/gentoo/$F" gentoo)
grep -q "Verified with $F.DIGESTS (SHA512, clearsigned)" <<<"$out" || fail "source not printed: $out"
grep -q "Signed by key $GPG_FPR" <<<"$out" || fail "fingerprint not printed: $out"
cmp_rootfs "$ROOT/gentoo"
pass "clearsigned .DIGESTS"

# Gentoo style with an unsigned DIGESTS: the detached .asc over the file is what is signed.
gentoo_digests "$d/$F" >"$d/$F.DIGESTS"
out=$(must "$COWPEN" --image-root="$ROOT" pull-tar --keyring="$GPG_KEYRING" "$NGINX_URL/pub/gentoo/$F" gentoo2)
grep -q "Verified with $F.asc (detached signature) and $F.DIGESTS (SHA512)" <<<"$out" || fail "source not printed: $out"
grep -q "Signed by key $GPG_FPR" <<<"$out" || fail "fingerprint not printed: $out"
cmp_rootfs "$ROOT/gentoo2"
pass ".asc + unsigned .DIGESTS"

# FILE.sha256 alone, --verify=checksum.
d=$NGINX_ROOT/pub/plain
mkdir -p "$d"
ln "$ROOTFS_TXZ1" "$d/$F" 2>/dev/null || cp "$ROOTFS_TXZ1" "$d/$F"
(cd "$d" && sha256sum "$F" >"$F.sha256")
out=$(must "$COWPEN" --image-root="$ROOT" pull-tar --verify=checksum "$NGINX_URL/pub/plain/$F")
grep -q "Verified with $F.sha256 (SHA256)" <<<"$out" || fail "source not printed: $out"
cmp_rootfs "$ROOT/rootfs"
# …and the same file with --verify=signature is refused: a .sha256 is not signed.
must_fail 1 "$COWPEN" --image-root="$ROOT" pull-tar --keyring="$GPG_KEYRING" "$NGINX_URL/pub/plain/$F" unsigned
assert_one_line_error '^cowpen: pull-tar .*: no signature found'
[ ! -e "$ROOT/unsigned" ] || fail "unverified image published"
pass ".sha256 alone"

# The image is read-only with --read-only, and --checksum= alone is enough for --verify=checksum.
sum=$(sha256sum "$d/$F" | cut -c1-64)
must "$COWPEN" -q --image-root="$ROOT" pull-tar --verify=checksum --checksum="$sum" --read-only \
  "$NGINX_URL/pub/plain/$F" ro >/dev/null
cmp_rootfs "$ROOT/ro"
"$COWPEN" --image-root="$ROOT" image-status ro | grep -qi 'read-only: *yes' || fail "--read-only not applied"
# A wrong --checksum= is refused even when the server's checksum file agrees with the download.
bad=$(printf 'x' | sha256sum | cut -c1-64)
must_fail 1 "$COWPEN" -q --image-root="$ROOT" pull-tar --verify=checksum --checksum="$bad" "$NGINX_URL/pub/plain/$F" wrong
assert_one_line_error 'checksum mismatch: --checksum='
[ ! -e "$ROOT/wrong" ] || fail "image with wrong checksum published"

# Nothing hidden left behind by any of this.
left=$(ls -A "$ROOT" | grep '^\.#' | grep -v '\.lck$' || true)
[ -z "$left" ] || fail "hidden leftovers: $left"
pass "pull-tar verification"
