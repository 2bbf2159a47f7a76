#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run --oci-bundle=DIR of a bundle made by `umoci unpack`: its process args, env, cwd and user
# (numeric, with additionalGids), hostname, root.readonly, a bind mount and a masked path of
# config.json; the command line wins. Every field run cannot honour is refused with one line
# naming it and nothing runs; hostile config.json (huge, deeply nested, root.path leaving the
# bundle through ".." or a symlink) likewise.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"
. "$TEST_SRCDIR/tests/lib/oci.sh"

command -v umoci >/dev/null || fail "umoci missing (scripts/install-deps.sh installs scripts/packages/oci.txt)"
command -v python3 >/dev/null || fail "python3 missing"
oci_layout
W=$OCI_WORK
make_busybox_tree "$W/bb"
printf 'app:x:1234:1234:app:/home/app:/bin/sh\n' >>"$W/bb/etc/passwd"
printf 'app:x:1234:\nextra:x:2345:app\n' >>"$W/bb/etc/group"
mkdir -p "$W/bb/srv/work" "$W/bb/home/app" "$W/bb/mnt/data" "$W/bb/secret"
echo top-secret >"$W/bb/secret/file"
for a in pwd hostname touch grep; do ln -sf busybox "$W/bb/bin/$a"; done
umoci_new bb
SRC=$W/bb umoci_edit bb bb 'cp -a "$SRC/." .'
must umoci config --image "$LAYOUT:bb" --config.entrypoint /bin/sh --config.entrypoint -c \
  --config.cmd 'echo "foo=$FOO bar=$BAR cwd=$(pwd) uid=$(id -u) gid=$(id -g) groups=$(id -G)"' \
  --config.env FOO=from-bundle --config.env BAR=bundle-bar --config.workingdir /srv/work \
  --config.user app
B=$W/bundle
must umoci unpack --image "$LAYOUT:bb" "$B" >/dev/null
[ -f "$B/config.json" ] && [ -d "$B/rootfs" ] || fail "umoci unpack made no bundle"
cp "$B/config.json" "$W/config.orig.json"

run() { "$COWPEN" run -q --register=no "$@" 2>&1; }
# edit PYTHON: rewrites config.json from the original with the expression applied to c.
edit() {
  python3 - "$W/config.orig.json" "$B/config.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"))
PY
}

out=$(run --oci-bundle="$B") || fail "run --oci-bundle: $out"
want="foo=from-bundle bar=bundle-bar cwd=/srv/work uid=1234 gid=1234 groups=1234 2345"
[ "$(printf '%s\n' "$out" | tail -1)" = "$want" ] || fail "process not honoured: $out (want: $want)"
pass "umoci bundle: process args, env, cwd, user uid/gid/additionalGids"

out=$(run --oci-bundle="$B" -E FOO=cli --chdir=/tmp --user=root) || fail "run with overrides: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = "foo=cli bar=bundle-bar cwd=/tmp uid=0 gid=0 groups=0" ] || fail "command line did not win: $out"
out=$(run --oci-bundle="$B" /bin/hostname) || fail "run with a command: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = "umoci-default" ] || fail "hostname of config.json not set, or command did not win: $out"
pass "the command line wins (-E, --chdir, --user, a command); hostname from config.json"

# umoci's defaults: rlimits (NOFILE 1024), noNewPrivileges, the bounding set of three (and the
# same ambient set); oomScoreAdj added here.
edit 'c["process"]["oomScoreAdj"] = 123; c["process"]["user"] = {"uid": 0, "gid": 0}
c["process"]["args"] = ["/bin/sh", "-c", "echo nofile=$(ulimit -n) oom=$(cat /proc/self/oom_score_adj) $(grep -E \"^(CapBnd|CapAmb|NoNewPrivs)\" /proc/self/status | tr -s \"\\t\" \" \" | tr \"\\n\" \" \")"]'
out=$(run --oci-bundle="$B") || fail "process settings: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = "nofile=1024 oom=123 CapBnd: 0000000020000420 CapAmb: 0000000020000420 NoNewPrivs: 1" ] ||
  fail "rlimits, oomScoreAdj, noNewPrivileges or capabilities not honoured: $out"
out=$(run --oci-bundle="$B" --capability=CAP_SYS_ADMIN --rlimit=NOFILE=77 --no-new-privileges=no) || fail "process settings, overridden: $out"
# --capability= gives run's default bounding set plus CAP_SYS_ADMIN (bit 21), not the bundle's.
last=$(printf '%s\n' "$out" | tail -1)
bnd=$(printf '%s\n' "$last" | sed -n 's/.*CapBnd: \([0-9a-f]*\).*/\1/p')
[[ $last == "nofile=77 oom=123 CapBnd: "*" CapAmb: 0000000020000420 NoNewPrivs: 0" ]] && [ -n "$bnd" ] &&
  (( (0x$bnd >> 21) & 1 )) && [ "$bnd" != 0000000020000420 ] || fail "the command line did not win: $out"
pass "process.rlimits, oomScoreAdj, noNewPrivileges, capabilities.bounding/ambient"

# The user as numbers only: no passwd entry needed.
edit 'c["process"]["user"] = {"uid": 4321, "gid": 5432, "additionalGids": [6543, 7654]}'
out=$(run --oci-bundle="$B") || fail "numeric user: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = "foo=from-bundle bar=bundle-bar cwd=/srv/work uid=4321 gid=5432 groups=5432 6543 7654" ] ||
  fail "numeric user not honoured: $out"
pass "process.user as numbers without a passwd entry"

# root.readonly: the payload cannot write the root.
edit 'c["root"]["readonly"] = True; c["process"]["args"] = ["/bin/sh", "-c", "touch /srv/work/x && echo wrote || echo refused"]'
out=$(run --oci-bundle="$B") || fail "readonly root: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = refused ] || fail "root.readonly not honoured: $out"
[ ! -e "$B/rootfs/srv/work/x" ] || fail "readonly root was written"
pass "root.readonly"

# A bind mount (read-only, a source relative to the bundle) and a masked path.
mkdir -p "$B/data"
echo from-host >"$B/data/f"
edit 'c["mounts"].append({"destination": "/mnt/data", "type": "bind", "source": "data", "options": ["rbind", "ro"]})
c["linux"]["maskedPaths"].append("/secret/file")
c["process"]["args"] = ["/bin/sh", "-c", "cat /mnt/data/f; touch /mnt/data/g 2>/dev/null && echo bind-rw || echo bind-ro; echo secret=$(cat /secret/file 2>/dev/null)"]'
out=$(run --oci-bundle="$B") || fail "bind and mask: $out"
[ "$(printf '%s\n' "$out" | tail -3 | tr '\n' ' ')" = "from-host bind-ro secret= " ] || fail "bind or masked path not honoured: $out"
[ ! -e "$B/data/g" ] || fail "read-only bind was written"
pass "mounts: a read-only bind from the bundle; linux.maskedPaths"

# user namespace with one contiguous range: --private-users=BASE:RANGE.
edit 'c["linux"]["namespaces"].append({"type": "user"})
c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1811939328, "size": 65536}]
c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1811939328, "size": 65536}]
c["process"]["user"] = {"uid": 0, "gid": 0}
c["process"]["args"] = ["/bin/cat", "/proc/self/uid_map"]'
out=$(run --oci-bundle="$B" --private-users-ownership=auto) || fail "user namespace: $out"
[ "$(printf '%s\n' "$out" | tail -1 | tr -s ' ' | sed 's/^ //')" = "0 1811939328 65536" ] || fail "uidMappings not honoured: $out"
pass "linux.namespaces user with uidMappings/gidMappings as --private-users=BASE:RANGE"
# Leave the tree owned by root again for the next runs (the ownership was mapped, or chowned).
if [ "$(stat -c %u "$B/rootfs/bin")" != 0 ]; then chown -R 0:0 "$B/rootfs"; fi

# linux.namespaces network: umoci's (no path) is a private network with only lo; with a path, that
# namespace is joined (one the test makes, bound on a file of its own).
edit 'c["process"]["args"] = ["/bin/sh", "-c", "readlink /proc/self/ns/net; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d \" \" | tr \"\\n\" \" \""]'
out=$(run --oci-bundle="$B") || fail "private network: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = "lo " ] || fail "linux.namespaces network did not give a private network: $out"
[ "$(printf '%s\n' "$out" | tail -2 | head -1)" != "$(readlink /proc/self/ns/net)" ] || fail "the host's network namespace: $out"
touch "$W/netns"
unshare --net="$W/netns" true || skip "cannot make a persistent network namespace (unshare --net=FILE)"
at_exit "umount '$W/netns' 2>/dev/null"
edit 'c["linux"]["namespaces"] = [{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": "'"$W/netns"'"}]
c["process"]["args"] = ["/bin/readlink", "/proc/self/ns/net"]'
out=$(run --oci-bundle="$B") || fail "network namespace path: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = "net:[$(stat -L -c %i "$W/netns")]" ] || fail "linux.namespaces network path not joined: $out"
pass "linux.namespaces network: private (no path), joined (path)"

# Unsupported fields: one line naming the field, nothing runs.
refuse() { # PYTHON REGEX
  edit "$1
c['process']['args'] = ['/bin/touch', '/ran']"
  rm -f "$B/rootfs/ran"
  must_fail "$COWPEN" run -q --register=no --oci-bundle="$B"
  assert_one_line_error "$2"
  log "  $ERR"
  [ ! -e "$B/rootfs/ran" ] || fail "the payload ran despite: $ERR"
}
refuse 'c["linux"]["resources"]["memory"] = {"limit": 1000000}' 'config\.json: linux\.resources\.memory is not supported$'
refuse 'c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"})' 'config\.json: linux\.resources\.devices is not supported$'
refuse 'c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}' 'config\.json: linux\.sysctl is not supported$'
refuse 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW"}' 'config\.json: linux\.seccomp is not supported$'
refuse 'c["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]' 'config\.json: linux\.devices is not supported$'
refuse 'c["hooks"] = {"prestart": [{"path": "/bin/true"}]}' 'config\.json: hooks is not supported$'
refuse 'c["process"]["apparmorProfile"] = "docker-default"' 'config\.json: process\.apparmorProfile is not supported$'
refuse 'c["linux"]["cgroupsPath"] = "/foo"' 'config\.json: linux\.cgroupsPath is not supported$'
refuse 'c["linux"]["namespaces"].append({"type": "time"})' 'config\.json: linux\.namespaces\[time\] is not supported$'
refuse 'c["linux"]["namespaces"] = [{"type": "pid", "path": "/proc/1/ns/pid"}]' 'config\.json: linux\.namespaces\[pid\]\.path is not supported$'
refuse 'c["mounts"].append({"destination": "/mnt/data", "type": "nfs", "source": "h:/x"})' 'config\.json: mounts\[7\]: type "nfs" at /mnt/data is not supported$'
refuse 'c["linux"]["namespaces"].append({"type": "user"}); c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1000}, {"containerID": 1000, "hostID": 300000, "size": 1000}]; c["linux"]["gidMappings"] = c["linux"]["uidMappings"]' 'config\.json: linux\.uidMappings other than one range is not supported$'
refuse 'c["process"]["user"]["umask"] = 63' 'config\.json: process\.user\.umask other than 0022 is not supported$'
refuse 'c["linux"]["namespaces"] = [{"type": "mount"}]' 'config\.json: linux\.namespaces without pid is not supported$'
refuse 'c["mounts"].append({"destination": "/mnt/data", "type": "bind", "source": "/tmp", "options": ["rbind", "nosuid"]})' 'config\.json: mounts\[7\]\.options "nosuid" is not supported$'
refuse 'c["ociVersion"] = "2.0.0"' 'config\.json: ociVersion other than 1\.x is not supported$'
pass "unsupported fields refused with one line each, nothing ran"

# Unknown fields and annotations are ignored, as the spec says.
edit 'c["somethingNew"] = {"x": 1}; c["process"]["futureField"] = True; c["annotations"]["a"] = "b"; c["process"]["args"] = ["/bin/echo", "ignored-ok"]'
out=$(run --oci-bundle="$B") || fail "unknown fields: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = ignored-ok ] || fail "unknown fields not ignored: $out"
pass "unknown fields and annotations ignored"

# Hostile config.json.
hostile() { # REGEX
  rm -f "$B/rootfs/ran"
  must_fail "$COWPEN" run -q --register=no --oci-bundle="$B"
  assert_one_line_error "$1"
  log "  $ERR"
  [ ! -e "$B/rootfs/ran" ] || fail "the payload ran despite: $ERR"
}
python3 -c 'import sys; sys.stdout.write("{\"ociVersion\":\"1.0.0\",\"x\":\"" + "a" * (2 * 1024 * 1024) + "\"}")' >"$B/config.json"
hostile 'config\.json: larger than [0-9]+ bytes$'
python3 -c 'import sys; sys.stdout.write("{\"ociVersion\":\"1.0.0\",\"x\":" + "[" * 100000 + "]" * 100000 + "}")' >"$B/config.json"
hostile 'config\.json: (nested deeper than [0-9]+ levels|larger than [0-9]+ bytes)$'
python3 -c 'import sys; sys.stdout.write("{\"ociVersion\":\"1.0.0\",\"x\":" + "[" * 200 + "]" * 200 + "}")' >"$B/config.json"
hostile 'config\.json: nested deeper than [0-9]+ levels$'
printf '{"ociVersion":"1.0.0",' >"$B/config.json"
hostile 'config\.json: not valid JSON$'
mkdir -p "$W/outside/usr" "$W/outside/bin"
edit 'c["root"]["path"] = "../outside"; c["process"]["args"] = ["/bin/touch", "/ran"]'
hostile 'config\.json: root\.path is not inside the bundle$'
ln -sfn "$W/outside" "$B/evil"
edit 'c["root"]["path"] = "evil"; c["process"]["args"] = ["/bin/touch", "/ran"]'
hostile 'config\.json: root\.path is not inside the bundle$'
edit 'c["root"]["path"] = "/"; c["process"]["args"] = ["/bin/touch", "/ran"]'
hostile 'config\.json: root\.path is not inside the bundle$'
ln -sfn "$W/config.orig.json" "$B/config.json"
hostile 'config\.json: .*(Too many levels of symbolic links|symbolic link)'
rm -f "$B/config.json"
[ ! -e "$W/outside/ran" ] || fail "the payload ran outside the bundle"
pass "hostile config.json refused with one line: huge, deep nesting, bad JSON, root.path escaping, symlinked config"

must_fail 2 "$COWPEN" run -q --oci-bundle="$B" -D "$B/rootfs"
assert_one_line_error 'may not be combined'
pass "--oci-bundle with -D is bad usage"
