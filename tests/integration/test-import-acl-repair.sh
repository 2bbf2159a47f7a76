#!/bin/bash
# An ACL the kernel refuses (no mask entry beside named ones, a named user without a numeric id,
# a default ACL on a file, no group:: entry) aborted the whole import with "cannot set an extended
# attribute". Now what is valid is applied, and one warning per kind names the first entry and
# counts the others; the exit status is 0. Both ways of storing ACLs: SCHILY.acl.* text and
# SCHILY.xattr.system.posix_acl_* (the kernel's binary format).
. "$TEST_SRCDIR/tests/lib/lib.sh"

make_temp_dir
T=$TEMP_DIR
R=$T/machines
python3 - "$T/acl.tar" <<'PY'
import io, struct, sys, tarfile

def xattr_acl(*entries):  # (tag, perm, id): the kernel's system.posix_acl_* value
    return (struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)).decode("utf-8", "surrogateescape")

U = 0xFFFFFFFF
entries = [
    ("nomask-a", {"SCHILY.acl.access": "user::rwx,user:u:rwx:1234,group::r-x,other::r--"}, False),
    ("nomask-b", {"SCHILY.acl.access": "user::rw-,group:g:rw-:4321,group::r--,other::---"}, False),
    ("noid", {"SCHILY.acl.access": "user::rwx,user:nobody-here:rwx,user:u:r--:1234,group::r-x,mask::rwx,other::r--"}, False),
    ("xattr-nomask", {"SCHILY.xattr.system.posix_acl_access": xattr_acl((1, 7, U), (2, 6, 1234), (4, 5, U), (0x20, 4, U))}, False),
    ("default-on-file", {"SCHILY.acl.default": "user::rwx,group::r-x,other::r--"}, False),
    ("dir-nogroup", {"SCHILY.xattr.system.posix_acl_default": xattr_acl((1, 7, U), (0x20, 5, U))}, True),
    ("good", {"SCHILY.acl.access": "user::rwx,user:u:r-x:1234,group::r--,mask::r-x,other::---"}, False),
    ("xattr-empty", {"SCHILY.xattr.system.posix_acl_access": xattr_acl()}, False),  # "no ACL": valid, no warning
]
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, pax, isdir in entries:
        ti = tarfile.TarInfo(name)
        ti.mode = 0o755 if isdir else 0o644
        ti.mtime = 1700000000
        ti.pax_headers = pax
        if isdir:
            ti.type = tarfile.DIRTYPE
            t.addfile(ti)
        else:
            ti.size = 2
            t.addfile(ti, io.BytesIO(b"x\n"))
PY
out=$("$COWPEN" --image-root="$R" import-tar "$T/acl.tar" acl 2>&1) || fail "import-tar with repairable ACLs failed: $out"
log "$out"
acl() { getfacl -cnp "$R/acl/$1" 2>/dev/null | grep -v '^$' | tr '\n' ' '; }
[ "$(acl nomask-a)" = "user::rwx user:1234:rwx group::r-x mask::rwx other::r-- " ] || fail "nomask-a: $(acl nomask-a)"
[ "$(acl nomask-b)" = "user::rw- group::r-- group:4321:rw- mask::rw- other::--- " ] || fail "nomask-b: $(acl nomask-b)"
[ "$(acl noid)" = "user::rwx user:1234:r-- group::r-x mask::rwx other::r-- " ] || fail "noid: $(acl noid)"
[ "$(acl xattr-nomask)" = "user::rwx user:1234:rw- group::r-x mask::rwx other::r-- " ] || fail "xattr-nomask: $(acl xattr-nomask)"
getfattr -n system.posix_acl_default "$R/acl/dir-nogroup" >/dev/null 2>&1 && fail "dir-nogroup: an invalid default ACL was applied"
[ "$(acl good)" = "user::rwx user:1234:r-x group::r-- mask::r-x other::--- " ] || fail "good: $(acl good)"
pass "valid ACLs applied, missing masks computed, unusable entries left out"

# One warning per kind, each naming the first entry (and how many more), then the summary.
w() { grep -c "^cowpen: import-tar $T/acl.tar: entry \"$1\": $2" <<<"$out" || true; }
[ "$(w nomask-a 'ACL without a mask entry: applied with the mask its named entries need (and 2 more entries like it)$')" = 1 ] ||
  fail "no single no-mask warning"
[ "$(w noid 'ACL entry of a user or group without a numeric id: left out')" = 1 ] || fail "no single no-id warning"
[ "$(w default-on-file 'default ACL on a non-directory: not applied$')" = 1 ] || fail "no default-on-file warning"
[ "$(w dir-nogroup/ 'ACL without an owner, group or other entry, or malformed: not applied$')" = 1 ] ||
  fail "no invalid-ACL warning"
[ "$(grep -c '^cowpen: ' <<<"$out")" = 4 ] || fail "expected 4 warning lines: $out"
[[ $out == *'Imported image "acl".'* ]] || fail "no summary: $out"
# -q keeps the warnings (the image differs from the archive), drops the summary.
out=$("$COWPEN" --image-root="$R" -q import-tar "$T/acl.tar" acl2 2>&1) || fail "import-tar -q failed: $out"
[ "$(grep -c '^cowpen: ' <<<"$out")" = 4 ] && [[ $out != *Imported* ]] || fail "-q: $out"
pass "one warning per kind naming the entry"
