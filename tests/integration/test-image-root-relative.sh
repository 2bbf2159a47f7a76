#!/bin/bash
# A relative --image-root= or $COWPEN_IMAGE_ROOT is taken relative to the working directory, as
# any path on a command line (it failed with "Invalid argument"), for every verb that opens the
# image root, and the paths cowpen prints are absolute.
. "$TEST_SRCDIR/tests/lib/lib.sh"
. "$TEST_SRCDIR/tests/lib/boot.sh"

make_temp_dir
make_special_tree "$TEMP_DIR/src"
mkdir "$TEMP_DIR/cwd"
cd "$TEMP_DIR/cwd"

must "$COWPEN" -q --image-root=ir import-fs "$TEMP_DIR/src" one
[ -d "$TEMP_DIR/cwd/ir/one" ] || fail "--image-root=ir did not create ir/one in the working directory"
out=$(must "$COWPEN" --image-root=ir --json=short list-images)
[[ $out == *"\"path\":\"$TEMP_DIR/cwd/ir/one\""* ]] || fail "list-images does not print the absolute path: $out"
# As an environment variable, with ./ and trailing slashes, and as the verb's own option.
out=$(COWPEN_IMAGE_ROOT=./ir/ must "$COWPEN" image-status one)
grep -qx "      Path: $TEMP_DIR/cwd/ir/one" <<<"$out" || fail "\$COWPEN_IMAGE_ROOT=./ir/: $out"
must env COWPEN_IMAGE_ROOT=ir "$COWPEN" -q clone one two
must "$COWPEN" -q list-images --image-root=ir
[ -d ir/two ] || fail "clone under \$COWPEN_IMAGE_ROOT=ir did not land in ./ir"
# The option wins over the environment, as for an absolute one.
mkdir other
COWPEN_IMAGE_ROOT=other must "$COWPEN" -q --image-root=ir remove two
[ ! -e ir/two ] || fail "--image-root=ir did not win over \$COWPEN_IMAGE_ROOT"
# run -M NAME finds the image and runs in it (the spawn engine changes directory).
make_busybox_tree "$TEMP_DIR/bb"
must "$COWPEN" -q --image-root=ir import-fs "$TEMP_DIR/bb" bb
out=$(must "$COWPEN" --image-root=ir run -q --console=pipe -M bb /bin/cat /etc/os-release)
[[ $out == *ID=busybox* ]] || fail "run -M bb under --image-root=ir: $out"
out=$(cd ir && must "$COWPEN" --image-root=. run -q --console=pipe -x -M bb /bin/echo ephemeral)
[ "$out" = ephemeral ] || fail "run -x -M bb under --image-root=.: $out"
must_fail 2 "$COWPEN" --image-root= list-images
assert_one_line_error '^cowpen: --image-root= needs a directory$'
pass "relative --image-root= and \$COWPEN_IMAGE_ROOT"
