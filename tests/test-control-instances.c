/* test-control-instances.c: two lanrage-control instances on one PostgreSQL database
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The instances are the real binary, as behind a load balancer: each test talks to both
 * over HTTP and WebSocket, and to the throwaway cluster of lr-test-postgres.c, which it
 * also stops and starts. Run with LR_TEST_CONTROL_DB=postgresql (meson does).
 */
#include "lr-json.h"
#include "lr-test-control.h"
#include "lr-test-postgres.h"

#include <glib/gstdio.h>
#include <libpq-fe.h>
#include <signal.h>
#include <string.h>

/* A peer heartbeating every 250 ms must never look offline, even when a loaded machine
 * delays a heartbeat and the flush after it by a second or more. */
#define OFFLINE_AFTER_MS 2500

typedef struct
{
  LrTestServer *a;
  LrTestServer *b;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  const char * const *args = data;

  fixture->a = lr_test_server_new (args, LR_TEST_SERVER_NONE);
  lr_test_server_start (fixture->a);
  fixture->b = lr_test_server_new_sharing (fixture->a, args, LR_TEST_SERVER_NONE);
  lr_test_server_start (fixture->b);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_pointer (&fixture->a, lr_test_server_free);
  g_clear_pointer (&fixture->b, lr_test_server_free);
}

/* Many requests in flight at once, asynchronously, against several servers. */

typedef struct
{
  guint        status;     /* 0: no answer */
  JsonNode    *body;
  gint64       took_us;
} Answer;

typedef struct
{
  GPtrArray *answers;      /* Answer, in the order of the requests */
  guint      pending;
} Volley;

typedef struct
{
  Volley *volley;
  Answer *answer;
  gint64  started_us;
} InFlight;

static void
answer_free (Answer *answer)
{
  g_clear_pointer (&answer->body, json_node_unref);
  g_free (answer);
}

static void
sent_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  InFlight *flight = user_data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               NULL);

  flight->answer->took_us = g_get_monotonic_time () - flight->started_us;
  if (bytes != NULL)
    {
      gsize length;
      const char *data = g_bytes_get_data (bytes, &length);
      g_autoptr(JsonParser) parser = json_parser_new ();

      flight->answer->status = soup_message_get_status (message);
      if (length > 0 && json_parser_load_from_data (parser, data, length, NULL))
        flight->answer->body = json_node_copy (json_parser_get_root (parser));
    }

  flight->volley->pending--;
  g_free (flight);
}

static void
volley_send (Volley       *volley,
             SoupSession  *session,
             const char   *base_url,
             const char   *method,
             const char   *path,
             const char   *token,
             const char   *body)
{
  g_autofree char *url = g_strconcat (base_url, path, NULL);
  g_autoptr(SoupMessage) message = soup_message_new (method, url);
  InFlight *flight = g_new0 (InFlight, 1);

  if (token != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (message),
                                    "Authorization", value);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }

  flight->volley = volley;
  flight->answer = g_new0 (Answer, 1);
  flight->started_us = g_get_monotonic_time ();
  g_ptr_array_add (volley->answers, flight->answer);
  volley->pending++;
  soup_session_send_and_read_async (session, message, G_PRIORITY_DEFAULT, NULL, sent_cb, flight);
}

static Volley *
volley_new (void)
{
  Volley *volley = g_new0 (Volley, 1);

  volley->answers = g_ptr_array_new_with_free_func ((GDestroyNotify) answer_free);
  return volley;
}

static void
volley_free (Volley *volley)
{
  g_ptr_array_unref (volley->answers);
  g_free (volley);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Volley, volley_free)

/* Iterates until every request has its answer; fails the test past @timeout_ms. */
static void
volley_wait (Volley *volley,
             guint   timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (volley->pending > 0)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("%u requests still unanswered after %u ms", volley->pending, timeout_ms);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
}

static SoupSession *
new_session (void)
{
  return soup_session_new_with_options ("timeout", 30, "max-conns", 64, "max-conns-per-host", 16,
                                        NULL);
}

static char *
join_body (const char *invite_code,
           guint       i)
{
  g_autofree char *name = g_strdup_printf ("guest-%u", i);
  g_autofree char *wg = lr_test_random_key ();
  g_autofree char *disco = lr_test_random_key ();
  g_autofree char *peer = lr_test_peer_in_json (name, wg, disco);

  return lr_test_join_body (invite_code, peer);
}

/* Joins hammered at both instances at once never give an address twice nor pass the cap. */
static void
test_joins_hammered (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->a, "crowd", "host");
  g_autoptr(SoupSession) session_a = new_session ();
  g_autoptr(SoupSession) session_b = new_session ();
  g_autoptr(Volley) volley = volley_new ();
  g_autoptr(GHashTable) addresses = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *path = lr_test_party_path (host, NULL);
  const guint n_joins = 280;
  guint joined = 0, full = 0;
  gint64 slowest = 0;
  JsonArray *peers;

  g_hash_table_add (addresses, host->virtual_ip);

  /* Alternating instances, all in flight together. */
  for (guint i = 0; i < n_joins; i++)
    {
      g_autofree char *body = join_body (host->invite_code, i);
      LrTestServer *server = i % 2 == 0 ? fixture->a : fixture->b;

      volley_send (volley, i % 2 == 0 ? session_a : session_b, lr_test_server_get_url (server),
                   "POST", "/v1/join", NULL, body);
    }
  volley_wait (volley, 90000);

  for (guint i = 0; i < volley->answers->len; i++)
    {
      Answer *answer = g_ptr_array_index (volley->answers, i);

      slowest = MAX (slowest, answer->took_us);
      if (answer->status == 201)
        {
          const char *ip = lr_test_json_string (answer->body, "peer.virtual_ip");

          if (!g_hash_table_add (addresses, (gpointer) ip))
            g_error ("Address %s was given twice", ip);
          joined++;
        }
      else if (answer->status == 409)
        {
          g_assert_cmpstr (lr_test_json_string (answer->body, "error.code"), ==, "party_full");
          full++;
        }
      else
        g_error ("Join %u answered %u", i, answer->status);
    }

  g_test_message ("%u joined, %u refused as full; slowest answer %" G_GINT64_FORMAT " ms",
                  joined, full, slowest / 1000);
  g_assert_cmpuint (joined, ==, 249);
  g_assert_cmpuint (full, ==, n_joins - 249);

  /* Both instances see the same 250 members. */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(LrTestResponse) response = lr_test_request (i == 0 ? fixture->a : fixture->b,
                                                            "GET", path, host->token, NULL);

      lr_test_assert_status (response, 200);
      peers = lr_test_json_array (response->body, "peers");
      g_assert_cmpuint (json_array_get_length (peers), ==, 250);
    }
}

/* Sends a signal to @to through @from; returns the first message @from gets back within
 * @wait_ms, or NULL. */
static JsonNode *
signal_and_listen (LrTestSocket *from,
                   const char   *to,
                   guint         n,
                   guint         wait_ms)
{
  g_autofree char *message = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                              "\"data\": {\"n\": %u}}", to, n);

  lr_test_socket_send (from, message);
  return lr_test_socket_next (from, wait_ms);
}

/* A peer joining through one instance appears on a socket held by the other, and signals
 * sent through either reach a socket on the other, in order. */
static void
test_events_cross (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->a, "lan", "host");
  g_autoptr(LrTestMember) bob = NULL;
  g_autoptr(LrTestSocket) host_on_b = NULL;
  g_autoptr(LrTestSocket) bob_on_a = NULL;
  g_autoptr(JsonNode) joined = NULL;

  host_on_b = lr_test_socket_connect (fixture->b, host->party_id, host->token, NULL);
  g_assert_nonnull (host_on_b);
  g_autoptr(JsonNode) snapshot = lr_test_socket_next (host_on_b, LR_TEST_EVENT_TIMEOUT_MS);
  g_assert_cmpstr (lr_test_json_string (snapshot, "type"), ==, "snapshot");

  bob = lr_test_join (fixture->a, host->invite_code, "bob");
  joined = lr_test_socket_expect (host_on_b, "peer_joined", bob->peer_id);

  bob_on_a = lr_test_socket_connect (fixture->a, bob->party_id, bob->token, NULL);
  g_assert_nonnull (bob_on_a);
  g_autoptr(JsonNode) bob_snapshot = lr_test_socket_next (bob_on_a, LR_TEST_EVENT_TIMEOUT_MS);
  g_assert_cmpstr (lr_test_json_string (bob_snapshot, "type"), ==, "snapshot");

  /* The instances learn of each other's sockets through the database: probe until one
   * crosses, then drop the probes and the errors of those sent too early. */
  {
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    gboolean crossed = FALSE;

    for (guint probe = 0; !crossed && g_get_monotonic_time () < deadline; probe++)
      {
        g_autoptr(JsonNode) back = signal_and_listen (host_on_b, bob->peer_id, 1000 + probe, 0);
        g_autoptr(JsonNode) got = lr_test_socket_next (bob_on_a, 100);

        crossed = got != NULL;
      }
    g_assert_true (crossed);
    for (JsonNode *stale; (stale = lr_test_socket_next (host_on_b, 200)) != NULL;)
      json_node_unref (stale);
    for (JsonNode *stale; (stale = lr_test_socket_next (bob_on_a, 0)) != NULL;)
      json_node_unref (stale);
  }

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *message = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                                  "\"data\": {\"n\": %u}}", bob->peer_id, i);

      lr_test_socket_send (host_on_b, message);
    }
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(JsonNode) signal = lr_test_socket_next (bob_on_a, LR_TEST_EVENT_TIMEOUT_MS);

      /* A probe still on its way. */
      while (signal != NULL && lr_test_json_int (signal, "data.n") >= 1000)
        {
          json_node_unref (signal);
          signal = lr_test_socket_next (bob_on_a, LR_TEST_EVENT_TIMEOUT_MS);
        }
      g_assert_nonnull (signal);
      g_assert_cmpstr (lr_test_json_string (signal, "type"), ==, "signal");
      g_assert_cmpstr (lr_test_json_string (signal, "from"), ==, host->peer_id);
      g_assert_cmpint (lr_test_json_int (signal, "data.n"), ==, i);
    }

  /* The largest signal, every byte of it a character JSON escapes, crosses too. */
  {
    g_autoptr(GString) data = g_string_new ("{\"s\": \"");
    g_autoptr(JsonNode) big = NULL;

    while (data->len < 4096 - 3)
      g_string_append (data, "\\\"");
    g_string_append (data, "\"}");
    g_autofree char *message = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", "
                                                "\"data\": %s}", bob->peer_id, data->str);

    g_assert_cmpuint (data->len, <=, 4096);
    lr_test_socket_send (host_on_b, message);
    big = lr_test_socket_next (bob_on_a, LR_TEST_EVENT_TIMEOUT_MS);
    g_assert_nonnull (big);
    g_assert_cmpstr (lr_test_json_string (big, "type"), ==, "signal");
    g_assert_cmpuint (strlen (lr_test_json_string (big, "data.s")), >, 1300);
  }

  /* The deepest signal one instance takes (the message nests LR_JSON_MAX_DEPTH levels)
   * crosses too, although the notice that carries it nests one level more. */
  {
    g_autoptr(GString) data = g_string_new ("");
    g_autoptr(JsonNode) deep = NULL;
    g_autofree char *message = NULL;

    for (guint i = 0; i < LR_JSON_MAX_DEPTH - 1; i++)
      g_string_append (data, "{\"d\": ");
    g_string_append (data, "1");
    for (guint i = 0; i < LR_JSON_MAX_DEPTH - 1; i++)
      g_string_append (data, "}");
    message = g_strdup_printf ("{\"type\": \"signal\", \"to\": \"%s\", \"data\": %s}",
                               bob->peer_id, data->str);
    lr_test_socket_send (host_on_b, message);
    deep = lr_test_socket_next (bob_on_a, LR_TEST_EVENT_TIMEOUT_MS);
    g_assert_nonnull (deep);
    g_assert_cmpstr (lr_test_json_string (deep, "type"), ==, "signal");
    g_assert_true (lr_test_json_find (deep, "data.d.d.d") != NULL);
  }

  /* And the other way: Bob's leave through A closes nothing on B but is seen there. */
  {
    g_autofree char *suffix = g_strdup_printf ("/peers/%s", bob->peer_id);
    g_autofree char *path = lr_test_party_path (bob, suffix);
    g_autoptr(LrTestResponse) left = lr_test_request (fixture->b, "DELETE", path, bob->token,
                                                      NULL);

    lr_test_assert_status (left, 204);
    g_autoptr(JsonNode) event = lr_test_socket_expect (host_on_b, "peer_left", bob->peer_id);
    /* Bob's own socket, on A, hears it too and is closed. */
    g_autoptr(JsonNode) own = lr_test_socket_expect (bob_on_a, "peer_left", bob->peer_id);
    g_assert_true (lr_test_socket_wait_closed (bob_on_a, LR_TEST_EVENT_TIMEOUT_MS));
  }
}

/* POSTs a heartbeat of @member with its own token; returns the status. */
static guint
heartbeat (LrTestServer       *server,
           const LrTestMember *member)
{
  g_autofree char *suffix = g_strdup_printf ("/peers/%s/heartbeat", member->peer_id);
  g_autofree char *path = lr_test_party_path (member, suffix);
  g_autoptr(LrTestResponse) response = lr_test_request (server, "POST", path, member->token,
                                                        NULL);

  return response->status;
}

/* Heartbeats @member through @server until one is refused (401), for 3 s at most; then
 * checks that the next ones stay refused. Returns how long the token still worked. */
static gint64
wait_refused (LrTestServer       *server,
              const LrTestMember *member)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + 3 * G_USEC_PER_SEC;
  guint status;

  while ((status = heartbeat (server, member)) == 204 && g_get_monotonic_time () < deadline)
    g_usleep (5000);
  g_assert_cmpuint (status, ==, 401);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpuint (heartbeat (server, member), ==, 401);
  return g_get_monotonic_time () - start;
}

static void
delete_as (LrTestServer       *server,
           const LrTestMember *member,
           const char         *suffix,
           const char         *token)
{
  g_autofree char *path = lr_test_party_path (member, suffix);
  g_autoptr(LrTestResponse) response = lr_test_request (server, "DELETE", path, token, NULL);

  lr_test_assert_status (response, 204);
}

/* A token that heartbeats through one instance verified stops working there when its peer
 * leaves, is removed or its party closes through the other: each instance remembers the
 * tokens it verified, and the removal's notice makes it forget them. */
static void
test_revoked_tokens (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->a, "lan", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->a, host->invite_code, "bob");
  g_autoptr(LrTestMember) carol = lr_test_join (fixture->a, host->invite_code, "carol");
  g_autoptr(LrTestMember) dave = lr_test_join (fixture->b, host->invite_code, "dave");
  g_autofree char *bob_peer = g_strdup_printf ("/peers/%s", bob->peer_id);
  g_autofree char *carol_peer = g_strdup_printf ("/peers/%s", carol->peer_id);
  const LrTestMember *members[] = { host, bob, carol, dave };
  gint64 took;

  for (guint round = 0; round < 3; round++)
    for (guint i = 0; i < G_N_ELEMENTS (members); i++)
      {
        g_assert_cmpuint (heartbeat (fixture->a, members[i]), ==, 204);
        g_assert_cmpuint (heartbeat (fixture->b, members[i]), ==, 204);
      }

  delete_as (fixture->a, bob, bob_peer, bob->token);
  took = wait_refused (fixture->b, bob);
  g_test_message ("a leave through A refused on B after %" G_GINT64_FORMAT " µs", took);
  g_assert_cmpuint (heartbeat (fixture->a, bob), ==, 401);

  delete_as (fixture->b, carol, carol_peer, host->token);
  took = wait_refused (fixture->a, carol);
  g_test_message ("a removal through B refused on A after %" G_GINT64_FORMAT " µs", took);

  g_assert_cmpuint (heartbeat (fixture->a, dave), ==, 204);
  g_assert_cmpuint (heartbeat (fixture->b, dave), ==, 204);
  delete_as (fixture->a, host, "", host->token);
  took = wait_refused (fixture->b, dave);
  g_test_message ("a close through A refused on B after %" G_GINT64_FORMAT " µs", took);
  wait_refused (fixture->b, host);
  g_assert_cmpuint (heartbeat (fixture->a, dave), ==, 401);
}

/* An instance that dies (SIGKILL) never says that its sockets closed. Once its lease runs
 * out, the other instance forgets them: a signal to a peer whose socket was there is
 * answered peer_not_connected instead of going nowhere. */
static void
test_dead_instance_sockets (Fixture       *fixture,
                            gconstpointer  data)
{
  const gint64 lease_us = 1500 * 1000;   /* --instance-lease of the fixture */
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->a, "lan", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->a, host->invite_code, "bob");
  g_autoptr(LrTestSocket) host_on_a = NULL;
  g_autoptr(LrTestSocket) bob_on_b = NULL;
  g_autoptr(JsonNode) host_snapshot = NULL;
  g_autoptr(JsonNode) bob_snapshot = NULL;
  gboolean crossed = FALSE;
  gint64 deadline, killed_us, answered_us = 0;
  guint n = 0;

  host_on_a = lr_test_socket_connect (fixture->a, host->party_id, host->token, NULL);
  bob_on_b = lr_test_socket_connect (fixture->b, bob->party_id, bob->token, NULL);
  g_assert_nonnull (host_on_a);
  g_assert_nonnull (bob_on_b);
  host_snapshot = lr_test_socket_next (host_on_a, LR_TEST_EVENT_TIMEOUT_MS);
  bob_snapshot = lr_test_socket_next (bob_on_b, LR_TEST_EVENT_TIMEOUT_MS);
  g_assert_cmpstr (lr_test_json_string (host_snapshot, "type"), ==, "snapshot");
  g_assert_cmpstr (lr_test_json_string (bob_snapshot, "type"), ==, "snapshot");

  /* A learns of Bob's socket on B through the database: signal until one arrives. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!crossed && g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) back = signal_and_listen (host_on_a, bob->peer_id, n++, 0);
      g_autoptr(JsonNode) got = lr_test_socket_next (bob_on_b, 100);

      crossed = got != NULL;
    }
  g_assert_true (crossed);
  /* Signals sent before A knew of the socket were answered peer_not_connected: drop those. */
  for (JsonNode *stale; (stale = lr_test_socket_next (host_on_a, 200)) != NULL;)
    json_node_unref (stale);

  lr_test_server_stop (fixture->b, TRUE);
  killed_us = g_get_monotonic_time ();

  /* Until A sees B's lease run out it hands the signals to B, which is gone: no answer. */
  deadline = killed_us + 10 * lease_us;
  while (answered_us == 0 && g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) back = signal_and_listen (host_on_a, bob->peer_id, n++, 50);

      if (back != NULL)
        {
          g_assert_cmpstr (lr_test_json_string (back, "type"), ==, "error");
          g_assert_cmpstr (lr_test_json_string (back, "error.code"), ==, "peer_not_connected");
          answered_us = g_get_monotonic_time ();
        }
    }
  g_assert_cmpint (answered_us, !=, 0);
  g_test_message ("peer_not_connected %" G_GINT64_FORMAT " ms after the instance died "
                  "(lease %" G_GINT64_FORMAT " ms)", (answered_us - killed_us) / 1000,
                  lease_us / 1000);
  /* The lease, and at most one renewal interval (a third of it) for A to look. */
  g_assert_cmpint (answered_us - killed_us, <=, lease_us + lease_us / 3 + G_USEC_PER_SEC);

  /* And it stays so. */
  {
    g_autoptr(JsonNode) again = signal_and_listen (host_on_a, bob->peer_id, n++,
                                                   LR_TEST_EVENT_TIMEOUT_MS);

    g_assert_nonnull (again);
    g_assert_cmpstr (lr_test_json_string (again, "error.code"), ==, "peer_not_connected");
  }
}

/* Signals from @from to @to_socket's peer until one crosses, for @timeout_ms at most; drops
 * the errors of those sent too early. Returns whether one crossed. */
static gboolean
signal_until_crossed (LrTestSocket *from,
                      LrTestSocket *to_socket,
                      const char   *to,
                      guint        *n,
                      guint         timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint first = *n;
  gboolean crossed = FALSE;

  /* Only a signal sent here counts, not one of earlier calls that was on its way. */
  while (!crossed && g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) back = signal_and_listen (from, to, (*n)++, 0);
      g_autoptr(JsonNode) got = lr_test_socket_next (to_socket, 100);

      crossed = got != NULL && lr_test_json_int (got, "data.n") >= first;
    }
  for (JsonNode *stale; (stale = lr_test_socket_next (from, 200)) != NULL;)
    json_node_unref (stale);
  for (JsonNode *stale; (stale = lr_test_socket_next (to_socket, 200)) != NULL;)
    json_node_unref (stale);
  return crossed;
}

/* An instance that could not renew its lease for a whole one (stopped, here by SIGSTOP) is
 * taken for dead and its sockets forgotten; once it runs again, it finds its lease lapsed
 * and tells the others of its sockets again, and signals reach them as before. */
static void
test_lapsed_lease_recovers (Fixture       *fixture,
                            gconstpointer  data)
{
  const gint64 lease_us = 1500 * 1000;   /* --instance-lease of the fixture */
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->a, "lan", "host");
  g_autoptr(LrTestMember) bob = lr_test_join (fixture->a, host->invite_code, "bob");
  g_autoptr(LrTestSocket) host_on_a = NULL;
  g_autoptr(LrTestSocket) bob_on_b = NULL;
  g_autoptr(JsonNode) host_snapshot = NULL;
  g_autoptr(JsonNode) bob_snapshot = NULL;
  g_autoptr(JsonNode) refused = NULL;
  GPid b = lr_test_server_get_pid (fixture->b);
  gint64 deadline;
  guint n = 0;

  host_on_a = lr_test_socket_connect (fixture->a, host->party_id, host->token, NULL);
  bob_on_b = lr_test_socket_connect (fixture->b, bob->party_id, bob->token, NULL);
  g_assert_nonnull (host_on_a);
  g_assert_nonnull (bob_on_b);
  host_snapshot = lr_test_socket_next (host_on_a, LR_TEST_EVENT_TIMEOUT_MS);
  bob_snapshot = lr_test_socket_next (bob_on_b, LR_TEST_EVENT_TIMEOUT_MS);
  g_assert_true (signal_until_crossed (host_on_a, bob_on_b, bob->peer_id, &n, 10000));

  /* B stops; A takes it for dead once its lease runs out. */
  g_assert_cmpint (kill (b, SIGSTOP), ==, 0);
  deadline = g_get_monotonic_time () + 10 * lease_us;
  while (refused == NULL && g_get_monotonic_time () < deadline)
    refused = signal_and_listen (host_on_a, bob->peer_id, n++, 50);
  g_assert_cmpint (kill (b, SIGCONT), ==, 0);
  g_assert_nonnull (refused);
  g_assert_cmpstr (lr_test_json_string (refused, "error.code"), ==, "peer_not_connected");

  /* B runs again: within a renewal (a third of the lease) and a notice, signals cross. */
  {
    gint64 start = g_get_monotonic_time ();

    g_assert_true (signal_until_crossed (host_on_a, bob_on_b, bob->peer_id, &n,
                                         (guint) (lease_us / 1000) + 3000));
    g_test_message ("signals cross again %" G_GINT64_FORMAT " ms after SIGCONT",
                    (g_get_monotonic_time () - start) / 1000);
  }
}

/* The invite-code rate limit counts what both instances let through. */
static void
test_rate_limit_shared (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->a, "lan", "host");
  guint allowed = 0;

  /* The create took one of the 3 tokens; 2 more joins pass, through either instance. */
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *body = join_body (host->invite_code, i);
      g_autoptr(LrTestResponse) response = lr_test_request (i % 2 ? fixture->a : fixture->b,
                                                            "POST", "/v1/join", NULL, body);

      if (response->status == 201)
        allowed++;
      else
        {
          lr_test_assert_error (response, 429, "rate_limited");
          g_assert_nonnull (response->retry_after);
        }
    }
  g_assert_cmpuint (allowed, ==, 2);
}

/* One instance killed under load: every join it acknowledged is there, and the other goes
 * on serving. */
static void
test_sigkill_under_load (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->b, "lan", "host");
  g_autoptr(SoupSession) session_a = new_session ();
  g_autoptr(SoupSession) session_b = new_session ();
  g_autoptr(Volley) volley = volley_new ();
  g_autoptr(LrTestResponse) party = NULL;
  g_autoptr(GHashTable) members = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *path = lr_test_party_path (host, NULL);
  guint acknowledged = 0, lost_answers = 0;
  JsonArray *peers;

  for (guint i = 0; i < 120; i++)
    {
      g_autofree char *body = join_body (host->invite_code, i);
      LrTestServer *server = i % 2 == 0 ? fixture->a : fixture->b;

      volley_send (volley, i % 2 == 0 ? session_a : session_b, lr_test_server_get_url (server),
                   "POST", "/v1/join", NULL, body);
    }

  /* Let some through, then kill A with requests in flight. */
  while (volley->pending > 90)
    g_main_context_iteration (NULL, TRUE);
  lr_test_server_stop (fixture->a, TRUE);
  volley_wait (volley, 60000);

  party = lr_test_request (fixture->b, "GET", path, host->token, NULL);
  lr_test_assert_status (party, 200);
  peers = lr_test_json_array (party->body, "peers");
  for (guint i = 0; i < json_array_get_length (peers); i++)
    g_hash_table_add (members, (gpointer) json_object_get_string_member (
                                 json_array_get_object_element (peers, i), "id"));

  for (guint i = 0; i < volley->answers->len; i++)
    {
      Answer *answer = g_ptr_array_index (volley->answers, i);

      if (answer->status == 201 && answer->body != NULL)
        {
          const char *id = lr_test_json_string (answer->body, "peer.id");

          if (!g_hash_table_contains (members, id))
            g_error ("Peer %s was acknowledged but is not in the party", id);
          acknowledged++;
        }
      else
        {
          /* Only A's requests may go unanswered, and only because it died: no answer, or
           * one whose body the kill cut off (the client never got its peer or token). */
          g_assert_cmpuint (i % 2, ==, 0);
          g_assert_true (answer->status == 0 || answer->status == 201);
          lost_answers++;
        }
    }

  g_test_message ("%u joins acknowledged and kept, %u cut off by the kill", acknowledged,
                  lost_answers);
  g_assert_cmpuint (acknowledged, >=, 60);
  g_assert_cmpuint (json_array_get_length (peers), >=, acknowledged + 1);

  /* B keeps serving. */
  {
    g_autoptr(LrTestMember) late = lr_test_join (fixture->b, host->invite_code, "late");
    g_assert_nonnull (late);
  }
}

/* PostgreSQL stopped under load: clear 503s, no request hangs, and both instances come back
 * by themselves once it is back. */
static void
test_postgres_restart (Fixture       *fixture,
                       gconstpointer  data)
{
  LrTestPostgres *cluster = lr_test_postgres_get_default ();
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->a, "lan", "host");
  g_autoptr(SoupSession) session = new_session ();
  g_autofree char *suffix = g_strdup_printf ("/peers/%s/heartbeat", host->peer_id);
  g_autofree char *heartbeat = lr_test_party_path (host, suffix);
  g_autofree char *path = lr_test_party_path (host, NULL);
  guint unavailable = 0;
  gint64 slowest = 0;
  gint64 recovered_us = 0;
  gint64 started;

  /* A socket held through the outage: its instance missed what the other did meanwhile. */
  g_autoptr(LrTestSocket) socket = lr_test_socket_connect (fixture->b, host->party_id,
                                                           host->token, NULL);
  g_autoptr(JsonNode) snapshot = lr_test_socket_next (socket, LR_TEST_EVENT_TIMEOUT_MS);
  g_assert_cmpstr (lr_test_json_string (snapshot, "type"), ==, "snapshot");

  lr_test_postgres_stop (cluster);

  /* Every kind of call, at both, while the database is away. */
  {
    g_autoptr(Volley) volley = volley_new ();

    for (guint i = 0; i < 40; i++)
      {
        LrTestServer *server = i % 2 == 0 ? fixture->a : fixture->b;
        const char *url = lr_test_server_get_url (server);

        if (i % 4 < 2)
          {
            g_autofree char *body = join_body (host->invite_code, i);
            volley_send (volley, session, url, "POST", "/v1/join", NULL, body);
          }
        else if (i % 4 == 2)
          volley_send (volley, session, url, "POST", heartbeat, host->token, NULL);
        else
          volley_send (volley, session, url, "GET", path, host->token, NULL);
      }
    volley_wait (volley, 30000);

    for (guint i = 0; i < volley->answers->len; i++)
      {
        Answer *answer = g_ptr_array_index (volley->answers, i);

        slowest = MAX (slowest, answer->took_us);
        g_assert_cmpuint (answer->status, ==, 503);
        g_assert_cmpstr (lr_test_json_string (answer->body, "error.code"), ==, "unavailable");
        unavailable++;
      }
  }

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(LrTestResponse) health = lr_test_request (i == 0 ? fixture->a : fixture->b,
                                                          "GET", "/healthz", NULL, NULL);
      lr_test_assert_status (health, 503);
      g_assert_cmpstr (lr_test_json_string (health->body, "database"), ==, "unavailable");
    }

  g_test_message ("%u calls answered 503 while PostgreSQL was stopped; slowest %" G_GINT64_FORMAT
                  " ms", unavailable, slowest / 1000);
  g_assert_cmpint (slowest, <, 6 * G_USEC_PER_SEC);

  lr_test_postgres_start (cluster);
  started = g_get_monotonic_time ();

  /* Both recover by themselves: the next calls work, without a restart of either. */
  for (guint i = 0; i < 2; i++)
    {
      LrTestServer *server = i == 0 ? fixture->a : fixture->b;
      gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

      for (;;)
        {
          g_autoptr(LrTestResponse) response = lr_test_request (server, "GET", path, host->token,
                                                                NULL);

          if (response->status == 200)
            break;
          g_assert_cmpuint (response->status, ==, 503);
          if (g_get_monotonic_time () > deadline)
            g_error ("Instance %u still answers 503 10 s after PostgreSQL came back", i);
          lr_test_run_for (100);
        }
      recovered_us = MAX (recovered_us, g_get_monotonic_time () - started);

      {
        g_autoptr(LrTestMember) guest = lr_test_join (server, host->invite_code, "after");
        g_assert_nonnull (guest);
      }

      /* /healthz follows the instance's own link to the database, which retries each
       * second: a balancer sees it back within a few. */
      deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
      for (;;)
        {
          g_autoptr(LrTestResponse) health = lr_test_request (server, "GET", "/healthz", NULL,
                                                              NULL);

          if (health->status == 200)
            break;
          g_assert_cmpuint (health->status, ==, 503);
          if (g_get_monotonic_time () > deadline)
            g_error ("Instance %u's /healthz still answers 503 5 s after PostgreSQL came back",
                     i);
          lr_test_run_for (100);
        }
    }
  g_test_message ("Both instances answered again %" G_GINT64_FORMAT " ms after PostgreSQL "
                  "was back", recovered_us / 1000);

  /* The socket was closed so that its client comes back for a snapshot, which shows the
   * members that joined through the other instance. */
  g_assert_true (lr_test_socket_wait_closed (socket, 5000));
  {
    g_autoptr(LrTestSocket) again = lr_test_socket_connect (fixture->b, host->party_id,
                                                            host->token, NULL);
    g_autoptr(JsonNode) fresh = lr_test_socket_next (again, LR_TEST_EVENT_TIMEOUT_MS);

    g_assert_cmpstr (lr_test_json_string (fresh, "type"), ==, "snapshot");
    g_assert_cmpuint (json_array_get_length (lr_test_json_array (fresh, "peers")), ==, 3);
  }
}

/* Heartbeats sent to one instance keep the peer online while another sweeps; once they
 * stop, the sweeper marks it offline, then removes it, once, for every socket. */
static void
test_liveness_across (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->a, "lan", "host");
  g_autoptr(LrTestMember) x = NULL;
  g_autoptr(LrTestSocket) watch = NULL;
  g_autoptr(JsonNode) snapshot = NULL;
  g_autoptr(JsonNode) joined = NULL;
  g_autofree char *suffix = NULL;
  g_autofree char *heartbeat = NULL;
  g_autofree char *path = lr_test_party_path (host, NULL);
  gint64 until;

  /* The host's socket, on the first instance (which started first and sweeps). */
  watch = lr_test_socket_connect (fixture->a, host->party_id, host->token, NULL);
  snapshot = lr_test_socket_next (watch, LR_TEST_EVENT_TIMEOUT_MS);
  g_assert_cmpstr (lr_test_json_string (snapshot, "type"), ==, "snapshot");

  x = lr_test_join (fixture->b, host->invite_code, "x");
  joined = lr_test_socket_expect (watch, "peer_joined", x->peer_id);
  suffix = g_strdup_printf ("/peers/%s/heartbeat", x->peer_id);
  heartbeat = lr_test_party_path (x, suffix);

  /* Twice --offline-after of heartbeats through the other instance only. */
  until = g_get_monotonic_time () + 2 * OFFLINE_AFTER_MS * 1000;
  while (g_get_monotonic_time () < until)
    {
      g_autoptr(LrTestResponse) response = lr_test_request (fixture->b, "POST", heartbeat,
                                                            x->token, NULL);

      lr_test_assert_status (response, 204);
      lr_test_socket_expect_nothing (watch, 250);
    }

  /* Quiet now: offline, then gone, each said once. */
  {
    g_autoptr(JsonNode) offline = lr_test_socket_expect (watch, "peer_offline", x->peer_id);
    g_autoptr(LrTestResponse) seen_by_b = lr_test_request (fixture->b, "GET", path, host->token,
                                                           NULL);
    JsonNode *peer = lr_test_json_array_find_peer (lr_test_json_array (seen_by_b->body, "peers"),
                                                   x->peer_id);

    g_assert_false (lr_test_json_bool (peer, "online"));
  }
  {
    g_autoptr(JsonNode) left = lr_test_socket_expect (watch, "peer_left", x->peer_id);
  }
  lr_test_socket_expect_nothing (watch, 500);
}

/* The sweeping instance killed: the other takes over the sweeping by itself. */
static void
test_sweeper_takeover (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->b, "lan", "host");
  g_autoptr(LrTestMember) x = lr_test_join (fixture->b, host->invite_code, "x");
  g_autoptr(LrTestSocket) watch = NULL;
  g_autoptr(JsonNode) snapshot = NULL;
  gboolean offline = FALSE, left = FALSE;
  gint64 deadline;

  watch = lr_test_socket_connect (fixture->b, host->party_id, host->token, NULL);
  snapshot = lr_test_socket_next (watch, LR_TEST_EVENT_TIMEOUT_MS);
  g_assert_cmpstr (lr_test_json_string (snapshot, "type"), ==, "snapshot");

  /* The first instance started first and holds the lock; it dies with it. */
  lr_test_server_stop (fixture->a, TRUE);

  /* x never heartbeats: the second instance must find it offline, then gone. */
  deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (!left && g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) event = lr_test_socket_next (watch, 1000);
      const char *type;

      if (event == NULL)
        continue;
      type = lr_test_json_string (event, "type");
      if (g_str_equal (type, "peer_offline") &&
          g_str_equal (lr_test_json_string (event, "peer.id"), x->peer_id))
        offline = TRUE;
      else if (g_str_equal (type, "peer_left") &&
               g_str_equal (lr_test_json_string (event, "peer.id"), x->peer_id))
        left = TRUE;
    }

  g_assert_true (offline);
  g_assert_true (left);
}

/* A password never goes on the command line: the server refuses one in the URI, and does
 * not repeat it. */
/* Runs @sql on the instances' database, as an operator would with psql. */
static void
run_sql (LrTestServer *server,
         const char   *sql)
{
  PGconn *pg = PQconnectdb (lr_test_server_get_db_path (server));
  PGresult *result;

  g_assert_cmpint (PQstatus (pg), ==, CONNECTION_OK);
  result = PQexec (pg, sql);
  if (PQresultStatus (result) != PGRES_COMMAND_OK && PQresultStatus (result) != PGRES_TUPLES_OK)
    g_error ("%s: %s", sql, PQresultErrorMessage (result));
  PQclear (result);
  PQfinish (pg);
}

/* Whether the removals' sequence has handed out a number. */
static gboolean
removal_numbered (LrTestServer *server)
{
  PGconn *pg = PQconnectdb (lr_test_server_get_db_path (server));
  PGresult *result = PQexec (pg, "SELECT is_called FROM relay_removals_seq");
  gboolean numbered;

  g_assert_cmpint (PQresultStatus (result), ==, PGRES_TUPLES_OK);
  numbered = g_str_equal (PQgetvalue (result, 0, 0), "t");
  PQclear (result);
  PQfinish (pg);
  return numbered;
}

/* Registers as a relay through @server from @cursor; adds the removed peers to @seen and
 * returns the next cursor. */
static char *
read_removals (LrTestServer *server,
               const char   *secret,
               const char   *cursor,
               GHashTable   *seen)
{
  g_autofree char *path = g_strconcat ("/v1/relays?removed_after=", cursor, NULL);
  g_autoptr(LrTestResponse) response = NULL;
  JsonArray *removed;

  response = lr_test_request (server, "POST", path, secret,
                              "{\"id\": \"relay-order\", \"region\": \"eu-west\", "
                              "\"endpoint\": \"198.51.100.7:3478\"}");
  lr_test_assert_status (response, 200);
  removed = lr_test_json_array (response->body, "removed");
  for (guint i = 0; i < json_array_get_length (removed); i++)
    g_hash_table_add (seen, g_strdup (lr_test_json_string (json_array_get_element (removed, i),
                                                           "peer_id")));
  return g_strdup_printf ("%" G_GINT64_FORMAT, lr_test_json_int (response->body, "cursor"));
}

/*
 * A relay follows the removals by cursor, so a removal must never commit after a larger
 * cursor was read. Here one removal, through instance a, takes its number and is held up
 * before it commits (a trigger sleeps in its transaction, standing for a slow disk or a
 * busy database); meanwhile another, through instance b, is made, and a relay reads. With
 * numbers taken in any order, the relay would read the second, move its cursor past the
 * first and never hear of it; the instances make the second wait for the first instead.
 */
static void
test_removals_in_commit_order (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autoptr(LrTestMember) slow_host = lr_test_create_party (fixture->a, "slow", "host");
  g_autoptr(LrTestMember) slow = lr_test_join (fixture->a, slow_host->invite_code, "slow");
  g_autoptr(LrTestMember) quick_host = lr_test_create_party (fixture->b, "quick", "host");
  g_autoptr(LrTestMember) quick = lr_test_join (fixture->b, quick_host->invite_code, "quick");
  g_autofree char *secret = lr_test_server_read_relay_secret (fixture->a);
  g_autofree char *trigger = NULL;
  g_autofree char *slow_path = lr_test_party_path (slow, "/peers/");
  g_autofree char *quick_path = lr_test_party_path (quick, "/peers/");
  g_autofree char *slow_leave = g_strconcat (slow_path, slow->peer_id, NULL);
  g_autofree char *quick_leave = g_strconcat (quick_path, quick->peer_id, NULL);
  g_autofree char *cursor = NULL;
  g_autofree char *next = NULL;
  g_autoptr(SoupSession) session = new_session ();
  g_autoptr(Volley) slow_volley = volley_new ();
  g_autoptr(Volley) quick_volley = volley_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gint64 deadline;

  run_sql (fixture->a,
           "CREATE FUNCTION lr_test_hold_up () RETURNS trigger LANGUAGE plpgsql AS "
           "$$ BEGIN PERFORM pg_sleep (3); RETURN NEW; END $$");
  trigger = g_strdup_printf ("CREATE TRIGGER lr_test_hold_up AFTER INSERT ON relay_removals "
                             "FOR EACH ROW WHEN (NEW.peer_id = '%s') "
                             "EXECUTE FUNCTION lr_test_hold_up ()", slow->peer_id);
  run_sql (fixture->a, trigger);

  volley_send (slow_volley, session, lr_test_server_get_url (fixture->a), "DELETE", slow_leave,
               slow->token, NULL);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!removal_numbered (fixture->a))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }

  /* The slow removal has its number and sleeps; the quick one is answered once it commits. */
  volley_send (quick_volley, session, lr_test_server_get_url (fixture->b), "DELETE",
               quick_leave, quick->token, NULL);
  volley_wait (quick_volley, 15000);
  g_assert_cmpuint (((Answer *) g_ptr_array_index (quick_volley->answers, 0))->status, ==, 204);

  cursor = read_removals (fixture->b, secret, "0", seen);
  volley_wait (slow_volley, 15000);
  g_assert_cmpuint (((Answer *) g_ptr_array_index (slow_volley->answers, 0))->status, ==, 204);
  next = read_removals (fixture->a, secret, cursor, seen);

  g_test_message ("The relay heard of %u removals, its cursor went 0 → %s → %s",
                  g_hash_table_size (seen), cursor, next);
  g_assert_true (g_hash_table_contains (seen, quick->peer_id));
  g_assert_true (g_hash_table_contains (seen, slow->peer_id));
}

/* How many connections lanrage-control instances hold to @server's database. */
static gint64
count_connections (LrTestServer *server)
{
  PGconn *pg = PQconnectdb (lr_test_server_get_db_path (server));
  PGresult *result;
  gint64 count;

  g_assert_cmpint (PQstatus (pg), ==, CONNECTION_OK);
  result = PQexec (pg, "SELECT count(*) FROM pg_stat_activity "
                   "WHERE datname = current_database () AND application_name = 'lanrage-control'");
  g_assert_cmpint (PQresultStatus (result), ==, PGRES_TUPLES_OK);
  count = g_ascii_strtoll (PQgetvalue (result, 0, 0), NULL, 10);
  PQclear (result);
  PQfinish (pg);
  return count;
}

/* --db-pool 2: under many requests at once, each instance opens two connections for its
 * calls (and one for notices), not the default four. */
static void
test_db_pool (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (fixture->a, "lan", "host");
  g_autoptr(SoupSession) session = new_session ();
  g_autoptr(Volley) volley = volley_new ();
  g_autofree char *path = lr_test_party_path (host, "");
  gint64 connections;

  for (guint i = 0; i < 64; i++)
    volley_send (volley, session, lr_test_server_get_url (i % 2 ? fixture->a : fixture->b),
                 "GET", path, host->token, NULL);
  volley_wait (volley, 30000);
  for (guint i = 0; i < volley->answers->len; i++)
    g_assert_cmpuint (((Answer *) g_ptr_array_index (volley->answers, i))->status, ==, 200);

  connections = count_connections (fixture->a);
  g_test_message ("%" G_GINT64_FORMAT " connections for two instances of --db-pool 2",
                  connections);
  g_assert_cmpint (connections, <=, 2 * (2 + 1));
  g_assert_cmpint (connections, >=, 2 * 2);
}

/* Whether @haystack holds @needle; says so when it does. */
static gboolean
shows (const char *what,
       const char *haystack,
       const char *needle)
{
  gboolean found = strstr (haystack, needle) != NULL;

  if (found)
    g_test_message ("the password is in %s", what);
  return found;
}

/* The NUL-separated argv of @pid as one string. */
static char *
read_cmdline (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", (int) pid);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < length; i++)
    if (contents[i] == '\0')
      contents[i] = ' ';
  return contents;
}

/* Starts @server on @uri; returns its exit status when it does not start, else -1. */
static int
start_on (LrTestServer *server,
          const char   *uri)
{
  int status = 0;

  lr_test_server_set_db_path (server, uri);
  if (lr_test_server_try_start (server, &status))
    return -1;
  return status;
}

/* The status of a request that creates a party. */
static guint
create_status (LrTestServer *server)
{
  g_autofree char *wg = lr_test_random_key ();
  g_autofree char *disco = lr_test_random_key ();
  g_autofree char *body = g_strdup_printf ("{\"name\": \"lan\", \"peer\": {\"name\": \"host\", "
                                           "\"wg_public_key\": \"%s\", "
                                           "\"disco_public_key\": \"%s\"}}", wg, disco);
  g_autoptr(LrTestResponse) response = lr_test_request (server, "POST", "/v1/parties", NULL,
                                                        body);

  return response->status;
}

/* A role that logs in with a password (scram-sha-256): the server connects with the
 * password from a passfile (0600) named in the URI, and the password appears nowhere: not
 * in its argv, its log (every debug line) or /metrics. A wrong password, a missing one and a
 * file others can read each stop the start with a clear message; a file made readable while
 * the server runs is named in the log when a connection is made again. */
static void
test_password_file (void)
{
  g_autoptr(LrTestServer) server = lr_test_server_new (NULL, LR_TEST_SERVER_DEBUG_LOG);
  g_autofree char *trusted = g_strdup (lr_test_server_get_db_path (server));
  g_autofree char *password = g_strdup_printf ("pw-%08x%08x", g_random_int (), g_random_int ());
  g_autofree char *role_sql = g_strdup_printf ("CREATE ROLE " LR_TEST_POSTGRES_PASSWORD_ROLE
                                               " LOGIN PASSWORD '%s'", password);
  g_autofree char *passfile = g_build_filename (lr_test_server_get_tmpdir (server), "pgpass",
                                                NULL);
  g_autofree char *wrongfile = g_build_filename (lr_test_server_get_tmpdir (server),
                                                 "pgpass-wrong", NULL);
  g_autofree char *line = g_strdup_printf ("*:*:*:" LR_TEST_POSTGRES_PASSWORD_ROLE ":%s\n",
                                           password);
  g_autofree char *base = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *wrong_uri = NULL;
  g_autofree char *no_file_uri = NULL;
  g_autoptr(GError) error = NULL;
  const char *user;

  /* The fresh database is handed to the role, so that it may create the tables. */
  run_sql (server, role_sql);
  run_sql (server, "DO $$ BEGIN EXECUTE format ('ALTER DATABASE %I OWNER TO "
           LR_TEST_POSTGRES_PASSWORD_ROLE "', current_database ()); END $$");

  user = strstr (trusted, "&user=");
  g_assert_nonnull (user);
  base = g_strndup (trusted, user - trusted);
  uri = g_strdup_printf ("%s&user=" LR_TEST_POSTGRES_PASSWORD_ROLE "&passfile=%s", base,
                         passfile);
  wrong_uri = g_strdup_printf ("%s&user=" LR_TEST_POSTGRES_PASSWORD_ROLE "&passfile=%s", base,
                               wrongfile);
  no_file_uri = g_strdup_printf ("%s&user=" LR_TEST_POSTGRES_PASSWORD_ROLE, base);
  g_file_set_contents_full (passfile, line, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (wrongfile, "*:*:*:" LR_TEST_POSTGRES_PASSWORD_ROLE ":wrong\n", -1,
                            G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
  g_assert_no_error (error);

  /* The wrong password. */
  g_assert_cmpint (start_on (server, wrong_uri), ==, 1);
  {
    g_autofree char *log = lr_test_server_get_log (server);

    g_test_message ("wrong password: %s", log);
    g_assert_nonnull (strstr (log, "password authentication failed"));
  }

  /* No password at all. */
  g_assert_cmpint (start_on (server, no_file_uri), ==, 1);
  {
    g_autofree char *log = lr_test_server_get_log (server);

    g_assert_nonnull (strstr (log, "asks for a password"));
  }

  /* The right password in a file others may read. */
  g_assert_cmpint (g_chmod (passfile, 0644), ==, 0);
  g_assert_cmpint (start_on (server, uri), ==, 1);
  {
    g_autofree char *log = lr_test_server_get_log (server);

    g_assert_nonnull (strstr (log, "chmod 600"));
  }

  /* The right password, kept private: it serves. */
  g_assert_cmpint (g_chmod (passfile, 0600), ==, 0);
  g_assert_cmpint (start_on (server, uri), ==, -1);
  {
    g_autoptr(LrTestMember) host = lr_test_create_party (server, "lan", "host");
    g_autoptr(LrTestMember) bob = lr_test_join (server, host->invite_code, "bob");
    g_autoptr(LrTestResponse) health = lr_test_request (server, "GET", "/healthz", NULL, NULL);
    g_autoptr(LrTestResponse) metrics = lr_test_request (server, "GET", "/metrics", NULL, NULL);
    g_autofree char *metrics_text = g_strndup (g_bytes_get_data (metrics->raw, NULL),
                                               g_bytes_get_size (metrics->raw));
    g_autofree char *argv_text = read_cmdline (lr_test_server_get_pid (server));
    g_autofree char *log = NULL;

    lr_test_assert_status (health, 200);
    lr_test_assert_status (metrics, 200);
    g_assert_cmpstr (bob->party_id, ==, host->party_id);
    g_assert_nonnull (strstr (argv_text, "passfile="));

    /* The file turns readable by others while the server runs: when its connections must
     * be made again, the log says why they fail, and once the file is private again the
     * server serves. */
    {
      g_autofree char *log_before = lr_test_server_get_log (server);
      g_autofree char *log_after = NULL;
      gint64 deadline;
      guint status = 0;

      run_sql (server, "SELECT pg_terminate_backend (pid) FROM pg_stat_activity WHERE usename = '"
               LR_TEST_POSTGRES_PASSWORD_ROLE "' AND pid <> pg_backend_pid ()");
      g_assert_cmpint (g_chmod (passfile, 0644), ==, 0);
      g_assert_cmpuint (create_status (server), ==, 503);
      log_after = lr_test_server_get_log (server);
      g_assert_cmpuint (strlen (log_after), >=, strlen (log_before));
      g_assert_nonnull (strstr (log_after + strlen (log_before), "can be read by others"));
      g_assert_cmpint (g_chmod (passfile, 0600), ==, 0);
      deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
      while ((status = create_status (server)) != 201 && g_get_monotonic_time () < deadline)
        g_usleep (100 * 1000);
      g_assert_cmpuint (status, ==, 201);
    }

    lr_test_server_stop (server, FALSE);
    log = lr_test_server_get_log (server);
    g_assert_nonnull (strstr (log, "Listening on"));
    g_assert_false (shows ("argv", argv_text, password));
    g_assert_false (shows ("/metrics", metrics_text, password));
    g_assert_false (shows ("the log", log, password));
  }
}

/* Sends a request to create a party on a connection of its own and waits up to
 * @timeout_s for the status line; 0 when none came. */
static guint
create_status_within (LrTestServer *server,
                      guint         timeout_s)
{
  g_autoptr(GSocket) socket = lr_test_server_connect_tcp (server, NULL);
  g_autofree char *wg = lr_test_random_key ();
  g_autofree char *disco = lr_test_random_key ();
  g_autofree char *body = g_strdup_printf ("{\"name\": \"lan\", \"peer\": {\"name\": \"host\", "
                                           "\"wg_public_key\": \"%s\", "
                                           "\"disco_public_key\": \"%s\"}}", wg, disco);
  g_autofree char *request = g_strdup_printf ("POST /v1/parties HTTP/1.1\r\nHost: x\r\n"
                                              "Content-Type: application/json\r\n"
                                              "Content-Length: %zu\r\n\r\n%s",
                                              strlen (body), body);
  char answer[64] = { 0 };
  gssize n;

  g_assert_nonnull (socket);
  g_socket_set_timeout (socket, timeout_s);
  g_assert_cmpint (g_socket_send (socket, request, strlen (request), NULL, NULL), ==,
                   (gssize) strlen (request));
  n = g_socket_receive (socket, answer, sizeof answer - 1, NULL, NULL);
  if (n < 12 || !g_str_has_prefix (answer, "HTTP/1.1 "))
    return 0;
  return (guint) g_ascii_strtoull (answer + 9, NULL, 10);
}

/* Signals every backend serving lanrage-control. */
static void
signal_backends (LrTestServer *server,
                 int           signal_number)
{
  PGconn *pg = PQconnectdb (lr_test_server_get_db_path (server));
  PGresult *result;

  g_assert_cmpint (PQstatus (pg), ==, CONNECTION_OK);
  result = PQexec (pg, "SELECT pid FROM pg_stat_activity WHERE application_name = "
                   "'lanrage-control'");
  g_assert_cmpint (PQresultStatus (result), ==, PGRES_TUPLES_OK);
  g_assert_cmpint (PQntuples (result), >=, 1);
  for (int i = 0; i < PQntuples (result); i++)
    g_assert_cmpint (kill ((pid_t) atoi (PQgetvalue (result, i, 0)), signal_number), ==, 0);
  PQclear (result);
  PQfinish (pg);
}

/* The database's processes for this server stop answering (as a host that lost power or
 * a network that drops everything would look): a request is answered anyway, within the
 * statement deadline and a new connection's, not after TCP gives up; once they answer
 * again, the server serves. */
static void
test_silent_database (void)
{
  /* One connection, made at the start, so that the request meets a stopped backend. */
  static const char * const one_connection[] = { "--db-pool", "1", NULL };
  g_autoptr(LrTestServer) server = lr_test_server_new (one_connection, LR_TEST_SERVER_NONE);
  gint64 start;
  guint status;

  lr_test_server_start (server);
  g_assert_cmpuint (create_status_within (server, 10), ==, 201);

  signal_backends (server, SIGSTOP);
  start = g_get_monotonic_time ();
  status = create_status_within (server, 60);
  g_test_message ("with the database's backends stopped: %u after %.1f s", status,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  signal_backends (server, SIGCONT);
  g_assert_true (status == 201 || status == 503);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 30 * G_USEC_PER_SEC);

  start = g_get_monotonic_time ();
  while ((status = create_status_within (server, 20)) != 201 &&
         g_get_monotonic_time () - start < 20 * G_USEC_PER_SEC)
    g_usleep (200 * 1000);
  g_assert_cmpuint (status, ==, 201);
}

static void
test_password_refused (void)
{
  const char *secret = "hunter2-do-not-print";
  g_autofree char *uri = g_strdup_printf ("postgresql://lanrage:%s@localhost/x", secret);
  const char *args[] = { g_getenv ("LANRAGE_CONTROL"), "--listen", "127.0.0.1:0", "--db", uri,
                         NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) args, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &err, &status, &error));
  g_assert_no_error (error);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "passfile"));
  g_assert_null (strstr (err, secret));
  g_assert_null (strstr (out, secret));
}

int
main (int   argc,
      char *argv[])
{
  static const char * const no_args[] = { NULL };
  static const char * const rate_limited[] = { "--join-rate-limit", "3", NULL };
  static const char * const small_pool[] = { "--db-pool", "2", NULL };
  static const char * const short_lease[] = { "--instance-lease", "1500ms", NULL };
  static const char * const short_timeouts[] = {
    "--offline-after", G_STRINGIFY (OFFLINE_AFTER_MS) "ms", "--remove-after", "1500ms",
    "--cleanup-interval", "50ms",
    "--heartbeat-flush-interval", "200ms", NULL
  };

  lr_test_control_init (&argc, &argv);

  if (!lr_test_backend_is_postgresql ())
    {
      g_print ("1..0 # SKIP several instances need a shared PostgreSQL "
               "(LR_TEST_CONTROL_DB=postgresql)\n");
      return 0;
    }

  g_test_add ("/control/instances/joins-hammered", Fixture, no_args, fixture_set_up,
              test_joins_hammered, fixture_tear_down);
  g_test_add ("/control/instances/events-and-signals-cross", Fixture, no_args, fixture_set_up,
              test_events_cross, fixture_tear_down);
  g_test_add ("/control/instances/rate-limit-shared", Fixture, rate_limited, fixture_set_up,
              test_rate_limit_shared, fixture_tear_down);
  g_test_add ("/control/instances/sigkill-under-load", Fixture, no_args, fixture_set_up,
              test_sigkill_under_load, fixture_tear_down);
  g_test_add ("/control/instances/postgres-restart", Fixture, no_args, fixture_set_up,
              test_postgres_restart, fixture_tear_down);
  g_test_add ("/control/instances/liveness-across", Fixture, short_timeouts, fixture_set_up,
              test_liveness_across, fixture_tear_down);
  g_test_add ("/control/instances/sweeper-takeover", Fixture, short_timeouts, fixture_set_up,
              test_sweeper_takeover, fixture_tear_down);
  g_test_add ("/control/instances/removals-in-commit-order", Fixture, no_args, fixture_set_up,
              test_removals_in_commit_order, fixture_tear_down);
  g_test_add ("/control/instances/revoked-tokens", Fixture, no_args, fixture_set_up,
              test_revoked_tokens, fixture_tear_down);
  g_test_add ("/control/instances/db-pool", Fixture, small_pool, fixture_set_up, test_db_pool,
              fixture_tear_down);
  g_test_add ("/control/instances/dead-instance-sockets", Fixture, short_lease, fixture_set_up,
              test_dead_instance_sockets, fixture_tear_down);
  g_test_add ("/control/instances/lapsed-lease-recovers", Fixture, short_lease, fixture_set_up,
              test_lapsed_lease_recovers, fixture_tear_down);
  g_test_add_func ("/control/instances/password-refused", test_password_refused);
  g_test_add_func ("/control/instances/password-file", test_password_file);
  g_test_add_func ("/control/instances/silent-database", test_silent_database);

  return g_test_run ();
}
