#!/bin/bash
# update/rollback of a template on ext4 (-x runs are overlayfs over the image directory) and on
# btrfs (snapshots): 4 running -x jobs keep the generation they started from while an update swaps
# the next one in, jobs started after see it; rollback brings the previous one back; a failing
# command and SIGKILLs at random points leave the template byte-identical and nothing visible
# (clean removes the hidden rest); a second update at once is refused; --keep=0 with runs going
# leaves the old generation to clean; on btrfs the new generation is one snapshot of the template
# and the swap is one renameat2(RENAME_EXCHANGE).
. "$TEST_SRCDIR/tests/lib/lib.sh"

rootfs_fixture
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs"

wait_for_sleep() { # wait_for_sleep ARG [N]: until N (default 1) "sleep ARG" run
  for _ in $(seq 200); do [ "$(pgrep -cf "^sleep $1\$" || true)" -ge "${2:-1}" ] && return 0; sleep 0.1; done
  fail "the containers' sleep $1 never started"
}
visible() { "$COWPEN" list-images --json=short | python3 -c 'import json,sys; print(" ".join(sorted(i["name"] for i in json.load(sys.stdin))))'; }
generation() { "$COWPEN" image-status "$1" --json=short | python3 -c 'import json,sys; print(json.load(sys.stdin)["provenance"]["generation"])'; }

suite() {
  local fs=$1 out i rc d
  make_loop_fs "$fs" 3G
  export COWPEN_IMAGE_ROOT=$LOOP_MNT/images
  local R=$COWPEN_IMAGE_ROOT
  must "$COWPEN" -q import-fs "$ROOTFS_DIR" deb >/dev/null
  [ "$(generation deb)" = None ] || fail "$fs: a fresh image has a generation"

  # 4 -x jobs from generation 0, each waiting (while the update runs) for the go file in a
  # directory bound from the host, then checking whether the update's marker is there.
  local jobs=() ctl=$TEMP_DIR/ctl
  mkdir "$ctl"
  for i in 1 2 3 4; do
    "$COWPEN" run -x -M deb --bind="$ctl:/ctl" /bin/sh -c "touch /ctl/started-$i
      while [ ! -e /ctl/go ]; do sleep 0.1; done
      test -e /gen1-marker && echo SEEN || echo ABSENT" >"$TEMP_DIR/job$i" 2>&1 &
    jobs+=($!)
  done
  at_exit "kill ${jobs[*]} 2>/dev/null"
  for _ in $(seq 600); do [ "$(ls "$ctl" | grep -c started)" = 4 ] && break; sleep 0.1; done
  [ "$(ls "$ctl" | grep -c started)" = 4 ] || fail "$fs: the 4 jobs did not start: $(cat "$TEMP_DIR"/job*)"
  local old_ino
  old_ino=$(stat -c %i "$R/deb")
  if [ "$fs" = btrfs ]; then
    must strace -f -qq -e trace=renameat2 -o "$TEMP_DIR/strace" "$COWPEN" update deb -- /bin/sh -c 'echo 1 >/gen1-marker' \
      2>"$TEMP_DIR/out"
  else
    must "$COWPEN" update deb -- /bin/sh -c 'echo 1 >/gen1-marker' 2>"$TEMP_DIR/out"
  fi
  grep -q "Updated deb to generation 1" "$TEMP_DIR/out" || fail "$fs: update said: $(cat "$TEMP_DIR/out")"
  [ -f "$R/deb/gen1-marker" ] || fail "$fs: the new generation lacks the command's marker"
  [ "$(generation deb)" = 1 ] || fail "$fs: generation after update: $(generation deb)"
  # The old tree was not copied: it is the very inode, renamed to the hidden generation entry.
  [ "$(stat -c %i "$R/.#deb.gen-0")" = "$old_ino" ] || fail "$fs: the old generation is not the old tree"
  must treecmp "$ROOTFS_DIR" "$R/.#deb.gen-0"
  # A job started now sees the new generation.
  out=$("$COWPEN" run -x -M deb /bin/sh -c 'cat /gen1-marker')
  [ "$out" = 1 ] || fail "$fs: a run started after the swap does not see the new generation: $out"
  touch "$ctl/go"
  for i in 1 2 3 4; do wait "${jobs[$((i - 1))]}" || fail "$fs: job $i failed: $(cat "$TEMP_DIR/job$i")"; done
  for i in 1 2 3 4; do
    [ "$(cat "$TEMP_DIR/job$i")" = ABSENT ] || fail "$fs: job $i saw the new generation: $(cat "$TEMP_DIR/job$i")"
  done
  [ "$(visible)" = deb ] || fail "$fs: visible after update: $(visible)"
  "$COWPEN" list-images --all | grep -q '^\.#deb\.gen-0 ' || fail "$fs: list-images --all does not show generation 0"
  pass "$fs: 4 running -x jobs kept generation 0, a new one sees generation 1"

  if [ "$fs" = btrfs ]; then
    # One snapshot of the template: the new generation's parent is the old one; one exchange.
    local parent uuid
    parent=$(btrfs subvolume show "$R/deb" | awk '/Parent UUID:/ {print $3}')
    uuid=$(btrfs subvolume show "$R/.#deb.gen-0" | awk '/^[[:space:]]*UUID:/ {print $2}')
    [ -n "$uuid" ] && [ "$parent" = "$uuid" ] || fail "btrfs: the new generation is no snapshot of the old ($parent vs $uuid)"
    grep -q "snapshot" "$TEMP_DIR/out" || fail "btrfs: update did not say it snapshotted: $(cat "$TEMP_DIR/out")"
    [ "$(grep -c 'RENAME_EXCHANGE' "$TEMP_DIR/strace")" = 2 ] ||
      fail "btrfs: expected one exchange of the tree and one of its record: $(grep renameat2 "$TEMP_DIR/strace")"
    grep 'RENAME_EXCHANGE' "$TEMP_DIR/strace" | grep -q '"deb"' || fail "btrfs: the tree was not exchanged"
    pass "btrfs: the update is one snapshot and one RENAME_EXCHANGE"
  fi

  # rollback: generation 0 is back (the very tree), generation 1 is gone (nobody runs deb).
  must "$COWPEN" rollback deb 2>"$TEMP_DIR/out"
  grep -q "back to generation 0" "$TEMP_DIR/out" || fail "$fs: rollback said: $(cat "$TEMP_DIR/out")"
  must treecmp "$ROOTFS_DIR" "$R/deb"
  [ "$(stat -c %i "$R/deb")" = "$old_ino" ] || fail "$fs: rollback did not bring the old tree back"
  [ -z "$(ls -A "$R" | grep '^\.#deb\.gen-' || true)" ] || fail "$fs: rollback kept: $(ls -A "$R")"
  must_fail "$COWPEN" rollback deb
  assert_one_line_error 'no previous generation of "deb"'
  pass "$fs: rollback restored generation 0"

  # A failing command changes nothing and leaves nothing.
  cp -a "$R/deb" "$TEMP_DIR/ref"
  must_fail "$COWPEN" update deb -- /bin/sh -c 'echo x >/etc/hostname; rm -rf /usr/share/doc; exit 7'
  [[ $ERR =~ "exited with status 7" ]] || fail "$fs: failed update said: $ERR"
  must treecmp "$TEMP_DIR/ref" "$R/deb"
  [ -z "$(ls -A "$R" | grep -v '^deb$' | grep -v '^deb\.provenance$' | grep -v '^\.#deb\.lck$' || true)" ] ||
    fail "$fs: a failed update left: $(ls -A "$R")"
  pass "$fs: a failed update leaves the template as it was"

  # Two at once: the second is refused with one line while the first runs.
  "$COWPEN" update deb -- /bin/sh -c 'sleep 202' >/dev/null 2>&1 &
  local first=$!
  wait_for_sleep 202
  must_fail "$COWPEN" update deb -- /bin/true
  assert_one_line_error 'update deb: image "deb" is being updated or rolled back by another process'
  must_fail "$COWPEN" rollback deb
  assert_one_line_error 'being updated or rolled back'
  kill -TERM "$first"
  wait "$first" && fail "$fs: an interrupted update succeeded"
  must treecmp "$TEMP_DIR/ref" "$R/deb"
  pass "$fs: a second update at once is refused"

  # SIGKILL at random points (while cloning, running, swapping): deb is either the old tree,
  # byte for byte, or (killed after the swap) the complete new generation; nothing visible.
  local swapped=0
  for i in $(seq 10); do
    "$COWPEN" update deb -- /bin/sh -c "echo $i >/kill-marker; sleep 0.$((RANDOM % 10))" >/dev/null 2>&1 &
    local pid=$!
    d=$((RANDOM % 1500))
    sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for _ in $(seq 50); do pgrep -f '^sleep 0\.[0-9]$' >/dev/null || break; sleep 0.1; done
    [ "$(visible)" = deb ] || fail "$fs: kill $i left visible: $(visible)"
    if [ "$(cat "$R/deb/kill-marker" 2>/dev/null)" = "$i" ]; then
      # Killed after the swap: the update had finished its work (an earlier try's marker is part
      # of the reference).
      swapped=$((swapped + 1))
      rm -rf "$TEMP_DIR/ref" && cp -a "$R/deb" "$TEMP_DIR/ref"
      continue
    fi
    treecmp "$TEMP_DIR/ref" "$R/deb" || fail "$fs: kill $i (after ${d} ms) changed the template"
  done
  must "$COWPEN" -q clean
  [ -z "$(ls -A "$R" | grep -v -e '^deb$' -e '^deb\.provenance$' -e '^\.#deb\.gen-[0-9]*$' -e '^\.#deb\.gen-[0-9]*\.provenance$' || true)" ] ||
    fail "$fs: clean left after the kills: $(ls -A "$R")"
  pass "$fs: 10 SIGKILLed updates ($swapped after the swap) left the template intact, clean the rest"

  # --keep=0 while a run uses deb: the old generation cannot go at once; it is retired, and clean
  # removes it once the run has ended.
  "$COWPEN" run -x -M deb /bin/sh -c 'sleep 203' >/dev/null 2>&1 &
  local runner=$!
  wait_for_sleep 203
  must "$COWPEN" -q update deb --keep=0 -- /bin/true
  [ -z "$(ls -A "$R" | grep '^\.#deb\.gen-' || true)" ] || fail "$fs: --keep=0 kept a generation: $(ls -A "$R")"
  ls -A "$R" | grep -q '^\.#retired\.deb\.' || fail "$fs: the old generation in use was not left for clean: $(ls -A "$R")"
  must "$COWPEN" -q clean
  ls -A "$R" | grep -q '^\.#retired\.deb\.' || fail "$fs: clean removed a generation still in use"
  kill "$runner"
  wait "$runner" || true
  must "$COWPEN" -q clean
  ls -A "$R" | grep -q '^\.#retired\.deb\.' && fail "$fs: clean left the retired generation: $(ls -A "$R")"
  pass "$fs: --keep=0 leaves an old generation in use to clean"

  # What cannot be updated says so in one line.
  must_fail "$COWPEN" update nosuch -- /bin/true
  assert_one_line_error 'no image "nosuch"'
  must_fail 2 "$COWPEN" update deb -x -- /bin/true
  must_fail 2 "$COWPEN" update deb /bin/true
  # A settings file that would throw the command's changes away is refused, not obeyed.
  printf '[Exec]\nEphemeral=yes\n' >"$R/deb.nspawn"
  must_fail "$COWPEN" -q update deb -- /bin/sh -c 'echo x >/ephemeral-marker'
  assert_one_line_error 'settings file says Ephemeral=yes'
  rm "$R/deb.nspawn"
  [ ! -e "$R/deb/ephemeral-marker" ] && [ -z "$(ls -A "$R" | grep '^\.#update\.' || true)" ] ||
    fail "$fs: a refused update left: $(ls -A "$R")"
}

suite ext4
suite btrfs
