/* lrd-lan-bridge.h: LAN game discovery across the party
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The bridge copies what local programs send for discovery (LrdLanCapture), sends it in an
 * LrLanFrame as unicast UDP to port LR_LAN_FRAME_PORT on each party member's virtual address
 * (through the tunnel: WireGuard encrypts it and it takes the peer's path, direct or
 * relayed), and hands what members send to local programs (LrdLanInject), as if the sender
 * were on this LAN. LrLanPolicy decides what passes, both ways; LrGameLobby lists the games
 * members announce, and those whose answers to a local program's query come back through
 * the tunnel (LrdLanReplyWatch).
 *
 * Whoever owns the party's peers tells the bridge who the members are
 * (lrd_lan_bridge_set_members), by virtual address: frames go to members only, and a frame
 * from any other address is dropped, so nothing is bridged for a host outside the party. The
 * bridge's socket is bound to the party interface and the virtual address, so only what
 * came through the tunnel (whose source WireGuard checked against the peer's allowed IPs)
 * reaches it.
 *
 * D-Bus, once wired into io.lanrage.Helper1 (proposed members, to be added to
 * data/io.lanrage.Helper1.xml):
 *
 *   property Games         a(sssqssx)  read   (lrd_lan_bridge_dup_games): title id, title,
 *                                             host's virtual address, port to connect to,
 *                                             name (MOTD), details, last seen (unix us)
 *   property BridgedPorts  a(sqstx)    read   (lrd_lan_bridge_dup_ports): destination
 *                                             address, port, last sender, count, last time
 *   property DenyList      a(qqss)     read   (lr_lan_policy_dup_deny_list_variant): first
 *                                             port, last port, group ("" for any
 *                                             destination), reason
 *   property KnownTitlesOnly b         read
 *   method SetDenyList (a(qqss) entries)      polkit io.lanrage.helper.configure
 *                                             (lr_lan_policy_set_deny_list_variant; its
 *                                             g_variant_print form is what to keep on disk)
 *   method ResetDenyList ()                   polkit io.lanrage.helper.configure
 *   method SetKnownTitlesOnly (b enabled)     polkit io.lanrage.helper.configure
 *
 * lanragectl games lists Games; the app's "Games in this party" shows them.
 */
#pragma once

#include <gio/gio.h>

#include "lr-clock.h"
#include "lr-lan-policy.h"

G_BEGIN_DECLS

#define LRD_TYPE_LAN_BRIDGE (lrd_lan_bridge_get_type ())
G_DECLARE_FINAL_TYPE (LrdLanBridge, lrd_lan_bridge, LRD, LAN_BRIDGE, GObject)

typedef struct
{
  guint64 captured;                       /* datagrams local programs sent */
  guint64 same_broadcast;                 /* ... again, to another broadcast address */
  guint64 frames_sent;                    /* frames sent, one per member */
  guint64 frames_received;                /* well-formed frames from members */
  guint64 frames_refused;                 /* from a non-member, or malformed */
  guint64 injected;                       /* handed to local programs */
  guint64 outgoing[LR_LAN_VERDICT_COUNT]; /* verdicts on captured datagrams */
  guint64 incoming[LR_LAN_VERDICT_COUNT]; /* verdicts on members' frames */
} LrdLanBridgeCounters;

/* Opens its sockets in the network namespace of the calling thread: the capture, the
 * injector, the reply watch on @ifname, and a UDP socket on
 * @virtual_address:LR_LAN_FRAME_PORT bound to @ifname (which must exist, but may not carry
 * the address yet). @prefix_length is the party network's (16 for 10.66.0.0/16). */
LrdLanBridge *lrd_lan_bridge_new          (LrClock               *clock,
                                           const char            *ifname,
                                           guint32                virtual_address,
                                           guint                  prefix_length,
                                           GError               **error);
/* The members' virtual addresses (host byte order), this host's own left out. */
void          lrd_lan_bridge_set_members  (LrdLanBridge          *self,
                                           const guint32         *addresses,
                                           guint                  n_addresses);
/* The policy, owned by the bridge: the D-Bus service edits it through lr_lan_policy_*. */
LrLanPolicy  *lrd_lan_bridge_get_policy   (LrdLanBridge          *self);
guint64       lrd_lan_bridge_get_sender   (LrdLanBridge          *self);
const LrdLanBridgeCounters *lrd_lan_bridge_get_counters (LrdLanBridge *self);
/* a(sssqssx), see above; floating references. */
GVariant     *lrd_lan_bridge_dup_games    (LrdLanBridge          *self);
/* a(sqstx), see above. */
GVariant     *lrd_lan_bridge_dup_ports    (LrdLanBridge          *self);

G_END_DECLS
