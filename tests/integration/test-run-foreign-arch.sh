#!/bin/bash
# An arm64 Debian rootfs (mmdebstrap --arch=arm64 --variant=extract of busybox-static: nothing of
# it has to run on the host to build it) under cowpen on an x86-64 host:
# - with no binfmt_misc handler and no -U: one line naming the architectures and what to do;
# - with -U and no host handler: cowpen registers qemu-user in the container's own user
#   namespace (binfmt_misc per user namespace, kernel 6.7+; a skip line where it is older) and
#   `uname -m` says aarch64; nothing is registered on the host afterwards;
# - with a host handler (F flag) the test registers, and removes at exit: aarch64;
# - with qemu-user hidden (bind mounts in a mount namespace of the test's own) and no handler:
#   the one-line error naming qemu-user-static;
# - import-fs of it warns (one line) that it cannot run here without a handler.
. "$TEST_SRCDIR/tests/lib/lib.sh"

[ "$(uname -m)" = x86_64 ] || skip "the test's foreign architecture is arm64 on an x86-64 host"
QEMU=/usr/bin/qemu-aarch64-static
[ -x "$QEMU" ] || fail "qemu-user-static is not installed (scripts/packages/arch.txt)"
grep -qw binfmt_misc /proc/filesystems || skip "kernel has no binfmt_misc"
recipe_fixture arm64 "mmdebstrap --variant=extract --arch=arm64 --include=busybox-static bookworm"
make_temp_dir
W=$TEMP_DIR
T=$W/arm64
cp -a "$FIXTURE_DIR" "$T"
mkdir -p "$T"/{proc,sys,dev,run,tmp,usr/bin}
for a in sh uname cat; do ln -sf busybox "$T/bin/$a"; done
printf 'ID=debian\nNAME="Debian arm64 busybox"\n' > "$T/etc/os-release"

BM=/proc/sys/fs/binfmt_misc
# A handler for arm64 ELF files already on the host (not the test's): the -U and error cases
# below need its absence.
host_handler() {
  local e
  for e in "$BM"/*; do
    [ -f "$e" ] || continue
    case ${e##*/} in status | register) continue ;; esac
    grep -q '^magic 7f454c460201010000000000000000000200b700' "$e" 2>/dev/null && grep -q '^enabled' "$e" && return 0
  done
  return 1
}
host_handler && skip "the host has an arm64 binfmt_misc handler of its own"

# 1. No handler, no -U.
must_fail 1 "$COWPEN" run -D "$T" uname -m
assert_one_line_error 'image architecture arm64 cannot run on x86-64: no binfmt_misc handler for it .*-U'
pass "no handler, no -U: one line"

# 2. -U: a handler in the container's user namespace only.
kv=$(uname -r | cut -d. -f1-2)
if [ "$(printf '%s\n6.7\n' "$kv" | sort -V | head -1)" != 6.7 ]; then
  log "SKIP: kernel $kv has no binfmt_misc per user namespace (6.7): -U case not run"
else
  out=$("$COWPEN" run -U -D "$T" uname -m) || fail "run -U: $out"
  [ "$out" = aarch64 ] || fail "run -U: uname -m said $out"
  host_handler && fail "run -U left a handler on the host"
  pass "-U: aarch64 through a handler in the container's user namespace, none on the host"
fi

# 3. Qemu hidden (a mount namespace of the test's own), no handler: the package is named.
must_fail 1 unshare -m sh -c "mount --make-rprivate / && mount --bind /dev/null '$QEMU' &&
  { [ ! -d /usr/libexec/qemu-binfmt ] || mount -t tmpfs tmpfs /usr/libexec/qemu-binfmt; } &&
  exec '$COWPEN' run -U -D '$T' uname -m"
assert_one_line_error 'image architecture arm64 cannot run on x86-64: no binfmt_misc handler for it; install qemu-user-static$'
pass "no qemu-user at all: one line naming qemu-user-static"

# 4. import-fs warns that it will not run here.
export COWPEN_IMAGE_ROOT=$W/images
mkdir "$COWPEN_IMAGE_ROOT"
"$COWPEN" import-fs "$T" arm > "$W/import.out" 2>&1 || fail "import-fs: $(cat "$W/import.out")"
grep -q '^cowpen: import-fs .* arm: image architecture arm64 cannot run on x86-64' "$W/import.out" ||
  fail "import-fs did not warn: $(cat "$W/import.out")"
[ "$(grep -c 'architecture' "$W/import.out")" -eq 1 ] || fail "more than one line: $(cat "$W/import.out")"
pass "import-fs warns with one line"

# 5. A host handler with the F flag, registered here and removed at exit (binfmt_misc mounted
# for it if the host had not, and unmounted again).
if [ ! -e "$BM/register" ]; then
  mount -t binfmt_misc binfmt_misc "$BM" || skip "cannot mount binfmt_misc on the host"
  at_exit "umount '$BM'"
fi
name=cowpen-test-$$
at_exit "[ ! -e '$BM/$name' ] || echo -1 > '$BM/$name'"
printf ':%s:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:%s:F' \
  "$name" "$QEMU" > "$BM/register" || fail "cannot register a binfmt_misc handler"
out=$("$COWPEN" run -D "$T" uname -m) || fail "run with a host handler: $out"
[ "$out" = aarch64 ] || fail "with a host handler: uname -m said $out"
out=$("$COWPEN" run -x -D "$T" sh -c 'uname -m') || fail "run -x with a host handler: $out"
[ "$out" = aarch64 ] || fail "-x with a host handler: $out"
"$COWPEN" import-fs --force "$T" arm > "$W/import.out" 2>&1 || fail "import-fs: $(cat "$W/import.out")"
! grep -q 'architecture' "$W/import.out" || fail "import-fs warned with a handler: $(cat "$W/import.out")"
echo -1 > "$BM/$name"
pass "a host handler with the F flag: aarch64, and no warning on import"
