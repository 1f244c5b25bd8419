/* lrc-rate-limiter.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrc-rate-limiter.h"

#include <string.h>

/*
 * A bucket holds up to per_minute tokens and refills at per_minute a minute; each create or
 * join takes one. A burst of a whole minute's allowance is fine (friends join together); a
 * script guessing invite codes gets per_minute guesses a minute, against 2^60 codes.
 */
typedef struct
{
  double tokens;
  gint64 updated_us;
} Bucket;

struct _LrcRateLimiter
{
  guint       per_minute;
  LrClock    *clock;
  GHashTable *buckets;
};

LrcRateLimiter *
lrc_rate_limiter_new (guint    per_minute,
                      LrClock *clock)
{
  LrcRateLimiter *self = g_new0 (LrcRateLimiter, 1);

  self->per_minute = per_minute;
  self->clock = lr_clock_ref (clock);
  self->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
lrc_rate_limiter_free (LrcRateLimiter *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->buckets);
  lr_clock_unref (self->clock);
  g_free (self);
}

static void
refill (LrcRateLimiter *self,
        Bucket         *bucket,
        gint64          now)
{
  double elapsed_min = (double) (now - bucket->updated_us) / (60.0 * G_USEC_PER_SEC);

  bucket->tokens = MIN ((double) self->per_minute, bucket->tokens + elapsed_min * self->per_minute);
  bucket->updated_us = now;
}

gboolean
lrc_rate_limiter_allow (LrcRateLimiter *self,
                        const char     *key,
                        guint          *retry_after_s)
{
  gint64 now = lr_clock_now_us (self->clock);
  Bucket *bucket;

  if (self->per_minute == 0)
    return TRUE;

  bucket = g_hash_table_lookup (self->buckets, key);
  if (bucket == NULL)
    {
      bucket = g_new0 (Bucket, 1);
      bucket->tokens = self->per_minute;
      bucket->updated_us = now;
      g_hash_table_insert (self->buckets, g_strdup (key), bucket);
    }

  refill (self, bucket, now);
  if (bucket->tokens >= 1.0)
    {
      bucket->tokens -= 1.0;
      return TRUE;
    }

  if (retry_after_s != NULL)
    *retry_after_s = (guint) ((1.0 - bucket->tokens) * 60.0 / self->per_minute) + 1;
  return FALSE;
}

/* Forgets full buckets, so the table holds only addresses that were busy lately. */
void
lrc_rate_limiter_prune (LrcRateLimiter *self)
{
  gint64 now = lr_clock_now_us (self->clock);
  GHashTableIter iter;
  Bucket *bucket;

  g_hash_table_iter_init (&iter, self->buckets);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &bucket))
    {
      refill (self, bucket, now);
      if (bucket->tokens >= self->per_minute)
        g_hash_table_iter_remove (&iter);
    }
}

/**
 * lrc_address_key:
 *
 * Who a client address belongs to, for limits per client: an IPv4 address is its own key;
 * an IPv6 address stands for its /64, the block a single home or host is given
 * (RFC 6177), so a client cannot escape a limit by stepping through its own addresses. An
 * IPv4-mapped IPv6 address is keyed as the IPv4 address it carries.
 *
 * Returns: (transfer full): a key such as "198.51.100.7" or "2001:db8:1:2::/64"
 */
char *
lrc_address_key (GInetAddress *address)
{
  static const guint8 mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  guint8 bytes[16];
  g_autoptr(GInetAddress) prefix = NULL;
  g_autofree char *text = NULL;

  if (g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
    return g_inet_address_to_string (address);

  memcpy (bytes, g_inet_address_to_bytes (address), sizeof bytes);
  if (memcmp (bytes, mapped_prefix, sizeof mapped_prefix) == 0)
    {
      g_autoptr(GInetAddress) v4 = g_inet_address_new_from_bytes (bytes + 12,
                                                                  G_SOCKET_FAMILY_IPV4);
      return g_inet_address_to_string (v4);
    }

  memset (bytes + 8, 0, 8);
  prefix = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV6);
  text = g_inet_address_to_string (prefix);
  return g_strconcat (text, "/64", NULL);
}
