/* test-helper-party.c: parties through lanrage-helper, end to end on the control plane
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Real lanrage-control, real helpers on a private system bus (two helpers share it under
 * two names), as root. Each helper brings up a real WireGuard interface (wireguard-go, as
 * the auto backend picks it without NetworkManager) inside the test's own network
 * namespace (lr_test_helper_isolate); what is tested here is the D-Bus API, the arguments,
 * the errors and the party session. The lab suite tests packets through the tunnel.
 */
#include "lr-test-helper.h"
#include "lrd-error.h"

#include <glib/gstdio.h>
#include <net/if.h>
#include <string.h>

/* Whether the helper's WireGuard interface exists (in the test's own namespace). */
static gboolean
has_interface (LrTestHelper *helper)
{
  return if_nametoindex (lr_test_helper_get_interface (helper)) != 0;
}

static void
create_party (LrTestHelper *helper,
              const char   *name,
              const char   *display_name)
{
  g_autoptr(GError) error = NULL;

  lrd_helper1_call_create_party_sync (lr_test_helper_get_proxy (helper), name, display_name,
                                      NULL, &error);
  g_assert_no_error (error);
  lr_test_helper_wait_state (helper, "connected");
}

static void
join_party (LrTestHelper *helper,
            const char   *code,
            const char   *display_name)
{
  g_autoptr(GError) error = NULL;

  lrd_helper1_call_join_party_sync (lr_test_helper_get_proxy (helper), code, display_name,
                                    NULL, &error);
  g_assert_no_error (error);
  lr_test_helper_wait_state (helper, "connected");
}

static gboolean
has_last_error (gpointer data)
{
  return g_strcmp0 (lrd_helper1_get_last_error (data), "") != 0;
}

static void
wait_last_error (LrdHelper1 *proxy)
{
  g_assert_true (lr_test_wait_for (has_last_error, proxy, LR_TEST_HELPER_TIMEOUT_MS));
}

static LrTestHelper *
start_second_helper (LrTestHelperFixture *fixture,
                     const char          *control_url)
{
  LrTestHelper *helper = lr_test_helper_new (fixture->bus,
                                             control_url != NULL
                                               ? control_url
                                               : lr_test_server_get_url (fixture->server),
                                             LR_TEST_HELPER_BUS_NAME_2);

  lr_test_helper_start (helper);
  return helper;
}

/* Bad arguments */

typedef struct
{
  const char *method;
  const char *first;
  const char *second;
  LrdError    expected;
  const char *dbus_name;
} BadCall;

static void
assert_unchanged_after (LrdHelper1    *proxy,
                        const BadCall *call,
                        const char    *state,
                        const char    *party_id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *remote = NULL;

  if (g_str_equal (call->method, "CreateParty"))
    lrd_helper1_call_create_party_sync (proxy, call->first, call->second, NULL, &error);
  else
    lrd_helper1_call_join_party_sync (proxy, call->first, call->second, NULL, &error);

  g_assert_error (error, LRD_ERROR, (gint) call->expected);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, call->dbus_name);
  /* A message a person understands, not a dump of the argument. */
  g_dbus_error_strip_remote_error (error);
  g_assert_cmpuint (strlen (error->message), >, 10);
  g_assert_cmpuint (strlen (error->message), <, 200);

  /* Nothing changed: not the state, not the party, not even LastError. */
  lr_test_run_for (20);
  g_assert_cmpstr (lrd_helper1_get_state (proxy), ==, state);
  g_assert_cmpstr (lrd_helper1_get_party_id (proxy), ==, party_id);
  if (g_str_equal (state, "idle"))
    g_assert_cmpstr (lrd_helper1_get_last_error (proxy), ==, "");
}

static void
test_bad_arguments (LrTestHelperFixture *fixture,
                    gconstpointer        data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  g_autofree char *huge = g_strnfill (10 * 1024, 'x');
  g_autofree char *party_id = NULL;
  const BadCall calls[] = {
    { "JoinParty", "", "me", LRD_ERROR_INVALID_INVITE_CODE,
      "io.lanrage.Helper1.Error.InvalidInviteCode" },
    { "JoinParty", "garbage!", "me", LRD_ERROR_INVALID_INVITE_CODE,
      "io.lanrage.Helper1.Error.InvalidInviteCode" },
    { "JoinParty", "7KQM-2XWD-9RT", "me", LRD_ERROR_INVALID_INVITE_CODE,
      "io.lanrage.Helper1.Error.InvalidInviteCode" },
    { "JoinParty", huge, "me", LRD_ERROR_INVALID_INVITE_CODE,
      "io.lanrage.Helper1.Error.InvalidInviteCode" },
    { "JoinParty", "7KQM-2XWD-9RTF", huge, LRD_ERROR_INVALID_NAME,
      "io.lanrage.Helper1.Error.InvalidName" },
    { "CreateParty", huge, "me", LRD_ERROR_INVALID_NAME,
      "io.lanrage.Helper1.Error.InvalidName" },
    { "CreateParty", "", "me", LRD_ERROR_INVALID_NAME,
      "io.lanrage.Helper1.Error.InvalidName" },
    { "CreateParty", "   ", "me", LRD_ERROR_INVALID_NAME,
      "io.lanrage.Helper1.Error.InvalidName" },
    { "CreateParty", "tab\there", "me", LRD_ERROR_INVALID_NAME,
      "io.lanrage.Helper1.Error.InvalidName" },
    { "CreateParty", "LAN night", huge, LRD_ERROR_INVALID_NAME,
      "io.lanrage.Helper1.Error.InvalidName" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    assert_unchanged_after (proxy, &calls[i], "idle", "");

  /* In a party, bad arguments are refused for what they are, and the party stays. */
  create_party (fixture->helper, "Still here", "host");
  party_id = lrd_helper1_dup_party_id (proxy);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    assert_unchanged_after (proxy, &calls[i], "connected", party_id);
}

static void
test_state_errors (LrTestHelperFixture *fixture,
                   gconstpointer        data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  g_autoptr(GError) error = NULL;

  lrd_helper1_call_leave_party_sync (proxy, NULL, &error);
  g_assert_error (error, LRD_ERROR, LRD_ERROR_NOT_IN_PARTY);
  g_clear_error (&error);
  lrd_helper1_call_refresh_sync (proxy, NULL, &error);
  g_assert_error (error, LRD_ERROR, LRD_ERROR_NOT_IN_PARTY);
  g_clear_error (&error);

  /* Well formed, but no party has it. */
  lrd_helper1_call_join_party_sync (proxy, "7kqm 2xwd 9rtf", "me", NULL, &error);
  g_assert_error (error, LRD_ERROR, LRD_ERROR_PARTY_NOT_FOUND);
  g_clear_error (&error);
  lr_test_helper_wait_state (fixture->helper, "idle");
  wait_last_error (proxy);

  create_party (fixture->helper, "First", "host");
  g_assert_cmpstr (lrd_helper1_get_last_error (proxy), ==, "");
  lrd_helper1_call_create_party_sync (proxy, "Second", "host", NULL, &error);
  g_assert_error (error, LRD_ERROR, LRD_ERROR_ALREADY_IN_PARTY);
  g_clear_error (&error);
  g_assert_cmpstr (lrd_helper1_get_party_name (proxy), ==, "First");

  lrd_helper1_call_refresh_sync (proxy, NULL, &error);
  g_assert_no_error (error);
  lrd_helper1_call_leave_party_sync (proxy, NULL, &error);
  g_assert_no_error (error);
  lr_test_helper_wait_state (fixture->helper, "idle");
  g_assert_cmpstr (lrd_helper1_get_party_id (proxy), ==, "");
}

static void
test_server_unreachable (LrTestHelperFixture *fixture,
                         gconstpointer        data)
{
  /* Port 1 on loopback: nothing listens, the connection is refused at once. */
  g_autoptr(LrTestHelper) helper = start_second_helper (fixture, "http://127.0.0.1:1/");
  LrdHelper1 *proxy = lr_test_helper_get_proxy (helper);
  const char *argv[] = { "--json", "create", "Nobody home", NULL };
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;

  lrd_helper1_call_join_party_sync (proxy, "7KQM-2XWD-9RTF", "me", NULL, &error);
  g_assert_error (error, LRD_ERROR, LRD_ERROR_SERVER_UNREACHABLE);
  lr_test_helper_wait_state (helper, "idle");

  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME_2, NULL, argv, &out,
                                    NULL), ==, 1);
  root = lr_test_json_parse (out);
  g_assert_cmpstr (lr_test_json_string (root, "error.name"), ==,
                   "io.lanrage.Helper1.Error.ServerUnreachable");
  wait_last_error (proxy);
  g_assert_cmpstr (lrd_helper1_get_state (proxy), ==, "idle");
  g_assert_nonnull (strstr (lrd_helper1_get_last_error (proxy), "Cannot reach"));
}

/* lanragectl's exit statuses: 2 for usage, 1 with a message for a helper that is not
 * there. */
static void
test_ctl_errors (LrTestHelperFixture *fixture,
                 gconstpointer        data)
{
  const char *unknown[] = { "frobnicate", NULL };
  const char *missing[] = { "join", NULL };
  const char *extra[] = { "leave", "now", NULL };
  const char *status_argv[] = { "--json", "status", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) root = NULL;

  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, NULL, unknown, NULL,
                                    NULL), ==, 2);
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, NULL, missing, NULL,
                                    NULL), ==, 2);
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, NULL, extra, NULL,
                                    NULL), ==, 2);

  /* Nobody owns the second name in this test. */
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME_2, NULL, status_argv,
                                    &out, &err), ==, 1);
  root = lr_test_json_parse (out);
  g_assert_nonnull (strstr (lr_test_json_string (root, "error.message"), "not running"));
  g_assert_nonnull (strstr (err, "not running"));
}

/* Two helpers in one party */

static void
test_create_and_join (LrTestHelperFixture *fixture,
                      gconstpointer        data)
{
  g_autoptr(LrTestHelper) second = start_second_helper (fixture, NULL);
  LrdHelper1 *host = lr_test_helper_get_proxy (fixture->helper);
  LrdHelper1 *guest = lr_test_helper_get_proxy (second);
  const char *join_argv[4] = { "--json", "join", NULL, NULL };
  const char *peers_argv[] = { "--json", "peers", NULL };
  const char *leave_argv[] = { "leave", NULL };
  g_autofree char *out = NULL;
  g_autofree char *code = NULL;
  g_autofree char *typed_code = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(LrdHelper1Peer) guest_seen = NULL;
  g_autoptr(LrdHelper1Peer) host_seen = NULL;
  JsonArray *peers;

  create_party (fixture->helper, "Friday night", "alice");
  code = lrd_helper1_dup_invite_code (host);

  /* Invite codes are read aloud and retyped: lower case, no dashes. */
  typed_code = g_ascii_strdown (g_strdelimit (code, "-", ' '), -1);
  join_argv[2] = typed_code;
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME_2, NULL, join_argv,
                                    &out, NULL), ==, 0);
  root = lr_test_json_parse (out);
  g_assert_cmpstr (lr_test_json_string (root, "State"), ==, "connected");
  g_assert_cmpstr (lr_test_json_string (root, "PartyId"), ==, lrd_helper1_get_party_id (host));
  g_assert_cmpstr (lr_test_json_string (root, "PartyName"), ==, "Friday night");
  g_assert_true (lr_test_virtual_ip_is_valid (lr_test_json_string (root, "VirtualAddress")));
  g_assert_cmpstr (lr_test_json_string (root, "VirtualAddress"), !=,
                   lrd_helper1_get_virtual_address (host));
  lr_test_helper_wait_state (second, "connected");

  /* Each sees the other through the ObjectManager. */
  lr_test_helper_wait_peers (fixture->helper, 1);
  lr_test_helper_wait_peers (second, 1);
  guest_seen = lr_test_helper_find_peer (fixture->helper, lrd_helper1_get_virtual_address (guest));
  host_seen = lr_test_helper_find_peer (second, lrd_helper1_get_virtual_address (host));
  g_assert_nonnull (guest_seen);
  g_assert_nonnull (host_seen);
  g_assert_cmpstr (lrd_helper1_peer_get_name (host_seen), ==, "alice");
  g_assert_cmpstr (lrd_helper1_peer_get_path (host_seen), ==, "connecting");
  g_assert_true (lrd_helper1_peer_get_online (host_seen));
  g_assert_cmpfloat (lrd_helper1_peer_get_latency_ms (host_seen), ==, -1);
  g_assert_true (g_str_has_prefix (g_dbus_proxy_get_object_path (G_DBUS_PROXY (host_seen)),
                                   "/io/lanrage/Helper1/peers/"));

  /* lanragectl lists the same, as JSON for scripts. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&root, json_node_unref);
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME, NULL, peers_argv,
                                    &out, NULL), ==, 0);
  root = lr_test_json_parse (out);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  peers = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (peers), ==, 1);
  g_assert_cmpstr (lr_test_json_string (json_array_get_element (peers, 0), "VirtualAddress"), ==,
                   lrd_helper1_get_virtual_address (guest));
  g_assert_cmpstr (lr_test_json_string (json_array_get_element (peers, 0), "Path"), ==,
                   "connecting");

  /* Leaving removes the peer objects on both sides. */
  g_assert_cmpint (lr_test_ctl_run (fixture->bus, LR_TEST_HELPER_BUS_NAME_2, NULL, leave_argv,
                                    NULL, NULL), ==, 0);
  lr_test_helper_wait_state (second, "idle");
  lr_test_helper_wait_peers (second, 0);
  lr_test_helper_wait_peers (fixture->helper, 0);
  /* ...and the guest's WireGuard interface; the host's stays. */
  g_assert_false (has_interface (second));
  g_assert_true (has_interface (fixture->helper));
  g_assert_cmpstr (lrd_helper1_get_virtual_address (guest), ==, "");
  g_assert_cmpstr (lrd_helper1_get_last_error (guest), ==, "");
  g_assert_cmpstr (lrd_helper1_get_state (host), ==, "connected");
}

typedef struct
{
  LrdHelper1 *proxy;
  GPtrArray  *states;
} StateLog;

static void
state_changed_cb (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  StateLog *log = user_data;

  g_ptr_array_add (log->states, g_strdup (lrd_helper1_get_state (log->proxy)));
}

static void
properties_changed_cb (GDBusProxy *proxy,
                       GVariant   *changed,
                       GStrv       invalidated,
                       gpointer    user_data)
{
  GPtrArray *states = user_data;
  const char *state = NULL;

  if (g_variant_lookup (changed, "State", "&s", &state))
    g_ptr_array_add (states, g_strdup (state));
}

/* Clients follow the helper through PropertiesChanged, never by polling: every step of a
 * create and a leave is signalled, in order. */
static void
test_signals (LrTestHelperFixture *fixture,
              gconstpointer        data)
{
  LrdHelper1 *proxy = lr_test_helper_get_proxy (fixture->helper);
  g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  gulong handler;

  handler = g_signal_connect (proxy, "g-properties-changed", G_CALLBACK (properties_changed_cb),
                              states);
  create_party (fixture->helper, "Signalled", "host");
  lrd_helper1_call_leave_party_sync (proxy, NULL, &error);
  g_assert_no_error (error);
  lr_test_helper_wait_state (fixture->helper, "idle");
  g_signal_handler_disconnect (proxy, handler);

  g_assert_cmpuint (states->len, ==, 3);
  g_assert_cmpstr (states->pdata[0], ==, "joining");
  g_assert_cmpstr (states->pdata[1], ==, "connected");
  g_assert_cmpstr (states->pdata[2], ==, "idle");
}

/* The party must survive a restart of the control server: the events socket comes back
 * (with backoff) and events flow again; the state never leaves "connected". */
static void
test_control_restart (LrTestHelperFixture *fixture,
                      gconstpointer        data)
{
  g_autoptr(LrTestHelper) second = start_second_helper (fixture, NULL);
  LrdHelper1 *host = lr_test_helper_get_proxy (fixture->helper);
  g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func (g_free);
  StateLog log = { host, states };
  g_autofree char *code = NULL;
  g_autofree char *party_id = NULL;
  g_autoptr(GError) error = NULL;
  gulong handler;

  create_party (fixture->helper, "Survivors", "host");
  code = lrd_helper1_dup_invite_code (host);
  party_id = lrd_helper1_dup_party_id (host);
  handler = g_signal_connect (host, "notify::state", G_CALLBACK (state_changed_cb), &log);

  lr_test_server_pin_port (fixture->server);
  lr_test_server_restart (fixture->server, FALSE);

  /* A join after the restart reaches the host only through its new events socket. */
  join_party (second, code, "late");
  lr_test_helper_wait_peers (fixture->helper, 1);

  /* And once more, hard this time. */
  lr_test_server_restart (fixture->server, TRUE);
  lrd_helper1_call_leave_party_sync (lr_test_helper_get_proxy (second), NULL, &error);
  g_assert_no_error (error);
  lr_test_helper_wait_peers (fixture->helper, 0);

  g_signal_handler_disconnect (host, handler);
  g_assert_cmpuint (states->len, ==, 0);
  g_assert_cmpstr (lrd_helper1_get_state (host), ==, "connected");
  g_assert_cmpstr (lrd_helper1_get_party_id (host), ==, party_id);
}

/* A restarted helper rejoins the party it was in. */
static void
test_helper_restart (LrTestHelperFixture *fixture,
                     gconstpointer        data)
{
  g_autoptr(LrTestHelper) second = start_second_helper (fixture, NULL);
  LrdHelper1 *host;
  g_autofree char *code = NULL;
  g_autofree char *party_id = NULL;
  g_autofree char *address = NULL;
  g_autofree char *party_file = NULL;
  gint64 deadline;
  GStatBuf st;

  create_party (fixture->helper, "Sticky", "host");
  host = lr_test_helper_get_proxy (fixture->helper);
  code = lrd_helper1_dup_invite_code (host);
  party_id = lrd_helper1_dup_party_id (host);
  address = lrd_helper1_dup_virtual_address (host);

  /* The saved party holds a bearer token: private to root. It is written in a worker
   * thread while WireGuard comes up, so under load it may land just after the reply. */
  party_file = g_build_filename (lr_test_helper_get_state_dir (fixture->helper), "party", NULL);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_stat (party_file, &st) != 0 && g_get_monotonic_time () < deadline)
    g_usleep (10000);
  g_assert_cmpint (g_stat (party_file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (has_interface (fixture->helper));

  /* A stopped helper leaves no interface behind; the restarted one brings it back. */
  lr_test_helper_stop (fixture->helper);
  g_assert_false (has_interface (fixture->helper));
  lr_test_helper_start (fixture->helper);
  host = lr_test_helper_get_proxy (fixture->helper);
  lr_test_helper_wait_state (fixture->helper, "connected");
  g_assert_cmpstr (lrd_helper1_get_party_id (host), ==, party_id);
  g_assert_cmpstr (lrd_helper1_get_virtual_address (host), ==, address);
  g_assert_cmpstr (lrd_helper1_get_invite_code (host), ==, code);
  g_assert_true (has_interface (fixture->helper));

  join_party (second, code, "guest");
  lr_test_helper_wait_peers (fixture->helper, 1);
}

/* The host closes the party behind the helper's back (through the API, with the helper's
 * own token): the helper goes back to idle and says why. */
static void
test_party_closed (LrTestHelperFixture *fixture,
                   gconstpointer        data)
{
  LrdHelper1 *host = lr_test_helper_get_proxy (fixture->helper);
  g_autofree char *party_file = NULL;
  g_autofree char *path = NULL;
  g_autofree char *token = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LrTestResponse) response = NULL;

  create_party (fixture->helper, "Short-lived", "host");
  lr_test_run_for (200);

  party_file = g_build_filename (lr_test_helper_get_state_dir (fixture->helper), "party", NULL);
  g_key_file_load_from_file (keyfile, party_file, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  token = g_key_file_get_string (keyfile, "party", "token", &error);
  g_assert_no_error (error);
  path = g_strdup_printf ("/v1/parties/%s", lrd_helper1_get_party_id (host));
  response = lr_test_request (fixture->server, "DELETE", path, token, NULL);
  lr_test_assert_status (response, 204);

  lr_test_helper_wait_state (fixture->helper, "idle");
  wait_last_error (host);
  g_assert_cmpstr (lrd_helper1_get_party_id (host), ==, "");
  /* Forgotten, so a restart does not try to rejoin it. */
  lr_test_run_for (100);
  g_assert_false (g_file_test (party_file, G_FILE_TEST_EXISTS));
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

  ADD ("/helper/party/bad-arguments", test_bad_arguments);
  ADD ("/helper/party/state-errors", test_state_errors);
  ADD ("/helper/party/server-unreachable", test_server_unreachable);
  ADD ("/helper/party/lanragectl-errors", test_ctl_errors);
  ADD ("/helper/party/signals", test_signals);
  ADD ("/helper/party/create-and-join", test_create_and_join);
  ADD ("/helper/party/control-restart", test_control_restart);
  ADD ("/helper/party/helper-restart", test_helper_restart);
  ADD ("/helper/party/party-closed", test_party_closed);

  return g_test_run ();
}
