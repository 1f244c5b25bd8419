/* lrd-shared-port.h: STUN and disco on WireGuard's own UDP port
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * WireGuard (the kernel's or wireguard-go) owns UDP port W. A NAT maps each local port on
 * its own, so the public endpoint that matters, and the hole that must be punched, is the
 * one of port W: a STUN request or a disco ping from any other port would discover and open
 * the wrong mapping. LrdSharedPort lets the helper talk from port W without binding it:
 *
 * - Receive: a raw socket (SOCK_RAW, IPPROTO_UDP) gets a copy of every UDP datagram the
 *   host receives. A classic BPF filter attached to it keeps only unfragmented datagrams to
 *   port W whose payload carries the STUN magic cookie (RFC 8489 section 5, bytes 4 to 7) or
 *   the disco magic (lib/lr-disco.h, bytes 0 to 7), so the helper never sees the tunnel's
 *   traffic. WireGuard gets its own copy of those datagrams and drops them as malformed.
 * - Send: through a raw socket as well, with a UDP header built here (source port W) and
 *   the checksum computed over the IPv4 pseudo-header (RFC 768), the source address being
 *   the one the kernel's route for the destination picks. For IPv6 the kernel computes and
 *   verifies the checksum (IPV6_CHECKSUM, RFC 3542 section 3.1), since IPv6 raw sockets
 *   see neither header's addresses before routing.
 *
 * This is what wireguard-tools' contrib NAT example and NetBird do with kernel WireGuard;
 * ../shared/LAB.md records that it works with wireguard-go and that the NAT maps these
 * datagrams exactly as WireGuard's own. Nothing else on the machine changes: no port is
 * bound, no firewall rule added. IPv6 is used where the machine has it (otherwise
 * lrd_shared_port_has_ipv6() is FALSE and sending to an IPv6 address fails).
 *
 * Needs CAP_NET_RAW, which the helper has. Everything runs on the thread-default main
 * context of the thread that created the object; nothing blocks.
 *
 * How the helper uses it: one LrdSharedPort per WireGuard listen port, made when the
 * interface comes up. LrdNatProber sends its STUN requests through it and listens to
 * ::stun-received; the disco layer (one per helper, feeding each LrdPeerLink) sends pings
 * and pongs through it and listens to ::disco-received.
 */
#pragma once

#include <gio/gio.h>

#include "lr-stun.h"

G_BEGIN_DECLS

#define LRD_TYPE_SHARED_PORT (lrd_shared_port_get_type ())
G_DECLARE_FINAL_TYPE (LrdSharedPort, lrd_shared_port, LRD, SHARED_PORT, GObject)

/* The largest payload sent: far above any STUN request or disco message. Datagrams of any
 * size are received. */
#define LRD_SHARED_PORT_MAX_PAYLOAD 1200

LrdSharedPort *lrd_shared_port_new        (guint16               port,
                                           GError              **error);
guint16        lrd_shared_port_get_port   (LrdSharedPort        *self);
gboolean       lrd_shared_port_has_ipv6   (LrdSharedPort        *self);
guint64        lrd_shared_port_get_n_read (LrdSharedPort        *self);
gboolean       lrd_shared_port_send       (LrdSharedPort        *self,
                                           const LrStunAddress  *to,
                                           const guint8         *data,
                                           gsize                 length,
                                           GError              **error);
gboolean       lrd_shared_port_get_source (LrdSharedPort        *self,
                                           const LrStunAddress  *to,
                                           LrStunAddress        *source,
                                           GError              **error);

G_END_DECLS
