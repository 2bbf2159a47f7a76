/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transfer verbs live in verb-import.c (import-*, export-*) and verb-pull.c (pull-*); this file
 * is left empty for the lead to remove when both branches are merged. */
#include "verbs.h"
