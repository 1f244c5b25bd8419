/* lrd-disco-router.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-disco-router.h"

#include "lr-bytes.h"
#include "lr-error.h"

#include <string.h>

/* The relayed path is measured with one disco ping every two seconds per peer (each answer
 * costs the relay two small datagrams); lr-link-quality.h makes latency, jitter and loss of
 * them and counts a ping unanswered after two seconds as lost. The timer runs this often to
 * send them on time and to age the unanswered ones. */
#define RELAY_PING_INTERVAL_US (2 * G_USEC_PER_SEC)
#define RELAY_TICK_MS 250

typedef struct
{
  LrKey             public_key;
  guint64           relay_id;      /* the relay's id of the peer */
  LrDiscoSharedKey  shared;
  LrDiscoReplay     replay;
  LrdDiscoHandler   handler;
  gpointer          user_data;
  /* The relayed path: pings through the relay and what their pongs measured. */
  LrLinkQuality     relay_quality;
  guint32           next_ping_id;
  gint64            next_ping_us;
} Peer;

struct _LrdDiscoRouter
{
  GObject         parent_instance;

  LrClock        *clock;
  LrdSharedPort  *port;           /* nullable: no direct path without the raw sockets */
  gulong          port_handler;
  LrdRelayClient *relay;          /* nullable: no relayed path without a data plane */
  gulong          relay_handler;
  GSource        *tick;
  LrKey           own_public;
  LrKey           own_secret;
  guint64         counter;
  GHashTable     *peers;          /* LrKey * (the peer's) -> Peer */
  GHashTable     *by_relay_id;    /* guint64 * -> Peer (the same) */
};

G_DEFINE_FINAL_TYPE (LrdDiscoRouter, lrd_disco_router, G_TYPE_OBJECT)

static void
peer_free (gpointer data)
{
  Peer *peer = data;

  lr_disco_shared_key_clear (&peer->shared);
  lr_link_quality_clear (&peer->relay_quality);
  g_free (peer);
}

static guint
key_hash (gconstpointer key)
{
  const LrKey *k = key;
  guint hash;

  /* Keys are random: their first bytes are a hash already. */
  memcpy (&hash, k->bytes, sizeof hash);
  return hash;
}

static gboolean
key_equal (gconstpointer a,
           gconstpointer b)
{
  return lr_key_equal (a, b);
}

static void
lrd_disco_router_dispose (GObject *object)
{
  LrdDiscoRouter *self = LRD_DISCO_ROUTER (object);

  if (self->port != NULL)
    g_clear_signal_handler (&self->port_handler, self->port);
  g_clear_object (&self->port);
  if (self->relay != NULL)
    g_clear_signal_handler (&self->relay_handler, self->relay);
  g_clear_object (&self->relay);
  if (self->tick != NULL)
    g_source_destroy (self->tick);
  g_clear_pointer (&self->tick, g_source_unref);
  g_clear_pointer (&self->by_relay_id, g_hash_table_unref);
  g_clear_pointer (&self->peers, g_hash_table_unref);

  G_OBJECT_CLASS (lrd_disco_router_parent_class)->dispose (object);
}

static void
lrd_disco_router_finalize (GObject *object)
{
  LrdDiscoRouter *self = LRD_DISCO_ROUTER (object);

  lr_key_clear (&self->own_secret);
  g_clear_pointer (&self->clock, lr_clock_unref);

  G_OBJECT_CLASS (lrd_disco_router_parent_class)->finalize (object);
}

static void
lrd_disco_router_class_init (LrdDiscoRouterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_disco_router_dispose;
  object_class->finalize = lrd_disco_router_finalize;
}

static void
lrd_disco_router_init (LrdDiscoRouter *self)
{
  /* lr-disco.h: the counter starts at the wall clock in µs, so it keeps rising across
   * restarts without being stored. */
  self->counter = (guint64) g_get_real_time ();
  self->peers = g_hash_table_new_full (key_hash, key_equal, NULL, peer_free);
  self->by_relay_id = g_hash_table_new (g_int64_hash, g_int64_equal);
}

static gsize
seal (LrdDiscoRouter       *self,
      Peer                 *peer,
      const LrDiscoMessage *message,
      guint8               *packet,
      gsize                 size)
{
  guint8 nonce[LR_DISCO_NONCE_SIZE];

  lr_disco_nonce_make (self->counter++, nonce);
  return lr_disco_seal_shared (message, self->own_public.bytes, &peer->shared, nonce, packet,
                               size);
}

/* @to: %NULL for through the relay */
static gboolean
send_to_peer (LrdDiscoRouter       *self,
              Peer                 *peer,
              const LrDiscoMessage *message,
              const LrStunAddress  *to,
              GError              **error)
{
  guint8 packet[LR_DISCO_MAX_SIZE];
  gsize length = seal (self, peer, message, packet, sizeof packet);

  if (length == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "Cannot seal a disco message");
      return FALSE;
    }
  if (to == NULL)
    return lrd_relay_client_send_disco (self->relay, peer->relay_id, packet, length, error);
  if (self->port == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "No shared port for direct disco");
      return FALSE;
    }
  return lrd_shared_port_send (self->port, to, packet, length, error);
}

/* Finds the sender of @data and opens it with that peer's key and replay window. */
static Peer *
open_packet (LrdDiscoRouter *self,
             const guint8   *data,
             gsize           length,
             LrDiscoMessage *message)
{
  LrKey sender;
  Peer *peer;

  if (!lr_disco_peek_sender (data, length, sender.bytes))
    return NULL;
  peer = g_hash_table_lookup (self->peers, &sender);
  if (peer == NULL ||
      !lr_disco_open_shared (message, data, length, sender.bytes, &peer->shared, &peer->replay,
                             NULL))
    return NULL;
  return peer;
}

static void
disco_received_cb (LrdSharedPort       *port,
                   const guint8        *data,
                   guint                length,
                   const LrStunAddress *from,
                   gpointer             user_data)
{
  LrdDiscoRouter *self = user_data;
  LrDiscoMessage message;
  Peer *peer = open_packet (self, data, length, &message);

  /* Call-me-maybe comes through the signal channel or the relay, never to the port. */
  if (peer == NULL || message.type == LR_DISCO_CALL_ME_MAYBE)
    return;

  if (message.type == LR_DISCO_PING)
    {
      LrDiscoMessage pong = { .type = LR_DISCO_PONG, .observed = *from };
      g_autoptr(GError) error = NULL;

      memcpy (pong.transaction_id, message.transaction_id, LR_DISCO_TRANSACTION_SIZE);
      if (!send_to_peer (self, peer, &pong, from, &error))
        g_debug ("Cannot answer a disco ping: %s", error->message);
    }
  peer->handler (&message, from, peer->user_data);
}

/* The relayed path */

/* A relayed ping's transaction id: the ping's number in the window of lr-link-quality.h
 * (4 bytes) and its send time on the router's clock (8 bytes), both back in the pong. */
static void
relay_ping (LrdDiscoRouter *self,
            Peer           *peer)
{
  LrDiscoMessage ping = { .type = LR_DISCO_PING };
  guint32 id = peer->next_ping_id++;
  g_autoptr(GError) error = NULL;

  lr_bytes_write_be32 (ping.transaction_id, id);
  lr_bytes_write_be64 (ping.transaction_id + 4, lr_link_quality_sent (&peer->relay_quality, id));
  if (!send_to_peer (self, peer, &ping, NULL, &error))
    g_debug ("No disco ping through the relay: %s", error->message);
}

static void
relay_pong (LrdDiscoRouter       *self,
            Peer                 *peer,
            const LrDiscoMessage *pong)
{
  guint32 id = lr_bytes_read_be32 (pong->transaction_id);
  gint64 sent_us = (gint64) lr_bytes_read_be64 (pong->transaction_id + 4);

  (void) lr_link_quality_answered (&peer->relay_quality, id, sent_us);
}

static gboolean
relay_tick_cb (gpointer user_data)
{
  LrdDiscoRouter *self = user_data;
  gint64 now_us = lr_clock_now_us (self->clock);
  gboolean bound = lrd_relay_client_get_state (self->relay) == LRD_RELAY_CLIENT_BOUND;
  g_autoptr(GArray) changed = g_array_new (FALSE, FALSE, sizeof (LrKey));
  GHashTableIter iter;
  Peer *peer;

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &peer))
    {
      if (bound && now_us >= peer->next_ping_us)
        {
          relay_ping (self, peer);
          peer->next_ping_us = now_us + RELAY_PING_INTERVAL_US;
        }
      if (lr_link_quality_update_loss (&peer->relay_quality))
        g_array_append_val (changed, peer->public_key);
    }
  /* Handlers run after the walk, so that none runs while the table is walked; each peer is
   * looked up again, as a handler may remove others. */
  for (guint i = 0; i < changed->len; i++)
    {
      peer = g_hash_table_lookup (self->peers, &g_array_index (changed, LrKey, i));
      if (peer != NULL)
        peer->handler (NULL, NULL, peer->user_data);
    }
  return G_SOURCE_CONTINUE;
}

/* A disco message that came through a relay from the peer the relay calls @relay_id: it
 * must open with that peer's key. A ping is answered the same way it came, a pong measures
 * the relayed path, and the handler hears of both (with @from %NULL) and of call-me-maybe. */
static void
relay_disco_received_cb (LrdRelayClient *relay,
                         guint64         relay_id,
                         gconstpointer   data,
                         guint           length,
                         gpointer        user_data)
{
  LrdDiscoRouter *self = user_data;
  LrDiscoMessage message;
  Peer *peer = g_hash_table_lookup (self->by_relay_id, &relay_id);

  if (peer == NULL ||
      !lr_disco_open_shared (&message, data, length, peer->public_key.bytes, &peer->shared,
                             &peer->replay, NULL))
    return;

  if (message.type == LR_DISCO_PING)
    {
      LrDiscoMessage pong = { .type = LR_DISCO_PONG };
      g_autoptr(GError) error = NULL;
      LrAddr relay_address;

      /* The ping came from the relay's address: that is what the pong says it saw. */
      if (!lrd_relay_client_get_relay_address (self->relay, &relay_address) ||
          !lr_stun_address_from_sockaddr (&pong.observed, &relay_address.u.sa,
                                          relay_address.length))
        return;
      memcpy (pong.transaction_id, message.transaction_id, LR_DISCO_TRANSACTION_SIZE);
      if (!send_to_peer (self, peer, &pong, NULL, &error))
        g_debug ("Cannot answer a disco ping through the relay: %s", error->message);
    }
  else if (message.type == LR_DISCO_PONG)
    relay_pong (self, peer, &message);
  peer->handler (&message, NULL, peer->user_data);
}

/**
 * lrd_disco_router_new:
 * @port: (nullable): WireGuard's shared port, for the direct path; %NULL where the raw
 *   sockets cannot be had (the router then carries disco through the relay only)
 * @relay: the relay client, for the relayed path
 * @own_public, @own_secret: this helper's disco key pair (lrd-state.c)
 * @clock: (nullable): %NULL for the system clock
 */
LrdDiscoRouter *
lrd_disco_router_new (LrdSharedPort  *port,
                      LrdRelayClient *relay,
                      const LrKey    *own_public,
                      const LrKey    *own_secret,
                      LrClock        *clock)
{
  LrdDiscoRouter *self;

  g_return_val_if_fail (port == NULL || LRD_IS_SHARED_PORT (port), NULL);
  g_return_val_if_fail (LRD_IS_RELAY_CLIENT (relay), NULL);

  self = g_object_new (LRD_TYPE_DISCO_ROUTER, NULL);
  self->clock = clock != NULL ? lr_clock_ref (clock) : lr_clock_new_system ();
  self->own_public = *own_public;
  self->own_secret = *own_secret;
  if (port != NULL)
    {
      self->port = g_object_ref (port);
      self->port_handler = g_signal_connect (port, "disco-received",
                                             G_CALLBACK (disco_received_cb), self);
    }
  self->relay = g_object_ref (relay);
  self->relay_handler = g_signal_connect (relay, "disco-received",
                                          G_CALLBACK (relay_disco_received_cb), self);
  self->tick = g_timeout_source_new (RELAY_TICK_MS);
  g_source_set_callback (self->tick, relay_tick_cb, self, NULL);
  g_source_attach (self->tick, NULL);
  return self;
}

/* Whether disco can go direct (from WireGuard's port), not only through the relay. */
gboolean
lrd_disco_router_has_direct (LrdDiscoRouter *self)
{
  g_return_val_if_fail (LRD_IS_DISCO_ROUTER (self), FALSE);
  return self->port != NULL;
}

/**
 * lrd_disco_router_add_peer:
 * @peer_public: the peer's disco key as the control server published it
 * @relay_id: the relay's id of the peer (its server id as a number, lr-id.h)
 * @handler: gets the peer's messages until lrd_disco_router_remove_peer()
 *
 * From now on the router also pings the peer through the relay every two seconds while the
 * relay client is bound (lrd_disco_router_get_relay_quality()).
 *
 * Returns: FALSE when the key is not one (a low-order point): the peer gets no disco.
 */
gboolean
lrd_disco_router_add_peer (LrdDiscoRouter  *self,
                           const LrKey     *peer_public,
                           guint64          relay_id,
                           LrdDiscoHandler  handler,
                           gpointer         user_data)
{
  Peer *peer;

  g_return_val_if_fail (LRD_IS_DISCO_ROUTER (self), FALSE);

  peer = g_new0 (Peer, 1);
  peer->public_key = *peer_public;
  peer->relay_id = relay_id;
  peer->handler = handler;
  peer->user_data = user_data;
  lr_link_quality_init (&peer->relay_quality, self->clock);
  peer->next_ping_id = g_random_int ();
  if (!lr_disco_shared_key_init (&peer->shared, peer_public->bytes, self->own_secret.bytes))
    {
      peer_free (peer);
      return FALSE;
    }
  lrd_disco_router_remove_peer (self, peer_public);
  g_hash_table_remove (self->by_relay_id, &relay_id);
  g_hash_table_insert (self->by_relay_id, &peer->relay_id, peer);
  g_hash_table_insert (self->peers, &peer->public_key, peer);
  return TRUE;
}

void
lrd_disco_router_remove_peer (LrdDiscoRouter *self,
                              const LrKey    *peer_public)
{
  Peer *peer;

  g_return_if_fail (LRD_IS_DISCO_ROUTER (self));

  peer = g_hash_table_lookup (self->peers, peer_public);
  if (peer == NULL)
    return;
  if (g_hash_table_lookup (self->by_relay_id, &peer->relay_id) == peer)
    g_hash_table_remove (self->by_relay_id, &peer->relay_id);
  g_hash_table_remove (self->peers, peer_public);
}

/**
 * lrd_disco_router_get_relay_quality:
 *
 * Returns: (nullable): latency, jitter and loss to the peer through the relay, measured
 *   with disco pings; %NULL for a peer not added
 */
const LrLinkQuality *
lrd_disco_router_get_relay_quality (LrdDiscoRouter *self,
                                    const LrKey    *peer_public)
{
  Peer *peer;

  g_return_val_if_fail (LRD_IS_DISCO_ROUTER (self), NULL);

  peer = g_hash_table_lookup (self->peers, peer_public);
  return peer != NULL ? &peer->relay_quality : NULL;
}

/**
 * lrd_disco_router_send:
 *
 * Seals @message for the peer and sends it from WireGuard's port to @to, or through the
 * relay when @to is %NULL.
 */
gboolean
lrd_disco_router_send (LrdDiscoRouter       *self,
                       const LrKey          *peer_public,
                       const LrDiscoMessage *message,
                       const LrStunAddress  *to,
                       GError              **error)
{
  Peer *peer;

  g_return_val_if_fail (LRD_IS_DISCO_ROUTER (self), FALSE);

  peer = g_hash_table_lookup (self->peers, peer_public);
  if (peer == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No such disco peer");
      return FALSE;
    }
  return send_to_peer (self, peer, message, to, error);
}

/**
 * lrd_disco_router_seal:
 * @out: at least LR_DISCO_MAX_SIZE bytes
 *
 * Seals @message for the peer, to send another way than from WireGuard's port (the control
 * server's signal channel). Returns: its length, 0 for an unknown peer.
 */
gsize
lrd_disco_router_seal (LrdDiscoRouter       *self,
                       const LrKey          *peer_public,
                       const LrDiscoMessage *message,
                       guint8               *out,
                       gsize                 size)
{
  Peer *peer;

  g_return_val_if_fail (LRD_IS_DISCO_ROUTER (self), 0);

  peer = g_hash_table_lookup (self->peers, peer_public);
  return peer != NULL ? seal (self, peer, message, out, size) : 0;
}

/**
 * lrd_disco_router_deliver:
 *
 * A disco packet that came another way than to WireGuard's port (a signal through the
 * control server): only call-me-maybe is taken this way (a ping or pong must travel the
 * path it tests). Returns: whether it opened and reached its peer's handler.
 */
gboolean
lrd_disco_router_deliver (LrdDiscoRouter *self,
                          const guint8   *data,
                          gsize           length)
{
  LrDiscoMessage message;
  Peer *peer;

  g_return_val_if_fail (LRD_IS_DISCO_ROUTER (self), FALSE);

  peer = open_packet (self, data, length, &message);
  if (peer == NULL || message.type != LR_DISCO_CALL_ME_MAYBE)
    return FALSE;
  peer->handler (&message, NULL, peer->user_data);
  return TRUE;
}
