# Shared helpers for integration tests and benchmarks. Source it from bash:
#   . "$TEST_SRCDIR/tests/lib/lib.sh"
# Everything a test sets up (loop devices, mounts, temp dirs, processes) is registered with
# at_exit and torn down in reverse order when the test exits, also when it fails.
set -euo pipefail

TEST_SRCDIR=${TEST_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TEST_BUILDDIR=${TEST_BUILDDIR:-$TEST_SRCDIR/build}
COWPEN=${COWPEN:-$TEST_BUILDDIR/cowpen}
TREECMP=${TREECMP:-$TEST_BUILDDIR/tests/tools/treecmp}
FIXTURE_CACHE=${COWPEN_FIXTURE_CACHE:-/var/tmp/cowpen-fixtures}

_at_exit=()
at_exit() { _at_exit+=("$*"); }
_run_at_exit() {
  local rc=$? i
  set +e
  for ((i = ${#_at_exit[@]} - 1; i >= 0; i--)); do
    eval "${_at_exit[$i]}" >/dev/null 2>&1
  done
  exit $rc
}
trap _run_at_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A machine registry of the test's own (machine.h): machine names a test runs do not collide with
# those of tests running at the same time elsewhere on the host, nor with the host's own machines.
if [ -z "${COWPEN_MACHINES_DIR:-}" ]; then
  COWPEN_MACHINES_DIR=$(mktemp -d /var/tmp/cowpen-machines.XXXXXX)
  export COWPEN_MACHINES_DIR
  at_exit "rm -rf '$COWPEN_MACHINES_DIR'"
elif [ -n "${COWPEN_NET_TEST_INNER:-}" ] && [[ $COWPEN_MACHINES_DIR == /var/tmp/cowpen-machines.* ]]; then
  # net_test_enter re-executed the test in namespaces of its own, dropping the removal above.
  at_exit "rm -rf '$COWPEN_MACHINES_DIR'"
fi

log() { printf '%s\n' "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }
pass() { printf 'ok: %s\n' "$*" >&2; }

# Runs a command expected to succeed; shows its output on failure.
must() { "$@" || fail "command failed ($?): $*"; }
# Runs a command expected to fail with the given exit status (default: non-zero); its stderr is
# left in $ERR for further checks.
ERR=
must_fail() {
  local want=
  if [[ $1 =~ ^[0-9]+$ ]]; then want=$1; shift; fi
  local rc=0
  ERR=$("$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" -ne 0 ] || fail "expected failure, succeeded: $*"
  [ -z "$want" ] || [ "$rc" -eq "$want" ] || fail "expected exit $want, got $rc: $* ($ERR)"
  return 0
}
# The error of a failing command must be one line matching an extended regex.
assert_one_line_error() {
  local re=$1
  [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "error is not one line: $ERR"
  [[ $ERR =~ $re ]] || fail "error \"$ERR\" does not match /$re/"
}

# A fresh temporary directory, removed at exit.
make_temp_dir() {
  local d
  d=$(mktemp -d /var/tmp/cowpen-test.XXXXXX)
  # Loop filesystems made inside are unmounted first (registered later, so run earlier).
  at_exit "umount -R '$d' 2>/dev/null; chattr -R -i '$d' 2>/dev/null; rm -rf '$d'"
  TEMP_DIR=$d
}

# make_loop_fs TYPE SIZE: a fresh filesystem (btrfs, ext4, xfs) on a sparse loop file, mounted at
# $LOOP_MNT. Skips when the kernel or tools cannot do it. With LOOP_BACKING=DIR (e.g. /dev/shm for
# benchmarks, so the host disk's writeback does not add noise) the loop file lives there.
make_loop_fs() {
  local type=$1 size=$2 img mnt dev
  grep -qw "$type" /proc/filesystems || modprobe "$type" 2>/dev/null || true
  grep -qw "$type" /proc/filesystems || skip "kernel has no $type filesystem"
  command -v "mkfs.$type" >/dev/null || fail "mkfs.$type missing (scripts/install-deps.sh installs it)"
  [ -e /dev/loop-control ] || skip "no loop device support (/dev/loop-control missing)"
  make_temp_dir
  img=$TEMP_DIR/fs.img
  if [ -n "${LOOP_BACKING:-}" ]; then
    img=$(mktemp "$LOOP_BACKING/cowpen-loop.XXXXXX")
    at_exit "rm -f '$img'"
  fi
  mnt=$TEMP_DIR/mnt
  mkdir -p "$mnt"
  truncate -s "$size" "$img"
  case $type in
    btrfs) mkfs.btrfs -q "$img" >/dev/null ;;
    ext4) mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$img" >/dev/null ;;
    xfs) mkfs.xfs -q -m reflink=1 "$img" >/dev/null ;;
    *) mkfs."$type" "$img" >/dev/null ;;
  esac
  dev=$(losetup --find --show "$img") || skip "cannot attach a loop device"
  at_exit "losetup -d '$dev'"
  mount "$dev" "$mnt" || fail "cannot mount $type on $dev"
  at_exit "umount -l '$mnt'"
  LOOP_MNT=$mnt
  LOOP_DEV=$dev
}

# recipe_fixture NAME RECIPE [SUFFIX]: a real OS tree from an mmdebstrap recipe (a command line
# that takes the output tarball as its last argument), built once and cached under
# $FIXTURE_CACHE as NAME-KEY.tar, KEY from the recipe, and extracted (owners, modes, xattrs,
# ACLs) to NAME-KEY.SUFFIX (default "tree"; the suffix names the extraction method's version, so
# trees made by older ways of extracting stay apart). Sets FIXTURE_TAR and FIXTURE_DIR. Never
# modify FIXTURE_DIR: run with -x or copy it.
recipe_fixture() {
  local name=$1 recipe=$2 suffix=${3:-tree} key tar dir
  key=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
  tar=$FIXTURE_CACHE/$name-$key.tar
  dir=$FIXTURE_CACHE/$name-$key.$suffix
  FIXTURE_TAR=$tar
  FIXTURE_DIR=$dir
  # The completion marker lives beside the tree and names the tarball it was extracted from.
  if [ -f "$tar" ] && [ "$(cat "$dir.complete" 2>/dev/null)" = "$(stat -c %i-%s-%Y "$tar")" ]; then
    return 0
  fi
  command -v mmdebstrap >/dev/null || fail "mmdebstrap missing (scripts/install-deps.sh installs it)"
  mkdir -p "$FIXTURE_CACHE"
  (
    exec 9>"$FIXTURE_CACHE/.lock"
    flock 9
    [ -f "$tar" ] && [ "$(cat "$dir.complete" 2>/dev/null)" = "$(stat -c %i-%s-%Y "$tar")" ] && exit 0
    tmp=$(mktemp -d "$FIXTURE_CACHE/.build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    if [ ! -f "$tar" ]; then
      log "building $name fixture: $recipe"
      # shellcheck disable=SC2086
      ${recipe} "$tmp/out.tar" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
      mv "$tmp/out.tar" "$tar"
    fi
    rm -rf "$dir" "$dir.complete"
    mkdir "$tmp/tree"
    tar --numeric-owner --xattrs --xattrs-include='*' --acls -xpf "$tar" -C "$tmp/tree"
    # GNU tar leaves out POSIX ACLs stored as SCHILY.xattr.system.posix_acl_* records (as
    # mmdebstrap writes them): apply every stored xattr as it is.
    python3 - "$tar" "$tmp/tree" <<'PY' || exit 1
import os, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        for k, v in m.pax_headers.items():
            if k.startswith("SCHILY.xattr."):
                path = os.path.join(sys.argv[2], m.name)
                os.setxattr(path, k[len("SCHILY.xattr."):], v.encode("utf-8", "surrogateescape"),
                            follow_symlinks=False)
PY
    touch -r "$tmp/tree" "$tmp/tree"
    mv "$tmp/tree" "$dir"
    stat -c %i-%s-%Y "$tar" >"$dir.complete"
    rm -rf "$tmp"
  ) || fail "cannot build the $name fixture"
}

# The real Debian rootfs fixture (mmdebstrap minbase + systemd). Sets ROOTFS_TAR (the tarball)
# and ROOTFS_DIR (the tree). Never modify ROOTFS_DIR: copy it.
ROOTFS_RECIPE="mmdebstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2 bookworm"
rootfs_fixture() {
  recipe_fixture rootfs "$ROOTFS_RECIPE" tree2
  ROOTFS_TAR=$FIXTURE_TAR
  ROOTFS_DIR=$FIXTURE_DIR
}

# A tree that exercises every attribute the copy and extraction code must keep.
make_special_tree() {
  local d=$1
  mkdir -p "$d/etc" "$d/usr/bin" "$d/usr/lib" "$d/dev" "$d/var/empty" "$d/sub/deep/er"
  printf 'ID=special\nNAME="Special OS"\nPRETTY_NAME="Special OS 1"\n' >"$d/etc/os-release"
  head -c 100000 /dev/urandom >"$d/usr/bin/prog"
  ln "$d/usr/bin/prog" "$d/usr/bin/prog-hardlink"
  ln "$d/usr/bin/prog" "$d/sub/deep/prog-hardlink2"
  truncate -s 64M "$d/usr/lib/sparse"
  printf 'data in the middle' | dd of="$d/usr/lib/sparse" bs=1 seek=$((32 << 20)) conv=notrunc status=none
  mkfifo "$d/var/fifo"
  mknod "$d/dev/null" c 1 3
  mknod "$d/dev/loopx" b 7 200
  printf '#!/bin/sh\n' >"$d/usr/bin/suid"
  chmod 4755 "$d/usr/bin/suid"
  printf 'x' >"$d/usr/bin/sgid"
  chown 0:5 "$d/usr/bin/sgid"
  chmod 2711 "$d/usr/bin/sgid"
  chmod 1777 "$d/var/empty"
  printf 'cap' >"$d/usr/bin/ping"
  setcap cap_net_raw+ep "$d/usr/bin/ping"
  setfattr -n user.test -v "hello world" "$d/etc/os-release"
  setfattr -n user.dir -v "d" "$d/sub"
  setfacl -m u:1234:rwx "$d/sub/deep"
  setfacl -d -m g:4321:rx "$d/sub/deep"
  printf 'owned' >"$d/sub/owned"
  chown 1001:1002 "$d/sub/owned"
  ln -s ../etc/os-release "$d/usr/lib/os-release"
  ln -s /nonexistent/absolute "$d/sub/dangling"
  chown -h 7:8 "$d/sub/dangling"
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$d/var/sock" 2>/dev/null ||
    fail "cannot create a socket in the special tree"
  touch -d '2001-02-03 04:05:06' "$d/sub/owned"
  touch -h -d '2002-03-04 05:06:07' "$d/sub/dangling"
  touch -d '2003-04-05 06:07:08' "$d/sub/deep"
}

# treecmp A B: identical in paths, types, modes, owners, sizes, contents, symlink targets,
# hardlink groups, xattrs (capabilities and ACLs included, symlinks' too), device numbers and
# mtimes to the nanosecond (--mtime-seconds: to the second).
treecmp() { "$TREECMP" "$@"; }

# stale_cowpen_cgroups NAME-GLOB: the container cgroups (cowpen-PID-RANDOM-MACHINE) of cowpen runs
# that have ended, for machines matching NAME-GLOB: what a run left behind. Those of runs still
# going (other tests on this machine may run a machine of the same name) are not named.
stale_cowpen_cgroups() {
  local cg d p
  cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
  [ -n "$cg" ] || return 0
  find "$cg" -maxdepth 3 -type d -name "cowpen-*-$1" 2>/dev/null | while read -r d; do
    p=${d##*/cowpen-}
    p=${p%%-*}
    kill -0 "$p" 2>/dev/null || echo "$d"
  done
}
