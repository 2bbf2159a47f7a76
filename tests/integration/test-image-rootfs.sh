#!/bin/bash
# The real Debian rootfs as an image: imported and cloned on ext4 (identical copies) and on btrfs
# (a subvolume snapshot whose time does not grow with the image's size).
. "$TEST_SRCDIR/tests/lib/lib.sh"

rootfs_fixture

# ---- ext4: import-fs copies, clone copies, both identical to the fixture
make_loop_fs ext4 4G
R=$LOOP_MNT/machines
must "$COWPEN" --image-root="$R" import-fs "$ROOTFS_DIR" deb
must treecmp --no-top --ignore=.complete "$ROOTFS_DIR" "$R/deb" >/dev/null
must "$COWPEN" --image-root="$R" clone deb deb2
treecmp "$R/deb" "$R/deb2" >&2 || fail "ext4 clone of the rootfs differs"
"$COWPEN" --image-root="$R" image-status deb --json=short | python3 -c '
import json,sys; o=json.load(sys.stdin)
assert o["os_release"]["ID"] == "debian", o["os_release"]
assert o["os_release"]["VERSION_CODENAME"] == "bookworm", o["os_release"]' || fail "os-release of the rootfs"
pass "ext4: rootfs import and clone identical"

# ---- btrfs: snapshot clone in constant time
make_loop_fs btrfs 6G
B=$LOOP_MNT/machines
mkdir -p "$B"
btrfs subvolume create "$B/deb" >/dev/null
cp -a "$ROOTFS_DIR/." "$B/deb/"
btrfs subvolume create "$B/big" >/dev/null
cp -a "$ROOTFS_DIR/." "$B/big/"
dd if=/dev/urandom of="$B/big/ballast" bs=1M count=1536 status=none
sync

# Time the clones of the 200 MB and the 1.7 GB image, alternating; snapshots do not copy data, so
# the larger must not take noticeably longer. Only a gross difference fails (a copy of 1.5 GB
# takes seconds; a snapshot milliseconds): this is a structural check, the figures are in bench/.
small=() large=()
for i in 1 2 3; do
  t0=$(date +%s%N); must "$COWPEN" -q --image-root="$B" clone deb "s$i"; t1=$(date +%s%N)
  must "$COWPEN" -q --image-root="$B" clone big "l$i"; t2=$(date +%s%N)
  small+=($(((t1 - t0) / 1000000))); large+=($(((t2 - t1) / 1000000)))
done
log "snapshot clone ms: 200MB ${small[*]}; 1.7GB ${large[*]}"
for i in 1 2 3; do
  [ "$(stat -c %i "$B/l$i")" = 256 ] || fail "clone l$i is not a subvolume"
done
# The data is shared, not copied: exclusive usage of a clone is (almost) nothing.
excl=$(btrfs filesystem du -s --raw "$B/l1" | awk 'NR==2{print $2}')
[ "$excl" -lt $((16 << 20)) ] || fail "snapshot clone has $excl exclusive bytes"
treecmp "$B/deb" "$B/s1" >&2 || fail "btrfs snapshot of the rootfs differs"
must "$COWPEN" --image-root="$B" remove s1 s2 s3 l1 l2 l3
pass "btrfs: rootfs snapshots in constant time"
