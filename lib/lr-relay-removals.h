/* lr-relay-removals.h: the peers a relay must stop relaying for
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * lanrage-control answers a relay's registration (POST /v1/relays?removed_after=CURSOR) with
 * the peers removed from their parties since that cursor (docs/control-api.md):
 *
 *   {"removed": [{"party_id", "peer_id", "until"}], "cursor": N, "more": false}
 *
 * "until" (RFC 3339) is the latest expiry of any relay token minted before the removal; the
 * relay refuses the peer's tokens that expire by then. The relay sends "cursor" back with
 * its next registration; "more" says that another page is waiting.
 */
#define LR_RELAY_REMOVALS_PAGE 1000

typedef struct
{
  guint64 party;
  guint64 peer;
  gint64  until;   /* seconds since the epoch */
} LrRelayRemoval;

typedef struct
{
  GArray   *removed;   /* of LrRelayRemoval */
  guint64   cursor;
  gboolean  more;
} LrRelayRemovals;

LrRelayRemovals *lr_relay_removals_parse (const char      *data,
                                          gsize            length,
                                          GError         **error);
void             lr_relay_removals_free  (LrRelayRemovals *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LrRelayRemovals, lr_relay_removals_free)

G_END_DECLS
