#!/bin/bash
# What cowpen maps: `cowpen run -D TREE` (the process facing the container), the image verbs and
# `run -i` on the userspace verity path load none of libarchive, libcurl, libcryptsetup and the
# decoders (liblzma, libzstd, zlib, libbz2), nor what those pull in (ICU, krb5, ldap, gnutls,
# nghttp2, libxml2, …); run -D and the image verbs load none of libblkid, libmount (with its
# libselinux and libpcre2-8) and libcap either; run -i loads libblkid, run --capability= libcap,
# and run where /sys/fs/cgroup is not the cgroup2 hierarchy libmount (its mountinfo path);
# import-tar loads libarchive (and liblzma for .tar.xz) when it needs them; with the libraries
# taken away (a private mount namespace without them), run -D still works, and import-tar, run -i
# and run --capability= fail with one line naming the missing library.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

command -v busybox >/dev/null || fail "busybox-static is not installed (scripts/packages/boot.txt)"
make_temp_dir
T=$TEMP_DIR
make_busybox_tree "$T/tree"
export COWPEN_IMAGE_ROOT=$T/images
mkdir "$COWPEN_IMAGE_ROOT"

# The SONAMEs cowpen dlopen()s, as configured (config.h of the build under test).
soname() {
  sed -n "s/^#define $1 \"\\(.*\\)\"\$/\\1/p" "$TEST_BUILDDIR/config.h"
}
ARCHIVE=$(soname LIBARCHIVE_SONAME)
LZMA=$(soname LIBLZMA_SONAME)
BLKID=$(soname LIBBLKID_SONAME)
MOUNT=$(soname LIBMOUNT_SONAME)
CAP=$(soname LIBCAP_SONAME)
if [ -z "$ARCHIVE" ] || [ -z "$LZMA" ] || [ -z "$BLKID" ] || [ -z "$MOUNT" ] || [ -z "$CAP" ]; then
  fail "no SONAMEs in $TEST_BUILDDIR/config.h"
fi

# Libraries that must not be in a process that needs none of them: the transfer and verity
# libraries and what they drag in.
FORBIDDEN='lib(archive|curl|cryptsetup|lzma|zstd|z|bz2|icu[a-z]*|krb5|gssapi_krb5|k5crypto|ldap|lber|gnutls|nghttp2|xml2|ssh2|rtmp|psl|idn2|devmapper|argon2|nettle|hogweed)\.so'
# And those a run loads only for what asks for them: raw images (libblkid), capability names
# (libcap), mountinfo where /sys/fs/cgroup is not cgroup2 (libmount, with libselinux and libpcre2-8).
ON_USE='lib(blkid|mount|selinux|pcre2-8|cap)\.so'

# check_clean WHAT LIST [PATTERN]: LIST (one path or name a line) names none of FORBIDDEN, nor of
# PATTERN (default ON_USE; "" for none).
check_clean() {
  local bad re="(^|/)$FORBIDDEN"
  [ -z "${3-$ON_USE}" ] || re="$re|(^|/)${3-$ON_USE}"
  bad=$(grep -E "$re" <<<"$2" || true)
  [ -z "$bad" ] || fail "$1 maps $(tr '\n' ' ' <<<"$bad")"
}

# loaded_by CMD…: runs CMD; $LOADED is the shared objects the dynamic loader opened for it
# (LD_DEBUG=files), one a line, and $LOADED_RC its exit status. CMD's output is dropped.
loaded_by() {
  local log=$T/ld.log
  LOADED_RC=0
  LD_DEBUG=files LD_DEBUG_OUTPUT=$log "$@" >/dev/null 2>&1 || LOADED_RC=$?
  LOADED=$(cat "$log".* 2>/dev/null | sed -n 's/.*file=\([^ ]*\) .*\(needed by\|dynamically loaded by\).*/\1/p' | sort -u)
  rm -f "$log".*
}

# in_namespace HIDE CGROUP2 CMD…: CMD in a private mount namespace where the SONAMEs of HIDE (a
# list, may be empty) are taken out of the library directory (a tmpfs with links to all others
# bound over it) and, with CGROUP2 non-empty, neither /sys/fs/cgroup nor /sys/fs/cgroup/unified is
# the cgroup2 hierarchy (a tmpfs there, cgroup2 mounted at $T/cg2: only mountinfo names it).
libdir=$(dirname "$(readlink -f "$(ldconfig -p | awk -v s="$ARCHIVE" '$1 == s { print $NF; exit }')")")
[ -d "$libdir" ] || fail "cannot find the directory of $ARCHIVE"
in_namespace() {
  local hide=$1 cg2=$2
  shift 2
  # shellcheck disable=SC2016 # the script is expanded by the inner bash
  unshare -m --propagation private bash -c '
    set -e
    libdir=$1 t=$2 hide=$3 cg2=$4
    shift 4
    if [ -n "$cg2" ]; then
      umount -R /sys/fs/cgroup
      mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
      mkdir -p "$t/cg2"
      mount -t cgroup2 cgroup2 "$t/cg2"
    fi
    if [ -n "$hide" ]; then
      mkdir -p "$t/ns-orig" "$t/ns-stage"
      mount --bind "$libdir" "$t/ns-orig"
      mount -t tmpfs tmpfs "$t/ns-stage"
      read -ra hide <<<"$hide"
      shopt -s nullglob dotglob
      for f in "$t/ns-orig"/*; do
        b=${f##*/} keep=1
        for h in "${hide[@]}"; do [[ $b == "$h" || $b == "$h".* ]] && keep=; done
        [ -z "$keep" ] || ln -s "$f" "$t/ns-stage/$b"
      done
      mount --bind "$t/ns-stage" "$libdir"
    fi
    exec "$@"' bash "$libdir" "$T" "$hide" "$cg2" "$@"
}
without_libraries() { # without_libraries "SONAME…" CMD…
  in_namespace "$1" "" "${@:2}"
}

# 1. cowpen run -D: read the maps of the cowpen process while its payload runs.
"$COWPEN" run -D "$T/tree" sleep 60 &
pid=$!
at_exit "kill $pid; wait $pid"
for _ in $(seq 100); do
  [ "$(pgrep -P "$pid" -x sleep 2>/dev/null || true)" ] && break
  kill -0 "$pid" 2>/dev/null || fail "run -D exited early"
  sleep 0.1
done
[ "$(pgrep -P "$pid" -x sleep)" ] || fail "the payload of run -D did not start"
maps=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$pid/maps" | sort -u)
check_clean "run -D" "$maps"
log "cowpen run maps $(wc -l <<<"$maps") shared objects: $(xargs -n1 basename <<<"$maps" | tr '\n' ' ')"
kill "$pid"
wait "$pid" 2>/dev/null || true
pass "run -D maps none of the transfer and verity libraries, nor libblkid, libmount, libselinux, libpcre2-8, libcap"

# 2. The image verbs load none of them either.
must "$COWPEN" -q import-fs "$T/tree" bb
for verb in "list-images" "image-status bb" "clone bb bb2" "rename bb2 bb3" "read-only bb3 yes" "remove bb3" "clean"; do
  # shellcheck disable=SC2086
  loaded_by "$COWPEN" $verb
  [ "$LOADED_RC" -eq 0 ] || fail "$verb failed ($LOADED_RC)"
  check_clean "$verb" "$LOADED"
done
pass "image verbs load none of them"

# 2b. --capability= looks names up with libcap, loaded then; run -D with numbers only does not.
loaded_by "$COWPEN" run -D "$T/tree" --capability=CAP_NET_ADMIN,sys_time true
[ "$LOADED_RC" -eq 0 ] || fail "run --capability= failed ($LOADED_RC)"
grep -qx "$CAP" <<<"$LOADED" || fail "run --capability= did not load $CAP: $(tr '\n' ' ' <<<"$LOADED")"
check_clean "run --capability=" "$(grep -vx "$CAP" <<<"$LOADED" || true)"
readelf -d "$COWPEN" | grep -qE "NEEDED.*\[lib(blkid|mount|cap)\.so" && fail "cowpen links libblkid, libmount or libcap (DT_NEEDED)"
pass "run --capability= loads $CAP, and cowpen links none of libblkid, libmount, libcap"

# 2c. Where neither /sys/fs/cgroup nor /sys/fs/cgroup/unified is the cgroup2 hierarchy (a private
# mount namespace: a tmpfs there, cgroup2 mounted elsewhere), run finds it in mountinfo with
# libmount, loaded then, and makes the container's cgroup there.
log=$T/ld-cg.log
out=$(in_namespace "" yes env LD_DEBUG=files LD_DEBUG_OUTPUT="$log" "$COWPEN" run -D "$T/tree" cat /proc/self/cgroup 2>&1) ||
  fail "run -D with cgroup2 only in mountinfo: $out"
LOADED=$(cat "$log".* 2>/dev/null | sed -n 's/.*file=\([^ ]*\) .*dynamically loaded by.*/\1/p' | sort -u)
rm -f "$log".*
grep -q '^0::/$' <<<"$out" || fail "run -D with cgroup2 only in mountinfo: not in a cgroup namespace of its own: $out"
grep -qx "$MOUNT" <<<"$LOADED" || fail "run -D with cgroup2 only in mountinfo did not load $MOUNT: $(tr '\n' ' ' <<<"$LOADED")"
pass "run finds a cgroup2 hierarchy that only mountinfo names with $MOUNT, loaded then"

# 3. run -i on the userspace verity path (no device-mapper) does not load libcryptsetup; with
# device-mapper it is the one that may.
if [ -e /dev/loop-control ] && command -v veritysetup >/dev/null; then
  mkfs.ext4 -q -d "$T/tree" "$T/app.raw" 16M >/dev/null || fail "mkfs.ext4"
  veritysetup format "$T/app.raw" "$T/app.verity" >"$T/vs.out" || fail "veritysetup format"
  sed -n 's/^Root hash:[[:space:]]*//p' "$T/vs.out" | tr -d '\n' >"$T/app.roothash"
  loaded_by "$COWPEN" run -i "$T/app.raw" true
  [ "$LOADED_RC" -eq 0 ] || fail "run -i with verity sidecars failed ($LOADED_RC)"
  grep -qx "$BLKID" <<<"$LOADED" || fail "run -i did not load $BLKID: $(tr '\n' ' ' <<<"$LOADED")"
  # libcryptsetup needs libblkid itself: the check is that run -i loads it, not who does.
  if [ -e /dev/mapper/control ]; then
    check_clean "run -i (device-mapper)" "$(grep -v cryptsetup <<<"$LOADED" || true)" 'lib(mount|cap)\.so'
    pass "run -i through device-mapper loads $BLKID and libcryptsetup's libraries"
  else
    check_clean "run -i (userspace verity)" "$LOADED" 'lib(mount|selinux|pcre2-8|cap)\.so'
    pass "run -i on the userspace verity path loads $BLKID and none of the others"
  fi
else
  log "no loop devices or veritysetup: run -i not checked"
fi

# 4. import-tar loads libarchive (dlopen()ed, not linked) and liblzma for .tar.xz, and works.
tar --numeric-owner -C "$T/tree" -cf "$T/bb.tar" .
xz -T1 -k "$T/bb.tar"
loaded_by "$COWPEN" -q import-tar "$T/bb.tar.xz" imported
[ "$LOADED_RC" -eq 0 ] || fail "import-tar failed ($LOADED_RC)"
grep -qx "$ARCHIVE" <<<"$LOADED" || fail "import-tar did not load $ARCHIVE: $(tr '\n' ' ' <<<"$LOADED")"
grep -qx "$LZMA" <<<"$LOADED" || fail "import-tar of .tar.xz did not load $LZMA"
cmp -s "$T/tree/etc/os-release" "$COWPEN_IMAGE_ROOT/imported/etc/os-release" || fail "import-tar: tree differs"
readelf -d "$COWPEN" | grep -q "NEEDED.*\[$ARCHIVE\]" && fail "cowpen links $ARCHIVE (DT_NEEDED)"
pass "import-tar loads $ARCHIVE and $LZMA when it needs them, and imports"

# 5. Without the libraries (a private mount namespace whose library directory has all but them):
# run -D works, and import-tar, run -i, run --capability=, a settings file naming capabilities and
# run where only mountinfo names the cgroup2 hierarchy fail with one line naming the missing library.
ALL="$ARCHIVE $(soname LIBCURL_SONAME) $(soname LIBCRYPTSETUP_SONAME) $LZMA $(soname LIBZSTD_SONAME) $(soname ZLIB_SONAME) $(soname LIBBZ2_SONAME) $BLKID $MOUNT $CAP"
out=$(without_libraries "$ALL" "$COWPEN" run -D "$T/tree" cat /etc/os-release) || fail "run -D without the libraries: $out"
grep -q '^ID=busybox$' <<<"$out" || fail "run -D without the libraries: $out"
must_fail 1 without_libraries "$ALL" "$COWPEN" import-tar "$T/bb.tar" gone
assert_one_line_error "^cowpen: import-tar $T/bb.tar: $ARCHIVE is not installed \\(needed to read tar archives\\)\$"
[ ! -e "$COWPEN_IMAGE_ROOT/gone" ] || fail "import-tar without $ARCHIVE left an image"
mkfs.ext4 -q -d "$T/tree" "$T/plain.raw" 16M >/dev/null || fail "mkfs.ext4"
must_fail 1 without_libraries "$ALL" "$COWPEN" run -i "$T/plain.raw" true
assert_one_line_error "^cowpen: run -i $T/plain.raw: $BLKID is not installed \\(needed to read raw images\\)\$"
must_fail 1 without_libraries "$ALL" "$COWPEN" run -D "$T/tree" --capability=CAP_NET_ADMIN true
assert_one_line_error "^cowpen: run: $CAP is not installed \\(needed for capability names\\)\$"
printf '[Exec]\nDropCapability=CAP_NET_RAW\n' >"$T/tree.nspawn"
must_fail 1 without_libraries "$ALL" "$COWPEN" run -D "$T/tree" true
assert_one_line_error "^cowpen: run tree: settings file $T/tree.nspawn: line 2: $CAP is not installed \\(needed for the capability names of DropCapability=\\)\$"
rm "$T/tree.nspawn"
must_fail 1 in_namespace "$ALL" yes "$COWPEN" run -D "$T/tree" true
assert_one_line_error "^cowpen: run tree: $MOUNT is not installed \\(needed to find the cgroup2 hierarchy in mountinfo: it is not mounted at /sys/fs/cgroup\\)\$"
pass "without them run -D works, and import-tar, run -i, run --capability=, a settings file's DropCapability= and run where only mountinfo names cgroup2 say which library is missing"
