/* fuzz-relay-frame.c: libFuzzer harness for the relay frame codec
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-relay-frame.h"
#include "lr-relay-token.h"

#include <string.h>

/* The secret of the vectors in tests/test-relay-frame.c, so that the seed BIND in the corpus
 * (tests/fuzz/corpus/relay-frame/bind.bin) passes the MAC check and mutations start from a
 * frame the relay would take. */
#define SECRET "0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

/* What the relay does with a BIND: the key from the public part, then the MAC. Whatever it
 * decides, a BIND rebuilt from the same fields with that key must read back the same and
 * pass. */
static void
check_bind (const LrRelayFrame *frame,
            const guint8       *data,
            gsize               size)
{
  static GBytes *secret;
  guint8 key[LR_RELAY_TOKEN_KEY_BYTES], rebuilt[LR_RELAY_FRAME_BIND_SIZE];
  LrRelayTokenClaims claims;
  LrRelayFrame again;
  gsize length;

  if (secret == NULL)
    secret = g_bytes_new_static (SECRET, strlen (SECRET));
  if (!lr_relay_token_open (secret, frame->token_public, &claims, key))
    return;
  (void) lr_relay_frame_check_bind (data, size, key);

  length = lr_relay_frame_build_bind (rebuilt, sizeof rebuilt, frame->token_public, key,
                                      frame->timestamp_us, frame->counter);
  if (length != LR_RELAY_FRAME_BIND_SIZE ||
      lr_relay_frame_parse (&again, rebuilt, length) != LR_RELAY_FRAME_OK ||
      again.peer != claims.peer || again.counter != frame->counter ||
      again.timestamp_us != frame->timestamp_us ||
      !lr_relay_frame_check_bind (rebuilt, length, key))
    __builtin_trap ();
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static const guint8 key[LR_RELAY_TOKEN_KEY_BYTES] = { 1, 2, 3 };
  LrRelayFrame frame;
  guint8 copy[LR_RELAY_FRAME_MAX_SIZE];
  guint64 peer, counter, last;
  gint64 relay_time;

  if (lr_relay_frame_parse (&frame, data, size) != LR_RELAY_FRAME_OK)
    return 0;

  if (frame.type == LR_RELAY_FRAME_BIND)
    check_bind (&frame, data, size);
  if (frame.type == LR_RELAY_FRAME_ERROR)
    (void) lr_relay_frame_check_stale (data, size, key, &counter, &relay_time, &last);

  /* What the relay does with a good frame: rewrite the peer and read it again. */
  memcpy (copy, data, size);
  peer = frame.peer == 0 ? 0 : frame.peer == 1 ? 2 : frame.peer ^ 1;
  lr_relay_frame_set_peer (copy, peer);
  if (lr_relay_frame_parse (&frame, copy, size) != LR_RELAY_FRAME_OK || frame.peer != peer)
    __builtin_trap ();
  return 0;
}
