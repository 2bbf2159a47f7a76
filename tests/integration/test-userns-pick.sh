#!/bin/bash
# cowpen run --private-users=pick (and -U, UIDBASE:N, identity): inside, uid 0 and the image's
# files show their usual owners (idmapped mount); outside, the container's processes run in the
# picked range; afterwards every file of the image still has its original owner on disk.
# Two containers at once get different ranges. Bad values are refused with one line.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

make_temp_dir
W=$TEMP_DIR
make_busybox_tree "$W/img"
mkdir -p "$W/img/home/user"
chown 1000:1000 "$W/img/home/user"
echo secret > "$W/img/root/file"
chown 0:0 "$W/img/root/file"
chmod 600 "$W/img/root/file"
mkdir "$W/img/out"
# (etc/localtime and etc/resolv.conf are the engine's, made by --timezone/--resolv-conf=auto)
owners() { (cd "$1" && find . -printf '%U:%G %m %p\n' | grep -v '/etc/localtime$\|/etc/resolv.conf$' | sort); }
before=$(owners "$W/img")


out=$("$COWPEN" run -D "$W/img" --private-users=pick /bin/sh -c 'id -u; id -g; stat -c "%u:%g" /home/user /root/file /etc/passwd; cat /root/file' 2>"$W/err") ||
  { grep -q idmapped "$W/err" && skip "no idmapped mounts on this file system: $(cat "$W/err")"; fail "pick: $(cat "$W/err")"; }
[ "$out" = $'0\n0\n1000:1000\n0:0\n0:0\nsecret' ] || fail "inside, ids and owners are not the usual ones: $out"
pass "inside: uid 0, files with their usual owners"

# Outside: processes in the picked range, which is ≥ 0x80000, a multiple of 65536.
rm -f "$W/img/out/"*
"$COWPEN" run -D "$W/img" --read-only --private-users=pick /bin/sh -c 'exec sleep 301' &
p1=$!
at_exit "kill -9 $p1 2>/dev/null"
for _ in $(seq 100); do pgrep -f '^sleep 301$' >/dev/null && break; sleep 0.1; done
spid=$(pgrep -f '^sleep 301$') || fail "the container's sleep never started"
uid=$(stat -c %u /proc/$spid)
[ "$uid" -ge $((0x80000)) ] && [ $((uid % 65536)) -eq 0 ] || fail "container's root is host uid $uid, not a picked range base"
map=$(cat /proc/$spid/uid_map | awk '{print $1, $2, $3}')
[ "$map" = "0 $uid 65536" ] || fail "uid_map is $map"
pass "outside: the container runs as host uid $uid (range of 65536)"

# A second container at the same time gets another range (locked per range).
"$COWPEN" run -D "$W/img" --read-only -M other --private-users=pick /bin/sh -c 'exec sleep 302' &
p2=$!
at_exit "kill -9 $p2 2>/dev/null"
for _ in $(seq 100); do pgrep -f '^sleep 302$' >/dev/null && break; sleep 0.1; done
spid2=$(pgrep -f '^sleep 302$') || fail "the second container's sleep never started"
uid2=$(stat -c %u /proc/$spid2)
[ "$uid2" != "$uid" ] || fail "two running containers share the range $uid"
kill -TERM $p1 $p2; wait $p1 $p2 2>/dev/null || true
pass "concurrent containers get distinct ranges"

# -U is pick; UIDBASE:N and identity.
out=$("$COWPEN" run -D "$W/img" -U /bin/sh -c 'id -u; cat /proc/self/uid_map' | tr -s ' ')
[[ $out == 0$'\n'" 0 "* ]] || fail "-U: $out"
out=$("$COWPEN" run -D "$W/img" --private-users=$((0x200000)):65536 /bin/sh -c 'cat /proc/self/uid_map' | tr -s ' ')
[ "$out" = " 0 $((0x200000)) 65536" ] || fail "UIDBASE:N: $out"
out=$("$COWPEN" run -D "$W/img" --private-users=identity /bin/sh -c 'stat -c %u /home/user; cat /proc/self/uid_map' | tr -s ' ')
[ "$out" = $'1000\n 0 0 65536' ] || fail "identity: $out"
pass "-U, UIDBASE:N, identity"

after=$(owners "$W/img")
[ "$before" = "$after" ] || fail "owners on disk changed: $(diff <(echo "$before") <(echo "$after"))"
pass "every file keeps its owner on disk"

must_fail 1 "$COWPEN" run -D "$W/img" --private-users=4294967295:2 true
assert_one_line_error 'invalid --private-users'
must_fail 1 "$COWPEN" run -D "$W/img" --private-users=abc true
assert_one_line_error 'invalid --private-users'
must_fail 1 "$COWPEN" run -D "$W/img" --private-users=pick --private-users-ownership=chown true
assert_one_line_error 'never chowns'
pass "bad values refused"
