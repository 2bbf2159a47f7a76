#!/bin/bash
# The services `meson install` puts in place:
#  1. cowpen@.service, installed to a DESTDIR, passes `systemd-analyze verify` (ExecStart= pointed
#     at the DESTDIR's cowpen, which must exist for it) and runs what systemd-nspawn@.service runs;
#  2. the OpenRC service, for real in a booted OpenRC guest (sysvinit + OpenRC, cowpen -b -x)
#     with the installed cowpen, /etc/init.d/cowpen and /etc/conf.d/cowpen bound in: `cowpen
#     enable NAME` links cowpen.NAME and adds it to the default runlevel; `rc-service cowpen.NAME
#     start` boots the image NAME (the OpenRC tree again, --volatile=overlay from
#     /etc/conf.d/cowpen.NAME) as a nested container that reaches its runlevel; `rc-service
#     cowpen.NAME stop` shuts it down cleanly (its OpenRC runs its shutdown) and nothing of it
#     is left; `cowpen disable NAME` undoes enable.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

command -v systemd-analyze >/dev/null || fail "systemd-analyze (systemd) is needed"
make_temp_dir
T=$TEMP_DIR

# 1. The unit, installed.
DESTDIR=$T/dest meson install -C "$TEST_BUILDDIR" --no-rebuild --quiet >"$T/install.log" 2>&1 ||
  fail "meson install: $(tail -5 "$T/install.log")"
unit=$(find "$T/dest" -name 'cowpen@.service' -path '*/systemd/system/*')
[ -n "$unit" ] || fail "meson install put no cowpen@.service below a systemd/system directory"
bin=$(sed -n 's|^ExecStart=\([^ ]*\) .*|\1|p' "$unit")
[ -x "$T/dest$bin" ] || fail "ExecStart= names $bin, which meson install did not install"
grep -qx "ExecStart=$bin run --quiet --keep-unit --boot --link-journal=try-guest --network-veth -U --machine=%i" "$unit" ||
  fail "ExecStart= is not nspawn's: $(grep ExecStart= "$unit")"
for want in Type=notify KillMode=mixed Delegate=yes Slice=machine.slice DevicePolicy=closed 'DeviceAllow=/dev/net/tun rwm' \
  'DeviceAllow=char-pts rw' RestartForceExitStatus=133 SuccessExitStatus=133 WantedBy=machines.target; do
  grep -qxF "$want" "$unit" || fail "cowpen@.service lacks $want"
done
mkdir "$T/verify"
sed "s|^ExecStart=$bin |ExecStart=$T/dest$bin |" "$unit" >"$T/verify/cowpen@demo.service"
out=$(cd "$T/verify" && systemd-analyze verify --man=no "$T/verify/cowpen@demo.service" 2>&1) ||
  fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify has something to say: $out"
pass "cowpen@.service (installed by meson install) passes systemd-analyze verify"

initd=$(find "$T/dest" -path '*/init.d/cowpen')
confd=$(find "$T/dest" -path '*/conf.d/cowpen')
[ -x "$initd" ] && [ -f "$confd" ] || fail "meson install put no init.d/cowpen and conf.d/cowpen"
head -1 "$initd" | grep -qx '#!/sbin/openrc-run' || fail "init.d/cowpen is not an openrc-run script"
grep -q "^command=\"$bin\"$" "$initd" || fail "init.d/cowpen runs $(grep ^command= "$initd")"

# 2. The OpenRC service in a booted OpenRC guest.
grep -qw cgroup2 /proc/filesystems || skip "kernel has no cgroup2"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs (needed by -x on a directory)"
command -v nsenter >/dev/null || fail "nsenter (util-linux) is needed"
# The OpenRC tree with what a dynamically linked cowpen needs.
recipe_fixture openrc-cowpen "mmdebstrap --variant=minbase --include=sysvinit-core,openrc,libjson-c5,libbtrfsutil1,libssl3,libseccomp2 bookworm"
O=$FIXTURE_DIR
[ -x "$O/sbin/openrc-run" ] || fail "the fixture has no OpenRC"
NAME=orcouter-$$
boot_outer "the OpenRC guest" "$NAME" "$O" "$T/outer.log" --bind-ro="$T/dest$bin:$bin" \
  --bind-ro="$initd:/etc/init.d/cowpen" --bind-ro="$confd:/etc/conf.d/cowpen" --bind-ro="$O:/var/lib/machines/inner"
for _ in $(seq 600); do grep -q 'Entering runlevel: 2' "$T/outer.log" && break; sleep 0.1; done
grep -q 'Entering runlevel: 2' "$T/outer.log" || fail "the OpenRC guest did not reach runlevel 2: $(tail -5 "$T/outer.log")"
# What nsenter starts is in the host's cgroup, outside the guest's cgroup namespace: into the
# guest's own cgroup first, where its services would be.
inside() { nsenter -t "$init" -a sh -c 'echo $$ >/sys/fs/cgroup/cgroup.procs && exec "$@"' sh "$@"; }
for _ in $(seq 300); do inside test -d /run/openrc/started && break; sleep 0.1; done

inside sh -c 'echo COWPEN_OPTS=--volatile=overlay >/etc/conf.d/cowpen.inner'
out=$(inside cowpen enable inner 2>&1) || fail "enable inner (OpenRC): $out"
[ "$(inside readlink /etc/init.d/cowpen.inner)" = cowpen ] || fail "enable made no /etc/init.d/cowpen.inner → cowpen"
inside rc-update show default | grep -q 'cowpen\.inner' || fail "cowpen.inner is not in the default runlevel"
pass "enable NAME on OpenRC: the cowpen.NAME symlink, in the default runlevel"

out=$(inside rc-service cowpen.inner start 2>&1) || fail "rc-service cowpen.inner start: $out"
pid=
for _ in $(seq 100); do pid=$(inside cat /run/cowpen.inner.pid 2>/dev/null) && [ -n "$pid" ] && break; sleep 0.1; done
[ -n "$pid" ] || fail "no pidfile of cowpen.inner"
inner=
for _ in $(seq 300); do
  inner=$(inside sh -c "cat /proc/$pid/task/$pid/children" 2>/dev/null | awk '{print $1}') && [ -n "$inner" ] && break
  sleep 0.1
done
[ -n "$inner" ] || fail "cowpen.inner runs no container: $(inside tail -5 /var/log/cowpen/inner.log)"
[ "$(inside readlink /proc/"$pid"/exe)" = "$bin" ] || fail "the pidfile names $(inside readlink /proc/"$pid"/exe)"
inside sh -c "tr '\\0' '\\n' </proc/$inner/environ" | grep -qx container=cowpen || fail "the service's process is not a container's init"
for _ in $(seq 600); do inside grep -q 'Entering runlevel: 2' /var/log/cowpen/inner.log && break; sleep 0.1; done
inside grep -q 'Entering runlevel: 2' /var/log/cowpen/inner.log ||
  fail "the nested guest did not reach its runlevel: $(inside tail -5 /var/log/cowpen/inner.log)"
pass "rc-service cowpen.inner start boots the image as a nested container (its runlevel reached)"

out=$(inside rc-service cowpen.inner stop 2>&1) || fail "rc-service cowpen.inner stop: $out"
inside test -e /proc/"$pid" && fail "cowpen of cowpen.inner still runs after stop"
inside test -e /proc/"$inner" && fail "the nested container's init still runs after stop"
# A clean shutdown: the nested guest ran its runlevel 0 to the halt script (cowpen turned SIGTERM into
# telinit 0), rather than being killed.
inside grep -q 'Will now halt' /var/log/cowpen/inner.log ||
  fail "the nested guest was not shut down cleanly: $(inside tail -5 /var/log/cowpen/inner.log)"
inside grep -qi 'killed' /var/log/cowpen/inner.log && fail "stop killed the nested guest: $(inside tail -5 /var/log/cowpen/inner.log)"
pass "rc-service cowpen.inner stop shuts the nested guest down cleanly"

out=$(inside cowpen disable inner 2>&1) || fail "disable inner: $out"
inside test -L /etc/init.d/cowpen.inner && fail "disable left /etc/init.d/cowpen.inner"
inside rc-update show default | grep -q 'cowpen\.inner' && fail "cowpen.inner is still in the default runlevel"
pass "disable NAME on OpenRC: out of the runlevel, the symlink gone"

boot_outer_stop "the OpenRC guest" "$NAME"
pass "the OpenRC guest shut down cleanly, nothing left"
