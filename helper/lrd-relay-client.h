/* lrd-relay-client.h: this machine's side of lanrage-relay
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * LrdRelayClient carries the party's WireGuard datagrams through lanrage-relay
 * (lib/lr-relay-frame.h is the wire format): it sends through the one relay it chooses and
 * receives through every relay it is bound on.
 *
 * - Candidates come from the session, in this order, best first (the control server's list,
 *   the config's relays=, the control server's host on UDP 3478). Each is resolved
 *   asynchronously and measured with PING frames; among those that answer, the lowest RTT
 *   wins. RTTs are measured again now and then, and the client moves to a clearly better
 *   relay only (hysteresis: it never flaps between two similar ones). A relay that stops
 *   answering is left for the best other one at once.
 * - A relay forwards DATA only between peers bound on that relay, and each peer chooses
 *   its relay on its own: two peers far apart may choose different ones. So the client
 *   BINDs with the party's relay token not only on the chosen relay but on every usable
 *   candidate (one that answers its PINGs and has not refused the token), and BINDs again
 *   on each well within the relay's idle timeout (which also keeps the NAT mapping open and
 *   follows an address change): one 85-byte BIND per relay every 25 s. Peer A on relay R1
 *   then reaches peer B on relay R2 through R1, where B is bound too, and B answers
 *   through R2. A relay that stops answering (three BINDs without BOUND, or no PONG for a
 *   minute) or refuses the token is dropped from the bound set; if it was the chosen one,
 *   the client moves to the best other at once, usually bound there already. Before that,
 *   as soon as the chosen relay's pong is late, DATA also goes out through that best
 *   other relay until the chosen one answers again (lrd-relay-client.c: SUSPECT_GRACE_US),
 *   so the tunnel does not wait for the deadline. It asks for a
 *   new token through LrdRelayClient::token-needed before the token expires or when the
 *   chosen relay refuses it (expired, bad token).
 * - Each peer gets a UDP socket on 127.0.0.1 (lrd_relay_client_add_peer): that socket's
 *   address is the peer's WireGuard endpoint. What WireGuard sends to it goes to the relay
 *   as DATA for that peer; DATA from the relay for that peer comes out of that socket to
 *   WireGuard's listen port on 127.0.0.1. DATA goes out through the chosen relay only; DATA
 *   (and disco) come in from any relay the client is bound on. Only datagrams from
 *   WireGuard's own port are taken on a peer socket, and only frames from candidates'
 *   addresses on the relay socket (STUN answers from the chosen relay's only). The
 *   loopback endpoints stay the same when the relay changes, so the tunnel never notices a
 *   switch.
 * - The relay's STUN answer (a padded Binding request, so the relay never answers more
 *   bytes than it got) gives this machine's public endpoint.
 * - Disco (lib/lr-disco.h) travels through the relay too, in DATA frames told apart from
 *   WireGuard's by their first bytes (lrd-relay-client.c): the disco router sends with
 *   lrd_relay_client_send_disco() and takes what comes with ::disco-received, and so
 *   measures the relayed path with the same pings and pongs as the direct one.
 *
 * Everything runs on the thread-default main context of the thread that created the
 * client; nothing blocks. Tokens are never logged.
 */
#pragma once

#include <gio/gio.h>

#include "lr-addr.h"
#include "lr-clock.h"

G_BEGIN_DECLS

#define LRD_TYPE_RELAY_CLIENT (lrd_relay_client_get_type ())
G_DECLARE_FINAL_TYPE (LrdRelayClient, lrd_relay_client, LRD, RELAY_CLIENT, GObject)

/**
 * LrdRelayClientState:
 * @LRD_RELAY_CLIENT_STOPPED: no token yet, or stopped
 * @LRD_RELAY_CLIENT_SEARCHING: measuring candidates, none chosen yet
 * @LRD_RELAY_CLIENT_BOUND: bound on the chosen relay (and perhaps on others); DATA flows
 * @LRD_RELAY_CLIENT_FAILED: no candidate answers, or every one refuses the token;
 *   lrd_relay_client_get_problem() says what is wrong. The client keeps trying.
 */
typedef enum
{
  LRD_RELAY_CLIENT_STOPPED,
  LRD_RELAY_CLIENT_SEARCHING,
  LRD_RELAY_CLIENT_BOUND,
  LRD_RELAY_CLIENT_FAILED,
} LrdRelayClientState;

/* @clock: for the decisions that depend on time (RTT age, hysteresis, token refresh);
 * %NULL for the system clock. @wg_port: WireGuard's listen port on this machine. */
LrdRelayClient *lrd_relay_client_new (LrClock *clock,
                                      guint16  wg_port);

/* Candidates as "host:port" (IPv6 literals as "[addr]:port"), best-first as the session
 * knows them; replaces the previous list. Duplicates are ignored; a bad entry is skipped
 * with a warning. The chosen relay stays chosen while it is still a candidate. */
void        lrd_relay_client_set_candidates (LrdRelayClient      *self,
                                             const char * const  *endpoints);

/* The relay token from lanrage-control (opaque text; see lr-relay-token.h) and when it
 * expires (µs since the epoch). Setting a token starts the client; a new token re-BINDs. */
void        lrd_relay_client_set_token      (LrdRelayClient      *self,
                                             const char          *relay_token,
                                             gint64               expires_at_us);

/* Stops: closes every socket, forgets token and peers. The client can be started again
 * with set_token. */
void        lrd_relay_client_stop           (LrdRelayClient      *self);

/* Opens the loopback socket for @peer_id (lr-id.h as a number) and gives its address in
 * @out_endpoint, to use as the peer's WireGuard endpoint. Adding a peer twice returns
 * the same address. What WireGuard sends there before a relay is bound is held (the latest
 * datagram) and sent once one is. What a relay brings for the peer is held (the latest
 * datagram, also from before it was added) until lrd_relay_client_peer_ready() says
 * WireGuard knows the peer. */
gboolean            lrd_relay_client_add_peer    (LrdRelayClient  *self,
                                                  guint64          peer_id,
                                                  LrAddr          *out_endpoint,
                                                  GError         **error);
void                lrd_relay_client_peer_ready  (LrdRelayClient  *self,
                                                  guint64          peer_id);
void                lrd_relay_client_remove_peer (LrdRelayClient  *self,
                                                  guint64          peer_id);
/* Whether WireGuard's endpoint for @peer_id is the peer's own address now (see
 * ::wireguard-roamed). */
void                lrd_relay_client_set_peer_direct (LrdRelayClient *self,
                                                      guint64         peer_id,
                                                      gboolean        direct);

LrdRelayClientState lrd_relay_client_get_state   (LrdRelayClient  *self);
/* "host:port" of the chosen relay (the one DATA goes out through) as the candidate list
 * named it, or "" */
const char *lrd_relay_client_get_relay           (LrdRelayClient  *self);
gboolean    lrd_relay_client_get_relay_address   (LrdRelayClient  *self,
                                                  LrAddr          *out);
/* Smoothed RTT to the chosen relay in ms, or -1 */
double      lrd_relay_client_get_relay_rtt_ms    (LrdRelayClient  *self);
/* Why this relay: a sentence for people ("lowest round-trip time of 3 answering relays"),
 * or "" */
const char *lrd_relay_client_get_reason          (LrdRelayClient  *self);
/* This machine's address and port as the relay sees them, "" until known */
const char *lrd_relay_client_get_public_endpoint (LrdRelayClient  *self);
/* In FAILED state, what is wrong in words a player understands; "" otherwise */
const char *lrd_relay_client_get_problem         (LrdRelayClient  *self);

gboolean    lrd_relay_client_send_disco          (LrdRelayClient  *self,
                                                  guint64          peer_id,
                                                  const guint8    *packet,
                                                  gsize            length,
                                                  GError         **error);

/* Signals:
 *   "changed" ()                 state, relay, RTT, reason, public endpoint or problem changed
 *   "disco-received" (guint64 id, const guint8 *packet, guint length)
 *                                a disco message from peer @id came through a relay (the
 *                                buffer is valid during the emission only)
 *   "token-needed" ()            the token expires soon or the relay refused it: the session
 *                                asks lanrage-control for a new one and calls set_token
 *   "wireguard-roamed" (guint64 id)
 *                                while peer @id is direct, WireGuard sent to its loopback
 *                                socket or a relay brought it a packet from the peer:
 *                                WireGuard roamed (or will) back to the relay's socket
 */

G_END_DECLS
