/* lrd-config.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-config.h"

#include <gio/gio.h>
#include <string.h>

#define GROUP "helper"

LrdConfig *
lrd_config_new_default (void)
{
  LrdConfig *self = g_new0 (LrdConfig, 1);

  self->control_url = g_strdup (LRD_CONFIG_DEFAULT_CONTROL_URL);
  self->port = LRD_CONFIG_DEFAULT_PORT;
  self->backend = g_strdup ("auto");
  self->interface_name = g_strdup (LRD_CONFIG_DEFAULT_INTERFACE);
  self->relays = g_new0 (char *, 1);
  return self;
}

void
lrd_config_free (LrdConfig *self)
{
  if (self == NULL)
    return;
  g_free (self->control_url);
  g_free (self->backend);
  g_free (self->interface_name);
  g_free (self->wireguard_go);
  g_strfreev (self->relays);
  g_free (self);
}

/**
 * lrd_config_normalize_control_url:
 * @text: what the configuration file or a caller gave
 *
 * Returns: (transfer full): @text ending in "/" (routes are resolved against it), or %NULL
 *   with %G_KEY_FILE_ERROR_INVALID_VALUE when it is not an http:// or https:// URL
 */
char *
lrd_config_normalize_control_url (const char  *text,
                                  GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;

  uri = g_uri_parse (text, G_URI_FLAGS_NONE, NULL);
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      (g_strcmp0 (scheme, "http") != 0 && g_strcmp0 (scheme, "https") != 0))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "control-url: must be an http:// or https:// address, not “%s”", text);
      return NULL;
    }

  /* Routes are resolved against it, so it must name a folder. */
  if (g_str_has_suffix (text, "/"))
    return g_strdup (text);
  return g_strconcat (text, "/", NULL);
}

static gboolean
interface_name_is_valid (const char *name)
{
  gsize length = strlen (name);

  /* IFNAMSIZ is 16 with the terminator. */
  if (length == 0 || length > 15)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

/**
 * lrd_config_load:
 * @path: (nullable): the file, or %NULL for %LRD_CONFIG_DEFAULT_PATH
 * @must_exist: whether a missing file is an error (it is when named on the command line)
 *
 * Reads the `[helper]` group; every key is optional. Values are checked here, so the rest
 * of the helper can trust them.
 */
LrdConfig *
lrd_config_load (const char  *path,
                 gboolean     must_exist,
                 GError     **error)
{
  g_autoptr(LrdConfig) self = lrd_config_new_default ();
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;

  if (path == NULL)
    path = LRD_CONFIG_DEFAULT_PATH;

  if (!g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, &local_error))
    {
      if (!must_exist && g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&self);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
      return NULL;
    }

  text = g_key_file_get_string (keyfile, GROUP, "control-url", NULL);
  if (text != NULL)
    {
      g_free (self->control_url);
      self->control_url = lrd_config_normalize_control_url (text, error);
      if (self->control_url == NULL)
        return NULL;
    }

  if (g_key_file_has_key (keyfile, GROUP, "port", NULL))
    {
      gint port = g_key_file_get_integer (keyfile, GROUP, "port", &local_error);

      if (local_error != NULL || port < 1 || port > 65535)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "%s: port: must be a number from 1 to 65535", path);
          return NULL;
        }
      self->port = (guint16) port;
    }

  g_clear_pointer (&text, g_free);
  text = g_key_file_get_string (keyfile, GROUP, "backend", NULL);
  if (text != NULL)
    {
      if (g_strcmp0 (text, "auto") != 0 && g_strcmp0 (text, "networkmanager") != 0 &&
          g_strcmp0 (text, "uapi") != 0)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "%s: backend: must be auto, networkmanager or uapi", path);
          return NULL;
        }
      g_free (self->backend);
      self->backend = g_steal_pointer (&text);
    }

  g_clear_pointer (&text, g_free);
  text = g_key_file_get_string (keyfile, GROUP, "interface", NULL);
  if (text != NULL)
    {
      if (!interface_name_is_valid (text))
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "%s: interface: must be 1 to 15 letters, digits, '-', '_' or '.'",
                       path);
          return NULL;
        }
      g_free (self->interface_name);
      self->interface_name = g_steal_pointer (&text);
    }

  g_clear_pointer (&text, g_free);
  text = g_key_file_get_string (keyfile, GROUP, "wireguard-go", NULL);
  if (text != NULL)
    {
      if (!g_path_is_absolute (text))
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "%s: wireguard-go: must be an absolute path", path);
          return NULL;
        }
      self->wireguard_go = g_steal_pointer (&text);
    }

  if (g_key_file_has_key (keyfile, GROUP, "relays", NULL))
    {
      g_auto(GStrv) relays = g_key_file_get_string_list (keyfile, GROUP, "relays", NULL,
                                                         NULL);

      for (guint i = 0; relays != NULL && relays[i] != NULL; i++)
        {
          g_autoptr(GSocketConnectable) address = NULL;

          g_strstrip (relays[i]);
          address = g_network_address_parse (relays[i], 3478, NULL);
          if (address == NULL)
            {
              g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                           "%s: relays: “%s” is not host:port", path, relays[i]);
              return NULL;
            }
        }
      g_strfreev (self->relays);
      self->relays = relays != NULL ? g_steal_pointer (&relays) : g_new0 (char *, 1);
    }

  return g_steal_pointer (&self);
}
