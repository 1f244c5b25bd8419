/* lr-control-answers.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-control-answers.h"

#include "lr-error.h"
#include "lr-json.h"
#include "lr-id.h"
#include "lr-token.h"

#include <string.h>

static JsonObject *
object_of (JsonNode    *node,
           const char  *what,
           GError     **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "%s must be an object", what);
      return NULL;
    }
  return json_node_get_object (node);
}

/* The endpoints of an array of Relays; a relay described oddly is skipped, and so is all
 * but the first LR_MAX_RELAYS. Not an array: an empty list. */
static GStrv
relay_endpoints (JsonNode *node)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return g_strv_builder_end (builder);
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array) && i < LR_MAX_RELAYS; i++)
    {
      /* The parser accepts only an address literal and port as the endpoint. */
      g_autoptr(LrRelay) relay = lr_relay_parse_node (json_array_get_element (array, i), NULL);

      if (relay != NULL)
        g_strv_builder_add (builder, relay->endpoint);
    }
  return g_strv_builder_end (builder);
}

/* Join answer */

/**
 * lr_join_answer_parse_node:
 *
 * The party, this machine's peer and its bearer token are required and checked; the relay
 * token is taken only with a valid expiry, and the relays that are well described.
 */
LrJoinAnswer *
lr_join_answer_parse_node (JsonNode  *node,
                           GError   **error)
{
  g_autoptr(LrJoinAnswer) self = g_new0 (LrJoinAnswer, 1);
  JsonObject *object = object_of (node, "The answer", error);
  JsonObject *peer_object;
  const char *token, *relay_token;

  if (object == NULL)
    return NULL;
  self->party = lr_party_parse_node (json_object_get_member (object, "party"), error);
  if (self->party == NULL)
    return NULL;
  self->peer = lr_peer_parse_node (json_object_get_member (object, "peer"), error);
  if (self->peer == NULL)
    return NULL;

  peer_object = json_object_get_object_member (object, "peer");
  token = lr_json_peek_string (peer_object, "token");
  if (!lr_token_is_well_formed (token))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "peer.token: missing or malformed");
      return NULL;
    }
  self->token = g_strdup (token);

  relay_token = lr_json_peek_string (peer_object, "relay_token");
  if (relay_token != NULL && relay_token[0] != '\0' &&
      lr_timestamp_parse (lr_json_peek_string (peer_object, "relay_token_expires_at"),
                          &self->relay_token_expires_at))
    self->relay_token = g_strdup (relay_token);
  else
    self->relay_token_expires_at = 0;

  self->relays = relay_endpoints (json_object_get_member (object, "relays"));
  return g_steal_pointer (&self);
}

LrJoinAnswer *
lr_join_answer_parse (const char  *data,
                      gsize        length,
                      GError     **error)
{
  g_autoptr(JsonNode) root = lr_json_parse_object (data, length, error);

  if (root == NULL)
    return NULL;
  return lr_join_answer_parse_node (root, error);
}

void
lr_join_answer_free (LrJoinAnswer *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->party, lr_party_free);
  g_clear_pointer (&self->peer, lr_peer_free);
  if (self->token != NULL)
    explicit_bzero (self->token, strlen (self->token));
  g_free (self->token);
  if (self->relay_token != NULL)
    explicit_bzero (self->relay_token, strlen (self->relay_token));
  g_free (self->relay_token);
  g_strfreev (self->relays);
  g_free (self);
}

/* Relay token */

LrRelayTokenAnswer *
lr_relay_token_answer_parse_node (JsonNode  *node,
                                  GError   **error)
{
  g_autoptr(LrRelayTokenAnswer) self = g_new0 (LrRelayTokenAnswer, 1);
  JsonObject *object = object_of (node, "The answer", error);
  const char *token;

  if (object == NULL)
    return NULL;
  token = lr_json_peek_string (object, "relay_token");
  if (token == NULL || token[0] == '\0')
    {
      g_set_error (error, LR_ERROR, LR_ERROR_MISSING_FIELD, "relay_token: missing");
      return NULL;
    }
  if (!lr_timestamp_parse (lr_json_peek_string (object, "expires_at"), &self->expires_at))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "expires_at: missing or malformed");
      return NULL;
    }
  self->relay_token = g_strdup (token);
  return g_steal_pointer (&self);
}

void
lr_relay_token_answer_free (LrRelayTokenAnswer *self)
{
  if (self == NULL)
    return;
  if (self->relay_token != NULL)
    explicit_bzero (self->relay_token, strlen (self->relay_token));
  g_free (self->relay_token);
  g_free (self);
}

/* Relay list */

GStrv
lr_relay_list_parse_node (JsonNode  *node,
                          GError   **error)
{
  JsonObject *object = object_of (node, "The relay list", error);
  JsonNode *relays;

  if (object == NULL)
    return NULL;
  relays = json_object_get_member (object, "relays");
  if (relays == NULL || !JSON_NODE_HOLDS_ARRAY (relays))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "relays: must be an array");
      return NULL;
    }
  return relay_endpoints (relays);
}

/* Party view */

LrPartyView *
lr_party_view_parse_node (JsonNode  *node,
                          GError   **error)
{
  g_autoptr(LrPartyView) self = g_new0 (LrPartyView, 1);
  JsonObject *object = object_of (node, "The party", error);
  JsonNode *peers;

  if (object == NULL)
    return NULL;
  self->party = lr_party_parse_node (json_object_get_member (object, "party"), NULL);
  peers = json_object_get_member (object, "peers");
  if (peers != NULL && JSON_NODE_HOLDS_ARRAY (peers))
    {
      JsonArray *array = json_node_get_array (peers);

      self->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) lr_peer_free);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          LrPeer *peer = lr_peer_parse_node (json_array_get_element (array, i), NULL);

          if (peer != NULL)
            g_ptr_array_add (self->peers, peer);
        }
    }
  return g_steal_pointer (&self);
}

void
lr_party_view_free (LrPartyView *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->party, lr_party_free);
  g_clear_pointer (&self->peers, g_ptr_array_unref);
  g_free (self);
}

/* Events */

static const struct
{
  const char  *name;
  LrEventType  type;
} event_types[] = {
  { "snapshot", LR_EVENT_SNAPSHOT },
  { "peer_joined", LR_EVENT_PEER_JOINED },
  { "peer_updated", LR_EVENT_PEER_UPDATED },
  { "peer_offline", LR_EVENT_PEER_OFFLINE },
  { "peer_left", LR_EVENT_PEER_LEFT },
  { "party_updated", LR_EVENT_PARTY_UPDATED },
  { "party_closed", LR_EVENT_PARTY_CLOSED },
  { "signal", LR_EVENT_SIGNAL },
  { "error", LR_EVENT_ERROR },
};

/**
 * lr_event_parse:
 *
 * Returns: the event, or %NULL when it is not JSON, has no type, or lacks what its type
 *   needs (a peer event without a well-formed peer, a signal without a sender id)
 */
LrEvent *
lr_event_parse (const char  *data,
                gsize        length,
                GError     **error)
{
  g_autoptr(JsonNode) root = lr_json_parse_object (data, length, error);
  g_autoptr(LrEvent) self = NULL;
  JsonObject *object;
  const char *type;

  if (root == NULL)
    return NULL;
  object = json_node_get_object (root);
  type = lr_json_peek_string (object, "type");
  if (type == NULL)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_MISSING_FIELD, "type: missing");
      return NULL;
    }

  self = g_new0 (LrEvent, 1);
  for (gsize i = 0; i < G_N_ELEMENTS (event_types); i++)
    {
      if (g_str_equal (type, event_types[i].name))
        self->type = event_types[i].type;
    }

  switch (self->type)
    {
    case LR_EVENT_SNAPSHOT:
      self->snapshot = lr_party_view_parse_node (root, error);
      if (self->snapshot == NULL)
        return NULL;
      break;

    case LR_EVENT_PEER_JOINED:
    case LR_EVENT_PEER_UPDATED:
    case LR_EVENT_PEER_OFFLINE:
    case LR_EVENT_PEER_LEFT:
      self->peer = lr_peer_parse_node (json_object_get_member (object, "peer"), error);
      if (self->peer == NULL)
        return NULL;
      break;

    case LR_EVENT_PARTY_UPDATED:
      self->party = lr_party_parse_node (json_object_get_member (object, "party"), error);
      if (self->party == NULL)
        return NULL;
      break;

    case LR_EVENT_PARTY_CLOSED:
      self->party = lr_party_parse_node (json_object_get_member (object, "party"), NULL);
      break;

    case LR_EVENT_SIGNAL:
      {
        const char *from = lr_json_peek_string (object, "from");
        JsonNode *payload = json_object_get_member (object, "data");

        if (!lr_id_is_valid (from) || payload == NULL || !JSON_NODE_HOLDS_OBJECT (payload))
          {
            g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                         "signal: from or data missing or malformed");
            return NULL;
          }
        self->from = g_strdup (from);
        self->data = json_node_copy (payload);
      }
      break;

    case LR_EVENT_ERROR:
      {
        g_autoptr(LrErrorAnswer) answer = lr_error_answer_parse_node (root);

        self->error_code = g_steal_pointer (&answer->code);
      }
      break;

    case LR_EVENT_UNKNOWN:
    default:
      break;
    }
  return g_steal_pointer (&self);
}

void
lr_event_free (LrEvent *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->snapshot, lr_party_view_free);
  g_clear_pointer (&self->peer, lr_peer_free);
  g_clear_pointer (&self->party, lr_party_free);
  g_free (self->from);
  g_clear_pointer (&self->data, json_node_unref);
  g_free (self->error_code);
  g_free (self);
}

/* Errors */

/**
 * lr_error_answer_parse_node:
 * @node: (nullable): an error answer's body
 *
 * Returns: (transfer full): never %NULL; code and message are %NULL where the body has
 *   none (no body, not an error body, members of another type)
 */
LrErrorAnswer *
lr_error_answer_parse_node (JsonNode *node)
{
  LrErrorAnswer *self = g_new0 (LrErrorAnswer, 1);
  JsonObject *object = node != NULL && JSON_NODE_HOLDS_OBJECT (node)
                       ? json_node_get_object (node) : NULL;
  JsonNode *error = object != NULL ? json_object_get_member (object, "error") : NULL;
  JsonObject *error_object;

  if (error == NULL || !JSON_NODE_HOLDS_OBJECT (error))
    return self;
  error_object = json_node_get_object (error);
  self->code = g_strdup (lr_json_peek_string (error_object, "code"));
  self->message = g_strdup (lr_json_peek_string (error_object, "message"));
  return self;
}

void
lr_error_answer_free (LrErrorAnswer *self)
{
  if (self == NULL)
    return;
  g_free (self->code);
  g_free (self->message);
  g_free (self);
}

/**
 * lr_disco_signal_build:
 *
 * Returns: (transfer full): the signal's data object for @packet
 */
JsonNode *
lr_disco_signal_build (const guint8 *packet,
                       gsize         length)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *text = g_base64_encode (packet, length);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "disco");
  json_builder_set_member_name (builder, "packet");
  json_builder_add_string_value (builder, text);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/**
 * lr_disco_signal_parse:
 * @data: a signal's data, as another helper sent it through the server
 *
 * Returns: (transfer full): the packet, or %NULL with @error when @data is no disco signal
 *   (LR_ERROR_INVALID for another type: a newer helper's signal)
 */
GBytes *
lr_disco_signal_parse (JsonNode  *data,
                       GError   **error)
{
  static const char * const known[] = { "type", "packet", NULL };
  JsonObject *object;
  const char *type, *packet;
  g_autofree guint8 *bytes = NULL;
  gsize length;

  if (data == NULL || !JSON_NODE_HOLDS_OBJECT (data))
    {
      g_set_error_literal (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "A signal is an object");
      return NULL;
    }
  object = json_node_get_object (data);
  if (!lr_json_get_string (object, NULL, "type", TRUE, &type, error))
    return NULL;
  if (!g_str_equal (type, "disco"))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "Not a disco signal");
      return NULL;
    }
  if (!lr_json_check_members (object, NULL, known, error) ||
      !lr_json_get_string (object, NULL, "packet", TRUE, &packet, error))
    return NULL;
  /* Base64 of at most LR_DISCO_SIGNAL_MAX_PACKET bytes, decoded only when that short. */
  if (strlen (packet) > (LR_DISCO_SIGNAL_MAX_PACKET + 2) / 3 * 4)
    {
      g_set_error_literal (error, LR_ERROR, LR_ERROR_TOO_LARGE, "packet: too large");
      return NULL;
    }
  for (const char *p = packet; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
      {
        g_set_error_literal (error, LR_ERROR, LR_ERROR_INVALID, "packet: not base64");
        return NULL;
      }
  bytes = g_base64_decode (packet, &length);
  if (length == 0)
    {
      g_set_error_literal (error, LR_ERROR, LR_ERROR_INVALID, "packet: empty");
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&bytes), length);
}
