#!/bin/bash
# A /dev/mapper/control node without device-mapper behind it (libdevmapper creates the node
# whether or not the kernel has device-mapper, and a failed "veritysetup open" leaves it) must not
# make verity images fail ("verity: Operation not supported"): cowpen asks the kernel (DM_VERSION)
# and, getting no answer, checks the image in userspace. The node is made only inside a private
# mount namespace of this test, on an overlay over /dev whose upper layer is a tmpfs: the host's
# /dev is never written.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

raw_image_test_setup mkfs.erofs veritysetup unshare
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs (needed to add a node to a private /dev)"

make_busybox_tree tree
echo verified-in-userspace > tree/etc/motd
mkdir s
must mkfs.erofs --quiet s/app.raw tree
veritysetup format s/app.raw s/app.verity > vs.out || fail "veritysetup format"
sed -n 's/^Root hash:[[:space:]]*//p' vs.out | tr -d '\n' > s/app.roothash

# The node libdevmapper would leave: misc 10:236 where the kernel has no device-mapper; where it
# has one, a misc minor nobody registered (the same "no driver behind the node" case).
minor=236
if grep -qw device-mapper /proc/misc; then
  minor=
  for m in $(seq 200 255); do
    awk -v m="$m" '$1 == m { found = 1 } END { exit !found }' /proc/misc || { minor=$m; break; }
  done
  [ -n "$minor" ] || fail "no free misc minor to make a dead control node with"
fi

# run_with_dead_control CMD…: CMD in a private mount namespace whose /dev has the dead node.
run_with_dead_control() {
  unshare -m bash -c '
    set -e
    minor=$1; shift
    mount --make-rprivate /
    t=$(mktemp -d /run/cowpen-test-dev.XXXXXX)
    mount -t tmpfs tmpfs "$t"
    rmdir_t() { umount -R "$t" 2>/dev/null || true; rmdir "$t"; }
    trap rmdir_t EXIT
    mkdir "$t/upper" "$t/work" "$t/host"
    mount --rbind /dev "$t/host"
    mount -t overlay overlay -o "lowerdir=/dev,upperdir=$t/upper,workdir=$t/work" /dev
    for m in pts shm mqueue; do
      if mountpoint -q "$t/host/$m"; then mount --rbind "$t/host/$m" "/dev/$m"; fi
    done
    mkdir -p /dev/mapper
    mknod /dev/mapper/control c 10 "$minor"
    # What cowpen meets: the node is there, the kernel does not answer on it.
    if : 2>/dev/null <>/dev/mapper/control; then echo "the dead control node opened" >&2; exit 3; fi
    "$@"
  ' run-with-dead-control "$minor" "$@"
}

out=$(run_with_dead_control "$COWPEN" run -i s/app.raw cat /etc/motd 2>"$W/err") ||
  fail "run -i with a dead /dev/mapper/control failed: $(cat "$W/err")"
[ "$out" = verified-in-userspace ] || fail "run -i with a dead /dev/mapper/control: \"$out\" $(cat "$W/err")"
[ ! -e /dev/mapper/control ] || [ -c /dev/mapper/control ] || fail "the host's /dev was changed"
pass "verity image runs, checked in userspace, with /dev/mapper/control present but no device-mapper (misc minor $minor)"

# The check is still a check: a flipped byte is refused on this path too.
cp -a s t
printf 'X' | dd of=t/app.raw bs=1 seek=7000 conv=notrunc status=none
must_fail 1 run_with_dead_control "$COWPEN" run -i t/app.raw true
assert_one_line_error 'verity: data block 1 .*does not match'
pass "tampered image refused on the userspace path behind a dead control node"

[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
