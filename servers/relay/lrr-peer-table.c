/* lrr-peer-table.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Writers (a BIND that adds or moves a peer, the sweep that expires idle ones) are rare next
 * to DATA, so they pay: under a mutex they copy the bindings into a new snapshot, publish it
 * with one atomic store and retire the old one through LrrEpoch. Readers pay one atomic load
 * per batch. A BIND that only extends a token's life changes the slot, not the snapshot.
 *
 * The table also remembers the peers removed from their parties (lanrage-control tells,
 * LrrRegistration), until their last token expires: BIND consults them under the same lock,
 * so the forwarding path never does.
 */
#include "lrr-peer-table.h"

#include <arpa/inet.h>

struct _LrrPeerTable
{
  guint            max_peers;
  LrrEpoch        *epoch;
  LrrSlot         *slots;
  GMutex           lock;      /* writers only */
  guint32         *free_slots;
  guint            n_free;
  GHashTable      *removed;   /* RemovalKey → until (gint64 *); writers only */
  LrrPeerSnapshot *current;   /* atomic */
};

typedef struct
{
  guint64 party;
  guint64 peer;
} RemovalKey;

static guint
removal_key_hash (gconstpointer key)
{
  const RemovalKey *k = key;

  return lrr_peer_key_hash (k->party, k->peer);
}

static gboolean
removal_key_equal (gconstpointer a,
                   gconstpointer b)
{
  const RemovalKey *ka = a, *kb = b;

  return ka->party == kb->party && ka->peer == kb->peer;
}

char *
lrr_addr_to_string (const LrrAddr *self)
{
  char text[INET6_ADDRSTRLEN];

  if (self->u.sa.sa_family == AF_INET)
    {
      inet_ntop (AF_INET, &self->u.sin.sin_addr, text, sizeof text);
      return g_strdup_printf ("%s:%u", text, ntohs (self->u.sin.sin_port));
    }
  if (self->u.sa.sa_family == AF_INET6)
    {
      inet_ntop (AF_INET6, &self->u.sin6.sin6_addr, text, sizeof text);
      return g_strdup_printf ("[%s]:%u", text, ntohs (self->u.sin6.sin6_port));
    }
  return g_strdup ("(unknown)");
}

static void
snapshot_free (gpointer data)
{
  g_free (data);
}

/* One allocation: the struct, then the bindings, then both indexes. */
static LrrPeerSnapshot *
snapshot_new (const LrrBinding *bindings,
              guint             n)
{
  guint32 capacity = 16;
  LrrPeerSnapshot *self;
  gsize size;
  g_autoptr(GHashTable) parties = g_hash_table_new (g_int64_hash, g_int64_equal);

  while (capacity < 2 * n)
    capacity *= 2;

  size = sizeof (LrrPeerSnapshot) + n * sizeof (LrrBinding) + 2 * capacity * sizeof (guint32);
  self = g_malloc0 (size);
  self->n_bindings = n;
  self->mask = capacity - 1;
  self->bindings = (LrrBinding *) (self + 1);
  self->by_peer = (guint32 *) (self->bindings + n);
  self->by_addr = self->by_peer + capacity;

  for (guint i = 0; i < n; i++)
    {
      guint32 j;

      self->bindings[i] = bindings[i];
      j = lrr_peer_key_hash (bindings[i].party, bindings[i].peer) & self->mask;
      while (self->by_peer[j] != 0)
        j = (j + 1) & self->mask;
      self->by_peer[j] = i + 1;

      j = lrr_addr_hash (&bindings[i].addr) & self->mask;
      while (self->by_addr[j] != 0)
        j = (j + 1) & self->mask;
      self->by_addr[j] = i + 1;

      g_hash_table_add (parties, (gpointer) &self->bindings[i].party);
    }
  self->n_parties = g_hash_table_size (parties);
  return self;
}

LrrPeerTable *
lrr_peer_table_new (guint     max_peers,
                    LrrEpoch *epoch)
{
  LrrPeerTable *self = g_new0 (LrrPeerTable, 1);

  self->max_peers = max_peers;
  self->epoch = epoch;
  self->slots = g_aligned_alloc0 (MAX (max_peers, 1), sizeof (LrrSlot), 64);
  self->free_slots = g_new (guint32, MAX (max_peers, 1));
  for (guint i = 0; i < max_peers; i++)
    self->free_slots[i] = max_peers - 1 - i;
  self->n_free = max_peers;
  g_mutex_init (&self->lock);
  self->removed = g_hash_table_new_full (removal_key_hash, removal_key_equal, g_free, g_free);
  self->current = snapshot_new (NULL, 0);
  return self;
}

/* Only once no worker runs any more. */
void
lrr_peer_table_free (LrrPeerTable *self)
{
  if (self == NULL)
    return;
  snapshot_free (self->current);
  g_hash_table_unref (self->removed);
  g_mutex_clear (&self->lock);
  g_aligned_free (self->slots);
  g_free (self->free_slots);
  g_free (self);
}

/* Call between lrr_epoch_enter() and lrr_epoch_leave(). */
const LrrPeerSnapshot *
lrr_peer_table_get (LrrPeerTable *self)
{
  return __atomic_load_n (&self->current, __ATOMIC_ACQUIRE);
}

LrrSlot *
lrr_peer_table_get_slot (LrrPeerTable *self,
                         guint32       slot)
{
  return &self->slots[slot];
}

static void
publish (LrrPeerTable    *self,
         LrrPeerSnapshot *next)
{
  LrrPeerSnapshot *old = self->current;

  __atomic_store_n (&self->current, next, __ATOMIC_SEQ_CST);
  lrr_epoch_retire (self->epoch, old, snapshot_free);
}

static void
slot_reset (LrrSlot *slot,
            gint64   expires_at,
            guint64  counter,
            gint64   now_ms)
{
  __atomic_store_n (&slot->last_counter, counter, __ATOMIC_RELAXED);
  __atomic_store_n (&slot->last_seen_ms, now_ms, __ATOMIC_RELAXED);
  __atomic_store_n (&slot->expires_at, expires_at, __ATOMIC_RELAXED);
  __atomic_store_n (&slot->window, 0, __ATOMIC_RELAXED);
  __atomic_store_n (&slot->window_packets, 0, __ATOMIC_RELAXED);
  __atomic_store_n (&slot->window_bytes, 0, __ATOMIC_RELAXED);
}

/**
 * lrr_peer_table_bind:
 * @counter: the BIND's counter, which must be above the last one taken for @peer
 * @last_counter: (out): the last counter taken for @peer before this call, 0 if none
 *
 * Binds @peer of @party to @addr. One address holds one binding: a second peer binding from
 * an address takes it over (the NAT gave the address to someone else, or a client
 * restarted with a new identity). A peer's counter is remembered as long as it is bound; a
 * BIND of a peer that is not bound is checked by its timestamp only (lrr-worker.c).
 */
LrrBindResult
lrr_peer_table_bind (LrrPeerTable  *self,
                     guint64        party,
                     guint64        peer,
                     const LrrAddr *addr,
                     gint64         expires_at,
                     guint64        counter,
                     gint64         now_ms,
                     guint64       *last_counter)
{
  g_autoptr(GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new (&self->lock);
  const LrrPeerSnapshot *old = self->current;
  const LrrBinding *same_peer = lrr_peer_snapshot_find_peer (old, party, peer);
  const LrrBinding *same_addr = lrr_peer_snapshot_find_addr (old, addr);
  g_autoptr(GArray) bindings = NULL;
  LrrBinding binding = { party, peer, *addr, 0 };
  RemovalKey key = { party, peer };
  const gint64 *until = g_hash_table_lookup (self->removed, &key);

  *last_counter = same_peer != NULL ? self->slots[same_peer->slot].last_counter : 0;
  if (until != NULL && expires_at <= *until)
    return LRR_BIND_REVOKED;
  if (same_peer != NULL && counter <= *last_counter)
    return LRR_BIND_STALE;

  if (same_peer != NULL && same_peer == same_addr)
    {
      LrrSlot *slot = &self->slots[same_peer->slot];

      __atomic_store_n (&slot->last_counter, counter, __ATOMIC_RELAXED);
      __atomic_store_n (&slot->expires_at, expires_at, __ATOMIC_RELAXED);
      __atomic_store_n (&slot->last_seen_ms, now_ms, __ATOMIC_RELAXED);
      return LRR_BIND_REFRESHED;
    }

  if (same_peer != NULL)
    binding.slot = same_peer->slot;
  else if (same_addr != NULL)
    binding.slot = same_addr->slot;
  else if (self->n_free == 0)
    return LRR_BIND_FULL;
  else
    binding.slot = self->free_slots[--self->n_free];

  bindings = g_array_sized_new (FALSE, FALSE, sizeof (LrrBinding), old->n_bindings + 1);
  for (guint i = 0; i < old->n_bindings; i++)
    {
      const LrrBinding *b = &old->bindings[i];

      if (b == same_peer || b == same_addr)
        continue;
      g_array_append_val (bindings, *b);
    }
  /* Both a moved peer and a taken-over address leave: the second one's slot is free again. */
  if (same_peer != NULL && same_addr != NULL)
    self->free_slots[self->n_free++] = same_addr->slot;

  slot_reset (&self->slots[binding.slot], expires_at, counter, now_ms);
  g_array_append_val (bindings, binding);
  publish (self, snapshot_new ((const LrrBinding *) bindings->data, bindings->len));
  return same_peer != NULL ? LRR_BIND_MOVED : LRR_BIND_NEW;
}

/* Whether a binding goes; called under the lock. */
typedef gboolean (*BindingFilter) (LrrPeerTable     *self,
                                   const LrrBinding *binding,
                                   gpointer          data);

/* Unbinds every binding @drop picks, with one new snapshot for all of them. Under the lock.
 * Returns: how many went */
static guint
drop_bindings (LrrPeerTable  *self,
               BindingFilter  drop,
               gpointer       data)
{
  const LrrPeerSnapshot *old = self->current;
  g_autoptr(GArray) keep = g_array_sized_new (FALSE, FALSE, sizeof (LrrBinding),
                                              old->n_bindings);
  guint removed = 0;

  for (guint i = 0; i < old->n_bindings; i++)
    {
      const LrrBinding *b = &old->bindings[i];

      if (drop (self, b, data))
        {
          self->free_slots[self->n_free++] = b->slot;
          removed++;
          continue;
        }
      g_array_append_val (keep, *b);
    }

  if (removed > 0)
    publish (self, snapshot_new ((const LrrBinding *) keep->data, keep->len));
  return removed;
}

typedef struct
{
  gint64            now_ms;
  gint64            idle_ms;
  gint64            now_unix;
  LrrAddrPredicate  denied;
  gpointer          user_data;
} Sweep;

static gboolean
is_swept (LrrPeerTable     *self,
          const LrrBinding *binding,
          gpointer          data)
{
  const Sweep *sweep = data;
  LrrSlot *slot = &self->slots[binding->slot];
  gint64 last_seen = __atomic_load_n (&slot->last_seen_ms, __ATOMIC_RELAXED);
  gint64 expires_at = __atomic_load_n (&slot->expires_at, __ATOMIC_RELAXED);

  return sweep->now_ms - last_seen >= sweep->idle_ms || expires_at <= sweep->now_unix ||
         (sweep->denied != NULL && sweep->denied (&binding->addr, sweep->user_data));
}

/**
 * lrr_peer_table_sweep:
 * @denied: (nullable): addresses for which this returns %TRUE are unbound too
 *
 * Removes bindings idle for @idle_ms, whose token has expired, or whose address is denied,
 * and forgets the removed peers whose last token has expired.
 *
 * Returns: how many bindings were removed
 */
guint
lrr_peer_table_sweep (LrrPeerTable     *self,
                      gint64            now_ms,
                      gint64            idle_ms,
                      gint64            now_unix,
                      LrrAddrPredicate  denied,
                      gpointer          user_data)
{
  g_autoptr(GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new (&self->lock);
  Sweep sweep = { now_ms, idle_ms, now_unix, denied, user_data };
  GHashTableIter iter;
  gint64 *until;

  /* Once its last token has expired, a removed peer is refused by expiry anyway. */
  g_hash_table_iter_init (&iter, self->removed);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &until))
    if (*until < now_unix)
      g_hash_table_iter_remove (&iter);

  return drop_bindings (self, is_swept, &sweep);
}

static gboolean
is_removed (LrrPeerTable     *self,
            const LrrBinding *binding,
            gpointer          data)
{
  RemovalKey key = { binding->party, binding->peer };
  const gint64 *until = g_hash_table_lookup (self->removed, &key);

  return until != NULL &&
         __atomic_load_n (&self->slots[binding->slot].expires_at, __ATOMIC_RELAXED) <= *until;
}

/**
 * lrr_peer_table_remove:
 *
 * Remembers peers removed from their parties, and unbinds those bound with a token minted
 * before their removal (one that expires at or before the removal's until).
 *
 * Returns: how many bindings were removed
 */
guint
lrr_peer_table_remove (LrrPeerTable         *self,
                       const LrRelayRemoval *removals,
                       guint                 n_removals,
                       gint64                now_unix)
{
  g_autoptr(GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new (&self->lock);

  for (guint i = 0; i < n_removals; i++)
    {
      RemovalKey key = { removals[i].party, removals[i].peer };
      gint64 *until;

      if (removals[i].until < now_unix)
        continue;
      until = g_hash_table_lookup (self->removed, &key);
      if (until != NULL)
        *until = MAX (*until, removals[i].until);
      else
        g_hash_table_insert (self->removed, g_memdup2 (&key, sizeof key),
                             g_memdup2 (&removals[i].until, sizeof (gint64)));
    }

  return drop_bindings (self, is_removed, NULL);
}
