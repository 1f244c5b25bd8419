/* lrd-path-manager.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-path-manager.h"
#include "lrd-relay-client.h"

#include "lr-id.h"

#include <sodium.h>
#include <string.h>

/* Peers behind NATs need keepalives to keep their mappings (WireGuard's own advice); the
 * relay's idle timeout (120 s) is far longer. */
#define PERSISTENT_KEEPALIVE_S 25
/* WireGuard's counters are read this often for RxBytes, TxBytes and LastHandshake: often
 * enough for a live view in the app, cheap enough (one UAPI get) to run all party long. */
#define STATS_INTERVAL_MS 2000
/* WireGuard renews its session every two minutes while packets flow and keepalives go
 * every 25 s, so a handshake younger than this means the path carries packets. */
#define HANDSHAKE_FRESH_S 180

typedef struct
{
  char               *id;
  guint64             number;
  LrdHelper1Peer     *peer;
  LrKey               wg_key;
  char               *virtual_ip;
  GInetSocketAddress *endpoint;
  gint64              last_handshake;
} PathPeer;

struct _LrdPathManager
{
  GObject          parent_instance;

  LrClock         *clock;
  LrdHelper1      *iface;
  LrdWgBackend    *backend;
  LrdRelayClient  *relay;
  GHashTable      *peers;        /* id → PathPeer */
  GCancellable    *cancellable;  /* WireGuard calls of this run; cancelled by stop */
  guint            stats_source;
  gboolean         stats_pending;
};

G_DEFINE_FINAL_TYPE (LrdPathManager, lrd_path_manager, G_TYPE_OBJECT)

enum
{
  SIGNAL_TOKEN_NEEDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
path_peer_free (PathPeer *path)
{
  g_free (path->id);
  g_clear_object (&path->peer);
  sodium_memzero (&path->wg_key, sizeof path->wg_key);
  g_free (path->virtual_ip);
  g_clear_object (&path->endpoint);
  g_free (path);
}

static void
lrd_path_manager_dispose (GObject *object)
{
  LrdPathManager *self = LRD_PATH_MANAGER (object);

  if (self->relay != NULL)
    g_signal_handlers_disconnect_by_data (self->relay, self);
  lrd_path_manager_stop (self);
  g_clear_object (&self->relay);
  g_clear_object (&self->backend);
  g_clear_object (&self->iface);

  G_OBJECT_CLASS (lrd_path_manager_parent_class)->dispose (object);
}

static void
lrd_path_manager_finalize (GObject *object)
{
  LrdPathManager *self = LRD_PATH_MANAGER (object);

  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_clear_pointer (&self->clock, lr_clock_unref);

  G_OBJECT_CLASS (lrd_path_manager_parent_class)->finalize (object);
}

static void
lrd_path_manager_class_init (LrdPathManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_path_manager_dispose;
  object_class->finalize = lrd_path_manager_finalize;

  /**
   * LrdPathManager::token-needed:
   *
   * The relay token expires soon or a relay refused it: get a new one from the control
   * server and call lrd_path_manager_set_token().
   */
  signals[SIGNAL_TOKEN_NEEDED] = g_signal_new ("token-needed", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 0);
}

static void
lrd_path_manager_init (LrdPathManager *self)
{
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) path_peer_free);
}

static void
update_peer (LrdPathManager *self,
             PathPeer       *path)
{
  gboolean bound = lrd_relay_client_get_state (self->relay) == LRD_RELAY_CLIENT_BOUND;
  const LrLinkQuality *quality = lrd_relay_client_get_peer_quality (self->relay, path->number);
  double latency = quality != NULL ? quality->latency_ms : -1;
  double jitter = quality != NULL ? quality->jitter_ms : -1;
  double loss = latency >= 0 ? quality->loss_percent : -1;
  gint64 now_s = lr_clock_now_us (self->clock) / G_USEC_PER_SEC;
  gboolean handshake_fresh = path->last_handshake > 0 &&
                             now_s - path->last_handshake < HANDSHAKE_FRESH_S;
  gboolean relayed = bound && (latency >= 0 || handshake_fresh);

  lrd_helper1_peer_set_path (path->peer, relayed ? "relayed" : "connecting");
  lrd_helper1_peer_set_relay (path->peer, bound ? lrd_relay_client_get_relay (self->relay) : "");
  lrd_helper1_peer_set_latency_ms (path->peer, latency);
  lrd_helper1_peer_set_jitter_ms (path->peer, jitter);
  lrd_helper1_peer_set_loss_percent (path->peer, loss);
  lrd_helper1_peer_set_quality (path->peer, lr_link_quality_name (latency, loss));
}

static void
update_all_peers (LrdPathManager *self)
{
  GHashTableIter iter;
  PathPeer *path;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &path))
    update_peer (self, path);
}

static void
relay_changed_cb (LrdRelayClient *relay,
                  gpointer        user_data)
{
  LrdPathManager *self = user_data;
  LrdRelayClientState state = lrd_relay_client_get_state (relay);
  const char *reason = lrd_relay_client_get_reason (relay);

  if (state == LRD_RELAY_CLIENT_FAILED)
    reason = lrd_relay_client_get_problem (relay);
  else if (state != LRD_RELAY_CLIENT_BOUND)
    reason = "";
  lrd_helper1_set_relay (self->iface, state == LRD_RELAY_CLIENT_BOUND
                                      ? lrd_relay_client_get_relay (relay) : "");
  lrd_helper1_set_relay_rtt_ms (self->iface, state == LRD_RELAY_CLIENT_BOUND
                                             ? lrd_relay_client_get_relay_rtt_ms (relay) : -1);
  lrd_helper1_set_relay_reason (self->iface, reason);
  lrd_helper1_set_public_endpoint (self->iface, lrd_relay_client_get_public_endpoint (relay));
  update_all_peers (self);
}

static void
relay_peer_changed_cb (LrdRelayClient *relay,
                       guint64         peer_number,
                       gpointer        user_data)
{
  LrdPathManager *self = user_data;
  char id[LR_ID_LENGTH + 1];
  PathPeer *path;

  lr_id_from_uint64 (peer_number, id);
  path = g_hash_table_lookup (self->peers, id);
  if (path != NULL)
    update_peer (self, path);
}

static void
relay_token_needed_cb (LrdRelayClient *relay,
                       gpointer        user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_TOKEN_NEEDED], 0);
}

static void
reset_relay_properties (LrdPathManager *self)
{
  lrd_helper1_set_relay (self->iface, "");
  lrd_helper1_set_relay_rtt_ms (self->iface, -1);
  lrd_helper1_set_relay_reason (self->iface, "");
  lrd_helper1_set_public_endpoint (self->iface, "");
}

LrdPathManager *
lrd_path_manager_new (LrClock      *clock,
                      LrdHelper1   *iface,
                      LrdWgBackend *backend,
                      guint16       wg_port)
{
  LrdPathManager *self;

  g_return_val_if_fail (LRD_IS_HELPER1 (iface), NULL);
  g_return_val_if_fail (LRD_IS_WG_BACKEND (backend), NULL);

  self = g_object_new (LRD_TYPE_PATH_MANAGER, NULL);
  self->clock = clock != NULL ? lr_clock_ref (clock) : lr_clock_new_system ();
  self->iface = g_object_ref (iface);
  self->backend = g_object_ref (backend);
  self->relay = lrd_relay_client_new (self->clock, wg_port);
  g_signal_connect (self->relay, "changed", G_CALLBACK (relay_changed_cb), self);
  g_signal_connect (self->relay, "peer-changed", G_CALLBACK (relay_peer_changed_cb), self);
  g_signal_connect (self->relay, "token-needed", G_CALLBACK (relay_token_needed_cb), self);
  reset_relay_properties (self);
  return self;
}

/* WireGuard's counters */

static void
stats_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(LrdPathManager) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) stats = NULL;
  GHashTableIter iter;
  PathPeer *path;

  self->stats_pending = FALSE;
  stats = lrd_wg_backend_get_stats_finish (LRD_WG_BACKEND (source), result, &error);
  if (stats == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Cannot read WireGuard's counters: %s", error->message);
      return;
    }

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &path))
    {
      for (guint i = 0; i < stats->len; i++)
        {
          const LrdWgPeerStats *entry = &g_array_index (stats, LrdWgPeerStats, i);

          if (!lr_key_equal (&entry->public_key, &path->wg_key))
            continue;
          lrd_helper1_peer_set_rx_bytes (path->peer, entry->rx_bytes);
          lrd_helper1_peer_set_tx_bytes (path->peer, entry->tx_bytes);
          lrd_helper1_peer_set_last_handshake (path->peer, entry->last_handshake_unix);
          path->last_handshake = entry->last_handshake_unix;
          update_peer (self, path);
          break;
        }
    }
}

static gboolean
stats_timeout_cb (gpointer user_data)
{
  LrdPathManager *self = user_data;

  /* One read at a time: a slow backend must not pile them up. */
  if (!self->stats_pending && g_hash_table_size (self->peers) > 0)
    {
      self->stats_pending = TRUE;
      lrd_wg_backend_get_stats_async (self->backend, self->cancellable, stats_cb,
                                      g_object_ref (self));
    }
  return G_SOURCE_CONTINUE;
}

static void
ensure_running (LrdPathManager *self)
{
  if (self->cancellable == NULL)
    self->cancellable = g_cancellable_new ();
  if (self->stats_source == 0)
    self->stats_source = g_timeout_add (STATS_INTERVAL_MS, stats_timeout_cb, self);
}

void
lrd_path_manager_set_relays (LrdPathManager     *self,
                             const char * const *relays)
{
  g_return_if_fail (LRD_IS_PATH_MANAGER (self));

  lrd_relay_client_set_candidates (self->relay, relays);
}

void
lrd_path_manager_set_token (LrdPathManager *self,
                            const char     *relay_token,
                            gint64          expires_at_us)
{
  g_return_if_fail (LRD_IS_PATH_MANAGER (self));
  g_return_if_fail (relay_token != NULL);

  ensure_running (self);
  lrd_relay_client_set_token (self->relay, relay_token, expires_at_us);
}

/* Peers */

static void
wg_peer_removed_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!lrd_wg_backend_remove_peer_finish (LRD_WG_BACKEND (source), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Cannot remove a WireGuard peer: %s", error->message);
}

typedef struct
{
  LrdPathManager *self;
  guint64         number;
} ConfigureData;

static void
wg_peer_configured_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  ConfigureData *data = user_data;
  g_autoptr(LrdPathManager) self = data->self;
  guint64 number = data->number;
  g_autoptr(GError) error = NULL;

  g_free (data);
  if (!lrd_wg_backend_set_peer_finish (LRD_WG_BACKEND (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot configure a WireGuard peer: %s", error->message);
      return;
    }
  /* WireGuard takes the peer's handshakes now, including one the relay brought early. */
  lrd_relay_client_peer_ready (self->relay, number);
}

static void
configure_peer (LrdPathManager *self,
                PathPeer       *path)
{
  ConfigureData *data = g_new0 (ConfigureData, 1);
  LrdWgPeerConfig config = { 0 };
  g_autofree char *allowed_ip = g_strdup_printf ("%s/32", path->virtual_ip);

  config.public_key = path->wg_key;
  config.endpoint = path->endpoint;
  config.allowed_ips = (char *[]) { allowed_ip, NULL };
  config.persistent_keepalive = PERSISTENT_KEEPALIVE_S;
  data->self = g_object_ref (self);
  data->number = path->number;
  lrd_wg_backend_set_peer_async (self->backend, &config, self->cancellable,
                                 wg_peer_configured_cb, data);
}

static void
unconfigure_peer (LrdPathManager *self,
                  PathPeer       *path)
{
  lrd_wg_backend_remove_peer_async (self->backend, &path->wg_key, self->cancellable,
                                    wg_peer_removed_cb, NULL);
}

void
lrd_path_manager_add_peer (LrdPathManager *self,
                           const char     *peer_id,
                           LrdHelper1Peer *peer,
                           const LrKey    *wg_key,
                           const char     *virtual_ip)
{
  g_autoptr(GError) error = NULL;
  PathPeer *path;
  guint64 number;

  g_return_if_fail (LRD_IS_PATH_MANAGER (self));
  g_return_if_fail (LRD_IS_HELPER1_PEER (peer));

  /* The session has checked both; a peer the relay cannot name has no path. */
  if (!lr_id_to_uint64 (peer_id, &number))
    return;

  ensure_running (self);
  path = g_hash_table_lookup (self->peers, peer_id);
  if (path == NULL)
    {
      path = g_new0 (PathPeer, 1);
      path->id = g_strdup (peer_id);
      path->number = number;
      path->peer = g_object_ref (peer);
      path->wg_key = *wg_key;
      path->endpoint = lrd_relay_client_add_peer (self->relay, number, &error);
      if (path->endpoint == NULL)
        g_warning ("No relay socket for peer %s: %s", peer_id, error->message);
      g_hash_table_insert (self->peers, path->id, path);
    }
  else if (!lr_key_equal (&path->wg_key, wg_key))
    {
      /* A new key is a new WireGuard peer: the old one must not linger. */
      unconfigure_peer (self, path);
      path->wg_key = *wg_key;
      path->last_handshake = 0;
    }

  g_free (path->virtual_ip);
  path->virtual_ip = g_strdup (virtual_ip);
  configure_peer (self, path);
  update_peer (self, path);
}

void
lrd_path_manager_remove_peer (LrdPathManager *self,
                              const char     *peer_id)
{
  PathPeer *path;

  g_return_if_fail (LRD_IS_PATH_MANAGER (self));

  path = g_hash_table_lookup (self->peers, peer_id);
  if (path == NULL)
    return;
  unconfigure_peer (self, path);
  lrd_relay_client_remove_peer (self->relay, path->number);
  g_hash_table_remove (self->peers, peer_id);
}

void
lrd_path_manager_stop (LrdPathManager *self)
{
  g_return_if_fail (LRD_IS_PATH_MANAGER (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->stats_source, g_source_remove);
  self->stats_pending = FALSE;
  if (self->peers != NULL)
    g_hash_table_remove_all (self->peers);
  if (self->relay != NULL)
    lrd_relay_client_stop (self->relay);
  if (self->iface != NULL)
    reset_relay_properties (self);
}
