/* fuzz-key.c: libFuzzer harness for the key codecs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Keys come from the control server (base64), NetworkManager (base64) and WireGuard's UAPI
 * (hex): what parses must print back to the same bytes. The first byte picks the codec.
 */
#include "lr-key.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = NULL;
  LrKey key, again;

  if (size < 1 || size > 256)
    return 0;
  text = g_strndup ((const char *) data + 1, size - 1);

  if (data[0] % 2 == 0)
    {
      g_autofree char *printed = NULL;

      if (!lr_key_from_base64 (text, &key))
        return 0;
      printed = lr_key_to_base64 (&key);
      g_assert_true (lr_key_from_base64 (printed, &again));
    }
  else
    {
      char printed[LR_KEY_HEX_LENGTH + 1];

      if (!lr_key_from_hex (text, strlen (text), &key))
        return 0;
      lr_key_to_hex (&key, printed);
      g_assert_true (lr_key_from_hex (printed, LR_KEY_HEX_LENGTH, &again));
    }
  g_assert_true (lr_key_equal (&key, &again));
  return 0;
}
