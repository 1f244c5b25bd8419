/* lrc-listener.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-listener.h"
#include "lrc-rate-limiter.h"

#include <gio/gnetworking.h>

/*
 * libsoup 3.2's own listener removes its accept watch for good the first time accept()
 * fails, so one burst of connections beyond the file descriptor limit (EMFILE) left the
 * server up but deaf. Here the listening socket is watched by us: connections are accepted,
 * counted per client and overall, wrapped in TLS when asked, and handed to the SoupServer
 * with soup_server_accept_iostream(); an accept error pauses the watch briefly instead of
 * ending it.
 *
 * A connection carries one request. libsoup 3.2 keeps a connection alive after an answer
 * only while it has a listener of its own, which it has not here, so it closes each
 * connection once answered (and the server says so: "Connection: close"). That is on
 * purpose: when the client of a kept-alive connection leaves, libsoup 3.2 reads the end of
 * the stream and then neither polls nor closes the connection nor frees its objects, so each
 * departed client cost a descriptor for good and 2.3 KiB of memory (measured here), which
 * any client could repeat at will.
 *
 * libsoup 3.2 has no timeouts on a server's connections either, so each connection carries a
 * deadline that a sweep enforces:
 * - from accept: the TLS handshake and the whole request, within request_timeout_us;
 * - once the request is read: its answer is written within request_timeout_us, so a client
 *   that never reads cannot hold the connection.
 * A connection that became a WebSocket is released from these (lrc_listener_release()):
 * its pings decide when it is dead.
 */

/* How long accepting pauses after an error such as EMFILE: short enough that a client who
 * retries barely notices, long enough not to spin while descriptors are short. */
#define ACCEPT_BACKOFF_MS 50

/* Connections accepted in one wake-up, so a flood cannot starve the rest of the loop. */
#define ACCEPT_BATCH 64

typedef struct
{
  LrcListener *listener;   /* NULL once the listener is gone */
  GSocket     *socket;     /* not a reference: the connection ends when it is finalized */
  char        *key;        /* lrc_address_key() of the client */
  gint64       deadline_us;
  GObject     *msg;        /* weak: the request libsoup reads on it */
} Connection;

struct _LrcListener
{
  GObject            parent_instance;
  SoupServer        *soup;
  GSocket           *socket;
  GSocketAddress    *local;         /* the listening address, unless it is "any" */
  GTlsCertificate   *certificate;
  LrcListenerLimits  limits;
  GSource           *accept_source;
  guint              backoff_source;
  guint              sweep_source;
  GHashTable        *connections;   /* set of Connection */
  GHashTable        *per_key;       /* lrc_address_key() → open connections */
  guint64            n_refused;
  gboolean           full;          /* at max_connections: accepting paused */
  gboolean           warned_full;
  gboolean           warned_accept;
};

G_DEFINE_FINAL_TYPE (LrcListener, lrc_listener, G_TYPE_OBJECT)

static GQuark connection_quark;

static void start_accepting (LrcListener *self);

/* Connections. */

static void
connection_forget (Connection *connection)
{
  LrcListener *self = connection->listener;
  guint count;

  if (self == NULL)
    return;

  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_key, connection->key));
  if (count <= 1)
    g_hash_table_remove (self->per_key, connection->key);
  else
    g_hash_table_insert (self->per_key, g_strdup (connection->key), GUINT_TO_POINTER (count - 1));
  g_hash_table_remove (self->connections, connection);
  connection->listener = NULL;

  /* A place came free: take the next connection from the backlog. */
  if (self->full)
    {
      self->full = FALSE;
      start_accepting (self);
    }
}

/* The socket is finalized once libsoup (or a WebSocket) dropped the last stream on it. */
static void
socket_finalized_cb (gpointer  data,
                     GObject  *where_the_socket_was)
{
  Connection *connection = data;
  LrcListener *self = connection->listener;

  connection_forget (connection);
  g_clear_weak_pointer (&connection->msg);
  g_free (connection->key);
  g_free (connection);

  /* A descriptor came free: if accepting was paused for want of one, try again now. */
  if (self != NULL && self->backoff_source != 0)
    {
      g_clear_handle_id (&self->backoff_source, g_source_remove);
      start_accepting (self);
    }
}

static void
connection_set_deadline (Connection *connection,
                         gint64      timeout_us)
{
  connection->deadline_us = timeout_us > 0 ? g_get_monotonic_time () + timeout_us : G_MAXINT64;
}

/* The connection a message arrived on. libsoup hands back, as the message's remote address,
 * the very address object given to soup_server_accept_iostream(), which carries it. */
static Connection *
connection_for_message (SoupServerMessage *msg)
{
  GSocketAddress *address = soup_server_message_get_remote_address (msg);

  return address != NULL ? g_object_get_qdata (G_OBJECT (address), connection_quark) : NULL;
}

/*
 * libsoup 3.2 has no call to drop one connection, but the request it reads can be taken over
 * with soup_server_message_steal_connection(), which makes libsoup let go of the connection;
 * the stream is then ours to close. During the TLS handshake there is no request yet:
 * shutting the socket down ends the handshake.
 */
static void
connection_close (Connection *connection)
{
  g_autoptr(GIOStream) stolen = NULL;

  if (connection->msg != NULL)
    stolen = soup_server_message_steal_connection (SOUP_SERVER_MESSAGE (connection->msg));

  if (stolen != NULL)
    g_io_stream_close (stolen, NULL, NULL);
  else
    g_socket_shutdown (connection->socket, TRUE, TRUE, NULL);
}

static gboolean
sweep_cb (gpointer user_data)
{
  LrcListener *self = user_data;
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  Connection *connection;

  g_autoptr(GPtrArray) overdue = g_ptr_array_new ();

  /* Closing can remove connections from the table: collect first. */
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, (gpointer *) &connection, NULL))
    if (connection->deadline_us <= now)
      g_ptr_array_add (overdue, connection);

  for (guint i = 0; i < overdue->len; i++)
    {
      connection = g_ptr_array_index (overdue, i);
      connection->deadline_us = G_MAXINT64;
      connection_close (connection);
    }

  return G_SOURCE_CONTINUE;
}

/* Handing connections to libsoup. */

typedef struct
{
  LrcListener    *listener;
  GSocketAddress *local;
  GSocketAddress *remote;
} Handshake;

static void
handshake_free (Handshake *handshake)
{
  g_clear_object (&handshake->listener);
  g_clear_object (&handshake->local);
  g_clear_object (&handshake->remote);
  g_free (handshake);
}

static void
hand_to_soup (LrcListener    *self,
              GIOStream      *stream,
              GSocketAddress *local,
              GSocketAddress *remote)
{
  g_autoptr(GError) error = NULL;

  if (!soup_server_accept_iostream (self->soup, stream, local, remote, &error))
    {
      g_debug ("libsoup refused a connection: %s", error->message);
      g_io_stream_close (stream, NULL, NULL);
    }
}

static void
handshake_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Handshake *handshake = user_data;
  GTlsConnection *tls = G_TLS_CONNECTION (source);
  g_autoptr(GError) error = NULL;

  if (!g_tls_connection_handshake_finish (tls, result, &error))
    {
      g_debug ("TLS handshake failed: %s", error->message);
      g_io_stream_close (G_IO_STREAM (tls), NULL, NULL);
    }
  else
    hand_to_soup (handshake->listener, G_IO_STREAM (tls), handshake->local, handshake->remote);

  g_object_unref (tls);
  handshake_free (handshake);
}

static void
admit (LrcListener *self,
       GSocket     *socket)
{
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autofree char *key = NULL;
  Connection *connection;
  guint count;

  /* Listening on one address, every connection's local end is that address. */
  local = self->local != NULL ? g_object_ref (self->local)
                              : g_socket_get_local_address (socket, NULL);

  /* A client that reset before we got to it. */
  if (!G_IS_INET_SOCKET_ADDRESS (remote) || local == NULL)
    {
      g_socket_close (socket, NULL);
      return;
    }

  key = lrc_address_key (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_key, key));
  if (count >= self->limits.max_connections_per_address)
    {
      /* Closed at once: the client learns by the reset, and costs nothing more. */
      self->n_refused++;
      if (!self->warned_full)
        g_message ("Refusing connections from %s: %u open from there "
                   "(--max-connections-per-address)", key, count);
      self->warned_full = TRUE;
      g_socket_close (socket, NULL);
      return;
    }
  self->warned_full = FALSE;

  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);

  connection = g_new0 (Connection, 1);
  connection->listener = self;
  connection->socket = socket;
  connection->key = g_steal_pointer (&key);
  connection_set_deadline (connection, self->limits.request_timeout_us);
  g_object_weak_ref (G_OBJECT (socket), socket_finalized_cb, connection);
  g_object_set_qdata (G_OBJECT (remote), connection_quark, connection);
  g_hash_table_add (self->connections, connection);
  g_hash_table_insert (self->per_key, g_strdup (connection->key), GUINT_TO_POINTER (count + 1));

  stream = g_socket_connection_factory_create_connection (socket);

  if (self->certificate != NULL)
    {
      static const char * const protocols[] = { "http/1.1", "http/1.0", NULL };
      g_autoptr(GError) error = NULL;
      GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (stream), self->certificate,
                                                    &error);
      Handshake *handshake;

      if (tls == NULL)
        {
          g_warning ("Could not start TLS: %s", error->message);
          g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
          return;
        }

      g_object_set (tls, "require-close-notify", FALSE, "advertised-protocols", protocols, NULL);
      handshake = g_new0 (Handshake, 1);
      handshake->listener = g_object_ref (self);
      handshake->local = g_steal_pointer (&local);
      handshake->remote = g_steal_pointer (&remote);
      g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL,
                                        handshake_cb, handshake);
      return;
    }

  hand_to_soup (self, G_IO_STREAM (stream), local, remote);
}

/* Accepting. */

static gboolean
backoff_done_cb (gpointer user_data)
{
  LrcListener *self = user_data;

  self->backoff_source = 0;
  start_accepting (self);
  return G_SOURCE_REMOVE;
}

static gboolean
accept_cb (GSocket      *socket,
           GIOCondition  condition,
           gpointer      user_data)
{
  LrcListener *self = user_data;

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) client = NULL;

      /* At the cap, new clients wait in the listen backlog until a connection ends. */
      if (g_hash_table_size (self->connections) >= self->limits.max_connections)
        {
          if (!self->full)
            g_message ("%u connections open (--max-connections): new ones wait",
                       g_hash_table_size (self->connections));
          self->full = TRUE;
          self->accept_source = NULL;
          return G_SOURCE_REMOVE;
        }

      client = g_socket_accept (socket, NULL, &error);

      if (client != NULL)
        {
          self->warned_accept = FALSE;
          admit (self, client);
          continue;
        }

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;

      /* A client that gave up while queued: nothing is wrong with us. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
          g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
        continue;

      /* Out of descriptors or memory: pause, and look again shortly (or as soon as one of
       * our connections ends). Clients wait in the listen backlog meanwhile. */
      if (!self->warned_accept)
        g_warning ("Could not accept a connection (%s); trying again every %d ms",
                   error->message, ACCEPT_BACKOFF_MS);
      self->warned_accept = TRUE;
      self->accept_source = NULL;
      self->backoff_source = g_timeout_add (ACCEPT_BACKOFF_MS, backoff_done_cb, self);
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

static void
start_accepting (LrcListener *self)
{
  if (self->accept_source != NULL || self->backoff_source != 0 || self->socket == NULL)
    return;

  self->accept_source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->accept_source, (GSourceFunc) (void (*) (void)) accept_cb, self,
                         NULL);
  g_source_set_static_name (self->accept_source, "lanrage-control accept");
  g_source_attach (self->accept_source, NULL);
  g_source_unref (self->accept_source);
}

/* Request phases, from the SoupServer's signals. */

static void
request_started_cb (SoupServer        *soup,
                    SoupServerMessage *msg,
                    LrcListener       *self)
{
  Connection *connection = connection_for_message (msg);

  if (connection != NULL && connection->listener != NULL)
    g_set_weak_pointer (&connection->msg, G_OBJECT (msg));
}

static void
request_read_cb (SoupServer        *soup,
                 SoupServerMessage *msg,
                 LrcListener       *self)
{
  Connection *connection = connection_for_message (msg);

  if (connection != NULL && connection->listener != NULL)
    connection_set_deadline (connection, self->limits.request_timeout_us);
}

/**
 * lrc_listener_release:
 * @msg: a request whose connection libsoup no longer reads (a WebSocket upgrade)
 *
 * Lifts the HTTP deadlines from @msg's connection; it stays counted until it closes.
 */
void
lrc_listener_release (LrcListener       *self,
                      SoupServerMessage *msg)
{
  Connection *connection = connection_for_message (msg);

  if (connection != NULL && connection->listener == self)
    connection->deadline_us = G_MAXINT64;
}

/* The object. */

static void
lrc_listener_dispose (GObject *object)
{
  LrcListener *self = LRC_LISTENER (object);

  lrc_listener_stop (self);
  if (self->soup != NULL)
    g_signal_handlers_disconnect_by_data (self->soup, self);
  g_clear_object (&self->soup);
  g_clear_object (&self->certificate);
  g_clear_object (&self->local);

  /* Connections still open outlive us: they stop reporting back. */
  if (self->connections != NULL)
    {
      GHashTableIter iter;
      Connection *connection;

      g_hash_table_iter_init (&iter, self->connections);
      while (g_hash_table_iter_next (&iter, (gpointer *) &connection, NULL))
        connection->listener = NULL;
    }
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_pointer (&self->per_key, g_hash_table_unref);

  G_OBJECT_CLASS (lrc_listener_parent_class)->dispose (object);
}

static void
lrc_listener_class_init (LrcListenerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = lrc_listener_dispose;
  connection_quark = g_quark_from_static_string ("lrc-listener-connection");
}

static void
lrc_listener_init (LrcListener *self)
{
  self->connections = g_hash_table_new (NULL, NULL);
  self->per_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * lrc_listener_new:
 * @socket: a bound, listening socket
 * @certificate: (nullable): with one, every connection speaks TLS
 *
 * Starts accepting on @socket for @soup as soon as the main loop runs.
 */
LrcListener *
lrc_listener_new (SoupServer              *soup,
                  GSocket                 *socket,
                  GTlsCertificate         *certificate,
                  const LrcListenerLimits *limits)
{
  LrcListener *self;

  self = g_object_new (LRC_TYPE_LISTENER, NULL);
  self->soup = g_object_ref (soup);

  self->socket = g_object_ref (socket);
  self->local = g_socket_get_local_address (socket, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (self->local))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (self->local);

      if (g_inet_address_get_is_any (g_inet_socket_address_get_address (inet)))
        g_clear_object (&self->local);
    }
  self->certificate = certificate ? g_object_ref (certificate) : NULL;
  self->limits = *limits;

  g_socket_set_blocking (socket, FALSE);
  g_signal_connect (soup, "request-started", G_CALLBACK (request_started_cb), self);
  g_signal_connect (soup, "request-read", G_CALLBACK (request_read_cb), self);

  /* Deadlines are checked four times per timeout: late by a quarter at most. */
  self->sweep_source = g_timeout_add (CLAMP (limits->request_timeout_us / 4000, 10, 1000),
                                      sweep_cb, self);
  start_accepting (self);
  return self;
}

/* Stops accepting and closes the listening socket; open connections carry on. */
void
lrc_listener_stop (LrcListener *self)
{
  if (self->accept_source != NULL)
    g_clear_pointer (&self->accept_source, g_source_destroy);
  g_clear_handle_id (&self->backoff_source, g_source_remove);
  g_clear_handle_id (&self->sweep_source, g_source_remove);
  if (self->socket != NULL)
    g_socket_close (self->socket, NULL);
  g_clear_object (&self->socket);
}

guint
lrc_listener_get_n_connections (LrcListener *self)
{
  return g_hash_table_size (self->connections);
}

guint64
lrc_listener_get_n_refused (LrcListener *self)
{
  return self->n_refused;
}
