#!/bin/bash
# Booted guests on -n reach a server in a separate "outside" namespace (routed through the test's
# host, which is its only way there, and masqueraded):
#  1. systemd (the Debian fixture) with systemd-networkd enabled and a .network for host0 with
#     DHCP=yes (as systemd's own 80-container-host0.network): networkd drops the address cowpen
#     configured from the host side (foreign to it) and takes one by DHCP. Tested: that DHCP
#     lease comes from cowpen's dnsmasq (its lease file names host0's MAC and address, and the
#     address on host0 is the lease's: "dynamic", not the static one cowpen set), and with it the
#     guest reaches the outside.
#  2. OpenRC (sysvinit's init, no networkd, no DHCP client): the static setup from the host side is
#     all it has, and it is enough.
# Each guest runs its check at boot (a unit, an OpenRC service) and writes what it saw into a file
# of its tree; the test then shuts it down with SIGTERM (exit 0) and finds nothing left. The cached
# fixtures are copied first (never changed). All in namespaces of the test's own (net.sh).
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/openrc.sh"
. "$TEST_SRCDIR/tests/lib/net.sh"
net_test_enter "$@"
grep -qw cgroup2 /proc/filesystems || skip "kernel has no cgroup2"
rootfs_fixture
openrc_fixture
make_temp_dir
T=$TEMP_DIR

# "The outside": a namespace behind the host without a route to the containers' subnets.
net_outside_server outside hello-from-outside
links_before=$(net_links)

# The check both guests run (bash: /dev/tcp; the OpenRC tree has no iproute2).
check_script() {
  cat <<'EOF'
#!/bin/bash
# cowpen test-network-boot: what the guest sees of its network, into /root/netcheck.out.
out=/root/netcheck.out.tmp
: >"$out"
for _ in $(seq 300); do
  if [ -x /usr/bin/networkctl ]; then
    st=$(networkctl list host0 --no-legend --no-pager 2>/dev/null)
    case $st in *configured*) ;; *) sleep 0.2; continue ;; esac
    echo "networkd: $st" >>"$out"
  fi
  exec 3<>/dev/tcp/198.51.100.2/80 2>/dev/null || { sleep 0.2; continue; }
  printf 'GET / HTTP/1.0\r\n\r\n' >&3
  sed -n 's/^\(hello-from-outside\)\r*$/http: \1/p' <&3 >>"$out"
  exec 3<&-
  break
done
if command -v ip >/dev/null; then ip -4 -o addr show dev host0; else hostname -I; fi | sed 's/^/addr: /' >>"$out"
cat /sys/class/net/host0/address | sed 's/^/mac: /' >>"$out"
mv "$out" /root/netcheck.out
EOF
}

# boot_check TREE NAME: boots TREE with -n as NAME until /root/netcheck.out appears (120 s); sets
# CP (cowpen's PID) and OUT (the file).
boot_check() {
  local tree=$1 name=$2 i
  "$COWPEN" run -b -n -D "$tree" -M "$name" >"$T/$name.console" 2>&1 &
  CP=$!
  at_exit "kill -9 $CP 2>/dev/null"
  for ((i = 0; i < 1200; i++)); do
    [ -e "$tree/root/netcheck.out" ] && break
    kill -0 $CP 2>/dev/null || fail "$name: cowpen ended while booting: $(tr -d '\r' <"$T/$name.console" | tail -8)"
    sleep 0.1
  done
  [ -e "$tree/root/netcheck.out" ] || fail "$name: no check result within 120 s: $(tr -d '\r' <"$T/$name.console" | tail -8)"
  OUT=$(cat "$tree/root/netcheck.out")
  log "$name: $OUT"
}
# shutdown_check NAME: SIGTERM, a clean shutdown (exit 0) within 60 s, nothing of the network left.
shutdown_check() {
  local name=$1 i rc=0
  kill -TERM $CP
  for ((i = 0; i < 600; i++)); do kill -0 $CP 2>/dev/null || break; sleep 0.1; done
  kill -0 $CP 2>/dev/null && fail "$name: cowpen still runs 60 s after SIGTERM"
  wait $CP || rc=$?
  [ $rc -eq 0 ] || fail "$name: SIGTERM: exit $rc, want 0: $(tr -d '\r' <"$T/$name.console" | tail -8)"
  net_links_settle "$links_before" || fail "$name: links left behind: $(net_links)"
  [ -z "$(net_cowpen_table)" ] || fail "$name: cowpen's nft table left behind: $(net_cowpen_table)"
  [ -z "$(net_records)" ] || fail "$name: records left behind: $(net_records)"
  ! pgrep -x dnsmasq >/dev/null || fail "$name: dnsmasq left running"
}

# 1. systemd + networkd, DHCP from cowpen's dnsmasq.
log "copying the Debian (systemd) tree…"
cp -a --reflink=auto "$ROOTFS_DIR" "$T/sd"
S=$T/sd/etc/systemd
mkdir -p "$S/system/multi-user.target.wants" "$S/system/sockets.target.wants" "$S/network"
# systemctl enable systemd-networkd, by hand (no systemctl runs here): its [Install] section.
ln -s /lib/systemd/system/systemd-networkd.service "$S/system/multi-user.target.wants/systemd-networkd.service"
ln -s /lib/systemd/system/systemd-networkd.socket "$S/system/sockets.target.wants/systemd-networkd.socket"
ln -s /lib/systemd/system/systemd-networkd.service "$S/system/dbus-org.freedesktop.network1.service"
printf '[Match]\nName=host0\n\n[Network]\nDHCP=yes\nLinkLocalAddressing=yes\n' >"$S/network/50-host0.network"
check_script >"$T/sd/usr/local/bin/netcheck"
chmod 755 "$T/sd/usr/local/bin/netcheck"
cat >"$S/system/netcheck.service" <<'EOF'
[Unit]
Description=cowpen test-network-boot check
After=systemd-networkd.service
[Service]
Type=oneshot
ExecStart=/usr/local/bin/netcheck
[Install]
WantedBy=multi-user.target
EOF
ln -s ../netcheck.service "$S/system/multi-user.target.wants/netcheck.service"

boot_check "$T/sd" sdnet
grep -q '^networkd: .*host0.*configured' <<<"$OUT" || fail "systemd: networkd did not configure host0: $OUT"
grep -qx 'http: hello-from-outside' <<<"$OUT" || fail "systemd: the outside namespace is not reachable: $OUT"
addr=$(sed -n 's/^addr: .* inet \([0-9.]*\)\/.*/\1/p' <<<"$OUT")
mac=$(sed -n 's/^mac: //p' <<<"$OUT")
[ -n "$addr" ] && [ -n "$mac" ] || fail "systemd: no address or MAC on host0: $OUT"
grep -q '^addr: .* dynamic' <<<"$OUT" || fail "systemd: host0's address is not networkd's DHCP lease (not dynamic): $OUT"
# While it runs: cowpen's dnsmasq gave that lease (the only DHCP server on the link).
leases=$(cat /run/cowpen/network/dnsmasq/machine-sdnet.leases 2>/dev/null || true)
grep -q " $mac $addr " <<<"$leases" || fail "systemd: cowpen's dnsmasq has no lease for $mac $addr: $leases"
pass "systemd + networkd: DHCP lease $addr from cowpen's dnsmasq, the outside namespace reached"
shutdown_check sdnet
pass "systemd: SIGTERM shuts it down cleanly, nothing of the network left"

# 2. OpenRC: the static setup from the host side, nothing in the guest configures the network.
log "copying the OpenRC tree…"
cp -a --reflink=auto "$OPENRC_DIR" "$T/rc"
mkdir -p "$T/rc/usr/local/bin"
check_script >"$T/rc/usr/local/bin/netcheck"
chmod 755 "$T/rc/usr/local/bin/netcheck"
cat >"$T/rc/etc/init.d/netcheck" <<'EOF'
#!/sbin/openrc-run
description="cowpen test-network-boot check"
start() {
	ebegin "Checking the network"
	/usr/local/bin/netcheck
	eend $?
}
EOF
chmod 755 "$T/rc/etc/init.d/netcheck"
ln -s /etc/init.d/netcheck "$T/rc/etc/runlevels/default/netcheck"

boot_check "$T/rc" rcnet
grep -qx 'http: hello-from-outside' <<<"$OUT" || fail "OpenRC: the outside namespace is not reachable: $OUT"
grep -Eq '^addr: (.* )?1[07]\.[0-9.]+' <<<"$OUT" || fail "OpenRC: host0 has no address from cowpen's pool: $OUT"
pass "OpenRC: the static setup from the host side reaches the outside namespace"
shutdown_check rcnet
pass "OpenRC: SIGTERM shuts it down cleanly, nothing of the network left"
