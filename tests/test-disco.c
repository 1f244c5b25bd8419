/* test-disco.c: the disco codec, its sealing and its replay window
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-disco.h"
#include "lr-error.h"

#include <sodium.h>
#include <string.h>

typedef struct
{
  guint8 a_public[32], a_secret[32];
  guint8 b_public[32], b_secret[32];
  guint8 c_public[32], c_secret[32];
} Keys;

static void
keys_init (Keys *keys)
{
  guint8 seed[crypto_box_SEEDBYTES];

  memset (seed, 0x01, sizeof seed);
  crypto_box_seed_keypair (keys->a_public, keys->a_secret, seed);
  memset (seed, 0x02, sizeof seed);
  crypto_box_seed_keypair (keys->b_public, keys->b_secret, seed);
  memset (seed, 0x03, sizeof seed);
  crypto_box_seed_keypair (keys->c_public, keys->c_secret, seed);
}

static char *
to_hex (const guint8 *data,
        gsize         length)
{
  GString *text = g_string_new (NULL);

  for (gsize i = 0; i < length; i++)
    g_string_append_printf (text, "%02x", data[i]);
  return g_string_free (text, FALSE);
}

static void
fixed_nonce (guint64 counter,
             guint8  nonce[LR_DISCO_NONCE_SIZE])
{
  lr_disco_nonce_make (counter, nonce);
  memset (nonce + 8, 0xaa, LR_DISCO_NONCE_SIZE - 8);
}

static LrDiscoMessage
make_ping (void)
{
  LrDiscoMessage ping = { .type = LR_DISCO_PING };

  for (guint i = 0; i < LR_DISCO_TRANSACTION_SIZE; i++)
    ping.transaction_id[i] = i;
  return ping;
}

/* The plaintexts, byte by byte as lr-disco.h documents them. */
static void
test_plaintext_vectors (void)
{
  LrDiscoMessage ping = make_ping ();
  LrDiscoMessage pong = ping;
  LrDiscoMessage call = { .type = LR_DISCO_CALL_ME_MAYBE, .n_candidates = 2 };
  LrDiscoMessage back;
  guint8 out[LR_DISCO_MAX_PLAINTEXT];
  g_autofree char *hex = NULL;
  gsize length;

  length = lr_disco_message_encode (&ping, out, sizeof out);
  hex = to_hex (out, length);
  g_assert_cmpstr (hex, ==, "01" "000102030405060708090a0b");
  g_clear_pointer (&hex, g_free);

  pong.type = LR_DISCO_PONG;
  g_assert_true (lr_stun_address_parse (&pong.observed, "198.51.100.7:51820"));
  length = lr_disco_message_encode (&pong, out, sizeof out);
  hex = to_hex (out, length);
  g_assert_cmpstr (hex, ==, "02" "000102030405060708090a0b" "04" "ca6c" "c6336407");
  g_clear_pointer (&hex, g_free);
  g_assert_true (lr_disco_message_decode (&back, out, length, NULL));
  g_assert_cmpint (back.type, ==, LR_DISCO_PONG);
  g_assert_cmpmem (back.transaction_id, 12, ping.transaction_id, 12);
  g_assert_true (lr_stun_address_equal (&back.observed, &pong.observed));

  g_assert_true (lr_stun_address_parse (&call.candidates[0], "192.168.1.2:51820"));
  g_assert_true (lr_stun_address_parse (&call.candidates[1], "[2001:db8::1]:443"));
  length = lr_disco_message_encode (&call, out, sizeof out);
  hex = to_hex (out, length);
  g_assert_cmpstr (hex, ==, "03" "02" "04" "ca6c" "c0a80102"
                            "06" "01bb" "20010db8000000000000000000000001");
  g_assert_true (lr_disco_message_decode (&back, out, length, NULL));
  g_assert_cmpuint (back.n_candidates, ==, 2);
  g_assert_true (lr_stun_address_equal (&back.candidates[0], &call.candidates[0]));
  g_assert_true (lr_stun_address_equal (&back.candidates[1], &call.candidates[1]));
}

/* A sealed ping with fixed keys and nonce: the bytes, and that it is exactly crypto_box as
 * documented (opened here with libsodium itself, not with the codec). */
/* Pinned when the format was written (libsodium 1.0.18): crypto_box_seed_keypair's public
 * key for 32 bytes of 0x01, and the box (MAC, then ciphertext) of the ping below from that
 * key to the one of 32 bytes of 0x02, nonce counter 1 and sixteen 0xaa. */
#define KEY_VECTOR "1b1b58dd50ea14b60da17b790cd02754d970c9bab864ebb3c0f3016fe51d3f57"
#define BOX_VECTOR "a3881deac14497045e39bbf932c95c046077952f9470f5af82b74a4bb7"

static void
test_sealed_vector (void)
{
  static const char expected[] =
    "4c52646973636f01" KEY_VECTOR "0000000000000001" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    BOX_VECTOR;
  Keys keys;
  LrDiscoMessage ping = make_ping ();
  guint8 nonce[LR_DISCO_NONCE_SIZE];
  guint8 packet[LR_DISCO_MAX_SIZE];
  guint8 plaintext[64];
  g_autofree char *hex = NULL;
  g_autofree char *key_hex = NULL;
  g_autofree char *box_hex = NULL;
  g_autofree char *plain_hex = NULL;
  gsize length;

  keys_init (&keys);
  fixed_nonce (1, nonce);
  length = lr_disco_seal (&ping, keys.a_public, keys.a_secret, keys.b_public, nonce, packet,
                          sizeof packet);
  g_assert_cmpuint (length, ==, LR_DISCO_HEADER_SIZE + LR_DISCO_MAC_SIZE + 13);

  /* The box itself, pinned: any change of format or cipher shows here. */
  hex = to_hex (packet, length);
  key_hex = to_hex (keys.a_public, 32);
  box_hex = to_hex (packet + LR_DISCO_HEADER_SIZE, length - LR_DISCO_HEADER_SIZE);
  g_assert_cmpstr (hex, ==, expected);
  g_assert_cmpstr (key_hex, ==, KEY_VECTOR);
  g_assert_cmpstr (box_hex, ==, BOX_VECTOR);

  /* With the shared key made once: the same bytes, and they open the same way. */
  {
    LrDiscoSharedKey a_to_b, b_to_a;
    guint8 again[LR_DISCO_MAX_SIZE];
    LrDiscoMessage back;

    g_assert_true (lr_disco_shared_key_init (&a_to_b, keys.b_public, keys.a_secret));
    g_assert_true (lr_disco_shared_key_init (&b_to_a, keys.a_public, keys.b_secret));
    g_assert_cmpmem (a_to_b.bytes, 32, b_to_a.bytes, 32);
    g_assert_cmpuint (lr_disco_seal_shared (&ping, keys.a_public, &a_to_b, nonce, again,
                                            sizeof again), ==, length);
    g_assert_cmpmem (again, length, packet, length);
    g_assert_true (lr_disco_open_shared (&back, packet, length, keys.a_public, &b_to_a, NULL,
                                         NULL));
    g_assert_cmpint (back.type, ==, LR_DISCO_PING);
    g_assert_cmpmem (back.transaction_id, 12, ping.transaction_id, 12);
    lr_disco_shared_key_clear (&a_to_b);
    g_assert_cmpmem (a_to_b.bytes, 32, (guint8[32]) { 0 }, 32);
    lr_disco_shared_key_clear (&b_to_a);
  }

  g_assert_cmpint (crypto_box_open_easy (plaintext, packet + LR_DISCO_HEADER_SIZE,
                                         length - LR_DISCO_HEADER_SIZE, nonce, keys.a_public,
                                         keys.b_secret), ==, 0);
  plain_hex = to_hex (plaintext, length - LR_DISCO_HEADER_SIZE - LR_DISCO_MAC_SIZE);
  g_assert_cmpstr (plain_hex, ==, "01000102030405060708090a0b");
}

static void
test_round_trip (void)
{
  Keys keys;
  LrDiscoMessage call = { .type = LR_DISCO_CALL_ME_MAYBE,
                          .n_candidates = LR_DISCO_MAX_CANDIDATES };
  LrDiscoMessage back;
  LrDiscoReplay replay = { 0 };
  guint8 nonce[LR_DISCO_NONCE_SIZE];
  guint8 packet[LR_DISCO_MAX_SIZE];
  guint8 sender[32];
  g_autoptr(GError) error = NULL;
  gsize length;

  keys_init (&keys);
  for (guint i = 0; i < call.n_candidates; i++)
    {
      g_autofree char *text = i % 2 ? g_strdup_printf ("[fd00::%u]:%u", i, 1000 + i)
                                    : g_strdup_printf ("10.0.0.%u:%u", i, 1000 + i);

      g_assert_true (lr_stun_address_parse (&call.candidates[i], text));
    }
  lr_disco_nonce_make (42, nonce);
  length = lr_disco_seal (&call, keys.a_public, keys.a_secret, keys.b_public, nonce, packet,
                          sizeof packet);
  /* Eight IPv4 candidates of 7 bytes, eight IPv6 ones of 19. */
  g_assert_cmpuint (length, ==, LR_DISCO_HEADER_SIZE + LR_DISCO_MAC_SIZE + 2 + 8 * 7 + 8 * 19);
  /* Too small a buffer: nothing. */
  g_assert_cmpuint (lr_disco_seal (&call, keys.a_public, keys.a_secret, keys.b_public, nonce,
                                   packet, length - 1), ==, 0);
  length = lr_disco_seal (&call, keys.a_public, keys.a_secret, keys.b_public, nonce, packet,
                          sizeof packet);

  g_assert_true (lr_disco_peek_sender (packet, length, sender));
  g_assert_cmpmem (sender, 32, keys.a_public, 32);
  g_assert_true (lr_disco_open (&back, packet, length, keys.b_secret, keys.a_public, &replay,
                                &error));
  g_assert_no_error (error);
  g_assert_cmpint (back.type, ==, LR_DISCO_CALL_ME_MAYBE);
  g_assert_cmpuint (back.n_candidates, ==, LR_DISCO_MAX_CANDIDATES);
  for (guint i = 0; i < call.n_candidates; i++)
    g_assert_true (lr_stun_address_equal (&back.candidates[i], &call.candidates[i]));
  g_assert_cmpuint (replay.highest, ==, 42);
}

/* Whatever is not a genuine packet from the claimed sender to us opens to nothing. */
static void
test_refusals (void)
{
  Keys keys;
  LrDiscoMessage ping = make_ping ();
  LrDiscoMessage back;
  guint8 nonce[LR_DISCO_NONCE_SIZE];
  guint8 packet[LR_DISCO_MAX_SIZE];
  guint8 tampered[LR_DISCO_MAX_SIZE];
  guint8 sender[32];
  gsize length;

  keys_init (&keys);
  lr_disco_nonce_make (7, nonce);
  length = lr_disco_seal (&ping, keys.a_public, keys.a_secret, keys.b_public, nonce, packet,
                          sizeof packet);

  /* Every single flipped bit, anywhere: the magic, the key, the nonce, the MAC, the box. */
  for (gsize i = 0; i < length; i++)
    for (guint bit = 0; bit < 8; bit++)
      {
        g_autoptr(GError) error = NULL;
        LrDiscoReplay replay = { 0 };

        memcpy (tampered, packet, length);
        tampered[i] ^= 1 << bit;
        g_assert_false (lr_disco_open (&back, tampered, length, keys.b_secret, keys.a_public,
                                       &replay, &error));
        g_assert_nonnull (error);
        g_assert_false (replay.started);
      }

  /* Truncated at every length, and one byte too long. */
  for (gsize n = 0; n < length; n++)
    g_assert_false (lr_disco_open (&back, packet, n, keys.b_secret, keys.a_public, NULL, NULL));
  memcpy (tampered, packet, length);
  tampered[length] = 0;
  g_assert_false (lr_disco_open (&back, tampered, length + 1, keys.b_secret, keys.a_public,
                                 NULL, NULL));
  g_assert_false (lr_disco_peek_sender (packet, 10, sender));
  g_assert_false (lr_disco_peek_sender ((const guint8 *) "not disco at all, no magic here...."
                                        "..........................................",
                                        80, sender));

  /* A peer key with no shared secret (the all-zero point): nothing to it, nothing from it. */
  {
    static const guint8 zero[32];
    LrDiscoSharedKey key;

    g_assert_false (lr_disco_shared_key_init (&key, zero, keys.b_secret));
    g_assert_cmpuint (lr_disco_seal (&ping, keys.a_public, keys.a_secret, zero, nonce, tampered,
                                     sizeof tampered), ==, 0);
    g_assert_false (lr_disco_open (&back, packet, length, keys.b_secret, zero, NULL, NULL));
  }

  /* Sealed for someone else, or by someone else claiming to be A. */
  {
    g_autoptr(GError) error = NULL;

    g_assert_false (lr_disco_open (&back, packet, length, keys.c_secret, keys.a_public, NULL,
                                   &error));
    g_assert_error (error, LR_ERROR, LR_ERROR_INVALID_TOKEN);
  }
  {
    g_autoptr(GError) error = NULL;

    length = lr_disco_seal (&ping, keys.a_public, keys.c_secret, keys.b_public, nonce, packet,
                            sizeof packet);
    g_assert_cmpuint (length, >, 0);
    g_assert_false (lr_disco_open (&back, packet, length, keys.b_secret, keys.a_public, NULL,
                                   &error));
    g_assert_error (error, LR_ERROR, LR_ERROR_INVALID_TOKEN);
  }
  {
    g_autoptr(GError) error = NULL;

    length = lr_disco_seal (&ping, keys.c_public, keys.c_secret, keys.b_public, nonce, packet,
                            sizeof packet);
    g_assert_false (lr_disco_open (&back, packet, length, keys.b_secret, keys.a_public, NULL,
                                   &error));
    g_assert_error (error, LR_ERROR, LR_ERROR_INVALID_TOKEN);
  }
}

/* Plaintexts that are authentic but wrong inside, sealed with libsodium directly. */
static void
test_bad_plaintexts (void)
{
  static const struct
  {
    const char *name;
    const char *hex;
    int         code;
  } cases[] = {
    { "unknown type", "09000102030405060708090a0b", LR_ERROR_INVALID },
    { "type 0", "00", LR_ERROR_INVALID },
    { "short ping", "0100010203", LR_ERROR_MALFORMED },
    { "long ping", "01000102030405060708090a0b00", LR_ERROR_MALFORMED },
    { "pong without address", "02000102030405060708090a0b", LR_ERROR_MALFORMED },
    { "pong, family 5", "02000102030405060708090a0b05ca6cc6336407", LR_ERROR_MALFORMED },
    { "pong, port 0", "02000102030405060708090a0b040000c6336407", LR_ERROR_MALFORMED },
    { "pong, short v6", "02000102030405060708090a0b06ca6cc6336407", LR_ERROR_MALFORMED },
    { "no candidates", "0300", LR_ERROR_MALFORMED },
    { "17 candidates", "0311", LR_ERROR_MALFORMED },
    { "one candidate missing", "030204ca6cc0a80102", LR_ERROR_MALFORMED },
    { "trailing byte", "030104ca6cc0a8010200", LR_ERROR_MALFORMED },
  };
  Keys keys;

  keys_init (&keys);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GError) error = NULL;
      guint8 plaintext[64];
      guint8 packet[LR_DISCO_MAX_SIZE];
      gsize n = strlen (cases[c].hex) / 2;
      LrDiscoMessage back;
      LrDiscoReplay replay = { 0 };

      for (gsize i = 0; i < n; i++)
        plaintext[i] = g_ascii_xdigit_value (cases[c].hex[2 * i]) << 4 |
                       g_ascii_xdigit_value (cases[c].hex[2 * i + 1]);
      memcpy (packet, LR_DISCO_MAGIC, 8);
      memcpy (packet + 8, keys.a_public, 32);
      lr_disco_nonce_make (c + 1, packet + 40);
      g_assert_cmpint (crypto_box_easy (packet + LR_DISCO_HEADER_SIZE, plaintext, n, packet + 40,
                                        keys.b_public, keys.a_secret), ==, 0);
      g_test_message ("%s", cases[c].name);
      g_assert_false (lr_disco_open (&back, packet, LR_DISCO_HEADER_SIZE + 16 + n, keys.b_secret,
                                     keys.a_public, &replay, &error));
      g_assert_error (error, LR_ERROR, cases[c].code);
      g_assert_false (replay.started);
      /* And the plaintext parser alone says the same. */
      g_assert_false (lr_disco_message_decode (&back, plaintext, n, NULL));
    }
}

static void
test_encode_refusals (void)
{
  LrDiscoMessage message = make_ping ();
  guint8 out[LR_DISCO_MAX_PLAINTEXT];

  message.type = 9;
  g_assert_cmpuint (lr_disco_message_encode (&message, out, sizeof out), ==, 0);
  message.type = LR_DISCO_PONG;   /* no observed address */
  g_assert_cmpuint (lr_disco_message_encode (&message, out, sizeof out), ==, 0);
  g_assert_true (lr_stun_address_parse (&message.observed, "198.51.100.7:0"));
  g_assert_cmpuint (lr_disco_message_encode (&message, out, sizeof out), ==, 0);
  message.type = LR_DISCO_CALL_ME_MAYBE;
  message.n_candidates = 0;
  g_assert_cmpuint (lr_disco_message_encode (&message, out, sizeof out), ==, 0);
  message.n_candidates = LR_DISCO_MAX_CANDIDATES + 1;
  g_assert_cmpuint (lr_disco_message_encode (&message, out, sizeof out), ==, 0);
  message.type = LR_DISCO_PING;
  g_assert_cmpuint (lr_disco_message_encode (&message, out, 5), ==, 0);
}

static gsize
seal_ping (const Keys *keys,
           guint64     counter,
           guint8     *packet)
{
  LrDiscoMessage ping = make_ping ();
  guint8 nonce[LR_DISCO_NONCE_SIZE];

  lr_disco_nonce_make (counter, nonce);
  return lr_disco_seal (&ping, keys->a_public, keys->a_secret, keys->b_public, nonce, packet,
                        LR_DISCO_MAX_SIZE);
}

static gboolean
take (const Keys    *keys,
      LrDiscoReplay *replay,
      const guint8  *packet,
      gsize          length)
{
  LrDiscoMessage back;

  return lr_disco_open (&back, packet, length, keys->b_secret, keys->a_public, replay, NULL);
}

static void
test_replay (void)
{
  Keys keys;
  LrDiscoReplay replay = { 0 };
  guint8 first[LR_DISCO_MAX_SIZE];
  guint8 packet[LR_DISCO_MAX_SIZE];
  gsize first_length;
  gsize length;
  const guint64 start = G_GUINT64_CONSTANT (1700000000000000);

  keys_init (&keys);

  /* The same packet twice: the second is dropped. */
  first_length = seal_ping (&keys, start, first);
  g_assert_true (take (&keys, &replay, first, first_length));
  g_assert_false (take (&keys, &replay, first, first_length));

  /* Out of order within the window: taken once each. */
  length = seal_ping (&keys, start + 10, packet);
  g_assert_true (take (&keys, &replay, packet, length));
  for (guint64 c = start + 9; c > start; c--)
    {
      length = seal_ping (&keys, c, packet);
      g_assert_true (take (&keys, &replay, packet, length));
      g_assert_false (take (&keys, &replay, packet, length));
    }
  g_assert_false (take (&keys, &replay, first, first_length));

  /* Far ahead: the window moves, what fell out of it is too old. */
  length = seal_ping (&keys, start + 10 + LR_DISCO_REPLAY_WINDOW, packet);
  g_assert_true (take (&keys, &replay, packet, length));
  length = seal_ping (&keys, start + 10, packet);
  g_assert_false (take (&keys, &replay, packet, length));
  length = seal_ping (&keys, start + 11, packet);
  g_assert_true (take (&keys, &replay, packet, length));

  /* A forged packet with a huge counter does not move the window. */
  length = seal_ping (&keys, G_MAXUINT64, packet);
  packet[length - 1] ^= 1;
  g_assert_false (take (&keys, &replay, packet, length));
  g_assert_cmpuint (replay.highest, ==, start + 10 + LR_DISCO_REPLAY_WINDOW);
  length = seal_ping (&keys, start + 12, packet);
  g_assert_true (take (&keys, &replay, packet, length));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  lr_init ();

  g_test_add_func ("/lr/disco/plaintext-vectors", test_plaintext_vectors);
  g_test_add_func ("/lr/disco/sealed-vector", test_sealed_vector);
  g_test_add_func ("/lr/disco/round-trip", test_round_trip);
  g_test_add_func ("/lr/disco/refusals", test_refusals);
  g_test_add_func ("/lr/disco/bad-plaintexts", test_bad_plaintexts);
  g_test_add_func ("/lr/disco/encode-refusals", test_encode_refusals);
  g_test_add_func ("/lr/disco/replay", test_replay);

  return g_test_run ();
}
