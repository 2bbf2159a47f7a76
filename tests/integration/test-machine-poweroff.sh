#!/bin/bash
# cowpen poweroff ends booted guests cleanly, and their run exits 0:
#  1. systemd (the Debian rootfs fixture, -b -x): SIGRTMIN+4 to its PID 1, as machinectl does;
#     status shows the tree of the cgroups systemd made (init.scope, system.slice);
#  2. sysvinit with OpenRC (openrc_fixture, -b -x): as run does on SIGTERM, runlevel 0 through
#     init's /run/initctl; OpenRC shuts down ("Will now halt");
#  3. busybox init: SIGUSR2, its poweroff; its shutdown actions run.
# Nothing is left in the registry afterwards.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"
. "$TEST_SRCDIR/tests/lib/openrc.sh"

grep -qw cgroup2 /proc/filesystems || skip "kernel has no cgroup2"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs (needed by -x on a directory)"
command -v nsenter >/dev/null || fail "nsenter (util-linux) is needed"
command -v python3 >/dev/null || fail "python3 is needed"
rootfs_fixture
openrc_fixture
make_temp_dir
T=$TEMP_DIR
REG=$COWPEN_MACHINES_DIR

# boot NAME ARGS…: cowpen run -b -M NAME ARGS… in the background; $CP is its PID, $LEADER the
# machine's leader once registered.
boot() {
  local name=$1
  shift
  "$COWPEN" run -b -M "$name" "$@" >"$T/$name.console" 2>&1 &
  CP=$!
  at_exit "stop_cowpen $CP"
  LEADER=
  for _ in $(seq 600); do
    LEADER=$("$COWPEN" list --json=short 2>/dev/null | python3 -c 'import json, sys
for m in json.load(sys.stdin):
    if m["name"] == sys.argv[1]: print(m["leader"])' "$name") && [ -n "$LEADER" ] && return 0
    kill -0 $CP 2>/dev/null || fail "run $name ended while starting: $(console "$name" | tail -5)"
    sleep 0.1
  done
  fail "machine $name never showed up: $(console "$name" | tail -5)"
}
console() { strip_console "$T/$1.console"; }
# until_true SECONDS CMD…
until_true() {
  local t=$1 i
  shift
  for ((i = 0; i < t * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# 1. systemd.
boot psd -x -D "$ROOTFS_DIR"
[ "$(readlink /proc/"$LEADER"/exe)" = /usr/lib/systemd/systemd ] || fail "the leader is $(readlink /proc/"$LEADER"/exe)"
systemd_up() { case $(nsenter -t "$LEADER" -a systemctl is-system-running 2>/dev/null) in running | degraded) return 0 ;; esac; return 1; }
until_true 180 systemd_up || fail "systemd did not finish booting: $(console psd | tail -5)"
out=$("$COWPEN" status psd) || fail "status psd: $out"
grep -Eq "^ +Leader: $LEADER \(systemd\)$" <<<"$out" || fail "status: leader: $out"
grep -Eq '^ +[├└]─init\.scope$' <<<"$out" || fail "status: no init.scope in the tree: $out"
grep -Eq '^ +[├└]─system\.slice$' <<<"$out" || fail "status: no system.slice in the tree: $out"
grep -Eq "^ +│? +[├└]─$LEADER /(usr/)?(lib/systemd/systemd|sbin/init)" <<<"$out" || fail "status: systemd is not in init.scope: $out"
pass "systemd booted; status shows its cgroup tree"
must "$COWPEN" poweroff psd
wait_exit $CP 90
[ $RC -eq 0 ] || fail "systemd: poweroff gave exit $RC: $(console psd | tail -8)"
console psd | grep -Eq 'System Power Off|Power-Off|Powering off' || fail "systemd did not power off: $(console psd | tail -8)"
[ ! -e "$REG/psd" ] && [ ! -e "$REG/psd.lock" ] || fail "psd's record is left: $(ls -A "$REG")"
pass "systemd: poweroff (SIGRTMIN+4), run exits 0"

# 2. sysvinit + OpenRC.
boot por -x -D "$OPENRC_DIR"
openrc_up() {
  [ "$(nsenter -t "$LEADER" -a runlevel 2>/dev/null)" = "N 2" ] &&
    [ "$(nsenter -t "$LEADER" -a rc-status --runlevel 2>/dev/null)" = default ] &&
    ! nsenter -t "$LEADER" -a rc-status default 2>/dev/null | grep -q starting
}
until_true 120 openrc_up || fail "OpenRC did not reach its default runlevel: $(console por | tail -5)"
must "$COWPEN" poweroff por
wait_exit $CP 90
[ $RC -eq 0 ] || fail "OpenRC: poweroff gave exit $RC: $(console por | tail -8)"
console por | grep -q 'Will now halt' || fail "OpenRC did not shut down cleanly: $(console por | tail -8)"
[ ! -e "$REG/por" ] || fail "por's record is left"
pass "sysvinit + OpenRC: poweroff, a clean shutdown, run exits 0"

# 3. busybox init.
make_busybox_tree "$T/bb"
printf '::sysinit:/bin/echo busybox-init-up\n::respawn:/bin/sleep 1011\n::shutdown:/bin/echo busybox-init-down\n' >"$T/bb/etc/inittab"
boot pbb -D "$T/bb"
until_true 30 grep -q busybox-init-up "$T/pbb.console" || fail "busybox init did not start: $(console pbb)"
until_true 30 pgrep -x -f '/bin/sleep 1011' || fail "busybox init did not start its respawn line"
must "$COWPEN" poweroff pbb
wait_exit $CP 60
[ $RC -eq 0 ] || fail "busybox: poweroff gave exit $RC: $(console pbb)"
grep -q busybox-init-down "$T/pbb.console" || fail "busybox's shutdown actions did not run: $(console pbb)"
pass "busybox init: poweroff (SIGUSR2), shutdown actions ran, run exits 0"

[ -z "$(ls -A "$REG")" ] || fail "records left: $(ls -A "$REG")"
