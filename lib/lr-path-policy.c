/* lr-path-policy.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-path-policy.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Pings still waiting for a pong; a bound so a peer that never answers costs nothing. */
#define MAX_PINGS 256
/* A pong that came while the path could not go direct is still good this long after. */
#define PENDING_FRESH_US (3 * G_TIME_SPAN_SECOND)
/* A direct path must lose this many of its last heartbeats before loss counts. */
#define MIN_LOSS_SAMPLES 10
/* Pings sent back to a peer's pings: at most one this often, so a peer cannot make us
 * flood. */
#define PING_BACK_US (1 * G_TIME_SPAN_SECOND)

typedef struct
{
  guint8              id[LR_PATH_TRANSACTION_SIZE];
  LrStunAddress       to;
  LrPathCandidateKind kind;
  gint64              sent_us;
  gboolean            heartbeat;
} Ping;

struct _LrPathPolicy
{
  LrClock            *clock;
  LrPathState         state;

  LrPathCandidate     candidates[LR_PATH_MAX_CANDIDATES];
  guint               n_candidates;

  /* Probing: the next round (0: none), and rounds since the schedule was reset. */
  gint64              next_probe_us;
  guint               probe_round;

  /* The direct path. */
  LrStunAddress       endpoint;
  LrPathCandidateKind endpoint_kind;
  gint64              direct_since_us;
  gint64              last_pong_us;
  gint64              next_heartbeat_us;
  gboolean            have_rtt;
  double              srtt_ms;
  double              last_rtt_ms;
  double              jitter_ms;
  guint8              lost[LR_PATH_LOSS_WINDOW];
  guint               n_samples;
  guint               sample_at;
  gint64              bad_since_us;

  gboolean            have_relay;
  double              relay_rtt_ms;
  double              relay_loss;

  /* Guards. */
  gint64              direct_not_before_us;
  guint               fallback_streak;
  gint64              quality_hold_us;
  gboolean            quality_hysteresis;
  gint64              switches[LR_PATH_MAX_SWITCHES_PER_MINUTE];
  guint               n_switches;

  gint64              last_ping_back_us;

  /* A pong that came while the guards held the path on the relay. */
  gboolean            have_pending;
  LrStunAddress       pending;
  LrPathCandidateKind pending_kind;
  gint64              pending_us;
  double              pending_rtt_ms;

  GArray             *pings;      /* Ping */
  GArray             *actions;    /* LrPathAction, first to do first */
  LrPathTransition    history[LR_PATH_HISTORY_SIZE];
  guint               n_history;
  LrPathMetrics       counters;
};

static const char * const state_names[] = {
  [LR_PATH_CONNECTING] = "connecting",
  [LR_PATH_RELAYED] = "relayed",
  [LR_PATH_DIRECT] = "direct",
};

const char *
lr_path_state_to_string (LrPathState state)
{
  if ((guint) state >= G_N_ELEMENTS (state_names))
    return "connecting";
  return state_names[state];
}

guint
lr_path_quality_score (double latency_ms,
                       double jitter_ms,
                       double loss_percent)
{
  double score = 100.0 - 2.0 * loss_percent - MAX (0.0, latency_ms - 30.0) / 2.0 - jitter_ms;

  return (guint) CLAMP (score + 0.5, 0.0, 100.0);
}

LrPathPolicy *
lr_path_policy_new (LrClock *clock)
{
  LrPathPolicy *self;

  g_return_val_if_fail (clock != NULL, NULL);

  self = g_new0 (LrPathPolicy, 1);
  self->clock = lr_clock_ref (clock);
  self->state = LR_PATH_CONNECTING;
  self->pings = g_array_new (FALSE, FALSE, sizeof (Ping));
  self->actions = g_array_new (FALSE, FALSE, sizeof (LrPathAction));
  return self;
}

void
lr_path_policy_free (LrPathPolicy *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->pings);
  g_array_unref (self->actions);
  lr_clock_unref (self->clock);
  g_free (self);
}

static void
record (LrPathPolicy        *self,
        gint64               now,
        LrPathState          to,
        const LrStunAddress *address,
        const char          *format,
        ...) G_GNUC_PRINTF (5, 6);

static void
record (LrPathPolicy        *self,
        gint64               now,
        LrPathState          to,
        const LrStunAddress *address,
        const char          *format,
        ...)
{
  LrPathTransition *entry;
  va_list args;

  if (self->n_history == LR_PATH_HISTORY_SIZE)
    {
      memmove (self->history, self->history + 1,
               (LR_PATH_HISTORY_SIZE - 1) * sizeof self->history[0]);
      self->n_history--;
    }
  entry = &self->history[self->n_history++];
  memset (entry, 0, sizeof *entry);
  entry->time_us = now;
  entry->from = self->state;
  entry->to = to;
  if (address != NULL)
    entry->address = *address;
  va_start (args, format);
  vsnprintf (entry->reason, sizeof entry->reason, format, args);
  va_end (args);
  g_debug ("Path %s → %s: %s", lr_path_state_to_string (entry->from),
           lr_path_state_to_string (to), entry->reason);
  self->state = to;
}

static void
push_action (LrPathPolicy        *self,
             LrPathActionType     type,
             const LrStunAddress *address,
             const guint8        *transaction_id)
{
  LrPathAction action = { .type = type };

  if (address != NULL)
    action.address = *address;
  if (transaction_id != NULL)
    memcpy (action.transaction_id, transaction_id, LR_PATH_TRANSACTION_SIZE);
  g_array_append_val (self->actions, action);
}

static void
send_ping (LrPathPolicy        *self,
           gint64               now,
           const LrStunAddress *to,
           LrPathCandidateKind  kind,
           gboolean             heartbeat)
{
  Ping ping = { .to = *to, .kind = kind, .sent_us = now, .heartbeat = heartbeat };

  randombytes_buf (ping.id, sizeof ping.id);
  if (self->pings->len >= MAX_PINGS)
    g_array_remove_index (self->pings, 0);
  g_array_append_val (self->pings, ping);
  push_action (self, LR_PATH_ACTION_PING, to, ping.id);
}

/* Switches in the last minute; how long until one more is allowed (0: now). */
static gint64
switch_wait_us (LrPathPolicy *self,
                gint64        now)
{
  gint64 oldest = G_MAXINT64;
  guint recent = 0;

  for (guint i = 0; i < self->n_switches; i++)
    if (now - self->switches[i] < G_TIME_SPAN_MINUTE)
      {
        recent++;
        oldest = MIN (oldest, self->switches[i]);
      }
  if (recent < LR_PATH_MAX_SWITCHES_PER_MINUTE)
    return 0;
  return oldest + G_TIME_SPAN_MINUTE - now;
}

static void
count_switch (LrPathPolicy *self,
              gint64        now)
{
  if (self->n_switches == LR_PATH_MAX_SWITCHES_PER_MINUTE)
    {
      memmove (self->switches, self->switches + 1,
               (LR_PATH_MAX_SWITCHES_PER_MINUTE - 1) * sizeof self->switches[0]);
      self->n_switches--;
    }
  self->switches[self->n_switches++] = now;
}

static gboolean
has_lan_candidates (LrPathPolicy *self)
{
  for (guint i = 0; i < self->n_candidates; i++)
    if (self->candidates[i].kind == LR_PATH_CANDIDATE_LAN)
      return TRUE;
  return FALSE;
}

/* "At once, then again soon": after a network change, new candidates or a fallback. */
static void
reset_probing (LrPathPolicy *self,
               gint64        now)
{
  self->probe_round = 0;
  self->next_probe_us = now;
}

static void
go_direct (LrPathPolicy        *self,
           gint64               now,
           const LrStunAddress *address,
           LrPathCandidateKind  kind,
           double               rtt_ms,
           const char          *why)
{
  g_autofree char *text = lr_stun_address_to_string (address);

  count_switch (self, now);
  record (self, now, LR_PATH_DIRECT, address, "%s from %s", why, text);
  self->endpoint = *address;
  self->endpoint_kind = kind;
  self->direct_since_us = now;
  self->last_pong_us = now;
  self->next_heartbeat_us = now + LR_PATH_HEARTBEAT_US;
  self->have_rtt = TRUE;
  self->srtt_ms = self->last_rtt_ms = rtt_ms;
  self->jitter_ms = 0;
  self->n_samples = self->sample_at = 0;
  self->bad_since_us = 0;
  self->have_pending = FALSE;
  self->counters.n_direct++;
  /* On a LAN address there is nothing better to look for. */
  if (kind == LR_PATH_CANDIDATE_LAN || !has_lan_candidates (self))
    self->next_probe_us = 0;
  push_action (self, LR_PATH_ACTION_USE_DIRECT, address, NULL);
}

static void
fall_back (LrPathPolicy *self,
           gint64        now,
           gboolean      for_quality,
           const char   *reason)
{
  gint64 hold;

  /* A direct path that held for a while ends the streak: its failure is news, not a cycle. */
  if (now - self->direct_since_us >= LR_PATH_STABLE_US)
    {
      self->fallback_streak = 0;
      if (!for_quality)
        self->quality_hold_us = 0;
    }
  self->fallback_streak++;
  hold = LR_PATH_HOLDDOWN_MIN_US << MIN (self->fallback_streak - 1, 20u);
  self->direct_not_before_us = now + MIN (hold, LR_PATH_HOLDDOWN_MAX_US);
  if (for_quality)
    {
      self->quality_hold_us = self->quality_hold_us == 0 ? LR_PATH_QUALITY_HOLD_MIN_US
                              : MIN (2 * self->quality_hold_us, LR_PATH_QUALITY_HOLD_MAX_US);
      self->direct_not_before_us = MAX (self->direct_not_before_us,
                                        now + self->quality_hold_us);
      self->quality_hysteresis = TRUE;
    }

  count_switch (self, now);
  record (self, now, LR_PATH_RELAYED, NULL, "%s", reason);
  self->counters.n_fallbacks++;
  self->have_pending = FALSE;
  reset_probing (self, now);
  push_action (self, LR_PATH_ACTION_USE_RELAY, NULL, NULL);
}

static double
loss_percent (LrPathPolicy *self)
{
  guint lost = 0;

  if (self->n_samples == 0)
    return 0;
  for (guint i = 0; i < self->n_samples; i++)
    lost += self->lost[i];
  return 100.0 * lost / self->n_samples;
}

static void
add_sample (LrPathPolicy *self,
            gboolean      lost)
{
  self->lost[self->sample_at] = lost;
  self->sample_at = (self->sample_at + 1) % LR_PATH_LOSS_WINDOW;
  self->n_samples = MIN (self->n_samples + 1, LR_PATH_LOSS_WINDOW);
}

/* Much worse than the relay, for LR_PATH_QUALITY_SUSTAIN_US in a row: back to the relay. */
static void
check_quality (LrPathPolicy *self,
               gint64        now)
{
  char reason[96] = "";
  double loss;

  if (self->state != LR_PATH_DIRECT || !self->have_relay)
    return;

  loss = loss_percent (self);
  if (self->n_samples >= MIN_LOSS_SAMPLES && loss >= self->relay_loss + 10.0)
    snprintf (reason, sizeof reason, "direct path loses %.0f %% (relay %.0f %%)", loss,
              self->relay_loss);
  else if (self->have_rtt && self->srtt_ms > 1.5 * self->relay_rtt_ms + 20.0)
    snprintf (reason, sizeof reason, "direct path latency %.0f ms (relay %.0f ms)",
              self->srtt_ms, self->relay_rtt_ms);

  if (reason[0] == '\0')
    {
      self->bad_since_us = 0;
      return;
    }
  if (self->bad_since_us == 0)
    self->bad_since_us = now;
  else if (now - self->bad_since_us >= LR_PATH_QUALITY_SUSTAIN_US)
    fall_back (self, now, TRUE, reason);
}

static gint64
dead_after_us (LrPathPolicy *self)
{
  return MAX (LR_PATH_DEAD_US, (gint64) (4 * self->srtt_ms * 1000));
}

/* The candidates a probe round pings: all of them while relayed, the LAN ones while direct
 * on a public address. */
static gboolean
probe_round (LrPathPolicy *self,
             gint64        now)
{
  gboolean sent = FALSE;
  gint64 interval;

  for (guint i = 0; i < self->n_candidates; i++)
    {
      const LrPathCandidate *candidate = &self->candidates[i];

      if (self->state == LR_PATH_DIRECT &&
          (candidate->kind != LR_PATH_CANDIDATE_LAN ||
           lr_stun_address_equal (&candidate->address, &self->endpoint)))
        continue;
      send_ping (self, now, &candidate->address, candidate->kind, FALSE);
      sent = TRUE;
    }
  if (!sent)
    {
      self->next_probe_us = 0;
      return FALSE;
    }

  self->counters.n_probe_rounds++;
  self->probe_round++;
  if (self->probe_round == 1)
    interval = LR_PATH_PROBE_RETRY_US;
  else if (self->probe_round < LR_PATH_PROBE_FAST_ROUNDS + 1)
    interval = LR_PATH_PROBE_FAST_US;
  else
    interval = MIN (LR_PATH_PROBE_FAST_US << MIN (self->probe_round - LR_PATH_PROBE_FAST_ROUNDS,
                                                  10u),
                    LR_PATH_PROBE_MAX_US);
  self->next_probe_us = now + interval;
  return TRUE;
}

static void
advance (LrPathPolicy *self,
         gint64        now)
{
  if (self->state == LR_PATH_CONNECTING)
    {
      record (self, now, LR_PATH_RELAYED, NULL, "start on the relay");
      push_action (self, LR_PATH_ACTION_USE_RELAY, NULL, NULL);
      if (self->n_candidates > 0 && self->next_probe_us == 0)
        reset_probing (self, now);
    }

  /* Pings that were never answered: lost heartbeats count against the direct path. */
  for (guint i = 0; i < self->pings->len;)
    {
      Ping *ping = &g_array_index (self->pings, Ping, i);

      if (now - ping->sent_us < LR_PATH_PING_TIMEOUT_US)
        {
          i++;
          continue;
        }
      if (ping->heartbeat && self->state == LR_PATH_DIRECT &&
          lr_stun_address_equal (&ping->to, &self->endpoint) &&
          ping->sent_us >= self->direct_since_us)
        add_sample (self, TRUE);
      g_array_remove_index (self->pings, i);
    }

  if (self->state == LR_PATH_DIRECT)
    {
      if (now - self->last_pong_us >= dead_after_us (self))
        {
          g_autofree char *text = lr_stun_address_to_string (&self->endpoint);
          char reason[96];

          snprintf (reason, sizeof reason, "no pong from %s for %" G_GINT64_FORMAT " ms", text,
                    (now - self->last_pong_us) / 1000);
          fall_back (self, now, FALSE, reason);
        }
      else
        {
          check_quality (self, now);
        }
    }

  if (self->state == LR_PATH_DIRECT && now >= self->next_heartbeat_us)
    {
      send_ping (self, now, &self->endpoint, self->endpoint_kind, TRUE);
      self->next_heartbeat_us = now + LR_PATH_HEARTBEAT_US;
    }

  if (self->next_probe_us != 0 && now >= self->next_probe_us)
    probe_round (self, now);

  if (self->have_pending && self->state == LR_PATH_RELAYED)
    {
      if (now - self->pending_us > PENDING_FRESH_US)
        self->have_pending = FALSE;
      else if (now >= self->direct_not_before_us && switch_wait_us (self, now) == 0)
        go_direct (self, now, &self->pending, self->pending_kind, self->pending_rtt_ms,
                   "pong (after the hold-down)");
    }
}

gboolean
lr_path_policy_next (LrPathPolicy *self,
                     LrPathAction *action)
{
  g_return_val_if_fail (self != NULL && action != NULL, FALSE);

  if (self->actions->len == 0)
    advance (self, lr_clock_now_us (self->clock));
  if (self->actions->len == 0)
    return FALSE;
  *action = g_array_index (self->actions, LrPathAction, 0);
  g_array_remove_index (self->actions, 0);
  return TRUE;
}

gint64
lr_path_policy_get_wake_us (LrPathPolicy *self)
{
  gint64 now = lr_clock_now_us (self->clock);
  gint64 wake = G_MAXINT64;

  g_return_val_if_fail (self != NULL, G_MAXINT64);

  if (self->state == LR_PATH_CONNECTING || self->actions->len > 0)
    return now;
  if (self->next_probe_us != 0)
    wake = MIN (wake, self->next_probe_us);
  if (self->state == LR_PATH_DIRECT)
    {
      wake = MIN (wake, self->next_heartbeat_us);
      wake = MIN (wake, self->last_pong_us + dead_after_us (self));
    }
  for (guint i = 0; i < self->pings->len; i++)
    wake = MIN (wake, g_array_index (self->pings, Ping, i).sent_us + LR_PATH_PING_TIMEOUT_US);
  if (self->have_pending && self->state == LR_PATH_RELAYED)
    wake = MIN (wake, MAX (self->direct_not_before_us, now + switch_wait_us (self, now)));
  return MAX (wake, now);
}

static const LrPathCandidate *
find_candidate (LrPathPolicy        *self,
                const LrStunAddress *address)
{
  for (guint i = 0; i < self->n_candidates; i++)
    if (lr_stun_address_equal (&self->candidates[i].address, address))
      return &self->candidates[i];
  return NULL;
}

void
lr_path_policy_set_candidates (LrPathPolicy          *self,
                               const LrPathCandidate *candidates,
                               guint                  n_candidates)
{
  gboolean changed;

  g_return_if_fail (self != NULL);
  g_return_if_fail (n_candidates == 0 || candidates != NULL);

  n_candidates = MIN (n_candidates, LR_PATH_MAX_CANDIDATES);
  changed = n_candidates != self->n_candidates;
  for (guint i = 0; i < n_candidates && !changed; i++)
    changed = !lr_stun_address_equal (&candidates[i].address, &self->candidates[i].address) ||
              candidates[i].kind != self->candidates[i].kind;
  if (!changed)
    return;

  memcpy (self->candidates, candidates, n_candidates * sizeof *candidates);
  self->n_candidates = n_candidates;
  reset_probing (self, lr_clock_now_us (self->clock));
}

void
lr_path_policy_network_changed (LrPathPolicy *self)
{
  gint64 now;

  g_return_if_fail (self != NULL);

  now = lr_clock_now_us (self->clock);
  /* A new network: the old one's history says nothing about it. */
  self->fallback_streak = 0;
  self->quality_hold_us = 0;
  self->quality_hysteresis = FALSE;
  self->direct_not_before_us = 0;
  reset_probing (self, now);
  if (self->state == LR_PATH_DIRECT)
    self->next_heartbeat_us = now;
}

void
lr_path_policy_ping_received (LrPathPolicy        *self,
                              const LrStunAddress *from)
{
  const LrPathCandidate *candidate;
  gint64 now;

  g_return_if_fail (self != NULL && from != NULL);

  now = lr_clock_now_us (self->clock);
  if (self->state != LR_PATH_RELAYED ||
      (self->last_ping_back_us != 0 && now - self->last_ping_back_us < PING_BACK_US))
    return;
  self->last_ping_back_us = now;
  candidate = find_candidate (self, from);
  send_ping (self, now, from, candidate != NULL ? candidate->kind : LR_PATH_CANDIDATE_PUBLIC,
             FALSE);
  /* A direct attempt of its own: the peer's candidates may not be here yet (the peer pinged
   * first), and a path found this way must not show as found without an attempt. */
  self->counters.n_probe_rounds++;
}

void
lr_path_policy_set_relay_metrics (LrPathPolicy *self,
                                  double        rtt_ms,
                                  double        loss_percent)
{
  g_return_if_fail (self != NULL);

  self->have_relay = TRUE;
  self->relay_rtt_ms = rtt_ms;
  self->relay_loss = loss_percent;
}

gboolean
lr_path_policy_pong_received (LrPathPolicy        *self,
                              const guint8        *transaction_id,
                              const LrStunAddress *from)
{
  gint64 now;
  Ping ping;
  double rtt_ms;
  guint i;
  const LrPathCandidate *candidate;
  LrPathCandidateKind kind;

  g_return_val_if_fail (self != NULL && transaction_id != NULL && from != NULL, FALSE);

  now = lr_clock_now_us (self->clock);
  for (i = 0; i < self->pings->len; i++)
    if (memcmp (g_array_index (self->pings, Ping, i).id, transaction_id,
                LR_PATH_TRANSACTION_SIZE) == 0)
      break;
  if (i == self->pings->len ||
      now - g_array_index (self->pings, Ping, i).sent_us >= LR_PATH_PING_TIMEOUT_US)
    return FALSE;
  ping = g_array_index (self->pings, Ping, i);
  g_array_remove_index (self->pings, i);
  rtt_ms = (now - ping.sent_us) / 1000.0;
  /* What the answering address is: a candidate's own kind, else the pinged one's. */
  candidate = find_candidate (self, from);
  kind = candidate != NULL ? candidate->kind : ping.kind;

  if (self->state == LR_PATH_DIRECT && lr_stun_address_equal (&ping.to, &self->endpoint))
    {
      self->last_pong_us = now;
      if (ping.heartbeat && ping.sent_us >= self->direct_since_us)
        {
          self->jitter_ms += (ABS (rtt_ms - self->last_rtt_ms) - self->jitter_ms) / 16.0;
          self->srtt_ms += (rtt_ms - self->srtt_ms) / 8.0;
          self->last_rtt_ms = rtt_ms;
          add_sample (self, FALSE);
        }
      /* The peer's NAT moved its mapping: follow it. */
      if (!lr_stun_address_equal (from, &self->endpoint))
        {
          g_autofree char *text = lr_stun_address_to_string (from);

          record (self, now, LR_PATH_DIRECT, from, "the peer now answers from %s", text);
          self->endpoint = *from;
          push_action (self, LR_PATH_ACTION_USE_DIRECT, from, NULL);
        }
      check_quality (self, now);
      return TRUE;
    }

  if (self->state == LR_PATH_DIRECT)
    {
      /* A LAN address beats a public one: both peers are behind one NAT. */
      if (kind == LR_PATH_CANDIDATE_LAN && self->endpoint_kind != LR_PATH_CANDIDATE_LAN &&
          switch_wait_us (self, now) == 0)
        go_direct (self, now, from, kind, rtt_ms, "LAN address answered");
      return TRUE;
    }

  if (self->state != LR_PATH_RELAYED)
    return TRUE;

  /* After a fallback for quality, only a clearly faster path may take over again. */
  if (self->quality_hysteresis && self->have_relay && rtt_ms > self->relay_rtt_ms + 10.0)
    return TRUE;

  if (now >= self->direct_not_before_us && switch_wait_us (self, now) == 0)
    {
      self->quality_hysteresis = FALSE;
      go_direct (self, now, from, kind, rtt_ms, "pong");
    }
  else if (!self->have_pending || kind == LR_PATH_CANDIDATE_LAN ||
           self->pending_kind != LR_PATH_CANDIDATE_LAN)
    {
      self->have_pending = TRUE;
      self->pending = *from;
      self->pending_kind = kind;
      self->pending_us = now;
      self->pending_rtt_ms = rtt_ms;
    }
  return TRUE;
}

LrPathState
lr_path_policy_get_state (LrPathPolicy *self)
{
  g_return_val_if_fail (self != NULL, LR_PATH_CONNECTING);

  return self->state;
}

gboolean
lr_path_policy_get_endpoint (LrPathPolicy  *self,
                             LrStunAddress *out)
{
  g_return_val_if_fail (self != NULL && out != NULL, FALSE);

  if (self->state != LR_PATH_DIRECT)
    return FALSE;
  *out = self->endpoint;
  return TRUE;
}

void
lr_path_policy_get_metrics (LrPathPolicy  *self,
                            LrPathMetrics *out)
{
  g_return_if_fail (self != NULL && out != NULL);

  *out = self->counters;
  out->latency_ms = self->have_rtt ? self->srtt_ms : 0;
  out->jitter_ms = self->jitter_ms;
  out->loss_percent = loss_percent (self);
}

const LrPathTransition *
lr_path_policy_get_history (LrPathPolicy *self,
                            guint        *n_transitions)
{
  g_return_val_if_fail (self != NULL && n_transitions != NULL, NULL);

  *n_transitions = self->n_history;
  return self->history;
}
