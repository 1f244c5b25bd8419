/* lrd-session.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-session.h"
#include "lrd-session-private.h"
#include "lrd-error.h"
#include "lrd-path-manager.h"

#include "lr-control-models.h"
#include "lr-id.h"
#include "lr-invite-code.h"
#include "lr-ipam.h"
#include "lr-json.h"
#include "lr-token.h"

#include <sodium.h>
#include <string.h>

/* The server marks a peer offline after 60 s without a heartbeat or an events socket
 * (docs/control-api.md, --offline-after); three heartbeats fit in that window, so one lost
 * request never makes this machine look gone. */
#define HEARTBEAT_INTERVAL_S 20
/* Reconnecting the events socket: the first retry is quick (a restarting server is usually
 * back within a second), then the delay doubles up to a ceiling that still rejoins a
 * restarted server within seconds. */
#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 10000
/* WebSocket pings, so a server that vanished without closing is noticed. */
#define EVENTS_KEEPALIVE_S 15
/* The relay list is read again this often while in a party, so a relay that registered
 * after the join (or one that went away) is seen. Registrations live 60 s on the server. */
#define RELAY_LIST_INTERVAL_S 60
/* Asking again for a relay token after a failure: quick first, then backing off. */
#define TOKEN_RETRY_MIN_MS 1000
#define TOKEN_RETRY_MAX_MS 30000
/* The port lanrage-relay listens on when nothing else is known (servers/relay/README.md). */
#define DEFAULT_RELAY_PORT 3478
/* LastError when the server says the party or this machine's membership is no more. */
#define PARTY_GONE_REASON "The party is gone, or this computer was removed from it."

typedef struct
{
  char                *id;
  char                *object_path;
  LrdObjectSkeleton   *object;
  LrdHelper1Peer      *peer;
  LrKey                wg_key;
  char                *virtual_ip;
} PeerRecord;

struct _LrdSession
{
  GObject                    parent_instance;

  LrdHelper1                *iface;
  GDBusObjectManagerServer  *manager;
  LrdControlClient          *client;
  LrdWgBackend              *backend;     /* nullable: no data plane */
  GError                    *no_backend;  /* nullable: why there is no backend */
  LrdPathManager            *paths;       /* with the backend */
  GStrv                      config_relays;
  GStrv                      server_relays;     /* from the control server's list */
  char                      *pending_token;     /* from the join answer, until WireGuard is up */
  gint64                     pending_token_expiry;
  gboolean                   token_in_flight;
  guint                      token_retry_source;
  guint                      token_retry_ms;
  guint                      relay_list_source;
  LrdKeys                    keys;
  char                      *state_dir;
  guint16                    listen_port;

  /* Set once the server has answered a create or join, or from the saved party. */
  LrdSavedParty             *party;
  GHashTable                *peers;       /* id → PeerRecord */

  GCancellable              *join_cancellable;   /* while a create or join is in flight */
  GCancellable              *party_cancellable;  /* the events socket and heartbeats */
  SoupWebsocketConnection   *events;
  guint                      reconnect_source;
  guint                      reconnect_delay_ms;
  guint                      heartbeat_source;
  guint                      heartbeat_interval_ms;

  gboolean                   persisting;
  gboolean                   persist_again;
};

G_DEFINE_FINAL_TYPE (LrdSession, lrd_session, G_TYPE_OBJECT)

static void stop_party_activity (LrdSession *self);
static void start_events        (LrdSession *self);
static void remove_all_peers    (LrdSession *self);
static void stop_data_plane     (LrdSession *self);
static void token_needed_cb     (LrdPathManager *paths,
                                 gpointer        user_data);

static void
peer_record_free (PeerRecord *record)
{
  g_free (record->id);
  g_free (record->object_path);
  g_clear_object (&record->object);
  g_clear_object (&record->peer);
  g_free (record->virtual_ip);
  sodium_memzero (&record->wg_key, sizeof record->wg_key);
  g_free (record);
}

static void
lrd_session_dispose (GObject *object)
{
  LrdSession *self = LRD_SESSION (object);

  stop_party_activity (self);
  stop_data_plane (self);
  if (self->join_cancellable != NULL)
    g_cancellable_cancel (self->join_cancellable);
  g_clear_object (&self->join_cancellable);
  if (self->peers != NULL)
    remove_all_peers (self);
  g_clear_object (&self->iface);
  g_clear_object (&self->manager);
  g_clear_object (&self->client);
  if (self->paths != NULL)
    g_signal_handlers_disconnect_by_data (self->paths, self);
  g_clear_object (&self->paths);
  g_clear_object (&self->backend);

  G_OBJECT_CLASS (lrd_session_parent_class)->dispose (object);
}

static void
lrd_session_finalize (GObject *object)
{
  LrdSession *self = LRD_SESSION (object);

  lrd_keys_clear (&self->keys);
  g_clear_pointer (&self->party, lrd_saved_party_free);
  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_free (self->state_dir);
  g_clear_error (&self->no_backend);
  g_strfreev (self->config_relays);
  g_strfreev (self->server_relays);
  if (self->pending_token != NULL)
    sodium_memzero (self->pending_token, strlen (self->pending_token));
  g_free (self->pending_token);

  G_OBJECT_CLASS (lrd_session_parent_class)->finalize (object);
}

static void
lrd_session_class_init (LrdSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_session_dispose;
  object_class->finalize = lrd_session_finalize;
}

static void
lrd_session_init (LrdSession *self)
{
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) peer_record_free);
  self->reconnect_delay_ms = RECONNECT_MIN_MS;
  self->heartbeat_interval_ms = HEARTBEAT_INTERVAL_S * 1000;
  self->token_retry_ms = TOKEN_RETRY_MIN_MS;
  self->config_relays = g_new0 (char *, 1);
}

void
lrd_session_set_heartbeat_interval_ms (LrdSession *self,
                                       guint       interval_ms)
{
  g_return_if_fail (LRD_IS_SESSION (self));
  g_return_if_fail (interval_ms > 0);

  self->heartbeat_interval_ms = interval_ms;
}

static void
reset_properties (LrdSession *self)
{
  lrd_helper1_set_party_id (self->iface, "");
  lrd_helper1_set_party_name (self->iface, "");
  lrd_helper1_set_invite_code (self->iface, "");
  lrd_helper1_set_virtual_address (self->iface, "");
  lrd_helper1_set_relay (self->iface, "");
  lrd_helper1_set_relay_rtt_ms (self->iface, -1);
  lrd_helper1_set_relay_reason (self->iface, "");
  lrd_helper1_set_public_endpoint (self->iface, "");
}

/**
 * lrd_session_new:
 * @iface: the exported io.lanrage.Helper1 skeleton; the session owns its properties
 * @manager: the object manager the peer objects are exported through
 * @backend: (nullable): the WireGuard backend, or %NULL for none
 */
LrdSession *
lrd_session_new (LrdHelper1               *iface,
                 GDBusObjectManagerServer *manager,
                 LrdControlClient         *client,
                 LrdWgBackend             *backend,
                 const LrdKeys            *keys,
                 const char               *state_dir,
                 guint16                   listen_port)
{
  LrdSession *self = g_object_new (LRD_TYPE_SESSION, NULL);

  self->iface = g_object_ref (iface);
  self->manager = g_object_ref (manager);
  self->client = g_object_ref (client);
  self->backend = backend != NULL ? g_object_ref (backend) : NULL;
  self->keys = *keys;
  self->state_dir = g_strdup (state_dir);
  self->listen_port = listen_port;

  reset_properties (self);
  lrd_helper1_set_state (iface, LRD_STATE_IDLE);
  lrd_helper1_set_last_error (iface, "");
  lrd_helper1_set_nat_mapping (iface, "unknown");
  lrd_helper1_set_nat_filtering (iface, "unknown");
  lrd_helper1_set_nat_type (iface, "unknown");
  lrd_helper1_set_backend (iface, backend != NULL ? lrd_wg_backend_get_name (backend) : "none");
  if (backend != NULL)
    {
      self->paths = lrd_path_manager_new (NULL, iface, backend, listen_port);
      g_signal_connect (self->paths, "token-needed", G_CALLBACK (token_needed_cb), self);
    }
  return self;
}

/**
 * lrd_session_set_no_backend_reason:
 *
 * Says why this session has no WireGuard backend: CreateParty and JoinParty then fail with
 * @error (a copy is kept) instead of joining on the control plane only.
 */
void
lrd_session_set_no_backend_reason (LrdSession   *self,
                                   const GError *error)
{
  g_return_if_fail (LRD_IS_SESSION (self));
  g_return_if_fail (self->backend == NULL);

  g_clear_error (&self->no_backend);
  self->no_backend = g_error_copy (error);
}

/**
 * lrd_session_set_config_relays:
 * @relays: "host:port" entries from the configuration's relays=
 *
 * Relays to try after the control server's list and before the control server's own host.
 */
void
lrd_session_set_config_relays (LrdSession         *self,
                               const char * const *relays)
{
  g_return_if_fail (LRD_IS_SESSION (self));

  g_strfreev (self->config_relays);
  self->config_relays = g_strdupv ((char **) relays);
  if (self->config_relays == NULL)
    self->config_relays = g_new0 (char *, 1);
}

/**
 * lrd_nat_type_name:
 *
 * The classic (RFC 3489) name for an RFC 4787 mapping and filtering pair, the words
 * gamers know from their consoles.
 */
const char *
lrd_nat_type_name (const char *mapping,
                   const char *filtering)
{
  if (g_strcmp0 (mapping, "unknown") == 0 || g_strcmp0 (filtering, "unknown") == 0 ||
      mapping == NULL || filtering == NULL)
    return "unknown";
  if (g_strcmp0 (mapping, "endpoint_independent") != 0)
    return "symmetric";
  if (g_strcmp0 (filtering, "endpoint_independent") == 0)
    return "full cone";
  if (g_strcmp0 (filtering, "address_dependent") == 0)
    return "restricted cone";
  return "port-restricted cone";
}

static const char *
get_state (LrdSession *self)
{
  return lrd_helper1_get_state (self->iface);
}

static void
set_state (LrdSession *self,
           const char *state)
{
  if (g_strcmp0 (get_state (self), state) != 0)
    g_info ("State: %s → %s", get_state (self), state);
  lrd_helper1_set_state (self->iface, state);
}

/* Saving the party: one write at a time, and the last one always reflects the current
 * party (or its absence), whatever order joins and leaves came in. */

static void persist (LrdSession *self);

static void
persist_done (LrdSession *self)
{
  self->persisting = FALSE;
  if (self->persist_again)
    {
      self->persist_again = FALSE;
      persist (self);
    }
}

static void
save_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(LrdSession) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_saved_party_save_finish (result, &error))
    g_warning ("Cannot save the party, so a restart will not rejoin it: %s", error->message);
  persist_done (self);
}

static void
forget_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(LrdSession) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_saved_party_forget_finish (result, &error))
    g_warning ("Cannot remove the saved party: %s", error->message);
  persist_done (self);
}

static void
persist (LrdSession *self)
{
  if (self->persisting)
    {
      self->persist_again = TRUE;
      return;
    }
  self->persisting = TRUE;
  if (self->party != NULL)
    lrd_saved_party_save_async (self->party, self->state_dir, NULL, save_cb,
                                g_object_ref (self));
  else
    lrd_saved_party_forget_async (self->state_dir, NULL, forget_cb, g_object_ref (self));
}

/* WireGuard, when there is a backend. Peers are configured by the path manager; the
 * session brings the interface up and takes it down. */

static void
backend_down_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_wg_backend_down_finish (LRD_WG_BACKEND (source), result, &error))
    g_warning ("Cannot take the WireGuard interface down: %s", error->message);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

/* Takes WireGuard down, then completes @task (if any) successfully: at that point the
 * party is gone either way, and a failure is logged. */
static void
backend_down (LrdSession *self,
              GTask      *task)
{
  if (self->backend == NULL)
    {
      if (task != NULL)
        g_task_return_boolean (task, TRUE);
      return;
    }
  lrd_wg_backend_down_async (self->backend, NULL, backend_down_cb,
                             task != NULL ? g_object_ref (task) : NULL);
}

/* Brings WireGuard up with this machine's key and its address in the party. */
static void
backend_up (LrdSession          *self,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  g_autofree char *address = g_strdup_printf ("%s/%d", self->party->virtual_ip,
                                              LR_VIRTUAL_PREFIX_LENGTH);

  lrd_wg_backend_up_async (self->backend, &self->keys.wg_private, self->listen_port, address,
                           cancellable, callback, user_data);
}

/* Whether @text is an address in the party network, 10.66.0.0/16 (DESIGN.md). Addresses
 * come from the server and become WireGuard allowed IPs (routes) and this machine's own
 * address: one outside the network would take over traffic to a real host or the LAN. */
static gboolean
is_party_address (const char *text)
{
  guint32 address;
  guint32 mask = ~0u << (32 - LR_VIRTUAL_PREFIX_LENGTH);

  return lr_ipv4_parse (text, &address) && (address & mask) == LR_VIRTUAL_NETWORK;
}

/* Whether a name from the server is one lib/ would accept from a client (and the server
 * does): names end up in lists, tray menus and lanragectl's output on a terminal, where
 * control characters could rewrite what a person sees. */
static gboolean
is_valid_name (const char *name,
               guint       max_chars)
{
  g_autofree char *normalized = lr_name_normalize (name, max_chars, "name", NULL);

  return normalized != NULL && g_str_equal (normalized, name);
}

/* Peers */

/* Takes @record out of WireGuard and off the bus; the caller drops it from the table. */
static void
unexport_peer (LrdSession *self,
               PeerRecord *record)
{
  if (self->paths != NULL)
    lrd_path_manager_remove_peer (self->paths, record->id);
  g_dbus_object_manager_server_unexport (self->manager, record->object_path);
}

static void
remove_peer_record (LrdSession *self,
                    const char *id)
{
  PeerRecord *record = g_hash_table_lookup (self->peers, id);

  if (record == NULL)
    return;
  g_info ("Peer %s left", record->id);
  unexport_peer (self, record);
  g_hash_table_remove (self->peers, id);
}

static void
remove_all_peers (LrdSession *self)
{
  GHashTableIter iter;
  PeerRecord *record;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &record))
    g_dbus_object_manager_server_unexport (self->manager, record->object_path);
  g_hash_table_remove_all (self->peers);
}

static void
upsert_peer (LrdSession   *self,
             const LrPeer *peer)
{
  PeerRecord *record;
  LrKey key;
  gboolean configure = FALSE;
  const char *mapping = lr_nat_behaviour_to_string (peer->nat.mapping);
  const char *filtering = lr_nat_behaviour_to_string (peer->nat.filtering);

  if (!is_party_address (peer->virtual_ip) || !is_valid_name (peer->name, LR_PEER_NAME_MAX_CHARS))
    {
      g_debug ("Ignoring peer %s: its address is outside the party network, or its name is "
               "not one", peer->id);
      return;
    }

  if (self->party != NULL && g_strcmp0 (peer->id, self->party->peer_id) == 0)
    {
      /* Ourselves: the server is the authority on our address. */
      lrd_helper1_set_virtual_address (self->iface, peer->virtual_ip);
      return;
    }

  if (!lr_public_key_parse (peer->wg_public_key, key.bytes))
    return;

  record = g_hash_table_lookup (self->peers, peer->id);
  if (record == NULL)
    {
      record = g_new0 (PeerRecord, 1);
      record->id = g_strdup (peer->id);
      record->object_path = g_strdup_printf ("%s/%s", LRD_PEERS_OBJECT_PATH, peer->id);
      if (!g_variant_is_object_path (record->object_path))
        {
          peer_record_free (record);
          return;
        }
      record->object = lrd_object_skeleton_new (record->object_path);
      record->peer = lrd_helper1_peer_skeleton_new ();
      record->wg_key = key;
      lrd_helper1_peer_set_id (record->peer, peer->id);
      lrd_helper1_peer_set_path (record->peer, "connecting");
      lrd_helper1_peer_set_endpoint (record->peer, "");
      lrd_helper1_peer_set_relay (record->peer, "");
      lrd_helper1_peer_set_latency_ms (record->peer, -1);
      lrd_helper1_peer_set_jitter_ms (record->peer, -1);
      lrd_helper1_peer_set_loss_percent (record->peer, -1);
      lrd_helper1_peer_set_quality (record->peer, "unknown");
      configure = TRUE;
    }
  else if (memcmp (record->wg_key.bytes, key.bytes, sizeof key.bytes) != 0)
    {
      /* A new key is a new WireGuard peer; the path manager drops the old one. */
      record->wg_key = key;
      configure = TRUE;
    }

  if (g_strcmp0 (record->virtual_ip, peer->virtual_ip) != 0)
    {
      g_free (record->virtual_ip);
      record->virtual_ip = g_strdup (peer->virtual_ip);
      configure = TRUE;
    }

  lrd_helper1_peer_set_name (record->peer, peer->name);
  lrd_helper1_peer_set_virtual_address (record->peer, peer->virtual_ip);
  lrd_helper1_peer_set_online (record->peer, peer->online);
  lrd_helper1_peer_set_nat_type (record->peer, lrd_nat_type_name (mapping, filtering));

  if (!g_hash_table_contains (self->peers, record->id))
    {
      g_info ("Peer %s joined", record->id);
      g_hash_table_insert (self->peers, record->id, record);
      lrd_object_skeleton_set_helper1_peer (record->object, record->peer);
      g_dbus_object_manager_server_export (self->manager,
                                           G_DBUS_OBJECT_SKELETON (record->object));
    }

  if (configure && self->paths != NULL)
    lrd_path_manager_add_peer (self->paths, record->id, record->peer, &record->wg_key,
                               record->virtual_ip);
}

static void
apply_party (LrdSession    *self,
             const LrParty *party)
{
  if (party == NULL)
    {
      g_debug ("Ignoring a party the server described oddly");
      return;
    }
  if (self->party == NULL || g_strcmp0 (party->id, self->party->party_id) != 0)
    return;
  if (!is_valid_name (party->name, LR_PARTY_NAME_MAX_CHARS))
    {
      g_debug ("Ignoring a party name that is not one");
      return;
    }

  lrd_helper1_set_party_name (self->iface, party->name);
  lrd_helper1_set_invite_code (self->iface, party->invite_code);
  if (g_strcmp0 (self->party->party_name, party->name) != 0 ||
      g_strcmp0 (self->party->invite_code, party->invite_code) != 0)
    {
      g_free (self->party->party_name);
      self->party->party_name = g_strdup (party->name);
      g_free (self->party->invite_code);
      self->party->invite_code = g_strdup (party->invite_code);
      persist (self);
    }
}

static void lose_party (LrdSession *self,
                        const char *reason);

/* A complete list of the party's peers (the snapshot, or a refresh): afterwards the
 * exported objects are exactly the other members. */
static void
apply_peer_list (LrdSession *self,
                 GPtrArray  *peers)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean self_present = FALSE;
  GHashTableIter iter;
  PeerRecord *record;

  for (guint i = 0; i < peers->len; i++)
    {
      const LrPeer *peer = g_ptr_array_index (peers, i);

      if (g_strcmp0 (peer->id, self->party->peer_id) == 0)
        self_present = TRUE;
      g_hash_table_add (seen, g_strdup (peer->id));
      upsert_peer (self, peer);
    }

  if (!self_present)
    {
      lose_party (self, "This computer was removed from the party.");
      return;
    }

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &record))
    {
      if (g_hash_table_contains (seen, record->id))
        continue;
      g_info ("Peer %s is no longer in the party", record->id);
      unexport_peer (self, record);
      g_hash_table_iter_remove (&iter);
    }
}

/* A complete view of the party, from the events socket's snapshot or a refresh. */
static void
apply_snapshot (LrdSession        *self,
                const LrPartyView *view)
{
  apply_party (self, view->party);
  if (view->peers != NULL)
    apply_peer_list (self, view->peers);
}

/* The party's running activity: events socket, heartbeats */

static void
stop_party_activity (LrdSession *self)
{
  if (self->party_cancellable != NULL)
    g_cancellable_cancel (self->party_cancellable);
  g_clear_object (&self->party_cancellable);
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  g_clear_handle_id (&self->heartbeat_source, g_source_remove);
  if (self->events != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->events, self);
      if (soup_websocket_connection_get_state (self->events) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->events, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      g_clear_object (&self->events);
    }
  self->reconnect_delay_ms = RECONNECT_MIN_MS;
}

/* The data plane's party-long activity: relay candidates and relay tokens */

/* The control server's own host on the default relay port: the last candidate. */
static char *
control_host_relay (LrdSession *self)
{
  g_autoptr(GUri) uri = g_uri_parse (lrd_control_client_get_base_url (self->client),
                                     G_URI_FLAGS_NONE, NULL);
  const char *host = uri != NULL ? g_uri_get_host (uri) : NULL;

  if (host == NULL || host[0] == '\0')
    return NULL;
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%d", host, DEFAULT_RELAY_PORT);
  return g_strdup_printf ("%s:%d", host, DEFAULT_RELAY_PORT);
}

/* Candidates in the order issue 4 gives: the server's list, the configuration's, the
 * server's host. The relay client measures them and drops duplicates. */
static void
update_relay_candidates (LrdSession *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *fallback = control_host_relay (self);
  g_auto(GStrv) candidates = NULL;

  if (self->paths == NULL)
    return;
  if (self->server_relays != NULL)
    g_strv_builder_addv (builder, (const char **) self->server_relays);
  g_strv_builder_addv (builder, (const char **) self->config_relays);
  if (fallback != NULL)
    g_strv_builder_add (builder, fallback);
  candidates = g_strv_builder_end (builder);
  lrd_path_manager_set_relays (self->paths, (const char * const *) candidates);
}

static void
set_server_relays (LrdSession *self,
                   GStrv       relays)
{
  g_strfreev (self->server_relays);
  self->server_relays = relays;
  update_relay_candidates (self);
}

static void
relay_list_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(LrdSession) self = user_data;
  g_autoptr(GError) error = NULL;
  GStrv relays;

  relays = lrd_control_client_list_relays_finish (LRD_CONTROL_CLIENT (source), result, &error);
  if (relays == NULL)
    {
      /* Keep the list we have: a restarting server is no reason to forget relays. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Cannot read the relay list: %s", error->message);
      return;
    }
  if (self->party == NULL)
    {
      g_strfreev (relays);
      return;
    }
  set_server_relays (self, relays);
}

static gboolean
relay_list_timeout_cb (gpointer user_data)
{
  LrdSession *self = user_data;

  lrd_control_client_list_relays_async (self->client, self->party_cancellable, relay_list_cb,
                                        g_object_ref (self));
  return G_SOURCE_CONTINUE;
}

static void request_relay_token (LrdSession *self);

static gboolean
token_retry_cb (gpointer user_data)
{
  LrdSession *self = user_data;

  self->token_retry_source = 0;
  request_relay_token (self);
  return G_SOURCE_REMOVE;
}

static void
relay_token_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(LrdSession) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LrRelayTokenAnswer) answer = NULL;

  answer = lrd_control_client_relay_token_finish (LRD_CONTROL_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->token_in_flight = FALSE;
  if (self->party == NULL)
    return;
  if (g_error_matches (error, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND))
    {
      lose_party (self, PARTY_GONE_REASON);
      return;
    }
  if (answer == NULL)
    {
      guint delay = self->token_retry_ms;

      g_debug ("No relay token this time (%s); asking again in %u ms", error->message, delay);
      self->token_retry_ms = MIN (self->token_retry_ms * 2, TOKEN_RETRY_MAX_MS);
      g_clear_handle_id (&self->token_retry_source, g_source_remove);
      self->token_retry_source = g_timeout_add (delay, token_retry_cb, self);
      return;
    }
  self->token_retry_ms = TOKEN_RETRY_MIN_MS;
  lrd_path_manager_set_token (self->paths, answer->relay_token, answer->expires_at);
}

static void
request_relay_token (LrdSession *self)
{
  if (self->party == NULL || self->paths == NULL || self->token_in_flight ||
      self->party_cancellable == NULL)
    return;
  g_clear_handle_id (&self->token_retry_source, g_source_remove);
  self->token_in_flight = TRUE;
  lrd_control_client_relay_token_async (self->client, self->party->party_id, self->party->token,
                                        self->party_cancellable, relay_token_cb,
                                        g_object_ref (self));
}

static void
token_needed_cb (LrdPathManager *paths,
                 gpointer        user_data)
{
  request_relay_token (user_data);
}

static void
forget_pending_token (LrdSession *self)
{
  if (self->pending_token != NULL)
    sodium_memzero (self->pending_token, strlen (self->pending_token));
  g_clear_pointer (&self->pending_token, g_free);
  self->pending_token_expiry = 0;
}

/* Once WireGuard is up and the party's activity runs: relays, token, the first BIND. */
static void
start_data_plane (LrdSession *self)
{
  if (self->paths == NULL)
    return;
  update_relay_candidates (self);
  self->relay_list_source = g_timeout_add_seconds (RELAY_LIST_INTERVAL_S,
                                                   relay_list_timeout_cb, self);
  if (self->pending_token != NULL)
    {
      /* The join answer's token saves a round trip before the first packet. */
      lrd_path_manager_set_token (self->paths, self->pending_token, self->pending_token_expiry);
      forget_pending_token (self);
    }
  else
    {
      request_relay_token (self);
      relay_list_timeout_cb (self);
    }
}

static void
stop_data_plane (LrdSession *self)
{
  g_clear_handle_id (&self->relay_list_source, g_source_remove);
  g_clear_handle_id (&self->token_retry_source, g_source_remove);
  self->token_in_flight = FALSE;
  self->token_retry_ms = TOKEN_RETRY_MIN_MS;
  forget_pending_token (self);
  g_clear_pointer (&self->server_relays, g_strfreev);
  if (self->paths != NULL)
    lrd_path_manager_stop (self->paths);
}

/* Drops the party here (its activity, peers, saved file and properties) and shows
 * @last_error; WireGuard and the server are the caller's to deal with. */
static void
clear_party (LrdSession *self,
             const char *last_error)
{
  stop_party_activity (self);
  stop_data_plane (self);
  remove_all_peers (self);
  g_clear_pointer (&self->party, lrd_saved_party_free);
  persist (self);
  reset_properties (self);
  lrd_helper1_set_last_error (self->iface, last_error);
  set_state (self, LRD_STATE_IDLE);
}

/* Forgets the party here without telling the server (which told us, or is gone). */
static void
lose_party (LrdSession *self,
            const char *reason)
{
  if (self->party == NULL)
    return;

  g_message ("Left party %s: %s", self->party->party_id, reason);
  clear_party (self, reason);
  backend_down (self, NULL);
}

/* Tells the server that this machine leaves: with @callback, or best effort (NULL). */
static void
delete_membership (LrdSession          *self,
                   const char          *party_id,
                   const char          *peer_id,
                   const char          *token,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  lrd_control_client_leave_async (self->client, party_id, peer_id, token, callback, user_data);
}

static gboolean
reconnect_cb (gpointer user_data)
{
  LrdSession *self = user_data;

  self->reconnect_source = 0;
  start_events (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (LrdSession *self)
{
  guint delay = self->reconnect_delay_ms;

  if (self->party == NULL || self->reconnect_source != 0)
    return;

  /* ±25 % so that a whole party does not hammer a restarted server in step. */
  delay = delay * 3 / 4 + g_random_int_range (0, delay / 2 + 1);
  self->reconnect_delay_ms = MIN (self->reconnect_delay_ms * 2, RECONNECT_MAX_MS);
  g_debug ("Events socket down; reconnecting in %u ms", delay);
  self->reconnect_source = g_timeout_add (delay, reconnect_cb, self);
}

static void
handle_event (LrdSession    *self,
              const LrEvent *event)
{
  switch (event->type)
    {
    case LR_EVENT_SNAPSHOT:
      self->reconnect_delay_ms = RECONNECT_MIN_MS;
      apply_snapshot (self, event->snapshot);
      break;

    case LR_EVENT_PEER_JOINED:
    case LR_EVENT_PEER_UPDATED:
    case LR_EVENT_PEER_OFFLINE:
      upsert_peer (self, event->peer);
      break;

    case LR_EVENT_PEER_LEFT:
      if (g_strcmp0 (event->peer->id, self->party->peer_id) == 0)
        lose_party (self, "This computer was removed from the party.");
      else
        remove_peer_record (self, event->peer->id);
      break;

    case LR_EVENT_PARTY_UPDATED:
      apply_party (self, event->party);
      break;

    case LR_EVENT_PARTY_CLOSED:
      lose_party (self, "The party was closed.");
      break;

    case LR_EVENT_ERROR:
      g_debug ("The server refused a message on the events socket");
      break;

    case LR_EVENT_SIGNAL:
    case LR_EVENT_UNKNOWN:
    default:
      /* Signals belong to NAT traversal; unknown types come from a newer server. */
      break;
    }
}

static void
events_message_cb (SoupWebsocketConnection *connection,
                   gint                     type,
                   GBytes                  *message,
                   gpointer                 user_data)
{
  LrdSession *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LrEvent) event = NULL;
  gsize length = 0;
  const char *data = g_bytes_get_data (message, &length);

  if (type != SOUP_WEBSOCKET_DATA_TEXT || self->party == NULL)
    return;

  event = lr_event_parse (data, length, &error);
  if (event == NULL)
    {
      g_debug ("Ignoring an event: %s", error->message);
      return;
    }
  handle_event (self, event);
}

static void
events_closed_cb (SoupWebsocketConnection *connection,
                  gpointer                 user_data)
{
  LrdSession *self = user_data;

  if (connection != self->events)
    return;
  g_signal_handlers_disconnect_by_data (connection, self);
  g_clear_object (&self->events);
  schedule_reconnect (self);
}

static void
events_connect_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(LrdSession) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) connection = NULL;

  connection = lrd_control_client_connect_events_finish (LRD_CONTROL_CLIENT (source), result,
                                                         &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->party == NULL)
    return;
  if (connection == NULL)
    {
      if (g_error_matches (error, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND))
        lose_party (self, PARTY_GONE_REASON);
      else
        schedule_reconnect (self);
      return;
    }

  g_debug ("Events socket open");
  self->events = g_steal_pointer (&connection);
  soup_websocket_connection_set_keepalive_interval (self->events, EVENTS_KEEPALIVE_S);
  /* A snapshot can list many peers; the default 128 KiB limit would cut a big party. */
  soup_websocket_connection_set_max_incoming_payload_size (self->events, 1024 * 1024);
  g_signal_connect (self->events, "message", G_CALLBACK (events_message_cb), self);
  g_signal_connect (self->events, "closed", G_CALLBACK (events_closed_cb), self);
}

static void
start_events (LrdSession *self)
{
  if (self->party == NULL || self->events != NULL)
    return;
  lrd_control_client_connect_events_async (self->client, self->party->party_id,
                                           self->party->token, self->party_cancellable,
                                           events_connect_cb, g_object_ref (self));
}

static void
heartbeat_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(LrdSession) self = user_data;
  g_autoptr(GError) error = NULL;

  if (lrd_control_client_heartbeat_finish (LRD_CONTROL_CLIENT (source), result, &error) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (g_error_matches (error, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND))
    lose_party (self, PARTY_GONE_REASON);
  else
    g_debug ("Heartbeat failed: %s", error->message);
}

static gboolean
heartbeat_cb (gpointer user_data)
{
  LrdSession *self = user_data;

  if (self->party == NULL)
    {
      self->heartbeat_source = 0;
      return G_SOURCE_REMOVE;
    }
  lrd_control_client_heartbeat_async (self->client, self->party->party_id,
                                      self->party->peer_id, self->party->token,
                                      self->party_cancellable, heartbeat_done_cb,
                                      g_object_ref (self));
  return G_SOURCE_CONTINUE;
}

static void
start_party_activity (LrdSession *self)
{
  stop_party_activity (self);
  self->party_cancellable = g_cancellable_new ();
  self->heartbeat_source = g_timeout_add (self->heartbeat_interval_ms, heartbeat_cb, self);
  start_events (self);
}

static void
show_party (LrdSession *self)
{
  lrd_helper1_set_party_id (self->iface, self->party->party_id);
  lrd_helper1_set_party_name (self->iface, self->party->party_name);
  lrd_helper1_set_invite_code (self->iface, self->party->invite_code);
  lrd_helper1_set_virtual_address (self->iface, self->party->virtual_ip);
}

/* Every public _finish: the GTask's boolean. */
static gboolean
propagate_boolean (LrdSession    *self,
                   GAsyncResult  *result,
                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Create and join */

typedef struct
{
  char         *peer_name;
  /* This join's own: a LeaveParty may cancel it and a new join start before its callbacks
   * run, and those must then touch neither the new join nor its party. */
  GCancellable *cancellable;
} JoinData;

static void
join_data_free (JoinData *data)
{
  g_free (data->peer_name);
  g_clear_object (&data->cancellable);
  g_free (data);
}

static void
end_join (LrdSession *self,
          GTask      *task)
{
  JoinData *data = g_task_get_task_data (task);

  if (self->join_cancellable == data->cancellable)
    g_clear_object (&self->join_cancellable);
}

static gboolean
join_was_cancelled (GTask *task)
{
  JoinData *data = g_task_get_task_data (task);

  return g_cancellable_is_cancelled (data->cancellable);
}

static gboolean
check_not_in_party (LrdSession  *self,
                    GError     **error)
{
  if (self->join_cancellable != NULL)
    {
      g_set_error (error, LRD_ERROR, LRD_ERROR_ALREADY_IN_PARTY,
                   "Already joining a party; wait for it, or leave it first");
      return FALSE;
    }
  if (self->party != NULL)
    {
      g_set_error (error, LRD_ERROR, LRD_ERROR_ALREADY_IN_PARTY,
                   "Already in the party “%s”; leave it first", self->party->party_name);
      return FALSE;
    }
  return TRUE;
}

static char *
normalize_display_name (const char  *display_name,
                        GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *name;

  if (display_name == NULL || display_name[0] == '\0')
    {
      /* The host name is what people see in their router's list too; it may be longer
       * than a peer name may be, so cut it at a character boundary. */
      g_autofree char *host = g_utf8_make_valid (g_get_host_name (), -1);
      g_autofree char *cut = g_utf8_substring (host, 0, MIN (g_utf8_strlen (host, -1),
                                                             LR_PEER_NAME_MAX_CHARS));

      name = lr_name_normalize (cut, LR_PEER_NAME_MAX_CHARS, "display name", NULL);
      return name != NULL ? name : g_strdup ("LANrage player");
    }

  name = lr_name_normalize (display_name, LR_PEER_NAME_MAX_CHARS, "Display name", &local_error);
  if (name == NULL)
    g_set_error_literal (error, LRD_ERROR, LRD_ERROR_INVALID_NAME, local_error->message);
  return name;
}

static void
fail_join (LrdSession *self,
           GTask      *task,
           GError     *error)
{
  end_join (self, task);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || join_was_cancelled (task))
    {
      /* LeaveParty during the join: it has cleaned up already. */
      g_error_free (error);
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_FAILED,
                               "Joining was cancelled because the party was left");
      return;
    }

  /* The server has us as a member, but we cannot take part: leave, best effort. */
  if (self->party != NULL)
    delete_membership (self, self->party->party_id, self->party->peer_id, self->party->token,
                       NULL, NULL);
  clear_party (self, error->message);
  g_task_return_error (task, error);
}

static void
finish_join (LrdSession *self,
             GTask      *task)
{
  end_join (self, task);
  set_state (self, LRD_STATE_CONNECTED);
  start_party_activity (self);
  start_data_plane (self);
  g_message ("In party %s as %s (%s)", self->party->party_id, self->party->peer_id,
             self->party->virtual_ip);
  g_task_return_boolean (task, TRUE);
}

static void
backend_up_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdSession *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;

  if (!lrd_wg_backend_up_finish (LRD_WG_BACKEND (source), result, &error))
    {
      if (g_error_matches (error, LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD))
        {
          error->domain = LRD_ERROR;
          error->code = LRD_ERROR_NO_WIREGUARD;
        }
      else if (error->domain != LRD_ERROR && !g_error_matches (error, G_IO_ERROR,
                                                               G_IO_ERROR_CANCELLED))
        {
          g_autoptr(GError) wrapped = g_error_new (LRD_ERROR, LRD_ERROR_FAILED,
                                                   "Cannot set up WireGuard: %s",
                                                   error->message);

          g_clear_error (&error);
          error = g_steal_pointer (&wrapped);
        }
      fail_join (self, task, g_steal_pointer (&error));
      return;
    }
  if (join_was_cancelled (task))
    {
      /* Left while WireGuard was coming up: the leave has cleaned up all but this. */
      backend_down (self, NULL);
      fail_join (self, task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Left"));
      return;
    }
  finish_join (self, task);
}

static void
bring_up (LrdSession *self,
          GTask      *task)
{
  if (self->backend == NULL)
    finish_join (self, task);
  else
    backend_up (self, self->join_cancellable, backend_up_cb, g_object_ref (task));
}

static void
join_request_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdSession *self = g_task_get_source_object (task);
  JoinData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(LrJoinAnswer) answer = NULL;
  LrdSavedParty *saved;

  answer = lrd_control_client_join_finish (LRD_CONTROL_CLIENT (source), result, &error);
  if (answer == NULL)
    {
      fail_join (self, task, g_steal_pointer (&error));
      return;
    }
  if (!is_party_address (answer->peer->virtual_ip) ||
      !is_valid_name (answer->party->name, LR_PARTY_NAME_MAX_CHARS))
    {
      fail_join (self, task, g_error_new (LRD_ERROR, LRD_ERROR_FAILED,
                                          "The LANrage server sent an answer this helper "
                                          "does not understand (address or name)"));
      return;
    }

  if (join_was_cancelled (task))
    {
      /* Left while the server was answering: it has us as a member, so undo that. */
      delete_membership (self, answer->party->id, answer->peer->id, answer->token, NULL, NULL);
      fail_join (self, task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Left"));
      return;
    }

  saved = g_new0 (LrdSavedParty, 1);
  saved->control_url = g_strdup (lrd_control_client_get_base_url (self->client));
  saved->party_id = g_strdup (answer->party->id);
  saved->party_name = g_strdup (answer->party->name);
  saved->invite_code = g_strdup (answer->party->invite_code);
  saved->peer_id = g_strdup (answer->peer->id);
  saved->peer_name = g_strdup (data->peer_name);
  saved->token = g_strdup (answer->token);
  saved->virtual_ip = g_strdup (answer->peer->virtual_ip);
  self->party = saved;
  persist (self);

  /* The relay token and list come with the answer; they are used once WireGuard is up. */
  forget_pending_token (self);
  if (self->paths != NULL)
    {
      if (answer->relay_token != NULL)
        {
          self->pending_token = g_strdup (answer->relay_token);
          self->pending_token_expiry = answer->relay_token_expires_at;
        }
      g_strfreev (self->server_relays);
      self->server_relays = g_steal_pointer (&answer->relays);
    }

  lrd_helper1_set_last_error (self->iface, "");
  show_party (self);
  bring_up (self, task);
}

/* Creating and joining, once the party name or invite code is parsed: the display name,
 * then the state, then the request (@key: @value beside this machine's PeerIn). */
static void
start_join (LrdSession *self,
            GTask      *task,
            const char *party_name,
            const char *invite_code,
            const char *display_name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *peer_name = NULL;
  g_autofree char *wg_public = NULL;
  g_autofree char *disco_public = NULL;
  LrPeerIn peer_in = { 0 };
  JoinData *data;

  peer_name = normalize_display_name (display_name, &error);
  if (peer_name == NULL || !check_not_in_party (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->backend == NULL && self->no_backend != NULL)
    {
      /* Before the request: the server must not count a member that cannot take part. */
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_NO_WIREGUARD, "%s",
                               self->no_backend->message);
      return;
    }
  wg_public = lr_key_to_base64 (&self->keys.wg_public);
  disco_public = lr_key_to_base64 (&self->keys.disco_public);
  peer_in.name = peer_name;
  peer_in.wg_public_key = wg_public;
  peer_in.disco_public_key = disco_public;

  data = g_new0 (JoinData, 1);
  set_state (self, LRD_STATE_JOINING);
  self->join_cancellable = g_cancellable_new ();
  data->peer_name = g_steal_pointer (&peer_name);
  data->cancellable = g_object_ref (self->join_cancellable);
  g_task_set_task_data (task, data, (GDestroyNotify) join_data_free);

  /* Not cancellable: once sent, the server may have made us a member, and the answer is
   * needed to undo that if the join was cancelled meanwhile (join_request_cb). */
  if (party_name != NULL)
    lrd_control_client_create_party_async (self->client, party_name, &peer_in, join_request_cb,
                                           g_object_ref (task));
  else
    lrd_control_client_join_async (self->client, invite_code, &peer_in, join_request_cb,
                                   g_object_ref (task));
}

void
lrd_session_create_party_async (LrdSession          *self,
                                const char          *name,
                                const char          *display_name,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) name_error = NULL;
  g_autofree char *party_name = NULL;

  g_return_if_fail (LRD_IS_SESSION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_session_create_party_async);

  /* Arguments first: a bad one changes nothing, not even LastError. */
  party_name = lr_name_normalize (name, LR_PARTY_NAME_MAX_CHARS, "Party name", &name_error);
  if (party_name == NULL)
    {
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_INVALID_NAME, "%s",
                               name_error->message);
      return;
    }
  start_join (self, task, party_name, NULL, display_name);
}

gboolean
lrd_session_create_party_finish (LrdSession    *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return propagate_boolean (self, result, error);
}

void
lrd_session_join_party_async (LrdSession          *self,
                              const char          *invite_code,
                              const char          *display_name,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) code_error = NULL;
  g_autofree char *code = NULL;

  g_return_if_fail (LRD_IS_SESSION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_session_join_party_async);

  code = lr_invite_code_normalize (invite_code, &code_error);
  if (code == NULL)
    {
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_INVALID_INVITE_CODE, "%s",
                               code_error->message);
      return;
    }
  start_join (self, task, NULL, code, display_name);
}

gboolean
lrd_session_join_party_finish (LrdSession    *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  return propagate_boolean (self, result, error);
}

/* Restore after a restart */

typedef struct
{
  LrdSession   *self;
  GCancellable *cancellable;
} RestoreData;

static void
restore_up_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  RestoreData *data = user_data;
  g_autoptr(LrdSession) self = data->self;
  g_autoptr(GCancellable) cancellable = data->cancellable;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_free (data);
  ok = lrd_wg_backend_up_finish (LRD_WG_BACKEND (source), result, &error);
  if (self->join_cancellable == cancellable)
    g_clear_object (&self->join_cancellable);

  if (g_cancellable_is_cancelled (cancellable))
    {
      /* LeaveParty came first and took the interface down; this up must not linger. */
      if (ok)
        backend_down (self, NULL);
      return;
    }
  if (!ok)
    {
      g_warning ("Cannot bring WireGuard back up for the saved party: %s", error->message);
      lrd_helper1_set_last_error (self->iface, error->message);
      set_state (self, LRD_STATE_ERROR);
      return;
    }
  set_state (self, LRD_STATE_CONNECTED);
  start_party_activity (self);
  start_data_plane (self);
}

/* The saved file is root's, but it is input all the same: what goes into URLs, the
 * Authorization header and WireGuard's address is checked with lib/'s parsers first. */
static gboolean
saved_party_is_well_formed (const LrdSavedParty *saved)
{
  return lr_id_is_valid (saved->party_id) && lr_id_is_valid (saved->peer_id) &&
         lr_token_is_well_formed (saved->token) && is_party_address (saved->virtual_ip);
}

/**
 * lrd_session_restore:
 *
 * Rejoins the party saved by a previous run: the data plane comes back at once from what
 * was saved, and the events socket's snapshot brings the peers. If the server says the
 * party is gone, the session goes back to idle with LastError saying so.
 */
void
lrd_session_restore (LrdSession          *self,
                     const LrdSavedParty *saved)
{
  RestoreData *data;

  g_return_if_fail (LRD_IS_SESSION (self));
  g_return_if_fail (self->party == NULL);

  if (g_strcmp0 (saved->control_url, lrd_control_client_get_base_url (self->client)) != 0)
    {
      g_message ("The saved party is on %s, not on the configured server; forgetting it",
                 saved->control_url);
      persist (self);
      return;
    }
  if (!saved_party_is_well_formed (saved))
    {
      g_warning ("The saved party is damaged (an id, the token or the address); forgetting it");
      persist (self);
      return;
    }

  g_message ("Rejoining the saved party %s", saved->party_id);
  self->party = lrd_saved_party_copy (saved);
  show_party (self);
  set_state (self, LRD_STATE_JOINING);

  if (self->backend == NULL)
    {
      set_state (self, LRD_STATE_CONNECTED);
      start_party_activity (self);
      return;
    }
  /* Like a join in flight: LeaveParty cancels it, CreateParty and JoinParty wait for it. */
  data = g_new0 (RestoreData, 1);
  data->self = g_object_ref (self);
  data->cancellable = g_cancellable_new ();
  self->join_cancellable = g_object_ref (data->cancellable);
  backend_up (self, data->cancellable, restore_up_cb, data);
}

/* Leave */

static void
leave_delete_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdSession *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;

  /* Gone already is as good as removed; anything else is logged and the party is left here
   * all the same: the server drops silent peers by itself. */
  if (!lrd_control_client_leave_finish (LRD_CONTROL_CLIENT (source), result, &error) &&
      !g_error_matches (error, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND))
    g_warning ("The server could not be told about leaving: %s", error->message);

  backend_down (self, task);
}

void
lrd_session_leave_party_async (LrdSession          *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(LrdSavedParty) party = NULL;

  g_return_if_fail (LRD_IS_SESSION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_session_leave_party_async);

  if (self->party == NULL && self->join_cancellable == NULL)
    {
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_NOT_IN_PARTY,
                               "You are not in a party");
      return;
    }

  if (self->join_cancellable != NULL)
    g_cancellable_cancel (self->join_cancellable);

  party = g_steal_pointer (&self->party);
  clear_party (self, "");

  if (party == NULL)
    {
      /* Only the server's answer was pending: nothing exists yet to take down. */
      g_task_return_boolean (task, TRUE);
      return;
    }

  g_message ("Leaving party %s", party->party_id);
  delete_membership (self, party->party_id, party->peer_id, party->token, leave_delete_cb,
                     g_steal_pointer (&task));
}

gboolean
lrd_session_leave_party_finish (LrdSession    *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  return propagate_boolean (self, result, error);
}

/* Refresh */

static void
refresh_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdSession *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(LrPartyView) view = NULL;

  view = lrd_control_client_get_party_finish (LRD_CONTROL_CLIENT (source), result, &error);
  if (self->party == NULL)
    {
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_NOT_IN_PARTY,
                               "The party was left during the refresh");
      return;
    }
  if (view == NULL)
    {
      if (g_error_matches (error, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND))
        lose_party (self, PARTY_GONE_REASON);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  apply_snapshot (self, view);
  g_task_return_boolean (task, TRUE);
}

void
lrd_session_refresh_async (LrdSession          *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LRD_IS_SESSION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_session_refresh_async);

  if (self->party == NULL || self->join_cancellable != NULL)
    {
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_NOT_IN_PARTY,
                               "You are not in a party");
      return;
    }

  lrd_control_client_get_party_async (self->client, self->party->party_id, self->party->token,
                                      cancellable, refresh_cb, g_steal_pointer (&task));
  /* A refresh also retries the events socket at once instead of after its backoff. */
  if (self->events == NULL && self->reconnect_source != 0)
    {
      g_clear_handle_id (&self->reconnect_source, g_source_remove);
      start_events (self);
    }
}

gboolean
lrd_session_refresh_finish (LrdSession    *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return propagate_boolean (self, result, error);
}

/* Shutdown */

void
lrd_session_shutdown_async (LrdSession          *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LRD_IS_SESSION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_session_shutdown_async);

  if (self->join_cancellable != NULL)
    g_cancellable_cancel (self->join_cancellable);
  stop_party_activity (self);
  stop_data_plane (self);
  if (self->party != NULL)
    backend_down (self, task);
  else
    g_task_return_boolean (task, TRUE);
}

gboolean
lrd_session_shutdown_finish (LrdSession    *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return propagate_boolean (self, result, error);
}

/* Status */

static void
add_properties (GVariantBuilder *builder,
                GDBusInterface  *iface)
{
  g_autoptr(GVariant) properties =
    g_dbus_interface_skeleton_get_properties (G_DBUS_INTERFACE_SKELETON (iface));
  GVariantIter iter;
  const char *name;
  GVariant *value;

  g_variant_iter_init (&iter, properties);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      g_variant_builder_add (builder, "{sv}", name, value);
      g_variant_unref (value);
    }
}

static int
compare_records (gconstpointer a,
                 gconstpointer b)
{
  const PeerRecord *ra = *(const PeerRecord * const *) a;
  const PeerRecord *rb = *(const PeerRecord * const *) b;

  return g_strcmp0 (ra->id, rb->id);
}

/**
 * lrd_session_dup_status:
 *
 * Returns: (transfer full): a floating-free a{sv} of every io.lanrage.Helper1 property,
 *   plus "Peers", an aa{sv} of each peer's properties with "ObjectPath"
 */
GVariant *
lrd_session_dup_status (LrdSession *self)
{
  GVariantBuilder builder;
  GVariantBuilder peers;
  g_autoptr(GPtrArray) records = g_ptr_array_new ();
  GHashTableIter iter;
  PeerRecord *record;

  g_return_val_if_fail (LRD_IS_SESSION (self), NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  add_properties (&builder, G_DBUS_INTERFACE (self->iface));

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &record))
    g_ptr_array_add (records, record);
  g_ptr_array_sort (records, compare_records);

  g_variant_builder_init (&peers, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < records->len; i++)
    {
      record = records->pdata[i];
      g_variant_builder_open (&peers, G_VARIANT_TYPE_VARDICT);
      add_properties (&peers, G_DBUS_INTERFACE (record->peer));
      g_variant_builder_add (&peers, "{sv}", "ObjectPath",
                             g_variant_new_object_path (record->object_path));
      g_variant_builder_close (&peers);
    }
  g_variant_builder_add (&builder, "{sv}", "Peers", g_variant_builder_end (&peers));

  return g_variant_ref_sink (g_variant_builder_end (&builder));
}
