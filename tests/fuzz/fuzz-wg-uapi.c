/* fuzz-wg-uapi.c: libFuzzer harness for the WireGuard UAPI answer parser
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The helper parses whatever comes back on /run/wireguard/IFNAME.sock. The first byte picks
 * the parser (get or set answer), the rest is the answer.
 */
#include "lr-error.h"
#include "lr-wg-uapi.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *text;
  gsize length;
  int answer_errno;
  gssize answer_length;

  if (size < 1 || size > LR_WG_UAPI_MAX_ANSWER_SIZE)
    return 0;

  lr_init ();
  text = (const char *) data + 1;
  length = size - 1;

  answer_length = lr_wg_uapi_answer_length (text, length);
  g_assert (answer_length == -1 || (answer_length > 0 && (gsize) answer_length <= length));

  if (data[0] & 1)
    lr_wg_uapi_device_free (lr_wg_uapi_parse_get (text, length, NULL));
  else
    lr_wg_uapi_parse_set (text, length, &answer_errno, NULL);

  return 0;
}
