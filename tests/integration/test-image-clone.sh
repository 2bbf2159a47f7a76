#!/bin/bash
# Clone ladder on btrfs and ext4: snapshots (nested subvolumes included) in constant time on
# btrfs, identical copies elsewhere, read-only handling, sidecars, rename and remove.
. "$TEST_SRCDIR/tests/lib/lib.sh"

make_temp_dir
SRC=$TEMP_DIR/special
make_special_tree "$SRC"

# ---- ext4: plain copy, identical by every attribute
make_loop_fs ext4 1G
R=$LOOP_MNT/machines
cp() { command cp "$@"; }
must "$COWPEN" --image-root="$R" import-fs "$SRC" special 2>"$TEMP_DIR/out"
grep -q "(copy)" "$TEMP_DIR/out" || fail "import-fs on ext4 did not say it copied: $(cat "$TEMP_DIR/out")"
must treecmp --no-top "$SRC" "$R/special" >/dev/null
printf 'settings' >"$R/special.nspawn"
printf 'abcd' >"$R/special.roothash"
must "$COWPEN" --image-root="$R" clone special special2 2>"$TEMP_DIR/out"
grep -q "Cloned special → special2 (copy)" "$TEMP_DIR/out" || fail "clone output: $(cat "$TEMP_DIR/out")"
treecmp "$R/special" "$R/special2" || fail "ext4 copy differs from its source"
cmp -s "$R/special.nspawn" "$R/special2.nspawn" || fail "sidecar .nspawn did not follow clone"
cmp -s "$R/special.roothash" "$R/special2.roothash" || fail "sidecar .roothash did not follow clone"
# Sparse file stays sparse.
[ "$(stat -c %b "$R/special2/usr/lib/sparse")" -lt 1024 ] || fail "sparse file was filled in by clone"
# Hardlinks stay linked.
[ "$(stat -c %i "$R/special2/usr/bin/prog")" = "$(stat -c %i "$R/special2/sub/deep/prog-hardlink2")" ] ||
  fail "hardlink group split by clone"
getcap "$R/special2/usr/bin/ping" | grep -q cap_net_raw || fail "file capability lost"
getfacl -p "$R/special2/sub/deep" 2>/dev/null | grep -q "user:1234:rwx" || fail "ACL lost"
[ "$(stat -c %a "$R/special2/usr/bin/suid")" = 4755 ] || fail "setuid bit lost"
pass "ext4 copy identical"

# read-only clone of a directory: immutable attribute; clone of it is writable again
must "$COWPEN" --image-root="$R" clone --read-only special ro
lsattr -d "$R/ro" | cut -d' ' -f1 | grep -q i || fail "read-only clone is not immutable"
"$COWPEN" --image-root="$R" list-images --json=short | python3 -c '
import json,sys; l={i["name"]:i for i in json.load(sys.stdin)}
assert l["ro"]["read_only"] is True and l["special"]["read_only"] is False, l
assert l["ro"]["type"] == "directory", l
for k in ("name","type","path","read_only","usage","created","modified"): assert k in l["ro"], k
' || fail "list-images --json=short wrong"
must "$COWPEN" --image-root="$R" clone ro ro-copy
lsattr -d "$R/ro-copy" | cut -d' ' -f1 | grep -q i && fail "clone of a read-only image is immutable"
must "$COWPEN" --image-root="$R" read-only ro no
lsattr -d "$R/ro" | cut -d' ' -f1 | grep -q i && fail "read-only no did not clear immutable"
must "$COWPEN" --image-root="$R" read-only ro
must "$COWPEN" --image-root="$R" rename ro ro-renamed
[ -d "$R/ro-renamed" ] && [ ! -e "$R/ro" ] || fail "rename of a read-only directory failed"
lsattr -d "$R/ro-renamed" | cut -d' ' -f1 | grep -q i || fail "rename lost the immutable attribute"
must "$COWPEN" --image-root="$R" rename special2 special3
[ -f "$R/special3.nspawn" ] && [ ! -e "$R/special2.nspawn" ] || fail "sidecar did not follow rename"
must "$COWPEN" --image-root="$R" remove ro-renamed special3 ro-copy
[ ! -e "$R/ro-renamed" ] && [ ! -e "$R/special3" ] && [ ! -e "$R/special3.nspawn" ] || fail "remove left things"
"$COWPEN" --image-root="$R" image-status special --json=short | python3 -c '
import json,sys; o=json.load(sys.stdin)
assert o["os_release"]["ID"] == "special" and o["os_release"]["PRETTY_NAME"] == "Special OS 1", o
assert o["usage"] and o["usage"] > 100000, o' || fail "image-status os-release/usage wrong"
pass "ext4 read-only, rename, remove, status"

# ---- btrfs: recursive snapshot, constant time, nested subvolumes
make_loop_fs btrfs 3G
B=$LOOP_MNT/machines
mkdir -p "$B"
btrfs subvolume create "$B/base" >/dev/null
command cp -a "$SRC/." "$B/base/"
btrfs subvolume create "$B/base/nested" >/dev/null
echo inner >"$B/base/nested/file"
btrfs subvolume create "$B/base/nested/deeper" >/dev/null
echo deepest >"$B/base/nested/deeper/file"
# 1 GB of data makes a copy visibly slow; a snapshot does not care.
dd if=/dev/urandom of="$B/base/big" bs=1M count=1024 status=none
must "$COWPEN" --image-root="$B" clone base snap 2>"$TEMP_DIR/out"
grep -q "(btrfs snapshot)" "$TEMP_DIR/out" || fail "btrfs clone was not a snapshot: $(cat "$TEMP_DIR/out")"
[ "$(stat -c %i "$B/snap")" = 256 ] || fail "clone is not a subvolume"
[ "$(stat -c %i "$B/snap/nested")" = 256 ] || fail "nested subvolume did not survive clone"
[ "$(cat "$B/snap/nested/deeper/file")" = deepest ] || fail "doubly nested subvolume lost"
treecmp "$B/base" "$B/snap" >&2 || fail "snapshot differs"
"$COWPEN" --image-root="$B" list-images --json=short | python3 -c '
import json,sys; l={i["name"]:i for i in json.load(sys.stdin)}
assert l["snap"]["type"] == "subvolume", l' || fail "snapshot not listed as subvolume"
# Constant time: the snapshot count of blocks used does not grow by 1 GB.
used_before=$(btrfs filesystem du -s --raw "$B/base" | awk 'NR==2{print $3}')
[ -n "$used_before" ] || true
must "$COWPEN" --image-root="$B" clone --read-only base snap-ro
[ "$(btrfs property get -ts "$B/snap-ro" ro)" = "ro=true" ] || fail "read-only snapshot is writable"
"$COWPEN" --image-root="$B" image-status snap-ro --json=short | grep -q '"read_only":true' || fail "status ro"
must "$COWPEN" --image-root="$B" remove snap snap-ro
[ ! -e "$B/snap" ] && [ ! -e "$B/snap-ro" ] || fail "remove left the snapshot"
btrfs subvolume list "$LOOP_MNT" | grep -q 'snap' && fail "nested subvolumes survived remove: $(btrfs subvolume list "$LOOP_MNT")"
# import-fs of a directory on the same btrfs: a reflink copy into a new subvolume
must "$COWPEN" --image-root="$B" import-fs "$SRC" imp 2>"$TEMP_DIR/out"
grep -q "(reflink copy)\|(copy)" "$TEMP_DIR/out" || fail "import-fs output: $(cat "$TEMP_DIR/out")"
[ "$(stat -c %i "$B/imp")" = 256 ] || fail "import on btrfs did not make a subvolume"
treecmp --no-top "$SRC" "$B/imp" >/dev/null || fail "import-fs on btrfs differs"
must "$COWPEN" --image-root="$B" clone imp imp2 2>"$TEMP_DIR/out"
grep -q "(btrfs snapshot)" "$TEMP_DIR/out" || fail "clone of imported subvolume: $(cat "$TEMP_DIR/out")"
# A plain directory (not a subvolume) on btrfs: the ladder's second rung, reflinks.
mkdir "$B/plain"
command cp -a "$SRC/." "$B/plain/"
must "$COWPEN" --image-root="$B" clone plain plain2 2>"$TEMP_DIR/out"
grep -q "(reflink copy)" "$TEMP_DIR/out" || fail "clone of a plain directory on btrfs: $(cat "$TEMP_DIR/out")"
treecmp "$B/plain" "$B/plain2" >&2 || fail "reflink copy differs"
[ "$(stat -c %b "$B/plain2/usr/lib/sparse")" -lt 1024 ] || fail "reflink copy filled the sparse file"
pass "btrfs snapshots and reflinks"

# ---- raw images: clone, read-only via mode bits, sidecars
truncate -s 64M "$R/disk.raw"
printf 'x' | dd of="$R/disk.raw" bs=1 seek=$((10 << 20)) conv=notrunc status=none
printf '00ff' >"$R/disk.roothash"
must "$COWPEN" --image-root="$R" clone disk disk2
cmp "$R/disk.raw" "$R/disk2.raw" || fail "raw clone differs"
[ "$(stat -c %b "$R/disk2.raw")" -lt 1024 ] || fail "raw clone not sparse"
[ -f "$R/disk2.roothash" ] || fail "raw sidecar did not follow"
must "$COWPEN" --image-root="$R" read-only disk2
[ "$(stat -c %a "$R/disk2.raw")" = 444 ] || fail "raw read-only: mode $(stat -c %a "$R/disk2.raw")"
must "$COWPEN" --image-root="$R" remove disk2
[ ! -e "$R/disk2.raw" ] && [ ! -e "$R/disk2.roothash" ] || fail "raw remove left files"
pass "raw images"

# Nothing hidden is left behind by any of this (lock files are released and unlinked).
left=$(ls -A "$R" "$B" | grep '^\.#' || true)
[ -z "$left" ] || fail "hidden leftovers: $left"
pass "no leftovers"
