#!/bin/bash
# The main job, end to end, on a fresh Debian 12 machine as root: install what is needed, build,
# build a real Debian rootfs (mmdebstrap, cached), import it as an image, clone it as a template
# and run an ephemeral container in the template (a throw-away copy, gone afterwards). Uses a throw-away image root unless IMAGE_ROOT is set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null

export TEST_SRCDIR=$PWD
. tests/lib/lib.sh
rootfs_fixture
if [ -z "${IMAGE_ROOT:-}" ]; then
  make_temp_dir
  IMAGE_ROOT=$TEMP_DIR/machines
fi
cowpen() { echo "+ cowpen $*" >&2; build/cowpen --image-root="$IMAGE_ROOT" "$@"; }

cowpen import-fs --force "$ROOTFS_DIR" debian
cowpen clone debian builder
cowpen list-images
cowpen image-status builder
cowpen run -x -M builder /bin/sh -c '. /etc/os-release; echo "running $PRETTY_NAME as $(hostname), PID $$"; touch /etc/throwaway'
cowpen list-images --all
[ ! -e "$IMAGE_ROOT/builder/etc/throwaway" ] || { echo "the ephemeral run changed the template" >&2; exit 1; }
echo "The template is unchanged and no throw-away copy is left."
