/* lrd-peer-table.h: the other members of the party, one LrdPeerLink each
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdPeerTable holds the links by peer id and keeps them fed: what the control server says
 * of each peer (through the session, which checks it first), what the relay client reports
 * (a new relay state or a peer's new measures), and WireGuard's counters, read for the
 * whole interface every 2 s and handed to each link. It writes no D-Bus property itself:
 * each link writes its own.
 */
#pragma once

#include <gio/gio.h>

#include "lrd-peer-link.h"

G_BEGIN_DECLS

#define LRD_TYPE_PEER_TABLE (lrd_peer_table_get_type ())
G_DECLARE_FINAL_TYPE (LrdPeerTable, lrd_peer_table, LRD, PEER_TABLE, GObject)

/* @backend, @relay: (nullable): both %NULL without a data plane. @clock: (nullable). */
LrdPeerTable *lrd_peer_table_new        (GDBusObjectManagerServer *manager,
                                         LrdWgBackend             *backend,
                                         LrdRelayClient           *relay,
                                         LrClock                  *clock);

void          lrd_peer_table_upsert     (LrdPeerTable             *self,
                                         const LrPeer             *peer,
                                         const LrKey              *wg_key);
void          lrd_peer_table_remove     (LrdPeerTable             *self,
                                         const char               *peer_id);
void          lrd_peer_table_keep_only  (LrdPeerTable             *self,
                                         GHashTable               *peer_ids);
void          lrd_peer_table_clear      (LrdPeerTable             *self);
void          lrd_peer_table_set_disco  (LrdPeerTable             *self,
                                         LrdDiscoRouter           *disco);
void          lrd_peer_table_network_changed (LrdPeerTable        *self);
LrdPeerLink  *lrd_peer_table_lookup     (LrdPeerTable             *self,
                                         const char               *peer_id);
GPtrArray    *lrd_peer_table_dup_links  (LrdPeerTable             *self);
void          lrd_peer_table_add_status (LrdPeerTable             *self,
                                         GVariantBuilder          *peers);
GArray       *lrd_peer_table_dup_addresses (LrdPeerTable          *self);

G_END_DECLS
