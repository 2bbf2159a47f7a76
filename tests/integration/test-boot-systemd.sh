#!/bin/bash
# cowpen run -b on the real Debian rootfs with systemd: boots to poweroff.target and exits 0
# (the image unchanged with -x); boots to multi-user.target in the background, says READY=1
# through --notify-ready, and SIGTERM to cowpen shuts it down cleanly (SIGRTMIN+3, exit 0)
# within 15 s, leaving no process, cgroup, notify socket or hidden entry behind. With -U the
# container's user namespace owns its other namespaces: all units start, reboot restarts it.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

rootfs_fixture
grep -qw cgroup2 /proc/filesystems || skip "kernel has no cgroup2"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs (needed by -x on ext4)"
command -v python3 >/dev/null || fail "python3 is needed for the notify socket listener"

make_loop_fs ext4 2G
export COWPEN_IMAGE_ROOT=$LOOP_MNT/images
must "$COWPEN" -q import-fs "$ROOTFS_DIR" deb >/dev/null

leftovers() {
  ls -A "$COWPEN_IMAGE_ROOT" | grep '^\.#' || true
  stale_notify_dirs
  stale_cowpen_cgroups 'deb*'
}

# 1. Boot to poweroff.target: exit 0, image unchanged.
out=$(timeout 120 "$COWPEN" run -b -x -M deb systemd.unit=poweroff.target 2>&1) || fail "boot to poweroff.target: exit $? ($out)"
grep -q "Reached target.*Power-Off\|Reached target.*System Power Off\|Powering off\|Shutting down" <<<"$out" ||
  grep -q "Welcome to" <<<"$out" || fail "boot output shows no systemd: $out"
must treecmp "$ROOTFS_DIR" "$COWPEN_IMAGE_ROOT/deb"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "boot to poweroff.target exits 0, image unchanged"

# 2. Boot to multi-user.target in the background with --notify-ready; READY=1 arrives; SIGTERM.
make_temp_dir
N=$TEMP_DIR
python3 - "$N/notify" "$N/ready" <<'PY' &
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(180)
while True:
    m = s.recv(4096).decode(errors="replace")
    if "READY=1" in m.split("\n"):
        open(sys.argv[2], "w").write(m)
        break
PY
listener=$!
at_exit "kill $listener 2>/dev/null"
for _ in $(seq 50); do [ -S "$N/notify" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$N/notify "$COWPEN" run -b -x -M deb --notify-ready=yes >"$N/console" 2>&1 &
cp=$!
at_exit "kill -9 $cp 2>/dev/null"
for _ in $(seq 1200); do [ -e "$N/ready" ] && break; kill -0 $cp 2>/dev/null || break; sleep 0.1; done
[ -e "$N/ready" ] || fail "no READY=1 from the booted container within 120 s: $(tail -5 "$N/console")"
init=$(pgrep -P $cp | head -1)
[ -n "$init" ] || fail "the container's init is not running"
[ "$(readlink /proc/$init/exe)" = /usr/lib/systemd/systemd ] || fail "PID 1 of the container is $(readlink /proc/$init/exe)"
tr '\0' '\n' </proc/$init/environ | grep -qx 'container=cowpen' || fail "init has no container=cowpen"
tr '\0' '\n' </proc/$init/environ | grep -q '^container_uuid=' || fail "init has no container_uuid"
# systemd made its units' cgroups in the delegated hierarchy.
cgroup=$(sed -n 's/^0:://p' /proc/$init/cgroup)
cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -d "$cg${cgroup%/init.scope}/system.slice" ] || fail "no system.slice below the container's cgroup $cgroup"
pass "booted to multi-user.target, READY=1 via --notify-ready, systemd's cgroups delegated"
# Under the default system-call filter and device policy every unit starts.
grep -q '^Seccomp:[[:space:]]*2' /proc/$init/status || fail "the booted init runs without a system-call filter"
st=$(systemd_state 60 nsenter -t $init -a)
failed=$(nsenter -t $init -a systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')
[ "$st" = running ] && [ -z "$failed" ] || fail "booted under the filter: $st, failed units: $failed"
pass "every unit up under the default system-call filter and device policy"

t0=$(date +%s%N)
kill -TERM $cp
rc=0
for _ in $(seq 150); do kill -0 $cp 2>/dev/null || break; sleep 0.1; done
kill -0 $cp 2>/dev/null && fail "cowpen still runs 15 s after SIGTERM"
wait $cp || rc=$?
t1=$(date +%s%N)
[ $rc -eq 0 ] || fail "SIGTERM: exit $rc, want 0 (clean shutdown): $(tail -5 "$N/console")"
kill -0 "$init" 2>/dev/null && fail "the container's init survived"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "SIGTERM shut it down cleanly in $(( (t1 - t0) / 1000000 )) ms, nothing left"

# 4. -U: systemd boots in a picked user namespace that owns its PID, UTS, IPC, cgroup and mount
# namespaces: every unit starts (logind included), the host name can be set, reboot restarts
# the container and poweroff ends the run with 0; nothing on disk belongs to the host's range.
must "$COWPEN" -q clone deb debu >/dev/null
"$COWPEN" run -b -U -M debu >"$N/console-u" 2>&1 &
cp=$!
at_exit "kill -9 $cp 2>/dev/null"
state() { # the container's init (cowpen's child running systemd) and its state
  local p
  for p in $(pgrep -P $cp); do
    [ "$(readlink /proc/$p/exe 2>/dev/null)" = /usr/lib/systemd/systemd ] || continue
    echo "$p $(nsenter -t $p -a systemctl is-system-running 2>/dev/null)"
    return
  done
}
wait_running() {
  local s
  for _ in $(seq 600); do
    s=$(state)
    case "$s" in *" running"|*" degraded") echo "${s%% *}"; return;; esac
    kill -0 $cp 2>/dev/null || break
    sleep 0.1
  done
  fail "-U: the container did not finish booting within 60 s ($s): $(tail -5 "$N/console-u")"
}
init=$(wait_running)
failed=$(nsenter -t $init -a systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')
[ -z "$failed" ] || fail "-U: failed units: $failed"
[ "$(nsenter -t $init -a systemctl is-active systemd-logind)" = active ] || fail "-U: logind is not active"
uns=$(stat -Lc %i /proc/$init/ns/user)
[ "$uns" != "$(stat -Lc %i /proc/self/ns/user)" ] || fail "-U: init is in the host's user namespace"
for t in pid uts ipc cgroup mnt; do
  owner=$(lsns -n -o ONS -t $t -p $init | tr -d ' ')
  [ "$owner" = "$uns" ] || fail "-U: the $t namespace belongs to user namespace $owner, not the container's $uns"
done
tr '\0' '\n' </proc/$init/environ | grep -qx 'NOTIFY_SOCKET=/run/host/notify' || fail "-U: init has no NOTIFY_SOCKET"
tr '\0' '\n' </proc/$init/environ | grep -qx 'container=cowpen' || fail "-U: init has no container=cowpen"
uid=$(stat -c %u /proc/$init)
[ "$uid" -ge $((0x80000)) ] || fail "-U: init runs as host uid $uid"
must nsenter -t $init -a hostname renamed-u
[ "$(nsenter -t $init -u hostname)" = renamed-u ] || fail "-U: the host name did not change"
pass "-U: booted; all units up (logind too); PID/UTS/IPC/cgroup/mount namespaces owned by its user namespace"

must nsenter -t $init -a systemctl reboot
for _ in $(seq 300); do s=$(state); [ -n "$s" ] && [ "${s%% *}" != "$init" ] && break; kill -0 $cp 2>/dev/null || break; sleep 0.1; done
kill -0 $cp 2>/dev/null || fail "-U: reboot ended the run: $(tail -5 "$N/console-u")"
init2=$(wait_running)
[ "$init2" != "$init" ] || fail "-U: reboot did not restart init"
must nsenter -t $init2 -a systemctl poweroff
rc=0
for _ in $(seq 300); do kill -0 $cp 2>/dev/null || break; sleep 0.1; done
wait $cp || rc=$?
[ $rc -eq 0 ] || fail "-U: poweroff after the reboot: exit $rc: $(tail -5 "$N/console-u")"
[ "$(grep -c 'Welcome to' "$N/console-u")" -eq 2 ] || fail "-U: want two boots in the console log"
outside=$(find "$COWPEN_IMAGE_ROOT/debu" -xdev \( -uid +65535 -o -gid +65535 \) | head -3)
[ -z "$outside" ] || fail "-U: files owned by the host range on disk: $outside"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "-U: reboot restarts the container, poweroff exits 0, the image keeps unshifted owners"

# 3. Bad combinations are usage errors.
must_fail 2 "$COWPEN" run -b -a -M deb
assert_one_line_error 'boot.*as-pid2'
must_fail 2 "$COWPEN" run --notify-ready=yes -M deb true
assert_one_line_error 'notify-ready'
pass "bad combinations refused"
