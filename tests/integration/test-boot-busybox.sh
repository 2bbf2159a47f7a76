#!/bin/bash
# cowpen run -b with busybox init: boots (sysinit runs), powers off (exit 0); reboot inside
# restarts the container (the second boot powers off); -x with reboot gets a fresh copy each
# time; an image without init is refused with one line; no cgroup or socket is left behind.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

grep -qw cgroup2 /proc/filesystems || skip "kernel has no cgroup2"
make_temp_dir
T=$TEMP_DIR

leftovers() {
  stale_notify_dirs
  stale_cowpen_cgroups bb
}

make_busybox_tree "$T/bb"
out=$(timeout 60 "$COWPEN" run -b -D "$T/bb" 2>&1) || fail "busybox boot: exit $? ($out)"
grep -q busybox-init-up <<<"$out" || fail "sysinit did not run: $out"
grep -q busybox-init-down <<<"$out" || fail "shutdown actions did not run: $out"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "busybox init boots and powers off, exit 0"

# reboot restarts the container; the second boot powers off.
printf '::sysinit:/bin/echo up\n::once:/bin/sh -c "if [ -e /rebooted ]; then poweroff; else touch /rebooted; reboot; fi"\n' > "$T/bb/etc/inittab"
out=$(timeout 60 "$COWPEN" run -b -D "$T/bb" 2>&1) || fail "reboot: exit $? ($out)"
[ "$(grep -c '^up' <<<"$out")" -eq 2 ] || fail "reboot did not restart the container once: $out"
pass "reboot inside restarts the container"

# -x: every boot is on a fresh copy, so a reboot never sees the marker of the one before:
# three reboots and the fourth boot (counted on a bind mount) powers off.
rm -f "$T/bb/rebooted"
mkdir "$T/count"
printf '::sysinit:/bin/echo up\n::once:/bin/sh -c "[ -e /rebooted ] && echo STALE; touch /rebooted; echo x >>/count/n; if [ \\$(cat /count/n | wc -l) -ge 4 ]; then poweroff; else reboot; fi"\n' > "$T/bb/etc/inittab"
out=$(timeout 60 "$COWPEN" run -b -x -D "$T/bb" --bind="$T/count:/count" 2>&1) || fail "-x reboot: exit $? ($out)"
[ "$(grep -c '^up' <<<"$out")" -eq 4 ] || fail "-x: want 4 boots: $out"
grep -q STALE <<<"$out" && fail "-x: a reboot saw the previous boot's changes"
[ ! -e "$T/bb/rebooted" ] || fail "-x: the image was changed"
pass "-x: each reboot on a fresh copy"

# With a user namespace (-U): init runs as the picked range's root; its PID and UTS namespaces
# are the user namespace's, so it may set the host name and reboot (restart, status of the second
# boot's poweroff: 0); the image keeps its owners on disk.
ln -sf busybox "$T/bb/bin/hostname"
rm -f "$T/bb/rebooted"
printf '::sysinit:/bin/sh -c "echo uid=\\$(id -u) map=\\$(cat /proc/self/uid_map)"\n::once:/bin/sh -c "hostname renamed && echo host=\\$(hostname); if [ -e /rebooted ]; then rm /rebooted; poweroff; else touch /rebooted; reboot; fi"\n' > "$T/bb/etc/inittab"
owners_before=$(cd "$T/bb" && find . -printf '%U:%G %p\n' | sort)
out=$(timeout 60 "$COWPEN" run -b -U -D "$T/bb" 2>&1) || fail "-b -U: exit $? ($out)"
out=${out//$'\r'/} # the console is a pty
[[ $out =~ uid=0\ map=\ *0\ +([0-9]+)\ +65536 ]] || fail "-b -U: init is not root of a 65536-id namespace: $out"
[ "${BASH_REMATCH[1]}" -ge $((0x80000)) ] || fail "-b -U: range ${BASH_REMATCH[1]} was not picked"
[ "$(grep -c '^uid=0 ' <<<"$out")" -eq 2 ] || fail "-b -U: reboot did not restart the container once: $out"
[ "$(grep -c '^host=renamed$' <<<"$out")" -eq 2 ] || fail "-b -U: init could not set the host name: $out"
[ ! -e "$T/bb/rebooted" ] || fail "-b -U: the second boot did not run"
[ "$(cd "$T/bb" && find . -printf '%U:%G %p\n' | grep -v '/etc/localtime$\|/etc/resolv.conf$' | sort)" = \
  "$(grep -v '/etc/localtime$\|/etc/resolv.conf$' <<<"$owners_before")" ] || fail "-b -U changed owners on disk"
pass "-b -U: init in a picked user namespace sets the host name and reboots; owners unchanged"

# SIGKILL to cowpen: the container dies with it; the next boot removes its cgroup and socket.
printf '::sysinit:/bin/echo up\n::once:/bin/sleep 1000\n' > "$T/bb/etc/inittab"
"$COWPEN" run -b -D "$T/bb" >/dev/null 2>&1 &
cp=$!
for _ in $(seq 100); do pgrep -f '^/bin/sleep 1000$' >/dev/null && break; sleep 0.1; done
pgrep -f '^/bin/sleep 1000$' >/dev/null || fail "the killed container never started"
kill -KILL $cp
wait $cp 2>/dev/null || true
for _ in $(seq 50); do pgrep -f '^/bin/sleep 1000$' >/dev/null || break; sleep 0.1; done
pgrep -f '^/bin/sleep 1000$' >/dev/null && fail "the container survived SIGKILL of cowpen"
printf '::once:/bin/poweroff\n' > "$T/bb/etc/inittab"
must timeout 60 "$COWPEN" run -b -D "$T/bb" >/dev/null 2>&1
[ -z "$(leftovers)" ] || fail "what the killed run left was not removed: $(leftovers)"
pass "SIGKILL: the container dies, the next boot sweeps its cgroup and socket"

# An init that ignores SIGRTMIN+3 and has no initctl FIFO to ask for runlevel 0: the first
# SIGTERM ends the container at once (it could never shut down), status 143.
cp -a "$T/bb" "$T/ign"
rm -f "$T/ign/sbin/init"
printf '#!/bin/sh\ntrap "" %d\nexec /bin/sleep 1017\n' $(($(kill -l RTMIN) + 3)) >"$T/ign/sbin/init"
chmod 755 "$T/ign/sbin/init"
"$COWPEN" run -b -D "$T/ign" >/dev/null 2>&1 &
cp=$!
at_exit "kill -9 $cp 2>/dev/null"
for _ in $(seq 100); do pgrep -x -f '/bin/sleep 1017' >/dev/null && break; sleep 0.1; done
sp=$(pgrep -x -f '/bin/sleep 1017') || fail "the init that ignores SIGRTMIN+3 never started"
ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$sp/status)
(((0x$ign >> ($(kill -l RTMIN) + 2)) & 1)) || fail "the test init does not ignore SIGRTMIN+3 (SigIgn $ign)"
kill -TERM $cp
rc=0
for _ in $(seq 100); do kill -0 $cp 2>/dev/null || break; sleep 0.1; done
kill -0 $cp 2>/dev/null && fail "cowpen still runs 10 s after SIGTERM to a container whose init ignores SIGRTMIN+3"
wait $cp || rc=$?
[ $rc -eq 143 ] || fail "init ignoring SIGRTMIN+3: exit $rc, want 143"
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "an init that ignores the shutdown signal and has no initctl: SIGTERM ends it, 143"

# No init: one line.
mkdir -p "$T/noinit/etc"
cp "$T/bb/etc/os-release" "$T/noinit/etc/"
must_fail 1 "$COWPEN" run -b -D "$T/noinit"
assert_one_line_error 'no init in the image'
[ -z "$(leftovers)" ] || fail "left behind: $(leftovers)"
pass "no init refused"
