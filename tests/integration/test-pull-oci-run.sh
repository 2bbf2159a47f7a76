#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run -M NAME of an image pulled with pull-oci uses its config: Entrypoint + Cmd, Env, WorkingDir,
# User (and the command line still wins: a command, -E, --chdir, --user). The config travels
# as NAME.oci.json with clone, rename and remove. A busybox image built with umoci, pushed with
# skopeo to a docker-registry (TLS, htpasswd) started here.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"
. "$TEST_SRCDIR/tests/lib/pull.sh"
. "$TEST_SRCDIR/tests/lib/oci.sh"

start_registry
oci_layout
make_image_root
make_busybox_tree "$W/bb"
printf 'app:x:1234:1234:app:/home/app:/bin/sh\n' >>"$W/bb/etc/passwd"
printf 'app:x:1234:\n' >>"$W/bb/etc/group"
mkdir -p "$W/bb/srv/work" "$W/bb/home/app"
ln -sf busybox "$W/bb/bin/pwd"
umoci_new bb
SRC=$W/bb umoci_edit bb bb 'cp -a "$SRC/." .'
must umoci config --image "$LAYOUT:bb" --config.entrypoint /bin/sh --config.entrypoint -c \
  --config.cmd 'echo "foo=$FOO bar=$BAR cwd=$(pwd) uid=$(id -u)"' \
  --config.env FOO=from-image --config.env BAR=image-bar --config.workingdir /srv/work \
  --config.user app --config.stopsignal SIGINT
skopeo_push bb test/bb:1
must "$COWPEN" --image-root="$ROOT" --no-progress pull-oci --credentials="$REG_AUTH" "$REG/test/bb:1" bb >/dev/null
[ -f "$ROOT/bb.oci.json" ] || fail "no bb.oci.json sidecar"

run() { "$COWPEN" --image-root="$ROOT" run -q --register=no "$@" 2>&1; }
out=$(run -M bb) || fail "run -M bb: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = "foo=from-image bar=image-bar cwd=/srv/work uid=1234" ] || fail "config not applied: $out"
pass "run -M bb: Entrypoint + Cmd, Env, WorkingDir, User of the image config"

out=$(run -M bb -E FOO=cli --chdir=/tmp --user=root) || fail "run with overrides: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = "foo=cli bar=image-bar cwd=/tmp uid=0" ] || fail "command line did not win: $out"
out=$(run -M bb /bin/echo explicit) || fail "run with a command: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = "explicit" ] || fail "command line command did not win: $out"
pass "the command line wins: -E, --chdir, --user, a command"

# StopSignal: SIGTERM to cowpen reaches the payload as the config's SIGINT (--kill-signal= wins).
stop_test() { # EXPECTED ARGS…
  local want=$1 pid i
  shift
  : >"$W/stop.out"
  "$COWPEN" --image-root="$ROOT" run -q --register=no "$@" -M bb /bin/sh -c \
    'trap "echo got-INT; exit 0" INT; trap "echo got-TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done' \
    >"$W/stop.out" 2>&1 &
  pid=$!
  for i in $(seq 100); do grep -q ready "$W/stop.out" && break; sleep 0.1; done
  grep -q ready "$W/stop.out" || fail "payload did not start: $(cat "$W/stop.out")"
  kill -TERM $pid
  wait $pid || true
  grep -q "got-$want" "$W/stop.out" || fail "expected got-$want: $(cat "$W/stop.out")"
}
stop_test INT
stop_test TERM --kill-signal=SIGTERM
pass "StopSignal SIGINT of the image config is the kill signal; --kill-signal= wins"

must "$COWPEN" --image-root="$ROOT" clone bb bb2 >/dev/null
[ -f "$ROOT/bb2.oci.json" ] || fail "clone did not carry the image config"
out=$(run -M bb2) || fail "run -M bb2: $out"
[ "$(printf '%s\n' "$out" | tail -1)" = "foo=from-image bar=image-bar cwd=/srv/work uid=1234" ] || fail "clone's config not applied: $out"
must "$COWPEN" --image-root="$ROOT" rename bb2 bb3 >/dev/null
[ -f "$ROOT/bb3.oci.json" ] && [ ! -e "$ROOT/bb2.oci.json" ] || fail "rename did not carry the image config"
must "$COWPEN" --image-root="$ROOT" remove bb3 >/dev/null
[ ! -e "$ROOT/bb3.oci.json" ] || fail "remove left the image config"
pass "NAME.oci.json travels with clone, rename and remove"

# A config that cannot be used: one line, nothing runs.
printf '{"config":{"WorkingDir":"relative"}}' >"$ROOT/bb.oci.json"
must_fail "$COWPEN" --image-root="$ROOT" run -q --register=no -M bb
assert_one_line_error '^cowpen: run bb: image config bb.oci.json: WorkingDir is not an absolute path'
pass "bad image config refused: $ERR"
