/* fuzz-lan-frame.c: libFuzzer harness for the LAN discovery frame codec
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-lan-frame.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  LrLanFrame frame, again;
  guint8 copy[LR_LAN_FRAME_MAX_SIZE];
  gsize length;

  if (lr_lan_frame_parse (&frame, data, size) != LR_LAN_FRAME_OK)
    return 0;

  /* What parses builds back to the same bytes, and those parse to the same frame. */
  length = lr_lan_frame_build (&frame, copy, sizeof copy);
  if (length != size || memcmp (copy, data, size) != 0)
    __builtin_trap ();
  if (lr_lan_frame_parse (&again, copy, length) != LR_LAN_FRAME_OK ||
      again.sender != frame.sender || again.sequence != frame.sequence ||
      again.destination != frame.destination || again.payload_length != frame.payload_length)
    __builtin_trap ();
  return 0;
}
