/* lrd-relay-client-private.h: the relay client's decision logic, for its unit tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lrd-relay-client.h"

G_BEGIN_DECLS

/* What the choice knows of one candidate. Times come from the client's LrClock. */
typedef struct
{
  double rtt_ms;            /* smoothed round-trip time, < 0 until the first answer */
  gint64 last_answer_us;    /* 0: never answered */
  gint64 unusable_until_us; /* refused us (full, no relaying, no BOUND) until then */
} LrdRelayMeasure;

typedef enum
{
  LRD_RELAY_CHOICE_KEEP,   /* the current relay stays (or nothing chosen, nothing to choose) */
  LRD_RELAY_CHOICE_FIRST,  /* none was chosen; the lowest RTT of the answering ones */
  LRD_RELAY_CHOICE_BETTER, /* clearly better than the current one in two rounds */
  LRD_RELAY_CHOICE_DEAD,   /* the current one stopped answering or refused us */
  LRD_RELAY_CHOICE_NONE,   /* no candidate answers */
} LrdRelayChoiceReason;

/* The hysteresis state carried from one call to the next. */
typedef struct
{
  int   contender;        /* index of the clearly better candidate, or -1 */
  guint contender_rounds; /* consecutive finished rounds it was clearly better */
} LrdRelayChoice;

int                  lrd_relay_choose            (LrdRelayChoice        *choice,
                                                  const LrdRelayMeasure *measures,
                                                  guint                  n_measures,
                                                  int                    current,
                                                  gboolean               round_done,
                                                  gint64                 now_us,
                                                  LrdRelayChoiceReason  *out_reason);
gboolean             lrd_relay_measure_is_usable (const LrdRelayMeasure *measure,
                                                  gboolean               is_current,
                                                  gint64                 now_us);

/* For the tests: the address of the client's relay-facing IPv4 socket, or %NULL. */
GInetSocketAddress  *lrd_relay_client_dup_relay_socket_address (LrdRelayClient *self);

G_END_DECLS
