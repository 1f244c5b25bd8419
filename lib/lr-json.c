/* lr-json.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-json.h"
#include "lr-error.h"

#include <string.h>

/* Whether a string in the document holds the escape \u0000 (any case of the hex digits). */
static gboolean
has_nul_escape (const char *data,
                gsize       length)
{
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      if (!in_string)
        {
          in_string = data[i] == '"';
          continue;
        }

      if (data[i] == '"')
        in_string = FALSE;
      else if (data[i] == '\\')
        {
          if (i + 5 < length && data[i + 1] == 'u' && memcmp (data + i + 2, "0000", 4) == 0)
            return TRUE;
          i++;
        }
    }

  return FALSE;
}

/* The path of the first member name or string value that holds @marker, or NULL. */
static char *
find_marked_field (JsonNode   *node,
                   const char *where,
                   const char *marker)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, &name, &member))
        {
          g_autofree char *field = NULL;
          char *found;

          if (strstr (name, marker) != NULL)
            return lr_json_field_name (where, "(a member name)");
          field = lr_json_field_name (where, name);
          if ((found = find_marked_field (member, field, marker)) != NULL)
            return found;
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          g_autofree char *field = g_strdup_printf ("%s[%u]", where ? where : "", i);
          char *found = find_marked_field (json_array_get_element (array, i), field, marker);

          if (found != NULL)
            return found;
        }
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING &&
           strstr (json_node_get_string (node), marker) != NULL)
    return g_strdup (where ? where : "(the document)");

  return NULL;
}

/*
 * json-glib hands strings out as C strings, so "ab\u0000cd" would read as "ab" and be
 * checked and stored as something other than what was sent. A document with that escape is
 * refused. To name the field, the escape is swapped for one of a noncharacter (U+FFFF, the
 * same length) and the parsed tree is searched for it.
 */
static void
set_nul_error (const char  *data,
               gsize        length,
               GError     **error)
{
  g_autofree char *copy = g_strndup (data, length);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *field = NULL;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      if (!in_string)
        in_string = copy[i] == '"';
      else if (copy[i] == '"')
        in_string = FALSE;
      else if (copy[i] == '\\')
        {
          if (i + 5 < length && copy[i + 1] == 'u' && memcmp (copy + i + 2, "0000", 4) == 0)
            memcpy (copy + i + 2, "FFFF", 4);
          i++;
        }
    }

  if (json_parser_load_from_data (parser, copy, (gssize) length, NULL) &&
      json_parser_get_root (parser) != NULL)
    field = find_marked_field (json_parser_get_root (parser), NULL, "\xef\xbf\xbf");

  g_set_error (error, LR_ERROR, LR_ERROR_INVALID,
               "%s: must not contain a NUL character (\\u0000)",
               field ? field : "a string");
}

static gboolean
check_depth (const char  *data,
             gsize        length,
             guint        max_depth,
             GError     **error)
{
  guint depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }

      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > max_depth)
            {
              g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED,
                           "The JSON document nests deeper than %u levels", max_depth);
              return FALSE;
            }
        }
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }

  return TRUE;
}

/**
 * lr_json_parse_object:
 *
 * Parses a document whose root must be an object, nesting at most LR_JSON_MAX_DEPTH levels.
 *
 * Returns: (transfer full): the root node, or %NULL with an %LR_ERROR
 */
JsonNode *
lr_json_parse_object (const char  *data,
                      gsize        length,
                      GError     **error)
{
  return lr_json_parse_object_nested (data, length, LR_JSON_MAX_DEPTH, error);
}

/**
 * lr_json_parse_object_nested:
 * @max_depth: how many levels of objects and arrays the document may nest
 *
 * lr_json_parse_object() for a document that wraps others (so nests deeper than they may).
 *
 * Returns: (transfer full): the root node, or %NULL with an %LR_ERROR
 */
JsonNode *
lr_json_parse_object_nested (const char  *data,
                             gsize        length,
                             guint        max_depth,
                             GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (length == 0)
    {
      g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED, "The request has no JSON body");
      return NULL;
    }

  if (!g_utf8_validate_len (data, length, NULL))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED, "The body is not UTF-8 text");
      return NULL;
    }

  if (!check_depth (data, length, max_depth, error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) length, &local_error))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED, "The body is not valid JSON: %s",
                   local_error->message);
      return NULL;
    }

  if (has_nul_escape (data, length))
    {
      set_nul_error (data, length, error);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, LR_ERROR, LR_ERROR_MALFORMED, "The body must be a JSON object");
      return NULL;
    }

  return json_node_ref (root);
}

char *
lr_json_field_name (const char *where,
                    const char *name)
{
  if (where == NULL || *where == '\0')
    return g_strdup (name);
  return g_strconcat (where, ".", name, NULL);
}

gboolean
lr_json_check_members (JsonObject          *object,
                       const char          *where,
                       const char * const  *known,
                       GError             **error)
{
  JsonObjectIter iter;
  const char *name;

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &name, NULL))
    {
      if (!g_strv_contains (known, name))
        {
          g_autofree char *field = NULL;

          /* Never echo a long or hostile field name back in full. */
          field = lr_json_field_name (where, strlen (name) <= 40 ? name : "(a long name)");
          g_set_error (error, LR_ERROR, LR_ERROR_UNKNOWN_FIELD, "%s: unknown field", field);
          return FALSE;
        }
    }

  return TRUE;
}

static JsonNode *
get_member (JsonObject          *object,
            const char          *where,
            const char          *name,
            gboolean             required,
            JsonNodeType         type,
            const char          *type_name,
            GError             **error)
{
  JsonNode *node = json_object_get_member (object, name);
  g_autofree char *field = NULL;

  if (node == NULL)
    {
      if (required)
        {
          field = lr_json_field_name (where, name);
          g_set_error (error, LR_ERROR, LR_ERROR_MISSING_FIELD, "%s: missing", field);
        }
      return NULL;
    }

  if (JSON_NODE_TYPE (node) != type)
    {
      field = lr_json_field_name (where, name);
      g_set_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "%s: must be %s", field, type_name);
      return NULL;
    }

  return node;
}

/* Each getter returns FALSE only with an error set; an absent optional field is TRUE with
 * *out left NULL. */
gboolean
lr_json_get_string (JsonObject   *object,
                    const char   *where,
                    const char   *name,
                    gboolean      required,
                    const char  **out,
                    GError      **error)
{
  JsonNode *node;
  GError *local_error = NULL;

  *out = NULL;
  node = get_member (object, where, name, required, JSON_NODE_VALUE, "a string", &local_error);
  if (node == NULL)
    {
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, local_error);
      return FALSE;
    }

  if (json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_autofree char *field = lr_json_field_name (where, name);
      g_set_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "%s: must be a string", field);
      return FALSE;
    }

  *out = json_node_get_string (node);
  return TRUE;
}

/**
 * lr_json_peek_string:
 *
 * The string member @name of @object, or %NULL when it is absent or not a string: for
 * optional members of answers, where a member of another type reads as absent.
 */
const char *
lr_json_peek_string (JsonObject *object,
                     const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gboolean
lr_json_get_object (JsonObject   *object,
                    const char   *where,
                    const char   *name,
                    gboolean      required,
                    JsonObject  **out,
                    GError      **error)
{
  GError *local_error = NULL;
  JsonNode *node;

  *out = NULL;
  node = get_member (object, where, name, required, JSON_NODE_OBJECT, "an object", &local_error);
  if (node == NULL)
    {
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, local_error);
      return FALSE;
    }

  *out = json_node_get_object (node);
  return TRUE;
}

gboolean
lr_json_get_array (JsonObject   *object,
                   const char   *where,
                   const char   *name,
                   gboolean      required,
                   JsonArray   **out,
                   GError      **error)
{
  GError *local_error = NULL;
  JsonNode *node;

  *out = NULL;
  node = get_member (object, where, name, required, JSON_NODE_ARRAY, "a list", &local_error);
  if (node == NULL)
    {
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, local_error);
      return FALSE;
    }

  *out = json_node_get_array (node);
  return TRUE;
}

gboolean
lr_json_get_boolean (JsonObject  *object,
                     const char  *where,
                     const char  *name,
                     gboolean    *out,
                     GError     **error)
{
  GError *local_error = NULL;
  JsonNode *node;

  node = get_member (object, where, name, TRUE, JSON_NODE_VALUE, "true or false", &local_error);
  if (node == NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }

  if (json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_autofree char *field = lr_json_field_name (where, name);
      g_set_error (error, LR_ERROR, LR_ERROR_WRONG_TYPE, "%s: must be true or false", field);
      return FALSE;
    }

  *out = json_node_get_boolean (node);
  return TRUE;
}

char *
lr_json_to_string (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}
