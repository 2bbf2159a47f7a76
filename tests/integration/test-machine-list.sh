#!/bin/bash
# The machine registry and the verbs that look at and signal running machines, with two busybox
# containers at once (one with -n), in namespaces of the test's own (tests/lib/net.sh):
#  - list shows both with OS, version and (with -n) the address host0 has; --json=short parses
#    with the keys SPEC.md names; status shows the leader and the container's process tree;
#  - a second run of a running name is refused with one line naming the leader's PID;
#  - kill (SIGTERM to every process of the cgroup), kill --kill-whom=leader, reboot (SIGINT),
#    poweroff (as run does on SIGTERM) and terminate end plain payloads as they should;
#  - after kill -9 of the run, list no longer shows the machine and its record is gone;
#  - a record whose lock nobody holds is never trusted, even with a live leader of the right start
#    time (and one whose lock is held is: the lock is what decides); clean removes stale ones;
#  - run -D registers the directory's name, -x runs NAME-RANDOM (as nspawn);
#  - a name that is not running: one line, exit 1; an invalid name: exit 2.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"
. "$TEST_SRCDIR/tests/lib/net.sh"
net_test_begin "$@"
command -v python3 >/dev/null || fail "python3 is needed"
REG=$COWPEN_MACHINES_DIR
for t in a b c; do
  net_busybox_tree "$T/tree-$t"
  printf 'ID=busybox\nNAME=Busybox\nVERSION_ID=1.36\n' >"$T/tree-$t/etc/os-release"
done
export COWPEN_IMAGE_ROOT=$T/images
mkdir -p "$COWPEN_IMAGE_ROOT"

# start NAME ARGS…: cowpen run -M NAME ARGS… in the background, $CP its PID; waits until the
# machine is registered.
start() {
  local name=$1
  shift
  "$COWPEN" run -M "$name" "$@" >"$T/$name.out" 2>&1 &
  CP=$!
  at_exit "kill -9 $CP 2>/dev/null"
  for _ in $(seq 200); do
    "$COWPEN" status "$name" >/dev/null 2>&1 && return 0
    kill -0 $CP 2>/dev/null || fail "run $name ended early: $(cat "$T/$name.out")"
    sleep 0.1
  done
  fail "machine $name never showed up: $(cat "$T/$name.out")"
}
# wait_rc PID: waits (at most 30 s) for the run to end, its exit status in $RC.
wait_rc() {
  for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && fail "cowpen run $1 still runs 30 s later"
  RC=0
  wait "$1" || RC=$?
}
json() { "$COWPEN" list --json=short; }

out=$("$COWPEN" list) || fail "list with nothing running: $out"
[ "$out" = "No machines." ] || fail "list with nothing running: $out"

# Two at once: ma with a network, mb without.
start ma -D "$T/tree-a" -n sh -c 'sleep 1001 & sleep 1002; wait'
CPA=$CP
start mb -D "$T/tree-b" sh -c 'trap "echo got-term; exit 7" TERM; sleep 1003 & wait'
CPB=$CP
out=$("$COWPEN" list) || fail "list: $out"
log "$out"
[[ $(head -1 <<<"$out") =~ ^NAME\ +CLASS\ +SERVICE\ +OS\ +VERSION\ +ADDRESSES$ ]] || fail "list header: $out"
grep -Eq '^ma +container +cowpen +busybox +1\.36 +1[07]\.[0-9.]+(…)?$' <<<"$out" || fail "list: no ma with OS and address: $out"
grep -Eq '^mb +container +cowpen +busybox +1\.36 +-$' <<<"$out" || fail "list: no mb: $out"
[ "$(tail -1 <<<"$out")" = "2 machines listed." ] || fail "list footer: $out"

leader_a=$(python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["leader"])' < <(json))
[ "$(ps -o ppid= -p "$leader_a" | tr -d ' ')" = "$CPA" ] || fail "ma's leader $leader_a is not a child of its run $CPA"
[[ $(tr '\0' ' ' <"/proc/$leader_a/cmdline") == "sh -c sleep 1001"* ]] || fail "ma's leader $leader_a is not its payload"
addr_a=$(nsenter -t "$leader_a" -n ip -4 -o addr show dev host0 | awk '{ print $4 }' | cut -d/ -f1)
[ -n "$addr_a" ] || fail "ma's host0 has no IPv4 address"
json >"$T/list.json" || fail "list --json=short"
python3 - "$T/list.json" "$leader_a" "$addr_a" "$T/tree-a" <<'PY' || fail "list --json=short: $(cat "$T/list.json")"
import json, sys
l = json.load(open(sys.argv[1]))
assert isinstance(l, list) and [m["name"] for m in l] == ["ma", "mb"], l
for m in l:
    for k in ("name", "class", "service", "leader", "image", "root", "os", "version", "addresses", "since", "uuid", "root_hash"):
        assert k in m, (k, m)
    assert m["class"] == "container" and m["os"] == "busybox" and m["version"] == "1.36", m
    assert m["since"] > 1.6e15, m  # microseconds since the epoch
a, b = l
assert a["leader"] == int(sys.argv[2]), (a["leader"], sys.argv[2])
assert sys.argv[3] in a["addresses"], a["addresses"]
assert a["root"] == sys.argv[4] and a["image"] == "tree-a", a
assert b["addresses"] == [], b
PY
pass "list: two machines with OS, version and the address of host0; --json=short with its keys"

out=$("$COWPEN" status ma) || fail "status: $out"
log "$out"
grep -Eq "^ +Leader: $leader_a \(sh\)$" <<<"$out" || fail "status: no leader $leader_a: $out"
grep -Eq "^ +Root: $T/tree-a$" <<<"$out" || fail "status: root: $out"
grep -Eq "^ +Address: $addr_a$" <<<"$out" || fail "status: address: $out"
grep -Eq '^ +OS: busybox 1\.36$' <<<"$out" || fail "status: OS: $out"
grep -Eq "^ +├─$leader_a sh -c sleep 1001" <<<"$out" || fail "status: the tree does not start with the leader: $out"
for s in 1001 1002; do
  p=$(pgrep -x -f "sleep $s") || fail "no sleep $s"
  grep -Eq "^ +[├└]─$p sleep $s$" <<<"$out" || fail "status: sleep $s ($p) is not in the tree: $out"
done
pass "status: leader, root, address, OS and the process tree"

# No process of a container holds the registry's files open (the lock would outlive its run):
# not its payload as PID 1, nor the stub init of -a and its payload.
no_registry_fds() { # NAME: every PID of its process tree
  local p pids
  pids=$("$COWPEN" status "$1" | sed -n 's/^ *[│ ]*[├└]─\([0-9][0-9]*\) .*/\1/p')
  [ -n "$pids" ] || fail "status $1 shows no process"
  for p in $pids; do
    [ -z "$(find /proc/"$p"/fd -lname "$REG/*" 2>/dev/null)" ] || fail "process $p of $1 holds $(find /proc/"$p"/fd -lname "$REG/*" -printf '%l ')"
  done
}
no_registry_fds ma
start md -D "$T/tree-c" --read-only -a sh -c 'sleep 1010; true'
CPD=$CP
no_registry_fds md
[ -n "$(find /proc/$CPD/fd -lname "$REG/md.lock")" ] || fail "the run of md does not hold its lock"
must "$COWPEN" terminate md
wait_rc $CPD
pass "the lock is held by the run only, by no process of its container (also with -a)"

# The same name again: refused at once, one line, with the leader's PID.
must_fail 1 "$COWPEN" run -D "$T/tree-c" -M ma true
assert_one_line_error "machine ma is already running \(PID $leader_a\)$"
pass "a second run of a running name is refused: $ERR"
# -x of a running name: a machine of its own, NAME-RANDOM (concurrent jobs from one template).
"$COWPEN" run -x -D "$T/tree-c" -M ma sh -c 'sleep 1011; true' >"$T/max.out" 2>&1 &
CPX=$!
at_exit "kill -9 $CPX 2>/dev/null"
for _ in $(seq 200); do
  "$COWPEN" list | grep -Eq '^ma-[0-9a-f]{16} ' && break
  kill -0 $CPX 2>/dev/null || fail "-x of a running name ended: $(cat "$T/max.out")"
  sleep 0.1
done
"$COWPEN" list > "$T/list-x"
grep -Eq '^ma-[0-9a-f]{16} ' "$T/list-x" || fail "-x of a running name is not listed as ma-RANDOM: $(cat "$T/list-x")"
grep -q '^ma ' "$T/list-x" || fail "the first ma is no longer listed"
must "$COWPEN" terminate "$(grep -Eo '^ma-[0-9a-f]{16}' "$T/list-x")"
wait_rc $CPX
pass "-x of a running name runs as a machine of its own"

# kill (default: SIGTERM to all): mb's shell traps it and exits 7, its sleep is killed too.
must "$COWPEN" kill mb
wait_rc $CPB
[ $RC -eq 7 ] || fail "kill: run mb exited $RC, want 7: $(cat "$T/mb.out")"
grep -q got-term "$T/mb.out" || fail "kill: the payload did not get SIGTERM"
pgrep -x -f 'sleep 1003' >/dev/null && fail "kill: the sleep in mb's cgroup survived"
"$COWPEN" list | grep -q '^mb ' && fail "mb is still listed"
[ ! -e "$REG/mb" ] && [ ! -e "$REG/mb.lock" ] || fail "mb's record is still there: $(ls "$REG")"
pass "kill: SIGTERM to every process of the cgroup; the run ends, its record goes"

# kill --kill-whom=leader --signal=USR1: the leader only.
start mb -D "$T/tree-b" sh -c 'trap "exit 9" USR1; trap "" TERM; sleep 1004 & wait; sleep 1005'
CPB=$CP
must "$COWPEN" kill --kill-whom=leader --signal=SIGUSR1 mb
wait_rc $CPB
[ $RC -eq 9 ] || fail "kill --kill-whom=leader: exit $RC, want 9"
must_fail 2 "$COWPEN" kill --kill-whom=nobody ma
must_fail 2 "$COWPEN" kill --signal=NOSUCH ma
pass "kill --kill-whom=leader --signal=SIGUSR1 reaches the leader"

# reboot: SIGINT to the leader; poweroff of a plain payload: run's SIGTERM, which it traps.
start mb -D "$T/tree-b" sh -c 'trap "exit 5" INT; sleep 1006 & wait'
CPB=$CP
must "$COWPEN" reboot mb
wait_rc $CPB
[ $RC -eq 5 ] || fail "reboot: exit $RC, want 5 (SIGINT to the leader)"
start mb -D "$T/tree-b" sh -c 'trap "exit 0" TERM; sleep 1007 & wait'
CPB=$CP
must "$COWPEN" poweroff mb
wait_rc $CPB
[ $RC -eq 0 ] || fail "poweroff of a payload that traps SIGTERM: exit $RC"
pass "reboot: SIGINT to the leader; poweroff: the payload gets run's SIGTERM and exits 0"

# terminate: SIGKILL to the leader, the machine ends now (its sleeps with it).
must "$COWPEN" terminate ma
wait_rc $CPA
[ $RC -eq 137 ] || fail "terminate: exit $RC, want 137"
pgrep -x -f 'sleep 100[12]' >/dev/null && fail "terminate: ma's processes survived"
[ -z "$(ls -A "$REG")" ] || fail "records left: $(ls -A "$REG")"
out=$("$COWPEN" list) && [ "$out" = "No machines." ] || fail "list after terminate: $out"
pass "terminate: the machine ends at once, nothing left in the registry"

# Without -M the machine is named after the directory; with -x, that name and a random suffix
# (as systemd-nspawn does), so that throw-away runs of one tree can run at once.
has_machine() { "$COWPEN" list | grep -Eq "$1"; }
"$COWPEN" run -D "$T/tree-c" --read-only sleep 1014 >/dev/null 2>&1 &
p1=$!
at_exit "kill -9 $p1 2>/dev/null"
wait_until 30 has_machine '^tree-c '
for i in 1 2; do
  "$COWPEN" run -x -D "$T/tree-c" sleep 1015 >/dev/null 2>&1 &
  at_exit "kill -9 $! 2>/dev/null"
done
wait_until 30 has_machine '^tree-c-[0-9a-f]{16} '
for _ in $(seq 300); do [ "$("$COWPEN" list | grep -Ec '^tree-c-[0-9a-f]{16} ')" -eq 2 ] && break; sleep 0.1; done
[ "$("$COWPEN" list | grep -Ec '^tree-c-[0-9a-f]{16} ')" -eq 2 ] || fail "two -x runs of one tree: $("$COWPEN" list)"
for n in tree-c $("$COWPEN" list | grep -Eo '^tree-c-[0-9a-f]{16}'); do must "$COWPEN" terminate "$n"; done
wait_until 30 sh -c "! kill -0 $p1 2>/dev/null"
for _ in $(seq 300); do has_machine '^tree-c' || break; sleep 0.1; done
has_machine '^tree-c' && fail "terminated runs still listed: $("$COWPEN" list)"
pass "run -D registers the directory's name, -x runs NAME-RANDOM"

# A plain sleep as PID 1 takes no signal it has no handler for (not even from the host), as with
# machinectl; kill --signal=KILL and terminate end it.
start me -D "$T/tree-c" sleep 1012
CPE=$CP
must "$COWPEN" kill --signal=KILL me
wait_rc $CPE
[ $RC -eq 137 ] || fail "kill --signal=KILL of a sleep: exit $RC, want 137"
start me -D "$T/tree-c" sleep 1013
CPE=$CP
must "$COWPEN" terminate me
wait_rc $CPE
[ $RC -eq 137 ] || fail "terminate of a sleep: exit $RC, want 137"
pass "kill --signal=KILL and terminate end a plain sleep"

# kill -9 of the run: the container goes with it (death signal), and the stale record is not
# listed, and removed.
start mc -D "$T/tree-c" sleep 1008
kill -9 $CP
wait $CP 2>/dev/null || true
for _ in $(seq 50); do pgrep -x -f 'sleep 1008' >/dev/null || break; sleep 0.1; done
[ -e "$REG/mc" ] || fail "the SIGKILLed run's record is not there (nothing to check)"
out=$("$COWPEN" list)
[ "$out" = "No machines." ] || fail "list after kill -9 of the run: $out"
[ ! -e "$REG/mc" ] && [ ! -e "$REG/mc.lock" ] || fail "the stale record was not removed: $(ls "$REG")"
must_fail 1 "$COWPEN" status mc
assert_one_line_error 'no machine mc is running$'
must_fail 1 "$COWPEN" terminate mc
assert_one_line_error 'no machine mc is running$'
must_fail 2 "$COWPEN" status ../mc
! pgrep -x -f 'sleep 1008' >/dev/null || fail "the container's payload outlived its SIGKILLed run"
# With -U too: the payload's ID change must not lose the death signal.
start mu -U -x -D "$T/tree-c" sleep 1014
kill -9 $CP
wait $CP 2>/dev/null || true
for _ in $(seq 50); do pgrep -x -f 'sleep 1014' >/dev/null || break; sleep 0.1; done
! pgrep -x -f 'sleep 1014' >/dev/null || fail "-U: the container's payload outlived its SIGKILLed run"
out=$("$COWPEN" list)
[ "$out" = "No machines." ] || fail "list after kill -9 of a -U run: $out"
pass "after kill -9 of the run (also -U), the container is gone, list does not show it and its record is gone"

# A record whose lock is free is never trusted, though its leader (a sleep of ours) lives with the
# start time recorded; the same record with its lock held (by a python holding flock) is.
sleep 1009 &
leader=$!
at_exit "kill $leader 2>/dev/null"
starttime=$(python3 -c 'import sys; s = open("/proc/%s/stat" % sys.argv[1]).read(); print(s[s.rindex(")") + 2:].split()[19])' $leader)
fake() {
  printf '{"name":"%s","class":"container","service":"cowpen","leader":%d,"leader_starttime":%s,"root":"/","addresses":["10.9.9.9"]}\n' \
    "$1" $leader "$starttime" >"$REG/$1"
  : >"$REG/$1.lock"
}
fake ghost
out=$("$COWPEN" list)
[ "$out" = "No machines." ] || fail "a record with a free lock was trusted: $out"
[ ! -e "$REG/ghost" ] && [ ! -e "$REG/ghost.lock" ] || fail "the untrusted record was not removed"
fake held
python3 -c 'import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); open(sys.argv[2], "w").close(); time.sleep(60)' \
  "$REG/held.lock" "$T/locked" &
holder=$!
at_exit "kill $holder 2>/dev/null"
wait_until 10 test -e "$T/locked"
"$COWPEN" list | grep -Eq "^held +container +cowpen +- +- +10\.9\.9\.9$" || fail "a record with its lock held is not listed: $("$COWPEN" list)"
kill $holder
wait $holder 2>/dev/null || true
fake ghost
out=$("$COWPEN" clean 2>&1) || fail "clean: $out"
grep -q 'Removed the records of 2 dead machines\.' <<<"$out" || fail "clean: $out"
[ -z "$(ls -A "$REG")" ] || fail "clean left: $(ls -A "$REG")"
pass "a record whose lock is free is never trusted; the lock decides; clean removes stale records"
