/* lrd-lan-capture.h: a passive copy of the discovery datagrams local programs send
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The firewall mark of every datagram the helper injects (lrd-lan-inject.h): the capture's
 * filter drops it in the kernel, so an injected datagram is never picked up again. */
#define LRD_LAN_INJECT_MARK 0x4c414e /* "LAN" */

/* One UDP datagram. Addresses in host byte order; @payload is only valid during the signal
 * emission (or the call) that hands it over. */
typedef struct
{
  guint32       source;
  guint16       source_port;
  guint32       destination;
  guint16       destination_port;
  int           ifindex;           /* the interface it left by */
  const guint8 *payload;
  gsize         payload_length;
} LrdLanDatagram;

/* Reads the IPv4 header and UDP header of @packet (@length bytes from the IP header on)
 * into @datagram, whose payload then points into @packet; FALSE if it is no well-formed,
 * unfragmented IPv4 UDP datagram. @datagram->ifindex is left 0. */
gboolean lrd_lan_datagram_parse (LrdLanDatagram *datagram,
                                 const guint8   *packet,
                                 gsize           length);

#define LRD_TYPE_LAN_CAPTURE (lrd_lan_capture_get_type ())
G_DECLARE_FINAL_TYPE (LrdLanCapture, lrd_lan_capture, LRD, LAN_CAPTURE, GObject)

/* Opens its sockets in the network namespace of the calling thread. Needs CAP_NET_RAW. */
LrdLanCapture *lrd_lan_capture_new          (GError        **error);
/* Datagrams captured and handed over, and those dropped as not from a local address or to
 * no local subnet's broadcast address, since creation. */
guint64        lrd_lan_capture_get_captured (LrdLanCapture  *self);
guint64        lrd_lan_capture_get_ignored  (LrdLanCapture  *self);

G_END_DECLS
