/* test-relay.c: lanrage-relay, the real binary on loopback, spoken to over UDP
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-error.h"
#include "lr-relay-frame.h"
#include "lr-relay-token.h"
#include "lr-stun.h"
#include "relay-test-util.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

#define PARTY_P  G_GUINT64_CONSTANT (0x1111111111111111)
#define PARTY_Q  G_GUINT64_CONSTANT (0x2222222222222222)
#define PEER_A   G_GUINT64_CONSTANT (0xaaaaaaaaaaaaaaa1)
#define PEER_B   G_GUINT64_CONSTANT (0xbbbbbbbbbbbbbbb2)
#define PEER_C   G_GUINT64_CONSTANT (0xccccccccccccccc3)
#define WAIT_MS  1000
/* A frame's first byte in the version the relay speaks. */
#define FIRST_BYTE (0x80 | LR_RELAY_FRAME_VERSION)
/* How long to wait to be sure that nothing comes. */
#define QUIET_MS 200

typedef struct
{
  RelayProcess relay;
  UdpClient    a, b, c;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  relay_process_init (&f->relay);
  udp_client_init (&f->a, "127.0.0.1");
  udp_client_init (&f->b, "127.0.0.1");
  udp_client_init (&f->c, "127.0.0.1");
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  udp_client_clear (&f->a);
  udp_client_clear (&f->b);
  udp_client_clear (&f->c);
  relay_process_clear (&f->relay);
}

static gint64
drops (Fixture    *f,
       const char *reason)
{
  g_autofree char *name = g_strdup_printf ("lanrage_relay_dropped_packets_total{reason=\"%s\"}",
                                           reason);

  return relay_process_metric (&f->relay, name);
}

static void
send_frame (Fixture   *f,
            UdpClient *client,
            guint8     type,
            guint64    peer,
            gconstpointer payload,
            gsize      payload_length)
{
  guint8 frame[LR_RELAY_FRAME_MAX_SIZE];
  gsize length = lr_relay_frame_build (frame, sizeof frame, type, 0, peer, payload,
                                       payload_length);

  g_assert_cmpuint (length, >, 0);
  udp_client_send (client, f->relay.port, NULL, frame, length);
}

/* Waits for a frame; fails the test when none or something else arrives. */
static void
expect_frame (UdpClient    *client,
              guint8        type,
              guint16       code,
              guint64       peer,
              LrRelayFrame *out,
              guint8       *buffer)
{
  gssize length = udp_client_recv (client, buffer, 2048, WAIT_MS, NULL);

  g_assert_cmpint (length, >, 0);
  g_assert_cmpint (lr_relay_frame_parse (out, buffer, length), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpuint (out->type, ==, type);
  g_assert_cmpuint (out->code, ==, code);
  g_assert_cmphex (out->peer, ==, peer);
}

static void
expect_nothing (UdpClient *client)
{
  guint8 buffer[2048];

  g_assert_cmpint (udp_client_recv (client, buffer, sizeof buffer, QUIET_MS, NULL), ==, -1);
}

/* A BIND with @token, made now with a fresh counter, as a client makes it. */
static void
send_bind (Fixture    *f,
           UdpClient  *client,
           const char *token)
{
  guint8 frame[256];
  gsize length = relay_bind_frame (frame, sizeof frame, token, g_get_real_time (),
                                   relay_next_counter ());

  g_assert_cmpuint (length, >, 0);
  udp_client_send (client, f->relay.port, NULL, frame, length);
}

static void
bind_peer (Fixture   *f,
           UdpClient *client,
           guint64    party,
           guint64    peer)
{
  g_autofree char *token = relay_process_mint (&f->relay, party, peer,
                                               g_get_real_time () / G_USEC_PER_SEC + 600);
  guint8 buffer[2048];
  LrRelayFrame frame;

  send_bind (f, client, token);
  expect_frame (client, LR_RELAY_FRAME_BOUND, 0, peer, &frame, buffer);
}

/* A sends one DATA to @to and @receiver must get it, from A's peer id. */
static void
expect_forwarded (Fixture   *f,
                  UdpClient *sender,
                  guint64    sender_peer,
                  UdpClient *receiver,
                  guint64    to)
{
  guint8 payload[100];
  guint8 buffer[2048];
  LrRelayFrame frame;

  for (guint i = 0; i < sizeof payload; i++)
    payload[i] = g_random_int_range (0, 256);
  send_frame (f, sender, LR_RELAY_FRAME_DATA, to, payload, sizeof payload);
  expect_frame (receiver, LR_RELAY_FRAME_DATA, 0, sender_peer, &frame, buffer);
  g_assert_cmpmem (frame.payload, frame.payload_length, payload, sizeof payload);
}

static void
test_forward_same_party (Fixture       *f,
                         gconstpointer  data)
{
  relay_process_start (&f->relay, NULL);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);

  expect_forwarded (f, &f->a, PEER_A, &f->b, PEER_B);
  expect_forwarded (f, &f->b, PEER_B, &f->a, PEER_A);

  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_forwarded_packets_total"), ==, 2);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_bound_peers"), ==, 2);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_parties"), ==, 1);
}

static void
test_party_isolation (Fixture       *f,
                      gconstpointer  data)
{
  relay_process_start (&f->relay, NULL);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  /* C is in another party. Even naming B's and A's peer ids it reaches nobody. */
  bind_peer (f, &f->c, PARTY_Q, PEER_C);

  send_frame (f, &f->c, LR_RELAY_FRAME_DATA, PEER_B, "hello", 5);
  send_frame (f, &f->c, LR_RELAY_FRAME_DATA, PEER_A, "hello", 5);
  send_frame (f, &f->a, LR_RELAY_FRAME_DATA, PEER_C, "hello", 5);
  expect_nothing (&f->a);
  expect_nothing (&f->b);
  expect_nothing (&f->c);
  g_assert_cmpint (drops (f, "unknown_destination"), ==, 3);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_parties"), ==, 2);

  /* A peer id that is the same in two parties still stays in its own party. */
  bind_peer (f, &f->c, PARTY_Q, PEER_B);
  expect_forwarded (f, &f->a, PEER_A, &f->b, PEER_B);
  expect_nothing (&f->c);
}

static void
test_tokens_refused (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GBytes) other_secret = g_bytes_new_static ("another secret, not the relay's one!",
                                                       36);
  g_autofree char *forged = NULL;
  g_autofree char *expired = NULL;
  g_autofree char *garbage = g_strnfill (LR_RELAY_FRAME_BIND_PAYLOAD, '*');
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint8 buffer[2048];
  LrRelayFrame frame;

  relay_process_start (&f->relay, NULL);
  bind_peer (f, &f->b, PARTY_P, PEER_B);

  forged = lr_relay_token_mint (other_secret, "1111111111111111", "aaaaaaaaaaaaaaa1", now + 600,
                                NULL);
  send_bind (f, &f->a, forged);
  expect_frame (&f->a, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_BAD_TOKEN, 0, &frame, buffer);

  expired = relay_process_mint (&f->relay, PARTY_P, PEER_A, now - 1);
  send_bind (f, &f->a, expired);
  expect_frame (&f->a, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_EXPIRED, 0, &frame, buffer);

  send_frame (f, &f->a, LR_RELAY_FRAME_BIND, PEER_A, garbage, strlen (garbage));
  expect_frame (&f->a, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_BAD_TOKEN, 0, &frame, buffer);

  /* None of them bound A: its DATA is refused, and B hears nothing. */
  send_frame (f, &f->a, LR_RELAY_FRAME_DATA, PEER_B, "x", 1);
  expect_frame (&f->a, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_NOT_BOUND, PEER_B, &frame,
                buffer);
  expect_nothing (&f->b);

  /* A token of another party binds A in that party, where B is not. */
  bind_peer (f, &f->a, PARTY_Q, PEER_A);
  send_frame (f, &f->a, LR_RELAY_FRAME_DATA, PEER_B, "x", 1);
  expect_nothing (&f->b);

  g_assert_cmpint (drops (f, "bad_token"), ==, 2);
  g_assert_cmpint (drops (f, "expired"), ==, 1);
  g_assert_cmpint (drops (f, "not_bound"), ==, 1);
  g_assert_cmpint (drops (f, "unknown_destination"), ==, 1);
}

/* Nothing the relay sends to a stranger is larger than what the stranger sent. */
static void
test_junk_dropped (Fixture       *f,
                   gconstpointer  data)
{
  guint8 junk[2100];
  guint8 buffer[2048];
  LrRelayFrame frame;
  struct
  {
    gsize  length;
    guint8 first;
    guint8 second;
  } cases[] = {
    { 1, FIRST_BYTE, 0 },                      /* truncated frame */
    { 11, FIRST_BYTE, LR_RELAY_FRAME_DATA },   /* truncated frame */
    { 1501, FIRST_BYTE, LR_RELAY_FRAME_DATA }, /* oversize frame */
    { 2100, FIRST_BYTE, LR_RELAY_FRAME_DATA }, /* oversize, beyond the relay's buffer */
    { 50, 0x42, 0x42 },                  /* neither STUN nor a frame */
    { 20, 0x00, 0x01 },                  /* STUN-like, no cookie */
    { 0, 0, 0 },                         /* empty datagram */
  };
  gssize reply;

  relay_process_start (&f->relay, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      memset (junk, 0x5a, sizeof junk);
      junk[0] = cases[i].first;
      if (cases[i].length > 1)
        junk[1] = cases[i].second;
      udp_client_send (&f->a, f->relay.port, NULL, junk, cases[i].length);
      expect_nothing (&f->a);
    }

  /* A malformed STUN request: length field disagreeing with the datagram. */
  memset (junk, 0, 28);
  junk[1] = 0x01;
  junk[3] = 0x40;
  junk[4] = 0x21; junk[5] = 0x12; junk[6] = 0xa4; junk[7] = 0x42;
  udp_client_send (&f->a, f->relay.port, NULL, junk, 28);
  expect_nothing (&f->a);

  /* A frame of a future version and one of an unknown type get a 12-byte ERROR. */
  lr_relay_frame_write_header (junk, LR_RELAY_FRAME_PING, 0, 0);
  junk[0] = 0x80 | 9;
  udp_client_send (&f->a, f->relay.port, NULL, junk, 12);
  reply = udp_client_recv (&f->a, buffer, sizeof buffer, WAIT_MS, NULL);
  g_assert_cmpint (reply, ==, 12);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, reply), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpuint (frame.code, ==, LR_RELAY_FRAME_ERROR_VERSION);
  junk[0] = FIRST_BYTE;
  junk[1] = 77;
  udp_client_send (&f->a, f->relay.port, NULL, junk, 12);
  reply = udp_client_recv (&f->a, buffer, sizeof buffer, WAIT_MS, NULL);
  g_assert_cmpint (reply, ==, 12);

  g_assert_cmpint (drops (f, "truncated"), ==, 2);
  g_assert_cmpint (drops (f, "oversize"), ==, 2);
  g_assert_cmpint (drops (f, "garbage"), ==, 3);
  g_assert_cmpint (drops (f, "stun_malformed"), ==, 1);
  g_assert_cmpint (drops (f, "bad_version"), ==, 1);
  g_assert_cmpint (drops (f, "malformed"), ==, 1);

  /* Still serving. */
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  expect_forwarded (f, &f->a, PEER_A, &f->b, PEER_B);
}

static void
test_ping (Fixture       *f,
           gconstpointer  data)
{
  guint8 buffer[2048];
  LrRelayFrame frame;

  relay_process_start (&f->relay, NULL);
  send_frame (f, &f->a, LR_RELAY_FRAME_PING, 0, "12345678", 8);
  expect_frame (&f->a, LR_RELAY_FRAME_PONG, 0, 0, &frame, buffer);
  g_assert_cmpmem (frame.payload, frame.payload_length, "12345678", 8);
}

static void
test_error_rate_limited (Fixture       *f,
                         gconstpointer  data)
{
  const char * const args[] = { "--error-rate", "5", "--threads", "1", NULL };
  guint8 buffer[2048];
  guint errors = 0;

  relay_process_start (&f->relay, args);
  for (guint i = 0; i < 50; i++)
    send_frame (f, &f->a, LR_RELAY_FRAME_DATA, PEER_B, "x", 1);
  while (udp_client_recv (&f->a, buffer, sizeof buffer, QUIET_MS, NULL) > 0)
    errors++;
  g_assert_cmpuint (errors, >=, 1);
  g_assert_cmpuint (errors, <=, 10);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_errors_suppressed_total"), >=,
                   40);
}

static void
test_client_rate_limited (Fixture       *f,
                          gconstpointer  data)
{
  const char * const args[] = { "--client-pps", "10", NULL };
  guint8 buffer[2048];
  guint received = 0;

  relay_process_start (&f->relay, args);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  for (guint i = 0; i < 60; i++)
    send_frame (f, &f->a, LR_RELAY_FRAME_DATA, PEER_B, "x", 1);
  while (udp_client_recv (&f->b, buffer, sizeof buffer, QUIET_MS, NULL) > 0)
    received++;
  /* Ten per one-second window; the burst may straddle two windows. */
  g_assert_cmpuint (received, >=, 10);
  g_assert_cmpuint (received, <=, 20);
  g_assert_cmpint (drops (f, "rate_limited"), ==, 60 - received);
}

static void
test_idle_expiry (Fixture       *f,
                  gconstpointer  data)
{
  const char * const args[] = { "--idle-timeout", "1", NULL };
  guint8 buffer[2048];
  LrRelayFrame frame;

  relay_process_start (&f->relay, args);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  expect_forwarded (f, &f->a, PEER_A, &f->b, PEER_B);

  /* A keeps itself alive with pings; B says nothing and expires. */
  for (guint i = 0; i < 8; i++)
    {
      send_frame (f, &f->a, LR_RELAY_FRAME_PING, 0, NULL, 0);
      expect_frame (&f->a, LR_RELAY_FRAME_PONG, 0, 0, &frame, buffer);
      g_usleep (250 * 1000);
    }
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_bound_peers"), ==, 1);
  send_frame (f, &f->a, LR_RELAY_FRAME_DATA, PEER_B, "x", 1);
  expect_nothing (&f->b);
  send_frame (f, &f->b, LR_RELAY_FRAME_DATA, PEER_A, "x", 1);
  expect_frame (&f->b, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_NOT_BOUND, PEER_A, &frame,
                buffer);
}

static void
test_restart_and_rebind (Fixture       *f,
                         gconstpointer  data)
{
  guint8 buffer[2048];
  LrRelayFrame frame;

  relay_process_start (&f->relay, NULL);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  expect_forwarded (f, &f->a, PEER_A, &f->b, PEER_B);

  /* Same port, fresh process: it knows nobody, says so, and clients rebind. */
  g_assert_true (relay_process_stop (&f->relay, SIGTERM));
  relay_process_start (&f->relay, NULL);
  send_frame (f, &f->a, LR_RELAY_FRAME_DATA, PEER_B, "x", 1);
  expect_frame (&f->a, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_NOT_BOUND, PEER_B, &frame,
                buffer);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  expect_forwarded (f, &f->a, PEER_A, &f->b, PEER_B);

  /* A's address changes (C's socket stands for A's new NAT mapping): after rebinding, the
   * relay reaches A there, and no longer at the old address. */
  bind_peer (f, &f->c, PARTY_P, PEER_A);
  expect_forwarded (f, &f->b, PEER_B, &f->c, PEER_A);
  expect_nothing (&f->a);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_bound_peers"), ==, 2);
}

static void
test_full (Fixture       *f,
           gconstpointer  data)
{
  const char * const args[] = { "--max-clients", "2", NULL };
  g_autofree char *token = NULL;
  guint8 buffer[2048];
  LrRelayFrame frame;

  relay_process_start (&f->relay, args);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  token = relay_process_mint (&f->relay, PARTY_Q, PEER_C, g_get_real_time () / G_USEC_PER_SEC + 60);
  send_bind (f, &f->c, token);
  expect_frame (&f->c, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_FULL, PEER_C, &frame, buffer);
  /* Rebinding a bound peer still works when full. */
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  expect_forwarded (f, &f->a, PEER_A, &f->b, PEER_B);
}

static void
test_deny_list_reload (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  UdpClient stranger;

  relay_process_start (&f->relay, NULL);
  udp_client_init (&stranger, "127.0.0.2");
  bind_peer (f, &stranger, PARTY_P, PEER_C);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  expect_forwarded (f, &f->a, PEER_A, &stranger, PEER_C);

  g_assert_true (g_file_set_contents (f->relay.deny_path, "127.0.0.2/32 # abuse\n", -1, &error));
  g_assert_no_error (error);
  g_subprocess_send_signal (f->relay.process, SIGHUP);
  for (int i = 0; i < 100 && relay_process_metric (&f->relay, "lanrage_relay_bound_peers") != 1;
       i++)
    g_usleep (20 * 1000);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_bound_peers"), ==, 1);

  /* The denied address gets no answer to anything, and is no longer reachable. */
  send_frame (f, &stranger, LR_RELAY_FRAME_PING, 0, NULL, 0);
  expect_nothing (&stranger);
  send_frame (f, &f->a, LR_RELAY_FRAME_DATA, PEER_C, "x", 1);
  expect_nothing (&stranger);
  g_assert_cmpint (drops (f, "denied"), ==, 1);

  /* A bad file keeps the old list. */
  g_assert_true (g_file_set_contents (f->relay.deny_path, "not an address\n", -1, &error));
  g_subprocess_send_signal (f->relay.process, SIGHUP);
  g_usleep (100 * 1000);
  send_frame (f, &stranger, LR_RELAY_FRAME_PING, 0, NULL, 0);
  expect_nothing (&stranger);
  udp_client_clear (&stranger);
}

static void
test_sigterm (Fixture       *f,
              gconstpointer  data)
{
  relay_process_start (&f->relay, NULL);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  g_assert_true (relay_process_stop (&f->relay, SIGTERM));
}

static void
test_no_secret_stun_only (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  g_autofree char *token = relay_process_mint (&f->relay, PARTY_P, PEER_A,
                                               g_get_real_time () / G_USEC_PER_SEC + 60);
  guint8 frame[128], buffer[2048];
  gsize length;
  LrRelayFrame reply;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, g_getenv ("LANRAGE_RELAY"),
                              "--listen", "127.0.0.1:0", "--threads", "1", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_nonnull (line);
  f->relay.port = atoi (line + strlen ("Listening on 127.0.0.1:"));

  length = relay_bind_frame (frame, sizeof frame, token, g_get_real_time (),
                             relay_next_counter ());
  udp_client_send (&f->a, f->relay.port, NULL, frame, length);
  expect_frame (&f->a, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_NO_RELAYING, 0, &reply, buffer);
  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait (process, NULL, NULL);
  g_assert_true (g_subprocess_get_if_exited (process));
}

/* STUN: a Binding request made with our codec (as the helper makes it). */
static void
stun_request (UdpClient     *client,
              guint16        port,
              guint32        change,
              guint8        *buffer,
              gssize        *length,
              LrStunMessage *message,
              struct sockaddr_in *from)
{
  static const guint8 padding[40] = { 0 };
  guint8 request[128], transaction[12];
  LrStunBuilder builder;
  gsize request_length;

  for (guint i = 0; i < sizeof transaction; i++)
    transaction[i] = g_random_int_range (0, 256);
  lr_stun_builder_init (&builder, request, sizeof request, LR_STUN_METHOD_BINDING,
                        LR_STUN_CLASS_REQUEST, transaction);
  if (change != 0)
    lr_stun_builder_add_u32 (&builder, LR_STUN_ATTR_CHANGE_REQUEST, change);
  /* Padded to at least the answer's size: such a client is never rate-limited. */
  lr_stun_builder_add (&builder, LR_STUN_ATTR_PADDING, padding, sizeof padding);
  lr_stun_builder_add_fingerprint (&builder);
  request_length = lr_stun_builder_finish (&builder);
  udp_client_send (client, port, NULL, request, request_length);

  *length = udp_client_recv (client, buffer, 2048, WAIT_MS, from);
  g_assert_cmpint (*length, >, 0);
  g_assert_true (lr_stun_message_parse (message, buffer, *length, NULL));
  g_assert_cmpmem (message->transaction_id, 12, transaction, 12);
}

static void
test_stun_binding (Fixture       *f,
                   gconstpointer  data)
{
  guint8 buffer[2048];
  gssize length;
  LrStunMessage message;
  LrStunAddress mapped, expected;
  struct sockaddr_in from;

  relay_process_start (&f->relay, NULL);
  stun_request (&f->a, f->relay.port, 0, buffer, &length, &message, &from);
  g_assert_cmpint (message.klass, ==, LR_STUN_CLASS_SUCCESS);
  g_assert_true (lr_stun_message_check_fingerprint (&message));
  g_assert_true (lr_stun_message_get_address (&message, LR_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped));
  lr_stun_address_from_sockaddr (&expected, &f->a.addr, sizeof f->a.addr);
  g_assert_cmpmem (&mapped, sizeof mapped, &expected, sizeof expected);
  /* No second address: no RFC 5780 attributes, and CHANGE-REQUEST is refused with 420. */
  g_assert_null (lr_stun_message_find (&message, LR_STUN_ATTR_OTHER_ADDRESS));

  stun_request (&f->a, f->relay.port, LR_STUN_CHANGE_PORT, buffer, &length, &message, &from);
  g_assert_cmpint (message.klass, ==, LR_STUN_CLASS_ERROR);
  {
    guint code;
    const LrStunAttribute *unknown;

    g_assert_true (lr_stun_message_get_error (&message, &code, NULL));
    g_assert_cmpuint (code, ==, 420);
    unknown = lr_stun_message_find (&message, LR_STUN_ATTR_UNKNOWN_ATTRIBUTES);
    g_assert_nonnull (unknown);
    g_assert_cmpuint (unknown->length, ==, 2);
    g_assert_cmphex ((unknown->value[0] << 8) | unknown->value[1], ==,
                     LR_STUN_ATTR_CHANGE_REQUEST);
  }
}

static guint16
free_udp_port (const char *ip)
{
  UdpClient probe;
  guint16 port;

  udp_client_init (&probe, ip);
  port = ntohs (probe.addr.sin_port);
  udp_client_clear (&probe);
  return port;
}

static void
test_stun_rfc5780 (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *alt = NULL;
  const char *args[] = { "--alt-address", NULL, NULL };
  static const guint32 changes[] = { 0, LR_STUN_CHANGE_PORT, LR_STUN_CHANGE_IP,
                                     LR_STUN_CHANGE_IP | LR_STUN_CHANGE_PORT };
  guint16 alt_port;

  f->relay.port = free_udp_port ("127.0.0.1");
  alt_port = free_udp_port ("127.0.0.2");
  alt = g_strdup_printf ("127.0.0.2:%u", alt_port);
  args[1] = alt;
  relay_process_start (&f->relay, args);

  for (guint i = 0; i < G_N_ELEMENTS (changes); i++)
    {
      guint8 buffer[2048];
      gssize length;
      LrStunMessage message;
      LrStunAddress origin, other, from_address;
      struct sockaddr_in from;
      g_autofree char *origin_text = NULL;
      g_autofree char *other_text = NULL;
      g_autofree char *from_text = NULL;
      g_autofree char *expected_from = NULL;

      stun_request (&f->a, f->relay.port, changes[i], buffer, &length, &message, &from);
      g_assert_cmpint (message.klass, ==, LR_STUN_CLASS_SUCCESS);
      g_assert_true (lr_stun_message_get_address (&message, LR_STUN_ATTR_RESPONSE_ORIGIN, &origin));
      g_assert_true (lr_stun_message_get_address (&message, LR_STUN_ATTR_OTHER_ADDRESS, &other));
      lr_stun_address_from_sockaddr (&from_address, &from, sizeof from);
      origin_text = lr_stun_address_to_string (&origin);
      other_text = lr_stun_address_to_string (&other);
      from_text = lr_stun_address_to_string (&from_address);
      expected_from = g_strdup_printf ("%s:%u",
                                       changes[i] & LR_STUN_CHANGE_IP ? "127.0.0.2" : "127.0.0.1",
                                       changes[i] & LR_STUN_CHANGE_PORT ? alt_port
                                                                        : f->relay.port);
      g_assert_cmpstr (from_text, ==, expected_from);
      g_assert_cmpstr (origin_text, ==, expected_from);
      g_assert_cmpstr (other_text, ==, alt);
    }
}

/* coturn's client, which nobody here wrote, gets its mapped address from our STUN port. */
static void
test_interop_turnutils_stunclient (Fixture       *f,
                                   gconstpointer  data)
{
  g_autofree char *program = g_find_program_in_path ("turnutils_stunclient");
  g_autofree char *port = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  if (program == NULL)
    {
      g_test_skip ("turnutils_stunclient is not installed (Debian package coturn)");
      return;
    }

  relay_process_start (&f->relay, NULL);
  port = g_strdup_printf ("%u", f->relay.port);
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                              &error, program, "-p", port, "127.0.0.1", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("turnutils_stunclient: %s", out);
  g_assert_nonnull (strstr (out, "UDP reflexive addr: 127.0.0.1:"));
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_stun_requests_total"), >=, 1);
}

/* coturn's RFC 5780 client classifies loopback (no NAT) as endpoint-independent mapping and
 * filtering, which needs every CHANGE-REQUEST answered from the right address and port. */
static void
test_interop_turnutils_natdiscovery (Fixture       *f,
                                     gconstpointer  data)
{
  g_autofree char *program = g_find_program_in_path ("turnutils_natdiscovery");
  g_autofree char *port = NULL;
  g_autofree char *alt = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  const char *args[] = { "--alt-address", NULL, NULL };

  if (program == NULL)
    {
      g_test_skip ("turnutils_natdiscovery is not installed (Debian package coturn)");
      return;
    }

  f->relay.port = free_udp_port ("127.0.0.1");
  alt = g_strdup_printf ("127.0.0.2:%u", free_udp_port ("127.0.0.2"));
  args[1] = alt;
  relay_process_start (&f->relay, args);
  port = g_strdup_printf ("%u", f->relay.port);
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                              &error, program, "-m", "-f", "-p", port, "127.0.0.1", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("turnutils_natdiscovery: %s", out);
  g_assert_nonnull (strstr (out, "NAT with Endpoint Independent Mapping!"));
  g_assert_nonnull (strstr (out, "NAT with Endpoint Independent Filtering!"));
}

/* The other way round: our codec, as the helper will use it, reads every attribute of a real
 * server's answer (coturn's, with RFC 5780 on: two listening addresses). */
static void
test_interop_coturn_answer (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *program = g_find_program_in_path ("turnserver");
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port_arg = NULL;
  g_autofree char *software = NULL;
  guint16 port;
  guint8 buffer[2048];
  gssize length = -1;
  LrStunMessage message;
  LrStunAddress address, expected;
  struct sockaddr_in from;
  guint8 request[128], transaction[12] = { 7 };
  LrStunBuilder builder;
  gsize request_length;

  if (program == NULL)
    {
      g_test_skip ("turnserver is not installed (Debian package coturn)");
      return;
    }

  lr_stun_builder_init (&builder, request, sizeof request, LR_STUN_METHOD_BINDING,
                        LR_STUN_CLASS_REQUEST, transaction);
  lr_stun_builder_add_fingerprint (&builder);
  request_length = lr_stun_builder_finish (&builder);

  /* coturn takes a moment to listen, and under load (the sanitizer build, tests running in
   * parallel) it once did not answer within 5 s: a few fresh ports are tried. */
  for (guint tries = 0; tries < 3 && length <= 0; tries++)
    {
      g_clear_pointer (&port_arg, g_free);
      port = free_udp_port ("127.0.0.1");
      port_arg = g_strdup_printf ("--listening-port=%u", port);
      server = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                 G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                 &error, program, "-n", "--listening-ip=127.0.0.1",
                                 "--listening-ip=127.0.0.2", port_arg, "--no-auth", "--no-tls",
                                 "--no-dtls", "--no-cli", "--no-stdout-log", NULL);
      g_assert_no_error (error);
      for (guint attempt = 0; attempt < 50 && length <= 0; attempt++)
        {
          udp_client_send (&f->a, port, NULL, request, request_length);
          length = udp_client_recv (&f->a, buffer, sizeof buffer, 100, &from);
        }
      g_subprocess_force_exit (server);
      g_subprocess_wait (server, NULL, NULL);
      g_clear_object (&server);
    }

  g_assert_cmpint (length, >, 0);
  g_assert_true (lr_stun_message_parse (&message, buffer, length, NULL));
  g_assert_cmpint (message.klass, ==, LR_STUN_CLASS_SUCCESS);
  g_assert_false (lr_stun_message_has_unknown_required (&message, NULL));
  for (guint i = 0; i < message.n_attributes; i++)
    g_test_message ("coturn sent attribute 0x%04x (%u bytes)", message.attributes[i].type,
                    message.attributes[i].length);

  lr_stun_address_from_sockaddr (&expected, &f->a.addr, sizeof f->a.addr);
  g_assert_true (lr_stun_message_get_address (&message, LR_STUN_ATTR_XOR_MAPPED_ADDRESS, &address));
  g_assert_cmpmem (&address, sizeof address, &expected, sizeof expected);
  g_assert_true (lr_stun_message_get_address (&message, LR_STUN_ATTR_MAPPED_ADDRESS, &address));
  g_assert_cmpmem (&address, sizeof address, &expected, sizeof expected);
  g_assert_true (lr_stun_message_get_address (&message, LR_STUN_ATTR_RESPONSE_ORIGIN, &address));
  g_assert_true (lr_stun_message_get_address (&message, LR_STUN_ATTR_OTHER_ADDRESS, &address));
  software = lr_stun_message_dup_string (&message, LR_STUN_ATTR_SOFTWARE);
  g_assert_nonnull (software);
  g_test_message ("coturn's SOFTWARE: %s", software);
  g_assert_true (lr_stun_message_check_fingerprint (&message));
}

/* lanrage-control is not on this branch yet: a stand-in server speaks its relay API
 * (POST /v1/relays, bearer relay secret, 204) so that the relay's registration client is
 * exercised. The test against the real lanrage-control comes with the merge. */
typedef struct
{
  RelayProcess *relay;
  guint         n_ok;
  guint         n_refused;
  char         *body;
} Control;

static void
control_cb (SoupServer        *server,
            SoupServerMessage *message,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  Control *control = user_data;
  const char *authorization = soup_message_headers_get_one (
    soup_server_message_get_request_headers (message), "Authorization");
  g_autofree char *expected = g_strdup_printf (
    "Bearer %.*s", (int) g_bytes_get_size (control->relay->secret),
    (const char *) g_bytes_get_data (control->relay->secret, NULL));
  SoupMessageBody *body = soup_server_message_get_request_body (message);

  if (g_strcmp0 (authorization, expected) != 0)
    {
      control->n_refused++;
      soup_server_message_set_status (message, 401, NULL);
      return;
    }
  g_free (control->body);
  control->body = g_strndup (body->data, body->length);
  control->n_ok++;
  soup_server_message_set_status (message, 204, NULL);
}

static void
test_registration (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  GSList *uris;
  Control control = { &f->relay, 0, 0, NULL };
  const char *args[] = { "--control", NULL, "--public-endpoint", "198.51.100.7:3478",
                         "--id", "relay-test-1", "--region", "eu-west", NULL };
  gint64 deadline;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;

  soup_server_add_handler (server, "/v1/relays", control_cb, &control, NULL);
  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  url = g_uri_to_string (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  args[1] = url;

  relay_process_start (&f->relay, args);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (control.n_ok == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (control.n_ok, ==, 1);
  g_assert_cmpuint (control.n_refused, ==, 0);

  g_assert_true (json_parser_load_from_data (parser, control.body, -1, &error));
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (object, "id"), ==, "relay-test-1");
  g_assert_cmpstr (json_object_get_string_member (object, "region"), ==, "eu-west");
  g_assert_cmpstr (json_object_get_string_member (object, "endpoint"), ==, "198.51.100.7:3478");
  g_free (control.body);

  /* Stopping is clean even with a registration client running. */
  g_assert_true (relay_process_stop (&f->relay, SIGTERM));
}

/* What lanrage-control would refuse is refused at start, with a message, not every 20 s. */
static void
test_registration_bad_options (Fixture       *f,
                               gconstpointer  data)
{
  const char *cases[][2] = {
    { "--id", "not an id!" },
    { "--control", "ftp://control.example" },
    { "--public-endpoint", "localhost:3478" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *argv[] = { g_getenv ("LANRAGE_RELAY"), "--listen", "127.0.0.1:0",
                             "--relay-secret-file", f->relay.secret_path,
                             "--control", "http://127.0.0.1:9/", "--public-endpoint",
                             "198.51.100.7:3478", NULL, NULL, NULL };
      g_autoptr(GSubprocess) process = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *err = NULL;

      argv[9] = cases[i][0];
      argv[10] = cases[i][1];
      process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                         G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
      g_assert_no_error (error);
      g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error);
      g_assert_no_error (error);
      g_assert_true (g_subprocess_get_if_exited (process));
      g_assert_cmpint (g_subprocess_get_exit_status (process), !=, 0);
      g_test_message ("%s %s: %s", cases[i][0], cases[i][1], err);
      g_assert_nonnull (strstr (err, cases[i][0] + 2));
    }
}

static void
test_many_pairs_threads (Fixture       *f,
                         gconstpointer  data)
{
  const char * const args[] = { "--threads", "2", NULL };
  UdpClient clients[16];

  relay_process_start (&f->relay, args);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      udp_client_init (&clients[i], "127.0.0.1");
      bind_peer (f, &clients[i], PARTY_P + i / 2, 1000 + i);
    }
  for (guint round = 0; round < 3; round++)
    for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
      expect_forwarded (f, &clients[i], 1000 + i, &clients[i ^ 1], 1000 + (i ^ 1));
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_parties"), ==, 8);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    udp_client_clear (&clients[i]);
}

/* Bindings come and go (each one publishes a new table and retires the old one) while two
 * workers forward: under the sanitizer build this catches a table freed too early. */
static void
test_rebind_while_forwarding (Fixture       *f,
                              gconstpointer  data)
{
  const char * const args[] = { "--threads", "2", "--client-pps", "10000000", NULL };
  UdpClient movers[2];
  guint8 buffer[2048];
  guint received = 0;
  gint64 end;

  relay_process_start (&f->relay, args);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  udp_client_init (&movers[0], "127.0.0.1");
  udp_client_init (&movers[1], "127.0.0.1");

  /* 150 moves stay within the relay's budget of table changes (1000/s, 200 at once). */
  end = g_get_monotonic_time () + G_USEC_PER_SEC;
  for (guint round = 0; round < 150 && g_get_monotonic_time () < end; round++)
    {
      /* C moves between two addresses: every BIND rebuilds the table. */
      bind_peer (f, &movers[round % 2], PARTY_Q, PEER_C + round % 16);
      for (guint i = 0; i < 20; i++)
        send_frame (f, &f->a, LR_RELAY_FRAME_DATA, PEER_B, "payload", 7);
      while (udp_client_recv (&f->b, buffer, sizeof buffer, 0, NULL) > 0)
        received++;
    }
  while (udp_client_recv (&f->b, buffer, sizeof buffer, QUIET_MS, NULL) > 0)
    received++;

  /* B's socket may overflow (its buffer is the default); the relay must not lose any. */
  g_assert_cmpuint (received, >, 0);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_forwarded_packets_total"), >=,
                   received);
  g_assert_cmpint (drops (f, "send_failed"), ==, 0);
  expect_forwarded (f, &f->a, PEER_A, &f->b, PEER_B);
  g_assert_true (relay_process_stop (&f->relay, SIGTERM));
  udp_client_clear (&movers[0]);
  udp_client_clear (&movers[1]);
}

/* A peer moving between ports faster than the relay copies tables is refused, silently. */
static void
test_table_change_limit (Fixture       *f,
                         gconstpointer  data)
{
  const char * const args[] = { "--threads", "1", NULL };
  g_autofree char *token = NULL;
  guint8 frame[128], buffer[2048];
  gsize length;
  guint bound = 0;

  relay_process_start (&f->relay, args);
  token = relay_process_mint (&f->relay, PARTY_P, PEER_A, g_get_real_time () / G_USEC_PER_SEC + 60);
  /* Each BIND is a fresh one (a later counter), as a client that moves sends them. */
  for (guint i = 0; i < 500; i++)
    {
      length = relay_bind_frame (frame, sizeof frame, token, g_get_real_time (),
                                 relay_next_counter ());
      udp_client_send (i % 2 ? &f->a : &f->b, f->relay.port, NULL, frame, length);
    }
  while (udp_client_recv (&f->a, buffer, sizeof buffer, QUIET_MS, NULL) > 0)
    bound++;
  while (udp_client_recv (&f->b, buffer, sizeof buffer, QUIET_MS, NULL) > 0)
    bound++;

  g_assert_cmpuint (bound, >=, 200);
  g_assert_cmpuint (bound, <, 500);
  g_assert_cmpint (drops (f, "rate_limited"), ==, 500 - bound);
  /* Refreshing from the same address is never limited. */
  g_usleep (300 * 1000);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  for (guint i = 0; i < 50; i++)
    bind_peer (f, &f->a, PARTY_P, PEER_A);
}

/* Waits for ERROR stale and checks that the relay signed it with the key of @token. */
static void
expect_stale (UdpClient  *client,
              const char *token,
              guint64     peer,
              guint64     bind_counter)
{
  guint8 buffer[2048], token_public[LR_RELAY_TOKEN_PUBLIC_BYTES], key[LR_RELAY_TOKEN_KEY_BYTES];
  gssize length = udp_client_recv (client, buffer, sizeof buffer, WAIT_MS, NULL);
  guint64 echoed, last;
  gint64 relay_time;
  LrRelayFrame frame;

  g_assert_cmpint (length, >, 0);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpuint (frame.type, ==, LR_RELAY_FRAME_ERROR);
  g_assert_cmpuint (frame.code, ==, LR_RELAY_FRAME_ERROR_STALE);
  g_assert_cmphex (frame.peer, ==, peer);
  g_assert_true (lr_relay_token_split (token, token_public, key, NULL));
  g_assert_true (lr_relay_frame_check_stale (buffer, length, key, &echoed, &relay_time, &last));
  g_assert_cmpuint (echoed, ==, bind_counter);
  g_assert_cmpint (ABS (relay_time - g_get_real_time ()), <, 5 * G_USEC_PER_SEC);
}

/* A BIND seen on the path and sent again, byte for byte, from another address is refused and
 * moves nothing: the peer's DATA still reaches its real address. */
static void
test_bind_replayed_elsewhere (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY_P, PEER_A,
                                               g_get_real_time () / G_USEC_PER_SEC + 600);
  guint64 counter = relay_next_counter ();
  guint8 captured[256], buffer[2048];
  gsize length = relay_bind_frame (captured, sizeof captured, token, g_get_real_time (),
                                   counter);
  LrRelayFrame frame;

  relay_process_start (&f->relay, NULL);
  udp_client_send (&f->a, f->relay.port, NULL, captured, length);
  expect_frame (&f->a, LR_RELAY_FRAME_BOUND, 0, PEER_A, &frame, buffer);
  bind_peer (f, &f->b, PARTY_P, PEER_B);

  /* C is the one on the path. Its replay comes well within the timestamp window. */
  udp_client_send (&f->c, f->relay.port, NULL, captured, length);
  expect_forwarded (f, &f->b, PEER_B, &f->a, PEER_A);
  expect_stale (&f->c, token, PEER_A, counter);
  expect_nothing (&f->c);
  /* And C cannot send as A either. */
  send_frame (f, &f->c, LR_RELAY_FRAME_DATA, PEER_B, "x", 1);
  expect_frame (&f->c, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_NOT_BOUND, PEER_B, &frame,
                buffer);
  expect_nothing (&f->b);
  g_assert_cmpint (drops (f, "replayed"), ==, 1);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_bound_peers"), ==, 2);
}

/* A freshly made BIND (a valid MAC, the time of now) with a counter below the last one taken
 * for its peer is refused, from the same address and from another. */
static void
test_bind_old_counter (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY_P, PEER_A,
                                               g_get_real_time () / G_USEC_PER_SEC + 600);
  guint64 base = relay_next_counter ();
  guint8 frame_bytes[256], buffer[2048];
  gsize length;
  LrRelayFrame frame;

  relay_process_start (&f->relay, NULL);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  length = relay_bind_frame (frame_bytes, sizeof frame_bytes, token, g_get_real_time (),
                             base + 200);
  udp_client_send (&f->a, f->relay.port, NULL, frame_bytes, length);
  expect_frame (&f->a, LR_RELAY_FRAME_BOUND, 0, PEER_A, &frame, buffer);

  /* The same counter again, then an older one, from another address: A stays. */
  length = relay_bind_frame (frame_bytes, sizeof frame_bytes, token, g_get_real_time (),
                             base + 200);
  udp_client_send (&f->c, f->relay.port, NULL, frame_bytes, length);
  expect_stale (&f->c, token, PEER_A, base + 200);
  length = relay_bind_frame (frame_bytes, sizeof frame_bytes, token, g_get_real_time (),
                             base + 100);
  udp_client_send (&f->c, f->relay.port, NULL, frame_bytes, length);
  expect_stale (&f->c, token, PEER_A, base + 100);
  expect_forwarded (f, &f->b, PEER_B, &f->a, PEER_A);
  expect_nothing (&f->c);

  /* From A's own address an old counter is refused too, and A stays bound. */
  udp_client_send (&f->a, f->relay.port, NULL, frame_bytes, length);
  expect_stale (&f->a, token, PEER_A, base + 100);
  expect_forwarded (f, &f->b, PEER_B, &f->a, PEER_A);

  /* A higher counter moves A, as a client whose address changed sends it. */
  length = relay_bind_frame (frame_bytes, sizeof frame_bytes, token, g_get_real_time (),
                             base + 201);
  udp_client_send (&f->c, f->relay.port, NULL, frame_bytes, length);
  expect_frame (&f->c, LR_RELAY_FRAME_BOUND, 0, PEER_A, &frame, buffer);
  expect_forwarded (f, &f->b, PEER_B, &f->c, PEER_A);
  g_assert_cmpint (drops (f, "replayed"), ==, 3);
}

/* A relay that restarted knows no counters: a BIND captured before is still refused, by its
 * timestamp. */
static void
test_bind_stale_after_restart (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY_P, PEER_A,
                                               g_get_real_time () / G_USEC_PER_SEC + 600);
  gint64 captured_at = g_get_real_time () -
                       (LR_RELAY_FRAME_BIND_WINDOW_S + 5) * G_USEC_PER_SEC;
  guint64 counter = relay_next_counter ();
  guint8 captured[256], buffer[2048];
  gsize length = relay_bind_frame (captured, sizeof captured, token, captured_at, counter);
  LrRelayFrame frame;

  relay_process_start (&f->relay, NULL);
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  g_assert_true (relay_process_stop (&f->relay, SIGTERM));
  relay_process_start (&f->relay, NULL);

  udp_client_send (&f->c, f->relay.port, NULL, captured, length);
  expect_stale (&f->c, token, PEER_A, counter);
  send_frame (f, &f->c, LR_RELAY_FRAME_DATA, PEER_B, "x", 1);
  expect_frame (&f->c, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_NOT_BOUND, PEER_B, &frame,
                buffer);
  /* A timestamp as far ahead is refused too. */
  length = relay_bind_frame (captured, sizeof captured, token,
                             g_get_real_time () +
                             (LR_RELAY_FRAME_BIND_WINDOW_S + 5) * G_USEC_PER_SEC,
                             relay_next_counter ());
  udp_client_send (&f->c, f->relay.port, NULL, captured, length);
  expect_frame (&f->c, LR_RELAY_FRAME_ERROR, LR_RELAY_FRAME_ERROR_STALE, PEER_A, &frame, buffer);
  g_assert_cmpint (drops (f, "stale"), ==, 2);

  /* The real clients bind again with fresh BINDs and their DATA crosses. */
  bind_peer (f, &f->a, PARTY_P, PEER_A);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  expect_forwarded (f, &f->a, PEER_A, &f->b, PEER_B);
}

/* Version 1 carried the whole token in BIND: such a BIND is refused with ERROR version, and
 * binds nothing. */
static void
test_bind_old_version (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY_P, PEER_A,
                                               g_get_real_time () / G_USEC_PER_SEC + 600);
  guint8 frame_bytes[256], buffer[2048];
  gsize length = LR_RELAY_FRAME_HEADER_SIZE + strlen (token);
  LrRelayFrame frame;
  gssize got;

  relay_process_start (&f->relay, NULL);
  bind_peer (f, &f->b, PARTY_P, PEER_B);
  memset (frame_bytes, 0, sizeof frame_bytes);
  frame_bytes[0] = 0x81;
  frame_bytes[1] = LR_RELAY_FRAME_BIND;
  memcpy (frame_bytes + LR_RELAY_FRAME_HEADER_SIZE, token, strlen (token));
  udp_client_send (&f->a, f->relay.port, NULL, frame_bytes, length);

  got = udp_client_recv (&f->a, buffer, sizeof buffer, WAIT_MS, NULL);
  g_assert_cmpint (got, ==, LR_RELAY_FRAME_HEADER_SIZE);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, got), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpuint (frame.type, ==, LR_RELAY_FRAME_ERROR);
  g_assert_cmpuint (frame.code, ==, LR_RELAY_FRAME_ERROR_VERSION);
  send_frame (f, &f->b, LR_RELAY_FRAME_DATA, PEER_A, "x", 1);
  expect_nothing (&f->a);
  g_assert_cmpint (drops (f, "bad_version"), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lr_init ();

#define ADD(path, func) \
  g_test_add ("/relay/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("forward/same-party", test_forward_same_party);
  ADD ("forward/party-isolation", test_party_isolation);
  ADD ("forward/many-pairs-threads", test_many_pairs_threads);
  ADD ("forward/rebind-while-forwarding", test_rebind_while_forwarding);
  ADD ("bind/tokens-refused", test_tokens_refused);
  ADD ("bind/full", test_full);
  ADD ("bind/replayed-elsewhere", test_bind_replayed_elsewhere);
  ADD ("bind/old-counter", test_bind_old_counter);
  ADD ("bind/stale-after-restart", test_bind_stale_after_restart);
  ADD ("bind/old-version", test_bind_old_version);
  ADD ("bind/no-secret-stun-only", test_no_secret_stun_only);
  ADD ("drop/junk", test_junk_dropped);
  ADD ("ping", test_ping);
  ADD ("limits/error-rate", test_error_rate_limited);
  ADD ("limits/client-rate", test_client_rate_limited);
  ADD ("limits/idle-expiry", test_idle_expiry);
  ADD ("limits/table-changes", test_table_change_limit);
  ADD ("restart-and-rebind", test_restart_and_rebind);
  ADD ("deny-list/sighup", test_deny_list_reload);
  ADD ("sigterm", test_sigterm);
  ADD ("stun/binding", test_stun_binding);
  ADD ("stun/rfc5780", test_stun_rfc5780);
  ADD ("stun/interop/turnutils-stunclient", test_interop_turnutils_stunclient);
  ADD ("stun/interop/turnutils-natdiscovery", test_interop_turnutils_natdiscovery);
  ADD ("stun/interop/coturn-answer", test_interop_coturn_answer);
  ADD ("registration/stand-in-control", test_registration);
  ADD ("registration/bad-options", test_registration_bad_options);

  return g_test_run ();
}
