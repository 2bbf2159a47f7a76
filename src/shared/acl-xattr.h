/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel's POSIX ACL xattr format (system.posix_acl_access / system.posix_acl_default): a
 * little-endian version word, then entries of tag, permissions and id (the id only for ACL_USER
 * and ACL_GROUP entries, the others carry UINT32_MAX). The tags are the kernel's own
 * (<linux/posix_acl.h>: ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER). */

#include <linux/posix_acl.h>
#include <stdint.h>

#define ACL_XATTR_ACCESS "system.posix_acl_access"
#define ACL_XATTR_DEFAULT "system.posix_acl_default"
#define ACL_XATTR_VERSION 2

struct acl_xattr_entry {
        uint16_t tag;
        uint16_t perm;
        uint32_t id;
};
