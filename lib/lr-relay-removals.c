/* lr-relay-removals.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-relay-removals.h"

#include "lr-control-models.h"
#include "lr-error.h"
#include "lr-id.h"
#include "lr-json.h"

/* JSON numbers above 2^53 lose precision in json-glib's double path; a cursor is an integer
 * that grows by one per removal, nowhere near. */
#define MAX_CURSOR (G_GINT64_CONSTANT (1) << 53)

void
lr_relay_removals_free (LrRelayRemovals *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->removed, g_array_unref);
  g_free (self);
}

static gboolean
parse_removal (JsonNode       *node,
               LrRelayRemoval *out)
{
  JsonObject *object;
  const char *party, *peer, *until;
  gint64 until_us;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  object = json_node_get_object (node);
  party = lr_json_peek_string (object, "party_id");
  peer = lr_json_peek_string (object, "peer_id");
  until = lr_json_peek_string (object, "until");
  if (party == NULL || peer == NULL || until == NULL ||
      !lr_id_to_uint64 (party, &out->party) || !lr_id_to_uint64 (peer, &out->peer) ||
      out->party == 0 || out->peer == 0 || !lr_timestamp_parse (until, &until_us))
    return FALSE;
  out->until = until_us / G_USEC_PER_SEC;
  return TRUE;
}

/**
 * lr_relay_removals_parse:
 *
 * Reads lanrage-control's answer to a relay's registration. Members it does not know are
 * ignored, so that the server can add some; a known member of the wrong shape refuses the
 * whole answer (the relay keeps its cursor and asks again).
 */
LrRelayRemovals *
lr_relay_removals_parse (const char  *data,
                         gsize        length,
                         GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(LrRelayRemovals) self = g_new0 (LrRelayRemovals, 1);
  g_autoptr(GError) local_error = NULL;
  JsonNode *root, *cursor, *more, *removed;
  JsonObject *object;
  JsonArray *array;

  if (length > G_MAXSSIZE || !json_parser_load_from_data (parser, data, length, &local_error))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "The removals are not JSON: %s",
                   local_error != NULL ? local_error->message : "too long");
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "The removals are not a JSON object");
      return NULL;
    }
  object = json_node_get_object (root);

  cursor = json_object_get_member (object, "cursor");
  if (cursor == NULL || !JSON_NODE_HOLDS_VALUE (cursor) ||
      json_node_get_value_type (cursor) != G_TYPE_INT64 || json_node_get_int (cursor) < 0 ||
      json_node_get_int (cursor) > MAX_CURSOR)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "“cursor” must be a count");
      return NULL;
    }
  self->cursor = json_node_get_int (cursor);

  more = json_object_get_member (object, "more");
  if (more != NULL && (!JSON_NODE_HOLDS_VALUE (more) ||
                       json_node_get_value_type (more) != G_TYPE_BOOLEAN))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "“more” must be true or false");
      return NULL;
    }
  self->more = more != NULL && json_node_get_boolean (more);

  removed = json_object_get_member (object, "removed");
  if (removed == NULL || !JSON_NODE_HOLDS_ARRAY (removed) ||
      json_array_get_length (json_node_get_array (removed)) > LR_RELAY_REMOVALS_PAGE)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "“removed” must be a list of at most %d removals", LR_RELAY_REMOVALS_PAGE);
      return NULL;
    }
  array = json_node_get_array (removed);
  self->removed = g_array_sized_new (FALSE, FALSE, sizeof (LrRelayRemoval),
                                     json_array_get_length (array));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      LrRelayRemoval removal;

      if (!parse_removal (json_array_get_element (array, i), &removal))
        {
          g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                       "removed[%u] must have a party_id, a peer_id and an RFC 3339 until", i);
          return NULL;
        }
      g_array_append_val (self->removed, removal);
    }
  return g_steal_pointer (&self);
}
