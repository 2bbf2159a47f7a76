#!/bin/bash
# A FIFO (or character device) where a file or block device is required is refused at once with
# one line, never waited on: run -i on a FIFO hung in open(). Checked for every verb that opens a
# path the user gives (run -i and --verity-data, verity-format, -verify, -sign and their tree
# file, import-raw's and clone's sidecars). import-tar and import-raw FILE take a pipe, as they
# take stdin: a named FIFO with a writer and /dev/fd/N from a process substitution import.
. "$TEST_SRCDIR/tests/lib/lib.sh"

make_temp_dir
T=$TEMP_DIR
R=$T/machines
cd "$T"
mkfifo fifo
truncate -s 4M data.raw && mkfs.ext4 -q data.raw # one file system: its verity data is looked for
make_special_tree "$T/src"
must "$COWPEN" -q --image-root="$R" import-fs "$T/src" a

# Each must fail with status 1 within seconds (timeout's 124 means it hung).
quick_fail() { # quick_fail REGEX ARGS…
  local re=$1
  shift
  must_fail 1 timeout 20 "$@"
  assert_one_line_error "$re"
}
quick_fail '^cowpen: run -i fifo: not a regular file or block device$' "$COWPEN" run -i fifo true
quick_fail '^cowpen: run -i /dev/null: not a regular file or block device$' "$COWPEN" run -i /dev/null true
quick_fail 'verity data fifo: not a regular file or block device' \
  "$COWPEN" run -i data.raw --root-hash="$(printf '%064d' 1)" --verity-data=fifo true
quick_fail '^cowpen: verity-format fifo: not a regular file or block device$' "$COWPEN" verity-format fifo
quick_fail '^cowpen: verity-format data.raw: fifo: not a regular file or block device$' \
  "$COWPEN" verity-format --verity-data=fifo data.raw
quick_fail '^cowpen: verity-verify fifo: not a regular file or block device$' "$COWPEN" verity-verify fifo
quick_fail '^cowpen: verity-verify data.raw: fifo: not a regular file or block device$' \
  "$COWPEN" verity-verify --verity-data=fifo data.raw
quick_fail '^cowpen: verity-sign fifo: not a regular file or block device$' \
  "$COWPEN" verity-sign --private-key=k --certificate=c fifo
quick_fail '^cowpen: import-tar /dev/null: not a regular file, block device or pipe$' \
  "$COWPEN" --image-root="$R" import-tar /dev/null x
# A sidecar next to the raw image, and in the image root, of a FIFO.
mkdir side && truncate -s 1M side/disk.raw && mkfifo side/disk.nspawn
quick_fail '^cowpen: import-raw side/disk.raw: sidecar disk.nspawn: not a regular file$' \
  "$COWPEN" --image-root="$R" import-raw side/disk.raw
mkfifo "$R/a.nspawn"
must_fail 1 timeout 20 "$COWPEN" --image-root="$R" clone a b
rm "$R/a.nspawn"
[ -z "$(ls -A "$R" | grep -v -e '^a$' -e '^a\.provenance$')" ] || fail "something was left in the image root: $(ls -A "$R")"
pass "FIFOs and character devices refused where a file or block device is required"

# import-tar takes a FIFO with a writer, and a pipe from a process substitution.
tar -C "$T/src" -cf "$T/src.tar" etc
(cat "$T/src.tar" >fifo) &
must timeout 20 "$COWPEN" -q --image-root="$R" import-tar fifo viafifo
wait
[ -f "$R/viafifo/etc/os-release" ] || fail "import-tar from a FIFO lost the content"
must timeout 20 "$COWPEN" -q --image-root="$R" import-tar <(cat "$T/src.tar") viapipe
[ -f "$R/viapipe/etc/os-release" ] || fail "import-tar from /dev/fd/N lost the content"
must timeout 20 "$COWPEN" -q --image-root="$R" import-raw <(cat data.raw) rawpipe
[ "$(stat -c %s "$R/rawpipe.raw")" = $((4 << 20)) ] || fail "import-raw from /dev/fd/N: wrong size"
pass "import-tar and import-raw read FIFOs and pipes"
