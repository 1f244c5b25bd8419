/* lrd-wg-backend-private.h: helpers shared by the WireGuard backends
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lrd-wg-backend.h"

G_BEGIN_DECLS

gboolean lrd_wg_parse_interface_address (const char             *address_cidr,
                                         GInetAddress          **out_address,
                                         guint                  *out_prefix_length,
                                         GError                **error);
gboolean lrd_wg_check_ifname            (const char             *ifname,
                                         GError                **error);
gboolean lrd_wg_check_peer_config       (const LrdWgPeerConfig  *peer,
                                         const char             *bad_ip_prefix,
                                         GError                **error);
void     lrd_wg_peer_stats_array_init   (GArray                **array);
void     lrd_wg_peer_stats_fill         (GArray                 *stats,
                                         const GArray           *measured);

/* The finish methods of a backend whose async methods return their own GTask. */
gboolean lrd_wg_backend_task_finish_boolean (LrdWgBackend  *self,
                                             GAsyncResult  *result,
                                             GError       **error);
GArray  *lrd_wg_backend_task_finish_stats   (LrdWgBackend  *self,
                                             GAsyncResult  *result,
                                             GError       **error);

G_END_DECLS
