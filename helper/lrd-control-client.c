/* lrd-control-client.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-control-client.h"
#include "lrd-error.h"

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

gboolean
lrd_control_status_means_gone (guint status)
{
  return status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN ||
         status == SOUP_STATUS_NOT_FOUND;
}

/* The message of a request, also kept as @task's data (for its status), or %NULL when
 * @task has been given the error already. */
static SoupMessage *
new_message (LrdControlClient *self,
             GTask            *task,
             const char       *method,
             const char       *path,
             const char       *token)
{
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
  g_task_set_task_data (task, g_object_ref (message), g_object_unref);
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

static void
send_and_read_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdControlClient *self = g_task_get_source_object (task);
  SoupMessage *message = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonNode) root = NULL;
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
      g_task_set_task_data (task, NULL, NULL);
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

  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      if (length > 0 && root == NULL)
        {
          g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_FAILED,
                                   "The LANrage server sent an answer that is not JSON "
                                   "(HTTP %u)", status);
          return;
        }
      g_task_return_pointer (task, g_steal_pointer (&root), (GDestroyNotify) json_node_unref);
      return;
    }

  {
    const char *code = NULL;
    const char *server_message = NULL;
    LrdError lrd_code = LRD_ERROR_FAILED;
    JsonObject *object = root != NULL ? json_node_get_object (root) : NULL;
    JsonObject *error_object = NULL;

    if (object != NULL && json_object_has_member (object, "error") &&
        JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "error")))
      error_object = json_object_get_object_member (object, "error");
    if (error_object != NULL)
      {
        JsonNode *node = json_object_get_member (error_object, "code");

        if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
            json_node_get_value_type (node) == G_TYPE_STRING)
          code = json_node_get_string (node);
        node = json_object_get_member (error_object, "message");
        if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
            json_node_get_value_type (node) == G_TYPE_STRING)
          server_message = json_node_get_string (node);
      }

    if (g_strcmp0 (code, "invalid_invite_code") == 0)
      lrd_code = LRD_ERROR_INVALID_INVITE_CODE;
    else if (g_strcmp0 (code, "invite_not_found") == 0)
      lrd_code = LRD_ERROR_PARTY_NOT_FOUND;
    else if (lrd_control_status_means_gone (status))
      lrd_code = LRD_ERROR_PARTY_NOT_FOUND;
    else if (server_message != NULL && (g_str_has_prefix (server_message, "name:") ||
                                        g_str_has_prefix (server_message, "peer.name:")))
      lrd_code = LRD_ERROR_INVALID_NAME;
    else if (status == SOUP_STATUS_BAD_GATEWAY || status == SOUP_STATUS_SERVICE_UNAVAILABLE ||
             status == SOUP_STATUS_GATEWAY_TIMEOUT)
      lrd_code = LRD_ERROR_SERVER_UNREACHABLE;

    if (status == 429)
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_FAILED,
                               "Too many tries from this address; wait a minute and try again");
    else if (server_message != NULL)
      {
        g_autofree char *printable = printable_server_message (server_message);

        g_task_return_new_error (task, LRD_ERROR, lrd_code, "The LANrage server said: %s",
                                 printable);
      }
    else
      g_task_return_new_error (task, LRD_ERROR, lrd_code,
                               "The LANrage server answered HTTP %u %s", status,
                               soup_status_get_phrase (status));
  }
}

void
lrd_control_client_request_async (LrdControlClient    *self,
                                  const char          *method,
                                  const char          *path,
                                  const char          *token,
                                  JsonNode            *body,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) message = NULL;

  g_return_if_fail (LRD_IS_CONTROL_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lrd_control_client_request_async);
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

/* Both kinds of request keep their SoupMessage as task data, for its status; a request that
 * never got as far as a message (a base URL that cannot take the path), or that reached no
 * server, has none. */
static gpointer
propagate_with_status (LrdControlClient  *self,
                       GAsyncResult      *result,
                       guint             *out_status,
                       GError           **error)
{
  SoupMessage *message;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  message = g_task_get_task_data (G_TASK (result));
  if (out_status != NULL)
    *out_status = message != NULL ? soup_message_get_status (message) : 0;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * lrd_control_client_request_finish:
 * @out_status: (out) (optional): the HTTP status, or 0 when no answer came
 *
 * Returns: (transfer full) (nullable): the answer's JSON object, or %NULL for an empty
 *   answer (204) or an error
 */
JsonNode *
lrd_control_client_request_finish (LrdControlClient  *self,
                                   GAsyncResult      *result,
                                   guint             *out_status,
                                   GError           **error)
{
  return propagate_with_status (self, result, out_status, error);
}

static void
websocket_connect_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SoupMessage *message = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *connection;
  guint status = soup_message_get_status (message);

  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (lrd_control_status_means_gone (status))
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
                                          guint             *out_status,
                                          GError           **error)
{
  return propagate_with_status (self, result, out_status, error);
}
