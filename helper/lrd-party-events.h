/* lrd-party-events.h: the control server's live view of the party
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One LrdPartyEvents per party this machine is in, from the join (or restore) until it
 * leaves: the events WebSocket (reopened with backoff, 250 ms doubling to 10 s, ±25 %
 * jitter, whenever it closes), the heartbeats that keep this machine online on the server,
 * and the signals helpers send each other through the server. It reads nothing into the
 * party itself: it hands each event, parsed by lib/ (lr-control-answers.h), to whoever
 * listens.
 *
 * Signals:
 *   "event" (gpointer: const LrEvent *)  an event from the server, snapshot first after
 *                                        each (re)connection
 *   "gone" ()                            the server no longer knows the party or this
 *                                        membership (the socket or a heartbeat was refused)
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "lrd-control-client.h"

G_BEGIN_DECLS

#define LRD_TYPE_PARTY_EVENTS (lrd_party_events_get_type ())
G_DECLARE_FINAL_TYPE (LrdPartyEvents, lrd_party_events, LRD, PARTY_EVENTS, GObject)

LrdPartyEvents *lrd_party_events_new            (LrdControlClient  *client,
                                                 const char        *party_id,
                                                 const char        *peer_id,
                                                 const char        *token,
                                                 guint              heartbeat_interval_ms);
void            lrd_party_events_reconnect_now  (LrdPartyEvents    *self);
gboolean        lrd_party_events_send_signal    (LrdPartyEvents    *self,
                                                 const char        *to,
                                                 JsonNode          *data,
                                                 GError           **error);

G_END_DECLS
