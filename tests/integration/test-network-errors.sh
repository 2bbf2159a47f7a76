#!/bin/bash
# Errors, one line each, and nothing left behind (no link, bridge, rule, lease, dnsmasq): an
# interface that does not exist, a bridge that is not a bridge, a port already forwarded by another
# container (test-network-port), an invalid port spec, the kernel lacking a link type (ipvlan where
# the kernel has none), the pool exhausted ($COWPEN_NETWORK_POOL); and the usage errors (exit 2).
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"
. "$TEST_SRCDIR/tests/lib/net.sh"
net_test_begin "$@"
net_busybox_tree "$T/tree"
ip link add notabridge type veth peer name notabridge-p
links_before=$(net_links)

nothing_left() {
  net_links_settle "$links_before" || fail "$1: links left behind: $(net_links)"
  [ -z "$(net_cowpen_table)" ] || fail "$1: rules left behind: $(net_cowpen_table)"
  [ -z "$(net_records)" ] || fail "$1: records (leases) left behind: $(net_records)"
  ! pgrep -x dnsmasq >/dev/null || fail "$1: dnsmasq left running"
}

must_fail 1 "$COWPEN" run -D "$T/tree" -M c --network-interface=nosuch0 true
assert_one_line_error '^cowpen: run c: nosuch0: .*(no such interface|No such device|does not exist)'
nothing_left "a missing interface"
must_fail 1 "$COWPEN" run -D "$T/tree" -M c -n --network-macvlan=nosuch1 true
assert_one_line_error '^cowpen: run c: nosuch1: .*(no such interface|No such device|does not exist)'
nothing_left "a missing macvlan parent (after -n made its veth)"
pass "an interface that does not exist"

must_fail 1 "$COWPEN" run -D "$T/tree" -M c --network-bridge=notabridge true
assert_one_line_error '^cowpen: run c: notabridge: .*not a bridge'
nothing_left "a bridge that is not a bridge"
must_fail 1 "$COWPEN" run -D "$T/tree" -M c --network-bridge=nobridge0 true
assert_one_line_error '^cowpen: run c: nobridge0: '
nothing_left "a bridge that does not exist"
pass "a bridge that is not a bridge, or none"

if ip link add iv-probe link notabridge type ipvlan mode l2 2>/dev/null; then
  ip link del iv-probe
  log "this kernel has ipvlan: the missing link type is not checked"
else
  must_fail 1 "$COWPEN" run -D "$T/tree" -M c -n --network-ipvlan=notabridge true
  assert_one_line_error '^cowpen: run c: .*ipvlan'
  nothing_left "a link type the kernel lacks"
  pass "the kernel lacking a link type (ipvlan)"
fi

for spec in 0 65536 tcp: sctp:80 80:0 abc 80:81:82 -1; do
  must_fail 2 "$COWPEN" run -D "$T/tree" -M c -n -p "$spec" true
  assert_one_line_error "^cowpen: run: invalid --port value \"$spec\""
done
nothing_left "an invalid port spec"
pass "an invalid port spec: one line, exit status 2"

must_fail 2 "$COWPEN" run -D "$T/tree" -M c --network-bridge=br0 --network-zone=z true
assert_one_line_error '^cowpen: run: --network-bridge= and --network-zone= may not be combined$'
must_fail 2 "$COWPEN" run -D "$T/tree" -M c --network-bridge=br0 -p 80 true
assert_one_line_error '^cowpen: run: --port= needs'
# -p alone: no settings file gives it a link either (test-network-links: one that does).
must_fail 2 "$COWPEN" run -D "$T/tree" -M c -p 80 true
assert_one_line_error '^cowpen: run: --port= needs'
must_fail 2 "$COWPEN" run -D "$T/tree" -M c --network-address=maybe true
assert_one_line_error '^cowpen: run: invalid --network-address value "maybe"'
must_fail 2 "$COWPEN" run -D "$T/tree" -M c --network-interface=way-too-long-a-name true
assert_one_line_error '^cowpen: run: invalid --network-interface value "way-too-long-a-name": invalid interface name'
must_fail 2 "$COWPEN" run -D "$T/tree" -M c --network-namespace-path=relative true
assert_one_line_error '^cowpen: run: --network-namespace-path=relative: not an absolute path$'
must_fail 1 "$COWPEN" run -D "$T/tree" -M c --network-namespace-path=/etc/hostname true
assert_one_line_error '^cowpen: run c: /etc/hostname: .*not a network namespace$'
nothing_left "usage errors"
pass "usage errors: one line, exit status 2"

# The pool exhausted: one /24 for everything; a zone takes it, a veth then finds none.
export COWPEN_NETWORK_POOL=10.213.7.0/24
cp -a "$T/tree" "$T/tree2"
"$COWPEN" run -D "$T/tree2" -M z1 --network-zone=full sh -c 'touch /up; sleep 60' &
pid=$!
at_exit "kill $pid"
wait_until 10 test -e "$T/tree2/up"
links_during=$(net_links)
table_during=$(net_cowpen_table)
must_fail 1 "$COWPEN" run -D "$T/tree" -M c -n true
assert_one_line_error '^cowpen: run c: .*address pool exhausted'
net_links_settle "$links_during" || fail "the exhausted pool left links: $(net_links)"
[ "$(net_cowpen_table)" = "$table_during" ] || fail "the exhausted pool left rules"
[ ! -e /run/cowpen/network/machines/c ] || fail "the exhausted pool left a lease"
kill "$pid"
wait "$pid" 2>/dev/null || true
nothing_left "the pool exhausted"
pass "the pool exhausted: one line, nothing left"
