/* test-helper-session.c: the party session drives the WireGuard backend
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdSession in-process against the real lanrage-control. WireGuard cannot run here (no
 * kernel module, and the backends live on their own branch), so a recording backend stands
 * in for it: these tests check which calls the session makes, in which order, with which
 * values. The other members are plain HTTP clients of the server (tests/lr-test-control.h).
 */
#include "lr-test-control.h"
#include "lrd-error.h"
#include "lrd-session.h"
#include "lrd-session-private.h"

#include <sodium.h>
#include <string.h>

/* A backend that records every call as one line of text. */

#define TEST_TYPE_WG_BACKEND (test_wg_backend_get_type ())
G_DECLARE_FINAL_TYPE (TestWgBackend, test_wg_backend, TEST, WG_BACKEND, GObject)

struct _TestWgBackend
{
  GObject    parent_instance;
  GPtrArray *calls;
  gboolean   fail_up;
  gboolean   hold_up;
  GTask     *held_up;   /* an up call that answers only when the test says so */
};

static void test_wg_backend_iface_init (LrdWgBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestWgBackend, test_wg_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LRD_TYPE_WG_BACKEND,
                                                      test_wg_backend_iface_init))

static void
test_wg_backend_finalize (GObject *object)
{
  g_assert_null (TEST_WG_BACKEND (object)->held_up);
  g_ptr_array_unref (TEST_WG_BACKEND (object)->calls);
  G_OBJECT_CLASS (test_wg_backend_parent_class)->finalize (object);
}

static void
test_wg_backend_class_init (TestWgBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_wg_backend_finalize;
}

static void
test_wg_backend_init (TestWgBackend *self)
{
  self->calls = g_ptr_array_new_with_free_func (g_free);
}

static const char *
backend_get_name (LrdWgBackend *backend)
{
  return "test";
}

static void
record (LrdWgBackend        *backend,
        char                *line,
        gboolean             fail,
        GAsyncReadyCallback  callback,
        gpointer             user_data)
{
  TestWgBackend *self = TEST_WG_BACKEND (backend);
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);

  g_test_message ("backend: %s", line);
  g_ptr_array_add (self->calls, line);
  if (fail)
    g_task_return_new_error (task, LRD_ERROR, LRD_ERROR_NO_WIREGUARD,
                             "This computer has no WireGuard: install wireguard-go");
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
backend_finish (LrdWgBackend  *backend,
                GAsyncResult  *result,
                GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
backend_up_async (LrdWgBackend        *backend,
                  const LrKey         *private_key,
                  guint16              listen_port,
                  const char          *address_cidr,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  TestWgBackend *self = TEST_WG_BACKEND (backend);

  if (self->hold_up)
    {
      g_ptr_array_add (self->calls, g_strdup_printf ("up %u %s", listen_port, address_cidr));
      self->held_up = g_task_new (self, NULL, callback, user_data);
      return;
    }
  record (backend, g_strdup_printf ("up %u %s", listen_port, address_cidr), self->fail_up,
          callback, user_data);
}

static void
backend_set_peer_async (LrdWgBackend          *backend,
                        const LrdWgPeerConfig *peer,
                        GCancellable          *cancellable,
                        GAsyncReadyCallback    callback,
                        gpointer               user_data)
{
  g_autofree char *key = g_base64_encode (peer->public_key.bytes, LR_KEY_LENGTH);
  g_autofree char *ips = g_strjoinv (",", peer->allowed_ips);
  g_autofree char *host = NULL;

  /* The port is the relay client's, different every run: the host says whose it is. */
  if (lr_addr_is_set (&peer->endpoint))
    {
      g_autoptr(GInetSocketAddress) endpoint = lr_addr_to_gaddress (&peer->endpoint);

      host = g_inet_address_to_string (g_inet_socket_address_get_address (endpoint));
    }
  record (backend, g_strdup_printf ("set %s %s keepalive=%u endpoint=%s", key, ips,
                                    peer->persistent_keepalive,
                                    host != NULL ? host : "none"),
          FALSE, callback, user_data);
}

/* Not recorded: the peer table reads the counters every 2 s, whatever the test does. */
static void
backend_get_stats_async (LrdWgBackend        *backend,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (backend, cancellable, callback, user_data);
  GArray *stats = g_array_new (FALSE, TRUE, sizeof (LrdWgPeerStats));

  g_array_set_clear_func (stats, (GDestroyNotify) lrd_wg_peer_stats_clear);
  g_task_return_pointer (task, stats, (GDestroyNotify) g_array_unref);
}

static GArray *
backend_get_stats_finish (LrdWgBackend  *backend,
                          GAsyncResult  *result,
                          GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
backend_remove_peer_async (LrdWgBackend        *backend,
                           const LrKey         *public_key,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autofree char *key = g_base64_encode (public_key->bytes, LR_KEY_LENGTH);

  record (backend, g_strdup_printf ("remove %s", key), FALSE, callback, user_data);
}

static void
backend_down_async (LrdWgBackend        *backend,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  record (backend, g_strdup ("down"), FALSE, callback, user_data);
}

static void
test_wg_backend_iface_init (LrdWgBackendInterface *iface)
{
  iface->get_name = backend_get_name;
  iface->up_async = backend_up_async;
  iface->up_finish = backend_finish;
  iface->set_peer_async = backend_set_peer_async;
  iface->set_peer_finish = backend_finish;
  iface->remove_peer_async = backend_remove_peer_async;
  iface->remove_peer_finish = backend_finish;
  iface->get_stats_async = backend_get_stats_async;
  iface->get_stats_finish = backend_get_stats_finish;
  iface->down_async = backend_down_async;
  iface->down_finish = backend_finish;
}

/* The fixture: a server, and a session with the recording backend. */

typedef struct
{
  LrTestServer             *server;
  TestWgBackend            *backend;
  LrdHelper1               *iface;
  GDBusObjectManagerServer *manager;
  LrdSession               *session;
  char                     *state_dir;
} Fixture;

/* A session with the fixture's backend, keys and state folder, on the server at @url
 * (NULL: the fixture's), as the helper makes one at start. */
static LrdSession *
new_session (Fixture    *fixture,
             const char *url)
{
  g_autoptr(LrdControlClient) client = NULL;
  g_autoptr(GError) error = NULL;
  LrdSession *session;
  LrdKeys keys;

  g_assert_true (lrd_keys_load_or_create (&keys, fixture->state_dir, &error));
  client = lrd_control_client_new (url != NULL ? url : lr_test_server_get_url (fixture->server));
  session = lrd_session_new (fixture->iface, fixture->manager, client,
                             LRD_WG_BACKEND (fixture->backend), &keys, fixture->state_dir, 51820);
  lrd_keys_clear (&keys);
  return session;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->server = lr_test_server_new (NULL, LR_TEST_SERVER_NONE);
  lr_test_server_start (fixture->server);
  fixture->state_dir = g_build_filename (lr_test_server_get_tmpdir (fixture->server), "helper",
                                         NULL);
  g_assert_true (lrd_state_dir_ensure (fixture->state_dir, &error));

  fixture->backend = g_object_new (TEST_TYPE_WG_BACKEND, NULL);
  fixture->iface = lrd_helper1_skeleton_new ();
  fixture->manager = g_dbus_object_manager_server_new (LRD_HELPER_OBJECT_PATH);
  fixture->session = new_session (fixture, NULL);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->session);
  /* Let cancelled requests finish before the server goes. */
  lr_test_run_for (50);
  g_clear_object (&fixture->manager);
  g_clear_object (&fixture->iface);
  g_clear_object (&fixture->backend);
  g_clear_pointer (&fixture->state_dir, g_free);
  lr_test_server_stop (fixture->server, FALSE);
  g_clear_pointer (&fixture->server, lr_test_server_free);
}

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} Result;

static void
result_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Result *r = user_data;

  r->ok = g_task_propagate_boolean (G_TASK (result), &r->error);
  r->done = TRUE;
}

static void
wait_result (Result *r)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (!r->done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (r->done);
}

static guint
count_calls (TestWgBackend *backend,
             const char    *prefix)
{
  guint count = 0;

  for (guint i = 0; i < backend->calls->len; i++)
    if (g_str_has_prefix (backend->calls->pdata[i], prefix))
      count++;
  return count;
}

/* Polls the state folder until a party is saved there (@present) or none is, for up to
 * 5 s: the session writes and removes the file on a worker thread. */
static gboolean
wait_saved_party (Fixture  *fixture,
                  gboolean  present)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LrdSavedParty) saved = lrd_saved_party_load (fixture->state_dir, &error);

      g_assert_no_error (error);
      if ((saved != NULL) == present)
        return TRUE;
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      lr_test_run_for (10);
    }
}

static void
wait_calls (TestWgBackend *backend,
            const char    *prefix,
            guint          count)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (count_calls (backend, prefix) < count && g_get_monotonic_time () < deadline)
    lr_test_run_for (10);
  g_assert_cmpuint (count_calls (backend, prefix), ==, count);
}

static void
test_backend_follows_party (Fixture       *fixture,
                            gconstpointer  data)
{
  Result created = { 0 }, left = { 0 };
  g_autoptr(LrTestMember) bob = NULL;
  g_autoptr(LrTestResponse) response = NULL;
  g_autofree char *expected_up = NULL;
  g_autofree char *expected_set = NULL;
  g_autofree char *expected_remove = NULL;
  g_autofree char *suffix = NULL;
  g_autofree char *path = NULL;

  lrd_session_create_party_async (fixture->session, "Backed", "alice", NULL, result_cb,
                                  &created);
  wait_result (&created);
  g_assert_no_error (created.error);
  g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "connected");
  g_assert_cmpstr (lrd_helper1_get_backend (fixture->iface), ==, "test");

  /* Up with the server's address in the /16 and the configured port, before anything. */
  expected_up = g_strdup_printf ("up 51820 %s/16",
                                 lrd_helper1_get_virtual_address (fixture->iface));
  g_assert_cmpuint (fixture->backend->calls->len, >=, 1);
  g_assert_cmpstr (fixture->backend->calls->pdata[0], ==, expected_up);

  /* A member joins: one WireGuard peer, its /32 only, a keepalive, and the relay client's
   * loopback socket for it as its endpoint. */
  bob = lr_test_join (fixture->server, lrd_helper1_get_invite_code (fixture->iface), "bob");
  wait_calls (fixture->backend, "set ", 1);
  expected_set = g_strdup_printf ("set %s %s/32 keepalive=25 endpoint=127.0.0.1",
                                  bob->wg_public_key, bob->virtual_ip);
  g_assert_cmpstr (fixture->backend->calls->pdata[1], ==, expected_set);

  /* It leaves: the peer goes. */
  suffix = g_strdup_printf ("/peers/%s", bob->peer_id);
  path = lr_test_party_path (bob, suffix);
  response = lr_test_request (fixture->server, "DELETE", path, bob->token, NULL);
  lr_test_assert_status (response, 204);
  wait_calls (fixture->backend, "remove ", 1);
  expected_remove = g_strdup_printf ("remove %s", bob->wg_public_key);
  g_assert_cmpstr (fixture->backend->calls->pdata[2], ==, expected_remove);

  /* Leaving takes the interface down. */
  lrd_session_leave_party_async (fixture->session, NULL, result_cb, &left);
  wait_result (&left);
  g_assert_no_error (left.error);
  g_assert_cmpuint (fixture->backend->calls->len, ==, 4);
  g_assert_cmpstr (fixture->backend->calls->pdata[3], ==, "down");
  g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "idle");
}

static void
test_no_wireguard (Fixture       *fixture,
                   gconstpointer  data)
{
  Result created = { 0 };

  fixture->backend->fail_up = TRUE;
  lrd_session_create_party_async (fixture->session, "Unlucky", "alice", NULL, result_cb,
                                  &created);
  wait_result (&created);
  g_assert_error (created.error, LRD_ERROR, LRD_ERROR_NO_WIREGUARD);
  g_clear_error (&created.error);

  /* Back where it was, the reason shown, and nothing more asked of the backend. */
  g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "idle");
  g_assert_cmpstr (lrd_helper1_get_party_id (fixture->iface), ==, "");
  g_assert_nonnull (strstr (lrd_helper1_get_last_error (fixture->iface), "wireguard-go"));
  lr_test_run_for (50);
  g_assert_cmpuint (fixture->backend->calls->len, ==, 1);
  /* Nor a saved party that a restart would try to rejoin (the file goes on a worker
   * thread, soon after the answer). */
  g_assert_true (wait_saved_party (fixture, FALSE));
}

/* LeaveParty while WireGuard is still coming up: the create fails, and nothing is left
 * behind, not on the server, not in WireGuard. */
static void
test_leave_during_join (Fixture       *fixture,
                        gconstpointer  data)
{
  Result created = { 0 }, left = { 0 };
  g_autoptr(GTask) held = NULL;

  fixture->backend->hold_up = TRUE;
  lrd_session_create_party_async (fixture->session, "Changed my mind", "alice", NULL,
                                  result_cb, &created);
  while (fixture->backend->held_up == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "joining");

  lrd_session_leave_party_async (fixture->session, NULL, result_cb, &left);
  wait_result (&left);
  g_assert_no_error (left.error);
  g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "idle");

  /* WireGuard finishes coming up after all. */
  held = g_steal_pointer (&fixture->backend->held_up);
  g_task_return_boolean (held, TRUE);
  wait_result (&created);
  g_assert_error (created.error, LRD_ERROR, LRD_ERROR_FAILED);
  g_clear_error (&created.error);
  /* Down once for the leave, and once more for the up that finished after it. */
  wait_calls (fixture->backend, "down", 2);
  g_assert_cmpstr (g_ptr_array_index (fixture->backend->calls,
                                      fixture->backend->calls->len - 1), ==, "down");
  g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "idle");
  g_assert_cmpstr (lrd_helper1_get_party_id (fixture->iface), ==, "");

  /* A new party can start at once. */
  fixture->backend->hold_up = FALSE;
  memset (&created, 0, sizeof created);
  lrd_session_create_party_async (fixture->session, "Second try", "alice", NULL, result_cb,
                                  &created);
  wait_result (&created);
  g_assert_no_error (created.error);
  g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "connected");
}

/* A restarted helper rejoins its saved party: WireGuard comes back from what was saved, and
 * the peers from the events socket's snapshot. */
static void
test_restore (Fixture       *fixture,
              gconstpointer  data)
{
  Result created = { 0 }, stopped = { 0 };
  g_autoptr(LrdSavedParty) saved = NULL;
  g_autoptr(LrTestMember) bob = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected_up = NULL;
  g_autofree char *code = NULL;

  lrd_session_create_party_async (fixture->session, "Again", "alice", NULL, result_cb,
                                  &created);
  wait_result (&created);
  g_assert_no_error (created.error);
  code = g_strdup (lrd_helper1_get_invite_code (fixture->iface));
  bob = lr_test_join (fixture->server, code, "bob");
  wait_calls (fixture->backend, "set ", 1);
  expected_up = g_strdup_printf ("up 51820 %s/16",
                                 lrd_helper1_get_virtual_address (fixture->iface));

  lrd_session_shutdown_async (fixture->session, NULL, result_cb, &stopped);
  wait_result (&stopped);
  g_assert_no_error (stopped.error);
  g_assert_cmpstr (g_ptr_array_index (fixture->backend->calls,
                                      fixture->backend->calls->len - 1), ==, "down");
  lr_test_run_for (50);
  saved = lrd_saved_party_load (fixture->state_dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (saved);
  g_assert_cmpstr (saved->invite_code, ==, code);

  /* A new session, as after a restart. */
  g_clear_object (&fixture->session);
  g_ptr_array_set_size (fixture->backend->calls, 0);
  fixture->session = new_session (fixture, NULL);
  lrd_session_restore (fixture->session, saved);
  wait_calls (fixture->backend, "set ", 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->backend->calls, 0), ==, expected_up);
  g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "connected");
  g_assert_cmpstr (lrd_helper1_get_invite_code (fixture->iface), ==, code);
}

static void
saved_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Result *r = user_data;

  r->ok = lrd_saved_party_save_finish (result, &r->error);
  r->done = TRUE;
}

/* A damaged party file (an id that walks the server's paths, a token that would add a
 * header, an address that is none) is forgotten before any of it reaches a URL, a header
 * or WireGuard. */
#define WELL_FORMED_TOKEN "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void
test_restore_damaged (Fixture       *fixture,
                      gconstpointer  data)
{
  static const struct
  {
    const char *party_id;
    const char *token;
    const char *virtual_ip;
  } damaged[] = {
    { "0123456789abcdef/../../../v1/relays", WELL_FORMED_TOKEN, "10.66.0.7" },
    { "0123456789abcdef", "AAAA\r\nX-Injected: 1", "10.66.0.7" },
    { "0123456789abcdef", WELL_FORMED_TOKEN, "10.66.0.7/0 dev lo" },
    { "0123456789abcdef", WELL_FORMED_TOKEN, "8.8.8.8" },
  };
  g_autofree char *party_path = g_build_filename (fixture->state_dir, "party", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (damaged); i++)
    {
      LrdSavedParty saved = {
        .control_url = (char *) lr_test_server_get_url (fixture->server),
        .party_id = (char *) damaged[i].party_id,
        .party_name = (char *) "Damaged",
        .invite_code = (char *) "7KQM-2XWD-9RTF",
        .peer_id = (char *) "fedcba9876543210",
        .peer_name = (char *) "alice",
        .token = (char *) damaged[i].token,
        .virtual_ip = (char *) damaged[i].virtual_ip,
      };
      Result written = { 0 };
      gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

      lrd_saved_party_save_async (&saved, fixture->state_dir, NULL, saved_cb, &written);
      wait_result (&written);
      g_assert_no_error (written.error);
      g_assert_true (g_file_test (party_path, G_FILE_TEST_EXISTS));

      g_test_expect_message ("lanrage-helper", G_LOG_LEVEL_WARNING, "*saved party is damaged*");
      lrd_session_restore (fixture->session, &saved);
      g_test_assert_expected_messages ();

      g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "idle");
      g_assert_cmpstr (lrd_helper1_get_party_id (fixture->iface), ==, "");
      while (g_file_test (party_path, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
        lr_test_run_for (10);
      g_assert_false (g_file_test (party_path, G_FILE_TEST_EXISTS));
    }
  lr_test_run_for (50);
  g_assert_cmpuint (fixture->backend->calls->len, ==, 0);
}

typedef struct
{
  guint  status;
  char  *answer;
} CannedAnswer;

/* Answers every POST v1/parties with the canned status and JSON; anything else with 204. */
static void
canned_create_cb (SoupServer        *server,
                  SoupServerMessage *message,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  const CannedAnswer *canned = user_data;

  if (g_str_equal (soup_server_message_get_method (message), "POST") &&
      g_str_equal (path, "/v1/parties"))
    {
      soup_server_message_set_status (message, canned->status, NULL);
      soup_server_message_set_response (message, "application/json", SOUP_MEMORY_COPY,
                                        canned->answer, strlen (canned->answer));
    }
  else
    soup_server_message_set_status (message, 204, NULL);
}

/* A server that hands this machine an address outside 10.66.0.0/16 (the address would
 * become the interface's, and a peer's its route) or a name with control characters (it
 * would reach lanragectl's terminal) is not followed, and an error message with control
 * characters reaches LastError and the caller without them. Each answer is the real server's with
 * one value changed; a stand-in server serves it, since the real one never sends such. */
static void
test_hostile_answers (Fixture       *fixture,
                      gconstpointer  data)
{
  static const struct
  {
    const char *object;
    const char *member;
    const char *value;
  } changes[] = {
    { "peer", "virtual_ip", "8.8.8.8" },
    { "party", "name", "LAN night\x1b]0;owned\x07" },
  };
  g_autoptr(SoupServer) canned = NULL;
  g_autoptr(LrdSession) session = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  CannedAnswer answer = { 201, NULL };
  Result refused = { 0 };
  GSList *uris;

  canned = soup_server_new (NULL, NULL);
  soup_server_add_handler (canned, NULL, canned_create_cb, &answer, NULL);
  g_assert_true (soup_server_listen_local (canned, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (canned);
  url = g_uri_to_string (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  session = new_session (fixture, url);

  for (guint i = 0; i < G_N_ELEMENTS (changes); i++)
    {
      g_autofree char *wg = lr_test_random_key ();
      g_autofree char *disco = lr_test_random_key ();
      g_autofree char *peer = lr_test_peer_in_json ("alice", wg, disco);
      g_autofree char *body = lr_test_create_body ("LAN night", peer);
      g_autoptr(LrTestResponse) response = NULL;
      JsonNode *object;
      Result created = { 0 };

      response = lr_test_request (fixture->server, "POST", "/v1/parties", NULL, body);
      lr_test_assert_status (response, 201);
      object = lr_test_json_lookup (response->body, changes[i].object);
      json_object_set_string_member (json_node_get_object (object), changes[i].member,
                                     changes[i].value);
      g_free (answer.answer);
      answer.answer = lr_test_json_to_string (response->body);

      lrd_session_create_party_async (session, "LAN night", "alice", NULL, result_cb, &created);
      wait_result (&created);
      g_assert_error (created.error, LRD_ERROR, LRD_ERROR_FAILED);
      g_clear_error (&created.error);
      g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "idle");
      g_assert_cmpstr (lrd_helper1_get_virtual_address (fixture->iface), ==, "");
      g_assert_cmpstr (lrd_helper1_get_party_name (fixture->iface), ==, "");
    }

  answer.status = 400;
  g_free (answer.answer);
  answer.answer = g_strdup ("{\"error\": {\"code\": \"bad_request\", "
                            "\"message\": \"Nope\\u001b]0;owned\\u0007\"}}");
  lrd_session_create_party_async (session, "LAN night", "alice", NULL, result_cb, &refused);
  wait_result (&refused);
  g_assert_error (refused.error, LRD_ERROR, LRD_ERROR_FAILED);
  g_assert_nonnull (strstr (refused.error->message, "Nope"));
  g_assert_null (strchr (refused.error->message, '\x1b'));
  g_assert_null (strchr (refused.error->message, '\x07'));
  g_assert_cmpstr (lrd_helper1_get_last_error (fixture->iface), ==, refused.error->message);
  g_clear_error (&refused.error);
  g_free (answer.answer);

  lr_test_run_for (50);
  g_assert_cmpuint (fixture->backend->calls->len, ==, 0);
}

/* Heartbeats reach the server (the events socket keeps the peer online too; heartbeats
 * cover the times it is down). */
static void
test_heartbeats (Fixture       *fixture,
                 gconstpointer  data)
{
  Result created = { 0 };
  g_autofree char *metrics = NULL;
  const char *line = "lanrage_control_requests_total{route=\"/v1/parties/{party_id}/peers/"
                     "{peer_id}/heartbeat\",method=\"POST\",status=\"204\"}";
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  lrd_session_set_heartbeat_interval_ms (fixture->session, 20);
  lrd_session_create_party_async (fixture->session, "Alive", "alice", NULL, result_cb,
                                  &created);
  wait_result (&created);
  g_assert_no_error (created.error);

  do
    {
      g_autoptr(LrTestResponse) response = NULL;
      gsize length = 0;
      const char *body;

      lr_test_run_for (50);
      response = lr_test_request (fixture->server, "GET", "/metrics", NULL, NULL);
      lr_test_assert_status (response, 200);
      body = g_bytes_get_data (response->raw, &length);
      g_free (metrics);
      metrics = g_strndup (body, length);
    }
  while (strstr (metrics, line) == NULL && g_get_monotonic_time () < deadline);
  g_assert_nonnull (strstr (metrics, line));
}

/* A party the host closes: peers go, the interface goes down. */
static void
test_party_closed (Fixture       *fixture,
                   gconstpointer  data)
{
  Result joined = { 0 };
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "Theirs", "host");
  g_autoptr(LrTestResponse) response = NULL;
  g_autofree char *path = NULL;
  GList *objects;

  lrd_session_join_party_async (fixture->session, host->invite_code, "guest", NULL, result_cb,
                                &joined);
  wait_result (&joined);
  g_assert_no_error (joined.error);
  wait_calls (fixture->backend, "set ", 1);
  objects = g_dbus_object_manager_get_objects (G_DBUS_OBJECT_MANAGER (fixture->manager));
  g_assert_cmpuint (g_list_length (objects), ==, 1);
  g_list_free_full (objects, g_object_unref);

  path = lr_test_party_path (host, "");
  response = lr_test_request (fixture->server, "DELETE", path, host->token, NULL);
  lr_test_assert_status (response, 204);
  wait_calls (fixture->backend, "down", 1);
  g_assert_cmpstr (lrd_helper1_get_state (fixture->iface), ==, "idle");
  g_assert_cmpstr (lrd_helper1_get_last_error (fixture->iface), ==, "The party was closed.");
  objects = g_dbus_object_manager_get_objects (G_DBUS_OBJECT_MANAGER (fixture->manager));
  g_assert_null (objects);
}

int
main (int    argc,
      char **argv)
{
  /* As lanrage-helper's main() does: no GVfs, no user's GSettings in the session's code. */
  g_setenv ("GIO_USE_VFS", "local", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  lr_test_control_init (&argc, &argv);
  (void) LRD_ERROR;

  g_test_add ("/helper/session/backend-follows-party", Fixture, NULL, fixture_setup,
              test_backend_follows_party, fixture_teardown);
  g_test_add ("/helper/session/no-wireguard", Fixture, NULL, fixture_setup, test_no_wireguard,
              fixture_teardown);
  g_test_add ("/helper/session/leave-during-join", Fixture, NULL, fixture_setup,
              test_leave_during_join, fixture_teardown);
  g_test_add ("/helper/session/restore", Fixture, NULL, fixture_setup, test_restore,
              fixture_teardown);
  g_test_add ("/helper/session/restore-damaged", Fixture, NULL, fixture_setup,
              test_restore_damaged, fixture_teardown);
  g_test_add ("/helper/session/hostile-answers", Fixture, NULL, fixture_setup,
              test_hostile_answers, fixture_teardown);
  g_test_add ("/helper/session/heartbeats", Fixture, NULL, fixture_setup, test_heartbeats,
              fixture_teardown);
  g_test_add ("/helper/session/party-closed", Fixture, NULL, fixture_setup, test_party_closed,
              fixture_teardown);

  return g_test_run ();
}
