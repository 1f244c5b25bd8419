/* lrc-event-hub.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-event-hub.h"

#include "lr-id.h"

/* Sockets are grouped by party: every event goes to one party, and a party is small. */
typedef struct
{
  SoupWebsocketConnection *connection;
  char                     peer_id[LR_ID_LENGTH + 1];
  GPtrArray               *held;   /* messages waiting for the first one, or NULL */
} Socket;

struct _LrcEventHub
{
  GHashTable *parties;   /* party id → GPtrArray of Socket */
  guint       n_connections;
};

static void
socket_free (Socket *socket)
{
  g_clear_object (&socket->connection);
  g_clear_pointer (&socket->held, g_ptr_array_unref);
  g_free (socket);
}

LrcEventHub *
lrc_event_hub_new (void)
{
  LrcEventHub *self = g_new0 (LrcEventHub, 1);

  self->parties = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_ptr_array_unref);
  return self;
}

void
lrc_event_hub_free (LrcEventHub *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->parties);
  g_free (self);
}

/* What reaches the socket is held until lrc_event_hub_release() gives it its first message. */
void
lrc_event_hub_add (LrcEventHub             *self,
                   const char              *party_id,
                   const char              *peer_id,
                   SoupWebsocketConnection *connection)
{
  GPtrArray *sockets = g_hash_table_lookup (self->parties, party_id);
  Socket *socket = g_new0 (Socket, 1);

  if (sockets == NULL)
    {
      sockets = g_ptr_array_new_with_free_func ((GDestroyNotify) socket_free);
      g_hash_table_insert (self->parties, g_strdup (party_id), sockets);
    }

  /* The hub keeps its own reference: libsoup drops its own once the handler returns. */
  socket->connection = g_object_ref (connection);
  socket->held = g_ptr_array_new_with_free_func (g_free);
  g_strlcpy (socket->peer_id, peer_id, sizeof socket->peer_id);
  g_ptr_array_add (sockets, socket);
  self->n_connections++;
}

void
lrc_event_hub_remove (LrcEventHub             *self,
                      const char              *party_id,
                      SoupWebsocketConnection *connection)
{
  GPtrArray *sockets = g_hash_table_lookup (self->parties, party_id);

  if (sockets == NULL)
    return;

  for (guint i = 0; i < sockets->len; i++)
    {
      Socket *socket = g_ptr_array_index (sockets, i);

      if (socket->connection == connection)
        {
          g_ptr_array_remove_index (sockets, i);
          self->n_connections--;
          break;
        }
    }

  if (sockets->len == 0)
    g_hash_table_remove (self->parties, party_id);
}

static gboolean
send_text (Socket     *socket,
           const char *message)
{
  if (soup_websocket_connection_get_state (socket->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;

  if (socket->held != NULL)
    g_ptr_array_add (socket->held, g_strdup (message));
  else
    soup_websocket_connection_send_text (socket->connection, message);
  return TRUE;
}

/**
 * lrc_event_hub_release:
 * @first: the message the socket must receive before all others (the snapshot)
 *
 * Sends @first, then what was held for the socket since lrc_event_hub_add(), and from now on
 * sends at once.
 */
void
lrc_event_hub_release (LrcEventHub             *self,
                       const char              *party_id,
                       SoupWebsocketConnection *connection,
                       const char              *first)
{
  GPtrArray *sockets = g_hash_table_lookup (self->parties, party_id);

  for (guint i = 0; sockets != NULL && i < sockets->len; i++)
    {
      Socket *socket = g_ptr_array_index (sockets, i);
      g_autoptr(GPtrArray) held = NULL;

      if (socket->connection != connection || socket->held == NULL)
        continue;

      held = g_steal_pointer (&socket->held);
      if (soup_websocket_connection_get_state (connection) != SOUP_WEBSOCKET_STATE_OPEN)
        return;
      soup_websocket_connection_send_text (connection, first);
      for (guint j = 0; j < held->len; j++)
        soup_websocket_connection_send_text (connection, g_ptr_array_index (held, j));
      return;
    }
}

void
lrc_event_hub_broadcast (LrcEventHub *self,
                         const char  *party_id,
                         const char  *message)
{
  GPtrArray *sockets = g_hash_table_lookup (self->parties, party_id);

  for (guint i = 0; sockets != NULL && i < sockets->len; i++)
    send_text (g_ptr_array_index (sockets, i), message);
}

gboolean
lrc_event_hub_send_to (LrcEventHub *self,
                       const char  *party_id,
                       const char  *peer_id,
                       const char  *message)
{
  GPtrArray *sockets = g_hash_table_lookup (self->parties, party_id);
  gboolean sent = FALSE;

  for (guint i = 0; sockets != NULL && i < sockets->len; i++)
    {
      Socket *socket = g_ptr_array_index (sockets, i);

      if (g_str_equal (socket->peer_id, peer_id))
        sent |= send_text (socket, message);
    }

  return sent;
}

/**
 * lrc_event_hub_close:
 * @peer_id: (nullable): one peer, or %NULL for the whole party
 *
 * Starts closing the sockets; each one leaves the hub when its "closed" signal fires.
 */
void
lrc_event_hub_close (LrcEventHub *self,
                     const char  *party_id,
                     const char  *peer_id,
                     const char  *reason)
{
  GPtrArray *sockets = g_hash_table_lookup (self->parties, party_id);
  g_autoptr(GPtrArray) closing = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; sockets != NULL && i < sockets->len; i++)
    {
      Socket *socket = g_ptr_array_index (sockets, i);

      if (peer_id == NULL || g_str_equal (socket->peer_id, peer_id))
        g_ptr_array_add (closing, g_object_ref (socket->connection));
    }

  /* Closing may call back into the hub; work from a copy. */
  for (guint i = 0; i < closing->len; i++)
    {
      SoupWebsocketConnection *connection = g_ptr_array_index (closing, i);

      if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_NORMAL, reason);
    }
}

guint
lrc_event_hub_get_n_connections (LrcEventHub *self)
{
  return self->n_connections;
}

/* Closes every socket, of every party. */
void
lrc_event_hub_close_all (LrcEventHub *self,
                         const char  *reason)
{
  g_autoptr(GPtrArray) closing = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  GPtrArray *sockets;

  g_hash_table_iter_init (&iter, self->parties);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &sockets))
    for (guint i = 0; i < sockets->len; i++)
      g_ptr_array_add (closing,
                       g_object_ref (((Socket *) g_ptr_array_index (sockets, i))->connection));

  /* Closing calls back into the hub (the "closed" handler), so after the walk. */
  for (guint i = 0; i < closing->len; i++)
    soup_websocket_connection_close (g_ptr_array_index (closing, i),
                                     SOUP_WEBSOCKET_CLOSE_GOING_AWAY, reason);
}

/* The sockets open on one peer's token, those waiting for their snapshot included. */
guint
lrc_event_hub_count_peer (LrcEventHub *self,
                          const char  *party_id,
                          const char  *peer_id)
{
  GPtrArray *sockets = g_hash_table_lookup (self->parties, party_id);
  guint count = 0;

  for (guint i = 0; sockets != NULL && i < sockets->len; i++)
    if (g_str_equal (((Socket *) g_ptr_array_index (sockets, i))->peer_id, peer_id))
      count++;
  return count;
}

/**
 * lrc_event_hub_replace_oldest:
 *
 * Takes the oldest socket open on one peer's token out of the hub, so nothing more is sent
 * to it, and closes it with @reason: a newer socket of the same peer takes its place.
 * Returns: whether the peer had a socket
 */
gboolean
lrc_event_hub_replace_oldest (LrcEventHub *self,
                              const char  *party_id,
                              const char  *peer_id,
                              const char  *reason)
{
  GPtrArray *sockets = g_hash_table_lookup (self->parties, party_id);
  g_autoptr(SoupWebsocketConnection) oldest = NULL;

  /* Sockets are kept in the order they were added. */
  for (guint i = 0; sockets != NULL && oldest == NULL && i < sockets->len; i++)
    {
      Socket *socket = g_ptr_array_index (sockets, i);

      if (g_str_equal (socket->peer_id, peer_id))
        oldest = g_object_ref (socket->connection);
    }
  if (oldest == NULL)
    return FALSE;

  /* Out of the hub first: closing calls back into it, and the close handshake may wait. */
  lrc_event_hub_remove (self, party_id, oldest);
  if (soup_websocket_connection_get_state (oldest) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (oldest, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, reason);
  return TRUE;
}
