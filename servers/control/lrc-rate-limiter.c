/* lrc-rate-limiter.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lrc-rate-limiter.h"

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
