/* fuzz-stun.c: libFuzzer harness for the STUN codec
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-stun.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  LrStunMessage message;
  LrStunAddress address;
  guint32 value;
  guint code;
  guint16 unknown;
  char *reason = NULL;
  char *text;

  if (!lr_stun_message_parse (&message, data, size, NULL))
    return 0;

  for (guint i = 0; i < message.n_attributes; i++)
    {
      guint16 type = message.attributes[i].type;

      if (lr_stun_message_get_address (&message, type, &address))
        g_free (lr_stun_address_to_string (&address));
      lr_stun_message_get_u32 (&message, type, &value);
      text = lr_stun_message_dup_string (&message, type);
      g_free (text);
    }
  if (lr_stun_message_get_error (&message, &code, &reason))
    g_free (reason);
  lr_stun_message_check_fingerprint (&message);
  lr_stun_message_check_integrity (&message, (const guint8 *) "key", 3);
  lr_stun_message_has_unknown_required (&message, &unknown);
  return 0;
}
