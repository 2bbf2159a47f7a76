# Helpers of the boot/raw-image tests (source after lib.sh).

# A minimal OS tree of busybox-static: sh and the applets, os-release, passwd, an inittab that
# powers off once the system is up (for -b), /sbin/init.
make_busybox_tree() {
  local d=$1 bb
  bb=$(command -v busybox) || skip "busybox-static is not installed"
  mkdir -p "$d"/{bin,sbin,etc,proc,sys,dev,run,tmp,root,usr/bin,usr/sbin}
  cp "$bb" "$d/bin/busybox"
  local a
  for a in sh echo cat id ls stat sleep true false poweroff halt reboot init mount ps readlink; do
    ln -sf busybox "$d/bin/$a"
  done
  ln -sf ../bin/busybox "$d/sbin/init"
  printf 'ID=busybox\nNAME=Busybox\n' > "$d/etc/os-release"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$d/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$d/etc/group"
  printf '::sysinit:/bin/echo busybox-init-up\n::once:/bin/poweroff\n::shutdown:/bin/echo busybox-init-down\n' > "$d/etc/inittab"
}

# A self-signed certificate in $1/cert.pem, key in $1/key.pem, and the trust directory $1/certs.
make_verity_cert() {
  local d=$1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" -days 2 \
    -subj /CN=cowpen-boot-test 2>/dev/null || fail "openssl req"
  mkdir -p "$d/certs"
  cp "$d/cert.pem" "$d/certs/test.crt"
}

# sign_root_hash HEX KEY CERT OUT.p7s: PKCS#7 as systemd expects it.
sign_root_hash() {
  printf '%s' "$1" | openssl smime -sign -nocerts -noattr -binary -inkey "$2" -signer "$3" \
    -outform der -out "$4" || fail "openssl smime -sign"
}

# uuid_from_hex HEX32 → 8-4-4-4-12
uuid_from_hex() {
  local h=$1
  printf '%s-%s-%s-%s-%s' "${h:0:8}" "${h:8:4}" "${h:12:4}" "${h:16:4}" "${h:20:12}"
}

# make_gpt_verity_image OUT FSIMG WORKDIR: a GPT disk with root (FSIMG), root-verity and
# root-verity-sig partitions (x86-64 types), UUIDs from the root hash, signed with
# WORKDIR/key.pem. Sets ROOT_HASH, ROOT_START (byte offset of the root partition).
make_gpt_verity_image() {
  local out=$1 fs=$2 w=$3
  veritysetup format "$fs" "$w/root.verity" > "$w/vs.out" || fail "veritysetup format"
  ROOT_HASH=$(sed -n 's/^Root hash:[[:space:]]*//p' "$w/vs.out")
  [ ${#ROOT_HASH} -eq 64 ] || fail "no root hash from veritysetup"
  sign_root_hash "$ROOT_HASH" "$w/key.pem" "$w/cert.pem" "$w/root.p7s"
  local fp sig
  fp=$(openssl x509 -in "$w/cert.pem" -outform der | sha256sum | cut -d' ' -f1)
  sig=$(base64 -w0 "$w/root.p7s")
  printf '{"rootHash":"%s","certificateFingerprint":"%s","signature":"%s"}' "$ROOT_HASH" "$fp" "$sig" > "$w/root.sig.json"
  local mib=$((1024 * 1024)) s_root s_ver s_sig
  s_root=$(( ($(stat -c %s "$fs") + mib - 1) / mib ))
  s_ver=$(( ($(stat -c %s "$w/root.verity") + mib - 1) / mib ))
  s_sig=1
  local total=$((1 + s_root + s_ver + s_sig + 1))
  rm -f "$out"
  truncate -s "${total}M" "$out"
  local data_uuid verity_uuid
  data_uuid=$(uuid_from_hex "${ROOT_HASH:0:32}")
  verity_uuid=$(uuid_from_hex "${ROOT_HASH:32:32}")
  sfdisk -q "$out" <<EOS || fail "sfdisk"
label: gpt
start=2048, size=$((s_root * 2048)), type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709, uuid=$data_uuid, name=root-x86-64
start=$((2048 + s_root * 2048)), size=$((s_ver * 2048)), type=2c7357ed-ebd2-46d9-aec1-23d437ec2bf5, uuid=$verity_uuid, name=root-x86-64-verity
start=$((2048 + (s_root + s_ver) * 2048)), size=2048, type=41092b05-9fc8-4523-994f-2def0408b176, name=root-x86-64-verity-sig
EOS
  ROOT_START=$mib
  dd if="$fs" of="$out" bs=1M seek=1 conv=notrunc status=none
  dd if="$w/root.verity" of="$out" bs=1M seek=$((1 + s_root)) conv=notrunc status=none
  dd if="$w/root.sig.json" of="$out" bs=1M seek=$((1 + s_root + s_ver)) conv=notrunc status=none
}

# make_busybox_usr_trees ROOT USR: make_busybox_tree split for a merged /usr: ROOT holds /etc
# (with etc/os-release → ../usr/lib/os-release), an empty usr directory and the symlinks bin →
# usr/bin, sbin → usr/sbin; USR is the contents of /usr (bin/busybox and the applets,
# sbin/init, lib/os-release) and nothing of it is in ROOT.
make_busybox_usr_trees() {
  local root=$1 usr=$2
  make_busybox_tree "$root"
  mkdir -p "$usr/lib"
  rm -rf "$root/usr"
  mv "$root/bin" "$usr/bin"
  mv "$root/sbin" "$usr/sbin"
  mkdir "$root/usr"
  ln -s usr/bin "$root/bin"
  ln -s usr/sbin "$root/sbin"
  mv "$root/etc/os-release" "$usr/lib/os-release"
  ln -s ../usr/lib/os-release "$root/etc/os-release"
}

# verity_sign_fs FS WORKDIR NAME: veritysetup's hash tree of FS in WORKDIR/NAME.verity, its root
# hash signed with WORKDIR/key.pem in WORKDIR/NAME.sig.json (the verity-sig partition's JSON).
# Sets VERITY_HASH.
verity_sign_fs() {
  local fs=$1 w=$2 n=$3 fp sig
  veritysetup format "$fs" "$w/$n.verity" > "$w/$n.vs.out" || fail "veritysetup format"
  VERITY_HASH=$(sed -n 's/^Root hash:[[:space:]]*//p' "$w/$n.vs.out")
  [ ${#VERITY_HASH} -eq 64 ] || fail "no root hash from veritysetup"
  sign_root_hash "$VERITY_HASH" "$w/key.pem" "$w/cert.pem" "$w/$n.p7s"
  fp=$(openssl x509 -in "$w/cert.pem" -outform der | sha256sum | cut -d' ' -f1)
  sig=$(base64 -w0 "$w/$n.p7s")
  printf '{"rootHash":"%s","certificateFingerprint":"%s","signature":"%s"}' "$VERITY_HASH" "$fp" "$sig" > "$w/$n.sig.json"
}

# make_gpt_usr_image OUT ROOTFS USRFS WORKDIR: a GPT disk with a root partition holding ROOTFS
# without verity (none when ROOTFS is ""), a usr partition holding USRFS, its usr-verity and
# usr-verity-sig partitions (x86-64 types, UUIDs from the usr root hash, signed with
# WORKDIR/key.pem). Sets USR_HASH, USR_START (byte offset of the usr partition), USR_PARTNO,
# USR_VERITY_PARTNO, USR_SIG_START.
make_gpt_usr_image() {
  local out=$1 rootfs=$2 usrfs=$3 w=$4 mib=$((1024 * 1024))
  verity_sign_fs "$usrfs" "$w" usr
  USR_HASH=$VERITY_HASH
  local s_root=0 s_usr s_ver n=1 at=1 table="label: gpt"
  [ -z "$rootfs" ] || s_root=$(( ($(stat -c %s "$rootfs") + mib - 1) / mib ))
  s_usr=$(( ($(stat -c %s "$usrfs") + mib - 1) / mib ))
  s_ver=$(( ($(stat -c %s "$w/usr.verity") + mib - 1) / mib ))
  rm -f "$out"
  truncate -s "$((1 + s_root + s_usr + s_ver + 1 + 1))M" "$out"
  if [ -n "$rootfs" ]; then
    table+=$'\n'"start=2048, size=$((s_root * 2048)), type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709, name=root-x86-64"
    dd if="$rootfs" of="$out" bs=1M seek=1 conv=notrunc status=none
    at=$((1 + s_root)) n=2
  fi
  USR_START=$((at * mib)) USR_PARTNO=$n USR_VERITY_PARTNO=$((n + 1))
  USR_SIG_START=$(( (at + s_usr + s_ver) * mib ))
  table+=$'\n'"start=$((at * 2048)), size=$((s_usr * 2048)), type=8484680c-9521-48c6-9c11-b0720656f69e, uuid=$(uuid_from_hex "${USR_HASH:0:32}"), name=usr-x86-64"
  table+=$'\n'"start=$(( (at + s_usr) * 2048)), size=$((s_ver * 2048)), type=77ff5f63-e7b6-4633-acf4-1565b864c0e6, uuid=$(uuid_from_hex "${USR_HASH:32:32}"), name=usr-x86-64-verity"
  table+=$'\n'"start=$(( (at + s_usr + s_ver) * 2048)), size=2048, type=e7bb33fb-06cf-4e81-8273-e543b413e2e2, name=usr-x86-64-verity-sig"
  sfdisk -q "$out" <<<"$table" || fail "sfdisk"
  dd if="$usrfs" of="$out" bs=1M seek=$at conv=notrunc status=none
  dd if="$w/usr.verity" of="$out" bs=1M seek=$((at + s_usr)) conv=notrunc status=none
  dd if="$w/usr.sig.json" of="$out" bs=1M seek=$((at + s_usr + s_ver)) conv=notrunc status=none
}

# image_test_setup FS PACKAGES TOOL…: the start of a test of images with file system FS: the tools
# it needs (fail when missing: they are in scripts/packages/PACKAGES), FS and loop devices (skip
# without), a temp dir $W as cwd, and $loops_before, the count of loop devices before.
image_test_setup() {
  local fs=$1 packages=$2 t
  shift 2
  for t in "$@"; do
    command -v "$t" >/dev/null || fail "$t is not installed (scripts/packages/$packages)"
  done
  grep -qw "$fs" /proc/filesystems || modprobe "$fs" 2>/dev/null || true
  grep -qw "$fs" /proc/filesystems || skip "kernel has no $fs"
  [ -e /dev/loop-control ] || skip "no loop devices (/dev/loop-control missing)"
  make_temp_dir
  W=$TEMP_DIR
  cd "$W" || fail "cd $W"
  loops_before=$(losetup -a | wc -l)
}

# The start of the raw image (-i) tests: image_test_setup with erofs and scripts/packages/boot.txt;
# leftovers() names any mount point or loop device a run left.
raw_image_test_setup() {
  image_test_setup erofs boot.txt "$@"
}

leftovers() {
  ls -d /run/cowpen-image.* 2>/dev/null || true
  [ "$(losetup -a | wc -l)" -le "$loops_before" ] || losetup -a | grep -v cowpen-test || true
}

# The notify socket directories (/run/cowpen-notify.PID.*) of cowpen runs that have ended: what
# a run left behind. Those of runs still going (other tests on this machine) are not named.
stale_notify_dirs() {
  local d p
  for d in /run/cowpen-notify.*; do
    [ -e "$d" ] || continue
    p=${d#/run/cowpen-notify.}
    p=${p%%.*}
    kill -0 "$p" 2>/dev/null || echo "$d"
  done
}

# flip_bit FILE OFFSET: inverts the lowest bit of the byte at OFFSET in place.
flip_bit() {
  local b
  b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
  printf "\\$(printf %o $(( (b ^ 1) & 255 )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Of the tests that boot a guest in the background and stop it (poweroff, OpenRC):
# strip_console FILE: a console log without carriage returns and colours.
strip_console() { tr -d '\r' <"$1" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g'; }
# stop_cowpen PID: ends a cowpen still running (on failure) as a user would (SIGTERM, then a
# second one), so that it removes what it made; SIGKILL only as the last resort.
stop_cowpen() {
  local i
  for i in 1 2; do
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  done
  kill -KILL "$1" 2>/dev/null || true
}
# wait_exit PID SECONDS: waits for cowpen to end (fails after SECONDS), its status in $RC.
wait_exit() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && fail "cowpen still runs after $2 s"
  RC=0
  wait "$1" || RC=$?
}

# boot_outer WHAT NAME TREE LOG [RUN OPTIONS…]: `cowpen run -b -x -D TREE -M NAME OPTIONS…` in the
# background, its console in LOG, for a test that works inside a booted guest; waits until its
# init runs (fails naming WHAT when it does not). At exit (on a failure) the guest is shut down
# (its ephemeral copy goes with it), killed only if it hangs, and what a killed one left beside
# the fixture goes too. Sets outer (cowpen's PID) and init (the guest's PID 1, as the host sees it).
boot_outer() {
  local what=$1 name=$2 tree=$3 log=$4
  shift 4
  "$COWPEN" run -b -x -D "$tree" -M "$name" "$@" >"$log" 2>&1 &
  outer=$!
  at_exit "kill -TERM $outer 2>/dev/null; for _w in \$(seq 300); do kill -0 $outer 2>/dev/null || break; sleep 0.1; done; kill -9 $outer 2>/dev/null; wait $outer; rm -rf '$FIXTURE_CACHE'/.#machine.$name.*"
  init=
  for _ in $(seq 300); do
    init=$(pgrep -P $outer | head -1) && break
    sleep 0.1
  done
  [ -n "$init" ] || fail "$what did not start: $(tail -5 "$log")"
}

# boot_outer_stop WHAT NAME: shuts boot_outer's guest down (SIGTERM) and fails unless its run
# exits 0 and leaves nothing beside the fixture.
boot_outer_stop() {
  local rc=0
  kill -TERM $outer
  wait $outer || rc=$?
  [ "$rc" -eq 0 ] || fail "$1: exit $rc"
  ls -A "$FIXTURE_CACHE" | grep -q "^\.#machine\.$2\." && fail "$1's ephemeral copy was left beside the fixture"
  return 0
}

# systemd_state SECONDS CMD…: what `CMD… systemctl is-system-running` says once it is running or
# degraded, or the last it said after SECONDS (CMD: the nsenter into the guest).
systemd_state() {
  local t=$1 st= i
  shift
  for ((i = 0; i < t * 10; i++)); do
    st=$("$@" systemctl is-system-running 2>/dev/null) || true
    case $st in running | degraded) break ;; esac
    sleep 0.1
  done
  echo "$st"
}
