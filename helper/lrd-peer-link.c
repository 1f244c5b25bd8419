/* lrd-peer-link.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-peer-link.h"
#include "lrd-session.h"

#include "lr-id.h"
#include "lr-link-quality.h"
#include "lr-nat-type.h"

#include <string.h>

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
  LrAddr                    endpoint;     /* the relay client's loopback socket for the peer */
  gint64                    last_handshake;

  /* Disco: the relayed path's measure with a data plane, the direct path with a shared port
   * too. */
  LrdDiscoRouter           *disco;
  gboolean                  has_disco_key;
  LrKey                     disco_key;
  gboolean                  disco_added;  /* the router knows the peer */
  LrPathPolicy             *policy;
  GSource                  *wake;
  GStrv                     endpoints;    /* the peer's candidates as the server lists them */
  guint                     n_called;     /* ... and as its last call-me-maybe said */
  LrStunAddress             called[LR_DISCO_MAX_CANDIDATES];
  LrAddr                    direct;       /* WireGuard's endpoint while direct */
};

G_DEFINE_FINAL_TYPE (LrdPeerLink, lrd_peer_link, G_TYPE_OBJECT)

static void stop_policy (LrdPeerLink *self,
                         gboolean     restore_relay);

static void
lrd_peer_link_dispose (GObject *object)
{
  LrdPeerLink *self = LRD_PEER_LINK (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  /* The link goes with its WireGuard peer (removed, or the interface going down): no
   * endpoint to set back. */
  stop_policy (self, FALSE);
  g_clear_object (&self->disco);
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
  g_strfreev (self->endpoints);
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
  lrd_helper1_peer_set_quality_score (self->peer, -1);
  lrd_helper1_peer_set_path_history (self->peer,
                                     g_variant_new_array (G_VARIANT_TYPE ("(xssss)"), NULL, 0));
  return self;
}

/* The path */

/* The relay client's loopback socket for the peer, opened the first time. */
static LrAddr
relay_endpoint (LrdPeerLink *self)
{
  g_autoptr(GError) error = NULL;

  if (!lr_addr_is_set (&self->endpoint) &&
      !lrd_relay_client_add_peer (self->relay, self->number, &self->endpoint, &error))
    g_warning ("No relay socket for peer %s: %s", self->id, error->message);
  return self->endpoint;
}

/* Where WireGuard sends this peer's packets: the peer's own address while the path policy
 * has a direct path, the relay client's loopback socket for the peer otherwise. */
static LrAddr
choose_endpoint (LrdPeerLink *self)
{
  LrAddr relay = relay_endpoint (self);

  if (lr_addr_is_set (&self->direct))
    return self->direct;
  return relay;
}

static GVariant *
history_variant (LrdPeerLink *self)
{
  g_autoptr(GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("a(xssss)"));
  const LrPathTransition *history;
  gint64 now_us = lr_clock_now_us (self->clock);
  gint64 real_us = g_get_real_time ();
  guint n = 0;

  history = self->policy != NULL ? lr_path_policy_get_history (self->policy, &n) : NULL;
  for (guint i = 0; i < n; i++)
    {
      const LrPathTransition *t = &history[i];
      g_autofree char *endpoint = t->to == LR_PATH_DIRECT
                                    ? lr_stun_address_to_string (&t->address) : g_strdup ("");

      /* The policy's clock is monotonic; D-Bus readers want wall-clock time. */
      g_variant_builder_add (builder, "(xssss)", real_us - (now_us - t->time_us),
                             lr_path_state_to_string (t->from), lr_path_state_to_string (t->to),
                             endpoint, t->reason);
    }
  return g_variant_builder_end (builder);
}

/**
 * lrd_peer_link_refresh:
 *
 * Shows the path again from what the path policy, the relay client and WireGuard report:
 * called when the relay client's state or this peer's measures change, and after the path
 * policy acted.
 */
void
lrd_peer_link_refresh (LrdPeerLink *self)
{
  const LrLinkQuality *quality;
  gboolean bound, handshake_fresh, relayed, direct;
  double latency, jitter, loss;
  gint64 now_s;
  LrPathMetrics metrics = { 0 };
  g_autofree char *endpoint = NULL;

  g_return_if_fail (LRD_IS_PEER_LINK (self));

  if (self->relay == NULL)
    return;

  bound = lrd_relay_client_get_state (self->relay) == LRD_RELAY_CLIENT_BOUND;
  quality = self->disco_added ? lrd_disco_router_get_relay_quality (self->disco,
                                                                    &self->disco_key) : NULL;
  latency = quality != NULL ? quality->latency_ms : -1;
  jitter = quality != NULL ? quality->jitter_ms : -1;
  loss = latency >= 0 ? quality->loss_percent : -1;
  if (self->policy != NULL && latency >= 0)
    lr_path_policy_set_relay_metrics (self->policy, latency, loss);

  now_s = lr_clock_now_us (self->clock) / G_USEC_PER_SEC;
  handshake_fresh = self->last_handshake > 0 &&
                    now_s - self->last_handshake < HANDSHAKE_FRESH_S;
  relayed = bound && (latency >= 0 || handshake_fresh);
  direct = self->policy != NULL && lr_path_policy_get_state (self->policy) == LR_PATH_DIRECT;
  if (self->policy != NULL)
    lr_path_policy_get_metrics (self->policy, &metrics);
  if (direct)
    {
      LrStunAddress address;

      if (lr_path_policy_get_endpoint (self->policy, &address))
        endpoint = lr_stun_address_to_string (&address);
      if (metrics.latency_ms > 0)
        {
          latency = metrics.latency_ms;
          jitter = metrics.jitter_ms;
          loss = metrics.loss_percent;
        }
    }

  lrd_helper1_peer_set_path (self->peer, direct ? "direct" : relayed ? "relayed" : "connecting");
  lrd_helper1_peer_set_endpoint (self->peer, endpoint != NULL ? endpoint : "");
  lrd_helper1_peer_set_relay (self->peer,
                              bound && !direct ? lrd_relay_client_get_relay (self->relay) : "");
  lrd_helper1_peer_set_latency_ms (self->peer, latency);
  lrd_helper1_peer_set_jitter_ms (self->peer, jitter);
  lrd_helper1_peer_set_loss_percent (self->peer, loss);
  lrd_helper1_peer_set_quality (self->peer, lr_link_quality_name (latency, loss));
  lrd_helper1_peer_set_quality_score (self->peer,
                                      latency >= 0 ? (gint) lr_path_quality_score (
                                        latency, MAX (jitter, 0), MAX (loss, 0)) : -1);
  lrd_helper1_peer_set_direct_attempts (self->peer, metrics.n_probe_rounds);
  lrd_helper1_peer_set_fallbacks (self->peer, metrics.n_fallbacks);
  if (self->policy != NULL)
    lrd_helper1_peer_set_path_history (self->peer, history_variant (self));
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
  /* Before the change reaches WireGuard: a packet of the peer's the relay brings meanwhile
   * moves WireGuard back to the relay, and must be reported. */
  if (self->relay != NULL)
    lrd_relay_client_set_peer_direct (self->relay, self->number,
                                      lr_addr_is_set (&self->direct));
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

/* The path policy */

static void drive            (LrdPeerLink *self);
static void give_candidates  (LrdPeerLink *self);

static gboolean
wake_cb (gpointer user_data)
{
  LrdPeerLink *self = user_data;

  g_clear_pointer (&self->wake, g_source_unref);
  drive (self);
  return G_SOURCE_REMOVE;
}

static void
send_ping (LrdPeerLink        *self,
           const LrPathAction *action)
{
  LrDiscoMessage ping = { .type = LR_DISCO_PING };
  g_autoptr(GError) error = NULL;

  memcpy (ping.transaction_id, action->transaction_id, LR_DISCO_TRANSACTION_SIZE);
  /* A candidate may be unroutable from here (another LAN's address): a lost ping. */
  if (!lrd_disco_router_send (self->disco, &self->disco_key, &ping, &action->address, &error))
    g_debug ("Disco ping to peer %s: %s", self->id, error->message);
}

/* Carries out what the policy says, then sleeps until its next wake-up. */
static void
drive (LrdPeerLink *self)
{
  LrPathAction action;
  gboolean reconfigure = FALSE;
  gint64 wake_us;

  if (self->policy == NULL)
    return;

  while (lr_path_policy_next (self->policy, &action))
    {
      g_autofree char *text = NULL;

      switch (action.type)
        {
        case LR_PATH_ACTION_PING:
          send_ping (self, &action);
          break;
        case LR_PATH_ACTION_USE_DIRECT:
          {
            struct sockaddr_storage storage;
            gsize length = lr_stun_address_to_sockaddr (&action.address, &storage,
                                                        sizeof storage);

            text = lr_stun_address_to_string (&action.address);
            if (length == 0 || !lr_addr_from_sockaddr (&self->direct, &storage, length))
              break;
            g_info ("Peer %s: direct to %s", self->id, text);
            reconfigure = TRUE;
          }
          break;
        case LR_PATH_ACTION_USE_RELAY:
        default:
          if (lr_addr_is_set (&self->direct))
            {
              g_info ("Peer %s: through the relay", self->id);
              memset (&self->direct, 0, sizeof self->direct);
              reconfigure = TRUE;
            }
          break;
        }
    }
  if (reconfigure && self->has_key && self->backend != NULL)
    configure_wireguard (self);
  lrd_peer_link_refresh (self);

  if (self->wake != NULL)
    g_source_destroy (self->wake);
  g_clear_pointer (&self->wake, g_source_unref);
  wake_us = lr_path_policy_get_wake_us (self->policy);
  if (wake_us == G_MAXINT64)
    return;
  self->wake = g_timeout_source_new ((guint) CLAMP ((wake_us - lr_clock_now_us (self->clock) +
                                                     999) / 1000, 1, 60000));
  g_source_set_callback (self->wake, wake_cb, self, NULL);
  g_source_attach (self->wake, NULL);
}

static void
disco_cb (const LrDiscoMessage *message,
          const LrStunAddress  *from,
          gpointer              user_data)
{
  LrdPeerLink *self = user_data;

  /* Through the relay: the router measured the relayed path (a pong came back, or a ping
   * went unanswered); the pings it answered itself. */
  if (message == NULL || (from == NULL && message->type == LR_DISCO_PONG))
    {
      lrd_peer_link_refresh (self);
      return;
    }
  if (self->policy == NULL)
    return;
  if (message->type == LR_DISCO_CALL_ME_MAYBE)
    {
      self->n_called = MIN (message->n_candidates, G_N_ELEMENTS (self->called));
      memcpy (self->called, message->candidates, self->n_called * sizeof self->called[0]);
      give_candidates (self);
      return;
    }
  if (from == NULL)
    return;
  if (message->type == LR_DISCO_PING)
    lr_path_policy_ping_received (self->policy, from);
  else if (message->type == LR_DISCO_PONG)
    lr_path_policy_pong_received (self->policy, message->transaction_id, from);
  else
    return;
  drive (self);
}

/* A LAN candidate is an address that only means something behind the peer's NAT: the
 * private ranges (RFC 1918, RFC 6598's shared space, RFC 4193's unique local IPv6). */
static LrPathCandidateKind
candidate_kind (const LrStunAddress *address)
{
  const guint8 *a = address->address;

  if (address->family == LR_STUN_FAMILY_IPV4)
    {
      if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
          (a[0] == 100 && (a[1] & 0xc0) == 64))
        return LR_PATH_CANDIDATE_LAN;
      return LR_PATH_CANDIDATE_PUBLIC;
    }
  return (a[0] & 0xfe) == 0xfc ? LR_PATH_CANDIDATE_LAN : LR_PATH_CANDIDATE_PUBLIC;
}

static gboolean
add_candidate (LrPathCandidate     *candidates,
               guint               *n,
               const LrStunAddress *address)
{
  if (*n >= LR_PATH_MAX_CANDIDATES || address->port == 0)
    return FALSE;
  for (guint i = 0; i < *n; i++)
    if (lr_stun_address_equal (&candidates[i].address, address))
      return FALSE;
  candidates[*n].address = *address;
  candidates[*n].kind = candidate_kind (address);
  (*n)++;
  return TRUE;
}

/* The peer's call-me-maybe first (the peer's own word, sealed), then what the control
 * server lists for it. */
static void
give_candidates (LrdPeerLink *self)
{
  LrPathCandidate candidates[LR_PATH_MAX_CANDIDATES];
  guint n = 0;

  for (guint i = 0; i < self->n_called; i++)
    add_candidate (candidates, &n, &self->called[i]);
  for (guint i = 0; self->endpoints != NULL && self->endpoints[i] != NULL; i++)
    {
      LrStunAddress address;

      if (lr_stun_address_parse (&address, self->endpoints[i]))
        add_candidate (candidates, &n, &address);
    }
  lr_path_policy_set_candidates (self->policy, candidates, n);
  drive (self);
}

/* Starts disco once there is a way to send it (the router) and a key to seal it with (the
 * peer's, from the server): the relayed path's measure at once, the direct path where the
 * router can send from WireGuard's port. */
static void
start_policy (LrdPeerLink *self)
{
  if (self->disco == NULL || !self->has_disco_key || self->backend == NULL)
    return;
  if (!self->disco_added)
    {
      if (!lrd_disco_router_add_peer (self->disco, &self->disco_key, self->number, disco_cb,
                                      self))
        {
          g_info ("Peer %s has a disco key that is not one: relayed and unmeasured",
                  self->id);
          return;
        }
      self->disco_added = TRUE;
    }
  if (self->policy != NULL || !lrd_disco_router_has_direct (self->disco))
    return;
  self->policy = lr_path_policy_new (self->clock);
  give_candidates (self);
}

/* @restore_relay: point WireGuard back at the relay if the path was direct */
static void
stop_policy (LrdPeerLink *self,
             gboolean     restore_relay)
{
  if (self->disco_added)
    lrd_disco_router_remove_peer (self->disco, &self->disco_key);
  self->disco_added = FALSE;
  if (self->policy == NULL)
    return;
  if (self->wake != NULL)
    g_source_destroy (self->wake);
  g_clear_pointer (&self->wake, g_source_unref);
  g_clear_pointer (&self->policy, lr_path_policy_free);
  if (lr_addr_is_set (&self->direct))
    {
      memset (&self->direct, 0, sizeof self->direct);
      if (restore_relay && self->has_key && self->backend != NULL)
        configure_wireguard (self);
    }
}

/**
 * lrd_peer_link_set_disco:
 * @disco: (nullable): the helper's disco router, %NULL when the data plane goes
 *
 * With a router (and the peer's disco key) the relayed path is measured with disco pings
 * through the relay; where the router has the shared port too, the link runs its path
 * policy: probes the peer's candidates and goes direct where a pong comes back. Otherwise
 * it stays relayed.
 */
void
lrd_peer_link_set_disco (LrdPeerLink    *self,
                         LrdDiscoRouter *disco)
{
  g_return_if_fail (LRD_IS_PEER_LINK (self));

  if (self->disco == disco)
    return;
  stop_policy (self, TRUE);
  g_clear_object (&self->disco);
  self->disco = disco != NULL ? g_object_ref (disco) : NULL;
  start_policy (self);
}

/* The network changed: probe the peer's candidates again at once. */
void
lrd_peer_link_network_changed (LrdPeerLink *self)
{
  g_return_if_fail (LRD_IS_PEER_LINK (self));

  if (self->policy == NULL)
    return;
  lr_path_policy_network_changed (self->policy);
  drive (self);
}

/* Either may be %NULL (no endpoints listed). */
static gboolean
endpoints_equal (char **a,
                 char **b)
{
  if (a == NULL || b == NULL)
    return (a == NULL || a[0] == NULL) && (b == NULL || b[0] == NULL);
  return g_strv_equal ((const char * const *) a, (const char * const *) b);
}

static void
update_direct (LrdPeerLink  *self,
               const LrPeer *peer)
{
  LrKey disco_key;
  gboolean has_disco_key = peer->disco_public_key != NULL &&
                           lr_key_from_base64 (peer->disco_public_key, &disco_key);

  if (has_disco_key != self->has_disco_key ||
      (has_disco_key && !lr_key_equal (&disco_key, &self->disco_key)))
    {
      /* A new disco key is a new peer for disco: a fresh replay window. */
      stop_policy (self, TRUE);
      self->n_called = 0;
      self->has_disco_key = has_disco_key;
      if (has_disco_key)
        self->disco_key = disco_key;
    }

  if (!endpoints_equal (peer->endpoints, self->endpoints))
    {
      g_strfreev (self->endpoints);
      self->endpoints = g_strdupv (peer->endpoints);
      if (self->policy != NULL)
        give_candidates (self);
    }
  start_policy (self);
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
  lrd_helper1_peer_set_nat_type (self->peer,
                                 lr_nat_type_to_string (lr_nat_type_classify (peer->nat.mapping,
                                                                              peer->nat.filtering,
                                                                              TRUE)));

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
  if (self->backend != NULL)
    update_direct (self, peer);
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

  /* WireGuard roams: it sends to wherever the peer's last packet came from. While one side
   * is already direct and the other still relayed, that is the relay's loopback socket, and
   * a path shown as direct would quietly stay relayed (or the reverse). The endpoint the
   * path policy chose is set again. A roam back to the relay while direct is reported by
   * the relay client as it happens (lrd_peer_link_wireguard_roamed()); this catches the
   * others. */
  if (self->backend != NULL && self->has_key && lr_addr_is_set (&stats->endpoint))
    {
      LrAddr chosen = choose_endpoint (self);

      if (lr_addr_is_set (&chosen) && !lr_addr_equal (&chosen, &stats->endpoint))
        {
          char was[LR_ADDR_STRING_SIZE], want[LR_ADDR_STRING_SIZE];

          lr_addr_format (&stats->endpoint, was);
          lr_addr_format (&chosen, want);
          g_info ("Peer %s: WireGuard roamed to %s; back to %s", self->id, was, want);
          configure_wireguard (self);
        }
    }
  lrd_peer_link_refresh (self);
}

/**
 * lrd_peer_link_wireguard_roamed:
 *
 * WireGuard sent this peer's datagram through the relay while the path is direct: the
 * peer's packets still come through the relay (it is not direct yet, or lost the direct
 * path), and WireGuard followed them. Sets the direct endpoint again, so this side keeps
 * sending direct, which is what moves the peer's WireGuard to the direct path too.
 */
void
lrd_peer_link_wireguard_roamed (LrdPeerLink *self)
{
  g_return_if_fail (LRD_IS_PEER_LINK (self));

  if (self->backend != NULL && self->has_key && lr_addr_is_set (&self->direct))
    {
      g_debug ("Peer %s: WireGuard roamed back to the relay; direct again", self->id);
      configure_wireguard (self);
    }
}

/* Returns: (nullable): the peer's disco key while the disco router knows the peer */
const LrKey *
lrd_peer_link_get_disco_key (LrdPeerLink *self)
{
  g_return_val_if_fail (LRD_IS_PEER_LINK (self), NULL);
  return self->disco_added ? &self->disco_key : NULL;
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
