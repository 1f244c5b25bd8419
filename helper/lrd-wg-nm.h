/* lrd-wg-nm.h: WireGuard through NetworkManager (libnm)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lrd-wg-backend.h"

#include <NetworkManager.h>

G_BEGIN_DECLS

/* The user-data key and value that mark a profile as the helper's own. */
#define LRD_WG_NM_TAG_KEY   "io.lanrage.helper.owner"
#define LRD_WG_NM_TAG_VALUE "lanrage-helper"

#define LRD_TYPE_WG_NM (lrd_wg_nm_get_type ())
G_DECLARE_FINAL_TYPE (LrdWgNm, lrd_wg_nm, LRD, WG_NM, GObject)

void        lrd_wg_nm_new_async       (const char          *ifname,
                                       GDBusConnection     *system_bus,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
LrdWgNm    *lrd_wg_nm_new_finish      (GAsyncResult        *result,
                                       GError             **error);

gboolean    lrd_wg_nm_is_running      (LrdWgNm             *self);
NMClient   *lrd_wg_nm_get_client      (LrdWgNm             *self);
const char *lrd_wg_nm_get_uuid        (LrdWgNm             *self);
void        lrd_wg_nm_set_activate    (LrdWgNm             *self,
                                       gboolean             activate);
gboolean    lrd_wg_nm_is_own_profile  (NMConnection        *connection);

G_END_DECLS
