/* lrd-wg-backend.c: the WireGuard backend interface type
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Only the type and the value helpers: the backends (UAPI, NetworkManager) and
 * lrd_wg_backend_new_auto() come with their own branch. When both meet, theirs wins.
 */
#include "lrd-wg-backend.h"

G_DEFINE_INTERFACE (LrdWgBackend, lrd_wg_backend, G_TYPE_OBJECT)

static void
lrd_wg_backend_default_init (LrdWgBackendInterface *iface)
{
}

void
lrd_wg_peer_config_clear (LrdWgPeerConfig *config)
{
  g_clear_object (&config->endpoint);
  g_clear_pointer (&config->allowed_ips, g_strfreev);
}

void
lrd_wg_peer_stats_clear (LrdWgPeerStats *stats)
{
  g_clear_object (&stats->endpoint);
}
