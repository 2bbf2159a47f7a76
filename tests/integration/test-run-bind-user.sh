#!/bin/bash
# cowpen run --bind-user=NAME (with -U), as systemd-nspawn: a host user the test makes (removed at
# exit) has its home at /run/host/home/NAME, idmapped so that its files are the container's UID
# 60514 (and what that UID writes is the host user's on disk); /run/host/userdb has NAME.user,
# NAME.group, NAME.user-privileged (0600, the password hash) and the 60514.* symlinks; with
# nss-systemd in the container (the host's libnss_systemd.so.2 in a copy of the Debian fixture,
# "systemd" in its nsswitch.conf) `getent passwd NAME` and `id NAME` resolve the user; without -U,
# for root, nobody, an unknown user, a user the container has already and a user without a private
# group the run is refused with one line.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

command -v useradd >/dev/null || fail "useradd (passwd) is needed"

make_temp_dir
T=$TEMP_DIR
ROOT=$T/bb
make_busybox_tree "$ROOT"

U=cowpen-bu$$
G2=cowpen-bg$$
H=$T/home
mkdir "$H"
at_exit "userdel '$U' 2>/dev/null; userdel '${U}x' 2>/dev/null; groupdel '$G2' 2>/dev/null"
useradd -M -U -d "$H" -s /bin/sh "$U" || fail "useradd $U"
echo "$U:bind-user-pw" | chpasswd || fail "chpasswd"
chown "$U:$U" "$H"
echo mine >"$H/file"
chown "$U:$U" "$H/file"
HUID=$(id -u "$U")

# 1. The home, the mapping, the records.
out=$("$COWPEN" run -q -D "$ROOT" -P -U --bind-user="$U" /bin/sh -c "
  /bin/busybox stat -c '%n %u %g %a' /run/host/home/$U /run/host/home/$U/file /run/host/userdb/$U.user \
    /run/host/userdb/$U.group /run/host/userdb/$U.user-privileged
  cat /run/host/home/$U/file
  cat /run/host/userdb/60514.user; cat /run/host/userdb/60514.group
  for l in user group user-privileged; do /bin/busybox readlink /run/host/userdb/60514.\$l; done
  /bin/busybox grep -c bind-user-pw /run/host/userdb/$U.user-privileged
  /bin/busybox grep -c '\"hashedPassword\":\[\"\\$' /run/host/userdb/$U.user-privileged
  /bin/busybox grep -c hashedPassword /run/host/userdb/$U.user; true" 2>&1) || fail "run --bind-user: $out"
grep -qx "/run/host/home/$U 60514 60514 755" <<<"$out" || fail "home not the container UID 60514's: $out"
grep -qx "/run/host/home/$U/file 60514 60514 644" <<<"$out" || fail "the user's file not 60514's: $out"
grep -qx "/run/host/userdb/$U.user 0 0 644" <<<"$out" || fail "NAME.user: $out"
grep -qx "/run/host/userdb/$U.group 0 0 644" <<<"$out" || fail "NAME.group: $out"
grep -qx "/run/host/userdb/$U.user-privileged 0 0 600" <<<"$out" || fail "NAME.user-privileged: $out"
grep -qx mine <<<"$out" || fail "the home's file is not readable: $out"
grep -qxF "{\"userName\":\"$U\",\"uid\":60514,\"gid\":60514,\"homeDirectory\":\"/run/host/home/$U\",\"service\":\"io.systemd.NSpawn\"}" <<<"$out" ||
  fail "user record: $out"
grep -qxF "{\"groupName\":\"$U\",\"gid\":60514,\"service\":\"io.systemd.NSpawn\"}" <<<"$out" || fail "group record: $out"
grep -qx "$U.user" <<<"$out" && grep -qx "$U.group" <<<"$out" && grep -qx "$U.user-privileged" <<<"$out" ||
  fail "the UID/GID symlinks: $out"
[ "$(sed -n '$p' <<<"$out")" = 0 ] || fail "NAME.user has the password hash: $out"
[ "$(tail -3 <<<"$out" | head -1)" = 0 ] && [ "$(tail -2 <<<"$out" | head -1)" = 1 ] ||
  fail "NAME.user-privileged: no hash, or the clear password: $out"
pass "--bind-user: home at /run/host/home/NAME as UID 60514, userdb records (user, group, privileged, symlinks)"

# 2. What UID 60514 writes in the home is the host user's on disk; the container's root is not
#    the user (its files keep the host user's owner only through the mapping).
"$COWPEN" run -q -D "$ROOT" -P -U --bind-user="$U" -u 60514 /bin/sh -c "echo from-container >/run/host/home/$U/new" ||
  fail "UID 60514 cannot write its home"
[ "$(stat -c %u:%g "$H/new")" = "$HUID:$(id -g "$U")" ] || fail "the container's write is $(stat -c %u:%g "$H/new") on disk, want $HUID"
[ "$(cat "$H/new")" = from-container ] || fail "the write's content"
shift_uid=
"$COWPEN" run -q -D "$ROOT" -P -U --bind-user="$U" /bin/sh -c 'cat /proc/self/uid_map' >"$T/map" || fail "uid_map"
shift_uid=$(awk '$1 == 0 { print $2 }' "$T/map")
[ -n "$shift_uid" ] && [ "$shift_uid" -ne 0 ] || fail "no user namespace: $(cat "$T/map")"
# One range, nothing of the host user's UID in the container's map (the home is idmapped instead).
[ "$(wc -l <"$T/map")" = 1 ] || fail "the container's uid_map has holes: $(cat "$T/map")"
pass "UID 60514's writes in the home are the host user's ($HUID) on disk; the container's map stays one range"

# 3. With nss-systemd (the host's module, systemd 252 as the fixture's), the user resolves.
rootfs_fixture
NSS=$(ls /lib/x86_64-linux-gnu/libnss_systemd.so.2 /usr/lib/x86_64-linux-gnu/libnss_systemd.so.2 2>/dev/null | head -1) || true
if [ -n "$NSS" ]; then
  cp -a --reflink=auto "$ROOTFS_DIR" "$T/deb"
  cp "$NSS" "$T/deb/usr/lib/x86_64-linux-gnu/"
  sed -i 's/^\(passwd\|group\):.*/& systemd/' "$T/deb/etc/nsswitch.conf"
  out=$("$COWPEN" run -q -D "$T/deb" -P -U --bind-user="$U" /bin/sh -c "getent passwd $U; getent group $U; id $U; getent passwd 60514" 2>&1) ||
    fail "nss-systemd lookups: $out"
  grep -qx "$U:x:60514:60514:[^:]*:/run/host/home/$U:.*" <<<"$out" || fail "getent passwd: $out"
  grep -qx "$U:x:60514:" <<<"$out" || fail "getent group: $out"
  grep -qx "uid=60514($U) gid=60514($U) groups=60514($U)" <<<"$out" || fail "id: $out"
  [ "$(grep -c "^$U:x:60514:60514:" <<<"$out")" = 2 ] || fail "getent passwd by UID: $out"
  pass "with nss-systemd in the container, getent and id resolve the bound user"
else
  log "the host has no libnss_systemd.so.2: the nss-systemd lookup is not checked"
fi

# 4. Refusals, one line each.
bad() { must_fail "$COWPEN" run -q -D "$ROOT" -P "$@" /bin/true; }
bad --bind-user="$U"
assert_one_line_error "run: --bind-user= requires --private-users$"
bad -U --bind-user=root
assert_one_line_error "run bb: root: --bind-user: mapping the root user is not supported$"
bad -U --bind-user="$(id -nu 65534)"
assert_one_line_error "run bb: .*: --bind-user: mapping the nobody user is not supported$"
bad -U --bind-user=no-such-user-$$
assert_one_line_error "run bb: no-such-user-$$: --bind-user: no such user on the host$"
bad -U --bind-user='bad name'
assert_one_line_error "run: invalid --bind-user value \"bad name\": not a valid user name$"
cp -a "$ROOT" "$T/bb2"
echo "$U:x:1234:1234::/:/bin/sh" >>"$T/bb2/etc/passwd"
must_fail "$COWPEN" run -q -D "$T/bb2" -P -U --bind-user="$U" /bin/true
assert_one_line_error "run bb2: $U: --bind-user: the user exists in the container already$"
groupadd "$G2" || fail "groupadd"
useradd -M -N -g "$G2" -d "$H" "${U}x" || fail "useradd ${U}x"
bad -U --bind-user="${U}x"
assert_one_line_error "run bb: ${U}x: --bind-user: users without a private group \(named as the user\) are not supported \(the group is $G2\)$"
pass "--bind-user refusals are one line each"
