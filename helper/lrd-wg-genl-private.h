/* lrd-wg-genl-private.h: LrdWgGenl on another generic netlink family, for its tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lrd-wg-genl.h"

G_BEGIN_DECLS

LrdWgGenl *lrd_wg_genl_new_for_family (const char  *family_name,
                                       GError     **error);

G_END_DECLS
