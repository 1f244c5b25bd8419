/* lanrage-game.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One entry of the helper's Games, kept by the helper client: the identity (title, host,
 * port) is fixed, what the announcements say (name, details) and the host's name follow
 * the helper, so a row showing a game changes in place.
 */
#include "config.h"

#include "lanrage-game.h"

struct _LanrageGame
{
  GObject  parent_instance;

  char    *title_id;
  char    *title;
  char    *host;
  guint16  port;
  char    *address;
  char    *host_name;
  char    *name;
  char    *details;
};

G_DEFINE_FINAL_TYPE (LanrageGame, lanrage_game, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_HOST_NAME,
  PROP_NAME,
  PROP_DETAILS,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
lanrage_game_finalize (GObject *object)
{
  LanrageGame *self = LANRAGE_GAME (object);

  g_free (self->title_id);
  g_free (self->title);
  g_free (self->host);
  g_free (self->address);
  g_free (self->host_name);
  g_free (self->name);
  g_free (self->details);
  G_OBJECT_CLASS (lanrage_game_parent_class)->finalize (object);
}

static void
lanrage_game_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  LanrageGame *self = LANRAGE_GAME (object);

  switch (prop_id)
    {
    case PROP_HOST_NAME:
      g_value_set_string (value, self->host_name);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_DETAILS:
      g_value_set_string (value, self->details);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lanrage_game_class_init (LanrageGameClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lanrage_game_finalize;
  object_class->get_property = lanrage_game_get_property;

  props[PROP_HOST_NAME] = g_param_spec_string ("host-name", NULL, NULL, "",
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, "",
                                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_DETAILS] = g_param_spec_string ("details", NULL, NULL, "",
                                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
lanrage_game_init (LanrageGame *self)
{
  self->host_name = g_strdup ("");
  self->name = g_strdup ("");
  self->details = g_strdup ("");
}

LanrageGame *
lanrage_game_new (const char *title_id,
                  const char *title,
                  const char *host,
                  guint16     port)
{
  LanrageGame *self;

  g_return_val_if_fail (title_id != NULL && title != NULL && host != NULL, NULL);

  self = g_object_new (LANRAGE_TYPE_GAME, NULL);
  self->title_id = g_strdup (title_id);
  self->title = g_strdup (title);
  self->host = g_strdup (host);
  self->port = port;
  self->address = g_strdup_printf ("%s:%u", host, port);
  return self;
}

const char *
lanrage_game_get_title_id (LanrageGame *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), NULL);
  return self->title_id;
}

const char *
lanrage_game_get_title (LanrageGame *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), NULL);
  return self->title;
}

const char *
lanrage_game_get_host (LanrageGame *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), NULL);
  return self->host;
}

guint16
lanrage_game_get_port (LanrageGame *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), 0);
  return self->port;
}

const char *
lanrage_game_get_address (LanrageGame *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), NULL);
  return self->address;
}

static void
set_string (LanrageGame  *self,
            char        **field,
            const char   *value,
            GParamSpec   *pspec)
{
  if (value == NULL)
    value = "";
  if (g_str_equal (*field, value))
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

const char *
lanrage_game_get_host_name (LanrageGame *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), NULL);
  return self->host_name;
}

void
lanrage_game_set_host_name (LanrageGame *self,
                            const char  *host_name)
{
  g_return_if_fail (LANRAGE_IS_GAME (self));
  set_string (self, &self->host_name, host_name, props[PROP_HOST_NAME]);
}

const char *
lanrage_game_get_name (LanrageGame *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), NULL);
  return self->name;
}

void
lanrage_game_set_name (LanrageGame *self,
                       const char  *name)
{
  g_return_if_fail (LANRAGE_IS_GAME (self));
  set_string (self, &self->name, name, props[PROP_NAME]);
}

const char *
lanrage_game_get_details (LanrageGame *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), NULL);
  return self->details;
}

void
lanrage_game_set_details (LanrageGame *self,
                          const char  *details)
{
  g_return_if_fail (LANRAGE_IS_GAME (self));
  set_string (self, &self->details, details, props[PROP_DETAILS]);
}

gboolean
lanrage_game_is (LanrageGame *self,
                 const char  *title_id,
                 const char  *host,
                 guint16      port)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), FALSE);
  return self->port == port && g_str_equal (self->title_id, title_id) &&
         g_str_equal (self->host, host);
}

const char *
lanrage_game_get_display_name (LanrageGame *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), NULL);
  return *self->name != '\0' ? self->name : self->title;
}

const char *
lanrage_game_get_host_display (LanrageGame *self)
{
  g_return_val_if_fail (LANRAGE_IS_GAME (self), NULL);
  return *self->host_name != '\0' ? self->host_name : self->host;
}
