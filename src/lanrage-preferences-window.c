/* lanrage-preferences-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The app's own choices are GSettings keys, bound straight to the switches. The server
 * address is the helper's (it connects to the server, for every user of the machine), so
 * it is read from the helper and changed through it, with an administrator's consent.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-errors.h"
#include "lanrage-preferences-window.h"

struct _LanragePreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  LanrageHelperClient  *client;
  GSettings            *settings;
  GCancellable         *cancellable;

  AdwEntryRow          *display_name_row;
  AdwEntryRow          *server_row;
  GtkSwitch            *background_switch;
  GtkSwitch            *login_switch;
  GtkSwitch            *notifications_switch;
};

G_DEFINE_FINAL_TYPE (LanragePreferencesWindow, lanrage_preferences_window,
                     ADW_TYPE_PREFERENCES_WINDOW)

static void
show_server (LanragePreferencesWindow *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->server_row),
                         lanrage_helper_client_get_control_url (self->client));
}

static void
set_control_url_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(LanragePreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!lanrage_helper_client_set_control_url_finish (LANRAGE_HELPER_CLIENT (source), result,
                                                     &error))
    {
      g_autofree char *heading = NULL;
      g_autofree char *body = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      lanrage_describe_error (error, &heading, &body);
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (heading));
      gtk_widget_add_css_class (GTK_WIDGET (self->server_row), "error");
      return;
    }
  gtk_widget_remove_css_class (GTK_WIDGET (self->server_row), "error");
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                    adw_toast_new (_("The server is changed")));
}

static void
server_apply_cb (LanragePreferencesWindow *self)
{
  g_autofree char *url = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->server_row))));

  lanrage_helper_client_set_control_url (self->client, url, self->cancellable,
                                         set_control_url_cb, g_object_ref (self));
}

static void
lanrage_preferences_window_dispose (GObject *object)
{
  LanragePreferencesWindow *self = LANRAGE_PREFERENCES_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), LANRAGE_TYPE_PREFERENCES_WINDOW);
  G_OBJECT_CLASS (lanrage_preferences_window_parent_class)->dispose (object);
}

static void
lanrage_preferences_window_class_init (LanragePreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lanrage_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/lanrage/LANrage/ui/lanrage-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, display_name_row);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, server_row);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, background_switch);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, login_switch);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow,
                                        notifications_switch);
  gtk_widget_class_bind_template_callback (widget_class, server_apply_cb);
}

static void
lanrage_preferences_window_init (LanragePreferencesWindow *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
lanrage_preferences_window_new (GtkWindow           *parent,
                                LanrageHelperClient *client,
                                GSettings           *settings)
{
  LanragePreferencesWindow *self;

  g_return_val_if_fail (LANRAGE_IS_HELPER_CLIENT (client), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (LANRAGE_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "modal", TRUE,
                       NULL);
  self->client = g_object_ref (client);
  self->settings = g_object_ref (settings);

  g_settings_bind (settings, "display-name", self->display_name_row, "text",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "run-in-background", self->background_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "start-at-login", self->login_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "notifications", self->notifications_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  show_server (self);
  g_signal_connect_object (client, "notify::control-url", G_CALLBACK (show_server), self,
                           G_CONNECT_SWAPPED);
  return GTK_WIDGET (self);
}
