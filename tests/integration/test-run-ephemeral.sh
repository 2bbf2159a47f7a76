#!/bin/bash
# cowpen run -x on the real Debian rootfs, on btrfs (snapshot of a subvolume image) and on ext4
# (overlayfs): changes are gone afterwards and the image is unchanged; nothing of size is
# copied; 8 parallel runs of one image; a SIGKILLed cowpen takes its container with it and
# leaves only a hidden entry that clean removes; an image in use cannot be removed.
. "$TEST_SRCDIR/tests/lib/lib.sh"

rootfs_fixture
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs"

hidden_entries() { ls -A "$COWPEN_IMAGE_ROOT" | grep '^\.#machine\.' || true; }

wait_for_sleep() { # wait_for_sleep ARG: until a "sleep ARG" runs
  for _ in $(seq 100); do pgrep -f "^sleep $1\$" >/dev/null && return 0; sleep 0.1; done
  fail "the container's sleep $1 never started"
}

suite() {
  local fs=$1 out rc
  make_loop_fs "$fs" 2G
  export COWPEN_IMAGE_ROOT=$LOOP_MNT/images
  must "$COWPEN" -q import-fs "$ROOTFS_DIR" deb >/dev/null
  local R=$COWPEN_IMAGE_ROOT/deb
  if [ "$fs" = btrfs ]; then
    btrfs subvolume show "$R" >/dev/null 2>&1 || fail "btrfs: the imported image is not a subvolume"
  fi

  # Changes made inside are gone afterwards; the image is unchanged, byte for byte.
  out=$("$COWPEN" run -x -M deb /bin/sh -c '
    echo changed >/etc/os-release && rm /usr/bin/ls && mkdir /new && echo x >/new/f && cat /etc/os-release
    hostname')
  [ "$out" = $'changed\ndeb' ] || fail "$fs: -x: writes inside failed: $out"
  must treecmp "$ROOTFS_DIR" "$R"
  [ -z "$(hidden_entries)" ] || fail "$fs: -x left $(hidden_entries)"
  pass "$fs: -x changes are gone, image unchanged"

  # How the copy was made, and that nothing of size was copied: while a run holds its copy, the
  # filesystem's usage has grown by less than 2 MiB (the tree is ~200 MB).
  local before during entry kind
  sync
  before=$(df --output=used -k "$LOOP_MNT" | tail -n1)
  "$COWPEN" run -x -M deb /bin/sh -c 'awk "\$5 == \"/\"" /proc/self/mountinfo; sleep 101' >"$TEMP_DIR/out" &
  local pid=$!
  wait_for_sleep 101
  sync
  during=$(df --output=used -k "$LOOP_MNT" | tail -n1)
  entry=$(hidden_entries)
  [ "$(printf '%s\n' "$entry" | grep -vc '\.lck$')" -eq 1 ] || fail "$fs: expected one hidden entry during -x, got: $entry"
  kill -TERM $pid
  rc=0
  wait $pid || rc=$?
  [ $rc -eq 143 ] || fail "$fs: SIGTERM gave $rc"
  [ $((during - before)) -lt 2048 ] || fail "$fs: -x used $((during - before)) KiB: it copied the image"
  if [ "$fs" = btrfs ]; then kind=btrfs; else kind=overlay; fi
  grep -q " - $kind " "$TEMP_DIR/out" || fail "$fs: the root is not $kind: $(cat "$TEMP_DIR/out")"
  [ -z "$(hidden_entries)" ] || fail "$fs: -x left $(hidden_entries) after SIGTERM"
  pass "$fs: -x by $kind, $((during - before)) KiB used"

  # 8 parallel -x runs of one image all succeed, each in its own copy (and a machine of its own:
  # deb, then deb-RANDOM for the runs that find deb running).
  local pids=() i
  for i in $(seq 8); do
    "$COWPEN" run -x -M deb /bin/sh -c "test ! -e /marker && echo $i >/marker && sleep 1 && cat /marker" \
      >"$TEMP_DIR/par.$i" 2>&1 &
    pids+=($!)
  done
  for i in $(seq 8); do
    wait "${pids[$((i - 1))]}" || fail "$fs: parallel -x run $i failed: $(cat "$TEMP_DIR/par.$i")"
    [ "$(cat "$TEMP_DIR/par.$i")" = "$i" ] || fail "$fs: parallel run $i saw $(cat "$TEMP_DIR/par.$i")"
  done
  [ -z "$(hidden_entries)" ] || fail "$fs: parallel runs left $(hidden_entries)"
  must treecmp "$ROOTFS_DIR" "$R"
  pass "$fs: 8 parallel -x runs"

  # An image in use cannot be removed: writable runs lock it exclusively, -x shares.
  "$COWPEN" run -M deb --resolv-conf=off --timezone=off sleep 102 &
  pid=$!
  wait_for_sleep 102
  must_fail 1 "$COWPEN" remove deb
  assert_one_line_error 'in use'
  must_fail 1 "$COWPEN" run -M deb /bin/true
  assert_one_line_error 'in use'
  kill -INT $pid
  wait $pid || true
  "$COWPEN" run -x -M deb sleep 103 &
  pid=$!
  wait_for_sleep 103
  must_fail 1 "$COWPEN" remove deb
  must "$COWPEN" run -x -M deb /bin/true
  must "$COWPEN" run --read-only -M deb /bin/true
  must_fail 1 "$COWPEN" run -M deb /bin/true
  kill -INT $pid
  wait $pid || true
  pass "$fs: locks"

  # cowpen killed with SIGKILL: the container dies with it, only the hidden entry is left, and
  # clean removes it.
  "$COWPEN" run -x -M deb /bin/sh -c 'sleep 104 & sleep 105' &
  pid=$!
  wait_for_sleep 105
  wait_for_sleep 104
  kill -KILL $pid
  wait $pid || true
  for _ in $(seq 50); do pgrep -f '^sleep 10[45]$' >/dev/null || break; sleep 0.1; done
  pgrep -f '^sleep 10[45]$' && fail "$fs: the container outlived a SIGKILLed cowpen"
  entry=$(hidden_entries)
  [ -n "$entry" ] || fail "$fs: no hidden entry after SIGKILL"
  [ -z "$(ls "$COWPEN_IMAGE_ROOT" | grep -vx -e deb -e deb.provenance)" ] || fail "$fs: visible leftovers: $(ls "$COWPEN_IMAGE_ROOT")"
  grep -q " $COWPEN_IMAGE_ROOT/" /proc/self/mountinfo && fail "$fs: a mount leaked to the host"
  must "$COWPEN" clean >/dev/null
  [ -z "$(hidden_entries)" ] || fail "$fs: clean left $(hidden_entries)"
  must treecmp "$ROOTFS_DIR" "$R"
  must "$COWPEN" remove deb
  pass "$fs: SIGKILL leaves only a hidden entry, clean removes it"
}

for fs in btrfs ext4; do
  suite "$fs"
done
