#!/bin/bash
# .nspawn settings that narrow or protect the container are honoured, from any file (also the
# untrusted one next to the image), or refuse the run loudly; never skipped with a warning:
#  - Ephemeral=yes (nspawn's [Exec] Ephemeral=) runs on a throw-away copy, prepared as such from the
#    start: once it was ignored and the changes stayed in the image. A raw image is not even
#    mounted writable (its bytes stay the same);
#  - Inaccessible= masks the path; Private=yes gives a network of loopback only;
#  - a bad value of such a key refuses.
# Network links (VirtualEthernet=, Zone=) are not protective: from an untrusted file they are
# ignored with a warning, as by systemd-nspawn, and the container gets loopback only.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

make_temp_dir
T=$TEMP_DIR
make_busybox_tree "$T/tree"
echo original > "$T/tree/etc/motd"
echo secret > "$T/tree/etc/secret"
make_loop_fs ext4 512M
R=$LOOP_MNT/machines
cw() { "$COWPEN" --image-root="$R" "$@"; }
must cw -q import-fs "$T/tree" img
hidden() { ls -A "$R" | grep '^\.#machine' | grep -v '\.lck$' || true; }

# Ephemeral=yes next to the image (untrusted: it narrows, so it counts).
printf '[Exec]\nEphemeral=yes\n' > "$R/img.nspawn"
out=$(cw run -M img sh -c 'echo changed >/etc/motd && touch /new && cat /etc/motd') || fail "run: $out"
[ "$out" = changed ] || fail "run: $out"
[ "$(cat "$R/img/etc/motd")" = original ] || fail "Ephemeral=yes: the change stayed in the image"
[ ! -e "$R/img/new" ] || fail "Ephemeral=yes: a new file stayed in the image"
[ -z "$(hidden)" ] || fail "throw-away copy left behind: $(hidden)"
pass "Ephemeral=yes (untrusted file): changes thrown away"

# -D of the directory, the settings file next to it; and with a user namespace (a copy).
out=$("$COWPEN" run -D "$R/img" sh -c 'echo changed >/etc/motd && cat /etc/motd') || fail "run -D: $out"
[ "$(cat "$R/img/etc/motd")" = original ] || fail "Ephemeral=yes with -D: the change stayed"
printf '[Exec]\nEphemeral=yes\nPrivateUsers=pick\n' > "$R/img.nspawn"
out=$(cw run -M img sh -c 'echo changed >/etc/motd && cat /etc/motd') || fail "run with PrivateUsers=pick: $out"
[ "$out" = changed ] && [ "$(cat "$R/img/etc/motd")" = original ] || fail "Ephemeral=yes with PrivateUsers=: $out"
[ -z "$(hidden)" ] || fail "throw-away copy left behind: $(hidden)"
pass "Ephemeral=yes with -D, and with PrivateUsers= (a copy)"

# Combinations nspawn refuses are refused.
mkdir "$T/tpl-parent"
printf '[Exec]\nEphemeral=yes\n' > "$T/tpl-parent/new.nspawn"
must_fail 1 "$COWPEN" run -D "$T/tpl-parent/new" --template="$R/img" true
assert_one_line_error 'Ephemeral=yes, which may not be combined with --template='
[ ! -e "$T/tpl-parent/new" ] || fail "--template= populated the directory before the refusal"
printf '[Exec]\nEphemeral=yes\n[Files]\nVolatile=yes\n' > "$R/img.nspawn"
must_fail 1 cw run -M img true
assert_one_line_error 'may not be combined with Volatile='
pass "Ephemeral=yes with --template= or Volatile= refused"

# A raw image with Ephemeral=yes: never mounted writable, its bytes unchanged.
truncate -s 64M "$R/disk.raw"
mkfs.ext4 -q -F -d "$T/tree" "$R/disk.raw" >/dev/null || fail "mkfs.ext4 -d"
sum=$(sha256sum "$R/disk.raw" | cut -d' ' -f1)
printf '[Exec]\nEphemeral=yes\n' > "$R/disk.nspawn"
out=$(cw run -M disk sh -c 'echo changed >/etc/motd && cat /etc/motd') || fail "run -M disk: $out"
[ "$out" = changed ] || fail "raw run: $out"
[ "$(sha256sum "$R/disk.raw" | cut -d' ' -f1)" = "$sum" ] || fail "Ephemeral=yes: the raw image changed"
out=$("$COWPEN" run -i "$R/disk.raw" cat /etc/motd) || fail "run -i: $out"
[ "$out" = original ] || fail "raw image written: $out"
pass "Ephemeral=yes for a raw image: run on a private copy, the image byte for byte unchanged"

# Inaccessible= (honoured before this test too) and Private=yes, from the untrusted file.
printf '[Files]\nInaccessible=/etc/secret\n[Network]\nPrivate=yes\n' > "$R/img.nspawn"
out=$(cw run -M img sh -c 'cat /etc/secret; echo "[$(ls /sys/class/net | tr "\n" " ")]"' 2>&1) || true
[[ $out != *secret* ]] || fail "Inaccessible=: the path is readable: $out"
[[ $out == *"[lo ]"* ]] || fail "Private=yes: not only loopback: $out"
pass "Inaccessible= masks the path, Private=yes takes the host's network away (untrusted file)"

# What cannot be honoured refuses the run, naming the line; nothing starts.
for bad in '[Files]\nReadOnly=maybe' '[Exec]\nEphemeral=perhaps' '[Exec]\nDropCapability=CAP_BOGUS'; do
  printf "$bad\n" > "$R/img.nspawn"
  must_fail 1 cw run -M img sh -c 'echo started >/etc/motd'
  assert_one_line_error "^cowpen: run img: settings file $R/img.nspawn: line 2: "
  [ "$(cat "$R/img/etc/motd")" = original ] || fail "$bad: the container ran"
done
pass "a protective key that cannot be honoured refuses the run"

# Network links from an untrusted file are not taken (as systemd-nspawn ignores them), and the
# container never ends up in the host's network for it: it gets loopback only.
for key in 'VirtualEthernet=yes' 'Zone=web'; do
  printf '[Network]\n%s\n' "$key" > "$R/img.nspawn"
  out=$(cw run -M img sh -c 'echo "[$(ls /sys/class/net | tr "\n" " ")]"' 2>"$T/err") || fail "$key (untrusted): $(cat "$T/err")"
  [[ $out == *"[lo ]"* ]] || fail "$key (untrusted): not only loopback: $out"
  grep -q "not trusted" "$T/err" || fail "$key (untrusted): no warning: $(cat "$T/err")"
done
pass "network links from an untrusted file: ignored with a warning, loopback only"
rm "$R/img.nspawn"
