/* test-relay-frame.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-error.h"
#include "lr-relay-frame.h"
#include "lr-relay-token.h"
#include "lr-stun.h"

#include <sodium.h>
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
  g_assert_cmphex (buffer[0], ==, 0x82);
  g_assert_cmphex (buffer[4], ==, 0x01);
  g_assert_cmphex (buffer[11], ==, 0xef);
  g_assert_false (lr_stun_is_message (buffer, length));

  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpuint (frame.version, ==, 2);
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
  guint8 bind[LR_RELAY_FRAME_BIND_PAYLOAD];
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

  buffer[0] = 0x83;
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_VERSION);
  buffer[0] = 0x81;
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_VERSION);
  buffer[0] = 0x82;
  buffer[1] = 99;
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_TYPE);

  /* DATA needs a destination and a payload; BIND a peer and exactly its 73 bytes. */
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_DATA, 0, 0, "x", 1);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_PAYLOAD);
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_DATA, 0, 5, NULL, 0);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_PAYLOAD);
  memset (bind, 'A', sizeof bind);
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_BIND, 0, 7, bind,
                                 sizeof bind);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length - 1), ==,
                   LR_RELAY_FRAME_BAD_PAYLOAD);
  lr_relay_frame_set_peer (buffer, 0);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_PAYLOAD);
  /* Version 1's BIND: the 76 characters of the token. */
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_BIND, 0, 7, large,
                                 LR_RELAY_TOKEN_TEXT_LENGTH);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_PAYLOAD);
  /* An ERROR has no payload, but ERROR stale its signed 56 bytes. */
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_ERROR,
                                 LR_RELAY_FRAME_ERROR_EXPIRED, 7, bind,
                                 LR_RELAY_FRAME_STALE_PAYLOAD);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_PAYLOAD);
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_ERROR,
                                 LR_RELAY_FRAME_ERROR_STALE, 7, bind,
                                 LR_RELAY_FRAME_STALE_PAYLOAD);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_OK);
  length = lr_relay_frame_build (buffer, sizeof buffer, LR_RELAY_FRAME_PING, 0, 0, large,
                                 LR_RELAY_FRAME_MAX_PING_PAYLOAD + 1);
  g_assert_cmpint (lr_relay_frame_parse (&frame, buffer, length), ==, LR_RELAY_FRAME_BAD_PAYLOAD);
}

/* The vectors below were computed with Python's hmac and hashlib from the layout in
 * lr-relay-frame.h, not with this code. */
static const char VECTOR_SECRET[] = "0123456789abcdef0123456789abcdef";
static const char VECTOR_TOKEN[] =
  "AQECAwQFBgcIERITFBUWFxgAAAAAdzWUAIguXcIBpQJ5buBFqxRJxwvn40vrPqCANzgI3XWF78Ni";
static const char VECTOR_BIND[] =
  "8201000011121314151617180101020304050607081112131415161718000000007735940000060a24181e"
  "400000060a24181e40012d28bee11def71903e3195ae0745941c242e35e7e6ef766f324b6a4ef4dd96de";
static const char VECTOR_STALE[] =
  "82030008111213141516171800060a24181e400100060a241825e12000060a24181e3fff2931431c3d59"
  "22aee61eda303d8c06a5505963b33b7d6acc1b45ab33c3b35548";
#define VECTOR_PARTY G_GUINT64_CONSTANT (0x0102030405060708)
#define VECTOR_PEER  G_GUINT64_CONSTANT (0x1112131415161718)

static GBytes *
from_hex (const char *hex)
{
  gsize length = strlen (hex) / 2;
  guint8 *data = g_malloc (length);

  for (gsize i = 0; i < length; i++)
    data[i] = g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]);
  return g_bytes_new_take (data, length);
}

static void
test_bind_vector (void)
{
  g_autoptr(GBytes) secret = g_bytes_new_static (VECTOR_SECRET, strlen (VECTOR_SECRET));
  g_autoptr(GBytes) expected = from_hex (VECTOR_BIND);
  g_autofree char *token = lr_relay_token_mint (secret, "0102030405060708", "1112131415161718",
                                                2000000000, NULL);
  guint8 token_public[LR_RELAY_TOKEN_PUBLIC_BYTES], key[LR_RELAY_TOKEN_KEY_BYTES];
  guint8 relay_key[LR_RELAY_TOKEN_KEY_BYTES], frame_bytes[LR_RELAY_FRAME_BIND_SIZE + 1];
  LrRelayTokenClaims claims;
  LrRelayFrame frame;
  gsize length;

  g_assert_cmpstr (token, ==, VECTOR_TOKEN);
  g_assert_true (lr_relay_token_split (token, token_public, key, &claims));
  g_assert_cmphex (claims.peer, ==, VECTOR_PEER);
  length = lr_relay_frame_build_bind (frame_bytes, sizeof frame_bytes, token_public, key,
                                      G_GINT64_CONSTANT (1700000000000000),
                                      G_GUINT64_CONSTANT (1700000000000001));
  g_assert_cmpuint (length, ==, 85);
  g_assert_cmpmem (frame_bytes, length, g_bytes_get_data (expected, NULL),
                   g_bytes_get_size (expected));
  g_assert_cmpuint (lr_relay_frame_build_bind (frame_bytes, length - 1, token_public, key, 1,
                                               1), ==, 0);

  /* The relay's side: the key from the public part and the secret, then the MAC. */
  g_assert_cmpint (lr_relay_frame_parse (&frame, frame_bytes, length), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpuint (frame.type, ==, LR_RELAY_FRAME_BIND);
  g_assert_cmphex (frame.peer, ==, VECTOR_PEER);
  g_assert_cmpint (frame.timestamp_us, ==, G_GINT64_CONSTANT (1700000000000000));
  g_assert_cmpuint (frame.counter, ==, G_GUINT64_CONSTANT (1700000000000001));
  g_assert_true (lr_relay_token_open (secret, frame.token_public, &claims, relay_key));
  g_assert_cmphex (claims.party, ==, VECTOR_PARTY);
  g_assert_cmpint (claims.expires_at, ==, 2000000000);
  g_assert_cmpstr (claims.peer_id, ==, "1112131415161718");
  g_assert_cmpmem (relay_key, sizeof relay_key, key, sizeof key);
  g_assert_true (lr_relay_frame_check_bind (frame_bytes, length, relay_key));

  /* Any changed byte (header, public part, time, counter, MAC) fails the check. */
  for (gsize i = 0; i < length; i++)
    {
      guint8 other_key[LR_RELAY_TOKEN_KEY_BYTES];

      frame_bytes[i] ^= 0x01;
      g_assert_false (lr_relay_token_open (secret, frame_bytes + LR_RELAY_FRAME_HEADER_SIZE,
                                           &claims, other_key) &&
                      lr_relay_frame_check_bind (frame_bytes, length, other_key));
      frame_bytes[i] ^= 0x01;
    }
  g_assert_false (lr_relay_frame_check_bind (frame_bytes, length - 1, relay_key));
}

static void
test_bind_wrong_peer (void)
{
  g_autoptr(GBytes) secret = g_bytes_new_static (VECTOR_SECRET, strlen (VECTOR_SECRET));
  guint8 token_public[LR_RELAY_TOKEN_PUBLIC_BYTES], key[LR_RELAY_TOKEN_KEY_BYTES];
  guint8 frame_bytes[LR_RELAY_FRAME_BIND_SIZE];
  gsize length;

  g_assert_true (lr_relay_token_split (VECTOR_TOKEN, token_public, key, NULL));
  length = lr_relay_frame_build_bind (frame_bytes, sizeof frame_bytes, token_public, key, 1, 2);
  /* A peer field that is not the token's, with a MAC that covers it, is still refused. */
  lr_relay_frame_set_peer (frame_bytes, 42);
  crypto_auth_hmacsha256 (frame_bytes + length - 32, frame_bytes, length - 32, key);
  g_assert_false (lr_relay_frame_check_bind (frame_bytes, length, key));
  /* A token whose version or ids are wrong has no key. */
  token_public[0] = 2;
  g_assert_false (lr_relay_token_open (secret, token_public, NULL, key));
  g_assert_false (lr_relay_token_split ("AAAA", token_public, key, NULL));
  g_assert_false (lr_relay_token_split (NULL, token_public, key, NULL));
}

static void
test_stale_vector (void)
{
  g_autoptr(GBytes) expected = from_hex (VECTOR_STALE);
  guint8 token_public[LR_RELAY_TOKEN_PUBLIC_BYTES], key[LR_RELAY_TOKEN_KEY_BYTES];
  guint8 frame_bytes[LR_RELAY_FRAME_STALE_SIZE];
  guint64 echoed = 0, last = 0;
  gint64 relay_time = 0;
  LrRelayFrame frame;
  gsize length;

  g_assert_true (lr_relay_token_split (VECTOR_TOKEN, token_public, key, NULL));
  length = lr_relay_frame_build_stale (frame_bytes, sizeof frame_bytes, VECTOR_PEER, key,
                                       G_GUINT64_CONSTANT (1700000000000001),
                                       G_GINT64_CONSTANT (1700000000500000),
                                       G_GUINT64_CONSTANT (1699999999999999));
  g_assert_cmpuint (length, ==, 68);
  g_assert_cmpmem (frame_bytes, length, g_bytes_get_data (expected, NULL),
                   g_bytes_get_size (expected));
  g_assert_cmpint (lr_relay_frame_parse (&frame, frame_bytes, length), ==, LR_RELAY_FRAME_OK);
  g_assert_cmpuint (frame.code, ==, LR_RELAY_FRAME_ERROR_STALE);
  g_assert_true (lr_relay_frame_check_stale (frame_bytes, length, key, &echoed, &relay_time,
                                             &last));
  g_assert_cmpuint (echoed, ==, G_GUINT64_CONSTANT (1700000000000001));
  g_assert_cmpint (relay_time, ==, G_GINT64_CONSTANT (1700000000500000));
  g_assert_cmpuint (last, ==, G_GUINT64_CONSTANT (1699999999999999));

  /* Only the relay, which knows the key, can say it. */
  for (gsize i = 0; i < length; i++)
    {
      frame_bytes[i] ^= 0x80;
      g_assert_false (lr_relay_frame_check_stale (frame_bytes, length, key, &echoed,
                                                  &relay_time, &last));
      frame_bytes[i] ^= 0x80;
    }
  key[0] ^= 1;
  g_assert_false (lr_relay_frame_check_stale (frame_bytes, length, key, &echoed, &relay_time,
                                              &last));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lr_init ();

  g_test_add_func ("/lr/relay-frame/round-trip", test_round_trip);
  g_test_add_func ("/lr/relay-frame/refused", test_refused);
  g_test_add_func ("/lr/relay-frame/bind/vector", test_bind_vector);
  g_test_add_func ("/lr/relay-frame/bind/wrong-peer", test_bind_wrong_peer);
  g_test_add_func ("/lr/relay-frame/stale/vector", test_stale_vector);

  return g_test_run ();
}
