#!/bin/bash
# One rule for the exit status: 2 when the command line is wrong in itself (unknown option, an
# option value or argument that does not parse, wrong argument count, options that exclude each
# other), 1 for every failure. A kernel EUCLEAN ("Structure needs cleaning", from a damaged ext4)
# exited 2 because EUSAGE was EUCLEAN, and invalid option values of run exited 1.
. "$TEST_SRCDIR/tests/lib/lib.sh"

make_temp_dir
R=$TEMP_DIR/machines
make_special_tree "$TEMP_DIR/src"
must "$COWPEN" -q --image-root="$R" import-fs "$TEMP_DIR/src" good
cw() { "$COWPEN" --image-root="$R" "$@"; }

# A kernel EUCLEAN is a failure: a file on an ext4 whose inode has a broken extent header.
command -v debugfs >/dev/null || fail "debugfs missing (e2fsprogs)"
[ -e /dev/loop-control ] || skip "no loop device support (/dev/loop-control missing)"
img=$TEMP_DIR/damaged.img
truncate -s 32M "$img"
mkfs.ext4 -q -F "$img" >/dev/null
printf 'x%.0s' $(seq 8192) >"$TEMP_DIR/payload"
debugfs -w -R "write $TEMP_DIR/payload f.tar" "$img" >/dev/null 2>&1 || fail "debugfs write"
debugfs -w -R "sif f.tar block[0] 0" "$img" >/dev/null 2>&1 || fail "debugfs sif"
mkdir "$TEMP_DIR/damaged"
dev=$(losetup --find --show "$img") || skip "cannot attach a loop device"
at_exit "losetup -d '$dev'"
mount -o ro,errors=continue "$dev" "$TEMP_DIR/damaged" || fail "cannot mount the damaged ext4"
at_exit "umount -l '$TEMP_DIR/damaged'"
[[ $(cat "$TEMP_DIR/damaged/f.tar" 2>&1) == *"Structure needs cleaning"* ]] ||
  skip "this kernel does not report the broken extent header as EUCLEAN"
must_fail 1 cw import-tar "$TEMP_DIR/damaged/f.tar" x
assert_one_line_error '^cowpen: import-tar .*/f.tar: Structure needs cleaning$'
must_fail 1 cw import-raw "$TEMP_DIR/damaged/f.tar" x
must_fail 1 "$COWPEN" verity-format "$TEMP_DIR/damaged/f.tar"
pass "a kernel EUCLEAN exits 1"

# Invalid option values and arguments: 2, one line, before anything is looked at.
usage() { # usage REGEX ARGS…
  local re=$1
  shift
  must_fail 2 cw "$@"
  assert_one_line_error "$re"
}
usage 'invalid --rlimit value "FOO=1"' run --rlimit=FOO=1 true
usage 'unknown capability "CAP_FOO"' run --capability=CAP_FOO true
usage 'unknown capability "CAP_FOO"' run --drop-capability=CAP_FOO true
usage 'unknown capability "CAP_FOO"' run --ambient-capability=CAP_FOO true
usage 'invalid --uuid value "xyz"' run --uuid=xyz true
usage 'invalid --oom-score-adjust value "1001"' run --oom-score-adjust=1001 true
usage 'invalid --cpu-affinity value "3-1"' run --cpu-affinity=3-1 true
usage 'personality: "s390" is not a personality of this host' run --personality=s390 true
usage 'unknown system call or group "@nonsense"' run --system-call-filter='@nonsense' true
usage 'invalid --private-users value "abc"' run --private-users=abc true
usage 'invalid --kill-signal value' run --kill-signal=SIGNOPE true
usage 'invalid --bind value "relative"' run --bind=relative true
usage 'invalid --image-policy value' run --image-policy=root=bogus true
usage 'invalid machine name "bad/name"' run -M bad/name true
usage '--root-hash=xyz: not a sha256 or sha512 hex digest' run -i x.raw --root-hash=xyz true
usage '--root-hash-sig=base64:%%%: malformed base64' run -i x.raw --root-hash-sig=base64:%%% true
usage 'invalid image name "bad/name"' clone good bad/name
usage 'invalid image name' import-fs "$TEMP_DIR/src" .hidden
usage 'invalid image name' remove bad/name
usage 'invalid image name' image-status bad/name
usage 'expected yes or no' read-only good maybe
usage '--max-entries=0: expected a positive number' import-tar --max-entries=0 x.tar
usage '--format=rar' export-tar --format=rar good x.tar
usage '--verify= takes no, checksum or signature' pull-tar --verify=maybe http://example.com/x.tar
usage '--salt=xyz' verity-format --salt=xyz x.raw
usage '--root-hash=abc: not a sha1, sha256 or sha512 hex digest' verity-verify --root-hash=abc x.raw
usage '--root-hash=abc' verity-sign --root-hash=abc --private-key=k --certificate=c x.raw
usage '--root-hash-sig=base64:%%%: malformed base64' verity-verify --root-hash-sig=base64:%%% x.raw
usage 'too many arguments' clone a b c
usage 'unknown verb' frobnicate
must_fail 2 cw run --no-such-option
must_fail 2 cw --no-such-option list-images
usage 'may not be combined' run -b -a -M good
pass "invalid values, arguments and combinations exit 2"

# Failures found by looking at the system stay 1.
must_fail 1 cw clone missing x
must_fail 1 cw clone good good
must_fail 1 cw import-tar "$TEMP_DIR/nonexistent.tar" x
must_fail 1 cw run -M nosuch true
pass "failures exit 1"
