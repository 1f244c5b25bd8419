/* test-direct-lab.c: the direct path's pieces wired together behind real NATs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two hosts of the lab (lr-test-lab.h), each behind an nftables NAT of one kind with a
 * wireguard-go on port 51820, and lanrage-relay's STUN service on the lab's internet. For
 * each host the test process wires up what the helper's per-peer link will: an
 * LrdSharedPort on port 51820, an LrdNatProber for the public endpoint, disco messages
 * (lib/lr-disco.h) sealed with per-host keys, and an LrPathPolicy per peer whose actions it
 * carries out (pings through the shared port, WireGuard's endpoint through its UAPI). There
 * is no relay client here: "use the relay" is only recorded.
 *
 * For each pair of NATs: where hole punching can work both policies go direct (from port
 * 51820, so WireGuard's own handshake then passes both NATs and a ping crosses the tunnel);
 * where it cannot, both stay relayed and keep probing, never stuck. Behind "hostile" NATs
 * (no input drop rule, so a stale conntrack entry moves a mapping mid-punch: LAB.md) the
 * pair may end either way but never stuck, and direct only if the tunnel works (here it
 * ends relayed). For a port-restricted pair, an nftables rule then cuts the direct path:
 * both fall back within the policy's deadline, and go direct again by themselves once the
 * rule is gone. Needs root; skips otherwise.
 */
#define _GNU_SOURCE
#include "lrd-nat-prober.h"
#include "lrd-shared-port.h"
#include "lrd-test-util.h"

#include "lr-disco.h"
#include "lr-error.h"
#include "lr-path-policy.h"
#include "lr-test-lab.h"
#include "lr-test-wg.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#define WG_PORT 51820

typedef struct _Side Side;

struct _Side
{
  guint             index;
  const char       *host;
  char             *ifname;
  LrTestWgKeys      wg;
  guint8            disco_public[LR_DISCO_KEY_SIZE];
  guint8            disco_secret[LR_DISCO_KEY_SIZE];
  guint64           counter;
  LrDiscoSharedKey  shared;           /* with the peer, made once */
  LrDiscoReplay     replay;
  LrStunAddress     public_endpoint;
  LrdSharedPort    *port;
  LrClock          *clock;
  LrPathPolicy     *policy;
  GSource          *timer;
  GSubprocess      *wireguard;
  Side             *peer;
  gint64            last_direct_us;   /* monotonic time of the last USE_DIRECT, or 0 */
  gint64            last_relay_us;
};

typedef enum
{
  RELAYED,
  DIRECT,
  EITHER,     /* a hostile NAT: direct or relayed, never stuck, and direct must carry */
} Outcome;

typedef struct
{
  const char *a;
  const char *b;
  Outcome     outcome;
  gboolean    failover;
  gboolean    hostile;   /* routers without the home router's input drop rule (LAB.md) */
} Pair;

static const Pair pairs[] = {
  { "port-restricted", "port-restricted", DIRECT, TRUE, FALSE },
  { "restricted-cone", "restricted-cone", DIRECT, FALSE, FALSE },
  { "full-cone", "full-cone", DIRECT, FALSE, FALSE },
  { "full-cone", "symmetric", DIRECT, FALSE, FALSE },
  { "restricted-cone", "symmetric", DIRECT, FALSE, FALSE },
  { "port-restricted", "symmetric", RELAYED, FALSE, FALSE },
  { "symmetric", "symmetric", RELAYED, FALSE, FALSE },
  { "port-restricted", "port-restricted", EITHER, FALSE, TRUE },
};

typedef struct
{
  LrTestLab   *lab;
  char        *prefix;
  char        *log_path;
  GSubprocess *relay;
  Side         sides[2];
} Fixture;

static guint fixture_counter;

static void side_drive (Side *side);

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  const Pair *pair = data;
  const char *argv[] = { g_getenv ("LANRAGE_RELAY"), "--listen", "198.18.0.1:3478",
                         "--threads", "1", NULL };

  fixture->prefix = g_strdup_printf ("lrdl%u-%u", (guint) getpid () % 100000, ++fixture_counter);
  fixture->log_path = g_build_filename (g_get_tmp_dir (), "lrdl-lab.log", NULL);
  fixture->lab = lr_test_lab_new (fixture->prefix);
  fixture->relay = lr_test_lab_spawn (lr_test_lab_get_internet (fixture->lab), argv,
                                      fixture->log_path, G_SUBPROCESS_FLAGS_NONE);
  for (guint i = 0; i < 2; i++)
    {
      Side *side = &fixture->sides[i];

      side->index = i + 1;
      side->host = lr_test_lab_add_host (fixture->lab, side->index,
                                         lr_test_nat_find (i == 0 ? pair->a : pair->b));
      if (pair->hostile)
        {
          g_autofree char *router = g_strdup_printf ("%s-r%u", fixture->prefix, side->index);

          LR_TEST_LAB_RUN ("ip", "netns", "exec", router, "nft", "delete", "table", "inet",
                           "filter");
        }
      side->ifname = g_strdup_printf ("lrdl%u", side->index);
      side->peer = &fixture->sides[1 - i];
      side->clock = lr_clock_new_system ();
      side->counter = g_get_real_time ();
      crypto_box_keypair (side->disco_public, side->disco_secret);
      lr_test_wg_keys_generate (&side->wg);
    }
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  for (guint i = 0; i < 2; i++)
    {
      Side *side = &fixture->sides[i];

      if (side->timer != NULL)
        g_source_destroy (side->timer);
      g_clear_pointer (&side->timer, g_source_unref);
      if (side->port != NULL)
        g_signal_handlers_disconnect_by_data (side->port, side);
      g_clear_object (&side->port);
      g_clear_pointer (&side->policy, lr_path_policy_free);
      g_clear_pointer (&side->clock, lr_clock_unref);
      lr_disco_shared_key_clear (&side->shared);
      lr_test_lab_stop (&side->wireguard);
      g_free (side->ifname);
    }
  lr_test_lab_stop (&fixture->relay);
  lr_test_lab_kill_stragglers (fixture->lab);
  g_clear_pointer (&fixture->lab, lr_test_lab_free);
  lr_test_lab_flush_log (fixture->log_path);
  g_free (fixture->log_path);
  g_free (fixture->prefix);
}

static void
send_disco (Side                *side,
            const LrDiscoMessage *message,
            const LrStunAddress  *to)
{
  g_autoptr(GError) error = NULL;
  guint8 nonce[LR_DISCO_NONCE_SIZE];
  guint8 packet[LR_DISCO_MAX_SIZE];
  gsize length;

  lr_disco_nonce_make (side->counter++, nonce);
  length = lr_disco_seal_shared (message, side->disco_public, &side->shared, nonce, packet,
                                 sizeof packet);
  g_assert_cmpuint (length, >, 0);
  /* A candidate may be unroutable from here (the peer's LAN address): a lost ping. */
  if (!lrd_shared_port_send (side->port, to, packet, length, &error))
    g_test_message ("host %u: %s", side->index, error->message);
}

static void
disco_received_cb (LrdSharedPort       *port,
                   const guint8        *data,
                   guint                length,
                   const LrStunAddress *from,
                   gpointer             user_data)
{
  Side *side = user_data;
  guint8 sender[LR_DISCO_KEY_SIZE];
  LrDiscoMessage message;

  /* The helper looks the key up among the party's peers; here there is one. */
  if (!lr_disco_peek_sender (data, length, sender) ||
      memcmp (sender, side->peer->disco_public, LR_DISCO_KEY_SIZE) != 0 ||
      !lr_disco_open_shared (&message, data, length, side->peer->disco_public, &side->shared,
                             &side->replay, NULL))
    return;

  if (message.type == LR_DISCO_PING)
    {
      LrDiscoMessage pong = { .type = LR_DISCO_PONG, .observed = *from };

      memcpy (pong.transaction_id, message.transaction_id, LR_DISCO_TRANSACTION_SIZE);
      send_disco (side, &pong, from);
      lr_path_policy_ping_received (side->policy, from);
    }
  else if (message.type == LR_DISCO_PONG)
    {
      lr_path_policy_pong_received (side->policy, message.transaction_id, from);
    }
  side_drive (side);
}

static gboolean
timer_cb (gpointer user_data)
{
  Side *side = user_data;

  g_clear_pointer (&side->timer, g_source_unref);
  side_drive (side);
  return G_SOURCE_REMOVE;
}

/* What the peer link does: carry out every action, then wait for the next wake-up. */
static void
side_drive (Side *side)
{
  LrPathAction action;
  gint64 wake_us;

  while (lr_path_policy_next (side->policy, &action))
    {
      g_autofree char *text = lr_stun_address_to_string (&action.address);
      g_autofree char *allowed = g_strdup_printf ("10.66.0.%u/32", side->peer->index);
      LrDiscoMessage ping = { .type = LR_DISCO_PING };

      switch (action.type)
        {
        case LR_PATH_ACTION_PING:
          memcpy (ping.transaction_id, action.transaction_id, LR_DISCO_TRANSACTION_SIZE);
          send_disco (side, &ping, &action.address);
          break;
        case LR_PATH_ACTION_USE_DIRECT:
          lr_test_wg_set_peer (side->ifname, side->peer->wg.public_key, text, allowed);
          side->last_direct_us = g_get_monotonic_time ();
          break;
        case LR_PATH_ACTION_USE_RELAY:
        default:
          side->last_relay_us = g_get_monotonic_time ();
          break;
        }
    }

  if (side->timer != NULL)
    g_source_destroy (side->timer);
  g_clear_pointer (&side->timer, g_source_unref);
  wake_us = lr_path_policy_get_wake_us (side->policy);
  if (wake_us == G_MAXINT64)
    return;
  side->timer = g_timeout_source_new ((guint) CLAMP ((wake_us - lr_clock_now_us (side->clock) +
                                                      999) / 1000, 1, 60000));
  g_source_set_callback (side->timer, timer_cb, side, NULL);
  g_source_attach (side->timer, NULL);
}

static void
probe_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* wireguard-go, the shared port and the public endpoint of one host. */
static void
side_start (Fixture *fixture,
            Side    *side)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LrdNatProber) prober = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *address = g_strdup_printf ("10.66.0.%u/24", side->index);
  g_autofree char *allowed = g_strdup_printf ("10.66.0.%u/32", side->peer->index);
  LrNatTypeResult nat;
  LrStunAddress relay;

  side->wireguard = lr_test_wg_start (side->host, side->ifname, &side->wg, WG_PORT, address,
                                      fixture->log_path);
  g_assert_true (lrd_test_enter_netns (side->host));
  side->port = lrd_shared_port_new (WG_PORT, &error);
  lrd_test_leave_netns ();
  g_assert_no_error (error);

  prober = lrd_nat_prober_new (side->port, side->clock);
  g_assert_true (lr_stun_address_parse (&relay, "198.18.0.1:3478"));
  for (guint attempt = 0; ; attempt++)
    {
      lrd_nat_prober_probe_async (prober, &relay, NULL, probe_done_cb, &result);
      result = lrd_test_wait (&result);
      lrd_nat_prober_probe_finish (prober, result, &nat, &error);
      g_assert_no_error (error);
      g_clear_object (&result);
      /* The relay may still be starting. */
      if (nat.reachable)
        break;
      g_assert_cmpuint (attempt, <, 3);
    }
  side->public_endpoint = nat.public_endpoint;
  g_signal_connect (side->port, "disco-received", G_CALLBACK (disco_received_cb), side);
}

static void
side_start_policy (Side *side)
{
  g_assert_true (lr_disco_shared_key_init (&side->shared, side->peer->disco_public,
                                           side->disco_secret));
  g_autofree char *lan = g_strdup_printf ("192.168.%u.2:%u", side->peer->index, WG_PORT);
  LrPathCandidate candidates[2] = { { .kind = LR_PATH_CANDIDATE_PUBLIC },
                                    { .kind = LR_PATH_CANDIDATE_LAN } };

  /* What call-me-maybe would carry: the peer's STUN address and its LAN address. */
  candidates[0].address = side->peer->public_endpoint;
  g_assert_true (lr_stun_address_parse (&candidates[1].address, lan));
  side->policy = lr_path_policy_new (side->clock);
  lr_path_policy_set_candidates (side->policy, candidates, 2);
  side_drive (side);
}

static void
iterate (void)
{
  if (!g_main_context_iteration (NULL, FALSE))
    g_usleep (1000);
}

static gboolean
both_in (Fixture     *fixture,
         LrPathState  state)
{
  return lr_path_policy_get_state (fixture->sides[0].policy) == state &&
         lr_path_policy_get_state (fixture->sides[1].policy) == state;
}

/* Runs the main loop until both policies are in @state, or @timeout_us passed. */
static gboolean
wait_both (Fixture     *fixture,
           LrPathState  state,
           gint64       timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;

  while (!both_in (fixture, state) && g_get_monotonic_time () < deadline)
    iterate ();
  return both_in (fixture, state);
}

static void
run_for (gint64 us)
{
  gint64 until = g_get_monotonic_time () + us;

  while (g_get_monotonic_time () < until)
    iterate ();
}

static gboolean
tunnel_pings (Fixture *fixture)
{
  for (guint attempt = 0; attempt < 5; attempt++)
    {
      /* The main loop keeps the heartbeats going between tries. */
      run_for (100 * G_TIME_SPAN_MILLISECOND);
      if (lr_test_lab_run (NULL, NULL, NULL, "ip", "netns", "exec", fixture->sides[0].host,
                           "ping", "-n", "-q", "-c", "1", "-W", "1", "10.66.0.2", NULL))
        return TRUE;
    }
  return FALSE;
}

static void
cut (Fixture  *fixture,
     gboolean  on)
{
  g_autofree char *router = g_strdup_printf ("%s-r1", fixture->prefix);
  g_autoptr(GError) error = NULL;
  static const char rule[] =
    "table inet lrcut {\n"
    "  chain forward { type filter hook forward priority -10; "
    "ip saddr 198.18.0.12 drop; ip daddr 198.18.0.12 drop; }\n"
    "}\n";

  if (on)
    lr_test_lab_run (rule, NULL, &error, "ip", "netns", "exec", router, "nft", "-f", "-",
                     NULL);
  else
    lr_test_lab_run (NULL, NULL, &error, "ip", "netns", "exec", router, "nft", "delete",
                     "table", "inet", "lrcut", NULL);
  g_assert_no_error (error);
}

static void
test_pair (Fixture       *fixture,
           gconstpointer  data)
{
  const Pair *pair = data;
  LrPathMetrics metrics[2];
  gint64 started;

  for (guint i = 0; i < 2; i++)
    side_start (fixture, &fixture->sides[i]);

  /* Both learn of each other at once, as they would from the party's events. */
  started = g_get_monotonic_time ();
  side_start_policy (&fixture->sides[0]);
  side_start_policy (&fixture->sides[1]);

  if (pair->outcome == EITHER)
    {
      run_for (12 * G_TIME_SPAN_SECOND);
      for (guint i = 0; i < 2; i++)
        lr_path_policy_get_metrics (fixture->sides[i].policy, &metrics[i]);
      g_test_message ("%s + %s (hostile): host 1 %s, host 2 %s after 12 s; %u and %u "
                      "fallbacks", pair->a, pair->b,
                      lr_path_state_to_string (lr_path_policy_get_state (
                        fixture->sides[0].policy)),
                      lr_path_state_to_string (lr_path_policy_get_state (
                        fixture->sides[1].policy)),
                      metrics[0].n_fallbacks, metrics[1].n_fallbacks);
      for (guint i = 0; i < 2; i++)
        g_assert_cmpint (lr_path_policy_get_state (fixture->sides[i].policy), !=,
                         LR_PATH_CONNECTING);
      /* Direct only where the path carries the tunnel. */
      if (both_in (fixture, LR_PATH_DIRECT))
        g_assert_true (tunnel_pings (fixture));
      return;
    }

  if (pair->outcome == RELAYED)
    {
      g_assert_false (wait_both (fixture, LR_PATH_DIRECT, 12 * G_TIME_SPAN_SECOND));
      for (guint i = 0; i < 2; i++)
        {
          g_assert_cmpint (lr_path_policy_get_state (fixture->sides[i].policy), ==,
                           LR_PATH_RELAYED);
          lr_path_policy_get_metrics (fixture->sides[i].policy, &metrics[i]);
          g_assert_cmpuint (metrics[i].n_direct, ==, 0);
          /* Still trying: at once, then every 2 s. */
          g_assert_cmpuint (metrics[i].n_probe_rounds, >=, 6);
        }
      g_test_message ("%s + %s: relayed, %u and %u probe rounds in 12 s", pair->a, pair->b,
                      metrics[0].n_probe_rounds, metrics[1].n_probe_rounds);
      return;
    }

  g_assert_true (wait_both (fixture, LR_PATH_DIRECT, 10 * G_TIME_SPAN_SECOND));
  g_test_message ("%s + %s: both direct %.0f ms after they learnt of each other", pair->a,
                  pair->b,
                  (MAX (fixture->sides[0].last_direct_us, fixture->sides[1].last_direct_us) -
                   started) / 1000.0);
  /* WireGuard's own handshake and data take the punched path. */
  g_assert_true (tunnel_pings (fixture));

  if (!pair->failover)
    return;

  {
    gint64 cut_at, back_at;

    cut_at = g_get_monotonic_time ();
    cut (fixture, TRUE);
    g_assert_true (wait_both (fixture, LR_PATH_RELAYED, 5 * G_TIME_SPAN_SECOND));
    g_test_message ("cut: host 1 on the relay after %.0f ms, host 2 after %.0f ms",
                    (fixture->sides[0].last_relay_us - cut_at) / 1000.0,
                    (fixture->sides[1].last_relay_us - cut_at) / 1000.0);
    for (guint i = 0; i < 2; i++)
      g_assert_cmpint (fixture->sides[i].last_relay_us - cut_at, <=,
                       LR_PATH_DEAD_US + 500 * G_TIME_SPAN_MILLISECOND);

    back_at = g_get_monotonic_time ();
    cut (fixture, FALSE);
    g_assert_true (wait_both (fixture, LR_PATH_DIRECT, 15 * G_TIME_SPAN_SECOND));
    g_test_message ("cut removed: both direct again after %.0f ms",
                    (MAX (fixture->sides[0].last_direct_us, fixture->sides[1].last_direct_us) -
                     back_at) / 1000.0);
    g_assert_true (tunnel_pings (fixture));
    for (guint i = 0; i < 2; i++)
      {
        lr_path_policy_get_metrics (fixture->sides[i].policy, &metrics[i]);
        g_assert_cmpuint (metrics[i].n_fallbacks, ==, 1);
      }
  }
}

int
main (int   argc,
      char *argv[])
{
  static const char * const programs[] = { "ip", "nft", "wireguard-go", "ping", NULL };
  const char *reason;

  if (g_getenv ("LANRAGE_RELAY") == NULL)
    return lrd_test_skip ("LANRAGE_RELAY is not set (meson test sets it)");
  reason = lr_test_lab_prepare (programs);
  if (reason != NULL)
    return lrd_test_skip (reason);

  g_test_init (&argc, &argv, NULL);
  lr_init ();

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_autofree char *path = g_strdup_printf ("/lrd/direct/lab/%s+%s%s", pairs[i].a,
                                               pairs[i].b, pairs[i].hostile ? "/hostile" : "");

      g_test_add (path, Fixture, &pairs[i], fixture_set_up, test_pair, fixture_tear_down);
    }

  return g_test_run ();
}
