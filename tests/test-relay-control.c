/* test-relay-control.c: lanrage-relay with the real lanrage-control
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Both binaries on loopback: the relay registers with the control server and shows up in
 * GET /v1/relays; peers who created and joined a party through the control server bind to
 * the relay with the relay tokens it gave them, and their datagrams cross.
 */
#include "lr-id.h"
#include "lr-relay-frame.h"
#include "lr-test-control.h"
#include "relay-test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

typedef struct
{
  LrTestServer *control;
  RelayProcess  relay;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *secret = NULL;
  g_autoptr(GError) error = NULL;

  f->control = lr_test_server_new (NULL, LR_TEST_SERVER_NONE);
  lr_test_server_start (f->control);

  /* The relay gets the control server's secret, in its own 0600 file. */
  relay_process_init (&f->relay);
  secret = lr_test_server_read_relay_secret (f->control);
  g_assert_true (g_file_set_contents_full (f->relay.secret_path, secret, -1,
                                           G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  g_assert_no_error (error);
  g_clear_pointer (&f->relay.secret, g_bytes_unref);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  relay_process_clear (&f->relay);
  lr_test_server_free (f->control);
}

/* Returns: the relay's entry in GET /v1/relays, or NULL. */
static JsonObject *
find_relay (Fixture    *f,
            const char *id,
            JsonNode  **keep)
{
  g_autoptr(LrTestResponse) response = lr_test_request (f->control, "GET", "/v1/relays", NULL,
                                                        NULL);
  JsonArray *relays;

  g_assert_cmpuint (response->status, ==, 200);
  relays = json_object_get_array_member (json_node_get_object (response->body), "relays");
  for (guint i = 0; i < json_array_get_length (relays); i++)
    {
      JsonObject *relay = json_array_get_object_element (relays, i);

      if (g_strcmp0 (json_object_get_string_member (relay, "id"), id) == 0)
        {
          *keep = json_node_ref (response->body);
          return relay;
        }
    }
  return NULL;
}

static void
start_relay_with (Fixture    *f,
                  const char *id,
                  const char *interval)
{
  g_autofree char *control = g_strdup (lr_test_server_get_url (f->control));
  const char *args[] = { "--control", control, "--public-endpoint", "198.51.100.7:3478",
                         "--id", id, "--region", "eu-west", NULL, NULL, NULL };

  if (interval != NULL)
    {
      args[8] = "--registration-interval";
      args[9] = interval;
    }
  relay_process_start (&f->relay, args);
}

static void
start_relay (Fixture    *f,
             const char *id)
{
  start_relay_with (f, id, NULL);
}

static void
test_registered (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(JsonNode) keep = NULL;
  JsonObject *relay = NULL;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  start_relay (f, "relay-e2e");
  while (relay == NULL && g_get_monotonic_time () < deadline)
    {
      relay = find_relay (f, "relay-e2e", &keep);
      if (relay == NULL)
        g_usleep (50 * 1000);
    }
  g_assert_nonnull (relay);
  g_assert_cmpstr (json_object_get_string_member (relay, "region"), ==, "eu-west");
  g_assert_cmpstr (json_object_get_string_member (relay, "endpoint"), ==, "198.51.100.7:3478");
}

static void
test_wrong_secret_not_listed (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) keep = NULL;

  g_assert_true (g_file_set_contents_full (f->relay.secret_path,
                                           "not-the-control-servers-secret-at-all-0123456789",
                                           -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  start_relay (f, "relay-impostor");
  g_usleep (500 * 1000);
  g_assert_null (find_relay (f, "relay-impostor", &keep));
}

/* Reads whatever @client was sent so far: the relay's answers to earlier frames. */
static void
drain (UdpClient *client)
{
  guint8 buffer[2048];

  while (udp_client_recv (client, buffer, sizeof buffer, 0, NULL) > 0)
    ;
}

/* Sends a fresh BIND with @token; returns the answer's type and code. */
static guint8
try_bind (Fixture    *f,
          UdpClient  *client,
          const char *token,
          guint16    *code)
{
  guint8 frame[256], reply[256];
  gsize length = relay_bind_frame (frame, sizeof frame, token, g_get_real_time (),
                                   relay_next_counter ());
  LrRelayFrame parsed;
  gssize got;

  udp_client_send (client, f->relay.port, NULL, frame, length);
  got = udp_client_recv (client, reply, sizeof reply, 1000, NULL);
  g_assert_cmpint (got, >=, LR_RELAY_FRAME_HEADER_SIZE);
  g_assert_cmpint (lr_relay_frame_parse (&parsed, reply, got), ==, LR_RELAY_FRAME_OK);
  *code = parsed.code;
  return parsed.type;
}

static void
bind_with (Fixture    *f,
           UdpClient  *client,
           const char *token)
{
  guint16 code;

  g_assert_cmpuint (try_bind (f, client, token, &code), ==, LR_RELAY_FRAME_BOUND);
}

/* A party made through lanrage-control, relayed through lanrage-relay. */
static void
test_party_through_relay (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (f->control, "lan night", "host");
  g_autoptr(LrTestMember) guest = lr_test_join (f->control, host->invite_code, "guest");
  guint64 host_peer, guest_peer;
  UdpClient a, b;
  guint8 frame[256], buffer[2048];
  gsize length;
  gssize got;
  LrRelayFrame parsed;

  g_assert_true (lr_id_to_uint64 (host->peer_id, &host_peer));
  g_assert_true (lr_id_to_uint64 (guest->peer_id, &guest_peer));
  start_relay (f, "relay-party");
  udp_client_init (&a, "127.0.0.1");
  udp_client_init (&b, "127.0.0.1");
  bind_with (f, &a, host->relay_token);
  bind_with (f, &b, guest->relay_token);

  length = lr_relay_frame_build (frame, sizeof frame, LR_RELAY_FRAME_DATA, 0, guest_peer,
                                 "a WireGuard datagram", 20);
  udp_client_send (&a, f->relay.port, NULL, frame, length);
  got = udp_client_recv (&b, buffer, sizeof buffer, 1000, NULL);
  g_assert_cmpint (got, ==, length);
  g_assert_cmpint (lr_relay_frame_parse (&parsed, buffer, got), ==, LR_RELAY_FRAME_OK);
  g_assert_cmphex (parsed.peer, ==, host_peer);
  g_assert_cmpmem (parsed.payload, parsed.payload_length, "a WireGuard datagram", 20);

  udp_client_clear (&a);
  udp_client_clear (&b);
}

static void
send_data (Fixture    *f,
           UdpClient  *from,
           const char *to_peer_id)
{
  guint8 frame[64];
  guint64 to;
  gsize length;

  g_assert_true (lr_id_to_uint64 (to_peer_id, &to));
  length = lr_relay_frame_build (frame, sizeof frame, LR_RELAY_FRAME_DATA, 0, to, "datagram", 8);
  udp_client_send (from, f->relay.port, NULL, frame, length);
}

/* Returns: the peer id of the DATA that came, 0 when none came within @timeout_ms. */
static guint64
receive_data (UdpClient *client,
              int        timeout_ms)
{
  guint8 buffer[2048];
  gssize got = udp_client_recv (client, buffer, sizeof buffer, timeout_ms, NULL);
  LrRelayFrame parsed;

  if (got <= 0 || lr_relay_frame_parse (&parsed, buffer, got) != LR_RELAY_FRAME_OK ||
      parsed.type != LR_RELAY_FRAME_DATA)
    return 0;
  return parsed.peer;
}

#define REGISTRATION_INTERVAL_S 1

/* A peer removed from its party through lanrage-control (it left, or the host removed it)
 * stops relaying within one registration interval, and its token no longer binds. */
static void
test_removed_peer_stops (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(LrTestMember) host = lr_test_create_party (f->control, "lan night", "host");
  g_autoptr(LrTestMember) leaver = lr_test_join (f->control, host->invite_code, "leaver");
  g_autoptr(LrTestMember) kicked = lr_test_join (f->control, host->invite_code, "kicked");
  g_autoptr(LrTestMember) stayer = lr_test_join (f->control, host->invite_code, "stayer");
  g_autoptr(LrTestResponse) left = NULL;
  g_autoptr(LrTestResponse) kick = NULL;
  g_autofree char *leaver_path = NULL;
  g_autofree char *kicked_path = NULL;
  g_autofree char *suffix = NULL;
  g_autofree char *interval = g_strdup_printf ("%d", REGISTRATION_INTERVAL_S);
  guint64 leaver_peer, kicked_peer, stayer_peer;
  UdpClient a, b, c, d;
  gint64 removed_at, deadline, last_crossed = 0;
  guint16 code;

  g_assert_true (lr_id_to_uint64 (leaver->peer_id, &leaver_peer));
  g_assert_true (lr_id_to_uint64 (kicked->peer_id, &kicked_peer));
  g_assert_true (lr_id_to_uint64 (stayer->peer_id, &stayer_peer));
  start_relay_with (f, "relay-removals", interval);
  udp_client_init (&a, "127.0.0.1");
  udp_client_init (&b, "127.0.0.1");
  udp_client_init (&c, "127.0.0.1");
  udp_client_init (&d, "127.0.0.1");
  bind_with (f, &a, host->relay_token);
  bind_with (f, &b, leaver->relay_token);
  bind_with (f, &c, kicked->relay_token);
  bind_with (f, &d, stayer->relay_token);
  send_data (f, &b, host->peer_id);
  g_assert_cmphex (receive_data (&a, 1000), ==, leaver_peer);
  send_data (f, &c, host->peer_id);
  g_assert_cmphex (receive_data (&a, 1000), ==, kicked_peer);

  suffix = g_strconcat ("/peers/", leaver->peer_id, NULL);
  leaver_path = lr_test_party_path (leaver, suffix);
  g_free (suffix);
  suffix = g_strconcat ("/peers/", kicked->peer_id, NULL);
  kicked_path = lr_test_party_path (host, suffix);
  left = lr_test_request (f->control, "DELETE", leaver_path, leaver->token, NULL);
  lr_test_assert_status (left, 204);
  kick = lr_test_request (f->control, "DELETE", kicked_path, host->token, NULL);
  lr_test_assert_status (kick, 204);
  removed_at = g_get_monotonic_time ();

  /* Both keep sending, as a client that was removed but still has its token would. */
  deadline = removed_at + (2 * REGISTRATION_INTERVAL_S + 1) * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      guint64 from;

      send_data (f, &b, host->peer_id);
      send_data (f, &c, host->peer_id);
      while ((from = receive_data (&a, 50)) != 0)
        {
          g_assert_true (from == leaver_peer || from == kicked_peer);
          last_crossed = g_get_monotonic_time ();
        }
    }
  g_test_message ("The removed peers' DATA crossed until %.2f s after the removal",
                  last_crossed > 0 ? (last_crossed - removed_at) / 1e6 : 0.0);
  /* One interval, and half a second for the registration's HTTP round trip on a busy
   * machine. */
  g_assert_cmpint (last_crossed - removed_at, <,
                   REGISTRATION_INTERVAL_S * G_USEC_PER_SEC + G_USEC_PER_SEC / 2);

  /* Their tokens no longer bind, and nobody reaches them. */
  g_usleep (100 * 1000);
  drain (&b);
  drain (&c);
  g_assert_cmpuint (try_bind (f, &b, leaver->relay_token, &code), ==, LR_RELAY_FRAME_ERROR);
  g_assert_cmpuint (code, ==, LR_RELAY_FRAME_ERROR_REVOKED);
  g_assert_cmpuint (try_bind (f, &c, kicked->relay_token, &code), ==, LR_RELAY_FRAME_ERROR);
  g_assert_cmpuint (code, ==, LR_RELAY_FRAME_ERROR_REVOKED);
  send_data (f, &a, leaver->peer_id);
  g_assert_cmphex (receive_data (&b, 300), ==, 0);

  /* The one who stayed still relays. */
  send_data (f, &d, host->peer_id);
  g_assert_cmphex (receive_data (&a, 1000), ==, stayer_peer);
  bind_with (f, &d, stayer->relay_token);

  udp_client_clear (&a);
  udp_client_clear (&b);
  udp_client_clear (&c);
  udp_client_clear (&d);
}

int
main (int   argc,
      char *argv[])
{
  lr_test_control_init (&argc, &argv);

  g_test_add ("/relay/control/registered", Fixture, NULL, fixture_set_up, test_registered,
              fixture_tear_down);
  g_test_add ("/relay/control/wrong-secret-not-listed", Fixture, NULL, fixture_set_up,
              test_wrong_secret_not_listed, fixture_tear_down);
  g_test_add ("/relay/control/party-through-relay", Fixture, NULL, fixture_set_up,
              test_party_through_relay, fixture_tear_down);

  g_test_add ("/relay/control/removed-peer-stops", Fixture, NULL, fixture_set_up,
              test_removed_peer_stops, fixture_tear_down);

  return g_test_run ();
}
