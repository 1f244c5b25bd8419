/* lr-link-quality.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-link-quality.h"

/* RFC 6298 section 2: SRTT <- 7/8 SRTT + 1/8 R. */
#define RTT_ALPHA 0.125
/* RFC 3550 section 6.4.1: J <- J + (|D| - J) / 16. */
#define JITTER_GAIN (1.0 / 16)

/* @clock: (nullable): %NULL for the system clock */
void
lr_link_quality_init (LrLinkQuality *self,
                      LrClock       *clock)
{
  *self = (LrLinkQuality) { 0 };
  self->clock = clock != NULL ? lr_clock_ref (clock) : lr_clock_new_system ();
  self->latency_ms = -1;
  self->jitter_ms = -1;
  self->last_sample_ms = -1;
}

void
lr_link_quality_clear (LrLinkQuality *self)
{
  g_clear_pointer (&self->clock, lr_clock_unref);
}

/**
 * lr_link_quality_sent:
 * @id: the probe's id, chosen by the caller (unique among the last few)
 *
 * Records a probe sent now.
 *
 * Returns: the send time to carry in the probe and give back to
 *   lr_link_quality_answered()
 */
gint64
lr_link_quality_sent (LrLinkQuality *self,
                      guint64        id)
{
  LrLinkProbe *probe = &self->probes[self->n_probes % LR_LINK_QUALITY_WINDOW];

  probe->id = id;
  probe->sent_us = lr_clock_now_us (self->clock);
  probe->answered = FALSE;
  probe->forgotten = FALSE;
  self->n_probes++;
  return probe->sent_us;
}

/**
 * lr_link_quality_answered:
 *
 * An answer to probe @id sent at @sent_us (both as the answer carries them back).
 *
 * The first answer ever also forgets the probes sent before it that are still unanswered:
 * they went out before the path could answer (the peer did not know this machine yet, or
 * was not bound on the relay), and counted as lost they would show a quarter of a new
 * path's probes lost for its first twenty seconds.
 *
 * Returns: %TRUE if it answered a probe of the window not answered before: latency,
 *   jitter and loss are updated. An unknown, repeated or forged answer changes nothing.
 */
gboolean
lr_link_quality_answered (LrLinkQuality *self,
                          guint64        id,
                          gint64         sent_us)
{
  gint64 now_us = lr_clock_now_us (self->clock);

  for (guint i = 0; i < MIN (self->n_probes, LR_LINK_QUALITY_WINDOW); i++)
    {
      LrLinkProbe *probe = &self->probes[i];
      double sample;

      if (probe->id != id || probe->answered || probe->forgotten || probe->sent_us != sent_us)
        continue;
      probe->answered = TRUE;
      sample = MAX (0, now_us - probe->sent_us) / 1000.0;
      if (self->latency_ms < 0)
        {
          self->latency_ms = sample;
          for (guint j = 0; j < MIN (self->n_probes, LR_LINK_QUALITY_WINDOW); j++)
            {
              LrLinkProbe *earlier = &self->probes[j];

              if (!earlier->answered && earlier->sent_us < sent_us)
                earlier->forgotten = TRUE;
            }
        }
      else
        self->latency_ms += RTT_ALPHA * (sample - self->latency_ms);
      if (self->last_sample_ms >= 0)
        {
          double deviation = ABS (sample - self->last_sample_ms);

          if (self->jitter_ms < 0)
            self->jitter_ms = deviation;
          else
            self->jitter_ms += JITTER_GAIN * (deviation - self->jitter_ms);
        }
      self->last_sample_ms = sample;
      lr_link_quality_update_loss (self);
      return TRUE;
    }
  return FALSE;
}

/* Returns: %TRUE if the loss changed */
gboolean
lr_link_quality_update_loss (LrLinkQuality *self)
{
  gint64 now_us = lr_clock_now_us (self->clock);
  guint counted = 0, lost = 0;
  double loss;

  for (guint i = 0; i < MIN (self->n_probes, LR_LINK_QUALITY_WINDOW); i++)
    {
      const LrLinkProbe *probe = &self->probes[i];

      if (probe->forgotten)
        continue;
      if (probe->answered)
        counted++;
      else if (now_us - probe->sent_us >= LR_LINK_PROBE_TIMEOUT_US)
        {
          counted++;
          lost++;
        }
    }
  loss = counted > 0 ? 100.0 * lost / counted : 0;
  if (loss == self->loss_percent)
    return FALSE;
  self->loss_percent = loss;
  return TRUE;
}

/**
 * lr_link_quality_name:
 *
 * The Quality property's words, from latency and loss as gamers feel them: under 30 ms
 * and 1 % loss is as good as a LAN ("excellent"), under 80 ms and 3 % "good", under
 * 150 ms and 10 % "fair"; past that a shooter is not playable ("poor"). "unknown" until a
 * latency is known (@latency_ms < 0).
 */
const char *
lr_link_quality_name (double latency_ms,
                      double loss_percent)
{
  if (latency_ms < 0)
    return "unknown";
  if (latency_ms < 30 && loss_percent < 1)
    return "excellent";
  if (latency_ms < 80 && loss_percent < 3)
    return "good";
  if (latency_ms < 150 && loss_percent < 10)
    return "fair";
  return "poor";
}
