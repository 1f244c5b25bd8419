/* lrc-token-cache.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-token-cache.h"

#include <sodium.h>
#include <string.h>

/*
 * Heartbeats are most of what lanrage-control answers, and each one carries the peer's
 * bearer token. The database is the truth about tokens; this remembers, by the token's
 * hash, who the database said a token belongs to, so that a heartbeat needs no query.
 *
 * A token stops being valid only when its peer is removed (leave, kick, stale) or its party
 * closes; the service forgets the peer or party here when that happens, through this
 * instance or, announced by notice, through another one sharing the database. Three things
 * keep a forgotten token from coming back:
 * - the epoch: every forget and clear moves it on, and a verification that started before
 *   (its query may have read the peer before the removal committed) is not remembered;
 * - the service clears everything when notices may have been lost (the notice connection
 *   came back after a gap), and does not look here while that connection is down;
 * - an entry lives @lifetime_us at most, which bounds the one case nothing announces: an
 *   instance that committed a removal and died before its notice left.
 */

typedef struct
{
  guint8  hash[LR_TOKEN_HASH_LENGTH];
  char    party_id[LR_ID_LENGTH + 1];
  char    peer_id[LR_ID_LENGTH + 1];
  gint64  verified_us;
} Entry;

struct _LrcTokenCache
{
  gint64      lifetime_us;
  guint64     epoch;
  GHashTable *by_hash;   /* Entry (owned) → itself */
  GHashTable *by_peer;   /* peer id (in the entry) → Entry */
};

/* The hash is a SHA-256 output: any four of its bytes are as good a key as any. */
static guint
entry_hash (gconstpointer key)
{
  const Entry *entry = key;
  guint value;

  memcpy (&value, entry->hash, sizeof value);
  return value;
}

static gboolean
entry_equal (gconstpointer a,
             gconstpointer b)
{
  return sodium_memcmp (((const Entry *) a)->hash, ((const Entry *) b)->hash,
                        LR_TOKEN_HASH_LENGTH) == 0;
}

/**
 * lrc_token_cache_new:
 * @lifetime_us: how long a verified token is trusted without asking the database again
 */
LrcTokenCache *
lrc_token_cache_new (gint64 lifetime_us)
{
  LrcTokenCache *self = g_new0 (LrcTokenCache, 1);

  self->lifetime_us = lifetime_us;
  self->by_hash = g_hash_table_new_full (entry_hash, entry_equal, NULL, g_free);
  self->by_peer = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

void
lrc_token_cache_free (LrcTokenCache *self)
{
  if (self == NULL)
    return;

  g_hash_table_unref (self->by_peer);
  g_hash_table_unref (self->by_hash);
  g_free (self);
}

/* What a verification must give lrc_token_cache_remember() when it is done. */
guint64
lrc_token_cache_get_epoch (LrcTokenCache *self)
{
  return self->epoch;
}

static void
remove_entry (LrcTokenCache *self,
              Entry         *entry)
{
  g_hash_table_remove (self->by_peer, entry->peer_id);
  g_hash_table_remove (self->by_hash, entry);
}

/**
 * lrc_token_cache_lookup:
 *
 * Returns: whether the token of @hash is known valid; if so, whose it is
 */
gboolean
lrc_token_cache_lookup (LrcTokenCache *self,
                        const guint8   hash[LR_TOKEN_HASH_LENGTH],
                        gint64         now_us,
                        char           party_id[LR_ID_LENGTH + 1],
                        char           peer_id[LR_ID_LENGTH + 1])
{
  Entry key;
  Entry *entry;

  memcpy (key.hash, hash, LR_TOKEN_HASH_LENGTH);
  entry = g_hash_table_lookup (self->by_hash, &key);
  if (entry == NULL)
    return FALSE;

  if (now_us - entry->verified_us >= self->lifetime_us || now_us < entry->verified_us)
    {
      remove_entry (self, entry);
      return FALSE;
    }

  memcpy (party_id, entry->party_id, sizeof entry->party_id);
  memcpy (peer_id, entry->peer_id, sizeof entry->peer_id);
  return TRUE;
}

/**
 * lrc_token_cache_remember:
 * @epoch: lrc_token_cache_get_epoch() from before the database was asked
 *
 * Remembers that the database said the token of @hash is @peer_id's, unless a peer or party
 * was forgotten since @epoch.
 */
void
lrc_token_cache_remember (LrcTokenCache *self,
                          const guint8   hash[LR_TOKEN_HASH_LENGTH],
                          const char    *party_id,
                          const char    *peer_id,
                          guint64        epoch,
                          gint64         now_us)
{
  Entry *entry;
  Entry *old;

  if (epoch != self->epoch || !lr_id_is_valid (party_id) || !lr_id_is_valid (peer_id))
    return;

  entry = g_new0 (Entry, 1);
  memcpy (entry->hash, hash, LR_TOKEN_HASH_LENGTH);
  g_strlcpy (entry->party_id, party_id, sizeof entry->party_id);
  g_strlcpy (entry->peer_id, peer_id, sizeof entry->peer_id);
  entry->verified_us = now_us;

  /* One entry per token and one per peer. */
  if ((old = g_hash_table_lookup (self->by_hash, entry)) != NULL)
    remove_entry (self, old);
  if ((old = g_hash_table_lookup (self->by_peer, peer_id)) != NULL)
    remove_entry (self, old);

  g_hash_table_add (self->by_hash, entry);
  g_hash_table_insert (self->by_peer, entry->peer_id, entry);
}

/* The peer was removed: its token is no longer valid. */
void
lrc_token_cache_forget_peer (LrcTokenCache *self,
                             const char    *peer_id)
{
  Entry *entry = g_hash_table_lookup (self->by_peer, peer_id);

  self->epoch++;
  if (entry != NULL)
    remove_entry (self, entry);
}

/* The party closed: none of its members' tokens is valid. */
void
lrc_token_cache_forget_party (LrcTokenCache *self,
                              const char    *party_id)
{
  GHashTableIter iter;
  Entry *entry;

  self->epoch++;
  g_hash_table_iter_init (&iter, self->by_hash);
  while (g_hash_table_iter_next (&iter, (gpointer *) &entry, NULL))
    if (g_str_equal (entry->party_id, party_id))
      {
        g_hash_table_remove (self->by_peer, entry->peer_id);
        g_hash_table_iter_remove (&iter);
      }
}

/* Removals may have gone unannounced: trust nothing remembered so far. */
void
lrc_token_cache_clear (LrcTokenCache *self)
{
  self->epoch++;
  g_hash_table_remove_all (self->by_peer);
  g_hash_table_remove_all (self->by_hash);
}

/* Drops the entries past their lifetime (lookups drop them too, but only when asked). */
void
lrc_token_cache_expire (LrcTokenCache *self,
                        gint64         now_us)
{
  GHashTableIter iter;
  Entry *entry;

  g_hash_table_iter_init (&iter, self->by_hash);
  while (g_hash_table_iter_next (&iter, (gpointer *) &entry, NULL))
    if (now_us - entry->verified_us >= self->lifetime_us || now_us < entry->verified_us)
      {
        g_hash_table_remove (self->by_peer, entry->peer_id);
        g_hash_table_iter_remove (&iter);
      }
}

guint
lrc_token_cache_get_size (LrcTokenCache *self)
{
  return g_hash_table_size (self->by_hash);
}
