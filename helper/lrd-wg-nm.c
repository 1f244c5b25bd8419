/* lrd-wg-nm.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdWgNm keeps the interface as one NetworkManager profile of type wireguard:
 * - in memory only (AddConnection2 IN_MEMORY, never written to disk, gone when
 *   NetworkManager restarts) and, once active, volatile (every Update2 carries VOLATILE), so
 *   NetworkManager deletes it by itself when it deactivates; down deletes it explicitly;
 * - tagged with the user-data setting LRD_WG_NM_TAG_KEY=LRD_WG_NM_TAG_VALUE and a uuid
 *   derived from the interface name, so a restarted helper finds its own profile and the
 *   helper never touches a profile it did not create;
 * - changed at run time by Update2 (in memory) of the whole profile plus Reapply on the
 *   active device. LrdWgNm keeps its own copy of what it sent instead of reading the client
 *   cache back, which lags behind a commit (LAB.md).
 * NetworkManager reports no per-peer counters over D-Bus: get_stats lists the configured
 * peers and fills their counters, last handshake and current endpoint from the kernel's
 * WireGuard generic netlink (LrdWgGenl). Where that cannot be read (no WireGuard module, the
 * interface not created) the counters stay 0 and the reason is said once at debug level.
 */
#include "lrd-wg-nm.h"
#include "lrd-wg-backend-private.h"
#include "lrd-wg-genl.h"

#include "lr-wg-uapi.h"

#include <sodium.h>
#include <string.h>

/* NetworkManager creates the device and configures it in well under a second; a slow
 * machine gets ample time before up gives up. */
#define ACTIVATION_TIMEOUT_SECONDS 30

/* libnm 1.42 declares no cleanup function for it. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NMWireGuardPeer, nm_wireguard_peer_unref)

struct _LrdWgNm
{
  GObject             parent_instance;

  char               *ifname;
  char               *uuid;
  gboolean            activate;
  NMClient           *client;
  NMConnection       *connection;   /* what NetworkManager holds, as we last sent it */
  NMActiveConnection *active;

  LrdWgGenl          *genl;         /* the kernel's counters; new at each up */
  char               *counters_problem;   /* why they could not be read, as last said */
};

static void lrd_wg_nm_backend_init (LrdWgBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LrdWgNm, lrd_wg_nm, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LRD_TYPE_WG_BACKEND,
                                                      lrd_wg_nm_backend_init))

/* A name-based uuid (RFC 4122 §4.3 layout, SHA-256 truncated) of the interface name in a
 * namespace of our own: the same interface always gets the same profile uuid. */
static char *
profile_uuid (const char *ifname)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize length = sizeof digest;

  g_checksum_update (checksum, (const guchar *) "io.lanrage.helper/wireguard/", -1);
  g_checksum_update (checksum, (const guchar *) ifname, -1);
  g_checksum_get_digest (checksum, digest, &length);
  digest[6] = (digest[6] & 0x0f) | 0x50;
  digest[8] = (digest[8] & 0x3f) | 0x80;

  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                          "%02x%02x%02x%02x%02x%02x",
                          digest[0], digest[1], digest[2], digest[3], digest[4], digest[5],
                          digest[6], digest[7], digest[8], digest[9], digest[10], digest[11],
                          digest[12], digest[13], digest[14], digest[15]);
}

gboolean
lrd_wg_nm_is_own_profile (NMConnection *connection)
{
  NMSettingUser *user = NM_SETTING_USER (nm_connection_get_setting (connection,
                                                                    NM_TYPE_SETTING_USER));

  return user != NULL &&
         g_strcmp0 (nm_setting_user_get_data (user, LRD_WG_NM_TAG_KEY), LRD_WG_NM_TAG_VALUE) == 0;
}

static NMRemoteConnection *
find_remote (LrdWgNm *self)
{
  return nm_client_get_connection_by_uuid (self->client, self->uuid);
}

static GError *
nm_error (GError     *error,
          const char *what)
{
  GError *result;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;

  result = g_error_new (LRD_WG_ERROR, LRD_WG_ERROR_FAILED, "NetworkManager could not %s: %s",
                        what, error->message);
  g_error_free (error);
  return result;
}

/* Forgets the kernel reader, so the next party asks the kernel afresh (its WireGuard
 * module may have been loaded since) and says again why counters cannot be read. */
static void
reset_counters (LrdWgNm *self)
{
  g_clear_object (&self->genl);
  g_clear_pointer (&self->counters_problem, g_free);
}

/* Says why the counters stay 0, once per reason rather than at every read. */
static void
say_counters_problem (LrdWgNm      *self,
                      const GError *error)
{
  if (g_strcmp0 (self->counters_problem, error->message) == 0)
    return;

  g_free (self->counters_problem);
  self->counters_problem = g_strdup (error->message);
  g_debug ("WireGuard's counters for %s stay 0: %s", self->ifname, error->message);
}

/* NetworkManager says "Failed to create WireGuard interface ...: Operation not supported"
 * when the kernel has no WireGuard (LAB.md); that is the one failure auto falls back on. */
static GError *
activation_error (LrdWgNm    *self,
                  const char *message)
{
  if (strstr (message, "Operation not supported") != NULL ||
      strstr (message, "Failed to create WireGuard interface") != NULL)
    return g_error_new (LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD,
                        "NetworkManager cannot create the WireGuard interface %s because this "
                        "kernel has no WireGuard; use the UAPI backend with wireguard-go "
                        "(“apt install wireguard-go”) (%s)", self->ifname, message);

  return g_error_new (LRD_WG_ERROR, LRD_WG_ERROR_FAILED,
                      "NetworkManager could not activate %s: %s", self->ifname, message);
}

static NMConnection *
build_connection (LrdWgNm         *self,
                  const LrKey     *private_key,
                  guint16          listen_port,
                  GInetAddress    *address,
                  guint            prefix_length)
{
  NMConnection *connection = nm_simple_connection_new ();
  NMSetting *s_con = nm_setting_connection_new ();
  NMSetting *s_wg = nm_setting_wireguard_new ();
  NMSetting *s_ip4 = nm_setting_ip4_config_new ();
  NMSetting *s_ip6 = nm_setting_ip6_config_new ();
  NMSetting *s_user = nm_setting_user_new ();
  g_autofree char *id = g_strdup_printf ("LANrage (%s)", self->ifname);
  g_autofree char *key = lr_key_to_base64 (private_key);
  g_autofree char *address_text = g_inet_address_to_string (address);
  gboolean ipv6 = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6;
  NMIPAddress *ip = nm_ip_address_new (ipv6 ? AF_INET6 : AF_INET, address_text, prefix_length,
                                       NULL);

  g_object_set (s_con,
                NM_SETTING_CONNECTION_ID, id,
                NM_SETTING_CONNECTION_UUID, self->uuid,
                NM_SETTING_CONNECTION_TYPE, NM_SETTING_WIREGUARD_SETTING_NAME,
                NM_SETTING_CONNECTION_INTERFACE_NAME, self->ifname,
                NM_SETTING_CONNECTION_AUTOCONNECT, FALSE,
                NULL);
  g_object_set (s_wg,
                NM_SETTING_WIREGUARD_PRIVATE_KEY, key,
                NM_SETTING_WIREGUARD_LISTEN_PORT, (guint) listen_port,
                NULL);
  sodium_memzero (key, strlen (key));

  g_object_set (ipv6 ? s_ip6 : s_ip4,
                NM_SETTING_IP_CONFIG_METHOD, ipv6 ? NM_SETTING_IP6_CONFIG_METHOD_MANUAL
                                                  : NM_SETTING_IP4_CONFIG_METHOD_MANUAL,
                NM_SETTING_IP_CONFIG_NEVER_DEFAULT, TRUE,
                NULL);
  nm_setting_ip_config_add_address (NM_SETTING_IP_CONFIG (ipv6 ? s_ip6 : s_ip4), ip);
  nm_ip_address_unref (ip);
  g_object_set (ipv6 ? s_ip4 : s_ip6,
                NM_SETTING_IP_CONFIG_METHOD, ipv6 ? NM_SETTING_IP4_CONFIG_METHOD_DISABLED
                                                  : NM_SETTING_IP6_CONFIG_METHOD_DISABLED,
                NULL);

  nm_setting_user_set_data (NM_SETTING_USER (s_user), LRD_WG_NM_TAG_KEY, LRD_WG_NM_TAG_VALUE,
                            NULL);

  nm_connection_add_setting (connection, s_con);
  nm_connection_add_setting (connection, s_wg);
  nm_connection_add_setting (connection, s_ip4);
  nm_connection_add_setting (connection, s_ip6);
  nm_connection_add_setting (connection, s_user);
  return connection;
}

/* ------------------------------------------------------------------------------------ */
/* Deleting our profile (and deactivating it first)                                        */

static void
delete_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdWgNm *self = g_task_get_source_object (task);
  GError *error = NULL;

  /* A volatile profile may already be gone by the time we ask. */
  if (!nm_remote_connection_delete_finish (NM_REMOTE_CONNECTION (object), result, &error) &&
      find_remote (self) != NULL)
    g_task_return_error (task, nm_error (error, "delete the profile"));
  else
    {
      g_clear_error (&error);
      g_task_return_boolean (task, TRUE);
    }
}

static void
delete_profile (GTask *task)
{
  LrdWgNm *self = g_task_get_source_object (task);
  NMRemoteConnection *remote = find_remote (self);

  g_clear_object (&self->connection);

  if (remote == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  /* Nothing of ours to remove: a profile that is not tagged is left alone. */
  if (!lrd_wg_nm_is_own_profile (NM_CONNECTION (remote)))
    {
      g_debug ("Profile %s is not the helper's own; leaving it alone", self->uuid);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  nm_remote_connection_delete_async (remote, g_task_get_cancellable (task), delete_cb, task);
}

static void
deactivate_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!nm_client_deactivate_connection_finish (NM_CLIENT (object), result, &error))
    g_debug ("Deactivating the WireGuard profile: %s", error->message);

  delete_profile (user_data);
}

static void
remove_profile_async (LrdWgNm             *self,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(NMActiveConnection) active = g_steal_pointer (&self->active);

  g_task_set_source_tag (task, remove_profile_async);

  if (active != NULL && nm_active_connection_get_state (active) <=
                        NM_ACTIVE_CONNECTION_STATE_ACTIVATED)
    nm_client_deactivate_connection_async (self->client, active, cancellable, deactivate_cb,
                                           task);
  else
    delete_profile (task);
}

static gboolean
remove_profile_finish (LrdWgNm       *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------------------------------ */
/* up                                                                                       */

typedef struct
{
  NMConnection *connection;
  GError       *error;            /* to return after cleaning up */
  gulong        state_id;
  guint         timeout_id;
} UpData;

static void
up_data_free (UpData *data)
{
  g_clear_object (&data->connection);
  g_clear_error (&data->error);
  g_clear_handle_id (&data->timeout_id, g_source_remove);
  g_free (data);
}

static void
up_cleaned_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UpData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!remove_profile_finish (LRD_WG_NM (object), result, &error))
    g_debug ("Cleaning up after a failed up: %s", error->message);

  g_task_return_error (task, g_steal_pointer (&data->error));
}

/* Stops watching the activation: up is decided. */
static void
up_stop_watching (GTask *task)
{
  LrdWgNm *self = g_task_get_source_object (task);
  UpData *data = g_task_get_task_data (task);

  if (data->state_id != 0 && self->active != NULL)
    g_clear_signal_handler (&data->state_id, self->active);
  g_clear_handle_id (&data->timeout_id, g_source_remove);
}

/* A failed up leaves no profile behind. */
static void
up_fail (GTask  *task,
         GError *error)
{
  LrdWgNm *self = g_task_get_source_object (task);
  UpData *data = g_task_get_task_data (task);

  up_stop_watching (task);
  data->error = error;
  remove_profile_async (self, NULL, up_cleaned_cb, task);
}

static void
up_succeed (GTask *task)
{
  LrdWgNm *self = g_task_get_source_object (task);
  UpData *data = g_task_get_task_data (task);

  up_stop_watching (task);
  g_set_object (&self->connection, data->connection);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
active_state_cb (NMActiveConnection *active,
                 guint               state,
                 guint               reason,
                 gpointer            user_data)
{
  GTask *task = user_data;
  LrdWgNm *self = g_task_get_source_object (task);

  if (state == NM_ACTIVE_CONNECTION_STATE_ACTIVATED)
    up_succeed (task);
  else if (state >= NM_ACTIVE_CONNECTION_STATE_DEACTIVATING)
    {
      g_autofree char *why = g_strdup_printf ("activation stopped (reason %u)", reason);

      up_fail (task, activation_error (self, why));
    }
}

static gboolean
activation_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  UpData *data = g_task_get_task_data (task);

  data->timeout_id = 0;
  up_fail (task, g_error_new (LRD_WG_ERROR, LRD_WG_ERROR_FAILED,
                              "NetworkManager did not activate the interface within %d s",
                              ACTIVATION_TIMEOUT_SECONDS));
  return G_SOURCE_REMOVE;
}

static void
up_activated_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  LrdWgNm *self = g_task_get_source_object (task);
  UpData *data = g_task_get_task_data (task);
  GError *error = NULL;
  NMActiveConnection *active;

  active = nm_client_activate_connection_finish (NM_CLIENT (object), result, &error);
  if (active == NULL)
    {
      GError *reported = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                         ? g_error_copy (error) : activation_error (self, error->message);

      g_error_free (error);
      up_fail (task, reported);
      return;
    }

  g_clear_object (&self->active);
  self->active = active;

  if (nm_active_connection_get_state (active) == NM_ACTIVE_CONNECTION_STATE_ACTIVATED)
    {
      up_succeed (task);
      return;
    }

  data->state_id = g_signal_connect (active, "state-changed", G_CALLBACK (active_state_cb),
                                     task);
  data->timeout_id = g_timeout_add_seconds (ACTIVATION_TIMEOUT_SECONDS, activation_timeout_cb,
                                            task);
}

static void
up_added_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask *task = user_data;
  LrdWgNm *self = g_task_get_source_object (task);
  GError *error = NULL;
  g_autoptr(NMRemoteConnection) remote = NULL;

  remote = nm_client_add_connection2_finish (NM_CLIENT (object), result, NULL, &error);
  if (remote == NULL)
    {
      g_task_return_error (task, nm_error (error, "add the WireGuard profile"));
      g_object_unref (task);
      return;
    }

  if (!self->activate)
    {
      up_succeed (task);
      return;
    }

  /* As `nmcli connection up` does: AddAndActivate finds no device for a virtual profile
   * whose device does not exist yet. */
  nm_client_activate_connection_async (self->client, NM_CONNECTION (remote), NULL, NULL,
                                       g_task_get_cancellable (task), up_activated_cb, task);
}

static void
up_add (GTask *task)
{
  LrdWgNm *self = g_task_get_source_object (task);
  UpData *data = g_task_get_task_data (task);

  /* In memory only, never on disk. Once active, every update marks it volatile too, so
   * NetworkManager deletes it by itself if it is ever deactivated behind our back. */
  nm_client_add_connection2 (self->client,
                             nm_connection_to_dbus (data->connection, NM_CONNECTION_SERIALIZE_ALL),
                             NM_SETTINGS_ADD_CONNECTION2_FLAG_IN_MEMORY |
                             NM_SETTINGS_ADD_CONNECTION2_FLAG_BLOCK_AUTOCONNECT,
                             NULL, TRUE, g_task_get_cancellable (task), up_added_cb, task);
}

static void
up_stale_removed_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!remove_profile_finish (LRD_WG_NM (object), result, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  up_add (task);
}

static void
nm_up_async (LrdWgBackend        *backend,
             const LrKey         *private_key,
             guint16              listen_port,
             const char          *address_cidr,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  LrdWgNm *self = LRD_WG_NM (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  UpData *data = g_new0 (UpData, 1);
  g_autoptr(GInetAddress) address = NULL;
  guint prefix_length;
  GError *error = NULL;

  g_task_set_source_tag (task, nm_up_async);
  g_task_set_task_data (task, data, (GDestroyNotify) up_data_free);
  reset_counters (self);

  if (!nm_client_get_nm_running (self->client))
    {
      g_task_return_new_error (task, LRD_WG_ERROR, LRD_WG_ERROR_FAILED,
                               "NetworkManager is not running");
      g_object_unref (task);
      return;
    }

  if (!lrd_wg_parse_interface_address (address_cidr, &address, &prefix_length, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  data->connection = build_connection (self, private_key, listen_port, address, prefix_length);
  if (!nm_connection_verify (data->connection, &error))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "Invalid WireGuard profile: %s", error->message);
      g_error_free (error);
      g_object_unref (task);
      return;
    }

  /* A profile of ours left by an earlier helper is replaced; one that is not ours with the
   * same uuid is never touched, so up cannot go on. */
  if (find_remote (self) != NULL &&
      !lrd_wg_nm_is_own_profile (NM_CONNECTION (find_remote (self))))
    {
      g_task_return_new_error (task, LRD_WG_ERROR, LRD_WG_ERROR_FAILED,
                               "NetworkManager profile %s is not the helper's own; "
                               "leaving it alone", self->uuid);
      g_object_unref (task);
    }
  else if (find_remote (self) != NULL)
    remove_profile_async (self, cancellable, up_stale_removed_cb, task);
  else
    up_add (task);
}

/* ------------------------------------------------------------------------------------ */
/* Changing peers: update the profile in memory, then reapply it if it is active           */

static void
commit_reapplied_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdWgNm *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!nm_device_reapply_finish (NM_DEVICE (object), result, &error))
    {
      g_task_return_error (task, nm_error (error, "apply the new peers"));
      return;
    }

  g_set_object (&self->connection, g_task_get_task_data (task));
  g_task_return_boolean (task, TRUE);
}

static void
commit_updated_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdWgNm *self = g_task_get_source_object (task);
  NMConnection *connection = g_task_get_task_data (task);
  g_autoptr(GVariant) out = NULL;
  GError *error = NULL;
  const GPtrArray *devices;

  out = nm_remote_connection_update2_finish (NM_REMOTE_CONNECTION (object), result, &error);
  if (out == NULL)
    {
      g_task_return_error (task, nm_error (error, "update the WireGuard profile"));
      return;
    }

  devices = self->active != NULL ? nm_active_connection_get_devices (self->active) : NULL;
  if (devices != NULL && devices->len > 0)
    {
      GCancellable *cancellable = g_task_get_cancellable (task);

      nm_device_reapply_async (devices->pdata[0], connection, 0, 0, cancellable,
                               commit_reapplied_cb, g_steal_pointer (&task));
      return;
    }

  g_set_object (&self->connection, connection);
  g_task_return_boolean (task, TRUE);
}

/* Sends @connection (a changed copy of self->connection) to NetworkManager; self->connection
 * becomes it only once NetworkManager took it, so a failed change leaves things as they
 * were. */
static void
commit_async (LrdWgNm             *self,
              NMConnection        *connection,
              gpointer             source_tag,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  NMRemoteConnection *remote = find_remote (self);
  NMSettingsUpdate2Flags flags = NM_SETTINGS_UPDATE2_FLAG_IN_MEMORY;

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, connection, g_object_unref);

  if (remote == NULL || !lrd_wg_nm_is_own_profile (NM_CONNECTION (remote)))
    {
      g_task_return_new_error (task, LRD_WG_ERROR, LRD_WG_ERROR_FAILED,
                               "The WireGuard profile for %s is gone; bring it up first",
                               self->ifname);
      g_object_unref (task);
      return;
    }

  /* Keep an active profile volatile: it goes away by itself when deactivated. */
  if (self->active != NULL)
    flags |= NM_SETTINGS_UPDATE2_FLAG_VOLATILE;

  nm_remote_connection_update2 (remote,
                                nm_connection_to_dbus (connection, NM_CONNECTION_SERIALIZE_ALL),
                                flags, NULL, cancellable, commit_updated_cb, task);
}

/* Changing peers needs the profile that up created. Returns %TRUE when it is not there,
 * having reported that to @callback. */
static gboolean
report_if_down (LrdWgNm             *self,
                gpointer             source_tag,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  if (self->connection != NULL)
    return FALSE;

  g_task_report_new_error (self, callback, user_data, source_tag, LRD_WG_ERROR,
                           LRD_WG_ERROR_FAILED, "The WireGuard interface is not up");
  return TRUE;
}

static NMConnection *
clone_for_change (LrdWgNm        *self,
                  NMSettingWireGuard **out_setting)
{
  NMConnection *copy = nm_simple_connection_new_clone (self->connection);

  *out_setting = NM_SETTING_WIREGUARD (nm_connection_get_setting (copy,
                                                                  NM_TYPE_SETTING_WIREGUARD));
  return copy;
}

static void
nm_set_peer_async (LrdWgBackend          *backend,
                   const LrdWgPeerConfig *config,
                   GCancellable          *cancellable,
                   GAsyncReadyCallback    callback,
                   gpointer               user_data)
{
  LrdWgNm *self = LRD_WG_NM (backend);
  g_autoptr(NMConnection) copy = NULL;
  g_autoptr(NMWireGuardPeer) peer = NULL;
  g_autofree char *public_key = NULL;
  g_autoptr(GError) error = NULL;
  NMSettingWireGuard *s_wg;
  guint index;

  if (report_if_down (self, nm_set_peer_async, callback, user_data))
    return;

  if (!lrd_wg_check_peer_config (config, "Bad allowed IP for a peer: ", &error))
    {
      g_task_report_error (self, callback, user_data, nm_set_peer_async,
                           g_steal_pointer (&error));
      return;
    }

  public_key = lr_key_to_base64 (&config->public_key);
  peer = nm_wireguard_peer_new ();
  nm_wireguard_peer_set_public_key (peer, public_key, TRUE);
  if (lr_addr_is_set (&config->endpoint))
    {
      g_autofree char *endpoint = lr_addr_to_string (&config->endpoint);

      nm_wireguard_peer_set_endpoint (peer, endpoint, TRUE);
    }
  nm_wireguard_peer_set_persistent_keepalive (peer, (guint16) config->persistent_keepalive);
  for (guint i = 0; config->allowed_ips != NULL && config->allowed_ips[i] != NULL; i++)
    {
      if (!nm_wireguard_peer_append_allowed_ip (peer, config->allowed_ips[i], FALSE))
        {
          g_task_report_new_error (self, callback, user_data, nm_set_peer_async, G_IO_ERROR,
                                   G_IO_ERROR_INVALID_ARGUMENT, "Bad allowed IP for a peer: %s",
                                   config->allowed_ips[i]);
          return;
        }
    }
  if (!nm_wireguard_peer_is_valid (peer, TRUE, TRUE, &error))
    {
      g_task_report_new_error (self, callback, user_data, nm_set_peer_async, G_IO_ERROR,
                               G_IO_ERROR_INVALID_ARGUMENT, "Invalid peer: %s", error->message);
      return;
    }
  nm_wireguard_peer_seal (peer);

  copy = clone_for_change (self, &s_wg);
  if (nm_setting_wireguard_get_peer_by_public_key (s_wg, public_key, &index) != NULL)
    nm_setting_wireguard_set_peer (s_wg, peer, index);
  else
    nm_setting_wireguard_append_peer (s_wg, peer);

  commit_async (self, g_steal_pointer (&copy), nm_set_peer_async, cancellable, callback,
                user_data);
}

static void
nm_remove_peer_async (LrdWgBackend        *backend,
                      const LrKey         *public_key,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  LrdWgNm *self = LRD_WG_NM (backend);
  g_autoptr(NMConnection) copy = NULL;
  g_autofree char *key = lr_key_to_base64 (public_key);
  NMSettingWireGuard *s_wg;
  guint index;

  if (report_if_down (self, nm_remove_peer_async, callback, user_data))
    return;

  copy = clone_for_change (self, &s_wg);
  if (nm_setting_wireguard_get_peer_by_public_key (s_wg, key, &index) != NULL)
    nm_setting_wireguard_remove_peer (s_wg, index);

  commit_async (self, g_steal_pointer (&copy), nm_remove_peer_async, cancellable, callback,
                user_data);
}

static void
kernel_peers_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdWgNm *self = g_task_get_source_object (task);
  GArray *stats = g_task_get_task_data (task);
  g_autoptr(GArray) kernel = NULL;
  g_autoptr(GError) error = NULL;

  kernel = lrd_wg_genl_get_peers_finish (LRD_WG_GENL (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (kernel == NULL)
    say_counters_problem (self, error);
  else
    {
      g_clear_pointer (&self->counters_problem, g_free);
      lrd_wg_peer_stats_fill (stats, kernel);
    }

  g_task_return_pointer (task, g_array_ref (stats), (GDestroyNotify) g_array_unref);
}

static void
nm_get_stats_async (LrdWgBackend        *backend,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  LrdWgNm *self = LRD_WG_NM (backend);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GArray) stats = NULL;
  g_autoptr(GError) error = NULL;
  NMSettingWireGuard *s_wg;

  g_task_set_source_tag (task, nm_get_stats_async);
  lrd_wg_peer_stats_array_init (&stats);

  s_wg = self->connection != NULL
         ? NM_SETTING_WIREGUARD (nm_connection_get_setting (self->connection,
                                                            NM_TYPE_SETTING_WIREGUARD))
         : NULL;
  for (guint i = 0; s_wg != NULL && i < nm_setting_wireguard_get_peers_len (s_wg); i++)
    {
      NMWireGuardPeer *peer = nm_setting_wireguard_get_peer (s_wg, i);
      const char *endpoint = nm_wireguard_peer_get_endpoint (peer);
      LrdWgPeerStats entry = { 0 };

      if (!lr_key_from_base64 (nm_wireguard_peer_get_public_key (peer), &entry.public_key))
        continue;
      if (endpoint != NULL)
        lr_addr_parse (endpoint, &entry.endpoint);
      g_array_append_val (stats, entry);
    }

  if (stats->len > 0 && self->genl == NULL)
    {
      self->genl = lrd_wg_genl_new (&error);
      if (self->genl == NULL)
        say_counters_problem (self, error);
    }

  if (stats->len == 0 || self->genl == NULL)
    {
      g_task_return_pointer (task, g_steal_pointer (&stats), (GDestroyNotify) g_array_unref);
      return;
    }

  g_task_set_task_data (task, g_steal_pointer (&stats), (GDestroyNotify) g_array_unref);
  lrd_wg_genl_get_peers_async (self->genl, self->ifname, cancellable, kernel_peers_cb,
                               g_steal_pointer (&task));
}

static void
down_removed_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!remove_profile_finish (LRD_WG_NM (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
nm_down_async (LrdWgBackend        *backend,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  LrdWgNm *self = LRD_WG_NM (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, nm_down_async);
  reset_counters (self);
  remove_profile_async (self, cancellable, down_removed_cb, task);
}

static const char *
nm_get_name (LrdWgBackend *backend)
{
  return "networkmanager";
}

static void
lrd_wg_nm_backend_init (LrdWgBackendInterface *iface)
{
  iface->get_name = nm_get_name;
  iface->up_async = nm_up_async;
  iface->up_finish = lrd_wg_backend_task_finish_boolean;
  iface->set_peer_async = nm_set_peer_async;
  iface->set_peer_finish = lrd_wg_backend_task_finish_boolean;
  iface->remove_peer_async = nm_remove_peer_async;
  iface->remove_peer_finish = lrd_wg_backend_task_finish_boolean;
  iface->get_stats_async = nm_get_stats_async;
  iface->get_stats_finish = lrd_wg_backend_task_finish_stats;
  iface->down_async = nm_down_async;
  iface->down_finish = lrd_wg_backend_task_finish_boolean;
}

/* ------------------------------------------------------------------------------------ */

static void
lrd_wg_nm_dispose (GObject *object)
{
  LrdWgNm *self = LRD_WG_NM (object);

  g_clear_object (&self->active);
  g_clear_object (&self->connection);
  g_clear_object (&self->client);
  g_clear_object (&self->genl);

  G_OBJECT_CLASS (lrd_wg_nm_parent_class)->dispose (object);
}

static void
lrd_wg_nm_finalize (GObject *object)
{
  LrdWgNm *self = LRD_WG_NM (object);

  g_free (self->ifname);
  g_free (self->uuid);
  g_free (self->counters_problem);

  G_OBJECT_CLASS (lrd_wg_nm_parent_class)->finalize (object);
}

static void
lrd_wg_nm_class_init (LrdWgNmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lrd_wg_nm_dispose;
  object_class->finalize = lrd_wg_nm_finalize;
}

static void
lrd_wg_nm_init (LrdWgNm *self)
{
  self->activate = TRUE;
}

static void
client_ready_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LrdWgNm *self = g_task_get_task_data (task);
  GError *error = NULL;

  self->client = NM_CLIENT (g_async_initable_new_finish (G_ASYNC_INITABLE (object), result,
                                                         &error));
  if (self->client == NULL)
    {
      g_task_return_error (task, nm_error (error, "be reached"));
      return;
    }

  g_task_return_pointer (task, g_object_ref (self), g_object_unref);
}

/**
 * lrd_wg_nm_new_async:
 * @system_bus: (nullable): the bus NetworkManager is on; %NULL for the system bus
 *
 * Finishes with a backend even when NetworkManager is not running: ask
 * lrd_wg_nm_is_running().
 */
void
lrd_wg_nm_new_async (const char          *ifname,
                     GDBusConnection     *system_bus,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(LrdWgNm) self = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, lrd_wg_nm_new_async);

  if (!lrd_wg_check_ifname (ifname, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  self = g_object_new (LRD_TYPE_WG_NM, NULL);
  self->ifname = g_strdup (ifname);
  self->uuid = profile_uuid (ifname);
  g_task_set_task_data (task, g_steal_pointer (&self), g_object_unref);

  g_async_initable_new_async (NM_TYPE_CLIENT, G_PRIORITY_DEFAULT, cancellable, client_ready_cb,
                              g_steal_pointer (&task),
                              NM_CLIENT_DBUS_CONNECTION, system_bus,
                              NULL);
}

LrdWgNm *
lrd_wg_nm_new_finish (GAsyncResult  *result,
                      GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
lrd_wg_nm_is_running (LrdWgNm *self)
{
  g_return_val_if_fail (LRD_IS_WG_NM (self), FALSE);

  return nm_client_get_nm_running (self->client);
}

NMClient *
lrd_wg_nm_get_client (LrdWgNm *self)
{
  g_return_val_if_fail (LRD_IS_WG_NM (self), NULL);

  return self->client;
}

const char *
lrd_wg_nm_get_uuid (LrdWgNm *self)
{
  g_return_val_if_fail (LRD_IS_WG_NM (self), NULL);

  return self->uuid;
}

/**
 * lrd_wg_nm_set_activate:
 * @activate: %FALSE to only create and update the profile, never activate it
 *
 * For tests on kernels without WireGuard, where activation cannot work, so profile
 * management can still be checked against a real NetworkManager.
 */
void
lrd_wg_nm_set_activate (LrdWgNm  *self,
                        gboolean  activate)
{
  g_return_if_fail (LRD_IS_WG_NM (self));

  self->activate = !!activate;
}
