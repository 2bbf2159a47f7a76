#!/bin/bash
# clean removes only hidden entries that are provably abandoned. cowpen's own (".#KIND.NAME.RANDOM"
# with its lock file) go as soon as their lock is free and stay while it is held; another tool's
# hidden ".#…" entries (a running systemd-import's directory holds no cowpen lock) go only when
# nothing in them was modified for an hour, with or without --all. clean once deleted such a
# directory while its import was still writing into it.
. "$TEST_SRCDIR/tests/lib/lib.sh"

make_temp_dir
R=$TEMP_DIR/root
mkdir -p "$R"
old() { find "$1" -exec touch -h -d '2 hours ago' {} +; }

# A live foreign import: its directory is written into all the time.
mkdir -p "$R/.#import-foo/usr/lib"
( while :; do date +%s%N > "$R/.#import-foo/usr/lib/progress"; sleep 0.2; done ) &
writer=$!
at_exit "kill $writer 2>/dev/null; wait $writer 2>/dev/null"
# A foreign leftover nothing touched for two hours, and one old but for a file deep inside.
mkdir -p "$R/.#import-old/etc/deep" "$R/.#import-mixed/a/b/c"
echo x > "$R/.#import-old/etc/deep/file"
ln -s file "$R/.#import-old/etc/deep/link"
echo y > "$R/.#import-mixed/a/b/c/file"
old "$R/.#import-old"
old "$R/.#import-mixed"
touch "$R/.#import-mixed/a/b/c/file"
echo z > "$R/.#foreign-file.0a1b2c3d"
old "$R/.#foreign-file.0a1b2c3d"
# cowpen's own: an abandoned clone (lock file, not held) goes however fresh it is…
mkdir -p "$R/.#clone.img.0123456789abcdef/etc"
: > "$R/.#clone.img.0123456789abcdef.lck"
# …one whose lock is held stays (a POSIX lock conflicts with cowpen's OFD lock)…
mkdir -p "$R/.#import-tar.busy.fedcba9876543210"
: > "$R/.#import-tar.busy.fedcba9876543210.lck"
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "r+"); fcntl.lockf(f, fcntl.LOCK_EX); print("held", flush=True); time.sleep(600)' \
  "$R/.#import-tar.busy.fedcba9876543210.lck" > "$TEMP_DIR/held" &
holder=$!
at_exit "kill $holder 2>/dev/null; wait $holder 2>/dev/null"
for _ in $(seq 50); do grep -q held "$TEMP_DIR/held" && break; sleep 0.1; done
grep -q held "$TEMP_DIR/held" || fail "could not hold the lock"
# …and a name of cowpen's form without its lock file is not provably cowpen's: it waits as well.
mkdir -p "$R/.#machine.x.00112233445566aa"
sleep 0.5

must "$COWPEN" --image-root="$R" clean 2>"$TEMP_DIR/out"
[ -d "$R/.#import-foo" ] || fail "clean removed a foreign directory that is being written into"
[ -f "$R/.#import-foo/usr/lib/progress" ] || fail "clean removed files of a live foreign directory"
[ -d "$R/.#import-mixed" ] || fail "clean removed a foreign directory with a fresh file deep inside"
[ ! -e "$R/.#import-old" ] || fail "clean kept a foreign directory untouched for two hours"
[ ! -e "$R/.#foreign-file.0a1b2c3d" ] || fail "clean kept an old foreign file"
[ ! -e "$R/.#clone.img.0123456789abcdef" ] || fail "clean kept cowpen's own abandoned clone"
[ -d "$R/.#import-tar.busy.fedcba9876543210" ] || fail "clean removed an entry whose lock is held"
[ -d "$R/.#machine.x.00112233445566aa" ] || fail "clean removed a fresh entry without a lock file"
grep -q 'Removed .#import-old' "$TEMP_DIR/out" || fail "removal not reported: $(cat "$TEMP_DIR/out")"
grep -q 'import-foo' "$TEMP_DIR/out" && fail "reported removing the live one: $(cat "$TEMP_DIR/out")"
pass "clean: a live foreign directory stays, an old one goes, cowpen's own go when unlocked"

must "$COWPEN" --image-root="$R" -q clean --all
[ -d "$R/.#import-foo" ] || fail "clean --all removed a foreign directory that is being written into"
[ -d "$R/.#import-tar.busy.fedcba9876543210" ] || fail "clean --all removed an entry whose lock is held"
pass "clean --all keeps them too"

# Once the foreign writer stopped and its directory aged, it goes; so does the unlocked entry.
kill "$writer"; wait "$writer" 2>/dev/null || true
old "$R/.#import-foo"
kill "$holder"; wait "$holder" 2>/dev/null || true
must "$COWPEN" --image-root="$R" -q clean
[ ! -e "$R/.#import-foo" ] || fail "clean kept a foreign directory untouched for two hours"
[ ! -e "$R/.#import-tar.busy.fedcba9876543210" ] || fail "clean kept an entry whose lock was released"
[ -d "$R/.#machine.x.00112233445566aa" ] || fail "clean removed a fresh lockless entry"
old "$R/.#machine.x.00112233445566aa"
old "$R/.#import-mixed"
must "$COWPEN" --image-root="$R" -q clean
[ -z "$(ls -A "$R")" ] || fail "left behind: $(ls -A "$R")"
pass "aged and unlocked leftovers removed, nothing left"
