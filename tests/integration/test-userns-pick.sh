#!/bin/bash
# cowpen run --private-users=pick (and -U, UIDBASE:N, identity): inside, uid 0 and the image's
# files show their usual owners (idmapped mount); outside, the container's processes run in the
# picked range; afterwards every file of the image still has its original owner on disk.
# Two containers at once get different ranges. Bad values are refused with one line.
# --private-users-ownership=chown shifts a copy on disk (set-uid bits, capabilities, ACLs kept),
# is idempotent, is undone by chown into identity; yes/map/auto on a shifted tree.
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
# -x here (no btrfs snapshot): a copy of its own instead of the overlay, idmapped; the image
# unchanged, nothing left next to it.
parent=$(dirname "$W/img")
out=$("$COWPEN" run -D "$W/img" -x -U /bin/sh -c 'stat -c "%u:%g" /home/user; touch /new && echo wrote')
[ "$out" = $'1000:1000\nwrote' ] || fail "-x -U: $out"
[ ! -e "$W/img/new" ] || fail "-x -U wrote into the image"
[ -z "$(ls -A "$parent" | grep '^\.#')" ] || fail "-x -U left $(ls -A "$parent" | grep '^\.#')"
pass "-x -U without snapshots: a private copy, idmapped"

# --volatile with -U: state (the image read-only, /var a tmpfs of the container's root) and
# overlay (writes land in a tmpfs); a --bind target missing in the image is made below the
# idmapped root, owned by the image's root on disk.
out=$("$COWPEN" run -D "$W/img" -U --volatile=state /bin/sh -c 'stat -c %u / /var /etc/passwd | tr "\n" " "; touch /var/a && echo var-ok; touch /etc/x 2>/dev/null || echo etc-ro')
[ "$out" = $'0 0 0 var-ok\netc-ro' ] || fail "-U --volatile=state: $out"
out=$("$COWPEN" run -D "$W/img" -U --volatile=overlay /bin/sh -c 'stat -c %u / /etc/passwd | tr "\n" " "; touch /etc/x && echo wrote')
[ "$out" = '0 0 wrote' ] || fail "-U --volatile=overlay: $out"
[ ! -e "$W/img/etc/x" ] || fail "-U --volatile=overlay wrote into the image"
rm -rf "$W/img/var"
mkdir -p "$W/bindsrc"
out=$("$COWPEN" run -D "$W/img" -U --bind="$W/bindsrc:/newdir/sub" /bin/sh -c 'stat -c %u /newdir')
[ "$out" = 0 ] || fail "-U --bind to a missing target: $out"
[ "$(stat -c %u:%g "$W/img/newdir")" = 0:0 ] || fail "the bind target was made with owner $(stat -c %u:%g "$W/img/newdir") on disk"
rm -rf "$W/img/newdir"
pass "-U with --volatile=state|overlay, and a bind target made below the idmapped root"

# -a: the stub is PID 1, the payload PID 2, as without a user namespace.
out=$("$COWPEN" run -D "$W/img" -U -a /bin/sh -c 'echo $$; cat /proc/1/cmdline | tr "\0" " "')
[ "${out%%$'\n'*}" = 2 ] || fail "-U -a: the payload is PID ${out%%$'\n'*}, not 2"
pass "-U, UIDBASE:N, identity; -U -a runs the payload as PID 2"

# --link-journal=auto (the default) made /var/log/journal as nspawn does: not the tree's own.
rm -rf "$W/img/var"
after=$(owners "$W/img")
[ "$before" = "$after" ] || fail "owners on disk changed: $(diff <(echo "$before") <(echo "$after"))"
pass "every file keeps its owner on disk"

must_fail 2 "$COWPEN" run -D "$W/img" --private-users=4294967295:2 true
assert_one_line_error 'invalid --private-users'
must_fail 2 "$COWPEN" run -D "$W/img" --private-users=abc true
assert_one_line_error 'invalid --private-users'
must_fail 2 "$COWPEN" run -D "$W/img" --private-users=pick --private-users-ownership=bogus true
assert_one_line_error 'invalid --private-users-ownership'
pass "bad values refused"

# --private-users-ownership=chown: the owners are shifted on disk into the range (set-uid bits,
# capabilities and ACL ids with them), inside everything looks as with map; the next run finds
# the tree in its range and changes nothing; --private-users=yes takes that range; map refuses a
# shifted tree; chown into identity (0) shifts it back to exactly what it was.
for t in setcap getcap setfacl getfacl; do command -v $t >/dev/null || fail "$t is not installed (libcap2-bin, acl)"; done
cp -a "$W/img" "$W/ch"
chmod 4755 "$W/ch/bin/busybox"
must setcap cap_net_raw+ep "$W/ch/bin/busybox"
must setfacl -m u:1000:r "$W/ch/root/file"
caps() { getcap "$1" | sed 's/^[^ ]* //'; }
acl() { getfacl -n -p "$1" 2>/dev/null | grep '^user:[0-9]'; }
orig=$(owners "$W/ch"); orig_caps=$(caps "$W/ch/bin/busybox"); orig_acl=$(acl "$W/ch/root/file")
base=$((0x300000))
out=$("$COWPEN" run -D "$W/ch" --private-users=$base:65536 --private-users-ownership=chown /bin/sh -c 'stat -c "%u:%g" /home/user /root/file /')
[ "$out" = $'1000:1000\n0:0\n0:0' ] || fail "chown: inside, owners are not the usual ones: $out"
[ "$(stat -c %u:%g "$W/ch")" = "$base:$base" ] || fail "chown: root directory is $(stat -c %u:%g "$W/ch") on disk"
[ "$(stat -c %u:%g "$W/ch/home/user")" = "$((base + 1000)):$((base + 1000))" ] || fail "chown: /home/user not shifted on disk"
[ "$(find "$W/ch" -xdev \( -uid -$base -o -uid +$((base + 65535)) \) | grep -v '/etc/localtime$\|/etc/resolv.conf$' | head -1)" = "" ] ||
  fail "chown: files outside the range remain: $(find "$W/ch" -xdev -uid -$base | head -3)"
[ "$(stat -c %a "$W/ch/bin/busybox")" = 4755 ] || fail "chown: the set-uid bit was lost"
[ "$(caps "$W/ch/bin/busybox")" = "$orig_caps" ] || fail "chown: the file capability was lost"
[ -n "$orig_caps" ] && [ "$orig_acl" = "user:1000:r--" ] || fail "the test tree has no capability or ACL"
[ "$(acl "$W/ch/root/file")" = "user:$((base + 1000)):r--" ] || fail "chown: ACL not shifted: $(acl "$W/ch/root/file")"
pass "chown: owners, set-uid bit, capability and ACL shifted on disk; usual owners inside"

ct=$(stat -c %z "$W/ch/home/user" "$W/ch/etc/passwd")
sleep 1.1
must "$COWPEN" run -D "$W/ch" --private-users=$base:65536 --private-users-ownership=chown true
[ "$(stat -c %z "$W/ch/home/user" "$W/ch/etc/passwd")" = "$ct" ] || fail "chown again: a tree already in its range was changed"
out=$("$COWPEN" run -D "$W/ch" --private-users=yes /bin/sh -c 'id -u; stat -c %u /home/user; cat /proc/self/uid_map' | tr -s ' ')
[ "$out" = $'0\n1000\n 0 '"$base"' 65536' ] || fail "yes on a shifted tree: $out"
must_fail 1 "$COWPEN" run -D "$W/ch" --private-users=pick --private-users-ownership=map true
assert_one_line_error 'root directory belongs to uid'
pass "a shifted tree: yes takes its range, map refuses it"

must "$COWPEN" run -D "$W/ch" --private-users=identity --private-users-ownership=chown true
rm -rf "$W/ch/var" # /var/log/journal, made by --link-journal=auto as nspawn does
[ "$(owners "$W/ch")" = "$orig" ] || fail "chown back to 0: owners differ: $(diff <(echo "$orig") <(owners "$W/ch") | head -5)"
[ "$(caps "$W/ch/bin/busybox")" = "$orig_caps" ] || fail "chown back: capability lost"
[ "$(acl "$W/ch/root/file")" = "$orig_acl" ] || fail "chown back: ACL differs"
pass "chown back into identity restores every owner"

# auto (the default) on a tree owned by another range: chowned into the picked one.
out=$("$COWPEN" run -D "$W/ch" --private-users=$((0x310000)):65536 --private-users-ownership=chown /bin/true && \
      "$COWPEN" run -D "$W/ch" --private-users=$((0x320000)):65536 /bin/sh -c 'stat -c %u /home/user')
[ "$out" = 1000 ] || fail "auto on a tree of another range: $out"
[ "$(stat -c %u "$W/ch/home/user")" = $((0x320000 + 1000)) ] || fail "auto did not chown a tree of another range"
pass "auto chowns a tree that belongs to another range"
