/* lrd-control-client.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-control-client.h"
#include "lrd-error.h"

#include "lr-control-answers.h"

#include "lr-json.h"

#include <sodium.h>
#include <string.h>

/* A party of many peers is still far below this; anything larger is not our server. */
#define MAX_ANSWER_SIZE (1024 * 1024)
/* A server's error message is shown whole up to this; a longer one is not for people. */
#define MAX_SERVER_MESSAGE_CHARS 200
/* Seconds before a request without an answer counts as "server unreachable". */
#define REQUEST_TIMEOUT_S 10

struct _LrdControlClient
{
  GObject      parent_instance;

  char        *base_url;
  GUri        *base_uri;
  SoupSession *session;
};

G_DEFINE_FINAL_TYPE (LrdControlClient, lrd_control_client, G_TYPE_OBJECT)

static void
lrd_control_client_finalize (GObject *object)
{
  LrdControlClient *self = LRD_CONTROL_CLIENT (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->base_uri, g_uri_unref);
  g_clear_pointer (&self->base_url, g_free);

  G_OBJECT_CLASS (lrd_control_client_parent_class)->finalize (object);
}

static void
lrd_control_client_class_init (LrdControlClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lrd_control_client_finalize;
}

static void
lrd_control_client_init (LrdControlClient *self)
{
  self->session = soup_session_new_with_options ("timeout", REQUEST_TIMEOUT_S,
                                                 "idle-timeout", 60,
                                                 "user-agent", "lanrage-helper",
                                                 /* Direct connections: a system daemon has
                                                  * no user's proxy settings, and reading
                                                  * them would load GSettings and dconf. */
                                                 "proxy-resolver", NULL,
                                                 NULL);
}

/**
 * lrd_control_client_new:
 * @base_url: the server, ending in "/" (lrd_config_load() makes sure it does)
 */
LrdControlClient *
lrd_control_client_new (const char *base_url)
{
  LrdControlClient *self = g_object_new (LRD_TYPE_CONTROL_CLIENT, NULL);

  self->base_url = g_strdup (base_url);
  self->base_uri = g_uri_parse (base_url, SOUP_HTTP_URI_FLAGS, NULL);
  return self;
}

/**
 * lrd_control_client_set_base_url:
 * @base_url: the server, ending in "/" (lrd_config_normalize_control_url() makes sure)
 *
 * Sends the next requests to another server. Requests already on their way finish with
 * the old one: call it while no party is on.
 */
void
lrd_control_client_set_base_url (LrdControlClient *self,
                                 const char       *base_url)
{
  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));
  g_return_if_fail (base_url != NULL);

  g_free (self->base_url);
  self->base_url = g_strdup (base_url);
  g_clear_pointer (&self->base_uri, g_uri_unref);
  self->base_uri = g_uri_parse (base_url, SOUP_HTTP_URI_FLAGS, NULL);
}

const char *
lrd_control_client_get_base_url (LrdControlClient *self)
{
  g_return_val_if_fail (LRD_IS_CONTROL_CLIENT (self), NULL);
  return self->base_url;
}

/* Whether an HTTP status says the token or the party is no more (as opposed to "try
 * again later"), for answers without an error code (a proxy in front of the server). */
static gboolean
status_means_gone (guint status)
{
  return status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN ||
         status == SOUP_STATUS_NOT_FOUND;
}

/* Reads a successful answer's body (%NULL: empty, 204) into the call's typed value. */
typedef gpointer (*AnswerParser) (JsonNode  *root,
                                  GError   **error);

typedef struct
{
  SoupMessage    *message;
  AnswerParser    parse;
  GDestroyNotify  free_answer;
  /* Creating and joining: a refused field can only be a name (the rest is the helper's). */
  gboolean        names_in_body;
} Request;

static void
request_free (Request *request)
{
  g_clear_object (&request->message);
  g_free (request);
}

/* The message of a request, also kept in @task's Request, or %NULL when @task has been
 * given the error already. */
static SoupMessage *
new_message (LrdControlClient *self,
             GTask            *task,
             const char       *method,
             const char       *path,
             const char       *token)
{
  Request *request = g_task_get_task_data (task);
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) error = NULL;
  SoupMessage *message;

  /* Paths are "v1/...", relative to the base URL, so a server under a prefix works. */
  if (self->base_uri != NULL)
    uri = g_uri_parse_relative (self->base_uri, path, SOUP_HTTP_URI_FLAGS, &error);
  if (uri == NULL)
    {
      if (error == NULL)
        error = g_error_new (LRD_ERROR, LRD_ERROR_FAILED,
                             "The control server address “%s” is not valid", self->base_url);
      g_task_return_error (task, g_steal_pointer (&error));
      return NULL;
    }

  message = soup_message_new_from_uri (method, uri);
  if (token != NULL)
    {
      g_autofree char *authorization = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (message),
                                    "Authorization", authorization);
      /* libsoup keeps its own copy; this one holds the token and is wiped. */
      sodium_memzero (authorization, strlen (authorization));
    }
  request->message = g_object_ref (message);
  return message;
}

/* A server's message goes into LastError and D-Bus errors, and from there to a terminal
 * (lanragectl): control characters become U+FFFD, so no escape sequence gets through, and
 * a long message is cut. */
static char *
printable_server_message (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  g_autofree char *cut = g_utf8_substring (valid, 0, MIN (g_utf8_strlen (valid, -1),
                                                          MAX_SERVER_MESSAGE_CHARS));
  GString *printable = g_string_sized_new (strlen (cut));

  for (const char *p = cut; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029)
        c = 0xfffd;
      g_string_append_unichar (printable, c);
    }
  return g_string_free (printable, FALSE);
}

/* An error answer as a named error: from the server's code where it sent one, from the
 * HTTP status where it did not. */
static GError *
error_from_answer (LrdControlClient *self,
                   Request          *request,
                   guint             status,
                   JsonNode         *root)
{
  g_autoptr(LrErrorAnswer) answer = lr_error_answer_parse_node (root);
  const char *code = answer->code != NULL ? answer->code : "";
  LrdError lrd_code = LRD_ERROR_FAILED;

  if (g_str_equal (code, "rate_limited") || status == 429)
    return g_error_new (LRD_ERROR, LRD_ERROR_FAILED,
                        "Too many tries from this address; wait a minute and try again");

  if (g_str_equal (code, "invalid_invite_code"))
    lrd_code = LRD_ERROR_INVALID_INVITE_CODE;
  else if (g_str_equal (code, "invite_not_found") || g_str_equal (code, "not_found") ||
           g_str_equal (code, "unauthorized") || g_str_equal (code, "forbidden"))
    lrd_code = LRD_ERROR_PARTY_NOT_FOUND;
  else if (request->names_in_body &&
           (g_str_equal (code, "invalid_field") || g_str_equal (code, "field_too_large") ||
            g_str_equal (code, "missing_field")))
    lrd_code = LRD_ERROR_INVALID_NAME;
  else if (answer->code == NULL && status_means_gone (status))
    lrd_code = LRD_ERROR_PARTY_NOT_FOUND;
  else if (status == SOUP_STATUS_BAD_GATEWAY || status == SOUP_STATUS_SERVICE_UNAVAILABLE ||
           status == SOUP_STATUS_GATEWAY_TIMEOUT)
    lrd_code = LRD_ERROR_SERVER_UNREACHABLE;

  if (answer->message != NULL)
    {
      g_autofree char *printable = printable_server_message (answer->message);

      return g_error_new (LRD_ERROR, lrd_code, "The LANrage server said: %s", printable);
    }
  return g_error_new (LRD_ERROR, lrd_code, "The LANrage server answered HTTP %u %s", status,
                      soup_status_get_phrase (status));
}

static void
send_and_read_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdControlClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  SoupMessage *message = request->message;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonNode) root = NULL;
  gpointer answer;
  guint status;
  const char *data;
  gsize length = 0;

  bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (bytes == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_debug ("%s %s: %s", soup_message_get_method (message),
               g_uri_get_path (soup_message_get_uri (message)), error->message);
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_SERVER_UNREACHABLE,
                               "Cannot reach the LANrage server at %s (%s)", self->base_url,
                               error->message);
      return;
    }

  status = soup_message_get_status (message);
  data = g_bytes_get_data (bytes, &length);
  if (length > MAX_ANSWER_SIZE)
    {
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_FAILED,
                               "The LANrage server sent an answer too large to be one");
      return;
    }
  if (length > 0)
    root = lr_json_parse_object (data, length, NULL);

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_task_return_error (task, error_from_answer (self, request, status, root));
      return;
    }
  if (length > 0 && root == NULL)
    {
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_FAILED,
                               "The LANrage server sent an answer that is not JSON "
                               "(HTTP %u)", status);
      return;
    }

  answer = request->parse (root, &error);
  if (answer == NULL)
    {
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_FAILED,
                               "The LANrage server sent an answer this helper does not "
                               "understand (%s)", error->message);
      return;
    }
  g_task_return_pointer (task, answer, request->free_answer);
}

static void
request_async (LrdControlClient    *self,
               const char          *method,
               const char          *path,
               const char          *token,
               JsonNode            *body,
               AnswerParser         parse,
               GDestroyNotify       free_answer,
               gboolean             names_in_body,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data,
               gpointer             source_tag)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) message = NULL;
  Request *request = g_new0 (Request, 1);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  request->parse = parse;
  request->free_answer = free_answer;
  request->names_in_body = names_in_body;
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  message = new_message (self, task, method, path, token);
  if (message == NULL)
    return;

  if (body != NULL)
    {
      g_autofree char *text = json_to_string (body, FALSE);
      gsize length = strlen (text);

      soup_message_set_request_body_from_bytes (message, "application/json",
                                                g_bytes_new_take (g_steal_pointer (&text),
                                                                  length));
    }
  /* Heartbeats and reads can be retried on a fresh connection if a pooled one died. */
  if (g_strcmp0 (method, "GET") == 0 || g_str_has_suffix (path, "/heartbeat"))
    soup_message_add_flags (message, SOUP_MESSAGE_IDEMPOTENT);

  soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT, cancellable,
                                    send_and_read_cb, g_steal_pointer (&task));
}

static gpointer
propagate (LrdControlClient  *self,
           GAsyncResult      *result,
           gpointer           source_tag,
           GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The answers */

static gpointer
parse_join (JsonNode  *root,
            GError   **error)
{
  return lr_join_answer_parse_node (root, error);
}

static gpointer
parse_party_view (JsonNode  *root,
                  GError   **error)
{
  return lr_party_view_parse_node (root, error);
}

static gpointer
parse_relay_token (JsonNode  *root,
                   GError   **error)
{
  return lr_relay_token_answer_parse_node (root, error);
}

static gpointer
parse_relay_list (JsonNode  *root,
                  GError   **error)
{
  return lr_relay_list_parse_node (root, error);
}

/* For 204: any success is the answer. */
static gpointer
parse_nothing (JsonNode  *root,
               GError   **error)
{
  return GINT_TO_POINTER (TRUE);
}

static void
start_join (LrdControlClient    *self,
            const char          *path,
            const char          *key,
            const char          *value,
            const LrPeerIn      *peer,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, key);
  json_builder_add_string_value (builder, value);
  json_builder_set_member_name (builder, "peer");
  lr_peer_in_build (peer, builder);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  /* Not cancellable: once sent, the server may have made us a member, and the answer is
   * needed to undo that. */
  request_async (self, "POST", path, NULL, body, parse_join,
                 (GDestroyNotify) lr_join_answer_free, TRUE, NULL, callback, user_data,
                 lrd_control_client_join_async);
}

/**
 * lrd_control_client_create_party_async:
 *
 * POST /v1/parties. Not cancellable: once sent, the server may have made this machine a
 * member, and the answer is needed to undo that. lrd_control_client_join_finish() gives the
 * answer.
 */
void
lrd_control_client_create_party_async (LrdControlClient    *self,
                                       const char          *party_name,
                                       const LrPeerIn      *peer,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));

  start_join (self, "v1/parties", "name", party_name, peer, callback, user_data);
}

/**
 * lrd_control_client_join_async:
 *
 * POST /v1/join, like lrd_control_client_create_party_async().
 */
void
lrd_control_client_join_async (LrdControlClient    *self,
                               const char          *invite_code,
                               const LrPeerIn      *peer,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));

  start_join (self, "v1/join", "invite_code", invite_code, peer, callback, user_data);
}

LrJoinAnswer *
lrd_control_client_join_finish (LrdControlClient  *self,
                                GAsyncResult      *result,
                                GError           **error)
{
  return propagate (self, result, lrd_control_client_join_async, error);
}

void
lrd_control_client_get_party_async (LrdControlClient    *self,
                                    const char          *party_id,
                                    const char          *token,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autofree char *path = g_strdup_printf ("v1/parties/%s", party_id);

  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));

  request_async (self, "GET", path, token, NULL, parse_party_view,
                 (GDestroyNotify) lr_party_view_free, FALSE, cancellable, callback, user_data,
                 lrd_control_client_get_party_async);
}

LrPartyView *
lrd_control_client_get_party_finish (LrdControlClient  *self,
                                     GAsyncResult      *result,
                                     GError           **error)
{
  return propagate (self, result, lrd_control_client_get_party_async, error);
}

void
lrd_control_client_relay_token_async (LrdControlClient    *self,
                                      const char          *party_id,
                                      const char          *token,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autofree char *path = g_strdup_printf ("v1/parties/%s/relay-token", party_id);

  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));

  request_async (self, "POST", path, token, NULL, parse_relay_token,
                 (GDestroyNotify) lr_relay_token_answer_free, FALSE, cancellable, callback,
                 user_data, lrd_control_client_relay_token_async);
}

LrRelayTokenAnswer *
lrd_control_client_relay_token_finish (LrdControlClient  *self,
                                       GAsyncResult      *result,
                                       GError           **error)
{
  return propagate (self, result, lrd_control_client_relay_token_async, error);
}

void
lrd_control_client_list_relays_async (LrdControlClient    *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));

  request_async (self, "GET", "v1/relays", NULL, NULL, parse_relay_list,
                 (GDestroyNotify) g_strfreev, FALSE, cancellable, callback, user_data,
                 lrd_control_client_list_relays_async);
}

/* Returns: (transfer full): relay endpoints, "address:port" */
GStrv
lrd_control_client_list_relays_finish (LrdControlClient  *self,
                                       GAsyncResult      *result,
                                       GError           **error)
{
  return propagate (self, result, lrd_control_client_list_relays_async, error);
}

void
lrd_control_client_heartbeat_async (LrdControlClient    *self,
                                    const char          *party_id,
                                    const char          *peer_id,
                                    const char          *token,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autofree char *path = g_strdup_printf ("v1/parties/%s/peers/%s/heartbeat", party_id,
                                           peer_id);

  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));

  request_async (self, "POST", path, token, NULL, parse_nothing, NULL, FALSE, cancellable, callback,
                 user_data, lrd_control_client_heartbeat_async);
}

gboolean
lrd_control_client_heartbeat_finish (LrdControlClient  *self,
                                     GAsyncResult      *result,
                                     GError           **error)
{
  return propagate (self, result, lrd_control_client_heartbeat_async, error) != NULL;
}

/**
 * lrd_control_client_update_peer_async:
 * @update: the fields of this machine's peer to change (endpoints, NAT)
 *
 * PATCH /v1/parties/{party_id}/peers/{peer_id}: the server tells the party (peer_updated).
 */
void
lrd_control_client_update_peer_async (LrdControlClient    *self,
                                      const char          *party_id,
                                      const char          *peer_id,
                                      const char          *token,
                                      const LrPeerUpdate  *update,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autofree char *path = g_strdup_printf ("v1/parties/%s/peers/%s", party_id, peer_id);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;

  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));

  lr_peer_update_build (update, builder);
  body = json_builder_get_root (builder);
  request_async (self, "PATCH", path, token, body, parse_nothing, NULL, FALSE, cancellable,
                 callback, user_data, lrd_control_client_update_peer_async);
}

gboolean
lrd_control_client_update_peer_finish (LrdControlClient  *self,
                                       GAsyncResult      *result,
                                       GError           **error)
{
  return propagate (self, result, lrd_control_client_update_peer_async, error) != NULL;
}

/**
 * lrd_control_client_leave_async:
 *
 * DELETE /v1/parties/{party_id}/peers/{peer_id}: this machine leaves. Not cancellable, so
 * that a leave is told even while everything else of the party is being cancelled.
 */
void
lrd_control_client_leave_async (LrdControlClient    *self,
                                const char          *party_id,
                                const char          *peer_id,
                                const char          *token,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autofree char *path = g_strdup_printf ("v1/parties/%s/peers/%s", party_id, peer_id);

  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));

  request_async (self, "DELETE", path, token, NULL, parse_nothing, NULL, FALSE, NULL, callback,
                 user_data, lrd_control_client_leave_async);
}

gboolean
lrd_control_client_leave_finish (LrdControlClient  *self,
                                 GAsyncResult      *result,
                                 GError           **error)
{
  return propagate (self, result, lrd_control_client_leave_async, error) != NULL;
}

/* The events socket */

static void
websocket_connect_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *connection;
  guint status = soup_message_get_status (request->message);

  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (status_means_gone (status))
        g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND,
                                 "The party is gone, or this machine was removed from it");
      else
        g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_SERVER_UNREACHABLE,
                                 "Cannot open the events socket (%s)", error->message);
      return;
    }
  g_task_return_pointer (task, connection, g_object_unref);
}

void
lrd_control_client_connect_events_async (LrdControlClient    *self,
                                         const char          *party_id,
                                         const char          *token,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) message = NULL;
  g_autofree char *path = g_strdup_printf ("v1/parties/%s/events", party_id);

  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_control_client_connect_events_async);
  g_task_set_task_data (task, g_new0 (Request, 1), (GDestroyNotify) request_free);
  message = new_message (self, task, "GET", path, token);
  if (message == NULL)
    return;
  soup_session_websocket_connect_async (self->session, message, NULL, NULL, G_PRIORITY_DEFAULT,
                                        cancellable, websocket_connect_cb,
                                        g_steal_pointer (&task));
}

SoupWebsocketConnection *
lrd_control_client_connect_events_finish (LrdControlClient  *self,
                                          GAsyncResult      *result,
                                          GError           **error)
{
  return propagate (self, result, lrd_control_client_connect_events_async, error);
}
