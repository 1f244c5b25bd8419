/* lr-bytes.h: big-endian integers in wire formats
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

static inline void
lr_put_be64 (guint8  *out,
             guint64  value)
{
  for (int i = 7; i >= 0; i--)
    {
      out[i] = value & 0xff;
      value >>= 8;
    }
}

static inline guint64
lr_get_be64 (const guint8 *in)
{
  guint64 value = 0;

  for (int i = 0; i < 8; i++)
    value = (value << 8) | in[i];
  return value;
}

G_END_DECLS
