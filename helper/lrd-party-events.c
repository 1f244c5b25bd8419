/* lrd-party-events.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-party-events.h"
#include "lrd-error.h"

#include "lr-control-answers.h"
#include "lr-id.h"

#include <sodium.h>
#include <string.h>

/* Reconnecting the events socket: the first retry is quick (a restarting server is usually
 * back within a second), then the delay doubles up to a ceiling that still rejoins a
 * restarted server within seconds. */
#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 10000
/* WebSocket pings, so a server that vanished without closing is noticed. */
#define EVENTS_KEEPALIVE_S 15
/* A snapshot can list many peers; libsoup's default 128 KiB limit would cut a big party. */
#define MAX_EVENT_SIZE (1024 * 1024)

struct _LrdPartyEvents
{
  GObject                  parent_instance;

  LrdControlClient        *client;
  char                    *party_id;
  char                    *peer_id;
  char                    *token;
  GCancellable            *cancellable;
  SoupWebsocketConnection *events;
  guint                    reconnect_source;
  guint                    reconnect_delay_ms;
  guint                    heartbeat_source;
};

G_DEFINE_FINAL_TYPE (LrdPartyEvents, lrd_party_events, G_TYPE_OBJECT)

enum
{
  SIGNAL_EVENT,
  SIGNAL_GONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start_events (LrdPartyEvents *self);

static void
close_events (LrdPartyEvents *self)
{
  if (self->events == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->events, self);
  if (soup_websocket_connection_get_state (self->events) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->events, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  g_clear_object (&self->events);
}

static void
lrd_party_events_dispose (GObject *object)
{
  LrdPartyEvents *self = LRD_PARTY_EVENTS (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  g_clear_handle_id (&self->heartbeat_source, g_source_remove);
  close_events (self);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (lrd_party_events_parent_class)->dispose (object);
}

static void
lrd_party_events_finalize (GObject *object)
{
  LrdPartyEvents *self = LRD_PARTY_EVENTS (object);

  g_free (self->party_id);
  g_free (self->peer_id);
  if (self->token != NULL)
    sodium_memzero (self->token, strlen (self->token));
  g_free (self->token);

  G_OBJECT_CLASS (lrd_party_events_parent_class)->finalize (object);
}

static void
lrd_party_events_class_init (LrdPartyEventsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_party_events_dispose;
  object_class->finalize = lrd_party_events_finalize;

  signals[SIGNAL_EVENT] = g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_GONE] = g_signal_new ("gone", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
lrd_party_events_init (LrdPartyEvents *self)
{
  self->reconnect_delay_ms = RECONNECT_MIN_MS;
  self->cancellable = g_cancellable_new ();
}

/* The events socket */

static gboolean
reconnect_cb (gpointer user_data)
{
  LrdPartyEvents *self = user_data;

  self->reconnect_source = 0;
  start_events (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (LrdPartyEvents *self)
{
  guint delay = self->reconnect_delay_ms;

  if (self->reconnect_source != 0)
    return;

  /* ±25 % so that a whole party does not hammer a restarted server in step. */
  delay = delay * 3 / 4 + g_random_int_range (0, delay / 2 + 1);
  self->reconnect_delay_ms = MIN (self->reconnect_delay_ms * 2, RECONNECT_MAX_MS);
  g_debug ("Events socket down; reconnecting in %u ms", delay);
  self->reconnect_source = g_timeout_add (delay, reconnect_cb, self);
}

static void
events_message_cb (SoupWebsocketConnection *connection,
                   gint                     type,
                   GBytes                  *message,
                   gpointer                 user_data)
{
  g_autoptr(LrdPartyEvents) self = g_object_ref (user_data);
  g_autoptr(GError) error = NULL;
  g_autoptr(LrEvent) event = NULL;
  gsize length = 0;
  const char *data = g_bytes_get_data (message, &length);

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;

  event = lr_event_parse (data, length, &error);
  if (event == NULL)
    {
      g_debug ("Ignoring an event: %s", error->message);
      return;
    }
  if (event->type == LR_EVENT_SNAPSHOT)
    self->reconnect_delay_ms = RECONNECT_MIN_MS;
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, event);
}

static void
events_closed_cb (SoupWebsocketConnection *connection,
                  gpointer                 user_data)
{
  LrdPartyEvents *self = user_data;

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
  g_autoptr(LrdPartyEvents) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) connection = NULL;

  connection = lrd_control_client_connect_events_finish (LRD_CONTROL_CLIENT (source), result,
                                                         &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (connection == NULL)
    {
      if (g_error_matches (error, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND))
        g_signal_emit (self, signals[SIGNAL_GONE], 0);
      else
        schedule_reconnect (self);
      return;
    }

  g_debug ("Events socket open");
  self->events = g_steal_pointer (&connection);
  soup_websocket_connection_set_keepalive_interval (self->events, EVENTS_KEEPALIVE_S);
  soup_websocket_connection_set_max_incoming_payload_size (self->events, MAX_EVENT_SIZE);
  g_signal_connect (self->events, "message", G_CALLBACK (events_message_cb), self);
  g_signal_connect (self->events, "closed", G_CALLBACK (events_closed_cb), self);
}

static void
start_events (LrdPartyEvents *self)
{
  if (self->events != NULL)
    return;
  lrd_control_client_connect_events_async (self->client, self->party_id, self->token,
                                           self->cancellable, events_connect_cb,
                                           g_object_ref (self));
}

/**
 * lrd_party_events_reconnect_now:
 *
 * When the events socket is down and waiting out its backoff, tries again at once (a person
 * asked for a refresh).
 */
void
lrd_party_events_reconnect_now (LrdPartyEvents *self)
{
  g_return_if_fail (LRD_IS_PARTY_EVENTS (self));

  if (self->events == NULL && self->reconnect_source != 0)
    {
      g_clear_handle_id (&self->reconnect_source, g_source_remove);
      start_events (self);
    }
}

/* Heartbeats */

static void
heartbeat_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(LrdPartyEvents) self = user_data;
  g_autoptr(GError) error = NULL;

  if (lrd_control_client_heartbeat_finish (LRD_CONTROL_CLIENT (source), result, &error) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (g_error_matches (error, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND))
    g_signal_emit (self, signals[SIGNAL_GONE], 0);
  else
    g_debug ("Heartbeat failed: %s", error->message);
}

static gboolean
heartbeat_cb (gpointer user_data)
{
  LrdPartyEvents *self = user_data;

  lrd_control_client_heartbeat_async (self->client, self->party_id, self->peer_id, self->token,
                                      self->cancellable, heartbeat_done_cb,
                                      g_object_ref (self));
  return G_SOURCE_CONTINUE;
}

/* Signals between helpers */

/**
 * lrd_party_events_send_signal:
 * @to: the peer's id
 * @data: a JSON object of at most 4 KiB (docs/control-api.md)
 *
 * Sends @data to @to through the server; the server answers an "error" event if @to is not
 * connected. Fails when the events socket is down (G_IO_ERROR_NOT_CONNECTED) or the
 * arguments are not what the server takes (G_IO_ERROR_INVALID_ARGUMENT).
 */
gboolean
lrd_party_events_send_signal (LrdPartyEvents  *self,
                              const char      *to,
                              JsonNode        *data,
                              GError         **error)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) message = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (LRD_IS_PARTY_EVENTS (self), FALSE);

  if (!lr_id_is_valid (to) || data == NULL || !JSON_NODE_HOLDS_OBJECT (data))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "A signal goes to a peer id and carries a JSON object");
      return FALSE;
    }
  payload = json_to_string (data, FALSE);
  if (strlen (payload) > LR_MAX_SIGNAL_SIZE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "A signal carries at most %d bytes", LR_MAX_SIGNAL_SIZE);
      return FALSE;
    }
  if (self->events == NULL ||
      soup_websocket_connection_get_state (self->events) != SOUP_WEBSOCKET_STATE_OPEN)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   "The events socket is not open");
      return FALSE;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "signal");
  json_builder_set_member_name (builder, "to");
  json_builder_add_string_value (builder, to);
  json_builder_set_member_name (builder, "data");
  json_builder_add_value (builder, json_node_copy (data));
  json_builder_end_object (builder);
  message = json_builder_get_root (builder);
  text = json_to_string (message, FALSE);
  soup_websocket_connection_send_text (self->events, text);
  return TRUE;
}

/**
 * lrd_party_events_new:
 * @token: this membership's bearer token
 *
 * Opens the events socket and starts the heartbeats at once.
 */
LrdPartyEvents *
lrd_party_events_new (LrdControlClient *client,
                      const char       *party_id,
                      const char       *peer_id,
                      const char       *token,
                      guint             heartbeat_interval_ms)
{
  LrdPartyEvents *self;

  g_return_val_if_fail (LRD_IS_CONTROL_CLIENT (client), NULL);
  g_return_val_if_fail (heartbeat_interval_ms > 0, NULL);

  self = g_object_new (LRD_TYPE_PARTY_EVENTS, NULL);
  self->client = g_object_ref (client);
  self->party_id = g_strdup (party_id);
  self->peer_id = g_strdup (peer_id);
  self->token = g_strdup (token);
  self->heartbeat_source = g_timeout_add (heartbeat_interval_ms, heartbeat_cb, self);
  start_events (self);
  return self;
}
