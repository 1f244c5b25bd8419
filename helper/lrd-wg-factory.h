/* lrd-wg-factory.h: which WireGuard backend this machine gets
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The one place that knows every implementation of LrdWgBackend (and so links libnm): the
 * interface itself, and everything that drives it, know none.
 */
#pragma once

#include "lrd-wg-backend.h"

G_BEGIN_DECLS

void          lrd_wg_factory_new_async  (const char          *kind,
                                         const char          *ifname,
                                         const char          *wireguard_go,
                                         GDBusConnection     *system_bus,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data);
LrdWgBackend *lrd_wg_factory_new_finish (GAsyncResult        *result,
                                         GError             **error);

G_END_DECLS
