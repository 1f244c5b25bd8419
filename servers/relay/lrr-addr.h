/* lrr-addr.h: a client's UDP address, as the workers compare and hash it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* recvmmsg() writes the source straight into one of these; it is also the sendmmsg()
 * destination. */
typedef struct
{
  union
  {
    struct sockaddr     sa;
    struct sockaddr_in  sin;
    struct sockaddr_in6 sin6;
  } u;
  socklen_t length;
} LrrAddr;

static inline gboolean
lrr_addr_equal (const LrrAddr *a,
                const LrrAddr *b)
{
  if (a->u.sa.sa_family != b->u.sa.sa_family)
    return FALSE;
  if (a->u.sa.sa_family == AF_INET)
    return a->u.sin.sin_port == b->u.sin.sin_port &&
           a->u.sin.sin_addr.s_addr == b->u.sin.sin_addr.s_addr;
  if (a->u.sa.sa_family == AF_INET6)
    return a->u.sin6.sin6_port == b->u.sin6.sin6_port &&
           memcmp (&a->u.sin6.sin6_addr, &b->u.sin6.sin6_addr, 16) == 0;
  return FALSE;
}

static inline guint32
lrr_hash_mix (guint64 value)
{
  /* The finaliser of MurmurHash3 / splitmix64: cheap, and spreads every input bit. */
  value ^= value >> 33;
  value *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  value ^= value >> 33;
  value *= G_GUINT64_CONSTANT (0xc4ceb9fe1a85ec53);
  value ^= value >> 33;
  return (guint32) value;
}

static inline guint32
lrr_addr_hash (const LrrAddr *a)
{
  if (a->u.sa.sa_family == AF_INET)
    return lrr_hash_mix (((guint64) a->u.sin.sin_addr.s_addr << 16) | a->u.sin.sin_port);
  if (a->u.sa.sa_family == AF_INET6)
    {
      guint64 high, low;

      memcpy (&high, &a->u.sin6.sin6_addr, 8);
      memcpy (&low, (const guint8 *) &a->u.sin6.sin6_addr + 8, 8);
      return lrr_hash_mix (high ^ lrr_hash_mix (low) ^ a->u.sin6.sin6_port);
    }
  return 0;
}

char *lrr_addr_to_string (const LrrAddr *self);

G_END_DECLS
