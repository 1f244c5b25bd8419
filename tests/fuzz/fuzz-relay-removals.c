/* fuzz-relay-removals.c: libFuzzer harness for lanrage-control's answer to a relay
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-relay-removals.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(LrRelayRemovals) removals = NULL;

  removals = lr_relay_removals_parse ((const char *) data, size, NULL);
  if (removals != NULL &&
      (removals->removed->len > LR_RELAY_REMOVALS_PAGE ||
       removals->cursor > (G_GUINT64_CONSTANT (1) << 53)))
    __builtin_trap ();
  for (guint i = 0; removals != NULL && i < removals->removed->len; i++)
    {
      LrRelayRemoval *removal = &g_array_index (removals->removed, LrRelayRemoval, i);

      if (removal->party == 0 || removal->peer == 0)
        __builtin_trap ();
    }
  return 0;
}
