/* test-relay-frame.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-relay-frame.h"
#include "lr-relay-token.h"
#include "lr-stun.h"

#include <string.h>

static void
test_round_trip (void)
{
  guint8 buffer[LR_RELAY_FRAME_MAX_SIZE + 1];
  guint8 payload[100];
  LrRelayFrame frame;
  gsize length;

  memset (payload, 0xab, sizeof payload);
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_DATA, 0,
                                 G_GUINT64_CONSTANT (0x0123456789abcdef), payload, sizeof payload);
  g_assert_cmpuint (length, ==, 112);
  g_assert_cmphex (buffer[0], ==, 0x81);
  g_assert_cmphex (buffer[4], ==, 0x01);
  g_assert_cmphex (buffer[11], ==, 0xef);
  g_assert_false (lr_stun_is_message (buffer, length));

  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpuint (frame.version, ==, 1);
  g_assert_cmpuint (frame.type, ==, LR_RELAY_FRAME_DATA);
  g_assert_cmphex (frame.peer, ==, G_GUINT64_CONSTANT (0x0123456789abcdef));
  g_assert_cmpmem (frame.payload, frame.payload_length, payload, sizeof payload);

  lr_relay_frame_set_peer (buffer, 42);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_OK);
  g_assert_cmphex (frame.peer, ==, 42);

  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_ERROR,
                                 LR_RELAY_FRAME_ERROR_NOT_BOUND, 7, NULL, 0);
  g_assert_cmpuint (length, ==, LR_RELAY_FRAME_HEADER_SIZE);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpuint (frame.code, ==, LR_RELAY_FRAME_ERROR_NOT_BOUND);
}

static void
test_refused (void)
{
  guint8 buffer[LR_RELAY_FRAME_MAX_SIZE + 8] = { 0 };
  static const guint8 large[LR_RELAY_FRAME_MAX_SIZE] = { 0 };
  char token[LR_RELAY_TOKEN_TEXT_LENGTH];
  LrRelayFrame frame;
  gsize length;

  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, 0), ==, LR_RELAY_FRAME_NOT_A_FRAME);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, 20), ==, LR_RELAY_FRAME_NOT_A_FRAME);

  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_PING, 0, 0, NULL, 0);
  for (gsize i = 1; i < length; i++)
    g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, i), ==, LR_RELAY_FRAME_TRUNCATED);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, LR_RELAY_FRAME_MAX_SIZE + 1), ==,
                   LR_RELAY_FRAME_OVERSIZE);
  g_assert_cmpuint (lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_DATA, 0, 1,
                                          large, LR_RELAY_FRAME_MAX_SIZE), ==, 0);

  buffer[0] = 0x82;
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_VERSION);
  buffer[0] = 0x81;
  buffer[1] = 99;
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_TYPE);

  /* DATA needs a destination and a payload; BIND exactly one token. */
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_DATA, 0, 0, "x", 1);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_PAYLOAD);
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_DATA, 0, 5, NULL, 0);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_PAYLOAD);
  memset (token, 'A', sizeof token);
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_BIND, 0, 0, token,
                                 sizeof token);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length - 1), ==,
                   LR_RELAY_FRAME_BAD_PAYLOAD);
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_PING, 0, 0, large,
                                 LR_RELAY_FRAME_MAX_PING_PAYLOAD + 1);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_PAYLOAD);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lr/relay-frame/round-trip", test_round_trip);
  g_test_add_func ("/lr/relay-frame/refused", test_refused);

  return g_test_run ();
}
