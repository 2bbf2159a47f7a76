#!/bin/bash
# cowpen run on the real Debian rootfs, on btrfs and on ext4: what the container sees inside
# (PID 1, host name, /proc, network, capabilities, read-only root, mounts, user, working
# directory, settings files, volatile modes, --template, the console) and exit statuses.
. "$TEST_SRCDIR/tests/lib/lib.sh"

# descendant_named PID COMM: some descendant of PID has the command name COMM.
descendant_named() {
  local p ppid comm
  for p in $(pgrep -x "$2"); do
    ppid=$p
    while [ "$ppid" -gt 1 ]; do
      ppid=$(awk '{print $4}' "/proc/$ppid/stat" 2>/dev/null) || break
      [ "$ppid" = "$1" ] && return 0
    done
  done
  return 1
}

rootfs_fixture
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true

host_capbnd=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
# systemd-nspawn's default bounding set (arg_caps_retain), limited by what we have ourselves.
nspawn_default=$((0xfdecafff & host_capbnd))

capbnd() { # capbnd ARGS… → the container's CapBnd as a number
  local v
  v=$("$COWPEN" run "$@" /bin/sh -c 'awk "/^CapBnd/ {print \$2}" /proc/self/status') || fail "run $* failed"
  echo $((16#$v))
}

suite() {
  local fs=$1 out err
  make_loop_fs "$fs" 2G
  export COWPEN_IMAGE_ROOT=$LOOP_MNT/images
  must "$COWPEN" -q import-fs "$ROOTFS_DIR" deb >/dev/null
  local R=$COWPEN_IMAGE_ROOT/deb

  # PID 1 is the payload; with -a a stub init is PID 1 and the payload PID 2.
  out=$("$COWPEN" run -M deb /bin/sh -c 'echo $$')
  [ "$out" = 1 ] || fail "$fs: payload is not PID 1 ($out)"
  out=$("$COWPEN" run -M deb -a /bin/sh -c 'echo $$ $(cat /proc/1/comm)')
  [ "$out" = "2 cowpen" ] || fail "$fs: -a: expected payload PID 2 under the stub, got \"$out\""
  # The stub's command line is a short one of its own ("cowpen PID"), never the host's run line.
  out=$("$COWPEN" run -M deb -a --setenv=HOST_LINE_CANARY=1 /bin/sh -c 'tr "\0" " " </proc/1/cmdline')
  [[ $out =~ ^cowpen\ [0-9]+\ $ ]] || fail "$fs: -a: /proc/1/cmdline of the stub is \"$out\""
  # The same for -D.
  out=$("$COWPEN" run -D "$R" /bin/sh -c 'echo $$')
  [ "$out" = 1 ] || fail "$fs: -D: payload is not PID 1"
  pass "$fs: PID 1"

  # Host name: the machine name, or --hostname.
  out=$("$COWPEN" run -M deb cat /proc/sys/kernel/hostname)
  [ "$out" = deb ] || fail "$fs: host name is \"$out\", not the machine name"
  out=$("$COWPEN" run -D "$R" -M other cat /proc/sys/kernel/hostname)
  [ "$out" = other ] || fail "$fs: -D with -M: host name is \"$out\""
  out=$("$COWPEN" run -M deb --hostname=box cat /proc/sys/kernel/hostname)
  [ "$out" = box ] || fail "$fs: --hostname ignored ($out)"
  pass "$fs: host name"

  # /proc lists only the container's processes.
  sleep 300 &
  local hostpid=$!
  at_exit "kill $hostpid"
  out=$("$COWPEN" run -M deb /bin/sh -c "ls /proc | grep -E '^[0-9]+\$' | tr '\n' ' '; test -e /proc/$hostpid && echo LEAK; true")
  [[ $out != *LEAK* ]] || fail "$fs: host process $hostpid visible in the container's /proc"
  for p in $out; do [ "$p" -lt 10 ] || fail "$fs: unexpected PID $p in the container's /proc ($out)"; done
  kill $hostpid
  # /proc/sys is read-only, /sys is read-only, kallsyms is masked.
  out=$("$COWPEN" run -M deb /bin/sh -c 'echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo W1; touch /sys/x 2>/dev/null && echo W2; wc -c < /proc/kallsyms')
  [ "$out" = 0 ] || fail "$fs: /proc/sys or /sys writable, or kallsyms not masked: $out"
  pass "$fs: /proc"

  # --private-network: only lo, and up.
  out=$("$COWPEN" run -M deb --private-network /bin/sh -c 'ls /sys/class/net | tr "\n" " "; ip -o link show lo')
  [[ $out == "lo "* ]] || fail "$fs: --private-network shows more than lo: $out"
  [[ $out == *LOOPBACK,UP* ]] || fail "$fs: lo is not up: $out"
  pass "$fs: private network"

  # Capability bounding set.
  local v
  v=$(capbnd -M deb)
  [ "$v" -eq "$nspawn_default" ] || fail "$fs: default CapBnd $(printf %x "$v"), expected $(printf %x $nspawn_default)"
  v=$(capbnd -M deb --private-network)
  [ "$v" -eq $(((nspawn_default | (1 << 12)) & host_capbnd)) ] || fail "$fs: --private-network lacks CAP_NET_ADMIN"
  v=$(capbnd -M deb --drop-capability=CAP_SYS_ADMIN,cap_mknod)
  [ "$v" -eq $((nspawn_default & ~(1 << 21) & ~(1 << 27))) ] || fail "$fs: --drop-capability: $(printf %x "$v")"
  v=$(capbnd -M deb --capability=CAP_SYS_TIME)
  [ "$v" -eq $(((nspawn_default | (1 << 25)) & host_capbnd)) ] || fail "$fs: --capability: $(printf %x "$v")"
  v=$(capbnd -M deb --capability=all --drop-capability=CAP_KILL)
  [ "$v" -eq $((host_capbnd & ~(1 << 5))) ] || fail "$fs: --capability=all: $(printf %x "$v")"
  v=$(capbnd -M deb --drop-capability=all)
  [ "$v" -eq 0 ] || fail "$fs: --drop-capability=all: $(printf %x "$v")"
  # The reference: systemd-nspawn on the same tree, when installed.
  if command -v systemd-nspawn >/dev/null; then
    local opt ref
    for opt in "" --private-network; do
      ref=$(unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn -q --register=no --keep-unit "$@"' nspawn \
        $opt --read-only --console=pipe -D "$R" /bin/sh -c 'awk "/^CapBnd/ {print \$2}" /proc/self/status' </dev/null) ||
        fail "$fs: systemd-nspawn $opt failed"
      ref=$(printf '%s' "$ref" | tr -cd '0-9a-f')
      v=$(capbnd -M deb $opt)
      [ "$v" -eq $((16#$ref)) ] || fail "$fs: CapBnd $(printf %x "$v") ${opt:+($opt) }differs from systemd-nspawn's $ref"
    done
  fi
  out=$("$COWPEN" run -M deb -u nobody awk '/^CapEff/ {print $2}' /proc/self/status)
  [ "$out" = 0000000000000000 ] || fail "$fs: -u nobody keeps capabilities: $out"
  out=$("$COWPEN" run -M deb --no-new-privileges awk '/^NoNewPrivs/ {print $2}' /proc/self/status)
  [ "$out" = 1 ] || fail "$fs: --no-new-privileges not set"
  out=$("$COWPEN" run -M deb --rlimit=NOFILE=123:456 /bin/sh -c 'ulimit -n; ulimit -Hn' | tr '\n' ' ')
  [ "$out" = "123 456 " ] || fail "$fs: --rlimit: $out"
  pass "$fs: capabilities and limits"

  # --read-only: / read-only, /tmp and /run still writable.
  out=$("$COWPEN" run -M deb --read-only /bin/sh -c 'touch /etc/x 2>&1; touch /tmp/x /run/x && echo tmp-ok')
  [[ $out == *"Read-only file system"* && $out == *tmp-ok ]] || fail "$fs: --read-only: $out"
  [ ! -e "$R/etc/x" ] || fail "$fs: --read-only: file created in the image"
  pass "$fs: read-only"

  # Binds, tmpfs, overlays where asked.
  make_temp_dir
  local T=$TEMP_DIR
  mkdir -p "$T/src" "$T/low" "$T/up" "$T/low2"
  echo from-host >"$T/src/f"
  echo lower >"$T/low/l"
  echo lower2 >"$T/low2/l2"
  out=$("$COWPEN" run -M deb --bind="$T/src:/mnt/rw" --bind-ro="$T/src:/mnt/ro" --bind="$T/src/f:/etc/bound-file" \
        --tmpfs=/mnt/t:mode=0711 --overlay="$T/low:$T/up:/mnt/ov" --overlay-ro="$T/low:$T/low2:/mnt/ovro" /bin/sh -c '
      cat /mnt/rw/f; echo written >/mnt/rw/w; touch /mnt/ro/x 2>/dev/null && echo RO-WRITABLE
      cat /etc/bound-file
      stat -c "%a %T" /mnt/t 2>/dev/null || stat -fc "%a %T" /mnt/t; awk "\$5 == \"/mnt/t\" {print \$9}" /proc/self/mountinfo
      cat /mnt/ov/l; echo new >/mnt/ov/n
      cat /mnt/ovro/l /mnt/ovro/l2; touch /mnt/ovro/x 2>/dev/null && echo OVRO-WRITABLE; true')
  [[ $out == *RO-WRITABLE* || $out == *OVRO-WRITABLE* ]] && fail "$fs: read-only mount writable: $out"
  [ "$(printf '%s\n' "$out" | head -n1)" = from-host ] || fail "$fs: --bind: $out"
  [[ $out == *$'\nfrom-host\n'* ]] || fail "$fs: file --bind: $out"
  [[ $out == *"711"* && $out == *$'\ntmpfs\n'* ]] || fail "$fs: --tmpfs: $out"
  [[ $out == *$'\nlower\nlower\nlower2'* ]] || fail "$fs: --overlay: $out"
  [ "$(cat "$T/src/w")" = written ] || fail "$fs: --bind not writable through"
  [ "$(cat "$T/up/n")" = new ] || fail "$fs: --overlay: write did not reach the upper directory"
  [ ! -e "$T/low/n" ] || fail "$fs: --overlay wrote to the lower directory"
  ls -A "$T" | grep -q '^\.#work' && fail "$fs: overlay work directory left behind"
  pass "$fs: binds, tmpfs, overlays"

  # -u and --chdir; -E; --uuid.
  out=$("$COWPEN" run -M deb -u nobody --chdir=/tmp /bin/sh -c 'id -un; pwd; echo $HOME')
  [ "$out" = $'nobody\n/tmp\n/nonexistent' ] || fail "$fs: -u/--chdir: $out"
  out=$("$COWPEN" run -M deb /bin/sh -c 'id -u; pwd')
  [ "$out" = $'0\n/root' ] || fail "$fs: default user/directory: $out"
  must_fail 1 "$COWPEN" run -M deb -u nosuchuser /bin/true
  assert_one_line_error 'nosuchuser: no such user'
  out=$("$COWPEN" run -M deb -E FOO=bar -E container=x --uuid=0123456789abcdef0123456789abcdef /bin/sh -c 'echo $FOO $container $container_uuid; cat /etc/machine-id')
  [ "$out" = $'bar x 01234567-89ab-cdef-0123-456789abcdef\n0123456789abcdef0123456789abcdef' ] || fail "$fs: -E/--uuid: $out"
  pass "$fs: user, directory, environment, uuid"

  # A settings file next to the image: honoured, privileged settings only when trusted.
  cat >"$COWPEN_IMAGE_ROOT/deb.nspawn" <<'EOS'
[Exec]
Environment=FROMFILE=yes "SPACED=a b"
Hostname=fromfile
WorkingDirectory=/var
Boot=no
Parameters=/bin/sh -c "echo params-used"
[Files]
TemporaryFileSystem=/srv/filetmp
EOS
  out=$("$COWPEN" run -M deb /bin/sh -c 'echo "$FROMFILE|$SPACED|$(hostname)|$(pwd)"; grep -c " /srv/filetmp " /proc/self/mountinfo; true' 2>"$T/err")
  [ "$out" = $'yes|a b|fromfile|/var\n0' ] || fail "$fs: .nspawn file not honoured: $out"
  grep -q "not trusted" "$T/err" || fail "$fs: no warning about the untrusted TemporaryFileSystem="
  out=$("$COWPEN" run -M deb --settings=trusted /bin/sh -c 'grep -c " /srv/filetmp " /proc/self/mountinfo')
  [ "$out" = 1 ] || fail "$fs: --settings=trusted: tmpfs missing"
  out=$("$COWPEN" run -M deb --hostname=cli hostname)
  [ "$out" = cli ] || fail "$fs: command line does not win over the settings file"
  # Parameters= along with Boot= (nspawn 252 ignores them without it: test-run-nspawn-compat).
  out=$("$COWPEN" run -M deb 2>/dev/null)
  [ "$out" = params-used ] || fail "$fs: Parameters= not used: $out"
  out=$("$COWPEN" run -M deb --settings=no hostname)
  [ "$out" = deb ] || fail "$fs: --settings=no still reads the file"
  rm "$COWPEN_IMAGE_ROOT/deb.nspawn"
  pass "$fs: settings file"

  # Volatile modes.
  out=$("$COWPEN" run -M deb --volatile=yes /bin/sh -c 'grep -q "^[0-9]* [0-9]* [0-9:]* / / .* - tmpfs " /proc/self/mountinfo && echo tmpfs-root; test -e /etc/os-release && echo IMAGE-ETC; test -x /usr/bin/ls && echo usr; touch /usr/x 2>/dev/null && echo USR-WRITABLE; touch /new && echo root-writable')
  [ "$out" = $'tmpfs-root\nusr\nroot-writable' ] || fail "$fs: --volatile=yes: $out"
  out=$("$COWPEN" run -M deb --volatile=state /bin/sh -c 'touch /etc/x 2>/dev/null && echo ETC-WRITABLE; touch /var/x && awk "\$5 == \"/var\" {print \$9}" /proc/self/mountinfo')
  [ "$out" = tmpfs ] || fail "$fs: --volatile=state: $out"
  must "$COWPEN" run -M deb --volatile=overlay /bin/sh -c 'echo x >/etc/volatile-x && rm /usr/bin/ls'
  [ ! -e "$R/etc/volatile-x" ] && [ -e "$R/usr/bin/ls" ] || fail "$fs: --volatile=overlay changed the image"
  [ ! -e "$R/new" ] && [ ! -e "$R/var/x" ] || fail "$fs: --volatile changed the image"
  pass "$fs: volatile"

  # --template populates a missing -D with the clone ladder.
  must "$COWPEN" run -D "$LOOP_MNT/fromtpl" --template="$R" /bin/sh -c 'echo hi > /root/tpl'
  [ -e "$LOOP_MNT/fromtpl/usr/bin/ls" ] && [ "$(cat "$LOOP_MNT/fromtpl/root/tpl")" = hi ] || fail "$fs: --template"
  [ ! -e "$R/root/tpl" ] || fail "$fs: --template wrote into the template"
  pass "$fs: template"

  # Exit statuses: 0, 3, 128+N for a signal; SIGINT to cowpen gives 130.
  must "$COWPEN" run -M deb /bin/true
  local rc=0
  "$COWPEN" run -M deb /bin/sh -c 'exit 3' || rc=$?
  [ $rc -eq 3 ] || fail "$fs: exit 3 came back as $rc"
  rc=0
  "$COWPEN" run -M deb -a /bin/sh -c 'kill -TERM $$' || rc=$?
  [ $rc -eq 143 ] || fail "$fs: death by SIGTERM came back as $rc"
  for opt in "" -a; do
    "$COWPEN" run -M deb $opt sleep 300 &
    local pid=$!
    # Wait for this run's own payload (a descendant of $pid): a background job of a script starts
    # with SIGINT ignored until cowpen installs its handler, so an early SIGINT would be lost.
    for _ in $(seq 100); do descendant_named "$pid" sleep && break; sleep 0.1; done
    descendant_named "$pid" sleep || fail "$fs: the payload did not start"
    kill -INT $pid
    rc=0
    wait $pid || rc=$?
    [ $rc -eq 130 ] || fail "$fs: SIGINT ${opt:+($opt) }gave $rc, not 130"
  done
  # --kill-signal chooses what SIGTERM becomes; a shell with a trap sees it.
  "$COWPEN" run -M deb --kill-signal=SIGUSR1 /bin/sh -c 'trap "exit 42" USR1; while :; do sleep 0.1; done' &
  pid=$!
  sleep 1
  kill -TERM $pid
  rc=0
  wait $pid || rc=$?
  [ $rc -eq 42 ] || fail "$fs: --kill-signal=SIGUSR1: exit $rc"
  pass "$fs: exit statuses"

  # The console: a pty on a terminal with its window size, Ctrl-] three times kills.
  if command -v script >/dev/null; then
    out=$( (sleep 1; printf 'test -t 0 && echo tty-yes; stty size; exit 7\r') |
      script -qfec "stty cols 99 rows 33; $COWPEN run -M deb; echo rc=\$?" /dev/null | tr -d '\r')
    [[ $out == *tty-yes* && $out == *"33 99"* && $out == *rc=7* ]] || fail "$fs: interactive console: $out"
    # A duration no other part of the test uses, so only this container's payload can match.
    out=$( (sleep 1; printf '\035\035\035') | timeout 20 script -qfec "$COWPEN run -M deb sleep 3033; echo rc=\$?" /dev/null | tr -d '\r')
    [[ $out == *rc=137* ]] || fail "$fs: Ctrl-] x3 did not kill the container: $out"
    for _ in $(seq 50); do pgrep -f '^sleep 3033$' >/dev/null || break; sleep 0.1; done
    pgrep -f '^sleep 3033$' && fail "$fs: container still running after Ctrl-]"
    pass "$fs: console"
  fi
}

for fs in btrfs ext4; do
  suite "$fs"
done
