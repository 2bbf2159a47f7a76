# Helpers for the tests of the verbs that reach into a running machine (shell, login, copy-to,
# copy-from, bind). Source after lib.sh:
#   . "$TEST_SRCDIR/tests/lib/enter.sh"
# enter_setup: the rootfs fixture and a temp dir (lib.sh gives each test a machine registry of
# its own, $COWPEN_MACHINES_DIR).
enter_setup() {
  rootfs_fixture
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
  grep -qw overlay /proc/filesystems || skip "kernel has no overlayfs (needed by -x on a directory)"
  command -v python3 >/dev/null || fail "python3 is needed to read the machine registry"
  make_temp_dir
}

# machine_leader NAME: the leader PID of NAME's record (empty when there is none).
machine_leader() {
  python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["leader"])
except Exception: pass' "$COWPEN_MACHINES_DIR/$1" 2>/dev/null || true
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
  at_exit "machine_stop $RUN_PID"
  LEADER=
  for i in $(seq 600); do
    kill -0 "$RUN_PID" 2>/dev/null || fail "run of $name ended: $(cat "$TEMP_DIR/$name.out")"
    [ -e "$COWPEN_MACHINES_DIR/$name" ] || { sleep 0.1; continue; }
    [ -n "$LEADER" ] || LEADER=$(machine_leader "$name")
    if [ -n "$LEADER" ] && [ -e "/proc/$LEADER/root/run/ready-$name" ]; then
      _stop_leader[$RUN_PID]=$LEADER
      return 0
    fi
    sleep 0.1
  done
  fail "machine $name was not registered and ready within 60 s: $(cat "$TEMP_DIR/$name.out")"
}

# machine_stop RUN_PID: ends a run started by machine_start as SIGTERM does (the payload, PID 1
# without a handler, ends and the run cleans up), and where that takes more than 10 s, SIGKILL to
# the leader first (a killed `run -U` may leave its container's init behind) and then to the run,
# both still alive then.
declare -A _stop_leader
machine_stop() {
  local pid=$1 leader=${_stop_leader[$1]:-}
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    [ -z "$leader" ] || kill -9 "$leader" 2>/dev/null || true
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# The payload: marks itself ready and waits.
ready_payload() {
  printf '%s' "touch /run/ready-$1 && exec sleep infinity"
}

# PTY_CHAT [STEP…] -- CMD…: tests/lib/pty-chat.py runs CMD on a pty of its own and drives it (-e
# TEXT waits for TEXT, -s TEXT sends it, -w TEXT drains until TEXT, -t SECONDS, --status N); it
# prints what CMD wrote and fails when an -e was not met. Run it as `timeout N python3 "$PTY_CHAT" …`.
PTY_CHAT=$TEST_SRCDIR/tests/lib/pty-chat.py
