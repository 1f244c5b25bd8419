/* lrc-frame-meter.h: bounds whole WebSocket messages read from a client
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LRC_TYPE_FRAME_METER (lrc_frame_meter_get_type ())
G_DECLARE_FINAL_TYPE (LrcFrameMeter, lrc_frame_meter, LRC, FRAME_METER, GInputStream)

LrcFrameMeter *lrc_frame_meter_new (GIOStream *base,
                                    guint64    max_message_size);

G_END_DECLS
