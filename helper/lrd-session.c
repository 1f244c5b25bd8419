/* lrd-session.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-session.h"
#include "lrd-session-private.h"
#include "lrd-error.h"
#include "lrd-lan-discovery.h"
#include "lrd-disco-router.h"
#include "lrd-nat-watch.h"
#include "lrd-party-events.h"
#include "lrd-peer-table.h"
#include "lrd-relay-feed.h"

#include "lr-control-answers.h"
#include "lr-id.h"
#include "lr-invite-code.h"
#include "lr-ipam.h"
#include "lr-token.h"

#include <string.h>

/* The server marks a peer offline after 60 s without a heartbeat or an events socket
 * (docs/control-api.md, --offline-after); three heartbeats fit in that window, so one lost
 * request never makes this machine look gone. */
#define HEARTBEAT_INTERVAL_S 20
/* LastError when the server says the party or this machine's membership is no more. */
#define PARTY_GONE_REASON "The party is gone, or this computer was removed from it."

struct _LrdSession
{
  GObject                    parent_instance;

  LrdHelper1                *iface;
  LrdControlClient          *client;
  LrdWgBackend              *backend;     /* nullable: no data plane */
  GError                    *no_backend;  /* nullable: why there is no backend */
  LrdRelayClient            *relay;       /* with the backend */
  LrdRelayFeed              *relay_feed;
  LrdPeerTable              *peers;
  LrdLanDiscovery           *lan;         /* nullable */
  LrdNatWatch               *nat_watch;
  LrdDiscoRouter            *disco;       /* while the data plane is up with a shared port */
  GCancellable              *publish_cancellable;  /* the PATCH of our candidates */
  gboolean                   publish_again;
  LrdKeys                    keys;
  char                      *state_dir;
  guint16                    listen_port;

  /* Set once the server has answered a create or join, or from the saved party. */
  LrdSavedParty             *party;
  LrdPartyEvents            *events;      /* while in the party */
  const char                *state;       /* an LRD_STATE_ string, shown as State */
  guint                      heartbeat_interval_ms;

  GCancellable              *join_cancellable;   /* while a create or join is in flight */

  gboolean                   persisting;
  gboolean                   persist_again;
};

G_DEFINE_FINAL_TYPE (LrdSession, lrd_session, G_TYPE_OBJECT)

static void stop_party_activity (LrdSession *self);
static void stop_data_plane     (LrdSession *self);

static void
lrd_session_dispose (GObject *object)
{
  LrdSession *self = LRD_SESSION (object);

  stop_party_activity (self);
  if (self->relay_feed != NULL)
    stop_data_plane (self);
  if (self->join_cancellable != NULL)
    g_cancellable_cancel (self->join_cancellable);
  g_clear_object (&self->join_cancellable);
  if (self->relay_feed != NULL)
    g_signal_handlers_disconnect_by_data (self->relay_feed, self);
  g_clear_object (&self->lan);
  if (self->nat_watch != NULL)
    g_signal_handlers_disconnect_by_data (self->nat_watch, self);
  g_clear_object (&self->nat_watch);
  g_clear_object (&self->peers);
  g_clear_object (&self->relay_feed);
  g_clear_object (&self->relay);
  g_clear_object (&self->iface);
  g_clear_object (&self->client);
  g_clear_object (&self->backend);

  G_OBJECT_CLASS (lrd_session_parent_class)->dispose (object);
}

static void
lrd_session_finalize (GObject *object)
{
  LrdSession *self = LRD_SESSION (object);

  lrd_keys_clear (&self->keys);
  g_clear_pointer (&self->party, lrd_saved_party_free);
  g_free (self->state_dir);
  g_clear_error (&self->no_backend);

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
  self->heartbeat_interval_ms = HEARTBEAT_INTERVAL_S * 1000;
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
}

static void lose_party (LrdSession *self,
                        const char *reason);

static void
relay_feed_gone_cb (LrdRelayFeed *feed,
                    gpointer      user_data)
{
  lose_party (user_data, PARTY_GONE_REASON);
}

/* This machine's candidates and NAT, published to the party */

static void publish_candidates (LrdSession *self);

static void
publish_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(LrdSession) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_control_client_update_peer_finish (LRD_CONTROL_CLIENT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* Published again with the next change or NAT probe (at most five minutes). */
      g_info ("Cannot publish this machine's direct-path candidates: %s", error->message);
    }
  g_clear_object (&self->publish_cancellable);
  if (self->publish_again)
    publish_candidates (self);
}

/* PATCH of our peer with the endpoints peers may reach us at (the public endpoint of
 * WireGuard's port, then its LAN addresses) and the NAT's behaviour: the server tells the
 * party, and each peer's link probes them. One request at a time; the latest state wins. */
static void
publish_candidates (LrdSession *self)
{
  const LrNatTypeResult *nat = lrd_nat_watch_get_result (self->nat_watch);
  g_auto(GStrv) endpoints = lrd_nat_watch_dup_candidates (self->nat_watch);
  LrPeerUpdate update = { 0 };

  if (self->party == NULL || self->backend == NULL)
    return;
  if (self->publish_cancellable != NULL)
    {
      self->publish_again = TRUE;
      return;
    }
  self->publish_again = FALSE;
  update.has_endpoints = TRUE;
  update.endpoints = endpoints;
  if (nat->mapping != LR_NAT_UNKNOWN && nat->filtering != LR_NAT_UNKNOWN)
    {
      update.has_nat = TRUE;
      update.nat.mapping = nat->mapping;
      update.nat.filtering = nat->filtering;
    }
  self->publish_cancellable = g_cancellable_new ();
  lrd_control_client_update_peer_async (self->client, self->party->party_id,
                                        self->party->peer_id, self->party->token, &update,
                                        self->publish_cancellable, publish_cb,
                                        g_object_ref (self));
}

/* Call-me-maybe to one peer: this machine's candidates, sealed for the peer, so it probes
 * them at once (and neither the control server nor the relay, which only pass the packet
 * on, can change them). Through the relay (when one is bound) and through the control
 * server's signal channel, each sealed on its own: whichever comes first counts, and the
 * other is harmless. Best effort: the PATCH above carries the same addresses for a peer that
 * neither reaches yet. */
static void
call_me_maybe (LrdSession  *self,
               LrdPeerLink *link)
{
  g_auto(GStrv) endpoints = NULL;
  g_autoptr(GError) error = NULL;
  const LrKey *key = lrd_peer_link_get_disco_key (link);
  LrDiscoMessage message = { .type = LR_DISCO_CALL_ME_MAYBE };
  guint8 packet[LR_DISCO_MAX_SIZE];
  gsize length;

  if (self->disco == NULL || key == NULL)
    return;
  endpoints = lrd_nat_watch_dup_candidates (self->nat_watch);
  for (guint i = 0; endpoints[i] != NULL && message.n_candidates < LR_DISCO_MAX_CANDIDATES; i++)
    if (lr_stun_address_parse (&message.candidates[message.n_candidates], endpoints[i]))
      message.n_candidates++;
  if (message.n_candidates == 0)
    return;

  if (!lrd_disco_router_send (self->disco, key, &message, NULL, &error))
    g_debug ("No call-me-maybe to %s through the relay: %s", lrd_peer_link_get_id (link),
             error->message);
  g_clear_error (&error);

  length = lrd_disco_router_seal (self->disco, key, &message, packet, sizeof packet);
  if (self->events != NULL && length > 0)
    {
      g_autoptr(JsonNode) data = lr_disco_signal_build (packet, length);

      if (!lrd_party_events_send_signal (self->events, lrd_peer_link_get_id (link), data,
                                         &error))
        g_debug ("No call-me-maybe to %s: %s", lrd_peer_link_get_id (link), error->message);
    }
}

static void
call_me_maybe_all (LrdSession *self)
{
  g_autoptr(GPtrArray) links = lrd_peer_table_dup_links (self->peers);

  for (guint i = 0; i < links->len; i++)
    call_me_maybe (self, links->pdata[i]);
}

static void
nat_changed_cb (LrdNatWatch *watch,
                gpointer     user_data)
{
  LrdSession *self = user_data;

  publish_candidates (self);
  call_me_maybe_all (self);
}

static void
network_changed_cb (LrdNatWatch *watch,
                    gpointer     user_data)
{
  LrdSession *self = user_data;

  lrd_peer_table_network_changed (self->peers);
}

/**
 * lrd_session_new:
 * @iface: the exported io.lanrage.Helper1 skeleton; the session owns its properties but the
 *   relay ones (LrdRelayFeed's)
 * @manager: the object manager the peer objects (LrdPeerLink) are exported through
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
  self->client = g_object_ref (client);
  self->backend = backend != NULL ? g_object_ref (backend) : NULL;
  self->keys = *keys;
  self->state_dir = g_strdup (state_dir);
  self->listen_port = listen_port;

  reset_properties (self);
  self->state = LRD_STATE_IDLE;
  lrd_helper1_set_state (iface, self->state);
  lrd_helper1_set_last_error (iface, "");
  lrd_helper1_set_backend (iface, backend != NULL ? lrd_wg_backend_get_name (backend) : "none");
  if (backend != NULL)
    self->relay = lrd_relay_client_new (NULL, listen_port);
  self->relay_feed = lrd_relay_feed_new (client, self->relay, iface);
  g_signal_connect (self->relay_feed, "gone", G_CALLBACK (relay_feed_gone_cb), self);
  self->peers = lrd_peer_table_new (manager, backend, self->relay, NULL);
  self->nat_watch = lrd_nat_watch_new (iface, self->relay, listen_port, NULL);
  g_signal_connect (self->nat_watch, "changed", G_CALLBACK (nat_changed_cb), self);
  g_signal_connect (self->nat_watch, "network-changed", G_CALLBACK (network_changed_cb), self);
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
 * lrd_session_set_lan_discovery:
 *
 * Gives the session the LAN bridge's owner, started and stopped with the data plane.
 */
void
lrd_session_set_lan_discovery (LrdSession      *self,
                               LrdLanDiscovery *lan)
{
  g_return_if_fail (LRD_IS_SESSION (self));

  g_set_object (&self->lan, lan);
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

  lrd_relay_feed_set_config_relays (self->relay_feed, relays);
}

/* @state: one of the LRD_STATE_ strings (static) */
static void
set_state (LrdSession *self,
           const char *state)
{
  if (g_strcmp0 (self->state, state) != 0)
    g_info ("State: %s → %s", self->state, state);
  self->state = state;
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

/* WireGuard, when there is a backend. Peers are configured by their LrdPeerLink; the
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

/* A peer as the server describes it: checked, then shown through its LrdPeerLink (or, for
 * this machine, as its own address). */
static void
upsert_peer (LrdSession   *self,
             const LrPeer *peer)
{
  LrKey key;

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

  if (!lr_key_from_base64 (peer->wg_public_key, &key))
    return;
  lrd_peer_table_upsert (self->peers, peer, &key);
  lr_key_clear (&key);
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

/* A complete list of the party's peers (the snapshot, or a refresh): afterwards the
 * exported objects are exactly the other members. */
static void
apply_peer_list (LrdSession *self,
                 GPtrArray  *peers)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean self_present = FALSE;

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

  lrd_peer_table_keep_only (self->peers, seen);
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
handle_event (LrdSession    *self,
              const LrEvent *event)
{
  LrdPeerLink *link;

  switch (event->type)
    {
    case LR_EVENT_SNAPSHOT:
      apply_snapshot (self, event->snapshot);
      call_me_maybe_all (self);
      break;

    case LR_EVENT_PEER_JOINED:
    case LR_EVENT_PEER_UPDATED:
    case LR_EVENT_PEER_OFFLINE:
      upsert_peer (self, event->peer);
      if (event->type != LR_EVENT_PEER_OFFLINE &&
          (link = lrd_peer_table_lookup (self->peers, event->peer->id)) != NULL)
        call_me_maybe (self, link);
      break;

    case LR_EVENT_PEER_LEFT:
      if (g_strcmp0 (event->peer->id, self->party->peer_id) == 0)
        lose_party (self, "This computer was removed from the party.");
      else
        lrd_peer_table_remove (self->peers, event->peer->id);
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
      {
        g_autoptr(GBytes) packet = lr_disco_signal_parse (event->data, NULL);

        /* The disco router finds the sender by its key and drops what does not open. */
        if (packet != NULL && self->disco != NULL)
          lrd_disco_router_deliver (self->disco, g_bytes_get_data (packet, NULL),
                                    g_bytes_get_size (packet));
      }
      break;

    case LR_EVENT_UNKNOWN:
    default:
      /* Unknown types come from a newer server. */
      break;
    }
}

static void
events_event_cb (LrdPartyEvents *events,
                 gpointer        event,
                 gpointer        user_data)
{
  LrdSession *self = user_data;

  if (self->party != NULL)
    handle_event (self, event);
}

static void
events_gone_cb (LrdPartyEvents *events,
                gpointer        user_data)
{
  lose_party (user_data, PARTY_GONE_REASON);
}

static void
stop_party_activity (LrdSession *self)
{
  if (self->events == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->events, self);
  g_clear_object (&self->events);
}

static void
start_party_activity (LrdSession *self)
{
  stop_party_activity (self);
  self->events = lrd_party_events_new (self->client, self->party->party_id,
                                       self->party->peer_id, self->party->token,
                                       self->heartbeat_interval_ms);
  g_signal_connect (self->events, "event", G_CALLBACK (events_event_cb), self);
  g_signal_connect (self->events, "gone", G_CALLBACK (events_gone_cb), self);
}

/* LAN discovery rides the data plane: bridged while WireGuard is up with our address. */
static void
start_lan_discovery (LrdSession *self)
{
  if (self->lan != NULL)
    lrd_lan_discovery_start (self->lan, self->party->virtual_ip, self->peers);
}

static void
stop_lan_discovery (LrdSession *self)
{
  if (self->lan != NULL)
    lrd_lan_discovery_stop (self->lan);
}

/* The data plane's party-long activity, once WireGuard is up: relay candidates and the
 * relay token (from the join answer when there is one), the first BIND. */
static void
start_data_plane (LrdSession         *self,
                  const LrJoinAnswer *answer)
{
  LrdSharedPort *port;

  if (self->backend == NULL)
    return;
  lrd_relay_feed_start (self->relay_feed, self->party->party_id, self->party->token,
                        answer != NULL ? (const char * const *) answer->relays : NULL,
                        answer != NULL ? answer->relay_token : NULL,
                        answer != NULL ? answer->relay_token_expires_at : 0);
  start_lan_discovery (self);
  lrd_nat_watch_start (self->nat_watch);
  /* Disco through the relay always; from WireGuard's port where the shared port opened. */
  port = lrd_nat_watch_get_port (self->nat_watch);
  self->disco = lrd_disco_router_new (port, self->relay, &self->keys.disco_public,
                                      &self->keys.disco_private, NULL);
  lrd_peer_table_set_disco (self->peers, self->disco);
  publish_candidates (self);
}

static void
stop_data_plane (LrdSession *self)
{
  stop_lan_discovery (self);
  if (self->publish_cancellable != NULL)
    g_cancellable_cancel (self->publish_cancellable);
  g_clear_object (&self->publish_cancellable);
  self->publish_again = FALSE;
  lrd_relay_feed_stop (self->relay_feed);
  lrd_peer_table_clear (self->peers);
  lrd_peer_table_set_disco (self->peers, NULL);
  g_clear_object (&self->disco);
  lrd_nat_watch_stop (self->nat_watch);
}

/* Drops the party here (its activity, peers, saved file and properties) and shows
 * @last_error; WireGuard and the server are the caller's to deal with. */
static void
clear_party (LrdSession *self,
             const char *last_error)
{
  stop_party_activity (self);
  stop_data_plane (self);
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
  /* The server's answer, kept from the request until WireGuard is up: its relay token and
   * relays start the data plane. */
  LrJoinAnswer *answer;
} JoinData;

static void
join_data_free (JoinData *data)
{
  g_free (data->peer_name);
  g_clear_object (&data->cancellable);
  g_clear_pointer (&data->answer, lr_join_answer_free);
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
  JoinData *data = g_task_get_task_data (task);

  end_join (self, task);
  set_state (self, LRD_STATE_CONNECTED);
  start_party_activity (self);
  start_data_plane (self, data->answer);
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
  data->answer = g_steal_pointer (&answer);

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
  start_data_plane (self, NULL);
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
  if (self->events != NULL)
    lrd_party_events_reconnect_now (self->events);
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

  g_return_val_if_fail (LRD_IS_SESSION (self), NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  add_properties (&builder, G_DBUS_INTERFACE (self->iface));

  g_variant_builder_init (&peers, G_VARIANT_TYPE ("aa{sv}"));
  lrd_peer_table_add_status (self->peers, &peers);
  g_variant_builder_add (&builder, "{sv}", "Peers", g_variant_builder_end (&peers));

  return g_variant_ref_sink (g_variant_builder_end (&builder));
}
