#!/bin/bash
# Bad names are refused with one clear line and nothing is created (bad usage, exit status 2);
# existing targets are refused (a failure, 1).
. "$TEST_SRCDIR/tests/lib/lib.sh"

make_temp_dir
R=$TEMP_DIR/machines
make_special_tree "$TEMP_DIR/src"
must "$COWPEN" --image-root="$R" import-fs "$TEMP_DIR/src" good
before=$(ls -A "$R" | sort)

long=$(printf 'a%.0s' $(seq 256))
ctrl=$(printf 'bad\001name')
nl=$(printf 'bad\nname')
for name in "a/b" ".." "../escape" ".hidden" "" "$long" "$ctrl" "$nl" "tab$(printf '\t')x"; do
  for verb in clone import-fs rename; do
    case $verb in
      clone) must_fail 2 "$COWPEN" --image-root="$R" clone good "$name" ;;
      import-fs) must_fail 2 "$COWPEN" --image-root="$R" import-fs "$TEMP_DIR/src" "$name" ;;
      rename) must_fail 2 "$COWPEN" --image-root="$R" rename good "$name" ;;
    esac
    assert_one_line_error '^cowpen: .*invalid image name.*: name (is empty|contains|starts|is longer|is ".")'
  done
  [ "$(ls -A "$R" | sort)" = "$before" ] || fail "something was created for name '$name'"
done
# 255 bytes is fine.
ok=$(printf 'b%.0s' $(seq 255))
must "$COWPEN" --image-root="$R" clone good "$ok"
must "$COWPEN" --image-root="$R" remove "$ok"

must_fail 1 "$COWPEN" --image-root="$R" clone good good
assert_one_line_error '^cowpen: clone good → good: image "good" already exists$'
must "$COWPEN" --image-root="$R" clone good other
must_fail 1 "$COWPEN" --image-root="$R" clone good other
assert_one_line_error '^cowpen: clone good → other: image "other" already exists$'
must_fail 1 "$COWPEN" --image-root="$R" rename good other
assert_one_line_error 'already exists'
must_fail 1 "$COWPEN" --image-root="$R" clone missing x
assert_one_line_error '^cowpen: clone missing → x: no image "missing"$'
must_fail 1 "$COWPEN" --image-root="$R" remove missing
assert_one_line_error '^cowpen: remove missing: no image "missing"$'
must_fail 2 "$COWPEN" --image-root="$R" clone good
must_fail 2 "$COWPEN" --image-root="$R" frobnicate
must_fail 2 "$COWPEN" --image-root="$R" list-images --bogus
must_fail 1 "$COWPEN" --image-root="$R" import-fs "$TEMP_DIR/does-not-exist" x
assert_one_line_error 'does-not-exist: No such file or directory$'
[ ! -e "$R/x" ] || fail "import of a missing dir created something"
left=$(ls -A "$R" | grep '^\.#' || true)
[ -z "$left" ] || fail "hidden leftovers: $left"
pass "bad names and existing targets refused"
