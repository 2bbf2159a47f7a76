#!/bin/bash
# With --private-users, a payload that ends at once must not fail the run: the setup process
# lives in the container's PID namespace, and when the payload (its PID 1) ended before the setup
# process had exited, the kernel killed it (SIGKILL) and cowpen reported "the container's setup
# process died" (found while testing issue 12: about 1 run in 25). Many short runs, all must pass.
. "$TEST_SRCDIR/tests/lib/lib.sh"

BUSYBOX=$(command -v busybox) || fail "busybox missing (scripts/packages/spawn.txt: busybox-static)"
make_temp_dir
T=$TEMP_DIR/t
mkdir -p "$T/bin" "$T/usr" "$T/etc"
cp "$BUSYBOX" "$T/bin/busybox"
ln -s busybox "$T/bin/true"
echo ID=short >"$T/etc/os-release"
probe=0
"$COWPEN" run -q --console=pipe -U -D "$T" /bin/true </dev/null 2>"$TEMP_DIR/err" || probe=$?
if [ "$probe" -ne 0 ] && grep -qE 'create the user namespace|idmapped mount of the root' "$TEMP_DIR/err"; then
  skip "no user namespaces or idmapped mounts here: $(cat "$TEMP_DIR/err")"
fi
runs=200 failed=0
for ((i = 0; i < runs; i++)); do
  "$COWPEN" run -q --console=pipe -U -D "$T" /bin/true </dev/null 2>"$TEMP_DIR/err" || {
    failed=$((failed + 1))
    log "run $i: $(cat "$TEMP_DIR/err")"
  }
done
[ "$failed" -eq 0 ] || fail "$failed of $runs short runs with -U failed"
pass "$runs short runs with -U"
