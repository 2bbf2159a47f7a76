/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* --private-users-ownership=chown: shifts the owners of a tree from one uid/gid range to
 * another on disk, as systemd-nspawn does. An owner in [from, from+range) becomes the same
 * offset in [to, to+range); owners outside the source range stay. The set-user/group-ID bits
 * that chown clears are restored, file capabilities are written again (a v3 capability's root
 * uid shifted with the rest), and the uids and gids in POSIX ACLs are shifted too. The walk
 * stays on the root's file system (mount points are not entered) and never follows a symlink.
 * The root directory is changed last, so that an interrupted shift is redone from the start by
 * the next run (already-shifted entries are outside the source range and stay).
 *
 * Untrusted input: the tree (names, depth, ACL and capability xattrs): entries are opened with
 * O_NOFOLLOW relative to their directory; depth limited by TREE_SHIFT_DEPTH_MAX; ACL entries
 * checked for their size and format before use. */

#include <sys/types.h>

#define TREE_SHIFT_DEPTH_MAX 256U
#define TREE_SHIFT_XATTR_SIZE_MAX (64U * 1024U) /* the kernel's xattr size limit */

/* -EINVAL when the ranges overlap or are empty; -E2BIG for a tree deeper than the limit;
 * -EINTR when interrupted(); else the first failing call's -errno. */
int tree_shift_owners(int root_fd, uid_t from, uid_t to, uid_t range);
