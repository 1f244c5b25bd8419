/* test-lan-frame.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-lan-frame.h"

#include <string.h>

/* Minecraft Java's LAN announcement from 10.66.0.1:50123 to 224.0.2.60:4445, written out
 * by hand from the layout in lr-lan-frame.h. */
static const guint8 minecraft_frame[] = {
  'L', 'D', 0x01, 0x00,                           /* magic, version, flags */
  0xc3, 0xcb,                                     /* source port 50123 */
  0xe0, 0x00, 0x02, 0x3c,                         /* 224.0.2.60 */
  0x11, 0x5d,                                     /* port 4445 */
  0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, /* sender */
  0x00, 0x00, 0x01, 0x02,                         /* sequence 258 */
  '[', 'M', 'O', 'T', 'D', ']', 'w', '[', '/', 'M', 'O', 'T', 'D', ']',
  '[', 'A', 'D', ']', '4', '2', '[', '/', 'A', 'D', ']',
};

static void
test_vector (void)
{
  LrLanFrame frame;
  guint8 out[LR_LAN_FRAME_MAX_SIZE];

  g_assert_cmpint (lr_lan_frame_parse (&frame, minecraft_frame, sizeof minecraft_frame), ==,
                   LR_LAN_FRAME_OK);
  g_assert_cmpuint (frame.version, ==, 1);
  g_assert_cmpuint (frame.source_port, ==, 50123);
  g_assert_cmphex (frame.destination, ==, 0xe000023c);
  g_assert_cmpuint (frame.destination_port, ==, 4445);
  g_assert_cmphex (frame.sender, ==, G_GUINT64_CONSTANT (0x0123456789abcdef));
  g_assert_cmpuint (frame.sequence, ==, 258);
  g_assert_cmpmem (frame.payload, frame.payload_length, "[MOTD]w[/MOTD][AD]42[/AD]", 25);

  /* Building the parsed frame gives back the same bytes. */
  g_assert_cmpuint (lr_lan_frame_build (&frame, out, sizeof out), ==, sizeof minecraft_frame);
  g_assert_cmpmem (out, sizeof minecraft_frame, minecraft_frame, sizeof minecraft_frame);
}

static void
test_round_trip (void)
{
  static guint8 payload[LR_LAN_FRAME_MAX_PAYLOAD + 1];
  guint8 out[LR_LAN_FRAME_MAX_SIZE + 8];
  LrLanFrame frame = {
    .source_port = 6112, .destination = 0xffffffff, .destination_port = 6112,
    .sender = G_MAXUINT64, .sequence = G_MAXUINT32, .payload = payload,
  };
  LrLanFrame parsed;
  gsize length;

  for (gsize i = 0; i < sizeof payload; i++)
    payload[i] = i & 0xff;

  /* Empty and largest payloads. */
  frame.payload_length = 0;
  length = lr_lan_frame_build (&frame, out, sizeof out);
  g_assert_cmpuint (length, ==, LR_LAN_FRAME_HEADER_SIZE);
  g_assert_cmpint (lr_lan_frame_parse (&parsed, out, length), ==, LR_LAN_FRAME_OK);
  g_assert_cmpuint (parsed.payload_length, ==, 0);

  frame.payload_length = LR_LAN_FRAME_MAX_PAYLOAD;
  length = lr_lan_frame_build (&frame, out, sizeof out);
  g_assert_cmpuint (length, ==, LR_LAN_FRAME_MAX_SIZE);
  g_assert_cmpint (lr_lan_frame_parse (&parsed, out, length), ==, LR_LAN_FRAME_OK);
  g_assert_cmphex (parsed.sender, ==, G_MAXUINT64);
  g_assert_cmpuint (parsed.sequence, ==, G_MAXUINT32);
  g_assert_cmpmem (parsed.payload, parsed.payload_length, payload, LR_LAN_FRAME_MAX_PAYLOAD);

  /* Too long a payload, too small a buffer: nothing is written. */
  frame.payload_length = LR_LAN_FRAME_MAX_PAYLOAD + 1;
  g_assert_cmpuint (lr_lan_frame_build (&frame, out, sizeof out), ==, 0);
  frame.payload_length = 10;
  g_assert_cmpuint (lr_lan_frame_build (&frame, out, LR_LAN_FRAME_HEADER_SIZE + 9), ==, 0);

  /* A builder never writes what the parser would refuse. */
  frame.sender = 0;
  g_assert_cmpuint (lr_lan_frame_build (&frame, out, sizeof out), ==, 0);
  frame.sender = 1;
  frame.destination = 0x0a420001; /* 10.66.0.1, unicast */
  g_assert_cmpuint (lr_lan_frame_build (&frame, out, sizeof out), ==, 0);
  frame.destination = 0x0a42ffff;
  frame.source_port = 0;
  g_assert_cmpuint (lr_lan_frame_build (&frame, out, sizeof out), ==, 0);
}

static void
test_refused (void)
{
  guint8 frame[sizeof minecraft_frame];
  guint8 large[LR_LAN_FRAME_MAX_SIZE + 1];
  LrLanFrame parsed;

  for (gsize i = 0; i < LR_LAN_FRAME_HEADER_SIZE; i++)
    g_assert_cmpint (lr_lan_frame_parse (&parsed, minecraft_frame, i), ==,
                     LR_LAN_FRAME_TRUNCATED);

  memset (large, 0, sizeof large);
  memcpy (large, minecraft_frame, LR_LAN_FRAME_HEADER_SIZE);
  g_assert_cmpint (lr_lan_frame_parse (&parsed, large, sizeof large), ==, LR_LAN_FRAME_OVERSIZE);
  g_assert_cmpint (lr_lan_frame_parse (&parsed, large, sizeof large - 1), ==, LR_LAN_FRAME_OK);

#define REFUSED_WITH(offset, value, status) \
  G_STMT_START { \
    memcpy (frame, minecraft_frame, sizeof frame); \
    frame[offset] = value; \
    g_assert_cmpint (lr_lan_frame_parse (&parsed, frame, sizeof frame), ==, status); \
  } G_STMT_END

  REFUSED_WITH (0, 'l', LR_LAN_FRAME_BAD_MAGIC);
  REFUSED_WITH (1, 'E', LR_LAN_FRAME_BAD_MAGIC);
  REFUSED_WITH (2, 0, LR_LAN_FRAME_BAD_VERSION);
  REFUSED_WITH (2, 2, LR_LAN_FRAME_BAD_VERSION);
  REFUSED_WITH (3, 0x80, LR_LAN_FRAME_BAD_FLAGS);

  /* Ports of 0. */
  memcpy (frame, minecraft_frame, sizeof frame);
  frame[4] = frame[5] = 0;
  g_assert_cmpint (lr_lan_frame_parse (&parsed, frame, sizeof frame), ==, LR_LAN_FRAME_BAD_PORT);
  memcpy (frame, minecraft_frame, sizeof frame);
  frame[10] = frame[11] = 0;
  g_assert_cmpint (lr_lan_frame_parse (&parsed, frame, sizeof frame), ==, LR_LAN_FRAME_BAD_PORT);

  /* Destinations that are no discovery destination: 127.0.0.1, 0.2.0.60, 240.0.2.60 and a
   * unicast-looking 10.66.0.1 (the last two bits of a directed broadcast are ones). */
  REFUSED_WITH (6, 0x7f, LR_LAN_FRAME_BAD_DESTINATION);
  REFUSED_WITH (6, 0x00, LR_LAN_FRAME_BAD_DESTINATION);
  REFUSED_WITH (6, 0xf0, LR_LAN_FRAME_BAD_DESTINATION);
  memcpy (frame, minecraft_frame, sizeof frame);
  memcpy (frame + 6, "\x0a\x42\x00\x01", 4);
  g_assert_cmpint (lr_lan_frame_parse (&parsed, frame, sizeof frame), ==,
                   LR_LAN_FRAME_BAD_DESTINATION);

  memcpy (frame, minecraft_frame, sizeof frame);
  memset (frame + 12, 0, 8);
  g_assert_cmpint (lr_lan_frame_parse (&parsed, frame, sizeof frame), ==,
                   LR_LAN_FRAME_BAD_SENDER);
#undef REFUSED_WITH
}

static void
test_classify (void)
{
  g_assert_cmpint (lr_lan_destination_classify (0xffffffff), ==,
                   LR_LAN_DESTINATION_LIMITED_BROADCAST);
  g_assert_cmpint (lr_lan_destination_classify (0xe000023c), ==, LR_LAN_DESTINATION_MULTICAST);
  g_assert_cmpint (lr_lan_destination_classify (0xefffffff), ==, LR_LAN_DESTINATION_MULTICAST);
  g_assert_cmpint (lr_lan_destination_classify (0x0a42ffff), ==,
                   LR_LAN_DESTINATION_DIRECTED_BROADCAST); /* 10.66.255.255 */
  g_assert_cmpint (lr_lan_destination_classify (0xc0a801ff), ==,
                   LR_LAN_DESTINATION_DIRECTED_BROADCAST); /* 192.168.1.255 */
  g_assert_cmpint (lr_lan_destination_classify (0xc0a80103), ==,
                   LR_LAN_DESTINATION_DIRECTED_BROADCAST); /* 192.168.1.3, of a /30 */
  g_assert_cmpint (lr_lan_destination_classify (0xc0a80102), ==, LR_LAN_DESTINATION_NONE);
  g_assert_cmpint (lr_lan_destination_classify (0x7fffffff), ==, LR_LAN_DESTINATION_NONE);
  g_assert_cmpint (lr_lan_destination_classify (0x00ffffff), ==, LR_LAN_DESTINATION_NONE);
  g_assert_cmpint (lr_lan_destination_classify (0xf0ffffff), ==, LR_LAN_DESTINATION_NONE);
  g_assert_cmpint (lr_lan_destination_classify (0), ==, LR_LAN_DESTINATION_NONE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lr/lan-frame/vector", test_vector);
  g_test_add_func ("/lr/lan-frame/round-trip", test_round_trip);
  g_test_add_func ("/lr/lan-frame/refused", test_refused);
  g_test_add_func ("/lr/lan-frame/classify", test_classify);
  return g_test_run ();
}
