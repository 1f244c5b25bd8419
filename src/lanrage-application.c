/* lanrage-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Owns the one LanrageHelperClient and the settings, and the app actions that D-Bus
 * (org.gtk.Actions), invite links and keyboard shortcuts reach: each presents the window
 * and hands over to the window's own action.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-application.h"
#include "lanrage-window.h"

struct _LanrageApplication
{
  AdwApplication       parent_instance;

  LanrageHelperClient *client;
  GSettings           *settings;
};

G_DEFINE_FINAL_TYPE (LanrageApplication, lanrage_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_CLIENT,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static LanrageWindow *
present_window (LanrageApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (lanrage_window_new (ADW_APPLICATION (self), self->client,
                                             self->settings));
  gtk_window_present (window);
  return LANRAGE_WINDOW (window);
}

static void
show_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  present_window (user_data);
}

static void
create_party_action (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  LanrageWindow *window = present_window (user_data);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.create-party", NULL);
}

static void
join_party_action (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  LanrageWindow *window = present_window (user_data);

  lanrage_window_offer_join (window, g_variant_get_string (parameter, NULL));
}

static void
leave_party_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  LanrageWindow *window = present_window (user_data);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.leave-party", NULL);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  LanrageApplication *self = user_data;
  const char *developers[] = { "The LANrage developers", NULL };

  adw_show_about_window (gtk_application_get_active_window (GTK_APPLICATION (self)),
                         "application-name", _("LANrage"),
                         "application-icon", APP_ID,
                         "version", PACKAGE_VERSION,
                         "comments", _("Online play that feels like a LAN party"),
                         "developers", developers,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         /* Translators: your names, one a line. */
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static const GActionEntry app_actions[] = {
  { "show", show_action },
  { "create-party", create_party_action },
  { "join-party", join_party_action, "s" },
  { "leave-party", leave_party_action },
  { "about", about_action },
  { "quit", quit_action },
};

static void
lanrage_application_startup (GApplication *application)
{
  LanrageApplication *self = LANRAGE_APPLICATION (application);
  const char *quit_accels[] = { "<Control>q", NULL };

  G_APPLICATION_CLASS (lanrage_application_parent_class)->startup (application);

  self->settings = g_settings_new (APP_ID);
  if (self->client == NULL)
    self->client = lanrage_helper_client_new (NULL, NULL);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
}

static void
lanrage_application_activate (GApplication *application)
{
  present_window (LANRAGE_APPLICATION (application));
}

/* lanrage://join/CODE links: the desktop opens them with the app (x-scheme-handler). */
static void
lanrage_application_open (GApplication  *application,
                          GFile        **files,
                          int            n_files,
                          const char    *hint)
{
  LanrageWindow *window = present_window (LANRAGE_APPLICATION (application));

  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *uri = g_file_get_uri (files[i]);

      if (g_str_has_prefix (uri, "lanrage://join/"))
        {
          lanrage_window_offer_join (window, uri);
          return;
        }
    }
  lanrage_window_add_toast (window, _("That link is not a LANrage invite"));
}

static void
lanrage_application_dispose (GObject *object)
{
  LanrageApplication *self = LANRAGE_APPLICATION (object);

  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (lanrage_application_parent_class)->dispose (object);
}

static void
lanrage_application_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  LanrageApplication *self = LANRAGE_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lanrage_application_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  LanrageApplication *self = LANRAGE_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lanrage_application_class_init (LanrageApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = lanrage_application_dispose;
  object_class->get_property = lanrage_application_get_property;
  object_class->set_property = lanrage_application_set_property;
  app_class->startup = lanrage_application_startup;
  app_class->activate = lanrage_application_activate;
  app_class->open = lanrage_application_open;

  props[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, LANRAGE_TYPE_HELPER_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
lanrage_application_init (LanrageApplication *self)
{
}

LanrageApplication *
lanrage_application_new (LanrageHelperClient *client)
{
  return g_object_new (LANRAGE_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/lanrage/LANrage",
                       "client", client,
                       NULL);
}

LanrageHelperClient *
lanrage_application_get_client (LanrageApplication *self)
{
  g_return_val_if_fail (LANRAGE_IS_APPLICATION (self), NULL);
  return self->client;
}
