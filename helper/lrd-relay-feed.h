/* lrd-relay-feed.h: relay candidates and relay tokens for the relay client
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdRelayFeed gives the relay client (lrd-relay-client.h) what it needs from outside, for
 * as long as the party lasts:
 * - candidates, best first: the control server's list (from the join
 *   answer, then GET /v1/relays every 60 s), the configuration's relays=, the control
 *   server's host on UDP 3478;
 * - the relay token: the join answer's, then a new one (POST /v1/parties/ID/relay-token,
 *   retried with backoff) whenever the relay client asks (LrdRelayClient::token-needed).
 * It also shows what the relay client chose on io.lanrage.Helper1 (Relay, RelayRttMs,
 * RelayReason), being the only writer of those properties.
 *
 * LrdRelayFeed::gone says the server no longer knows the party or this membership.
 */
#pragma once

#include <gio/gio.h>

#include "lrd-control-client.h"
#include "lrd-dbus-generated.h"
#include "lrd-relay-client.h"

G_BEGIN_DECLS

#define LRD_TYPE_RELAY_FEED (lrd_relay_feed_get_type ())
G_DECLARE_FINAL_TYPE (LrdRelayFeed, lrd_relay_feed, LRD, RELAY_FEED, GObject)

/* @relay: (nullable): without a relay client (no data plane) the feed only keeps the
 * properties at their "none" values. */
LrdRelayFeed *lrd_relay_feed_new               (LrdControlClient   *client,
                                                LrdRelayClient     *relay,
                                                LrdHelper1         *iface);
void          lrd_relay_feed_set_config_relays (LrdRelayFeed       *self,
                                                const char * const *relays);
void          lrd_relay_feed_start             (LrdRelayFeed       *self,
                                                const char         *party_id,
                                                const char         *token,
                                                const char * const *server_relays,
                                                const char         *relay_token,
                                                gint64              relay_token_expires_at);
void          lrd_relay_feed_stop              (LrdRelayFeed       *self);

G_END_DECLS
