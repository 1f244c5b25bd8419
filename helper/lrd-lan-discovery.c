/* lrd-lan-discovery.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-lan-discovery.h"

#include "lrd-error.h"
#include "lrd-lan-bridge.h"
#include "lrd-state.h"

#include "lr-ipam.h"

#define SETTINGS_FILE  "lan"
#define SETTINGS_GROUP "lan"
#define KEY_ENABLED    "lan-discovery"
#define KEY_KNOWN_ONLY "known-titles-only"
/* Absent while the list is the built-in one, so a newer helper's defaults apply. */
#define KEY_DENY_LIST  "deny-list"

#define LAN_BRIDGE_OFF      "off"
#define LAN_BRIDGE_ON       "on"
#define LAN_BRIDGE_DISABLED "disabled"
#define LAN_BRIDGE_FAILED   "failed"

/* The party network's prefix (DESIGN.md, 10.66.0.0/16). */
#define PARTY_PREFIX_LENGTH 16

struct _LrdLanDiscovery
{
  GObject        parent_instance;

  LrdHelper1    *iface;
  LrClock       *clock;
  char          *path;             /* the settings file */
  char          *ifname;

  /* The settings: whether to bridge at all, and a policy used as a checked store of the
   * deny list and "known titles only". */
  gboolean       enabled;
  LrLanPolicy   *settings;
  gboolean       custom_deny_list;

  /* While the data plane is up: this host's virtual address and the members' source. */
  char          *virtual_address;
  LrdPeerTable  *peers;
  LrdLanBridge  *bridge;           /* while the data plane is up and the switch is on */

  GPtrArray     *in_flight;        /* GTask: setters answered when this write ends */
  GPtrArray     *waiting;          /* GTask: setters for the next write */
};

G_DEFINE_FINAL_TYPE (LrdLanDiscovery, lrd_lan_discovery, G_TYPE_OBJECT)

static void
show_settings (LrdLanDiscovery *self)
{
  g_autoptr(GVariant) deny = lr_lan_policy_dup_deny_list_variant (self->settings);

  lrd_helper1_set_lan_discovery (self->iface, self->enabled);
  lrd_helper1_set_deny_list (self->iface, deny);
  lrd_helper1_set_known_titles_only (self->iface,
                                     lr_lan_policy_get_known_only (self->settings));
}

static void
show_empty_lobby (LrdLanDiscovery *self)
{
  lrd_helper1_set_games (self->iface, g_variant_new_array (G_VARIANT_TYPE ("(sssqssx)"),
                                                           NULL, 0));
  lrd_helper1_set_bridged_ports (self->iface, g_variant_new_array (G_VARIANT_TYPE ("(sqstx)"),
                                                                   NULL, 0));
}

/* The bridge's policy follows the settings, one way. */
static void
apply_policy (LrdLanDiscovery *self)
{
  g_autoptr(GVariant) deny = NULL;
  g_autoptr(GError) error = NULL;
  LrLanPolicy *policy;

  if (self->bridge == NULL)
    return;
  policy = lrd_lan_bridge_get_policy (self->bridge);
  deny = lr_lan_policy_dup_deny_list_variant (self->settings);
  if (!lr_lan_policy_set_deny_list_variant (policy, deny, &error))
    g_warning ("LAN bridge: cannot apply the deny list: %s", error->message);
  lr_lan_policy_set_known_only (policy, lr_lan_policy_get_known_only (self->settings));
}

/* Settings on disk */

/* @key's value, or @fallback when it is absent or damaged (logged). */
static gboolean
read_boolean (LrdLanDiscovery *self,
              GKeyFile        *keyfile,
              const char      *key,
              gboolean         fallback)
{
  g_autoptr(GError) error = NULL;
  gboolean value = g_key_file_get_boolean (keyfile, SETTINGS_GROUP, key, &error);

  if (error == NULL)
    return value;
  if (!g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND) &&
      !g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
    g_warning ("%s: %s is not a boolean; %s", self->path, key, fallback ? "on" : "off");
  return fallback;
}

static void
load_settings (LrdLanDiscovery *self)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *deny_text = NULL;

  if (!g_key_file_load_from_file (keyfile, self->path, G_KEY_FILE_NONE, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("Cannot read %s, using the default LAN discovery settings: %s", self->path,
                   error->message);
      return;
    }

  self->enabled = read_boolean (self, keyfile, KEY_ENABLED, TRUE);
  lr_lan_policy_set_known_only (self->settings,
                                read_boolean (self, keyfile, KEY_KNOWN_ONLY, FALSE));

  deny_text = g_key_file_get_string (keyfile, SETTINGS_GROUP, KEY_DENY_LIST, NULL);
  if (deny_text != NULL)
    {
      g_autoptr(GVariant) deny = g_variant_parse (G_VARIANT_TYPE ("a(qqss)"), deny_text, NULL,
                                                  NULL, &error);

      if (deny == NULL || !lr_lan_policy_set_deny_list_variant (self->settings, deny, &error))
        g_warning ("%s: the saved deny list is damaged, using the built-in one: %s",
                   self->path, error->message);
      else
        self->custom_deny_list = TRUE;
    }
}

static void start_write (LrdLanDiscovery *self);
static void apply_settings (LrdLanDiscovery *self);

static void
write_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(LrdLanDiscovery) self = user_data;
  g_autoptr(GPtrArray) answered = g_steal_pointer (&self->in_flight);
  g_autoptr(GError) error = NULL;

  self->in_flight = g_ptr_array_new_with_free_func (g_object_unref);
  if (!lrd_private_file_write_finish (result, &error))
    g_warning ("Cannot save the LAN discovery settings: %s", error->message);
  for (guint i = 0; i < answered->len; i++)
    {
      if (error != NULL)
        g_task_return_new_error (answered->pdata[i], LRD_ERROR, LRD_ERROR_FAILED,
                                 "Applied, but cannot save the LAN discovery settings: %s",
                                 error->message);
      else
        g_task_return_boolean (answered->pdata[i], TRUE);
    }
  if (self->waiting->len > 0)
    start_write (self);
}

/* One write at a time, so the file never goes back to older settings: a setter whose
 * change came while a write was in flight waits for the next one, which carries it. */
static void
start_write (LrdLanDiscovery *self)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  GPtrArray *swap;
  char *data;
  gsize length;

  swap = self->in_flight;
  self->in_flight = self->waiting;
  self->waiting = swap;

  g_key_file_set_boolean (keyfile, SETTINGS_GROUP, KEY_ENABLED, self->enabled);
  g_key_file_set_boolean (keyfile, SETTINGS_GROUP, KEY_KNOWN_ONLY,
                          lr_lan_policy_get_known_only (self->settings));
  if (self->custom_deny_list)
    {
      g_autoptr(GVariant) deny = lr_lan_policy_dup_deny_list_variant (self->settings);
      g_autofree char *text = g_variant_print (deny, TRUE);

      g_key_file_set_string (keyfile, SETTINGS_GROUP, KEY_DENY_LIST, text);
    }
  data = g_key_file_to_data (keyfile, &length, NULL);
  lrd_private_file_write_async (self->path, data, length, NULL, write_cb, g_object_ref (self));
}

/* Each setter answers its caller once the settings are on disk. */
static void
settings_changed (LrdLanDiscovery *self,
                  GTask           *task)
{
  show_settings (self);
  apply_settings (self);
  g_ptr_array_add (self->waiting, g_object_ref (task));
  if (self->in_flight->len == 0)
    start_write (self);
}

void
lrd_lan_discovery_set_enabled_async (LrdLanDiscovery     *self,
                                     gboolean             enabled,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LRD_IS_LAN_DISCOVERY (self));

  task = g_task_new (self, NULL, callback, user_data);
  self->enabled = !!enabled;
  settings_changed (self, task);
}

void
lrd_lan_discovery_set_deny_list_async (LrdLanDiscovery     *self,
                                       GVariant            *entries,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (LRD_IS_LAN_DISCOVERY (self));

  task = g_task_new (self, NULL, callback, user_data);
  if (!lr_lan_policy_set_deny_list_variant (self->settings, entries, &error))
    {
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_INVALID_DENY_LIST, "%s",
                               error->message);
      return;
    }
  self->custom_deny_list = TRUE;
  settings_changed (self, task);
}

void
lrd_lan_discovery_reset_deny_list_async (LrdLanDiscovery     *self,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LRD_IS_LAN_DISCOVERY (self));

  task = g_task_new (self, NULL, callback, user_data);
  lr_lan_policy_reset_deny_list (self->settings);
  self->custom_deny_list = FALSE;
  settings_changed (self, task);
}

void
lrd_lan_discovery_set_known_titles_only_async (LrdLanDiscovery     *self,
                                               gboolean             enabled,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LRD_IS_LAN_DISCOVERY (self));

  task = g_task_new (self, NULL, callback, user_data);
  lr_lan_policy_set_known_only (self->settings, enabled);
  settings_changed (self, task);
}

gboolean
lrd_lan_discovery_setter_finish (LrdLanDiscovery  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The bridge */

static void
members_changed_cb (LrdPeerTable    *peers,
                    LrdLanDiscovery *self)
{
  g_autoptr(GArray) addresses = lrd_peer_table_dup_addresses (peers);

  if (self->bridge != NULL)
    lrd_lan_bridge_set_members (self->bridge, (const guint32 *) addresses->data,
                                addresses->len);
}

static void
games_changed_cb (LrdLanBridge    *bridge,
                  LrdLanDiscovery *self)
{
  lrd_helper1_set_games (self->iface, lrd_lan_bridge_dup_games (bridge));
}

/* The lobby signals only new games and new names; a game's last-seen time moves with every
 * announcement, so it is brought up to date with the counters, at most once a second. */
static void
ports_changed_cb (LrdLanBridge    *bridge,
                  LrdLanDiscovery *self)
{
  lrd_helper1_set_bridged_ports (self->iface, lrd_lan_bridge_dup_ports (bridge));
  lrd_helper1_set_games (self->iface, lrd_lan_bridge_dup_games (bridge));
}

/* Opens the bridge for the data plane that is up. */
static void
start_bridge (LrdLanDiscovery *self)
{
  g_autoptr(GError) error = NULL;
  guint32 address;

  if (!lr_ipv4_parse (self->virtual_address, &address))
    {
      g_warning ("LAN bridge: %s is not an address", self->virtual_address);
      lrd_helper1_set_lan_bridge (self->iface, LAN_BRIDGE_FAILED);
      return;
    }
  self->bridge = lrd_lan_bridge_new (self->clock, self->ifname, address, PARTY_PREFIX_LENGTH,
                                     &error);
  if (self->bridge == NULL)
    {
      g_warning ("LAN discovery is not bridged: %s", error->message);
      lrd_helper1_set_lan_bridge (self->iface, LAN_BRIDGE_FAILED);
      return;
    }
  apply_policy (self);
  g_signal_connect_object (self->bridge, "games-changed", G_CALLBACK (games_changed_cb), self,
                           0);
  g_signal_connect_object (self->bridge, "ports-changed", G_CALLBACK (ports_changed_cb), self,
                           0);
  members_changed_cb (self->peers, self);
  lrd_helper1_set_lan_bridge (self->iface, LAN_BRIDGE_ON);
  g_message ("Bridging LAN discovery on %s for %s", self->ifname, self->virtual_address);
}

/* Closes the bridge: nothing more is captured or injected, and the lobby empties. */
static void
stop_bridge (LrdLanDiscovery *self)
{
  if (self->bridge != NULL)
    g_signal_handlers_disconnect_by_data (self->bridge, self);
  g_clear_object (&self->bridge);
  show_empty_lobby (self);
}

/* The bridge follows the settings, one way: the switch opens and closes it while the data
 * plane is up, and the rest is its policy. */
static void
apply_settings (LrdLanDiscovery *self)
{
  if (self->virtual_address == NULL)
    return;
  if (!self->enabled)
    {
      if (self->bridge != NULL)
        g_message ("LAN discovery turned off: no longer bridging");
      stop_bridge (self);
      lrd_helper1_set_lan_bridge (self->iface, LAN_BRIDGE_DISABLED);
    }
  else if (self->bridge == NULL)
    start_bridge (self);
  else
    apply_policy (self);
}

void
lrd_lan_discovery_start (LrdLanDiscovery *self,
                         const char      *virtual_address,
                         LrdPeerTable    *peers)
{
  g_return_if_fail (LRD_IS_LAN_DISCOVERY (self));
  g_return_if_fail (LRD_IS_PEER_TABLE (peers));

  lrd_lan_discovery_stop (self);
  if (self->ifname == NULL)
    return;
  self->virtual_address = g_strdup (virtual_address);
  self->peers = g_object_ref (peers);
  g_signal_connect_object (peers, "members-changed", G_CALLBACK (members_changed_cb), self, 0);
  apply_settings (self);
}

void
lrd_lan_discovery_stop (LrdLanDiscovery *self)
{
  g_return_if_fail (LRD_IS_LAN_DISCOVERY (self));

  stop_bridge (self);
  if (self->peers != NULL)
    g_signal_handlers_disconnect_by_data (self->peers, self);
  g_clear_object (&self->peers);
  g_clear_pointer (&self->virtual_address, g_free);
  lrd_helper1_set_lan_bridge (self->iface, LAN_BRIDGE_OFF);
}

void
lrd_lan_discovery_set_interface (LrdLanDiscovery *self,
                                 const char      *ifname)
{
  g_return_if_fail (LRD_IS_LAN_DISCOVERY (self));

  g_free (self->ifname);
  self->ifname = g_strdup (ifname);
}

static void
lrd_lan_discovery_dispose (GObject *object)
{
  LrdLanDiscovery *self = LRD_LAN_DISCOVERY (object);

  if (self->iface != NULL)
    lrd_lan_discovery_stop (self);
  g_clear_object (&self->iface);
  G_OBJECT_CLASS (lrd_lan_discovery_parent_class)->dispose (object);
}

static void
lrd_lan_discovery_finalize (GObject *object)
{
  LrdLanDiscovery *self = LRD_LAN_DISCOVERY (object);

  g_clear_pointer (&self->settings, lr_lan_policy_free);
  g_clear_pointer (&self->clock, lr_clock_unref);
  g_ptr_array_unref (self->in_flight);
  g_ptr_array_unref (self->waiting);
  g_free (self->path);
  g_free (self->ifname);
  g_free (self->virtual_address);
  G_OBJECT_CLASS (lrd_lan_discovery_parent_class)->finalize (object);
}

static void
lrd_lan_discovery_class_init (LrdLanDiscoveryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_lan_discovery_dispose;
  object_class->finalize = lrd_lan_discovery_finalize;
}

static void
lrd_lan_discovery_init (LrdLanDiscovery *self)
{
  self->enabled = TRUE;
  self->in_flight = g_ptr_array_new_with_free_func (g_object_unref);
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
}

LrdLanDiscovery *
lrd_lan_discovery_new (LrdHelper1 *iface,
                       const char *state_dir)
{
  LrdLanDiscovery *self = g_object_new (LRD_TYPE_LAN_DISCOVERY, NULL);

  self->iface = g_object_ref (iface);
  self->clock = lr_clock_new_system ();
  self->path = g_build_filename (state_dir, SETTINGS_FILE, NULL);
  self->settings = lr_lan_policy_new (self->clock, 0);
  load_settings (self);
  show_settings (self);
  show_empty_lobby (self);
  lrd_helper1_set_lan_bridge (self->iface, LAN_BRIDGE_OFF);
  return self;
}
