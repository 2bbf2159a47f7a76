#!/bin/bash
# --network-bridge, --network-macvlan, --network-interface and --network-veth-extra, each on a
# bridge or veth the test made; --network-namespace-path on a namespace the test made; the
# matching .nspawn keys (Bridge=, MACVLAN=, Interface=, VirtualEthernetExtra=, NetworkNamespacePath=,
# VirtualEthernet=, Port=), honoured from a trusted file only.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"
. "$TEST_SRCDIR/tests/lib/net.sh"
net_test_begin "$@"
net_image_root c

# A bridge of the test's with an address, and a peer namespace on it (the user's own network).
ip link add br-test type bridge
ip addr add 203.0.113.1/24 dev br-test
ip link set br-test up
ip netns add lan
ip link add lan-port type veth peer name eth0 netns lan
ip link set lan-port master br-test up
ip -n lan addr add 203.0.113.2/24 dev eth0
ip -n lan link set eth0 up
# A dummy-free parent for macvlan: a veth whose other end is in "lan" too.
ip link add mvparent type veth peer name eth1 netns lan
ip link set mvparent up
ip -n lan addr add 198.18.0.2/24 dev eth1
ip -n lan link set eth1 up
links_before=$(net_links)

check_clean() {
  net_links_settle "$links_before" || fail "$1: links differ afterwards: $(net_links)"
  [ -z "$(net_records)" ] || fail "$1: records left behind: $(net_records)"
}

# --network-bridge: vb-c on br-test; addresses are the user's (none by default).
out=$("$COWPEN" run -M c --network-bridge=br-test sh -c '
  ip -o link show host0 >/dev/null && echo has-host0
  ip addr add 203.0.113.10/24 dev host0; ip link set host0 up
  ping -c1 -W3 203.0.113.2 >/dev/null && echo lan-reached' 2>&1) || fail "run --network-bridge: $out"
grep -qx has-host0 <<<"$out" && grep -qx lan-reached <<<"$out" || fail "--network-bridge: $out"
check_clean "--network-bridge"
pass "--network-bridge: host0 on the test's bridge reaches its network"

# --network-macvlan: mv-mvparent inside.
out=$("$COWPEN" run -M c --network-macvlan=mvparent sh -c '
  ip addr add 198.18.0.10/24 dev mv-mvparent; ip link set mv-mvparent up
  ping -c1 -W3 198.18.0.2 >/dev/null && echo reached' 2>&1) || fail "run --network-macvlan: $out"
grep -qx reached <<<"$out" || fail "--network-macvlan: $out"
check_clean "--network-macvlan"
pass "--network-macvlan: mv-IF inside reaches the parent's network"

# --network-interface: moved in (renamed), moved back out afterwards.
ip link add mv-me type veth peer name eth2 netns lan
ip -n lan addr add 198.19.0.2/24 dev eth2
ip -n lan link set eth2 up
out=$("$COWPEN" run -M c --network-interface=mv-me:inner0 sh -c '
  ip addr add 198.19.0.10/24 dev inner0; ip link set inner0 up
  ping -c1 -W3 198.19.0.2 >/dev/null && echo reached' 2>&1) || fail "run --network-interface: $out"
grep -qx reached <<<"$out" || fail "--network-interface: $out"
ip -o link show mv-me >/dev/null || fail "--network-interface: mv-me not moved back out"
ip link del mv-me
check_clean "--network-interface"
pass "--network-interface: moved in, usable, moved back out"

# --network-veth-extra: the host side here, the container side inside, without addresses.
out=$("$COWPEN" run -M c --network-veth-extra=xtra-host:xtra-in sh -c '
  ip addr add 192.168.77.2/24 dev xtra-in; ip link set xtra-in up; touch /up
  i=0; while [ ! -e /go ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  ping -c1 -W3 192.168.77.1 >/dev/null && echo reached' 2>&1) &
pid=$!
at_exit "kill $pid"
wait_until 10 test -e "$COWPEN_IMAGE_ROOT/c/up"
ip addr add 192.168.77.1/24 dev xtra-host
ip link set xtra-host up
touch "$COWPEN_IMAGE_ROOT/c/go"
wait "$pid" || fail "run --network-veth-extra failed"
rm -f "$COWPEN_IMAGE_ROOT/c/up" "$COWPEN_IMAGE_ROOT/c/go"
check_clean "--network-veth-extra"
pass "--network-veth-extra: the pair works and is gone afterwards"

# --network-namespace-path: the container joins the test's namespace "lan".
out=$("$COWPEN" run -M c --network-namespace-path=/run/netns/lan sh -c 'ip -o addr show dev eth0' 2>&1) || fail "run --network-namespace-path: $out"
grep -q '203\.0\.113\.2/24' <<<"$out" || fail "--network-namespace-path: not in lan: $out"
ip -n lan -o link show eth0 >/dev/null || fail "--network-namespace-path: lan changed"
check_clean "--network-namespace-path"
pass "--network-namespace-path: joins the namespace the test made"

# The .nspawn keys, trusted with --settings=trusted (the file next to the image is not trusted
# by itself): one file per key.
nspawn_run() { # KEYS... then -- CMD
  local keys=()
  while [ "$1" != -- ]; do keys+=("$1"); shift; done
  shift
  printf '[Network]\n' >"$COWPEN_IMAGE_ROOT/c.nspawn"
  printf '%s\n' "${keys[@]}" >>"$COWPEN_IMAGE_ROOT/c.nspawn"
  "$COWPEN" run -M c --settings=trusted sh -c "$*" 2>&1
}
out=$(nspawn_run Bridge=br-test -- 'ip addr add 203.0.113.11/24 dev host0; ip link set host0 up; ping -c1 -W3 203.0.113.2 >/dev/null && echo ok') || fail "Bridge=: $out"
grep -qx ok <<<"$out" || fail "Bridge=: $out"
out=$(nspawn_run MACVLAN=mvparent -- 'ip -o link show mv-mvparent >/dev/null && echo ok') || fail "MACVLAN=: $out"
grep -qx ok <<<"$out" || fail "MACVLAN=: $out"
ip link add mv-me type veth peer name eth2 netns lan
out=$(nspawn_run Interface=mv-me -- 'ip -o link show mv-me >/dev/null && echo ok') || fail "Interface=: $out"
grep -qx ok <<<"$out" || fail "Interface=: $out"
ip -o link show mv-me >/dev/null || fail "Interface=: not moved back out"
ip link del mv-me
out=$(nspawn_run VirtualEthernetExtra=xk-host:xk-in -- 'ip -o link show xk-in >/dev/null && echo ok') || fail "VirtualEthernetExtra=: $out"
grep -qx ok <<<"$out" || fail "VirtualEthernetExtra=: $out"
out=$(nspawn_run NetworkNamespacePath=/run/netns/lan -- 'ip -o addr show dev eth0') || fail "NetworkNamespacePath=: $out"
grep -q '203\.0\.113\.2/24' <<<"$out" || fail "NetworkNamespacePath=: $out"
out=$(nspawn_run VirtualEthernet=yes Port=8081:80 -- 'ip -4 -o addr show dev host0 | grep -q inet && echo ok; nft list table inet cowpen 2>/dev/null; true') || fail "VirtualEthernet=: $out"
grep -qx ok <<<"$out" || fail "VirtualEthernet=yes: no address: $out"
# -p on the command line, the veth from the file: not a usage error (checked after the merge).
printf '[Network]\nVirtualEthernet=yes\n' >"$COWPEN_IMAGE_ROOT/c.nspawn"
out=$("$COWPEN" run -M c --settings=trusted -p 8083:80 sh -c 'ip -4 -o addr show dev host0 | grep -q inet && echo ok' 2>&1) ||
  fail "-p with the file's VirtualEthernet=yes: $out"
grep -qx ok <<<"$out" || fail "-p with the file's VirtualEthernet=yes: no address: $out"
out=$(nspawn_run Zone=keys -- 'ip -4 -o addr show dev host0 | grep -q inet && echo ok') || fail "Zone=: $out"
grep -qx ok <<<"$out" || fail "Zone=: $out"
check_clean "the .nspawn keys"
pass "Bridge=, MACVLAN=, Interface=, VirtualEthernetExtra=, NetworkNamespacePath=, VirtualEthernet=, Port=, Zone= (trusted)"

# Untrusted (the file next to the image, --settings=yes): the links are ignored with a warning,
# and the container still gets a network namespace of its own, never the host's.
printf '[Network]\nBridge=br-test\nPort=8082:80\n' >"$COWPEN_IMAGE_ROOT/c.nspawn"
out=$("$COWPEN" run -M c sh -c 'ip -o link show | cut -d: -f2 | tr -d " " | tr "\n" " "' 2>&1) || fail "untrusted: $out"
grep -q 'not trusted' <<<"$out" || fail "untrusted Bridge=: no warning: $out"
grep -q 'br-test\|host0' <<<"$out" && fail "untrusted Bridge= was honoured, or the host's network: $out"
grep -q 'lo ' <<<"$out" || fail "untrusted: no loopback: $out"
check_clean "untrusted keys"
pass "network keys of an untrusted file: ignored with a warning, a private network all the same"
