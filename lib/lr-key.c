/* lr-key.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-key.h"

#include <sodium.h>
#include <string.h>

/* Returns: (transfer full): 44 characters; wipe it with sodium_memzero() if it holds a
 *   private key */
char *
lr_key_to_base64 (const LrKey *key)
{
  char text[sodium_base64_ENCODED_LEN (LR_KEY_LENGTH, sodium_base64_VARIANT_ORIGINAL)];
  char *copy;

  sodium_bin2base64 (text, sizeof text, key->bytes, sizeof key->bytes,
                     sodium_base64_VARIANT_ORIGINAL);
  copy = g_strdup (text);
  sodium_memzero (text, sizeof text);
  return copy;
}

/**
 * lr_key_from_base64:
 *
 * Exactly 44 characters of standard base64 with padding that decode to 32 bytes: no
 * whitespace, no other alphabet, nothing after. @out is left as it was on failure.
 */
gboolean
lr_key_from_base64 (const char *text,
                    LrKey      *out)
{
  LrKey key;
  size_t length = 0;
  const char *end = NULL;
  gboolean ok;

  if (text == NULL || strlen (text) != LR_KEY_BASE64_LENGTH)
    return FALSE;
  ok = sodium_base642bin (key.bytes, sizeof key.bytes, text, LR_KEY_BASE64_LENGTH, NULL,
                          &length, &end, sodium_base64_VARIANT_ORIGINAL) == 0 &&
       length == LR_KEY_LENGTH && end == text + LR_KEY_BASE64_LENGTH;
  if (ok)
    *out = key;
  sodium_memzero (&key, sizeof key);
  return ok;
}

void
lr_key_to_hex (const LrKey *key,
               char         out[LR_KEY_HEX_LENGTH + 1])
{
  sodium_bin2hex (out, LR_KEY_HEX_LENGTH + 1, key->bytes, sizeof key->bytes);
}

/* Exactly 64 hex digits (either case) in @length bytes of @text. */
gboolean
lr_key_from_hex (const char *text,
                 gsize       length,
                 LrKey      *out)
{
  LrKey key;
  size_t decoded = 0;
  const char *end = NULL;
  gboolean ok;

  if (text == NULL || length != LR_KEY_HEX_LENGTH)
    return FALSE;
  ok = sodium_hex2bin (key.bytes, sizeof key.bytes, text, length, NULL, &decoded, &end) == 0 &&
       decoded == LR_KEY_LENGTH && end == text + length;
  if (ok)
    *out = key;
  sodium_memzero (&key, sizeof key);
  return ok;
}

/* In constant time: keys are secrets, or stand for one. */
gboolean
lr_key_equal (const LrKey *a,
              const LrKey *b)
{
  return sodium_memcmp (a->bytes, b->bytes, LR_KEY_LENGTH) == 0;
}

gboolean
lr_key_is_zero (const LrKey *key)
{
  return sodium_is_zero (key->bytes, LR_KEY_LENGTH);
}

void
lr_key_clear (LrKey *key)
{
  sodium_memzero (key, sizeof *key);
}
