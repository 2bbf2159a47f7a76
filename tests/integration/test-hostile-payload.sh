#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hostile payloads: small static programs (tests/hostile-payload/*.c), each attempting one escape
# or host-affecting action from inside the container, run in every cowpen mode and under
# systemd-nspawn side by side, and on the host itself (where most attacks work: the proof that
# each program detects success). Prints one table row per program; fails (after the whole table)
# on every cowpen cell that does not match the documented expectation below, and wherever
# systemd-nspawn refuses and cowpen does not. Host safety is checked afterwards: the canary key
# unharmed, no mount or loop device left, the clock unchanged, the host's sleep not stopped.
. "$TEST_SRCDIR/tests/lib/lib.sh"

HP=$TEST_SRCDIR/tests/hostile-payload

# ---------------------------------------------------------------------------------------------
# The expectations: one line per row. The cowpen cells must match them; the README's security
# section cites this list.
#   expect ROW SPEC SPEC-WITH-A REASON
# SPEC: KEY=VALUE words the result line must all contain; VALUE may be A|B (either); SPEC may be
# alternatives "SPEC1 || SPEC2". SPEC-WITH-A ("=": the same) applies to the -a columns.
# ---------------------------------------------------------------------------------------------
declare -A EXPECT EXPECT_A REASON
ROWS=()
expect() {
  ROWS+=("$1")
  EXPECT[$1]=$2
  if [ "$3" = "=" ]; then EXPECT_A[$1]=$2; else EXPECT_A[$1]=$3; fi
  REASON[$1]=$4
}
expect stub-fds 'pid1=self' \
  'pid1=other fds=none|EACCES caps=subset environ=clean|EACCES cmdline=clean|EACCES maps=container|EACCES exe=container|memfd|EACCES root=container|EACCES cwd=container|EACCES' \
  'the -a stub (PID 1) holds no fd, no capability the payload lacks, no host environment and no host file mapping (exec from a sealed memfd); EACCES: not even readable to the payload'
expect inherited-fd 'fstat=EBADF openat9=EBADF' = \
  'fds the runner inherited without close-on-exec are closed before the payload runs'
expect fanotify 'init=EPERM mark=EPERM' = \
  'fanotify is not namespaced: fanotify_init and fanotify_mark are refused by the seccomp filter'
expect keyring 'search=EPERM read=EPERM add_key=EPERM request_key=EPERM' = \
  'the kernel keyring is not namespaced: @keyring (add_key, keyctl, request_key) is refused by the filter'
expect shocker 'own=EPERM host=EPERM' = \
  'open_by_handle_at is refused by the filter (the 2014 "shocker" escape opens the host root by a guessed handle)'
expect kexec 'kexec_load=EPERM kexec_file_load=EPERM' = \
  'kexec_load and kexec_file_load are refused by the filter'
expect bpf 'map_create=EPERM prog_load=EPERM' = \
  'bpf objects and bpffs are not namespaced: bpf() is refused by the filter'
expect perf 'self=EPERM cpu=EPERM' = \
  'perf_event_open is refused by the filter'
expect swapon 'swapon=EPERM swapoff=EPERM' = \
  '@swap is refused by the filter (ENOENT would mean the capability check passed)'
expect quotactl 'quotactl=EPERM quotactl_fd=EPERM|ENOSYS' = \
  'quotas are the host file system'"'"'s: quotactl is refused by the filter, quotactl_fd as known (EPERM) or unknown (ENOSYS)'
expect mount-blockdev 'mknod=EPERM image_mount=EPERM|EACCES' = \
  'no disk of the host can be mounted: the device policy refuses mknod; a node the image ships must be refused before the kernel reuses the host'"'"'s mounted superblock, which asks no device policy (EACCES: nodev)'
expect mknod-disk 'mknod=EPERM image_open=EPERM|EACCES' = \
  'the device policy refuses making block device nodes and opening those an image ships (EACCES: a nodev mount)'
expect sysrq 'open=EROFS|EACCES|EPERM' = \
  '/proc/sysrq-trigger is read-only (EACCES/EPERM with -U: not the container root'"'"'s to write)'
expect proc-sys 'drop_caches=EROFS|EACCES core_pattern=EROFS|EACCES hostname=EROFS|EACCES' = \
  '/proc/sys is read-only as under nspawn, kernel/hostname too although the UTS namespace is the container'"'"'s (EACCES with -U)'
expect ptrace-outside 'attach=ESRCH kill=ESRCH' = \
  'host processes do not exist in the container'"'"'s PID namespace'
expect tiocsti 'tiocsti=EPERM tioclinux=EPERM outer=clean' = \
  'with -P the payload has the caller'"'"'s terminal: TIOCSTI/TIOCLINUX are refused by the filter, nothing reaches its input'
expect tiocsti/console 'tiocsti=EPERM tioclinux=EPERM outer=clean' = \
  'the same on the container'"'"'s own console (default interactive mode)'
expect unshare-userns 'init_module=EPERM add_key=EPERM open_by_handle_at=EPERM mknod=EPERM settimeofday=EPERM adjtimex=EPERM' = \
  'a new user namespace has capabilities only over namespaces it owns, and the filter still applies (the unshare itself may work)'
expect init-module 'init_module=EPERM finit_module=EPERM' = \
  '@module is refused by the filter (and CAP_SYS_MODULE is not in the bounding set)'
expect reboot 'cad_on=EINVAL|EPERM' = \
  'in a PID namespace reboot(2) can only end the container: EINVAL for CAD_ON (EPERM if refused earlier)'
expect settimeofday 'settimeofday=EPERM clock_settime=EPERM adjtimex=EPERM' = \
  '@clock is refused by the filter (CAP_SYS_TIME is not in the bounding set); EINVAL would mean the call reached the kernel'
expect iopl 'iopl=EPERM ioperm=EPERM' = \
  '@raw-io is refused by the filter (CAP_SYS_RAWIO is not in the bounding set)'
expect netlink-audit 'socket=EAFNOSUPPORT' = \
  'NETLINK_AUDIT sockets fail with EAFNOSUPPORT (audit userspace reads it as "no audit"), as under nspawn'

# Columns. The host column runs the program as root outside any container (in a private mount
# namespace): it shows what each attack does unconfined, and so that the program detects it.
COLS=(host cowpen-D cowpen-U cowpen-a cowpen-xM cowpen-M nspawn nspawn-a nspawn-U)
declare -A TITLE=([host]=host [cowpen-D]="cowpen -D" [cowpen-U]="-U" [cowpen-a]="-a" [cowpen-xM]="-x -M"
  [cowpen-M]="-M" [nspawn]=nspawn [nspawn-a]="nspawn -a" [nspawn-U]="nspawn -U")
# Where nspawn refuses, cowpen must refuse too: each cowpen column and its nspawn counterpart.
declare -A NSPAWN_PEER=([cowpen-D]=nspawn [cowpen-xM]=nspawn [cowpen-M]=nspawn [cowpen-a]=nspawn-a [cowpen-U]=nspawn-U)

# ---------------------------------------------------------------------------------------------
# Prerequisites.
# ---------------------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || skip "needs root"
for c in gcc keyctl python3 unshare timeout losetup; do
  command -v "$c" >/dev/null || fail "$c missing (scripts/install-deps.sh installs it)"
done
grep -qw ext4 /proc/filesystems || modprobe ext4 2>/dev/null || true
HAVE_NSPAWN=1
command -v systemd-nspawn >/dev/null || { HAVE_NSPAWN=0; log "systemd-nspawn is not installed: its columns stay empty"; }

# The host's state to compare afterwards.
t0=$(date +%s)
u0=$(cut -d' ' -f1 /proc/uptime)
host_hostname=$(cat /proc/sys/kernel/hostname)

# A file system of our own for the image root, the trees and nspawn's copies: an ext4 on a loop
# file, so that "the disk holding the container's root" is one we may read from the host
# (this host may refuse even root a read of its own disk) and the shocker's root inode guess
# lands on it.
make_loop_fs ext4 1G
W=$TEMP_DIR
M=$LOOP_MNT
LOOP_IMG=$W/fs.img
# majmin NODE: a device node's "MAJ:MIN" in decimal.
majmin() { local t; t=$(stat -c '%t %T' "$1"); set -- $t; printf '%d:%d' "0x$1" "0x$2"; }
LOOP_MAJMIN=$(majmin "$LOOP_DEV")
# The host's root device, for the payloads that aim at it as well.
host_src=$(findmnt -no SOURCE /)
host_fstype=$(findmnt -no FSTYPE /)
HOST_MAJMIN=$(findmnt -no MAJ:MIN / | tr -d ' ')
if [ -b "$host_src" ]; then
  HOST_MAJMIN=$(majmin "$host_src")
fi
DISKS=$LOOP_MAJMIN:ext4
[[ $HOST_MAJMIN == 0:* ]] || [ "$HOST_MAJMIN" = "$LOOP_MAJMIN" ] || DISKS+=,$HOST_MAJMIN:$host_fstype
log "disks aimed at: $DISKS (the loop file system holding the images, the host's root $host_src)"

# The programs, static.
BIN=$W/bin
mkdir -p "$BIN"
printf 'int main(void){return 0;}\n' >"$W/probe.c"
gcc -static -o "$W/probe" "$W/probe.c" 2>/dev/null || fail "gcc cannot link statically (libc6-dev missing? scripts/install-deps.sh installs it)"
PROGRAMS=()
for src in "$HP"/*.c; do
  p=$(basename "$src" .c)
  gcc -static -O2 -Wall -Werror -o "$BIN/$p" "$src" || fail "cannot build $p"
  PROGRAMS+=("$p")
done
for r in "${ROWS[@]}"; do
  [ -x "$BIN/${r%%/*}" ] || fail "row $r has no program"
done
[ "${#PROGRAMS[@]}" -eq "$(printf '%s\n' "${ROWS[@]%%/*}" | sort -u | wc -l)" ] || fail "a program has no row in the expectations"

# The canary: in the runner's environment and, for the payload to know it, in the image.
CANARY=canary-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
SECRET=secret-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export COWPEN_HOSTILE_CANARY=$CANARY

# The tree: os-release, root in passwd/group, /tmp, the programs in /hostile, busybox when there
# is one (for a look around by hand), and /hostile-disk, a block device node of the disk that
# holds it (the hostile-image case).
TREE=$M/tree
mkdir -p "$TREE"/{bin,etc,tmp,root,proc,sys,dev,run,usr/lib,hostile}
chmod 1777 "$TREE/tmp"
printf 'ID=hostile\nNAME="Hostile payloads"\n' >"$TREE/usr/lib/os-release"
ln -s ../usr/lib/os-release "$TREE/etc/os-release"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$TREE/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$TREE/etc/group"
printf '%s\n' "$CANARY" >"$TREE/etc/hostile-canary"
cp "$BIN"/* "$TREE/hostile/"
if bb=$(command -v busybox); then cp "$bb" "$TREE/bin/busybox"; ln -s busybox "$TREE/bin/sh"; fi
mknod "$TREE/hostile-disk" b "${LOOP_MAJMIN%:*}" "${LOOP_MAJMIN#*:}"

export COWPEN_IMAGE_ROOT=$M/images
mkdir -p "$COWPEN_IMAGE_ROOT"
must "$COWPEN" -q import-fs "$TREE" hostile >/dev/null
# nspawn writes into the tree it runs (resolv.conf, localtime, /var, …): copies of its own.
NTREE=$M/ntree
NTREE_U=$M/ntree-u
cp -a "$TREE" "$NTREE"
cp -a "$TREE" "$NTREE_U"

# The canary key in the host root's user keyring.
while old=$(keyctl search @u user cowpen-hostile-canary 2>/dev/null); do keyctl unlink "$old" @u >/dev/null; done
KEY_ID=$(keyctl add user cowpen-hostile-canary "$SECRET" @u) || fail "cannot add the canary key"
at_exit "keyctl unlink $KEY_ID @u"

# A host process for ptrace-outside; a host directory for fd 9.
sleep 3600 &
SLEEP_PID=$!
at_exit "kill $SLEEP_PID"
HOSTDIR=$W/hostdir
mkdir -p "$HOSTDIR"
echo "host file" >"$HOSTDIR/secret"

# The mounts of ours that exist before the runs (the loop file system): none may be added.
our_mounts() { findmnt -rn -o TARGET | grep -F "$W" | sort || true; }
mounts_before=$(our_mounts)

# ---------------------------------------------------------------------------------------------
# Running.
# ---------------------------------------------------------------------------------------------
NSPAWN=(unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn "$@"' nspawn --register=no --keep-unit -q)
# runner COLUMN CONSOLE: the command line before the payload's path, in RUNNER; its path in the
# container in PREFIX. CONSOLE: pipe (--console=pipe), tty (-P, under a pty), console (the
# default, interactive, under a pty).
runner() {
  local col=$1 console=$2 opt
  case $console in pipe) opt=(--console=pipe) ;; tty) opt=(-P) ;; console) opt=() ;; esac
  PREFIX=/hostile
  case $col in
    host) RUNNER=(unshare -m --propagation private); PREFIX=$BIN ;;
    cowpen-D) RUNNER=("$COWPEN" run "${opt[@]}" -D "$TREE") ;;
    cowpen-U) RUNNER=("$COWPEN" run "${opt[@]}" -U -D "$TREE") ;;
    cowpen-a) RUNNER=("$COWPEN" run "${opt[@]}" -a -D "$TREE") ;;
    cowpen-xM) RUNNER=("$COWPEN" run "${opt[@]}" -x -M hostile) ;;
    cowpen-M) RUNNER=("$COWPEN" run "${opt[@]}" -M hostile) ;;
    nspawn) RUNNER=("${NSPAWN[@]}" "${opt[@]}" -D "$NTREE") ;;
    nspawn-a) RUNNER=("${NSPAWN[@]}" "${opt[@]}" -a -D "$NTREE") ;;
    nspawn-U) RUNNER=("${NSPAWN[@]}" "${opt[@]}" -U -D "$NTREE_U") ;;
  esac
}

# The arguments each program takes.
args_of() {
  case $1 in
    ptrace-outside) ARGS=("$SLEEP_PID") ;;
    unshare-userns) ARGS=("$DISKS") ;;
    mount-blockdev | mknod-disk) ARGS=("$DISKS"); [ "$2" != host ] || ARGS+=("$TREE/hostile-disk") ;;
    *) ARGS=() ;;
  esac
}

LOGS=$W/logs
mkdir -p "$LOGS"
declare -A RESULT
# run_cell ROW COLUMN: the result line of ROW's program in COLUMN, in RESULT[ROW,COLUMN].
run_cell() {
  local row=$1 col=$2 prog=${1%%/*} console=pipe out rc=0 line log
  log=$LOGS/${row//\//-}.$col
  case $row in tiocsti) console=tty ;; tiocsti/console) console=console ;; esac
  if [ "$col" = host ] && [ "$prog" = stub-fds ]; then
    RESULT[$row,$col]="-"; return  # would trace the host's init; nothing to learn there
  fi
  if [[ $col == nspawn* ]] && [ "$HAVE_NSPAWN" = 0 ]; then
    RESULT[$row,$col]="-"; return
  fi
  runner "$col" "$console"
  args_of "$prog" "$col"
  if [ "$console" = pipe ]; then
    out=$(timeout -k 5 120 "${RUNNER[@]}" "$PREFIX/$prog" "${ARGS[@]}" 9<"$HOSTDIR" </dev/null 2>"$log") || rc=$?
  else
    out=$(python3 "$HP/pty-run.py" 120 "${RUNNER[@]}" "$PREFIX/$prog" "${ARGS[@]}" 9<"$HOSTDIR" </dev/null 2>"$log") || rc=$?
  fi
  printf '%s\n' "$out" >>"$log"
  line=$(printf '%s\n' "$out" | grep -o "$prog \(REFUSED\|ALLOWED\|ERROR\)\( .*\)\?$" | tail -n1) || true
  if [ -z "$line" ]; then
    line="$prog ERROR rc=$rc stderr=$(tail -n1 "$log" | tr ' ' '_' | cut -c1-80)"
  elif [ "$console" != pipe ]; then
    # What arrived in the pty's input is what the caller's shell would have read.
    local n
    n=$(printf '%s\n' "$out" | sed -n 's/^PTY-INPUT \([0-9]*\) .*/\1/p' | tail -n1)
    if [ "${n:-x}" = 0 ]; then
      line+=" outer=clean"
    else
      line+=" outer=injected(${n:-?})"
      if [[ $line == *" why="* ]]; then
        line=${line/ why=/ why=outer,}
      else
        line="${line/ REFUSED / ALLOWED } why=outer"
      fi
    fi
  fi
  RESULT[$row,$col]=$line
}

# Each nspawn column only where systemd-nspawn runs that way here (-U may not): a probe first.
if [ "$HAVE_NSPAWN" = 1 ]; then
  for col in nspawn nspawn-a nspawn-U; do
    runner "$col" pipe
    timeout -k 5 120 "${RUNNER[@]}" /hostile/netlink-audit </dev/null >"$LOGS/$col.probe" 2>&1 || true
    grep -q '^netlink-audit \(REFUSED\|ALLOWED\)' "$LOGS/$col.probe" && continue
    log "systemd-nspawn (${TITLE[$col]}) does not run here ($(tail -n1 "$LOGS/$col.probe")): its column stays empty"
    kept=()
    for c in "${COLS[@]}"; do [ "$c" = "$col" ] || kept+=("$c"); done
    COLS=("${kept[@]}")
    for k in "${!NSPAWN_PEER[@]}"; do [ "${NSPAWN_PEER[$k]}" != "$col" ] || unset "NSPAWN_PEER[$k]"; done
  done
  [ -n "${NSPAWN_PEER[cowpen-U]:-}" ] || [[ " ${COLS[*]} " != *" nspawn "* ]] || NSPAWN_PEER[cowpen-U]=nspawn
fi
[ -e /proc/sysrq-trigger ] || {
  EXPECT[sysrq]+=" || open=ENOENT"; EXPECT_A[sysrq]+=" || open=ENOENT"
  REASON[sysrq]+=" [this kernel has no /proc/sysrq-trigger (CONFIG_MAGIC_SYSRQ off): ENOENT accepted]"
}

for row in "${ROWS[@]}"; do
  for col in "${COLS[@]}"; do
    [ -n "$col" ] || continue
    run_cell "$row" "$col"
  done
done

# ---------------------------------------------------------------------------------------------
# Judging and the table.
# ---------------------------------------------------------------------------------------------
value_of() { # value_of LINE KEY
  local w words
  read -ra words <<<"$1"
  for w in "${words[@]}"; do [[ $w == "$2="* ]] && { printf '%s' "${w#*=}"; return 0; }; done
  return 1
}
verdict_of() { local a; read -r _ a _ <<<"$1"; printf '%s' "$a"; }
# matches LINE SPEC: some alternative of SPEC has all its KEY=VALUE in LINE.
matches() {
  local line=$1 alt kv val ok kvs
  [ "$(verdict_of "$line")" != ERROR ] || return 1
  while IFS= read -r alt; do
    ok=1
    read -ra kvs <<<"$alt"
    for kv in "${kvs[@]}"; do
      val=$(value_of "$line" "${kv%%=*}") || { ok=0; break; }
      [[ "|${kv#*=}|" == *"|$val|"* ]] || { ok=0; break; }
    done
    [ $ok = 1 ] && return 0
  done <<<"${2// || /$'\n'}"
  return 1
}
spec_of() { if [[ $2 == *-a ]]; then printf '%s' "${EXPECT_A[$1]}"; else printf '%s' "${EXPECT[$1]}"; fi; }
is_cowpen() { [[ $1 == cowpen-* ]]; }
# The short form of a cell: the one errno all expected keys share; REFUSED when they differ but
# match; else their values in the order of the expectation (A/B/C); ALLOWED(what worked); "!"
# before a cowpen cell that fails the test.
cell_text() {
  local row=$1 col=$2 line=${RESULT[$1,$2]} spec keys k vals=() t bad= uniq
  [ "$line" != "-" ] || { printf -- '-'; return; }
  spec=$(spec_of "$row" "$col")
  keys=$(printf '%s\n' "${spec// || /$'\n'}" | tr ' ' '\n' | sed 's/=.*//' | awk '!s[$0]++')
  case $(verdict_of "$line") in
    ERROR) t=ERROR ;;
    ALLOWED) t="ALLOWED($(value_of "$line" why || printf '?'))" ;;
    REFUSED)
      for k in $keys; do vals+=("$(value_of "$line" "$k" || printf '?')"); done
      uniq=$(printf '%s\n' "${vals[@]}" | sort -u)
      if [ "$(printf '%s\n' "$uniq" | wc -l)" = 1 ] && [[ $uniq =~ ^E[A-Z0-9]+$ ]]; then
        t=$uniq
      elif matches "$line" "$spec"; then
        t=REFUSED
      else
        t="$(IFS=/; printf '%s' "${vals[*]}")"
      fi ;;
  esac
  if is_cowpen "$col" && ! cell_ok "$row" "$col"; then bad='!'; fi
  printf '%s%s' "$bad" "$t"
}
# The verdict of nspawn's counterpart cell: REFUSED, ALLOWED, ERROR or "-".
peer_refuses() {
  local peer=${NSPAWN_PEER[$2]:-} line
  [ -n "$peer" ] || return 1
  line=${RESULT[$1,$peer]:-"-"}
  [ "$line" != "-" ] && [ "$(verdict_of "$line")" = REFUSED ]
}
cell_ok() {
  local line=${RESULT[$1,$2]}
  matches "$line" "$(spec_of "$1" "$2")" || return 1
  ! { peer_refuses "$1" "$2" && [ "$(verdict_of "$line")" = ALLOWED ]; }
}

cols=()
for c in "${COLS[@]}"; do [ -n "$c" ] && cols+=("$c"); done
# The expected column: the errno all keys share, else their values in order (A/B/C), of the
# first alternative; REFUSED where the -a columns expect something else.
expected_text() {
  local s=${EXPECT[$1]} v
  [ "$s" = "${EXPECT_A[$1]}" ] || { printf 'REFUSED'; return; }
  s=${s%% || *}
  v=$(printf '%s\n' $s | sed 's/^[^=]*=//' | awk '!s[$0]++')
  if [ "$(printf '%s\n' "$v" | wc -l)" = 1 ]; then printf '%s' "$v"; else printf '%s' "$v" | tr '\n' /; fi
}
table=$W/table
{
  printf '%s\t%s' program expected
  for c in "${cols[@]}"; do printf '\t%s' "${TITLE[$c]}"; done
  printf '\n'
  for row in "${ROWS[@]}"; do
    printf '%s\t%s' "$row" "$(expected_text "$row")"
    for c in "${cols[@]}"; do printf '\t%s' "$(cell_text "$row" "$c" | cut -c1-32)"; done
    printf '\n'
  done
} >"$table"
log ""
log "Expectations (every cowpen cell; the -a columns use the second form where there is one):"
for row in "${ROWS[@]}"; do
  log "  $row: ${EXPECT[$row]}$([ "${EXPECT_A[$row]}" = "${EXPECT[$row]}" ] || printf ' ; with -a: %s' "${EXPECT_A[$row]}")"
  log "      ${REASON[$row]}"
done
log ""
log "Result lines:"
for row in "${ROWS[@]}"; do
  for c in "${cols[@]}"; do log "  [${TITLE[$c]}] ${RESULT[$row,$c]}"; done
done

# One line per failing cell: the verdict and the expected keys' values, what was expected, and
# whether systemd-nspawn refuses it.
mismatches=()
for row in "${ROWS[@]}"; do
  for c in "${cols[@]}"; do
    line=${RESULT[$row,$c]}
    if ! is_cowpen "$c"; then
      [ "$(verdict_of "$line")" != ERROR ] || mismatches+=("$row [${TITLE[$c]}]: test bug: $line")
      continue
    fi
    cell_ok "$row" "$c" && continue
    spec=$(spec_of "$row" "$c")
    got=$(verdict_of "$line")
    for k in $(printf '%s\n' "${spec// || /$'\n'}" | tr ' ' '\n' | sed 's/=.*//' | awk '!s[$0]++'); do
      got+=" $k=$(value_of "$line" "$k" || printf '?')"
    done
    m="$row [${TITLE[$c]}]: $got; expected $spec"
    if peer_refuses "$row" "$c" && [ "$(verdict_of "$line")" = ALLOWED ]; then
      m+="; systemd-nspawn (${TITLE[${NSPAWN_PEER[$c]}]}) refuses it"
    fi
    mismatches+=("$m")
  done
done

# ---------------------------------------------------------------------------------------------
# Host safety.
# ---------------------------------------------------------------------------------------------
problems=()
if ! kid=$(keyctl search @u user cowpen-hostile-canary 2>/dev/null) || [ "$kid" != "$KEY_ID" ]; then
  problems+=("the canary key is gone from the host's user keyring")
elif [ "$(keyctl pipe "$KEY_ID")" != "$SECRET" ]; then
  problems+=("the canary key was changed")
fi
keyctl search @u user cowpen-hostile-probe >/dev/null 2>&1 && problems+=("a probe key was left in the host's user keyring")
keyctl unlink "$KEY_ID" @u >/dev/null 2>&1 || true
state=$(awk '{print $3}' "/proc/$SLEEP_PID/stat" 2>/dev/null || echo gone)
[ "$state" = S ] || problems+=("the host's sleep $SLEEP_PID is in state $state (stopped or traced?)")
[ "$(cat /proc/sys/kernel/hostname)" = "$host_hostname" ] || problems+=("the host name changed")
[ "$(our_mounts)" = "$mounts_before" ] || problems+=("mounts left behind: $(comm -13 <(printf '%s\n' "$mounts_before") <(our_mounts) | tr '\n' ' ')")
findmnt -rn -o TARGET | grep -q '/hostile[.-]' && problems+=("a payload's scratch mount is visible on the host")
# The loop file system is ours to take down now; then nothing of it may be left.
umount "$M" || problems+=("cannot unmount $M")
losetup -d "$LOOP_DEV" 2>/dev/null || true
# (detached once nothing holds the file system: a mount namespace that outlives its container
# would, so wait a little and name who holds it)
for _ in $(seq 50); do [ -z "$(losetup -j "$LOOP_IMG")" ] && break; sleep 0.2; done
if [ -n "$(losetup -j "$LOOP_IMG")" ]; then
  holders=$(grep -l " $LOOP_MAJMIN " /proc/[0-9]*/mountinfo 2>/dev/null | cut -d/ -f3 |
    while read -r p; do printf '%s(%s) ' "$p" "$(cat /proc/$p/comm 2>/dev/null)"; done)
  problems+=("loop device left: $(losetup -j "$LOOP_IMG"); its file system still mounted in the mount namespace of: ${holders:-nobody}")
fi
[ -z "$(our_mounts)" ] || problems+=("mounts left: $(our_mounts | tr '\n' ' ')")
t1=$(date +%s)
u1=$(cut -d' ' -f1 /proc/uptime)
drift=$(awk -v t0="$t0" -v t1="$t1" -v u0="$u0" -v u1="$u1" 'BEGIN {d = (t1 - t0) - (u1 - u0); if (d < 0) d = -d; printf "%d", d}')
[ "$drift" -le 5 ] || problems+=("the clock moved by ${drift}s against the uptime")

log ""
if [ ${#mismatches[@]} -gt 0 ]; then
  log "${#mismatches[@]} cowpen cells fail (full result lines above):"
  for m in "${mismatches[@]}"; do log "  $m"; done
  log ""
fi
# For reference: where systemd-nspawn itself falls short of what cowpen must do.
short=()
for row in "${ROWS[@]}"; do
  for c in nspawn nspawn-a nspawn-U; do
    [[ " ${cols[*]} " == *" $c "* ]] || continue
    matches "${RESULT[$row,$c]}" "$(spec_of "$row" "$c")" || short+=("$row [${TITLE[$c]}]")
  done
done
[ ${#short[@]} -eq 0 ] || log "systemd-nspawn does not meet cowpen's expectation in: ${short[*]}"
log "Hostile payloads: cowpen and systemd-nspawn side by side ('!' = a cowpen cell that fails)"
column -t -s $'\t' "$table" >&2 || cat "$table" >&2
log ""
if [ ${#problems[@]} -gt 0 ]; then
  for p in "${problems[@]}"; do log "HOST SAFETY: $p"; done
fi
[ ${#problems[@]} -eq 0 ] || fail "host safety: ${problems[*]}"
[ ${#mismatches[@]} -eq 0 ] || fail "${#mismatches[@]} cells do not match the expectations (listed above the table)"
pass "every cowpen cell matches its expectation; nothing systemd-nspawn refuses is allowed; the host is unharmed"
