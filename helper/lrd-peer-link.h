/* lrd-peer-link.h: this machine's link to one other member of the party
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One LrdPeerLink per other member. It owns everything about reaching that peer: its
 * exported io.lanrage.Helper1.Peer object (it is the only writer of those properties), its
 * WireGuard peer (key, /32 allowed IP, endpoint, keepalive), the path the packets take and
 * what is measured of it (latency, jitter, loss, WireGuard's counters).
 *
 * The endpoint WireGuard uses for the peer is the link's decision, made by the peer's
 * LrPathPolicy (lib/lr-path-policy.h), which the link alone drives: the relay client's
 * loopback socket for the peer at first and whenever the direct path fails, the peer's own
 * address (public or LAN) once a disco pong came back from it. Disco goes through the
 * helper's LrdDiscoRouter, on WireGuard's port and through the relay (whose pings measure
 * the relayed path); the peer's candidates are those of its call-me-maybe and the endpoints
 * the control server lists for it (its STUN address and its LAN addresses, which it
 * publishes).
 *
 * Without a data plane (no WireGuard backend: the --session test mode) a link only shows
 * what the control server says of the peer.
 */
#pragma once

#include <gio/gio.h>

#include "lr-clock.h"
#include "lr-control-models.h"
#include "lr-key.h"
#include "lrd-dbus-generated.h"
#include "lrd-disco-router.h"
#include "lr-path-policy.h"
#include "lrd-relay-client.h"
#include "lrd-wg-backend.h"

G_BEGIN_DECLS

#define LRD_TYPE_PEER_LINK (lrd_peer_link_get_type ())
G_DECLARE_FINAL_TYPE (LrdPeerLink, lrd_peer_link, LRD, PEER_LINK, GObject)

LrdPeerLink    *lrd_peer_link_new             (const char                *peer_id,
                                               GDBusObjectManagerServer  *manager,
                                               LrdWgBackend              *backend,
                                               LrdRelayClient            *relay,
                                               LrClock                   *clock);

void            lrd_peer_link_update          (LrdPeerLink               *self,
                                               const LrPeer              *peer,
                                               const LrKey               *wg_key);
void            lrd_peer_link_remove          (LrdPeerLink               *self);
void            lrd_peer_link_set_stats       (LrdPeerLink               *self,
                                               const LrdWgPeerStats      *stats);
void            lrd_peer_link_refresh         (LrdPeerLink               *self);
void            lrd_peer_link_wireguard_roamed (LrdPeerLink              *self);
void            lrd_peer_link_set_disco       (LrdPeerLink               *self,
                                               LrdDiscoRouter            *disco);
void            lrd_peer_link_network_changed (LrdPeerLink               *self);

const char     *lrd_peer_link_get_id          (LrdPeerLink               *self);
guint64         lrd_peer_link_get_number      (LrdPeerLink               *self);
const LrKey    *lrd_peer_link_get_wg_key      (LrdPeerLink               *self);
const LrKey    *lrd_peer_link_get_disco_key   (LrdPeerLink               *self);
const char     *lrd_peer_link_get_object_path (LrdPeerLink               *self);
LrdHelper1Peer *lrd_peer_link_get_peer        (LrdPeerLink               *self);

G_END_DECLS
