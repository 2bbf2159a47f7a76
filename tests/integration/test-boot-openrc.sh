#!/bin/bash
# cowpen run -b on a real Debian bookworm tree with sysvinit's /sbin/init and OpenRC as its rc
# system (the "OpenRC /sbin/init" of issue 7), always with -x on the cached fixture:
#  1. init's argument "0": sysvinit runs OpenRC's sysinit, enters runlevel 0, OpenRC shuts down,
#     halt powers off: exit 0, nothing left behind, the fixture unchanged;
#  2. booted to the default runlevel (2: OpenRC's "default"), SIGTERM to cowpen: sysvinit ignores
#     the shutdown signal SIGRTMIN+3 (it ignores every signal it has no use for), so cowpen asks
#     it for runlevel 0 through its /run/initctl FIFO, as telinit 0 does: OpenRC shuts down
#     cleanly, exit 0, nothing left behind;
#  3. --kill-signal=SIGPWR with an inittab whose powerwait action halts (LXC's convention):
#     SIGTERM shuts OpenRC down cleanly, exit 0;
#  4. a shutdown signal init handles without ending (powerwait runs a sleep): cowpen waits, and a
#     second SIGTERM ends the container at once (as systemd-nspawn does), exit 128+15.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"
. "$TEST_SRCDIR/tests/lib/openrc.sh"

grep -qw cgroup2 /proc/filesystems || skip "kernel has no cgroup2"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs (needed by -x on a directory)"
command -v nsenter >/dev/null || fail "nsenter (util-linux) is needed"
openrc_fixture
TREE=$OPENRC_DIR
NAME=$(basename "$TREE")
[ -x "$TREE/sbin/openrc" ] && [ -x "$TREE/sbin/init" ] || fail "the fixture has no OpenRC or no /sbin/init"

make_temp_dir
T=$TEMP_DIR
touch "$T/start"
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)

# -x on a directory keeps its overlay layers in hidden entries beside it, and its lock: the ones
# this test makes must be gone at its end (entries already there belong to someone else).
# Entries whose lock another process holds (a cowpen of someone else's using the same cached
# fixture) are in use, not left behind: not listed.
in_use() {
  python3 - "$1" <<'PY'
import fcntl, os, sys
try:
    fd = os.open(sys.argv[1], os.O_RDWR)
except OSError:
    sys.exit(1)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    sys.exit(0)
sys.exit(1)
PY
}
hidden() {
  local f lck
  for f in "$FIXTURE_CACHE/.#machine.$NAME."* "$FIXTURE_CACHE/.#$NAME.lck"; do
    [ -e "$f" ] || continue
    lck=$f
    [[ $lck == *.lck ]] || lck=$f.lck
    [ -e "$lck" ] && in_use "$lck" && continue
    basename -- "$f"
  done
}
HIDDEN_BEFORE=$(hidden)
# Should a cowpen of ours have been killed after all, what it left beside the fixture goes too.
at_exit "remove_new_hidden"
remove_new_hidden() {
  local h
  for h in $(hidden); do
    grep -qxF -e "$h" <<<"$HIDDEN_BEFORE" || rm -rf "${FIXTURE_CACHE:?}/$h"
  done
}
# What the run of cowpen PID $1 could leave: its notify socket, its cgroup, hidden entries.
leftovers() {
  ls -d "/run/cowpen-notify.$1."* 2>/dev/null || true
  [ -z "$CG" ] || find "$CG" -maxdepth 4 -type d -name "cowpen-$1-*" 2>/dev/null || true
  [ "$(hidden)" = "$HIDDEN_BEFORE" ] || hidden
}

# boot LOG ARGS…: cowpen run -b -x -D TREE ARGS… in the background; $CP is cowpen's PID.
boot() {
  local log=$1
  shift
  "$COWPEN" run -b -x -D "$TREE" "$@" >"$log" 2>&1 &
  CP=$!
  at_exit "stop_cowpen $CP"
}
# wait_default PID LOG: waits until OpenRC has started the default runlevel (sysvinit's 2); sets
# INIT to the container's init.
wait_default() {
  local i p
  INIT=
  for ((i = 0; i < 1200; i++)); do
    kill -0 "$1" 2>/dev/null || fail "cowpen ended while booting: $(strip_console "$2" | tail -5)"
    p=$(pgrep -P "$1" | head -1) || true
    if [ -n "$p" ] && [ "$(nsenter -t "$p" -a runlevel 2>/dev/null)" = "N 2" ] &&
      [ "$(nsenter -t "$p" -a rc-status --runlevel 2>/dev/null)" = default ] &&
      ! nsenter -t "$p" -a rc-status default 2>/dev/null | grep -q starting; then
      INIT=$p
      return
    fi
    sleep 0.1
  done
  fail "OpenRC did not reach its default runlevel within 120 s: $(strip_console "$2" | tail -5)"
}

# 1. Runlevel 0 from the start.
boot "$T/c1" 0
wait_exit $CP 120
[ $RC -eq 0 ] || fail "boot to runlevel 0: exit $RC: $(strip_console "$T/c1" | tail -8)"
strip_console "$T/c1" >"$T/c1.txt"
banner=$(grep -n -m1 -E 'OpenRC [0-9.]+ is starting up' "$T/c1.txt" | cut -d: -f1)
level0=$(grep -n -m1 'INIT: Entering runlevel: 0' "$T/c1.txt" | cut -d: -f1)
halt=$(grep -n -m1 'Will now halt' "$T/c1.txt" | cut -d: -f1)
grep -q '^INIT: version' "$T/c1.txt" || fail "not sysvinit's init: $(head -5 "$T/c1.txt")"
[ -n "$banner" ] || fail "no OpenRC banner (sysinit did not run): $(head -10 "$T/c1.txt")"
[ -n "$level0" ] || fail "sysvinit did not enter runlevel 0: $(tail -10 "$T/c1.txt")"
[ -n "$halt" ] || fail "the shutdown did not reach halt: $(tail -10 "$T/c1.txt")"
[ "$banner" -lt "$level0" ] && [ "$level0" -lt "$halt" ] || fail "sysinit, runlevel 0 and halt out of order"
# (A line can be lost when init hangs up the console between its scripts: any of the shutdown
# runlevel's steps will do.)
grep -q -e 'Saving dependency cache' -e 'Unmounting local filesystems' -e 'Asking all remaining processes' "$T/c1.txt" ||
  fail "OpenRC's shutdown runlevel did not run: $(tail -10 "$T/c1.txt")"
[ -z "$(leftovers $CP)" ] || fail "left behind: $(leftovers $CP)"
pass "sysvinit + OpenRC: sysinit, runlevel 0, halt; exit 0, nothing left"

# 2. The default runlevel; SIGTERM.
boot "$T/c2"
wait_default $CP "$T/c2"
[[ $(readlink /proc/"$INIT"/exe) =~ ^(/usr)?/sbin/init$ ]] || fail "PID 1 of the container is $(readlink /proc/"$INIT"/exe)"
tr '\0' '\n' </proc/"$INIT"/environ | grep -qx 'container=cowpen' || fail "init has no container=cowpen"
tr '\0' '\n' </proc/"$INIT"/environ | grep -q '^container_uuid=' || fail "init has no container_uuid"
# The rc system OpenRC detects (empty: container=cowpen is none it knows, so it runs as on a host).
log "OpenRC's rc_sys in the container: \"$(nsenter -t "$INIT" -a openrc --sys 2>&1)\""
ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/"$INIT"/status)
rtmin3=$(($(kill -l RTMIN) + 3))
(((0x$ign >> (rtmin3 - 1)) & 1)) || fail "sysvinit does not ignore SIGRTMIN+3 (SigIgn $ign): revisit this test"
pass "booted to OpenRC's default runlevel; init is sysvinit with container=cowpen"
t0=$(date +%s%N)
kill -TERM $CP
wait_exit $CP 60
t1=$(date +%s%N)
[ $RC -eq 0 ] || fail "SIGTERM: exit $RC, want 0 (runlevel 0 through initctl): $(strip_console "$T/c2" | tail -8)"
strip_console "$T/c2" >"$T/c2.txt"
# sysvinit's own console messages are best effort: under load "Switching to runlevel: 0" was
# missing from the console while the whole shutdown that follows it was there (also before the
# hardening work). Its runlevel change shows in either of its two messages; "Will now halt" (not
# "reboot") says the runlevel was 0.
grep -q -e 'INIT: Switching to runlevel: 0' -e 'INIT: Sending processes configured via /etc/inittab the TERM signal' "$T/c2.txt" ||
  fail "init was not switched to runlevel 0: $(tail -8 "$T/c2.txt")"
grep -q 'Will now halt' "$T/c2.txt" || fail "no clean shutdown: $(tail -8 "$T/c2.txt")"
kill -0 "$INIT" 2>/dev/null && fail "the container's init survived"
[ -z "$(leftovers $CP)" ] || fail "left behind: $(leftovers $CP)"
pass "SIGTERM: runlevel 0 through /run/initctl, OpenRC shut down cleanly in $(((t1 - t0) / 1000000)) ms, exit 0"

# 3. --kill-signal=SIGPWR, inittab: powerwait halts.
sed 's|^pf::powerwait:.*|pf::powerwait:/sbin/shutdown -t1 -h now|' "$TREE/etc/inittab" >"$T/inittab-halt"
grep -q '^pf::powerwait:/sbin/shutdown' "$T/inittab-halt" || fail "the fixture's inittab has no powerwait line"
boot "$T/c3" --bind-ro="$T/inittab-halt:/etc/inittab" --kill-signal=SIGPWR
wait_default $CP "$T/c3"
kill -TERM $CP
wait_exit $CP 60
[ $RC -eq 0 ] || fail "SIGTERM with --kill-signal=SIGPWR: exit $RC: $(strip_console "$T/c3" | tail -8)"
strip_console "$T/c3" | grep -q 'Will now halt' || fail "no clean shutdown: $(strip_console "$T/c3" | tail -8)"
[ -z "$(leftovers $CP)" ] || fail "left behind: $(leftovers $CP)"
pass "--kill-signal=SIGPWR: OpenRC shuts down cleanly, exit 0"

# 4. The shutdown signal is handled but takes long: the second SIGTERM ends it.
sed 's|^pf::powerwait:.*|pf::powerwait:/bin/sleep 1013|' "$TREE/etc/inittab" >"$T/inittab-slow"
boot "$T/c4" --bind-ro="$T/inittab-slow:/etc/inittab" --kill-signal=SIGPWR
wait_default $CP "$T/c4"
kill -TERM $CP
for _ in $(seq 100); do pgrep -x -f '/bin/sleep 1013' >/dev/null && break; sleep 0.1; done
pgrep -x -f '/bin/sleep 1013' >/dev/null || fail "init did not run its powerwait action on SIGPWR"
sleep 1
kill -0 $CP 2>/dev/null || fail "the first SIGTERM ended the container although init handles SIGPWR"
kill -TERM $CP
wait_exit $CP 10
[ $RC -eq 143 ] || fail "second SIGTERM: exit $RC, want 143"
for _ in $(seq 50); do pgrep -x -f '/bin/sleep 1013' >/dev/null || break; sleep 0.1; done
pgrep -x -f '/bin/sleep 1013' >/dev/null && fail "the container's processes survived"
[ -z "$(leftovers $CP)" ] || fail "left behind: $(leftovers $CP)"
pass "a second SIGTERM ends a container that is slow to shut down, exit 143"

changed=$(find "$TREE" \( -newer "$T/start" -o -cnewer "$T/start" \) -print | head -5)
[ -z "$changed" ] || fail "the cached fixture was modified: $changed"
pass "the fixture is unchanged"
