/* lrd-service.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrd-service.h"
#include "lrd-config.h"
#include "lrd-error.h"

#include <glib/gstdio.h>
#include <string.h>

/* In the state folder: the control server SetControlUrl chose, which wins over the
 * configuration file's. */
#define CONTROL_URL_FILE "control-url"

struct _LrdService
{
  GObject                   parent_instance;

  /* Set at construction and never changed: the authorize handler reads it from GDBus's
   * worker thread. */
  PolkitAuthority          *authority;

  LrdHelper1               *iface;
  GDBusObjectManagerServer *manager;
  LrdSession               *session;
  LrdLanDiscovery          *lan;
  LrdControlClient         *client;
  char                     *state_dir;
  gboolean                  exported;
};

G_DEFINE_FINAL_TYPE (LrdService, lrd_service, G_TYPE_OBJECT)

/* Who may call what. A method that is not here is refused: a new method must be given an
 * action (or declared open) before anyone can call it. */
static const struct
{
  const char *interface;
  const char *method;
  const char *action;   /* NULL: open to anyone (read-only) */
} method_actions[] = {
  { "io.lanrage.Helper1", "CreateParty", LRD_ACTION_JOIN },
  { "io.lanrage.Helper1", "JoinParty", LRD_ACTION_JOIN },
  { "io.lanrage.Helper1", "LeaveParty", LRD_ACTION_JOIN },
  { "io.lanrage.Helper1", "Refresh", LRD_ACTION_JOIN },
  { "io.lanrage.Helper1", "SetControlUrl", LRD_ACTION_CONFIGURE },
  { "io.lanrage.Helper1", "GetStatus", NULL },
  { "io.lanrage.Helper1", "SetLanDiscovery", LRD_ACTION_CONFIGURE },
  { "io.lanrage.Helper1", "SetDenyList", LRD_ACTION_CONFIGURE },
  { "io.lanrage.Helper1", "ResetDenyList", LRD_ACTION_CONFIGURE },
  { "io.lanrage.Helper1", "SetKnownTitlesOnly", LRD_ACTION_CONFIGURE },
};

static gboolean
lookup_action (const char  *interface,
               const char  *method,
               const char **out_action)
{
  for (guint i = 0; i < G_N_ELEMENTS (method_actions); i++)
    {
      if (g_strcmp0 (method_actions[i].interface, interface) == 0 &&
          g_strcmp0 (method_actions[i].method, method) == 0)
        {
          *out_action = method_actions[i].action;
          return TRUE;
        }
    }
  return FALSE;
}

/* Runs in a GDBus worker thread (that is what connecting to g-authorize-method does), so
 * the synchronous polkit call blocks that thread, never the main loop; the method itself
 * is then dispatched in the main context. It touches only self->authority. */
static gboolean
authorize_method_cb (GDBusInterfaceSkeleton *skeleton,
                     GDBusMethodInvocation  *invocation,
                     gpointer                user_data)
{
  LrdService *self = user_data;
  const char *interface = g_dbus_method_invocation_get_interface_name (invocation);
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  GDBusMessage *message = g_dbus_method_invocation_get_message (invocation);
  PolkitCheckAuthorizationFlags flags = POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;
  g_autoptr(PolkitSubject) subject = NULL;
  g_autoptr(PolkitAuthorizationResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *action = NULL;

  if (!lookup_action (interface, method, &action))
    {
      g_dbus_method_invocation_return_error (invocation, LRD_ERROR, LRD_ERROR_NOT_AUTHORIZED,
                                             "%s.%s may not be called", interface, method);
      return FALSE;
    }
  if (action == NULL)
    return TRUE;

  /* The session-bus test mode: the bus admits only this user. */
  if (self->authority == NULL)
    return TRUE;

  if (sender == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, LRD_ERROR, LRD_ERROR_NOT_AUTHORIZED,
                                             "Calls without a sender are not accepted");
      return FALSE;
    }

  if (g_dbus_message_get_flags (message) & G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION)
    flags |= POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION;

  /* The bus name, never a pid: a pid can be reused by another process before polkit looks
   * at it; the bus name belongs to this connection for its whole life. */
  subject = polkit_system_bus_name_new (sender);
  result = polkit_authority_check_authorization_sync (self->authority, subject, action, NULL,
                                                      flags, NULL, &error);
  if (result == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_warning ("Cannot ask polkit about %s for %s: %s", action, sender, error->message);
      g_dbus_method_invocation_return_error (invocation, LRD_ERROR, LRD_ERROR_NOT_AUTHORIZED,
                                             "Cannot check whether you may do this (%s)",
                                             error->message);
      return FALSE;
    }

  if (polkit_authorization_result_get_is_authorized (result))
    {
      g_debug ("%s may call %s (%s)", sender, method, action);
      return TRUE;
    }

  g_info ("Refused %s to %s (%s)", method, sender, action);
  if (g_str_equal (action, LRD_ACTION_CONFIGURE))
    g_dbus_method_invocation_return_error (invocation, LRD_ERROR, LRD_ERROR_NOT_AUTHORIZED,
                                           "Only an administrator may change the helper's "
                                           "settings");
  else if (polkit_authorization_result_get_is_challenge (result))
    g_dbus_method_invocation_return_error (invocation, LRD_ERROR, LRD_ERROR_NOT_AUTHORIZED,
                                           "Authentication as an administrator is needed to "
                                           "join or leave a party from here");
  else
    g_dbus_method_invocation_return_error (invocation, LRD_ERROR, LRD_ERROR_NOT_AUTHORIZED,
                                           "You are not allowed to join or leave LANrage "
                                           "parties on this computer");
  return FALSE;
}

/* Every error that leaves the helper is one of its named errors. */
static void
return_error (GDBusMethodInvocation *invocation,
              GError                *error)
{
  if (error->domain == LRD_ERROR)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_error (invocation, LRD_ERROR, LRD_ERROR_FAILED, "%s",
                                           error->message);
}

static void
create_party_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_session_create_party_finish (LRD_SESSION (source), result, &error))
    return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_create_party_cb (LrdHelper1            *iface,
                        GDBusMethodInvocation *invocation,
                        const char            *name,
                        const char            *display_name,
                        gpointer               user_data)
{
  LrdService *self = user_data;

  lrd_session_create_party_async (self->session, name, display_name, NULL, create_party_cb,
                                  g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
join_party_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_session_join_party_finish (LRD_SESSION (source), result, &error))
    return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_join_party_cb (LrdHelper1            *iface,
                      GDBusMethodInvocation *invocation,
                      const char            *invite_code,
                      const char            *display_name,
                      gpointer               user_data)
{
  LrdService *self = user_data;

  lrd_session_join_party_async (self->session, invite_code, display_name, NULL, join_party_cb,
                                g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
leave_party_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_session_leave_party_finish (LRD_SESSION (source), result, &error))
    return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_leave_party_cb (LrdHelper1            *iface,
                       GDBusMethodInvocation *invocation,
                       gpointer               user_data)
{
  LrdService *self = user_data;

  lrd_session_leave_party_async (self->session, NULL, leave_party_cb,
                                 g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
refresh_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_session_refresh_finish (LRD_SESSION (source), result, &error))
    return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_refresh_cb (LrdHelper1            *iface,
                   GDBusMethodInvocation *invocation,
                   gpointer               user_data)
{
  LrdService *self = user_data;

  lrd_session_refresh_async (self->session, NULL, refresh_cb, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_control_url_cb (LrdHelper1            *iface,
                           GDBusMethodInvocation *invocation,
                           const char            *url,
                           gpointer               user_data)
{
  LrdService *self = user_data;
  g_autofree char *normalized = NULL;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  normalized = strlen (url) <= 2048 ? lrd_config_normalize_control_url (url, NULL) : NULL;
  if (normalized == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, LRD_ERROR, LRD_ERROR_INVALID_URL,
                                             "A server address starts with http:// or "
                                             "https:// and names a host");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (g_strcmp0 (lrd_helper1_get_state (iface), "idle") != 0)
    {
      g_dbus_method_invocation_return_error (invocation, LRD_ERROR, LRD_ERROR_ALREADY_IN_PARTY,
                                             "Leave the party before changing the server");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  path = g_build_filename (self->state_dir, CONTROL_URL_FILE, NULL);
  contents = g_strconcat (normalized, "\n", NULL);
  if (!g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 &error))
    {
      g_warning ("Cannot keep the control server: %s", error->message);
      g_dbus_method_invocation_return_error (invocation, LRD_ERROR, LRD_ERROR_FAILED,
                                             "Cannot save the server address");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  g_message ("The control server is now %s", normalized);
  lrd_control_client_set_base_url (self->client, normalized);
  lrd_helper1_set_control_url (iface, normalized);
  lrd_helper1_complete_set_control_url (iface, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The server SetControlUrl chose before a restart, if it is still a good one. */
static void
restore_control_url (LrdService *self)
{
  g_autofree char *path = g_build_filename (self->state_dir, CONTROL_URL_FILE, NULL);
  g_autofree char *contents = NULL;
  g_autofree char *normalized = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("Cannot read %s: %s", path, error->message);
      return;
    }
  normalized = lrd_config_normalize_control_url (g_strstrip (contents), &error);
  if (normalized == NULL)
    {
      g_warning ("Ignoring %s: %s", path, error->message);
      return;
    }
  lrd_control_client_set_base_url (self->client, normalized);
}

static gboolean
handle_get_status_cb (LrdHelper1            *iface,
                      GDBusMethodInvocation *invocation,
                      gpointer               user_data)
{
  LrdService *self = user_data;
  g_autoptr(GVariant) status = lrd_session_dup_status (self->session);

  lrd_helper1_complete_get_status (iface, invocation, status);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* LAN discovery settings */

static void
lan_setter_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_lan_discovery_setter_finish (LRD_LAN_DISCOVERY (source), result, &error))
    return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_set_lan_discovery_cb (LrdHelper1            *iface,
                             GDBusMethodInvocation *invocation,
                             gboolean               enabled,
                             gpointer               user_data)
{
  LrdService *self = user_data;

  lrd_lan_discovery_set_enabled_async (self->lan, enabled, lan_setter_cb,
                                       g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_deny_list_cb (LrdHelper1            *iface,
                         GDBusMethodInvocation *invocation,
                         GVariant              *entries,
                         gpointer               user_data)
{
  LrdService *self = user_data;

  lrd_lan_discovery_set_deny_list_async (self->lan, entries, lan_setter_cb,
                                         g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_reset_deny_list_cb (LrdHelper1            *iface,
                           GDBusMethodInvocation *invocation,
                           gpointer               user_data)
{
  LrdService *self = user_data;

  lrd_lan_discovery_reset_deny_list_async (self->lan, lan_setter_cb,
                                           g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_known_titles_only_cb (LrdHelper1            *iface,
                                 GDBusMethodInvocation *invocation,
                                 gboolean               enabled,
                                 gpointer               user_data)
{
  LrdService *self = user_data;

  lrd_lan_discovery_set_known_titles_only_async (self->lan, enabled, lan_setter_cb,
                                                 g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
lrd_service_dispose (GObject *object)
{
  LrdService *self = LRD_SERVICE (object);

  lrd_service_unexport (self);
  g_clear_object (&self->session);
  g_clear_object (&self->lan);
  g_clear_object (&self->client);
  if (self->iface != NULL)
    g_signal_handlers_disconnect_by_data (self->iface, self);
  g_clear_object (&self->iface);
  g_clear_object (&self->manager);
  g_clear_object (&self->authority);

  G_OBJECT_CLASS (lrd_service_parent_class)->dispose (object);
}

static void
lrd_service_finalize (GObject *object)
{
  LrdService *self = LRD_SERVICE (object);

  g_free (self->state_dir);

  G_OBJECT_CLASS (lrd_service_parent_class)->finalize (object);
}

static void
lrd_service_class_init (LrdServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = lrd_service_dispose;
  G_OBJECT_CLASS (klass)->finalize = lrd_service_finalize;
}

static void
lrd_service_init (LrdService *self)
{
}

LrdService *
lrd_service_new (PolkitAuthority  *authority,
                 LrdControlClient *client,
                 LrdWgBackend     *backend,
                 const LrdKeys    *keys,
                 const char       *state_dir,
                 guint16           listen_port)
{
  LrdService *self = g_object_new (LRD_TYPE_SERVICE, NULL);

  self->authority = authority != NULL ? g_object_ref (authority) : NULL;
  self->iface = lrd_helper1_skeleton_new ();
  self->manager = g_dbus_object_manager_server_new (LRD_HELPER_OBJECT_PATH);
  self->client = g_object_ref (client);
  self->state_dir = g_strdup (state_dir);
  restore_control_url (self);
  lrd_helper1_set_control_url (self->iface, lrd_control_client_get_base_url (client));
  self->session = lrd_session_new (self->iface, self->manager, client, backend, keys, state_dir,
                                   listen_port);
  self->lan = lrd_lan_discovery_new (self->iface, state_dir);
  lrd_session_set_lan_discovery (self->session, self->lan);

  g_signal_connect (self->iface, "g-authorize-method", G_CALLBACK (authorize_method_cb), self);
  g_signal_connect (self->iface, "handle-create-party", G_CALLBACK (handle_create_party_cb),
                    self);
  g_signal_connect (self->iface, "handle-join-party", G_CALLBACK (handle_join_party_cb), self);
  g_signal_connect (self->iface, "handle-leave-party", G_CALLBACK (handle_leave_party_cb),
                    self);
  g_signal_connect (self->iface, "handle-refresh", G_CALLBACK (handle_refresh_cb), self);
  g_signal_connect (self->iface, "handle-get-status", G_CALLBACK (handle_get_status_cb), self);
  g_signal_connect (self->iface, "handle-set-control-url",
                    G_CALLBACK (handle_set_control_url_cb), self);
  g_signal_connect (self->iface, "handle-set-lan-discovery",
                    G_CALLBACK (handle_set_lan_discovery_cb), self);
  g_signal_connect (self->iface, "handle-set-deny-list", G_CALLBACK (handle_set_deny_list_cb),
                    self);
  g_signal_connect (self->iface, "handle-reset-deny-list",
                    G_CALLBACK (handle_reset_deny_list_cb), self);
  g_signal_connect (self->iface, "handle-set-known-titles-only",
                    G_CALLBACK (handle_set_known_titles_only_cb), self);
  return self;
}

/**
 * lrd_service_export:
 *
 * Exports io.lanrage.Helper1 on /io/lanrage/Helper1 and the ObjectManager of the peers
 * beside it. Call before owning the bus name, so nobody sees a half-exported helper.
 */
gboolean
lrd_service_export (LrdService       *self,
                    GDBusConnection  *connection,
                    GError          **error)
{
  g_return_val_if_fail (LRD_IS_SERVICE (self), FALSE);

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->iface), connection,
                                         LRD_HELPER_OBJECT_PATH, error))
    return FALSE;
  g_dbus_object_manager_server_set_connection (self->manager, connection);
  self->exported = TRUE;
  return TRUE;
}

void
lrd_service_unexport (LrdService *self)
{
  g_return_if_fail (LRD_IS_SERVICE (self));

  if (!self->exported)
    return;
  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->iface));
  g_dbus_object_manager_server_set_connection (self->manager, NULL);
  self->exported = FALSE;
}

LrdSession *
lrd_service_get_session (LrdService *self)
{
  g_return_val_if_fail (LRD_IS_SERVICE (self), NULL);
  return self->session;
}

LrdLanDiscovery *
lrd_service_get_lan_discovery (LrdService *self)
{
  g_return_val_if_fail (LRD_IS_SERVICE (self), NULL);
  return self->lan;
}
