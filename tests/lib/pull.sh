# Helpers for the pull tests and bench/pull.sh: a private nginx on 127.0.0.1 and a private gpg
# key. Source after lib.sh:  . "$TEST_SRCDIR/tests/lib/pull.sh"
#
# start_nginx: serves $NGINX_ROOT (created) on a free port; URL base in $NGINX_URL. Requests are
# logged to $NGINX_LOG as "$status $body_bytes_sent $request_method $uri $http_range". Locations:
#   /pub/...     files under $NGINX_ROOT/pub; rate-limited to $NGINX_ROOT/.rate bytes/s while that
#                file exists (a resume test slows, then un-slows the same URL)
#   /broken/...  always answers 500 (mirror tests)
# make_gpg_key [NAME]: a fresh key in a private GNUPGHOME ($GPG_HOME); its public key exported
# to $GPG_KEYRING; gpg_sign ARGS… runs gpg with that home.

_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_nginx() {
  command -v nginx >/dev/null || fail "nginx missing (scripts/install-deps.sh installs it)"
  make_temp_dir
  local d=$TEMP_DIR port i
  mkdir -p "$d/www/pub" "$d/tmp" "$d/logs"
  NGINX_DIR=$d
  NGINX_ROOT=$d/www
  NGINX_LOG=$d/logs/access.log
  for i in 1 2 3 4 5; do
    port=$(_free_port)
    cat >"$d/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon on;
pid $d/nginx.pid;
error_log $d/logs/error.log;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  log_format pulltest '\$status \$body_bytes_sent \$request_method \$uri "\$http_range"';
  access_log $NGINX_LOG pulltest;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  sendfile on;
  server {
    listen 127.0.0.1:$port;
    root $d/www;
    location /pub/ {
      if (-f $d/www/.rate) { set \$limit_rate 2m; }
    }
    location /broken/ { return 500; }
  }
}
CONF
    if nginx -e "$d/logs/error.log" -p "$d" -c "$d/nginx.conf" 2>"$d/logs/start.log"; then
      at_exit "kill \$(cat '$d/nginx.pid') 2>/dev/null; sleep 0.2"
      NGINX_URL=http://127.0.0.1:$port
      # Wait until it answers.
      for i in $(seq 50); do
        curl -s -o /dev/null "$NGINX_URL/" && return 0
        sleep 0.1
      done
      fail "nginx does not answer on $NGINX_URL"
    fi
    grep -q 'Address already in use' "$d/logs/start.log" || { cat "$d/logs/start.log" >&2; fail "cannot start nginx"; }
  done
  fail "no free port for nginx"
}

# The lines of the access log for one URI path.
nginx_log_for() { grep -F " $1 " "$NGINX_LOG" || true; }

make_gpg_key() {
  local name=${1:-Cowpen Test}
  command -v gpg >/dev/null || fail "gpg missing (scripts/install-deps.sh installs it)"
  make_temp_dir
  GPG_HOME=$TEMP_DIR/gnupg
  mkdir -m 700 "$GPG_HOME"
  at_exit "GNUPGHOME='$GPG_HOME' gpgconf --kill all 2>/dev/null"
  GNUPGHOME=$GPG_HOME gpg --batch --quiet --passphrase '' --quick-gen-key "$name <test@cowpen.invalid>" ed25519 sign never \
    2>/dev/null || fail "cannot generate a gpg key"
  GPG_KEYRING=$TEMP_DIR/pubring.gpg
  GNUPGHOME=$GPG_HOME gpg --batch --export >"$GPG_KEYRING" 2>/dev/null
  [ -s "$GPG_KEYRING" ] || fail "cannot export the gpg key"
  GPG_FPR=$(GNUPGHOME=$GPG_HOME gpg --batch --with-colons --list-keys 2>/dev/null | awk -F: '$1=="fpr"{print $10; exit}')
}

gpg_sign() { GNUPGHOME=$GPG_HOME gpg --batch --yes --quiet "$@"; }

# The rootfs fixture compressed with xz, cached next to it: $ROOTFS_TXZ1 (single block, xz -T1)
# and, with "multi", $ROOTFS_TXZ2 (multi-block, xz -T2, which liblzma can decode in parallel).
rootfs_txz() {
  rootfs_fixture
  # Named after the tarball's identity, so a rebuilt fixture never meets stale compressed forms.
  local id
  id=$(stat -c %i-%s-%Y "$ROOTFS_TAR")
  ROOTFS_TXZ1=${ROOTFS_TAR%.tar}-$id-T1.tar.xz
  ROOTFS_TXZ2=${ROOTFS_TAR%.tar}-$id-T2.tar.xz
  (
    exec 9>"$FIXTURE_CACHE/.lock-xz"
    flock 9
    if [ ! -s "$ROOTFS_TXZ1" ]; then
      xz -T1 -6 -c "$ROOTFS_TAR" >"$ROOTFS_TXZ1.tmp" && mv "$ROOTFS_TXZ1.tmp" "$ROOTFS_TXZ1"
    fi
    if [ "${1:-}" = multi ] && [ ! -s "$ROOTFS_TXZ2" ]; then
      xz -T2 -6 -c "$ROOTFS_TAR" >"$ROOTFS_TXZ2.tmp" && mv "$ROOTFS_TXZ2.tmp" "$ROOTFS_TXZ2"
    fi
  ) || fail "cannot compress the rootfs fixture"
}

# A pulled rootfs must equal the fixture tree, every attribute of every entry below the top.
cmp_rootfs() { must treecmp --no-top "$ROOTFS_DIR" "$1"; }

# start_flaky_server FILE CUT: serves FILE at $FLAKY_URL/FILE-NAME with an ETag and byte ranges;
# the first request gets CUT bytes of the body and then a closed connection. Requests are logged
# to $FLAKY_LOG as "STATUS RANGE-HEADER IF-RANGE-HEADER".
start_flaky_server() {
  local file=$1 cut=$2 i
  make_temp_dir
  FLAKY_LOG=$TEMP_DIR/flaky.log
  local port_file=$TEMP_DIR/port
  python3 - "$file" "$cut" "$FLAKY_LOG" "$port_file" <<'PY' &
import http.server, os, sys, re
path, cut, log, port_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
data = open(path, "rb").read()
etag = '"flaky-%d"' % len(data)
state = {"n": 0}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if not self.path.endswith("/" + os.path.basename(path)):
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
            with open(log, "a") as f: f.write("404 %s\n" % self.path)
            return
        state["n"] += 1
        rng, ifr = self.headers.get("Range"), self.headers.get("If-Range")
        start = 0
        m = re.match(r"bytes=(\d+)-$", rng or "")
        if m and ifr == etag:
            start = int(m.group(1))
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        with open(log, "a") as f: f.write("%d %s %s\n" % (206 if start else 200, rng, ifr))
        if state["n"] == 1:
            self.wfile.write(body[:cut]); self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
  local pid=$!
  at_exit "kill $pid 2>/dev/null"
  for i in $(seq 50); do
    [ -s "$port_file" ] && break
    sleep 0.1
  done
  [ -s "$port_file" ] || fail "the flaky server did not start"
  FLAKY_URL=http://127.0.0.1:$(cat "$port_file")
}

# make_image_root: a temp dir $W holding an empty image root $ROOT ($W/images).
make_image_root() {
  make_temp_dir
  W=$TEMP_DIR
  ROOT=$W/images
  mkdir -p "$ROOT"
}

# publish_rootfs NAME: the rootfs .tar.xz fixture ($ROOTFS_TXZ1) served as $NGINX_ROOT/pub/NAME with
# a SHA256SUMS listing it; sets F (NAME), SIZE (its size) and URL (its address).
publish_rootfs() {
  F=$1
  cp "$ROOTFS_TXZ1" "$NGINX_ROOT/pub/$F"
  (cd "$NGINX_ROOT/pub" && sha256sum "$F" >SHA256SUMS)
  SIZE=$(stat -c %s "$NGINX_ROOT/pub/$F")
  URL=$NGINX_URL/pub/$F
}
