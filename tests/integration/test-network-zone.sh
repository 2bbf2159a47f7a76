#!/bin/bash
# Two containers on --network-zone=ci reach each other by address and by name; the bridge vz-ci
# exists while either runs and is gone after both end; after kill -9 of both cowpen processes the
# next run, or `cowpen clean`, removes the bridge, the rules, dnsmasq and the records.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"
. "$TEST_SRCDIR/tests/lib/net.sh"
net_test_begin "$@"
net_image_root a
cp -a "$COWPEN_IMAGE_ROOT/a" "$COWPEN_IMAGE_ROOT/b"
links_before=$(net_links)

# Each container: its address into /ready, then pings the other (by name, then by address) when
# /go appears, and writes what it saw into /result.
payload='
  ip -4 -o addr show dev host0 | sed "s/.*inet \([0-9.]*\).*/\1/" >/addr
  touch /ready
  while [ ! -e /go ]; do sleep 0.1; done
  other=$(cat /other)
  nslookup "$other" >/lookup 2>&1
  ping -c1 -W2 "$other" >/dev/null && echo by-name >>/result
  ping -c1 -W2 "$(cat /other-addr)" >/dev/null && echo by-address >>/result
  touch /done
  while [ ! -e /stop ]; do sleep 0.1; done'
start_pair() {
  local m
  for m in a b; do
    rm -f "$COWPEN_IMAGE_ROOT/$m"/{ready,go,other,other-addr,result,done,stop,addr,lookup}
    "$COWPEN" run -M "$m" --network-zone=ci sh -c "$payload" &
    eval "pid_$m=\$!"
    at_exit "kill -9 \$pid_$m"
  done
  for m in a b; do wait_until 20 test -e "$COWPEN_IMAGE_ROOT/$m/ready"; done
}
start_pair
ip -o link show vz-ci >/dev/null || fail "no bridge vz-ci while both run"
[ "$(ip -o link show master vz-ci | wc -l)" -eq 2 ] || fail "vz-ci has not two members: $(ip -o link show master vz-ci)"
echo b >"$COWPEN_IMAGE_ROOT/a/other"
echo a >"$COWPEN_IMAGE_ROOT/b/other"
cp "$COWPEN_IMAGE_ROOT/b/addr" "$COWPEN_IMAGE_ROOT/a/other-addr"
cp "$COWPEN_IMAGE_ROOT/a/addr" "$COWPEN_IMAGE_ROOT/b/other-addr"
touch "$COWPEN_IMAGE_ROOT/a/go" "$COWPEN_IMAGE_ROOT/b/go"
for m in a b; do wait_until 20 test -e "$COWPEN_IMAGE_ROOT/$m/done"; done
for m in a b; do
  r=$(cat "$COWPEN_IMAGE_ROOT/$m/result" 2>/dev/null || true)
  grep -qx by-name <<<"$r" || fail "$m does not reach the other by name: $r $(cat "$COWPEN_IMAGE_ROOT/$m/lookup")"
  grep -qx by-address <<<"$r" || fail "$m does not reach the other by address: $r"
done
pass "two containers on zone ci reach each other by address and by name"

touch "$COWPEN_IMAGE_ROOT/a/stop"
wait "$pid_a" || fail "container a failed"
ip -o link show vz-ci >/dev/null || fail "vz-ci gone while b still runs"
touch "$COWPEN_IMAGE_ROOT/b/stop"
wait "$pid_b" || fail "container b failed"
ip -o link show vz-ci >/dev/null 2>&1 && fail "vz-ci left after both ended"
net_links_settle "$links_before" || fail "links left behind: $(net_links)"
[ -z "$(net_cowpen_table)" ] || fail "rules left behind: $(net_cowpen_table)"
[ -z "$(net_records)" ] || fail "records left behind: $(net_records)"
! pgrep -x dnsmasq >/dev/null || fail "dnsmasq left running"
pass "the bridge exists while either runs and is gone after both end"

# kill -9 of both cowpen processes: the containers die with them (their parent-death signal),
# the bridge, rules, dnsmasq and records stay until the next run or clean.
killed_pair() {
  start_pair
  kill -9 "$pid_a" "$pid_b"
  wait "$pid_a" "$pid_b" 2>/dev/null || true
  wait_until 10 sh -c '! ip -o link show master vz-ci | grep -q .'
  ip -o link show vz-ci >/dev/null || fail "vz-ci already gone after kill -9 (nothing to sweep)"
  [ -n "$(net_cowpen_table)" ] || fail "no rules left after kill -9 (nothing to sweep)"
}
leftovers_gone() {
  ip -o link show vz-ci >/dev/null 2>&1 && fail "$1: vz-ci still there"
  net_links_settle "$links_before" || fail "$1: links left behind: $(net_links)"
  [ -z "$(net_cowpen_table)" ] || fail "$1: rules left behind: $(net_cowpen_table)"
  [ -z "$(net_records)" ] || fail "$1: records left behind: $(net_records)"
  ! pgrep -x dnsmasq >/dev/null || fail "$1: dnsmasq left running"
}
killed_pair
must "$COWPEN" clean
leftovers_gone "clean"
pass "after kill -9 of both, clean removes the bridge, rules, dnsmasq and records"

killed_pair
must "$COWPEN" run -M a true
leftovers_gone "the next run"
pass "after kill -9 of both, the next run (even without networking) removes them"
