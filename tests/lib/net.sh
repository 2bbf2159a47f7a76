# Helpers of the networking tests and benchmark (source after lib.sh).
#
# The host must not change: every test runs its whole scenario in network, mount and PID
# namespaces of its own (net_test_enter re-executes the script there), with a /run of its own
# (tmpfs), so that cowpen's runtime records, dnsmasq's files and `ip netns` names stay apart from
# the host's. That namespace is "the host" of the test; "the internet" and "other hosts" are
# further namespaces joined to it with veths (net_make_peer). Whatever runs in there (containers,
# dnsmasq, servers) dies with the test's PID namespace, whatever happens; links, rules and
# sysctls go with its network namespace.

# net_test_enter "$@": at the top of a test, before anything else is made.
net_test_enter() {
  if [ -z "${COWPEN_NET_TEST_INNER:-}" ]; then
    command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
    command -v ip >/dev/null || skip "ip (iproute2) is not installed"
    command -v dnsmasq >/dev/null || skip "dnsmasq is not installed (scripts/packages/net.txt)"
    command -v nft >/dev/null || skip "nft is not installed"
    unshare -n true 2>/dev/null || skip "cannot make network namespaces"
    trap - EXIT
    COWPEN_NET_TEST_INNER=1 exec unshare -n -m -p -f --mount-proc --propagation private bash "$0" "$@"
  fi
  mount -t tmpfs -o mode=0755 tmpfs /run
  ip link set lo up
}

# net_test_begin "$@": net_test_enter, then a temporary directory of the test's, $T.
net_test_begin() {
  net_test_enter "$@"
  make_temp_dir
  T=$TEMP_DIR
}

# net_outside_server NS TEXT: a namespace NS behind the test's host (198.51.100.2, the host
# 198.51.100.1) without a route back to the containers' subnets, so what reaches it must be
# masqueraded, serving TEXT over HTTP on port 80.
net_outside_server() {
  net_make_peer "$1" 198.51.100.2/24 198.51.100.1
  ip -n "$1" route del default
  mkdir -p "$T/www-$1"
  echo "$2" >"$T/www-$1/index.html"
  ip netns exec "$1" busybox httpd -p 80 -h "$T/www-$1"
}

# net_image_root NAME…: $COWPEN_IMAGE_ROOT in $T, with a busybox tree per NAME.
net_image_root() {
  export COWPEN_IMAGE_ROOT=$T/images
  mkdir -p "$COWPEN_IMAGE_ROOT"
  local n
  for n in "$@"; do net_busybox_tree "$COWPEN_IMAGE_ROOT/$n"; done
}

# net_busybox_tree DIR: make_busybox_tree with what the tests use inside: ip, ping, nc, wget,
# httpd, nslookup, udhcpc, timeout, grep, hostname.
net_busybox_tree() {
  make_busybox_tree "$1"
  local a
  for a in ip ping ping6 nc wget httpd nslookup udhcpc timeout grep sed hostname touch rm ifconfig route cut head tr seq; do
    ln -sf busybox "$1/bin/$a"
  done
  # http_get HOST PORT: the body of GET / (busybox nc; the static busybox's wget crashes).
  printf '#!/bin/sh\nprintf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 5 "$1" "$2" | sed "1,/^\\r*$/d"\n' >"$1/bin/http_get"
  chmod 755 "$1/bin/http_get"
}

# net_make_peer NS ADDR4/LEN HOSTADDR4 [ADDR6/LEN HOSTADDR6]: a namespace NS (ip netns, under our
# private /run) joined to the test's host by a veth (host side "to-NS", NS side "eth0"), with
# addresses on both sides, lo up, and a default route back to the host.
net_make_peer() {
  local ns=$1 a4=$2 h4=$3 a6=${4:-} h6=${5:-}
  ip netns add "$ns"
  ip link add "to-$ns" type veth peer name eth0 netns "$ns"
  ip addr add "$h4/${a4#*/}" dev "to-$ns"
  ip -n "$ns" addr add "$a4" dev eth0
  if [ -n "$a6" ]; then
    ip addr add "$h6/${a6#*/}" dev "to-$ns" nodad
    ip -n "$ns" addr add "$a6" dev eth0 nodad
  fi
  ip link set "to-$ns" up
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$h4"
  [ -z "$h6" ] || ip -n "$ns" -6 route add default via "$h6"
}

# wait_until SECONDS CMD…: polls CMD every 0.1 s until it succeeds; fails the test after SECONDS.
wait_until() {
  local t=$1 i
  shift
  for ((i = 0; i < t * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "timed out after ${t}s: $*"
}

# The state a failed setup must not leave behind, and a finished run must have removed.
net_links() { ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort; }
net_cowpen_table() { nft list table inet cowpen 2>/dev/null || true; }
net_records() { find /run/cowpen/network/machines /run/cowpen/network/zones /run/cowpen/network/dnsmasq -type f 2>/dev/null | sort; }
# net_links_settle LIST: the host side of a veth goes with the container's network namespace, which
# the kernel destroys in the background once a run ended (cowpen does not wait for it, as
# systemd-nspawn does not): true once the links are LIST again, false after 10 s.
net_links_settle() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(net_links)" = "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
