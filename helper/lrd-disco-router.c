/* lrd-disco-router.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-disco-router.h"

#include "lr-error.h"

#include <string.h>

typedef struct
{
  LrKey             public_key;
  LrDiscoSharedKey  shared;
  LrDiscoReplay     replay;
  LrdDiscoHandler   handler;
  gpointer          user_data;
} Peer;

struct _LrdDiscoRouter
{
  GObject        parent_instance;

  LrdSharedPort *port;
  gulong         handler;
  LrKey          own_public;
  LrKey          own_secret;
  guint64        counter;
  GHashTable    *peers;   /* LrKey * (the peer's) -> Peer */
};

G_DEFINE_FINAL_TYPE (LrdDiscoRouter, lrd_disco_router, G_TYPE_OBJECT)

static void
peer_free (gpointer data)
{
  Peer *peer = data;

  lr_disco_shared_key_clear (&peer->shared);
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
    g_clear_signal_handler (&self->handler, self->port);
  g_clear_object (&self->port);
  g_clear_pointer (&self->peers, g_hash_table_unref);

  G_OBJECT_CLASS (lrd_disco_router_parent_class)->dispose (object);
}

static void
lrd_disco_router_finalize (GObject *object)
{
  LrdDiscoRouter *self = LRD_DISCO_ROUTER (object);

  lr_key_clear (&self->own_secret);

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

  if (peer == NULL)
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

/**
 * lrd_disco_router_new:
 * @own_public, @own_secret: this helper's disco key pair (lrd-state.c)
 */
LrdDiscoRouter *
lrd_disco_router_new (LrdSharedPort *port,
                      const LrKey   *own_public,
                      const LrKey   *own_secret)
{
  LrdDiscoRouter *self;

  g_return_val_if_fail (LRD_IS_SHARED_PORT (port), NULL);

  self = g_object_new (LRD_TYPE_DISCO_ROUTER, NULL);
  self->port = g_object_ref (port);
  self->own_public = *own_public;
  self->own_secret = *own_secret;
  self->handler = g_signal_connect (port, "disco-received", G_CALLBACK (disco_received_cb),
                                    self);
  return self;
}

/**
 * lrd_disco_router_add_peer:
 * @peer_public: the peer's disco key as the control server published it
 * @handler: gets the peer's pings and pongs until lrd_disco_router_remove_peer()
 *
 * Returns: FALSE when the key is not one (a low-order point): the peer gets no disco.
 */
gboolean
lrd_disco_router_add_peer (LrdDiscoRouter  *self,
                           const LrKey     *peer_public,
                           LrdDiscoHandler  handler,
                           gpointer         user_data)
{
  Peer *peer;

  g_return_val_if_fail (LRD_IS_DISCO_ROUTER (self), FALSE);

  peer = g_new0 (Peer, 1);
  peer->public_key = *peer_public;
  peer->handler = handler;
  peer->user_data = user_data;
  if (!lr_disco_shared_key_init (&peer->shared, peer_public->bytes, self->own_secret.bytes))
    {
      peer_free (peer);
      return FALSE;
    }
  g_hash_table_replace (self->peers, &peer->public_key, peer);
  return TRUE;
}

void
lrd_disco_router_remove_peer (LrdDiscoRouter *self,
                              const LrKey    *peer_public)
{
  g_return_if_fail (LRD_IS_DISCO_ROUTER (self));

  g_hash_table_remove (self->peers, peer_public);
}

/**
 * lrd_disco_router_send:
 *
 * Seals @message for the peer and sends it from WireGuard's port to @to.
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
