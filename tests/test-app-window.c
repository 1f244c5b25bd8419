/* test-app-window.c: the app's window against the real helper, as a person uses it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything is real: lanrage-control and lanrage-relay on loopback, lanrage-helpers on a
 * private system bus with a real polkitd (tests/lr-test-helper.h, as root, in the test's
 * own network namespace), and the app's own code (application, window, helper client) on a
 * real display (Xvfb) and a private session bus. The test clicks buttons and types into
 * entries found by what they say, and reads what the window shows; the second player is
 * a second helper driven with lanragectl.
 */
#define _GNU_SOURCE   /* setresuid () */

#include "lr-invite-code.h"
#include "lr-test-helper.h"
#include "lr-test-lab.h"
#include "lr-test-ui.h"
#include "lrd-lan-test-util.h"

#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lanrage-application.h"
#include "lanrage-create-dialog.h"
#include "lanrage-game-row.h"
#include "lanrage-join-dialog.h"
#include "lanrage-latency-graph.h"
#include "lanrage-peer-private.h"
#include "lanrage-preferences-window.h"
#include "lanrage-tray.h"
#include "lanrage-window.h"

typedef enum
{
  START_HELPER = 1 << 0,       /* the helper runs when the app starts */
  UNREACHABLE_SERVER = 1 << 1, /* the helper's control server URL leads nowhere */
  WITH_RELAY = 1 << 2,         /* a lanrage-relay, registered, that the helpers use */
  NARROW = 1 << 3,             /* a phone-width window */
  /* A second host: a network namespace of its own (SECOND_HOST_NETNS) on a link to the
   * test's, where lanrage-control and the second helper run, so what that helper sends
   * the first one really goes through the WireGuard tunnel between them. */
  SECOND_HOST = 1 << 4,
  /* The app's connection to the system bus is the user nobody's (see fixture_setup). */
  AS_NOBODY = 1 << 5,
  /* A tray host runs (a stand-in watcher that says so), so a closed window only hides. */
  TRAY_HOST = 1 << 6,
} UiOptions;

#define SECOND_HOST_NETNS   "lrui-b"
#define SECOND_HOST_ADDRESS "198.18.5.2"
#define FIRST_HOST_ADDRESS  "198.18.5.1"

/* In the test's own network namespace, so the port is free. */
#define RELAY_ENDPOINT "127.0.0.1:3478"

typedef struct
{
  UiOptions            options;
  LrTestServer        *server;
  LrTestBus           *bus;
  LrTestHelper        *helper;
  GSubprocess         *relay;
  GDBusConnection     *app_bus;
  LanrageHelperClient *client;
  LanrageApplication  *app;
  GtkWidget           *window;
  /* Another client of the session bus, as the desktop, a script or a tray host is. */
  GDBusConnection     *desktop;
  /* What the desktop's notification server was asked to show (summaries). */
  GPtrArray           *notifications;
  guint                notifications_object;
  guint                notifications_owner;
  /* A stand-in org.kde.StatusNotifierWatcher (start_watcher): who registered an item, and
   * whether it says a host shows them. */
  GPtrArray           *tray_items;
  gboolean             tray_host;
  guint                watcher_object;
  guint                watcher_owner;
} UiFixture;


/* Two helpers on one machine reach each other directly once their disco pongs arrive, a
 * fraction of a second after joining, and through the test's relay until then: the row
 * shows one path or the other in words. Returns the words shown. */
static const char *
wait_path_label (GtkWidget *row)
{
  static const char * const paths[] = { "Direct", "Relayed via 127.0.0.1" };
  gint64 deadline = g_get_monotonic_time () + LR_TEST_UI_TIMEOUT_MS * 1000;

  for (;;)
    {
      for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
        if (lr_test_ui_find_label (row, paths[i]) != NULL)
          return paths[i];
      if (g_get_monotonic_time () > deadline)
        g_error ("The player's row shows no path");
      lr_test_ui_run_for (50);
    }
}

/* A link that flaps: the helper keeps its last 16 path changes (PathHistory) and the app
 * shows those, not every change it saw. The generated skeleton stands in for the helper's
 * peer object (it notifies as the proxy does): flapping a real link 40 times would take
 * minutes, and the helper's own tests hold PathHistory to 16. */
#define HELPER_PATH_HISTORY 16

static void
test_path_history_bounded (void)
{
  g_autoptr(LrdHelper1Peer) proxy = lrd_helper1_peer_skeleton_new ();
  g_autoptr(LanragePeer) peer = NULL;
  GListModel *history;
  gint64 start_us = g_get_real_time ();
  guint n_changes = 40;

  lrd_helper1_peer_set_path (proxy, "connecting");
  peer = lanrage_peer_new (proxy);
  history = lanrage_peer_get_path_history (peer);
  g_assert_cmpuint (g_list_model_get_n_items (history), ==, 0);

  for (guint i = 0; i < n_changes; i++)
    {
      g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(xssss)"));
      guint first = i + 1 > HELPER_PATH_HISTORY ? i + 1 - HELPER_PATH_HISTORY : 0;

      for (guint j = first; j <= i; j++)
        g_variant_builder_add (&builder, "(xssss)", start_us + j * G_USEC_PER_SEC,
                               j % 2 == 0 ? "relayed" : "direct",
                               j % 2 == 0 ? "direct" : "relayed",
                               j % 2 == 0 ? "198.18.0.12:51820" : "",
                               j % 2 == 0 ? "pong from 198.18.0.12:51820"
                                          : "no pong for 900 ms");
      /* As the helper does: the path, then its history. */
      lrd_helper1_peer_set_path (proxy, i % 2 == 0 ? "direct" : "relayed");
      lrd_helper1_peer_set_path_history (proxy, g_variant_builder_end (&builder));
      g_assert_cmpuint (g_list_model_get_n_items (history), ==, MIN (i + 1, HELPER_PATH_HISTORY));
    }
  {
    g_autoptr(GtkStringObject) oldest = g_list_model_get_item (history, 0);
    g_autoptr(GtkStringObject) newest = g_list_model_get_item (history, HELPER_PATH_HISTORY - 1);

    /* Change 24 went direct, change 39 to the relay. */
    g_assert_true (g_str_has_suffix (gtk_string_object_get_string (oldest), "  Direct"));
    g_assert_true (g_str_has_suffix (gtk_string_object_get_string (newest), "  Relayed"));
  }
}

static GTestDBus *session_bus;
static GPtrArray *finished_apps;
static guint app_counter;
static guint port_counter;

static void
start_relay (UiFixture *fixture)
{
  g_autofree char *secret_path = g_build_filename (lr_test_server_get_tmpdir (fixture->server),
                                                   "relay-secret", NULL);
  g_autofree char *log_path = g_build_filename (lr_test_server_get_tmpdir (fixture->server),
                                                "relay.log", NULL);
  const char *argv[] = {
    g_getenv ("LANRAGE_RELAY"),
    "--listen", RELAY_ENDPOINT,
    "--public-endpoint", RELAY_ENDPOINT,
    "--control", lr_test_server_get_url (fixture->server),
    "--relay-secret-file", secret_path,
    "--id", "ui-relay",
    "--region", "test",
    "--threads", "1",
    NULL
  };
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  g_assert_nonnull (argv[0]);
  fixture->relay = lr_test_spawn_as (NULL, NULL, argv, log_path, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (fixture->relay));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "Listening on " RELAY_ENDPOINT);
}

/* A helper's configuration as the harness writes it, plus the test's relay. */
static void
use_relay (LrTestHelper *helper,
           const char   *control_url)
{
  g_autofree char *config = NULL;

  port_counter++;
  config = g_strdup_printf ("[helper]\ncontrol-url=%s\nbackend=auto\ninterface=%s\n"
                            "port=%u\nrelays=" RELAY_ENDPOINT "\n", control_url,
                            lr_test_helper_get_interface (helper), 52820 + port_counter);
  lr_test_helper_set_config (helper, config);
}

/* A notification server on the test's session bus, standing in for the desktop's (the
 * test has no desktop; GLib falls back to org.freedesktop.Notifications when nobody owns
 * org.gtk.Notifications). It records the summaries of Notify. */
static const char notifications_xml[] =
  "<node><interface name='org.freedesktop.Notifications'>"
  "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/>"
  "<arg type='i' direction='in'/><arg type='u' direction='out'/></method>"
  "<method name='CloseNotification'><arg type='u' direction='in'/></method>"
  "<method name='GetCapabilities'><arg type='as' direction='out'/></method>"
  "<method name='GetServerInformation'><arg type='s' direction='out'/>"
  "<arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "<arg type='s' direction='out'/></method>"
  "</interface></node>";

static void
notifications_method_cb (GDBusConnection       *connection,
                         const char            *sender,
                         const char            *path,
                         const char            *interface,
                         const char            *method,
                         GVariant              *parameters,
                         GDBusMethodInvocation *invocation,
                         gpointer               user_data)
{
  GPtrArray *summaries = user_data;

  if (g_str_equal (method, "Notify"))
    {
      const char *summary = NULL;

      g_variant_get_child (parameters, 3, "&s", &summary);
      g_ptr_array_add (summaries, g_strdup (summary));
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", summaries->len));
    }
  else if (g_str_equal (method, "GetCapabilities"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new_parsed ("(@as ['body'],)"));
  else if (g_str_equal (method, "GetServerInformation"))
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(ssss)", "test", "lanrage", "1", "1.2"));
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
start_notification_server (UiFixture *fixture)
{
  static const GDBusInterfaceVTable vtable = { notifications_method_cb, NULL, NULL, { 0 } };
  g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (notifications_xml, NULL);
  g_autoptr(GError) error = NULL;

  fixture->notifications = g_ptr_array_new_with_free_func (g_free);
  fixture->notifications_object =
    g_dbus_connection_register_object (fixture->desktop, "/org/freedesktop/Notifications",
                                       node->interfaces[0], &vtable, fixture->notifications,
                                       NULL, &error);
  g_assert_no_error (error);
  fixture->notifications_owner =
    g_bus_own_name_on_connection (fixture->desktop, "org.freedesktop.Notifications",
                                  G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL, NULL);
}

/* The second host's namespace and a veth between it and the test's own (each the other's
 * default route, for multicast), as lr-test-lab.h builds its hosts. */
static void
make_second_host (void)
{
  LR_TEST_LAB_RUN ("ip", "netns", "add", SECOND_HOST_NETNS);
  LR_TEST_LAB_RUN ("ip", "link", "add", "lrui0", "type", "veth", "peer", "name", "eth0",
                   "netns", SECOND_HOST_NETNS);
  LR_TEST_LAB_RUN ("ip", "addr", "add", FIRST_HOST_ADDRESS "/24", "dev", "lrui0");
  LR_TEST_LAB_RUN ("ip", "link", "set", "lrui0", "up");
  LR_TEST_LAB_RUN ("ip", "route", "add", "default", "via", SECOND_HOST_ADDRESS);
  LR_TEST_LAB_RUN ("ip", "-n", SECOND_HOST_NETNS, "link", "set", "lo", "up");
  LR_TEST_LAB_RUN ("ip", "-n", SECOND_HOST_NETNS, "addr", "add", SECOND_HOST_ADDRESS "/24",
                   "dev", "eth0");
  LR_TEST_LAB_RUN ("ip", "-n", SECOND_HOST_NETNS, "link", "set", "eth0", "up");
  LR_TEST_LAB_RUN ("ip", "-n", SECOND_HOST_NETNS, "route", "add", "default", "via",
                   FIRST_HOST_ADDRESS);
}

static void
remove_second_host (void)
{
  /* The veth goes with the namespace. */
  LR_TEST_LAB_RUN ("ip", "netns", "delete", SECOND_HOST_NETNS);
}

static void start_watcher (UiFixture *fixture,
                           gboolean   host);
static void stop_watcher  (UiFixture *fixture);

static void
fixture_setup (UiFixture     *fixture,
               gconstpointer  data)
{
  UiOptions options = GPOINTER_TO_UINT (data);
  g_autoptr(GError) error = NULL;
  g_autofree char *app_id = NULL;

  fixture->options = options;
  fixture->server = lr_test_server_new (NULL, LR_TEST_SERVER_NONE);
  if (options & SECOND_HOST)
    {
      const char *listen[] = { "--listen", SECOND_HOST_ADDRESS ":0", NULL };

      make_second_host ();
      lr_test_server_set_netns (fixture->server, SECOND_HOST_NETNS);
      lr_test_server_set_extra_args (fixture->server, listen);
    }
  lr_test_server_start (fixture->server);
  fixture->bus = lr_test_bus_new ();
  fixture->helper = lr_test_helper_new (fixture->bus,
                                        (options & UNREACHABLE_SERVER)
                                          ? "http://127.0.0.1:1/"
                                          : lr_test_server_get_url (fixture->server),
                                        NULL);
  if (options & WITH_RELAY)
    {
      start_relay (fixture);
      use_relay (fixture->helper, lr_test_server_get_url (fixture->server));
    }
  if (options & START_HELPER)
    lr_test_helper_start (fixture->helper);

  /* The app's own connection to the private system bus, as it has one to the real one.
   * As nobody: the bus knows a connection's user from the socket's credentials at connect
   * time and from its authentication, so the test takes nobody's effective user id for
   * the connect and the handshake alone; from then on the bus, polkitd and the helper see
   * every call of the app as nobody's, as for an app a user runs. (The window tests run
   * as root, whom polkit allows whatever its rules say.) */
  if (options & AS_NOBODY)
    {
      struct passwd *nobody = getpwnam ("nobody");

      g_assert_nonnull (nobody);
      g_assert_cmpint (setresuid (-1, nobody->pw_uid, -1), ==, 0);
    }
  fixture->app_bus = g_dbus_connection_new_for_address_sync (
    lr_test_bus_get_address (fixture->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  if (options & AS_NOBODY)
    g_assert_cmpint (setresuid (-1, 0, -1), ==, 0);
  g_assert_no_error (error);
  g_dbus_connection_set_exit_on_close (fixture->app_bus, FALSE);
  fixture->client = lanrage_helper_client_new (fixture->app_bus, NULL);

  fixture->app = lanrage_application_new (fixture->client);
  /* Only g_application_run () takes a registered app off the bus (GLib warns when one is
   * finalized otherwise), so the test keeps every app it made, and each gets a name of its
   * own on the session bus. */
  app_counter++;
  app_id = g_strdup_printf ("io.lanrage.LANrage.Test%u", app_counter);
  g_application_set_application_id (G_APPLICATION (fixture->app), app_id);
  g_application_register (G_APPLICATION (fixture->app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (fixture->app));
  fixture->window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (fixture->app)));
  g_assert_true (LANRAGE_IS_WINDOW (fixture->window));
  if (options & NARROW)
    gtk_window_set_default_size (GTK_WINDOW (fixture->window), 360, 720);
  else
    gtk_window_set_default_size (GTK_WINDOW (fixture->window), 960, 720);

  fixture->desktop = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (session_bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  start_notification_server (fixture);
  if (options & TRAY_HOST)
    start_watcher (fixture, TRUE);
}

static void
close_dialogs (void)
{
  GList *toplevels = gtk_window_list_toplevels ();

  /* The list holds no references, and destroying a window destroys the dialogs it is the
   * parent of (a refusal over Preferences): hold each until the loop is done. */
  for (GList *l = toplevels; l != NULL; l = l->next)
    g_object_ref (l->data);
  for (GList *l = toplevels; l != NULL; l = l->next)
    if (ADW_IS_MESSAGE_DIALOG (l->data) || ADW_IS_PREFERENCES_WINDOW (l->data))
      gtk_window_destroy (l->data);
  g_list_free_full (toplevels, g_object_unref);
}

static void
fixture_teardown (UiFixture     *fixture,
                  gconstpointer  data)
{
  close_dialogs ();
  stop_watcher (fixture);
  g_bus_unown_name (fixture->notifications_owner);
  g_dbus_connection_unregister_object (fixture->desktop, fixture->notifications_object);
  g_clear_pointer (&fixture->notifications, g_ptr_array_unref);
  g_dbus_connection_close_sync (fixture->desktop, NULL, NULL);
  g_clear_object (&fixture->desktop);
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  lr_test_ui_run_for (50);
  /* What g_application_run () does when the app quits (the tray goes); but only
   * g_application_run () can take an app off the bus, so the app is kept (see
   * fixture_setup). */
  g_signal_emit_by_name (fixture->app, "shutdown");
  g_ptr_array_add (finished_apps, g_steal_pointer (&fixture->app));
  g_clear_object (&fixture->client);
  g_dbus_connection_close_sync (fixture->app_bus, NULL, NULL);
  g_clear_object (&fixture->app_bus);
  g_clear_pointer (&fixture->helper, lr_test_helper_free);
  if (fixture->relay != NULL)
    {
      g_subprocess_send_signal (fixture->relay, SIGTERM);
      g_subprocess_wait (fixture->relay, NULL, NULL);
      g_clear_object (&fixture->relay);
    }
  g_clear_pointer (&fixture->bus, lr_test_bus_free);
  if (lr_test_server_is_running (fixture->server))
    lr_test_server_stop (fixture->server, FALSE);
  g_clear_pointer (&fixture->server, lr_test_server_free);
  if (fixture->options & SECOND_HOST)
    remove_second_host ();
}

/* Steps a person takes */

static void
fill_entry (GtkWidget  *root,
            const char *title,
            const char *text)
{
  GtkWidget *row = lr_test_ui_find_entry_row (root, title);

  g_assert_nonnull (row);
  /* Into the field, as a person clicks it before typing. */
  gtk_widget_grab_focus (row);
  lr_test_ui_run_for (20);
  gtk_editable_set_text (GTK_EDITABLE (row), text);
  lr_test_ui_run_for (20);
}

static GtkWidget *
open_dialog (UiFixture  *fixture,
             const char *button,
             GType       type)
{
  lr_test_ui_click (lr_test_ui_wait_button (fixture->window, button));
  return GTK_WIDGET (lr_test_ui_wait_window (type, NULL));
}

static void
create_party (UiFixture  *fixture,
              const char *party_name,
              const char *display_name)
{
  GtkWidget *dialog = open_dialog (fixture, "Create Party", LANRAGE_TYPE_CREATE_DIALOG);
  GtkWidget *create;

  create = lr_test_ui_find_button (dialog, "Create");
  g_assert_nonnull (create);
  /* Nothing to create without a party name. */
  fill_entry (dialog, "Party Name", "   ");
  g_assert_false (gtk_widget_is_sensitive (create));
  fill_entry (dialog, "Party Name", party_name);
  fill_entry (dialog, "Your Name", display_name);
  g_assert_true (gtk_widget_is_sensitive (create));
  lr_test_ui_screenshot (dialog, "create-dialog");
  lr_test_ui_click (create);
}

static char *
ctl (UiFixture          *fixture,
     const char         *bus_name,
     const char * const *argv)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (lr_test_ctl_run (fixture->bus, bus_name, NULL, argv, &out, NULL), ==, 0);
  return g_strstrip (g_steal_pointer (&out));
}

static LrTestHelper *
start_second_helper (UiFixture *fixture)
{
  LrTestHelper *helper = lr_test_helper_new (fixture->bus, lr_test_server_get_url (fixture->server),
                                             LR_TEST_HELPER_BUS_NAME_2);

  if (fixture->options & SECOND_HOST)
    lr_test_helper_set_netns (helper, SECOND_HOST_NETNS);
  if (fixture->relay != NULL)
    use_relay (helper, lr_test_server_get_url (fixture->server));
  lr_test_helper_start (helper);
  return helper;
}

static gboolean
has_state (gpointer data)
{
  gpointer *args = data;

  return g_strcmp0 (lrd_helper1_get_state (args[0]), args[1]) == 0;
}

static void
wait_helper_state (LrTestHelper *helper,
                   const char   *state)
{
  gpointer args[] = { lr_test_helper_get_proxy (helper), (gpointer) state };

  g_assert_true (lr_test_wait_for (has_state, args, LR_TEST_UI_TIMEOUT_MS));
}

static void
leave_party (UiFixture *fixture)
{
  GtkWindow *confirm;

  lr_test_ui_click (lr_test_ui_wait_button (fixture->window, "Leave Party"));
  confirm = lr_test_ui_wait_window (ADW_TYPE_MESSAGE_DIALOG, "Leave the Party?");
  lr_test_ui_click (lr_test_ui_find_button (GTK_WIDGET (confirm), "Leave"));
  wait_helper_state (fixture->helper, "idle");
  lr_test_ui_wait_button (fixture->window, "Create Party");
}

static void
wait_label_suffix (GtkWidget  *root,
                   const char *suffix)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) LR_TEST_UI_TIMEOUT_MS * 1000;

  while (lr_test_ui_find_label_suffix (root, suffix) == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("No text ending in “%s” showed", suffix);
      lr_test_ui_run_for (20);
    }
}

/* Tests */

/* Create a party from the window, see the code and your row, a friend joins with
 * lanragectl and shows up, their details, then leave. */
static void
test_create_join_leave (UiFixture     *fixture,
                        gconstpointer  data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  g_autoptr(LrTestHelper) second = NULL;
  g_autofree char *code = NULL;
  g_autofree char *typed = NULL;
  g_autofree char *guest_address = NULL;
  g_autofree char *out = NULL;
  GtkWidget *row_label;
  GtkWidget *row;
  const char *join_argv[] = { "--name", "bob", "join", NULL, NULL };
  const char *address_argv[] = { "--json", "status", NULL };
  g_autoptr(JsonNode) status = NULL;

  lr_test_ui_wait_button (fixture->window, "Join Party");
  lr_test_ui_screenshot (fixture->window, "idle");
  create_party (fixture, "Friday night", "alice");

  wait_helper_state (fixture->helper, "connected");
  g_assert_cmpstr (lrd_helper1_get_party_name (proxy), ==, "Friday night");
  code = lrd_helper1_dup_invite_code (proxy);
  /* The invite code, the party's name in the title, and your own row with your address. */
  lr_test_ui_wait_label (fixture->window, code);
  lr_test_ui_wait_label (fixture->window, "Friday night");
  lr_test_ui_wait_label (fixture->window, "alice (you)");
  lr_test_ui_wait_label (fixture->window, lrd_helper1_get_virtual_address (proxy));
  lr_test_ui_wait_label (fixture->window, "1 player");
  /* Nothing measured yet reads as such, not as a blank. */
  g_assert_nonnull (lr_test_ui_find_label (fixture->window, "Unknown"));
  g_assert_nonnull (lr_test_ui_find_label (fixture->window, "Nobody else yet: share the invite code!"));

  /* A friend joins by retyping the code (lower case, spaces for dashes); later than the
   * app's 1.5 s in which new rows are members who were already there, not news. */
  lr_test_ui_run_for (1600);
  second = start_second_helper (fixture);
  typed = g_ascii_strdown (code, -1);
  g_strdelimit (typed, "-", ' ');
  join_argv[3] = typed;
  g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, join_argv));
  out = ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, address_argv);
  status = lr_test_json_parse (out);
  guest_address = g_strdup (lr_test_json_string (status, "VirtualAddress"));

  /* Their row: name, address and NAT type, the path, the latency; and a toast. */
  row_label = lr_test_ui_wait_label (fixture->window, "bob");
  row = gtk_widget_get_ancestor (row_label, GTK_TYPE_LIST_BOX_ROW);
  g_assert_nonnull (row);
  {
    g_autofree char *subtitle = g_strdup_printf ("%s · NAT: Unknown", guest_address);

    lr_test_ui_wait_label (row, subtitle);
  }
  /* Direct or through the relay, measured either way. */
  wait_path_label (row);
  wait_label_suffix (row, " ms");
  lr_test_ui_wait_label (fixture->window, "bob joined the party");
  lr_test_ui_wait_label (fixture->window, "2 players");
  lr_test_ui_screenshot (fixture->window, "party");

  /* Their details, with the latency graph. */
  lr_test_ui_click (row);
  g_assert_nonnull (lr_test_ui_find_type (fixture->window, LANRAGE_TYPE_LATENCY_GRAPH));
  lr_test_ui_wait_label (fixture->window, "Path History");
  /* For the screenshot, some history to draw. */
  if (g_getenv ("LANRAGE_SCREENSHOT_DIR") != NULL)
    lr_test_ui_run_for (30000);
  lr_test_ui_screenshot (fixture->window, "details");

  /* They leave: the row goes, with a toast. */
  g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, (const char *[]) { "leave", NULL }));
  lr_test_ui_wait_label (fixture->window, "bob left the party");
  lr_test_ui_wait_gone (fixture->window, "bob");
  lr_test_ui_wait_label (fixture->window, "1 player");

  leave_party (fixture);
  g_assert_cmpstr (lrd_helper1_get_party_id (proxy), ==, "");
}

/* Join a friend's party: the code field says no to garbage and yes to a pasted link. */
static void
test_join (UiFixture     *fixture,
           gconstpointer  data)
{
  g_autoptr(LrTestHelper) host = start_second_helper (fixture);
  const char *create_argv[] = { "--name", "carol", "--json", "create", "Host's party", NULL };
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) status = NULL;
  const char *code;
  g_autofree char *link = NULL;
  g_autofree char *hint = NULL;
  g_autofree char *lower = NULL;
  GtkWidget *dialog;
  GtkWidget *join;
  GtkWidget *code_row;

  out = ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, create_argv);
  status = lr_test_json_parse (out);
  code = lr_test_json_string (status, "InviteCode");
  g_assert_cmpuint (strlen (code), ==, 14);

  dialog = open_dialog (fixture, "Join Party", LANRAGE_TYPE_JOIN_DIALOG);
  join = lr_test_ui_find_button (dialog, "Join");
  code_row = lr_test_ui_find_entry_row (dialog, "Invite Code");
  g_assert_false (gtk_widget_is_sensitive (join));

  fill_entry (dialog, "Invite Code", "garbage!");
  g_assert_false (gtk_widget_is_sensitive (join));
  g_assert_true (gtk_widget_has_css_class (code_row, "error"));
  g_assert_nonnull (lr_test_ui_find_label_prefix (dialog, "Not an invite code yet"));

  /* Pasted from a chat: the whole link, lower case, no dashes, spaces around. */
  lower = g_ascii_strdown (code, -1);
  g_strdelimit (lower, "-", ' ');
  link = g_strdup_printf ("  lanrage://join/%s ", lower);
  fill_entry (dialog, "Invite Code", link);
  g_assert_true (gtk_widget_is_sensitive (join));
  g_assert_false (gtk_widget_has_css_class (code_row, "error"));
  hint = g_strdup_printf ("Invite code %s", code);
  g_assert_nonnull (lr_test_ui_find_label (dialog, hint));
  fill_entry (dialog, "Your Name", "dave");
  lr_test_ui_click (join);

  wait_helper_state (fixture->helper, "connected");
  lr_test_ui_wait_label (fixture->window, "Host's party");
  lr_test_ui_wait_label (fixture->window, "carol");
  lr_test_ui_wait_label (fixture->window, "dave (you)");
  lr_test_ui_wait_label (fixture->window, code);
}

/* A well-formed code nobody has, and the error dialog that says so. */
static void
test_unknown_code (UiFixture     *fixture,
                   gconstpointer  data)
{
  GtkWidget *dialog = open_dialog (fixture, "Join Party", LANRAGE_TYPE_JOIN_DIALOG);
  GtkWindow *error;

  fill_entry (dialog, "Invite Code", "7KQM-2XWD-9RTF");
  lr_test_ui_click (lr_test_ui_find_button (dialog, "Join"));
  error = lr_test_ui_wait_window (ADW_TYPE_MESSAGE_DIALOG, "Invite Code Not Found");
  lr_test_ui_screenshot (GTK_WIDGET (error), "error-unknown-code");
  lr_test_ui_click (lr_test_ui_find_button (GTK_WIDGET (error), "OK"));
  lr_test_ui_wait_button (fixture->window, "Create Party");
  g_assert_cmpstr (lrd_helper1_get_state (lr_test_helper_get_proxy (fixture->helper)), ==, "idle");
}

static void
test_server_unreachable (UiFixture     *fixture,
                         gconstpointer  data)
{
  create_party (fixture, "Nobody home", "erin");
  lr_test_ui_wait_window (ADW_TYPE_MESSAGE_DIALOG, "Can’t Reach the Party Server");
  lr_test_ui_wait_button (fixture->window, "Create Party");
}

/* No helper when the app starts: the window says how to get one, and carries on by itself
 * once it runs; and again when it stops and comes back. */
static void
test_helper_appears (UiFixture     *fixture,
                     gconstpointer  data)
{
  const char *title = "The LANrage Helper Is Not Running";

  lr_test_ui_wait_label (fixture->window, title);
  /* What is true: there is no lanrage-helper package, and a Flatpak cannot hold it. */
  lr_test_ui_wait_label (fixture->window,
                         "LANrage needs its helper service to build the party network. With "
                         "LANrage’s source, “sudo tools/run” installs and starts it. Otherwise "
                         "install LANrage’s helper from your system’s packages; the Flatpak "
                         "needs it too, installed outside the Flatpak. This window carries on "
                         "by itself as soon as the helper runs.");
  g_assert_null (lr_test_ui_find_button (fixture->window, "Create Party"));
  lr_test_ui_screenshot (fixture->window, "no-helper");

  lr_test_helper_start (fixture->helper);
  lr_test_ui_wait_button (fixture->window, "Create Party");
  /* The pages cross-fade: the old one goes a moment later. */
  lr_test_ui_wait_gone (fixture->window, title);

  lr_test_helper_stop (fixture->helper);
  lr_test_ui_wait_label (fixture->window, title);
  lr_test_helper_start (fixture->helper);
  create_party (fixture, "Second start", "frank");
  wait_helper_state (fixture->helper, "connected");
  lr_test_ui_wait_label (fixture->window, lrd_helper1_get_invite_code (
                                            lr_test_helper_get_proxy (fixture->helper)));
}

/* The app's actions as the desktop, the tray host or a script reach them: org.gtk.Actions
 * on the session bus. */
static void
activate_remote_action (UiFixture  *fixture,
                        const char *action,
                        GVariant   *parameter)
{
  g_autoptr(GDBusActionGroup) group = NULL;

  group = g_dbus_action_group_get (fixture->desktop,
                                   g_application_get_application_id (G_APPLICATION (fixture->app)),
                                   g_application_get_dbus_object_path (G_APPLICATION (fixture->app)));
  g_action_group_activate_action (G_ACTION_GROUP (group), action, parameter);
  g_dbus_connection_flush_sync (fixture->desktop, NULL, NULL);
}

/* Clicks an entry row's apply button (it shows once the text was changed). */
static void
press_apply (GtkWidget *row)
{
  GtkWidget *apply = NULL;
  gint64 deadline = g_get_monotonic_time () + LR_TEST_UI_TIMEOUT_MS * 1000;

  while ((apply = lr_test_ui_find_type (row, GTK_TYPE_BUTTON)) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      lr_test_ui_run_for (20);
    }
  lr_test_ui_click (apply);
}

static gboolean
control_url_is (gpointer data)
{
  gpointer *args = data;

  return g_strcmp0 (lrd_helper1_get_control_url (args[0]), args[1]) == 0;
}

/* Preferences, opened through D-Bus: the server address is the helper's; a bad one is
 * refused with a toast, a good one changes the helper's. */
static void
test_preferences (UiFixture     *fixture,
                  gconstpointer  data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  GtkWidget *preferences;
  GtkWidget *server_row;
  gpointer args[] = { proxy, (gpointer) "http://127.0.0.1:1/" };

  lr_test_ui_wait_button (fixture->window, "Create Party");
  activate_remote_action (fixture, "preferences", NULL);
  preferences = GTK_WIDGET (lr_test_ui_wait_window (LANRAGE_TYPE_PREFERENCES_WINDOW, NULL));
  server_row = lr_test_ui_find_entry_row (preferences, "Server Address");
  g_assert_nonnull (server_row);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (server_row)), ==,
                   lrd_helper1_get_control_url (proxy));
  lr_test_ui_screenshot (preferences, "preferences");

  fill_entry (preferences, "Server Address", "ftp://nowhere.example/");
  press_apply (server_row);
  lr_test_ui_wait_label (preferences, "That Is Not a Server Address");
  g_assert_true (gtk_widget_has_css_class (server_row, "error"));

  fill_entry (preferences, "Server Address", "http://127.0.0.1:1");
  press_apply (server_row);
  lr_test_ui_wait_label (preferences, "The server is changed");
  g_assert_true (lr_test_wait_for (control_url_is, args, LR_TEST_UI_TIMEOUT_MS));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (server_row)), ==, "http://127.0.0.1:1/");
}

/* LAN games */

static int wait_menu_item (UiFixture  *fixture,
                           const char *service,
                           const char *label,
                           gboolean    prefix);

#define MINECRAFT_GROUP 0xe000023c   /* 224.0.2.60 */
#define MINECRAFT_PORT  4445

/* What the party page's Games section shows while it lists no game. */
#define GAMES_EMPTY "No LAN games yet. When someone hosts one, it shows up here."
#define GAMES_NOT_LOOKED_FOR \
  "LAN game discovery is off, so games players host are not shown and yours are not " \
  "shared. Turn it on in Preferences."

static gboolean
lan_bridge_is (gpointer data)
{
  gpointer *args = data;

  return g_strcmp0 (lrd_helper1_get_lan_bridge (args[0]), args[1]) == 0;
}

typedef struct
{
  GdkClipboard *clipboard;
  char         *text;
  gboolean      done;
} ClipboardRead;

static void
clipboard_read_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  ClipboardRead *read = user_data;

  read->text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, NULL);
  read->done = TRUE;
}

/* What a paste into another program would get. */
static char *
read_clipboard (GtkWidget *widget)
{
  ClipboardRead read = { gtk_widget_get_clipboard (widget), NULL, FALSE };
  gint64 deadline = g_get_monotonic_time () + LR_TEST_UI_TIMEOUT_MS * 1000;

  gdk_clipboard_read_text_async (read.clipboard, NULL, clipboard_read_cb, &read);
  while (!read.done)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      lr_test_ui_run_for (10);
    }
  return read.text;
}

/* A friend on another host starts a Minecraft world: its real LAN announcement, sent on
 * the friend's host, reaches this host's helper through the tunnel, and the party page
 * lists the world with its host, title and address; the copy button puts the address on
 * the clipboard. When the announcements stop, the row goes. */
/* A row of a player's path history: "14:02:11  Direct", "14:02:09  Relayed via ..." */
static GtkWidget *
wait_history_entry (GtkWidget *root)
{
  gint64 deadline = g_get_monotonic_time () + LR_TEST_UI_TIMEOUT_MS * 1000;
  GtkWidget *label;

  while ((label = lr_test_ui_find_label_suffix (root, "  Direct")) == NULL &&
         (label = lr_test_ui_find_label_suffix (root, "  Connecting…")) == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("The player's path history shows nothing");
      lr_test_ui_run_for (50);
    }
  return label;
}

static void
test_games (UiFixture     *fixture,
            gconstpointer  data)
{
  /* A world's name is the host's to choose: text, never markup. */
  static const char announcement[] = "[MOTD]Bob's <Lab> & World[/MOTD][AD]41234[/AD]";
  g_autoptr(LrTestHelper) second = NULL;
  g_autofree char *code = NULL;
  g_autofree char *guest_address = NULL;
  g_autofree char *expected_address = NULL;
  g_autofree char *copied = NULL;
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) status = NULL;
  /* So is a player's name. */
  const char *join_argv[] = { "--name", "Bo & <Jo>", "join", NULL, NULL };
  const char *status_argv[] = { "--json", "status", NULL };
  const char *empty = GAMES_EMPTY;
  GtkWidget *title;
  GtkWidget *row;
  GtkWidget *copy;
  gint64 deadline;
  int sender;

  /* Your own name too, in your row. */
  create_party (fixture, "Game night", "Al & <Ice>");
  wait_helper_state (fixture->helper, "connected");
  code = lrd_helper1_dup_invite_code (lr_test_helper_get_proxy (fixture->helper));
  lr_test_ui_wait_label (fixture->window, "Al & <Ice> (you)");
  lr_test_ui_wait_label (fixture->window, empty);
  /* Later than the 1.5 s in which what the party already had is not news. */
  lr_test_ui_run_for (1600);

  second = start_second_helper (fixture);
  join_argv[3] = code;
  g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, join_argv));
  out = ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, status_argv);
  status = lr_test_json_parse (out);
  guest_address = g_strdup (lr_test_json_string (status, "VirtualAddress"));
  expected_address = g_strdup_printf ("%s:41234", guest_address);
  lr_test_ui_wait_label (fixture->window, "Bo & <Jo>");
  {
    gpointer first_on[] = { lr_test_helper_get_proxy (fixture->helper), (gpointer) "on" };
    gpointer second_on[] = { lr_test_helper_get_proxy (second), (gpointer) "on" };

    g_assert_true (lr_test_wait_for (lan_bridge_is, first_on, LR_TEST_UI_TIMEOUT_MS));
    g_assert_true (lr_test_wait_for (lan_bridge_is, second_on, LR_TEST_UI_TIMEOUT_MS));
  }

  /* Minecraft Java announces every 1.5 s; until the row shows, every 500 ms. */
  sender = lrd_lan_test_program_open (SECOND_HOST_NETNS, 50123, 0);
  deadline = g_get_monotonic_time () + LR_TEST_UI_TIMEOUT_MS * 1000;
  while ((title = lr_test_ui_find_label (fixture->window, "Bob's <Lab> & World")) == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("The party page does not list the world");
      lrd_lan_test_program_send (sender, MINECRAFT_GROUP, MINECRAFT_PORT, announcement,
                                 strlen (announcement));
      lr_test_ui_run_for (500);
    }
  row = gtk_widget_get_ancestor (title, LANRAGE_TYPE_GAME_ROW);
  g_assert_nonnull (row);
  /* The title and the host by name, the address to connect to; and the news as a toast. */
  lr_test_ui_wait_label (row, "Minecraft: Java Edition · hosted by Bo & <Jo>");
  lr_test_ui_wait_label (row, expected_address);
  g_assert_null (lr_test_ui_find_label (fixture->window, empty));
  lr_test_ui_wait_label (fixture->window, "Bo & <Jo> is hosting Bob's <Lab> & World");
  copy = lr_test_ui_find_button_by_tooltip (row, "Copy Address");
  g_assert_nonnull (copy);
  /* Scrolled into view, as a person would; for the screenshot, once the toast over it has
   * gone. */
  {
    GtkAdjustment *scroll = gtk_scrolled_window_get_vadjustment (
      GTK_SCROLLED_WINDOW (gtk_widget_get_ancestor (row, GTK_TYPE_SCROLLED_WINDOW)));

    gtk_adjustment_set_value (scroll, gtk_adjustment_get_upper (scroll) -
                                        gtk_adjustment_get_page_size (scroll));
  }
  if (g_getenv ("LANRAGE_SCREENSHOT_DIR") != NULL)
    for (guint i = 0; i < 10; i++)
      {
        /* Bob's world goes on announcing meanwhile, or the lobby would forget it. */
        lrd_lan_test_program_send (sender, MINECRAFT_GROUP, MINECRAFT_PORT, announcement,
                                   strlen (announcement));
        lr_test_ui_run_for (500);
      }
  lr_test_ui_screenshot (fixture->window, "games");
  /* The tray's menu lists it too. */
  {
    g_autofree char *label = g_strdup_printf ("Bob's <Lab> & World, hosted by Bo & <Jo> — %s", expected_address);
    const char *service = g_dbus_connection_get_unique_name (
      g_application_get_dbus_connection (G_APPLICATION (fixture->app)));

    wait_menu_item (fixture, service, label, FALSE);
  }

  lr_test_ui_click (copy);
  lr_test_ui_wait_label (fixture->window, "Address copied");
  copied = read_clipboard (fixture->window);
  g_assert_cmpstr (copied, ==, expected_address);

  /* Bob closes the world: its announcements stop, and the lobby forgets it (5 s for
   * Minecraft, docs/lan-discovery.md). */
  close (sender);
  lr_test_ui_wait_gone (fixture->window, "Bob's <Lab> & World");
  lr_test_ui_wait_label (fixture->window, empty);

  /* Their path history names relays, which the network names: its rows take text. No
   * relay name here has markup in it, so the test reads the rows' setting. */
  lr_test_ui_click (gtk_widget_get_ancestor (lr_test_ui_find_label (fixture->window, "Bo & <Jo>"),
                                             GTK_TYPE_LIST_BOX_ROW));
  lr_test_ui_wait_label (fixture->window, "Path History");
  row = gtk_widget_get_ancestor (wait_history_entry (fixture->window), ADW_TYPE_ACTION_ROW);
  g_assert_nonnull (row);
  g_assert_false (adw_preferences_row_get_use_markup (ADW_PREFERENCES_ROW (row)));
}

static gboolean
deny_list_has (gpointer data)
{
  gpointer *args = data;
  GVariant *list = lrd_helper1_get_deny_list (args[0]);
  const char *group, *reason;
  guint16 first, last;
  GVariantIter iter;

  if (list == NULL)
    return FALSE;
  g_variant_iter_init (&iter, list);
  while (g_variant_iter_next (&iter, "(qq&s&s)", &first, &last, &group, &reason))
    if (g_str_has_prefix (reason, args[1]))
      return TRUE;
  return FALSE;
}

/* The built-in reasons are sentences ("DHCP (RFC 2131): each LAN's own server..."). */
static GtkWidget *
wait_label_prefix (GtkWidget  *root,
                   const char *prefix,
                   gboolean    shown)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) LR_TEST_UI_TIMEOUT_MS * 1000;
  GtkWidget *label;

  while ((label = lr_test_ui_find_label_prefix (root, prefix)) == NULL ? shown : !shown)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("A text starting with “%s” is %s", prefix, shown ? "not shown" : "still shown");
      lr_test_ui_run_for (20);
    }
  return label;
}

static gboolean
deny_list_lacks (gpointer data)
{
  return !deny_list_has (data);
}

static gboolean
known_titles_only_is (gpointer data)
{
  gpointer *args = data;

  return lrd_helper1_get_known_titles_only (args[0]) == GPOINTER_TO_INT (args[1]);
}

static gboolean
lan_discovery_is (gpointer data)
{
  gpointer *args = data;

  return lrd_helper1_get_lan_discovery (args[0]) == GPOINTER_TO_INT (args[1]);
}

/* The widget's sensitivity, its ancestors' included, becomes @sensitive (the app hears of
 * the helper's change a moment after the test's own proxy does). */
static void
wait_sensitive (GtkWidget *widget,
                gboolean   sensitive)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) LR_TEST_UI_TIMEOUT_MS * 1000;

  while (gtk_widget_is_sensitive (widget) != sensitive)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("A %s stays %s", G_OBJECT_TYPE_NAME (widget),
                 sensitive ? "insensitive" : "sensitive");
      lr_test_ui_run_for (20);
    }
}

static void
wait_switch_active (GtkWidget *row,
                    gboolean   active)
{
  GtkSwitch *toggle = GTK_SWITCH (lr_test_ui_find_type (row, GTK_TYPE_SWITCH));
  gint64 deadline = g_get_monotonic_time () + (gint64) LR_TEST_UI_TIMEOUT_MS * 1000;

  while (gtk_switch_get_active (toggle) != active)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("The switch stays %s", active ? "off" : "on");
      lr_test_ui_run_for (20);
    }
}

/* Preferences' LAN Games page: the helper's deny list with each entry's reason; block a
 * port range, which the helper then has (read back over D-Bus); an entry the helper
 * refuses says why and keeps what was typed; remove one; back to the defaults; the "only
 * known games" switch; LAN game discovery turned off (the rest of the page greys out, a
 * party comes up without the bridge and its Games section says why it is empty) and on
 * again (the bridge opens at once). */
static void
test_lan_preferences (UiFixture     *fixture,
                      gconstpointer  data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  gpointer has_lan_party[] = { proxy, (gpointer) "LAN party game" };
  gpointer has_dhcp[] = { proxy, (gpointer) "DHCP" };
  gpointer known_on[] = { proxy, GINT_TO_POINTER (TRUE) };
  guint n_defaults = g_variant_n_children (lrd_helper1_get_deny_list (proxy));
  GtkWidget *preferences;
  GtkWidget *tab;
  GtkWidget *dhcp;
  GtkWidget *add;
  GtkWindow *refusal;

  g_assert_true (deny_list_has (has_dhcp));
  lr_test_ui_wait_button (fixture->window, "Create Party");
  activate_remote_action (fixture, "preferences", NULL);
  preferences = GTK_WIDGET (lr_test_ui_wait_window (LANRAGE_TYPE_PREFERENCES_WINDOW, NULL));
  tab = gtk_widget_get_ancestor (lr_test_ui_wait_label (preferences, "LAN Games"),
                                 GTK_TYPE_BUTTON);
  g_assert_nonnull (tab);
  lr_test_ui_click (tab);
  /* Each entry with its reason and ports; the bridge is off without a party. */
  dhcp = gtk_widget_get_ancestor (wait_label_prefix (preferences, "DHCP", TRUE),
                                  ADW_TYPE_ACTION_ROW);
  g_assert_nonnull (dhcp);
  lr_test_ui_wait_label (dhcp, "Ports 67–68");
  lr_test_ui_wait_label (preferences, "Off until you are in a party");
  lr_test_ui_screenshot (preferences, "preferences-lan");

  /* A range, typed as a person would. */
  add = lr_test_ui_find_button (preferences, "Block Port");
  g_assert_nonnull (add);
  g_assert_false (gtk_widget_is_sensitive (add));
  fill_entry (preferences, "Port or Ports", "40000 - 40010");
  fill_entry (preferences, "Reason", "LAN party game");
  g_assert_true (gtk_widget_is_sensitive (add));
  lr_test_ui_click (add);
  g_assert_true (lr_test_wait_for (deny_list_has, has_lan_party, LR_TEST_UI_TIMEOUT_MS));
  lr_test_ui_wait_label (preferences, "LAN party game");
  lr_test_ui_wait_label (preferences, "Ports 40000–40010");
  g_assert_cmpuint (g_variant_n_children (lrd_helper1_get_deny_list (proxy)), ==,
                    n_defaults + 1);

  /* A group that is not multicast: the helper says no, the dialog says why, nothing
   * changed and what was typed is still there. */
  fill_entry (preferences, "Port or Ports", "41000");
  fill_entry (preferences, "Multicast Group (Optional)", "10.0.0.1");
  fill_entry (preferences, "Reason", "Not a group");
  lr_test_ui_click (lr_test_ui_wait_button (preferences, "Block Port"));
  refusal = lr_test_ui_wait_window (ADW_TYPE_MESSAGE_DIALOG, "That Entry Doesn’t Work");
  lr_test_ui_click (lr_test_ui_find_button (GTK_WIDGET (refusal), "OK"));
  g_assert_cmpuint (g_variant_n_children (lrd_helper1_get_deny_list (proxy)), ==,
                    n_defaults + 1);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (lr_test_ui_find_entry_row (
                     preferences, "Multicast Group (Optional)"))), ==, "10.0.0.1");
  fill_entry (preferences, "Multicast Group (Optional)", "");
  fill_entry (preferences, "Port or Ports", "");
  fill_entry (preferences, "Reason", "");

  /* Remove DHCP from the list: the helper carries it again. */
  dhcp = gtk_widget_get_ancestor (wait_label_prefix (preferences, "DHCP", TRUE),
                                  ADW_TYPE_ACTION_ROW);
  lr_test_ui_click (lr_test_ui_find_button_by_tooltip (dhcp, "Carry Again"));
  g_assert_true (lr_test_wait_for (deny_list_lacks, has_dhcp, LR_TEST_UI_TIMEOUT_MS));
  wait_label_prefix (preferences, "DHCP", FALSE);

  /* Back to the defaults: DHCP is back, the game's range is gone. */
  lr_test_ui_click (lr_test_ui_wait_button (preferences, "Reset to Defaults"));
  g_assert_true (lr_test_wait_for (deny_list_has, has_dhcp, LR_TEST_UI_TIMEOUT_MS));
  g_assert_true (lr_test_wait_for (deny_list_lacks, has_lan_party, LR_TEST_UI_TIMEOUT_MS));
  g_assert_cmpuint (g_variant_n_children (lrd_helper1_get_deny_list (proxy)), ==, n_defaults);
  wait_label_prefix (preferences, "DHCP", TRUE);
  lr_test_ui_wait_gone (preferences, "LAN party game");

  /* Only known games. */
  g_assert_false (lrd_helper1_get_known_titles_only (proxy));
  lr_test_ui_click (gtk_widget_get_ancestor (lr_test_ui_wait_label (preferences,
                                                                    "Only Known Games"),
                                             ADW_TYPE_ACTION_ROW));
  g_assert_true (lr_test_wait_for (known_titles_only_is, known_on, LR_TEST_UI_TIMEOUT_MS));

  /* LAN game discovery, at the top of the page: on by default; off, the helper has it and
   * what it would carry cannot be edited. */
  {
    const char *create_argv[] = { "create", "Quiet night", NULL };
    gpointer discovery_off[] = { proxy, GINT_TO_POINTER (FALSE) };
    gpointer discovery_on[] = { proxy, GINT_TO_POINTER (TRUE) };
    gpointer bridge_disabled[] = { proxy, (gpointer) "disabled" };
    gpointer bridge_running[] = { proxy, (gpointer) "on" };
    GtkWidget *lan_row = gtk_widget_get_ancestor (lr_test_ui_wait_label (preferences,
                                                                         "LAN Game Discovery"),
                                                  ADW_TYPE_ACTION_ROW);
    GtkWidget *known_row = gtk_widget_get_ancestor (lr_test_ui_wait_label (preferences,
                                                                           "Only Known Games"),
                                                    ADW_TYPE_ACTION_ROW);
    GtkWidget *reset = lr_test_ui_wait_button (preferences, "Reset to Defaults");
    GtkWidget *ports = lr_test_ui_find_entry_row (preferences, "Port or Ports");

    g_assert_nonnull (lan_row);
    g_assert_nonnull (ports);
    g_assert_true (lrd_helper1_get_lan_discovery (proxy));
    wait_switch_active (lan_row, TRUE);
    g_assert_true (gtk_widget_is_sensitive (known_row));
    lr_test_ui_click (lan_row);
    g_assert_true (lr_test_wait_for (lan_discovery_is, discovery_off, LR_TEST_UI_TIMEOUT_MS));
    wait_sensitive (known_row, FALSE);
    wait_sensitive (reset, FALSE);
    wait_sensitive (ports, FALSE);
    g_assert_true (gtk_widget_is_sensitive (lan_row));
    lr_test_ui_wait_label (preferences, "Off");

    /* A party comes up without the bridge, and its page says why it lists no games. */
    g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME, create_argv));
    g_assert_true (lr_test_wait_for (lan_bridge_is, bridge_disabled, LR_TEST_UI_TIMEOUT_MS));
    lr_test_ui_wait_label (fixture->window, GAMES_NOT_LOOKED_FOR);
    g_assert_null (lr_test_ui_find_label (fixture->window, GAMES_EMPTY));

    /* On again: the bridge opens at once, and the page is editable again. */
    lr_test_ui_click (lan_row);
    g_assert_true (lr_test_wait_for (lan_discovery_is, discovery_on, LR_TEST_UI_TIMEOUT_MS));
    g_assert_true (lr_test_wait_for (lan_bridge_is, bridge_running, LR_TEST_UI_TIMEOUT_MS));
    wait_sensitive (known_row, TRUE);
    wait_sensitive (reset, TRUE);
    wait_sensitive (ports, TRUE);
    lr_test_ui_wait_label (preferences, "On");
    lr_test_ui_wait_label (fixture->window, GAMES_EMPTY);
    g_assert_null (lr_test_ui_find_label (fixture->window, GAMES_NOT_LOOKED_FOR));
  }
}

/* Start at login */

/* The desktop's Background portal, standing in for xdg-desktop-portal: the real one cannot
 * grant Background to an app that is not in a sandbox (it asks the sandbox who the app
 * is), which every app of this test is. It records the options of RequestBackground and
 * answers as a desktop does, with the Response signal of the request object. */
static const char portal_xml[] =
  "<node><interface name='org.freedesktop.portal.Background'>"
  "<method name='RequestBackground'><arg type='s' direction='in'/>"
  "<arg type='a{sv}' direction='in'/><arg type='o' direction='out'/></method>"
  "</interface></node>";

typedef struct
{
  GPtrArray *requests;   /* the options of each call, as GVariant */
  guint32    response;   /* what the person answers: 0 yes, 1 no */
} FakePortal;

static void
portal_method_cb (GDBusConnection       *connection,
                  const char            *sender,
                  const char            *path,
                  const char            *interface,
                  const char            *method,
                  GVariant              *parameters,
                  GDBusMethodInvocation *invocation,
                  gpointer               user_data)
{
  FakePortal *portal = user_data;
  g_autoptr(GVariant) options = g_variant_get_child_value (parameters, 1);
  g_autofree char *sender_part = g_strdup (sender + 1);
  g_autofree char *handle = NULL;
  const char *token = "t";
  gboolean autostart = FALSE;
  GVariantBuilder results;

  g_variant_lookup (options, "handle_token", "&s", &token);
  g_variant_lookup (options, "autostart", "b", &autostart);
  g_ptr_array_add (portal->requests, g_variant_ref (options));
  g_strdelimit (sender_part, ".", '_');
  handle = g_strdup_printf ("/org/freedesktop/portal/desktop/request/%s/%s", sender_part, token);
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(o)", handle));

  g_variant_builder_init (&results, G_VARIANT_TYPE_VARDICT);
  if (portal->response == 0)
    {
      g_variant_builder_add (&results, "{sv}", "background", g_variant_new_boolean (TRUE));
      g_variant_builder_add (&results, "{sv}", "autostart", g_variant_new_boolean (autostart));
    }
  g_dbus_connection_emit_signal (connection, sender, handle, "org.freedesktop.portal.Request",
                                 "Response", g_variant_new ("(ua{sv})", portal->response,
                                                            &results), NULL);
}

static gboolean
has_requests (gpointer data)
{
  gpointer *args = data;

  return ((FakePortal *) args[0])->requests->len >= GPOINTER_TO_UINT (args[1]);
}

static gboolean
setting_is (gpointer data)
{
  gpointer *args = data;

  return g_settings_get_boolean (args[0], "start-at-login") == GPOINTER_TO_INT (args[1]);
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

static gboolean
file_gone (gpointer data)
{
  return !g_file_test (data, G_FILE_TEST_EXISTS);
}

/* Start at login from Preferences: outside a sandbox, an autostart entry that starts the
 * app in the tray; through the Background portal when the app uses it (in a Flatpak),
 * with no file, and a "no" from the person turns the setting back off. */
static void
test_start_at_login (UiFixture     *fixture,
                     gconstpointer  data)
{
  static const GDBusInterfaceVTable vtable = { portal_method_cb, NULL, NULL, { 0 } };
  g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (portal_xml, NULL);
  g_autoptr(GSettings) settings = g_settings_new ("io.lanrage.LANrage");
  g_autofree char *entry_path = g_build_filename (g_get_user_config_dir (), "autostart",
                                                  "io.lanrage.LANrage.desktop", NULL);
  g_autofree char *entry = NULL;
  g_autoptr(GError) error = NULL;
  FakePortal portal = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref), 0 };
  gpointer off[] = { settings, GINT_TO_POINTER (FALSE) };
  gpointer one_request[] = { &portal, GUINT_TO_POINTER (1) };
  gpointer three_requests[] = { &portal, GUINT_TO_POINTER (3) };
  g_auto(GStrv) commandline = NULL;
  gboolean autostart = FALSE;
  GtkWidget *preferences;
  GtkWidget *row;
  guint object_id;
  guint owner_id;

  g_assert_false (g_settings_get_boolean (settings, "start-at-login"));
  lr_test_ui_wait_button (fixture->window, "Create Party");
  activate_remote_action (fixture, "preferences", NULL);
  preferences = GTK_WIDGET (lr_test_ui_wait_window (LANRAGE_TYPE_PREFERENCES_WINDOW, NULL));
  row = gtk_widget_get_ancestor (lr_test_ui_wait_label (preferences, "Start at Login"),
                                 ADW_TYPE_ACTION_ROW);
  g_assert_nonnull (row);

  /* No sandbox: the autostart folder's entry. */
  lr_test_ui_click (row);
  g_assert_true (lr_test_wait_for (file_exists, entry_path, LR_TEST_UI_TIMEOUT_MS));
  g_assert_true (g_file_get_contents (entry_path, &entry, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (entry, "\nExec=lanrage --background\n"));
  lr_test_ui_click (row);
  g_assert_true (lr_test_wait_for (file_gone, entry_path, LR_TEST_UI_TIMEOUT_MS));

  /* In a sandbox: the portal, asked for autostart with the command; no file. */
  object_id = g_dbus_connection_register_object (fixture->desktop, "/org/freedesktop/portal/desktop",
                                                 node->interfaces[0], &vtable, &portal, NULL,
                                                 &error);
  g_assert_no_error (error);
  owner_id = g_bus_own_name_on_connection (fixture->desktop, "org.freedesktop.portal.Desktop",
                                           G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL, NULL);
  g_dbus_connection_flush_sync (fixture->desktop, NULL, NULL);
  lr_test_ui_run_for (100);
  lanrage_application_set_use_background_portal (fixture->app, TRUE);
  lr_test_ui_click (row);
  g_assert_true (lr_test_wait_for (has_requests, one_request, LR_TEST_UI_TIMEOUT_MS));
  g_assert_true (g_variant_lookup (portal.requests->pdata[0], "autostart", "b", &autostart));
  g_assert_true (autostart);
  g_assert_true (g_variant_lookup (portal.requests->pdata[0], "commandline", "^as",
                                   &commandline));
  g_assert_cmpstrv (commandline, ((const char *[]) { "lanrage", "--background", NULL }));
  /* The desktop said yes: the setting stays on. */
  lr_test_ui_run_for (300);
  g_assert_true (g_settings_get_boolean (settings, "start-at-login"));
  g_assert_false (g_file_test (entry_path, G_FILE_TEST_EXISTS));

  /* Off, then on again, and this time the person says no: the setting goes back off. */
  lr_test_ui_click (row);
  g_assert_true (lr_test_wait_for (setting_is, off, LR_TEST_UI_TIMEOUT_MS));
  portal.response = 1;
  lr_test_ui_click (row);
  g_assert_true (lr_test_wait_for (has_requests, three_requests, LR_TEST_UI_TIMEOUT_MS));
  g_assert_true (lr_test_wait_for (setting_is, off, LR_TEST_UI_TIMEOUT_MS));
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (lr_test_ui_find_type (row,
                                                                          GTK_TYPE_SWITCH))));

  g_bus_unown_name (owner_id);
  g_dbus_connection_unregister_object (fixture->desktop, object_id);
  g_ptr_array_unref (portal.requests);
}

/* The app of a user whom polkit does not allow to change the party network: creating a
 * party, and changing a LAN discovery setting, are refused in words, and nothing changed. */
static void
test_not_authorized (UiFixture     *fixture,
                     gconstpointer  data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  g_autoptr(GVariant) deny_before = lrd_helper1_dup_deny_list (proxy);
  GtkWindow *refusal;
  GtkWidget *preferences;
  GtkWidget *row;
  guint32 uid = 0;

  /* The bus does see nobody. */
  {
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync (
      fixture->app_bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "GetConnectionUnixUser",
      g_variant_new ("(s)", g_dbus_connection_get_unique_name (fixture->app_bus)),
      G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);

    g_assert_nonnull (reply);
    g_variant_get (reply, "(u)", &uid);
    g_assert_cmpuint (uid, ==, getpwnam ("nobody")->pw_uid);
  }

  create_party (fixture, "Not mine", "nina");
  refusal = lr_test_ui_wait_window (ADW_TYPE_MESSAGE_DIALOG, "Not Allowed");
  lr_test_ui_wait_label (GTK_WIDGET (refusal),
                         "Your account is not allowed to change the party network on this "
                         "computer. Ask whoever looks after it to let you, or sign in as an "
                         "administrator.");
  lr_test_ui_screenshot (GTK_WIDGET (refusal), "error-not-allowed");
  lr_test_ui_click (lr_test_ui_find_button (GTK_WIDGET (refusal), "OK"));
  lr_test_ui_wait_button (fixture->window, "Create Party");
  g_assert_cmpstr (lrd_helper1_get_state (proxy), ==, "idle");

  /* A LAN discovery setting: refused too, and the switch goes back. */
  activate_remote_action (fixture, "preferences", NULL);
  preferences = GTK_WIDGET (lr_test_ui_wait_window (LANRAGE_TYPE_PREFERENCES_WINDOW, NULL));
  lr_test_ui_click (gtk_widget_get_ancestor (lr_test_ui_wait_label (preferences, "LAN Games"),
                                             GTK_TYPE_BUTTON));
  row = gtk_widget_get_ancestor (lr_test_ui_wait_label (preferences, "Only Known Games"),
                                 ADW_TYPE_ACTION_ROW);
  lr_test_ui_click (row);
  refusal = lr_test_ui_wait_window (ADW_TYPE_MESSAGE_DIALOG, "Not Allowed");
  lr_test_ui_click (lr_test_ui_find_button (GTK_WIDGET (refusal), "OK"));
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (lr_test_ui_find_type (row,
                                                                          GTK_TYPE_SWITCH))));
  g_assert_false (lrd_helper1_get_known_titles_only (proxy));
  /* LAN game discovery too: the switch goes back on, and the page stays editable. */
  row = gtk_widget_get_ancestor (lr_test_ui_wait_label (preferences, "LAN Game Discovery"),
                                 ADW_TYPE_ACTION_ROW);
  lr_test_ui_click (row);
  refusal = lr_test_ui_wait_window (ADW_TYPE_MESSAGE_DIALOG, "Not Allowed");
  lr_test_ui_click (lr_test_ui_find_button (GTK_WIDGET (refusal), "OK"));
  wait_switch_active (row, TRUE);
  g_assert_true (lrd_helper1_get_lan_discovery (proxy));
  g_assert_true (gtk_widget_is_sensitive (
    gtk_widget_get_ancestor (lr_test_ui_wait_label (preferences, "Only Known Games"),
                             ADW_TYPE_ACTION_ROW)));
  {
    g_autoptr(GVariant) deny_after = lrd_helper1_dup_deny_list (proxy);

    g_assert_true (g_variant_equal (deny_before, deny_after));
  }
}

/* An invite link from a chat: the desktop hands it to the app (org.gtk.Application.Open),
 * which offers to join with the code filled in; app.join-party does the same for scripts. */
static void
test_invite_link (UiFixture     *fixture,
                  gconstpointer  data)
{
  g_autoptr(LrTestHelper) host = start_second_helper (fixture);
  const char *create_argv[] = { "--name", "gina", "--json", "create", "Linked", NULL };
  g_autofree char *out = ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, create_argv);
  g_autoptr(JsonNode) status = lr_test_json_parse (out);
  const char *code = lr_test_json_string (status, "InviteCode");
  g_autofree char *link = g_strdup_printf ("lanrage://join/%s", code);
  const char *uris[] = { link, NULL };
  g_autofree char *hint = g_strdup_printf ("Invite code %s", code);
  GtkWidget *dialog;

  lr_test_ui_wait_button (fixture->window, "Create Party");
  /* Asynchronous: the app answers from this very main loop. */
  g_dbus_connection_call (fixture->desktop,
                          g_application_get_application_id (G_APPLICATION (fixture->app)),
                          g_application_get_dbus_object_path (G_APPLICATION (fixture->app)),
                          "org.gtk.Application", "Open",
                          g_variant_new ("(^ass@a{sv})", uris, "",
                                         g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0)),
                          NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
  dialog = GTK_WIDGET (lr_test_ui_wait_window (LANRAGE_TYPE_JOIN_DIALOG, NULL));
  lr_test_ui_wait_label (dialog, hint);
  gtk_window_destroy (GTK_WINDOW (dialog));
  lr_test_ui_run_for (50);

  activate_remote_action (fixture, "join-party", g_variant_new_string (code));
  dialog = GTK_WIDGET (lr_test_ui_wait_window (LANRAGE_TYPE_JOIN_DIALOG, NULL));
  lr_test_ui_wait_label (dialog, hint);
  lr_test_ui_click (lr_test_ui_find_button (dialog, "Join"));
  wait_helper_state (fixture->helper, "connected");
  lr_test_ui_wait_label (fixture->window, "gina");
  /* Whoever was there before us did not just join: no toast, no notification. */
  lr_test_ui_run_for (300);
  g_assert_null (lr_test_ui_find_label (fixture->window, "gina joined the party"));
  for (guint i = 0; i < fixture->notifications->len; i++)
    g_assert_cmpstr (fixture->notifications->pdata[i], !=, "gina joined the party");
}

/* A link that starts the app: it comes before the app knows whether the helper runs (its
 * helper client is still starting), and the join dialog opens once it does, with the code
 * filled in; not a "leave this party first". */
static void
test_invite_link_cold_start (UiFixture     *fixture,
                             gconstpointer  data)
{
  g_autofree char *code = lr_invite_code_generate ();
  g_autofree char *link = g_strdup_printf ("lanrage://join/%s", code);
  g_autofree char *hint = g_strdup_printf ("Invite code %s", code);
  g_autoptr(GFile) file = g_file_new_for_uri (link);
  GtkWidget *dialog;

  /* Nothing has run the main loop since the app started. */
  g_assert_cmpint (lanrage_helper_client_get_status (fixture->client), ==,
                   LANRAGE_HELPER_STATUS_STARTING);
  g_application_open (G_APPLICATION (fixture->app), &file, 1, "");

  dialog = GTK_WIDGET (lr_test_ui_wait_window (LANRAGE_TYPE_JOIN_DIALOG, NULL));
  lr_test_ui_wait_label (dialog, hint);
  g_assert_null (lr_test_ui_find_label (fixture->window,
                                        "Leave this party before you join another"));
}

/* Create Party asked for while the helper does not run (a desktop action, a script): the
 * window says the helper is missing, and offers to create once the helper runs. */
static void
test_offer_waits_for_helper (UiFixture     *fixture,
                             gconstpointer  data)
{
  lr_test_ui_wait_label (fixture->window, "The LANrage Helper Is Not Running");
  activate_remote_action (fixture, "create-party", NULL);
  lr_test_ui_run_for (300);
  g_assert_null (lr_test_ui_find_window (LANRAGE_TYPE_CREATE_DIALOG, NULL));
  g_assert_null (lr_test_ui_find_label (fixture->window,
                                        "Leave this party before you create another"));

  lr_test_helper_start (fixture->helper);
  lr_test_ui_wait_window (LANRAGE_TYPE_CREATE_DIALOG, NULL);
  lr_test_ui_wait_button (fixture->window, "Create Party");
}

static void
subprocess_exited_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* The desktop file's Create Party action for a launcher that runs its Exec line (no D-Bus
 * activation): "lanrage --create-party" reaches the running app, which offers to create.
 * The test's app stands in for the running one under the real app ID on the desktop's
 * bus (its own ID is a test one, see fixture_setup). */
static void
test_desktop_action (UiFixture     *fixture,
                     gconstpointer  data)
{
  g_autoptr(GKeyFile) desktop_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *exec = NULL;
  g_auto(GStrv) exec_argv = NULL;
  g_autoptr(GSubprocess) app = NULL;
  g_autofree char *session_env = g_strconcat ("DBUS_SESSION_BUS_ADDRESS=",
                                              g_test_dbus_get_bus_address (session_bus), NULL);
  const char *env[] = { session_env, NULL };
  const char *argv[] = { g_getenv ("LANRAGE_APP"), NULL, NULL };
  gboolean exited = FALSE;
  guint export_id, owner_id;

  g_assert_nonnull (argv[0]);
  g_assert_nonnull (g_getenv ("LANRAGE_DESKTOP_FILE"));
  g_key_file_load_from_file (desktop_file, g_getenv ("LANRAGE_DESKTOP_FILE"),
                             G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  exec = g_key_file_get_string (desktop_file, "Desktop Action create-party", "Exec", &error);
  g_assert_no_error (error);
  g_assert_true (g_shell_parse_argv (exec, NULL, &exec_argv, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (exec_argv), ==, 2);
  g_assert_cmpstr (exec_argv[0], ==, "lanrage");
  argv[1] = exec_argv[1];

  lr_test_ui_wait_button (fixture->window, "Create Party");
  export_id = g_dbus_connection_export_action_group (fixture->desktop, "/io/lanrage/LANrage",
                                                     G_ACTION_GROUP (fixture->app), &error);
  g_assert_no_error (error);
  owner_id = g_bus_own_name_on_connection (fixture->desktop, "io.lanrage.LANrage",
                                           G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL, NULL);
  g_dbus_connection_flush_sync (fixture->desktop, NULL, NULL);
  lr_test_ui_run_for (100);

  app = lr_test_spawn_as (NULL, env, argv, NULL, G_SUBPROCESS_FLAGS_NONE);
  lr_test_ui_wait_window (LANRAGE_TYPE_CREATE_DIALOG, NULL);
  /* It handed the action over and left. */
  g_subprocess_wait_async (app, NULL, subprocess_exited_cb, &exited);
  g_assert_true (lr_test_wait_for (is_true, &exited, LR_TEST_UI_TIMEOUT_MS));
  g_assert_true (g_subprocess_get_successful (app));

  g_bus_unown_name (owner_id);
  g_dbus_connection_unexport_action_group (fixture->desktop, export_id);
}

static gboolean
has_summary (gpointer data)
{
  gpointer *args = data;
  GPtrArray *summaries = args[0];

  for (guint i = 0; i < summaries->len; i++)
    if (g_str_equal (summaries->pdata[i], args[1]))
      return TRUE;
  return FALSE;
}

/* Closed, the window hides and the app runs on in the background, where a friend joining
 * and leaving come as desktop notifications; app.show brings the window back. */
static void
test_background_notifications (UiFixture     *fixture,
                               gconstpointer  data)
{
  GPtrArray *summaries = fixture->notifications;
  g_autoptr(LrTestHelper) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;
  const char *join_argv[] = { "--name", "hank", "join", NULL, NULL };
  const char *leave_argv[] = { "leave", NULL };
  gpointer joined[] = { summaries, (gpointer) "hank joined the party" };
  gpointer left[] = { summaries, (gpointer) "hank left the party" };

  create_party (fixture, "In the background", "ivan");
  wait_helper_state (fixture->helper, "connected");
  code = lrd_helper1_dup_invite_code (lr_test_helper_get_proxy (fixture->helper));

  gtk_window_close (GTK_WINDOW (fixture->window));
  lr_test_ui_run_for (100);
  g_assert_false (gtk_widget_get_visible (fixture->window));

  /* Later than the 1.5 s in which new members count as already there. */
  lr_test_ui_run_for (1600);
  second = start_second_helper (fixture);
  join_argv[3] = code;
  g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, join_argv));
  g_assert_true (lr_test_wait_for (has_summary, joined, LR_TEST_UI_TIMEOUT_MS));
  g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, leave_argv));
  g_assert_true (lr_test_wait_for (has_summary, left, LR_TEST_UI_TIMEOUT_MS));

  activate_remote_action (fixture, "show", NULL);
  lr_test_ui_run_for (200);
  g_assert_true (gtk_widget_get_visible (fixture->window));
  lr_test_ui_wait_label (fixture->window, "In the background");
}

static gboolean
has_summary_suffix (GPtrArray  *summaries,
                    const char *suffix)
{
  for (guint i = 0; i < summaries->len; i++)
    if (g_str_has_suffix (summaries->pdata[i], suffix))
      return TRUE;
  return FALSE;
}

/* The party is closed behind the app's back: the helper removes its members, then goes
 * idle with LastError. Only the end of the party is news, not each member leaving: one
 * notification while the window is away, one toast once it is back. */
static void
test_party_lost (UiFixture     *fixture,
                 gconstpointer  data)
{
  GPtrArray *summaries = fixture->notifications;
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "Theirs", "hostess");
  g_autoptr(LrTestHelper) second = NULL;
  g_autoptr(LrTestResponse) response = NULL;
  g_autofree char *path = NULL;
  const char *join_argv[] = { "--name", "gina", "join", host->invite_code, NULL };
  gpointer over[] = { summaries, (gpointer) "The party is over" };
  GtkWidget *dialog;
  gint64 deadline;

  activate_remote_action (fixture, "join-party", g_variant_new_string (host->invite_code));
  dialog = GTK_WIDGET (lr_test_ui_wait_window (LANRAGE_TYPE_JOIN_DIALOG, NULL));
  fill_entry (dialog, "Your Name", "ivan");
  lr_test_ui_click (lr_test_ui_find_button (dialog, "Join"));
  wait_helper_state (fixture->helper, "connected");
  second = start_second_helper (fixture);
  g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, join_argv));
  lr_test_ui_wait_label (fixture->window, "gina");
  lr_test_ui_wait_label (fixture->window, "hostess");

  gtk_window_close (GTK_WINDOW (fixture->window));
  lr_test_ui_run_for (100);
  g_assert_false (gtk_widget_get_visible (fixture->window));
  path = lr_test_party_path (host, "");
  response = lr_test_request (fixture->server, "DELETE", path, host->token, NULL);
  lr_test_assert_status (response, 204);
  wait_helper_state (fixture->helper, "idle");
  g_assert_true (lr_test_wait_for (has_summary, over, LR_TEST_UI_TIMEOUT_MS));
  /* Longer than the app waits before it announces a member who left. */
  lr_test_ui_run_for (1000);
  g_assert_false (has_summary_suffix (summaries, "left the party"));

  activate_remote_action (fixture, "show", NULL);
  deadline = g_get_monotonic_time () + LR_TEST_UI_TIMEOUT_MS * 1000;
  while (lr_test_ui_find_label (fixture->window, "The party was closed.") == NULL)
    {
      g_assert_null (lr_test_ui_find_label_suffix (fixture->window, "left the party"));
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      lr_test_ui_run_for (20);
    }
  lr_test_ui_wait_button (fixture->window, "Create Party");
}

/* The helper goes away mid-party (stopped, crashed, updated): the party network went with
 * it, and a person who does not look at the window is told. */
static void
test_helper_stops (UiFixture     *fixture,
                   gconstpointer  data)
{
  gpointer stopped[] = { fixture->notifications, (gpointer) "LANrage’s helper stopped" };

  create_party (fixture, "Short", "ivan");
  wait_helper_state (fixture->helper, "connected");
  lr_test_ui_wait_label (fixture->window, "Short");
  gtk_window_close (GTK_WINDOW (fixture->window));
  lr_test_ui_run_for (100);

  lr_test_helper_stop (fixture->helper);
  g_assert_true (lr_test_wait_for (has_summary, stopped, LR_TEST_UI_TIMEOUT_MS));
  g_assert_cmpuint (fixture->notifications->len, ==, 1);
}

/* Calls a method of the app from the desktop's connection and waits for the answer while
 * the main loop runs (the app answers from this very loop). */
static void
call_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GVariant **reply = user_data;
  g_autoptr(GError) error = NULL;

  *reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_assert_no_error (error);
}

static GVariant *
call_app (UiFixture  *fixture,
          const char *bus_name,
          const char *path,
          const char *interface,
          const char *method,
          GVariant   *parameters)
{
  GVariant *reply = NULL;
  gint64 deadline = g_get_monotonic_time () + LR_TEST_UI_TIMEOUT_MS * 1000;

  g_dbus_connection_call (fixture->desktop, bus_name, path, interface, method, parameters, NULL,
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, call_done_cb, &reply);
  while (reply == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      lr_test_ui_run_for (5);
    }
  return reply;
}

/* A tray host's side: org.kde.StatusNotifierWatcher, standing in for the desktop's (GNOME
 * with the AppIndicator extension, KDE, waybar...). It records who registers. */
static const char watcher_xml[] =
  "<node><interface name='org.kde.StatusNotifierWatcher'>"
  "<method name='RegisterStatusNotifierItem'><arg type='s' direction='in'/></method>"
  "<method name='RegisterStatusNotifierHost'><arg type='s' direction='in'/></method>"
  "<property name='IsStatusNotifierHostRegistered' type='b' access='read'/>"
  "<property name='RegisteredStatusNotifierItems' type='as' access='read'/>"
  "<property name='ProtocolVersion' type='i' access='read'/>"
  "</interface></node>";

static gboolean
has_items (gpointer data)
{
  return ((GPtrArray *) data)->len > 0;
}

static void
watcher_method_cb (GDBusConnection       *connection,
                   const char            *sender,
                   const char            *path,
                   const char            *interface,
                   const char            *method,
                   GVariant              *parameters,
                   GDBusMethodInvocation *invocation,
                   gpointer               user_data)
{
  UiFixture *fixture = user_data;

  if (g_str_equal (method, "RegisterStatusNotifierItem"))
    {
      const char *service = NULL;

      /* An object path means: that object, on the caller's connection. */
      g_variant_get (parameters, "(&s)", &service);
      g_assert_cmpstr (service, ==, "/StatusNotifierItem");
      g_ptr_array_add (fixture->tray_items, g_strdup (sender));
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static GVariant *
watcher_property_cb (GDBusConnection  *connection,
                     const char       *sender,
                     const char       *path,
                     const char       *interface,
                     const char       *property,
                     GError          **error,
                     gpointer          user_data)
{
  UiFixture *fixture = user_data;

  if (g_str_equal (property, "IsStatusNotifierHostRegistered"))
    return g_variant_new_boolean (fixture->tray_host);
  if (g_str_equal (property, "ProtocolVersion"))
    return g_variant_new_int32 (0);
  return g_variant_new_strv ((const char * const *) fixture->tray_items->pdata,
                             fixture->tray_items->len);
}

static gboolean
tray_shown_is (gpointer data)
{
  UiFixture *fixture = data;
  LanrageTray *tray = lanrage_application_get_tray (fixture->app);

  return tray != NULL && lanrage_tray_is_shown (tray) == fixture->tray_host;
}

/* Starts the stand-in watcher, with a host or without, and waits until the app knows. */
static void
start_watcher (UiFixture *fixture,
               gboolean   host)
{
  static const GDBusInterfaceVTable vtable = { watcher_method_cb, watcher_property_cb, NULL,
                                               { 0 } };
  g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (watcher_xml, NULL);
  g_autoptr(GError) error = NULL;

  fixture->tray_items = g_ptr_array_new_with_free_func (g_free);
  fixture->tray_host = host;
  fixture->watcher_object =
    g_dbus_connection_register_object (fixture->desktop, "/StatusNotifierWatcher",
                                       node->interfaces[0], &vtable, fixture, NULL, &error);
  g_assert_no_error (error);
  fixture->watcher_owner =
    g_bus_own_name_on_connection (fixture->desktop, "org.kde.StatusNotifierWatcher",
                                  G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL, NULL);
  g_assert_true (lr_test_wait_for (has_items, fixture->tray_items, LR_TEST_UI_TIMEOUT_MS));
  g_assert_true (lr_test_wait_for (tray_shown_is, fixture, LR_TEST_UI_TIMEOUT_MS));
}

/* A panel that shows items comes or goes, as the watcher announces it. */
static void
set_tray_host (UiFixture *fixture,
               gboolean   host)
{
  g_autoptr(GError) error = NULL;

  fixture->tray_host = host;
  g_dbus_connection_emit_signal (fixture->desktop, NULL, "/StatusNotifierWatcher",
                                 "org.kde.StatusNotifierWatcher",
                                 host ? "StatusNotifierHostRegistered"
                                      : "StatusNotifierHostUnregistered",
                                 NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lr_test_wait_for (tray_shown_is, fixture, LR_TEST_UI_TIMEOUT_MS));
}

static void
stop_watcher (UiFixture *fixture)
{
  if (fixture->tray_items == NULL)
    return;
  g_bus_unown_name (fixture->watcher_owner);
  g_dbus_connection_unregister_object (fixture->desktop, fixture->watcher_object);
  g_clear_pointer (&fixture->tray_items, g_ptr_array_unref);
}


static GVariant *
tray_property (UiFixture  *fixture,
               const char *service,
               const char *name)
{
  g_autoptr(GVariant) reply = call_app (fixture, service, "/StatusNotifierItem",
                                        "org.freedesktop.DBus.Properties", "Get",
                                        g_variant_new ("(ss)", "org.kde.StatusNotifierItem",
                                                       name));
  GVariant *value = NULL;

  g_variant_get (reply, "(v)", &value);
  return value;
}

/* Walks a dbusmenu layout ((ia{sv}av)) for the item labelled @label, or the first whose
 * label starts with @label when @prefix: its label, and its id in @out_id; NULL when none. */
static char *
find_menu_item (GVariant   *layout,
                const char *label,
                gboolean    prefix,
                int        *out_id)
{
  g_autoptr(GVariant) properties = g_variant_get_child_value (layout, 1);
  g_autoptr(GVariant) children = g_variant_get_child_value (layout, 2);
  const char *item_label = NULL;

  if (g_variant_lookup (properties, "label", "&s", &item_label) &&
      (prefix ? g_str_has_prefix (item_label, label) : g_str_equal (item_label, label)))
    {
      if (out_id != NULL)
        g_variant_get_child (layout, 0, "i", out_id);
      return g_strdup (item_label);
    }
  for (gsize i = 0; i < g_variant_n_children (children); i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (children, i);
      g_autoptr(GVariant) child = g_variant_get_variant (boxed);
      char *found = find_menu_item (child, label, prefix, out_id);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GVariant *
get_menu_layout (UiFixture  *fixture,
                 const char *service)
{
  const char *no_properties[] = { NULL };
  g_autoptr(GVariant) reply = call_app (fixture, service, "/MenuBar", "com.canonical.dbusmenu",
                                        "GetLayout",
                                        g_variant_new ("(ii^as)", 0, -1, no_properties));

  return g_variant_get_child_value (reply, 1);
}

/* Waits for the item starting with @prefix to end with @suffix (a player's item: name,
 * latency, and the path last). */
static void
wait_menu_label (UiFixture  *fixture,
                 const char *service,
                 const char *prefix,
                 const char *suffix)
{
  gint64 deadline = g_get_monotonic_time () + LR_TEST_UI_TIMEOUT_MS * 1000;

  for (;;)
    {
      g_autoptr(GVariant) layout = get_menu_layout (fixture, service);
      g_autofree char *label = find_menu_item (layout, prefix, TRUE, NULL);

      if (label != NULL && g_str_has_suffix (label, suffix))
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("The tray's item “%s” does not end in “%s”", label, suffix);
      lr_test_ui_run_for (50);
    }
}

static int
wait_menu_item (UiFixture  *fixture,
                const char *service,
                const char *label,
                gboolean    prefix)
{
  gint64 deadline = g_get_monotonic_time () + LR_TEST_UI_TIMEOUT_MS * 1000;

  for (;;)
    {
      g_autoptr(GVariant) layout = get_menu_layout (fixture, service);
      g_autofree char *found = NULL;
      int id = -1;

      found = find_menu_item (layout, label, prefix, &id);
      if (found != NULL)
        return id;
      if (g_get_monotonic_time () > deadline)
        g_error ("The tray menu has no item “%s”", label);
      lr_test_ui_run_for (50);
    }
}

static void
wait_tray_string (UiFixture  *fixture,
                  const char *service,
                  const char *property,
                  const char *expected)
{
  gint64 deadline = g_get_monotonic_time () + LR_TEST_UI_TIMEOUT_MS * 1000;

  for (;;)
    {
      g_autoptr(GVariant) value = tray_property (fixture, service, property);
      const char *text;

      /* The tooltip is (icon, pixmaps, title, text): compare its text. */
      if (g_variant_is_of_type (value, G_VARIANT_TYPE ("(sa(iiay)ss)")))
        g_variant_get_child (value, 3, "&s", &text);
      else
        text = g_variant_get_string (value, NULL);
      if (g_str_equal (text, expected))
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("The tray's %s is “%s”, not “%s”", property, text, expected);
      lr_test_ui_run_for (50);
    }
}

/* The tray icon against a stand-in watcher: it registers, says the state in its icon and
 * tooltip, lists the players with latency and path in its menu, and its Leave works. */
static void
test_tray (UiFixture     *fixture,
           gconstpointer  data)
{
  g_autoptr(LrTestHelper) second = NULL;
  g_autoptr(GVariant) menu_path = NULL;
  g_autofree char *code = NULL;
  const char *join_argv[] = { "--name", "bob_42", "join", NULL, NULL };
  const char *service;
  GtkWindow *confirm;
  int leave_id;

  service = fixture->tray_items->pdata[0];
  g_assert_true (g_str_equal (service, g_dbus_connection_get_unique_name (
                                g_application_get_dbus_connection (G_APPLICATION (fixture->app)))));

  menu_path = tray_property (fixture, service, "Menu");
  g_assert_cmpstr (g_variant_get_string (menu_path, NULL), ==, "/MenuBar");
  wait_tray_string (fixture, service, "IconName", "network-vpn-disconnected-symbolic");
  wait_tray_string (fixture, service, "ToolTip", "Not in a party");
  wait_menu_item (fixture, service, "Create Party", FALSE);

  create_party (fixture, "Tray party", "alice");
  wait_helper_state (fixture->helper, "connected");
  code = lrd_helper1_dup_invite_code (lr_test_helper_get_proxy (fixture->helper));
  wait_tray_string (fixture, service, "ToolTip", "Tray party · 1 player");
  wait_menu_item (fixture, service, "Nobody else yet", FALSE);

  second = start_second_helper (fixture);
  join_argv[3] = code;
  g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, join_argv));
  wait_tray_string (fixture, service, "ToolTip", "Tray party · 2 players");
  /* A player's item: name, latency, path. Two helpers on one machine go direct a moment
   * after joining; then the icon says every link is direct. The underscore in the name is
   * doubled, so the tray host shows it instead of taking it for an access key. */
  wait_menu_item (fixture, service, "bob__42 — ", TRUE);
  wait_menu_label (fixture, service, "bob__42 — ", ", Direct");
  wait_tray_string (fixture, service, "IconName", "network-vpn-symbolic");

  /* Leave, from the menu: the window asks first, as from its own button. */
  leave_id = wait_menu_item (fixture, service, "Leave Party", FALSE);
  g_variant_unref (call_app (fixture, service, "/MenuBar", "com.canonical.dbusmenu", "Event",
                             g_variant_new ("(isvu)", leave_id, "clicked",
                                            g_variant_new_int32 (0), 0)));
  confirm = lr_test_ui_wait_window (ADW_TYPE_MESSAGE_DIALOG, "Leave the Party?");
  lr_test_ui_click (lr_test_ui_find_button (GTK_WIDGET (confirm), "Leave"));
  wait_helper_state (fixture->helper, "idle");
  wait_tray_string (fixture, service, "ToolTip", "Not in a party");
  wait_menu_item (fixture, service, "Create Party", FALSE);
}

static gboolean
no_windows (gpointer data)
{
  return gtk_application_get_windows (data) == NULL;
}

/* Closes the window; it quits the app, as no panel would show the tray icon to bring it
 * back (for a g_application_run () app, the last window going is the end). Then the app
 * is started again, as the person would, for the next step. */
static void
close_quits (UiFixture *fixture)
{
  gtk_window_close (GTK_WINDOW (fixture->window));
  g_assert_true (lr_test_wait_for (no_windows, fixture->app, LR_TEST_UI_TIMEOUT_MS));
  activate_remote_action (fixture, "show", NULL);
  lr_test_ui_wait_window (LANRAGE_TYPE_WINDOW, NULL);
  fixture->window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (fixture->app)));
  g_assert_true (LANRAGE_IS_WINDOW (fixture->window));
}

/* Closing the window hides it into the tray only where a panel shows tray icons: without
 * a watcher (stock GNOME), or a watcher with no host, closing it quits. */
static void
test_close_without_tray_host (UiFixture     *fixture,
                              gconstpointer  data)
{
  lr_test_ui_wait_button (fixture->window, "Create Party");
  close_quits (fixture);

  start_watcher (fixture, TRUE);
  gtk_window_close (GTK_WINDOW (fixture->window));
  lr_test_ui_run_for (100);
  g_assert_false (gtk_widget_get_visible (fixture->window));
  g_assert_true (gtk_application_get_windows (GTK_APPLICATION (fixture->app)) != NULL);
  activate_remote_action (fixture, "show", NULL);
  lr_test_ui_wait_button (fixture->window, "Create Party");

  /* The panel goes (its extension switched off): the watcher stays, without a host. */
  set_tray_host (fixture, FALSE);
  close_quits (fixture);
}

static gboolean
is_folded (gpointer data)
{
  AdwLeaflet *leaflet = ADW_LEAFLET (lr_test_ui_find_type (data, ADW_TYPE_LEAFLET));

  return leaflet != NULL && adw_leaflet_get_folded (leaflet);
}

/* At phone width the party page shows the players or one player's details, with a back
 * button between them. */
static void
test_narrow (UiFixture     *fixture,
             gconstpointer  data)
{
  g_autoptr(LrTestHelper) second = NULL;
  g_autofree char *code = NULL;
  const char *join_argv[] = { "--name", "bob", "join", NULL, NULL };
  GtkWidget *row;
  GtkWidget *back;

  lr_test_ui_screenshot (fixture->window, "narrow-idle");
  create_party (fixture, "Pocket party", "alice");
  wait_helper_state (fixture->helper, "connected");
  code = lrd_helper1_dup_invite_code (lr_test_helper_get_proxy (fixture->helper));
  second = start_second_helper (fixture);
  join_argv[3] = code;
  g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, join_argv));

  row = gtk_widget_get_ancestor (lr_test_ui_wait_label (fixture->window, "bob"),
                                 GTK_TYPE_LIST_BOX_ROW);
  g_assert_true (lr_test_wait_for (is_folded, fixture->window, LR_TEST_UI_TIMEOUT_MS));
  /* Folded: the details are not beside the list. */
  g_assert_null (lr_test_ui_find_label (fixture->window, "No Player Selected"));
  g_assert_null (lr_test_ui_find_button_by_tooltip (fixture->window, "Back to the Players"));
  wait_path_label (row);
  lr_test_ui_screenshot (fixture->window, "narrow-party");

  lr_test_ui_click (row);
  lr_test_ui_wait_label (fixture->window, "Path History");
  back = lr_test_ui_find_button_by_tooltip (fixture->window, "Back to the Players");
  g_assert_nonnull (back);
  lr_test_ui_screenshot (fixture->window, "narrow-details");
  lr_test_ui_click (back);
  lr_test_ui_wait_button (fixture->window, "Leave Party");
  lr_test_ui_wait_gone (fixture->window, "Path History");
}

/* Figures of the real binary (README): time to the first frame, memory and CPU in a party
 * of eight whose links are measured every second, and wakeups while idle. */

typedef struct
{
  guint64 cpu_ticks;        /* utime + stime */
  guint64 wakeups;          /* voluntary context switches: the process went to sleep */
  guint64 rss_kb;
  guint64 rss_anon_kb;      /* of which the process's own (not pages of shared files) */
} ProcessSample;

static void
sample_process (GPid           pid,
                ProcessSample *sample)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *status_path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *stat = NULL;
  g_autofree char *status = NULL;
  g_auto(GStrv) fields = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents (stat_path, &stat, NULL, NULL));
  g_assert_true (g_file_get_contents (status_path, &status, NULL, NULL));
  /* After the command name in parentheses: field 14 and 15 of stat(5) are utime and
   * stime, the 12th and 13th after ")". */
  fields = g_strsplit (strrchr (stat, ')') + 2, " ", -1);
  sample->cpu_ticks = g_ascii_strtoull (fields[11], NULL, 10) +
                      g_ascii_strtoull (fields[12], NULL, 10);
  lines = g_strsplit (status, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "VmRSS:"))
        sample->rss_kb = g_ascii_strtoull (lines[i] + 6, NULL, 10);
      else if (g_str_has_prefix (lines[i], "RssAnon:"))
        sample->rss_anon_kb = g_ascii_strtoull (lines[i] + 8, NULL, 10);
      else if (g_str_has_prefix (lines[i], "voluntary_ctxt_switches:"))
        sample->wakeups = g_ascii_strtoull (lines[i] + 24, NULL, 10);
    }
}

static void
count_change_cb (GObject     *object,
                 GParamSpec  *pspec,
                 guint       *changes)
{
  (*changes)++;
}

/* A wait for the app to start, not a limit on how fast it does: under AddressSanitizer on
 * two cores that other builds share, the real binary took more than 15 s. */
#define FIRST_FRAME_TIMEOUT_MS 60000

/* How long the real app took to its first frame, by its log: from the making of its
 * application object (its own figure), and from @spawned_us, when the test started the
 * process (which includes loading GTK and its libraries). */
static void
read_first_frame (const char *log_path,
                  gint64      spawned_us,
                  double     *out_from_app_ms,
                  double     *out_from_spawn_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) FIRST_FRAME_TIMEOUT_MS * 1000;

  for (;;)
    {
      g_autofree char *log = NULL;
      const char *line;
      const char *clock;

      if (g_file_get_contents (log_path, &log, NULL, NULL) &&
          (line = strstr (log, "First frame ")) != NULL &&
          (clock = strstr (line, "monotonic clock ")) != NULL)
        {
          *out_from_app_ms = g_ascii_strtod (line + strlen ("First frame "), NULL);
          *out_from_spawn_ms = (g_ascii_strtoll (clock + strlen ("monotonic clock "), NULL, 10) -
                                spawned_us) / 1000.0;
          return;
        }
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      lr_test_ui_run_for (20);
    }
}

/* Starts the real binary on the test's buses and display, beside the test's own app, with
 * @arg (or none); with @out_first_frame_ms, waits for its first frame and says how long
 * it took from the spawn (and in @out_app_frame_ms, from its application object). */
static GSubprocess *
spawn_real_app (UiFixture  *fixture,
                const char *extra_env,
                const char *arg,
                double     *out_first_frame_ms,
                double     *out_app_frame_ms)
{
  g_autofree char *log_path = NULL;
  g_autofree char *system_env = g_strconcat ("DBUS_SYSTEM_BUS_ADDRESS=",
                                             lr_test_bus_get_address (fixture->bus), NULL);
  g_autofree char *session_env = g_strconcat ("DBUS_SESSION_BUS_ADDRESS=",
                                              g_test_dbus_get_bus_address (session_bus), NULL);
  const char *env[] = { system_env, session_env, "G_MESSAGES_DEBUG=lanrage-app", extra_env,
                        NULL };
  const char *argv[] = { g_getenv ("LANRAGE_APP"), arg, NULL };
  static guint n_spawned;
  GSubprocess *app;
  gint64 spawned_us;
  double app_frame_ms;

  g_assert_nonnull (argv[0]);
  n_spawned++;
  log_path = g_strdup_printf ("%s/lanrage-%u.log", lr_test_bus_get_tmpdir (fixture->bus),
                              n_spawned);
  spawned_us = g_get_monotonic_time ();
  app = lr_test_spawn_as (NULL, env, argv, log_path, G_SUBPROCESS_FLAGS_NONE);
  if (out_first_frame_ms != NULL)
    read_first_frame (log_path, spawned_us,
                      out_app_frame_ms != NULL ? out_app_frame_ms : &app_frame_ms,
                      out_first_frame_ms);
  return app;
}

static void
stop_real_app (GSubprocess *app)
{
  g_subprocess_send_signal (app, SIGTERM);
  g_subprocess_wait (app, NULL, NULL);
}

/* The real app with nothing going on sleeps: no animation or timer of its own wakes it
 * (a hidden spinner once kept GTK drawing 300 times a second). */
static void
test_idle_asleep (UiFixture     *fixture,
                  gconstpointer  data)
{
  g_autoptr(GSubprocess) app = NULL;
  ProcessSample before, after;
  double first_frame_ms;
  GPid pid;

  app = spawn_real_app (fixture, NULL, NULL, &first_frame_ms, NULL);
  pid = atoi (g_subprocess_get_identifier (app));
  lr_test_ui_run_for (2000);
  sample_process (pid, &before);
  lr_test_ui_run_for (5000);
  sample_process (pid, &after);
  g_test_message ("Idle for 5 s: %" G_GUINT64_FORMAT " wakeups, %" G_GUINT64_FORMAT
                  " CPU ticks", after.wakeups - before.wakeups,
                  after.cpu_ticks - before.cpu_ticks);
  g_assert_cmpuint (after.wakeups - before.wakeups, <=, 10);
  stop_real_app (app);
}

static gboolean
peers_measured (gpointer data)
{
  GListModel *peers = lanrage_helper_client_get_peers (data);

  if (g_list_model_get_n_items (peers) == 0)
    return FALSE;
  for (guint i = 0; i < g_list_model_get_n_items (peers); i++)
    {
      g_autoptr(LanragePeer) peer = g_list_model_get_item (peers, i);

      if (g_str_equal (lanrage_peer_get_path (peer), "connecting") ||
          lanrage_peer_get_latency_ms (peer) < 0)
        return FALSE;
    }
  return TRUE;
}

/* The real app in a party, as a screen reader sees it (AT-SPI, through pyatspi): every
 * control it shows has a name, and the code, the players and their paths, and the (empty)
 * games are read. */
/* Runs tests/app-a11y.py on the real app: every control named, and each of @texts read. */
static void
run_reader (const char         *script,
            const char * const *texts)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  g_ptr_array_add (argv, (gpointer) "/usr/bin/python3");
  g_ptr_array_add (argv, (gpointer) script);
  g_ptr_array_add (argv, (gpointer) "lanrage");
  for (guint i = 0; texts[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) texts[i]);
  g_ptr_array_add (argv, NULL);
  reader = g_subprocess_newv ((const char * const *) argv->pdata,
                              G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                              &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (reader, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("%s", out);
  g_assert_true (g_subprocess_get_if_exited (reader));
  g_assert_cmpint (g_subprocess_get_exit_status (reader), ==, 0);
}

static void
test_accessible (UiFixture     *fixture,
                 gconstpointer  data)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "app-a11y.py", NULL);
  g_autoptr(LrTestHelper) second = NULL;
  g_autoptr(GSubprocess) app = NULL;
  g_autofree char *out = NULL;
  g_autofree char *code = NULL;
  const char *create_argv[] = { "--name", "alice", "--json", "create", "Heard party", NULL };
  const char *path_words;
  g_autoptr(JsonNode) status = NULL;
  const char *join_argv[] = { "--name", "bob", "join", NULL, NULL };
  double first_frame_ms;

  /* Debian's python3, the one python3-pyatspi installs into (not one on a PATH of its
   * own). */
  if (!g_file_test ("/usr/libexec/at-spi-bus-launcher", G_FILE_TEST_IS_EXECUTABLE) ||
      !g_file_test ("/usr/lib/python3/dist-packages/pyatspi", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("needs at-spi2-core and python3-pyatspi (tools/install-deps)");
      return;
    }

  app = spawn_real_app (fixture, "GTK_A11Y=atspi", NULL, &first_frame_ms, NULL);

  /* The dialogs and Preferences too, open over the window while no party is on. */
  {
    g_autoptr(GDBusActionGroup) actions = g_dbus_action_group_get (fixture->desktop,
                                                                   "io.lanrage.LANrage",
                                                                   "/io/lanrage/LANrage");

    g_action_group_activate_action (G_ACTION_GROUP (actions), "create-party", NULL);
    g_action_group_activate_action (G_ACTION_GROUP (actions), "join-party",
                                    g_variant_new_string (""));
    g_action_group_activate_action (G_ACTION_GROUP (actions), "preferences", NULL);
    g_dbus_connection_flush_sync (fixture->desktop, NULL, NULL);
    run_reader (script, (const char *[]) { "Create a Party", "Party Name", "Join a Party",
                                           "Invite Code", "Server Address", "LAN Games",
                                           NULL });
  }

  out = ctl (fixture, LR_TEST_HELPER_BUS_NAME, create_argv);
  status = lr_test_json_parse (out);
  code = g_strdup (lr_test_json_string (status, "InviteCode"));
  g_clear_pointer (&out, g_free);
  second = start_second_helper (fixture);
  join_argv[3] = code;
  g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME_2, join_argv));
  g_assert_true (lr_test_wait_for (peers_measured, fixture->client, LR_TEST_UI_TIMEOUT_MS));
  /* Long enough for the pair to settle on its path (direct 0.2 s after joining here), so
   * the words the reader looks for are the ones on screen. */
  lr_test_ui_run_for (2500);
  {
    GListModel *peers = lanrage_helper_client_get_peers (fixture->client);
    g_autoptr(LanragePeer) peer = g_list_model_get_item (peers, 0);

    path_words = g_str_equal (lanrage_peer_get_path (peer), "direct") ? "Direct"
                                                                       : "Relayed via 127.0.0.1";
  }

  run_reader (script, (const char *[]) { code, "Heard party", "bob", path_words,
                                         "Copy Invite Code", "Games in This Party",
                                         "No LAN games yet. When someone hosts one, it shows "
                                         "up here.", NULL });
  stop_real_app (app);
}

static gboolean
has_more_items (gpointer data)
{
  gpointer *args = data;

  return ((GPtrArray *) args[0])->len > GPOINTER_TO_UINT (args[1]);
}

static void
test_figures (UiFixture     *fixture,
              gconstpointer  data)
{
  enum { N_GUESTS = 7, WINDOW_S = 10 };
  LrTestBus *buses[N_GUESTS] = { NULL };
  LrTestHelper *guests[N_GUESTS] = { NULL };
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(GSubprocess) app = NULL;
  const char *create_argv[] = { "--name", "host", "--json", "create", "Eight", NULL };
  const char *leave_argv[] = { "leave", NULL };
  const char *code;
  g_autoptr(GSubprocess) tray_app = NULL;
  ProcessSample before, after, idle_before, idle_after, tray_before, tray_after;
  double first_frame_ms, app_frame_ms;
  guint changes = 0;
  guint tray_changes = 0;
  guint idle_changes = 0;
  guint n_items;
  GPid pid;

  app = spawn_real_app (fixture, NULL, NULL, &first_frame_ms, &app_frame_ms);
  pid = atoi (g_subprocess_get_identifier (app));

  /* A party of eight: this machine and seven guests, each a helper on a bus of its own. */
  out = ctl (fixture, LR_TEST_HELPER_BUS_NAME, create_argv);
  status = lr_test_json_parse (out);
  code = lr_test_json_string (status, "InviteCode");
  for (guint i = 0; i < N_GUESTS; i++)
    {
      g_autofree char *name = g_strdup_printf ("guest%u", i + 1);
      const char *join_argv[] = { "--name", name, "join", code, NULL };

      buses[i] = lr_test_bus_new ();
      guests[i] = lr_test_helper_new (buses[i], lr_test_server_get_url (fixture->server), NULL);
      use_relay (guests[i], lr_test_server_get_url (fixture->server));
      lr_test_helper_start (guests[i]);
      g_assert_cmpint (lr_test_ctl_run (buses[i], LR_TEST_HELPER_BUS_NAME, NULL, join_argv, NULL,
                                        NULL), ==, 0);
    }
  lr_test_helper_wait_peers (fixture->helper, N_GUESTS);
  /* Until every link is measured. */
  lr_test_ui_run_for (15000);

  /* The test's own client sees the same properties change as the app does. */
  for (guint i = 0; i < N_GUESTS; i++)
    {
      g_autoptr(LanragePeer) peer = g_list_model_get_item (
        lanrage_helper_client_get_peers (fixture->client), i);

      g_signal_connect (peer, "notify", G_CALLBACK (count_change_cb), &changes);
    }
  sample_process (pid, &before);
  lr_test_ui_run_for (WINDOW_S * 1000);
  sample_process (pid, &after);
  stop_real_app (app);

  /* The same party with the app in the tray: started as at login (--background), it has
   * the tray icon and no window, as after closing its window with a panel showing the
   * icon (the test cannot close another process's window). */
  n_items = fixture->tray_items->len;
  tray_app = spawn_real_app (fixture, NULL, "--background", NULL, NULL);
  pid = atoi (g_subprocess_get_identifier (tray_app));
  {
    gpointer args[] = { fixture->tray_items, GUINT_TO_POINTER (n_items) };

    g_assert_true (lr_test_wait_for (has_more_items, args, FIRST_FRAME_TIMEOUT_MS));
  }
  /* Until the app has the party's members and their figures. */
  lr_test_ui_run_for (5000);
  sample_process (pid, &tray_before);
  tray_changes = changes;
  lr_test_ui_run_for (WINDOW_S * 1000);
  sample_process (pid, &tray_after);
  tray_changes = changes - tray_changes;
  for (guint i = 0; i < N_GUESTS; i++)
    {
      g_autoptr(LanragePeer) peer = g_list_model_get_item (
        lanrage_helper_client_get_peers (fixture->client), i);

      g_signal_handlers_disconnect_by_func (peer, count_change_cb, &changes);
    }
  changes -= tray_changes;

  g_free (ctl (fixture, LR_TEST_HELPER_BUS_NAME, leave_argv));
  for (guint i = 0; i < N_GUESTS; i++)
    {
      lr_test_helper_free (guests[i]);
      lr_test_bus_free (buses[i]);
    }
  /* The toasts of the guests joining and leaving are gone by then. */
  lr_test_ui_run_for (30000);
  g_signal_connect (fixture->client, "notify", G_CALLBACK (count_change_cb), &idle_changes);
  sample_process (pid, &idle_before);
  lr_test_ui_run_for (WINDOW_S * 1000);
  sample_process (pid, &idle_after);
  g_signal_handlers_disconnect_by_func (fixture->client, count_change_cb, &idle_changes);

  g_test_message ("FIGURES first frame %.0f ms after the process started (%.0f ms after the "
                  "app object was made)", first_frame_ms, app_frame_ms);
  g_test_message ("FIGURES party of 8: RSS %" G_GUINT64_FORMAT " kB (%" G_GUINT64_FORMAT
                  " kB its own), CPU %.1f %%, %.1f wakeups/s for %.1f property changes/s",
                  after.rss_kb, after.rss_anon_kb,
                  100.0 * (after.cpu_ticks - before.cpu_ticks) / sysconf (_SC_CLK_TCK) / WINDOW_S,
                  (double) (after.wakeups - before.wakeups) / WINDOW_S,
                  (double) changes / WINDOW_S);
  g_test_message ("FIGURES party of 8, in the tray: RSS %" G_GUINT64_FORMAT " kB (%"
                  G_GUINT64_FORMAT " kB its own), CPU %.2f %%, %.1f wakeups/s for %.1f property "
                  "changes/s",
                  tray_after.rss_kb, tray_after.rss_anon_kb,
                  100.0 * (tray_after.cpu_ticks - tray_before.cpu_ticks) /
                    sysconf (_SC_CLK_TCK) / WINDOW_S,
                  (double) (tray_after.wakeups - tray_before.wakeups) / WINDOW_S,
                  (double) tray_changes / WINDOW_S);
  g_test_message ("FIGURES idle, in the tray: CPU %.2f %%, %.1f wakeups/s for %.1f property changes/s",
                  100.0 * (idle_after.cpu_ticks - idle_before.cpu_ticks) /
                    sysconf (_SC_CLK_TCK) / WINDOW_S,
                  (double) (idle_after.wakeups - idle_before.wakeups) / WINDOW_S,
                  (double) idle_changes / WINDOW_S);

  /* Idle means asleep: no timer of the app's own may wake it. The party is gone, the app
   * still in the tray. */
  g_assert_cmpuint (idle_after.wakeups - idle_before.wakeups, <=, 2 * WINDOW_S);
  stop_real_app (tray_app);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *display = NULL;
  g_autofree char *services = NULL;
  g_autofree char *service_file = NULL;
  g_autofree char *config_home = NULL;
  int status;

  lr_test_ui_require_display ();
  lr_test_helper_require_root ();
  lr_test_helper_isolate ();
  /* The app's autostart entry goes to a folder of the test's, not root's ~/.config; set
   * before GLib reads it (once). */
  config_home = g_dir_make_tmp ("lanrage-ui-config-XXXXXX", NULL);
  g_assert_nonnull (config_home);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  /* /run/netns of its own, for the second host's namespace. */
  g_assert_true (lr_test_lab_enter_private_run (FALSE));
  lr_test_control_init (&argc, &argv);
  finished_apps = g_ptr_array_new ();

  /* The app's session bus (GApplication, settings portal lookups, the tray), private to
   * the test; up before GTK looks for it. */
  display = g_strdup (g_getenv ("DISPLAY"));
  session_bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  /* Only the accessibility bus can be started on it (for /app/accessible). What it
   * starts inherits the bus's standard output, which is this program's TAP stream:
   * at-spi2-registryd says there that it runs, so send all of it to standard error. */
  services = g_dir_make_tmp ("lanrage-ui-services-XXXXXX", NULL);
  g_assert_nonnull (services);
  service_file = g_build_filename (services, "org.a11y.Bus.service", NULL);
  g_assert_true (g_file_set_contents (service_file,
                                      "[D-BUS Service]\nName=org.a11y.Bus\n"
                                      "Exec=/bin/sh -c 'exec /usr/libexec/at-spi-bus-launcher "
                                      ">&2'\n", -1, NULL));
  g_test_dbus_add_service_dir (session_bus, services);
  g_test_dbus_up (session_bus);
  /* GTestDBus unsets DISPLAY (against X11 bus autolaunch); the app needs it. */
  if (display != NULL)
    g_setenv ("DISPLAY", display, TRUE);
  lr_test_ui_init ();

#define ADD(path, func, options) \
  g_test_add (path, UiFixture, GUINT_TO_POINTER (options), fixture_setup, func, \
              fixture_teardown)

  g_test_add_func ("/app/peer/path-history-bounded", test_path_history_bounded);
  ADD ("/app/window/create-join-leave", test_create_join_leave, START_HELPER | WITH_RELAY);
  ADD ("/app/window/join", test_join, START_HELPER);
  ADD ("/app/window/unknown-code", test_unknown_code, START_HELPER);
  ADD ("/app/window/server-unreachable", test_server_unreachable,
       START_HELPER | UNREACHABLE_SERVER);
  ADD ("/app/window/helper-appears", test_helper_appears, 0);
  ADD ("/app/window/not-authorized", test_not_authorized, START_HELPER | AS_NOBODY);
  ADD ("/app/preferences", test_preferences, START_HELPER);
  ADD ("/app/preferences/lan", test_lan_preferences, START_HELPER);
  ADD ("/app/games", test_games, START_HELPER | SECOND_HOST);
  ADD ("/app/start-at-login", test_start_at_login, START_HELPER);
  ADD ("/app/invite-link", test_invite_link, START_HELPER);
  ADD ("/app/invite-link/cold-start", test_invite_link_cold_start, START_HELPER);
  ADD ("/app/window/offer-waits-for-helper", test_offer_waits_for_helper, 0);
  ADD ("/app/desktop-action", test_desktop_action, START_HELPER);
  ADD ("/app/background-notifications", test_background_notifications, START_HELPER | TRAY_HOST);
  ADD ("/app/party-lost", test_party_lost, START_HELPER | TRAY_HOST);
  ADD ("/app/helper-stops", test_helper_stops, START_HELPER | TRAY_HOST);
  ADD ("/app/close-without-tray-host", test_close_without_tray_host, START_HELPER);
  ADD ("/app/tray", test_tray, START_HELPER | WITH_RELAY | TRAY_HOST);
  ADD ("/app/window/narrow", test_narrow, START_HELPER | WITH_RELAY | NARROW);
  ADD ("/app/idle-asleep", test_idle_asleep, START_HELPER);
  ADD ("/app/accessible", test_accessible, START_HELPER | WITH_RELAY);
  /* A measurement, not a check: tools/app-figures asks for it, the suite does not run it
   * (about two minutes), and a case that only skips would hide real skips from CI. */
  if (g_getenv ("LANRAGE_APP_FIGURES") != NULL)
    ADD ("/app/figures", test_figures, START_HELPER | WITH_RELAY | TRAY_HOST);

  status = g_test_run ();
  /* Not g_test_dbus_down () nor an unref, which waits for the connections to go: the apps
   * still hold theirs (see fixture_setup). */
  g_test_dbus_stop (session_bus);
  lr_test_remove_tree (services);
  lr_test_remove_tree (config_home);
  return status;
}
