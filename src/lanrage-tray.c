/* lanrage-tray.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The KDE/freedesktop StatusNotifierItem protocol, which GNOME (with the AppIndicator
 * extension), KDE, XFCE, waybar and others host: an object on the session bus describing
 * the icon, registered with org.kde.StatusNotifierWatcher (again whenever a watcher
 * appears), and a com.canonical.dbusmenu menu exported by libdbusmenu-glib. Nothing of
 * GTK 3 is loaded. The item is registered by its object path on the app's own connection
 * rather than under an org.kde.StatusNotifierItem-PID-N name, so a Flatpak needs no
 * permission to own such a name (watchers take either). The menu's items activate the application's actions, so they do what
 * the window's buttons do.
 *
 * The item changes only when the helper's state does: no timer runs here.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <libdbusmenu-glib/menuitem.h>
#include <libdbusmenu-glib/server.h>

#include "lanrage-game.h"
#include "lanrage-peer.h"
#include "lanrage-tray.h"

#define ITEM_PATH     "/StatusNotifierItem"
#define MENU_PATH     "/MenuBar"
#define WATCHER_NAME  "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH  "/StatusNotifierWatcher"

struct _LanrageTray
{
  GObject              parent_instance;

  GDBusConnection     *connection;
  LanrageHelperClient *client;
  GActionGroup        *actions;      /* not owned: the application outlives its tray */

  guint                object_id;
  guint                watcher_id;
  /* The watcher says a host (a panel) shows items: without one the icon is nowhere. */
  gboolean             shown;
  guint                host_signal_id;
  GCancellable        *cancellable;  /* for the questions to the watcher */
  DbusmenuServer      *menu_server;
  DbusmenuMenuitem    *menu;
  const char          *icon_name;
  char                *tooltip;
};

G_DEFINE_FINAL_TYPE (LanrageTray, lanrage_tray, G_TYPE_OBJECT)

static const char item_xml[] =
  "<node>"
  "  <interface name='org.kde.StatusNotifierItem'>"
  "    <property name='Category' type='s' access='read'/>"
  "    <property name='Id' type='s' access='read'/>"
  "    <property name='Title' type='s' access='read'/>"
  "    <property name='Status' type='s' access='read'/>"
  "    <property name='IconName' type='s' access='read'/>"
  "    <property name='ToolTip' type='(sa(iiay)ss)' access='read'/>"
  "    <property name='ItemIsMenu' type='b' access='read'/>"
  "    <property name='Menu' type='o' access='read'/>"
  "    <method name='Activate'><arg type='i' direction='in'/><arg type='i' direction='in'/></method>"
  "    <method name='SecondaryActivate'><arg type='i' direction='in'/>"
  "      <arg type='i' direction='in'/></method>"
  "    <method name='ContextMenu'><arg type='i' direction='in'/><arg type='i' direction='in'/></method>"
  "    <method name='Scroll'><arg type='i' direction='in'/><arg type='s' direction='in'/></method>"
  "    <signal name='NewIcon'/>"
  "    <signal name='NewToolTip'/>"
  "    <signal name='NewStatus'><arg type='s'/></signal>"
  "  </interface>"
  "</node>";

static GDBusNodeInfo *item_info;

/* State */

/* Icons of the desktop's theme (Adwaita has them) for the four states a glance should tell
 * apart: no party, all links direct, some through a relay, something wrong. */
static const char *
compute_icon_name (LanrageTray *self)
{
  LanrageHelperStatus status = lanrage_helper_client_get_status (self->client);
  GListModel *peers = lanrage_helper_client_get_peers (self->client);
  guint n = g_list_model_get_n_items (peers);
  gboolean all_direct = TRUE;

  switch (status)
    {
    case LANRAGE_HELPER_STATUS_ABSENT:
    case LANRAGE_HELPER_STATUS_ERROR:
      return "network-vpn-no-route-symbolic";
    case LANRAGE_HELPER_STATUS_CONNECTED:
      break;
    case LANRAGE_HELPER_STATUS_JOINING:
      return "network-vpn-acquiring-symbolic";
    case LANRAGE_HELPER_STATUS_STARTING:
    case LANRAGE_HELPER_STATUS_IDLE:
    default:
      return "network-vpn-disconnected-symbolic";
    }

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LanragePeer) peer = g_list_model_get_item (peers, i);

      if (!g_str_equal (lanrage_peer_get_path (peer), "direct"))
        all_direct = FALSE;
    }
  return all_direct ? "network-vpn-symbolic" : "network-vpn-acquiring-symbolic";
}

static char *
compute_tooltip (LanrageTray *self)
{
  guint n = g_list_model_get_n_items (lanrage_helper_client_get_peers (self->client));

  switch (lanrage_helper_client_get_status (self->client))
    {
    case LANRAGE_HELPER_STATUS_CONNECTED:
      /* Translators: the tray icon's tooltip: the party's name and how many are in it. */
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s · %u player", "%s · %u players",
                                           n + 1),
                              lanrage_helper_client_get_party_name (self->client), n + 1);
    case LANRAGE_HELPER_STATUS_JOINING:
      return g_strdup (_("Getting the party ready…"));
    case LANRAGE_HELPER_STATUS_ABSENT:
      return g_strdup (_("The LANrage helper is not running"));
    case LANRAGE_HELPER_STATUS_ERROR:
      return g_strdup (_("The party network is down"));
    case LANRAGE_HELPER_STATUS_STARTING:
    case LANRAGE_HELPER_STATUS_IDLE:
    default:
      return g_strdup (_("Not in a party"));
    }
}

/* The menu */

static void
item_activated_cb (DbusmenuMenuitem *item,
                   guint             timestamp,
                   LanrageTray      *self)
{
  const char *action = g_object_get_data (G_OBJECT (item), "lanrage-action");

  if (action != NULL && g_action_group_get_action_enabled (self->actions, action))
    g_action_group_activate_action (self->actions, action, NULL);
}

/* com.canonical.dbusmenu reads an underscore as the mark of an access key and shows it
 * only doubled: a player called "cool_guy" would read "coolguy", with the g underlined. */
static void
set_label (DbusmenuMenuitem *item,
           const char       *text)
{
  g_autoptr(GString) label = g_string_new (text);

  g_string_replace (label, "_", "__", 0);
  dbusmenu_menuitem_property_set (item, DBUSMENU_MENUITEM_PROP_LABEL, label->str);
}

static DbusmenuMenuitem *
append_item (DbusmenuMenuitem *menu,
             const char       *label,
             const char       *action,
             LanrageTray      *self)
{
  DbusmenuMenuitem *item = dbusmenu_menuitem_new ();

  set_label (item, label);
  if (action != NULL)
    {
      g_object_set_data_full (G_OBJECT (item), "lanrage-action", g_strdup (action), g_free);
      g_signal_connect_object (item, DBUSMENU_MENUITEM_SIGNAL_ITEM_ACTIVATED,
                               G_CALLBACK (item_activated_cb), self, 0);
    }
  else
    dbusmenu_menuitem_property_set_bool (item, DBUSMENU_MENUITEM_PROP_ENABLED, FALSE);
  dbusmenu_menuitem_child_append (menu, item);
  g_object_unref (item);
  return item;
}

static void
append_separator (DbusmenuMenuitem *menu)
{
  DbusmenuMenuitem *item = dbusmenu_menuitem_new ();

  dbusmenu_menuitem_property_set (item, DBUSMENU_MENUITEM_PROP_TYPE, "separator");
  dbusmenu_menuitem_child_append (menu, item);
  g_object_unref (item);
}

static char *
peer_label (LanragePeer *peer)
{
  g_autofree char *latency = lanrage_peer_describe_latency (peer);
  g_autofree char *path = lanrage_peer_describe_path (peer);

  /* Translators: a player in the tray menu: name, latency, path. */
  return g_strdup_printf (_("%s — %s, %s"), lanrage_peer_get_name (peer), latency, path);
}

/* A player's item changes in place (its id stays, so a host's click on another item is
 * never lost to a rebuild): latency changes every second or so. */
static void
relabel_peer (LanrageTray *self,
              GParamSpec  *pspec,
              LanragePeer *peer)
{
  for (GList *l = dbusmenu_menuitem_get_children (self->menu); l != NULL; l = l->next)
    if (g_object_get_data (l->data, "lanrage-peer") == peer)
      {
        g_autofree char *label = peer_label (peer);

        set_label (l->data, label);
      }
}

static void rebuild_menu (LanrageTray *self);

/* The LAN games members host, to read while in a game's "direct connect" screen. */
static void
append_games (LanrageTray *self)
{
  GListModel *games = lanrage_helper_client_get_games (self->client);
  guint n = g_list_model_get_n_items (games);

  if (n == 0)
    return;
  append_separator (self->menu);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LanrageGame) game = g_list_model_get_item (games, i);
      g_autofree char *label = NULL;

      /* Translators: a LAN game in the tray menu: its name, its host, the address to
       * connect to ("Lab World, hosted by bob — 10.66.0.2:41234"). */
      label = g_strdup_printf (_("%s, hosted by %s — %s"), lanrage_game_get_display_name (game),
                               lanrage_game_get_host_display (game),
                               lanrage_game_get_address (game));
      append_item (self->menu, label, NULL, self);
    }
}

static void
games_changed_cb (LanrageTray *self,
                  guint        position,
                  guint        removed,
                  guint        added,
                  GListModel  *games)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(LanrageGame) game = g_list_model_get_item (games, i);

      g_signal_connect_object (game, "notify", G_CALLBACK (rebuild_menu), self,
                               G_CONNECT_SWAPPED);
    }
  rebuild_menu (self);
}

/* Rebuilt whole when the party, its members or its games change: a handful of items, and hosts fetch
 * the new layout once on LayoutUpdated. */
static void
rebuild_menu (LanrageTray *self)
{
  LanrageHelperStatus status = lanrage_helper_client_get_status (self->client);
  GListModel *peers = lanrage_helper_client_get_peers (self->client);
  guint n = g_list_model_get_n_items (peers);
  GList *old = dbusmenu_menuitem_take_children (self->menu);

  g_list_free_full (old, g_object_unref);

  append_item (self->menu, _("Show LANrage"), "show", self);
  if (status == LANRAGE_HELPER_STATUS_CONNECTED)
    {
      append_item (self->menu, _("Copy Invite Code"), "copy-invite-code", self);
      append_separator (self->menu);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(LanragePeer) peer = g_list_model_get_item (peers, i);
          g_autofree char *label = peer_label (peer);
          DbusmenuMenuitem *item = append_item (self->menu, label, NULL, self);

          /* Not a reference: the menu is rebuilt when the peers change. */
          g_object_set_data (G_OBJECT (item), "lanrage-peer", peer);
        }
      if (n == 0)
        append_item (self->menu, _("Nobody else yet"), NULL, self);
      append_games (self);
      append_separator (self->menu);
      append_item (self->menu, _("Leave Party"), "leave-party", self);
    }
  else if (status == LANRAGE_HELPER_STATUS_IDLE)
    append_item (self->menu, _("Create Party"), "create-party", self);
  append_separator (self->menu);
  append_item (self->menu, _("Quit"), "quit", self);
}

static void
emit (LanrageTray *self,
      const char  *signal,
      GVariant    *parameters)
{
  if (self->object_id == 0)
    {
      if (parameters != NULL)
        g_variant_unref (g_variant_ref_sink (parameters));
      return;
    }
  g_dbus_connection_emit_signal (self->connection, NULL, ITEM_PATH, "org.kde.StatusNotifierItem",
                                 signal, parameters, NULL);
}

static void
update_icon (LanrageTray *self)
{
  const char *icon_name = compute_icon_name (self);
  g_autofree char *tooltip = compute_tooltip (self);

  if (icon_name != self->icon_name)
    {
      self->icon_name = icon_name;
      emit (self, "NewIcon", NULL);
    }
  if (g_strcmp0 (tooltip, self->tooltip) != 0)
    {
      g_free (self->tooltip);
      self->tooltip = g_steal_pointer (&tooltip);
      emit (self, "NewToolTip", NULL);
    }
}

static void
update (LanrageTray *self)
{
  update_icon (self);
  rebuild_menu (self);
}

static void
path_changed_cb (LanragePeer *peer,
                 GParamSpec  *pspec,
                 LanrageTray *self)
{
  update_icon (self);
  relabel_peer (self, pspec, peer);
}

static void
peers_changed_cb (LanrageTray *self,
                  guint        position,
                  guint        removed,
                  guint        added,
                  GListModel  *peers)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(LanragePeer) peer = g_list_model_get_item (peers, i);

      g_signal_connect_object (peer, "notify::path", G_CALLBACK (path_changed_cb), self, 0);
      g_signal_connect_object (peer, "notify::latency-ms", G_CALLBACK (relabel_peer), self,
                               G_CONNECT_SWAPPED);
    }
  update (self);
}

/* The item on the bus */

static GVariant *
get_property_cb (GDBusConnection  *connection,
                 const char       *sender,
                 const char       *object_path,
                 const char       *interface_name,
                 const char       *property_name,
                 GError          **error,
                 gpointer          user_data)
{
  LanrageTray *self = user_data;

  if (g_str_equal (property_name, "Category"))
    return g_variant_new_string ("Communications");
  if (g_str_equal (property_name, "Id"))
    return g_variant_new_string (APP_ID);
  if (g_str_equal (property_name, "Title"))
    return g_variant_new_string (_("LANrage"));
  if (g_str_equal (property_name, "Status"))
    return g_variant_new_string ("Active");
  if (g_str_equal (property_name, "IconName"))
    return g_variant_new_string (self->icon_name);
  if (g_str_equal (property_name, "ToolTip"))
    return g_variant_new ("(s@a(iiay)ss)", "", g_variant_new_array (G_VARIANT_TYPE ("(iiay)"),
                                                                    NULL, 0),
                          _("LANrage"), self->tooltip);
  if (g_str_equal (property_name, "ItemIsMenu"))
    return g_variant_new_boolean (FALSE);
  if (g_str_equal (property_name, "Menu"))
    return g_variant_new_object_path (MENU_PATH);

  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s",
               property_name);
  return NULL;
}

static void
method_call_cb (GDBusConnection       *connection,
                const char            *sender,
                const char            *object_path,
                const char            *interface_name,
                const char            *method_name,
                GVariant              *parameters,
                GDBusMethodInvocation *invocation,
                gpointer               user_data)
{
  LanrageTray *self = user_data;

  /* A click on the icon shows the window; the menu is the host's to show. */
  if (g_str_equal (method_name, "Activate") || g_str_equal (method_name, "SecondaryActivate"))
    g_action_group_activate_action (self->actions, "show", NULL);
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
register_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result,
                                                             &error);

  if (reply == NULL)
    g_debug ("The tray host refused the icon: %s", error->message);
}

static void
host_registered_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  LanrageTray *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result,
                                                             &error);
  g_autoptr(GVariant) value = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (reply == NULL)
    {
      /* A watcher that cannot say: take it that nobody shows the icon. */
      g_debug ("The tray watcher did not say whether a host runs: %s", error->message);
      self->shown = FALSE;
      return;
    }
  g_variant_get (reply, "(v)", &value);
  self->shown = g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN) &&
                g_variant_get_boolean (value);
}

static void
ask_host_registered (LanrageTray *self)
{
  g_dbus_connection_call (self->connection, WATCHER_NAME, WATCHER_PATH,
                          "org.freedesktop.DBus.Properties", "Get",
                          g_variant_new ("(ss)", WATCHER_NAME, "IsStatusNotifierHostRegistered"),
                          G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable,
                          host_registered_cb, self);
}

static void
host_changed_cb (GDBusConnection *connection,
                 const char      *sender,
                 const char      *path,
                 const char      *interface,
                 const char      *signal,
                 GVariant        *parameters,
                 gpointer         user_data)
{
  /* StatusNotifierHostUnregistered does not say whether another host remains. */
  ask_host_registered (user_data);
}

static void
watcher_appeared_cb (GDBusConnection *connection,
                     const char      *name,
                     const char      *owner,
                     gpointer         user_data)
{
  LanrageTray *self = user_data;

  if (self->object_id == 0)
    return;
  /* By its well-known name: a Flatpak's bus proxy lets the app talk to that one. */
  g_dbus_connection_call (connection, WATCHER_NAME, WATCHER_PATH, WATCHER_NAME,
                          "RegisterStatusNotifierItem", g_variant_new ("(s)", ITEM_PATH),
                          NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, register_cb, NULL);
  ask_host_registered (self);
}

static void
watcher_vanished_cb (GDBusConnection *connection,
                     const char      *name,
                     gpointer         user_data)
{
  LanrageTray *self = user_data;

  self->shown = FALSE;
}

static void
lanrage_tray_dispose (GObject *object)
{
  LanrageTray *self = LANRAGE_TRAY (object);

  g_clear_handle_id (&self->watcher_id, g_bus_unwatch_name);
  if (self->host_signal_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->connection, self->host_signal_id);
      self->host_signal_id = 0;
    }
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->object_id != 0)
    {
      g_dbus_connection_unregister_object (self->connection, self->object_id);
      self->object_id = 0;
    }
  g_clear_object (&self->menu_server);
  g_clear_object (&self->menu);
  g_clear_object (&self->client);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (lanrage_tray_parent_class)->dispose (object);
}

static void
lanrage_tray_finalize (GObject *object)
{
  LanrageTray *self = LANRAGE_TRAY (object);

  g_free (self->tooltip);
  G_OBJECT_CLASS (lanrage_tray_parent_class)->finalize (object);
}

static void
lanrage_tray_class_init (LanrageTrayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lanrage_tray_dispose;
  object_class->finalize = lanrage_tray_finalize;

  item_info = g_dbus_node_info_new_for_xml (item_xml, NULL);
  g_assert (item_info != NULL);
}

static void
lanrage_tray_init (LanrageTray *self)
{
}

LanrageTray *
lanrage_tray_new (GDBusConnection     *connection,
                  LanrageHelperClient *client,
                  GActionGroup        *actions)
{
  static const GDBusInterfaceVTable vtable = { method_call_cb, get_property_cb, NULL, { 0 } };
  LanrageTray *self;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), NULL);
  g_return_val_if_fail (LANRAGE_IS_HELPER_CLIENT (client), NULL);

  self = g_object_new (LANRAGE_TYPE_TRAY, NULL);
  self->connection = g_object_ref (connection);
  self->client = g_object_ref (client);
  self->actions = actions;

  self->menu = dbusmenu_menuitem_new ();
  self->menu_server = dbusmenu_server_new (MENU_PATH);
  dbusmenu_server_set_root (self->menu_server, self->menu);
  self->icon_name = compute_icon_name (self);
  self->tooltip = compute_tooltip (self);
  rebuild_menu (self);

  self->object_id = g_dbus_connection_register_object (connection, ITEM_PATH,
                                                       item_info->interfaces[0], &vtable,
                                                       self, NULL, &error);
  if (self->object_id == 0)
    g_warning ("No tray icon: %s", error->message);

  g_signal_connect_object (client, "notify::status", G_CALLBACK (update), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (client, "notify::party-name", G_CALLBACK (update), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (lanrage_helper_client_get_peers (client), "items-changed",
                           G_CALLBACK (peers_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (lanrage_helper_client_get_games (client), "items-changed",
                           G_CALLBACK (games_changed_cb), self, G_CONNECT_SWAPPED);

  self->cancellable = g_cancellable_new ();
  self->host_signal_id = g_dbus_connection_signal_subscribe (connection, WATCHER_NAME,
                                                             WATCHER_NAME, NULL, WATCHER_PATH,
                                                             NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                             host_changed_cb, self, NULL);
  self->watcher_id = g_bus_watch_name_on_connection (connection, WATCHER_NAME,
                                                     G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                     watcher_appeared_cb, watcher_vanished_cb,
                                                     self, NULL);
  return self;
}

const char *
lanrage_tray_get_icon_name (LanrageTray *self)
{
  g_return_val_if_fail (LANRAGE_IS_TRAY (self), NULL);
  return self->icon_name;
}

gboolean
lanrage_tray_is_shown (LanrageTray *self)
{
  g_return_val_if_fail (LANRAGE_IS_TRAY (self), FALSE);
  return self->shown;
}

char *
lanrage_tray_dup_tooltip (LanrageTray *self)
{
  g_return_val_if_fail (LANRAGE_IS_TRAY (self), NULL);
  return g_strdup (self->tooltip);
}
