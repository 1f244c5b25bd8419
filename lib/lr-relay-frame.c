/* lr-relay-frame.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-relay-frame.h"
#include "lr-relay-token.h"

#include <string.h>

/**
 * lr_relay_frame_parse:
 *
 * Reads a frame in place (@self points into @data). Returns a status rather than a GError:
 * it runs for every datagram the relay forwards, where nothing may allocate.
 */
LrRelayFrameStatus
lr_relay_frame_parse (LrRelayFrame *self,
                      const guint8 *data,
                      gsize         length)
{
  memset (self, 0, sizeof *self);

  if (!lr_relay_frame_is_frame (data, length))
    return LR_RELAY_FRAME_NOT_A_FRAME;
  if (length < LR_RELAY_FRAME_HEADER_SIZE)
    return LR_RELAY_FRAME_TRUNCATED;
  if (length > LR_RELAY_FRAME_MAX_SIZE)
    return LR_RELAY_FRAME_OVERSIZE;

  self->version = data[0] & 0x7f;
  self->type = data[1];
  self->code = (guint16) ((data[2] << 8) | data[3]);
  self->peer = lr_relay_frame_get_peer (data);
  self->payload = data + LR_RELAY_FRAME_HEADER_SIZE;
  self->payload_length = length - LR_RELAY_FRAME_HEADER_SIZE;

  if (self->version != LR_RELAY_FRAME_VERSION)
    return LR_RELAY_FRAME_BAD_VERSION;

  switch (self->type)
    {
    case LR_RELAY_FRAME_BIND:
      if (self->payload_length != LR_RELAY_TOKEN_TEXT_LENGTH)
        return LR_RELAY_FRAME_BAD_PAYLOAD;
      return LR_RELAY_FRAME_OK;

    case LR_RELAY_FRAME_DATA:
      if (self->payload_length == 0 || self->peer == 0)
        return LR_RELAY_FRAME_BAD_PAYLOAD;
      return LR_RELAY_FRAME_OK;

    case LR_RELAY_FRAME_PING:
    case LR_RELAY_FRAME_PONG:
      if (self->payload_length > LR_RELAY_FRAME_MAX_PING_PAYLOAD)
        return LR_RELAY_FRAME_BAD_PAYLOAD;
      return LR_RELAY_FRAME_OK;

    case LR_RELAY_FRAME_BOUND:
    case LR_RELAY_FRAME_ERROR:
      if (self->payload_length != 0)
        return LR_RELAY_FRAME_BAD_PAYLOAD;
      return LR_RELAY_FRAME_OK;

    default:
      return LR_RELAY_FRAME_BAD_TYPE;
    }
}

gsize
lr_relay_frame_write_header (guint8  *out,
                             guint8   type,
                             guint16  code,
                             guint64  peer)
{
  out[0] = 0x80 | LR_RELAY_FRAME_VERSION;
  out[1] = type;
  out[2] = code >> 8;
  out[3] = code & 0xff;
  lr_relay_frame_set_peer (out, peer);
  return LR_RELAY_FRAME_HEADER_SIZE;
}

/**
 * lr_relay_frame_build:
 *
 * Returns: the frame's length, or 0 when it does not fit in @size or would be oversize.
 */
gsize
lr_relay_frame_build (guint8        *out,
                      gsize          size,
                      guint8         type,
                      guint16        code,
                      guint64        peer,
                      gconstpointer  payload,
                      gsize          payload_length)
{
  gsize length = LR_RELAY_FRAME_HEADER_SIZE + payload_length;

  if (payload_length > LR_RELAY_FRAME_MAX_SIZE - LR_RELAY_FRAME_HEADER_SIZE || length > size)
    return 0;
  lr_relay_frame_write_header (out, type, code, peer);
  if (payload_length > 0)
    memcpy (out + LR_RELAY_FRAME_HEADER_SIZE, payload, payload_length);
  return length;
}

const char *
lr_relay_frame_status_to_string (LrRelayFrameStatus status)
{
  switch (status)
    {
    case LR_RELAY_FRAME_OK:
      return "ok";
    case LR_RELAY_FRAME_NOT_A_FRAME:
      return "not-a-frame";
    case LR_RELAY_FRAME_TRUNCATED:
      return "truncated";
    case LR_RELAY_FRAME_OVERSIZE:
      return "oversize";
    case LR_RELAY_FRAME_BAD_VERSION:
      return "bad-version";
    case LR_RELAY_FRAME_BAD_TYPE:
      return "bad-type";
    case LR_RELAY_FRAME_BAD_PAYLOAD:
      return "bad-payload";
    default:
      return "unknown";
    }
}

const char *
lr_relay_frame_error_to_string (LrRelayFrameError error)
{
  switch (error)
    {
    case LR_RELAY_FRAME_ERROR_MALFORMED:
      return "malformed";
    case LR_RELAY_FRAME_ERROR_VERSION:
      return "version";
    case LR_RELAY_FRAME_ERROR_BAD_TOKEN:
      return "bad-token";
    case LR_RELAY_FRAME_ERROR_EXPIRED:
      return "expired";
    case LR_RELAY_FRAME_ERROR_NOT_BOUND:
      return "not-bound";
    case LR_RELAY_FRAME_ERROR_FULL:
      return "full";
    case LR_RELAY_FRAME_ERROR_NO_RELAYING:
      return "no-relaying";
    default:
      return "unknown";
    }
}
