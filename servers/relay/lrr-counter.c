/* lrr-counter.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrr-counter.h"

static const char * const names[LRR_N_COUNTERS] = {
  [LRR_COUNTER_RECEIVED_PACKETS] = "received_packets",
  [LRR_COUNTER_RECEIVED_BYTES] = "received_bytes",
  [LRR_COUNTER_SENT_PACKETS] = "sent_packets",
  [LRR_COUNTER_SENT_BYTES] = "sent_bytes",
  [LRR_COUNTER_FORWARDED_PACKETS] = "forwarded_packets",
  [LRR_COUNTER_FORWARDED_BYTES] = "forwarded_bytes",
  [LRR_COUNTER_STUN_REQUESTS] = "stun_requests",
  [LRR_COUNTER_BINDS] = "binds",
  [LRR_COUNTER_ERRORS_SENT] = "errors_sent",
  [LRR_COUNTER_ERRORS_SUPPRESSED] = "errors_suppressed",
  [LRR_COUNTER_DROP_GARBAGE] = "garbage",
  [LRR_COUNTER_DROP_TRUNCATED] = "truncated",
  [LRR_COUNTER_DROP_OVERSIZE] = "oversize",
  [LRR_COUNTER_DROP_BAD_VERSION] = "bad_version",
  [LRR_COUNTER_DROP_MALFORMED] = "malformed",
  [LRR_COUNTER_DROP_UNEXPECTED] = "unexpected",
  [LRR_COUNTER_DROP_NOT_BOUND] = "not_bound",
  [LRR_COUNTER_DROP_EXPIRED] = "expired",
  [LRR_COUNTER_DROP_UNKNOWN_DESTINATION] = "unknown_destination",
  [LRR_COUNTER_DROP_RATE_LIMITED] = "rate_limited",
  [LRR_COUNTER_DROP_DENIED] = "denied",
  [LRR_COUNTER_DROP_BAD_TOKEN] = "bad_token",
  [LRR_COUNTER_DROP_STALE] = "stale",
  [LRR_COUNTER_DROP_REPLAYED] = "replayed",
  [LRR_COUNTER_DROP_REVOKED] = "revoked",
  [LRR_COUNTER_DROP_FULL] = "full",
  [LRR_COUNTER_DROP_NO_RELAYING] = "no_relaying",
  [LRR_COUNTER_DROP_STUN_MALFORMED] = "stun_malformed",
  [LRR_COUNTER_DROP_STUN_RATE_LIMITED] = "stun_rate_limited",
  [LRR_COUNTER_DROP_SEND_FAILED] = "send_failed",
};

const char *
lrr_counter_get_name (LrrCounter counter)
{
  g_return_val_if_fail (counter < LRR_N_COUNTERS, "unknown");
  return names[counter];
}
