#!/bin/bash
# A read-only image runs read-only. "read-only NAME yes" marks a directory image the way machinectl
# does (its top directory immutable: the files below stay writable on the host, which is said),
# a subvolume by its btrfs property (nested subvolumes keep theirs, which is said), a raw image by
# its write bits; run -M (and -D of the image) then mounts the root read-only, as systemd-nspawn
# does for read-only images, whatever a settings file says. Once "run -M NAME" of a read-only
# directory image wrote into it ("echo x >/etc/motd" succeeded). -x and --read-only runs of a
# read-only image work; "read-only NAME no" undoes it; remove, rename and clone behave as
# machinectl's (allowed; a clone is writable unless --read-only).
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

make_temp_dir
T=$TEMP_DIR
make_busybox_tree "$T/tree"
echo original > "$T/tree/etc/motd"
mkdir -p "$T/tree/var/data"

motd() { cat "$1/etc/motd"; }
# write_fails ROOT-ARGS…: a write to /etc/motd inside fails with EROFS.
write_fails() {
  local out rc=0
  out=$("$COWPEN" "$@" sh -c 'echo x >/etc/motd' 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || fail "run $*: writing /etc/motd succeeded"
  [[ $out == *"Read-only file system"* ]] || fail "run $*: not EROFS: $out"
}
write_works() {
  must "$COWPEN" "$@" sh -c 'echo written >/etc/motd && touch /var/data/new'
}

# ---- a plain directory image
make_loop_fs ext4 512M
R=$LOOP_MNT/machines
cw() { "$COWPEN" --image-root="$R" "$@"; }
must cw -q import-fs "$T/tree" dir
cw read-only dir yes 2>"$T/err" || fail "read-only dir yes: $(cat "$T/err")"
grep -q 'only its top directory is made immutable' "$T/err" || fail "no honest note for a plain directory: $(cat "$T/err")"
lsattr -d "$R/dir" | cut -d' ' -f1 | grep -q i || fail "top directory not immutable"
cw image-status dir | grep -q 'Read-only: yes' || fail "status: not read-only"
write_fails --image-root="$R" run -M dir
write_fails --image-root="$R" run -D "$R/dir"
[ "$(motd "$R/dir")" = original ] || fail "the read-only image was written"
[ ! -e "$R/dir/var/data/new" ] || fail "the read-only image was written below"
pass "directory: read-only NAME yes says what it covers, run -M and -D run it read-only"

# A settings file cannot make it writable (ReadOnly= narrows only here).
printf '[Files]\nReadOnly=no\n' > "$R/dir.nspawn"
write_fails --image-root="$R" run -M dir
rm "$R/dir.nspawn"
[ "$(motd "$R/dir")" = original ] || fail "ReadOnly=no wrote the read-only image"
pass "directory: ReadOnly=no in the settings file does not make it writable"

# --read-only and -x keep working; -x writes only its copy.
must cw run -M dir --read-only cat /etc/motd > "$T/out"
[ "$(cat "$T/out")" = original ] || fail "--read-only run: $(cat "$T/out")"
out=$(cw run -x -M dir sh -c 'echo ephemeral >/etc/motd && touch /var/data/new && cat /etc/motd') ||
  fail "-x run of a read-only directory image failed: $out"
[ "$out" = ephemeral ] || fail "-x run: $out"
out=$(cw run -x -U -M dir sh -c 'echo ephemeral >/etc/motd && cat /etc/motd') ||
  fail "-x -U run (a copy) of a read-only directory image failed: $out"
[ "$out" = ephemeral ] || fail "-x -U run: $out"
[ "$(motd "$R/dir")" = original ] && [ ! -e "$R/dir/var/data/new" ] || fail "-x wrote the image"
pass "directory: --read-only and -x (overlayfs and copy) runs work, the image unchanged"

# clone: writable unless --read-only; rename and remove allowed, as machinectl.
must cw -q clone dir dir-copy
lsattr -d "$R/dir-copy" | cut -d' ' -f1 | grep -q i && fail "clone of a read-only image is immutable"
write_works --image-root="$R" run -M dir-copy
[ "$(motd "$R/dir-copy")" = written ] || fail "clone not writable"
must cw -q clone --read-only dir-copy dir-copy-ro
cw image-status dir-copy-ro | grep -q 'Read-only: yes' || fail "clone --read-only not read-only"
write_fails --image-root="$R" run -M dir-copy-ro
must cw -q rename dir dir-renamed
cw image-status dir-renamed | grep -q 'Read-only: yes' || fail "rename lost read-only"
write_fails --image-root="$R" run -M dir-renamed
must cw -q read-only dir-renamed no
lsattr -d "$R/dir-renamed" | cut -d' ' -f1 | grep -q i && fail "read-only no left it immutable"
write_works --image-root="$R" run -M dir-renamed
[ "$(motd "$R/dir-renamed")" = written ] || fail "read-only no: not writable"
must cw -q read-only dir-renamed
must cw -q remove dir-renamed dir-copy-ro
[ ! -e "$R/dir-renamed" ] && [ ! -e "$R/dir-copy-ro" ] || fail "remove of read-only images"
pass "directory: clone (writable), clone --read-only, rename, read-only no, remove"

# ---- a raw image: the write bits
command -v mkfs.ext4 >/dev/null || fail "mkfs.ext4 missing"
truncate -s 64M "$R/disk.raw"
mkfs.ext4 -q -F -d "$T/tree" "$R/disk.raw" >/dev/null || fail "mkfs.ext4 -d"
must cw -q read-only disk yes
[ "$(stat -c %a "$R/disk.raw")" = 444 ] || fail "raw read-only: mode $(stat -c %a "$R/disk.raw")"
write_fails --image-root="$R" run -M disk
must cw run -x -M disk sh -c 'echo x >/etc/motd'
must cw -q read-only disk no
write_works --image-root="$R" run -M disk
pass "raw: read-only by its write bits, run -M read-only, -x works, read-only no"

# ---- btrfs: a subvolume, with a nested one
make_loop_fs btrfs 1G
B=$LOOP_MNT/machines
cb() { "$COWPEN" --image-root="$B" "$@"; }
mkdir -p "$B"
must cb -q import-fs "$T/tree" sv
[ "$(stat -c %i "$B/sv")" = 256 ] || fail "import-fs on btrfs is not a subvolume"
btrfs subvolume create "$B/sv/nested" >/dev/null
echo inner > "$B/sv/nested/file"
cb read-only sv yes 2>"$T/err" || fail "read-only sv: $(cat "$T/err")"
grep -q 'nested subvolumes keep their own read-only state' "$T/err" || fail "no note about nested subvolumes: $(cat "$T/err")"
[ "$(btrfs property get -ts "$B/sv" ro)" = ro=true ] || fail "subvolume not read-only"
write_fails --image-root="$B" run -M sv
out=$(cb run -M sv sh -c 'echo x >/nested/file' 2>&1) && fail "wrote the nested subvolume of a read-only image"
[[ $out == *"Read-only file system"* ]] || fail "nested subvolume write: $out"
[ "$(cat "$B/sv/nested/file")" = inner ] || fail "nested subvolume written"
out=$(cb run -x -M sv sh -c 'echo ephemeral >/etc/motd && echo x >/nested/file && cat /etc/motd') ||
  fail "-x run of a read-only subvolume failed: $out"
[ "$out" = ephemeral ] || fail "-x run: $out"
must cb run -M sv --read-only true
[ "$(motd "$B/sv")" = original ] || fail "the read-only subvolume was written"
must cb -q clone sv sv-copy
[ "$(btrfs property get -ts "$B/sv-copy" ro)" = ro=false ] || fail "clone of a read-only subvolume is read-only"
write_works --image-root="$B" run -M sv-copy
must cb -q rename sv sv-renamed
[ "$(btrfs property get -ts "$B/sv-renamed" ro)" = ro=true ] || fail "rename lost read-only"
must cb -q read-only sv-renamed no
write_works --image-root="$B" run -M sv-renamed
must cb -q read-only sv-renamed yes
must cb -q remove sv-renamed sv-copy
[ ! -e "$B/sv-renamed" ] || fail "remove of a read-only subvolume"
pass "subvolume: read-only as a whole (nested ones said), run read-only, -x, clone, rename, no, remove"
