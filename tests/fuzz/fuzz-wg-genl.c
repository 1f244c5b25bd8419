/* fuzz-wg-genl.c: libFuzzer harness for WireGuard's generic netlink dump parser
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The helper parses whatever the kernel answers to a WG_CMD_GET_DEVICE dump. The input is
 * a sequence of datagrams, each preceded by its length (2 bytes, little-endian), fed to one
 * dump as the socket would deliver them, with the sequence number and port the harness
 * expects (0x01020304, 0x1234) and family id 0x1d.
 */
#include "lrd-wg-genl-dump.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(LrdWgGenlDump) dump = lrd_wg_genl_dump_new (0x1d, 0x01020304, 0x1234);
  gboolean done = FALSE;

  while (size >= 2 && !done)
    {
      gsize length = MIN ((gsize) (data[0] | data[1] << 8), size - 2);
      g_autofree guint8 *datagram = g_memdup2 (data + 2, length);

      /* A copy of exactly the datagram's size, so a read past its end is caught. */
      if (!lrd_wg_genl_dump_feed (dump, datagram, length, &done, NULL))
        return 0;
      data += 2 + length;
      size -= 2 + length;
    }

  if (done)
    {
      g_autoptr(GArray) peers = lrd_wg_genl_dump_steal_peers (dump);

      g_assert (peers->len <= LRD_WG_GENL_MAX_PEERS);
    }

  return 0;
}
