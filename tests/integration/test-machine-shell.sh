#!/bin/bash
# cowpen shell and login on a running container of the real Debian rootfs (-x, so the fixture is
# never changed; the payload adds the user alice to its throw-away copy): `shell NAME CMD` runs
# in the leader's PID, mount, network, UTS and IPC namespaces (the same inodes) with a PID of the
# container's PID namespace (the host's NSpid of the process ends with it), as root, with the
# container's bounding set and a system-call filter; `shell alice@NAME` and --uid= run as alice
# with her home and shell from the container's passwd; the exit status comes back (7; 128+9);
# stdin is passed through pipes; without a command the login shell runs as a login shell; a
# user or machine that does not exist is one line. `login NAME` logs alice in with her password on
# a pty allocated inside the container (driven through python's pty). With -U the session is in
# the container's user namespace too, as its root. A booted systemd takes shell and login too.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/enter.sh"

enter_setup
payload="useradd -m -s /bin/bash alice && echo alice:secret | chpasswd && $(ready_payload sh1)"
machine_start sh1 --private-network -- /bin/sh -c "$payload"
L1=$LEADER

# 1. Namespaces, PID, identity.
out=$(must "$COWPEN" shell sh1 /bin/sh -c 'id -u; id -un; for n in mnt pid net uts ipc cgroup; do readlink /proc/self/ns/$n; done')
mapfile -t lines <<<"$out"
[ "${lines[0]}" = 0 ] && [ "${lines[1]}" = root ] || fail "shell does not run as root: $out"
i=2
for n in mnt pid net uts ipc cgroup; do
  want=$(readlink /proc/$L1/ns/$n)
  [ "${lines[$i]}" = "$want" ] || fail "namespace $n: session ${lines[$i]}, leader $want"
  [ "$want" != "$(readlink /proc/self/ns/$n)" ] || [ $n = cgroup ] || fail "the leader shares our $n namespace"
  i=$((i + 1))
done
pass "shell runs as root in the leader's mnt, pid, net, uts, ipc and cgroup namespaces"

# The session's PID is one of the container's PID namespace: the host sees it as NSpid HOST INNER.
"$COWPEN" shell sh1 /bin/sh -c 'echo $$ >/run/session-pid; exec sleep 1000' >/dev/null 2>&1 &
sess=$!
at_exit "kill -9 $sess"
for _ in $(seq 100); do [ -s /proc/$L1/root/run/session-pid ] && break; sleep 0.1; done
inner=$(cat /proc/$L1/root/run/session-pid 2>/dev/null) || fail "the session wrote no PID"
host=
for s in /proc/[0-9]*/status; do
  p=${s#/proc/}
  p=${p%/status}
  [ "$(readlink /proc/$p/ns/pid 2>/dev/null)" = "$(readlink /proc/$L1/ns/pid)" ] || continue
  ns=$(awk '/^NSpid:/ { print $NF }' "$s" 2>/dev/null) || continue
  [ "$ns" = "$inner" ] && [ "$(awk '/^NSpid:/ { print $2 }' "$s")" = "$p" ] && host=$p && break
done
[ -n "$host" ] || fail "no process of the container's PID namespace has the inner PID $inner"
[ "$host" != "$inner" ] || fail "the session's PID $inner is the host's"
grep -q "^NSpid:[[:space:]]*$host[[:space:]]*$inner$" /proc/$host/status || fail "NSpid of $host: $(grep NSpid /proc/$host/status)"
bnd_leader=$(awk '/^CapBnd:/ { print $2 }' /proc/$L1/status)
bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/$host/status)
[ "$bnd" = "$bnd_leader" ] || fail "session bounding set $bnd, the leader's $bnd_leader"
[ "$(awk '/^Seccomp:/ { print $2 }' /proc/$host/status)" = 2 ] || fail "the session has no system-call filter"
[ "$(cat /proc/$host/cgroup | tail -1)" = "$(cat /proc/$L1/cgroup | tail -1)" ] || fail "session cgroup $(tail -1 /proc/$host/cgroup), leader's $(tail -1 /proc/$L1/cgroup)"
kill -9 $sess
wait $sess 2>/dev/null || true
pass "the session is PID $inner in the container (host PID $host), with the leader's bounding set, cgroup and a filter"

# 2. Users.
out=$(must "$COWPEN" shell alice@sh1 /bin/sh -c 'id -un; echo "$HOME $USER $LOGNAME $SHELL"; pwd')
[ "$out" = "alice
/home/alice alice alice /bin/bash
/home/alice" ] || fail "shell alice@sh1: $out"
[ "$(must "$COWPEN" shell --uid=alice sh1 /usr/bin/id -u)" = 1000 ] || fail "--uid=alice is not uid 1000"
[ "$(must "$COWPEN" shell alice@sh1 /bin/sh -c 'grep ^CapEff /proc/self/status')" = "CapEff:	0000000000000000" ] ||
  fail "alice's session has capabilities"
must_fail 1 "$COWPEN" shell nosuchuser@sh1 /bin/true
assert_one_line_error 'nosuchuser.*no such user'
pass "shell USER@NAME and --uid= run as the container's user, with its home and shell"

# 3. Exit status, stdin, login shell.
rc=0
"$COWPEN" shell sh1 /bin/sh -c 'exit 7' || rc=$?
[ $rc = 7 ] || fail "exit 7 came back as $rc"
rc=0
"$COWPEN" shell sh1 /bin/sh -c 'kill -9 $$' || rc=$?
[ $rc = 137 ] || fail "a session killed by SIGKILL came back as $rc"
[ "$(echo piped | must "$COWPEN" shell sh1 /bin/cat)" = piped ] || fail "stdin is not passed to the session"
rc=0
out=$(echo 'echo "$0"; exit 3' | "$COWPEN" shell alice@sh1) || rc=$?
[ $rc = 3 ] && [ "$out" = -bash ] || fail "login shell: status $rc, \$0 \"$out\""
pass "exit status 7 and 137 returned, stdin piped, the login shell without a command"

# On a terminal: a pty of its own, the login shell interactive; SIGTERM to cowpen reaches it.
out=$(timeout 60 python3 - "$COWPEN" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "shell", "alice@sh1"])
buf = b""
def until(pat, t=20):
    global buf
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return False
            if not d:
                return False
            buf += d
            if pat in buf:
                return True
    return False
ok = until(b"$ ")
os.write(fd, b"[ -t 0 ] && echo ON-A-TTY; exit 5\n")
ok = ok and until(b"ON-A-TTY")
until(b"never", 3)
_, st = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace"))
sys.exit(0 if ok and os.WEXITSTATUS(st) == 5 else 1)
PY
) || fail "interactive shell on a pty: $out"
"$COWPEN" shell sh1 /bin/sleep 1000 &
sp=$!
at_exit "kill -9 $sp"
for _ in $(seq 100); do pgrep -P $sp >/dev/null && break; sleep 0.1; done
sleep 0.5
kill -TERM $sp
rc=0
wait $sp || rc=$?
[ $rc = 143 ] || fail "SIGTERM to cowpen shell: status $rc"
pass "on a terminal the session gets a pty (exit 5 returned); SIGTERM is passed on (143)"

must_fail 1 "$COWPEN" shell nosuchmachine /bin/true
assert_one_line_error 'nosuchmachine'
must_fail 2 "$COWPEN" shell ../x /bin/true
pass "a machine that does not run is one line"

# login_as NAME: drives `cowpen login NAME` through python's pty as alice, runs tty and id.
login_as() {
  timeout 120 python3 - "$COWPEN" "$1" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "login", sys.argv[2]])
buf = b""
def until(pat, t=30):
    global buf
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return False
            if not d:
                return False
            buf += d
            if pat in buf:
                return True
    return False
ok = until(b"login: ")
os.write(fd, b"alice\n")
ok = ok and until(b"assword")
os.write(fd, b"secret\n")
ok = ok and until(b"$ ")
os.write(fd, b"echo TTY=$(tty); id; echo DONE$((6*7))\n")
ok = ok and until(b"DONE42")
os.write(fd, b"exit\n")
until(b"terminated", 15)
os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace"))
sys.exit(0 if ok else 1)
PY
}

# 4. login: agetty on a pty of the container's devpts, alice logs in with her password.
out=$(login_as sh1) || fail "login did not complete: $out"
grep -q 'uid=1000(alice)' <<<"$out" || fail "login: no id of alice: $out"
tty=$(grep -o 'TTY=/dev/pts/[0-9]*' <<<"$out" | head -1)
[ -n "$tty" ] || fail "login: the session's terminal is not a pty of the container: $out"
pass "login logs alice in on a pty inside the container (${tty#TTY=})"

# 5. -U: the container's user namespace is entered too.
machine_start shu -U -- /bin/sh -c "$(ready_payload shu)"
out=$(must "$COWPEN" shell shu /bin/sh -c 'id -u; readlink /proc/self/ns/user; readlink /proc/self/ns/mnt')
[ "$out" = "0
$(readlink /proc/$LEADER/ns/user)
$(readlink /proc/$LEADER/ns/mnt)" ] || fail "-U: session $out, leader $(readlink /proc/$LEADER/ns/user)"
[ "$(readlink /proc/$LEADER/ns/user)" != "$(readlink /proc/self/ns/user)" ] || fail "-U: the leader has no user namespace"
rc=0
"$COWPEN" shell shu /bin/sh -c 'exit 9' || rc=$?
[ $rc = 9 ] || fail "-U: exit 9 came back as $rc"
pass "with -U the session is root of the container's user namespace"

# 6. A leader that is not the recorded process any more (its start time differs) is refused.
rec=$COWPEN_MACHINES_DIR/shu
python3 - "$rec" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
r["leader_starttime"] += 1
open(sys.argv[1] + ".new", "w").write(json.dumps(r))
os.rename(sys.argv[1] + ".new", sys.argv[1])
PY
must_fail 1 "$COWPEN" shell shu /bin/true
assert_one_line_error 'shu'
pass "a machine whose leader's start time changed is refused: $ERR"

# 7. A booted systemd: shell joins it (its init has the container's cgroup for its own children),
# login logs alice in beside its own gettys.
grep -qw cgroup2 /proc/filesystems || skip "kernel has no cgroup2 (the booted part)"
"$COWPEN" run -q -b -x -D "$ROOTFS_DIR" -M shb >"$TEMP_DIR/shb.out" 2>&1 &
boot_pid=$!
at_exit "machine_stop $boot_pid"
for _ in $(seq 600); do [ -e "$COWPEN_MACHINES_DIR/shb" ] && break; kill -0 $boot_pid || break; sleep 0.1; done
[ -e "$COWPEN_MACHINES_DIR/shb" ] || fail "the booted machine was not registered: $(tail -5 "$TEMP_DIR/shb.out")"
# Until systemd's own socket is there, systemctl cannot ask it ("Failed to connect to bus").
state=
for _ in $(seq 120); do
  state=$(timeout 120 "$COWPEN" shell shb /bin/systemctl is-system-running --wait 2>/dev/null) || true
  [ -z "$state" ] || break
  sleep 1
done
[ "$state" = running ] || [ "$state" = degraded ] || fail "booted: is-system-running says \"$state\""
must "$COWPEN" shell shb /bin/sh -c 'useradd -m -s /bin/bash alice && echo alice:secret | chpasswd'
[ "$("$COWPEN" shell shb /bin/sh -c 'cat /proc/1/comm')" = systemd ] || fail "booted: PID 1 is not systemd"
out=$(login_as shb) || fail "booted: login did not complete: $out"
grep -q 'uid=1000(alice)' <<<"$out" || fail "booted: login: no id of alice: $out"
kill -TERM $boot_pid
rc=0
timeout 60 tail --pid=$boot_pid -f /dev/null || true
wait $boot_pid || rc=$?
[ $rc = 0 ] || fail "booted: the run after the sessions exited $rc: $(tail -5 "$TEMP_DIR/shb.out")"
pass "a booted systemd ($state): shell and login work, and it still shuts down cleanly"

# .host, as machinectl: no NAME (or USER@ alone) is a session on the host itself.
out=$("$COWPEN" shell .host /bin/sh -c 'readlink /proc/self/ns/mnt; id -un') || fail "shell .host: $out"
[ "$out" = "$(readlink /proc/self/ns/mnt)
root" ] || fail "shell .host ran elsewhere: $out"
RC=0; "$COWPEN" shell nobody@ /bin/sh -c 'test "$(id -u)" = 65534 && exit 4' || RC=$?
[ $RC = 4 ] || fail "shell nobody@ (the host's nobody): exit $RC, want 4"
pass "shell without NAME, .host and USER@: a session on the host, the command's exit status"
