#!/bin/bash
# run --register/--keep-unit/--slice/--property against a real systemd-machined, and without one.
#  1. No system bus (a private /run): --register=yes fails with one line saying so, auto runs
#     (the payload's status) without loading libsystemd, --slice=/--property= fail with one line
#     (no systemd manager), an unsupported --property= is bad usage naming it.
#  2. A real dbus-daemon without machined: yes fails naming the bus's answer, auto runs.
#  3. A booted Debian guest (systemd, dbus, systemd-container; cowpen -b -x) with this build's
#     cowpen bound in: inside it, `cowpen run --register=yes -D TREE` shows in `machinectl list`
#     and `machinectl show` (class container, service cowpen, the payload as leader, unit
#     machine-TREE.scope, the root) and is gone after the run; --slice=/--property= reach the
#     scope (systemctl show); --keep-unit registers the caller's unit; with -U the leader is the
#     payload in its user namespace; a booted systemd guest registered so gets its cgroup delegated
#     (its units run), `machinectl reboot` boots it again registered anew in the same scope, and
#     `machinectl poweroff` ends it with exit 0; enable/disable NAME turn cowpen@NAME.service on
#     and off (systemctl is-enabled).
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

grep -qw cgroup2 /proc/filesystems || skip "kernel has no cgroup2"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs (needed by -x on a directory)"
command -v nsenter >/dev/null || fail "nsenter (util-linux) is needed"
command -v dbus-daemon >/dev/null || fail "dbus-daemon (dbus) is needed"

make_temp_dir
T=$TEMP_DIR
make_busybox_tree "$T/tree"

# 1. No system bus: a private /run, as on a host without D-Bus (and without systemd).
norun() { unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec "$@"' sh env -u DBUS_SYSTEM_BUS_ADDRESS "$@"; }
must_fail 1 norun "$COWPEN" run --register=yes -D "$T/tree" /bin/true
assert_one_line_error '^cowpen: run tree: cannot register the machine: no system bus \(/run/dbus/system_bus_socket is missing\)$'
rc=0
norun "$COWPEN" run --register=auto -D "$T/tree" /bin/sh -c 'exit 7' || rc=$?
[ "$rc" -eq 7 ] || fail "--register=auto without a bus: exit $rc, want the payload's 7"
# auto without a bus maps no libsystemd (nor does run by default).
norun sh -c '"$0" run -D "$1" /bin/sleep 30 & p=$!; for i in $(seq 100); do grep -q stack /proc/$p/maps 2>/dev/null && [ -n "$(pgrep -P $p)" ] && break; sleep 0.05; done; ! grep -q libsystemd /proc/$p/maps; r=$?; kill $p; wait $p; exit $r' "$COWPEN" "$T/tree" ||
  fail "run without registration mapped libsystemd"
pass "no system bus: --register=yes fails with one line, auto runs unregistered without libsystemd"

must_fail 1 norun "$COWPEN" run --slice=test.slice -D "$T/tree" /bin/true
assert_one_line_error '^cowpen: run tree: --slice= needs a systemd manager, and none runs here \(/run/systemd/system is missing\)$'
must_fail 1 norun "$COWPEN" run --register=no --property=CPUQuota=20% -D "$T/tree" /bin/true
assert_one_line_error '^cowpen: run tree: --property= needs a systemd manager, and none runs here'
must_fail 2 "$COWPEN" run --property=Frobnicate=yes -D "$T/tree" /bin/true
assert_one_line_error '^cowpen: run: --property=Frobnicate=yes: unsupported unit property Frobnicate \(cowpen sends: .*CPUQuota.*\)$'
must_fail 2 "$COWPEN" run --property=MemoryMax=lots -D "$T/tree" /bin/true
assert_one_line_error 'bad value for unit property MemoryMax: lots$'
must_fail 2 "$COWPEN" run --slice=nonsense -D "$T/tree" /bin/true
must_fail 1 norun "$COWPEN" run --keep-unit --slice=a.slice -D "$T/tree" /bin/true
assert_one_line_error 'which --keep-unit turns off$'
pass "--slice/--property without a manager, unsupported properties: one line each"

# 2. A real bus without machined: the bus's own answer.
dbus-daemon --session --address="unix:path=$T/bus" --nofork --nopidfile --nosyslog >/dev/null 2>&1 &
bus=$!
at_exit "kill $bus"
for _ in $(seq 100); do [ -S "$T/bus" ] && break; sleep 0.05; done
[ -S "$T/bus" ] || fail "dbus-daemon did not start"
export_bus() { DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus" "$@"; }
must_fail 1 export_bus "$COWPEN" run --register=yes -D "$T/tree" /bin/true
assert_one_line_error '^cowpen: run tree: cannot register the machine: systemd-machined is not reachable on the system bus: .*org\.freedesktop\.DBus\.Error\.(ServiceUnknown|NameHasNoOwner)\)$'
rc=0
export_bus "$COWPEN" run --register=auto -D "$T/tree" /bin/sh -c 'exit 5' || rc=$?
[ "$rc" -eq 5 ] || fail "--register=auto with a bus but no machined: exit $rc"
pass "a real dbus-daemon without machined: yes says what the bus answered, auto runs"

# 3. A booted systemd guest with machined; cowpen runs inside it.
MACHINED_RECIPE="mmdebstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2,systemd-container,libjson-c5,libbtrfsutil1,libssl3,libseccomp2,libcap2,libmount1 bookworm"
recipe_fixture machined "$MACHINED_RECIPE" tree2
G=$FIXTURE_DIR
[ -x "$G/usr/lib/systemd/systemd-machined" ] || fail "the fixture has no systemd-machined"
mkdir "$T/units"
cp "$TEST_BUILDDIR/units/cowpen@.service" "$T/units/"
boot_outer "the outer container" "busouter-$$" "$G" "$T/outer.log" \
  --bind-ro="$COWPEN:/usr/local/bin/cowpen" --bind-ro="$T/tree:/srv/tree" --bind-ro="$G:/srv/guest" \
  --bind-ro="$T/units/cowpen@.service:/etc/systemd/system/cowpen@.service"
st=$(systemd_state 120 nsenter -t "$init" -a)
case $st in running | degraded) ;; *) fail "the outer guest did not come up: $st" ;; esac
inside() { nsenter -t "$init" -a "$@"; }
# What nsenter starts stays in the host's cgroup, outside the guest's cgroup namespace: cowpen
# runs inside are given a scope of the guest's systemd first (systemd-run --scope execs them).
grun() { inside systemd-run --scope --quiet "$@"; }

# A nested container inside a root container (no -U) is what this needs: say so if refused.
out=$(grun cowpen run --register=no -D /srv/tree /bin/echo nested 2>&1) ||
  fail "a nested cowpen run inside the booted guest failed: $out"

# inner_run [SYSTEMD-RUN OPTIONS…] CMD…: CMD inside the guest in the background, in a scope of
# its own (systemd-run --scope), its output in the guest's /run/inner.log; sets cpid.
inner_run() {
  inside sh -c 'systemd-run --scope -q "$@" >/run/inner.log 2>&1 & echo $! >/run/inner.pid' sh "$@"
  cpid=$(inside cat /run/inner.pid)
}
# machine_prop PROP: machinectl show tree's PROP once it has a value (empty after 10 s).
machine_prop() {
  local v=
  for _ in $(seq 100); do v=$(inside machinectl show tree -p "$1" --value 2>/dev/null) && [ -n "$v" ] && break; sleep 0.1; done
  echo "$v"
}
# inner_wait_gone: waits (10 s at the most) until the run inner_run started has ended.
inner_wait_gone() {
  for _ in $(seq 100); do inside test -e /proc/"$cpid" || break; sleep 0.1; done
}

inner_run cowpen run --register=yes -D /srv/tree /bin/sleep 60
leader=$(machine_prop Leader)
[ -n "$leader" ] || fail "machinectl does not show the machine: $(inside machinectl list 2>&1)"
inside machinectl list --no-legend | grep -Eq '^tree +container +cowpen' || fail "machinectl list: $(inside machinectl list)"
show=$(inside machinectl show tree)
grep -qx 'Class=container' <<<"$show" && grep -qx 'Service=cowpen' <<<"$show" &&
  grep -qx 'Unit=machine-tree.scope' <<<"$show" && grep -qx 'RootDirectory=/srv/tree' <<<"$show" ||
  fail "machinectl show: $show"
[ "$(inside readlink /proc/"$leader"/exe)" = /bin/busybox ] || fail "the leader $leader is not the payload"
[ "$(inside cat /proc/"$leader"/comm)" = sleep ] || fail "the leader $leader is $(inside cat /proc/"$leader"/comm)"
inside machinectl status tree --no-pager | grep -q 'Leader: '"$leader" || fail "machinectl status: $(inside machinectl status tree --no-pager)"
# The container's cgroup is below the scope, which holds cowpen too.
inside grep -q "^0::/machine.slice/machine-tree.scope/cowpen-$cpid-.*-tree\$" /proc/"$leader"/cgroup ||
  fail "the leader's cgroup: $(inside cat /proc/"$leader"/cgroup)"
pass "inside a booted guest: machinectl list/show/status show cowpen's container (class, service, leader, unit, root)"
inside machinectl terminate tree
inner_wait_gone
inside test -e /proc/"$cpid" && fail "machinectl terminate did not end the run"
[ -z "$(inside machinectl list --no-legend)" ] || fail "still registered after the run: $(inside machinectl list)"
inside systemctl is-active -q machine-tree.scope && fail "machine-tree.scope is still active"
pass "machinectl terminate ends the run; the machine and its scope are gone"

# A run that ends by itself unregisters too.
grun cowpen run --register=yes -D /srv/tree /bin/true || fail "--register=yes run of true failed"
[ -z "$(inside machinectl list --no-legend)" ] || fail "still registered after the run: $(inside machinectl list)"

# --slice= and --property= reach the scope.
inner_run cowpen run --slice=cowtest.slice --property=CPUQuota=20% --property=MemoryMax=64M \
  --property="DeviceAllow=/dev/fuse rw" --property=TasksMax=77 -D /srv/tree /bin/sleep 60
machine_prop Leader >/dev/null
props=$(inside systemctl show machine-tree.scope -p Slice -p CPUQuotaPerSecUSec -p MemoryMax -p TasksMax -p Delegate -p DevicePolicy -p DeviceAllow)
for want in Slice=cowtest.slice CPUQuotaPerSecUSec=200ms MemoryMax=67108864 TasksMax=77 Delegate=yes DevicePolicy=closed \
  'DeviceAllow=/dev/fuse rw' 'DeviceAllow=char-pts rw' 'DeviceAllow=/dev/net/tun rwm'; do
  grep -qxF "$want" <<<"$props" || fail "scope lacks $want: $props"
done
inside sh -c "kill $cpid"
inner_wait_gone
pass "--slice= and --property= set the scope's slice and properties"

# --keep-unit: the machine is the caller's unit.
inner_run --unit=cowkept.scope cowpen run --keep-unit --register=yes -D /srv/tree /bin/sleep 60
unit=$(machine_prop Unit)
[ "$unit" = cowkept.scope ] || fail "--keep-unit: the machine's unit is \"$unit\""
inside systemctl list-units --all --no-legend 'machine-tree.scope' | grep -q . && fail "--keep-unit made a scope"
inside machinectl terminate tree
inner_wait_gone
pass "--keep-unit registers the caller's unit, no scope of its own"

# -U: the leader is the init of the container's user namespace (the payload), not the setup.
inner_run cowpen run --register=yes -U -D /srv/tree /bin/sleep 60
leader=$(machine_prop Leader)
[ -n "$leader" ] || fail "-U: not registered: $(inside cat /run/inner.log)"
[ "$(inside cat /proc/"$leader"/comm)" = sleep ] || fail "-U: the leader $leader is $(inside cat /proc/"$leader"/comm)"
inside awk '$1 == 0 && $2 != 0 { found = 1 } END { exit !found }' /proc/"$leader"/uid_map ||
  fail "-U: the leader is not in a user namespace of its own: $(inside cat /proc/"$leader"/uid_map)"
inside machinectl terminate tree
inner_wait_gone
pass "-U: the registered leader is the payload in its user namespace"

# A booted systemd guest, registered: its cgroup is delegated below the scope, its units run,
# machinectl poweroff shuts it down, run exits 0. (--volatile=overlay: the guest's tree is read-only.)
inside sh -c 'systemd-run --scope -q cowpen run --register=yes --volatile=overlay -b -D /srv/guest >/run/guest.log 2>&1; echo $? >/run/guest.rc' &
gl=
for _ in $(seq 300); do gl=$(inside machinectl show guest -p Leader --value 2>/dev/null) && [ -n "$gl" ] && break; sleep 0.1; done
[ -n "$gl" ] || fail "the booted guest was not registered: $(inside cat /run/guest.log)"
gst=$(systemd_state 120 inside nsenter -t "$gl" -a)
case $gst in running | degraded) ;; *) fail "the registered guest did not come up: $gst" ;; esac
inside grep -q '^0::/machine.slice/machine-guest.scope/cowpen-.*-guest/init.scope$' /proc/"$gl"/cgroup ||
  fail "the guest's init is not in its own delegated cgroup: $(inside cat /proc/"$gl"/cgroup)"
inside test -d "$(inside sh -c "echo /sys/fs/cgroup\$(sed -n 's/^0:://p' /proc/$gl/cgroup)")/../system.slice" ||
  fail "the guest made no system.slice in its cgroup"
gshow=$(inside machinectl show guest -p Class -p Service)
grep -qx Class=container <<<"$gshow" && grep -qx Service=cowpen <<<"$gshow" || fail "machinectl show guest: $gshow"
# machinectl reboot (SIGINT to the leader): the guest reboots within the same run, registered
# again with its new leader, in the same scope.
inside machinectl reboot guest
gl2=
for _ in $(seq 600); do
  gl2=$(inside machinectl show guest -p Leader --value 2>/dev/null) && [ -n "$gl2" ] && [ "$gl2" != "$gl" ] && break
  sleep 0.1
done
[ -n "$gl2" ] && [ "$gl2" != "$gl" ] || fail "the rebooted guest was not registered again: $(inside tail -3 /run/guest.log)"
inside test -e /run/guest.rc && fail "the run ended on reboot: exit $(inside cat /run/guest.rc)"
[ "$(inside machinectl show guest -p Unit --value)" = machine-guest.scope ] || fail "the rebooted guest's unit"
gst=$(systemd_state 120 inside nsenter -t "$gl2" -a)
case $gst in running | degraded) ;; *) fail "the rebooted guest did not come up: $gst" ;; esac
pass "machinectl reboot: the guest boots again, registered anew in the same scope"
inside machinectl poweroff guest
for _ in $(seq 600); do inside test -e /run/guest.rc && break; sleep 0.1; done
[ "$(inside cat /run/guest.rc 2>/dev/null)" = 0 ] || fail "machinectl poweroff: run exit $(inside cat /run/guest.rc 2>/dev/null) ($(inside tail -3 /run/guest.log))"
[ -z "$(inside machinectl list --no-legend)" ] || fail "the guest is still registered"
pass "a registered booted guest has its cgroup delegated (units run); machinectl poweroff ends it, exit 0"

# enable/disable: systemctl's view of cowpen@NAME.service (and machines.target).
inside mkdir -p /var/lib/machines/demo/usr /var/lib/machines/demo/etc
inside cowpen enable demo 2>/dev/null || fail "enable demo: $(inside cowpen enable demo 2>&1)"
[ "$(inside systemctl is-enabled cowpen@demo.service)" = enabled ] || fail "cowpen@demo.service is not enabled"
[ "$(inside systemctl is-enabled machines.target)" = enabled ] || fail "machines.target is not enabled"
inside cowpen disable demo 2>/dev/null || fail "disable demo"
[ "$(inside systemctl is-enabled cowpen@demo.service)" = disabled ] || fail "cowpen@demo.service is still enabled"
ERR=$(inside cowpen enable nosuch 2>&1) && fail "enable of a missing image succeeded"
assert_one_line_error '^cowpen: enable nosuch: no image "nosuch"$'
pass "enable/disable NAME: systemctl is-enabled cowpen@NAME.service follows; a missing image is refused"

# The outer guest shuts down cleanly.
boot_outer_stop "the outer guest" "busouter-$$"
pass "the outer guest shut down cleanly, nothing left beside the fixture"
