#!/bin/bash
# cowpen run's Security and Resources options seen from inside the container: the default
# system-call filter and --system-call-filter=, --capability= allowing what it guards,
# --ambient-capability, --oom-score-adjust, --cpu-affinity, --personality, --suppress-sync,
# --inaccessible, their .nspawn keys (and which of them an untrusted file may set), -Z/-L
# without SELinux, the device policy, and inherited fds. Hostile payloads side by side with
# systemd-nspawn: test-hostile-payload.sh.
. "$TEST_SRCDIR/tests/lib/lib.sh"

rootfs_fixture
PROBE=$TEST_BUILDDIR/tests/tools/sysprobe
[ -x "$PROBE" ] || fail "tests/tools/sysprobe is not built"
make_loop_fs ext4 2G
export COWPEN_IMAGE_ROOT=$LOOP_MNT/images
must "$COWPEN" -q import-fs "$ROOTFS_DIR" deb >/dev/null
run() { "$COWPEN" run -M deb --console=pipe --bind-ro="$PROBE:/sysprobe" "$@"; }
probe() { # probe [RUN OPTIONS…] -- CALL… → "CALL ERRNO" lines
  local opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  run "${opts[@]}" /sysprobe "$@"
}
expect() { # expect OUTPUT CALL ERRNO WHAT
  grep -qx "$2 $3" <<<"$1" || fail "$4: expected $2 to give $3, got: $(grep "^$2 " <<<"$1")"
}

# The default filter: what nspawn refuses is refused, what it allows works.
out=$(probe -- keyctl mount settimeofday)
expect "$out" keyctl EPERM "default filter"
expect "$out" mount ENOENT "default filter (@mount is allowed: the kernel answers)"
expect "$out" settimeofday EPERM "default filter (@clock needs CAP_SYS_TIME)"
out=$(run /bin/sh -c 'grep -E "^Seccomp(_filters)?:" /proc/self/status | tr "\n\t" "  "')
[[ $out == *"Seccomp: 2"* ]] || fail "no filter in the container: $out"
pass "default system-call filter"

# --system-call-filter=: deny-lists, allow-lists on top, combined and repeated.
out=$(probe --system-call-filter='~@mount' -- mount keyctl)
expect "$out" mount EPERM "--system-call-filter=~@mount"
out=$(probe --system-call-filter='@default @file-system' --system-call-filter='~mount' -- mount)
expect "$out" mount EPERM "allow-list plus ~mount"
out=$(probe --system-call-filter='@default @file-system' -- mount)
expect "$out" mount ENOENT "--system-call-filter='@default @file-system'"
out=$(probe --system-call-filter='@keyring' -- keyctl)
grep -q '^keyctl 0$\|^keyctl ENOKEY$' <<<"$out" || fail "--system-call-filter=@keyring did not allow keyctl: $out"
must_fail 2 "$COWPEN" run -M deb --system-call-filter='~@mount @nonsense' true
assert_one_line_error 'unknown system call or group "@nonsense"'
must_fail 2 "$COWPEN" run -M deb --system-call-filter='no_such_call' true
assert_one_line_error 'unknown system call or group "no_such_call"'
pass "--system-call-filter"

# A kept capability allows the calls it guards (checked with an invalid time: the clock is never set).
t0=$(date +%s)
out=$(probe --capability=CAP_SYS_TIME -- settimeofday)
expect "$out" settimeofday EINVAL "--capability=CAP_SYS_TIME"
[ $(($(date +%s) - t0)) -lt 60 ] || fail "the clock moved"
pass "--capability=CAP_SYS_TIME allows @clock"

# Resources and the ambient set, from inside.
out=$(run -u daemon --ambient-capability=CAP_NET_RAW,CAP_SYS_NICE --oom-score-adjust=345 --cpu-affinity=0 \
  /bin/sh -c 'grep -E "^(CapAmb|CapEff|Cpus_allowed_list):" /proc/self/status | tr "\t" " "; cat /proc/self/oom_score_adj')
grep -qx 'CapAmb: 0000000000802000' <<<"$out" || fail "--ambient-capability: $out"
grep -qx 'CapEff: 0000000000802000' <<<"$out" || fail "--ambient-capability (effective for a non-root user): $out"
grep -qx 'Cpus_allowed_list: 0' <<<"$out" || fail "--cpu-affinity: $out"
grep -qx 345 <<<"$out" || fail "--oom-score-adjust: $out"
out=$(run --personality=x86 uname -m)
[[ $out == i?86 ]] || fail "--personality=x86: uname -m says $out"
out=$(run --personality=x86-64 uname -m)
[ "$out" = x86_64 ] || fail "--personality=x86-64: uname -m says $out"
# Outside the bounding set is found only after the settings file is merged: a failure, not usage.
must_fail 1 "$COWPEN" run -M deb --ambient-capability=CAP_SYS_MODULE true
assert_one_line_error 'ambient capability cap_sys_module is not in the container.s bounding set'
must_fail 2 "$COWPEN" run -M deb -b --ambient-capability=CAP_NET_RAW
# Values that do not parse are bad usage.
must_fail 2 "$COWPEN" run -M deb --oom-score-adjust=1001 true
assert_one_line_error "invalid --oom-score-adjust value \"1001\""
must_fail 2 "$COWPEN" run -M deb --cpu-affinity=3-1 true
must_fail 2 "$COWPEN" run -M deb --personality=s390 true
assert_one_line_error 'personality: "s390" is not a personality of this host'
pass "ambient capabilities, OOM score, CPU affinity, personality"

# --suppress-sync: sync calls succeed without syncing (O_SYNC opens are refused so the caller
# retries without them; a bad fd still fails); without it they are real.
out=$(probe --suppress-sync=yes -- open-sync:/var/tmp/sync-probe fsync-bad-fd)
expect "$out" open-sync:/var/tmp/sync-probe EINVAL "--suppress-sync"
expect "$out" fsync-bad-fd EBADF "--suppress-sync"
out=$(probe -- open-sync:/var/tmp/sync-probe)
expect "$out" open-sync:/var/tmp/sync-probe 0 "without --suppress-sync"
# Timing, for the log only (the machine is shared): 200 fsyncs of a written file.
for s in no yes; do
  t=$( { /usr/bin/time -f %e "$COWPEN" run -M deb --console=pipe --suppress-sync=$s /bin/sh -c \
    'for i in $(seq 200); do echo $i >> /var/tmp/f; sync /var/tmp/f; done; rm /var/tmp/f' >/dev/null; } 2>&1 | tail -1)
  log "200 × sync FILE with --suppress-sync=$s: ${t}s"
done
pass "--suppress-sync"

# --inaccessible: masked with an empty node of the path's type; a missing path is an error.
# Root sees empty nodes (it may read mode 0); anyone else cannot open them.
[ -s "$COWPEN_IMAGE_ROOT/deb/etc/hostname" ] || echo deb >"$COWPEN_IMAGE_ROOT/deb/etc/hostname"
out=$(run --inaccessible=/etc/hostname --inaccessible=/usr/share/doc /bin/sh -c \
  'echo "[$(cat /etc/hostname)] [$(ls /usr/share/doc)]"; stat -c "%a %F" /etc/hostname /usr/share/doc')
grep -qx '\[\] \[\]' <<<"$out" || fail "--inaccessible: contents still visible to root: $out"
out=$(run -u daemon --inaccessible=/etc/hostname --inaccessible=/usr/share/doc /bin/sh -c \
  'cat /etc/hostname 2>&1; ls /usr/share/doc 2>&1; stat -c "%a %F" /etc/hostname /usr/share/doc')
[[ $out == *"Permission denied"*"Permission denied"* ]] || fail "--inaccessible: still readable: $out"
grep -qx '0 regular empty file' <<<"$out" || fail "--inaccessible: not an empty mode-0 file: $out"
grep -qx '0 directory' <<<"$out" || fail "--inaccessible: not a mode-0 directory: $out"
must_fail 1 "$COWPEN" run -M deb --inaccessible=/no/such/path true
assert_one_line_error 'inaccessible path /no/such/path: No such file or directory'
pass "--inaccessible"

# SELinux options: a clear refusal where SELinux is not enabled.
if [ ! -e /sys/fs/selinux/enforce ]; then
  must_fail 1 "$COWPEN" run -M deb -Z system_u:system_r:container_t:s0 true
  assert_one_line_error 'SELinux is not enabled on this host'
  must_fail 1 "$COWPEN" run -M deb --selinux-apifs-context=system_u:object_r:container_file_t:s0 true
  assert_one_line_error 'SELinux is not enabled on this host'
  pass "-Z/-L refused without SELinux"
fi

# The device policy: block devices can neither be made nor opened; a node bound in is allowed
# as bound (here /dev/loop-control read-only: openable for reading, not for writing; opening
# it does nothing); standard nodes work.
out=$(probe -- mknod-block open-write:/dev/null open-read:/dev/urandom)
expect "$out" mknod-block EPERM "device policy"
expect "$out" open-write:/dev/null 0 "device policy"
expect "$out" open-read:/dev/urandom 0 "device policy"
out=$(probe --bind-ro=/dev/loop-control:/dev/lc-host -- open-read:/dev/lc-host open-write:/dev/lc-host)
expect "$out" open-read:/dev/lc-host 0 "a bound device node"
expect "$out" open-write:/dev/lc-host EPERM "a device node bound read-only"
# A device node that the image ships (a hostile image): the image is mounted nodev (EACCES); the
# same node where nodev does not apply (a directory bound in) meets the device policy (EPERM).
R=$COWPEN_IMAGE_ROOT/deb
dev=$(stat -c '%d' "$R")
mknod "$R/hostile-disk" b $((dev >> 8)) $((dev & 255))
at_exit "rm -f '$R/hostile-disk'"
out=$(probe -- open-read:/hostile-disk)
expect "$out" open-read:/hostile-disk EACCES "a block device node in the image (nodev)"
rm -f "$R/hostile-disk"
mkdir "$TEMP_DIR/devdir"
mknod "$TEMP_DIR/devdir/disk" b $((dev >> 8)) $((dev & 255))
out=$(probe --bind-ro="$TEMP_DIR/devdir:/devdir" -- open-read:/devdir/disk)
expect "$out" open-read:/devdir/disk EPERM "a block device node on a mount without nodev (device policy)"
out=$(probe -U -- open-read:/dev/null mknod-block)
expect "$out" open-read:/dev/null 0 "-U: device policy"
expect "$out" mknod-block EPERM "-U: device policy"
pass "device policy"

# Fds cowpen inherited without close-on-exec do not reach the payload, in every mode.
for mode in "" -a -x; do
  out=$(run $mode /bin/sh -c 'ls /proc/self/fd/9 2>/dev/null | head -1; echo end' 9</etc)
  [ "$out" = end ] || fail "run $mode: an inherited fd reached the payload: $out"
done
pass "inherited fds closed"

# .nspawn keys: an untrusted file (next to the image) may narrow, not widen.
cat >"$COWPEN_IMAGE_ROOT/deb.nspawn" <<'EOF'
[Exec]
SystemCallFilter=~@mount
SystemCallFilter=@clock
AmbientCapability=CAP_NET_RAW
OOMScoreAdjust=-500
CPUAffinity=0
Personality=x86
SuppressSync=yes
[Files]
Inaccessible=/etc/hostname
EOF
err=$TEMP_DIR/err
out=$("$COWPEN" run -M deb --console=pipe --bind-ro="$PROBE:/sysprobe" /bin/sh -c \
  '/sysprobe mount settimeofday open-sync:/var/tmp/x; grep -E "^(CapAmb|Cpus_allowed_list):" /proc/self/status | tr "\t" " "; cat /proc/self/oom_score_adj; uname -m; su -s /bin/sh daemon -c "cat /etc/hostname" 2>&1; true' 2>"$err")
expect "$out" mount EPERM "untrusted SystemCallFilter=~@mount"
expect "$out" settimeofday EPERM "untrusted SystemCallFilter=@clock (must be ignored)"
expect "$out" open-sync:/var/tmp/x EINVAL "untrusted SuppressSync=yes"
grep -qx 'CapAmb: 0000000000000000' <<<"$out" || fail "untrusted AmbientCapability= honoured: $out"
grep -qx 'Cpus_allowed_list: 0' <<<"$out" || fail "untrusted CPUAffinity= ignored: $out"
grep -qx 0 <<<"$out" || fail "untrusted OOMScoreAdjust=-500 honoured: $out"
grep -qx 'i[3-6]86' <<<"$out" || fail "untrusted Personality= ignored: $out"
grep -q 'Permission denied' <<<"$out" || fail "untrusted Inaccessible= ignored: $out"
grep -q 'SystemCallFilter=' "$err" || fail "no warning about the untrusted SystemCallFilter= allow-list: $(cat "$err")"
grep -q 'AmbientCapability=' "$err" || fail "no warning about the untrusted AmbientCapability=: $(cat "$err")"
grep -q 'OOMScoreAdjust=' "$err" || fail "no warning about the untrusted OOMScoreAdjust=: $(cat "$err")"
# Trusted, all of it applies. A negative OOM score needs CAP_SYS_RESOURCE, which the host may
# not give us (then the trusted file asks for a positive one).
if (( (16#$(awk '/^CapEff/ {print $2}' /proc/self/status) >> 24) & 1 )); then oom=-500; else
  oom=500
  log "no CAP_SYS_RESOURCE here: the trusted OOMScoreAdjust= check uses $oom"
  sed -i "s/^OOMScoreAdjust=.*/OOMScoreAdjust=$oom/" "$COWPEN_IMAGE_ROOT/deb.nspawn"
fi
out=$("$COWPEN" run -M deb --settings=trusted --console=pipe --bind-ro="$PROBE:/sysprobe" /bin/sh -c \
  '/sysprobe settimeofday; cat /proc/self/oom_score_adj; grep ^CapAmb: /proc/self/status | tr "\t" " "' 2>/dev/null)
expect "$out" settimeofday EINVAL "trusted SystemCallFilter=@clock"
grep -qx -- "$oom" <<<"$out" || fail "trusted OOMScoreAdjust=$oom ignored: $out"
grep -qx 'CapAmb: 0000000000002000' <<<"$out" || fail "trusted AmbientCapability= ignored: $out"
# The command line wins.
out=$("$COWPEN" run -M deb --settings=trusted --oom-score-adjust=7 --console=pipe cat /proc/self/oom_score_adj 2>/dev/null)
[ "$out" = 7 ] || fail "--oom-score-adjust did not win over the settings file: $out"
rm "$COWPEN_IMAGE_ROOT/deb.nspawn"
pass ".nspawn Security and Resources keys"

# Nothing left behind: no cgroup of ours, no temporary in the image root.
cg=$(findmnt -n -t cgroup2 -o TARGET | head -1)
[ -n "$cg" ] || fail "no cgroup2 mount, yet the runs above worked"
left=$(stale_cowpen_cgroups deb)
[ -z "$left" ] || fail "cgroups left behind: $left"
left=$(ls -A "$COWPEN_IMAGE_ROOT" | grep -v -e '^deb$' -e '^deb\.provenance$' -e '^\.#deb\.lck$' || true)
[ -z "$left" ] || fail "left behind in the image root: $left"
pass "nothing left behind"
