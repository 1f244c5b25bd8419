/* test-key.c: the one key type and its codecs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-key.h"

#include <string.h>

/* The public key of RFC 7748 section 6.1's Alice, as wg(8) prints keys and in hex. */
#define ALICE_BASE64 "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define ALICE_HEX    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"

static void
test_base64 (void)
{
  LrKey key, again;
  g_autofree char *text = NULL;

  for (guint i = 0; i < LR_KEY_LENGTH; i++)
    key.bytes[i] = (guint8) (i * 7 + 1);

  text = lr_key_to_base64 (&key);
  g_assert_cmpuint (strlen (text), ==, 44);
  g_assert_true (lr_key_from_base64 (text, &again));
  g_assert_cmpmem (key.bytes, LR_KEY_LENGTH, again.bytes, LR_KEY_LENGTH);

  g_assert_false (lr_key_from_base64 ("", &again));
  g_assert_false (lr_key_from_base64 ("AAAA", &again));
  g_assert_false (lr_key_from_base64 (NULL, &again));
  /* 33 bytes. */
  g_assert_false (lr_key_from_base64 ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &again));
}

static void
test_known (void)
{
  LrKey from_base64, from_hex;
  char hex[LR_KEY_HEX_LENGTH + 1];
  g_autofree char *text = NULL;

  g_assert_true (lr_key_from_base64 (ALICE_BASE64, &from_base64));
  g_assert_true (lr_key_from_hex (ALICE_HEX, strlen (ALICE_HEX), &from_hex));
  g_assert_true (lr_key_equal (&from_base64, &from_hex));
  lr_key_to_hex (&from_base64, hex);
  g_assert_cmpstr (hex, ==, ALICE_HEX);
  text = lr_key_to_base64 (&from_hex);
  g_assert_cmpstr (text, ==, ALICE_BASE64);
  g_assert_false (lr_key_is_zero (&from_hex));
  lr_key_clear (&from_hex);
  g_assert_true (lr_key_is_zero (&from_hex));
  g_assert_false (lr_key_equal (&from_base64, &from_hex));
}

static void
test_strict (void)
{
  const char *bad_base64[] = {
    " hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
    "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo",
    "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=",
    "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==",
    "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm==",
  };
  const char *bad_hex[] = {
    "",
    ALICE_HEX "0",
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6",
    "x520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  };
  LrKey key = { { 0x42 } };

  for (gsize i = 0; i < G_N_ELEMENTS (bad_base64); i++)
    g_assert_false (lr_key_from_base64 (bad_base64[i], &key));
  for (gsize i = 0; i < G_N_ELEMENTS (bad_hex); i++)
    g_assert_false (lr_key_from_hex (bad_hex[i], strlen (bad_hex[i]), &key));
  g_assert_false (lr_key_from_hex (NULL, 64, &key));
  /* A failed parse leaves the output alone. */
  g_assert_cmpuint (key.bytes[0], ==, 0x42);
  /* Upper-case hex is hex too. */
  g_assert_true (lr_key_from_hex ("8520F0098930A754748B7DDCB43EF75A"
                                  "0DBF3A0D26381AF4EBA4A98EAA9B4E6A", 64, &key));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lr/key/base64", test_base64);
  g_test_add_func ("/lr/key/known", test_known);
  g_test_add_func ("/lr/key/strict", test_strict);

  return g_test_run ();
}
