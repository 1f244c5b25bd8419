/* lr-control-models.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-control-models.h"
#include "lr-error.h"
#include "lr-id.h"
#include "lr-invite-code.h"
#include "lr-ipam.h"
#include "lr-json.h"
#include "lr-key.h"

#include <gio/gio.h>
#include <string.h>

static const char *nat_names[] = {
  [LR_NAT_UNKNOWN] = "unknown",
  [LR_NAT_ENDPOINT_INDEPENDENT] = "endpoint_independent",
  [LR_NAT_ADDRESS_DEPENDENT] = "address_dependent",
  [LR_NAT_ADDRESS_AND_PORT_DEPENDENT] = "address_and_port_dependent",
};

const char *
lr_nat_behaviour_to_string (LrNatBehaviour behaviour)
{
  if ((guint) behaviour >= G_N_ELEMENTS (nat_names))
    return "unknown";
  return nat_names[behaviour];
}

gboolean
lr_nat_behaviour_from_string (const char     *text,
                              LrNatBehaviour *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (nat_names); i++)
    {
      if (g_strcmp0 (text, nat_names[i]) == 0)
        {
          *out = (LrNatBehaviour) i;
          return TRUE;
        }
    }
  return FALSE;
}

/* The letters Unicode lists as default-ignorable (DerivedCoreProperties.txt): the Hangul
 * fillers, which render as nothing outside a syllable block. GLib exposes no such property,
 * and the other default-ignorable code points are in Cf or zero-width, which the rules below
 * catch already. */
static gboolean
is_ignorable_letter (gunichar c)
{
  return c == 0x115F || c == 0x1160 || c == 0x3164 || c == 0xFFA0;
}

/* Characters a name may not hold anywhere: controls, format characters (bidirectional
 * overrides and isolates, zero-width spaces and joiners, soft hyphens), surrogates, private
 * use and unassigned code points, line and paragraph separators, the Hangul fillers. */
static gboolean
is_forbidden_in_name (gunichar c)
{
  if (is_ignorable_letter (c))
    return TRUE;

  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_SURROGATE:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return TRUE;
    default:
      return FALSE;
    }
}

/* The braille pattern with no dots draws as a blank of a letter's width; braille text uses it
 * between words, so it may stand inside a name, but it is trimmed and shows nothing. */
#define BRAILLE_BLANK 0x2800

static gboolean
is_blank (gunichar c)
{
  return g_unichar_isspace (c) || c == BRAILLE_BLANK;
}

/* A character that leaves a mark of its own: not a space, not zero-width (combining marks,
 * Hangul medial vowels and final consonants). */
static gboolean
is_visible (gunichar c)
{
  return g_unichar_isgraph (c) && !g_unichar_iszerowidth (c) && c != BRAILLE_BLANK;
}

/**
 * lr_name_normalize:
 *
 * Trims white space (any Unicode space, and the blank braille pattern) at both ends; the rest
 * must be 1 to @max_chars characters, hold at least one visible character and no character
 * is_forbidden_in_name() names. Names are shown in other members' lists and tray menus, where an
 * invisible name or one that reorders its text could pass for another member's.
 */
char *
lr_name_normalize (const char  *text,
                   guint        max_chars,
                   const char  *field,
                   GError     **error)
{
  const char *start, *end;
  gboolean visible = FALSE;
  glong n_chars;

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "%s: must be text", field);
      return NULL;
    }

  /* Refuse absurd input before looking at it. */
  if (strlen (text) > (gsize) max_chars * 4 + 64)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE, "%s: must be at most %u characters",
                   field, max_chars);
      return NULL;
    }

  start = text;
  while (*start != '\0' && is_blank (g_utf8_get_char (start)))
    start = g_utf8_next_char (start);
  end = start + strlen (start);
  while (end > start)
    {
      const char *last = g_utf8_find_prev_char (start, end);

      if (!is_blank (g_utf8_get_char (last)))
        break;
      end = last;
    }

  n_chars = g_utf8_strlen (start, end - start);
  if (n_chars == 0)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "%s: must not be empty", field);
      return NULL;
    }
  if (n_chars > (glong) max_chars)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE, "%s: must be at most %u characters",
                   field, max_chars);
      return NULL;
    }

  for (const char *p = start; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c))
        {
          g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                       "%s: must not contain control characters", field);
          return NULL;
        }
      if (is_forbidden_in_name (c))
        {
          g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                       "%s: must not contain invisible, direction-changing or unassigned "
                       "characters (U+%04X)", field, c);
          return NULL;
        }
      visible |= is_visible (c);
    }

  if (!visible)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "%s: must contain at least one visible character", field);
      return NULL;
    }

  return g_strndup (start, end - start);
}

/**
 * lr_endpoint_normalize:
 *
 * Accepts `a.b.c.d:port` and `[v6]:port` with a port from 1 to 65535.
 *
 * Returns: (transfer full): the canonical text of the endpoint
 */
char *
lr_endpoint_normalize (const char  *text,
                       GError     **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autofree char *address_text = NULL;
  const char *colon;
  const char *port_text;
  guint64 port;

  if (text == NULL || strlen (text) > 64)
    goto invalid;

  if (text[0] == '[')
    {
      const char *end = strchr (text, ']');

      if (end == NULL || end[1] != ':')
        goto invalid;
      host = g_strndup (text + 1, end - text - 1);
      port_text = end + 2;
    }
  else
    {
      colon = strrchr (text, ':');
      if (colon == NULL)
        goto invalid;
      host = g_strndup (text, colon - text);
      port_text = colon + 1;
    }

  if (!g_ascii_string_to_unsigned (port_text, 10, 1, 65535, &port, NULL))
    goto invalid;

  address = g_inet_address_new_from_string (host);
  if (address == NULL)
    goto invalid;

  /* A v4 address in brackets, or a v6 one without, is a typo we don't guess about. */
  if ((g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6) != (text[0] == '['))
    goto invalid;

  address_text = g_inet_address_to_string (address);
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", address_text, (guint) port);
  return g_strdup_printf ("%s:%u", address_text, (guint) port);

invalid:
  g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
               "must be an address and port, like 198.51.100.7:51820 or [2001:db8::7]:51820");
  return NULL;
}

char *
lr_timestamp_format (gint64 unix_us)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_us / G_USEC_PER_SEC);

  if (time == NULL)
    return g_strdup ("1970-01-01T00:00:00Z");
  return g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ");
}

gboolean
lr_timestamp_parse (const char *text,
                    gint64     *unix_us)
{
  g_autoptr(GDateTime) time = NULL;

  if (text == NULL)
    return FALSE;

  time = g_date_time_new_from_iso8601 (text, NULL);
  if (time == NULL)
    return FALSE;

  *unix_us = g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
  return TRUE;
}

/* Parse helpers shared by the requests. */

static GStrv
parse_endpoints (JsonArray   *array,
                 const char  *where,
                 GError     **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *field = lr_json_field_name (where, "endpoints");
  guint n = json_array_get_length (array);

  if (n > LR_MAX_ENDPOINTS)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE, "%s: at most %d endpoints", field,
                   LR_MAX_ENDPOINTS);
      return NULL;
    }

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      g_autoptr(GError) local_error = NULL;
      char *endpoint;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "%s[%u]: must be a string",
                       field, i);
          return NULL;
        }

      endpoint = lr_endpoint_normalize (json_node_get_string (node), &local_error);
      if (endpoint == NULL)
        {
          g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "%s[%u]: %s", field, i,
                       local_error->message);
          return NULL;
        }

      for (guint j = 0; j < seen->len; j++)
        {
          if (g_str_equal (g_ptr_array_index (seen, j), endpoint))
            {
              g_free (endpoint);
              g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "%s[%u]: listed twice", field, i);
              return NULL;
            }
        }

      g_ptr_array_add (seen, endpoint);
      g_strv_builder_add (builder, endpoint);
    }

  return g_strv_builder_end (builder);
}

static gboolean
parse_nat (JsonObject  *object,
           const char  *where,
           LrNat       *out,
           GError     **error)
{
  static const char * const known[] = { "mapping", "filtering", NULL };
  g_autofree char *nat_where = lr_json_field_name (where, "nat");
  const char *mapping, *filtering;

  if (!lr_json_check_members (object, nat_where, known, error) ||
      !lr_json_get_string (object, nat_where, "mapping", TRUE, &mapping, error) ||
      !lr_json_get_string (object, nat_where, "filtering", TRUE, &filtering, error))
    return FALSE;

  if (!lr_nat_behaviour_from_string (mapping, &out->mapping) ||
      !lr_nat_behaviour_from_string (filtering, &out->filtering))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "%s: mapping and filtering must each be one of unknown, "
                   "endpoint_independent, address_dependent, address_and_port_dependent",
                   nat_where);
      return FALSE;
    }

  return TRUE;
}

/* WireGuard's own text form of a public key; an all-zero key is no one's. */
static gboolean
is_public_key (const char *text)
{
  LrKey key;

  return lr_key_from_base64 (text, &key) && !lr_key_is_zero (&key);
}

static char *
parse_key (JsonObject  *object,
           const char  *where,
           const char  *name,
           GError     **error)
{
  const char *text;

  if (!lr_json_get_string (object, where, name, TRUE, &text, error))
    return NULL;

  if (!is_public_key (text))
    {
      g_autofree char *field = lr_json_field_name (where, name);
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "%s: must be a public key, base64 of 32 bytes", field);
      return NULL;
    }

  return g_strdup (text);
}

static LrPeerIn *
peer_in_parse (JsonObject  *object,
               const char  *where,
               GError     **error)
{
  static const char * const known[] = {
    "name", "wg_public_key", "disco_public_key", "endpoints", "nat", NULL
  };
  g_autoptr(LrPeerIn) self = g_new0 (LrPeerIn, 1);
  g_autofree char *name_field = lr_json_field_name (where, "name");
  const char *name;
  JsonArray *endpoints;
  JsonObject *nat;

  if (!lr_json_check_members (object, where, known, error) ||
      !lr_json_get_string (object, where, "name", TRUE, &name, error))
    return NULL;

  if (!(self->name = lr_name_normalize (name, LR_PEER_NAME_MAX_CHARS, name_field, error)) ||
      !(self->wg_public_key = parse_key (object, where, "wg_public_key", error)) ||
      !(self->disco_public_key = parse_key (object, where, "disco_public_key", error)))
    return NULL;

  if (!lr_json_get_array (object, where, "endpoints", FALSE, &endpoints, error))
    return NULL;
  if (endpoints != NULL)
    {
      if (!(self->endpoints = parse_endpoints (endpoints, where, error)))
        return NULL;
    }
  else
    self->endpoints = g_new0 (char *, 1);

  if (!lr_json_get_object (object, where, "nat", FALSE, &nat, error))
    return NULL;
  if (nat != NULL)
    {
      if (!parse_nat (nat, where, &self->nat, error))
        return NULL;
      self->has_nat = TRUE;
    }

  return g_steal_pointer (&self);
}

void
lr_peer_in_free (LrPeerIn *self)
{
  if (self == NULL)
    return;
  g_free (self->name);
  g_free (self->wg_public_key);
  g_free (self->disco_public_key);
  g_strfreev (self->endpoints);
  g_free (self);
}

static void
build_nat (const LrNat *nat,
           JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "nat");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "mapping");
  json_builder_add_string_value (builder, lr_nat_behaviour_to_string (nat->mapping));
  json_builder_set_member_name (builder, "filtering");
  json_builder_add_string_value (builder, lr_nat_behaviour_to_string (nat->filtering));
  json_builder_end_object (builder);
}

static void
build_strv (const char  *name,
            char       **values,
            JsonBuilder *builder)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_array (builder);
  for (guint i = 0; values != NULL && values[i] != NULL; i++)
    json_builder_add_string_value (builder, values[i]);
  json_builder_end_array (builder);
}

static void
build_string (const char  *name,
              const char  *value,
              JsonBuilder *builder)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

/* Builds a PeerIn object, for clients. */
void
lr_peer_in_build (const LrPeerIn *self,
                  JsonBuilder    *builder)
{
  json_builder_begin_object (builder);
  build_string ("name", self->name, builder);
  build_string ("wg_public_key", self->wg_public_key, builder);
  build_string ("disco_public_key", self->disco_public_key, builder);
  build_strv ("endpoints", self->endpoints, builder);
  if (self->has_nat)
    build_nat (&self->nat, builder);
  json_builder_end_object (builder);
}

/* Requests. */

static LrPeerIn *
parse_request_peer (JsonObject  *root,
                    GError     **error)
{
  JsonObject *peer;

  if (!lr_json_get_object (root, NULL, "peer", TRUE, &peer, error))
    return NULL;
  return peer_in_parse (peer, "peer", error);
}

LrCreatePartyRequest *
lr_create_party_request_parse (const char  *data,
                               gsize        length,
                               GError     **error)
{
  static const char * const known[] = { "name", "peer", NULL };
  g_autoptr(JsonNode) root = lr_json_parse_object (data, length, error);
  g_autoptr(LrCreatePartyRequest) self = NULL;
  JsonObject *object;
  const char *name;

  if (root == NULL)
    return NULL;

  object = json_node_get_object (root);
  self = g_new0 (LrCreatePartyRequest, 1);
  if (!lr_json_check_members (object, NULL, known, error) ||
      !lr_json_get_string (object, NULL, "name", TRUE, &name, error) ||
      !(self->name = lr_name_normalize (name, LR_PARTY_NAME_MAX_CHARS, "name", error)) ||
      !(self->peer = parse_request_peer (object, error)))
    return NULL;

  return g_steal_pointer (&self);
}

void
lr_create_party_request_free (LrCreatePartyRequest *self)
{
  if (self == NULL)
    return;
  g_free (self->name);
  lr_peer_in_free (self->peer);
  g_free (self);
}

LrJoinRequest *
lr_join_request_parse (const char  *data,
                       gsize        length,
                       GError     **error)
{
  static const char * const known[] = { "invite_code", "peer", NULL };
  g_autoptr(JsonNode) root = lr_json_parse_object (data, length, error);
  g_autoptr(LrJoinRequest) self = NULL;
  JsonObject *object;
  const char *code;

  if (root == NULL)
    return NULL;

  object = json_node_get_object (root);
  self = g_new0 (LrJoinRequest, 1);
  if (!lr_json_check_members (object, NULL, known, error) ||
      !lr_json_get_string (object, NULL, "invite_code", TRUE, &code, error) ||
      !(self->invite_code = lr_invite_code_normalize (code, error)) ||
      !(self->peer = parse_request_peer (object, error)))
    return NULL;

  return g_steal_pointer (&self);
}

void
lr_join_request_free (LrJoinRequest *self)
{
  if (self == NULL)
    return;
  g_free (self->invite_code);
  lr_peer_in_free (self->peer);
  g_free (self);
}

LrPeerUpdate *
lr_peer_update_parse (const char  *data,
                      gsize        length,
                      GError     **error)
{
  static const char * const known[] = { "name", "endpoints", "nat", NULL };
  g_autoptr(JsonNode) root = lr_json_parse_object (data, length, error);
  g_autoptr(LrPeerUpdate) self = NULL;
  JsonObject *object;
  const char *name;
  JsonArray *endpoints;
  JsonObject *nat;

  if (root == NULL)
    return NULL;

  object = json_node_get_object (root);
  self = g_new0 (LrPeerUpdate, 1);
  if (!lr_json_check_members (object, NULL, known, error) ||
      !lr_json_get_string (object, NULL, "name", FALSE, &name, error) ||
      !lr_json_get_array (object, NULL, "endpoints", FALSE, &endpoints, error) ||
      !lr_json_get_object (object, NULL, "nat", FALSE, &nat, error))
    return NULL;

  if (name != NULL &&
      !(self->name = lr_name_normalize (name, LR_PEER_NAME_MAX_CHARS, "name", error)))
    return NULL;

  if (endpoints != NULL)
    {
      if (!(self->endpoints = parse_endpoints (endpoints, NULL, error)))
        return NULL;
      self->has_endpoints = TRUE;
    }

  if (nat != NULL)
    {
      if (!parse_nat (nat, NULL, &self->nat, error))
        return NULL;
      self->has_nat = TRUE;
    }

  return g_steal_pointer (&self);
}

/* Builds a PATCH body of one's own peer, for clients: only the fields that are set. */
void
lr_peer_update_build (const LrPeerUpdate *self,
                      JsonBuilder        *builder)
{
  json_builder_begin_object (builder);
  if (self->name != NULL)
    build_string ("name", self->name, builder);
  if (self->has_endpoints)
    build_strv ("endpoints", self->endpoints, builder);
  if (self->has_nat)
    build_nat (&self->nat, builder);
  json_builder_end_object (builder);
}

void
lr_peer_update_free (LrPeerUpdate *self)
{
  if (self == NULL)
    return;
  g_free (self->name);
  g_strfreev (self->endpoints);
  g_free (self);
}

static LrRelay *
relay_parse (JsonObject  *object,
             gboolean     strict,
             GError     **error)
{
  static const char * const known[] = { "id", "region", "endpoint", NULL };
  g_autoptr(LrRelay) self = g_new0 (LrRelay, 1);
  g_autoptr(GError) endpoint_error = NULL;
  const char *id, *region, *endpoint;

  if ((strict && !lr_json_check_members (object, NULL, known, error)) ||
      !lr_json_get_string (object, NULL, "id", TRUE, &id, error) ||
      !lr_json_get_string (object, NULL, "region", TRUE, &region, error) ||
      !lr_json_get_string (object, NULL, "endpoint", TRUE, &endpoint, error))
    return NULL;

  /* A relay id is a short operator-chosen name: letters, digits, '-', '_' and '.'. */
  if (*id == '\0' || strlen (id) > 64 ||
      strspn (id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen (id))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "id: must be 1 to 64 letters, digits, '-', '_' or '.'");
      return NULL;
    }

  if (!(self->region = lr_name_normalize (region, LR_REGION_MAX_CHARS, "region", error)))
    return NULL;

  if (!(self->endpoint = lr_endpoint_normalize (endpoint, &endpoint_error)))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "endpoint: %s", endpoint_error->message);
      return NULL;
    }

  self->id = g_strdup (id);
  return g_steal_pointer (&self);
}

LrRelay *
lr_relay_registration_parse (const char  *data,
                             gsize        length,
                             GError     **error)
{
  g_autoptr(JsonNode) root = lr_json_parse_object (data, length, error);

  if (root == NULL)
    return NULL;
  return relay_parse (json_node_get_object (root), TRUE, error);
}

LrRelay *
lr_relay_parse_node (JsonNode  *node,
                     GError   **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "A relay must be an object");
      return NULL;
    }
  return relay_parse (json_node_get_object (node), FALSE, error);
}

void
lr_relay_build (const LrRelay *self,
                JsonBuilder   *builder)
{
  json_builder_begin_object (builder);
  build_string ("id", self->id, builder);
  build_string ("region", self->region, builder);
  build_string ("endpoint", self->endpoint, builder);
  json_builder_end_object (builder);
}

void
lr_relay_free (LrRelay *self)
{
  if (self == NULL)
    return;
  g_free (self->id);
  g_free (self->region);
  g_free (self->endpoint);
  g_free (self);
}

LrSignal *
lr_signal_parse (const char  *data,
                 gsize        length,
                 GError     **error)
{
  static const char * const known[] = { "type", "to", "data", NULL };
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(LrSignal) self = NULL;
  g_autofree char *text = NULL;
  JsonObject *object, *payload;
  const char *type, *to;

  /* The whole message may carry at most the payload limit plus its envelope. */
  if (length > LR_MAX_SIGNAL_SIZE + 256)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE,
                   "data: a signal carries at most %d bytes", LR_MAX_SIGNAL_SIZE);
      return NULL;
    }

  root = lr_json_parse_object (data, length, error);
  if (root == NULL)
    return NULL;

  object = json_node_get_object (root);
  if (!lr_json_check_members (object, NULL, known, error) ||
      !lr_json_get_string (object, NULL, "type", TRUE, &type, error))
    return NULL;

  if (!g_str_equal (type, "signal"))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "type: a client can only send \"signal\"");
      return NULL;
    }

  if (!lr_json_get_string (object, NULL, "to", TRUE, &to, error) ||
      !lr_json_get_object (object, NULL, "data", TRUE, &payload, error))
    return NULL;

  if (!lr_id_is_valid (to))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID, "to: must be a peer id");
      return NULL;
    }

  self = g_new0 (LrSignal, 1);
  self->to = g_strdup (to);
  self->data = json_node_copy (json_object_get_member (object, "data"));

  text = lr_json_to_string (self->data);
  if (strlen (text) > LR_MAX_SIGNAL_SIZE)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_TOO_LARGE,
                   "data: a signal carries at most %d bytes", LR_MAX_SIGNAL_SIZE);
      return NULL;
    }

  return g_steal_pointer (&self);
}

void
lr_signal_free (LrSignal *self)
{
  if (self == NULL)
    return;
  g_free (self->to);
  g_clear_pointer (&self->data, json_node_unref);
  g_free (self);
}

/* Peer and Party. */

void
lr_peer_build_members (const LrPeer *self,
                       JsonBuilder  *builder)
{
  g_autofree char *last_seen = lr_timestamp_format (self->last_seen);

  build_string ("id", self->id, builder);
  build_string ("name", self->name, builder);
  build_string ("virtual_ip", self->virtual_ip, builder);
  build_string ("wg_public_key", self->wg_public_key, builder);
  build_string ("disco_public_key", self->disco_public_key, builder);
  build_strv ("endpoints", self->endpoints, builder);
  build_nat (&self->nat, builder);
  json_builder_set_member_name (builder, "online");
  json_builder_add_boolean_value (builder, self->online);
  build_string ("last_seen", last_seen, builder);
}

void
lr_peer_build (const LrPeer *self,
               JsonBuilder  *builder)
{
  json_builder_begin_object (builder);
  lr_peer_build_members (self, builder);
  json_builder_end_object (builder);
}

LrPeer *
lr_peer_parse_node (JsonNode  *node,
                    GError   **error)
{
  g_autoptr(LrPeer) self = g_new0 (LrPeer, 1);
  const char *id, *name, *virtual_ip, *wg, *disco, *last_seen;
  JsonArray *endpoints;
  JsonObject *object, *nat;
  guint32 address;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "peer: must be an object");
      return NULL;
    }

  object = json_node_get_object (node);
  if (!lr_json_get_string (object, "peer", "id", TRUE, &id, error) ||
      !lr_json_get_string (object, "peer", "name", TRUE, &name, error) ||
      !lr_json_get_string (object, "peer", "virtual_ip", TRUE, &virtual_ip, error) ||
      !lr_json_get_string (object, "peer", "wg_public_key", TRUE, &wg, error) ||
      !lr_json_get_string (object, "peer", "disco_public_key", TRUE, &disco, error) ||
      !lr_json_get_array (object, "peer", "endpoints", TRUE, &endpoints, error) ||
      !lr_json_get_object (object, "peer", "nat", TRUE, &nat, error) ||
      !lr_json_get_boolean (object, "peer", "online", &self->online, error) ||
      !lr_json_get_string (object, "peer", "last_seen", TRUE, &last_seen, error))
    return NULL;

  if (!lr_id_is_valid (id) || !lr_ipv4_parse (virtual_ip, &address) ||
      !is_public_key (wg) || !is_public_key (disco) ||
      !lr_timestamp_parse (last_seen, &self->last_seen))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "peer: id, virtual_ip, keys or last_seen are malformed");
      return NULL;
    }

  /* Lenient about values a newer server may add: they read as unknown. */
  if (!lr_nat_behaviour_from_string (json_object_get_string_member_with_default (nat, "mapping", ""),
                                     &self->nat.mapping))
    self->nat.mapping = LR_NAT_UNKNOWN;
  if (!lr_nat_behaviour_from_string (json_object_get_string_member_with_default (nat, "filtering", ""),
                                     &self->nat.filtering))
    self->nat.filtering = LR_NAT_UNKNOWN;

  if (!(self->endpoints = parse_endpoints (endpoints, "peer", error)))
    return NULL;

  self->id = g_strdup (id);
  self->name = g_strdup (name);
  self->virtual_ip = g_strdup (virtual_ip);
  self->wg_public_key = g_strdup (wg);
  self->disco_public_key = g_strdup (disco);
  return g_steal_pointer (&self);
}

void
lr_peer_clear (LrPeer *self)
{
  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->virtual_ip, g_free);
  g_clear_pointer (&self->wg_public_key, g_free);
  g_clear_pointer (&self->disco_public_key, g_free);
  g_clear_pointer (&self->endpoints, g_strfreev);
}

void
lr_peer_free (LrPeer *self)
{
  if (self == NULL)
    return;
  lr_peer_clear (self);
  g_free (self);
}

void
lr_party_build (const LrParty *self,
                JsonBuilder   *builder)
{
  g_autofree char *created_at = lr_timestamp_format (self->created_at);

  json_builder_begin_object (builder);
  build_string ("id", self->id, builder);
  build_string ("name", self->name, builder);
  build_string ("invite_code", self->invite_code, builder);
  build_string ("host_peer_id", self->host_peer_id, builder);
  build_string ("created_at", created_at, builder);
  json_builder_end_object (builder);
}

LrParty *
lr_party_parse_node (JsonNode  *node,
                     GError   **error)
{
  g_autoptr(LrParty) self = g_new0 (LrParty, 1);
  const char *id, *name, *code, *host, *created_at;
  JsonObject *object;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "party: must be an object");
      return NULL;
    }

  object = json_node_get_object (node);
  if (!lr_json_get_string (object, "party", "id", TRUE, &id, error) ||
      !lr_json_get_string (object, "party", "name", TRUE, &name, error) ||
      !lr_json_get_string (object, "party", "invite_code", TRUE, &code, error) ||
      !lr_json_get_string (object, "party", "host_peer_id", TRUE, &host, error) ||
      !lr_json_get_string (object, "party", "created_at", TRUE, &created_at, error))
    return NULL;

  if (!lr_id_is_valid (id) || !lr_id_is_valid (host) ||
      !(self->invite_code = lr_invite_code_normalize (code, NULL)) ||
      !lr_timestamp_parse (created_at, &self->created_at))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
                   "party: id, invite_code, host_peer_id or created_at are malformed");
      return NULL;
    }

  self->id = g_strdup (id);
  self->name = g_strdup (name);
  self->host_peer_id = g_strdup (host);
  return g_steal_pointer (&self);
}

void
lr_party_clear (LrParty *self)
{
  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->invite_code, g_free);
  g_clear_pointer (&self->host_peer_id, g_free);
}

void
lr_party_free (LrParty *self)
{
  if (self == NULL)
    return;
  lr_party_clear (self);
  g_free (self);
}
