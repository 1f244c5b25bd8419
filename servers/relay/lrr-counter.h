/* lrr-counter.h: what the relay counts
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Each worker keeps its own array of these, written only by itself (relaxed stores, no
 * locked instruction); /metrics sums them. The drop reasons come last, from
 * LRR_COUNTER_FIRST_DROP, and become the `reason` label of
 * lanrage_relay_dropped_packets_total. */
typedef enum
{
  LRR_COUNTER_RECEIVED_PACKETS,
  LRR_COUNTER_RECEIVED_BYTES,
  LRR_COUNTER_SENT_PACKETS,
  LRR_COUNTER_SENT_BYTES,
  LRR_COUNTER_FORWARDED_PACKETS,
  LRR_COUNTER_FORWARDED_BYTES,
  LRR_COUNTER_STUN_REQUESTS,
  LRR_COUNTER_BINDS,
  LRR_COUNTER_ERRORS_SENT,
  LRR_COUNTER_ERRORS_SUPPRESSED,

  LRR_COUNTER_DROP_GARBAGE,
  LRR_COUNTER_FIRST_DROP = LRR_COUNTER_DROP_GARBAGE,
  LRR_COUNTER_DROP_TRUNCATED,
  LRR_COUNTER_DROP_OVERSIZE,
  LRR_COUNTER_DROP_BAD_VERSION,
  LRR_COUNTER_DROP_MALFORMED,
  LRR_COUNTER_DROP_UNEXPECTED,
  LRR_COUNTER_DROP_NOT_BOUND,
  LRR_COUNTER_DROP_EXPIRED,
  LRR_COUNTER_DROP_UNKNOWN_DESTINATION,
  LRR_COUNTER_DROP_RATE_LIMITED,
  LRR_COUNTER_DROP_DENIED,
  LRR_COUNTER_DROP_BAD_TOKEN,
  LRR_COUNTER_DROP_STALE,     /* BIND timestamp out of the window */
  LRR_COUNTER_DROP_REPLAYED,  /* BIND counter not above the last one taken */
  LRR_COUNTER_DROP_REVOKED,   /* BIND of a peer removed from its party */
  LRR_COUNTER_DROP_FULL,
  LRR_COUNTER_DROP_NO_RELAYING,
  LRR_COUNTER_DROP_STUN_MALFORMED,
  LRR_COUNTER_DROP_STUN_RATE_LIMITED,
  LRR_COUNTER_DROP_SEND_FAILED,
  LRR_N_COUNTERS,
} LrrCounter;

const char *lrr_counter_get_name (LrrCounter counter);

G_END_DECLS
