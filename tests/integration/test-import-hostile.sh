#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The hostile archive corpus (tests/hostile/make-hostile.py): every case must fail with a one-line
# error naming the entry, write nothing outside the target (a canary tree and the directories
# around the image root are compared before and after), publish nothing and leave no temporary.
. "$TEST_SRCDIR/tests/lib/lib.sh"

make_temp_dir
T=$TEMP_DIR
CANARY=$T/canary
ROOT=$T/a/b/root
mkdir -p "$CANARY" "$ROOT" "$T/corpus"
printf 'precious\n' >"$CANARY/file"
mkdir "$CANARY/sub"
must python3 "$TEST_SRCDIR/tests/hostile/make-hostile.py" "$T/corpus" "$CANARY" >/dev/null
n=$(wc -l <"$T/corpus/manifest.tsv")
[ "$n" -ge 20 ] || fail "corpus has only $n cases"

# Everything under $T except the corpus itself: paths, types, sizes, modes, mtimes, contents.
snapshot() {
  (cd "$T" && find . \( -path ./corpus -o -path ./a/b/root \) -prune -o -printf '%p %y %s %m %T@ %l\n' | sort
   find "$T/canary" -type f -exec sha256sum {} + | sort)
}
before=$(snapshot)

while IFS=$'\t' read -r name file opts regex; do
  args=()
  [ "$opts" = "-" ] || read -r -a args <<<"$opts"
  must_fail 1 "$COWPEN" --image-root="$ROOT" --no-progress import-tar "${args[@]}" "$file" victim
  assert_one_line_error "^cowpen: import-tar .*: $regex"
  after=$(snapshot)
  [ "$before" = "$after" ] || fail "$name: something changed outside the target:
$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after"))"
  [ -z "$(ls -A "$ROOT")" ] || fail "$name: image root not empty afterwards: $(ls -A "$ROOT")"
  [ "$(cat "$CANARY/file")" = precious ] || fail "$name: canary overwritten"
  pass "$name: $ERR"
done <"$T/corpus/manifest.tsv"

# The limits at exactly the limit pass (the cases above are limit + 1).
python3 - "$T/limits.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for i in range(10):
        ti = tarfile.TarInfo("f%02d" % i); ti.size = 1; t.addfile(ti, io.BytesIO(b"x"))
    ti = tarfile.TarInfo("/".join(["a"] * 255) + "/f"); t.addfile(ti, io.BytesIO(b""))
    ti = tarfile.TarInfo("/".join(["p" * 200] * 20) + "/x" + "y" * 75); t.addfile(ti, io.BytesIO(b""))
PY
must "$COWPEN" --image-root="$ROOT" -q import-tar --max-entries=12 "$T/limits.tar" atlimit
[ -e "$ROOT/atlimit/f09" ] || fail "at-limit import incomplete"
pass "limits: entries, depth 256, path 4096 accepted at the limit"

# A sparse member of exactly TAR_SPARSE_REGIONS_MAX (262144) regions imports, holes and all.
python3 - "$T/sparse-limit.tar" <<'PY'
import io, sys, tarfile
n = 1 << 18
m = ("%d\n" % n + "".join("%d\n1\n" % (2 * i) for i in range(n))).encode()
m += b"\0" * (-len(m) % 512)
t = tarfile.TarInfo("GNUSparseFile.0/many")
t.size = len(m) + n
t.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "many",
                 "GNU.sparse.realsize": str(2 * n)}
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tar:
    tar.addfile(t, io.BytesIO(m + b"x" * n))
PY
must "$COWPEN" --image-root="$ROOT" -q import-tar "$T/sparse-limit.tar" sparselimit
[ "$(stat -c %s "$ROOT/sparselimit/many")" = $((2 << 18)) ] || fail "sparse member at the limit: wrong size"
[ "$(tr -d '\0' <"$ROOT/sparselimit/many" | wc -c)" = $((1 << 18)) ] || fail "sparse member at the limit: wrong data"
pass "limits: a sparse map of 262144 regions accepted at the limit"
