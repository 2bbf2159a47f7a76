# Helpers for the tests of the verbs that reach into a running machine (shell, login, copy-to,
# copy-from, bind). Source after lib.sh:
#   . "$TEST_SRCDIR/tests/lib/enter.sh"
# enter_setup: the rootfs fixture, a temp dir, a registry of the test's own
# ($COWPEN_RUNTIME_DIR below the temp dir, so that no machine of another run is seen).
enter_setup() {
  rootfs_fixture
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
  grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs (needed by -x on a directory)"
  command -v python3 >/dev/null || fail "python3 is needed to read the machine registry"
  make_temp_dir
  export COWPEN_RUNTIME_DIR=$TEMP_DIR/rt
  mkdir -p "$COWPEN_RUNTIME_DIR"
}

# machine_leader NAME: the leader PID of NAME's record (empty when there is none).
machine_leader() {
  python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["leader"])
except Exception: pass' "$COWPEN_RUNTIME_DIR/machines/$1" 2>/dev/null || true
}

# machine_start NAME [RUN OPTIONS…] -- PAYLOAD…: `cowpen run -x -D fixture -M NAME` in the
# background (killed at exit), its output in $TEMP_DIR/NAME.out; waits until NAME is registered
# and the payload created /run/ready-NAME inside (the payloads below do, once set up). Sets
# LEADER and RUN_PID.
machine_start() {
  local name=$1 opts=() i
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  "$COWPEN" run -q -x -D "$ROOTFS_DIR" -M "$name" --console=pipe "${opts[@]}" "$@" >"$TEMP_DIR/$name.out" 2>&1 &
  RUN_PID=$!
  at_exit "kill -9 $RUN_PID; wait $RUN_PID"
  LEADER=
  for i in $(seq 600); do
    kill -0 "$RUN_PID" 2>/dev/null || fail "run of $name ended: $(cat "$TEMP_DIR/$name.out")"
    [ -e "$COWPEN_RUNTIME_DIR/machines/$name" ] || { sleep 0.1; continue; }
    [ -n "$LEADER" ] || LEADER=$(machine_leader "$name")
    if [ -n "$LEADER" ] && [ -e "/proc/$LEADER/root/run/ready-$name" ]; then
      return 0
    fi
    sleep 0.1
  done
  fail "machine $name was not registered and ready within 60 s: $(cat "$TEMP_DIR/$name.out")"
}

# The payload: marks itself ready and waits.
ready_payload() {
  printf '%s' "touch /run/ready-$1 && exec sleep infinity"
}
