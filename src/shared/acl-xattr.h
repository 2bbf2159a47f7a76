/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel's POSIX ACL xattr format (system.posix_acl_access / system.posix_acl_default): a
 * little-endian version word, then entries of tag, permissions and id (the id only for ACLX_USER
 * and ACLX_GROUP entries, the others carry UINT32_MAX). */

#include <stdint.h>

#define ACL_XATTR_ACCESS "system.posix_acl_access"
#define ACL_XATTR_DEFAULT "system.posix_acl_default"
#define ACL_XATTR_VERSION 2

struct acl_xattr_entry {
        uint16_t tag;
        uint16_t perm;
        uint32_t id;
};

enum {
        ACLX_USER_OBJ = 0x01,
        ACLX_USER = 0x02,
        ACLX_GROUP_OBJ = 0x04,
        ACLX_GROUP = 0x08,
        ACLX_MASK = 0x10,
        ACLX_OTHER = 0x20,
};
