/* test-ws-meter.c: WebSocket message sizes from frame headers, on RFC 6455's examples
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-ws-meter.h"

#include <string.h>

/* RFC 6455 section 5.7. */
static const guint8 hello[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
static const guint8 hello_masked[] = {
  0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
};
static const guint8 hel_lo[] = { 0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f };
static const guint8 ping[] = { 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };

/* Feeds @data in pieces of @piece bytes; returns how many bytes went on in all. */
static gsize
feed_in_pieces (LrWsMeter    *meter,
                const guint8 *data,
                gsize         length,
                gsize         piece)
{
  gsize passed = 0;

  for (gsize offset = 0; offset < length; offset += piece)
    {
      gsize size = MIN (piece, length - offset);
      gsize n = lr_ws_meter_feed (meter, data + offset, size);

      passed += n;
      if (n < size)
        break;
    }
  return passed;
}

static void
test_rfc_examples (void)
{
  LrWsMeter meter;

  lr_ws_meter_init (&meter, 5);
  g_assert_cmpuint (lr_ws_meter_feed (&meter, hello, sizeof hello), ==, sizeof hello);
  g_assert_cmpuint (meter.message_size, ==, 5);
  g_assert_cmpuint (lr_ws_meter_feed (&meter, hello_masked, sizeof hello_masked), ==,
                    sizeof hello_masked);
  g_assert_cmpuint (lr_ws_meter_feed (&meter, hel_lo, sizeof hel_lo), ==, sizeof hel_lo);
  g_assert_cmpuint (meter.message_size, ==, 5);
  g_assert_false (meter.over);

  /* The same fragments against a limit of 4: the second fragment's header is held back. */
  lr_ws_meter_init (&meter, 4);
  g_assert_cmpuint (lr_ws_meter_feed (&meter, hel_lo, sizeof hel_lo), ==, 5);
  g_assert_true (meter.over);
  g_assert_cmpuint (lr_ws_meter_feed (&meter, hello, sizeof hello), ==, 0);
}

/* Any split of the stream gives the same answer as the whole, up to the header bytes of the
 * frame over the limit that came in earlier pieces. */
static void
test_any_split (void)
{
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  gsize whole;

  g_byte_array_append (stream, hel_lo, 5);          /* "Hel", not final */
  g_byte_array_append (stream, ping, sizeof ping);  /* a control frame in between */
  g_byte_array_append (stream, hel_lo + 5, 4);      /* "lo", final */
  g_byte_array_append (stream, hello_masked, sizeof hello_masked);
  g_byte_array_append (stream, hel_lo, sizeof hel_lo);

  for (guint64 limit = 3; limit <= 6; limit++)
    {
      LrWsMeter meter;

      lr_ws_meter_init (&meter, limit);
      whole = lr_ws_meter_feed (&meter, stream->data, stream->len);
      for (gsize piece = 1; piece < stream->len; piece++)
        {
          LrWsMeter split;

          lr_ws_meter_init (&split, limit);
          gsize passed = feed_in_pieces (&split, stream->data, stream->len, piece);

          /* Header bytes of the frame over the limit that came in an earlier piece went on
           * already; no payload of it did. */
          g_assert_cmpuint (passed, >=, whole);
          g_assert_cmpuint (passed, <, whole + LR_WS_METER_MAX_HEADER);
          g_assert_cmpint (split.over, ==, meter.over);
        }

      /* The control frame does not count: with a limit of 5, everything passes. */
      if (limit >= 5)
        g_assert_cmpuint (whole, ==, stream->len);
      else
        g_assert_true (meter.over);
    }
}

/* RFC 6455 5.7: 256 bytes in one frame (16-bit length), 64 KiB (64-bit length). */
static void
test_extended_lengths (void)
{
  g_autofree guint8 *frame = g_malloc0 (10 + 65536);
  LrWsMeter meter;

  frame[0] = 0x82;
  frame[1] = 0x7e;
  frame[2] = 0x01;
  frame[3] = 0x00;
  lr_ws_meter_init (&meter, 256);
  g_assert_cmpuint (lr_ws_meter_feed (&meter, frame, 4 + 256), ==, 4 + 256);
  lr_ws_meter_init (&meter, 255);
  g_assert_cmpuint (lr_ws_meter_feed (&meter, frame, 4 + 256), ==, 0);

  memset (frame, 0, 10);
  frame[0] = 0x82;
  frame[1] = 0x7f;
  frame[7] = 0x01;   /* 0x0000000000010000 */
  lr_ws_meter_init (&meter, 65536);
  g_assert_cmpuint (lr_ws_meter_feed (&meter, frame, 10 + 65536), ==, 10 + 65536);
  g_assert_false (meter.over);

  /* A length near 2^64 neither wraps the count nor passes. */
  lr_ws_meter_init (&meter, 65536);
  g_assert_cmpuint (lr_ws_meter_feed (&meter, hel_lo, 5), ==, 5);
  memset (frame, 0xff, 10);
  frame[0] = 0x00;
  frame[1] = 0x7f;
  g_assert_cmpuint (lr_ws_meter_feed (&meter, frame, 10), ==, 0);
  g_assert_true (meter.over);
}

/* Each message starts its count afresh. */
static void
test_messages_count_apart (void)
{
  LrWsMeter meter;

  lr_ws_meter_init (&meter, 5);
  for (guint i = 0; i < 100; i++)
    g_assert_cmpuint (lr_ws_meter_feed (&meter, hello, sizeof hello), ==, sizeof hello);
  g_assert_false (meter.over);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lr/ws-meter/rfc-examples", test_rfc_examples);
  g_test_add_func ("/lr/ws-meter/any-split", test_any_split);
  g_test_add_func ("/lr/ws-meter/extended-lengths", test_extended_lengths);
  g_test_add_func ("/lr/ws-meter/messages-count-apart", test_messages_count_apart);

  return g_test_run ();
}
