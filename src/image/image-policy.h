/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The image policy for one partition (image-policy.c); not for use outside src/image (and its
 * tests). image.h has the flags and image_policy_parse(). */

#include "image-dissect.h"
#include "image.h"

/* image_policy_parse()'s syntax; returns the flags for which (PARTITION_ROOT or PARTITION_USR),
 * -EINVAL for any other partition. */
int image_policy_parse_for(const char *s, PartitionDesignator which, unsigned *ret);
