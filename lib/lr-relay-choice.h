/* lr-relay-choice.h: which lanrage-relay a client sends through
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pure logic on an injected LrClock: the relay client measures its candidates with PINGs
 * and asks this which one to use. Among those that answer, the lowest round-trip time wins,
 * unless one listed earlier is about as near (the lists come best-first, so peers of a
 * party whose relays are about as near all choose the same one). The chosen relay stays
 * until it stops answering or another is clearly better in two rounds in a row
 * (hysteresis: a switch costs a re-BIND and perhaps a lost packet, so two similar relays
 * are never flapped between).
 */
#pragma once

#include "lr-clock.h"

G_BEGIN_DECLS

/* Candidates are measured again this often once a relay is chosen: often enough to follow
 * a route change within a minute, rarely enough that a thousand clients cost a relay
 * nothing. */
#define LR_RELAY_ROUND_INTERVAL_US (30 * G_USEC_PER_SEC)
/* A round ends when every candidate answered or after this: a relay a second away is of no
 * use for games anyway. */
#define LR_RELAY_ROUND_TIMEOUT_US (1 * G_USEC_PER_SEC)
/* The chosen relay is pinged every second: three missed pongs (plus some slack for the
 * client's 100 ms tick) and it is dead. */
#define LR_RELAY_DEAD_AFTER_US (3500 * 1000)
/* A candidate that is not chosen answered in one of the last two rounds, or is stale. */
#define LR_RELAY_STALE_AFTER_US (2 * LR_RELAY_ROUND_INTERVAL_US + LR_RELAY_ROUND_TIMEOUT_US)

/* What the choice knows of one candidate. Times come from the same LrClock. */
typedef struct
{
  double rtt_ms;            /* smoothed round-trip time, < 0 until the first answer */
  gint64 last_answer_us;    /* 0: never answered */
  gint64 unusable_until_us; /* refused us (full, no relaying, no BOUND) until then */
} LrRelayMeasure;

typedef enum
{
  LR_RELAY_CHOICE_KEEP,   /* the current relay stays (or nothing chosen, nothing to choose) */
  LR_RELAY_CHOICE_FIRST,  /* none was chosen; the lowest RTT of the answering ones */
  LR_RELAY_CHOICE_BETTER, /* clearly better than the current one in two rounds */
  LR_RELAY_CHOICE_DEAD,   /* the current one stopped answering or refused us */
  LR_RELAY_CHOICE_NONE,   /* no candidate answers */
} LrRelayChoiceReason;

/* The choice's clock and the hysteresis carried from one call to the next. */
typedef struct
{
  LrClock *clock;
  int      contender;        /* index of the clearly better candidate, or -1 */
  guint    contender_rounds; /* consecutive finished rounds it was clearly better */
} LrRelayChoice;

void     lr_relay_choice_init       (LrRelayChoice         *self,
                                     LrClock               *clock);
void     lr_relay_choice_clear      (LrRelayChoice         *self);
int      lr_relay_choice_choose     (LrRelayChoice         *self,
                                     const LrRelayMeasure  *measures,
                                     guint                  n_measures,
                                     int                    current,
                                     gboolean               round_done,
                                     LrRelayChoiceReason   *out_reason);
int      lr_relay_choice_standby    (const LrRelayMeasure  *measures,
                                     guint                  n_measures,
                                     int                    current,
                                     gint64                 now_us);
gboolean lr_relay_measure_is_usable (const LrRelayMeasure  *measure,
                                     gboolean               is_current,
                                     gint64                 now_us);

G_END_DECLS
