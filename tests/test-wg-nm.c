/* test-wg-nm.c: LrdWgNm and auto selection against a real NetworkManager
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * NetworkManager 1.42 runs in its own network namespace (tests/helper/run-nm.sh, the LAB.md
 * recipe) on a private system bus started here; the machine's own NetworkManager and system
 * bus are never touched. This kernel has no WireGuard, so activation fails: the profile
 * tests turn activation off to check what LrdWgNm asks NetworkManager to hold, and the
 * activation and auto tests check that failure and the fallback to wireguard-go.
 */
#include "lrd-test-util.h"
#include "lrd-wg-factory.h"
#include "lrd-wg-nm.h"

#include <signal.h>
#include <sys/prctl.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  char            *dir;
  char            *netns;
  char            *bus_address;
  GSubprocess     *dbus;
  GSubprocess     *nm;
  GDBusConnection *bus;
} NmLab;

static guint lab_counter;

static const char bus_config[] =
  "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
  " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
  "<busconfig>\n"
  "  <type>system</type>\n"
  "  <listen>unix:path=%s/bus</listen>\n"
  "  <auth>EXTERNAL</auth>\n"
  "  <policy context=\"default\">\n"
  "    <allow user=\"*\"/>\n"
  "    <deny own=\"*\"/>\n"
  "    <deny send_type=\"method_call\"/>\n"
  "    <allow send_type=\"signal\"/>\n"
  "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
  "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
  "    <allow receive_type=\"method_call\"/>\n"
  "    <allow receive_type=\"method_return\"/>\n"
  "    <allow receive_type=\"error\"/>\n"
  "    <allow receive_type=\"signal\"/>\n"
  "    <allow send_destination=\"org.freedesktop.DBus\"\n"
  "           send_interface=\"org.freedesktop.DBus\"/>\n"
  "    <allow send_destination=\"org.freedesktop.DBus\"\n"
  "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
  "    <allow send_destination=\"org.freedesktop.DBus\"\n"
  "           send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
  "  </policy>\n"
  "  <includedir>/usr/share/dbus-1/system.d</includedir>\n"
  "  <includedir>/etc/dbus-1/system.d</includedir>\n"
  "</busconfig>\n";

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Wakes the loop up now and then, for conditions nothing signals. */
static gboolean
keep_polling_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main loop until @condition holds or @seconds pass. */
static gboolean
wait_for (gboolean (*condition) (gpointer),
          gpointer   user_data,
          guint      seconds)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (seconds, timeout_cb, &timed_out);
  guint poll_id = g_timeout_add (10, keep_polling_cb, NULL);
  gboolean met;

  while (!(met = condition (user_data)) && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  if (!timed_out)
    g_source_remove (id);
  g_source_remove (poll_id);
  return met;
}

static gboolean
nm_owns_its_name (gpointer user_data)
{
  NmLab *lab = user_data;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (lab->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetNameOwner",
                                       g_variant_new ("(s)", "org.freedesktop.NetworkManager"),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, 1000, NULL, NULL);
  if (reply == NULL)
    g_usleep (20 * G_TIME_SPAN_MILLISECOND);
  return reply != NULL;
}

/* A test that fails half-way must not leave daemons behind. */
static void
die_with_test (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
lab_setup (NmLab         *lab,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) output = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *config = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "helper", "run-nm.sh", NULL);
  gint64 start = g_get_monotonic_time ();

  lab->dir = g_dir_make_tmp ("lrd-nm-XXXXXX", &error);
  g_assert_no_error (error);
  lab->netns = g_strdup_printf ("lrnm-%d-%u", (int) getpid (), ++lab_counter);

  config = g_strdup_printf (bus_config, lab->dir);
  config_path = g_build_filename (lab->dir, "bus.conf", NULL);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  lab->dbus = g_subprocess_launcher_spawn (launcher, &error, "dbus-daemon", "--config-file",
                                           config_path, "--nofork", "--print-address", NULL);
  g_clear_object (&launcher);
  g_assert_no_error (error);
  output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (lab->dbus));
  lab->bus_address = g_data_input_stream_read_line (output, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (lab->bus_address);

  lab->bus = g_dbus_connection_new_for_address_sync (lab->bus_address,
                                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                     NULL, NULL, &error);
  g_assert_no_error (error);

  lrd_test_run (&error, "ip", "netns", "add", lab->netns, NULL);
  g_assert_no_error (error);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  log_path = g_build_filename (lab->dir, "nm.log", NULL);
  g_subprocess_launcher_set_stdout_file_path (launcher, log_path);
  lab->nm = g_subprocess_launcher_spawn (launcher, &error, "sh", script, lab->dir, lab->netns,
                                         NULL);
  g_assert_no_error (error);

  if (!wait_for (nm_owns_its_name, lab, 20))
    {
      g_autofree char *log = NULL;

      g_file_get_contents (log_path, &log, NULL, NULL);
      g_error ("NetworkManager did not start: %s", log != NULL ? log : "(no log)");
    }
  g_test_message ("measured: NetworkManager start to ready: %.0f ms",
                  (g_get_monotonic_time () - start) / 1000.0);
}

static void
stop (GSubprocess *process)
{
  if (process == NULL)
    return;

  g_subprocess_send_signal (process, SIGTERM);
  for (guint i = 0; i < 300 && g_subprocess_get_identifier (process) != NULL; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * G_TIME_SPAN_MILLISECOND);
    }
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
}

static void
lab_teardown (NmLab         *lab,
              gconstpointer  data)
{
  stop (lab->nm);
  g_clear_object (&lab->nm);
  g_clear_object (&lab->bus);
  stop (lab->dbus);
  g_clear_object (&lab->dbus);
  lrd_test_run (NULL, "ip", "netns", "del", lab->netns, NULL);
  lrd_test_run (NULL, "rm", "-rf", lab->dir, NULL);
  g_free (lab->dir);
  g_free (lab->netns);
  g_free (lab->bus_address);
}

static LrdWgNm *
new_nm (NmLab      *lab,
        const char *ifname)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  LrdWgNm *nm;

  lrd_wg_nm_new_async (ifname, lab->bus, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  nm = lrd_wg_nm_new_finish (result, &error);
  g_assert_no_error (error);
  g_assert_true (lrd_wg_nm_is_running (nm));
  return nm;
}

static gboolean
up (LrdWgBackend    *backend,
    const LrKey     *private_key,
    const char      *address,
    GError         **error)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  lrd_wg_backend_up_async (backend, private_key, 51820, address, NULL, lrd_test_result_cb,
                           &slot);
  result = lrd_test_wait (&slot);
  return lrd_wg_backend_up_finish (backend, result, error);
}

static void
set_peer (LrdWgBackend   *backend,
          const LrKey    *public_key,
          const char     *endpoint,
          guint16         port,
          const char     *allowed_ips)
{
  LrdWgPeerConfig peer = { 0 };
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  peer.public_key = *public_key;
  if (endpoint != NULL)
    {
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string (endpoint,
                                                                                port);

      g_assert_true (lr_addr_from_gaddress (&peer.endpoint, G_INET_SOCKET_ADDRESS (address)));
    }
  peer.allowed_ips = g_strsplit (allowed_ips, ",", -1);
  peer.persistent_keepalive = 25;
  lrd_wg_backend_set_peer_async (backend, &peer, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  lrd_wg_backend_set_peer_finish (backend, result, &error);
  g_assert_no_error (error);
  lrd_wg_peer_config_clear (&peer);
}

static void
remove_peer (LrdWgBackend   *backend,
             const LrKey    *public_key)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  lrd_wg_backend_remove_peer_async (backend, public_key, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  lrd_wg_backend_remove_peer_finish (backend, result, &error);
  g_assert_no_error (error);
}

static void
down (LrdWgBackend *backend)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  lrd_wg_backend_down_async (backend, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  lrd_wg_backend_down_finish (backend, result, &error);
  g_assert_no_error (error);
}

/* What the test reads back from NetworkManager, through libnm's cache. */
typedef struct
{
  LrdWgNm    *nm;
  guint       n_peers;
  const char *peer_key;
  const char *peer_endpoint;
} Expect;

static NMSettingWireGuard *
remote_wireguard (LrdWgNm *nm)
{
  NMRemoteConnection *remote = nm_client_get_connection_by_uuid (lrd_wg_nm_get_client (nm),
                                                                 lrd_wg_nm_get_uuid (nm));

  if (remote == NULL)
    return NULL;

  return NM_SETTING_WIREGUARD (nm_connection_get_setting (NM_CONNECTION (remote),
                                                          NM_TYPE_SETTING_WIREGUARD));
}

/* The cache lags behind a commit (LAB.md): wait for it rather than read once. */
static gboolean
profile_matches (gpointer user_data)
{
  Expect *expect = user_data;
  NMSettingWireGuard *s_wg = remote_wireguard (expect->nm);
  NMWireGuardPeer *peer;

  if (s_wg == NULL || nm_setting_wireguard_get_peers_len (s_wg) != expect->n_peers)
    return FALSE;

  if (expect->peer_key == NULL)
    return TRUE;

  peer = nm_setting_wireguard_get_peer_by_public_key (s_wg, expect->peer_key, NULL);
  return peer != NULL &&
         g_strcmp0 (nm_wireguard_peer_get_endpoint (peer), expect->peer_endpoint) == 0;
}

static gboolean
profile_gone (gpointer user_data)
{
  return remote_wireguard (user_data) == NULL;
}

static gboolean
other_profile_exists (gpointer user_data)
{
  NmLab *lab = user_data;
  g_autofree char *out = NULL;
  g_autofree char *env = g_strdup_printf ("DBUS_SYSTEM_BUS_ADDRESS=%s", lab->bus_address);

  out = lrd_test_run_output (NULL, "env", env, "nmcli", "-g", "NAME", "connection", "show",
                             NULL);
  return out != NULL && strstr (out, "not-ours") != NULL;
}

/* Counts the helper's debug messages that say why WireGuard's counters stay 0. */
static void
count_counters_problem_cb (const char     *log_domain,
                           GLogLevelFlags  log_level,
                           const char     *message,
                           gpointer        user_data)
{
  guint *count = user_data;

  if (g_str_has_prefix (message, "WireGuard's counters for lrnm0 stay 0: "))
    {
      g_test_message ("the helper said: %s", message);
      (*count)++;
    }
}

static GArray *
get_stats (LrdWgBackend *backend)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GArray *stats;

  lrd_wg_backend_get_stats_async (backend, NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  stats = lrd_wg_backend_get_stats_finish (backend, result, &error);
  g_assert_no_error (error);
  return stats;
}

static void
test_profile (NmLab         *lab,
              gconstpointer  data)
{
  g_autoptr(LrdWgNm) nm = new_nm (lab, "lrnm0");
  LrdWgBackend *backend = LRD_WG_BACKEND (nm);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) stats = NULL;
  g_autofree char *env = g_strdup_printf ("DBUS_SYSTEM_BUS_ADDRESS=%s", lab->bus_address);
  g_autofree char *key1 = NULL;
  g_autofree char *key2 = NULL;
  LrKey private_key, public_key, peer1, peer1_private, peer2, peer2_private;
  NMRemoteConnection *remote;
  NMSettingIPConfig *s_ip4;
  NMWireGuardPeer *peer;
  guint counters_problems = 0;
  guint log_handler;
  Expect expect = { nm, 0, NULL, NULL };

  lrd_test_keypair (&private_key, &public_key);
  lrd_test_keypair (&peer1_private, &peer1);
  lrd_test_keypair (&peer2_private, &peer2);
  key1 = g_base64_encode (peer1.bytes, sizeof peer1.bytes);
  key2 = g_base64_encode (peer2.bytes, sizeof peer2.bytes);

  /* A profile someone else made: the helper must leave it alone. */
  lrd_test_run (&error, "env", env, "nmcli", "connection", "add", "type", "dummy", "ifname",
                "other0", "con-name", "not-ours", "save", "no", NULL);
  g_assert_no_error (error);

  g_assert_cmpstr (lrd_wg_backend_get_name (backend), ==, "networkmanager");
  lrd_wg_nm_set_activate (nm, FALSE);
  up (backend, &private_key, "10.66.0.1/16", &error);
  g_assert_no_error (error);
  g_assert_true (wait_for (profile_matches, &expect, 5));

  remote = nm_client_get_connection_by_uuid (lrd_wg_nm_get_client (nm), lrd_wg_nm_get_uuid (nm));
  g_assert_true (lrd_wg_nm_is_own_profile (NM_CONNECTION (remote)));
  g_assert_cmpstr (nm_connection_get_interface_name (NM_CONNECTION (remote)), ==, "lrnm0");
  g_assert_cmpstr (nm_connection_get_connection_type (NM_CONNECTION (remote)), ==,
                   NM_SETTING_WIREGUARD_SETTING_NAME);
  g_assert_cmpuint (nm_setting_wireguard_get_listen_port (remote_wireguard (nm)), ==, 51820);
  /* In memory only: never written to disk. */
  g_assert_true (nm_remote_connection_get_flags (remote) & NM_SETTINGS_CONNECTION_FLAG_UNSAVED);
  s_ip4 = nm_connection_get_setting_ip4_config (NM_CONNECTION (remote));
  g_assert_cmpuint (nm_setting_ip_config_get_num_addresses (s_ip4), ==, 1);
  g_assert_cmpstr (nm_ip_address_get_address (nm_setting_ip_config_get_address (s_ip4, 0)), ==,
                   "10.66.0.1");
  g_assert_cmpuint (nm_ip_address_get_prefix (nm_setting_ip_config_get_address (s_ip4, 0)), ==,
                    16);

  set_peer (backend, &peer1, "198.18.0.2", 51821, "10.66.0.2/32");
  set_peer (backend, &peer2, NULL, 0, "10.66.0.3/32,10.66.100.0/24");
  expect = (Expect) { nm, 2, key1, "198.18.0.2:51821" };
  g_assert_true (wait_for (profile_matches, &expect, 5));
  peer = nm_setting_wireguard_get_peer_by_public_key (remote_wireguard (nm), key2, NULL);
  g_assert_nonnull (peer);
  g_assert_null (nm_wireguard_peer_get_endpoint (peer));
  g_assert_cmpuint (nm_wireguard_peer_get_allowed_ips_len (peer), ==, 2);
  g_assert_cmpstr (nm_wireguard_peer_get_allowed_ip (peer, 1, NULL), ==, "10.66.100.0/24");
  g_assert_cmpuint (nm_wireguard_peer_get_persistent_keepalive (peer), ==, 25);

  /* The peer's endpoint moves (say, from the relay to a direct path). */
  set_peer (backend, &peer1, "198.18.7.7", 4000, "10.66.0.2/32");
  expect = (Expect) { nm, 2, key1, "198.18.7.7:4000" };
  g_assert_true (wait_for (profile_matches, &expect, 5));

  remove_peer (backend, &peer2);
  expect = (Expect) { nm, 1, key1, "198.18.7.7:4000" };
  g_assert_true (wait_for (profile_matches, &expect, 5));

  /* The counters come from the kernel's WireGuard generic netlink, which cannot be read
   * here (no WireGuard module; and no interface, since activation is off): every read lists
   * the configured peer with zero counters and no error, and the helper says why once. */
  log_handler = g_log_set_handler ("lanrage-helper", G_LOG_LEVEL_DEBUG,
                                   count_counters_problem_cb, &counters_problems);
  for (guint i = 0; i < 3; i++)
    {
      const LrdWgPeerStats *entry;

      g_clear_pointer (&stats, g_array_unref);
      stats = get_stats (backend);
      g_assert_cmpuint (stats->len, ==, 1);
      entry = &g_array_index (stats, LrdWgPeerStats, 0);
      g_assert_cmpmem (entry->public_key.bytes, LR_KEY_LENGTH, peer1.bytes, LR_KEY_LENGTH);
      g_assert_true (lr_addr_is_set (&entry->endpoint));
      g_assert_cmpuint (entry->rx_bytes, ==, 0);
      g_assert_cmpuint (entry->tx_bytes, ==, 0);
      g_assert_cmpint (entry->last_handshake_unix, ==, 0);
    }
  g_log_remove_handler ("lanrage-helper", log_handler);
  g_assert_cmpuint (counters_problems, ==, 1);

  down (backend);
  g_assert_true (wait_for (profile_gone, nm, 5));
  g_assert_true (other_profile_exists (lab));
}

static gboolean
squatter_exists (NmLab *lab)
{
  g_autofree char *out = NULL;
  g_autofree char *env = g_strdup_printf ("DBUS_SYSTEM_BUS_ADDRESS=%s", lab->bus_address);

  out = lrd_test_run_output (NULL, "env", env, "nmcli", "-g", "NAME", "connection", "show",
                             NULL);
  return out != NULL && strstr (out, "squatter") != NULL;
}

static void
test_foreign_profile (NmLab         *lab,
                      gconstpointer  data)
{
  g_autoptr(LrdWgNm) nm = new_nm (lab, "lrnm3");
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *env = g_strdup_printf ("DBUS_SYSTEM_BUS_ADDRESS=%s", lab->bus_address);
  GAsyncResult *slot = NULL;
  LrKey private_key, public_key;

  /* Someone else's untagged profile with the very uuid the helper would use. */
  lrd_test_run (&error, "env", env, "nmcli", "connection", "add", "type", "dummy", "ifname",
                "lrnm3", "con-name", "squatter", "connection.uuid", lrd_wg_nm_get_uuid (nm),
                "save", "no", NULL);
  g_assert_no_error (error);
  g_assert_true (wait_for ((gboolean (*) (gpointer)) squatter_exists, lab, 5));
  while (nm_client_get_connection_by_uuid (lrd_wg_nm_get_client (nm),
                                           lrd_wg_nm_get_uuid (nm)) == NULL)
    g_main_context_iteration (NULL, TRUE);

  lrd_wg_nm_set_activate (nm, FALSE);
  lrd_test_keypair (&private_key, &public_key);
  g_assert_false (up (LRD_WG_BACKEND (nm), &private_key, "10.66.0.1/16", &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "not the helper's own"));
  g_clear_error (&error);

  lrd_wg_backend_down_async (LRD_WG_BACKEND (nm), NULL, lrd_test_result_cb, &slot);
  result = lrd_test_wait (&slot);
  /* down has nothing of its own to remove, and leaves the other profile alone. */
  g_assert_true (lrd_wg_backend_down_finish (LRD_WG_BACKEND (nm), result, &error));
  g_assert_no_error (error);

  g_assert_true (squatter_exists (lab));
}

static void
test_activation_fails (NmLab         *lab,
                       gconstpointer  data)
{
  g_autoptr(LrdWgNm) nm = new_nm (lab, "lrnm1");
  g_autoptr(GError) error = NULL;
  LrKey private_key, public_key;

  lrd_test_keypair (&private_key, &public_key);
  g_assert_false (up (LRD_WG_BACKEND (nm), &private_key, "10.66.0.1/16", &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD);
  g_test_message ("NetworkManager's activation error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "apt install wireguard-go"));

  /* Nothing is left: the failed up removed its profile. */
  g_assert_true (wait_for (profile_gone, nm, 5));
}

static LrdWgBackend *
new_auto (NmLab      *lab,
          const char *ifname,
          const char *wireguard_go)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  LrdWgBackend *backend;

  lrd_wg_factory_new_async ("auto", ifname, wireguard_go, lab->bus, NULL, lrd_test_result_cb,
                            &slot);
  result = lrd_test_wait (&slot);
  backend = lrd_wg_factory_new_finish (result, &error);
  g_assert_no_error (error);
  return backend;
}

static void
test_auto_falls_back (NmLab         *lab,
                      gconstpointer  data)
{
  g_autoptr(LrdWgBackend) backend = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *links = NULL;
  LrKey private_key, public_key;
  gint64 start;

  /* The whole test runs in NetworkManager's namespace: the fallback's wireguard-go and its
   * rtnetlink socket belong to the namespace of the thread that asks for them. */
  g_assert_true (lrd_test_enter_netns (lab->netns));

  backend = new_auto (lab, "lrauto0", "wireguard-go");
  g_assert_cmpstr (lrd_wg_backend_get_name (backend), ==, "networkmanager");

  lrd_test_keypair (&private_key, &public_key);
  start = g_get_monotonic_time ();
  up (backend, &private_key, "10.66.0.5/16", &error);
  g_assert_no_error (error);
  g_test_message ("measured: auto up (NetworkManager refuses, wireguard-go starts): %.1f ms",
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpstr (lrd_wg_backend_get_name (backend), ==, "uapi");

  links = lrd_test_run_output (&error, "ip", "-o", "address", "show", "dev", "lrauto0", NULL);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (links, "10.66.0.5/16"));

  down (backend);
  g_assert_false (lrd_test_run (NULL, "ip", "link", "show", "dev", "lrauto0", NULL));
  g_assert_false (g_file_test ("/run/wireguard/lrauto0.sock", G_FILE_TEST_EXISTS));

  lrd_test_leave_netns ();
}

static void
test_auto_without_wireguard_go (NmLab         *lab,
                                gconstpointer  data)
{
  g_autoptr(LrdWgBackend) backend = new_auto (lab, "lrauto1", "/nonexistent/wireguard-go");
  g_autoptr(GError) error = NULL;
  LrKey private_key, public_key;

  lrd_test_keypair (&private_key, &public_key);
  g_assert_false (up (backend, &private_key, "10.66.0.5/16", &error));
  g_assert_error (error, LRD_WG_ERROR, LRD_WG_ERROR_NO_WIREGUARD);
  g_assert_nonnull (strstr (error->message, "apt install wireguard-go"));
}

static void
test_auto_without_networkmanager (NmLab         *lab,
                                  gconstpointer  data)
{
  g_autoptr(LrdWgBackend) backend = NULL;

  /* The bus is there, NetworkManager is not. */
  stop (lab->nm);
  g_clear_object (&lab->nm);

  backend = new_auto (lab, "lrauto2", "wireguard-go");
  g_assert_cmpstr (lrd_wg_backend_get_name (backend), ==, "uapi");
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *nm = g_find_program_in_path ("NetworkManager");
  g_autofree char *dbus = g_find_program_in_path ("dbus-daemon");
  g_autofree char *nmcli = g_find_program_in_path ("nmcli");

  if (getuid () != 0)
    return lrd_test_skip ("needs root (network namespaces, NetworkManager)");

  if (nm == NULL && !g_file_test ("/usr/sbin/NetworkManager", G_FILE_TEST_IS_EXECUTABLE))
    return lrd_test_skip ("needs NetworkManager (apt install network-manager)");

  if (dbus == NULL || nmcli == NULL)
    return lrd_test_skip ("needs dbus-daemon and nmcli (apt install dbus network-manager)");

  if (!lrd_test_enter_private_run ())
    return lrd_test_skip ("cannot make a private mount namespace");

  g_test_init (&argc, &argv, NULL);

  g_test_add ("/lrd/wg-nm/profile", NmLab, NULL, lab_setup, test_profile, lab_teardown);
  g_test_add ("/lrd/wg-nm/foreign-profile", NmLab, NULL, lab_setup, test_foreign_profile,
              lab_teardown);
  g_test_add ("/lrd/wg-nm/activation-fails", NmLab, NULL, lab_setup, test_activation_fails,
              lab_teardown);
  g_test_add ("/lrd/wg-nm/auto-falls-back", NmLab, NULL, lab_setup, test_auto_falls_back,
              lab_teardown);
  g_test_add ("/lrd/wg-nm/auto-without-wireguard-go", NmLab, NULL, lab_setup,
              test_auto_without_wireguard_go, lab_teardown);

  g_test_add ("/lrd/wg-nm/auto-without-networkmanager", NmLab, NULL, lab_setup,
              test_auto_without_networkmanager, lab_teardown);

  return g_test_run ();
}
