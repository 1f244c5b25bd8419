/* lrd-wg-genl.h: WireGuard's peer counters from the kernel, over generic netlink
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lrd-wg-backend.h"

G_BEGIN_DECLS

#define LRD_TYPE_WG_GENL (lrd_wg_genl_get_type ())
G_DECLARE_FINAL_TYPE (LrdWgGenl, lrd_wg_genl, LRD, WG_GENL, GObject)

LrdWgGenl *lrd_wg_genl_new               (GError              **error);

void       lrd_wg_genl_get_peers_async   (LrdWgGenl            *self,
                                          const char           *ifname,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
GArray    *lrd_wg_genl_get_peers_finish  (LrdWgGenl            *self,
                                          GAsyncResult         *result,
                                          GError              **error);

G_END_DECLS
