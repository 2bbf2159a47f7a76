#!/bin/bash
# cowpen run --link-journal=, as systemd-nspawn 252's setup_journal(), for a container whose
# machine ID is a fresh random one (so the host's /var/log/journal/ID is the test's own, removed at
# exit): guest makes the container's /var/log/journal/ID and the host's a symlink to it; host
# makes the host's directory and binds it into the container; auto binds an existing host
# directory and keeps a guest symlink; no and -x link nothing; try-* give up quietly where guest
# and host fail; both are left in place when the container ends; a symlink planted at the
# container's var/log/journal is refused; bad values and -x with guest are one-line usage errors.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

[ -d /var/log/journal ] || skip "the host has no /var/log/journal (no persistent journal) to link to"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true

make_temp_dir
T=$TEMP_DIR
ROOT=$T/images/jr
mkdir -p "$T/images"
make_busybox_tree "$ROOT"
ID=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
[ ${#ID} -eq 32 ] || fail "no random machine ID"
printf '%s\n' "$ID" >"$ROOT/etc/machine-id"
HOSTJ=/var/log/journal/$ID
at_exit "rm -rf '$HOSTJ'"
run() { "$COWPEN" run -q -D "$ROOT" -P "$@"; }
mounted() { grep -c " /var/log/journal/$ID " || true; }

# guest: the host's entry is a symlink into the root, the directory is the container's.
out=$(run --link-journal=guest /bin/sh -c "ls -d /var/log/journal/$ID && grep -c ' /var/log/journal/$ID ' /proc/self/mountinfo") || true
[ -L "$HOSTJ" ] || fail "--link-journal=guest: no symlink $HOSTJ ($out)"
[ "$(readlink "$HOSTJ")" = "$ROOT/var/log/journal/$ID" ] || fail "--link-journal=guest: symlink to $(readlink "$HOSTJ")"
[ -d "$ROOT/var/log/journal/$ID" ] && [ ! -L "$ROOT/var/log/journal/$ID" ] || fail "--link-journal=guest: no directory in the container"
grep -qx "/var/log/journal/$ID" <<<"$out" || fail "--link-journal=guest: the container does not see it: $out"
grep -qx 0 <<<"$out" || fail "--link-journal=guest: something is mounted there: $out"
# It stays after the run; auto keeps it (nothing mounted, the symlink unchanged).
out=$(run /bin/sh -c "grep -c ' /var/log/journal/$ID ' /proc/self/mountinfo") || true
[ "$out" = 0 ] && [ "$(readlink "$HOSTJ")" = "$ROOT/var/log/journal/$ID" ] || fail "auto after guest: $out, $(ls -l "$HOSTJ")"
pass "--link-journal=guest: the host's /var/log/journal/ID a symlink to the container's directory, kept after the run and by auto"

# host: the symlink goes, the host's directory is made and bound in (writes land on the host).
rm -rf "$ROOT/var/log/journal/$ID"
mkdir "$ROOT/var/log/journal/$ID"
out=$(run --link-journal=host /bin/sh -c "echo written >/var/log/journal/$ID/probe && grep -c ' /var/log/journal/$ID ' /proc/self/mountinfo") ||
  fail "--link-journal=host: $out"
[ -d "$HOSTJ" ] && [ ! -L "$HOSTJ" ] || fail "--link-journal=host: no host directory $HOSTJ"
[ "$out" = 1 ] || fail "--link-journal=host: not bound into the container ($out)"
[ "$(cat "$HOSTJ/probe")" = written ] || fail "--link-journal=host: the container's write is not on the host"
[ ! -e "$ROOT/var/log/journal/$ID/probe" ] || fail "--link-journal=host: the write landed in the image"
# auto binds the existing host directory; no binds nothing.
[ "$(run /bin/cat /var/log/journal/$ID/probe)" = written ] || fail "auto does not bind the existing host directory"
[ "$(run --link-journal=no /bin/sh -c "grep -c ' /var/log/journal/$ID ' /proc/self/mountinfo" || true)" = 0 ] ||
  fail "--link-journal=no binds"
pass "--link-journal=host: the host's directory bound in, kept after the run, bound by auto, not by no"

# A non-empty host directory is never replaced: guest and -j (try-guest) both fail, as nspawn's.
rm -rf "$HOSTJ"
mkdir "$HOSTJ"
echo keep >"$HOSTJ/probe"
for o in --link-journal=guest -j; do
  must_fail run $o /bin/true
  assert_one_line_error "run jr: /var/log/journal/$ID: --link-journal=guest: remove the host's directory: Directory not empty"
  [ -d "$HOSTJ" ] && [ ! -L "$HOSTJ" ] && [ -e "$HOSTJ/probe" ] || fail "$o changed the host's directory"
done
rm -rf "$HOSTJ"
pass "a non-empty host directory is not replaced (guest and -j fail with one line)"

# A read-only root: guest and host fail, try-guest (-j), try-host and auto give up quietly.
rm -rf "$ROOT/var"
must_fail run --read-only --link-journal=guest /bin/true
assert_one_line_error "run jr: --link-journal: make the container's /var/log/journal: Read-only file system"
for o in -j --link-journal=try-host --link-journal=auto; do
  out=$(run --read-only $o /bin/true 2>&1) || fail "--read-only $o: $out"
done
[ ! -e "$HOSTJ" ] && [ ! -L "$HOSTJ" ] || fail "a read-only root got a journal link"
pass "try-guest, try-host and auto give up quietly where guest fails (a read-only root)"

# -x: no linking; guest and host refused with it, try-* accepted.
rm -rf "$HOSTJ" "$ROOT/var"
must_fail 2 run -x --link-journal=guest /bin/true
assert_one_line_error "^.*run: --ephemeral and --link-journal=guest\|host may not be combined"
out=$(run -x --link-journal=try-host /bin/true 2>&1) || fail "-x --link-journal=try-host: $out"
[ ! -e "$HOSTJ" ] || fail "-x linked the journal"
# Ephemeral=yes of the settings file is -x too.
printf '[Exec]\nEphemeral=yes\n' >"$T/images/jr.nspawn"
must_fail 2 run --link-journal=host /bin/true
assert_one_line_error "^.*run: --ephemeral and --link-journal=guest\|host may not be combined"
must run -j /bin/true
[ ! -e "$HOSTJ" ] && [ ! -e "$ROOT/var" ] || fail "Ephemeral=yes linked the journal"
rm "$T/images/jr.nspawn"
pass "-x links nothing; --link-journal=guest|host refused with it"

# A symlink planted at the container's var/log/journal is refused: the host would follow it.
mkdir -p "$ROOT/var/log" "$T/elsewhere"
ln -s /etc "$ROOT/var/log/journal"
must_fail run --link-journal=guest /bin/true
assert_one_line_error "run jr: --link-journal: the container's /var/log/journal is not a directory \(a symlink\?\), refusing to use it"
[ ! -e "$HOSTJ" ] && [ ! -L "$HOSTJ" ] || fail "a symlink was made for a planted var/log/journal"
[ ! -e "/etc/$ID" ] && [ ! -e "$ROOT/etc/$ID" ] || fail "the planted symlink was followed"
# auto (the default) and try-* give up quietly there: a symlinked /var does not stop a run.
for o in "" -j --link-journal=try-host; do
  out=$(run $o /bin/true 2>&1) || fail "a symlinked var/log/journal stops the run ($o): $out"
done
rm "$ROOT/var/log/journal"
ln -s ../../etc "$ROOT/var/log/journal"
must_fail run --link-journal=host /bin/true
[ ! -e "$ROOT/etc/$ID" ] || fail "the planted relative symlink was followed"
rm "$ROOT/var/log/journal"
# The ID directory itself planted as a symlink: no host link to it, nothing bound over its target.
mkdir "$ROOT/var/log/journal"
ln -s /etc "$ROOT/var/log/journal/$ID"
for o in guest host; do
  must_fail run --link-journal=$o /bin/true
  assert_one_line_error "run jr: --link-journal(=guest)?: make the container's /var/log/journal/$ID: (Not a directory|Too many levels of symbolic links)"
  [ ! -L "$HOSTJ" ] || fail "--link-journal=$o linked to a planted symlink"
  rm -rf "$HOSTJ"
done
rm -r "$ROOT/var/log/journal"
pass "a symlink planted at the container's /var/log/journal is refused"

# The host's machine ID: nothing is linked (guest fails, auto quietly).
cp /etc/machine-id "$ROOT/etc/machine-id"
must_fail run --link-journal=guest /bin/true
assert_one_line_error "run jr: --link-journal: the host's and the container's machine IDs are equal, refusing to link journals"
must run /bin/true
[ ! -L "/var/log/journal/$(cat /etc/machine-id)" ] || fail "the host's own journal directory was replaced"
printf '%s\n' "$ID" >"$ROOT/etc/machine-id"
pass "the host's machine ID is refused"

# Bad values, and the settings file: LinkJournal= from a trusted file only.
for v in yes-please try-auto try-no GUEST ""; do
  must_fail 2 "$COWPEN" run -q -D "$ROOT" --link-journal="$v" /bin/true
  assert_one_line_error "^.*run: invalid --link-journal value \"$v\": not one of no, auto, guest, host, try-guest, try-host$"
done
printf '[Exec]\nLinkJournal=guest\n' >"$T/images/jr.nspawn"
out=$(run /bin/true 2>&1) || fail "untrusted LinkJournal=: $out"
grep -q 'LinkJournal=.*not trusted' <<<"$out" || fail "no warning for an untrusted LinkJournal=: $out"
[ ! -e "$HOSTJ" ] || fail "an untrusted LinkJournal= linked the journal"
must run --settings=trusted /bin/true
[ -L "$HOSTJ" ] || fail "a trusted LinkJournal=guest did not link the journal"
rm "$T/images/jr.nspawn"
pass "bad --link-journal values are one-line usage errors; LinkJournal= from trusted files only"
