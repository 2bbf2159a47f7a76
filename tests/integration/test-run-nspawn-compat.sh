#!/bin/bash
# Where users' files and scripts expect systemd-nspawn (issue 12), cowpen run side by side with
# systemd-nspawn 252 on small busybox trees: the start mode of a settings file (Boot= with a
# command on the command line, Parameters= without Boot=), how Environment= is unquoted, the
# keys ResolvConf=, Timezone=, Limit*=, MachineID=; --register/--keep-unit/--no-pager; os-release
# only to boot; --bind idmap options; --overlay +PATH and an empty upper; --console=autopipe;
# $TERM; and one image per name in list-images and the image verbs. Each side-by-side check runs
# cowpen and, where systemd-nspawn is installed, nspawn, and wants the same.
. "$TEST_SRCDIR/tests/lib/lib.sh"

BUSYBOX=$(command -v busybox) || fail "busybox missing (scripts/packages/spawn.txt: busybox-static)"
[[ $(LC_ALL=C ldd "$BUSYBOX" 2>&1 || true) == *"not a dynamic executable"* ]] || fail "$BUSYBOX is not static (busybox-static)"
HAVE_NSPAWN=1
command -v systemd-nspawn >/dev/null || { HAVE_NSPAWN=0; log "systemd-nspawn is not installed: cowpen runs alone"; }

make_temp_dir
W=$TEMP_DIR
# mk_tree DIR [os-release]: busybox as /bin/*, nothing else (no init, no /usr/lib).
mk_tree() {
  local d=$1 c
  mkdir -p "$d/bin" "$d/usr" "$d/etc" "$d/tmp"
  cp "$BUSYBOX" "$d/bin/busybox"
  for c in sh env cat echo ls id printf readlink test true stat touch grep sort; do ln -sf busybox "$d/bin/$c"; done
  [ "${2:-}" = no-os-release ] || printf 'ID=compat\nNAME=compat\n' >"$d/etc/os-release"
}
mk_tree "$W/t"

# nspawn as the team runs it here: a private /run (systemd is not PID 1), no registration.
nspawn() { unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn --register=no --keep-unit -q "$@"' nspawn "$@"; }
cowpen() { "$COWPEN" run -q "$@"; }
# both TREE OPTS… -- CMD…: the output of cowpen, and (when installed) nspawn's must equal it;
# the result is in $OUT.
both() {
  local tree=$1 opts=() n
  shift
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  OUT=$(timeout 60 "$COWPEN" run -q --console=pipe "${opts[@]}" -D "$tree" "$@" </dev/null 2>"$W/cowpen.err") ||
    fail "cowpen run ${opts[*]} -D $tree $*: exit $? ($(cat "$W/cowpen.err"))"
  [ "$HAVE_NSPAWN" = 1 ] || return 0
  n=$(timeout 60 unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn --register=no --keep-unit -q "$@"' \
    nspawn --console=pipe "${opts[@]}" -D "$tree" "$@" </dev/null 2>"$W/nspawn.err") ||
    fail "systemd-nspawn ${opts[*]} -D $tree $*: exit $? ($(cat "$W/nspawn.err"))"
  [ "$OUT" = "$n" ] || fail "cowpen and systemd-nspawn differ for ${opts[*]} $*: cowpen \"$OUT\", nspawn \"$n\""
}

# 1. Start mode. Boot=yes in the file and a command on the command line: the command runs (the
# tree has no init: booting would fail).
printf '[Exec]\nBoot=yes\nParameters=systemd.unit=rescue.target\n' >"$W/t.nspawn"
both "$W/t" -- /bin/echo cmdline
[ "$OUT" = cmdline ] || fail "Boot=yes with a command on the command line: \"$OUT\", not the command's output"
# Parameters= without Boot=: ignored, the shell runs (reading our empty stdin).
printf '[Exec]\nParameters=/bin/echo from-file\n' >"$W/t.nspawn"
both "$W/t" --
[ -z "$OUT" ] || fail "Parameters= without Boot= was run: \"$OUT\""
# With Boot=no (or ProcessTwo=): they are the command; repeated lines add up.
printf '[Exec]\nBoot=no\nParameters=/bin/echo from-file\nParameters=more "a b"\n' >"$W/t.nspawn"
both "$W/t" --
[ "$OUT" = "from-file more a b" ] || fail "Parameters= with Boot=no: \"$OUT\""
# ProcessTwo=yes in the file, a command on the command line: PID 1, as nspawn.
printf '[Exec]\nProcessTwo=yes\n' >"$W/t.nspawn"
both "$W/t" -- /bin/sh -c 'echo $$'
[ "$OUT" = 1 ] || fail "ProcessTwo=yes with a command on the command line: PID $OUT"
pass "settings: start mode (Boot=, ProcessTwo=, Parameters=) as nspawn 252"

# 2. Environment= unquoted as systemd's config_parse_strv().
{
  printf '%s\n' '[Exec]' \
    'Environment=Q=\x41 A="x y" B='\''s q'\'' D=a"b c"d E=\\ F=a\"b G="in\"side" H='\''it\'\''s'\''' \
    'Environment=I=1\' ' J=2' 'Environment=K=a\\' 'Environment=M=1 \' '# comment' ' N=2' \
    'Environment=P="" R=x""y S="a'\''b" T='\''a"b'\'' U=\"'
  printf 'Environment=V=1\r\nEnvironment=W=2\rEnvironment=Y=$HOME Z=%%h\n'
} >"$W/t.nspawn"
# Only the variables the file set (the rest differs by design: container=cowpen …).
both "$W/t" -- /bin/sh -c 'env | grep -E "^[A-Z]=" | sort | tr "\n" " "'
got=$OUT
want='A=x y B=s q D=ab cd E=\\ F=a\b G=in\side I=1 J=2 K=a\\ M=1 N=2 P= Q=\x41 R=xy S=a'\''b T=a"b V=1 W=2 Y=$HOME Z=%h '
[ "$got" = "$want" ] || fail "Environment= unquoted differently: \"$got\", want \"$want\""
pass "settings: Environment= unquoted as nspawn (Q=\\x41 stays \\x41)"
rm "$W/t.nspawn"

# 3. Keys nspawn honours that cowpen has options for. A trusted file (as /etc/systemd/nspawn/):
# all of them, side by side.
printf '[Exec]\nResolvConf=replace-static\nTimezone=delete\nLimitNOFILE=64:128\nLimitCORE=0\nMachineID=0123456789abcdef0123456789abcdef\n' >"$W/t.nspawn"
both "$W/t" --settings=trusted -- /bin/sh -c 'echo "$container_uuid $(ulimit -n) $(ulimit -Hn) $(ulimit -c)"; cat /etc/resolv.conf; test -e /etc/localtime || echo no-localtime'
[[ $OUT == "01234567-89ab-cdef-0123-456789abcdef 64 128 0"* ]] || fail "trusted MachineID=/Limit*=: \"$OUT\""
[[ $OUT == *no-localtime ]] || fail "Timezone=delete ignored: \"$OUT\""
grep -q '^nameserver' <<<"$OUT" && cmp -s <(sed 1d <<<"$OUT" | sed '$d') /usr/lib/systemd/resolv.conf ||
  fail "ResolvConf=replace-static ignored: \"$OUT\""
# The command line wins over the file.
OUT=$(cowpen --console=pipe --settings=trusted --rlimit=NOFILE=32 --timezone=off --uuid=fedcba9876543210fedcba9876543210 \
  -D "$W/t" /bin/sh -c 'echo "$container_uuid $(ulimit -n)"' </dev/null)
[ "$OUT" = "fedcba98-7654-3210-fedc-ba9876543210 32" ] || fail "the command line does not win over the file: \"$OUT\""
# Untrusted (next to the image): the machine ID and raised limits are not taken (nspawn takes no
# limit at all from it; a lowered one narrows the container and applies here).
printf '[Exec]\nMachineID=0123456789abcdef0123456789abcdef\nLimitNOFILE=64:128\nLimitMSGQUEUE=%s\nTimezone=delete\n' \
  "$(($(ulimit -Hq) + 1))" >"$W/t.nspawn"
OUT=$(cowpen --console=pipe -D "$W/t" /bin/sh -c 'echo "$container_uuid $(ulimit -n) $(ulimit -Hq)"; test -e /etc/localtime || echo no-localtime' </dev/null 2>"$W/err")
[[ $OUT == "01234567-89ab-cdef-0123-456789abcdef"* ]] && fail "MachineID= taken from an untrusted file"
[[ $OUT == *" 64 $(ulimit -Hq)"* ]] || fail "untrusted LimitNOFILE= (lowering) or LimitMSGQUEUE= (raising): \"$OUT\""
[[ $OUT == *no-localtime ]] || fail "untrusted Timezone=delete ignored: \"$OUT\""
grep -q 'ignoring MachineID= settings: the file is not trusted' "$W/err" || fail "no warning for MachineID=: $(cat "$W/err")"
grep -q 'ignoring LimitMSGQUEUE= (above the current limit) settings' "$W/err" || fail "no warning for LimitMSGQUEUE=: $(cat "$W/err")"
pass "settings: ResolvConf=, Timezone=, Limit*=, MachineID= honoured (MachineID= and raised limits only when trusted)"
rm "$W/t.nspawn"

# 4. What scripts written for nspawn pass: --register=no, --keep-unit, --no-pager (cowpen exited
# 2 on them). auto (the default) runs unregistered without a word; yes fails in one line, as
# nspawn fails without a system bus (run here with a /run of its own: no bus, no machined).
OUT=$("$COWPEN" run --register=no --keep-unit --no-pager --console=pipe -D "$W/t" /bin/echo ok </dev/null 2>"$W/err") ||
  fail "--register=no --keep-unit --no-pager refused: $(cat "$W/err")"
[ "$OUT" = ok ] || fail "--register=no --keep-unit --no-pager: \"$OUT\""
OUT=$("$COWPEN" run --register=auto --console=pipe -D "$W/t" /bin/echo ok </dev/null 2>"$W/err")
[ "$OUT" = ok ] && [ ! -s "$W/err" ] || fail "--register=auto: \"$OUT\", stderr \"$(cat "$W/err")\""
must_fail 1 unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec "$@"' sh "$COWPEN" run --register=yes --console=pipe -D "$W/t" /bin/true
assert_one_line_error '^cowpen: run t: cannot register the machine: no system bus \(/run/dbus/system_bus_socket is missing\)$'
if [ "$HAVE_NSPAWN" = 1 ]; then
  rc=0
  unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn -q --register=yes --keep-unit --console=pipe -D "$1" /bin/true' \
    sh "$W/t" </dev/null >/dev/null 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "systemd-nspawn --register=yes succeeded without a bus: the reference changed"
fi
must_fail "$COWPEN" run --register=sometimes -D "$W/t" /bin/true
pass "--register=yes|no|auto, --keep-unit, --no-pager"

# 5. A tree without os-release runs commands (cowpen refused it): nspawn 252 wants os-release only
# to boot (path_is_os_tree, also for Boot= from a settings file and for images: VALIDATE_OS), and
# otherwise a /usr in a directory. The same for -D, -x, -M and -i.
mk_tree "$W/noos" no-os-release
both "$W/noos" -- /bin/echo ok
[ "$OUT" = ok ] || fail "-D without os-release: \"$OUT\""
both "$W/noos" -x -- /bin/echo ok
[ "$OUT" = ok ] || fail "-x -D without os-release: \"$OUT\""
mkdir -p "$W/images"
cp -a "$W/noos" "$W/images/noos"
OUT=$("$COWPEN" --image-root="$W/images" run -q --console=pipe -M noos /bin/echo ok </dev/null) || fail "-M without os-release refused"
[ "$OUT" = ok ] || fail "-M without os-release: \"$OUT\""
OUT=$("$COWPEN" --image-root="$W/images" run -q --console=pipe -x -M noos /bin/echo ok </dev/null) || fail "-x -M without os-release refused"
# Booting it is refused, by both, also when Boot=yes comes from the settings file.
must_fail 1 "$COWPEN" run -q -b -D "$W/noos"
assert_one_line_error '^cowpen: run .*/noos: not an OS tree \(no etc/os-release or usr/lib/os-release\), refusing to boot it$'
must_fail 1 "$COWPEN" --image-root="$W/images" run -q -b -x -M noos
assert_one_line_error '^cowpen: run noos: image is not an OS tree .*refusing to boot it$'
printf '[Exec]\nBoot=yes\n' >"$W/noos.nspawn"
must_fail 1 "$COWPEN" run -q -D "$W/noos"
assert_one_line_error 'not an OS tree .*refusing to boot it$'
rm "$W/noos.nspawn"
if [ "$HAVE_NSPAWN" = 1 ]; then
  rc=0; nspawn -b -D "$W/noos" </dev/null >/dev/null 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "systemd-nspawn -b booted a tree without os-release: the reference changed"
fi
# A directory without /usr is no OS tree for either, boot or not.
mkdir -p "$W/nousr/bin" && cp "$BUSYBOX" "$W/nousr/bin/busybox" && ln -s busybox "$W/nousr/bin/echo"
must_fail 1 "$COWPEN" run -q -D "$W/nousr" /bin/echo ok
assert_one_line_error '^cowpen: run .*/nousr: not an OS tree \(no usr/ directory\)$'
if [ "$HAVE_NSPAWN" = 1 ]; then
  rc=0; nspawn -D "$W/nousr" /bin/echo ok </dev/null >/dev/null 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "systemd-nspawn ran a directory without /usr: the reference changed"
fi
# A raw image (one ext4 file system) without os-release: runs, and booting it is refused.
truncate -s 64M "$W/noos.raw"
mkfs.ext4 -q -F -d "$W/noos" "$W/noos.raw" >/dev/null 2>&1 || fail "mkfs.ext4 -d failed"
OUT=$("$COWPEN" run -q --console=pipe -i "$W/noos.raw" /bin/echo ok </dev/null 2>"$W/err") || fail "-i without os-release refused: $(cat "$W/err")"
[ "$OUT" = ok ] || fail "-i without os-release: \"$OUT\""
must_fail 1 "$COWPEN" run -q -b -i "$W/noos.raw"
assert_one_line_error '^cowpen: run -i .*/noos.raw: not an OS tree .*refusing to boot it$'
pass "os-release required only to boot (-D, -x, -M, -i; Boot= from the file too), /usr for directories"

# 6. --bind options idmap, rootidmap, noidmap (cowpen refused them). With --private-users: idmap
# shows the source's owners 0… as the container's 0… (what the container's root writes belongs
# to the host's root); rootidmap the source directory's owner as the container's root, nobody
# else mapped; noidmap (the default) nobody. Without a user namespace idmap cannot work (nspawn
# fails writing the map): refused before the container starts.
mkdir -p "$W/src" && touch "$W/src/f" "$W/src/g" && chown 1000:1000 "$W/src/f" && chown 4242:4243 "$W/src"
owners='ls -lnd /mnt /mnt/f /mnt/g | while read -r m l u g rest; do printf "%s:%s " "$u" "$g"; done'
for o in idmap rootidmap noidmap rbind,idmap,noidmap; do
  rc=0
  OUT=$("$COWPEN" run -q --console=pipe -U --bind="$W/src:/mnt:$o" -D "$W/t" /bin/sh -c "$owners" </dev/null 2>"$W/err") || rc=$?
  if [ "$o" = idmap ] && [ "$rc" -ne 0 ] && grep -q 'idmapped bind .*: Invalid argument' "$W/err"; then
    log "the file system of $W refuses idmapped mounts: bind idmap not checked ($(cat "$W/err"))"
    continue
  fi
  [ "$rc" = 0 ] || fail "-U --bind=…:$o: exit $rc ($(cat "$W/err"))"
  case $o in
    idmap) want="4242:4243 1000:1000 0:0 " ;;
    rootidmap) want="0:65534 65534:65534 65534:65534 " ;;
    *) want="65534:65534 65534:65534 65534:65534 " ;;
  esac
  [ "$OUT" = "$want" ] || fail "--bind=…:$o shows owners \"$OUT\", want \"$want\""
  both "$W/t" -U --bind="$W/src:/mnt:$o" -- /bin/sh -c "$owners"
  [ "$o" != idmap ] || both "$W/t" -U --bind="$W/src:/mnt:idmap" -- /bin/sh -c 'touch /mnt/new && stat -c %u:%g /mnt/new'
done
[ ! -e "$W/src/new" ] || [ "$(stat -c %u:%g "$W/src/new")" = 0:0 ] || fail "idmap: the container's root wrote $(stat -c %u:%g "$W/src/new") on disk"
must_fail 1 "$COWPEN" run -q --console=pipe --bind="$W/src:/mnt:idmap" -D "$W/t" /bin/true
assert_one_line_error '^cowpen: run t: bind .*/src: idmap needs --private-users$'
must_fail "$COWPEN" run -q --bind="$W/src:/mnt:idmapx" -D "$W/t" /bin/true
pass "--bind options idmap, rootidmap, noidmap as nspawn"

# 7. --overlay layers "+PATH" (of the container's root) and an empty upper (a throw-away one), as
# nspawn's overlay_mount_parse()/custom_mount_prepare_all(); cowpen refused both.
mkdir -p "$W/t/lower" "$W/t/upper" "$W/hl"
echo a >"$W/t/lower/a"
echo h >"$W/hl/h"
temps() { find /var/tmp -maxdepth 1 -name 'cowpen-overlay.*' | wc -l; }
t0=$(temps)
both "$W/t" --overlay=+/lower:+/upper:/mnt -- /bin/sh -c 'ls /mnt | tr "\n" " "'
[ "$OUT" = "a " ] || fail "--overlay=+/lower:+/upper:/mnt shows \"$OUT\""
cowpen --console=pipe --overlay=+/lower:+/upper:/mnt -D "$W/t" /bin/touch /mnt/b </dev/null || fail "--overlay=+…: cannot write"
[ -f "$W/t/upper/b" ] || fail "--overlay=+…: the write did not land in the container's +/upper"
! ls -a "$W/t" | grep -q '^\.#' || fail "--overlay=+…: a work directory was left in the root: $(ls -a "$W/t")"
both "$W/t" --overlay=+/lower:+/upper -- /bin/sh -c 'ls /upper | tr "\n" " "'
[ "$OUT" = "a b " ] || fail "--overlay=+/lower:+/upper (mounted on /upper) shows \"$OUT\""
both "$W/t" --overlay="$W/hl::/mnt" -- /bin/sh -c 'touch /mnt/x && ls /mnt | tr "\n" " "'
[ "$OUT" = "h x " ] || fail "--overlay=LOWER::DST shows \"$OUT\""
[ "$(ls "$W/hl")" = h ] || fail "--overlay=LOWER::DST wrote into the lower layer"
both "$W/t" --overlay-ro="$W/hl::/mnt" -- /bin/sh -c 'ls /mnt | tr "\n" " "; touch /mnt/x 2>/dev/null || echo read-only'
[ "$OUT" = "h read-only" ] || fail "--overlay-ro=LOWER::DST shows \"$OUT\""
# With a user namespace the throw-away upper layer is the container root's (nspawn leaves it the
# host root's, nobody's inside, so that the container cannot write to it).
OUT=$(cowpen --console=pipe -U --overlay="$W/hl::/mnt" -D "$W/t" /bin/sh -c 'touch /mnt/y && stat -c %u /mnt/y' </dev/null 2>"$W/err") ||
  fail "-U --overlay=LOWER::DST: cannot write: $(cat "$W/err")"
[ "$OUT" = 0 ] || fail "-U --overlay=LOWER::DST: written as $OUT"
[ "$(temps)" = "$t0" ] || fail "a throw-away upper layer was left in /var/tmp"
must_fail "$COWPEN" run -q --overlay=/a:/b:+/dst -D "$W/t" /bin/true
must_fail "$COWPEN" run -q --overlay=::/dst -D "$W/t" /bin/true
pass "--overlay with +PATH layers and an empty upper as nspawn"

# 8. --console=autopipe (cowpen refused it): interactive on a terminal, else pipe, as nspawn.
tty_probe='if test -t 0; then echo tty; else echo notty $(readlink /proc/self/fd/1 | cut -c1-5); fi'
both "$W/t" --console=autopipe -- /bin/sh -c "$tty_probe"
[ "$OUT" = "notty pipe:" ] || fail "--console=autopipe without a terminal: \"$OUT\""
# (script's terminal echoes what it forwards of the empty stdin, "^@", around the output: dropped.)
on_tty() { script -qec "$1" /dev/null </dev/null | tr -d '\r\n\000' | sed 's/\^@//g'; }
OUT=$(on_tty "$(printf '%q ' "$COWPEN" run -q --console=autopipe -D "$W/t" /bin/sh -c "$tty_probe")")
[ "$OUT" = tty ] || fail "--console=autopipe on a terminal: \"$OUT\""
if [ "$HAVE_NSPAWN" = 1 ]; then
  n=$(on_tty "unshare -m sh -c 'mount -t tmpfs tmpfs /run && exec systemd-nspawn --register=no --keep-unit -q --console=autopipe -D $W/t /bin/sh -c \"$tty_probe\"'")
  [ "$n" = tty ] || fail "systemd-nspawn --console=autopipe on a terminal: \"$n\": the reference changed"
fi
pass "--console=autopipe as nspawn"

# 9. $TERM: cowpen's own in every console mode, none without one, as nspawn 252 (the man page
# said pty only, and cowpen made one up, vt220, on a pty).
term_probe='echo "[${TERM-unset}]"'
OUT=$(TERM=xterm-compat both "$W/t" -- /bin/sh -c "$term_probe"; echo "$OUT")
[ "$OUT" = "[xterm-compat]" ] || fail "pipe mode: TERM \"$OUT\""
for mode in read-only pipe; do
  OUT=$(env -u TERM bash -c "$(declare -f both fail); W=$W COWPEN=$COWPEN HAVE_NSPAWN=$HAVE_NSPAWN; both $W/t --console=$mode -- /bin/sh -c '$term_probe'; echo \"\$OUT\"" | tr -d '\r\000')
  [ "$OUT" = "[unset]" ] || fail "--console=$mode without TERM: \"$OUT\""
done
OUT=$(TERM=xterm-compat both "$W/t" --console=read-only -- /bin/sh -c "$term_probe"; echo "$OUT")
[ "$(tr -d '\r' <<<"$OUT")" = "[xterm-compat]" ] || fail "--console=read-only: TERM \"$OUT\""
pass "\$TERM as nspawn (every console mode, none without one)"

# 10. both/ and both.raw in one image root: list-images listed the name twice while run -M,
# image-status and remove silently took the directory. One entry now, the one every verb means
# (as systemd's image_find(), which machinectl and nspawn -M use: the directory), and each says
# that the raw file is hidden.
IR=$W/ir
mkdir -p "$IR"
cp -a "$W/t" "$IR/both"
echo 'the raw one' >"$IR/both.raw"
cp -a "$W/t" "$IR/alone"
OUT=$("$COWPEN" --image-root="$IR" list-images 2>"$W/err" | awk '$2 ~ /^(directory|subvolume|raw)$/ {print $1, $2}' | tr '\n' ' ')
[ "$OUT" = "alone directory both directory " ] || fail "list-images: \"$OUT\""
grep -q 'list-images: both.raw is hidden by the directory both/ of the same name' "$W/err" || fail "list-images: no warning: $(cat "$W/err")"
OUT=$("$COWPEN" --image-root="$IR" --json=short list-images 2>/dev/null | python3 -c 'import json,sys; print(" ".join(o["name"] + ":" + o["type"] for o in json.load(sys.stdin)))')
[ "$OUT" = "alone:directory both:directory" ] || fail "list-images --json: \"$OUT\""
OUT=$("$COWPEN" --image-root="$IR" run -q --console=pipe -M both /bin/echo dir </dev/null 2>"$W/err")
[ "$OUT" = dir ] || fail "run -M both: \"$OUT\""
grep -q 'run: both.raw is hidden by the directory both/' "$W/err" || fail "run -M both: no warning: $(cat "$W/err")"
OUT=$("$COWPEN" --image-root="$IR" image-status both 2>"$W/err" | awk '$1 == "Type:" {print $2}')
[ "$OUT" = directory ] || fail "image-status both: type \"$OUT\""
grep -q 'image-status: both.raw is hidden' "$W/err" || fail "image-status both: no warning: $(cat "$W/err")"
"$COWPEN" --image-root="$IR" remove both 2>"$W/err" || fail "remove both: $(cat "$W/err")"
[ ! -e "$IR/both" ] && [ -f "$IR/both.raw" ] || fail "remove both: removed the wrong one"
grep -q 'both.raw of the same name stays' "$W/err" || fail "remove both: no word on what stays: $(cat "$W/err")"
OUT=$("$COWPEN" --image-root="$IR" --json=short list-images 2>"$W/err" | python3 -c 'import json,sys; print(" ".join(o["name"] + ":" + o["type"] for o in json.load(sys.stdin)))')
[ "$OUT" = "alone:directory both:raw" ] && [ ! -s "$W/err" ] || fail "list-images after remove: \"$OUT\" ($(cat "$W/err"))"
pass "one image per name: the directory, in list-images, run -M, image-status and remove"
