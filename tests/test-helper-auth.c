/* test-helper-auth.c: who may call lanrage-helper (polkit on a private system bus)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * polkitd runs for real on the test's bus. There is no logind here, so no caller is in an
 * active local session and the policy's allow_any applies: root is authorized, an ordinary
 * user needs an administrator (refused, since lanragectl has no agent), and a rules.d rule
 * can grant a user.
 */
#include "lr-test-helper.h"
#include "lrd-error.h"

#include <glib/gstdio.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>
#include <string.h>

#define UNPRIVILEGED_USER "nobody"

static void
assert_refused (LrTestHelperFixture *fixture,
                const char * const  *argv)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) root = NULL;
  int status;

  status = lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, UNPRIVILEGED_USER, argv,
                            &out, &err);
  g_assert_cmpint (status, ==, 1);
  root = lr_test_json_parse (out);
  g_assert_cmpstr (lr_test_json_string (root, "error.name"), ==,
                   "io.lanrage.Helper1.Error.NotAuthorized");
  /* A message a person can act on, also on standard error. */
  g_assert_true (strlen (lr_test_json_string (root, "error.message")) > 10);
  g_assert_true (g_str_has_prefix (err, "lanragectl: "));
}

static void
test_root_is_allowed (LrTestHelperFixture *fixture,
                      gconstpointer        data)
{
  const char *argv[] = { "--json", "create", "LAN night", NULL };
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) root = NULL;
  int status;

  status = lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, NULL, argv, &out, NULL);
  g_assert_cmpint (status, ==, 0);
  root = lr_test_json_parse (out);
  g_assert_cmpstr (lr_test_json_string (root, "State"), ==, "connected");
  g_assert_cmpstr (lr_test_json_string (root, "PartyName"), ==, "LAN night");
  g_assert_cmpint (strlen (lr_test_json_string (root, "InviteCode")), ==, 14);
  g_assert_true (lr_test_virtual_ip_is_valid (lr_test_json_string (root, "VirtualAddress")));
  /* No NetworkManager on the test's bus: auto falls back to wireguard-go. */
  g_assert_cmpstr (lr_test_json_string (root, "Backend"), ==, "uapi");
}

static void
test_unprivileged_is_refused (LrTestHelperFixture *fixture,
                              gconstpointer        data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  const char *create[] = { "--json", "create", "Mine now", NULL };
  const char *join[] = { "--json", "join", "7KQM-2XWD-9RTF", NULL };
  const char *leave[] = { "--json", "leave", NULL };
  const char *status_argv[] = { "--json", "status", NULL };
  const char *peers_argv[] = { "--json", "peers", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *party_id = NULL;
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) root = NULL;

  assert_refused (fixture, create);
  assert_refused (fixture, join);
  g_assert_cmpstr (lrd_helper1_get_state (proxy), ==, "idle");
  g_assert_cmpstr (lrd_helper1_get_last_error (proxy), ==, "");

  /* Root's party is out of the user's reach too. */
  lrd_helper1_call_create_party_sync (proxy, "Root's party", "host", NULL, &error);
  g_assert_no_error (error);
  lr_test_helper_wait_state (fixture->helper, "connected");
  party_id = lrd_helper1_dup_party_id (proxy);
  assert_refused (fixture, leave);
  g_assert_cmpstr (lrd_helper1_get_state (proxy), ==, "connected");
  g_assert_cmpstr (lrd_helper1_get_party_id (proxy), ==, party_id);

  /* Reading is open to everyone. */
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, UNPRIVILEGED_USER,
                                    status_argv, &out, NULL), ==, 0);
  root = lr_test_json_parse (out);
  g_assert_cmpstr (lr_test_json_string (root, "State"), ==, "connected");
  g_assert_cmpstr (lr_test_json_string (root, "PartyId"), ==, party_id);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, UNPRIVILEGED_USER,
                                    peers_argv, &out, NULL), ==, 0);
}

/* gdbus's arguments to call @method on the helper's object (its arguments to be added). */
static GPtrArray *
gdbus_call_args (const char *method)
{
  GPtrArray *args = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (args, g_strdup ("gdbus"));
  g_ptr_array_add (args, g_strdup ("call"));
  g_ptr_array_add (args, g_strdup ("--system"));
  g_ptr_array_add (args, g_strdup_printf ("--dest=%s", LR_TEST_HELPER_BUS_NAME));
  g_ptr_array_add (args, g_strdup ("--object-path=/io/lanrage/Helper1"));
  g_ptr_array_add (args, g_strdup ("--timeout=10"));
  g_ptr_array_add (args, g_strdup ("--method"));
  g_ptr_array_add (args, g_strdup (method));
  return args;
}

/* Runs gdbus as @user against the helper; returns its exit status and standard error. */
static int
gdbus_as (LrTestHelperFixture *fixture,
          const char          *user,
          GPtrArray           *args,
          char               **out_stderr)
{
  g_autofree char *env_address = g_strconcat ("DBUS_SYSTEM_BUS_ADDRESS=",
                                              lr_test_bus_get_address (fixture->bus), NULL);
  const char *env[] = { env_address, NULL };
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (args, NULL);
  process = lr_test_spawn_as (user, env, (const char * const *) args->pdata, NULL,
                              G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, out_stderr, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_test_message ("gdbus %s → %d %s", (char *) args->pdata[7],
                  g_subprocess_get_exit_status (process), *out_stderr);
  return g_subprocess_get_exit_status (process);
}

/* Every method of io.lanrage.Helper1 as an ordinary user, straight on the bus (lanragectl
 * has no Refresh, nor the LAN discovery settings): only GetStatus is open, every other one
 * is refused by the g-authorize-method table; a method added to the interface must be given
 * its action here too. Writing a property is refused as well (they are all read-only). */
static void
test_every_method_checked (LrTestHelperFixture *fixture,
                           gconstpointer        data)
{
  GDBusInterfaceInfo *info = lrd_helper1_interface_info ();
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);

  for (guint i = 0; info->methods[i] != NULL; i++)
    {
      GDBusMethodInfo *method = info->methods[i];
      g_autofree char *name = g_strdup_printf ("io.lanrage.Helper1.%s", method->name);
      g_autoptr(GPtrArray) args = gdbus_call_args (name);
      g_autofree char *err = NULL;
      int status;

      /* Arguments that would work if the call went through: a valid name and code, a
       * deny list, a switch. */
      for (guint j = 0; method->in_args != NULL && method->in_args[j] != NULL; j++)
        {
          const char *signature = method->in_args[j]->signature;

          if (g_str_equal (signature, "a(qqss)"))
            g_ptr_array_add (args, g_strdup ("[(uint16 4445, uint16 4445, '', 'Taken')]"));
          else if (g_str_equal (signature, "b"))
            g_ptr_array_add (args, g_strdup ("true"));
          else
            {
              g_assert_cmpstr (signature, ==, "s");
              g_ptr_array_add (args, g_strdup ("'7KQM-2XWD-9RTF'"));
            }
        }

      status = gdbus_as (fixture, UNPRIVILEGED_USER, args, &err);
      if (g_str_equal (method->name, "GetStatus"))
        {
          g_assert_cmpint (status, ==, 0);
          continue;
        }
      g_assert_cmpint (status, !=, 0);
      g_assert_nonnull (strstr (err, "io.lanrage.Helper1.Error.NotAuthorized"));
      g_assert_cmpstr (lrd_helper1_get_state (proxy), ==, "idle");
      g_assert_false (lrd_helper1_get_known_titles_only (proxy));
      g_assert_cmpuint (g_variant_n_children (lrd_helper1_get_deny_list (proxy)), >, 1);
    }

  {
    g_autoptr(GPtrArray) args = gdbus_call_args ("org.freedesktop.DBus.Properties.Set");
    g_autofree char *err = NULL;

    g_ptr_array_add (args, g_strdup ("io.lanrage.Helper1"));
    g_ptr_array_add (args, g_strdup ("State"));
    g_ptr_array_add (args, g_strdup ("<'connected'>"));
    g_assert_cmpint (gdbus_as (fixture, UNPRIVILEGED_USER, args, &err), !=, 0);
    g_assert_cmpstr (lrd_helper1_get_state (proxy), ==, "idle");
  }
}

static gboolean
control_url_is (gpointer data)
{
  gpointer *args = data;

  return g_strcmp0 (lrd_helper1_get_control_url (args[0]), args[1]) == 0;
}

static void
wait_control_url (LrdHelper1 *proxy,
                  const char *url)
{
  gpointer args[] = { proxy, (gpointer) url };

  g_assert_true (lr_test_wait_for (control_url_is, args, LR_TEST_HELPER_TIMEOUT_MS));
}

static void
set_control_url (LrdHelper1  *proxy,
                 const char  *url,
                 GError     **error)
{
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (proxy), "SetControlUrl",
                                  g_variant_new ("(s)", url), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                  error);
}

/* The server URL is the helper's to keep: an administrator (root here) changes it, the
 * change takes effect at once and survives a restart; an ordinary user is refused, and so
 * is anything that is not an http(s) URL, or a change in the middle of a party. */
static void
test_set_control_url (LrTestHelperFixture *fixture,
                      gconstpointer        data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  /* As the helper keeps it: ending in "/". */
  g_autofree char *server_url = g_str_has_suffix (lr_test_server_get_url (fixture->server), "/")
                                  ? g_strdup (lr_test_server_get_url (fixture->server))
                                  : g_strconcat (lr_test_server_get_url (fixture->server), "/",
                                                 NULL);
  const char *bad_urls[] = { "", "not a url", "ftp://example.org/", "http://", "/v1/" };
  g_autoptr(GPtrArray) args = gdbus_call_args ("io.lanrage.Helper1.SetControlUrl");
  g_autofree char *err = NULL;
  g_autofree char *path = NULL;
  g_autofree char *saved = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (lrd_helper1_get_control_url (proxy), ==, server_url);

  /* An ordinary user may not. */
  g_ptr_array_add (args, g_strdup ("'http://127.0.0.1:1/'"));
  g_assert_cmpint (gdbus_as (fixture, UNPRIVILEGED_USER, args, &err), !=, 0);
  g_assert_nonnull (strstr (err, "io.lanrage.Helper1.Error.NotAuthorized"));
  lr_test_run_for (50);
  g_assert_cmpstr (lrd_helper1_get_control_url (proxy), ==, server_url);

  /* Not URLs, with a named error, and nothing changes. */
  for (guint i = 0; i < G_N_ELEMENTS (bad_urls); i++)
    {
      g_autofree char *remote = NULL;

      set_control_url (proxy, bad_urls[i], &error);
      g_assert_error (error, LRD_ERROR, LRD_ERROR_INVALID_URL);
      remote = g_dbus_error_get_remote_error (error);
      g_assert_cmpstr (remote, ==, "io.lanrage.Helper1.Error.InvalidUrl");
      g_clear_error (&error);
    }
  g_assert_cmpstr (lrd_helper1_get_control_url (proxy), ==, server_url);

  /* Root may, and the helper uses it at once: nothing listens on port 1. */
  set_control_url (proxy, "http://127.0.0.1:1", &error);
  g_assert_no_error (error);
  wait_control_url (proxy, "http://127.0.0.1:1/");
  lrd_helper1_call_create_party_sync (proxy, "Nowhere", "host", NULL, &error);
  g_assert_error (error, LRD_ERROR, LRD_ERROR_SERVER_UNREACHABLE);
  g_clear_error (&error);
  lr_test_helper_wait_state (fixture->helper, "idle");

  /* Kept across a restart, in the state folder. */
  lr_test_helper_stop (fixture->helper);
  path = g_build_filename (lr_test_helper_get_state_dir (fixture->helper), "control-url", NULL);
  g_assert_true (g_file_get_contents (path, &saved, NULL, NULL));
  g_assert_cmpstr (g_strstrip (saved), ==, "http://127.0.0.1:1/");
  lr_test_helper_start (fixture->helper);
  proxy = lr_test_helper_get_proxy (fixture->helper);
  g_assert_cmpstr (lrd_helper1_get_control_url (proxy), ==, "http://127.0.0.1:1/");

  /* Back to the real server; then, in a party, the server cannot change under it. */
  set_control_url (proxy, server_url, &error);
  g_assert_no_error (error);
  wait_control_url (proxy, server_url);
  lrd_helper1_call_create_party_sync (proxy, "Here", "host", NULL, &error);
  g_assert_no_error (error);
  lr_test_helper_wait_state (fixture->helper, "connected");
  set_control_url (proxy, "http://127.0.0.1:1/", &error);
  g_assert_error (error, LRD_ERROR, LRD_ERROR_ALREADY_IN_PARTY);
  g_assert_cmpstr (lrd_helper1_get_control_url (proxy), ==, server_url);
}

static void
test_granted_by_rule (LrTestHelperFixture *fixture,
                      gconstpointer        data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  const char *create[] = { "--json", "create", "Granted", NULL };
  const char *leave[] = { "leave", NULL };
  gint64 deadline;
  int status;

  assert_refused (fixture, create);
  lr_test_bus_grant_join (fixture->bus, UNPRIVILEGED_USER);

  /* polkitd notices the new rule within tens of milliseconds; allow it a few seconds. */
  deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  do
    {
      g_usleep (20000);
      status = lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, UNPRIVILEGED_USER,
                                create, NULL, NULL);
    }
  while (status != 0 && g_get_monotonic_time () < deadline);
  g_assert_cmpint (status, ==, 0);
  lr_test_helper_wait_state (fixture->helper, "connected");
  g_assert_cmpstr (lrd_helper1_get_party_name (proxy), ==, "Granted");

  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, UNPRIVILEGED_USER,
                                    leave, NULL, NULL), ==, 0);
  lr_test_helper_wait_state (fixture->helper, "idle");
}

/* The session-bus test mode has no polkit, so it must never run with root's powers. */
static void
test_session_mode_refuses_root (void)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  g_autofree char *state_dir = g_dir_make_tmp ("lanrage-session-XXXXXX", NULL);

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, g_getenv ("LANRAGE_HELPER"), "--session", "--state-dir",
                              state_dir, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 2);
  g_assert_nonnull (strstr (err, "root"));
  g_rmdir (state_dir);
}

static int
run_session_ctl (const char         *address,
                 const char * const *args,
                 char              **out_stdout)
{
  g_autofree char *env_address = g_strconcat ("DBUS_SESSION_BUS_ADDRESS=", address, NULL);
  const char *env[] = { env_address, NULL };
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_ptr_array_add (argv, (char *) g_getenv ("LANRAGECTL"));
  g_ptr_array_add (argv, (char *) "--session");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  process = lr_test_spawn_as (UNPRIVILEGED_USER, env, (const char * const *) argv->pdata, NULL,
                              G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_test_message ("lanragectl --session %s → %d\n%s%s", args[0],
                  g_subprocess_get_exit_status (process), out, err);
  if (out_stdout != NULL)
    *out_stdout = g_steal_pointer (&out);
  return g_subprocess_get_exit_status (process);
}

/* The session-bus test mode, as an ordinary user: no polkit, the bus admits only its user,
 * and the party works the same. */
static void
test_session_mode (LrTestHelperFixture *fixture,
                   gconstpointer        data)
{
  g_autofree char *dir = g_build_filename (lr_test_bus_get_tmpdir (fixture->bus), "session",
                                           NULL);
  g_autofree char *socket_path = g_build_filename (dir, "bus", NULL);
  g_autofree char *address = g_strconcat ("unix:path=", socket_path, NULL);
  g_autofree char *listen = g_strconcat ("--address=", address, NULL);
  g_autofree char *env_address = g_strconcat ("DBUS_SESSION_BUS_ADDRESS=", address, NULL);
  g_autofree char *config_path = g_build_filename (dir, "helper.conf", NULL);
  g_autofree char *config = NULL;
  g_autofree char *state_dir = g_build_filename (dir, "state", NULL);
  g_autofree char *log_path = g_build_filename (dir, "session.log", NULL);
  g_autofree char *out = NULL;
  g_autoptr(GSubprocess) bus = NULL;
  g_autoptr(GSubprocess) helper = NULL;
  g_autoptr(JsonNode) root = NULL;
  const char *bus_argv[] = { "dbus-daemon", "--session", "--nofork", listen, NULL };
  const char *helper_argv[] = { g_getenv ("LANRAGE_HELPER"), "--session", "--config",
                                config_path, "--state-dir", state_dir, NULL };
  const char *helper_env[] = { env_address, NULL };
  const char *status_argv[] = { "status", NULL };
  const char *create_argv[] = { "--json", "create", "Session party", NULL };
  const char *leave_argv[] = { "leave", NULL };
  struct passwd *pw = getpwnam (UNPRIVILEGED_USER);
  gint64 deadline;
  int status;

  g_assert_nonnull (pw);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_assert_cmpint (chown (dir, pw->pw_uid, pw->pw_gid), ==, 0);
  config = g_strdup_printf ("[helper]\ncontrol-url=%s\n", lr_test_server_get_url (fixture->server));
  g_assert_true (g_file_set_contents (config_path, config, -1, NULL));
  g_assert_cmpint (g_chmod (config_path, 0644), ==, 0);

  bus = lr_test_spawn_as (UNPRIVILEGED_USER, NULL, bus_argv, NULL, G_SUBPROCESS_FLAGS_NONE);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!g_file_test (socket_path, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
    g_usleep (10000);
  helper = lr_test_spawn_as (UNPRIVILEGED_USER, helper_env, helper_argv, log_path,
                             G_SUBPROCESS_FLAGS_NONE);

  do
    {
      g_usleep (20000);
      status = run_session_ctl (address, status_argv, NULL);
    }
  while (status != 0 && g_get_monotonic_time () < deadline);
  g_assert_cmpint (status, ==, 0);

  g_assert_cmpint (run_session_ctl (address, create_argv, &out), ==, 0);
  root = lr_test_json_parse (out);
  g_assert_cmpstr (lr_test_json_string (root, "State"), ==, "connected");
  g_assert_cmpstr (lr_test_json_string (root, "PartyName"), ==, "Session party");
  g_assert_cmpint (run_session_ctl (address, leave_argv, NULL), ==, 0);

  g_subprocess_send_signal (helper, SIGTERM);
  g_assert_true (g_subprocess_wait (helper, NULL, NULL));
  g_assert_true (g_subprocess_get_if_exited (helper));
  g_assert_cmpint (g_subprocess_get_exit_status (helper), ==, 0);
  g_subprocess_force_exit (bus);
  g_subprocess_wait (bus, NULL, NULL);
}

/* Only root may own the helper's name (data/io.lanrage.Helper1.conf), and only once: a
 * second helper, or one run by a user, gives up with a message instead of serving. */
static void
test_name_policy (LrTestHelperFixture *fixture,
                  gconstpointer        data)
{
  g_autofree char *dir = g_build_filename (lr_test_bus_get_tmpdir (fixture->bus), "intruder",
                                           NULL);
  g_autofree char *log_path = g_build_filename (dir, "helper.log", NULL);
  g_autofree char *env_address = g_strconcat ("DBUS_SYSTEM_BUS_ADDRESS=",
                                              lr_test_bus_get_address (fixture->bus), NULL);
  const char *env[] = { env_address, NULL };
  struct passwd *pw = getpwnam (UNPRIVILEGED_USER);
  const char *users[] = { NULL, UNPRIVILEGED_USER };

  g_assert_nonnull (pw);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (chown (dir, pw->pw_uid, pw->pw_gid), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    {
      g_autoptr(GSubprocess) intruder = NULL;
      g_autofree char *log = NULL;
      g_autofree char *state_name = g_strdup_printf ("state-%u", i);
      g_autofree char *state_dir = g_build_filename (dir, state_name, NULL);
      const char *argv[] = { g_getenv ("LANRAGE_HELPER"), "--state-dir", state_dir, NULL };

      /* Root is refused because the name is taken; then, with the name free, a user is
       * refused by the bus policy itself. */
      if (users[i] != NULL)
        lr_test_helper_stop (fixture->helper);

      g_unlink (log_path);
      intruder = lr_test_spawn_as (users[i], env, argv, log_path, G_SUBPROCESS_FLAGS_NONE);
      g_assert_true (g_subprocess_wait (intruder, NULL, NULL));
      g_assert_true (g_subprocess_get_if_exited (intruder));
      g_assert_cmpint (g_subprocess_get_exit_status (intruder), ==, 1);
      g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
      g_test_message ("%s: %s", users[i] != NULL ? users[i] : "root", log);
      g_assert_nonnull (strstr (log, "cannot own io.lanrage.Helper1"));
    }

  /* Root may take it again. */
  lr_test_helper_start (fixture->helper);
  g_assert_cmpstr (lrd_helper1_get_state (lr_test_helper_get_proxy (fixture->helper)), ==,
                   "idle");
}

int
main (int    argc,
      char **argv)
{
  lr_test_helper_require_root ();
  lr_test_helper_isolate ();
  lr_test_control_init (&argc, &argv);
  (void) LRD_ERROR;

  g_test_add ("/helper/auth/root-is-allowed", LrTestHelperFixture, NULL,
              lr_test_helper_fixture_setup, test_root_is_allowed,
              lr_test_helper_fixture_teardown);
  g_test_add ("/helper/auth/unprivileged-is-refused", LrTestHelperFixture, NULL,
              lr_test_helper_fixture_setup, test_unprivileged_is_refused,
              lr_test_helper_fixture_teardown);
  g_test_add ("/helper/auth/every-method-checked", LrTestHelperFixture, NULL,
              lr_test_helper_fixture_setup, test_every_method_checked,
              lr_test_helper_fixture_teardown);
  g_test_add ("/helper/auth/set-control-url", LrTestHelperFixture, NULL,
              lr_test_helper_fixture_setup, test_set_control_url,
              lr_test_helper_fixture_teardown);
  g_test_add ("/helper/auth/granted-by-rule", LrTestHelperFixture, NULL,
              lr_test_helper_fixture_setup, test_granted_by_rule,
              lr_test_helper_fixture_teardown);
  g_test_add_func ("/helper/auth/session-mode-refuses-root", test_session_mode_refuses_root);
  g_test_add ("/helper/auth/name-policy", LrTestHelperFixture, NULL,
              lr_test_helper_fixture_setup, test_name_policy, lr_test_helper_fixture_teardown);
  g_test_add ("/helper/auth/session-mode", LrTestHelperFixture, NULL,
              lr_test_helper_fixture_setup, test_session_mode, lr_test_helper_fixture_teardown);

  return g_test_run ();
}
