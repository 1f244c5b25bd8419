/* lr-ws-meter.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-ws-meter.h"

#include <string.h>

void
lr_ws_meter_init (LrWsMeter *self,
                  guint64    max_message_size)
{
  memset (self, 0, sizeof *self);
  self->max_message_size = max_message_size;
}

/* The length of a frame header once its first two bytes are known (RFC 6455 5.2). */
static guint
header_size (const guint8 *header)
{
  guint length = header[1] & 0x7f;
  guint size = 2;

  if (length == 126)
    size += 2;
  else if (length == 127)
    size += 8;
  if (header[1] & 0x80)
    size += 4;
  return size;
}

static guint64
payload_length (const guint8 *header)
{
  guint length = header[1] & 0x7f;
  guint64 value = 0;

  if (length < 126)
    return length;

  for (guint i = 0; i < (length == 126 ? 2u : 8u); i++)
    value = (value << 8) | header[2 + i];
  return value;
}

/* A whole header is in: account for its frame. Returns FALSE when the message is too large. */
static gboolean
count_frame (LrWsMeter *self)
{
  guint opcode = self->header[0] & 0x0f;
  guint64 length = payload_length (self->header);

  self->payload_left = length;
  if (opcode >= 8)
    return TRUE;
  if (opcode != 0)
    self->message_size = 0;

  if (length > self->max_message_size || self->message_size > self->max_message_size - length)
    return FALSE;
  self->message_size += length;
  return TRUE;
}

/**
 * lr_ws_meter_feed:
 * @data: the next bytes of the stream
 *
 * Returns: how many of the @length bytes may go on: all of them, or those before the header
 *   of the frame that takes its message over the limit (0 once the meter is over)
 */
gsize
lr_ws_meter_feed (LrWsMeter    *self,
                  const guint8 *data,
                  gsize         length)
{
  gsize i = 0;

  if (self->over)
    return 0;

  while (i < length)
    {
      gsize header_start = i;

      if (self->payload_left > 0)
        {
          guint64 step = MIN (self->payload_left, (guint64) (length - i));

          self->payload_left -= step;
          i += step;
          continue;
        }

      while (i < length && (self->header_length < 2 ||
                            self->header_length < header_size (self->header)))
        self->header[self->header_length++] = data[i++];

      if (self->header_length < 2 || self->header_length < header_size (self->header))
        break;

      self->header_length = 0;
      if (!count_frame (self))
        {
          self->over = TRUE;
          return header_start;
        }
    }

  return length;
}
