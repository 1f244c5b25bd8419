/* lrr-context.h: what the forwarding workers share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "lr-stun.h"
#include "lrr-deny-list.h"
#include "lrr-epoch.h"
#include "lrr-peer-table.h"

G_BEGIN_DECLS

/* RFC 5780 section 4.1: the server answers from four address/port pairs. Index bit 0 is
 * "the other port", bit 1 "the other address", so a CHANGE-REQUEST is an XOR. */
#define LRR_SOCKET_PRIMARY 0
#define LRR_N_SOCKETS      4

/*
 * LrrContext: set up by LrrServer before the workers start and read by them without a
 * lock. Only @deny and @stopping change afterwards (an atomic pointer, freed through @epoch) and the
 * peer table, which has its own rules (lrr-peer-table.c).
 */
typedef struct
{
  GBytes        *secret;         /* NULL: no relaying, STUN only */
  guint          max_clients;
  guint64        client_pps;
  guint64        client_bps;
  gint64         idle_ms;
  guint          error_rate;     /* error replies per second per worker */
  guint          stun_rate;      /* STUN answers larger than their request, per s per worker */

  gboolean       rfc5780;
  int            sockets[LRR_N_SOCKETS];   /* [0] is worker 0's primary socket */
  LrStunAddress  addresses[LRR_N_SOCKETS];

  LrrEpoch      *epoch;
  LrrPeerTable  *peers;
  LrrDenyList   *deny;           /* atomic */
  gint           stopping;       /* atomic: the workers return when set */
} LrrContext;

G_END_DECLS
