#!/bin/bash
# What pull-tar refuses, each with a one-line reason and nothing published or left behind: a
# tampered tarball, a tampered checksum file, a signature by a key not in the keyring, a missing
# signature, a missing checksum, a malformed checksum file, a bad archive, a missing file.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"

start_nginx
make_gpg_key "Trusted Key"
TRUSTED=$GPG_KEYRING
make_image_root
mkdir -p "$W/tree/etc" "$W/tree/usr/bin"
printf 'ID=test\n' >"$W/tree/etc/os-release"
head -c 300000 /dev/urandom >"$W/tree/usr/bin/blob"
F=small.tar.xz

# serve DIR: a fresh directory with the tarball and a signed SHA256SUMS.
serve() {
  local d=$NGINX_ROOT/pub/$1
  mkdir -p "$d"
  tar -C "$W/tree" -cJf "$d/$F" .
  (cd "$d" && sha256sum "$F" >SHA256SUMS)
  gpg_sign --detach-sign -o "$d/SHA256SUMS.gpg" "$d/SHA256SUMS"
  D=$d
}

nothing_left() {
  [ ! -e "$ROOT/$1" ] || fail "$2: image published"
  local left
  left=$(ls -A "$ROOT" | grep '^\.#' | grep -v -e '\.lck$' -e '^\.#pull-' || true)
  [ -z "$left" ] || fail "$2: hidden leftovers: $left"
}

pull() { "$COWPEN" -q --image-root="$ROOT" pull-tar --keyring="$TRUSTED" "$@"; }

# The good case first, so the refusals below are about what they change.
serve good
must pull "$NGINX_URL/pub/good/$F" good
[ -f "$ROOT/good/etc/os-release" ] || fail "good pull incomplete"

# A tampered tarball: still a valid archive, but not the one that was signed.
serve tampered-tar
mkdir -p "$W/evil/etc" && printf 'ID=evil\n' >"$W/evil/etc/os-release"
tar -C "$W/evil" -cJf "$D/$F" .
must_fail 1 pull "$NGINX_URL/pub/tampered-tar/$F" t1
assert_one_line_error '^cowpen: pull-tar .*: checksum mismatch: SHA256SUMS says [0-9a-f]{64}, download has [0-9a-f]{64}$'
nothing_left t1 "tampered tarball"
# The known-bad download is not kept for a resume either.
! ls -A "$ROOT" | grep -q '^\.#pull-partial\.[0-9a-f]*$' || fail "bad download kept as partial"

# A tampered checksum file (after signing).
serve tampered-sums
printf '%s  extra\n' "$(printf x | sha256sum | cut -c1-64)" >>"$D/SHA256SUMS"
must_fail 1 pull "$NGINX_URL/pub/tampered-sums/$F" t2
assert_one_line_error '^cowpen: pull-tar .*: SHA256SUMS.gpg: bad signature by key [0-9A-F]+ \(the signed data was modified\)$'
nothing_left t2 "tampered checksum file"

# Signed by a key that is not in the keyring.
serve otherkey
make_gpg_key "Untrusted Key"
gpg_sign --detach-sign -o "$D/SHA256SUMS.gpg" "$D/SHA256SUMS"
must_fail 1 pull "$NGINX_URL/pub/otherkey/$F" t3
assert_one_line_error "^cowpen: pull-tar .*: SHA256SUMS.gpg: signed by key [0-9A-F]+, which is not in the keyring$"
nothing_left t3 "unknown key"

# No signature at all with --verify=signature (the default).
serve nosig
rm "$D/SHA256SUMS.gpg"
must_fail 1 pull "$NGINX_URL/pub/nosig/$F" t4
assert_one_line_error '^cowpen: pull-tar .*: no signature found \(tried SHA256SUMS.gpg, SHA256SUMS.asc, '
nothing_left t4 "missing signature"
# …which --verify=checksum accepts (SHA256SUMS is there) and --verify=no does not need.
must pull --verify=checksum "$NGINX_URL/pub/nosig/$F" ok4 >/dev/null
must pull --verify=no "$NGINX_URL/pub/nosig/$F" ok5 >/dev/null

# No checksum with --verify=checksum.
mkdir -p "$NGINX_ROOT/pub/nosum" && cp "$NGINX_ROOT/pub/good/$F" "$NGINX_ROOT/pub/nosum/$F"
must_fail 1 pull --verify=checksum "$NGINX_URL/pub/nosum/$F" t5
assert_one_line_error '^cowpen: pull-tar .*: no checksum found'
nothing_left t5 "missing checksum"

# A malformed checksum file is refused, not skipped.
serve malformed
printf 'this is not a checksum file\n' >"$D/$F.sha256"
must_fail 1 pull --verify=checksum "$NGINX_URL/pub/malformed/$F" t6
assert_one_line_error "^cowpen: pull-tar .*: $F.sha256: malformed$"
nothing_left t6 "malformed checksum file"

# A checksum file over the size limit (4 MiB + 1).
serve huge
head -c $((4 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$D/$F.sha256"
must_fail 1 pull --verify=checksum "$NGINX_URL/pub/huge/$F" t7
assert_one_line_error "^cowpen: pull-tar .*: $F.sha256: too large$"
nothing_left t7 "huge checksum file"

# A correctly signed archive that the importer refuses (not a tar).
d=$NGINX_ROOT/pub/notar
mkdir -p "$d"
head -c 100000 /dev/urandom | xz >"$d/$F"
(cd "$d" && sha256sum "$F" >SHA256SUMS)
GPG_HOME_SAVE=$GPG_HOME
must_fail 1 pull --verify=checksum "$NGINX_URL/pub/notar/$F" t8
assert_one_line_error '^cowpen: pull-tar '
nothing_left t8 "bad archive"

# A missing file, an existing image, a bad URL.
must_fail 1 pull --verify=no "$NGINX_URL/pub/good/missing.tar.xz" t9
assert_one_line_error '^cowpen: pull-tar .*missing.tar.xz: not found on the server$'
must_fail 1 pull "$NGINX_URL/pub/good/$F" good
assert_one_line_error '^cowpen: pull-tar: image "good" already exists$'
must_fail 2 pull "$NGINX_URL/" x
must_fail 1 pull --verify=no "ftp://example.com/x.tar" x
assert_one_line_error 'only http, https and file URLs are supported'
must_fail 2 pull --verify=maybe "$NGINX_URL/pub/good/$F" x
must_fail 2 pull --checksum=abc "$NGINX_URL/pub/good/$F" x
must_fail 1 "$COWPEN" -q --image-root="$ROOT" pull-tar --keyring=/nonexistent/keyring "$NGINX_URL/pub/good/$F" x
assert_one_line_error 'keyring /nonexistent/keyring: No such file or directory'
pass "pull-tar refusals"
