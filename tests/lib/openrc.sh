# Fixtures of the OpenRC boot test (source after lib.sh).

# A Debian bookworm tree whose /sbin/init is sysvinit's and whose rc system is OpenRC (openrc
# satisfies sysvinit-core's "sysv-rc | file-rc | openrc"; minbase has no systemd-sysv).
# Sets OPENRC_TAR and OPENRC_DIR.
OPENRC_RECIPE="mmdebstrap --variant=minbase --include=sysvinit-core,openrc bookworm"
openrc_fixture() {
  recipe_fixture openrc "$OPENRC_RECIPE"
  OPENRC_TAR=$FIXTURE_TAR
  OPENRC_DIR=$FIXTURE_DIR
}
