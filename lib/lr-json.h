/* lr-json.h: strict JSON reading
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Nothing LANrage exchanges nests deeper; json-glib's parser recurses, so a document of
 * 64 KiB of '[' must be refused before it reaches it. */
#define LR_JSON_MAX_DEPTH 16

JsonNode *lr_json_parse_object  (const char          *data,
                                 gsize                length,
                                 GError             **error);
JsonNode *lr_json_parse_object_nested (const char    *data,
                                       gsize          length,
                                       guint          max_depth,
                                       GError       **error);
gboolean  lr_json_check_members (JsonObject          *object,
                                 const char          *where,
                                 const char * const  *known,
                                 GError             **error);
gboolean  lr_json_get_string    (JsonObject          *object,
                                 const char          *where,
                                 const char          *name,
                                 gboolean             required,
                                 const char         **out,
                                 GError             **error);
gboolean  lr_json_get_object    (JsonObject          *object,
                                 const char          *where,
                                 const char          *name,
                                 gboolean             required,
                                 JsonObject         **out,
                                 GError             **error);
gboolean  lr_json_get_array     (JsonObject          *object,
                                 const char          *where,
                                 const char          *name,
                                 gboolean             required,
                                 JsonArray          **out,
                                 GError             **error);
gboolean  lr_json_get_boolean   (JsonObject          *object,
                                 const char          *where,
                                 const char          *name,
                                 gboolean            *out,
                                 GError             **error);
const char *lr_json_peek_string (JsonObject        *object,
                                 const char        *name);
char     *lr_json_field_name    (const char          *where,
                                 const char          *name);
char     *lr_json_to_string     (JsonNode            *node);

G_END_DECLS
