/* lanrage-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Owns the one LanrageHelperClient and the settings, and the app actions that D-Bus
 * (org.gtk.Actions), invite links and keyboard shortcuts reach: each presents the window
 * and hands over to the window's own action.
 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdlib.h>

#include "lanrage-application.h"
#include "lanrage-autostart.h"
#include "lanrage-enums.h"
#include "lanrage-peer.h"
#include "lanrage-preferences-window.h"
#include "lanrage-tray.h"
#include "lanrage-window.h"

struct _LanrageApplication
{
  AdwApplication       parent_instance;

  LanrageHelperClient *client;
  GSettings           *settings;
  LanrageTray         *tray;
  LanrageHelperStatus  last_status;
  /* The app holds itself while its window is hidden (run in background). */
  gboolean             held;
  /* Started with --background (at login): no window until asked for one. */
  gboolean             start_hidden;
  /* Started with --create-party (a launcher's desktop action): offer it once shown. */
  gboolean             create_at_start;
  /* Start at login through the Background portal (in a sandbox), not a file. */
  gboolean             use_background_portal;
  /* The start-at-login setting is being put back after a refusal. */
  gboolean             reverting_autostart;
  gint64               created_us;      /* for the time to the first frame */
  gulong               first_paint_id;
  gboolean             first_frame_seen;
};

G_DEFINE_FINAL_TYPE (LanrageApplication, lanrage_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_CLIENT,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
set_held (LanrageApplication *self,
          gboolean            held)
{
  if (self->held == held)
    return;
  self->held = held;
  if (held)
    g_application_hold (G_APPLICATION (self));
  else
    g_application_release (G_APPLICATION (self));
}

/* Closing the window while the app runs in the background only hides it: the tray icon
 * and the notifications go on. Without a tray host to show the icon (stock GNOME) nothing
 * would be left on screen to bring it back, so the app quits as one without a tray does;
 * the party goes on in the helper either way. */
static gboolean
close_request_cb (GtkWindow          *window,
                  LanrageApplication *self)
{
  if (!g_settings_get_boolean (self->settings, "run-in-background") || self->tray == NULL ||
      !lanrage_tray_is_shown (self->tray))
    return FALSE;
  gtk_widget_set_visible (GTK_WIDGET (window), FALSE);
  set_held (self, TRUE);
  return TRUE;
}

static LanrageWindow *
get_window (LanrageApplication *self)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (LANRAGE_IS_WINDOW (l->data))
      return l->data;
  return NULL;
}

/* How long a start takes, for the README's figures (G_MESSAGES_DEBUG=lanrage-app). */
static void
after_paint_cb (GdkFrameClock      *clock,
                LanrageApplication *self)
{
  gint64 now_us = g_get_monotonic_time ();

  /* The monotonic clock is the system's: a test that started the process reads from it
   * how long the start took before the app object was made (loading GTK and its
   * libraries) too. */
  g_debug ("First frame %.1f ms after start (monotonic clock %" G_GINT64_FORMAT " µs)",
           (now_us - self->created_us) / 1000.0, now_us);
  g_clear_signal_handler (&self->first_paint_id, clock);
}

static void
window_mapped_cb (GtkWidget          *window,
                  LanrageApplication *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);

  if (clock != NULL && !self->first_frame_seen)
    self->first_paint_id = g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb),
                                             self);
  self->first_frame_seen = TRUE;
}

static LanrageWindow *
present_window (LanrageApplication *self)
{
  LanrageWindow *window = get_window (self);

  if (window == NULL)
    {
      window = lanrage_window_new (ADW_APPLICATION (self), self->client, self->settings);
      g_signal_connect_object (window, "close-request", G_CALLBACK (close_request_cb), self, 0);
      g_signal_connect_object (window, "map", G_CALLBACK (window_mapped_cb), self, 0);
    }
  gtk_window_present (GTK_WINDOW (window));
  set_held (self, FALSE);
  return window;
}

/* Notifications: only for what happens while nobody looks at the window. */
static void
notify_away (LanrageApplication *self,
             const char         *id,
             const char         *title,
             const char         *body)
{
  LanrageWindow *window = get_window (self);
  g_autoptr(GNotification) notification = NULL;

  if (!g_settings_get_boolean (self->settings, "notifications"))
    return;
  if (window != NULL && gtk_widget_get_visible (GTK_WIDGET (window)) &&
      gtk_window_is_active (GTK_WINDOW (window)))
    return;

  notification = g_notification_new (title);
  if (body != NULL)
    g_notification_set_body (notification, body);
  g_notification_set_default_action (notification, "app.show");
  g_application_send_notification (G_APPLICATION (self), id, notification);
}

static void
peer_joined_cb (LanrageApplication *self,
                LanragePeer        *peer)
{
  g_autofree char *title = NULL;

  /* Translators: a notification; %s is a player's name. */
  title = g_strdup_printf (_("%s joined the party"), lanrage_peer_get_name (peer));
  notify_away (self, "peer-joined", title, lanrage_peer_get_virtual_address (peer));
}

static void
peer_left_cb (LanrageApplication *self,
              LanragePeer        *peer)
{
  g_autofree char *title = NULL;

  if (lanrage_helper_client_get_status (self->client) != LANRAGE_HELPER_STATUS_CONNECTED)
    return;
  /* Translators: a notification; %s is a player's name. */
  title = g_strdup_printf (_("%s left the party"), lanrage_peer_get_name (peer));
  notify_away (self, "peer-left", title, NULL);
}

static void
status_changed_cb (LanrageApplication *self)
{
  LanrageHelperStatus status = lanrage_helper_client_get_status (self->client);
  const char *last_error = lanrage_helper_client_get_last_error (self->client);

  gboolean was_in_party = self->last_status == LANRAGE_HELPER_STATUS_CONNECTED ||
                         self->last_status == LANRAGE_HELPER_STATUS_ERROR;

  /* Lost rather than left: the helper says why. */
  if (was_in_party && status == LANRAGE_HELPER_STATUS_IDLE && *last_error != '\0')
    notify_away (self, "party-lost", _("The party is over"), last_error);
  /* The helper went away (stopped, crashed, updated): it takes the party network with it. */
  else if (was_in_party && status == LANRAGE_HELPER_STATUS_ABSENT)
    notify_away (self, "party-lost", _("LANrage’s helper stopped"),
                 _("The party is over on this computer."));
  /* WireGuard could not be brought back: the window says why and offers to leave. */
  else if (self->last_status == LANRAGE_HELPER_STATUS_CONNECTED &&
           status == LANRAGE_HELPER_STATUS_ERROR)
    notify_away (self, "party-lost", _("The party network stopped working"),
                 *last_error != '\0' ? last_error : NULL);
  self->last_status = status;
}

/* Start at login, as the setting says. A refusal (the portal's, or the person's in its
 * dialog) turns the setting back off, so Preferences shows what really happens. */
static void
autostart_set_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(LanrageApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  if (lanrage_autostart_set_finish (result, &error))
    return;
  /* Said no, or no portal: not a fault of the app's, so not a warning. */
  g_message ("Cannot change starting at login: %s", error->message);
  if (self->settings != NULL && g_settings_get_boolean (self->settings, "start-at-login"))
    {
      self->reverting_autostart = TRUE;
      g_settings_set_boolean (self->settings, "start-at-login", FALSE);
      self->reverting_autostart = FALSE;
    }
}

static void
update_autostart (LanrageApplication *self)
{
  if (self->reverting_autostart)
    return;
  lanrage_autostart_set_async (g_application_get_dbus_connection (G_APPLICATION (self)),
                               self->use_background_portal &&
                                 g_application_get_dbus_connection (G_APPLICATION (self)) != NULL,
                               g_settings_get_boolean (self->settings, "start-at-login"),
                               NULL, autostart_set_cb, g_object_ref (self));
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

  lanrage_window_offer_create (window);
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

/* From the tray too, without the window: the clipboard is the display's. */
static void
copy_invite_code_action (GSimpleAction *action,
                         GVariant      *parameter,
                         gpointer       user_data)
{
  LanrageApplication *self = user_data;
  const char *code = lanrage_helper_client_get_invite_code (self->client);
  LanrageWindow *window = get_window (self);
  GdkDisplay *display = gdk_display_get_default ();

  if (*code == '\0' || display == NULL)
    return;
  gdk_clipboard_set_text (gdk_display_get_clipboard (display), code);
  if (window != NULL && gtk_widget_get_visible (GTK_WIDGET (window)))
    lanrage_window_add_toast (window, _("Invite code copied"));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  LanrageApplication *self = user_data;
  LanrageWindow *window = present_window (self);
  GtkWidget *preferences = lanrage_preferences_window_new (GTK_WINDOW (window), self->client,
                                                           self->settings);

  gtk_window_present (GTK_WINDOW (preferences));
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
  { "preferences", preferences_action },
  { "copy-invite-code", copy_invite_code_action },
  { "about", about_action },
  { "quit", quit_action },
};

static void
lanrage_application_startup (GApplication *application)
{
  LanrageApplication *self = LANRAGE_APPLICATION (application);
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *preferences_accels[] = { "<Control>comma", NULL };

  G_APPLICATION_CLASS (lanrage_application_parent_class)->startup (application);

  self->settings = g_settings_new (APP_ID);
  if (self->client == NULL)
    self->client = lanrage_helper_client_new (NULL, NULL);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences",
                                         preferences_accels);

  self->last_status = lanrage_helper_client_get_status (self->client);
  g_signal_connect_object (self->client, "notify::status", G_CALLBACK (status_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->client, "peer-joined", G_CALLBACK (peer_joined_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->client, "peer-left", G_CALLBACK (peer_left_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::start-at-login",
                           G_CALLBACK (update_autostart), self, G_CONNECT_SWAPPED);

  if (g_application_get_dbus_connection (application) != NULL)
    self->tray = lanrage_tray_new (g_application_get_dbus_connection (application), self->client,
                                   G_ACTION_GROUP (self));
}

static void
lanrage_application_shutdown (GApplication *application)
{
  LanrageApplication *self = LANRAGE_APPLICATION (application);

  g_clear_object (&self->tray);
  /* A quitting app no longer acts on its settings (start at login) or the helper. */
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  G_APPLICATION_CLASS (lanrage_application_parent_class)->shutdown (application);
}

static void
lanrage_application_activate (GApplication *application)
{
  LanrageApplication *self = LANRAGE_APPLICATION (application);

  if (self->start_hidden)
    {
      /* Started at login: wait in the background until asked. */
      self->start_hidden = FALSE;
      set_held (self, TRUE);
      return;
    }
  if (self->create_at_start)
    {
      self->create_at_start = FALSE;
      g_action_group_activate_action (G_ACTION_GROUP (self), "create-party", NULL);
      return;
    }
  present_window (self);
}

static int
lanrage_application_handle_local_options (GApplication *application,
                                          GVariantDict *options)
{
  LanrageApplication *self = LANRAGE_APPLICATION (application);

  if (g_variant_dict_contains (options, "background"))
    self->start_hidden = TRUE;
  /* The desktop file's action for launchers that do not activate it over D-Bus: the
   * running app creates the party, or this one does once it has started. */
  if (g_variant_dict_contains (options, "create-party"))
    {
      g_autoptr(GError) error = NULL;

      if (!g_application_register (application, NULL, &error))
        {
          g_printerr ("%s\n", error->message);
          return EXIT_FAILURE;
        }
      if (!g_application_get_is_remote (application))
        {
          self->create_at_start = TRUE;
          return -1;
        }
      g_action_group_activate_action (G_ACTION_GROUP (application), "create-party", NULL);
      return EXIT_SUCCESS;
    }
  return -1;
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

  g_clear_object (&self->tray);
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
  app_class->shutdown = lanrage_application_shutdown;
  app_class->open = lanrage_application_open;
  app_class->handle_local_options = lanrage_application_handle_local_options;

  props[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, LANRAGE_TYPE_HELPER_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
lanrage_application_init (LanrageApplication *self)
{
  self->created_us = g_get_monotonic_time ();
  self->use_background_portal = lanrage_autostart_in_sandbox ();
  const GOptionEntry options[] = {
    { "background", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Start without a window (as at login)"), NULL },
    { "create-party", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Offer to create a party"), NULL },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), options);
}

LanrageTray *
lanrage_application_get_tray (LanrageApplication *self)
{
  g_return_val_if_fail (LANRAGE_IS_APPLICATION (self), NULL);
  return self->tray;
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

void
lanrage_application_set_use_background_portal (LanrageApplication *self,
                                               gboolean            use_portal)
{
  g_return_if_fail (LANRAGE_IS_APPLICATION (self));
  self->use_background_portal = use_portal;
}
