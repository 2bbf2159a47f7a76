#!/bin/bash
# -p 8080:80 with a server inside the container: reachable at the host's address from another
# namespace, and at 127.0.0.1:8080 and [::1]:8080 from the host itself, IPv4 and IPv6; gone
# afterwards; `nft list ruleset` shows only cowpen's own table changed (a table of the test's own
# stays as it was). A second container asking for the same port fails, leaving nothing.
# (The udp forward's rule is checked only: busybox's nc has no -u.)
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"
. "$TEST_SRCDIR/tests/lib/net.sh"
net_test_begin "$@"
net_busybox_tree "$T/tree"
mkdir "$T/tree/www"
echo hello-from-the-container >"$T/tree/www/index.html"
net_make_peer other 192.0.2.2/24 192.0.2.1 2001:db8::2/64 2001:db8::1

# Someone else's table, which must stay as it is.
nft add table inet theirs
nft add chain inet theirs input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet theirs input tcp dport 9 counter accept comment '"not cowpen\x27s"'
ruleset_without_cowpen() { nft list ruleset | awk '/^table inet cowpen/ { skip = 1 } !skip { print } skip && /^}/ { skip = 0 }'; }
before=$(ruleset_without_cowpen)
links_before=$(net_links)

get() { busybox nc -w 5 "$1" "$2" < <(printf 'GET / HTTP/1.0\r\n\r\n') 2>/dev/null | sed '1,/^\r*$/d'; }

"$COWPEN" run -D "$T/tree" -M web -n -p 8080:80 -p udp:5353:53 httpd -f -p 80 -h /www &
pid=$!
at_exit "kill $pid"
wait_until 20 bash -c "$(declare -f get); get 127.0.0.1 8080 | grep -q hello"

r=$(get 127.0.0.1 8080); [ "$r" = hello-from-the-container ] || fail "127.0.0.1:8080: $r"
r=$(get ::1 8080); [ "$r" = hello-from-the-container ] || fail "[::1]:8080: $r"
pass "from the host: 127.0.0.1:8080 and [::1]:8080"
r=$(ip netns exec other bash -c "$(declare -f get); get 192.0.2.1 8080"); [ "$r" = hello-from-the-container ] || fail "192.0.2.1:8080 from another namespace: $r"
r=$(ip netns exec other bash -c "$(declare -f get); get 2001:db8::1 8080"); [ "$r" = hello-from-the-container ] || fail "[2001:db8::1]:8080 from another namespace: $r"
pass "from another namespace: the host's IPv4 and IPv6 addresses"
# (Not "nft … | grep -q" under pipefail: grep's early exit can make nft's write fail.)
rules=$(nft list table inet cowpen 2>&1) || fail "nft list table inet cowpen: $rules"
grep -q 'udp dport 5353 dnat ip to 1[07][0-9.]*:53' <<<"$rules" || fail "no DNAT rule for udp:5353: $rules"

# The same port for another container: one line, nothing made for it.
cp -a "$T/tree" "$T/tree2"
links_during=$(net_links)
must_fail 1 "$COWPEN" run -D "$T/tree2" -M web2 -n -p 8080:80 true
assert_one_line_error '^cowpen: run web2: web: tcp port 8080 is forwarded to this container already$'
net_links_settle "$links_during" || fail "the refused run left links: $(net_links)"
[ ! -e /run/cowpen/network/machines/web2 ] || fail "the refused run left a record"
grep -q 'web2' <<<"$(nft list table inet cowpen)" && fail "the refused run left rules"
pass "a port already forwarded by another container: one line, nothing left"

[ "$(ruleset_without_cowpen)" = "$before" ] || fail "tables other than cowpen's changed while running"
kill "$pid"
wait "$pid" 2>/dev/null || true
[ -z "$(net_cowpen_table)" ] || fail "cowpen's table left behind: $(net_cowpen_table)"
[ "$(nft list ruleset)" = "$before" ] || fail "the ruleset differs afterwards: $(nft list ruleset)"
net_links_settle "$links_before" || fail "links left behind: $(net_links)"
r=$(get 127.0.0.1 8080 || true); [ -z "$r" ] || fail "127.0.0.1:8080 still answers"
r=$(get ::1 8080 || true); [ -z "$r" ] || fail "[::1]:8080 still answers"
pass "forwards gone afterwards; nft list ruleset shows only cowpen's own table changed"
