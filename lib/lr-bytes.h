/* lr-bytes.h: reading and writing integers in network byte order
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For codecs that walk a datagram byte by byte, where a pointer may be unaligned.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

static inline guint16
lr_bytes_read_be16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static inline guint32
lr_bytes_read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static inline guint64
lr_bytes_read_be64 (const guint8 *p)
{
  return ((guint64) lr_bytes_read_be32 (p) << 32) | lr_bytes_read_be32 (p + 4);
}

static inline void
lr_bytes_write_be16 (guint8  *p,
                     guint16  value)
{
  p[0] = value >> 8;
  p[1] = value & 0xff;
}

static inline void
lr_bytes_write_be32 (guint8  *p,
                     guint32  value)
{
  p[0] = value >> 24;
  p[1] = (value >> 16) & 0xff;
  p[2] = (value >> 8) & 0xff;
  p[3] = value & 0xff;
}

static inline void
lr_bytes_write_be64 (guint8  *p,
                     guint64  value)
{
  lr_bytes_write_be32 (p, value >> 32);
  lr_bytes_write_be32 (p + 4, value & 0xffffffff);
}

G_END_DECLS
