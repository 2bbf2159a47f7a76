#!/bin/bash
# cowpen bind into a running container of the real Debian rootfs (-x): a host directory appears
# inside, and the payload sees a file the host creates there afterwards; the payload's writes
# reach the host; --read-only is read-only inside; --mkdir makes a missing target (a directory,
# or an empty file for a file source), without it a missing target is one line, as are a missing
# host path, a relative target and a target to make in a read-only root; a symlink planted inside is resolved in the container's root.
# The host's own mount table never gains the mount. With -U the mount is idmapped: the host's
# root-owned files are the container root's, and it can write there.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/enter.sh"

enter_setup
IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
[ "$kmaj" -gt 5 ] || { [ "$kmaj" = 5 ] && [ "${kmin%%[!0-9]*}" -ge 12 ]; } ||
  skip "the kernel has no mount_setattr (Linux 5.12) for bind's new mount API"
# The payload reads what the host puts into the bound directory once it is asked to.
payload='touch /run/ready-bd1; while :; do if [ -e /run/go ]; then cat /mnt/share/later >/run/seen 2>&1; rm /run/go; fi; sleep 0.1; done'
machine_start bd1 -- /bin/sh -c "$payload"
L=$LEADER
S=$TEMP_DIR/share
mkdir -p "$S"
printf 'before\n' >"$S/before"
in_machine() { "$COWPEN" shell bd1 /bin/sh -c "$1"; }
host_mounts_before=$(wc -l </proc/self/mountinfo)

# 1. A directory, --mkdir; the host writes afterwards, the payload reads it.
must_fail 1 "$COWPEN" bind bd1 "$S" /mnt/share
assert_one_line_error '/mnt/share: no such file or directory in the container'
must "$COWPEN" bind --mkdir bd1 "$S" /mnt/share
[ "$(in_machine 'cat /mnt/share/before')" = before ] || fail "bound directory not visible inside"
printf 'after the bind\n' >"$S/later"
touch /proc/$L/root/run/go
for _ in $(seq 100); do [ -e /proc/$L/root/run/go ] || break; sleep 0.1; done
[ "$(cat /proc/$L/root/run/seen)" = "after the bind" ] || fail "the payload did not see the host's new file: $(cat /proc/$L/root/run/seen)"
in_machine 'echo from inside >/mnt/share/inside'
[ "$(cat "$S/inside")" = "from inside" ] || fail "the container's write did not reach the host"
grep -q " /mnt/share " /proc/$L/mountinfo || fail "no mount at /mnt/share in the container's mount table"
pass "bind --mkdir makes a host directory appear in the running container, both ways"

# 2. --read-only.
must "$COWPEN" bind --read-only --mkdir bd1 "$S" /mnt/ro
[ "$(in_machine 'cat /mnt/ro/before')" = before ] || fail "read-only bind not visible"
out=$(in_machine 'echo x >/mnt/ro/new' 2>&1) && fail "writing to a --read-only bind succeeded"
grep -q "Read-only file system" <<<"$out" || fail "writing to a --read-only bind: $out"
[ ! -e "$S/new" ] || fail "a --read-only bind was written"
pass "bind --read-only is read-only inside"

# 3. A file onto a file; a symlink planted inside stays inside.
printf 'single file\n' >"$TEMP_DIR/single"
must "$COWPEN" bind --mkdir bd1 "$TEMP_DIR/single" /etc/cowpen-single
[ "$(in_machine 'cat /etc/cowpen-single')" = "single file" ] || fail "file bind not visible"
in_machine "ln -s /etc /root/etc-link"
must "$COWPEN" bind --mkdir bd1 "$S" /root/etc-link/cowpen-share
[ ! -e /etc/cowpen-share ] || { rmdir /etc/cowpen-share 2>/dev/null; fail "bind --mkdir through a symlink made the host's /etc/cowpen-share"; }
[ "$(in_machine 'cat /etc/cowpen-share/before')" = before ] || fail "bind through /root/etc-link is not in the container's /etc"
pass "a file binds onto a file; a symlink inside resolves in the container's root"

# 4. One line for what cannot be done.
must_fail 1 "$COWPEN" bind bd1 "$TEMP_DIR/nonexistent" /mnt/x
assert_one_line_error 'nonexistent'
must_fail 2 "$COWPEN" bind bd1 "$S" relative
must_fail 1 "$COWPEN" bind nosuchmachine "$S" /mnt
assert_one_line_error 'nosuchmachine'
[ "$(wc -l </proc/self/mountinfo)" = "$host_mounts_before" ] || fail "the host's mount table changed"
pass "a missing host path, a relative target, a machine that does not run: one line; the host's mounts unchanged"

# A read-only root: --mkdir cannot make the target (one line); an existing one takes the mount.
machine_start bro --read-only -- /bin/sh -c "touch /run/ready-bro; exec sleep infinity"
must_fail 1 "$COWPEN" bind --mkdir bro "$S" /cowpen-new
assert_one_line_error '/cowpen-new: the container.s file system is read-only'
must "$COWPEN" bind bro "$S" /mnt
[ "$("$COWPEN" shell bro /bin/cat /mnt/before)" = before ] || fail "bind onto /mnt of a read-only root"
pass "a read-only root: --mkdir is refused in one line, an existing target takes the bind"

# 5. -U: idmapped through the container's user namespace.
machine_start bdu -U -- /bin/sh -c "$(ready_payload bdu)"
must "$COWPEN" bind --mkdir bdu "$S" /mnt/share
[ "$("$COWPEN" shell bdu /usr/bin/stat -c %u /mnt/share/before)" = 0 ] ||
  fail "-U: the host root's file is $("$COWPEN" shell bdu /usr/bin/stat -c %u /mnt/share/before) inside"
"$COWPEN" shell bdu /bin/sh -c 'echo from -U >/mnt/share/from-u' || fail "-U: the container's root cannot write the bind"
[ "$(stat -c %u "$S/from-u")" = 0 ] || fail "-U: written as $(stat -c %u "$S/from-u") on the host"
pass "with -U the bind is idmapped: the container's root is the host's root there"
