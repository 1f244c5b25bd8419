/* fuzz-ws-meter.c: libFuzzer harness for the WebSocket message meter
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The events socket's bytes from a client go through LrWsMeter. The first byte sets the
 * piece size the stream is fed in, the second the limit; every split must give the answer
 * of the whole stream (up to header bytes of the frame over the limit that came in earlier
 * pieces), and no answer may pass more than it was given.
 */
#include "lr-ws-meter.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  LrWsMeter whole, split;
  gsize piece, passed_whole, passed_split = 0;
  guint64 limit;

  if (size < 2)
    return 0;

  piece = 1 + data[0] % 32;
  limit = (guint64) data[1] * 64;
  data += 2;
  size -= 2;

  lr_ws_meter_init (&whole, limit);
  passed_whole = lr_ws_meter_feed (&whole, data, size);
  g_assert_cmpuint (passed_whole, <=, size);
  g_assert_true (whole.over || passed_whole == size);

  lr_ws_meter_init (&split, limit);
  for (gsize offset = 0; offset < size; offset += piece)
    {
      gsize length = MIN (piece, size - offset);
      gsize n = lr_ws_meter_feed (&split, data + offset, length);

      g_assert_cmpuint (n, <=, length);
      passed_split += n;
      if (n < length)
        break;
    }

  /* Header bytes of the frame over the limit may have gone on in earlier pieces. */
  g_assert_cmpuint (passed_split, >=, passed_whole);
  g_assert_cmpuint (passed_split, <, passed_whole + LR_WS_METER_MAX_HEADER);
  g_assert_cmpint (split.over, ==, whole.over);
  return 0;
}
