/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The prepared root of a raw image (-i): the tree is a file system the caller mounted (from a
 * loop or verified device, src/spawn/spawn-image.c) at mountpoint; the machine name and the
 * settings file come from the image file's name (NAME.raw → NAME, NAME.nspawn next to it). */

#include "image-prepare.h"

/* Errors: -EINVAL for a bad image path or a machine name derived from it that is not valid
 * (whether the tree is an OS tree is the caller's to check: dir_is_os_tree). The caller keeps
 * the mount; free only closes. */
int prepared_root_new_mounted(const char *mountpoint, const char *machine, const char *image_path, PreparedRoot **ret);
/* NAME from /path/NAME.raw (or /path/NAME); -EINVAL when that is not a valid image name. */
int raw_image_machine_name(const char *image_path, char **ret);
