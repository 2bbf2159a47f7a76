#!/bin/bash
# bench/network.sh: the cost of a container's network, side by side in one run, alternating,
# ROUNDS rounds (default 15), medians:
#   1. cowpen run -n /bin/true  vs  systemd-nspawn -n /bin/true      (target: ratio <= 0.5)
#   2. cowpen run -n /bin/true  vs  cowpen run /bin/true             (the added cost of a network, ms)
# cowpen's -n is the whole network (veth, addresses, route, masquerading, dnsmasq for DHCP and DNS,
# resolv.conf), nspawn's a veth only (it leaves addresses to systemd-networkd, absent here).
# Everything runs in network, mount and PID namespaces the bench makes (the host is not changed),
# the reference nspawn as the lead prescribes for a host without systemd as PID 1:
#   unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn --register=no --keep-unit …'
# Usage: bench/network.sh [ROUNDS]   (as root; COWPEN=path to the binary, default build/cowpen)
. "$(dirname "$0")/../tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/net.sh"

ROUNDS=${1:-15}
[ "$ROUNDS" -ge 5 ] || fail "use at least 5 rounds"
command -v systemd-nspawn >/dev/null || fail "systemd-nspawn missing (scripts/packages/spawn.txt: systemd-container)"
[ -x "$COWPEN" ] || fail "no cowpen binary at $COWPEN (meson compile -C build)"
net_test_enter "$@"
rootfs_fixture
make_temp_dir
T=$TEMP_DIR
log "copying the Debian tree (the fixture cache is never changed)…"
cp -a "$ROOTFS_DIR" "$T/tree"


cowpen_n() { "$COWPEN" run -D "$T/tree" -M bench -n /bin/true; }
cowpen_plain() { "$COWPEN" run -D "$T/tree" -M bench /bin/true; }
# A name of its own: the host side of either tool's veth goes with the namespace, in the background,
# a moment after the run (cowpen's next run of the same name waits for its own; nspawn fails on one).
nspawn_n() { nspawn -D "$T/tree" -M bench-nspawn -n /bin/true; }

# One warm-up of each, not counted (the system-call filter is compiled into the cache).
for f in cowpen_n cowpen_plain nspawn_n; do time_us $f >/dev/null; done
declare -A t
for ((i = 1; i <= ROUNDS; i++)); do
  order=$( ((i % 2)) && echo "cowpen_n nspawn_n cowpen_plain" || echo "cowpen_plain nspawn_n cowpen_n")
  for f in $order; do t[$f]+=" $(time_us $f)"; done
done
[ -z "$(net_records)" ] || fail "records left behind: $(net_records)"
for _ in $(seq 100); do ip -o link show | grep -q ve-bench || break; sleep 0.1; done
! ip -o link show | grep -q ve-bench || fail "a veth left behind (10 s after the last run)"

# shellcheck disable=SC2086
cn=$(median ${t[cowpen_n]}) np=$(median ${t[nspawn_n]}) cp=$(median ${t[cowpen_plain]})
printf '\n%-44s %12s\n' "medians of $ROUNDS rounds" ""
printf '%-44s %12s\n' "cowpen run -n /bin/true" "$(ms "$cn")"
printf '%-44s %12s\n' "systemd-nspawn -n /bin/true" "$(ms "$np")"
printf '%-44s %12s\n' "cowpen run /bin/true" "$(ms "$cp")"
printf '\ncowpen run -n / nspawn -n: %s   (target <= 0.5)\n' "$(ratio "$cn" "$np")"
printf 'the network adds %s to a cowpen run (%s of it)\n' "$(ms $((cn - cp)))" "$(ratio "$cn" "$cp")"
