/* test-relay-client.c: LrdRelayClient against the real lanrage-relay on loopback
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Plain UDP sockets stand in for WireGuard (there is none here): what matters to the relay
 * client is the datagrams on WireGuard's port and the type in their first four bytes, not
 * the rest. Each client has the helper's real disco router on it (without the shared port,
 * which needs root), which measures the relayed path with disco pings.
 */
#include "lrd-relay-client-private.h"
#include "lrd-disco-router.h"
#include "relay-test-util.h"

#include "lr-path-policy.h"
#include "lr-relay-frame.h"

#include <sodium.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PARTY  0x1122334455667788ull
#define PEER_A 0xa1a1a1a1a1a1a1a1ull
#define PEER_B 0xb2b2b2b2b2b2b2b2ull
#define PEER_C 0xc3c3c3c3c3c3c3c3ull
#define TIMEOUT_MS 10000

/* What one side's disco router handed its peer's handler. */
typedef struct
{
  guint          pings;
  guint          pongs;
  guint          calls;     /* call-me-maybe */
  guint          measured;  /* the relayed path's measure changed */
  guint          direct;    /* anything with an address: never, through the relay */
  LrDiscoMessage last_pong;
  LrDiscoMessage last_call;
} DiscoSeen;

typedef struct
{
  RelayProcess    relay;
  RelayProcess    relay2;
  UdpClient       wg_a;
  UdpClient       wg_b;
  LrdRelayClient *a;
  LrdRelayClient *b;
  guint16         a_for_b;   /* A's loopback endpoint for peer B */
  guint16         b_for_a;
  guint           token_needed;
  /* Disco keys and routers, made by add_disco() */
  LrKey           disco_a_public, disco_a_secret;
  LrKey           disco_b_public, disco_b_secret;
  LrdDiscoRouter *router_a;
  LrdDiscoRouter *router_b;
  DiscoSeen       seen_a;    /* what A heard from B */
  DiscoSeen       seen_b;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  memset (f, 0, sizeof *f);
  relay_process_init (&f->relay);
  relay_process_init (&f->relay2);
  udp_client_init (&f->wg_a, "127.0.0.1");
  udp_client_init (&f->wg_b, "127.0.0.1");
  f->a = lrd_relay_client_new (NULL, ntohs (f->wg_a.addr.sin_port));
  f->b = lrd_relay_client_new (NULL, ntohs (f->wg_b.addr.sin_port));
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->router_a);
  g_clear_object (&f->router_b);
  lrd_relay_client_stop (f->a);
  lrd_relay_client_stop (f->a);
  g_clear_object (&f->a);
  g_clear_object (&f->b);
  udp_client_clear (&f->wg_a);
  udp_client_clear (&f->wg_b);
  relay_process_clear (&f->relay);
  relay_process_clear (&f->relay2);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static char *
endpoint_of (RelayProcess *relay)
{
  return g_strdup_printf ("127.0.0.1:%u", relay->port);
}

static gint64
now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

typedef gboolean (*Condition) (Fixture *f);

static gboolean
wait_until (Fixture   *f,
            Condition  condition,
            int        timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * 1000;

  while (!condition (f))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  return TRUE;
}

/* Runs the main loop while waiting for a datagram on @client. */
static gssize
receive (UdpClient          *client,
         guint8             *buffer,
         gsize               size,
         int                 timeout_ms,
         struct sockaddr_in *from)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * 1000;

  while (g_get_monotonic_time () <= deadline)
    {
      struct pollfd pfd = { .fd = client->fd, .events = POLLIN };

      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (poll (&pfd, 1, 1) == 1)
        return udp_client_recv (client, buffer, size, 0, from);
    }
  return -1;
}

static void
run_for (int ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
}

static gboolean
both_bound (Fixture *f)
{
  return lrd_relay_client_get_state (f->a) == LRD_RELAY_CLIENT_BOUND &&
         lrd_relay_client_get_state (f->b) == LRD_RELAY_CLIENT_BOUND;
}

static gboolean
a_bound (Fixture *f)
{
  return lrd_relay_client_get_state (f->a) == LRD_RELAY_CLIENT_BOUND;
}

static gboolean
a_failed (Fixture *f)
{
  return lrd_relay_client_get_state (f->a) == LRD_RELAY_CLIENT_FAILED;
}

static guint16
add_peer (LrdRelayClient *client,
          guint64         peer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetSocketAddress) gaddress = NULL;
  LrAddr address, again;
  g_autofree char *ip = NULL;

  g_assert_true (lrd_relay_client_add_peer (client, peer, &address, &error));
  g_assert_no_error (error);
  gaddress = lr_addr_to_gaddress (&address);
  g_assert_nonnull (gaddress);
  ip = g_inet_address_to_string (g_inet_socket_address_get_address (gaddress));
  g_assert_cmpstr (ip, ==, "127.0.0.1");
  g_assert_true (lrd_relay_client_add_peer (client, peer, &again, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (lr_addr_get_port (&again), ==, lr_addr_get_port (&address));
  /* As the helper does once WireGuard has the peer. */
  lrd_relay_client_peer_ready (client, peer);
  return lr_addr_get_port (&address);
}

static void
disco_seen_cb (const LrDiscoMessage *message,
               const LrStunAddress  *from,
               gpointer              user_data)
{
  DiscoSeen *seen = user_data;

  if (from != NULL)
    seen->direct++;
  if (message == NULL)
    seen->measured++;
  else if (message->type == LR_DISCO_PING)
    seen->pings++;
  else if (message->type == LR_DISCO_PONG)
    {
      seen->pongs++;
      seen->last_pong = *message;
    }
  else if (message->type == LR_DISCO_CALL_ME_MAYBE)
    {
      seen->calls++;
      seen->last_call = *message;
    }
}

static void
make_disco_keys (LrKey *public_key,
                 LrKey *secret_key)
{
  g_assert_cmpint (crypto_box_keypair (public_key->bytes, secret_key->bytes), ==, 0);
}

/* Gives A and B disco routers on their relay clients (no shared port: the relay only), each
 * knowing the other. */
static void
add_disco (Fixture *f)
{
  make_disco_keys (&f->disco_a_public, &f->disco_a_secret);
  make_disco_keys (&f->disco_b_public, &f->disco_b_secret);
  f->router_a = lrd_disco_router_new (NULL, f->a, &f->disco_a_public, &f->disco_a_secret,
                                      NULL);
  f->router_b = lrd_disco_router_new (NULL, f->b, &f->disco_b_public, &f->disco_b_secret,
                                      NULL);
  g_assert_false (lrd_disco_router_has_direct (f->router_a));
  g_assert_true (lrd_disco_router_add_peer (f->router_a, &f->disco_b_public, PEER_B,
                                            disco_seen_cb, &f->seen_a));
  g_assert_true (lrd_disco_router_add_peer (f->router_b, &f->disco_a_public, PEER_A,
                                            disco_seen_cb, &f->seen_b));
}

/* Starts A and B on @candidates with good tokens and waits until both are bound. */
static void
start_pair (Fixture            *f,
            const char * const *candidates)
{
  g_autofree char *token_a = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *token_b = relay_process_mint (&f->relay, PARTY, PEER_B, now_s () + 3600);
  gint64 expires_us = (now_s () + 3600) * G_USEC_PER_SEC;

  lrd_relay_client_set_candidates (f->a, candidates);
  lrd_relay_client_set_candidates (f->b, candidates);
  lrd_relay_client_set_token (f->a, token_a, expires_us);
  lrd_relay_client_set_token (f->b, token_b, expires_us);
  f->a_for_b = add_peer (f->a, PEER_B);
  f->b_for_a = add_peer (f->b, PEER_A);
  add_disco (f);
  g_assert_true (wait_until (f, both_bound, TIMEOUT_MS));
}

static void
fill (guint8 *buffer,
      gsize   length,
      guint   seed)
{
  for (gsize i = 0; i < length; i++)
    buffer[i] = (guint8) (seed * 31 + i * 7);
  /* Like a WireGuard transport message: type 4 as a little-endian u32. */
  buffer[0] = 4;
  for (gsize i = 1; i < MIN (length, 4); i++)
    buffer[i] = 0;
}

/* One datagram from @from_wg to its endpoint @to_port, expected on @to_wg from @expect_port. */
static void
check_one (UdpClient *from_wg,
           guint16    to_port,
           UdpClient *to_wg,
           guint16    expect_port,
           gsize      length,
           guint      seed)
{
  guint8 sent[1500], got[1600];
  struct sockaddr_in from;
  gssize n;

  fill (sent, length, seed);
  udp_client_send (from_wg, to_port, "127.0.0.1", sent, length);
  n = receive (to_wg, got, sizeof got, 2000, &from);
  g_assert_cmpint (n, ==, (gssize) length);
  g_assert_cmpmem (got, n, sent, length);
  g_assert_cmpuint (ntohs (from.sin_port), ==, expect_port);
  g_assert_cmpuint (ntohl (from.sin_addr.s_addr), ==, INADDR_LOOPBACK);
}

static void
exchange (Fixture *f,
          gsize    step)
{
  /* From 4 bytes: a WireGuard message starts with its type as a u32. */
  for (gsize length = 4; length <= 1452; length += step)
    {
      check_one (&f->wg_a, f->a_for_b, &f->wg_b, f->b_for_a, length, length);
      check_one (&f->wg_b, f->b_for_a, &f->wg_a, f->a_for_b, length, length + 1);
    }
  check_one (&f->wg_a, f->a_for_b, &f->wg_b, f->b_for_a, 1452, 1);
  check_one (&f->wg_b, f->b_for_a, &f->wg_a, f->a_for_b, 1452, 2);
}

static void
test_forward (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *endpoint = NULL;

  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  start_pair (f, (const char * const[]) { endpoint, endpoint, NULL });

  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint);
  g_assert_nonnull (strstr (lrd_relay_client_get_reason (f->a), "lowest round-trip time"));
  g_assert_cmpstr (lrd_relay_client_get_problem (f->a), ==, "");
  g_assert_cmpfloat (lrd_relay_client_get_relay_rtt_ms (f->a), >=, 0);
  exchange (f, 1);
}

/* This machine bound before with counters an hour ahead (its clock was wrong then, and the
 * relay still has that binding): the relay refuses the client's first BIND as stale, with
 * its last counter signed, and the client counts on from there and binds. */
static void
test_counter_behind (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *endpoint = NULL;
  g_autofree char *token = NULL;
  guint8 frame[128], reply[128];
  gsize length;
  UdpClient before;

  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  token = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  udp_client_init (&before, "127.0.0.1");
  length = relay_bind_frame (frame, sizeof frame, token, g_get_real_time (),
                             g_get_real_time () + G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC);
  udp_client_send (&before, f->relay.port, NULL, frame, length);
  g_assert_cmpint (udp_client_recv (&before, reply, sizeof reply, 1000, NULL), ==,
                   LR_RELAY_FRAME_HEADER_SIZE);
  g_assert_cmpuint (reply[1], ==, LR_RELAY_FRAME_BOUND);

  start_pair (f, (const char * const[]) { endpoint, NULL });
  g_assert_cmpint (relay_process_metric (&f->relay,
                                         "lanrage_relay_dropped_packets_total{reason=\"replayed\"}"),
                   >=, 1);
  check_one (&f->wg_b, f->b_for_a, &f->wg_a, f->a_for_b, 100, 1);
  check_one (&f->wg_a, f->a_for_b, &f->wg_b, f->b_for_a, 100, 2);
  udp_client_clear (&before);
}

static void
test_only_from_wireguard (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *endpoint = NULL;
  UdpClient stranger;
  guint8 buffer[64] = { 4, 0, 0, 0, 'x' };
  guint8 got[1600];

  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  start_pair (f, (const char * const[]) { endpoint, NULL });

  udp_client_init (&stranger, "127.0.0.1");
  udp_client_send (&stranger, f->a_for_b, "127.0.0.1", buffer, sizeof buffer);
  g_assert_cmpint (receive (&f->wg_b, got, sizeof got, 700, NULL), ==, -1);
  udp_client_clear (&stranger);

  check_one (&f->wg_a, f->a_for_b, &f->wg_b, f->b_for_a, 100, 1);
}

static gboolean
b_bound (Fixture *f)
{
  return lrd_relay_client_get_state (f->b) == LRD_RELAY_CLIENT_BOUND;
}

/* Starts @client as @peer on the fixture's first relay, which runs already. */
static void
start_client (Fixture        *f,
              LrdRelayClient *client,
              guint64         peer)
{
  g_autofree char *endpoint = endpoint_of (&f->relay);
  g_autofree char *token = relay_process_mint (&f->relay, PARTY, peer, now_s () + 3600);

  lrd_relay_client_set_candidates (client, (const char * const[]) { endpoint, NULL });
  lrd_relay_client_set_token (client, token, (now_s () + 3600) * G_USEC_PER_SEC);
}

/* WireGuard's first handshake initiation goes out the moment the peer is configured, before
 * any relay is bound: it is held and sent once one is, so the handshake does not wait for
 * WireGuard's retry five seconds later. */
static void
test_first_packet (Fixture       *f,
                   gconstpointer  data)
{
  guint8 sent[148], later[148], got[1600];
  struct sockaddr_in from;
  gssize n;

  relay_process_start (&f->relay, NULL);
  start_client (f, f->b, PEER_B);
  f->b_for_a = add_peer (f->b, PEER_A);
  g_assert_true (wait_until (f, b_bound, TIMEOUT_MS));

  start_client (f, f->a, PEER_A);
  f->a_for_b = add_peer (f->a, PEER_B);
  g_assert_cmpint (lrd_relay_client_get_state (f->a), !=, LRD_RELAY_CLIENT_BOUND);

  /* Two datagrams while A is not bound: the latest is the one that counts. */
  fill (sent, sizeof sent, 1);
  sent[0] = 1;   /* a handshake initiation's type */
  udp_client_send (&f->wg_a, f->a_for_b, "127.0.0.1", sent, sizeof sent);
  fill (later, sizeof later, 2);
  later[0] = 1;
  udp_client_send (&f->wg_a, f->a_for_b, "127.0.0.1", later, sizeof later);
  run_for (20);
  g_assert_cmpint (lrd_relay_client_get_state (f->a), !=, LRD_RELAY_CLIENT_BOUND);

  n = receive (&f->wg_b, got, sizeof got, 2000, &from);
  g_assert_cmpint (n, ==, sizeof later);
  g_assert_cmpmem (got, n, later, sizeof later);
  g_assert_cmpuint (ntohs (from.sin_port), ==, f->b_for_a);
  g_assert_cmpint (lrd_relay_client_get_state (f->a), ==, LRD_RELAY_CLIENT_BOUND);
  /* Held once, sent once. */
  g_assert_cmpint (receive (&f->wg_b, got, sizeof got, 300, NULL), ==, -1);
  check_one (&f->wg_a, f->a_for_b, &f->wg_b, f->b_for_a, 100, 3);
}

/* A peer's handshake may come through the relay before the control server's event names
 * that peer here: it is held until WireGuard knows the peer, then delivered. */
static void
test_early_peer (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  LrAddr address;
  guint8 sent[148], got[1600];
  struct sockaddr_in from;
  gssize n;

  relay_process_start (&f->relay, NULL);
  start_client (f, f->a, PEER_A);
  start_client (f, f->b, PEER_B);
  f->a_for_b = add_peer (f->a, PEER_B);
  g_assert_true (wait_until (f, both_bound, TIMEOUT_MS));

  fill (sent, sizeof sent, 4);
  sent[0] = 1;
  udp_client_send (&f->wg_a, f->a_for_b, "127.0.0.1", sent, sizeof sent);
  run_for (300);

  /* B learns of A; until WireGuard has A, nothing reaches it. */
  g_assert_true (lrd_relay_client_add_peer (f->b, PEER_A, &address, &error));
  g_assert_no_error (error);
  f->b_for_a = lr_addr_get_port (&address);
  g_assert_cmpint (receive (&f->wg_b, got, sizeof got, 300, NULL), ==, -1);

  lrd_relay_client_peer_ready (f->b, PEER_A);
  n = receive (&f->wg_b, got, sizeof got, 2000, &from);
  g_assert_cmpint (n, ==, sizeof sent);
  g_assert_cmpmem (got, n, sent, sizeof sent);
  g_assert_cmpuint (ntohs (from.sin_port), ==, f->b_for_a);
  exchange (f, 301);
}

static gboolean
both_on_relay2 (Fixture *f)
{
  g_autofree char *endpoint = endpoint_of (&f->relay2);

  return both_bound (f) && g_strcmp0 (lrd_relay_client_get_relay (f->a), endpoint) == 0 &&
         g_strcmp0 (lrd_relay_client_get_relay (f->b), endpoint) == 0;
}

/* WireGuard's datagrams from A for B, one every 10 ms, until one comes out at B; returns
 * the µs that took. */
static gint64
until_through (Fixture *f,
               int      timeout_ms)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + timeout_ms * 1000;
  guint8 sent[100], got[1600];

  fill (sent, sizeof sent, 11);
  while (g_get_monotonic_time () < deadline)
    {
      udp_client_send (&f->wg_a, f->a_for_b, "127.0.0.1", sent, sizeof sent);
      if (receive (&f->wg_b, got, sizeof got, 10, NULL) == sizeof sent)
        return g_get_monotonic_time () - start;
    }
  return -1;
}

static void
test_failover (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *endpoint1 = NULL;
  g_autofree char *endpoint2 = NULL;
  const char *same_secret[] = { "--relay-secret-file", f->relay.secret_path, NULL };
  guint8 got[1600];
  gint64 killed, through;
  double seconds;

  relay_process_start (&f->relay, NULL);
  relay_process_start (&f->relay2, same_secret);
  endpoint1 = endpoint_of (&f->relay);
  endpoint2 = endpoint_of (&f->relay2);
  start_pair (f, (const char * const[]) { endpoint1, endpoint2, NULL });

  /* About as near: both take the one listed first, so the peers meet on one relay. */
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint1);
  g_assert_cmpstr (lrd_relay_client_get_relay (f->b), ==, endpoint1);
  exchange (f, 97);

  relay_process_stop (&f->relay, SIGKILL);
  killed = g_get_monotonic_time ();
  /* A's datagrams reach B again well before the dead relay's deadline (3.5 s of silence):
   * A sends through the other relay, where both are bound, as soon as its relay is late. */
  through = until_through (f, TIMEOUT_MS);
  g_assert_cmpint (through, >=, 0);
  g_test_message ("datagrams through again %.2f s after the relay was killed",
                  (g_get_monotonic_time () - killed) / 1e6);
  g_assert_cmpint (g_get_monotonic_time () - killed, <, 2400 * 1000);
  g_assert_true (wait_until (f, both_on_relay2, TIMEOUT_MS));
  seconds = (g_get_monotonic_time () - killed) / 1e6;
  g_test_message ("moved to the other relay after %.1f s", seconds);
  g_assert_cmpfloat (seconds, <, 6);
  g_assert_nonnull (strstr (lrd_relay_client_get_reason (f->a), endpoint1));
  g_assert_nonnull (strstr (lrd_relay_client_get_reason (f->a), "stopped answering"));
  /* What the loop above sent after the first one came through. */
  run_for (300);
  while (udp_client_recv (&f->wg_b, got, sizeof got, 0, NULL) >= 0)
    ;
  exchange (f, 97);
}

static void
test_no_answer (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *endpoint = NULL;
  UdpClient placeholder;

  /* A port with nothing listening: take one and let it go. */
  udp_client_init (&placeholder, "127.0.0.1");
  f->relay.port = ntohs (placeholder.addr.sin_port);
  udp_client_clear (&placeholder);
  endpoint = endpoint_of (&f->relay);

  lrd_relay_client_set_candidates (f->a, (const char * const[]) { endpoint, NULL });
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  g_assert_cmpint (lrd_relay_client_get_state (f->a), ==, LRD_RELAY_CLIENT_SEARCHING);
  g_assert_true (wait_until (f, a_failed, TIMEOUT_MS));
  g_assert_cmpstr (lrd_relay_client_get_problem (f->a), !=, "");
  g_test_message ("problem: %s", lrd_relay_client_get_problem (f->a));

  relay_process_start (&f->relay, NULL);
  g_assert_cmpuint (f->relay.port, ==, ntohs (placeholder.addr.sin_port));
  g_assert_true (wait_until (f, a_bound, TIMEOUT_MS));
  g_assert_cmpstr (lrd_relay_client_get_problem (f->a), ==, "");
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint);
}

static void
token_needed_cb (LrdRelayClient *client,
                 gpointer        user_data)
{
  Fixture *f = user_data;

  f->token_needed++;
}

static gboolean
bound_and_token_needed (Fixture *f)
{
  return f->token_needed > 0 && a_bound (f);
}

static gboolean
token_was_needed (Fixture *f)
{
  return f->token_needed > 0 && a_failed (f);
}

static void
test_token (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *expired = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () - 60);
  g_autofree char *good = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *endpoint = NULL;

  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  g_signal_connect (f->a, "token-needed", G_CALLBACK (token_needed_cb), f);
  lrd_relay_client_set_candidates (f->a, (const char * const[]) { endpoint, NULL });
  lrd_relay_client_set_token (f->a, expired, (now_s () - 60) * G_USEC_PER_SEC);
  g_assert_true (wait_until (f, token_was_needed, TIMEOUT_MS));
  g_assert_nonnull (strstr (lrd_relay_client_get_problem (f->a), "expired"));
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_dropped_packets_total"
                                         "{reason=\"expired\"}"), >=, 1);

  lrd_relay_client_set_token (f->a, good, (now_s () + 3600) * G_USEC_PER_SEC);
  g_assert_true (wait_until (f, a_bound, TIMEOUT_MS));
  g_assert_cmpstr (lrd_relay_client_get_problem (f->a), ==, "");
}

/* A name goes through GResolver; its IPv4 address is taken. */
static void
test_resolve (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *endpoint = NULL;

  relay_process_start (&f->relay, NULL);
  endpoint = g_strdup_printf ("localhost:%u", f->relay.port);
  lrd_relay_client_set_candidates (f->a, (const char * const[]) { endpoint, NULL });
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  g_assert_true (wait_until (f, a_bound, TIMEOUT_MS));
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint);

  /* Stopped, it forgets its relay; a token starts it again. */
  lrd_relay_client_stop (f->a);
  g_assert_cmpint (lrd_relay_client_get_state (f->a), ==, LRD_RELAY_CLIENT_STOPPED);
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, "");
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  g_assert_true (wait_until (f, a_bound, TIMEOUT_MS));
}

static gboolean
has_public_endpoint (Fixture *f)
{
  return lrd_relay_client_get_public_endpoint (f->a)[0] != '\0';
}

static void
test_public_endpoint (Fixture       *f,
                      gconstpointer  data)
{
  /* No budget at all for STUN answers larger than their request: only a padded request gets
   * an answer. */
  const char *no_stun_budget[] = { "--stun-rate", "0", NULL };
  g_autofree char *token = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *endpoint = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GInetSocketAddress) local = NULL;

  relay_process_start (&f->relay, no_stun_budget);
  endpoint = endpoint_of (&f->relay);
  lrd_relay_client_set_candidates (f->a, (const char * const[]) { endpoint, NULL });
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  g_assert_true (wait_until (f, has_public_endpoint, TIMEOUT_MS));

  local = lrd_relay_client_dup_relay_socket_address (f->a);
  g_assert_nonnull (local);
  expected = g_strdup_printf ("127.0.0.1:%u", g_inet_socket_address_get_port (local));
  g_assert_cmpstr (lrd_relay_client_get_public_endpoint (f->a), ==, expected);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_stun_requests_total"), >=, 1);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_dropped_packets_total"
                                         "{reason=\"stun_rate_limited\"}"), <=, 0);
}

static double
relay_latency (LrdDiscoRouter *router,
               const LrKey    *peer,
               double         *out_loss_percent)
{
  const LrLinkQuality *quality = lrd_disco_router_get_relay_quality (router, peer);

  if (out_loss_percent != NULL)
    *out_loss_percent = quality != NULL ? quality->loss_percent : 0;
  return quality != NULL ? quality->latency_ms : -1;
}

static gboolean
latency_known (Fixture *f)
{
  return relay_latency (f->router_a, &f->disco_b_public, NULL) >= 0 &&
         relay_latency (f->router_b, &f->disco_a_public, NULL) >= 0;
}

/* The relayed path is measured with disco pings through the relay: each router pings the
 * other peer, the other answers, and the latency, jitter and loss come of the pongs. */
static void
test_peer_latency (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *endpoint = NULL;
  LrKey stranger = { { 7 } };
  double loss = -1;
  guint8 got[1600];

  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  start_pair (f, (const char * const[]) { endpoint, NULL });

  g_assert_cmpfloat (relay_latency (f->router_a, &f->disco_b_public, NULL), <, 0);
  g_assert_true (wait_until (f, latency_known, TIMEOUT_MS));
  /* A's handler heard of it: a pong through the relay is a new measure. */
  g_assert_cmpuint (f->seen_a.pongs, >=, 1);
  /* A few more pings; none of them may reach WireGuard. */
  run_for (2500);
  g_assert_cmpfloat (relay_latency (f->router_a, &f->disco_b_public, &loss), >=, 0);
  g_assert_cmpfloat (loss, >=, 0);
  g_assert_cmpfloat (loss, <=, 100);
  g_assert_cmpfloat (relay_latency (f->router_a, &stranger, NULL), ==, -1);
  g_assert_cmpint (udp_client_recv (&f->wg_a, got, sizeof got, 0, NULL), ==, -1);
  g_assert_cmpint (udp_client_recv (&f->wg_b, got, sizeof got, 0, NULL), ==, -1);
  /* Both ways, every few seconds: pings answered, pongs back, nothing "direct". */
  g_assert_cmpuint (f->seen_a.pings, >=, 1);
  g_assert_cmpuint (f->seen_a.pongs, >=, 1);
  g_assert_cmpuint (f->seen_b.pings, >=, 1);
  g_assert_cmpuint (f->seen_b.pongs, >=, 1);
  g_assert_cmpuint (f->seen_a.direct + f->seen_b.direct, ==, 0);
}

static gboolean
a_got_pong (Fixture *f)
{
  return f->seen_a.pongs > 0;
}

/* One disco ping from A to B through a real lanrage-relay, its pong back the same way: the
 * pong carries the ping's transaction id and the address the ping came from, the relay's. */
static void
test_disco_ping (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *endpoint = NULL;
  g_autofree char *observed = NULL;
  LrDiscoMessage ping = { .type = LR_DISCO_PING };
  gint64 forwarded;

  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  start_pair (f, (const char * const[]) { endpoint, NULL });
  /* Let the routers' own pings settle, then count from zero. */
  run_for (300);
  memset (&f->seen_a, 0, sizeof f->seen_a);
  memset (&f->seen_b, 0, sizeof f->seen_b);

  forwarded = relay_process_metric (&f->relay, "lanrage_relay_forwarded_packets_total");
  memcpy (ping.transaction_id, "test-ping-42", LR_DISCO_TRANSACTION_SIZE);
  g_assert_true (lrd_disco_router_send (f->router_a, &f->disco_b_public, &ping, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (wait_until (f, a_got_pong, TIMEOUT_MS));
  g_assert_cmpuint (f->seen_b.pings, >=, 1);
  g_assert_cmpmem (f->seen_a.last_pong.transaction_id, LR_DISCO_TRANSACTION_SIZE,
                   "test-ping-42", LR_DISCO_TRANSACTION_SIZE);
  observed = lr_stun_address_to_string (&f->seen_a.last_pong.observed);
  g_assert_cmpstr (observed, ==, endpoint);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_forwarded_packets_total") -
                   forwarded, >=, 2);
  g_assert_cmpuint (f->seen_a.direct + f->seen_b.direct, ==, 0);
}

static gboolean
b_got_call (Fixture *f)
{
  return f->seen_b.calls > 0;
}

/* Call-me-maybe through the relay: B's router hands A's candidates to B's handler, and a
 * path policy given them (as B's LrdPeerLink does) pings exactly those at once. */
static void
test_call_me_maybe (Fixture       *f,
                    gconstpointer  data)
{
  const char *candidates[] = { "198.51.100.7:51820", "192.168.1.20:51820",
                               "[2001:db8::7]:51820" };
  g_autoptr(GError) error = NULL;
  g_autofree char *endpoint = NULL;
  g_autoptr(LrClock) clock = NULL;
  g_autoptr(LrPathPolicy) policy = NULL;
  LrDiscoMessage call = { .type = LR_DISCO_CALL_ME_MAYBE };
  LrPathCandidate given[LR_PATH_MAX_CANDIDATES];
  gboolean pinged[G_N_ELEMENTS (candidates)] = { FALSE };
  LrPathAction action;

  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  start_pair (f, (const char * const[]) { endpoint, NULL });

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    g_assert_true (lr_stun_address_parse (&call.candidates[call.n_candidates++],
                                          candidates[i]));
  g_assert_true (lrd_disco_router_send (f->router_a, &f->disco_b_public, &call, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (wait_until (f, b_got_call, TIMEOUT_MS));
  g_assert_cmpuint (f->seen_b.calls, ==, 1);
  g_assert_cmpuint (f->seen_b.last_call.n_candidates, ==, G_N_ELEMENTS (candidates));

  clock = lr_clock_new_system ();
  policy = lr_path_policy_new (clock);
  for (guint i = 0; i < f->seen_b.last_call.n_candidates; i++)
    {
      given[i].address = f->seen_b.last_call.candidates[i];
      given[i].kind = i == 1 ? LR_PATH_CANDIDATE_LAN : LR_PATH_CANDIDATE_PUBLIC;
    }
  lr_path_policy_set_candidates (policy, given, f->seen_b.last_call.n_candidates);
  while (lr_path_policy_next (policy, &action))
    {
      g_autofree char *to = NULL;
      gboolean known = FALSE;

      if (action.type != LR_PATH_ACTION_PING)
        continue;
      to = lr_stun_address_to_string (&action.address);
      for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
        if (g_strcmp0 (to, candidates[i]) == 0)
          known = pinged[i] = TRUE;
      g_assert_true (known);
    }
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    g_assert_true (pinged[i]);

  /* A call-me-maybe for B delivered again (a replay through the relay or the signal
   * channel) is dropped. */
  {
    guint8 packet[LR_DISCO_MAX_SIZE];
    gsize length = lrd_disco_router_seal (f->router_a, &f->disco_b_public, &call, packet,
                                          sizeof packet);

    g_assert_cmpuint (length, >, 0);
    g_assert_true (lrd_disco_router_deliver (f->router_b, packet, length));
    g_assert_false (lrd_disco_router_deliver (f->router_b, packet, length));
    g_assert_cmpuint (f->seen_b.calls, ==, 2);
  }
}

/* A UDP socket posing as a relay, so the test can send the client anything from the
 * relay's address; it answers PING with PONG and BIND with BOUND like the real one. Its
 * PONGs look @extra_rtt_ms slower than they are (the client reads the RTT from the send
 * time the PING carries), so that a real relay, slow under load, can still be the nearer. */
static guint
serve_fake_relay_full (UdpClient *fake,
                       int        ms,
                       guint16    bind_error,
                       guint      extra_rtt_ms,
                       GPtrArray *data_frames)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;
  guint pings = 0;

  while (g_get_monotonic_time () < deadline)
    {
      guint8 buffer[2048];
      struct sockaddr_in from;
      socklen_t length = sizeof from;
      gssize n;

      while (g_main_context_iteration (NULL, FALSE))
        ;
      n = recvfrom (fake->fd, buffer, sizeof buffer, MSG_DONTWAIT, (struct sockaddr *) &from,
                    &length);
      if (n < 0)
        {
          g_usleep (500);
          continue;
        }
      if (n >= LR_RELAY_FRAME_HEADER_SIZE && buffer[0] == (0x80 | LR_RELAY_FRAME_VERSION) &&
          buffer[1] == LR_RELAY_FRAME_PING)
        {
          pings++;
          buffer[1] = LR_RELAY_FRAME_PONG;
          if (n >= LR_RELAY_FRAME_HEADER_SIZE + 8 && extra_rtt_ms > 0)
            {
              guint8 *sent = buffer + LR_RELAY_FRAME_HEADER_SIZE;
              guint64 sent_us = 0;

              for (guint i = 0; i < 8; i++)
                sent_us = sent_us << 8 | sent[i];
              sent_us -= (guint64) extra_rtt_ms * 1000;
              for (int i = 7; i >= 0; i--, sent_us >>= 8)
                sent[i] = sent_us & 0xff;
            }
          sendto (fake->fd, buffer, n, 0, (struct sockaddr *) &from, length);
        }
      else if (n >= LR_RELAY_FRAME_HEADER_SIZE && buffer[0] == (0x80 | LR_RELAY_FRAME_VERSION) &&
               buffer[1] == LR_RELAY_FRAME_BIND)
        {
          if (bind_error != 0)
            lr_relay_frame_write_header (buffer, LR_RELAY_FRAME_ERROR, bind_error, 0);
          else
            lr_relay_frame_write_header (buffer, LR_RELAY_FRAME_BOUND, 0, PEER_A);
          sendto (fake->fd, buffer, LR_RELAY_FRAME_HEADER_SIZE, 0, (struct sockaddr *) &from,
                  length);
        }
      else if (data_frames != NULL && n >= LR_RELAY_FRAME_HEADER_SIZE &&
               buffer[0] == (0x80 | LR_RELAY_FRAME_VERSION) && buffer[1] == LR_RELAY_FRAME_DATA)
        g_ptr_array_add (data_frames, g_bytes_new (buffer, n));
    }
  return pings;
}

static guint
serve_fake_relay (UdpClient *fake,
                  int        ms,
                  guint16    bind_error,
                  guint      extra_rtt_ms)
{
  return serve_fake_relay_full (fake, ms, bind_error, extra_rtt_ms, NULL);
}

static void
test_garbage (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *endpoint = NULL;
  g_autoptr(GInetSocketAddress) local = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);
  guint16 client_port;
  UdpClient fake;
  guint8 got[1600];

  udp_client_init (&fake, "127.0.0.1");
  endpoint = g_strdup_printf ("127.0.0.1:%u", ntohs (fake.addr.sin_port));
  lrd_relay_client_set_candidates (f->a, (const char * const[]) { endpoint, NULL });
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  add_peer (f->a, PEER_B);
  add_disco (f);
  serve_fake_relay (&fake, 1500, 0, 0);
  g_assert_cmpint (lrd_relay_client_get_state (f->a), ==, LRD_RELAY_CLIENT_BOUND);
  local = lrd_relay_client_dup_relay_socket_address (f->a);
  client_port = g_inet_socket_address_get_port (local);

  for (guint i = 0; i < 3000; i++)
    {
      guint8 buffer[1600];
      gsize length = g_rand_int_range (rand, 0, sizeof buffer);

      for (gsize j = 0; j < length; j++)
        buffer[j] = g_rand_int (rand);
      switch (i % 6)
        {
        case 0: /* a frame header of any type and code */
          if (length >= 2)
            buffer[0] = 0x80 | LR_RELAY_FRAME_VERSION;
          break;
        case 1: /* DATA for the known peer that looks like disco */
          length = MAX (length, LR_RELAY_FRAME_HEADER_SIZE) % 200 + LR_RELAY_FRAME_HEADER_SIZE +
                   LR_DISCO_MAGIC_SIZE;
          lr_relay_frame_write_header (buffer, LR_RELAY_FRAME_DATA, 0, PEER_B);
          memcpy (buffer + LR_RELAY_FRAME_HEADER_SIZE, LR_DISCO_MAGIC, LR_DISCO_MAGIC_SIZE);
          break;
        case 2: /* STUN-looking */
          if (length >= 8)
            {
              buffer[0] &= 0x3f;
              buffer[4] = 0x21, buffer[5] = 0x12, buffer[6] = 0xa4, buffer[7] = 0x42;
            }
          break;
        case 3: /* a short PONG */
          length = MIN (length, 30);
          if (length >= 2)
            buffer[0] = 0x80 | LR_RELAY_FRAME_VERSION, buffer[1] = LR_RELAY_FRAME_PONG;
          break;
        default:
          break;
        }
      udp_client_send (&fake, client_port, "127.0.0.1", buffer, length);
      if (i % 100 == 0)
        while (g_main_context_iteration (NULL, FALSE))
          ;
    }

  /* Still alive and still talking to its relay. */
  g_assert_cmpuint (serve_fake_relay (&fake, 2500, 0, 0), >=, 1);
  /* What went to WireGuard was DATA for the peer, never anything else: drain it. */
  while (udp_client_recv (&f->wg_a, got, sizeof got, 0, NULL) >= 0)
    ;
  udp_client_clear (&fake);
}

/* A fake relay for A, with peers B and C known to A's disco router; the test holds B's and
 * C's disco keys, so it can seal as they would. */
typedef struct
{
  UdpClient fake;
  guint16   client_port;   /* A's relay socket */
  LrKey     c_public, c_secret;
  guint64   counter;       /* the next disco counter "B" and "C" use */
} FakeParty;

static void
fake_party_start (Fixture   *f,
                  FakeParty *party)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *endpoint = NULL;
  g_autoptr(GInetSocketAddress) local = NULL;

  udp_client_init (&party->fake, "127.0.0.1");
  endpoint = g_strdup_printf ("127.0.0.1:%u", ntohs (party->fake.addr.sin_port));
  lrd_relay_client_set_candidates (f->a, (const char * const[]) { endpoint, NULL });
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  f->a_for_b = add_peer (f->a, PEER_B);
  add_peer (f->a, PEER_C);
  add_disco (f);
  make_disco_keys (&party->c_public, &party->c_secret);
  /* C's messages are counted in seen_b: B's own router hears nothing here. */
  g_assert_true (lrd_disco_router_add_peer (f->router_a, &party->c_public, PEER_C,
                                            disco_seen_cb, &f->seen_b));
  party->counter = g_get_real_time ();
  serve_fake_relay (&party->fake, 1500, 0, 0);
  g_assert_cmpint (lrd_relay_client_get_state (f->a), ==, LRD_RELAY_CLIENT_BOUND);
  local = lrd_relay_client_dup_relay_socket_address (f->a);
  party->client_port = g_inet_socket_address_get_port (local);
}

/* A disco ping sealed by @sender for A, as a relay DATA frame from @peer. */
static gsize
fake_party_ping (Fixture      *f,
                 FakeParty    *party,
                 const LrKey  *sender_public,
                 const LrKey  *sender_secret,
                 guint64       peer,
                 const char   *transaction,
                 guint8       *frame,
                 gsize         size)
{
  LrDiscoMessage ping = { .type = LR_DISCO_PING };
  guint8 nonce[LR_DISCO_NONCE_SIZE];
  gsize length;

  memcpy (ping.transaction_id, transaction, LR_DISCO_TRANSACTION_SIZE);
  lr_disco_nonce_make (party->counter++, nonce);
  length = lr_disco_seal (&ping, sender_public->bytes, sender_secret->bytes,
                          f->disco_a_public.bytes, nonce, frame + LR_RELAY_FRAME_HEADER_SIZE,
                          size - LR_RELAY_FRAME_HEADER_SIZE);
  g_assert_cmpuint (length, >, 0);
  lr_relay_frame_write_header (frame, LR_RELAY_FRAME_DATA, 0, peer);
  return LR_RELAY_FRAME_HEADER_SIZE + length;
}

/* Sends @frame to A as the relay, and counts the pongs A sends back for B within @ms,
 * each opened with B's key; the last one's transaction id goes to @out_transaction. */
static guint
fake_party_pongs (Fixture      *f,
                  FakeParty    *party,
                  const guint8 *frame,
                  gsize         length,
                  int           ms,
                  guint8       *out_transaction)
{
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  LrDiscoReplay replay = { 0 };
  guint pongs = 0;

  udp_client_send (&party->fake, party->client_port, "127.0.0.1", frame, length);
  serve_fake_relay_full (&party->fake, ms, 0, 0, frames);
  for (guint i = 0; i < frames->len; i++)
    {
      gsize n;
      const guint8 *data = g_bytes_get_data (frames->pdata[i], &n);
      LrRelayFrame parsed;
      LrDiscoMessage message;
      g_autofree char *observed = NULL;
      g_autofree char *relay = NULL;

      g_assert_cmpint (lr_relay_frame_parse (&parsed, data, n), ==, LR_RELAY_FRAME_OK);
      if (parsed.peer != PEER_B ||
          !lr_disco_open (&message, parsed.payload, parsed.payload_length,
                          f->disco_b_secret.bytes, f->disco_a_public.bytes, &replay, NULL) ||
          message.type != LR_DISCO_PONG)
        continue;
      /* (A's own pings of the relayed path, sealed for B too, are not pongs.) */
      observed = lr_stun_address_to_string (&message.observed);
      relay = g_strdup_printf ("127.0.0.1:%u", ntohs (party->fake.addr.sin_port));
      g_assert_cmpstr (observed, ==, relay);
      if (out_transaction != NULL)
        memcpy (out_transaction, message.transaction_id, LR_DISCO_TRANSACTION_SIZE);
      pongs++;
    }
  return pongs;
}

/* Through the relay, disco is held to the same rules as on WireGuard's port: a replayed,
 * forged or stranger's ping, and a peer's ping that the relay says comes from another
 * peer, draw no pong and reach no handler. */
static void
test_disco_forged (Fixture       *f,
                   gconstpointer  data)
{
  FakeParty party;
  LrKey stranger_public, stranger_secret;
  guint8 frame[LR_RELAY_FRAME_HEADER_SIZE + LR_DISCO_MAX_SIZE], forged[sizeof frame];
  guint8 transaction[LR_DISCO_TRANSACTION_SIZE];
  guint8 got[1600];
  gsize length;

  fake_party_start (f, &party);
  make_disco_keys (&stranger_public, &stranger_secret);

  /* B's ping: answered with a pong for B, through the relay. */
  length = fake_party_ping (f, &party, &f->disco_b_public, &f->disco_b_secret, PEER_B,
                            "first-ping-1", frame, sizeof frame);
  g_assert_cmpuint (fake_party_pongs (f, &party, frame, length, 500, transaction), ==, 1);
  g_assert_cmpmem (transaction, sizeof transaction, "first-ping-1", sizeof transaction);
  g_assert_cmpuint (f->seen_a.pings, ==, 1);

  /* The same datagram again: a replay. */
  g_assert_cmpuint (fake_party_pongs (f, &party, frame, length, 500, transaction), ==, 0);
  /* A fresh ping with one bit flipped in its box. */
  length = fake_party_ping (f, &party, &f->disco_b_public, &f->disco_b_secret, PEER_B,
                            "flipped-bit2", forged, sizeof forged);
  forged[length - 3] ^= 0x10;
  g_assert_cmpuint (fake_party_pongs (f, &party, forged, length, 500, transaction), ==, 0);
  /* Sealed by a key no peer has. */
  length = fake_party_ping (f, &party, &stranger_public, &stranger_secret, PEER_B,
                            "stranger-pi3", forged, sizeof forged);
  g_assert_cmpuint (fake_party_pongs (f, &party, forged, length, 500, transaction), ==, 0);
  /* B's ping, but the relay says C sent it. */
  length = fake_party_ping (f, &party, &f->disco_b_public, &f->disco_b_secret, PEER_C,
                            "wrong-peer-4", forged, sizeof forged);
  g_assert_cmpuint (fake_party_pongs (f, &party, forged, length, 500, transaction), ==, 0);
  g_assert_cmpuint (f->seen_a.pings, ==, 1);
  g_assert_cmpuint (f->seen_b.pings, ==, 0);   /* C's handler */

  /* A fresh one from B is still answered. */
  length = fake_party_ping (f, &party, &f->disco_b_public, &f->disco_b_secret, PEER_B,
                            "last-ping-05", frame, sizeof frame);
  g_assert_cmpuint (fake_party_pongs (f, &party, frame, length, 500, transaction), ==, 1);
  g_assert_cmpmem (transaction, sizeof transaction, "last-ping-05", sizeof transaction);
  g_assert_cmpuint (f->seen_a.pings, ==, 2);
  g_assert_cmpint (udp_client_recv (&f->wg_a, got, sizeof got, 0, NULL), ==, -1);
  udp_client_clear (&party.fake);
}

static void
count_disco_cb (LrdRelayClient *client,
                guint64         peer,
                gconstpointer   packet,
                guint           length,
                gpointer        user_data)
{
  guint *count = user_data;

  g_assert_cmpuint (length, >=, LR_DISCO_MAGIC_SIZE);
  g_assert_cmpmem (packet, LR_DISCO_MAGIC_SIZE, LR_DISCO_MAGIC, LR_DISCO_MAGIC_SIZE);
  (*count)++;
}

/* Sends @payload to A as the relay's DATA from B and says whether it reached WireGuard
 * (checked against what was sent). */
static gboolean
relay_brings (Fixture      *f,
              FakeParty    *party,
              const guint8 *payload,
              gsize         length)
{
  guint8 frame[1600], got[1600];
  gssize n;

  lr_relay_frame_write_header (frame, LR_RELAY_FRAME_DATA, 0, PEER_B);
  memcpy (frame + LR_RELAY_FRAME_HEADER_SIZE, payload, length);
  udp_client_send (&party->fake, party->client_port, "127.0.0.1", frame,
                   LR_RELAY_FRAME_HEADER_SIZE + length);
  n = receive (&f->wg_a, got, sizeof got, 300, NULL);
  if (n < 0)
    return FALSE;
  g_assert_cmpmem (got, n, payload, length);
  return TRUE;
}

/* WireGuard sends @payload to A's endpoint for B; returns whether the relay got it as DATA. */
static gboolean
wireguard_sends (Fixture      *f,
                 FakeParty    *party,
                 const guint8 *payload,
                 gsize         length)
{
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  udp_client_send (&f->wg_a, f->a_for_b, "127.0.0.1", payload, length);
  serve_fake_relay_full (&party->fake, 300, 0, 0, frames);
  for (guint i = 0; i < frames->len; i++)
    {
      gsize n;
      const guint8 *data = g_bytes_get_data (frames->pdata[i], &n);

      if (n == LR_RELAY_FRAME_HEADER_SIZE + length &&
          memcmp (data + LR_RELAY_FRAME_HEADER_SIZE, payload, length) == 0)
        return TRUE;
    }
  return FALSE;
}

/* A relay's DATA is WireGuard's or disco's by its first bytes: WireGuard's message types
 * (1 to 4, then three zero bytes) go to WireGuard only, the disco magic to disco only, and
 * anything else nowhere. From WireGuard's port only WireGuard's messages go out. */
static void
test_wireguard_or_disco (Fixture       *f,
                         gconstpointer  data)
{
  FakeParty party;
  guint8 payload[200];
  guint disco = 0;

  fake_party_start (f, &party);
  g_signal_connect (f->a, "disco-received", G_CALLBACK (count_disco_cb), &disco);

  /* Each WireGuard message type: WireGuard, not disco. */
  for (guint8 type = 1; type <= 4; type++)
    {
      fill (payload, sizeof payload, type);
      payload[0] = type;
      g_assert_true (relay_brings (f, &party, payload, sizeof payload));
      g_assert_cmpuint (disco, ==, 0);
    }
  /* Disco (it need not open to be disco): disco, not WireGuard. */
  fill (payload, sizeof payload, 9);
  memcpy (payload, LR_DISCO_MAGIC, LR_DISCO_MAGIC_SIZE);
  g_assert_false (relay_brings (f, &party, payload, sizeof payload));
  g_assert_cmpuint (disco, ==, 1);
  /* Neither: dropped. */
  {
    static const guint8 neither[][8] = {
      { 5, 0, 0, 0, 1, 2, 3, 4 },           /* no such WireGuard type */
      { 0, 0, 0, 0, 1, 2, 3, 4 },
      { 4, 1, 0, 0, 1, 2, 3, 4 },           /* a type, but not a u32 */
      { 1, 0, 0, 9, 1, 2, 3, 4 },
      { 'L', 'R', 'd', 'i', 's', 'c', 'o', 0x02 },  /* another disco version */
    };

    for (guint i = 0; i < G_N_ELEMENTS (neither); i++)
      {
        g_assert_false (relay_brings (f, &party, neither[i], sizeof neither[i]));
        g_assert_cmpuint (disco, ==, 1);
      }
    /* Shorter than a type */
    g_assert_false (relay_brings (f, &party, neither[0], 3));
  }

  /* From WireGuard's side: its messages go to the relay, disco-looking bytes do not. */
  fill (payload, sizeof payload, 4);
  g_assert_true (wireguard_sends (f, &party, payload, sizeof payload));
  memcpy (payload, LR_DISCO_MAGIC, LR_DISCO_MAGIC_SIZE);
  g_assert_false (wireguard_sends (f, &party, payload, sizeof payload));
  payload[0] = 7;
  g_assert_false (wireguard_sends (f, &party, payload, sizeof payload));
  g_assert_cmpuint (disco, ==, 1);
  udp_client_clear (&party.fake);
}

typedef struct
{
  guint   count;
  guint64 peer;
} RoamSeen;

static void
roamed_cb (LrdRelayClient *client,
           guint64         peer,
           gpointer        user_data)
{
  RoamSeen *seen = user_data;

  seen->count++;
  seen->peer = peer;
}

static gboolean
wait_roams (RoamSeen *seen,
            guint     count,
            int       timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * 1000;

  while (seen->count < count && g_get_monotonic_time () < deadline)
    run_for (5);
  return seen->count >= count;
}

/* While a peer is direct, WireGuard's datagram to the peer's loopback socket, or one the
 * relay brings from the peer, means WireGuard roamed back to the relay: the datagram is
 * still carried, and ::wireguard-roamed says so within a tick, once for a burst. */
static void
test_wireguard_roamed (Fixture       *f,
                       gconstpointer  data)
{
  FakeParty party;
  guint8 payload[100];
  RoamSeen seen = { 0 };

  fake_party_start (f, &party);
  g_signal_connect (f->a, "wireguard-roamed", G_CALLBACK (roamed_cb), &seen);
  fill (payload, sizeof payload, 4);
  payload[0] = 4;

  /* Relayed: WireGuard is meant to send here. */
  g_assert_true (wireguard_sends (f, &party, payload, sizeof payload));
  g_assert_true (relay_brings (f, &party, payload, sizeof payload));
  run_for (300);
  g_assert_cmpuint (seen.count, ==, 0);

  /* Direct: WireGuard sending here has roamed back. */
  lrd_relay_client_set_peer_direct (f->a, PEER_B, TRUE);
  g_assert_true (wireguard_sends (f, &party, payload, sizeof payload));
  g_assert_true (wait_roams (&seen, 1, 1000));
  g_assert_cmpuint (seen.peer, ==, PEER_B);

  /* The peer's packet through the relay moves WireGuard back too. */
  g_assert_true (relay_brings (f, &party, payload, sizeof payload));
  g_assert_true (wait_roams (&seen, 2, 1000));

  /* A burst is reported once a tick, not once a datagram. */
  for (guint i = 0; i < 20; i++)
    udp_client_send (&f->wg_a, f->a_for_b, "127.0.0.1", payload, sizeof payload);
  run_for (350);
  g_assert_cmpuint (seen.count, >=, 3);
  g_assert_cmpuint (seen.count, <=, 4);

  /* Another peer, relayed, is not reported. */
  {
    guint before = seen.count;
    guint16 a_for_c = add_peer (f->a, PEER_C);

    udp_client_send (&f->wg_a, a_for_c, "127.0.0.1", payload, sizeof payload);
    run_for (300);
    g_assert_cmpuint (seen.count, ==, before);
  }

  /* Relayed again: nothing more. */
  lrd_relay_client_set_peer_direct (f->a, PEER_B, FALSE);
  seen.count = 0;
  g_assert_true (wireguard_sends (f, &party, payload, sizeof payload));
  run_for (300);
  g_assert_cmpuint (seen.count, ==, 0);
  udp_client_clear (&party.fake);
}

/* A relay with another secret refuses the token: the client asks for a new one and uses
 * the next relay meanwhile. */
static void
test_other_secret (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *endpoint1 = NULL;
  g_autofree char *endpoint2 = NULL;

  relay_process_start (&f->relay, NULL);
  relay_process_start (&f->relay2, NULL);
  endpoint1 = endpoint_of (&f->relay);
  endpoint2 = endpoint_of (&f->relay2);
  g_signal_connect (f->a, "token-needed", G_CALLBACK (token_needed_cb), f);
  lrd_relay_client_set_candidates (f->a, (const char * const[]) {
    endpoint2, endpoint1, NULL });
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  g_assert_true (wait_until (f, bound_and_token_needed, TIMEOUT_MS));
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint1);
  g_assert_nonnull (strstr (lrd_relay_client_get_reason (f->a), "refuses"));

  /* Only the refusing relay is left: FAILED, saying why, until a token it takes. */
  lrd_relay_client_set_candidates (f->a, (const char * const[]) { endpoint2, NULL });
  g_assert_true (wait_until (f, a_failed, TIMEOUT_MS));
  g_assert_nonnull (strstr (lrd_relay_client_get_problem (f->a), "party pass"));
  run_for (1500);
  g_assert_nonnull (strstr (lrd_relay_client_get_problem (f->a), "party pass"));
  g_clear_pointer (&token, g_free);
  token = relay_process_mint (&f->relay2, PARTY, PEER_A, now_s () + 3600);
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  g_assert_true (wait_until (f, a_bound, TIMEOUT_MS));
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint2);
}

/* A relay that is full is left for the next one at once. */
static void
test_full (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *fake_endpoint = NULL;
  g_autofree char *endpoint = NULL;
  UdpClient fake;

  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  udp_client_init (&fake, "127.0.0.1");
  fake_endpoint = g_strdup_printf ("127.0.0.1:%u", ntohs (fake.addr.sin_port));
  lrd_relay_client_set_candidates (f->a, (const char * const[]) {
    fake_endpoint, endpoint, NULL });
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  serve_fake_relay (&fake, 2000, LR_RELAY_FRAME_ERROR_FULL, 0);
  g_assert_true (wait_until (f, a_bound, TIMEOUT_MS));
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint);
  g_assert_nonnull (strstr (lrd_relay_client_get_reason (f->a), fake_endpoint));
  g_assert_nonnull (strstr (lrd_relay_client_get_reason (f->a), "is full"));
  udp_client_clear (&fake);
}

/* The relay says that this peer was removed from its party: the client stops, says why in
 * words, and asks for a new token (which the server will not give a removed peer). */
static void
test_revoked (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *token = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *fake_endpoint = NULL;
  UdpClient fake;

  udp_client_init (&fake, "127.0.0.1");
  fake_endpoint = g_strdup_printf ("127.0.0.1:%u", ntohs (fake.addr.sin_port));
  g_signal_connect (f->a, "token-needed", G_CALLBACK (token_needed_cb), f);
  lrd_relay_client_set_candidates (f->a, (const char * const[]) { fake_endpoint, NULL });
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  serve_fake_relay (&fake, 2500, LR_RELAY_FRAME_ERROR_REVOKED, 0);
  g_assert_true (wait_until (f, a_failed, TIMEOUT_MS));
  g_assert_cmpuint (f->token_needed, ==, 1);
  g_assert_nonnull (strstr (lrd_relay_client_get_problem (f->a), "no longer in the party"));
  udp_client_clear (&fake);
}

/* The relay restarts and forgets every binding: DATA gets not_bound, and the clients BIND
 * again at once. */
static void
test_relay_restart (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *endpoint = NULL;
  guint8 sent[100], got[1600];
  gboolean through = FALSE;

  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  start_pair (f, (const char * const[]) { endpoint, NULL });
  check_one (&f->wg_a, f->a_for_b, &f->wg_b, f->b_for_a, 100, 1);

  relay_process_stop (&f->relay, SIGKILL);
  relay_process_start (&f->relay, NULL);
  fill (sent, sizeof sent, 9);
  for (guint i = 0; i < 40 && !through; i++)
    {
      udp_client_send (&f->wg_a, f->a_for_b, "127.0.0.1", sent, sizeof sent);
      udp_client_send (&f->wg_b, f->b_for_a, "127.0.0.1", sent, sizeof sent);
      through = receive (&f->wg_b, got, sizeof got, 100, NULL) == sizeof sent;
    }
  g_assert_true (through);
  g_assert_true (both_bound (f));
  /* Drop what else of the loop above came through. */
  run_for (300);
  while (udp_client_recv (&f->wg_a, got, sizeof got, 0, NULL) >= 0)
    ;
  while (udp_client_recv (&f->wg_b, got, sizeof got, 0, NULL) >= 0)
    ;
  check_one (&f->wg_a, f->a_for_b, &f->wg_b, f->b_for_a, 200, 2);
  check_one (&f->wg_b, f->b_for_a, &f->wg_a, f->a_for_b, 200, 3);
}

/* A token with less than five minutes left is used, and a new one asked for. */
static void
test_token_expires_soon (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *soon = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 120);
  g_autofree char *good = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 7200);
  g_autofree char *endpoint = NULL;
  guint asked;

  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  g_signal_connect (f->a, "token-needed", G_CALLBACK (token_needed_cb), f);
  lrd_relay_client_set_candidates (f->a, (const char * const[]) { endpoint, NULL });
  lrd_relay_client_set_token (f->a, soon, (now_s () + 120) * G_USEC_PER_SEC);
  g_assert_true (wait_until (f, bound_and_token_needed, TIMEOUT_MS));

  asked = f->token_needed;
  lrd_relay_client_set_token (f->a, good, (now_s () + 7200) * G_USEC_PER_SEC);
  run_for (1000);
  g_assert_cmpuint (f->token_needed, ==, asked);
  g_assert_true (a_bound (f));
}

static gboolean
bound_on_both_relays (Fixture *f)
{
  return both_bound (f) &&
         relay_process_metric (&f->relay, "lanrage_relay_bound_peers") == 2 &&
         relay_process_metric (&f->relay2, "lanrage_relay_bound_peers") == 2;
}

static gboolean
b_on_relay1 (Fixture *f)
{
  g_autofree char *endpoint = endpoint_of (&f->relay);

  return both_bound (f) && g_strcmp0 (lrd_relay_client_get_relay (f->b), endpoint) == 0;
}

/* Peers whose nearest relays differ (a party across continents): each sends through the
 * relay it chose and still reaches the other, since every client is bound on every relay
 * that answers. Here the relays are about as near, so the list order decides, and the
 * session listed them differently for A and B. */
static void
test_different_relays (Fixture       *f,
                       gconstpointer  data)
{
  const char *same_secret[] = { "--relay-secret-file", f->relay.secret_path, NULL };
  g_autofree char *token_a = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *token_b = relay_process_mint (&f->relay, PARTY, PEER_B, now_s () + 3600);
  gint64 expires_us = (now_s () + 3600) * G_USEC_PER_SEC;
  g_autofree char *endpoint1 = NULL;
  g_autofree char *endpoint2 = NULL;
  gint64 forwarded1, forwarded2;

  relay_process_start (&f->relay, NULL);
  relay_process_start (&f->relay2, same_secret);
  endpoint1 = endpoint_of (&f->relay);
  endpoint2 = endpoint_of (&f->relay2);
  lrd_relay_client_set_candidates (f->a, (const char * const[]) { endpoint1, endpoint2, NULL });
  lrd_relay_client_set_candidates (f->b, (const char * const[]) { endpoint2, endpoint1, NULL });
  lrd_relay_client_set_token (f->a, token_a, expires_us);
  lrd_relay_client_set_token (f->b, token_b, expires_us);
  f->a_for_b = add_peer (f->a, PEER_B);
  f->b_for_a = add_peer (f->b, PEER_A);
  add_disco (f);

  /* Each relay has both peers bound: the one that chose it and the other. */
  g_assert_true (wait_until (f, bound_on_both_relays, TIMEOUT_MS));
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint1);
  g_assert_cmpstr (lrd_relay_client_get_relay (f->b), ==, endpoint2);
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), !=, lrd_relay_client_get_relay (f->b));

  /* A's datagrams go through R1 and B's through R2, so each relay carries one direction. */
  forwarded1 = relay_process_metric (&f->relay, "lanrage_relay_forwarded_packets_total");
  forwarded2 = relay_process_metric (&f->relay2, "lanrage_relay_forwarded_packets_total");
  exchange (f, 97);
  g_assert_cmpint (relay_process_metric (&f->relay, "lanrage_relay_forwarded_packets_total") -
                   forwarded1, >=, 16);
  g_assert_cmpint (relay_process_metric (&f->relay2, "lanrage_relay_forwarded_packets_total") -
                   forwarded2, >=, 16);
  /* The disco pings cross too: each pong goes back through the other relay. */
  g_assert_true (wait_until (f, latency_known, TIMEOUT_MS));

  /* B's relay goes away: B sends through R1, where it is bound already. */
  relay_process_stop (&f->relay2, SIGKILL);
  g_assert_true (wait_until (f, b_on_relay1, TIMEOUT_MS));
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint1);
  exchange (f, 97);
}

/* DATA comes from any relay the client is bound on; a relay that stops answering is dropped
 * from the bound set, and its DATA no longer taken. A UDP socket stands in for the second
 * relay so that the test can send from its address; a manual clock runs the half minute. */
static void
test_drop_binding (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(LrClock) clock = lr_clock_new_manual (g_get_real_time ());
  g_autofree char *token = relay_process_mint (&f->relay, PARTY, PEER_A, now_s () + 3600);
  g_autofree char *endpoint = NULL;
  g_autofree char *fake_endpoint = NULL;
  g_autoptr(GInetSocketAddress) local = NULL;
  guint8 frame[LR_RELAY_FRAME_HEADER_SIZE + 100], got[1600];
  struct sockaddr_in from;
  guint16 client_port;
  UdpClient fake;

  g_clear_object (&f->a);
  f->a = lrd_relay_client_new (clock, ntohs (f->wg_a.addr.sin_port));
  relay_process_start (&f->relay, NULL);
  endpoint = endpoint_of (&f->relay);
  udp_client_init (&fake, "127.0.0.1");
  fake_endpoint = g_strdup_printf ("127.0.0.1:%u", ntohs (fake.addr.sin_port));
  lrd_relay_client_set_candidates (f->a, (const char * const[]) {
    endpoint, fake_endpoint, NULL });
  lrd_relay_client_set_token (f->a, token, (now_s () + 3600) * G_USEC_PER_SEC);
  f->a_for_b = add_peer (f->a, PEER_B);
  /* The real relay, listed first, must be the chosen one: the stand-in looks 50 ms away. */
  serve_fake_relay (&fake, 1500, 0, 50);
  g_assert_true (wait_until (f, a_bound, TIMEOUT_MS));
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint);

  local = lrd_relay_client_dup_relay_socket_address (f->a);
  client_port = g_inet_socket_address_get_port (local);
  lr_relay_frame_write_header (frame, LR_RELAY_FRAME_DATA, 0, PEER_B);
  fill (frame + LR_RELAY_FRAME_HEADER_SIZE, sizeof frame - LR_RELAY_FRAME_HEADER_SIZE, 5);
  udp_client_send (&fake, client_port, "127.0.0.1", frame, sizeof frame);
  g_assert_cmpint (receive (&f->wg_a, got, sizeof got, 2000, &from), ==,
                   sizeof frame - LR_RELAY_FRAME_HEADER_SIZE);
  g_assert_cmpmem (got, sizeof frame - LR_RELAY_FRAME_HEADER_SIZE,
                   frame + LR_RELAY_FRAME_HEADER_SIZE, sizeof frame - LR_RELAY_FRAME_HEADER_SIZE);
  g_assert_cmpuint (ntohs (from.sin_port), ==, f->a_for_b);

  /* The stand-in stops answering; the real relay goes on. Its re-BIND after 25 s and two
   * more go unanswered, and the binding is dropped. One second at a time, so the chosen
   * relay answers its keepalives in between. */
  for (guint i = 0; i < 32; i++)
    {
      lr_clock_advance (clock, G_USEC_PER_SEC);
      run_for (150);
    }
  g_assert_true (a_bound (f));
  g_assert_cmpstr (lrd_relay_client_get_relay (f->a), ==, endpoint);
  udp_client_send (&fake, client_port, "127.0.0.1", frame, sizeof frame);
  g_assert_cmpint (receive (&f->wg_a, got, sizeof got, 500, NULL), ==, -1);
  udp_client_clear (&fake);
}

static void
test_bad_candidates (void)
{
  g_autoptr(LrdRelayClient) client = lrd_relay_client_new (NULL, 51820);

  g_test_expect_message ("lanrage-helper", G_LOG_LEVEL_WARNING, "*Skipping relay candidate*");
  g_test_expect_message ("lanrage-helper", G_LOG_LEVEL_WARNING, "*Skipping relay candidate*");
  lrd_relay_client_set_candidates (client, (const char * const[]) {
    "no-port", "[::1", "127.0.0.1:3478", NULL });
  g_test_assert_expected_messages ();
  lrd_relay_client_set_candidates (client, NULL);
  g_assert_cmpint (lrd_relay_client_get_state (client), ==, LRD_RELAY_CLIENT_STOPPED);
  lrd_relay_client_stop (client);
  lrd_relay_client_stop (client);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lrd/relay-client/bad-candidates", test_bad_candidates);
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/lrd/relay-client/forward", test_forward);
  ADD ("/lrd/relay-client/counter-behind", test_counter_behind);
  ADD ("/lrd/relay-client/only-from-wireguard", test_only_from_wireguard);
  ADD ("/lrd/relay-client/first-packet", test_first_packet);
  ADD ("/lrd/relay-client/early-peer", test_early_peer);
  ADD ("/lrd/relay-client/failover", test_failover);
  ADD ("/lrd/relay-client/different-relays", test_different_relays);
  ADD ("/lrd/relay-client/drop-binding", test_drop_binding);
  ADD ("/lrd/relay-client/no-answer", test_no_answer);
  ADD ("/lrd/relay-client/token", test_token);
  ADD ("/lrd/relay-client/resolve", test_resolve);
  ADD ("/lrd/relay-client/token-expires-soon", test_token_expires_soon);
  ADD ("/lrd/relay-client/full", test_full);
  ADD ("/lrd/relay-client/revoked", test_revoked);
  ADD ("/lrd/relay-client/other-secret", test_other_secret);
  ADD ("/lrd/relay-client/relay-restart", test_relay_restart);
  ADD ("/lrd/relay-client/public-endpoint", test_public_endpoint);
  ADD ("/lrd/relay-client/peer-latency", test_peer_latency);
  ADD ("/lrd/relay-client/disco-ping", test_disco_ping);
  ADD ("/lrd/relay-client/call-me-maybe", test_call_me_maybe);
  ADD ("/lrd/relay-client/disco-forged", test_disco_forged);
  ADD ("/lrd/relay-client/wireguard-or-disco", test_wireguard_or_disco);
  ADD ("/lrd/relay-client/wireguard-roamed", test_wireguard_roamed);
  ADD ("/lrd/relay-client/garbage", test_garbage);
#undef ADD

  return g_test_run ();
}
