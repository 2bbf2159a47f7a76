#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Real-world archives (issue 17; systemd bugs #16605, #17563, #15903), with archives made here:
#  - trailing data after the end-of-archive marker imports with one warning (plain, gzip, xz,
#    zstd, stdin, pull-tar); zero padding is silent; junk where a header is expected stays an
#    error that leaves nothing;
#  - an OS tree nested one directory down is moved up by systemd's rule (import-tar, import-fs,
#    pull-tar), --keep-nesting keeps it; a symlink top, a stray file beside the top, a top without
#    os-release are left alone, a top named ".." is refused;
#  - importing onto a fresh btrfs (import-tar, import-fs, pull-tar) never enables quotas;
#  - a full file system (ext4 64M) during import-tar (file, compressed stdin), import-raw,
#    pull-tar, pull-raw and import-fs gives one line naming the file system and the sizes, exit 1, and leaves
#    nothing in the image root.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"

make_temp_dir
T=$TEMP_DIR
ROOT=$T/root
mkdir -p "$ROOT"
cw() { "$COWPEN" --image-root="$ROOT" --no-progress "$@"; }
# Nothing but the published images in the image root (no hidden temporary, lock or download).
no_hidden() { [ -z "$(ls -A "$1" | grep '^\.')" ] || fail "$2: left behind: $(ls -A "$1")"; }

# mk_tar OUT SPEC…: a pax archive made with python3's tarfile; SPEC is PATH=CONTENT (a file),
# PATH/ (a directory) or PATH@TARGET (a symlink). Ends with the end-of-archive blocks and
# tarfile's zero padding to 10240 bytes.
mk_tar() {
  python3 - "$@" <<'EOF'
import io, sys, tarfile
out, specs = sys.argv[1], sys.argv[2:]
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    for s in specs:
        if "@" in s:
            p, target = s.split("@", 1)
            ti = tarfile.TarInfo(p); ti.type = tarfile.SYMTYPE; ti.linkname = target; t.addfile(ti)
        elif s.endswith("/"):
            ti = tarfile.TarInfo(s.rstrip("/")); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
        else:
            p, data = s.split("=", 1)
            data = data.encode(); ti = tarfile.TarInfo(p); ti.size = len(data); ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
EOF
}
# The archive without tarfile's end blocks and padding: the bytes of its entries only.
strip_end() { python3 -c '
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    end = t.offset  # after the last member
    for m in t: end = m.offset_data + -(-m.size // 512) * 512
data = open(sys.argv[1], "rb").read()[:end]
open(sys.argv[2], "wb").write(data)' "$1" "$2"; }
junk() { printf JUNK; head -c "$(($1 - 4))" /dev/urandom | tr "\\0" J; }

# ---- trailing data
mk_tar "$T/os.tar" etc/ "etc/os-release=ID=quirk" usr/bin/ "usr/bin/hello=hi"
must cw import-tar "$T/os.tar" clean 2>"$T/err"
grep -q 'trailing' "$T/err" && fail "zero padding reported as trailing data: $(cat "$T/err")"
{ cat "$T/os.tar"; junk 5000; } >"$T/garbage.tar"
gzip -c "$T/garbage.tar" >"$T/garbage.tar.gz"
xz -0 -c "$T/garbage.tar" >"$T/garbage.tar.xz"
zstd -q -c "$T/garbage.tar" >"$T/garbage.tar.zst"
for f in garbage.tar garbage.tar.gz garbage.tar.xz garbage.tar.zst; do
  n=g-${f//./-}
  must cw import-tar "$T/$f" "$n" 2>"$T/err"
  [ "$(grep -c 'trailing data after the end of the archive ignored' "$T/err")" = 1 ] ||
    fail "$f: not one trailing-data warning: $(cat "$T/err")"
  [ "$(cat "$ROOT/$n/usr/bin/hello")" = hi ] || fail "$f: tree not imported"
done
must cw import-tar - g-stdin <"$T/garbage.tar.xz" 2>"$T/err"
grep -q '^cowpen: import-tar -: .* of trailing data after the end of the archive ignored$' "$T/err" ||
  fail "stdin: warning missing: $(cat "$T/err")"
# Junk after the compressed stream: skipped after gzip and bzip2 with a warning (as gzip -d and
# bzip2 -d skip it), an error after xz and zstd (as xz -d and zstd -d refuse it).
{ gzip -c "$T/os.tar"; junk 77; } >"$T/junk-after.gz"
{ bzip2 -c "$T/os.tar"; junk 77; } >"$T/junk-after.bz2"
{ xz -c "$T/os.tar"; junk 77; } >"$T/junk-after.xz"
for c in gz:gzip bz2:bzip2; do
  must cw import-tar "$T/junk-after.${c%%:*}" "g-after-${c%%:*}" 2>"$T/err"
  grep -q "^cowpen: import-tar .*: 77B of trailing data after the end of the ${c#*:} stream ignored$" "$T/err" ||
    fail "junk after ${c#*:}: no warning: $(cat "$T/err")"
done
must_fail 1 cw import-tar "$T/junk-after.xz" g-after-xz
assert_one_line_error '^cowpen: import-tar .*junk-after.xz: (corrupt compressed stream|unexpected end of the compressed stream)$'
no_hidden "$ROOT" "junk after xz"
# Two archives joined with cat: the second is trailing data, and the warning says what it is.
cat "$T/os.tar" "$T/os.tar" >"$T/cat.tar"
must cw import-tar "$T/cat.tar" g-cat 2>"$T/err"
grep -q 'trailing data after the end of the archive ignored (it starts with another tar archive' "$T/err" ||
  fail "cat a.tar b.tar: not said: $(cat "$T/err")"
# One zero block, then junk (GNU tar and bsdtar stop at the first zero block as well).
strip_end "$T/os.tar" "$T/bare.tar"
{ cat "$T/bare.tar"; head -c 512 /dev/zero; junk 700; } >"$T/one-zero.tar"
must cw import-tar "$T/one-zero.tar" g-one-zero 2>"$T/err"
grep -q 'trailing data' "$T/err" || fail "one zero block + junk: no warning"
pass "trailing data after the end of the archive: imported with one warning (tar, gz, xz, zst, stdin); after a gzip/bzip2 stream warned, after xz refused"
# Junk where a header is expected (no end-of-archive marker): an error, nothing left.
{ cat "$T/bare.tar"; junk 3000; } >"$T/junk-in-place.tar"
must_fail 1 cw import-tar "$T/junk-in-place.tar" g-bad
assert_one_line_error '^cowpen: import-tar .*junk-in-place.tar: corrupt archive$'
[ ! -e "$ROOT/g-bad" ] || fail "corrupt archive published"
no_hidden "$ROOT" "corrupt archive"
pass "junk where a header is expected: one-line error, nothing left"

# ---- nested OS trees
mk_tar "$T/rootfs.tar" rootfs/ rootfs/etc/ "rootfs/etc/os-release=ID=quirk" "rootfs/usr/bin/hello=hi"
mk_tar "$T/dot.tar" "./debian-12/usr/lib/os-release=ID=debian" "./debian-12/etc/os-release@../usr/lib/os-release"
mk_tar "$T/usr-in-usr.tar" "usr/usr/lib/os-release=ID=quirk" "usr/etc/hostname=h"
must cw import-tar "$T/rootfs.tar" n-rootfs 2>"$T/err"
grep -q 'the OS tree was nested in the top directory "rootfs" and was moved up' "$T/err" ||
  fail "no note of the move-up: $(cat "$T/err")"
[ -f "$ROOT/n-rootfs/etc/os-release" ] && [ ! -e "$ROOT/n-rootfs/rootfs" ] || fail "rootfs/ not moved up"
must cw -q import-tar "$T/dot.tar" n-dot
[ -L "$ROOT/n-dot/etc/os-release" ] && [ -f "$ROOT/n-dot/usr/lib/os-release" ] || fail "./debian-12/ not moved up"
must cw -q import-tar "$T/usr-in-usr.tar" n-usr
[ -f "$ROOT/n-usr/usr/lib/os-release" ] && [ -f "$ROOT/n-usr/etc/hostname" ] || fail "usr/usr/ not moved up"
gzip -c "$T/rootfs.tar" | must cw -q import-tar - n-stdin
[ -f "$ROOT/n-stdin/etc/os-release" ] || fail "rootfs/ from compressed stdin not moved up"
must cw import-tar --keep-nesting "$T/rootfs.tar" n-keep 2>"$T/err"
[ -f "$ROOT/n-keep/rootfs/etc/os-release" ] || fail "--keep-nesting did not keep rootfs/"
grep -q 'moved up' "$T/err" && fail "--keep-nesting still says moved up"
no_hidden "$ROOT" "move-up"
pass "nested OS tree moved up (rootfs/, ./debian-12/, usr/usr/, compressed stdin); --keep-nesting keeps it"
# What must not trigger it: a symlink as the top, a stray file beside the top, no os-release.
mk_tar "$T/symlink-top.tar" "top@/"
mk_tar "$T/stray.tar" "top/etc/os-release=ID=x" "stray=x"
mk_tar "$T/no-os-release.tar" "top/etc/passwd=root:x:0:0::/root:/bin/sh"
mk_tar "$T/escaping-marker.tar" "top/etc/os-release@/etc/os-release"
must cw -q import-tar "$T/symlink-top.tar" h-symlink
[ -L "$ROOT/h-symlink/top" ] || fail "symlink top changed"
must cw -q import-tar "$T/stray.tar" h-stray
[ -f "$ROOT/h-stray/top/etc/os-release" ] && [ -f "$ROOT/h-stray/stray" ] || fail "top + stray file rearranged"
must cw -q import-tar "$T/no-os-release.tar" h-noos
[ -f "$ROOT/h-noos/top/etc/passwd" ] || fail "top without os-release moved up"
must cw -q import-tar "$T/escaping-marker.tar" h-escape
[ -L "$ROOT/h-escape/top/etc/os-release" ] || fail "an os-release symlink out of the tree counted as an OS tree"
python3 - "$T/dotdot.tar" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    ti = tarfile.TarInfo("../etc/os-release"); ti.size = 2; t.addfile(ti, io.BytesIO(b"x\n"))
EOF
must_fail 1 cw import-tar "$T/dotdot.tar" h-dotdot
assert_one_line_error 'entry "\.\./etc/os-release": path contains "\.\."$'
[ ! -e "$T/etc" ] && [ ! -e "$ROOT/etc" ] || fail "\"..\" top wrote outside"
no_hidden "$ROOT" "hostile tops"
pass "symlink top, stray file, no os-release, escaping os-release symlink: left alone; \"..\" top refused"
# import-fs applies the same rule to the copied tree.
mkdir -p "$T/fsrc/rootfs/etc"
echo ID=quirk >"$T/fsrc/rootfs/etc/os-release"
must cw import-fs "$T/fsrc" n-fs 2>"$T/err"
[ -f "$ROOT/n-fs/etc/os-release" ] || fail "import-fs: rootfs/ not moved up"
grep -q 'moved up' "$T/err" || fail "import-fs: no note"
must cw import-fs --keep-nesting "$T/fsrc" n-fs-keep
[ -f "$ROOT/n-fs-keep/rootfs/etc/os-release" ] || fail "import-fs --keep-nesting"
[ -f "$T/fsrc/rootfs/etc/os-release" ] || fail "import-fs changed its source"
pass "import-fs: nested tree moved up in the copy, --keep-nesting keeps it, the source untouched"

# ---- pull-tar: trailing data and nesting over http
start_nginx
cp "$T/garbage.tar.xz" "$T/rootfs.tar" "$NGINX_ROOT/pub/"
gzip -c "$T/rootfs.tar" >"$NGINX_ROOT/pub/nested.tar.gz"
(cd "$NGINX_ROOT/pub" && sha256sum garbage.tar.xz rootfs.tar nested.tar.gz >SHA256SUMS)
out=$(must cw pull-tar --verify=checksum "$NGINX_URL/pub/garbage.tar.xz" p-garbage 2>&1)
grep -q 'pull-tar .*garbage.tar.xz: .* of trailing data after the end of the archive ignored' <<<"$out" ||
  fail "pull-tar: no trailing-data warning: $out"
[ "$(cat "$ROOT/p-garbage/usr/bin/hello")" = hi ] || fail "pull-tar: garbage tarball not imported"
out=$(must cw pull-tar --verify=checksum "$NGINX_URL/pub/nested.tar.gz" p-nested 2>&1)
grep -q 'nested in the top directory "rootfs" and was moved up' <<<"$out" || fail "pull-tar: no note: $out"
[ -f "$ROOT/p-nested/etc/os-release" ] || fail "pull-tar: not moved up"
must cw -q pull-tar --verify=checksum --keep-nesting "$NGINX_URL/pub/nested.tar.gz" p-keep
[ -f "$ROOT/p-keep/rootfs/etc/os-release" ] || fail "pull-tar --keep-nesting"
must_fail cw pull-raw --keep-nesting --verify=no "$NGINX_URL/pub/rootfs.tar" p-raw
no_hidden "$ROOT" "pull-tar"
pass "pull-tar: trailing data warned, nested tree moved up, --keep-nesting keeps it"

# ---- btrfs: no quotas
if grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null; then
  make_loop_fs btrfs 512M
  B=$LOOP_MNT/machines
  mkdir "$B"
  must "$COWPEN" --image-root="$B" --no-progress -q import-tar "$T/rootfs.tar" b-tar
  must "$COWPEN" --image-root="$B" --no-progress -q import-fs "$T/fsrc" b-fs
  must "$COWPEN" --image-root="$B" --no-progress -q pull-tar --verify=checksum "$NGINX_URL/pub/nested.tar.gz" b-pull
  must "$COWPEN" --image-root="$B" --no-progress -q clone b-tar b-clone
  for i in b-tar b-fs b-pull b-clone; do
    btrfs subvolume show "$B/$i" >/dev/null 2>&1 || fail "$i is not a subvolume"
  done
  rc=0
  qerr=$(btrfs qgroup show "$LOOP_MNT" 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || fail "quotas are enabled after the imports: $qerr"
  grep -qi 'quota.*not enabled\|not enabled' <<<"$qerr" || fail "btrfs qgroup show: unexpected: $qerr"
  pass "btrfs: import-tar, import-fs, pull-tar, clone made subvolumes and left quotas off ($qerr)"
else
  log "SKIP part: kernel has no btrfs"
fi

# ---- out of space: ext4 of 64 MiB, archives of 100 MiB of incompressible data
make_loop_fs ext4 64M
S=$LOOP_MNT/machines
mkdir "$S"
sx() { "$COWPEN" --image-root="$S" --no-progress "$@"; }
python3 - "$T/big.tar" <<'EOF'
import io, os, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    ti = tarfile.TarInfo("etc/os-release"); ti.size = 5; t.addfile(ti, io.BytesIO(b"ID=x\n"))
    for i in range(10):
        d = os.urandom(10 << 20); ti = tarfile.TarInfo(f"data/{i}"); ti.size = len(d); t.addfile(ti, io.BytesIO(d))
EOF
zstd -q -1 -c "$T/big.tar" >"$T/big.tar.zst"
head -c 100M /dev/urandom >"$T/big.raw"
fsre="no space left on $LOOP_MNT \(ext4 on $LOOP_DEV\)"
before=$(ls -A "$S")
must_fail 1 sx import-tar "$T/big.tar" full
assert_one_line_error "^cowpen: import-tar $T/big.tar: $fsre: wrote [0-9.]+ MiB of the tree before the file system filled, [0-9.]+ MiB was free$"
log "  $ERR"
[ "$(ls -A "$S")" = "$before" ] || fail "import-tar: left $(ls -A "$S")"
must_fail 1 sx import-tar - full <"$T/big.tar.zst"
assert_one_line_error "^cowpen: import-tar -: $fsre: wrote [0-9.]+ MiB of the tree before the file system filled"
log "  $ERR"
[ "$(ls -A "$S")" = "$before" ] || fail "import-tar (zstd stdin): left $(ls -A "$S")"
must_fail 1 sx import-raw "$T/big.raw" full
assert_one_line_error "^cowpen: import-raw $T/big.raw: $fsre: the image is 100 MiB \(its zero blocks need no room\), [0-9.]+ MiB was free; wrote [0-9.]+ MiB before the file system filled$"
log "  $ERR"
[ "$(ls -A "$S")" = "$before" ] || fail "import-raw: left $(ls -A "$S")"
cp "$T/big.tar.zst" "$T/big.raw" "$NGINX_ROOT/pub/"
must_fail 1 sx pull-tar --verify=no "$NGINX_URL/pub/big.tar.zst" full
assert_one_line_error "^cowpen: pull-tar $NGINX_URL/pub/big.tar.zst: $fsre: the download alone needs 100 MiB and the image room besides; [0-9.]+ MiB downloaded and [0-9.]+ MiB of the image written before the file system filled, [0-9.]+ MiB was free$"
log "  $ERR"
[ "$(ls -A "$S")" = "$before" ] || fail "pull-tar: left $(ls -A "$S")"
must_fail 1 sx pull-raw --verify=no "$NGINX_URL/pub/big.raw" full
assert_one_line_error "^cowpen: pull-raw $NGINX_URL/pub/big.raw: $fsre: the download alone needs 100 MiB"
log "  $ERR"
[ "$(ls -A "$S")" = "$before" ] || fail "pull-raw: left $(ls -A "$S")"
mkdir -p "$T/bigtree/rootfs/etc"
echo ID=x >"$T/bigtree/rootfs/etc/os-release"
for i in 1 2 3 4 5; do head -c 20M /dev/urandom >"$T/bigtree/rootfs/f$i"; done
must_fail 1 sx import-fs "$T/bigtree" full
assert_one_line_error "^cowpen: import-fs .*bigtree → full: $fsre: the tree holds 100 MiB of file data, [0-9.]+ MiB was free$"
log "  $ERR"
[ "$(ls -A "$S")" = "$before" ] || fail "import-fs: left $(ls -A "$S")"
# The file system is usable again: a small import fits.
must sx -q import-tar "$T/rootfs.tar" fits
pass "full ext4: one line naming the file system and sizes, exit 1, nothing left (import-tar, zstd stdin, import-raw, pull-tar, pull-raw, import-fs)"
