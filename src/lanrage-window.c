/* lanrage-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One page per state of the helper (starting, absent, idle, joining, error, in a party),
 * chosen from LanrageHelperClient:status alone. Buttons name window actions; the
 * application's actions (D-Bus, tray, links) end up in the same ones.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lanrage-accessible.h"
#include "lanrage-create-dialog.h"
#include "lanrage-errors.h"
#include "lanrage-game-row.h"
#include "lanrage-join-dialog.h"
#include "lanrage-nat.h"
#include "lanrage-peer-details.h"
#include "lanrage-peer-row.h"
#include "lanrage-window.h"

struct _LanrageWindow
{
  AdwApplicationWindow  parent_instance;

  LanrageHelperClient  *client;
  GSettings            *settings;
  GCancellable         *cancellable;
  /* A create, join or leave of ours is on its way: its own errors come as a dialog, so
   * LastError and peers leaving are not announced again. */
  gboolean              busy;
  /* A create or a join asked for before the helper could answer (a link or a desktop
   * action that started the app, or came while the helper was not running): offered when
   * the helper's status is known. The last one asked for wins. */
  gboolean              create_pending;
  gboolean              join_pending;
  char                 *pending_code;

  AdwWindowTitle       *window_title;
  GtkButton            *back_button;
  AdwToastOverlay      *toast_overlay;
  GtkStack             *stack;
  AdwStatusPage        *error_page;
  GtkSpinner           *joining_spinner;
  AdwLeaflet           *leaflet;
  AdwActionRow         *invite_row;
  AdwActionRow         *you_row;
  AdwActionRow         *nat_row;
  GtkLabel             *nat_label;
  GtkLabel             *endpoint_label;
  GtkLabel             *relay_label;
  GtkListBox           *peer_list;
  GtkListBox           *game_list;
  GtkLabel             *games_placeholder;
  LanragePeerDetails   *details;
};

G_DEFINE_FINAL_TYPE (LanrageWindow, lanrage_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

void
lanrage_window_add_toast (LanrageWindow *self,
                          const char    *title)
{
  g_autofree char *escaped = NULL;
  AdwToast *toast;

  g_return_if_fail (LANRAGE_IS_WINDOW (self));

  /* libadwaita 1.2 reads a toast's title as markup; ours is text, with names other
   * players chose ("Tom & Jerry") or the network sent (a game's name). */
  escaped = g_markup_escape_text (title, -1);
  toast = adw_toast_new (escaped);
  adw_toast_set_timeout (toast, 4);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
show_error (LanrageWindow *self,
            const GError  *error)
{
  lanrage_show_error_dialog (GTK_WINDOW (self), error);
}

/* What the window shows */

static void
update_title (LanrageWindow *self)
{
  LanrageHelperStatus status = lanrage_helper_client_get_status (self->client);
  guint n_peers = g_list_model_get_n_items (lanrage_helper_client_get_peers (self->client));
  g_autofree char *players = NULL;

  if (status != LANRAGE_HELPER_STATUS_CONNECTED)
    {
      adw_window_title_set_title (self->window_title, _("LANrage"));
      adw_window_title_set_subtitle (self->window_title, NULL);
      return;
    }

  /* Translators: under the party's name: how many are in it, you included. */
  players = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u player", "%u players",
                                          n_peers + 1),
                             n_peers + 1);
  adw_window_title_set_title (self->window_title,
                              lanrage_helper_client_get_party_name (self->client));
  adw_window_title_set_subtitle (self->window_title, players);
}

static void
update_party (LanrageWindow *self)
{
  const char *code = lanrage_helper_client_get_invite_code (self->client);
  const char *address = lanrage_helper_client_get_virtual_address (self->client);
  const char *nat_type = lanrage_helper_client_get_nat_type (self->client);
  const char *endpoint = lanrage_helper_client_get_public_endpoint (self->client);
  const char *relay = lanrage_helper_client_get_relay (self->client);
  double rtt = lanrage_helper_client_get_relay_rtt_ms (self->client);
  g_autofree char *display_name = g_settings_get_string (self->settings, "display-name");
  g_autofree char *you = NULL;
  g_autofree char *relay_text = NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->invite_row), code);
  /* Translators: your own row in the party; %s is your name. */
  you = *display_name != '\0' ? g_strdup_printf (_("%s (you)"), display_name)
                              : g_strdup (_("You"));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->you_row), you);
  adw_action_row_set_subtitle (self->you_row, *address != '\0' ? address : _("No address yet"));

  gtk_label_set_label (self->nat_label, lanrage_nat_type_get_name (nat_type));
  adw_action_row_set_subtitle (self->nat_row, lanrage_nat_type_get_explanation (nat_type));
  gtk_label_set_label (self->endpoint_label, *endpoint != '\0' ? endpoint : _("Not known yet"));

  if (*relay == '\0')
    relay_text = g_strdup (_("None yet"));
  else if (rtt < 0)
    relay_text = g_strdup (relay);
  else
    /* Translators: a relay server and the round-trip time to it. */
    relay_text = g_strdup_printf (rtt < 10 ? _("%s · %.1f ms") : _("%s · %.0f ms"), relay, rtt);
  gtk_label_set_label (self->relay_label, relay_text);

  update_title (self);
}

static void
update_page (LanrageWindow *self)
{
  LanrageHelperStatus status = lanrage_helper_client_get_status (self->client);
  const char *page = "starting";

  switch (status)
    {
    case LANRAGE_HELPER_STATUS_STARTING:
      page = "starting";
      break;
    case LANRAGE_HELPER_STATUS_ABSENT:
      page = "no-helper";
      break;
    case LANRAGE_HELPER_STATUS_IDLE:
      page = "idle";
      break;
    case LANRAGE_HELPER_STATUS_JOINING:
      page = "joining";
      break;
    case LANRAGE_HELPER_STATUS_ERROR:
      adw_status_page_set_description (self->error_page,
                                       lanrage_helper_client_get_last_error (self->client));
      page = "error";
      break;
    case LANRAGE_HELPER_STATUS_CONNECTED:
      page = "party";
      break;
    default:
      g_assert_not_reached ();
    }

  gtk_stack_set_visible_child_name (self->stack, page);
  /* GTK 4.8 keeps a spinning spinner's animation (and the frame clock) going even where it
   * is not shown: spin only while it is. */
  gtk_spinner_set_spinning (self->joining_spinner, status == LANRAGE_HELPER_STATUS_JOINING);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.create-party",
                                 status == LANRAGE_HELPER_STATUS_IDLE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.join-party",
                                 status == LANRAGE_HELPER_STATUS_IDLE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.leave-party",
                                 status == LANRAGE_HELPER_STATUS_CONNECTED ||
                                 status == LANRAGE_HELPER_STATUS_ERROR ||
                                 status == LANRAGE_HELPER_STATUS_JOINING);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.copy-invite-code",
                                 status == LANRAGE_HELPER_STATUS_CONNECTED);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.copy-invite-link",
                                 status == LANRAGE_HELPER_STATUS_CONNECTED);
  if (status != LANRAGE_HELPER_STATUS_CONNECTED)
    lanrage_peer_details_set_peer (self->details, NULL);
  update_party (self);
}

static void
last_error_changed_cb (LanrageWindow *self)
{
  const char *last_error = lanrage_helper_client_get_last_error (self->client);

  /* The party was lost behind our back (closed, or this machine removed). */
  if (!self->busy && *last_error != '\0' &&
      lanrage_helper_client_get_status (self->client) != LANRAGE_HELPER_STATUS_ERROR)
    lanrage_window_add_toast (self, last_error);
  update_page (self);
}

static void
update_back_button (LanrageWindow *self)
{
  gboolean on_details;

  if (self->client == NULL)
    return;
  on_details = g_strcmp0 (adw_leaflet_get_visible_child_name (self->leaflet),
                                   "details") == 0;

  gtk_widget_set_visible (GTK_WIDGET (self->back_button),
                          adw_leaflet_get_folded (self->leaflet) && on_details &&
                          lanrage_helper_client_get_status (self->client) ==
                            LANRAGE_HELPER_STATUS_CONNECTED);
}

/* Players */

static GtkWidget *
create_peer_row (gpointer item,
                 gpointer user_data)
{
  return lanrage_peer_row_new (item);
}

static void
peer_row_activated_cb (LanrageWindow *self,
                       GtkListBoxRow *row)
{
  if (!LANRAGE_IS_PEER_ROW (row))
    return;
  lanrage_peer_details_set_peer (self->details, lanrage_peer_row_get_peer (LANRAGE_PEER_ROW (row)));
  adw_leaflet_set_visible_child_name (self->leaflet, "details");
}

static gboolean
model_contains (GListModel *model,
                gpointer    item)
{
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) other = g_list_model_get_item (model, i);

      if (other == item)
        return TRUE;
    }
  return FALSE;
}

static void
peers_changed_cb (LanrageWindow *self,
                  guint          position,
                  guint          removed,
                  guint          added,
                  GListModel    *peers)
{
  LanragePeer *shown = lanrage_peer_details_get_peer (self->details);

  if (shown != NULL && !model_contains (peers, shown))
    {
      lanrage_peer_details_set_peer (self->details, NULL);
      adw_leaflet_set_visible_child_name (self->leaflet, "players");
    }
  update_title (self);
}

static void
peer_joined_cb (LanrageWindow *self,
                LanragePeer   *peer)
{
  g_autofree char *text = NULL;

  /* Translators: a toast; %s is a player's name. */
  text = g_strdup_printf (_("%s joined the party"), lanrage_peer_get_name (peer));
  lanrage_window_add_toast (self, text);
}

static void
peer_left_cb (LanrageWindow *self,
              LanragePeer   *peer)
{
  g_autofree char *text = NULL;

  if (self->busy)
    return;
  /* Translators: a toast; %s is a player's name. */
  text = g_strdup_printf (_("%s left the party"), lanrage_peer_get_name (peer));
  lanrage_window_add_toast (self, text);
}

static void
peer_fell_back_cb (LanrageWindow *self,
                   LanragePeer   *peer)
{
  g_autofree char *text = NULL;

  /* Translators: a toast; the direct link to a player broke and the relay took over. */
  text = g_strdup_printf (_("The link to %s fell back to the relay"),
                          lanrage_peer_get_name (peer));
  lanrage_window_add_toast (self, text);
}

/* Games */

static GtkWidget *
create_game_row (gpointer item,
                 gpointer user_data)
{
  return lanrage_game_row_new (item);
}

/* An empty list says why: nobody hosts a game, or this computer does not look. */
static void
show_games_placeholder (LanrageWindow *self)
{
  const char *bridge = lanrage_helper_client_get_lan_bridge (self->client);

  if (g_str_equal (bridge, "disabled"))
    gtk_label_set_label (self->games_placeholder,
                         _("LAN game discovery is off, so games players host are not shown "
                           "and yours are not shared. Turn it on in Preferences."));
  else
    gtk_label_set_label (self->games_placeholder,
                         _("No LAN games yet. When someone hosts one, it shows up here."));
}

static void
game_appeared_cb (LanrageWindow *self,
                  LanrageGame   *game)
{
  g_autofree char *text = NULL;

  /* Translators: a toast; a player started hosting a LAN game: "bob is hosting Lab World". */
  text = g_strdup_printf (_("%s is hosting %s"), lanrage_game_get_host_display (game),
                          lanrage_game_get_display_name (game));
  lanrage_window_add_toast (self, text);
}

static void
copy_game_address_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  LanrageWindow *self = LANRAGE_WINDOW (widget);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget),
                          g_variant_get_string (parameter, NULL));
  lanrage_window_add_toast (self, _("Address copied"));
}

/* Actions */

static void
create_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(LanrageWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  self->busy = FALSE;
  if (!lanrage_helper_client_create_party_finish (LANRAGE_HELPER_CLIENT (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error);
      return;
    }
  lanrage_window_add_toast (self, _("Party created: share the invite code with your friends"));
}

static void
create_response_cb (LanrageWindow       *self,
                    const char          *response,
                    LanrageCreateDialog *dialog)
{
  g_autofree char *party_name = NULL;
  g_autofree char *display_name = NULL;

  if (!g_str_equal (response, "create"))
    return;

  party_name = lanrage_create_dialog_dup_party_name (dialog);
  display_name = lanrage_create_dialog_dup_display_name (dialog);
  g_settings_set_string (self->settings, "party-name", party_name);
  g_settings_set_string (self->settings, "display-name", display_name);
  self->busy = TRUE;
  lanrage_helper_client_create_party (self->client, party_name, display_name, self->cancellable,
                                      create_done_cb, g_object_ref (self));
}

/* Whether the helper's status says what it is doing: before that (the first instants) and
 * while it is not running, an offer waits. */
static gboolean
helper_can_answer (LanrageWindow *self)
{
  LanrageHelperStatus status = lanrage_helper_client_get_status (self->client);

  return status != LANRAGE_HELPER_STATUS_STARTING && status != LANRAGE_HELPER_STATUS_ABSENT;
}

void
lanrage_window_offer_create (LanrageWindow *self)
{
  g_autofree char *party_name = NULL;
  g_autofree char *display_name = NULL;
  GtkWidget *dialog;

  g_return_if_fail (LANRAGE_IS_WINDOW (self));

  if (!helper_can_answer (self))
    {
      self->create_pending = TRUE;
      self->join_pending = FALSE;
      g_clear_pointer (&self->pending_code, g_free);
      return;
    }
  if (lanrage_helper_client_get_status (self->client) != LANRAGE_HELPER_STATUS_IDLE)
    {
      lanrage_window_add_toast (self, _("Leave this party before you create another"));
      return;
    }

  party_name = g_settings_get_string (self->settings, "party-name");
  display_name = g_settings_get_string (self->settings, "display-name");
  dialog = lanrage_create_dialog_new (GTK_WINDOW (self), party_name, display_name);
  g_signal_connect_object (dialog, "response", G_CALLBACK (create_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
create_party_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  lanrage_window_offer_create (LANRAGE_WINDOW (widget));
}

static void
join_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(LanrageWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  self->busy = FALSE;
  if (!lanrage_helper_client_join_party_finish (LANRAGE_HELPER_CLIENT (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error);
      return;
    }
  lanrage_window_add_toast (self, _("You joined the party"));
}

static void
join_response_cb (LanrageWindow     *self,
                  const char        *response,
                  LanrageJoinDialog *dialog)
{
  g_autofree char *code = NULL;
  g_autofree char *display_name = NULL;

  if (!g_str_equal (response, "join"))
    return;

  code = lanrage_join_dialog_dup_invite_code (dialog);
  display_name = lanrage_join_dialog_dup_display_name (dialog);
  if (code == NULL)
    return;
  g_settings_set_string (self->settings, "display-name", display_name);
  self->busy = TRUE;
  lanrage_helper_client_join_party (self->client, code, display_name, self->cancellable,
                                    join_done_cb, g_object_ref (self));
}

void
lanrage_window_offer_join (LanrageWindow *self,
                           const char    *invite_code)
{
  g_autofree char *display_name = NULL;
  GtkWidget *dialog;

  g_return_if_fail (LANRAGE_IS_WINDOW (self));

  if (!helper_can_answer (self))
    {
      char *code = g_strdup (invite_code);

      self->join_pending = TRUE;
      self->create_pending = FALSE;
      g_free (self->pending_code);
      self->pending_code = code;
      return;
    }
  if (lanrage_helper_client_get_status (self->client) != LANRAGE_HELPER_STATUS_IDLE)
    {
      lanrage_window_add_toast (self, _("Leave this party before you join another"));
      return;
    }

  display_name = g_settings_get_string (self->settings, "display-name");
  dialog = lanrage_join_dialog_new (GTK_WINDOW (self), invite_code, display_name);
  g_signal_connect_object (dialog, "response", G_CALLBACK (join_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
join_party_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  lanrage_window_offer_join (LANRAGE_WINDOW (widget), NULL);
}

static void
offer_pending_cb (LanrageWindow *self)
{
  if (!helper_can_answer (self))
    return;
  if (self->create_pending)
    {
      self->create_pending = FALSE;
      lanrage_window_offer_create (self);
    }
  else if (self->join_pending)
    {
      g_autofree char *code = g_steal_pointer (&self->pending_code);

      self->join_pending = FALSE;
      lanrage_window_offer_join (self, code);
    }
}

static void
leave_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(LanrageWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  self->busy = FALSE;
  if (!lanrage_helper_client_leave_party_finish (LANRAGE_HELPER_CLIENT (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error);
      return;
    }
  lanrage_window_add_toast (self, _("You left the party"));
}

static void
leave_response_cb (LanrageWindow    *self,
                   const char       *response,
                   AdwMessageDialog *dialog)
{
  if (!g_str_equal (response, "leave"))
    return;
  self->busy = TRUE;
  lanrage_helper_client_leave_party (self->client, self->cancellable, leave_done_cb,
                                     g_object_ref (self));
}

static void
leave_party_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  LanrageWindow *self = LANRAGE_WINDOW (widget);
  GtkWidget *dialog;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Leave the Party?"),
                                   _("The others can play on without you. To come back, "
                                     "join again with the invite code."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "leave", _("_Leave"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "leave",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  lanrage_accessible_name_children (dialog);
  g_signal_connect_object (dialog, "response", G_CALLBACK (leave_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
copy_invite_code_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  LanrageWindow *self = LANRAGE_WINDOW (widget);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget),
                          lanrage_helper_client_get_invite_code (self->client));
  lanrage_window_add_toast (self, _("Invite code copied"));
}

static void
copy_invite_link_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  LanrageWindow *self = LANRAGE_WINDOW (widget);
  g_autofree char *link = lanrage_helper_client_dup_invite_link (self->client);

  if (link == NULL)
    return;
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), link);
  lanrage_window_add_toast (self, _("Invite link copied"));
}

static void
show_players_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  LanrageWindow *self = LANRAGE_WINDOW (widget);

  adw_leaflet_set_visible_child_name (self->leaflet, "players");
}

/* The object */

static void
lanrage_window_constructed (GObject *object)
{
  LanrageWindow *self = LANRAGE_WINDOW (object);
  GListModel *peers;

  G_OBJECT_CLASS (lanrage_window_parent_class)->constructed (object);

  g_assert (self->client != NULL && self->settings != NULL);
  peers = lanrage_helper_client_get_peers (self->client);
  gtk_list_box_bind_model (self->peer_list, peers, create_peer_row, NULL, NULL);
  g_signal_connect_object (peers, "items-changed", G_CALLBACK (peers_changed_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_list_box_bind_model (self->game_list, lanrage_helper_client_get_games (self->client),
                           create_game_row, NULL, NULL);
  g_signal_connect_object (self->client, "game-appeared", G_CALLBACK (game_appeared_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->client, "notify::lan-bridge",
                           G_CALLBACK (show_games_placeholder), self, G_CONNECT_SWAPPED);
  show_games_placeholder (self);
  g_signal_connect_object (self->client, "notify::status", G_CALLBACK (update_page), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->client, "notify::status", G_CALLBACK (offer_pending_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->client, "notify::last-error",
                           G_CALLBACK (last_error_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->client, "peer-joined", G_CALLBACK (peer_joined_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->client, "peer-left", G_CALLBACK (peer_left_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->client, "peer-fell-back", G_CALLBACK (peer_fell_back_cb), self,
                           G_CONNECT_SWAPPED);
  /* Everything else the party page shows. */
  for (guint i = 0; i < 7; i++)
    {
      static const char *signals[] = {
        "notify::party-name", "notify::invite-code", "notify::virtual-address",
        "notify::nat-type", "notify::public-endpoint", "notify::relay", "notify::relay-rtt-ms",
      };

      g_signal_connect_object (self->client, signals[i], G_CALLBACK (update_party), self,
                               G_CONNECT_SWAPPED);
    }
  g_signal_connect_object (self->settings, "changed::display-name", G_CALLBACK (update_party),
                           self, G_CONNECT_SWAPPED);

  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized",
                   G_SETTINGS_BIND_DEFAULT);

  update_page (self);
}

static void
lanrage_window_dispose (GObject *object)
{
  LanrageWindow *self = LANRAGE_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), LANRAGE_TYPE_WINDOW);
  G_OBJECT_CLASS (lanrage_window_parent_class)->dispose (object);
}

static void
lanrage_window_finalize (GObject *object)
{
  LanrageWindow *self = LANRAGE_WINDOW (object);

  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  g_free (self->pending_code);
  G_OBJECT_CLASS (lanrage_window_parent_class)->finalize (object);
}

static void
lanrage_window_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  LanrageWindow *self = LANRAGE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lanrage_window_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  LanrageWindow *self = LANRAGE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lanrage_window_class_init (LanrageWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = lanrage_window_constructed;
  object_class->dispose = lanrage_window_dispose;
  object_class->finalize = lanrage_window_finalize;
  object_class->get_property = lanrage_window_get_property;
  object_class->set_property = lanrage_window_set_property;

  props[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, LANRAGE_TYPE_HELPER_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  g_type_ensure (LANRAGE_TYPE_PEER_DETAILS);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/lanrage/LANrage/ui/lanrage-window.ui");
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, joining_spinner);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, invite_row);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, you_row);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, nat_row);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, nat_label);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, endpoint_label);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, relay_label);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, peer_list);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, game_list);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, games_placeholder);
  gtk_widget_class_bind_template_child (widget_class, LanrageWindow, details);
  gtk_widget_class_bind_template_callback (widget_class, peer_row_activated_cb);

  gtk_widget_class_install_action (widget_class, "win.create-party", NULL, create_party_action);
  gtk_widget_class_install_action (widget_class, "win.join-party", NULL, join_party_action);
  gtk_widget_class_install_action (widget_class, "win.leave-party", NULL, leave_party_action);
  gtk_widget_class_install_action (widget_class, "win.copy-invite-code", NULL,
                                   copy_invite_code_action);
  gtk_widget_class_install_action (widget_class, "win.copy-invite-link", NULL,
                                   copy_invite_link_action);
  gtk_widget_class_install_action (widget_class, "win.show-players", NULL, show_players_action);
  gtk_widget_class_install_action (widget_class, "win.copy-game-address", "s",
                                   copy_game_address_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK,
                                       "win.create-party", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_j, GDK_CONTROL_MASK,
                                       "win.join-party", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.copy-invite-code", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK,
                                       "window.close", NULL);
}

static void
lanrage_window_init (LanrageWindow *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_object (self->leaflet, "notify::folded", G_CALLBACK (update_back_button), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->leaflet, "notify::visible-child",
                           G_CALLBACK (update_back_button), self, G_CONNECT_SWAPPED);
}

LanrageWindow *
lanrage_window_new (AdwApplication      *application,
                    LanrageHelperClient *client,
                    GSettings           *settings)
{
  return g_object_new (LANRAGE_TYPE_WINDOW,
                       "application", application,
                       "client", client,
                       "settings", settings,
                       NULL);
}
