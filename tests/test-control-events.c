/* test-control-events.c: the events socket of lanrage-control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-test-control.h"

#include <string.h>

typedef LrTestFixture Fixture;

static void
assert_peer_event_matches (JsonNode     *event,
                           LrTestMember *member)
{
  g_assert_cmpstr (lr_test_json_string (event, "peer.name"), ==, member->name);
  g_assert_cmpstr (lr_test_json_string (event, "peer.virtual_ip"), ==, member->virtual_ip);
  g_assert_cmpstr (lr_test_json_string (event, "peer.wg_public_key"), ==,
                   member->wg_public_key);
  g_assert_null (lr_test_json_find (event, "peer.token"));
}

static void
assert_snapshot (JsonNode      *event,
                 LrTestMember **members,
                 guint          n_members)
{
  JsonArray *peers = lr_test_json_array (event, "peers");

  g_assert_cmpstr (lr_test_json_string (event, "party.id"), ==, members[0]->party_id);
  g_assert_cmpstr (lr_test_json_string (event, "party.host_peer_id"), ==,
                   members[0]->host_peer_id);
  g_assert_cmpuint (json_array_get_length (peers), ==, n_members);
  for (guint i = 0; i < n_members; i++)
    {
      JsonNode *peer = lr_test_json_array_find_peer (peers, members[i]->peer_id);

      g_assert_nonnull (peer);
      g_assert_cmpstr (lr_test_json_string (peer, "virtual_ip"), ==, members[i]->virtual_ip);
      g_assert_null (lr_test_json_find (peer, "token"));
    }
}

static LrTestSocket *
connect_with_snapshot (LrTestServer  *server,
                       LrTestMember  *member,
                       LrTestMember **members,
                       guint          n_members)
{
  LrTestSocket *socket = lr_test_socket_connect (server, member->party_id, member->token, NULL);
  g_autoptr(JsonNode) snapshot = lr_test_socket_expect (socket, "snapshot", NULL);

  assert_snapshot (snapshot, members, n_members);
  return socket;
}

static void
test_events_order (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(LrTestMember) alice = lr_test_create_party (fixture->server, "party", "alice");
  g_autoptr(LrTestMember) bob = NULL;
  g_autoptr(LrTestMember) carol = NULL;
  g_autoptr(LrTestSocket) sa = NULL;
  g_autoptr(LrTestSocket) sb = NULL;
  g_autoptr(LrTestSocket) sc = NULL;
  LrTestMember *members[3];

  members[0] = alice;
  sa = connect_with_snapshot (fixture->server, alice, members, 1);

  bob = lr_test_join (fixture->server, alice->invite_code, "bob");
  members[1] = bob;
  {
    g_autoptr(JsonNode) event = lr_test_socket_expect (sa, "peer_joined", bob->peer_id);

    assert_peer_event_matches (event, bob);
  }
  sb = connect_with_snapshot (fixture->server, bob, members, 2);

  carol = lr_test_join (fixture->server, alice->invite_code, "carol");
  members[2] = carol;
  {
    g_autoptr(JsonNode) ea = lr_test_socket_expect (sa, "peer_joined", carol->peer_id);
    g_autoptr(JsonNode) eb = lr_test_socket_expect (sb, "peer_joined", carol->peer_id);

    assert_peer_event_matches (ea, carol);
    assert_peer_event_matches (eb, carol);
  }
  sc = connect_with_snapshot (fixture->server, carol, members, 3);

  /* Bob renames himself: everyone hears it, Bob too. */
  {
    g_autofree char *path = g_strdup_printf ("/v1/parties/%s/peers/%s", bob->party_id,
                                             bob->peer_id);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "PATCH", path,
                                                          bob->token,
                                                          "{\"name\": \"bobby\"}");
    LrTestSocket *sockets[] = { sa, sb, sc };

    lr_test_assert_status (response, 200);
    for (guint i = 0; i < G_N_ELEMENTS (sockets); i++)
      {
        g_autoptr(JsonNode) event = lr_test_socket_expect (sockets[i], "peer_updated",
                                                           bob->peer_id);

        g_assert_cmpstr (lr_test_json_string (event, "peer.name"), ==, "bobby");
      }
  }

  /* Carol leaves: the others hear it; her own socket ends. */
  {
    g_autofree char *path = g_strdup_printf ("/v1/parties/%s/peers/%s", carol->party_id,
                                             carol->peer_id);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "DELETE", path,
                                                          carol->token, NULL);
    g_autoptr(JsonNode) ea = NULL;
    g_autoptr(JsonNode) eb = NULL;

    lr_test_assert_status (response, 204);
    ea = lr_test_socket_expect (sa, "peer_left", carol->peer_id);
    eb = lr_test_socket_expect (sb, "peer_left", carol->peer_id);
    g_assert_true (lr_test_socket_wait_closed (sc, LR_TEST_EVENT_TIMEOUT_MS));
    if (lr_test_socket_pending (sc) > 0)
      {
        g_autoptr(JsonNode) own = lr_test_socket_expect (sc, "peer_left", carol->peer_id);
      }
    g_assert_cmpuint (lr_test_socket_pending (sc), ==, 0);
  }

  /* Nothing else happened. */
  lr_test_socket_expect_nothing (sa, 200);
  lr_test_socket_expect_nothing (sb, 0);

  /* The host closes the party: the last event, then the sockets close. */
  {
    g_autofree char *path = g_strdup_printf ("/v1/parties/%s", alice->party_id);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "DELETE", path,
                                                          alice->token, NULL);
    LrTestSocket *sockets[] = { sa, sb };

    lr_test_assert_status (response, 204);
    for (guint i = 0; i < G_N_ELEMENTS (sockets); i++)
      {
        g_autoptr(JsonNode) event = lr_test_socket_expect (sockets[i], "party_closed", NULL);

        g_assert_cmpstr (lr_test_json_string (event, "party.id"), ==, alice->party_id);
        g_assert_true (lr_test_socket_wait_closed (sockets[i], LR_TEST_EVENT_TIMEOUT_MS));
        g_assert_cmpuint (lr_test_socket_pending (sockets[i]), ==, 0);
      }
  }
}

static void
test_events_host_removes (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(LrTestMember) alice = lr_test_create_party (fixture->server, "party", "alice");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, alice->invite_code, "bob");
  LrTestMember *members[] = { alice, bob };
  g_autoptr(LrTestSocket) sa = connect_with_snapshot (fixture->server, alice, members, 2);
  g_autoptr(LrTestSocket) sb = connect_with_snapshot (fixture->server, bob, members, 2);
  g_autofree char *path = g_strdup_printf ("/v1/parties/%s/peers/%s", bob->party_id,
                                           bob->peer_id);
  g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "DELETE", path,
                                                        alice->token, NULL);
  g_autoptr(JsonNode) ea = NULL;
  g_autoptr(JsonNode) eb = NULL;

  lr_test_assert_status (response, 204);
  ea = lr_test_socket_expect (sa, "peer_left", bob->peer_id);
  /* "A peer that is removed gets its own peer_left and its socket is closed." */
  eb = lr_test_socket_expect (sb, "peer_left", bob->peer_id);
  g_assert_true (lr_test_socket_wait_closed (sb, LR_TEST_EVENT_TIMEOUT_MS));
}

/* Twenty members with a socket each: a newcomer is announced exactly once to every one. */
static void
test_events_fan_out (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "crowd", "host");
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(GPtrArray) sockets = NULL;
  g_autoptr(LrTestMember) late = NULL;

  members = g_ptr_array_new_with_free_func ((GDestroyNotify) lr_test_member_free);
  sockets = g_ptr_array_new_with_free_func ((GDestroyNotify) lr_test_socket_free);

  for (guint i = 0; i < 19; i++)
    {
      g_autofree char *name = g_strdup_printf ("member %u", i);

      g_ptr_array_add (members, lr_test_join (fixture->server, host->invite_code, name));
    }

  g_ptr_array_add (sockets, lr_test_socket_connect (fixture->server, host->party_id,
                                                    host->token, NULL));
  for (guint i = 0; i < members->len; i++)
    {
      LrTestMember *member = g_ptr_array_index (members, i);

      g_ptr_array_add (sockets, lr_test_socket_connect (fixture->server, member->party_id,
                                                        member->token, NULL));
    }
  for (guint i = 0; i < sockets->len; i++)
    {
      g_autoptr(JsonNode) snapshot = lr_test_socket_expect (g_ptr_array_index (sockets, i),
                                                            "snapshot", NULL);

      g_assert_cmpuint (json_array_get_length (lr_test_json_array (snapshot, "peers")), ==, 20);
    }

  late = lr_test_join (fixture->server, host->invite_code, "late");
  for (guint i = 0; i < sockets->len; i++)
    {
      g_autoptr(JsonNode) event = lr_test_socket_expect (g_ptr_array_index (sockets, i),
                                                         "peer_joined", late->peer_id);

      assert_peer_event_matches (event, late);
    }
  lr_test_run_for (200);
  for (guint i = 0; i < sockets->len; i++)
    g_assert_cmpuint (lr_test_socket_pending (g_ptr_array_index (sockets, i)), ==, 0);
}

typedef struct
{
  LrTestMember *alice, *bob, *carol, *dave;
  LrTestSocket *sa, *sb, *sc, *sd;
} SignalParty;

static void
signal_party_setup (LrTestServer *server,
                    SignalParty  *party)
{
  LrTestMember *ours[3];
  LrTestMember *theirs[1];

  party->alice = lr_test_create_party (server, "party", "alice");
  party->bob = lr_test_join (server, party->alice->invite_code, "bob");
  party->carol = lr_test_join (server, party->alice->invite_code, "carol");
  party->dave = lr_test_create_party (server, "another party", "dave");
  ours[0] = party->alice;
  ours[1] = party->bob;
  ours[2] = party->carol;
  theirs[0] = party->dave;

  party->sa = connect_with_snapshot (server, party->alice, ours, 3);
  party->sb = connect_with_snapshot (server, party->bob, ours, 3);
  party->sc = connect_with_snapshot (server, party->carol, ours, 3);
  party->sd = connect_with_snapshot (server, party->dave, theirs, 1);
}

static void
signal_party_clear (SignalParty *party)
{
  g_clear_pointer (&party->sa, lr_test_socket_free);
  g_clear_pointer (&party->sb, lr_test_socket_free);
  g_clear_pointer (&party->sc, lr_test_socket_free);
  g_clear_pointer (&party->sd, lr_test_socket_free);
  g_clear_pointer (&party->alice, lr_test_member_free);
  g_clear_pointer (&party->bob, lr_test_member_free);
  g_clear_pointer (&party->carol, lr_test_member_free);
  g_clear_pointer (&party->dave, lr_test_member_free);
}

static void
expect_error (LrTestSocket *socket,
              const char   *code)
{
  g_autoptr(JsonNode) event = lr_test_socket_expect (socket, "error", NULL);

  g_assert_cmpstr (lr_test_json_string (event, "error.code"), ==, code);
  g_assert_cmpstr (lr_test_json_string (event, "error.message"), !=, "");
}

static void
test_signal_named_peer_only (Fixture       *fixture,
                             gconstpointer  data)
{
  SignalParty party = { 0 };
  g_autoptr(JsonNode) sent = lr_test_json_parse ("{\"candidates\": [\"198.51.100.7:41641\"], "
                                                 "\"seq\": 1, \"ufrag\": \"ab\\\"c\"}");
  g_autofree char *sent_text = lr_test_json_to_string (sent);

  signal_party_setup (fixture->server, &party);

  /* Alice to Bob: Bob alone receives it, with Alice as the sender and the data intact. */
  {
    g_autofree char *message = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                                "\"data\": %s}", party.bob->peer_id, sent_text);
    g_autoptr(JsonNode) received = NULL;

    lr_test_socket_send (party.sa, message);
    received = lr_test_socket_expect (party.sb, "signal", party.alice->peer_id);
    g_assert_true (json_node_equal (lr_test_json_lookup (received, "data"), sent));
    g_assert_null (lr_test_json_find (received, "to"));
  }

  /* Bob answers Alice. */
  {
    g_autofree char *message = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                                "\"data\": {\"answer\": true}}",
                                                party.alice->peer_id);
    g_autoptr(JsonNode) received = NULL;

    lr_test_socket_send (party.sb, message);
    received = lr_test_socket_expect (party.sa, "signal", party.bob->peer_id);
    g_assert_true (lr_test_json_bool (received, "data.answer"));
  }

  /* Alice to Dave, who is in another party: not delivered, Alice is told. */
  {
    g_autofree char *message = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                                "\"data\": {\"x\": 1}}", party.dave->peer_id);

    lr_test_socket_send (party.sa, message);
    expect_error (party.sa, "peer_not_connected");
  }

  lr_test_socket_expect_nothing (party.sc, 300);
  lr_test_socket_expect_nothing (party.sd, 0);
  lr_test_socket_expect_nothing (party.sb, 0);
  lr_test_socket_expect_nothing (party.sa, 0);

  signal_party_clear (&party);
}

static void
test_signal_refused (Fixture       *fixture,
                     gconstpointer  data)
{
  SignalParty party = { 0 };
  g_autofree char *big = g_strnfill (5000, 'x');
  g_autofree char *fits = g_strnfill (3800, 'y');

  signal_party_setup (fixture->server, &party);

  /* Over 4 KiB of data: refused, nothing delivered. */
  {
    g_autofree char *message = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                                "\"data\": {\"blob\": \"%s\"}}",
                                                party.bob->peer_id, big);

    lr_test_socket_send (party.sa, message);
    expect_error (party.sa, "signal_too_large");
  }

  /* Not JSON, not a signal, no data, a bad recipient: each refused, the socket stays. */
  {
    g_autofree char *no_data = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\"}",
                                                party.bob->peer_id);
    g_autofree char *unknown = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                                "\"data\": {}, \"from\": \"%s\"}",
                                                party.bob->peer_id, party.carol->peer_id);
    const char *messages[] = {
      "this is not json",
      "[1, 2, 3]",
      "{\"type\": \"dance\"}",
      no_data,
      unknown,
      "{\"type\": \"signal\", \"to\": \"../../etc\", \"data\": {}}",
    };

    for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
      {
        g_test_message ("sending %s", messages[i]);
        lr_test_socket_send (party.sa, messages[i]);
        expect_error (party.sa, "invalid_message");
      }
  }

  /* A peer of the party who is not connected. */
  {
    g_autofree char *message = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                                "\"data\": {}}", party.carol->peer_id);

    g_clear_pointer (&party.sc, lr_test_socket_free);
    lr_test_run_for (100);
    lr_test_socket_send (party.sa, message);
    expect_error (party.sa, "peer_not_connected");
  }

  lr_test_socket_expect_nothing (party.sb, 200);
  lr_test_socket_expect_nothing (party.sd, 0);

  /* The socket still works, and a signal just under the limit goes through whole. */
  {
    g_autofree char *message = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                                "\"data\": {\"blob\": \"%s\"}}",
                                                party.bob->peer_id, fits);
    g_autoptr(JsonNode) received = NULL;

    g_assert_false (lr_test_socket_is_closed (party.sa));
    lr_test_socket_send (party.sa, message);
    received = lr_test_socket_expect (party.sb, "signal", party.alice->peer_id);
    g_assert_cmpstr (lr_test_json_string (received, "data.blob"), ==, fits);
  }

  signal_party_clear (&party);
}

static void
test_events_auth (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(LrTestMember) alice = lr_test_create_party (fixture->server, "party", "alice");
  g_autoptr(LrTestMember) eve = lr_test_create_party (fixture->server, "other", "eve");
  g_autofree char *unknown = g_strnfill (43, 'A');
  guint status = 0;
  LrTestSocket *socket;

  socket = lr_test_socket_connect (fixture->server, alice->party_id, NULL, &status);
  g_assert_null (socket);
  g_assert_cmpuint (status, ==, 401);

  socket = lr_test_socket_connect (fixture->server, alice->party_id, unknown, &status);
  g_assert_null (socket);
  g_assert_cmpuint (status, ==, 401);

  socket = lr_test_socket_connect (fixture->server, alice->party_id, "not-a-token", &status);
  g_assert_null (socket);
  g_assert_cmpuint (status, ==, 401);

  socket = lr_test_socket_connect (fixture->server, alice->party_id, eve->token, &status);
  g_assert_null (socket);
  g_assert_cmpuint (status, ==, 403);

  socket = lr_test_socket_connect (fixture->server, "0123456789abcdef", alice->token, &status);
  g_assert_null (socket);
  g_assert_true (status == 403 || status == 404);

  socket = lr_test_socket_connect (fixture->server, "nope", alice->token, &status);
  g_assert_null (socket);
  g_assert_cmpuint (status, ==, 404);

  /* And the right token still works after all that. */
  socket = lr_test_socket_connect (fixture->server, alice->party_id, alice->token, &status);
  g_assert_nonnull (socket);
  g_assert_cmpuint (status, ==, 101);
  {
    g_autoptr(JsonNode) snapshot = lr_test_socket_expect (socket, "snapshot", NULL);
  }
  lr_test_socket_free (socket);
}

static JsonNode *
find_peer_in_party (LrTestServer *server,
                    LrTestMember *reader,
                    const char   *peer_id)
{
  g_autofree char *path = lr_test_party_path (reader, "");
  g_autoptr(LrTestResponse) response = lr_test_request (server, "GET", path, reader->token,
                                                        NULL);
  JsonNode *peer;

  lr_test_assert_status (response, 200);
  peer = lr_test_json_array_find_peer (lr_test_json_array (response->body, "peers"), peer_id);
  return peer != NULL ? json_node_ref (peer) : NULL;
}

static void
heartbeat (LrTestServer *server,
           LrTestMember *member)
{
  g_autofree char *path = g_strdup_printf ("/v1/parties/%s/peers/%s/heartbeat",
                                           member->party_id, member->peer_id);
  g_autoptr(LrTestResponse) response = lr_test_request (server, "POST", path, member->token,
                                                        NULL);

  lr_test_assert_status (response, 204);
}

static void
test_offline_and_removal (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(LrTestMember) alice = lr_test_create_party (fixture->server, "party", "alice");
  LrTestMember *members[] = { alice };
  g_autoptr(LrTestSocket) sa = connect_with_snapshot (fixture->server, alice, members, 1);
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, alice->invite_code, "bob");
  gint64 joined = g_get_monotonic_time ();
  gint64 offline, elapsed_ms;

  {
    g_autoptr(JsonNode) event = lr_test_socket_expect (sa, "peer_joined", bob->peer_id);

    g_assert_true (lr_test_json_bool (event, "peer.online"));
  }

  /* No heartbeat and no socket: Bob goes offline after about 300 ms. */
  {
    g_autoptr(JsonNode) event = lr_test_socket_expect (sa, "peer_offline", bob->peer_id);

    elapsed_ms = (g_get_monotonic_time () - joined) / 1000;
    g_test_message ("offline after %" G_GINT64_FORMAT " ms", elapsed_ms);
    g_assert_cmpint (elapsed_ms, >=, 250);
    g_assert_false (lr_test_json_bool (event, "peer.online"));
  }
  {
    g_autoptr(JsonNode) peer = find_peer_in_party (fixture->server, alice, bob->peer_id);

    g_assert_nonnull (peer);
    g_assert_false (lr_test_json_bool (peer, "online"));
  }

  /* A heartbeat brings him back. */
  heartbeat (fixture->server, bob);
  {
    g_autoptr(JsonNode) event = lr_test_socket_expect (sa, "peer_updated", bob->peer_id);

    g_assert_true (lr_test_json_bool (event, "peer.online"));
  }

  /* Quiet again: offline, then removed a second later. */
  {
    g_autoptr(JsonNode) event = lr_test_socket_expect (sa, "peer_offline", bob->peer_id);

    offline = g_get_monotonic_time ();
  }
  {
    g_autoptr(JsonNode) event = lr_test_socket_expect (sa, "peer_left", bob->peer_id);

    elapsed_ms = (g_get_monotonic_time () - offline) / 1000;
    g_test_message ("removed %" G_GINT64_FORMAT " ms after going offline", elapsed_ms);
    g_assert_cmpint (elapsed_ms, >=, 600);
  }

  g_assert_null (find_peer_in_party (fixture->server, alice, bob->peer_id));
  {
    g_autofree char *path = lr_test_party_path (bob, "");
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "GET", path,
                                                          bob->token, NULL);

    lr_test_assert_error (response, 401, "unauthorized");
  }

  /* Alice's socket kept her online all along. */
  {
    g_autoptr(JsonNode) peer = find_peer_in_party (fixture->server, alice, alice->peer_id);

    g_assert_nonnull (peer);
    g_assert_true (lr_test_json_bool (peer, "online"));
  }
  lr_test_socket_expect_nothing (sa, 100);
}

static void
test_heartbeats_keep_online (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(LrTestMember) alice = lr_test_create_party (fixture->server, "party", "alice");
  LrTestMember *members[] = { alice };
  g_autoptr(LrTestSocket) sa = connect_with_snapshot (fixture->server, alice, members, 1);
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, alice->invite_code, "bob");
  g_autoptr(LrTestMember) carol = lr_test_join (fixture->server, alice->invite_code, "carol");
  g_autoptr(LrTestSocket) sc = NULL;
  gint64 start = g_get_monotonic_time ();

  {
    g_autoptr(JsonNode) e1 = lr_test_socket_expect (sa, "peer_joined", bob->peer_id);
    g_autoptr(JsonNode) e2 = lr_test_socket_expect (sa, "peer_joined", carol->peer_id);
  }
  {
    LrTestMember *all[] = { alice, bob, carol };

    sc = connect_with_snapshot (fixture->server, carol, all, 3);
  }

  /* Bob heartbeats every 100 ms and Carol keeps her socket, for three times the offline
   * delay: nobody goes offline. */
  while (g_get_monotonic_time () - start < 3000 * 1000)
    {
      heartbeat (fixture->server, bob);
      lr_test_run_for (100);
    }

  lr_test_socket_expect_nothing (sa, 0);
  {
    g_autoptr(JsonNode) peer = find_peer_in_party (fixture->server, alice, bob->peer_id);

    g_assert_true (lr_test_json_bool (peer, "online"));
  }
  {
    g_autoptr(JsonNode) peer = find_peer_in_party (fixture->server, alice, carol->peer_id);

    g_assert_true (lr_test_json_bool (peer, "online"));
  }

  /* Carol closes her socket: she goes offline. */
  g_clear_pointer (&sc, lr_test_socket_free);
  {
    g_autoptr(JsonNode) event = NULL;

    /* Bob must keep beating meanwhile, or his event could come first. */
    start = g_get_monotonic_time ();
    while (lr_test_socket_pending (sa) == 0 &&
           g_get_monotonic_time () - start < LR_TEST_EVENT_TIMEOUT_MS * 1000)
      {
        heartbeat (fixture->server, bob);
        lr_test_run_for (50);
      }
    event = lr_test_socket_expect (sa, "peer_offline", carol->peer_id);
  }
}

int
main (int   argc,
      char *argv[])
{
  static const char * const no_args[] = { NULL };
  static const char * const short_timeouts[] = {
    "--offline-after", "300ms", "--remove-after", "1s", "--cleanup-interval", "20ms", NULL
  };
  /* Long enough that a loaded machine delaying one heartbeat does not take Bob offline. */
  static const char * const keep_online_timeouts[] = {
    "--offline-after", "1s", "--remove-after", "1s", "--cleanup-interval", "20ms", NULL
  };

  lr_test_control_init (&argc, &argv);

  LR_TEST_ADD ("/control/events/order", test_events_order, no_args);
  LR_TEST_ADD ("/control/events/host-removes", test_events_host_removes, no_args);
  LR_TEST_ADD ("/control/events/fan-out", test_events_fan_out, no_args);
  LR_TEST_ADD ("/control/events/auth", test_events_auth, no_args);
  LR_TEST_ADD ("/control/events/signal/named-peer-only", test_signal_named_peer_only, no_args);
  LR_TEST_ADD ("/control/events/signal/refused", test_signal_refused, no_args);
  LR_TEST_ADD ("/control/events/offline-and-removal", test_offline_and_removal, short_timeouts);
  LR_TEST_ADD ("/control/events/heartbeats-keep-online", test_heartbeats_keep_online,
               keep_online_timeouts);

#undef ADD

  return g_test_run ();
}
