/* lrd-peer-link.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-peer-link.h"
#include "lrd-session.h"

#include "lr-id.h"
#include "lr-link-quality.h"

/* Peers behind NATs need keepalives to keep their mappings (WireGuard's own advice); the
 * relay's idle timeout (120 s) is far longer. */
#define PERSISTENT_KEEPALIVE_S 25
/* WireGuard renews its session every two minutes while packets flow and keepalives go
 * every 25 s, so a handshake younger than this means the path carries packets. */
#define HANDSHAKE_FRESH_S 180

struct _LrdPeerLink
{
  GObject                   parent_instance;

  char                     *id;
  guint64                   number;
  char                     *object_path;
  LrdObjectSkeleton        *object;
  LrdHelper1Peer           *peer;
  gboolean                  exported;
  GDBusObjectManagerServer *manager;

  /* The data plane; all %NULL without a backend. */
  LrdWgBackend             *backend;
  LrdRelayClient           *relay;
  LrClock                  *clock;
  GCancellable             *cancellable;  /* WireGuard calls; cancelled by dispose */

  gboolean                  has_key;
  LrKey                     wg_key;
  char                     *virtual_ip;
  LrAddr                    endpoint;
  gint64                    last_handshake;
};

G_DEFINE_FINAL_TYPE (LrdPeerLink, lrd_peer_link, G_TYPE_OBJECT)

static void
lrd_peer_link_dispose (GObject *object)
{
  LrdPeerLink *self = LRD_PEER_LINK (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->relay != NULL)
    lrd_relay_client_remove_peer (self->relay, self->number);
  g_clear_object (&self->relay);
  if (self->exported && self->manager != NULL)
    g_dbus_object_manager_server_unexport (self->manager, self->object_path);
  self->exported = FALSE;
  g_clear_object (&self->manager);
  g_clear_object (&self->backend);
  g_clear_object (&self->object);
  g_clear_object (&self->peer);

  G_OBJECT_CLASS (lrd_peer_link_parent_class)->dispose (object);
}

static void
lrd_peer_link_finalize (GObject *object)
{
  LrdPeerLink *self = LRD_PEER_LINK (object);

  g_free (self->id);
  g_free (self->object_path);
  g_free (self->virtual_ip);
  lr_key_clear (&self->wg_key);
  g_clear_pointer (&self->clock, lr_clock_unref);

  G_OBJECT_CLASS (lrd_peer_link_parent_class)->finalize (object);
}

static void
lrd_peer_link_class_init (LrdPeerLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_peer_link_dispose;
  object_class->finalize = lrd_peer_link_finalize;
}

static void
lrd_peer_link_init (LrdPeerLink *self)
{
  self->cancellable = g_cancellable_new ();
}

/**
 * lrd_peer_link_new:
 * @peer_id: the server's id of the peer (lr_id_is_valid(); lib/'s parsers check it)
 * @manager: what the peer object is exported through (once lrd_peer_link_update() has
 *   given it its properties)
 * @backend: (nullable): the WireGuard backend, %NULL without a data plane
 * @relay: (nullable): the relay client, %NULL without a data plane
 * @clock: (nullable): %NULL for the system clock
 */
LrdPeerLink *
lrd_peer_link_new (const char               *peer_id,
                   GDBusObjectManagerServer *manager,
                   LrdWgBackend             *backend,
                   LrdRelayClient           *relay,
                   LrClock                  *clock)
{
  LrdPeerLink *self;
  guint64 number;

  g_return_val_if_fail (lr_id_to_uint64 (peer_id, &number), NULL);
  g_return_val_if_fail (G_IS_DBUS_OBJECT_MANAGER_SERVER (manager), NULL);
  g_return_val_if_fail ((backend == NULL) == (relay == NULL), NULL);

  self = g_object_new (LRD_TYPE_PEER_LINK, NULL);
  self->id = g_strdup (peer_id);
  self->number = number;
  self->object_path = g_strdup_printf ("%s/%s", LRD_PEERS_OBJECT_PATH, peer_id);
  self->manager = g_object_ref (manager);
  self->backend = backend != NULL ? g_object_ref (backend) : NULL;
  self->relay = relay != NULL ? g_object_ref (relay) : NULL;
  self->clock = clock != NULL ? lr_clock_ref (clock) : lr_clock_new_system ();

  self->object = lrd_object_skeleton_new (self->object_path);
  self->peer = lrd_helper1_peer_skeleton_new ();
  lrd_helper1_peer_set_id (self->peer, peer_id);
  lrd_helper1_peer_set_path (self->peer, "connecting");
  lrd_helper1_peer_set_endpoint (self->peer, "");
  lrd_helper1_peer_set_relay (self->peer, "");
  lrd_helper1_peer_set_latency_ms (self->peer, -1);
  lrd_helper1_peer_set_jitter_ms (self->peer, -1);
  lrd_helper1_peer_set_loss_percent (self->peer, -1);
  lrd_helper1_peer_set_quality (self->peer, "unknown");
  return self;
}

/* The path */

/* Where WireGuard sends this peer's packets. This is the seam of the path policy: with
 * direct paths it picks the peer's own address when a direct path works; today every
 * packet goes through the relay client's loopback socket for the peer. */
static LrAddr
choose_endpoint (LrdPeerLink *self)
{
  g_autoptr(GError) error = NULL;

  if (!lr_addr_is_set (&self->endpoint) &&
      !lrd_relay_client_add_peer (self->relay, self->number, &self->endpoint, &error))
    g_warning ("No relay socket for peer %s: %s", self->id, error->message);
  return self->endpoint;
}

/**
 * lrd_peer_link_refresh:
 *
 * Shows the path again from what the relay client and WireGuard report: called when the
 * relay client's state or this peer's measures change.
 */
void
lrd_peer_link_refresh (LrdPeerLink *self)
{
  const LrLinkQuality *quality;
  gboolean bound, handshake_fresh, relayed;
  double latency, jitter, loss;
  gint64 now_s;

  g_return_if_fail (LRD_IS_PEER_LINK (self));

  if (self->relay == NULL)
    return;

  bound = lrd_relay_client_get_state (self->relay) == LRD_RELAY_CLIENT_BOUND;
  quality = lrd_relay_client_get_peer_quality (self->relay, self->number);
  latency = quality != NULL ? quality->latency_ms : -1;
  jitter = quality != NULL ? quality->jitter_ms : -1;
  loss = latency >= 0 ? quality->loss_percent : -1;
  now_s = lr_clock_now_us (self->clock) / G_USEC_PER_SEC;
  handshake_fresh = self->last_handshake > 0 &&
                    now_s - self->last_handshake < HANDSHAKE_FRESH_S;
  relayed = bound && (latency >= 0 || handshake_fresh);

  lrd_helper1_peer_set_path (self->peer, relayed ? "relayed" : "connecting");
  lrd_helper1_peer_set_relay (self->peer, bound ? lrd_relay_client_get_relay (self->relay) : "");
  lrd_helper1_peer_set_latency_ms (self->peer, latency);
  lrd_helper1_peer_set_jitter_ms (self->peer, jitter);
  lrd_helper1_peer_set_loss_percent (self->peer, loss);
  lrd_helper1_peer_set_quality (self->peer, lr_link_quality_name (latency, loss));
}

/* WireGuard */

static void
wg_configured_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(LrdPeerLink) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_wg_backend_set_peer_finish (LRD_WG_BACKEND (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot configure the WireGuard peer %s: %s", self->id, error->message);
      return;
    }
  /* WireGuard takes the peer's handshakes now, including one the relay brought early. */
  if (self->relay != NULL)
    lrd_relay_client_peer_ready (self->relay, self->number);
}

static void
configure_wireguard (LrdPeerLink *self)
{
  LrdWgPeerConfig config = { 0 };
  g_autofree char *allowed_ip = g_strdup_printf ("%s/32", self->virtual_ip);

  config.public_key = self->wg_key;
  config.endpoint = choose_endpoint (self);
  config.allowed_ips = (char *[]) { allowed_ip, NULL };
  config.persistent_keepalive = PERSISTENT_KEEPALIVE_S;
  lrd_wg_backend_set_peer_async (self->backend, &config, self->cancellable, wg_configured_cb,
                                 g_object_ref (self));
}

static void
wg_removed_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!lrd_wg_backend_remove_peer_finish (LRD_WG_BACKEND (source), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Cannot remove a WireGuard peer: %s", error->message);
}

/* Not cancellable: the link that asks is usually about to go, and the peer must not linger
 * in WireGuard after it. */
static void
unconfigure_wireguard (LrdPeerLink *self)
{
  lrd_wg_backend_remove_peer_async (self->backend, &self->wg_key, NULL, wg_removed_cb, NULL);
}

/**
 * lrd_peer_link_update:
 * @peer: the peer as the server describes it (checked by the caller: address in the party
 *   network, a name that is one)
 * @wg_key: its WireGuard key, parsed
 *
 * Shows the peer's name, address, presence and NAT type, exports its object the first time,
 * and (re)configures WireGuard when the key or the address is new. A new key is a new
 * WireGuard peer: the old one is taken out.
 */
void
lrd_peer_link_update (LrdPeerLink  *self,
                      const LrPeer *peer,
                      const LrKey  *wg_key)
{
  const char *mapping = lr_nat_behaviour_to_string (peer->nat.mapping);
  const char *filtering = lr_nat_behaviour_to_string (peer->nat.filtering);
  gboolean new_key = !self->has_key || !lr_key_equal (&self->wg_key, wg_key);
  gboolean configure = new_key || g_strcmp0 (self->virtual_ip, peer->virtual_ip) != 0;

  g_return_if_fail (LRD_IS_PEER_LINK (self));
  g_return_if_fail (g_strcmp0 (peer->id, self->id) == 0);

  if (new_key && self->has_key && self->backend != NULL)
    {
      unconfigure_wireguard (self);
      self->last_handshake = 0;
    }
  self->wg_key = *wg_key;
  self->has_key = TRUE;
  g_free (self->virtual_ip);
  self->virtual_ip = g_strdup (peer->virtual_ip);

  lrd_helper1_peer_set_name (self->peer, peer->name);
  lrd_helper1_peer_set_virtual_address (self->peer, peer->virtual_ip);
  lrd_helper1_peer_set_online (self->peer, peer->online);
  lrd_helper1_peer_set_nat_type (self->peer, lrd_nat_type_name (mapping, filtering));

  if (!self->exported)
    {
      g_info ("Peer %s joined", self->id);
      lrd_object_skeleton_set_helper1_peer (self->object, self->peer);
      g_dbus_object_manager_server_export (self->manager, G_DBUS_OBJECT_SKELETON (self->object));
      self->exported = TRUE;
    }

  if (configure && self->backend != NULL)
    {
      configure_wireguard (self);
      lrd_peer_link_refresh (self);
    }
}

/**
 * lrd_peer_link_remove:
 *
 * The peer left: takes it out of WireGuard. Its object goes off the bus, and its relay
 * socket closes, when the link is dropped.
 */
void
lrd_peer_link_remove (LrdPeerLink *self)
{
  g_return_if_fail (LRD_IS_PEER_LINK (self));

  if (self->backend != NULL && self->has_key)
    unconfigure_wireguard (self);
}

/* WireGuard's own counters for this peer (read by LrdPeerTable for every peer at once). */
void
lrd_peer_link_set_stats (LrdPeerLink          *self,
                         const LrdWgPeerStats *stats)
{
  g_return_if_fail (LRD_IS_PEER_LINK (self));

  lrd_helper1_peer_set_rx_bytes (self->peer, stats->rx_bytes);
  lrd_helper1_peer_set_tx_bytes (self->peer, stats->tx_bytes);
  lrd_helper1_peer_set_last_handshake (self->peer, stats->last_handshake_unix);
  self->last_handshake = stats->last_handshake_unix;
  lrd_peer_link_refresh (self);
}

const char *
lrd_peer_link_get_id (LrdPeerLink *self)
{
  g_return_val_if_fail (LRD_IS_PEER_LINK (self), NULL);
  return self->id;
}

guint64
lrd_peer_link_get_number (LrdPeerLink *self)
{
  g_return_val_if_fail (LRD_IS_PEER_LINK (self), 0);
  return self->number;
}

/* Returns: (nullable): the peer's WireGuard key, %NULL before the first update */
const LrKey *
lrd_peer_link_get_wg_key (LrdPeerLink *self)
{
  g_return_val_if_fail (LRD_IS_PEER_LINK (self), NULL);
  return self->has_key ? &self->wg_key : NULL;
}

const char *
lrd_peer_link_get_object_path (LrdPeerLink *self)
{
  g_return_val_if_fail (LRD_IS_PEER_LINK (self), NULL);
  return self->object_path;
}

/* Returns: (transfer none): the exported interface, to read (the link alone writes it) */
LrdHelper1Peer *
lrd_peer_link_get_peer (LrdPeerLink *self)
{
  g_return_val_if_fail (LRD_IS_PEER_LINK (self), NULL);
  return self->peer;
}
