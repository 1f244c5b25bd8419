/* lrd-wg-backend.c: the WireGuard backend interface and its value types
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-wg-backend-private.h"

#include "lr-wg-uapi.h"

#include <net/if.h>
#include <sodium.h>
#include <string.h>

G_DEFINE_QUARK (lrd-wg-error-quark, lrd_wg_error)

G_DEFINE_INTERFACE (LrdWgBackend, lrd_wg_backend, G_TYPE_OBJECT)

static void
lrd_wg_backend_default_init (LrdWgBackendInterface *iface)
{
}

void
lrd_wg_peer_config_clear (LrdWgPeerConfig *config)
{
  memset (&config->endpoint, 0, sizeof config->endpoint);
  g_clear_pointer (&config->allowed_ips, g_strfreev);
}

void
lrd_wg_peer_stats_clear (LrdWgPeerStats *stats)
{
  memset (&stats->endpoint, 0, sizeof stats->endpoint);
}

void
lrd_wg_peer_stats_array_init (GArray **array)
{
  *array = g_array_new (FALSE, TRUE, sizeof (LrdWgPeerStats));
  g_array_set_clear_func (*array, (GDestroyNotify) lrd_wg_peer_stats_clear);
}

/**
 * lrd_wg_peer_stats_fill:
 * @stats: (element-type LrdWgPeerStats): the configured peers
 * @measured: (element-type LrdWgPeerStats): what WireGuard reports
 *
 * Gives each peer of @stats the counters and last handshake @measured has for its key, and
 * the endpoint WireGuard uses where it has one: it follows a roaming peer. Peers WireGuard
 * does not know keep theirs; peers only WireGuard knows are not added.
 */
void
lrd_wg_peer_stats_fill (GArray       *stats,
                        const GArray *measured)
{
  for (guint i = 0; i < stats->len; i++)
    {
      LrdWgPeerStats *entry = &g_array_index (stats, LrdWgPeerStats, i);

      for (guint j = 0; j < measured->len; j++)
        {
          const LrdWgPeerStats *known = &g_array_index (measured, LrdWgPeerStats, j);

          if (!lr_key_equal (&known->public_key, &entry->public_key))
            continue;
          entry->rx_bytes = known->rx_bytes;
          entry->tx_bytes = known->tx_bytes;
          entry->last_handshake_unix = known->last_handshake_unix;
          if (lr_addr_is_set (&known->endpoint))
            entry->endpoint = known->endpoint;
          break;
        }
    }
}

/**
 * lrd_wg_parse_interface_address:
 * @address_cidr: the interface's own address and the party's prefix, e.g. `10.66.0.7/16`
 *
 * Unlike a route prefix, host bits are expected here.
 */
gboolean
lrd_wg_parse_interface_address (const char     *address_cidr,
                                GInetAddress  **out_address,
                                guint          *out_prefix_length,
                                GError        **error)
{
  g_auto(GStrv) parts = NULL;
  g_autoptr(GInetAddress) address = NULL;
  guint64 prefix_length = 0;

  if (address_cidr != NULL && strlen (address_cidr) < 64)
    parts = g_strsplit (address_cidr, "/", 3);

  if (parts != NULL && g_strv_length (parts) == 2)
    address = g_inet_address_new_from_string (parts[0]);

  if (address == NULL ||
      !g_ascii_string_to_unsigned (parts[1], 10, 0,
                                   g_inet_address_get_native_size (address) * 8,
                                   &prefix_length, NULL) ||
      !g_ascii_isdigit (parts[1][0]))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an interface address like 10.66.0.7/16",
                   address_cidr != NULL && strlen (address_cidr) < 64 ? address_cidr
                                                                      : "(too long)");
      return FALSE;
    }

  *out_address = g_steal_pointer (&address);
  *out_prefix_length = (guint) prefix_length;
  return TRUE;
}

gboolean
lrd_wg_check_ifname (const char  *ifname,
                     GError     **error)
{
  gsize length = ifname != NULL ? strlen (ifname) : 0;

  if (length == 0 || length >= IFNAMSIZ || strcmp (ifname, ".") == 0 ||
      strcmp (ifname, "..") == 0 || strpbrk (ifname, "/: \t\n") != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Not a usable interface name (1 to %d characters, no / : or spaces)",
                   IFNAMSIZ - 1);
      return FALSE;
    }

  return TRUE;
}

/**
 * lrd_wg_check_peer_config:
 * @bad_ip_prefix: put before the message when an allowed IP is not a prefix
 *
 * What every backend refuses before it touches anything: a keepalive WireGuard cannot
 * hold, an allowed IP that is not an address prefix.
 */
gboolean
lrd_wg_check_peer_config (const LrdWgPeerConfig  *peer,
                          const char             *bad_ip_prefix,
                          GError                **error)
{
  if (peer->persistent_keepalive > G_MAXUINT16)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Persistent keepalive must be at most %u seconds", G_MAXUINT16);
      return FALSE;
    }

  for (guint i = 0; peer->allowed_ips != NULL && peer->allowed_ips[i] != NULL; i++)
    {
      g_autoptr(GError) local_error = NULL;

      if (!lr_wg_uapi_check_cidr (peer->allowed_ips[i], &local_error))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s%s", bad_ip_prefix,
                       local_error->message);
          return FALSE;
        }
    }

  return TRUE;
}

const char *
lrd_wg_backend_get_name (LrdWgBackend *self)
{
  g_return_val_if_fail (LRD_IS_WG_BACKEND (self), NULL);

  return LRD_WG_BACKEND_GET_IFACE (self)->get_name (self);
}

void
lrd_wg_backend_up_async (LrdWgBackend        *self,
                         const LrKey         *private_key,
                         guint16              listen_port,
                         const char          *address_cidr,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (LRD_IS_WG_BACKEND (self));
  g_return_if_fail (private_key != NULL);

  LRD_WG_BACKEND_GET_IFACE (self)->up_async (self, private_key, listen_port, address_cidr,
                                             cancellable, callback, user_data);
}

gboolean
lrd_wg_backend_up_finish (LrdWgBackend  *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (LRD_IS_WG_BACKEND (self), FALSE);

  return LRD_WG_BACKEND_GET_IFACE (self)->up_finish (self, result, error);
}

void
lrd_wg_backend_set_peer_async (LrdWgBackend          *self,
                               const LrdWgPeerConfig *peer,
                               GCancellable          *cancellable,
                               GAsyncReadyCallback    callback,
                               gpointer               user_data)
{
  g_return_if_fail (LRD_IS_WG_BACKEND (self));
  g_return_if_fail (peer != NULL);

  LRD_WG_BACKEND_GET_IFACE (self)->set_peer_async (self, peer, cancellable, callback,
                                                   user_data);
}

gboolean
lrd_wg_backend_set_peer_finish (LrdWgBackend  *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (LRD_IS_WG_BACKEND (self), FALSE);

  return LRD_WG_BACKEND_GET_IFACE (self)->set_peer_finish (self, result, error);
}

void
lrd_wg_backend_remove_peer_async (LrdWgBackend        *self,
                                  const LrKey         *public_key,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (LRD_IS_WG_BACKEND (self));
  g_return_if_fail (public_key != NULL);

  LRD_WG_BACKEND_GET_IFACE (self)->remove_peer_async (self, public_key, cancellable, callback,
                                                      user_data);
}

gboolean
lrd_wg_backend_remove_peer_finish (LrdWgBackend  *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (LRD_IS_WG_BACKEND (self), FALSE);

  return LRD_WG_BACKEND_GET_IFACE (self)->remove_peer_finish (self, result, error);
}

void
lrd_wg_backend_get_stats_async (LrdWgBackend        *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (LRD_IS_WG_BACKEND (self));

  LRD_WG_BACKEND_GET_IFACE (self)->get_stats_async (self, cancellable, callback, user_data);
}

GArray *
lrd_wg_backend_get_stats_finish (LrdWgBackend  *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (LRD_IS_WG_BACKEND (self), NULL);

  return LRD_WG_BACKEND_GET_IFACE (self)->get_stats_finish (self, result, error);
}

void
lrd_wg_backend_down_async (LrdWgBackend        *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (LRD_IS_WG_BACKEND (self));

  LRD_WG_BACKEND_GET_IFACE (self)->down_async (self, cancellable, callback, user_data);
}

gboolean
lrd_wg_backend_down_finish (LrdWgBackend  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (LRD_IS_WG_BACKEND (self), FALSE);

  return LRD_WG_BACKEND_GET_IFACE (self)->down_finish (self, result, error);
}

gboolean
lrd_wg_backend_task_finish_boolean (LrdWgBackend  *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

GArray *
lrd_wg_backend_task_finish_stats (LrdWgBackend  *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
