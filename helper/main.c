/* main.c: lanrage-helper, the privileged daemon behind io.lanrage.Helper1
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib-unix.h>
#include <locale.h>
#include <sodium.h>
#include <unistd.h>

#include "lr-error.h"
#include "lrd-config.h"
#include "lrd-error.h"
#include "lrd-service.h"
#include "lrd-wg-factory.h"

#define LRD_BUS_NAME          "io.lanrage.Helper1"
#define LRD_DEFAULT_STATE_DIR "/var/lib/lanrage"

typedef struct
{
  GMainLoop        *loop;
  int               exit_status;
  gboolean          session_bus;
  char             *bus_name;
  LrdConfig        *config;
  char             *state_dir;
  LrdKeys           keys;
  LrdSavedParty    *saved_party;
  LrdWgBackend     *backend;
  GError           *backend_error;   /* why there is no backend, when there is none */
  PolkitAuthority  *authority;
  GDBusConnection  *connection;
  LrdService       *service;
  guint             owner_id;
  gboolean          stopping;
} Helper;

static void
quit (Helper *helper,
      int     exit_status)
{
  if (exit_status != 0)
    helper->exit_status = exit_status;
  g_main_loop_quit (helper->loop);
}

static void
shutdown_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Helper *helper = user_data;
  g_autoptr(GError) error = NULL;

  if (!lrd_session_shutdown_finish (LRD_SESSION (source), result, &error))
    g_warning ("Shutting down: %s", error->message);
  quit (helper, 0);
}

static gboolean
stop_cb (gpointer user_data)
{
  Helper *helper = user_data;

  if (helper->stopping)
    return G_SOURCE_CONTINUE;
  helper->stopping = TRUE;
  g_message ("Stopping; the party is kept and rejoined on the next start");

  if (helper->service == NULL)
    {
      quit (helper, 0);
      return G_SOURCE_CONTINUE;
    }
  /* Release the name first, so no new call arrives while WireGuard goes down. */
  g_clear_handle_id (&helper->owner_id, g_bus_unown_name);
  lrd_session_shutdown_async (lrd_service_get_session (helper->service), NULL, shutdown_cb,
                              helper);
  return G_SOURCE_CONTINUE;
}

static void
name_acquired_cb (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  Helper *helper = user_data;

  g_message ("Serving %s on the %s bus", name, helper->session_bus ? "session" : "system");
  if (helper->saved_party != NULL)
    {
      lrd_session_restore (lrd_service_get_session (helper->service), helper->saved_party);
      g_clear_pointer (&helper->saved_party, lrd_saved_party_free);
    }
}

static void
name_lost_cb (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  Helper *helper = user_data;

  if (helper->stopping)
    return;
  if (connection == NULL)
    g_printerr ("lanrage-helper: lost the connection to the bus\n");
  else
    g_printerr ("lanrage-helper: cannot own %s: another helper runs, or the bus policy "
                "(io.lanrage.Helper1.conf) does not allow this user to own it\n", name);
  quit (helper, 1);
}

static void
bus_get_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Helper *helper = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdControlClient) client = NULL;

  helper->connection = g_bus_get_finish (result, &error);
  if (helper->connection == NULL)
    {
      g_printerr ("lanrage-helper: cannot connect to the %s bus: %s\n",
                  helper->session_bus ? "session" : "system", error->message);
      quit (helper, 1);
      return;
    }
  /* A lost bus is handled by name_lost_cb, which exits cleanly. */
  g_dbus_connection_set_exit_on_close (helper->connection, FALSE);

  client = lrd_control_client_new (helper->config->control_url);
  helper->service = lrd_service_new (helper->authority, client, helper->backend, &helper->keys,
                                     helper->state_dir, helper->config->port);
  lrd_keys_clear (&helper->keys);
  if (helper->backend_error != NULL)
    lrd_session_set_no_backend_reason (lrd_service_get_session (helper->service),
                                       helper->backend_error);
  lrd_session_set_config_relays (lrd_service_get_session (helper->service),
                                 (const char * const *) helper->config->relays);
  lrd_lan_discovery_set_interface (lrd_service_get_lan_discovery (helper->service),
                                   helper->config->interface_name);
  if (!lrd_service_export (helper->service, helper->connection, &error))
    {
      g_printerr ("lanrage-helper: cannot export its objects: %s\n", error->message);
      quit (helper, 1);
      return;
    }

  helper->owner_id = g_bus_own_name_on_connection (helper->connection, helper->bus_name,
                                                   G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                                   name_acquired_cb, name_lost_cb, helper,
                                                   NULL);
}

static void
authority_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Helper *helper = user_data;
  g_autoptr(GError) error = NULL;

  helper->authority = polkit_authority_get_finish (result, &error);
  if (helper->authority == NULL)
    {
      /* Without polkit nobody could be authorized: refuse to start rather than serve a
       * helper that says no to everyone. */
      g_printerr ("lanrage-helper: cannot reach polkit: %s\n", error->message);
      quit (helper, 1);
      return;
    }
  g_bus_get (G_BUS_TYPE_SYSTEM, NULL, bus_get_cb, helper);
}

static void
serve (Helper *helper)
{
  if (helper->session_bus)
    g_bus_get (G_BUS_TYPE_SESSION, NULL, bus_get_cb, helper);
  else
    polkit_authority_get_async (NULL, authority_cb, helper);
}

/* The backend is chosen before serving, so that the Backend property is right from the
 * first call. Failing to get one is not fatal: the helper serves, shows why in the error of
 * every CreateParty and JoinParty, and a later start (after "apt install wireguard-go")
 * picks it up. */
static void
backend_ready (Helper       *helper,
               LrdWgBackend *backend,
               GError       *error)
{
  if (backend == NULL)
    {
      g_warning ("No WireGuard backend: %s", error->message);
      helper->backend_error = error;
    }
  helper->backend = backend;
  g_message ("WireGuard backend: %s on %s",
             backend != NULL ? lrd_wg_backend_get_name (backend) : "none",
             helper->config->interface_name);
  serve (helper);
}

static void
backend_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GError *error = NULL;
  LrdWgBackend *backend = lrd_wg_factory_new_finish (result, &error);

  backend_ready (user_data, backend, error);
}

static void
choose_backend (Helper *helper)
{
  const LrdConfig *config = helper->config;

  if (helper->session_bus)
    {
      /* The test mode runs unprivileged: it could not create an interface anyway. */
      g_message ("Session bus test mode: no WireGuard backend");
      serve (helper);
      return;
    }
  lrd_wg_factory_new_async (config->backend, config->interface_name, config->wireguard_go,
                            NULL, NULL, backend_cb, helper);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *bus_name = NULL;
  gboolean session_bus = FALSE;
  Helper helper = { 0 };
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Configuration file (default " LRD_CONFIG_DEFAULT_PATH ")", "FILE" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "Folder for the keys and the current party (default " LRD_DEFAULT_STATE_DIR ")", "DIR" },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session_bus,
      "Test mode: serve on the session bus, without polkit; refuses to run as root", NULL },
    { "bus-name", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &bus_name,
      "For tests: own this name instead of " LRD_BUS_NAME " (two helpers on one bus)",
      "NAME" },
    { NULL }
  };

  /* A system daemon wants neither GVfs (its files are local) nor a user's GSettings: both
   * would start talking to session services that root has not got. */
  g_setenv ("GIO_USE_VFS", "local", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  setlocale (LC_ALL, "");
  lr_init ();
  if (sodium_init () < 0)
    {
      g_printerr ("lanrage-helper: libsodium failed to initialise\n");
      return 1;
    }
  /* Registers the named D-Bus errors before the first call can fail. */
  (void) LRD_ERROR;

  context = g_option_context_new ("— the LANrage system helper");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("lanrage-helper: %s\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      g_printerr ("lanrage-helper: unexpected argument “%s”\n", argv[1]);
      return 2;
    }

  if (session_bus && (getuid () == 0 || geteuid () == 0))
    {
      g_printerr ("lanrage-helper: --session is a test mode without polkit; it refuses to "
                  "run as root\n");
      return 2;
    }
  if (bus_name != NULL && !g_dbus_is_name (bus_name))
    {
      g_printerr ("lanrage-helper: --bus-name: “%s” is not a bus name\n", bus_name);
      return 2;
    }

  helper.config = lrd_config_load (config_path, config_path != NULL, &error);
  if (helper.config == NULL)
    {
      g_printerr ("lanrage-helper: %s\n", error->message);
      return 1;
    }

  if (state_dir == NULL)
    state_dir = session_bus ? g_build_filename (g_get_user_state_dir (), "lanrage-helper", NULL)
                            : g_strdup (LRD_DEFAULT_STATE_DIR);
  helper.state_dir = g_steal_pointer (&state_dir);
  helper.session_bus = session_bus;
  helper.bus_name = bus_name != NULL ? g_steal_pointer (&bus_name) : g_strdup (LRD_BUS_NAME);

  /* Small local files, read once before serving anything. */
  if (!lrd_state_dir_ensure (helper.state_dir, &error) ||
      !lrd_keys_load_or_create (&helper.keys, helper.state_dir, &error))
    {
      g_printerr ("lanrage-helper: %s\n", error->message);
      return 1;
    }
  helper.saved_party = lrd_saved_party_load (helper.state_dir, &error);
  if (error != NULL)
    {
      g_warning ("Ignoring the saved party: %s", error->message);
      g_clear_error (&error);
    }

  helper.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, stop_cb, &helper);
  g_unix_signal_add (SIGTERM, stop_cb, &helper);

  choose_backend (&helper);
  g_main_loop_run (helper.loop);

  g_clear_handle_id (&helper.owner_id, g_bus_unown_name);
  g_clear_object (&helper.service);
  if (helper.connection != NULL)
    g_dbus_connection_flush_sync (helper.connection, NULL, NULL);
  g_clear_object (&helper.connection);
  g_clear_object (&helper.authority);
  g_clear_object (&helper.backend);
  g_clear_error (&helper.backend_error);
  g_clear_pointer (&helper.saved_party, lrd_saved_party_free);
  g_clear_pointer (&helper.config, lrd_config_free);
  g_clear_pointer (&helper.loop, g_main_loop_unref);
  lrd_keys_clear (&helper.keys);
  g_free (helper.state_dir);
  g_free (helper.bus_name);
  return helper.exit_status;
}
