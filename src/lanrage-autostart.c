/* lanrage-autostart.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Outside a sandbox the autostart entry is a file of the XDG autostart specification.
 * Inside one, org.freedesktop.portal.Background.RequestBackground asks the desktop (and
 * maybe the person) to let the app run in the background and start at login; the answer
 * comes as the Response signal of a request object whose path the app can compute from
 * its handle token, so the app listens before it asks, as the portal documentation says.
 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "lanrage-autostart.h"

#define PORTAL_BUS_NAME    "org.freedesktop.portal.Desktop"
#define PORTAL_OBJECT_PATH "/org/freedesktop/portal/desktop"

gboolean
lanrage_autostart_in_sandbox (void)
{
  return g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS);
}

static gboolean
write_autostart_file (gboolean   enabled,
                      GError   **error)
{
  g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "autostart", NULL);
  g_autofree char *path = g_build_filename (dir, APP_ID ".desktop", NULL);
  static const char entry[] =
    "[Desktop Entry]\n"
    "Type=Application\n"
    "Name=LANrage\n"
    "Icon=" APP_ID "\n"
    "Exec=lanrage --background\n"
    "X-GNOME-Autostart-enabled=true\n";

  if (!enabled)
    {
      if (g_unlink (path) != 0 && errno != ENOENT)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Cannot remove %s: %s", path, g_strerror (saved_errno));
          return FALSE;
        }
      return TRUE;
    }
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot make %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  return g_file_set_contents_full (path, entry, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

/* The portal's side */

typedef struct
{
  GDBusConnection *session;
  guint            response_id;
  gboolean         enabled;
} Request;

static void
request_free (Request *request)
{
  if (request->response_id != 0)
    g_dbus_connection_signal_unsubscribe (request->session, request->response_id);
  g_clear_object (&request->session);
  g_free (request);
}

static void
response_cb (GDBusConnection *connection,
             const char      *sender,
             const char      *path,
             const char      *interface,
             const char      *signal,
             GVariant        *parameters,
             gpointer         user_data)
{
  GTask *task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GVariant) results = NULL;
  gboolean autostart = FALSE;
  guint32 response;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(ua{sv})")))
    return;
  /* One answer per request. The subscription holds a reference to the task, dropped
   * once it is gone: keep one until the task has returned. */
  g_object_ref (task);
  g_dbus_connection_signal_unsubscribe (connection, request->response_id);
  request->response_id = 0;

  g_variant_get (parameters, "(u@a{sv})", &response, &results);
  g_variant_lookup (results, "autostart", "b", &autostart);
  if (response != 0 || autostart != request->enabled)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                               _("The desktop did not let LANrage start at login."));
    }
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
request_background_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result,
                                                             &error);

  if (reply != NULL)
    return;   /* the Response signal finishes the task */
  if (request->response_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (request->session, request->response_id);
      request->response_id = 0;
    }
  g_dbus_error_strip_remote_error (error);
  g_task_return_error (task, g_steal_pointer (&error));
}

static void
request_background (GTask           *task,
                    GDBusConnection *session,
                    gboolean         enabled)
{
  Request *request = g_new0 (Request, 1);
  g_autofree char *token = g_strdup_printf ("lanrage%u", g_random_int ());
  g_autofree char *sender = g_strdup (g_dbus_connection_get_unique_name (session) + 1);
  g_autofree char *path = NULL;
  const char *commandline[] = { "lanrage", "--background", NULL };
  GVariantBuilder options;

  request->session = g_object_ref (session);
  request->enabled = enabled;
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);

  g_strdelimit (sender, ".", '_');
  path = g_strdup_printf (PORTAL_OBJECT_PATH "/request/%s/%s", sender, token);
  /* Subscribed before the call, so an answer cannot come first; the subscription holds a
   * reference to the task until it is dropped at the answer or an error. */
  request->response_id =
    g_dbus_connection_signal_subscribe (session, PORTAL_BUS_NAME, "org.freedesktop.portal.Request",
                                        "Response", path, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        response_cb, g_object_ref (task), g_object_unref);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "handle_token", g_variant_new_string (token));
  g_variant_builder_add (&options, "{sv}", "reason",
                         g_variant_new_string (_("Keep the party and the tray icon running, "
                                                 "and start at login")));
  g_variant_builder_add (&options, "{sv}", "autostart", g_variant_new_boolean (enabled));
  g_variant_builder_add (&options, "{sv}", "commandline", g_variant_new_strv (commandline, -1));
  g_variant_builder_add (&options, "{sv}", "dbus-activatable", g_variant_new_boolean (FALSE));
  g_dbus_connection_call (session, PORTAL_BUS_NAME, PORTAL_OBJECT_PATH,
                          "org.freedesktop.portal.Background", "RequestBackground",
                          g_variant_new ("(sa{sv})", "", &options), G_VARIANT_TYPE ("(o)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, g_task_get_cancellable (task),
                          request_background_cb, g_object_ref (task));
}

void
lanrage_autostart_set_async (GDBusConnection     *session,
                             gboolean             use_portal,
                             gboolean             enabled,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;

  g_return_if_fail (!use_portal || G_IS_DBUS_CONNECTION (session));

  g_task_set_source_tag (task, lanrage_autostart_set_async);
  if (use_portal)
    {
      request_background (task, session, enabled);
      return;
    }
  if (!write_autostart_file (enabled, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

gboolean
lanrage_autostart_set_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
