/* fuzz-control-models.c: libFuzzer harness for the control API's parsers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every body the control server accepts from the network goes through one of these. The
 * first byte picks the parser so one corpus covers them all.
 */
#include "lr-control-models.h"
#include "lr-error.h"
#include "lr-invite-code.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *text;
  gsize length;
  g_autofree char *terminated = NULL;

  if (size < 1 || size > LR_MAX_BODY_SIZE)
    return 0;

  lr_init ();
  text = (const char *) data + 1;
  length = size - 1;

  switch (data[0] % 6)
    {
    case 0:
      lr_create_party_request_free (lr_create_party_request_parse (text, length, NULL));
      break;
    case 1:
      lr_join_request_free (lr_join_request_parse (text, length, NULL));
      break;
    case 2:
      lr_peer_update_free (lr_peer_update_parse (text, length, NULL));
      break;
    case 3:
      lr_relay_free (lr_relay_registration_parse (text, length, NULL));
      break;
    case 4:
      lr_signal_free (lr_signal_parse (text, length, NULL));
      break;
    case 5:
      terminated = g_strndup (text, length);
      g_free (lr_invite_code_normalize (terminated, NULL));
      g_free (lr_endpoint_normalize (terminated, NULL));
      break;
    default:
      break;
    }

  return 0;
}
