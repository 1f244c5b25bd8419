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
 * rule is gone.
 *
 * Call-me-maybe through the relay: the helper's own LrdDiscoRouter and LrdRelayClient on
 * each host, bound on the lab's lanrage-relay; one host knows nothing of the other's
 * addresses until the other's call-me-maybe comes through the relay, and then probes them
 * from its shared port and goes direct. Needs root; skips otherwise.
 */
#define _GNU_SOURCE
#include "lrd-disco-router.h"
#include "lrd-nat-prober.h"
#include "lrd-relay-client.h"
#include "lrd-shared-port.h"
#include "lrd-test-util.h"

#include "lr-disco.h"
#include "lr-error.h"
#include "lr-path-policy.h"
#include "lr-relay-token.h"
#include "lr-token.h"
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
  char        *secret_path;  /* the relay's secret, to mint relay tokens with */
  GBytes      *secret;
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
  g_autoptr(GError) error = NULL;
  const char *argv[] = { g_getenv ("LANRAGE_RELAY"), "--listen", "198.18.0.1:3478",
                         "--threads", "1", "--relay-secret-file", NULL, NULL };

  fixture->prefix = g_strdup_printf ("lrdl%u-%u", (guint) getpid () % 100000, ++fixture_counter);
  fixture->log_path = g_build_filename (g_get_tmp_dir (), "lrdl-lab.log", NULL);
  fixture->secret_path = g_strdup_printf ("%s/%s-relay-secret", g_get_tmp_dir (),
                                          fixture->prefix);
  g_assert_true (lr_secret_create_file (fixture->secret_path, &error));
  fixture->secret = lr_secret_load_file (fixture->secret_path, &error);
  g_assert_no_error (error);
  argv[6] = fixture->secret_path;
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
  g_unlink (fixture->secret_path);
  g_free (fixture->secret_path);
  g_clear_pointer (&fixture->secret, g_bytes_unref);
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

/* Call-me-maybe through the relay */

#define CMM_PARTY "00000000000000aa"

typedef struct
{
  Side           *side;
  LrdRelayClient *relay;
  LrdDiscoRouter *router;
  LrKey           peer_key;
  guint           pings_from_peer;   /* direct pings, from the shared port */
  LrStunAddress   last_ping_from;
  gboolean        direct;
  LrStunAddress   direct_to;
} CmmSide;

static void cmm_drive (CmmSide *cmm);

static void
cmm_disco_cb (const LrDiscoMessage *message,
              const LrStunAddress  *from,
              gpointer              user_data)
{
  CmmSide *cmm = user_data;

  if (message == NULL)
    return;
  if (message->type == LR_DISCO_CALL_ME_MAYBE && from == NULL && cmm->side->policy != NULL)
    {
      LrPathCandidate candidates[LR_PATH_MAX_CANDIDATES];

      for (guint i = 0; i < message->n_candidates; i++)
        {
          candidates[i].address = message->candidates[i];
          candidates[i].kind = message->candidates[i].address[0] == 192
                                 ? LR_PATH_CANDIDATE_LAN : LR_PATH_CANDIDATE_PUBLIC;
        }
      lr_path_policy_set_candidates (cmm->side->policy, candidates, message->n_candidates);
    }
  else if (message->type == LR_DISCO_PING && from != NULL)
    {
      cmm->pings_from_peer++;
      cmm->last_ping_from = *from;
    }
  else if (message->type == LR_DISCO_PONG && from != NULL && cmm->side->policy != NULL)
    lr_path_policy_pong_received (cmm->side->policy, message->transaction_id, from);
  cmm_drive (cmm);
}

/* What the helper's LrdPeerLink does with its policy's actions, pings through the router. */
static void
cmm_drive (CmmSide *cmm)
{
  LrPathAction action;

  if (cmm->side->policy == NULL)
    return;
  while (lr_path_policy_next (cmm->side->policy, &action))
    {
      if (action.type == LR_PATH_ACTION_PING)
        {
          LrDiscoMessage ping = { .type = LR_DISCO_PING };
          g_autoptr(GError) error = NULL;

          memcpy (ping.transaction_id, action.transaction_id, LR_DISCO_TRANSACTION_SIZE);
          if (!lrd_disco_router_send (cmm->router, &cmm->peer_key, &ping, &action.address,
                                      &error))
            g_test_message ("ping: %s", error->message);
        }
      else if (action.type == LR_PATH_ACTION_USE_DIRECT)
        {
          cmm->direct = TRUE;
          cmm->direct_to = action.address;
        }
    }
}

/* The host's relay client (its sockets in the host's namespace) and disco router. */
static void
cmm_side_start (Fixture *fixture,
                CmmSide *cmm,
                Side    *side,
                guint64  peer_number)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *peer_id = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", peer_number);
  g_autofree char *token = lr_relay_token_mint (fixture->secret, CMM_PARTY, peer_id,
                                                g_get_real_time () / G_USEC_PER_SEC + 3600,
                                                &error);
  LrKey own_public, own_secret;

  g_assert_no_error (error);
  cmm->side = side;
  memcpy (own_public.bytes, side->disco_public, LR_DISCO_KEY_SIZE);
  memcpy (own_secret.bytes, side->disco_secret, LR_DISCO_KEY_SIZE);
  memcpy (cmm->peer_key.bytes, side->peer->disco_public, LR_DISCO_KEY_SIZE);
  /* The hand-made disco of the other cases gives way to the helper's router. */
  g_signal_handlers_disconnect_by_data (side->port, side);

  cmm->relay = lrd_relay_client_new (NULL, WG_PORT);
  lrd_relay_client_set_candidates (cmm->relay, (const char * const[]) { "198.18.0.1:3478",
                                                                         NULL });
  g_assert_true (lrd_test_enter_netns (side->host));
  lrd_relay_client_set_token (cmm->relay, token,
                              (g_get_real_time () / G_USEC_PER_SEC + 3600) * G_USEC_PER_SEC);
  lrd_test_leave_netns ();
  cmm->router = lrd_disco_router_new (side->port, cmm->relay, &own_public, &own_secret, NULL);
  g_assert_true (lrd_disco_router_has_direct (cmm->router));
}

static gboolean
cmm_bound (CmmSide *cmm)
{
  return lrd_relay_client_get_state (cmm->relay) == LRD_RELAY_CLIENT_BOUND;
}

static void
test_call_me_maybe (Fixture       *fixture,
                    gconstpointer  data)
{
  Side *a = &fixture->sides[0], *b = &fixture->sides[1];
  CmmSide cmm_a = { 0 }, cmm_b = { 0 };
  LrDiscoMessage call = { .type = LR_DISCO_CALL_ME_MAYBE };
  g_autofree char *lan = g_strdup_printf ("192.168.%u.2:%u", a->index, WG_PORT);
  g_autofree char *a_public = NULL;
  g_autofree char *direct_to = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline;

  side_start (fixture, a);
  side_start (fixture, b);
  cmm_side_start (fixture, &cmm_a, a, 1);
  cmm_side_start (fixture, &cmm_b, b, 2);
  g_assert_true (lrd_disco_router_add_peer (cmm_a.router, &cmm_a.peer_key, 2, cmm_disco_cb,
                                            &cmm_a));
  g_assert_true (lrd_disco_router_add_peer (cmm_b.router, &cmm_b.peer_key, 1, cmm_disco_cb,
                                            &cmm_b));
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!(cmm_bound (&cmm_a) && cmm_bound (&cmm_b)) && g_get_monotonic_time () < deadline)
    iterate ();
  g_assert_true (cmm_bound (&cmm_a) && cmm_bound (&cmm_b));

  /* B has a path policy but no candidates for A: it probes nothing. */
  b->policy = lr_path_policy_new (b->clock);
  cmm_drive (&cmm_b);
  run_for (G_USEC_PER_SEC);
  cmm_drive (&cmm_b);
  g_assert_cmpuint (cmm_a.pings_from_peer, ==, 0);
  g_assert_false (cmm_b.direct);

  /* A's call-me-maybe through the relay: its public endpoint (its NAT is a full cone, so a
   * ping from anywhere passes) and its LAN address (unreachable from B's LAN). */
  call.candidates[call.n_candidates++] = a->public_endpoint;
  g_assert_true (lr_stun_address_parse (&call.candidates[call.n_candidates++], lan));
  g_assert_true (lrd_disco_router_send (cmm_a.router, &cmm_a.peer_key, &call, NULL, &error));
  g_assert_no_error (error);

  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!cmm_b.direct && g_get_monotonic_time () < deadline)
    {
      iterate ();
      cmm_drive (&cmm_b);
    }
  a_public = lr_stun_address_to_string (&a->public_endpoint);
  g_assert_true (cmm_b.direct);
  direct_to = lr_stun_address_to_string (&cmm_b.direct_to);
  g_assert_cmpstr (direct_to, ==, a_public);
  /* A's router saw B's pings arrive on WireGuard's port, from B's public endpoint. */
  g_assert_cmpuint (cmm_a.pings_from_peer, >=, 1);
  g_assert_true (lr_stun_address_equal (&cmm_a.last_ping_from, &b->public_endpoint));
  g_test_message ("B went direct to %s after A's call-me-maybe through the relay",
                  direct_to);

  g_clear_object (&cmm_a.router);
  g_clear_object (&cmm_b.router);
  lrd_relay_client_stop (cmm_a.relay);
  lrd_relay_client_stop (cmm_b.relay);
  g_clear_object (&cmm_a.relay);
  g_clear_object (&cmm_b.relay);
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
  {
    /* A behind a full cone, B behind a port-restricted NAT: B's ping passes A's NAT
     * without A probing back. */
    static const Pair cmm_pair = { "full-cone", "port-restricted", DIRECT, FALSE, FALSE };

    g_test_add ("/lrd/direct/lab/call-me-maybe-through-relay", Fixture, &cmm_pair,
                fixture_set_up, test_call_me_maybe, fixture_tear_down);
  }

  return g_test_run ();
}
