#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# import-tar and export-tar on the real rootfs fixture and the special tree: every compression,
# tree comparison against the reference, export → import round trips, the top-directory move-up,
# SIGINT and SIGKILL mid-import, and a subvolume on btrfs.
. "$TEST_SRCDIR/tests/lib/lib.sh"

rootfs_fixture
make_temp_dir
T=$TEMP_DIR
ROOT=$T/root
mkdir -p "$ROOT"
cp() { command cp "$@"; }
cw() { "$COWPEN" --image-root="$ROOT" --no-progress "$@"; }

# The fixture tree was extracted by GNU tar, which drops the archive's
# SCHILY.xattr.system.posix_acl_* of var/log/journal; cowpen keeps them (checked below).
cmp_rootfs() { must "$TREECMP" --no-top --ignore=.complete --ignore=var/log/journal "$ROOTFS_DIR" "$1"; }

# Plain tar, then every compression, each detected by magic bytes (the files have no suffix).
must cw -q import-tar "$ROOTFS_TAR" plain
cmp_rootfs "$ROOT/plain"
getfattr -n system.posix_acl_default "$ROOT/plain/var/log/journal" >/dev/null 2>&1 ||
  fail "the archive's default ACL of var/log/journal was not applied"
pass "plain tar identical to the reference"
gzip -1 -c "$ROOTFS_TAR" >"$T/in.gz"
xz -0 -T2 -c "$ROOTFS_TAR" >"$T/in.xz"
zstd -q -1 -c "$ROOTFS_TAR" >"$T/in.zst"
bzip2 -1 -c "$ROOTFS_TAR" >"$T/in.bz2"
for c in gz xz zst bz2; do
  must cw -q import-tar "$T/in.$c" "r-$c"
  cmp_rootfs "$ROOT/r-$c"
  cw -q remove "r-$c"
  pass "$c: identical to the reference"
done
rm -f "$T"/in.*

# stdin, --read-only, --force, and refusal of an existing name.
must cw -q import-tar --read-only - fromstdin <"$ROOTFS_TAR"
cw image-status fromstdin | grep -q 'Read-only: yes' || fail "--read-only not applied"
must_fail 1 cw import-tar "$ROOTFS_TAR" plain
assert_one_line_error 'import-tar .*: image "plain" already exists'
must cw -q import-tar --force "$ROOTFS_TAR" plain
cmp_rootfs "$ROOT/plain"
cw -q read-only fromstdin no
cw -q remove fromstdin
pass "stdin, --read-only, --force"

# Export → import round trip, in every format (from the suffix and from --format).
for s in tar tar.xz tar.gz tar.zst tar.bz2; do
  must cw -q export-tar plain "$T/out.$s"
  must cw -q import-tar "$T/out.$s" "rt-${s//./-}"
  must "$TREECMP" "$ROOT/plain" "$ROOT/rt-${s//./-}"
  cw -q remove "rt-${s//./-}"
  rm -f "$T/out.$s"
  pass "export-tar → import-tar round trip ($s)"
done
must cw -q export-tar --format=zstd plain - >"$T/stdout.tar"
[ "$(head -c4 "$T/stdout.tar" | od -An -tx1 | tr -d ' ')" = 28b52ffd ] || fail "--format=zstd to stdout not zstd"
must_fail 1 cw export-tar plain "$T/stdout.tar"
assert_one_line_error 'export-tar plain: .*already exists'
rm -f "$T/stdout.tar"
[ -z "$(ls -A "$T" | grep '^\.#')" ] || fail "export left a temporary"
pass "export-tar to stdout, refuses to overwrite"

# The special tree: hardlinks, sparse file, fifo, devices, setuid/setgid/sticky, xattrs, file
# capability, ACLs (access and default), owners, dangling symlink, mtimes. Sockets cannot be in tar.
make_special_tree "$T/special"
must cw -q import-fs "$T/special" special
must cw -q export-tar special "$T/special.tar.xz"
must cw -q import-tar "$T/special.tar.xz" special2
must "$TREECMP" --ignore=var/sock "$T/special" "$ROOT/special2"
[ "$(du -k "$ROOT/special2/usr/lib/sparse" | cut -f1)" -lt 1024 ] || fail "sparse file not sparse after import"
pass "special tree round trip (sockets excepted)"

# An archive wrapping one top directory with the OS tree is moved up, as systemd's import does.
mkdir -p "$T/wrap"
tar -C "$T/special" -S --xattrs --xattrs-include='*' --acls --numeric-owner --exclude=./var/sock \
  --transform 's,^\.,rootfs,S' -cf "$T/wrap/wrapped.tar" .
must cw -q import-tar "$T/wrap/wrapped.tar" wrapped
[ -f "$ROOT/wrapped/etc/os-release" ] || fail "top directory not moved up"
must "$TREECMP" --ignore=var/sock "$T/special" "$ROOT/wrapped"
pass "single top directory moved up"

# SIGINT mid-import: nothing visible, nothing left. SIGKILL: the hidden leftover goes with clean.
mkfifo "$T/fifo"
for sig in INT TERM KILL; do
  # Not through cw(): $! must be cowpen itself, not a subshell running it.
  "$COWPEN" --image-root="$ROOT" --no-progress -q import-tar "$T/fifo" killed &
  pid=$!
  (head -c 120M "$ROOTFS_TAR"; sleep 60) >"$T/fifo" &
  feeder=$!
  at_exit "kill $feeder"
  for _ in $(seq 100); do
    ls -A "$ROOT" | grep -q '^\.#import-tar\.killed' && break
    sleep 0.1
  done
  sleep 0.5
  kill -"$sig" "$pid"
  rc=0
  wait "$pid" || rc=$?
  kill "$feeder" 2>/dev/null || true
  wait "$feeder" 2>/dev/null || true
  [ "$rc" -ne 0 ] || fail "import survived SIG$sig"
  [ ! -e "$ROOT/killed" ] || fail "SIG$sig: image published"
  if [ "$sig" != KILL ]; then
    [ -z "$(ls -A "$ROOT" | grep '^\.#')" ] || fail "SIG$sig left: $(ls -A "$ROOT")"
  else
    ls -A "$ROOT" | grep -q '^\.#import-tar\.killed' || fail "SIGKILL left no hidden leftover to clean?"
    must cw -q clean
    [ -z "$(ls -A "$ROOT" | grep '^\.#import')" ] || fail "clean left: $(ls -A "$ROOT")"
  fi
  pass "SIG$sig mid-import: nothing published, nothing left"
done

# On btrfs the image is a subvolume.
make_loop_fs btrfs 2G
must "$COWPEN" --image-root="$LOOP_MNT/images" -q import-tar "$ROOTFS_TAR" sub
btrfs subvolume show "$LOOP_MNT/images/sub" >/dev/null 2>&1 || fail "image on btrfs is not a subvolume"
"$COWPEN" --image-root="$LOOP_MNT/images" image-status sub | grep -q 'Type: subvolume' || fail "image-status: not a subvolume"
cmp_rootfs "$LOOP_MNT/images/sub"
pass "btrfs: subvolume"
