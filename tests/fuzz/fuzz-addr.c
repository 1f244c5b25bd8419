/* fuzz-addr.c: libFuzzer harness for the address text form
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Addresses come from the control server (relay lists, peers' endpoints), from WireGuard
 * and NetworkManager: what parses must print back the same way and parse again equal.
 */
#include "lr-addr.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = g_strndup ((const char *) data, MIN (size, 256));
  g_autofree char *printed = NULL;
  LrAddr addr, again;

  if (!lr_addr_parse (text, &addr))
    return 0;
  printed = lr_addr_to_string (&addr);
  g_assert_true (lr_addr_parse (printed, &again));
  g_assert_true (lr_addr_equal (&addr, &again));
  g_assert_cmpuint (lr_addr_hash (&addr), ==, lr_addr_hash (&again));
  return 0;
}
