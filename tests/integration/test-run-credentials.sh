#!/bin/bash
# cowpen run --set-credential / --load-credential, as systemd-nspawn: the payload reads each
# credential (a value with C escapes, a file, what an AF_UNIX stream socket served by the test
# sends, a relative name in cowpen's own $CREDENTIALS_DIRECTORY) in $CREDENTIALS_DIRECTORY =
# /run/host/credentials, a read-only ramfs (mode 0500, files 0400, the container root's, also with
# -U); the host's unprivileged users cannot read it through the container's mounts; trusted
# settings files' SetCredential=/LoadCredential= apply, untrusted ones are ignored with a warning;
# each bad value is refused with one line that never shows the value; a booted systemd (the
# rootfs fixture's, v252) lists the credential with `systemd-creds --system list`.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

command -v python3 >/dev/null || fail "python3 is needed for the AF_UNIX credential server"
command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed"
grep -qw ramfs /proc/filesystems || skip "kernel has no ramfs"

make_temp_dir
T=$TEMP_DIR
mkdir "$T/images"
ROOT=$T/images/bb
make_busybox_tree "$ROOT"
BB=/bin/busybox

# 1. Set both ways, read by the payload.
printf 'from a file\n' >"$T/file-cred"
chmod 600 "$T/file-cred"
python3 - "$T/cred.sock" "$T/served" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(4)
while True:
    c, _ = s.accept()
    # The client shuts its side for writing: read to EOF, then answer.
    while c.recv(4096):
        pass
    c.sendall(b"from a socket\x00\xff")
    c.close()
    open(sys.argv[2], "a").write("served\n")
PY
srv=$!
at_exit "kill $srv 2>/dev/null"
for _ in $(seq 50); do [ -S "$T/cred.sock" ] && break; sleep 0.1; done
[ -S "$T/cred.sock" ] || fail "the credential server did not start"

out=$("$COWPEN" run -q -D "$ROOT" -P \
  --set-credential='esc:a\tb\nc\x00d\u00e9\101' \
  --load-credential=file:"$T/file-cred" \
  --load-credential=sock:"$T/cred.sock" \
  /bin/sh -c 'echo "dir=$CREDENTIALS_DIRECTORY"
    cd "$CREDENTIALS_DIRECTORY" || exit 3
    /bin/busybox ls | /bin/busybox tr "\n" " "; echo
    /bin/busybox stat -c "%n %a %u %g" . esc file sock
    /bin/busybox grep " /run/host/credentials " /proc/self/mountinfo
    if echo x >new 2>/dev/null; then echo writable; fi
    /bin/busybox od -An -c esc | /bin/busybox tr -s " " | /bin/busybox tr "\n" " "; echo
    cat file
    /bin/busybox od -An -c sock | /bin/busybox tr -s " " | /bin/busybox tr "\n" " "; echo' 2>&1) ||
  fail "run with credentials: exit $? ($out)"
grep -qx 'dir=/run/host/credentials' <<<"$out" || fail "\$CREDENTIALS_DIRECTORY: $out"
grep -qx 'esc file sock ' <<<"$out" || fail "credential files: $out"
grep -qx '\. 500 0 0' <<<"$out" || fail "the directory is not mode 0500 root's: $out"
for f in esc file sock; do grep -qx "$f 400 0 0" <<<"$out" || fail "$f is not mode 0400 root's: $out"; done
mi=$(grep ' /run/host/credentials ' <<<"$out") || fail "no mount at /run/host/credentials: $out"
[[ $mi =~ \ ro,.*\ -\ ramfs\ .*\ ro ]] || fail "not a read-only ramfs (mount and superblock): $mi"
[[ $mi =~ nosuid && $mi =~ nodev && $mi =~ noexec ]] || fail "not nosuid,nodev,noexec: $mi"
! grep -qx writable <<<"$out" || fail "the credentials directory is writable"
# od -c: a TAB b NL c NUL d, é in UTF-8 (303 251), \101 = A.
grep -qx ' a \\t b \\n c \\0 d 303 251 A ' <<<"$out" || fail "escaped value: $out"
grep -qx 'from a file' <<<"$out" || fail "file credential: $out"
grep -qx ' f r o m a s o c k e t \\0 377 ' <<<"$out" || fail "socket credential: $out"
grep -q served "$T/served" || fail "the socket server was not asked"
pass "--set-credential (C escapes, NUL) and --load-credential (file, AF_UNIX socket) read in a read-only ramfs, 0500/0400"

# 2. A relative PATH: a credential of cowpen's own $CREDENTIALS_DIRECTORY (as nspawn).
mkdir "$T/own"
printf 'inherited' >"$T/own/up"
out=$(CREDENTIALS_DIRECTORY=$T/own "$COWPEN" run -q -D "$ROOT" -P --load-credential=down:up /bin/cat /run/host/credentials/down) ||
  fail "relative --load-credential: $out"
[ "$out" = inherited ] || fail "relative --load-credential read \"$out\""
pass "a relative --load-credential PATH is read from cowpen's \$CREDENTIALS_DIRECTORY"

# 3. The host's view (/proc/LEADER/root) is closed to unprivileged users by the mode; with -U
#    the files are the container root's (its host uid).
for userns in "" -U; do
  rm -f "$T/go"
  "$COWPEN" run -q -D "$ROOT" -P $userns --set-credential=secret:s3cr3t-value \
    /bin/sh -c 'while [ ! -e /tmp/go ]; do sleep 0.1; done' >"$T/bg.out" 2>&1 &
  cp=$!
  at_exit "kill -9 $cp 2>/dev/null"
  leader=
  for _ in $(seq 900); do
    leader=$(pgrep -P $cp | head -1) || true
    [ -n "$leader" ] && [ -e /proc/$leader/root/run/host/credentials/secret ] && break
    leader=
    sleep 0.1
  done
  [ -n "$leader" ] || fail "no container leader with credentials ($userns): $(cat "$T/bg.out")"
  owner=0
  [ -z "$userns" ] || owner=$(awk '$1 == 0 { print $2 }' /proc/$leader/uid_map)
  [ "$(stat -c '%a %u' /proc/$leader/root/run/host/credentials)" = "500 $owner" ] ||
    fail "host view ($userns): $(stat -c '%a %u' /proc/$leader/root/run/host/credentials), want 500 $owner"
  [ "$(stat -c '%a %u' /proc/$leader/root/run/host/credentials/secret)" = "400 $owner" ] || fail "host view of the file ($userns)"
  # Root reads it (the control); nobody does not. /proc/PID/root itself is closed to other
  # users: the directory is opened as root, and only then are the privileges dropped, so that
  # only the modes decide.
  [ "$(cat /proc/$leader/root/run/host/credentials/secret)" = s3cr3t-value ] || fail "root cannot read the credential ($userns)"
  python3 - /proc/$leader/root/run/host/credentials <<'PY' || fail "an unprivileged host user reads the credentials ($userns)"
import os, sys
d = os.open(sys.argv[1], os.O_PATH | os.O_DIRECTORY)
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
for what, f in (("read secret", lambda: os.open("secret", os.O_RDONLY, dir_fd=d)),
                ("list", lambda: os.listdir(os.open(".", os.O_RDONLY | os.O_DIRECTORY, dir_fd=d)))):
    try:
        f()
    except PermissionError:
        continue
    sys.exit("nobody could " + what)
PY
  if setpriv --reuid=65534 --regid=65534 --clear-groups cat /proc/$leader/root/run/host/credentials/secret 2>/dev/null; then
    fail "an unprivileged host user reads the credential through /proc/$leader/root ($userns)"
  fi
  nsenter -t $leader -m /bin/busybox touch /tmp/go
  wait $cp || fail "the background container ($userns) exited $?: $(cat "$T/bg.out")"
done
pass "the host's unprivileged users cannot read the credentials (mode 0500, also with -U: the container root's)"

# 4. Settings files: a trusted one passes SetCredential= and LoadCredential=, an untrusted one is
#    ignored with a warning; the command line's credentials replace the file's.
printf '[Exec]\nSetCredential=fromfile:file\\x21\nLoadCredential=loaded:%s\n' "$T/file-cred" >"$T/images/bb.nspawn"
out=$("$COWPEN" run -q -D "$ROOT" -P --settings=trusted /bin/sh -c 'cat $CREDENTIALS_DIRECTORY/fromfile; echo; cat $CREDENTIALS_DIRECTORY/loaded' 2>&1) ||
  fail "trusted settings file: $out"
[ "$out" = "$(printf 'file!\nfrom a file')" ] || fail "trusted settings file's credentials: $out"
out=$("$COWPEN" run -q -D "$ROOT" -P /bin/sh -c 'echo "dir=${CREDENTIALS_DIRECTORY-unset}"; ls /run/host' 2>&1) ||
  fail "untrusted settings file: $out"
grep -qx 'dir=unset' <<<"$out" || fail "an untrusted settings file passed credentials: $out"
grep -q 'SetCredential= and LoadCredential=.*not trusted' <<<"$out" || fail "no warning for the untrusted file's credentials: $out"
out=$("$COWPEN" run -q -D "$ROOT" -P --settings=trusted --set-credential=cli:x /bin/ls /run/host/credentials 2>&1) || fail "$out"
[ "$out" = cli ] || fail "the command line's credentials do not replace the file's: $out"
printf '[Exec]\nLoadCredential=gone:%s/missing\n' "$T" >"$T/images/bb.nspawn"
must_fail "$COWPEN" run -q -D "$ROOT" -P --settings=trusted /bin/true
assert_one_line_error "settings file .*bb\.nspawn.*gone.*missing.*No such file"
rm "$T/images/bb.nspawn"
pass "SetCredential=/LoadCredential= from trusted settings files only"

# 5. Bad values: one line naming the option and the cause, never the value.
run_bad() { must_fail 2 "$COWPEN" run -q -D "$ROOT" -P "$@" /bin/true; }
run_bad --set-credential=novalue
assert_one_line_error "^.*run: --set-credential: novalue: no value"
run_bad --set-credential=a/b:topsecret1
assert_one_line_error "run: --set-credential: a/b: not a valid credential name"
[[ $ERR != *topsecret1* ]] || fail "the value is printed: $ERR"
run_bad --set-credential=..:x
assert_one_line_error "run: --set-credential: \.\.: not a valid credential name"
run_bad --set-credential="$(printf 'x%.0s' $(seq 256)):v"
assert_one_line_error "run: --set-credential: x+…?: not a valid credential name"
run_bad --set-credential=dup:topsecret2 --set-credential=dup:topsecret3
assert_one_line_error "run: --set-credential: dup: duplicate credential"
[[ $ERR != *topsecret* ]] || fail "the value is printed: $ERR"
run_bad --set-credential='esc:top\qsecret4'
assert_one_line_error "run: --set-credential: esc: bad escape in the value"
[[ $ERR != *secret4* ]] || fail "the value is printed: $ERR"
head -c $((1024 * 1024 + 1)) /dev/zero >"$T/big"
run_bad --load-credential=big:"$T/big"
assert_one_line_error "run: --load-credential: big: .*big: larger than 1048576 bytes"
must_fail 1 "$COWPEN" run -q -D "$ROOT" -P --load-credential=m:"$T/missing" /bin/true
assert_one_line_error "run: --load-credential: m: .*missing: No such file or directory"
must_fail 1 "$COWPEN" run -q -D "$ROOT" -P --load-credential=d:"$T" /bin/true
assert_one_line_error "run: --load-credential: d: .*: a directory, not a file"
mkfifo "$T/fifo"
must_fail 1 timeout 10 "$COWPEN" run -q -D "$ROOT" -P --load-credential=f:"$T/fifo" /bin/true
assert_one_line_error "run: --load-credential: f: .*fifo: neither a regular file nor an AF_UNIX socket"
must_fail 1 env -u CREDENTIALS_DIRECTORY "$COWPEN" run -q -D "$ROOT" -P --load-credential=r:relative /bin/true
assert_one_line_error "run: --load-credential: r: relative path \"relative\", but no \\\$CREDENTIALS_DIRECTORY"
pass "bad credentials refused with one line each, the value never shown"

# 6. A booted systemd takes them as system credentials (nspawn passes $CREDENTIALS_DIRECTORY to init).
rootfs_fixture
grep -qw cgroup2 /proc/filesystems || skip "kernel has no cgroup2 (needed to boot systemd)"
cp -a --reflink=auto "$ROOTFS_DIR" "$T/images/sd"
"$COWPEN" run -q -b -D "$T/images/sd" --set-credential=booted.cred:bootvalue >"$T/console" 2>&1 &
cp=$!
at_exit "kill -9 $cp 2>/dev/null"
init=
for _ in $(seq 600); do
  init=$(pgrep -P $cp | head -1) || true
  if [ -n "$init" ]; then
    st=$(nsenter -t $init -a systemctl is-system-running 2>/dev/null) || true
    case $st in running | degraded) break ;; esac
  fi
  kill -0 $cp 2>/dev/null || break
  sleep 0.2
done
[ -n "$init" ] || fail "the systemd guest did not start: $(tail -5 "$T/console")"
list=$(nsenter -t $init -a systemd-creds --system list --no-legend 2>&1) || fail "systemd-creds --system list: $list"
grep -q '^booted\.cred ' <<<"$list" || fail "systemd-creds --system list does not show the credential: $list"
[ "$(nsenter -t $init -a systemd-creds --system cat booted.cred)" = bootvalue ] || fail "systemd-creds --system cat"
kill -TERM $cp
wait $cp || fail "the booted guest did not shut down cleanly: exit $?"
pass "a booted systemd lists the credential with systemd-creds --system list"
