/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What image-status shows of a raw image from inside it (see image-raw-info.c); for image.c, not
 * for use outside src/image. */

/* The most of an os-release file that is read (of a directory image too). */
#define IMAGE_OS_RELEASE_SIZE_MAX (64 * 1024)

/* The os-release text of the raw image open as fd: from its root partition (etc/os-release, else
 * usr/lib/os-release) or, without one, its usr partition (lib/os-release), mounted read-only and
 * detached for the read. -ENXIO: no root or usr partition with a file system cowpen knows;
 * -EOPNOTSUPP: no loop devices; -ENOENT: no os-release; other errors of dissect, loop and mount. */
int image_raw_read_os_release(int fd, char **ret_text);
