/* lrd-disco-router.h: disco messages between this helper and the party's peers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdDiscoRouter is the helper's one disco endpoint (lib/lr-disco.h) on WireGuard's port:
 * it listens to LrdSharedPort::disco-received, finds the sending peer by the disco key in
 * the packet, opens the message with the key this machine shares with that peer and that
 * peer's replay window, answers a ping with a pong (the address the ping came from), and
 * hands pings and pongs to the peer's handler (its LrdPeerLink, which feeds its path
 * policy). It seals what the links send with the same shared key and a counter started at
 * the wall clock in µs, so it keeps rising across restarts (lr-disco.h).
 *
 * Per peer it keeps the shared key (one X25519 multiplication, made when the peer is
 * added) and the replay window, both wiped when the peer is removed. Anything from a key
 * no peer has, anything that does not open and anything replayed is dropped silently: the
 * shared port is open to the internet.
 *
 * Call-me-maybe (this machine's candidates: the public endpoint and the LAN addresses) goes
 * through the control server's signal channel instead: sealed with lrd_disco_router_seal(),
 * and a peer's taken in with lrd_disco_router_deliver(), so a server that relays it cannot
 * change it.
 */
#pragma once

#include <gio/gio.h>

#include "lr-disco.h"
#include "lr-key.h"
#include "lrd-shared-port.h"

G_BEGIN_DECLS

/* A ping or pong from a peer, opened; @from: where it came from. A call-me-maybe, which
 * comes through the control server, has @from %NULL. */
typedef void (*LrdDiscoHandler) (const LrDiscoMessage *message,
                                 const LrStunAddress  *from,
                                 gpointer              user_data);

#define LRD_TYPE_DISCO_ROUTER (lrd_disco_router_get_type ())
G_DECLARE_FINAL_TYPE (LrdDiscoRouter, lrd_disco_router, LRD, DISCO_ROUTER, GObject)

LrdDiscoRouter *lrd_disco_router_new         (LrdSharedPort        *port,
                                              const LrKey          *own_public,
                                              const LrKey          *own_secret);
gboolean        lrd_disco_router_add_peer    (LrdDiscoRouter       *self,
                                              const LrKey          *peer_public,
                                              LrdDiscoHandler       handler,
                                              gpointer              user_data);
void            lrd_disco_router_remove_peer (LrdDiscoRouter       *self,
                                              const LrKey          *peer_public);
gboolean        lrd_disco_router_send        (LrdDiscoRouter       *self,
                                              const LrKey          *peer_public,
                                              const LrDiscoMessage *message,
                                              const LrStunAddress  *to,
                                              GError              **error);

gsize           lrd_disco_router_seal        (LrdDiscoRouter       *self,
                                              const LrKey          *peer_public,
                                              const LrDiscoMessage *message,
                                              guint8               *out,
                                              gsize                 size);
gboolean        lrd_disco_router_deliver     (LrdDiscoRouter       *self,
                                              const guint8         *data,
                                              gsize                 length);

G_END_DECLS
