/* fuzz-disco.c: libFuzzer harness for the disco codec
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The first byte chooses what the rest is: 0, a plaintext for the message parser (which
 * must give back exactly what it read when it takes it); anything else, a whole packet for
 * lr_disco_open() between two fixed keys, with a replay window kept across inputs. Sealed
 * packets hardly ever open for a fuzzer (the MAC), which is why the plaintext parser is
 * reachable on its own.
 */
#include "lr-disco.h"
#include "lr-error.h"

#include <sodium.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

static guint8 a_public[32], a_secret[32];
static guint8 b_public[32], b_secret[32];
static LrDiscoReplay replay;

static void
keys_init (void)
{
  static gboolean done;
  guint8 seed[crypto_box_SEEDBYTES];

  if (done)
    return;
  lr_init ();
  memset (seed, 0x01, sizeof seed);
  crypto_box_seed_keypair (a_public, a_secret, seed);
  memset (seed, 0x02, sizeof seed);
  crypto_box_seed_keypair (b_public, b_secret, seed);
  done = TRUE;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  LrDiscoMessage message;
  guint8 again[LR_DISCO_MAX_PLAINTEXT];
  gsize length;

  keys_init ();
  if (size < 1)
    return 0;

  if (data[0] == 0)
    {
      if (!lr_disco_message_decode (&message, data + 1, size - 1, NULL))
        return 0;
      /* Canonical: what was taken is written back byte for byte. */
      length = lr_disco_message_encode (&message, again, sizeof again);
      if (length != size - 1 || memcmp (again, data + 1, length) != 0)
        __builtin_trap ();
      return 0;
    }

  if (lr_disco_open (&message, data + 1, size - 1, b_secret, a_public, &replay, NULL))
    {
      length = lr_disco_message_encode (&message, again, sizeof again);
      if (length == 0 || length != size - 1 - LR_DISCO_HEADER_SIZE - LR_DISCO_MAC_SIZE)
        __builtin_trap ();
    }
  return 0;
}
