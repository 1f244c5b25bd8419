/* test-path-policy.c: the per-peer path state machine over hours of protocol time
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A simulated network stands in for the peer: each candidate address is reachable or not,
 * with a round trip, a loss pattern and the address its pongs come from. The policy runs on
 * a manual clock; the simulation carries out its actions (a ping to a reachable address
 * comes back as a pong one round trip later) and jumps the clock to the next event, so
 * hours take milliseconds.
 */
#include "lr-error.h"
#include "lr-path-policy.h"

#include <string.h>

#define MS G_TIME_SPAN_MILLISECOND
#define S  G_TIME_SPAN_SECOND

typedef struct
{
  LrStunAddress address;
  LrStunAddress answers_from;
  gboolean      reachable;
  gint64        rtt_us;
  guint         lost_per_20;   /* pings lost out of every 20, spread evenly */
  guint         count;
} Path;

typedef struct
{
  gint64        at_us;
  guint8        id[LR_PATH_TRANSACTION_SIZE];
  LrStunAddress from;
} Pong;

typedef struct
{
  gint64           at_us;
  LrPathActionType type;
  LrStunAddress    address;
} Event;

typedef struct
{
  LrClock      *clock;
  LrPathPolicy *policy;
  gint64        start_us;
  Path          paths[8];
  guint         n_paths;
  GArray       *in_flight;     /* Pong, unordered */
  GArray        *events;        /* Event: every action, in order */
} Sim;

static void
sim_init (Sim *sim)
{
  memset (sim, 0, sizeof *sim);
  sim->start_us = 1700000000 * S;
  sim->clock = lr_clock_new_manual (sim->start_us);
  sim->policy = lr_path_policy_new (sim->clock);
  sim->in_flight = g_array_new (FALSE, FALSE, sizeof (Pong));
  sim->events = g_array_new (FALSE, FALSE, sizeof (Event));
}

static void
sim_clear (Sim *sim)
{
  lr_path_policy_free (sim->policy);
  lr_clock_unref (sim->clock);
  g_array_unref (sim->in_flight);
  g_array_unref (sim->events);
}

static gint64
sim_now (Sim *sim)
{
  return lr_clock_now_us (sim->clock) - sim->start_us;
}

static Path *
sim_add_path (Sim        *sim,
              const char *address,
              gboolean    reachable,
              gint64      rtt_us)
{
  Path *path = &sim->paths[sim->n_paths++];

  g_assert_true (lr_stun_address_parse (&path->address, address));
  path->answers_from = path->address;
  path->reachable = reachable;
  path->rtt_us = rtt_us;
  return path;
}

static void
sim_set_candidates (Sim                 *sim,
                    LrPathCandidateKind  kinds[])
{
  LrPathCandidate candidates[8];

  for (guint i = 0; i < sim->n_paths; i++)
    {
      candidates[i].address = sim->paths[i].address;
      candidates[i].kind = kinds != NULL ? kinds[i] : LR_PATH_CANDIDATE_PUBLIC;
    }
  lr_path_policy_set_candidates (sim->policy, candidates, sim->n_paths);
}

static void
sim_carry_out (Sim                *sim,
               const LrPathAction *action)
{
  Event event = { .at_us = sim_now (sim), .type = action->type, .address = action->address };

  g_array_append_val (sim->events, event);
  if (action->type != LR_PATH_ACTION_PING)
    return;
  for (guint i = 0; i < sim->n_paths; i++)
    {
      Path *path = &sim->paths[i];
      Pong pong;

      if (!lr_stun_address_equal (&path->address, &action->address))
        continue;
      if (!path->reachable || (path->count++ * path->lost_per_20) % 20 < path->lost_per_20)
        return;
      pong.at_us = lr_clock_now_us (sim->clock) + path->rtt_us;
      memcpy (pong.id, action->transaction_id, LR_PATH_TRANSACTION_SIZE);
      pong.from = path->answers_from;
      g_array_append_val (sim->in_flight, pong);
      return;
    }
}

/* Runs the policy until @until_us (since the start). */
static void
sim_run_until (Sim    *sim,
               gint64  until_us)
{
  gint64 until = sim->start_us + until_us;

  for (guint64 steps = 0;; steps++)
    {
      LrPathAction action;
      gint64 now = lr_clock_now_us (sim->clock);
      gint64 next;
      gboolean delivered = FALSE;

      g_assert_cmpuint (steps, <, 100000000);
      while (lr_path_policy_next (sim->policy, &action))
        sim_carry_out (sim, &action);

      next = MIN (lr_path_policy_get_wake_us (sim->policy), until);
      for (guint i = 0; i < sim->in_flight->len; i++)
        next = MIN (next, g_array_index (sim->in_flight, Pong, i).at_us);
      g_assert_cmpint (next, >=, now);
      lr_clock_advance (sim->clock, next - now);

      for (guint i = 0; i < sim->in_flight->len;)
        {
          Pong pong = g_array_index (sim->in_flight, Pong, i);

          if (pong.at_us > next)
            {
              i++;
              continue;
            }
          g_array_remove_index_fast (sim->in_flight, i);
          lr_path_policy_pong_received (sim->policy, pong.id, &pong.from);
          delivered = TRUE;
        }
      if (next >= until && !delivered)
        {
          while (lr_path_policy_next (sim->policy, &action))
            sim_carry_out (sim, &action);
          return;
        }
    }
}

/* The time of the n-th (0-based) action of @type at or after @after_us, or -1. */
static gint64
sim_find (Sim              *sim,
          LrPathActionType  type,
          gint64            after_us,
          guint             n)
{
  for (guint i = 0; i < sim->events->len; i++)
    {
      const Event *event = &g_array_index (sim->events, Event, i);

      if (event->type == type && event->at_us >= after_us && n-- == 0)
        return event->at_us;
    }
  return -1;
}

static guint
sim_count (Sim              *sim,
           LrPathActionType  type,
           gint64            from_us,
           gint64            to_us)
{
  guint count = 0;

  for (guint i = 0; i < sim->events->len; i++)
    {
      const Event *event = &g_array_index (sim->events, Event, i);

      if (event->type == type && event->at_us >= from_us && event->at_us < to_us)
        count++;
    }
  return count;
}

static const Event *
sim_last_endpoint (Sim *sim)
{
  for (guint i = sim->events->len; i > 0; i--)
    {
      const Event *event = &g_array_index (sim->events, Event, i - 1);

      if (event->type != LR_PATH_ACTION_PING)
        return event;
    }
  return NULL;
}

static const LrPathTransition *
last_transition (Sim *sim)
{
  guint n;
  const LrPathTransition *history = lr_path_policy_get_history (sim->policy, &n);

  g_assert_cmpuint (n, >, 0);
  return &history[n - 1];
}

static void
test_start_relayed (void)
{
  Sim sim;
  LrPathAction action;
  const LrPathTransition *history;
  guint n;

  sim_init (&sim);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_CONNECTING);
  g_assert_true (lr_path_policy_next (sim.policy, &action));
  g_assert_cmpint (action.type, ==, LR_PATH_ACTION_USE_RELAY);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);
  g_assert_false (lr_path_policy_next (sim.policy, &action));
  history = lr_path_policy_get_history (sim.policy, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpint (history[0].from, ==, LR_PATH_CONNECTING);
  g_assert_cmpint (history[0].to, ==, LR_PATH_RELAYED);
  g_assert_cmpstr (history[0].reason, ==, "start on the relay");

  /* Nothing to probe: nothing to do, ever. */
  g_assert_cmpint (lr_path_policy_get_wake_us (sim.policy), ==, G_MAXINT64);
  sim_run_until (&sim, 3600 * S);
  g_assert_cmpuint (sim.events->len, ==, 0);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);
  sim_clear (&sim);
}

/* Unreachable candidates: at once, again 0.5 s later, every 2 s for 10 s, then backing off
 * to a minute. */
static void
test_probe_schedule (void)
{
  /* In ms */
  static const gint64 want[] = { 0, 500, 2500, 4500, 6500, 8500, 10500, 14500, 22500, 38500,
                                 70500, 130500, 190500 };
  g_autoptr(GArray) rounds = g_array_new (FALSE, FALSE, sizeof (gint64));
  LrPathMetrics metrics;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", FALSE, 0);
  sim_add_path (&sim, "192.168.1.7:51820", FALSE, 0);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 2 * 3600 * S);

  for (guint i = 0; i < sim.events->len; i++)
    {
      const Event *event = &g_array_index (sim.events, Event, i);

      if (event->type != LR_PATH_ACTION_PING)
        continue;
      if (rounds->len == 0 || g_array_index (rounds, gint64, rounds->len - 1) != event->at_us)
        g_array_append_val (rounds, event->at_us);
    }
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpint (g_array_index (rounds, gint64, i), ==, want[i] * MS);
  for (guint i = 1; i < rounds->len; i++)
    g_assert_cmpint (g_array_index (rounds, gint64, i) - g_array_index (rounds, gint64, i - 1),
                     <=, LR_PATH_PROBE_MAX_US);
  /* Both candidates in every round. */
  g_assert_cmpuint (sim_count (&sim, LR_PATH_ACTION_PING, 0, G_MAXINT64), ==, 2 * rounds->len);
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_probe_rounds, ==, rounds->len);
  /* Eleven rounds before 130.5 s, then one a minute. */
  g_assert_cmpuint (rounds->len, ==, 11 + (2 * 3600 * S - 130500 * MS) / (60 * S) + 1);
  g_assert_cmpuint (metrics.n_direct, ==, 0);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);
  sim_clear (&sim);
}

static void
test_first_pong (void)
{
  LrStunAddress endpoint;
  LrPathMetrics metrics;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 20 * MS);
  sim_add_path (&sim, "192.168.1.7:51820", FALSE, 0);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 100 * MS);

  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_DIRECT);
  g_assert_cmpint (sim_find (&sim, LR_PATH_ACTION_USE_RELAY, 0, 0), ==, 0);
  g_assert_cmpint (sim_find (&sim, LR_PATH_ACTION_USE_DIRECT, 0, 0), ==, 20 * MS);
  g_assert_true (lr_path_policy_get_endpoint (sim.policy, &endpoint));
  g_assert_true (lr_stun_address_equal (&endpoint, &sim.paths[0].address));
  g_assert_true (lr_stun_address_equal (&sim_last_endpoint (&sim)->address, &endpoint));
  g_assert_cmpint (last_transition (&sim)->time_us - sim.start_us, ==, 20 * MS);
  g_assert_cmpstr (last_transition (&sim)->reason, ==, "pong from 198.51.100.7:51820");
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_direct, ==, 1);
  g_assert_cmpfloat_with_epsilon (metrics.latency_ms, 20.0, 0.01);
  sim_clear (&sim);
}

/* Heartbeats every 250 ms; a cut falls back within the deadline; the path comes back. */
static void
test_failover (void)
{
  LrPathMetrics metrics;
  gint64 fallback, back;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 1 * MS);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 10 * S);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_DIRECT);
  /* One ping at the start, then one heartbeat every 250 ms. */
  g_assert_cmpuint (sim_count (&sim, LR_PATH_ACTION_PING, 1 * S, 10 * S), ==, 36);

  sim.paths[0].reachable = FALSE;
  sim_run_until (&sim, 20 * S);
  fallback = sim_find (&sim, LR_PATH_ACTION_USE_RELAY, 10 * S, 0);
  g_test_message ("cut at 10 s, on the relay at %.3f s", fallback / 1e6);
  g_assert_cmpint (fallback, >, 10 * S);
  g_assert_cmpint (fallback - 10 * S, <=, LR_PATH_DEAD_US);
  g_assert_nonnull (strstr (last_transition (&sim)->reason, "no pong from 198.51.100.7:51820"));
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);

  sim.paths[0].reachable = TRUE;
  sim_run_until (&sim, 40 * S);
  back = sim_find (&sim, LR_PATH_ACTION_USE_DIRECT, 20 * S, 0);
  g_test_message ("path back at 20 s, direct again at %.3f s", back / 1e6);
  g_assert_cmpint (back, >, 20 * S);
  g_assert_cmpint (back - 20 * S, <=, LR_PATH_PROBE_FAST_US + 1 * MS);
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_fallbacks, ==, 1);
  g_assert_cmpuint (metrics.n_direct, ==, 2);
  sim_clear (&sim);
}

/* A pong that comes during a hold-down is kept for a few seconds: the path goes direct when
 * the hold-down ends, with that pong's round trip as its first latency. */
static void
test_pong_during_hold_down (void)
{
  LrPathMetrics metrics;
  gint64 at;
  guint round;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 30 * MS);
  sim_set_candidates (&sim, NULL);
  /* Three short direct paths in a row, 25 s apart (under the cap of switches a minute): the
   * third fallback holds the path for 4 s. */
  for (round = 0; round < 3; round++)
    {
      at = sim_now (&sim);
      sim.paths[0].reachable = TRUE;
      sim_run_until (&sim, at + 5 * S);
      g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_DIRECT);
      sim.paths[0].reachable = FALSE;
      sim_run_until (&sim, at + (round < 2 ? 25 : 7) * S);
      g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);
    }
  /* The fallback was at about at + 5.9 s; the probes at +2 s answer, the hold-down ends
   * at +4 s. */
  sim.paths[0].reachable = TRUE;
  sim_run_until (&sim, at + 9 * S);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);
  sim_run_until (&sim, at + 11 * S);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_DIRECT);
  g_assert_cmpstr (last_transition (&sim)->reason, ==,
                   "pong (after the hold-down) from 198.51.100.7:51820");
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpfloat_with_epsilon (metrics.latency_ms, 30.0, 0.01);
  sim_clear (&sim);
}

/* A slow path gets a longer deadline: four round trips, not a fallback per heartbeat. */
static void
test_slow_path (void)
{
  LrPathMetrics metrics;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 600 * MS);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 3600 * S);
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_fallbacks, ==, 0);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_DIRECT);
  g_assert_cmpfloat_with_epsilon (metrics.latency_ms, 600.0, 1.0);
  sim_clear (&sim);
}

static gint64
first_ping_after (Sim    *sim,
                  gint64  after_us)
{
  return sim_find (sim, LR_PATH_ACTION_PING, after_us, 0);
}

static void
test_probe_at_once (void)
{
  LrPathCandidate more[3];
  gint64 changed;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", FALSE, 0);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 600 * S + 1);
  /* Backed off to a minute by now. */
  g_assert_cmpint (first_ping_after (&sim, 600 * S + 1), ==, -1);

  changed = sim_now (&sim);
  lr_path_policy_network_changed (sim.policy);
  sim_run_until (&sim, changed + 11 * S);
  g_assert_cmpint (first_ping_after (&sim, changed), ==, changed);
  /* Again 0.5 s later, and every 2 s again. */
  g_assert_cmpint (first_ping_after (&sim, changed + 1), ==, changed + 500 * MS);
  g_assert_cmpuint (sim_count (&sim, LR_PATH_ACTION_PING, changed, changed + 11 * S), ==, 7);

  /* The same candidates again: nothing new. New ones: at once. */
  sim_run_until (&sim, 2000 * S + 1);
  changed = sim_now (&sim);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, changed + 1 * S);
  g_assert_cmpint (first_ping_after (&sim, changed), ==, -1);
  sim_add_path (&sim, "192.168.1.7:51820", FALSE, 0);
  memset (more, 0, sizeof more);
  more[0].address = sim.paths[0].address;
  more[1].address = sim.paths[1].address;
  more[1].kind = LR_PATH_CANDIDATE_LAN;
  lr_path_policy_set_candidates (sim.policy, more, 2);
  changed = sim_now (&sim);
  sim_run_until (&sim, changed + 1 * S);
  g_assert_cmpint (first_ping_after (&sim, changed), ==, changed);
  g_assert_cmpuint (sim_count (&sim, LR_PATH_ACTION_PING, changed, changed + 1), ==, 2);
  sim_clear (&sim);
}

static void
check_lan_preferred (gint64 lan_rtt,
                     gint64 public_rtt,
                     gint64 lan_from)
{
  LrPathCandidateKind kinds[] = { LR_PATH_CANDIDATE_PUBLIC, LR_PATH_CANDIDATE_LAN };
  LrStunAddress endpoint;
  Path *lan;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, public_rtt);
  lan = sim_add_path (&sim, "192.168.1.7:51820", lan_from == 0, lan_rtt);
  sim_set_candidates (&sim, kinds);
  if (lan_from > 0)
    {
      sim_run_until (&sim, lan_from);
      g_assert_true (lr_path_policy_get_endpoint (sim.policy, &endpoint));
      g_assert_true (lr_stun_address_equal (&endpoint, &sim.paths[0].address));
      lan->reachable = TRUE;
    }
  sim_run_until (&sim, 3600 * S);
  g_assert_true (lr_path_policy_get_endpoint (sim.policy, &endpoint));
  g_assert_true (lr_stun_address_equal (&endpoint, &lan->address));
  g_assert_true (lr_stun_address_equal (&sim_last_endpoint (&sim)->address, &lan->address));
  /* Once on the LAN, nothing else is probed: only heartbeats to the LAN address. */
  for (guint i = 0; i < sim.events->len; i++)
    {
      const Event *event = &g_array_index (sim.events, Event, i);

      if (event->at_us > 3000 * S)
        g_assert_true (lr_stun_address_equal (&event->address, &lan->address));
    }
  sim_clear (&sim);
}

static void
test_lan_preferred (void)
{
  /* The LAN answers first; then the public address too, later: the LAN stays. */
  check_lan_preferred (1 * MS, 30 * MS, 0);
  /* The public address answers first; the LAN's pong moves the path. */
  check_lan_preferred (40 * MS, 10 * MS, 0);
  /* The LAN becomes reachable only later (the other host joined that LAN): found by the
   * backed-off probes of the LAN candidate while direct on the public address. */
  check_lan_preferred (1 * MS, 30 * MS, 300 * S);
}

/* Pongs answering from another address than pinged (the peer's NAT) and a mapping that
 * moves while direct: the endpoint follows, with no fallback. */
static void
test_answers_from_elsewhere (void)
{
  LrStunAddress endpoint, moved;
  LrPathMetrics metrics;
  Sim sim;

  sim_init (&sim);
  /* The candidate answers from its NAT's other mapping, which is reachable too. */
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 5 * MS);
  g_assert_true (lr_stun_address_parse (&sim.paths[0].answers_from, "198.51.100.7:40000"));
  sim_set_candidates (&sim, NULL);
  sim_add_path (&sim, "198.51.100.7:40000", TRUE, 5 * MS);
  sim_run_until (&sim, 1 * S);
  g_assert_true (lr_path_policy_get_endpoint (sim.policy, &endpoint));
  g_assert_true (lr_stun_address_equal (&endpoint, &sim.paths[1].address));

  /* The peer's NAT remaps: heartbeats to :40000 still arrive, answers come from :40001. */
  g_assert_true (lr_stun_address_parse (&moved, "198.51.100.7:40001"));
  sim.paths[1].answers_from = moved;
  sim_add_path (&sim, "198.51.100.7:40001", TRUE, 5 * MS);
  sim_run_until (&sim, 10 * S);
  g_assert_true (lr_path_policy_get_endpoint (sim.policy, &endpoint));
  g_assert_true (lr_stun_address_equal (&endpoint, &moved));
  g_assert_true (lr_stun_address_equal (&sim_last_endpoint (&sim)->address, &moved));
  g_assert_nonnull (strstr (last_transition (&sim)->reason, "now answers from"));
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_fallbacks, ==, 0);
  sim_clear (&sim);
}

/* The peer's ping while relayed: one ping back at once (not at the next round), at most one
 * a second, and its pong takes the path direct. */
static void
test_ping_back (void)
{
  LrStunAddress from, endpoint;
  gint64 at;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", FALSE, 0);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 600 * S + 1);
  at = sim_now (&sim);
  /* Its packets come from a mapping no candidate names (a symmetric NAT on its side). */
  sim_add_path (&sim, "198.51.100.7:30000", TRUE, 10 * MS);
  from = sim.paths[1].address;
  for (guint i = 0; i < 5; i++)
    lr_path_policy_ping_received (sim.policy, &from);
  sim_run_until (&sim, at + 5 * MS);
  g_assert_cmpuint (sim_count (&sim, LR_PATH_ACTION_PING, at, at + 1), ==, 1);
  sim_run_until (&sim, at + 20 * MS);
  g_assert_true (lr_path_policy_get_endpoint (sim.policy, &endpoint));
  g_assert_true (lr_stun_address_equal (&endpoint, &from));
  g_assert_cmpint (sim_find (&sim, LR_PATH_ACTION_USE_DIRECT, at, 0), ==, at + 10 * MS);
  /* While direct, the peer's pings change nothing here. */
  lr_path_policy_ping_received (sim.policy, &sim.paths[0].address);
  sim_run_until (&sim, at + 1 * S + 20 * MS);
  g_assert_cmpuint (sim_count (&sim, LR_PATH_ACTION_PING, at + 20 * MS, at + 2 * S), ==, 4);
  sim_clear (&sim);
}

/* The peer pings before its candidates have arrived here (they come through the control
 * server, its ping straight from it): the ping back is this side's direct attempt, so a
 * path found that way never shows "direct" with no attempt counted. */
static void
test_ping_back_counted (void)
{
  LrPathMetrics metrics;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "192.168.1.3:51820", TRUE, 1 * MS);
  sim_run_until (&sim, 1 * S);
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_probe_rounds, ==, 0);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);

  lr_path_policy_ping_received (sim.policy, &sim.paths[0].address);
  sim_run_until (&sim, 1 * S + 5 * MS);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_DIRECT);
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_direct, ==, 1);
  g_assert_cmpuint (metrics.n_probe_rounds, ==, 1);
  sim_clear (&sim);
}

static void
test_unknown_pongs (void)
{
  guint8 id[LR_PATH_TRANSACTION_SIZE] = { 1, 2, 3 };
  LrStunAddress from;
  LrPathAction action;
  guint8 late[LR_PATH_TRANSACTION_SIZE];
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", FALSE, 0);
  sim_set_candidates (&sim, NULL);
  g_assert_true (lr_path_policy_next (sim.policy, &action));   /* USE_RELAY */
  g_assert_true (lr_path_policy_next (sim.policy, &action));   /* the first ping */
  g_assert_cmpint (action.type, ==, LR_PATH_ACTION_PING);
  memcpy (late, action.transaction_id, sizeof late);
  from = action.address;

  /* A pong for no ping of ours changes nothing. */
  g_assert_false (lr_path_policy_pong_received (sim.policy, id, &from));
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);
  /* One for our ping, but after its timeout: forgotten. */
  lr_clock_advance (sim.clock, LR_PATH_PING_TIMEOUT_US);
  g_assert_false (lr_path_policy_pong_received (sim.policy, late, &from));
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);
  sim_clear (&sim);
}

static void
test_quality_loss (void)
{
  LrPathMetrics metrics;
  const LrPathTransition *history;
  gint64 first_direct, first_fallback, second_direct;
  guint n;
  Sim sim;

  sim_init (&sim);
  lr_path_policy_set_relay_metrics (sim.policy, 30.0, 0.0);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 10 * MS)->lost_per_20 = 6;
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 3600 * S);

  first_direct = sim_find (&sim, LR_PATH_ACTION_USE_DIRECT, 0, 0);
  first_fallback = sim_find (&sim, LR_PATH_ACTION_USE_RELAY, 1, 0);
  second_direct = sim_find (&sim, LR_PATH_ACTION_USE_DIRECT, first_fallback, 0);
  g_test_message ("30 %% loss: direct at %.1f s, relay at %.1f s, direct again at %.1f s",
                  first_direct / 1e6, first_fallback / 1e6, second_direct / 1e6);
  /* Sustained: not before 10 s of it (plus the 10 heartbeats it takes to count loss). */
  g_assert_cmpint (first_fallback - first_direct, >=, LR_PATH_QUALITY_SUSTAIN_US);
  g_assert_cmpint (first_fallback - first_direct, <=, LR_PATH_QUALITY_SUSTAIN_US + 5 * S);
  /* The quality hold-down, then a try again. */
  g_assert_cmpint (second_direct - first_fallback, >=, LR_PATH_QUALITY_HOLD_MIN_US);

  history = lr_path_policy_get_history (sim.policy, &n);
  for (guint i = 1; i < n; i++)
    if (history[i].to == LR_PATH_RELAYED)
      g_assert_nonnull (strstr (history[i].reason, "direct path loses 30 % (relay 0 %)"));
  /* Holds double to 10 minutes: a bounded number of tries in an hour. */
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_test_message ("%u fallbacks in an hour", metrics.n_fallbacks);
  g_assert_cmpuint (metrics.n_fallbacks, >=, 5);
  g_assert_cmpuint (metrics.n_fallbacks, <=, 10);
  g_assert_cmpfloat_with_epsilon (metrics.loss_percent, 30.0, 0.01);
  sim_clear (&sim);
}

static void
test_quality_latency (void)
{
  LrPathMetrics metrics;
  Sim sim;

  /* 200 ms against a 40 ms relay: back to the relay, and say why. */
  sim_init (&sim);
  lr_path_policy_set_relay_metrics (sim.policy, 40.0, 0.0);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 200 * MS);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 60 * S);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);
  g_assert_nonnull (strstr (last_transition (&sim)->reason,
                            "direct path latency 200 ms (relay 40 ms)"));
  /* The hysteresis: a pong at 200 ms never takes the path back while the relay is 40 ms. */
  sim_run_until (&sim, 3600 * S);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_RELAYED);
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_fallbacks, ==, 1);
  sim_clear (&sim);

  /* 60 ms against 40 ms is not much worse: it stays direct. */
  sim_init (&sim);
  lr_path_policy_set_relay_metrics (sim.policy, 40.0, 0.0);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 60 * MS);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 3600 * S);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_DIRECT);
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_fallbacks, ==, 0);
  sim_clear (&sim);
}

/* Short trouble is not sustained trouble. Loss counts over the last 20 heartbeats (5 s), so
 * a burst of loss weighs for its length plus 5 s: three seconds of it stay under the 10 s
 * it takes to leave. */
static void
test_short_bursts (void)
{
  LrPathMetrics metrics;
  Sim sim;

  sim_init (&sim);
  lr_path_policy_set_relay_metrics (sim.policy, 30.0, 0.0);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 5 * MS);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 60 * S);
  for (guint burst = 0; burst < 30; burst++)
    {
      gint64 at = sim_now (&sim);

      /* 400 ms of nothing (one or two heartbeats lost, under the 900 ms deadline), calm,
       * three seconds of 30 % loss, calm. */
      sim.paths[0].reachable = FALSE;
      sim_run_until (&sim, at + 400 * MS);
      sim.paths[0].reachable = TRUE;
      sim_run_until (&sim, at + 20 * S);
      sim.paths[0].lost_per_20 = 6;
      sim_run_until (&sim, at + 23 * S);
      sim.paths[0].lost_per_20 = 0;
      sim_run_until (&sim, at + 60 * S);
    }
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_fallbacks, ==, 0);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), ==, LR_PATH_DIRECT);
  sim_clear (&sim);
}

/* A path that works for 3 s and dies for 3 s, for two hours: switches stay capped per
 * minute and become rarer as the hold-down grows. */
static void
test_flapping (void)
{
  g_autoptr(GArray) switches = g_array_new (FALSE, FALSE, sizeof (gint64));
  LrPathMetrics metrics;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 5 * MS);
  sim_set_candidates (&sim, NULL);
  for (gint64 t = 0; t < 2 * 3600 * S; t += 3 * S)
    {
      sim.paths[0].reachable = (t / (3 * S)) % 2 == 0;
      sim_run_until (&sim, t + 3 * S);
    }

  for (guint i = 0; i < sim.events->len; i++)
    {
      const Event *event = &g_array_index (sim.events, Event, i);

      if (event->type != LR_PATH_ACTION_PING && event->at_us > 0)
        g_array_append_val (switches, event->at_us);
    }
  for (guint i = 0; i < switches->len; i++)
    {
      guint in_minute = 0;

      for (guint j = i; j < switches->len; j++)
        if (g_array_index (switches, gint64, j) - g_array_index (switches, gint64, i) <
            G_TIME_SPAN_MINUTE)
          in_minute++;
      g_assert_cmpuint (in_minute, <=, LR_PATH_MAX_SWITCHES_PER_MINUTE);
    }
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_test_message ("two hours of a flapping path: %u switches, %u fallbacks", switches->len,
                  metrics.n_fallbacks);
  /* Hold-downs of 1, 2, 4 ... s up to 5 minutes: about 24 an hour once grown. */
  g_assert_cmpuint (metrics.n_fallbacks, <=, 40);
  g_assert_cmpuint (metrics.n_fallbacks, >=, 10);
  g_assert_cmpint (lr_path_policy_get_state (sim.policy), !=, LR_PATH_CONNECTING);
  sim_clear (&sim);
}

/* Six hours on a good path: one switch, a heartbeat every 250 ms, nothing else. */
static void
test_hours_direct (void)
{
  LrPathMetrics metrics;
  guint n;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 2 * MS);
  sim_set_candidates (&sim, NULL);
  sim_run_until (&sim, 6 * 3600 * S);
  lr_path_policy_get_metrics (sim.policy, &metrics);
  g_assert_cmpuint (metrics.n_direct, ==, 1);
  g_assert_cmpuint (metrics.n_fallbacks, ==, 0);
  /* The probe at 0, direct at 2 ms, then a heartbeat every 250 ms until 6 h: 86,399. */
  g_assert_cmpuint (sim_count (&sim, LR_PATH_ACTION_PING, 0, G_MAXINT64), ==,
                    1 + 6 * 3600 * 4 - 1);
  g_assert_cmpfloat (metrics.loss_percent, ==, 0.0);
  g_assert_cmpfloat_with_epsilon (metrics.latency_ms, 2.0, 0.01);
  g_assert_cmpfloat_with_epsilon (metrics.jitter_ms, 0.0, 0.01);
  lr_path_policy_get_history (sim.policy, &n);
  g_assert_cmpuint (n, ==, 2);
  sim_clear (&sim);
}

static void
test_history_bounded (void)
{
  const LrPathTransition *history;
  guint n;
  Sim sim;

  sim_init (&sim);
  sim_add_path (&sim, "198.51.100.7:51820", TRUE, 5 * MS);
  sim_set_candidates (&sim, NULL);
  for (gint64 t = 0; t < 3600 * S; t += 20 * S)
    {
      sim.paths[0].reachable = (t / (20 * S)) % 2 == 0;
      sim_run_until (&sim, t + 20 * S);
    }
  history = lr_path_policy_get_history (sim.policy, &n);
  g_assert_cmpuint (n, ==, LR_PATH_HISTORY_SIZE);
  for (guint i = 1; i < n; i++)
    {
      g_assert_cmpint (history[i].time_us, >=, history[i - 1].time_us);
      g_assert_cmpint (history[i].from, ==, history[i - 1].to);
      g_assert_cmpuint (strlen (history[i].reason), >, 0);
    }
  sim_clear (&sim);
}

static void
test_quality_score (void)
{
  g_assert_cmpuint (lr_path_quality_score (1.0, 0.2, 0.0), ==, 100);
  g_assert_cmpuint (lr_path_quality_score (150.0, 0.0, 2.0), ==, 36);
  g_assert_cmpuint (lr_path_quality_score (50.0, 5.0, 1.0), ==, 83);
  g_assert_cmpuint (lr_path_quality_score (500.0, 50.0, 50.0), ==, 0);
  g_assert_cmpstr (lr_path_state_to_string (LR_PATH_DIRECT), ==, "direct");
  g_assert_cmpstr (lr_path_state_to_string (LR_PATH_RELAYED), ==, "relayed");
  g_assert_cmpstr (lr_path_state_to_string (LR_PATH_CONNECTING), ==, "connecting");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lr_init ();

  g_test_add_func ("/lr/path-policy/start-relayed", test_start_relayed);
  g_test_add_func ("/lr/path-policy/probe-schedule", test_probe_schedule);
  g_test_add_func ("/lr/path-policy/first-pong", test_first_pong);
  g_test_add_func ("/lr/path-policy/failover", test_failover);
  g_test_add_func ("/lr/path-policy/pong-during-hold-down", test_pong_during_hold_down);
  g_test_add_func ("/lr/path-policy/slow-path", test_slow_path);
  g_test_add_func ("/lr/path-policy/probe-at-once", test_probe_at_once);
  g_test_add_func ("/lr/path-policy/lan-preferred", test_lan_preferred);
  g_test_add_func ("/lr/path-policy/answers-from-elsewhere", test_answers_from_elsewhere);
  g_test_add_func ("/lr/path-policy/ping-back", test_ping_back);
  g_test_add_func ("/lr/path-policy/ping-back-counted", test_ping_back_counted);
  g_test_add_func ("/lr/path-policy/unknown-pongs", test_unknown_pongs);
  g_test_add_func ("/lr/path-policy/quality-loss", test_quality_loss);
  g_test_add_func ("/lr/path-policy/quality-latency", test_quality_latency);
  g_test_add_func ("/lr/path-policy/short-bursts", test_short_bursts);
  g_test_add_func ("/lr/path-policy/flapping", test_flapping);
  g_test_add_func ("/lr/path-policy/hours-direct", test_hours_direct);
  g_test_add_func ("/lr/path-policy/history-bounded", test_history_bounded);
  g_test_add_func ("/lr/path-policy/quality-score", test_quality_score);

  return g_test_run ();
}
