#!/bin/bash
# Locks: 8 concurrent clones of one name end with exactly one winner; a clone killed with SIGKILL
# mid-copy leaves only a hidden entry that clean removes; images in use cannot be removed.
. "$TEST_SRCDIR/tests/lib/lib.sh"

make_loop_fs ext4 10G
R=$LOOP_MNT/machines
make_temp_dir
mkdir -p "$TEMP_DIR/src"
make_special_tree "$TEMP_DIR/src"
# Enough data that a copy takes a noticeable while (copy_file_range still has to move it).
for i in $(seq 1 16); do head -c 64M /dev/urandom >"$TEMP_DIR/src/blob$i"; done
must "$COWPEN" --image-root="$R" import-fs "$TEMP_DIR/src" A

# ---- 8 concurrent clone A B
pids=()
for i in $(seq 1 8); do
  "$COWPEN" --image-root="$R" clone A B >"$TEMP_DIR/out.$i" 2>&1 &
  pids+=($!)
done
wins=0
for i in $(seq 1 8); do
  if wait "${pids[$((i - 1))]}"; then
    wins=$((wins + 1))
  else
    [ "$(wc -l <"$TEMP_DIR/out.$i")" -eq 1 ] || fail "loser printed more than one line: $(cat "$TEMP_DIR/out.$i")"
    grep -Eq '^cowpen: clone A → B: image "B" already exists$|^cowpen: clone A → B: image "A" or "B" is in use$' "$TEMP_DIR/out.$i" ||
      fail "unclear loser message: $(cat "$TEMP_DIR/out.$i")"
  fi
done
[ "$wins" -eq 1 ] || fail "$wins of 8 concurrent clones succeeded"
treecmp "$R/A" "$R/B" >/dev/null || fail "the winning clone differs"
left=$(ls -A "$R" | grep '^\.#' || true)
[ -z "$left" ] || fail "hidden leftovers after concurrent clones: $left"
pass "8 concurrent clones: one winner"

# ---- SIGKILL mid-copy
"$COWPEN" --image-root="$R" clone A C 2>/dev/null &
pid=$!
# As soon as the hidden copy exists, freeze the clone mid-copy, then kill it.
for _ in $(seq 1 2000); do
  ls -A "$R" | grep -q '^\.#clone\.C\.' && break
  sleep 0.005
done
kill -STOP $pid 2>/dev/null || fail "the clone finished before it could be stopped mid-copy"
[ ! -e "$R/C" ] || fail "clone finished before it could be stopped mid-copy"
kill -KILL $pid
wait $pid 2>/dev/null || true
[ ! -e "$R/C" ] || fail "killed clone left a visible image"
ls -A "$R" | grep -q '^\.#clone\.C\.' || fail "killed clone left no hidden entry (finished too fast?)"
"$COWPEN" --image-root="$R" list-images | grep -q '^C ' && fail "killed clone listed"
must "$COWPEN" --image-root="$R" clean 2>"$TEMP_DIR/out"
grep -q 'Removed .#clone.C.' "$TEMP_DIR/out" || fail "clean did not report the leftover: $(cat "$TEMP_DIR/out")"
left=$(ls -A "$R" | grep '^\.#' || true)
[ -z "$left" ] || fail "clean left: $left"
must "$COWPEN" --image-root="$R" clone A C
treecmp "$R/A" "$R/C" >/dev/null || fail "clone after clean differs"
pass "SIGKILL mid-clone leaves only a hidden entry that clean removes"

# ---- SIGINT mid-copy: the clone removes its partial copy itself
"$COWPEN" --image-root="$R" clone A D 2>"$TEMP_DIR/int" &
pid=$!
for _ in $(seq 1 2000); do
  ls -A "$R" | grep -q '^\.#clone\.D\.' && break
  sleep 0.005
done
[ ! -e "$R/D" ] || fail "clone finished before it could be interrupted"
kill -INT $pid
rc=0; wait $pid || rc=$?
[ $rc -ne 0 ] || fail "interrupted clone exited 0"
[ ! -e "$R/D" ] || fail "interrupted clone is visible"
left=$(ls -A "$R" | grep '^\.#' || true)
[ -z "$left" ] || fail "interrupted clone left: $left"
pass "SIGINT mid-clone cleans up"

# ---- an image in use (a live process holds its lock) cannot be removed, renamed or flipped
python3 - "$R" <<'PY' &
import fcntl, os, struct, sys, time
fd = os.open(os.path.join(sys.argv[1], ".#A.lck"), os.O_RDWR | os.O_CREAT, 0o600)
# F_OFD_SETLK = 37, a shared (read) lock on the whole file.
fcntl.fcntl(fd, 37, struct.pack("hhqqi", fcntl.F_RDLCK, 0, 0, 0, 0))
open(os.path.join(sys.argv[1], "..", "locked"), "w").close()
time.sleep(30)
PY
holder=$!
at_exit "kill $holder"
for _ in $(seq 1 100); do [ -e "$LOOP_MNT/locked" ] && break; sleep 0.05; done
must_fail 1 "$COWPEN" --image-root="$R" remove A
assert_one_line_error '^cowpen: remove A: image "A" is in use$'
must_fail 1 "$COWPEN" --image-root="$R" rename A Z
assert_one_line_error 'is in use$'
must_fail 1 "$COWPEN" --image-root="$R" read-only A
assert_one_line_error '^cowpen: read-only A: image "A" is in use$'
# A reader does not block another reader: clone from a shared-locked image works.
must "$COWPEN" --image-root="$R" clone A E
# clean must not touch a held lock file.
must "$COWPEN" --image-root="$R" clean
[ -e "$R/.#A.lck" ] || fail "clean removed a held lock file"
kill $holder; wait $holder 2>/dev/null || true
must "$COWPEN" --image-root="$R" remove A
pass "locks"
