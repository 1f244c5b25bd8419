/* lrd-disco-router.h: disco messages between this helper and the party's peers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdDiscoRouter is the helper's one disco endpoint (lib/lr-disco.h), on both paths to a
 * peer: WireGuard's port (LrdSharedPort::disco-received, where the raw sockets can be had)
 * and the relay (LrdRelayClient::disco-received). It finds the sending peer by the disco key
 * in the packet (through the relay: the peer the relay names, whose key must open it), opens
 * the message with the key this machine shares with that peer and that peer's replay window
 * (one for both paths), answers a ping with a pong the way the ping came (with the address
 * it came from: the relay's, through the relay), and hands the messages to the peer's
 * handler (its LrdPeerLink, which feeds its path policy). It seals what the links send with
 * the same shared key and a counter started at the wall clock in µs, so it keeps rising
 * across restarts (lr-disco.h).
 *
 * The relayed path is measured with the same pings: the router pings each peer through the
 * relay every two seconds while the relay client is bound and keeps latency, jitter and
 * loss of the pongs (lrd_disco_router_get_relay_quality()), the relayed path's only
 * measure.
 *
 * Per peer it keeps the shared key (one X25519 multiplication, made when the peer is
 * added) and the replay window, both wiped when the peer is removed. Anything from a key
 * no peer has, anything that does not open and anything replayed is dropped silently: the
 * shared port is open to the internet.
 *
 * Call-me-maybe (this machine's candidates: the public endpoint and the LAN addresses) goes
 * through the relay (lrd_disco_router_send() with no address) and through the control
 * server's signal channel: sealed with lrd_disco_router_seal(), and a peer's taken in with
 * lrd_disco_router_deliver(), so a server that passes it on cannot change it. One that comes
 * to WireGuard's port is dropped: it is only ever sent those two ways.
 */
#pragma once

#include <gio/gio.h>

#include "lr-disco.h"
#include "lr-key.h"
#include "lr-link-quality.h"
#include "lrd-relay-client.h"
#include "lrd-shared-port.h"

G_BEGIN_DECLS

/* A message from a peer, opened; @from: where it came from on the direct path, %NULL when
 * it came through the relay or the signal channel. @message %NULL: the relayed path's
 * measure changed (a pong came back, or a ping went unanswered). */
typedef void (*LrdDiscoHandler) (const LrDiscoMessage *message,
                                 const LrStunAddress  *from,
                                 gpointer              user_data);

#define LRD_TYPE_DISCO_ROUTER (lrd_disco_router_get_type ())
G_DECLARE_FINAL_TYPE (LrdDiscoRouter, lrd_disco_router, LRD, DISCO_ROUTER, GObject)

LrdDiscoRouter *lrd_disco_router_new         (LrdSharedPort        *port,
                                              LrdRelayClient       *relay,
                                              const LrKey          *own_public,
                                              const LrKey          *own_secret,
                                              LrClock              *clock);
gboolean        lrd_disco_router_has_direct  (LrdDiscoRouter       *self);
gboolean        lrd_disco_router_add_peer    (LrdDiscoRouter       *self,
                                              const LrKey          *peer_public,
                                              guint64               relay_id,
                                              LrdDiscoHandler       handler,
                                              gpointer              user_data);
void            lrd_disco_router_remove_peer (LrdDiscoRouter       *self,
                                              const LrKey          *peer_public);
gboolean        lrd_disco_router_send        (LrdDiscoRouter       *self,
                                              const LrKey          *peer_public,
                                              const LrDiscoMessage *message,
                                              const LrStunAddress  *to,
                                              GError              **error);

const LrLinkQuality *
                lrd_disco_router_get_relay_quality (LrdDiscoRouter *self,
                                                    const LrKey    *peer_public);

gsize           lrd_disco_router_seal        (LrdDiscoRouter       *self,
                                              const LrKey          *peer_public,
                                              const LrDiscoMessage *message,
                                              guint8               *out,
                                              gsize                 size);
gboolean        lrd_disco_router_deliver     (LrdDiscoRouter       *self,
                                              const guint8         *data,
                                              gsize                 length);

G_END_DECLS
