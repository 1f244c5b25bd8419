/* test-helper-lan.c: LAN discovery's D-Bus members of lanrage-helper
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Real lanrage-control, a real helper on a private system bus with a real polkitd, as
 * root (the test's own network namespace, wireguard-go): the switch, the deny list and
 * "known titles only" set, refused, kept across restarts; the bridge started with the party
 * (and the switch) and stopped when it is left (or the switch is turned off). What the
 * bridge carries is tested in the lab suite (helper-lab's lan-discovery cases).
 */
#include "lr-test-helper.h"
#include "lrd-error.h"

#include <glib/gstdio.h>
#include <string.h>

#define UNPRIVILEGED_USER "nobody"

/* The helper's current value of @name (GetStatus reads the service's own values, not a
 * proxy's cache that a PropertiesChanged signal may not have reached yet). */
static GVariant *
get_property (LrTestHelper *helper,
              const char   *name)
{
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *value;

  lrd_helper1_call_get_status_sync (lr_test_helper_get_proxy (helper), &status, NULL, &error);
  g_assert_no_error (error);
  value = g_variant_lookup_value (status, name, NULL);
  g_assert_nonnull (value);
  return value;
}

static void
assert_deny_list (LrTestHelper *helper,
                  GVariant     *expected)
{
  g_autoptr(GVariant) deny = get_property (helper, "DenyList");

  if (!g_variant_equal (deny, expected))
    {
      g_autofree char *got = g_variant_print (deny, FALSE);
      g_autofree char *want = g_variant_print (expected, FALSE);

      g_error ("DenyList is %s, expected %s", got, want);
    }
}

static gboolean
known_titles_only (LrTestHelper *helper)
{
  g_autoptr(GVariant) value = get_property (helper, "KnownTitlesOnly");

  return g_variant_get_boolean (value);
}

static gboolean
lan_discovery (LrTestHelper *helper)
{
  g_autoptr(GVariant) value = get_property (helper, "LanDiscovery");

  return g_variant_get_boolean (value);
}

static char *
lan_bridge (LrTestHelper *helper)
{
  g_autoptr(GVariant) value = get_property (helper, "LanBridge");

  return g_variant_dup_string (value, NULL);
}

static void
set_deny_list (LrTestHelper  *helper,
               const char    *text,
               GError       **error)
{
  g_autoptr(GVariant) entries = g_variant_parse (G_VARIANT_TYPE ("a(qqss)"), text, NULL, NULL,
                                                 NULL);

  g_assert_nonnull (entries);
  lrd_helper1_call_set_deny_list_sync (lr_test_helper_get_proxy (helper),
                                       g_variant_ref_sink (g_steal_pointer (&entries)), NULL,
                                       error);
}

/* gdbus as @user: a call straight on the bus, as a script would make it. */
static int
gdbus_as (LrTestHelperFixture  *fixture,
          const char           *user,
          const char           *method,
          const char           *argument,
          char                **out_stderr)
{
  g_autofree char *env_address = g_strconcat ("DBUS_SYSTEM_BUS_ADDRESS=",
                                              lr_test_bus_get_address (fixture->bus), NULL);
  g_autofree char *dest = g_strdup_printf ("--dest=%s", LR_TEST_HELPER_BUS_NAME);
  const char *env[] = { env_address, NULL };
  const char *argv[] = { "gdbus", "call", "--system", dest, "--object-path=/io/lanrage/Helper1",
                         "--timeout=10", "--method", method, argument, NULL };
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  process = lr_test_spawn_as (user, env, argv, NULL,
                              G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, out_stderr, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  return g_subprocess_get_exit_status (process);
}

static void
restart (LrTestHelperFixture *fixture)
{
  lr_test_helper_stop (fixture->helper);
  lr_test_helper_start (fixture->helper);
}

/* The defaults: the built-in deny list (system chatter, each with its reason), every
 * port, no bridge without a party. */
static void
test_defaults (LrTestHelperFixture *fixture,
               gconstpointer        data)
{
  g_autoptr(GVariant) deny = get_property (fixture->helper, "DenyList");
  g_autoptr(GVariant) games = get_property (fixture->helper, "Games");
  g_autoptr(GVariant) ports = get_property (fixture->helper, "BridgedPorts");
  g_autofree char *bridge = lan_bridge (fixture->helper);
  g_autofree char *out = NULL;
  const char *status_argv[] = { "status", NULL };
  const char *games_argv[] = { "games", NULL };
  const char *reason;
  gboolean mdns = FALSE;
  guint16 first, last;
  const char *group;
  GVariantIter iter;

  g_assert_cmpuint (g_variant_n_children (deny), >=, 10);
  g_variant_iter_init (&iter, deny);
  while (g_variant_iter_next (&iter, "(qq&s&s)", &first, &last, &group, &reason))
    {
      g_assert_cmpuint (first, <=, last);
      g_assert_cmpuint (strlen (reason), >, 0);
      mdns |= first <= 5353 && 5353 <= last;
    }
  g_assert_true (mdns);
  g_assert_true (lan_discovery (fixture->helper));
  g_assert_false (known_titles_only (fixture->helper));
  g_assert_cmpstr (bridge, ==, "off");
  g_assert_cmpuint (g_variant_n_children (games), ==, 0);
  g_assert_cmpuint (g_variant_n_children (ports), ==, 0);

  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, UNPRIVILEGED_USER,
                                    status_argv, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "LAN discovery:   off"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, UNPRIVILEGED_USER,
                                    games_argv, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "No games"));
}

/* Root sets, nobody is refused, bad lists change nothing, and it all survives a restart;
 * a reset goes back to the built-in list. */
static void
test_settings (LrTestHelperFixture *fixture,
               gconstpointer        data)
{
  const char *mine = "[(uint16 4445, uint16 4445, '224.0.2.60', 'Not my Minecraft'), "
                     "(uint16 27015, uint16 27020, '', 'Source browsers are noisy')]";
  const char *bad[] = {
    "[(uint16 0, uint16 10, '', 'port zero')]",
    "[(uint16 20, uint16 10, '', 'backwards')]",
    "[(uint16 10, uint16 10, '10.0.0.1', 'not a group')]",
    "[(uint16 10, uint16 10, '224.0.0', 'short group')]",
    "[(uint16 10, uint16 10, '', '')]",
    "[(uint16 10, uint16 10, '', 'bell\\u0007')]",
    "[(uint16 10, uint16 10, '', 'fine'), (uint16 11, uint16 11, '', 'not\\nfine')]",
  };
  g_autoptr(GVariant) defaults = get_property (fixture->helper, "DenyList");
  g_autoptr(GVariant) expected = g_variant_ref_sink (g_variant_parse (G_VARIANT_TYPE ("a(qqss)"),
                                                                      mine, NULL, NULL, NULL));
  g_autofree char *path = g_build_filename (lr_test_helper_get_state_dir (fixture->helper),
                                            "lan", NULL);
  g_autoptr(GString) many = g_string_new ("[");
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  GStatBuf st;

  set_deny_list (fixture->helper, mine, &error);
  g_assert_no_error (error);
  assert_deny_list (fixture->helper, expected);
  lrd_helper1_call_set_known_titles_only_sync (lr_test_helper_get_proxy (fixture->helper), TRUE,
                                               NULL, &error);
  g_assert_no_error (error);
  g_assert_true (known_titles_only (fixture->helper));

  /* On disk by the time the call returns, private to root. */
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("bad deny list %s", bad[i]);
      set_deny_list (fixture->helper, bad[i], &error);
      g_assert_error (error, LRD_ERROR, LRD_ERROR_INVALID_DENY_LIST);
      g_clear_error (&error);
      assert_deny_list (fixture->helper, expected);
    }
  for (guint i = 0; i < 257; i++)
    g_string_append_printf (many, "%s(uint16 %u, uint16 %u, '', 'entry %u')", i > 0 ? ", " : "",
                            1000 + i, 1000 + i, i);
  g_string_append (many, "]");
  set_deny_list (fixture->helper, many->str, &error);
  g_assert_error (error, LRD_ERROR, LRD_ERROR_INVALID_DENY_LIST);
  g_clear_error (&error);
  assert_deny_list (fixture->helper, expected);

  /* Nobody may change them (configure is for administrators), but may read them. */
  g_assert_cmpint (gdbus_as (fixture, UNPRIVILEGED_USER, "io.lanrage.Helper1.ResetDenyList",
                             NULL, &err), !=, 0);
  g_assert_nonnull (strstr (err, "io.lanrage.Helper1.Error.NotAuthorized"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gdbus_as (fixture, UNPRIVILEGED_USER, "io.lanrage.Helper1.SetKnownTitlesOnly",
                             "false", &err), !=, 0);
  g_assert_nonnull (strstr (err, "io.lanrage.Helper1.Error.NotAuthorized"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gdbus_as (fixture, UNPRIVILEGED_USER, "io.lanrage.Helper1.SetDenyList",
                             "[(uint16 1, uint16 65535, '', 'Everything')]", &err), !=, 0);
  g_assert_nonnull (strstr (err, "io.lanrage.Helper1.Error.NotAuthorized"));
  assert_deny_list (fixture->helper, expected);
  g_assert_true (known_titles_only (fixture->helper));

  /* Kept across a restart. */
  restart (fixture);
  assert_deny_list (fixture->helper, expected);
  g_assert_true (known_titles_only (fixture->helper));

  /* A reset is the built-in list again, also after a restart; the switch stays. */
  lrd_helper1_call_reset_deny_list_sync (lr_test_helper_get_proxy (fixture->helper), NULL,
                                         &error);
  g_assert_no_error (error);
  assert_deny_list (fixture->helper, defaults);
  restart (fixture);
  assert_deny_list (fixture->helper, defaults);
  g_assert_true (known_titles_only (fixture->helper));
}

/* A damaged settings file means the defaults, and the helper serves all the same. */
static void
test_damaged_file (LrTestHelperFixture *fixture,
                   gconstpointer        data)
{
  g_autoptr(GVariant) defaults = get_property (fixture->helper, "DenyList");
  g_autofree char *path = g_build_filename (lr_test_helper_get_state_dir (fixture->helper),
                                            "lan", NULL);
  const char *damaged[] = {
    "[lan]\nlan-discovery=maybe\nknown-titles-only=maybe\n"
    "deny-list=[(uint16 0, uint16 0, '', '')]\n",
    "[lan]\ndeny-list=not a variant at all\n",
    "\x01\x02 not a keyfile",
  };

  for (guint i = 0; i < G_N_ELEMENTS (damaged); i++)
    {
      lr_test_helper_stop (fixture->helper);
      g_assert_true (g_file_set_contents_full (path, damaged[i], -1,
                                               G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
      lr_test_helper_start (fixture->helper);
      assert_deny_list (fixture->helper, defaults);
      g_assert_true (lan_discovery (fixture->helper));
      g_assert_false (known_titles_only (fixture->helper));
    }
}

static void
count_reply_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  guint *replies = user_data;
  g_autoptr(GError) error = NULL;

  lrd_helper1_call_set_known_titles_only_finish (LRD_HELPER1 (source), result, &error);
  g_assert_no_error (error);
  (*replies)++;
}

static gboolean
all_replied (gpointer data)
{
  return *(guint *) data == 41;
}

/* Changes in quick succession (each saved before its answer) leave the last one on disk,
 * never an older one that finished writing late. */
static void
test_last_change_kept (LrTestHelperFixture *fixture,
                       gconstpointer        data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  guint replies = 0;

  for (guint i = 0; i <= 40; i++)
    lrd_helper1_call_set_known_titles_only (proxy, i % 2 == 0, NULL, count_reply_cb, &replies);
  g_assert_true (lr_test_wait_for (all_replied, &replies, LR_TEST_HELPER_TIMEOUT_MS));
  g_assert_true (known_titles_only (fixture->helper));
  restart (fixture);
  g_assert_true (known_titles_only (fixture->helper));
}

static gboolean
bridge_is (gpointer data)
{
  gpointer *args = data;
  g_autofree char *bridge = lan_bridge (args[0]);

  return g_str_equal (bridge, args[1]);
}

/* The bridge runs while the party's data plane is up, and lanragectl says so. */
static void
test_bridge_follows_party (LrTestHelperFixture *fixture,
                           gconstpointer        data)
{
  const char *create_argv[] = { "create", "Discovery night", NULL };
  const char *status_argv[] = { "status", NULL };
  const char *games_argv[] = { "--json", "games", NULL };
  const char *leave_argv[] = { "leave", NULL };
  gpointer on[] = { fixture->helper, "on" };
  gpointer off[] = { fixture->helper, "off" };
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) root = NULL;

  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, NULL, create_argv,
                                    NULL, NULL), ==, 0);
  g_assert_true (lr_test_wait_for (bridge_is, on, LR_TEST_HELPER_TIMEOUT_MS));
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, NULL, status_argv,
                                    &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "LAN discovery:   bridging, 0 games"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, NULL, games_argv,
                                    &out, NULL), ==, 0);
  root = lr_test_json_parse (out);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (root)), ==, 0);

  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, NULL, leave_argv,
                                    NULL, NULL), ==, 0);
  g_assert_true (lr_test_wait_for (bridge_is, off, LR_TEST_HELPER_TIMEOUT_MS));
}

/* lanragectl as @user (NULL: root); its exit status and standard output. */
static int
ctl (LrTestHelperFixture  *fixture,
     const char           *user,
     const char * const   *argv,
     char                **out_stdout)
{
  return lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, user, argv, out_stdout, NULL);
}

/* The switch: on by default; off and on again by root, over D-Bus and with lanragectl,
 * kept across a restart; refused to nobody, both ways, with nothing changed. Without a
 * party it is only kept: LanBridge stays "off". */
static void
test_switch (LrTestHelperFixture *fixture,
             gconstpointer        data)
{
  const char *off_argv[] = { "lan", "off", NULL };
  const char *on_argv[] = { "lan", "on", NULL };
  const char *bad_argv[] = { "lan", "maybe", NULL };
  const char *json_off_argv[] = { "--json", "lan", "off", NULL };
  const char *status_argv[] = { "status", NULL };
  g_autofree char *path = g_build_filename (lr_test_helper_get_state_dir (fixture->helper),
                                            "lan", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *bridge = NULL;
  g_autoptr(JsonNode) root = NULL;
  GStatBuf st;

  g_assert_true (lan_discovery (fixture->helper));
  lrd_helper1_call_set_lan_discovery_sync (lr_test_helper_get_proxy (fixture->helper), FALSE,
                                           NULL, &error);
  g_assert_no_error (error);
  g_assert_false (lan_discovery (fixture->helper));
  bridge = lan_bridge (fixture->helper);
  g_assert_cmpstr (bridge, ==, "off");
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (ctl (fixture, UNPRIVILEGED_USER, status_argv, &out), ==, 0);
  g_assert_nonnull (strstr (out, "LAN discovery:   turned off"));
  g_clear_pointer (&out, g_free);

  /* Kept across a restart, with the other settings as they were. */
  restart (fixture);
  g_assert_false (lan_discovery (fixture->helper));
  g_assert_false (known_titles_only (fixture->helper));

  /* Nobody may turn it on, or off again once root has turned it on; both keep the value. */
  g_assert_cmpint (gdbus_as (fixture, UNPRIVILEGED_USER, "io.lanrage.Helper1.SetLanDiscovery",
                             "true", &err), !=, 0);
  g_assert_nonnull (strstr (err, "io.lanrage.Helper1.Error.NotAuthorized"));
  g_clear_pointer (&err, g_free);
  g_assert_false (lan_discovery (fixture->helper));
  g_assert_cmpint (ctl (fixture, UNPRIVILEGED_USER, on_argv, NULL), ==, 1);
  g_assert_false (lan_discovery (fixture->helper));

  /* lanragectl as root. */
  g_assert_cmpint (ctl (fixture, NULL, on_argv, &out), ==, 0);
  g_assert_nonnull (strstr (out, "LAN discovery is on"));
  g_clear_pointer (&out, g_free);
  g_assert_true (lan_discovery (fixture->helper));
  g_assert_cmpint (gdbus_as (fixture, UNPRIVILEGED_USER, "io.lanrage.Helper1.SetLanDiscovery",
                             "false", &err), !=, 0);
  g_assert_nonnull (strstr (err, "io.lanrage.Helper1.Error.NotAuthorized"));
  g_assert_true (lan_discovery (fixture->helper));
  restart (fixture);
  g_assert_true (lan_discovery (fixture->helper));

  g_assert_cmpint (ctl (fixture, NULL, json_off_argv, &out), ==, 0);
  root = lr_test_json_parse (out);
  g_assert_false (json_object_get_boolean_member (json_node_get_object (root), "LanDiscovery"));
  g_assert_cmpstr (lr_test_json_string (root, "LanBridge"), ==, "off");
  g_assert_false (lan_discovery (fixture->helper));
  g_assert_cmpint (ctl (fixture, NULL, on_argv, NULL), ==, 0);
  g_assert_true (lan_discovery (fixture->helper));
  g_assert_cmpint (ctl (fixture, NULL, off_argv, NULL), ==, 0);
  g_assert_false (lan_discovery (fixture->helper));
  /* A word that is neither: a usage error, nothing called. */
  g_assert_cmpint (ctl (fixture, NULL, bad_argv, NULL), ==, 2);
  g_assert_false (lan_discovery (fixture->helper));
}

/* With the switch off, a party's data plane comes up without the bridge ("disabled");
 * turning it on opens the bridge at once, turning it off closes it at once, and leaving
 * is "off" again. */
static void
test_switch_with_party (LrTestHelperFixture *fixture,
                        gconstpointer        data)
{
  const char *create_argv[] = { "create", "Quiet night", NULL };
  const char *status_argv[] = { "status", NULL };
  const char *on_argv[] = { "lan", "on", NULL };
  const char *off_argv[] = { "lan", "off", NULL };
  const char *leave_argv[] = { "leave", NULL };
  gpointer on[] = { fixture->helper, "on" };
  gpointer off[] = { fixture->helper, "off" };
  gpointer disabled[] = { fixture->helper, "disabled" };
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  lrd_helper1_call_set_lan_discovery_sync (lr_test_helper_get_proxy (fixture->helper), FALSE,
                                           NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ctl (fixture, NULL, create_argv, NULL), ==, 0);
  g_assert_true (lr_test_wait_for (bridge_is, disabled, LR_TEST_HELPER_TIMEOUT_MS));
  g_assert_cmpint (ctl (fixture, NULL, status_argv, &out), ==, 0);
  g_assert_nonnull (strstr (out, "LAN discovery:   turned off"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (ctl (fixture, NULL, on_argv, NULL), ==, 0);
  g_assert_true (lr_test_wait_for (bridge_is, on, LR_TEST_HELPER_TIMEOUT_MS));
  g_assert_cmpint (ctl (fixture, NULL, status_argv, &out), ==, 0);
  g_assert_nonnull (strstr (out, "LAN discovery:   bridging"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (ctl (fixture, NULL, off_argv, NULL), ==, 0);
  g_assert_true (lr_test_wait_for (bridge_is, disabled, LR_TEST_HELPER_TIMEOUT_MS));
  {
    g_autoptr(GVariant) games = get_property (fixture->helper, "Games");
    g_autoptr(GVariant) ports = get_property (fixture->helper, "BridgedPorts");

    g_assert_cmpuint (g_variant_n_children (games), ==, 0);
    g_assert_cmpuint (g_variant_n_children (ports), ==, 0);
  }

  g_assert_cmpint (ctl (fixture, NULL, leave_argv, NULL), ==, 0);
  g_assert_true (lr_test_wait_for (bridge_is, off, LR_TEST_HELPER_TIMEOUT_MS));
  g_assert_false (lan_discovery (fixture->helper));
}

int
main (int    argc,
      char **argv)
{
  lr_test_helper_require_root ();
  lr_test_helper_isolate ();
  lr_test_control_init (&argc, &argv);
  (void) LRD_ERROR;

#define ADD(path, func) \
  g_test_add (path, LrTestHelperFixture, NULL, lr_test_helper_fixture_setup, func, \
              lr_test_helper_fixture_teardown)

  ADD ("/helper/lan/defaults", test_defaults);
  ADD ("/helper/lan/settings", test_settings);
  ADD ("/helper/lan/damaged-file", test_damaged_file);
  ADD ("/helper/lan/last-change-kept", test_last_change_kept);
  ADD ("/helper/lan/bridge-follows-party", test_bridge_follows_party);
  ADD ("/helper/lan/switch", test_switch);
  ADD ("/helper/lan/switch-with-party", test_switch_with_party);

  return g_test_run ();
}
