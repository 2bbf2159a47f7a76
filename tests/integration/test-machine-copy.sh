#!/bin/bash
# cowpen copy-to and copy-from with a running container of the real Debian rootfs (-x): a file
# goes in and comes back out with its content and mode, a directory tree (a symlink, a nested
# directory, an xattr, times) both ways equal to the original (treecmp); PATH defaults to HOSTPATH;
# an existing directory receives the copy under the source's name; an existing file is not
# replaced (one line); nothing is left under a temporary name. Symlinks planted inside the
# container resolve inside its root: one to /etc puts the copy in the container's /etc, never the
# host's; one to a host path that only the host has fails (the host file untouched, never read),
# and so does a "..". With -U the owners are shifted into the container's range going in and out
# of it coming back.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/enter.sh"

enter_setup
machine_start cp1 -- /bin/sh -c "$(ready_payload cp1)"
L=$LEADER
H=$TEMP_DIR/host
mkdir -p "$H"
in_machine() { "$COWPEN" shell cp1 /bin/sh -c "$1"; }

# 1. A file both ways.
printf 'payload data\n' >"$H/file"
chmod 0640 "$H/file"
must "$COWPEN" copy-to cp1 "$H/file" /root/file
[ "$(in_machine 'stat -c "%a %u" /root/file; cat /root/file')" = "640 0
payload data" ] || fail "copy-to: $(in_machine 'ls -l /root/file; cat /root/file')"
must "$COWPEN" copy-from cp1 /root/file "$H/back"
cmp "$H/file" "$H/back" || fail "copy-from: content differs"
[ "$(stat -c %a "$H/back")" = 640 ] || fail "copy-from: mode $(stat -c %a "$H/back")"
pass "a file goes in and comes back with its content and mode"

# 2. A directory tree both ways; PATH defaults to HOSTPATH; a directory target takes the name.
mkdir -p "$H/tree/sub/deeper"
printf 'a\n' >"$H/tree/a"
printf 'b\n' >"$H/tree/sub/deeper/b"
ln -s ../a "$H/tree/sub/link"
chmod 0750 "$H/tree/sub"
setfattr -n user.cowpen -v test "$H/tree/a" 2>/dev/null || true
touch -d '2001-02-03 04:05:06' "$H/tree/a"
in_machine "mkdir -p '$H'"
must "$COWPEN" copy-to cp1 "$H/tree"
must "$COWPEN" copy-to cp1 "$H/tree" /srv
[ "$(in_machine "cat '$H/tree/sub/deeper/b' /srv/tree/a; readlink /srv/tree/sub/link")" = "b
a
../a" ] || fail "copy-to of a tree: $(in_machine "ls -laR '$H/tree' /srv")"
mkdir "$H/out"
must "$COWPEN" copy-from cp1 /srv/tree "$H/out"
must treecmp "$H/tree" "$H/out/tree"
pass "a directory tree goes in (at HOSTPATH, and into an existing directory) and comes back equal"

must_fail 1 "$COWPEN" copy-to cp1 "$H/file" /root/file
assert_one_line_error '/root/file: exists already'
must_fail 1 "$COWPEN" copy-from cp1 /root/file "$H/back"
assert_one_line_error 'exists already'
must_fail 1 "$COWPEN" copy-to cp1 "$H/nonexistent" /root/x
assert_one_line_error 'nonexistent'
must_fail 1 "$COWPEN" copy-from cp1 /nonexistent "$H/x"
assert_one_line_error 'nonexistent'
must_fail 2 "$COWPEN" copy-to cp1 "$H/file" relative/path
[ -z "$(in_machine 'ls -A /root /srv | grep "^\.#" || true')" ] || fail "temporary entries left inside"
[ -z "$(ls -A "$H" | grep '^\.#' || true)" ] || fail "temporary entries left on the host"
pass "existing targets are not replaced, missing sources are one line, nothing is left behind"

# 3. Symlinks planted inside never lead out of the container's root.
mkdir -p "$TEMP_DIR/hostonly"
printf 'host secret\n' >"$TEMP_DIR/hostonly/secret"
sum=$(sha256sum "$TEMP_DIR/hostonly/secret")
atime=$(stat -c %X "$TEMP_DIR/hostonly/secret")
in_machine "ln -s /etc /root/etc-link; ln -s '$TEMP_DIR/hostonly' /root/host-link; ln -s '$TEMP_DIR/hostonly/secret' /root/secret-link"
must "$COWPEN" copy-to cp1 "$H/file" /root/etc-link/cowpen-planted
[ ! -e /etc/cowpen-planted ] || { rm -f /etc/cowpen-planted; fail "copy-to through a symlink wrote the host's /etc"; }
[ "$(in_machine 'cat /etc/cowpen-planted')" = "payload data" ] || fail "copy-to through /root/etc-link did not land in the container's /etc"
must_fail 1 "$COWPEN" copy-to cp1 "$H/file" /root/host-link/planted
assert_one_line_error 'No such file or directory'
[ ! -e "$TEMP_DIR/hostonly/planted" ] || fail "copy-to through a symlink wrote the host path it names"
must_fail 1 "$COWPEN" copy-to cp1 "$H/file" "/../../../../../../$TEMP_DIR/hostonly/planted2"
[ ! -e "$TEMP_DIR/hostonly/planted2" ] || fail "copy-to with .. wrote the host"
must_fail 1 "$COWPEN" copy-from cp1 /root/secret-link "$H/stolen"
assert_one_line_error 'No such file or directory'
[ ! -e "$H/stolen" ] || fail "copy-from through a symlink read the host file"
must_fail 1 "$COWPEN" copy-from cp1 "/../../../../$TEMP_DIR/hostonly/secret" "$H/stolen2"
[ ! -e "$H/stolen2" ] || fail "copy-from with .. read the host file"
[ "$(sha256sum "$TEMP_DIR/hostonly/secret")" = "$sum" ] && [ "$(stat -c %X "$TEMP_DIR/hostonly/secret")" = "$atime" ] ||
  fail "the host file was touched"
pass "symlinks and .. planted inside resolve in the container's root"

# 4. -U: owners shifted into the range and back out.
machine_start cpu -U -- /bin/sh -c "$(ready_payload cpu)"
shift=$(awk 'NR == 1 { print $2 }' /proc/$LEADER/uid_map)
[ "$shift" != 0 ] || fail "-U: no shifted range"
chown 1000:1000 "$H/file"
must "$COWPEN" copy-to cpu "$H/file" /root/file
[ "$("$COWPEN" shell cpu /usr/bin/stat -c '%u:%g' /root/file)" = 1000:1000 ] ||
  fail "-U: inside owner $("$COWPEN" shell cpu /usr/bin/stat -c '%u:%g' /root/file)"
"$COWPEN" shell cpu /bin/sh -c 'echo made inside >/root/inside; chown 1001:1001 /root/inside'
must "$COWPEN" copy-from cpu /root/inside "$H/inside"
[ "$(stat -c '%u:%g' "$H/inside")" = 1001:1001 ] || fail "-U: copied out with owner $(stat -c '%u:%g' "$H/inside")"
pass "with -U owners are shifted into the range (base $shift) and out again"
