#!/bin/bash
# run -n: inside, host0 has an address and a default route; the container reaches the host side
# (its dnsmasq answers DNS too) and a server in a separate "internet" namespace routed through the
# host and masqueraded; everything is gone afterwards. --network-address=none: a link, no address.
# A run without networking maps neither libnftables nor libmnl. All in namespaces of the test's own.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"
. "$TEST_SRCDIR/tests/lib/net.sh"
net_test_begin "$@"
net_busybox_tree "$T/tree"

# "The internet": a namespace behind the host, which has no route to the container's subnet (what
# reaches it must be masqueraded as the host's 198.51.100.1).
net_outside_server inet hello-from-inet
links_before=$(net_links)

out=$("$COWPEN" run -D "$T/tree" -M c1 -n sh -c '
  ip -4 -o addr show dev host0
  ip route | grep ^default
  gw=$(ip route | grep ^default | cut -d" " -f3)
  echo "gateway $gw"
  ping -c1 -W2 "$gw" >/dev/null && echo host-side-reached
  cat /etc/resolv.conf
  nslookup c1 "$gw" 2>&1 | grep -q "Address.*10\." && echo dns-answers
  http_get 198.51.100.2 80') || fail "run -n failed: $out"
log "$out"
grep -q 'host0 *inet 1[07]\.[0-9.]*/31' <<<"$out" || fail "host0 has no /31 address: $out"
grep -q '^default via .* dev host0' <<<"$out" || fail "no default route via host0: $out"
grep -qx host-side-reached <<<"$out" || fail "the host side does not answer: $out"
gw=$(sed -n 's/^gateway //p' <<<"$out")
grep -qx "nameserver $gw" <<<"$out" || fail "resolv.conf does not point at the host side ($gw): $out"
grep -qx dns-answers <<<"$out" || fail "the host side's dnsmasq does not answer for the machine's name: $out"
grep -qx hello-from-inet <<<"$out" || fail "the internet namespace is not reachable: $out"
pass "run -n: address, default route, host side, DNS, the internet (routed, masqueraded)"

net_links_settle "$links_before" || fail "links left behind: $(net_links)"
[ -z "$(net_cowpen_table)" ] || fail "cowpen's nft table left behind: $(net_cowpen_table)"
[ -z "$(net_records)" ] || fail "records left behind: $(net_records)"
! pgrep -x dnsmasq >/dev/null || fail "dnsmasq left running"
pass "run -n leaves no link, rule, record or dnsmasq behind"

out=$("$COWPEN" run -D "$T/tree" -M c1 -n --network-address=none sh -c 'ip -o link show host0; ip -o addr show dev host0 scope global; ip route | grep ^default; cat /etc/resolv.conf 2>/dev/null; true') || fail "run --network-address=none failed: $out"
log "$out"
grep -q 'host0' <<<"$out" || fail "no host0 with --network-address=none: $out"
grep -q 'inet' <<<"$out" && fail "host0 has a global address with --network-address=none: $out"
grep -q default <<<"$out" && fail "a default route with --network-address=none: $out"
# No address, no dnsmasq: no cowpen resolver in resolv.conf, also not the copy the -n run above
# left in this (writable) tree; --resolv-conf=auto then does as with --private-network.
grep -q -e '^# cowpen' -e '^nameserver' <<<"$out" && fail "a cowpen resolver in resolv.conf with --network-address=none: $out"
[ -e "$T/tree/etc/resolv.conf" ] && fail "the earlier run's cowpen resolv.conf is still in the tree"
[ -z "$(net_cowpen_table)" ] || fail "--network-address=none made nft rules"
pass "--network-address=none: a link, no address, no cowpen resolver in resolv.conf"

# The library check: a run without networking maps neither libnftables nor libmnl; with -n it
# loads them (dlopen()ed, not linked).
readelf -d "$COWPEN" | grep -Eq 'NEEDED.*\[lib(nftables|mnl)\.' && fail "cowpen links libnftables or libmnl (DT_NEEDED)"
"$COWPEN" run -D "$T/tree" -M c2 sleep 60 &
pid=$!
at_exit "kill $pid"
wait_until 10 pgrep -P "$pid" -x sleep
maps=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$pid/maps" | sort -u)
grep -Eq 'lib(nftables|mnl|nftnl)\.so' <<<"$maps" && fail "run without networking maps: $maps"
kill "$pid"
wait "$pid" 2>/dev/null || true
"$COWPEN" run -D "$T/tree" -M c2 -n sleep 60 &
pid=$!
at_exit "kill $pid"
wait_until 10 pgrep -P "$pid" -x sleep
maps=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$pid/maps" | sort -u)
grep -q 'libnftables\.so' <<<"$maps" || fail "run -n does not map libnftables: $maps"
kill "$pid"
wait "$pid" 2>/dev/null || true
pass "a run without networking maps neither libnftables nor libmnl; -n loads them"
