/* lr-lan-frame.h: a LAN discovery datagram carried through the tunnel
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * When a local program sends a discovery datagram (to 255.255.255.255, a subnet's broadcast
 * address or an IPv4 multicast group), the helper copies it and sends it, in one of these
 * frames, as unicast UDP to LR_LAN_FRAME_PORT on each party member's virtual address, so
 * WireGuard encrypts it and it takes that peer's path. The receiving helper hands the payload
 * to its local programs as if the sender were on the same LAN: from the sender's virtual
 * address (the frame's own source address, which WireGuard authenticated) and the original
 * source port, to the original destination.
 *
 * All fields big endian, 24 bytes of header then the datagram's payload:
 *
 *   0..1    magic "LD" (0x4c 0x44)
 *   2       version (LR_LAN_FRAME_VERSION)
 *   3       flags, reserved: 0 (a version-1 reader refuses anything else)
 *   4..5    source port the local program sent from (never 0)
 *   6..9    destination address the program sent to: 255.255.255.255, a multicast group
 *           (224.0.0.0/4), or a directed broadcast (the last two bits set, as in every
 *           subnet's broadcast address from /8 to /30)
 *   10..11  destination port (never 0)
 *   12..19  sender id: 64 random bits the sending helper draws when its bridge starts, so a
 *           frame that comes back to its sender is recognised (never 0)
 *   20..23  sequence number, one more for every frame the sender sends, so a frame seen
 *           twice is dropped (lr-lan-policy.h)
 *   24..    the payload, 0 to LR_LAN_FRAME_MAX_PAYLOAD bytes
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LR_LAN_FRAME_VERSION     1
#define LR_LAN_FRAME_HEADER_SIZE 24
/* The largest UDP payload one Ethernet frame carries (1500 - 20 - 8): a LAN announcement
 * that needs IP fragments on its own LAN is not one any game sends (Minecraft's is about 60
 * bytes, Warcraft III's GAMEINFO about 150). */
#define LR_LAN_FRAME_MAX_PAYLOAD 1472
#define LR_LAN_FRAME_MAX_SIZE    (LR_LAN_FRAME_HEADER_SIZE + LR_LAN_FRAME_MAX_PAYLOAD)

/* The UDP port each helper's bridge listens on, bound to its virtual address only (never on
 * a physical interface). 8667 sits next to the control server's 8666 and is assigned to no
 * game we know of. */
#define LR_LAN_FRAME_PORT 8667

typedef enum
{
  LR_LAN_FRAME_OK,
  LR_LAN_FRAME_TRUNCATED,      /* shorter than the header */
  LR_LAN_FRAME_OVERSIZE,       /* payload longer than LR_LAN_FRAME_MAX_PAYLOAD */
  LR_LAN_FRAME_BAD_MAGIC,
  LR_LAN_FRAME_BAD_VERSION,
  LR_LAN_FRAME_BAD_FLAGS,
  LR_LAN_FRAME_BAD_PORT,       /* a source or destination port of 0 */
  LR_LAN_FRAME_BAD_DESTINATION,/* neither broadcast nor multicast */
  LR_LAN_FRAME_BAD_SENDER,     /* sender id 0 */
} LrLanFrameStatus;

typedef enum
{
  LR_LAN_DESTINATION_NONE,               /* not a discovery destination */
  LR_LAN_DESTINATION_LIMITED_BROADCAST,  /* 255.255.255.255 */
  LR_LAN_DESTINATION_MULTICAST,          /* 224.0.0.0/4 */
  LR_LAN_DESTINATION_DIRECTED_BROADCAST, /* some subnet's broadcast address */
} LrLanDestination;

/* Addresses are in host byte order (0xffffffff is 255.255.255.255). */
typedef struct
{
  guint8        version;
  guint16       source_port;
  guint32       destination;
  guint16       destination_port;
  guint64       sender;
  guint32       sequence;
  const guint8 *payload;
  gsize         payload_length;
} LrLanFrame;

LrLanFrameStatus  lr_lan_frame_parse              (LrLanFrame       *self,
                                                   const guint8     *data,
                                                   gsize             length);
gsize             lr_lan_frame_build              (const LrLanFrame *self,
                                                   guint8           *out,
                                                   gsize             size);
const char       *lr_lan_frame_status_to_string   (LrLanFrameStatus  status);

LrLanDestination  lr_lan_destination_classify     (guint32           address);

G_END_DECLS
