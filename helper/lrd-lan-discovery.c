/* lrd-lan-discovery.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-lan-discovery.h"

#include "lrd-error.h"
#include "lrd-lan-bridge.h"

#include "lr-ipam.h"

#include <glib/gstdio.h>

#define SETTINGS_FILE  "lan"
#define SETTINGS_GROUP "lan"
#define KEY_KNOWN_ONLY "known-titles-only"
/* Absent while the list is the built-in one, so a newer helper's defaults apply. */
#define KEY_DENY_LIST  "deny-list"

#define LAN_BRIDGE_OFF    "off"
#define LAN_BRIDGE_ON     "on"
#define LAN_BRIDGE_FAILED "failed"

/* The party network's prefix (DESIGN.md, 10.66.0.0/16). */
#define PARTY_PREFIX_LENGTH 16

struct _LrdLanDiscovery
{
  GObject        parent_instance;

  LrdHelper1    *iface;
  LrClock       *clock;
  char          *path;             /* the settings file */
  char          *ifname;

  /* The settings: a policy used as a checked store of the deny list and the switch. */
  LrLanPolicy   *settings;
  gboolean       custom_deny_list;

  LrdLanBridge  *bridge;           /* while the data plane is up */
  LrdPeerTable  *peers;            /* while bridging: the members' source */

  /* Saves run in worker threads; the newest snapshot wins. Only these are shared. */
  GMutex         save_lock;
  guint64        save_generation;  /* main thread */
  guint64        saved_generation; /* under save_lock */
};

G_DEFINE_FINAL_TYPE (LrdLanDiscovery, lrd_lan_discovery, G_TYPE_OBJECT)

static void
show_settings (LrdLanDiscovery *self)
{
  g_autoptr(GVariant) deny = lr_lan_policy_dup_deny_list_variant (self->settings);

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
apply_settings (LrdLanDiscovery *self)
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

static void
load_settings (LrdLanDiscovery *self)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *deny_text = NULL;
  gboolean known_only;

  if (!g_key_file_load_from_file (keyfile, self->path, G_KEY_FILE_NONE, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("Cannot read %s, using the default LAN discovery settings: %s", self->path,
                   error->message);
      return;
    }

  known_only = g_key_file_get_boolean (keyfile, SETTINGS_GROUP, KEY_KNOWN_ONLY, &error);
  if (error != NULL)
    {
      if (!g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND) &&
          !g_error_matches (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
        g_warning ("%s: %s is not a boolean; off", self->path, KEY_KNOWN_ONLY);
      g_clear_error (&error);
      known_only = FALSE;
    }
  lr_lan_policy_set_known_only (self->settings, known_only);

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

typedef struct
{
  LrdLanDiscovery *self;
  char            *text;
  guint64          generation;
} Save;

static void
save_free (Save *save)
{
  g_free (save->text);
  g_free (save);
}

/* In a worker thread: g_file_set_contents_full() writes a temporary file with mode 0600,
 * syncs it and renames it over the old one. An older snapshot never overwrites a newer. */
static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Save *save = task_data;
  LrdLanDiscovery *self = save->self;
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  g_mutex_lock (&self->save_lock);
  if (save->generation > self->saved_generation)
    {
      ok = g_file_set_contents_full (self->path, save->text, -1,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
      if (ok)
        self->saved_generation = save->generation;
    }
  g_mutex_unlock (&self->save_lock);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
save_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_warning ("Cannot save the LAN discovery settings: %s", error->message);
      g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_FAILED,
                               "Applied, but cannot save the LAN discovery settings: %s",
                               error->message);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Writes the current settings; @callback (in the main context) when they are on disk. */
static void
save_async (LrdLanDiscovery     *self,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GTask) worker = NULL;
  GTask *task = g_task_new (self, NULL, callback, user_data);
  Save *save = g_new0 (Save, 1);

  g_key_file_set_boolean (keyfile, SETTINGS_GROUP, KEY_KNOWN_ONLY,
                          lr_lan_policy_get_known_only (self->settings));
  if (self->custom_deny_list)
    {
      g_autoptr(GVariant) deny = lr_lan_policy_dup_deny_list_variant (self->settings);
      g_autofree char *text = g_variant_print (deny, TRUE);

      g_key_file_set_string (keyfile, SETTINGS_GROUP, KEY_DENY_LIST, text);
    }
  save->self = self;  /* kept alive by @task until save_cb */
  save->text = g_key_file_to_data (keyfile, NULL, NULL);
  save->generation = ++self->save_generation;

  worker = g_task_new (NULL, NULL, save_cb, task);
  g_task_set_task_data (worker, save, (GDestroyNotify) save_free);
  g_task_run_in_thread (worker, save_thread);
}

static gboolean
save_finish (LrdLanDiscovery  *self,
             GAsyncResult     *result,
             GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Each setter answers its caller once the settings are saved. */
static void
setter_saved_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!save_finish (LRD_LAN_DISCOVERY (source), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
settings_changed (LrdLanDiscovery     *self,
                  GTask               *task)
{
  show_settings (self);
  apply_settings (self);
  save_async (self, setter_saved_cb, g_object_ref (task));
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

static void
ports_changed_cb (LrdLanBridge    *bridge,
                  LrdLanDiscovery *self)
{
  lrd_helper1_set_bridged_ports (self->iface, lrd_lan_bridge_dup_ports (bridge));
}

void
lrd_lan_discovery_start (LrdLanDiscovery *self,
                         const char      *virtual_address,
                         LrdPeerTable    *peers)
{
  g_autoptr(GError) error = NULL;
  guint32 address;

  g_return_if_fail (LRD_IS_LAN_DISCOVERY (self));
  g_return_if_fail (LRD_IS_PEER_TABLE (peers));

  lrd_lan_discovery_stop (self);
  if (self->ifname == NULL)
    return;
  if (!lr_ipv4_parse (virtual_address, &address))
    {
      g_warning ("LAN bridge: %s is not an address", virtual_address);
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
  apply_settings (self);
  g_signal_connect_object (self->bridge, "games-changed", G_CALLBACK (games_changed_cb), self,
                           0);
  g_signal_connect_object (self->bridge, "ports-changed", G_CALLBACK (ports_changed_cb), self,
                           0);
  self->peers = g_object_ref (peers);
  g_signal_connect_object (peers, "members-changed", G_CALLBACK (members_changed_cb), self, 0);
  members_changed_cb (peers, self);
  lrd_helper1_set_lan_bridge (self->iface, LAN_BRIDGE_ON);
  g_message ("Bridging LAN discovery on %s for %s", self->ifname, virtual_address);
}

void
lrd_lan_discovery_stop (LrdLanDiscovery *self)
{
  g_return_if_fail (LRD_IS_LAN_DISCOVERY (self));

  if (self->peers != NULL)
    g_signal_handlers_disconnect_by_data (self->peers, self);
  g_clear_object (&self->peers);
  if (self->bridge != NULL)
    g_signal_handlers_disconnect_by_data (self->bridge, self);
  g_clear_object (&self->bridge);
  show_empty_lobby (self);
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
  g_mutex_clear (&self->save_lock);
  g_free (self->path);
  g_free (self->ifname);
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
  g_mutex_init (&self->save_lock);
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
