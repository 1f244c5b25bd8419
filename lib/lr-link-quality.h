/* lr-link-quality.h: latency, jitter and loss of the path to one peer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pure logic on an injected LrClock. The caller sends a probe now and then (it says when,
 * and carries the id and the send time this returns in the probe) and reports each answer;
 * this keeps the last LR_LINK_QUALITY_WINDOW probes and derives:
 * - latency: the round-trip time, smoothed as RFC 6298 section 2 smooths an RTT
 *   (SRTT <- 7/8 SRTT + 1/8 R);
 * - jitter: the mean deviation of consecutive round-trip times, smoothed as RFC 3550
 *   section 6.4.1 smooths interarrival jitter (J <- J + (|D| - J) / 16);
 * - loss: the share of the window's probes that got no answer within
 *   LR_LINK_PROBE_TIMEOUT_US (a probe still waiting counts neither way);
 * and the Quality word lr_link_quality_name() gives for latency and loss.
 */
#pragma once

#include "lr-clock.h"

G_BEGIN_DECLS

#define LR_LINK_QUALITY_WINDOW   10
/* A probe without answer for two seconds is lost: no game waits longer for a packet. */
#define LR_LINK_PROBE_TIMEOUT_US (2 * G_USEC_PER_SEC)

typedef struct
{
  guint64  id;
  gint64   sent_us;
  gboolean answered;
  gboolean forgotten;  /* sent before the path ever answered: neither lost nor answered */
} LrLinkProbe;

typedef struct
{
  LrClock     *clock;
  LrLinkProbe  probes[LR_LINK_QUALITY_WINDOW];
  guint        n_probes;       /* total sent; the ring index is n % WINDOW */
  double       latency_ms;     /* < 0 until the first answer */
  double       jitter_ms;      /* < 0 until the second answer */
  double       loss_percent;   /* 0..100 */
  double       last_sample_ms; /* < 0 until the first answer */
} LrLinkQuality;

void        lr_link_quality_init        (LrLinkQuality *self,
                                         LrClock       *clock);
void        lr_link_quality_clear       (LrLinkQuality *self);
gint64      lr_link_quality_sent        (LrLinkQuality *self,
                                         guint64        id);
gboolean    lr_link_quality_answered    (LrLinkQuality *self,
                                         guint64        id,
                                         gint64         sent_us);
gboolean    lr_link_quality_update_loss (LrLinkQuality *self);
const char *lr_link_quality_name        (double         latency_ms,
                                         double         loss_percent);

G_END_DECLS
