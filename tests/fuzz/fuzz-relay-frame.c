/* fuzz-relay-frame.c: libFuzzer harness for the relay frame codec
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-relay-frame.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  LrRelayFrame frame;
  guint8 copy[LR_RELAY_FRAME_MAX_SIZE];
  guint64 peer;

  if (lr_relay_frame_parse (&frame, data, size) != LR_RELAY_FRAME_OK)
    return 0;

  /* What the relay does with a good frame: rewrite the peer and read it again. */
  memcpy (copy, data, size);
  peer = frame.peer == 0 ? 0 : frame.peer == 1 ? 2 : frame.peer ^ 1;
  lr_relay_frame_set_peer (copy, peer);
  if (lr_relay_frame_parse (&frame, copy, size) != LR_RELAY_FRAME_OK || frame.peer != peer)
    __builtin_trap ();
  return 0;
}
