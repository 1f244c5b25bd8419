/* lrc-server.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-server.h"
#include "lrc-error.h"
#include "lrc-event-hub.h"
#include "lrc-frame-meter.h"
#include "lrc-listener.h"
#include "lrc-rate-limiter.h"

#include "lr-error.h"
#include "lr-json.h"

#include <string.h>

/*
 * All requests come to one handler on "/", which routes by path segments. The same path
 * carries an early handler (to refuse oversize bodies before they are stored). The events
 * route upgrades to a WebSocket itself, after authenticating (see upgrade_cb).
 */

/* Signals carry at most 4 KiB of data: a whole message from a client, in one frame or
 * many, is bounded well above that. */
#define MAX_CLIENT_MESSAGE (64 * 1024)

/* Events sockets open at once on one peer token. A helper needs one; a few more cover a
 * reconnect before the old socket is found dead. Past that, a new socket replaces the
 * peer's oldest: only the token's holder opens them, and a helper that reconnects from a
 * changed network must not wait for its dead sockets to time out. */
#define MAX_SOCKETS_PER_PEER 4

typedef enum
{
  ROUTE_NONE,
  ROUTE_HEALTHZ,
  ROUTE_METRICS,
  ROUTE_PARTIES,
  ROUTE_JOIN,
  ROUTE_RELAYS,
  ROUTE_PARTY,
  ROUTE_RELAY_TOKEN,
  ROUTE_EVENTS,
  ROUTE_PEER,
  ROUTE_HEARTBEAT,
} Route;

/* Labels for metrics: the route's pattern, never the ids in it. */
static const char *route_labels[] = {
  [ROUTE_NONE] = "other",
  [ROUTE_HEALTHZ] = "/healthz",
  [ROUTE_METRICS] = "/metrics",
  [ROUTE_PARTIES] = "/v1/parties",
  [ROUTE_JOIN] = "/v1/join",
  [ROUTE_RELAYS] = "/v1/relays",
  [ROUTE_PARTY] = "/v1/parties/{party_id}",
  [ROUTE_RELAY_TOKEN] = "/v1/parties/{party_id}/relay-token",
  [ROUTE_EVENTS] = "/v1/parties/{party_id}/events",
  [ROUTE_PEER] = "/v1/parties/{party_id}/peers/{peer_id}",
  [ROUTE_HEARTBEAT] = "/v1/parties/{party_id}/peers/{peer_id}/heartbeat",
};

struct _LrcServer
{
  GObject         parent_instance;
  SoupServer     *soup;
  LrcListener    *listener;
  char           *url;
  LrcService     *service;
  LrClock        *clock;
  LrcEventHub    *hub;
  LrcRateLimiter *rate_limiter;
  guint           join_rate_limit;
  guint           ping_interval_s;
  GHashTable     *request_counts;   /* "route\tmethod\tstatus" → count */
  guint           cleanup_source;
  guint           flush_source;
  guint           lease_source;
  gint64          instance_lease_us;
};

G_DEFINE_FINAL_TYPE (LrcServer, lrc_server, G_TYPE_OBJECT)

static void
lrc_server_dispose (GObject *object)
{
  LrcServer *self = LRC_SERVER (object);

  lrc_server_stop (self);
  g_clear_object (&self->listener);
  g_clear_object (&self->soup);
  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->hub, lrc_event_hub_free);
  g_clear_pointer (&self->rate_limiter, lrc_rate_limiter_free);
  g_clear_pointer (&self->request_counts, g_hash_table_unref);
  g_clear_object (&self->service);
  g_clear_pointer (&self->clock, lr_clock_unref);

  G_OBJECT_CLASS (lrc_server_parent_class)->dispose (object);
}

static void
lrc_server_class_init (LrcServerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = lrc_server_dispose;
}

static void
lrc_server_init (LrcServer *self)
{
  self->request_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* Answers. */

static void
respond_json (SoupServerMessage *msg,
              guint              status,
              JsonNode          *node)
{
  char *text = lr_json_to_string (node);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, text,
                                    strlen (text));
}

/* "error": {"code", "message"}, the same on HTTP answers and on the events socket. */
static void
build_error_member (JsonBuilder *builder,
                    const char  *code,
                    const char  *message)
{
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
}

static void
respond_error_literal (SoupServerMessage *msg,
                       guint              status,
                       const char        *code,
                       const char        *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  build_error_member (builder, code, message);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  respond_json (msg, status, root);
}

static void
respond_error (SoupServerMessage *msg,
               const GError      *error)
{
  const char *code;
  guint status = lrc_error_to_status (error, &code);

  if (status >= 500)
    g_warning ("Request failed: %s", error->message);
  /* The database is away; the instance itself is fine and will answer again. */
  if (status == SOUP_STATUS_SERVICE_UNAVAILABLE)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                  "1");
  respond_error_literal (msg, status, code, error->message);
}

static void
respond_no_content (SoupServerMessage *msg)
{
  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
}

/* Requests. */

static Route
match_route (const char  *path,
             const char **party_id,
             const char **peer_id,
             GStrv       *parts_out)
{
  g_auto(GStrv) parts = NULL;
  guint n;
  Route route = ROUTE_NONE;

  *party_id = *peer_id = NULL;
  if (path == NULL || path[0] != '/' || strlen (path) > 512)
    return ROUTE_NONE;

  parts = g_strsplit (path + 1, "/", 8);
  n = g_strv_length (parts);

  if (n == 1 && g_str_equal (parts[0], "healthz"))
    route = ROUTE_HEALTHZ;
  else if (n == 1 && g_str_equal (parts[0], "metrics"))
    route = ROUTE_METRICS;
  else if (n < 2 || !g_str_equal (parts[0], "v1"))
    route = ROUTE_NONE;
  else if (n == 2 && g_str_equal (parts[1], "parties"))
    route = ROUTE_PARTIES;
  else if (n == 2 && g_str_equal (parts[1], "join"))
    route = ROUTE_JOIN;
  else if (n == 2 && g_str_equal (parts[1], "relays"))
    route = ROUTE_RELAYS;
  else if (g_str_equal (parts[1], "parties") && n >= 3)
    {
      *party_id = parts[2];
      if (n == 3)
        route = ROUTE_PARTY;
      else if (n == 4 && g_str_equal (parts[3], "relay-token"))
        route = ROUTE_RELAY_TOKEN;
      else if (n == 4 && g_str_equal (parts[3], "events"))
        route = ROUTE_EVENTS;
      else if (n >= 5 && g_str_equal (parts[3], "peers"))
        {
          *peer_id = parts[4];
          if (n == 5)
            route = ROUTE_PEER;
          else if (n == 6 && g_str_equal (parts[5], "heartbeat"))
            route = ROUTE_HEARTBEAT;
        }
    }

  /* The ids point into parts, which the caller keeps. */
  *parts_out = g_steal_pointer (&parts);
  return route;
}

static const char *
bearer_token (SoupServerMessage *msg)
{
  const char *value = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                    "Authorization");

  if (value == NULL || g_ascii_strncasecmp (value, "Bearer ", 7) != 0)
    return NULL;

  value += 7;
  while (*value == ' ')
    value++;
  return value;
}

static GBytes *
request_body (SoupServerMessage *msg)
{
  return soup_message_body_flatten (soup_server_message_get_request_body (msg));
}

/* A request that waits for the database: the message is paused until it is answered. */
typedef struct
{
  LrcServer         *server;
  SoupServerMessage *msg;
  Route              route;
  char              *method;
  char              *party_id;
  char              *peer_id;
  LrcCaller          caller;
  guint              ok_status;   /* the status of a success: 200, 201 or 204 */
  gint64             removed_after;   /* a relay's cursor; negative: it did not send one */
} Request;

static Request *
request_new (LrcServer         *self,
             SoupServerMessage *msg,
             Route              route,
             const char        *method,
             const char        *party_id,
             const char        *peer_id)
{
  Request *request = g_new0 (Request, 1);

  request->server = g_object_ref (self);
  request->msg = g_object_ref (msg);
  request->route = route;
  request->method = g_strdup (method);
  request->party_id = g_strdup (party_id);
  request->peer_id = g_strdup (peer_id);
  request->ok_status = SOUP_STATUS_OK;
  request->removed_after = -1;
  soup_server_message_pause (msg);
  return request;
}

/* Sends what the message holds by now. */
static void
request_finish (Request *request)
{
  soup_server_message_unpause (request->msg);
  g_object_unref (request->msg);
  g_object_unref (request->server);
  g_free (request->method);
  g_free (request->party_id);
  g_free (request->peer_id);
  g_free (request);
}

/* Answers with the service's JSON (or no content), or its error. */
static void
answer_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Request *request = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = lrc_service_finish (LRC_SERVICE (source), result, &error);

  if (answer == NULL)
    respond_error (request->msg, error);
  else if (request->ok_status == SOUP_STATUS_NO_CONTENT)
    respond_no_content (request->msg);
  else
    respond_json (request->msg, request->ok_status, answer);

  request_finish (request);
}

static void
respond_rate_limited (SoupServerMessage *msg,
                      guint              retry_after)
{
  g_autofree char *value = g_strdup_printf ("%u", retry_after);
  g_autofree char *message = g_strdup_printf ("Too many parties created or joined from this "
                                              "address; try again in %u seconds", retry_after);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                value);
  respond_error_literal (msg, 429, "rate_limited", message);
}

/* Parses the body and starts the create or join; @request is answered either way. */
static void
admit (Request *request)
{
  LrcServer *self = request->server;
  g_autoptr(GBytes) body = request_body (request->msg);
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (body, &length);

  request->ok_status = SOUP_STATUS_CREATED;
  if (request->route == ROUTE_PARTIES)
    {
      LrCreatePartyRequest *create = lr_create_party_request_parse (data, length, &error);

      if (create != NULL)
        {
          lrc_service_create_party_async (self->service, create, answer_cb, request);
          return;
        }
    }
  else
    {
      LrJoinRequest *join = lr_join_request_parse (data, length, &error);

      if (join != NULL)
        {
          lrc_service_join_async (self->service, join, answer_cb, request);
          return;
        }
    }

  respond_error (request->msg, error);
  request_finish (request);
}

static void
rate_checked_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Request *request = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) verdict = lrc_service_finish (LRC_SERVICE (source), result, &error);
  JsonObject *object;

  if (verdict == NULL)
    {
      respond_error (request->msg, error);
      request_finish (request);
      return;
    }

  object = json_node_get_object (verdict);
  if (!json_object_get_boolean_member (object, "allowed"))
    {
      respond_rate_limited (request->msg, json_object_get_int_member (object, "retry_after"));
      request_finish (request);
      return;
    }

  admit (request);
}

/* Invite codes are guessed by the thousand without a limit. The bucket is the client's
 * address, an IPv6 client's /64 (lrc_address_key()). Instances that share a database count
 * together in it; alone, the buckets are in memory. */
static void
handle_create_or_join (LrcServer         *self,
                       SoupServerMessage *msg,
                       Route              route)
{
  GSocketAddress *address = soup_server_message_get_remote_address (msg);
  g_autofree char *key = NULL;
  Request *request;
  guint retry_after = 60;

  if (G_IS_INET_SOCKET_ADDRESS (address))
    key = lrc_address_key (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  else
    key = g_strdup ("?");

  if (self->join_rate_limit > 0 && lrc_store_is_shared (lrc_service_get_store (self->service)))
    {
      request = request_new (self, msg, route, "POST", NULL, NULL);
      lrc_service_rate_limit_async (self->service, key, self->join_rate_limit,
                                    rate_checked_cb, request);
      return;
    }

  if (!lrc_rate_limiter_allow (self->rate_limiter, key, &retry_after))
    {
      respond_rate_limited (msg, retry_after);
      return;
    }

  admit (request_new (self, msg, route, "POST", NULL, NULL));
}

/* POST /v1/relays registers a relay. With ?removed_after=CURSOR (what lanrage-relay sends)
 * the answer is 200 with the peers removed since (lr-relay-removals.h); without it 204, as
 * relays that do not ask get. */
static void
relay_registered_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Request *request = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = lrc_service_finish (LRC_SERVICE (source), result, &error);

  if (answer == NULL)
    respond_error (request->msg, error);
  else if (request->removed_after < 0)
    respond_no_content (request->msg);
  else
    {
      lrc_service_relay_removals_async (request->server->service, request->removed_after,
                                        answer_cb, request);
      return;
    }
  request_finish (request);
}

static void
handle_relays (LrcServer         *self,
               SoupServerMessage *msg,
               const char        *method,
               GHashTable        *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  LrRelay *relay;
  Request *request;
  const char *after_text = NULL;
  guint64 after = 0;
  const char *data;
  gsize length;

  if (g_str_equal (method, "GET"))
    {
      request = request_new (self, msg, ROUTE_RELAYS, method, NULL, NULL);
      lrc_service_list_relays_async (self->service, answer_cb, request);
      return;
    }

  /* The secret is checked before the body is read: strangers learn nothing. */
  if (!lrc_service_check_relay_secret (self->service, bearer_token (msg), &error))
    {
      respond_error (msg, error);
      return;
    }

  if (query != NULL && (after_text = g_hash_table_lookup (query, "removed_after")) != NULL &&
      !g_ascii_string_to_unsigned (after_text, 10, 0, G_MAXINT64, &after, NULL))
    {
      g_set_error (&error, LR_ERROR, LR_ERROR_INVALID,
                   "“removed_after” must be the cursor of the previous answer");
      respond_error (msg, error);
      return;
    }

  body = request_body (msg);
  data = g_bytes_get_data (body, &length);
  relay = lr_relay_registration_parse (data, length, &error);
  if (relay == NULL)
    {
      respond_error (msg, error);
      return;
    }

  request = request_new (self, msg, ROUTE_RELAYS, method, NULL, NULL);
  if (after_text != NULL)
    request->removed_after = (gint64) after;
  lrc_service_register_relay_async (self->service, relay, relay_registered_cb, request);
}

static void upgrade_cb (SoupServerMessage *msg,
                        LrcServer         *self);

/*
 * The handshake is completed here rather than by a libsoup WebSocket handler, because
 * libsoup upgrades as soon as the normal handler returns without a status, and the token
 * is only checked once the database answers (upgrade_cb takes over once 101 is written).
 */
static void
handle_events (LrcServer         *self,
               SoupServerMessage *msg,
               const LrcCaller   *caller,
               const char        *party_id)
{
  g_autoptr(GError) error = NULL;

  if (!lrc_service_check_party (self->service, caller, party_id, &error))
    {
      respond_error (msg, error);
      return;
    }

  if (!soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &error))
    {
      respond_error_literal (msg, 400, "invalid_request",
                             "This address is a WebSocket: connect with a WebSocket client");
      return;
    }

  /* No extensions: permessage-deflate would let a small frame unpack into a large message,
   * past what the frame meter counts. The connection is upgraded, not closed. */
  soup_message_headers_remove (soup_server_message_get_response_headers (msg), "Connection");
  soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL);
  g_object_set_data_full (G_OBJECT (msg), "lrc-caller", g_memdup2 (caller, sizeof *caller),
                          g_free);
  g_signal_connect_object (msg, "wrote-informational", G_CALLBACK (upgrade_cb), self, 0);
}

static void
party_call_authenticated_cb (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  Request *request = user_data;
  LrcServer *self = request->server;
  SoupServerMessage *msg = request->msg;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = NULL;
  LrcCaller *caller = &request->caller;

  if (!lrc_service_authenticate_finish (self->service, result, caller, &error))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Bearer realm=\"lanrage\"");
      respond_error (msg, error);
      request_finish (request);
      return;
    }

  switch (request->route)
    {
    case ROUTE_PARTY:
      if (g_str_equal (request->method, "GET"))
        {
          lrc_service_get_party_async (self->service, caller, request->party_id, answer_cb,
                                       request);
          return;
        }
      request->ok_status = SOUP_STATUS_NO_CONTENT;
      lrc_service_close_party_async (self->service, caller, request->party_id, answer_cb,
                                     request);
      return;

    case ROUTE_RELAY_TOKEN:
      if ((answer = lrc_service_mint_relay_token (self->service, caller, request->party_id,
                                                  &error)))
        respond_json (msg, SOUP_STATUS_OK, answer);
      break;

    case ROUTE_EVENTS:
      handle_events (self, msg, caller, request->party_id);
      break;

    case ROUTE_PEER:
      if (g_str_equal (request->method, "DELETE"))
        {
          request->ok_status = SOUP_STATUS_NO_CONTENT;
          lrc_service_remove_peer_async (self->service, caller, request->party_id,
                                         request->peer_id, answer_cb, request);
          return;
        }
      else
        {
          g_autoptr(GBytes) body = request_body (msg);
          LrPeerUpdate *update = NULL;
          gsize length;
          const char *data = g_bytes_get_data (body, &length);

          /* Authorise before parsing: someone else's peer answers 403 whatever the body. */
          if (lrc_service_heartbeat (self->service, caller, request->party_id, request->peer_id,
                                     &error) &&
              (update = lr_peer_update_parse (data, length, &error)))
            {
              lrc_service_update_peer_async (self->service, caller, request->party_id,
                                             request->peer_id, update, answer_cb, request);
              return;
            }
        }
      break;

    case ROUTE_HEARTBEAT:
      if (lrc_service_heartbeat (self->service, caller, request->party_id, request->peer_id,
                                 &error))
        respond_no_content (msg);
      break;

    case ROUTE_NONE:
    case ROUTE_HEALTHZ:
    case ROUTE_METRICS:
    case ROUTE_PARTIES:
    case ROUTE_JOIN:
    case ROUTE_RELAYS:
    default:
      g_assert_not_reached ();
    }

  if (error != NULL)
    respond_error (msg, error);
  request_finish (request);
}

static void
handle_party_call (LrcServer         *self,
                   SoupServerMessage *msg,
                   Route              route,
                   const char        *method,
                   const char        *party_id,
                   const char        *peer_id)
{
  Request *request;
  LrcCaller caller;

  /* Heartbeats are most of the requests: a token verified before needs no query. */
  if (route == ROUTE_HEARTBEAT &&
      lrc_service_authenticate_known (self->service, bearer_token (msg), &caller))
    {
      g_autoptr(GError) error = NULL;

      if (lrc_service_heartbeat (self->service, &caller, party_id, peer_id, &error))
        respond_no_content (msg);
      else
        respond_error (msg, error);
      return;
    }

  request = request_new (self, msg, route, method, party_id, peer_id);
  lrc_service_authenticate_async (self->service, bearer_token (msg),
                                  party_call_authenticated_cb, request);
}

static void
metrics_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Request *request = user_data;
  LrcServer *self = request->server;
  g_autoptr(GError) error = NULL;
  g_autofree char *counts = lrc_service_metrics_finish (self->service, result, &error);
  GString *text;
  GHashTableIter iter;
  const char *key;
  gpointer value;

  if (counts == NULL)
    {
      respond_error (request->msg, error);
      request_finish (request);
      return;
    }

  text = g_string_new (counts);
  g_string_append_printf (text,
                          "# HELP lanrage_control_websocket_connections Open events sockets.\n"
                          "# TYPE lanrage_control_websocket_connections gauge\n"
                          "lanrage_control_websocket_connections %u\n"
                          "# HELP lanrage_control_connections Open TCP connections.\n"
                          "# TYPE lanrage_control_connections gauge\n"
                          "lanrage_control_connections %u\n"
                          "# HELP lanrage_control_connections_refused_total Connections closed "
                          "at once for being over a limit.\n"
                          "# TYPE lanrage_control_connections_refused_total counter\n"
                          "lanrage_control_connections_refused_total %" G_GUINT64_FORMAT "\n"
                          "# HELP lanrage_control_requests_total HTTP requests answered.\n"
                          "# TYPE lanrage_control_requests_total counter\n",
                          lrc_event_hub_get_n_connections (self->hub),
                          lrc_listener_get_n_connections (self->listener),
                          lrc_listener_get_n_refused (self->listener));

  g_hash_table_iter_init (&iter, self->request_counts);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, &value))
    {
      g_auto(GStrv) parts = g_strsplit (key, "\t", 3);

      g_string_append_printf (text,
                              "lanrage_control_requests_total{route=\"%s\",method=\"%s\","
                              "status=\"%s\"} %" G_GSIZE_FORMAT "\n",
                              parts[0], parts[1], parts[2], GPOINTER_TO_SIZE (value));
    }

  soup_server_message_set_status (request->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (request->msg, "text/plain; version=0.0.4", SOUP_MEMORY_TAKE,
                                    text->str, text->len);
  g_string_free (text, FALSE);
  request_finish (request);
}

static void
handle_metrics (LrcServer         *self,
                SoupServerMessage *msg)
{
  Request *request = request_new (self, msg, ROUTE_METRICS, "GET", NULL, NULL);

  lrc_service_metrics_async (self->service, metrics_cb, request);
}

/* Whether the database answers, for load balancers: 200 or 503. */
static void
handle_healthz (LrcServer         *self,
                SoupServerMessage *msg)
{
  static const char ok[] = "{\"status\":\"ok\",\"database\":\"ok\"}";
  static const char down[] = "{\"status\":\"unavailable\",\"database\":\"unavailable\"}";
  gboolean healthy = lrc_store_is_healthy (lrc_service_get_store (self->service));

  soup_server_message_set_status (msg, healthy ? SOUP_STATUS_OK : SOUP_STATUS_SERVICE_UNAVAILABLE,
                                  NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                    healthy ? ok : down, strlen (healthy ? ok : down));
}

static gboolean
method_allowed (Route       route,
                const char *method)
{
  switch (route)
    {
    case ROUTE_HEALTHZ:
    case ROUTE_METRICS:
    case ROUTE_EVENTS:
      return g_str_equal (method, "GET");
    case ROUTE_PARTIES:
    case ROUTE_JOIN:
    case ROUTE_RELAY_TOKEN:
    case ROUTE_HEARTBEAT:
      return g_str_equal (method, "POST");
    case ROUTE_RELAYS:
      return g_str_equal (method, "GET") || g_str_equal (method, "POST");
    case ROUTE_PARTY:
      return g_str_equal (method, "GET") || g_str_equal (method, "DELETE");
    case ROUTE_PEER:
      return g_str_equal (method, "PATCH") || g_str_equal (method, "DELETE");
    case ROUTE_NONE:
    default:
      return FALSE;
    }
}

static void
request_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  LrcServer *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  g_auto(GStrv) parts = NULL;
  const char *party_id, *peer_id;
  Route route = match_route (path, &party_id, &peer_id, &parts);

  g_object_set_data (G_OBJECT (msg), "lrc-route", (gpointer) route_labels[route]);

  if (g_object_get_data (G_OBJECT (msg), "lrc-too-large"))
    {
      respond_error_literal (msg, 413, "body_too_large", "The request body is over 64 KiB");
      return;
    }

  if (route == ROUTE_NONE)
    {
      respond_error_literal (msg, 404, "not_found", "There is nothing at this address");
      return;
    }

  if (!method_allowed (route, method))
    {
      respond_error_literal (msg, 405, "method_not_allowed",
                             "This address does not take that method");
      return;
    }

  switch (route)
    {
    case ROUTE_HEALTHZ:
      handle_healthz (self, msg);
      break;

    case ROUTE_METRICS:
      handle_metrics (self, msg);
      break;

    case ROUTE_PARTIES:
    case ROUTE_JOIN:
      handle_create_or_join (self, msg, route);
      break;

    case ROUTE_RELAYS:
      handle_relays (self, msg, method, query);
      break;

    case ROUTE_PARTY:
    case ROUTE_RELAY_TOKEN:
    case ROUTE_EVENTS:
    case ROUTE_PEER:
    case ROUTE_HEARTBEAT:
      handle_party_call (self, msg, route, method, party_id, peer_id);
      break;

    case ROUTE_NONE:
    default:
      g_assert_not_reached ();
    }
}

/* Bodies over the limit are not stored: libsoup reads them and throws them away. */
static void
got_chunk_cb (SoupServerMessage *msg,
              GBytes            *chunk,
              gpointer           user_data)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  if (body->length > LR_MAX_BODY_SIZE)
    {
      soup_message_body_set_accumulate (body, FALSE);
      soup_message_body_truncate (body);
      g_object_set_data (G_OBJECT (msg), "lrc-too-large", GINT_TO_POINTER (TRUE));
    }
}

static void
early_cb (SoupServer        *server,
          SoupServerMessage *msg,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  /* One request per connection: see lrc-listener.c for why. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > LR_MAX_BODY_SIZE)
    {
      soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
      g_object_set_data (G_OBJECT (msg), "lrc-route", (gpointer) route_labels[ROUTE_NONE]);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Connection", "close");
      respond_error_literal (msg, 413, "body_too_large", "The request body is over 64 KiB");
      return;
    }

  g_signal_connect (msg, "got-chunk", G_CALLBACK (got_chunk_cb), NULL);
}

/* The events socket. */

typedef struct
{
  LrcServer               *server;   /* weak: the server outlives its sockets' handlers */
  LrcCaller                caller;
  SoupWebsocketConnection *connection;   /* not a reference: this lives as long as it */
  gint64                   last_heard_us;   /* the last pong or message from the client */
  guint                    liveness_source;
} SocketData;

static void
socket_data_free (SocketData *data)
{
  g_clear_handle_id (&data->liveness_source, g_source_remove);
  g_free (data);
}

static void
send_socket_error (SoupWebsocketConnection *connection,
                   const char              *code,
                   const char              *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "error");
  build_error_member (builder, code, message);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = lr_json_to_string (root);
  soup_websocket_connection_send_text (connection, text);
}

static void
socket_message_cb (SoupWebsocketConnection *connection,
                   int                      type,
                   GBytes                  *message,
                   SocketData              *data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrSignal) signal = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  gsize length;
  const char *bytes = g_bytes_get_data (message, &length);

  data->last_heard_us = g_get_monotonic_time ();
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      send_socket_error (connection, "invalid_message", "Messages must be JSON text");
      return;
    }

  signal = lr_signal_parse (bytes, length, &error);
  if (signal == NULL)
    {
      send_socket_error (connection,
                         g_error_matches (error, LR_ERROR, LR_ERROR_TOO_LARGE)
                           ? "signal_too_large" : "invalid_message",
                         error->message);
      return;
    }

  builder = json_builder_new_immutable ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "signal");
  json_builder_set_member_name (builder, "from");
  json_builder_add_string_value (builder, data->caller.peer_id);
  json_builder_set_member_name (builder, "data");
  json_builder_add_value (builder, json_node_ref (signal->data));
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = lr_json_to_string (root);

  /* The hub only knows this party's sockets: a peer of another party is never reached.
   * A socket held by another instance sharing the database is reached through it. */
  if (!lrc_event_hub_send_to (data->server->hub, data->caller.party_id, signal->to, text) &&
      !lrc_service_route_signal (data->server->service, data->caller.party_id, signal->to,
                                 text))
    send_socket_error (connection, "peer_not_connected",
                       "That peer is not in the party or not connected right now");
}

static void
socket_pong_cb (SoupWebsocketConnection *connection,
                GBytes                  *payload,
                SocketData              *data)
{
  data->last_heard_us = g_get_monotonic_time ();
}

/*
 * libsoup 3.2 pings every --websocket-ping-interval but never gives up on a client that
 * stops answering, whose socket (and peer online state) would then last as long as TCP
 * keeps the connection. Two intervals without a pong or a message and it is closed: its
 * stream is shut under it, for a dead client would not answer a close frame either.
 */
static gboolean
socket_liveness_cb (gpointer user_data)
{
  SocketData *data = user_data;
  gint64 silent_us = g_get_monotonic_time () - data->last_heard_us;

  if (silent_us <= (gint64) data->server->ping_interval_s * 2 * G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;

  g_message ("Closing the events socket of a peer that answered no ping for %" G_GINT64_FORMAT
             " s", silent_us / G_USEC_PER_SEC);
  data->liveness_source = 0;
  g_io_stream_close (soup_websocket_connection_get_io_stream (data->connection), NULL, NULL);
  return G_SOURCE_REMOVE;
}

static void
socket_closed_cb (SoupWebsocketConnection *connection,
                  SocketData              *data)
{
  g_clear_handle_id (&data->liveness_source, g_source_remove);
  lrc_event_hub_remove (data->server->hub, data->caller.party_id, connection);
  lrc_service_socket_closed (data->server->service, &data->caller);
}

static gboolean
close_too_large_cb (gpointer user_data)
{
  SoupWebsocketConnection *connection = user_data;

  if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_TOO_BIG,
                                     "message too large");
  return G_SOURCE_REMOVE;
}

/* Emitted from inside libsoup's read: the close waits for the main loop. */
static void
message_too_large_cb (LrcFrameMeter           *meter,
                      SoupWebsocketConnection *connection)
{
  g_idle_add_full (G_PRIORITY_DEFAULT, close_too_large_cb, g_object_ref (connection),
                   g_object_unref);
}

typedef struct
{
  LrcServer               *server;
  SoupWebsocketConnection *connection;
  char                    *party_id;
} SnapshotWait;

static void
snapshot_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  SnapshotWait *wait = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) snapshot = lrc_service_finish (LRC_SERVICE (source), result, &error);

  if (snapshot == NULL)
    {
      if (g_error_matches (error, LRC_ERROR, LRC_ERROR_NOT_FOUND))
        soup_websocket_connection_close (wait->connection, SOUP_WEBSOCKET_CLOSE_NORMAL,
                                         "party closed");
      else
        {
          g_warning ("Could not read a party for its events socket: %s", error->message);
          soup_websocket_connection_close (wait->connection, SOUP_WEBSOCKET_CLOSE_SERVER_ERROR,
                                           "database unavailable");
        }
    }
  else
    {
      g_autofree char *text = lr_json_to_string (snapshot);

      lrc_event_hub_release (wait->server->hub, wait->party_id, wait->connection, text);
    }

  g_object_unref (wait->connection);
  g_object_unref (wait->server);
  g_free (wait->party_id);
  g_free (wait);
}

static void
socket_open (LrcServer               *self,
             const LrcCaller         *caller,
             SoupWebsocketConnection *connection)
{
  SnapshotWait *wait;
  SocketData *data;

  while (lrc_event_hub_count_peer (self->hub, caller->party_id, caller->peer_id) >=
         MAX_SOCKETS_PER_PEER)
    {
      g_debug ("A peer opened more events sockets than it may; closing its oldest");
      lrc_event_hub_replace_oldest (self->hub, caller->party_id, caller->peer_id,
                                    "replaced by a newer socket");
    }

  /* Signals carry at most 4 KiB of data; anything far bigger is not ours to read. */
  soup_websocket_connection_set_max_incoming_payload_size (connection, MAX_CLIENT_MESSAGE);
  /* Pings find clients that vanished without closing, so they go offline in time. */
  soup_websocket_connection_set_keepalive_interval (connection, self->ping_interval_s);

  data = g_new0 (SocketData, 1);
  data->server = self;
  data->caller = *caller;
  data->connection = connection;
  data->last_heard_us = g_get_monotonic_time ();
  g_signal_connect_data (connection, "message", G_CALLBACK (socket_message_cb), data,
                         (GClosureNotify) (void (*) (void)) socket_data_free, 0);
  g_signal_connect (connection, "pong", G_CALLBACK (socket_pong_cb), data);
  g_signal_connect (connection, "closed", G_CALLBACK (socket_closed_cb), data);
  data->liveness_source = g_timeout_add ((guint) self->ping_interval_s * 1000,
                                         socket_liveness_cb, data);

  /* The socket is in the hub from now on, but what reaches it waits for the snapshot, so
   * nothing that happens while the party is read is lost or comes before it. */
  lrc_event_hub_add (self->hub, caller->party_id, caller->peer_id, connection);
  lrc_service_socket_opened (self->service, caller);

  wait = g_new0 (SnapshotWait, 1);
  wait->server = g_object_ref (self);
  wait->connection = g_object_ref (connection);
  wait->party_id = g_strdup (caller->party_id);
  lrc_service_snapshot_async (self->service, caller->party_id, snapshot_cb, wait);
}

/*
 * The 101 answer is written: the connection becomes a WebSocket. This is what libsoup's own
 * WebSocket handler does, with the client's bytes read through an LrcFrameMeter, which
 * bounds whole messages where libsoup 3.2 bounds only frames.
 */
static void
upgrade_cb (SoupServerMessage *msg,
            LrcServer         *self)
{
  g_autoptr(SoupServerMessage) hold = g_object_ref (msg);
  const LrcCaller *caller = g_object_get_data (G_OBJECT (msg), "lrc-caller");
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(LrcFrameMeter) meter = NULL;
  g_autoptr(GIOStream) metered = NULL;
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  const char *origin;

  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS || caller == NULL)
    return;

  /* libsoup reads this connection no more: the socket's pings watch it from now on. */
  lrc_listener_release (self->listener, msg);
  stream = soup_server_message_steal_connection (msg);
  if (stream == NULL)
    return;

  meter = lrc_frame_meter_new (stream, MAX_CLIENT_MESSAGE);
  metered = g_simple_io_stream_new (G_INPUT_STREAM (meter),
                                    g_io_stream_get_output_stream (stream));
  origin = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                         "Origin");
  connection = soup_websocket_connection_new (metered, soup_server_message_get_uri (msg),
                                              SOUP_WEBSOCKET_CONNECTION_SERVER, origin, NULL,
                                              NULL);
  g_signal_connect_object (meter, "message-too-large", G_CALLBACK (message_too_large_cb),
                           connection, 0);
  socket_open (self, caller, connection);
}

/* Service signals. */

static void
service_event_cb (LrcService *service,
                  const char *party_id,
                  const char *message,
                  LrcServer  *self)
{
  lrc_event_hub_broadcast (self->hub, party_id, message);
}

static void
service_disconnect_cb (LrcService *service,
                       const char *party_id,
                       const char *peer_id,
                       LrcServer  *self)
{
  lrc_event_hub_close (self->hub, party_id, peer_id, peer_id ? "left the party" : "party closed");
}

/* A signal sent through another instance, for a peer whose socket may be here. */
static void
service_signal_cb (LrcService *service,
                   const char *party_id,
                   const char *peer_id,
                   const char *message,
                   LrcServer  *self)
{
  lrc_event_hub_send_to (self->hub, party_id, peer_id, message);
}

/* Other instances' events may have been missed: clients come back for a snapshot. */
static void
service_resync_cb (LrcService *service,
                   LrcServer  *self)
{
  lrc_event_hub_close_all (self->hub, "reconnect for a snapshot");
}

static void
request_finished_cb (SoupServer        *server,
                     SoupServerMessage *msg,
                     LrcServer         *self)
{
  const char *route = g_object_get_data (G_OBJECT (msg), "lrc-route");
  const char *method = soup_server_message_get_method (msg);
  char *key;
  gpointer count;

  if (route == NULL)
    route = route_labels[ROUTE_NONE];

  /* Only known methods become labels: a client must not grow the table at will. */
  if (!g_str_equal (method, "GET") && !g_str_equal (method, "POST") && !g_str_equal (method, "PATCH") &&
      !g_str_equal (method, "DELETE"))
    method = "OTHER";

  key = g_strdup_printf ("%s\t%s\t%u", route, method, soup_server_message_get_status (msg));
  count = g_hash_table_lookup (self->request_counts, key);
  g_hash_table_replace (self->request_counts, key, GSIZE_TO_POINTER (GPOINTER_TO_SIZE (count) + 1));
}

/* Timers. */

static gboolean
cleanup_cb (gpointer user_data)
{
  LrcServer *self = user_data;

  lrc_service_sweep (self->service);
  lrc_rate_limiter_prune (self->rate_limiter);
  return G_SOURCE_CONTINUE;
}

static void
flush_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) done = lrc_service_finish (LRC_SERVICE (source), result, &error);

  if (done == NULL)
    g_warning ("Could not write heartbeats: %s", error->message);
}

static gboolean
flush_cb (gpointer user_data)
{
  LrcServer *self = user_data;

  lrc_service_flush_async (self->service, flush_done_cb, NULL);
  return G_SOURCE_CONTINUE;
}

/* Three renewals per lease: one that is late or fails still leaves two before it runs out. */
static gboolean
lease_cb (gpointer user_data)
{
  LrcServer *self = user_data;

  lrc_service_renew_lease (self->service, self->instance_lease_us);
  return G_SOURCE_CONTINUE;
}

static GSocketAddress *
parse_listen_address (const char  *text,
                      GError     **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const char *port_text;
  guint64 port;

  if (text != NULL && text[0] == '[')
    {
      const char *end = strchr (text, ']');

      if (end == NULL || end[1] != ':')
        goto invalid;
      host = g_strndup (text + 1, end - text - 1);
      port_text = end + 2;
    }
  else if (text != NULL && strrchr (text, ':') != NULL)
    {
      host = g_strndup (text, strrchr (text, ':') - text);
      port_text = strrchr (text, ':') + 1;
    }
  else
    goto invalid;

  address = g_inet_address_new_from_string (host);
  if (address == NULL || !g_ascii_string_to_unsigned (port_text, 10, 0, 65535, &port, NULL))
    goto invalid;

  return g_inet_socket_address_new (address, (guint16) port);

invalid:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "--listen takes ADDRESS:PORT, like 127.0.0.1:8666 or [::]:8666");
  return NULL;
}

/*
 * GLib's listen backlog is 10: when dozens of helpers reconnect at once (a server restart),
 * the kernel drops the overflow and each dropped client waits a second to retry. Measured
 * with 64 clients: p99 778 ms with 10, 4.6 ms with 1024.
 */
#define LISTEN_BACKLOG 1024

static GSocket *
listen_on (GSocketAddress  *address,
           GError         **error)
{
  g_autoptr(GSocket) socket = NULL;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;

  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    return NULL;

  return g_steal_pointer (&socket);
}

static char *
socket_url (GSocket  *socket,
            gboolean  tls)
{
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (socket, NULL);
  g_autofree char *host = NULL;
  GInetSocketAddress *inet;

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup (tls ? "https://localhost/" : "http://localhost/");

  inet = G_INET_SOCKET_ADDRESS (address);
  host = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
  if (g_inet_address_get_family (g_inet_socket_address_get_address (inet)) ==
      G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("%s://[%s]:%u/", tls ? "https" : "http", host,
                            g_inet_socket_address_get_port (inet));
  return g_strdup_printf ("%s://%s:%u/", tls ? "https" : "http", host,
                          g_inet_socket_address_get_port (inet));
}

LrcServer *
lrc_server_new (LrcService              *service,
                LrClock                 *clock,
                const LrcServerOptions  *options,
                GError                 **error)
{
  g_autoptr(LrcServer) self = g_object_new (LRC_TYPE_SERVER, NULL);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  LrcListenerLimits limits = {
    .max_connections = options->max_connections,
    .max_connections_per_address = options->max_connections_per_address,
    .request_timeout_us = options->request_timeout_us,
  };

  self->service = g_object_ref (service);
  self->clock = lr_clock_ref (clock);
  self->hub = lrc_event_hub_new ();
  self->rate_limiter = lrc_rate_limiter_new (options->join_rate_limit, clock);
  self->join_rate_limit = options->join_rate_limit;
  self->ping_interval_s = MAX (1, options->ping_interval_s);

  address = parse_listen_address (options->listen, error);
  if (address == NULL)
    return NULL;

  self->soup = soup_server_new ("server-header", "lanrage-control ", NULL);

  if (options->tls_cert != NULL || options->tls_key != NULL)
    {
      if (options->tls_cert == NULL || options->tls_key == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "HTTPS needs both --tls-cert and --tls-key");
          return NULL;
        }

      certificate = g_tls_certificate_new_from_files (options->tls_cert, options->tls_key, error);
      if (certificate == NULL)
        return NULL;
    }

  soup_server_add_early_handler (self->soup, NULL, early_cb, self, NULL);
  soup_server_add_handler (self->soup, NULL, request_cb, self, NULL);
  g_signal_connect_object (self->soup, "request-finished", G_CALLBACK (request_finished_cb),
                           self, 0);

  g_signal_connect_object (service, "event", G_CALLBACK (service_event_cb), self, 0);
  g_signal_connect_object (service, "disconnect", G_CALLBACK (service_disconnect_cb), self, 0);
  g_signal_connect_object (service, "signal", G_CALLBACK (service_signal_cb), self, 0);
  g_signal_connect_object (service, "resync", G_CALLBACK (service_resync_cb), self, 0);

  socket = listen_on (address, error);
  if (socket == NULL)
    return NULL;
  self->url = socket_url (socket, certificate != NULL);
  self->listener = lrc_listener_new (self->soup, socket, certificate, &limits);

  self->cleanup_source = g_timeout_add (MAX (1, options->cleanup_interval_us / 1000),
                                        cleanup_cb, self);
  self->flush_source = g_timeout_add (MAX (1, options->flush_interval_us / 1000), flush_cb, self);
  self->instance_lease_us = options->instance_lease_us;
  if (lrc_store_is_shared (lrc_service_get_store (service)) && options->instance_lease_us > 0)
    {
      lrc_service_renew_lease (service, options->instance_lease_us);
      self->lease_source = g_timeout_add (MAX (1, options->instance_lease_us / 3000), lease_cb,
                                          self);
    }

  return g_steal_pointer (&self);
}

char *
lrc_server_get_url (LrcServer *self)
{
  return g_strdup (self->url);
}

/* Stops listening; the service's heartbeats are the caller's to flush. */
void
lrc_server_stop (LrcServer *self)
{
  g_clear_handle_id (&self->cleanup_source, g_source_remove);
  g_clear_handle_id (&self->flush_source, g_source_remove);
  g_clear_handle_id (&self->lease_source, g_source_remove);

  if (self->listener != NULL)
    lrc_listener_stop (self->listener);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
}
