/* lr-lan-frame.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-lan-frame.h"

#include "lr-bytes.h"

#include <string.h>

/**
 * lr_lan_destination_classify:
 *
 * What kind of discovery destination @address (host byte order) is. A directed broadcast
 * cannot be told from a unicast address without the subnet's mask, so any address whose
 * two lowest bits are set (true of the broadcast address of every subnet from /8 to /30)
 * outside 0/8, 127/8 and 240/4 counts; the capture only ever sees datagrams the kernel sent
 * as broadcasts, and the receiver never injects to such an address as sent (lrd-lan-bridge).
 */
LrLanDestination
lr_lan_destination_classify (guint32 address)
{
  guint8 first = address >> 24;

  if (address == 0xffffffff)
    return LR_LAN_DESTINATION_LIMITED_BROADCAST;
  if ((first & 0xf0) == 0xe0)
    return LR_LAN_DESTINATION_MULTICAST;
  if (first == 0 || first == 127 || (first & 0xf0) == 0xf0)
    return LR_LAN_DESTINATION_NONE;
  if ((address & 3) == 3)
    return LR_LAN_DESTINATION_DIRECTED_BROADCAST;
  return LR_LAN_DESTINATION_NONE;
}

/**
 * lr_lan_frame_parse:
 *
 * Reads a frame in place (@self points into @data), refusing anything a version-1 sender
 * would never write. Returns a status rather than a GError: it runs for every frame.
 */
LrLanFrameStatus
lr_lan_frame_parse (LrLanFrame   *self,
                    const guint8 *data,
                    gsize         length)
{
  memset (self, 0, sizeof *self);

  if (length < LR_LAN_FRAME_HEADER_SIZE)
    return LR_LAN_FRAME_TRUNCATED;
  if (length > LR_LAN_FRAME_MAX_SIZE)
    return LR_LAN_FRAME_OVERSIZE;
  if (data[0] != 'L' || data[1] != 'D')
    return LR_LAN_FRAME_BAD_MAGIC;

  self->version = data[2];
  if (self->version != LR_LAN_FRAME_VERSION)
    return LR_LAN_FRAME_BAD_VERSION;
  if (data[3] != 0)
    return LR_LAN_FRAME_BAD_FLAGS;

  self->source_port = lr_bytes_read_be16 (data + 4);
  self->destination = lr_bytes_read_be32 (data + 6);
  self->destination_port = lr_bytes_read_be16 (data + 10);
  self->sender = ((guint64) lr_bytes_read_be32 (data + 12) << 32) |
                 lr_bytes_read_be32 (data + 16);
  self->sequence = lr_bytes_read_be32 (data + 20);
  self->payload = data + LR_LAN_FRAME_HEADER_SIZE;
  self->payload_length = length - LR_LAN_FRAME_HEADER_SIZE;

  if (self->source_port == 0 || self->destination_port == 0)
    return LR_LAN_FRAME_BAD_PORT;
  if (lr_lan_destination_classify (self->destination) == LR_LAN_DESTINATION_NONE)
    return LR_LAN_FRAME_BAD_DESTINATION;
  if (self->sender == 0)
    return LR_LAN_FRAME_BAD_SENDER;
  return LR_LAN_FRAME_OK;
}

/**
 * lr_lan_frame_build:
 *
 * Writes @self (its version is ignored: always LR_LAN_FRAME_VERSION) into @out.
 *
 * Returns: the frame's length, or 0 when it does not fit in @size or is not a frame
 * lr_lan_frame_parse() would accept.
 */
gsize
lr_lan_frame_build (const LrLanFrame *self,
                    guint8           *out,
                    gsize             size)
{
  gsize length = LR_LAN_FRAME_HEADER_SIZE + self->payload_length;

  if (self->payload_length > LR_LAN_FRAME_MAX_PAYLOAD || length > size ||
      self->source_port == 0 || self->destination_port == 0 || self->sender == 0 ||
      lr_lan_destination_classify (self->destination) == LR_LAN_DESTINATION_NONE)
    return 0;

  out[0] = 'L';
  out[1] = 'D';
  out[2] = LR_LAN_FRAME_VERSION;
  out[3] = 0;
  lr_bytes_write_be16 (out + 4, self->source_port);
  lr_bytes_write_be32 (out + 6, self->destination);
  lr_bytes_write_be16 (out + 10, self->destination_port);
  lr_bytes_write_be32 (out + 12, self->sender >> 32);
  lr_bytes_write_be32 (out + 16, self->sender & 0xffffffff);
  lr_bytes_write_be32 (out + 20, self->sequence);
  if (self->payload_length > 0)
    memmove (out + LR_LAN_FRAME_HEADER_SIZE, self->payload, self->payload_length);
  return length;
}

const char *
lr_lan_frame_status_to_string (LrLanFrameStatus status)
{
  switch (status)
    {
    case LR_LAN_FRAME_OK:
      return "ok";
    case LR_LAN_FRAME_TRUNCATED:
      return "truncated";
    case LR_LAN_FRAME_OVERSIZE:
      return "oversize";
    case LR_LAN_FRAME_BAD_MAGIC:
      return "bad-magic";
    case LR_LAN_FRAME_BAD_VERSION:
      return "bad-version";
    case LR_LAN_FRAME_BAD_FLAGS:
      return "bad-flags";
    case LR_LAN_FRAME_BAD_PORT:
      return "bad-port";
    case LR_LAN_FRAME_BAD_DESTINATION:
      return "bad-destination";
    case LR_LAN_FRAME_BAD_SENDER:
      return "bad-sender";
    default:
      return "unknown";
    }
}
