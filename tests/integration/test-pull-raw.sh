#!/bin/bash
# pull-raw: a compressed raw image with its sidecars (NAME.nspawn, NAME.roothash, NAME.verity listed
# in a signed SHA256SUMS, NAME.roothash.p7s not listed and therefore not kept), a tampered sidecar
# (refused, nothing published), --verify=no (every sidecar the server has is kept), an
# uncompressed image without any sidecars (404s are fine).
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"

start_nginx
make_gpg_key
make_image_root
d=$NGINX_ROOT/pub/raw
mkdir -p "$d"

# A sparse 64 MiB image with data at a few places.
truncate -s 64M "$W/app.raw"
for off in 0 7 31 63; do
  head -c 300000 /dev/urandom | dd of="$W/app.raw" bs=1M seek=$off conv=notrunc status=none
done
xz -T1 -c "$W/app.raw" >"$d/app.raw.xz"
printf '[Exec]\nBoot=yes\n' >"$d/app.nspawn"
printf '%s' "$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)" >"$d/app.roothash"
head -c 1000000 /dev/urandom >"$d/app.verity"
head -c 700 /dev/urandom >"$d/app.roothash.p7s"
(cd "$d" && sha256sum app.raw.xz app.nspawn app.roothash app.verity >SHA256SUMS)
gpg_sign --detach-sign -o "$d/SHA256SUMS.gpg" "$d/SHA256SUMS"
cw() { "$COWPEN" --image-root="$ROOT" "$@"; }

out=$(must cw pull-raw --keyring="$GPG_KEYRING" "$NGINX_URL/pub/raw/app.raw.xz")
cmp "$W/app.raw" "$ROOT/app.raw" || fail "image differs"
for s in nspawn roothash verity; do
  cmp "$d/app.$s" "$ROOT/app.$s" || fail "sidecar app.$s differs or is missing"
done
[ ! -e "$ROOT/app.roothash.p7s" ] || fail "unverifiable app.roothash.p7s kept"
grep -q 'Not keeping app.roothash.p7s' <<<"$out" || fail "skipped sidecar not reported: $out"
grep -q 'Verified with SHA256SUMS, signed' <<<"$out" || fail "source not printed: $out"
[ "$(du -k "$ROOT/app.raw" | cut -f1)" -lt 16384 ] || fail "image not written sparsely"
pass "pull-raw with sidecars"

# A tampered sidecar: refused, nothing published.
printf '[Exec]\nBoot=no\nCapability=all\n' >"$d/app.nspawn"
must_fail 1 cw -q pull-raw --keyring="$GPG_KEYRING" "$NGINX_URL/pub/raw/app.raw.xz" app2
assert_one_line_error '^cowpen: pull-raw .*: app.nspawn: checksum mismatch with SHA256SUMS$'
[ ! -e "$ROOT/app2.raw" ] && [ ! -e "$ROOT/app2.nspawn" ] || fail "image with a tampered sidecar published"
left=$(ls -A "$ROOT" | grep '^\.#' | grep -v -e '\.lck$' || true)
[ -z "$left" ] || fail "leftovers: $left"

# --verify=no keeps whatever the server has.
must cw -q pull-raw --verify=no "$NGINX_URL/pub/raw/app.raw.xz" app3
for s in nspawn roothash verity roothash.p7s; do
  cmp "$d/app.$s" "$ROOT/app3.$s" || fail "--verify=no: sidecar app3.$s differs or is missing"
done

# An uncompressed image with no sidecars on the server; --checksum= from the command line.
mkdir -p "$NGINX_ROOT/pub/plain"
cp "$W/app.raw" "$NGINX_ROOT/pub/plain/disk.raw"
sum=$(sha512sum "$W/app.raw" | cut -d' ' -f1)
must cw -q pull-raw --verify=checksum --checksum="$sum" "$NGINX_URL/pub/plain/disk.raw"
cmp "$W/app.raw" "$ROOT/disk.raw" || fail "uncompressed image differs"
ls "$ROOT" | grep -q '^disk\.' | grep -v '^disk\.raw$' && fail "sidecars appeared from nowhere"
# file: URLs work too.
must cw -q pull-raw --verify=checksum --checksum="$sum" "file://$NGINX_ROOT/pub/plain/disk.raw" disk2
cmp "$W/app.raw" "$ROOT/disk2.raw" || fail "file: URL image differs"
pass "pull-raw"
