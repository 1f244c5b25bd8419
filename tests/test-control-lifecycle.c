/* test-control-lifecycle.c: lanrage-control keeps what it answered across restarts and
 * crashes, and cleans up after itself
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-test-control.h"

#include "lr-relay-token.h"
#include "lr-token.h"

#include <string.h>

typedef LrTestFixture Fixture;

/* Once the server has said where it listens, SIGTERM must stop it cleanly (exit status 0),
 * however soon it comes: scripts and service managers stop what they just started. */
static void
test_sigterm_right_after_start (Fixture       *fixture,
                                gconstpointer  data)
{
  for (guint i = 0; i < 50 && !g_test_failed (); i++)
    lr_test_server_restart (fixture->server, FALSE);
}

static JsonNode *
get_party (LrTestServer *server,
           LrTestMember *member)
{
  g_autofree char *path = lr_test_party_path (member, "");
  g_autoptr(LrTestResponse) response = lr_test_request (server, "GET", path, member->token,
                                                        NULL);

  lr_test_assert_status (response, 200);
  return json_node_ref (response->body);
}

/* What must survive a restart: everything but presence (online, last_seen). */
static void
assert_same_party (JsonNode *before,
                   JsonNode *after)
{
  static const char * const party_fields[] = {
    "id", "name", "invite_code", "host_peer_id", "created_at"
  };
  static const char * const peer_fields[] = {
    "name", "virtual_ip", "wg_public_key", "disco_public_key", "endpoints", "nat"
  };
  JsonArray *peers_before = lr_test_json_array (before, "peers");
  JsonArray *peers_after = lr_test_json_array (after, "peers");

  for (guint i = 0; i < G_N_ELEMENTS (party_fields); i++)
    {
      g_autofree char *path = g_strconcat ("party.", party_fields[i], NULL);

      g_assert_cmpstr (lr_test_json_string (after, path), ==, lr_test_json_string (before, path));
    }

  g_assert_cmpuint (json_array_get_length (peers_after), ==,
                    json_array_get_length (peers_before));
  for (guint i = 0; i < json_array_get_length (peers_before); i++)
    {
      JsonNode *old = json_array_get_element (peers_before, i);
      const char *id = lr_test_json_string (old, "id");
      JsonNode *new = lr_test_json_array_find_peer (peers_after, id);

      if (new == NULL)
        g_error ("Peer %s is gone after the restart", id);

      for (guint j = 0; j < G_N_ELEMENTS (peer_fields); j++)
        {
          JsonNode *a = lr_test_json_lookup (old, peer_fields[j]);
          JsonNode *b = lr_test_json_lookup (new, peer_fields[j]);

          if (!json_node_equal (a, b))
            {
              g_autofree char *ta = lr_test_json_to_string (a);
              g_autofree char *tb = lr_test_json_to_string (b);

              g_error ("Peer %s: %s was %s before the restart and %s after", id,
                       peer_fields[j], ta, tb);
            }
        }
    }
}

static void
check_persistence (LrTestServer *server,
                   gboolean      kill_hard)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (server, "persistent", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (server, host->invite_code, "bob");
  g_autoptr(LrTestMember) carol = lr_test_join (server, host->invite_code, "carol");
  g_autoptr(LrTestMember) other = lr_test_create_party (server, "other party", "olga");
  g_autoptr(JsonNode) before = NULL;
  g_autoptr(JsonNode) other_before = NULL;
  g_autofree char *secret_before = lr_test_server_read_relay_secret (server);
  g_autofree char *bob_path = g_strdup_printf ("/v1/parties/%s/peers/%s", bob->party_id,
                                               bob->peer_id);
  LrTestMember *members[] = { host, bob, carol };

  /* An update answered with success is a write too. */
  {
    g_autoptr(LrTestResponse) response =
      lr_test_request (server, "PATCH", bob_path, bob->token,
                       "{\"name\": \"bob 2\", \"endpoints\": [\"198.51.100.20:40000\"], "
                       "\"nat\": {\"mapping\": \"address_dependent\", "
                       "\"filtering\": \"endpoint_independent\"}}");

    lr_test_assert_status (response, 200);
  }
  {
    g_autofree char *path = g_strdup_printf ("/v1/parties/%s/peers/%s", carol->party_id,
                                             carol->peer_id);
    g_autoptr(LrTestResponse) response = lr_test_request (server, "DELETE", path, carol->token,
                                                          NULL);

    lr_test_assert_status (response, 204);
  }

  before = get_party (server, host);
  other_before = get_party (server, other);
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (before, "peers")), ==, 2);

  lr_test_server_restart (server, kill_hard);

  /* Every token still works, and sees the same party. */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JsonNode) after = get_party (server, members[i]);

      assert_same_party (before, after);
    }
  {
    g_autoptr(JsonNode) after = get_party (server, other);

    assert_same_party (other_before, after);
  }

  /* Carol's leave held too. */
  {
    g_autofree char *path = lr_test_party_path (carol, "");
    g_autoptr(LrTestResponse) response = lr_test_request (server, "GET", path, carol->token,
                                                          NULL);

    lr_test_assert_error (response, 401, "unauthorized");
  }

  /* The relay secret is the same, so relay tokens handed out before still verify. */
  {
    g_autofree char *secret_after = lr_test_server_read_relay_secret (server);
    g_autofree char *path = g_build_filename (lr_test_server_get_tmpdir (server),
                                              "relay-secret", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) secret = lr_secret_load_file (path, &error);
    LrRelayTokenClaims claims;

    g_assert_cmpstr (secret_after, ==, secret_before);
    g_assert_no_error (error);
    lr_relay_token_verify (secret, bob->relay_token, g_get_real_time () / G_USEC_PER_SEC,
                           &claims, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (claims.peer_id, ==, bob->peer_id);
  }

  /* The party goes on: a write with an old token, and a newcomer who gets a fresh address. */
  {
    g_autoptr(LrTestResponse) response = lr_test_request (server, "PATCH", bob_path, bob->token,
                                                          "{\"name\": \"bob 3\"}");

    lr_test_assert_status (response, 200);
  }
  {
    g_autoptr(LrTestMember) dave = lr_test_join (server, host->invite_code, "dave");

    g_assert_cmpstr (dave->virtual_ip, !=, host->virtual_ip);
    g_assert_cmpstr (dave->virtual_ip, !=, bob->virtual_ip);
    g_assert_cmpstr (dave->peer_id, !=, carol->peer_id);
  }
}

static void
test_restart_sigterm (Fixture       *fixture,
                      gconstpointer  data)
{
  check_persistence (fixture->server, FALSE);
}

static void
test_restart_sigkill (Fixture       *fixture,
                      gconstpointer  data)
{
  check_persistence (fixture->server, TRUE);
}

/* A party holds 250 peers at most; the stream moves on to a new party well before. */
#define JOINS_PER_PARTY 100

typedef struct
{
  char      *url;
  GMutex     lock;
  GPtrArray *parties;        /* LrTestMember of each party's host, created by the stream */
  GPtrArray *acknowledged;   /* "party-index:peer-id" of each join answered 201 */
  char      *last_error;
  gboolean   refused;
  gboolean   stop;
} JoinStream;

static gpointer
join_stream_thread (gpointer data)
{
  JoinStream *stream = data;
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 5, NULL);
  LrTestMember *party = NULL;
  guint party_index = 0;

  for (guint i = 0; !g_atomic_int_get (&stream->stop); i++)
    {
      gboolean create = i % JOINS_PER_PARTY == 0;
      g_autofree char *name = g_strdup_printf ("joiner %u", i);
      g_autofree char *wg = lr_test_random_key ();
      g_autofree char *disco = lr_test_random_key ();
      g_autofree char *peer = lr_test_peer_in_json (name, wg, disco);
      g_autofree char *body = create ? lr_test_create_body ("stream", peer)
                                     : lr_test_join_body (party->invite_code, peer);
      g_autoptr(LrTestResponse) response =
        lr_test_request_with_session (session, stream->url, "POST",
                                      create ? "/v1/parties" : "/v1/join", NULL, body);

      if (response->status == 201 && response->body != NULL)
        {
          LrTestMember *member = lr_test_member_from_answer (response->body);

          g_mutex_lock (&stream->lock);
          if (create)
            {
              party_index = stream->parties->len;
              party = member;
              g_ptr_array_add (stream->parties, member);
            }
          g_ptr_array_add (stream->acknowledged,
                           g_strdup_printf ("%u:%s", party_index, member->peer_id));
          g_mutex_unlock (&stream->lock);
          if (!create)
            lr_test_member_free (member);
          continue;
        }

      /* The server is gone (or, wrongly, refused): the stream ends. A 201 whose body did
       * not arrive whole was cut by the kill: unacknowledged, not refused. */
      g_mutex_lock (&stream->lock);
      if (response->status != 0 && response->status != 201)
        {
          gsize length = 0;
          const char *text = g_bytes_get_data (response->raw, &length);

          stream->refused = TRUE;
          stream->last_error = g_strdup_printf ("status %u %.*s", response->status,
                                                (int) MIN (length, 300), text);
        }
      else if (response->status == 201)
        stream->last_error = g_strdup ("an answer 201 cut short");
      else
        stream->last_error = g_strdup (response->transport_error);
      g_mutex_unlock (&stream->lock);
      break;
    }

  return NULL;
}

static void
test_kill_under_joins (Fixture       *fixture,
                       gconstpointer  data)
{
  JoinStream stream = { 0 };
  g_autoptr(GThread) thread = NULL;
  g_autoptr(GPtrArray) listings = NULL;
  guint acknowledged, listed = 0;

  listings = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  stream.url = g_strdup (lr_test_server_get_url (fixture->server));
  stream.parties = g_ptr_array_new_with_free_func ((GDestroyNotify) lr_test_member_free);
  stream.acknowledged = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&stream.lock);

  thread = g_thread_new ("join-stream", join_stream_thread, &stream);
  g_usleep (300 * 1000);
  lr_test_server_stop (fixture->server, TRUE);
  g_atomic_int_set (&stream.stop, TRUE);
  g_thread_join (g_steal_pointer (&thread));

  acknowledged = stream.acknowledged->len;
  g_test_message ("%u creates and joins acknowledged in %u parties before the kill; the "
                  "stream ended with: %s", acknowledged, stream.parties->len,
                  stream.last_error != NULL ? stream.last_error : "(stop)");
  if (stream.refused)
    g_error ("A join was refused during the stream: %s", stream.last_error);
  /* Too few and the test proves nothing (the server would be absurdly slow anyway). */
  g_assert_cmpuint (acknowledged, >=, 5);

  lr_test_server_start (fixture->server);
  for (guint i = 0; i < stream.parties->len; i++)
    {
      g_ptr_array_add (listings, get_party (fixture->server,
                                            g_ptr_array_index (stream.parties, i)));
      listed += json_array_get_length (lr_test_json_array (g_ptr_array_index (listings, i),
                                                           "peers"));
    }

  for (guint i = 0; i < acknowledged; i++)
    {
      const char *entry = g_ptr_array_index (stream.acknowledged, i);
      const char *id = strchr (entry, ':') + 1;
      guint index = (guint) g_ascii_strtoull (entry, NULL, 10);
      JsonArray *peers = lr_test_json_array (g_ptr_array_index (listings, index), "peers");

      if (lr_test_json_array_find_peer (peers, id) == NULL)
        g_error ("Join %u of %u (peer %s) was answered 201 but is gone after kill -9", i + 1,
                 acknowledged, id);
    }
  /* At most the one join in flight at the kill may have landed unanswered. */
  g_assert_cmpuint (listed, >=, acknowledged);
  g_assert_cmpuint (listed, <=, acknowledged + 1);

  g_ptr_array_unref (stream.acknowledged);
  g_ptr_array_unref (stream.parties);
  g_mutex_clear (&stream.lock);
  g_free (stream.url);
  g_free (stream.last_error);
}

/* A restart ends the events sockets; a client that reconnects gets the same party back. */
static void
test_restart_with_sockets (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autoptr(LrTestSocket) socket = lr_test_socket_connect (fixture->server, bob->party_id,
                                                           bob->token, NULL);
  g_autoptr(JsonNode) first = lr_test_socket_expect (socket, "snapshot", NULL);
  g_autoptr(JsonNode) again = NULL;

  lr_test_server_restart (fixture->server, FALSE);
  g_assert_true (lr_test_socket_wait_closed (socket, LR_TEST_EVENT_TIMEOUT_MS));
  g_clear_pointer (&socket, lr_test_socket_free);

  socket = lr_test_socket_connect (fixture->server, bob->party_id, bob->token, NULL);
  again = lr_test_socket_expect (socket, "snapshot", NULL);
  g_assert_cmpstr (lr_test_json_string (again, "party.invite_code"), ==, host->invite_code);
  g_assert_cmpuint (json_array_get_length (lr_test_json_array (again, "peers")), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonNode *peer = json_array_get_element (lr_test_json_array (first, "peers"), i);
      JsonNode *same = lr_test_json_array_find_peer (lr_test_json_array (again, "peers"),
                                                     lr_test_json_string (peer, "id"));

      g_assert_nonnull (same);
      g_assert_cmpstr (lr_test_json_string (same, "virtual_ip"), ==,
                       lr_test_json_string (peer, "virtual_ip"));
    }
}

static gint64
peer_last_seen (LrTestServer *server,
                LrTestMember *reader,
                const char   *peer_id)
{
  g_autoptr(JsonNode) listing = get_party (server, reader);
  JsonNode *peer = lr_test_json_array_find_peer (lr_test_json_array (listing, "peers"), peer_id);
  g_autoptr(GDateTime) time = NULL;

  g_assert_nonnull (peer);
  time = g_date_time_new_from_iso8601 (lr_test_json_string (peer, "last_seen"), NULL);
  g_assert_nonnull (time);
  return g_date_time_to_unix (time);
}

/* Heartbeats live in memory (the flush interval here is an hour); a clean stop writes them. */
static void
test_heartbeats_written_on_stop (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autofree char *path = g_strdup_printf ("/v1/parties/%s/peers/%s/heartbeat", bob->party_id,
                                           bob->peer_id);
  gint64 joined = peer_last_seen (fixture->server, host, bob->peer_id);
  gint64 beat;

  /* last_seen has whole seconds: let one go by. */
  g_usleep (1100 * 1000);
  {
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", path,
                                                          bob->token, NULL);

    lr_test_assert_status (response, 204);
  }
  beat = peer_last_seen (fixture->server, host, bob->peer_id);
  g_assert_cmpint (beat, >, joined);

  lr_test_server_restart (fixture->server, FALSE);
  g_assert_cmpint (peer_last_seen (fixture->server, host, bob->peer_id), >=, beat);
}

static void
leave (LrTestServer *server,
       LrTestMember *member)
{
  g_autofree char *path = g_strdup_printf ("/v1/parties/%s/peers/%s", member->party_id,
                                           member->peer_id);
  g_autoptr(LrTestResponse) response = lr_test_request (server, "DELETE", path, member->token,
                                                        NULL);

  lr_test_assert_status (response, 204);
}

static void
test_host_hand_over (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autoptr(LrTestMember) carol = lr_test_join (fixture->server, host->invite_code, "carol");
  g_autoptr(LrTestSocket) sc = lr_test_socket_connect (fixture->server, carol->party_id,
                                                       carol->token, NULL);
  g_autoptr(JsonNode) snapshot = lr_test_socket_expect (sc, "snapshot", NULL);

  /* The host leaves: the longest-standing member, Bob, becomes host. */
  leave (fixture->server, host);
  {
    g_autoptr(JsonNode) left = lr_test_socket_expect (sc, "peer_left", host->peer_id);
    g_autoptr(JsonNode) updated = lr_test_socket_expect (sc, "party_updated", NULL);
    g_autoptr(JsonNode) listing = get_party (fixture->server, carol);

    g_assert_cmpstr (lr_test_json_string (updated, "party.host_peer_id"), ==, bob->peer_id);
    g_assert_cmpstr (lr_test_json_string (listing, "party.host_peer_id"), ==, bob->peer_id);
  }

  /* And Bob can do what a host does. */
  {
    g_autofree char *path = g_strdup_printf ("/v1/parties/%s/peers/%s", carol->party_id,
                                             carol->peer_id);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "DELETE", path,
                                                          bob->token, NULL);

    lr_test_assert_status (response, 204);
  }
}

static void
test_empty_party (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->server, "party", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->server, host->invite_code, "bob");
  g_autoptr(LrTestMember) carol = NULL;

  leave (fixture->server, bob);
  leave (fixture->server, host);

  /* Empty but not deleted yet: whoever joins is the host. */
  carol = lr_test_join (fixture->server, host->invite_code, "carol");
  g_assert_cmpstr (carol->party_id, ==, host->party_id);
  g_assert_cmpstr (carol->host_peer_id, ==, carol->peer_id);

  leave (fixture->server, carol);

  /* After --empty-party-after (500 ms) the invite names nothing. */
  g_usleep (1500 * 1000);
  {
    g_autofree char *wg = lr_test_random_key ();
    g_autofree char *disco = lr_test_random_key ();
    g_autofree char *peer = lr_test_peer_in_json ("too late", wg, disco);
    g_autofree char *body = lr_test_join_body (host->invite_code, peer);
    g_autoptr(LrTestResponse) response = lr_test_request (fixture->server, "POST", "/v1/join",
                                                          NULL, body);

    lr_test_assert_error (response, 404, "invite_not_found");
  }
}

int
main (int   argc,
      char *argv[])
{
  static const char * const no_args[] = { NULL };
  static const char * const slow_flush[] = { "--heartbeat-flush-interval", "1h", NULL };
  static const char * const empty_party[] = {
    "--empty-party-after", "500ms", "--cleanup-interval", "20ms", NULL
  };

  lr_test_control_init (&argc, &argv);

  LR_TEST_ADD ("/control/restart/sigterm", test_restart_sigterm, no_args);
  LR_TEST_ADD ("/control/restart/sigterm-right-after-start", test_sigterm_right_after_start, no_args);
  LR_TEST_ADD ("/control/restart/sigkill", test_restart_sigkill, no_args);
  LR_TEST_ADD ("/control/restart/kill-9-under-joins", test_kill_under_joins, no_args);
  LR_TEST_ADD ("/control/restart/with-sockets", test_restart_with_sockets, no_args);
  LR_TEST_ADD ("/control/restart/heartbeats-written-on-stop", test_heartbeats_written_on_stop,
       slow_flush);
  LR_TEST_ADD ("/control/party/host-hand-over", test_host_hand_over, no_args);
  LR_TEST_ADD ("/control/party/empty-then-deleted", test_empty_party, empty_party);

#undef ADD

  return g_test_run ();
}
