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

#include "lanrage-accessible.h"
#include "lanrage-deny-entry.h"
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

  GtkSwitch            *lan_switch;
  GtkLabel             *bridge_label;
  GtkWidget            *known_row;
  GtkSwitch            *known_switch;
  GtkWidget            *deny_group;
  GtkWidget            *block_group;
  GtkListBox           *deny_list;
  AdwEntryRow          *ports_row;
  AdwEntryRow          *group_row;
  AdwEntryRow          *reason_row;
  GtkButton            *add_button;
  /* A switch is being set to the helper's value, not by a person. */
  gboolean              showing_lan;
  gboolean              showing_known;
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

/* LAN discovery: the helper's settings, shown as it has them; every change goes to the
 * helper, and the page follows its properties, so a refused change shows nothing changed. */

/* A call to the helper finished: TRUE when it did what was asked. A refusal comes in
 * words, in a dialog: the person asked for the change and must read why not. */
static gboolean
finish_call (LanragePreferencesWindow *self,
             GObject                  *source,
             GAsyncResult             *result)
{
  g_autoptr(GError) error = NULL;

  if (lanrage_helper_client_call_finish (LANRAGE_HELPER_CLIENT (source), result, &error))
    return TRUE;
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    lanrage_show_error_dialog (GTK_WINDOW (self), error);
  return FALSE;
}

static void
show_bridge (LanragePreferencesWindow *self)
{
  const char *bridge = lanrage_helper_client_get_lan_bridge (self->client);
  const char *text;

  if (!lanrage_helper_client_get_lan_discovery (self->client))
    /* Translators: LAN discovery is switched off (by the switch above this line). */
    text = _("Off");
  else if (g_str_equal (bridge, "on"))
    text = _("On");
  else if (g_str_equal (bridge, "failed"))
    /* Translators: the helper could not open what it needs to carry LAN announcements. */
    text = _("Not working (see the helper’s log)");
  else
    /* Translators: LAN discovery is carried only while in a party. */
    text = _("Off until you are in a party");
  gtk_label_set_label (self->bridge_label, text);
}

/* The switch as the helper has it; while discovery is off, what it would carry cannot be
 * changed here (the helper would keep it, but the page would read as if it mattered). */
static void
show_lan_discovery (LanragePreferencesWindow *self)
{
  gboolean enabled = lanrage_helper_client_get_lan_discovery (self->client);

  self->showing_lan = TRUE;
  gtk_switch_set_active (self->lan_switch, enabled);
  self->showing_lan = FALSE;
  gtk_widget_set_sensitive (self->known_row, enabled);
  gtk_widget_set_sensitive (self->deny_group, enabled);
  gtk_widget_set_sensitive (self->block_group, enabled);
  show_bridge (self);
}

static void
show_known_titles_only (LanragePreferencesWindow *self)
{
  self->showing_known = TRUE;
  gtk_switch_set_active (self->known_switch,
                         lanrage_helper_client_get_known_titles_only (self->client));
  self->showing_known = FALSE;
}

static void
call_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(LanragePreferencesWindow) self = user_data;

  /* Refused: back to what the helper has. */
  if (!finish_call (self, source, result))
    {
      show_lan_discovery (self);
      show_known_titles_only (self);
    }
}

static void
lan_switch_changed_cb (LanragePreferencesWindow *self)
{
  if (self->showing_lan)
    return;
  lanrage_helper_client_set_lan_discovery (self->client,
                                           gtk_switch_get_active (self->lan_switch),
                                           self->cancellable, call_done_cb,
                                           g_object_ref (self));
}

static void
known_switch_changed_cb (LanragePreferencesWindow *self)
{
  if (self->showing_known)
    return;
  lanrage_helper_client_set_known_titles_only (self->client,
                                               gtk_switch_get_active (self->known_switch),
                                               self->cancellable, call_done_cb,
                                               g_object_ref (self));
}

static void
remove_entry_cb (LanragePreferencesWindow *self,
                 GtkButton                *button)
{
  const LanrageDenyEntry *removed = g_object_get_data (G_OBJECT (button), "entry");
  g_autoptr(GPtrArray) entries = lanrage_helper_client_dup_deny_list (self->client);

  for (guint i = 0; i < entries->len; i++)
    if (lanrage_deny_entry_equal (entries->pdata[i], removed))
      {
        g_ptr_array_remove_index (entries, i);
        lanrage_helper_client_set_deny_list (self->client, entries, self->cancellable,
                                             call_done_cb, g_object_ref (self));
        return;
      }
}

static GtkWidget *
create_deny_row (LanragePreferencesWindow *self,
                 const LanrageDenyEntry   *entry)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
  g_autofree char *ports = lanrage_deny_entry_describe (entry);
  g_autofree char *remove_label = NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), entry->reason);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), ports);
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_set_tooltip_text (remove, _("Carry Again"));
  /* Translators: a button's name for screen readers; %s is why a port is blocked
   * ("DHCP"). */
  remove_label = g_strdup_printf (_("Carry %s Again"), entry->reason);
  gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  remove_label, -1);
  g_object_set_data_full (G_OBJECT (remove), "entry", lanrage_deny_entry_copy (entry),
                          (GDestroyNotify) lanrage_deny_entry_free);
  g_signal_connect_object (remove, "clicked", G_CALLBACK (remove_entry_cb), self,
                           G_CONNECT_SWAPPED);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
  return row;
}

static void
show_deny_list (LanragePreferencesWindow *self)
{
  g_autoptr(GPtrArray) entries = lanrage_helper_client_dup_deny_list (self->client);
  GtkWidget *child;

  /* GTK 4.8 has no gtk_list_box_remove_all (); the placeholder is not a child. */
  while ((child = GTK_WIDGET (gtk_list_box_get_row_at_index (self->deny_list, 0))) != NULL)
    gtk_list_box_remove (self->deny_list, child);
  for (guint i = 0; i < entries->len; i++)
    gtk_list_box_append (self->deny_list, create_deny_row (self, entries->pdata[i]));
}

/* The new entry as typed, or NULL while it is not one yet. */
static LanrageDenyEntry *
dup_new_entry (LanragePreferencesWindow *self)
{
  g_autofree char *group = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->group_row))));
  g_autofree char *reason = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->reason_row))));
  guint16 first, last;

  if (!lanrage_deny_entry_parse_ports (gtk_editable_get_text (GTK_EDITABLE (self->ports_row)),
                                       &first, &last) ||
      *reason == '\0')
    return NULL;
  return lanrage_deny_entry_new (first, last, group, reason);
}

static void
new_entry_changed_cb (LanragePreferencesWindow *self)
{
  const char *ports = gtk_editable_get_text (GTK_EDITABLE (self->ports_row));
  g_autoptr(LanrageDenyEntry) entry = dup_new_entry (self);
  guint16 first, last;

  if (*ports != '\0' && !lanrage_deny_entry_parse_ports (ports, &first, &last))
    gtk_widget_add_css_class (GTK_WIDGET (self->ports_row), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->ports_row), "error");
  gtk_widget_set_sensitive (GTK_WIDGET (self->add_button), entry != NULL);
}

static void
add_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(LanragePreferencesWindow) self = user_data;

  /* Refused: what was typed stays, to be put right. */
  if (!finish_call (self, source, result))
    return;
  gtk_editable_set_text (GTK_EDITABLE (self->ports_row), "");
  gtk_editable_set_text (GTK_EDITABLE (self->group_row), "");
  gtk_editable_set_text (GTK_EDITABLE (self->reason_row), "");
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                    adw_toast_new (_("Port blocked")));
}

static void
add_clicked_cb (LanragePreferencesWindow *self)
{
  g_autoptr(LanrageDenyEntry) entry = dup_new_entry (self);
  g_autoptr(GPtrArray) entries = NULL;

  if (entry == NULL)
    return;
  entries = lanrage_helper_client_dup_deny_list (self->client);
  g_ptr_array_add (entries, g_steal_pointer (&entry));
  lanrage_helper_client_set_deny_list (self->client, entries, self->cancellable, add_done_cb,
                                       g_object_ref (self));
}

static void
reset_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(LanragePreferencesWindow) self = user_data;

  if (!finish_call (self, source, result))
    return;
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                    adw_toast_new (_("Back to the default list")));
}

static void
reset_clicked_cb (LanragePreferencesWindow *self)
{
  lanrage_helper_client_reset_deny_list (self->client, self->cancellable, reset_done_cb,
                                         g_object_ref (self));
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
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, lan_switch);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, bridge_label);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, known_row);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, known_switch);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, deny_group);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, block_group);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, deny_list);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, ports_row);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, group_row);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, reason_row);
  gtk_widget_class_bind_template_child (widget_class, LanragePreferencesWindow, add_button);
  gtk_widget_class_bind_template_callback (widget_class, server_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, new_entry_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, reset_clicked_cb);
}

static void
lanrage_preferences_window_init (LanragePreferencesWindow *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  lanrage_accessible_name_children (GTK_WIDGET (self));
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

  show_lan_discovery (self);
  show_known_titles_only (self);
  show_deny_list (self);
  g_signal_connect_object (client, "notify::lan-discovery", G_CALLBACK (show_lan_discovery),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (client, "notify::lan-bridge", G_CALLBACK (show_bridge), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (client, "notify::known-titles-only",
                           G_CALLBACK (show_known_titles_only), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (client, "notify::deny-list", G_CALLBACK (show_deny_list), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->lan_switch, "notify::active",
                           G_CALLBACK (lan_switch_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->known_switch, "notify::active",
                           G_CALLBACK (known_switch_changed_cb), self, G_CONNECT_SWAPPED);
  return GTK_WIDGET (self);
}
