# A CI farm simulated on this machine, for tests/integration/test-oci-farm.sh and bench/oci.sh.
# Source after lib.sh, pull.sh, net.sh and oci.sh, inside net_test_enter's namespaces (nothing
# here touches the host's network namespace).
#
# farm_net N: 10.16.0.1 on the loopback link of the test's namespace, which the registries
#   listen on ($OCI_ADDR, exported: call it before start_registry), and N builder hosts b1…bN,
#   network namespaces joined to it by veths (bI is 10.16.I.2, its default route 10.16.I.1).
# farm_registries: start_registry (the CA), then an open origin registry $ORIGIN and a
#   pull-through cache $CACHE in front of it (docker-registry in proxy mode; start_cache_registry).
# farm_template SRC TAG: an image TAG in $LAYOUT built with umoci from the real tree SRC in three
#   layers (usr/lib; the rest but usr/share; a small job layer that deletes a file), pushed with
#   skopeo to $ORIGIN/farm/template:1. Sets $FARM_REF (the reference the builders pull).
# farm_nginx_cache: a second kind of cache, $NCACHE ($OCI_ADDR:PORT, access log $NCACHE_LOG): nginx
#   as a caching TLS reverse proxy of $ORIGIN (certificate checked with the test's CA). Only the
#   content-addressed blob URLs (/v2/REPO/blobs/sha256:HEX) are cached, keyed on the URI, with
#   proxy_cache_lock: one upstream fetch per key, and concurrent requests for it wait for that
#   fetch to finish (lock timeout and age of 10 minutes, so none gives up and goes to the origin
#   itself); manifests, /v2/ and everything else pass through uncached. Its access log lines:
#   "METHOD URI STATUS CACHE-STATUS USER-AGENT". Stopped at exit.
# farm_blobs [REF]: the blob digests of REF (default $FARM_REF) at the origin (config first, then the layers).
# farm_origin_mark: what the origin's log holds so far is not counted by the next two.
# farm_origin_counts [REF]: for each blob of REF, "DIGEST GET=n HEAD=m FILLS=f": the origin's
#   access log's GETs and HEADs of it, counted apart, and the cache's fills of it.
# farm_origin_agents: who asked the origin for blobs (the user agents).
# farm_in I CMD…: CMD in builder bI's network namespace (nsenter, not `ip netns exec`, which
#   remounts /sys and so hides the cgroup2 hierarchy a container needs).
# FARM_JOB: the job each builder runs in the template (sh -c): it checks the tree and writes
#   its results under /out.

FARM_NET=10.16

farm_net() {
  local n=$1 i
  ip addr add "$FARM_NET.0.1/32" dev lo
  export OCI_ADDR=$FARM_NET.0.1
  for ((i = 1; i <= n; i++)); do
    net_make_peer "b$i" "$FARM_NET.$i.2/24" "$FARM_NET.$i.1"
  done
  FARM_BUILDERS=$n
}

farm_registries() {
  start_registry
  start_cache_registry
}

farm_template() {
  local src=$1 tag=$2
  umoci_new "$tag-0"
  SRC=$src umoci_edit "$tag-0" "$tag-1" 'mkdir -p usr && cp -a "$SRC/usr/lib" usr/'
  SRC=$src umoci_edit "$tag-1" "$tag-2" '
    for e in "$SRC"/* "$SRC"/usr/*; do
      r=${e#"$SRC"/}
      case $r in usr/share) continue ;; esac
      [ -e "$r" ] || [ -L "$r" ] || cp -a "$e" "$r"
    done
    echo doomed >etc/farm-removed'
  umoci_edit "$tag-2" "$tag" 'echo template-1 >etc/farm-template; rm etc/farm-removed'
  must skopeo copy -q --dest-cert-dir "$REG_CERTS" "oci:$LAYOUT:$tag" "docker://$ORIGIN/farm/template:1"
  FARM_REF=$ORIGIN/farm/template:1
}

# farm_template_update TAG NEW: NEW is TAG's first two layers and another top layer (the job
# layer of version 2), pushed as $ORIGIN/farm/template:2.
farm_template_update() {
  umoci_edit "$1-2" "$2" 'echo template-2 >etc/farm-template; rm etc/farm-removed; echo v2 >etc/farm-extra'
  must skopeo copy -q --dest-cert-dir "$REG_CERTS" "oci:$LAYOUT:$2" "docker://$ORIGIN/farm/template:2"
}

farm_nginx_cache() {
  command -v nginx >/dev/null || fail "nginx missing (scripts/install-deps.sh installs scripts/packages/pull.txt)"
  local d=$REG_DIR/nginx port i addr=${OCI_ADDR:-127.0.0.1}
  mkdir -p "$d/cache" "$d/tmp" "$d/logs"
  NCACHE_LOG=$d/logs/access.log
  for i in 1 2 3 4 5; do
    port=$(_free_port)
    cat >"$d/nginx.conf" <<CONF
user root;
worker_processes 2;
daemon on;
pid $d/nginx.pid;
error_log $d/logs/error.log;
events { worker_connections 512; }
http {
  log_format farm '\$request_method \$request_uri \$status \$upstream_cache_status "\$http_user_agent"';
  access_log $NCACHE_LOG farm;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  proxy_cache_path $d/cache levels=1:2 keys_zone=blobs:10m max_size=16g inactive=1d use_temp_path=off;
  server {
    listen $addr:$port ssl;
    ssl_certificate $REG_DIR/server.crt;
    ssl_certificate_key $REG_DIR/server.key;
    proxy_http_version 1.1;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate $REG_CA;
    proxy_ssl_server_name on;
    proxy_read_timeout 10m;
    # The origin sees who asks it: this cache.
    proxy_set_header User-Agent "farm-nginx-cache";
    location ~ "^/v2/.+/blobs/sha256:[0-9a-f]{64}\$" {
      proxy_pass https://$ORIGIN;
      proxy_buffering on;
      proxy_cache blobs;
      proxy_cache_key \$uri;
      proxy_cache_methods GET HEAD;
      proxy_cache_valid 200 1d;
      proxy_ignore_headers Cache-Control Expires Set-Cookie;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 10m;
      proxy_cache_lock_age 10m;
    }
    location / {
      proxy_pass https://$ORIGIN;
      proxy_buffering off;
    }
  }
}
CONF
    if nginx -e "$d/logs/error.log" -p "$d" -c "$d/nginx.conf" 2>"$d/logs/start.log"; then
      at_exit "kill \$(cat '$d/nginx.pid') 2>/dev/null; sleep 0.2"
      NCACHE=$addr:$port
      for _ in $(seq 50); do
        curl -s -o /dev/null --cacert "$REG_CA" "https://$NCACHE/v2/" && break
        sleep 0.1
      done
      curl -sf -o /dev/null --cacert "$REG_CA" "https://$NCACHE/v2/" || fail "the nginx cache does not answer on $NCACHE: $(cat "$d/logs/error.log")"
      mkdir -p "$REG_DIR/certs.d/$NCACHE"
      cp "$REG_CA" "$REG_DIR/certs.d/$NCACHE/ca.crt"
      return 0
    fi
    grep -q 'Address already in use' "$d/logs/start.log" || { cat "$d/logs/start.log" >&2; fail "cannot start nginx"; }
  done
  fail "no free port for the nginx cache"
}

farm_blobs() {
  skopeo inspect --raw --cert-dir "$REG_CERTS" "docker://${1:-$FARM_REF}" |
    python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["config"]["digest"]); [print(l["digest"]) for l in m["layers"]]'
}

farm_in() {
  local i=$1
  shift
  nsenter --net="/run/netns/b$i" "$@"
}

# The origin's access log lines are Apache combined format:
#   IP - - [date] "METHOD /v2/REPO/blobs/sha256:… HTTP/1.1" STATUS BYTES "" "USER-AGENT"
FARM_LOG_FROM=0
farm_origin_mark() { FARM_LOG_FROM=$(wc -l <"$ORIGIN_LOG"); }
_farm_origin_log() { tail -n +"$((FARM_LOG_FROM + 1))" "$ORIGIN_LOG"; }
farm_origin_counts() {
  local b g h
  for b in $(farm_blobs "$@"); do
    g=$(_farm_origin_log | grep -cE "\"GET /v2/[^ ]*/blobs/$b " || true)
    h=$(_farm_origin_log | grep -cE "\"HEAD /v2/[^ ]*/blobs/$b " || true)
    echo "$b GET=$g HEAD=$h FILLS=$(farm_cache_fills "$b")"
  done
}

# farm_cache_fills DIGEST: how often the cache filled its store with DIGEST from the origin: its
# proxy logs "Adding new scheduler entry for REPO@DIGEST" after each fill (ServeBlob's storeLocal
# goroutine; manifests have entries of their own, under their own digests).
farm_cache_fills() { grep -ac "Adding new scheduler entry for [^ ]*@$1 " "$CACHE_LOG" || true; }

# farm_origin_agents: the distinct user agents of the origin's blob requests.
farm_origin_agents() {
  _farm_origin_log | grep -E '"(GET|HEAD) /v2/[^ ]*/blobs/' | sed -E 's/.*"([^"]*)"$/\1/' | sort -u
}

# shellcheck disable=SC2016
FARM_JOB='set -e
test "$(cat /etc/farm-template)" = "$TEMPLATE"
test ! -e /etc/farm-removed
test -x /usr/bin/dash
sha256sum /usr/bin/dash /usr/lib/x86_64-linux-gnu/libc.so.6 >/out/sums
ls /usr/bin | wc -l >/out/bin-count
echo "job done on $BUILDER" >/out/done'
