# Helpers for the OCI tests and bench/oci.sh: a private registry (Debian's docker-registry, CNCF
# distribution 2.8) on 127.0.0.1 with TLS (a CA made here) and htpasswd auth, images built with
# umoci in an OCI layout and pushed with skopeo. Source after lib.sh and pull.sh.
#
# start_registry: a registry on a free port: $REG (127.0.0.1:PORT), its storage $REG_STORAGE,
#   access log $REG_LOG, CA $REG_CA, client cert dir for skopeo $REG_CERTS, certs.d for cowpen
#   $COWPEN_CERTS_D (exported), credentials $REG_USER:$REG_PASS and an auth.json $REG_AUTH.
# oci_layout: a fresh OCI layout $LAYOUT (umoci init).
# umoci_new TAG / umoci_edit FROM TO SCRIPT: images in $LAYOUT; SCRIPT runs in the unpacked rootfs.
# umoci_add_layer FROM TO TAR: TO is FROM plus TAR as one more layer (as given, hostile or not).
# skopeo_push TAG REPO:TAG [skopeo options]: $LAYOUT:TAG to the registry.
# umoci_rootfs TAG DIR: DIR/rootfs is umoci's unpack of TAG (the reference tree).

oci_need_tools() {
  local t
  for t in docker-registry skopeo umoci htpasswd openssl python3; do
    command -v "$t" >/dev/null || fail "$t missing (scripts/install-deps.sh installs scripts/packages/oci.txt)"
  done
}

# $OCI_ADDR (default 127.0.0.1): the address the registries listen on and their certificate names
# (the farm test sets one inside its own network namespace, before start_registry).
#
# _registry_serve DIR MODE: a docker-registry with its storage in DIR/storage and log DIR/registry.log
# on a free port of $OCI_ADDR (TLS with $REG_DIR's certificate); MODE: auth (htpasswd), open, or
# proxy=URL (a pull-through cache of URL, which must not need credentials: distribution 2.8's proxy
# logs in only to token-auth registries). Sets $SERVED ($OCI_ADDR:PORT).
_registry_serve() {
  local d=$1 mode=$2 port i extra= addr=${OCI_ADDR:-127.0.0.1}
  mkdir -p "$d/storage"
  case $mode in
    auth) extra=$(printf 'auth:\n  htpasswd:\n    realm: cowpen-test\n    path: %s\n' "$REG_DIR/htpasswd") ;;
    open) ;;
    proxy=*) extra=$(printf 'proxy:\n  remoteurl: %s\n' "${mode#proxy=}") ;;
  esac
  for i in 1 2 3 4 5; do
    port=$(_free_port)
    SERVED=$addr:$port
    cat >"$d/config.yml" <<YML
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $d/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $addr:$port
  tls:
    certificate: $REG_DIR/server.crt
    key: $REG_DIR/server.key
$extra
YML
    # A proxy trusts its origin's certificate through our CA (Go reads SSL_CERT_FILE).
    SSL_CERT_FILE=$REG_CA docker-registry serve "$d/config.yml" >"$d/registry.log" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do
      curl -s -o /dev/null --cacert "$REG_CA" "https://$SERVED/v2/" && break
      kill -0 $pid 2>/dev/null || break
      sleep 0.1
    done
    if curl -s -o /dev/null --cacert "$REG_CA" "https://$SERVED/v2/"; then
      at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
      mkdir -p "$REG_DIR/certs.d/$SERVED"
      cp "$REG_CA" "$REG_DIR/certs.d/$SERVED/ca.crt"
      return 0
    fi
    kill $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
  done
  cat "$d/registry.log" >&2
  fail "docker-registry ($mode) did not start"
}

start_registry() {
  oci_need_tools
  make_temp_dir
  local d=$TEMP_DIR
  mkdir -p "$d/certs.d" "$d/skopeo-certs"
  REG_DIR=$d
  REG_USER=cowpen
  REG_PASS=secret-$RANDOM$RANDOM
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cowpen-test-ca -keyout "$d/ca.key" \
    -out "$d/ca.crt" 2>/dev/null || fail "openssl: CA"
  local addr=${OCI_ADDR:-127.0.0.1}
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$addr" -keyout "$d/server.key" -out "$d/server.csr" \
    2>/dev/null || fail "openssl: CSR"
  printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\n' "$addr" >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile "$d/ext.cnf" -out "$d/server.crt" 2>/dev/null || fail "openssl: server cert"
  REG_CA=$d/ca.crt
  cp "$d/ca.crt" "$d/skopeo-certs/ca.crt"
  REG_CERTS=$d/skopeo-certs
  htpasswd -Bbc "$d/htpasswd" "$REG_USER" "$REG_PASS" 2>/dev/null || fail "htpasswd"
  export COWPEN_CERTS_D=$d/certs.d
  _registry_serve "$d/main" auth
  REG=$SERVED
  REG_STORAGE=$d/main/storage
  REG_LOG=$d/main/registry.log
  REG_AUTH=$d/auth.json
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" >"$REG_AUTH"
}

# start_cache_registry: an open origin registry ($ORIGIN, log $ORIGIN_LOG) and a pull-through
# cache in front of it ($CACHE, log $CACHE_LOG), both docker-registry.
start_cache_registry() {
  _registry_serve "$REG_DIR/origin" open
  ORIGIN=$SERVED
  ORIGIN_LOG=$REG_DIR/origin/registry.log
  _registry_serve "$REG_DIR/cache" "proxy=https://$ORIGIN"
  CACHE=$SERVED
  CACHE_LOG=$REG_DIR/cache/registry.log
}

# Blob GETs of the registry's access log (one line per request).
reg_blob_gets() { grep -E '"GET /v2/[^ ]*/blobs/sha256:[0-9a-f]+ ' "$REG_LOG" | grep -oE 'sha256:[0-9a-f]{64}' || true; }

oci_layout() {
  make_temp_dir
  LAYOUT=$TEMP_DIR/layout
  OCI_WORK=$TEMP_DIR
  must umoci init --layout "$LAYOUT"
}

umoci_new() {
  must umoci new --image "$LAYOUT:$1"
}

# umoci_edit FROM TO SCRIPT: unpack FROM, run SCRIPT (bash) in its rootfs, repack as TO.
umoci_edit() {
  local from=$1 to=$2 script=$3 b
  b=$(mktemp -d "$OCI_WORK/bundle.XXXXXX")
  rmdir "$b"
  must umoci unpack --image "$LAYOUT:$from" "$b" >/dev/null
  (cd "$b/rootfs" && bash -euc "$script") || fail "umoci_edit script failed"
  if [ "$from" != "$to" ]; then
    must umoci tag --image "$LAYOUT:$from" "$to"
  fi
  must umoci repack --image "$LAYOUT:$to" "$b" >/dev/null
  rm -rf "$b"
}

umoci_add_layer() {
  local from=$1 to=$2 tar=$3
  must umoci tag --image "$LAYOUT:$from" "$to"
  must umoci raw add-layer --image "$LAYOUT:$to" "$tar"
}

umoci_rootfs() {
  must umoci unpack --image "$LAYOUT:$1" "$2" >/dev/null
}

skopeo_push() {
  local tag=$1 dest=$2
  shift 2
  must skopeo copy -q --dest-creds "$REG_USER:$REG_PASS" --dest-cert-dir "$REG_CERTS" "$@" \
    "oci:$LAYOUT:$tag" "docker://$REG/$dest"
}

# The layer store's contents, for before/after comparisons.
oci_store_list() { (cd "$1" && find .#oci -mindepth 2 -maxdepth 2 ! -name lock 2>/dev/null | sort) || true; }

# oci_make_index NEW TAG:OS/ARCH… : an image index NEW in $LAYOUT holding the manifests of the
# given tags with those platforms.
oci_make_index() {
  local new=$1
  shift
  python3 - "$LAYOUT" "$new" "$@" <<'PY' || fail "oci_make_index"
import hashlib, json, os, sys
lay, new, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
ipath = os.path.join(lay, "index.json")
idx = json.load(open(ipath))
def ref(d): return d.get("annotations", {}).get("org.opencontainers.image.ref.name")
ms = []
for s in specs:
    tag, plat = s.split(":")
    os_, arch = plat.split("/", 1)
    d = dict([x for x in idx["manifests"] if ref(x) == tag][0])
    d.pop("annotations", None)
    d["platform"] = {"os": os_, "architecture": arch}
    ms.append(d)
body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ms}).encode()
dg = hashlib.sha256(body).hexdigest()
open(os.path.join(lay, "blobs", "sha256", dg), "wb").write(body)
idx["manifests"] = [x for x in idx["manifests"] if ref(x) != new]
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + dg,
                         "size": len(body), "annotations": {"org.opencontainers.image.ref.name": new}})
json.dump(idx, open(ipath, "w"))
PY
}

