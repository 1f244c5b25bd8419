/* lr-ws-meter.h: the size of WebSocket messages as their frames go by
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reads the frame headers of a stream of client frames (RFC 6455, section 5.2) without
 * holding any payload, and adds up the payload of each message's data frames: a frame with
 * an opcode (text, binary) starts a message, a continuation frame (opcode 0) adds to it, and
 * control frames (opcode 8 and up) are no part of one. A stream is fed in pieces of any size;
 * the meter says how much of each piece may go on before the first byte of the header of the
 * frame that takes a message past the limit (bytes of that header that came in an earlier
 * piece went on with it: fewer than LR_WS_METER_MAX_HEADER, and never any of its payload).
 * From then on it is over, for good.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LR_WS_METER_MAX_HEADER 14   /* 2 + 8 bytes of extended length + 4 of mask */

typedef struct
{
  guint64  max_message_size;
  guint8   header[LR_WS_METER_MAX_HEADER];
  guint    header_length;   /* bytes of the current frame header seen so far */
  guint64  payload_left;    /* bytes of the current frame's payload still to go by */
  guint64  message_size;    /* payload of the current message's data frames */
  gboolean over;
} LrWsMeter;

void  lr_ws_meter_init (LrWsMeter    *self,
                        guint64       max_message_size);
gsize lr_ws_meter_feed (LrWsMeter    *self,
                        const guint8 *data,
                        gsize         length);

G_END_DECLS
