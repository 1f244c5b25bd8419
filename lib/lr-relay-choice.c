/* lr-relay-choice.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-relay-choice.h"

/* Hysteresis: another relay is clearly better when its smoothed RTT is at least 25 % and
 * 10 ms lower, in two rounds in a row. Below that, a switch is not worth it, and two peers
 * keep choosing the same relay. */
#define BETTER_FRACTION 0.75
#define BETTER_MIN_MS 10.0
#define BETTER_ROUNDS 2

/* @clock: (nullable): %NULL for the system clock */
void
lr_relay_choice_init (LrRelayChoice *self,
                      LrClock       *clock)
{
  self->clock = clock != NULL ? lr_clock_ref (clock) : lr_clock_new_system ();
  self->contender = -1;
  self->contender_rounds = 0;
}

void
lr_relay_choice_clear (LrRelayChoice *self)
{
  g_clear_pointer (&self->clock, lr_clock_unref);
  self->contender = -1;
  self->contender_rounds = 0;
}

gboolean
lr_relay_measure_is_usable (const LrRelayMeasure *measure,
                            gboolean              is_current,
                            gint64                now_us)
{
  if (measure->unusable_until_us > now_us)
    return FALSE;
  if (measure->rtt_ms < 0 || measure->last_answer_us == 0)
    return FALSE;
  return now_us - measure->last_answer_us <= (is_current ? LR_RELAY_DEAD_AFTER_US
                                                         : LR_RELAY_STALE_AFTER_US);
}

static gboolean
clearly_better (double candidate_ms,
                double current_ms)
{
  return candidate_ms <= current_ms * BETTER_FRACTION &&
         current_ms - candidate_ms >= BETTER_MIN_MS;
}

/* Among the usable candidates other than @skip: the lowest RTT, unless one listed earlier is
 * not clearly worse; the session lists relays best-first, and so peers of a party whose
 * relays are about as near all choose the same one. */
static int
best_candidate (const LrRelayMeasure *measures,
                guint                 n_measures,
                int                   skip,
                gint64                now_us)
{
  int lowest = -1;

  for (guint i = 0; i < n_measures; i++)
    {
      if ((int) i == skip || !lr_relay_measure_is_usable (&measures[i], FALSE, now_us))
        continue;
      if (lowest < 0 || measures[i].rtt_ms < measures[lowest].rtt_ms)
        lowest = i;
    }
  if (lowest < 0)
    return -1;

  for (int i = 0; i < lowest; i++)
    {
      if (i == skip || !lr_relay_measure_is_usable (&measures[i], FALSE, now_us))
        continue;
      if (!clearly_better (measures[lowest].rtt_ms, measures[i].rtt_ms))
        return i;
    }
  return lowest;
}

/**
 * lr_relay_choice_standby:
 * @current: index of the chosen candidate, or -1
 *
 * The candidate that would take over if @current died now: the one
 * lr_relay_choice_choose() would choose then.
 *
 * Returns: its index, or -1 when no other is usable
 */
int
lr_relay_choice_standby (const LrRelayMeasure *measures,
                         guint                 n_measures,
                         int                   current,
                         gint64                now_us)
{
  return best_candidate (measures, n_measures, current, now_us);
}

/**
 * lr_relay_choice_choose:
 * @current: index of the chosen candidate, or -1
 * @round_done: a measuring round just ended (only then is a relay first chosen or a better
 *   one counted)
 *
 * Returns: the index of the candidate to use, or -1; @out_reason says why it changed.
 */
int
lr_relay_choice_choose (LrRelayChoice        *self,
                        const LrRelayMeasure *measures,
                        guint                 n_measures,
                        int                   current,
                        gboolean              round_done,
                        LrRelayChoiceReason  *out_reason)
{
  gint64 now_us = lr_clock_now_us (self->clock);
  int best;

  if (current >= (int) n_measures)
    current = -1;

  if (current >= 0 && !lr_relay_measure_is_usable (&measures[current], TRUE, now_us))
    {
      best = best_candidate (measures, n_measures, current, now_us);
      self->contender = -1;
      self->contender_rounds = 0;
      *out_reason = best >= 0 ? LR_RELAY_CHOICE_DEAD : LR_RELAY_CHOICE_NONE;
      return best;
    }

  if (current < 0)
    {
      if (!round_done)
        {
          *out_reason = LR_RELAY_CHOICE_KEEP;
          return -1;
        }
      best = best_candidate (measures, n_measures, -1, now_us);
      self->contender = -1;
      self->contender_rounds = 0;
      *out_reason = best >= 0 ? LR_RELAY_CHOICE_FIRST : LR_RELAY_CHOICE_NONE;
      return best;
    }

  *out_reason = LR_RELAY_CHOICE_KEEP;
  if (!round_done)
    return current;

  /* Only a candidate that answered in this round may take over. */
  best = -1;
  for (guint i = 0; i < n_measures; i++)
    {
      if ((int) i == current || !lr_relay_measure_is_usable (&measures[i], FALSE, now_us) ||
          now_us - measures[i].last_answer_us > 2 * LR_RELAY_ROUND_TIMEOUT_US)
        continue;
      if (best < 0 || measures[i].rtt_ms < measures[best].rtt_ms)
        best = i;
    }

  if (best < 0 || !clearly_better (measures[best].rtt_ms, measures[current].rtt_ms))
    {
      self->contender = -1;
      self->contender_rounds = 0;
      return current;
    }

  if (self->contender == best)
    self->contender_rounds++;
  else
    {
      self->contender = best;
      self->contender_rounds = 1;
    }
  if (self->contender_rounds < BETTER_ROUNDS)
    return current;

  self->contender = -1;
  self->contender_rounds = 0;
  *out_reason = LR_RELAY_CHOICE_BETTER;
  return best;
}
