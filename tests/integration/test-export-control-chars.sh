#!/bin/bash
# A name with a control character: import-tar refuses it (a name made to forge lines of output),
# so export-tar refuses it too, with the same words, rather than writing an archive that cowpen
# cannot import back (the round trip failed only at the import). Nothing is left behind.
. "$TEST_SRCDIR/tests/lib/lib.sh"

make_temp_dir
T=$TEMP_DIR
R=$T/machines
mkdir -p "$T/src/etc" "$T/src/dir"
echo ID=x >"$T/src/etc/os-release"
printf 'x' >"$T/src/dir/evil"$'\n'name
must "$COWPEN" -q --image-root="$R" import-fs "$T/src" img
mkdir "$T/out"

# Import's message for such an entry, from an archive GNU tar made.
tar -C "$T/src" -cf "$T/gnu.tar" .
must_fail 1 "$COWPEN" --image-root="$R" import-tar "$T/gnu.tar" back
assert_one_line_error '^cowpen: import-tar .*/gnu.tar: entry "\./dir/evil\\x0aname": control character in path$'

for f in "$T/out/img.tar" "$T/out/img.tar.zst"; do
  must_fail 1 "$COWPEN" --image-root="$R" export-tar img "$f"
  assert_one_line_error '^cowpen: export-tar img: entry "dir/evil\\x0aname": control character in path \(import-tar refuses it\)$'
done
[ -z "$(ls -A "$T/out")" ] || fail "export left something: $(ls -A "$T/out")"
must_fail 1 "$COWPEN" --image-root="$R" export-tar img - >/dev/null
pass "export-tar refuses a name import-tar would refuse"

# Without it the round trip works.
rm "$T/src/dir/evil"*
must "$COWPEN" -q --image-root="$R" import-fs --force "$T/src" img
must "$COWPEN" -q --image-root="$R" export-tar img "$T/out/img.tar"
must "$COWPEN" -q --image-root="$R" import-tar "$T/out/img.tar" back
[ -f "$R/back/etc/os-release" ] || fail "round trip lost etc/os-release"
pass "round trip without control characters"
