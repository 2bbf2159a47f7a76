#!/bin/bash
# Bad input to cowpen run: each a one-line error naming the object and the cause, exit status 1
# (2 for an option value that does not parse: bad usage), and nothing left behind (no hidden
# entry, no lock file, no mount).
. "$TEST_SRCDIR/tests/lib/lib.sh"

rootfs_fixture
make_loop_fs ext4 1G
export COWPEN_IMAGE_ROOT=$LOOP_MNT/images
must "$COWPEN" -q import-fs "$ROOTFS_DIR" deb >/dev/null
mkdir -p "$LOOP_MNT/empty/sub" "$LOOP_MNT/dirs"
cp -a "$ROOTFS_DIR" "$LOOP_MNT/dirs/tree"

# What a failed run could leave: entries, lock files, mounts on our filesystem (the host's other
# mounts come and go with other tests).
state() { ls -A "$COWPEN_IMAGE_ROOT" "$LOOP_MNT/dirs" "$LOOP_MNT/empty"; grep -c " $LOOP_MNT" /proc/self/mountinfo; }
before=$(state)

check_status() { # check_status STATUS REGEX ARGS…: run must fail with STATUS and that one-line error, leaving nothing
  local status=$1 re=$2
  shift 2
  must_fail "$status" "$COWPEN" run "$@"
  assert_one_line_error "$re"
  [ "$(state)" = "$before" ] || fail "run $* left something behind: $(diff <(echo "$before") <(state))"
}
check() { check_status 1 "$@"; }       # a failure
check_usage() { check_status 2 "$@"; } # bad usage: an option value that does not parse

# The four of the issue, with -D, -M and -x.
check '^cowpen: run /nonexistent/dir: directory does not exist$' -D /nonexistent/dir /bin/true
check '^cowpen: run .*/empty: not an OS tree' -D "$LOOP_MNT/empty" /bin/true
check '^cowpen: run .*/empty: not an OS tree' -x -D "$LOOP_MNT/empty" /bin/true
check '^cowpen: run tree: bind source /nonexistent/src: No such file or directory$' -D "$LOOP_MNT/dirs/tree" --bind=/nonexistent/src:/mnt /bin/true
check '^cowpen: run deb: bind source /nonexistent/src: No such file or directory$' -x -M deb --bind=/nonexistent/src /bin/true
check '^cowpen: run tree: bind source /nonexistent/src: No such file or directory$' -x -D "$LOOP_MNT/dirs/tree" --bind-ro=/nonexistent/src /bin/true
check_usage '^cowpen: run: unknown capability "CAP_NOPE"$' -M deb --capability=CAP_NOPE /bin/true
check_usage '^cowpen: run: unknown capability "bogus"$' -x -M deb --drop-capability=CAP_CHOWN,bogus /bin/true
pass "missing directory, not an OS tree, missing bind source, unknown capability"

# More of the same kind.
mkdir -p "$LOOP_MNT/empty-os/etc" && echo ID=x >"$LOOP_MNT/empty-os/etc/os-release"
before=$(state)
check '^cowpen: run: no image "nosuch"$' -M nosuch /bin/true
check '^cowpen: run: no image "nosuch"$' -x -M nosuch /bin/true
check_usage 'invalid machine name' -M 'bad/name' /bin/true
check 'execute /bin/nonexistent: No such file or directory' -x -M deb /bin/nonexistent
check 'user nosuchuser: no such user in the container' -x -M deb -u nosuchuser /bin/true
check 'change directory to /nonexistent' -x -M deb --chdir=/nonexistent /bin/true
check 'overlay layer /nonexistent' -x -M deb --overlay=/nonexistent:/tmp:/mnt /bin/true
check 'no init in the image' -b -D "$LOOP_MNT/empty-os"
check '^cowpen: run -i .*/x.raw: open image: No such file or directory$' -i "$LOOP_MNT/x.raw"
check_usage 'invalid --private-users value' -M deb --private-users=sometimes
check_usage 'invalid --rlimit value' -M deb --rlimit=NOFILE=2:1 /bin/true
check_usage 'invalid --rlimit value "FOO=1"' -M deb --rlimit=FOO=1 /bin/true
check_usage 'invalid --uuid value "xyz"' -M deb --uuid=xyz /bin/true
check_usage 'invalid --bind value' -M deb --bind=relative /bin/true
check_usage 'invalid --volatile value' -M deb --volatile=sometimes /bin/true
check_usage 'invalid --setenv value' -M deb -E '1X=y' /bin/true
check 'refusing to run the host.s root directory' -D / /bin/true
# A settings file that breaks a limit is refused as a whole.
head -c $((64 * 1024 + 1)) /dev/zero | tr '\0' a >"$COWPEN_IMAGE_ROOT/deb.nspawn"
before=$(state)
check 'settings file .*deb.nspawn: too many entries or too long a line' -x -M deb /bin/true
rm "$COWPEN_IMAGE_ROOT/deb.nspawn"
before=$(state)
must_fail 2 "$COWPEN" run --no-such-option
must_fail 2 "$COWPEN" run -x --template=/ -D /x
pass "other bad input"
