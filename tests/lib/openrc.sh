# Fixtures of the OpenRC boot test (source after lib.sh).

# recipe_fixture NAME RECIPE: like rootfs_fixture for any mmdebstrap recipe (a command line that
# takes the output tarball as its last argument). Built once and cached under $FIXTURE_CACHE as
# NAME-KEY.tar, KEY from the recipe, and extracted (owners, modes, xattrs, ACLs) to NAME-KEY.tree.
# Sets FIXTURE_TAR and FIXTURE_DIR. Never modify FIXTURE_DIR: run with -x or copy it.
recipe_fixture() {
  local name=$1 recipe=$2 key tar dir
  key=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
  tar=$FIXTURE_CACHE/$name-$key.tar
  dir=$FIXTURE_CACHE/$name-$key.tree
  FIXTURE_TAR=$tar
  FIXTURE_DIR=$dir
  # The completion marker lives beside the tree and names the tarball it was extracted from.
  if [ -f "$tar" ] && [ "$(cat "$dir.complete" 2>/dev/null)" = "$(stat -c %i-%s-%Y "$tar")" ]; then
    return 0
  fi
  command -v mmdebstrap >/dev/null || fail "mmdebstrap missing (scripts/install-deps.sh installs it)"
  mkdir -p "$FIXTURE_CACHE"
  (
    exec 9>"$FIXTURE_CACHE/.lock"
    flock 9
    [ -f "$tar" ] && [ "$(cat "$dir.complete" 2>/dev/null)" = "$(stat -c %i-%s-%Y "$tar")" ] && exit 0
    tmp=$(mktemp -d "$FIXTURE_CACHE/.build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    if [ ! -f "$tar" ]; then
      log "building $name fixture: $recipe"
      # shellcheck disable=SC2086
      ${recipe} "$tmp/out.tar" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
      mv "$tmp/out.tar" "$tar"
    fi
    rm -rf "$dir" "$dir.complete"
    mkdir "$tmp/tree"
    tar --numeric-owner --xattrs --xattrs-include='*' --acls -xpf "$tar" -C "$tmp/tree"
    # GNU tar leaves out POSIX ACLs stored as SCHILY.xattr.system.posix_acl_* records (as
    # mmdebstrap writes them): apply every stored xattr as it is.
    python3 - "$tar" "$tmp/tree" <<'PY' || exit 1
import os, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        for k, v in m.pax_headers.items():
            if k.startswith("SCHILY.xattr."):
                path = os.path.join(sys.argv[2], m.name)
                os.setxattr(path, k[len("SCHILY.xattr."):], v.encode("utf-8", "surrogateescape"),
                            follow_symlinks=False)
PY
    touch -r "$tmp/tree" "$tmp/tree"
    mv "$tmp/tree" "$dir"
    stat -c %i-%s-%Y "$tar" >"$dir.complete"
    rm -rf "$tmp"
  ) || fail "cannot build the $name fixture"
}

# A Debian bookworm tree whose /sbin/init is sysvinit's and whose rc system is OpenRC (openrc
# satisfies sysvinit-core's "sysv-rc | file-rc | openrc"; minbase has no systemd-sysv).
# Sets OPENRC_TAR and OPENRC_DIR.
OPENRC_RECIPE="mmdebstrap --variant=minbase --include=sysvinit-core,openrc bookworm"
openrc_fixture() {
  recipe_fixture openrc "$OPENRC_RECIPE"
  OPENRC_TAR=$FIXTURE_TAR
  OPENRC_DIR=$FIXTURE_DIR
}
