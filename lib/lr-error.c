/* lr-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-error.h"

#include <sodium.h>

G_DEFINE_QUARK (lr-error-quark, lr_error)

/**
 * lr_init:
 *
 * Initialises libsodium once. Every binary calls it first; the functions of this library
 * that draw random bytes call it too, so forgetting it is harmless.
 */
void
lr_init (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      /* sodium_init() only fails when the system has no source of randomness at all;
       * nothing in LANrage can run safely then. */
      if (sodium_init () < 0)
        g_error ("libsodium could not be initialised: no random source");
      g_once_init_leave (&initialised, 1);
    }
}
